//! Tests and distances between categorical distributions given as counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::distance::{jensen_shannon_from_counts, psi_from_counts};
use crate::error::{ConditionError, Result};

/// The result of a chi-square test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChiSquareResult {
    /// The chi-square statistic.
    pub statistic: f64,
    /// The p-value, `chi2.sf(statistic, dof)`.
    pub p_value: f64,
    /// Degrees of freedom.
    pub dof: u64,
}

/// The survival function of the chi-square distribution, `scipy.stats.chi2.sf`.
pub fn chi2_sf(x: f64, dof: f64) -> Result<f64> {
    if !(dof > 0.0 && dof.is_finite()) {
        return Err(ConditionError::param(
            "dof",
            format!("must be > 0, got {dof}"),
        ));
    }
    if x.is_nan() {
        return Err(ConditionError::param("x", "is NaN"));
    }
    if x <= 0.0 {
        return Ok(1.0);
    }
    if x.is_infinite() {
        return Ok(0.0);
    }
    statrs::function::gamma::checked_gamma_ur(dof / 2.0, x / 2.0)
        .map(|p| p.clamp(0.0, 1.0))
        .map_err(|e| ConditionError::undefined("chi2.sf", e.to_string()))
}

/// Counts of each category in the reference and the current data, aligned on the
/// union of categories (in sorted order); categories with no count on both sides
/// are dropped.
fn align(
    reference: &BTreeMap<String, u64>,
    current: &BTreeMap<String, u64>,
) -> (Vec<String>, Vec<u64>, Vec<u64>) {
    let mut names = Vec::new();
    let (mut r, mut c) = (Vec::new(), Vec::new());
    let mut keys: Vec<&String> = reference.keys().chain(current.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (a, b) = (
            reference.get(k).copied().unwrap_or(0),
            current.get(k).copied().unwrap_or(0),
        );
        if a + b > 0 {
            names.push(k.clone());
            r.push(a);
            c.push(b);
        }
    }
    (names, r, c)
}

fn check_nonempty(what: &str, counts: &BTreeMap<String, u64>) -> Result<u64> {
    let n: u64 = counts.values().sum();
    if n == 0 {
        return Err(ConditionError::empty(what, 1));
    }
    Ok(n)
}

/// The chi-square test of homogeneity between reference and current category counts
/// (see the [`stats`](crate::stats) module docs for why this one is the default).
///
/// With `yates` set and exactly two categories (one degree of freedom), Yates'
/// continuity correction is applied, which is what `chi2_contingency`'s default
/// `correction=True` does. With a single category overall the test has no degrees of
/// freedom: the statistic is 0 and the p-value 1, as scipy returns.
pub fn chi2_homogeneity(
    reference: &BTreeMap<String, u64>,
    current: &BTreeMap<String, u64>,
    yates: bool,
) -> Result<ChiSquareResult> {
    check_nonempty("reference", reference)?;
    check_nonempty("current", current)?;
    let (_, r, c) = align(reference, current);
    chi2_homogeneity_from_counts(&r, &c, yates)
}

/// [`chi2_homogeneity`] on aligned count vectors (cells empty on both sides are
/// left out). Errors when either side has no count.
pub(crate) fn chi2_homogeneity_from_counts(
    reference: &[u64],
    current: &[u64],
    yates: bool,
) -> Result<ChiSquareResult> {
    if reference.len() != current.len() {
        return Err(ConditionError::mismatch(
            "reference counts",
            reference.len(),
            "current counts",
            current.len(),
        ));
    }
    let n_ref = reference.iter().sum::<u64>() as f64;
    let n_cur = current.iter().sum::<u64>() as f64;
    if n_ref == 0.0 {
        return Err(ConditionError::empty("reference", 1));
    }
    if n_cur == 0.0 {
        return Err(ConditionError::empty("current", 1));
    }
    let (r, c): (Vec<u64>, Vec<u64>) = reference
        .iter()
        .zip(current)
        .filter(|(a, b)| **a + **b > 0)
        .map(|(a, b)| (*a, *b))
        .unzip();
    let k = r.len();
    if k < 2 {
        return Ok(ChiSquareResult {
            statistic: 0.0,
            p_value: 1.0,
            dof: 0,
        });
    }
    let total = n_ref + n_cur;
    let dof = (k - 1) as u64;
    let mut stat = 0.0;
    for (n_row, counts) in [(n_ref, &r), (n_cur, &c)] {
        for (j, &o) in counts.iter().enumerate() {
            let col = (r[j] + c[j]) as f64;
            let e = n_row * col / total;
            let mut o = o as f64;
            if yates && dof == 1 {
                let diff = e - o;
                o += diff.abs().min(0.5) * diff.signum();
            }
            stat += (o - e) * (o - e) / e;
        }
    }
    Ok(ChiSquareResult {
        statistic: stat,
        p_value: chi2_sf(stat, dof as f64)?,
        dof,
    })
}

