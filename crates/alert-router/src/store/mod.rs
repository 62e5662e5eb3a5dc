//! Durable state: the [`Store`] trait, its records, and the in-memory
//! [`MemoryStore`] (the library default).
//!
//! # Design
//!
//! The router keeps its working state in memory (the routing tree, the active alerts
//! and groups, the timer queue, the silence and inhibition indexes), because the hot
//! path must stay in the microseconds. Everything it must not lose is written through
//! a [`Store`]:
//!
//! * **Writes are batches of [`Change`]s**, applied atomically by [`Store::apply`].
//!   One ingest call, one group flush or one delivery outcome is one batch, so a SQL
//!   store does one transaction per batch and a batch of 100 alerts costs one commit.
//!   The router awaits `apply` before it answers (`Router::send` returns `Ok` after
//!   the alert is stored), so an acknowledged alert survives a crash. A refused
//!   batch is kept and written first by the next write, so the store never misses
//!   a change the router's memory already holds.
//! * **Batches are written in turn, prepared in parallel.** Batches are written in
//!   the order the router made them; requests that wait for their turn share one
//!   transaction (group commit). Before a request waits, the router hands its
//!   changes to [`Store::prepare`], so the work that needs neither the store's lock
//!   nor the order (the SQLite store encodes its rows) runs beside the write in
//!   progress, and [`Store::apply_prepared`] gets the result with the batch.
//! * **Reads are few**: [`Store::load`] once at start-up (the router rebuilds its
//!   indexes from the [`Snapshot`]); [`Store::last_notification`] and
//!   [`Store::receipt`] at flush/delivery time (per group, not per alert), so a shared
//!   store sees the notification log every replica wrote; queries for the API
//!   (`query_*`); [`Store::pending_outbox`] at start-up for delivery to resume.
//! * **Records are plain serde values** keyed by strings and fingerprints, with no
//!   in-process handles in them, so a store may keep them as rows, JSON columns or
//!   blobs. Router-internal state that nobody else queries (flap detection,
//!   escalation, action cool-downs) is an opaque [`StateRecord`] (`kind`, `key`,
//!   JSON `value`), so the router can evolve it without a schema change.
//! * **Idempotence**: every `Put*` is an upsert by key and every `Delete*` ignores a
//!   missing key, so replaying a batch (after a retry, or by a second replica) is
//!   harmless. Log, attempt, event and action records are appends.
//!
//! ## Several replicas (a PostgreSQL store, later)
//!
//! Nothing in the trait assumes one process: keys are global, the notification log
//! is read through the store before each group notification (Alertmanager replicas
//! gossip the same log), and appends carry their own timestamps. What a shared store
//! would add is a change feed so each replica refreshes silences, acks and alerts
//! written by others; that is an additive method with a default, not a change to the
//! router's calls.
//!
//! ## Where delivery plugs in
//!
//! The router never calls a channel directly from a flush: it builds a
//! [`Notification`] (with a unique `id` that doubles as the idempotency key) and
//! hands it to the [`Outbox`](crate::delivery::Outbox), which writes
//! [`Change::Enqueue`] **before the first attempt**, queues it by severity, and after
//! each attempt writes a [`DeliveryAttempt`] (and [`Change::Dequeue`] once delivered,
//! with the [`ReceiptRecord`] a later resolution needs; [`Change::Reschedule`]
//! persists a retry's next attempt). A notification the outbox gives up on is never
//! deleted: it goes to the receiver's fallback, or [`Change::DeadLetter`] moves it to
//! the dead letters ([`Store::dead_letters`]), kept until retention prunes it by age. The router writes the
//! notification-log entry only after the outbox accepted the notification, so a
//! crash in between can duplicate a notification but never lose one. On start-up
//! `RouterBuilder::build` starts the outbox, which reads [`Store::pending_outbox`] and
//! re-queues what was not done. Each channel's `Arc<dyn Notifier>` may be wrapped
//! in the delivery layers (timeout, rate limit, circuit breaker); the outbox retries.
//!
//! # Implementing a store
//!
//! Implement [`Store`] and run [`testsuite::run`] against it from a test; both
//! [`MemoryStore`] and the SQLite store pass it. `prepare` and `apply_prepared` are
//! optional (their defaults prepare nothing). `apply` must be atomic (all changes
//! or none) and must return an error, never panic, when the medium fails (disk full,
//! database locked): the router reports it to the caller instead of losing the alert.
//! A stored record that no longer decodes should not fail the reads that return it
//! (`load`, `pending_outbox`, `outbox_entry`, the dedup lookups): the service could
//! not start, or would read it again forever. The SQLite store moves such a record
//! to its `quarantine` table, logs it and returns the others; do the same.

mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;
pub mod testsuite;

use std::sync::Arc;
use std::time::Duration;

use alert_core::{Alert, BoxError, Fingerprint, Receipt, Severity, Timestamp};
use serde::{Deserialize, Serialize};

use crate::silence::Silence;

pub use memory::MemoryStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// `Result` with [`StoreError`].
pub type StoreResult<T> = Result<T, StoreError>;

/// Why the store could not do what was asked.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The medium is not usable right now (database locked, disk full, connection
    /// lost). Nothing of the failed batch was written.
    #[error("store `{store}` unavailable: {message}")]
    Unavailable {
        /// The store (`memory`, `sqlite`).
        store: &'static str,
        /// What happened.
        message: String,
    },
    /// A stored record could not be read back.
    #[error("store `{store}`: corrupt record {what}: {message}")]
    Corrupt {
        /// The store.
        store: &'static str,
        /// Which record (`silence 1f2e...`).
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// Anything else.
    #[error("store `{store}`: {source}")]
    Other {
        /// The store.
        store: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

/// An alert the router tracks, as stored.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// The latest version received (its `status` is what the sender said).
    pub alert: Arc<Alert>,
    /// The alert's fingerprint (the key).
    pub fingerprint: Fingerprint,
    /// When the router first saw this fingerprint (this episode).
    pub received_at: Timestamp,
    /// When it last received it.
    pub updated_at: Timestamp,
    /// When the router considers it resolved (after `keep_firing_for`); `None` while
    /// firing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// A resolution held back by `keep_firing_for` until this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_until: Option<Timestamp>,
}

impl AlertRecord {
    /// A record for an alert first seen at `at`.
    pub fn new(alert: Arc<Alert>, at: Timestamp) -> AlertRecord {
        let fp = alert.fingerprint();
        AlertRecord::with_fingerprint(alert, fp, at)
    }
    /// A record whose fingerprint the caller already computed.
    pub fn with_fingerprint(
        alert: Arc<Alert>,
        fingerprint: Fingerprint,
        at: Timestamp,
    ) -> AlertRecord {
        AlertRecord {
            alert,
            fingerprint,
            received_at: at,
            updated_at: at,
            resolved_at: None,
            keep_firing_until: None,
        }
    }
    /// The alert's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

/// An aggregation group's timer state: the alerts one route collects under the same
/// `group_by` values.
///
/// Membership is not stored: at start-up the router routes the stored alerts again
/// (so a changed routing config applies at once) and joins them to the groups with
/// the same key, which keep their timers. Writing a group is O(1) whatever its size.
///
/// The router writes a group when it is created and at its first flush, not at every
/// `group_interval` tick: once it has flushed, `next_flush_at` is the time of its
/// second flush, and a group restored after that time flushes at once (the
/// notification log's dedup sends only what changed).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    /// Stable key: `route-id:{label="value",...}`.
    pub key: String,
    /// The route's id (its path in the tree, e.g. `root/1/0`, or its `name`).
    pub route: String,
    /// When the group was created.
    pub created_at: Timestamp,
    /// When it flushes next (as of its last write: creation or first flush).
    pub next_flush_at: Timestamp,
    /// Whether it has flushed at least once (later alerts wait for `group_interval`).
    pub flushed: bool,
}

/// An acknowledgement: someone is on it. Stops escalation and repeats for the
/// fingerprint until it resolves.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The acknowledged alert.
    pub fingerprint: Fingerprint,
    /// Who.
    pub by: String,
    /// Why or what they do.
    #[serde(default)]
    pub comment: String,
    /// When.
    pub at: Timestamp,
}

