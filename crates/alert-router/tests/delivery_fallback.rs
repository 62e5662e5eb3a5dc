//! Fallback receivers: what a receiver cannot deliver (a destination that is gone,
//! a permanent error, an open circuit breaker) goes to its fallback, durably, through
//! the outbox, and the history says so.

mod common;

use std::sync::Arc;
use std::time::Duration;

use alert_core::Severity::{Critical, Error};
use alert_core::{Alert, Notifier, NotifyError, Timestamp};
use alert_router::delivery::{
    BreakerConfig, BreakerState, DeliveryExt, Outbox, OutboxError, new_notification_id,
};
use alert_router::store::{
    AttemptOutcome, AttemptQuery, DeliveryAttempt, MemoryStore, Notification, NotificationKind,
    Store,
};
use alert_router::{Receiver, Route, Router, RouterConfig, RouterError};
use alert_testkit::{Call, MemoryNotifier, ScriptedNotifier, Step};
use alert_webhook::fake::{FakeWebhook, Reply};
use common::{Rec, alert};

/// Every attempt, oldest first.
async fn attempts(store: &dyn Store) -> Vec<DeliveryAttempt> {
    let mut v = store
        .query_attempts(&AttemptQuery::default())
        .await
        .unwrap();
    v.reverse();
    v
}

