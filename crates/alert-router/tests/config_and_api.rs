//! Config files (parsing, errors with the key path, compiled-out channels, custom
//! channels) and the API the `alerts` service calls.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alert_core::Notifier;
use alert_core::Severity::{Critical, Error, Warning};
use alert_router::store::{LogKind, LogQuery};
use alert_router::{AlertFilter, Receiver, Route, Router, RouterConfig, RouterError, Silence};
use common::{Rec, alert, at, build};
use tokio::time::Instant;

const FULL: &str = r#"
resolve_timeout = "5m"
keep_firing_for = "2m"
retention = "30d"

[route]
receiver = "team"
group_by = ["alertname", "model"]
group_wait = "30s"
group_interval = "5m"
repeat_interval = "4h"

[[route.routes]]
name = "pages"
matchers = ["severity >= error", 'model =~ "bikes|cars"']
receiver = "oncall"
continue = true
escalate = [{ after = "15m", receiver = "manager" }]
actions = ["retrain"]
mute_time_intervals = ["weekends"]

[[receivers]]
name = "team"
channels = [{ type = "console", format = "json" }]

[[receivers]]
name = "oncall"
send_resolved = false
channels = [{ type = "custom", name = "pager" }]

[[receivers]]
name = "manager"
channels = [{ type = "console", app = "escalation", target = "stdout" }]

[[inhibit_rules]]
source_matchers = ["alertname = ModelDown", "severity = critical"]
target_matchers = ["severity = warning"]
equal = ["model"]

[[time_intervals]]
name = "weekends"
time_intervals = [{ weekdays = ["saturday:sunday"], location = "Europe/Paris" }]

[flap_detection]
transitions = 4
window = "10m"
stable_for = "10m"

[[actions]]
type = "command"
name = "retrain"
program = "/bin/true"
cooldown = "1h"
dry_run = true
"#;

fn pager(start: Instant) -> (Rec, HashMap<String, Arc<dyn Notifier>>) {
    let rec = Rec::new("pager", start);
    let mut m: HashMap<String, Arc<dyn Notifier>> = HashMap::new();
    m.insert("pager".into(), Arc::new(rec.clone()));
    (rec, m)
}

