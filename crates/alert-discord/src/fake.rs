//! A stateful local fake of Discord's webhook API (feature `fake`).
//!
//! [`FakeDiscord`] serves the webhook routes on `127.0.0.1` and behaves the way
//! discord-api-docs and observed traffic say Discord does:
//!
//! * `POST /api[/v{N}]/webhooks/{id}/{token}`: **200 + the stored message object**
//!   with `?wait=true`, **204** without it. The query may start with an empty pair
//!   (`?&wait=true`, as serenity sends it); `wait` that is not a boolean is a
//!   `50035` error.
//! * `PATCH`, `GET`, `DELETE .../messages/{message_id}`: edit (200 + message),
//!   read, delete (204) a stored message; `404 {"code": 10008}` for unknown ones.
//! * `GET`/`DELETE` on the webhook itself.
//! * The payload is validated like Discord does: JSON content type (else `50035`
//!   `CONTENT_TYPE_INVALID`), valid JSON (else `50109`), not empty (else `50006`),
//!   and every size limit of [`crate::limits`] (else `400` with the nested
//!   `50035 Invalid Form Body` errors object, e.g.
//!   `{"embeds": {"0": {"title": {"_errors": [...]}}}}`).
//! * Unknown webhook ids answer `404 {"code": 10015}`; a wrong token
//!   `401 {"code": 50027}`; unknown routes `404 {"message": "404: Not Found", "code": 0}`.
//! * Every answer carries `X-RateLimit-Limit`, `-Remaining`, `-Reset`, `-Reset-After`
//!   and `-Bucket`, counted per webhook in a fixed window (5 requests per 2 s by
//!   default). Enforcing it is off by default (benchmarks would be throttled); turn
//!   it on with [`FakeDiscord::enforce_rate_limit`] to get `429` bodies without a
//!   `code` (`{"message", "retry_after", "global"}`) plus `Retry-After` and
//!   `X-RateLimit-Scope: user`. Scripted 429s ([`FakeFailure::RateLimited`],
//!   [`FakeFailure::ResourceRateLimited`]) send the headers of Discord's examples
//!   for the route, global and shared limits.
//! * Scripted failures ([`FakeFailure`]) answer the next requests, in order.
//! * Stored messages record what would have pinged: `mention_roles` and
//!   `mention_everyone` follow the request's `allowed_mentions` (absent means
//!   Discord's default, which parses everything).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use alert_core::{Alert, Notifier, Severity};
//! use alert_discord::DiscordNotifier;
//! use alert_discord::fake::FakeDiscord;
//!
//! let discord = FakeDiscord::start().await?;
//! let notifier = DiscordNotifier::new(discord.config()).unwrap();
//! let receipt = notifier.notify(&Alert::new(Severity::Error, "ModelDown")).await.unwrap();
//! let stored = discord.message(receipt.id.as_deref().unwrap()).unwrap();
//! assert_eq!(stored["mention_everyone"], false);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alert_core::Timestamp;
use alert_testkit::fake::{FakeServer, Recorded, Recorder};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::{DiscordConfig, limits};

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds, for snowflakes.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// A failure the fake answers the next request with (see
/// [`FakeDiscord::fail_next`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FakeFailure {
    /// `429` with `{"message": "You are being rate limited.", "retry_after": <secs>,
    /// "global": <global>}` (no `code`) and `Retry-After: <ceil secs>`, as in
    /// discord-api-docs' examples: the route's limit (`global: false`) also sends
    /// `X-RateLimit-Limit`, `-Remaining: 0`, `-Reset`, `-Reset-After` and
    /// `-Bucket`, and `X-RateLimit-Scope: user`; the global limit sends only
    /// `X-RateLimit-Global: true` and `X-RateLimit-Scope: global`.
    RateLimited {
        /// The advertised delay.
        retry_after: Duration,
        /// Whether it is the global (per-IP) limit.
        global: bool,
    },
    /// `429` for a limit on the resource, shared with other senders:
    /// `{"message": "The resource is being rate limited.", "retry_after": <secs>,
    /// "global": false}`, `Retry-After`, `X-RateLimit-Scope: shared`, and the
    /// route's own (not exhausted) bucket headers.
    ResourceRateLimited {
        /// The advertised delay.
        retry_after: Duration,
    },
    /// `502 {"message": "502: Bad Gateway", "code": 0}`.
    BadGateway,
    /// `500 {"message": "500: Internal Server Error", "code": 0}`.
    InternalError,
    /// `401 {"message": "Invalid Webhook Token", "code": 50027}`.
    InvalidToken,
    /// `404 {"message": "Unknown Webhook", "code": 10015}`.
    UnknownWebhook,
    /// `400` `50035 Invalid Form Body` with a nested error at
    /// `embeds.0.description`.
    InvalidFormBody,
    /// `403 {"message": "Internal network error.", "code": 40333}` (Cloudflare).
    CloudflareBlock,
    /// Any answer.
    Raw {
        /// Status code.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: String,
    },
}

