//! Each noise-control rule on a paused clock, with the expected calls written out.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alert_core::Severity::{Critical, Error, Info, Warning};
use alert_core::{Alert, Timestamp};
use alert_router::store::{ActionOutcome, ActionQuery, LogKind, LogQuery, Store};
use alert_router::{
    ActionError, ActionPolicy, AlertFilter, FlapControl, FnAction, InhibitRule, MemoryStore,
    Receiver, Route, Router, Silence, TimeInterval, TimeIntervalSpec, TimeRangeSpec, TokioClock,
};
use common::{Rec, alert, at, build, settle};
use tokio::time::Instant;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn one_minute_ticks(receiver: &str) -> Route {
    Route::to(receiver)
        .group_by(["alertname"])
        .group_wait(s(30))
        .group_interval(s(60))
        .repeat_interval(s(3600))
}

#[tokio::test(start_paused = true)]
async fn inhibition_with_equal_mutes_only_the_same_model() {
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(one_minute_ticks("team").group_by(["alertname", "model"]))
            .inhibit(
                InhibitRule::new(
                    ["alertname = ModelDown", "severity = critical"],
                    ["severity = warning"],
                    ["model"],
                )
                .unwrap(),
            ),
    )
    .await;
    router
        .send(alert(Critical, "ModelDown", &[("model", "bikes")]))
        .await
        .unwrap();
    router
        .send(alert(Warning, "DataDrift", &[("model", "bikes")]))
        .await
        .unwrap();
    router
        .send(alert(Warning, "DataDrift", &[("model", "cars")]))
        .await
        .unwrap();
    at(start, 40).await;
    let mut lines = rec.lines();
    lines.sort();
    assert_eq!(
        lines,
        ["30s group DataDrift=firing", "30s group ModelDown=firing"]
    );
    // The muted one is listed as inhibited by ModelDown.
    let inhibited = router.alerts(&AlertFilter {
        inhibited: Some(true),
        ..AlertFilter::default()
    });
    assert_eq!(inhibited.len(), 1);
    assert_eq!(&inhibited[0].alert.labels["model"], "bikes");
    assert_eq!(
        inhibited[0].inhibited_by,
        [alert(Critical, "ModelDown", &[("model", "bikes")]).fingerprint()]
    );
    assert_eq!(router.stats().suppressed["inhibited"], 1);
    // When ModelDown resolves, the drift alert is sent at the next tick.
    router
        .send(alert(Critical, "ModelDown", &[("model", "bikes")]).resolved_at(router.now()))
        .await
        .unwrap();
    at(start, 100).await;
    // The ModelDown receipt id is 1 or 2, depending on which 30s call went first.
    let mut lines: Vec<String> = rec
        .lines()
        .iter()
        .map(|l| {
            l.replace("update#1 ", "update#? ")
                .replace("update#2 ", "update#? ")
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "30s group DataDrift=firing",
            "30s group ModelDown=firing",
            "90s group DataDrift=firing",
            "90s update#? ModelDown=resolved",
        ]
    );
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn self_inhibition_guard_keeps_both_sides_visible() {
    // Both alerts match source and target: neither may mute the other.
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(one_minute_ticks("team").group_by(["..."]))
            .inhibit(
                InhibitRule::new(["severity >= warning"], ["severity >= warning"], ["model"])
                    .unwrap(),
            ),
    )
    .await;
    router
        .send(alert(Critical, "ModelDown", &[("model", "bikes")]))
        .await
        .unwrap();
    router
        .send(alert(Warning, "DataDrift", &[("model", "bikes")]))
        .await
        .unwrap();
    at(start, 40).await;
    let mut lines = rec.lines();
    lines.sort();
    assert_eq!(
        lines,
        ["30s group DataDrift=firing", "30s group ModelDown=firing"]
    );
    assert_eq!(router.stats().suppressed["inhibited"], 0);
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_silenced_alert_sends_no_resolved_notice_and_silences_have_a_life_cycle() {
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(one_minute_ticks("team")),
    )
    .await;
    router
        .send(alert(Error, "TrainingFailed", &[("job", "retrain")]))
        .await
        .unwrap();
    at(start, 40).await;
    let id = router
        .create_silence(
            Silence::new(
                vec!["job = retrain".parse().unwrap()],
                "alice",
                "known issue",
            )
            .between(router.now(), router.now().saturating_add(s(3600))),
        )
        .await
        .unwrap();
    assert_eq!(router.silences().len(), 1);
    assert_eq!(
        router.silence(&id).unwrap().state,
        alert_router::SilenceState::Active
    );
    at(start, 50).await;
    router
        .send(alert(Error, "TrainingFailed", &[("job", "retrain")]).resolved_at(router.now()))
        .await
        .unwrap();
    at(start, 200).await;
    // Only the firing notice: the resolution happened under the silence.
    assert_eq!(rec.lines(), ["30s group TrainingFailed=firing"]);
    assert_eq!(router.stats().suppressed["silenced"], 1);
    router.expire_silence(&id).await.unwrap();
    assert_eq!(
        router.silence(&id).unwrap().state,
        alert_router::SilenceState::Expired
    );
    at(start, 300).await;
    assert_eq!(
        rec.lines(),
        ["30s group TrainingFailed=firing"],
        "nothing after expiry either"
    );
    // Bad silences are refused with a reason.
    let err = router
        .create_silence(Silence::new(
            vec!["job =~ \".*\"".parse().unwrap()],
            "alice",
            "all",
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("must not match the empty string"),
        "{err}"
    );
    let err = router.expire_silence("nope").await.unwrap_err();
    assert!(
        matches!(
            err,
            alert_router::RouterError::NotFound {
                what: "silence",
                ..
            }
        ),
        "{err}"
    );
    router.shutdown(s(1)).await;
}

