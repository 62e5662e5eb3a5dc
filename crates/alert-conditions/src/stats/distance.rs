//! Distances between numerical samples: Wasserstein-1, PSI and Jensen-Shannon on
//! reference-quantile bins.

use serde::{Deserialize, Serialize};

use super::util::{
    Sum, interior_linspace, ldexp, magnitude_exponent, parallelism, quantile_sorted,
    quantiles_unsorted, scaled_down, sorted_pair,
};
use crate::error::{ConditionError, Result, check_sample};

/// The proportion used in place of an empty bin in PSI (and in [`psi_from_counts`]).
///
/// PSI takes `ln(current / reference)` per bin, which is infinite for an empty bin.
/// Here a bin with no values gets the proportion `epsilon` (this constant, `1e-4`,
/// unless chosen otherwise) on that side, and only that side; the other bins keep
/// their exact proportions (so that side's proportions then sum to a little more
/// than 1). Nothing else is smoothed, and the value is the same whatever the sample
/// size.
///
/// Evidently (`get_binned_data` in its `legacy/calculations/stattests/utils.py`)
/// also fills each side's empty bins separately, with `1e-4`, except when that
/// side's smallest non-empty proportion is itself at most `1e-4`: then it fills with
/// that smallest proportion divided by `10^6`. The two agree whenever every
/// non-empty bin holds more than `1e-4` of its sample, which is always the case for
/// samples of fewer than 10 000 values; on larger samples with a rare bin,
/// Evidently's fill is smaller and its PSI for an emptied bin larger. (Its bins
/// differ too: see the [`drift`](crate::drift) module docs.)
pub const PSI_EPSILON: f64 = 1e-4;

/// The default number of reference-quantile bins for PSI and binned Jensen-Shannon.
pub const DEFAULT_BINS: usize = 10;

/// The first Wasserstein distance between two samples, as
/// `scipy.stats.wasserstein_distance(u, v)` computes it: the area between the two
/// empirical CDFs.
///
/// ```
/// use alert_conditions::stats::wasserstein_distance;
/// // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0
/// assert_eq!(wasserstein_distance(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]).unwrap(), 5.0);
/// ```
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> Result<f64> {
    check_sample("first sample", u)?;
    check_sample("second sample", v)?;
    let (su, sv) = sorted_pair(u, v);
    wasserstein_sorted_checked(&su, &sv)
}

/// Wasserstein-1 on sorted, finite, non-empty samples, defined for every finite
/// input: when the plain computation overflows (values near `f64::MAX`, whose
/// differences exceed it), it runs again on both samples scaled down by a power of
/// two (the distance scales with them) and scales the result back. An error only
/// when the distance itself is beyond `f64::MAX`.
pub(crate) fn wasserstein_sorted_checked(u: &[f64], v: &[f64]) -> Result<f64> {
    let w = wasserstein_sorted(u, v);
    if w.is_finite() {
        return Ok(w);
    }
    let e = magnitude_exponent(u.iter().chain(v));
    let w = ldexp(
        wasserstein_sorted(&scaled_down(u, e), &scaled_down(v, e)),
        e,
    );
    if w.is_finite() {
        Ok(w)
    } else {
        Err(ConditionError::undefined(
            "wasserstein_distance",
            "the distance exceeds the largest f64 (values near f64::MAX)",
        ))
    }
}

/// Wasserstein-1 on sorted, finite, non-empty samples.
pub(crate) fn wasserstein_sorted(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len(), v.len());
    let (fu, fv) = (nu as f64, nv as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut sum = Sum::default();
    let next = |i: usize, j: usize| -> Option<f64> {
        match (u.get(i), v.get(j)) {
            (Some(&x), Some(&y)) => Some(x.min(y)),
            (Some(&x), None) => Some(x),
            (None, Some(&y)) => Some(y),
            (None, None) => None,
        }
    };
    let Some(mut x) = next(0, 0) else {
        return 0.0;
    };
    loop {
        while i < nu && u[i] <= x {
            i += 1;
        }
        while j < nv && v[j] <= x {
            j += 1;
        }
        let Some(y) = next(i, j) else {
            break;
        };
        sum.add((i as f64 / fu - j as f64 / fv).abs() * (y - x));
        x = y;
    }
    sum.value()
}

/// The result of a binned comparison (PSI or Jensen-Shannon on quantile bins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinnedResult {
    /// The value: PSI, or the Jensen-Shannon distance.
    pub value: f64,
    /// The interior bin edges (the outer bins are open: `(-inf, e0)`, ...,
    /// `[e_last, +inf)`); a value equal to an edge falls in the bin above it.
    pub edges: Vec<f64>,
    /// Reference count per bin.
    pub reference_counts: Vec<u64>,
    /// Current count per bin.
    pub current_counts: Vec<u64>,
}

