//! Events and service checks against the Datadog fake: exact payloads and headers,
//! tag normalisation, text safety, and every error classification.

use std::time::Duration;

use alert_core::{Alert, Notifier, NotifyError, Receipt, Retry, Severity, Timestamp};
use alert_datadog::fake::{FAKE_API_KEY, FIRST_EVENT_ID, Failure, FakeDatadog};
use alert_datadog::tags::is_valid_tag;
use alert_datadog::{DatadogConfig, DatadogNotifier, ServiceCheckConfig};
use alert_testkit::corpus;
use alert_testkit::fake::Recorded;
use serde_json::{Value, json};

const HOUR: Duration = Duration::from_secs(3600);

async fn start() -> (FakeDatadog, DatadogNotifier) {
    let fake = FakeDatadog::start().await.expect("fake starts");
    let notifier = DatadogNotifier::new(fake.config()).expect("valid config");
    (fake, notifier)
}

fn alert(severity: Severity, started: Timestamp) -> Alert {
    Alert::new(severity, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.81")
        .with_message("Nightly eval.")
        .with_label("model", "bikes")
        .with_starts_at(started)
}

fn only_request(fake: &FakeDatadog) -> Recorded {
    let mut reqs = fake.recorder().take();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    reqs.remove(0)
}

fn assert_event_headers(r: &Recorded) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/v1/events");
    assert_eq!(r.query, None);
    assert_eq!(r.header("DD-API-KEY"), Some(FAKE_API_KEY));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("accept"), Some("application/json"));
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(
        r.header("dd-application-key"),
        None,
        "no application key is needed"
    );
    assert!(
        r.header("user-agent")
            .is_some_and(|u| u.starts_with("ml-alerts/") && u.ends_with("(alert-datadog)")),
        "{:?}",
        r.header("user-agent")
    );
}

#[tokio::test]
async fn exact_event_for_each_severity() {
    let (fake, n) = start().await;
    let started = Timestamp::now().saturating_sub(HOUR);
    for (i, (severity, marker, alert_type, priority)) in [
        (Severity::Info, "INFO", "info", "low"),
        (Severity::Warning, "WARNING", "warning", "normal"),
        (Severity::Error, "ERROR", "error", "normal"),
        (Severity::Critical, "CRITICAL", "error", "normal"),
    ]
    .into_iter()
    .enumerate()
    {
        let a = alert(severity, started);
        let receipt = n.notify(&a).await.expect("delivered");
        let r = only_request(&fake);
        assert_event_headers(&r);
        assert_eq!(
            r.json().expect("json"),
            json!({
                "title": format!("[{marker}] Accuracy fell to 0.81"),
                "text": format!("%%% \n**\\[{marker}\\] Accuracy fell to 0.81**\nNightly eval.\nLabels: model=bikes\n %%%"),
                "alert_type": alert_type,
                "priority": priority,
                "tags": ["alertname:accuracydrop", format!("severity:{}", severity.as_str()), "status:firing", "model:bikes"],
                "aggregation_key": a.fingerprint().to_string(),
                "source_type_name": "my_apps",
                "date_happened": started.unix_seconds(),
            }),
            "{severity}"
        );
        let id = FIRST_EVENT_ID + i as u64;
        assert_eq!(receipt.channel, "datadog");
        assert_eq!(receipt.id, Some(id.to_string()));
        assert_eq!(
            receipt.url.as_deref(),
            Some(format!("https://app.datadoghq.com/event/event?id={id}").as_str())
        );
        assert_eq!(
            receipt.meta("aggregation_key"),
            Some(a.fingerprint().to_string().as_str())
        );
    }
    assert_eq!(fake.events().len(), 4);
}