impl Ack {
    /// An acknowledgement of `fingerprint` by `by` at `at`.
    pub fn new(fingerprint: Fingerprint, by: impl Into<String>, at: Timestamp) -> Ack {
        Ack {
            fingerprint,
            by: by.into(),
            comment: String::new(),
            at,
        }
    }
    /// Sets the comment.
    pub fn with_comment(mut self, c: impl Into<String>) -> Ack {
        self.comment = c.into();
        self
    }
}

/// Router-internal state nobody else reads (flap detection, escalation, cool-downs),
/// stored opaquely.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateRecord {
    /// The kind (`flap`, `escalation`, `cooldown`).
    pub kind: String,
    /// The key within the kind (usually a fingerprint, maybe with a route).
    pub key: String,
    /// The value.
    pub value: serde_json::Value,
}

impl StateRecord {
    /// A record.
    pub fn new(kind: impl Into<String>, key: impl Into<String>, value: serde_json::Value) -> Self {
        StateRecord {
            kind: kind.into(),
            key: key.into(),
            value,
        }
    }
}

/// What a notification-log entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// A group notification was queued for a channel (the dedup state).
    Notified,
    /// An alert started flapping; one notice was queued.
    Flapping,
    /// An alert escalated to a further receiver.
    Escalated,
    /// An alert was acknowledged.
    Acked,
    /// An automated action ran (or was skipped or dry-run) for an alert.
    Action,
}

impl LogKind {
    /// The snake-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            LogKind::Notified => "notified",
            LogKind::Flapping => "flapping",
            LogKind::Escalated => "escalated",
            LogKind::Acked => "acked",
            LogKind::Action => "action",
        }
    }
}

/// One entry of the notification log: what went where, and acks and escalations.
///
/// The latest [`LogKind::Notified`] entry for a `(receiver, channel, group_key)` is
/// the dedup state Alertmanager calls the nflog.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// When.
    pub at: Timestamp,
    /// What.
    pub kind: LogKind,
    /// The receiver (empty for an ack).
    #[serde(default)]
    pub receiver: String,
    /// The channel within the receiver (empty when not about one channel).
    #[serde(default)]
    pub channel: String,
    /// The group (empty when not about a group).
    #[serde(default)]
    pub group_key: String,
    /// Firing fingerprints in the notification (or the one acked/escalated).
    #[serde(default)]
    pub firing: Vec<Fingerprint>,
    /// Resolved fingerprints in the notification.
    #[serde(default)]
    pub resolved: Vec<Fingerprint>,
    /// The outbox id of the notification, if one was queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_id: Option<String>,
    /// Who (acks) or a detail (escalation level, action outcome).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl LogEntry {
    /// An entry of `kind` at `at`, other fields empty.
    pub fn new(kind: LogKind, at: Timestamp) -> LogEntry {
        LogEntry {
            at,
            kind,
            receiver: String::new(),
            channel: String::new(),
            group_key: String::new(),
            firing: Vec::new(),
            resolved: Vec::new(),
            notification_id: None,
            detail: String::new(),
        }
    }
}

/// A filter over the notification log; empty fields do not filter. Results are
/// newest first. Start from `LogQuery::default()` and set fields.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogQuery {
    /// Entries naming this fingerprint (firing or resolved).
    pub fingerprint: Option<Fingerprint>,
    /// This receiver.
    pub receiver: Option<String>,
    /// This group.
    pub group_key: Option<String>,
    /// These kinds (empty: all).
    pub kinds: Vec<LogKind>,
    /// At or after.
    pub since: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// The receipt of the last delivered notification of a group through one channel,
/// handed back to the channel's `update` for the resolution.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRecord {
    /// The receiver.
    pub receiver: String,
    /// The channel.
    pub channel: String,
    /// The group.
    pub group_key: String,
    /// The receipt.
    pub receipt: Receipt,
    /// When it was delivered.
    pub at: Timestamp,
}

/// What kind of message a [`Notification`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A group notification (`Notifier::notify_group`).
    Group,
    /// The resolution of a group delivered before (`Notifier::update` with the stored
    /// receipt, or `notify_group` when there is none).
    Resolve,
    /// A single-alert notice: flapping, escalation (`Notifier::notify`).
    Notice,
}

