//! [`DiscordConfig`] and the environment variables it reads.

use std::time::Duration;

use alert_core::{BuildError, Secret};
use serde::Deserialize;

use crate::severity::opt_snowflake;
use crate::{DiscordMentions, DiscordSeverityMap};

/// The webhook URL (required): `https://discord.com/api/webhooks/<id>/<token>`.
pub const ENV_WEBHOOK_URL: &str = "ALERT_DISCORD_WEBHOOK_URL";
/// The API base URL (optional, default `https://discord.com`); tests point it at a
/// local fake.
pub const ENV_API_BASE_URL: &str = "ALERT_DISCORD_API_BASE_URL";
/// The display name of messages (optional; default: the webhook's own name).
pub const ENV_USERNAME: &str = "ALERT_DISCORD_USERNAME";
/// The avatar image URL of messages (optional).
pub const ENV_AVATAR_URL: &str = "ALERT_DISCORD_AVATAR_URL";
/// The thread to post into (optional; required for forum channels).
pub const ENV_THREAD_ID: &str = "ALERT_DISCORD_THREAD_ID";
/// The server (guild) id, for links to messages in receipts (optional).
pub const ENV_GUILD_ID: &str = "ALERT_DISCORD_GUILD_ID";
/// The role to mention for info alerts (optional).
pub const ENV_MENTION_INFO: &str = "ALERT_DISCORD_MENTION_INFO";
/// The role to mention for warning alerts (optional).
pub const ENV_MENTION_WARNING: &str = "ALERT_DISCORD_MENTION_WARNING";
/// The role to mention for error alerts (optional).
pub const ENV_MENTION_ERROR: &str = "ALERT_DISCORD_MENTION_ERROR";
/// The role to mention for critical alerts (optional).
pub const ENV_MENTION_CRITICAL: &str = "ALERT_DISCORD_MENTION_CRITICAL";
/// The per-request timeout in seconds (optional, default 10).
pub const ENV_TIMEOUT_SECS: &str = "ALERT_DISCORD_TIMEOUT_SECS";

/// Discord's API origin; requests go to `{api_base_url}/api/v10/webhooks/...`.
pub const DEFAULT_API_BASE_URL: &str = "https://discord.com";

fn default_timeout_secs() -> u64 {
    10
}

