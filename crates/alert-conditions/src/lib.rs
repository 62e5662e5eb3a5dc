//! alert-conditions
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod alerting;
pub mod drift;
mod error;
pub mod fairness;
pub mod performance;
#[cfg(feature = "resources")]
#[cfg_attr(docsrs, doc(cfg(feature = "resources")))]
pub mod resources;
pub mod rules;
pub mod stats;
pub mod system;

pub use alerting::{Finding, RuleIdentity};
pub use error::{ConditionError, Result};
