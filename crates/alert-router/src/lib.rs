//! Routing and noise control for ml-alerts, delivery that loses nothing, and the
//! facade crate: one dependency and one feature per channel.
//!
//! A [`Router`] takes [`Alert`](alert_core::Alert)s and decides who hears about them,
//! when and how often, with Prometheus Alertmanager's model: a routing tree of
//! [`Route`]s to [`Receiver`]s (named sets of channels), grouping with `group_wait`,
//! `group_interval` and `repeat_interval`, a notification log that deduplicates,
//! [`InhibitRule`]s, [`Silence`]s (also recurring, in a time zone) and
//! [`TimeInterval`]s. It adds flap control ([`FlapControl`]), `keep_firing_for`,
//! escalation with acknowledgement, automated [`Action`]s with cool-downs, dry runs
//! and an audit trail, severity-first delivery, and a durable [`Store`].
//! `docs/routing.md` in the repository explains the model with examples and maps
//! every Alertmanager concept.
//!
//! # Usage
//!
//! In a training job:
//!
//! ```no_run
//! use std::time::Duration;
//! use alert_core::{Alert, ConsoleNotifier, Evidence, Severity};
//! use alert_router::{Receiver, Route, Router};
//!
//! # async fn run() -> Result<(), alert_router::RouterError> {
//! let router = Router::builder()
//!     .receiver(Receiver::new("team").channel(ConsoleNotifier::stderr("bikes")))
//!     .route(Route::to("team").group_by(["alertname", "model"]))
//!     .build()
//!     .await?;
//! router
//!     .send(
//!         Alert::new(Severity::Error, "AccuracyDrop")
//!             .with_label("model", "bikes")
//!             .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.9)),
//!     )
//!     .await?;
//! // Before a short-lived program exits: send what is pending, wait for delivery.
//! router.shutdown(Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```
//!
//! From a config file, as `alerts serve` does ([`RouterConfig`]; unknown keys are
//! rejected and errors name the key path, line and column):
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use alert_router::{Router, RouterConfig};
//! let text = std::fs::read_to_string("alerts.toml")?;
//! let router = Router::from_config(RouterConfig::from_toml_str(&text)?).await?;
//! # Ok(()) }
//! ```
//!
//! The service API: [`Router::send`] / [`Router::send_batch`], [`Router::alerts`]
//! (with an [`AlertFilter`]), silences ([`Router::create_silence`],
//! [`Router::update_silence`], [`Router::expire_silence`], [`Router::silences`]),
//! [`Router::ack`], [`Router::notification_log`], [`Router::stats`] (suppressed by
//! reason), [`Router::test_receiver`], [`Router::flush`] and [`Router::shutdown`].
//!
//! Channels plug in as `Arc<dyn Notifier>`: the crates behind the features below, or
//! your own, in code ([`Receiver::channel`]) or by name from config
//! ([`RouterBuilder::custom_channel`] and `{ type = "custom", name = "..." }`).
//!
//! # Time and tests
//!
//! Every rule runs on a [`Clock`]. With [`TokioClock`] and
//! `#[tokio::test(start_paused = true)]` a test moves time with `tokio::time::sleep`
//! and sees group timers, repeats, escalations, flap windows and silences fire exactly
//! when they should, in milliseconds of real time.
//!
//! # Delivery and durable state
//!
//! Notifications leave through the [`delivery`] outbox: written to the [`store`]
//! before the first attempt, one lane per channel of each receiver, highest severity
//! first, retried durably, resumed after a restart. [`store`] documents the store
//! contract; [`MemoryStore`] is the default.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls for every compiled-in HTTP channel (forwarded with `crate?/rustls`) |
//! | `native-tls` | no | the platform's TLS for Discord, Datadog, Statuspal, webhooks and HTTP actions |
//! | `desktop` | no | [`desktop`]: desktop notifications (`alert-desktop`) |
//! | `slack` | no | [`slack`]: Slack (`alert-slack`) |
//! | `discord` | no | [`discord`]: Discord (`alert-discord`) |
//! | `datadog` | no | [`datadog`]: Datadog events (`alert-datadog`) |
//! | `statuspal` | no | [`statuspal`]: Statuspal incidents (`alert-statuspal`) |
//! | `webhook` | no | [`webhook`]: generic JSON webhooks (`alert-webhook`) |
//! | `http-action` | no | [`HttpAction`]: actions that POST the alert to a URL |
//! | `sqlite` | no | the durable SQLite store |
//! | `full` | no | all of the above |
//!
//! A config naming a channel whose feature is off fails at load with
//! [`BuildError::MissingFeature`](alert_core::BuildError::MissingFeature) naming the
//! feature.
//!
//! # Limitations
//!
//! * One process owns a store at a time; the store trait is shaped for a shared
//!   (PostgreSQL) store for several replicas, which does not exist yet.
//! * `keep_firing_for` and flap control are router-wide settings, not per route.
//! * Time zones come from the IANA database compiled into the binary (jiff's bundled
//!   copy); a rule change after the release needs a dependency update.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.89 (the workspace's `rust-version`),
//! checked by Cargo's MSRV-aware resolver. It may rise in a minor release.
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
    DEFAULT_RESOLVE_TIMEOUT, DEFAULT_RETENTION, Router, RouterBuilder, RouterError, RouterStats,
    SilenceView,
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

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