#[tokio::test]
async fn resolution_folds_onto_the_firing_event() {
    let (fake, n) = start().await;
    let now = Timestamp::now();
    let firing = alert(Severity::Critical, now.saturating_sub(HOUR * 2))
        .with_runbook("https://runbooks.example/accuracy");
    let receipt = n.notify(&firing).await.expect("firing delivered");
    let first = only_request(&fake).json().expect("json");
    let resolved = firing.clone().resolved_at(now.saturating_sub(HOUR / 2));
    let receipt2 = n
        .update(&resolved, &receipt)
        .await
        .expect("resolution delivered");
    let r = only_request(&fake);
    assert_event_headers(&r);
    assert_eq!(
        r.json().expect("json"),
        json!({
            "title": "[RESOLVED] Accuracy fell to 0.81",
            "text": "%%% \n**\\[RESOLVED\\] Accuracy fell to 0.81**\nNightly eval.\n[Runbook](https://runbooks.example/accuracy)\nLabels: model=bikes\n %%%",
            "alert_type": "success",
            "priority": "normal",
            "tags": ["alertname:accuracydrop", "severity:critical", "status:resolved", "model:bikes"],
            "aggregation_key": firing.fingerprint().to_string(),
            "source_type_name": "my_apps",
            "date_happened": now.unix_seconds() - 1800,
            "related_event_id": FIRST_EVENT_ID,
        })
    );
    assert_eq!(
        first["aggregation_key"],
        r.json().expect("json")["aggregation_key"]
    );
    assert_eq!(receipt2.id, Some((FIRST_EVENT_ID + 1).to_string()));
    // A receipt from another channel (or without a numeric id) links nothing.
    n.update(
        &resolved,
        &Receipt::new("slack").with_id("1700000000.000100"),
    )
    .await
    .expect("delivered");
    assert!(
        only_request(&fake)
            .json()
            .expect("json")
            .get("related_event_id")
            .is_none()
    );
}

#[tokio::test]
async fn configured_host_tags_source_and_severity_overrides() {
    let fake = FakeDatadog::start().await.expect("fake");
    let mut map = alert_datadog::DatadogSeverityMap::default();
    map.info.priority = alert_datadog::EventPriority::Normal;
    let config = fake
        .config()
        .with_host("trainer-1")
        .with_tag("Team:ML")
        .with_severity(map);
    let n = DatadogNotifier::new(config).expect("valid");
    let a = Alert::new(Severity::Info, "TrainingDone").with_source(
        alert_core::Source::model("bikes")
            .version("3")
            .environment("prod")
            .run_id("run-42"),
    );
    n.notify(&a).await.expect("delivered");
    let ev = only_request(&fake).json().expect("json");
    assert_eq!(ev["host"], "trainer-1");
    assert_eq!(ev["priority"], "normal");
    assert_eq!(
        ev["tags"],
        json!([
            "team:ml",
            "alertname:trainingdone",
            "severity:info",
            "status:firing",
            "model:bikes",
            "model_version:3",
            "env:prod",
            "run_id:run-42"
        ])
    );
}

fn case(name: &str) -> Alert {
    corpus::cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("corpus has {name}"))
        .alert
}

