//! Store writes stay complete and in order when callers give up (cancelled
//! requests) while the store is slow; concurrent requests share a transaction
//! (group commit), and a shared transaction the store refuses fails each caller
//! and loses nothing. What the store prepares of each request's changes before
//! its turn reaches the write beside those changes. The outbox resumes a large
//! backlog a page at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use alert_core::{Alert, ConsoleNotifier, Severity, Timestamp};
use alert_router::delivery::{Outbox, new_notification_id};
use alert_router::store::{
    ActionQuery, ActionRecord, AlertEvent, AttemptQuery, Change, DeadLetter, DeadLetterQuery,
    DeliveryAttempt, EventQuery, LogEntry, LogQuery, Notification, NotificationKind, Prepared,
    PruneReport, ReceiptRecord, Retention, Snapshot, Store, StoreError, StoreResult,
};
use alert_router::{MemoryStore, Receiver, Router, RouterError};

/// A memory store whose writes hang while `slow` is set, fail while `fail` is set,
/// and are counted. It prepares each run of changes as their `Debug` text, and
/// checks that each prepared part reaches `apply_prepared` at its run's place.
#[derive(Debug, Default)]
struct SlowStore {
    inner: MemoryStore,
    slow: AtomicBool,
    fail: AtomicBool,
    applies: AtomicUsize,
    /// Prepared parts that reached a write, and those that did not match the
    /// changes at their place.
    parts: AtomicUsize,
    misplaced: AtomicUsize,
    /// `pending_outbox` calls that read the whole outbox, and the largest page
    /// `pending_outbox_after` returned.
    whole_reads: AtomicUsize,
    largest_page: AtomicUsize,
}

#[async_trait::async_trait]
impl Store for SlowStore {
    fn name(&self) -> &'static str {
        "slow"
    }
    fn prepare(&self, changes: &[Change]) -> Option<Prepared> {
        Some(Prepared::new(changes.len(), texts(changes)))
    }
    async fn apply_prepared(
        &self,
        changes: &[Change],
        parts: Vec<(usize, Prepared)>,
    ) -> StoreResult<()> {
        let mut done = 0;
        for (start, part) in parts {
            let end = start + part.len();
            let placed = start >= done
                && end <= changes.len()
                && part
                    .into_form::<Vec<String>>()
                    .is_ok_and(|t| t == texts(&changes[start..end]));
            if !placed {
                self.misplaced.fetch_add(1, Ordering::SeqCst);
            }
            self.parts.fetch_add(1, Ordering::SeqCst);
            done = end;
        }
        self.apply(changes).await
    }
    async fn apply(&self, changes: &[Change]) -> StoreResult<()> {
        while self.slow.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Give concurrent writers a chance to overtake (they must not).
        tokio::task::yield_now().await;
        self.applies.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                store: "slow",
                message: "database or disk is full".into(),
            });
        }
        self.inner.apply(changes).await
    }
    async fn load(&self) -> StoreResult<Snapshot> {
        self.inner.load().await
    }
    async fn last_notification(&self, r: &str, c: &str, g: &str) -> StoreResult<Option<LogEntry>> {
        self.inner.last_notification(r, c, g).await
    }
    async fn receipt(&self, r: &str, c: &str, g: &str) -> StoreResult<Option<ReceiptRecord>> {
        self.inner.receipt(r, c, g).await
    }
    async fn query_log(&self, q: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        self.inner.query_log(q).await
    }
    async fn pending_outbox(&self, limit: usize) -> StoreResult<Vec<Notification>> {
        if limit == 0 {
            self.whole_reads.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.pending_outbox(limit).await
    }
    async fn pending_outbox_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        let page = self.inner.pending_outbox_after(after, limit).await?;
        self.largest_page.fetch_max(page.len(), Ordering::SeqCst);
        Ok(page)
    }
    async fn query_attempts(&self, q: &AttemptQuery) -> StoreResult<Vec<DeliveryAttempt>> {
        self.inner.query_attempts(q).await
    }
    async fn query_events(&self, q: &EventQuery) -> StoreResult<Vec<AlertEvent>> {
        self.inner.query_events(q).await
    }
    async fn query_actions(&self, q: &ActionQuery) -> StoreResult<Vec<ActionRecord>> {
        self.inner.query_actions(q).await
    }
    async fn prune(&self, r: &Retention) -> StoreResult<PruneReport> {
        self.inner.prune(r).await
    }
    async fn dead_letters(&self, q: &DeadLetterQuery) -> StoreResult<Vec<DeadLetter>> {
        self.inner.dead_letters(q).await
    }
}

