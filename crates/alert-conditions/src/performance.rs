//! Model performance: classification and regression metrics (as scikit-learn
//! computes them), over windows of predictions whose labels may arrive late.

use std::collections::HashMap;
use std::hash::Hash;

use alert_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{ConditionError, Result, check_finite};
use crate::stats::util::Sum;

/// Binary classification metrics at a decision threshold.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// `accuracy_score`.
    pub accuracy: f64,
    /// `precision_score` (0 when nothing is predicted positive, as scikit-learn's
    /// `zero_division` default returns).
    pub precision: f64,
    /// `recall_score` (0 when there is no positive label).
    pub recall: f64,
    /// `f1_score` (0 when precision and recall are both 0).
    pub f1: f64,
    /// `roc_auc_score`; `None` when only one class is present (scikit-learn raises).
    pub roc_auc: Option<f64>,
    /// `log_loss`, probabilities clipped to `[eps, 1 - eps]` (f64 machine epsilon).
    pub log_loss: f64,
    /// Samples evaluated.
    pub support: u64,
    /// Positive labels among them.
    pub positives: u64,
}

fn check_lengths(left: &str, l: usize, right: &str, r: usize) -> Result<()> {
    if l != r {
        return Err(ConditionError::mismatch(left, l, right, r));
    }
    if l == 0 {
        return Err(ConditionError::empty(left, 1));
    }
    Ok(())
}

/// Classification metrics from labels and predicted probabilities of the positive
/// class; a score at or above `threshold` predicts positive.
///
/// Errors on empty or mismatched inputs, non-finite scores, scores outside `[0, 1]`
/// and a threshold outside `[0, 1]`.
///
/// ```
/// use alert_conditions::performance::classification_metrics;
/// let m = classification_metrics(&[true, false, true, false], &[0.9, 0.2, 0.4, 0.6], 0.5).unwrap();
/// assert_eq!(m.accuracy, 0.5);
/// assert_eq!(m.roc_auc, Some(0.75));
/// ```
pub fn classification_metrics(
    y_true: &[bool],
    y_score: &[f64],
    threshold: f64,
) -> Result<ClassificationMetrics> {
    check_lengths("y_true", y_true.len(), "y_score", y_score.len())?;
    check_finite("y_score", y_score)?;
    if let Some(i) = y_score.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(ConditionError::invalid(
            "y_score",
            i,
            format!("{} is not a probability in [0, 1]", y_score[i]),
        ));
    }
    if !(0.0..=1.0).contains(&threshold) {
        return Err(ConditionError::param(
            "threshold",
            format!("must be in [0, 1], got {threshold}"),
        ));
    }
    let (mut tp, mut fp, mut tn, mut fn_) = (0u64, 0u64, 0u64, 0u64);
    let eps = f64::EPSILON;
    let mut loss = Sum::default();
    for (&y, &p) in y_true.iter().zip(y_score) {
        match (y, p >= threshold) {
            (true, true) => tp += 1,
            (true, false) => fn_ += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
        }
        let q = if y { p } else { 1.0 - p };
        loss.add(-q.clamp(eps, 1.0 - eps).ln());
    }
    let n = y_true.len() as u64;
    let div = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = div(tp, tp + fp);
    let recall = div(tp, tp + fn_);
    // scikit-learn computes F1 as 2tp / (2tp + fp + fn).
    let f1 = div(2 * tp, 2 * tp + fp + fn_);
    Ok(ClassificationMetrics {
        accuracy: (tp + tn) as f64 / n as f64,
        precision,
        recall,
        f1,
        roc_auc: roc_auc(y_true, y_score),
        log_loss: loss.value() / n as f64,
        support: n,
        positives: tp + fn_,
    })
}

/// ROC AUC by the rank-sum (Mann-Whitney) formula with mid-ranks for ties, which
/// equals the trapezoidal area under scikit-learn's ROC curve. `None` with one class.
fn roc_auc(y_true: &[bool], y_score: &[f64]) -> Option<f64> {
    let pos = y_true.iter().filter(|&&y| y).count() as u64;
    let neg = y_true.len() as u64 - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut idx: Vec<(f64, bool)> = y_score
        .iter()
        .copied()
        .zip(y_true.iter().copied())
        .collect();
    idx.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    // Twice the rank sum of positives, exactly, in integers.
    let mut twice_rank_sum: u128 = 0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j < idx.len() && idx[j].0 == idx[i].0 {
            j += 1;
        }
        // ranks i+1 ..= j, mid-rank (i+1+j)/2
        let p_in_tie = idx[i..j].iter().filter(|x| x.1).count() as u128;
        twice_rank_sum += p_in_tie * (i as u128 + 1 + j as u128);
        i = j;
    }
    let u2 = twice_rank_sum - u128::from(pos) * u128::from(pos + 1);
    Some(u2 as f64 / (2.0 * pos as f64 * neg as f64))
}

