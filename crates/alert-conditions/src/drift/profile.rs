//! Reference profiles: computed once from the reference data, serialised, reused,
//! and merged when built in parts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ConditionError, Result, check_sample};
use crate::stats::util::{
    Sum, ldexp, magnitude_exponent, quantile_sorted, scaled_down, sort_floats, sorted,
};
use crate::stats::{
    self, BinnedResult, KsResult, bin_counts, check_epsilon, jensen_shannon_from_counts,
    ks_2samp_sorted, psi_from_counts, quantile_edges, wasserstein_sorted,
    wasserstein_sorted_checked,
};

/// The floor for the reference standard deviation when normalising Wasserstein
/// distances, as Evidently uses (`max(np.std(reference), 0.001)`), so a constant
/// reference column gives a finite, defined score.
pub const MIN_NORM_STD: f64 = 0.001;

/// The profile of a numerical reference column: its sorted finite values (an exact,
/// mergeable quantile summary) and how many values were missing (NaN).
///
/// Keeping the exact sample is what lets KS and Wasserstein match scipy exactly; it
/// costs 8 bytes per value. For binned methods (PSI, Jensen-Shannon) on very large
/// references, [`NumericProfile::histogram`] gives a compact [`Histogram`] that also
/// merges.
///
/// ```
/// use alert_conditions::drift::NumericProfile;
/// let mut part1 = NumericProfile::from_values(&[1.0, 5.0, 3.0]).unwrap();
/// let part2 = NumericProfile::from_values(&[2.0, f64::NAN, 4.0]).unwrap();
/// part1.merge(&part2);
/// assert_eq!(part1.len(), 5);
/// assert_eq!(part1.missing(), 1);
/// assert_eq!(part1.quantile(0.5).unwrap(), 3.0);
/// let json = serde_json::to_string(&part1).unwrap();
/// let back: NumericProfile = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, part1);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "NumericRepr", into = "NumericRepr")]
pub struct NumericProfile {
    sorted: Vec<f64>,
    missing: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NumericRepr {
    values: Vec<f64>,
    #[serde(default)]
    missing: u64,
}

impl TryFrom<NumericRepr> for NumericProfile {
    type Error = ConditionError;
    fn try_from(r: NumericRepr) -> Result<Self> {
        crate::error::check_finite("profile values", &r.values)?;
        let mut values = r.values;
        if !values.is_sorted() {
            sort_floats(&mut values);
        }
        Ok(NumericProfile {
            sorted: values,
            missing: r.missing,
        })
    }
}

impl From<NumericProfile> for NumericRepr {
    fn from(p: NumericProfile) -> Self {
        NumericRepr {
            values: p.sorted,
            missing: p.missing,
        }
    }
}

/// Splits values into finite ones and a count of NaNs; infinities are an error.
pub(crate) fn finite_or_missing(what: &str, values: &[f64]) -> Result<(Vec<f64>, u64)> {
    if values.iter().all(|x| x.is_finite()) {
        return Ok((values.to_vec(), 0));
    }
    let mut out = Vec::with_capacity(values.len());
    let mut missing = 0;
    for (index, &x) in values.iter().enumerate() {
        if x.is_nan() {
            missing += 1;
        } else if x.is_infinite() {
            return Err(ConditionError::NonFinite {
                what: what.to_owned(),
                index,
                value: x,
            });
        } else {
            out.push(x);
        }
    }
    Ok((out, missing))
}

impl NumericProfile {
    /// A profile of `values`. NaN counts as missing and is left out; an infinity is
    /// an error naming its index. A profile may be empty (all missing): comparisons
    /// against it then fail with a clear error.
    pub fn from_values(values: &[f64]) -> Result<Self> {
        let (mut finite, missing) = finite_or_missing("reference", values)?;
        sort_floats(&mut finite);
        Ok(NumericProfile {
            sorted: finite,
            missing,
        })
    }

