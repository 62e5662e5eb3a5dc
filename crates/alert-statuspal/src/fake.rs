//! [`FakeStatuspal`]: a stateful local fake of the Statuspal API v2 (feature `fake`).
//!
//! It serves `/api/v2` (and `/api/v1`, which real `links.next` values sometimes
//! point to) on 127.0.0.1, keeps status pages, services, incidents and their updates
//! in memory, and behaves as the crate docs describe the real API:
//!
//! * `Authorization` must be the raw key (no `Bearer`): 401 otherwise; a page the
//!   key may not access answers 403; an unknown subdomain or incident 404;
//! * `GET …/incidents` pages newest first with cursor links (`links.next` an
//!   absolute URL with `before=<id>`, under `/api/v1/` by default like the real
//!   quirk), `limit` capped by a configurable page size (default 20); a `before`
//!   that is not an id answers 500 (statuspal/statuspal issue #35);
//! * creating validates the documented body (`{"incident": {type, title,
//!   service_ids, updates: [{type, description}]}}`): unknown types, unknown
//!   services, empty or too long titles answer 422, and so do `starts_at` and
//!   `ends_at` (on create and `PUT`) in any form but the assumed one
//!   ([`DATETIME_EXAMPLE`]: UTC, no offset);
//! * **both candidate ways of resolving** work: an update of type `resolved` sets
//!   `ends_at` (can be switched off with
//!   [`set_resolved_update_closes`](FakeStatuspal::set_resolved_update_closes)), and
//!   `PUT …/incidents/{id}` with `ends_at` closes the incident;
//! * updates are accepted wrapped (`{"update": {…}}`) or flat, the two candidate
//!   shapes; `PUT` wrapped (`{"incident": {…}}`) or flat;
//! * past a configurable rate window (default 100 requests per 10 s, the lower
//!   documented tier) it answers 429 **without** `Retry-After`, as documented.
//!
//! Error bodies use Phoenix's default JSON shapes (`{"errors": {"detail": …}}`,
//! changeset errors `{"errors": {"title": [...]}}`); the real bodies are not
//! documented. Every request is recorded ([`recorder`](FakeStatuspal::recorder)),
//! and faults can be scripted ([`fail_next`](FakeStatuspal::fail_next),
//! [`fail_next_on`](FakeStatuspal::fail_next_on)).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use alert_statuspal::fake::FakeStatuspal;
//! use alert_statuspal::StatuspalNotifier;
//! let fake = FakeStatuspal::start().await?;
//! let checkout = fake.add_service("Checkout");
//! let config = fake.config().with_services("service=checkout", [checkout]);
//! let notifier = StatuspalNotifier::new(config).expect("valid config");
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alert_core::Timestamp;
use alert_testkit::fake::{FakeServer, Recorder, Reply};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::StatuspalConfig;
use crate::assumptions::{DATETIME_EXAMPLE, DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS, is_datetime};

/// An incident update as the fake stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeUpdate {
    /// The update id.
    pub id: u64,
    /// `issue`, `update`, `escalate`, `deescalate`, `resolved`, ...
    pub update_type: String,
    /// The public text.
    pub description: String,
    /// The `notify` flag, when sent.
    pub notify: Option<bool>,
    /// When it was posted (`2022-01-01T00:00:00`).
    pub inserted_at: String,
}

/// An incident as the fake stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeIncident {
    /// The incident id.
    pub id: u64,
    /// `major`, `minor` or `scheduled`.
    pub incident_type: String,
    /// The public title.
    pub title: String,
    /// Affected services.
    pub service_ids: Vec<u64>,
    /// Start (`2022-01-01T00:00:00`).
    pub starts_at: String,
    /// End, `None` while open.
    pub ends_at: Option<String>,
    /// The `notify` flag of the creation, when sent.
    pub notify: Option<bool>,
    /// Updates, oldest first.
    pub updates: Vec<FakeUpdate>,
}

impl FakeIncident {
    /// Whether the incident is open (no `ends_at`).
    pub fn is_open(&self) -> bool {
        self.ends_at.is_none()
    }

    /// The update types in order (`["issue", "update", "resolved"]`).
    pub fn update_types(&self) -> Vec<&str> {
        self.updates
            .iter()
            .map(|u| u.update_type.as_str())
            .collect()
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "type": self.incident_type,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "service_ids": self.service_ids,
            "updates": self.updates.iter().map(FakeUpdate::to_json).collect::<Vec<_>>(),
        })
    }
}

