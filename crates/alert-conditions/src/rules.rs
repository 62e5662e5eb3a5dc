//! Threshold rules on a metric stream: warning and critical tiers, `for`,
//! hysteresis, `keep_firing_for`, relative change against a baseline, no-data, and
//! thresholds learned from a reference window.

use std::time::Duration;

use alert_core::{Alert, Evidence, Severity, Timestamp, format_value};
use serde::{Deserialize, Serialize};

use crate::alerting::{Episode, Finding, RuleIdentity};
use crate::error::{ConditionError, Result};
use crate::stats::util::{quantile_sorted, sorted};

/// The allowed range of a value: the value breaches the band when it is above
/// `upper` or below `lower`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Breached when the value is below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    /// Breached when the value is above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
}

impl Band {
    /// Breached above `x`.
    pub fn above(x: f64) -> Band {
        Band {
            lower: None,
            upper: Some(x),
        }
    }
    /// Breached below `x`.
    pub fn below(x: f64) -> Band {
        Band {
            lower: Some(x),
            upper: None,
        }
    }
    /// Breached outside `[lower, upper]`.
    pub fn outside(lower: f64, upper: f64) -> Band {
        Band {
            lower: Some(lower),
            upper: Some(upper),
        }
    }
    /// Whether `v` breaches the band, and the bound it crosses.
    pub fn breach(&self, v: f64) -> Option<f64> {
        match (self.lower, self.upper) {
            (_, Some(u)) if v > u => Some(u),
            (Some(l), _) if v < l => Some(l),
            _ => None,
        }
    }
    fn validate(&self, field: &str) -> Result<()> {
        for (side, x) in [("lower", self.lower), ("upper", self.upper)] {
            if let Some(x) = x
                && !x.is_finite()
            {
                return Err(ConditionError::param(
                    format!("{field}.{side}"),
                    format!("must be finite, got {x}"),
                ));
            }
        }
        if self.lower.is_none() && self.upper.is_none() {
            return Err(ConditionError::param(
                field,
                "needs a lower or an upper bound",
            ));
        }
        if let (Some(l), Some(u)) = (self.lower, self.upper)
            && l > u
        {
            return Err(ConditionError::param(
                field,
                format!("lower {l} is above upper {u}"),
            ));
        }
        Ok(())
    }
    /// Whether `inner` lies within this band (each bound at least as strict).
    fn contains_band(&self, inner: &Band) -> bool {
        let lower_ok = match (self.lower, inner.lower) {
            (Some(o), Some(i)) => i >= o,
            (Some(_), None) => false,
            (None, _) => true,
        };
        let upper_ok = match (self.upper, inner.upper) {
            (Some(o), Some(i)) => i <= o,
            (Some(_), None) => false,
            (None, _) => true,
        };
        lower_ok && upper_ok
    }
}

/// How a band was learned from a reference window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum LearnMethod {
    /// `mean ± k * std` (sample standard deviation, ddof 1).
    MeanStd {
        /// How many standard deviations.
        k: f64,
    },
    /// `[quantile(lower), quantile(upper)]` (numpy's linear method).
    Quantiles {
        /// The lower quantile, e.g. 0.01.
        lower: f64,
        /// The upper quantile, e.g. 0.99.
        upper: f64,
    },
}

/// A band learned from a reference window, with what it was learned from; it is
/// stored with the rule (serde), so thresholds are reproducible.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedBand {
    /// The band.
    pub band: Band,
    /// How it was learned.
    pub method: LearnMethod,
    /// Reference values used.
    pub sample_size: u64,
    /// Reference mean.
    pub mean: f64,
    /// Reference standard deviation (ddof 1).
    pub std: f64,
}

impl LearnedBand {
    /// Learns a band from `reference` (finite, at least two values).
    ///
    /// ```
    /// use alert_conditions::rules::{LearnedBand, LearnMethod};
    /// let latency = [100.0, 110.0, 90.0, 105.0, 95.0];
    /// let b = LearnedBand::learn(&latency, LearnMethod::MeanStd { k: 3.0 }).unwrap();
    /// assert_eq!(b.mean, 100.0);
    /// assert!((b.band.upper.unwrap() - (100.0 + 3.0 * 7.905_694_150_420_948)).abs() < 1e-9);
    /// ```
    pub fn learn(reference: &[f64], method: LearnMethod) -> Result<LearnedBand> {
        crate::error::check_sample("reference window", reference)?;
        if reference.len() < 2 {
            return Err(ConditionError::empty("reference window", 2));
        }
        let n = reference.len() as f64;
        let mut s = crate::stats::util::Sum::default();
        reference.iter().for_each(|&x| s.add(x));
        let mean = s.value() / n;
        let mut v = crate::stats::util::Sum::default();
        reference
            .iter()
            .for_each(|&x| v.add((x - mean) * (x - mean)));
        let std = (v.value() / (n - 1.0)).sqrt();
        let band = match method {
            LearnMethod::MeanStd { k } => {
                if !(k.is_finite() && k > 0.0) {
                    return Err(ConditionError::param("k", format!("must be > 0, got {k}")));
                }
                Band::outside(mean - k * std, mean + k * std)
            }
            LearnMethod::Quantiles { lower, upper } => {
                if !(0.0..=1.0).contains(&lower) || !(0.0..=1.0).contains(&upper) || lower >= upper
                {
                    return Err(ConditionError::param(
                        "quantiles",
                        format!("need 0 <= lower < upper <= 1, got {lower} and {upper}"),
                    ));
                }
                let s = sorted(reference);
                Band::outside(quantile_sorted(&s, lower), quantile_sorted(&s, upper))
            }
        };
        Ok(LearnedBand {
            band,
            method,
            sample_size: reference.len() as u64,
            mean,
            std,
        })
    }
}

