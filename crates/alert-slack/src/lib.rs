//! Slack channel for the ml-alerts toolkit (docs in progress).
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
pub use notifier::{META_CHANNEL, META_REPLY_TS, META_UPDATE_ERROR, SlackNotifier};
pub use severity::{SlackMentions, SlackSeverityMap};