/// A notification to deliver through one channel of one receiver: the outbox entry.
///
/// Written to the store ([`Change::Enqueue`]) before the first attempt; removed
/// ([`Change::Dequeue`]) when delivered, moved to the dead letters
/// ([`Change::DeadLetter`]) when given up.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique id, stable across resends (the outbox's key for this notification).
    ///
    /// Channels are not handed this id (a `Notifier` call gets only the alerts); the
    /// channels that avoid duplicates after a crash do it with their own keys: see
    /// the outbox's "at least once" section.
    pub id: String,
    /// The receiver.
    pub receiver: String,
    /// The channel within the receiver.
    pub channel: String,
    /// The group it is about (empty for notices outside a group).
    pub group_key: String,
    /// How to deliver it.
    pub kind: NotificationKind,
    /// The alerts (one for a notice).
    pub alerts: Vec<Alert>,
    /// Its priority: the group's highest firing severity.
    pub severity: Severity,
    /// When it was queued.
    pub created_at: Timestamp,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// When to try next (`None`: as soon as possible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    /// When this notification is a fallback: the receiver whose delivery failed and
    /// handed it over (see `Receiver::fallback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_from: Option<String>,
}

impl Notification {
    /// A new notification (no attempts yet).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: impl Into<String>,
        receiver: impl Into<String>,
        channel: impl Into<String>,
        group_key: impl Into<String>,
        kind: NotificationKind,
        alerts: Vec<Alert>,
        severity: Severity,
        created_at: Timestamp,
    ) -> Notification {
        Notification {
            id: id.into(),
            receiver: receiver.into(),
            channel: channel.into(),
            group_key: group_key.into(),
            kind,
            alerts,
            severity,
            created_at,
            attempts: 0,
            next_attempt_at: None,
            fallback_from: None,
        }
    }
    /// The fingerprints of its alerts.
    pub fn fingerprints(&self) -> Vec<Fingerprint> {
        self.alerts.iter().map(Alert::fingerprint).collect()
    }
}

/// How one delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// Delivered.
    Delivered,
    /// Failed; another attempt may follow.
    Failed,
    /// Failed and given up (permanent error, attempts or deadline exhausted): the
    /// notification is kept as a [`DeadLetter`].
    GaveUp,
    /// Failed for good (as [`GaveUp`](AttemptOutcome::GaveUp)) or refused by an open
    /// circuit breaker, and handed to the receiver's fallback: the attempt's
    /// [`fallback`](DeliveryAttempt::fallback) names it, and the fallback's own
    /// notifications are in the outbox (written in the same transaction).
    FellBack,
}

impl AttemptOutcome {
    /// The snake-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::GaveUp => "gave_up",
            AttemptOutcome::FellBack => "fell_back",
        }
    }
}

/// One delivery attempt, for history and receipts.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// The notification's id.
    pub notification_id: String,
    /// The receiver.
    pub receiver: String,
    /// The channel.
    pub channel: String,
    /// The group.
    #[serde(default)]
    pub group_key: String,
    /// The alerts' fingerprints.
    pub fingerprints: Vec<Fingerprint>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it started.
    pub at: Timestamp,
    /// How long it took.
    pub latency: Duration,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The error kind (`NotifyError::kind`), on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The error text (never a secret), on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The receipt, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// On [`AttemptOutcome::FellBack`]: the receiver that took the notification over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// On the attempts of a fallback notification: the receiver that handed it over
    /// ([`Notification::fallback_from`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_from: Option<String>,
}

impl DeliveryAttempt {
    /// An attempt record for `n` (attempt number `attempt`), with outcome and timing.
    pub fn of(
        n: &Notification,
        attempt: u32,
        at: Timestamp,
        latency: Duration,
        outcome: AttemptOutcome,
    ) -> DeliveryAttempt {
        DeliveryAttempt {
            notification_id: n.id.clone(),
            receiver: n.receiver.clone(),
            channel: n.channel.clone(),
            group_key: n.group_key.clone(),
            fingerprints: n.fingerprints(),
            attempt,
            at,
            latency,
            outcome,
            error_kind: None,
            error: None,
            receipt: None,
            fallback: None,
            fallback_from: n.fallback_from.clone(),
        }
    }
}

/// A filter over delivery attempts; newest first.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttemptQuery {
    /// Attempts carrying this fingerprint.
    pub fingerprint: Option<Fingerprint>,
    /// This receiver.
    pub receiver: Option<String>,
    /// This outcome.
    pub outcome: Option<AttemptOutcome>,
    /// At or after.
    pub since: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// A notification the outbox gave up on (a permanent error, or the retry policy's
