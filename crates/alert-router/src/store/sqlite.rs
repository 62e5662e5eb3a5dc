//! [`SqliteStore`]: the durable [`Store`] on an embedded SQLite database (WAL mode),
//! the default of the `alerts` service.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use alert_core::{CompactString, Fingerprint, Timestamp};
use rusqlite::types::Value;
use rusqlite::{CachedStatement, Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::{
    Ack, ActionQuery, ActionRecord, AlertEvent, AlertRecord, AttemptQuery, Change, DeadLetter,
    DeadLetterQuery, DeliveryAttempt, EventQuery, GroupRecord, LogEntry, LogKind, LogQuery,
    Notification, Prepared, PruneReport, ReceiptRecord, Retention, Snapshot, StateRecord, Store,
    StoreError, StoreResult,
};
use crate::silence::Silence;

const STORE: &str = "sqlite";

/// Dedup-state lookups per round trip in `last_notifications`.
const LOOKUPS_PER_CALL: usize = 16;

/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 128;

/// The schema version written in `PRAGMA user_version`. Tables added by
/// `CREATE TABLE IF NOT EXISTS` (like `dead_letters`) keep the version: an older
/// build opening the file simply does not read them.
///
/// * 1: `alerts` and `groups` keyed by their text key (`fingerprint`, `key`).
/// * 2: both keyed by a rowid in the order rows were added, the text key a plain
///   column (see [`Keys`]). [`install_schema`] rewrites a version 1 file in place.
///
/// `events.seq` only orders the events (a new row is numbered after every row
/// present), so it is a plain rowid in files created since 2026-12-05: without
/// `AUTOINCREMENT`, whose `sqlite_sequence` row every insert read and rewrote, an
/// alert's first event (one per new alert) costs a B-tree write less. Older files
/// keep their `AUTOINCREMENT` column; both read and write alike, so the version
/// is unchanged and nothing is rewritten. The other `seq` columns keep it: none
/// is written for every alert received, and the outbox is read by paging on from
/// a `seq`, which must never be given twice.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    ends_at INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS acks (
    fingerprint TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS states (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    receiver TEXT NOT NULL,
    channel TEXT NOT NULL,
    group_key TEXT NOT NULL,
    fingerprints TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_at ON log (at);
CREATE INDEX IF NOT EXISTS log_dedup ON log (receiver, channel, group_key, kind, seq);
CREATE TABLE IF NOT EXISTS receipts (
    receiver TEXT NOT NULL,
    channel TEXT NOT NULL,
    group_key TEXT NOT NULL,
    at INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (receiver, channel, group_key)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    receiver TEXT NOT NULL,
    outcome TEXT NOT NULL,
    fingerprints TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_at ON attempts (at);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    alert_name TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_at ON actions (at);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    receiver TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_at ON dead_letters (at);
CREATE TABLE IF NOT EXISTS quarantine (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    tbl TEXT NOT NULL,
    row INTEGER NOT NULL,
    error TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_at ON quarantine (at);
";

/// The default of [`SqliteOptions::wal_autocheckpoint`], in pages.
const DEFAULT_WAL_AUTOCHECKPOINT: u32 = 8192;

/// The default of [`SqliteOptions::cache_kib`].
const DEFAULT_CACHE_KIB: u32 = 1024;

/// Options of a [`SqliteStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// How long a write waits for a lock held by another connection or process
    /// before failing with "database locked" (default 5 s).
    pub busy_timeout: Duration,
    /// `PRAGMA synchronous`: `NORMAL` (the default with WAL: a commit survives a
    /// process crash; the last commits may be lost on power loss) or `FULL` (fsync on
    /// every commit: survives power loss, slower).
    pub synchronous: Synchronous,
    /// Open read-only (inspection tools; every write fails with a clear error).
    pub read_only: bool,
    /// A cap on the database size in pages (`PRAGMA max_page_count`); writes beyond
    /// it fail with "database or disk is full". `None`: SQLite's default (no
    /// practical cap).
    pub max_page_count: Option<u64>,
    /// `PRAGMA wal_autocheckpoint`: the WAL size in pages (4 KiB each) past which a
    /// commit folds it into the database file (default 8,192, 32 MiB; SQLite's own
    /// default is 1,000). Each checkpoint copies every page changed since the last
    /// one and syncs the file, so a larger WAL copies a page written by many
    /// commits (the outbox's, the notification log's) once instead of many times;
    /// the `-wal` file grows to about this size between checkpoints.
    pub wal_autocheckpoint: u32,
    /// `PRAGMA cache_size`, in KiB: the most memory the connection keeps pages in
    /// (default 1,024, half SQLite's own 2,000). The store's writes append or touch
    /// few pages each, and a page read again comes from the operating system's
    /// cache, so a larger cache buys little and is held for the process's life.
    pub cache_kib: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Normal,
            read_only: false,
            max_page_count: None,
            wal_autocheckpoint: DEFAULT_WAL_AUTOCHECKPOINT,
            cache_kib: DEFAULT_CACHE_KIB,
        }
    }
}

/// `PRAGMA synchronous` levels offered by [`SqliteOptions`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Durable across process crashes (WAL).
    #[default]
    Normal,
    /// Durable across power loss.
    Full,
}

/// A [`Store`] on an embedded SQLite database in WAL mode.
///
/// * One file (plus its `-wal` and `-shm` companions); tables are created on first
///   open; the schema version is kept in `PRAGMA user_version`.
/// * Each [`apply`](Store::apply) is one transaction (all changes or none).
/// * Records are stored as JSON next to the columns queries filter on.
/// * Failures never panic: a locked database (after `busy_timeout`), a full disk, a
///   read-only file give [`StoreError::Unavailable`] with SQLite's reason, and the
///   batch is not written. Callers (the router, the outbox) report the error instead
///   of acknowledging the alert.
/// * Calls run on the store's own thread, one at a time, so a slow disk does not
///   stall the async runtime, and the database work (and its memory) stays on one
///   thread instead of spreading over a pool whose threads would only wait for the
///   connection in turn. The thread ends, closing the connection, when the last
///   clone of the store is dropped.
/// * That thread does only SQLite's own work, since every write waits for it: the
///   rows are encoded by the caller (in [`prepare`](Store::prepare), or before
///   the job is sent), each statement is taken from the connection's cache once
///   per transaction, and the encoded rows go back to the caller to be freed.
///
/// ```no_run
/// # async fn run() -> Result<(), alert_router::store::StoreError> {
/// use alert_router::store::{SqliteStore, Store};
/// let store = SqliteStore::open("/var/lib/alerts/state.db")?;
/// let pending = store.pending_outbox(0).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

/// Work for the store's thread.
type Job = Box<dyn FnOnce(&mut Db) + Send>;

/// What the store's thread owns: the connection, and the rowids of the keyed
/// tables' rows.
struct Db {
    conn: Connection,
    /// `None`: to be read from the tables before the next write (at the first
    /// write, after [`Store::load`], after a write that panicked).
    keys: Option<Keys>,
    /// `PRAGMA data_version` when `keys` were last known to match the tables: it
    /// changes when another connection commits, and then `keys` are read again.
    data_version: i64,
}

/// The store's thread: runs each job on the connection, in order, until every
/// sender is gone. A job that panics ends only itself (its caller gets an error).
fn serve(conn: Connection, jobs: mpsc::Receiver<Job>) {
    let mut db = Db {
        conn,
        keys: None,
        data_version: 0,
    };
    while let Ok(job) = jobs.recv() {
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut db)));
    }
}

