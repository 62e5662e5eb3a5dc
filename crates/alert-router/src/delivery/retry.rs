//! [`RetryPolicy`] and [`RetryLayer`]: exponential backoff with jitter, a maximum
//! number of attempts, an overall deadline, and server-given delays honoured (capped).

use std::time::Duration;

use alert_core::{Alert, Layer, MAX_RETRY_AFTER, Notifier, NotifyError, Receipt, Result, Retry};
use async_trait::async_trait;
use tokio::time::Instant;

use super::breaker::is_circuit_open;
use super::util::{random_unit, scale};

/// When and how often to retry a failed send.
///
/// The decision uses nothing but [`NotifyError::retryable`]:
///
/// * `Never`: give up at once;
/// * `Backoff`: wait `initial_backoff * 2^(attempt-1)`, at most `max_backoff`, minus a
///   random part of up to `jitter` of it (`jitter` 0.2: between 80% and 100%);
/// * `After(d)`: wait the server's delay `d`, capped at `max_retry_after` (a capped
///   delay is logged at `warn`), without jitter.
///
/// No attempt starts after `deadline` (measured from the first attempt): when the
/// next wait would cross it, the last error is returned.
///
/// A refusal by an open circuit breaker ([`is_circuit_open`]) is not an attempt:
/// nothing was sent. [`RetryLayer`] (and the outbox) wait out the rest of the
/// cool-down without counting it against `max_attempts`; the deadline still
/// applies.
///
/// `RetryPolicy::default()` is [`RetryPolicy::none`] (one attempt), as in
/// OpenTelemetry: retrying is opted into, with [`RetryPolicy::recommended`] or your own
/// values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// The wait before the second attempt.
    pub initial_backoff: Duration,
    /// The longest wait between attempts (exponential growth stops there).
    pub max_backoff: Duration,
    /// The random part taken off each backoff, from 0.0 (none) to 1.0 (full jitter).
    pub jitter: f64,
    /// The overall time budget from the first attempt; `None`: no deadline.
    pub deadline: Option<Duration>,
    /// The longest server-given delay honoured as is (default 15 minutes, the same
    /// as [`alert_core::MAX_RETRY_AFTER`]).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::none()
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Stop: the error is permanent, the attempts are used up, or the deadline is near.
    GiveUp(GiveUpReason),
}

/// Why a retry loop stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The error is not retryable ([`Retry::Never`]).
    Permanent,
    /// `max_attempts` were made.
    Attempts,
    /// The next attempt would start after the deadline.
    Deadline,
}

impl GiveUpReason {
    /// The snake-case name (`permanent`, `attempts`, `deadline`), as dead letters
    /// record it.
    pub const fn as_str(self) -> &'static str {
        match self {
            GiveUpReason::Permanent => "permanent",
            GiveUpReason::Attempts => "attempts",
            GiveUpReason::Deadline => "deadline",
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            jitter: 0.0,
            deadline: None,
            max_retry_after: MAX_RETRY_AFTER,
        }
    }

    /// The recommended policy for alert delivery: 8 attempts, 500 ms doubling to at
    /// most 60 s with 25% jitter, within 10 minutes; server delays honoured up to 5
    /// minutes. With the durable outbox, a notification that exhausts this is retried
    /// again later by the outbox, so it is never dropped.
    pub fn recommended() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            jitter: 0.25,
            deadline: Some(Duration::from_secs(600)),
            max_retry_after: Duration::from_secs(300),
        }
    }

    /// Sets the number of attempts (at least 1).
    pub fn with_max_attempts(mut self, n: u32) -> RetryPolicy {
        self.max_attempts = n.max(1);
        self
    }
    /// Sets the first backoff and the largest one.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> RetryPolicy {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }
    /// Sets the jitter fraction (clamped to 0.0..=1.0).
    pub fn with_jitter(mut self, jitter: f64) -> RetryPolicy {
        self.jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }
    /// Sets the overall deadline.
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> RetryPolicy {
        self.deadline = deadline;
        self
    }
    /// Sets the cap on server-given delays.
    pub fn with_max_retry_after(mut self, cap: Duration) -> RetryPolicy {
        self.max_retry_after = cap;
        self
    }

    /// The backoff before attempt `attempt + 1` after `attempt` failed (1-based),
    /// jitter included.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(63);
        let base = self
            .initial_backoff
            .checked_mul(1u32 << exp.min(31))
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        if self.jitter <= 0.0 {
            base
        } else {
            scale(base, 1.0 - self.jitter.min(1.0) * random_unit())
        }
    }

    /// Decides what follows failed attempt number `attempt` (1-based) with `err`,
    /// `elapsed` after the first attempt started. Logs capped server delays.
    pub fn decide(&self, attempt: u32, err: &NotifyError, elapsed: Duration) -> RetryDecision {
        let wait = match err.retryable() {
            Retry::Never => return RetryDecision::GiveUp(GiveUpReason::Permanent),
            Retry::Backoff => self.backoff(attempt),
            Retry::After(d) => {
                if d > self.max_retry_after {
                    tracing::warn!(
                        channel = err.channel(),
                        asked = ?d,
                        cap = ?self.max_retry_after,
                        "server-given retry delay capped"
                    );
                }
                d.min(self.max_retry_after)
            }
        };
        if attempt >= self.max_attempts {
            return RetryDecision::GiveUp(GiveUpReason::Attempts);
        }
        if let Some(deadline) = self.deadline
            && elapsed.saturating_add(wait) > deadline
        {
            return RetryDecision::GiveUp(GiveUpReason::Deadline);
        }
        RetryDecision::RetryAfter(wait)
    }

    /// What follows a refusal by an open circuit breaker (`err`, see
    /// [`is_circuit_open`]), `elapsed` after the first attempt: wait the rest of
    /// the cool-down (at most `max_retry_after`, at least 1 ms) without using an
    /// attempt, unless that crosses the deadline.
    pub fn decide_refusal(&self, err: &NotifyError, elapsed: Duration) -> RetryDecision {
        let wait = match err.retryable() {
            Retry::After(d) => d,
            _ => self.initial_backoff,
        }
        .min(self.max_retry_after)
        .max(Duration::from_millis(1));
        if let Some(deadline) = self.deadline
            && elapsed.saturating_add(wait) > deadline
        {
            return RetryDecision::GiveUp(GiveUpReason::Deadline);
        }
        RetryDecision::RetryAfter(wait)
    }
}

