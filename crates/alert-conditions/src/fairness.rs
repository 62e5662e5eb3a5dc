//! Bias metrics across groups of a sensitive feature, as fairlearn defines them,
//! with a per-group breakdown, and the rule that alerts on them.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;

use alert_core::{Alert, Evidence, Severity, Timestamp, format_value};
use serde::{Deserialize, Serialize};

use crate::alerting::{Episode, Finding, RuleIdentity};
use crate::error::{ConditionError, Result};

/// Rates of one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRates {
    /// The group's value of the sensitive feature.
    pub group: String,
    /// Rows in the group.
    pub count: u64,
    /// Share predicted positive (fairlearn `selection_rate`).
    pub selection_rate: f64,
    /// True positive rate; `None` when the group has no positive label.
    pub tpr: Option<f64>,
    /// False positive rate; `None` when the group has no negative label.
    pub fpr: Option<f64>,
}

/// Fairness metrics of binary predictions across groups.
///
/// Differences and ratios are between groups (fairlearn's `method='between_groups'`).
/// Where fairlearn scores an undefined rate as 0 (a group with no positive label has
/// TPR 0 there), this report leaves the group out of that difference and says so in
/// the rate (`None`); on data where every rate is defined the values are
/// fairlearn's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FairnessReport {
    /// Per-group rates, ordered by group name.
    pub groups: Vec<GroupRates>,
    /// max - min selection rate (`demographic_parity_difference`).
    pub demographic_parity_difference: f64,
    /// min / max selection rate (`demographic_parity_ratio`); 1 when every group has
    /// selection rate 0.
    pub demographic_parity_ratio: f64,
    /// max(TPR difference, FPR difference) (`equalized_odds_difference`); `None` when
    /// fewer than two groups have both rates.
    pub equalized_odds_difference: Option<f64>,
    /// TPR difference (`equal_opportunity_difference`); `None` when fewer than two
    /// groups have a TPR.
    pub equal_opportunity_difference: Option<f64>,
}

impl FairnessReport {
    /// The group with the lowest selection rate and its ratio to the highest: the
    /// disparate impact ratio.
    pub fn disparate_impact(&self) -> (&GroupRates, f64) {
        let lowest = self
            .groups
            .iter()
            .min_by(|a, b| a.selection_rate.total_cmp(&b.selection_rate))
            .unwrap_or(&self.groups[0]);
        (lowest, self.demographic_parity_ratio)
    }

    /// Groups whose selection rate is below four fifths of the highest group's
    /// (the four-fifths rule of adverse impact).
    pub fn four_fifths_violations(&self) -> Vec<&GroupRates> {
        let max = self
            .groups
            .iter()
            .map(|g| g.selection_rate)
            .fold(0.0, f64::max);
        if max == 0.0 {
            return Vec::new();
        }
        self.groups
            .iter()
            .filter(|g| g.selection_rate / max < 0.8)
            .collect()
    }
}

fn spread(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let mut it = values.peekable();
    it.peek()?;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut n = 0;
    for v in it {
        lo = lo.min(v);
        hi = hi.max(v);
        n += 1;
    }
    (n >= 2).then_some((lo, hi))
}

