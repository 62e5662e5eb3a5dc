//! A stateful fake of Slack on 127.0.0.1 (feature `fake`).
//!
//! [`FakeSlack`] serves, on a random loopback port:
//!
//! * **incoming webhooks** at `/services/T…/B…/…`: each webhook posts into one
//!   channel; success is HTTP 200 with the plain body `ok` (`text/html`, not JSON);
//!   errors are an HTTP status with a plain-text code (`400 invalid_payload`,
//!   `400 no_text`, `400 invalid_blocks`, `404 no_service` for an unknown or revoked
//!   webhook, `410 channel_is_archived`);
//! * the **Web API** at `/api/chat.postMessage` and `/api/chat.update`:
//!   `Authorization: Bearer <token>` is required (`not_authed`, `invalid_auth`,
//!   `token_revoked`); every answer is `application/json` with HTTP 200, errors
//!   included (`{"ok":false,"error":"channel_not_found"}`); success carries
//!   `channel`, `ts` and the posted `message` (with its own `ts`); other methods
//!   answer `unknown_method`;
//! * Slack's limits, checked on every message ([`check_message`]): 50 blocks
//!   (counting attachments' blocks too, stricter than Slack documents), header `plain_text` of at most 150
//!   characters, section text of at most 3,000, at most 10 fields of at most 2,000,
//!   context blocks of 1 to 10 elements, no empty text objects, known block types,
//!   attachment colours (`#hex`, `good`, `warning`, `danger`), at most 100
//!   attachments, and some text, blocks or attachments. The Web API answers
//!   `no_text`, `too_many_attachments`, or `invalid_blocks` with Slack's complaints
//!   in `errors` and `response_metadata.messages` (`must be less than 151
//!   characters [json-pointer:/blocks/0/text/text]`); webhooks answer `400` with
//!   the code. A `text` over 40,000 characters is truncated and kept, as Slack
//!   does ([`MAX_TEXT_CHARS`]);
//! * optionally, Slack's rate limit of about one message per second per channel
//!   ([`FakeSlack::set_rate_limit`]): HTTP 429 with `Retry-After` in whole seconds
//!   and `{"ok":false,"error":"ratelimited"}` (Web API) or `rate_limited` (webhook).
//!   Off by default, so tests that send many messages run at full speed.
//!
//! It keeps every message by channel, with threads (`thread_ts`) and edits
//! (`chat.update`), and records every request ([`Recorder`]). Failures can be
//! scripted for the next requests ([`FakeSlack::fail_next`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use alert_core::{Alert, Notifier, Severity};
//! use alert_slack::SlackNotifier;
//! use alert_slack::fake::{FakeSlack, Failure};
//!
//! let slack = FakeSlack::start().await?;
//! let notifier = SlackNotifier::new(slack.api_config())?;
//! let receipt = notifier.notify(&Alert::new(Severity::Error, "AccuracyDrop")).await?;
//! assert_eq!(slack.messages(slack.channel()).len(), 1);
//!
//! slack.fail_next(Failure::Api("channel_not_found".into()));
//! assert!(notifier.notify(&Alert::new(Severity::Error, "x")).await.is_err());
//! # let _ = receipt; Ok(()) }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alert_testkit::fake::{FakeServer, Recorded, Recorder};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::SlackConfig;

/// The bot token the fake accepts by default.
pub const FAKE_TOKEN: &str = "xoxb-0000-fake-token-s3cret";
/// The ID of the channel every fake starts with.
pub const FAKE_CHANNEL: &str = "C0ALERTS";
/// The name of that channel.
pub const FAKE_CHANNEL_NAME: &str = "alerts";
/// The path of the webhook every fake starts with (posting into [`FAKE_CHANNEL`]).
pub const FAKE_WEBHOOK_PATH: &str = "/services/T0FAKE/B0FAKE/fakeWebhookS3cret0000";
/// The bot's user ID in answers.
pub const FAKE_BOT_USER: &str = "U0FAKEBOT";
/// The bot's ID in answers.
pub const FAKE_BOT_ID: &str = "B0FAKEBOT";
/// The team ID in answers.
pub const FAKE_TEAM: &str = "T0FAKE";

