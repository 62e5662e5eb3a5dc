use std::time::Duration;

use alert_core::{BuildError, Secret};
use serde::Deserialize;

use crate::severity::{DatadogSeverityMap, ServiceCheckStatusMap};
use crate::{DatadogSite, tags};

/// The variable [`DatadogConfig::from_env`] reads the API key from (Datadog's own
/// clients and agent read the same one).
pub const ENV_API_KEY: &str = "DD_API_KEY";
/// The variable [`DatadogConfig::from_env`] reads the site from, e.g. `datadoghq.eu`
/// (optional; default `datadoghq.com`).
pub const ENV_SITE: &str = "DD_SITE";
/// The variable [`DatadogConfig::from_env`] reads the host name from (optional; the
/// Datadog agent's variable).
pub const ENV_HOSTNAME: &str = "DD_HOSTNAME";
/// The variable [`DatadogConfig::from_env`] reads extra tags from (optional;
/// `key:value` pairs separated by spaces or commas, as the Datadog agent reads it).
pub const ENV_TAGS: &str = "DD_TAGS";
/// The variable [`DatadogConfig::from_env`] reads an explicit API base URL from
/// (optional; overrides the site).
pub const ENV_BASE_URL: &str = "ALERT_DATADOG_BASE_URL";

fn default_timeout_secs() -> u64 {
    10
}

fn default_source_type_name() -> String {
    "my_apps".to_owned()
}

fn default_check() -> String {
    "ml_alerts.alert".to_owned()
}

/// Configuration of a [`DatadogNotifier`](crate::DatadogNotifier) and of
/// [`DatadogMetrics`](crate::DatadogMetrics).
///
/// Deserialises from config files; unknown keys are rejected. Only `api_key` is
/// required (TOML shown):
///
/// ```toml
/// api_key = "..."              # a Datadog API key (no application key is needed)
/// site = "datadoghq.eu"        # or "EU1"; default datadoghq.com
/// # base_url = "https://..."   # overrides site
/// host = "trainer-1"           # the event's host and the service check's host_name
/// tags = ["team:ml", "env:prod"]
/// timeout_secs = 10
///
/// [service_check]              # optional: also report each alert as a check
/// check = "ml_alerts.alert"
/// status = { info = "ok", warning = "warning", error = "critical", critical = "critical", resolved = "ok" }
/// ```
///
/// `Debug` shows neither the key nor a user name and password in `base_url`
/// (`https://**REDACTED**@proxy.internal`).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DatadogConfig {
    /// The API key, sent as the `DD-API-KEY` header. Write endpoints (events,
    /// service checks, metrics) need no application key.
    pub api_key: Secret,
    /// The Datadog site (default US1, `datadoghq.com`).
    #[serde(default)]
    pub site: DatadogSite,
    /// An explicit API base URL (a proxy, a private deployment, a test fake); when
    /// set, `site` is not used. Paths (`/api/v1/events`) are appended to it.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The host the events and checks are about (`host` / `host_name`). Datadog adds
    /// that host's tags to the event.
    #[serde(default)]
    pub host: Option<String>,
    /// The event's `source_type_name` (default `my_apps`, Datadog's value for custom
    /// applications); empty to leave it out.
    #[serde(default = "default_source_type_name")]
    pub source_type_name: String,
    /// Tags added to every event, check and metric (`key:value`, normalised).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Per-request timeout in seconds (default 10).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Severity to `alert_type` and `priority` mapping.
    #[serde(default)]
    pub severity: DatadogSeverityMap,
    /// When set, each alert is also reported as a service check.
    #[serde(default)]
    pub service_check: Option<ServiceCheckConfig>,
}

/// Reporting alerts as Datadog service checks (`POST /api/v1/check_run`).
///
/// Every alert becomes one check *instance*: the check name below plus the alert's
/// tags (`alertname`, source, labels: the same for firing and resolution), with a
/// status from [`ServiceCheckStatusMap`]. A resolution therefore turns the same
/// instance back to `OK`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServiceCheckConfig {
    /// The check name (default `ml_alerts.alert`): starts with a letter, then ASCII
    /// letters, digits, `_` and `.`.
    #[serde(default = "default_check")]
    pub check: String,
    /// The check's `host_name`, which Datadog requires; defaults to
    /// [`DatadogConfig::host`].
    #[serde(default)]
    pub host_name: Option<String>,
    /// Alert state to check status.
    #[serde(default)]
    pub status: ServiceCheckStatusMap,
}

