//! [`StatuspalConfig`]: everything a [`StatuspalNotifier`](crate::StatuspalNotifier) needs.

use std::collections::BTreeMap;
use std::time::Duration;

use alert_core::{BuildError, Secret};
use serde::Deserialize;

use crate::assumptions::{PUBLIC_SITE_EU, PUBLIC_SITE_US, StatuspalApi};
use crate::client::redact_userinfo;
use crate::{StatuspalSeverityMap, StatuspalTemplates};

/// The variable [`StatuspalConfig::from_env`] reads the API key from (required).
pub const ENV_API_KEY: &str = "ALERT_STATUSPAL_API_KEY";
/// The variable [`StatuspalConfig::from_env`] reads the status page subdomain from
/// (required).
pub const ENV_SUBDOMAIN: &str = "ALERT_STATUSPAL_SUBDOMAIN";
/// The variable [`StatuspalConfig::from_env`] reads the region from (optional, `US`
/// or `EU`, default `US`).
pub const ENV_REGION: &str = "ALERT_STATUSPAL_REGION";
/// The variable [`StatuspalConfig::from_env`] reads a base-URL override from
/// (optional, e.g. a proxy or a test server).
pub const ENV_BASE_URL: &str = "ALERT_STATUSPAL_BASE_URL";
/// The variable [`StatuspalConfig::from_env`] reads the service mapping from
/// (optional): entries separated by `;`, each `label=value:id,id`, e.g.
/// `service=checkout:42,43;service=search:7`.
pub const ENV_SERVICES: &str = "ALERT_STATUSPAL_SERVICES";
/// The variable [`StatuspalConfig::from_env`] reads the default service ids from
/// (optional, comma-separated, e.g. `1,2`).
pub const ENV_DEFAULT_SERVICES: &str = "ALERT_STATUSPAL_DEFAULT_SERVICES";

/// The Statuspal region that hosts the status page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
pub enum Region {
    /// `https://statuspal.io/api/v2` (the default).
    #[default]
    #[serde(rename = "US", alias = "us")]
    Us,
    /// `https://statuspal.eu/api/v2`.
    #[serde(rename = "EU", alias = "eu")]
    Eu,
}

impl Region {
    /// The API base URL of the region (official API reference).
    pub const fn api_base(self) -> &'static str {
        match self {
            Region::Us => "https://statuspal.io/api/v2",
            Region::Eu => "https://statuspal.eu/api/v2",
        }
    }

    /// The public site of the region, for incident links (assumed; see
    /// [`assumptions`](crate::assumptions)).
    pub const fn public_site(self) -> &'static str {
        match self {
            Region::Us => PUBLIC_SITE_US,
            Region::Eu => PUBLIC_SITE_EU,
        }
    }

    fn parse(s: &str) -> Option<Region> {
        match s.trim().to_ascii_uppercase().as_str() {
            "US" => Some(Region::Us),
            "EU" => Some(Region::Eu),
            _ => None,
        }
    }
}

fn default_timeout_secs() -> u64 {
    10
}

fn default_lookup_max_pages() -> u32 {
    50
}

fn default_relist_interval_secs() -> u64 {
    60
}

