//! The outbox over the in-memory store: written before the first attempt, severity
//! order, durable retries, give-up into dead letters, resume on start, history,
//! store failures, breaker refusals, panicking channels.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::{Alert, Notifier, NotifyError, Receipt, Result, Severity, Timestamp, async_trait};
use alert_router::TokioClock;
use alert_router::delivery::{
    BreakerConfig, DeliveryExt, Outbox, OutboxError, RetryPolicy, history, new_notification_id,
};
use alert_router::store::{
    AttemptOutcome, AttemptQuery, DeadLetterQuery, MemoryStore, Notification, NotificationKind,
    Store,
};
use alert_testkit::{Call, MemoryNotifier, ScriptedNotifier, Step};

fn note(receiver: &str, channel: &str, name: &str, sev: Severity) -> Notification {
    Notification::new(
        new_notification_id(),
        receiver,
        channel,
        format!("g-{name}"),
        NotificationKind::Group,
        vec![Alert::new(sev, name)],
        sev,
        Timestamp::now(),
    )
}

fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy::none()
        .with_max_attempts(attempts)
        .with_backoff(Duration::from_millis(100), Duration::from_millis(400))
        .with_jitter(0.0)
}

/// Records whether the store held the notification when the channel was called.
#[derive(Debug)]
struct Witness {
    store: Arc<MemoryStore>,
    seen_in_store: Mutex<Vec<bool>>,
}

#[async_trait]
impl Notifier for Witness {
    fn name(&self) -> &str {
        "witness"
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        let pending = self.store.pending_outbox(0).await.expect("store");
        let found = pending.iter().any(|n| n.alerts == alerts);
        self.seen_in_store.lock().unwrap().push(found);
        Ok(Receipt::new("witness").with_id("w-1"))
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.notify_group(std::slice::from_ref(alert)).await
    }
}

#[tokio::test]
async fn written_before_the_first_attempt_and_removed_after_delivery() {
    let store = Arc::new(MemoryStore::new());
    let witness = Arc::new(Witness {
        store: store.clone(),
        seen_in_store: Mutex::new(Vec::new()),
    });
    let outbox = Outbox::builder(store.clone())
        .channel("team", "hook", witness.clone())
        .start()
        .await
        .unwrap();
    for i in 0..20 {
        outbox
            .submit(note("team", "hook", &format!("A{i}"), Severity::Error))
            .await
            .unwrap();
    }
    assert!(outbox.wait_idle(Duration::from_secs(10)).await);
    let seen = witness.seen_in_store.lock().unwrap().clone();
    assert_eq!(seen.len(), 20);
    assert!(
        seen.iter().all(|s| *s),
        "every attempt found its notification stored first"
    );
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
    let attempts = store
        .query_attempts(&AttemptQuery::default())
        .await
        .unwrap();
    assert_eq!(attempts.len(), 20);
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome == AttemptOutcome::Delivered
                && a.attempt == 1
                && a.receipt.as_ref().and_then(|r| r.id.as_deref()) == Some("w-1"))
    );
    // The group's receipt is kept for the resolution.
    let r = store
        .receipt("team", "hook", "g-A3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.receipt.id.as_deref(), Some("w-1"));
    let stats = outbox.stats();
    assert_eq!(
        (
            stats.submitted,
            stats.delivered,
            stats.queued,
            stats.in_flight
        ),
        (20, 20, 0, 0)
    );
    outbox.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn higher_severity_goes_first_when_backed_up() {
    let store = Arc::new(MemoryStore::new());
    let mem = MemoryNotifier::new("m");
    let outbox = Outbox::builder(store)
        .channel("team", "m", Arc::new(mem.clone()))
        .lane_concurrency(1)
        .start()
        .await
        .unwrap();
    // Submitted together, before the single worker picks any: the queue is backed up.
    let batch = vec![
        note("team", "m", "info-1", Severity::Info),
        note("team", "m", "warn-1", Severity::Warning),
        note("team", "m", "crit-1", Severity::Critical),
        note("team", "m", "info-2", Severity::Info),
        note("team", "m", "err-1", Severity::Error),
        note("team", "m", "crit-2", Severity::Critical),
    ];
    outbox.submit_many(batch).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(10)).await);
    let order: Vec<String> = mem.alerts().into_iter().map(|a| a.name).collect();
    // The worker may have taken the first one before the rest arrived; after that,
    // strictly by severity, then age.
    let tail: Vec<&str> = order.iter().skip(1).map(String::as_str).collect();
    let expected_full = ["crit-1", "crit-2", "err-1", "warn-1", "info-1", "info-2"];
    if order[0] == "crit-1" {
        assert_eq!(order, expected_full);
    } else {
        assert_eq!(order[0], "info-1");
        assert_eq!(tail, ["crit-1", "crit-2", "err-1", "warn-1", "info-2"]);
    }
}