impl Default for ServiceCheckConfig {
    fn default() -> Self {
        ServiceCheckConfig {
            check: default_check(),
            host_name: None,
            status: ServiceCheckStatusMap::default(),
        }
    }
}

impl ServiceCheckConfig {
    /// A check named `check` with the default status mapping.
    pub fn new(check: impl Into<String>) -> ServiceCheckConfig {
        ServiceCheckConfig {
            check: check.into(),
            ..ServiceCheckConfig::default()
        }
    }
    /// Sets the check's host name.
    pub fn with_host_name(mut self, host: impl Into<String>) -> Self {
        self.host_name = Some(host.into());
        self
    }
    /// Sets the status mapping.
    pub fn with_status(mut self, status: ServiceCheckStatusMap) -> Self {
        self.status = status;
        self
    }
}

impl std::fmt::Debug for DatadogConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatadogConfig")
            .field("api_key", &self.api_key)
            .field("site", &self.site)
            .field(
                "base_url",
                &self
                    .base_url
                    .as_deref()
                    .map(crate::transport::redact_userinfo),
            )
            .field("host", &self.host)
            .field("source_type_name", &self.source_type_name)
            .field("tags", &self.tags)
            .field("timeout_secs", &self.timeout_secs)
            .field("severity", &self.severity)
            .field("service_check", &self.service_check)
            .finish()
    }
}

impl DatadogConfig {
    /// A configuration for US1 with defaults for everything but the API key.
    pub fn new(api_key: impl Into<Secret>) -> DatadogConfig {
        DatadogConfig {
            api_key: api_key.into(),
            site: DatadogSite::default(),
            base_url: None,
            host: None,
            source_type_name: default_source_type_name(),
            tags: Vec::new(),
            timeout_secs: default_timeout_secs(),
            severity: DatadogSeverityMap::default(),
            service_check: None,
        }
    }

