//! Decide when to alert: threshold rules with hysteresis, model performance, data
//! drift, bias, system errors and resource use, turned into [`alert_core::Alert`]s
//! with typed [`Evidence`](alert_core::Evidence) and stable fingerprints.
//!
//! Everything here is synchronous and takes time as an argument
//! ([`alert_core::Timestamp`]): a monitoring job calls it in-process, a service calls
//! it when metrics are pushed, and tests are deterministic. Conditions emit a
//! firing alert when they trip (and when their severity changes) and a resolved
//! alert when they recover, never one per sample; the alert's identity (name and
//! labels) comes from the rule, so its fingerprint is stable.
//!
//! | module | what |
//! |---|---|
//! | [`rules`] | threshold rules: warning/critical bands, `for`, hysteresis, `keep_firing_for`, relative change against a baseline, no-data; learned bands (mean ± k·std, quantiles); [`RuleSet`](rules::RuleSet) for pushed metrics |
//! | [`performance`] | accuracy, precision, recall, F1, ROC AUC, log loss; MAE, RMSE, MAPE, R²; windows with late labels |
//! | [`drift`] | reference profiles (serde, mergeable), per-column and dataset drift, [`DriftRule`](drift::DriftRule) |
//! | [`stats`] | KS (exact/asymptotic as scipy), Wasserstein, PSI, Jensen-Shannon, chi-square |
//! | [`fairness`] | demographic parity, equalized odds, equal opportunity, disparate impact (four-fifths), per-group breakdown |
//! | [`system`] | error rate over a sliding window, latency quantiles |
//! | [`resources`] | process and host CPU and memory (`sysinfo`) |
//!
//! # Usage
//!
//! Dataset drift of today's inputs against the training data, as an alert naming
//! the drifted columns:
//!
//! ```no_run
//! use alert_conditions::drift::{Dataset, DatasetProfile, DriftOptions, DriftRule};
//! use alert_conditions::RuleIdentity;
//! use alert_core::{Source, Timestamp};
//! # fn load(_: &str) -> Dataset { Dataset::new() }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let reference: Dataset = load("training.parquet");
//! let profile = DatasetProfile::from_dataset(&reference)?; // once; serde-serialisable
//! let identity = RuleIdentity::new("DataDrift")
//!     .label("model", "bikes")
//!     .source(Source::model("bikes").version("3"));
//! let mut rule = DriftRule::new(identity, profile, DriftOptions::default());
//! let (drift, alert) = rule.evaluate(Timestamp::now(), &load("today.parquet"))?;
//! if let Some(alert) = alert {
//!     // alert.evidence.details: {"age.wasserstein": 0.31, ...}; hand it to a router
//!     println!("{} ({} of columns drifted)", alert.title(), drift.share);
//! }
//! # Ok(()) }
//! ```
//!
//! A threshold on a metric stream:
//!
//! ```no_run
//! use std::time::Duration;
//! use alert_conditions::rules::{Band, ThresholdRule, ThresholdSpec};
//! use alert_core::Timestamp;
//! # fn main() -> Result<(), alert_conditions::ConditionError> {
//! let mut rule = ThresholdRule::new(
//!     ThresholdSpec::new("HighErrorRate", "error_rate")
//!         .label("service", "scoring")
//!         .warning(Band::above(0.02))
//!         .critical(Band::above(0.05))
//!         .recovery(Band::above(0.01))
//!         .for_duration(Duration::from_secs(120))
//!         .no_data(Duration::from_secs(600)),
//! )?;
//! for alert in rule.observe(Timestamp::now(), 0.031)? {
//!     println!("{} {}", alert.status, alert.title());
//! }
//! # Ok(()) }
//! ```
//!
//! # Correctness
//!
//! Statistics match their reference implementations (scipy 1.17 `ks_2samp`,
//! `kstwo`, `smirnov`, `wasserstein_distance`, `chi2_contingency`, `chisquare`,
//! `jensenshannon`; numpy `quantile` and the PSI formula; scikit-learn metrics;
//! fairlearn metrics) to 1e-9 relative for statistics and distances and 1e-6 for
//! p-values. The tests read committed vectors (`tests/reference/vectors.json`)
//! produced by a seeded script (`tests/reference/generate.py`); CI needs no Python.
//!
//! Bad input (NaN, infinities, empty windows, single samples, constant columns,
//! mismatched lengths, unknown categories) gets a defined result or a
//! [`ConditionError`] naming the input and position; nothing panics and no alert
//! carries a NaN.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `resources` | yes | [`resources`]: CPU and memory sampling through `sysinfo` |
//!
//! # Limitations
//!
//! * Exact numerical profiles keep the sorted reference (8 bytes per value) so KS
//!   and Wasserstein are exact. For references too large to hold, or built in
//!   parts, a [`DatasetProfile`](drift::DatasetProfile) can hold numerical columns
//!   as [`BinnedProfile`](drift::BinnedProfile)s instead (one count per bin,
//!   merged exactly when every part uses the same edges), scored with PSI or
//!   Jensen-Shannon on the bins; there is no approximate quantile sketch
//!   (t-digest) for KS or Wasserstein on such references.
//! * [`LatencyWindow`](system::LatencyWindow) quantiles are exact over the samples
//!   it holds: those of the window, at most 100 000 by default (the most recent).
//! * Classification metrics are binary (a positive-class probability per row).
//! * KS is two-sided only; `alternative='less'/'greater'` are not offered.
//! * Fairness rates that are undefined for a group (no positive label) are `None`
//!   and left out of differences, where fairlearn counts them as 0.
//! * CPU figures need two samples (`sysinfo`'s CPU use is a difference).
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.89 (the workspace's `rust-version`);
//! `sysinfo` is held at 0.37 (MSRV 1.88) because 0.40 needs Rust 1.95. It may rise in
//! a minor release.
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

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
