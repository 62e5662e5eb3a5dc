//! [`SlackConfig`]: how to reach Slack and how messages look.

use std::time::Duration;

use alert_core::{BuildError, Secret, Severity};
use serde::Deserialize;

use crate::{SlackMentions, SlackSeverityMap};

/// The variable [`SlackConfig::from_env`] reads the incoming webhook URL from.
pub const ENV_WEBHOOK_URL: &str = "ALERT_SLACK_WEBHOOK_URL";
/// The variable [`SlackConfig::from_env`] reads the bot token (`xoxb-…`) from.
pub const ENV_BOT_TOKEN: &str = "ALERT_SLACK_BOT_TOKEN";
/// The variable [`SlackConfig::from_env`] reads the channel (ID such as `C0123ABC`, or
/// name) from; needed with [`ENV_BOT_TOKEN`].
pub const ENV_CHANNEL: &str = "ALERT_SLACK_CHANNEL";
/// The variable [`SlackConfig::from_env`] reads an optional Web API base URL from
/// (default [`DEFAULT_API_BASE_URL`]).
pub const ENV_API_BASE_URL: &str = "ALERT_SLACK_API_BASE_URL";

/// Slack's Web API base URL; a method's URL is this, `/`, and the method name.
pub const DEFAULT_API_BASE_URL: &str = "https://slack.com/api";

/// The default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many alerts of a group are shown in full in a digest by default.
pub const DEFAULT_DIGEST_MAX_ALERTS: usize = 10;

/// The largest `digest_max_alerts` accepted: each alert is one block, and a message
/// holds at most 50 blocks with the header, mentions, "and K more" and context.
pub const MAX_DIGEST_ALERTS: usize = 40;

fn default_timeout_secs() -> u64 {
    DEFAULT_TIMEOUT.as_secs()
}

fn default_digest_max_alerts() -> usize {
    DEFAULT_DIGEST_MAX_ALERTS
}

/// Which certificate authorities TLS connections to Slack trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SlackTlsRoots {
    /// Mozilla's root certificates, compiled in (the `rustls` feature, on by
    /// default): works the same on every machine, including containers without a
    /// CA bundle. The default when the feature is on.
    Webpki,
    /// The operating system's certificate store (for TLS-inspecting proxies with a
    /// private CA). Building fails with a clear error when the store has no usable
    /// certificate. The default when the `rustls` feature is off.
    Native,
}

impl Default for SlackTlsRoots {
    fn default() -> Self {
        if cfg!(feature = "rustls") {
            SlackTlsRoots::Webpki
        } else {
            SlackTlsRoots::Native
        }
    }
}

/// Configuration of a [`SlackNotifier`](crate::SlackNotifier).
///
/// Two ways to connect; set exactly one:
///
/// * **incoming webhook**: `webhook_url` (the channel is fixed when the webhook is
///   created);
/// * **Web API**: `bot_token` (scope `chat:write`) and `channel`, through
///   `chat.postMessage`. Only this mode can thread a resolution under the original
///   message and mark the original resolved (`chat.update`).
///
/// Deserialises from config files; unknown keys are rejected:
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config: alert_slack::SlackConfig = serde_json::from_str(r#"{
///     "bot_token": "xoxb-1-2-abc",
///     "channel": "C0123ABC",
///     "mentions": {"critical": ["<!subteam^S0123ABC>"]},
///     "severity": {"critical": "danger"}
/// }"#)?;
/// assert_eq!(config.channel.as_deref(), Some("C0123ABC"));
/// assert!(!format!("{config:?}").contains("xoxb"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SlackConfig {
    /// The incoming webhook URL (`https://hooks.slack.com/services/T…/B…/…`).
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    /// The bot token (`xoxb-…`) for the Web API.
    #[serde(default)]
    pub bot_token: Option<Secret>,
    /// The channel to post to with the Web API: an ID (`C0123ABC`, preferred) or a
    /// name (`#alerts`).
    #[serde(default)]
    pub channel: Option<String>,
    /// The Web API base URL (default [`DEFAULT_API_BASE_URL`]); tests point it at a
    /// local fake. `http://` is accepted.
    #[serde(default)]
    pub api_base_url: Option<String>,
    /// Per-request timeout in seconds (default 10).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Colour bars per severity.
    #[serde(default)]
    pub severity: SlackSeverityMap,
    /// Who is mentioned per severity (nobody by default).
    #[serde(default)]
    pub mentions: SlackMentions,
    /// How many alerts of a group are shown in full in a digest (default 10, at
    /// most 40); the rest are counted in "and K more".
    #[serde(default = "default_digest_max_alerts")]
    pub digest_max_alerts: usize,
    /// Which certificate authorities to trust.
    #[serde(default)]
    pub tls_roots: SlackTlsRoots,
}

impl SlackConfig {
    fn empty() -> SlackConfig {
        SlackConfig {
            webhook_url: None,
            bot_token: None,
            channel: None,
            api_base_url: None,
            timeout_secs: default_timeout_secs(),
            severity: SlackSeverityMap::default(),
            mentions: SlackMentions::default(),
            digest_max_alerts: DEFAULT_DIGEST_MAX_ALERTS,
            tls_roots: SlackTlsRoots::default(),
        }
    }

    /// An incoming-webhook configuration with defaults for everything else.
    pub fn webhook(url: impl Into<Secret>) -> SlackConfig {
        SlackConfig {
            webhook_url: Some(url.into()),
            ..SlackConfig::empty()
        }
    }

