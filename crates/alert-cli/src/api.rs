//! The HTTP API of `alerts serve` (axum). Documented in `docs/api.md` and
//! `docs/openapi.json` (OpenAPI 3), kept in sync by `tests/e2e/docs.rs`.
//!
//! Every error is JSON: `{"error": {"status": 400, "field": "$[1].severity",
//! "message": "..."}}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alert_conditions::rules::{RuleSet, Sample};
use alert_core::{Alert, Fingerprint, Severity, Timestamp};
use alert_router::delivery::history;
use alert_router::delivery::report::EffectivenessReport;
use alert_router::delivery::{BreakerState, OutboxError};
use alert_router::store::{
    AttemptOutcome, AttemptQuery, DeadLetter, DeadLetterQuery, LogKind, LogQuery,
};
use alert_router::{AlertFilter, Matcher, Router, RouterError, Silence, TimeInterval};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::am;
use crate::auth::{Auth, Denied, Scope};
use crate::limits::{self, Limits, Problem};
use crate::metrics::Metrics;

/// Shared state of the handlers.
#[derive(Debug)]
pub struct AppState {
    /// The router.
    pub router: Arc<Router>,
    /// Threshold rules fed by `/api/v1/metrics`.
    pub rules: tokio::sync::Mutex<RuleSet>,
    /// Tokens.
    pub auth: Auth,
    /// Input limits.
    pub limits: Limits,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// False while shutting down (`/readyz` answers 503).
    pub ready: AtomicBool,
    /// When the service started.
    pub started: Timestamp,
    /// The most a request's body may take to arrive (408 after it).
    pub request_timeout: Duration,
    /// The router's `resolve_timeout` (for Alertmanager's `endsAt`).
    pub resolve_timeout: Duration,
}

/// An API error, answered as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    field: Option<String>,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            field: None,
            message: message.into(),
        }
    }
    fn bad(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST),
            field: Some(p.field),
            message: p.message,
        }
    }
}

impl From<am::FieldError> for ApiError {
    fn from(e: am::FieldError) -> ApiError {
        ApiError::bad(
            format!(
                "${}",
                if e.field.starts_with('[') {
                    e.field
                } else {
                    format!(".{}", e.field)
                }
            ),
            e.message,
        )
    }
}

impl From<RouterError> for ApiError {
    fn from(e: RouterError) -> ApiError {
        let status = match &e {
            RouterError::NotFound { .. } => StatusCode::NOT_FOUND,
            RouterError::Invalid { .. } | RouterError::Build(_) => StatusCode::UNPROCESSABLE_ENTITY,
            // The store or the outbox could not make the request durable: the sender
            // keeps the alert and retries, as it would with a down Alertmanager.
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = json!({"status": self.status.as_u16(), "message": self.message});
        if let Some(f) = self.field {
            err["field"] = Value::String(f);
        }
        (self.status, Json(json!({ "error": err }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn authorize(state: &AppState, headers: &HeaderMap, scope: Scope) -> ApiResult<()> {
    let h = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state.auth.check(h, scope).map_err(|d| match d {
        Denied::Missing => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing `Authorization: Bearer <token>`",
        ),
        Denied::Invalid => ApiError::new(StatusCode::UNAUTHORIZED, "unknown token"),
        Denied::ReadOnly => ApiError::new(StatusCode::FORBIDDEN, "this token may only read"),
    })
}

async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<axum::body::Bytes> {
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !(mime == "application/json" || mime.ends_with("+json") || mime.is_empty()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content type must be application/json, not {mime:?}"),
            ));
        }
    }
    let max = state.limits.max_body_bytes;
    // A client that trickles its body holds a connection no longer than this.
    let read = tokio::time::timeout(state.request_timeout, axum::body::to_bytes(body, max));
    let bytes = read
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body did not arrive within {} (request_timeout)",
                    humantime::format_duration(state.request_timeout)
                ),
            )
        })?
        .map_err(|_| {
            ApiError::from(Problem {
                status: 413,
                field: "$".into(),
                message: format!("body is larger than the limit of {max} bytes"),
            })
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad("$", "empty body: expected JSON"));
    }
    limits::check_body(&bytes, &state.limits)?;
    Ok(bytes)
}

