//! Starts the real `alerts` binary and talks to it.
//!
//! Every service runs in its own temporary directory (config file, data directory,
//! `HOME` and XDG directories, so nothing from the developer's machine is read) on a
//! random loopback port, which it prints in its banner on standard error.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_alerts");

/// Whether a variable of the developer's environment would change what the binary
/// does (its own settings and every channel's `from_env` variables).
fn scrubbed(name: &str) -> bool {
    name.starts_with("ALERT")
        || name.starts_with("DD_")
        || name == "RUST_LOG"
        || name == "DBUS_SESSION_BUS_ADDRESS"
}

/// A scratch directory: config files, the data directory and a fake home.
#[derive(Debug)]
pub(crate) struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub(crate) fn new() -> Workdir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        Workdir { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory services started here use.
    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes `name` and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write config");
        p
    }

    /// A command for the binary with a clean environment rooted here.
    pub(crate) fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars_os() {
            if k.to_str().is_some_and(scrubbed) {
                c.env_remove(k);
            }
        }
        let home = self.dir.path().join("home");
        c.env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .current_dir(self.dir.path());
        c
    }

    /// The same, for tokio (client commands run while fakes serve on the runtime).
    pub(crate) fn tokio_command(&self) -> tokio::process::Command {
        tokio::process::Command::from(self.command())
    }

    /// Runs `alerts ARGS` with `stdin`, `env`, and returns (exit code, stdout, stderr).
    pub(crate) async fn run(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Out {
        let mut c = self.tokio_command();
        c.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.spawn().expect("spawn alerts");
        if let Some(input) = stdin {
            use tokio::io::AsyncWriteExt;
            let mut w = child.stdin.take().expect("stdin");
            w.write_all(input).await.expect("write stdin");
            drop(w);
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("alerts {args:?} did not finish within 60 s"))
            .expect("wait");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What a command printed, and its exit code.
#[derive(Debug, Clone)]
pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Out {
    /// Asserts the exit code, showing both streams on failure.
    #[track_caller]
    pub(crate) fn expect_code(&self, code: i32) -> &Out {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Standard output as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A running `alerts serve`.
#[derive(Debug)]
pub(crate) struct Service {
    child: Child,
    /// Readers that reached the end of the output.
    done: Arc<std::sync::atomic::AtomicUsize>,
    /// `http://127.0.0.1:<port>`.
    pub(crate) url: String,
    log: Arc<Mutex<String>>,
    http: reqwest::Client,
    token: Option<String>,
}

/// How to start a service.
#[derive(Debug, Default, Clone)]
pub(crate) struct Start<'a> {
    /// Extra arguments after `serve -c FILE --data-dir DIR`.
    pub(crate) args: Vec<&'a str>,
    /// Extra environment variables.
    pub(crate) env: Vec<(&'a str, String)>,
    /// Listen address (default `127.0.0.1:0`).
    pub(crate) listen: Option<&'a str>,
}

/// Appends what `stream` gives to `log`, line by line, and counts `done` up at
/// its end (the process closed it: exited).
fn spawn_reader(
    stream: impl std::io::Read + Send + 'static,
    log: Arc<Mutex<String>>,
    done: Arc<std::sync::atomic::AtomicUsize>,
) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(stream);
        let mut line = String::new();
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => log.lock().expect("log").push_str(&line),
            }
        }
        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
}

/// Waits (at most 30 s) until both readers of an exited process reached the end of
/// its output, so the log holds everything it printed.
async fn drained(done: &std::sync::atomic::AtomicUsize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while done.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the output of alerts serve did not end within 30 s of its exit"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl Service {
    /// Starts `alerts serve` with `config` (written to `config.toml`) and waits for
    /// its banner; panics with its output when it does not start.
    pub(crate) async fn start(w: &Workdir, config: &str) -> Service {
        Service::start_with(w, config, Start::default())
            .await
            .unwrap_or_else(|(code, log)| panic!("alerts serve exited with {code:?}:\n{log}"))
    }

    /// Like [`Service::start`]; `Err((exit status, output))` when it exits instead.
    pub(crate) async fn start_with(
        w: &Workdir,
        config: &str,
        opts: Start<'_>,
    ) -> Result<Service, (Option<i32>, String)> {
        let cfg = w.write("config.toml", config);
        let mut c = w.command();
        c.arg("serve")
            .arg("-c")
            .arg(&cfg)
            .arg("--data-dir")
            .arg(w.data())
            .arg("--listen")
            .arg(opts.listen.unwrap_or("127.0.0.1:0"))
            .args(&opts.args);
        for (k, v) in &opts.env {
            c.env(k, v);
        }
        Service::spawn(c).await
    }

    /// Starts `alerts serve ARGS` as given (no config file, data directory or
    /// address added: the embedded default, `HOME` and XDG directories in `w`).
    pub(crate) async fn start_bare(
        w: &Workdir,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Service, (Option<i32>, String)> {
        let mut c = w.command();
        c.arg("serve").args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        Service::spawn(c).await
    }

    /// Spawns `c` (an `alerts serve` command) and waits for its banner.
    async fn spawn(mut c: Command) -> Result<Service, (Option<i32>, String)> {
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn alerts serve");
        let log = Arc::new(Mutex::new(String::new()));
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        spawn_reader(
            child.stderr.take().expect("stderr"),
            log.clone(),
            done.clone(),
        );
        spawn_reader(
            child.stdout.take().expect("stdout"),
            log.clone(),
            done.clone(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            if let Some(url) = banner_url(&log.lock().expect("log")) {
                break url;
            }
            if let Ok(Some(status)) = child.try_wait() {
                drained(&done).await;
                let out = log.lock().expect("log").clone();
                return Err((status.code(), out));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = log.lock().expect("log").clone();
                panic!("alerts serve printed no banner within 30 s:\n{out}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // A text banner is several lines: wait for its last one too.
        if log
            .lock()
            .expect("log")
            .contains("alerts serve: listening on")
        {
            while !log
                .lock()
                .expect("log")
                .contains("Prometheus can use it as its Alertmanager")
            {
                assert!(Instant::now() < deadline, "the banner was cut short");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Ok(Service {
            child,
            done,
            url,
            log,
            http,
            token: None,
        })
    }

    /// Sends this bearer token with every request of [`Service::call`].
    pub(crate) fn with_token(mut self, token: &str) -> Service {
        self.token = Some(token.to_owned());
        self
    }

    /// Everything the service printed so far (banner and logs).
    pub(crate) fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// `host:port`.
    pub(crate) fn host_port(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// A request builder for `method path` (with the token, if any).
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        r
    }

    /// Calls `method path` with an optional JSON body; returns status and JSON (or
    /// the text as a JSON string).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut r = self.request(method, path);
        if let Some(b) = body {
            r = r.json(b);
        }
        reply(r).await
    }

    /// `POST path` with a JSON body.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `POST path` with raw bytes and a content type.
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut r = self.request(reqwest::Method::POST, path).body(body);
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        reply(r).await
    }

    /// The text of `/metrics`.
    pub(crate) async fn metrics(&self) -> String {
        let r = self
            .request(reqwest::Method::GET, "/metrics")
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(r.status(), 200);
        r.text().await.expect("metrics text")
    }

    /// SIGKILL: no shutdown, no flush.
    pub(crate) async fn kill(mut self) -> String {
        self.child.kill().expect("kill");
        let _ = self.child.wait();
        drained(&self.done).await;
        self.log()
    }

    /// SIGTERM, then waits (at most `within`) for the exit.
    pub(crate) async fn terminate(self, within: Duration) -> (ExitStatus, String) {
        self.sigterm();
        self.wait_exit(within).await
    }

    /// Sends SIGTERM and returns at once.
    pub(crate) fn sigterm(&self) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(ok.success());
    }

    /// Whether the process is still running.
    pub(crate) fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits (at most `within`) for the process to exit.
    pub(crate) async fn wait_exit(mut self, within: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                drained(&self.done).await;
                return (status, self.log());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "alerts serve did not exit within {within:?}:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn reply(r: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = r.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

fn banner_url(log: &str) -> Option<String> {
    let rest = &log[log.find("listening on http://")? + "listening on ".len()..];
    let end = rest.find(['\n', ' ', '"'])?;
    Some(rest[..end].to_owned())
}

/// Waits until `f` returns `Some`, or panics with `what` after `timeout`.
pub(crate) async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A config with one receiver `hook` sending native webhook bodies to `url`, and
/// the given route timers; `extra` is appended.
pub(crate) fn hook_config(url: &str, group_by: &str, group_wait: &str, extra: &str) -> String {
    format!(
        r#"[storage]
backend = "sqlite"

[route]
receiver = "hook"
group_by = {group_by}
group_wait = "{group_wait}"
group_interval = "1s"
repeat_interval = "1h"

[[receivers]]
name = "hook"
channels = [{{ type = "webhook", url = "{url}/hook" }}]
{extra}"#
    )
}

/// The JSON bodies a webhook fake accepted.
pub(crate) fn bodies(sink: &alert_webhook::fake::FakeWebhook) -> Vec<Value> {
    sink.recorded()
        .iter()
        .map(|r| r.json().expect("webhook body is JSON"))
        .collect()
}

/// Alert names in a native webhook body, sorted.
pub(crate) fn names(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["alerts"]
        .as_array()
        .expect("alerts array")
        .iter()
        .map(|a| a["name"].as_str().expect("name").to_owned())
        .collect();
    v.sort();
    v
}

/// A webhook sink that holds every request until [`GateSink::release`]: tests of
/// deliveries "still in flight" then depend on no timing at all.
#[derive(Debug)]
pub(crate) struct GateSink {
    addr: std::net::SocketAddr,
    inner: Arc<GateInner>,
}

#[derive(Debug)]
struct GateInner {
    open: tokio::sync::watch::Sender<bool>,
    arrived: std::sync::atomic::AtomicU64,
    /// Bodies answered 200, in order.
    delivered: Mutex<Vec<Value>>,
    changed: tokio::sync::Notify,
}

impl GateSink {
    /// Starts a closed gate on a random loopback port.
    pub(crate) async fn start() -> GateSink {
        use std::sync::atomic::Ordering;
        let inner = Arc::new(GateInner {
            open: tokio::sync::watch::channel(false).0,
            arrived: std::sync::atomic::AtomicU64::new(0),
            delivered: Mutex::new(Vec::new()),
            changed: tokio::sync::Notify::new(),
        });
        let state = inner.clone();
        let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
            let state = state.clone();
            async move {
                let n = state.arrived.fetch_add(1, Ordering::SeqCst) + 1;
                state.changed.notify_waiters();
                let mut open = state.open.subscribe();
                let _ = open.wait_for(|o| *o).await;
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                state.delivered.lock().expect("delivered").push(v);
                state.changed.notify_waiters();
                format!("{{\"id\":\"{n}\"}}")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the gate");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        GateSink { addr, inner }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Lets every held request, and every later one, through.
    pub(crate) fn release(&self) {
        self.inner.open.send_replace(true);
    }

    /// Requests that arrived (held or answered).
    pub(crate) fn arrived(&self) -> u64 {
        self.inner.arrived.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The bodies answered 200, in order.
    pub(crate) fn delivered(&self) -> Vec<Value> {
        self.inner.delivered.lock().expect("delivered").clone()
    }

    /// Waits (at most `timeout`) until `f()` holds; panics with `what` otherwise.
    async fn wait(&self, timeout: Duration, what: &str, f: impl Fn(&GateSink) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.inner.changed.notified();
            if f(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() && !f(self) {
                panic!("timed out after {timeout:?} waiting for {what}");
            }
        }
    }

    /// Waits until `n` requests arrived.
    pub(crate) async fn wait_arrived(&self, n: u64, timeout: Duration) {
        self.wait(timeout, &format!("{n} requests at the gate"), |g| {
            g.arrived() >= n
        })
        .await;
    }
}
