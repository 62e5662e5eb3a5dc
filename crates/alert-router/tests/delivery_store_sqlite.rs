//! `SqliteStore` passes the shared store suite, survives reopening, fails clearly
//! (never silently) when the database is locked, read-only or full, and sets aside
//! a record it cannot read instead of failing on it.

use std::sync::Arc;
use std::time::Duration;

use alert_core::{Alert, Notifier, Receipt, Severity, Timestamp, async_trait};
use alert_router::delivery::Outbox;
use alert_router::store::{
    AlertRecord, AttemptOutcome, AttemptQuery, Change, LogEntry, LogKind, Notification,
    NotificationKind, Retention, SqliteOptions, SqliteStore, Store, StoreError, testsuite,
};

fn notification(id: &str, body: &str) -> Notification {
    Notification::new(
        id,
        "team",
        "webhook",
        "g1",
        NotificationKind::Group,
        vec![Alert::new(Severity::Warning, "DataDrift").with_message(body)],
        Severity::Warning,
        Timestamp::from_unix_seconds(1_800_000_000).unwrap(),
    )
}

/// Opens the store at `path`, enqueues `(id, body)` notifications and closes it.
async fn enqueue_and_close(path: &std::path::Path, notes: &[(&str, &str)]) {
    let store = SqliteStore::open(path).unwrap();
    let changes: Vec<Change> = notes
        .iter()
        .map(|(id, body)| Change::Enqueue(notification(id, body)))
        .collect();
    store.apply(&changes).await.unwrap();
}

/// The ids of the store's pending outbox entries, in order.
async fn pending_ids(store: &SqliteStore) -> Vec<String> {
    store
        .pending_outbox(0)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect()
}

fn opts(busy: Duration) -> SqliteOptions {
    let mut o = SqliteOptions::default();
    o.busy_timeout = busy;
    o
}

#[tokio::test]
async fn passes_the_shared_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("state.db")).unwrap();
    testsuite::run(&store).await;
}

#[tokio::test]
async fn uses_wal_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/state.db");
    enqueue_and_close(&path, &[("a", "x"), ("b", "y")]).await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    let pending = store.pending_outbox(0).await.unwrap();
    assert_eq!(
        pending,
        vec![notification("a", "x"), notification("b", "y")]
    );
}

