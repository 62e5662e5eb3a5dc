//! [`FakeDatadog`]: a stateful fake of Datadog's intake API on 127.0.0.1 (feature
//! `fake`), for this crate's tests and for the router's, the service's and the
//! benchmarks'.
//!
//! It answers as Datadog does (DataDog/datadog-api-client-rust recorded cassettes;
//! datadogpy issues #169, #724, #894 for the 403 bodies):
//!
//! | request | success | failures it produces by itself |
//! |---|---|---|
//! | `POST /api/v1/events` | 202 `application/json` `{"status":"ok","event":{"id":…,"id_str":"…",…,"url":"https://app.datadoghq.com/event/event?id=…"}}` | 400 `text/plain; charset=utf-8` with a JSON `{"errors":[…]}` body for an invalid event (missing title or text, text over 4,000 characters, `aggregation_key` over 100, unknown `alert_type` or `priority`, `date_happened` over 18 h old: "Event too far in the past"); 429 with `X-RateLimit-*` headers past the rate window |
//! | `POST /api/v1/check_run` | 202 `text/json` `{"status": "ok"}` | 400 as above for a body that is not an array of `{check, host_name, status 0..3, tags}`; 413 for a body over the limit set with [`FakeDatadog::set_check_run_limit`] (none by default: Datadog documents none) |
//! | `POST /api/v2/series` | 202 `application/json` `{"errors":[]}` | 413 for a body over 512,000 bytes or decompressing to 5,242,880 bytes or more; 400 for bad gzip or JSON |
//! | `GET /api/v1/validate` | 200 `{"valid":true}` | |
//! | any, wrong or missing `DD-API-KEY` | | 403 JSON `{"status":"error","code":403,"errors":["Forbidden"],…}`, or Datadog's HTML "Request forbidden by administrative rules" page after [`FakeDatadog::set_bad_key_html`] |
//!
//! Numbers are parsed exactly (serde_json's `float_roundtrip`), so stored values equal
//! the values sent. Series bodies are decoded per `Content-Encoding` (`gzip`, `deflate`, none) and the
//! decoded events, checks and series are kept for inspection. [`FakeDatadog::fail_next`]
//! queues any [`Failure`] for the next requests.
//!
//! Real Datadog may cut an over-long event text instead of refusing it; the fake
//! refuses (the OpenAPI `maxLength`), so a client that overflows is caught.

use std::collections::VecDeque;
use std::fmt;
use std::io::Read as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alert_core::Timestamp;
use alert_testkit::fake::{FakeServer, Recorder};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::DatadogConfig;
use crate::metrics::{MAX_COMPRESSED_BYTES, MAX_DECOMPRESSED_BYTES};

/// The API key a [`FakeDatadog::start`] fake accepts.
pub const FAKE_API_KEY: &str = "fake0dd0api0key0123456789abcdef0";

/// The first event id the fake hands out (a real id, above 2^53).
pub const FIRST_EVENT_ID: u64 = 6_327_818_702_635_911_562;

const FORBIDDEN_JSON: &str = r#"{"status":"error","code":403,"errors":["Forbidden"],"statuspage":"http://status.datadoghq.com","twitter":"http://twitter.com/datadogops","email":"support@datadoghq.com"}"#;
const FORBIDDEN_HTML: &str = "<!DOCTYPE html>\n<html><head><title>Request forbidden by administrative rules</title></head>\n<body><h1>Request forbidden by administrative rules.</h1></body></html>\n";

/// A failure the fake produces for one request, queued with
/// [`FakeDatadog::fail_next`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429 `{"errors":["Too many requests"]}` with `X-RateLimit-Limit`,
    /// `-Period`, `-Remaining: 0`, `-Reset: <reset seconds>` and `-Name`.
    RateLimited {
        /// Seconds until the window resets (`X-RateLimit-Reset`).
        reset: Duration,
    },
    /// A 5xx with `{"errors":["Internal Server Error"]}`.
    ServerError {
        /// The status (500, 502, 503, 504).
        status: u16,
        /// A `Retry-After` header, in seconds.
        retry_after: Option<u64>,
    },
    /// 408 `{"errors":["Request timeout"]}`.
    RequestTimeout,
    /// 400 labelled `text/plain; charset=utf-8` with a JSON `{"errors":[message]}`
    /// body, as Datadog answers invalid events.
    BadRequest {
        /// The error text.
        message: String,
    },
    /// 403 with Datadog's JSON "Forbidden" body.
    Forbidden,
    /// 403 with the HTML "Request forbidden by administrative rules" page.
    ForbiddenHtml,
    /// 404 `{"errors":["Not found"]}`.
    NotFound,
    /// 413 `{"errors":["Payload too large"]}`.
    PayloadTooLarge,
}

