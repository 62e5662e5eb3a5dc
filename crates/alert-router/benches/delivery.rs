//! Delivery to a local JSON webhook sink, like for like with Apprise: **sequential**
//! notifications (one at a time, each waiting for the sink's answer, as Apprise's
//! `notify` does) with the SQLite outbox on and off, the same with 16 in parallel,
//! the SQLite outbox with the outbox's default 8 lane workers (the service as
//! shipped), and Apprise (Python) posting to the same sink in the same run. Two
//! more sequential modes show this machine's ceiling for one request at a time
//! below any channel code: a bare `reqwest` client, and a 1-byte TCP round trip.
//!
//! ```text
//! pip install apprise
//! cargo bench -p alert-router --features sqlite --bench delivery
//! ```
//!
//! Criterion measures each Rust mode. After it, a summary phase (only under
//! `cargo bench`, which passes `--bench`):
//!
//! 1. times 10,000 notifications per mode, three rounds with the modes interleaved,
//!    and keeps each mode's median rate (sequential outbox modes submit one
//!    notification at a time, at most 100 waiting, so delivery never starves and no
//!    backlog of the whole run builds up);
//! 2. measures **our memory**: it re-runs this binary as a separate process
//!    (`DELIVERY_BENCH_CHILD` set) that delivers 10,000 notifications sequentially
//!    through the SQLite outbox to the same sink and reports its peak RSS (`VmHWM`
//!    from `/proc/self/status`, so Linux only), the same measure Apprise's script
//!    reports (`ru_maxrss` of the Python process);
//! 3. runs `benches/python/apprise_webhook.py` against the same sink: 50 untimed
//!    warm-up sends (not counted in its rate), then 3,000 timed ones;
//! 4. prints a Markdown table: rates, ratios against Apprise, and the cost of
//!    durability as the ratio outbox on / outbox off, sequential and parallel
//!    (figures go to `docs/bench/delivery.md`).
//!
//! Every mode's deliveries are checked at the sink (the count it accepted).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use alert_core::{Alert, Notifier, Severity, Timestamp};
use alert_router::delivery::{DEFAULT_LANE_CONCURRENCY, Outbox, new_notification_id};
use alert_router::store::{MemoryStore, Notification, NotificationKind, SqliteStore, Store};
use alert_webhook::fake::FakeWebhook;
use alert_webhook::{WebhookConfig, WebhookNotifier};
use criterion::{Criterion, Throughput, criterion_group};
use tokio::runtime::Runtime;

const BATCH: usize = 1000;
const LANE: usize = 16;
const CHILD: &str = "DELIVERY_BENCH_CHILD";
const CHILD_DB: &str = "DELIVERY_BENCH_CHILD_DB";
const CHILD_N: &str = "DELIVERY_BENCH_CHILD_N";

