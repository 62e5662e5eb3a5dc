//! Dataset drift: per-column tests and the share of drifted columns.

use std::collections::BTreeMap;
use std::fmt;

use alert_core::{Alert, Evidence, Severity, Timestamp, format_value};
use serde::{Deserialize, Serialize};

use super::profile::{BinnedProfile, CategoricalProfile, NumericProfile, finite_or_missing};
use crate::alerting::{Episode, Finding, RuleIdentity};
use crate::error::{ConditionError, Result};
use crate::stats::util::parallelism;
use crate::stats::{self, DEFAULT_BINS, PSI_EPSILON};

/// Reference sizes up to this use the statistical tests (KS, chi-square); larger
/// references use distances (Wasserstein, Jensen-Shannon), as in Evidently.
pub const SMALL_REFERENCE: usize = 1000;
/// Numerical columns with at most this many distinct values (reference and current
/// together) are compared as categories, as in Evidently.
pub const FEW_DISTINCT: usize = 5;

/// A column of data: numbers (NaN = missing) or categories.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Numerical values; NaN marks a missing value.
    Numeric(Vec<f64>),
    /// Categories.
    Categorical(Vec<String>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Categorical(v) => v.len(),
        }
    }
    fn kind(&self) -> ColumnKind {
        match self {
            Column::Numeric(_) => ColumnKind::Numeric,
            Column::Categorical(_) => ColumnKind::Categorical,
        }
    }
}

/// Whether a column holds numbers or categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Numbers.
    Numeric,
    /// Categories.
    Categorical,
}

/// A table of named columns of equal length.
///
/// ```
/// use alert_conditions::drift::Dataset;
/// let data = Dataset::new()
///     .numeric("age", vec![31.0, 45.0, f64::NAN])
///     .categorical("country", ["FR", "DE", "FR"]);
/// assert_eq!(data.rows().unwrap(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    columns: Vec<(String, Column)>,
}

impl Dataset {
    /// An empty dataset.
    pub fn new() -> Self {
        Dataset::default()
    }
    /// Adds a numerical column.
    pub fn numeric(mut self, name: impl Into<String>, values: Vec<f64>) -> Self {
        self.columns.push((name.into(), Column::Numeric(values)));
        self
    }
    /// Adds a categorical column.
    pub fn categorical<S: Into<String>>(
        mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        let v = values.into_iter().map(Into::into).collect();
        self.columns.push((name.into(), Column::Categorical(v)));
        self
    }
    /// Adds a column.
    pub fn column(mut self, name: impl Into<String>, column: Column) -> Self {
        self.columns.push((name.into(), column));
        self
    }
    /// The columns, in order.
    pub fn columns(&self) -> &[(String, Column)] {
        &self.columns
    }
    /// The number of rows, after checking that every column has it and that names
    /// are unique.
    pub fn rows(&self) -> Result<usize> {
        let Some((first, c0)) = self.columns.first() else {
            return Err(ConditionError::empty("dataset", 1));
        };
        for (i, (name, c)) in self.columns.iter().enumerate() {
            if c.len() != c0.len() {
                return Err(ConditionError::mismatch(
                    format!("column {first}"),
                    c0.len(),
                    format!("column {name}"),
                    c.len(),
                ));
            }
            if self.columns[..i].iter().any(|(n, _)| n == name) {
                return Err(ConditionError::param(
                    "columns",
                    format!("column {name:?} appears twice"),
                ));
            }
        }
        Ok(c0.len())
    }
}

/// The profile of one reference column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnProfile {
    /// A numerical column.
    Numeric {
        /// Its profile.
        profile: NumericProfile,
    },
    /// A numerical column summarised as a histogram on fixed edges (compact,
    /// mergeable by counts; compared with PSI or Jensen-Shannon on its bins).
    Binned {
        /// Its profile.
        profile: BinnedProfile,
    },
    /// A categorical column.
    Categorical {
        /// Its profile.
        profile: CategoricalProfile,
    },
}

impl ColumnProfile {
    fn kind(&self) -> ColumnKind {
        match self {
            ColumnProfile::Numeric { .. } | ColumnProfile::Binned { .. } => ColumnKind::Numeric,
            ColumnProfile::Categorical { .. } => ColumnKind::Categorical,
        }
    }
    fn form(&self) -> &'static str {
        match self {
            ColumnProfile::Numeric { .. } => "numeric (exact values)",
            ColumnProfile::Binned { .. } => "binned",
            ColumnProfile::Categorical { .. } => "categorical",
        }
    }
}

/// The reference profile of a dataset: one profile per column, computed once,
/// serialisable (serde) and mergeable (profiles built from parts of the reference on
/// several machines combine into the profile of the whole).
///
/// What merges, and at what cost:
///
/// | column profile | size | merge | drift methods |
/// |---|---|---|---|
/// | numeric ([`NumericProfile`]) | 8 bytes per value | exact (sorted runs merged) | all (KS, Wasserstein, PSI, Jensen-Shannon, chi-square on values) |
/// | binned ([`BinnedProfile`]) | one count per bin | exact, on the same edges | PSI and Jensen-Shannon on its bins |
/// | categorical ([`CategoricalProfile`]) | one count per category | exact | chi-square, PSI, Jensen-Shannon |
///
/// A numeric profile is exact but grows with the reference; [`binned`](Self::binned)
/// turns its numerical columns into histograms on their own quantiles, and
/// [`from_dataset_like`](Self::from_dataset_like) profiles a part of the reference
/// on the edges of such a template, so parts built on several machines merge.
///
/// ```
/// use alert_conditions::drift::{Dataset, DatasetProfile, DriftOptions, detect_drift};
/// let part = |from: i32| Dataset::new().numeric("x", (from..from + 500).map(f64::from).collect());
/// // The edges: deciles of a first part (or of a sample of the reference).
/// let template = DatasetProfile::from_dataset(&part(0)).unwrap().binned(10).unwrap();
/// let mut whole = DatasetProfile::from_dataset_like(&part(0), &template).unwrap();
/// whole.merge(&DatasetProfile::from_dataset_like(&part(500), &template).unwrap()).unwrap();
/// assert_eq!(whole.rows, 1000);
/// let drift = detect_drift(&whole, &part(900), &DriftOptions::default()).unwrap();
/// assert_eq!(drift.columns[0].method.as_str(), "jensen_shannon");
/// assert!(drift.dataset_drift);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetProfile {
    /// Rows profiled.
    pub rows: u64,
    /// Column profiles by name.
    pub columns: BTreeMap<String, ColumnProfile>,
}