#[tokio::test]
async fn a_locked_database_is_a_clear_error_and_nothing_is_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open_with(&path, opts(Duration::from_millis(200))).unwrap();
    store
        .apply(&[Change::Enqueue(notification("before", "x"))])
        .await
        .unwrap();

    // Another process (here: another connection) holds the write lock.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = store
        .apply(&[
            Change::Enqueue(notification("during-1", "x")),
            Change::Enqueue(notification("during-2", "x")),
        ])
        .await
        .unwrap_err();
    match &err {
        StoreError::Unavailable { store, message } => {
            assert_eq!(*store, "sqlite");
            assert!(message.contains("locked"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        err.to_string().contains("store `sqlite` unavailable"),
        "{err}"
    );
    other.execute_batch("COMMIT").unwrap();
    drop(other);

    // Nothing of the failed batch was written; the store works again.
    let ids = pending_ids(&store).await;
    assert_eq!(ids, ["before"]);
    store
        .apply(&[Change::Enqueue(notification("after", "x"))])
        .await
        .unwrap();
    assert_eq!(store.pending_outbox(0).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_read_only_database_refuses_writes_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    SqliteStore::open(&path)
        .unwrap()
        .apply(&[Change::Enqueue(notification("a", "x"))])
        .await
        .unwrap();
    let mut o = SqliteOptions::default();
    o.read_only = true;
    let ro = SqliteStore::open_with(&path, o).unwrap();
    assert_eq!(ro.pending_outbox(0).await.unwrap().len(), 1, "reads work");
    let err = ro
        .apply(&[Change::Enqueue(notification("b", "x"))])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable { message, .. } if message.contains("read-only")),
        "{err:?}"
    );
    // A file that is not a database is reported as corrupt, not a panic.
    let bogus = dir.path().join("bogus.db");
    std::fs::write(&bogus, vec![b'x'; 8192]).unwrap();
    let err = SqliteStore::open(&bogus).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[tokio::test]
async fn a_full_disk_is_a_clear_error_and_earlier_data_stays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut o = SqliteOptions::default();
    o.max_page_count = Some(64); // 64 pages of 4 KiB: a tiny "disk"
    let store = Arc::new(SqliteStore::open_with(&path, o).unwrap());
    let big = "x".repeat(4000);
    let mut stored = 0usize;
    let err = loop {
        match store
            .apply(&[Change::Enqueue(notification(&format!("n{stored}"), &big))])
            .await
        {
            Ok(()) => stored += 1,
            Err(e) => break e,
        }
        assert!(stored < 1000, "the page cap was not enforced");
    };
    assert!(
        stored > 5,
        "some notifications fit before the disk filled ({stored})"
    );
    assert!(
        matches!(&err, StoreError::Unavailable { message, .. } if message.contains("full")),
        "{err:?}"
    );
    let pending = store.pending_outbox(0).await.unwrap();
    assert_eq!(
        pending.len(),
        stored,
        "everything acknowledged is still there"
    );
    // Freeing space (delivering) makes room again.
    store
        .apply(&[Change::Dequeue("n0".into()), Change::Dequeue("n1".into())])
        .await
        .unwrap();
    store
        .apply(&[Change::Enqueue(notification("again", "small"))])
        .await
        .unwrap();
}

/// A channel that reports each call and waits for the test's go-ahead.
#[derive(Debug)]
struct Gated {
    called: tokio::sync::mpsc::UnboundedSender<()>,
    go: Arc<tokio::sync::Semaphore>,
}

#[async_trait]
impl Notifier for Gated {
    fn name(&self) -> &str {
        "gated"
    }
    async fn notify_group(&self, _: &[Alert]) -> alert_core::Result<Receipt> {
        let _ = self.called.send(());
        self.go.acquire().await.expect("open").forget();
        Ok(Receipt::new("gated").with_id("provider-1"))
    }
    async fn notify(&self, alert: &Alert) -> alert_core::Result<Receipt> {
        self.notify_group(std::slice::from_ref(alert)).await
    }
}

/// An outbox over `store` whose one channel (`team`/`webhook`) is [`Gated`]: the
/// calls it reports, the semaphore that lets them go, and the builder.
fn gated_outbox(
    store: Arc<SqliteStore>,
) -> (
    tokio::sync::mpsc::UnboundedReceiver<()>,
    Arc<tokio::sync::Semaphore>,
    alert_router::delivery::OutboxBuilder,
) {
    let (called_tx, called) = tokio::sync::mpsc::unbounded_channel();
    let go = Arc::new(tokio::sync::Semaphore::new(0));
    let builder = Outbox::builder(store).channel(
        "team",
        "webhook",
        Arc::new(Gated {
            called: called_tx,
            go: go.clone(),
        }),
    );
    (called, go, builder)
}

/// The database is locked by another process while a delivery is in flight, so
/// its outcome cannot be written: the outbox says so clearly (stats), keeps the
/// notification pending (a crash now would re-send it, never lose it), and records
/// the outcome once the lock is released.
#[tokio::test]
async fn the_outbox_survives_a_database_locked_mid_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Arc::new(SqliteStore::open_with(&path, opts(Duration::from_millis(50))).unwrap());
    let (mut called, go, builder) = gated_outbox(store.clone());
    let outbox = builder.start().await.unwrap();
    outbox.submit(notification("n1", "body")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), called.recv())
        .await
        .expect("the channel was called")
        .expect("open");
    // Another process takes the write lock while the channel is sending.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    go.add_permits(1);
    // The failed write of the outcome shows, with SQLite's reason.
    let mut last = None;
    for _ in 0..6000 {
        last = outbox.stats().last_store_error;
        if last.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let last = last.expect("the failed outcome write is reported");
    assert!(
        last.starts_with(
            "store `sqlite` unavailable: database is locked by another connection or process"
        ),
        "{last}"
    );
    assert!(outbox.stats().store_errors >= 1);
    // Still pending in the database: nothing is lost if the process dies now.
    let pending = store.pending_outbox(0).await.unwrap();
    assert_eq!(
        pending.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["n1"]
    );
    assert!(!outbox.wait_idle(Duration::from_millis(1)).await);
    // The lock goes away: the outcome is recorded.
    other.execute_batch("COMMIT").unwrap();
    drop(other);
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
    let attempts = store
        .query_attempts(&AttemptQuery::default())
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        (
            attempts[0].outcome,
            attempts[0].attempt,
            attempts[0].receipt.as_ref().and_then(|r| r.id.as_deref())
        ),
        (AttemptOutcome::Delivered, 1, Some("provider-1"))
    );
    assert_eq!(outbox.stats().last_store_error, None);
    outbox.shutdown(Duration::from_secs(5)).await;
}

/// Rows of the `quarantine` table: (table, error, raw record).
fn quarantined(path: &std::path::Path) -> Vec<(String, String, String)> {
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut s = c
        .prepare("SELECT tbl, error, record FROM quarantine ORDER BY seq")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Overwrites records by hand, as a damaged file or an incompatible build would.
fn damage(path: &std::path::Path, sql: &str) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.execute_batch(sql).unwrap();
}

/// A closed database with `n` pending entries `n000`, `n001`, ... (ids of `width`
/// digits), then damaged by `sql`.
async fn damaged_backlog(path: &std::path::Path, n: usize, width: usize, sql: &str) {
    let ids: Vec<String> = (0..n).map(|i| format!("n{i:0width$}")).collect();
    let notes: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "x")).collect();
    enqueue_and_close(path, &notes).await;
    damage(path, sql);
}