/// A failure scripted for a coming request ([`FakeSlack::fail_next`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// HTTP 200, `application/json`, `{"ok":false,"error":<code>}`: how the Web API
    /// fails (on a webhook request it is sent the same way, which Slack never does).
    Api(String),
    /// An HTTP status with a plain-text code, as webhooks fail (`404
    /// channel_not_found`).
    Webhook(u16, String),
    /// HTTP 429 with `Retry-After: <secs>`, and the body Slack sends for the endpoint.
    RateLimited(u64),
    /// Any status with an HTML body, as a proxy in front of Slack answers.
    Status(u16, String),
    /// Waits this long, then handles the request normally. `Delay(Duration::ZERO)`
    /// lets one request through, to aim the next scripted failure at a later one
    /// (e.g. fail the `chat.update` that follows a thread reply).
    Delay(Duration),
}

/// Slack's per-channel rate limit ([`FakeSlack::set_rate_limit`]): a token bucket of
/// `burst` messages refilled by one every `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Time to earn one more message.
    pub interval: Duration,
    /// How many messages may go at once.
    pub burst: u32,
}

impl RateLimit {
    /// About one message per second per channel, a burst of one.
    pub const SLACK: RateLimit = RateLimit {
        interval: Duration::from_secs(1),
        burst: 1,
    };
}

/// How a message arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// An incoming webhook.
    Webhook,
    /// `chat.postMessage`.
    WebApi,
}

/// A message the fake holds, as last posted or updated.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Message {
    /// The channel ID.
    pub channel: String,
    /// The message `ts`.
    pub ts: String,
    /// The parent's `ts` for a thread reply.
    pub thread_ts: Option<String>,
    /// How it arrived.
    pub via: Via,
    /// The request body that set its current content (the post, or the last
    /// `chat.update`).
    pub body: Value,
    /// Earlier bodies, oldest first, one per `chat.update`.
    pub history: Vec<Value>,
}

impl Message {
    /// The top-level `text`.
    pub fn text(&self) -> &str {
        self.body["text"].as_str().unwrap_or_default()
    }
    /// The text of the first header block.
    pub fn header(&self) -> Option<&str> {
        self.body["blocks"]
            .as_array()?
            .iter()
            .find(|b| b["type"] == "header")?["text"]["text"]
            .as_str()
    }
    /// The colour of the first attachment.
    pub fn color(&self) -> Option<&str> {
        self.body["attachments"][0]["color"].as_str()
    }
    /// Whether `chat.update` changed it.
    pub fn edited(&self) -> bool {
        !self.history.is_empty()
    }
}

#[derive(Debug)]
struct Channel {
    id: String,
    name: String,
    archived: bool,
    tokens: f64,
    refilled: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    channels: Vec<Channel>,
    webhooks: Vec<(String, String)>,
    messages: Vec<Message>,
    script: VecDeque<Failure>,
    rate_limit: Option<RateLimit>,
    token: String,
    token_revoked: bool,
    counter: u64,
    rejections: Vec<String>,
    rate_limited: u64,
    updates: u64,
}

struct Shared {
    inner: Mutex<Inner>,
    base_secs: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A fake of Slack on `127.0.0.1:<port>`; see the [module docs](self).
pub struct FakeSlack {
    server: FakeServer,
    shared: Arc<Shared>,
}

impl fmt::Debug for FakeSlack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeSlack")
            .field("url", &self.server.url())
            .field("messages", &self.shared.lock().messages.len())
            .finish_non_exhaustive()
    }
}

