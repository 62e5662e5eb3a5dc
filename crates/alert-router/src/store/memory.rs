//! [`MemoryStore`]: the in-memory [`Store`], the library default.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use alert_core::Fingerprint;

use super::{
    Ack, ActionQuery, ActionRecord, AlertEvent, AlertRecord, AttemptQuery, Change, DeadLetter,
    DeadLetterQuery, DeliveryAttempt, EventQuery, GroupRecord, LogEntry, LogKind, LogQuery,
    Notification, PruneReport, ReceiptRecord, Retention, Snapshot, StateRecord, Store, StoreError,
    StoreResult,
};
use crate::silence::Silence;

type Key3 = (String, String, String);

#[derive(Debug, Default)]
struct Inner {
    alerts: HashMap<Fingerprint, AlertRecord>,
    groups: HashMap<String, GroupRecord>,
    silences: BTreeMap<String, Silence>,
    acks: HashMap<Fingerprint, Ack>,
    states: BTreeMap<(String, String), StateRecord>,
    log: BTreeMap<u64, LogEntry>,
    seq: u64,
    last_notified: HashMap<Key3, u64>,
    receipts: HashMap<Key3, ReceiptRecord>,
    outbox: BTreeMap<u64, Notification>,
    outbox_ids: HashMap<String, u64>,
    dead: BTreeMap<u64, DeadLetter>,
    dead_ids: HashMap<String, u64>,
    attempts: Vec<DeliveryAttempt>,
    events: Vec<AlertEvent>,
    actions: Vec<ActionRecord>,
}

