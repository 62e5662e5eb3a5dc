//! The statistics against scipy/numpy values committed in `reference/vectors.json`
//! (regenerate with `reference/generate.py`).

use std::collections::BTreeMap;

use alert_conditions::drift::NumericProfile;
use alert_conditions::stats::{self, KsMethod};
use alert_conditions::system::LatencyWindow;
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

fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

/// Relative tolerance for statistics and distances.
const STAT_RTOL: f64 = 1e-9;
/// Tolerance for p-values: relative 1e-6, or absolute 1e-300 for values that are 0.
const P_RTOL: f64 = 1e-6;

#[track_caller]
fn assert_rel(got: f64, want: f64, rtol: f64, what: &str) {
    let ok = if want == 0.0 {
        got.abs() <= 1e-300
    } else {
        ((got - want) / want).abs() <= rtol
    };
    assert!(ok, "{what}: got {got:e}, want {want:e} (rtol {rtol:e})");
}

#[test]
fn ks_2samp_matches_scipy() {
    let v = vectors();
    let cases = v["ks"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let r = stats::ks_2samp(&floats(&c["a"]), &floats(&c["b"])).unwrap();
        assert_rel(
            r.statistic,
            c["statistic"].as_f64().unwrap(),
            STAT_RTOL,
            name,
        );
        assert_rel(r.p_value, c["p_value"].as_f64().unwrap(), P_RTOL, name);
        let method = match c["method"].as_str().unwrap() {
            "exact" => KsMethod::Exact,
            _ => KsMethod::Asymptotic,
        };
        assert_eq!(r.method, method, "{name}");
    }
}

#[test]
fn kstwo_and_smirnov_match_scipy() {
    let v = vectors();
    for c in v["kstwo"].as_array().unwrap() {
        let (n, x) = (c["n"].as_u64().unwrap(), c["x"].as_f64().unwrap());
        let want = c["sf"].as_f64().unwrap();
        assert_rel(
            stats::kstwo_sf(n, x),
            want,
            P_RTOL,
            &format!("kstwo.sf({x}, {n})"),
        );
    }
    for c in v["smirnov"].as_array().unwrap() {
        let (n, x) = (c["n"].as_u64().unwrap(), c["x"].as_f64().unwrap());
        let want = c["sf"].as_f64().unwrap();
        assert_rel(
            stats::smirnov_sf(n, x),
            want,
            P_RTOL,
            &format!("smirnov({n}, {x})"),
        );
    }
}

#[test]
fn wasserstein_matches_scipy() {
    let v = vectors();
    for c in v["wasserstein"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (u, v) = (floats(&c["u"]), floats(&c["v"]));
        let d = stats::wasserstein_distance(&u, &v).unwrap();
        assert_rel(d, c["distance"].as_f64().unwrap(), STAT_RTOL, name);
        // Evidently's normalisation: d / max(np.std(u), 0.001).
        let normed = NumericProfile::from_values(&u)
            .unwrap()
            .wasserstein_normed(&v)
            .unwrap();
        assert_rel(
            normed,
            c["normed"].as_f64().unwrap(),
            STAT_RTOL,
            &format!("{name} (normed)"),
        );
    }
}

#[test]
fn psi_and_js_on_quantile_bins_match_numpy_and_scipy() {
    let v = vectors();
    for c in v["binned"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (r, cur) = (floats(&c["reference"]), floats(&c["current"]));
        let bins = c["bins"].as_u64().unwrap() as usize;
        let p = stats::psi(&r, &cur, bins).unwrap();
        assert_eq!(p.edges, floats(&c["edges"]), "{name}: edges");
        let rc: Vec<u64> = c["reference_counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        let cc: Vec<u64> = c["current_counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(p.reference_counts, rc, "{name}: reference counts");
        assert_eq!(p.current_counts, cc, "{name}: current counts");
        assert_rel(p.value, c["psi"].as_f64().unwrap(), STAT_RTOL, name);
        let js = stats::jensen_shannon(&r, &cur, bins).unwrap();
        assert_rel(js.value, c["js"].as_f64().unwrap(), STAT_RTOL, name);
    }
}

#[test]
fn categorical_tests_match_scipy() {
    let v = vectors();
    for c in v["categorical"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (r, cur) = (counts(&c["reference"]), counts(&c["current"]));
        for (key, yates) in [("homogeneity", false), ("homogeneity_yates", true)] {
            let h = stats::chi2_homogeneity(&r, &cur, yates).unwrap();
            let want = &c[key];
            assert_rel(
                h.statistic,
                want["statistic"].as_f64().unwrap(),
                STAT_RTOL,
                name,
            );
            assert_rel(h.p_value, want["p_value"].as_f64().unwrap(), P_RTOL, name);
            assert_eq!(h.dof, want["dof"].as_u64().unwrap(), "{name}");
        }
        match c.get("goodness_of_fit") {
            Some(want) => {
                let g = stats::chi2_goodness_of_fit(&r, &cur).unwrap();
                assert_rel(
                    g.statistic,
                    want["statistic"].as_f64().unwrap(),
                    STAT_RTOL,
                    name,
                );
                assert_rel(g.p_value, want["p_value"].as_f64().unwrap(), P_RTOL, name);
            }
            None => {
                let e = stats::chi2_goodness_of_fit(&r, &cur).unwrap_err();
                assert!(e.to_string().contains("never saw"), "{name}: {e}");
            }
        }
        let psi = stats::psi_categorical(&r, &cur, stats::PSI_EPSILON).unwrap();
        assert_rel(psi, c["psi"].as_f64().unwrap(), STAT_RTOL, name);
        let js = stats::jensen_shannon_categorical(&r, &cur).unwrap();
        assert_rel(js, c["js"].as_f64().unwrap(), STAT_RTOL, name);
    }
    for c in v["chi2_sf"].as_array().unwrap() {
        let (x, dof) = (c["x"].as_f64().unwrap(), c["dof"].as_f64().unwrap());
        assert_rel(
            stats::chi2_sf(x, dof).unwrap(),
            c["sf"].as_f64().unwrap(),
            P_RTOL,
            &format!("chi2.sf({x}, {dof})"),
        );
    }
}

#[test]
fn quantiles_match_numpy() {
    let v = vectors();
    let q = &v["quantiles"];
    let x = floats(&q["x"]);
    // The latency window computes the same quantiles (by selection, bounded memory).
    let at = alert_core::Timestamp::from_unix_seconds(1_800_000_000).unwrap();
    let mut latency = LatencyWindow::new(std::time::Duration::from_secs(60));
    for &v in &x {
        latency.record(at, v).unwrap();
    }
    for (q, want) in floats(&q["q"]).into_iter().zip(floats(&q["values"])) {
        assert_eq!(stats::quantile(&x, q).unwrap(), want, "q={q}");
        assert_eq!(
            latency.quantile(at, q).unwrap(),
            Some(want),
            "latency q={q}"
        );
    }
}
