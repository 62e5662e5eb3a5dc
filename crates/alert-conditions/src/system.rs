//! System errors and latency: the error rate over a sliding window, from error and
//! request counts, and latency quantiles over a sliding window. Feed the values to a
//! [`ThresholdRule`](crate::rules::ThresholdRule) to alert on them.

use std::collections::VecDeque;
use std::time::Duration;

use alert_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{ConditionError, Result};
use crate::stats::util::{quantile_sorted, sorted};

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
    pub fn record(&mut self, at: Timestamp, errors: u64, requests: u64) -> Result<()> {
        if errors > requests {
            return Err(ConditionError::param(
                "errors",
                format!("{errors} errors out of {requests} requests"),
            ));
        }
        let pos = self.counts.partition_point(|c| c.0 <= at);
        self.counts.insert(pos, (at, errors, requests));
        Ok(())
    }
    fn evict(&mut self, now: Timestamp) {
        let start = now.saturating_sub(self.window);
        while self.counts.front().is_some_and(|c| c.0 <= start) {
            self.counts.pop_front();
        }
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
}

/// Latencies over a sliding window, with quantiles.
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
    samples: VecDeque<(Timestamp, f64)>,
}

impl LatencyWindow {
    /// A window of `window` length.
    pub fn new(window: Duration) -> Self {
        LatencyWindow {
            window,
            samples: VecDeque::new(),
        }
    }
    /// Records a latency (finite, not negative) observed at `at`.
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
        Ok(())
    }
    /// The number of samples in the window ending at `now`.
    pub fn len(&mut self, now: Timestamp) -> usize {
        self.evict(now);
        self.samples.iter().filter(|s| s.0 <= now).count()
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
        if !(0.0..=1.0).contains(&q) {
            return Err(ConditionError::param(
                "q",
                format!("must be in [0, 1], got {q}"),
            ));
        }
        self.evict(now);
        let v: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.0 <= now)
            .map(|s| s.1)
            .collect();
        if v.is_empty() {
            return Ok(None);
        }
        Ok(Some(quantile_sorted(&sorted(&v), q)))
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