impl FakeUpdate {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.update_type,
            "description": self.description,
            "inserted_at": self.inserted_at,
        })
    }
}

#[derive(Clone, Debug)]
struct FakeService {
    id: u64,
    name: String,
    parent_id: Option<u64>,
}

#[derive(Debug, Default)]
struct FakePage {
    forbidden: bool,
    services: BTreeMap<u64, FakeService>,
    incidents: BTreeMap<u64, FakeIncident>,
}

#[derive(Debug)]
struct Inner {
    key: String,
    default_subdomain: String,
    origin: String,
    pages: BTreeMap<String, FakePage>,
    next_id: u64,
    page_size: usize,
    next_links_v1: bool,
    next_link_origin: Option<String>,
    resolved_update_closes: bool,
    update_answers_with_incident: bool,
    rate: Option<(usize, Duration)>,
    hits: VecDeque<tokio::time::Instant>,
    retry_after_header: Option<u64>,
    /// Scripted answers, each for any request or for a method and path suffix.
    faults: VecDeque<(Option<(Method, String)>, Reply)>,
}

/// Update types the fake accepts: this crate's defaults and the types Statuspal's
/// open-source code base seeds.
pub const KNOWN_UPDATE_TYPES: &[&str] = &[
    "issue",
    "update",
    "escalate",
    "deescalate",
    "resolved",
    "investigating",
    "identified",
    "monitoring",
    "scheduled",
    "retroactive",
];

/// A stateful fake Statuspal on 127.0.0.1; see the [module docs](self).
#[derive(Debug)]
pub struct FakeStatuspal {
    server: FakeServer,
    inner: Arc<Mutex<Inner>>,
}

impl FakeStatuspal {
    /// The API key the fake accepts by default.
    pub const API_KEY: &'static str = "fake-statuspal-key-0123456789";
    /// The subdomain of the status page the fake starts with.
    pub const SUBDOMAIN: &'static str = "acme";

    /// Starts the fake with one status page ([`SUBDOMAIN`](Self::SUBDOMAIN)) and
    /// key [`API_KEY`](Self::API_KEY).
    pub async fn start() -> std::io::Result<FakeStatuspal> {
        FakeStatuspal::start_with(Self::API_KEY, Self::SUBDOMAIN).await
    }