/// Runs one night: `start` is 00:30Z; X fires at 00:40Z (600 s), Y at 01:10Z
/// (2400 s); the silence mutes `job=retrain` every Sunday 02:00-04:00 Europe/Paris.
async fn retrain_night(date: &str) -> Vec<String> {
    let base: Timestamp = format!("{date}T00:30:00Z").parse().unwrap();
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = Router::builder()
        .receiver(Receiver::new("team").channel(rec.clone()))
        .route(
            Route::to("team")
                .group_by(["..."])
                .group_wait(s(10))
                .group_interval(s(60)),
        )
        .resolve_timeout(s(86_400))
        .clock(Arc::new(TokioClock::starting_at(base)))
        .build()
        .await
        .unwrap();
    router
        .create_silence(
            Silence::new(
                vec!["job = retrain".parse().unwrap()],
                "ops",
                "weekly retrain",
            )
            .between(
                "2026-03-01T00:00:00Z".parse().unwrap(),
                "2026-11-01T00:00:00Z".parse().unwrap(),
            )
            .recurring(TimeInterval::weekly("sunday", "02:00", "04:00", "Europe/Paris").unwrap()),
        )
        .await
        .unwrap();
    at(start, 600).await;
    router
        .send(alert(Error, "X", &[("job", "retrain")]))
        .await
        .unwrap();
    at(start, 2400).await;
    router
        .send(alert(Error, "Y", &[("job", "retrain")]))
        .await
        .unwrap();
    at(start, 10_000).await;
    router.shutdown(s(1)).await;
    let mut lines = rec.lines();
    lines.sort();
    lines
}

#[tokio::test(start_paused = true)]
async fn recurring_silence_follows_the_time_zone_across_the_daylight_saving_change() {
    // Winter (UTC+1): the window is 01:00-03:00Z. X at 00:40Z goes out after
    // group_wait; Y at 01:10Z is held until the first tick after 03:00Z.
    assert_eq!(
        retrain_night("2026-03-22").await,
        ["610s group X=firing", "9010s group Y=firing"]
    );
    // The night clocks go forward (2026-03-29): 02:00 local does not exist, the
    // window is 03:00-04:00 local = 01:00-02:00Z. Y is held until 02:00Z only.
    assert_eq!(
        retrain_night("2026-03-29").await,
        ["5410s group Y=firing", "610s group X=firing"]
    );
    // Summer (UTC+2): the window is 00:00-02:00Z, so X at 00:40Z is held too.
    assert_eq!(
        retrain_night("2026-04-05").await,
        ["5410s group X=firing", "5410s group Y=firing"]
    );
}

#[tokio::test(start_paused = true)]
async fn recurring_silence_covers_the_repeated_hour_when_the_clocks_go_back() {
    // 2026-10-25, a Sunday: at 03:00 CEST (01:00Z) the clocks go back to 02:00 CET,
    // so 02:00-03:00 local happens twice. The window 02:00-04:00 local runs from
    // 02:00 CEST (00:00Z) to 04:00 CET (03:00Z): three hours. X at 00:40Z (02:40
    // CEST) and Y at 01:10Z (02:10 CET, the second time round) are both held until
    // the first tick after 03:00Z (9000 s after the 00:30Z start).
    assert_eq!(
        retrain_night("2026-10-25").await,
        ["9010s group X=firing", "9010s group Y=firing"]
    );
    // The Sunday before (CEST all night) the window is 00:00-02:00Z: both are
    // released an hour earlier.
    assert_eq!(
        retrain_night("2026-10-18").await,
        ["5410s group X=firing", "5410s group Y=firing"]
    );
}