/// Retries the wrapped notifier according to a [`RetryPolicy`]; see
/// [`RetryPolicy`] for the rules.
#[derive(Clone, Debug, Default)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// A layer with `policy`.
    pub fn new(policy: RetryPolicy) -> RetryLayer {
        RetryLayer { policy }
    }
}

impl<N> Layer<N> for RetryLayer {
    type Notifier = Retrying<N>;
    fn layer(&self, inner: N) -> Retrying<N> {
        Retrying {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// A notifier wrapped by [`RetryLayer`].
#[derive(Clone, Debug)]
pub struct Retrying<N> {
    inner: N,
    policy: RetryPolicy,
}

impl<N> Retrying<N> {
    /// The wrapped notifier.
    pub fn get_ref(&self) -> &N {
        &self.inner
    }

    async fn run<'a, F, Fut>(&'a self, what: &'static str, mut op: F) -> Result<Receipt>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Receipt>> + 'a,
        N: Notifier,
    {
        let start = Instant::now();
        let mut attempt = 1u32;
        loop {
            match op().await {
                Ok(r) => return Ok(r),
                Err(e) if is_circuit_open(&e) => {
                    // Nothing was sent: wait for the cool-down, not an attempt.
                    match self.policy.decide_refusal(&e, start.elapsed()) {
                        RetryDecision::RetryAfter(wait) => {
                            tracing::debug!(
                                notifier = self.inner.name(),
                                call = what,
                                wait = ?wait,
                                "circuit open, waiting for the cool-down"
                            );
                            tokio::time::sleep(wait).await;
                        }
                        RetryDecision::GiveUp(reason) => {
                            tracing::warn!(
                                notifier = self.inner.name(),
                                call = what,
                                attempts = attempt - 1,
                                ?reason,
                                error = %e,
                                "giving up"
                            );
                            return Err(e);
                        }
                    }
                }
                Err(e) => match self.policy.decide(attempt, &e, start.elapsed()) {
                    RetryDecision::RetryAfter(wait) => {
                        tracing::debug!(
                            notifier = self.inner.name(),
                            call = what,
                            attempt,
                            error = %e,
                            wait = ?wait,
                            "send failed, retrying"
                        );
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    RetryDecision::GiveUp(reason) => {
                        if attempt > 1 || reason != GiveUpReason::Permanent {
                            tracing::warn!(
                                notifier = self.inner.name(),
                                call = what,
                                attempts = attempt,
                                ?reason,
                                error = %e,
                                "giving up"
                            );
                        }
                        return Err(e);
                    }
                },
            }
        }
    }
}

#[async_trait]
impl<N: Notifier> Notifier for Retrying<N> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.run("notify", || self.inner.notify(alert)).await
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        self.run("notify_group", || self.inner.notify_group(alerts))
            .await
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        self.run("update", || self.inner.update(alert, previous))
            .await
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
}