impl Db {
    /// Runs `ops` in one transaction: all or none.
    fn write(&mut self, ops: &[Op]) -> StoreResult<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        let version: i64 = tx
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(sql_err)?;
        // Taken while the write runs: a panic leaves `None`, to be read again. So
        // are keys from before another connection committed (the version moved):
        // its writes may have added or removed keyed rows.
        let mut keys = match self.keys.take() {
            Some(keys) if version == self.data_version => keys,
            _ => Keys::read(&tx)?,
        };
        self.data_version = version;
        let mut undo = Vec::new();
        let mut held = Held::new(&tx);
        let ran = ops
            .iter()
            .try_for_each(|op| run_op(&mut held, &mut keys, &mut undo, op));
        // The statements go back to the connection's cache before the commit.
        drop(held);
        let result = ran.and_then(|()| tx.commit().map_err(sql_err));
        if result.is_err() {
            keys.undo(undo);
        }
        self.keys = Some(keys);
        result
    }
}

/// The keyed tables, `alerts` (by fingerprint) and `groups` (by group key).
///
/// Their rows are keyed by a rowid given in the order they were added, and the
/// store keeps which rowid holds which key ([`Keys`]). A primary key on the text
/// key itself would be a second B-tree whose pages are hit at random (a
/// fingerprint is a hash): every transaction rewrote most of that index's pages
/// to the WAL, more bytes than the records themselves. A new alert is now an
/// append, and a changed one an update by rowid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Alerts,
    Groups,
}

/// The statements of a keyed [`Table`].
struct KeyedSql {
    name: &'static str,
    /// The key's column.
    key: &'static str,
    insert: &'static str,
    update: &'static str,
    delete: &'static str,
    /// Every row's rowid and key, in rowid order.
    keys: &'static str,
}

impl Table {
    const ALL: [Table; 2] = [Table::Alerts, Table::Groups];

    fn sql(self) -> &'static KeyedSql {
        match self {
            Table::Alerts => &KeyedSql {
                name: "alerts",
                key: "fingerprint",
                insert: "INSERT INTO alerts (fingerprint, record) VALUES (?1, ?2)",
                update: "UPDATE alerts SET record = ?2 WHERE id = ?1",
                delete: "DELETE FROM alerts WHERE id = ?1",
                keys: "SELECT id, fingerprint FROM alerts ORDER BY id",
            },
            Table::Groups => &KeyedSql {
                name: "groups",
                key: "key",
                insert: "INSERT INTO groups (key, record) VALUES (?1, ?2)",
                update: "UPDATE groups SET record = ?2 WHERE id = ?1",
                delete: "DELETE FROM groups WHERE id = ?1",
                keys: "SELECT id, key FROM groups ORDER BY id",
            },
        }
    }
    /// Why `key` cannot be this table's key, if it cannot.
    fn invalid(self, key: &str) -> Option<String> {
        match self {
            Table::Alerts => key.parse::<Fingerprint>().err().map(|e| e.to_string()),
            Table::Groups => None,
        }
    }
}

/// The maps of [`Keys`]: one insert or lookup per keyed row written, hashed with
/// foldhash like the engine's maps (seeded per process), a fraction of SipHash's
/// cost.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Which rowid holds which key, for each keyed [`Table`].
#[derive(Default)]
struct Keys {
    alerts: HashMap<CompactString, i64>,
    groups: HashMap<CompactString, i64>,
}

/// A change to [`Keys`] made inside a transaction: the key and its rowid before,
/// put back if the transaction does not commit.
type Undo = (Table, CompactString, Option<i64>);

impl Keys {
    fn of(&mut self, t: Table) -> &mut HashMap<CompactString, i64> {
        match t {
            Table::Alerts => &mut self.alerts,
            Table::Groups => &mut self.groups,
        }
    }

    /// Reads the keys of both tables. A row whose key is not a valid key (a
    /// manual edit), or repeats the key of a later row, is set aside in the
    /// `quarantine` table, like an unreadable record: the later row is the one
    /// the store wrote last.
    fn read(c: &Connection) -> StoreResult<Keys> {
        let mut keys = Keys::default();
        for t in Table::ALL {
            let mut stmt = c.prepare_cached(t.sql().keys).map_err(sql_err)?;
            let rows: Vec<(i64, Result<String, String>)> = stmt
                .query_map([], |r| {
                    let key = match r.get_ref(1)? {
                        rusqlite::types::ValueRef::Text(b) => std::str::from_utf8(b)
                            .map(str::to_owned)
                            .map_err(|_| "the key is not UTF-8".to_owned()),
                        other => Err(format!("the key is {:?}, not text", other.data_type())),
                    };
                    Ok((r.get(0)?, key))
                })
                .and_then(|it| it.collect())
                .map_err(sql_err)?;
            drop(stmt);
            let map = keys.of(t);
            let mut bad = Vec::new();
            for (id, key) in rows {
                let key = match key.and_then(|k| t.invalid(&k).map_or(Ok(k), Err)) {
                    Ok(key) => key,
                    Err(error) => {
                        bad.push((id, error));
                        continue;
                    }
                };
                if let Some(before) = map.insert(key.into(), id) {
                    bad.push((before, format!("its key is repeated by row {id}")));
                }
            }
            if !bad.is_empty() {
                let mut aside = Vec::with_capacity(bad.len());
                for (id, error) in bad {
                    let record: String = c
                        .query_row(
                            &format!(
                                "SELECT CAST(record AS TEXT) FROM {} WHERE id = ?1",
                                t.sql().name
                            ),
                            [id],
                            |r| r.get(0),
                        )
                        .map_err(sql_err)?;
                    aside.push((id, error, record));
                }
                set_aside(c, t.sql().name, aside)?;
            }
        }
        Ok(keys)
    }

    /// Writes `record` under `key`: an update of its row, or a new row.
    fn put(
        &mut self,
        held: &mut Held<'_>,
        undo: &mut Vec<Undo>,
        t: Table,
        key: &str,
        record: &str,
    ) -> StoreResult<()> {
        if let Some(&id) = self.of(t).get(key) {
            if held.changed(t.sql().update, params![id, record])? == 1 {
                return Ok(());
            }
            // Not there after all (cannot happen while this connection is the
            // only writer, which `data_version` checks): added again below.
            tracing::warn!(
                store = STORE,
                table = t.sql().name,
                row = id,
                "a keyed row went missing; writing it again"
            );
        }
        held.changed(t.sql().insert, params![key, record])?;
        let id = held.conn.last_insert_rowid();
        let before = self.of(t).insert(key.into(), id);
        undo.push((t, key.into(), before));
        Ok(())
    }

    /// Deletes the row of `key`, if there is one.
    fn delete(
        &mut self,
        held: &mut Held<'_>,
        undo: &mut Vec<Undo>,
        t: Table,
        key: &str,
    ) -> StoreResult<()> {
        let Some(id) = self.of(t).remove(key) else {
            return Ok(());
        };
        undo.push((t, key.into(), Some(id)));
        held.changed(t.sql().delete, [id]).map(|_| ())
    }

    /// Puts back what a transaction that did not commit changed.
    fn undo(&mut self, undo: Vec<Undo>) {
        for (t, key, before) in undo.into_iter().rev() {
            match before {
                Some(id) => self.of(t).insert(key, id),
                None => self.of(t).remove(&key),
            };
        }
    }
}