/// Configuration of a [`StatuspalNotifier`](crate::StatuspalNotifier).
///
/// Deserialises from config files; unknown keys are rejected. In TOML:
///
/// ```toml
/// api_key = "..."                 # Authorization: <key> (no Bearer)
/// subdomain = "acme"              # the status page's subdomain
/// region = "EU"                   # US (default) or EU
/// # base_url = "https://proxy.internal/statuspal/api/v2"
/// # public_url = "https://status.acme.com"   # for incident links in receipts
/// default_services = [1]          # when no label matches
/// severity = { warning = "minor" }
///
/// [services]                      # label=value -> affected service ids
/// "service=checkout" = [42]
/// "service=search" = [7, 8]
///
/// [templates]                     # customer-facing text (see StatuspalTemplates)
/// title = "{summary}"
/// ```
///
/// `Debug` shows neither the key nor a user name or password in `base_url` or
/// `public_url` (`https://**REDACTED**@proxy.internal/...`).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StatuspalConfig {
    /// The API key, sent as `Authorization: <key>` (no `Bearer` prefix).
    pub api_key: Secret,
    /// The status page's subdomain (status page settings, "Domain name").
    pub subdomain: String,
    /// The region (default US).
    #[serde(default)]
    pub region: Region,
    /// Overrides the region's API base URL (proxies, tests). Must end in the API
    /// version path, e.g. `http://127.0.0.1:8080/api/v2`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The public URL of the status page (a custom domain), for incident links in
    /// receipts. Default: `https://statuspal.io/{subdomain}` (or `.eu`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// Which services an alert affects: keys are `label=value` selectors, values
    /// Statuspal service ids. An alert affects the union of every matching entry.
    #[serde(default)]
    pub services: BTreeMap<String, Vec<u64>>,
    /// The services affected when no entry of `services` matches (may be empty: the
    /// incident then names no service).
    #[serde(default)]
    pub default_services: Vec<u64>,
    /// Severity to incident type.
    #[serde(default)]
    pub severity: StatuspalSeverityMap,
    /// The customer-facing texts.
    #[serde(default)]
    pub templates: StatuspalTemplates,
    /// Whether Statuspal should notify the page's subscribers of new incidents and
    /// updates. Unset (the default) leaves it to the status page's own setting.
    #[serde(default)]
    pub notify_subscribers: Option<bool>,
    /// Per-request timeout in seconds (default 10).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// How many pages of incidents a lookup reads at most (default 50, i.e. 5,000
    /// incidents at 100 per page).
    #[serde(default = "default_lookup_max_pages")]
    pub lookup_max_pages: u32,
    /// After a complete lookup, misses within this many seconds trust the in-memory
    /// map instead of listing again (default 60; 0 lists on every miss). Incidents
    /// another instance opens on the same page meanwhile are not seen.
    #[serde(default = "default_relist_interval_secs")]
    pub relist_interval_secs: u64,
    /// Unconfirmed wire details, overridable (see [`assumptions`](crate::assumptions)).
    #[serde(default)]
    pub api: StatuspalApi,
}

impl std::fmt::Debug for StatuspalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatuspalConfig")
            .field("api_key", &self.api_key)
            .field("subdomain", &self.subdomain)
            .field("region", &self.region)
            .field("base_url", &self.base_url.as_deref().map(redact_userinfo))
            .field(
                "public_url",
                &self.public_url.as_deref().map(redact_userinfo),
            )
            .field("services", &self.services)
            .field("default_services", &self.default_services)
            .field("severity", &self.severity)
            .field("templates", &self.templates)
            .field("notify_subscribers", &self.notify_subscribers)
            .field("timeout_secs", &self.timeout_secs)
            .field("lookup_max_pages", &self.lookup_max_pages)
            .field("relist_interval_secs", &self.relist_interval_secs)
            .field("api", &self.api)
            .finish()
    }
}

impl StatuspalConfig {
    /// A configuration with defaults for everything but the key and the subdomain.
    pub fn new(api_key: impl Into<Secret>, subdomain: impl Into<String>) -> StatuspalConfig {
        StatuspalConfig {
            api_key: api_key.into(),
            subdomain: subdomain.into(),
            region: Region::default(),
            base_url: None,
            public_url: None,
            services: BTreeMap::new(),
            default_services: Vec::new(),
            severity: StatuspalSeverityMap::default(),
            templates: StatuspalTemplates::default(),
            notify_subscribers: None,
            timeout_secs: default_timeout_secs(),
            lookup_max_pages: default_lookup_max_pages(),
            relist_interval_secs: default_relist_interval_secs(),
            api: StatuspalApi::default(),
        }
    }

    /// Sets the region.
    pub fn with_region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// Overrides the API base URL.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the public status page URL used in receipts.
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Maps alerts whose label matches `selector` (`label=value`) to `service_ids`.
    pub fn with_services(
        mut self,
        selector: impl Into<String>,
        service_ids: impl IntoIterator<Item = u64>,
    ) -> Self {
        self.services
            .entry(selector.into())
            .or_default()
            .extend(service_ids);
        self
    }

    /// Sets the services affected when no selector matches.
    pub fn with_default_services(mut self, service_ids: impl IntoIterator<Item = u64>) -> Self {
        self.default_services = service_ids.into_iter().collect();
        self
    }

    /// Sets the severity mapping.
    pub fn with_severity(mut self, map: StatuspalSeverityMap) -> Self {
        self.severity = map;
        self
    }