/// attempts or deadline used up) for a receiver without a fallback.
///
/// It is **kept**, not deleted: [`Store::dead_letters`] lists it (the API shows it),
/// `Outbox::redeliver` queues it again once the cause is fixed, and retention
/// prunes it after its age like the rest of the history.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The notification as it was when given up (its `attempts` made).
    pub notification: Notification,
    /// When it was given up.
    pub at: Timestamp,
    /// Why: `permanent` (the error says retrying cannot help), `attempts` (the
    /// retry policy's attempts used up) or `deadline` (its time budget used up).
    pub reason: String,
    /// The last error's kind (`NotifyError::kind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The last error's text (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DeadLetter {
    /// `notification`, given up at `at` for `reason`.
    pub fn new(notification: Notification, at: Timestamp, reason: impl Into<String>) -> DeadLetter {
        DeadLetter {
            notification,
            at,
            reason: reason.into(),
            error_kind: None,
            error: None,
        }
    }
    /// Sets the last error's kind and text.
    pub fn with_error(mut self, kind: impl Into<String>, text: impl Into<String>) -> DeadLetter {
        self.error_kind = Some(kind.into());
        self.error = Some(text.into());
        self
    }
    /// The notification's id.
    pub fn id(&self) -> &str {
        &self.notification.id
    }
}

/// A filter over dead letters; newest first. Empty fields do not filter.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadLetterQuery {
    /// This notification id.
    pub id: Option<String>,
    /// This receiver.
    pub receiver: Option<String>,
    /// Given up at or after.
    pub since: Option<Timestamp>,
    /// Given up before.
    pub until: Option<Timestamp>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// Why the router did not notify about an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressReason {
    /// The same fingerprint was received again with nothing new to say.
    Dedup,
    /// A silence matched.
    Silenced,
    /// An inhibition rule matched.
    Inhibited,
    /// The alert was flapping.
    Flapping,
    /// A route's mute time interval was in effect.
    MuteInterval,
    /// Outside a route's active time intervals.
    InactiveInterval,
    /// The alert was acknowledged (a repeat was held back).
    Acked,
}

impl SuppressReason {
    /// Every reason.
    pub const ALL: [SuppressReason; 7] = [
        SuppressReason::Dedup,
        SuppressReason::Silenced,
        SuppressReason::Inhibited,
        SuppressReason::Flapping,
        SuppressReason::MuteInterval,
        SuppressReason::InactiveInterval,
        SuppressReason::Acked,
    ];
    /// The snake-case name (metrics label value).
    pub const fn as_str(self) -> &'static str {
        match self {
            SuppressReason::Dedup => "dedup",
            SuppressReason::Silenced => "silenced",
            SuppressReason::Inhibited => "inhibited",
            SuppressReason::Flapping => "flapping",
            SuppressReason::MuteInterval => "mute_interval",
            SuppressReason::InactiveInterval => "inactive_interval",
            SuppressReason::Acked => "acked",
        }
    }
}

/// What happened to an alert, for the effectiveness report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "reason")]
pub enum EventKind {
    /// It started firing (a new episode).
    Fired,
    /// It resolved.
    Resolved,
    /// A notification about it was queued.
    Notified,
    /// It was held back, and why (counted once per episode and reason).
    Suppressed(SuppressReason),
    /// It started flapping.
    Flapping,
    /// It was acknowledged.
    Acked,
    /// It escalated.
    Escalated,
}

/// One event in an alert's life.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// When.
    pub at: Timestamp,
    /// What.
    pub kind: EventKind,
    /// The alert.
    pub fingerprint: Fingerprint,
    /// Its name (for per-name reports).
    pub alert_name: String,
    /// The route it concerns, when one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub route: String,
    /// Its severity then.
    pub severity: Severity,
}

