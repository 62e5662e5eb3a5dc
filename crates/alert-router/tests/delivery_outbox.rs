//! The outbox over the in-memory store: written before the first attempt, severity
//! order, durable retries, give-up, resume on start, history, store failures.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::{Alert, Notifier, NotifyError, Receipt, Result, Severity, Timestamp, async_trait};
use alert_router::delivery::{Outbox, OutboxError, RetryPolicy, history, new_notification_id};
use alert_router::store::{
    AttemptOutcome, AttemptQuery, MemoryStore, Notification, NotificationKind, Store,
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

#[tokio::test]
async fn pending_notifications_resume_on_start_in_their_lane() {
    let store = Arc::new(MemoryStore::new());
    // A previous process queued three notifications and stopped.
    let stuck = ScriptedNotifier::new("hook", vec![Step::Delay(Duration::from_secs(3600))]);
    let first = Outbox::builder(store.clone())
        .channel("team", "hook", Arc::new(stuck))
        .lane_concurrency(1)
        .start()
        .await
        .unwrap();
    let mut future = note("team", "hook", "Later", Severity::Info);
    future.next_attempt_at = Some(Timestamp::now().saturating_add(Duration::from_millis(300)));
    first
        .submit_many(vec![
            note("team", "hook", "A", Severity::Error),
            note("team", "hook", "B", Severity::Error),
            future,
            note("other", "gone", "C", Severity::Error).clone(),
        ])
        .await
        .unwrap_err(); // unknown channel: nothing stored
    assert!(
        store.pending_outbox(0).await.unwrap().is_empty(),
        "all or none"
    );
    let mut future = note("team", "hook", "Later", Severity::Info);
    future.next_attempt_at = Some(Timestamp::now().saturating_add(Duration::from_millis(300)));
    first
        .submit_many(vec![
            note("team", "hook", "A", Severity::Error),
            note("team", "hook", "B", Severity::Error),
            future,
        ])
        .await
        .unwrap();
    first.shutdown(Duration::from_millis(50)).await;
    drop(first);
    assert_eq!(store.pending_outbox(0).await.unwrap().len(), 3);

    let mem = MemoryNotifier::new("hook");
    let second = Outbox::builder(store.clone())
        .channel("team", "hook", Arc::new(mem.clone()))
        .start()
        .await
        .unwrap();
    assert_eq!(second.stats().resumed, 3);
    let calls = mem.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(calls.len(), 2, "the two due ones go at once");
    assert!(second.wait_idle(Duration::from_secs(5)).await);
    let names: Vec<String> = mem.alerts().into_iter().map(|a| a.name).collect();
    assert_eq!(names.len(), 3);
    assert_eq!(names[2], "Later", "the scheduled one waited for its time");
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
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
    // Outcomes that cannot be written are retried until the store is back.
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
