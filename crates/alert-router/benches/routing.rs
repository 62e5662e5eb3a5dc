//! Routing decision + group/dedup bookkeeping for one alert, with 100 routes and
//! 10,000 active groups, through the public `Router::send` (in-memory store, no
//! timer task). Figures and the command are in `docs/bench/alert-router.md`.
//!
//! ```text
//! cargo bench -p alert-router --bench routing
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use alert_core::{Alert, ConsoleNotifier, Severity, Timestamp};
use std::sync::Arc;

use alert_router::store::{
    ActionQuery, ActionRecord, AlertEvent, AttemptQuery, Change, DeliveryAttempt, EventQuery,
    LogEntry, LogQuery, Notification, PruneReport, ReceiptRecord, Retention, Snapshot, Store,
    StoreResult,
};
use alert_router::{MemoryStore, Receiver, Route, Router};
use criterion::{Criterion, criterion_group, criterion_main};

const ROUTES: usize = 100;
const GROUPS: usize = 10_000;

/// 100 child routes under the root: each matches its model, every 10th also needs
/// `severity >= error`, every 7th matches by regex; all group by
/// `alertname, model, instance`.
fn tree() -> Route {
    let mut root = Route::to("team")
        .group_by(["alertname", "model", "instance"])
        .group_wait(Duration::from_secs(30))
        .group_interval(Duration::from_secs(300));
    for i in 0..ROUTES {
        let mut r = if i % 7 == 0 {
            Route::new().when(&format!("model =~ \"m{i}|x-{i}-.*\""))
        } else {
            Route::new().when(&format!("model = m{i}"))
        };
        if i % 10 == 0 {
            r = r.when("severity >= error");
        }
        root = root.route(r.receiver(if i % 2 == 0 { "team" } else { "oncall" }));
    }
    root
}

fn alert(instance: usize, series: usize) -> Alert {
    Alert::new(Severity::Critical, "HighLatency")
        .with_summary("p99 latency above 500ms")
        .with_label("model", format!("m{}", instance % ROUTES))
        .with_label("instance", format!("i{instance}"))
        .with_label("series", format!("s{series}"))
        .with_label("env", "prod")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A store that keeps nothing: isolates routing and bookkeeping from persistence.
#[derive(Debug)]
struct DiscardStore;

#[alert_core::async_trait]
impl Store for DiscardStore {
    fn name(&self) -> &'static str {
        "discard"
    }
    async fn apply(&self, changes: &[Change]) -> StoreResult<()> {
        black_box(changes);
        Ok(())
    }
    async fn load(&self) -> StoreResult<Snapshot> {
        Ok(Snapshot::default())
    }
    async fn last_notification(&self, _: &str, _: &str, _: &str) -> StoreResult<Option<LogEntry>> {
        Ok(None)
    }
    async fn receipt(&self, _: &str, _: &str, _: &str) -> StoreResult<Option<ReceiptRecord>> {
        Ok(None)
    }
    async fn query_log(&self, _: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        Ok(Vec::new())
    }
    async fn pending_outbox(&self, _: usize) -> StoreResult<Vec<Notification>> {
        Ok(Vec::new())
    }
    async fn query_attempts(&self, _: &AttemptQuery) -> StoreResult<Vec<DeliveryAttempt>> {
        Ok(Vec::new())
    }
    async fn query_events(&self, _: &EventQuery) -> StoreResult<Vec<AlertEvent>> {
        Ok(Vec::new())
    }
    async fn query_actions(&self, _: &ActionQuery) -> StoreResult<Vec<ActionRecord>> {
        Ok(Vec::new())
    }
    async fn prune(&self, _: &Retention) -> StoreResult<PruneReport> {
        Ok(PruneReport::default())
    }
}