#[tokio::test(start_paused = true)]
async fn flap_detection_on_a_fire_resolve_storm() {
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(
                Route::to("team")
                    .group_by(["alertname"])
                    .group_wait(s(10))
                    .group_interval(s(60)),
            )
            .flap_control(FlapControl::new(4, s(600), s(300))),
    )
    .await;
    let x = || alert(Error, "X", &[]);
    for (secs, firing) in [
        (0, true),
        (20, false),
        (40, true),
        (60, false),
        (80, true),
        (100, false),
        (120, true),
        (140, false),
    ] {
        at(start, secs).await;
        let a = if firing {
            x()
        } else {
            x().resolved_at(router.now())
        };
        router.send(a).await.unwrap();
    }
    at(start, 600).await;
    assert_eq!(
        rec.lines(),
        [
            // Before the storm is recognised, Alertmanager's rules apply.
            "10s group X=firing",
            "70s update#1 X=resolved",
            // The fifth transition (80s) makes it flapping: one notice.
            "80s notify X=firing(flapping)",
            // Stable 300s after the last change (140s): its final state.
            "440s update#2 X=resolved",
        ]
    );
    let stats = router.stats();
    assert_eq!(stats.flaps, 1);
    // Held back once in each of the two episodes that started while flapping.
    assert_eq!(stats.suppressed["flapping"], 2);
    let log = router
        .notification_log(&{
            let mut q = LogQuery::default();
            q.kinds = vec![LogKind::Flapping];
            q
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].detail, "5 transitions");
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn keep_firing_for_hides_a_short_resolution() {
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(one_minute_ticks("team"))
            .keep_firing_for(s(60)),
    )
    .await;
    router.send(alert(Error, "X", &[])).await.unwrap();
    at(start, 50).await;
    router
        .send(alert(Error, "X", &[]).resolved_at(router.now()))
        .await
        .unwrap();
    at(start, 70).await;
    router.send(alert(Error, "X", &[])).await.unwrap();
    at(start, 200).await;
    router
        .send(alert(Error, "X", &[]).resolved_at(router.now()))
        .await
        .unwrap();
    at(start, 400).await;
    // 50s..70s never showed; the 200s resolution took effect at 260s, sent at 270s.
    assert_eq!(
        rec.lines(),
        ["30s group X=firing", "270s update#1 X=resolved"]
    );
    assert_eq!(router.stats().resolved, 1);
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn escalation_then_ack_stops_escalation_and_repeats() {
    let start = Instant::now();
    let team = Rec::new("team", start);
    let manager = Rec::new("manager", start);
    let director = Rec::new("director", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(team.clone()))
            .receiver(Receiver::new("manager").channel(manager.clone()))
            .receiver(Receiver::new("director").channel(director.clone()))
            .route(
                one_minute_ticks("team")
                    .repeat_interval(s(600))
                    .escalate(s(300), "manager")
                    .escalate(s(600), "director"),
            )
            .resolve_timeout(s(7200)),
    )
    .await;
    let a = alert(Critical, "ModelDown", &[("model", "bikes")]);
    router.send(a.clone()).await.unwrap();
    at(start, 400).await;
    router
        .ack(a.fingerprint(), "alice", "rolling back")
        .await
        .unwrap();
    assert!(router.is_acked(a.fingerprint()));
    at(start, 1300).await;
    assert_eq!(
        team.lines(),
        ["30s group ModelDown=firing"],
        "no repeat at 690s once acked"
    );
    assert_eq!(manager.lines(), ["300s notify ModelDown=firing(escalated)"]);
    assert_eq!(
        director.lines(),
        Vec::<String>::new(),
        "acked before the second step"
    );
    let log = router.notification_log(&LogQuery::default()).await.unwrap();
    let kinds: Vec<(LogKind, String, String)> = log
        .iter()
        .rev()
        .map(|e| (e.kind, e.receiver.clone(), e.detail.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (LogKind::Notified, "team".to_owned(), String::new()),
            (
                LogKind::Escalated,
                "manager".to_owned(),
                "level 1".to_owned()
            ),
            (
                LogKind::Acked,
                String::new(),
                "alice: rolling back".to_owned()
            ),
        ]
    );
    assert_eq!(router.stats().suppressed["acked"], 1);
    // An ack needs an active alert.
    let err = router
        .ack(alert(Info, "Nope", &[]).fingerprint(), "alice", "")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            alert_router::RouterError::NotFound { what: "alert", .. }
        ),
        "{err}"
    );
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn escalation_without_ack_reaches_every_step() {
    let start = Instant::now();
    let team = Rec::new("team", start);
    let manager = Rec::new("manager", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(team.clone()))
            .receiver(Receiver::new("manager").channel(manager.clone()))
            .route(
                one_minute_ticks("team")
                    .escalate(s(300), "manager")
                    .escalate(s(600), "manager"),
            )
            .resolve_timeout(s(7200)),
    )
    .await;
    router
        .send(alert(Critical, "ModelDown", &[]))
        .await
        .unwrap();
    at(start, 700).await;
    assert_eq!(
        manager.lines(),
        [
            "300s notify ModelDown=firing(escalated)",
            "600s notify ModelDown=firing(escalated)"
        ]
    );
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn action_cooldown_and_dry_run_are_audited() {
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let retrain = FnAction::new("retrain", move |a: Alert| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ActionError>(format!("retraining {}", &a.labels["model"]))
        }
    });
    let rollback_calls = Arc::new(AtomicUsize::new(0));
    let rb = rollback_calls.clone();
    let rollback = FnAction::new("rollback", move |_a: Alert| {
        let rb = rb.clone();
        async move {
            rb.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ActionError>("rolled back".to_owned())
        }
    });
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(
                // A repeat goes out at the first tick strictly after 90 s: every
                // second tick (30 s, 150 s, 270 s, ...).
                one_minute_ticks("team")
                    .repeat_interval(s(90))
                    .action("retrain")
                    .action("rollback"),
            )
            .action(Arc::new(retrain), ActionPolicy::cooldown(s(600)))
            .action(
                Arc::new(rollback),
                ActionPolicy::cooldown(s(600)).dry_run(true),
            )
            .resolve_timeout(s(7200)),
    )
    .await;
    router
        .send(alert(Error, "AccuracyDrop", &[("model", "bikes")]))
        .await
        .unwrap();
    at(start, 700).await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "at 30s and again at 630s after the cool-down"
    );
    assert_eq!(
        rollback_calls.load(Ordering::SeqCst),
        0,
        "dry run never runs"
    );
    let records = router
        .store()
        .query_actions(&{
            let mut q = ActionQuery::default();
            q.action = Some("retrain".into());
            q
        })
        .await
        .unwrap();
    let mut got: Vec<(u64, String)> = records
        .iter()
        .rev()
        .map(|r| {
            let secs = r.at.duration_since(common::t0()).as_secs();
            let what = match &r.outcome {
                ActionOutcome::Succeeded { output } => format!("ok: {output}"),
                ActionOutcome::Cooldown { until } => {
                    format!(
                        "cooldown until {}s",
                        until.duration_since(common::t0()).as_secs()
                    )
                }
                other => format!("{other:?}"),
            };
            (secs, what)
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (30, "ok: retraining bikes".to_owned()),
            (150, "cooldown until 630s".to_owned()),
            (270, "cooldown until 630s".to_owned()),
            (390, "cooldown until 630s".to_owned()),
            (510, "cooldown until 630s".to_owned()),
            (630, "ok: retraining bikes".to_owned()),
        ]
    );
    let dry = router
        .store()
        .query_actions(&{
            let mut q = ActionQuery::default();
            q.action = Some("rollback".into());
            q
        })
        .await
        .unwrap();
    assert_eq!(
        dry.iter()
            .filter(|r| r.outcome == ActionOutcome::DryRun)
            .count(),
        2
    );
    assert_eq!(router.stats().actions_run, 2);
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn critical_goes_before_info_when_a_channel_is_backed_up() {
    let start = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let rec = Rec::gated("slow", start, gate.clone());
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(Route::to("team").group_by(["alertname"]).group_wait(s(1)))
            .delivery(|b| b.lane_concurrency(1)),
    )
    .await;
    router.send(alert(Warning, "First", &[])).await.unwrap();
    at(start, 5).await; // First is in flight, blocked
    router.send(alert(Info, "Low", &[])).await.unwrap();
    router.send(alert(Warning, "Mid", &[])).await.unwrap();
    router.send(alert(Critical, "High", &[])).await.unwrap();
    at(start, 10).await; // all three queued behind First
    gate.add_permits(4);
    at(start, 12).await;
    let order: Vec<String> = rec
        .lines()
        .iter()
        .map(|l| l.split(' ').nth(2).unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        order,
        ["First=firing", "High=firing", "Mid=firing", "Low=firing"]
    );
    router.shutdown(s(1)).await;
}