/// Regression metrics.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// `mean_absolute_error`.
    pub mae: f64,
    /// `root_mean_squared_error`.
    pub rmse: f64,
    /// `mean_absolute_percentage_error` (a fraction, not percent); a zero target is
    /// divided by f64 machine epsilon, as scikit-learn does, so it is large but finite.
    pub mape: f64,
    /// `r2_score`; `None` with fewer than two samples (undefined). With a constant
    /// target: 1 for a perfect prediction, else 0 (scikit-learn's `force_finite`).
    pub r2: Option<f64>,
    /// Samples evaluated.
    pub support: u64,
}

/// Regression metrics of predictions against targets (finite, same length).
pub fn regression_metrics(y_true: &[f64], y_pred: &[f64]) -> Result<RegressionMetrics> {
    check_lengths("y_true", y_true.len(), "y_pred", y_pred.len())?;
    check_finite("y_true", y_true)?;
    check_finite("y_pred", y_pred)?;
    let n = y_true.len() as f64;
    let (mut abs, mut sq, mut pct, mut sum_y) = (
        Sum::default(),
        Sum::default(),
        Sum::default(),
        Sum::default(),
    );
    for (&y, &p) in y_true.iter().zip(y_pred) {
        let d = p - y;
        abs.add(d.abs());
        sq.add(d * d);
        pct.add(d.abs() / y.abs().max(f64::EPSILON));
        sum_y.add(y);
    }
    let mean = sum_y.value() / n;
    let mut ss_tot = Sum::default();
    for &y in y_true {
        ss_tot.add((y - mean) * (y - mean));
    }
    let (ss_res, ss_tot) = (sq.value(), ss_tot.value());
    let r2 = if y_true.len() < 2 {
        None
    } else if ss_tot == 0.0 {
        Some(if ss_res == 0.0 { 1.0 } else { 0.0 })
    } else {
        Some(1.0 - ss_res / ss_tot)
    };
    Ok(RegressionMetrics {
        mae: abs.value() / n,
        rmse: (ss_res / n).sqrt(),
        mape: pct.value() / n,
        r2,
        support: y_true.len() as u64,
    })
}

/// Predictions keyed by an id, evaluated over a window of prediction times once
/// their labels arrive. A label may come long after its prediction (or, rarely,
/// before it: it waits for the prediction); a later label for the same id replaces
/// the earlier one, and the next evaluation of that window reflects it.
///
/// Memory is bounded by [`evict_before`](Self::evict_before), which forgets old
/// predictions and the labels that have waited too long for theirs: a waiting label
/// is stamped with the time it arrived ([`record_label_at`](Self::record_label_at)),
/// or, from [`record_label`](Self::record_label), with the newest prediction time
/// recorded so far (the first prediction's time when none was yet). A label arrives
/// after its prediction was made, so a label that arrived before `t` belongs to a
/// prediction made before `t`, and goes with it.
///
/// ```
/// use alert_conditions::performance::EvaluationWindow;
/// use alert_core::Timestamp;
/// let t = |s| Timestamp::from_unix_seconds(s).unwrap();
/// let mut w = EvaluationWindow::new();
/// w.record_prediction("a", t(10), 0.9).unwrap();
/// w.record_prediction("b", t(20), 0.2).unwrap();
/// w.record_label("a", 1.0).unwrap();
/// let m = w.classification(t(0), t(100), 0.5).unwrap();
/// assert_eq!(m.support, 1); // "b" has no label yet
/// w.record_label("b", 1.0).unwrap(); // late label
/// assert_eq!(w.classification(t(0), t(100), 0.5).unwrap().accuracy, 0.5);
/// ```
#[derive(Clone, Debug)]
pub struct EvaluationWindow<K> {
    entries: HashMap<K, Entry>,
    early_labels: HashMap<K, WaitingLabel>,
    newest_prediction: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug)]
struct WaitingLabel {
    label: f64,
    /// When it arrived; `None` until the first prediction gives a time.
    since: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    at: Timestamp,
    prediction: f64,
    label: Option<f64>,
}

impl<K: Eq + Hash + Clone> Default for EvaluationWindow<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Eq + Hash + Clone> EvaluationWindow<K> {
    /// An empty window.
    pub fn new() -> Self {
        EvaluationWindow {
            entries: HashMap::new(),
            early_labels: HashMap::new(),
            newest_prediction: None,
        }
    }

