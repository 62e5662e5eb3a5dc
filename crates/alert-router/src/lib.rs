//! alert-router: routing and noise control for ml-alerts, and the facade crate.
//!
//! (Work in progress: the store contract is in [`store`].)
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod action;
pub mod clock;
pub mod config;
pub mod delivery;
mod engine;
pub mod matcher;
mod receiver;
mod route;
mod router;
mod serde_util;
pub mod silence;
pub mod store;
pub mod timeinterval;

pub use action::{Action, ActionError, ActionPolicy, CommandAction, FnAction};
pub use clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use config::{ChannelConfig, ConfigError, ReceiverConfig, RouterConfig};
pub use engine::{AlertFilter, AlertView, FlapControl};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use receiver::{InhibitRule, Receiver};
pub use route::{EscalationStep, Route};
pub use router::{
    DEFAULT_RESOLVE_TIMEOUT, Router, RouterBuilder, RouterError, RouterStats, SilenceView,
};
pub use silence::{Silence, SilenceState};
pub use store::{MemoryStore, Store};
pub use timeinterval::{TimeInterval, TimeIntervalError, TimeIntervalSpec, TimeRangeSpec};

#[cfg(feature = "http-action")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-action")))]
pub use action::HttpAction;

/// Desktop notifications: the `alert-desktop` crate.
#[cfg(feature = "desktop")]
#[cfg_attr(docsrs, doc(cfg(feature = "desktop")))]
pub mod desktop {
    pub use alert_desktop::*;
}
/// Slack: the `alert-slack` crate.
#[cfg(feature = "slack")]
#[cfg_attr(docsrs, doc(cfg(feature = "slack")))]
pub mod slack {
    pub use alert_slack::*;
}
/// Discord: the `alert-discord` crate.
#[cfg(feature = "discord")]
#[cfg_attr(docsrs, doc(cfg(feature = "discord")))]
pub mod discord {
    pub use alert_discord::*;
}
/// Datadog: the `alert-datadog` crate.
#[cfg(feature = "datadog")]
#[cfg_attr(docsrs, doc(cfg(feature = "datadog")))]
pub mod datadog {
    pub use alert_datadog::*;
}
/// Statuspal: the `alert-statuspal` crate.
#[cfg(feature = "statuspal")]
#[cfg_attr(docsrs, doc(cfg(feature = "statuspal")))]
pub mod statuspal {
    pub use alert_statuspal::*;
}
/// Generic webhooks: the `alert-webhook` crate.
#[cfg(feature = "webhook")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhook")))]
pub mod webhook {
    pub use alert_webhook::*;
}

/// The vocabulary crate, re-exported.
pub use alert_core as core;