/// Creates the tables ([`SCHEMA`]) and writes [`SCHEMA_VERSION`], bringing a
/// database of an older version to this one on the way: all in one transaction,
/// so a failure leaves the file as it was.
///
/// Version 1 kept `alerts` and `groups` keyed by their text key. Each such table is
/// renamed aside, created again by [`SCHEMA`], filled from the old one in its
/// rowid order, and the old one dropped. A table already in the new shape (or not
/// there yet) is left to [`SCHEMA`].
fn install_schema(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let mut upgraded = Vec::new();
    for t in Table::ALL {
        let table = t.sql().name;
        let columns: Vec<String> = tx
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sql_err)?;
        if columns.is_empty() || columns.iter().any(|c| c == "id") {
            continue;
        }
        tracing::info!(
            store = STORE,
            table,
            "upgrading the table to schema version {SCHEMA_VERSION}"
        );
        tx.execute_batch(&format!("ALTER TABLE {table} RENAME TO {table}_v1"))
            .map_err(sql_err)?;
        upgraded.push(t);
    }
    tx.execute_batch(SCHEMA).map_err(sql_err)?;
    for t in upgraded {
        let KeyedSql {
            name: table, key, ..
        } = t.sql();
        tx.execute_batch(&format!(
            "INSERT INTO {table} ({key}, record)
                 SELECT coalesce({key}, ''), record FROM {table}_v1 ORDER BY rowid;
             DROP TABLE {table}_v1;"
        ))
        .map_err(sql_err)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))
        .map_err(sql_err)?;
    tx.commit().map_err(sql_err)
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn unavailable(message: impl Into<String>) -> StoreError {
    StoreError::Unavailable {
        store: STORE,
        message: message.into(),
    }
}

/// Maps SQLite errors to store errors with a reason a person can act on.
fn sql_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let detail = msg.clone().unwrap_or_else(|| f.to_string());
        let reason = match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                format!("database is locked by another connection or process ({detail})")
            }
            ErrorCode::DiskFull => format!("database or disk is full ({detail})"),
            ErrorCode::ReadOnly => format!("database is read-only ({detail})"),
            ErrorCode::CannotOpen => format!("cannot open the database file ({detail})"),
            ErrorCode::PermissionDenied => format!("permission denied ({detail})"),
            ErrorCode::SystemIoFailure => format!("disk I/O error ({detail})"),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                return StoreError::Corrupt {
                    store: STORE,
                    what: "database file".into(),
                    message: detail,
                };
            }
            _ => {
                return StoreError::Other {
                    store: STORE,
                    source: Box::new(e),
                };
            }
        };
        return unavailable(reason);
    }
    StoreError::Other {
        store: STORE,
        source: Box::new(e),
    }
}

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other {
        store: STORE,
        source: Box::new(e),
    })
}

fn from_json<T: DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        store: STORE,
        what: what.to_owned(),
        message: e.to_string(),
    })
}

/// Timestamps as nanoseconds since the epoch, clamped to what an `i64` holds
/// (years 1678 to 2262; beyond that the order is kept at the ends).
fn ts(t: Timestamp) -> i64 {
    t.as_unix_nanos()
        .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Fingerprints as ` fp1 fp2 ` so `instr(col, ' fp ')` finds one.
fn fp_list<'a>(fps: impl Iterator<Item = &'a Fingerprint>) -> String {
    let mut s = String::from(" ");
    for fp in fps {
        s.push_str(&fp.to_string());
        s.push(' ');
    }
    s
}

fn fp_needle(fp: Fingerprint) -> String {
    format!(" {fp} ")
}

fn limit_sql(limit: usize) -> i64 {
    if limit == 0 {
        -1
    } else {
        limit.min(i64::MAX as usize) as i64
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        SqliteStore::open_with(path, SqliteOptions::default())
    }

    /// Opens (or creates) the database at `path`.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> StoreResult<SqliteStore> {
        let path = path.as_ref().to_owned();
        if !options.read_only
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                unavailable(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let flags = if options.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let mut conn = Connection::open_with_flags(&path, flags).map_err(|e| match sql_err(e) {
            StoreError::Unavailable { message, .. } => {
                unavailable(format!("{message}: {}", path.display()))
            }
            other => other,
        })?;
        conn.busy_timeout(options.busy_timeout).map_err(sql_err)?;
        // Every statement the store runs stays prepared (rusqlite's default cache of
        // 16 is smaller than the store's set of statements, and a miss re-parses).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // The bundled SQLite has STAT4, which re-prepares a statement whenever a
        // parameter compared with an indexed column is bound to a new value; the
        // store's plans do not depend on values, so keep them (query planner
        // stability guarantee).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(sql_err)?;
        conn.execute_batch(&format!("PRAGMA cache_size=-{};", options.cache_kib))
            .map_err(sql_err)?;
        if !options.read_only {
            let mode: String = conn
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
                .map_err(sql_err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(unavailable(format!(
                    "could not switch {} to WAL mode (got {mode})",
                    path.display()
                )));
            }
            let sync = match options.synchronous {
                Synchronous::Normal => "NORMAL",
                Synchronous::Full => "FULL",
            };
            conn.execute_batch(&format!(
                "PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint={};",
                options.wal_autocheckpoint
            ))
            .map_err(sql_err)?;
            if let Some(max) = options.max_page_count {
                conn.query_row(&format!("PRAGMA max_page_count={max}"), [], |_| Ok(()))
                    .map_err(sql_err)?;
            }
            let version: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(sql_err)?;
            if version > SCHEMA_VERSION {
                return Err(unavailable(format!(
                    "{} has schema version {version}, newer than this build ({SCHEMA_VERSION}): upgrade the program",
                    path.display()
                )));
            }
            install_schema(&mut conn).map_err(|e| match e {
                StoreError::Unavailable { message, .. } => unavailable(format!(
                    "cannot set up schema version {SCHEMA_VERSION} in {}: {message}",
                    path.display()
                )),
                other => other,
            })?;
        }
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("alerts-sqlite".into())
            .spawn(move || serve(conn, rx))
            .map_err(|e| unavailable(format!("cannot start the store's thread: {e}")))?;
        Ok(SqliteStore { jobs, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection, on the store's thread.
    async fn with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        self.with_db(move |db| f(&mut db.conn)).await
    }

    /// Runs `f` on the store thread's state, on that thread.
    async fn with_db<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |db: &mut Db| {
                let _ = tx.send(f(db));
            }))
            .map_err(|_| unavailable("the store's thread has stopped"))?;
        rx.await
            .map_err(|_| unavailable("store task failed: it panicked"))?
    }

    /// Runs `PRAGMA wal_checkpoint(TRUNCATE)`: folds the WAL into the database file
    /// and truncates it (after a large prune, or before a backup).
    pub async fn checkpoint(&self) -> StoreResult<()> {
        self.with(|c| {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(sql_err)
        })
        .await
    }
}

/// What [`SqliteStore`] prepares ([`Store::prepare`]): the changes' statements.
struct Encoded(Vec<Op>);

