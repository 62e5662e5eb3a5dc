//! `SqliteStore` passes the shared store suite, survives reopening, and fails
//! clearly (never silently) when the database is locked, read-only or full.

use std::sync::Arc;
use std::time::Duration;

use alert_core::{Alert, Notifier, Receipt, Severity, Timestamp, async_trait};
use alert_router::delivery::Outbox;
use alert_router::store::{
    AttemptOutcome, AttemptQuery, Change, Notification, NotificationKind, SqliteOptions,
    SqliteStore, Store, StoreError, testsuite,
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
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .apply(&[
                Change::Enqueue(notification("a", "x")),
                Change::Enqueue(notification("b", "y")),
            ])
            .await
            .unwrap();
    }
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
    let ids: Vec<String> = store
        .pending_outbox(0)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
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

/// The database is locked by another process while a delivery is in flight, so
/// its outcome cannot be written: the outbox says so clearly (stats), keeps the
/// notification pending (a crash now would re-send it, never lose it), and records
/// the outcome once the lock is released.
#[tokio::test]
async fn the_outbox_survives_a_database_locked_mid_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Arc::new(SqliteStore::open_with(&path, opts(Duration::from_millis(50))).unwrap());
    let (called_tx, mut called) = tokio::sync::mpsc::unbounded_channel();
    let go = Arc::new(tokio::sync::Semaphore::new(0));
    let outbox = Outbox::builder(store.clone())
        .channel(
            "team",
            "webhook",
            Arc::new(Gated {
                called: called_tx,
                go: go.clone(),
            }),
        )
        .start()
        .await
        .unwrap();
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
