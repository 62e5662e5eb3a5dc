//! [`CircuitBreakerLayer`]: stop calling a failing destination for a while, then
//! probe; disable a destination that is gone.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::{Alert, Layer, Notifier, NotifyError, Receipt, Result, Retry, Timestamp};
use async_trait::async_trait;
use serde::Serialize;
use tokio::time::Instant;

use super::util::intern;

/// The message of the error an open circuit returns (see [`is_circuit_open`]).
pub const CIRCUIT_OPEN: &str = "circuit breaker open";

/// Whether `err` was returned by an open circuit breaker rather than by the
/// destination. Such an error is retryable after the rest of the cool-down.
pub fn is_circuit_open(err: &NotifyError) -> bool {
    matches!(err, NotifyError::Server { status: None, message, .. } if message.starts_with(CIRCUIT_OPEN))
}

/// Whether `err` was returned because the receiver is disabled (see
/// [`BreakerState::Disabled`]).
pub fn is_disabled(err: &NotifyError) -> bool {
    matches!(err, NotifyError::Unavailable { reason, .. } if reason.starts_with(DISABLED))
}

const DISABLED: &str = "receiver disabled";

/// Settings of a [`CircuitBreakerLayer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit (default 5).
    pub failure_threshold: u32,
    /// How long the circuit stays open before a probe (default 30 s).
    pub cool_down: Duration,
    /// The cool-down doubles after each failed probe, up to this (default 5 min).
    pub max_cool_down: Duration,
    /// Whether errors that say the destination is unusable (credentials refused,
    /// webhook gone, backend missing) disable the receiver (default true).
    pub disable_on_permanent: bool,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
            max_cool_down: Duration::from_secs(300),
            disable_on_permanent: true,
        }
    }
}

impl BreakerConfig {
    /// Sets the failure threshold (at least 1).
    pub fn with_threshold(mut self, n: u32) -> BreakerConfig {
        self.failure_threshold = n.max(1);
        self
    }
    /// Sets the cool-down (and raises the maximum to it if needed).
    pub fn with_cool_down(mut self, d: Duration) -> BreakerConfig {
        self.cool_down = d;
        self.max_cool_down = self.max_cool_down.max(d);
        self
    }
    /// Sets the largest cool-down.
    pub fn with_max_cool_down(mut self, d: Duration) -> BreakerConfig {
        self.max_cool_down = d.max(self.cool_down);
        self
    }
    /// Sets whether permanent destination errors disable the receiver.
    pub fn with_disable_on_permanent(mut self, yes: bool) -> BreakerConfig {
        self.disable_on_permanent = yes;
        self
    }
}

/// The state of a breaker, as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls go through. `failures` counts consecutive failures so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Calls are refused until the cool-down ends.
    Open {
        /// When the next probe is allowed (wall clock, for display).
        until: Timestamp,
        /// Why it opened: the last error.
        last_error: String,
    },
    /// One probe call is allowed; its outcome closes or re-opens the circuit.
    HalfOpen,
    /// The destination is unusable: calls are refused until
    /// [`BreakerHandle::enable`] is called.
    Disabled {
        /// Since when.
        since: Timestamp,
        /// The error that disabled it (no secrets: errors never hold any).
        reason: String,
    },
}

#[derive(Debug)]
enum Inner {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        until_wall: Timestamp,
        last_error: String,
    },
    HalfOpen {
        probing: bool,
    },
    Disabled {
        since: Timestamp,
        reason: String,
    },
}

#[derive(Debug)]
struct Shared {
    name: String,
    config: BreakerConfig,
    state: Mutex<(Inner, Duration)>,
}

/// A handle on one breaker's state: read it, re-enable a disabled receiver, or
/// reset. Clones share the breaker.
#[derive(Clone, Debug)]
pub struct BreakerHandle(Arc<Shared>);

