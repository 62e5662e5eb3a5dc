//! A local fake of Beacon (the made-up service of `channel.rs`) on 127.0.0.1, and the
//! `alert-testkit` conformance harness that runs the suite against it.
//!
//! The fake keeps pages by id, checks the API key and every body against Beacon's
//! rules ([`violations`]), and fails the next requests on demand
//! ([`FakeBeacon::fail_next`]), answering the way Beacon's documentation (made up
//! with it) says: `{"error": {"code", "message"}}` bodies, `Retry-After` on 429.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use alert_core::{Notifier, async_trait};
use alert_testkit::conformance::{self, Fault};
use alert_testkit::fake::{FakeServer, Recorded, Recorder};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use serde_json::{Value, json};

use crate::channel::{BODY_LIMIT, BeaconConfig, BeaconNotifier, TITLE_LIMIT};

/// The key the harness's fake accepts (made up, shaped like a live key).
pub const FAKE_KEY: &str = "bk_live_8f2a61c4d9e0s3cret";

#[derive(Default)]
struct Inner {
    key: String,
    pages: BTreeMap<String, Value>,
    next_id: u64,
    faults: VecDeque<Scripted>,
}

/// A failure the fake answers with instead of handling a request.
struct Scripted {
    status: u16,
    code: &'static str,
    message: &'static str,
    retry_after: Option<u64>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(s: &Shared) -> MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Beacon on `127.0.0.1:<random port>`, until dropped.
pub struct FakeBeacon {
    server: FakeServer,
    state: Shared,
}

impl std::fmt::Debug for FakeBeacon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBeacon")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// What is wrong with a page body by Beacon's rules; empty when it is valid.
pub fn violations(page: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let Some(obj) = page.as_object() else {
        return vec!["the body is not a JSON object".to_owned()];
    };
    for k in obj.keys() {
        if !["title", "body", "urgency", "dedup_key", "state"].contains(&k.as_str()) {
            v.push(format!("unknown field `{k}`"));
        }
    }
    for (field, max) in [("title", TITLE_LIMIT), ("body", BODY_LIMIT)] {
        match page[field].as_str().map(|s| s.chars().count()) {
            Some(0) if field == "title" => v.push("title is empty".to_owned()),
            Some(n) if n > max => v.push(format!("{field} has {n} characters (at most {max})")),
            Some(_) => {}
            None => v.push(format!("{field} is missing or not a string")),
        }
    }
    let one_of = |field: &str, allowed: &[&str]| {
        let ok = page[field].as_str().is_some_and(|s| allowed.contains(&s));
        (!ok).then(|| format!("{field} is not one of {allowed:?}: {}", page[field]))
    };
    v.extend(one_of("urgency", &["low", "normal", "high", "page"]));
    v.extend(one_of("state", &["open", "resolved"]));
    let key = page["dedup_key"].as_str().unwrap_or("");
    if key.len() != 16 || !key.chars().all(|c| c.is_ascii_hexdigit()) {
        v.push(format!(
            "dedup_key is not 16 hex digits: {}",
            page["dedup_key"]
        ));
    }
    v
}

/// Key check, scripted faults and body check, shared by both endpoints.
fn admit(state: &Shared, headers: &HeaderMap, body: &str) -> Result<Value, Box<Response>> {
    let mut s = lock(state);
    if headers.get("x-beacon-key").and_then(|v| v.to_str().ok()) != Some(s.key.as_str()) {
        let why = "missing or unknown X-Beacon-Key";
        return Err(Box::new(error(401, "unauthorized", why)));
    }
    if let Some(f) = s.faults.pop_front() {
        let mut r = error(f.status, f.code, f.message);
        if let Some(secs) = f.retry_after
            && let Ok(v) = secs.to_string().parse()
        {
            r.headers_mut().insert("retry-after", v);
        }
        return Err(Box::new(r));
    }
    let page: Value = serde_json::from_str(body).map_err(|e| {
        Box::new(error(
            400,
            "invalid_json",
            &format!("body is not JSON: {e}"),
        ))
    })?;
    match violations(&page).first() {
        Some(v) => Err(Box::new(error(400, "invalid_page", v))),
        None => Ok(page),
    }
}

async fn create(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let page = match admit(&state, &headers, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut s = lock(&state);
    s.next_id += 1;
    let id = format!("pg_{}", s.next_id);
    s.pages.insert(id.clone(), page);
    (StatusCode::CREATED, axum::Json(json!({"page": {"id": id}}))).into_response()
}

async fn update(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let page = match admit(&state, &headers, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut s = lock(&state);
    match s.pages.get_mut(&id) {
        Some(p) => {
            *p = page;
            axum::Json(json!({"page": {"id": id}})).into_response()
        }
        None => error(404, "page_not_found", "no page with this id"),
    }
}

impl FakeBeacon {
    /// Starts a fake that accepts `key` (needs a Tokio runtime).
    pub async fn start(key: &str) -> std::io::Result<FakeBeacon> {
        let state: Shared = Arc::new(Mutex::new(Inner {
            key: key.to_owned(),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/v1/pages", post(create))
            .route("/v1/pages/{id}", patch(update))
            .with_state(state.clone());
        let server = FakeServer::start(app).await?;
        Ok(FakeBeacon { server, state })
    }

    /// `http://127.0.0.1:<port>`: the `base_url` for the channel.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The pages as they stand, by id.
    pub fn pages(&self) -> BTreeMap<String, Value> {
        lock(&self.state).pages.clone()
    }

    /// Fails the next request (after the key check) with `fault`, as Beacon would;
    /// `false` for a fault Beacon has no answer for.
    pub fn fail_next(&self, fault: Fault) -> bool {
        let (status, code, message, retry_after) = match fault {
            Fault::RateLimited { retry_after } => (
                429,
                "rate_limited",
                "too many pages, slow down",
                Some(retry_after.as_secs()),
            ),
            Fault::ServerError => (502, "upstream", "bad gateway", None),
            Fault::BadRequest => (400, "invalid_page", "title contains a banned word", None),
            Fault::Unauthorized => (403, "key_revoked", "this key was revoked", None),
            Fault::Gone => (
                410,
                "workspace_deleted",
                "this workspace no longer exists",
                None,
            ),
            _ => return false,
        };
        let f = Scripted {
            status,
            code,
            message,
            retry_after,
        };
        lock(&self.state).faults.push_back(f);
        true
    }

    /// Every request received.
    pub fn recorder(&self) -> &Recorder {
        self.server.recorder()
    }
}

/// The conformance harness: the channel pointed at a fresh fake.
#[derive(Debug)]
pub struct BeaconHarness {
    /// The fake.
    pub fake: FakeBeacon,
    /// The channel under test.
    pub notifier: BeaconNotifier,
}

impl BeaconHarness {
    /// Starts a fake accepting [`FAKE_KEY`] and a channel configured for it.
    pub async fn start() -> Result<BeaconHarness, Box<dyn std::error::Error>> {
        let fake = FakeBeacon::start(FAKE_KEY).await?;
        let notifier = BeaconNotifier::new(BeaconConfig::new(fake.url(), FAKE_KEY))?;
        Ok(BeaconHarness { fake, notifier })
    }
}

fn request_problems(r: &Recorded) -> Vec<String> {
    let mut v = Vec::new();
    let path_ok = match r.method.as_str() {
        "POST" => r.path == "/v1/pages",
        "PATCH" => r
            .path
            .strip_prefix("/v1/pages/")
            .is_some_and(|id| !id.is_empty()),
        _ => false,
    };
    if !path_ok {
        v.push(format!("unexpected request {} {}", r.method, r.path));
    }
    if r.header("x-beacon-key") != Some(FAKE_KEY) {
        v.push("missing or wrong X-Beacon-Key".to_owned());
    }
    if !r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        v.push("content-type is not application/json".to_owned());
    }
    match r.json() {
        Ok(page) => v.extend(violations(&page)),
        Err(e) => v.push(format!("body is not JSON: {e}")),
    }
    v
}

#[async_trait]
impl conformance::Harness for BeaconHarness {
    fn notifier(&self) -> &dyn Notifier {
        &self.notifier
    }

    fn secrets(&self) -> Vec<String> {
        vec![FAKE_KEY.to_owned(), FAKE_KEY["bk_live_".len()..].to_owned()]
    }

    async fn check_payloads(&self) -> Vec<String> {
        let requests = self.fake.recorder().take();
        if requests.is_empty() {
            return vec!["nothing was sent".to_owned()];
        }
        requests.iter().flat_map(request_problems).collect()
    }

    async fn inject(&self, fault: Fault) -> bool {
        self.fake.fail_next(fault)
    }
}