/// A router over `store` delivering to `rec` through `route`, whose clock is at
/// `t0` + the time since `start` when it is built (a restart continues the time).
fn restartable(
    rec: &Rec,
    route: Route,
    store: &Arc<MemoryStore>,
    start: Instant,
) -> alert_router::RouterBuilder {
    Router::builder()
        .receiver(Receiver::new("team").channel(rec.clone()))
        .route(route)
        .store(store.clone())
        .resolve_timeout(s(7200))
        .clock(Arc::new(TokioClock::starting_at(
            common::t0().saturating_add(start.elapsed()),
        )))
}

#[tokio::test(start_paused = true)]
async fn a_restarted_router_resumes_from_the_store_without_duplicates() {
    let start = Instant::now();
    let store = Arc::new(MemoryStore::new());
    let rec = Rec::new("rec", start);
    let make = || restartable(&rec, one_minute_ticks("team"), &store, start);
    let first = make().build().await.unwrap();
    first.send(alert(Error, "X", &[])).await.unwrap();
    first.send(alert(Error, "Y", &[])).await.unwrap();
    at(start, 40).await;
    assert_eq!(rec.lines().len(), 2);
    first.shutdown(s(1)).await;
    drop(first);
    let second = make().build().await.unwrap();
    assert_eq!(
        second.alerts(&AlertFilter::default()).len(),
        2,
        "alerts restored"
    );
    at(start, 200).await;
    assert_eq!(
        rec.lines().len(),
        2,
        "no duplicate after restart: {:?}",
        rec.lines()
    );
    second
        .send(alert(Error, "X", &[]).resolved_at(second.now()))
        .await
        .unwrap();
    at(start, 300).await;
    let lines = rec.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[2].contains("update#") && lines[2].ends_with("X=resolved"),
        "{lines:?}"
    );
    second.shutdown(s(1)).await;
}

