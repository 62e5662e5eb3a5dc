//! alert-webhook against a local sink: the conformance suite, both body formats,
//! headers, classification.

use std::time::Duration;

use alert_core::{Alert, Evidence, Notifier, Receipt, Retry, Severity, Source, Timestamp};
use alert_testkit::conformance::{Fault, Harness, assert_conformance};
use alert_testkit::fake::{FakeWebhook, Reply};
use alert_webhook::{WebhookConfig, WebhookFormat, WebhookNotifier};

const TOKEN: &str = "tok-webhook-s3cret";
const PATH_TOKEN: &str = "hook-path-t0ken";

struct Fake {
    hook: FakeWebhook,
    notifier: WebhookNotifier,
    format: WebhookFormat,
}

impl Fake {
    async fn start(format: WebhookFormat) -> Fake {
        let hook = FakeWebhook::start().await.expect("fake starts");
        hook.set_default(Reply::json(200, &serde_json::json!({"id": "msg-1"})));
        let notifier = WebhookNotifier::new(
            WebhookConfig::new(format!("{}/hooks/{PATH_TOKEN}", hook.url()))
                .with_format(format)
                .with_header("Authorization", format!("Bearer {TOKEN}")),
        )
        .expect("valid config");
        Fake {
            hook,
            notifier,
            format,
        }
    }
}

#[alert_core::async_trait]
impl Harness for Fake {
    fn notifier(&self) -> &dyn Notifier {
        &self.notifier
    }
    fn secrets(&self) -> Vec<String> {
        vec![TOKEN.to_owned(), PATH_TOKEN.to_owned()]
    }
    async fn check_payloads(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let requests = self.hook.recorder().take();
        if requests.is_empty() {
            problems.push("nothing was sent".to_owned());
        }
        for r in requests {
            if r.method != "POST" || r.path != format!("/hooks/{PATH_TOKEN}") {
                problems.push(format!("unexpected request {} {}", r.method, r.path));
            }
            if r.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
                problems.push("missing or wrong Authorization header".to_owned());
            }
            if r.header("content-type") != Some("application/json") {
                problems.push("content type is not application/json".to_owned());
            }
            // Repeat reminders have identical bodies: a body hash sent as an
            // idempotency key would make a receiver drop them.
            if r.header("idempotency-key").is_some() {
                problems.push("an Idempotency-Key header was sent".to_owned());
            }
            let Ok(json) = r.json() else {
                problems.push("body is not JSON".to_owned());
                continue;
            };
            let version = match self.format {
                WebhookFormat::Alertmanager => "4",
                _ => "1",
            };
            if json["version"] != version {
                problems.push(format!("version is {}", json["version"]));
            }
            match json["alerts"].as_array() {
                Some(a) if !a.is_empty() => {
                    for alert in a {
                        if alert["fingerprint"].as_str().map(str::len) != Some(16) {
                            problems.push("alert without a fingerprint".to_owned());
                        }
                    }
                }
                _ => problems.push("no alerts in the body".to_owned()),
            }
        }
        problems
    }
    async fn inject(&self, fault: Fault) -> bool {
        self.hook.push(match fault {
            Fault::RateLimited { retry_after } => Reply::rate_limited(retry_after.as_secs()),
            Fault::ServerError => Reply::text(502, "bad gateway"),
            Fault::BadRequest => Reply::json(400, &serde_json::json!({"error": "bad body"})),
            Fault::Unauthorized => Reply::text(401, "unauthorized"),
            Fault::Gone => Reply::text(410, "gone"),
            _ => return false,
        });
        true
    }
}

#[tokio::test]
async fn conformance_native() {
    assert_conformance(&Fake::start(WebhookFormat::Native).await).await;
}

#[tokio::test]
async fn conformance_alertmanager() {
    assert_conformance(&Fake::start(WebhookFormat::Alertmanager).await).await;
}

fn sample() -> Alert {
    Alert::new(Severity::Error, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.81")
        .with_message("Nightly evaluation below threshold.")
        .with_label("model", "bikes")
        .with_runbook("https://runbooks.example/accuracy")
        .with_annotation("generator_url", "http://prom.example/graph?g0.expr=x")
        .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.9))
        .with_source(Source::model("bikes").version("3"))
        .with_starts_at(Timestamp::from_unix_seconds(1_795_500_000).unwrap())
}

