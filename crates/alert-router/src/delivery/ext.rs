//! [`DeliveryExt`]: the layers as methods on every notifier.

use std::sync::Arc;
use std::time::Duration;

use alert_core::{Layer, Notifier};

use super::{
    BreakerConfig, CircuitBreaker, CircuitBreakerLayer, ConcurrencyLimit, ConcurrencyLimitLayer,
    Fallback, FallbackLayer, RateLimit, RateLimitLayer, RateLimited, RetryLayer, RetryPolicy,
    Retrying, Timeout, TimeoutLayer,
};

/// Delivery layers as methods: `slack.with_timeout(d).with_retry(policy)`.
///
/// Each call wraps what it is called on, so the **last** call is the outermost, the
/// reverse of [`NotifierBuilder`](super::NotifierBuilder). Implemented for every
/// [`Notifier`] through a blanket impl; do not implement it yourself.
pub trait DeliveryExt: Notifier + Sized + private::Sealed {
    /// Wraps in a [`TimeoutLayer`].
    fn with_timeout(self, after: Duration) -> Timeout<Self> {
        TimeoutLayer::new(after).layer(self)
    }
    /// Wraps in a [`RetryLayer`].
    fn with_retry(self, policy: RetryPolicy) -> Retrying<Self> {
        RetryLayer::new(policy).layer(self)
    }
    /// Wraps in a [`RateLimitLayer`] with one bucket.
    fn with_rate_limit(self, limit: RateLimit) -> RateLimited<Self> {
        RateLimitLayer::new(limit).layer(self)
    }
    /// Wraps in a [`ConcurrencyLimitLayer`].
    fn with_concurrency_limit(self, max: usize) -> ConcurrencyLimit<Self> {
        ConcurrencyLimitLayer::new(max).layer(self)
    }
    /// Wraps in a [`CircuitBreakerLayer`].
    fn with_circuit_breaker(self, config: BreakerConfig) -> CircuitBreaker<Self> {
        CircuitBreakerLayer::new(config).layer(self)
    }
    /// Wraps in a [`FallbackLayer`].
    fn with_fallback(self, fallback: Arc<dyn Notifier>) -> Fallback<Self> {
        FallbackLayer::new(fallback).layer(self)
    }
}

impl<N: Notifier> DeliveryExt for N {}

mod private {
    pub trait Sealed {}
    impl<N: alert_core::Notifier> Sealed for N {}
}
