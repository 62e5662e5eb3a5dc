//! Every error classification, against the fake's real behaviour where it has one
//! and scripted answers otherwise; no secret in any of them.

use std::time::Duration;

use alert_core::{Alert, Notifier, NotifyError, Retry, Severity};
use alert_statuspal::fake::FakeStatuspal;
use alert_statuspal::{StatuspalConfig, StatuspalNotifier};
use alert_testkit::fake::Reply;

fn alert() -> Alert {
    Alert::new(Severity::Critical, "ModelDown").with_summary("Predictions are unavailable")
}

fn texts(e: &NotifyError) -> String {
    let mut s = format!("{e}\n{e:?}");
    let mut src = std::error::Error::source(e);
    while let Some(x) = src {
        s.push_str(&format!("\n{x}\n{x:?}"));
        src = x.source();
    }
    s
}

fn assert_no_secret(e: &NotifyError, secret: &str) {
    let t = texts(e);
    assert!(!t.contains(secret), "secret leaked: {t}");
}

async fn fail(fake: &FakeStatuspal, config: StatuspalConfig) -> NotifyError {
    let n = StatuspalNotifier::new(config).expect("valid config");
    let e = n.notify(&alert()).await.expect_err("an error");
    assert_no_secret(&e, &fake.api_key());
    e
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_says_so() {
    let fake = FakeStatuspal::start().await.unwrap();
    let mut c = fake.config();
    c.api_key = "wrong-key-9876543210".into();
    let e = fail(&fake, c).await;
    assert_eq!(e.kind(), "unauthorized");
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.retryable(), Retry::Never);
    assert!(e.disables_destination());
    let m = e.to_string();
    assert!(
        m.contains("API key was refused for status page `acme`"),
        "{m}"
    );
    assert!(m.contains("Unauthorized"), "the raw body is quoted: {m}");
    assert!(!texts(&e).contains("wrong-key-9876543210"));
}

#[tokio::test]
async fn a_page_the_key_cannot_access_is_unauthorized() {
    let fake = FakeStatuspal::start().await.unwrap();
    fake.add_forbidden_page("other");
    let mut c = fake.config();
    c.subdomain = "other".into();
    let e = fail(&fake, c).await;
    assert_eq!((e.kind(), e.status()), ("unauthorized", Some(403)));
    assert!(e.to_string().contains("`other`"), "{e}");
}

#[tokio::test]
async fn an_unknown_subdomain_is_gone() {
    let fake = FakeStatuspal::start().await.unwrap();
    let mut c = fake.config();
    c.subdomain = "acme-typo".into();
    let e = fail(&fake, c).await;
    assert_eq!((e.kind(), e.status()), ("gone", Some(404)));
    assert_eq!(e.retryable(), Retry::Never);
    assert!(e.disables_destination());
    assert!(
        e.to_string()
            .contains("status page `acme-typo` not found (check the subdomain and the region)"),
        "{e}"
    );
}

#[tokio::test]
async fn the_rate_window_gives_rate_limited_with_backoff() {
    let fake = FakeStatuspal::start().await.unwrap();
    fake.set_rate_limit(Some((3, Duration::from_secs(60))));
    let mut c = fake.config();
    c.relist_interval_secs = 3600;
    let n = StatuspalNotifier::new(c).unwrap();
    n.notify(&alert()).await.expect("list + create");
    n.notify(&alert()).await.expect("update");
    let e = n.notify(&alert()).await.expect_err("over the window");
    assert_eq!(e.kind(), "rate_limited");
    assert_eq!(
        e.retryable(),
        Retry::Backoff,
        "no Retry-After is documented"
    );
    assert!(!e.disables_destination());

    // If Statuspal ever sends Retry-After, it is honoured.
    fake.set_rate_limit(Some((0, Duration::from_secs(60))));
    fake.set_retry_after_header(Some(7));
    let e = n.notify(&alert()).await.expect_err("429");
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(7)));
}

#[tokio::test]
async fn the_notifier_recovers_when_the_rate_window_reopens() {
    // A window far longer than the test, reopened by the fake rather than by
    // waiting: nothing depends on how fast the machine is. (The fake's sliding
    // window itself is tested with explicit instants in its unit tests.)
    let fake = FakeStatuspal::start().await.unwrap();
    fake.set_rate_limit(Some((1, Duration::from_secs(3600))));
    let mut c = fake.config();
    c.relist_interval_secs = 0;
    let n = StatuspalNotifier::new(c).unwrap();
    let _ = n.sync().await.expect("one request");
    let e = n.sync().await.expect_err("second within the window");
    assert_eq!(e.kind(), "rate_limited");
    fake.reset_rate_window();
    n.sync()
        .await
        .expect("the window moved on: no state in the client blocks it");
    assert_eq!(fake.recorder().all().len(), 3);
}

