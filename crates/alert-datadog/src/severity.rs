//! How severities map to Datadog's event `alert_type` and `priority`, and alert states
//! to service-check statuses.

use std::fmt;

use alert_core::{Alert, Severity, Status};
use serde::{Deserialize, Serialize};

/// An event's `alert_type`, as Datadog's v1 events API spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    /// `error`
    Error,
    /// `warning`
    Warning,
    /// `info`
    Info,
    /// `success`
    Success,
    /// `user_update`
    UserUpdate,
    /// `recommendation`
    Recommendation,
    /// `snapshot`
    Snapshot,
}

impl AlertType {
    /// The wire name (`error`, `success`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertType::Error => "error",
            AlertType::Warning => "warning",
            AlertType::Info => "info",
            AlertType::Success => "success",
            AlertType::UserUpdate => "user_update",
            AlertType::Recommendation => "recommendation",
            AlertType::Snapshot => "snapshot",
        }
    }
}

impl fmt::Display for AlertType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event's `priority`: `normal` or `low`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventPriority {
    /// `normal`
    Normal,
    /// `low`
    Low,
}

impl EventPriority {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventPriority::Normal => "normal",
            EventPriority::Low => "low",
        }
    }
}

/// The `alert_type` and `priority` an event gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLevel {
    /// The event's `alert_type`.
    pub alert_type: AlertType,
    /// The event's `priority`.
    pub priority: EventPriority,
}

impl EventLevel {
    /// A level from its two parts.
    pub const fn new(alert_type: AlertType, priority: EventPriority) -> EventLevel {
        EventLevel {
            alert_type,
            priority,
        }
    }
}

/// How alert severities map to Datadog events.
///
/// | severity | `alert_type` | `priority` |
/// |---|---|---|
/// | info | `info` | `low` |
/// | warning | `warning` | `normal` |
/// | error | `error` | `normal` |
/// | critical | `error` | `normal` |
/// | any, once resolved | `success` | the severity's priority |
///
/// Datadog has no "critical" event type, so critical and error share `error`; the
/// `severity:critical` tag keeps them apart. A resolution keeps the firing alert's
/// priority so that it shows wherever the firing event showed.
///
/// Override in config (TOML shown):
///
/// ```toml
/// [severity]
/// info = { alert_type = "info", priority = "normal" }
/// resolved = "success"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatadogSeverityMap {
    /// For [`Severity::Info`].
    pub info: EventLevel,
    /// For [`Severity::Warning`].
    pub warning: EventLevel,
    /// For [`Severity::Error`].
    pub error: EventLevel,
    /// For [`Severity::Critical`].
    pub critical: EventLevel,
    /// The `alert_type` of a resolution, whatever its severity.
    pub resolved: AlertType,
}

impl Default for DatadogSeverityMap {
    fn default() -> Self {
        DatadogSeverityMap {
            info: EventLevel::new(AlertType::Info, EventPriority::Low),
            warning: EventLevel::new(AlertType::Warning, EventPriority::Normal),
            error: EventLevel::new(AlertType::Error, EventPriority::Normal),
            critical: EventLevel::new(AlertType::Error, EventPriority::Normal),
            resolved: AlertType::Success,
        }
    }
}

impl DatadogSeverityMap {
    /// The level of a firing alert of `severity`.
    pub fn level(&self, severity: Severity) -> EventLevel {
        match severity {
            Severity::Info => self.info,
            Severity::Warning => self.warning,
            Severity::Error => self.error,
            Severity::Critical => self.critical,
        }
    }

    /// The level of `alert`: its severity's, with [`resolved`](Self::resolved) as the
    /// `alert_type` once it has resolved.
    pub fn for_alert(&self, alert: &Alert) -> EventLevel {
        let mut level = self.level(alert.severity);
        if alert.status == Status::Resolved {
            level.alert_type = self.resolved;
        }
        level
    }
}

/// A service check status, sent as its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// `0`, OK.
    #[serde(alias = "OK", alias = "Ok")]
    Ok,
    /// `1`, WARNING.
    #[serde(alias = "WARNING", alias = "Warning")]
    Warning,
    /// `2`, CRITICAL.
    #[serde(alias = "CRITICAL", alias = "Critical")]
    Critical,
    /// `3`, UNKNOWN.
    #[serde(alias = "UNKNOWN", alias = "Unknown")]
    Unknown,
}