/// One series request as the fake decoded it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRequest {
    /// The `Content-Encoding` header, if any.
    pub content_encoding: Option<String>,
    /// The body's size as received.
    pub compressed_bytes: usize,
    /// The body's size once decoded.
    pub decompressed_bytes: usize,
    /// The decoded body.
    pub body: Value,
}

#[derive(Debug)]
struct RateWindow {
    limit: u32,
    period: Duration,
    start: Instant,
    used: u32,
}

#[derive(Debug)]
struct Inner {
    /// `None` lets a request through.
    failures: VecDeque<Option<Failure>>,
    bad_key_html: bool,
    rate: Option<RateWindow>,
    max_compressed: usize,
    max_decompressed: usize,
    max_check_run: Option<usize>,
    next_id: u64,
    events: Vec<Value>,
    checks: Vec<Value>,
    series: Vec<SeriesRequest>,
}

#[derive(Debug)]
struct Shared {
    api_key: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A fake of Datadog's intake API on `127.0.0.1:<random port>`, until dropped.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use alert_datadog::fake::FakeDatadog;
/// use alert_datadog::DatadogNotifier;
/// use alert_core::NotifierExt;
/// let fake = FakeDatadog::start().await?;
/// let notifier = DatadogNotifier::new(fake.config()).expect("valid");
/// notifier.notify_text("Training Complete", "Model version: 3").await.expect("sent");
/// assert_eq!(fake.events()[0]["title"], "[INFO] Training Complete");
/// # Ok(()) }
/// ```
pub struct FakeDatadog {
    server: FakeServer,
    shared: Arc<Shared>,
}

impl fmt::Debug for FakeDatadog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeDatadog")
            .field("url", &self.server.url())
            .finish_non_exhaustive()
    }
}

impl FakeDatadog {
    /// Starts a fake that accepts [`FAKE_API_KEY`] (needs a Tokio runtime).
    pub async fn start() -> std::io::Result<FakeDatadog> {
        FakeDatadog::start_with_api_key(FAKE_API_KEY).await
    }

    /// Starts a fake that accepts `api_key`.
    pub async fn start_with_api_key(api_key: impl Into<String>) -> std::io::Result<FakeDatadog> {
        let shared = Arc::new(Shared {
            api_key: api_key.into(),
            inner: Mutex::new(Inner {
                failures: VecDeque::new(),
                bad_key_html: false,
                rate: None,
                max_compressed: MAX_COMPRESSED_BYTES,
                max_decompressed: MAX_DECOMPRESSED_BYTES,
                max_check_run: None,
                next_id: FIRST_EVENT_ID,
                events: Vec::new(),
                checks: Vec::new(),
                series: Vec::new(),
            }),
        });
        let app = Router::new()
            .route("/api/v1/events", post(events))
            .route("/api/v1/check_run", post(check_run))
            .route("/api/v2/series", post(series))
            .route("/api/v1/validate", get(validate))
            .fallback(|| async { errors(404, "application/json", &["Not found"]) })
            .layer(DefaultBodyLimit::disable())
            .with_state(shared.clone());
        Ok(FakeDatadog {
            server: FakeServer::start(app).await?,
            shared,
        })
    }

    /// The base URL, `http://127.0.0.1:<port>` (the `base_url` of a config).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The API key the fake accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// A configuration that reaches this fake with its key.
    pub fn config(&self) -> DatadogConfig {
        DatadogConfig::new(self.shared.api_key.as_str()).with_base_url(self.url())
    }

    /// Every request received, raw (compressed bodies as sent).
    pub fn recorder(&self) -> &Recorder {
        self.server.recorder()
    }

