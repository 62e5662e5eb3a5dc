//! [`DesktopSeverityMap`]: severity to urgency and expiry.

use alert_core::Severity;
use serde::Deserialize;

/// The freedesktop urgency levels (hint `urgency`, a byte: 0, 1, 2).
///
/// Servers use urgency to pick colours, sounds and whether a notification may
/// interrupt (GNOME and KDE let critical notifications through "do not disturb").
/// On Windows, `Critical` becomes a "reminder" toast that stays until dismissed;
/// macOS's default backend has no urgency (see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DesktopUrgency {
    /// Byte 0.
    Low,
    /// Byte 1.
    Normal,
    /// Byte 2.
    Critical,
}

impl DesktopUrgency {
    /// The byte sent in the `urgency` hint: 0, 1 or 2.
    pub const fn byte(self) -> u8 {
        match self {
            DesktopUrgency::Low => 0,
            DesktopUrgency::Normal => 1,
            DesktopUrgency::Critical => 2,
        }
    }
}

/// When a notification goes away by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expire {
    /// After the configured [`timeout`](crate::DesktopConfig::timeout) (the seed's
    /// `timeout`).
    Timeout,
    /// Never: it stays until the user dismisses it (`expire_timeout` 0).
    Never,
    /// When the notification server's default says (`expire_timeout` -1).
    Default,
}

/// How one severity is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesktopLevel {
    /// The urgency hint.
    pub urgency: DesktopUrgency,
    /// When it expires.
    pub expire: Expire,
}

impl DesktopLevel {
    /// A level with this urgency and expiry.
    pub const fn new(urgency: DesktopUrgency, expire: Expire) -> DesktopLevel {
        DesktopLevel { urgency, expire }
    }
}

/// How severities (and resolutions) map to urgency and expiry. Public and
/// overridable from config (`[severity]` in the desktop section).
///
/// | alert | urgency | expires |
/// |---|---|---|
/// | `Info` | low (0) | after `timeout` |
/// | `Warning` | normal (1) | after `timeout` |
/// | `Error` | critical (2) | after `timeout` |
/// | `Critical` | critical (2) | never (until dismissed) |
/// | resolved (any severity) | low (0) | after `timeout` |
///
/// ```
/// use alert_desktop::{DesktopSeverityMap, DesktopUrgency, Expire};
/// let map: DesktopSeverityMap = toml::from_str(
///     r#"error = { urgency = "normal", expire = "timeout" }"#,
/// ).unwrap();
/// assert_eq!(map.error.urgency, DesktopUrgency::Normal);
/// assert_eq!(map.critical.expire, Expire::Never); // untouched defaults stay
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DesktopSeverityMap {
    /// For [`Severity::Info`].
    pub info: DesktopLevel,
    /// For [`Severity::Warning`].
    pub warning: DesktopLevel,
    /// For [`Severity::Error`].
    pub error: DesktopLevel,
    /// For [`Severity::Critical`].
    pub critical: DesktopLevel,
    /// For a resolution that replaces the firing notification.
    pub resolved: DesktopLevel,
}

impl Default for DesktopSeverityMap {
    fn default() -> Self {
        use DesktopUrgency::{Critical, Low, Normal};
        DesktopSeverityMap {
            info: DesktopLevel::new(Low, Expire::Timeout),
            warning: DesktopLevel::new(Normal, Expire::Timeout),
            error: DesktopLevel::new(Critical, Expire::Timeout),
            critical: DesktopLevel::new(Critical, Expire::Never),
            resolved: DesktopLevel::new(Low, Expire::Timeout),
        }
    }
}

impl DesktopSeverityMap {
    /// How a firing alert of `severity` is shown.
    pub fn level(&self, severity: Severity) -> DesktopLevel {
        match severity {
            Severity::Info => self.info,
            Severity::Warning => self.warning,
            Severity::Error => self.error,
            Severity::Critical => self.critical,
        }
    }

    /// How `alert` is shown: [`resolved`](Self::resolved) once it resolved, else by
    /// severity.
    pub fn for_alert(&self, alert: &alert_core::Alert) -> DesktopLevel {
        if alert.is_resolved() {
            self.resolved
        } else {
            self.level(alert.severity)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_documented_table() {
        let m = DesktopSeverityMap::default();
        let got: Vec<(u8, Expire)> = Severity::ALL
            .iter()
            .map(|s| {
                let l = m.level(*s);
                (l.urgency.byte(), l.expire)
            })
            .collect();
        assert_eq!(
            got,
            [
                (0, Expire::Timeout),
                (1, Expire::Timeout),
                (2, Expire::Timeout),
                (2, Expire::Never)
            ]
        );
        let resolved = alert_core::Alert::new(Severity::Critical, "x")
            .with_status(alert_core::Status::Resolved);
        assert_eq!(m.for_alert(&resolved), m.resolved);
    }

    #[test]
    fn unknown_keys_and_levels_are_rejected() {
        let e = toml::from_str::<DesktopSeverityMap>(
            r#"fatal = { urgency = "low", expire = "never" }"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `fatal`"), "{e}");
        let e = toml::from_str::<DesktopSeverityMap>(
            r#"info = { urgency = "urgent", expire = "never" }"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("urgent"), "{e}");
    }
}
