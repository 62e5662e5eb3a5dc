//! Fake HTTP servers on 127.0.0.1 (feature `fake`).
//!
//! * [`FakeServer`] serves any axum [`Router`] on a random loopback port and records
//!   every request it receives ([`Recorder`]). Channel crates build their provider
//!   fakes on it, so the channel's tests, the router's, the service's and the
//!   benchmarks share one faithful fake per provider.
//! * [`FakeWebhook`] is a ready scriptable sink: it answers every request with the
//!   next scripted [`Reply`] (status, headers, body, delay), or 200 `ok`.
//! * A fake can drop a connection instead of answering ([`Reply::reset`], or
//!   [`reset_response`] from a handler of your own), to test how a channel
//!   classifies a connection that dies mid-request.
//!
//! Nothing here ever binds anything but 127.0.0.1.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};

/// One request as the fake received it.
///
/// Its `Debug` output redacts the values of headers that carry credentials
/// (`Authorization`, cookies, and any header whose name mentions a key, token, secret,
/// signature, password or auth), so a failing assertion that prints a request does
/// not print the secret the channel was configured with. The fields themselves hold
/// the real values, for assertions.
#[derive(Clone)]
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
    /// The record of a request with these parts and body (header values that are
    /// not UTF-8 are kept lossily).
    pub fn new(parts: &axum::http::request::Parts, body: Bytes) -> Recorded {
        Recorded {
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
            body,
        }
    }
}

/// Whether a header's value is a credential (see [`Recorded`]'s `Debug`).
pub fn is_sensitive_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || ["key", "token", "secret", "signature", "password", "auth"]
        .iter()
        .any(|w| name.contains(w))
}

impl fmt::Debug for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if is_sensitive_header(k) {
                    alert_core::REDACTED
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("Recorded")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
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
    rec.push(Recorded::new(&parts, bytes.clone()));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The header of a response that the connection layer turns into a dropped
/// connection (see [`reset_response`]). It never reaches the client.
const RESET_HEADER: &str = "x-alert-testkit-reset";

/// A response that makes a [`FakeServer`] close the connection instead of answering:
/// the client has sent its whole request and sees the connection end with no
/// response (as when a server crashes or a proxy resets it). Return it from a
/// handler of your own fake; [`Reply::reset`] is the same for [`FakeWebhook`].
pub fn reset_response() -> Response {
    let mut resp = Response::new(Body::empty());
    resp.headers_mut()
        .insert(RESET_HEADER, HeaderValue::from_static("1"));
    resp
}

/// Accepts loopback connections wrapped in [`ResetStream`].
#[derive(Debug)]
struct ResetListener(TcpListener);

impl axum::serve::Listener for ResetListener {
    type Io = ResetStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (ResetStream, SocketAddr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (
            ResetStream {
                inner: io,
                reset: false,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A connection that fails instead of writing a response head carrying
/// [`RESET_HEADER`], so the server drops it without sending a byte. hyper writes a
/// response head in one piece (this stream does not take vectored writes), so the
/// header is always seen before any of the response leaves.
struct ResetStream {
    inner: TcpStream,
    reset: bool,
}

fn marks_reset(buf: &[u8]) -> bool {
    let needle = format!("\r\n{RESET_HEADER}:");
    buf.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

impl AsyncRead for ResetStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.reset {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResetStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.reset || marks_reset(buf) {
            self.reset = true;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the fake drops this connection",
            )));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
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
    pub async fn start(app: Router) -> io::Result<FakeServer> {
        FakeServer::start_on(app, 0).await
    }

    /// Serves `app` on `127.0.0.1:port` (0 for a random port); a fixed port lets a
    /// test restart a fake where a client expects it.
    pub async fn start_on(app: Router, port: u16) -> io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let listener = ResetListener(listener);
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
///
/// Its `Debug` output redacts credential headers as [`Recorded`]'s does.
#[derive(Clone, PartialEq, Eq)]
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
    /// No answer: the connection is closed once the request has been read (see
    /// [`reset_response`]). The request is still recorded.
    pub fn reset() -> Reply {
        Reply::text(200, "").with_header(RESET_HEADER, "1")
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

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if is_sensitive_header(k) {
                    alert_core::REDACTED
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &headers)
            .field("body", &self.body)
            .field("delay", &self.delay)
            .finish()
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
    pub async fn start() -> io::Result<FakeWebhook> {
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

    #[tokio::test]
    async fn reset_drops_the_connection_after_recording_the_request() {
        let hook = FakeWebhook::start().await.unwrap();
        hook.push(Reply::reset());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let url = format!("{}/hook", hook.url());
        let err = client
            .post(&url)
            .body("first")
            .send()
            .await
            .expect_err("no answer");
        assert!(!err.is_timeout(), "{err:?}");
        assert_eq!(err.status(), None, "{err:?}");
        // The next request is answered as usual.
        let ok = client.post(&url).body("second").send().await.unwrap();
        assert_eq!(ok.status(), 200);
        let reqs = hook.recorder().take();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].text(), "first");
    }

    #[test]
    fn debug_output_redacts_credential_headers() {
        let r = Recorded {
            method: "POST".into(),
            path: "/v1/x".into(),
            query: None,
            headers: vec![
                ("authorization".into(), "Bearer s3cret-tok".into()),
                ("dd-api-key".into(), "k3y-value".into()),
                ("x-beacon-key".into(), "b3acon".into()),
                ("cookie".into(), "session=c00kie".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: Bytes::from_static(b"{}"),
        };
        let d = format!("{r:?}");
        for secret in ["s3cret-tok", "k3y-value", "b3acon", "c00kie"] {
            assert!(!d.contains(secret), "{secret} in {d}");
        }
        assert!(d.contains(r#"("content-type", "application/json")"#), "{d}");
        assert_eq!(d.matches("**REDACTED**").count(), 4, "{d}");
        // The values stay readable for assertions.
        assert_eq!(r.header("Authorization"), Some("Bearer s3cret-tok"));
        let reply = Reply::ok().with_header("x-api-token", "t0ken");
        assert!(!format!("{reply:?}").contains("t0ken"));
    }
}