/// Starts a gated outbox on `store`, checks that it resumed `n` entries, lets them
/// through and checks that all `n` are delivered.
async fn resumes_and_delivers(store: Arc<SqliteStore>, n: u64) {
    let (_called, go, builder) = gated_outbox(store);
    let outbox = builder.lane_concurrency(1).start().await.unwrap();
    assert_eq!(outbox.stats().resumed, n, "{:?}", outbox.stats());
    go.add_permits(1000);
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert_eq!(outbox.stats().delivered, n);
    outbox.shutdown(Duration::from_secs(5)).await;
}

/// A record that does not decode neither stops the others from loading (the
/// service would not start) nor stays to fail again: it is moved, raw, to the
/// `quarantine` table, and retention prunes it like the dead letters.
#[tokio::test]
async fn an_unreadable_record_is_set_aside_and_the_rest_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open(&path).unwrap();
    let at = Timestamp::from_unix_seconds(1_800_000_000).unwrap();
    let mut log = LogEntry::new(LogKind::Notified, at);
    log.receiver = "team".into();
    log.channel = "webhook".into();
    log.group_key = "g1".into();
    store
        .apply(&[
            Change::PutAlert(AlertRecord::new(
                Arc::new(Alert::new(Severity::Error, "Kept")),
                at,
            )),
            Change::PutAlert(AlertRecord::new(
                Arc::new(Alert::new(Severity::Error, "Broken")),
                at,
            )),
            Change::Enqueue(notification("n1", "first")),
            Change::Enqueue(notification("n2", "second")),
            Change::Enqueue(notification("n3", "third")),
            Change::Log(log),
        ])
        .await
        .unwrap();
    damage(
        &path,
        r#"UPDATE alerts SET record = '{"alert": {"name": "Broken"' WHERE record LIKE '%"Broken"%';
           UPDATE outbox SET record = 'not json' WHERE id = 'n2';
           UPDATE outbox SET record = '{"id": "n3"}' WHERE id = 'n3';
           UPDATE log SET record = '[]';"#,
    );

    // The state loads without the broken alert.
    let snap = store.load().await.unwrap();
    let names: Vec<&str> = snap.alerts.iter().map(|a| a.alert.name.as_str()).collect();
    assert_eq!(names, ["Kept"]);
    // The outbox resumes without the two unreadable entries.
    let ids = pending_ids(&store).await;
    assert_eq!(ids, ["n1"]);
    assert_eq!(store.outbox_entry("n2").await.unwrap(), None);
    assert_eq!(
        store.outbox_entry("n1").await.unwrap(),
        Some(notification("n1", "first"))
    );
    // An unreadable dedup entry reads as none (at worst a repeat), not an error.
    assert_eq!(
        store
            .last_notification("team", "webhook", "g1")
            .await
            .unwrap(),
        None
    );

    let q = quarantined(&path);
    let tables: Vec<&str> = q.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(tables, ["alerts", "outbox", "outbox", "log"], "{q:?}");
    assert_eq!(q[1].2, "not json", "the raw text is kept");
    assert!(
        q[1].1.contains("expected"),
        "the decoding error: {}",
        q[1].1
    );
    assert!(q[0].2.contains("Broken"));
    assert!(q[2].1.contains("missing field `receiver`"), "{}", q[2].1);
    // The next start finds them gone from their tables and sets nothing aside twice.
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(again.load().await.unwrap().alerts.len(), 1);
    assert_eq!(again.pending_outbox(0).await.unwrap().len(), 1);
    assert_eq!(quarantined(&path).len(), 4);

    // Retention prunes the quarantine by age.
    let report = again
        .prune(&Retention::before(
            Timestamp::now().saturating_add(Duration::from_secs(60)),
        ))
        .await
        .unwrap();
    assert_eq!(report.quarantined, 4, "{report:?}");
    assert!(quarantined(&path).is_empty());
}

/// A retry rescheduled for an entry that no longer decodes sets it aside within
/// the same write: the write succeeds, and the other changes in it are made.
#[tokio::test]
async fn a_reschedule_of_an_unreadable_entry_sets_it_aside_in_the_same_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    enqueue_and_close(&path, &[("n1", "x"), ("n2", "y")]).await;
    damage(
        &path,
        "UPDATE outbox SET record = 'garbage' WHERE id = 'n1';",
    );
    let store = SqliteStore::open(&path).unwrap();
    let later = Timestamp::from_unix_seconds(1_800_000_600).unwrap();
    store
        .apply(&[
            Change::Reschedule {
                id: "n1".into(),
                attempts: 2,
                next_attempt_at: Some(later),
            },
            Change::Reschedule {
                id: "n2".into(),
                attempts: 3,
                next_attempt_at: Some(later),
            },
        ])
        .await
        .unwrap();
    let pending = store.pending_outbox(0).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].id.as_str(),
            pending[0].attempts,
            pending[0].next_attempt_at
        ),
        ("n2", 3, Some(later))
    );
    let q = quarantined(&path);
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!((q[0].0.as_str(), q[0].2.as_str()), ("outbox", "garbage"));
}