    /// Makes the next request (of any kind) fail with `failure`; several calls queue
    /// several failures.
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().failures.push_back(Some(failure));
    }

    /// Lets the next request through untouched, before the failures queued after
    /// this call (`pass_next(); fail_next(f)` fails the second request).
    pub fn pass_next(&self) {
        self.shared.lock().failures.push_back(None);
    }

    /// Answers a bad key with Datadog's HTML page (`true`) or JSON body (`false`, the
    /// default).
    pub fn set_bad_key_html(&self, html: bool) {
        self.shared.lock().bad_key_html = html;
    }

    /// Limits event submissions to `limit` per `period` (a fixed window starting
    /// now); past it, 429 with `X-RateLimit-*` headers. Accepted events carry the
    /// headers too.
    pub fn set_rate_limit(&self, limit: u32, period: Duration) {
        self.shared.lock().rate = Some(RateWindow {
            limit,
            period: period.max(Duration::from_secs(1)),
            start: Instant::now(),
            used: 0,
        });
    }

    /// Lowers the series size limits (to exercise 413 handling with small bodies).
    pub fn set_series_limits(&self, compressed: usize, decompressed: usize) {
        let mut inner = self.shared.lock();
        inner.max_compressed = compressed;
        inner.max_decompressed = decompressed;
    }

    /// Answers 413 to a `check_run` body of more than `bytes` bytes (`None`, the
    /// default, accepts any size), to exercise the splitting of service checks.
    pub fn set_check_run_limit(&self, bytes: Option<usize>) {
        self.shared.lock().max_check_run = bytes;
    }

    /// The events accepted so far, as posted.
    pub fn events(&self) -> Vec<Value> {
        self.shared.lock().events.clone()
    }

    /// The events accepted since the last call, as posted.
    pub fn take_events(&self) -> Vec<Value> {
        std::mem::take(&mut self.shared.lock().events)
    }

    /// The service checks accepted so far (one entry per check, not per request).
    pub fn checks(&self) -> Vec<Value> {
        self.shared.lock().checks.clone()
    }

    /// The service checks accepted since the last call.
    pub fn take_checks(&self) -> Vec<Value> {
        std::mem::take(&mut self.shared.lock().checks)
    }

    /// The series accepted so far, decoded (one entry per series, in order).
    pub fn series(&self) -> Vec<Value> {
        self.shared
            .lock()
            .series
            .iter()
            .flat_map(|r| r.body["series"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// The series requests accepted so far, with their sizes.
    pub fn series_requests(&self) -> Vec<SeriesRequest> {
        self.shared.lock().series.clone()
    }

    /// The series requests accepted since the last call.
    pub fn take_series_requests(&self) -> Vec<SeriesRequest> {
        std::mem::take(&mut self.shared.lock().series)
    }
}

fn response(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert("content-type", v);
    }
    resp
}

fn errors(status: u16, content_type: &str, messages: &[&str]) -> Response {
    response(
        status,
        content_type,
        json!({ "errors": messages }).to_string(),
    )
}

/// Datadog's answer to an invalid payload: JSON labelled `text/plain`.
fn bad_request(message: &str) -> Response {
    errors(400, "text/plain; charset=utf-8", &[message])
}

fn with_header(mut resp: Response, name: &'static str, value: String) -> Response {
    if let Ok(v) = value.parse() {
        resp.headers_mut().insert(name, v);
    }
    resp
}

fn rate_headers(
    resp: Response,
    limit: u32,
    period: Duration,
    remaining: u32,
    reset: Duration,
) -> Response {
    let resp = with_header(resp, "x-ratelimit-limit", limit.to_string());
    let resp = with_header(resp, "x-ratelimit-period", period.as_secs().to_string());
    let resp = with_header(resp, "x-ratelimit-remaining", remaining.to_string());
    let resp = with_header(
        resp,
        "x-ratelimit-reset",
        reset.as_secs().max(1).to_string(),
    );
    with_header(resp, "x-ratelimit-name", "post_event".to_owned())
}

fn failure_response(f: Failure) -> Response {
    match f {
        Failure::RateLimited { reset } => rate_headers(
            errors(429, "application/json", &["Too many requests"]),
            100,
            Duration::from_secs(60),
            0,
            reset,
        ),
        Failure::ServerError {
            status,
            retry_after,
        } => {
            let resp = errors(status, "application/json", &["Internal Server Error"]);
            match retry_after {
                Some(s) => with_header(resp, "retry-after", s.to_string()),
                None => resp,
            }
        }
        Failure::RequestTimeout => errors(408, "application/json", &["Request timeout"]),
        Failure::BadRequest { message } => bad_request(&message),
        Failure::Forbidden => response(403, "application/json", FORBIDDEN_JSON),
        Failure::ForbiddenHtml => response(403, "text/html", FORBIDDEN_HTML),
        Failure::NotFound => errors(404, "application/json", &["Not found"]),
        Failure::PayloadTooLarge => errors(413, "application/json", &["Payload too large"]),
    }
}

/// Queued failures, then the API key. `Err` is the answer to give (an answer, not
/// an error value: boxing it would buy nothing here).
#[allow(clippy::result_large_err)]
fn admit(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let mut inner = shared.lock();
    if let Some(Some(f)) = inner.failures.pop_front() {
        return Err(failure_response(f));
    }
    let key = headers.get("dd-api-key").and_then(|v| v.to_str().ok());
    if key != Some(shared.api_key.as_str()) {
        return Err(if inner.bad_key_html {
            response(403, "text/html", FORBIDDEN_HTML)
        } else {
            response(403, "application/json", FORBIDDEN_JSON)
        });
    }
    Ok(())
}

/// Decodes a body per `Content-Encoding`, refusing more than `max` decoded bytes.
#[allow(clippy::result_large_err)]
fn decode(headers: &HeaderMap, body: &[u8], max: usize) -> Result<Vec<u8>, Response> {
    let encoding = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase());
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX);
    let read = match encoding.as_deref() {
        None | Some("identity") => {
            out.extend_from_slice(body);
            Ok(out.len())
        }
        Some("gzip") => flate2::read::GzDecoder::new(body)
            .take(limit)
            .read_to_end(&mut out),
        Some("deflate") => flate2::read::ZlibDecoder::new(body)
            .take(limit)
            .read_to_end(&mut out),
        Some(other) => {
            return Err(bad_request(&format!(
                "Unsupported Content-Encoding: {other}"
            )));
        }
    };
    match read {
        Ok(_) if out.len() >= max => Err(errors(413, "application/json", &["Payload too large"])),
        Ok(_) => Ok(out),
        Err(_) => Err(bad_request("Invalid compressed body")),
    }
}