    /// A Web API configuration (`chat.postMessage` to `channel`) with defaults for
    /// everything else.
    pub fn bot(token: impl Into<Secret>, channel: impl Into<String>) -> SlackConfig {
        SlackConfig {
            bot_token: Some(token.into()),
            channel: Some(channel.into()),
            ..SlackConfig::empty()
        }
    }

    /// Reads the process environment: [`ENV_WEBHOOK_URL`], or [`ENV_BOT_TOKEN`] with
    /// [`ENV_CHANNEL`], and optionally [`ENV_API_BASE_URL`]. Empty variables count as
    /// unset. Values set in code afterwards override what was read.
    pub fn from_env() -> Result<SlackConfig, BuildError> {
        SlackConfig::from_env_with(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](SlackConfig::from_env), reading variables through `lookup`
    /// (for tests and for callers that keep their own environment).
    pub fn from_env_with(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<SlackConfig, BuildError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut config = match (get(ENV_WEBHOOK_URL), get(ENV_BOT_TOKEN)) {
            (Some(_), Some(_)) => {
                return Err(BuildError::invalid(
                    ENV_WEBHOOK_URL,
                    format!("both {ENV_WEBHOOK_URL} and {ENV_BOT_TOKEN} are set: set only one"),
                ));
            }
            (Some(url), None) => SlackConfig::webhook(Secret::new(url)),
            (None, Some(token)) => {
                let channel = get(ENV_CHANNEL).ok_or_else(|| {
                    BuildError::invalid(
                        ENV_CHANNEL,
                        format!("is not set, and {ENV_BOT_TOKEN} needs a channel"),
                    )
                })?;
                SlackConfig::bot(Secret::new(token), channel)
            }
            (None, None) => {
                return Err(BuildError::invalid(
                    ENV_WEBHOOK_URL,
                    format!(
                        "neither {ENV_WEBHOOK_URL} nor {ENV_BOT_TOKEN} (with {ENV_CHANNEL}) is set"
                    ),
                ));
            }
        };
        config.api_base_url = get(ENV_API_BASE_URL);
        Ok(config)
    }

    /// Sets the Web API base URL (tests: the fake's `api_url()`).
    pub fn with_api_base_url(mut self, url: impl Into<String>) -> SlackConfig {
        self.api_base_url = Some(url.into());
        self
    }

    /// Sets the per-request timeout (whole seconds, at least one).
    pub fn with_timeout(mut self, timeout: Duration) -> SlackConfig {
        self.timeout_secs = timeout.as_secs().max(1);
        self
    }

    /// Sets who is mentioned when an alert of `severity` fires.
    pub fn with_mentions(
        mut self,
        severity: Severity,
        mentions: impl IntoIterator<Item = impl Into<String>>,
    ) -> SlackConfig {
        self.mentions
            .set(severity, mentions.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the colour bars.
    pub fn with_severity_map(mut self, map: SlackSeverityMap) -> SlackConfig {
        self.severity = map;
        self
    }

    /// Sets how many alerts of a group are shown in full.
    pub fn with_digest_max_alerts(mut self, n: usize) -> SlackConfig {
        self.digest_max_alerts = n;
        self
    }

    /// Sets which certificate authorities to trust.
    pub fn with_tls_roots(mut self, roots: SlackTlsRoots) -> SlackConfig {
        self.tls_roots = roots;
        self
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn from_env_reads_either_mode() {
        let c = SlackConfig::from_env_with(env(&[(ENV_WEBHOOK_URL, "https://hooks.x/s/T/B/X")]))
            .unwrap();
        assert_eq!(
            c.webhook_url.as_ref().map(Secret::expose),
            Some("https://hooks.x/s/T/B/X")
        );
        assert!(c.bot_token.is_none());
        let c = SlackConfig::from_env_with(env(&[
            (ENV_BOT_TOKEN, "xoxb-1"),
            (ENV_CHANNEL, "C1"),
            (ENV_API_BASE_URL, "http://127.0.0.1:9/api"),
            (ENV_WEBHOOK_URL, "  "),
        ]))
        .unwrap();
        assert_eq!(c.bot_token.as_ref().map(Secret::expose), Some("xoxb-1"));
        assert_eq!(c.channel.as_deref(), Some("C1"));
        assert_eq!(c.api_base_url.as_deref(), Some("http://127.0.0.1:9/api"));
    }

    #[test]
    fn from_env_names_what_is_missing() {
        let e = SlackConfig::from_env_with(env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(ENV_WEBHOOK_URL) && e.contains(ENV_BOT_TOKEN),
            "{e}"
        );
        let e = SlackConfig::from_env_with(env(&[(ENV_BOT_TOKEN, "xoxb-1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains(ENV_CHANNEL), "{e}");
        let e = SlackConfig::from_env_with(env(&[
            (ENV_BOT_TOKEN, "xoxb-secret-1"),
            (ENV_WEBHOOK_URL, "https://hooks.x/secret"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("set only one"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn serde_rejects_unknown_keys_and_fills_defaults() {
        let e = serde_json::from_str::<SlackConfig>(r#"{"webhook_url":"https://x","chanel":"C1"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `chanel`"), "{e}");
        let e = serde_json::from_str::<SlackConfig>(
            r#"{"webhook_url":"https://x","mentions":{"critcal":[]}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `critcal`"), "{e}");
        let c: SlackConfig =
            serde_json::from_str(r#"{"webhook_url":"https://x","tls_roots":"native"}"#).unwrap();
        assert_eq!(c.timeout(), DEFAULT_TIMEOUT);
        assert_eq!(c.digest_max_alerts, DEFAULT_DIGEST_MAX_ALERTS);
        assert_eq!(c.tls_roots, SlackTlsRoots::Native);
        assert_eq!(c.severity, SlackSeverityMap::default());
    }
}
