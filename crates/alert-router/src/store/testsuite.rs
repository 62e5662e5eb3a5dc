//! The behaviour every [`Store`] must have, as one async function to call from a test.
//!
//! ```no_run
//! # async fn t() {
//! use alert_router::store::{testsuite, MemoryStore};
//! testsuite::run(&MemoryStore::new()).await;
//! # }
//! ```
//!
//! Give it an **empty** store. It panics with a message naming the failed check.

use std::sync::Arc;
use std::time::Duration;

use alert_core::{Alert, Evidence, Fingerprint, Receipt, Severity, Source, Timestamp};

use super::{
    Ack, ActionOutcome, ActionQuery, ActionRecord, AlertEvent, AlertRecord, AttemptOutcome,
    AttemptQuery, Change, DeadLetter, DeadLetterQuery, DeliveryAttempt, EventKind, EventQuery,
    GroupRecord, LogEntry, LogKind, LogQuery, Notification, NotificationKind, Prepared,
    ReceiptRecord, Retention, StateRecord, Store, SuppressReason,
};
use crate::matcher::Matcher;
use crate::silence::Silence;
use crate::timeinterval::TimeInterval;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + secs).expect("in range")
}

fn rich_alert(name: &str, model: &str) -> Alert {
    Alert::new(Severity::Error, name)
        .with_summary("Accuracy fell to 0.81 — ünïcode ✓")
        .with_message("line 1\nline 2")
        .with_label("model", model)
        .with_annotation("runbook_url", "https://runbooks.example/a")
        .with_evidence(
            Evidence::metric("accuracy")
                .observed(0.81)
                .threshold(0.9)
                .detail("col", 0.5),
        )
        .with_source(Source::model(model).version("3"))
        .with_starts_at(t(0))
}

async fn apply(store: &dyn Store, changes: Vec<Change>, what: &str) {
    store
        .apply(&changes)
        .await
        .unwrap_or_else(|e| panic!("store {}: apply({what}) failed: {e}", store.name()));
}

/// Runs every check against `store`, which must start empty.
pub async fn run(store: &dyn Store) {
    empty(store).await;
    alerts_groups_acks_states(store).await;
    silences(store).await;
    notification_log(store).await;
    outbox(store).await;
    dead_letters(store).await;
    history(store).await;
    pruning(store).await;
    prepared_writes(store).await;
}

async fn empty(store: &dyn Store) {
    let snap = store.load().await.expect("load an empty store");
    assert!(
        snap.alerts.is_empty()
            && snap.groups.is_empty()
            && snap.silences.is_empty()
            && snap.acks.is_empty()
            && snap.states.is_empty(),
        "store {}: the testsuite needs an empty store, got {snap:?}",
        store.name()
    );
    assert!(
        store
            .pending_outbox(0)
            .await
            .expect("pending_outbox")
            .is_empty()
    );
    assert_eq!(
        store
            .last_notification("r", "c", "g")
            .await
            .expect("last_notification"),
        None
    );
}

