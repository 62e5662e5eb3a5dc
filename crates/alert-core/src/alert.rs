//! [`Alert`] and the context it carries: [`Evidence`], [`Source`], [`Status`].

use std::collections::BTreeMap;
use std::fmt;

use crate::fingerprint::{IdentityLabels, identity_labels};
use crate::{Fingerprint, Severity, Slot, Timestamp};

pub use crate::labels::LabelMap;

/// Labels: the identity of an alert, ordered by name.
pub type Labels = LabelMap;

/// Annotations: free context that is not part of the identity, ordered by name.
pub type Annotations = LabelMap;

/// Well-known annotation names, shared with Prometheus conventions.
pub mod annotation {
    /// A link to the runbook that says what to do.
    pub const RUNBOOK_URL: &str = "runbook_url";
    /// A link to a dashboard showing the problem.
    pub const DASHBOARD_URL: &str = "dashboard_url";
    /// A longer description.
    pub const DESCRIPTION: &str = "description";
    /// A link to whatever generated the alert (Prometheus' `generatorURL`).
    pub const GENERATOR_URL: &str = "generator_url";
}

/// Whether an alert is firing or has resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Status {
    /// The condition holds.
    #[default]
    Firing,
    /// The condition held and no longer does.
    Resolved,
}

impl Status {
    /// `firing` or `resolved`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Typed machine-learning evidence: what was measured, against what.
///
/// Every field is optional; conditions fill what they know. Channels render the
/// fields they find (and fitting keeps evidence ahead of low-priority context).
///
/// ```
/// use alert_core::Evidence;
/// let e = Evidence::metric("accuracy").observed(0.81).threshold(0.90).baseline(0.93)
///     .window("1h").sample_size(12_000);
/// assert_eq!(e.metric.as_deref(), Some("accuracy"));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Evidence {
    /// The metric or feature observed (`accuracy`, `feature:age`, `error_rate`).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub metric: Option<String>,
    /// The observed value.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub observed: Option<f64>,
    /// The threshold that was crossed.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub threshold: Option<f64>,
    /// The reference value (training-time accuracy, last week's rate).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub baseline: Option<f64>,
    /// The statistical test used (`ks`, `psi`, `chi2`, `wasserstein`).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub test: Option<String>,
    /// The test statistic.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub statistic: Option<f64>,
    /// The test's p-value.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub p_value: Option<f64>,
    /// The window the observation covers (`1h`, `last 10000 predictions`).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub window: Option<String>,
    /// How many samples the observation is based on.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub sample_size: Option<u64>,
    /// The affected segment or group (`country=FR`, `sex=female`).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub segment: Option<String>,
    /// Further named values: per-group rates, drifted columns and their scores.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "BTreeMap::is_empty"))]
    pub details: BTreeMap<String, f64>,
}

impl Evidence {
    /// No evidence: every field unset (what `Evidence::default()` gives, as a
    /// constant).
    pub const EMPTY: Evidence = Evidence {
        metric: None,
        observed: None,
        threshold: None,
        baseline: None,
        test: None,
        statistic: None,
        p_value: None,
        window: None,
        sample_size: None,
        segment: None,
        details: BTreeMap::new(),
    };