#[tokio::test(start_paused = true)]
async fn a_full_config_parses_validates_and_routes() {
    let cfg = RouterConfig::from_toml_str(FULL).unwrap();
    assert_eq!(cfg.receivers.len(), 3);
    assert_eq!(cfg.keep_firing_for, Some(Duration::from_secs(120)));
    let start = Instant::now();
    let (rec, custom) = pager(start);
    cfg.validate(&custom).unwrap();
    let router = build(
        Router::builder()
            .config(cfg)
            .custom_channel("pager", custom["pager"].clone()),
    )
    .await;
    assert_eq!(
        router.receivers(),
        [
            ("team".to_owned(), vec!["console".to_owned()]),
            ("oncall".to_owned(), vec!["pager".to_owned()]),
            ("manager".to_owned(), vec!["console".to_owned()]),
        ]
    );
    router
        .send(alert(Critical, "ModelDown", &[("model", "bikes")]))
        .await
        .unwrap();
    at(start, 40).await;
    assert_eq!(rec.lines(), ["30s group ModelDown=firing"]);
    // `pages` matched with `continue` and no later sibling matched, so the root does
    // not take the alert too (Alertmanager: the parent matches only when no child did).
    let view = &router.alerts(&AlertFilter::default())[0];
    assert_eq!(view.receivers, ["oncall"]);
    assert_eq!(
        view.groups,
        [r#"pages:{alertname="ModelDown",model="bikes"}"#]
    );
    // The dry-run action was recorded in the log.
    let log = router
        .notification_log(&{
            let mut q = LogQuery::default();
            q.kinds = vec![LogKind::Action];
            q
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].detail, "retrain (dry run)");
    router.shutdown(Duration::from_secs(1)).await;
}

#[test]
fn parse_errors_name_the_key_path_line_and_column() {
    for (text, path, needle, line) in [
        (
            "[route]\nreciever = \"x\"\n",
            "route.reciever",
            "unknown field `reciever`",
            Some(2),
        ),
        (
            "[[receivers]]\nname = \"a\"\nchannels = [{ type = \"console\", colour = \"red\" }]\n",
            "receivers[0].channels[0]",
            "unknown field `colour`",
            Some(3),
        ),
        (
            "[[receivers]]\nname = \"a\"\nchannels = [{ type = \"pigeon\" }]\n",
            "receivers[0].channels[0].type",
            "unknown variant `pigeon`",
            Some(3),
        ),
        (
            "[route]\nreceiver = \"a\"\n[[route.routes]]\nmatchers = [\"severity >= huge\"]\n",
            "route.routes[0].matchers[0]",
            "unknown severity \"huge\"",
            Some(4),
        ),
        (
            "[route]\ngroup_wait = \"30 parsecs\"\n",
            "route.group_wait",
            "invalid duration",
            Some(2),
        ),
        (
            "[[time_intervals]]\nname = \"w\"\ntime_intervals = [{ weekdays = [\"funday\"] }]\n",
            "time_intervals[0].time_intervals[0]",
            "weekdays",
            Some(3),
        ),
        ("route = [", ".", "", Some(1)),
    ] {
        let e = RouterConfig::from_toml_str(text).unwrap_err();
        assert_eq!(e.path, path, "{text}: {e}");
        assert!(e.message.contains(needle), "{text}: {e}");
        assert_eq!(e.line, line, "{text}: {e}");
        assert!(e.column.is_some(), "{text}: {e}");
    }
    let e =
        RouterConfig::from_json_str(r#"{"receivers": [{"name": "a", "channels": [], "x": 1}]}"#)
            .unwrap_err();
    assert_eq!(e.path, "receivers[0].x");
    assert!(e.message.contains("unknown field `x`"), "{e}");
}

async fn build_err(text: &str, custom: Option<Arc<dyn Notifier>>) -> String {
    let cfg = RouterConfig::from_toml_str(text).unwrap();
    let mut b = Router::builder().config(cfg);
    if let Some(c) = custom {
        b = b.custom_channel("pager", c);
    }
    match b.build().await {
        Err(RouterError::Build(e)) => e.to_string(),
        other => panic!("expected a build error, got {other:?}"),
    }
}

#[tokio::test]
async fn build_errors_name_the_key() {
    let e = build_err(
        "[route]\nreceiver = \"a\"\n[[route.routes]]\nreceiver = \"nobody\"\n[[receivers]]\nname = \"a\"\n",
        None,
    )
    .await;
    assert_eq!(
        e,
        "invalid configuration for `route.routes[0].receiver`: no receiver named `nobody`"
    );
    let e = build_err(
        "[[receivers]]\nname = \"a\"\nchannels = [{ type = \"custom\", name = \"pagr\" }]\n",
        None,
    )
    .await;
    assert_eq!(
        e,
        "invalid configuration for `receivers[0].channels[0].name`: no custom channel `pagr` was registered in code"
    );
    let e = build_err(
        "[[receivers]]\nname = \"a\"\n[[receivers]]\nname = \"a\"\n",
        None,
    )
    .await;
    assert_eq!(
        e,
        "invalid configuration for `receivers[1].name`: receiver `a` is defined twice"
    );
    let e = build_err(
        "[[receivers]]\nname = \"a\"\n[route]\nreceiver = \"a\"\nactions = [\"retrain\"]\n",
        None,
    )
    .await;
    assert_eq!(
        e,
        "invalid configuration for `route.actions[0]`: no action named `retrain`"
    );
    let e = build_err(
        "[[receivers]]\nname = \"a\"\nchannels = [{ type = \"console\", target = \"printer\" }]\n",
        None,
    )
    .await;
    assert_eq!(
        e,
        "invalid configuration for `receivers[0].channels[0].target`: expected `stderr` or `stdout`, not \"printer\""
    );
}

#[cfg(not(feature = "slack"))]
#[tokio::test]
async fn a_compiled_out_channel_names_its_feature() {
    let cfg = RouterConfig::from_toml_str(
        "[[receivers]]\nname = \"a\"\nchannels = [{ type = \"slack\", webhook_url = \"https://hooks.slack.com/services/x\" }]\n",
    )
    .unwrap();
    let e = Router::from_config(cfg).await.unwrap_err();
    match e {
        RouterError::Build(alert_core::BuildError::MissingFeature { channel, feature }) => {
            assert_eq!((channel.as_str(), feature.as_str()), ("slack", "slack"));
        }
        other => panic!("{other:?}"),
    }
}

#[cfg(feature = "webhook")]
#[tokio::test]
async fn a_compiled_in_channel_builds_from_config() {
    let cfg = RouterConfig::from_toml_str(
        "[[receivers]]\nname = \"a\"\nchannels = [{ type = \"webhook\", url = \"http://127.0.0.1:9/hook\" }]\n",
    )
    .unwrap();
    let router = Router::from_config(cfg).await.unwrap();
    assert_eq!(
        router.receivers(),
        [("a".to_owned(), vec!["webhook".to_owned()])]
    );
    router.shutdown(Duration::from_millis(10)).await;
}

#[tokio::test(start_paused = true)]
async fn listing_filters_stats_and_the_log() {
    let start = Instant::now();
    let team = Rec::new("team", start);
    let ops = Rec::new("ops", start);
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(team.clone()))
            .receiver(Receiver::new("ops").channel(ops.clone()))
            .route(
                Route::to("team")
                    .group_by(["alertname"])
                    .route(Route::new().when("severity >= error").receiver("ops")),
            ),
    )
    .await;
    router
        .send_batch(vec![
            alert(Critical, "ModelDown", &[("model", "bikes")]),
            alert(Warning, "DataDrift", &[("model", "bikes")]),
            alert(Warning, "DataDrift", &[("model", "bikes")]),
            alert(Error, "ErrorRate", &[("model", "cars")]),
        ])
        .await
        .unwrap();
    let all = router.alerts(&AlertFilter::default());
    let names: Vec<&str> = all.iter().map(|v| v.alert.name.as_str()).collect();
    assert_eq!(
        names,
        ["ModelDown", "ErrorRate", "DataDrift"],
        "highest severity first"
    );
    let ops_only = router.alerts(&AlertFilter {
        receiver: Some("ops".into()),
        ..AlertFilter::default()
    });
    assert_eq!(ops_only.len(), 2);
    let bikes = router.alerts(&AlertFilter {
        matchers: vec!["model = bikes".parse().unwrap()],
        ..AlertFilter::default()
    });
    assert_eq!(bikes.len(), 2);
    router
        .create_silence(Silence::new(
            vec!["alertname = DataDrift".parse().unwrap()],
            "bob",
            "noisy",
        ))
        .await
        .unwrap();
    let silenced = router.alerts(&AlertFilter {
        silenced: Some(true),
        ..AlertFilter::default()
    });
    assert_eq!(silenced.len(), 1);
    assert_eq!(silenced[0].silenced_by.len(), 1);
    router.ack(all[0].fingerprint, "alice", "").await.unwrap();
    let acked = router.alerts(&AlertFilter {
        acked: Some(true),
        ..AlertFilter::default()
    });
    assert_eq!(acked[0].ack.as_ref().map(|a| a.by.as_str()), Some("alice"));
    at(start, 40).await;
    let s = router.stats();
    assert_eq!((s.received, s.active_alerts, s.fired), (4, 3, 3));
    assert_eq!(s.suppressed["dedup"], 1);
    assert_eq!(s.suppressed["silenced"], 1);
    assert_eq!(s.notifications, 2);
    assert_eq!(s.groups, 3);
    let log = router
        .notification_log(&{
            let mut q = LogQuery::default();
            q.receiver = Some("ops".into());
            q
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|e| e.kind == LogKind::Notified && e.notification_id.is_some())
    );
    // `alerts test RECEIVER` sends straight through the receiver's channels.
    let results = router
        .test_receiver("team", &alert(Warning, "Test", &[]))
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].1.is_ok());
    assert!(matches!(
        router
            .test_receiver("nobody", &alert(Warning, "Test", &[]))
            .await,
        Err(RouterError::NotFound {
            what: "receiver",
            ..
        })
    ));
    router.shutdown(Duration::from_secs(1)).await;
    assert!(matches!(
        router.send(alert(Warning, "Late", &[])).await,
        Err(RouterError::ShutDown)
    ));
}