#[derive(Clone, Debug)]
struct Hook {
    token: String,
    name: String,
    channel_id: u64,
    guild_id: u64,
}

#[derive(Debug)]
struct RateWindow {
    limit: u32,
    window: Duration,
    enforce: bool,
    buckets: HashMap<u64, (Instant, u32)>,
}

#[derive(Debug)]
struct Inner {
    hooks: BTreeMap<u64, Hook>,
    messages: BTreeMap<u64, Value>,
    last_id: u64,
    failures: VecDeque<FakeFailure>,
    rate: RateWindow,
}

#[derive(Debug)]
struct Shared(Mutex<Inner>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not wedge the fake: the data stays usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Inner {
    fn next_id(&mut self) -> u64 {
        let ms = Timestamp::now().unix_millis() - DISCORD_EPOCH_MS;
        let from_clock = u64::try_from(ms.max(1)).unwrap_or(1) << 22;
        self.last_id = from_clock.max(self.last_id + 1);
        self.last_id
    }
}

/// A token of Discord's shape (68 characters of `[A-Za-z0-9_-]`), derived from `seed`.
fn make_token(seed: u64) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..68)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(CHARS[(x % 64) as usize])
        })
        .collect()
}

/// A stateful fake of Discord's webhook API on `127.0.0.1`. See the
/// [module docs](self) for what it does.
pub struct FakeDiscord {
    server: FakeServer,
    shared: Arc<Shared>,
    default_hook: u64,
}

impl fmt::Debug for FakeDiscord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeDiscord")
            .field("url", &self.server.url())
            .field("messages", &self.shared.lock().messages.len())
            .finish_non_exhaustive()
    }
}

impl FakeDiscord {
    /// Starts the fake on a random loopback port, with one webhook
    /// ([`webhook_url`](FakeDiscord::webhook_url)). Needs a Tokio runtime.
    pub async fn start() -> std::io::Result<FakeDiscord> {
        let shared = Arc::new(Shared(Mutex::new(Inner {
            hooks: BTreeMap::new(),
            messages: BTreeMap::new(),
            last_id: 0,
            failures: VecDeque::new(),
            rate: RateWindow {
                limit: 5,
                window: Duration::from_secs(2),
                enforce: false,
                buckets: HashMap::new(),
            },
        })));
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = FakeServer::start(app).await?;
        let mut fake = FakeDiscord {
            server,
            shared,
            default_hook: 0,
        };
        let url = fake.add_webhook("ml-alerts");
        fake.default_hook = crate::WebhookUrl::parse(&url)
            .map(|w| w.id())
            .unwrap_or_default();
        Ok(fake)
    }

    /// The API origin to configure, `http://127.0.0.1:<port>` (what
    /// [`DiscordConfig::api_base_url`] takes).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The default webhook's URL as Discord would show it:
    /// `https://discord.com/api/webhooks/<id>/<token>` (realistic id and token
    /// lengths).
    pub fn webhook_url(&self) -> String {
        self.webhook_url_of(self.default_hook).unwrap_or_default()
    }

    fn webhook_url_of(&self, id: u64) -> Option<String> {
        let inner = self.shared.lock();
        let h = inner.hooks.get(&id)?;
        Some(format!("https://discord.com/api/webhooks/{id}/{}", h.token))
    }

    /// The default webhook's id.
    pub fn webhook_id(&self) -> u64 {
        self.default_hook
    }

    /// The default webhook's token (a secret in real life).
    pub fn webhook_token(&self) -> String {
        self.shared
            .lock()
            .hooks
            .get(&self.default_hook)
            .map(|h| h.token.clone())
            .unwrap_or_default()
    }

