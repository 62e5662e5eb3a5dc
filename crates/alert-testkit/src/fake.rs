//! Fake HTTP servers on 127.0.0.1 (feature `fake`).
//!
//! * [`FakeServer`] serves any axum [`Router`] on a random loopback port and records
//!   every request it receives ([`Recorder`]). Channel crates build their provider
//!   fakes on it, so the channel's tests, the router's, the service's and the
//!   benchmarks share one faithful fake per provider.
//! * [`FakeWebhook`] is a ready scriptable sink: it answers every request with the
//!   next scripted [`Reply`] (status, headers, body, delay), or 200 `ok`.
//!
//! Nothing here ever binds anything but 127.0.0.1.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::{Notify, oneshot};

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `POST`, `PATCH`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, when there was one.
    pub query: Option<String>,
    /// Headers, names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Bytes,
}

impl Recorded {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Default)]
struct RecorderInner {
    requests: Mutex<Vec<Recorded>>,
    taken: Mutex<usize>,
    changed: Notify,
}

/// The record of requests a [`FakeServer`] received. Clones share the record.
#[derive(Clone, Default)]
pub struct Recorder(Arc<RecorderInner>);

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("requests", &self.len())
            .finish()
    }
}

impl Recorder {
    fn push(&self, r: Recorded) {
        self.0.requests.lock().expect("poisoned").push(r);
        self.0.changed.notify_waiters();
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<Recorded> {
        self.0.requests.lock().expect("poisoned").clone()
    }

    /// The requests that arrived since the previous call to `take` (or since the
    /// start).
    pub fn take(&self) -> Vec<Recorded> {
        let all = self.0.requests.lock().expect("poisoned");
        let mut taken = self.0.taken.lock().expect("poisoned");
        let new = all[*taken..].to_vec();
        *taken = all.len();
        new
    }

    /// How many requests arrived.
    pub fn len(&self) -> usize {
        self.0.requests.lock().expect("poisoned").len()
    }

    /// Whether no request arrived.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until `n` requests arrived in all, or `timeout` passed; returns them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.0.changed.notified();
            if self.len() >= n {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        self.all()
    }
}

async fn record(State(rec): State<Recorder>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .body(Body::from(format!("could not read body: {e}")))
                .expect("static response");
        }
    };
    rec.push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: bytes.clone(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// An axum app served on `127.0.0.1:<random port>` until dropped, recording every
/// request.
pub struct FakeServer {
    addr: SocketAddr,
    recorder: Recorder,
    shutdown: Option<oneshot::Sender<()>>,
}

impl fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeServer {
    /// Serves `app` on a fresh loopback port (needs a Tokio runtime).
    pub async fn start(app: Router) -> std::io::Result<FakeServer> {
        FakeServer::start_on(app, 0).await
    }

    /// Serves `app` on `127.0.0.1:port` (0 for a random port); a fixed port lets a
    /// test restart a fake where a client expects it.
    pub async fn start_on(app: Router, port: u16) -> std::io::Result<FakeServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let recorder = Recorder::default();
        let app = app.layer(axum::middleware::from_fn_with_state(
            recorder.clone(),
            record,
        ));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeServer {
            addr,
            recorder,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The request record.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A scripted answer of [`FakeWebhook`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Reply {
    /// `200 ok` (text/plain).
    pub fn ok() -> Reply {
        Reply::text(200, "ok")
    }
    /// A status with a plain-text body.
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
    /// A status with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    /// 429 with `Retry-After: <secs>`.
    pub fn rate_limited(secs: u64) -> Reply {
        Reply::text(429, "rate limited").with_header("retry-after", secs.to_string())
    }
    /// Adds a header.
    pub fn with_header(mut self, k: impl Into<String>, v: impl Into<String>) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
    /// Waits before answering.
    pub fn with_delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }

    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (k, v) in self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

#[derive(Debug)]
struct Script {
    queue: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
}

/// A webhook sink that answers any request with the next scripted [`Reply`], or the
/// default reply (200 `ok`) when the script is empty.
#[derive(Debug)]
pub struct FakeWebhook {
    server: FakeServer,
    script: Arc<Script>,
}

impl FakeWebhook {
    /// Starts the sink on a random loopback port.
    pub async fn start() -> std::io::Result<FakeWebhook> {
        let script = Arc::new(Script {
            queue: Mutex::new(VecDeque::new()),
            default: Mutex::new(Reply::ok()),
        });
        let s = script.clone();
        let app = Router::new().fallback(move || {
            let s = s.clone();
            async move {
                let reply = {
                    let next = s.queue.lock().expect("poisoned").pop_front();
                    next.unwrap_or_else(|| s.default.lock().expect("poisoned").clone())
                };
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                reply.into_response()
            }
        });
        Ok(FakeWebhook {
            server: FakeServer::start(app).await?,
            script,
        })
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Queues a reply for a future request.
    pub fn push(&self, reply: Reply) {
        self.script.queue.lock().expect("poisoned").push_back(reply);
    }

    /// Sets the reply used when the script is empty.
    pub fn set_default(&self, reply: Reply) {
        *self.script.default.lock().expect("poisoned") = reply;
    }

    /// The request record.
    pub fn recorder(&self) -> &Recorder {
        self.server.recorder()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn webhook_scripts_replies_and_records() {
        let hook = FakeWebhook::start().await.unwrap();
        assert!(hook.url().starts_with("http://127.0.0.1:"));
        hook.push(Reply::rate_limited(3));
        hook.push(Reply::json(400, &serde_json::json!({"error": "bad"})));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let post = |path: &'static str| {
            let client = client.clone();
            let url = format!("{}{path}", hook.url());
            async move {
                client
                    .post(url)
                    .json(&serde_json::json!({"a": 1}))
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r = post("/hook?x=1").await;
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "3");
        let r = post("/hook").await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.text().await.unwrap(), r#"{"error":"bad"}"#);
        let r = post("/other").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "ok");
        let reqs = hook.recorder().take();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0].path, "/hook");
        assert_eq!(reqs[0].query.as_deref(), Some("x=1"));
        assert_eq!(reqs[0].header("Content-Type"), Some("application/json"));
        assert_eq!(reqs[0].json().unwrap()["a"], 1);
        assert!(hook.recorder().take().is_empty());
        assert_eq!(hook.recorder().all().len(), 3);
    }
}
