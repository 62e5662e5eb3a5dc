//! A stateful webhook sink on 127.0.0.1 (feature `fake`).
//!
//! [`FakeWebhook`] accepts the bodies [`WebhookNotifier`](crate::WebhookNotifier)
//! sends (both formats) and anything else, answers with scripted [`Reply`]s (or
//! `200 {"id":"<n>"}`), and counts deliveries per alert fingerprint, so tests can
//! assert "every alert delivered, N duplicates". It can be stopped (connections are
//! then refused, like a server that is down) and restarted on the same port.
//!
//! The router's fault-injection and crash tests, the `alerts` service tests and the
//! delivery benchmarks use it.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use alert_webhook::fake::{FakeWebhook, Reply};
//! let sink = FakeWebhook::start().await?;
//! sink.push(Reply::rate_limited(2));          // first request: 429, Retry-After: 2
//! // ... point a WebhookNotifier at sink.url() and send ...
//! assert_eq!(sink.duplicates(), 0);
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use alert_testkit::fake::{Recorded, Reply};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use tokio::sync::{Notify, oneshot};

/// A scripted answer: a fixed reply, or one that echoes the request.
#[derive(Clone, Debug)]
enum Scripted {
    Reply(Reply),
    Echo(u16),
}

#[derive(Default)]
struct Inner {
    script: Mutex<VecDeque<Scripted>>,
    default: Mutex<Option<Reply>>,
    keep_bodies: bool,
    requests: Mutex<Vec<Recorded>>,
    request_count: AtomicU64,
    accepted: AtomicU64,
    per_fingerprint: Mutex<HashMap<String, u64>>,
    changed: Notify,
}

/// A webhook sink on `127.0.0.1:<port>`; see the [module docs](self).
pub struct FakeWebhook {
    inner: Arc<Inner>,
    addr: SocketAddr,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
}

impl fmt::Debug for FakeWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeWebhook")
            .field("addr", &self.addr)
            .field("requests", &self.requests())
            .field("accepted", &self.accepted())
            .finish_non_exhaustive()
    }
}