    /// A [`DiscordConfig`] for the default webhook, pointed at this fake.
    pub fn config(&self) -> DiscordConfig {
        DiscordConfig::new(self.webhook_url()).with_api_base_url(self.url())
    }

    /// Adds a webhook named `name` (in a new channel) and returns its URL.
    pub fn add_webhook(&self, name: &str) -> String {
        let id = {
            let mut inner = self.shared.lock();
            let id = inner.next_id();
            let channel_id = inner.next_id();
            let guild_id = inner.next_id();
            inner.hooks.insert(
                id,
                Hook {
                    token: make_token(id),
                    name: name.to_owned(),
                    channel_id,
                    guild_id,
                },
            );
            id
        };
        self.webhook_url_of(id).unwrap_or_default()
    }

    /// Deletes a webhook: later requests to it get `404 Unknown Webhook` (10015).
    pub fn delete_webhook(&self, id: u64) {
        self.shared.lock().hooks.remove(&id);
    }

    /// The channel id messages of the default webhook land in.
    pub fn channel_id(&self) -> u64 {
        self.shared
            .lock()
            .hooks
            .get(&self.default_hook)
            .map_or(0, |h| h.channel_id)
    }

    /// The guild (server) id of the default webhook.
    pub fn guild_id(&self) -> u64 {
        self.shared
            .lock()
            .hooks
            .get(&self.default_hook)
            .map_or(0, |h| h.guild_id)
    }

    /// Answers the next request (after those already scripted) with `failure`.
    pub fn fail_next(&self, failure: FakeFailure) {
        self.shared.lock().failures.push_back(failure);
    }

    /// Drops every scripted failure not yet used.
    pub fn clear_failures(&self) {
        self.shared.lock().failures.clear();
    }

    /// Sets the per-webhook rate limit (`limit` requests per `window`, default 5
    /// per 2 s) and whether it is enforced with `429` answers (default off: only
    /// the headers count).
    pub fn enforce_rate_limit(&self, limit: u32, window: Duration, enforce: bool) {
        let mut inner = self.shared.lock();
        inner.rate.limit = limit.max(1);
        inner.rate.window = window;
        inner.rate.enforce = enforce;
        inner.rate.buckets.clear();
    }

    /// Every stored message (as Discord's message objects), oldest first.
    pub fn messages(&self) -> Vec<Value> {
        self.shared.lock().messages.values().cloned().collect()
    }

    /// The stored message with this id.
    pub fn message(&self, id: &str) -> Option<Value> {
        let id: u64 = id.parse().ok()?;
        self.shared.lock().messages.get(&id).cloned()
    }

    /// Deletes a stored message, as a user or moderator would (later edits get
    /// `404 Unknown Message`, 10008).
    pub fn delete_message(&self, id: &str) -> bool {
        id.parse::<u64>()
            .is_ok_and(|id| self.shared.lock().messages.remove(&id).is_some())
    }

    /// The request recorder (every request, raw).
    pub fn recorder(&self) -> &Recorder {
        self.server.recorder()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.recorder().all()
    }
}

fn now_iso() -> String {
    let t = Timestamp::now().to_string();
    match t.strip_suffix('Z') {
        Some(s) => format!("{s}+00:00"),
        None => t,
    }
}