impl AlertEvent {
    /// An event about `alert`.
    pub fn of(alert: &Alert, kind: EventKind, route: &str, at: Timestamp) -> AlertEvent {
        AlertEvent::of_fingerprint(alert, alert.fingerprint(), kind, route, at)
    }
    /// An event about `alert` whose fingerprint the caller already computed.
    pub fn of_fingerprint(
        alert: &Alert,
        fingerprint: Fingerprint,
        kind: EventKind,
        route: &str,
        at: Timestamp,
    ) -> AlertEvent {
        AlertEvent {
            at,
            kind,
            fingerprint,
            alert_name: alert.name.clone(),
            route: route.to_owned(),
            severity: alert.severity,
        }
    }
}

/// A filter over events; oldest first (reports read them in order).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventQuery {
    /// At or after.
    pub since: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
    /// This alert name.
    pub alert_name: Option<String>,
    /// This fingerprint.
    pub fingerprint: Option<Fingerprint>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// How an automated action ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum ActionOutcome {
    /// It ran and succeeded, with what it said.
    Succeeded {
        /// Output (truncated).
        output: String,
    },
    /// It ran and failed.
    Failed {
        /// The error.
        error: String,
    },
    /// Dry-run: it would have run.
    DryRun,
    /// Skipped: the fingerprint's cool-down had not passed.
    Cooldown {
        /// When the cool-down ends.
        until: Timestamp,
    },
}

/// The audit record of an automated action: what ran, when, for which alert, and
/// the outcome.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// When it started.
    pub at: Timestamp,
    /// The action's name.
    pub action: String,
    /// The alert.
    pub fingerprint: Fingerprint,
    /// Its name.
    pub alert_name: String,
    /// The route that triggered it.
    #[serde(default)]
    pub route: String,
    /// How long it ran.
    pub duration: Duration,
    /// What happened.
    pub outcome: ActionOutcome,
}

/// A filter over action records; newest first.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionQuery {
    /// This action.
    pub action: Option<String>,
    /// This fingerprint.
    pub fingerprint: Option<Fingerprint>,
    /// At or after.
    pub since: Option<Timestamp>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// What to prune: records older than `before`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Log entries, attempts, events, action records, dead letters (by the time
    /// they were given up) and expired silences that ended before this instant are
    /// removed. Pending outbox entries, active alerts, groups, acks and state are
    /// never pruned by age.
    pub before: Timestamp,
}

impl Retention {
    /// Prune what is older than `before`.
    pub fn before(before: Timestamp) -> Retention {
        Retention { before }
    }
}

/// How many records [`Store::prune`] removed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Notification-log entries.
    pub log: u64,
    /// Delivery attempts.
    pub attempts: u64,
    /// Events.
    pub events: u64,
    /// Action records.
    pub actions: u64,
    /// Expired silences.
    pub silences: u64,
    /// Receipts of groups not delivered since.
    pub receipts: u64,
    /// Dead letters given up before the cut-off.
    pub dead_letters: u64,
    /// Unreadable records set aside before the cut-off (the SQLite store's
    /// `quarantine` table; always 0 for stores without one).
    pub quarantined: u64,
}

impl PruneReport {
    /// The total.
    pub fn total(&self) -> u64 {
        self.log
            + self.attempts
            + self.events
            + self.actions
            + self.silences
            + self.receipts
            + self.dead_letters
            + self.quarantined
    }
}

/// Everything the router reloads at start-up.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Active alerts (firing, or resolved and not yet notified).
    pub alerts: Vec<AlertRecord>,
    /// Aggregation groups.
    pub groups: Vec<GroupRecord>,
    /// Silences (all states not pruned).
    pub silences: Vec<Silence>,
    /// Acknowledgements.
    pub acks: Vec<Ack>,
    /// Router-internal state.
    pub states: Vec<StateRecord>,
}