/// The specification of a threshold rule (serde, for config files and the HTTP
/// service).
///
/// ```
/// use alert_conditions::rules::ThresholdSpec;
/// let spec: ThresholdSpec = serde_json::from_str(r#"{
///     "name": "HighErrorRate", "metric": "error_rate",
///     "labels": {"service": "scoring"},
///     "warning": {"upper": 0.02}, "critical": {"upper": 0.05},
///     "recovery": {"upper": 0.01},
///     "for": "2m", "keep_firing_for": "5m", "no_data": "10m"
/// }"#).unwrap();
/// assert_eq!(spec.for_.as_secs(), 120);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// The alert name.
    pub name: String,
    /// The metric the rule watches.
    pub metric: String,
    /// Identity labels.
    #[serde(default, skip_serializing_if = "alert_core::Labels::is_empty")]
    pub labels: alert_core::Labels,
    /// Annotations (runbook, dashboard).
    #[serde(default, skip_serializing_if = "alert_core::Annotations::is_empty")]
    pub annotations: alert_core::Annotations,
    /// The model and run behind the alerts.
    #[serde(default, skip_serializing_if = "alert_core::Source::is_empty")]
    pub source: alert_core::Source,
    /// Breaching this band fires at [`Severity::Warning`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<Band>,
    /// Breaching this band fires at [`Severity::Critical`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<Band>,
    /// Hysteresis: once firing, the value must come back inside this band (narrower
    /// than the firing bands) to resolve. Default: the warning band (or the
    /// critical one when there is no warning tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Band>,
    /// The breach must last this long (every sample breaching) before firing.
    #[serde(rename = "for", default, with = "humantime_serde_compat")]
    pub for_: Duration,
    /// Once recovered, keep firing this long (and resolve only if still recovered).
    #[serde(default, with = "humantime_serde_compat")]
    pub keep_firing_for: Duration,
    /// Fire a no-data alert (label `condition=no_data`) when no sample arrives for
    /// this long.
    #[serde(
        default,
        with = "humantime_serde_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub no_data: Option<Duration>,
    /// Relative change: when set, the bands apply to `(value - baseline) / |baseline|`
    /// (e.g. accuracy 5% below its reference: `baseline 0.93`, `warning.lower -0.05`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// Where learned bands came from, kept for reproducibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<LearnedBand>,
}

impl ThresholdSpec {
    /// A spec for `metric` with no tiers yet.
    pub fn new(name: impl Into<String>, metric: impl Into<String>) -> Self {
        ThresholdSpec {
            name: name.into(),
            metric: metric.into(),
            labels: Default::default(),
            annotations: Default::default(),
            source: Default::default(),
            warning: None,
            critical: None,
            recovery: None,
            for_: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
            no_data: None,
            baseline: None,
            learned: None,
        }
    }
    /// Adds a label.
    pub fn label(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.labels.insert(k.into(), v.into());
        self
    }
    /// Sets the warning band.
    pub fn warning(mut self, band: Band) -> Self {
        self.warning = Some(band);
        self
    }
    /// Sets the critical band.
    pub fn critical(mut self, band: Band) -> Self {
        self.critical = Some(band);
        self
    }
    /// Sets the recovery band (hysteresis).
    pub fn recovery(mut self, band: Band) -> Self {
        self.recovery = Some(band);
        self
    }
    /// Sets `for`.
    pub fn for_duration(mut self, d: Duration) -> Self {
        self.for_ = d;
        self
    }
    /// Sets `keep_firing_for`.
    pub fn keep_firing_for(mut self, d: Duration) -> Self {
        self.keep_firing_for = d;
        self
    }
    /// Sets the no-data timeout.
    pub fn no_data(mut self, d: Duration) -> Self {
        self.no_data = Some(d);
        self
    }
    /// Compares relative change against `baseline`.
    pub fn relative_to(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self
    }
    /// Uses a learned band as the warning tier, recording how it was learned.
    pub fn learned_warning(mut self, learned: LearnedBand) -> Self {
        self.warning = Some(learned.band);
        self.learned = Some(learned);
        self
    }
    /// Sets the source.
    pub fn source(mut self, s: alert_core::Source) -> Self {
        self.source = s;
        self
    }
    /// Adds an annotation.
    pub fn annotation(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.annotations.insert(k.into(), v.into());
        self
    }
}