fn is_array(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

async fn ingest(state: &AppState, endpoint: &str, alerts: Vec<Alert>) -> ApiResult<usize> {
    limits::check_alerts(&alerts, &state.limits)?;
    let n = alerts.len();
    state.router.send_batch(alerts).await?;
    state.metrics.received(endpoint, n);
    Ok(n)
}

/// `POST /api/v1/alerts`: one native alert or an array of them.
async fn post_alerts(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Write)?;
    let bytes = read_body(&s, &headers, body).await?;
    let alerts: Vec<Alert> = if is_array(&bytes) {
        limits::parse_json(&bytes)?
    } else {
        vec![limits::parse_json::<Alert>(&bytes)?]
    };
    let n = ingest(&s, "native", alerts).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "accepted": n }))).into_response())
}

/// `POST /api/v2/alerts`: Alertmanager API v2.
async fn post_am_v2(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Write)?;
    let bytes = read_body(&s, &headers, body).await?;
    let batch: Vec<am::PostableAlert> = limits::parse_json(&bytes)?;
    let alerts = am::from_postable(batch, s.router.now())?;
    ingest(&s, "alertmanager_v2", alerts).await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /api/v1/alertmanager`: an Alertmanager webhook (version 4).
async fn post_am_webhook(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Write)?;
    let bytes = read_body(&s, &headers, body).await?;
    let msg: am::WebhookMessage = limits::parse_json(&bytes)?;
    let alerts = am::from_webhook(msg, s.router.now())?;
    let n = ingest(&s, "alertmanager_webhook", alerts).await?;
    Ok(Json(json!({ "accepted": n })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricSample {
    metric: String,
    value: f64,
    #[serde(default)]
    at: Option<Timestamp>,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    sample_size: Option<u64>,
    #[serde(default)]
    segment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsBody {
    samples: Vec<MetricSample>,
}

/// `POST /api/v1/metrics`: samples that feed the `[[rules]]`.
async fn post_metrics(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Write)?;
    let bytes = read_body(&s, &headers, body).await?;
    let body: MetricsBody = limits::parse_json(&bytes)?;
    if body.samples.len() > s.limits.max_alerts_per_request {
        return Err(Problem {
            status: 413,
            field: "$.samples".into(),
            message: format!(
                "more than {} samples in one request",
                s.limits.max_alerts_per_request
            ),
        }
        .into());
    }
    let now = s.router.now();
    let mut alerts = Vec::new();
    let mut unmatched = Vec::new();
    {
        let mut rules = s.rules.lock().await;
        for (i, m) in body.samples.into_iter().enumerate() {
            if !rules.watches(&m.metric) {
                unmatched.push(m.metric.clone());
                continue;
            }
            let mut sample = Sample::new(m.at.unwrap_or(now), m.value);
            if let Some(w) = m.window {
                sample = sample.window(w);
            }
            if let Some(n) = m.sample_size {
                sample = sample.sample_size(n);
            }
            if let Some(seg) = m.segment {
                sample = sample.segment(seg);
            }
            let out = rules
                .observe_sample(&m.metric, sample)
                .map_err(|e| ApiError::bad(format!("$.samples[{i}]"), e.to_string()))?;
            alerts.extend(out);
        }
    }
    let produced = alerts.len();
    if !alerts.is_empty() {
        ingest(&s, "metrics", alerts).await?;
    }
    unmatched.sort();
    unmatched.dedup();
    Ok(Json(json!({ "alerts": produced, "unmatched_metrics": unmatched })).into_response())
}

fn parse_query<T: for<'de> Deserialize<'de>>(q: Option<String>) -> ApiResult<T> {
    serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad("query", e.to_string()))
}

fn parse_bool(field: &str, v: &Option<String>) -> ApiResult<Option<bool>> {
    match v.as_deref() {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(o) => Err(ApiError::bad(
            field,
            format!("expected true or false, not {o:?}"),
        )),
    }
}

fn parse_time(field: &str, v: &Option<String>, now: Timestamp) -> ApiResult<Option<Timestamp>> {
    match v.as_deref() {
        None => Ok(None),
        Some(s) => {
            if let Ok(t) = s.parse::<Timestamp>() {
                return Ok(Some(t));
            }
            humantime::parse_duration(s)
                .map(|d| Some(now.saturating_sub(d)))
                .map_err(|_| {
                    ApiError::bad(
                        field,
                        format!("expected an RFC 3339 time or a duration like 24h, not {s:?}"),
                    )
                })
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct AlertsQuery {
    filter: Option<String>,
    silenced: Option<String>,
    inhibited: Option<String>,
    acked: Option<String>,
    firing: Option<String>,
    receiver: Option<String>,
}

/// `GET /api/v1/alerts?filter=model=bikes,severity>=error&silenced=false&receiver=team`.
async fn get_alerts(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    let q: AlertsQuery = parse_query(q)?;
    let mut f = AlertFilter::default();
    if let Some(expr) = &q.filter {
        f.matchers = alert_router::matcher::parse_matchers(expr)
            .map_err(|e| ApiError::bad("filter", e.to_string()))?;
    }
    f.silenced = parse_bool("silenced", &q.silenced)?;
    f.inhibited = parse_bool("inhibited", &q.inhibited)?;
    f.acked = parse_bool("acked", &q.acked)?;
    f.firing = parse_bool("firing", &q.firing)?;
    f.receiver = q.receiver;
    Ok(Json(s.router.alerts(&f)).into_response())
}

/// The query of an Alertmanager API v2 read: `filter` (repeated, each a matcher
/// such as `alertname="X"`), booleans, `receiver` (an anchored regex).
#[derive(Debug, Default)]
struct AmQuery {
    filter: Vec<Matcher>,
    flags: std::collections::BTreeMap<String, bool>,
    receiver: Option<Matcher>,
}

fn am_query(q: Option<String>, flags: &[&str]) -> ApiResult<AmQuery> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad("query", e.to_string()))?;
    let mut out = AmQuery::default();
    for (k, v) in pairs {
        match k.as_str() {
            "filter" => out.filter.extend(
                alert_router::matcher::parse_matchers(&v)
                    .map_err(|e| ApiError::bad("filter", e.to_string()))?,
            ),
            "receiver" => {
                out.receiver = Some(
                    Matcher::regex("receiver", &v)
                        .map_err(|e| ApiError::bad("receiver", e.to_string()))?,
                );
            }
            f if flags.contains(&f) => {
                let b = parse_bool(f, &Some(v))?.unwrap_or(true);
                out.flags.insert(k, b);
            }
            other => {
                return Err(ApiError::bad(
                    other,
                    format!(
                        "unknown query parameter; expected filter, receiver{}",
                        flags.iter().map(|f| format!(", {f}")).collect::<String>()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// `GET /api/v2/alerts`: Alertmanager API v2 (`gettableAlerts`), for Grafana's
/// Alertmanager data source and `amtool alert query`. Query: `filter` (repeated),
/// `active`, `silenced`, `inhibited`, `unprocessed` (booleans, default true),
/// `receiver` (regex).
async fn get_am_alerts(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    let q = am_query(q, &["active", "silenced", "inhibited", "unprocessed"])?;
    let flag = |f: &str| q.flags.get(f).copied().unwrap_or(true);
    let f = AlertFilter {
        matchers: q.filter.clone(),
        firing: Some(true),
        ..AlertFilter::default()
    };
    let out: Vec<Value> = s
        .router
        .alerts(&f)
        .iter()
        .filter(|v| {
            let silenced = !v.silenced_by.is_empty();
            let inhibited = !v.inhibited_by.is_empty();
            (flag("silenced") || !silenced)
                && (flag("inhibited") || !inhibited)
                && (flag("active") || silenced || inhibited)
                && q.receiver
                    .as_ref()
                    .is_none_or(|r| v.receivers.iter().any(|n| r.matches_value(n)))
        })
        .map(|v| am::gettable_alert(v, s.resolve_timeout))
        .collect();
    Ok(Json(out).into_response())
}

/// `GET /api/v2/silences`: Alertmanager API v2 (`gettableSilences`). Query:
/// `filter` (repeated matchers the silences' matchers must satisfy).
async fn get_am_silences(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    let q = am_query(q, &[])?;
    if q.receiver.is_some() {
        return Err(ApiError::bad("receiver", "silences have no receiver"));
    }
    let out: Vec<Value> = s
        .router
        .silences()
        .iter()
        .filter(|v| am::silence_matches_filter(v, &q.filter))
        .map(am::gettable_silence)
        .collect();
    Ok(Json(out).into_response())
}

/// `GET /api/v2/status`: Alertmanager API v2 (`alertmanagerStatus`).
async fn get_am_status(State(s): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    Ok(Json(am::status(s.started)).into_response())
}

/// What `POST /api/v1/silences` accepts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceRequest {
    /// Matchers, as strings (`model = bikes`, `severity >= error`).
    pub matchers: Vec<Matcher>,
    /// Start (default now).
    #[serde(default)]
    pub starts_at: Option<Timestamp>,
    /// End; or give `duration`.
    #[serde(default)]
    pub ends_at: Option<Timestamp>,
    /// Length (`2h`), when `ends_at` is absent.
    #[serde(default)]
    pub duration: Option<String>,
    /// Who.
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
    /// Recurring windows.
    #[serde(default)]
    pub recurrence: Vec<TimeInterval>,
}

impl SilenceRequest {
    fn into_silence(self, now: Timestamp) -> ApiResult<Silence> {
        let start = self.starts_at.unwrap_or(now);
        let end = match (self.ends_at, self.duration.as_deref()) {
            (Some(e), None) => e,
            (None, Some(d)) => start.saturating_add(
                humantime::parse_duration(d)
                    .map_err(|e| ApiError::bad("$.duration", format!("{d:?}: {e}")))?,
            ),
            (Some(_), Some(_)) => {
                return Err(ApiError::bad(
                    "$.duration",
                    "give `ends_at` or `duration`, not both",
                ));
            }
            (None, None) => {
                return Err(ApiError::bad(
                    "$.ends_at",
                    "`ends_at` or `duration` is required",
                ));
            }
        };
        if self.created_by.trim().is_empty() {
            return Err(ApiError::bad("$.created_by", "must not be empty"));
        }
        let mut s = Silence::new(self.matchers, self.created_by, self.comment).between(start, end);
        for w in self.recurrence {
            s = s.recurring(w);
        }
        Ok(s)
    }
}

/// `POST /api/v1/silences`.
async fn post_silence(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Write)?;
    let bytes = read_body(&s, &headers, body).await?;
    let req: SilenceRequest = limits::parse_json(&bytes)?;
    let silence = req.into_silence(s.router.now())?;
    let id = s.router.create_silence(silence).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `GET /api/v1/silences`.
async fn get_silences(State(s): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    Ok(Json(s.router.silences()).into_response())
}

/// `GET /api/v1/silences/{id}`.
async fn get_silence(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    s.router
        .silence(&id)
        .map(|v| Json(v).into_response())
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("silence not found: {id}")))
}

/// `DELETE /api/v1/silences/{id}`: expires it.
async fn expire_silence(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Write)?;
    s.router.expire_silence(&id).await?;
    Ok(Json(json!({ "expired": id })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckRequest {
    by: String,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/alerts/{fingerprint}/ack`.