/// The interior edges of `bins` equal-frequency bins of a sorted reference:
/// `np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))`.
pub(crate) fn quantile_edges(sorted_ref: &[f64], bins: usize) -> Vec<f64> {
    let mut edges: Vec<f64> = interior_linspace(bins)
        .into_iter()
        .map(|q| quantile_sorted(sorted_ref, q))
        .collect();
    edges.dedup();
    edges
}

/// The same edges from an unsorted reference, without sorting it.
fn quantile_edges_unsorted(reference: &[f64], bins: usize) -> Vec<f64> {
    let mut edges = quantiles_unsorted(reference, &interior_linspace(bins));
    edges.dedup();
    edges
}

/// Bins both samples on `edges`, on two threads when they are large.
fn bin_both(edges: &[f64], a: &[f64], b: &[f64]) -> (Vec<u64>, Vec<u64>) {
    if a.len().min(b.len()) >= 65_536 && parallelism() > 1 {
        std::thread::scope(|s| {
            let h = s.spawn(|| bin_counts(edges, b));
            let ca = bin_counts(edges, a);
            let cb = h.join().unwrap_or_else(|_| bin_counts(edges, b));
            (ca, cb)
        })
    } else {
        (bin_counts(edges, a), bin_counts(edges, b))
    }
}

/// Counts per bin: bin `k` holds the values with exactly `k` edges at or below them
/// (`np.bincount(np.searchsorted(edges, x, side='right'))`).
pub(crate) fn bin_counts(edges: &[f64], xs: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; edges.len() + 1];
    if edges.len() <= 15 {
        // Fixed-width, branch-free comparison against padded edges (+inf never
        // counts for finite values); four interleaved tallies avoid store stalls.
        let mut padded = [f64::INFINITY; 16];
        padded[..edges.len()].copy_from_slice(edges);
        let bin = |x: f64| padded.iter().map(|&e| usize::from(e <= x)).sum::<usize>();
        let mut tally = [[0u64; 16]; 4];
        let mut chunks = xs.chunks_exact(4);
        for c in &mut chunks {
            tally[0][bin(c[0])] += 1;
            tally[1][bin(c[1])] += 1;
            tally[2][bin(c[2])] += 1;
            tally[3][bin(c[3])] += 1;
        }
        for &x in chunks.remainder() {
            tally[0][bin(x)] += 1;
        }
        for (k, c) in counts.iter_mut().enumerate() {
            *c = tally.iter().map(|t| t[k]).sum();
        }
    } else {
        for &x in xs {
            counts[edges.partition_point(|&e| e <= x)] += 1;
        }
    }
    counts
}

fn check_bins(bins: usize) -> Result<()> {
    if bins < 2 {
        return Err(ConditionError::param("bins", "at least 2 bins are needed"));
    }
    Ok(())
}

/// The Population Stability Index of `current` against `reference`, on `bins`
/// reference-quantile bins (equal-frequency bins of the reference, numpy's default
/// quantile method, duplicate edges merged), with empty bins given the proportion
/// [`PSI_EPSILON`]:
///
/// `PSI = sum_k (c_k - r_k) * ln(c_k / r_k)`
///
/// A usual reading: below 0.1 no significant change, 0.1 to 0.25 moderate, above
/// 0.25 significant.
///
/// ```
/// use alert_conditions::stats::psi;
/// let reference: Vec<f64> = (0..1000).map(|i| i as f64).collect();
/// let same = psi(&reference, &reference, 10).unwrap();
/// assert_eq!(same.value, 0.0);
/// let shifted: Vec<f64> = (0..1000).map(|i| i as f64 + 300.0).collect();
/// assert!(psi(&reference, &shifted, 10).unwrap().value > 0.25);
/// ```
pub fn psi(reference: &[f64], current: &[f64], bins: usize) -> Result<BinnedResult> {
    psi_with_epsilon(reference, current, bins, PSI_EPSILON)
}

/// [`psi`] with a chosen proportion for empty bins (`epsilon` in `(0, 1)`).
pub fn psi_with_epsilon(
    reference: &[f64],
    current: &[f64],
    bins: usize,
    epsilon: f64,
) -> Result<BinnedResult> {
    check_bins(bins)?;
    check_epsilon(epsilon)?;
    check_sample("reference", reference)?;
    check_sample("current", current)?;
    let edges = quantile_edges_unsorted(reference, bins);
    let (reference_counts, current_counts) = bin_both(&edges, reference, current);
    let value = psi_from_counts(&reference_counts, &current_counts, epsilon)?;
    Ok(BinnedResult {
        value,
        edges,
        reference_counts,
        current_counts,
    })
}

pub(crate) fn check_epsilon(epsilon: f64) -> Result<()> {
    if !(epsilon > 0.0 && epsilon < 1.0) {
        return Err(ConditionError::param(
            "epsilon",
            format!("must be in (0, 1), got {epsilon}"),
        ));
    }
    Ok(())
}