    /// Adds another part of the reference (a merge of two sorted runs).
    pub fn merge(&mut self, other: &NumericProfile) {
        let (a, b) = (&self.sorted, &other.sorted);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            if a[i] <= b[j] {
                out.push(a[i]);
                i += 1;
            } else {
                out.push(b[j]);
                j += 1;
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        self.sorted = out;
        self.missing += other.missing;
    }

    /// The number of (finite) values.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }
    /// Whether the profile has no values.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }
    /// The number of missing (NaN) values left out.
    pub fn missing(&self) -> u64 {
        self.missing
    }
    /// The sorted values.
    pub fn values(&self) -> &[f64] {
        &self.sorted
    }

    fn nonempty(&self) -> Result<&[f64]> {
        if self.sorted.is_empty() {
            return Err(ConditionError::empty("reference profile", 1));
        }
        Ok(&self.sorted)
    }

    /// The mean.
    pub fn mean(&self) -> Result<f64> {
        let v = self.nonempty()?;
        finite_or_undefined("mean", rescaled(v, mean_of))
    }

    /// The standard deviation with `ddof` delta degrees of freedom (numpy's
    /// `np.std(x, ddof=ddof)`); needs more than `ddof` values. Values near
    /// `f64::MAX`, whose squares overflow, are handled by rescaling.
    pub fn std(&self, ddof: u32) -> Result<f64> {
        let v = self.nonempty()?;
        if v.len() <= ddof as usize {
            return Err(ConditionError::empty(
                "reference profile",
                ddof as usize + 1,
            ));
        }
        finite_or_undefined("std", rescaled(v, |v| std_of(v, ddof)))
    }

    /// The `q`-quantile (numpy's default linear method).
    pub fn quantile(&self, q: f64) -> Result<f64> {
        let v = self.nonempty()?;
        if !(0.0..=1.0).contains(&q) {
            return Err(ConditionError::param(
                "q",
                format!("must be in [0, 1], got {q}"),
            ));
        }
        Ok(quantile_sorted(v, q))
    }

    /// The number of distinct values.
    pub fn distinct(&self) -> usize {
        let mut n = 0;
        let mut last = None;
        for &x in &self.sorted {
            if last != Some(x) {
                n += 1;
                last = Some(x);
            }
        }
        n
    }

    /// Two-sample KS of `current` against this reference (scipy's `ks_2samp`).
    /// `current` must be finite and non-empty.
    pub fn ks(&self, current: &[f64]) -> Result<KsResult> {
        let r = self.nonempty()?;
        check_sample("current", current)?;
        Ok(ks_2samp_sorted(r, &sorted(current)))
    }

    /// Wasserstein-1 distance of `current` from this reference (see
    /// [`stats::wasserstein_distance`]).
    pub fn wasserstein(&self, current: &[f64]) -> Result<f64> {
        let r = self.nonempty()?;
        check_sample("current", current)?;
        wasserstein_sorted_checked(r, &sorted(current))
    }

    /// Wasserstein-1 divided by the reference's standard deviation (ddof 0), floored
    /// at [`MIN_NORM_STD`]: Evidently's "Wasserstein distance (normed)",
    /// `wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)`.
    ///
    /// Defined for every finite input: where the plain computation overflows (values
    /// near `f64::MAX`, where numpy's `std` and scipy's distance give `inf`, and the
    /// ratio `inf / inf` is NaN) the ratio is computed on both samples scaled down by
    /// a power of two (with the floor scaled alike), which leaves it unchanged. An
    /// error ([`ConditionError::Undefined`]) only when the ratio itself exceeds
    /// `f64::MAX` (a huge shift from a constant reference).
    pub fn wasserstein_normed(&self, current: &[f64]) -> Result<f64> {
        let r = self.nonempty()?;
        check_sample("current", current)?;
        let cur = sorted(current);
        let (w, sd) = (wasserstein_sorted(r, &cur), std_of(r, 0));
        if w.is_finite() && sd.is_finite() {
            return Ok(w / sd.max(MIN_NORM_STD));
        }
        let e = magnitude_exponent(r.iter().chain(&cur));
        let (r, cur) = (scaled_down(r, e), scaled_down(&cur, e));
        let ratio = wasserstein_sorted(&r, &cur) / std_of(&r, 0).max(ldexp(MIN_NORM_STD, -e));
        finite_or_undefined("normalised Wasserstein distance", ratio)
    }

    /// PSI of `current` on `bins` quantile bins of this reference (see
    /// [`stats::psi`]).
    pub fn psi(&self, current: &[f64], bins: usize, epsilon: f64) -> Result<BinnedResult> {
        check_epsilon(epsilon)?;
        let (edges, reference_counts, current_counts) = self.binned_counts(current, bins)?;
        let value = psi_from_counts(&reference_counts, &current_counts, epsilon)?;
        Ok(BinnedResult {
            value,
            edges,
            reference_counts,
            current_counts,
        })
    }

    /// Jensen-Shannon distance of `current` on `bins` quantile bins of this reference.
    pub fn jensen_shannon(&self, current: &[f64], bins: usize) -> Result<BinnedResult> {
        let (edges, reference_counts, current_counts) = self.binned_counts(current, bins)?;
        let value = jensen_shannon_from_counts(&reference_counts, &current_counts)?;
        Ok(BinnedResult {
            value,
            edges,
            reference_counts,
            current_counts,
        })
    }

    fn binned_counts(
        &self,
        current: &[f64],
        bins: usize,
    ) -> Result<(Vec<f64>, Vec<u64>, Vec<u64>)> {
        let h = self.histogram(bins)?;
        check_sample("current", current)?;
        let cur = bin_counts(&h.edges, current);
        Ok((h.edges, h.counts, cur))
    }

    /// A compact histogram of this reference on `bins` of its own quantiles.
    pub fn histogram(&self, bins: usize) -> Result<Histogram> {
        if bins < 2 {
            return Err(ConditionError::param("bins", "at least 2 bins are needed"));
        }
        let r = self.nonempty()?;
        let edges = quantile_edges(r, bins);
        let counts = bin_counts(&edges, r);
        Ok(Histogram { edges, counts })
    }
}

fn mean_of(v: &[f64]) -> f64 {
    let mut s = Sum::default();
    v.iter().for_each(|&x| s.add(x));
    s.value() / v.len() as f64
}

fn std_of(v: &[f64], ddof: u32) -> f64 {
    let mean = mean_of(v);
    let mut s = Sum::default();
    v.iter().for_each(|&x| s.add((x - mean) * (x - mean)));
    (s.value() / (v.len() - ddof as usize) as f64).sqrt()
}

/// `f(v)`, or, when that overflows, `f` of `v` scaled down by a power of two and
/// scaled back (for statistics that scale with the data: mean, std).
fn rescaled(v: &[f64], f: impl Fn(&[f64]) -> f64) -> f64 {
    let x = f(v);
    if x.is_finite() {
        return x;
    }
    let e = magnitude_exponent(v);
    ldexp(f(&scaled_down(v, e)), e)
}

fn finite_or_undefined(what: &str, x: f64) -> Result<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(ConditionError::undefined(
            what,
            "the result exceeds the largest f64 (values near f64::MAX)",
        ))
    }
}