    /// Evidence about `metric`.
    pub fn metric(metric: impl Into<String>) -> Evidence {
        Evidence {
            metric: Some(metric.into()),
            ..Evidence::default()
        }
    }
    /// Sets the observed value.
    pub fn observed(mut self, v: f64) -> Self {
        self.observed = Some(v);
        self
    }
    /// Sets the threshold.
    pub fn threshold(mut self, v: f64) -> Self {
        self.threshold = Some(v);
        self
    }
    /// Sets the baseline.
    pub fn baseline(mut self, v: f64) -> Self {
        self.baseline = Some(v);
        self
    }
    /// Sets the test name and its statistic.
    pub fn test(mut self, test: impl Into<String>, statistic: f64) -> Self {
        self.test = Some(test.into());
        self.statistic = Some(statistic);
        self
    }
    /// Sets the p-value.
    pub fn p_value(mut self, p: f64) -> Self {
        self.p_value = Some(p);
        self
    }
    /// Sets the window description.
    pub fn window(mut self, w: impl Into<String>) -> Self {
        self.window = Some(w.into());
        self
    }
    /// Sets the sample size.
    pub fn sample_size(mut self, n: u64) -> Self {
        self.sample_size = Some(n);
        self
    }
    /// Sets the affected segment or group.
    pub fn segment(mut self, s: impl Into<String>) -> Self {
        self.segment = Some(s.into());
        self
    }
    /// Adds a named detail value.
    pub fn detail(mut self, name: impl Into<String>, v: f64) -> Self {
        self.details.insert(name.into(), v);
        self
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Evidence::default()
    }

    /// The evidence as `(name, value)` pairs in a fixed order, values formatted for
    /// people (floats with up to 6 significant digits). Details come last.
    pub fn fields(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push((k.to_owned(), v));
            }
        };
        push("metric", self.metric.clone());
        push("observed", self.observed.map(format_value));
        push("threshold", self.threshold.map(format_value));
        push("baseline", self.baseline.map(format_value));
        push("test", self.test.clone());
        push("statistic", self.statistic.map(format_value));
        push("p-value", self.p_value.map(format_value));
        push("window", self.window.clone());
        push("samples", self.sample_size.map(|n| n.to_string()));
        push("segment", self.segment.clone());
        for (k, v) in &self.details {
            out.push((k.clone(), format_value(*v)));
        }
        out
    }
}

/// Formats a number for people: integers without a fraction, others with up to six
/// significant digits, very small or large values in scientific notation; NaN and
/// infinities spelled out.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let a = v.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    let digits = 6 - (a.log10().floor() as i32 + 1);
    let s = format!("{:.*}", digits.max(0) as usize, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Where an alert comes from: the model and run behind it.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Source {
    /// Model name (`bikes`).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub model: Option<String>,
    /// Model version (`3`, `2026-11-24.1`).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub version: Option<String>,
    /// Environment (`prod`, `staging`, `dev`).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub environment: Option<String>,
    /// The job or run id (an MLflow run, a CI job).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub run_id: Option<String>,
}

impl Source {
    /// No source: every field unset (what `Source::default()` gives, as a constant).
    pub const EMPTY: Source = Source {
        model: None,
        version: None,
        environment: None,
        run_id: None,
    };

    /// A source for `model`.
    pub fn model(model: impl Into<String>) -> Source {
        Source {
            model: Some(model.into()),
            ..Source::default()
        }
    }
    /// Sets the model version.
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.version = Some(v.into());
        self
    }
    /// Sets the environment.
    pub fn environment(mut self, e: impl Into<String>) -> Self {
        self.environment = Some(e.into());
        self
    }
    /// Sets the job or run id.
    pub fn run_id(mut self, r: impl Into<String>) -> Self {
        self.run_id = Some(r.into());
        self
    }
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Source::default()
    }
    /// The source as `(name, value)` pairs: model, version, env, run.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        [
            ("model", &self.model),
            ("version", &self.version),
            ("env", &self.environment),
            ("run", &self.run_id),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