/// One write. A batch of changes is applied atomically by [`Store::apply`].
///
/// The enum is deliberately not `#[non_exhaustive]`: a new kind of change must be
/// handled by every store, so adding one is a compile-checked break for store
/// authors rather than a silently ignored write.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Upsert an alert by fingerprint.
    PutAlert(AlertRecord),
    /// Forget an alert.
    DeleteAlert(Fingerprint),
    /// Upsert a group by key.
    PutGroup(GroupRecord),
    /// Forget a group.
    DeleteGroup(String),
    /// Upsert a silence by id.
    PutSilence(Silence),
    /// Remove a silence (pruning; expiring is a `PutSilence` with a past `ends_at`).
    DeleteSilence(String),
    /// Upsert an ack by fingerprint.
    PutAck(Ack),
    /// Remove an ack.
    DeleteAck(Fingerprint),
    /// Upsert router-internal state by `(kind, key)`.
    PutState(StateRecord),
    /// Remove router-internal state.
    DeleteState {
        /// The kind.
        kind: String,
        /// The key.
        key: String,
    },
    /// Append to the notification log.
    Log(LogEntry),
    /// Upsert the receipt of a group's last delivery by `(receiver, channel, group_key)`.
    PutReceipt(ReceiptRecord),
    /// Write a notification to the outbox (before its first attempt).
    Enqueue(Notification),
    /// Record the attempts made and the next attempt's time of an outbox entry.
    Reschedule {
        /// The notification id.
        id: String,
        /// Attempts so far.
        attempts: u32,
        /// When to try next.
        next_attempt_at: Option<Timestamp>,
    },
    /// Remove a notification from the outbox (delivered, or handed to a fallback).
    Dequeue(String),
    /// Move a notification the outbox gave up on from the outbox to the dead
    /// letters: removes its outbox entry (if any) and upserts the [`DeadLetter`] by
    /// notification id, both in the batch's transaction.
    DeadLetter(DeadLetter),
    /// Remove a dead letter (it was queued again, or is no longer wanted); a
    /// missing id is ignored.
    DeleteDeadLetter(String),
    /// Append a delivery attempt.
    Attempt(DeliveryAttempt),
    /// Append an event.
    Event(AlertEvent),
    /// Append an action audit record.
    Action(ActionRecord),
}

/// What [`Store::prepare`] made of a run of changes: the store's own form of
/// them, handed back to [`Store::apply_prepared`].
pub struct Prepared {
    len: usize,
    form: Box<dyn std::any::Any + Send>,
}

impl Prepared {
    /// `form`, made from a run of `len` changes.
    pub fn new<T: std::any::Any + Send>(len: usize, form: T) -> Prepared {
        Prepared {
            len,
            form: Box::new(form),
        }
    }