struct Env {
    sink: FakeWebhook,
    _sink_rt: Runtime,
    rt: Runtime,
    dir: tempfile::TempDir,
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn env() -> Env {
    let sink_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("sink runtime");
    let sink = sink_rt
        .block_on(FakeWebhook::start_counting())
        .expect("sink");
    Env {
        sink,
        _sink_rt: sink_rt,
        rt: runtime(),
        dir: tempfile::tempdir().expect("tempdir"),
    }
}

fn alert(i: usize) -> Alert {
    Alert::new(Severity::Error, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.81 (threshold 0.90)")
        .with_message("The nightly evaluation on 12k labelled rows fell below threshold.")
        .with_label("model", "bikes")
        .with_label("seq", i.to_string())
}

fn notification(i: usize) -> Notification {
    Notification::new(
        new_notification_id(),
        "team",
        "hook",
        format!("g{i}"),
        NotificationKind::Group,
        vec![alert(i)],
        Severity::Error,
        Timestamp::now(),
    )
}

fn webhook(url: &str) -> WebhookNotifier {
    WebhookNotifier::new(WebhookConfig::new(format!("{url}/hook"))).expect("webhook")
}

async fn outbox(store: Arc<dyn Store>, url: &str, lanes: usize) -> Outbox {
    Outbox::builder(store)
        .channel("team", "hook", Arc::new(webhook(url)))
        .lane_concurrency(lanes)
        .start()
        .await
        .expect("outbox")
}

/// The most notifications a sequential run lets wait in the outbox: the source
/// keeps the lane busy without building a backlog of the whole run in memory
/// (Apprise, called in a loop, never has one).
const BACKLOG: usize = 100;

/// Submits `n` notifications (one per submit when `one_by_one`, as a router
/// flushing one group at a time, waiting while [`BACKLOG`] are queued; else in
/// batches of 100) and waits until all are delivered and their outcomes recorded.
async fn run_outbox(o: &Outbox, n: usize, one_by_one: bool) {
    let step = if one_by_one { 1 } else { 100 };
    let mut i = 0;
    while i < n {
        while one_by_one && o.stats().queued >= BACKLOG {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let k = (n - i).min(step);
        o.submit_many((i..i + k).map(notification).collect())
            .await
            .expect("submit");
        i += k;
    }
    assert!(
        o.wait_idle(Duration::from_secs(600)).await,
        "outbox drained"
    );
}

async fn run_direct(n: &Arc<WebhookNotifier>, count: usize, concurrency: usize) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let n = n.clone();
            let next = next.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    n.notify(&alert(i)).await.expect("delivered");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
}

/// `count` POSTs of `body` to `url` one at a time with a bare `reqwest` client,
/// each waiting for the answer's body.
async fn run_reqwest(client: &reqwest::Client, url: &str, body: &[u8], count: usize) {
    for _ in 0..count {
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("sink answers");
        assert!(r.status().is_success(), "sink status {}", r.status());
        r.bytes().await.expect("answer body");
    }
}

/// `count` round trips of one byte over loopback TCP between two threads, with
/// blocking sockets: what one request at a time costs on this machine before any
/// HTTP, JSON or runtime.
fn tcp_round_trips(count: usize) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_nodelay(true).expect("nodelay");
        let mut b = [0u8; 1];
        while s.read_exact(&mut b).is_ok() {
            if s.write_all(&b).is_err() {
                break;
            }
        }
    });
    let mut c = std::net::TcpStream::connect(addr).expect("connect");
    c.set_nodelay(true).expect("nodelay");
    let mut b = [7u8; 1];
    for _ in 0..count {
        c.write_all(&b).expect("write");
        c.read_exact(&mut b).expect("read");
    }
    drop(c);
    echo.join().expect("echo thread");
}

fn bench(c: &mut Criterion) {
    let e = env();
    let url = e.sink.url();
    let mut g = c.benchmark_group("delivery");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));

    for (name, lanes, one_by_one) in [
        ("outbox_sqlite_sequential", 1, true),
        ("outbox_sqlite_parallel16", LANE, false),
    ] {
        let sqlite: Arc<dyn Store> =
            Arc::new(SqliteStore::open(e.dir.path().join(format!("{name}.db"))).expect("sqlite"));
        let o = e.rt.block_on(outbox(sqlite, &url, lanes));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                e.rt.block_on(async {
                    let t0 = Instant::now();
                    for _ in 0..iters {
                        run_outbox(&o, BATCH, one_by_one).await;
                    }
                    t0.elapsed()
                })
            })
        });
        e.rt.block_on(o.shutdown(Duration::from_secs(5)));
    }

    let o =
        e.rt.block_on(outbox(Arc::new(MemoryStore::new()), &url, LANE));
    g.bench_function("outbox_memory_parallel16", |b| {
        b.iter_custom(|iters| {
            e.rt.block_on(async {
                let t0 = Instant::now();
                for _ in 0..iters {
                    run_outbox(&o, BATCH, false).await;
                }
                t0.elapsed()
            })
        })
    });
    e.rt.block_on(o.shutdown(Duration::from_secs(5)));

    let direct = Arc::new(webhook(&url));
    for (name, concurrency) in [("no_outbox_sequential", 1), ("no_outbox_parallel16", LANE)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                e.rt.block_on(async {
                    let t0 = Instant::now();
                    for _ in 0..iters {
                        run_direct(&direct, BATCH, concurrency).await;
                    }
                    t0.elapsed()
                })
            })
        });
    }
    g.finish();
}

/// Peak resident set size of this process in kB (`VmHWM`), on Linux.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The separate process of the memory measurement: delivers `DELIVERY_BENCH_CHILD_N`
/// notifications sequentially through the SQLite outbox to the sink at
/// `DELIVERY_BENCH_CHILD` and prints `{"rate":…,"max_rss_kb":…}`.
fn child(url: &str) {
    let n: usize = std::env::var(CHILD_N)
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("count");
    let db = std::env::var(CHILD_DB).expect("db path");
    let rt = runtime();
    let rate = rt.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).expect("sqlite"));
        let o = outbox(store, url, 1).await;
        let t0 = Instant::now();
        run_outbox(&o, n, true).await;
        let dt = t0.elapsed().as_secs_f64();
        o.shutdown(Duration::from_secs(5)).await;
        n as f64 / dt
    });
    let rss = peak_rss_kb().map_or("null".to_owned(), |k| k.to_string());
    println!("{{\"rate\":{rate},\"max_rss_kb\":{rss}}}");
}