async fn alerts_groups_acks_states(store: &dyn Store) {
    let a1 = Arc::new(rich_alert("AccuracyDrop", "bikes"));
    let a2 = Arc::new(rich_alert("AccuracyDrop", "cars"));
    let mut r1 = AlertRecord::new(a1.clone(), t(1));
    let r2 = AlertRecord::new(a2.clone(), t(2));
    let group = GroupRecord {
        key: "root{model=\"bikes\"}".into(),
        route: "root".into(),
        created_at: t(1),
        next_flush_at: t(31),
        flushed: false,
    };
    let ack = Ack::new(a1.fingerprint(), "alice", t(5)).with_comment("on it");
    let state = StateRecord::new(
        "flap",
        a1.fingerprint().to_string(),
        serde_json::json!({"n": 3, "at": [1, 2]}),
    );
    apply(
        store,
        vec![
            Change::PutAlert(r1.clone()),
            Change::PutAlert(r2.clone()),
            Change::PutGroup(group.clone()),
            Change::PutAck(ack.clone()),
            Change::PutState(state.clone()),
        ],
        "puts",
    )
    .await;
    let snap = store.load().await.expect("load");
    let mut alerts = snap.alerts.clone();
    alerts.sort_by_key(|a| a.received_at);
    assert_eq!(
        alerts,
        vec![r1.clone(), r2.clone()],
        "alerts round-trip exactly"
    );
    assert_eq!(snap.groups, vec![group.clone()], "groups round-trip");
    assert_eq!(snap.acks, vec![ack.clone()], "acks round-trip");
    assert_eq!(snap.states, vec![state.clone()], "state round-trips");

    // Upserts replace by key.
    r1.updated_at = t(9);
    r1.resolved_at = Some(t(9));
    r1.keep_firing_until = Some(t(20));
    let mut g2 = group.clone();
    g2.flushed = true;
    g2.next_flush_at = t(331);
    apply(
        store,
        vec![Change::PutAlert(r1.clone()), Change::PutGroup(g2.clone())],
        "upserts",
    )
    .await;
    let snap = store.load().await.expect("load");
    assert_eq!(snap.alerts.len(), 2, "upsert does not duplicate alerts");
    assert!(
        snap.alerts.contains(&r1),
        "alert upsert replaced the record"
    );
    assert_eq!(snap.groups, vec![g2], "group upsert replaced the record");

    // Deletes, including of missing keys, are fine.
    apply(
        store,
        vec![
            Change::DeleteAlert(a1.fingerprint()),
            Change::DeleteAlert(a2.fingerprint()),
            Change::DeleteAlert(Fingerprint::from_u64(42)),
            Change::DeleteGroup(group.key.clone()),
            Change::DeleteAck(ack.fingerprint),
            Change::DeleteState {
                kind: "flap".into(),
                key: state.key.clone(),
            },
            Change::DeleteState {
                kind: "none".into(),
                key: "none".into(),
            },
        ],
        "deletes",
    )
    .await;
    let snap = store.load().await.expect("load");
    assert!(
        snap.alerts.is_empty()
            && snap.groups.is_empty()
            && snap.acks.is_empty()
            && snap.states.is_empty(),
        "deletes removed everything: {snap:?}"
    );
}

async fn silences(store: &dyn Store) {
    let s = Silence::new(
        vec![
            Matcher::eq("job", "retrain"),
            "model =~ \"bikes|cars\"".parse().expect("matcher"),
        ],
        "ops",
        "weekly retrain",
    )
    .between(t(0), t(86_400 * 365))
    .recurring(TimeInterval::weekly("sunday", "02:00", "04:00", "Europe/Paris").expect("interval"));
    let mut s = s;
    s.id = "s1".into();
    s.updated_at = t(0);
    apply(store, vec![Change::PutSilence(s.clone())], "put silence").await;
    let snap = store.load().await.expect("load");
    assert_eq!(
        snap.silences,
        vec![s.clone()],
        "a recurring silence round-trips"
    );
    let mut expired = s.clone();
    expired.ends_at = t(10);
    apply(store, vec![Change::PutSilence(expired.clone())], "expire").await;
    assert_eq!(store.load().await.expect("load").silences, vec![expired]);
    apply(
        store,
        vec![Change::DeleteSilence("s1".into())],
        "delete silence",
    )
    .await;
    assert!(store.load().await.expect("load").silences.is_empty());
}

fn entry(
    kind: LogKind,
    at: i64,
    receiver: &str,
    channel: &str,
    group: &str,
    firing: &[u64],
) -> LogEntry {
    let mut e = LogEntry::new(kind, t(at));
    e.receiver = receiver.into();
    e.channel = channel.into();
    e.group_key = group.into();
    e.firing = firing.iter().map(|v| Fingerprint::from_u64(*v)).collect();
    e
}

