//! alert-conditions
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod alerting;
pub mod drift;
mod error;
pub mod fairness;
pub mod performance;
pub mod rules;
pub mod stats;

pub use alerting::{Finding, RuleIdentity};
pub use error::{ConditionError, Result};
