//! Alerts in (native, Alertmanager API v2, Alertmanager webhook), notifications out;
//! grouping, silences, acknowledgement and escalation over the API.

use std::time::Duration;

use alert_webhook::fake::FakeWebhook;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Service, Workdir, bodies, eventually, hook_config, names};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_alerts_one_and_a_batch_reach_the_webhook() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
    )
    .await;

    let one = json!({
        "name": "AccuracyDrop", "severity": "critical",
        "summary": "accuracy fell to 0.71", "message": "below the 0.80 floor",
        "labels": {"model": "bikes"},
        "evidence": {"metric": "accuracy", "observed": 0.71, "threshold": 0.8},
        "source": {"model": "bikes", "version": "7"}
    });
    let (status, body) = svc.post("/api/v1/alerts", &one).await;
    assert_eq!((status, body), (202, json!({"accepted": 1})));

    let batch = json!([
        {"name": "DataDrift", "severity": "warning", "labels": {"model": "bikes", "feature": "temp"}},
        {"name": "ServingErrors", "severity": "error", "labels": {"model": "bikes"}}
    ]);
    let (status, body) = svc.post("/api/v1/alerts", &batch).await;
    assert_eq!((status, body), (202, json!({"accepted": 2})));

    assert_eq!(sink.wait_for_distinct(3, WAIT).await, 3, "{}", svc.log());
    let bodies = bodies(&sink);
    assert_eq!(bodies.len(), 3, "one notification per alertname group");
    let mut all: Vec<String> = bodies.iter().flat_map(names).collect();
    all.sort();
    assert_eq!(all, ["AccuracyDrop", "DataDrift", "ServingErrors"]);
    let acc = bodies
        .iter()
        .find(|b| names(b) == ["AccuracyDrop"])
        .expect("AccuracyDrop body");
    assert_eq!(acc["version"], "1");
    assert_eq!(acc["status"], "firing");
    let a = &acc["alerts"][0];
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["summary"], "accuracy fell to 0.71");
    assert_eq!(a["labels"]["model"], "bikes");
    assert_eq!(a["evidence"]["observed"], 0.71);
    assert_eq!(a["source"]["version"], "7");

    // The active alerts, with the fingerprints the sink saw.
    let (status, active) = svc.get("/api/v1/alerts").await;
    assert_eq!(status, 200);
    let active = active.as_array().expect("array").clone();
    assert_eq!(active.len(), 3);
    let fp = active
        .iter()
        .find(|v| v["alert"]["name"] == "AccuracyDrop")
        .expect("listed")["fingerprint"]
        .clone();
    assert_eq!(fp, a["fingerprint"]);
    let (status, filtered) = svc.get("/api/v1/alerts?filter=severity%3E%3Derror").await;
    assert_eq!(status, 200);
    let mut got: Vec<&str> = filtered
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["alert"]["name"].as_str().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, ["AccuracyDrop", "ServingErrors"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_v2_and_webhook_v4_bodies_are_understood() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
    )
    .await;

    // What Prometheus sends (postableAlerts), including fields we do not use.
    let prom = json!([{
        "labels": {"alertname": "HighErrorRate", "severity": "critical", "model": "bikes",
                   "env": "prod", "instance": "serving-1:9090"},
        "annotations": {"summary": "5xx above 5%", "description": "errors rising",
                        "runbook_url": "https://runbooks.example/5xx"},
        "startsAt": "2026-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "unknownFutureField": true
    }]);
    let (status, body) = svc.post("/api/v2/alerts", &prom).await;
    assert_eq!(
        (status, body),
        (200, Value::Null),
        "Alertmanager answers 200, empty"
    );
    assert_eq!(sink.wait_for_distinct(1, WAIT).await, 1, "{}", svc.log());
    let b = &bodies(&sink)[0];
    let a = &b["alerts"][0];
    assert_eq!(a["name"], "HighErrorRate");
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["summary"], "5xx above 5%");
    assert_eq!(a["message"], "errors rising");
    assert_eq!(a["labels"]["instance"], "serving-1:9090");
    assert_eq!(a["labels"]["severity"], "critical");
    assert!(a["labels"].get("alertname").is_none());
    assert_eq!(
        a["annotations"]["generator_url"],
        "http://prometheus:9090/graph?g0.expr=x"
    );
    assert_eq!(
        a["annotations"]["runbook_url"],
        "https://runbooks.example/5xx"
    );
    assert_eq!(a["source"]["model"], "bikes");
    assert_eq!(a["source"]["environment"], "prod");
    assert_eq!(a["starts_at"], "2026-01-01T00:00:00Z");
    // Alertmanager's fingerprint: FNV-1a 64 over the sorted label set.
    let expected = alert_core::Fingerprint::of_sorted_labels([
        ("alertname", "HighErrorRate"),
        ("env", "prod"),
        ("instance", "serving-1:9090"),
        ("model", "bikes"),
        ("severity", "critical"),
    ]);
    assert_eq!(a["fingerprint"], expected.to_string());

    // The same alert resolved (endsAt in the past) gives a resolved notification.
    let mut resolved = prom.clone();
    resolved[0]["endsAt"] = json!("2026-01-01T00:10:00Z");
    assert_eq!(svc.post("/api/v2/alerts", &resolved).await.0, 200);
    eventually(WAIT, "the resolved notification", || async {
        bodies(&sink)
            .iter()
            .any(|b| b["status"] == "resolved" && names(b) == ["HighErrorRate"])
            .then_some(())
    })
    .await;

    // An Alertmanager forwarding to us (webhook payload version 4).
    let v4 = json!({
        "version": "4", "groupKey": "{}:{alertname=\"Drift\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "ml-team",
        "groupLabels": {"alertname": "Drift"}, "commonLabels": {"alertname": "Drift"},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "Drift", "severity": "warning", "feature": "temp"},
             "annotations": {"summary": "temp drifted"}, "startsAt": "2026-01-01T00:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "abc"},
            {"status": "firing", "labels": {"alertname": "Drift", "severity": "warning", "feature": "hum"},
             "annotations": {}, "startsAt": "2026-01-01T00:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "def"}
        ]
    });
    let (status, body) = svc.post("/api/v1/alertmanager", &v4).await;
    assert_eq!((status, body), (200, json!({"accepted": 2})));
    let drift = eventually(WAIT, "the Drift notification", || async {
        bodies(&sink)
            .into_iter()
            .find(|b| b["alerts"][0]["name"] == "Drift")
    })
    .await;
    assert_eq!(
        drift["alerts"].as_array().unwrap().len(),
        2,
        "one group, two alerts"
    );
    assert_eq!(
        drift["alerts"][0]["ends_at"],
        Value::Null,
        "the zero time is no end"
    );

    let metrics = svc.metrics().await;
    for line in [
        "alerts_received_total{endpoint=\"alertmanager_v2\"} 2",
        "alerts_received_total{endpoint=\"alertmanager_webhook\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

/// Alerts posted in separate requests inside `group_wait` go out together. The
/// group_wait is an hour, so no request can be late: shutdown flushes the groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_posted_apart_inside_group_wait_go_out_together() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(&w, &hook_config(&sink.url(), r#"["model"]"#, "1h", "")).await;

    // Three alerts for bikes in three requests, one for cars.
    for name in ["A", "B", "C"] {
        let a = json!({"name": name, "severity": "warning", "labels": {"model": "bikes"}});
        assert_eq!(svc.post("/api/v1/alerts", &a).await.0, 202);
    }
    let a = json!({"name": "D", "severity": "warning", "labels": {"model": "cars"}});
    assert_eq!(svc.post("/api/v1/alerts", &a).await.0, 202);
    let (_, groups) = svc.get("/api/v1/alerts").await;
    assert_eq!(groups.as_array().map(Vec::len), Some(4));
    assert_eq!(
        sink.requests(),
        0,
        "group_wait is an hour: nothing sent yet"
    );

    // SIGTERM sends every pending group before exiting: one body per group.
    let (status, log) = svc.terminate(WAIT).await;
    assert!(status.success(), "{log}");
    assert_eq!(sink.requests(), 2, "{log}");
    let mut got: Vec<Vec<String>> = bodies(&sink).iter().map(names).collect();
    got.sort();
    assert_eq!(got, [vec!["A", "B", "C"], vec!["D"]]);
}