async fn post_ack(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(fp): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Write)?;
    let fp: Fingerprint = fp.parse().map_err(|e: alert_core::ParseFingerprintError| {
        ApiError::bad("fingerprint", e.to_string())
    })?;
    let bytes = read_body(&s, &headers, body).await?;
    let req: AckRequest = limits::parse_json(&bytes)?;
    if req.by.trim().is_empty() {
        return Err(ApiError::bad("$.by", "must not be empty"));
    }
    s.router.ack(fp, &req.by, &req.comment).await?;
    Ok(Json(json!({ "acknowledged": fp.to_string() })).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct HistoryQuery {
    fingerprint: Option<String>,
    receiver: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/history`: delivery attempts.
async fn get_history(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    let q: HistoryQuery = parse_query(q)?;
    let now = s.router.now();
    let mut aq = AttemptQuery::default();
    aq.fingerprint = q
        .fingerprint
        .as_deref()
        .map(|f| {
            f.parse().map_err(|e: alert_core::ParseFingerprintError| {
                ApiError::bad("fingerprint", e.to_string())
            })
        })
        .transpose()?;
    aq.receiver = q.receiver;
    aq.outcome = q.outcome.as_deref().map(parse_outcome).transpose()?;
    aq.since = parse_time("since", &q.since, now)?;
    aq.until = parse_time("until", &q.until, now)?;
    aq.limit = q.limit.unwrap_or(1000);
    let attempts = history::query(s.router.store().as_ref(), &aq)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(Json(history_json(&attempts)).into_response())
}

/// Every attempt outcome, in the order error messages list them. The `match` in
/// [`parse_outcome`] stops compiling when `AttemptOutcome` gains a variant: a
/// reminder to list it here too.
const OUTCOMES: [AttemptOutcome; 4] = [
    AttemptOutcome::Delivered,
    AttemptOutcome::Failed,
    AttemptOutcome::GaveUp,
    AttemptOutcome::FellBack,
];

/// The `outcome` query parameter: the snake-case name of any [`AttemptOutcome`].
fn parse_outcome(o: &str) -> ApiResult<AttemptOutcome> {
    let found = OUTCOMES.into_iter().find(|x| x.as_str() == o);
    match found {
        Some(
            x @ (AttemptOutcome::Delivered
            | AttemptOutcome::Failed
            | AttemptOutcome::GaveUp
            | AttemptOutcome::FellBack),
        ) => Ok(x),
        None => {
            let names: Vec<&str> = OUTCOMES.iter().map(|x| x.as_str()).collect();
            let (last, rest) = names.split_last().unwrap_or((&"", &[]));
            Err(ApiError::bad(
                "outcome",
                format!("expected {} or {last}, not {o:?}", rest.join(", ")),
            ))
        }
    }
}

/// The attempts as JSON, with the latency in milliseconds (`latency_ms`).
fn history_json(attempts: &[alert_router::store::DeliveryAttempt]) -> Value {
    let mut v = history::to_json(attempts);
    for (a, item) in attempts.iter().zip(v.as_array_mut().into_iter().flatten()) {
        if let Some(o) = item.as_object_mut() {
            o.remove("latency");
            o.insert(
                "latency_ms".into(),
                json!((a.latency.as_secs_f64() * 1e6).round() / 1e3),
            );
        }
    }
    v
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct LogQueryParams {
    fingerprint: Option<String>,
    receiver: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/notifications`: the notification log (what was sent where, acks,
/// escalations).
async fn get_log(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    let q: LogQueryParams = parse_query(q)?;
    let now = s.router.now();
    let mut lq = LogQuery::default();
    lq.fingerprint = q
        .fingerprint
        .as_deref()
        .map(|f| {
            f.parse().map_err(|e: alert_core::ParseFingerprintError| {
                ApiError::bad("fingerprint", e.to_string())
            })
        })
        .transpose()?;
    lq.receiver = q.receiver;
    if let Some(k) = q.kind {
        let kind: LogKind = serde_json::from_value(Value::String(k.clone()))
            .map_err(|_| {
                ApiError::bad(
                    "kind",
                    format!(
                        "unknown log kind {k:?}: expected notified, flapping, escalated, acked or action"
                    ),
                )
            })?;
        lq.kinds = vec![kind];
    }
    lq.since = parse_time("since", &q.since, now)?;
    lq.until = parse_time("until", &q.until, now)?;
    lq.limit = q.limit.unwrap_or(1000);
    Ok(Json(s.router.notification_log(&lq).await?).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct DeadLetterParams {
    id: Option<String>,
    receiver: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

/// A dead letter as the API shows it: flat, like a history row; `id` is the
/// `notification_id` of its attempts in the history, and what
/// `POST /api/v1/dead-letters/{id}/redeliver` takes. The alerts are included: they
/// may be resolved (and gone from `GET /api/v1/alerts`) by the time someone looks.
/// Nothing in it is a secret: channel errors never hold one (URLs and tokens are
/// stripped where the errors are made).
fn dead_letter_json(d: &DeadLetter) -> Value {
    let n = &d.notification;
    json!({
        "id": n.id,
        "at": d.at,
        "reason": d.reason,
        "receiver": n.receiver,
        "channel": n.channel,
        "group_key": n.group_key,
        "kind": n.kind,
        "severity": n.severity,
        "created_at": n.created_at,
        "attempts": n.attempts,
        "error_kind": d.error_kind,
        "error": d.error,
        "fallback_from": n.fallback_from,
        "fingerprints": n.fingerprints(),
        "alerts": n.alerts,
    })
}

fn outbox_error(e: OutboxError) -> ApiError {
    match e {
        OutboxError::UnknownChannel { receiver, channel } => ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "receiver `{receiver}` has no channel `{channel}` any more (the config changed): the dead letter stays"
            ),
        ),
        other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
    }
}

/// `GET /api/v1/dead-letters`: notifications given up (a permanent error, or the
/// retry deadline passed) by a receiver without a fallback, newest first.
async fn get_dead_letters(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    let q: DeadLetterParams = parse_query(q)?;
    let now = s.router.now();
    let mut dq = DeadLetterQuery::default();
    dq.id = q.id;
    dq.receiver = q.receiver;
    dq.since = parse_time("since", &q.since, now)?;
    dq.until = parse_time("until", &q.until, now)?;
    dq.limit = q.limit.unwrap_or(1000);
    let dead = s
        .router
        .outbox()
        .dead_letters(&dq)
        .await
        .map_err(outbox_error)?;
    Ok(Json(dead.iter().map(dead_letter_json).collect::<Vec<_>>()).into_response())
}

/// `POST /api/v1/dead-letters/{id}/redeliver`: queues a dead letter again, with a
/// fresh retry budget. 409 while its channel is disabled (it would be given up
/// again at once) or when the channel is no longer configured.
async fn redeliver_dead_letter(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Write)?;
    let outbox = s.router.outbox();
    let mut q = DeadLetterQuery::default();
    q.id = Some(id.clone());
    q.limit = 1;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("dead letter not found: {id}"),
        )
    };
    let dead = outbox
        .dead_letters(&q)
        .await
        .map_err(outbox_error)?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    let (receiver, channel) = (&dead.notification.receiver, &dead.notification.channel);
    if let Some(BreakerState::Disabled { reason, .. }) =
        outbox.breaker(receiver, channel).map(|b| b.state())
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "channel `{channel}` of receiver `{receiver}` is disabled ({reason}): fix its config and restart the service, then redeliver"
            ),
        ));
    }
    if !outbox.redeliver(&id).await.map_err(outbox_error)? {
        return Err(not_found());
    }
    Ok(
        Json(json!({ "redelivered": id, "receiver": receiver, "channel": channel }))
            .into_response(),
    )
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ReportQuery {
    since: Option<String>,
    until: Option<String>,
}

