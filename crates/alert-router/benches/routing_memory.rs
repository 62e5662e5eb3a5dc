//! Memory per active alert, measured with a counting global allocator.
//!
//! ```text
//! cargo bench -p alert-router --bench routing_memory
//! ```
//!
//! It builds 10,000 alerts (counting what the alerts themselves take), sends them
//! to a router with 100 routes and the default in-memory store, and reports the
//! bytes the router and the store hold beyond the alerts: one group per alert
//! (the worst case) and 100 alerts per group. It does the same on a store that
//! keeps nothing, which gives the router's own share.
// A global allocator needs `unsafe impl GlobalAlloc`; it only forwards to the system
// allocator and counts.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use alert_core::{Alert, ConsoleNotifier, Severity};
use alert_router::store::{
    ActionQuery, ActionRecord, AlertEvent, AttemptQuery, Change, DeliveryAttempt, EventQuery,
    LogEntry, LogQuery, MemoryStore, Notification, PruneReport, ReceiptRecord, Retention, Snapshot,
    Store, StoreResult,
};
use alert_router::{Receiver, Route, Router};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as for `realloc` on the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

const N: usize = 10_000;

fn tree() -> Route {
    let mut root = Route::to("team").group_by(["alertname", "model", "instance"]);
    for i in 0..100 {
        root = root.route(Route::new().when(&format!("model = m{i}")));
    }
    root
}

fn alert(i: usize, per_group: usize) -> Alert {
    Alert::new(Severity::Error, "HighLatency")
        .with_summary("p99 latency above 500ms")
        .with_label("model", format!("m{}", (i / per_group) % 100))
        .with_label("instance", format!("i{}", i / per_group))
        .with_label("series", format!("s{i}"))
        .with_label("env", "prod")
}

/// A store that keeps nothing: what is left is the router's own state.
#[derive(Debug)]
struct DiscardStore;

#[alert_core::async_trait]
impl Store for DiscardStore {
    fn name(&self) -> &'static str {
        "discard"
    }
    async fn apply(&self, _: &[Change]) -> StoreResult<()> {
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

fn measure(per_group: usize, store: Arc<dyn Store>) -> (f64, f64, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let router = Router::builder()
            .store(store)
            .receiver(Receiver::new("team").channel(ConsoleNotifier::new("bench", std::io::sink())))
            .route(tree())
            .manual_ticks()
            .build()
            .await
            .expect("router");
        // Warm up maps and the runtime with one alert, then forget it.
        router.send(alert(N + 1, 1)).await.expect("send");
        let before_alerts = live();
        let alerts: Vec<Alert> = (0..N).map(|i| alert(i, per_group)).collect();
        // The vector's buffer holds the `Alert` structs; `send_batch` moves each one
        // into an `Arc` and frees the buffer before it returns. So the buffer is
        // neither part of the alerts' own heap nor of what the router adds.
        let buffer = (alerts.capacity() * size_of::<Alert>()) as isize;
        // The alerts' own heap: strings and label maps.
        let own_heap = (live() - before_alerts - buffer) as f64 / N as f64;
        // As if the buffer were already gone.
        let before = live() - buffer;
        router.send_batch(alerts).await.expect("send");
        let after = live();
        let groups = router.stats().groups as usize;
        // The router keeps each alert in an `Arc`: the struct plus two counters.
        // That box and the alert's own heap are "the alert itself".
        let arc_box = (size_of::<Alert>() + 16) as f64;
        let per_alert = (after - before) as f64 / N as f64;
        router.shutdown(Duration::from_millis(10)).await;
        (own_heap + arc_box, per_alert - arc_box, groups)
    })
}

#[allow(clippy::print_stdout)] // a measurement binary: its output is the result
fn main() {
    for per_group in [1usize, 100] {
        let (alert_size, beyond, groups) = measure(per_group, Arc::new(MemoryStore::new()));
        let (_, router_only, _) = measure(per_group, Arc::new(DiscardStore));
        println!(
            "{N} alerts, {groups} groups ({per_group} per group): alert itself {alert_size:.0} B \
             (size_of::<Alert>() = {} B), router + store beyond the alert {beyond:.0} B per \
             active alert (router {router_only:.0} B, in-memory store {:.0} B)",
            size_of::<Alert>(),
            beyond - router_only
        );
    }
}