/// `(receiver, outcome, error kind, fallback, fallback_from)` of each attempt.
type Line = (
    String,
    AttemptOutcome,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn summary(all: &[DeliveryAttempt]) -> Vec<Line> {
    all.iter()
        .map(|a| {
            (
                a.receiver.clone(),
                a.outcome,
                a.error_kind.clone(),
                a.fallback.clone(),
                a.fallback_from.clone(),
            )
        })
        .collect()
}

fn line(
    receiver: &str,
    outcome: AttemptOutcome,
    kind: Option<&str>,
    fallback: Option<&str>,
    from: Option<&str>,
) -> Line {
    (
        receiver.to_owned(),
        outcome,
        kind.map(str::to_owned),
        fallback.map(str::to_owned),
        from.map(str::to_owned),
    )
}

/// Slack-like primary built from config (so it gets the stack the router builds for
/// config channels: breaker, rate limit, timeout), whose webhook answers 410 Gone;
/// the fallback is a recording channel.
#[tokio::test]
async fn a_gone_destination_hands_every_notification_to_the_fallback() {
    let sink = FakeWebhook::start_counting().await.unwrap();
    sink.set_default(Some(Reply::text(410, "this webhook was deleted")));
    let desk = MemoryNotifier::new("desk");
    let cfg = RouterConfig::from_toml_str(&format!(
        "[[receivers]]\nname = \"primary\"\nfallback = \"desk\"\nchannels = [{{ type = \"webhook\", url = \"{}\" }}]\n",
        sink.url()
    ))
    .unwrap();
    assert_eq!(cfg.receivers[0].fallback.as_deref(), Some("desk"));
    let router = Router::builder()
        .config(cfg)
        .receiver(Receiver::new("desk").channel(desk.clone()))
        .route(Route::to("primary").group_by(["alertname"]))
        .build()
        .await
        .unwrap();
    let drift = alert(Error, "Drift", &[("model", "bikes")]);
    router.send(drift.clone()).await.unwrap();
    assert!(router.flush(Duration::from_secs(20)).await.unwrap());

    // The alert arrived at the fallback.
    let calls = desk.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(matches!(&calls[0], Call::Group(a) if a.len() == 1 && a[0].name == "Drift"));
    // The 410 disabled the primary: shown by the channel's breaker, one request made.
    let status = router.outbox().channels();
    let primary = status.iter().find(|c| c.receiver == "primary").unwrap();
    assert!(
        matches!(&primary.breaker, Some(BreakerState::Disabled { reason, .. }) if reason.contains("410")),
        "{primary:?}"
    );
    assert_eq!(sink.requests(), 1);
    // The history tells the story; nothing is left pending.
    let all = attempts(&**router.store()).await;
    assert_eq!(
        summary(&all),
        [
            line(
                "primary",
                AttemptOutcome::FellBack,
                Some("gone"),
                Some("desk"),
                None
            ),
            line(
                "desk",
                AttemptOutcome::Delivered,
                None,
                None,
                Some("primary")
            ),
        ]
    );
    assert_eq!(all[0].group_key, all[1].group_key, "same group");
    let table = alert_router::delivery::history::to_table(&all);
    assert!(table.contains("fell back to desk"), "{table}");
    assert!(table.contains("delivered (from primary)"), "{table}");
    let stats = router.outbox().stats();
    assert_eq!((stats.fell_back, stats.gave_up), (1, 0));
    assert!(router.store().pending_outbox(0).await.unwrap().is_empty());

    // A second alert: the disabled primary refuses it at once (no request), the
    // fallback takes it.
    router
        .send(alert(Critical, "ModelDown", &[("model", "bikes")]))
        .await
        .unwrap();
    assert!(router.flush(Duration::from_secs(20)).await.unwrap());
    assert_eq!(sink.requests(), 1, "a disabled receiver is not called");
    assert_eq!(desk.len(), 2);
    let all = attempts(&**router.store()).await;
    assert_eq!(all[2].outcome, AttemptOutcome::FellBack);
    assert!(
        all[2]
            .error
            .as_deref()
            .unwrap()
            .contains("receiver disabled"),
        "{:?}",
        all[2].error
    );

    // The resolution goes the same way and updates the message the fallback sent.
    router
        .send(drift.clone().resolved_at(router.now()))
        .await
        .unwrap();
    assert!(router.flush(Duration::from_secs(20)).await.unwrap());
    let calls = desk.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    match &calls[2] {
        Call::Update(a, previous) => {
            assert_eq!((a.name.as_str(), a.is_resolved()), ("Drift", true));
            assert_eq!(previous.id.as_deref(), Some("1"), "the fallback's receipt");
        }
        other => panic!("expected an update of the fallback's message, got {other:?}"),
    }
    let stats = router.outbox().stats();
    assert_eq!((stats.fell_back, stats.gave_up, stats.delivered), (3, 0, 3));
    assert!(router.store().pending_outbox(0).await.unwrap().is_empty());
    router.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_hands_notifications_to_the_fallback() {
    let scripted = Arc::new(ScriptedNotifier::new(
        "primary",
        (0..5)
            .map(|_| {
                Step::fail(NotifyError::Server {
                    channel: "primary",
                    status: Some(503),
                    message: "maintenance".into(),
                    retry_after: None,
                })
            })
            .collect(),
    ));
    let guarded = scripted.clone().with_circuit_breaker(
        BreakerConfig::default()
            .with_threshold(2)
            .with_cool_down(Duration::from_secs(600)),
    );
    let breaker = guarded.handle();
    let desk = MemoryNotifier::new("desk");
    let router = common::build(
        Router::builder()
            .receiver(Receiver::new("primary").channel(guarded).fallback("desk"))
            .receiver(Receiver::new("desk").channel(desk.clone()))
            .route(Route::to("primary").group_by(["alertname"])),
    )
    .await;
    router.send(alert(Error, "A", &[])).await.unwrap();
    assert!(router.flush(Duration::from_secs(120)).await.unwrap());
    // Two 503s open the breaker (threshold 2); the third attempt is refused by it and
    // handed over instead of waiting out the 10-minute cool-down.
    assert_eq!(scripted.attempts(), 2);
    assert!(matches!(breaker.state(), BreakerState::Open { .. }));
    assert_eq!(
        desk.alerts()
            .iter()
            .map(|a| a.name.clone())
            .collect::<Vec<_>>(),
        ["A"]
    );
    // While it stays open, a new notification goes to the fallback at once.
    router.send(alert(Error, "B", &[])).await.unwrap();
    assert!(router.flush(Duration::from_secs(120)).await.unwrap());
    assert_eq!(
        scripted.attempts(),
        2,
        "the open breaker kept the primary untouched"
    );
    assert_eq!(desk.len(), 2);
    let all = attempts(&**router.store()).await;
    let primary: Vec<(u32, AttemptOutcome, Option<String>)> = all
        .iter()
        .filter(|a| a.receiver == "primary")
        .map(|a| (a.attempt, a.outcome, a.fallback.clone()))
        .collect();
    assert_eq!(
        primary,
        [
            (1, AttemptOutcome::Failed, None),
            (2, AttemptOutcome::Failed, None),
            (3, AttemptOutcome::FellBack, Some("desk".to_owned())),
            (1, AttemptOutcome::FellBack, Some("desk".to_owned())),
        ]
    );
    let refused = all
        .iter()
        .filter(|a| a.outcome == AttemptOutcome::FellBack)
        .all(|a| a.error.as_deref().unwrap().contains("circuit breaker open"));
    assert!(refused, "{all:?}");
    let stats = router.outbox().stats();
    // The two refusals that were handed over are history rows (the hand-over is
    // recorded) but not failed attempts: nothing was sent.
    assert_eq!(
        (
            stats.fell_back,
            stats.gave_up,
            stats.failed_attempts,
            stats.delivered
        ),
        (2, 0, 2, 2)
    );
    router.shutdown(Duration::from_secs(1)).await;
}

fn note(receiver: &str, channel: &str) -> Notification {
    Notification::new(
        new_notification_id(),
        receiver,
        channel,
        "g-drift",
        NotificationKind::Group,
        vec![Alert::new(Error, "Drift")],
        Error,
        Timestamp::now(),
    )
}

fn permanent(channel: &'static str, status: u16) -> Step {
    Step::fail(alert_core::http::classify_status(channel, status, None, "nope").unwrap())
}

/// a → b → c: `a` rejects the payload, `b` is gone, `c` (two channels) is stuck. A
/// crash then: the store holds exactly `c`'s two notifications, and the next start
/// delivers them.
#[tokio::test(start_paused = true)]
async fn a_chain_of_fallbacks_is_durable_across_a_restart() {
    let store = Arc::new(MemoryStore::new());
    let start = tokio::time::Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let a = Arc::new(ScriptedNotifier::new("x", vec![permanent("x", 400)]));
    let b = Arc::new(ScriptedNotifier::new("y", vec![permanent("y", 410)]));
    let stuck1 = Rec::gated("z1", start, gate.clone());
    let stuck2 = Rec::gated("z2", start, gate.clone());
    let first = Outbox::builder(store.clone())
        .channel("a", "x", a.clone())
        .channel("b", "y", b.clone())
        .channel("c", "z1", Arc::new(stuck1.clone()))
        .channel("c", "z2", Arc::new(stuck2.clone()))
        .fallback("a", "b")
        .fallback("b", "c")
        .start()
        .await
        .unwrap();
    let n = note("a", "x");
    first.submit(n.clone()).await.unwrap();
    // Wait (simulated time) until both of c's channels are busy with it.
    for _ in 0..100 {
        if first.stats().in_flight == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(first.stats().in_flight, 2, "{:?}", first.stats());
    assert_eq!((a.attempts(), b.attempts()), (1, 1));
    first.shutdown(Duration::from_millis(50)).await;
    drop(first);

    let mut pending = store.pending_outbox(0).await.unwrap();
    pending.sort_by(|x, y| x.channel.cmp(&y.channel));
    let got: Vec<(&str, &str, Option<&str>, &str)> = pending
        .iter()
        .map(|p| {
            (
                p.receiver.as_str(),
                p.channel.as_str(),
                p.fallback_from.as_deref(),
                p.group_key.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("c", "z1", Some("b"), "g-drift"),
            ("c", "z2", Some("b"), "g-drift")
        ],
        "the primaries left the outbox in the transactions that queued their fallbacks"
    );
    assert!(pending.iter().all(|p| p.alerts == n.alerts));
    let history = summary(&attempts(&*store).await);
    assert_eq!(
        history,
        [
            line(
                "a",
                AttemptOutcome::FellBack,
                Some("rejected"),
                Some("b"),
                None
            ),
            line(
                "b",
                AttemptOutcome::FellBack,
                Some("gone"),
                Some("c"),
                Some("a")
            ),
        ]
    );

    // The next start delivers what the crash left.
    let z1 = MemoryNotifier::new("z1");
    let z2 = MemoryNotifier::new("z2");
    let second = Outbox::builder(store.clone())
        .channel("a", "x", Arc::new(MemoryNotifier::new("x")))
        .channel("b", "y", Arc::new(MemoryNotifier::new("y")))
        .channel("c", "z1", Arc::new(z1.clone()))
        .channel("c", "z2", Arc::new(z2.clone()))
        .fallback("a", "b")
        .fallback("b", "c")
        .start()
        .await
        .unwrap();
    assert_eq!(second.stats().resumed, 2);
    assert!(second.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(
        (z1.alerts(), z2.alerts()),
        (n.alerts.clone(), n.alerts.clone())
    );
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
    assert!(stuck1.lines().is_empty() && stuck2.lines().is_empty());
}

#[tokio::test]
async fn a_fallback_that_cannot_work_is_refused_with_the_key() {
    async fn build_err(text: &str) -> String {
        let cfg = RouterConfig::from_toml_str(text).unwrap();
        match Router::builder().config(cfg).build().await {
            Err(RouterError::Build(e)) => e.to_string(),
            other => panic!("expected a build error, got {other:?}"),
        }
    }
    let console = "channels = [{ type = \"console\" }]";
    let e = build_err(&format!(
        "[[receivers]]\nname = \"a\"\nfallback = \"nobody\"\n{console}\n"
    ))
    .await;
    assert_eq!(
        e,
        "invalid configuration for `receivers[0].fallback`: no receiver named `nobody`"
    );
    let e = build_err(&format!(
        "[[receivers]]\nname = \"a\"\nfallback = \"a\"\n{console}\n"
    ))
    .await;
    assert_eq!(
        e,
        "invalid configuration for `receivers[0].fallback`: a receiver cannot fall back to itself"
    );
    let e = build_err(&format!(
        "[[receivers]]\nname = \"a\"\n{console}\n[[receivers]]\nname = \"b\"\nfallback = \"c\"\n{console}\n[[receivers]]\nname = \"c\"\n"
    ))
    .await;
    assert_eq!(
        e,
        "invalid configuration for `receivers[1].fallback`: receiver `c` has no channels to fall back to"
    );
    let e = build_err(&format!(
        "[[receivers]]\nname = \"a\"\nfallback = \"b\"\n{console}\n[[receivers]]\nname = \"b\"\nfallback = \"c\"\n{console}\n[[receivers]]\nname = \"c\"\nfallback = \"b\"\n{console}\n"
    ))
    .await;
    assert_eq!(
        e,
        "invalid configuration for `receivers[0].fallback`: fallback cycle: a → b → c → b"
    );
    // A misspelt key is a parse error naming it, as everywhere.
    let e =
        RouterConfig::from_toml_str("[[receivers]]\nname = \"a\"\nfalback = \"b\"\n").unwrap_err();
    assert_eq!(e.path, "receivers[0].falback");
    assert!(e.message.contains("`fallback`"), "{e}");

    // The outbox checks the same when used on its own.
    let refuse = |b: alert_router::delivery::OutboxBuilder| async move {
        match b.start().await {
            Err(e @ OutboxError::InvalidFallback { .. }) => e.to_string(),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("started"),
        }
    };
    let store = || Arc::new(MemoryStore::new()) as Arc<dyn Store>;
    let ch = || Arc::new(MemoryNotifier::new("m")) as Arc<dyn Notifier>;
    assert_eq!(
        refuse(
            Outbox::builder(store())
                .channel("a", "m", ch())
                .fallback("a", "b")
        )
        .await,
        "receiver `a` cannot fall back to `b`: receiver `b` has no channels registered with the outbox"
    );
    assert_eq!(
        refuse(
            Outbox::builder(store())
                .channel("a", "m", ch())
                .channel("b", "m", ch())
                .fallback("a", "b")
                .fallback("b", "a")
        )
        .await,
        "receiver `a` cannot fall back to `b`: fallback cycle: a → b → a"
    );
}