/// PSI from aligned counts (bins or categories), empty cells given `epsilon`.
pub fn psi_from_counts(reference: &[u64], current: &[u64], epsilon: f64) -> Result<f64> {
    check_epsilon(epsilon)?;
    check_counts(reference, current)?;
    let (nr, nc) = (
        reference.iter().sum::<u64>() as f64,
        current.iter().sum::<u64>() as f64,
    );
    let share = |c: u64, n: f64| if c == 0 { epsilon } else { c as f64 / n };
    let mut s = Sum::default();
    for (&r, &c) in reference.iter().zip(current) {
        let (r, c) = (share(r, nr), share(c, nc));
        s.add((c - r) * (c / r).ln());
    }
    Ok(s.value())
}

fn check_counts(reference: &[u64], current: &[u64]) -> Result<()> {
    if reference.len() != current.len() {
        return Err(ConditionError::mismatch(
            "reference counts",
            reference.len(),
            "current counts",
            current.len(),
        ));
    }
    if reference.iter().all(|&c| c == 0) {
        return Err(ConditionError::empty("reference counts", 1));
    }
    if current.iter().all(|&c| c == 0) {
        return Err(ConditionError::empty("current counts", 1));
    }
    Ok(())
}

/// `scipy.special.rel_entr`.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// The Jensen-Shannon distance (natural log, so in `[0, sqrt(ln 2)]`) between two
/// aligned count vectors, as `scipy.spatial.distance.jensenshannon(p, q)` computes it
/// (both are normalised first). No epsilon is needed: empty cells contribute 0.
pub fn jensen_shannon_from_counts(reference: &[u64], current: &[u64]) -> Result<f64> {
    check_counts(reference, current)?;
    let (np_, nq) = (
        reference.iter().sum::<u64>() as f64,
        current.iter().sum::<u64>() as f64,
    );
    let (mut left, mut right) = (Sum::default(), Sum::default());
    for (&a, &b) in reference.iter().zip(current) {
        let (p, q) = (a as f64 / np_, b as f64 / nq);
        let m = (p + q) / 2.0;
        left.add(rel_entr(p, m));
        right.add(rel_entr(q, m));
    }
    let js = left.value() + right.value();
    Ok((js / 2.0).max(0.0).sqrt())
}

/// The Jensen-Shannon distance between two numerical samples on `bins`
/// reference-quantile bins (the same bins as [`psi`]).
pub fn jensen_shannon(reference: &[f64], current: &[f64], bins: usize) -> Result<BinnedResult> {
    check_bins(bins)?;
    check_sample("reference", reference)?;
    check_sample("current", current)?;
    let edges = quantile_edges_unsorted(reference, bins);
    let (reference_counts, current_counts) = bin_both(&edges, reference, current);
    let value = jensen_shannon_from_counts(&reference_counts, &current_counts)?;
    Ok(BinnedResult {
        value,
        edges,
        reference_counts,
        current_counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasserstein_simple_cases() {
        assert_eq!(wasserstein_distance(&[1.0], &[1.0]).unwrap(), 0.0);
        assert_eq!(wasserstein_distance(&[0.0], &[2.5]).unwrap(), 2.5);
        // scipy: wasserstein_distance([0, 1, 3], [5, 6, 8]) = 5.0
        assert_eq!(
            wasserstein_distance(&[3.0, 0.0, 1.0], &[8.0, 5.0, 6.0]).unwrap(),
            5.0
        );
        assert!(wasserstein_distance(&[], &[1.0]).is_err());
    }

    #[test]
    fn constant_reference_gives_defined_psi() {
        let r = psi(&[5.0; 100], &[5.0; 50], 10).unwrap();
        assert_eq!(r.edges, vec![5.0]);
        assert_eq!(r.value, 0.0);
        let r = psi(&[5.0; 100], &[4.0; 50], 10).unwrap();
        assert!(r.value.is_finite() && r.value > 1.0, "{}", r.value);
    }

    #[test]
    fn psi_rejects_bad_parameters() {
        assert!(psi(&[1.0, 2.0], &[1.0], 1).is_err());
        assert!(psi_with_epsilon(&[1.0, 2.0], &[1.0], 10, 0.0).is_err());
        assert!(psi_from_counts(&[1, 2], &[1], 1e-4).is_err());
        assert!(psi_from_counts(&[0, 0], &[1, 1], 1e-4).is_err());
    }

    #[test]
    fn js_of_disjoint_is_sqrt_ln2() {
        let d = jensen_shannon_from_counts(&[10, 0], &[0, 5]).unwrap();
        assert!((d - std::f64::consts::LN_2.sqrt()).abs() < 1e-15);
        assert_eq!(jensen_shannon_from_counts(&[3, 1], &[6, 2]).unwrap(), 0.0);
    }
}