impl DatasetProfile {
    /// Profiles `reference`. Errors on ragged or duplicate columns and on infinities.
    pub fn from_dataset(reference: &Dataset) -> Result<Self> {
        let rows = reference.rows()?;
        let mut columns = BTreeMap::new();
        for (name, c) in reference.columns() {
            let p = match c {
                Column::Numeric(v) => ColumnProfile::Numeric {
                    profile: NumericProfile::from_values(v)
                        .map_err(|e| rename(e, &format!("reference column {name}")))?,
                },
                Column::Categorical(v) => ColumnProfile::Categorical {
                    profile: CategoricalProfile::from_values(v),
                },
            };
            columns.insert(name.clone(), p);
        }
        Ok(DatasetProfile {
            rows: rows as u64,
            columns,
        })
    }

    /// The same profile with every exact numerical column turned into a
    /// [`BinnedProfile`] on `bins` of its own quantiles: compact (one count per
    /// bin), and a template for [`from_dataset_like`](Self::from_dataset_like).
    pub fn binned(&self, bins: usize) -> Result<DatasetProfile> {
        let mut columns = BTreeMap::new();
        for (name, p) in &self.columns {
            let p = match p {
                ColumnProfile::Numeric { profile } if profile.is_empty() => {
                    return Err(ConditionError::empty(
                        format!("reference column {name} (every value missing)"),
                        1,
                    ));
                }
                ColumnProfile::Numeric { profile } => ColumnProfile::Binned {
                    profile: profile.binned(bins)?,
                },
                other => other.clone(),
            };
            columns.insert(name.clone(), p);
        }
        Ok(DatasetProfile {
            rows: self.rows,
            columns,
        })
    }

    /// Profiles a part of the reference in the form of `template`: its binned
    /// columns on the template's edges (counts of this part only), the others as
    /// [`from_dataset`](Self::from_dataset) does. The parts of a reference profiled
    /// this way on several machines [`merge`](Self::merge) into the profile of the
    /// whole. `part` must have the template's columns, of the same kinds.
    pub fn from_dataset_like(part: &Dataset, template: &DatasetProfile) -> Result<Self> {
        let rows = part.rows()?;
        let mut columns = BTreeMap::new();
        for (name, t) in &template.columns {
            let Some((_, c)) = part.columns().iter().find(|(n, _)| n == name) else {
                return Err(ConditionError::Incompatible {
                    what: "reference part".into(),
                    reason: format!("column {name} of the template is missing"),
                });
            };
            let what = format!("reference column {name}");
            let p = match (t, c) {
                (ColumnProfile::Binned { profile: t }, Column::Numeric(v)) => {
                    let mut p = BinnedProfile::new(t.edges().to_vec())?;
                    p.add(v).map_err(|e| rename(e, &what))?;
                    ColumnProfile::Binned { profile: p }
                }
                (ColumnProfile::Numeric { .. }, Column::Numeric(v)) => ColumnProfile::Numeric {
                    profile: NumericProfile::from_values(v).map_err(|e| rename(e, &what))?,
                },
                (ColumnProfile::Categorical { .. }, Column::Categorical(v)) => {
                    ColumnProfile::Categorical {
                        profile: CategoricalProfile::from_values(v),
                    }
                }
                (t, c) => {
                    return Err(ConditionError::Incompatible {
                        what: "reference part".into(),
                        reason: format!(
                            "column {name} is {:?} in the part but {} in the template",
                            c.kind(),
                            t.form()
                        ),
                    });
                }
            };
            columns.insert(name.clone(), p);
        }
        if let Some((name, _)) = part
            .columns()
            .iter()
            .find(|(n, _)| !template.columns.contains_key(n))
        {
            return Err(ConditionError::Incompatible {
                what: "reference part".into(),
                reason: format!("column {name} is not in the template"),
            });
        }
        Ok(DatasetProfile {
            rows: rows as u64,
            columns,
        })
    }

    /// Adds the profile of another part of the reference: same columns, each in the
    /// same form (exact, binned on the same edges, or categorical). Checked for
    /// every column before anything changes, so a failed merge leaves `self` as it
    /// was.
    pub fn merge(&mut self, other: &DatasetProfile) -> Result<()> {
        let same = self.columns.len() == other.columns.len()
            && self.columns.keys().all(|k| other.columns.contains_key(k));
        if !same {
            return Err(ConditionError::Incompatible {
                what: "dataset profiles".into(),
                reason: "they have different columns".into(),
            });
        }
        for (name, a) in &self.columns {
            let b = &other.columns[name];
            let fits = match (a, b) {
                (ColumnProfile::Binned { profile: a }, ColumnProfile::Binned { profile: b }) => {
                    a.edges() == b.edges()
                }
                (a, b) => a.form() == b.form(),
            };
            if !fits {
                return Err(ConditionError::Incompatible {
                    what: "dataset profiles".into(),
                    reason: if a.form() == b.form() {
                        format!(
                            "column {name} is binned on different edges; build every part \
                             on the same edges (DatasetProfile::from_dataset_like)"
                        )
                    } else {
                        format!(
                            "column {name} is {} in one and {} in the other",
                            a.form(),
                            b.form()
                        )
                    },
                });
            }
        }
        for (name, p) in self.columns.iter_mut() {
            match (p, &other.columns[name]) {
                (ColumnProfile::Numeric { profile: a }, ColumnProfile::Numeric { profile: b }) => {
                    a.merge(b)
                }
                (ColumnProfile::Binned { profile: a }, ColumnProfile::Binned { profile: b }) => {
                    a.merge(b)?
                }
                (
                    ColumnProfile::Categorical { profile: a },
                    ColumnProfile::Categorical { profile: b },
                ) => a.merge(b),
                // Every pair was checked above to be of one form.
                _ => {}
            }
        }
        self.rows += other.rows;
        Ok(())
    }
}

