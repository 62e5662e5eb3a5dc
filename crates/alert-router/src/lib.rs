//! alert-router: routing and noise control for ml-alerts, and the facade crate.
//!
//! (Work in progress: the store contract is in [`store`].)
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod delivery;
pub mod matcher;
pub mod silence;
pub mod store;
pub mod timeinterval;

pub use matcher::{MatchOp, Matcher, MatcherError};
pub use silence::{Silence, SilenceState};
pub use timeinterval::{TimeInterval, TimeIntervalError, TimeIntervalSpec, TimeRangeSpec};