/// One statement of a batch, its parameters already encoded: `prepare` (before
/// the request's turn) or `apply_prepared` (for what was not prepared) turns the
/// changes into these on the caller's task, the JSON encoding included, so the
/// store's thread does only SQLite's own work and no change is copied.
enum Op {
    /// A statement and its parameters.
    Exec(&'static str, Vec<Value>),
    /// A record of a keyed table, written under its key.
    Put {
        table: Table,
        key: CompactString,
        record: String,
    },
    /// The row of a key of a keyed table, deleted.
    Delete { table: Table, key: CompactString },
    /// [`Change::Reschedule`]: a read-modify-write of the stored entry.
    Reschedule {
        id: String,
        attempts: u32,
        next_attempt_at: Option<Timestamp>,
    },
}

/// A fingerprint as the `alerts` table keys it (16 hexadecimal digits, kept inline).
fn fingerprint_key(fp: Fingerprint) -> CompactString {
    use std::fmt::Write as _;
    let mut key = CompactString::const_new("");
    let _ = write!(key, "{fp}");
    key
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// [`encode`] for each of `changes`, in order.
fn encode_all(changes: &[Change], ops: &mut Vec<Op>) -> StoreResult<()> {
    changes.iter().try_for_each(|c| encode(c, ops))
}

fn encode(c: &Change, ops: &mut Vec<Op>) -> StoreResult<()> {
    let mut exec = |sql: &'static str, p: Vec<Value>| ops.push(Op::Exec(sql, p));
    match c {
        Change::PutAlert(a) => ops.push(Op::Put {
            table: Table::Alerts,
            key: fingerprint_key(a.fingerprint()),
            record: to_json(a)?,
        }),
        Change::DeleteAlert(fp) => ops.push(Op::Delete {
            table: Table::Alerts,
            key: fingerprint_key(*fp),
        }),
        Change::PutGroup(g) => ops.push(Op::Put {
            table: Table::Groups,
            key: g.key.as_str().into(),
            record: to_json(g)?,
        }),
        Change::DeleteGroup(k) => ops.push(Op::Delete {
            table: Table::Groups,
            key: k.as_str().into(),
        }),
        Change::PutSilence(si) => exec(
            "INSERT OR REPLACE INTO silences (id, ends_at, record) VALUES (?1, ?2, ?3)",
            vec![
                text(&si.id),
                Value::Integer(ts(si.ends_at)),
                Value::Text(to_json(si)?),
            ],
        ),
        Change::DeleteSilence(id) => exec("DELETE FROM silences WHERE id = ?1", vec![text(id)]),
        Change::PutAck(a) => exec(
            "INSERT OR REPLACE INTO acks (fingerprint, record) VALUES (?1, ?2)",
            vec![
                Value::Text(a.fingerprint.to_string()),
                Value::Text(to_json(a)?),
            ],
        ),
        Change::DeleteAck(fp) => exec(
            "DELETE FROM acks WHERE fingerprint = ?1",
            vec![Value::Text(fp.to_string())],
        ),
        Change::PutState(st) => exec(
            "INSERT OR REPLACE INTO states (kind, key, record) VALUES (?1, ?2, ?3)",
            vec![text(&st.kind), text(&st.key), Value::Text(to_json(st)?)],
        ),
        Change::DeleteState { kind, key } => exec(
            "DELETE FROM states WHERE kind = ?1 AND key = ?2",
            vec![text(kind), text(key)],
        ),
        Change::Log(e) => exec(
            "INSERT INTO log (at, kind, receiver, channel, group_key, fingerprints, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            vec![
                Value::Integer(ts(e.at)),
                text(e.kind.as_str()),
                text(&e.receiver),
                text(&e.channel),
                text(&e.group_key),
                Value::Text(fp_list(e.firing.iter().chain(e.resolved.iter()))),
                Value::Text(to_json(e)?),
            ],
        ),
        Change::PutReceipt(r) => exec(
            "INSERT OR REPLACE INTO receipts (receiver, channel, group_key, at, record)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            vec![
                text(&r.receiver),
                text(&r.channel),
                text(&r.group_key),
                Value::Integer(ts(r.at)),
                Value::Text(to_json(r)?),
            ],
        ),
        // An upsert that keeps the entry's place in the queue.
        Change::Enqueue(n) => exec(
            "INSERT INTO outbox (id, record) VALUES (?1, ?2)
             ON CONFLICT(id) DO UPDATE SET record = excluded.record",
            vec![text(&n.id), Value::Text(to_json(n)?)],
        ),
        Change::Reschedule {
            id,
            attempts,
            next_attempt_at,
        } => ops.push(Op::Reschedule {
            id: id.clone(),
            attempts: *attempts,
            next_attempt_at: *next_attempt_at,
        }),
        Change::Dequeue(id) => exec("DELETE FROM outbox WHERE id = ?1", vec![text(id)]),
        Change::DeadLetter(d) => {
            exec("DELETE FROM outbox WHERE id = ?1", vec![text(d.id())]);
            exec(
                "INSERT INTO dead_letters (id, at, receiver, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET at = excluded.at, receiver = excluded.receiver,
                 record = excluded.record",
                vec![
                    text(d.id()),
                    Value::Integer(ts(d.at)),
                    text(&d.notification.receiver),
                    Value::Text(to_json(d)?),
                ],
            );
        }
        Change::DeleteDeadLetter(id) => {
            exec("DELETE FROM dead_letters WHERE id = ?1", vec![text(id)]);
        }
        Change::Attempt(a) => exec(
            "INSERT INTO attempts (at, receiver, outcome, fingerprints, record)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            vec![
                Value::Integer(ts(a.at)),
                text(&a.receiver),
                text(a.outcome.as_str()),
                Value::Text(fp_list(a.fingerprints.iter())),
                Value::Text(to_json(a)?),
            ],
        ),
        Change::Event(e) => exec(
            "INSERT INTO events (at, alert_name, fingerprint, record) VALUES (?1, ?2, ?3, ?4)",
            vec![
                Value::Integer(ts(e.at)),
                text(&e.alert_name),
                Value::Text(e.fingerprint.to_string()),
                Value::Text(to_json(e)?),
            ],
        ),
        Change::Action(a) => exec(
            "INSERT INTO actions (at, action, fingerprint, record) VALUES (?1, ?2, ?3, ?4)",
            vec![
                Value::Integer(ts(a.at)),
                text(&a.action),
                Value::Text(a.fingerprint.to_string()),
                Value::Text(to_json(a)?),
            ],
        ),
    }
    Ok(())
}

fn exec(c: &Connection, sql: &str, p: impl rusqlite::Params) -> StoreResult<()> {
    changed(c, sql, p).map(|_| ())
}

/// Runs the prepared statement `sql`; returns the number of rows it changed.
fn changed(c: &Connection, sql: &str, p: impl rusqlite::Params) -> StoreResult<usize> {
    c.prepare_cached(sql)
        .and_then(|mut s| s.execute(p))
        .map_err(sql_err)
}

/// The statements of one transaction, each taken from the connection's cache once
/// and held until the commit: a batch runs a handful of statements over many rows,
/// and looking each one up by its text (hashing it, then putting it back) cost
/// more than binding its parameters.
struct Held<'c> {
    conn: &'c Connection,
    statements: Vec<(&'static str, CachedStatement<'c>)>,
}

