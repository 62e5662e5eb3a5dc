//! The fake behaves like Slack on the wire (so the notifier's tests, the router's,
//! the service's and the benchmarks can trust it): probed here with a plain HTTP
//! client, and its limit checker shown to refuse what Slack refuses.

use std::time::Duration;

use alert_slack::fake::{
    FAKE_BOT_ID, FAKE_CHANNEL, FAKE_WEBHOOK_PATH, Failure, FakeSlack, MAX_TEXT_CHARS, RateLimit,
    check_message,
};
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// The raw answer: status, headers, body text.
type Answer = (u16, HeaderMap, String);

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let r = req.send().await.expect("an answer");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.expect("body"))
}

async fn api(slack: &FakeSlack, method: &str, body: &Value) -> Answer {
    send(
        client()
            .post(format!("{}/{method}", slack.api_url()))
            .bearer_auth(slack.token())
            .json(body),
    )
    .await
}

async fn hook(url: &str, body: &Value) -> Answer {
    send(client().post(url).json(body)).await
}

fn content_type(h: &HeaderMap) -> &str {
    h.get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn json_of(a: &Answer) -> Value {
    serde_json::from_str(&a.2).unwrap_or_else(|e| panic!("not JSON ({e}): {}", a.2))
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": text}})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn field(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

fn blocks(blocks: Vec<Value>) -> Value {
    json!({"text": "fallback", "blocks": blocks})
}

/// `check_message`'s verdict, as (code, detail).
fn refused(body: &Value) -> (&'static str, String) {
    check_message(body).expect_err("refused")
}

const INVALID: &str = "invalid_blocks";

#[test]
fn the_limit_checker_refuses_each_limit_by_one() {
    let x = |n: usize| "x".repeat(n);

    // Header: 150 characters of plain_text.
    check_message(&blocks(vec![header(&x(150))])).expect("150 is the limit");
    assert_eq!(
        refused(&blocks(vec![header(&x(151))])),
        (
            INVALID,
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]".into()
        )
    );
    // Counted in characters, not bytes.
    check_message(&blocks(vec![header(&"é".repeat(150))])).expect("150 characters");
    assert_eq!(
        refused(&blocks(vec![
            json!({"type": "header", "text": field("*h*")})
        ])),
        (
            INVALID,
            "must be a valid enum value [json-pointer:/blocks/0/text/type]".into()
        )
    );

    // Section text: 3,000.
    check_message(&blocks(vec![section(&x(3000))])).expect("3,000 is the limit");
    assert_eq!(
        refused(&blocks(vec![header("h"), section(&x(3001))])),
        (
            INVALID,
            "must be less than 3001 characters [json-pointer:/blocks/1/text/text]".into()
        )
    );

    // Fields: 10 of 2,000.
    let fields = |n: usize, len: usize| json!({"type": "section", "fields": (0..n).map(|_| field(&x(len))).collect::<Vec<_>>()});
    check_message(&blocks(vec![fields(10, 2000)])).expect("10 × 2,000 is the limit");
    assert_eq!(
        refused(&blocks(vec![fields(11, 1)])),
        (
            INVALID,
            "no more than 10 items allowed [json-pointer:/blocks/0/fields]".into()
        )
    );
    assert_eq!(
        refused(&blocks(vec![fields(1, 2001)])),
        (
            INVALID,
            "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]".into()
        )
    );

    // Blocks: 50 per message.
    let n_sections = |n: usize| {
        (0..n)
            .map(|i| section(&format!("s{i}")))
            .collect::<Vec<_>>()
    };
    check_message(&blocks(n_sections(50))).expect("50 is the limit");
    assert_eq!(
        refused(&blocks(n_sections(51))),
        (
            INVALID,
            "no more than 50 items allowed [json-pointer:/blocks]".into()
        )
    );
    // The colour bar's blocks count too (the fake is stricter than Slack's docs).
    let split = json!({
        "text": "t",
        "blocks": n_sections(30),
        "attachments": [{"color": "#D40E0D", "blocks": n_sections(21)}],
    });
    assert_eq!(
        refused(&split),
        (
            INVALID,
            "no more than 50 blocks allowed in a message, attachments' blocks included (51) \
             [json-pointer:/blocks]"
                .into()
        )
    );
    // Inside an attachment, the pointer says so.
    let inner = json!({"attachments": [{"color": "good", "blocks": [section(&x(3001))]}]});
    assert_eq!(
        refused(&inner),
        (
            INVALID,
            "must be less than 3001 characters [json-pointer:/attachments/0/blocks/0/text/text]"
                .into()
        )
    );

    // Context: 1 to 10 elements of at most 3,000.
    let context = |n: usize| json!({"type": "context", "elements": (0..n).map(|_| field("c")).collect::<Vec<_>>()});
    check_message(&blocks(vec![context(10)])).expect("10 elements");
    assert_eq!(
        refused(&blocks(vec![context(11)])),
        (
            INVALID,
            "no more than 10 items allowed [json-pointer:/blocks/0/elements]".into()
        )
    );
    assert_eq!(
        refused(&blocks(vec![context(0)])),
        (
            INVALID,
            "must provide at least 1 item [json-pointer:/blocks/0/elements]".into()
        )
    );

    // Empty texts, shapeless sections, unknown blocks.
    assert_eq!(
        refused(&blocks(vec![section("")])),
        (
            INVALID,
            "must be more than 0 characters [json-pointer:/blocks/0/text/text]".into()
        )
    );
    assert_eq!(
        refused(&blocks(vec![json!({"type": "section"})])),
        (
            INVALID,
            "must provide either text or fields [json-pointer:/blocks/0]".into()
        )
    );
    assert_eq!(
        refused(&blocks(vec![json!({"type": "table"})])),
        (
            INVALID,
            "unsupported type: table [json-pointer:/blocks/0]".into()
        )
    );
    assert_eq!(
        refused(&blocks(vec![json!({"text": field("t")})])),
        (
            INVALID,
            "missing required field: type [json-pointer:/blocks/0]".into()
        )
    );

    // Colours: `#hex` or good / warning / danger.
    for ok in ["#D40E0D", "#abc", "good", "warning", "danger"] {
        check_message(&json!({"text": "t", "attachments": [{"color": ok}]}))
            .unwrap_or_else(|e| panic!("{ok}: {e:?}"));
    }
    assert_eq!(
        refused(&json!({"text": "t", "attachments": [{"color": "red"}]})),
        (
            INVALID,
            "must be a hex colour or good, warning, danger [json-pointer:/attachments/0/color]"
                .into()
        )
    );

    // Every problem is listed, in order.
    assert_eq!(
        refused(&blocks(vec![header(&x(151)), fields(11, 2001)])).1,
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]; \
         no more than 10 items allowed [json-pointer:/blocks/1/fields]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/0/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/1/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/2/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/3/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/4/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/5/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/6/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/7/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/8/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/9/text]; \
         must be less than 2001 characters [json-pointer:/blocks/1/fields/10/text]"
    );

    // Nothing to show; too many attachments.
    assert_eq!(refused(&json!({})), ("no_text", String::new()));
    assert_eq!(
        refused(&json!({"text": "", "blocks": [], "attachments": []})),
        ("no_text", String::new())
    );
    let attachments: Vec<Value> = (0..101).map(|_| json!({"text": "a"})).collect();
    assert_eq!(
        refused(&json!({"text": "t", "attachments": attachments})),
        ("too_many_attachments", String::new())
    );
    check_message(&json!({"text": "t", "attachments": attachments[..100]}))
        .expect("100 attachments");

    // A long `text` is not refused: Slack truncates it.
    check_message(&json!({"text": x(MAX_TEXT_CHARS + 1)})).expect("truncated, not refused");
}