impl BreakerHandle {
    /// The wrapped notifier's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        let g = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        match &g.0 {
            Inner::Closed { failures } => BreakerState::Closed {
                failures: *failures,
            },
            Inner::Open {
                until,
                until_wall,
                last_error,
            } => {
                if Instant::now() >= *until {
                    BreakerState::HalfOpen
                } else {
                    BreakerState::Open {
                        until: *until_wall,
                        last_error: last_error.clone(),
                    }
                }
            }
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
            Inner::Disabled { since, reason } => BreakerState::Disabled {
                since: *since,
                reason: reason.clone(),
            },
        }
    }

    /// Whether calls are refused now (open and cooling down, or disabled).
    pub fn is_refusing(&self) -> bool {
        matches!(
            self.state(),
            BreakerState::Open { .. } | BreakerState::Disabled { .. }
        )
    }

    /// Re-enables a disabled receiver (after fixing its credentials or URL), or
    /// closes an open circuit.
    pub fn enable(&self) {
        let mut g = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        *g = (Inner::Closed { failures: 0 }, self.0.config.cool_down);
        tracing::info!(receiver = %self.0.name, "circuit breaker reset");
    }

    /// Disables the receiver by hand.
    pub fn disable(&self, reason: impl Into<String>) {
        let mut g = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        g.0 = Inner::Disabled {
            since: Timestamp::now(),
            reason: reason.into(),
        };
    }

    /// Before a call: `Ok(probe)` to go ahead (`probe`: this call is the half-open
    /// probe), or the error to return.
    fn admit(&self, channel: &'static str) -> Result<bool> {
        let mut g = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match &mut g.0 {
            Inner::Closed { .. } => Ok(false),
            Inner::Open { until, .. } => {
                if now >= *until {
                    g.0 = Inner::HalfOpen { probing: true };
                    tracing::info!(receiver = %self.0.name, "circuit half-open: probing");
                    Ok(true)
                } else {
                    Err(NotifyError::Server {
                        channel,
                        status: None,
                        message: format!("{CIRCUIT_OPEN} for {:?} more", *until - now),
                        retry_after: Some(*until - now),
                    })
                }
            }
            Inner::HalfOpen { probing } => {
                if *probing {
                    // One probe at a time; the others wait a little.
                    Err(NotifyError::Server {
                        channel,
                        status: None,
                        message: format!("{CIRCUIT_OPEN}: probe in flight"),
                        retry_after: Some(Duration::from_millis(100)),
                    })
                } else {
                    *probing = true;
                    Ok(true)
                }
            }
            Inner::Disabled { reason, .. } => Err(NotifyError::Unavailable {
                channel,
                reason: format!("{DISABLED}: {reason}"),
            }),
        }
    }

    /// A call that was admitted ended without an outcome: it was cancelled (its
    /// future dropped, e.g. by an outer timeout) or it panicked. A panic counts as a
    /// failure of the destination's channel; a cancelled probe frees the half-open
    /// state for the next call to probe.
    fn abandon(&self, channel: &'static str, probe: bool, panicked: bool) {
        if panicked {
            tracing::error!(receiver = %self.0.name, "the call panicked; counted as a failure");
            self.record(&Err(NotifyError::Server {
                channel,
                status: None,
                message: "the channel panicked".into(),
                retry_after: None,
            }));
        } else if probe {
            let mut g = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
            if let Inner::HalfOpen { probing } = &mut g.0 {
                *probing = false;
                tracing::info!(receiver = %self.0.name, "half-open probe cancelled; the next call probes");
            }
        }
    }

    /// After a call: update the state with its outcome.
    fn record(&self, result: &Result<Receipt>) {
        let cfg = self.0.config;
        let mut g = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (state, cool) = &mut *g;
        match result {
            Ok(_) => {
                if !matches!(state, Inner::Closed { failures: 0 }) {
                    if !matches!(state, Inner::Closed { .. }) {
                        tracing::info!(receiver = %self.0.name, "circuit closed");
                    }
                    *state = Inner::Closed { failures: 0 };
                    *cool = cfg.cool_down;
                }
            }
            Err(e) if cfg.disable_on_permanent && e.disables_destination() => {
                tracing::error!(receiver = %self.0.name, error = %e, "receiver disabled");
                *state = Inner::Disabled {
                    since: Timestamp::now(),
                    reason: e.to_string(),
                };
            }
            Err(e) if counts_as_failure(e) => {
                let open = match state {
                    Inner::Closed { failures } => {
                        *failures += 1;
                        *failures >= cfg.failure_threshold
                    }
                    Inner::HalfOpen { .. } => {
                        *cool = (*cool * 2).min(cfg.max_cool_down);
                        true
                    }
                    Inner::Open { .. } | Inner::Disabled { .. } => false,
                };
                if open {
                    if cool.is_zero() {
                        *cool = cfg.cool_down;
                    }
                    tracing::warn!(receiver = %self.0.name, cool_down = ?*cool, error = %e, "circuit opened");
                    *state = Inner::Open {
                        until: now + *cool,
                        until_wall: Timestamp::now().saturating_add(*cool),
                        last_error: e.to_string(),
                    };
                }
            }
            Err(_) => {
                // A rejected message or a rate limit says nothing about the
                // destination's health; a half-open probe that got one is over.
                if let Inner::HalfOpen { probing } = state {
                    *probing = false;
                }
            }
        }
    }
}