#[tokio::test(start_paused = true)]
async fn retries_are_durable_and_recorded_then_given_up() {
    let store = Arc::new(MemoryStore::new());
    let flaky = Arc::new(ScriptedNotifier::new(
        "flaky",
        vec![
            Step::fail(NotifyError::Server {
                channel: "flaky",
                status: Some(503),
                message: "down".into(),
                retry_after: Some(Duration::from_secs(2)),
            }),
            Step::fail(NotifyError::transport_msg("flaky", "connection reset")),
        ],
    ));
    let dead = Arc::new(ScriptedNotifier::new(
        "dead",
        vec![Step::fail(NotifyError::Rejected {
            channel: "dead",
            status: Some(400),
            message: "invalid payload".into(),
        })],
    ));
    let outbox = Outbox::builder(store.clone())
        .channel("team", "flaky", flaky.clone())
        .channel("team", "dead", dead.clone())
        .retry(fast_retry(5))
        .start()
        .await
        .unwrap();
    let n = note("team", "flaky", "Drift", Severity::Warning);
    let fp = n.alerts[0].fingerprint();
    outbox.submit(n.clone()).await.unwrap();
    outbox
        .submit(note("team", "dead", "Bad", Severity::Error))
        .await
        .unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert_eq!(flaky.attempts(), 3);
    assert_eq!(flaky.delivered().len(), 1);
    let mut q = AttemptQuery::default();
    q.fingerprint = Some(fp);
    let attempts = store.query_attempts(&q).await.unwrap();
    let summary: Vec<(u32, AttemptOutcome, Option<String>)> = attempts
        .iter()
        .rev()
        .map(|a| (a.attempt, a.outcome, a.error_kind.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, AttemptOutcome::Failed, Some("server".into())),
            (2, AttemptOutcome::Failed, Some("transport".into())),
            (3, AttemptOutcome::Delivered, None),
        ]
    );
    assert!(attempts[2].error.as_deref().unwrap().contains("HTTP 503"));
    // The permanent error is given up at once, recorded and counted.
    let mut q = AttemptQuery::default();
    q.outcome = Some(AttemptOutcome::GaveUp);
    let gave_up = store.query_attempts(&q).await.unwrap();
    assert_eq!(gave_up.len(), 1);
    assert_eq!(gave_up[0].channel, "dead");
    assert!(
        gave_up[0]
            .error
            .as_deref()
            .unwrap()
            .contains("invalid payload")
    );
    assert_eq!(outbox.stats().gave_up, 1);
    assert_eq!(outbox.stats().failed_attempts, 3);
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
    // Given up is not deleted: the notification is kept as a dead letter.
    let dead = store
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].notification.channel.as_str(),
            dead[0].notification.alerts[0].name.as_str(),
            dead[0].notification.attempts,
            dead[0].reason.as_str(),
            dead[0].error_kind.as_deref(),
        ),
        ("dead", "Bad", 1, "permanent", Some("rejected"))
    );
    // History renders for people.
    let table = history::to_table(
        &store
            .query_attempts(&AttemptQuery::default())
            .await
            .unwrap(),
    );
    assert!(table.lines().next().unwrap().starts_with("at"), "{table}");
    assert_eq!(table.lines().count(), 5, "{table}");
    assert!(
        table.contains("gave_up") && table.contains("invalid payload"),
        "{table}"
    );
}