impl<'c> Held<'c> {
    fn new(conn: &'c Connection) -> Held<'c> {
        Held {
            conn,
            statements: Vec::new(),
        }
    }

    /// Runs the statement `sql`, prepared at its first use in this transaction;
    /// returns the number of rows it changed.
    fn changed(&mut self, sql: &'static str, p: impl rusqlite::Params) -> StoreResult<usize> {
        // The texts are constants: the same address, or else the same text.
        let found = self
            .statements
            .iter()
            .position(|(s, _)| std::ptr::eq(*s, sql) || *s == sql);
        let at = match found {
            Some(at) => at,
            None => {
                let stmt = self.conn.prepare_cached(sql).map_err(sql_err)?;
                self.statements.push((sql, stmt));
                self.statements.len() - 1
            }
        };
        self.statements[at].1.execute(p).map_err(sql_err)
    }
}

fn run_op(held: &mut Held<'_>, keys: &mut Keys, undo: &mut Vec<Undo>, op: &Op) -> StoreResult<()> {
    match op {
        Op::Exec(sql, p) => held
            .changed(sql, rusqlite::params_from_iter(p.iter()))
            .map(|_| ()),
        Op::Put { table, key, record } => keys.put(held, undo, *table, key, record),
        Op::Delete { table, key } => keys.delete(held, undo, *table, key),
        Op::Reschedule {
            id,
            attempts,
            next_attempt_at,
        } => match outbox_entry(held.conn, id)? {
            Some(mut n) => {
                n.attempts = *attempts;
                n.next_attempt_at = *next_attempt_at;
                let j = to_json(&n)?;
                held.changed(
                    "UPDATE outbox SET record = ?2 WHERE id = ?1",
                    params![id, j],
                )
                .map(|_| ())
            }
            None => Ok(()),
        },
    }
}

/// The pending outbox entry `id`.
fn outbox_entry(c: &Connection, id: &str) -> StoreResult<Option<Notification>> {
    Ok(records(c, "outbox", "WHERE id = ?1", &[&id])?.pop())
}

/// Reads the `record` JSON of the rows of `table` that `tail` (its `WHERE`,
/// `ORDER BY` and `LIMIT` clauses, with `params`) selects.
///
/// A row whose record does not decode (a manual edit, a damaged file, a record
/// written by an incompatible build) does not stop the others: it is **set aside**,
/// moved in one transaction to the `quarantine` table with its table, rowid, the
/// decoding error and its raw text, and logged at error level (table, rowid and
/// error; never the record). Nothing is lost, and a single bad row can neither keep
/// the service from starting nor be retried forever. In a read-only store the row
/// is only skipped and logged.
fn records<T: DeserializeOwned>(
    c: &Connection,
    table: &'static str,
    tail: &str,
    params: &[&dyn rusqlite::ToSql],
) -> StoreResult<Vec<T>> {
    records_read(c, table, tail, params).map(|(out, _)| out)
}

/// The rows a [`records_read`] read, the ones set aside included.
struct RowsRead {
    count: usize,
    last: Option<i64>,
}

/// [`records`], and the rows read: for paging on past rows that did not decode.
fn records_read<T: DeserializeOwned>(
    c: &Connection,
    table: &'static str,
    tail: &str,
    params: &[&dyn rusqlite::ToSql],
) -> StoreResult<(Vec<T>, RowsRead)> {
    let mut stmt = c
        .prepare_cached(&format!("SELECT rowid, record FROM {table} {tail}"))
        .map_err(sql_err)?;
    let raw: Vec<(i64, String)> = stmt
        .query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|it| it.collect())
        .map_err(sql_err)?;
    let read = RowsRead {
        count: raw.len(),
        last: raw.last().map(|(row, _)| *row),
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut bad = Vec::new();
    for (row, text) in raw {
        match serde_json::from_str(&text) {
            Ok(v) => out.push(v),
            Err(e) => bad.push((row, e.to_string(), text)),
        }
    }
    if !bad.is_empty() {
        set_aside(c, table, bad)?;
    }
    Ok((out, read))
}

/// Moves unreadable rows of `table` (`(rowid, error, raw record)`) to `quarantine`.
fn set_aside(
    c: &Connection,
    table: &'static str,
    bad: Vec<(i64, String, String)>,
) -> StoreResult<()> {
    let read_only = c.is_readonly(rusqlite::MAIN_DB).map_err(sql_err)?;
    for (row, error, _) in &bad {
        tracing::error!(
            store = STORE,
            table,
            row,
            error = %error,
            "unreadable stored record {}; the other records are used",
            if read_only {
                "skipped (read-only store)"
            } else {
                "set aside in the `quarantine` table"
            }
        );
    }
    if read_only {
        return Ok(());
    }
    let at = ts(Timestamp::now());
    let move_rows = |c: &Connection| -> StoreResult<()> {
        for (row, error, text) in &bad {
            exec(
                c,
                "INSERT INTO quarantine (at, tbl, row, error, record) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![at, table, row, error, text],
            )?;
            exec(
                c,
                &format!("DELETE FROM {table} WHERE rowid = ?1"),
                params![row],
            )?;
        }
        Ok(())
    };
    if c.is_autocommit() {
        let tx = c.unchecked_transaction().map_err(sql_err)?;
        move_rows(&tx)?;
        tx.commit().map_err(sql_err)
    } else {
        // Read inside a write (a `Reschedule` of `apply`): moved in that
        // transaction, with its changes or not at all.
        move_rows(c)
    }
}

/// Reads `record` JSON rows of `sql` with `params`.
fn rows<T: DeserializeOwned>(
    c: &Connection,
    what: &str,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> StoreResult<Vec<T>> {
    let mut stmt = c.prepare_cached(sql).map_err(sql_err)?;
    let raw: Vec<String> = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .and_then(|it| it.collect())
        .map_err(sql_err)?;
    raw.iter().map(|s| from_json(what, s)).collect()
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn name(&self) -> &'static str {
        STORE
    }

    async fn apply(&self, changes: &[Change]) -> StoreResult<()> {
        self.apply_prepared(changes, Vec::new()).await
    }

    /// Encodes the rows (JSON records, keys, parameters): the bulk of a write's
    /// work outside SQLite itself.
    fn prepare(&self, changes: &[Change]) -> Option<Prepared> {
        let mut ops = Vec::with_capacity(changes.len() + 1);
        // An error is left for the write to report.
        encode_all(changes, &mut ops).ok()?;
        Some(Prepared::new(changes.len(), Encoded(ops)))
    }

    async fn apply_prepared(
        &self,
        changes: &[Change],
        parts: Vec<(usize, Prepared)>,
    ) -> StoreResult<()> {
        if changes.is_empty() {
            return Ok(());
        }
        // Encoded here, outside the connection's lock: what `prepare` did not.
        let mut ops = Vec::with_capacity(changes.len() + 1);
        let mut done = 0;
        for (start, part) in parts {
            let end = start.saturating_add(part.len());
            if start < done || end > changes.len() {
                // Not a run of these changes: encoded again below.
                continue;
            }
            encode_all(&changes[done..start], &mut ops)?;
            match part.into_form::<Encoded>() {
                Ok(Encoded(mut encoded)) => ops.append(&mut encoded),
                Err(_) => encode_all(&changes[start..end], &mut ops)?,
            }
            done = end;
        }
        encode_all(&changes[done..], &mut ops)?;
        // The encoded rows come back to be freed here: on the store's thread,
        // freeing them took a tenth of its time, while writes waited.
        let (written, ops) = self.with_db(move |db| Ok((db.write(&ops), ops))).await?;
        drop(ops);
        written
    }

    async fn load(&self) -> StoreResult<Snapshot> {
        self.with_db(|db| {
            // Reading may set rows aside: the keys are read again at the next write.
            db.keys = None;
            let c = &db.conn;
            let mut alerts: Vec<AlertRecord> = records(c, "alerts", "", &[])?;
            alerts.sort_by_key(|a| (a.received_at, a.fingerprint()));
            let groups: Vec<GroupRecord> = records(c, "groups", "ORDER BY key", &[])?;
            let silences: Vec<Silence> = records(c, "silences", "ORDER BY id", &[])?;
            let mut acks: Vec<Ack> = records(c, "acks", "", &[])?;
            acks.sort_by_key(|a| a.fingerprint);
            let states: Vec<StateRecord> = records(c, "states", "ORDER BY kind, key", &[])?;
            Ok(Snapshot {
                alerts,
                groups,
                silences,
                acks,
                states,
            })
        })
        .await
    }

    async fn last_notification(
        &self,
        receiver: &str,
        channel: &str,
        group_key: &str,
    ) -> StoreResult<Option<LogEntry>> {
        let (r, ch, g) = (
            receiver.to_owned(),
            channel.to_owned(),
            group_key.to_owned(),
        );
        self.with(move |c| {
            let v: Vec<LogEntry> = records(
                c,
                "log",
                "WHERE receiver = ?1 AND channel = ?2 AND group_key = ?3
                 AND kind = ?4 ORDER BY seq DESC LIMIT 1",
                &[&r, &ch, &g, &LogKind::Notified.as_str()],
            )?;
            Ok(v.into_iter().next())
        })
        .await
    }

    async fn last_notifications(
        &self,
        keys: &[(&str, &str, &str)],
    ) -> StoreResult<Vec<Option<LogEntry>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // In slices, so writes waiting for the connection (alerts being received)
        // are not held up behind a whole flush's lookups.
        let mut out = Vec::with_capacity(keys.len());
        for slice in keys.chunks(LOOKUPS_PER_CALL) {
            let slice: Vec<(String, String, String)> = slice
                .iter()
                .map(|(r, c, g)| ((*r).to_owned(), (*c).to_owned(), (*g).to_owned()))
                .collect();
            let found = self
                .with(move |c| {
                    let mut found = Vec::with_capacity(slice.len());
                    for (r, ch, g) in &slice {
                        let v: Vec<LogEntry> = records(
                            c,
                            "log",
                            "WHERE receiver = ?1 AND channel = ?2 AND group_key = ?3
                 AND kind = ?4 ORDER BY seq DESC LIMIT 1",
                            &[r, ch, g, &LogKind::Notified.as_str()],
                        )?;
                        found.push(v.into_iter().next());
                    }
                    Ok(found)
                })
                .await?;
            out.extend(found);
        }
        Ok(out)
    }

