//! System errors and latency: the error rate over a sliding window, from error and
//! request counts, and latency quantiles over a sliding window. Feed the values to a
//! [`ThresholdRule`](crate::rules::ThresholdRule) to alert on them:
//! [`ErrorRateWindow::sample`] and [`LatencyWindow::quantile_sample`] give a
//! [`Sample`] whose window and sample size go into the alert's evidence.
//!
//! Both windows hold only what a query can still need: an entry older than the
//! window before the newest one recorded is dropped when the next one is recorded
//! (so queries are meant for the present, not for times long before the newest
//! entry), and a [`LatencyWindow`] keeps at most
//! [`DEFAULT_MAX_SAMPLES`] latencies (settable), dropping the oldest first.

use std::collections::VecDeque;
use std::time::Duration;

use alert_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{ConditionError, Result};
use crate::rules::Sample;
use crate::stats::util::quantile_select;

/// Errors and requests over a window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRate {
    /// Errors in the window.
    pub errors: u64,
    /// Requests in the window.
    pub requests: u64,
    /// `errors / requests`.
    pub ratio: f64,
}

fn describe(window: Duration) -> String {
    humantime::format_duration(window).to_string()
}

/// The error rate over a sliding window of counts reported at points in time
/// (e.g. per-minute counters).
///
/// ```
/// use std::time::Duration;
/// use alert_conditions::system::ErrorRateWindow;
/// use alert_core::Timestamp;
/// let t = |s| Timestamp::from_unix_seconds(s).unwrap();
/// let mut w = ErrorRateWindow::new(Duration::from_secs(300));
/// w.record(t(0), 1, 100).unwrap();
/// w.record(t(60), 9, 100).unwrap();
/// assert_eq!(w.rate(t(120)).unwrap().ratio, 0.05);
/// assert_eq!(w.rate(t(330)).unwrap().ratio, 0.09); // the first count left the window
/// assert!(w.rate(t(1000)).is_none()); // no requests: no rate, not 0/0
/// ```
#[derive(Clone, Debug)]
pub struct ErrorRateWindow {
    window: Duration,
    counts: VecDeque<(Timestamp, u64, u64)>,
}

impl ErrorRateWindow {
    /// A window of `window` length (counts older than `now - window` are dropped).
    pub fn new(window: Duration) -> Self {
        ErrorRateWindow {
            window,
            counts: VecDeque::new(),
        }
    }
    /// Records `errors` out of `requests` at `at`. Errors when `errors > requests`.
    /// Counts that fell out of the window before the newest one are dropped.
    pub fn record(&mut self, at: Timestamp, errors: u64, requests: u64) -> Result<()> {
        if errors > requests {
            return Err(ConditionError::param(
                "errors",
                format!("{errors} errors out of {requests} requests"),
            ));
        }
        let pos = self.counts.partition_point(|c| c.0 <= at);
        self.counts.insert(pos, (at, errors, requests));
        if let Some(&(newest, _, _)) = self.counts.back() {
            self.evict(newest);
        }
        Ok(())
    }
    fn evict(&mut self, now: Timestamp) {
        let start = now.saturating_sub(self.window);
        while self.counts.front().is_some_and(|c| c.0 <= start) {
            self.counts.pop_front();
        }
    }
    /// The number of counts held.
    pub fn len(&self) -> usize {
        self.counts.len()
    }
    /// Whether no count is held.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
    /// The error rate in `(now - window, now]`; `None` when there was no request.
    pub fn rate(&mut self, now: Timestamp) -> Option<ErrorRate> {
        self.evict(now);
        let (mut errors, mut requests) = (0u64, 0u64);
        for c in self.counts.iter().filter(|c| c.0 <= now) {
            errors += c.1;
            requests += c.2;
        }
        (requests > 0).then(|| ErrorRate {
            errors,
            requests,
            ratio: errors as f64 / requests as f64,
        })
    }
    /// The error rate at `now` as a sample for a threshold rule: the ratio, with
    /// the window (`"5m"`) and the requests as sample size. `None` when there was no
    /// request.
    ///
    /// ```
    /// use std::time::Duration;
    /// use alert_conditions::rules::{Band, ThresholdRule, ThresholdSpec};
    /// use alert_conditions::system::ErrorRateWindow;
    /// use alert_core::Timestamp;
    /// let t = |s| Timestamp::from_unix_seconds(s).unwrap();
    /// let mut w = ErrorRateWindow::new(Duration::from_secs(300));
    /// w.record(t(0), 7, 100).unwrap();
    /// let mut rule = ThresholdRule::new(
    ///     ThresholdSpec::new("HighErrorRate", "error_rate").warning(Band::above(0.05)),
    /// ).unwrap();
    /// let alerts = rule.observe_sample(w.sample(t(10)).unwrap()).unwrap();
    /// assert_eq!(alerts[0].evidence.observed, Some(0.07));
    /// assert_eq!(alerts[0].evidence.window.as_deref(), Some("5m"));
    /// assert_eq!(alerts[0].evidence.sample_size, Some(100));
    /// ```
    pub fn sample(&mut self, now: Timestamp) -> Option<Sample> {
        let r = self.rate(now)?;
        Some(
            Sample::new(now, r.ratio)
                .window(describe(self.window))
                .sample_size(r.requests),
        )
    }
}

