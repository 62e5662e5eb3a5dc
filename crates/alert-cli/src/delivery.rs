//! `[delivery]` ([`DeliveryConfig`]) applied to the router's outbox.
//!
//! * `retry_for` and `max_backoff` make the outbox's durable [`RetryPolicy`]
//!   ([`retry_policy`]): the outbox's default ([`Outbox::default_retry`]) with the
//!   deadline and the largest wait replaced.
//! * `lane_concurrency` is the outbox's number of workers per channel
//!   ([`OutboxBuilder::lane_concurrency`]).
//! * The router wraps every channel built from the config in the recommended stack
//!   of its kind (in-flight limit → circuit breaker → rate limit → timeout per
//!   attempt) with a fixed 10 s timeout and an in-flight limit of 8, set when it
//!   registers the channel; alert-router has no setting for either. So when
//!   `attempt_timeout` or `lane_concurrency` differs from its default, every channel
//!   is built again from the config here and registered under the same name, with
//!   the same stack built from alert-router's public layers ([`channel_stack`]),
//!   replacing the router's. With the defaults the router's own stack is kept.

use std::collections::HashMap;
use std::sync::Arc;

use alert_core::{Layer, Notifier};
use alert_router::delivery::{
    BreakerConfig, BreakerHandle, CircuitBreakerLayer, ConcurrencyLimitLayer, NotifierBuilder,
    Outbox, OutboxBuilder, RateLimit, RateLimitLayer, RetryPolicy, TimeoutLayer,
};
use alert_router::{ChannelConfig, ReceiverConfig};

use crate::config::{DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_LANE_CONCURRENCY, DeliveryConfig};

/// The outbox's retry policy for `d`: [`Outbox::default_retry`] (no limit on the
/// number of attempts, 25% jitter, server delays honoured up to 15 minutes) with
/// `retry_for` as the deadline and waits from 1 s (or `max_backoff`, when shorter)
/// doubling up to `max_backoff`.
pub fn retry_policy(d: &DeliveryConfig) -> RetryPolicy {
    let base = Outbox::default_retry();
    let first = base.initial_backoff.min(d.max_backoff);
    base.with_backoff(first, d.max_backoff)
        .with_deadline(Some(d.retry_for))
}

/// Whether the channels need the stack rebuilt ([module docs](self)): the
/// router's fixes the per-attempt timeout and the in-flight limit at their
/// defaults.
pub fn rebuilds_channels(d: &DeliveryConfig) -> bool {
    d.attempt_timeout != DEFAULT_ATTEMPT_TIMEOUT || d.lane_concurrency != DEFAULT_LANE_CONCURRENCY
}

/// The names the router gives the channels of `rc`, in order: a channel is named
/// after its type (a `custom` one after its `name`), made unique within the
/// receiver (`webhook`, `webhook-2`).
pub fn channel_names(rc: &ReceiverConfig) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(rc.channels.len());
    for cc in &rc.channels {
        let base = match cc {
            ChannelConfig::Custom(c) => c.name.clone(),
            other => other.kind().to_owned(),
        };
        let base = if base.is_empty() {
            "channel".to_owned()
        } else {
            base
        };
        let mut name = base.clone();
        let mut n = 1;
        while names.contains(&name) {
            n += 1;
            name = format!("{base}-{n}");
        }
        names.push(name);
    }
    names
}

/// The stack the router gives a channel of `kind` built from config, with
/// `[delivery]`'s values: at most `lane_concurrency` calls in flight → circuit
/// breaker (default settings) → the kind's rate limit ([`RateLimit::for_channel`])
/// → `attempt_timeout` per attempt → the channel. No retry layer: the outbox
/// retries. Returns the stack and its breaker's handle.
pub fn channel_stack(
    kind: &str,
    notifier: Arc<dyn Notifier>,
    d: &DeliveryConfig,
) -> (Arc<dyn Notifier>, BreakerHandle) {
    let guarded = NotifierBuilder::new()
        .layer(CircuitBreakerLayer::new(BreakerConfig::default()))
        .option_layer(RateLimit::for_channel(kind).map(RateLimitLayer::new))
        .layer(TimeoutLayer::new(d.attempt_timeout))
        .service(notifier);
    let handle = guarded.handle();
    let stack = ConcurrencyLimitLayer::new(d.lane_concurrency).layer(guarded);
    (Arc::new(stack), handle)
}