struct Apprise {
    version: String,
    rate: f64,
    max_rss_kb: Option<u64>,
    count: usize,
}

fn apprise(e: &Env, count: usize) -> Option<Apprise> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/python/apprise_webhook.py"
    );
    let port = e.sink.addr().port();
    let before = e.sink.accepted();
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(["--url", &format!("json://127.0.0.1:{port}/hook")])
        .args(["--count", &count.to_string()])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let line = String::from_utf8_lossy(&o.stdout).trim().to_owned();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let warmup = v["warmup"].as_u64().unwrap_or(0);
            let got = e.sink.accepted() - before;
            println!("apprise: {line}");
            assert_eq!(
                got,
                warmup + count as u64,
                "apprise: the sink received {got} requests, expected {warmup} warm-up + {count} timed"
            );
            Some(Apprise {
                version: v["version"].as_str().unwrap_or("?").to_owned(),
                rate: v["rate"].as_f64()?,
                max_rss_kb: v["max_rss_kb"].as_u64(),
                count,
            })
        }
        Ok(o) => {
            eprintln!(
                "apprise baseline skipped: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(err) => {
            eprintln!("apprise baseline skipped: python3: {err}");
            None
        }
    }
}

/// Our memory: this binary as a separate process, sequential SQLite outbox.
fn ours_in_a_process(e: &Env, n: usize) -> Option<(f64, Option<u64>)> {
    let exe = std::env::current_exe().ok()?;
    let before = e.sink.accepted();
    let out = std::process::Command::new(exe)
        .env(CHILD, e.sink.url())
        .env(CHILD_N, n.to_string())
        .env(CHILD_DB, e.dir.path().join(format!("child-{n}.db")))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "memory measurement failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    println!("separate process: {line}");
    let got = e.sink.accepted() - before;
    assert_eq!(
        got, n as u64,
        "separate process: the sink received {got} of {n}"
    );
    let v: serde_json::Value = serde_json::from_str(&line).ok()?;
    Some((v["rate"].as_f64()?, v["max_rss_kb"].as_u64()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// How a mode of the summary sends its notifications.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Through an outbox over SQLite (else `MemoryStore`) with `lanes` workers;
    /// `one_by_one` submits each notification on its own (see [`run_outbox`]).
    Outbox {
        sqlite: bool,
        lanes: usize,
        one_by_one: bool,
    },
    /// `WebhookNotifier::notify` from this many tasks, no outbox.
    Direct(usize),
    /// A bare `reqwest` client, one request at a time ([`run_reqwest`]).
    Reqwest,
    /// One-byte loopback round trips, not HTTP ([`tcp_round_trips`]).
    Tcp,
}

const SQLITE_SEQUENTIAL: Mode = Mode::Outbox {
    sqlite: true,
    lanes: 1,
    one_by_one: true,
};

const SQLITE_PARALLEL: Mode = Mode::Outbox {
    sqlite: true,
    lanes: LANE,
    one_by_one: false,
};

/// Timed runs of every mode, our memory in a separate process, then Apprise on the
/// same sink; prints a Markdown table.
fn summary() {
    const N: usize = 10_000;
    const ROUNDS: usize = 3;
    const APPRISE_N: usize = 3_000;
    let e = env();
    let url = e.sink.url();
    let modes: [(&str, Mode); 8] = [
        ("outbox on (SQLite, WAL), sequential", SQLITE_SEQUENTIAL),
        ("outbox off, sequential", Mode::Direct(1)),
        ("outbox on (SQLite, WAL), 16 in parallel", SQLITE_PARALLEL),
        (
            "outbox in memory, 16 in parallel",
            Mode::Outbox {
                sqlite: false,
                lanes: LANE,
                one_by_one: false,
            },
        ),
        ("outbox off, 16 in parallel", Mode::Direct(LANE)),
        (
            "outbox on (SQLite, WAL), 8 in parallel (the default lane_concurrency)",
            Mode::Outbox {
                sqlite: true,
                lanes: DEFAULT_LANE_CONCURRENCY,
                one_by_one: false,
            },
        ),
        // The ceilings of one request at a time on this machine, below any
        // channel code: the HTTP client alone, and a bare TCP round trip.
        (
            "reqwest alone (no channel, no outbox), sequential",
            Mode::Reqwest,
        ),
        (
            "TCP round trip, 1 byte each way, sequential (not HTTP)",
            Mode::Tcp,
        ),
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let direct = Arc::new(webhook(&url));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client");
    let hook = format!("{url}/hook");
    let body = serde_json::to_vec(&alert(0)).expect("alert JSON");
    for round in 0..ROUNDS {
        for (m, (name, mode)) in modes.iter().enumerate() {
            let before = e.sink.accepted();
            let t0 = Instant::now();
            e.rt.block_on(async {
                match *mode {
                    Mode::Outbox {
                        sqlite,
                        lanes,
                        one_by_one,
                    } => {
                        let store: Arc<dyn Store> = if sqlite {
                            Arc::new(
                                SqliteStore::open(
                                    e.dir.path().join(format!("summary-{round}-{m}.db")),
                                )
                                .expect("sqlite"),
                            )
                        } else {
                            Arc::new(MemoryStore::new())
                        };
                        let o = outbox(store, &url, lanes).await;
                        run_outbox(&o, N, one_by_one).await;
                        o.shutdown(Duration::from_secs(5)).await;
                    }
                    Mode::Direct(tasks) => run_direct(&direct, N, tasks).await,
                    Mode::Reqwest => run_reqwest(&client, &hook, &body, N).await,
                    Mode::Tcp => tcp_round_trips(N),
                }
            });
            let dt = t0.elapsed().as_secs_f64();
            let got = (e.sink.accepted() - before) as usize;
            // The TCP round trip does not go to the sink.
            let expected = if *mode == Mode::Tcp { 0 } else { N };
            assert_eq!(
                got, expected,
                "{name}: the sink received {got} of {expected}"
            );
            rates[m].push(N as f64 / dt);
        }
    }
    let rates: Vec<f64> = rates.into_iter().map(median).collect();
    let rate_of = |mode: Mode| {
        let i = modes.iter().position(|(_, m)| *m == mode);
        rates[i.expect("a timed mode")]
    };
    // The same process delivering 100 shows the fixed part (runtime, HTTP client,
    // TLS roots, SQLite, the binary's pages).
    let ours_small = ours_in_a_process(&e, 100);
    let ours = ours_in_a_process(&e, N);
    let ap = apprise(&e, APPRISE_N);

    let vs = |r: f64| {
        ap.as_ref()
            .map_or("-".to_owned(), |a| format!("{:.1}x", r / a.rate))
    };
    println!(
        "\nmedian of {ROUNDS} rounds of {N} notifications per mode (Apprise: one run of {APPRISE_N}, after 50 untimed warm-up sends)\n"
    );
    println!("| mode | rate (notifications/s) | vs Apprise |");
    println!("|---|---:|---:|");
    for ((name, _), rate) in modes.iter().zip(&rates) {
        println!("| {name} | {rate:.0} | {} |", vs(*rate));
    }
    if let Some((rate, _)) = &ours {
        println!(
            "| outbox on (SQLite, WAL), sequential, separate process | {rate:.0} | {} |",
            vs(*rate)
        );
    }
    if let Some(a) = &ap {
        println!(
            "| Apprise {} (Python), sequential, {} sends | {:.0} | 1.0x |",
            a.version, a.count, a.rate
        );
    }
    println!("\n| peak RSS of the sending process | MB |");
    println!("|---|---:|");
    let mb = |k: Option<u64>| k.map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
    println!(
        "| ours: SQLite outbox, sequential, {N} notifications | {} |",
        mb(ours.as_ref().and_then(|o| o.1))
    );
    println!(
        "| ours: the same, 100 notifications | {} |",
        mb(ours_small.as_ref().and_then(|o| o.1))
    );
    if let Some(a) = &ap {
        println!(
            "| Apprise {}: {} + 50 sends | {} |",
            a.version,
            a.count,
            mb(a.max_rss_kb)
        );
    }
    println!(
        "\ncost of durability (outbox on / off): sequential {:.2}, 16 in parallel {:.2}",
        rate_of(SQLITE_SEQUENTIAL) / rate_of(Mode::Direct(1)),
        rate_of(SQLITE_PARALLEL) / rate_of(Mode::Direct(LANE))
    );
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(url) = std::env::var(CHILD) {
        child(&url);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