async fn notification_log(store: &dyn Store) {
    let e1 = entry(LogKind::Notified, 10, "team", "slack", "g1", &[1, 2]);
    let e2 = entry(LogKind::Notified, 20, "team", "slack", "g1", &[1]);
    let mut ack = entry(LogKind::Acked, 25, "", "", "", &[1]);
    ack.detail = "alice".into();
    let e3 = entry(LogKind::Notified, 30, "team", "discord", "g1", &[3]);
    let e4 = entry(LogKind::Notified, 40, "oncall", "slack", "g2", &[4]);
    apply(
        store,
        vec![Change::Log(e1.clone()), Change::Log(e2.clone())],
        "log 1",
    )
    .await;
    apply(
        store,
        vec![
            Change::Log(ack.clone()),
            Change::Log(e3.clone()),
            Change::Log(e4.clone()),
        ],
        "log 2",
    )
    .await;
    let last = store
        .last_notification("team", "slack", "g1")
        .await
        .expect("last");
    assert_eq!(
        last,
        Some(e2.clone()),
        "the latest Notified entry is the dedup state"
    );
    assert_eq!(
        store
            .last_notification("team", "discord", "g1")
            .await
            .expect("last"),
        Some(e3.clone()),
        "dedup state is per channel"
    );
    assert_eq!(
        store
            .last_notification("team", "slack", "g9")
            .await
            .expect("last"),
        None
    );
    // Several at once, in the order asked, misses included (the router's batch).
    assert_eq!(
        store
            .last_notifications(&[
                ("team", "discord", "g1"),
                ("team", "slack", "g9"),
                ("team", "slack", "g1"),
                ("oncall", "slack", "g2"),
                ("oncall", "slack", "g1"),
            ])
            .await
            .expect("last_notifications"),
        vec![
            Some(e3.clone()),
            None,
            Some(e2.clone()),
            Some(e4.clone()),
            None
        ]
    );
    assert_eq!(
        store.last_notifications(&[]).await.expect("none asked"),
        Vec::new()
    );

    let all = store.query_log(&LogQuery::default()).await.expect("query");
    assert_eq!(
        all,
        vec![e4.clone(), e3.clone(), ack.clone(), e2.clone(), e1.clone()],
        "newest first"
    );
    let q = LogQuery {
        fingerprint: Some(Fingerprint::from_u64(1)),
        ..LogQuery::default()
    };
    assert_eq!(
        store.query_log(&q).await.expect("q"),
        vec![ack.clone(), e2.clone(), e1.clone()],
        "by fingerprint"
    );
    let q = LogQuery {
        receiver: Some("team".into()),
        kinds: vec![LogKind::Notified],
        since: Some(t(15)),
        until: Some(t(40)),
        ..LogQuery::default()
    };
    assert_eq!(
        store.query_log(&q).await.expect("q"),
        vec![e3.clone(), e2.clone()],
        "receiver + kinds + window"
    );
    let q = LogQuery {
        group_key: Some("g1".into()),
        limit: 1,
        ..LogQuery::default()
    };
    assert_eq!(
        store.query_log(&q).await.expect("q"),
        vec![e3.clone()],
        "group + limit"
    );

    let rec = ReceiptRecord {
        receiver: "team".into(),
        channel: "slack".into(),
        group_key: "g1".into(),
        receipt: Receipt::new("slack")
            .with_id("1700000000.0001")
            .with_meta("channel", "C1"),
        at: t(21),
    };
    apply(store, vec![Change::PutReceipt(rec.clone())], "receipt").await;
    assert_eq!(
        store.receipt("team", "slack", "g1").await.expect("receipt"),
        Some(rec.clone())
    );
    let mut rec2 = rec.clone();
    rec2.receipt = Receipt::new("slack").with_id("1700000001.0002");
    rec2.at = t(22);
    apply(
        store,
        vec![Change::PutReceipt(rec2.clone())],
        "receipt upsert",
    )
    .await;
    assert_eq!(
        store.receipt("team", "slack", "g1").await.expect("receipt"),
        Some(rec2)
    );
    assert_eq!(
        store
            .receipt("team", "discord", "g1")
            .await
            .expect("receipt"),
        None
    );
}