#[tokio::test]
async fn native_body_matches_the_documented_schema() {
    let fake = Fake::start(WebhookFormat::Native).await;
    let alert = sample();
    let receipt = fake.notifier.notify(&alert).await.expect("delivered");
    assert_eq!(receipt.id.as_deref(), Some("msg-1"));
    assert_eq!(receipt.channel, "webhook");
    let sent = fake.hook.recorder().take();
    assert_eq!(
        sent[0].json().unwrap(),
        serde_json::json!({
            "version": "1",
            "kind": "alert",
            "receiver": "webhook",
            "status": "firing",
            "alerts": [{
                // FNV-1a 64 of {alertname="AccuracyDrop", model="bikes"}.
                "fingerprint": "b80917783e001469",
                "name": "AccuracyDrop",
                "severity": "error",
                "status": "firing",
                "summary": "Accuracy fell to 0.81",
                "message": "Nightly evaluation below threshold.",
                "labels": {"model": "bikes"},
                "annotations": {
                    "generator_url": "http://prom.example/graph?g0.expr=x",
                    "runbook_url": "https://runbooks.example/accuracy"
                },
                "evidence": {"metric": "accuracy", "observed": 0.81, "threshold": 0.9},
                "source": {"model": "bikes", "version": "3"},
                "starts_at": "2026-11-24T06:00:00Z"
            }],
            "truncated_alerts": 0
        })
    );
    // The body round-trips into an Alert (consumers in Rust can parse it back).
    let back: Alert = serde_json::from_value({
        let mut a = sent[0].json().unwrap()["alerts"][0].clone();
        a.as_object_mut().unwrap().remove("fingerprint");
        a
    })
    .unwrap();
    assert_eq!(back, alert);

    let resolved = alert
        .clone()
        .resolved_at(Timestamp::from_unix_seconds(1_795_503_600).unwrap());
    fake.notifier.update(&resolved, &receipt).await.unwrap();
    let sent = fake.hook.recorder().take();
    let body = sent[0].json().unwrap();
    assert_eq!(body["kind"], "update");
    assert_eq!(body["replaces"], "msg-1");
    assert_eq!(body["status"], "resolved");
    fake.notifier
        .update(&resolved, &Receipt::new("webhook"))
        .await
        .unwrap();
    assert_eq!(
        fake.hook.recorder().take()[0].json().unwrap()["replaces"],
        ""
    );
}

#[tokio::test]
async fn alertmanager_body_has_the_v4_fields() {
    let fake = Fake::start(WebhookFormat::Alertmanager).await;
    // A firing alert with an end time (a Prometheus alert's `endsAt` in the future)
    // is still sent with Alertmanager's zero time.
    let a = sample().with_ends_at(Timestamp::from_unix_seconds(1_795_507_200).unwrap());
    let b = sample()
        .with_label("model", "taxis")
        .with_severity(Severity::Critical)
        .resolved_at(Timestamp::from_unix_seconds(1_795_503_600).unwrap());
    fake.notifier
        .notify_group(&[a.clone(), b.clone()])
        .await
        .unwrap();
    let body = fake.hook.recorder().take()[0].json().unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"AccuracyDrop\"}",
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "webhook",
            "groupLabels": {"alertname": "AccuracyDrop"},
            "commonLabels": {"alertname": "AccuracyDrop"},
            "commonAnnotations": {
                "description": "Nightly evaluation below threshold.",
                "runbook_url": "https://runbooks.example/accuracy",
                "summary": "Accuracy fell to 0.81"
            },
            "externalURL": "",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "AccuracyDrop", "model": "bikes", "severity": "error"},
                    "annotations": {
                        "description": "Nightly evaluation below threshold.",
                        "runbook_url": "https://runbooks.example/accuracy",
                        "summary": "Accuracy fell to 0.81"
                    },
                    "startsAt": "2026-11-24T06:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prom.example/graph?g0.expr=x",
                    // The label set sent, severity included (Prometheus'
                    // LabelSet.Fingerprint), not the alert's own identity.
                    "fingerprint": "d7a407969bf0ddb4"
                },
                {
                    "status": "resolved",
                    "labels": {"alertname": "AccuracyDrop", "model": "taxis", "severity": "critical"},
                    "annotations": {
                        "description": "Nightly evaluation below threshold.",
                        "runbook_url": "https://runbooks.example/accuracy",
                        "summary": "Accuracy fell to 0.81"
                    },
                    "startsAt": "2026-11-24T06:00:00Z",
                    "endsAt": "2026-11-24T07:00:00Z",
                    "generatorURL": "http://prom.example/graph?g0.expr=x",
                    "fingerprint": "5923373efe6ff582"
                }
            ]
        })
    );
}