impl FakeSlack {
    /// Starts the fake with one channel ([`FAKE_CHANNEL`], `#alerts`), one webhook
    /// into it ([`FAKE_WEBHOOK_PATH`]) and one accepted token ([`FAKE_TOKEN`]).
    pub async fn start() -> std::io::Result<FakeSlack> {
        let base_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1_800_000_000);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                channels: vec![Channel {
                    id: FAKE_CHANNEL.into(),
                    name: FAKE_CHANNEL_NAME.into(),
                    archived: false,
                    tokens: 0.0,
                    refilled: None,
                }],
                webhooks: vec![(FAKE_WEBHOOK_PATH.into(), FAKE_CHANNEL.into())],
                token: FAKE_TOKEN.into(),
                ..Inner::default()
            }),
            base_secs,
        });
        let app = Router::new()
            .route("/api/{method}", post(api))
            .route("/services/{*rest}", post(webhook))
            .with_state(shared.clone());
        Ok(FakeSlack {
            server: FakeServer::start(app).await?,
            shared,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The Web API base URL, `http://127.0.0.1:<port>/api`, for
    /// [`SlackConfig::api_base_url`].
    pub fn api_url(&self) -> String {
        format!("{}/api", self.server.url())
    }

    /// The URL of the default webhook.
    pub fn webhook_url(&self) -> String {
        format!("{}{FAKE_WEBHOOK_PATH}", self.server.url())
    }

    /// The accepted bot token.
    pub fn token(&self) -> String {
        self.shared.lock().token.clone()
    }

    /// The default channel's ID.
    pub fn channel(&self) -> &'static str {
        FAKE_CHANNEL
    }

    /// A webhook configuration for this fake.
    pub fn webhook_config(&self) -> SlackConfig {
        SlackConfig::webhook(self.webhook_url())
    }

    /// A Web API configuration for this fake (token, default channel, base URL).
    pub fn api_config(&self) -> SlackConfig {
        SlackConfig::bot(self.token(), FAKE_CHANNEL).with_api_base_url(self.api_url())
    }

    /// Adds a channel.
    pub fn add_channel(&self, id: &str, name: &str) {
        self.shared.lock().channels.push(Channel {
            id: id.into(),
            name: name.trim_start_matches('#').into(),
            archived: false,
            tokens: 0.0,
            refilled: None,
        });
    }

    /// Archives a channel: posts then fail with `is_archived` (Web API) or
    /// `410 channel_is_archived` (webhooks).
    pub fn archive_channel(&self, id: &str) {
        if let Some(c) = self.shared.lock().channels.iter_mut().find(|c| c.id == id) {
            c.archived = true;
        }
    }

    /// Adds a webhook posting into `channel` and returns its URL.
    pub fn add_webhook(&self, channel: &str) -> String {
        let mut inner = self.shared.lock();
        inner.counter += 1;
        let path = format!(
            "/services/{FAKE_TEAM}/B{:06}/hookS3cret{:04}",
            inner.counter, inner.counter
        );
        inner.webhooks.push((path.clone(), channel.into()));
        format!("{}{path}", self.server.url())
    }

    /// Revokes the webhook at `url`: posts then fail with `404 no_service`.
    pub fn revoke_webhook(&self, url: &str) {
        let path = url
            .strip_prefix(&self.server.url())
            .unwrap_or(url)
            .to_owned();
        self.shared.lock().webhooks.retain(|(p, _)| *p != path);
    }

    /// Revokes the bot token: Web API calls then fail with `token_revoked`.
    pub fn revoke_token(&self) {
        self.shared.lock().token_revoked = true;
    }

    /// Turns Slack's per-channel rate limit on (`Some`) or off (`None`, the default).
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut inner = self.shared.lock();
        inner.rate_limit = limit;
        for c in &mut inner.channels {
            c.refilled = None;
        }
    }

    /// Scripts a failure for the next request not yet scripted (any endpoint).
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().script.push_back(failure);
    }

    /// Every message in posting order (thread replies included).
    pub fn all_messages(&self) -> Vec<Message> {
        self.shared.lock().messages.clone()
    }

    /// The top-level messages of `channel` (an ID), in posting order.
    pub fn messages(&self, channel: &str) -> Vec<Message> {
        self.shared
            .lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.thread_ts.is_none())
            .cloned()
            .collect()
    }

    /// The replies in the thread of `ts` in `channel`, in posting order.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<Message> {
        self.shared
            .lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.thread_ts.as_deref() == Some(ts))
            .cloned()
            .collect()
    }

    /// The message `ts` of `channel`.
    pub fn message(&self, channel: &str, ts: &str) -> Option<Message> {
        self.shared
            .lock()
            .messages
            .iter()
            .find(|m| m.channel == channel && m.ts == ts)
            .cloned()
    }

    /// How many `chat.update` calls succeeded.
    pub fn updates(&self) -> u64 {
        self.shared.lock().updates
    }

    /// How many requests were answered 429 by the rate limit (not by scripts).
    pub fn rate_limited(&self) -> u64 {
        self.shared.lock().rate_limited
    }

    /// Why each rejected message was rejected (`invalid_blocks: must be less than
    /// 151 characters [json-pointer:/blocks/0/text/text]`), in order.
    pub fn rejections(&self) -> Vec<String> {
        self.shared.lock().rejections.clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.recorder().all()
    }

    /// The requests received since the previous call.
    pub fn take_requests(&self) -> Vec<Recorded> {
        self.server.recorder().take()
    }

    /// The request recorder.
    pub fn recorder(&self) -> &Recorder {
        self.server.recorder()
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// The longest top-level `text` Slack keeps; longer texts are truncated, not
/// refused (Slack changelog "Truncating really long messages", 2018-04).
pub const MAX_TEXT_CHARS: usize = 40_000;

/// Slack's complaints about one message, in Slack's words: what the Web API puts
/// in `errors` (and, prefixed with `[ERROR] `, in `response_metadata.messages`).
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, what: impl fmt::Display, pointer: &str) {
        self.0.push(format!("{what} [json-pointer:{pointer}]"));
    }
    fn too_long(&mut self, pointer: &str, n: usize, limit: usize) {
        if n > limit {
            self.push(
                format_args!("must be less than {} characters", limit + 1),
                pointer,
            );
        }
    }
    fn too_many(&mut self, pointer: &str, n: usize, limit: usize) {
        if n > limit {
            self.push(format_args!("no more than {limit} items allowed"), pointer);
        }
    }
}