fn notification(id: &str, at: i64, sev: Severity) -> Notification {
    Notification::new(
        id,
        "team",
        "slack",
        "g1",
        NotificationKind::Group,
        vec![rich_alert("AccuracyDrop", id)],
        sev,
        t(at),
    )
}

async fn outbox(store: &dyn Store) {
    let n1 = notification("n1", 1, Severity::Info);
    let n2 = notification("n2", 2, Severity::Critical);
    let n3 = notification("n3", 3, Severity::Warning);
    apply(
        store,
        vec![
            Change::Enqueue(n1.clone()),
            Change::Enqueue(n2.clone()),
            Change::Enqueue(n3.clone()),
        ],
        "enqueue",
    )
    .await;
    let pending = store.pending_outbox(0).await.expect("pending");
    assert_eq!(
        pending,
        vec![n1.clone(), n2.clone(), n3.clone()],
        "oldest first, exact round-trip"
    );
    assert_eq!(
        store.pending_outbox(2).await.expect("pending").len(),
        2,
        "limit"
    );
    // Re-enqueueing the same id replaces, it does not duplicate.
    apply(store, vec![Change::Enqueue(n1.clone())], "re-enqueue").await;
    assert_eq!(
        store.pending_outbox(0).await.expect("pending").len(),
        3,
        "no duplicate on re-enqueue"
    );
    apply(
        store,
        vec![Change::Reschedule {
            id: "n2".into(),
            attempts: 3,
            next_attempt_at: Some(t(60)),
        }],
        "reschedule",
    )
    .await;
    let pending = store.pending_outbox(0).await.expect("pending");
    let got = pending
        .iter()
        .find(|n| n.id == "n2")
        .expect("n2 still pending");
    assert_eq!(
        (got.attempts, got.next_attempt_at),
        (3, Some(t(60))),
        "reschedule persisted"
    );
    let one = store
        .outbox_entry("n2")
        .await
        .expect("outbox_entry")
        .expect("n2 by id");
    assert_eq!(&one, got, "read by id: the same entry, rescheduled");
    assert_eq!(
        store.outbox_entry("n1").await.expect("outbox_entry"),
        Some(n1.clone()),
        "read by id"
    );
    assert_eq!(
        store.outbox_entry("missing").await.expect("outbox_entry"),
        None,
        "an unknown id is None"
    );
    // Pages in the order of `pending_outbox`.
    let ids = |v: Vec<Notification>| v.into_iter().map(|n| n.id).collect::<Vec<_>>();
    let all = ids(pending.clone());
    let page = |after: Option<&str>, limit: usize| {
        let after = after.map(str::to_owned);
        async move {
            ids(store
                .pending_outbox_after(after.as_deref(), limit)
                .await
                .expect("pending_outbox_after"))
        }
    };
    assert_eq!(all.len(), 3);
    assert_eq!(page(None, 2).await, all[..2], "first page");
    assert_eq!(
        page(Some(&all[1]), 2).await,
        all[2..],
        "the page after the second"
    );
    assert_eq!(page(None, 0).await, all, "limit 0: all");
    assert_eq!(
        page(Some(&all[0]), 0).await,
        all[1..],
        "all after the first"
    );
    assert!(
        page(Some(&all[2]), 5).await.is_empty(),
        "nothing after the last"
    );
    assert!(
        page(Some("missing"), 5).await.is_empty(),
        "after an entry that is not pending: empty"
    );
    apply(
        store,
        vec![
            Change::Dequeue("n1".into()),
            Change::Dequeue("n2".into()),
            Change::Dequeue("missing".into()),
        ],
        "dequeue",
    )
    .await;
    let pending = store.pending_outbox(0).await.expect("pending");
    assert_eq!(pending, vec![n3.clone()], "dequeued entries are gone");
    assert_eq!(
        store.outbox_entry("n1").await.expect("outbox_entry"),
        None,
        "a dequeued entry is no longer read by id"
    );
    apply(store, vec![Change::Dequeue("n3".into())], "dequeue").await;
}

