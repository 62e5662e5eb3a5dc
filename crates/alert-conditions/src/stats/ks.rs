//! The two-sample Kolmogorov-Smirnov test, as `scipy.stats.ks_2samp` computes it.

use serde::{Deserialize, Serialize};

use super::kolmogorov::kolmogn;
use super::util::sorted_pair;
use crate::error::{Result, check_sample};

/// `ks_2samp`'s `MAX_AUTO_N`: the exact method is used when both samples are at
/// most this large.
pub const KS_MAX_EXACT_N: usize = 10_000;

/// How the p-value of a KS test was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    /// The exact distribution of the two-sample statistic (lattice-path counting).
    Exact,
    /// `kstwo.sf(d, round(n1*n2/(n1+n2)))`, scipy's asymptotic method.
    Asymptotic,
}

/// The result of a two-sample Kolmogorov-Smirnov test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KsResult {
    /// The statistic `D = sup |F1 - F2|`. With the exact method it is rounded to the
    /// lattice `h / lcm(n1, n2)`, as scipy returns it.
    pub statistic: f64,
    /// The two-sided p-value.
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: KsMethod,
    /// The size of the first (reference) sample.
    pub n1: usize,
    /// The size of the second (current) sample.
    pub n2: usize,
}

/// The two-sample Kolmogorov-Smirnov test, two-sided, with scipy's defaults
/// (`scipy.stats.ks_2samp(a, b)`, `method='auto'`): exact when both samples have at
/// most [`KS_MAX_EXACT_N`] values, asymptotic otherwise (and when the exact
/// computation fails numerically, as scipy does).
///
/// Errors on an empty sample or a non-finite value (scipy would return NaN).
///
/// ```
/// use alert_conditions::stats::{ks_2samp, KsMethod};
/// let r = ks_2samp(&[1.0, 2.0, 3.0, 4.0], &[3.5, 4.5, 5.5, 6.5]).unwrap();
/// assert_eq!(r.statistic, 0.75);
/// assert_eq!(r.method, KsMethod::Exact);
/// assert!((r.p_value - 0.228_571_428_571_428_6).abs() < 1e-12);
/// ```
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<KsResult> {
    check_sample("first sample", a)?;
    check_sample("second sample", b)?;
    let (sa, sb) = sorted_pair(a, b);
    Ok(ks_2samp_sorted(&sa, &sb))
}

/// [`ks_2samp`] on samples that are already sorted, finite and non-empty.
pub(crate) fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> KsResult {
    let d = ks_statistic_sorted(a, b);
    let (n1, n2) = (a.len(), b.len());
    let (p_value, statistic, method) = ks_pvalue(d, n1, n2);
    KsResult {
        statistic,
        p_value,
        method,
        n1,
        n2,
    }
}

