//! Every kind of bad input gets a defined result or an error naming what is wrong:
//! never a panic, never a NaN in a result or an alert.

use std::collections::BTreeMap;
use std::time::Duration;

use alert_conditions::drift::{
    ColumnTest, Dataset, DatasetProfile, DriftMethod, DriftOptions, DriftRule, NumericProfile,
    detect_drift,
};
use alert_conditions::fairness::fairness_report;
use alert_conditions::performance::{classification_metrics, regression_metrics};
use alert_conditions::rules::{Band, ThresholdRule, ThresholdSpec};
use alert_conditions::stats;
use alert_conditions::system::LatencyWindow;
use alert_conditions::{ConditionError, RuleIdentity};
use alert_core::Timestamp;

fn t(s: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + s).unwrap()
}

fn err_text<T: std::fmt::Debug>(r: Result<T, ConditionError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn nan_and_infinities_are_named_with_their_index() {
    let e = err_text(stats::ks_2samp(&[1.0, 2.0, f64::NAN], &[1.0]));
    assert!(
        e.contains("first sample") && e.contains("index 2") && e.contains("NaN"),
        "{e}"
    );
    let e = err_text(stats::wasserstein_distance(&[1.0], &[f64::NEG_INFINITY]));
    assert!(e.contains("second sample") && e.contains("-inf"), "{e}");
    let e = err_text(stats::psi(&[1.0, f64::INFINITY], &[1.0], 10));
    assert!(e.contains("reference"), "{e}");
    let e = err_text(regression_metrics(&[1.0, f64::NAN], &[1.0, 2.0]));
    assert!(e.contains("y_true") && e.contains("index 1"), "{e}");
    let mut rule =
        ThresholdRule::new(ThresholdSpec::new("R", "m").warning(Band::above(1.0))).unwrap();
    assert!(rule.observe(t(0), f64::NAN).is_err());
    assert!(rule.observe(t(0), f64::INFINITY).is_err());
    assert!(!rule.is_firing(), "a NaN sample never fires");
}

#[test]
fn empty_windows() {
    assert!(err_text(stats::ks_2samp(&[], &[1.0])).contains("empty"));
    assert!(err_text(stats::psi(&[1.0], &[], 10)).contains("current is empty"));
    assert!(err_text(classification_metrics(&[], &[], 0.5)).contains("empty"));
    let mut w = LatencyWindow::new(Duration::from_secs(60));
    assert_eq!(w.quantile(t(0), 0.99).unwrap(), None);
    let e = err_text(stats::chi2_homogeneity(
        &BTreeMap::new(),
        &BTreeMap::from([("a".to_owned(), 1)]),
        false,
    ));
    assert!(e.contains("reference is empty"), "{e}");
}

#[test]
fn single_samples_are_defined() {
    let r = stats::ks_2samp(&[1.0], &[1.0]).unwrap();
    assert_eq!((r.statistic, r.p_value), (0.0, 1.0));
    assert_eq!(stats::wasserstein_distance(&[1.0], &[4.0]).unwrap(), 3.0);
    let p = stats::psi(&[1.0], &[1.0], 10).unwrap();
    assert_eq!(p.value, 0.0);
    assert_eq!(regression_metrics(&[1.0], &[2.0]).unwrap().r2, None);
    assert_eq!(
        classification_metrics(&[true], &[0.9], 0.5)
            .unwrap()
            .roc_auc,
        None
    );
}

#[test]
fn constant_columns_are_defined() {
    let c = vec![3.0; 500];
    let r = stats::ks_2samp(&c, &c).unwrap();
    assert_eq!(r.p_value, 1.0);
    let p = NumericProfile::from_values(&c).unwrap();
    assert_eq!(p.wasserstein_normed(&c).unwrap(), 0.0);
    assert!(p.wasserstein_normed(&[4.0; 10]).unwrap().is_finite());
    assert!(stats::psi(&c, &[4.0; 10], 10).unwrap().value.is_finite());
    assert!(
        stats::jensen_shannon(&c, &[4.0; 10], 10)
            .unwrap()
            .value
            .is_finite()
    );
    let d = Dataset::new()
        .numeric("c", c.clone())
        .categorical("k", vec!["x"; 500]);
    let profile = DatasetProfile::from_dataset(&d).unwrap();
    let drift = detect_drift(&profile, &d, &DriftOptions::default()).unwrap();
    assert!(
        drift
            .columns
            .iter()
            .all(|c| c.score.is_finite() && !c.drifted)
    );
}

#[test]
fn values_near_f64_max_give_defined_distances() {
    // The exact answers: both CDFs differ by 1/2 over [-1e308, 1e308), so W = 1e308;
    // the reference's std (ddof 0) is 1e308, so the normalised distance is 1. Plain
    // arithmetic overflows (2e308, 1e308 squared): numpy's std and scipy's distance
    // give inf, and inf / inf is NaN, which would read as "not drifted".
    let reference = [-1e308, 1e308];
    let current = [1e308, 1e308];
    let w = stats::wasserstein_distance(&reference, &current).unwrap();
    assert!((w - 1e308).abs() <= 1e308 * 1e-15, "{w:e}");
    let p = NumericProfile::from_values(&reference).unwrap();
    assert!((p.std(0).unwrap() - 1e308).abs() <= 1e308 * 1e-15);
    let normed = p.wasserstein_normed(&current).unwrap();
    assert!((normed - 1.0).abs() < 1e-15, "{normed}");
    let max = NumericProfile::from_values(&[f64::MAX, f64::MAX]).unwrap();
    assert_eq!(max.mean().unwrap(), f64::MAX);
    assert_eq!(max.std(0).unwrap(), 0.0);

    // A distance beyond f64::MAX is an error naming it, never inf or NaN.
    let constant = NumericProfile::from_values(&[1e308; 3]).unwrap();
    let e = err_text(constant.wasserstein_normed(&[-1e308]));
    assert!(
        e.contains("normalised Wasserstein distance is undefined")
            && e.contains("exceeds the largest f64"),
        "{e}"
    );
    let e = err_text(stats::wasserstein_distance(&[1e308], &[-1e308]));
    assert!(e.contains("wasserstein_distance is undefined"), "{e}");

    // Dataset drift on such a column: a finite score, drifted.
    let reference = Dataset::new().numeric("x", vec![-1e308, 1e308, 0.0, 5e307, -5e307, 1.0]);
    let profile = DatasetProfile::from_dataset(&reference).unwrap();
    let mut options = DriftOptions::default();
    options.columns.insert(
        "x".into(),
        ColumnTest {
            method: DriftMethod::Wasserstein,
            threshold: None,
        },
    );
    let current = Dataset::new().numeric("x", vec![1e308; 6]);
    let d = detect_drift(&profile, &current, &options).unwrap();
    assert!(
        d.columns[0].score.is_finite() && d.columns[0].drifted,
        "{d:?}"
    );
}

#[test]
fn mismatched_lengths_are_named() {
    let e = err_text(classification_metrics(&[true, false], &[0.5], 0.5));
    assert!(
        e.contains("y_true has 2") && e.contains("y_score has 1"),
        "{e}"
    );
    let e = err_text(fairness_report(&[true], &[true], &["a", "b"]));
    assert!(e.contains("groups has 2"), "{e}");
    let e = err_text(
        Dataset::new()
            .numeric("a", vec![1.0])
            .numeric("b", vec![1.0, 2.0])
            .rows(),
    );
    assert!(e.contains("column b has 2"), "{e}");
    let e = err_text(stats::psi_from_counts(&[1, 2, 3], &[1, 2], 1e-4));
    assert!(e.contains("reference counts has 3"), "{e}");
}

#[test]
fn unknown_categories() {
    let r = BTreeMap::from([("a".to_owned(), 10u64), ("b".to_owned(), 10)]);
    let c = BTreeMap::from([("a".to_owned(), 10u64), ("new".to_owned(), 10)]);
    let h = stats::chi2_homogeneity(&r, &c, false).unwrap();
    assert!(h.p_value.is_finite() && h.p_value < 0.01);
    assert!(
        stats::psi_categorical(&r, &c, stats::PSI_EPSILON)
            .unwrap()
            .is_finite()
    );
    assert!(
        stats::jensen_shannon_categorical(&r, &c)
            .unwrap()
            .is_finite()
    );
    match stats::chi2_goodness_of_fit(&r, &c) {
        Err(ConditionError::UnknownCategory { category, .. }) => assert_eq!(category, "new"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn drift_alert_names_the_drifted_columns_and_never_carries_nan() {
    let n = 3000;
    let reference = Dataset::new()
        .numeric("age", (0..n).map(|i| 20.0 + (i % 50) as f64).collect())
        .numeric("income", (0..n).map(|i| 1000.0 + (i % 97) as f64).collect())
        .categorical(
            "plan",
            (0..n).map(|i| if i % 4 == 0 { "pro" } else { "free" }),
        );
    let current = Dataset::new()
        .numeric("age", (0..n).map(|i| 35.0 + (i % 50) as f64).collect())
        .numeric(
            "income",
            (0..n)
                .map(|i| {
                    if i % 7 == 0 {
                        f64::NAN
                    } else {
                        1000.0 + (i % 97) as f64
                    }
                })
                .collect(),
        )
        .categorical(
            "plan",
            (0..n).map(|i| if i % 2 == 0 { "pro" } else { "free" }),
        );
    let profile = DatasetProfile::from_dataset(&reference).unwrap();
    let mut rule = DriftRule::new(
        RuleIdentity::new("DataDrift").label("model", "bikes"),
        profile,
        DriftOptions::default(),
    );
    let (drift, alert) = rule.evaluate(t(0), &current).unwrap();
    let alert = alert.expect("2 of 3 columns drift");
    assert_eq!(drift.share, 2.0 / 3.0);
    let keys: Vec<&String> = alert.evidence.details.keys().collect();
    assert_eq!(keys, ["age.wasserstein", "plan.jensen_shannon"]);
    assert!(alert.summary.contains("age, plan"), "{}", alert.summary);
    assert!(alert.evidence.details.values().all(|v| v.is_finite()));
    assert_eq!(
        drift.columns[1].current_missing,
        (0..n).filter(|i| i % 7 == 0).count() as u64
    );
    // Same data again: no new alert; back to the reference: resolved.
    assert!(rule.evaluate(t(60), &current).unwrap().1.is_none());
    let resolved = rule.evaluate(t(120), &reference).unwrap().1.unwrap();
    assert!(resolved.is_resolved());
    assert_eq!(resolved.fingerprint(), alert.fingerprint());
}