/// How many latencies a [`LatencyWindow`] keeps at most by default (16 bytes each:
/// 1.6 MB); beyond it the oldest are dropped, so quantiles are over the most recent
/// samples of the window.
pub const DEFAULT_MAX_SAMPLES: usize = 100_000;

/// Latencies over a sliding window, with exact quantiles (numpy's linear method)
/// over the samples held: those of the window, at most
/// [`DEFAULT_MAX_SAMPLES`] (or [`with_max_samples`](Self::with_max_samples)) of
/// them, the most recent first. A quantile costs O(n) (selection, not a sort).
///
/// ```
/// use std::time::Duration;
/// use alert_conditions::system::LatencyWindow;
/// use alert_core::Timestamp;
/// let t = |s| Timestamp::from_unix_seconds(s).unwrap();
/// let mut w = LatencyWindow::new(Duration::from_secs(60));
/// for (i, ms) in [10.0, 20.0, 30.0, 40.0].into_iter().enumerate() {
///     w.record(t(i as i64), ms).unwrap();
/// }
/// assert_eq!(w.quantile(t(5), 0.5).unwrap(), Some(25.0));
/// ```
#[derive(Clone, Debug)]
pub struct LatencyWindow {
    window: Duration,
    max_samples: usize,
    samples: VecDeque<(Timestamp, f64)>,
}