#[tokio::test(start_paused = true)]
async fn pending_notifications_resume_on_start_in_their_lane() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(TokioClock::starting_at(Timestamp::now()));
    let later = |clock: &TokioClock| {
        let mut n = note("team", "hook", "Later", Severity::Info);
        n.created_at = alert_router::Clock::now(clock);
        n.next_attempt_at = Some(n.created_at.saturating_add(Duration::from_secs(3600)));
        n
    };
    // A previous process queued three notifications and stopped.
    let stuck = ScriptedNotifier::new("hook", vec![Step::Delay(Duration::from_secs(86_400))]);
    let first = Outbox::builder(store.clone())
        .clock(clock.clone())
        .channel("team", "hook", Arc::new(stuck))
        .lane_concurrency(1)
        .start()
        .await
        .unwrap();
    first
        .submit_many(vec![
            note("team", "hook", "A", Severity::Error),
            note("team", "hook", "B", Severity::Error),
            later(&clock),
            note("other", "gone", "C", Severity::Error).clone(),
        ])
        .await
        .unwrap_err(); // unknown channel: nothing stored
    assert!(
        store.pending_outbox(0).await.unwrap().is_empty(),
        "all or none"
    );
    first
        .submit_many(vec![
            note("team", "hook", "A", Severity::Error),
            note("team", "hook", "B", Severity::Error),
            later(&clock),
        ])
        .await
        .unwrap();
    first.shutdown(Duration::from_millis(50)).await;
    drop(first);
    assert_eq!(store.pending_outbox(0).await.unwrap().len(), 3);

    let mem = MemoryNotifier::new("hook");
    let second = Outbox::builder(store.clone())
        .clock(clock.clone())
        .channel("team", "hook", Arc::new(mem.clone()))
        .start()
        .await
        .unwrap();
    assert_eq!(second.stats().resumed, 3);
    let calls = mem.wait_for(2, Duration::from_secs(60)).await;
    let names = |calls: Vec<Call>| -> Vec<String> {
        calls
            .into_iter()
            .flat_map(|c| match c {
                Call::Group(a) => a.into_iter().map(|a| a.name).collect::<Vec<_>>(),
                other => panic!("expected a group call, got {other:?}"),
            })
            .collect()
    };
    assert_eq!(names(calls), ["A", "B"], "the two due ones go at once");
    // The scheduled one waits for its time (an hour after it was queued), in the
    // queue and in the store.
    tokio::time::sleep(Duration::from_secs(1800)).await;
    assert_eq!(mem.len(), 2);
    let stats = second.stats();
    assert_eq!((stats.queued, stats.in_flight), (1, 0));
    let pending = store.pending_outbox(0).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].alerts[0].name, "Later");
    assert!(second.wait_idle(Duration::from_secs(3600)).await);
    assert_eq!(names(mem.calls()), ["A", "B", "Later"]);
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
}

/// A channel that reports each call and then waits for the test's go-ahead, so the
/// test can break the store while the attempt is in flight.
#[derive(Debug)]
struct Gated {
    called: tokio::sync::mpsc::UnboundedSender<String>,
    go: Arc<tokio::sync::Semaphore>,
    calls: AtomicUsize,
}

#[async_trait]
impl Notifier for Gated {
    fn name(&self) -> &str {
        "gated"
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let _ = self.called.send(alerts[0].name.clone());
        self.go.acquire().await.expect("open").forget();
        Ok(Receipt::new("gated").with_id("g-1"))
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.notify_group(std::slice::from_ref(alert)).await
    }
}

