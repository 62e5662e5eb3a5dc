use std::collections::BTreeMap;
use std::time::Duration;

use alert_core::{BuildError, Secret};
use serde::Deserialize;

use crate::WebhookSeverityMap;

/// The variable [`WebhookConfig::from_env`] reads the endpoint URL from (required).
pub const ENV_URL: &str = "ALERT_WEBHOOK_URL";
/// The variable [`WebhookConfig::from_env`] reads the body format from (optional:
/// `native`, the default, or `alertmanager`).
pub const ENV_FORMAT: &str = "ALERT_WEBHOOK_FORMAT";
/// The variable [`WebhookConfig::from_env`] reads extra headers from (optional):
/// `Name: value` pairs separated by newlines or `;`, e.g.
/// `Authorization: Bearer abc; X-Team: ml`. Every value is treated as a secret.
pub const ENV_HEADERS: &str = "ALERT_WEBHOOK_HEADERS";
/// The variable [`WebhookConfig::from_env`] reads the per-request timeout from
/// (optional, seconds, default 10).
pub const ENV_TIMEOUT_SECS: &str = "ALERT_WEBHOOK_TIMEOUT_SECS";

fn default_timeout_secs() -> u64 {
    10
}

fn default_receiver() -> String {
    "webhook".to_owned()
}

fn default_group_by() -> Vec<String> {
    vec!["alertname".to_owned()]
}

/// Which JSON body the webhook receives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum WebhookFormat {
    /// This project's own alert JSON, versioned (`"version": "1"`); documented in
    /// the crate docs. Carries the typed evidence and the source.
    #[default]
    Native,
    /// Prometheus Alertmanager's webhook payload, version 4, so anything that
    /// consumes Alertmanager webhooks consumes ours.
    Alertmanager,
}

impl std::str::FromStr for WebhookFormat {
    type Err = BuildError;
    fn from_str(s: &str) -> Result<Self, BuildError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "native" | "" => Ok(WebhookFormat::Native),
            "alertmanager" | "alertmanager-v4" | "am" => Ok(WebhookFormat::Alertmanager),
            other => Err(BuildError::invalid(
                "format",
                format!("unknown format `{other}` (expected `native` or `alertmanager`)"),
            )),
        }
    }
}

/// Configuration of a [`WebhookNotifier`](crate::WebhookNotifier).
///
/// Deserialises from config files; unknown keys are rejected. The URL and every
/// header value are [`Secret`]s: they never appear in `Debug` output, errors or
/// receipts (webhook URLs often embed a token).
///
/// ```
/// use alert_webhook::{WebhookConfig, WebhookFormat};
/// let config: WebhookConfig = serde_json::from_str(r#"{
///     "url": "https://hooks.example/alerts",
///     "format": "alertmanager",
///     "headers": {"Authorization": "Bearer s3cret"}
/// }"#).unwrap();
/// assert_eq!(config.format, WebhookFormat::Alertmanager);
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// The endpoint, `https://...` (or `http://` for local receivers).
    pub url: Secret,
    /// The body format (default `native`).
    #[serde(default)]
    pub format: WebhookFormat,
    /// Extra request headers (`Authorization`, `X-Api-Key`, ...). Values are secrets.
    /// A `Content-Type` here replaces the default `application/json`; an
    /// `Idempotency-Key`, or a name given twice in different cases, is refused.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Per-request timeout in seconds (default 10).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// The receiver name written in the body (`receiver`; default `webhook`).
    #[serde(default = "default_receiver")]
    pub receiver: String,
    /// Alertmanager format: the value of `externalURL` (default empty).
    #[serde(default)]
    pub external_url: String,
    /// Alertmanager format: the labels that form `groupLabels` and `groupKey` when all
    /// alerts of a notification share them (default `["alertname"]`).
    #[serde(default = "default_group_by")]
    pub group_by: Vec<String>,
    /// The most alerts put in one body; the rest are counted in `truncatedAlerts`
    /// (Alertmanager's `max_alerts`; 0, the default, means no limit).
    #[serde(default)]
    pub max_alerts: usize,
    /// Severity to `severity` label mapping (Alertmanager format).
    #[serde(default)]
    pub severity: WebhookSeverityMap,
}

impl WebhookConfig {
    /// A native-format configuration for `url`, with defaults for everything else.
    pub fn new(url: impl Into<Secret>) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            format: WebhookFormat::Native,
            headers: BTreeMap::new(),
            timeout_secs: default_timeout_secs(),
            receiver: default_receiver(),
            external_url: String::new(),
            group_by: default_group_by(),
            max_alerts: 0,
            severity: WebhookSeverityMap::default(),
        }
    }

    /// Sets the body format.
    pub fn with_format(mut self, format: WebhookFormat) -> WebhookConfig {
        self.format = format;
        self
    }

    /// Adds a header; its value is kept as a secret.
    pub fn with_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<Secret>,
    ) -> WebhookConfig {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Sets the per-request timeout (whole seconds, at least one).
    pub fn with_timeout(mut self, timeout: Duration) -> WebhookConfig {
        self.timeout_secs = timeout.as_secs().max(1);
        self
    }

    /// Sets the receiver name written in bodies.
    pub fn with_receiver(mut self, receiver: impl Into<String>) -> WebhookConfig {
        self.receiver = receiver.into();
        self
    }

    /// Reads [`ENV_URL`] (required), [`ENV_FORMAT`], [`ENV_HEADERS`] and
    /// [`ENV_TIMEOUT_SECS`] (optional).
    pub fn from_env() -> Result<WebhookConfig, BuildError> {
        WebhookConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](WebhookConfig::from_env), reading variables through `get`
    /// (for tests and for layered configuration).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<WebhookConfig, BuildError> {
        let url = get(ENV_URL)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| BuildError::invalid(ENV_URL, "environment variable is not set"))?;
        let mut config = WebhookConfig::new(Secret::new(url));
        if let Some(f) = get(ENV_FORMAT) {
            config.format = f.parse().map_err(|e: BuildError| match e {
                BuildError::InvalidConfig { reason, .. } => BuildError::invalid(ENV_FORMAT, reason),
                other => other,
            })?;
        }
        if let Some(h) = get(ENV_HEADERS) {
            for item in h
                .split(['\n', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                let (name, value) = item.split_once(':').ok_or_else(|| {
                    BuildError::invalid(
                        ENV_HEADERS,
                        "expected `Name: value` pairs separated by `;`",
                    )
                })?;
                config
                    .headers
                    .insert(name.trim().to_owned(), Secret::new(value.trim()));
            }
        }
        if let Some(t) = get(ENV_TIMEOUT_SECS) {
            config.timeout_secs = t.trim().parse().map_err(|_| {
                BuildError::invalid(ENV_TIMEOUT_SECS, "expected a whole number of seconds")
            })?;
        }
        Ok(config)
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}