#[tokio::test]
async fn max_alerts_truncates_and_counts() {
    let hook = FakeWebhook::start().await.unwrap();
    for format in [WebhookFormat::Native, WebhookFormat::Alertmanager] {
        let mut config = WebhookConfig::new(hook.url()).with_format(format);
        config.max_alerts = 2;
        let n = WebhookNotifier::new(config).unwrap();
        let alerts: Vec<Alert> = (0..5)
            .map(|i| Alert::new(Severity::Warning, "Drift").with_label("col", i.to_string()))
            .collect();
        n.notify_group(&alerts).await.unwrap();
        let body = hook.recorder().take()[0].json().unwrap();
        assert_eq!(body["alerts"].as_array().unwrap().len(), 2, "{format:?}");
        let truncated = match format {
            WebhookFormat::Native => &body["truncated_alerts"],
            _ => &body["truncatedAlerts"],
        };
        assert_eq!(*truncated, 3, "{format:?}");
    }
}

#[tokio::test]
async fn alertmanager_summary_fields_describe_the_alerts_sent() {
    // As upstream: truncate first, then compute status, commonLabels and
    // commonAnnotations from what is sent. groupLabels stay the group's.
    let hook = FakeWebhook::start().await.unwrap();
    let mut config = WebhookConfig::new(hook.url()).with_format(WebhookFormat::Alertmanager);
    config.max_alerts = 2;
    let n = WebhookNotifier::new(config).unwrap();
    let end = Timestamp::from_unix_seconds(1_795_503_600).unwrap();
    let alerts = [
        Alert::new(Severity::Warning, "Drift")
            .with_label("team", "ml")
            .with_annotation("dashboard", "d1")
            .resolved_at(end),
        Alert::new(Severity::Warning, "Drift")
            .with_label("team", "ml")
            .with_annotation("dashboard", "d1")
            .resolved_at(end),
        // Left out: it fires and has another team.
        Alert::new(Severity::Critical, "Drift").with_label("team", "data"),
    ];
    n.notify_group(&alerts).await.unwrap();
    let body = hook.recorder().take()[0].json().unwrap();
    assert_eq!(body["truncatedAlerts"], 1);
    assert_eq!(body["status"], "resolved");
    assert_eq!(
        body["commonLabels"],
        serde_json::json!({"alertname": "Drift", "severity": "warning", "team": "ml"})
    );
    assert_eq!(
        body["commonAnnotations"],
        serde_json::json!({"dashboard": "d1"})
    );
    assert_eq!(
        body["groupLabels"],
        serde_json::json!({"alertname": "Drift"})
    );
    assert_eq!(body["groupKey"], "{}:{alertname=\"Drift\"}");
    assert_eq!(body["alerts"][0]["endsAt"], "2026-11-24T07:00:00Z");
}