async fn all_dead_letters(store: &dyn Store) -> Vec<DeadLetter> {
    store
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap_or_else(|e| panic!("store {}: dead_letters failed: {e}", store.name()))
}

async fn dead_letters(store: &dyn Store) {
    let all = all_dead_letters;
    assert!(all(store).await.is_empty(), "no dead letters at first");
    let mut d1 = notification("d1", 10, Severity::Error);
    d1.attempts = 7;
    let mut d2 = notification("d2", 11, Severity::Critical);
    d2.receiver = "other".into();
    apply(
        store,
        vec![Change::Enqueue(d1.clone()), Change::Enqueue(d2.clone())],
        "enqueue for dead letters",
    )
    .await;
    let dead1 = DeadLetter::new(d1.clone(), t(100), "deadline")
        .with_error("server", "webhook: server error (HTTP 503): down");
    let dead2 = DeadLetter::new(d2.clone(), t(200), "permanent")
        .with_error("rejected", "webhook: rejected (HTTP 400): bad");
    apply(
        store,
        vec![Change::DeadLetter(dead1.clone())],
        "dead letter d1",
    )
    .await;
    assert_eq!(
        store.pending_outbox(0).await.expect("pending"),
        vec![d2.clone()],
        "a dead letter leaves the outbox in the same batch"
    );
    // A dead letter for an id no longer in the outbox is still kept.
    apply(
        store,
        vec![
            Change::Dequeue("d2".into()),
            Change::DeadLetter(dead2.clone()),
        ],
        "dead letter d2",
    )
    .await;
    assert!(store.pending_outbox(0).await.expect("pending").is_empty());
    assert_eq!(
        all(store).await,
        vec![dead2.clone(), dead1.clone()],
        "newest first, exact round-trip"
    );
    let q = DeadLetterQuery {
        receiver: Some("team".into()),
        ..DeadLetterQuery::default()
    };
    assert_eq!(
        store.dead_letters(&q).await.expect("q"),
        vec![dead1.clone()],
        "by receiver"
    );
    let q = DeadLetterQuery {
        id: Some("d2".into()),
        ..DeadLetterQuery::default()
    };
    assert_eq!(
        store.dead_letters(&q).await.expect("q"),
        vec![dead2.clone()],
        "by id"
    );
    let q = DeadLetterQuery {
        since: Some(t(150)),
        ..DeadLetterQuery::default()
    };
    assert_eq!(
        store.dead_letters(&q).await.expect("q"),
        vec![dead2.clone()],
        "since"
    );
    let q = DeadLetterQuery {
        until: Some(t(150)),
        limit: 5,
        ..DeadLetterQuery::default()
    };
    assert_eq!(
        store.dead_letters(&q).await.expect("q"),
        vec![dead1.clone()],
        "until"
    );
    let q = DeadLetterQuery {
        limit: 1,
        ..DeadLetterQuery::default()
    };
    assert_eq!(
        store.dead_letters(&q).await.expect("q"),
        vec![dead2.clone()],
        "limit"
    );
    // Burying the same id again replaces it; deleting removes it; a missing id is
    // ignored.
    let again = DeadLetter::new(d1.clone(), t(300), "attempts");
    apply(store, vec![Change::DeadLetter(again.clone())], "re-bury").await;
    assert_eq!(
        all(store).await.len(),
        2,
        "no duplicate when given up again"
    );
    apply(
        store,
        vec![
            Change::DeleteDeadLetter("d2".into()),
            Change::DeleteDeadLetter("missing".into()),
        ],
        "delete dead letter",
    )
    .await;
    assert_eq!(all(store).await, vec![again.clone()]);
    apply(
        store,
        vec![Change::DeleteDeadLetter("d1".into())],
        "delete dead letter",
    )
    .await;
    assert!(all(store).await.is_empty());
}

