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
//!
//! The dataset drifts when at least half of the evaluated columns drift
//! (`drift_share` 0.5). Differences from Evidently, on purpose:
//!
//! * chi-square is the two-sample test of homogeneity (see
//!   [`stats`](crate::stats) docs), also for two categories, where Evidently uses a
//!   two-proportion z-test: without continuity correction the two are the same test
//!   (chi-square = z squared).
//! * binned methods (PSI, and Jensen-Shannon on numbers chosen explicitly) use
//!   reference-quantile bins (10 by default), where Evidently uses Sturges bins on
//!   the pooled data; empty bins get the proportion 1e-4 in PSI.
//! * KS drifts when `p < threshold` (Evidently: `p <= threshold`).
//! * NaN is missing: dropped and counted; a column with no values left is reported
//!   as skipped instead of scored.

mod dataset;
mod profile;

pub use dataset::{
    Column, ColumnDrift, ColumnKind, ColumnProfile, ColumnTest, Dataset, DatasetDrift,
    DatasetProfile, DriftMethod, DriftOptions, DriftRule, FEW_DISTINCT, SMALL_REFERENCE,
    SkippedColumn, default_method, detect_drift,
};
pub use profile::{CategoricalProfile, Histogram, MIN_NORM_STD, NumericProfile};
