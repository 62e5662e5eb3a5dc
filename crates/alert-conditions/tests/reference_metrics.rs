//! Performance and fairness metrics against scikit-learn and fairlearn values
//! committed in `reference/vectors.json` (regenerate with `reference/generate.py`).

use alert_conditions::fairness::fairness_report;
use alert_conditions::performance::{classification_metrics, regression_metrics};
use alert_conditions::rules::{LearnMethod, LearnedBand};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("reference/vectors.json")).expect("vectors.json parses")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn bools(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() == 1)
        .collect()
}

#[track_caller]
fn assert_rel(got: f64, want: f64, what: &str) {
    let ok = if want == 0.0 {
        got.abs() <= 1e-300
    } else {
        ((got - want) / want).abs() <= 1e-9
    };
    assert!(ok, "{what}: got {got:e}, want {want:e}");
}

#[test]
fn classification_matches_sklearn() {
    let v = vectors();
    for c in v["classification"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let m = classification_metrics(
            &bools(&c["y_true"]),
            &floats(&c["y_score"]),
            c["threshold"].as_f64().unwrap(),
        )
        .unwrap();
        for (k, got) in [
            ("accuracy", m.accuracy),
            ("precision", m.precision),
            ("recall", m.recall),
            ("f1", m.f1),
            ("log_loss", m.log_loss),
            ("roc_auc", m.roc_auc.unwrap()),
        ] {
            assert_rel(got, c[k].as_f64().unwrap(), &format!("{name}.{k}"));
        }
    }
}

#[test]
fn regression_matches_sklearn() {
    let v = vectors();
    for c in v["regression"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let m = regression_metrics(&floats(&c["y_true"]), &floats(&c["y_pred"])).unwrap();
        for (k, got) in [
            ("mae", m.mae),
            ("rmse", m.rmse),
            ("mape", m.mape),
            ("r2", m.r2.unwrap()),
        ] {
            assert_rel(got, c[k].as_f64().unwrap(), &format!("{name}.{k}"));
        }
    }
}

#[test]
fn fairness_matches_fairlearn() {
    let v = vectors();
    for c in v["fairness"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let groups: Vec<&str> = c["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        let r = fairness_report(&bools(&c["y_true"]), &bools(&c["y_pred"]), &groups).unwrap();
        assert_rel(
            r.demographic_parity_difference,
            c["demographic_parity_difference"].as_f64().unwrap(),
            name,
        );
        assert_rel(
            r.demographic_parity_ratio,
            c["demographic_parity_ratio"].as_f64().unwrap(),
            name,
        );
        assert_rel(
            r.equalized_odds_difference.unwrap(),
            c["equalized_odds_difference"].as_f64().unwrap(),
            name,
        );
        assert_rel(
            r.equal_opportunity_difference.unwrap(),
            c["equal_opportunity_difference"].as_f64().unwrap(),
            name,
        );
        let by = c["by_group"].as_object().unwrap();
        assert_eq!(r.groups.len(), by.len(), "{name}");
        for g in &r.groups {
            let want = &by[&g.group];
            assert_rel(
                g.selection_rate,
                want["selection_rate"].as_f64().unwrap(),
                &format!("{name}[{}]", g.group),
            );
            assert_rel(
                g.tpr.unwrap(),
                want["tpr"].as_f64().unwrap(),
                &format!("{name}[{}].tpr", g.group),
            );
            assert_rel(
                g.fpr.unwrap(),
                want["fpr"].as_f64().unwrap(),
                &format!("{name}[{}].fpr", g.group),
            );
        }
    }
}

#[test]
fn learned_band_matches_numpy() {
    let v = vectors();
    let q = &v["quantiles"];
    let x = floats(&q["x"]);
    let l = LearnedBand::learn(&x, LearnMethod::MeanStd { k: 2.0 }).unwrap();
    assert_rel(l.mean, q["mean"].as_f64().unwrap(), "mean");
    assert_rel(l.std, q["std_ddof1"].as_f64().unwrap(), "std");
    let l = LearnedBand::learn(
        &x,
        LearnMethod::Quantiles {
            lower: 0.01,
            upper: 0.99,
        },
    )
    .unwrap();
    let qs = floats(&q["q"]);
    let vals = floats(&q["values"]);
    let at = |p: f64| vals[qs.iter().position(|&x| x == p).unwrap()];
    assert_eq!(l.band.lower, Some(at(0.01)));
    assert_eq!(l.band.upper, Some(at(0.99)));
}
