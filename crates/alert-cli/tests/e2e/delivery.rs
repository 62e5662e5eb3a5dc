//! `[delivery]` through the real service: `retry_for` ends the retries of a failing
//! notification as a dead letter with reason `deadline` (then redelivered),
//! `attempt_timeout` bounds each attempt, `lane_concurrency` bounds the attempts in
//! flight per channel, `memory_limit = 0` keeps the waiting ones in the database
//! only, and a bad `[delivery]` key fails `alerts check` and `alerts serve` with
//! status 2.
//!
//! No assertion depends on how fast the machine is: the waits are event-driven (or
//! poll) with generous limits, and the attempt counts asserted are the bounds the
//! retry policy guarantees whatever the scheduling (each wait is at least 75% of
//! its nominal value).

use std::time::Duration;

use alert_webhook::fake::{FakeWebhook, Reply};
use serde_json::{Value, json};

use crate::harness::{GateSink, Service, Workdir, eventually, hook_config};

const WAIT: Duration = Duration::from_secs(60);

/// The dead letters the service lists, once there are `n`.
async fn dead_letters(svc: &Service, n: usize) -> Value {
    eventually(WAIT, &format!("{n} dead letters"), || async {
        let (status, v) = svc.get("/api/v1/dead-letters").await;
        assert_eq!(status, 200, "{v}");
        (v.as_array().map(Vec::len) == Some(n)).then_some(v)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_for_ends_the_retries_as_a_dead_letter_which_is_redelivered() {
    let sink = FakeWebhook::start().await.unwrap();
    sink.set_default(Some(Reply::text(503, "down")));
    let w = Workdir::new();
    // Waits of 1 s then 2 s (at least 0.75 s and 1.5 s): 2 or 3 attempts fit in 3 s,
    // fewer than the 5 failures in a row that open the circuit breaker.
    let svc = Service::start(
        &w,
        &hook_config(
            &sink.url(),
            r#"["alertname"]"#,
            "100ms",
            "\n[delivery]\nretry_for = \"3s\"\nmax_backoff = \"2s\"\n",
        ),
    )
    .await;
    assert_eq!(
        svc.post(
            "/api/v1/alerts",
            &json!({"name": "ModelDown", "severity": "critical"})
        )
        .await
        .0,
        202
    );

    let dead = dead_letters(&svc, 1).await;
    let d = &dead[0];
    let id = d["id"].as_str().expect("id").to_owned();
    assert_eq!(d["reason"], "deadline", "{d}");
    assert_eq!(d["receiver"], "hook", "{d}");
    assert_eq!(d["channel"], "webhook", "{d}");
    assert_eq!(d["error_kind"], "server", "{d}");
    assert_eq!(d["error"], "webhook: server error (HTTP 503): down", "{d}");
    assert_eq!(d["alerts"][0]["name"], "ModelDown", "{d}");
    let attempts = d["attempts"].as_u64().expect("attempts");
    assert!((2..=3).contains(&attempts), "retried within 3 s: {d}");
    assert_eq!(sink.requests(), attempts, "every attempt reached the sink");
    assert_eq!(sink.accepted(), 0);
    let (_, failed) = svc.get("/api/v1/history?outcome=failed").await;
    assert_eq!(
        failed.as_array().map(|a| a.len() as u64),
        Some(attempts - 1),
        "{failed}"
    );
    let (_, gave_up) = svc.get("/api/v1/history?outcome=gave_up").await;
    assert_eq!(gave_up.as_array().map(Vec::len), Some(1), "{gave_up}");

    // The sink recovers: redelivered under the same id, delivered, no dead letter.
    sink.set_default(None);
    let (status, v) = svc
        .post(&format!("/api/v1/dead-letters/{id}/redeliver"), &json!({}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"redelivered": id, "receiver": "hook", "channel": "webhook"})
    );
    let delivered = eventually(WAIT, "the redelivery in the history", || async {
        let (_, v) = svc.get("/api/v1/history?outcome=delivered").await;
        (v.as_array().map(Vec::len) == Some(1)).then_some(v)
    })
    .await;
    assert_eq!(delivered[0]["notification_id"], id.as_str(), "{delivered}");
    assert_eq!(delivered[0]["attempt"], 1, "{delivered}");
    assert_eq!(sink.accepted(), 1);
    assert_eq!(
        sink.recorded().last().unwrap().json().unwrap()["alerts"][0]["name"],
        "ModelDown"
    );
    let (_, v) = svc.get("/api/v1/dead-letters").await;
    assert_eq!(v, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempt_timeout_bounds_each_attempt() {
    // The gate never answers; the webhook's own HTTP timeout is 10 s.
    let gate = GateSink::start().await;
    let w = Workdir::new();
    // Each attempt ends after 1 s, then waits at least 0.75 s: at most 2 attempts
    // fit in 3 s.
    let svc = Service::start(
        &w,
        &hook_config(
            &gate.url(),
            r#"["alertname"]"#,
            "100ms",
            "\n[delivery]\nretry_for = \"3s\"\nmax_backoff = \"2s\"\nattempt_timeout = \"1s\"\n",
        ),
    )
    .await;
    assert_eq!(
        svc.post(
            "/api/v1/alerts",
            &json!({"name": "SlowSink", "severity": "error"})
        )
        .await
        .0,
        202
    );
    let dead = dead_letters(&svc, 1).await;
    let d = &dead[0];
    assert_eq!(d["reason"], "deadline", "{d}");
    assert_eq!(d["error_kind"], "timeout", "{d}");
    assert_eq!(d["error"], "webhook: timed out after 1s", "{d}");
    let attempts = d["attempts"].as_u64().expect("attempts");
    assert!((1..=2).contains(&attempts), "{d}");
    assert!(gate.arrived() >= 1);
    assert!(gate.delivered().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lane_concurrency_bounds_the_attempts_in_flight_per_channel() {
    // Holds every request: attempts stay in flight until released.
    let gate = GateSink::start().await;
    let w = Workdir::new();
    // 10 is above the router's own in-flight limit per channel (8): all 10 only
    // reach the sink when the limit is raised too.
    let svc = Service::start(
        &w,
        &format!(
            r#"[storage]
backend = "sqlite"

[delivery]
lane_concurrency = 10
attempt_timeout = "5m"
memory_limit = 0

[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1s"
repeat_interval = "1h"

[[receivers]]
name = "hook"
channels = [{{ type = "webhook", url = "{}/hook", timeout_secs = 300 }}]
"#,
            gate.url()
        ),
    )
    .await;
    let alerts: Vec<Value> = (1..=12)
        .map(|i| json!({"name": format!("Alert{i:02}"), "severity": "warning"}))
        .collect();
    assert_eq!(
        svc.post("/api/v1/alerts", &Value::Array(alerts)).await.0,
        202
    );
    // 12 notifications (one group each): 10 at the gate, 2 waiting in the queue.
    gate.wait_arrived(10, WAIT).await;
    let status = eventually(WAIT, "10 in flight and 2 queued", || async {
        let (_, v) = svc.get("/api/v1/receivers").await;
        let s = v[0]["channels"][0]["status"].clone();
        (s["in_flight"] == 10 && s["queued"] == 2).then_some(s)
    })
    .await;
    assert_eq!(gate.arrived(), 10, "{status}");
    // `memory_limit = 0`: the two waiting ones are held as ids only, and are read
    // back from SQLite when their turn comes.
    let (_, st) = svc.get("/api/v1/status").await;
    assert_eq!(
        (&st["outbox"]["queued"], &st["outbox"]["in_memory"]),
        (&json!(2), &json!(0)),
        "{st}"
    );

    gate.release();
    let delivered = eventually(WAIT, "12 deliveries", || async {
        let d = gate.delivered();
        (d.len() == 12).then_some(d)
    })
    .await;
    let mut names: Vec<String> = delivered
        .iter()
        .map(|b| b["alerts"][0]["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    let expected: Vec<String> = (1..=12).map(|i| format!("Alert{i:02}")).collect();
    assert_eq!(names, expected);
    assert_eq!(gate.arrived(), 12, "nothing was sent twice");
}

/// A minimal valid config followed by `[delivery]` with `lines`.
fn with_delivery(lines: &str) -> String {
    format!(
        "[storage]\nbackend = \"memory\"\n\n[[receivers]]\nname = \"team\"\nchannels = [{{ type = \"console\" }}]\n\n[delivery]\n{lines}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_bad_delivery_key_fails_check_and_serve_with_status_2() {
    let w = Workdir::new();
    let p = w.write(
        "unknown.toml",
        &with_delivery("retry_for = \"1h\"\nretry_four = \"2h\"\n"),
    );
    let out = w
        .run(&["check", "-c", p.to_str().unwrap()], None, &[])
        .await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        format!(
            "alerts check: {}:10:1: delivery.retry_four: unknown field `retry_four`, expected one of `retry_for`, `max_backoff`, `attempt_timeout`, `lane_concurrency`, `memory_limit`\n    | retry_four = \"2h\"\n",
            p.display()
        )
    );
    assert_eq!(out.stdout, "");

    let p = w.write("zero.toml", &with_delivery("lane_concurrency = 0\n"));
    let out = w
        .run(&["check", "-c", p.to_str().unwrap()], None, &[])
        .await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        format!(
            "alerts check: {}:9:20: delivery.lane_concurrency: must be between 1 and 256, not 0\n    | lane_concurrency = 0\n",
            p.display()
        )
    );

    let good = w.write(
        "good.toml",
        &with_delivery("retry_for = \"2h\"\nmax_backoff = \"1m\"\nattempt_timeout = \"30s\"\nlane_concurrency = 4\n"),
    );
    let out = w
        .run(&["check", "-c", good.to_str().unwrap()], None, &[])
        .await;
    out.expect_code(0);

    let (code, log) = Service::start_with(
        &w,
        &with_delivery("retry_for = \"0s\"\n"),
        Default::default(),
    )
    .await
    .expect_err("serve refuses the config");
    assert_eq!(code, Some(2), "{log}");
    assert!(
        log.contains(
            "config.toml:9:13: delivery.retry_for: must be between 1s and 30d, not \"0s\"\n    | retry_for = \"0s\""
        ),
        "{log}"
    );
}