fn fingerprints(body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    v.get("alerts")
        .and_then(|a| a.as_array())
        .map(|alerts| {
            alerts
                .iter()
                .filter_map(|a| a.get("fingerprint").and_then(|f| f.as_str()))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn to_response(reply: Reply, n: u64) -> Response {
    let is_default_ok = reply.status == 200 && reply.body.is_empty();
    let body = if is_default_ok {
        format!(r#"{{"id":"{n}"}}"#)
    } else {
        reply.body
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            resp.headers_mut().insert(k, v);
        }
    }
    if is_default_ok {
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    resp
}

/// What a careless receiver says back: the path and query it was asked for (as
/// Express does, `Cannot POST /hooks/<token>`), and the last word of every header
/// value (`invalid token <t>`, without the `Bearer `).
fn echo(parts: &axum::http::request::Parts) -> String {
    let mut out = format!("Cannot {} {}", parts.method, parts.uri.path());
    if let Some(q) = parts.uri.query() {
        out.push_str(&format!("\nquery: {q}"));
    }
    for (name, value) in &parts.headers {
        if matches!(
            name.as_str(),
            "host" | "content-length" | "content-type" | "accept" | "user-agent"
        ) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes());
        let word = value.split_whitespace().last().unwrap_or_default();
        out.push_str(&format!("\ninvalid {name}: {word}"));
    }
    out
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return to_response(Reply::text(413, "body too large"), 0);
        }
    };
    // Recorded before it is counted: whoever sees the count (`wait_for_requests`)
    // finds the request among `recorded()`, even while its answer is delayed.
    if inner.keep_bodies {
        inner
            .requests
            .lock()
            .expect("poisoned")
            .push(Recorded::new(&parts, bytes.clone()));
    }
    let n = inner.request_count.fetch_add(1, Ordering::SeqCst) + 1;
    let reply = {
        let next = inner
            .script
            .lock()
            .expect("poisoned")
            .pop_front()
            .map(|s| match s {
                Scripted::Reply(r) => r,
                Scripted::Echo(status) => Reply::text(status, echo(&parts)),
            });
        next.or_else(|| inner.default.lock().expect("poisoned").clone())
            .unwrap_or(Reply {
                status: 200,
                headers: Vec::new(),
                body: String::new(),
                delay: Duration::ZERO,
            })
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let ok = (200..300).contains(&reply.status);
    if ok {
        let fps = fingerprints(&bytes);
        let mut map = inner.per_fingerprint.lock().expect("poisoned");
        for f in fps {
            *map.entry(f).or_insert(0) += 1;
        }
        drop(map);
        inner.accepted.fetch_add(1, Ordering::SeqCst);
    }
    inner.changed.notify_waiters();
    to_response(reply, n)
}

impl FakeWebhook {
    /// Starts a sink on a random loopback port that keeps every request.
    pub async fn start() -> std::io::Result<FakeWebhook> {
        FakeWebhook::start_with(true, 0).await
    }

    /// Starts a sink that only counts (no bodies kept): for load tests and
    /// benchmarks, where keeping every request would measure the sink.
    pub async fn start_counting() -> std::io::Result<FakeWebhook> {
        FakeWebhook::start_with(false, 0).await
    }

    /// Starts a sink on `127.0.0.1:port` (0: a random port).
    pub async fn start_with(keep_bodies: bool, port: u16) -> std::io::Result<FakeWebhook> {
        let inner = Arc::new(Inner {
            keep_bodies,
            ..Inner::default()
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let sink = FakeWebhook {
            inner,
            addr,
            shutdown: Mutex::new(None),
        };
        sink.serve(listener);
        Ok(sink)
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .fallback(handle)
            .with_state(self.inner.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        *self.shutdown.lock().expect("poisoned") = Some(tx);
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash; any path is accepted.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening: new connections are refused, like a server that is down.
    /// Counts and recorded requests are kept.
    pub fn stop(&self) {
        if let Some(tx) = self.shutdown.lock().expect("poisoned").take() {
            let _ = tx.send(());
        }
    }

    /// Listens again on the same port after [`stop`](FakeWebhook::stop).
    pub async fn restart(&self) -> std::io::Result<()> {
        self.stop();
        let mut last = None;
        for _ in 0..50 {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => {
                    self.serve(l);
                    return Ok(());
                }
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("could not rebind")))
    }

    /// Queues a reply for a future request.
    pub fn push(&self, reply: Reply) {
        self.inner
            .script
            .lock()
            .expect("poisoned")
            .push_back(Scripted::Reply(reply));
    }

    /// Queues `n` copies of `reply`.
    pub fn push_n(&self, n: usize, reply: Reply) {
        let mut q = self.inner.script.lock().expect("poisoned");
        q.extend(std::iter::repeat_n(Scripted::Reply(reply), n));
    }

    /// Queues an answer with `status` whose text body echoes the request as careless
    /// receivers do: `Cannot POST <path>`, the query, and the last word of each
    /// header value (`invalid authorization: <token>`). For testing that no piece of
    /// a secret URL or header reaches an error.
    pub fn echo_next(&self, status: u16) {
        self.inner
            .script
            .lock()
            .expect("poisoned")
            .push_back(Scripted::Echo(status));
    }

    /// Sets the reply used when the script is empty (`None`: `200 {"id":"<n>"}`).
    pub fn set_default(&self, reply: Option<Reply>) {
        *self.inner.default.lock().expect("poisoned") = reply;
    }

    /// Every request received so far (empty for a counting sink).
    pub fn recorded(&self) -> Vec<Recorded> {
        self.inner.requests.lock().expect("poisoned").clone()
    }

    /// Forgets the recorded requests (counts are kept).
    pub fn take_recorded(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.inner.requests.lock().expect("poisoned"))
    }

    /// How many requests arrived (answered with any status).
    pub fn requests(&self) -> u64 {
        self.inner.request_count.load(Ordering::SeqCst)
    }

    /// How many requests were answered with a 2xx (deliveries).
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::SeqCst)
    }

    /// Deliveries per alert fingerprint (from `alerts[].fingerprint` in either body
    /// format), counting only requests answered with a 2xx.
    pub fn per_fingerprint(&self) -> HashMap<String, u64> {
        self.inner.per_fingerprint.lock().expect("poisoned").clone()
    }

    /// How many distinct fingerprints were delivered.
    pub fn distinct(&self) -> usize {
        self.inner.per_fingerprint.lock().expect("poisoned").len()
    }

    /// Deliveries beyond the first per fingerprint.
    pub fn duplicates(&self) -> u64 {
        self.inner
            .per_fingerprint
            .lock()
            .expect("poisoned")
            .values()
            .map(|n| n - 1)
            .sum()
    }

    /// Waits until `n` distinct fingerprints were delivered or `timeout` passed;
    /// returns the number delivered.
    pub async fn wait_for_distinct(&self, n: usize, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            let d = self.distinct();
            if d >= n {
                return d;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.distinct();
            }
        }
    }

    /// Waits until `n` requests arrived or `timeout` passed; returns the count.
    pub async fn wait_for_requests(&self, n: u64, timeout: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            let r = self.requests();
            if r >= n {
                return r;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.requests();
            }
        }
    }
}

impl Drop for FakeWebhook {
    fn drop(&mut self) {
        self.stop();
    }
}
