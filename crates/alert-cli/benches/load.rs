//! The load harness: `alerts serve` (and, side by side, Prometheus Alertmanager) under
//! the workloads of PRODUCT.md, measured from outside the process.
//!
//! ```text
//! cargo bench -p alert-cli --bench load                       # full size, alerts serve only
//! cargo bench -p alert-cli --bench load -- --alertmanager     # and Alertmanager, same run
//! cargo xtask bench-load [--alertmanager] [--quick]           # the same, through xtask
//! cargo test  -p alert-cli --bench load -- --quick            # the small CI configuration
//! ```
//!
//! Each workload starts a fresh server process on a loopback port (our `alerts serve`
//! with SQLite state, or `prometheus-alertmanager`), a webhook sink in this process,
//! and keep-alive HTTP clients that POST pre-serialised Alertmanager API v2 batches
//! to `/api/v2/alerts`, which both servers accept. Both servers route every alert to
//! the sink with `group_by = [seq]` (one group per alert), `group_wait = 100ms`,
//! `group_interval = 1s`, and send Alertmanager's webhook payload (v4), so the sink
//! reads the same shape from both.
//!
//! Workloads:
//!
//! * **distinct**: N distinct alerts (10,000; 400 with `--quick`) in POSTs of 100 from
//!   4 keep-alive clients. Ingest rate = N / time until the last POST is answered.
//!   Delivery latency = sink arrival − the moment its POST was sent (it includes the
//!   100 ms `group_wait`). Every alert must reach the sink.
//! * **duplicates**: 100,000 posts of 1,000 fingerprints (4,000 of 100 with
//!   `--quick`), in POSTs of 100 from 4 clients. Exactly one notification per
//!   fingerprint must reach the sink.
//! * **batch sweep**: ingest rate against the batch size (1, 10, 100, 1,000).
//! * **one-shot send**: wall time of a whole `alerts send --to sink` process
//!   delivering one alert to the sink, and of `python3 -c pass` for reference
//!   (the first of the runs is also shown apart: it reads the program in).
//!
//! For each server process: peak RSS (`VmHWM` of `/proc/PID/status`) and CPU time
//! (user + system, `/proc/PID/stat`). Figures vary by 15% or more between runs on a
//! shared 2-core machine, and a burst of load from elsewhere can halve one
//! workload's rate for a few seconds: read the ratios taken in one run.
//!
//! `--rounds N` (default 3 at full size, 1 with `--quick`) runs the distinct and
//! duplicates workloads N times, the servers alternating (ours, Alertmanager, ours,
//! ...), each time in a fresh process. The ratio table divides the median of our
//! rounds by the median of Alertmanager's, and lists each round's own ratio beside
//! it, so a burst that lands on one server's round shows as one outlier instead of
//! deciding the run.
//!
//! `LOAD_WRAP="heaptrack"` (or `"perf record -g -o FILE --"`) runs our server, and the
//! `alerts send` runs, under a profiler (`cargo xtask link-order` uses callgrind).
//! `LOAD_TRACE=PREFIX` writes every POST's timing to `PREFIX-SERVER-WORKLOAD.tsv`.
//!
//! Output: a Markdown table on standard output, `results.json`, `latency.svg` and
//! `throughput.svg` in `target/bench-load/` (or `--out DIR`). The process exits
//! non-zero when `alerts serve` loses an alert or sends a duplicate notification;
//! Alertmanager's figures are reported, not judged.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The binary under test (release when run by `cargo bench`).
const ALERTS: &str = env!("CARGO_BIN_EXE_alerts");
/// Where Debian's package puts Alertmanager.
const DEBIAN_ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

// ---------------------------------------------------------------------------
// Options and sizes

#[derive(Debug, Clone)]
struct Sizes {
    distinct: usize,
    dup_posts: usize,
    dup_fingerprints: usize,
    batch: usize,
    clients: usize,
    sweep: Vec<usize>,
    sweep_alerts: usize,
    sends: usize,
    deliver_timeout: Duration,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            distinct: 10_000,
            dup_posts: 100_000,
            dup_fingerprints: 1_000,
            batch: 100,
            clients: 4,
            sweep: vec![1, 10, 100, 1000],
            sweep_alerts: 10_000,
            sends: 30,
            deliver_timeout: Duration::from_secs(180),
        }
    }
    fn quick() -> Sizes {
        Sizes {
            distinct: 400,
            dup_posts: 4_000,
            dup_fingerprints: 100,
            batch: 100,
            clients: 4,
            sweep: vec![1, 10, 100],
            sweep_alerts: 300,
            sends: 3,
            deliver_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug)]
