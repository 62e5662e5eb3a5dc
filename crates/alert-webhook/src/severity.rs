use alert_core::Severity;
use serde::Deserialize;

/// How severities map to the `severity` label of the Alertmanager-format body.
///
/// Defaults: `info`, `warning`, `error`, `critical` (the canonical names). The label
/// is added only when the alert does not carry a `severity` label already (an alert
/// that came from Prometheus keeps its own). The native format always carries the
/// canonical name in its `severity` field.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSeverityMap {
    /// Value for [`Severity::Info`].
    pub info: String,
    /// Value for [`Severity::Warning`].
    pub warning: String,
    /// Value for [`Severity::Error`].
    pub error: String,
    /// Value for [`Severity::Critical`].
    pub critical: String,
}

impl Default for WebhookSeverityMap {
    fn default() -> Self {
        WebhookSeverityMap {
            info: "info".into(),
            warning: "warning".into(),
            error: "error".into(),
            critical: "critical".into(),
        }
    }
}

impl WebhookSeverityMap {
    /// The label value for `severity`.
    pub fn label(&self, severity: Severity) -> &str {
        match severity {
            Severity::Info => &self.info,
            Severity::Warning => &self.warning,
            Severity::Error => &self.error,
            Severity::Critical => &self.critical,
        }
    }
}