fn rename(e: ConditionError, what: &str) -> ConditionError {
    match e {
        ConditionError::NonFinite { index, value, .. } => ConditionError::NonFinite {
            what: what.to_owned(),
            index,
            value,
        },
        ConditionError::Empty { needed, .. } => ConditionError::Empty {
            what: what.to_owned(),
            needed,
        },
        other => other,
    }
}

/// A per-column drift method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftMethod {
    /// Two-sample Kolmogorov-Smirnov (numerical); drift when `p < threshold`.
    Ks,
    /// Wasserstein-1 normalised by the reference standard deviation (numerical);
    /// drift when `distance >= threshold`.
    Wasserstein,
    /// PSI on reference-quantile bins (numerical) or categories; drift when
    /// `psi >= threshold`.
    Psi,
    /// Jensen-Shannon distance on reference-quantile bins or categories; drift when
    /// `distance >= threshold`.
    JensenShannon,
    /// Chi-square test of homogeneity on categories; drift when `p < threshold`.
    ChiSquare,
}

impl DriftMethod {
    /// The default threshold (Evidently's): 0.05 for p-values, 0.1 for distances
    /// and PSI.
    pub fn default_threshold(self) -> f64 {
        match self {
            DriftMethod::Ks | DriftMethod::ChiSquare => 0.05,
            DriftMethod::Wasserstein | DriftMethod::Psi | DriftMethod::JensenShannon => 0.1,
        }
    }
    /// Whether the score is a p-value (drift when below the threshold) rather than a
    /// distance (drift when at or above it).
    pub fn is_test(self) -> bool {
        matches!(self, DriftMethod::Ks | DriftMethod::ChiSquare)
    }
    /// The short name used in evidence (`ks`, `wasserstein`, `psi`, `jensen_shannon`,
    /// `chi_square`).
    pub fn as_str(self) -> &'static str {
        match self {
            DriftMethod::Ks => "ks",
            DriftMethod::Wasserstein => "wasserstein",
            DriftMethod::Psi => "psi",
            DriftMethod::JensenShannon => "jensen_shannon",
            DriftMethod::ChiSquare => "chi_square",
        }
    }
}

impl fmt::Display for DriftMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A method with its threshold, for one column.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnTest {
    /// The method.
    pub method: DriftMethod,
    /// Its threshold; `None` uses [`DriftMethod::default_threshold`].
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// Options for dataset drift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftOptions {
    /// The dataset drifts when at least this share of the evaluated columns drift
    /// (Evidently's `drift_share`, default 0.5).
    pub drift_share: f64,
    /// Per-column method overrides; other columns get the default method.
    pub columns: BTreeMap<String, ColumnTest>,
    /// Columns to leave out.
    pub ignore: Vec<String>,
    /// Bins for binned numerical methods (PSI, Jensen-Shannon).
    pub bins: usize,
    /// PSI's proportion for empty bins.
    pub psi_epsilon: f64,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            drift_share: 0.5,
            columns: BTreeMap::new(),
            ignore: Vec::new(),
            bins: DEFAULT_BINS,
            psi_epsilon: PSI_EPSILON,
        }
    }
}

/// The default method for a column (see the crate docs, "Dataset drift defaults"):
///
/// | column | reference rows <= 1000 | reference rows > 1000 |
/// |---|---|---|
/// | numerical, > 5 distinct values | KS (p < 0.05) | Wasserstein normed (>= 0.1) |
/// | numerical, <= 5 distinct values | chi-square on the values (p < 0.05) | Jensen-Shannon on the values (>= 0.1) |
/// | categorical | chi-square (p < 0.05) | Jensen-Shannon (>= 0.1) |
pub fn default_method(kind: ColumnKind, reference_rows: usize, distinct: usize) -> DriftMethod {
    let small = reference_rows <= SMALL_REFERENCE;
    match (kind, small, distinct <= FEW_DISTINCT) {
        (ColumnKind::Numeric, true, false) => DriftMethod::Ks,
        (ColumnKind::Numeric, false, false) => DriftMethod::Wasserstein,
        (_, true, _) => DriftMethod::ChiSquare,
        (_, false, _) => DriftMethod::JensenShannon,
    }
}

/// The drift verdict for one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    /// The column.
    pub column: String,
    /// Numerical or categorical.
    pub kind: ColumnKind,
    /// The method used.
    pub method: DriftMethod,
    /// The score compared with the threshold: the p-value for tests, the distance
    /// otherwise.
    pub score: f64,
    /// The test statistic (KS D, chi-square) or the distance.
    pub statistic: f64,
    /// The p-value, for tests.
    pub p_value: Option<f64>,
    /// The threshold.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
    /// Reference values used (missing ones left out).
    pub reference_size: u64,
    /// Current values used (missing ones left out).
    pub current_size: u64,
    /// Current values missing (NaN).
    pub current_missing: u64,
}

impl ColumnDrift {
    /// This column's evidence, with every typed field that applies: metric
    /// `feature:<column>`, test (the method), statistic (KS D, chi-square, or the
    /// distance), p-value (tests only), observed score, threshold, sample size
    /// (current values used), and details `reference_size` and `current_missing`.
    ///
    /// ```
    /// use alert_conditions::drift::{Dataset, DatasetProfile, DriftOptions, detect_drift};
    /// let reference = Dataset::new().numeric("x", (0..200).map(f64::from).collect());
    /// let current = Dataset::new().numeric("x", (100..300).map(f64::from).collect());
    /// let profile = DatasetProfile::from_dataset(&reference).unwrap();
    /// let drift = detect_drift(&profile, &current, &DriftOptions::default()).unwrap();
    /// let e = drift.columns[0].evidence();
    /// assert_eq!(e.test.as_deref(), Some("ks"));
    /// assert_eq!(e.statistic, Some(0.5)); // D
    /// assert!(e.p_value.unwrap() < 1e-20);
    /// ```
    pub fn evidence(&self) -> Evidence {
        let mut e = Evidence::metric(format!("feature:{}", self.column))
            .observed(self.score)
            .threshold(self.threshold)
            .test(self.method.as_str(), self.statistic)
            .sample_size(self.current_size)
            .detail("reference_size", self.reference_size as f64)
            .detail("current_missing", self.current_missing as f64);
        e.p_value = self.p_value;
        e
    }
}

