//! The fake answers as Datadog does: status codes, content types, bodies and headers,
//! checked with a plain HTTP client (the router, the service and the benchmarks rely
//! on it).

use std::io::Write as _;
use std::time::Duration;

use alert_datadog::fake::{FAKE_API_KEY, FIRST_EVENT_ID, FakeDatadog};
use serde_json::{Value, json};

struct Answer {
    status: u16,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn post(
    fake: &FakeDatadog,
    path: &str,
    key: &str,
    body: Vec<u8>,
    encoding: Option<&str>,
) -> Answer {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut req = client
        .post(format!("{}{path}", fake.url()))
        .header("DD-API-KEY", key)
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(e) = encoding {
        req = req.header("Content-Encoding", e);
    }
    let resp = req.send().await.expect("answered");
    Answer {
        status: resp.status().as_u16(),
        content_type: resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

fn json_body(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(raw).expect("write");
    e.finish().expect("finish")
}

#[tokio::test]
async fn events_answer_like_the_recorded_cassettes() {
    let fake = FakeDatadog::start().await.expect("fake");
    let now = alert_core::Timestamp::now().unix_seconds();
    let a = post(
        &fake,
        "/api/v1/events",
        FAKE_API_KEY,
        json_body(&json!({"title": "t", "text": "x", "tags": ["a:b"], "date_happened": now})),
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (202, "application/json")
    );
    // The id is written as an exact integer above 2^53.
    assert!(
        a.body.contains(&format!("\"id\":{FIRST_EVENT_ID}")),
        "{}",
        a.body
    );
    let v: Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["event"]["id_str"], FIRST_EVENT_ID.to_string());
    assert_eq!(v["event"]["tags"], json!(["a:b"]));
    assert_eq!(v["event"]["priority"], Value::Null);
    assert_eq!(v["event"]["handle"], Value::Null);
    assert_eq!(
        v["event"]["url"],
        format!("https://app.datadoghq.com/event/event?id={FIRST_EVENT_ID}")
    );

    for (body, error) in [
        (json!({"text": "x"}), "Event title is required"),
        (json!({"title": "t"}), "Event text is required"),
        (
            json!({"title": "t", "text": "x", "date_happened": 1}),
            "Event too far in the past",
        ),
        (
            json!({"title": "t", "text": "x".repeat(4001)}),
            "Event text is longer than 4000 characters",
        ),
        (
            json!({"title": "t", "text": "x", "alert_type": "page"}),
            "Invalid alert_type: \"page\"",
        ),
        (
            json!({"title": "t", "text": "x", "aggregation_key": "k".repeat(101)}),
            "aggregation_key must be a string of at most 100 characters",
        ),
        (json!([1]), "Event must be a JSON object"),
    ] {
        let a = post(
            &fake,
            "/api/v1/events",
            FAKE_API_KEY,
            json_body(&body),
            None,
        )
        .await;
        assert_eq!(a.status, 400, "{body}");
        assert_eq!(
            a.content_type, "text/plain; charset=utf-8",
            "JSON labelled text/plain"
        );
        assert_eq!(
            serde_json::from_str::<Value>(&a.body).expect("json"),
            json!({"errors": [error]})
        );
    }
    assert_eq!(fake.events().len(), 1, "only the valid event is kept");
}

#[tokio::test]
async fn check_run_answers_text_json() {
    let fake = FakeDatadog::start().await.expect("fake");
    let good = json!([{"check": "app.ok", "host_name": "host", "status": 0, "tags": ["test:x"]}]);
    let a = post(
        &fake,
        "/api/v1/check_run",
        FAKE_API_KEY,
        json_body(&good),
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (202, "text/json", "{\"status\": \"ok\"}")
    );
    let bad = json!([{"check": "app.ok", "host_name": "host", "status": 4, "tags": []}]);
    let a = post(
        &fake,
        "/api/v1/check_run",
        FAKE_API_KEY,
        json_body(&bad),
        None,
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(
        a.body.contains("Invalid service check at index 0"),
        "{}",
        a.body
    );
    assert_eq!(fake.checks(), good.as_array().expect("array").clone());
}

#[tokio::test]
async fn series_are_decoded_and_size_limited() {
    let fake = FakeDatadog::start().await.expect("fake");
    let body = json!({"series": [{"metric": "ml.x", "type": 3, "points": [{"timestamp": 1, "value": 0.5}]}]});
    let raw = json_body(&body);
    for (payload, encoding) in [
        (gzip(&raw), Some("gzip")),
        (raw.clone(), None),
        (
            {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&raw).expect("write");
                e.finish().expect("finish")
            },
            Some("deflate"),
        ),
    ] {
        let a = post(&fake, "/api/v2/series", FAKE_API_KEY, payload, encoding).await;
        assert_eq!(
            (a.status, a.content_type.as_str(), a.body.as_str()),
            (202, "application/json", "{\"errors\":[]}"),
            "{encoding:?}"
        );
    }
    assert_eq!(fake.series().len(), 3);
    assert_eq!(fake.series()[0], body["series"][0]);

    // Over 512,000 bytes as sent.
    let big = vec![b' '; 512_001];
    let a = post(&fake, "/api/v2/series", FAKE_API_KEY, big, None).await;
    assert_eq!(
        (a.status, a.body.as_str()),
        (413, "{\"errors\":[\"Payload too large\"]}")
    );
    // Small when compressed, but 5,242,880 bytes or more once decompressed.
    let mut huge = br#"{"series":[],"pad":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 5_242_880));
    huge.extend(b"\"}");
    let a = post(
        &fake,
        "/api/v2/series",
        FAKE_API_KEY,
        gzip(&huge),
        Some("gzip"),
    )
    .await;
    assert_eq!(a.status, 413);
    let a = post(
        &fake,
        "/api/v2/series",
        FAKE_API_KEY,
        b"not gzip".to_vec(),
        Some("gzip"),
    )
    .await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (400, "text/plain; charset=utf-8")
    );
    let a = post(
        &fake,
        "/api/v2/series",
        FAKE_API_KEY,
        json_body(&json!({"series": [{"metric": "m", "points": []}]})),
        None,
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(fake.series_requests().len(), 3);
}

#[tokio::test]
async fn keys_are_checked_with_json_or_html_refusals() {
    let fake = FakeDatadog::start().await.expect("fake");
    let body = json_body(&json!({"title": "t", "text": "x"}));
    let a = post(&fake, "/api/v1/events", "wrong", body.clone(), None).await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (403, "application/json")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&a.body).expect("json"),
        json!({"status": "error", "code": 403, "errors": ["Forbidden"], "statuspage": "http://status.datadoghq.com", "twitter": "http://twitter.com/datadogops", "email": "support@datadoghq.com"})
    );
    fake.set_bad_key_html(true);
    let a = post(&fake, "/api/v2/series", "wrong", body, None).await;
    assert_eq!((a.status, a.content_type.as_str()), (403, "text/html"));
    assert!(
        a.body
            .contains("<title>Request forbidden by administrative rules</title>")
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let v = client
        .get(format!("{}/api/v1/validate", fake.url()))
        .header("DD-API-KEY", FAKE_API_KEY)
        .send()
        .await
        .expect("answered");
    assert_eq!(v.status(), 200);
    assert_eq!(v.text().await.expect("body"), "{\"valid\":true}");
    let a = post(&fake, "/api/v1/nope", FAKE_API_KEY, Vec::new(), None).await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn the_rate_window_sends_datadogs_headers() {
    let fake = FakeDatadog::start().await.expect("fake");
    fake.set_rate_limit(1, Duration::from_secs(10));
    let body = json_body(&json!({"title": "t", "text": "x"}));
    let a = post(&fake, "/api/v1/events", FAKE_API_KEY, body.clone(), None).await;
    assert_eq!(a.status, 202);
    assert_eq!(a.headers["x-ratelimit-remaining"], "0");
    let a = post(&fake, "/api/v1/events", FAKE_API_KEY, body, None).await;
    assert_eq!(a.status, 429);
    let h = |n: &str| a.headers[n].to_str().expect("ascii").to_owned();
    assert_eq!(
        (
            h("x-ratelimit-limit"),
            h("x-ratelimit-period"),
            h("x-ratelimit-remaining")
        ),
        ("1".into(), "10".into(), "0".into())
    );
    let reset: u64 = h("x-ratelimit-reset").parse().expect("seconds");
    assert!((9..=10).contains(&reset), "{reset}");
    assert!(!h("x-ratelimit-name").is_empty());
    // Metrics are not rate limited.
    let series =
        json_body(&json!({"series": [{"metric": "m", "points": [{"timestamp": 1, "value": 1}]}]}));
    assert_eq!(
        post(&fake, "/api/v2/series", FAKE_API_KEY, series, None)
            .await
            .status,
        202
    );
}