    async fn receipt(
        &self,
        receiver: &str,
        channel: &str,
        group_key: &str,
    ) -> StoreResult<Option<ReceiptRecord>> {
        let (r, ch, g) = (
            receiver.to_owned(),
            channel.to_owned(),
            group_key.to_owned(),
        );
        self.with(move |c| {
            let v: Vec<ReceiptRecord> = rows(
                c,
                "receipt",
                "SELECT record FROM receipts WHERE receiver = ?1 AND channel = ?2 AND group_key = ?3",
                &[&r, &ch, &g],
            )?;
            Ok(v.into_iter().next())
        })
        .await
    }

    async fn query_log(&self, q: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        let q = q.clone();
        self.with(move |c| {
            let kinds: Vec<&str> = q.kinds.iter().map(|k| k.as_str()).collect();
            let kinds_csv = format!(",{},", kinds.join(","));
            let sql = "SELECT record FROM log WHERE
                 (?1 IS NULL OR instr(fingerprints, ?1) > 0)
                 AND (?2 IS NULL OR receiver = ?2)
                 AND (?3 IS NULL OR group_key = ?3)
                 AND (?4 = ',,' OR instr(?4, ',' || kind || ',') > 0)
                 AND (?5 IS NULL OR at >= ?5)
                 AND (?6 IS NULL OR at < ?6)
                 ORDER BY seq DESC LIMIT ?7";
            rows(
                c,
                "log entry",
                sql,
                &[
                    &q.fingerprint.map(fp_needle),
                    &q.receiver,
                    &q.group_key,
                    &kinds_csv,
                    &q.since.map(ts),
                    &q.until.map(ts),
                    &limit_sql(q.limit),
                ],
            )
        })
        .await
    }

    async fn pending_outbox(&self, limit: usize) -> StoreResult<Vec<Notification>> {
        self.with(move |c| records(c, "outbox", "ORDER BY seq LIMIT ?1", &[&limit_sql(limit)]))
            .await
    }

