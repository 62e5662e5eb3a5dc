//! From findings to alerts: rule identity and the firing/resolved episode.

use alert_core::{Alert, Annotations, Evidence, Labels, Severity, Source, Timestamp};
use serde::{Deserialize, Serialize};

/// The identity of a rule, and so of its alerts: the alert name and labels give the
/// fingerprint ([`Alert::fingerprint`]), which stays the same across evaluations,
/// processes and releases. Annotations and source are context, not identity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleIdentity {
    /// The alert name (`AccuracyDrop`, `DataDrift`).
    pub name: String,
    /// Identity labels (`model`, `env`).
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// Annotations copied onto every alert (`runbook_url`).
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
    /// The model and run behind the alerts.
    #[serde(default, skip_serializing_if = "Source::is_empty")]
    pub source: Source,
}

impl RuleIdentity {
    /// An identity called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        RuleIdentity {
            name: name.into(),
            ..RuleIdentity::default()
        }
    }
    /// Adds a label.
    pub fn label(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.labels.insert(k.into(), v.into());
        self
    }
    /// Adds an annotation.
    pub fn annotation(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.annotations.insert(k.into(), v.into());
        self
    }
    /// Sets the source.
    pub fn source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// An alert with this identity.
    pub fn alert(&self, severity: Severity) -> Alert {
        let mut a = Alert::new(severity, self.name.clone())
            .with_labels(self.labels.clone())
            .with_source(self.source.clone());
        for (k, v) in &self.annotations {
            a = a.with_annotation(k, v);
        }
        a
    }
}

/// What a condition found: how bad, a title, a body and the evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// The one-line title.
    pub summary: String,
    /// The body (may be empty).
    pub message: String,
    /// The evidence.
    pub evidence: Evidence,
}

/// Turns a sequence of findings into alerts: one firing alert when a condition
/// starts to hold, another only when its severity changes, and one resolved alert
/// when it stops holding. Never one per evaluation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Episode {
    active: Option<Active>,
}

#[derive(Clone, Debug)]
struct Active {
    since: Timestamp,
    alert: Alert,
}

impl Episode {
    pub(crate) fn is_active(&self) -> bool {
        self.active.is_some()
    }
    pub(crate) fn since(&self) -> Option<Timestamp> {
        self.active.as_ref().map(|a| a.since)
    }

    /// Fires (or re-fires with a new severity) at `now` with `finding`, starting at
    /// `since` when the condition started earlier (a `for` duration).
    pub(crate) fn fire(
        &mut self,
        id: &RuleIdentity,
        since: Timestamp,
        f: Finding,
    ) -> Option<Alert> {
        match &mut self.active {
            Some(a) if a.alert.severity == f.severity => {
                // Still firing: keep the latest evidence for the resolution.
                a.alert.evidence = f.evidence.into();
                a.alert.summary = f.summary;
                a.alert.message = f.message;
                None
            }
            active => {
                let since = active.as_ref().map_or(since, |a| a.since);
                let alert = id
                    .alert(f.severity)
                    .with_summary(f.summary)
                    .with_message(f.message)
                    .with_evidence(f.evidence)
                    .with_starts_at(since);
                *active = Some(Active {
                    since,
                    alert: alert.clone(),
                });
                Some(alert)
            }
        }
    }

    /// Resolves at `now` if active: the last firing alert, resolved, with
    /// `evidence` (the recovered values) when given.
    pub(crate) fn resolve(&mut self, now: Timestamp, evidence: Option<Evidence>) -> Option<Alert> {
        let a = self.active.take()?;
        let mut alert = a.alert.resolved_at(now);
        if let Some(e) = evidence {
            alert.evidence = e.into();
        }
        Some(alert)
    }

    /// Fires or resolves from an optional finding.
    pub(crate) fn update(
        &mut self,
        id: &RuleIdentity,
        now: Timestamp,
        finding: Option<Finding>,
        resolved_evidence: Option<Evidence>,
    ) -> Option<Alert> {
        match finding {
            Some(f) => self.fire(id, now, f),
            None => self.resolve(now, resolved_evidence),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Status;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s).unwrap()
    }

    fn finding(sev: Severity) -> Finding {
        Finding {
            severity: sev,
            summary: "x".into(),
            message: String::new(),
            evidence: Evidence::metric("m").observed(1.0),
        }
    }

    #[test]
    fn fires_once_escalates_and_resolves() {
        let id = RuleIdentity::new("R").label("model", "m1");
        let mut e = Episode::default();
        let a = e
            .update(&id, t(1), Some(finding(Severity::Warning)), None)
            .unwrap();
        assert_eq!((a.status, a.severity), (Status::Firing, Severity::Warning));
        assert!(
            e.update(&id, t(2), Some(finding(Severity::Warning)), None)
                .is_none()
        );
        let b = e
            .update(&id, t(3), Some(finding(Severity::Critical)), None)
            .unwrap();
        assert_eq!(b.severity, Severity::Critical);
        assert_eq!(b.starts_at, Some(t(1)));
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = e.update(&id, t(4), None, None).unwrap();
        assert_eq!(c.status, Status::Resolved);
        assert_eq!(c.ends_at, Some(t(4)));
        assert_eq!(c.fingerprint(), a.fingerprint());
        assert!(e.update(&id, t(5), None, None).is_none());
    }
}