impl CheckStatus {
    /// The number Datadog expects (`0` OK .. `3` UNKNOWN).
    pub const fn code(self) -> u8 {
        match self {
            CheckStatus::Ok => 0,
            CheckStatus::Warning => 1,
            CheckStatus::Critical => 2,
            CheckStatus::Unknown => 3,
        }
    }

    /// `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "OK",
            CheckStatus::Warning => "WARNING",
            CheckStatus::Critical => "CRITICAL",
            CheckStatus::Unknown => "UNKNOWN",
        }
    }
}

/// How alert states map to service check statuses.
///
/// | state | default status |
/// |---|---|
/// | info, firing | `OK` (an info alert reports, it does not fail a check) |
/// | warning, firing | `WARNING` |
/// | error, firing | `CRITICAL` |
/// | critical, firing | `CRITICAL` |
/// | any, resolved | `OK` |
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceCheckStatusMap {
    /// For a firing [`Severity::Info`] alert.
    pub info: CheckStatus,
    /// For a firing [`Severity::Warning`] alert.
    pub warning: CheckStatus,
    /// For a firing [`Severity::Error`] alert.
    pub error: CheckStatus,
    /// For a firing [`Severity::Critical`] alert.
    pub critical: CheckStatus,
    /// For a resolved alert.
    pub resolved: CheckStatus,
}

impl Default for ServiceCheckStatusMap {
    fn default() -> Self {
        ServiceCheckStatusMap {
            info: CheckStatus::Ok,
            warning: CheckStatus::Warning,
            error: CheckStatus::Critical,
            critical: CheckStatus::Critical,
            resolved: CheckStatus::Ok,
        }
    }
}

impl ServiceCheckStatusMap {
    /// The status for `alert`.
    pub fn status(&self, alert: &Alert) -> CheckStatus {
        if alert.status == Status::Resolved {
            return self.resolved;
        }
        match alert.severity {
            Severity::Info => self.info,
            Severity::Warning => self.warning,
            Severity::Error => self.error,
            Severity::Critical => self.critical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Timestamp;

    #[test]
    fn defaults_follow_the_documented_table() {
        let m = DatadogSeverityMap::default();
        let got: Vec<(&str, &str)> = Severity::ALL
            .iter()
            .map(|s| {
                let l = m.level(*s);
                (l.alert_type.as_str(), l.priority.as_str())
            })
            .collect();
        assert_eq!(
            got,
            [
                ("info", "low"),
                ("warning", "normal"),
                ("error", "normal"),
                ("error", "normal")
            ]
        );
        let resolved = Alert::new(Severity::Info, "x").resolved_at(Timestamp::UNIX_EPOCH);
        assert_eq!(
            m.for_alert(&resolved),
            EventLevel::new(AlertType::Success, EventPriority::Low)
        );
    }

    #[test]
    fn overrides_from_config_and_unknown_keys_refused() {
        let m: DatadogSeverityMap = serde_json::from_str(
            r#"{"info":{"alert_type":"user_update","priority":"normal"},"resolved":"info"}"#,
        )
        .unwrap();
        assert_eq!(
            m.info,
            EventLevel::new(AlertType::UserUpdate, EventPriority::Normal)
        );
        assert_eq!(m.resolved, AlertType::Info);
        assert_eq!(m.error, DatadogSeverityMap::default().error);
        let e = serde_json::from_str::<DatadogSeverityMap>(r#"{"fatal":{}}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `fatal`"), "{e}");
        let e = serde_json::from_str::<EventLevel>(r#"{"alert_type":"page","priority":"low"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown variant `page`"), "{e}");
    }

    #[test]
    fn check_statuses() {
        let m = ServiceCheckStatusMap::default();
        let firing = |s| m.status(&Alert::new(s, "x")).code();
        assert_eq!(
            Severity::ALL.map(firing),
            [0, 1, 2, 2],
            "info OK, warning WARNING, error/critical CRITICAL"
        );
        let resolved = Alert::new(Severity::Critical, "x").resolved_at(Timestamp::UNIX_EPOCH);
        assert_eq!(m.status(&resolved), CheckStatus::Ok);
        let m: ServiceCheckStatusMap =
            serde_json::from_str(r#"{"info":"UNKNOWN","warning":"critical"}"#).unwrap();
        assert_eq!(m.info, CheckStatus::Unknown);
        assert_eq!(m.warning, CheckStatus::Critical);
    }
}