/// The chi-square goodness-of-fit test of the current counts against the reference
/// proportions (Evidently's variant; see the [`stats`](crate::stats) module docs). Errors with
/// [`ConditionError::UnknownCategory`] when the current data has a category the
/// reference lacks.
pub fn chi2_goodness_of_fit(
    reference: &BTreeMap<String, u64>,
    current: &BTreeMap<String, u64>,
) -> Result<ChiSquareResult> {
    let n_ref = check_nonempty("reference", reference)? as f64;
    let n_cur = check_nonempty("current", current)? as f64;
    if let Some((name, _)) = current
        .iter()
        .find(|(k, v)| **v > 0 && reference.get(*k).copied().unwrap_or(0) == 0)
    {
        return Err(ConditionError::UnknownCategory {
            what: "current".into(),
            category: name.clone(),
        });
    }
    let mut stat = 0.0;
    let mut k = 0u64;
    for (name, &rc) in reference {
        if rc == 0 {
            continue;
        }
        k += 1;
        let e = rc as f64 / n_ref * n_cur;
        let o = current.get(name).copied().unwrap_or(0) as f64;
        stat += (o - e) * (o - e) / e;
    }
    if k < 2 {
        return Ok(ChiSquareResult {
            statistic: 0.0,
            p_value: 1.0,
            dof: 0,
        });
    }
    Ok(ChiSquareResult {
        statistic: stat,
        p_value: chi2_sf(stat, (k - 1) as f64)?,
        dof: k - 1,
    })
}

/// PSI over categories: every category of either side is a bin, so categories unseen
/// in the reference count (with the reference share [`PSI_EPSILON`](super::PSI_EPSILON)
/// or `epsilon`).
pub fn psi_categorical(
    reference: &BTreeMap<String, u64>,
    current: &BTreeMap<String, u64>,
    epsilon: f64,
) -> Result<f64> {
    check_nonempty("reference", reference)?;
    check_nonempty("current", current)?;
    let (_, r, c) = align(reference, current);
    psi_from_counts(&r, &c, epsilon)
}

/// The Jensen-Shannon distance (natural log) between two category distributions.
pub fn jensen_shannon_categorical(
    reference: &BTreeMap<String, u64>,
    current: &BTreeMap<String, u64>,
) -> Result<f64> {
    check_nonempty("reference", reference)?;
    check_nonempty("current", current)?;
    let (_, r, c) = align(reference, current);
    jensen_shannon_from_counts(&r, &c)
}

/// Counts the categories in `values`.
pub fn count_categories<S: AsRef<str>>(values: &[S]) -> BTreeMap<String, u64> {
    let mut m: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for v in values {
        *m.entry(v.as_ref()).or_insert(0) += 1;
    }
    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn single_category_has_no_evidence() {
        let r = chi2_homogeneity(&counts(&[("a", 5)]), &counts(&[("a", 9)]), false).unwrap();
        assert_eq!((r.statistic, r.p_value, r.dof), (0.0, 1.0, 0));
    }

    #[test]
    fn unseen_category_is_handled_or_named() {
        let r = counts(&[("a", 50), ("b", 50)]);
        let c = counts(&[("a", 40), ("b", 40), ("c", 20)]);
        let h = chi2_homogeneity(&r, &c, false).unwrap();
        assert_eq!(h.dof, 2);
        assert!(h.p_value < 1e-4, "{h:?}");
        let e = chi2_goodness_of_fit(&r, &c).unwrap_err();
        assert!(e.to_string().contains("\"c\""), "{e}");
        assert!(psi_categorical(&r, &c, 1e-4).unwrap() > 0.25);
    }

    #[test]
    fn empty_inputs_are_named() {
        let e = chi2_homogeneity(&counts(&[]), &counts(&[("a", 1)]), false).unwrap_err();
        assert!(e.to_string().contains("reference is empty"), "{e}");
        let e = jensen_shannon_categorical(&counts(&[("a", 1)]), &counts(&[("a", 0)])).unwrap_err();
        assert!(e.to_string().contains("current is empty"), "{e}");
    }

    #[test]
    fn chi2_sf_edges() {
        assert_eq!(chi2_sf(0.0, 3.0).unwrap(), 1.0);
        assert_eq!(chi2_sf(f64::INFINITY, 3.0).unwrap(), 0.0);
        assert!(chi2_sf(1.0, 0.0).is_err());
        assert!(chi2_sf(f64::NAN, 1.0).is_err());
    }
}
