//! [`DesktopConfig`] and its parts.

use std::time::Duration;

use alert_core::BuildError;
use serde::Deserialize;

use crate::DesktopSeverityMap;

/// The variable [`DesktopConfig::from_env`] reads [`enable`](DesktopConfig::enable)
/// from (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`).
pub const ENV_ENABLE: &str = "ALERT_DESKTOP_ENABLE";
/// The variable [`DesktopConfig::from_env`] reads [`app_name`](DesktopConfig::app_name)
/// from.
pub const ENV_APP_NAME: &str = "ALERT_DESKTOP_APP_NAME";
/// The variable [`DesktopConfig::from_env`] reads [`timeout`](DesktopConfig::timeout)
/// (whole seconds) from.
pub const ENV_TIMEOUT: &str = "ALERT_DESKTOP_TIMEOUT";
/// The variable [`DesktopConfig::from_env`] reads [`fallback`](DesktopConfig::fallback)
/// (`none` or `console`) from.
pub const ENV_FALLBACK: &str = "ALERT_DESKTOP_FALLBACK";

/// The longest timeout the wire format can carry (`expire_timeout` is an `i32` of
/// milliseconds): 2,147,483 seconds, about 24.8 days.
pub const MAX_TIMEOUT_SECS: u32 = (i32::MAX / 1000) as u32;

/// What to do when there is no notification server (no session bus, no daemon on
/// it, or a platform without desktop notifications).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fallback {
    /// Fail with the error that says what is missing (see the crate docs, "No
    /// notification server").
    #[default]
    None,
    /// Print `[app] title: message` on standard output instead (as the seed's
    /// service does), log once that the desktop is unavailable, and succeed.
    Console,
}

impl std::str::FromStr for Fallback {
    type Err = String;
    fn from_str(s: &str) -> Result<Fallback, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Fallback::None),
            "console" => Ok(Fallback::Console),
            other => Err(format!("expected `none` or `console`, got `{other}`")),
        }
    }
}

/// What a resolution does to the firing notification it follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnResolve {
    /// Replace it in place (`replaces_id`) with a "resolved" notification.
    #[default]
    Replace,
    /// Close it (`CloseNotification`); nothing new is shown.
    Close,
}

/// Icons per severity: freedesktop icon names (`dialog-error`) or absolute paths
/// (`file:///…` or `/…`). An empty string sends no icon. macOS ignores icons.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DesktopIcons {
    /// For `Info` (default `dialog-information`).
    pub info: String,
    /// For `Warning` (default `dialog-warning`).
    pub warning: String,
    /// For `Error` (default `dialog-error`).
    pub error: String,
    /// For `Critical` (default `dialog-error`).
    pub critical: String,
    /// For resolutions (default `emblem-default`).
    pub resolved: String,
}

impl Default for DesktopIcons {
    fn default() -> Self {
        DesktopIcons {
            info: "dialog-information".into(),
            warning: "dialog-warning".into(),
            error: "dialog-error".into(),
            critical: "dialog-error".into(),
            resolved: "emblem-default".into(),
        }
    }
}

impl DesktopIcons {
    /// The icon for `alert`: [`resolved`](Self::resolved) once it resolved, else by
    /// severity.
    pub fn for_alert(&self, alert: &alert_core::Alert) -> &str {
        use alert_core::Severity;
        if alert.is_resolved() {
            return &self.resolved;
        }
        match alert.severity {
            Severity::Info => &self.info,
            Severity::Warning => &self.warning,
            Severity::Error => &self.error,
            Severity::Critical => &self.critical,
        }
    }
}

fn default_app_name() -> String {
    "ml-alerts".to_owned()
}