/// An unreadable entry inside the first page of a start-up backlog makes that page
/// short: the outbox still resumes every readable entry after it.
#[tokio::test]
async fn a_backlog_with_an_unreadable_entry_is_resumed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    damaged_backlog(
        &path,
        300,
        3,
        "UPDATE outbox SET record = 'garbage' WHERE id = 'n100';",
    )
    .await;
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    resumes_and_delivers(store, 299).await;
    assert_eq!(quarantined(&path).len(), 1);
}

/// Pages of the backlog fill past unreadable entries, however many: 600 damaged
/// entries (more than two whole pages of 256) ahead of 300 readable ones.
/// Before, an empty page was taken for the end after one more read, and the
/// readable entries waited for the next start.
#[tokio::test]
async fn a_backlog_behind_pages_of_unreadable_entries_is_resumed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    damaged_backlog(
        &path,
        900,
        3,
        "UPDATE outbox SET record = 'garbage' WHERE id < 'n600';",
    )
    .await;
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let page = store.pending_outbox_after(None, 256).await.unwrap();
    assert_eq!(page.len(), 256, "the first page is full");
    assert_eq!(page[0].id, "n600");
    assert_eq!(quarantined(&path).len(), 600);
    resumes_and_delivers(store, 300).await;
}

/// A read-only store skips unreadable entries without moving them, and its pages
/// still fill past them and end.
#[tokio::test]
async fn a_read_only_store_pages_past_unreadable_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    damaged_backlog(
        &path,
        20,
        2,
        "UPDATE outbox SET record = 'garbage' WHERE id < 'n12';",
    )
    .await;
    let mut o = SqliteOptions::default();
    o.read_only = true;
    let ro = SqliteStore::open_with(&path, o).unwrap();
    let first = ro.pending_outbox_after(None, 5).await.unwrap();
    let first: Vec<&str> = first.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(first, ["n12", "n13", "n14", "n15", "n16"]);
    let rest = ro.pending_outbox_after(Some("n16"), 5).await.unwrap();
    let rest: Vec<&str> = rest.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(rest, ["n17", "n18", "n19"]);
    assert!(quarantined(&path).is_empty());
}

/// A read-only store (inspection) cannot move anything: it skips the unreadable
/// row and reads the rest.
#[tokio::test]
async fn a_read_only_store_skips_an_unreadable_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    enqueue_and_close(&path, &[("n1", "x"), ("n2", "y")]).await;
    damage(
        &path,
        "UPDATE outbox SET record = 'garbage' WHERE id = 'n1';",
    );
    let mut o = SqliteOptions::default();
    o.read_only = true;
    let ro = SqliteStore::open_with(&path, o).unwrap();
    let ids = pending_ids(&ro).await;
    assert_eq!(ids, ["n2"]);
    assert!(quarantined(&path).is_empty());
}

/// The outbox keeps waiting notifications past its memory limit as ids and reads
/// each back when its turn comes. One that became unreadable meanwhile is set
/// aside and skipped: the others are delivered and the lane does not retry it
/// forever (before, it was read again every second).
#[tokio::test]
async fn an_unreadable_waiting_notification_is_skipped_and_the_others_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let (mut called, go, builder) = gated_outbox(store.clone());
    let outbox = builder
        .lane_concurrency(1)
        .memory_limit(0)
        .start()
        .await
        .unwrap();
    outbox
        .submit_many(vec![
            notification("n1", "first"),
            notification("n2", "second"),
            notification("n3", "third"),
        ])
        .await
        .unwrap();
    // The first is being sent; the other two wait, as ids only.
    tokio::time::timeout(Duration::from_secs(60), called.recv())
        .await
        .expect("the channel was called")
        .expect("open");
    damage(&path, "UPDATE outbox SET record = '{' WHERE id = 'n2';");
    go.add_permits(10);
    assert!(
        outbox.wait_idle(Duration::from_secs(60)).await,
        "the lane drains: {:?}",
        outbox.stats()
    );
    let stats = outbox.stats();
    assert_eq!((stats.delivered, stats.queued), (2, 0), "{stats:?}");
    assert_eq!(stats.store_errors, 0, "{stats:?}");
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
    let q = quarantined(&path);
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!((q[0].0.as_str(), q[0].2.as_str()), ("outbox", "{"));
    outbox.shutdown(Duration::from_secs(5)).await;
}
