//! Hostile and broken input: every answer is the exact 4xx with a JSON error naming
//! the field, nothing is ingested, nothing panics.

use alert_webhook::fake::FakeWebhook;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Service, Workdir, hook_config};

const LIMITS: &str = r#"
[server.limits]
max_body_bytes = 4096
max_json_depth = 8
max_alerts_per_request = 5
max_labels = 4
max_value_bytes = 64
max_message_bytes = 128
"#;

fn err(status: u16, field: Option<&str>, message: &str) -> Value {
    let mut e = json!({"status": status, "message": message});
    if let Some(f) = field {
        e["field"] = json!(f);
    }
    json!({ "error": e })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_exact_errors() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(
        &w,
        &hook_config(
            &sink.url(),
            r#"["alertname"]"#,
            "100ms",
            &format!("\n[server]{LIMITS}"),
        ),
    )
    .await;
    let json_ct = Some("application/json");
    // (what, path, content type, body, status, field, message; empty: any)
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        Vec<u8>,
        u16,
        Option<&'a str>,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "malformed JSON",
            "/api/v1/alerts",
            json_ct,
            br#"{"name": "x", "severity": }"#.to_vec(),
            400,
            Some("$.severity"),
            "expected value at line 1 column 27",
        ),
        (
            "truncated JSON",
            "/api/v1/alerts",
            json_ct,
            br#"{"name": "x""#.to_vec(),
            400,
            Some("$"),
            "EOF while parsing an object at line 1 column 12",
        ),
        (
            "not JSON at all",
            "/api/v1/alerts",
            json_ct,
            b"name=x".to_vec(),
            400,
            Some("$"),
            "expected ident at line 1 column 2",
        ),
        (
            "empty body",
            "/api/v1/alerts",
            json_ct,
            b" \n".to_vec(),
            400,
            Some("$"),
            "empty body: expected JSON",
        ),
        (
            "invalid UTF-8",
            "/api/v1/alerts",
            json_ct,
            b"{\"name\": \"caf\xe9\", \"severity\": \"info\"}".to_vec(),
            400,
            Some("$"),
            "body is not valid UTF-8 (at byte 13)",
        ),
        (
            "deep nesting",
            "/api/v1/alerts",
            json_ct,
            format!("{}{}", "[".repeat(20), "]".repeat(20)).into_bytes(),
            400,
            Some("$"),
            "JSON nested deeper than 8 levels (at byte 8)",
        ),
        (
            "oversized body",
            "/api/v1/alerts",
            json_ct,
            format!(
                r#"{{"name": "x", "severity": "info", "message": "{}"}}"#,
                "a".repeat(5000)
            )
            .into_bytes(),
            413,
            Some("$"),
            "body is larger than the limit of 4096 bytes",
        ),
        (
            "wrong content type",
            "/api/v1/alerts",
            Some("text/plain"),
            br#"{"name": "x", "severity": "info"}"#.to_vec(),
            415,
            None,
            "content type must be application/json, not \"text/plain\"",
        ),
        (
            "form content type (curl without -H)",
            "/api/v2/alerts",
            Some("application/x-www-form-urlencoded"),
            br#"[]"#.to_vec(),
            415,
            None,
            "content type must be application/json, not \"application/x-www-form-urlencoded\"",
        ),
        (
            "unknown field",
            "/api/v1/alerts",
            json_ct,
            br#"{"name": "x", "severity": "info", "labls": {"a": "b"}}"#.to_vec(),
            400,
            Some("$.labls"),
            "unknown field `labls`, expected one of `name`, `severity`, `status`, `summary`, `message`, `labels`, `annotations`, `evidence`, `source`, `starts_at`, `ends_at` at line 1 column 41",
        ),
        (
            "unknown severity in a batch",
            "/api/v1/alerts",
            json_ct,
            br#"[{"name": "a", "severity": "info"}, {"name": "b", "severity": "sev1"}]"#.to_vec(),
            400,
            Some("$[1].severity"),
            "",
        ),
        (
            "label value of the wrong type",
            "/api/v1/alerts",
            json_ct,
            br#"{"name": "x", "severity": "info", "labels": {"model": 3}}"#.to_vec(),
            400,
            Some("$.labels.model"),
            "invalid type: integer `3`, expected a string at line 1 column 55",
        ),
        (
            "missing name",
            "/api/v1/alerts",
            json_ct,
            br#"{"severity": "info"}"#.to_vec(),
            400,
            Some("$"),
            "missing field `name` at line 1 column 20",
        ),
        (
            "too many alerts",
            "/api/v1/alerts",
            json_ct,
            serde_json::to_vec(&vec![json!({"name": "x", "severity": "info"}); 6]).unwrap(),
            413,
            Some("$"),
            "6 alerts in one request, the limit is 5",
        ),
        (
            "too many labels",
            "/api/v1/alerts",
            json_ct,
            br#"{"name": "x", "severity": "info", "labels": {"a":"1","b":"2","c":"3","d":"4","e":"5"}}"#
                .to_vec(),
            400,
            Some("$[0].labels"),
            "5 labels, the limit is 4",
        ),
        (
            "label value too long",
            "/api/v1/alerts",
            json_ct,
            format!(
                r#"{{"name": "x", "severity": "info", "labels": {{"model": "{}"}}}}"#,
                "m".repeat(65)
            )
            .into_bytes(),
            400,
            Some("$[0].labels.model"),
            "name or value longer than 64 bytes",
        ),
        (
            "message too long",
            "/api/v1/alerts",
            json_ct,
            format!(
                r#"{{"name": "x", "severity": "info", "message": "{}"}}"#,
                "m".repeat(129)
            )
            .into_bytes(),
            400,
            Some("$[0].message"),
            "message is 129 bytes, the limit is 128",
        ),
        (
            "Alertmanager v2: not a list",
            "/api/v2/alerts",
            json_ct,
            br#"{"labels": {"alertname": "x"}}"#.to_vec(),
            400,
            Some("$"),
            "invalid type: map, expected a sequence at line 1 column 0",
        ),
        (
            "Alertmanager v2: no labels",
            "/api/v2/alerts",
            json_ct,
            br#"[{"labels": {"alertname": "x"}}, {"labels": {}}]"#.to_vec(),
            400,
            Some("$[1].labels"),
            "labels must not be empty",
        ),
        (
            "Alertmanager v2: bad time",
            "/api/v2/alerts",
            json_ct,
            br#"[{"labels": {"alertname": "x"}, "startsAt": "yesterday"}]"#.to_vec(),
            400,
            Some("$[0].startsAt"),
            "",
        ),
        (
            "Alertmanager webhook: bad status",
            "/api/v1/alertmanager",
            json_ct,
            br#"{"version": "4", "alerts": [{"status": "burning", "labels": {"alertname": "x"}}]}"#
                .to_vec(),
            400,
            Some("$.alerts[0].status"),
            "expected \"firing\" or \"resolved\", got \"burning\"",
        ),
        (
            "metric samples: unknown field",
            "/api/v1/metrics",
            json_ct,
            br#"{"samples": [{"metric": "accuracy", "value": 0.5, "segmnt": "eu"}]}"#.to_vec(),
            400,
            Some("$.samples[0].segmnt"),
            "",
        ),
    ];
    for (what, path, ct, body, status, field, message) in cases {
        let (got_status, got) = svc.post_raw(path, ct, body).await;
        assert_eq!(got_status, status, "{what}: {got}");
        assert_eq!(got["error"]["status"], json!(status), "{what}: {got}");
        assert_eq!(
            got["error"].get("field").and_then(Value::as_str),
            field,
            "{what}: {got}"
        );
        if message.is_empty() {
            assert!(
                got["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{what}: {got}"
            );
        } else {
            assert_eq!(got, err(status, field, message), "{what}");
        }
    }

    // Queries and routes.
    let (status, body) = svc.get("/api/v1/alerts?silenced=maybe").await;
    assert_eq!(
        (status, body),
        (
            400,
            err(
                400,
                Some("silenced"),
                "expected true or false, not \"maybe\""
            )
        )
    );
    let (status, body) = svc.get("/api/v1/alerts?filter=model%20~%20x").await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("filter")),
        "{body}"
    );
    let (status, body) = svc.get("/api/v1/alerts?colour=red").await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("query")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`")
    );
    let (status, body) = svc.get("/api/v1/history?outcome=won").await;
    assert_eq!(
        (status, body),
        (
            400,
            err(
                400,
                Some("outcome"),
                "expected delivered, failed, gave_up or fell_back, not \"won\""
            )
        )
    );
    let (status, body) = svc.get("/api/v1/report?since=last+week").await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("since")),
        "{body}"
    );
    let (status, body) = svc.get("/api/v9/alerts").await;
    assert_eq!(
        (status, body),
        (404, err(404, None, "no such endpoint; see docs/api.md"))
    );
    let (status, body) = svc.call(Method::PUT, "/api/v1/alerts", None).await;
    assert_eq!(
        (status, body),
        (405, err(405, None, "method not allowed for this endpoint"))
    );

    // Nothing got in, nothing was sent, and the service is fine.
    assert_eq!(svc.get("/api/v1/alerts").await, (200, json!([])));
    assert_eq!(sink.requests(), 0);
    assert_eq!(svc.get("/healthz").await.0, 200);
    let m = svc.metrics().await;
    for line in [
        "alerts_http_rejected_total{status=\"413\"} 2",
        "alerts_http_rejected_total{status=\"415\"} 2",
        "alerts_http_rejected_total{status=\"404\"} 1",
        "alerts_http_rejected_total{status=\"405\"} 1",
    ] {
        assert!(m.contains(line), "{line} missing from\n{m}");
    }
    assert!(!svc.log().contains("panicked"), "{}", svc.log());
}
