//! The delivery stack the router really runs for a channel built from config
//! (`OutboxBuilder::channel_recommended`): the outbox's durable retry outside
//! concurrency limit → circuit breaker → rate limit → timeout → channel. The order is
//! shown by what each layer sees; a sink that is gone disables the channel, which
//! the API shows, and nothing is retried endlessly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::Severity::Error;
use alert_core::{Alert, Notifier, NotifyError, Receipt, Result, Timestamp, async_trait};
use alert_router::delivery::{BreakerState, Outbox, new_notification_id};
use alert_router::store::{
    AttemptOutcome, AttemptQuery, DeliveryAttempt, MemoryStore, Notification, NotificationKind,
    Store,
};
use alert_router::{Route, Router, RouterConfig, TokioClock};
use alert_webhook::fake::{FakeWebhook, Reply};
use tokio::time::Instant;

/// What a call does.
#[derive(Clone, Copy, Debug)]
enum Play {
    /// Answer after this long.
    Hang(Duration),
    /// Fail with a 503.
    Unavailable,
}

/// A channel that notes the simulated second of every call it gets and plays a
/// script, then succeeds.
#[derive(Clone, Debug)]
struct Timed {
    start: Instant,
    script: Arc<Mutex<Vec<Play>>>,
    calls: Arc<Mutex<Vec<u64>>>,
}

impl Timed {
    fn new(script: Vec<Play>) -> Timed {
        Timed {
            start: Instant::now(),
            script: Arc::new(Mutex::new(script.into_iter().rev().collect())),
            calls: Arc::default(),
        }
    }
    fn calls(&self) -> Vec<u64> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl Notifier for Timed {
    fn name(&self) -> &str {
        "slack"
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.notify_group(std::slice::from_ref(alert)).await
    }
    async fn notify_group(&self, _alerts: &[Alert]) -> Result<Receipt> {
        self.calls
            .lock()
            .unwrap()
            .push(self.start.elapsed().as_secs());
        let step = self.script.lock().unwrap().pop();
        match step {
            Some(Play::Hang(d)) => tokio::time::sleep(d).await,
            Some(Play::Unavailable) => {
                return Err(NotifyError::Server {
                    channel: "slack",
                    status: Some(503),
                    message: "unavailable".into(),
                    retry_after: None,
                });
            }
            None => {}
        }
        Ok(Receipt::new("slack"))
    }
}

fn notes(n: usize) -> Vec<Notification> {
    (0..n)
        .map(|i| {
            Notification::new(
                new_notification_id(),
                "team",
                "slack",
                format!("g{i}"),
                NotificationKind::Group,
                vec![Alert::new(Error, "Drift").with_label("i", i.to_string())],
                Error,
                Timestamp::now(),
            )
        })
        .collect()
}

async fn attempts(store: &dyn Store) -> Vec<DeliveryAttempt> {
    let mut v = store
        .query_attempts(&AttemptQuery::default())
        .await
        .unwrap();
    v.reverse();
    v
}

/// The stack for a `slack` channel, as the router registers it.
async fn slack_outbox(store: Arc<MemoryStore>, channel: Timed, lanes: usize) -> Outbox {
    Outbox::builder(store)
        .clock(Arc::new(TokioClock::starting_at(Timestamp::now())))
        .lane_concurrency(lanes)
        .channel_recommended("team", "slack", "slack", Arc::new(channel))
        .start()
        .await
        .unwrap()
}

/// Timeouts are per attempt and inside the breaker (which counts them and opens
/// after 5), the breaker is inside the outbox's retry (which waits out the
/// cool-down instead of calling the channel), and the probe after the cool-down
/// delivers.
#[tokio::test(start_paused = true)]
async fn timeouts_feed_the_breaker_and_the_retry_waits_out_the_cool_down() {
    let store = Arc::new(MemoryStore::new());
    let channel = Timed::new(vec![Play::Hang(Duration::from_secs(3600)); 5]);
    let outbox = slack_outbox(store.clone(), channel.clone(), 1).await;
    outbox.submit_many(notes(1)).await.unwrap();
    // Five calls time out; once the fifth is recorded the breaker is open.
    for _ in 0..1000 {
        if matches!(
            outbox.channels()[0].breaker,
            Some(BreakerState::Open { .. })
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        matches!(
            outbox.channels()[0].breaker,
            Some(BreakerState::Open { .. })
        ),
        "{:?}",
        outbox.channels()
    );
    assert!(outbox.wait_idle(Duration::from_secs(600)).await);
    let all = attempts(&*store).await;
    let outcomes: Vec<(AttemptOutcome, Option<&str>)> = all
        .iter()
        .map(|a| (a.outcome, a.error_kind.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (AttemptOutcome::Failed, Some("timeout")),
            (AttemptOutcome::Failed, Some("timeout")),
            (AttemptOutcome::Failed, Some("timeout")),
            (AttemptOutcome::Failed, Some("timeout")),
            (AttemptOutcome::Failed, Some("timeout")),
            // (The retry during the cool-down was refused by the open breaker
            // without reaching the channel: not an attempt, not in the history.)
            // The probe after the cool-down.
            (AttemptOutcome::Delivered, None),
        ]
    );
    assert_eq!(
        outbox.stats().breaker_refusals,
        1,
        "the one retry that fell in the cool-down was refused"
    );
    assert_eq!(
        all.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6],
        "the refusal did not use an attempt"
    );
    for a in &all[..5] {
        // The 10 s timeout cut each attempt (simulated time).
        assert_eq!(a.latency.as_secs(), 10, "{a:?}");
    }
    assert_eq!(channel.calls().len(), 6, "five timeouts and the probe");
    // The probe came when the 30 s cool-down after the fifth timeout had passed.
    let fifth_end = all[4].at.saturating_add(all[4].latency);
    assert!(
        all[5].at.duration_since(fifth_end) >= Duration::from_secs(30),
        "{all:?}"
    );
    assert_eq!(
        outbox.channels()[0].breaker,
        Some(BreakerState::Closed { failures: 0 })
    );
}

/// Slack's limit is 1 per second with a burst of 2. Sixteen notifications at once
/// (16 workers): calls are spaced a second apart, the waits for a token (up to 15 s)
/// never hit the 10 s timeout because the timeout is inside the rate limit, and the
/// outbox's retry of the one that failed waited for a token too.
#[tokio::test(start_paused = true)]
async fn the_rate_limit_spaces_calls_retries_included_and_the_timeout_excludes_the_wait() {
    let store = Arc::new(MemoryStore::new());
    let channel = Timed::new(vec![Play::Unavailable]);
    let outbox = slack_outbox(store.clone(), channel.clone(), 16).await;
    outbox.submit_many(notes(16)).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(120)).await);
    let mut calls = channel.calls();
    calls.sort_unstable();
    let expected: Vec<u64> = [0].into_iter().chain(0..=15).collect();
    assert_eq!(calls, expected, "2 at once, then one a second, 17 calls");
    let stats = outbox.stats();
    assert_eq!(
        (stats.delivered, stats.failed_attempts, stats.gave_up),
        (16, 1, 0)
    );
    let all = attempts(&*store).await;
    assert!(
        all.iter()
            .all(|a| a.error_kind.as_deref() != Some("timeout")),
        "no wait for a token counted against the timeout"
    );
}