/// `GET /api/v1/report?since=7d`: the alert-effectiveness report.
async fn get_report(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    let q: ReportQuery = parse_query(q)?;
    let now = s.router.now();
    let since = parse_time("since", &q.since, now)?
        .unwrap_or_else(|| now.saturating_sub(Duration::from_secs(7 * 86_400)));
    let until = parse_time("until", &q.until, now)?.unwrap_or(now);
    let report = EffectivenessReport::build(s.router.store().as_ref(), since, until)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(Json(report.to_json()).into_response())
}

/// `GET /api/v1/receivers`: receivers, their channels and delivery state.
async fn get_receivers(State(s): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    let status = s.router.outbox().channels();
    let out: Vec<Value> = s
        .router
        .receivers()
        .into_iter()
        .map(|(name, channels)| {
            let chans: Vec<Value> = channels
                .iter()
                .map(|c| {
                    let st = status
                        .iter()
                        .find(|x| x.receiver == name && &x.channel == c);
                    json!({ "name": c, "status": st })
                })
                .collect();
            json!({ "name": name, "channels": chans })
        })
        .collect();
    Ok(Json(out).into_response())
}

/// `POST /api/v1/receivers/{name}/test`: sends a test alert through one receiver,
/// bypassing routing and noise control, and returns each channel's receipt or error.
async fn test_receiver(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Write)?;
    let alert = test_alert();
    let results = s.router.test_receiver(&name, &alert).await?;
    let out: Vec<Value> = results
        .into_iter()
        .map(|(channel, r)| match r {
            Ok(receipt) => json!({ "channel": channel, "ok": true, "receipt": receipt }),
            Err(e) => {
                json!({ "channel": channel, "ok": false, "error": e.to_string(), "kind": e.kind() })
            }
        })
        .collect();
    Ok(Json(json!({ "receiver": name, "results": out })).into_response())
}

