//! The fake behaves like Discord on the wire (so the router, the service and the
//! benchmarks can trust it): probed here with a plain HTTP client.

use std::time::Duration;

use alert_discord::fake::{FakeDiscord, FakeFailure};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn post(url: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, String) {
    let r = client().post(url).json(body).send().await.expect("answer");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.expect("body"))
}

fn hook(fake: &FakeDiscord, query: &str) -> String {
    format!(
        "{}/api/v10/webhooks/{}/{}{query}",
        fake.url(),
        fake.webhook_id(),
        fake.webhook_token()
    )
}

#[tokio::test]
async fn execute_with_and_without_wait() {
    let fake = FakeDiscord::start().await.expect("fake");
    assert!(fake.url().starts_with("http://127.0.0.1:"));
    assert!(
        fake.webhook_url()
            .starts_with("https://discord.com/api/webhooks/")
    );
    assert_eq!(fake.webhook_token().len(), 68);
    assert!((17..=20).contains(&fake.webhook_id().to_string().len()));

    let (s, h, body) = post(&hook(&fake, ""), &json!({"content": "hi"})).await;
    assert_eq!((s, body.as_str()), (204, ""), "no wait: 204, no body");
    assert!(h.contains_key("x-ratelimit-remaining"));

    for q in ["?wait=true", "?&wait=true", "?wait=True&"] {
        let (s, h, body) = post(
            &hook(&fake, q),
            &json!({"content": "hi", "username": "bot"}),
        )
        .await;
        assert_eq!(s, 200, "{q}: {body}");
        assert_eq!(h["content-type"], "application/json");
        let m: Value = serde_json::from_str(&body).expect("message object");
        for k in [
            "id",
            "type",
            "content",
            "channel_id",
            "author",
            "attachments",
            "embeds",
            "mentions",
            "mention_roles",
            "pinned",
            "mention_everyone",
            "tts",
            "timestamp",
            "edited_timestamp",
            "flags",
            "components",
            "webhook_id",
        ] {
            assert!(m.get(k).is_some(), "{q}: message lacks {k}");
        }
        assert_eq!(m["author"]["username"], "bot");
        assert_eq!(m["webhook_id"], fake.webhook_id().to_string());
        assert_eq!(
            fake.message(m["id"].as_str().expect("id")).expect("stored"),
            m
        );
    }
    assert_eq!(fake.messages().len(), 4);
    // Unversioned and other versions route too, as on Discord.
    let url = hook(&fake, "?wait=true").replace("/api/v10/", "/api/");
    assert_eq!(post(&url, &json!({"content": "x"})).await.0, 200);
    let (s, _, body) = post(&hook(&fake, "?wait=maybe"), &json!({"content": "x"})).await;
    assert_eq!(s, 400);
    assert!(
        body.contains("BOOLEAN_TYPE_COERCE") && body.contains("\"wait\""),
        "{body}"
    );
}

#[tokio::test]
async fn limits_and_bad_requests_answer_like_discord() {
    let fake = FakeDiscord::start().await.expect("fake");
    let url = hook(&fake, "?wait=true");
    let (s, _, body) = post(
        &url,
        &json!({"content": "c".repeat(2001), "embeds": [{"title": "t".repeat(257)}, {"fields": [{"name": "n", "value": "v".repeat(1025)}]}]}),
    )
    .await;
    assert_eq!(s, 400);
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["code"], 50035);
    assert_eq!(v["message"], "Invalid Form Body");
    assert_eq!(
        v["errors"]["embeds"]["0"]["title"]["_errors"][0],
        json!({"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."})
    );
    assert_eq!(
        v["errors"]["embeds"]["1"]["fields"]["0"]["value"]["_errors"][0]["message"],
        "Must be 1024 or fewer in length."
    );
    assert_eq!(
        v["errors"]["content"]["_errors"][0]["message"],
        "Must be 2000 or fewer in length."
    );
    // 6,000 across embeds.
    let (s, _, body) = post(
        &url,
        &json!({"embeds": [{"description": "d".repeat(4000)}, {"description": "d".repeat(2001)}]}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(body.contains("MAX_EMBED_SIZE_EXCEEDED"), "{body}");
    // Empty message, invalid JSON, wrong content type.
    let (s, _, body) = post(&url, &json!({"content": "  ", "embeds": []})).await;
    assert_eq!((s, body.contains("50006")), (400, true), "{body}");
    let r = client()
        .post(&url)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);
    assert!(r.text().await.expect("body").contains("50109"));
    let r = client()
        .post(&url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("CONTENT_TYPE_INVALID")
    );
    assert!(fake.messages().is_empty(), "nothing was stored");
}

