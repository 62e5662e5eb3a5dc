//! Sustained delivery to a local webhook sink: the SQLite outbox on, the in-memory
//! outbox, no outbox (direct concurrent sends), one-at-a-time sends, and Apprise
//! (Python) posting to the same sink in the same run.
//!
//! ```text
//! cargo bench -p alert-router --features sqlite --bench delivery
//! ```
//!
//! Criterion measures each Rust mode; after it, a summary phase times 10,000
//! notifications per mode once and runs `benches/python/apprise_webhook.py`
//! (needs `pip install apprise`) against the same sink, then prints the rates and
//! ratios as a Markdown table (figures go to `docs/bench/delivery.md`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use alert_core::{Alert, Notifier, Severity, Timestamp};
use alert_router::delivery::{Outbox, new_notification_id};
use alert_router::store::{MemoryStore, Notification, NotificationKind, SqliteStore, Store};
use alert_webhook::fake::FakeWebhook;
use alert_webhook::{WebhookConfig, WebhookNotifier};
use criterion::{Criterion, Throughput, criterion_group};
use tokio::runtime::Runtime;

const BATCH: usize = 1000;
const LANE: usize = 16;

struct Env {
    sink: FakeWebhook,
    _sink_rt: Runtime,
    rt: Runtime,
    dir: tempfile::TempDir,
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    Env {
        sink,
        _sink_rt: sink_rt,
        rt,
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

async fn outbox(store: Arc<dyn Store>, url: &str) -> Outbox {
    Outbox::builder(store)
        .channel("team", "hook", Arc::new(webhook(url)))
        .lane_concurrency(LANE)
        .start()
        .await
        .expect("outbox")
}

/// Submits `n` notifications in batches of 100 and waits until all are delivered
/// and recorded.
async fn run_outbox(o: &Outbox, n: usize) {
    let mut i = 0;
    while i < n {
        let k = (n - i).min(100);
        o.submit_many((i..i + k).map(notification).collect())
            .await
            .expect("submit");
        i += k;
    }
    assert!(
        o.wait_idle(Duration::from_secs(300)).await,
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

fn bench(c: &mut Criterion) {
    let e = env();
    let url = e.sink.url();
    let mut g = c.benchmark_group("delivery");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));

    let sqlite: Arc<dyn Store> =
        Arc::new(SqliteStore::open(e.dir.path().join("bench.db")).expect("sqlite"));
    let o = e.rt.block_on(outbox(sqlite, &url));
    g.bench_function("outbox_sqlite", |b| {
        b.iter_custom(|iters| {
            e.rt.block_on(async {
                let t0 = Instant::now();
                for _ in 0..iters {
                    run_outbox(&o, BATCH).await;
                }
                t0.elapsed()
            })
        })
    });
    e.rt.block_on(o.shutdown(Duration::from_secs(5)));

    let o = e.rt.block_on(outbox(Arc::new(MemoryStore::new()), &url));
    g.bench_function("outbox_memory", |b| {
        b.iter_custom(|iters| {
            e.rt.block_on(async {
                let t0 = Instant::now();
                for _ in 0..iters {
                    run_outbox(&o, BATCH).await;
                }
                t0.elapsed()
            })
        })
    });
    e.rt.block_on(o.shutdown(Duration::from_secs(5)));

    let direct = Arc::new(webhook(&url));
    g.bench_function("no_outbox_concurrent", |b| {
        b.iter_custom(|iters| {
            e.rt.block_on(async {
                let t0 = Instant::now();
                for _ in 0..iters {
                    run_direct(&direct, BATCH, LANE).await;
                }
                t0.elapsed()
            })
        })
    });
    g.bench_function("no_outbox_sequential", |b| {
        b.iter_custom(|iters| {
            e.rt.block_on(async {
                let t0 = Instant::now();
                for _ in 0..iters {
                    run_direct(&direct, BATCH, 1).await;
                }
                t0.elapsed()
            })
        })
    });
    g.finish();
}

/// One timed run per mode, then Apprise on the same sink; prints a Markdown table.
fn summary() {
    const N: usize = 10_000;
    const APPRISE_N: usize = 2_000;
    let e = env();
    let url = e.sink.url();
    let mut rows: Vec<(String, usize, f64)> = Vec::new();
    let mut time = |name: &str, n: usize, f: &mut dyn FnMut()| {
        let before = e.sink.accepted();
        let t0 = Instant::now();
        f();
        let dt = t0.elapsed().as_secs_f64();
        let got = (e.sink.accepted() - before) as usize;
        assert_eq!(got, n, "{name}: the sink received {got} of {n}");
        rows.push((name.to_owned(), n, n as f64 / dt));
    };
    let sqlite: Arc<dyn Store> =
        Arc::new(SqliteStore::open(e.dir.path().join("summary.db")).expect("sqlite"));
    let o = e.rt.block_on(outbox(sqlite, &url));
    time("outbox on (SQLite, WAL)", N, &mut || {
        e.rt.block_on(run_outbox(&o, N))
    });
    e.rt.block_on(o.shutdown(Duration::from_secs(5)));
    let o = e.rt.block_on(outbox(Arc::new(MemoryStore::new()), &url));
    time("outbox in memory", N, &mut || {
        e.rt.block_on(run_outbox(&o, N))
    });
    e.rt.block_on(o.shutdown(Duration::from_secs(5)));
    let direct = Arc::new(webhook(&url));
    time(&format!("outbox off ({LANE} concurrent)"), N, &mut || {
        e.rt.block_on(run_direct(&direct, N, LANE))
    });
    time("outbox off, one at a time", N, &mut || {
        e.rt.block_on(run_direct(&direct, N, 1))
    });

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/python/apprise_webhook.py"
    );
    let port = e.sink.addr().port();
    let before = e.sink.accepted();
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(["--url", &format!("json://127.0.0.1:{port}/hook")])
        .args(["--count", &APPRISE_N.to_string()])
        .output();
    let apprise: Option<(f64, String)> = match out {
        Ok(o) if o.status.success() => {
            let line = String::from_utf8_lossy(&o.stdout).trim().to_owned();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let got = e.sink.accepted() - before;
            println!("apprise: {line} (the sink received {got} requests)");
            v["rate"]
                .as_f64()
                .map(|r| (r, v["version"].as_str().unwrap_or("?").to_owned()))
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
    };
    let on = rows[0].2;
    let off = rows[2].2;
    println!("\n| mode | notifications | rate (notifications/s) | vs Apprise |");
    println!("|---|---:|---:|---:|");
    for (name, n, rate) in &rows {
        let vs = apprise
            .as_ref()
            .map_or("-".to_owned(), |(a, _)| format!("{:.1}x", rate / a));
        println!("| {name} | {n} | {rate:.0} | {vs} |");
    }
    if let Some((a, v)) = &apprise {
        println!("| Apprise {v} (Python, one at a time) | {APPRISE_N} | {a:.0} | 1.0x |");
    }
    println!("\ncost of durability: outbox on / off = {:.2}", on / off);
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
