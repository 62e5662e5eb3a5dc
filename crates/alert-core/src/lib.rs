//! The vocabulary of the ml-alerts toolkit: [`Alert`], [`Severity`], the [`Notifier`]
//! trait every channel implements, errors that say whether to retry, and the rendering
//! and fitting helpers all channels share.
//!
//! This crate does no I/O of its own (the console notifier writes to the writer you
//! give it) and needs no async runtime. Plugin authors depend on it alone.
//!
//! # Usage
//!
//! The seed case, a training job that tells its developer it finished, is one line
//! with any notifier:
//!
//! ```no_run
//! use alert_core::{ConsoleNotifier, NotifierExt};
//! # async fn run() -> alert_core::Result<()> {
//! let notifier = ConsoleNotifier::stderr("Bikes");
//! notifier.notify_text("Training Complete", "Model version: 3").await?;
//! # Ok(()) }
//! ```
//!
//! A full alert carries the context to act on:
//!
//! ```no_run
//! use alert_core::{Alert, Evidence, Notifier, Severity, Source};
//! # async fn run(slack: &dyn Notifier) -> alert_core::Result<()> {
//! let alert = Alert::new(Severity::Error, "AccuracyDrop")
//!     .with_summary("Accuracy fell to 0.81 (threshold 0.90)")
//!     .with_label("model", "bikes")
//!     .with_runbook("https://runbooks.example/accuracy")
//!     .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.90).baseline(0.93))
//!     .with_source(Source::model("bikes").version("3").environment("prod"));
//! let receipt = slack.notify(&alert).await?;
//! # Ok(()) }
//! ```
//!
//! Writing a channel: implement [`Notifier`] (see its docs), return [`NotifyError`]s
//! classified by [`http::classify_status`], and run `alert-testkit`'s conformance
//! suite from your tests. `cargo xtask new-channel NAME` scaffolds all of it.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `serde` | yes | `Serialize`/`Deserialize` for alerts, severities, receipts, secrets (secrets serialise redacted) |
//! | `json` | no | JSON-lines output for [`ConsoleNotifier`] (implies `serde`) |
//!
//! # Limitations
//!
//! * [`Timestamp`] covers years 0001 to 9999 in UTC; calendar and time-zone work
//!   belongs to `alert-router`.
//! * Retry, timeouts and rate limits need a timer and live in `alert-router`.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.89 (the workspace's `rust-version`),
//! checked by Cargo's MSRV-aware resolver. It may rise in a minor release.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod alert;
mod console;
mod error;
pub mod fingerprint;
pub mod fit;
pub mod http;
mod labels;
mod notifier;
pub mod render;
mod secret;
mod severity;
mod slot;
mod time;

pub use alert::{
    Alert, Annotations, Evidence, LabelMap, Labels, Source, Status, annotation, format_value,
};
pub use async_trait::async_trait;
pub use console::{ConsoleFormat, ConsoleNotifier};
pub use error::{BoxError, BuildError, MAX_RETRY_AFTER, NotifyError, Result, Retry};
pub use fingerprint::{Fingerprint, ParseFingerprintError};
pub use labels::{CompactString, IntoIter as LabelIntoIter, Iter as LabelIter};
pub use notifier::{EMPTY_GROUP, Either, Filter, Layer, Notifier, NotifierExt, Receipt};
pub use secret::{REDACTED, Secret};
pub use severity::{ParseSeverityError, Severity};
pub use slot::{Slot, SlotValue};
pub use time::{ParseTimestampError, Timestamp};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