async fn router_with_webhook(url: &str) -> Router {
    let cfg = RouterConfig::from_toml_str(&format!(
        "[[receivers]]\nname = \"team\"\nchannels = [{{ type = \"webhook\", url = \"{url}\" }}]\n"
    ))
    .unwrap();
    Router::builder()
        .config(cfg)
        .route(Route::to("team").group_by(["alertname"]))
        .build()
        .await
        .unwrap()
}

/// 410 and 404 (a webhook that is gone) through the stack the router builds: the
/// first answer disables the channel (the API shows it), the notification is given
/// up at once, later ones are refused without a request, and re-enabling works.
#[tokio::test]
async fn a_gone_sink_disables_the_channel_and_nothing_is_retried_endlessly() {
    for status in [410, 404] {
        let sink = FakeWebhook::start_counting().await.unwrap();
        sink.set_default(Some(Reply::text(status, "no such hook")));
        let router = router_with_webhook(&sink.url()).await;
        router
            .send(Alert::new(Error, "Drift").with_label("model", "bikes"))
            .await
            .unwrap();
        assert!(router.flush(Duration::from_secs(20)).await.unwrap());
        let channel = &router.outbox().channels()[0];
        assert_eq!(
            (channel.receiver.as_str(), channel.channel.as_str()),
            ("team", "webhook")
        );
        match &channel.breaker {
            Some(BreakerState::Disabled { reason, .. }) => {
                assert!(reason.contains(&format!("HTTP {status}")), "{reason}")
            }
            other => panic!("{status}: {other:?}"),
        }
        router.send(Alert::new(Error, "ModelDown")).await.unwrap();
        assert!(router.flush(Duration::from_secs(20)).await.unwrap());
        let stats = router.outbox().stats();
        assert_eq!(
            (stats.gave_up, stats.failed_attempts, stats.delivered),
            (2, 2, 0),
            "{status}: each given up after one attempt"
        );
        assert_eq!(
            sink.requests(),
            1,
            "{status}: the disabled channel is not called"
        );
        assert!(router.store().pending_outbox(0).await.unwrap().is_empty());
        let all = attempts(&**router.store()).await;
        let kinds: Vec<(AttemptOutcome, Option<&str>)> = all
            .iter()
            .map(|a| (a.outcome, a.error_kind.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                (AttemptOutcome::GaveUp, Some("gone")),
                (AttemptOutcome::GaveUp, Some("unavailable")),
            ]
        );
        // Fixed (a new URL, a recreated hook): enable it again.
        sink.set_default(None);
        router
            .outbox()
            .breaker("team", "webhook")
            .expect("config channels have a breaker")
            .enable();
        router
            .send(Alert::new(Error, "AccuracyDrop"))
            .await
            .unwrap();
        assert!(router.flush(Duration::from_secs(20)).await.unwrap());
        assert_eq!((sink.requests(), router.outbox().stats().delivered), (2, 1));
        assert_eq!(
            router.outbox().channels()[0].breaker,
            Some(BreakerState::Closed { failures: 0 })
        );
        router.shutdown(Duration::from_secs(1)).await;
    }
}

