//! Bias metrics across groups of a sensitive feature, as fairlearn defines them,
//! with a per-group breakdown, and the rule that alerts on them.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;

use alert_core::{Alert, Evidence, Severity, Timestamp, format_value};
use serde::{Deserialize, Serialize};

use crate::alerting::{Episode, Finding, RuleIdentity};
use crate::error::{ConditionError, Result};
use crate::stats::{ChiSquareResult, chi2_homogeneity_from_counts};

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
    /// Checks a report that did not come from [`fairness_report`] (it is
    /// deserialisable, and its fields are public): at least one group, each with at
    /// least one row, rates in `[0, 1]`, metrics finite. The rule runs this before
    /// using a report.
    pub fn validate(&self) -> Result<()> {
        if self.groups.is_empty() {
            return Err(ConditionError::empty("fairness report groups", 1));
        }
        for (i, g) in self.groups.iter().enumerate() {
            let what = format!("fairness report group {:?}", g.group);
            if g.count == 0 {
                return Err(ConditionError::invalid(what, i, "count is 0"));
            }
            for (name, rate) in [
                ("selection_rate", Some(g.selection_rate)),
                ("tpr", g.tpr),
                ("fpr", g.fpr),
            ] {
                if let Some(r) = rate
                    && !(0.0..=1.0).contains(&r)
                {
                    return Err(ConditionError::invalid(
                        what,
                        i,
                        format!("{name} {r} is not a rate in [0, 1]"),
                    ));
                }
            }
        }
        for (name, v) in [
            (
                "demographic_parity_difference",
                Some(self.demographic_parity_difference),
            ),
            (
                "demographic_parity_ratio",
                Some(self.demographic_parity_ratio),
            ),
            ("equalized_odds_difference", self.equalized_odds_difference),
            (
                "equal_opportunity_difference",
                self.equal_opportunity_difference,
            ),
        ] {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return Err(ConditionError::invalid(
                    format!("fairness report {name}"),
                    0,
                    format!("{v} is not in [0, 1]"),
                ));
            }
        }
        Ok(())
    }

    /// The group with the lowest selection rate and its ratio to the highest: the
    /// disparate impact ratio (fairlearn's `demographic_parity_ratio`). Errors on a
    /// report without groups.
    pub fn disparate_impact(&self) -> Result<(&GroupRates, f64)> {
        let lowest = self
            .groups
            .iter()
            .min_by(|a, b| a.selection_rate.total_cmp(&b.selection_rate))
            .ok_or_else(|| ConditionError::empty("fairness report groups", 1))?;
        Ok((lowest, self.demographic_parity_ratio))
    }

    /// Whether the selection rate depends on the group: the chi-square test of
    /// independence on the groups x (selected, not selected) table, as
    /// `scipy.stats.chi2_contingency(table, correction=False)` computes it. A small
    /// p-value says the disparity is unlikely to be chance (small groups give large
    /// p-values). With one group, or when every row or no row is selected, there is
    /// nothing to test: statistic 0, p-value 1, no degree of freedom (scipy raises
    /// on such a table).
    pub fn selection_test(&self) -> Result<ChiSquareResult> {
        self.validate()?;
        let (selected, rest): (Vec<u64>, Vec<u64>) = self
            .groups
            .iter()
            .map(|g| {
                let s = ((g.selection_rate * g.count as f64).round() as u64).min(g.count);
                (s, g.count - s)
            })
            .unzip();
        if selected.iter().all(|&s| s == 0) || rest.iter().all(|&r| r == 0) {
            return Ok(ChiSquareResult {
                statistic: 0.0,
                p_value: 1.0,
                dof: 0,
            });
        }
        chi2_homogeneity_from_counts(&selected, &rest, false)
    }

    /// Groups whose selection rate is below four fifths of the highest group's
    /// (the four-fifths rule of adverse impact): `rate / max rate < 0.8`, the
    /// per-group form of fairlearn's `demographic_parity_ratio`.
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
    /// Evidence with the per-group breakdown: the metric against its limit, the
    /// group with the lowest selection rate as segment (`sex=female`), the rows as
    /// sample size, the [`selection_test`](Self::selection_test) as test
    /// (`chi_square`), statistic and p-value; details `selection_rate[g]`, `tpr[g]`,
    /// `fpr[g]`, `count[g]`, and the overall metrics. Errors on an invalid report
    /// (see [`validate`](Self::validate)).
    pub fn evidence(
        &self,
        metric: &str,
        observed: f64,
        threshold: f64,
        feature: &str,
    ) -> Result<Evidence> {
        let test = self.selection_test()?;
        let (lowest, di) = self.disparate_impact()?;
        let mut e = Evidence::metric(metric)
            .observed(observed)
            .threshold(threshold)
            .segment(format!("{feature}={}", lowest.group))
            .sample_size(self.groups.iter().map(|g| g.count).sum())
            .test("chi_square", test.statistic)
            .p_value(test.p_value)
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
            e = e.detail(format!("count[{}]", g.group), g.count as f64);
            e = e.detail(format!("selection_rate[{}]", g.group), g.selection_rate);
            if let Some(v) = g.tpr {
                e = e.detail(format!("tpr[{}]", g.group), v);
            }
            if let Some(v) = g.fpr {
                e = e.detail(format!("fpr[{}]", g.group), v);
            }
        }
        Ok(e)
    }

    /// The first limit of `policy` the report breaks, as a finding. Errors on an
    /// invalid report (see [`validate`](Self::validate)).
    pub fn finding(&self, policy: &FairnessPolicy) -> Result<Option<Finding>> {
        self.validate()?;
        let (lowest, di) = self.disparate_impact()?;
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
                return Ok(Some(Finding {
                    severity: policy.severity,
                    summary,
                    message,
                    evidence: self.evidence(metric, v, l, &policy.feature)?,
                }));
            }
        }
        Ok(None)
    }
}