fn respond(status: u16, headers: &[(String, String)], body: Option<Value>) -> Response {
    let mut resp = match body {
        Some(v) => {
            let mut r = Response::new(Body::from(v.to_string()));
            r.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        None => Response::new(Body::empty()),
    };
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

fn error(status: u16, code: i64, message: &str) -> Response {
    respond(status, &[], Some(json!({"message": message, "code": code})))
}

fn form_error(errors: Value) -> Response {
    respond(
        400,
        &[],
        Some(json!({"code": 50035, "errors": errors, "message": "Invalid Form Body"})),
    )
}

/// The `X-RateLimit-Bucket` of a webhook's execute route.
fn bucket_of(hook: u64) -> String {
    format!("{:016x}", hook.rotate_left(17) ^ 0x5eed)
}

/// `X-RateLimit-Reset`: epoch seconds, with milliseconds, `after` from now.
fn reset_at(after: Duration) -> String {
    let at = Timestamp::now().saturating_add(after);
    format!("{:.3}", at.unix_millis() as f64 / 1000.0)
}

/// A 429 as Discord sends it (discord-api-docs, "Exceeding A Rate Limit").
fn rate_limited(
    retry_after: Duration,
    global: bool,
    route: &[(String, String)],
    scope: &str,
    message: &str,
) -> Response {
    let secs = retry_after.as_secs_f64();
    let mut headers = vec![(
        "retry-after".to_owned(),
        (secs.ceil() as u64).max(1).to_string(),
    )];
    headers.extend(route.iter().cloned());
    if global {
        headers.push(("x-ratelimit-global".to_owned(), "true".to_owned()));
    }
    headers.push(("x-ratelimit-scope".to_owned(), scope.to_owned()));
    respond(
        429,
        &headers,
        Some(json!({"message": message, "retry_after": secs, "global": global})),
    )
}

fn failure_response(f: FakeFailure, rate: &RateWindow, hook: u64) -> Response {
    let route = |remaining: u32, reset_after: Duration| {
        vec![
            ("x-ratelimit-limit".to_owned(), rate.limit.to_string()),
            ("x-ratelimit-remaining".to_owned(), remaining.to_string()),
            ("x-ratelimit-reset".to_owned(), reset_at(reset_after)),
            (
                "x-ratelimit-reset-after".to_owned(),
                format!("{:.3}", reset_after.as_secs_f64()),
            ),
            ("x-ratelimit-bucket".to_owned(), bucket_of(hook)),
        ]
    };
    match f {
        // The global limit is not a route's: no route headers.
        FakeFailure::RateLimited {
            retry_after,
            global: true,
        } => rate_limited(
            retry_after,
            true,
            &[],
            "global",
            "You are being rate limited.",
        ),
        FakeFailure::RateLimited {
            retry_after,
            global: false,
        } => rate_limited(
            retry_after,
            false,
            &route(0, retry_after),
            "user",
            "You are being rate limited.",
        ),
        // A limit on the resource (shared with other senders): the route's own
        // bucket is not exhausted and resets on its own schedule.
        FakeFailure::ResourceRateLimited { retry_after } => rate_limited(
            retry_after,
            false,
            &route(rate.limit.saturating_sub(1), rate.window),
            "shared",
            "The resource is being rate limited.",
        ),
        FakeFailure::BadGateway => error(502, 0, "502: Bad Gateway"),
        FakeFailure::InternalError => error(500, 0, "500: Internal Server Error"),
        FakeFailure::InvalidToken => error(401, 50027, "Invalid Webhook Token"),
        FakeFailure::UnknownWebhook => error(404, 10015, "Unknown Webhook"),
        FakeFailure::InvalidFormBody => {
            form_error(json!({"embeds": {"0": {"description": {"_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}
            ]}}}}))
        }
        FakeFailure::CloudflareBlock => error(403, 40333, "Internal network error."),
        FakeFailure::Raw {
            status,
            headers,
            body,
        } => {
            let mut r = respond(status, &headers, None);
            *r.body_mut() = Body::from(body);
            r
        }
    }
}

/// The parsed route.
enum Route {
    Webhook {
        id: String,
        token: String,
    },
    Message {
        id: String,
        token: String,
        message: String,
    },
}

fn route(path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let rest = match segs.as_slice() {
        ["api", v, rest @ ..]
            if v.strip_prefix('v')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            rest
        }
        ["api", rest @ ..] => rest,
        _ => return None,
    };
    match rest {
        ["webhooks", id, token] => Some(Route::Webhook {
            id: (*id).to_owned(),
            token: (*token).to_owned(),
        }),
        ["webhooks", id, token, "messages", m] => Some(Route::Message {
            id: (*id).to_owned(),
            token: (*token).to_owned(),
            message: (*m).to_owned(),
        }),
        _ => None,
    }
}

fn snowflake(s: &str) -> Option<u64> {
    crate::webhook::parse_snowflake(s)
}

/// The query pairs, tolerating empty pairs (`?&wait=true`).
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}

fn coerce_error(field: &str, code: &str, message: String) -> Response {
    form_error(json!({ field: {"_errors": [{"code": code, "message": message}]} }))
}