/// Past the memory limit, queued notifications are kept as ids only and read back
/// from the store when their turn comes: the backlog stays bounded in memory, the
/// order (severity, then age) and the content are the same, nothing is lost.
#[tokio::test]
async fn past_the_memory_limit_queued_notifications_wait_in_the_store_only() {
    let store = Arc::new(MemoryStore::new());
    let mem = MemoryNotifier::new("m");
    let outbox = Outbox::builder(store.clone())
        .channel("team", "m", Arc::new(mem.clone()))
        .lane_concurrency(1)
        .memory_limit(2)
        .start()
        .await
        .unwrap();
    let sevs = [
        Severity::Info,
        Severity::Critical,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];
    let batch: Vec<Notification> = (0..10)
        .map(|i| {
            let sev = sevs[i % sevs.len()];
            let mut n = note("team", "m", &format!("n{i}"), sev);
            n.alerts[0].summary = format!("summary {i}");
            n
        })
        .collect();
    let mut expected = batch.clone();
    // This test's runtime has one thread: every notification is queued before the
    // worker takes any.
    outbox.submit_many(batch).await.unwrap();
    let stats = outbox.stats();
    assert_eq!(
        (stats.queued, stats.in_memory),
        (10, 2),
        "ten queued, two of them in memory"
    );
    assert!(outbox.wait_idle(Duration::from_secs(10)).await);
    // Severity first (highest first), then the order of submission.
    expected.sort_by_key(|n| std::cmp::Reverse(n.severity));
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|n| (n.alerts[0].name.clone(), n.alerts[0].summary.clone()))
        .collect();
    let got: Vec<(String, String)> = mem
        .alerts()
        .into_iter()
        .map(|a| (a.name, a.summary))
        .collect();
    assert_eq!(got, want, "same order and content as if all were in memory");
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
    let stats = outbox.stats();
    assert_eq!((stats.delivered, stats.queued, stats.in_memory), (10, 0, 0));
}

/// A queued notification kept only as its id cannot be read while the store is
/// unavailable: it stays queued (the error is counted) and is read and delivered
/// once the store is back.
#[tokio::test(start_paused = true)]
async fn a_failed_read_back_is_tried_again_and_loses_nothing() {
    let store = Arc::new(MemoryStore::new());
    let mem = MemoryNotifier::new("m");
    let outbox = Outbox::builder(store.clone())
        .channel("team", "m", Arc::new(mem.clone()))
        .lane_concurrency(1)
        .memory_limit(0)
        .start()
        .await
        .unwrap();
    outbox
        .submit(note("team", "m", "Kept", Severity::Error))
        .await
        .unwrap();
    // Before the worker runs (one thread): the store goes away.
    store.set_unavailable(true);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stats = outbox.stats();
    assert!(stats.store_errors >= 2, "read tried again: {stats:?}");
    assert_eq!((stats.delivered, stats.queued), (0, 1), "{stats:?}");
    assert!(mem.alerts().is_empty());
    store.set_unavailable(false);
    assert!(outbox.wait_idle(Duration::from_secs(10)).await);
    let names: Vec<String> = mem.alerts().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["Kept"]);
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
}

/// The store fails (disk full, database locked) after the notifications were stored
/// and while an attempt is in flight: the outcome cannot be written. Nothing is
/// lost and nothing is sent twice: the notifications stay pending in the store,
/// the error is visible in the stats, the lane's worker makes at most one more
/// attempt (its outcome is written while the next attempt runs) and then waits
/// instead of taking further notifications, and once the store is back the
/// outcomes are recorded.
#[tokio::test(start_paused = true)]
async fn outcomes_are_kept_and_retried_while_the_store_fails_mid_delivery() {
    let store = Arc::new(MemoryStore::new());
    let (called_tx, mut called) = tokio::sync::mpsc::unbounded_channel();
    let go = Arc::new(tokio::sync::Semaphore::new(0));
    let gated = Arc::new(Gated {
        called: called_tx,
        go: go.clone(),
        calls: AtomicUsize::new(0),
    });
    let outbox = Outbox::builder(store.clone())
        .channel("team", "gated", gated.clone())
        .lane_concurrency(1)
        .start()
        .await
        .unwrap();
    outbox
        .submit_many(vec![
            note("team", "gated", "First", Severity::Critical),
            note("team", "gated", "Second", Severity::Warning),
            note("team", "gated", "Third", Severity::Info),
        ])
        .await
        .unwrap();
    assert_eq!(called.recv().await.as_deref(), Some("First"));
    // The disk fills up while the channel is sending.
    store.set_unavailable(true);
    go.add_permits(2);
    assert_eq!(called.recv().await.as_deref(), Some("Second"));
    tokio::time::sleep(Duration::from_secs(30)).await;
    let stats = outbox.stats();
    assert_eq!(
        stats.last_store_error.as_deref(),
        Some("store `memory` unavailable: set unavailable for a test"),
        "the error is visible while it lasts"
    );
    assert!(stats.store_errors >= 2, "the write is retried: {stats:?}");
    assert_eq!(
        (stats.delivered, stats.queued, stats.in_flight),
        (2, 1, 2),
        "two delivered, their outcomes not yet recorded (in flight until then); the third waits"
    );
    assert_eq!(
        gated.calls.load(Ordering::SeqCst),
        2,
        "at most one attempt after a delivery whose outcome is not durable"
    );
    // The store comes back: the outcomes are written, then the third goes.
    store.set_unavailable(false);
    let pending = store.pending_outbox(0).await.unwrap();
    assert_eq!(
        pending.len(),
        3,
        "the delivered ones are still pending until their outcomes are written"
    );
    assert_eq!(called.recv().await.as_deref(), Some("Third"));
    go.add_permits(1);
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
    let attempts = store
        .query_attempts(&AttemptQuery::default())
        .await
        .unwrap();
    let summary: Vec<(String, u32, AttemptOutcome)> = attempts
        .iter()
        .rev()
        .map(|a| (a.notification_id.clone(), a.attempt, a.outcome))
        .collect();
    assert_eq!(summary.len(), 3, "{summary:?}");
    assert!(
        summary
            .iter()
            .all(|(_, n, o)| *n == 1 && *o == AttemptOutcome::Delivered),
        "each recorded once, as delivered: {summary:?}"
    );
    let stats = outbox.stats();
    assert_eq!(
        stats.last_store_error, None,
        "cleared once a write succeeds"
    );
    assert_eq!(gated.calls.load(Ordering::SeqCst), 3, "nothing sent twice");
}