#[tokio::test]
async fn unknown_webhooks_tokens_messages_and_routes() {
    let fake = FakeDiscord::start().await.expect("fake");
    let unknown = format!(
        "{}/api/v10/webhooks/123456789012345678/tok?wait=true",
        fake.url()
    );
    let (s, _, body) = post(&unknown, &json!({"content": "x"})).await;
    assert_eq!(s, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({"message": "Unknown Webhook", "code": 10015})
    );
    let wrong = format!(
        "{}/api/v10/webhooks/{}/wrong?wait=true",
        fake.url(),
        fake.webhook_id()
    );
    let (s, _, body) = post(&wrong, &json!({"content": "x"})).await;
    assert_eq!((s, body.contains("50027")), (401, true), "{body}");
    let (s, _, body) = post(&format!("{}/api/v10/nothing", fake.url()), &json!({})).await;
    assert_eq!((s, body.contains("404: Not Found")), (404, true));
    let patch = client()
        .patch(hook(&fake, "/messages/123456789012345678"))
        .json(&json!({"content": "x"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(patch.status(), 404);
    assert!(patch.text().await.expect("body").contains("10008"));
    // A second webhook is independent; deleting one leaves the other.
    let other = fake.add_webhook("other");
    fake.delete_webhook(fake.webhook_id());
    let w = alert_discord::WebhookUrl::parse(&other).expect("valid");
    let url = format!(
        "{}/api/v10/webhooks/{}/{}?wait=true",
        fake.url(),
        w.id(),
        w.token().expose()
    );
    assert_eq!(post(&url, &json!({"content": "x"})).await.0, 200);
    assert_eq!(
        post(&hook(&fake, ""), &json!({"content": "x"})).await.0,
        404
    );
}

#[tokio::test]
async fn edits_change_the_stored_message() {
    let fake = FakeDiscord::start().await.expect("fake");
    let (_, _, body) = post(
        &hook(&fake, "?wait=true"),
        &json!({"content": "<@&123456789012345678>", "embeds": [{"title": "firing", "color": 1}],
                "allowed_mentions": {"parse": [], "roles": ["123456789012345678"]}}),
    )
    .await;
    let m: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(m["mention_roles"], json!(["123456789012345678"]));
    assert_eq!(m["embeds"][0]["type"], "rich");
    let id = m["id"].as_str().expect("id");
    let r = client()
        .patch(hook(&fake, &format!("/messages/{id}")))
        .json(&json!({"content": "", "embeds": [{"title": "resolved", "color": 2}], "allowed_mentions": {"parse": []}}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    let edited: Value = r.json().await.expect("json");
    assert_eq!(edited["id"], m["id"]);
    assert_eq!(edited["embeds"][0]["title"], "resolved");
    assert!(edited["edited_timestamp"].is_string());
    assert_eq!(fake.message(id).expect("stored"), edited);
    // Another webhook cannot edit it.
    let other = alert_discord::WebhookUrl::parse(&fake.add_webhook("other")).expect("valid");
    let r = client()
        .patch(format!(
            "{}/api/v10/webhooks/{}/{}/messages/{id}",
            fake.url(),
            other.id(),
            other.token().expose()
        ))
        .json(&json!({"content": "hijack"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 404);
    // An edit that would leave nothing is refused.
    let r = client()
        .patch(hook(&fake, &format!("/messages/{id}")))
        .json(&json!({"content": "", "embeds": []}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);
    // Delete.
    let r = client()
        .delete(hook(&fake, &format!("/messages/{id}")))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 204);
    assert!(fake.message(id).is_none());
}

#[tokio::test]
async fn mentions_are_recorded_as_discord_would_ping() {
    let fake = FakeDiscord::start().await.expect("fake");
    let url = hook(&fake, "?wait=true");
    // Without allowed_mentions, Discord parses everything: this would ping.
    let (_, _, body) = post(
        &url,
        &json!({"content": "@everyone <@&123456789012345678>"}),
    )
    .await;
    let m: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(m["mention_everyone"], true);
    assert_eq!(m["mention_roles"], json!(["123456789012345678"]));
    let (_, _, body) = post(
        &url,
        &json!({"content": "@everyone <@&123456789012345678>", "allowed_mentions": {"parse": []}}),
    )
    .await;
    let m: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(m["mention_everyone"], false);
    assert_eq!(m["mention_roles"], json!([]));
}

/// `Retry-After` and the `X-RateLimit-*` headers, sorted by name.
fn rate_headers(h: &reqwest::header::HeaderMap) -> Vec<(&str, &str)> {
    let mut v: Vec<(&str, &str)> = h
        .iter()
        .filter(|(k, _)| k.as_str() == "retry-after" || k.as_str().starts_with("x-ratelimit-"))
        .map(|(k, v)| (k.as_str(), v.to_str().expect("ascii")))
        .collect();
    v.sort_unstable();
    v
}

/// `X-RateLimit-Reset` in Unix milliseconds.
fn reset_ms(h: &reqwest::header::HeaderMap) -> i64 {
    let secs: f64 = h["x-ratelimit-reset"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("epoch seconds");
    (secs * 1000.0).round() as i64
}

#[tokio::test]
async fn scripted_route_and_shared_rate_limits_send_discords_headers() {
    let fake = FakeDiscord::start().await.expect("fake");
    let url = hook(&fake, "?wait=true");
    // The bucket of this webhook's route, as every answer names it.
    let (_, ok, _) = post(&url, &json!({"content": "x"})).await;
    let bucket = ok["x-ratelimit-bucket"].to_str().expect("ascii").to_owned();
    assert_eq!(bucket.len(), 16);

    fake.fail_next(FakeFailure::RateLimited {
        retry_after: Duration::from_millis(64_570),
        global: false,
    });
    let before = alert_core::Timestamp::now().unix_millis();
    let (s, h, body) = post(&url, &json!({"content": "x"})).await;
    let after = alert_core::Timestamp::now().unix_millis();
    assert_eq!(s, 429);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({"message": "You are being rate limited.", "retry_after": 64.57, "global": false})
    );
    let reset = reset_ms(&h);
    assert!(
        (before + 64_570..=after + 64_570).contains(&reset),
        "{before} {reset} {after}"
    );
    let reset_text = h["x-ratelimit-reset"].to_str().expect("ascii").to_owned();
    assert_eq!(
        rate_headers(&h),
        [
            ("retry-after", "65"),
            ("x-ratelimit-bucket", bucket.as_str()),
            ("x-ratelimit-limit", "5"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", reset_text.as_str()),
            ("x-ratelimit-reset-after", "64.570"),
            ("x-ratelimit-scope", "user"),
        ]
    );

    // A resource's limit: the route's own bucket is not exhausted.
    fake.fail_next(FakeFailure::ResourceRateLimited {
        retry_after: Duration::from_millis(1_336_570),
    });
    let (s, h, body) = post(&url, &json!({"content": "x"})).await;
    assert_eq!(s, 429);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({"message": "The resource is being rate limited.", "retry_after": 1336.57, "global": false})
    );
    let reset_text = h["x-ratelimit-reset"].to_str().expect("ascii").to_owned();
    assert_eq!(
        rate_headers(&h),
        [
            ("retry-after", "1337"),
            ("x-ratelimit-bucket", bucket.as_str()),
            ("x-ratelimit-limit", "5"),
            ("x-ratelimit-remaining", "4"),
            ("x-ratelimit-reset", reset_text.as_str()),
            ("x-ratelimit-reset-after", "2.000"),
            ("x-ratelimit-scope", "shared"),
        ]
    );
}

#[tokio::test]
async fn scripted_failures_and_rate_limit_answers() {
    let fake = FakeDiscord::start().await.expect("fake");
    let url = hook(&fake, "?wait=true");
    fake.fail_next(FakeFailure::RateLimited {
        retry_after: Duration::from_millis(2500),
        global: true,
    });
    fake.fail_next(FakeFailure::BadGateway);
    let (s, h, body) = post(&url, &json!({"content": "x"})).await;
    assert_eq!(s, 429);
    assert_eq!(h["content-type"], "application/json");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v,
        json!({"message": "You are being rate limited.", "retry_after": 2.5, "global": true})
    );
    assert!(v.get("code").is_none(), "Discord's 429 has no code");
    // The global limit is not a route's: Discord sends no bucket headers with it.
    assert_eq!(
        rate_headers(&h),
        [
            ("retry-after", "3"),
            ("x-ratelimit-global", "true"),
            ("x-ratelimit-scope", "global"),
        ]
    );
    assert_eq!(post(&url, &json!({"content": "x"})).await.0, 502);
    assert_eq!(post(&url, &json!({"content": "x"})).await.0, 200);
    fake.fail_next(FakeFailure::UnknownWebhook);
    fake.clear_failures();
    assert_eq!(post(&url, &json!({"content": "x"})).await.0, 200);

    fake.enforce_rate_limit(2, Duration::from_secs(60), true);
    assert_eq!(post(&url, &json!({"content": "x"})).await.0, 200);
    let (s, h, _) = post(&url, &json!({"content": "x"})).await;
    assert_eq!(
        (s, &h["x-ratelimit-remaining"]),
        (200, &"0".parse().expect("hv"))
    );
    let (s, h, body) = post(&url, &json!({"content": "x"})).await;
    assert_eq!(s, 429);
    assert_eq!(h["x-ratelimit-scope"], "user");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    for k in [
        "x-ratelimit-limit",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
    ] {
        assert!(h.contains_key(k), "enforced 429 lacks {k}");
    }
    assert!(!h.contains_key("x-ratelimit-global"));
    let secs: u64 = h["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("int");
    assert!((59..=60).contains(&secs), "{secs}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert!(v["retry_after"].as_f64().expect("float") > 58.0);
    assert_eq!(fake.recorder().len(), 7);
}