fn check_text_object(pointer: &str, t: &Value, limit: usize, problems: &mut Problems) {
    match t["type"].as_str() {
        Some("plain_text" | "mrkdwn") => {}
        _ => problems.push("must be a valid enum value", &format!("{pointer}/type")),
    }
    let text = format!("{pointer}/text");
    let n = chars(&t["text"]);
    if n == 0 {
        problems.push("must be more than 0 characters", &text);
    }
    problems.too_long(&text, n, limit);
}

fn check_blocks(pointer: &str, blocks: &[Value], problems: &mut Problems) {
    problems.too_many(pointer, blocks.len(), MAX_BLOCKS);
    for (i, b) in blocks.iter().enumerate() {
        let p = format!("{pointer}/{i}");
        match b["type"].as_str() {
            Some("header") => {
                if b["text"]["type"] != "plain_text" {
                    problems.push("must be a valid enum value", &format!("{p}/text/type"));
                } else {
                    check_text_object(&format!("{p}/text"), &b["text"], 150, problems);
                }
            }
            Some("section") => {
                if b["text"].is_null() && b["fields"].is_null() {
                    problems.push("must provide either text or fields", &p);
                }
                if !b["text"].is_null() {
                    check_text_object(&format!("{p}/text"), &b["text"], 3000, problems);
                }
                if let Some(fields) = b["fields"].as_array() {
                    problems.too_many(&format!("{p}/fields"), fields.len(), 10);
                    for (j, f) in fields.iter().enumerate() {
                        check_text_object(&format!("{p}/fields/{j}"), f, 2000, problems);
                    }
                }
            }
            Some("context") => {
                let elements = b["elements"].as_array().map_or(&[][..], Vec::as_slice);
                let at = format!("{p}/elements");
                if elements.is_empty() {
                    problems.push("must provide at least 1 item", &at);
                }
                problems.too_many(&at, elements.len(), 10);
                for (j, e) in elements.iter().enumerate() {
                    if e["type"] != "image" {
                        check_text_object(&format!("{at}/{j}"), e, 3000, problems);
                    }
                }
            }
            Some("divider" | "actions" | "image" | "rich_text") => {}
            Some(other) => problems.push(format_args!("unsupported type: {other}"), &p),
            None => problems.push("missing required field: type", &p),
        }
    }
}