struct Opts {
    quick: bool,
    alertmanager: Option<PathBuf>,
    out: PathBuf,
    /// The workloads to run (`--only distinct,duplicates,sweep,send`; default all).
    only: Vec<String>,
    /// How many times the distinct and duplicates workloads run, the servers
    /// alternating.
    rounds: usize,
}

impl Opts {
    fn runs(&self, workload: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|w| w == workload)
    }
}

const WORKLOADS: [&str; 4] = ["distinct", "duplicates", "sweep", "send"];

fn parse_args() -> Result<Opts, String> {
    let mut quick = None;
    let mut bench = false;
    let mut alertmanager = None;
    let mut out = None;
    let mut only = Vec::new();
    let mut rounds = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // Added by `cargo bench`; without it (`cargo test`) the quick size runs.
            "--bench" => bench = true,
            "--quick" => quick = Some(true),
            "--full" => quick = Some(false),
            "--alertmanager" => alertmanager = Some(PathBuf::from(DEBIAN_ALERTMANAGER)),
            "--out" => out = Some(PathBuf::from(args.next().ok_or("--out needs a directory")?)),
            "--rounds" => {
                let n = args.next().ok_or("--rounds needs a number")?;
                rounds = Some(parse_rounds(&n)?);
            }
            "--only" => {
                let list = args.next().ok_or("--only needs a list of workloads")?;
                for w in list.split(',') {
                    if !WORKLOADS.contains(&w) {
                        return Err(format!("unknown workload {w:?}; known: {WORKLOADS:?}"));
                    }
                    only.push(w.to_owned());
                }
            }
            other => {
                if let Some(p) = other.strip_prefix("--alertmanager=") {
                    alertmanager = Some(PathBuf::from(p));
                } else if let Some(p) = other.strip_prefix("--out=") {
                    out = Some(PathBuf::from(p));
                } else if let Some(n) = other.strip_prefix("--rounds=") {
                    rounds = Some(parse_rounds(n)?);
                } else if !other.starts_with("--") {
                    // A test-name filter from `cargo test`: nothing to filter.
                } else {
                    return Err(format!(
                        "unknown argument {other:?}; known: --quick --full \
                         --alertmanager[=PATH] --out DIR --only LIST --rounds N"
                    ));
                }
            }
        }
    }
    if let Some(am) = &alertmanager
        && !am.exists()
    {
        return Err(format!(
            "{} not found: install Debian's prometheus-alertmanager or pass \
             --alertmanager=PATH",
            am.display()
        ));
    }
    let out = out.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
                let root = manifest.ancestors().nth(2).unwrap_or(manifest);
                root.join("target")
            })
            .join("bench-load")
    });
    let quick = quick.unwrap_or(!bench);
    Ok(Opts {
        quick,
        alertmanager,
        out,
        only,
        rounds: rounds.unwrap_or(if quick { 1 } else { 3 }),
    })
}

fn parse_rounds(n: &str) -> Result<usize, String> {
    match n.parse::<usize>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(format!("--rounds takes a number from 1 to 100, not {n:?}")),
    }
}

// ---------------------------------------------------------------------------
// The sink

/// A webhook sink that reads Alertmanager v4 bodies and notes, per `seq` label, when
/// it first arrived, and how many notifications and alert entries came.
#[derive(Default)]
struct SinkState {
    arrivals: Mutex<HashMap<u64, Instant>>,
    notifications: AtomicU64,
    entries: AtomicU64,
    bad_bodies: AtomicU64,
    changed: Notify,
}

struct Sink {
    state: Arc<SinkState>,
    addr: SocketAddr,
}

async fn sink_handler(State(s): State<Arc<SinkState>>, body: Bytes) -> &'static str {
    let now = Instant::now();
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        s.bad_bodies.fetch_add(1, Ordering::Relaxed);
        return "ok";
    };
    s.notifications.fetch_add(1, Ordering::Relaxed);
    let alerts = v["alerts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    s.entries.fetch_add(alerts.len() as u64, Ordering::Relaxed);
    {
        let mut map = s.arrivals.lock().expect("sink map");
        for a in alerts {
            if a["status"] != "firing" {
                continue;
            }
            if let Some(seq) = a["labels"]["seq"].as_str().and_then(|x| x.parse().ok()) {
                map.entry(seq).or_insert(now);
            }
        }
    }
    s.changed.notify_waiters();
    "ok"
}

impl Sink {
    async fn start() -> Sink {
        let state = Arc::new(SinkState::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let app = axum::Router::new()
            .fallback(post(sink_handler))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sink { state, addr }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn distinct(&self) -> usize {
        self.state.arrivals.lock().expect("sink map").len()
    }

    fn notifications(&self) -> u64 {
        self.state.notifications.load(Ordering::Relaxed)
    }

    fn reset(&self) {
        self.state.arrivals.lock().expect("sink map").clear();
        self.state.notifications.store(0, Ordering::Relaxed);
        self.state.entries.store(0, Ordering::Relaxed);
    }

    /// Waits until `n` distinct alerts arrived, or `timeout`; returns how many did.
    async fn wait_distinct(&self, n: usize, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.state.changed.notified();
            let got = self.distinct();
            if got >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.distinct();
            }
        }
    }