#[tokio::test]
async fn hostile_label_names_become_valid_tags() {
    let (fake, n) = start().await;
    n.notify(&case("hostile-label-names"))
        .await
        .expect("delivered");
    let ev = only_request(&fake).json().expect("json");
    let tags: Vec<&str> = ev["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t.as_str().expect("string tag"))
        .collect();
    let long = format!("{}:{}", "k".repeat(100), "v".repeat(99));
    assert_eq!(
        tags,
        [
            "alertname:hostilelabels",
            "severity:warning",
            "status:firing",
            "model:bikes",
            "model_version:3",
            "env:prod",
            "run_id:run-42",
            "label:empty-key",
            "leading-colon:x:y:z",
            "upper_case:ünicode",
            "weird_key:value_with_spaces",
            long.as_str(),
        ]
    );
    for t in tags {
        assert!(is_valid_tag(t), "{t}");
    }
}

/// The fenced body of an event text.
fn inner(text: &str) -> &str {
    text.strip_prefix("%%% \n")
        .and_then(|t| t.strip_suffix("\n %%%"))
        .expect("fenced")
}

#[tokio::test]
async fn text_is_fitted_and_cannot_escape_its_fence() {
    let (fake, n) = start().await;
    for name in [
        "message-100kb",
        "message-100kb-multibyte",
        "title-10k",
        "labels-1000",
        "injection",
        "emoji",
    ] {
        n.notify(&case(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ev = only_request(&fake).json().expect("json");
        let text = ev["text"].as_str().expect("text");
        assert!(
            text.chars().count() <= 4000,
            "{name}: {}",
            text.chars().count()
        );
        let body = inner(text);
        assert!(!body.contains("%%"), "{name}");
        assert!(!body.contains('@'), "{name}");
        assert!(
            ev["title"].as_str().expect("title").chars().count() <= 500,
            "{name}"
        );
        assert!(ev["tags"].as_array().expect("tags").len() <= 100, "{name}");
    }
    // The injection case, line by line: nothing links, fences, mentions or formats.
    n.notify(&case("injection")).await.expect("delivered");
    let ev = only_request(&fake).json().expect("json");
    let body = inner(ev["text"].as_str().expect("text")).to_owned();
    for bad in [
        "<!channel>",
        "[click me](",
        "%%%",
        "```",
        "@everyone",
        "@here",
        "https://evil",
        "<script>",
    ] {
        assert!(!body.contains(bad), "{bad:?} survived in {body}");
    }
    assert!(
        body.contains("\\[click me\\](https\\://evil.example/phish)"),
        "{body}"
    );
    assert!(body.contains("\u{FF20}everyone"), "{body}");
    assert!(!ev["title"].as_str().expect("title").contains('@'));
    // A long message keeps the title and runbook, and says nothing past 4,000.
    let big = case("message-100kb").with_runbook("https://runbooks.example/huge");
    n.notify(&big).await.expect("delivered");
    let ev = only_request(&fake).json().expect("json");
    let body = inner(ev["text"].as_str().expect("text")).to_owned();
    assert!(
        body.starts_with("**\\[ERROR\\] HugeMessage on bikes**"),
        "{}",
        &body[..80]
    );
    assert!(body.contains("[Runbook](https://runbooks.example/huge)"));
}

#[tokio::test]
async fn service_checks_follow_the_alert_state() {
    let fake = FakeDatadog::start().await.expect("fake");
    let n = DatadogNotifier::new(
        fake.config()
            .with_host("trainer-1")
            .with_service_check(ServiceCheckConfig::new("ml.model.health")),
    )
    .expect("valid");
    let a = alert(Severity::Error, Timestamp::now().saturating_sub(HOUR)).with_message("x@y");
    let receipt = n.notify(&a).await.expect("delivered");
    assert_eq!(receipt.meta("check_status"), Some("CRITICAL"));
    let reqs = fake.recorder().take();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/api/v1/check_run", "/api/v1/events"],
        "check first"
    );
    assert_eq!(reqs[0].header("dd-api-key"), Some(FAKE_API_KEY));
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    assert_eq!(
        reqs[0].json().expect("json"),
        json!([{
            "check": "ml.model.health",
            "host_name": "trainer-1",
            "status": 2,
            "tags": ["alertname:accuracydrop", "model:bikes"],
            "message": "[ERROR] Accuracy fell to 0.81",
        }])
    );
    assert_eq!(reqs[1].json().expect("json")["host"], "trainer-1");

    let resolved = a.clone().resolved_at(Timestamp::now());
    let r2 = n.update(&resolved, &receipt).await.expect("delivered");
    assert_eq!(r2.meta("check_status"), Some("OK"));
    let checks = fake.take_checks();
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[1]["status"], 0);
    assert_eq!(checks[1]["tags"], checks[0]["tags"], "same check instance");

    // A group: one check per alert in one request, one digest event.
    let group = vec![
        alert(Severity::Warning, Timestamp::now()).with_label("feature", "age"),
        alert(Severity::Info, Timestamp::now()).with_label("feature", "income"),
        alert(Severity::Critical, Timestamp::now()).with_label("feature", "zip"),
    ];
    fake.recorder().take();
    let gr = n.notify_group(&group).await.expect("delivered");
    let reqs = fake.recorder().take();
    assert_eq!(reqs.len(), 2);
    let statuses: Vec<u64> = reqs[0]
        .json()
        .expect("json")
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(statuses, [1, 0, 2]);
    let ev = reqs[1].json().expect("json");
    assert_eq!(ev["alert_type"], "error");
    assert!(
        ev["title"]
            .as_str()
            .expect("title")
            .starts_with("[CRITICAL] 3 firing"),
        "{}",
        ev["title"]
    );
    assert!(gr.id.is_some());

    // A refused check stops before the event: nothing half-sent.
    fake.fail_next(Failure::Forbidden);
    let e = n.notify(&a).await.expect_err("refused");
    assert_eq!(e.kind(), "unauthorized");
    let reqs = fake.recorder().take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/api/v1/check_run");
}

#[tokio::test]
async fn a_413_on_service_checks_splits_them_and_resends() {
    let fake = FakeDatadog::start().await.expect("fake");
    let n = DatadogNotifier::new(
        fake.config()
            .with_host("trainer-1")
            .with_service_check(ServiceCheckConfig::new("ml.model.health")),
    )
    .expect("valid");
    let group: Vec<Alert> = (0..5)
        .map(|i| alert(Severity::Error, Timestamp::now()).with_label("feature", format!("f{i}")))
        .collect();
    // Measure one check's body, then allow a little under two per request.
    n.notify(&group[0]).await.expect("one check");
    let one = fake.recorder().take()[0].body.len();
    fake.take_checks();
    fake.set_check_run_limit(Some(one * 2 - 10));

    let r = n
        .notify_group(&group)
        .await
        .expect("delivered after splitting");
    assert_eq!(r.meta("check_status"), Some("CRITICAL"));
    // 5 -> 413; [2] -> 413, [1] ok, [1] ok; [3] -> 413, [1] ok, [2] -> 413, [1] ok,
    // [1] ok; then the event.
    let reqs = fake.recorder().take();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths.iter().filter(|p| **p == "/api/v1/check_run").count(),
        9
    );
    assert_eq!(paths.last(), Some(&"/api/v1/events"));
    // Every check arrived exactly once, in order.
    let features: Vec<String> = fake
        .take_checks()
        .iter()
        .map(|c| {
            c["tags"]
                .as_array()
                .expect("tags")
                .iter()
                .filter_map(|t| t.as_str()?.strip_prefix("feature:").map(str::to_owned))
                .collect::<String>()
        })
        .collect();
    assert_eq!(features, ["f0", "f1", "f2", "f3", "f4"]);

    // A single check too large on its own cannot be split: permanent, and the
    // event is not sent.
    fake.set_check_run_limit(Some(10));
    let e = n.notify(&group[0]).await.expect_err("too large");
    assert_eq!((e.kind(), e.retryable()), ("rejected", Retry::Never));
    assert_eq!(e.status(), Some(413));
    let reqs = fake.recorder().take();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert!(fake.take_checks().is_empty());
}