/// The most blocks in a message.
const MAX_BLOCKS: usize = 50;

/// Checks a message body against Slack's limits: `Err((code, problems))` with the
/// code Slack would answer and its complaints, in Slack's words (`must be less
/// than 151 characters [json-pointer:/blocks/0/text/text]`).
fn refusal(body: &Value) -> Result<(), (&'static str, Vec<String>)> {
    let text = chars(&body["text"]);
    let blocks = body["blocks"].as_array().map_or(&[][..], Vec::as_slice);
    let attachments = body["attachments"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if text == 0 && blocks.is_empty() && attachments.is_empty() {
        return Err(("no_text", Vec::new()));
    }
    if attachments.len() > 100 {
        return Err(("too_many_attachments", Vec::new()));
    }
    let mut problems = Problems(Vec::new());
    let mut total = blocks.len();
    check_blocks("/blocks", blocks, &mut problems);
    for (i, a) in attachments.iter().enumerate() {
        if let Some(c) = a["color"].as_str() {
            let hex = c.strip_prefix('#').is_some_and(|h| {
                matches!(h.len(), 3 | 6) && h.chars().all(|c| c.is_ascii_hexdigit())
            });
            if !hex && !matches!(c, "good" | "warning" | "danger") {
                problems.push(
                    "must be a hex colour or good, warning, danger",
                    &format!("/attachments/{i}/color"),
                );
            }
        }
        let inner = a["blocks"].as_array().map_or(&[][..], Vec::as_slice);
        total += inner.len();
        check_blocks(&format!("/attachments/{i}/blocks"), inner, &mut problems);
    }
    if total > MAX_BLOCKS && blocks.len() <= MAX_BLOCKS {
        problems.push(
            format_args!(
                "no more than {MAX_BLOCKS} blocks allowed in a message, attachments' blocks included ({total})"
            ),
            "/blocks",
        );
    }
    if problems.0.is_empty() {
        Ok(())
    } else {
        Err(("invalid_blocks", problems.0))
    }
}

/// Checks a message body against Slack's limits: `Err((code, detail))` with the
/// code Slack would answer (`no_text`, `too_many_attachments`, `invalid_blocks`)
/// and, for `invalid_blocks`, Slack's complaints joined with `; `. A `text` over
/// [`MAX_TEXT_CHARS`] is not an error: Slack truncates it.
pub fn check_message(body: &Value) -> Result<(), (&'static str, String)> {
    refusal(body).map_err(|(code, p)| (code, p.join("; ")))
}

/// `body` as Slack stores it: the top-level `text` cut to [`MAX_TEXT_CHARS`].
fn truncated(mut body: Value) -> Value {
    if let Some(t) = body["text"].as_str()
        && let Some((cut, _)) = t.char_indices().nth(MAX_TEXT_CHARS)
    {
        body["text"] = json!(t[..cut].to_owned());
    }
    body
}

fn json_reply(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/json; charset=utf-8"
            .parse()
            .expect("static header"),
    );
    r
}

fn api_error(code: &str) -> Response {
    json_reply(StatusCode::OK, &json!({"ok": false, "error": code}))
}

/// A refused message as the Web API answers it: the code, and for
/// `invalid_blocks` the complaints in `errors` and `response_metadata.messages`.
fn api_refusal(code: &str, problems: &[String]) -> Response {
    if problems.is_empty() {
        return api_error(code);
    }
    let messages: Vec<String> = problems.iter().map(|p| format!("[ERROR] {p}")).collect();
    json_reply(
        StatusCode::OK,
        &json!({
            "ok": false,
            "error": code,
            "errors": problems,
            "response_metadata": {"messages": messages},
        }),
    )
}