/// Configuration of a [`DesktopNotifier`](crate::DesktopNotifier).
///
/// Every key is optional; unknown keys are rejected. The first three are the seed's
/// `AlertsService(enable, app_name, timeout)`:
///
/// ```
/// use alert_desktop::{DesktopConfig, Fallback, OnResolve};
/// let config: DesktopConfig = toml::from_str(r#"
///     enable = true
///     app_name = "Bikes"
///     timeout = 5              # seconds, for everything but Critical
///     fallback = "console"     # no desktop: print "[Bikes] title: message"
///     actions = true           # "Open runbook" button where the server has actions
///     on_resolve = "replace"   # or "close"
///     [icons]
///     critical = "/usr/share/icons/bikes-down.png"
///     [severity]
///     error = { urgency = "critical", expire = "never" }
/// "#).unwrap();
/// assert_eq!(config.timeout, 5);
/// assert_eq!(config.fallback, Fallback::Console);
/// assert_eq!(config.on_resolve, OnResolve::Replace);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DesktopConfig {
    /// Whether to show notifications at all (default `true`). The seed's switch for
    /// production: `false` shows nothing and each send succeeds with a receipt whose
    /// `meta["skipped"]` is `"disabled"` (with [`Fallback::Console`], the console
    /// line is still printed, as the seed's service does).
    pub enable: bool,
    /// The application name the server shows (default `ml-alerts`).
    pub app_name: String,
    /// Seconds before a notification whose level says [`Expire::Timeout`](crate::Expire)
    /// goes away (default 5, the seed's example; 0 means never).
    pub timeout: u32,
    /// Icons per severity.
    pub icons: DesktopIcons,
    /// What to do without a notification server (default [`Fallback::None`]).
    pub fallback: Fallback,
    /// Whether to offer an "Open runbook" action when the alert has an `http(s)`
    /// runbook link and the server advertises `actions` (default `true`).
    pub actions: bool,
    /// What a resolution does (default [`OnResolve::Replace`]).
    pub on_resolve: OnResolve,
    /// Urgency and expiry per severity.
    pub severity: DesktopSeverityMap,
}

impl Default for DesktopConfig {
    fn default() -> Self {
        DesktopConfig {
            enable: true,
            app_name: default_app_name(),
            timeout: 5,
            icons: DesktopIcons::default(),
            fallback: Fallback::None,
            actions: true,
            on_resolve: OnResolve::Replace,
            severity: DesktopSeverityMap::default(),
        }
    }
}

fn parse_bool(var: &str, v: &str) -> Result<bool, BuildError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(BuildError::invalid(
            var,
            format!("expected true or false, got `{other}`"),
        )),
    }
}

impl DesktopConfig {
    /// The defaults, with `app_name`.
    pub fn new(app_name: impl Into<String>) -> DesktopConfig {
        DesktopConfig {
            app_name: app_name.into(),
            ..DesktopConfig::default()
        }
    }

    /// The defaults, overridden by [`ENV_ENABLE`], [`ENV_APP_NAME`], [`ENV_TIMEOUT`]
    /// and [`ENV_FALLBACK`] where they are set. A set but invalid variable is an
    /// error that names it.
    pub fn from_env() -> Result<DesktopConfig, BuildError> {
        DesktopConfig::default().with_env_from(|k| std::env::var(k).ok())
    }

    /// Overrides this configuration with the variables `lookup` returns (the
    /// testable core of [`from_env`](Self::from_env)).
    pub fn with_env_from(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<DesktopConfig, BuildError> {
        if let Some(v) = lookup(ENV_ENABLE) {
            self.enable = parse_bool(ENV_ENABLE, &v)?;
        }
        if let Some(v) = lookup(ENV_APP_NAME) {
            self.app_name = v;
        }
        if let Some(v) = lookup(ENV_TIMEOUT) {
            self.timeout = v.trim().parse().map_err(|_| {
                BuildError::invalid(
                    ENV_TIMEOUT,
                    format!("expected whole seconds, got `{}`", v.trim()),
                )
            })?;
        }
        if let Some(v) = lookup(ENV_FALLBACK) {
            self.fallback = v
                .parse()
                .map_err(|e| BuildError::invalid(ENV_FALLBACK, e))?;
        }
        Ok(self)
    }

    /// Sets [`enable`](Self::enable).
    pub fn with_enable(mut self, enable: bool) -> Self {
        self.enable = enable;
        self
    }
    /// Sets [`timeout`](Self::timeout) in seconds.
    pub fn with_timeout(mut self, seconds: u32) -> Self {
        self.timeout = seconds;
        self
    }
    /// Sets [`fallback`](Self::fallback).
    pub fn with_fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = fallback;
        self
    }
    /// Sets [`actions`](Self::actions).
    pub fn with_actions(mut self, actions: bool) -> Self {
        self.actions = actions;
        self
    }
    /// Sets [`on_resolve`](Self::on_resolve).
    pub fn with_on_resolve(mut self, on_resolve: OnResolve) -> Self {
        self.on_resolve = on_resolve;
        self
    }
    /// Sets [`severity`](Self::severity).
    pub fn with_severity(mut self, severity: DesktopSeverityMap) -> Self {
        self.severity = severity;
        self
    }
    /// Sets [`icons`](Self::icons).
    pub fn with_icons(mut self, icons: DesktopIcons) -> Self {
        self.icons = icons;
        self
    }