/// Computes the fairness report of `y_pred` against `y_true` across `groups` (one
/// group value per row: strings, or integer codes for speed).
///
/// ```
/// use alert_conditions::fairness::fairness_report;
/// let y_true = [true, false, true, false, true, false];
/// let y_pred = [true, false, true, true, false, false];
/// let group = ["a", "a", "a", "b", "b", "b"];
/// let r = fairness_report(&y_true, &y_pred, &group).unwrap();
/// assert!((r.demographic_parity_difference - (2.0 / 3.0 - 1.0 / 3.0)).abs() < 1e-12);
/// assert_eq!(r.equal_opportunity_difference, Some(1.0));
/// ```
pub fn fairness_report<G: Eq + Hash + Display>(
    y_true: &[bool],
    y_pred: &[bool],
    groups: &[G],
) -> Result<FairnessReport> {
    if y_true.len() != y_pred.len() {
        return Err(ConditionError::mismatch(
            "y_true",
            y_true.len(),
            "y_pred",
            y_pred.len(),
        ));
    }
    if y_true.len() != groups.len() {
        return Err(ConditionError::mismatch(
            "y_true",
            y_true.len(),
            "groups",
            groups.len(),
        ));
    }
    if y_true.is_empty() {
        return Err(ConditionError::empty("y_true", 1));
    }
    // counts per group: [n, predicted positive, tp, positives, fp, negatives]
    let mut keys: Vec<&G> = Vec::new();
    let mut index: HashMap<&G, usize> = HashMap::new();
    let mut counts: Vec<[u64; 6]> = Vec::new();
    const LINEAR: usize = 8;
    for ((t, p), g) in y_true.iter().zip(y_pred).zip(groups) {
        let found = if keys.len() <= LINEAR {
            keys.iter().position(|x| *x == g)
        } else {
            index.get(g).copied()
        };
        let k = match found {
            Some(k) => k,
            None => {
                keys.push(g);
                counts.push([0; 6]);
                index.insert(g, keys.len() - 1);
                keys.len() - 1
            }
        };
        let c = &mut counts[k];
        let (t, p) = (u64::from(*t), u64::from(*p));
        c[0] += 1;
        c[1] += p;
        c[2] += t & p;
        c[3] += t;
        c[4] += (1 - t) & p;
        c[5] += 1 - t;
    }
    let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    let mut rates: Vec<GroupRates> = keys
        .iter()
        .zip(&counts)
        .map(|(g, c)| GroupRates {
            group: g.to_string(),
            count: c[0],
            selection_rate: c[1] as f64 / c[0] as f64,
            tpr: rate(c[2], c[3]),
            fpr: rate(c[4], c[5]),
        })
        .collect();
    rates.sort_by(|a, b| a.group.cmp(&b.group));
    let (sel_lo, sel_hi) = spread(rates.iter().map(|g| g.selection_rate)).unwrap_or((0.0, 0.0));
    let dp_ratio = if sel_hi == 0.0 { 1.0 } else { sel_lo / sel_hi };
    let tpr = spread(rates.iter().filter_map(|g| g.tpr));
    let fpr = spread(rates.iter().filter_map(|g| g.fpr));
    let eopp = tpr.map(|(l, h)| h - l);
    let both = spread(
        rates
            .iter()
            .filter(|g| g.tpr.is_some() && g.fpr.is_some())
            .map(|_| 0.0),
    );
    let eodds = both.and(match (tpr, fpr) {
        (Some(a), Some(b)) => Some((a.1 - a.0).max(b.1 - b.0)),
        _ => None,
    });
    Ok(FairnessReport {
        demographic_parity_difference: sel_hi - sel_lo,
        demographic_parity_ratio: if rates.len() < 2 { 1.0 } else { dp_ratio },
        equalized_odds_difference: eodds,
        equal_opportunity_difference: eopp,
        groups: rates,
    })
}

/// When a fairness report should alert. Unset limits are not checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FairnessPolicy {
    /// The sensitive feature's name, for the evidence segment (`sex`).
    pub feature: String,
    /// Alert when the demographic parity difference is above this (default 0.1).
    pub max_demographic_parity_difference: Option<f64>,
    /// Alert when the disparate impact ratio is below this (default 0.8, the
    /// four-fifths rule).
    pub min_disparate_impact: Option<f64>,
    /// Alert when the equalized odds difference is above this.
    pub max_equalized_odds_difference: Option<f64>,
    /// Alert when the equal opportunity difference is above this.
    pub max_equal_opportunity_difference: Option<f64>,
    /// The severity of the alert.
    pub severity: Severity,
}

impl Default for FairnessPolicy {
    fn default() -> Self {
        FairnessPolicy {
            feature: "group".into(),
            max_demographic_parity_difference: Some(0.1),
            min_disparate_impact: Some(0.8),
            max_equalized_odds_difference: None,
            max_equal_opportunity_difference: None,
            severity: Severity::Warning,
        }
    }
}

