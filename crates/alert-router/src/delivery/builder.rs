//! [`NotifierBuilder`]: stack layers over a channel, first call outermost.

use std::sync::Arc;
use std::time::Duration;

use alert_core::{Layer, Notifier};

use super::{
    BreakerConfig, CircuitBreakerLayer, ConcurrencyLimitLayer, FallbackLayer, RateLimit,
    RateLimitLayer, RetryLayer, RetryPolicy, TimeoutLayer,
};

/// The layer that does nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity;

impl<N> Layer<N> for Identity {
    type Notifier = N;
    fn layer(&self, inner: N) -> N {
        inner
    }
}

/// Two layers, `Inner` applied first (closest to the channel), `Outer` around it.
#[derive(Clone, Debug)]
pub struct Stack<Inner, Outer> {
    inner: Inner,
    outer: Outer,
}

impl<N, Inner, Outer> Layer<N> for Stack<Inner, Outer>
where
    Inner: Layer<N>,
    Outer: Layer<Inner::Notifier>,
{
    type Notifier = Outer::Notifier;
    fn layer(&self, n: N) -> Self::Notifier {
        self.outer.layer(self.inner.layer(n))
    }
}

/// Builds a delivery stack over a channel, tower style: **the first layer added is
/// the outermost** (it sees a call first and its result last).
///
/// The recommended order per channel is
/// **concurrency limit → retry → circuit breaker → rate limit → timeout → channel**:
///
/// * the concurrency limit bounds everything below it, waits included;
/// * retry is outside the timeout, so the timeout applies **per attempt**;
/// * retries go through the rate limiter, so they count against the provider's
///   limit, and a 429 shrinks the bucket before the retry waits;
/// * the breaker sits inside retry: while open it answers at once with "retry after
///   the cool-down", so the retry layer waits instead of hammering.
///
/// [`NotifierBuilder::recommended`] builds exactly that for a channel kind.
///
/// ```
/// use std::time::Duration;
/// use alert_core::ConsoleNotifier;
/// use alert_router::delivery::{NotifierBuilder, RateLimit, RetryPolicy};
///
/// let slack_like = NotifierBuilder::new()
///     .concurrency_limit(4)                       // outermost
///     .retry(RetryPolicy::recommended())
///     .rate_limit(RateLimit::per_second(1.0, 2))
///     .timeout(Duration::from_secs(10))           // innermost: per attempt
///     .service(ConsoleNotifier::stderr("app"));
/// ```
#[derive(Clone, Debug)]
pub struct NotifierBuilder<L> {
    layer: L,
}

impl Default for NotifierBuilder<Identity> {
    fn default() -> Self {
        NotifierBuilder::new()
    }
}

impl NotifierBuilder<Identity> {
    /// An empty builder.
    pub fn new() -> NotifierBuilder<Identity> {
        NotifierBuilder { layer: Identity }
    }

    /// The recommended stack for a channel kind (`slack`, `discord`, `webhook`, ...):
    /// concurrency limit 4 → [`RetryPolicy::recommended`] → circuit breaker
    /// ([`BreakerConfig::default`]) → the channel's rate limit
    /// ([`RateLimit::for_channel`], if any) → 10 s timeout per attempt.
    #[allow(clippy::type_complexity)]
    pub fn recommended(
        kind: &str,
    ) -> NotifierBuilder<
        Stack<
            TimeoutLayer,
            Stack<
                Option<RateLimitLayer>,
                Stack<
                    CircuitBreakerLayer,
                    Stack<RetryLayer, Stack<ConcurrencyLimitLayer, Identity>>,
                >,
            >,
        >,
    > {
        NotifierBuilder::new()
            .concurrency_limit(4)
            .retry(RetryPolicy::recommended())
            .circuit_breaker(BreakerConfig::default())
            .option_layer(RateLimit::for_channel(kind).map(RateLimitLayer::new))
            .timeout(Duration::from_secs(10))
    }
}

impl<L> NotifierBuilder<L> {
    /// Adds a layer inside the ones added so far.
    pub fn layer<T>(self, layer: T) -> NotifierBuilder<Stack<T, L>> {
        NotifierBuilder {
            layer: Stack {
                inner: layer,
                outer: self.layer,
            },
        }
    }

    /// Adds a layer when `Some`, nothing when `None`.
    pub fn option_layer<T>(self, layer: Option<T>) -> NotifierBuilder<Stack<Option<T>, L>> {
        self.layer(layer)
    }

    /// Adds a [`ConcurrencyLimitLayer`].
    pub fn concurrency_limit(self, max: usize) -> NotifierBuilder<Stack<ConcurrencyLimitLayer, L>> {
        self.layer(ConcurrencyLimitLayer::new(max))
    }

    /// Adds a [`RetryLayer`].
    pub fn retry(self, policy: RetryPolicy) -> NotifierBuilder<Stack<RetryLayer, L>> {
        self.layer(RetryLayer::new(policy))
    }

    /// Adds a [`RateLimitLayer`] with one bucket.
    pub fn rate_limit(self, limit: RateLimit) -> NotifierBuilder<Stack<RateLimitLayer, L>> {
        self.layer(RateLimitLayer::new(limit))
    }

    /// Adds a [`TimeoutLayer`].
    pub fn timeout(self, after: Duration) -> NotifierBuilder<Stack<TimeoutLayer, L>> {
        self.layer(TimeoutLayer::new(after))
    }

    /// Adds a [`CircuitBreakerLayer`].
    pub fn circuit_breaker(
        self,
        config: BreakerConfig,
    ) -> NotifierBuilder<Stack<CircuitBreakerLayer, L>> {
        self.layer(CircuitBreakerLayer::new(config))
    }

    /// Adds a [`FallbackLayer`] (usually first, so it sees the final outcome).
    pub fn fallback(self, fallback: Arc<dyn Notifier>) -> NotifierBuilder<Stack<FallbackLayer, L>> {
        self.layer(FallbackLayer::new(fallback))
    }

    /// Wraps `notifier` in every layer.
    pub fn service<N>(&self, notifier: N) -> L::Notifier
    where
        L: Layer<N>,
    {
        self.layer.layer(notifier)
    }

    /// The composed layer, to apply later.
    pub fn into_inner(self) -> L {
        self.layer
    }
}
