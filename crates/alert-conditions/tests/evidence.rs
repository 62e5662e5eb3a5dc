//! The typed evidence of the alerts each condition emits: statistic, p-value,
//! window, sample size and segment are filled wherever they mean something, and no
//! number a condition computed is lost on the way to the alert.

use alert_conditions::RuleIdentity;
use alert_conditions::drift::{
    ColumnTest, Dataset, DatasetProfile, DriftMethod, DriftOptions, DriftRule,
};
use alert_core::{Status, Timestamp};

fn t(s: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + s).unwrap()
}

/// A KS column keeps both its p-value and its statistic D in the dataset alert, and
/// its own evidence has them as typed fields.
#[test]
fn drift_alert_keeps_ks_statistic_and_p_value() {
    // reference 0..200, current 100..300: scipy.stats.ks_2samp gives D = 0.5,
    // p = 4.3551245255930685e-23 (exact method).
    let reference = Dataset::new()
        .numeric("x", (0..200).map(f64::from).collect())
        .categorical("plan", (0..200).map(|i| if i % 2 == 0 { "a" } else { "b" }));
    let current = Dataset::new()
        .numeric("x", (100..300).map(f64::from).collect())
        .categorical("plan", (0..200).map(|i| if i % 2 == 0 { "a" } else { "b" }));
    let profile = DatasetProfile::from_dataset(&reference).unwrap();
    let mut rule = DriftRule::new(
        RuleIdentity::new("DataDrift").label("model", "bikes"),
        profile,
        DriftOptions {
            drift_share: 0.5,
            ..DriftOptions::default()
        },
    )
    .with_window("2026-11-24");
    let (drift, alert) = rule.evaluate(t(0), &current).unwrap();
    let alert = alert.expect("one of two columns drifts: share 0.5 fires");
    let e = &alert.evidence;
    assert_eq!(e.metric.as_deref(), Some("dataset_drift"));
    assert_eq!(e.observed, Some(0.5));
    assert_eq!(e.threshold, Some(0.5));
    assert_eq!(e.sample_size, Some(200));
    assert_eq!(e.window.as_deref(), Some("2026-11-24"));
    assert_eq!(
        e.details.keys().collect::<Vec<_>>(),
        ["x.ks", "x.ks.statistic"]
    );
    assert_eq!(e.details["x.ks.statistic"], 0.5);
    let p = e.details["x.ks"];
    assert!(
        ((p - 4.355_124_525_593_068_5e-23) / 4.355_124_525_593_068_5e-23).abs() < 1e-6,
        "{p:e}"
    );

    // The column's own evidence, fully typed.
    let x = drift.columns[0].evidence();
    assert_eq!(x.metric.as_deref(), Some("feature:x"));
    assert_eq!(x.test.as_deref(), Some("ks"));
    assert_eq!(x.statistic, Some(0.5));
    assert_eq!(x.p_value, Some(p));
    assert_eq!(x.observed, Some(p));
    assert_eq!(x.threshold, Some(0.05));
    assert_eq!(x.sample_size, Some(200));
    assert_eq!(x.details["reference_size"], 200.0);
    assert_eq!(x.details["current_missing"], 0.0);
    // A chi-square column: statistic 0 and p-value 1 for identical shares.
    let plan = drift.columns[1].evidence();
    assert_eq!(plan.test.as_deref(), Some("chi_square"));
    assert_eq!((plan.statistic, plan.p_value), (Some(0.0), Some(1.0)));

    // The resolution carries the window and the recovered share.
    let resolved = rule.evaluate(t(60), &reference).unwrap().1.unwrap();
    assert_eq!(resolved.status, Status::Resolved);
    assert_eq!(resolved.evidence.window.as_deref(), Some("2026-11-24"));
    assert_eq!(resolved.evidence.observed, Some(0.0));
}

/// A distance column has its distance as statistic and no p-value.
#[test]
fn distance_column_evidence_has_no_p_value() {
    let reference = Dataset::new().numeric("x", (0..200).map(f64::from).collect());
    let current = Dataset::new().numeric("x", (100..300).map(f64::from).collect());
    let profile = DatasetProfile::from_dataset(&reference).unwrap();
    let mut options = DriftOptions::default();
    options.columns.insert(
        "x".into(),
        ColumnTest {
            method: DriftMethod::Wasserstein,
            threshold: Some(0.2),
        },
    );
    let mut rule = DriftRule::new(RuleIdentity::new("DataDrift"), profile, options);
    let (drift, alert) = rule.evaluate(t(0), &current).unwrap();
    let e = alert.unwrap().evidence;
    assert_eq!(e.details.keys().collect::<Vec<_>>(), ["x.wasserstein"]);
    let c = drift.columns[0].evidence();
    // W = 100; std of 0..200 (ddof 0) = sqrt((200^2 - 1) / 12) = 57.734305...
    let want = 100.0 / ((200.0f64 * 200.0 - 1.0) / 12.0).sqrt();
    assert!((c.statistic.unwrap() - want).abs() < 1e-12 * want);
    assert_eq!(c.p_value, None);
    assert_eq!(c.threshold, Some(0.2));
}