impl FairnessReport {
    /// Evidence with the per-group breakdown: details `selection_rate[g]`,
    /// `tpr[g]`, `fpr[g]`, and the overall metrics.
    pub fn evidence(&self, metric: &str, observed: f64, threshold: f64, feature: &str) -> Evidence {
        let (lowest, di) = self.disparate_impact();
        let mut e = Evidence::metric(metric)
            .observed(observed)
            .threshold(threshold)
            .segment(format!("{feature}={}", lowest.group))
            .sample_size(self.groups.iter().map(|g| g.count).sum())
            .detail(
                "demographic_parity_difference",
                self.demographic_parity_difference,
            )
            .detail("disparate_impact", di);
        if let Some(v) = self.equalized_odds_difference {
            e = e.detail("equalized_odds_difference", v);
        }
        if let Some(v) = self.equal_opportunity_difference {
            e = e.detail("equal_opportunity_difference", v);
        }
        for g in &self.groups {
            e = e.detail(format!("selection_rate[{}]", g.group), g.selection_rate);
            if let Some(v) = g.tpr {
                e = e.detail(format!("tpr[{}]", g.group), v);
            }
            if let Some(v) = g.fpr {
                e = e.detail(format!("fpr[{}]", g.group), v);
            }
        }
        e
    }

