//! alert-conditions
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod error;
pub mod stats;

pub use error::{ConditionError, Result};