async fn history(store: &dyn Store) {
    let n = notification("h1", 0, Severity::Error);
    let mut failed = DeliveryAttempt::of(
        &n,
        1,
        t(100),
        Duration::from_millis(250),
        AttemptOutcome::Failed,
    );
    failed.error_kind = Some("rate_limited".into());
    failed.error = Some("slack: rate limited (retry after 1s)".into());
    let mut ok = DeliveryAttempt::of(
        &n,
        2,
        t(102),
        Duration::from_millis(40),
        AttemptOutcome::Delivered,
    );
    ok.receipt = Some(Receipt::new("slack").with_id("ts-1"));
    let other = Notification::new(
        "h2",
        "oncall",
        "discord",
        "g2",
        NotificationKind::Notice,
        vec![Alert::new(Severity::Critical, "ModelDown")],
        Severity::Critical,
        t(0),
    );
    let gave_up = DeliveryAttempt::of(
        &other,
        1,
        t(200),
        Duration::from_millis(5),
        AttemptOutcome::GaveUp,
    );
    apply(
        store,
        vec![
            Change::Attempt(failed.clone()),
            Change::Attempt(ok.clone()),
            Change::Attempt(gave_up.clone()),
        ],
        "attempts",
    )
    .await;
    let all = store
        .query_attempts(&AttemptQuery::default())
        .await
        .expect("attempts");
    assert_eq!(
        all,
        vec![gave_up.clone(), ok.clone(), failed.clone()],
        "attempts newest first, exact"
    );
    let fp = n.alerts[0].fingerprint();
    let q = AttemptQuery {
        fingerprint: Some(fp),
        outcome: Some(AttemptOutcome::Failed),
        ..AttemptQuery::default()
    };
    assert_eq!(
        store.query_attempts(&q).await.expect("q"),
        vec![failed.clone()],
        "by fingerprint and outcome"
    );
    let q = AttemptQuery {
        receiver: Some("oncall".into()),
        since: Some(t(150)),
        until: Some(t(250)),
        ..AttemptQuery::default()
    };
    assert_eq!(
        store.query_attempts(&q).await.expect("q"),
        vec![gave_up.clone()],
        "by receiver and time"
    );

    let a = rich_alert("DataDrift", "bikes");
    let ev = vec![
        AlertEvent::of(&a, EventKind::Fired, "root", t(100)),
        AlertEvent::of(
            &a,
            EventKind::Suppressed(SuppressReason::Silenced),
            "root/0",
            t(101),
        ),
        AlertEvent::of(&a, EventKind::Acked, "", t(150)),
        AlertEvent::of(
            &Alert::new(Severity::Info, "Other"),
            EventKind::Fired,
            "root",
            t(160),
        ),
        AlertEvent::of(&a, EventKind::Resolved, "", t(300)),
    ];
    apply(
        store,
        ev.iter().cloned().map(Change::Event).collect(),
        "events",
    )
    .await;
    let all = store
        .query_events(&EventQuery::default())
        .await
        .expect("events");
    assert_eq!(all, ev, "events oldest first, exact");
    let q = EventQuery {
        alert_name: Some("DataDrift".into()),
        since: Some(t(101)),
        until: Some(t(300)),
        ..EventQuery::default()
    };
    assert_eq!(
        store.query_events(&q).await.expect("q"),
        vec![ev[1].clone(), ev[2].clone()],
        "by name and window"
    );
    let q = EventQuery {
        fingerprint: Some(a.fingerprint()),
        limit: 2,
        ..EventQuery::default()
    };
    assert_eq!(
        store.query_events(&q).await.expect("q"),
        vec![ev[0].clone(), ev[1].clone()],
        "by fingerprint, limit"
    );

    let rec = |at: i64, action: &str, outcome: ActionOutcome| ActionRecord {
        at: t(at),
        action: action.into(),
        fingerprint: a.fingerprint(),
        alert_name: a.name.clone(),
        route: "root".into(),
        duration: Duration::from_millis(12),
        outcome,
    };
    let r1 = rec(
        100,
        "retrain",
        ActionOutcome::Succeeded {
            output: "queued run 7".into(),
        },
    );
    let r2 = rec(110, "retrain", ActionOutcome::Cooldown { until: t(700) });
    let r3 = rec(120, "rollback", ActionOutcome::DryRun);
    let r4 = rec(
        130,
        "scale",
        ActionOutcome::Failed {
            error: "exit status 2".into(),
        },
    );
    apply(
        store,
        vec![
            Change::Action(r1.clone()),
            Change::Action(r2.clone()),
            Change::Action(r3.clone()),
            Change::Action(r4.clone()),
        ],
        "actions",
    )
    .await;
    let q = ActionQuery {
        action: Some("retrain".into()),
        ..ActionQuery::default()
    };
    assert_eq!(
        store.query_actions(&q).await.expect("q"),
        vec![r2.clone(), r1.clone()],
        "actions newest first"
    );
    let q = ActionQuery {
        since: Some(t(115)),
        limit: 1,
        ..ActionQuery::default()
    };
    assert_eq!(
        store.query_actions(&q).await.expect("q"),
        vec![r4.clone()],
        "since + limit"
    );
}