/// A histogram on fixed interior edges (open outer bins), mergeable with any
/// histogram on the same edges: the compact, distributed form of a reference for
/// PSI and Jensen-Shannon.
///
/// ```
/// use alert_conditions::drift::Histogram;
/// let mut a = Histogram::with_edges(vec![0.0, 1.0]).unwrap();
/// a.add(&[-1.0, 0.5, 2.0]).unwrap();
/// let mut b = Histogram::with_edges(vec![0.0, 1.0]).unwrap();
/// b.add(&[0.2, 0.7]).unwrap();
/// a.merge(&b).unwrap();
/// assert_eq!(a.counts(), &[1, 3, 1]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "HistogramRepr", into = "HistogramRepr")]
pub struct Histogram {
    edges: Vec<f64>,
    counts: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistogramRepr {
    edges: Vec<f64>,
    counts: Vec<u64>,
}

impl TryFrom<HistogramRepr> for Histogram {
    type Error = ConditionError;
    fn try_from(r: HistogramRepr) -> Result<Self> {
        let mut h = Histogram::with_edges(r.edges)?;
        if r.counts.len() != h.counts.len() {
            return Err(ConditionError::mismatch(
                "histogram counts",
                r.counts.len(),
                "edges + 1",
                h.counts.len(),
            ));
        }
        h.counts = r.counts;
        Ok(h)
    }
}

impl From<Histogram> for HistogramRepr {
    fn from(h: Histogram) -> Self {
        HistogramRepr {
            edges: h.edges,
            counts: h.counts,
        }
    }
}

impl Histogram {
    /// An empty histogram on strictly increasing, finite interior `edges`.
    pub fn with_edges(edges: Vec<f64>) -> Result<Self> {
        crate::error::check_finite("histogram edges", &edges)?;
        if edges.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ConditionError::param(
                "edges",
                "must be strictly increasing",
            ));
        }
        let counts = vec![0; edges.len() + 1];
        Ok(Histogram { edges, counts })
    }
    /// Counts `values` (finite; NaN is an error here: drop missing values first).
    pub fn add(&mut self, values: &[f64]) -> Result<()> {
        crate::error::check_finite("values", values)?;
        for (c, n) in self.counts.iter_mut().zip(bin_counts(&self.edges, values)) {
            *c += n;
        }
        Ok(())
    }
    /// Adds the counts of a histogram on the same edges.
    pub fn merge(&mut self, other: &Histogram) -> Result<()> {
        if self.edges != other.edges {
            return Err(ConditionError::Incompatible {
                what: "histograms".into(),
                reason: "their edges differ; build every part on the same edges".into(),
            });
        }
        for (c, n) in self.counts.iter_mut().zip(&other.counts) {
            *c += n;
        }
        Ok(())
    }
    /// The interior edges.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }
    /// The count per bin (`edges.len() + 1` bins).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }
    /// PSI of `current` against this histogram.
    pub fn psi(&self, current: &[f64], epsilon: f64) -> Result<f64> {
        check_sample("current", current)?;
        psi_from_counts(&self.counts, &bin_counts(&self.edges, current), epsilon)
    }
    /// Jensen-Shannon distance of `current` against this histogram.
    pub fn jensen_shannon(&self, current: &[f64]) -> Result<f64> {
        check_sample("current", current)?;
        jensen_shannon_from_counts(&self.counts, &bin_counts(&self.edges, current))
    }
}