/// A threshold rule with its state. Feed it samples with [`observe`](Self::observe)
/// and call [`tick`](Self::tick) periodically (for no-data and `keep_firing_for`);
/// both return the alerts to send: a firing alert when it trips or changes
/// severity, a resolved alert when it recovers. Time is passed in, so the rule is
/// deterministic and needs no runtime.
///
/// ```
/// use std::time::Duration;
/// use alert_conditions::rules::{Band, ThresholdRule, ThresholdSpec};
/// use alert_core::{Severity, Status, Timestamp};
/// let spec = ThresholdSpec::new("AccuracyDrop", "accuracy")
///     .label("model", "bikes")
///     .relative_to(0.93)
///     .warning(Band::below(-0.05))
///     .critical(Band::below(-0.10))
///     .for_duration(Duration::from_secs(60));
/// let mut rule = ThresholdRule::new(spec).unwrap();
/// let t = |s: i64| Timestamp::from_unix_seconds(1_800_000_000 + s).unwrap();
/// assert!(rule.observe(t(0), 0.86).unwrap().is_empty()); // pending
/// let fired = rule.observe(t(60), 0.87).unwrap();
/// assert_eq!(fired[0].severity, Severity::Warning);
/// assert_eq!(fired[0].evidence.baseline, Some(0.93));
/// let resolved = rule.observe(t(120), 0.92).unwrap();
/// assert_eq!(resolved[0].status, Status::Resolved);
/// ```
#[derive(Clone, Debug)]
pub struct ThresholdRule {
    spec: ThresholdSpec,
    identity: RuleIdentity,
    no_data_identity: RuleIdentity,
    phase: Phase,
    episode: Episode,
    no_data: Episode,
    last_sample: Option<Timestamp>,
    watch_since: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Inactive,
    Pending { since: Timestamp },
    Firing { clear_since: Option<Timestamp> },
}

impl ThresholdRule {
    /// A rule from `spec`, validated: at least one tier, finite bounds, a recovery
    /// band inside the firing band, a non-zero finite baseline.
    pub fn new(spec: ThresholdSpec) -> Result<ThresholdRule> {
        if spec.name.trim().is_empty() {
            return Err(ConditionError::param("name", "must not be empty"));
        }
        if spec.warning.is_none() && spec.critical.is_none() {
            return Err(ConditionError::param(
                "warning",
                "a rule needs a warning or a critical band",
            ));
        }
        if let Some(b) = &spec.warning {
            b.validate("warning")?;
        }
        if let Some(b) = &spec.critical {
            b.validate("critical")?;
        }
        if let (Some(w), Some(c)) = (&spec.warning, &spec.critical)
            && !c.contains_band(w)
        {
            return Err(ConditionError::param(
                "critical",
                "the critical band must lie outside the warning band (a critical breach is also a warning breach)",
            ));
        }
        if let Some(r) = &spec.recovery {
            r.validate("recovery")?;
            if !spec.outermost_ok_band().contains_band(r) {
                return Err(ConditionError::param(
                    "recovery",
                    "the recovery band must lie within the warning band (hysteresis narrows, never widens)",
                ));
            }
        }
        if let Some(b) = spec.baseline
            && !(b.is_finite() && b != 0.0)
        {
            return Err(ConditionError::param(
                "baseline",
                format!("must be finite and non-zero, got {b}"),
            ));
        }
        let identity = RuleIdentity {
            name: spec.name.clone(),
            labels: spec.labels.clone(),
            annotations: spec.annotations.clone(),
            source: spec.source.clone(),
        };
        let no_data_identity = identity.clone().label("condition", "no_data");
        Ok(ThresholdRule {
            spec,
            identity,
            no_data_identity,
            phase: Phase::Inactive,
            episode: Episode::default(),
            no_data: Episode::default(),
            last_sample: None,
            watch_since: None,
        })
    }

    /// The spec.
    pub fn spec(&self) -> &ThresholdSpec {
        &self.spec
    }
    /// The metric watched.
    pub fn metric(&self) -> &str {
        &self.spec.metric
    }
    /// Whether the threshold alert is firing.
    pub fn is_firing(&self) -> bool {
        self.episode.is_active()
    }
    /// Whether a breach is pending (waiting for `for`).
    pub fn is_pending(&self) -> bool {
        matches!(self.phase, Phase::Pending { .. })
    }