    /// Records a prediction (a probability for classification, a value for
    /// regression) made at `at`.
    pub fn record_prediction(&mut self, id: K, at: Timestamp, prediction: f64) -> Result<()> {
        if !prediction.is_finite() {
            return Err(ConditionError::NonFinite {
                what: "prediction".into(),
                index: 0,
                value: prediction,
            });
        }
        let label = self.early_labels.remove(&id).map(|w| w.label);
        if self.newest_prediction.is_none() {
            // Labels that came before any prediction start waiting now.
            for w in self.early_labels.values_mut() {
                w.since.get_or_insert(at);
            }
        }
        self.newest_prediction = self.newest_prediction.max(Some(at));
        self.entries.insert(
            id,
            Entry {
                at,
                prediction,
                label,
            },
        );
        Ok(())
    }

    /// Records (or corrects) the label of a prediction. A label whose prediction is
    /// not there yet waits for it, stamped with the newest prediction time recorded
    /// so far (see the type's docs); [`record_label_at`](Self::record_label_at)
    /// stamps it with its arrival time instead.
    pub fn record_label(&mut self, id: K, label: f64) -> Result<()> {
        self.insert_label(id, label, self.newest_prediction)
    }

    /// Records (or corrects) the label of a prediction, which arrived at `at` (on the
    /// clock of the prediction times): a label that waits for its prediction is
    /// forgotten by [`evict_before`](Self::evict_before) once `at` is before the
    /// eviction time.
    pub fn record_label_at(&mut self, id: K, at: Timestamp, label: f64) -> Result<()> {
        self.insert_label(id, label, Some(at))
    }

    fn insert_label(&mut self, id: K, label: f64, since: Option<Timestamp>) -> Result<()> {
        if !label.is_finite() {
            return Err(ConditionError::NonFinite {
                what: "label".into(),
                index: 0,
                value: label,
            });
        }
        match self.entries.get_mut(&id) {
            Some(e) => e.label = Some(label),
            None => {
                self.early_labels.insert(id, WaitingLabel { label, since });
            }
        }
        Ok(())
    }

    /// Forgets predictions made before `t`, and the labels still waiting for a
    /// prediction that arrived (or were stamped, see the type's docs) before `t`.
    pub fn evict_before(&mut self, t: Timestamp) {
        self.entries.retain(|_, e| e.at >= t);
        self.early_labels
            .retain(|_, w| w.since.is_none_or(|since| since >= t));
    }

    /// The number of labels waiting for their prediction.
    pub fn waiting_labels(&self) -> usize {
        self.early_labels.len()
    }