/// An alert: something that fired (or resolved), how bad it is, and the context to act.
///
/// Fields are public so channels can read them; construct with [`Alert::new`] and the
/// `with_*` methods, so fields can be added without breaking anyone
/// (`#[non_exhaustive]`).
///
/// * `name` says *what* fired (`AccuracyDrop`); with `labels` it forms the identity
///   ([`Alert::fingerprint`]).
/// * `summary` is the one-line title people read; it falls back to `name`.
/// * `message` is the body.
/// * `annotations` carry links and descriptions ([`annotation`] names the usual ones).
///
/// ```
/// use alert_core::{Alert, Evidence, Severity, Source};
/// let alert = Alert::new(Severity::Error, "AccuracyDrop")
///     .with_summary("Accuracy fell to 0.81 (threshold 0.90)")
///     .with_message("The nightly evaluation on 12k labelled rows fell below threshold.")
///     .with_label("model", "bikes")
///     .with_runbook("https://runbooks.example/accuracy")
///     .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.90))
///     .with_source(Source::model("bikes").version("3").environment("prod"));
/// assert_eq!(alert.title(), "Accuracy fell to 0.81 (threshold 0.90)");
/// assert_eq!(alert.fingerprint().to_string().len(), 16);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Alert {
    /// What fired, e.g. `AccuracyDrop`. Part of the identity.
    pub name: String,
    /// How urgent it is.
    pub severity: Severity,
    /// Firing or resolved.
    #[cfg_attr(feature = "serde", serde(default))]
    pub status: Status,
    /// One-line human title; empty means "use `name`".
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "String::is_empty")
    )]
    pub summary: String,
    /// The body.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "String::is_empty")
    )]
    pub message: String,
    /// The identity labels (with `name`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "LabelMap::is_empty")
    )]
    pub labels: Labels,
    /// Free context: runbook, dashboard, description.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "LabelMap::is_empty")
    )]
    pub annotations: Annotations,
    /// Typed ML evidence (out of line: see [`Slot`]).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Slot::is_empty")
    )]
    pub evidence: Slot<Evidence>,
    /// The model and run behind the alert.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Slot::is_empty")
    )]
    pub source: Slot<Source>,
    /// When the condition started to hold.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub starts_at: Option<Timestamp>,
    /// When it stopped holding (resolved alerts), or when it is presumed to end.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub ends_at: Option<Timestamp>,
}

impl Alert {
    /// A firing alert called `name`, with `severity`, and nothing else yet.
    pub fn new(severity: Severity, name: impl Into<String>) -> Alert {
        Alert {
            name: name.into(),
            severity,
            status: Status::Firing,
            summary: String::new(),
            message: String::new(),
            labels: Labels::new(),
            annotations: Annotations::new(),
            evidence: Slot::default(),
            source: Slot::default(),
            starts_at: None,
            ends_at: None,
        }
    }