    /// [`timeout`](Self::timeout) as a duration.
    pub fn timeout_duration(&self) -> Duration {
        Duration::from_secs(u64::from(self.timeout))
    }

    /// Checks every value; [`DesktopNotifier::new`](crate::DesktopNotifier::new) calls it.
    pub fn validate(&self) -> Result<(), BuildError> {
        let name = self.app_name.trim();
        if name.is_empty() {
            return Err(BuildError::invalid("app_name", "must not be empty"));
        }
        if name.chars().count() > 256 {
            return Err(BuildError::invalid(
                "app_name",
                "must be at most 256 characters",
            ));
        }
        if self.app_name.chars().any(char::is_control) {
            return Err(BuildError::invalid(
                "app_name",
                "must not contain control characters",
            ));
        }
        if self.timeout > MAX_TIMEOUT_SECS {
            return Err(BuildError::invalid(
                "timeout",
                format!(
                    "{} seconds is more than the {MAX_TIMEOUT_SECS} the wire format can carry",
                    self.timeout
                ),
            ));
        }
        let icons = [
            ("icons.info", &self.icons.info),
            ("icons.warning", &self.icons.warning),
            ("icons.error", &self.icons.error),
            ("icons.critical", &self.icons.critical),
            ("icons.resolved", &self.icons.resolved),
        ];
        for (field, icon) in icons {
            if icon.chars().any(char::is_control) {
                return Err(BuildError::invalid(
                    field,
                    "must not contain control characters",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn env_overrides_and_names_bad_variables() {
        let c = DesktopConfig::default()
            .with_env_from(env(&[
                (ENV_ENABLE, "off"),
                (ENV_APP_NAME, "Bikes"),
                (ENV_TIMEOUT, " 12 "),
                (ENV_FALLBACK, "Console"),
            ]))
            .unwrap();
        assert!(!c.enable);
        assert_eq!(c.app_name, "Bikes");
        assert_eq!(c.timeout, 12);
        assert_eq!(c.fallback, Fallback::Console);

        let untouched = DesktopConfig::new("x").with_env_from(env(&[])).unwrap();
        assert_eq!(untouched, DesktopConfig::new("x"));

        for (var, value, needle) in [
            (ENV_ENABLE, "maybe", "maybe"),
            (ENV_TIMEOUT, "5s", "5s"),
            (ENV_FALLBACK, "popup", "popup"),
        ] {
            let e = DesktopConfig::default()
                .with_env_from(env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(var) && e.contains(needle), "{e}");
        }
    }

    #[test]
    fn toml_defaults_unknown_keys_and_validation() {
        let c: DesktopConfig = toml::from_str("").unwrap();
        assert_eq!(c, DesktopConfig::default());
        assert!(c.enable && c.actions);
        assert_eq!(c.app_name, "ml-alerts");
        let e = toml::from_str::<DesktopConfig>("app_nmae = \"x\"").unwrap_err();
        assert!(e.to_string().contains("unknown field `app_nmae`"), "{e}");
        let e = toml::from_str::<DesktopConfig>("fallback = \"popup\"").unwrap_err();
        assert!(e.to_string().contains("popup"), "{e}");

        for (c, field) in [
            (DesktopConfig::new("  "), "app_name"),
            (DesktopConfig::new("a\u{1b}[31m"), "app_name"),
            (
                DesktopConfig::new("ok").with_timeout(MAX_TIMEOUT_SECS + 1),
                "timeout",
            ),
            (
                DesktopConfig::new("ok").with_icons(DesktopIcons {
                    error: "x\ny".into(),
                    ..DesktopIcons::default()
                }),
                "icons.error",
            ),
        ] {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
        assert!(
            DesktopConfig::new("ok")
                .with_timeout(MAX_TIMEOUT_SECS)
                .validate()
                .is_ok()
        );
    }
}