    /// Predictions in `[from, to)`: `(labelled, waiting for a label)`.
    pub fn counts(&self, from: Timestamp, to: Timestamp) -> (u64, u64) {
        let mut c = (0, 0);
        for e in self.entries.values().filter(|e| e.at >= from && e.at < to) {
            if e.label.is_some() {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
        c
    }

    fn labelled(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, f64, f64)> {
        let mut v: Vec<(Timestamp, f64, f64)> = self
            .entries
            .values()
            .filter(|e| e.at >= from && e.at < to)
            .filter_map(|e| e.label.map(|l| (e.at, e.prediction, l)))
            .collect();
        // A deterministic order, so results do not depend on hashing.
        v.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.total_cmp(&b.2))
        });
        v
    }

    /// Classification metrics over labelled predictions made in `[from, to)`.
    /// Labels must be 0 or 1. Errors when the window has no labelled prediction.
    pub fn classification(
        &self,
        from: Timestamp,
        to: Timestamp,
        threshold: f64,
    ) -> Result<ClassificationMetrics> {
        let rows = self.labelled(from, to);
        if rows.is_empty() {
            return Err(ConditionError::empty(
                format!("window [{from}, {to}) (labelled predictions)"),
                1,
            ));
        }
        let mut y = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            y.push(match r.2 {
                0.0 => false,
                1.0 => true,
                other => {
                    return Err(ConditionError::invalid(
                        "label",
                        i,
                        format!("{other} is not 0 or 1"),
                    ));
                }
            });
        }
        let p: Vec<f64> = rows.iter().map(|r| r.1).collect();
        classification_metrics(&y, &p, threshold)
    }

    /// Regression metrics over labelled predictions made in `[from, to)`.
    pub fn regression(&self, from: Timestamp, to: Timestamp) -> Result<RegressionMetrics> {
        let rows = self.labelled(from, to);
        if rows.is_empty() {
            return Err(ConditionError::empty(
                format!("window [{from}, {to}) (labelled predictions)"),
                1,
            ));
        }
        let y: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let p: Vec<f64> = rows.iter().map(|r| r.1).collect();
        regression_metrics(&y, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s).unwrap()
    }

    #[test]
    fn bad_inputs_are_named() {
        let e = classification_metrics(&[true], &[0.5, 0.2], 0.5).unwrap_err();
        assert!(e.to_string().contains("y_true has 1"), "{e}");
        let e = classification_metrics(&[], &[], 0.5).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = classification_metrics(&[true], &[1.5], 0.5).unwrap_err();
        assert!(e.to_string().contains("not a probability"), "{e}");
        let e = classification_metrics(&[true], &[f64::NAN], 0.5).unwrap_err();
        assert!(e.to_string().contains("y_score holds a non-finite"), "{e}");
        let e = regression_metrics(&[1.0], &[f64::INFINITY]).unwrap_err();
        assert!(e.to_string().contains("y_pred"), "{e}");
    }

    #[test]
    fn degenerate_cases_are_defined() {
        let m = classification_metrics(&[true, true], &[0.9, 0.8], 0.5).unwrap();
        assert_eq!(m.roc_auc, None);
        assert_eq!(m.accuracy, 1.0);
        let m = classification_metrics(&[false, false], &[0.1, 0.2], 0.5).unwrap();
        assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
        assert!(m.log_loss.is_finite());
        let m = classification_metrics(&[true], &[0.0], 0.5).unwrap();
        assert!(
            (m.log_loss - (-f64::EPSILON.ln())).abs() < 1e-12,
            "clipped: {}",
            m.log_loss
        );
        let r = regression_metrics(&[2.0], &[3.0]).unwrap();
        assert_eq!(r.r2, None);
        let r = regression_metrics(&[2.0, 2.0], &[2.0, 2.0]).unwrap();
        assert_eq!(r.r2, Some(1.0));
        let r = regression_metrics(&[2.0, 2.0], &[2.0, 3.0]).unwrap();
        assert_eq!(r.r2, Some(0.0));
        let r = regression_metrics(&[0.0], &[1.0]).unwrap();
        assert!(r.mape.is_finite() && r.mape > 1e15);
    }

    #[test]
    fn eviction_forgets_labels_whose_prediction_never_came() {
        let mut w = EvaluationWindow::new();
        w.record_label(50u32, 1.0).unwrap(); // before any prediction: waits from t(5)
        w.record_prediction(1, t(5), 0.9).unwrap();
        w.record_prediction(2, t(10), 0.9).unwrap();
        w.record_label(99, 1.0).unwrap(); // stamped t(10), the newest prediction
        w.record_label_at(98, t(50), 0.0).unwrap();
        w.record_prediction(3, t(100), 0.2).unwrap();
        assert_eq!(w.waiting_labels(), 3);
        w.evict_before(t(20));
        assert_eq!(w.waiting_labels(), 1, "50 and 99 waited since before t(20)");
        // Their predictions, should they come now, find no label; 98's does.
        w.record_prediction(50, t(110), 0.8).unwrap();
        w.record_prediction(99, t(120), 0.8).unwrap();
        w.record_prediction(98, t(130), 0.7).unwrap();
        assert_eq!(w.counts(t(0), t(1000)), (1, 3));
        assert_eq!(w.waiting_labels(), 0);
        // A stream of labels whose predictions never come stays bounded.
        for i in 0..1000u32 {
            w.record_label_at(10_000 + i, t(200 + i64::from(i)), 1.0)
                .unwrap();
            if i % 100 == 99 {
                w.evict_before(t(200 + i64::from(i) - 50));
            }
        }
        // The last eviction (before t(1149)) keeps the labels of i >= 949.
        assert_eq!(w.waiting_labels(), 51);
        assert!(w.record_label_at(1, t(0), f64::NAN).is_err());
    }

    #[test]
    fn window_with_late_and_early_labels() {
        let mut w = EvaluationWindow::new();
        w.record_label(3u32, 1.0).unwrap(); // label before its prediction
        for (id, s, p) in [(1u32, 10, 0.9), (2, 20, 0.1), (3, 30, 0.8), (4, 200, 0.7)] {
            w.record_prediction(id, t(s), p).unwrap();
        }
        assert_eq!(w.counts(t(0), t(100)), (1, 2));
        w.record_label(1, 1.0).unwrap();
        w.record_label(2, 1.0).unwrap();
        let m = w.classification(t(0), t(100), 0.5).unwrap();
        assert_eq!(m.support, 3);
        assert!((m.accuracy - 2.0 / 3.0).abs() < 1e-15);
        w.record_label(2, 0.0).unwrap(); // corrected label
        assert_eq!(w.classification(t(0), t(100), 0.5).unwrap().accuracy, 1.0);
        let e = w.classification(t(100), t(300), 0.5).unwrap_err();
        assert!(e.to_string().contains("labelled predictions"), "{e}");
        w.record_label(4, 0.5).unwrap();
        let e = w.classification(t(100), t(300), 0.5).unwrap_err();
        assert!(e.to_string().contains("not 0 or 1"), "{e}");
        assert!(w.regression(t(100), t(300)).is_ok());
        w.evict_before(t(100));
        assert_eq!(w.counts(t(0), t(1000)), (1, 0));
        assert!(w.record_prediction(9, t(1), f64::NAN).is_err());
    }
}
