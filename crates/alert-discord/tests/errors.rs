//! Every way a send can fail, against the fake, and the retry classification each
//! gets. Secrets never show in an error.

use std::time::Duration;

use alert_core::{Alert, Notifier, NotifyError, Retry, Severity};
use alert_discord::fake::{FakeDiscord, FakeFailure};
use alert_discord::{DiscordConfig, DiscordNotifier};

async fn setup() -> (FakeDiscord, DiscordNotifier) {
    let fake = FakeDiscord::start().await.expect("fake starts");
    let notifier = DiscordNotifier::new(fake.config()).expect("valid config");
    (fake, notifier)
}

fn alert() -> Alert {
    Alert::new(Severity::Error, "ModelDown").with_message("no answers")
}

fn assert_no_secret(fake: &FakeDiscord, e: &NotifyError) {
    let mut texts = format!("{e}\n{e:?}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        texts.push_str(&format!("\n{s}\n{s:?}"));
        src = s.source();
    }
    assert!(
        !texts.contains(&fake.webhook_token()),
        "token leaked: {texts}"
    );
}

async fn fail_with(f: FakeFailure) -> (FakeDiscord, NotifyError) {
    let (fake, notifier) = setup().await;
    fake.fail_next(f);
    let e = notifier
        .notify(&alert())
        .await
        .expect_err("scripted failure");
    assert_no_secret(&fake, &e);
    assert!(!e.to_string().trim().is_empty());
    // The script is used up: the next send goes through.
    notifier
        .notify(&alert())
        .await
        .expect("delivered after the failure");
    (fake, e)
}

#[tokio::test]
async fn rate_limited_waits_at_least_the_advertised_time() {
    // Body says 7.25 s, Retry-After says 8 (rounded up): the larger wins.
    let (fake, e) = fail_with(FakeFailure::RateLimited {
        retry_after: Duration::from_millis(7250),
        global: false,
    })
    .await;
    assert_eq!(e.kind(), "rate_limited");
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(8)));
    assert!(!e.disables_destination());
    // The fake's 429 is Discord's: JSON without `code`, and the headers.
    let r = &fake.requests()[0];
    assert_eq!(r.method, "POST");
    let (fake, e) = fail_with(FakeFailure::RateLimited {
        retry_after: Duration::from_secs(3),
        global: true,
    })
    .await;
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(3)));
    drop(fake);
}

#[tokio::test]
async fn rate_limited_by_raw_body_only_or_header_only() {
    let (_, e) = fail_with(FakeFailure::Raw {
        status: 429,
        headers: vec![("content-type".into(), "application/json".into())],
        body: r#"{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}"#
            .into(),
    })
    .await;
    assert_eq!(e.retryable(), Retry::After(Duration::from_millis(1500)));
    let (_, e) = fail_with(FakeFailure::Raw {
        status: 429,
        headers: vec![("retry-after".into(), "12".into())],
        body: "<html><title>You are being blocked</title></html>".into(),
    })
    .await;
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(12)));
    let (_, e) = fail_with(FakeFailure::Raw {
        status: 429,
        headers: vec![("x-ratelimit-reset-after".into(), "0.750".into())],
        body: String::new(),
    })
    .await;
    assert_eq!(e.retryable(), Retry::After(Duration::from_millis(750)));
}

#[tokio::test(start_paused = true)]
async fn enforced_rate_limit_advertises_the_window() {
    let (fake, notifier) = setup().await;
    fake.enforce_rate_limit(2, Duration::from_secs(2), true);
    let r1 = notifier.notify(&alert()).await.expect("1st");
    assert_eq!(r1.meta("ratelimit_remaining"), Some("1"));
    let r2 = notifier.notify(&alert()).await.expect("2nd");
    assert_eq!(r2.meta("ratelimit_remaining"), Some("0"));
    let e = notifier.notify(&alert()).await.expect_err("3rd is limited");
    let Retry::After(d) = e.retryable() else {
        panic!("expected After, got {:?}", e.retryable())
    };
    assert!(
        d >= Duration::from_secs(1) && d <= Duration::from_secs(2),
        "{d:?}"
    );
    tokio::time::advance(d).await;
    notifier
        .notify(&alert())
        .await
        .expect("after the advertised wait");
    assert_eq!(fake.messages().len(), 3);
}

#[tokio::test]
async fn server_errors_back_off() {
    for f in [FakeFailure::BadGateway, FakeFailure::InternalError] {
        let (_, e) = fail_with(f.clone()).await;
        assert_eq!(e.kind(), "server", "{f:?}");
        assert_eq!(e.retryable(), Retry::Backoff, "{f:?}");
    }
    let (_, e) = fail_with(FakeFailure::BadGateway).await;
    assert!(e.to_string().contains("gateway unavailable"), "{e}");
    let (_, e) = fail_with(FakeFailure::Raw {
        status: 503,
        headers: vec![("retry-after".into(), "30".into())],
        body: "upstream connect error".into(),
    })
    .await;
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(30)));
}