/// The alert `alerts test` sends.
pub fn test_alert() -> Alert {
    Alert::new(Severity::Info, "AlertsTest")
        .with_summary("Test alert from `alerts test`")
        .with_message("If you can read this, the receiver works.")
        .with_label("test", "true")
}

/// `GET /api/v1/status`.
async fn get_status(State(s): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": s.started,
        "store": s.router.store().name(),
        "router": s.router.stats(),
        "outbox": s.router.outbox().stats(),
        "auth": s.auth.enabled(),
    }))
    .into_response())
}

async fn metrics(State(s): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    authorize(&s, &headers, Scope::Read)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if s.ready.load(Ordering::SeqCst) {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint; see docs/api.md")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed for this endpoint",
    )
}

/// Counts rejected requests.
async fn count_rejections(
    State(s): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let resp = next.run(req).await;
    if resp.status().is_client_error() || resp.status().is_server_error() {
        s.metrics.rejected(resp.status().as_u16());
    }
    resp
}

/// The application.
pub fn app(state: Arc<AppState>) -> axum::Router {
    axum::Router::new()
        .route("/api/v1/alerts", post(post_alerts).get(get_alerts))
        .route("/api/v2/alerts", post(post_am_v2).get(get_am_alerts))
        .route("/api/v2/silences", get(get_am_silences))
        .route("/api/v2/status", get(get_am_status))
        .route("/api/v1/alertmanager", post(post_am_webhook))
        .route("/api/v1/metrics", post(post_metrics))
        .route("/api/v1/alerts/{fingerprint}/ack", post(post_ack))
        .route("/api/v1/silences", post(post_silence).get(get_silences))
        .route(
            "/api/v1/silences/{id}",
            get(get_silence).delete(expire_silence),
        )
        .route("/api/v1/history", get(get_history))
        .route("/api/v1/notifications", get(get_log))
        .route("/api/v1/dead-letters", get(get_dead_letters))
        .route(
            "/api/v1/dead-letters/{id}/redeliver",
            post(redeliver_dead_letter),
        )
        .route("/api/v1/report", get(get_report))
        .route("/api/v1/receivers", get(get_receivers))
        .route("/api/v1/receivers/{name}/test", post(test_receiver))
        .route("/api/v1/status", get(get_status))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_rejections,
        ))
        .with_state(state)
}