    fn arrivals(&self) -> HashMap<u64, Instant> {
        self.state.arrivals.lock().expect("sink map").clone()
    }
}

// ---------------------------------------------------------------------------
// Servers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alerts,
    Alertmanager,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Alerts => "alerts serve",
            Kind::Alertmanager => "Alertmanager 0.25",
        }
    }
}

struct Server {
    kind: Kind,
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Under a profiler (`LOAD_WRAP`), interrupt it so it writes its data, and
        // wait for it (only when profiling: this blocks the thread).
        if std::env::var_os("LOAD_WRAP").is_some() {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command running the `alerts` binary, under the profiler named by `LOAD_WRAP`
/// when set (`alerts serve` and the `alerts send` runs alike; the wall times of the
/// sends then include the profiler's).
fn alerts_command() -> Command {
    let wrap = std::env::var("LOAD_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(ALERTS);
            c
        }
        None => Command::new(ALERTS),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn alerts_config(port: u16, sink: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{port}"

[storage]
backend = "sqlite"

[log]
level = "warn"

[route]
receiver = "sink"
group_by = ["seq"]
group_wait = "100ms"
group_interval = "1s"
repeat_interval = "4h"

[[receivers]]
name = "sink"
channels = [{{ type = "webhook", url = "{sink}", format = "alertmanager", group_by = ["seq"] }}]
"#
    )
}

fn alertmanager_config(sink: &str) -> String {
    format!(
        r#"route:
  receiver: sink
  group_by: ['seq']
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: sink
    webhook_configs:
      - url: '{sink}'
        send_resolved: false
"#
    )
}

impl Server {
    async fn start(kind: Kind, sink: &Sink, opts: &Opts) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut c = match kind {
            Kind::Alerts => {
                let cfg = dir.path().join("config.toml");
                std::fs::write(&cfg, alerts_config(port, &sink.url())).expect("config");
                // `LOAD_WRAP="heaptrack"` (or `perf record -g --`, ...) runs our server
                // under a profiler; the figures then include the profiler's cost.
                let mut c = alerts_command();
                c.arg("serve")
                    .arg("-c")
                    .arg(&cfg)
                    .arg("--data-dir")
                    .arg(dir.path().join("data"));
                for (k, _) in std::env::vars_os() {
                    if k.to_str()
                        .is_some_and(|k| k.starts_with("ALERT") || k == "RUST_LOG")
                    {
                        c.env_remove(k);
                    }
                }
                c
            }
            Kind::Alertmanager => {
                let cfg = dir.path().join("alertmanager.yml");
                std::fs::write(&cfg, alertmanager_config(&sink.url())).expect("config");
                let mut c = Command::new(opts.alertmanager.as_ref().expect("alertmanager"));
                c.arg(format!("--config.file={}", cfg.display()))
                    .arg(format!(
                        "--storage.path={}",
                        dir.path().join("data").display()
                    ))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--cluster.listen-address=")
                    .arg("--log.level=warn");
                c
            }
        };
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .current_dir(dir.path());
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", kind.label()));
        let base = format!("http://127.0.0.1:{port}");
        let mut server = Server {
            kind,
            child,
            base,
            _dir: dir,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let path = match self.kind {
            Kind::Alerts => "/readyz",
            Kind::Alertmanager => "/-/ready",
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}{path}", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status}:\n{}",
                    self.kind.label(),
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready after 30 s:\n{}",
                self.kind.label(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("server.log")).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Peak resident set size of a process, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time (user + system) a process has used so far.
fn cpu_time(pid: u32) -> Option<Duration> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: split after it.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

// ---------------------------------------------------------------------------
// Clients

/// One POST: the `seq`s it carries and its body.
struct Batch {
    seqs: Vec<u64>,
    body: Bytes,
}

/// Batches of Alertmanager v2 alerts; alert `i` of the workload carries `seq =
/// offset + key(i)`.
fn batches(n: usize, batch: usize, offset: u64, key: impl Fn(usize) -> u64) -> Vec<Batch> {
    (0..n)
        .step_by(batch)
        .map(|start| {
            let seqs: Vec<u64> = (start..(start + batch).min(n))
                .map(|i| offset + key(i))
                .collect();
            let alerts: Vec<Value> = seqs
                .iter()
                .map(|seq| {
                    json!({
                        "labels": {
                            "alertname": "LoadTest",
                            "seq": seq.to_string(),
                            "model": format!("model-{}", seq % 50),
                            "severity": "warning",
                        },
                        "annotations": {"summary": format!("load test alert {seq}")},
                        "generatorURL": "http://127.0.0.1/load",
                    })
                })
                .collect();
            Batch {
                seqs,
                body: Bytes::from(serde_json::to_vec(&alerts).expect("json")),
            }
        })
        .collect()
}

/// What posting a workload took.
struct Posted {
    elapsed: Duration,
    started: Instant,
    /// When the POST carrying each `seq` was sent (the first one, for duplicates).
    sent: HashMap<u64, Instant>,
    errors: Vec<String>,
    /// Each POST: its client, its batch, when it was sent and how long its answer
    /// took (microseconds from `started`).
    posts: Vec<(usize, usize, u128, u128)>,
}

/// POSTs every batch from `clients` keep-alive clients, each taking the next batch.
async fn post_all(base: &str, batches: Arc<Vec<Batch>>, clients: usize) -> Posted {
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("{base}/api/v2/alerts");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (next, batches, url) = (next.clone(), batches.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(120))
                .build()
                .expect("client");
            let mut sent = Vec::new();
            let mut errors = Vec::new();
            let mut posts = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(b) = batches.get(i) else { break };
                let at = Instant::now();
                sent.push((i, at));
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(b.body.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        errors.push(format!("batch {i}: {status} {text}"));
                    }
                    Err(e) => errors.push(format!("batch {i}: {e}")),
                }
                posts.push((
                    client,
                    i,
                    (at - started).as_micros(),
                    at.elapsed().as_micros(),
                ));
            }
            (sent, errors, posts)
        }));
    }
    let mut sent_at = HashMap::new();
    let mut errors = Vec::new();
    let mut posts = Vec::new();
    for t in tasks {
        let (sent, errs, p) = t.await.expect("client task");
        posts.extend(p);
        for (i, at) in sent {
            for seq in &batches[i].seqs {
                sent_at
                    .entry(*seq)
                    .and_modify(|t: &mut Instant| *t = (*t).min(at))
                    .or_insert(at);
            }
        }
        errors.extend(errs);
    }
    Posted {
        elapsed: started.elapsed(),
        started,
        sent: sent_at,
        errors,
        posts,
    }
}

