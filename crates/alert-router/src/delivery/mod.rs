//! Delivery that loses nothing: tower-shaped layers over any
//! [`Notifier`](alert_core::Notifier), the durable [`Outbox`], delivery history and
//! the alert-effectiveness [`report`].
//!
//! # Layers
//!
//! Each layer implements [`alert_core::Layer`] and wraps a notifier in another
//! notifier, so they compose with user-written channels too:
//!
//! | layer | what it does |
//! |---|---|
//! | [`ConcurrencyLimitLayer`] | at most N calls in flight |
//! | [`RetryLayer`] | exponential backoff with jitter, max attempts, overall deadline, server delays honoured and capped; decides from [`NotifyError::retryable`](alert_core::NotifyError::retryable) only |
//! | [`CircuitBreakerLayer`] | after N consecutive failures, refuse calls for a cool-down, then probe; destinations that are gone disable the receiver ([`BreakerState::Disabled`]) |
//! | [`RateLimitLayer`] | token bucket per destination key; a 429 shrinks the bucket until the reset (a server delay capped at 15 minutes); [`RateLimit::for_channel`] has the per-channel defaults and their sources |
//! | [`TimeoutLayer`] | a deadline per attempt |
//! | [`FallbackLayer`] | another receiver takes over when this one is unavailable |
//!
//! [`NotifierBuilder`] stacks them, **first call outermost**. The recommended order
//! per channel is **concurrency limit → retry → circuit breaker → rate limit →
//! timeout → channel**: timeouts apply per attempt, retries count against the
//! provider's rate limit, and an open breaker makes the retry layer wait instead of
//! hammering. [`NotifierBuilder::recommended`] builds that stack;
//! [`DeliveryExt`] offers each layer as a method (`slack.with_timeout(d)`).
//!
//! ```
//! use std::time::Duration;
//! use alert_core::ConsoleNotifier;
//! use alert_router::delivery::{BreakerConfig, NotifierBuilder, RateLimit, RetryPolicy};
//!
//! let channel = NotifierBuilder::new()
//!     .concurrency_limit(4)
//!     .retry(RetryPolicy::recommended())
//!     .circuit_breaker(BreakerConfig::default())
//!     .rate_limit(RateLimit::per_second(1.0, 2))
//!     .timeout(Duration::from_secs(10))
//!     .service(ConsoleNotifier::stderr("app"));
//! ```
//!
//! # The outbox
//!
//! [`Outbox`] delivers [`Notification`](crate::store::Notification)s through named
//! channels with nothing lost: each notification is written to the
//! [`Store`](crate::store::Store) before its first attempt, every attempt is recorded,
//! retries are scheduled durably (24 hours by default; refusals by an open circuit
//! breaker do not count as attempts), and pending notifications resume on start-up.
//! A notification it gives up on goes to the receiver's fallback or is kept as a
//! dead letter ([`Outbox::dead_letters`], [`Outbox::redeliver`]); it is never
//! deleted undelivered. See its docs for the at-least-once guarantee, the bound on
//! duplicates and which channels make a resend harmless.
#![allow(clippy::module_name_repetitions)]

mod breaker;
mod builder;
mod concurrency;
mod ext;
mod fallback;
pub mod history;
mod outbox;
mod rate_limit;
pub mod report;
mod retry;
mod timeout;
mod util;

pub use breaker::{
    BreakerConfig, BreakerHandle, BreakerState, CIRCUIT_OPEN, CircuitBreaker, CircuitBreakerLayer,
    is_circuit_open, is_disabled,
};
pub use builder::{Identity, NotifierBuilder, Stack};
pub use concurrency::{ConcurrencyLimit, ConcurrencyLimitLayer};
pub use ext::DeliveryExt;
pub use fallback::{Fallback, FallbackLayer, FallbackOn};
pub use outbox::{
    ChannelStatus, DEFAULT_LANE_CONCURRENCY, DEFAULT_MEMORY_LIMIT, Outbox, OutboxBuilder,
    OutboxError, OutboxStats, new_notification_id,
};
pub use rate_limit::{DEFAULT_PENALTY, RateLimit, RateLimitLayer, RateLimited};
pub use retry::{GiveUpReason, RetryDecision, RetryLayer, RetryPolicy, Retrying};
pub use timeout::{Timeout, TimeoutLayer};