    /// Starts the fake with one status page `subdomain` reachable with `key`.
    pub async fn start_with(key: &str, subdomain: &str) -> std::io::Result<FakeStatuspal> {
        let mut pages = BTreeMap::new();
        pages.insert(subdomain.to_owned(), FakePage::default());
        let inner = Arc::new(Mutex::new(Inner {
            key: key.to_owned(),
            default_subdomain: subdomain.to_owned(),
            origin: String::new(),
            pages,
            next_id: 1,
            page_size: 20,
            next_links_v1: true,
            next_link_origin: None,
            resolved_update_closes: true,
            update_answers_with_incident: false,
            rate: Some((100, Duration::from_secs(10))),
            hits: VecDeque::new(),
            retry_after_header: None,
            faults: VecDeque::new(),
        }));
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let server = FakeServer::start(app).await?;
        lock(&inner).origin = server.url();
        Ok(FakeStatuspal { server, inner })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The API base URL, `http://127.0.0.1:<port>/api/v2`.
    pub fn base_url(&self) -> String {
        format!("{}/api/v2", self.server.url())
    }

    /// The key the fake accepts.
    pub fn api_key(&self) -> String {
        lock(&self.inner).key.clone()
    }

    /// The subdomain of the page the fake started with.
    pub fn subdomain(&self) -> String {
        lock(&self.inner).default_subdomain.clone()
    }

    /// A notifier configuration pointed at this fake (its key, its first page),
    /// with `relist_interval_secs` 0 so every miss lists (tests see lookups).
    pub fn config(&self) -> StatuspalConfig {
        let mut c = StatuspalConfig::new(self.api_key(), self.subdomain())
            .with_base_url(self.base_url())
            .with_public_url(format!("{}/status/{}", self.url(), self.subdomain()));
        c.relist_interval_secs = 0;
        c
    }

    /// Every request received, in order.
    pub fn recorder(&self) -> &Recorder {
        self.server.recorder()
    }

    /// Adds a root service to the first page; returns its id.
    pub fn add_service(&self, name: &str) -> u64 {
        let sub = self.subdomain();
        self.add_service_on(&sub, name, None)
    }

    /// Adds a service to page `subdomain` (creating the page), optionally as a child.
    pub fn add_service_on(&self, subdomain: &str, name: &str, parent_id: Option<u64>) -> u64 {
        let mut g = lock(&self.inner);
        let id = g.take_id();
        g.pages
            .entry(subdomain.to_owned())
            .or_default()
            .services
            .insert(
                id,
                FakeService {
                    id,
                    name: name.to_owned(),
                    parent_id,
                },
            );
        id
    }

    /// Adds an empty status page.
    pub fn add_page(&self, subdomain: &str) {
        lock(&self.inner)
            .pages
            .entry(subdomain.to_owned())
            .or_default();
    }

    /// Adds a status page the key may not access (every request answers 403).
    pub fn add_forbidden_page(&self, subdomain: &str) {
        lock(&self.inner)
            .pages
            .entry(subdomain.to_owned())
            .or_default()
            .forbidden = true;
    }

    /// Adds an incident to the first page as if someone had created it by hand;
    /// `open` leaves `ends_at` unset. Returns its id.
    pub fn seed_incident(
        &self,
        incident_type: &str,
        title: &str,
        description: &str,
        open: bool,
    ) -> u64 {
        let mut g = lock(&self.inner);
        let id = g.take_id();
        let uid = g.take_id();
        let now = fake_now();
        let sub = g.default_subdomain.clone();
        g.pages.entry(sub).or_default().incidents.insert(
            id,
            FakeIncident {
                id,
                incident_type: incident_type.to_owned(),
                title: title.to_owned(),
                service_ids: Vec::new(),
                starts_at: now.clone(),
                ends_at: (!open).then(|| now.clone()),
                notify: None,
                updates: vec![FakeUpdate {
                    id: uid,
                    update_type: "issue".into(),
                    description: description.to_owned(),
                    notify: None,
                    inserted_at: now,
                }],
            },
        );
        id
    }

    /// Every incident of the first page, oldest first.
    pub fn incidents(&self) -> Vec<FakeIncident> {
        let sub = self.subdomain();
        self.incidents_on(&sub)
    }

    /// Every incident of page `subdomain`, oldest first.
    pub fn incidents_on(&self, subdomain: &str) -> Vec<FakeIncident> {
        lock(&self.inner)
            .pages
            .get(subdomain)
            .map(|p| p.incidents.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The open incidents of the first page, oldest first.
    pub fn open_incidents(&self) -> Vec<FakeIncident> {
        self.incidents()
            .into_iter()
            .filter(FakeIncident::is_open)
            .collect()
    }

    /// One incident of the first page.
    pub fn incident(&self, id: u64) -> Option<FakeIncident> {
        let g = lock(&self.inner);
        g.pages
            .get(&g.default_subdomain)
            .and_then(|p| p.incidents.get(&id).cloned())
    }

    /// Closes an incident as someone would by hand (sets `ends_at`).
    pub fn close_incident(&self, id: u64) -> bool {
        let mut g = lock(&self.inner);
        let sub = g.default_subdomain.clone();
        match g.pages.get_mut(&sub).and_then(|p| p.incidents.get_mut(&id)) {
            Some(i) => {
                i.ends_at = Some(fake_now());
                true
            }
            None => false,
        }
    }

    /// Deletes an incident as someone would by hand.
    pub fn delete_incident(&self, id: u64) -> bool {
        let mut g = lock(&self.inner);
        let sub = g.default_subdomain.clone();
        g.pages
            .get_mut(&sub)
            .is_some_and(|p| p.incidents.remove(&id).is_some())
    }

    /// Sets the largest page a listing returns (default 20; `limit` asks for less).
    pub fn set_page_size(&self, n: usize) {
        lock(&self.inner).page_size = n.max(1);
    }

    /// Whether `links.next` points under `/api/v1/` (default `true`, the real quirk).
    pub fn set_next_links_v1(&self, v1: bool) {
        lock(&self.inner).next_links_v1 = v1;
    }

    /// Makes `links.next` use another origin (e.g. `https://statuspal.io`, as the
    /// real API answers behind a proxy); `None` uses the fake's own.
    pub fn set_next_link_origin(&self, origin: Option<&str>) {
        lock(&self.inner).next_link_origin = origin.map(str::to_owned);
    }

    /// Whether an update of type `resolved` sets `ends_at` (default `true`). With
    /// `false`, only `PUT` with `ends_at` closes an incident.
    pub fn set_resolved_update_closes(&self, closes: bool) {
        lock(&self.inner).resolved_update_closes = closes;
    }

    /// Whether the answer to a posted update also carries the incident
    /// (`{"update": …, "incident": …}`; default `false`: only the update).
    pub fn set_update_answers_with_incident(&self, with: bool) {
        lock(&self.inner).update_answers_with_incident = with;
    }

    /// Allows `max` requests per `window` (counted over all requests), then 429;
    /// `None` removes the limit. Default: 100 per 10 s.
    pub fn set_rate_limit(&self, limit: Option<(usize, Duration)>) {
        let mut g = lock(&self.inner);
        g.rate = limit;
        g.hits.clear();
    }

    /// Forgets the requests counted in the rate window, as if the window had
    /// passed (tests of recovery after a 429 without waiting for real time).
    pub fn reset_rate_window(&self) {
        lock(&self.inner).hits.clear();
    }

    /// Adds `Retry-After: <secs>` to 429 answers. Statuspal documents no such
    /// header; this simulates a future one. Default: none.
    pub fn set_retry_after_header(&self, secs: Option<u64>) {
        lock(&self.inner).retry_after_header = secs;
    }

    /// Answers the next request with `reply` instead of serving it.
    pub fn fail_next(&self, reply: Reply) {
        lock(&self.inner).faults.push_back((None, reply));
    }

    /// Answers the next request with this `method` whose path ends with
    /// `path_suffix` (e.g. `"POST"`, `"/updates"`) with `reply`; other requests are
    /// served normally meanwhile.
    pub fn fail_next_on(&self, method: &str, path_suffix: &str, reply: Reply) {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        lock(&self.inner)
            .faults
            .push_back((Some((method, path_suffix.to_owned())), reply));
    }
}

fn lock(m: &Arc<Mutex<Inner>>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

fn fake_now() -> String {
    crate::assumptions::datetime(Timestamp::now())
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn detail(status: u16, text: &str) -> Response {
    json_response(status, &json!({"errors": {"detail": text}}))
}

/// A refusal, turned into a response at the end of a handler.
struct Fail(u16, Value);

impl Fail {
    fn response(self) -> Response {
        json_response(self.0, &self.1)
    }
}

fn fail(status: u16, text: &str) -> Fail {
    Fail(status, json!({"errors": {"detail": text}}))
}

/// A changeset-shaped 422.
fn invalid(field: &str, msg: &str) -> Fail {
    Fail(422, json!({"errors": {field: [msg]}}))
}

fn reply_response(reply: Reply) -> Response {
    let mut r = Response::new(Body::from(reply.body));
    *r.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (header::HeaderName::try_from(k), HeaderValue::try_from(v)) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

fn query_params(uri: &Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (kv.to_owned(), String::new()),
        })
        .collect()
}

/// The sliding rate window: forgets hits older than `window`, then admits (and
/// counts) the request at `now` if fewer than `max` remain.
fn admit(
    hits: &mut VecDeque<tokio::time::Instant>,
    max: usize,
    window: Duration,
    now: tokio::time::Instant,
) -> bool {
    while hits
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        hits.pop_front();
    }
    if hits.len() >= max {
        return false;
    }
    hits.push_back(now);
    true
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Scripted faults first, then the rate window, as a gateway would.
    let fault = {
        let mut g = lock(&inner);
        let hit = g.faults.iter().position(|(m, _)| {
            m.as_ref()
                .is_none_or(|(m, suffix)| *m == method && uri.path().ends_with(suffix.as_str()))
        });
        hit.and_then(|i| g.faults.remove(i)).map(|(_, r)| r)
    };
    if let Some(reply) = fault {
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        return reply_response(reply);
    }
    let mut g = lock(&inner);
    if let Some((max, window)) = g.rate {
        let now = tokio::time::Instant::now();
        if !admit(&mut g.hits, max, window, now) {
            let mut r = detail(429, "Too Many Requests");
            if let Some(s) = g.retry_after_header
                && let Ok(v) = HeaderValue::from_str(&s.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
    }
    let path = uri.path();
    let Some(rest) = path
        .strip_prefix("/api/v2")
        .or_else(|| path.strip_prefix("/api/v1"))
    else {
        return detail(404, "Not Found");
    };
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if segs == ["hello"] && method == Method::GET {
        return json_response(200, &json!({"message": "hello"}));
    }
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == g.key);
    if !authorized {
        return detail(401, "Unauthorized");
    }
    let ["status_pages", sub, tail @ ..] = segs.as_slice() else {
        return detail(404, "Not Found");
    };
    let sub = (*sub).to_owned();
    match g.pages.get(&sub) {
        None => return detail(404, "Not Found"),
        Some(p) if p.forbidden => return detail(403, "Forbidden"),
        Some(_) => {}
    }
    let body_json = || -> Result<Value, Fail> {
        serde_json::from_slice::<Value>(&body).map_err(|_| fail(400, "Bad Request"))
    };
    match (method.clone(), tail) {
        (Method::GET, ["services"]) => {
            let page = &g.pages[&sub];
            let roots: Vec<Value> = page
                .services
                .values()
                .filter(|s| s.parent_id.is_none())
                .map(|s| service_json(page, s))
                .collect();
            json_response(200, &json!({ "services": roots }))
        }
        (Method::GET, ["services", id]) => {
            let page = &g.pages[&sub];
            match id.parse::<u64>().ok().and_then(|id| page.services.get(&id)) {
                Some(s) => json_response(200, &json!({ "service": service_json(page, s) })),
                None => detail(404, "Not Found"),
            }
        }
        (Method::GET, ["incidents"]) => list(&g, &sub, &uri),
        (Method::POST, ["incidents"]) => match body_json() {
            Ok(v) => create(&mut g, &sub, &v),
            Err(r) => r.response(),
        },
        (m, ["incidents", id, rest @ ..]) => {
            let Some(id) = id
                .parse::<u64>()
                .ok()
                .filter(|id| g.pages[&sub].incidents.contains_key(id))
            else {
                return detail(404, "Not Found");
            };
            match (m, rest) {
                (Method::GET, []) => json_response(
                    200,
                    &json!({"incident": g.pages[&sub].incidents[&id].to_json()}),
                ),
                (Method::DELETE, []) => {
                    g.pages.get_mut(&sub).map(|p| p.incidents.remove(&id));
                    Response::builder()
                        .status(StatusCode::NO_CONTENT)
                        .body(Body::empty())
                        .unwrap_or_default()
                }
                (Method::PUT, []) => match body_json() {
                    Ok(v) => put(&mut g, &sub, id, &v),
                    Err(r) => r.response(),
                },
                (Method::POST, ["updates"]) => match body_json() {
                    Ok(v) => add_update(&mut g, &sub, id, &v),
                    Err(r) => r.response(),
                },
                _ => detail(404, "Not Found"),
            }
        }
        _ => detail(404, "Not Found"),
    }
}

fn service_json(page: &FakePage, s: &FakeService) -> Value {
    let children: Vec<u64> = page
        .services
        .values()
        .filter(|c| c.parent_id == Some(s.id))
        .map(|c| c.id)
        .collect();
    let current = page
        .incidents
        .values()
        .filter(|i| i.is_open() && i.service_ids.contains(&s.id))
        .map(|i| i.incident_type.as_str())
        .max_by_key(|t| match *t {
            "major" => 2,
            "minor" => 1,
            _ => 0,
        });
    json!({
        "id": s.id,
        "name": s.name,
        "description": null,
        "parent_id": s.parent_id,
        "private": false,
        "current_incident_type": current,
        "children_ids": children,
    })
}

fn list(g: &Inner, sub: &str, uri: &Uri) -> Response {
    let q = query_params(uri);
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if n >= 1 => n.min(100),
        Some(_) => return invalid("limit", "must be a positive integer").response(),
    };
    let limit = limit.min(g.page_size);
    let before = match q.get("before").map(|b| b.parse::<u64>()) {
        None => None,
        Some(Ok(b)) => Some(b),
        // The real API answers a bad cursor with a 500 (statuspal/statuspal#35).
        Some(Err(_)) => return detail(500, "Internal Server Error"),
    };
    let type_filter = q.get("type");
    let page = &g.pages[sub];
    let mut all: Vec<&FakeIncident> = page
        .incidents
        .values()
        .rev()
        .filter(|i| before.is_none_or(|b| i.id < b))
        .filter(|i| type_filter.is_none_or(|t| &i.incident_type == t))
        .collect();
    let total = page.incidents.len();
    let more = all.len() > limit;
    all.truncate(limit);
    let next = match (more, all.last()) {
        (true, Some(last)) => {
            let origin = g.next_link_origin.as_deref().unwrap_or(&g.origin);
            let v = if g.next_links_v1 { "v1" } else { "v2" };
            let mut link = format!(
                "{origin}/api/{v}/status_pages/{sub}/incidents?before={}&limit={limit}",
                last.id
            );
            if let Some(t) = type_filter {
                link.push_str(&format!("&type={t}"));
            }
            Value::String(link)
        }
        _ => Value::Null,
    };
    json_response(
        200,
        &json!({
            "incidents": all.iter().map(|i| i.to_json()).collect::<Vec<_>>(),
            "links": {"next": next, "prev": null},
            "meta": {"total_count": total},
        }),
    )
}

fn check_title(t: &Value) -> Result<String, Fail> {
    match t.as_str() {
        Some(s) if s.trim().is_empty() => Err(invalid("title", "can't be blank")),
        Some(s) if s.chars().count() > TITLE_MAX_CHARS => Err(invalid(
            "title",
            &format!("should be at most {TITLE_MAX_CHARS} character(s)"),
        )),
        Some(s) => Ok(s.to_owned()),
        None => Err(invalid("title", "can't be blank")),
    }
}

fn check_type(t: &Value) -> Result<String, Fail> {
    match t.as_str() {
        Some(s @ ("major" | "minor" | "scheduled")) => Ok(s.to_owned()),
        _ => Err(invalid("type", "is invalid")),
    }
}

fn check_services(page: &FakePage, v: Option<&Value>) -> Result<Vec<u64>, Fail> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(arr) = v.as_array() else {
        return Err(invalid("service_ids", "is invalid"));
    };
    let mut ids = Vec::new();
    for x in arr {
        match x.as_u64() {
            Some(id) if page.services.contains_key(&id) => ids.push(id),
            _ => return Err(invalid("service_ids", "does not exist")),
        }
    }
    Ok(ids)
}

fn check_datetime(field: &str, v: Option<&Value>) -> Result<Option<Option<String>>, Fail> {
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if is_datetime(s) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(invalid(
            field,
            &format!("is invalid (expected UTC without offset, like {DATETIME_EXAMPLE})"),
        )),
    }
}

fn check_update(g: &mut Inner, u: &Value) -> Result<FakeUpdate, Fail> {
    let update_type = match u.get("type").and_then(Value::as_str) {
        Some(t) if KNOWN_UPDATE_TYPES.contains(&t) => t.to_owned(),
        _ => return Err(invalid("type", "is invalid")),
    };
    let description = match u.get("description").and_then(Value::as_str) {
        Some(d) if d.trim().is_empty() => return Err(invalid("description", "can't be blank")),
        Some(d) if d.chars().count() > DESCRIPTION_MAX_CHARS => {
            return Err(invalid(
                "description",
                &format!("should be at most {DESCRIPTION_MAX_CHARS} character(s)"),
            ));
        }
        Some(d) => d.to_owned(),
        None => return Err(invalid("description", "can't be blank")),
    };
    Ok(FakeUpdate {
        id: g.take_id(),
        update_type,
        description,
        notify: u.get("notify").and_then(Value::as_bool),
        inserted_at: fake_now(),
    })
}

fn create(g: &mut Inner, sub: &str, v: &Value) -> Response {
    let Some(inc) = v.get("incident").filter(|i| i.is_object()) else {
        return detail(400, "Bad Request");
    };
    let result = (|| {
        let incident_type = check_type(inc.get("type").unwrap_or(&Value::Null))?;
        let title = check_title(inc.get("title").unwrap_or(&Value::Null))?;
        let service_ids = check_services(&g.pages[sub], inc.get("service_ids"))?;
        let starts_at = check_datetime("starts_at", inc.get("starts_at"))?.flatten();
        let ends_at = check_datetime("ends_at", inc.get("ends_at"))?.flatten();
        if incident_type == "scheduled" && starts_at.is_none() {
            return Err(invalid("starts_at", "can't be blank"));
        }
        let mut updates = Vec::new();
        match inc.get("updates") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for u in list {
                    updates.push(check_update(g, u)?);
                }
            }
            Some(_) => return Err(invalid("updates", "is invalid")),
        }
        let id = g.take_id();
        let incident = FakeIncident {
            id,
            incident_type,
            title,
            service_ids,
            starts_at: starts_at.unwrap_or_else(fake_now),
            ends_at,
            notify: inc.get("notify").and_then(Value::as_bool),
            updates,
        };
        let body = json!({"incident": incident.to_json()});
        g.pages
            .get_mut(sub)
            .map(|p| p.incidents.insert(id, incident));
        Ok(json_response(201, &body))
    })();
    result.unwrap_or_else(Fail::response)
}

