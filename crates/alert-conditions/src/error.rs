//! [`ConditionError`]: what is wrong with the input of a computation.

/// Why a statistic, metric or rule could not be computed.
///
/// Every variant names the input at fault (`what`: `"reference"`, `"current"`,
/// `"y_true"`, `"column age"`), so the message says what to fix. Computations never
/// panic and never return a NaN in place of an error.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConditionError {
    /// An input had no values (after dropping missing ones, where that applies).
    #[error("{what} is empty: at least {needed} value(s) are needed")]
    Empty {
        /// The input at fault.
        what: String,
        /// How many values the computation needs.
        needed: usize,
    },
    /// An input held a NaN or an infinity where a finite number is required.
    #[error("{what} holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// The input at fault.
        what: String,
        /// The first offending position.
        index: usize,
        /// The value found there.
        value: f64,
    },
    /// Two inputs that must be parallel have different lengths.
    #[error("length mismatch: {left} has {left_len} values but {right} has {right_len}")]
    LengthMismatch {
        /// The first input.
        left: String,
        /// Its length.
        left_len: usize,
        /// The second input.
        right: String,
        /// Its length.
        right_len: usize,
    },
    /// A parameter is out of its domain (a quantile above 1, zero bins).
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value is outside the set the computation accepts (a label that is neither
    /// 0 nor 1, a probability above 1).
    #[error("{what} holds an invalid value at index {index}: {reason}")]
    InvalidValue {
        /// The input at fault.
        what: String,
        /// The first offending position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The current data has a category the reference never saw, and the method
    /// cannot give it a probability (the goodness-of-fit chi-square).
    #[error(
        "{what} has category {category:?} that the reference never saw; \
         use the homogeneity chi-square or PSI, which handle new categories"
    )]
    UnknownCategory {
        /// The input at fault.
        what: String,
        /// The unseen category.
        category: String,
    },
    /// The computation is undefined for this data (ROC AUC with one class only).
    #[error("{metric} is undefined: {reason}")]
    Undefined {
        /// The metric or statistic.
        metric: String,
        /// Why.
        reason: String,
    },
    /// Two profiles or datasets do not describe the same columns or bins.
    #[error("incompatible {what}: {reason}")]
    Incompatible {
        /// What was being combined.
        what: String,
        /// Why they do not fit together.
        reason: String,
    },
}

impl ConditionError {
    pub(crate) fn empty(what: impl Into<String>, needed: usize) -> Self {
        ConditionError::Empty {
            what: what.into(),
            needed,
        }
    }
    pub(crate) fn param(name: impl Into<String>, reason: impl Into<String>) -> Self {
        ConditionError::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn mismatch(
        left: impl Into<String>,
        left_len: usize,
        right: impl Into<String>,
        right_len: usize,
    ) -> Self {
        ConditionError::LengthMismatch {
            left: left.into(),
            left_len,
            right: right.into(),
            right_len,
        }
    }
    pub(crate) fn undefined(metric: impl Into<String>, reason: impl Into<String>) -> Self {
        ConditionError::Undefined {
            metric: metric.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn invalid(
        what: impl Into<String>,
        index: usize,
        reason: impl Into<String>,
    ) -> Self {
        ConditionError::InvalidValue {
            what: what.into(),
            index,
            reason: reason.into(),
        }
    }
}

/// `Result` with [`ConditionError`].
pub type Result<T, E = ConditionError> = std::result::Result<T, E>;

/// Checks that every value is finite, naming the first that is not.
pub(crate) fn check_finite(what: &str, xs: &[f64]) -> Result<()> {
    // A fast vectorisable pass first; locate the culprit only on failure.
    if xs.iter().all(|x| x.is_finite()) {
        return Ok(());
    }
    let (index, &value) = xs
        .iter()
        .enumerate()
        .find(|(_, x)| !x.is_finite())
        .unwrap_or((0, &f64::NAN));
    Err(ConditionError::NonFinite {
        what: what.to_owned(),
        index,
        value,
    })
}

/// Checks that `xs` is non-empty and finite.
pub(crate) fn check_sample(what: &str, xs: &[f64]) -> Result<()> {
    if xs.is_empty() {
        return Err(ConditionError::empty(what, 1));
    }
    check_finite(what, xs)
}