/// A numerical reference column summarised as a [`Histogram`] on fixed edges, with
/// its count of missing values: compact (one count per bin, whatever the size of the
/// reference), serialisable, and mergeable by adding counts, so parts of a reference
/// profiled on several machines on the same edges combine into the profile of the
/// whole, exactly.
///
/// Dataset drift compares a binned column with PSI or Jensen-Shannon on its bins
/// (Jensen-Shannon by default). Those depend on the bin counts only, so they are
/// exactly what the full reference would give on the same edges. What a binned
/// profile gives up: KS, Wasserstein and value-by-value comparisons (they need the
/// values), and, when the edges come from a sample or an earlier reference rather
/// than from this reference's own quantiles, bins of exactly equal frequency.
///
/// ```
/// use alert_conditions::drift::{BinnedProfile, NumericProfile};
/// // Edges agreed beforehand (here: the deciles of a first sample).
/// let sample: Vec<f64> = (0..1000).map(|i| (i % 100) as f64).collect();
/// let edges = NumericProfile::from_values(&sample).unwrap().binned(10).unwrap().edges().to_vec();
/// let mut machine1 = BinnedProfile::new(edges.clone()).unwrap();
/// machine1.add(&[3.0, 55.0, f64::NAN]).unwrap();
/// let mut machine2 = BinnedProfile::new(edges).unwrap();
/// machine2.add(&[97.0]).unwrap();
/// machine1.merge(&machine2).unwrap();
/// assert_eq!((machine1.len(), machine1.missing()), (3, 1));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinnedProfile {
    histogram: Histogram,
    #[serde(default)]
    missing: u64,
}

impl BinnedProfile {
    /// An empty profile on strictly increasing, finite interior `edges`.
    pub fn new(edges: Vec<f64>) -> Result<Self> {
        Ok(BinnedProfile {
            histogram: Histogram::with_edges(edges)?,
            missing: 0,
        })
    }
    /// Counts `values`: NaN as missing, an infinity is an error naming its index
    /// (nothing is counted then).
    pub fn add(&mut self, values: &[f64]) -> Result<()> {
        let (finite, missing) = finite_or_missing("values", values)?;
        self.histogram.add(&finite)?;
        self.missing += missing;
        Ok(())
    }
    /// Adds the counts of a profile on the same edges.
    pub fn merge(&mut self, other: &BinnedProfile) -> Result<()> {
        self.histogram.merge(&other.histogram)?;
        self.missing += other.missing;
        Ok(())
    }
    /// The histogram.
    pub fn histogram(&self) -> &Histogram {
        &self.histogram
    }
    /// The interior edges.
    pub fn edges(&self) -> &[f64] {
        self.histogram.edges()
    }
    /// The number of (finite) values counted.
    pub fn len(&self) -> u64 {
        self.histogram.counts().iter().sum()
    }
    /// Whether no value was counted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The number of missing (NaN) values.
    pub fn missing(&self) -> u64 {
        self.missing
    }
    /// Reference and current counts per bin; `current` must be finite.
    pub(crate) fn counts(&self, current: &[f64]) -> (Vec<u64>, Vec<u64>) {
        (
            self.histogram.counts().to_vec(),
            bin_counts(self.histogram.edges(), current),
        )
    }
}

impl NumericProfile {
    /// This reference as a [`BinnedProfile`] on `bins` of its own quantiles (the
    /// bins of [`psi`](Self::psi)), with its missing count.
    pub fn binned(&self, bins: usize) -> Result<BinnedProfile> {
        Ok(BinnedProfile {
            histogram: self.histogram(bins)?,
            missing: self.missing,
        })
    }
}