fn unwrap_body<'a>(v: &'a Value, key: &str, fields: &[&str]) -> Option<&'a Value> {
    match v.get(key) {
        Some(inner) if inner.is_object() => Some(inner),
        Some(_) => None,
        None if fields.iter().any(|f| v.get(f).is_some()) => Some(v),
        None => None,
    }
}

fn put(g: &mut Inner, sub: &str, id: u64, v: &Value) -> Response {
    const FIELDS: &[&str] = &[
        "type",
        "title",
        "service_ids",
        "starts_at",
        "ends_at",
        "notify",
    ];
    let Some(fields) = unwrap_body(v, "incident", FIELDS) else {
        return detail(400, "Bad Request");
    };
    let result = (|| {
        let incident_type = fields.get("type").map(check_type).transpose()?;
        let title = fields.get("title").map(check_title).transpose()?;
        let service_ids = match fields.get("service_ids") {
            Some(s) => Some(check_services(&g.pages[sub], Some(s))?),
            None => None,
        };
        let starts_at = check_datetime("starts_at", fields.get("starts_at"))?;
        let ends_at = check_datetime("ends_at", fields.get("ends_at"))?;
        let Some(inc) = g.pages.get_mut(sub).and_then(|p| p.incidents.get_mut(&id)) else {
            return Err(fail(404, "Not Found"));
        };
        if let Some(t) = incident_type {
            inc.incident_type = t;
        }
        if let Some(t) = title {
            inc.title = t;
        }
        if let Some(s) = service_ids {
            inc.service_ids = s;
        }
        if let Some(Some(s)) = starts_at {
            inc.starts_at = s;
        }
        if let Some(e) = ends_at {
            inc.ends_at = e;
        }
        Ok(json_response(200, &json!({"incident": inc.to_json()})))
    })();
    result.unwrap_or_else(Fail::response)
}