    fn transform(&self, v: f64) -> f64 {
        match self.spec.baseline {
            Some(b) => (v - b) / b.abs(),
            None => v,
        }
    }
    fn untransform(&self, x: f64) -> f64 {
        match self.spec.baseline {
            Some(b) => b + x * b.abs(),
            None => x,
        }
    }

    fn level(&self, x: f64) -> Option<(Severity, f64)> {
        if let Some(bound) = self.spec.critical.and_then(|c| c.breach(x)) {
            return Some((Severity::Critical, bound));
        }
        self.spec
            .warning
            .and_then(|w| w.breach(x))
            .map(|bound| (Severity::Warning, bound))
    }

    fn evidence(&self, value: f64, threshold: Option<f64>) -> Evidence {
        let mut e = Evidence::metric(self.spec.metric.clone()).observed(value);
        if let Some(t) = threshold {
            e = e.threshold(self.untransform(t));
        }
        if let Some(b) = self.spec.baseline {
            e = e
                .baseline(b)
                .detail("relative_change", self.transform(value));
        }
        e
    }

    /// Feeds a sample taken at `at`. Samples must come in time order and be finite;
    /// otherwise the sample is rejected with an error and the state is unchanged.
    pub fn observe(&mut self, at: Timestamp, value: f64) -> Result<Vec<Alert>> {
        self.observe_sample(Sample::new(at, value))
    }