fn text_reply(status: u16, body: &str) -> Response {
    let mut r = Response::new(Body::from(body.to_owned()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        "text/html; charset=utf-8".parse().expect("static header"),
    );
    r
}

fn rate_limited_reply(secs: u64, api: bool) -> Response {
    let mut r = if api {
        json_reply(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"ok": false, "error": "ratelimited"}),
        )
    } else {
        text_reply(429, "rate_limited")
    };
    r.headers_mut().insert(
        header::RETRY_AFTER,
        secs.to_string().parse().expect("digits"),
    );
    r
}

/// Applies the next scripted failure, if any: `Some(response)` to answer with it.
async fn scripted(shared: &Shared, api: bool) -> Option<Response> {
    let next = shared.lock().script.pop_front()?;
    Some(match next {
        Failure::Api(code) => api_error(&code),
        Failure::Webhook(status, code) => text_reply(status, &code),
        Failure::RateLimited(secs) => rate_limited_reply(secs, api),
        Failure::Status(status, body) => text_reply(status, &body),
        Failure::Delay(d) => {
            tokio::time::sleep(d).await;
            return None;
        }
    })
}

impl Inner {
    fn channel_index(&self, id_or_name: &str) -> Option<usize> {
        let name = id_or_name.trim_start_matches('#');
        self.channels
            .iter()
            .position(|c| c.id == id_or_name || c.name == name)
    }

    /// Takes one message from the channel's bucket, or says how long to wait.
    fn take_token(&mut self, idx: usize) -> Result<(), u64> {
        let Some(limit) = self.rate_limit else {
            return Ok(());
        };
        let now = Instant::now();
        let burst = f64::from(limit.burst.max(1));
        let c = &mut self.channels[idx];
        let interval = limit.interval.as_secs_f64().max(1e-3);
        c.tokens = match c.refilled {
            None => burst,
            Some(t) => (c.tokens + now.duration_since(t).as_secs_f64() / interval).min(burst),
        };
        c.refilled = Some(now);
        if c.tokens >= 1.0 {
            c.tokens -= 1.0;
            Ok(())
        } else {
            self.rate_limited += 1;
            Err((((1.0 - c.tokens) * interval).ceil() as u64).max(1))
        }
    }

    fn next_ts(&mut self, base: u64) -> String {
        self.counter += 1;
        format!(
            "{}.{:06}",
            base + self.counter / 1_000_000,
            self.counter % 1_000_000
        )
    }

    /// The parent of a thread reply to `ts` (a reply to a reply joins the parent's
    /// thread).
    fn thread_parent(&self, channel: &str, ts: &str) -> String {
        self.messages
            .iter()
            .find(|m| m.channel == channel && m.ts == ts)
            .and_then(|m| m.thread_ts.clone())
            .unwrap_or_else(|| ts.to_owned())
    }

    fn reject(&mut self, code: &str, detail: &str) {
        if detail.is_empty() {
            self.rejections.push(code.to_owned());
        } else {
            self.rejections.push(format!("{code}: {detail}"));
        }
    }
}

fn echo(body: &Value, ts: &str, thread_ts: Option<&str>) -> Value {
    let mut m = json!({
        "type": "message",
        "text": body["text"].as_str().unwrap_or_default(),
        "user": FAKE_BOT_USER,
        "bot_id": FAKE_BOT_ID,
        "team": FAKE_TEAM,
        "ts": ts,
    });
    if let Some(b) = body.get("blocks") {
        m["blocks"] = b.clone();
    }
    if let Some(a) = body["attachments"].as_array() {
        m["attachments"] = a
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut a = a.clone();
                a["id"] = json!(i + 1);
                a
            })
            .collect();
    }
    if let Some(t) = thread_ts {
        m["thread_ts"] = json!(t);
    }
    m
}

