//! `[delivery]` ([`DeliveryConfig`]) applied to the router's outbox.
//!
//! * `retry_for` and `max_backoff` make the outbox's durable [`RetryPolicy`]
//!   ([`retry_policy`]): the outbox's default ([`Outbox::default_retry`]) with the
//!   deadline and the largest wait replaced.
//! * `lane_concurrency` is the outbox's number of workers per channel and the
//!   in-flight limit of each channel's stack
//!   ([`OutboxBuilder::lane_concurrency`]).
//! * `attempt_timeout` is the timeout of each attempt in that stack
//!   ([`OutboxBuilder::attempt_timeout`]).
//! * `memory_limit` bounds the waiting notifications the outbox keeps in memory
//!   ([`OutboxBuilder::memory_limit`]).
//!
//! The router registers every channel built from the config with
//! [`OutboxBuilder::channel_recommended`], whose stack (in-flight limit → circuit
//! breaker → rate limit → timeout per attempt) is built when the outbox starts, after
//! these settings.

use alert_router::delivery::{Outbox, OutboxBuilder, RetryPolicy};

use crate::config::DeliveryConfig;

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

/// What the service passes to
/// [`RouterBuilder::delivery`](alert_router::RouterBuilder::delivery): the retry
/// policy, the lane concurrency, the timeout per attempt and the memory limit.
pub fn configure(
    d: &DeliveryConfig,
) -> impl FnOnce(OutboxBuilder) -> OutboxBuilder + Send + 'static {
    let d = d.clone();
    move |ob: OutboxBuilder| {
        ob.retry(retry_policy(&d))
            .lane_concurrency(d.lane_concurrency)
            .attempt_timeout(d.attempt_timeout)
            .memory_limit(d.memory_limit)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use alert_router::store::MemoryStore;
    use alert_router::{Router, RouterConfig};

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
        assert_eq!(DeliveryConfig::default().lane_concurrency, 8);
        assert_eq!(
            DeliveryConfig::default().attempt_timeout,
            Duration::from_secs(10)
        );
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
            b = b.delivery(configure(d));
        }
        b.build().await.expect("router")
    }

    /// The settings reach the router's outbox; its channels stay the same ones (the
    /// e2e tests show the timeout and the concurrency at work through the service).
    #[tokio::test]
    async fn the_settings_reach_the_routers_outbox() {
        let cfg = RouterConfig::from_toml_str(RECEIVERS).unwrap();
        let lanes = |r: &Router| -> Vec<(String, String, bool)> {
            let mut v: Vec<_> = r
                .outbox()
                .channels()
                .into_iter()
                .map(|c| (c.receiver, c.channel, c.breaker.is_some()))
                .collect();
            v.sort();
            v
        };
        let plain = router(&cfg, None).await;
        assert_eq!(plain.outbox().lane_concurrency(), 8);
        assert_eq!(plain.outbox().memory_limit(), 1024);
        let before = lanes(&plain);
        assert_eq!(
            before,
            [
                ("a".into(), "console".into(), true),
                ("a".into(), "webhook".into(), true),
                ("a".into(), "webhook-2".into(), true),
                ("a".into(), "webhook-3".into(), true),
                ("b".into(), "console".into(), true),
                ("b".into(), "console-2".into(), true),
            ]
        );
        plain.shutdown(Duration::from_millis(100)).await;

        let d = DeliveryConfig {
            attempt_timeout: Duration::from_secs(30),
            lane_concurrency: 3,
            memory_limit: 7,
            ..DeliveryConfig::default()
        };
        let tuned = router(&cfg, Some(&d)).await;
        assert_eq!(lanes(&tuned), before);
        assert_eq!(tuned.outbox().lane_concurrency(), 3);
        assert_eq!(tuned.outbox().memory_limit(), 7);
        tuned.shutdown(Duration::from_millis(100)).await;
    }
}