/// Channels added in code are registered as given (no breaker of the router's).
#[tokio::test]
async fn only_config_channels_get_the_recommended_stack() {
    let sink = FakeWebhook::start().await.unwrap();
    let cfg = RouterConfig::from_toml_str(&format!(
        "[[receivers]]\nname = \"team\"\nchannels = [{{ type = \"webhook\", url = \"{}\" }}]\n",
        sink.url()
    ))
    .unwrap();
    let router = Router::builder()
        .config(cfg)
        .receiver(
            alert_router::Receiver::new("code").channel(alert_testkit::MemoryNotifier::new("m")),
        )
        .build()
        .await
        .unwrap();
    let breakers: Vec<(String, bool)> = router
        .outbox()
        .channels()
        .into_iter()
        .map(|c| (c.receiver, c.breaker.is_some()))
        .collect();
    assert_eq!(
        breakers,
        [("code".to_owned(), false), ("team".to_owned(), true)]
    );
    router.shutdown(Duration::from_millis(100)).await;
}

/// `attempt_timeout` and `lane_concurrency` apply to a recommended stack whichever
/// order the builder's calls come in: the stack is built at `start`.
#[tokio::test(start_paused = true)]
async fn the_attempt_timeout_and_concurrency_apply_when_set_after_the_channel() {
    let store = Arc::new(MemoryStore::new());
    let channel = Timed::new(vec![Play::Hang(Duration::from_secs(3600)); 3]);
    let outbox = Outbox::builder(store.clone())
        .clock(Arc::new(TokioClock::starting_at(Timestamp::now())))
        // The `webhook` kind has no default rate limit, so nothing spaces the calls.
        .channel_recommended("team", "slack", "webhook", Arc::new(channel.clone()))
        .attempt_timeout(Duration::from_secs(2))
        .lane_concurrency(3)
        .start()
        .await
        .unwrap();
    assert_eq!(outbox.lane_concurrency(), 3);
    outbox.submit_many(notes(3)).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(600)).await);
    let all = attempts(&*store).await;
    let timeouts: Vec<(u32, Duration)> = all
        .iter()
        .filter(|a| a.error_kind.as_deref() == Some("timeout"))
        .map(|a| (a.attempt, a.latency))
        .collect();
    // The three hanging calls ran at once (three workers, a limit of 3) and each
    // ended at the 2 s timeout, not the default 10 s.
    assert_eq!(timeouts, [(1, Duration::from_secs(2)); 3], "{all:#?}");
    assert_eq!(channel.calls()[..3], [0, 0, 0]);
    assert_eq!(
        all.iter()
            .filter(|a| a.outcome == AttemptOutcome::Delivered)
            .count(),
        3
    );
    let e = all[0].error.as_deref().unwrap_or_default();
    assert!(e.contains("timed out after 2s"), "{e}");
    outbox.shutdown(Duration::from_secs(1)).await;
}