/// A router with `GROUPS` active groups (one alert each), on the in-memory store
/// or, with `discard`, on a store that keeps nothing.
fn loaded(rt: &tokio::runtime::Runtime, discard: bool) -> Router {
    rt.block_on(async {
        let sink = || ConsoleNotifier::new("bench", std::io::sink());
        let store: Arc<dyn Store> = if discard {
            Arc::new(DiscardStore)
        } else {
            Arc::new(MemoryStore::new())
        };
        let router = Router::builder()
            .store(store)
            .receiver(Receiver::new("team").channel(sink()))
            .receiver(Receiver::new("oncall").channel(sink()))
            .route(tree())
            .manual_ticks()
            .build()
            .await
            .expect("router");
        for i in 0..GROUPS {
            router.send(alert(i, 0)).await.expect("send");
        }
        assert_eq!(router.stats().groups as usize, GROUPS);
        router
    })
}

/// Sends `alerts` one by one; the time it took.
fn send_all(rt: &tokio::runtime::Runtime, router: &Router, alerts: Vec<Alert>) -> Duration {
    rt.block_on(async {
        let t = Instant::now();
        for a in alerts {
            router.send(black_box(a)).await.expect("send");
        }
        t.elapsed()
    })
}

fn bench(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("ingest_100_routes_10k_groups");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));

    for (label, discard) in [("memory_store", false), ("no_store", true)] {
        g.bench_function(format!("new_alert_existing_group/{label}"), |b| {
            b.iter_custom(|iters| {
                let router = loaded(&rt, discard);
                let alerts: Vec<Alert> = (0..iters as usize)
                    .map(|k| alert(k % GROUPS, 1 + k / GROUPS))
                    .collect();
                send_all(&rt, &router, alerts)
            })
        });
    }

    g.bench_function("new_alert_new_group", |b| {
        b.iter_custom(|iters| {
            let router = loaded(&rt, false);
            let alerts: Vec<Alert> = (0..iters as usize).map(|k| alert(GROUPS + k, 0)).collect();
            send_all(&rt, &router, alerts)
        })
    });

    g.bench_function("duplicate_of_active_alert", |b| {
        let router = loaded(&rt, false);
        let alerts: Vec<Alert> = (0..GROUPS).map(|i| alert(i, 0)).collect();
        let mut k = 0usize;
        b.iter_custom(|iters| {
            let batch: Vec<Alert> = (0..iters as usize)
                .map(|_| {
                    k = (k + 1) % GROUPS;
                    alerts[k].clone()
                })
                .collect();
            send_all(&rt, &router, batch)
        })
    });

    // A re-send as the Alertmanager API makes it: the same alert with a later
    // `starts_at` (the time it was received, when the sender gives none).
    g.bench_function("resend_of_active_alert", |b| {
        let router = loaded(&rt, false);
        let start = Timestamp::now();
        let alerts: Vec<Alert> = (0..GROUPS)
            .map(|i| {
                let mut a = alert(i, 0);
                a.starts_at = Some(start);
                a
            })
            .collect();
        // Each alert as first received, with its `starts_at`; what follows are
        // re-sends, which keep it.
        send_all(&rt, &router, alerts.clone());
        let mut k = 0usize;
        let mut at = start;
        b.iter_custom(|iters| {
            let batch: Vec<Alert> = (0..iters as usize)
                .map(|_| {
                    k = (k + 1) % GROUPS;
                    at = at.saturating_add(Duration::from_millis(1));
                    let mut a = alerts[k].clone();
                    a.starts_at = Some(at);
                    a
                })
                .collect();
            send_all(&rt, &router, batch)
        })
    });

    // 40 batches per router, so every measurement sees 10,000 to 14,000 alerts, as
    // the single-alert cases do (growing the maps past that is measured apart).
    g.bench_function("batch_of_100_new_alerts_per_alert", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut k = 0usize;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(40);
                left -= n;
                let router = loaded(&rt, false);
                let batches: Vec<Vec<Alert>> = (0..n)
                    .map(|_| {
                        k += 1;
                        (0..100)
                            .map(|j| alert((k * 100 + j) % GROUPS, 1 + k))
                            .collect()
                    })
                    .collect();
                total += rt.block_on(async {
                    let t = Instant::now();
                    for batch in batches {
                        router.send_batch(black_box(batch)).await.expect("send");
                    }
                    t.elapsed()
                });
            }
            total / 100
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