fn is_string_array(v: Option<&Value>) -> bool {
    v.and_then(Value::as_array)
        .is_some_and(|a| a.iter().all(Value::is_string))
}

fn check_event(ev: &Value, now: i64) -> Result<(), String> {
    let obj = ev.as_object().ok_or("Event must be a JSON object")?;
    let title = obj.get("title").and_then(Value::as_str);
    if title.is_none_or(str::is_empty) {
        return Err("Event title is required".into());
    }
    let text = obj
        .get("text")
        .and_then(Value::as_str)
        .ok_or("Event text is required")?;
    if text.chars().count() > 4000 {
        return Err("Event text is longer than 4000 characters".into());
    }
    if let Some(k) = obj.get("aggregation_key")
        && k.as_str().is_none_or(|k| k.chars().count() > 100)
    {
        return Err("aggregation_key must be a string of at most 100 characters".into());
    }
    const TYPES: [&str; 7] = [
        "error",
        "warning",
        "info",
        "success",
        "user_update",
        "recommendation",
        "snapshot",
    ];
    if let Some(t) = obj.get("alert_type")
        && !t.as_str().is_some_and(|t| TYPES.contains(&t))
    {
        return Err(format!("Invalid alert_type: {t}"));
    }
    if let Some(p) = obj.get("priority")
        && !p.is_null()
        && !p.as_str().is_some_and(|p| p == "normal" || p == "low")
    {
        return Err(format!("Invalid priority: {p}"));
    }
    if let Some(t) = obj.get("tags")
        && !is_string_array(Some(t))
    {
        return Err("tags must be an array of strings".into());
    }
    if let Some(d) = obj.get("date_happened") {
        let d = d.as_i64().ok_or("date_happened must be an integer")?;
        if now - d > 18 * 3600 {
            return Err("Event too far in the past".into());
        }
    }
    if let Some(r) = obj.get("related_event_id")
        && !r.is_null()
        && r.as_u64().is_none()
    {
        return Err("related_event_id must be an integer".into());
    }
    Ok(())
}