#[tokio::test]
async fn dead_webhooks_are_permanent_and_disable_the_destination() {
    let (_, e) = fail_with(FakeFailure::UnknownWebhook).await;
    assert_eq!((e.kind(), e.status()), ("gone", Some(404)));
    assert_eq!(e.retryable(), Retry::Never);
    assert!(e.disables_destination());
    assert!(e.to_string().contains("code 10015"), "{e}");
    let (_, e) = fail_with(FakeFailure::InvalidToken).await;
    assert_eq!((e.kind(), e.status()), ("unauthorized", Some(401)));
    assert_eq!(e.retryable(), Retry::Never);
    assert!(e.disables_destination());
    assert!(e.to_string().contains("code 50027"), "{e}");

    // The same, for real: a deleted webhook and a wrong token.
    let (fake, notifier) = setup().await;
    let token = fake.webhook_token();
    fake.delete_webhook(fake.webhook_id());
    let e = notifier.notify(&alert()).await.expect_err("deleted");
    assert_eq!(e.kind(), "gone");
    assert!(!format!("{e} {e:?}").contains(&token), "{e:?}");
    let fake = FakeDiscord::start().await.expect("fake starts");
    let wrong = format!(
        "https://discord.com/api/webhooks/{}/WrongToken-123",
        fake.webhook_id()
    );
    let n = DiscordNotifier::new(DiscordConfig::new(wrong).with_api_base_url(fake.url()))
        .expect("valid config");
    let e = n.notify(&alert()).await.expect_err("wrong token");
    assert_eq!(e.kind(), "unauthorized");
    assert!(!e.to_string().contains("WrongToken"), "{e}");
}

#[tokio::test]
async fn invalid_form_body_lists_the_field_paths() {
    let (_, e) = fail_with(FakeFailure::InvalidFormBody).await;
    assert_eq!(e.kind(), "rejected");
    assert_eq!(e.retryable(), Retry::Never);
    assert!(!e.disables_destination());
    assert_eq!(
        e.to_string(),
        "discord: rejected (HTTP 400): invalid form body (code 50035): \
         embeds.0.description: Must be 4096 or fewer in length. (BASE_TYPE_MAX_LENGTH)"
    );
}

#[tokio::test]
async fn cloudflare_block_says_what_to_check() {
    let (_, e) = fail_with(FakeFailure::CloudflareBlock).await;
    assert_eq!(e.kind(), "rejected");
    assert_eq!(e.retryable(), Retry::Never);
    assert!(!e.disables_destination(), "the webhook itself may be fine");
    assert!(
        e.to_string().contains("40333") && e.to_string().contains("User-Agent"),
        "{e}"
    );
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let fake = FakeDiscord::start().await.expect("fake starts");
    let n = DiscordNotifier::new(
        DiscordConfig::new(fake.webhook_url())
            .with_api_base_url(format!("http://127.0.0.1:{port}")),
    )
    .expect("valid config");
    let e = n.notify(&alert()).await.expect_err("nobody listens");
    assert_eq!(e.kind(), "transport");
    assert_eq!(e.retryable(), Retry::Backoff);
    assert_no_secret(&fake, &e);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            if let Ok((s, _)) = listener.accept().await {
                held.push(s); // accept, never answer
            }
        }
    });
    let fake = FakeDiscord::start().await.expect("fake starts");
    let n = DiscordNotifier::new(
        DiscordConfig::new(fake.webhook_url())
            .with_api_base_url(format!("http://{addr}"))
            .with_timeout(Duration::from_secs(1)),
    )
    .expect("valid config");
    let e = n.notify(&alert()).await.expect_err("no answer");
    assert_eq!(e.kind(), "timeout");
    assert_eq!(e.retryable(), Retry::Backoff);
    hold.abort();
}

#[tokio::test]
async fn success_without_a_readable_message_is_still_a_success() {
    let (fake, notifier) = setup().await;
    fake.fail_next(FakeFailure::Raw {
        status: 200,
        headers: vec![],
        body: "not json".into(),
    });
    let r = notifier.notify(&alert()).await.expect("Discord said 200");
    assert_eq!(r.id, None);
    assert_eq!(r.meta("unconfirmed"), Some("true"));
    fake.fail_next(FakeFailure::Raw {
        status: 204,
        headers: vec![],
        body: String::new(),
    });
    let r = notifier.notify(&alert()).await.expect("204");
    assert_eq!(r.id, None);
}

#[tokio::test]
async fn other_client_errors_are_rejected_not_retried() {
    let (_, e) = fail_with(FakeFailure::Raw {
        status: 413,
        headers: vec![("content-type".into(), "application/json".into())],
        body: r#"{"message": "Request entity too large", "code": 40005}"#.into(),
    })
    .await;
    assert_eq!((e.kind(), e.retryable()), ("rejected", Retry::Never));
    assert!(e.to_string().contains("code 40005"), "{e}");
    let (_, e) = fail_with(FakeFailure::Raw {
        status: 403,
        headers: vec![("content-type".into(), "application/json".into())],
        body: r#"{"message": "Missing Permissions", "code": 50013}"#.into(),
    })
    .await;
    assert_eq!(e.kind(), "unauthorized");
    assert!(e.disables_destination());
}