#[tokio::test]
async fn a_store_that_is_down_refuses_the_submit_and_loses_nothing() {
    let store = Arc::new(MemoryStore::new());
    let mem = MemoryNotifier::new("m");
    let outbox = Outbox::builder(store.clone())
        .channel("team", "m", Arc::new(mem.clone()))
        .start()
        .await
        .unwrap();
    store.set_unavailable(true);
    let err = outbox
        .submit(note("team", "m", "A", Severity::Critical))
        .await
        .unwrap_err();
    assert!(matches!(err, OutboxError::Store(_)), "{err}");
    assert!(err.to_string().contains("could not store"), "{err}");
    assert!(
        mem.is_empty(),
        "not stored, so not sent: the caller still owns it"
    );
    // (Outcomes that cannot be written are covered by
    // `outcomes_are_kept_and_retried_while_the_store_fails_mid_delivery`.)
    store.set_unavailable(false);
    outbox
        .submit(note("team", "m", "B", Severity::Critical))
        .await
        .unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(5)).await);
    assert_eq!(mem.len(), 1);
    let err = outbox
        .submit(note("nobody", "m", "C", Severity::Critical))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no channel `m` in receiver `nobody`"),
        "{err}"
    );
}

#[tokio::test]
async fn resolutions_update_the_message_delivered_before() {
    let store = Arc::new(MemoryStore::new());
    let mem = MemoryNotifier::new("m");
    let outbox = Outbox::builder(store.clone())
        .channel("team", "m", Arc::new(mem.clone()))
        .start()
        .await
        .unwrap();
    let alert = Alert::new(Severity::Error, "Drift");
    let fire = Notification::new(
        new_notification_id(),
        "team",
        "m",
        "g1",
        NotificationKind::Group,
        vec![alert.clone()],
        Severity::Error,
        Timestamp::now(),
    );
    outbox.submit(fire).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(5)).await);
    let resolved = alert.clone().resolved_at(Timestamp::now());
    let resolve = Notification::new(
        new_notification_id(),
        "team",
        "m",
        "g1",
        NotificationKind::Resolve,
        vec![resolved.clone()],
        Severity::Error,
        Timestamp::now(),
    );
    outbox.submit(resolve).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(5)).await);
    let calls = mem.calls();
    assert_eq!(calls.len(), 2);
    match &calls[1] {
        Call::Update(a, previous) => {
            assert_eq!(*a, resolved);
            assert_eq!(
                previous.id.as_deref(),
                Some("1"),
                "the first delivery's receipt"
            );
        }
        other => panic!("expected an update, got {other:?}"),
    }
}