#[tokio::test]
async fn web_api_answers_are_json_with_channel_ts_and_message_ts() {
    let slack = FakeSlack::start().await.expect("fake");
    assert!(slack.url().starts_with("http://127.0.0.1:"));
    let a = api(
        &slack,
        "chat.postMessage",
        &json!({"channel": FAKE_CHANNEL, "text": "hello"}),
    )
    .await;
    assert_eq!(a.0, 200, "{}", a.2);
    assert_eq!(content_type(&a.1), "application/json; charset=utf-8");
    let v = json_of(&a);
    assert_eq!(v["ok"], true);
    assert_eq!(v["channel"], FAKE_CHANNEL);
    let ts = v["ts"].as_str().expect("ts is a string");
    let (secs, micros) = ts.split_once('.').expect("seconds.micros");
    assert!(
        secs.len() >= 10 && secs.bytes().all(|b| b.is_ascii_digit()),
        "{ts}"
    );
    assert!(
        micros.len() == 6 && micros.bytes().all(|b| b.is_ascii_digit()),
        "{ts}"
    );
    assert_eq!(v["message"]["ts"], ts);
    assert_eq!(v["message"]["type"], "message");
    assert_eq!(v["message"]["text"], "hello");
    assert_eq!(v["message"]["bot_id"], FAKE_BOT_ID);

    // A channel name resolves to the ID; a thread reply names its parent.
    let r = json_of(
        &api(
            &slack,
            "chat.postMessage",
            &json!({"channel": "#alerts", "text": "reply", "thread_ts": ts}),
        )
        .await,
    );
    assert_eq!(r["channel"], FAKE_CHANNEL);
    assert_eq!(r["message"]["thread_ts"], ts);
    assert_ne!(r["ts"], ts);

    // chat.update: the same ts, and the message marked edited.
    let a = api(
        &slack,
        "chat.update",
        &json!({"channel": FAKE_CHANNEL, "ts": ts, "text": "edited"}),
    )
    .await;
    assert_eq!(content_type(&a.1), "application/json; charset=utf-8");
    let u = json_of(&a);
    assert_eq!(
        (&u["ok"], &u["channel"], &u["ts"], &u["text"]),
        (
            &json!(true),
            &json!(FAKE_CHANNEL),
            &json!(ts),
            &json!("edited")
        )
    );
    assert_eq!(u["message"]["ts"], ts);
    assert!(u["message"]["edited"]["ts"].is_string(), "{u}");
    assert_eq!(
        slack.message(FAKE_CHANNEL, ts).expect("stored").text(),
        "edited"
    );
}