/// Failures that say the destination is unhealthy: server errors, transport errors
/// and timeouts (retryable by backoff). Rate limits and rejected messages do not
/// count.
fn counts_as_failure(e: &NotifyError) -> bool {
    !is_circuit_open(e)
        && match e {
            NotifyError::RateLimited { .. } => false,
            other => matches!(other.retryable(), Retry::Backoff | Retry::After(_)),
        }
}

/// Opens the circuit after `failure_threshold` consecutive failures (server errors,
/// transport errors, timeouts): calls then fail at once, without reaching the
/// destination, with a retryable error whose delay is the rest of the cool-down
/// (see [`is_circuit_open`]). After the cool-down one probe goes through: success
/// closes the circuit, failure re-opens it for twice the cool-down (up to
/// `max_cool_down`).
///
/// An error that [`disables_destination`](NotifyError::disables_destination)
/// (credentials refused, webhook gone) **disables** the receiver: every later call
/// fails with [`NotifyError::Unavailable`] (`receiver disabled: ...`), a state the
/// API shows ([`BreakerHandle::state`]) until someone calls
/// [`BreakerHandle::enable`]. A fallback receiver ([`FallbackLayer`](super::FallbackLayer))
/// takes its notifications meanwhile.
///
/// A call that ends without an outcome is accounted for too: a panic in the wrapped
/// notifier counts as a failure, and a half-open probe whose future is dropped
/// (cancelled by an outer timeout, say) lets the next call probe instead of
/// leaving the circuit waiting for it forever.
#[derive(Clone, Debug, Default)]
pub struct CircuitBreakerLayer {
    config: BreakerConfig,
}

impl CircuitBreakerLayer {
    /// A layer with `config`.
    pub fn new(config: BreakerConfig) -> CircuitBreakerLayer {
        CircuitBreakerLayer { config }
    }
}

impl<N: Notifier> Layer<N> for CircuitBreakerLayer {
    type Notifier = CircuitBreaker<N>;
    fn layer(&self, inner: N) -> CircuitBreaker<N> {
        CircuitBreaker {
            channel: intern(inner.name()),
            handle: BreakerHandle(Arc::new(Shared {
                name: inner.name().to_owned(),
                config: self.config,
                state: Mutex::new((Inner::Closed { failures: 0 }, self.config.cool_down)),
            })),
            inner,
        }
    }
}

/// A notifier wrapped by [`CircuitBreakerLayer`].
#[derive(Clone)]
pub struct CircuitBreaker<N> {
    inner: N,
    channel: &'static str,
    handle: BreakerHandle,
}

impl<N: fmt::Debug> fmt::Debug for CircuitBreaker<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("inner", &self.inner)
            .field("state", &self.handle.state())
            .finish()
    }
}

impl<N> CircuitBreaker<N> {
    /// The handle on this breaker's state.
    pub fn handle(&self) -> BreakerHandle {
        self.handle.clone()
    }

    async fn guarded(&self, call: impl Future<Output = Result<Receipt>>) -> Result<Receipt> {
        let probe = self.handle.admit(self.channel)?;
        // If the call never returns (its future is dropped, or it panics), the guard
        // tells the breaker, so a half-open probe is never left "in flight" forever.
        let mut guard = Admitted {
            handle: &self.handle,
            channel: self.channel,
            probe,
            done: false,
        };
        let r = call.await;
        guard.done = true;
        self.handle.record(&r);
        r
    }
}

/// An admitted call's drop guard (see [`BreakerHandle::abandon`]).
struct Admitted<'a> {
    handle: &'a BreakerHandle,
    channel: &'static str,
    probe: bool,
    done: bool,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.handle
                .abandon(self.channel, self.probe, std::thread::panicking());
        }
    }
}

#[async_trait]
impl<N: Notifier> Notifier for CircuitBreaker<N> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.guarded(self.inner.notify(alert)).await
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        self.guarded(self.inner.notify_group(alerts)).await
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        self.guarded(self.inner.update(alert, previous)).await
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
}