    /// How many changes it was made from.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Made from no change.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The form, if it is a `T`; otherwise `self` back.
    pub fn into_form<T: std::any::Any>(self) -> Result<T, Prepared> {
        match self.form.downcast::<T>() {
            Ok(form) => Ok(*form),
            Err(form) => Err(Prepared {
                len: self.len,
                form,
            }),
        }
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Durable state for the router; see the [module docs](self) for the design.
///
/// Dyn-compatible (`Arc<dyn Store>`), `&self` only.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// A short name for errors and logs (`memory`, `sqlite`).
    fn name(&self) -> &'static str;

    /// Applies a batch atomically: all changes or none.
    async fn apply(&self, changes: &[Change]) -> StoreResult<()>;

    /// Does ahead of time the part of writing `changes` that needs neither the
    /// store's lock nor the write order (a database encodes its rows), for
    /// [`apply_prepared`](Store::apply_prepared). The router calls it on each
    /// request's changes before they wait for their turn to be written, so
    /// concurrent requests prepare in parallel and only the write itself is taken
    /// in turn. `None` (the default): nothing to do ahead.
    fn prepare(&self, changes: &[Change]) -> Option<Prepared> {
        let _ = changes;
        None
    }

    /// [`apply`](Store::apply), given what [`prepare`](Store::prepare) made of runs
    /// of `changes`: each part is the index of its run's first change and the
    /// prepared run, in order and not overlapping. Changes outside every part, and
    /// parts the store does not recognise, are written as `apply` writes them; the
    /// outcome is the same as `apply(changes)`. The default is `apply(changes)`.
    async fn apply_prepared(
        &self,
        changes: &[Change],
        parts: Vec<(usize, Prepared)>,
    ) -> StoreResult<()> {
        drop(parts);
        self.apply(changes).await
    }

    /// Reads what the router reloads at start-up.
    async fn load(&self) -> StoreResult<Snapshot>;

    /// The latest [`LogKind::Notified`] entry for a group through one channel: the
    /// dedup state.
    async fn last_notification(
        &self,
        receiver: &str,
        channel: &str,
        group_key: &str,
    ) -> StoreResult<Option<LogEntry>>;

    /// [`last_notification`](Store::last_notification) for several `(receiver,
    /// channel, group_key)` at once, answers in the same order. The router asks for
    /// every group of a flush in one call; stores with a round-trip cost (a
    /// database) override it to answer in one go.
    async fn last_notifications(
        &self,
        keys: &[(&str, &str, &str)],
    ) -> StoreResult<Vec<Option<LogEntry>>> {
        let mut out = Vec::with_capacity(keys.len());
        for (receiver, channel, group_key) in keys {
            out.push(self.last_notification(receiver, channel, group_key).await?);
        }
        Ok(out)
    }

    /// The receipt of the group's last delivery through one channel.
    async fn receipt(
        &self,
        receiver: &str,
        channel: &str,
        group_key: &str,
    ) -> StoreResult<Option<ReceiptRecord>>;

    /// Notification-log entries, newest first.
    async fn query_log(&self, q: &LogQuery) -> StoreResult<Vec<LogEntry>>;

    /// Outbox entries not yet delivered nor given up, oldest first (at most `limit`,
    /// 0 for all).
    async fn pending_outbox(&self, limit: usize) -> StoreResult<Vec<Notification>>;

    /// Pending outbox entries in the order of [`pending_outbox`](Store::pending_outbox),
    /// from the one after the entry `after` (`None`: from the first), at most `limit`
    /// (0 for all). When `after` is not pending the answer is empty. The outbox
    /// resumes its backlog at start-up a page at a time with this, so a large backlog
    /// (a long outage, then a restart) is never held in memory whole. A store that
    /// sets aside entries it cannot read should fill the page past them, so that a
    /// page shorter than `limit` is the last (the SQLite store does).
    ///
    /// The default reads [`pending_outbox`](Store::pending_outbox) whole and skips:
    /// correct, but a store should answer from its index ([`MemoryStore`] and the
    /// SQLite store do), and a store that wraps another must forward it.
    async fn pending_outbox_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        let all = self.pending_outbox(0).await?;
        let start = match after {
            None => 0,
            Some(id) => match all.iter().position(|n| n.id == id) {
                Some(i) => i + 1,
                None => return Ok(Vec::new()),
            },
        };
        let rest = all.into_iter().skip(start);
        Ok(if limit == 0 {
            rest.collect()
        } else {
            rest.take(limit).collect()
        })
    }

    /// The pending outbox entry `id`, if the store holds it. The outbox reads a
    /// waiting notification back with this when its turn comes and it was not kept
    /// in memory (see `OutboxBuilder::memory_limit`).
    ///
    /// The default scans [`pending_outbox`](Store::pending_outbox): correct, but a
    /// store should answer from its index ([`MemoryStore`] and the SQLite store do).
    async fn outbox_entry(&self, id: &str) -> StoreResult<Option<Notification>> {
        Ok(self
            .pending_outbox(0)
            .await?
            .into_iter()
            .find(|n| n.id == id))
    }

    /// Delivery attempts, newest first.
    async fn query_attempts(&self, q: &AttemptQuery) -> StoreResult<Vec<DeliveryAttempt>>;

    /// Events, oldest first.
    async fn query_events(&self, q: &EventQuery) -> StoreResult<Vec<AlertEvent>>;

    /// Action audit records, newest first.
    async fn query_actions(&self, q: &ActionQuery) -> StoreResult<Vec<ActionRecord>>;

    /// Removes history older than the retention cut-off.
    async fn prune(&self, r: &Retention) -> StoreResult<PruneReport>;

    /// Dead letters ([`Change::DeadLetter`]), newest first.
    ///
    /// The default fails with [`StoreError::Other`] saying the store does not keep
    /// dead letters, so a store (or a wrapper that forgets to forward this) never
    /// reports "none" when it cannot know; [`MemoryStore`] and the SQLite store
    /// implement it.
    async fn dead_letters(&self, q: &DeadLetterQuery) -> StoreResult<Vec<DeadLetter>> {
        let _ = q;
        Err(StoreError::Other {
            store: self.name(),
            source: "this store does not implement `dead_letters`".into(),
        })
    }
}

// Compile-time check that the trait stays dyn-compatible.
const _: fn() = || {
    fn assert_dyn(_: Arc<dyn Store>) {}
    let _ = assert_dyn;
};