#[tokio::test(start_paused = true)]
async fn flush_sends_pending_groups_at_once_for_short_lived_jobs() {
    let start = Instant::now();
    let rec = Rec::new("rec", start);
    let router = build(Router::builder().receiver(Receiver::new("me").channel(rec.clone()))).await;
    router
        .send(alert(
            alert_core::Severity::Info,
            "TrainingComplete",
            &[("model", "bikes")],
        ))
        .await
        .unwrap();
    assert!(router.flush(Duration::from_secs(5)).await.unwrap());
    assert_eq!(rec.lines(), ["0s group TrainingComplete=firing"]);
    router.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_store_that_is_down_fails_send_with_a_clear_error_and_loses_nothing() {
    let store = Arc::new(alert_router::MemoryStore::new());
    let router = Router::builder()
        .receiver(
            Receiver::new("me").channel(alert_core::ConsoleNotifier::new("t", std::io::sink())),
        )
        .store(store.clone())
        .build()
        .await
        .unwrap();
    store.set_unavailable(true);
    let e = router.send(alert(Error, "X", &[])).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "store `memory` unavailable: set unavailable for a test"
    );
    // Silences are written before they take effect: refused, nothing changed.
    let silence = Silence::new(vec!["alertname = X".parse().unwrap()], "ops", "");
    assert!(router.create_silence(silence).await.is_err());
    assert!(router.silences().is_empty());
    store.set_unavailable(false);
    // The retry is a duplicate, and the refused batch is written with it.
    router.send(alert(Error, "X", &[])).await.unwrap();
    let snap = alert_router::Store::load(&*store).await.unwrap();
    assert_eq!(
        snap.alerts.len(),
        1,
        "the alert reached the store once it was back"
    );
    assert_eq!(router.stats().suppressed["dedup"], 1);
    router.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(start_paused = true)]