/// With `LOAD_TRACE=PREFIX`, writes each POST of a workload (client, batch, sent
/// at and answered after, in microseconds) to `PREFIX-SERVER-WORKLOAD.tsv`: where
/// a slow run lost its time.
fn trace_posts(kind: Kind, workload: &str, posted: &Posted) {
    let Some(prefix) = std::env::var_os("LOAD_TRACE") else {
        return;
    };
    let mut text = String::from("client\tbatch\tsent_us\tanswer_us\n");
    let mut posts = posted.posts.clone();
    posts.sort_by_key(|p| p.2);
    for (client, batch, at, took) in posts {
        let _ = writeln!(text, "{client}\t{batch}\t{at}\t{took}");
    }
    let server = if kind == Kind::Alerts {
        "alerts"
    } else {
        "alertmanager"
    };
    let mut path = prefix;
    path.push(format!("-{server}-{workload}.tsv"));
    if let Err(e) = std::fs::write(&path, text) {
        eprintln!("load: cannot write {}: {e}", Path::new(&path).display());
    }
}

// ---------------------------------------------------------------------------
// Workloads

#[derive(Debug, Clone, Default, serde::Serialize)]
struct Figures {
    server: String,
    workload: String,
    /// Which round of the workload (1 for the sweep).
    round: usize,
    alerts_posted: usize,
    batch: usize,
    clients: usize,
    ingest_secs: f64,
    ingest_per_sec: f64,
    expected: usize,
    delivered_distinct: usize,
    notifications: u64,
    latency_ms: Option<Percentiles>,
    delivered_all_secs: Option<f64>,
    peak_rss_bytes: Option<u64>,
    cpu_secs: Option<f64>,
    post_errors: usize,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn percentiles(mut v: Vec<f64>) -> Option<Percentiles> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Some(Percentiles {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: v[v.len() - 1],
    })
}

