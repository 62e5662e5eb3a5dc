//! Datadog channel for the ml-alerts toolkit: alerts as Datadog **events**, optionally
//! as **service checks**, and a small client for **ML metrics**.
//!
//! * [`DatadogNotifier`] implements [`alert_core::Notifier`]: each alert becomes an
//!   event (`POST /api/v1/events`) whose `alert_type` and `priority` follow the
//!   severity, whose tags come from the labels and source, and whose
//!   `aggregation_key` is the alert's fingerprint, so a firing alert and its
//!   resolution fold together. The text is Markdown (`%%%` fences), fitted to
//!   Datadog's 4,000 characters by structure. With
//!   [`ServiceCheckConfig`] it also posts the alert's state as a service check
//!   (`POST /api/v1/check_run`).
//! * [`DatadogMetrics`] submits gauges and counts (accuracy, drift scores, error
//!   rates) with `POST /api/v2/series`, gzip-compressed and split to Datadog's size
//!   limits, so what conditions alert on can be graphed next to the alerts.
//!
//! Only the API key is needed (`DD-API-KEY`); no application key.
//!
//! # Usage
//!
//! Events:
//!
//! ```no_run
//! use alert_core::{Alert, Evidence, Notifier, Severity, Source};
//! use alert_datadog::{DatadogConfig, DatadogNotifier, DatadogSite};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // DD_API_KEY and DD_SITE, as for every Datadog client; or DatadogConfig::new(key).
//! let config = DatadogConfig::from_env()?.with_host("trainer-1").with_tag("team:ml");
//! let datadog = DatadogNotifier::new(config)?;
//!
//! let alert = Alert::new(Severity::Error, "AccuracyDrop")
//!     .with_summary("Accuracy fell to 0.81 (threshold 0.90)")
//!     .with_label("model", "bikes")
//!     .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.90))
//!     .with_source(Source::model("bikes").version("3").environment("prod"))
//!     .with_runbook("https://runbooks.example/accuracy");
//! let receipt = datadog.notify(&alert).await?;
//! println!("event {} at {}", receipt.id.unwrap_or_default(), receipt.url.unwrap_or_default());
//!
//! // Later: the resolution folds onto the same aggregation key.
//! let resolved = alert.clone().resolved_at(alert_core::Timestamp::now());
//! # let receipt = alert_core::Receipt::new("datadog");
//! datadog.update(&resolved, &receipt).await?;
//! # Ok(()) }
//! ```
//!
//! ML metrics:
//!
//! ```no_run
//! use std::time::Duration;
//! use alert_datadog::{DatadogConfig, DatadogMetrics, Series};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let metrics = DatadogMetrics::new(&DatadogConfig::from_env()?)?;
//! let report = metrics
//!     .submit(vec![
//!         Series::gauge("ml.accuracy", 0.81).with_tag("model", "bikes"),
//!         Series::gauge("ml.drift.psi", 0.31).with_tag("feature", "age"),
//!         Series::count("ml.predictions", 12_000.0, Duration::from_secs(3600)),
//!     ])
//!     .await?;
//! println!("{} series in {} requests", report.series, report.requests);
//! # Ok(()) }
//! ```
//!
//! A config file section (TOML) deserialises into [`DatadogConfig`]; unknown keys
//! are refused:
//!
//! ```toml
//! api_key = "..."
//! site = "datadoghq.eu"
//! host = "trainer-1"
//! tags = ["team:ml"]
//! [service_check]
//! check = "ml_alerts.alert"
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls (ring), no OpenSSL |
//! | `native-tls` | no | TLS through the platform library |
//! | `fake` | no | [`fake::FakeDatadog`], a stateful fake of Datadog's intake API on 127.0.0.1 (axum) for tests and benchmarks |
//!
//! # Severity mapping
//!
//! [`DatadogSeverityMap`] (overridable in config under `severity`):
//!
//! | severity | `alert_type` | `priority` |
//! |---|---|---|
//! | info | `info` | `low` |
//! | warning | `warning` | `normal` |
//! | error | `error` | `normal` |
//! | critical | `error` | `normal` |
//! | resolved | `success` | the severity's |
//!
//! Service checks ([`ServiceCheckStatusMap`]): info `OK`, warning `WARNING`, error
//! and critical `CRITICAL`, resolved `OK`.
//!
//! # The event
//!
//! * `title`: `[SEVERITY] summary` (or `[RESOLVED] …`), one line, at most 500
//!   characters.
//! * `text`: `%%% \n` + Markdown + `\n %%%`, at most 4,000 characters, fitted by
//!   structure (`alert_core::fit`: labels go first, the title, key evidence and
//!   runbook stay). Alert text is escaped so it cannot format, close the `%%%`
//!   fence (`%%` is never sent), link (`[x](y)`, bare `https://` and `www.` are
//!   broken), or notify (`@` becomes `＠`: Datadog turns `@handle` in event text
//!   into notifications).
//! * `tags`: configured tags, `alertname`, `severity`, `status`, the source
//!   (`model`, `model_version`, `env`, `run_id`) and every label, normalised to
//!   Datadog's tag rules (see [`tags`]), at most [`MAX_TAGS`].
//! * `aggregation_key`: the alert's 16-hex-digit fingerprint.
//! * `source_type_name` (default `my_apps`), `host` (when configured),
//!   `date_happened`: when the alert started (or resolved), unless unknown, in the
//!   future or more than 17 hours old (Datadog refuses events over 18 hours old),
//!   then now.
//!
//! # Errors
//!
//! Datadog's error bodies are read as `{"errors": [...]}` whatever the content type
//! says (some 400s are JSON labelled `text/plain`), and HTML pages (a 403 from
//! Datadog's firewall) are quoted by their title. Nothing ever quotes the API key,
//! and `Debug` output (config, notifier, metrics client) shows neither the key nor a
//! user name or password of `base_url` (`https://**REDACTED**@proxy.internal`).
//!
//! | answer | error | retry |
//! |---|---|---|
//! | 400 | `Rejected` with Datadog's text | never |
//! | 401, 403 | `Unauthorized`, "API key refused by Datadog" | never; disables the destination |
//! | 404 | `Gone` | never; disables the destination |
//! | 413 | metrics and service checks: the request is split in halves and resent, down to a single point or check, which is `Rejected`; events: `Rejected` | never |
//! | 408, 5xx | `Server` | backoff, or `Retry-After` |
//! | 429 | `RateLimited` | after `X-RateLimit-Reset` seconds |
//! | connection failure, timeout | `Transport`, `Timeout` | backoff |
//!
//! # Limitations
//!
//! * Events use the v1 API. Datadog cannot edit events: a resolution is a new event
//!   on the same aggregation key, linked with `related_event_id`.
//! * Tags past [`MAX_TAGS`] (100) are left out of the tags (they stay in the text
//!   as long as it has room).
//! * Metric points must be within Datadog's window (up to 1 hour old, 10 minutes
//!   ahead); the client does not check it. NaN and infinite values cannot be sent
//!   and are skipped (counted in [`MetricsReport::skipped_points`]).
//! * Channels never retry: [`alert_core::NotifyError::retryable`] says what a retry
//!   layer should do.
//!
//! # Supported Rust versions
//!
//! The workspace's `rust-version` (1.89), checked by Cargo's MSRV-aware resolver.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod config;
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;
mod metrics;
mod notifier;
mod payload;
mod severity;
mod site;
pub mod tags;
mod text;
mod transport;

pub use config::{
    DatadogConfig, ENV_API_KEY, ENV_BASE_URL, ENV_HOSTNAME, ENV_SITE, ENV_TAGS, ServiceCheckConfig,
};
pub use metrics::{
    DatadogMetrics, EncodedBatch, MAX_COMPRESSED_BYTES, MAX_DECOMPRESSED_BYTES, MetricKind,
    MetricsError, MetricsReport, Point, Series,
};
pub use notifier::{DatadogNotifier, MAX_TAGS};
pub use severity::{
    AlertType, CheckStatus, DatadogSeverityMap, EventLevel, EventPriority, ServiceCheckStatusMap,
};
pub use site::{DatadogSite, ParseSiteError};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