/// What the service passes to
/// [`RouterBuilder::delivery`](alert_router::RouterBuilder::delivery): the retry
/// policy, the lane concurrency and, when [needed](rebuilds_channels), every
/// channel of `receivers` in its rebuilt stack. The router calls it after it has
/// built (and so validated) the same channels; a channel that fails to build here
/// all the same keeps the router's stack, with an error logged.
pub fn configure(
    d: &DeliveryConfig,
    receivers: &[ReceiverConfig],
) -> impl FnOnce(OutboxBuilder) -> OutboxBuilder + Send + 'static {
    let d = d.clone();
    let receivers: Vec<ReceiverConfig> = if rebuilds_channels(&d) {
        receivers.to_vec()
    } else {
        Vec::new()
    };
    move |ob: OutboxBuilder| {
        let mut ob = ob
            .retry(retry_policy(&d))
            .lane_concurrency(d.lane_concurrency);
        let custom = HashMap::new();
        for rc in &receivers {
            for (cc, name) in rc.channels.iter().zip(channel_names(rc)) {
                if matches!(cc, ChannelConfig::Custom(_)) {
                    continue;
                }
                match cc.build(&custom) {
                    Ok(n) => {
                        let (stack, handle) = channel_stack(cc.kind(), n, &d);
                        ob = ob.channel_with_breaker(rc.name.clone(), name, stack, handle);
                    }
                    Err(e) => tracing::error!(
                        receiver = %rc.name,
                        channel = %name,
                        error = %e,
                        "could not build the channel again for [delivery]: it keeps a 10 s \
                         timeout per attempt and 8 attempts in flight"
                    ),
                }
            }
        }
        ob
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use alert_core::{Alert, NotifyError, Receipt, Severity};
    use alert_router::store::MemoryStore;
    use alert_router::{Router, RouterConfig};
    use async_trait::async_trait;

    use super::*;

    fn delivery(retry_for: u64, max_backoff_ms: u64) -> DeliveryConfig {
        DeliveryConfig {
            retry_for: Duration::from_secs(retry_for),
            max_backoff: Duration::from_millis(max_backoff_ms),
            ..DeliveryConfig::default()
        }
    }

    #[test]
    fn the_retry_policy_takes_the_deadline_and_the_largest_wait() {
        let p = retry_policy(&delivery(3, 2000));
        assert_eq!(p.deadline, Some(Duration::from_secs(3)));
        assert_eq!(p.initial_backoff, Duration::from_secs(1));
        assert_eq!(p.max_backoff, Duration::from_secs(2));
        assert_eq!(p.max_attempts, u32::MAX);
        assert_eq!(p.jitter, 0.25);
        assert_eq!(p.max_retry_after, Duration::from_secs(900));
        // Doubling stops at max_backoff (jitter takes up to 25% off).
        let wait = p.backoff(20);
        assert!(
            wait <= Duration::from_secs(2) && wait >= Duration::from_millis(1500),
            "{wait:?}"
        );
        // A max_backoff under 1 s is also the first wait.
        let p = retry_policy(&delivery(60, 250));
        assert_eq!(p.initial_backoff, Duration::from_millis(250));
        assert_eq!(p.max_backoff, Duration::from_millis(250));
    }

    #[test]
    fn the_defaults_are_the_outboxs_own() {
        let p = retry_policy(&DeliveryConfig::default());
        assert_eq!(p, Outbox::default_retry());
        assert!(!rebuilds_channels(&DeliveryConfig::default()));
        assert!(rebuilds_channels(&DeliveryConfig {
            lane_concurrency: 2,
            ..DeliveryConfig::default()
        }));
        assert!(rebuilds_channels(&DeliveryConfig {
            attempt_timeout: Duration::from_secs(30),
            ..DeliveryConfig::default()
        }));
    }

    const RECEIVERS: &str = r#"
[[receivers]]
name = "a"
channels = [
  { type = "webhook", url = "http://127.0.0.1:9/one" },
  { type = "console" },
  { type = "webhook", url = "http://127.0.0.1:9/two" },
  { type = "webhook", url = "http://127.0.0.1:9/three" },
]

[[receivers]]
name = "b"
channels = [{ type = "console" }, { type = "console" }]
"#;

    async fn router(cfg: &RouterConfig, d: Option<&DeliveryConfig>) -> Router {
        let mut b = Router::builder()
            .config(cfg.clone())
            .store(Arc::new(MemoryStore::new()))
            .manual_ticks();
        if let Some(d) = d {
            b = b.delivery(configure(d, &cfg.receivers));
        }
        b.build().await.expect("router")
    }

    /// The names computed here are the router's, and rebuilt channels replace the
    /// router's lanes (none is added).
    #[tokio::test]
    async fn rebuilt_channels_take_the_routers_names() {
        let cfg = RouterConfig::from_toml_str(RECEIVERS).unwrap();
        assert_eq!(
            channel_names(&cfg.receivers[0]),
            ["webhook", "console", "webhook-2", "webhook-3"]
        );
        assert_eq!(channel_names(&cfg.receivers[1]), ["console", "console-2"]);
        let plain = router(&cfg, None).await;
        let expected: Vec<(String, Vec<String>)> = cfg
            .receivers
            .iter()
            .map(|r| (r.name.clone(), channel_names(r)))
            .collect();
        assert_eq!(plain.receivers(), expected);
        assert_eq!(plain.outbox().lane_concurrency(), DEFAULT_LANE_CONCURRENCY);
        let lanes = |r: &Router| -> Vec<(String, String, bool)> {
            r.outbox()
                .channels()
                .into_iter()
                .map(|c| (c.receiver, c.channel, c.breaker.is_some()))
                .collect()
        };
        let before = lanes(&plain);
        assert_eq!(before.len(), 6);
        plain.shutdown(Duration::from_millis(100)).await;

        let d = DeliveryConfig {
            attempt_timeout: Duration::from_secs(30),
            lane_concurrency: 3,
            ..DeliveryConfig::default()
        };
        let tuned = router(&cfg, Some(&d)).await;
        assert_eq!(tuned.receivers(), expected);
        assert_eq!(lanes(&tuned), before);
        assert_eq!(tuned.outbox().lane_concurrency(), 3);
        tuned.shutdown(Duration::from_millis(100)).await;
    }

    /// A channel that never answers.
    #[derive(Debug)]
    struct Silent;

    #[async_trait]
    impl Notifier for Silent {
        fn name(&self) -> &str {
            "silent"
        }
        async fn notify(&self, _alert: &Alert) -> alert_core::Result<Receipt> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn an_attempt_ends_at_the_attempt_timeout() {
        let d = DeliveryConfig {
            attempt_timeout: Duration::from_millis(100),
            ..DeliveryConfig::default()
        };
        let (stack, handle) = channel_stack("webhook", Arc::new(Silent), &d);
        let e = stack
            .notify(&Alert::new(Severity::Error, "X"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, NotifyError::Timeout { after, .. } if after == Duration::from_millis(100)),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "silent: timed out after 100ms");
        assert_eq!(handle.name(), "silent");
    }
}