    /// Feeds a sample with its context (window, sample size, segment), which is
    /// carried into the evidence.
    pub fn observe_sample(&mut self, sample: Sample) -> Result<Vec<Alert>> {
        self.check_sample(&sample)?;
        let Sample { at, value, .. } = sample;
        let mut out = Vec::new();
        self.last_sample = Some(at);
        self.watch_since.get_or_insert(at);
        if let Some(a) = self.no_data.resolve(at, None) {
            out.push(a);
        }
        let x = self.transform(value);
        let level = self.level(x);
        let decorate = |mut e: Evidence| {
            e.window = sample.window.clone();
            e.sample_size = sample.sample_size;
            e.segment = sample.segment.clone();
            e
        };
        match self.phase {
            Phase::Inactive | Phase::Pending { .. } => match level {
                None => self.phase = Phase::Inactive,
                Some((sev, bound)) => {
                    let since = match self.phase {
                        Phase::Pending { since } => since,
                        _ => at,
                    };
                    if at.duration_since(since) >= self.spec.for_ {
                        self.phase = Phase::Firing { clear_since: None };
                        let f = self.finding(
                            sev,
                            value,
                            bound,
                            decorate(self.evidence(value, Some(bound))),
                        );
                        out.extend(self.episode.fire(&self.identity, since, f));
                    } else {
                        self.phase = Phase::Pending { since };
                    }
                }
            },
            Phase::Firing { clear_since } => {
                let recovered = self.spec.recovery_band().breach(x).is_none() && level.is_none();
                if let Some((sev, bound)) = level {
                    self.phase = Phase::Firing { clear_since: None };
                    let since = self.episode.since().unwrap_or(at);
                    let f = self.finding(
                        sev,
                        value,
                        bound,
                        decorate(self.evidence(value, Some(bound))),
                    );
                    out.extend(self.episode.fire(&self.identity, since, f));
                } else if !recovered {
                    // Inside the firing band but not yet back inside the recovery
                    // band: hysteresis keeps it firing.
                    self.phase = Phase::Firing { clear_since: None };
                } else {
                    let clear = clear_since.unwrap_or(at);
                    if at.duration_since(clear) >= self.spec.keep_firing_for {
                        self.phase = Phase::Inactive;
                        let e = decorate(self.evidence(value, None));
                        out.extend(self.episode.resolve(at, Some(e)));
                    } else {
                        self.phase = Phase::Firing {
                            clear_since: Some(clear),
                        };
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether [`observe_sample`](ThresholdRule::observe_sample) would take the
    /// sample: its value is finite and it is not older than the last one. Changes
    /// nothing.
    pub fn check_sample(&self, sample: &Sample) -> Result<()> {
        if !sample.value.is_finite() {
            return Err(ConditionError::NonFinite {
                what: format!("sample of {}", self.spec.metric),
                index: 0,
                value: sample.value,
            });
        }
        if let Some(last) = self.last_sample
            && sample.at < last
        {
            return Err(ConditionError::param(
                "at",
                format!(
                    "sample at {} is older than the last one ({last})",
                    sample.at
                ),
            ));
        }
        Ok(())
    }

    fn finding(&self, sev: Severity, value: f64, bound: f64, evidence: Evidence) -> Finding {
        let shown = self.untransform(bound);
        let dir = if self.transform(value) > bound {
            "above"
        } else {
            "below"
        };
        let summary = match self.spec.baseline {
            Some(b) => format!(
                "{} is {} ({:+.1}% vs baseline {}), {} {}",
                self.spec.metric,
                format_value(value),
                self.transform(value) * 100.0,
                format_value(b),
                dir,
                format_value(shown)
            ),
            None => format!(
                "{} is {}, {} {}",
                self.spec.metric,
                format_value(value),
                dir,
                format_value(shown)
            ),
        };
        Finding {
            severity: sev,
            summary,
            message: String::new(),
            evidence,
        }
    }

    /// Advances time to `now`: resolves a recovered alert whose `keep_firing_for`
    /// has passed, and fires (once) the no-data alert when no sample arrived for the
    /// `no_data` duration. The first call starts the no-data clock if no sample came
    /// yet.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Alert> {
        let mut out = Vec::new();
        let since = *self.watch_since.get_or_insert(now);
        if let Phase::Firing {
            clear_since: Some(clear),
        } = self.phase
            && now.duration_since(clear) >= self.spec.keep_firing_for
        {
            self.phase = Phase::Inactive;
            out.extend(self.episode.resolve(now, None));
        }
        if let Some(limit) = self.spec.no_data {
            let last = self.last_sample.unwrap_or(since);
            if now.duration_since(last) >= limit && !self.no_data.is_active() {
                let silent = now.duration_since(last);
                let f = Finding {
                    severity: Severity::Warning,
                    summary: format!(
                        "No data for {} for {}",
                        self.spec.metric,
                        humantime::format_duration(Duration::from_secs(silent.as_secs()))
                    ),
                    message: String::new(),
                    evidence: Evidence::metric(self.spec.metric.clone())
                        .window(humantime::format_duration(limit).to_string())
                        .sample_size(0),
                };
                out.extend(self.no_data.fire(&self.no_data_identity, last, f));
            }
        }
        out
    }
}

impl ThresholdSpec {
    fn outermost_ok_band(&self) -> Band {
        self.warning.or(self.critical).unwrap_or_default()
    }
    fn recovery_band(&self) -> Band {
        self.recovery.unwrap_or_else(|| self.outermost_ok_band())
    }
}

/// A metric sample and its context.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// When it was taken.
    pub at: Timestamp,
    /// The value.
    pub value: f64,
    /// The window it covers (`1h`).
    pub window: Option<String>,
    /// How many observations it summarises.
    pub sample_size: Option<u64>,
    /// The segment it describes.
    pub segment: Option<String>,
}

impl Sample {
    /// A sample.
    pub fn new(at: Timestamp, value: f64) -> Sample {
        Sample {
            at,
            value,
            window: None,
            sample_size: None,
            segment: None,
        }
    }
    /// Sets the window.
    pub fn window(mut self, w: impl Into<String>) -> Self {
        self.window = Some(w.into());
        self
    }
    /// Sets the sample size.
    pub fn sample_size(mut self, n: u64) -> Self {
        self.sample_size = Some(n);
        self
    }
    /// Sets the segment.
    pub fn segment(mut self, s: impl Into<String>) -> Self {
        self.segment = Some(s.into());
        self
    }
}

/// A set of threshold rules fed from named metrics (what a service receiving
/// pushed metrics holds).
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    rules: Vec<ThresholdRule>,
}

impl RuleSet {
    /// Builds rules from specs; the first invalid spec is an error naming it.
    ///
    /// Two rules may not share an identity (name and labels, which make the alert's
    /// fingerprint), nor may one rule's identity be another's no-data identity (its
    /// labels plus `condition=no_data`): their alerts would be taken for one alert,
    /// one rule resolving what the other fired. Give one of them a distinguishing
    /// label.
    pub fn from_specs(specs: impl IntoIterator<Item = ThresholdSpec>) -> Result<RuleSet> {
        let mut rules: Vec<ThresholdRule> = Vec::new();
        for (i, s) in specs.into_iter().enumerate() {
            let name = s.name.clone();
            rules.push(ThresholdRule::new(s).map_err(|e| match e {
                ConditionError::InvalidParameter {
                    name: field,
                    reason,
                } => ConditionError::InvalidParameter {
                    name: format!("rules[{i}] ({name}).{field}"),
                    reason,
                },
                other => other,
            })?);
        }
        let mut seen: Vec<(&RuleIdentity, usize, &str)> = Vec::new();
        for (j, r) in rules.iter().enumerate() {
            let mut mine = vec![(&r.identity, "")];
            if r.spec.no_data.is_some() {
                mine.push((&r.no_data_identity, " (its no-data alert)"));
            }
            for (id, what) in mine {
                let clash = seen
                    .iter()
                    .find(|(other, _, _)| other.name == id.name && other.labels == id.labels);
                if let Some((_, i, other_what)) = clash {
                    return Err(ConditionError::param(
                        format!("rules[{j}] ({})", r.spec.name),
                        format!(
                            "its alerts{what} would have the same name and labels, so the \
                             same fingerprint, as those of rules[{i}]{other_what}; give one \
                             of them a distinguishing label"
                        ),
                    ));
                }
            }
            seen.push((&r.identity, j, ""));
            if r.spec.no_data.is_some() {
                seen.push((&r.no_data_identity, j, " (its no-data alert)"));
            }
        }
        Ok(RuleSet { rules })
    }
    /// The rules.
    pub fn rules(&self) -> &[ThresholdRule] {
        &self.rules
    }
    /// Feeds a sample of `metric` to every rule watching it (see
    /// [`observe_sample`](RuleSet::observe_sample)).
    pub fn observe(&mut self, metric: &str, at: Timestamp, value: f64) -> Result<Vec<Alert>> {
        self.observe_sample(metric, Sample::new(at, value))
    }
    /// Feeds a sample of `metric`, with its context, to every rule watching it.
    ///
    /// All or nothing: the sample is first checked against every rule watching the
    /// metric, and when one of them would refuse it (a value that is not finite, a
    /// sample older than that rule's last one) the error is returned and no rule
    /// changes state. So a rule never changes state (starts firing, resolves)
    /// without its alerts being returned.
    pub fn observe_sample(&mut self, metric: &str, sample: Sample) -> Result<Vec<Alert>> {
        for r in self.rules.iter().filter(|r| r.metric() == metric) {
            r.check_sample(&sample)?;
        }
        let mut out = Vec::new();
        for r in self.rules.iter_mut().filter(|r| r.metric() == metric) {
            out.extend(r.observe_sample(sample.clone())?);
        }
        Ok(out)
    }
    /// Whether any rule watches `metric`.
    pub fn watches(&self, metric: &str) -> bool {
        self.rules.iter().any(|r| r.metric() == metric)
    }
    /// Ticks every rule.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Alert> {
        self.rules.iter_mut().flat_map(|r| r.tick(now)).collect()
    }
}

/// `Duration` as a humantime string (`"90s"`, `"5m"`); `0s` by default.
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {s:?}: {e} (e.g. \"90s\", \"5m\")"
            ))
        })
    }
}

mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::humantime_serde_compat::serialize(d, s),
            None => s.serialize_none(),
        }
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        super::humantime_serde_compat::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Status;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(1_800_000_000 + s).unwrap()
    }

    fn error_rate() -> ThresholdSpec {
        ThresholdSpec::new("HighErrorRate", "error_rate")
            .label("service", "scoring")
            .warning(Band::above(0.02))
            .critical(Band::above(0.05))
    }

    #[test]
    fn a_rule_set_takes_a_sample_in_every_rule_or_in_none() {
        let strict = ThresholdSpec::new("ErrorsCritical", "error_rate").critical(Band::above(0.05));
        let mut set = RuleSet::from_specs([error_rate(), strict]).unwrap();
        // The second rule has seen a later sample than the first (as a rule fed on
        // its own would have).
        set.rules[1].observe(t(10), 0.01).unwrap();
        // A breach at t(5): the first rule alone would fire; the second refuses it.
        let e = set.observe("error_rate", t(5), 0.2).unwrap_err();
        assert!(e.to_string().contains("older than the last one"), "{e}");
        assert!(
            !set.rules[0].is_firing(),
            "no rule may change state without its alert being returned"
        );
        // The same breach in time order fires both, and every alert comes back.
        let a = set.observe("error_rate", t(11), 0.2).unwrap();
        let mut names: Vec<&str> = a.iter().map(|a| a.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["ErrorsCritical", "HighErrorRate"]);
        // A value that is not finite is refused by every rule, and changes nothing.
        assert!(set.observe("error_rate", t(12), f64::NAN).is_err());
        assert!(set.rules.iter().all(ThresholdRule::is_firing));
        assert!(set.rules[0].check_sample(&Sample::new(t(11), 0.0)).is_ok());
        assert!(set.rules[0].check_sample(&Sample::new(t(10), 0.0)).is_err());
    }

    #[test]
    fn fires_once_escalates_and_resolves_once() {
        let mut r = ThresholdRule::new(error_rate()).unwrap();
        assert!(r.observe(t(0), 0.01).unwrap().is_empty());
        let a = r.observe(t(1), 0.03).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].severity, a[0].status),
            (Severity::Warning, Status::Firing)
        );
        assert_eq!(a[0].evidence.threshold, Some(0.02));
        assert_eq!(a[0].evidence.observed, Some(0.03));
        assert!(
            r.observe(t(2), 0.04).unwrap().is_empty(),
            "no alert per sample"
        );
        let c = r.observe(t(3), 0.07).unwrap();
        assert_eq!(c[0].severity, Severity::Critical);
        assert_eq!(c[0].fingerprint(), a[0].fingerprint());
        assert_eq!(c[0].starts_at, Some(t(1)));
        let w = r.observe(t(4), 0.03).unwrap();
        assert_eq!(
            w[0].severity,
            Severity::Warning,
            "de-escalation is reported"
        );
        let res = r.observe(t(5), 0.01).unwrap();
        assert_eq!(res[0].status, Status::Resolved);
        assert_eq!(res[0].ends_at, Some(t(5)));
        assert_eq!(res[0].evidence.observed, Some(0.01));
        assert!(r.observe(t(6), 0.01).unwrap().is_empty());
    }

    #[test]
    fn for_requires_a_lasting_breach() {
        let mut r = ThresholdRule::new(error_rate().for_duration(Duration::from_secs(60))).unwrap();
        assert!(r.observe(t(0), 0.03).unwrap().is_empty());
        assert!(r.is_pending());
        assert!(r.observe(t(30), 0.01).unwrap().is_empty());
        assert!(!r.is_pending(), "a good sample resets the pending breach");
        assert!(r.observe(t(40), 0.03).unwrap().is_empty());
        assert!(r.observe(t(99), 0.03).unwrap().is_empty());
        let a = r.observe(t(100), 0.03).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].starts_at, Some(t(40)));
    }

    #[test]
    fn hysteresis_holds_until_recovery_band() {
        let mut r = ThresholdRule::new(error_rate().recovery(Band::above(0.01))).unwrap();
        assert_eq!(r.observe(t(0), 0.03).unwrap().len(), 1);
        assert!(
            r.observe(t(1), 0.015).unwrap().is_empty(),
            "below warning, above recovery"
        );
        assert!(r.is_firing());
        assert!(
            r.observe(t(2), 0.025).unwrap().is_empty(),
            "no flap back to firing"
        );
        let res = r.observe(t(3), 0.005).unwrap();
        assert_eq!(res[0].status, Status::Resolved);
    }

    #[test]
    fn keep_firing_for_delays_resolution() {
        let mut r =
            ThresholdRule::new(error_rate().keep_firing_for(Duration::from_secs(300))).unwrap();
        r.observe(t(0), 0.03).unwrap();
        assert!(r.observe(t(10), 0.0).unwrap().is_empty());
        assert!(r.tick(t(200)).is_empty());
        assert!(
            r.observe(t(250), 0.03).unwrap().is_empty(),
            "breach again cancels the countdown"
        );
        assert!(r.observe(t(260), 0.0).unwrap().is_empty());
        assert!(r.tick(t(500)).is_empty());
        let res = r.tick(t(560));
        assert_eq!(res.len(), 1);
        assert_eq!(res[0].status, Status::Resolved);
        assert_eq!(res[0].ends_at, Some(t(560)));
    }

    #[test]
    fn no_data_fires_once_and_resolves_on_data() {
        let mut r = ThresholdRule::new(error_rate().no_data(Duration::from_secs(600))).unwrap();
        assert!(r.tick(t(0)).is_empty());
        assert!(r.tick(t(599)).is_empty());
        let a = r.tick(t(600));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].labels.get("condition"), Some("no_data"));
        assert!(r.tick(t(900)).is_empty(), "fires once");
        let res = r.observe(t(901), 0.0).unwrap();
        assert_eq!(res.len(), 1);
        assert_eq!(res[0].status, Status::Resolved);
        assert_eq!(res[0].fingerprint(), a[0].fingerprint());
        assert!(r.tick(t(1400)).is_empty());
        assert_eq!(r.tick(t(1501)).len(), 1);
    }

    #[test]
    fn relative_change_against_baseline() {
        let spec = ThresholdSpec::new("AccuracyDrop", "accuracy")
            .relative_to(0.90)
            .warning(Band::below(-0.05));
        let mut r = ThresholdRule::new(spec).unwrap();
        assert!(
            r.observe(t(0), 0.86).unwrap().is_empty(),
            "-4.4% is within 5%"
        );
        let a = r.observe(t(1), 0.85).unwrap();
        assert_eq!(a.len(), 1);
        let th = a[0].evidence.threshold.unwrap();
        assert!((th - 0.855).abs() < 1e-12, "{th}");
        assert!(a[0].summary.contains("vs baseline 0.9"), "{}", a[0].summary);
    }

    #[test]
    fn invalid_specs_and_samples_are_named() {
        let e = ThresholdRule::new(ThresholdSpec::new("X", "m")).unwrap_err();
        assert!(e.to_string().contains("warning or a critical"), "{e}");
        let e = ThresholdRule::new(error_rate().recovery(Band::above(0.03))).unwrap_err();
        assert!(e.to_string().contains("recovery"), "{e}");
        let e = ThresholdRule::new(
            ThresholdSpec::new("X", "m")
                .warning(Band::above(0.05))
                .critical(Band::above(0.02)),
        )
        .unwrap_err();
        assert!(e.to_string().contains("critical"), "{e}");
        let e = ThresholdRule::new(ThresholdSpec::new("X", "m").warning(Band::above(f64::NAN)))
            .unwrap_err();
        assert!(e.to_string().contains("warning.upper"), "{e}");
        let e = ThresholdRule::new(
            ThresholdSpec::new("X", "m")
                .warning(Band::below(-0.1))
                .relative_to(0.0),
        )
        .unwrap_err();
        assert!(e.to_string().contains("baseline"), "{e}");

        let mut r = ThresholdRule::new(error_rate()).unwrap();
        let e = r.observe(t(0), f64::NAN).unwrap_err();
        assert!(e.to_string().contains("sample of error_rate"), "{e}");
        r.observe(t(10), 0.0).unwrap();
        let e = r.observe(t(5), 0.0).unwrap_err();
        assert!(e.to_string().contains("older"), "{e}");
    }

    #[test]
    fn learned_bands() {
        let reference: Vec<f64> = (0..100).map(|i| 100.0 + (i % 10) as f64).collect();
        let l = LearnedBand::learn(
            &reference,
            LearnMethod::Quantiles {
                lower: 0.0,
                upper: 0.99,
            },
        )
        .unwrap();
        assert_eq!(l.band.lower, Some(100.0));
        assert_eq!(l.band.upper, Some(109.0));
        assert!(LearnedBand::learn(&[1.0], LearnMethod::MeanStd { k: 3.0 }).is_err());
        assert!(LearnedBand::learn(&[1.0, f64::NAN], LearnMethod::MeanStd { k: 3.0 }).is_err());
        assert!(LearnedBand::learn(&[1.0, 2.0], LearnMethod::MeanStd { k: 0.0 }).is_err());
        let constant = LearnedBand::learn(&[5.0; 10], LearnMethod::MeanStd { k: 3.0 }).unwrap();
        assert_eq!(constant.band, Band::outside(5.0, 5.0));
        let spec = ThresholdSpec::new("LatencyAnomaly", "p99_ms").learned_warning(l);
        let json = serde_json::to_string(&spec).unwrap();
        let back: ThresholdSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
        let mut r = ThresholdRule::new(back).unwrap();
        assert_eq!(r.observe(t(0), 120.0).unwrap().len(), 1);
    }

    #[test]
    fn a_rule_set_refuses_two_rules_with_one_fingerprint() {
        // Same name and labels, different metrics: one fingerprint for two rules.
        let latency = ThresholdSpec::new("HighErrorRate", "error_rate_5m")
            .label("service", "scoring")
            .warning(Band::above(0.1));
        let e = RuleSet::from_specs([error_rate(), latency.clone()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameter `rules[1] (HighErrorRate)`: its alerts would have the same \
             name and labels, so the same fingerprint, as those of rules[0]; give one of \
             them a distinguishing label"
        );
        // A distinguishing label makes them two rules.
        let set = RuleSet::from_specs([error_rate(), latency.label("window", "5m")]).unwrap();
        assert_eq!(set.rules().len(), 2);
        // A rule whose identity is another's no-data identity.
        let no_data_like = ThresholdSpec::new("HighErrorRate", "other")
            .label("service", "scoring")
            .label("condition", "no_data")
            .warning(Band::above(1.0));
        let e = RuleSet::from_specs([
            error_rate().no_data(Duration::from_secs(60)),
            no_data_like.clone(),
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("as those of rules[0] (its no-data alert)"),
            "{e}"
        );
        // Without no-data on the first rule there is no clash.
        assert!(RuleSet::from_specs([error_rate(), no_data_like]).is_ok());
    }

    #[test]
    fn specs_deserialise_strictly() {
        let e = serde_json::from_str::<ThresholdSpec>(r#"{"name":"x","metric":"m","for":"soon"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("invalid duration"), "{e}");
        let e = serde_json::from_str::<ThresholdSpec>(r#"{"name":"x","metric":"m","treshold":1}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let set = RuleSet::from_specs([error_rate(), ThresholdSpec::new("Bad", "m")]);
        let e = set.unwrap_err();
        assert!(e.to_string().contains("rules[1] (Bad)"), "{e}");
        let mut set = RuleSet::from_specs([error_rate()]).unwrap();
        assert_eq!(set.observe("error_rate", t(0), 0.5).unwrap().len(), 1);
        assert!(set.observe("latency", t(0), 0.5).unwrap().is_empty());
    }
}