/// Reads a JSON object body like Discord: content type, JSON, object.
#[allow(clippy::result_large_err)]
fn json_body(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<serde_json::Map<String, Value>, Response> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !ct.starts_with("application/json") {
        if ct.starts_with("multipart/form-data") {
            return Err(error(
                400,
                0,
                "multipart/form-data (file uploads) is not supported by this fake",
            ));
        }
        return Err(form_error(json!({"_errors": [{
            "code": "CONTENT_TYPE_INVALID",
            "message": "Expected \"Content-Type\" header to be one of {'application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'}."
        }]})));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(form_error(json!({"_errors": [{
            "code": "MODEL_TYPE_CONVERT",
            "message": "Only dictionaries may be used in a ModelType"
        }]}))),
        Err(_) => Err(error(400, 50109, "The request body contains invalid JSON.")),
    }
}

fn is_empty_message(m: &Value) -> bool {
    let content_empty = m
        .get("content")
        .and_then(Value::as_str)
        .is_none_or(|c| c.trim().is_empty());
    let list_empty = |k: &str| m.get(k).and_then(Value::as_array).is_none_or(Vec::is_empty);
    content_empty
        && list_empty("embeds")
        && list_empty("components")
        && list_empty("sticker_ids")
        && m.get("poll").is_none_or(Value::is_null)
}