/// The distinct workload: every alert its own group.
async fn distinct(kind: Kind, sink: &Sink, opts: &Opts, sz: &Sizes) -> Figures {
    sink.reset();
    let server = Server::start(kind, sink, opts).await;
    let b = Arc::new(batches(sz.distinct, sz.batch, 0, |i| i as u64));
    let posted = post_all(&server.base, b, sz.clients).await;
    trace_posts(kind, "distinct", &posted);
    let got = sink.wait_distinct(sz.distinct, sz.deliver_timeout).await;
    // Anything late or doubled shows up in the next group_interval.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let arrivals = sink.arrivals();
    let latencies: Vec<f64> = arrivals
        .iter()
        .filter_map(|(seq, at)| {
            posted
                .sent
                .get(seq)
                .map(|s| at.saturating_duration_since(*s).as_secs_f64() * 1e3)
        })
        .collect();
    let last = arrivals.values().max().copied();
    Figures {
        server: kind.label().into(),
        workload: "distinct".into(),
        round: 1,
        alerts_posted: sz.distinct,
        batch: sz.batch,
        clients: sz.clients,
        ingest_secs: posted.elapsed.as_secs_f64(),
        ingest_per_sec: sz.distinct as f64 / posted.elapsed.as_secs_f64(),
        expected: sz.distinct,
        delivered_distinct: got,
        notifications: sink.notifications(),
        latency_ms: percentiles(latencies),
        delivered_all_secs: (got == sz.distinct)
            .then(|| last.map(|l| (l - posted.started).as_secs_f64()))
            .flatten(),
        peak_rss_bytes: peak_rss(server.pid()),
        cpu_secs: cpu_time(server.pid()).map(|d| d.as_secs_f64()),
        post_errors: report_errors(&server, &posted.errors),
    }
}

/// The duplicate-heavy workload: `dup_posts` alerts over `dup_fingerprints`.
async fn duplicates(kind: Kind, sink: &Sink, opts: &Opts, sz: &Sizes) -> Figures {
    sink.reset();
    let server = Server::start(kind, sink, opts).await;
    let f = sz.dup_fingerprints;
    let b = Arc::new(batches(sz.dup_posts, sz.batch, 0, |i| (i % f) as u64));
    let posted = post_all(&server.base, b, sz.clients).await;
    trace_posts(kind, "duplicates", &posted);
    let got = sink.wait_distinct(f, sz.deliver_timeout).await;
    // Two more group intervals: a notification sent twice would show up here.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    Figures {
        server: kind.label().into(),
        workload: "duplicates".into(),
        round: 1,
        alerts_posted: sz.dup_posts,
        batch: sz.batch,
        clients: sz.clients,
        ingest_secs: posted.elapsed.as_secs_f64(),
        ingest_per_sec: sz.dup_posts as f64 / posted.elapsed.as_secs_f64(),
        expected: f,
        delivered_distinct: got,
        notifications: sink.notifications(),
        latency_ms: None,
        delivered_all_secs: None,
        peak_rss_bytes: peak_rss(server.pid()),
        cpu_secs: cpu_time(server.pid()).map(|d| d.as_secs_f64()),
        post_errors: report_errors(&server, &posted.errors),
    }
}

/// Ingest rate against batch size, one server process for the whole sweep.
async fn sweep(kind: Kind, sink: &Sink, opts: &Opts, sz: &Sizes) -> Vec<Figures> {
    sink.reset();
    let server = Server::start(kind, sink, opts).await;
    let mut out = Vec::new();
    for (k, &batch) in sz.sweep.iter().enumerate() {
        let offset = 1_000_000 * (k as u64 + 1);
        let b = Arc::new(batches(sz.sweep_alerts, batch, offset, |i| i as u64));
        let before = sink.distinct();
        let notes_before = sink.notifications();
        let posted = post_all(&server.base, b, sz.clients).await;
        let got = sink
            .wait_distinct(before + sz.sweep_alerts, sz.deliver_timeout)
            .await
            - before;
        out.push(Figures {
            server: kind.label().into(),
            workload: "sweep".into(),
            round: 1,
            alerts_posted: sz.sweep_alerts,
            batch,
            clients: sz.clients,
            ingest_secs: posted.elapsed.as_secs_f64(),
            ingest_per_sec: sz.sweep_alerts as f64 / posted.elapsed.as_secs_f64(),
            expected: sz.sweep_alerts,
            delivered_distinct: got,
            notifications: sink.notifications() - notes_before,
            post_errors: report_errors(&server, &posted.errors),
            ..Figures::default()
        });
    }
    out
}

fn report_errors(server: &Server, errors: &[String]) -> usize {
    for e in errors.iter().take(5) {
        eprintln!("  {}: {e}", server.kind.label());
    }
    errors.len()
}

/// Wall times of whole processes, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
struct Walls {
    what: String,
    runs: usize,
    ok: usize,
    ms: Option<Percentiles>,
    min_ms: f64,
    /// The first run's, shown apart: the program's code is read in (from the page
    /// cache) at its first start, which a loop of sends pays once.
    first_ms: Option<f64>,
}