/// A bias condition: fires when a report breaks the policy, resolves when a later
/// report does not.
#[derive(Clone, Debug)]
pub struct FairnessRule {
    identity: RuleIdentity,
    policy: FairnessPolicy,
    window: Option<String>,
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
            window: None,
            episode: Episode::default(),
        })
    }
    /// Names the window the reports cover (`"last 24h"`), carried into the evidence
    /// of every alert.
    pub fn with_window(mut self, window: impl Into<String>) -> Self {
        self.window = Some(window.into());
        self
    }
    /// Whether the rule is firing.
    pub fn is_firing(&self) -> bool {
        self.episode.is_active()
    }
    /// Feeds a report at `now`; returns an alert when the rule fires or resolves.
    /// An invalid report (no group, a rate outside `[0, 1]`: see
    /// [`FairnessReport::validate`]) is an error and leaves the rule as it was.
    pub fn observe(&mut self, now: Timestamp, report: &FairnessReport) -> Result<Option<Alert>> {
        let with_window = |mut e: Evidence| {
            e.window.clone_from(&self.window);
            e
        };
        let f = report.finding(&self.policy)?.map(|mut f| {
            f.evidence = with_window(f.evidence);
            f
        });
        let (_, di) = report.disparate_impact()?;
        let resolved = with_window(report.evidence(
            "disparate_impact",
            di,
            self.policy.min_disparate_impact.unwrap_or(0.8),
            &self.policy.feature,
        )?);
        Ok(self.episode.update(&self.identity, now, f, Some(resolved)))
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
        // 41 groups (past the linear scan); values from fairlearn 0.15 (MetricFrame
        // by_group, demographic_parity_*, equalized_odds_difference,
        // equal_opportunity_difference) on the same data.
        let n = 2000u32;
        let groups: Vec<u32> = (0..n).map(|i| (i * 7) % 41).collect();
        let y: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let p: Vec<bool> = (0..n).map(|i| i % 5 < 2 || i % 11 == 0).collect();
        let r = fairness_report(&y, &p, &groups).unwrap();
        assert_eq!(r.groups.len(), 41);
        assert_eq!(r.groups.iter().map(|g| g.count).sum::<u64>(), u64::from(n));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        let group = |name: &str| r.groups.iter().find(|g| g.group == name).unwrap();
        for (name, count, sel, tpr, fpr) in [
            (
                "0",
                49,
                0.469_387_755_102_040_84,
                0.470_588_235_294_117_64,
                0.468_75,
            ),
            (
                "1",
                49,
                0.448_979_591_836_734_7,
                0.411_764_705_882_352_9,
                0.468_75,
            ),
            ("13", 48, 0.4375, 0.4375, 0.4375),
            ("40", 48, 0.458_333_333_333_333_3, 0.4375, 0.468_75),
        ] {
            let g = group(name);
            assert_eq!(g.count, count, "{name}");
            assert!(close(g.selection_rate, sel), "{name}: {g:?}");
            assert!(close(g.tpr.unwrap(), tpr), "{name}: {g:?}");
            assert!(close(g.fpr.unwrap(), fpr), "{name}: {g:?}");
        }
        assert!(close(r.demographic_parity_difference, 0.0625));
        assert!(close(r.demographic_parity_ratio, 0.869_565_217_391_304_3));
        assert!(close(r.equalized_odds_difference.unwrap(), 0.1875));
        assert!(close(r.equal_opportunity_difference.unwrap(), 0.1875));
        let (lowest, di) = r.disparate_impact().unwrap();
        assert_eq!(lowest.group, "19");
        assert!(close(lowest.selection_rate, 0.416_666_666_666_666_7));
        assert_eq!(di, r.demographic_parity_ratio);
    }

    /// Three groups of 10 rows (5 positive labels each) selected 6, 3 and 5 times.
    fn three_groups() -> (Vec<bool>, Vec<bool>, Vec<&'static str>) {
        let (mut y, mut p, mut g) = (Vec::new(), Vec::new(), Vec::new());
        for (name, tp, fp) in [("a", 4, 2), ("b", 2, 1), ("c", 3, 2)] {
            for i in 0..5 {
                y.push(true);
                p.push(i < tp);
                g.push(name);
            }
            for i in 0..5 {
                y.push(false);
                p.push(i < fp);
                g.push(name);
            }
        }
        (y, p, g)
    }

    #[test]
    fn four_fifths_rule_flags_the_groups_below_it() {
        let (y, p, g) = three_groups();
        let r = fairness_report(&y, &p, &g).unwrap();
        // Selection rates a 0.6, b 0.3, c 0.5; rate / max: a 1, b 0.5, c 0.8333.
        // fairlearn: demographic_parity_difference 0.3, demographic_parity_ratio 0.5,
        // equalized_odds_difference 0.4, equal_opportunity_difference 0.4.
        let rates: Vec<(&str, f64)> = r
            .groups
            .iter()
            .map(|g| (g.group.as_str(), g.selection_rate))
            .collect();
        assert_eq!(rates, [("a", 0.6), ("b", 0.3), ("c", 0.5)]);
        assert!((r.demographic_parity_difference - 0.3).abs() < 1e-15);
        assert_eq!(r.demographic_parity_ratio, 0.5);
        assert_eq!(r.equalized_odds_difference, Some(0.4));
        assert_eq!(r.equal_opportunity_difference, Some(0.4));
        let violations: Vec<&str> = r
            .four_fifths_violations()
            .iter()
            .map(|g| g.group.as_str())
            .collect();
        assert_eq!(violations, ["b"], "c at 0.833 passes, b at 0.5 does not");
        let (lowest, di) = r.disparate_impact().unwrap();
        assert_eq!((lowest.group.as_str(), di), ("b", 0.5));
        // scipy.stats.chi2_contingency([[6, 4], [3, 7], [5, 5]], correction=False)
        let t = r.selection_test().unwrap();
        assert_eq!(t.dof, 2);
        assert!(
            (t.statistic - 1.874_999_999_999_999_8).abs() < 1e-12,
            "{t:?}"
        );
        assert!((t.p_value - 0.391_605_626_676_799).abs() < 1e-9, "{t:?}");

        // The rule at the default policy fires on the disparate impact first.
        let mut rule = FairnessRule::new(
            RuleIdentity::new("Bias"),
            FairnessPolicy {
                feature: "region".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .with_window("2026-11-24");
        let now = Timestamp::from_unix_seconds(0).unwrap();
        let a = rule.observe(now, &r).unwrap().unwrap();
        let e = &a.evidence;
        assert_eq!(e.metric.as_deref(), Some("disparate_impact"));
        assert_eq!((e.observed, e.threshold), (Some(0.5), Some(0.8)));
        assert_eq!(e.segment.as_deref(), Some("region=b"));
        assert_eq!(e.sample_size, Some(30));
        assert_eq!(e.window.as_deref(), Some("2026-11-24"));
        assert_eq!(e.test.as_deref(), Some("chi_square"));
        assert_eq!(
            (e.statistic, e.p_value),
            (Some(t.statistic), Some(t.p_value))
        );
        assert_eq!(e.details["count[b]"], 10.0);
        assert_eq!(e.details["selection_rate[b]"], 0.3);
        assert!(
            a.summary.contains(
                "disparate_impact is 0.5 (minimum 0.8); lowest selection rate: region=b (0.3)"
            ),
            "{}",
            a.summary
        );
    }

    #[test]
    fn a_report_without_groups_is_an_error_not_a_panic() {
        let empty: FairnessReport = serde_json::from_str(
            r#"{"groups": [], "demographic_parity_difference": 0.0,
                "demographic_parity_ratio": 1.0, "equalized_odds_difference": null,
                "equal_opportunity_difference": null}"#,
        )
        .unwrap();
        let mut rule =
            FairnessRule::new(RuleIdentity::new("Bias"), FairnessPolicy::default()).unwrap();
        let now = Timestamp::from_unix_seconds(0).unwrap();
        let e = rule.observe(now, &empty).unwrap_err();
        assert_eq!(
            e.to_string(),
            "fairness report groups is empty: at least 1 value(s) are needed"
        );
        assert!(empty.disparate_impact().is_err());
        assert!(!rule.is_firing());

        let (y, p, g) = three_groups();
        let mut bad = fairness_report(&y, &p, &g).unwrap();
        bad.groups[1].selection_rate = 1.5;
        let e = rule.observe(now, &bad).unwrap_err();
        assert!(
            e.to_string().contains("selection_rate 1.5 is not a rate"),
            "{e}"
        );
        // Nothing selected anywhere: nothing to test, p-value 1.
        let none = fairness_report(&y, &vec![false; y.len()], &g).unwrap();
        let t = none.selection_test().unwrap();
        assert_eq!((t.statistic, t.p_value, t.dof), (0.0, 1.0, 0));
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
            .unwrap()
            .unwrap();
        assert_eq!(a.evidence.segment.as_deref(), Some("sex=m"));
        assert!(a.evidence.details.contains_key("selection_rate[f]"));
        assert!(a.message.contains("sex=f: n=4"), "{}", a.message);
        assert!(
            rule.observe(now, &fairness_report(&y, &biased, &g).unwrap())
                .unwrap()
                .is_none()
        );
        let fair = [true, false, true, false, true, false, true, false];
        let r = rule
            .observe(now, &fairness_report(&y, &fair, &g).unwrap())
            .unwrap()
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