    /// Sets the one-line title.
    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }
    /// Sets the body.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
    /// Sets the severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
    /// Adds (or replaces) a label. A label called `alertname` sets [`Alert::name`].
    pub fn with_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        if name == "alertname" {
            self.name = value.into();
        } else {
            self.labels.insert(name, value.into());
        }
        self
    }
    /// Adds labels from pairs.
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in labels {
            self = self.with_label(k, v);
        }
        self
    }
    /// Adds (or replaces) an annotation.
    pub fn with_annotation(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(name.into(), value.into());
        self
    }
    /// Sets the runbook link (annotation `runbook_url`).
    pub fn with_runbook(self, url: impl Into<String>) -> Self {
        self.with_annotation(annotation::RUNBOOK_URL, url)
    }
    /// Sets the dashboard link (annotation `dashboard_url`).
    pub fn with_dashboard(self, url: impl Into<String>) -> Self {
        self.with_annotation(annotation::DASHBOARD_URL, url)
    }
    /// Sets the evidence.
    pub fn with_evidence(mut self, evidence: Evidence) -> Self {
        self.evidence = evidence.into();
        self
    }
    /// Sets the source.
    pub fn with_source(mut self, source: Source) -> Self {
        self.source = source.into();
        self
    }
    /// Sets the status.
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }
    /// Sets when the condition started.
    pub fn with_starts_at(mut self, t: Timestamp) -> Self {
        self.starts_at = Some(t);
        self
    }
    /// Sets when the condition ended.
    pub fn with_ends_at(mut self, t: Timestamp) -> Self {
        self.ends_at = Some(t);
        self
    }
    /// This alert, resolved at `at`.
    pub fn resolved_at(mut self, at: Timestamp) -> Self {
        self.status = Status::Resolved;
        self.ends_at = Some(at);
        self
    }

    /// The stable identity: see [`Fingerprint`](crate::fingerprint).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.name, &self.labels)
    }

    /// The identity label set, in ascending order of name: the labels, with
    /// `alertname` set to the name (a literal `alertname` label left out). What
    /// [`fingerprint`](Alert::fingerprint) hashes; see
    /// [`identity_labels`](crate::fingerprint::identity_labels).
    pub fn identity_labels(&self) -> IdentityLabels<'_, crate::labels::Iter<'_>> {
        identity_labels(&self.name, &self.labels)
    }

    /// The one-line title: the summary, or the name when there is none.
    pub fn title(&self) -> &str {
        if self.summary.trim().is_empty() {
            &self.name
        } else {
            &self.summary
        }
    }

    /// Whether the alert has resolved.
    pub fn is_resolved(&self) -> bool {
        self.status == Status::Resolved
    }

    /// The runbook link, if any.
    pub fn runbook(&self) -> Option<&str> {
        self.annotations.get(annotation::RUNBOOK_URL)
    }

    /// The dashboard link, if any.
    pub fn dashboard(&self) -> Option<&str> {
        self.annotations.get(annotation::DASHBOARD_URL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertname_label_sets_the_name() {
        let a = Alert::new(Severity::Info, "x").with_label("alertname", "Y");
        assert_eq!(a.name, "Y");
        assert!(a.labels.is_empty());
    }

    #[test]
    fn title_falls_back_to_name() {
        let a = Alert::new(Severity::Info, "TrainingDone");
        assert_eq!(a.title(), "TrainingDone");
        assert_eq!(a.clone().with_summary("  ").title(), "TrainingDone");
        assert_eq!(a.with_summary("Done").title(), "Done");
    }

    #[test]
    fn format_value_is_readable() {
        for (v, s) in [
            (0.81, "0.81"),
            (3.0, "3"),
            (-12.0, "-12"),
            (0.123_456_789, "0.123457"),
            (1234.5678, "1234.57"),
            (0.000_012, "1.200e-5"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (2.5e12, "2500000000000"),
            (2.5e20, "2.500e20"),
        ] {
            assert_eq!(format_value(v), s, "{v}");
        }
    }

    #[test]
    fn evidence_fields_are_ordered() {
        let e = Evidence::metric("psi")
            .test("psi", 0.31)
            .threshold(0.2)
            .detail("col_b", 0.4)
            .detail("col_a", 0.1);
        let names: Vec<_> = e.fields().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            ["metric", "threshold", "test", "statistic", "col_a", "col_b"]
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_round_trip_and_unknown_fields() {
        let a = Alert::new(Severity::Warning, "DataDrift")
            .with_label("model", "bikes")
            .with_evidence(Evidence::metric("age").test("ks", 0.2).p_value(0.001))
            .with_source(Source::model("bikes").version("3"))
            .with_starts_at(Timestamp::from_unix_seconds(1_800_000_000).unwrap());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"name":"DataDrift","severity":"warning","status":"firing","labels":{"model":"bikes"},"evidence":{"metric":"age","test":"ks","statistic":0.2,"p_value":0.001},"source":{"model":"bikes","version":"3"},"starts_at":"2027-01-15T08:00:00Z"}"#
        );
        let back: Alert = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        let e = serde_json::from_str::<Alert>(r#"{"name":"x","severity":"info","sevrity":"x"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `sevrity`"), "{e}");
    }

    /// Evidence and source, which most alerts leave empty, take a pointer each; a
    /// service holding tens of thousands of alerts pays for what they carry.
    #[test]
    fn an_alert_keeps_its_rare_parts_out_of_line() {
        assert!(size_of::<Alert>() <= 200, "{}", size_of::<Alert>());
        let a = Alert::new(Severity::Info, "x");
        assert!(a.evidence.is_empty() && a.source.is_empty());
    }
}
