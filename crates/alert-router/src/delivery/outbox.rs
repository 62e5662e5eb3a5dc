//! [`Outbox`]: durable, prioritised, at-least-once delivery of notifications.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::render::digest_alert;
use alert_core::{Layer, Notifier, NotifyError, Receipt, Severity, Timestamp};
use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::util::{catch_panic, intern};
use super::{
    BreakerConfig, BreakerHandle, BreakerState, CircuitBreakerLayer, ConcurrencyLimitLayer,
    NotifierBuilder, RateLimit, RateLimitLayer, RetryDecision, RetryPolicy, TimeoutLayer,
    is_circuit_open,
};
use crate::clock::{Clock, SystemClock};
use crate::store::{
    AttemptOutcome, Change, DeadLetter, DeadLetterQuery, DeliveryAttempt, Notification,
    NotificationKind, ReceiptRecord, Store, StoreError,
};

/// The error text recorded for an attempt whose channel panicked. The panic's own
/// message is not recorded (it may hold anything the channel formatted, secrets
/// included); the default panic hook prints it to stderr.
/// The default timeout of an attempt through the recommended stack
/// ([`OutboxBuilder::attempt_timeout`]).
const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Pending notifications read per store call when the outbox starts.
const RESUME_PAGE: usize = 256;

const PANICKED: &str = "the channel panicked (a bug in the channel; its message is on stderr)";

/// Why the outbox refused a notification. Nothing was queued when this is returned.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The store could not write the notification (database locked, disk full,
    /// read-only): the caller still owns it and must report or retry.
    #[error("the outbox could not store the notification: {0}")]
    Store(#[from] StoreError),
    /// No channel is registered under this receiver and channel name.
    #[error("no channel `{channel}` in receiver `{receiver}` is registered with the outbox")]
    UnknownChannel {
        /// The receiver.
        receiver: String,
        /// The channel.
        channel: String,
    },
    /// The outbox is shutting down.
    #[error("the outbox is shut down")]
    Closed,
    /// A fallback set with [`OutboxBuilder::fallback`] cannot work.
    #[error("receiver `{receiver}` cannot fall back to `{fallback}`: {reason}")]
    InvalidFallback {
        /// The receiver whose fallback it is.
        receiver: String,
        /// The fallback receiver.
        fallback: String,
        /// Why (no channels registered, a cycle).
        reason: String,
    },
}

/// A new unique notification id: 32 hex digits from the wall clock, the process id
/// and a counter, so ids from several processes and restarts do not collide.
pub fn new_notification_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = Timestamp::now().as_unix_nanos() as u64;
    let salt = (u64::from(std::process::id()) << 40) ^ n;
    format!("{now:016x}{salt:016x}")
}

type LaneKey = (String, String);

/// A waiting notification: in memory, or only its id when the outbox already holds
/// its [memory limit](OutboxBuilder::memory_limit) of notifications (read back from
/// the store when its turn comes).
enum Held {
    Loaded(Notification),
    Stored(String),
}

/// How many waiting notifications are in memory ([`Held::Loaded`]), across lanes.
struct Memory {
    loaded: AtomicUsize,
    limit: usize,
}

impl Memory {
    /// Keeps `n` in memory if there is room, else only its id.
    fn hold(&self, n: Notification) -> Held {
        if self.loaded.fetch_add(1, Ordering::Relaxed) < self.limit {
            Held::Loaded(n)
        } else {
            self.loaded.fetch_sub(1, Ordering::Relaxed);
            Held::Stored(n.id)
        }
    }

