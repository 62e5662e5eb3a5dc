//! Discord channel for the ml-alerts toolkit: alerts as rich embeds through a
//! Discord webhook.
//!
//! * Payloads are built with [serenity]'s builders (`ExecuteWebhook`,
//!   `CreateEmbed`, `CreateAllowedMentions`, `EditWebhookMessage`; only its
//!   `builder` feature, no serenity HTTP client or gateway) and sent with our own
//!   reqwest client, so `429` answers keep their `retry_after` and the API origin is
//!   a plain config value.
//! * One embed per alert: colour by severity, title, message, fields for the ML
//!   evidence, the runbook and dashboard links, annotations and labels, a footer with
//!   model / version / environment, a timestamp.
//! * Every Discord limit is enforced here, by structure ([`limits`], using
//!   `alert_core::fit`): labels are cut before the message, the message before the
//!   key evidence and the runbook, the title last.
//! * Nothing in an alert pings anyone: every message carries `allowed_mentions`
//!   with an empty `parse` list, and alert text is markdown-escaped. Roles are
//!   mentioned only when configured per severity ([`DiscordMentions`]).
//! * Executes with `?wait=true`, so the [`Receipt`](alert_core::Receipt) carries the
//!   message id; a resolution edits that message.
//!
//! # Usage
//!
//! ```no_run
//! use alert_core::{Alert, Evidence, Notifier, NotifierExt, Severity, Source};
//! use alert_discord::{DiscordConfig, DiscordNotifier};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // ALERT_DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/<id>/<token>
//! let discord = DiscordNotifier::new(DiscordConfig::from_env()?)?;
//! discord.notify_text("Training Complete", "Model version: 3").await?;
//!
//! let alert = Alert::new(Severity::Critical, "AccuracyDrop")
//!     .with_summary("Accuracy fell to 0.81 (threshold 0.90)")
//!     .with_runbook("https://runbooks.example/accuracy")
//!     .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.90))
//!     .with_source(Source::model("bikes").version("3").environment("prod"));
//! let receipt = discord.notify(&alert).await?;
//! // Later: edit the same message to show the alert resolved.
//! let resolved = alert.clone().resolved_at(alert_core::Timestamp::now());
//! discord.update(&resolved, &receipt).await?;
//! # Ok(()) }
//! ```
//!
//! Configuration can also come from a file ([`DiscordConfig`] is `Deserialize`,
//! unknown keys are refused) or from the `ALERT_DISCORD_*` variables
//! ([`DiscordConfig::from_env`]).
//!
//! # Feature flags
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls with the ring provider (no OpenSSL) |
//! | `native-tls` | no | TLS through the platform library (OpenSSL on Linux) |
//! | `fake` | no | [`fake::FakeDiscord`], a stateful local fake of Discord's webhook API for tests and benchmarks |
//!
//! # Severity mapping
//!
//! The embed colour comes from [`DiscordSeverityMap`] (overridable in config):
//! info blue `0x3498DB`, warning yellow `0xF1C40F`, error orange `0xE67E22`,
//! critical red `0xE74C3C`, resolved green `0x2ECC71`. The title starts with
//! `[INFO]`, `[WARNING]`, `[ERROR]`, `[CRITICAL]` or `[RESOLVED]`, so severity does
//! not depend on colour alone. A role is mentioned for a firing alert only when
//! [`DiscordMentions`] names one for its severity.
//!
//! # Errors
//!
//! The notifier never retries; its errors say what to do
//! ([`NotifyError::retryable`](alert_core::NotifyError::retryable)):
//!
//! | Discord answers | error | retry |
//! |---|---|---|
//! | `429` | `RateLimited` | after the larger of the body's `retry_after` and `Retry-After`; without either, when the route's bucket was hit (`X-RateLimit-Scope: user` or none, not `X-RateLimit-Global`), after its `X-RateLimit-Reset-After` (else `X-RateLimit-Reset`); else back off |
//! | `404` code 10015 (unknown webhook), `401` code 50027 (invalid token) | `Gone` / `Unauthorized`, [`disables_destination`](alert_core::NotifyError::disables_destination) | never |
//! | `400` code 50035 | `Rejected`, the message lists the failing field paths (`embeds.0.title: ...`) | never |
//! | `403` code 40333 (Cloudflare) | `Rejected`, says to check the User-Agent / IP | never |
//! | `502`, other `5xx` | `Server` | back off |
//! | connection failure, timeout | `Transport`, `Timeout` | back off |
//!
//! Receipts carry `X-RateLimit-Remaining`/`-Limit`/`-Reset`/`-Reset-After`/`-Bucket`
//! in `meta` (`ratelimit_remaining`, `ratelimit_limit`, `ratelimit_reset` (epoch
//! seconds as sent), `ratelimit_reset_after` (seconds), `ratelimit_bucket`) for a
//! rate governor.
//!
//! # Limitations
//!
//! * Webhooks only (no bot token): no reactions, no real replies. When a resolution
//!   cannot edit the original message (deleted, part of a group, another webhook),
//!   a new message links to it (`https://discord.com/channels/...` when the guild
//!   id is known, from config, else its id).
//! * No file attachments, components or polls.
//! * Lengths are counted in UTF-16 units, as Discord (JavaScript) does, before
//!   trimming: a little conservative for text with surrounding white space.
//! * `X-RateLimit-Scope` and `X-RateLimit-Global` (sent only with a `429`) decide
//!   whether the route bucket's reset may serve as the delay, but the error does
//!   not say which limit was hit: `NotifyError::RateLimited` has no field for it.
//!
//! # Supported Rust versions
//!
//! The workspace's `rust-version` (1.89), checked by Cargo's MSRV-aware resolver.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod config;
mod error;
pub mod limits;
mod notifier;
mod payload;
mod severity;
mod webhook;

#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;

pub use config::{
    DEFAULT_API_BASE_URL, DiscordConfig, ENV_API_BASE_URL, ENV_AVATAR_URL, ENV_GUILD_ID,
    ENV_MENTION_CRITICAL, ENV_MENTION_ERROR, ENV_MENTION_INFO, ENV_MENTION_WARNING, ENV_THREAD_ID,
    ENV_TIMEOUT_SECS, ENV_USERNAME, ENV_WEBHOOK_URL,
};
pub use notifier::{API_VERSION, DiscordNotifier, USER_AGENT};
pub use severity::{DiscordMentions, DiscordSeverityMap};
pub use webhook::{DISCORD_HOSTS, WebhookUrl, WebhookUrlError};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
