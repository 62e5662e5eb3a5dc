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

/// Sends one raw execute request to the fake, as the notifier would, and returns
/// the answer: status, headers, body.
async fn raw_execute(fake: &FakeDiscord) -> (u16, reqwest::header::HeaderMap, String) {
    let url = format!(
        "{}/api/v10/webhooks/{}/{}?wait=true",
        fake.url(),
        fake.webhook_id(),
        fake.webhook_token()
    );
    let r = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
        .post(url)
        .json(&serde_json::json!({"content": "probe"}))
        .send()
        .await
        .expect("an answer");
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.expect("body"))
}

#[tokio::test]
async fn rate_limited_waits_at_least_the_advertised_time() {
    // Body says 7.25 s, Retry-After says 8 (rounded up): the larger wins.
    let limited = FakeFailure::RateLimited {
        retry_after: Duration::from_millis(7250),
        global: false,
    };
    // First, what the fake answers (the notifier never shows it): Discord's 429,
    // JSON without `code`, with Retry-After and the route's headers.
    let (fake, notifier) = setup().await;
    fake.fail_next(limited.clone());
    let (status, h, body) = raw_execute(&fake).await;
    assert_eq!(status, 429);
    assert_eq!(h["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        v,
        serde_json::json!({"message": "You are being rate limited.", "retry_after": 7.25, "global": false})
    );
    assert!(v.get("code").is_none(), "a 429 has no `code`: {v}");
    assert_eq!(h["retry-after"], "8");
    assert_eq!(h["x-ratelimit-reset-after"], "7.250");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert_eq!(h["x-ratelimit-scope"], "user");
    assert!(h.contains_key("x-ratelimit-reset") && h.contains_key("x-ratelimit-bucket"));
    drop((fake, notifier));

    // Then the same answer, to the notifier.
    let (fake, e) = fail_with(limited).await;
    assert_eq!(e.kind(), "rate_limited");
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(8)));
    assert!(!e.disables_destination());
    // The notifier sent one request that got the 429, then the one that went through.
    let methods: Vec<String> = fake.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["POST", "POST"]);
    assert_eq!(fake.messages().len(), 1);

    // The global limit: only Retry-After and the body's delay, no route headers.
    let (fake, notifier) = setup().await;
    let global = FakeFailure::RateLimited {
        retry_after: Duration::from_secs(3),
        global: true,
    };
    fake.fail_next(global.clone());
    let (status, h, body) = raw_execute(&fake).await;
    assert_eq!(status, 429);
    assert!(body.contains(r#""global":true"#), "{body}");
    assert_eq!(
        (&h["x-ratelimit-global"], &h["x-ratelimit-scope"]),
        (
            &"true".parse().expect("value"),
            &"global".parse().expect("value")
        )
    );
    assert!(!h.contains_key("x-ratelimit-bucket"));
    drop((fake, notifier));
    let (_, e) = fail_with(global).await;
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(3)));

    // A shared resource's limit: its Retry-After, not the route bucket's reset.
    let (_, e) = fail_with(FakeFailure::ResourceRateLimited {
        retry_after: Duration::from_secs(20),
    })
    .await;
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(20)));
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

// The clock is real while requests are in flight: a paused clock auto-advances
// to the next timer (reqwest's timeout) whenever the runtime waits on socket IO,
// which can time a request out. It is paused only to skip the window, with no
// request in flight and no pooled connection left to go stale.
#[tokio::test]
async fn enforced_rate_limit_advertises_the_window() {
    let fake = FakeDiscord::start().await.expect("fake starts");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let notifier = DiscordNotifier::new(fake.config())
        .expect("valid config")
        .with_http_client(client);
    // Two a minute: the third within the minute is limited, however slow the
    // machine.
    fake.enforce_rate_limit(2, Duration::from_secs(60), true);
    let r1 = notifier.notify(&alert()).await.expect("1st");
    let r2 = notifier.notify(&alert()).await.expect("2nd");
    // Receipts carry the bucket's state for a rate governor.
    assert_eq!(r1.meta("ratelimit_limit"), Some("2"));
    assert_eq!(r1.meta("ratelimit_remaining"), Some("1"));
    assert_eq!(r2.meta("ratelimit_remaining"), Some("0"));
    let bucket = r1.meta("ratelimit_bucket").expect("bucket");
    assert!(
        bucket.len() == 16 && bucket.bytes().all(|b| b.is_ascii_hexdigit()),
        "{bucket}"
    );
    assert_eq!(r2.meta("ratelimit_bucket"), Some(bucket), "same route");
    for r in [&r1, &r2] {
        let after: f64 = r
            .meta("ratelimit_reset_after")
            .expect("reset_after")
            .parse()
            .expect("seconds");
        assert!(after > 0.0 && after <= 60.0, "{after}");
        let at: f64 = r
            .meta("ratelimit_reset")
            .expect("reset")
            .parse()
            .expect("epoch seconds");
        let now = alert_core::Timestamp::now().unix_millis() as f64 / 1000.0;
        assert!(at > now - 1.0 && at <= now + 60.0, "{at} vs {now}");
    }
    // Another webhook is another bucket.
    let other_url = fake.add_webhook("other");
    let other = DiscordNotifier::new(DiscordConfig::new(other_url).with_api_base_url(fake.url()))
        .expect("valid config");
    let r = other.notify(&alert()).await.expect("other webhook");
    assert_ne!(r.meta("ratelimit_bucket"), Some(bucket));

    let e = notifier.notify(&alert()).await.expect_err("3rd is limited");
    let Retry::After(d) = e.retryable() else {
        panic!("expected After, got {:?}", e.retryable())
    };
    assert!(
        d >= Duration::from_secs(1) && d <= Duration::from_secs(60),
        "{d:?}"
    );
    assert_eq!(d.subsec_nanos(), 0, "Retry-After is whole seconds: {d:?}");

    tokio::time::pause();
    tokio::time::advance(d).await;
    tokio::time::resume();
    notifier
        .notify(&alert())
        .await
        .expect("after the advertised wait");
    assert_eq!(fake.messages().len(), 4);
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