fn no_key(e: &NotifyError) {
    let text = format!("{e} {e:?}");
    assert!(!text.contains(FAKE_API_KEY), "{text}");
    assert!(!text.contains("wrong-key-123456"), "{text}");
}

#[tokio::test]
async fn every_answer_is_classified() {
    let (fake, n) = start().await;
    let a = alert(Severity::Error, Timestamp::now());
    let cases: Vec<(Failure, &str, Retry, &str)> = vec![
        (
            Failure::BadRequest {
                message: "Event too far in the past".into(),
            },
            "rejected",
            Retry::Never,
            "datadog: rejected (HTTP 400): Event too far in the past",
        ),
        (
            Failure::Forbidden,
            "unauthorized",
            Retry::Never,
            "datadog: credentials refused (HTTP 403): API key refused by Datadog: Forbidden",
        ),
        (
            Failure::ForbiddenHtml,
            "unauthorized",
            Retry::Never,
            "datadog: credentials refused (HTTP 403): API key refused by Datadog: HTML page: Request forbidden by administrative rules",
        ),
        (
            Failure::NotFound,
            "gone",
            Retry::Never,
            "datadog: destination gone (HTTP 404): Not found",
        ),
        (
            Failure::PayloadTooLarge,
            "rejected",
            Retry::Never,
            "datadog: rejected (HTTP 413): payload too large: Payload too large",
        ),
        (
            Failure::RequestTimeout,
            "server",
            Retry::Backoff,
            "datadog: server error (HTTP 408): Request timeout",
        ),
        (
            Failure::RateLimited {
                reset: Duration::from_secs(7),
            },
            "rate_limited",
            Retry::After(Duration::from_secs(7)),
            "datadog: rate limited (retry after 7s)",
        ),
        (
            Failure::ServerError {
                status: 503,
                retry_after: Some(30),
            },
            "server",
            Retry::After(Duration::from_secs(30)),
            "datadog: server error (HTTP 503): Internal Server Error (retry after 30s)",
        ),
    ];
    for (failure, kind, retry, message) in cases {
        fake.fail_next(failure.clone());
        let e = n.notify(&a).await.expect_err("fails");
        assert_eq!(
            (e.kind(), e.retryable(), e.to_string().as_str()),
            (kind, retry, message),
            "{failure:?}"
        );
        assert_eq!(
            e.disables_destination(),
            matches!(kind, "unauthorized" | "gone"),
            "{failure:?}"
        );
        no_key(&e);
    }
    for status in [500, 502, 503, 504] {
        fake.fail_next(Failure::ServerError {
            status,
            retry_after: None,
        });
        let e = n.notify(&a).await.expect_err("fails");
        assert_eq!(
            (e.kind(), e.retryable(), e.status()),
            ("server", Retry::Backoff, Some(status))
        );
    }
    // Nothing was accepted, and the fake answered as Datadog does.
    assert!(fake.events().is_empty());
    n.notify(&a).await.expect("the fake recovers");
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_json_or_html_and_never_shown() {
    let fake = FakeDatadog::start().await.expect("fake");
    let config = DatadogConfig::new("wrong-key-123456").with_base_url(fake.url());
    let n = DatadogNotifier::new(config).expect("valid");
    let a = alert(Severity::Error, Timestamp::now());
    let e = n.notify(&a).await.expect_err("refused");
    assert_eq!(
        e.to_string(),
        "datadog: credentials refused (HTTP 403): API key refused by Datadog: Forbidden"
    );
    assert!(e.disables_destination());
    no_key(&e);
    assert_eq!(
        fake.recorder().take()[0].header("dd-api-key"),
        Some("wrong-key-123456")
    );
    fake.set_bad_key_html(true);
    let e = n.notify(&a).await.expect_err("refused");
    assert!(
        e.to_string()
            .ends_with("HTML page: Request forbidden by administrative rules"),
        "{e}"
    );
    let e = n.validate_api_key().await.expect_err("refused");
    assert_eq!(e.kind(), "unauthorized");
    let (_fake2, good) = start().await;
    good.validate_api_key().await.expect("valid key");
    assert!(!format!("{n:?}").contains("wrong-key"));
}

#[tokio::test]
async fn the_rate_window_answers_429_with_its_reset() {
    let (fake, n) = start().await;
    fake.set_rate_limit(2, Duration::from_secs(60));
    let a = alert(Severity::Warning, Timestamp::now());
    n.notify(&a).await.expect("1st");
    n.notify(&a).await.expect("2nd");
    let e = n.notify(&a).await.expect_err("3rd is over the limit");
    assert_eq!(e.kind(), "rate_limited");
    match e.retryable() {
        Retry::After(d) => assert!(
            d >= Duration::from_secs(58) && d <= Duration::from_secs(60),
            "{d:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.events().len(), 2);
}

#[tokio::test]
async fn connection_failures_and_timeouts() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let n = DatadogNotifier::new(
        DatadogConfig::new(FAKE_API_KEY).with_base_url(format!("http://127.0.0.1:{port}")),
    )
    .expect("valid");
    let a = alert(Severity::Error, Timestamp::now());
    let e = n.notify(&a).await.expect_err("refused connection");
    assert_eq!((e.kind(), e.retryable()), ("transport", Retry::Backoff));
    no_key(&e);
    assert!(
        !e.to_string().contains(&port.to_string()),
        "no URL in errors: {e}"
    );

    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            open.push(s);
        }
    });
    let n = DatadogNotifier::new(
        DatadogConfig::new(FAKE_API_KEY)
            .with_base_url(format!("http://{addr}"))
            .with_timeout(Duration::from_secs(1)),
    )
    .expect("valid");
    let e = n.notify(&a).await.expect_err("times out");
    assert_eq!((e.kind(), e.retryable()), ("timeout", Retry::Backoff));
    assert_eq!(e.to_string(), "datadog: timed out after 1s");
    hold.abort();
}

#[tokio::test]
async fn event_body_is_what_notify_sends() {
    let (fake, n) = start().await;
    let a = alert(Severity::Warning, Timestamp::now().saturating_sub(HOUR));
    let preview: Value = serde_json::from_str(&n.event_body(&a)).expect("json");
    n.notify(&a).await.expect("delivered");
    assert_eq!(only_request(&fake).json().expect("json"), preview);
}