/// Policy limits are for attempts, not for refusals by an open circuit breaker: a
/// channel whose breaker opens after two failures and stays open through failed
/// probes is delivered on its seventh attempt even with `max_attempts` 7, and the
/// history has one row per real attempt.
#[tokio::test(start_paused = true)]
async fn breaker_refusals_do_not_use_up_attempts() {
    let store = Arc::new(MemoryStore::new());
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        (0..6)
            .map(|_| {
                Step::fail(NotifyError::Server {
                    channel: "s",
                    status: Some(503),
                    message: "down".into(),
                    retry_after: None,
                })
            })
            .collect(),
    ));
    let guarded = n.clone().with_circuit_breaker(
        BreakerConfig::default()
            .with_threshold(2)
            .with_cool_down(Duration::from_secs(60)),
    );
    let breaker = guarded.handle();
    let outbox = Outbox::builder(store.clone())
        .clock(Arc::new(TokioClock::starting_at(Timestamp::now())))
        .channel_with_breaker("team", "s", Arc::new(guarded), breaker)
        .lane_concurrency(1)
        .retry(
            RetryPolicy::none()
                .with_max_attempts(7)
                .with_backoff(Duration::from_secs(1), Duration::from_secs(60))
                .with_jitter(0.0),
        )
        .start()
        .await
        .unwrap();
    outbox
        .submit(note("team", "s", "Drift", Severity::Error))
        .await
        .unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(7200)).await);
    assert_eq!(n.delivered().len(), 1, "delivered");
    assert_eq!(n.attempts(), 7, "six failures, then the seventh attempt");
    let rows: Vec<(u32, AttemptOutcome)> = store
        .query_attempts(&AttemptQuery::default())
        .await
        .unwrap()
        .iter()
        .rev()
        .map(|a| (a.attempt, a.outcome))
        .collect();
    let mut expected: Vec<(u32, AttemptOutcome)> =
        (1..=6).map(|i| (i, AttemptOutcome::Failed)).collect();
    expected.push((7, AttemptOutcome::Delivered));
    assert_eq!(rows, expected);
    let stats = outbox.stats();
    // Failures at 0 s and 1 s open the circuit; each retry during a cool-down
    // (at 3, 65, 189, 437 and 753 s) is refused and waits for the probe (at 61,
    // 181, 421, 721 and 1021 s).
    assert_eq!(
        (stats.failed_attempts, stats.breaker_refusals, stats.gave_up),
        (6, 5, 0)
    );
}

