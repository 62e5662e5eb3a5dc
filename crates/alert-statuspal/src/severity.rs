//! How alert severities map to Statuspal incident types.

use std::fmt;

use alert_core::Severity;
use serde::Deserialize;

/// What an alert does to the status page: nothing, a minor incident or a major one.
///
/// Ordered `None < Minor < Major`; a move up is an escalation, a move down a
/// de-escalation. `Minor` and `Major` are Statuspal's incident `type` values
/// (`"minor"`, `"major"`); `None` means "do not publish".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatuspalImpact {
    /// Not published: the alert never touches the status page.
    None,
    /// A minor incident (Statuspal type `minor`: degraded service).
    Minor,
    /// A major incident (Statuspal type `major`: outage).
    Major,
}

impl StatuspalImpact {
    /// The incident `type` sent to Statuspal, or `None` when not published.
    pub const fn incident_type(self) -> Option<&'static str> {
        match self {
            StatuspalImpact::None => None,
            StatuspalImpact::Minor => Some("minor"),
            StatuspalImpact::Major => Some("major"),
        }
    }

    /// Parses a Statuspal incident `type` (`minor`, `major`); anything else
    /// (`scheduled`, custom types) is `None`.
    pub fn from_incident_type(t: &str) -> Option<StatuspalImpact> {
        match t {
            "minor" => Some(StatuspalImpact::Minor),
            "major" => Some(StatuspalImpact::Major),
            _ => None,
        }
    }
}

impl fmt::Display for StatuspalImpact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.incident_type().unwrap_or("none"))
    }
}

/// How each [`Severity`] maps to a [`StatuspalImpact`].
///
/// A status page is for customers, so by default only the two top severities
/// publish anything:
///
/// | severity | default impact | what happens |
/// |---|---|---|
/// | `critical` | `major` | a major incident |
/// | `error` | `minor` | a minor incident |
/// | `warning` | `none` | nothing is sent while firing; `notify` returns `Ok` with `meta["skipped"]` |
/// | `info` | `none` | same |
///
/// The mapping applies to firing alerts. A resolution is processed whatever its
/// severity: an incident opened at `critical`, whose alert then fired again at
/// `warning`, is still closed when the alert resolves.
///
/// Override in config (`severity = { warning = "minor" }`) or in code.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatuspalSeverityMap {
    /// Impact of [`Severity::Info`] (default `none`).
    pub info: StatuspalImpact,
    /// Impact of [`Severity::Warning`] (default `none`).
    pub warning: StatuspalImpact,
    /// Impact of [`Severity::Error`] (default `minor`).
    pub error: StatuspalImpact,
    /// Impact of [`Severity::Critical`] (default `major`).
    pub critical: StatuspalImpact,
}

impl Default for StatuspalSeverityMap {
    fn default() -> Self {
        StatuspalSeverityMap {
            info: StatuspalImpact::None,
            warning: StatuspalImpact::None,
            error: StatuspalImpact::Minor,
            critical: StatuspalImpact::Major,
        }
    }
}

impl StatuspalSeverityMap {
    /// A map that publishes every severity: info, warning and error as `minor`,
    /// critical as `major`. Useful for internal status pages and test runs.
    pub fn publish_all() -> StatuspalSeverityMap {
        StatuspalSeverityMap {
            info: StatuspalImpact::Minor,
            warning: StatuspalImpact::Minor,
            error: StatuspalImpact::Minor,
            critical: StatuspalImpact::Major,
        }
    }

    /// The impact of `severity`.
    pub fn impact(&self, severity: Severity) -> StatuspalImpact {
        match severity {
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

    #[test]
    fn defaults_publish_only_error_and_critical() {
        let m = StatuspalSeverityMap::default();
        assert_eq!(m.impact(Severity::Critical), StatuspalImpact::Major);
        assert_eq!(m.impact(Severity::Error), StatuspalImpact::Minor);
        assert_eq!(m.impact(Severity::Warning), StatuspalImpact::None);
        assert_eq!(m.impact(Severity::Info), StatuspalImpact::None);
        assert!(StatuspalImpact::Major > StatuspalImpact::Minor);
        assert!(StatuspalImpact::Minor > StatuspalImpact::None);
    }

    #[test]
    fn config_overrides_single_fields_and_rejects_unknown_ones() {
        let m: StatuspalSeverityMap = serde_json::from_str(r#"{"warning":"minor"}"#).unwrap();
        assert_eq!(m.impact(Severity::Warning), StatuspalImpact::Minor);
        assert_eq!(m.impact(Severity::Critical), StatuspalImpact::Major);
        let e = serde_json::from_str::<StatuspalSeverityMap>(r#"{"warn":"minor"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `warn`"), "{e}");
        let e =
            serde_json::from_str::<StatuspalSeverityMap>(r#"{"info":"scheduled"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `scheduled`"), "{e}");
    }

    #[test]
    fn incident_types_round_trip() {
        for i in [StatuspalImpact::Minor, StatuspalImpact::Major] {
            assert_eq!(
                StatuspalImpact::from_incident_type(i.incident_type().unwrap()),
                Some(i)
            );
        }
        assert_eq!(StatuspalImpact::None.incident_type(), None);
        assert_eq!(StatuspalImpact::from_incident_type("scheduled"), None);
        assert_eq!(StatuspalImpact::None.to_string(), "none");
    }
}