impl LatencyWindow {
    /// A window of `window` length, keeping at most [`DEFAULT_MAX_SAMPLES`].
    pub fn new(window: Duration) -> Self {
        LatencyWindow {
            window,
            max_samples: DEFAULT_MAX_SAMPLES,
            samples: VecDeque::new(),
        }
    }
    /// Keeps at most `max` samples (at least 1), the most recent.
    pub fn with_max_samples(mut self, max: usize) -> Result<Self> {
        if max == 0 {
            return Err(ConditionError::param("max_samples", "must be at least 1"));
        }
        self.max_samples = max;
        self.trim();
        Ok(self)
    }
    /// Records a latency (finite, not negative) observed at `at`. Samples that fell
    /// out of the window before the newest one, and the oldest beyond the maximum
    /// count, are dropped.
    pub fn record(&mut self, at: Timestamp, latency: f64) -> Result<()> {
        if !latency.is_finite() || latency < 0.0 {
            return Err(ConditionError::invalid(
                "latency",
                0,
                format!("{latency} is not a finite, non-negative duration"),
            ));
        }
        let pos = self.samples.partition_point(|c| c.0 <= at);
        self.samples.insert(pos, (at, latency));
        self.trim();
        Ok(())
    }
    fn trim(&mut self) {
        if let Some(&(newest, _)) = self.samples.back() {
            self.evict(newest);
        }
        while self.samples.len() > self.max_samples {
            self.samples.pop_front();
        }
    }
    /// The number of samples held (every sample a query can still use).
    pub fn held(&self) -> usize {
        self.samples.len()
    }
    /// The number of samples in the window ending at `now`.
    pub fn len(&mut self, now: Timestamp) -> usize {
        self.evict(now);
        self.samples.partition_point(|s| s.0 <= now)
    }
    /// Whether the window ending at `now` is empty.
    pub fn is_empty(&mut self, now: Timestamp) -> bool {
        self.len(now) == 0
    }
    fn evict(&mut self, now: Timestamp) {
        let start = now.saturating_sub(self.window);
        while self.samples.front().is_some_and(|c| c.0 <= start) {
            self.samples.pop_front();
        }
    }
    /// The `q`-quantile (numpy's linear method) of the latencies in
    /// `(now - window, now]`; `Ok(None)` when the window is empty.
    pub fn quantile(&mut self, now: Timestamp, q: f64) -> Result<Option<f64>> {
        Ok(self.quantile_and_count(now, q)?.map(|(v, _)| v))
    }
    fn quantile_and_count(&mut self, now: Timestamp, q: f64) -> Result<Option<(f64, usize)>> {
        if !(0.0..=1.0).contains(&q) {
            return Err(ConditionError::param(
                "q",
                format!("must be in [0, 1], got {q}"),
            ));
        }
        self.evict(now);
        let end = self.samples.partition_point(|s| s.0 <= now);
        if end == 0 {
            return Ok(None);
        }
        let mut v: Vec<f64> = self.samples.range(..end).map(|s| s.1).collect();
        Ok(Some((quantile_select(&mut v, q), end)))
    }
    /// The `q`-quantile at `now` as a sample for a threshold rule, with the window
    /// (`"1m"`) and the number of latencies as sample size; `Ok(None)` when the
    /// window is empty.
    pub fn quantile_sample(&mut self, now: Timestamp, q: f64) -> Result<Option<Sample>> {
        let window = describe(self.window);
        Ok(self
            .quantile_and_count(now, q)?
            .map(|(v, n)| Sample::new(now, v).window(window).sample_size(n as u64)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s).unwrap()
    }

    #[test]
    fn error_rate_edges() {
        let mut w = ErrorRateWindow::new(Duration::from_secs(60));
        assert!(w.rate(t(0)).is_none());
        assert!(
            w.record(t(0), 5, 4)
                .unwrap_err()
                .to_string()
                .contains("5 errors out of 4")
        );
        w.record(t(10), 0, 0).unwrap();
        assert!(w.rate(t(20)).is_none(), "zero requests is no rate, not NaN");
        w.record(t(30), 2, 10).unwrap();
        w.record(t(15), 1, 10).unwrap(); // out of order is fine
        let r = w.rate(t(40)).unwrap();
        assert_eq!((r.errors, r.requests), (3, 20));
    }

    #[test]
    fn windows_hold_only_what_a_query_can_use() {
        let mut e = ErrorRateWindow::new(Duration::from_secs(60));
        for s in 0..10_000 {
            e.record(t(s), 1, 10).unwrap();
        }
        // The newest is t(9999): counts in (t(9939), t(9999)] are held.
        assert_eq!(e.len(), 60);
        assert_eq!(e.rate(t(9999)).unwrap().requests, 600);

        let mut w = LatencyWindow::new(Duration::from_secs(60));
        for s in 0..10_000 {
            w.record(t(s), s as f64).unwrap();
        }
        assert_eq!(w.held(), 60);
        assert_eq!(w.quantile(t(9999), 0.0).unwrap(), Some(9940.0));
        // Count-bounded: the most recent 100 of 1000 same-time samples.
        let mut w = LatencyWindow::new(Duration::from_secs(60))
            .with_max_samples(100)
            .unwrap();
        for i in 0..1000 {
            w.record(t(0), f64::from(i)).unwrap();
        }
        assert_eq!(w.held(), 100);
        assert_eq!(w.quantile(t(0), 0.0).unwrap(), Some(900.0));
        let s = w.quantile_sample(t(0), 1.0).unwrap().unwrap();
        assert_eq!((s.value, s.sample_size), (999.0, Some(100)));
        assert_eq!(s.window.as_deref(), Some("1m"));
        assert!(
            LatencyWindow::new(Duration::from_secs(1))
                .with_max_samples(0)
                .is_err()
        );
    }

    #[test]
    fn latency_edges() {
        let mut w = LatencyWindow::new(Duration::from_secs(10));
        assert_eq!(w.quantile(t(0), 0.99).unwrap(), None);
        assert!(w.record(t(0), f64::NAN).is_err());
        assert!(w.record(t(0), -1.0).is_err());
        w.record(t(0), 5.0).unwrap();
        assert_eq!(
            w.quantile(t(1), 0.99).unwrap(),
            Some(5.0),
            "a single sample"
        );
        assert!(w.quantile(t(1), 1.5).is_err());
        assert_eq!(w.quantile(t(10), 0.5).unwrap(), None, "evicted");
        assert!(w.is_empty(t(10)));
    }
}
