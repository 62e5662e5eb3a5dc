//! Slack channel for the ml-alerts toolkit: [`SlackNotifier`] implements
//! [`alert_core::Notifier`] through an incoming webhook or the Web API
//! (`chat.postMessage`), using [slack-morphism](https://crates.io/crates/slack-morphism)
//! over hyper + rustls.
//!
//! # Usage
//!
//! With an **incoming webhook** (the channel is fixed when the webhook is created):
//!
//! ```no_run
//! use alert_core::NotifierExt;
//! use alert_slack::{SlackConfig, SlackNotifier};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let slack = SlackNotifier::new(SlackConfig::webhook(
//!     "https://hooks.slack.com/services/T0123/B0456/your-secret",
//! ))?;
//! slack.notify_text("Training Complete", "Model version: 3").await?;
//! # Ok(()) }
//! ```
//!
//! With a **bot token** and a channel (Web API, scope `chat:write`, the bot invited
//! to the channel). Only this mode threads resolutions under the original message
//! and edits the original to show it resolved:
//!
//! ```no_run
//! use alert_core::{Alert, Evidence, Notifier, Severity, Source, Timestamp};
//! use alert_slack::{SlackConfig, SlackNotifier};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SlackConfig::bot("xoxb-your-token", "C0123ABC")
//!     .with_mentions(Severity::Critical, ["<!subteam^S0123ABC>"]);
//! let slack = SlackNotifier::new(config)?;
//!
//! let alert = Alert::new(Severity::Critical, "AccuracyDrop")
//!     .with_summary("Accuracy fell to 0.81")
//!     .with_runbook("https://runbooks.example/accuracy")
//!     .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.90))
//!     .with_source(Source::model("bikes").version("3").environment("prod"));
//! let receipt = slack.notify(&alert).await?; // id = the message ts
//!
//! // Later: a thread reply under the original, and the original edited (the
//! // receipt says the message showed exactly this alert).
//! let resolved = alert.resolved_at(Timestamp::now());
//! slack.update(&resolved, &receipt).await?;
//! # Ok(()) }
//! ```
//!
//! Or from the environment ([`ENV_WEBHOOK_URL`], or [`ENV_BOT_TOKEN`] with
//! [`ENV_CHANNEL`]; optionally [`ENV_API_BASE_URL`]):
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let slack = alert_slack::SlackNotifier::new(alert_slack::SlackConfig::from_env()?)?;
//! # Ok(()) }
//! ```
//!
//! In config files ([`SlackConfig`] is `Deserialize`; unknown keys are rejected):
//!
//! ```toml
//! bot_token = "xoxb-…"          # or: webhook_url = "https://hooks.slack.com/services/…"
//! channel = "C0123ABC"
//! timeout_secs = 10
//! digest_max_alerts = 10
//! tls_roots = "webpki"          # or "native" (the system store)
//! [mentions]
//! critical = ["<!subteam^S0123ABC>"]
//! [severity]
//! critical = "danger"
//! ```
//!
//! # The message
//!
//! One alert is one message:
//!
//! * `text`, always set: the notification text (mentions, the header line, the
//!   start of the message);
//! * a **header** block: severity emoji and `[CRITICAL] title` (`✅ [RESOLVED] …`
//!   once resolved), at most 150 characters;
//! * for firing alerts with configured mentions, a section holding them;
//! * a **colour bar** (a legacy attachment's `color`, see [`SlackSeverityMap`])
//!   around the details, as blocks:
//!   * the message (a section of at most 3,000 characters);
//!   * **fields** (at most 10, each at most 2,000 characters; this crate keeps them
//!     under 300): key ML evidence first (metric, observed, threshold, baseline,
//!     test, statistic, p-value, segment), then other evidence, then labels;
//!   * a details section with what did not fit in fields and other annotations;
//!   * the **runbook** and **dashboard** links (only `http(s)` URLs become links,
//!     whole or not at all);
//!   * a **context** line: model, version, environment, run; start (and end) time,
//!     shown in each reader's time zone; the fingerprint; what was trimmed.
//!
//! Everything is fitted by structure with `alert_core::fit`: the least important
//! parts are cut first (labels, then annotations and extra evidence, then the
//! message), and the title, severity, key evidence and runbook stay. A 100 KB
//! message or 1,000 labels still give a valid message of a few KB.
//!
//! A group ([`notify_group`](alert_core::Notifier::notify_group)) is one digest: a
//! header counting firing and resolved alerts by severity, then the first
//! `digest_max_alerts` alerts (default 10, at most 40) in full, one section each,
//! firing before resolved and most severe first, then "… and K more". A message
//! never exceeds 50 blocks.
//!
//! # Injection safety
//!
//! Alert text is untrusted. Control characters are replaced, and `&`, `<`, `>`
//! become `&amp;`, `&lt;`, `&gt;` everywhere (header, sections, fields, context and
//! the `text` fallback), so no alert can produce `<!channel>`, `<!here>`, a user or
//! group mention, a channel link or a `<url|text>` link. Every `mrkdwn` text is sent
//! with `verbatim: true`, so bare URLs, `@here` or `#channel` are not parsed either;
//! `unfurl_links` and `unfurl_media` are off. Mentions come only from
//! [`SlackMentions`] in the configuration, per severity, and are checked when the
//! notifier is built.
//!
//! # Errors
//!
//! The notifier never retries; it classifies, and a retry layer decides:
//!
//! | Slack's answer | error | retry |
//! |---|---|---|
//! | HTTP 429 with `Retry-After` (whole seconds) | `RateLimited` | after that delay |
//! | Web API `ok:false` (HTTP 200) `ratelimited` | `RateLimited` | back off |
//! | `ok:false` `internal_error`, `fatal_error`, `request_timeout`, `service_unavailable`, `team_added_to_org` | `Server` | back off |
//! | HTTP 5xx (webhook `500 rollup_error`, a proxy's 502), connection errors | `Server` / `Transport` | back off |
//! | no answer within `timeout_secs` | `Timeout` | back off |
//! | `channel_not_found`, `channel_is_archived`, `is_archived`, `no_service` (revoked webhook), `no_team`, `user_not_found` | `Gone` | never; [`disables_destination`](alert_core::NotifyError::disables_destination) |
//! | `invalid_auth`, `not_authed`, `invalid_token`, `token_revoked`, `account_inactive`, `missing_scope`, `not_in_channel`, `action_prohibited`, ... | `Unauthorized` | never; disables the destination |
//! | webhook `400 invalid_payload`, `no_text`, `invalid_blocks`; Web API `msg_too_long`, `invalid_arguments`, ...; any other Web API code | `Rejected` | never |
//! | a webhook code not listed here: by the HTTP status, 404/410 `Gone`, 401/403 `Unauthorized`, other 4xx `Rejected` | as the status says | never |
//!
//! Messages carry the method and Slack's code (`chat.postMessage: channel_not_found`),
//! never the webhook URL or the token.
//!
//! # Feature flags
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | trust Mozilla's root certificates, compiled in (webpki-roots), so TLS works in containers without a CA bundle; without it, [`SlackTlsRoots::Native`] (the system store) is the only choice |
//! | `fake` | no | [`fake::FakeSlack`]: a stateful fake of Slack's webhooks and Web API on 127.0.0.1, for tests and benchmarks (pulls axum and alert-testkit) |
//!
//! TLS is always rustls with the ring provider (slack-morphism's only connector is
//! hyper-rustls), set explicitly so it never depends on which rustls providers other
//! crates compile in. There is no `native-tls` feature: slack-morphism 2.x cannot use
//! OpenSSL. For a TLS-inspecting proxy with a private CA, set
//! `tls_roots = "native"`.
//!
//! # Severity mapping
//!
//! [`SlackSeverityMap`] sets the colour bar: info `#439FE0`, warning `#DAA038`,
//! error `#E8590C`, critical `#D40E0D`, resolved `#2EB67D`; the header shows the
//! severity's emoji and marker (`🚨 [CRITICAL]`). [`SlackMentions`] sets who is
//! pinged per severity (nobody by default).
//!
//! # Limitations
//!
//! * Webhook mode cannot thread or edit (webhooks return no `ts`): a resolution is
//!   a new message marked `[RESOLVED]`, and receipts carry no id.
//! * In Web API mode, an [`update`](alert_core::Notifier::update) posts the thread
//!   reply first, then edits the original; if the edit fails the reply is not
//!   repeated and the receipt says why in `meta["update_error"]`.
//! * The original is edited only when its receipt says it showed exactly this
//!   alert (`meta["kind"] = "alert"` and the same `meta["fingerprint"]`). A
//!   digest, another alert's message, or a receipt from a version that did not
//!   record what it showed only gets the thread reply, so resolving one alert of
//!   a digest never marks the whole digest resolved.
//! * slack-morphism reads `Retry-After` only as whole seconds, and not at all on
//!   responses other than 429 (a 503's delay is not used: it backs off).
//! * Requests use HTTP/1.1 or HTTP/2 without a proxy (`HTTPS_PROXY` is not read).
//! * No interactive buttons (acknowledge, silence): those need a Slack app with an
//!   events endpoint.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is the workspace's `rust-version` (1.89).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod config;
mod error;
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;
mod notifier;
mod payload;
mod severity;

pub use config::{
    DEFAULT_API_BASE_URL, DEFAULT_DIGEST_MAX_ALERTS, DEFAULT_TIMEOUT, ENV_API_BASE_URL,
    ENV_BOT_TOKEN, ENV_CHANNEL, ENV_WEBHOOK_URL, MAX_DIGEST_ALERTS, SlackConfig, SlackTlsRoots,
};
pub use notifier::{
    KIND_ALERT, KIND_DIGEST, META_ALERTS, META_CHANNEL, META_FINGERPRINT, META_KIND, META_REPLY_TS,
    META_UPDATE_ERROR, SlackNotifier,
};
pub use severity::{SlackMentions, SlackSeverityMap};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