    /// `h` leaves the queue.
    fn release(&self, h: &Held) {
        if matches!(h, Held::Loaded(_)) {
            self.loaded.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A notification waiting in a lane, ordered by severity (highest first), then age.
struct Ready {
    severity: Severity,
    seq: u64,
    n: Held,
}

impl PartialEq for Ready {
    fn eq(&self, o: &Self) -> bool {
        self.seq == o.seq
    }
}
impl Eq for Ready {}
impl PartialOrd for Ready {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ready {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        self.severity
            .cmp(&o.severity)
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

/// A notification waiting for its retry time.
struct Delayed {
    at: Instant,
    seq: u64,
    severity: Severity,
    n: Held,
}
impl PartialEq for Delayed {
    fn eq(&self, o: &Self) -> bool {
        self.seq == o.seq
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Delayed {
    fn cmp(&self, o: &Self) -> CmpOrdering {
        self.at.cmp(&o.at).then_with(|| self.seq.cmp(&o.seq))
    }
}

/// A lane's notifications: waiting (ready or scheduled) and being attempted, under
/// one lock so the two counts are always read and changed together.
#[derive(Default)]
struct Queue {
    ready: BinaryHeap<Ready>,
    delayed: BinaryHeap<Reverse<Delayed>>,
    in_flight: usize,
}

struct Lane {
    receiver: String,
    channel: String,
    notifier: Arc<dyn Notifier>,
    breaker: Option<BreakerHandle>,
    queue: Mutex<Queue>,
    wake: Notify,
    memory: Arc<Memory>,
}

impl Lane {
    fn push_ready(&self, seq: u64, n: Notification) {
        let severity = n.severity;
        let n = self.memory.hold(n);
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ready
            .push(Ready { severity, seq, n });
        self.wake.notify_one();
    }

    fn push_delayed(&self, seq: u64, at: Instant, n: Notification) {
        let severity = n.severity;
        let n = self.memory.hold(n);
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .delayed
            .push(Reverse(Delayed {
                at,
                seq,
                severity,
                n,
            }));
        self.wake.notify_one();
    }

    /// The next due notification, or when the next one becomes due.
    fn pop(&self, now: Instant) -> Result<(Severity, Held), Option<Instant>> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        while q.delayed.peek().is_some_and(|d| d.0.at <= now) {
            if let Some(Reverse(d)) = q.delayed.pop() {
                q.ready.push(Ready {
                    severity: d.severity,
                    seq: d.seq,
                    n: d.n,
                });
            }
        }
        match q.ready.pop() {
            Some(r) => {
                q.in_flight += 1;
                self.memory.release(&r.n);
                Ok((r.severity, r.n))
            }
            None => Err(q.delayed.peek().map(|d| d.0.at)),
        }
    }

    /// Ends an attempt taken with [`pop`](Self::pop); `again` puts the notification
    /// back for a later attempt in the same step, so it is never counted twice nor
    /// missed by [`load`](Self::load).
    fn finish(&self, again: Option<(u64, Instant, Severity, Held)>) {
        let again = again.map(|(seq, at, severity, n)| {
            let n = match n {
                Held::Loaded(n) => self.memory.hold(n),
                stored => stored,
            };
            Reverse(Delayed {
                at,
                seq,
                severity,
                n,
            })
        });
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.in_flight = q.in_flight.saturating_sub(1);
        let wake = again.is_some();
        if let Some(d) = again {
            q.delayed.push(d);
        }
        drop(q);
        if wake {
            self.wake.notify_one();
        }
    }

    /// `(queued, in flight)`, read together.
    fn load(&self) -> (usize, usize) {
        let q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        (q.ready.len() + q.delayed.len(), q.in_flight)
    }
}

#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    delivered: AtomicU64,
    failed_attempts: AtomicU64,
    breaker_refusals: AtomicU64,
    gave_up: AtomicU64,
    fell_back: AtomicU64,
    resumed: AtomicU64,
    orphaned: AtomicU64,
    store_errors: AtomicU64,
}

/// Counters and gauges of an [`Outbox`].
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStats {
    /// Notifications accepted by [`Outbox::submit`] since start.
    pub submitted: u64,
    /// Notifications delivered since start.
    pub delivered: u64,
    /// Attempts that failed (each retry counts).
    pub failed_attempts: u64,
    /// Calls refused by the channel's open circuit breaker. Nothing was sent, so
    /// they are not attempts: not recorded in history, not counted in
    /// `failed_attempts` nor against the retry policy's attempts; the notification
    /// waits for the end of the cool-down (the policy's deadline still applies).
    pub breaker_refusals: u64,
    /// Notifications given up (permanent error, or the retry policy's limits) by a
    /// receiver without a fallback: each is kept as a dead letter
    /// ([`Outbox::dead_letters`]), never deleted.
    pub gave_up: u64,
    /// Notifications a receiver handed to its fallback (see
    /// [`OutboxBuilder::fallback`]) instead of giving up or waiting for its breaker.
    pub fell_back: u64,
    /// Pending notifications picked up from the store at start-up.
    pub resumed: u64,
    /// Pending notifications found at start-up for a channel that is not registered
    /// (left in the store untouched, delivered once the channel is back).
    pub orphaned: u64,
    /// Failed writes of outcomes to the store (retried until they succeed), and
    /// failed reads of queued notifications kept only as ids (tried again 1 s
    /// later).
    pub store_errors: u64,
    /// The error of the last failed write of outcomes while it is still failing
    /// (`None` once a write succeeds): the attempts it holds are delivered but not
    /// recorded yet, so they stay pending and would be re-sent after a crash.
    pub last_store_error: Option<String>,
    /// Notifications queued now (waiting or scheduled for a retry).
    pub queued: usize,
    /// Attempts running now, and deliveries whose outcome is not durable yet. Each
    /// lane's `queued` and `in_flight` are read together, so a notification between
    /// attempts is counted once.
    pub in_flight: usize,
    /// Queued notifications held in memory, at most the
    /// [memory limit](OutboxBuilder::memory_limit); the other queued ones are kept
    /// as ids and read back from the store when their turn comes.
    pub in_memory: usize,
}

/// The state of one channel of one receiver, for the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChannelStatus {
    /// The receiver.
    pub receiver: String,
    /// The channel.
    pub channel: String,
    /// Notifications queued for it.
    pub queued: usize,
    /// Attempts running.
    pub in_flight: usize,
    /// Its circuit breaker, when it has one registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerState>,
}

/// Builds an [`Outbox`]: the store, the channels, the retry policy.
pub struct OutboxBuilder {
    store: Arc<dyn Store>,
    lanes: HashMap<LaneKey, LaneSpec>,
    fallbacks: HashMap<String, String>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    lane_concurrency: usize,
    attempt_timeout: Duration,
    commit_batch: usize,
    memory_limit: usize,
}

/// The default of [`OutboxBuilder::memory_limit`].
pub const DEFAULT_MEMORY_LIMIT: usize = 1024;

/// The default of [`OutboxBuilder::lane_concurrency`]: attempts in flight at once
/// per channel.
pub const DEFAULT_LANE_CONCURRENCY: usize = 8;

/// A channel as registered; a recommended stack is built by
/// [`OutboxBuilder::start`], with the builder's final settings.
enum LaneSpec {
    /// A notifier used as given (and its breaker's handle, if any).
    Ready(Arc<dyn Notifier>, Option<BreakerHandle>),
    /// A bare channel of this kind, to wrap in the recommended stack.
    Recommended(String, Arc<dyn Notifier>),
}

impl LaneSpec {
    fn build(
        self,
        lane_concurrency: usize,
        attempt_timeout: Duration,
    ) -> (Arc<dyn Notifier>, Option<BreakerHandle>) {
        match self {
            LaneSpec::Ready(n, b) => (n, b),
            LaneSpec::Recommended(kind, notifier) => {
                let guarded = NotifierBuilder::new()
                    .layer(CircuitBreakerLayer::new(BreakerConfig::default()))
                    .option_layer(RateLimit::for_channel(&kind).map(RateLimitLayer::new))
                    .layer(TimeoutLayer::new(attempt_timeout))
                    .service(notifier);
                let handle = guarded.handle();
                let stack = ConcurrencyLimitLayer::new(lane_concurrency).layer(guarded);
                (Arc::new(stack), Some(handle))
            }
        }
    }
}

impl fmt::Debug for OutboxBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxBuilder")
            .field("store", &self.store.name())
            .field("channels", &self.lanes.keys().collect::<Vec<_>>())
            .field("fallbacks", &self.fallbacks)
            .field("retry", &self.retry)
            .field("lane_concurrency", &self.lane_concurrency)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}

impl OutboxBuilder {
    /// Registers the channel `channel` of receiver `receiver`. The notifier should
    /// carry its own layers (timeout, rate limit, breaker) but no retry layer: the
    /// outbox retries durably (see [`OutboxBuilder::retry`]).
    pub fn channel(
        mut self,
        receiver: impl Into<String>,
        channel: impl Into<String>,
        notifier: Arc<dyn Notifier>,
    ) -> OutboxBuilder {
        self.lanes.insert(
            (receiver.into(), channel.into()),
            LaneSpec::Ready(notifier, None),
        );
        self
    }

    /// Registers a channel wrapped in the recommended stack for its kind, minus the
    /// retry layer (the outbox retries): concurrency limit (the
    /// [lane concurrency](Self::lane_concurrency)) → circuit breaker → rate limit
    /// ([`RateLimit::for_channel`] of `kind`) → timeout per attempt
    /// ([`attempt_timeout`](Self::attempt_timeout), default 10 s). The stack is built
    /// by [`start`](Self::start), so both settings apply whenever they are set. The
    /// breaker's state shows in [`Outbox::channels`].
    pub fn channel_recommended(
        mut self,
        receiver: impl Into<String>,
        channel: impl Into<String>,
        kind: &str,
        notifier: Arc<dyn Notifier>,
    ) -> OutboxBuilder {
        self.lanes.insert(
            (receiver.into(), channel.into()),
            LaneSpec::Recommended(kind.to_owned(), notifier),
        );
        self
    }

    /// Registers a channel together with the handle of a breaker inside it, so its
    /// state shows in [`Outbox::channels`].
    pub fn channel_with_breaker(
        mut self,
        receiver: impl Into<String>,
        channel: impl Into<String>,
        notifier: Arc<dyn Notifier>,
        breaker: BreakerHandle,
    ) -> OutboxBuilder {
        self.lanes.insert(
            (receiver.into(), channel.into()),
            LaneSpec::Ready(notifier, Some(breaker)),
        );
        self
    }

    /// Makes `fallback` take over the notifications of `receiver` that its channels
    /// cannot deliver: when an attempt fails for good (a permanent error, a receiver
    /// disabled by its breaker, or the retry policy's limits) or is refused by an open
    /// circuit breaker, the notification is handed to **every channel of
    /// `fallback`** instead of being given up or waiting for the cool-down.
    ///
    /// The hand-over is durable: the primary's attempt (outcome
    /// [`FellBack`](crate::store::AttemptOutcome::FellBack), naming the fallback), its
    /// removal from the outbox and the fallback's new notifications (same group, kind
    /// and alerts; [`fallback_from`](Notification::fallback_from) set) are written in
    /// one transaction, and the new notifications are delivered, retried and recorded
    /// like any other. A fallback may have its own fallback; [`start`](Self::start)
    /// refuses a fallback without registered channels and cycles.
    pub fn fallback(
        mut self,
        receiver: impl Into<String>,
        fallback: impl Into<String>,
    ) -> OutboxBuilder {
        self.fallbacks.insert(receiver.into(), fallback.into());
        self
    }

    /// The clock that stamps attempts, schedules retries and measures the retry
    /// deadline from a notification's `created_at` (default: the system clock; the
    /// router passes its own, so both agree on simulated time).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> OutboxBuilder {
        self.clock = clock;
        self
    }

    /// The durable retry policy (default: [`Outbox::default_retry`]). Its deadline
    /// counts from the notification's creation, across restarts. Refusals by an open
    /// circuit breaker do not use its attempts. A notification that exhausts it goes
    /// to the receiver's [fallback](Self::fallback), or is kept as a dead letter.
    pub fn retry(mut self, policy: RetryPolicy) -> OutboxBuilder {
        self.retry = policy;
        self
    }

    /// Attempts run at once per channel (default [`DEFAULT_LANE_CONCURRENCY`], 8). Twice this is the in-flight
    /// window that bounds duplicates after a crash (see [`Outbox`]).
    pub fn lane_concurrency(mut self, n: usize) -> OutboxBuilder {
        self.lane_concurrency = n.max(1);
        self
    }

    /// The timeout of each attempt of the channels registered with
    /// [`channel_recommended`](Self::channel_recommended) (default 10 s; at least
    /// 1 ms). A timed-out attempt is a retryable failure.
    pub fn attempt_timeout(mut self, after: Duration) -> OutboxBuilder {
        self.attempt_timeout = after.max(Duration::from_millis(1));
        self
    }

    /// The most waiting notifications kept in memory, across all channels (default
    /// [`DEFAULT_MEMORY_LIMIT`]). Past it, a waiting notification is kept as its id
    /// only and read back from the store when its turn comes, so a backlog of any
    /// size (a provider down for hours, a burst of thousands of groups) costs a few
    /// dozen bytes of memory per notification, for one store read each past the
    /// limit. `0` keeps none in memory. At start-up the backlog is read from the
    /// store 256 at a time ([`Store::pending_outbox_after`]), never whole.
    pub fn memory_limit(mut self, n: usize) -> OutboxBuilder {
        self.memory_limit = n;
        self
    }

    /// The most outcomes written in one store transaction (default 256).
    pub fn commit_batch(mut self, n: usize) -> OutboxBuilder {
        self.commit_batch = n.max(1);
        self
    }

    /// Checks the fallbacks: each names a receiver with channels, none names its own
    /// receiver, and following them never comes back (no cycle).
    fn check_fallbacks(&self) -> Result<(), OutboxError> {
        let mut names: Vec<&String> = self.fallbacks.keys().collect();
        names.sort();
        for receiver in names {
            let fallback = &self.fallbacks[receiver];
            let invalid = |reason: String| OutboxError::InvalidFallback {
                receiver: receiver.clone(),
                fallback: fallback.clone(),
                reason,
            };
            if fallback == receiver {
                return Err(invalid("a receiver cannot fall back to itself".into()));
            }
            if !self.lanes.keys().any(|(r, _)| r == fallback) {
                return Err(invalid(format!(
                    "receiver `{fallback}` has no channels registered with the outbox"
                )));
            }
            let mut path = vec![receiver.as_str()];
            let mut at = fallback.as_str();
            loop {
                if path.contains(&at) {
                    path.push(at);
                    return Err(invalid(format!("fallback cycle: {}", path.join(" → "))));
                }
                path.push(at);
                match self.fallbacks.get(at) {
                    Some(next) => at = next,
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Starts the workers and resumes what the store holds pending: entries whose
    /// `next_attempt_at` is in the future wait until then, the others go first in
    /// severity order. Needs a Tokio runtime. Fails with
    /// [`OutboxError::InvalidFallback`] when a [fallback](Self::fallback) cannot work.
    pub async fn start(self) -> Result<Outbox, OutboxError> {
        self.check_fallbacks()?;
        let (commit_tx, commit_rx) = mpsc::channel::<Commit>(self.lane_concurrency.max(64) * 4);
        let (concurrency, timeout) = (self.lane_concurrency, self.attempt_timeout);
        let memory = Arc::new(Memory {
            loaded: AtomicUsize::new(0),
            limit: self.memory_limit,
        });
        let lanes: HashMap<LaneKey, Arc<Lane>> = self
            .lanes
            .into_iter()
            .map(|((r, c), spec)| {
                let (notifier, breaker) = spec.build(concurrency, timeout);
                let lane = Lane {
                    receiver: r.clone(),
                    channel: c.clone(),
                    notifier,
                    breaker,
                    queue: Mutex::new(Queue::default()),
                    wake: Notify::new(),
                    memory: memory.clone(),
                };
                ((r, c), Arc::new(lane))
            })
            .collect();
        let fallbacks = self
            .fallbacks
            .iter()
            .map(|(receiver, to)| {
                let mut targets: Vec<Arc<Lane>> = lanes
                    .iter()
                    .filter(|((r, _), _)| r == to)
                    .map(|(_, l)| l.clone())
                    .collect();
                targets.sort_by(|a, b| a.channel.cmp(&b.channel));
                (receiver.clone(), (to.clone(), targets))
            })
            .collect();
        let inner = Arc::new(Inner {
            store: self.store.clone(),
            lanes,
            fallbacks,
            clock: self.clock.clone(),
            last_store_error: Mutex::new(None),
            retry: self.retry,
            seq: AtomicU64::new(0),
            counters: Counters::default(),
            closed: AtomicBool::new(false),
            shutdown: Notify::new(),
            commit_tx: Mutex::new(Some(commit_tx)),
            idle: Notify::new(),
            memory,
        });
        let now_wall = inner.clock.now();
        let now = Instant::now();
        // The backlog a page at a time: past the memory limit the lanes keep ids
        // only, so a large backlog is never decoded whole (nothing deletes entries
        // before the workers start).
        // The SQLite store fills each page past the entries it sets aside as
        // unreadable, but another store may answer a short (even empty) page that
        // is not the last. So read on until a page is empty, and then once more
        // after the same entry: empty again, the backlog is done.
        let mut after: Option<String> = None;
        let mut empty_pages = 0;
        while empty_pages < 2 {
            let page = self
                .store
                .pending_outbox_after(after.as_deref(), RESUME_PAGE)
                .await?;
            match page.last() {
                Some(last) => {
                    empty_pages = 0;
                    after = Some(last.id.clone());
                    inner.resume(page, now_wall, now);
                }
                None => empty_pages += 1,
            }
        }
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(writer(
            self.store.clone(),
            commit_rx,
            self.commit_batch,
            inner.clone(),
        )));
        for lane in inner.lanes.values() {
            for _ in 0..self.lane_concurrency {
                tasks.push(tokio::spawn(worker(inner.clone(), lane.clone())));
            }
        }
        Ok(Outbox {
            inner,
            tasks: Mutex::new(tasks),
            lane_concurrency: self.lane_concurrency,
        })
    }
}

/// Changes handed to the writer, and who waits for them.
struct Commit {
    changes: Vec<Change>,
    /// Retried until written (an outcome: the notification's record in the store is
    /// behind what happened, so it must catch up) or refused with the error (a
    /// submit: the caller still owns the notifications and learns they are not
    /// stored).
    retry: bool,
    done: oneshot::Sender<Result<(), StoreError>>,
}

struct Inner {
    store: Arc<dyn Store>,
    lanes: HashMap<LaneKey, Arc<Lane>>,
    /// Receiver → (its fallback receiver, that receiver's lanes by channel name).
    fallbacks: HashMap<String, (String, Vec<Arc<Lane>>)>,
    /// The last failed outcome write, while writes keep failing.
    last_store_error: Mutex<Option<String>>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    seq: AtomicU64,
    counters: Counters,
    closed: AtomicBool,
    shutdown: Notify,
    commit_tx: Mutex<Option<mpsc::Sender<Commit>>>,
    idle: Notify,
    memory: Arc<Memory>,
}

impl Inner {
    /// Queues pending notifications read from the store at start-up, in their order.
    fn resume(&self, page: Vec<Notification>, now_wall: Timestamp, now: Instant) {
        for n in page {
            let key = (n.receiver.clone(), n.channel.clone());
            let Some(lane) = self.lanes.get(&key) else {
                self.counters.orphaned.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    id = %n.id,
                    receiver = %n.receiver,
                    channel = %n.channel,
                    "pending notification for a channel that is not configured: kept in the store"
                );
                continue;
            };
            self.counters.resumed.fetch_add(1, Ordering::Relaxed);
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            match n.next_attempt_at {
                Some(at) if at > now_wall => {
                    lane.push_delayed(seq, now + at.duration_since(now_wall), n)
                }
                _ => lane.push_ready(seq, n),
            }
        }
    }

    fn is_idle(&self) -> bool {
        self.lanes.values().all(|l| l.load() == (0, 0))
    }

    /// Ends an attempt in `lane` ([`Lane::finish`]) and wakes
    /// [`Outbox::wait_idle`] when nothing is left anywhere.
    fn finish(&self, lane: &Lane, again: Option<(u64, Instant, Severity, Held)>) {
        lane.finish(again);
        if self.is_idle() {
            self.idle.notify_waiters();
        }
    }

    /// A write went through: no store error is outstanding any more.
    fn clear_store_error(&self) {
        self.last_store_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}

/// Writes outcomes and submitted notifications to the store in batches (group
/// commit): whatever is waiting when a transaction starts goes into it. Each waiter
/// learns when its own changes are durable.
async fn writer(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Commit>,
    batch: usize,
    inner: Arc<Inner>,
) {
    let mut pending: Vec<Commit> = Vec::new();
    while let Some(first) = rx.recv().await {
        pending.push(first);
        while pending.len() < batch {
            match rx.try_recv() {
                Ok(c) => pending.push(c),
                Err(_) => break,
            }
        }
        // One vector for the transaction; each commit's range in it.
        let mut changes: Vec<Change> = Vec::new();
        let mut ranges = Vec::with_capacity(pending.len());
        for c in &mut pending {
            let start = changes.len();
            changes.append(&mut c.changes);
            ranges.push(start..changes.len());
        }
        match store.apply(&changes).await {
            Ok(()) => {
                inner.clear_store_error();
                for c in pending.drain(..) {
                    let _ = c.done.send(Ok(()));
                }
            }
            Err(e) => {
                note_store_error(&inner, &*store, &e, pending.len());
                // Submits get their own answer: each is tried alone, so one that
                // cannot be written is refused without holding up the others.
                // Outcomes are retried together until written.
                let mut outcomes: Vec<Change> = Vec::new();
                let mut waiting = Vec::new();
                for (c, r) in pending.drain(..).zip(ranges) {
                    if c.retry {
                        outcomes.extend(changes[r].iter().cloned());
                        waiting.push(c.done);
                    } else {
                        let result = store.apply(&changes[r]).await;
                        if let Err(e) = &result {
                            note_store_error(&inner, &*store, e, 1);
                        }
                        let _ = c.done.send(result);
                    }
                }
                if !outcomes.is_empty() {
                    write_outcomes(&inner, &*store, &outcomes).await;
                }
                for done in waiting {
                    let _ = done.send(Ok(()));
                }
            }
        }
    }
}

/// Retries `outcomes` with back-off (50 ms doubling to 5 s) until written.
async fn write_outcomes(inner: &Inner, store: &dyn Store, outcomes: &[Change]) {
    let mut backoff = Duration::from_millis(50);
    loop {
        tokio::time::sleep(backoff).await;
        match store.apply(outcomes).await {
            Ok(()) => {
                inner.clear_store_error();
                return;
            }
            Err(e) => note_store_error(inner, store, &e, outcomes.len()),
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn note_store_error(inner: &Inner, store: &dyn Store, e: &StoreError, waiting: usize) {
    inner.counters.store_errors.fetch_add(1, Ordering::Relaxed);
    *inner
        .last_store_error
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    tracing::error!(
        store = store.name(),
        error = %e,
        waiting,
        "could not write to the outbox's store; outcomes are retried (their notifications stay pending and may be re-sent after a crash), submits are refused"
    );
}

/// A lane's worker: one attempt at a time. A delivery's outcome is written while the
/// worker makes its next attempt (the writer batches it with others), and is durable
/// before the worker starts the attempt after that one: per worker, at most two
/// notifications are delivered (or being attempted) without a durable outcome.
/// Until its outcome is durable a notification counts as in flight.
async fn worker(inner: Arc<Inner>, lane: Arc<Lane>) {
    let mut recording: Option<oneshot::Receiver<Result<(), StoreError>>> = None;
    loop {
        let notified = lane.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let shutdown = inner.shutdown.notified();
        tokio::pin!(shutdown);
        shutdown.as_mut().enable();
        if inner.closed.load(Ordering::SeqCst) {
            settle(&inner, &lane, &mut recording).await;
            return;
        }
        match lane.pop(Instant::now()) {
            Ok((severity, held)) => {
                let n = match held {
                    Held::Loaded(n) => n,
                    Held::Stored(id) => match inner.store.outbox_entry(&id).await {
                        Ok(Some(n)) => n,
                        Ok(None) => {
                            // No longer pending: removed by hand, or set aside by the
                            // store as unreadable (the SQLite store's quarantine).
                            tracing::warn!(%id, receiver = %lane.receiver, channel = %lane.channel,
                                "queued notification no longer pending in the store (removed, or set aside as unreadable); skipped");
                            inner.finish(&lane, None);
                            continue;
                        }
                        Err(e) => {
                            // Still pending in the store: try again shortly.
                            inner.counters.store_errors.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%id, receiver = %lane.receiver, channel = %lane.channel,
                                error = %e, "could not read a queued notification from the store; trying again in 1 s");
                            let seq = inner.seq.fetch_add(1, Ordering::Relaxed);
                            let at = Instant::now() + Duration::from_secs(1);
                            inner.finish(&lane, Some((seq, at, severity, Held::Stored(id))));
                            continue;
                        }
                    },
                };
                let id = n.id.clone();
                let outcome = catch_panic(deliver(&inner, &lane, n)).await;
                settle(&inner, &lane, &mut recording).await;
                let again = match outcome {
                    Ok(Outcome::Recording(wait)) => {
                        recording = Some(wait);
                        continue;
                    }
                    Ok(Outcome::Done) => None,
                    Ok(Outcome::Again(at, n)) => Some((
                        inner.seq.fetch_add(1, Ordering::Relaxed),
                        at,
                        n.severity,
                        Held::Loaded(n),
                    )),
                    Err(_) => {
                        // Not the channel (its panics are caught and recorded as
                        // failed attempts) but recording the outcome. The worker
                        // lives on; the notification stays pending in the store and
                        // is attempted again after the next start.
                        tracing::error!(%id, receiver = %lane.receiver, channel = %lane.channel,
                            "panic while recording a delivery outcome; the notification stays pending in the store");
                        None
                    }
                };
                inner.finish(&lane, again);
            }
            Err(next) => {
                if recording.is_some() {
                    // Nothing to attempt: finish the last delivery first.
                    settle(&inner, &lane, &mut recording).await;
                    continue;
                }
                let sleep = async {
                    match next {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    _ = &mut notified => {}
                    _ = sleep => {}
                    _ = &mut shutdown => return,
                }
            }
        }
    }
}

/// Waits until the worker's last delivered outcome is durable, then ends that
/// attempt in the lane. If the writer stopped (shutdown) the store still holds the
/// notification pending: it is sent again after the next start.
async fn settle(
    inner: &Inner,
    lane: &Lane,
    recording: &mut Option<oneshot::Receiver<Result<(), StoreError>>>,
) {
    if let Some(wait) = recording.take() {
        let _ = wait.await;
        inner.finish(lane, None);
    }
}

async fn attempt(inner: &Inner, lane: &Lane, n: &Notification) -> Result<Receipt, NotifyError> {
    let notifier = &lane.notifier;
    match (n.kind, n.alerts.as_slice()) {
        (_, []) => Ok(Receipt::new(notifier.name()).with_meta("skipped", "no alerts")),
        (NotificationKind::Notice, [one]) => notifier.notify(one).await,
        (NotificationKind::Resolve, alerts) if !n.group_key.is_empty() => {
            let previous = match inner
                .store
                .receipt(&n.receiver, &n.channel, &n.group_key)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the group's receipt; sending a new message");
                    None
                }
            };
            match (previous, alerts) {
                (Some(prev), [one]) => notifier.update(one, &prev.receipt).await,
                (Some(prev), many) => notifier.update(&digest_alert(many), &prev.receipt).await,
                (None, alerts) => notifier.notify_group(alerts).await,
            }
        }
        (_, alerts) => notifier.notify_group(alerts).await,
    }
}

/// What became of an attempt.
enum Outcome {
    /// Settled: the outcome is durable (or the outbox is shutting down and the store
    /// keeps the notification pending).
    Done,
    /// Stays in this lane: try again at the instant.
    Again(Instant, Notification),
    /// Delivered; its outcome is with the writer, durable when the receiver answers.
    Recording(oneshot::Receiver<Result<(), StoreError>>),
}

/// One attempt of `n` and its outcome: a delivery's outcome is handed to the writer
/// ([`Outcome::Recording`]); any other outcome is durable on return.
async fn deliver(inner: &Inner, lane: &Lane, mut n: Notification) -> Outcome {
    let number = n.attempts + 1;
    let at = inner.clock.now();
    let t0 = Instant::now();
    let result = match catch_panic(attempt(inner, lane, &n)).await {
        Ok(r) => r,
        Err(_) => {
            tracing::error!(id = %n.id, receiver = %n.receiver, channel = %n.channel,
                attempt = number, "the channel panicked; recorded as a failed attempt");
            Err(NotifyError::Server {
                channel: intern(lane.notifier.name()),
                status: None,
                message: PANICKED.to_owned(),
                retry_after: None,
            })
        }
    };
    let latency = t0.elapsed();
    let mut changes = Vec::with_capacity(3);
    match result {
        Ok(receipt) => {
            let mut a = DeliveryAttempt::of(&n, number, at, latency, AttemptOutcome::Delivered);
            if !n.group_key.is_empty() && receipt.meta("skipped").is_none() {
                changes.push(Change::PutReceipt(ReceiptRecord {
                    receiver: n.receiver.clone(),
                    channel: n.channel.clone(),
                    group_key: n.group_key.clone(),
                    receipt: receipt.clone(),
                    at: inner.clock.now(),
                }));
            }
            a.receipt = Some(receipt);
            changes.push(Change::Attempt(a));
            changes.push(Change::Dequeue(n.id.clone()));
            inner.counters.delivered.fetch_add(1, Ordering::Relaxed);
            match start_commit(inner, changes, true).await {
                Some(wait) => Outcome::Recording(wait),
                None => Outcome::Done,
            }
        }
        Err(e) => {
            let elapsed = inner.clock.now().duration_since(n.created_at);
            let refused = is_circuit_open(&e);
            let decision = if refused {
                inner.retry.decide_refusal(&e, elapsed)
            } else {
                inner
                    .counters
                    .failed_attempts
                    .fetch_add(1, Ordering::Relaxed);
                inner.retry.decide(number, &e, elapsed)
            };
            if let Some((to, lanes)) = inner.fallbacks.get(&n.receiver)
                && (matches!(decision, RetryDecision::GiveUp(_)) || refused)
            {
                hand_over(inner, n, number, at, latency, &e, to, lanes).await;
                return Outcome::Done;
            }
            if refused && let RetryDecision::RetryAfter(wait) = decision {
                // Nothing was sent: not an attempt. Nothing to record either; after
                // a restart the notification is simply tried (and refused) again.
                inner
                    .counters
                    .breaker_refusals
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(id = %n.id, receiver = %n.receiver, channel = %n.channel,
                    wait = ?wait, "circuit open; waiting for the cool-down");
                return Outcome::Again(Instant::now() + wait, n);
            }
            let outcome = match decision {
                RetryDecision::RetryAfter(_) => AttemptOutcome::Failed,
                RetryDecision::GiveUp(_) => AttemptOutcome::GaveUp,
            };
            let mut a = DeliveryAttempt::of(&n, number, at, latency, outcome);
            a.error_kind = Some(e.kind().to_owned());
            a.error = Some(e.to_string());
            changes.push(Change::Attempt(a));
            match decision {
                RetryDecision::RetryAfter(wait) => {
                    tracing::debug!(id = %n.id, receiver = %n.receiver, channel = %n.channel,
                        attempt = number, error = %e, wait = ?wait, "delivery failed; retry scheduled");
                    let next = inner.clock.now().saturating_add(wait);
                    changes.push(Change::Reschedule {
                        id: n.id.clone(),
                        attempts: number,
                        next_attempt_at: Some(next),
                    });
                    commit(inner, changes).await;
                    n.attempts = number;
                    n.next_attempt_at = Some(next);
                    Outcome::Again(Instant::now() + wait, n)
                }
                RetryDecision::GiveUp(reason) => {
                    tracing::error!(id = %n.id, receiver = %n.receiver, channel = %n.channel,
                        attempts = number, reason = reason.as_str(), error = %e,
                        "delivery given up; kept as a dead letter");
                    if !refused {
                        n.attempts = number;
                    }
                    changes.push(Change::DeadLetter(
                        DeadLetter::new(n, inner.clock.now(), reason.as_str())
                            .with_error(e.kind(), e.to_string()),
                    ));
                    inner.counters.gave_up.fetch_add(1, Ordering::Relaxed);
                    commit(inner, changes).await;
                    Outcome::Done
                }
            }
        }
    }
}

/// Hands a notification its receiver cannot deliver to the receiver's fallback:
/// one transaction records the attempt (`fell_back`), queues a copy for every
/// channel of the fallback and removes the original.
#[allow(clippy::too_many_arguments)]
async fn hand_over(
    inner: &Inner,
    n: Notification,
    number: u32,
    at: Timestamp,
    latency: Duration,
    e: &NotifyError,
    to: &str,
    lanes: &[Arc<Lane>],
) {
    let mut a = DeliveryAttempt::of(&n, number, at, latency, AttemptOutcome::FellBack);
    a.error_kind = Some(e.kind().to_owned());
    a.error = Some(e.to_string());
    a.fallback = Some(to.to_owned());
    let now = inner.clock.now();
    let copies: Vec<(Arc<Lane>, Notification)> = lanes
        .iter()
        .map(|lane| {
            let mut f = Notification::new(
                new_notification_id(),
                to,
                lane.channel.clone(),
                n.group_key.clone(),
                n.kind,
                n.alerts.clone(),
                n.severity,
                now,
            );
            f.fallback_from = Some(n.receiver.clone());
            (lane.clone(), f)
        })
        .collect();
    let mut changes = Vec::with_capacity(copies.len() + 2);
    changes.push(Change::Attempt(a));
    changes.extend(copies.iter().map(|(_, f)| Change::Enqueue(f.clone())));
    changes.push(Change::Dequeue(n.id.clone()));
    tracing::warn!(id = %n.id, receiver = %n.receiver, channel = %n.channel,
        attempts = number, error = %e, fallback = to, "delivery failed; handed to the fallback receiver");
    if commit(inner, changes).await {
        inner.counters.fell_back.fetch_add(1, Ordering::Relaxed);
        inner
            .counters
            .submitted
            .fetch_add(copies.len() as u64, Ordering::Relaxed);
        for (lane, f) in copies {
            let seq = inner.seq.fetch_add(1, Ordering::Relaxed);
            lane.push_ready(seq, f);
        }
    }
}

/// Hands `changes` to the writer (see [`Commit::retry`]); the receiver answers once
/// they are durable, or with the store's error for a change that is not retried.
/// `None` when the outbox is shutting down and they will not be written (the store
/// still holds the notification as it was: it is retried after the next start).
async fn start_commit(
    inner: &Inner,
    changes: Vec<Change>,
    retry: bool,
) -> Option<oneshot::Receiver<Result<(), StoreError>>> {
    let tx = inner
        .commit_tx
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()?;
    let (done, wait) = oneshot::channel();
    tx.send(Commit {
        changes,
        retry,
        done,
    })
    .await
    .ok()?;
    Some(wait)
}

/// Hands `changes` to the writer and waits until they are durable. `false` when the
/// outbox is shutting down and they were not written.
async fn commit(inner: &Inner, changes: Vec<Change>) -> bool {
    match start_commit(inner, changes, true).await {
        Some(wait) => matches!(wait.await, Ok(Ok(()))),
        None => false,
    }
}

/// Durable, prioritised, at-least-once delivery of [`Notification`]s.
///
/// * **Written before the first attempt.** [`submit`](Outbox::submit) returns only
///   after the store holds the notification ([`Change::Enqueue`]); if the store
///   cannot write (database locked, disk full) it returns [`OutboxError::Store`] and
///   nothing is queued: the caller still owns the notification, nothing is silently
///   lost.
/// * **One lane per channel of each receiver**, with its own workers
///   ([`lane_concurrency`](OutboxBuilder::lane_concurrency)), so a slow or failing
///   receiver never holds up the others. In a lane, the highest severity goes first,
///   then the oldest.
/// * **Every attempt is recorded** ([`Change::Attempt`]: receiver, channel,
///   fingerprints, attempt number, latency, outcome, error text, receipt).
/// * **Durable retries.** A failed attempt is decided by the
///   [`RetryPolicy`] from [`NotifyError::retryable`]; the next attempt's time is
///   written ([`Change::Reschedule`]), so it survives a restart. The default policy
///   ([`Outbox::default_retry`]) keeps trying for 24 hours. A refusal by the
///   channel's open circuit breaker is not an attempt: the notification waits for
///   the cool-down without using the policy's attempts
///   ([`OutboxStats::breaker_refusals`]).
/// * **Nothing is deleted undelivered.** A permanent error, or the policy's limits,
///   give the notification up: the attempt is recorded as `gave_up`, logged at
///   `error`, counted in [`OutboxStats::gave_up`], and the notification is moved
///   to the **dead letters** ([`Change::DeadLetter`], in the same transaction):
///   kept in the store, listed by [`Outbox::dead_letters`], queued again by
///   [`Outbox::redeliver`], pruned only by retention after its age like the rest
///   of the history.
/// * **Fallback receivers.** A receiver with a [fallback](OutboxBuilder::fallback)
///   hands such a notification, and one its open circuit breaker refuses, to the
///   fallback's channels in the same transaction that records the attempt
///   ([`AttemptOutcome::FellBack`]), counted in [`OutboxStats::fell_back`], instead
///   of keeping it as a dead letter.
/// * **A channel that panics** does not take its lane down: the panic is caught,
///   recorded as a failed attempt (`server` error, "the channel panicked") and
///   retried like one; the worker keeps going.
/// * **Outcomes are written while the next attempt runs, and durable before the one
///   after it.** A worker hands a delivery's outcome to the writer, which commits
///   whatever outcomes and submits wait at that moment in one transaction (group
///   commit), and goes on with its next attempt; it waits for that outcome before it
///   starts the attempt after that one. A failed attempt's outcome (retry time, dead letter,
///   fallback) is durable before the worker goes on. If the store refuses an outcome
///   (database locked, disk full), the writer retries it with back-off (50 ms
///   doubling to 5 s) until it is written; meanwhile the lane's worker waits, the
///   notification stays pending, [`OutboxStats::last_store_error`] holds the error
///   and [`OutboxStats::store_errors`] counts the failures. A submit the store
///   refuses is answered with the error (nothing queued).
/// * **Resume on start-up.** [`OutboxBuilder::start`] re-queues everything the store
///   holds pending.
///
/// # At least once, and the bound on duplicates
///
/// A notification leaves the store ([`Change::Dequeue`], in the same transaction as
/// its attempt record) only after the channel accepted it, so a crash at any point
/// loses nothing: what was pending is re-sent after restart. A worker runs one
/// attempt at a time and, while it runs, at most one earlier delivery of the same
/// worker is not yet recorded, so at any instant at most 2 × `lane_concurrency`
/// notifications per channel are *delivered but not yet recorded*. After a crash,
/// **at most 2 × `lane_concurrency` × (number of channels) notifications are
/// delivered twice** (the in-flight window); none more. (Recording an outcome while
/// the next attempt runs is what lets one worker deliver at the channel's speed
/// instead of waiting for a commit after every notification.)
///
/// The notification id is not handed to channels: a [`Notifier`] call gets only the
/// alerts (and, for a resolution, the stored receipt). The channels that make a
/// resend harmless do it with keys of their own, derived from what they are given:
///
/// | channel | what a resend after a crash does |
/// |---|---|
/// | `datadog` | posts another event with the same `aggregation_key` (the alert's fingerprint), which Datadog folds into the same aggregate |
/// | `statuspal` | finds the open incident by its `[ref:<fingerprint>]` marker and updates it; no second incident is opened |
/// | `slack` (resolution) | edits the message whose `ts` the stored receipt holds; editing twice leaves one message |
/// | `discord` (resolution of a single alert) | edits the message whose id the stored receipt holds |
/// | `webhook` | sends the same `Idempotency-Key` header (a hash of the body), so a receiver that honours it drops the duplicate |
/// | others, and Slack/Discord firing messages | a second message: at least once |
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use alert_core::{Alert, ConsoleNotifier, Severity, Timestamp};
/// use alert_router::delivery::{Outbox, new_notification_id};
/// use alert_router::store::{MemoryStore, Notification, NotificationKind};
///
/// // In a service: `SqliteStore::open("state.db")?` (feature `sqlite`), so the
/// // outbox survives a restart.
/// let store = Arc::new(MemoryStore::new());
/// let outbox = Outbox::builder(store)
///     .channel_recommended("team", "console", "console", Arc::new(ConsoleNotifier::stderr("app")))
///     .start()
///     .await?;
/// let alert = Alert::new(Severity::Error, "AccuracyDrop");
/// outbox.submit(Notification::new(new_notification_id(), "team", "console", "",
///     NotificationKind::Notice, vec![alert], Severity::Error, Timestamp::now())).await?;
/// outbox.shutdown(std::time::Duration::from_secs(5)).await;
/// # Ok(()) }
/// ```
pub struct Outbox {
    inner: Arc<Inner>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    lane_concurrency: usize,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("store", &self.inner.store.name())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// A builder over `store`.
    pub fn builder(store: Arc<dyn Store>) -> OutboxBuilder {
        OutboxBuilder {
            store,
            lanes: HashMap::new(),
            fallbacks: HashMap::new(),
            clock: Arc::new(SystemClock),
            retry: Outbox::default_retry(),
            lane_concurrency: DEFAULT_LANE_CONCURRENCY,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            commit_batch: 256,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }

    /// The outbox's default durable retry policy: **24 hours** from the
    /// notification's creation, with no separate limit on the number of attempts
    /// (the deadline decides); 1 s doubling to 5 minutes with 25% jitter between
    /// attempts (about 330 attempts in a day of failures), server delays honoured up
    /// to 15 minutes. Refusals by an open circuit breaker are not attempts. What is
    /// still undelivered after that goes to the receiver's fallback, or is kept as a
    /// dead letter.
    pub fn default_retry() -> RetryPolicy {
        RetryPolicy::none()
            .with_max_attempts(u32::MAX)
            .with_backoff(Duration::from_secs(1), Duration::from_secs(300))
            .with_jitter(0.25)
            .with_deadline(Some(Duration::from_secs(24 * 3600)))
            .with_max_retry_after(alert_core::MAX_RETRY_AFTER)
    }

    /// Attempts run at once per channel. Duplicates after a crash are bounded by
    /// twice this per channel (the in-flight window, see [`Outbox`]).
    pub fn lane_concurrency(&self) -> usize {
        self.lane_concurrency
    }

    /// The most waiting notifications kept in memory (see
    /// [`OutboxBuilder::memory_limit`]).
    pub fn memory_limit(&self) -> usize {
        self.inner.memory.limit
    }

    fn lane_of(&self, n: &Notification) -> Result<Arc<Lane>, OutboxError> {
        self.inner
            .lanes
            .get(&(n.receiver.clone(), n.channel.clone()))
            .cloned()
            .ok_or_else(|| OutboxError::UnknownChannel {
                receiver: n.receiver.clone(),
                channel: n.channel.clone(),
            })
    }

    /// Stores `n` and queues it. Returns once it is durable.
    pub async fn submit(&self, n: Notification) -> Result<(), OutboxError> {
        self.submit_many(vec![n]).await
    }

    /// Stores every notification in one transaction and queues them. All or none:
    /// on error nothing was stored or queued.
    pub async fn submit_many(&self, ns: Vec<Notification>) -> Result<(), OutboxError> {
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(OutboxError::Closed);
        }
        let lanes = ns
            .iter()
            .map(|n| self.lane_of(n))
            .collect::<Result<Vec<_>, _>>()?;
        let changes: Vec<Change> = ns.iter().cloned().map(Change::Enqueue).collect();
        // Through the writer, so the transaction is shared with the outcomes and
        // other submits waiting at the same moment (group commit).
        let wait = start_commit(&self.inner, changes, false)
            .await
            .ok_or(OutboxError::Closed)?;
        wait.await.map_err(|_| OutboxError::Closed)??;
        self.inner
            .counters
            .submitted
            .fetch_add(ns.len() as u64, Ordering::Relaxed);
        let now_wall = self.inner.clock.now();
        let now = Instant::now();
        for (n, lane) in ns.into_iter().zip(lanes) {
            let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
            match n.next_attempt_at {
                Some(at) if at > now_wall => {
                    lane.push_delayed(seq, now + at.duration_since(now_wall), n)
                }
                _ => lane.push_ready(seq, n),
            }
        }
        Ok(())
    }

    /// Counters and gauges.
    pub fn stats(&self) -> OutboxStats {
        let c = &self.inner.counters;
        let (queued, in_flight) = self
            .inner
            .lanes
            .values()
            .map(|l| l.load())
            .fold((0, 0), |(q, f), (lq, lf)| (q + lq, f + lf));
        OutboxStats {
            submitted: c.submitted.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            failed_attempts: c.failed_attempts.load(Ordering::Relaxed),
            breaker_refusals: c.breaker_refusals.load(Ordering::Relaxed),
            gave_up: c.gave_up.load(Ordering::Relaxed),
            fell_back: c.fell_back.load(Ordering::Relaxed),
            resumed: c.resumed.load(Ordering::Relaxed),
            orphaned: c.orphaned.load(Ordering::Relaxed),
            store_errors: c.store_errors.load(Ordering::Relaxed),
            last_store_error: self
                .inner
                .last_store_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            queued,
            in_flight,
            in_memory: self.inner.memory.loaded.load(Ordering::Relaxed),
        }
    }

    /// Each registered channel: queue, in-flight attempts and breaker state, sorted by
    /// receiver and channel.
    pub fn channels(&self) -> Vec<ChannelStatus> {
        let mut v: Vec<ChannelStatus> = self
            .inner
            .lanes
            .values()
            .map(|l| {
                let (queued, in_flight) = l.load();
                ChannelStatus {
                    receiver: l.receiver.clone(),
                    channel: l.channel.clone(),
                    queued,
                    in_flight,
                    breaker: l.breaker.as_ref().map(BreakerHandle::state),
                }
            })
            .collect();
        v.sort_by(|a, b| (&a.receiver, &a.channel).cmp(&(&b.receiver, &b.channel)));
        v
    }

    /// The dead letters matching `q`, newest first: notifications given up by a
    /// receiver without a fallback (see [`Store::dead_letters`]).
    pub async fn dead_letters(&self, q: &DeadLetterQuery) -> Result<Vec<DeadLetter>, OutboxError> {
        Ok(self.inner.store.dead_letters(q).await?)
    }

    /// Queues the dead letter `id` again (after fixing what made it fail, e.g.
    /// re-enabling a disabled receiver): in one transaction it goes back to the
    /// outbox with no attempts and a fresh retry budget (its `created_at` is now),
    /// and leaves the dead letters. Returns `false` when there is no such dead
    /// letter. Fails with [`OutboxError::UnknownChannel`] when its channel is no
    /// longer registered (it then stays a dead letter).
    pub async fn redeliver(&self, id: &str) -> Result<bool, OutboxError> {
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(OutboxError::Closed);
        }
        let q = DeadLetterQuery {
            id: Some(id.to_owned()),
            limit: 1,
            ..DeadLetterQuery::default()
        };
        let Some(dead) = self.inner.store.dead_letters(&q).await?.into_iter().next() else {
            return Ok(false);
        };
        let mut n = dead.notification;
        n.attempts = 0;
        n.next_attempt_at = None;
        n.created_at = self.inner.clock.now();
        let lane = self.lane_of(&n)?;
        self.inner
            .store
            .apply(&[
                Change::Enqueue(n.clone()),
                Change::DeleteDeadLetter(n.id.clone()),
            ])
            .await?;
        self.inner
            .counters
            .submitted
            .fetch_add(1, Ordering::Relaxed);
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        lane.push_ready(seq, n);
        Ok(true)
    }

    /// The breaker handle of a channel registered with one (to re-enable it).
    pub fn breaker(&self, receiver: &str, channel: &str) -> Option<BreakerHandle> {
        self.inner
            .lanes
            .get(&(receiver.to_owned(), channel.to_owned()))
            .and_then(|l| l.breaker.clone())
    }

    /// Waits until nothing is queued or in flight (every notification delivered or
    /// given up) and its outcome is recorded, or `timeout` passes. Returns whether it
    /// became idle.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.inner.is_idle() {
                return true;
            }
            let step =
                (deadline.saturating_duration_since(Instant::now())).min(Duration::from_millis(50));
            if step.is_zero() {
                return self.inner.is_idle();
            }
            let _ = tokio::time::timeout(step, idle).await;
        }
    }

    /// Stops taking notifications, lets running attempts finish and record their
    /// outcome (up to `grace`), and stops. Whatever is still pending stays in the store
    /// for the next start.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.shutdown.notify_waiters();
        for l in self.inner.lanes.values() {
            l.wake.notify_waiters();
        }
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        let (workers, writer): (Vec<_>, Vec<_>) = {
            let mut it = tasks.into_iter();
            let writer: Vec<_> = it.next().into_iter().collect();
            (it.collect(), writer)
        };
        let all_workers = futures_join(workers);
        if tokio::time::timeout(grace, all_workers).await.is_err() {
            tracing::warn!(
                "outbox shutdown: attempts still running after the grace period; they stay pending"
            );
        }
        // Close the commit channel so the writer drains and ends.
        self.inner
            .commit_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        for w in writer {
            let _ = tokio::time::timeout(grace, w).await;
        }
    }
}

async fn futures_join(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.shutdown.notify_waiters();
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }
}