fn add_update(g: &mut Inner, sub: &str, id: u64, v: &Value) -> Response {
    let Some(fields) = unwrap_body(v, "update", &["type", "description"]) else {
        return detail(400, "Bad Request");
    };
    let update = match check_update(g, fields) {
        Ok(u) => u,
        Err(r) => return r.response(),
    };
    let closes = g.resolved_update_closes && update.update_type == "resolved";
    let with_incident = g.update_answers_with_incident;
    let Some(inc) = g.pages.get_mut(sub).and_then(|p| p.incidents.get_mut(&id)) else {
        return detail(404, "Not Found");
    };
    if closes && inc.ends_at.is_none() {
        inc.ends_at = Some(update.inserted_at.clone());
    }
    let mut body = json!({"update": update.to_json()});
    inc.updates.push(update);
    if with_incident {
        body["incident"] = inc.to_json();
    }
    json_response(201, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn fake_speaks_the_documented_api() {
        let fake = FakeStatuspal::start().await.unwrap();
        let svc = fake.add_service("Checkout");
        let c = client().await;
        let base = fake.base_url();
        let key = fake.api_key();
        let r = c.get(format!("{base}/hello")).send().await.unwrap();
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"message": "hello"})
        );
        // Bearer is refused: the key goes in raw.
        let r = c
            .get(format!("{base}/status_pages/acme/incidents"))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let r = c
            .get(format!("{base}/status_pages/nope/incidents"))
            .header("authorization", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = c
            .post(format!("{base}/status_pages/acme/incidents"))
            .header("authorization", &key)
            .json(&json!({"incident": {"type": "major", "title": "DB connection issues",
                "service_ids": [svc], "updates": [{"type": "issue", "description": "We investigating"}]}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        let id = created["incident"]["id"].as_u64().unwrap();
        let r = c
            .get(format!("{base}/status_pages/acme/services/{svc}"))
            .header("authorization", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.json::<Value>().await.unwrap()["service"]["current_incident_type"],
            "major"
        );
        // Both resolve styles close.
        let r = c
            .post(format!("{base}/status_pages/acme/incidents/{id}/updates"))
            .header("authorization", &key)
            .json(&json!({"update": {"type": "resolved", "description": "fixed"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert!(!fake.incident(id).unwrap().is_open());
        let id2 = fake.seed_incident("minor", "other", "x", true);
        let r = c
            .put(format!("{base}/status_pages/acme/incidents/{id2}"))
            .header("authorization", &key)
            .json(&json!({"incident": {"ends_at": "2030-01-01T00:00:00"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            fake.incident(id2).unwrap().ends_at.as_deref(),
            Some("2030-01-01T00:00:00")
        );
        // Date-times in any other form than the assumed one are refused.
        let id3 = fake.seed_incident("minor", "third", "x", true);
        for bad in [
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00+02:00",
            "1893456000",
        ] {
            let r = c
                .put(format!("{base}/status_pages/acme/incidents/{id3}"))
                .header("authorization", &key)
                .json(&json!({"incident": {"ends_at": bad}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 422, "{bad}");
            assert!(r.text().await.unwrap().contains("ends_at"), "{bad}");
        }
        assert!(fake.incident(id3).unwrap().is_open());
        // Validation answers 422 with a changeset-shaped body.
        let r = c
            .post(format!("{base}/status_pages/acme/incidents"))
            .header("authorization", &key)
            .json(&json!({"incident": {"type": "major", "title": "x", "service_ids": [999]}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("service_ids"));
        // A bad cursor is a 500, like the real API.
        let r = c
            .get(format!("{base}/status_pages/acme/incidents?before=abc"))
            .header("authorization", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500);
    }

    #[test]
    fn the_rate_window_slides() {
        let t0 = tokio::time::Instant::now();
        let s = Duration::from_secs(1);
        let window = Duration::from_secs(10);
        let mut hits = VecDeque::new();
        assert!(admit(&mut hits, 2, window, t0));
        assert!(admit(&mut hits, 2, window, t0 + s));
        assert!(
            !admit(&mut hits, 2, window, t0 + 9 * s),
            "two in the window"
        );
        // The first hit leaves the window at t0 + 10 s; the refused one never counted.
        assert!(admit(&mut hits, 2, window, t0 + 10 * s));
        assert!(!admit(&mut hits, 2, window, t0 + 10 * s));
        assert!(admit(&mut hits, 2, window, t0 + 11 * s));
        assert_eq!(hits.len(), 2);
        assert!(
            !admit(&mut hits, 0, window, t0 + 100 * s),
            "a limit of 0 refuses all"
        );
    }

    #[tokio::test]
    async fn fake_paginates_and_rate_limits() {
        let fake = FakeStatuspal::start().await.unwrap();
        for i in 0..5 {
            fake.seed_incident("minor", &format!("i{i}"), "x", true);
        }
        fake.set_page_size(2);
        let c = client().await;
        let key = fake.api_key();
        let mut url = format!("{}/status_pages/acme/incidents?limit=100", fake.base_url());
        let mut titles = Vec::new();
        loop {
            let v: Value = c
                .get(&url)
                .header("authorization", &key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for i in v["incidents"].as_array().unwrap() {
                titles.push(i["title"].as_str().unwrap().to_owned());
            }
            match v["links"]["next"].as_str() {
                Some(n) => {
                    assert!(n.contains("/api/v1/"), "{n}");
                    url = n.to_owned();
                }
                None => break,
            }
        }
        assert_eq!(titles, ["i4", "i3", "i2", "i1", "i0"]);
        fake.set_rate_limit(Some((2, Duration::from_secs(60))));
        let get = || c.get(format!("{}/hello", fake.base_url())).send();
        assert_eq!(get().await.unwrap().status(), 200);
        assert_eq!(get().await.unwrap().status(), 200);
        let r = get().await.unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().get("retry-after").is_none());
    }
}
