//! Generic JSON webhook channel for the ml-alerts toolkit.
//!
//! [`WebhookNotifier`] POSTs alerts to any URL, with headers from config (every value
//! kept as a [`Secret`](alert_core::Secret)), in one of two bodies
//! ([`WebhookFormat`]):
//!
//! * **native** (default): this project's alert JSON, versioned, documented below;
//! * **alertmanager**: Prometheus Alertmanager's webhook payload, version 4, so
//!   anything that consumes Alertmanager webhooks consumes ours.
//!
//! It is what actions (calling a retrain pipeline), the fallback path and the
//! benchmarks use.
//!
//! # Usage
//!
//! ```no_run
//! use alert_core::NotifierExt;
//! use alert_webhook::{WebhookConfig, WebhookFormat, WebhookNotifier};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let notifier = WebhookNotifier::new(
//!     WebhookConfig::new("https://pipelines.example/hooks/retrain")
//!         .with_format(WebhookFormat::Alertmanager)
//!         .with_header("Authorization", "Bearer s3cret"),
//! )?;
//! notifier.notify_text("Training Complete", "Model version: 3").await?;
//! // or from ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_WEBHOOK_HEADERS:
//! let from_env = WebhookNotifier::new(WebhookConfig::from_env()?)?;
//! # let _ = from_env;
//! # Ok(()) }
//! ```
//!
//! # The native body, version 1
//!
//! ```json
//! {
//!   "version": "1",
//!   "kind": "alert",
//!   "receiver": "webhook",
//!   "status": "firing",
//!   "alerts": [
//!     {
//!       "fingerprint": "5c1ef4ca9b3a5e0d",
//!       "name": "AccuracyDrop",
//!       "severity": "error",
//!       "status": "firing",
//!       "summary": "Accuracy fell to 0.81",
//!       "message": "...",
//!       "labels": {"model": "bikes"},
//!       "annotations": {"runbook_url": "https://runbooks.example/accuracy"},
//!       "evidence": {"metric": "accuracy", "observed": 0.81, "threshold": 0.9},
//!       "source": {"model": "bikes", "version": "3"},
//!       "starts_at": "2026-11-24T10:51:29Z"
//!     }
//!   ],
//!   "truncated_alerts": 0
//! }
//! ```
//!
//! * `version`: the schema version, `"1"`. Fields may be added within a version;
//!   consumers must ignore fields they do not know. Renaming or removing a field
//!   bumps the version.
//! * `kind`: `alert` (one alert), `group` (a grouped notification, several alerts) or
//!   `update` (a new state of an alert delivered before; `replaces` then holds the
//!   id the receiver answered the first time, or `""` when it gave none).
//! * `status`: `firing` while any alert of the notification fires (counting those
//!   left out by `max_alerts`), else `resolved`.
//! * `alerts[]`: each alert as `alert_core::Alert` serialises it (empty fields are
//!   left out; `severity` is `info`, `warning`, `error` or `critical`; times are RFC
//!   3339 UTC), plus its `fingerprint` (16 hex digits, Prometheus' label-set hash).
//! * `truncated_alerts`: how many alerts were left out by `max_alerts`.
//!
//! # The Alertmanager body, version 4
//!
//! The fields of Alertmanager's `webhook.Message`: `version` (`"4"`), `groupKey`,
//! `truncatedAlerts`, `status`, `receiver`, `groupLabels`, `commonLabels`,
//! `commonAnnotations`, `externalURL`, and `alerts[]` with `status`, `labels`,
//! `annotations`, `startsAt`, `endsAt`, `generatorURL` and `fingerprint`. An alert's
//! labels are its labels plus `alertname` (its name) and `severity` (see below);
//! its annotations are its annotations plus `summary` and `description` (its
//! message) when set. Built as upstream's `notify/webhook` and `template.Data` do:
//!
//! * `fingerprint` is the hash of the `labels` sent (Prometheus'
//!   `LabelSet.Fingerprint()`), so it includes the added `severity` label and
//!   differs from the native body's fingerprint (the alert's identity, without it).
//! * `endsAt` of a firing alert is Alertmanager's zero time `0001-01-01T00:00:00Z`
//!   (upstream hides the end of an alert that has not resolved); a resolved alert
//!   carries its end. A missing `startsAt`, or the end of a resolved alert that has
//!   none, is the zero time too.
//! * The alerts are truncated to `max_alerts` first; `status` (`firing` while a sent
//!   alert fires), `commonLabels` and `commonAnnotations` describe the alerts sent.
//! * `groupLabels` are the `group_by` labels (default `alertname`) all alerts of the
//!   notification share, truncated ones included (upstream takes them from the
//!   route's group); `groupKey` is `{}:` followed by them as a label set.
//!
//! # Headers and secrets
//!
//! Every request carries `Content-Type: application/json`, unless the config sets a
//! `Content-Type` of its own (a vendor JSON type, a charset): it then replaces the
//! default, and is sent once. A header set twice (names are case-insensitive) and
//! an `Idempotency-Key` header are refused by [`WebhookNotifier::new`] (a fixed key
//! would make a receiver that honours it drop every notification after the first).
//!
//! The URL and every header value are secrets. Error texts (which the router
//! stores and its API shows) quote the receiver's answer with the URL and header
//! values removed, and also their parts that receivers echo on their own: the
//! path (`Cannot POST /hooks/<token>`), the query, the user name and password,
//! the credential after a header's scheme (`Bearer `, `Basic `), and every path
//! segment, query value or word of a header value of 8 characters or more.
//!
//! # Delivery semantics
//!
//! A 2xx answer is a delivery, whatever its body; when the body is a JSON object
//! with an `id`, the receipt carries it. Delivery is at least once: a retry, or a
//! resend after a crash, posts the same notification again.
//!
//! No `Idempotency-Key` header is sent. The channel does not see the router's
//! notification id, and a key derived from the body would be wrong: repeat
//! reminders of an unchanged group (`repeat_interval`) have byte-identical bodies,
//! so a receiver honouring such a key would drop them. A receiver that wants to
//! drop duplicates can hash the body itself, knowing that it then drops reminders
//! too.
//!
//! # Feature flags
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls (ring) |
//! | `native-tls` | no | TLS through the platform library |
//! | `fake` | no | [`fake::FakeWebhook`], a stateful sink on 127.0.0.1 for tests and benchmarks |
//!
//! # Severity mapping
//!
//! The native body carries the canonical severity name. The Alertmanager body adds a
//! `severity` label from [`WebhookSeverityMap`] (default: the canonical names) unless
//! the alert has a `severity` label of its own.
//!
//! # Limitations
//!
//! * POST only; no request signing (put a shared secret in a header instead).
//! * The `update` of an Alertmanager-format body is a plain new notification, as in
//!   Alertmanager (which has no edit).
//! * The Alertmanager body has no route key (`{}` is used) and does not carry
//!   Alertmanager's newer `routeLabels`.
//! * In the Alertmanager body, `severity` is a label, as in Prometheus: when an
//!   alert's severity changes (an escalation), its label set and so its
//!   `fingerprint` change, and a consumer keyed by fingerprint sees a new alert.
//!   The native body's fingerprint does not depend on the severity.
//! * Scrubbing removes secrets as configured and percent-decoded; a receiver that
//!   re-encodes them some other way (base64, upper-cased) is not caught.
//!
//! # Supported Rust versions
//!
//! The workspace's `rust-version` (1.89).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod config;
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;
mod notifier;
mod payload;
mod severity;

pub use config::{
    ENV_FORMAT, ENV_HEADERS, ENV_TIMEOUT_SECS, ENV_URL, WebhookConfig, WebhookFormat,
};
pub use notifier::WebhookNotifier;
pub use severity::WebhookSeverityMap;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