#[tokio::test]
async fn configured_headers_are_sent_once_and_win_over_defaults() {
    let hook = FakeWebhook::start().await.unwrap();
    let n = WebhookNotifier::new(
        WebhookConfig::new(hook.url())
            .with_header("Content-Type", "application/vnd.acme+json; charset=utf-8")
            .with_header("X-Team", "ml"),
    )
    .unwrap();
    n.notify(&sample()).await.unwrap();
    let sent = hook.recorder().take();
    let content_types: Vec<&String> = sent[0]
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(content_types, ["application/vnd.acme+json; charset=utf-8"]);
    assert_eq!(sent[0].header("x-team"), Some("ml"));
    assert_eq!(sent[0].header("idempotency-key"), None);

    // A fixed Idempotency-Key would make a receiver drop every notification after
    // the first: refused, naming the header.
    let e = WebhookNotifier::new(
        WebhookConfig::new(hook.url()).with_header("Idempotency-Key", "k-123"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("headers.Idempotency-Key") && e.contains("drop"),
        "{e}"
    );
    // The same header twice (names are case-insensitive) would send one silently.
    let e = WebhookNotifier::new(
        WebhookConfig::new(hook.url())
            .with_header("Authorization", "Bearer a-s3cret")
            .with_header("authorization", "Bearer b-s3cret"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("set twice"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
}

#[tokio::test]
async fn answers_are_classified_and_garbage_2xx_is_a_delivery() {
    let hook = FakeWebhook::start().await.unwrap();
    let n = WebhookNotifier::new(WebhookConfig::new(hook.url())).unwrap();
    let a = sample();
    hook.push(Reply::text(200, "\u{0}\u{1}\u{fffd} not json {{{"));
    let r = n.notify(&a).await.expect("a 2xx is a delivery");
    assert_eq!(r.id, None);
    hook.push(Reply::text(503, "busy").with_header("retry-after", "12"));
    let e = n.notify(&a).await.unwrap_err();
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(12)));
    hook.push(Reply::text(500, "<html><title>Oops</title></html>"));
    let e = n.notify(&a).await.unwrap_err();
    assert_eq!(e.retryable(), Retry::Backoff);
    hook.push(Reply::text(413, "too big"));
    let e = n.notify(&a).await.unwrap_err();
    assert_eq!((e.kind(), e.retryable()), ("rejected", Retry::Never));
    hook.push(Reply::text(404, "no such hook"));
    assert!(n.notify(&a).await.unwrap_err().disables_destination());
    hook.push(Reply::text(204, ""));
    n.notify(&a).await.expect("204 is a delivery");
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_retryable_and_secret_free() {
    let hook = FakeWebhook::start().await.unwrap();
    let mut config = WebhookConfig::new(format!("{}/x/{PATH_TOKEN}", hook.url()));
    config.timeout_secs = 1;
    let n = WebhookNotifier::new(config).unwrap();
    hook.push(Reply::ok().with_delay(Duration::from_secs(3)));
    let e = n.notify(&sample()).await.unwrap_err();
    assert_eq!((e.kind(), e.retryable()), ("timeout", Retry::Backoff));

    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let n = WebhookNotifier::new(WebhookConfig::new(format!(
        "http://127.0.0.1:{port}/x/{PATH_TOKEN}"
    )))
    .unwrap();
    let e = n.notify(&sample()).await.unwrap_err();
    assert_eq!((e.kind(), e.retryable()), ("transport", Retry::Backoff));
    let text = format!("{e} {e:?}");
    assert!(!text.contains(PATH_TOKEN), "{text}");
}

#[test]
fn config_from_files_and_env() {
    let err = serde_json::from_str::<WebhookConfig>(r#"{"url":"https://x","formt":"native"}"#)
        .expect_err("unknown key");
    assert!(err.to_string().contains("unknown field `formt`"), "{err}");
    let c: WebhookConfig = serde_json::from_str(
        r#"{"url":"https://x/t","format":"alertmanager","headers":{"X-Key":"k-s3cret"},
            "timeout_secs":3,"receiver":"ops","external_url":"http://am:9093","max_alerts":10,
            "severity":{"critical":"page"}}"#,
    )
    .unwrap();
    assert_eq!(c.format, WebhookFormat::Alertmanager);
    assert_eq!(c.severity.critical, "page");
    assert_eq!(c.severity.info, "info");
    assert!(!format!("{c:?}").contains("k-s3cret"));

    let env = |k: &str| match k {
        "ALERT_WEBHOOK_URL" => Some("https://hooks.example/abc".to_owned()),
        "ALERT_WEBHOOK_FORMAT" => Some("alertmanager".to_owned()),
        "ALERT_WEBHOOK_HEADERS" => Some("Authorization: Bearer x; X-Team: ml".to_owned()),
        "ALERT_WEBHOOK_TIMEOUT_SECS" => Some("4".to_owned()),
        _ => None,
    };
    let c = WebhookConfig::from_lookup(env).unwrap();
    assert_eq!(c.format, WebhookFormat::Alertmanager);
    assert_eq!(c.headers.len(), 2);
    assert_eq!(c.headers["X-Team"].expose(), "ml");
    assert_eq!(c.timeout_secs, 4);
    let e = WebhookConfig::from_lookup(|_| None).unwrap_err();
    assert!(e.to_string().contains("ALERT_WEBHOOK_URL"), "{e}");
    let e = WebhookConfig::from_lookup(|k| match k {
        "ALERT_WEBHOOK_URL" => Some("https://x".into()),
        "ALERT_WEBHOOK_FORMAT" => Some("xml".into()),
        _ => None,
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("ALERT_WEBHOOK_FORMAT") && e.to_string().contains("xml"),
        "{e}"
    );
}