    /// Sets the customer-facing templates.
    pub fn with_templates(mut self, templates: StatuspalTemplates) -> Self {
        self.templates = templates;
        self
    }

    /// Sets whether subscribers are notified.
    pub fn with_notify_subscribers(mut self, notify: bool) -> Self {
        self.notify_subscribers = Some(notify);
        self
    }

    /// Sets how long a complete lookup is trusted (see `relist_interval_secs`).
    pub fn with_relist_interval(mut self, d: Duration) -> Self {
        self.relist_interval_secs = d.as_secs();
        self
    }

    /// Reads [`ENV_API_KEY`], [`ENV_SUBDOMAIN`] and the optional [`ENV_REGION`],
    /// [`ENV_BASE_URL`], [`ENV_SERVICES`] and [`ENV_DEFAULT_SERVICES`]. Errors name
    /// the variable.
    pub fn from_env() -> Result<StatuspalConfig, BuildError> {
        StatuspalConfig::from_lookup(|k| std::env::var(k).ok())
    }

    pub(crate) fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<StatuspalConfig, BuildError> {
        let required = |var: &str| {
            get(var)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| BuildError::invalid(var, "environment variable is not set"))
        };
        let mut c = StatuspalConfig::new(
            Secret::new(required(ENV_API_KEY)?),
            required(ENV_SUBDOMAIN)?.trim(),
        );
        if let Some(r) = get(ENV_REGION).filter(|v| !v.trim().is_empty()) {
            c.region = Region::parse(&r)
                .ok_or_else(|| BuildError::invalid(ENV_REGION, format!("{r:?} is not US or EU")))?;
        }
        if let Some(u) = get(ENV_BASE_URL).filter(|v| !v.trim().is_empty()) {
            c.base_url = Some(u.trim().to_owned());
        }
        if let Some(s) = get(ENV_SERVICES) {
            for entry in s.split(';').map(str::trim).filter(|e| !e.is_empty()) {
                let (selector, ids) = entry.rsplit_once(':').ok_or_else(|| {
                    BuildError::invalid(
                        ENV_SERVICES,
                        format!("entry {entry:?} is not `label=value:id,id`"),
                    )
                })?;
                let ids = parse_ids(ENV_SERVICES, ids)?;
                c = c.with_services(selector.trim(), ids);
            }
        }
        if let Some(s) = get(ENV_DEFAULT_SERVICES) {
            c.default_services = parse_ids(ENV_DEFAULT_SERVICES, &s)?;
        }
        Ok(c)
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The API base URL in use: `base_url`, or the region's.
    pub fn api_base(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(self.region.api_base())
            .trim_end_matches('/')
    }
}

fn parse_ids(var: &str, s: &str) -> Result<Vec<u64>, BuildError> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse::<u64>().map_err(|_| {
                BuildError::invalid(
                    var,
                    format!("{x:?} is not a service id (a positive integer)"),
                )
            })
        })
        .collect()
}

/// A parsed `label=value` selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Selector {
    pub(crate) label: String,
    pub(crate) value: String,
    pub(crate) ids: Vec<u64>,
}