/// A column that could not be evaluated, and why (all values missing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkippedColumn {
    /// The column.
    pub column: String,
    /// Why it was skipped.
    pub reason: String,
}

/// The result of dataset drift detection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetDrift {
    /// Per-column results, in column order.
    pub columns: Vec<ColumnDrift>,
    /// Columns that could not be evaluated.
    pub skipped: Vec<SkippedColumn>,
    /// Drifted columns / evaluated columns (0 when none was evaluated).
    pub share: f64,
    /// The share at which the dataset drifts.
    pub drift_share: f64,
    /// Whether the dataset drifted: `share >= drift_share` with at least one drifted
    /// column.
    pub dataset_drift: bool,
    /// Rows in the current data.
    pub current_rows: u64,
}

impl DatasetDrift {
    /// The drifted columns.
    pub fn drifted(&self) -> impl Iterator<Item = &ColumnDrift> {
        self.columns.iter().filter(|c| c.drifted)
    }

    /// The evidence for an alert: metric `dataset_drift`, observed share, threshold
    /// `drift_share`, sample size (current rows), test `per-column drift`, and per
    /// drifted column:
    ///
    /// * `column.method`: its score (what was compared with the threshold: the
    ///   p-value for `ks` and `chi_square`, the distance otherwise);
    /// * `column.method.statistic`: for the tests, the statistic too (KS D, the
    ///   chi-square), so neither number is lost.
    ///
    /// The typed `statistic` and `p_value` stay empty here: the dataset verdict is a
    /// share of columns, not one test. Each column's own typed evidence is
    /// [`ColumnDrift::evidence`].
    pub fn evidence(&self) -> Evidence {
        let mut e = Evidence::metric("dataset_drift")
            .observed(self.share)
            .threshold(self.drift_share)
            .sample_size(self.current_rows);
        e.test = Some("per-column drift".into());
        for c in self.drifted() {
            e = e.detail(format!("{}.{}", c.column, c.method), c.score);
            if c.p_value.is_some() {
                e = e.detail(format!("{}.{}.statistic", c.column, c.method), c.statistic);
            }
        }
        e
    }

    /// A finding when the dataset drifted (`severity`), else `None`.
    pub fn finding(&self, severity: Severity) -> Option<Finding> {
        if !self.dataset_drift {
            return None;
        }
        let drifted: Vec<&ColumnDrift> = self.drifted().collect();
        let names: Vec<&str> = drifted.iter().map(|c| c.column.as_str()).collect();
        let summary = format!(
            "Data drift in {} of {} columns ({})",
            drifted.len(),
            self.columns.len(),
            names.join(", ")
        );
        let mut message = String::new();
        for c in &drifted {
            let (rel, what) = if c.method.is_test() {
                ("<", "p-value")
            } else {
                (">=", "score")
            };
            message.push_str(&format!(
                "{}: {} {} {} {} {}\n",
                c.column,
                c.method,
                what,
                format_value(c.score),
                rel,
                format_value(c.threshold)
            ));
        }
        Some(Finding {
            severity,
            summary,
            message: message.trim_end().to_owned(),
            evidence: self.evidence(),
        })
    }
}

/// Detects drift of `current` against a reference profile, column by column
/// (columns run in parallel on large data).
///
/// Every profiled column must be in `current` with the same kind (or be ignored);
/// extra current columns are ignored. NaN counts as missing; a column whose
/// reference or current values are all missing is reported in `skipped`.
///
/// ```
/// use alert_conditions::drift::{Dataset, DatasetProfile, DriftOptions, detect_drift};
/// let reference = Dataset::new()
///     .numeric("age", (0..500).map(|i| (i % 60) as f64 + 20.0).collect())
///     .categorical("plan", (0..500).map(|i| if i % 3 == 0 { "pro" } else { "free" }));
/// let current = Dataset::new()
///     .numeric("age", (0..400).map(|i| (i % 60) as f64 + 45.0).collect())
///     .categorical("plan", (0..400).map(|i| if i % 3 == 0 { "pro" } else { "free" }));
/// let profile = DatasetProfile::from_dataset(&reference).unwrap();
/// let drift = detect_drift(&profile, &current, &DriftOptions::default()).unwrap();
/// assert!(drift.columns[0].drifted); // age
/// assert!(!drift.columns[1].drifted); // plan
/// assert_eq!(drift.share, 0.5);
/// assert!(drift.dataset_drift);
/// ```
pub fn detect_drift(
    profile: &DatasetProfile,
    current: &Dataset,
    options: &DriftOptions,
) -> Result<DatasetDrift> {
    if !(options.drift_share > 0.0 && options.drift_share <= 1.0) {
        return Err(ConditionError::param(
            "drift_share",
            format!("must be in (0, 1], got {}", options.drift_share),
        ));
    }
    if options.bins < 2 {
        return Err(ConditionError::param("bins", "at least 2 bins are needed"));
    }
    stats::check_epsilon(options.psi_epsilon)?;
    for (name, t) in &options.columns {
        if let Some(th) = t.threshold
            && !(th.is_finite() && th >= 0.0)
        {
            return Err(ConditionError::param(
                format!("columns.{name}.threshold"),
                format!("must be finite and >= 0, got {th}"),
            ));
        }
    }
    check_known_columns(profile, options)?;
    let rows = current.rows()?;
    let mut jobs: Vec<(&str, &ColumnProfile, &Column)> = Vec::new();
    for (name, p) in &profile.columns {
        if options.ignore.iter().any(|i| i == name) {
            continue;
        }
        let Some((_, c)) = current.columns().iter().find(|(n, _)| n == name) else {
            return Err(ConditionError::Incompatible {
                what: "current dataset".into(),
                reason: format!("column {name} of the reference profile is missing"),
            });
        };
        let kind = p.kind();
        if kind != c.kind() {
            return Err(ConditionError::Incompatible {
                what: "current dataset".into(),
                reason: format!(
                    "column {name} is {kind:?} in the reference but {:?} now",
                    c.kind()
                ),
            });
        }
        jobs.push((name, p, c));
    }
    // Keep the current dataset's column order in the result.
    let order = |n: &str| current.columns().iter().position(|(c, _)| c == n);
    jobs.sort_by_key(|(n, _, _)| order(n));

    let results = run_parallel(&jobs, |(name, p, c)| column_drift(name, p, c, options));
    let mut columns = Vec::new();
    let mut skipped = Vec::new();
    for r in results {
        match r? {
            Ok(c) => columns.push(c),
            Err(s) => skipped.push(s),
        }
    }
    let n_drift = columns.iter().filter(|c| c.drifted).count();
    let share = if columns.is_empty() {
        0.0
    } else {
        n_drift as f64 / columns.len() as f64
    };
    Ok(DatasetDrift {
        dataset_drift: n_drift > 0 && share >= options.drift_share,
        columns,
        skipped,
        share,
        drift_share: options.drift_share,
        current_rows: rows as u64,
    })
}

