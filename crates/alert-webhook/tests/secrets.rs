//! No piece of a secret URL or header reaches an error, even when the receiver
//! echoes only part of one (the path without the host, the token without
//! `Bearer `, the query, the user name and password).

use alert_core::{Alert, Notifier, NotifyError, Severity};
use alert_webhook::fake::{FakeWebhook, Reply};
use alert_webhook::{WebhookConfig, WebhookNotifier};

const PATH_TOKEN: &str = "T0ken1n7hePath9";
const SIG: &str = "s1gnatureQu3ry77";
const USER: &str = "deploy-bot-user";
const PASS: &str = "pa55w0rd-in-url";
const BEARER: &str = "bearer-t0ken-xyz123";
const API_KEY: &str = "api-key-0987654321";
const SECRETS: [&str; 5] = [PATH_TOKEN, SIG, USER, PASS, BEARER];

async fn setup() -> (FakeWebhook, WebhookNotifier) {
    let sink = FakeWebhook::start().await.expect("sink starts");
    let url = format!(
        "http://{USER}:{PASS}@{}/hooks/{PATH_TOKEN}?sig={SIG}&v=1",
        sink.addr()
    );
    let n = WebhookNotifier::new(
        WebhookConfig::new(url)
            .with_header("Authorization", format!("Bearer {BEARER}"))
            .with_header("X-Api-Key", API_KEY),
    )
    .expect("valid config");
    (sink, n)
}

fn text_of(e: &NotifyError) -> String {
    format!("{e} | {e:?}")
}

fn assert_clean(text: &str) {
    for s in SECRETS.iter().chain([&API_KEY, &"/hooks/"]) {
        assert!(!text.contains(s), "{s} leaked: {text}");
    }
}

#[tokio::test]
async fn an_echoed_path_query_and_header_tokens_are_scrubbed() {
    let (sink, n) = setup().await;
    sink.echo_next(404);
    let e = n
        .notify(&Alert::new(Severity::Error, "X"))
        .await
        .unwrap_err();
    let text = text_of(&e);
    // The echo happened (the test would prove nothing otherwise) ...
    assert!(text.contains("Cannot POST"), "{text}");
    assert!(text.contains("invalid authorization"), "{text}");
    assert!(text.contains("invalid x-api-key"), "{text}");
    assert!(text.contains("**REDACTED**"), "{text}");
    // ... and nothing of the secrets is left.
    assert_clean(&text);
}

#[tokio::test]
async fn scripted_partial_echoes_are_scrubbed() {
    let (sink, n) = setup().await;
    let alert = Alert::new(Severity::Error, "X");
    for body in [
        format!("no such hook: {PATH_TOKEN}"),
        format!(r#"{{"error":"Cannot POST \/hooks\/{PATH_TOKEN}"}}"#),
        format!("hooks/{PATH_TOKEN}?sig={SIG}&v=1 not found"),
        format!("bad signature {SIG}"),
        format!("user {USER} with password {PASS} refused"),
        format!("credentials {USER}:{PASS} refused"),
        format!("token {BEARER} expired"),
        format!("key {API_KEY} unknown"),
    ] {
        sink.push(Reply::text(401, body.clone()));
        let text = text_of(&n.notify(&alert).await.unwrap_err());
        assert!(text.contains("**REDACTED**"), "{body} -> {text}");
        assert_clean(&text);
    }
    // Short, common words of the configuration are left alone: the message stays
    // readable.
    sink.push(Reply::text(400, "field v is required"));
    let text = text_of(&n.notify(&alert).await.unwrap_err());
    assert!(text.contains("field v is required"), "{text}");
}