/// The profile of a categorical reference column: a count per category. Merges by
/// adding counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoricalProfile {
    counts: BTreeMap<String, u64>,
}

impl CategoricalProfile {
    /// A profile of `values`.
    pub fn from_values<S: AsRef<str>>(values: &[S]) -> Self {
        CategoricalProfile {
            counts: stats::count_categories(values),
        }
    }
    /// A profile from counts.
    pub fn from_counts(counts: BTreeMap<String, u64>) -> Self {
        CategoricalProfile { counts }
    }
    /// Adds another part of the reference.
    pub fn merge(&mut self, other: &CategoricalProfile) {
        for (k, v) in &other.counts {
            *self.counts.entry(k.clone()).or_insert(0) += v;
        }
    }
    /// The count per category.
    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }
    /// The total count.
    pub fn len(&self) -> u64 {
        self.counts.values().sum()
    }
    /// Whether no value was counted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_matches_direct_computation() {
        let r: Vec<f64> = (0..300).map(|i| ((i * 37) % 101) as f64 / 7.0).collect();
        let c: Vec<f64> = (0..200).map(|i| ((i * 13) % 97) as f64 / 6.0).collect();
        let p = NumericProfile::from_values(&r).unwrap();
        assert_eq!(p.ks(&c).unwrap(), stats::ks_2samp(&r, &c).unwrap());
        assert_eq!(
            p.wasserstein(&c).unwrap(),
            stats::wasserstein_distance(&r, &c).unwrap()
        );
        assert_eq!(
            p.psi(&c, 10, stats::PSI_EPSILON).unwrap(),
            stats::psi(&r, &c, 10).unwrap()
        );
    }

    #[test]
    fn merged_parts_equal_the_whole() {
        let all: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1009) as f64).collect();
        let mut p = NumericProfile::from_values(&all[..400]).unwrap();
        p.merge(&NumericProfile::from_values(&all[400..]).unwrap());
        assert_eq!(p, NumericProfile::from_values(&all).unwrap());

        let whole = NumericProfile::from_values(&all)
            .unwrap()
            .histogram(10)
            .unwrap();
        let mut h1 = Histogram::with_edges(whole.edges().to_vec()).unwrap();
        h1.add(&all[..123]).unwrap();
        let mut h2 = Histogram::with_edges(whole.edges().to_vec()).unwrap();
        h2.add(&all[123..]).unwrap();
        h1.merge(&h2).unwrap();
        assert_eq!(h1, whole);
        let other = Histogram::with_edges(vec![1.0]).unwrap();
        assert!(
            h1.merge(&other)
                .unwrap_err()
                .to_string()
                .contains("edges differ")
        );

        let mut c = CategoricalProfile::from_values(&["a", "b", "a"]);
        c.merge(&CategoricalProfile::from_values(&["b", "c"]));
        assert_eq!(c.counts().get("b"), Some(&2));
        assert_eq!(c.len(), 5);
    }

    #[test]
    fn bad_profiles_are_rejected() {
        let e = NumericProfile::from_values(&[1.0, f64::NEG_INFINITY]).unwrap_err();
        assert!(e.to_string().contains("index 1"), "{e}");
        let empty = NumericProfile::from_values(&[f64::NAN]).unwrap();
        assert_eq!((empty.len(), empty.missing()), (0, 1));
        let e = empty.ks(&[1.0]).unwrap_err();
        assert!(e.to_string().contains("reference profile is empty"), "{e}");
        let e =
            serde_json::from_str::<NumericProfile>(r#"{"values":[1.0],"extra":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let p: NumericProfile = serde_json::from_str(r#"{"values":[3.0,1.0,2.0]}"#).unwrap();
        assert_eq!(p.values(), &[1.0, 2.0, 3.0]);
        assert!(Histogram::with_edges(vec![1.0, 1.0]).is_err());
        assert!(serde_json::from_str::<Histogram>(r#"{"edges":[1.0],"counts":[1]}"#).is_err());
    }

    #[test]
    fn constant_reference_is_defined() {
        let p = NumericProfile::from_values(&[2.0; 50]).unwrap();
        assert_eq!(p.std(0).unwrap(), 0.0);
        let w = p.wasserstein_normed(&[2.0, 2.0]).unwrap();
        assert_eq!(w, 0.0);
        let w = p.wasserstein_normed(&[2.001]).unwrap();
        assert!((w - 1.0).abs() < 1e-9, "{w}");
        let one = NumericProfile::from_values(&[1.0]).unwrap();
        assert!(one.std(1).is_err());
        assert_eq!(one.std(0).unwrap(), 0.0);
    }
}