async fn events(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admit(&shared, &headers) {
        return r;
    }
    let mut inner = shared.lock();
    let mut rate = None;
    if let Some(w) = inner.rate.as_mut() {
        let now = Instant::now();
        if now.duration_since(w.start) >= w.period {
            w.start = now;
            w.used = 0;
        }
        let reset = w.period.saturating_sub(now.duration_since(w.start));
        // Whole seconds, rounded up, as Datadog sends them.
        let reset = Duration::from_secs(reset.as_secs() + u64::from(reset.subsec_nanos() > 0));
        if w.used >= w.limit {
            return rate_headers(
                errors(429, "application/json", &["Too many requests"]),
                w.limit,
                w.period,
                0,
                reset,
            );
        }
        w.used += 1;
        rate = Some((w.limit, w.period, w.limit - w.used, reset));
    }
    let decoded = match decode(&headers, &body, inner.max_decompressed) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Ok(ev) = serde_json::from_slice::<Value>(&decoded) else {
        return bad_request("Invalid JSON");
    };
    let now = Timestamp::now().unix_seconds();
    if let Err(m) = check_event(&ev, now) {
        return bad_request(&m);
    }
    let id = inner.next_id;
    inner.next_id += 1;
    inner.events.push(ev.clone());
    drop(inner);
    let body = json!({
        "status": "ok",
        "event": {
            "id": id,
            "id_str": id.to_string(),
            "title": ev["title"],
            "text": ev["text"],
            "date_happened": ev.get("date_happened").cloned().unwrap_or(json!(now)),
            "handle": null,
            "priority": ev.get("priority").cloned().unwrap_or(Value::Null),
            "related_event_id": ev.get("related_event_id").cloned().unwrap_or(Value::Null),
            "tags": ev.get("tags").cloned().unwrap_or(json!([])),
            "url": format!("https://app.datadoghq.com/event/event?id={id}"),
        }
    });
    let resp = response(202, "application/json", body.to_string());
    match rate {
        Some((limit, period, remaining, reset)) => {
            rate_headers(resp, limit, period, remaining, reset)
        }
        None => resp,
    }
}

fn check_checks(v: &Value) -> Result<&Vec<Value>, String> {
    let arr = v
        .as_array()
        .ok_or("The body must be a JSON array of service checks")?;
    for (i, c) in arr.iter().enumerate() {
        let ok = c
            .get("check")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
            && c.get("host_name").and_then(Value::as_str).is_some()
            && c.get("status")
                .and_then(Value::as_u64)
                .is_some_and(|s| s <= 3)
            && is_string_array(c.get("tags"));
        if !ok {
            return Err(format!(
                "Invalid service check at index {i}: check, host_name, status (0-3) and tags are required"
            ));
        }
    }
    Ok(arr)
}

async fn check_run(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admit(&shared, &headers) {
        return r;
    }
    let (max, max_check_run) = {
        let inner = shared.lock();
        (inner.max_decompressed, inner.max_check_run)
    };
    if max_check_run.is_some_and(|m| body.len() > m) {
        return errors(413, "application/json", &["Payload too large"]);
    }
    let decoded = match decode(&headers, &body, max) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&decoded) else {
        return bad_request("Invalid JSON");
    };
    match check_checks(&v) {
        Ok(arr) => shared.lock().checks.extend(arr.iter().cloned()),
        Err(m) => return bad_request(&m),
    }
    response(202, "text/json", r#"{"status": "ok"}"#)
}

fn check_series(v: &Value) -> Result<(), String> {
    let arr = v
        .get("series")
        .and_then(Value::as_array)
        .ok_or("The body must be an object with a `series` array")?;
    for (i, s) in arr.iter().enumerate() {
        let name_ok = s
            .get("metric")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty());
        let points_ok = s.get("points").and_then(Value::as_array).is_some_and(|p| {
            !p.is_empty()
                && p.iter().all(|p| {
                    p.get("timestamp").and_then(Value::as_i64).is_some()
                        && p.get("value").is_some_and(Value::is_number)
                })
        });
        let type_ok = s
            .get("type")
            .is_none_or(|t| t.as_u64().is_some_and(|t| t <= 3));
        let tags_ok = s.get("tags").is_none_or(|t| is_string_array(Some(t)));
        if !(name_ok && points_ok && type_ok && tags_ok) {
            return Err(format!(
                "Invalid series at index {i}: metric, points [{{timestamp, value}}], type 0-3 and string tags are required"
            ));
        }
    }
    Ok(())
}

async fn series(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admit(&shared, &headers) {
        return r;
    }
    let (max_c, max_d) = {
        let inner = shared.lock();
        (inner.max_compressed, inner.max_decompressed)
    };
    if body.len() > max_c {
        return errors(413, "application/json", &["Payload too large"]);
    }
    let decoded = match decode(&headers, &body, max_d) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&decoded) else {
        return bad_request("Invalid JSON");
    };
    if let Err(m) = check_series(&v) {
        return bad_request(&m);
    }
    shared.lock().series.push(SeriesRequest {
        content_encoding: headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        compressed_bytes: body.len(),
        decompressed_bytes: decoded.len(),
        body: v,
    });
    response(202, "application/json", r#"{"errors":[]}"#)
}

async fn validate(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&shared, &headers) {
        return r;
    }
    response(200, "application/json", r#"{"valid":true}"#)
}