async fn pruning(store: &dyn Store) {
    // Everything written so far is at t(0)..t(300); add newer records and an outbox
    // entry and an alert that must survive pruning.
    let keep_alert = AlertRecord::new(Arc::new(Alert::new(Severity::Info, "Old")), t(-1000));
    let pending = notification("p1", -1000, Severity::Info);
    let old_dead = DeadLetter::new(notification("x1", 0, Severity::Error), t(500), "deadline");
    let new_dead = DeadLetter::new(notification("x2", 0, Severity::Error), t(5000), "permanent");
    let new_log = entry(LogKind::Notified, 5000, "team", "slack", "g3", &[9]);
    let mut expired = Silence::new(vec![Matcher::eq("a", "b")], "ops", "old").between(t(0), t(50));
    expired.id = "old".into();
    let mut current =
        Silence::new(vec![Matcher::eq("a", "b")], "ops", "new").between(t(0), t(10_000));
    current.id = "new".into();
    apply(
        store,
        vec![
            Change::PutAlert(keep_alert.clone()),
            Change::Enqueue(pending.clone()),
            Change::DeadLetter(old_dead),
            Change::DeadLetter(new_dead.clone()),
            Change::Log(new_log.clone()),
            Change::PutSilence(expired),
            Change::PutSilence(current.clone()),
        ],
        "pre-prune",
    )
    .await;
    let report = store
        .prune(&Retention::before(t(1000)))
        .await
        .expect("prune");
    assert_eq!(report.log, 5, "five old log entries pruned: {report:?}");
    assert_eq!(report.attempts, 3, "three old attempts pruned: {report:?}");
    assert_eq!(report.events, 5, "five old events pruned: {report:?}");
    assert_eq!(
        report.actions, 4,
        "four old action records pruned: {report:?}"
    );
    assert_eq!(report.silences, 1, "one expired silence pruned: {report:?}");
    assert_eq!(report.receipts, 1, "one old receipt pruned: {report:?}");
    assert_eq!(
        report.dead_letters, 1,
        "one old dead letter pruned: {report:?}"
    );
    assert_eq!(report.total(), 20);
    assert_eq!(
        store
            .dead_letters(&DeadLetterQuery::default())
            .await
            .expect("dead letters"),
        vec![new_dead],
        "newer dead letters stay"
    );
    assert_eq!(
        store.query_log(&LogQuery::default()).await.expect("log"),
        vec![new_log.clone()],
        "newer log entries stay"
    );
    assert_eq!(
        store
            .last_notification("team", "slack", "g1")
            .await
            .expect("last"),
        None
    );
    assert_eq!(
        store
            .last_notification("team", "slack", "g3")
            .await
            .expect("last"),
        Some(new_log)
    );
    let snap = store.load().await.expect("load");
    assert_eq!(
        snap.alerts,
        vec![keep_alert],
        "alerts are never pruned by age"
    );
    assert_eq!(snap.silences, vec![current], "unexpired silences stay");
    assert_eq!(
        store.pending_outbox(0).await.expect("pending"),
        vec![pending],
        "pending outbox entries are never pruned"
    );
    assert!(
        store
            .query_attempts(&AttemptQuery::default())
            .await
            .expect("q")
            .is_empty()
    );
    assert!(
        store
            .query_events(&EventQuery::default())
            .await
            .expect("q")
            .is_empty()
    );
    assert!(
        store
            .query_actions(&ActionQuery::default())
            .await
            .expect("q")
            .is_empty()
    );
}