/// Configuration of a [`DiscordNotifier`](crate::DiscordNotifier).
///
/// Deserialises from config files (unknown keys are rejected):
///
/// ```
/// use alert_discord::DiscordConfig;
/// let config: DiscordConfig = serde_json::from_str(r##"{
///     "webhook_url": "https://discord.com/api/webhooks/123456789012345678/tok",
///     "username": "ml-alerts",
///     "mentions": {"critical": "223456789012345678"},
///     "severity": {"critical": "#FF0000"}
/// }"##).unwrap();
/// assert_eq!(config.mentions.critical, Some(223456789012345678));
/// // The webhook URL is a secret: it never prints.
/// assert!(!format!("{config:?}").contains("tok"));
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DiscordConfig {
    /// The webhook URL as Discord shows it; see [`WebhookUrl`](crate::WebhookUrl)
    /// for the accepted forms.
    pub webhook_url: Secret,
    /// The API origin, default [`DEFAULT_API_BASE_URL`]. Only for tests and proxies:
    /// requests go to `{api_base_url}/api/v10/webhooks/{id}/{token}`.
    #[serde(default)]
    pub api_base_url: Option<String>,
    /// The display name of messages (1 to 80 characters; Discord refuses names
    /// containing `discord` or `clyde`). Default: the webhook's name.
    #[serde(default)]
    pub username: Option<String>,
    /// The avatar image URL of messages (`https://`). Default: the webhook's avatar.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// The thread to post into (required when the webhook's channel is a forum).
    /// A `?thread_id=` in the webhook URL is used when this is not set.
    #[serde(default, deserialize_with = "opt_snowflake")]
    pub thread_id: Option<u64>,
    /// The server (guild) id: when set, receipts carry a link to the message.
    #[serde(default, deserialize_with = "opt_snowflake")]
    pub guild_id: Option<u64>,
    /// Roles to mention per severity (none by default).
    #[serde(default)]
    pub mentions: DiscordMentions,
    /// Embed colours per severity.
    #[serde(default)]
    pub severity: DiscordSeverityMap,
    /// Per-request timeout in seconds (default 10).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl DiscordConfig {
    /// A configuration with defaults for everything but the webhook URL.
    pub fn new(webhook_url: impl Into<Secret>) -> DiscordConfig {
        DiscordConfig {
            webhook_url: webhook_url.into(),
            api_base_url: None,
            username: None,
            avatar_url: None,
            thread_id: None,
            guild_id: None,
            mentions: DiscordMentions::default(),
            severity: DiscordSeverityMap::default(),
            timeout_secs: default_timeout_secs(),
        }
    }

    /// Sets the API origin (a local fake in tests).
    pub fn with_api_base_url(mut self, url: impl Into<String>) -> Self {
        self.api_base_url = Some(url.into());
        self
    }

    /// Sets the display name.
    pub fn with_username(mut self, name: impl Into<String>) -> Self {
        self.username = Some(name.into());
        self
    }

    /// Sets the avatar URL.
    pub fn with_avatar_url(mut self, url: impl Into<String>) -> Self {
        self.avatar_url = Some(url.into());
        self
    }

    /// Sets the thread to post into.
    pub fn with_thread_id(mut self, id: u64) -> Self {
        self.thread_id = Some(id);
        self
    }

    /// Sets the guild id (for message links in receipts).
    pub fn with_guild_id(mut self, id: u64) -> Self {
        self.guild_id = Some(id);
        self
    }

    /// Sets the roles to mention.
    pub fn with_mentions(mut self, mentions: DiscordMentions) -> Self {
        self.mentions = mentions;
        self
    }

    /// Sets the colours.
    pub fn with_severity_map(mut self, map: DiscordSeverityMap) -> Self {
        self.severity = map;
        self
    }

    /// Sets the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_secs = timeout.as_secs().max(1);
        self
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Reads the configuration from the `ALERT_DISCORD_*` environment variables
    /// ([`ENV_WEBHOOK_URL`] is required; the others are optional).
    pub fn from_env() -> Result<DiscordConfig, BuildError> {
        DiscordConfig::from_vars(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](DiscordConfig::from_env), reading variables through
    /// `get` (a map in tests, a secrets store in services). Empty values count as
    /// unset.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<DiscordConfig, BuildError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let url = get(ENV_WEBHOOK_URL).ok_or_else(|| {
            BuildError::invalid(ENV_WEBHOOK_URL, "environment variable is not set")
        })?;
        let id = |k: &str| -> Result<Option<u64>, BuildError> {
            get(k)
                .map(|v| {
                    let t = v.trim();
                    let t = t
                        .strip_prefix("<@&")
                        .and_then(|r| r.strip_suffix('>'))
                        .unwrap_or(t);
                    crate::webhook::parse_snowflake(t).ok_or_else(|| {
                        BuildError::invalid(k, format!("{v:?} is not a Discord snowflake id"))
                    })
                })
                .transpose()
        };
        let mut c = DiscordConfig::new(Secret::new(url));
        c.api_base_url = get(ENV_API_BASE_URL);
        c.username = get(ENV_USERNAME);
        c.avatar_url = get(ENV_AVATAR_URL);
        c.thread_id = id(ENV_THREAD_ID)?;
        c.guild_id = id(ENV_GUILD_ID)?;
        c.mentions = DiscordMentions {
            info: id(ENV_MENTION_INFO)?,
            warning: id(ENV_MENTION_WARNING)?,
            error: id(ENV_MENTION_ERROR)?,
            critical: id(ENV_MENTION_CRITICAL)?,
        };
        if let Some(t) = get(ENV_TIMEOUT_SECS) {
            c.timeout_secs = t.trim().parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                BuildError::invalid(
                    ENV_TIMEOUT_SECS,
                    format!("{t:?} is not a positive whole number of seconds"),
                )
            })?;
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const URL: &str = "https://discord.com/api/webhooks/123456789012345678/SECRET-token";

    #[test]
    fn from_vars_reads_every_variable() {
        let vars: HashMap<&str, &str> = [
            (ENV_WEBHOOK_URL, URL),
            (ENV_API_BASE_URL, "http://127.0.0.1:9"),
            (ENV_USERNAME, "ml-alerts"),
            (ENV_AVATAR_URL, "https://img.example/a.png"),
            (ENV_THREAD_ID, "1111111111111111111"),
            (ENV_GUILD_ID, "2222222222222222222"),
            (ENV_MENTION_CRITICAL, "<@&3333333333333333333>"),
            (ENV_MENTION_ERROR, "4444444444444444444"),
            (ENV_MENTION_WARNING, " "),
            (ENV_TIMEOUT_SECS, "3"),
        ]
        .into();
        let c = DiscordConfig::from_vars(|k| vars.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(c.webhook_url.expose(), URL);
        assert_eq!(c.api_base_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(c.username.as_deref(), Some("ml-alerts"));
        assert_eq!(c.avatar_url.as_deref(), Some("https://img.example/a.png"));
        assert_eq!(c.thread_id, Some(1_111_111_111_111_111_111));
        assert_eq!(c.guild_id, Some(2_222_222_222_222_222_222));
        assert_eq!(c.mentions.critical, Some(3_333_333_333_333_333_333));
        assert_eq!(c.mentions.error, Some(4_444_444_444_444_444_444));
        assert_eq!(c.mentions.warning, None);
        assert_eq!(c.timeout(), Duration::from_secs(3));
    }

    #[test]
    fn from_vars_names_the_missing_or_bad_variable() {
        let e = DiscordConfig::from_vars(|_| None).unwrap_err().to_string();
        assert!(e.contains(ENV_WEBHOOK_URL) && e.contains("not set"), "{e}");
        let e = DiscordConfig::from_vars(|k| match k {
            ENV_WEBHOOK_URL => Some(URL.into()),
            ENV_MENTION_INFO => Some("@here".into()),
            _ => None,
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(ENV_MENTION_INFO) && e.contains("\"@here\""),
            "{e}"
        );
        let e = DiscordConfig::from_vars(|k| match k {
            ENV_WEBHOOK_URL => Some(URL.into()),
            ENV_TIMEOUT_SECS => Some("0".into()),
            _ => None,
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains(ENV_TIMEOUT_SECS), "{e}");
    }

    #[test]
    fn serde_defaults_unknown_keys_and_redaction() {
        let c: DiscordConfig =
            serde_json::from_str(&format!(r#"{{"webhook_url": "{URL}"}}"#)).unwrap();
        assert_eq!(c, DiscordConfig::new(URL));
        assert_eq!(c.timeout(), Duration::from_secs(10));
        let e = serde_json::from_str::<DiscordConfig>(&format!(
            r#"{{"webhook_url": "{URL}", "webhook": "x"}}"#
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `webhook`"), "{e}");
        assert!(!e.to_string().contains("SECRET"), "{e}");
        let d = format!("{c:?}");
        assert!(!d.contains("SECRET"), "{d}");
        let c: DiscordConfig = serde_json::from_str(&format!(
            r#"{{"webhook_url": "{URL}", "thread_id": 5, "guild_id": "6"}}"#
        ))
        .unwrap();
        assert_eq!((c.thread_id, c.guild_id), (Some(5), Some(6)));
    }
}