async fn webhook(
    State(shared): State<Arc<Shared>>,
    Path(rest): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(r) = scripted(&shared, false).await {
        return r;
    }
    let path = format!("/services/{rest}");
    let mut inner = shared.lock();
    let Some(channel) = inner
        .webhooks
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, c)| c.clone())
    else {
        return text_reply(404, "no_service");
    };
    let Some(idx) = inner.channel_index(&channel) else {
        return text_reply(404, "channel_not_found");
    };
    if inner.channels[idx].archived {
        return text_reply(410, "channel_is_archived");
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        inner.reject("invalid_payload", "body is not JSON");
        return text_reply(400, "invalid_payload");
    };
    if !value.is_object() {
        inner.reject("invalid_payload", "body is not a JSON object");
        return text_reply(400, "invalid_payload");
    }
    if let Err((code, problems)) = refusal(&value) {
        inner.reject(code, &problems.join("; "));
        return text_reply(400, code);
    }
    let value = truncated(value);
    if let Err(secs) = inner.take_token(idx) {
        return rate_limited_reply(secs, false);
    }
    let ts = inner.next_ts(shared.base_secs);
    let thread_ts = value["thread_ts"]
        .as_str()
        .map(|t| inner.thread_parent(&channel, t));
    inner.messages.push(Message {
        channel,
        ts,
        thread_ts,
        via: Via::Webhook,
        body: value,
        history: Vec::new(),
    });
    text_reply(200, "ok")
}

async fn api(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = scripted(&shared, true).await {
        return r;
    }
    let mut inner = shared.lock();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match auth {
        None => return api_error("not_authed"),
        Some(t) if t != inner.token => return api_error("invalid_auth"),
        Some(_) if inner.token_revoked => return api_error("token_revoked"),
        Some(_) => {}
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return api_error("invalid_post_type");
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        inner.reject("invalid_json", "body is not JSON");
        return api_error("invalid_json");
    };
    let Some(channel_arg) = value["channel"].as_str() else {
        return api_error("channel_not_found");
    };
    let Some(idx) = inner.channel_index(channel_arg) else {
        return api_error("channel_not_found");
    };
    let channel = inner.channels[idx].id.clone();
    if inner.channels[idx].archived {
        return api_error("is_archived");
    }
    match method.as_str() {
        "chat.postMessage" => {
            if let Err((code, problems)) = refusal(&value) {
                inner.reject(code, &problems.join("; "));
                return api_refusal(code, &problems);
            }
            let value = truncated(value);
            if let Err(secs) = inner.take_token(idx) {
                return rate_limited_reply(secs, true);
            }
            let ts = inner.next_ts(shared.base_secs);
            let thread_ts = value["thread_ts"]
                .as_str()
                .map(|t| inner.thread_parent(&channel, t));
            let message = echo(&value, &ts, thread_ts.as_deref());
            inner.messages.push(Message {
                channel: channel.clone(),
                ts: ts.clone(),
                thread_ts,
                via: Via::WebApi,
                body: value,
                history: Vec::new(),
            });
            json_reply(
                StatusCode::OK,
                &json!({"ok": true, "channel": channel, "ts": ts, "message": message}),
            )
        }
        "chat.update" => {
            let Some(ts) = value["ts"].as_str().map(str::to_owned) else {
                return api_error("message_not_found");
            };
            if let Err((code, problems)) = refusal(&value) {
                inner.reject(code, &problems.join("; "));
                return api_refusal(code, &problems);
            }
            let value = truncated(value);
            let edited_ts = inner.next_ts(shared.base_secs);
            let Some(m) = inner
                .messages
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts)
            else {
                return api_error("message_not_found");
            };
            if m.via == Via::Webhook {
                return api_error("cant_update_message");
            }
            let old = std::mem::replace(&mut m.body, value.clone());
            m.history.push(old);
            let mut message = echo(&value, &ts, m.thread_ts.as_deref());
            message["edited"] = json!({"user": FAKE_BOT_USER, "ts": edited_ts});
            inner.updates += 1;
            json_reply(
                StatusCode::OK,
                &json!({
                    "ok": true,
                    "channel": channel,
                    "ts": ts,
                    "text": value["text"].as_str().unwrap_or_default(),
                    "message": message,
                }),
            )
        }
        _ => api_error("unknown_method"),
    }
}
