//! The statistics behind the drift conditions, usable on their own.
//!
//! Every function checks its input and returns a [`ConditionError`](crate::ConditionError)
//! naming what is wrong (an empty sample, a NaN at some index) instead of a NaN.
//! Results match the reference implementations named on each function (scipy,
//! numpy) to 1e-9 relative for statistics and distances and 1e-6 for p-values; the
//! crate's tests check this against committed reference vectors.
//!
//! # Which chi-square
//!
//! [`chi2_homogeneity`] is the default: the two-sample test of homogeneity on the
//! 2 x k contingency table (reference counts, current counts), as
//! `scipy.stats.chi2_contingency(table, correction=False)` computes it. It treats both
//! samples as samples, so a small reference is not mistaken for the truth, and a
//! category that only the current data has is an ordinary cell, not a division by
//! zero. With two categories it equals the pooled two-proportion z-test squared
//! (Evidently's `z` test for binary columns).
//!
//! [`chi2_goodness_of_fit`] is the variant Evidently's `chisquare` stat test uses:
//! `scipy.stats.chisquare(current, f_exp=reference_share * n_current)`. It treats the
//! reference proportions as exact and so over-rejects with a small reference, and it
//! cannot score a category the reference never saw (it returns
//! [`ConditionError::UnknownCategory`](crate::ConditionError::UnknownCategory)). It is offered for parity with such tools.

mod categorical;
mod distance;
mod kolmogorov;
mod ks;
pub(crate) mod util;

pub(crate) use categorical::chi2_homogeneity_from_counts;
pub use categorical::{
    ChiSquareResult, chi2_goodness_of_fit, chi2_homogeneity, chi2_sf, count_categories,
    jensen_shannon_categorical, psi_categorical,
};
pub use distance::{
    BinnedResult, DEFAULT_BINS, PSI_EPSILON, jensen_shannon, jensen_shannon_from_counts, psi,
    psi_from_counts, psi_with_epsilon, wasserstein_distance,
};
pub(crate) use distance::{
    bin_counts, check_epsilon, quantile_edges, wasserstein_sorted, wasserstein_sorted_checked,
};
pub(crate) use ks::ks_2samp_sorted;
pub use ks::{KS_MAX_EXACT_N, KsMethod, KsResult, ks_2samp};

/// The `q`-quantile of a sample with numpy's default (`linear`) method, for `q` in
/// `[0, 1]`: `np.quantile(xs, q)`.
pub fn quantile(xs: &[f64], q: f64) -> crate::Result<f64> {
    crate::error::check_sample("sample", xs)?;
    if !(0.0..=1.0).contains(&q) {
        return Err(crate::ConditionError::param(
            "q",
            format!("must be in [0, 1], got {q}"),
        ));
    }
    Ok(util::quantile_sorted(&util::sorted(xs), q))
}

/// The survival function of the two-sided one-sample Kolmogorov-Smirnov statistic
/// `D_n`, `Pr(D_n > d)`: `scipy.stats.kstwo.sf(d, n)`. NaN for `n == 0` or a NaN `d`.
pub fn kstwo_sf(n: u64, d: f64) -> f64 {
    kolmogorov::kolmogn(n, d, false)
}

/// The survival function of the one-sided one-sample statistic `D_n+`,
/// `Pr(D_n+ >= d)`: `scipy.special.smirnov(n, d)`. NaN outside `d` in `[0, 1]`.
pub fn smirnov_sf(n: u64, d: f64) -> f64 {
    kolmogorov::smirnov(n, d)
}