async fn testkit_recorder_sees_one_group_notification_with_the_evidence() {
    use alert_core::{Evidence, Source};
    use alert_testkit::{Call, MemoryNotifier};
    let mem = MemoryNotifier::new("mem");
    let router = build(
        Router::builder()
            .receiver(Receiver::new("team").channel(mem.clone()))
            .route(Route::to("team").group_by(["model"])),
    )
    .await;
    let drift = |feature: &str, p: f64| {
        alert(
            Warning,
            "DataDrift",
            &[("model", "bikes"), ("feature", feature)],
        )
        .with_evidence(Evidence::metric(feature).test("ks", 0.3).p_value(p))
        .with_source(Source::model("bikes").version("3"))
    };
    router
        .send_batch(vec![drift("age", 0.001), drift("hour", 0.004)])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(31)).await;
    common::settle().await;
    let calls = mem.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let Call::Group(alerts) = &calls[0] else {
        panic!("expected one group call, got {calls:?}");
    };
    let features: Vec<&str> = alerts.iter().map(|a| &a.labels["feature"]).collect();
    assert_eq!(features, ["age", "hour"]);
    assert_eq!(alerts[0].evidence.p_value, Some(0.001));
    assert_eq!(alerts[1].source.version.as_deref(), Some("3"));
    router.shutdown(Duration::from_secs(1)).await;
}

#[test]
fn the_router_is_send_sync_and_cheap_to_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Router>();
}