/// Errors when a per-column override or an ignored column names no column of the
/// profile (a typo would otherwise be silently ignored).
fn check_known_columns(profile: &DatasetProfile, options: &DriftOptions) -> Result<()> {
    let unknown = |field: &str, name: &str| {
        let known: Vec<&str> = profile.columns.keys().map(String::as_str).collect();
        let shown = if known.len() > 12 {
            format!("{}, ... ({} columns)", known[..12].join(", "), known.len())
        } else {
            known.join(", ")
        };
        ConditionError::param(
            format!("{field}.{name}"),
            format!("names no column of the reference profile (its columns: {shown})"),
        )
    };
    if let Some(name) = options
        .columns
        .keys()
        .find(|n| !profile.columns.contains_key(*n))
    {
        return Err(unknown("columns", name));
    }
    if let Some(name) = options
        .ignore
        .iter()
        .find(|n| !profile.columns.contains_key(*n))
    {
        return Err(unknown("ignore", name));
    }
    Ok(())
}

/// Runs `f` over `jobs` on up to `available_parallelism` threads, keeping order.
fn run_parallel<J: Sync, R: Send>(jobs: &[J], f: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let threads = parallelism().min(jobs.len());
    if threads <= 1 {
        return jobs.iter().map(&f).collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                let f = &f;
                s.spawn(move || part.iter().map(f).collect::<Vec<R>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}

type ColumnOutcome = std::result::Result<ColumnDrift, SkippedColumn>;

/// The counts of each distinct value of a sorted reference and of a current sample,
/// aligned (reference values in increasing order, then values only the current data
/// has). Values are compared exactly, by their bits (`-0.0` folded into `0.0`, as
/// the distinct-value count does), so two values that print alike stay apart.
fn value_counts(sorted_ref: &[f64], current: &[f64]) -> (Vec<u64>, Vec<u64>) {
    let mut keys: Vec<f64> = Vec::new();
    let mut reference: Vec<u64> = Vec::new();
    for &x in sorted_ref {
        let x = x + 0.0;
        match (keys.last(), reference.last_mut()) {
            (Some(k), Some(n)) if k.to_bits() == x.to_bits() => *n += 1,
            _ => {
                keys.push(x);
                reference.push(1);
            }
        }
    }
    let mut cur = vec![0u64; keys.len()];
    let mut new: BTreeMap<u64, u64> = BTreeMap::new();
    for &x in current {
        let x = x + 0.0;
        match keys.binary_search_by(|k| k.total_cmp(&x)) {
            Ok(i) => cur[i] += 1,
            Err(_) => *new.entry(x.to_bits()).or_insert(0) += 1,
        }
    }
    for n in new.into_values() {
        reference.push(0);
        cur.push(n);
    }
    (reference, cur)
}

fn column_drift(
    name: &str,
    profile: &ColumnProfile,
    current: &Column,
    options: &DriftOptions,
) -> Result<ColumnOutcome> {
    let skip = |reason: &str| {
        Ok(Err(SkippedColumn {
            column: name.to_owned(),
            reason: reason.to_owned(),
        }))
    };
    let chosen = options.columns.get(name).copied();
    let (method, kind, stat, p, ref_n, cur_n, missing) = match (profile, current) {
        (ColumnProfile::Numeric { profile: rp }, Column::Numeric(values)) => {
            let (cur, missing) = finite_or_missing(&format!("current column {name}"), values)?;
            if rp.is_empty() {
                return skip("every reference value is missing");
            }
            if cur.is_empty() {
                return skip("every current value is missing");
            }
            let method = match chosen {
                Some(t) => t.method,
                None => {
                    let distinct = distinct_union(rp.values(), &cur);
                    default_method(ColumnKind::Numeric, rp.len(), distinct)
                }
            };
            let (stat, p) = match method {
                DriftMethod::Ks => {
                    let r = rp.ks(&cur)?;
                    (r.statistic, Some(r.p_value))
                }
                DriftMethod::Wasserstein => (rp.wasserstein_normed(&cur)?, None),
                DriftMethod::Psi => (rp.psi(&cur, options.bins, options.psi_epsilon)?.value, None),
                DriftMethod::ChiSquare => {
                    let (r, c) = value_counts(rp.values(), &cur);
                    let h = stats::chi2_homogeneity_from_counts(&r, &c, false)?;
                    (h.statistic, Some(h.p_value))
                }
                // Chosen by default only for few distinct values: compare them as
                // categories. Chosen explicitly: on reference-quantile bins.
                DriftMethod::JensenShannon if chosen.is_none() => {
                    let (r, c) = value_counts(rp.values(), &cur);
                    (stats::jensen_shannon_from_counts(&r, &c)?, None)
                }
                DriftMethod::JensenShannon => (rp.jensen_shannon(&cur, options.bins)?.value, None),
            };
            (
                method,
                ColumnKind::Numeric,
                stat,
                p,
                rp.len() as u64,
                cur.len() as u64,
                missing,
            )
        }
        (ColumnProfile::Binned { profile: rp }, Column::Numeric(values)) => {
            let (cur, missing) = finite_or_missing(&format!("current column {name}"), values)?;
            if rp.is_empty() {
                return skip("every reference value is missing");
            }
            if cur.is_empty() {
                return skip("every current value is missing");
            }
            let method = chosen.map_or(DriftMethod::JensenShannon, |t| t.method);
            let (r, c) = rp.counts(&cur);
            let stat = match method {
                DriftMethod::JensenShannon => stats::jensen_shannon_from_counts(&r, &c)?,
                DriftMethod::Psi => stats::psi_from_counts(&r, &c, options.psi_epsilon)?,
                DriftMethod::Ks | DriftMethod::Wasserstein | DriftMethod::ChiSquare => {
                    return Err(ConditionError::param(
                        format!("columns.{name}.method"),
                        format!(
                            "{method} needs the reference values, and column {name} has a \
                             binned profile; use psi or jensen_shannon"
                        ),
                    ));
                }
            };
            (
                method,
                ColumnKind::Numeric,
                stat,
                None,
                rp.len(),
                cur.len() as u64,
                missing,
            )
        }
        (ColumnProfile::Categorical { profile: rp }, Column::Categorical(values)) => {
            if rp.is_empty() {
                return skip("the reference has no values");
            }
            if values.is_empty() {
                return skip("the current data has no values");
            }
            let cur = stats::count_categories(values);
            let method = match chosen {
                Some(t) => t.method,
                None => default_method(ColumnKind::Categorical, rp.len() as usize, 0),
            };
            let (stat, p) = match method {
                DriftMethod::ChiSquare => {
                    let h = stats::chi2_homogeneity(rp.counts(), &cur, false)?;
                    (h.statistic, Some(h.p_value))
                }
                DriftMethod::JensenShannon => {
                    (stats::jensen_shannon_categorical(rp.counts(), &cur)?, None)
                }
                DriftMethod::Psi => (
                    stats::psi_categorical(rp.counts(), &cur, options.psi_epsilon)?,
                    None,
                ),
                DriftMethod::Ks | DriftMethod::Wasserstein => {
                    return Err(ConditionError::param(
                        format!("columns.{name}.method"),
                        format!("{method} needs a numerical column; {name} is categorical"),
                    ));
                }
            };
            (
                method,
                ColumnKind::Categorical,
                stat,
                p,
                rp.len(),
                values.len() as u64,
                0,
            )
        }
        _ => unreachable_kind(name)?,
    };
    let threshold = chosen
        .and_then(|t| t.threshold)
        .unwrap_or(method.default_threshold());
    let score = p.unwrap_or(stat);
    let drifted = if method.is_test() {
        score < threshold
    } else {
        score >= threshold
    };
    Ok(Ok(ColumnDrift {
        column: name.to_owned(),
        kind,
        method,
        score,
        statistic: stat,
        p_value: p,
        threshold,
        drifted,
        reference_size: ref_n,
        current_size: cur_n,
        current_missing: missing,
    }))
}

fn unreachable_kind<T>(name: &str) -> Result<T> {
    Err(ConditionError::Incompatible {
        what: "current dataset".into(),
        reason: format!("column {name} changed kind"),
    })
}

/// Distinct values of the union of a sorted reference and an unsorted current
/// sample, counting no further than `FEW_DISTINCT + 1`.
fn distinct_union(sorted_ref: &[f64], current: &[f64]) -> usize {
    let mut seen: Vec<f64> = Vec::with_capacity(FEW_DISTINCT + 1);
    let mut add = |x: f64| {
        if !seen.contains(&x) {
            seen.push(x);
        }
        seen.len() > FEW_DISTINCT
    };
    let mut last = None;
    for &x in sorted_ref {
        if last != Some(x) {
            last = Some(x);
            if add(x) {
                return FEW_DISTINCT + 1;
            }
        }
    }
    for &x in current {
        if add(x) {
            return FEW_DISTINCT + 1;
        }
    }
    seen.len()
}

/// A dataset drift condition: fires when the dataset drifts, resolves when it no
/// longer does. Its alerts name the drifted columns and their scores.
///
/// ```
/// use alert_conditions::drift::{Dataset, DatasetProfile, DriftOptions, DriftRule};
/// use alert_conditions::RuleIdentity;
/// use alert_core::{Severity, Timestamp};
/// let reference = Dataset::new().numeric("x", (0..200).map(f64::from).collect());
/// let current = Dataset::new().numeric("x", (100..300).map(f64::from).collect());
/// let profile = DatasetProfile::from_dataset(&reference).unwrap();
/// let mut rule = DriftRule::new(RuleIdentity::new("DataDrift").label("model", "bikes"),
///                               profile, DriftOptions::default());
/// let now = Timestamp::from_unix_seconds(1_800_000_000).unwrap();
/// let (drift, alert) = rule.evaluate(now, &current).unwrap();
/// let alert = alert.expect("drift fires");
/// assert_eq!(alert.severity, Severity::Warning);
/// assert!(alert.evidence.details.contains_key("x.ks"));
/// assert!(drift.dataset_drift);
/// ```
#[derive(Clone, Debug)]
pub struct DriftRule {
    identity: RuleIdentity,
    profile: DatasetProfile,
    options: DriftOptions,
    severity: Severity,
    window: Option<String>,
    episode: Episode,
}

impl DriftRule {
    /// A rule comparing current data with `profile`, firing at
    /// [`Severity::Warning`].
    pub fn new(identity: RuleIdentity, profile: DatasetProfile, options: DriftOptions) -> Self {
        DriftRule {
            identity,
            profile,
            options,
            severity: Severity::Warning,
            window: None,
            episode: Episode::default(),
        }
    }
    /// Names the window the current data covers (`"2026-11-24"`, `"last 24h"`),
    /// carried into the evidence of every alert.
    pub fn with_window(mut self, window: impl Into<String>) -> Self {
        self.window = Some(window.into());
        self
    }
    /// Sets the severity of its alerts.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
    /// The reference profile.
    pub fn profile(&self) -> &DatasetProfile {
        &self.profile
    }
    /// Whether the rule is firing.
    pub fn is_firing(&self) -> bool {
        self.episode.is_active()
    }
    /// Evaluates `current` at `now`: the drift result, and an alert when the rule
    /// starts firing or resolves.
    pub fn evaluate(
        &mut self,
        now: Timestamp,
        current: &Dataset,
    ) -> Result<(DatasetDrift, Option<Alert>)> {
        let drift = detect_drift(&self.profile, current, &self.options)?;
        let alert = self.observe(now, &drift);
        Ok((drift, alert))
    }
    /// Feeds an already computed drift result.
    pub fn observe(&mut self, now: Timestamp, drift: &DatasetDrift) -> Option<Alert> {
        let window = |mut e: Evidence| {
            e.window.clone_from(&self.window);
            e
        };
        let finding = drift.finding(self.severity).map(|mut f| {
            f.evidence = window(f.evidence);
            f
        });
        self.episode
            .update(&self.identity, now, finding, Some(window(drift.evidence())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_table() {
        use ColumnKind::*;
        assert_eq!(default_method(Numeric, 1000, 6), DriftMethod::Ks);
        assert_eq!(default_method(Numeric, 1001, 6), DriftMethod::Wasserstein);
        assert_eq!(default_method(Numeric, 10, 5), DriftMethod::ChiSquare);
        assert_eq!(default_method(Numeric, 5000, 2), DriftMethod::JensenShannon);
        assert_eq!(default_method(Categorical, 999, 0), DriftMethod::ChiSquare);
        assert_eq!(
            default_method(Categorical, 5000, 0),
            DriftMethod::JensenShannon
        );
    }

    #[test]
    fn ragged_and_mismatched_datasets_are_named() {
        let d = Dataset::new()
            .numeric("a", vec![1.0, 2.0])
            .numeric("b", vec![1.0]);
        let e = d.rows().unwrap_err();
        assert!(e.to_string().contains("column b has 1"), "{e}");
        let d = Dataset::new()
            .numeric("a", vec![1.0])
            .numeric("a", vec![1.0]);
        assert!(d.rows().unwrap_err().to_string().contains("appears twice"));
        assert!(Dataset::new().rows().is_err());

        let p = DatasetProfile::from_dataset(&Dataset::new().numeric("a", vec![1.0, 2.0])).unwrap();
        let e = detect_drift(
            &p,
            &Dataset::new().numeric("b", vec![1.0]),
            &DriftOptions::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("column a of the reference profile is missing"),
            "{e}"
        );
        let e = detect_drift(
            &p,
            &Dataset::new().categorical("a", ["x"]),
            &DriftOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("column a is Numeric"), "{e}");
        let e = detect_drift(
            &p,
            &Dataset::new().numeric("a", vec![f64::INFINITY]),
            &DriftOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("current column a"), "{e}");
    }

    #[test]
    fn all_missing_column_is_skipped_not_nan() {
        let p = DatasetProfile::from_dataset(
            &Dataset::new()
                .numeric("a", vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
                .numeric("b", vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        )
        .unwrap();
        let cur = Dataset::new()
            .numeric("a", vec![f64::NAN; 3])
            .numeric("b", vec![1.0, 2.0, 3.0]);
        let d = detect_drift(&p, &cur, &DriftOptions::default()).unwrap();
        assert_eq!(d.skipped.len(), 1);
        assert_eq!(d.skipped[0].column, "a");
        assert_eq!(d.columns.len(), 1);
        assert!(d.share.is_finite());
    }

    #[test]
    fn constant_columns_do_not_drift() {
        let p =
            DatasetProfile::from_dataset(&Dataset::new().numeric("c", vec![3.0; 2000])).unwrap();
        let d = detect_drift(
            &p,
            &Dataset::new().numeric("c", vec![3.0; 500]),
            &DriftOptions::default(),
        )
        .unwrap();
        assert_eq!(d.columns[0].method, DriftMethod::JensenShannon);
        assert_eq!(d.columns[0].score, 0.0);
        assert!(!d.dataset_drift);
    }

    #[test]
    fn profiles_round_trip_and_merge() {
        let a = Dataset::new()
            .numeric("x", vec![1.0, 2.0, 3.0])
            .categorical("c", ["a", "b", "a"]);
        let b = Dataset::new()
            .numeric("x", vec![4.0])
            .categorical("c", ["c"]);
        let mut pa = DatasetProfile::from_dataset(&a).unwrap();
        pa.merge(&DatasetProfile::from_dataset(&b).unwrap())
            .unwrap();
        assert_eq!(pa.rows, 4);
        let json = serde_json::to_string(&pa).unwrap();
        let back: DatasetProfile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, pa);
        let other = DatasetProfile::from_dataset(&Dataset::new().numeric("y", vec![1.0])).unwrap();
        assert!(pa.merge(&other).is_err());
    }

    #[test]
    fn few_distinct_numbers_are_categories_by_exact_value() {
        // Two values that print alike with 6 significant digits ("0.123456") but are
        // different numbers: two categories, not one.
        let (a, b) = (0.1234561, 0.1234562);
        let mut r = vec![a; 50];
        r.extend(vec![b; 50]);
        let p = DatasetProfile::from_dataset(&Dataset::new().numeric("x", r)).unwrap();
        let d = detect_drift(
            &p,
            &Dataset::new().numeric("x", vec![a; 100]),
            &DriftOptions::default(),
        )
        .unwrap();
        let c = &d.columns[0];
        assert_eq!(c.method, DriftMethod::ChiSquare);
        // scipy.stats.chi2_contingency([[50, 50], [100, 0]], correction=False)
        assert!((c.statistic - 66.666_666_666_666_67).abs() < 1e-9, "{c:?}");
        let p_value = c.p_value.unwrap();
        assert!(
            (p_value - 3.215_262_727_387_118e-16).abs() < 3.3e-22,
            "{p_value:e}"
        );
        assert!(c.drifted);

        // -0.0 and 0.0 are one value; a value only the current data has is its own
        // category.
        let (rc, cc) = value_counts(&[-0.0, 0.0, 1.0], &[0.0, -0.0, 2.0, 2.0]);
        assert_eq!((rc, cc), (vec![2, 1, 0], vec![2, 0, 2]));
    }

    #[test]
    fn options_naming_unknown_columns_are_errors() {
        let p = DatasetProfile::from_dataset(
            &Dataset::new()
                .numeric("age", vec![1.0, 2.0])
                .numeric("income", vec![1.0, 2.0]),
        )
        .unwrap();
        let cur = Dataset::new()
            .numeric("age", vec![1.0])
            .numeric("income", vec![1.0]);
        let mut o = DriftOptions::default();
        o.columns.insert(
            "agee".into(),
            ColumnTest {
                method: DriftMethod::Psi,
                threshold: None,
            },
        );
        let e = detect_drift(&p, &cur, &o).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameter `columns.agee`: names no column of the reference profile \
             (its columns: age, income)"
        );
        let o = DriftOptions {
            ignore: vec!["incme".into()],
            ..DriftOptions::default()
        };
        let e = detect_drift(&p, &cur, &o).unwrap_err();
        assert!(e.to_string().contains("`ignore.incme`"), "{e}");
        let o = DriftOptions {
            ignore: vec!["income".into()],
            ..DriftOptions::default()
        };
        assert_eq!(detect_drift(&p, &cur, &o).unwrap().columns.len(), 1);
    }

    #[test]
    fn binned_profiles_merge_exactly_and_score_like_the_values() {
        let value = |i: usize| ((i * 7919) % 1009) as f64 / 10.0;
        let whole = Dataset::new()
            .numeric("x", (0..3000).map(value).collect())
            .categorical("c", (0..3000).map(|i| ["a", "b", "c"][i % 3]));
        let exact = DatasetProfile::from_dataset(&whole).unwrap();
        let template = exact.binned(10).unwrap();
        // Three parts, profiled on the template's edges, merge into the template.
        let part = |r: std::ops::Range<usize>| {
            let d = Dataset::new()
                .numeric("x", r.clone().map(value).collect())
                .categorical("c", r.map(|i| ["a", "b", "c"][i % 3]));
            DatasetProfile::from_dataset_like(&d, &template).unwrap()
        };
        let mut merged = part(0..1000);
        merged.merge(&part(1000..1700)).unwrap();
        merged.merge(&part(1700..3000)).unwrap();
        assert_eq!(merged, template);
        let json = serde_json::to_string(&merged).unwrap();
        assert_eq!(
            serde_json::from_str::<DatasetProfile>(&json).unwrap(),
            merged
        );
        assert!(json.len() < 400, "{} bytes: {json}", json.len());

        // PSI and Jensen-Shannon on the bins equal those of the exact profile.
        let current = Dataset::new()
            .numeric("x", (0..800).map(|i| value(i) * 1.1 + 3.0).collect())
            .categorical("c", (0..800).map(|i| ["a", "b", "c"][i % 3]));
        for method in [DriftMethod::Psi, DriftMethod::JensenShannon] {
            let mut o = DriftOptions::default();
            o.columns.insert(
                "x".into(),
                ColumnTest {
                    method,
                    threshold: None,
                },
            );
            let a = detect_drift(&exact, &current, &o).unwrap().columns[0].clone();
            let b = detect_drift(&merged, &current, &o).unwrap().columns[0].clone();
            assert_eq!(a, b, "{method}");
        }
        // The default for a binned column is Jensen-Shannon on its bins.
        let d = detect_drift(&merged, &current, &DriftOptions::default()).unwrap();
        assert_eq!(d.columns[0].method, DriftMethod::JensenShannon);
        assert_eq!(d.columns[0].reference_size, 3000);

        // KS needs the values.
        let mut o = DriftOptions::default();
        o.columns.insert(
            "x".into(),
            ColumnTest {
                method: DriftMethod::Ks,
                threshold: None,
            },
        );
        let e = detect_drift(&merged, &current, &o).unwrap_err();
        assert!(e.to_string().contains("has a binned profile"), "{e}");
        // Parts on other edges do not merge, and a failed merge changes nothing.
        let other = DatasetProfile::from_dataset(&whole)
            .unwrap()
            .binned(5)
            .unwrap();
        let before = merged.clone();
        let e = merged.merge(&other).unwrap_err();
        assert!(e.to_string().contains("binned on different edges"), "{e}");
        assert_eq!(merged, before);
        let e = merged.merge(&exact).unwrap_err();
        assert!(
            e.to_string()
                .contains("column x is binned in one and numeric (exact values) in the other"),
            "{e}"
        );
        let e =
            DatasetProfile::from_dataset_like(&Dataset::new().numeric("x", vec![1.0]), &template)
                .unwrap_err();
        assert!(
            e.to_string()
                .contains("column c of the template is missing"),
            "{e}"
        );
        let bad = Dataset::new()
            .numeric("x", vec![1.0, f64::INFINITY])
            .categorical("c", ["a", "b"]);
        let e = DatasetProfile::from_dataset_like(&bad, &template).unwrap_err();
        assert!(e.to_string().contains("reference column x holds"), "{e}");
    }

    #[test]
    fn wrong_method_for_kind_is_an_error() {
        let p = DatasetProfile::from_dataset(&Dataset::new().categorical("c", ["a", "b"])).unwrap();
        let mut o = DriftOptions::default();
        o.columns.insert(
            "c".into(),
            ColumnTest {
                method: DriftMethod::Ks,
                threshold: None,
            },
        );
        let e = detect_drift(&p, &Dataset::new().categorical("c", ["a"]), &o).unwrap_err();
        assert!(e.to_string().contains("needs a numerical column"), "{e}");
    }
}