/// The default policy keeps a notification through a long outage (hours, not the
/// six or seven that 100 attempts used to last) and, after its 24 hours, keeps it
/// as a dead letter that can be queued again.
#[tokio::test(start_paused = true)]
async fn a_long_outage_loses_nothing_and_ends_in_a_dead_letter_after_24_hours() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(TokioClock::starting_at(Timestamp::now()));
    let down = Arc::new(ScriptedNotifier::new("s", Vec::new()));
    for _ in 0..2000 {
        down.push(Step::fail(NotifyError::Server {
            channel: "s",
            status: Some(503),
            message: "maintenance".into(),
            retry_after: None,
        }));
    }
    let outbox = Outbox::builder(store.clone())
        .clock(clock.clone())
        .channel("team", "s", down.clone())
        .start()
        .await
        .unwrap();
    let mut n = note("team", "s", "Drift", Severity::Error);
    n.created_at = alert_router::Clock::now(&*clock);
    let id = n.id.clone();
    outbox.submit(n).await.unwrap();
    // Ten hours in: still pending, still being tried.
    tokio::time::sleep(Duration::from_secs(10 * 3600)).await;
    let pending = store.pending_outbox(0).await.unwrap();
    assert_eq!(pending.len(), 1, "still pending after 10 hours");
    assert!(pending[0].attempts > 100, "{}", pending[0].attempts);
    assert_eq!(outbox.stats().gave_up, 0);
    // A day and an hour in: given up on, and kept.
    tokio::time::sleep(Duration::from_secs(15 * 3600)).await;
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
    let dead = outbox
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id(), id);
    assert_eq!(dead[0].reason, "deadline");
    assert_eq!(dead[0].error_kind.as_deref(), Some("server"));
    // 1 s doubling to 5 min, with a random 0-25% taken off each wait: between
    // about 295 (no jitter) and 391 (all jitter) attempts fit in 24 hours.
    let made = dead[0].notification.attempts;
    assert!((290..=400).contains(&made), "{made} attempts");
    assert_eq!(down.attempts() as u32, made);
    let mut q = AttemptQuery::default();
    q.outcome = Some(AttemptOutcome::GaveUp);
    assert_eq!(store.query_attempts(&q).await.unwrap().len(), 1);
    // The provider is back: the dead letter is queued again and delivered.
    let good = MemoryNotifier::new("s");
    drop(outbox);
    let outbox = Outbox::builder(store.clone())
        .clock(clock.clone())
        .channel("team", "s", Arc::new(good.clone()))
        .start()
        .await
        .unwrap();
    assert_eq!(
        outbox.stats().resumed,
        0,
        "a dead letter is not resumed by itself"
    );
    assert!(!outbox.redeliver("no-such-id").await.unwrap());
    assert!(outbox.redeliver(&id).await.unwrap());
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert_eq!(good.len(), 1);
    assert!(
        outbox
            .dead_letters(&DeadLetterQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
}

/// A channel that panics on its first call, then delivers.
#[derive(Debug, Default)]
struct PanicsOnce {
    calls: AtomicUsize,
}

#[async_trait]
impl Notifier for PanicsOnce {
    fn name(&self) -> &str {
        "panics-once"
    }
    async fn notify_group(&self, _: &[Alert]) -> Result<Receipt> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("bug in the channel");
        }
        Ok(Receipt::new("panics-once"))
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.notify_group(std::slice::from_ref(alert)).await
    }
}

/// A channel that panics does not kill its lane's worker nor leave the attempt
/// "in flight": the panic is a failed attempt, retried, and the lane goes on.
#[tokio::test(start_paused = true)]
async fn a_panicking_channel_is_a_failed_attempt_and_the_lane_goes_on() {
    let store = Arc::new(MemoryStore::new());
    let channel = Arc::new(PanicsOnce::default());
    let outbox = Outbox::builder(store.clone())
        .channel("team", "p", channel.clone())
        .lane_concurrency(1)
        .retry(fast_retry(5))
        .start()
        .await
        .unwrap();
    outbox
        .submit(note("team", "p", "First", Severity::Error))
        .await
        .unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    outbox
        .submit(note("team", "p", "Second", Severity::Error))
        .await
        .unwrap();
    assert!(
        outbox.wait_idle(Duration::from_secs(60)).await,
        "the single worker is still alive"
    );
    let rows: Vec<(u32, AttemptOutcome, Option<String>)> = store
        .query_attempts(&AttemptQuery::default())
        .await
        .unwrap()
        .iter()
        .rev()
        .map(|a| (a.attempt, a.outcome, a.error.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                1,
                AttemptOutcome::Failed,
                Some(
                    "panics-once: server error: the channel panicked (a bug in the channel; \
                     its message is on stderr)"
                        .to_owned()
                )
            ),
            (2, AttemptOutcome::Delivered, None),
            (1, AttemptOutcome::Delivered, None),
        ]
    );
    let stats = outbox.stats();
    assert_eq!(
        (
            stats.delivered,
            stats.failed_attempts,
            stats.in_flight,
            stats.queued
        ),
        (2, 1, 0, 0)
    );
    assert_eq!(channel.calls.load(Ordering::SeqCst), 3);
}

#[test]
fn the_default_policy_is_24_hours_without_an_attempt_limit() {
    let p = Outbox::default_retry();
    assert_eq!(p.deadline, Some(Duration::from_secs(24 * 3600)));
    assert_eq!(p.max_attempts, u32::MAX);
    assert_eq!(
        (p.initial_backoff, p.max_backoff, p.jitter),
        (Duration::from_secs(1), Duration::from_secs(300), 0.25)
    );
    assert_eq!(p.max_retry_after, Duration::from_secs(15 * 60));
}