#[tokio::test]
async fn web_api_errors_are_http_200_json_with_ok_false() {
    let slack = FakeSlack::start().await.expect("fake");
    let url = format!("{}/chat.postMessage", slack.api_url());
    let body = json!({"channel": FAKE_CHANNEL, "text": "t"});
    let exact = |a: &Answer, want: Value| {
        assert_eq!(a.0, 200, "{}", a.2);
        assert_eq!(content_type(&a.1), "application/json; charset=utf-8");
        assert_eq!(json_of(a), want);
    };
    // Authentication.
    let a = send(client().post(&url).json(&body)).await;
    exact(&a, json!({"ok": false, "error": "not_authed"}));
    let a = send(client().post(&url).bearer_auth("xoxb-wrong").json(&body)).await;
    exact(&a, json!({"ok": false, "error": "invalid_auth"}));
    // A form post is not JSON.
    let a = send(
        client()
            .post(&url)
            .bearer_auth(slack.token())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("channel=C0ALERTS&text=t"),
    )
    .await;
    exact(&a, json!({"ok": false, "error": "invalid_post_type"}));
    // Channels.
    let a = api(
        &slack,
        "chat.postMessage",
        &json!({"channel": "C0NOPE", "text": "t"}),
    )
    .await;
    exact(&a, json!({"ok": false, "error": "channel_not_found"}));
    let a = api(&slack, "chat.delete", &body).await;
    exact(&a, json!({"ok": false, "error": "unknown_method"}));

    // invalid_blocks carries Slack's complaints, twice, as Slack sends them.
    let a = api(
        &slack,
        "chat.postMessage",
        &json!({"channel": FAKE_CHANNEL, "text": "t", "blocks": [header(&"h".repeat(151))]}),
    )
    .await;
    exact(
        &a,
        json!({
            "ok": false,
            "error": "invalid_blocks",
            "errors": ["must be less than 151 characters [json-pointer:/blocks/0/text/text]"],
            "response_metadata": {"messages": [
                "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]"
            ]},
        }),
    );
    let a = api(
        &slack,
        "chat.postMessage",
        &json!({"channel": FAKE_CHANNEL}),
    )
    .await;
    exact(&a, json!({"ok": false, "error": "no_text"}));
    assert_eq!(
        slack.rejections(),
        [
            "invalid_blocks: must be less than 151 characters [json-pointer:/blocks/0/text/text]",
            "no_text"
        ]
    );

    // Archived, revoked.
    slack.archive_channel(FAKE_CHANNEL);
    exact(
        &api(&slack, "chat.postMessage", &body).await,
        json!({"ok": false, "error": "is_archived"}),
    );
    slack.revoke_token();
    exact(
        &api(&slack, "chat.postMessage", &body).await,
        json!({"ok": false, "error": "token_revoked"}),
    );
    assert!(slack.all_messages().is_empty());
}