fn walls(what: &str, runs: usize, mut cmd: impl FnMut() -> Command) -> Walls {
    let mut v = Vec::new();
    let mut ok = 0;
    for _ in 0..runs {
        let mut c = cmd();
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let t = Instant::now();
        let status = c.status();
        v.push(t.elapsed().as_secs_f64() * 1e3);
        if status.is_ok_and(|s| s.success()) {
            ok += 1;
        }
    }
    let min_ms = v.iter().copied().fold(f64::INFINITY, f64::min);
    let first_ms = v.first().copied();
    Walls {
        what: what.into(),
        runs,
        ok,
        ms: percentiles(v),
        min_ms,
        first_ms,
    }
}

/// `alerts send --to sink` as a whole process, delivering to the sink.
async fn one_shot(sink: &Sink, sz: &Sizes) -> (Walls, Option<Walls>, usize) {
    sink.reset();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("send.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[receivers]]\nname = \"sink\"\nchannels = [{{ type = \"webhook\", url = \"{}\", \
             format = \"alertmanager\" }}]\n",
            sink.url()
        ),
    )
    .expect("config");
    let runs = sz.sends;
    let home = dir.path().to_owned();
    let seq = Arc::new(AtomicU64::new(0));
    let send = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || {
            walls("alerts send --to sink", runs, || {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let mut c = alerts_command();
                c.args(["send", "--severity", "critical", "--name", "TrainingFailed"])
                    .args(["--summary", "run 7 failed", "--label"])
                    .arg(format!("seq={n}"))
                    .arg("--to")
                    .arg("sink")
                    .arg("-c")
                    .arg(&cfg)
                    .env("HOME", &home)
                    .env_remove("ALERTS_CONFIG");
                c
            })
        })
        .await
        .expect("send runs")
    };
    let python = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("-c")
            .arg("pass")
            .status()
            .is_ok_and(|s| s.success())
            .then(|| {
                walls("python3 -c pass (start-up only)", runs, || {
                    let mut c = Command::new("python3");
                    c.args(["-c", "pass"]);
                    c
                })
            })
    })
    .await
    .expect("python runs");
    let got = sink.wait_distinct(runs, Duration::from_secs(10)).await;
    (send, python, got)
}

// ---------------------------------------------------------------------------
// Output