/// An idle group is not rewritten at every `group_interval` tick: its record is
/// written at its first flush only. Restored after a restart with
/// that record, it flushes at once without a duplicate, and it keeps `flushed`: a
/// new alert waits for `group_interval`, not `group_wait`.
#[tokio::test(start_paused = true)]
async fn idle_groups_are_not_rewritten_at_every_tick() {
    let start = Instant::now();
    let store = Arc::new(MemoryStore::new());
    let rec = Rec::new("rec", start);
    let route = || one_minute_ticks("team").group_by(["model"]);
    let make = || restartable(&rec, route(), &store, start);
    let first = make().build().await.unwrap();
    first
        .send(alert(Error, "X", &[("model", "m")]))
        .await
        .unwrap();
    at(start, 40).await;
    assert_eq!(rec.lines().len(), 1);
    let after_first = store.load().await.unwrap().groups;
    assert_eq!(after_first.len(), 1);
    assert!(after_first[0].flushed);
    // Six more ticks (at 90, 150, ... 390 s): nothing changed, nothing written.
    at(start, 400).await;
    assert_eq!(store.load().await.unwrap().groups, after_first);
    assert_eq!(rec.lines().len(), 1, "{:?}", rec.lines());
    first.shutdown(s(1)).await;
    drop(first);

    let second = make().build().await.unwrap();
    at(start, 401).await;
    assert_eq!(rec.lines().len(), 1, "no duplicate: {:?}", rec.lines());
    // The restored group has flushed: a new alert goes out at the next tick (60 s
    // after the restart's flush), not after a new group_wait.
    second
        .send(alert(Error, "Y", &[("model", "m")]))
        .await
        .unwrap();
    at(start, 440).await;
    assert_eq!(
        rec.lines().len(),
        1,
        "waits for group_interval: {:?}",
        rec.lines()
    );
    at(start, 462).await;
    let lines = rec.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("Y=firing"), "{lines:?}");
    second.shutdown(s(1)).await;
}

/// A group is not written before its first flush: its members' records say when
/// that is. Restarted during `group_wait`, the router flushes the group when it
/// would have without the restart, `group_wait` after its first alert arrived.
#[tokio::test(start_paused = true)]
async fn a_group_restored_before_its_first_flush_keeps_its_time() {
    let start = Instant::now();
    let store = Arc::new(MemoryStore::new());
    let rec = Rec::new("rec", start);
    let route = || one_minute_ticks("team").group_by(["model"]);
    let make = || restartable(&rec, route(), &store, start);
    let first = make().build().await.unwrap();
    first
        .send(alert(Error, "X", &[("model", "m")]))
        .await
        .unwrap();
    at(start, 10).await;
    first
        .send(alert(Error, "Y", &[("model", "m")]))
        .await
        .unwrap();
    at(start, 15).await;
    let snap = store.load().await.unwrap();
    assert_eq!(snap.alerts.len(), 2);
    assert!(snap.groups.is_empty(), "{:?}", snap.groups);
    // A crash: no graceful shutdown, which would flush the group now.
    drop(first);

    let second = make().build().await.unwrap();
    at(start, 29).await;
    assert!(rec.lines().is_empty(), "{:?}", rec.lines());
    at(start, 31).await;
    let lines = rec.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("30s ")
            && lines[0].contains("X=firing")
            && lines[0].contains("Y=firing"),
        "{lines:?}"
    );
    // Written at that flush, with the time the group was created.
    let groups = store.load().await.unwrap().groups;
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert!(groups[0].flushed);
    assert_eq!(groups[0].created_at, common::t0());
    second.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn time_windows_mute_and_activate_routes() {
    let start = Instant::now();
    let muted = Rec::new("muted", start);
    let office = Rec::new("office", start);
    // t0 is Tuesday 10:00Z (11:00 in Paris).
    let first_five_minutes = TimeInterval::try_from(TimeIntervalSpec {
        times: vec![TimeRangeSpec {
            start_time: "10:00".into(),
            end_time: "10:05".into(),
        }],
        ..TimeIntervalSpec::default()
    })
    .unwrap();
    let weekend = TimeInterval::try_from(TimeIntervalSpec {
        weekdays: vec!["saturday:sunday".into()],
        location: Some("Europe/Paris".into()),
        ..TimeIntervalSpec::default()
    })
    .unwrap();
    let router = build(
        Router::builder()
            .receiver(Receiver::new("muted").channel(muted.clone()))
            .receiver(Receiver::new("office").channel(office.clone()))
            .time_interval("maintenance", vec![first_five_minutes])
            .time_interval("weekend", vec![weekend])
            .route(
                one_minute_ticks("muted")
                    .route(
                        Route::new()
                            .when("team = ml")
                            .receiver("office")
                            .active_during("weekend")
                            .continue_matching(true),
                    )
                    .route(Route::new().mute_during("maintenance")),
            )
            .resolve_timeout(s(7200)),
    )
    .await;
    router
        .send(alert(Error, "X", &[("team", "ml")]))
        .await
        .unwrap();
    at(start, 400).await;
    // Muted until 10:05 (300s): first tick after it is 330s.
    assert_eq!(muted.lines(), ["330s group X=firing"]);
    // The office route is only active at weekends.
    assert_eq!(office.lines(), Vec::<String>::new());
    let s = router.stats();
    assert_eq!(
        (
            s.suppressed["mute_interval"],
            s.suppressed["inactive_interval"]
        ),
        (1, 1)
    );
    router.shutdown(Duration::from_secs(1)).await;
    settle().await;
}

// ----- rules in combination -----