/// Keeps everything in process memory: state survives a `Router` being dropped and
/// rebuilt on the same store (share it with `Arc`), not a process exit.
///
/// [`MemoryStore::set_unavailable`] makes every call fail, to test how callers handle
/// a store that is down.
///
/// ```
/// use alert_router::store::{MemoryStore, Store};
/// let store = std::sync::Arc::new(MemoryStore::new());
/// assert_eq!(store.name(), "memory");
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    unavailable: AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// While `true`, every call fails with [`StoreError::Unavailable`] and writes
    /// nothing (fault injection for tests).
    pub fn set_unavailable(&self, down: bool) {
        self.unavailable.store(down, Ordering::SeqCst);
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Inner>> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                store: "memory",
                message: "set unavailable for a test".into(),
            });
        }
        // A panic while holding the lock cannot leave a half-applied batch in a state
        // worse than before: each change is a single map operation.
        Ok(self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn key3(r: &str, c: &str, g: &str) -> Key3 {
    (r.to_owned(), c.to_owned(), g.to_owned())
}

fn take<T>(it: impl Iterator<Item = T>, limit: usize) -> Vec<T> {
    if limit == 0 {
        it.collect()
    } else {
        it.take(limit).collect()
    }
}

impl Inner {
    fn apply(&mut self, c: &Change) {
        match c {
            Change::PutAlert(a) => {
                self.alerts.insert(a.fingerprint(), a.clone());
            }
            Change::DeleteAlert(fp) => {
                self.alerts.remove(fp);
            }
            Change::PutGroup(g) => {
                self.groups.insert(g.key.clone(), g.clone());
            }
            Change::DeleteGroup(k) => {
                self.groups.remove(k);
            }
            Change::PutSilence(s) => {
                self.silences.insert(s.id.clone(), s.clone());
            }
            Change::DeleteSilence(id) => {
                self.silences.remove(id);
            }
            Change::PutAck(a) => {
                self.acks.insert(a.fingerprint, a.clone());
            }
            Change::DeleteAck(fp) => {
                self.acks.remove(fp);
            }
            Change::PutState(s) => {
                self.states
                    .insert((s.kind.clone(), s.key.clone()), s.clone());
            }
            Change::DeleteState { kind, key } => {
                self.states.remove(&(kind.clone(), key.clone()));
            }
            Change::Log(e) => {
                self.seq += 1;
                if e.kind == LogKind::Notified {
                    self.last_notified
                        .insert(key3(&e.receiver, &e.channel, &e.group_key), self.seq);
                }
                self.log.insert(self.seq, e.clone());
            }
            Change::PutReceipt(r) => {
                self.receipts
                    .insert(key3(&r.receiver, &r.channel, &r.group_key), r.clone());
            }
            Change::Enqueue(n) => {
                if let Some(seq) = self.outbox_ids.get(&n.id) {
                    self.outbox.insert(*seq, n.clone());
                } else {
                    self.seq += 1;
                    self.outbox_ids.insert(n.id.clone(), self.seq);
                    self.outbox.insert(self.seq, n.clone());
                }
            }
            Change::Reschedule {
                id,
                attempts,
                next_attempt_at,
            } => {
                if let Some(n) = self
                    .outbox_ids
                    .get(id)
                    .and_then(|seq| self.outbox.get_mut(seq))
                {
                    n.attempts = *attempts;
                    n.next_attempt_at = *next_attempt_at;
                }
            }
            Change::Dequeue(id) => {
                if let Some(seq) = self.outbox_ids.remove(id) {
                    self.outbox.remove(&seq);
                }
            }
            Change::DeadLetter(d) => {
                if let Some(seq) = self.outbox_ids.remove(d.id()) {
                    self.outbox.remove(&seq);
                }
                // An upsert that keeps the original order.
                if let Some(seq) = self.dead_ids.get(d.id()) {
                    self.dead.insert(*seq, d.clone());
                } else {
                    self.seq += 1;
                    self.dead_ids.insert(d.id().to_owned(), self.seq);
                    self.dead.insert(self.seq, d.clone());
                }
            }
            Change::DeleteDeadLetter(id) => {
                if let Some(seq) = self.dead_ids.remove(id) {
                    self.dead.remove(&seq);
                }
            }
            Change::Attempt(a) => self.attempts.push(a.clone()),
            Change::Event(e) => self.events.push(e.clone()),
            Change::Action(a) => self.actions.push(a.clone()),
        }
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn apply(&self, changes: &[Change]) -> StoreResult<()> {
        let mut inner = self.lock()?;
        for c in changes {
            inner.apply(c);
        }
        Ok(())
    }

    async fn load(&self) -> StoreResult<Snapshot> {
        let inner = self.lock()?;
        let mut alerts: Vec<AlertRecord> = inner.alerts.values().cloned().collect();
        alerts.sort_by_key(|a| (a.received_at, a.fingerprint()));
        let mut groups: Vec<GroupRecord> = inner.groups.values().cloned().collect();
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        let mut acks: Vec<Ack> = inner.acks.values().cloned().collect();
        acks.sort_by_key(|a| a.fingerprint);
        Ok(Snapshot {
            alerts,
            groups,
            silences: inner.silences.values().cloned().collect(),
            acks,
            states: inner.states.values().cloned().collect(),
        })
    }

    async fn last_notification(
        &self,
        receiver: &str,
        channel: &str,
        group_key: &str,
    ) -> StoreResult<Option<LogEntry>> {
        let inner = self.lock()?;
        Ok(inner
            .last_notified
            .get(&key3(receiver, channel, group_key))
            .and_then(|seq| inner.log.get(seq))
            .cloned())
    }

    async fn receipt(
        &self,
        receiver: &str,
        channel: &str,
        group_key: &str,
    ) -> StoreResult<Option<ReceiptRecord>> {
        let inner = self.lock()?;
        Ok(inner
            .receipts
            .get(&key3(receiver, channel, group_key))
            .cloned())
    }

    async fn query_log(&self, q: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        let inner = self.lock()?;
        let it = inner
            .log
            .values()
            .rev()
            .filter(|e| {
                q.fingerprint
                    .is_none_or(|fp| e.firing.contains(&fp) || e.resolved.contains(&fp))
                    && q.receiver.as_ref().is_none_or(|r| *r == e.receiver)
                    && q.group_key.as_ref().is_none_or(|g| *g == e.group_key)
                    && (q.kinds.is_empty() || q.kinds.contains(&e.kind))
                    && q.since.is_none_or(|t| e.at >= t)
                    && q.until.is_none_or(|t| e.at < t)
            })
            .cloned();
        Ok(take(it, q.limit))
    }

    async fn pending_outbox(&self, limit: usize) -> StoreResult<Vec<Notification>> {
        let inner = self.lock()?;
        Ok(take(inner.outbox.values().cloned(), limit))
    }

    async fn pending_outbox_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        let inner = self.lock()?;
        let from = match after {
            None => std::ops::Bound::Unbounded,
            Some(id) => match inner.outbox_ids.get(id) {
                Some(seq) => std::ops::Bound::Excluded(*seq),
                None => return Ok(Vec::new()),
            },
        };
        Ok(take(
            inner
                .outbox
                .range((from, std::ops::Bound::Unbounded))
                .map(|(_, n)| n.clone()),
            limit,
        ))
    }

    async fn outbox_entry(&self, id: &str) -> StoreResult<Option<Notification>> {
        let inner = self.lock()?;
        Ok(inner
            .outbox_ids
            .get(id)
            .and_then(|seq| inner.outbox.get(seq))
            .cloned())
    }

    async fn query_attempts(&self, q: &AttemptQuery) -> StoreResult<Vec<DeliveryAttempt>> {
        let inner = self.lock()?;
        let it = inner
            .attempts
            .iter()
            .rev()
            .filter(|a| {
                q.fingerprint.is_none_or(|fp| a.fingerprints.contains(&fp))
                    && q.receiver.as_ref().is_none_or(|r| *r == a.receiver)
                    && q.outcome.is_none_or(|o| o == a.outcome)
                    && q.since.is_none_or(|t| a.at >= t)
                    && q.until.is_none_or(|t| a.at < t)
            })
            .cloned();
        Ok(take(it, q.limit))
    }

    async fn query_events(&self, q: &EventQuery) -> StoreResult<Vec<AlertEvent>> {
        let inner = self.lock()?;
        let it = inner
            .events
            .iter()
            .filter(|e| {
                q.since.is_none_or(|t| e.at >= t)
                    && q.until.is_none_or(|t| e.at < t)
                    && q.alert_name.as_ref().is_none_or(|n| *n == e.alert_name)
                    && q.fingerprint.is_none_or(|fp| fp == e.fingerprint)
            })
            .cloned();
        Ok(take(it, q.limit))
    }

    async fn query_actions(&self, q: &ActionQuery) -> StoreResult<Vec<ActionRecord>> {
        let inner = self.lock()?;
        let it = inner
            .actions
            .iter()
            .rev()
            .filter(|a| {
                q.action.as_ref().is_none_or(|n| *n == a.action)
                    && q.fingerprint.is_none_or(|fp| fp == a.fingerprint)
                    && q.since.is_none_or(|t| a.at >= t)
            })
            .cloned();
        Ok(take(it, q.limit))
    }

    async fn prune(&self, r: &Retention) -> StoreResult<PruneReport> {
        let mut inner = self.lock()?;
        let inner = &mut *inner;
        let mut report = PruneReport::default();
        let before = r.before;
        let old: Vec<u64> = inner
            .log
            .iter()
            .filter(|(_, e)| e.at < before)
            .map(|(k, _)| *k)
            .collect();
        for k in &old {
            inner.log.remove(k);
        }
        report.log = old.len() as u64;
        let log = &inner.log;
        inner.last_notified.retain(|_, seq| log.contains_key(seq));
        let n = inner.attempts.len();
        inner.attempts.retain(|a| a.at >= before);
        report.attempts = (n - inner.attempts.len()) as u64;
        let n = inner.events.len();
        inner.events.retain(|e| e.at >= before);
        report.events = (n - inner.events.len()) as u64;
        let n = inner.actions.len();
        inner.actions.retain(|a| a.at >= before);
        report.actions = (n - inner.actions.len()) as u64;
        let n = inner.silences.len();
        inner.silences.retain(|_, s| s.ends_at >= before);
        report.silences = (n - inner.silences.len()) as u64;
        let n = inner.receipts.len();
        inner.receipts.retain(|_, rc| rc.at >= before);
        report.receipts = (n - inner.receipts.len()) as u64;
        let n = inner.dead.len();
        inner.dead.retain(|_, d| d.at >= before);
        let dead = &inner.dead;
        inner.dead_ids.retain(|_, seq| dead.contains_key(seq));
        report.dead_letters = (n - inner.dead.len()) as u64;
        Ok(report)
    }

    async fn dead_letters(&self, q: &DeadLetterQuery) -> StoreResult<Vec<DeadLetter>> {
        let inner = self.lock()?;
        let it = inner
            .dead
            .values()
            .rev()
            .filter(|d| {
                q.id.as_ref().is_none_or(|id| id == d.id())
                    && q.receiver
                        .as_ref()
                        .is_none_or(|r| *r == d.notification.receiver)
                    && q.since.is_none_or(|t| d.at >= t)
                    && q.until.is_none_or(|t| d.at < t)
            })
            .cloned();
        Ok(take(it, q.limit))
    }
}