    /// Reads [`ENV_API_KEY`] (required), [`ENV_SITE`], [`ENV_HOSTNAME`], [`ENV_TAGS`]
    /// and [`ENV_BASE_URL`]. Values set in code afterwards (`with_*`) win.
    pub fn from_env() -> Result<DatadogConfig, BuildError> {
        DatadogConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read through `lookup`.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<DatadogConfig, BuildError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let key = get(ENV_API_KEY)
            .ok_or_else(|| BuildError::invalid(ENV_API_KEY, "environment variable is not set"))?;
        let mut config = DatadogConfig::new(Secret::new(key.trim()));
        if let Some(site) = get(ENV_SITE) {
            config.site = site.parse().map_err(|e| BuildError::invalid(ENV_SITE, e))?;
        }
        config.host = get(ENV_HOSTNAME).map(|h| h.trim().to_owned());
        config.base_url = get(ENV_BASE_URL).map(|u| u.trim().to_owned());
        if let Some(tags) = get(ENV_TAGS) {
            config.tags = tags
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Ok(config)
    }

    /// Sets the site.
    pub fn with_site(mut self, site: DatadogSite) -> Self {
        self.site = site;
        self
    }
    /// Sets an explicit API base URL (overrides the site).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// Sets the host.
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// Adds a tag to everything sent.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }
    /// Sets the severity mapping.
    pub fn with_severity(mut self, map: DatadogSeverityMap) -> Self {
        self.severity = map;
        self
    }
    /// Also reports alerts as service checks.
    pub fn with_service_check(mut self, check: ServiceCheckConfig) -> Self {
        self.service_check = Some(check);
        self
    }
    /// Sets the per-request timeout, in whole seconds (at least one).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_secs = timeout.as_secs().max(1);
        self
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The API base URL: [`base_url`](Self::base_url) without a trailing slash, or
    /// the site's `https://api.{site}`.
    pub fn api_base(&self) -> String {
        match &self.base_url {
            Some(u) => u.trim().trim_end_matches('/').to_owned(),
            None => self.site.api_url(),
        }
    }

    /// The configured tags, normalised; an error names the first tag that has no
    /// letters to keep.
    pub(crate) fn normalized_tags(&self) -> Result<Vec<String>, BuildError> {
        self.tags
            .iter()
            .enumerate()
            .map(|(i, t)| {
                tags::normalize_raw_tag(t).ok_or_else(|| {
                    BuildError::invalid(
                        format!("tags[{i}]"),
                        format!("{t:?} is not a usable Datadog tag (it must contain a letter)"),
                    )
                })
            })
            .collect()
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
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn from_env_reads_datadogs_variables() {
        let c = DatadogConfig::from_lookup(env(&[
            ("DD_API_KEY", " key-123 "),
            ("DD_SITE", "datadoghq.eu"),
            ("DD_HOSTNAME", "trainer-1"),
            ("DD_TAGS", "team:ml env:prod,region:eu"),
        ]))
        .unwrap();
        assert_eq!(c.api_key.expose(), "key-123");
        assert_eq!(c.site, DatadogSite::Eu1);
        assert_eq!(c.api_base(), "https://api.datadoghq.eu");
        assert_eq!(c.host.as_deref(), Some("trainer-1"));
        assert_eq!(c.tags, ["team:ml", "env:prod", "region:eu"]);

        let c = DatadogConfig::from_lookup(env(&[
            ("DD_API_KEY", "k"),
            ("ALERT_DATADOG_BASE_URL", "http://127.0.0.1:9/"),
        ]))
        .unwrap();
        assert_eq!(c.api_base(), "http://127.0.0.1:9");
        assert_eq!(c.site, DatadogSite::Us1);
    }

    #[test]
    fn from_env_names_what_is_wrong() {
        let e = DatadogConfig::from_lookup(env(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration for `DD_API_KEY`: environment variable is not set"
        );
        let e = DatadogConfig::from_lookup(env(&[("DD_API_KEY", "k"), ("DD_SITE", "datadog.com")]))
            .unwrap_err();
        assert!(
            e.to_string().starts_with(
                "invalid configuration for `DD_SITE`: unknown Datadog site \"datadog.com\""
            ),
            "{e}"
        );
    }

    #[test]
    fn config_files_deserialise_strictly() {
        let c: DatadogConfig = serde_json::from_str(
            r#"{"api_key":"k","site":"US3","tags":["a:b"],"service_check":{"status":{"info":"unknown"}}}"#,
        )
        .unwrap();
        assert_eq!(c.site, DatadogSite::Us3);
        assert_eq!(c.source_type_name, "my_apps");
        assert_eq!(c.timeout_secs, 10);
        let sc = c.service_check.unwrap();
        assert_eq!(sc.check, "ml_alerts.alert");
        assert_eq!(sc.status.info, crate::CheckStatus::Unknown);
        let e =
            serde_json::from_str::<DatadogConfig>(r#"{"api_key":"k","api_kye":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `api_kye`"), "{e}");
        let e = serde_json::from_str::<DatadogConfig>(r#"{"site":"EU"}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `api_key`"), "{e}");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let c = DatadogConfig::new("super-secret-key-value");
        assert!(!format!("{c:?}").contains("super-secret"));
    }

    #[test]
    fn debug_never_shows_userinfo_of_the_base_url() {
        let c = DatadogConfig::new("k")
            .with_base_url("https://proxy-user:proxy-pass@proxy.internal/dd")
            .with_host("trainer-1");
        let d = format!("{c:?}");
        assert!(
            !d.contains("proxy-user") && !d.contains("proxy-pass"),
            "{d}"
        );
        assert!(
            d.contains(r#"base_url: Some("https://**REDACTED**@proxy.internal/dd")"#),
            "{d}"
        );
        assert!(d.contains(r#"host: Some("trainer-1")"#), "{d}");
    }

    #[test]
    fn unusable_config_tags_are_named() {
        let c = DatadogConfig::new("k").with_tag("Team:ML").with_tag("!!");
        let e = c.normalized_tags().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid configuration for `tags[1]`"),
            "{e}"
        );
        let c = DatadogConfig::new("k").with_tag("Team:ML");
        assert_eq!(c.normalized_tags().unwrap(), ["team:ml"]);
    }
}
