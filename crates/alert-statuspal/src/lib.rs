//! Statuspal channel for the ml-alerts toolkit: tells a service's users, on its
//! [Statuspal](https://statuspal.io) status page, that something is wrong and when
//! it is fixed.
//!
//! Each alert (by [fingerprint](alert_core::Fingerprint)) has at most one open
//! incident:
//!
//! | the alert | what the status page gets |
//! |---|---|
//! | fires for the first time | a new incident (`POST /status_pages/{subdomain}/incidents`) of type `major` or `minor`, on the services its labels map to, with a first update of type `issue` |
//! | fires again, same impact | an update of type `update` |
//! | fires with a higher / lower impact | the incident type changes (`PUT`) and an `escalate` / `deescalate` update |
//! | resolves | a `resolved` update, and the incident is closed (`ends_at`) |
//!
//! The fingerprint-to-incident map lives in memory, and survives restarts through
//! a marker: the first update of each incident ends with `[ref:<fingerprint>]`. On
//! a miss the notifier lists the page's incidents (following `links.next`) and
//! picks up its open incidents by marker, so a restarted process updates the
//! existing incident instead of opening a duplicate. (Several instances sharing a
//! page are not fully protected: see Limitations.)
//!
//! Customer-facing text comes from separate templates ([`StatuspalTemplates`]):
//! by default only the alert's summary is published; labels, evidence, messages and
//! links never reach the public page unless a template asks for a label by name.
//!
//! # What is published
//!
//! * The title and every update description are rendered from
//!   [`StatuspalTemplates`] and nothing else.
//! * `{summary}` is the alert's summary, or **its name when the summary is empty**
//!   (`CheckoutModelDown`): give alerts that can reach the page a customer-facing
//!   summary, or use templates without `{summary}`. A title that renders empty
//!   becomes `Service issue`.
//! * The marker `[ref:<fingerprint>]` is appended to the first update of every
//!   incident **outside the templates**, after a blank line, whatever they say: the
//!   lookup after a restart depends on it. It is public, and carries only a hash of
//!   the alert's name and labels.
//!
//! # Usage
//!
//! ```no_run
//! use alert_core::{Alert, Notifier, Severity};
//! use alert_statuspal::{StatuspalConfig, StatuspalNotifier, Region};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = StatuspalConfig::from_env()? // ALERT_STATUSPAL_API_KEY, ..._SUBDOMAIN
//!     .with_region(Region::Eu)
//!     .with_services("service=checkout", [42]);
//! let statuspal = StatuspalNotifier::new(config)?;
//!
//! let alert = Alert::new(Severity::Critical, "CheckoutModelDown")
//!     .with_summary("Checkout recommendations are unavailable")
//!     .with_label("service", "checkout");
//! let receipt = statuspal.notify(&alert).await?; // opens a major incident
//! println!("incident {:?} at {:?}", receipt.id, receipt.url);
//!
//! let resolved = alert.resolved_at(alert_core::Timestamp::now());
//! statuspal.update(&resolved, &receipt).await?;  // resolves and closes it
//! # Ok(()) }
//! ```
//!
//! Configuration from a file: see [`StatuspalConfig`] (TOML example there).
//!
//! # Feature flags
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls (ring), no OpenSSL |
//! | `native-tls` | no | TLS through the platform library |
//! | `fake` | no | [`fake::FakeStatuspal`]: a stateful local fake of the Statuspal API for tests and benchmarks (adds axum and alert-testkit) |
//!
//! # Severity mapping
//!
//! [`StatuspalSeverityMap`]: `critical` → `major`, `error` → `minor`, `warning` and
//! `info` → not published (a status page is for customers). Unpublished alerts are
//! acknowledged with `Ok` and a receipt whose `meta["skipped"]` is
//! `severity-not-published`; no request is made. Override per severity in config
//! (`severity = { warning = "minor" }`) or use
//! [`StatuspalSeverityMap::publish_all`].
//!
//! Resolutions are handled **whatever their severity**: a resolved `info` or
//! `warning` alert still looks for an open incident (which may list the page's
//! incidents after a restart) and closes it. An incident opened at `critical` or
//! `error` whose alert was then de-escalated to `warning` (left open unchanged, see
//! Limitations) must still be closed when the alert resolves, and the severity on
//! the resolution cannot tell whether an incident exists. A resolved alert with no
//! open incident gets `Ok` with `meta["skipped"] = "no-open-incident"`.
//!
//! # Errors
//!
//! Channels never retry; errors say whether to ([`NotifyError::retryable`](alert_core::NotifyError::retryable)):
//!
//! | answer | error | retry |
//! |---|---|---|
//! | 401, 403 | `Unauthorized`: "the API key was refused for status page `x` (a bad or revoked key, or a subdomain the key has no access to)" | never; the destination is disabled |
//! | 404 on the status page (listing, creating) | `Gone`: "status page `x` not found (check the subdomain and the region)" | never; the destination is disabled |
//! | 404 on an incident (update, type change) | `Rejected`: the incident was deleted on the page; it is forgotten, and the next firing opens a new one (a resolution of a deleted incident is `Ok`, `meta["skipped"] = "incident-gone"`) | never |
//! | 429 | `RateLimited` (no `Retry-After` is documented; one is honoured if sent); the body is logged (`tracing`, `warn`), as the error has no message | backoff |
//! | 408, 5xx | `Server` | backoff |
//! | other 4xx (400, 422) | `Rejected` | never |
//! | connection, TLS, timeout | `Transport`, `Timeout` | backoff |
//!
//! Messages quote the response body (at most 300 characters) with the API key
//! scrubbed out; the key never appears in errors, `Debug` output or receipts. If
//! creating an incident fails in a way that may have created it anyway (a timeout,
//! a 5xx, an answer without an id), the next attempt lists first and finds it by its
//! marker instead of creating a second one.
//!
//! # What is confirmed, and what is assumed
//!
//! Confirmed by the official "StatusPal API Reference (2.0.0)"
//! (<https://statuspal.io/api-docs>):
//! * base URLs `https://statuspal.io/api/v2` (US) and `https://statuspal.eu/api/v2`
//!   (EU); Statuspal's own Terraform provider
//!   (statuspal/terraform-provider-statuspal, `internal/client/client.go`) switches
//!   on region `US`/`EU` the same way;
//! * `Authorization: <api key>`, the raw key without `Bearer`, with
//!   `Accept`/`Content-Type: application/json` (official example; the Terraform
//!   client sends the same three headers);
//! * `POST /status_pages/{subdomain}/incidents` with
//!   `{"incident": {"type": "major", "title", "service_ids": [..], "updates":
//!   [{"type": "issue", "description"}]}}` (official example);
//! * rate limits "300 requests per 10 seconds" and "100 requests per 10 seconds",
//!   answered with 429 (no retry header documented).
//!
//! Observed or from reliable secondary sources: `GET …/incidents` answers
//! `{"incidents", "links": {"next"}, "meta"}` with cursor pagination, and
//! `links.next` sometimes says `/api/v1/`; an open incident has `ends_at: null`;
//! the Terraform client treats any status above 226 as a failure and keeps the body.
//!
//! **Assumed** (not in the stored official reference; every such choice is in the
//! [`assumptions`] module, with its evidence, and the wire shapes can be overridden
//! in config under `api` without a release): the body wrapper of posting an update
//! (`{"update": …}`) and of `PUT` (`{"incident": …}`); the update types `update`,
//! `escalate`, `deescalate`, `resolved`; how resolving closes an incident (this
//! crate posts the `resolved` update and then `PUT`s `ends_at`, which is correct
//! under either behaviour); the date-time form of `starts_at` and `ends_at` (UTC
//! without offset, `2022-01-01T00:00:00`); the answer shapes of create; the title
//! and description limits; the public incident link in receipts.
//!
//! # Limitations
//!
//! * The lookup reads at most `lookup_max_pages` pages (default 50 × 100
//!   incidents); an open incident older than that is not found and a duplicate
//!   could be opened.
//! * An incident closed by hand on the page is only noticed at the next complete
//!   listing (a miss after `relist_interval_secs`); until then, repeats post updates
//!   to it.
//! * Several instances (processes) sending to the same page do not coordinate.
//!   After a complete listing, an instance trusts its map for
//!   `relist_interval_secs` (default 60 s): an incident another instance opened
//!   within that time is not seen, and a duplicate can be opened for the same alert.
//!   Route each page through one instance, or set `relist_interval_secs = 0` (a
//!   listing on every miss, which narrows the window to the time between two
//!   requests without closing it).
//! * A group ([`notify_group`](alert_core::Notifier::notify_group)) becomes one
//!   incident keyed by its digest's fingerprint (common name and labels), titled
//!   after its most severe firing alert.
//! * An alert whose impact drops to `none` while its incident is open leaves the
//!   incident unchanged until it resolves.
//! * Scheduled maintenances and metrics are not covered.
//!
//! # Supported Rust versions
//!
//! The workspace's `rust-version` (1.89), checked by Cargo's MSRV-aware resolver.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod assumptions;
mod client;
mod config;
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;
mod marker;
mod notifier;
mod payload;
mod severity;
mod template;

pub use assumptions::{ResolveStyle, StatuspalApi, StatuspalUpdateTypes};
pub use config::{
    ENV_API_KEY, ENV_BASE_URL, ENV_DEFAULT_SERVICES, ENV_REGION, ENV_SERVICES, ENV_SUBDOMAIN,
    Region, StatuspalConfig,
};
pub use notifier::StatuspalNotifier;
pub use severity::{StatuspalImpact, StatuspalSeverityMap};
pub use template::{StatuspalTemplates, Template as StatuspalTemplate};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
