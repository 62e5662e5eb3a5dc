//! Data drift: reference profiles, per-column drift and dataset drift, and the rule
//! that turns dataset drift into alerts.
//!
//! # Dataset drift defaults, compared with Evidently
//!
//! The default method per column follows Evidently's `DataDriftPreset` choice
//! (`_get_default_stattest`), so results are comparable:
//!
//! | column | reference rows <= 1000 | reference rows > 1000 |
//! |---|---|---|
//! | numerical, > 5 distinct values | KS, drift when p < 0.05 | Wasserstein normed by the reference std, drift when >= 0.1 |
//! | numerical, <= 5 distinct values | chi-square on the values, p < 0.05 | Jensen-Shannon on the values, >= 0.1 |
//! | categorical | chi-square, p < 0.05 | Jensen-Shannon, >= 0.1 |
//! | numerical, binned profile ([`BinnedProfile`]) | Jensen-Shannon on its bins, >= 0.1 | the same |
//!
//! Distinct values are counted on the reference and current data together, and
//! compared exactly (two numbers that print alike are two values). The dataset
//! drifts when at least half of the evaluated columns drift (`drift_share` 0.5).
//!
//! Differences from Evidently (as read in its `legacy/calculations/stattests`
//! sources), on purpose:
//!
//! * chi-square is the two-sample test of homogeneity (see
//!   [`stats`](crate::stats) docs), also for two categories, where Evidently uses a
//!   two-proportion z-test: without continuity correction the two are the same test
//!   (chi-square = z squared).
//! * binned methods (PSI, and Jensen-Shannon on numbers chosen explicitly) use
//!   reference-quantile bins (10 by default), where Evidently, for a numerical
//!   column with more than 20 distinct reference values, uses Sturges bins of the
//!   reference and current data pooled (`np.histogram_bin_edges(..., bins="sturges")`)
//!   and otherwise compares value by value.
//! * empty bins in PSI: see [`PSI_EPSILON`](crate::stats::PSI_EPSILON) for what
//!   this crate does and where Evidently differs.
//! * KS drifts when `p < threshold` (Evidently: `p <= threshold`).
//!
//! # Bad input
//!
//! * NaN is missing: dropped and counted (`current_missing`); a column with no
//!   values left is reported as skipped instead of scored.
//! * An infinity (in the reference or the current data) is an error naming the
//!   column and the index, never a value nor a missing one: no drift method gives it
//!   a meaningful place.
//! * Finite values near `f64::MAX` get defined results (see
//!   [`NumericProfile::wasserstein_normed`]).
//! * A per-column override (`columns`) or an `ignore` entry naming a column the
//!   reference profile does not have is an error, not silently unused; so is a
//!   method that does not fit the column (KS on a categorical or binned column).
//!
//! # Reference profiles and merging
//!
//! See [`DatasetProfile`]: exact numerical profiles merge exactly but keep every
//! value; binned profiles are compact and merge exactly when every part is built on
//! the same edges; categorical profiles merge by counts.

mod dataset;
mod profile;

pub use dataset::{
    Column, ColumnDrift, ColumnKind, ColumnProfile, ColumnTest, Dataset, DatasetDrift,
    DatasetProfile, DriftMethod, DriftOptions, DriftRule, FEW_DISTINCT, SMALL_REFERENCE,
    SkippedColumn, default_method, detect_drift,
};
pub use profile::{BinnedProfile, CategoricalProfile, Histogram, MIN_NORM_STD, NumericProfile};