/// Sends the fire/resolve storm of `flap_detection_on_a_fire_resolve_storm` for
/// each alert in `names`: a change every 20 s from 0 s to 140 s.
async fn storm(router: &Router, start: Instant, names: &[&str]) {
    for (secs, firing) in [
        (0, true),
        (20, false),
        (40, true),
        (60, false),
        (80, true),
        (100, false),
        (120, true),
        (140, false),
    ] {
        at(start, secs).await;
        for name in names {
            let a = alert(Error, name, &[]);
            let a = if firing {
                a
            } else {
                a.resolved_at(router.now())
            };
            router.send(a).await.unwrap();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn flapping_notices_obey_silences_inhibition_and_time_windows() {
    let start = Instant::now();
    let [silenced, inhibited, windowed, control, source] =
        ["silenced", "inhibited", "windowed", "control", "source"].map(|n| Rec::new(n, start));
    // t0 is 10:00Z: the maintenance window covers the whole test.
    let maintenance = TimeInterval::try_from(TimeIntervalSpec {
        times: vec![TimeRangeSpec {
            start_time: "10:00".into(),
            end_time: "11:00".into(),
        }],
        ..TimeIntervalSpec::default()
    })
    .unwrap();
    let to = |name: &str, receiver: &str| {
        Route::new()
            .when(&format!("alertname = {name}"))
            .receiver(receiver)
    };
    let router = build(
        Router::builder()
            .receiver(Receiver::new("silenced").channel(silenced.clone()))
            .receiver(Receiver::new("inhibited").channel(inhibited.clone()))
            .receiver(Receiver::new("windowed").channel(windowed.clone()))
            .receiver(Receiver::new("control").channel(control.clone()))
            .receiver(Receiver::new("source").channel(source.clone()))
            .time_interval("maintenance", vec![maintenance])
            .inhibit(InhibitRule::new(["alertname = Source"], ["alertname = Y"], [""; 0]).unwrap())
            .route(
                Route::to("silenced")
                    .group_by(["alertname"])
                    .group_wait(s(10))
                    .group_interval(s(60))
                    .route(to("Y", "inhibited"))
                    .route(to("W", "windowed").mute_during("maintenance"))
                    .route(to("V", "control"))
                    .route(to("Source", "source")),
            )
            .flap_control(FlapControl::new(4, s(600), s(300)))
            .resolve_timeout(s(7200)),
    )
    .await;
    router
        .create_silence(Silence::new(
            vec!["alertname = X".parse().unwrap()],
            "alice",
            "noisy",
        ))
        .await
        .unwrap();
    router.send(alert(Critical, "Source", &[])).await.unwrap();
    storm(&router, start, &["X", "Y", "W", "V"]).await;
    at(start, 600).await;
    // The same storm with nothing muting it: the notice and the final state.
    assert_eq!(
        control.lines(),
        [
            "10s group V=firing",
            "70s update#1 V=resolved",
            "80s notify V=firing(flapping)",
            "440s update#2 V=resolved",
        ]
    );
    assert_eq!(source.lines(), ["10s group Source=firing"]);
    // Silenced, inhibited or in a mute window: nothing at all, no flapping notice.
    assert_eq!(silenced.lines(), Vec::<String>::new());
    assert_eq!(inhibited.lines(), Vec::<String>::new());
    assert_eq!(windowed.lines(), Vec::<String>::new());
    // All four were recognised as flapping; one notice went out.
    assert_eq!(router.stats().flaps, 4);
    let log = router
        .notification_log(&{
            let mut q = LogQuery::default();
            q.kinds = vec![LogKind::Flapping];
            q
        })
        .await
        .unwrap();
    let receivers: Vec<&str> = log.iter().map(|e| e.receiver.as_str()).collect();
    assert_eq!(receivers, ["control"]);
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn escalation_skips_steps_while_silenced_then_resumes() {
    let start = Instant::now();
    let team = Rec::new("team", start);
    let manager = Rec::new("manager", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(team.clone()))
            .receiver(Receiver::new("manager").channel(manager.clone()))
            .route(
                one_minute_ticks("team")
                    .repeat_interval(s(86_400))
                    .escalate(s(300), "manager")
                    .escalate(s(600), "manager")
                    .escalate(s(1200), "manager"),
            )
            .resolve_timeout(s(7200)),
    )
    .await;
    router
        .send(alert(Critical, "ModelDown", &[("model", "bikes")]))
        .await
        .unwrap();
    at(start, 100).await;
    // Silenced from 100 s to 1000 s: the steps at 300 s and 600 s are skipped.
    router
        .create_silence(
            Silence::new(vec!["model = bikes".parse().unwrap()], "alice", "on it")
                .between(router.now(), router.now().saturating_add(s(900))),
        )
        .await
        .unwrap();
    at(start, 1300).await;
    assert_eq!(team.lines(), ["30s group ModelDown=firing"]);
    assert_eq!(
        manager.lines(),
        ["1200s notify ModelDown=firing(escalated)"]
    );
    let stats = router.stats();
    assert_eq!((stats.escalations, stats.suppressed["silenced"]), (1, 1));
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn escalation_waits_for_the_routes_time_windows() {
    // 16:50Z on Tuesday 2026-11-24 is 17:50 in Paris.
    let base: Timestamp = "2026-11-24T16:50:00Z".parse().unwrap();
    let start = Instant::now();
    let team = Rec::new("team", start);
    let manager = Rec::new("manager", start);
    let office = TimeInterval::weekly("monday:friday", "09:00", "18:00", "Europe/Paris").unwrap();
    let evening = TimeInterval::weekly("monday:friday", "18:00", "24:00", "Europe/Paris").unwrap();
    let morning = TimeInterval::weekly("monday:friday", "00:00", "09:00", "Europe/Paris").unwrap();
    let router = Router::builder()
        .receiver(Receiver::new("team").channel(team.clone()))
        .receiver(Receiver::new("manager").channel(manager.clone()))
        .time_interval("office", vec![office])
        .time_interval("night", vec![evening, morning])
        .route(
            Route::to("team")
                .group_by(["alertname"])
                .group_wait(s(30))
                .group_interval(s(60))
                .repeat_interval(s(86_400))
                .escalate(s(900), "manager")
                .escalate(s(16 * 3600), "manager")
                .route(Route::new().when("alertname = A").active_during("office"))
                .route(Route::new().when("alertname = B").mute_during("night")),
        )
        .resolve_timeout(s(2 * 86_400))
        .clock(Arc::new(TokioClock::starting_at(base)))
        .build()
        .await
        .unwrap();
    router.send(alert(Critical, "A", &[])).await.unwrap();
    router.send(alert(Critical, "B", &[])).await.unwrap();
    at(start, 17 * 3600).await;
    let mut lines = team.lines();
    lines.sort();
    // Both go out at 17:50:30 Paris, inside office hours.
    assert_eq!(lines, ["30s group A=firing", "30s group B=firing"]);
    // 18:05 Paris: outside office hours / inside the night mute: no escalation.
    // 16 h after the start is 09:50 Wednesday in Paris: the second step goes out.
    let mut lines = manager.lines();
    lines.sort();
    assert_eq!(
        lines,
        [
            "57600s notify A=firing(escalated)",
            "57600s notify B=firing(escalated)"
        ]
    );
    let stats = router.stats();
    assert_eq!(
        (
            stats.escalations,
            stats.suppressed["inactive_interval"],
            stats.suppressed["mute_interval"]
        ),
        (2, 1, 1)
    );
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_silenced_alert_still_inhibits() {
    // As in Alertmanager: a silence mutes the source's notifications, not its
    // effect on other alerts.
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(one_minute_ticks("team").group_by(["alertname", "model"]))
            .inhibit(
                InhibitRule::new(
                    ["alertname = ModelDown", "severity = critical"],
                    ["severity = warning"],
                    ["model"],
                )
                .unwrap(),
            )
            .resolve_timeout(s(7200)),
    )
    .await;
    let id = router
        .create_silence(Silence::new(
            vec!["alertname = ModelDown".parse().unwrap()],
            "alice",
            "known outage",
        ))
        .await
        .unwrap();
    router
        .send(alert(Critical, "ModelDown", &[("model", "bikes")]))
        .await
        .unwrap();
    router
        .send(alert(Warning, "DataDrift", &[("model", "bikes")]))
        .await
        .unwrap();
    router
        .send(alert(Warning, "DataDrift", &[("model", "cars")]))
        .await
        .unwrap();
    at(start, 100).await;
    assert_eq!(rec.lines(), ["30s group DataDrift=firing"]);
    let muted = router.alerts(&AlertFilter {
        inhibited: Some(true),
        ..AlertFilter::default()
    });
    assert_eq!(muted.len(), 1);
    assert_eq!(&muted[0].alert.labels["model"], "bikes");
    assert_eq!(muted[0].silenced_by, Vec::<String>::new());
    // Expiring the silence lets ModelDown out at the next tick; the drift alert for
    // the same model stays inhibited.
    router.expire_silence(&id).await.unwrap();
    at(start, 200).await;
    assert_eq!(
        rec.lines(),
        ["30s group DataDrift=firing", "150s group ModelDown=firing"]
    );
    let stats = router.stats();
    assert_eq!(
        (stats.suppressed["silenced"], stats.suppressed["inhibited"]),
        (1, 1)
    );
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn keep_firing_for_keeps_short_blips_out_of_flap_detection() {
    let start = Instant::now();
    let x = Rec::new("x", start);
    let y = Rec::new("y", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("x").channel(x.clone()))
            .receiver(Receiver::new("y").channel(y.clone()))
            .route(one_minute_ticks("x").route(Route::new().when("alertname = Y").receiver("y")))
            .keep_firing_for(s(60))
            .flap_control(FlapControl::new(4, s(600), s(300)))
            .resolve_timeout(s(7200)),
    )
    .await;
    // X: every resolution is followed by a new firing within keep_firing_for, so
    // only the first firing and the last resolution (140 s + 60 s) are changes.
    // Y: resolutions last longer than keep_firing_for and count: changes at 0 s
    // (fired), 80 s (resolved at 20 s + 60 s), 100 s, 180 s and 200 s: the fifth
    // makes it flapping.
    let steps: [(u64, &str, bool); 12] = [
        (0, "X", true),
        (0, "Y", true),
        (20, "X", false),
        (20, "Y", false),
        (40, "X", true),
        (60, "X", false),
        (80, "X", true),
        (100, "X", false),
        (100, "Y", true),
        (120, "X", true),
        (120, "Y", false),
        (140, "X", false),
    ];
    for (secs, name, firing) in steps {
        at(start, secs).await;
        let a = alert(Error, name, &[]);
        let a = if firing {
            a
        } else {
            a.resolved_at(router.now())
        };
        router.send(a).await.unwrap();
    }
    at(start, 200).await;
    router.send(alert(Error, "Y", &[])).await.unwrap();
    at(start, 600).await;
    assert_eq!(
        x.lines(),
        ["30s group X=firing", "210s update#1 X=resolved"]
    );
    assert_eq!(
        y.lines(),
        [
            "30s group Y=firing",
            "90s update#1 Y=resolved",
            "130s group Y=firing",
            "190s update#3 Y=resolved",
            "200s notify Y=firing(flapping)",
            // Stable 300 s after its last change (200 s): its final state.
            "500s group Y=firing",
        ]
    );
    let stats = router.stats();
    assert_eq!((stats.flaps, stats.resolved), (1, 3));
    router.shutdown(s(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_groups_due_together_is_flushed_completely_and_once() {
    // 1,000 groups fall due at the same instant: the router works through them in
    // chunks, and every group is notified exactly once at its group_wait.
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(one_minute_ticks("team").group_by(["alertname", "seq"])),
    )
    .await;
    let burst: Vec<Alert> = (0..1000)
        .map(|i| alert(Warning, "DataDrift", &[("seq", &format!("{i:04}"))]))
        .collect();
    router.send_batch(burst).await.unwrap();
    at(start, 31).await;
    let lines = rec.lines();
    assert_eq!(lines.len(), 1000, "one notification per group");
    assert!(
        lines.iter().all(|l| l == "30s group DataDrift=firing"),
        "all at group_wait: {:?}",
        &lines[..3]
    );
    // Nothing more at the next group_interval ticks: nothing changed.
    at(start, 200).await;
    assert_eq!(rec.lines().len(), 1000);
}

#[tokio::test(start_paused = true)]
async fn refreshes_keep_the_first_start_and_are_stored_only_to_keep_the_expiry_covered() {
    // Prometheus and Alertmanager clients re-send a firing alert every evaluation.
    // The first `starts_at` is kept (Alertmanager's merge), and the stored record
    // is rewritten only when the expiry it implies would cover less than half of the
    // time left to the new expiry: with resolve_timeout 300 s and no ends_at, every
    // 150 s.
    let start = Instant::now();
    let store = Arc::new(MemoryStore::new());
    let rec = Rec::new("rec", start);
    let router = build(
        Router::builder()
            .store(store.clone())
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(one_minute_ticks("team"))
            .resolve_timeout(s(300)),
    )
    .await;
    let stored = || async {
        let snap = store.load().await.unwrap();
        assert_eq!(snap.alerts.len(), 1);
        let r = &snap.alerts[0];
        (
            r.updated_at.duration_since(common::t0()).as_secs(),
            r.alert
                .starts_at
                .map(|t| t.duration_since(common::t0()).as_secs()),
        )
    };
    let mut seen = Vec::new();
    for k in 0..=20u64 {
        at(start, k * 10).await;
        let a = alert(Warning, "DataDrift", &[("model", "bikes")])
            .with_starts_at(common::t0().saturating_add(s(k * 10)));
        router.send(a).await.unwrap();
        settle().await;
        seen.push(stored().await);
    }
    // (updated_at of the stored record, its starts_at), after each send at 0, 10, ...
    let expected: Vec<(u64, Option<u64>)> = (0..=20u64)
        .map(|k| if k < 15 { (0, Some(0)) } else { (150, Some(0)) })
        .collect();
    assert_eq!(seen, expected);
    // The alert as the router shows it carries the first start.
    let active = router.alerts(&AlertFilter::default());
    assert_eq!(
        active[0].alert.starts_at,
        Some(common::t0()),
        "the first start is kept"
    );
    // A change other than the times is stored at once.
    router
        .send(
            alert(Warning, "DataDrift", &[("model", "bikes")])
                .with_summary("drift grew")
                .with_starts_at(common::t0().saturating_add(s(205))),
        )
        .await
        .unwrap();
    settle().await;
    let snap = store.load().await.unwrap();
    assert_eq!(snap.alerts[0].alert.summary, "drift grew");
    assert_eq!(
        snap.alerts[0]
            .updated_at
            .duration_since(common::t0())
            .as_secs(),
        200
    );
}

/// `group_by = ["..."]` groups by every label, `alertname` being the alert's name,
/// as its fingerprint does: a literal `alertname` in the labels (which the native
/// JSON can carry) is not a second one in the group's key.
#[tokio::test(start_paused = true)]
async fn grouping_by_every_label_names_alertname_once() {
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(one_minute_ticks("team").group_by(["..."])),
    )
    .await;
    let mut literal = alert(Critical, "ModelDown", &[("model", "bikes")]);
    literal.labels.insert("alertname", "Stale");
    router.send(literal).await.unwrap();
    router
        .send(alert(Critical, "ModelDown", &[("model", "bikes")]))
        .await
        .unwrap();
    at(start, 40).await;
    assert_eq!(rec.lines(), ["30s group ModelDown=firing"]);
    // The group's record is written at its first flush.
    let groups = router.store().load().await.unwrap().groups;
    let keys: Vec<&str> = groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, [r#"root:{alertname="ModelDown",model="bikes"}"#]);
    router.shutdown(s(1)).await;
}
