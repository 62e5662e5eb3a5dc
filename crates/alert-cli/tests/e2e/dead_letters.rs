//! Dead letters through the service: `GET /api/v1/dead-letters`,
//! `POST /api/v1/dead-letters/{id}/redeliver`, `alerts dead-letters`,
//! `alerts redeliver`, and the outbox counters on `/metrics` (given up, handed to a
//! fallback, breaker refusals).
//!
//! What is covered, and how: these tests make dead letters with **permanent**
//! errors, which the outbox gives up at the first attempt (reason `permanent`): a
//! 400 (`rejected`; the channel stays usable) and a 410 (`gone`; the breaker also
//! disables the channel). Giving up at the deadline (reason `deadline`, with a short
//! `[delivery] retry_for`) is tested in `delivery.rs`; the service lists and
//! redelivers both the same way.

use std::time::Duration;

use alert_webhook::fake::{FakeWebhook, Reply};
use serde_json::{Value, json};

use crate::harness::{Service, Start, Workdir, eventually};

const WAIT: Duration = Duration::from_secs(30);

/// One receiver `hook` with a webhook channel at `url`.
fn config(url: &str) -> String {
    format!(
        r#"[storage]
backend = "sqlite"

[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1s"
repeat_interval = "1h"

[[receivers]]
name = "hook"
channels = [{{ type = "webhook", url = "{url}" }}]
"#
    )
}

/// The dead letters the service lists for `query`, once there are `n`.
async fn dead_letters(svc: &Service, query: &str, n: usize) -> Value {
    eventually(WAIT, &format!("{n} dead letters for {query:?}"), || async {
        let (status, v) = svc.get(&format!("/api/v1/dead-letters{query}")).await;
        assert_eq!(status, 200, "{v}");
        (v.as_array().map(Vec::len) == Some(n)).then_some(v)
    })
    .await
}

/// The value of an unlabelled counter in a `/metrics` text.
fn counter(metrics: &str, name: &str) -> Option<u64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// `alerts ARGS --server URL` with `env`.
async fn cli(
    w: &Workdir,
    svc: &Service,
    args: &[&str],
    env: &[(&str, &str)],
) -> crate::harness::Out {
    let mut a = args.to_vec();
    a.extend(["--server", svc.url.as_str()]);
    w.run(&a, None, env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_notification_is_listed_and_redelivered_through_the_api_and_the_cli() {
    let sink = FakeWebhook::start().await.unwrap();
    // The first request is answered 400 with a body that quotes the request's path
    // and query (as careless servers do): the secrets in the URL reach the error.
    sink.echo_next(400);
    let w = Workdir::new();
    let url = format!("{}/hook/s3cr3t-path?token=s3cr3t-query", sink.url());
    let svc = Service::start_with(
        &w,
        &config(&url),
        Start {
            env: vec![
                ("ALERTS_WRITE_TOKEN", "w".to_owned()),
                ("ALERTS_READ_TOKEN", "r".to_owned()),
            ],
            ..Start::default()
        },
    )
    .await
    .unwrap()
    .with_token("r");
    let write = [("ALERTS_WRITE_TOKEN", "w")];
    let read = [("ALERTS_READ_TOKEN", "r")];

    // (`svc` sends the read token; this request the write token.)
    let resp = reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .unwrap()
        .post(format!("{}/api/v1/alerts", svc.url))
        .bearer_auth("w")
        .json(&json!({"name": "ModelDown", "severity": "critical", "labels": {"model": "bikes"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);

    // Given up at the first attempt: a dead letter, and a `gave_up` attempt.
    let dead = dead_letters(&svc, "", 1).await;
    let d = &dead[0];
    let id = d["id"].as_str().expect("id").to_owned();
    assert_eq!(d["receiver"], "hook", "{d}");
    assert_eq!(d["channel"], "webhook", "{d}");
    assert_eq!(d["reason"], "permanent", "{d}");
    assert_eq!(d["error_kind"], "rejected", "{d}");
    assert_eq!(d["attempts"], 1, "{d}");
    assert_eq!(d["kind"], "group", "{d}");
    assert_eq!(d["severity"], "critical", "{d}");
    assert_eq!(d["fallback_from"], Value::Null, "{d}");
    assert_eq!(d["alerts"][0]["name"], "ModelDown", "{d}");
    assert_eq!(d["alerts"][0]["labels"]["model"], "bikes", "{d}");
    assert_eq!(d["fingerprints"].as_array().map(Vec::len), Some(1), "{d}");
    // The sink's echo reached the error with the URL's parts masked.
    assert_eq!(
        d["error"], "webhook: rejected (HTTP 400): Cannot POST **REDACTED** query: **REDACTED**",
        "{d}"
    );
    let (status, history) = svc.get("/api/v1/history?outcome=gave_up").await;
    assert_eq!(status, 200);
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    assert_eq!(history[0]["notification_id"], id.as_str(), "{history}");
    assert_eq!(history[0]["fingerprints"], d["fingerprints"], "{history}");

    // The sink did echo the secrets; no answer and no log line repeats them.
    let echoed = &sink.recorded()[0];
    assert_eq!(echoed.path, "/hook/s3cr3t-path");
    assert_eq!(echoed.query.as_deref(), Some("token=s3cr3t-query"));
    let (_, receivers) = svc.get("/api/v1/receivers").await;
    for (what, text) in [
        ("dead letters", dead.to_string()),
        ("history", history.to_string()),
        ("receivers", receivers.to_string()),
        ("log", svc.log()),
    ] {
        assert!(!text.contains("s3cr3t"), "{what} shows a secret: {text}");
    }

    // Filters.
    for (query, n) in [
        ("?receiver=hook", 1),
        ("?receiver=nobody", 0),
        ("?since=1h", 1),
        ("?since=2999-01-01T00:00:00Z", 0),
        ("?until=2000-01-01T00:00:00Z", 0),
        (&format!("?id={id}") as &str, 1),
        ("?id=no-such-id", 0),
        ("?limit=1", 1),
    ] {
        let (status, v) = svc.get(&format!("/api/v1/dead-letters{query}")).await;
        assert_eq!(status, 200, "{query}: {v}");
        assert_eq!(v.as_array().map(Vec::len), Some(n), "{query}: {v}");
    }
    let (status, v) = svc.get("/api/v1/dead-letters?since=yesterday").await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["field"], "since", "{v}");
    let (status, v) = svc.get("/api/v1/dead-letters?colour=red").await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["field"], "query", "{v}");

    // Counted on /metrics.
    let metrics = eventually(WAIT, "gave_up on /metrics", || async {
        let m = svc.metrics().await;
        (counter(&m, "alerts_outbox_gave_up_total") == Some(1)).then_some(m)
    })
    .await;
    assert_eq!(counter(&metrics, "alerts_outbox_fell_back_total"), Some(0));
    assert!(
        metrics.contains(
            "alerts_delivery_attempts_total{receiver=\"hook\",channel=\"webhook\",outcome=\"gave_up\"} 1"
        ),
        "{metrics}"
    );

    // A read token lists but may not redeliver.
    let (status, v) = svc
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/dead-letters/{id}/redeliver"),
            None,
        )
        .await;
    assert_eq!(status, 403, "{v}");

    // The CLI: a table and JSON.
    let out = cli(&w, &svc, &["dead-letters"], &read).await;
    out.expect_code(0);
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        [
            "AT", "ID", "RECEIVER", "CHANNEL", "ATTEMPTS", "REASON", "ALERTS", "ERROR"
        ]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        &row[1..7],
        [
            id.as_str(),
            "hook",
            "webhook",
            "1",
            "permanent",
            "ModelDown"
        ],
        "{row:?}"
    );
    assert_eq!(lines.next(), None, "{}", out.stdout);
    let out = cli(
        &w,
        &svc,
        &["dead-letters", "--json", "--since", "1h"],
        &read,
    )
    .await;
    assert_eq!(out.expect_code(0).json(), dead);
    let out = cli(&w, &svc, &["dead-letters", "--receiver", "nobody"], &read).await;
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        "AT  ID  RECEIVER  CHANNEL  ATTEMPTS  REASON  ALERTS  ERROR\n(no dead letters)\n"
    );
    let out = cli(
        &w,
        &svc,
        &["history", "--outcome", "gave_up", "--json"],
        &read,
    )
    .await;
    assert_eq!(out.expect_code(0).json(), history);
    let out = cli(
        &w,
        &svc,
        &["history", "--outcome", "fell_back", "--json"],
        &read,
    )
    .await;
    assert_eq!(out.expect_code(0).json(), json!([]));

    // Redelivered (the sink now answers 200): delivered under the same id, and no
    // longer a dead letter.
    let out = cli(&w, &svc, &["redeliver", &id, "--token", "r"], &[]).await;
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "alerts: the service answered 403: this token may only read\n"
    );
    let out = cli(&w, &svc, &["redeliver", &id], &write).await;
    out.expect_code(0);
    assert_eq!(out.stdout, format!("queued {id} again for hook/webhook\n"));
    assert_eq!(sink.wait_for_requests(2, WAIT).await, 2);
    let delivered = eventually(WAIT, "the redelivery in the history", || async {
        let (_, v) = svc.get("/api/v1/history?outcome=delivered").await;
        (v.as_array().map(Vec::len) == Some(1)).then_some(v)
    })
    .await;
    assert_eq!(delivered[0]["notification_id"], id.as_str(), "{delivered}");
    assert_eq!(
        delivered[0]["attempt"], 1,
        "a fresh retry budget: {delivered}"
    );
    assert_eq!(
        sink.recorded()[1].json().unwrap()["alerts"][0]["name"],
        "ModelDown"
    );
    let (_, v) = svc.get("/api/v1/dead-letters").await;
    assert_eq!(v, json!([]));
    let out = cli(&w, &svc, &["redeliver", &id], &write).await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        format!("alerts: the service answered 404: dead letter not found: {id}\n")
    );
    let out = cli(&w, &svc, &["redeliver", "a/../../x?y"], &write).await;
    out.expect_code(2);
    assert_eq!(
        out.stderr, "alerts: the service answered 404: dead letter not found: a/../../x?y\n",
        "the id is sent as one path segment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_webhook_is_dead_lettered_and_redelivered_after_a_restart() {
    let sink = FakeWebhook::start().await.unwrap();
    sink.set_default(Some(Reply::text(410, "gone")));
    let w = Workdir::new();
    let cfg = config(&format!("{}/hook", sink.url()));
    let svc = Service::start(&w, &cfg).await;
    assert_eq!(
        svc.post(
            "/api/v1/alerts",
            &json!({"name": "DriftHigh", "severity": "warning"})
        )
        .await
        .0,
        202
    );
    let dead = dead_letters(&svc, "", 1).await;
    let id = dead[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(dead[0]["reason"], "permanent", "{dead}");
    assert_eq!(dead[0]["error_kind"], "gone", "{dead}");
    let (_, receivers) = svc.get("/api/v1/receivers").await;
    assert_eq!(
        receivers[0]["channels"][0]["status"]["breaker"]["state"], "disabled",
        "{receivers}"
    );

    // While the channel is disabled a redelivery would be given up at once: 409.
    let (status, v) = svc
        .post(&format!("/api/v1/dead-letters/{id}/redeliver"), &json!({}))
        .await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(
        v["error"]["message"],
        "channel `webhook` of receiver `hook` is disabled (webhook: destination gone (HTTP 410): gone): fix its config and restart the service, then redeliver",
        "{v}"
    );
    let (status, v) = svc
        .post("/api/v1/dead-letters/no-such-id/redeliver", &json!({}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        v,
        json!({"error": {"status": 404, "message": "dead letter not found: no-such-id"}})
    );
    assert_eq!(
        sink.requests(),
        1,
        "nothing was sent for the refused redelivery"
    );

    // The destination is fixed; after a restart the dead letter is still there
    // (SQLite) and the channel is enabled again.
    let (exit, log) = svc.terminate(WAIT).await;
    assert!(exit.success(), "{log}");
    sink.set_default(None);
    let svc = Service::start(&w, &cfg).await;
    let again = dead_letters(&svc, "", 1).await;
    assert_eq!(again, dead, "kept as it was across the restart");
    let (status, v) = svc
        .post(&format!("/api/v1/dead-letters/{id}/redeliver"), &json!({}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"redelivered": id, "receiver": "hook", "channel": "webhook"})
    );
    let delivered = eventually(WAIT, "the redelivery in the history", || async {
        let (_, v) = svc
            .get("/api/v1/history?outcome=delivered&receiver=hook")
            .await;
        v.as_array()
            .into_iter()
            .flatten()
            .any(|a| a["notification_id"] == id.as_str())
            .then_some(v)
    })
    .await;
    assert!(sink.accepted() >= 1, "{delivered}");
    let (_, v) = svc.get("/api/v1/dead-letters").await;
    assert_eq!(v, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallbacks_and_breaker_refusals_are_counted_on_metrics() {
    let primary = FakeWebhook::start().await.unwrap();
    let backup = FakeWebhook::start().await.unwrap();
    let flaky = FakeWebhook::start().await.unwrap();
    // `primary` rejects its first notification for good: handed to `backup`.
    primary.push(Reply::text(400, "bad"));
    // `flaky` is down: after 5 failures in a row its breaker opens (30 s cool-down)
    // and the retries, a few seconds apart, are refused without being sent.
    flaky.set_default(Some(Reply::text(503, "down")));
    let w = Workdir::new();
    let svc = Service::start(
        &w,
        &format!(
            r#"[storage]
backend = "sqlite"

[route]
receiver = "primary"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1s"
repeat_interval = "1h"

[[route.routes]]
matchers = ["team = flaky"]
receiver = "flaky"

[[receivers]]
name = "primary"
fallback = "backup"
channels = [{{ type = "webhook", url = "{}/primary" }}]

[[receivers]]
name = "backup"
channels = [{{ type = "webhook", url = "{}/backup" }}]

[[receivers]]
name = "flaky"
channels = [{{ type = "webhook", url = "{}/flaky" }}]
"#,
            primary.url(),
            backup.url(),
            flaky.url()
        ),
    )
    .await;
    let mut alerts = vec![json!({"name": "ToPrimary", "severity": "error"})];
    for i in 1..=6 {
        alerts.push(
            json!({"name": format!("Flaky{i}"), "severity": "error", "labels": {"team": "flaky"}}),
        );
    }
    assert_eq!(
        svc.post("/api/v1/alerts", &Value::Array(alerts)).await.0,
        202
    );

    assert_eq!(backup.wait_for_requests(1, WAIT).await, 1);
    assert_eq!(
        backup.recorded()[0].json().unwrap()["alerts"][0]["name"],
        "ToPrimary"
    );
    let metrics = eventually(WAIT, "a fallback and a breaker refusal", || async {
        let m = svc.metrics().await;
        (counter(&m, "alerts_outbox_fell_back_total") == Some(1)
            && counter(&m, "alerts_outbox_breaker_refusals_total").is_some_and(|n| n >= 1))
        .then_some(m)
    })
    .await;
    assert_eq!(
        counter(&metrics, "alerts_outbox_gave_up_total"),
        Some(0),
        "{metrics}"
    );
    for line in [
        "alerts_delivery_attempts_total{receiver=\"primary\",channel=\"webhook\",outcome=\"fell_back\"} 1",
        "alerts_channel_breaker_open{receiver=\"flaky\",channel=\"webhook\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing:\n{metrics}"
        );
    }
    // Failed attempts: primary's one, and the (at least) 5 in a row that opened
    // flaky's breaker.
    let failed = counter(&metrics, "alerts_outbox_failed_attempts_total").unwrap();
    assert!(failed >= 6, "{metrics}");

    // The hand-over in the history, through the CLI; nothing became a dead letter.
    let out = w
        .run(
            &[
                "history",
                "--outcome",
                "fell_back",
                "--json",
                "--server",
                &svc.url,
            ],
            None,
            &[],
        )
        .await;
    let v = out.expect_code(0).json();
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v[0]["receiver"], "primary", "{v}");
    assert_eq!(v[0]["fallback"], "backup", "{v}");
    let (_, dead) = svc.get("/api/v1/dead-letters").await;
    assert_eq!(dead, json!([]));
}