/// After the first notification, a group is sent again at `group_interval` when it
/// changed (with the whole group), and not for duplicates. Every step waits for an
/// event, never for a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_interval_sends_changed_groups_whole_and_duplicates_nothing() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(&w, &hook_config(&sink.url(), r#"["model"]"#, "100ms", "")).await;

    // One request: the alerts reach the router together, whatever the machine's load.
    let first = json!([
        {"name": "A", "severity": "warning", "labels": {"model": "bikes"}},
        {"name": "B", "severity": "warning", "labels": {"model": "bikes"}},
        {"name": "C", "severity": "warning", "labels": {"model": "bikes"}},
        {"name": "D", "severity": "warning", "labels": {"model": "cars"}}
    ]);
    assert_eq!(svc.post("/api/v1/alerts", &first).await.0, 202);
    assert_eq!(sink.wait_for_requests(2, WAIT).await, 2);
    let mut got: Vec<Vec<String>> = bodies(&sink).iter().map(names).collect();
    got.sort();
    assert_eq!(got, [vec!["A", "B", "C"], vec!["D"]]);

    // A new alert in the bikes group: one more notification at the next
    // group_interval, with the whole group.
    let e = json!({"name": "E", "severity": "warning", "labels": {"model": "bikes"}});
    assert_eq!(svc.post("/api/v1/alerts", &e).await.0, 202);
    assert_eq!(sink.wait_for_requests(3, WAIT).await, 3);
    assert_eq!(names(&bodies(&sink)[2]), ["A", "B", "C", "E"]);

    // The same alerts again: counted as duplicates when received ...
    let again = json!([
        {"name": "A", "severity": "warning", "labels": {"model": "bikes"}},
        {"name": "D", "severity": "warning", "labels": {"model": "cars"}}
    ]);
    assert_eq!(svc.post("/api/v1/alerts", &again).await.0, 202);
    eventually(WAIT, "two duplicates counted", || async {
        svc.metrics()
            .await
            .contains("alerts_suppressed_total{reason=\"dedup\"} 2")
            .then_some(())
    })
    .await;
    // ... and they change nothing: the next bikes notification is the one a new
    // alert makes, and it is the fourth.
    let f = json!({"name": "F", "severity": "warning", "labels": {"model": "bikes"}});
    assert_eq!(svc.post("/api/v1/alerts", &f).await.0, 202);
    assert_eq!(sink.wait_for_requests(4, WAIT).await, 4);
    assert_eq!(names(&bodies(&sink)[3]), ["A", "B", "C", "E", "F"]);
    assert_eq!(sink.requests(), 4, "duplicates sent nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_are_created_listed_and_expired_over_the_api() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
    )
    .await;

    let (status, created) = svc
        .post(
            "/api/v1/silences",
            &json!({"matchers": ["model = cars", "severity <= warning"], "duration": "1h",
                    "created_by": "ops", "comment": "cars retraining"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, list) = svc.get("/api/v1/silences").await;
    assert_eq!(status, 200);
    let listed = &list.as_array().expect("array")[0];
    assert_eq!(listed["id"], id.as_str());
    assert_eq!(listed["state"], "active");
    assert_eq!(listed["created_by"], "ops");
    let (status, one) = svc.get(&format!("/api/v1/silences/{id}")).await;
    assert_eq!((status, &one["id"]), (200, &json!(id)));

    let alerts = json!([
        {"name": "CarsDrift", "severity": "warning", "labels": {"model": "cars"}},
        {"name": "BikesDrift", "severity": "warning", "labels": {"model": "bikes"}}
    ]);
    assert_eq!(svc.post("/api/v1/alerts", &alerts).await.0, 202);
    assert_eq!(sink.wait_for_requests(1, WAIT).await, 1);
    // The group of the silenced alert was flushed too, and held back.
    eventually(WAIT, "the silenced alert counted", || async {
        svc.metrics()
            .await
            .contains("alerts_suppressed_total{reason=\"silenced\"} 1")
            .then_some(())
    })
    .await;
    let sent: Vec<Vec<String>> = bodies(&sink).iter().map(names).collect();
    assert_eq!(
        sent,
        [vec!["BikesDrift"]],
        "the silenced alert is held back"
    );
    let (_, silenced) = svc.get("/api/v1/alerts?silenced=true").await;
    let silenced = silenced.as_array().unwrap();
    assert_eq!(silenced.len(), 1);
    assert_eq!(silenced[0]["alert"]["name"], "CarsDrift");
    assert_eq!(silenced[0]["silenced_by"], json!([id]));

    // Expire it: the alert, still firing, goes out at the next flush.
    let (status, body) = svc
        .call(Method::DELETE, &format!("/api/v1/silences/{id}"), None)
        .await;
    assert_eq!((status, body), (200, json!({"expired": id})));
    let (_, one) = svc.get(&format!("/api/v1/silences/{id}")).await;
    assert_eq!(one["state"], "expired");
    assert_eq!(sink.wait_for_requests(2, WAIT).await, 2, "{}", svc.log());
    assert_eq!(names(&bodies(&sink)[1]), ["CarsDrift"]);

    // Unknown ids and bad matchers are named.
    let (status, body) = svc
        .call(Method::DELETE, "/api/v1/silences/nope", None)
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = svc
        .post(
            "/api/v1/silences",
            &json!({"matchers": ["model ~~ cars"], "duration": "1h", "created_by": "ops"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "$.matchers[0]");
    let (status, body) = svc
        .post(
            "/api/v1/silences",
            &json!({"matchers": ["model = cars"], "created_by": "ops"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "$.ends_at");
}

/// Both alerts arrive in one request, so their escalations fall due at the same
/// instant and are decided in the same pass: the acknowledged one must not
/// escalate, the other must. The escalation is 20 s after firing, so the ack (a few
/// requests after the first notification) lands in time even on a loaded machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_stops_escalation() {
    let sink = FakeWebhook::start().await.unwrap();
    let boss = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let extra = format!(
        r#"
[[route.routes]]
matchers = ["severity = critical"]
receiver = "hook"
escalate = [{{ after = "20s", receiver = "manager" }}]

[[receivers]]
name = "manager"
channels = [{{ type = "webhook", url = "{}/boss" }}]
"#,
        boss.url()
    );
    let svc = Service::start(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", &extra),
    )
    .await;
    let alerts = json!([
        {"name": "ModelDown", "severity": "critical", "labels": {"model": "bikes"}},
        {"name": "ModelDown", "severity": "critical", "labels": {"model": "cars"}}
    ]);
    assert_eq!(svc.post("/api/v1/alerts", &alerts).await.0, 202);
    assert_eq!(sink.wait_for_distinct(2, WAIT).await, 2);
    let (_, active) = svc.get("/api/v1/alerts?filter=model%3Dbikes").await;
    let fp = active[0]["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();

    let (status, body) = svc
        .post(
            &format!("/api/v1/alerts/{fp}/ack"),
            &json!({"by": "alice", "comment": "rolling back"}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"acknowledged": fp})));
    let (_, acked) = svc.get("/api/v1/alerts?acked=true").await;
    assert_eq!(acked.as_array().unwrap().len(), 1);
    assert_eq!(acked[0]["ack"]["by"], "alice");
    // Nothing escalated before the ack was recorded (else the test proves nothing).
    let (_, escalated) = svc.get("/api/v1/notifications?kind=escalated").await;
    assert_eq!(escalated, json!([]), "escalated before the ack landed");

    // Only the unacknowledged alert escalates to the manager.
    assert_eq!(
        boss.wait_for_requests(1, Duration::from_secs(60)).await,
        1,
        "{}",
        svc.log()
    );
    let escalated: Vec<Value> = bodies(&boss);
    let labels: Vec<&Value> = escalated[0]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["labels"]["model"])
        .collect();
    assert_eq!(labels, [&json!("cars")]);
    // Both escalations were decided in that pass: the log has the one sent, and
    // nothing for the acknowledged alert.
    let (status, log) = svc.get("/api/v1/notifications?kind=escalated").await;
    assert_eq!(status, 200, "{log}");
    let escalated: Vec<&Value> = log
        .as_array()
        .expect("log")
        .iter()
        .flat_map(|e| e["firing"].as_array().expect("firing").iter())
        .collect();
    assert_eq!(escalated.len(), 1, "{log}");
    assert_ne!(escalated[0], &json!(fp), "{log}");

    // The log has the ack; bad fingerprints are named.
    let (status, log) = svc
        .get(&format!(
            "/api/v1/notifications?fingerprint={fp}&kind=acked"
        ))
        .await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log.as_array().map(Vec::len), Some(1), "{log}");
    let (status, body) = svc
        .post("/api/v1/alerts/xyz/ack", &json!({"by": "alice"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "fingerprint");
    let (status, body) = svc
        .post(&format!("/api/v1/alerts/{fp}/ack"), &json!({"by": ""}))
        .await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("$.by")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_status_and_metrics() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
    )
    .await;
    assert_eq!(svc.get("/healthz").await, (200, json!("ok")));
    assert_eq!(svc.get("/readyz").await, (200, json!("ready")));
    let (status, st) = svc.get("/api/v1/status").await;
    assert_eq!(status, 200);
    assert_eq!(st["store"], "sqlite");
    assert_eq!(st["auth"], false);

    let (status, recv) = svc.get("/api/v1/receivers").await;
    assert_eq!(status, 200);
    assert_eq!(recv[0]["name"], "hook");
    assert_eq!(recv[0]["channels"][0]["name"], "webhook");
    assert!(
        !recv.to_string().contains(&sink.url()),
        "the webhook URL is a secret: {recv}"
    );

    assert_eq!(
        svc.post("/api/v1/alerts", &json!({"name": "X", "severity": "info"}))
            .await
            .0,
        202
    );
    assert_eq!(
        svc.post("/api/v1/alerts", &json!({"nam": "X"})).await.0,
        400
    );
    assert_eq!(sink.wait_for_requests(1, WAIT).await, 1);
    let m = eventually(WAIT, "a delivered attempt in /metrics", || async {
        let m = svc.metrics().await;
        (m.contains("alerts_outbox_delivered_total 1")
            && m.contains("outcome=\"delivered\"} 1")
            && m.contains("alerts_outbox_in_flight 0"))
        .then_some(m)
    })
    .await;
    for line in [
        "alerts_received_total{endpoint=\"native\"} 1",
        "alerts_http_rejected_total{status=\"400\"} 1",
        "alerts_router_received_total 1",
        "alerts_active 1",
        "alerts_groups 1",
        "alerts_fired_total 1",
        "alerts_notifications_total 1",
        "alerts_outbox_queued 0",
        "alerts_outbox_gave_up_total 0",
        "alerts_outbox_failed_attempts_total 0",
        "alerts_suppressed_total{reason=\"silenced\"} 0",
        "alerts_delivery_attempts_total{receiver=\"hook\",channel=\"webhook\",outcome=\"delivered\"} 1",
        "alerts_delivery_latency_seconds_count{channel=\"webhook\"} 1",
        "alerts_channel_breaker_open{receiver=\"hook\",channel=\"webhook\"} 0",
    ] {
        assert!(m.contains(line), "{line:?} missing from\n{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_type_delivers_through_the_service() {
    let slack = alert_slack::fake::FakeSlack::start().await.unwrap();
    let discord = alert_discord::fake::FakeDiscord::start().await.unwrap();
    let datadog = alert_datadog::fake::FakeDatadog::start().await.unwrap();
    let statuspal = alert_statuspal::fake::FakeStatuspal::start().await.unwrap();
    let hook = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    // Secrets come from the environment, as in production.
    let config = format!(
        r#"
[storage]
backend = "sqlite"

[log]
level = "trace"

[route]
receiver = "everyone"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1s"

[[receivers]]
name = "everyone"
channels = [
  {{ type = "slack", webhook_url = "${{SLACK_URL}}" }},
  {{ type = "discord", webhook_url = "${{DISCORD_URL}}", api_base_url = "{discord_base}" }},
  {{ type = "datadog", api_key = "${{DD_KEY}}", base_url = "{dd_base}" }},
  {{ type = "statuspal", api_key = "${{SP_KEY}}", subdomain = "{sp_sub}", base_url = "{sp_base}" }},
  {{ type = "webhook", url = "{hook}/all", format = "alertmanager" }},
]
"#,
        discord_base = discord.url(),
        dd_base = datadog.url(),
        sp_sub = statuspal.subdomain(),
        sp_base = statuspal.base_url(),
        hook = hook.url(),
    );
    let svc = Service::start_with(
        &w,
        &config,
        crate::harness::Start {
            env: vec![
                ("SLACK_URL", slack.webhook_url()),
                ("DISCORD_URL", discord.webhook_url()),
                ("DD_KEY", datadog.api_key().to_owned()),
                ("SP_KEY", statuspal.api_key()),
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|(c, log)| panic!("exit {c:?}: {log}"));
    let alert = json!({"name": "AccuracyDrop", "severity": "critical",
                       "summary": "Accuracy fell to 0.71", "labels": {"model": "bikes"}});
    assert_eq!(svc.post("/api/v1/alerts", &alert).await.0, 202);

    let slack_msg = eventually(WAIT, "the Slack message", || async {
        slack.all_messages().into_iter().next()
    })
    .await;
    assert!(
        slack_msg.body.to_string().contains("Accuracy fell to 0.71"),
        "{}",
        slack_msg.body
    );
    let discord_msg = eventually(WAIT, "the Discord message", || async {
        discord.messages().into_iter().next()
    })
    .await;
    assert!(
        discord_msg.to_string().contains("Accuracy fell to 0.71"),
        "{discord_msg}"
    );
    let event = eventually(WAIT, "the Datadog event", || async {
        datadog.events().into_iter().next()
    })
    .await;
    assert!(
        event["title"]
            .as_str()
            .unwrap_or("")
            .contains("Accuracy fell to 0.71"),
        "{event}"
    );
    assert_eq!(event["alert_type"], "error", "{event}");
    let incident = eventually(WAIT, "the Statuspal incident", || async {
        statuspal.open_incidents().into_iter().next()
    })
    .await;
    assert_eq!(incident.title, "Accuracy fell to 0.71");
    assert_eq!(hook.wait_for_requests(1, WAIT).await, 1);
    let am = &bodies(&hook)[0];
    assert_eq!(am["version"], "4");
    assert_eq!(am["alerts"][0]["labels"]["alertname"], "AccuracyDrop");

    // Resolve it: the status page incident closes, the webhook says resolved.
    let mut resolved = alert.clone();
    resolved["status"] = json!("resolved");
    assert_eq!(svc.post("/api/v1/alerts", &resolved).await.0, 202);
    eventually(WAIT, "the incident to close", || async {
        statuspal
            .incidents()
            .iter()
            .all(|i| !i.is_open())
            .then_some(())
    })
    .await;
    eventually(WAIT, "the resolved webhook", || async {
        bodies(&hook)
            .iter()
            .any(|b| b["status"] == "resolved")
            .then_some(())
    })
    .await;

    // No secret in the API or the logs (at the most verbose level; the log is read
    // from the service's standard error by another thread, so wait for it).
    eventually(WAIT, "trace log lines", || async {
        svc.log().contains(" TRACE ").then_some(())
    })
    .await;
    let (_, receivers) = svc.get("/api/v1/receivers").await;
    let (_, status) = svc.get("/api/v1/status").await;
    let (_, history) = svc.get("/api/v1/history").await;
    let everything = format!("{receivers}{status}{history}{}", svc.log());
    for secret in [
        slack.webhook_url(),
        discord.webhook_token(),
        datadog.api_key().to_owned(),
        statuspal.api_key(),
    ] {
        assert!(
            !everything.contains(&secret),
            "{secret} leaked:\n{everything}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_samples_feed_threshold_rules() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let rules = r#"
[[rules]]
name = "AccuracyLow"
metric = "accuracy"
labels = { model = "bikes" }
warning = { lower = 0.8 }
critical = { lower = 0.6 }
"#;
    let svc = Service::start(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", rules),
    )
    .await;
    let (status, body) = svc
        .post(
            "/api/v1/metrics",
            &json!({"samples": [{"metric": "accuracy", "value": 0.91}, {"metric": "latency_p99", "value": 3.0}]}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"alerts": 0, "unmatched_metrics": ["latency_p99"]})
        )
    );
    let (status, body) = svc
        .post(
            "/api/v1/metrics",
            &json!({"samples": [{"metric": "accuracy", "value": 0.55, "window": "1h", "sample_size": 500}]}),
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"alerts": 1, "unmatched_metrics": []}))
    );
    assert_eq!(sink.wait_for_distinct(1, WAIT).await, 1, "{}", svc.log());
    let a = &bodies(&sink)[0]["alerts"][0];
    assert_eq!(a["name"], "AccuracyLow");
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["labels"]["model"], "bikes");
    assert_eq!(a["evidence"]["metric"], "accuracy");
    assert_eq!(a["evidence"]["observed"], 0.55);
    assert_eq!(a["evidence"]["threshold"], 0.6);
    assert!(
        svc.metrics()
            .await
            .contains("alerts_received_total{endpoint=\"metrics\"} 1")
    );
}
