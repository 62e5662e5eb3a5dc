//! Each noise-control rule on a paused clock, with the expected calls written out.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alert_core::Severity::{Critical, Error, Info, Warning};
use alert_core::{Alert, Timestamp};
use alert_router::store::{ActionOutcome, ActionQuery, LogKind, LogQuery};
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
    assert_eq!(inhibited[0].alert.labels["model"], "bikes");
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
                "2026-05-01T00:00:00Z".parse().unwrap(),
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
        "no repeat at 630s or 1230s once acked"
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
            Ok::<_, ActionError>(format!("retraining {}", a.labels["model"]))
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
                one_minute_ticks("team")
                    .repeat_interval(s(120))
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

#[tokio::test(start_paused = true)]
async fn a_restarted_router_resumes_from_the_store_without_duplicates() {
    let start = Instant::now();
    let store = Arc::new(MemoryStore::new());
    let rec = Rec::new("rec", start);
    let make = || {
        Router::builder()
            .receiver(Receiver::new("team").channel(rec.clone()))
            .route(one_minute_ticks("team").repeat_interval(s(3600)))
            .store(store.clone())
            .resolve_timeout(s(7200))
            .clock(Arc::new(TokioClock::starting_at(
                common::t0().saturating_add(start.elapsed()),
            )))
    };
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