    async fn pending_outbox_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        let after = after.map(str::to_owned);
        self.with(move |c| {
            // Rowids start at 1.
            let mut from: i64 = match after {
                None => 0,
                Some(id) => {
                    let seq = c
                        .query_row("SELECT seq FROM outbox WHERE id = ?1", [&id], |r| r.get(0))
                        .optional()
                        .map_err(sql_err)?;
                    match seq {
                        Some(seq) => seq,
                        // Not pending: no page.
                        None => return Ok(Vec::new()),
                    }
                }
            };
            // Entries that do not decode are set aside (or, read-only, skipped) and
            // do not count: read on after the last row read until the page is full
            // or the table ends, so a short page is always the last one.
            let mut out: Vec<Notification> = Vec::new();
            loop {
                let want = if limit == 0 { 0 } else { limit - out.len() };
                let (page, read) = records_read(
                    c,
                    "outbox",
                    "WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                    &[&from, &limit_sql(want)],
                )?;
                out.extend(page);
                match read.last {
                    Some(last) if limit != 0 && read.count == want && out.len() < limit => {
                        from = last;
                    }
                    _ => return Ok(out),
                }
            }
        })
        .await
    }

    async fn outbox_entry(&self, id: &str) -> StoreResult<Option<Notification>> {
        let id = id.to_owned();
        self.with(move |c| outbox_entry(c, &id)).await
    }

    async fn query_attempts(&self, q: &AttemptQuery) -> StoreResult<Vec<DeliveryAttempt>> {
        let q = q.clone();
        self.with(move |c| {
            let sql = "SELECT record FROM attempts WHERE
                 (?1 IS NULL OR instr(fingerprints, ?1) > 0)
                 AND (?2 IS NULL OR receiver = ?2)
                 AND (?3 IS NULL OR outcome = ?3)
                 AND (?4 IS NULL OR at >= ?4)
                 AND (?5 IS NULL OR at < ?5)
                 ORDER BY seq DESC LIMIT ?6";
            rows(
                c,
                "attempt",
                sql,
                &[
                    &q.fingerprint.map(fp_needle),
                    &q.receiver,
                    &q.outcome.map(|o| o.as_str()),
                    &q.since.map(ts),
                    &q.until.map(ts),
                    &limit_sql(q.limit),
                ],
            )
        })
        .await
    }

    async fn query_events(&self, q: &EventQuery) -> StoreResult<Vec<AlertEvent>> {
        let q = q.clone();
        self.with(move |c| {
            let sql = "SELECT record FROM events WHERE
                 (?1 IS NULL OR at >= ?1)
                 AND (?2 IS NULL OR at < ?2)
                 AND (?3 IS NULL OR alert_name = ?3)
                 AND (?4 IS NULL OR fingerprint = ?4)
                 ORDER BY seq ASC LIMIT ?5";
            rows(
                c,
                "event",
                sql,
                &[
                    &q.since.map(ts),
                    &q.until.map(ts),
                    &q.alert_name,
                    &q.fingerprint.map(|f| f.to_string()),
                    &limit_sql(q.limit),
                ],
            )
        })
        .await
    }

    async fn query_actions(&self, q: &ActionQuery) -> StoreResult<Vec<ActionRecord>> {
        let q = q.clone();
        self.with(move |c| {
            let sql = "SELECT record FROM actions WHERE
                 (?1 IS NULL OR action = ?1)
                 AND (?2 IS NULL OR fingerprint = ?2)
                 AND (?3 IS NULL OR at >= ?3)
                 ORDER BY seq DESC LIMIT ?4";
            rows(
                c,
                "action record",
                sql,
                &[
                    &q.action,
                    &q.fingerprint.map(|f| f.to_string()),
                    &q.since.map(ts),
                    &limit_sql(q.limit),
                ],
            )
        })
        .await
    }

    async fn prune(&self, r: &Retention) -> StoreResult<PruneReport> {
        let before = ts(r.before);
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let del = |sql: &str| -> StoreResult<u64> {
                tx.execute(sql, params![before])
                    .map(|n| n as u64)
                    .map_err(sql_err)
            };
            let report = PruneReport {
                log: del("DELETE FROM log WHERE at < ?1")?,
                attempts: del("DELETE FROM attempts WHERE at < ?1")?,
                events: del("DELETE FROM events WHERE at < ?1")?,
                actions: del("DELETE FROM actions WHERE at < ?1")?,
                silences: del("DELETE FROM silences WHERE ends_at < ?1")?,
                receipts: del("DELETE FROM receipts WHERE at < ?1")?,
                dead_letters: del("DELETE FROM dead_letters WHERE at < ?1")?,
                quarantined: del("DELETE FROM quarantine WHERE at < ?1")?,
            };
            tx.commit().map_err(sql_err)?;
            Ok(report)
        })
        .await
    }

    async fn dead_letters(&self, q: &DeadLetterQuery) -> StoreResult<Vec<DeadLetter>> {
        let q = q.clone();
        self.with(move |c| {
            let sql = "SELECT record FROM dead_letters WHERE
                 (?1 IS NULL OR id = ?1)
                 AND (?2 IS NULL OR receiver = ?2)
                 AND (?3 IS NULL OR at >= ?3)
                 AND (?4 IS NULL OR at < ?4)
                 ORDER BY seq DESC LIMIT ?5";
            rows(
                c,
                "dead letter",
                sql,
                &[
                    &q.id,
                    &q.receiver,
                    &q.since.map(ts),
                    &q.until.map(ts),
                    &limit_sql(q.limit),
                ],
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page cache is capped at `cache_kib` (1 MiB unless set).
    #[tokio::test]
    async fn the_page_cache_is_capped_as_configured() {
        let dir = tempfile::tempdir().unwrap();
        let cache = |store: SqliteStore| async move {
            store
                .with(|c| {
                    c.query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0))
                        .map_err(sql_err)
                })
                .await
                .unwrap()
        };
        let default = SqliteStore::open(dir.path().join("a.db")).unwrap();
        assert_eq!(cache(default).await, -1024);
        let options = SqliteOptions {
            cache_kib: 256,
            ..SqliteOptions::default()
        };
        let small = SqliteStore::open_with(dir.path().join("b.db"), options).unwrap();
        assert_eq!(cache(small).await, -256);
    }

    /// A job that panics (a bug) fails its caller only: the store's thread lives on,
    /// the job's open transaction is rolled back, and the next jobs work.
    #[tokio::test]
    async fn a_panicking_job_fails_only_its_caller() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.db")).unwrap();
        let count = || {
            store.with(|c| {
                c.query_row("SELECT count(*) FROM quarantine", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(sql_err)
            })
        };
        let err = store
            .with(|c| -> StoreResult<()> {
                let tx = c.transaction().map_err(sql_err)?;
                tx.execute(
                    "INSERT INTO quarantine (at, tbl, row, error, record) VALUES (0, 't', 1, 'e', 'r')",
                    [],
                )
                .map_err(sql_err)?;
                panic!("a bug in a job");
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Unavailable { message, .. } if message.contains("panicked")),
            "{err:?}"
        );
        assert_eq!(count().await.unwrap(), 0, "the transaction was rolled back");
        let n = entry("n1");
        store.apply(&[Change::Enqueue(n.clone())]).await.unwrap();
        assert_eq!(store.pending_outbox(0).await.unwrap(), vec![n]);
    }

    fn alert(name: &str, summary: &str) -> AlertRecord {
        let a = alert_core::Alert::new(alert_core::Severity::Warning, name).with_summary(summary);
        AlertRecord::new(std::sync::Arc::new(a), Timestamp::now())
    }

    /// `r` received again with another summary.
    fn again(r: &AlertRecord, summary: &str) -> AlertRecord {
        let alert = (*r.alert).clone().with_summary(summary);
        AlertRecord::new(std::sync::Arc::new(alert), r.received_at)
    }

    /// A new store in a new directory, and its file.
    fn fresh() -> (tempfile::TempDir, PathBuf, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = SqliteStore::open(&path).unwrap();
        (dir, path, store)
    }

    fn group(key: &str, flushed: bool) -> GroupRecord {
        GroupRecord {
            key: key.into(),
            route: "root".into(),
            created_at: Timestamp::now(),
            next_flush_at: Timestamp::now(),
            flushed,
        }
    }

    /// `(fingerprint, summary)` of the stored alerts, in rowid order.
    fn stored_alerts(path: &Path) -> Vec<(String, String)> {
        let c = Connection::open(path).unwrap();
        let mut stmt = c
            .prepare("SELECT fingerprint, record FROM alerts ORDER BY rowid")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|row| {
                let (fp, record) = row.unwrap();
                let a: AlertRecord = serde_json::from_str(&record).unwrap();
                (fp, a.alert.summary.clone())
            })
            .collect()
    }

    fn quarantined(path: &Path) -> Vec<(String, String)> {
        let c = Connection::open(path).unwrap();
        let mut stmt = c
            .prepare("SELECT tbl, error FROM quarantine ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// A database written by schema version 1 (`alerts` and `groups` keyed by their
    /// text) is rewritten at open: every record is kept, and later writes update
    /// the rows in place.
    #[tokio::test]
    async fn a_version_1_database_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let (a, b) = (alert("A", "first"), alert("B", "second"));
        let (g1, g2) = (
            group("root:{seq=\"1\"}", false),
            group("root:{seq=\"2\"}", true),
        );
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE alerts (fingerprint TEXT PRIMARY KEY, record TEXT NOT NULL);
                 CREATE TABLE groups (key TEXT PRIMARY KEY, record TEXT NOT NULL);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
            for r in [&a, &b] {
                c.execute(
                    "INSERT INTO alerts (fingerprint, record) VALUES (?1, ?2)",
                    params![r.fingerprint().to_string(), to_json(r).unwrap()],
                )
                .unwrap();
            }
            for g in [&g1, &g2] {
                c.execute(
                    "INSERT INTO groups (key, record) VALUES (?1, ?2)",
                    params![g.key, to_json(g).unwrap()],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let version: i64 = store
            .with(|c| {
                c.query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(sql_err)
            })
            .await
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let snapshot = store.load().await.unwrap();
        let mut alerts = snapshot.alerts.clone();
        alerts.sort_by_key(|r| r.alert.name.clone());
        assert_eq!(alerts, [a.clone(), b.clone()]);
        assert_eq!(snapshot.groups, [g1.clone(), g2.clone()]);

        let a2 = again(&a, "updated");
        let g2_again = group(&g2.key, false);
        store
            .apply(&[
                Change::PutAlert(a2),
                Change::DeleteGroup(g1.key.clone()),
                Change::PutGroup(g2_again.clone()),
            ])
            .await
            .unwrap();
        let fp = |r: &AlertRecord| r.fingerprint().to_string();
        assert_eq!(
            stored_alerts(&path),
            [(fp(&a), "updated".into()), (fp(&b), "second".into())]
        );
        assert_eq!(store.load().await.unwrap().groups, [g2_again]);
        assert!(quarantined(&path).is_empty());
    }

    /// Events come back in the order they were written, not by their time, in a
    /// file created now (`events.seq` a plain rowid) and in one created before
    /// (`AUTOINCREMENT`) alike, also once every event was deleted (as a prune
    /// of old events may): a new event is numbered after every row present.
    #[tokio::test]
    async fn events_are_read_in_the_order_written_in_new_and_older_files() {
        use super::super::EventKind;
        let dir = tempfile::tempdir().unwrap();
        let older = dir.path().join("older.db");
        {
            let c = Connection::open(&older).unwrap();
            c.execute_batch(
                "CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    alert_name TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    record TEXT NOT NULL
                 );
                 CREATE INDEX events_at ON events (at);
                 PRAGMA user_version = 2;",
            )
            .unwrap();
        }
        let at = |s: i64| Timestamp::from_unix_seconds(1_800_000_000 + s).unwrap();
        let event = |name: &str, s: i64| {
            let a = alert_core::Alert::new(alert_core::Severity::Warning, name);
            AlertEvent::of(&a, EventKind::Fired, "root", at(s))
        };
        let names = |v: Vec<AlertEvent>| v.into_iter().map(|e| e.alert_name).collect::<Vec<_>>();
        for (path, autoincrement) in [(dir.path().join("new.db"), false), (older, true)] {
            let store = SqliteStore::open(&path).unwrap();
            let write = |events: Vec<AlertEvent>| {
                let changes: Vec<Change> = events.into_iter().map(Change::Event).collect();
                let store = &store;
                async move { store.apply(&changes).await.unwrap() }
            };
            write(vec![event("C", 30), event("A", 10), event("B", 20)]).await;
            let everything = EventQuery::default();
            let all = || store.query_events(&everything);
            assert_eq!(names(all().await.unwrap()), ["C", "A", "B"], "{path:?}");
            store
                .with(|c| exec(c, "DELETE FROM events", []))
                .await
                .unwrap();
            write(vec![event("E", 5), event("D", 4)]).await;
            write(vec![event("F", 3)]).await;
            assert_eq!(names(all().await.unwrap()), ["E", "D", "F"], "{path:?}");
            let sequenced: i64 = store
                .with(|c| {
                    c.query_row(
                        "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'
                         AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events')",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(sql_err)
                })
                .await
                .unwrap();
            assert_eq!(sequenced == 1, autoincrement, "{path:?}");
        }
    }

    /// Rows another connection added or removed are seen at the next write (its
    /// commit moves `data_version`): a key it added is updated, not added twice,
    /// and a key it removed is added again.
    #[tokio::test]
    async fn keyed_rows_written_by_another_connection_are_seen() {
        let (_dir, path, store) = fresh();
        let (a, b) = (alert("A", "a1"), alert("B", "b1"));
        store.apply(&[Change::PutAlert(a.clone())]).await.unwrap();
        {
            let other = Connection::open(&path).unwrap();
            other
                .execute(
                    "INSERT INTO alerts (fingerprint, record) VALUES (?1, ?2)",
                    params![b.fingerprint().to_string(), to_json(&b).unwrap()],
                )
                .unwrap();
            other
                .execute(
                    "DELETE FROM alerts WHERE fingerprint = ?1",
                    [a.fingerprint().to_string()],
                )
                .unwrap();
        }
        let b2 = again(&b, "b2");
        store.apply(&[Change::PutAlert(b2)]).await.unwrap();
        store.apply(&[Change::PutAlert(a.clone())]).await.unwrap();
        let fp = |r: &AlertRecord| r.fingerprint().to_string();
        assert_eq!(
            stored_alerts(&path),
            [(fp(&b), "b2".into()), (fp(&a), "a1".into())]
        );
    }

    /// A keyed row whose key is not a fingerprint, or that repeats the key of a
    /// later row (manual edits), is set aside at the next write; the later row is
    /// the one kept and updated.
    #[tokio::test]
    async fn damaged_keys_are_set_aside_at_the_next_write() {
        let (_dir, path, store) = fresh();
        let a = alert("A", "mine");
        store.apply(&[Change::PutAlert(a.clone())]).await.unwrap();
        let theirs = again(&a, "theirs");
        {
            let other = Connection::open(&path).unwrap();
            other
                .execute(
                    "INSERT INTO alerts (fingerprint, record) VALUES ('not-a-fingerprint', '{}')",
                    [],
                )
                .unwrap();
            other
                .execute(
                    "INSERT INTO alerts (fingerprint, record) VALUES (?1, ?2)",
                    params![a.fingerprint().to_string(), to_json(&theirs).unwrap()],
                )
                .unwrap();
        }
        store
            .apply(&[Change::PutGroup(group("g", false))])
            .await
            .unwrap();
        let aside = quarantined(&path);
        assert_eq!(aside.len(), 2, "{aside:?}");
        assert!(aside.iter().all(|(t, _)| t == "alerts"), "{aside:?}");
        assert!(aside[0].1.contains("invalid fingerprint"), "{aside:?}");
        assert!(aside[1].1.contains("repeated by row 3"), "{aside:?}");
        let fp = a.fingerprint().to_string();
        assert_eq!(stored_alerts(&path), [(fp.clone(), "theirs".into())]);
        store.apply(&[Change::PutAlert(a.clone())]).await.unwrap();
        assert_eq!(stored_alerts(&path), [(fp, "mine".into())]);
        assert_eq!(store.load().await.unwrap().alerts, [a]);
    }

    /// A write that fails is rolled back, and so is what it changed of the keys:
    /// the rowid its new alert took is given to the next new alert, and the first
    /// alert, written again, gets a row of its own instead of overwriting it.
    #[tokio::test]
    async fn a_failed_write_leaves_no_key_behind() {
        let (_dir, path, store) = fresh();
        store
            .with(|c| {
                c.execute_batch(
                    "CREATE TEMP TRIGGER poison BEFORE INSERT ON outbox WHEN NEW.id = 'poison'
                     BEGIN SELECT RAISE(ABORT, 'poisoned entry'); END;",
                )
                .map_err(sql_err)
            })
            .await
            .unwrap();
        let (a, b) = (alert("A", "a"), alert("B", "b"));
        let err = store
            .apply(&[
                Change::PutAlert(a.clone()),
                Change::Enqueue(entry("poison")),
            ])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("poisoned entry"), "{err}");
        assert!(stored_alerts(&path).is_empty());
        store.apply(&[Change::PutAlert(b.clone())]).await.unwrap();
        store.apply(&[Change::PutAlert(a.clone())]).await.unwrap();
        let fp = |r: &AlertRecord| r.fingerprint().to_string();
        assert_eq!(
            stored_alerts(&path),
            [(fp(&b), "b".into()), (fp(&a), "a".into())]
        );
    }

    fn entry(id: &str) -> Notification {
        Notification::new(
            id,
            "team",
            "hook",
            "g",
            crate::store::NotificationKind::Group,
            vec![alert_core::Alert::new(alert_core::Severity::Info, "X")],
            alert_core::Severity::Info,
            Timestamp::now(),
        )
    }

    /// Keys that went stale without another connection's commit to tell (a row
    /// removed on the store's own connection, outside a write) never lose a
    /// record: an update that finds no row adds it again.
    #[tokio::test]
    async fn an_update_that_finds_no_row_adds_it_again() {
        let (_dir, path, store) = fresh();
        let a = alert("A", "a1");
        store.apply(&[Change::PutAlert(a.clone())]).await.unwrap();
        store
            .with(|c| c.execute("DELETE FROM alerts", []).map_err(sql_err))
            .await
            .unwrap();
        let a2 = again(&a, "a2");
        store.apply(&[Change::PutAlert(a2)]).await.unwrap();
        assert_eq!(
            stored_alerts(&path),
            [(a.fingerprint().to_string(), "a2".into())]
        );
    }
}