#[tokio::test]
async fn webhooks_answer_plain_text() {
    let slack = FakeSlack::start().await.expect("fake");
    let url = slack.webhook_url();
    assert!(url.ends_with(FAKE_WEBHOOK_PATH));
    let a = hook(&url, &json!({"text": "hello"})).await;
    assert_eq!((a.0, a.2.as_str()), (200, "ok"));
    assert_eq!(content_type(&a.1), "text/html; charset=utf-8");
    assert!(serde_json::from_str::<Value>(&a.2).is_err(), "not JSON");
    assert_eq!(slack.messages(FAKE_CHANNEL)[0].text(), "hello");

    let plain = |a: &Answer, status: u16, body: &str| {
        assert_eq!((a.0, a.2.as_str()), (status, body));
        assert_eq!(content_type(&a.1), "text/html; charset=utf-8");
    };
    plain(
        &hook(&url, &blocks(vec![section(&"s".repeat(3001))])).await,
        400,
        "invalid_blocks",
    );
    plain(&hook(&url, &json!({"text": ""})).await, 400, "no_text");
    plain(
        &send(client().post(&url).body("text=not json")).await,
        400,
        "invalid_payload",
    );
    plain(
        &hook(
            &format!("{}/services/T0/B0/unknown", slack.url()),
            &json!({"text": "t"}),
        )
        .await,
        404,
        "no_service",
    );
    let other = slack.add_webhook(FAKE_CHANNEL);
    slack.archive_channel(FAKE_CHANNEL);
    plain(
        &hook(&other, &json!({"text": "t"})).await,
        410,
        "channel_is_archived",
    );
    slack.revoke_webhook(&other);
    plain(
        &hook(&other, &json!({"text": "t"})).await,
        404,
        "no_service",
    );
    // Scripted webhook failures are sent as given.
    slack.fail_next(Failure::Webhook(403, "action_prohibited".into()));
    plain(
        &hook(&url, &json!({"text": "t"})).await,
        403,
        "action_prohibited",
    );
}

#[tokio::test]
async fn a_long_text_is_truncated_and_kept_as_slack_does() {
    let slack = FakeSlack::start().await.expect("fake");
    let long = "y".repeat(MAX_TEXT_CHARS + 500);
    let a = api(
        &slack,
        "chat.postMessage",
        &json!({"channel": FAKE_CHANNEL, "text": long}),
    )
    .await;
    let v = json_of(&a);
    assert_eq!(v["ok"], true, "{v}");
    let echoed = v["message"]["text"].as_str().expect("text");
    assert_eq!(echoed.chars().count(), MAX_TEXT_CHARS);
    let ts = v["ts"].as_str().expect("ts");
    let stored = slack.message(FAKE_CHANNEL, ts).expect("stored");
    assert_eq!(stored.text(), "y".repeat(MAX_TEXT_CHARS));
    // Multi-byte text is cut on a character boundary.
    let a = hook(
        &slack.webhook_url(),
        &json!({"text": "é".repeat(MAX_TEXT_CHARS + 1)}),
    )
    .await;
    assert_eq!(a.2, "ok");
    let last = slack.messages(FAKE_CHANNEL).pop().expect("stored");
    assert_eq!(last.text(), "é".repeat(MAX_TEXT_CHARS));
    assert!(slack.rejections().is_empty());
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let slack = FakeSlack::start().await.expect("fake");
    // One message a minute: the second one is limited however slow the machine.
    slack.set_rate_limit(Some(RateLimit {
        interval: Duration::from_secs(60),
        burst: 1,
    }));
    let body = json!({"channel": FAKE_CHANNEL, "text": "t"});
    assert_eq!(api(&slack, "chat.postMessage", &body).await.0, 200);
    let a = api(&slack, "chat.postMessage", &body).await;
    assert_eq!(a.0, 429);
    assert_eq!(a.1[RETRY_AFTER], "60");
    assert_eq!(content_type(&a.1), "application/json; charset=utf-8");
    assert_eq!(json_of(&a), json!({"ok": false, "error": "ratelimited"}));
    // Webhooks share the channel's budget, and answer in plain text.
    let a = hook(&slack.webhook_url(), &json!({"text": "t"})).await;
    assert_eq!((a.0, a.2.as_str()), (429, "rate_limited"));
    assert_eq!(a.1[RETRY_AFTER], "60");
    assert_eq!(content_type(&a.1), "text/html; charset=utf-8");
    assert_eq!(slack.rate_limited(), 2);
    assert_eq!(slack.messages(FAKE_CHANNEL).len(), 1);

    // Scripted: the given delay, the body of the endpoint.
    slack.set_rate_limit(None);
    slack.fail_next(Failure::RateLimited(7));
    let a = api(&slack, "chat.postMessage", &body).await;
    assert_eq!((a.0, a.1[RETRY_AFTER].to_str().expect("ascii")), (429, "7"));
    assert_eq!(json_of(&a), json!({"ok": false, "error": "ratelimited"}));
    slack.fail_next(Failure::RateLimited(3));
    let a = hook(&slack.webhook_url(), &json!({"text": "t"})).await;
    assert_eq!(
        (a.0, a.1[RETRY_AFTER].to_str().expect("ascii"), a.2.as_str()),
        (429, "3", "rate_limited")
    );
    assert_eq!(slack.rate_limited(), 2, "scripted 429s are not counted");
}