fn mib(b: Option<u64>) -> String {
    b.map_or("n/a".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
}

fn lat(p: Option<Percentiles>) -> String {
    p.map_or("n/a".into(), |p| {
        format!("{:.0} / {:.0} / {:.0} / {:.0}", p.p50, p.p90, p.p99, p.max)
    })
}

/// Ours against Alertmanager for one workload, over its rounds.
#[derive(Debug, serde::Serialize)]
struct Ratio {
    workload: &'static str,
    /// The median of our ingest rates over the median of Alertmanager's.
    ingest: f64,
    /// The same for peak RSS.
    rss: Option<f64>,
    /// Round by round: our round k against Alertmanager's round k.
    ingest_rounds: Vec<f64>,
    rss_rounds: Vec<f64>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The ratios of the distinct and duplicates workloads, where both servers ran them.
fn ratios(all: &[Figures]) -> Vec<Ratio> {
    let mut out = Vec::new();
    for workload in ["distinct", "duplicates"] {
        let of = |k: Kind| -> Vec<&Figures> {
            all.iter()
                .filter(|f| f.server == k.label() && f.workload == workload)
                .collect()
        };
        let (ours, theirs) = (of(Kind::Alerts), of(Kind::Alertmanager));
        let rate = |v: &[&Figures]| median(v.iter().map(|f| f.ingest_per_sec).collect());
        let rss = |v: &[&Figures]| {
            median(
                v.iter()
                    .filter_map(|f| f.peak_rss_bytes.map(|b| b as f64))
                    .collect(),
            )
        };
        let (Some(a), Some(m)) = (rate(&ours), rate(&theirs)) else {
            continue;
        };
        let pairs = ours.iter().zip(&theirs);
        out.push(Ratio {
            workload,
            ingest: a / m,
            rss: rss(&ours).zip(rss(&theirs)).map(|(a, m)| a / m),
            ingest_rounds: pairs
                .clone()
                .map(|(a, m)| a.ingest_per_sec / m.ingest_per_sec)
                .collect(),
            rss_rounds: pairs
                .filter_map(|(a, m)| Some(a.peak_rss_bytes? as f64 / m.peak_rss_bytes? as f64))
                .collect(),
        });
    }
    out
}

fn table(all: &[Figures]) -> String {
    let mut s = String::from(
        "| server | workload | round | alerts posted | batch | ingest alerts/s | delivered \
         (expected) | notifications | latency ms p50/p90/p99/max | peak RSS | CPU s |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in all {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.0} | {} ({}) | {} | {} | {} | {} |",
            f.server,
            f.workload,
            f.round,
            f.alerts_posted,
            f.batch,
            f.ingest_per_sec,
            f.delivered_distinct,
            f.expected,
            f.notifications,
            lat(f.latency_ms),
            mib(f.peak_rss_bytes),
            f.cpu_secs.map_or("n/a".into(), |c| format!("{c:.2}")),
        );
    }
    s
}

/// A grouped bar chart as SVG: one group per category, one bar per series.
fn bar_chart(
    title: &str,
    y_label: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
) -> String {
    const W: f64 = 720.0;
    const H: f64 = 400.0;
    const LEFT: f64 = 80.0;
    const BOTTOM: f64 = 60.0;
    const TOP: f64 = 40.0;
    const COLOURS: [&str; 4] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"];
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    // A round top for the axis: 1, 2 or 5 times a power of ten.
    let mag = 10f64.powf(max.log10().floor());
    let top = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|t| *t >= max)
        .unwrap_or(10.0 * mag);
    let plot_w = W - LEFT - 20.0;
    let plot_h = H - TOP - BOTTOM;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>
<text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">{}</text>
"#,
        W / 2.0,
        xml(title),
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        xml(y_label)
    );
    for k in 0..=5 {
        let v = top * k as f64 / 5.0;
        let y = TOP + plot_h - plot_h * k as f64 / 5.0;
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            W - 20.0,
            LEFT - 6.0,
            y + 4.0,
            short(v)
        );
    }
    let group_w = plot_w / categories.len().max(1) as f64;
    let bar_w = group_w * 0.8 / series.len().max(1) as f64;
    for (ci, cat) in categories.iter().enumerate() {
        let gx = LEFT + group_w * ci as f64 + group_w * 0.1;
        for (si, (_, values)) in series.iter().enumerate() {
            let v = values.get(ci).copied().unwrap_or(f64::NAN);
            if !v.is_finite() {
                continue;
            }
            let h = plot_h * v / top;
            let x = gx + bar_w * si as f64;
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}</title></rect>"#,
                TOP + plot_h - h,
                bar_w * 0.95,
                COLOURS[si % COLOURS.len()],
                short(v)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            gx + group_w * 0.4,
            TOP + plot_h + 18.0,
            xml(cat)
        );
    }
    for (si, (name, _)) in series.iter().enumerate() {
        let x = LEFT + 10.0 + 200.0 * si as f64;
        let y = H - 16.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{y}">{}</text>"#,
            y - 10.0,
            COLOURS[si % COLOURS.len()],
            x + 16.0,
            xml(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

// ---------------------------------------------------------------------------

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::process::ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("load: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let sz = if opts.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let mut kinds = vec![Kind::Alerts];
    if opts.alertmanager.is_some() {
        kinds.push(Kind::Alertmanager);
    }
    eprintln!(
        "load: {} size, servers: {}; binary {ALERTS}",
        if opts.quick { "quick" } else { "full" },
        kinds
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let sink = Sink::start().await;
    let mut all = Vec::new();
    let mut sweeps = Vec::new();
    let rounds = opts.rounds;
    for workload in ["distinct", "duplicates"] {
        if !opts.runs(workload) {
            continue;
        }
        for round in 1..=rounds {
            for &k in &kinds {
                eprintln!("load: {}: {workload}, round {round} of {rounds}", k.label());
                let mut f = if workload == "distinct" {
                    distinct(k, &sink, &opts, &sz).await
                } else {
                    duplicates(k, &sink, &opts, &sz).await
                };
                f.round = round;
                all.push(f);
            }
        }
    }
    for &k in &kinds {
        if opts.runs("sweep") {
            eprintln!("load: {}: batch sweep", k.label());
            sweeps.push(sweep(k, &sink, &opts, &sz).await);
        }
    }
    let (send, python, sends_delivered) = if opts.runs("send") {
        eprintln!("load: one-shot send");
        let (s, p, d) = one_shot(&sink, &sz).await;
        (Some(s), p, d)
    } else {
        (None, None, 0)
    };

    // What must hold for our server, whatever the speed.
    let mut failures = Vec::new();
    for f in all.iter().chain(sweeps.iter().flatten()) {
        if !f.server.starts_with("alerts") {
            continue;
        }
        if f.post_errors > 0 {
            failures.push(format!(
                "{} {} (round {}): {} POSTs failed",
                f.workload, f.batch, f.round, f.post_errors
            ));
        }
        if f.delivered_distinct != f.expected {
            failures.push(format!(
                "{} (batch {}, round {}): {} of {} alerts delivered",
                f.workload, f.batch, f.round, f.delivered_distinct, f.expected
            ));
        }
        if f.workload == "duplicates" && f.notifications != f.expected as u64 {
            failures.push(format!(
                "duplicates (round {}): {} notifications for {} fingerprints",
                f.round, f.notifications, f.expected
            ));
        }
        if f.workload == "distinct" && f.notifications != f.expected as u64 {
            failures.push(format!(
                "distinct (round {}): {} notifications for {} groups",
                f.round, f.notifications, f.expected
            ));
        }
    }
    if let Some(send) = &send
        && (send.ok != send.runs || sends_delivered != send.runs)
    {
        failures.push(format!(
            "one-shot send: {} of {} exited 0, {} delivered",
            send.ok, send.runs, sends_delivered
        ));
    }

    let mut report = table(&all);
    if !sweeps.is_empty() {
        report.push('\n');
        report.push_str(&table(&sweeps.concat()));
    }
    if send.is_some() {
        let _ = writeln!(
            report,
            "\n| process | runs | wall ms p50 / p90 / max | min | first run |\n|---|---|---|---|---|"
        );
    }
    for w in send.iter().chain(python.as_ref()) {
        let _ = writeln!(
            report,
            "| {} | {} | {} | {:.1} | {} |",
            w.what,
            w.runs,
            w.ms.map_or("n/a".into(), |p| format!(
                "{:.1} / {:.1} / {:.1}",
                p.p50, p.p90, p.max
            )),
            w.min_ms,
            w.first_ms.map_or("n/a".into(), |f| format!("{f:.1}"))
        );
    }
    let ratios = ratios(&all);
    if !ratios.is_empty() {
        report.push_str(
            "\n| ratio (alerts serve / Alertmanager) | ingest rate, of the medians | \
             peak RSS, of the medians | ingest, each round | peak RSS, each round |\n\
             |---|---|---|---|---|\n",
        );
        for r in &ratios {
            let list = |v: &[f64], f: fn(f64) -> String| {
                v.iter().map(|x| f(*x)).collect::<Vec<_>>().join(", ")
            };
            let _ = writeln!(
                report,
                "| {} | {:.2}x | {} | {} | {} |",
                r.workload,
                r.ingest,
                r.rss.map_or("n/a".into(), |x| format!("{x:.3}")),
                list(&r.ingest_rounds, |x| format!("{x:.2}x")),
                list(&r.rss_rounds, |x| format!("{x:.3}")),
            );
        }
    }
    println!("{report}");

    if let Err(e) = std::fs::create_dir_all(&opts.out) {
        eprintln!("load: {}: {e}", opts.out.display());
    } else {
        let results = json!({
            "size": if opts.quick { "quick" } else { "full" },
            "workloads": all,
            "sweep": sweeps,
            "one_shot": send,
            "python_start": python,
            "ratios": ratios,
        });
        // Each server's round of median ingest rate stands for it.
        let lat_series: Vec<(String, Vec<f64>)> = kinds
            .iter()
            .filter_map(|k| {
                let mut rounds: Vec<&Figures> = all
                    .iter()
                    .filter(|f| f.workload == "distinct" && f.server == k.label())
                    .collect();
                rounds.sort_by(|a, b| a.ingest_per_sec.total_cmp(&b.ingest_per_sec));
                let f = rounds.get(rounds.len() / 2)?;
                let p = f.latency_ms.unwrap_or_default();
                Some((f.server.clone(), vec![p.p50, p.p90, p.p99, p.max]))
            })
            .collect();
        let lat_svg = bar_chart(
            &format!(
                "Delivery latency, {} distinct alerts (group_wait 100 ms)",
                sz.distinct
            ),
            "milliseconds from POST to webhook",
            &["p50", "p90", "p99", "max"].map(String::from),
            &lat_series,
        );
        let tp_series: Vec<(String, Vec<f64>)> = sweeps
            .iter()
            .filter_map(|s| {
                Some((
                    s.first()?.server.clone(),
                    s.iter().map(|f| f.ingest_per_sec).collect(),
                ))
            })
            .collect();
        let tp_svg = bar_chart(
            &format!(
                "Ingest rate against batch size ({} alerts, {} clients)",
                sz.sweep_alerts, sz.clients
            ),
            "alerts per second",
            &sz.sweep
                .iter()
                .map(|b| format!("batch {b}"))
                .collect::<Vec<_>>(),
            &tp_series,
        );
        for (name, text) in [
            (
                "results.json",
                serde_json::to_string_pretty(&results).unwrap_or_default(),
            ),
            ("latency.svg", lat_svg),
            ("throughput.svg", tp_svg),
            ("report.md", report),
        ] {
            let p = opts.out.join(name);
            if let Err(e) = std::fs::write(&p, text) {
                eprintln!("load: {}: {e}", p.display());
            }
        }
        eprintln!("load: wrote {}", opts.out.display());
    }

    if failures.is_empty() {
        eprintln!("load: every alert delivered, no duplicate notification");
        std::process::ExitCode::SUCCESS
    } else {
        for f in &failures {
            eprintln!("load: FAILED: {f}");
        }
        std::process::ExitCode::FAILURE
    }
}