/// `max(max(F1-F2), clip(-min(F1-F2), 0, 1))` over every observed value, with the
/// ECDF differences formed as scipy forms them (`i/n1 - j/n2`).
pub(crate) fn ks_statistic_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len(), b.len());
    let (f1, f2) = (n1 as f64, n2 as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut max_d = f64::NEG_INFINITY;
    let mut min_d = f64::INFINITY;
    while i < n1 || j < n2 {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < n1 && a[i] <= v {
            i += 1;
        }
        while j < n2 && b[j] <= v {
            j += 1;
        }
        let diff = i as f64 / f1 - j as f64 / f2;
        max_d = max_d.max(diff);
        min_d = min_d.min(diff);
    }
    let min_s = (-min_d).clamp(0.0, 1.0);
    if min_s > max_d { min_s } else { max_d }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// p-value, statistic (rounded when exact) and method, following scipy.
fn ks_pvalue(d: f64, n1: usize, n2: usize) -> (f64, f64, KsMethod) {
    let (u1, u2) = (n1 as u64, n2 as u64);
    let g = gcd(u1, u2);
    let mut d = d;
    if n1.max(n2) <= KS_MAX_EXACT_N {
        let lcm = (u1 / g) * u2;
        let h = (d * lcm as f64).round_ties_even() as u64;
        d = h as f64 / lcm as f64;
        if h == 0 {
            return (1.0, d, KsMethod::Exact);
        }
        let prob = if n1 == n2 {
            prob_outside_square(u1, h)
        } else {
            outer_prob_inside_method(u1, u2, g, h)
        };
        if prob.is_finite() && (0.0..=1.0).contains(&prob) {
            return (prob, d, KsMethod::Exact);
        }
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = m * n / (m + n);
    let p = kolmogn(en.round_ties_even() as u64, d, false);
    (p.clamp(0.0, 1.0), d, KsMethod::Asymptotic)
}

/// `Pr(D_{n,n} >= h/n)`: scipy's `_compute_prob_outside_square`.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    let (n, h) = (n as i64, h as i64);
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// The proportion of lattice paths that do not stay strictly inside the band:
/// scipy's `_compute_outer_prob_inside_method` (Hodges 1958, with Viehmann's
/// recursion for `1 - p`).
fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for x in a.iter_mut().take(maxj as usize).skip(minj as usize) {
        *x = 0.0;
    }
    for i in 1..=m {
        let lastminj = minj;
        let lastlen = curlen;
        minj = (((ng * i - h) as f64 / mg as f64).floor() as i64 + 1).max(0);
        minj = minj.min(n);
        maxj = (((ng * i + h) as f64 / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let src = (jj + minj - lastminj) as usize;
            let prev = a.get(src).copied().unwrap_or(1.0);
            val = (prev * i as f64 + val * j as f64) / (i + j) as f64;
            if let Some(slot) = a.get_mut(jj as usize) {
                *slot = val;
            }
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = (start + (lastlen - curlen) as usize).min(len_a);
            for x in a.iter_mut().take(end).skip(start) {
                *x = 1.0;
            }
        }
    }
    a.get((maxj - minj - 1) as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_have_p_one() {
        let x = [1.0, 2.0, 3.0];
        let r = ks_2samp(&x, &x).unwrap();
        assert_eq!((r.statistic, r.p_value), (0.0, 1.0));
    }

    #[test]
    fn single_values() {
        let r = ks_2samp(&[1.0], &[2.0]).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert_eq!(r.p_value, 1.0); // scipy: ks_2samp([1], [2]) -> (1.0, 1.0)
    }

    #[test]
    fn exact_falls_back_to_asymptotic_as_scipy_does() {
        // scipy 1.17: ks_2samp(np.arange(200.), np.arange(200.) + 0.5) warns "Exact
        // calculation unsuccessful. Switching to method=asymp" and returns
        // statistic 0.005, p-value 1.0; likewise arange(500.) vs + 1.5 (0.004, 1.0).
        // The exact series sums to just above 1 in floating point.
        assert!(prob_outside_square(200, 1) > 1.0);
        for (n, shift, d) in [(200, 0.5, 0.005), (500, 1.5, 0.004)] {
            let a: Vec<f64> = (0..n).map(f64::from).collect();
            let b: Vec<f64> = a.iter().map(|x| x + shift).collect();
            let r = ks_2samp(&a, &b).unwrap();
            assert_eq!(
                (r.method, r.statistic, r.p_value),
                (KsMethod::Asymptotic, d, 1.0),
                "n = {n}"
            );
        }
        // Without the rounding trouble the same sizes stay exact (scipy: 0.105,
        // 0.220541217580421, no warning).
        let a: Vec<f64> = (0..200).map(f64::from).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 20.5).collect();
        let r = ks_2samp(&a, &b).unwrap();
        assert_eq!((r.method, r.statistic), (KsMethod::Exact, 0.105));
        assert!((r.p_value - 0.220_541_217_580_421).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn bad_input_is_named() {
        let e = ks_2samp(&[], &[1.0]).unwrap_err();
        assert!(e.to_string().contains("first sample is empty"), "{e}");
        let e = ks_2samp(&[1.0], &[f64::NAN]).unwrap_err();
        assert!(e.to_string().contains("second sample"), "{e}");
        assert!(e.to_string().contains("index 0"), "{e}");
        let e = ks_2samp(&[1.0, f64::INFINITY], &[1.0]).unwrap_err();
        assert!(e.to_string().contains("inf"), "{e}");
    }
}