fn texts(changes: &[Change]) -> Vec<String> {
    changes.iter().map(|c| format!("{c:?}")).collect()
}

/// Every prepared part reached the write at its run's place.
fn assert_well_placed(store: &SlowStore) {
    assert_eq!(store.misplaced.load(Ordering::SeqCst), 0, "misplaced parts");
}

fn a(name: &str) -> Alert {
    Alert::new(Severity::Error, name)
}

async fn stored_names(store: &SlowStore) -> Vec<String> {
    let mut v: Vec<String> = store
        .load()
        .await
        .unwrap()
        .alerts
        .iter()
        .map(|r| r.alert.name.clone())
        .collect();
    v.sort();
    v
}

/// Sends `a(name)` from a task of its own.
fn spawn_send(
    router: &Router,
    name: &'static str,
) -> tokio::task::JoinHandle<Result<(), RouterError>> {
    let r = router.clone();
    tokio::spawn(async move { r.send(a(name)).await })
}

async fn router(store: Arc<SlowStore>) -> Router {
    Router::builder()
        .receiver(Receiver::new("me").channel(ConsoleNotifier::new("t", std::io::sink())))
        .store(store)
        .manual_ticks()
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_request_cancelled_during_a_slow_write_loses_nothing() {
    let store = Arc::new(SlowStore::default());
    let router = router(store.clone()).await;
    store.slow.store(true, Ordering::SeqCst);
    // The caller gives up while its write hangs.
    let r = tokio::time::timeout(Duration::from_millis(50), router.send(a("A"))).await;
    assert!(r.is_err(), "the send should still be waiting on the store");
    store.slow.store(false, Ordering::SeqCst);
    router.send(a("B")).await.unwrap();
    assert_eq!(stored_names(&store).await, ["A", "B"]);
    assert_well_placed(&store);
    router.shutdown(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn a_request_cancelled_while_waiting_its_turn_neither_blocks_nor_loses() {
    let store = Arc::new(SlowStore::default());
    let router = router(store.clone()).await;
    store.slow.store(true, Ordering::SeqCst);
    let first = spawn_send(&router, "A");
    tokio::time::sleep(Duration::from_millis(20)).await;
    // B waits behind A's hanging write, then its caller gives up.
    let r = tokio::time::timeout(Duration::from_millis(50), router.send(a("B"))).await;
    assert!(r.is_err());
    store.slow.store(false, Ordering::SeqCst);
    first.await.unwrap().unwrap();
    // C is not blocked by B's abandoned turn, and B's alert is written with it.
    tokio::time::timeout(Duration::from_secs(5), router.send(a("C")))
        .await
        .expect("C is not stuck behind an abandoned write")
        .unwrap();
    assert_eq!(stored_names(&store).await, ["A", "B", "C"]);
    assert_well_placed(&store);
    router.shutdown(Duration::from_millis(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_one_alert_are_stored_in_the_order_they_were_made() {
    let store = Arc::new(SlowStore::default());
    let router = router(store.clone()).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let r = router.clone();
        tasks.push(tokio::spawn(async move {
            r.send(a("X").with_summary(format!("update {i}"))).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // Whatever order the updates arrived in, the store holds the one the router
    // holds.
    let in_router = router.alerts(&Default::default())[0].alert.summary.clone();
    let snap = store.load().await.unwrap();
    assert_eq!(snap.alerts.len(), 1);
    assert_eq!(snap.alerts[0].alert.summary, in_router);
    assert_well_placed(&store);
    router.shutdown(Duration::from_millis(10)).await;
}

/// Requests that wait while another one writes share one transaction when their
/// turn comes (group commit), in the order the router made their changes.
#[tokio::test]
async fn requests_waiting_behind_a_write_share_one_transaction() {
    let store = Arc::new(SlowStore::default());
    let router = router(store.clone()).await;
    store.slow.store(true, Ordering::SeqCst);
    let before = store.applies.load(Ordering::SeqCst);
    let parts_before = store.parts.load(Ordering::SeqCst);
    let first = spawn_send(&router, "A");
    tokio::time::sleep(Duration::from_millis(20)).await;
    // B, C and D queue behind A's hanging write.
    let rest = [
        spawn_send(&router, "B"),
        spawn_send(&router, "C"),
        spawn_send(&router, "D"),
    ];
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.slow.store(false, Ordering::SeqCst);
    first.await.unwrap().unwrap();
    for t in rest {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        store.applies.load(Ordering::SeqCst) - before,
        2,
        "A's transaction, then one for B, C and D"
    );
    assert_eq!(
        store.parts.load(Ordering::SeqCst) - parts_before,
        4,
        "each request's changes were prepared before its turn, and written with it"
    );
    assert_eq!(stored_names(&store).await, ["A", "B", "C", "D"]);
    assert_well_placed(&store);
    router.shutdown(Duration::from_millis(10)).await;
}

/// A shared transaction the store refuses fails every request it carried, each
/// with the store's reason, and loses nothing: the changes are written first by
/// the next write that succeeds.
#[tokio::test]
async fn a_refused_shared_transaction_fails_each_request_and_loses_nothing() {
    let store = Arc::new(SlowStore::default());
    let router = router(store.clone()).await;
    store.slow.store(true, Ordering::SeqCst);
    let first = spawn_send(&router, "A");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let rest = [spawn_send(&router, "B"), spawn_send(&router, "C")];
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.fail.store(true, Ordering::SeqCst);
    store.slow.store(false, Ordering::SeqCst);
    let mut errors = vec![first.await.unwrap().unwrap_err()];
    for t in rest {
        errors.push(t.await.unwrap().unwrap_err());
    }
    for e in &errors {
        assert!(
            matches!(e, RouterError::Store(StoreError::Unavailable { store: "slow", message })
                if message == "database or disk is full"),
            "{e:?}"
        );
    }
    assert!(stored_names(&store).await.is_empty());
    store.fail.store(false, Ordering::SeqCst);
    router.send(a("D")).await.unwrap();
    assert_eq!(stored_names(&store).await, ["A", "B", "C", "D"]);
    assert_well_placed(&store);
    router.shutdown(Duration::from_millis(10)).await;
}

/// A backlog left by a long outage is resumed a page at a time: the outbox never
/// reads the whole outbox at start-up, keeps only its memory limit's worth in
/// memory, and delivers every entry in order.
#[tokio::test]
async fn a_large_backlog_is_resumed_a_page_at_a_time() {
    let store = Arc::new(SlowStore::default());
    let backlog: Vec<Change> = (0..1000)
        .map(|i| {
            Change::Enqueue(Notification::new(
                new_notification_id(),
                "me",
                "mem",
                format!("g{i}"),
                NotificationKind::Group,
                vec![a(&format!("N{i:04}"))],
                Severity::Error,
                Timestamp::now(),
            ))
        })
        .collect();
    store.apply(&backlog).await.unwrap();
    let mem = alert_testkit::MemoryNotifier::new("mem");
    let outbox = Outbox::builder(store.clone())
        .channel("me", "mem", Arc::new(mem.clone()))
        .lane_concurrency(1)
        .memory_limit(10)
        .start()
        .await
        .unwrap();
    assert_eq!(outbox.stats().resumed, 1000);
    assert_eq!(store.whole_reads.load(Ordering::SeqCst), 0, "no whole read");
    let largest = store.largest_page.load(Ordering::SeqCst);
    assert!(
        (1..=256).contains(&largest),
        "pages of at most 256: {largest}"
    );
    assert!(outbox.stats().in_memory <= 10, "{:?}", outbox.stats());
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    let names: Vec<String> = mem.alerts().into_iter().map(|a| a.name).collect();
    let want: Vec<String> = (0..1000).map(|i| format!("N{i:04}")).collect();
    assert_eq!(names, want, "every entry, in order");
    outbox.shutdown(Duration::from_secs(5)).await;
}