/// Which roles and broadcast mentions in `content` would ping under
/// `allowed_mentions` (absent: everything is parsed).
fn pings(content: &str, allowed: Option<&Value>) -> (Vec<String>, bool) {
    let parse: Option<Vec<&str>> = allowed.map(|a| {
        a.get("parse")
            .and_then(Value::as_array)
            .map(|p| p.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    });
    let listed_roles: Vec<String> = allowed
        .and_then(|a| a.get("roles"))
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_u64().map(|n| n.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut roles = Vec::new();
    let mut rest = content;
    while let Some(i) = rest.find("<@&") {
        let after = &rest[i + 3..];
        if let Some(end) = after.find('>') {
            let id = &after[..end];
            if snowflake(id).is_some() {
                let allowed = match &parse {
                    None => true,
                    Some(p) => p.contains(&"roles") || listed_roles.iter().any(|r| r == id),
                };
                if allowed && !roles.iter().any(|r: &String| r == id) {
                    roles.push(id.to_owned());
                }
            }
        }
        rest = after;
    }
    let broadcast = content.contains("@everyone") || content.contains("@here");
    let everyone = broadcast
        && match &parse {
            None => true,
            Some(p) => p.contains(&"everyone"),
        };
    (roles, everyone)
}

fn normalise_embeds(embeds: Option<&Value>) -> Value {
    let list = embeds
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Value::Array(
        list.into_iter()
            .map(|mut e| {
                if let Value::Object(m) = &mut e {
                    m.retain(|_, v| !v.is_null());
                    m.insert("type".into(), json!("rich"));
                    if let Some(Value::Array(fields)) = m.get_mut("fields") {
                        for f in fields.iter_mut() {
                            if let Value::Object(fm) = f {
                                fm.entry("inline").or_insert(json!(false));
                            }
                        }
                    }
                }
                e
            })
            .collect(),
    )
}

fn rate_headers(inner: &mut Inner, hook: u64) -> (Vec<(String, String)>, Option<Duration>) {
    let now = Instant::now();
    let rate = &mut inner.rate;
    let (start, count) = rate.buckets.entry(hook).or_insert((now, 0));
    if now.duration_since(*start) >= rate.window {
        *start = now;
        *count = 0;
    }
    let reset_after = rate.window.saturating_sub(now.duration_since(*start));
    let exhausted = *count >= rate.limit;
    if !(exhausted && rate.enforce) {
        *count += 1;
    }
    let remaining = rate.limit.saturating_sub(*count);
    let headers = vec![
        ("x-ratelimit-limit".to_owned(), rate.limit.to_string()),
        ("x-ratelimit-remaining".to_owned(), remaining.to_string()),
        ("x-ratelimit-reset".to_owned(), reset_at(reset_after)),
        (
            "x-ratelimit-reset-after".to_owned(),
            format!("{:.3}", reset_after.as_secs_f64()),
        ),
        ("x-ratelimit-bucket".to_owned(), bucket_of(hook)),
    ];
    (headers, (exhausted && rate.enforce).then_some(reset_after))
}

fn message_object(
    id: u64,
    hook_id: u64,
    hook: &Hook,
    channel_id: u64,
    body: &serde_json::Map<String, Value>,
) -> Value {
    let content = body.get("content").and_then(Value::as_str).unwrap_or("");
    let (mention_roles, mention_everyone) = pings(content, body.get("allowed_mentions"));
    let username = body
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or(&hook.name);
    json!({
        "id": id.to_string(),
        "type": 0,
        "content": content,
        "channel_id": channel_id.to_string(),
        "author": {
            "id": hook_id.to_string(),
            "username": username,
            "avatar": null,
            "discriminator": "0000",
            "public_flags": 0,
            "flags": 0,
            "bot": true,
            "global_name": null,
        },
        "attachments": [],
        "embeds": normalise_embeds(body.get("embeds")),
        "mentions": [],
        "mention_roles": mention_roles,
        "pinned": false,
        "mention_everyone": mention_everyone,
        "tts": body.get("tts").and_then(Value::as_bool).unwrap_or(false),
        "timestamp": now_iso(),
        "edited_timestamp": null,
        "flags": body.get("flags").and_then(Value::as_u64).unwrap_or(0),
        "components": body.get("components").cloned().unwrap_or(json!([])),
        "webhook_id": hook_id.to_string(),
    })
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(route) = route(uri.path()) else {
        return error(404, 0, "404: Not Found");
    };
    let (id, token) = match &route {
        Route::Webhook { id, token } | Route::Message { id, token, .. } => {
            (id.clone(), token.clone())
        }
    };
    let mut inner = shared.lock();
    if let Some(f) = inner.failures.pop_front() {
        return failure_response(f, &inner.rate, snowflake(&id).unwrap_or_default());
    }
    let Some(hook_id) = snowflake(&id) else {
        return coerce_error(
            "webhook_id",
            "NUMBER_TYPE_COERCE",
            format!("Value \"{id}\" is not snowflake."),
        );
    };
    let Some(hook) = inner.hooks.get(&hook_id).cloned() else {
        return error(404, 10015, "Unknown Webhook");
    };
    if hook.token != token {
        return error(401, 50027, "Invalid Webhook Token");
    }
    let (rl, limited) = rate_headers(&mut inner, hook_id);
    if let Some(reset_after) = limited {
        return rate_limited(
            reset_after,
            false,
            &rl,
            "user",
            "You are being rate limited.",
        );
    }
    let with_rl = |mut r: Response| {
        for (k, v) in &rl {
            if let (Ok(k), Ok(v)) = (
                HeaderName::try_from(k.as_str()),
                HeaderValue::try_from(v.as_str()),
            ) {
                r.headers_mut().insert(k, v);
            }
        }
        r
    };
    let query = query_pairs(&uri);
    let mut thread_id = None;
    for (k, v) in &query {
        if k == "thread_id" {
            match snowflake(v) {
                Some(t) => thread_id = Some(t),
                None => {
                    return with_rl(coerce_error(
                        "thread_id",
                        "NUMBER_TYPE_COERCE",
                        format!("Value \"{v}\" is not snowflake."),
                    ));
                }
            }
        }
    }
    match (route, method) {
        (Route::Webhook { .. }, Method::POST) => {
            let mut wait = false;
            for (k, v) in &query {
                if k == "wait" {
                    wait = match v.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return with_rl(coerce_error(
                                "wait",
                                "BOOLEAN_TYPE_COERCE",
                                format!("Value \"{v}\" is not a valid boolean."),
                            ));
                        }
                    };
                }
            }
            let body = match json_body(&headers, &body) {
                Ok(b) => b,
                Err(r) => return with_rl(r),
            };
            let value = Value::Object(body.clone());
            let violations = limits::check(&value);
            if !violations.is_empty() {
                return with_rl(form_error(limits::nest(&violations)));
            }
            if is_empty_message(&value) {
                return with_rl(error(400, 50006, "Cannot send an empty message"));
            }
            let mid = inner.next_id();
            let channel = thread_id.unwrap_or(hook.channel_id);
            let msg = message_object(mid, hook_id, &hook, channel, &body);
            inner.messages.insert(mid, msg.clone());
            if wait {
                with_rl(respond(200, &[], Some(msg)))
            } else {
                with_rl(respond(204, &[], None))
            }
        }
        (Route::Webhook { .. }, Method::GET) => with_rl(respond(
            200,
            &[],
            Some(json!({
                "type": 1,
                "id": hook_id.to_string(),
                "name": hook.name,
                "avatar": null,
                "channel_id": hook.channel_id.to_string(),
                "guild_id": hook.guild_id.to_string(),
                "application_id": null,
                "token": hook.token,
            })),
        )),
        (Route::Webhook { .. }, Method::DELETE) => {
            inner.hooks.remove(&hook_id);
            with_rl(respond(204, &[], None))
        }
        (Route::Message { message, .. }, m) => {
            let stored = snowflake(&message).and_then(|mid| {
                inner
                    .messages
                    .get(&mid)
                    .filter(|v| v["webhook_id"].as_str() == Some(hook_id.to_string().as_str()))
                    .map(|v| (mid, v.clone()))
            });
            let Some((mid, mut msg)) = stored else {
                return with_rl(error(404, 10008, "Unknown Message"));
            };
            match m {
                Method::GET => with_rl(respond(200, &[], Some(msg))),
                Method::DELETE => {
                    inner.messages.remove(&mid);
                    with_rl(respond(204, &[], None))
                }
                Method::PATCH => {
                    let body = match json_body(&headers, &body) {
                        Ok(b) => b,
                        Err(r) => return with_rl(r),
                    };
                    let violations = limits::check(&Value::Object(body.clone()));
                    if !violations.is_empty() {
                        return with_rl(form_error(limits::nest(&violations)));
                    }
                    if let Some(c) = body.get("content") {
                        msg["content"] = json!(c.as_str().unwrap_or(""));
                    }
                    if let Some(e) = body.get("embeds") {
                        msg["embeds"] = normalise_embeds(Some(e));
                    }
                    if let Some(c) = body.get("components") {
                        msg["components"] = if c.is_null() { json!([]) } else { c.clone() };
                    }
                    if is_empty_message(&msg) {
                        return with_rl(error(400, 50006, "Cannot send an empty message"));
                    }
                    let content = msg["content"].as_str().unwrap_or("").to_owned();
                    let (roles, everyone) = pings(&content, body.get("allowed_mentions"));
                    msg["mention_roles"] = json!(roles);
                    msg["mention_everyone"] = json!(everyone);
                    msg["edited_timestamp"] = json!(now_iso());
                    inner.messages.insert(mid, msg.clone());
                    with_rl(respond(200, &[], Some(msg)))
                }
                _ => with_rl(error(405, 0, "405: Method Not Allowed")),
            }
        }
        (Route::Webhook { .. }, _) => with_rl(error(405, 0, "405: Method Not Allowed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_discords() {
        let t = make_token(42);
        assert_eq!(t.len(), 68);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(make_token(1), make_token(2));
    }

    #[test]
    fn pings_follow_allowed_mentions() {
        let c = "<@&123456789012345678> @everyone <@&223456789012345678>";
        assert_eq!(
            pings(c, None),
            (
                vec![
                    "123456789012345678".to_owned(),
                    "223456789012345678".to_owned()
                ],
                true
            )
        );
        assert_eq!(pings(c, Some(&json!({"parse": []}))), (vec![], false));
        assert_eq!(
            pings(
                c,
                Some(&json!({"parse": [], "roles": ["223456789012345678"]}))
            ),
            (vec!["223456789012345678".to_owned()], false)
        );
        assert!(pings(c, Some(&json!({"parse": ["everyone", "roles"]}))).1);
    }

    #[test]
    fn routes_and_queries() {
        assert!(matches!(
            route("/api/v10/webhooks/1/t"),
            Some(Route::Webhook { .. })
        ));
        assert!(matches!(
            route("/api/webhooks/1/t/"),
            Some(Route::Webhook { .. })
        ));
        assert!(matches!(
            route("/api/v9/webhooks/1/t/messages/5"),
            Some(Route::Message { .. })
        ));
        assert!(route("/api/vx/webhooks/1/t").is_none());
        assert!(route("/webhooks/1/t").is_none());
        let uri: Uri = "/x?&wait=true&&thread_id=5".parse().unwrap();
        assert_eq!(
            query_pairs(&uri),
            [
                ("wait".to_owned(), "true".to_owned()),
                ("thread_id".to_owned(), "5".to_owned())
            ]
        );
    }
}