    /// The first limit of `policy` the report breaks, as a finding.
    pub fn finding(&self, policy: &FairnessPolicy) -> Option<Finding> {
        let (lowest, di) = self.disparate_impact();
        let checks: [(&str, Option<f64>, Option<f64>, bool); 4] = [
            (
                "disparate_impact",
                Some(di),
                policy.min_disparate_impact,
                false,
            ),
            (
                "demographic_parity_difference",
                Some(self.demographic_parity_difference),
                policy.max_demographic_parity_difference,
                true,
            ),
            (
                "equalized_odds_difference",
                self.equalized_odds_difference,
                policy.max_equalized_odds_difference,
                true,
            ),
            (
                "equal_opportunity_difference",
                self.equal_opportunity_difference,
                policy.max_equal_opportunity_difference,
                true,
            ),
        ];
        for (metric, value, limit, upper) in checks {
            let (Some(v), Some(l)) = (value, limit) else {
                continue;
            };
            let broken = if upper { v > l } else { v < l };
            if broken {
                let summary = format!(
                    "Bias on {}: {} is {} ({} {}); lowest selection rate: {}={} ({})",
                    policy.feature,
                    metric,
                    format_value(v),
                    if upper { "limit" } else { "minimum" },
                    format_value(l),
                    policy.feature,
                    lowest.group,
                    format_value(lowest.selection_rate)
                );
                let message = self
                    .groups
                    .iter()
                    .map(|g| {
                        format!(
                            "{}={}: n={} selection={} tpr={} fpr={}",
                            policy.feature,
                            g.group,
                            g.count,
                            format_value(g.selection_rate),
                            g.tpr.map_or("n/a".into(), format_value),
                            g.fpr.map_or("n/a".into(), format_value)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                return Some(Finding {
                    severity: policy.severity,
                    summary,
                    message,
                    evidence: self.evidence(metric, v, l, &policy.feature),
                });
            }
        }
        None
    }
}

/// A bias condition: fires when a report breaks the policy, resolves when a later
/// report does not.
#[derive(Clone, Debug)]
pub struct FairnessRule {
    identity: RuleIdentity,
    policy: FairnessPolicy,
    episode: Episode,
}

impl FairnessRule {
    /// A rule with `policy`. Errors on a limit that is not finite.
    pub fn new(identity: RuleIdentity, policy: FairnessPolicy) -> Result<Self> {
        for (name, v) in [
            (
                "max_demographic_parity_difference",
                policy.max_demographic_parity_difference,
            ),
            ("min_disparate_impact", policy.min_disparate_impact),
            (
                "max_equalized_odds_difference",
                policy.max_equalized_odds_difference,
            ),
            (
                "max_equal_opportunity_difference",
                policy.max_equal_opportunity_difference,
            ),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(ConditionError::param(
                    name,
                    format!("must be finite and >= 0, got {v}"),
                ));
            }
        }
        Ok(FairnessRule {
            identity,
            policy,
            episode: Episode::default(),
        })
    }
    /// Feeds a report at `now`; returns an alert when the rule fires or resolves.
    pub fn observe(&mut self, now: Timestamp, report: &FairnessReport) -> Option<Alert> {
        let f = report.finding(&self.policy);
        let (_, di) = report.disparate_impact();
        let resolved = report.evidence(
            "disparate_impact",
            di,
            self.policy.min_disparate_impact.unwrap_or(0.8),
            &self.policy.feature,
        );
        self.episode.update(&self.identity, now, f, Some(resolved))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Status;

    #[test]
    fn bad_input_is_named() {
        let e = fairness_report(&[true], &[true, false], &["a"]).unwrap_err();
        assert!(e.to_string().contains("y_pred has 2"), "{e}");
        let e = fairness_report(&[true], &[true], &["a", "b"]).unwrap_err();
        assert!(e.to_string().contains("groups has 2"), "{e}");
        let e = fairness_report::<&str>(&[], &[], &[]).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }

    #[test]
    fn undefined_rates_are_none_not_zero() {
        // group b has no positive label: no TPR.
        let r = fairness_report(
            &[true, false, false, false],
            &[true, false, true, false],
            &["a", "a", "b", "b"],
        )
        .unwrap();
        let b = &r.groups[1];
        assert_eq!(b.tpr, None);
        assert_eq!(r.equal_opportunity_difference, None);
        assert_eq!(r.equalized_odds_difference, None);
        let single = fairness_report(&[true, false], &[true, false], &[7u32, 7]).unwrap();
        assert_eq!(single.demographic_parity_difference, 0.0);
        assert_eq!(single.demographic_parity_ratio, 1.0);
        let none = fairness_report(&[true, false], &[false, false], &[1u32, 2]).unwrap();
        assert_eq!(none.demographic_parity_ratio, 1.0);
        assert!(none.four_fifths_violations().is_empty());
    }

    #[test]
    fn many_groups_use_the_hash_index() {
        let n = 2000;
        let groups: Vec<u32> = (0..n).map(|i| (i * 7) % 40).collect();
        let y: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let p: Vec<bool> = (0..n).map(|i| i % 5 < 2).collect();
        let r = fairness_report(&y, &p, &groups).unwrap();
        assert_eq!(r.groups.len(), 40);
        assert_eq!(r.groups.iter().map(|g| g.count).sum::<u64>(), n as u64);
    }

    #[test]
    fn rule_fires_with_breakdown_and_resolves() {
        let y = [true, false, true, false, true, false, true, false];
        let biased = [true, true, true, false, false, false, true, false];
        let g = ["f", "f", "f", "f", "m", "m", "m", "m"];
        let mut rule = FairnessRule::new(
            RuleIdentity::new("Bias"),
            FairnessPolicy {
                feature: "sex".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let now = Timestamp::from_unix_seconds(0).unwrap();
        let a = rule
            .observe(now, &fairness_report(&y, &biased, &g).unwrap())
            .unwrap();
        assert_eq!(a.evidence.segment.as_deref(), Some("sex=m"));
        assert!(a.evidence.details.contains_key("selection_rate[f]"));
        assert!(a.message.contains("sex=f: n=4"), "{}", a.message);
        assert!(
            rule.observe(now, &fairness_report(&y, &biased, &g).unwrap())
                .is_none()
        );
        let fair = [true, false, true, false, true, false, true, false];
        let r = rule
            .observe(now, &fairness_report(&y, &fair, &g).unwrap())
            .unwrap();
        assert_eq!(r.status, Status::Resolved);
        assert!(
            FairnessRule::new(
                RuleIdentity::new("B"),
                FairnessPolicy {
                    min_disparate_impact: Some(f64::NAN),
                    ..Default::default()
                }
            )
            .is_err()
        );
    }
}