#[tokio::test]
async fn server_errors_back_off_and_quote_the_body() {
    let fake = FakeStatuspal::start().await.unwrap();
    for (reply, status, needle) in [
        (
            Reply::json(
                500,
                &serde_json::json!({"errors": {"detail": "Internal Server Error"}}),
            ),
            500,
            "Internal Server Error",
        ),
        (
            Reply::text(
                502,
                "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>",
            ),
            502,
            "HTML page: 502 Bad Gateway",
        ),
        (Reply::text(503, "maintenance"), 503, "maintenance"),
        (Reply::text(408, "slow"), 408, "slow"),
    ] {
        fake.fail_next(reply);
        let e = fail(&fake, fake.config()).await;
        assert_eq!((e.kind(), e.status()), ("server", Some(status)));
        assert_eq!(e.retryable(), Retry::Backoff);
        assert!(e.to_string().contains(needle), "{e}");
    }
}

#[tokio::test]
async fn invalid_requests_are_rejected_with_the_body() {
    let fake = FakeStatuspal::start().await.unwrap();
    // The fake's own validation: a service id the page does not have.
    let c = fake.config().with_default_services([999]);
    let e = fail(&fake, c).await;
    assert_eq!((e.kind(), e.status()), ("rejected", Some(422)));
    assert_eq!(e.retryable(), Retry::Never);
    assert!(!e.disables_destination());
    assert!(e.to_string().contains("service_ids"), "{e}");
    // An update type the API does not know.
    let mut c = fake.config();
    c.api.update_types.issue = "kaboom".into();
    let e = fail(&fake, c).await;
    assert_eq!(e.status(), Some(422));
    // A scripted 400.
    fake.fail_next(Reply::json(
        400,
        &serde_json::json!({"errors": {"detail": "Bad Request"}}),
    ));
    let e = fail(&fake, fake.config()).await;
    assert_eq!((e.kind(), e.status()), ("rejected", Some(400)));
}

#[tokio::test]
async fn an_echoed_key_is_scrubbed_from_messages() {
    let fake = FakeStatuspal::start().await.unwrap();
    let key = fake.api_key();
    fake.fail_next(Reply::text(401, format!("invalid key {key}")));
    let e = fail(&fake, fake.config()).await;
    assert!(e.to_string().contains("invalid key **REDACTED**"), "{e}");
}

#[tokio::test]
async fn an_unreadable_success_is_a_server_error() {
    let fake = FakeStatuspal::start().await.unwrap();
    let mut c = fake.config();
    c.relist_interval_secs = 3600;
    let n = StatuspalNotifier::new(c).unwrap();
    n.sync().await.unwrap();
    fake.fail_next(Reply::text(201, "<html>created</html>"));
    let e = n.notify(&alert()).await.expect_err("no id");
    assert_eq!(e.kind(), "server");
    assert_eq!(e.retryable(), Retry::Backoff);
    assert!(e.to_string().contains("unreadable answer"), "{e}");
    // An answer without an id is also retried, not trusted.
    n.sync().await.unwrap();
    fake.fail_next(Reply::json(
        201,
        &serde_json::json!({"incident": {"title": "x"}}),
    ));
    let e = n.notify(&alert()).await.expect_err("no id");
    assert!(e.to_string().contains("no incident id"), "{e}");
    // A list that is not a list.
    let fresh = StatuspalNotifier::new(fake.config()).unwrap();
    fake.fail_next(Reply::json(200, &serde_json::json!({"incidents": "nope"})));
    let e = fresh.notify(&alert()).await.expect_err("bad list");
    assert_eq!(e.kind(), "server");
    assert!(e.to_string().contains("unexpected shape"), "{e}");
    // A success without an incident list is not taken for an empty page.
    fake.fail_next(Reply::json(200, &serde_json::json!({"data": []})));
    let e = fresh.notify(&alert()).await.expect_err("no list");
    assert!(e.to_string().contains("missing field `incidents`"), "{e}");
    assert!(
        fake.incidents().is_empty(),
        "nothing is created after a broken list"
    );
}

#[tokio::test]
async fn connection_failures_are_transport_errors() {
    // Bind and drop a listener: nothing listens on that port afterwards.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = StatuspalConfig::new("key-abcdef-123", "acme")
        .with_base_url(format!("http://127.0.0.1:{port}/api/v2"));
    let n = StatuspalNotifier::new(c).unwrap();
    let e = n.notify(&alert()).await.expect_err("refused");
    assert_eq!(e.kind(), "transport");
    assert_eq!(e.retryable(), Retry::Backoff);
    assert!(!texts(&e).contains("key-abcdef-123"));
    // reqwest errors are stripped of their URL (the connect error still names the
    // address it could not reach, which is no secret).
    assert!(
        !texts(&e).contains("/api/v2"),
        "no URL in errors: {}",
        texts(&e)
    );
}

#[tokio::test]
async fn slow_answers_time_out() {
    let fake = FakeStatuspal::start().await.unwrap();
    fake.fail_next(Reply::ok().with_delay(Duration::from_secs(5)));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let n = StatuspalNotifier::with_http_client(fake.config(), client).unwrap();
    let e = n.notify(&alert()).await.expect_err("timeout");
    assert_eq!(e.kind(), "timeout");
    assert_eq!(e.retryable(), Retry::Backoff);
}