pub(crate) fn parse_selectors(
    services: &BTreeMap<String, Vec<u64>>,
) -> Result<Vec<Selector>, BuildError> {
    services
        .iter()
        .map(|(k, ids)| {
            let field = format!("services.{k:?}");
            let (label, value) = k.split_once('=').ok_or_else(|| {
                BuildError::invalid(
                    &field,
                    "a selector must be `label=value`, e.g. `service=checkout`",
                )
            })?;
            let label = label.trim();
            if label.is_empty() {
                return Err(BuildError::invalid(&field, "the label name is empty"));
            }
            if ids.is_empty() {
                return Err(BuildError::invalid(&field, "lists no service id"));
            }
            Ok(Selector {
                label: label.to_owned(),
                value: value.trim().to_owned(),
                ids: ids.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_config_file_shape() {
        let c: StatuspalConfig = serde_json::from_str(
            r#"{"api_key":"k-123456","subdomain":"acme","region":"EU",
                "services":{"service=checkout":[42]},"default_services":[1],
                "severity":{"warning":"minor"},"templates":{"title":"{name}"},
                "api":{"update_wrapper":""}}"#,
        )
        .unwrap();
        assert_eq!(c.region, Region::Eu);
        assert_eq!(c.api_base(), "https://statuspal.eu/api/v2");
        assert_eq!(c.services["service=checkout"], vec![42]);
        assert_eq!(c.templates.title, "{name}");
        assert_eq!(c.timeout_secs, 10);
        assert_eq!(c.api.update_wrapper, "");
        let lower: StatuspalConfig =
            serde_json::from_str(r#"{"api_key":"k","subdomain":"a","region":"us"}"#).unwrap();
        assert_eq!(lower.region, Region::Us);
        let e = serde_json::from_str::<StatuspalConfig>(
            r#"{"api_key":"k","subdomain":"a","regoin":"EU"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `regoin`"), "{e}");
        assert!(!format!("{c:?}").contains("k-123456"));
    }

    #[test]
    fn debug_redacts_the_key_and_userinfo() {
        let c = StatuspalConfig::new("k-s3cret-123456", "acme")
            .with_base_url("https://proxy-user:proxy-pass@proxy.internal/api/v2")
            .with_public_url("https://status.acme.com");
        let d = format!("{c:?}");
        for secret in ["k-s3cret-123456", "proxy-user", "proxy-pass"] {
            assert!(!d.contains(secret), "{d}");
        }
        assert!(
            d.contains(r#"base_url: Some("https://**REDACTED**@proxy.internal/api/v2")"#),
            "{d}"
        );
        assert!(d.contains("https://status.acme.com"), "{d}");
        assert!(d.contains("subdomain: \"acme\""), "{d}");
    }

    #[test]
    fn from_env_reads_every_variable_and_names_bad_ones() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let c = StatuspalConfig::from_lookup(env(&[
            (ENV_API_KEY, "key-1"),
            (ENV_SUBDOMAIN, " acme "),
            (ENV_REGION, "eu"),
            (ENV_BASE_URL, "http://127.0.0.1:9/api/v2"),
            (ENV_SERVICES, "service=checkout:42,43; service=search:7"),
            (ENV_DEFAULT_SERVICES, "1, 2"),
        ]))
        .unwrap();
        assert_eq!(c.api_key.expose(), "key-1");
        assert_eq!(c.subdomain, "acme");
        assert_eq!(c.region, Region::Eu);
        assert_eq!(c.api_base(), "http://127.0.0.1:9/api/v2");
        assert_eq!(c.services["service=checkout"], vec![42, 43]);
        assert_eq!(c.services["service=search"], vec![7]);
        assert_eq!(c.default_services, vec![1, 2]);

        let e = StatuspalConfig::from_lookup(env(&[(ENV_SUBDOMAIN, "a")])).unwrap_err();
        assert!(e.to_string().contains(ENV_API_KEY), "{e}");
        let e = StatuspalConfig::from_lookup(env(&[
            (ENV_API_KEY, "k"),
            (ENV_SUBDOMAIN, "a"),
            (ENV_REGION, "APAC"),
        ]))
        .unwrap_err();
        assert!(
            e.to_string().contains(ENV_REGION) && e.to_string().contains("APAC"),
            "{e}"
        );
        let e = StatuspalConfig::from_lookup(env(&[
            (ENV_API_KEY, "k"),
            (ENV_SUBDOMAIN, "a"),
            (ENV_SERVICES, "service=checkout:forty-two"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("forty-two"), "{e}");
    }

    #[test]
    fn selectors_parse_and_name_bad_entries() {
        let c = StatuspalConfig::new("k", "a")
            .with_services("service=checkout", [42])
            .with_services(" team = ml ", [7]);
        let s = parse_selectors(&c.services).unwrap();
        let team = s.iter().find(|x| x.label == "team").expect("trimmed label");
        assert_eq!(team.value, "ml");
        assert_eq!(team.ids, vec![7]);
        assert!(
            s.iter()
                .any(|x| x.label == "service" && x.value == "checkout")
        );
        let bad = StatuspalConfig::new("k", "a").with_services("checkout", [1]);
        let e = parse_selectors(&bad.services).unwrap_err().to_string();
        assert!(e.contains("checkout") && e.contains("label=value"), "{e}");
        let bad = StatuspalConfig::new("k", "a").with_services("service=x", []);
        assert!(
            parse_selectors(&bad.services)
                .unwrap_err()
                .to_string()
                .contains("no service id")
        );
    }
}
