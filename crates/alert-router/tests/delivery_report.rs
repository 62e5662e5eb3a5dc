//! The alert-effectiveness report over a scripted history. The expected numbers are
//! written out by hand from the scenario, not computed by the code under test.

use std::time::Duration;

use alert_core::{Alert, Receipt, Severity, Timestamp};
use alert_router::delivery::report::EffectivenessReport;
use alert_router::store::{
    AlertEvent, AttemptOutcome, Change, DeliveryAttempt, EventKind, MemoryStore, Notification,
    NotificationKind, Store, SuppressReason,
};

fn t(s: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + s).unwrap()
}

fn ev(a: &Alert, kind: EventKind, route: &str, at: i64) -> Change {
    Change::Event(AlertEvent::of(a, kind, route, t(at)))
}

fn attempt(a: &Alert, n: u32, at: i64, outcome: AttemptOutcome) -> Change {
    let note = Notification::new(
        format!("{}-{at}", a.fingerprint()),
        "team",
        "slack",
        "g",
        NotificationKind::Group,
        vec![a.clone()],
        a.severity,
        t(at),
    );
    let mut d = DeliveryAttempt::of(&note, n, t(at), Duration::from_millis(30), outcome);
    if outcome == AttemptOutcome::Delivered {
        d.receipt = Some(Receipt::new("slack").with_id("ts"));
    } else {
        d.error = Some("slack: server error (HTTP 500): boom".into());
    }
    Change::Attempt(d)
}