/// A batch given with what `prepare` made of some of its runs is written as
/// `apply` writes it, in order: runs the store prepared, runs it did not, a part
/// it does not recognise, and parts that do not fit the batch (overlapping, past
/// its end) all end as the plain changes would.
async fn prepared_writes(store: &dyn Store) {
    let alert = rich_alert("Prepared", "p");
    let fp = alert.fingerprint();
    let version = |n: i64| {
        AlertRecord::new(
            Arc::new(alert.clone().with_summary(format!("version {n}"))),
            t(2000 + n),
        )
    };
    let group = |flushed| GroupRecord {
        key: "prepared".into(),
        route: "root".into(),
        created_at: t(2000),
        next_flush_at: t(2030),
        flushed,
    };
    let event = |at| AlertEvent::of(&alert, EventKind::Fired, "root", t(at));
    let changes = vec![
        Change::PutAlert(version(1)),
        Change::PutGroup(group(false)),
        Change::PutAlert(version(2)),
        Change::Event(event(2002)),
        Change::PutAlert(version(3)),
        Change::PutGroup(group(true)),
        Change::PutAlert(version(4)),
        Change::Event(event(2007)),
    ];
    let mut parts = Vec::new();
    if let Some(p) = store.prepare(&changes[2..4]) {
        parts.push((2, p));
    }
    parts.push((5, Prepared::new(1, "not a store's form")));
    if let Some(p) = store.prepare(&changes[6..7]) {
        parts.push((6, p));
    }
    // Overlaps the part before it, then runs past the end: neither fits.
    if let Some(p) = store.prepare(&changes[0..2]) {
        parts.push((5, p));
    }
    if let Some(p) = store.prepare(&changes[0..4]) {
        parts.push((7, p));
    }
    store
        .apply_prepared(&changes, parts)
        .await
        .unwrap_or_else(|e| panic!("store {}: apply_prepared failed: {e}", store.name()));
    let snap = store.load().await.expect("load");
    let stored = snap.alerts.iter().find(|a| a.fingerprint() == fp);
    assert_eq!(
        stored,
        Some(&version(4)),
        "store {}: the batch's last version of the alert (a prepared run after an unprepared one)",
        store.name()
    );
    assert!(
        snap.groups.contains(&group(true)) && !snap.groups.contains(&group(false)),
        "store {}: the group as the unrecognised part left it: {:?}",
        store.name(),
        snap.groups
    );
    let events = store
        .query_events(&EventQuery {
            fingerprint: Some(fp),
            ..EventQuery::default()
        })
        .await
        .expect("events");
    let mut at: Vec<Timestamp> = events.iter().map(|e| e.at).collect();
    at.sort();
    assert_eq!(
        at,
        vec![t(2002), t(2007)],
        "store {}: the prepared event and the one after the parts that did not fit",
        store.name()
    );
}