async fn scenario() -> MemoryStore {
    let store = MemoryStore::new();
    let a1 = Alert::new(Severity::Error, "AccuracyDrop").with_label("model", "bikes");
    let a2 = Alert::new(Severity::Error, "AccuracyDrop").with_label("model", "cars");
    let b1 = Alert::new(Severity::Warning, "DataDrift").with_label("model", "bikes");
    let outside = Alert::new(Severity::Info, "Old");
    store
        .apply(&[
            // Before the period: not counted.
            ev(&outside, EventKind::Fired, "root/2", -100),
            // AccuracyDrop/bikes, first episode: notified, acked after 60 s, a repeat
            // held back by dedup, resolved after 300 s.
            ev(&a1, EventKind::Fired, "root/0", 0),
            ev(&a1, EventKind::Notified, "root/0", 1),
            attempt(&a1, 1, 2, AttemptOutcome::Delivered),
            ev(&a1, EventKind::Acked, "", 60),
            ev(
                &a1,
                EventKind::Suppressed(SuppressReason::Dedup),
                "root/0",
                120,
            ),
            ev(&a1, EventKind::Resolved, "", 300),
            // DataDrift: silenced, inhibited, flapping; never acked or resolved;
            // its one notification was given up.
            ev(&b1, EventKind::Fired, "root/1", 10),
            ev(
                &b1,
                EventKind::Suppressed(SuppressReason::Silenced),
                "root/1",
                11,
            ),
            ev(
                &b1,
                EventKind::Suppressed(SuppressReason::Inhibited),
                "root/1",
                12,
            ),
            ev(&b1, EventKind::Flapping, "root/1", 13),
            ev(
                &b1,
                EventKind::Suppressed(SuppressReason::Flapping),
                "root/1",
                14,
            ),
            attempt(&b1, 1, 15, AttemptOutcome::GaveUp),
            // AccuracyDrop/cars: acked after 10 s, resolved after 30 s; one failed
            // attempt then a delivery.
            ev(&a2, EventKind::Fired, "", 20),
            ev(&a2, EventKind::Notified, "root/0", 21),
            attempt(&a2, 1, 22, AttemptOutcome::Failed),
            attempt(&a2, 2, 23, AttemptOutcome::Delivered),
            ev(&a2, EventKind::Acked, "", 30),
            ev(&a2, EventKind::Resolved, "", 50),
            // AccuracyDrop/bikes again: notified, resolved after 100 s, nobody acked.
            ev(&a1, EventKind::Fired, "root/0", 400),
            ev(&a1, EventKind::Notified, "root/0", 401),
            ev(&a1, EventKind::Resolved, "", 500),
            // After the period: not counted.
            ev(&b1, EventKind::Resolved, "", 5000),
        ])
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn counts_per_alert_per_route_and_totals() {
    let store = scenario().await;
    let r = EffectivenessReport::build(&store, t(0), t(1000))
        .await
        .unwrap();

    let names: Vec<&str> = r.by_alert.iter().map(|x| x.key.as_str()).collect();
    assert_eq!(names, ["AccuracyDrop", "DataDrift"]);
    let acc = &r.by_alert[0];
    assert_eq!(acc.fired, 3);
    assert_eq!(acc.notifications, 3);
    assert_eq!(acc.deliveries, 2);
    assert_eq!(acc.failed, 0);
    assert_eq!(acc.suppressed_dedup, 1);
    assert_eq!(acc.acked, 2);
    assert_eq!(acc.time_to_ack.count, 2);
    assert_eq!(acc.time_to_ack.mean_secs, Some(35.0));
    assert_eq!(acc.time_to_ack.p50_secs, Some(10.0));
    assert_eq!(acc.time_to_ack.max_secs, Some(60.0));
    assert_eq!(acc.time_to_resolve.count, 3);
    assert_eq!(acc.time_to_resolve.p50_secs, Some(100.0));
    assert_eq!(acc.time_to_resolve.p90_secs, Some(300.0));
    assert_eq!(acc.resolved_before_ack, 1);
    assert_eq!(acc.never_acked, 1);

    let drift = &r.by_alert[1];
    assert_eq!(drift.fired, 1);
    assert_eq!(drift.notifications, 0);
    assert_eq!(drift.failed, 1);
    assert_eq!(
        (
            drift.suppressed_silence,
            drift.suppressed_inhibition,
            drift.suppressed_flapping
        ),
        (1, 1, 1)
    );
    assert_eq!(drift.flaps, 1);
    assert_eq!(
        (drift.acked, drift.never_acked, drift.resolved_before_ack),
        (0, 1, 0)
    );
    assert_eq!(
        drift.time_to_resolve.count, 0,
        "it resolved after the period"
    );

    let routes: Vec<(&str, u64, u64)> = r
        .by_route
        .iter()
        .map(|x| (x.key.as_str(), x.fired, x.notifications))
        .collect();
    assert_eq!(routes, [("root/0", 3, 3), ("root/1", 1, 0)]);
    assert_eq!(r.by_route[0].suppressed_dedup, 1);
    assert_eq!(r.by_route[1].suppressed_silence, 1);

    let tot = &r.totals;
    assert_eq!(
        (
            tot.fired,
            tot.notifications,
            tot.deliveries,
            tot.failed,
            tot.acked,
            tot.never_acked
        ),
        (4, 3, 2, 1, 2, 2)
    );
    assert_eq!(tot.resolved_before_ack, 1);
}

#[tokio::test]
async fn json_and_table_outputs() {
    let store = scenario().await;
    let r = EffectivenessReport::build(&store, t(0), t(1000))
        .await
        .unwrap();
    let json = r.to_json();
    assert_eq!(json["by_alert"][0]["key"], "AccuracyDrop");
    assert_eq!(json["by_alert"][0]["time_to_ack"]["p50_secs"], 10.0);
    assert_eq!(json["by_alert"][1]["suppressed_silence"], 1);
    assert_eq!(json["totals"]["fired"], 4);
    assert_eq!(json["since"], "2027-01-15T08:00:00Z");

    let table = r.to_table();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("Alert effectiveness from 2027-01-15T08:00:00Z"),
        "{table}"
    );
    let row = lines
        .iter()
        .find(|l| l.starts_with("AccuracyDrop"))
        .expect("a row per alert");
    let cells: Vec<&str> = row.split_whitespace().collect();
    // alert fired notified delivered failed dedup silenced inhibited flap-held flaps
    // acked ack-p50 resolve-p50 resolved-unacked never-acked
    assert_eq!(
        cells,
        [
            "AccuracyDrop",
            "3",
            "3",
            "2",
            "0",
            "1",
            "0",
            "0",
            "0",
            "0",
            "2",
            "10s",
            "1.7m",
            "1",
            "1"
        ]
    );
    assert!(lines.iter().any(|l| l.starts_with("total")), "{table}");
    assert!(lines.iter().any(|l| l.starts_with("root/1")), "{table}");

    let empty = EffectivenessReport::build(&store, t(10_000), t(20_000))
        .await
        .unwrap();
    assert!(empty.by_alert.is_empty());
    assert!(empty.to_table().contains("(nothing in this period)"));
}
