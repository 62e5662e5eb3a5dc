//! [`Router`]: the async front of the engine, with a store, a clock, timers and
//! delivery through the outbox.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use alert_core::{Alert, BuildError, Fingerprint, Notifier, NotifyError, Receipt, Timestamp};
use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::action::{Action, ActionPolicy, ActionSlot};
use crate::clock::{Clock, SystemClock};
use crate::config::RouterConfig;
use crate::delivery::{Outbox, OutboxBuilder, OutboxError, new_notification_id};
use crate::engine::{
    AlertFilter, AlertView, Decision, Engine, EngineConfig, FlapControl, NoticePlan, Output,
    ReceiverMeta, needs_update,
};
use crate::receiver::{InhibitRule, Receiver};
use crate::route::{Names, Route, RouteTree};
use crate::silence::{Silence, SilenceState};
use crate::store::{
    Ack, ActionOutcome, ActionRecord, AlertEvent, Change, EventKind, LogEntry, LogKind, LogQuery,
    MemoryStore, Notification, NotificationKind, Prepared, PruneReport, Retention, Store,
    StoreError, SuppressReason,
};
use crate::timeinterval::TimeInterval;

/// Why a router call failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The configuration is invalid (the error names the key).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The store failed: the call's effect is not durable yet (for `send`, the
    /// router keeps the alert and writes it with the next successful write; for
    /// silences, nothing changed). Retry or report it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The outbox refused a notification.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// No such alert, silence or receiver.
    #[error("{what} not found: {id}")]
    NotFound {
        /// `alert`, `silence`, `receiver`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The request is invalid (a silence without matchers, an ack of a resolved alert).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was invalid.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The router was shut down.
    #[error("the router is shut down")]
    ShutDown,
}

/// A silence and its state now.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SilenceView {
    /// The silence.
    #[serde(flatten)]
    pub silence: Silence,
    /// Pending, active or expired.
    pub state: SilenceState,
    /// Whether it mutes right now (active, and inside a window if recurring).
    pub in_effect: bool,
}

/// Counters for `/metrics` and reports.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RouterStats {
    /// Alerts received (every `send`, duplicates included).
    pub received: u64,
    /// Alerts active now.
    pub active_alerts: u64,
    /// Aggregation groups now.
    pub groups: u64,
    /// Episodes started (an alert began firing).
    pub fired: u64,
    /// Episodes ended.
    pub resolved: u64,
    /// Held back, by reason: `dedup` counts every duplicate received; the others
    /// count once per alert episode and reason.
    pub suppressed: BTreeMap<String, u64>,
    /// Group flushes the notification log found nothing new in (per channel).
    pub flushes_deduplicated: u64,
    /// Notifications handed to delivery.
    pub notifications: u64,
    /// Alerts that started flapping.
    pub flaps: u64,
    /// Escalation notices.
    pub escalations: u64,
    /// Acknowledgements.
    pub acks: u64,
    /// Actions run (dry runs and cool-down skips excluded).
    pub actions_run: u64,
    /// Actions that failed.
    pub actions_failed: u64,
    /// Store writes that failed (and were retried).
    pub store_errors: u64,
}

/// Builds a [`Router`]: receivers, routes, rules, store, clock, delivery.
///
/// ```no_run
/// # async fn run() -> Result<(), alert_router::RouterError> {
/// use std::time::Duration;
/// use alert_core::{Alert, ConsoleNotifier, Severity};
/// use alert_router::{Receiver, Route, Router};
/// let router = Router::builder()
///     .receiver(Receiver::new("team").channel(ConsoleNotifier::stderr("bikes")))
///     .route(Route::to("team").group_by(["alertname"]).group_wait(Duration::from_secs(10)))
///     .build()
///     .await?;
/// router.send(Alert::new(Severity::Error, "AccuracyDrop").with_label("model", "bikes")).await?;
/// router.shutdown(Duration::from_secs(5)).await;
/// # Ok(()) }
/// ```
pub struct RouterBuilder {
    config: Option<RouterConfig>,
    route: Option<Route>,
    receivers: Vec<Receiver>,
    custom_channels: HashMap<String, Arc<dyn Notifier>>,
    inhibit_rules: Vec<InhibitRule>,
    time_intervals: Vec<(String, Vec<TimeInterval>)>,
    flap: Option<FlapControl>,
    keep_firing_for: Option<Duration>,
    resolve_timeout: Option<Duration>,
    actions: Vec<(Arc<dyn Action>, ActionPolicy)>,
    store: Option<Arc<dyn Store>>,
    clock: Option<Arc<dyn Clock>>,
    delivery: Vec<Box<dyn FnOnce(OutboxBuilder) -> OutboxBuilder + Send>>,
    driver: bool,
    retention: Option<Duration>,
}

impl fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("receivers", &self.receivers)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

/// Alertmanager's default `resolve_timeout`.
pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// How long history is kept unless told otherwise: 30 days (the same as the
/// `alerts` service). Log entries, delivery attempts, events, action records and
/// expired silences older than this are pruned every hour.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);

impl RouterBuilder {
    fn new() -> RouterBuilder {
        RouterBuilder {
            config: None,
            route: None,
            receivers: Vec::new(),
            custom_channels: HashMap::new(),
            inhibit_rules: Vec::new(),
            time_intervals: Vec::new(),
            flap: None,
            keep_firing_for: None,
            resolve_timeout: None,
            actions: Vec::new(),
            store: None,
            clock: None,
            delivery: Vec::new(),
            driver: true,
            retention: None,
        }
    }

    /// Starts from a config (receivers, routes, rules, intervals, actions). Anything
    /// added in code is added to it; a route set in code replaces the config's.
    pub fn config(mut self, config: RouterConfig) -> RouterBuilder {
        self.config = Some(config);
        self
    }
    /// Sets the routing tree (default: everything to the first receiver).
    pub fn route(mut self, root: Route) -> RouterBuilder {
        self.route = Some(root);
        self
    }
    /// Adds a receiver.
    pub fn receiver(mut self, r: Receiver) -> RouterBuilder {
        self.receivers.push(r);
        self
    }
    /// Registers a user-written channel under a name that config can refer to with
    /// `{ type = "custom", name = "..." }`.
    pub fn custom_channel(
        mut self,
        name: impl Into<String>,
        n: Arc<dyn Notifier>,
    ) -> RouterBuilder {
        self.custom_channels.insert(name.into(), n);
        self
    }
    /// Adds an inhibition rule.
    pub fn inhibit(mut self, rule: InhibitRule) -> RouterBuilder {
        self.inhibit_rules.push(rule);
        self
    }
    /// Names a time interval (a list of windows) for routes to mute or activate on.
    pub fn time_interval(
        mut self,
        name: impl Into<String>,
        windows: Vec<TimeInterval>,
    ) -> RouterBuilder {
        self.time_intervals.push((name.into(), windows));
        self
    }
    /// Turns flap control on.
    pub fn flap_control(mut self, f: FlapControl) -> RouterBuilder {
        self.flap = Some(f);
        self
    }
    /// Holds resolutions back this long; an alert that fires again meanwhile never
    /// resolved (default 0: off).
    pub fn keep_firing_for(mut self, d: Duration) -> RouterBuilder {
        self.keep_firing_for = Some(d);
        self
    }
    /// How long after its last receipt an alert without `ends_at` resolves by itself
    /// (default 5m, as Alertmanager).
    pub fn resolve_timeout(mut self, d: Duration) -> RouterBuilder {
        self.resolve_timeout = Some(d);
        self
    }
    /// Registers an action routes can name, with its cool-down and dry-run policy.
    pub fn action(mut self, action: Arc<dyn Action>, policy: ActionPolicy) -> RouterBuilder {
        self.actions.push((action, policy));
        self
    }
    /// The durable store (default: a fresh [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn Store>) -> RouterBuilder {
        self.store = Some(store);
        self
    }
    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> RouterBuilder {
        self.clock = Some(clock);
        self
    }
    /// Adjusts delivery (retry policy, lane concurrency, extra channels).
    pub fn delivery(
        mut self,
        f: impl FnOnce(OutboxBuilder) -> OutboxBuilder + Send + 'static,
    ) -> RouterBuilder {
        self.delivery.push(Box::new(f));
        self
    }
    /// Does not start the background timer task: call [`Router::tick`] to run due
    /// timers (tests with a [`ManualClock`](crate::ManualClock)).
    pub fn manual_ticks(mut self) -> RouterBuilder {
        self.driver = false;
        self
    }
    /// Prunes history older than `d` every hour, once at start-up first (default
    /// [`DEFAULT_RETENTION`], 30 days). `Duration::MAX` keeps everything, as
    /// [`RouterBuilder::retention_off`] does and `retention = "off"` in config.
    /// Overrides the config's `retention`.
    pub fn retention(mut self, d: Duration) -> RouterBuilder {
        self.retention = Some(d);
        self
    }
    /// Never prunes history: the store grows without bound (prune it yourself with
    /// [`Router::prune`]).
    pub fn retention_off(self) -> RouterBuilder {
        self.retention(Duration::MAX)
    }

    /// Validates everything, loads the store, starts delivery and the timer task.
    pub async fn build(mut self) -> Result<Router, RouterError> {
        let mut channel_kinds: Vec<Receiver> = Vec::new();
        let mut route = self.route.take();
        let mut inhibit = Vec::new();
        let mut intervals: Vec<(String, Vec<TimeInterval>)> = Vec::new();
        let mut actions: Vec<(Arc<dyn Action>, ActionPolicy)> = Vec::new();
        let mut flap = self.flap.take();
        let mut keep = self.keep_firing_for;
        let mut resolve = self.resolve_timeout;
        if let Some(cfg) = self.config.take() {
            let built = cfg.build_parts(&self.custom_channels)?;
            channel_kinds.extend(built.receivers);
            if route.is_none() {
                route = Some(built.route);
            }
            inhibit.extend(built.inhibit_rules);
            intervals.extend(built.time_intervals);
            actions.extend(built.actions);
            flap = flap.or(built.flap);
            keep = keep.or(built.keep_firing_for);
            resolve = resolve.or(built.resolve_timeout);
            if self.retention.is_none() {
                self.retention = built.retention;
            }
        }
        channel_kinds.extend(self.receivers);
        inhibit.extend(self.inhibit_rules);
        intervals.extend(self.time_intervals);
        actions.extend(self.actions);
        let receivers = channel_kinds;
        if receivers.is_empty() {
            return Err(BuildError::invalid("receivers", "at least one receiver is needed").into());
        }
        let mut rmap = HashMap::new();
        for (i, r) in receivers.iter().enumerate() {
            if r.name.is_empty() {
                return Err(BuildError::invalid(
                    format!("receivers[{i}].name"),
                    "must not be empty",
                )
                .into());
            }
            if rmap.insert(r.name.clone(), i as u32).is_some() {
                return Err(BuildError::invalid(
                    format!("receivers[{i}].name"),
                    format!("receiver `{}` is defined twice", r.name),
                )
                .into());
            }
        }
        let mut imap = HashMap::new();
        for (i, (n, _)) in intervals.iter().enumerate() {
            if imap.insert(n.clone(), i as u32).is_some() {
                return Err(BuildError::invalid(
                    format!("time_intervals[{i}].name"),
                    format!("time interval `{n}` is defined twice"),
                )
                .into());
            }
        }
        let mut amap = HashMap::new();
        for (i, (a, _)) in actions.iter().enumerate() {
            if amap.insert(a.name().to_owned(), i as u32).is_some() {
                return Err(BuildError::invalid(
                    format!("actions[{i}].name"),
                    format!("action `{}` is defined twice", a.name()),
                )
                .into());
            }
        }
        for (i, r) in receivers.iter().enumerate() {
            let Some(f) = &r.fallback else {
                continue;
            };
            let invalid = |reason: String| -> RouterError {
                BuildError::invalid(format!("receivers[{i}].fallback"), reason).into()
            };
            let Some(&j) = rmap.get(f) else {
                return Err(invalid(format!("no receiver named `{f}`")));
            };
            if *f == r.name {
                return Err(invalid("a receiver cannot fall back to itself".into()));
            }
            if receivers[j as usize].channels.is_empty() {
                return Err(invalid(format!(
                    "receiver `{f}` has no channels to fall back to"
                )));
            }
            let mut path = vec![r.name.as_str()];
            let mut at = f.as_str();
            loop {
                if path.contains(&at) {
                    path.push(at);
                    return Err(invalid(format!("fallback cycle: {}", path.join(" → "))));
                }
                path.push(at);
                match rmap
                    .get(at)
                    .and_then(|&k| receivers[k as usize].fallback.as_deref())
                {
                    Some(next) => at = next,
                    None => break,
                }
            }
        }
        let route = route.unwrap_or_else(|| Route::to(receivers[0].name.clone()));
        let tree = RouteTree::compile(
            &route,
            &Names {
                receivers: &rmap,
                intervals: &imap,
                actions: &amap,
            },
        )?;
        if let Some(f) = &flap
            && (f.transitions == 0 || f.window.is_zero())
        {
            return Err(BuildError::invalid(
                "flap_detection",
                "`transitions` and `window` must be greater than zero",
            )
            .into());
        }
        let metas: Vec<ReceiverMeta> = receivers
            .iter()
            .map(|r| ReceiverMeta {
                name: r.name.clone(),
                channels: r.channel_names(),
                send_resolved: r.send_resolved,
            })
            .collect();
        let engine = Engine::new(EngineConfig {
            tree,
            receivers: metas.clone(),
            intervals: intervals.iter().map(|(_, v)| v.clone()).collect(),
            inhibit_rules: inhibit,
            flap,
            keep_firing_for: keep.unwrap_or(Duration::ZERO),
            resolve_timeout: resolve.unwrap_or(DEFAULT_RESOLVE_TIMEOUT),
            actions: actions
                .iter()
                .map(|(a, p)| (a.name().to_owned(), p.clone()))
                .collect(),
        });
        let store: Arc<dyn Store> = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));

        let mut engine = engine;
        let snapshot = store.load().await?;
        let mut out = Output::default();
        engine.restore(snapshot, clock.now(), &mut out);
        if !out.changes.is_empty() {
            store.apply(&out.changes).await?;
        }

        let mut ob = Outbox::builder(store.clone()).clock(clock.clone());
        let mut notifiers = HashMap::new();
        for r in &receivers {
            for c in &r.channels {
                notifiers.insert((r.name.clone(), c.name.clone()), c.notifier.clone());
                ob = match &c.kind {
                    Some(kind) => ob.channel_recommended(
                        r.name.clone(),
                        c.name.clone(),
                        kind,
                        c.notifier.clone(),
                    ),
                    None => ob.channel(r.name.clone(), c.name.clone(), c.notifier.clone()),
                };
            }
            if let Some(f) = &r.fallback {
                ob = ob.fallback(r.name.clone(), f.clone());
            }
        }
        for f in self.delivery {
            ob = f(ob);
        }
        let outbox = ob.start().await?;
        let inner = Arc::new(Inner {
            engine: Mutex::new(engine),
            store,
            clock,
            outbox,
            receivers: metas,
            notifiers,
            actions: actions
                .into_iter()
                .map(|(action, _)| ActionSlot { action })
                .collect(),
            wake: Arc::new(Notify::new()),
            tick_lock: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            driver: Mutex::new(None),
            running_actions: Mutex::new(Vec::new()),
            retention: match self.retention.unwrap_or(DEFAULT_RETENTION) {
                Duration::MAX => None,
                d => Some(d),
            },
            counters: RouterCounters::default(),
            pending: Mutex::new(Vec::new()),
            seq: Mutex::new(SeqState::default()),
            seq_notify: Notify::new(),
        });
        if self.driver {
            let handle = tokio::spawn(drive(Arc::downgrade(&inner), inner.wake.clone()));
            *lock(&inner.driver) = Some(handle);
        }
        Ok(Router { inner })
    }
}

#[derive(Debug, Default)]
struct RouterCounters {
    notifications: AtomicU64,
    flushes_deduplicated: AtomicU64,
    actions_run: AtomicU64,
    actions_failed: AtomicU64,
    store_errors: AtomicU64,
}

struct Inner {
    engine: Mutex<Engine>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    outbox: Outbox,
    receivers: Vec<ReceiverMeta>,
    notifiers: HashMap<(String, String), Arc<dyn Notifier>>,
    actions: Vec<ActionSlot>,
    wake: Arc<Notify>,
    tick_lock: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    driver: Mutex<Option<JoinHandle<()>>>,
    running_actions: Mutex<Vec<JoinHandle<()>>>,
    /// `None`: never prune.
    retention: Option<Duration>,
    counters: RouterCounters,
    /// Changes the store refused, written first by the next write.
    pending: Mutex<Vec<Change>>,
    /// Which write ticket goes next, and tickets abandoned before their turn.
    seq: Mutex<SeqState>,
    seq_notify: Notify,
}

#[derive(Debug, Default)]
struct SeqState {
    /// The ticket whose turn it is (while it writes, too).
    next: u64,
    /// Futures waiting on `seq_notify`.
    waiting: usize,
    /// Changes of tickets waiting for their turn. The ticket whose turn it is takes
    /// those that follow it without a gap into its own transaction (group commit):
    /// concurrent requests share a commit, in ticket order.
    queued: BTreeMap<u64, Queued>,
    /// Changes of tickets dropped before their turn (no one waits for them).
    abandoned: BTreeMap<u64, Vec<Change>>,
    /// Outcomes of queued tickets written in another ticket's transaction: `None`
    /// written, `Some(error)` not written (the changes went to `pending`).
    covered: BTreeMap<u64, Option<String>>,
    /// Queued tickets taken into a transaction and then dropped: no outcome is kept
    /// for them.
    gone: BTreeSet<u64>,
}

/// A waiting ticket's changes, and what the store prepared of them
/// ([`Store::prepare`]).
#[derive(Debug)]
struct Queued {
    changes: Vec<Change>,
    prepared: Option<Prepared>,
}

/// Ends a ticket whatever happens to the future holding it: hands unwritten
/// changes to `pending`, gives the tickets its transaction covered their outcome,
/// and lets the next ticket go.
struct TicketGuard<'a> {
    inner: &'a Inner,
    ticket: u64,
    /// Its changes while this future holds them (not queued, not in a batch).
    changes: Option<Vec<Change>>,
    /// What the store prepared of `changes`, held and queued with them.
    prepared: Option<Prepared>,
    /// Its changes are in `SeqState::queued` (or were taken from there by another
    /// ticket's transaction).
    queued: bool,
    /// This ticket's transaction, until it is known to be written.
    batch: Option<Vec<Change>>,
    /// The last ticket the transaction covers (this one until it takes others).
    last: u64,
    /// The queued tickets the transaction took.
    followers: Vec<u64>,
    /// The transaction's outcome once known: `None` written, `Some(error)` not.
    outcome: Option<Option<String>>,
    /// Its outcome came from another ticket's transaction.
    done: bool,
    /// Counted in `SeqState::waiting`.
    waiting: bool,
}

impl Drop for TicketGuard<'_> {
    fn drop(&mut self) {
        let mut seq = lock(&self.inner.seq);
        if self.waiting {
            seq.waiting -= 1;
        }
        if self.done {
            return;
        }
        if self.queued {
            if seq.covered.remove(&self.ticket).is_some() {
                // Settled by another ticket's transaction.
                return;
            }
            if seq.next != self.ticket {
                match seq.queued.remove(&self.ticket) {
                    // Dropped before its turn: its changes go when the turn comes.
                    Some(queued) => {
                        seq.abandoned.insert(self.ticket, queued.changes);
                    }
                    // In another ticket's transaction now: keep no outcome for it.
                    None => {
                        seq.gone.insert(self.ticket);
                    }
                }
                return;
            }
            // Its turn came and it did not take it.
            self.changes = seq.queued.remove(&self.ticket).map(|q| q.changes);
        } else if seq.next != self.ticket {
            let changes = self.changes.take().unwrap_or_default();
            seq.abandoned.insert(self.ticket, changes);
            return;
        }
        let unwritten: Vec<Change> = self
            .batch
            .take()
            .into_iter()
            .flatten()
            .chain(self.changes.take().into_iter().flatten())
            .collect();
        if !unwritten.is_empty() {
            let mut pending = lock(&self.inner.pending);
            let later = std::mem::take(&mut *pending);
            *pending = unwritten;
            pending.extend(later);
        }
        let outcome = self.outcome.take().unwrap_or_else(|| {
            Some("the write was interrupted (its caller went away); it is retried with the next write".to_owned())
        });
        for t in std::mem::take(&mut self.followers) {
            if !seq.gone.remove(&t) {
                seq.covered.insert(t, outcome.clone());
            }
        }
        seq.next = self.last + 1;
        loop {
            let next = seq.next;
            let Some(changes) = seq.abandoned.remove(&next) else {
                break;
            };
            lock(&self.inner.pending).extend(changes);
            seq.next += 1;
        }
        let wake = seq.waiting > 0;
        drop(seq);
        if wake {
            self.inner.seq_notify.notify_waiters();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Routes alerts and controls noise; see the [crate docs](crate) for the model.
///
/// Cheap to clone (an `Arc`); every method takes `&self`.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("engine", &*lock(&self.inner.engine))
            .field("store", &self.inner.store.name())
            .finish_non_exhaustive()
    }
}

/// Due timers handled per chunk by the router's tick (see `Inner::process`).
const TIMERS_PER_CHUNK: usize = 64;

async fn drive(weak: Weak<Inner>, wake: Arc<Notify>) {
    let mut last_prune: Option<Timestamp> = None;
    loop {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        let now = inner.clock.now();
        let due = lock(&inner.engine).next_due();
        match due {
            Some(t) if t <= now => {
                if let Err(e) = inner.process(now).await {
                    tracing::error!(error = %e, "router tick failed; retrying");
                    drop(inner);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
            _ => {}
        }
        if let Some(ret) = inner.retention
            && last_prune.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(3600))
        {
            last_prune = Some(now);
            let mut out = Output::default();
            let ticket = {
                let mut engine = lock(&inner.engine);
                engine.gc_flap(now, &mut out);
                engine.ticket()
            };
            inner.persist(ticket, out.changes).await;
            if let Err(e) = inner
                .store
                .prune(&Retention::before(now.saturating_sub(ret)))
                .await
            {
                tracing::warn!(error = %e, "pruning history failed");
            }
        }
        let mut wait = due
            .map(|t| t.duration_since(now))
            .unwrap_or(Duration::from_secs(3600));
        if !lock(&inner.pending).is_empty() {
            // Changes the store refused: try again every second.
            let ticket = lock(&inner.engine).ticket();
            if inner.write_ordered(ticket, Vec::new()).await.is_err() {
                wait = wait.min(Duration::from_secs(1));
            }
        }
        drop(inner);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
        }
    }
}

impl Inner {
    /// Writes the changes of `ticket` (taken under the engine lock, so tickets follow
    /// the order in which the engine made the changes) once every earlier ticket is
    /// written, after any batch the store refused before. Tickets waiting for their
    /// turn queue their changes, and the ticket whose turn it is writes those that
    /// follow it without a gap in its own transaction (group commit: concurrent
    /// requests share one commit; each learns the shared outcome). On failure the batch is
    /// kept and written first next time; if this future is dropped (a cancelled
    /// request) its changes are handed on the same way. So the store never misses,
    /// nor reorders, a change the in-memory state already made.
    async fn write_ordered(&self, ticket: u64, changes: Vec<Change>) -> Result<(), StoreError> {
        // Before the turn: requests waiting for theirs prepare in parallel.
        let prepared = if changes.is_empty() {
            None
        } else {
            self.store.prepare(&changes)
        };
        let mut guard = TicketGuard {
            inner: self,
            ticket,
            changes: Some(changes),
            prepared,
            queued: false,
            batch: None,
            last: ticket,
            followers: Vec::new(),
            outcome: None,
            done: false,
            waiting: false,
        };
        // Where the batch's prepared runs start, and what was prepared of them.
        let mut parts: Vec<(usize, Prepared)> = Vec::new();
        loop {
            let turn = {
                let mut seq = lock(&self.seq);
                if guard.waiting {
                    seq.waiting -= 1;
                    guard.waiting = false;
                }
                if let Some(outcome) = seq.covered.remove(&ticket) {
                    // Written (or not) in an earlier ticket's transaction.
                    guard.done = true;
                    return match outcome {
                        None => Ok(()),
                        Some(message) => Err(StoreError::Unavailable {
                            store: self.store.name(),
                            message,
                        }),
                    };
                }
                if seq.next == ticket {
                    let own = if guard.queued {
                        seq.queued.remove(&ticket)
                    } else {
                        Some(Queued {
                            changes: guard.changes.take().unwrap_or_default(),
                            prepared: guard.prepared.take(),
                        })
                    };
                    guard.queued = false;
                    // What the store refused before goes first, then this ticket's
                    // changes, then those of the tickets queued right after it.
                    let mut batch = std::mem::take(&mut *lock(&self.pending));
                    let mut add = |batch: &mut Vec<Change>, q: Queued| {
                        let Queued {
                            mut changes,
                            prepared,
                        } = q;
                        if let Some(p) = prepared {
                            parts.push((batch.len(), p));
                        }
                        batch.append(&mut changes);
                    };
                    if let Some(own) = own {
                        add(&mut batch, own);
                    }
                    let mut last = ticket;
                    loop {
                        let t = last + 1;
                        if let Some(q) = seq.queued.remove(&t) {
                            add(&mut batch, q);
                            guard.followers.push(t);
                        } else if let Some(mut c) = seq.abandoned.remove(&t) {
                            batch.append(&mut c);
                        } else {
                            break;
                        }
                        last = t;
                    }
                    guard.last = last;
                    guard.batch = Some(batch);
                    break;
                }
                if !guard.queued {
                    let queued = Queued {
                        changes: guard.changes.take().unwrap_or_default(),
                        prepared: guard.prepared.take(),
                    };
                    seq.queued.insert(ticket, queued);
                    guard.queued = true;
                }
                // Registered before the lock is released, so the wake-up cannot be
                // missed.
                seq.waiting += 1;
                guard.waiting = true;
                self.seq_notify.notified()
            };
            turn.await;
        }
        let batch = guard.batch.as_deref().unwrap_or_default();
        if batch.is_empty() {
            guard.batch = None;
            guard.outcome = Some(None);
            return Ok(());
        }
        let result = self.store.apply_prepared(batch, parts).await;
        match &result {
            Ok(()) => {
                guard.batch = None;
                guard.outcome = Some(None);
            }
            Err(e) => {
                self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
                // For the tickets it covered: the reason, without the store's
                // prefix (theirs adds it again).
                let reason = match e {
                    StoreError::Unavailable { message, .. } => message.clone(),
                    StoreError::Corrupt { what, message, .. } => {
                        format!("corrupt record {what}: {message}")
                    }
                    StoreError::Other { source, .. } => source.to_string(),
                };
                guard.outcome = Some(Some(reason));
            }
        }
        result
    }

    /// Writes state changes; on failure, retries with back-off (the state is in
    /// memory, so nothing is lost while the process lives).
    async fn persist(&self, ticket: u64, changes: Vec<Change>) {
        let mut result = self.write_ordered(ticket, changes).await;
        let mut delay = Duration::from_millis(100);
        while let Err(e) = result {
            tracing::error!(error = %e, "could not write router state; retrying");
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
            let ticket = lock(&self.engine).ticket();
            result = self.write_ordered(ticket, Vec::new()).await;
        }
    }

    /// Appends that need no ordering (action audit records), retried until written.
    async fn append(&self, changes: Vec<Change>) {
        let mut delay = Duration::from_millis(100);
        while let Err(e) = self.store.apply(&changes).await {
            self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "could not write an audit record; retrying");
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }

    async fn process(self: &Arc<Self>, now: Timestamp) -> Result<(), RouterError> {
        let _g = self.tick_lock.lock().await;
        // A burst of due groups (10,000 alerts that arrived together) is handled in
        // chunks: each chunk's notifications are queued before the next chunk's are
        // made, which bounds memory and lets the first deliveries start sooner.
        loop {
            let mut out = Output::default();
            let (more, ticket) = {
                let mut engine = lock(&self.engine);
                let more = engine.run_due_limited(now, &mut out, TIMERS_PER_CHUNK);
                (more, engine.ticket())
            };
            self.handle(out, Some(ticket), now).await?;
            if !more {
                return Ok(());
            }
        }
    }

    /// Delivers what an engine call produced. `ticket` orders the write of
    /// `out.changes` (required when there are changes).
    async fn handle(
        self: &Arc<Self>,
        mut out: Output,
        ticket: Option<u64>,
        now: Timestamp,
    ) -> Result<(), RouterError> {
        let changes = std::mem::take(&mut out.changes);
        if let Some(t) = ticket {
            self.persist(t, changes).await;
        }
        let mut notifications = Vec::new();
        let mut logs = Vec::new();
        for notice in out.notices {
            self.notice(notice, &mut notifications, &mut logs);
        }
        let mut acked_repeats = Vec::new();
        let mut sent_plans = Vec::new();
        // The dedup state of every (group, channel) of this batch, in one store call.
        let keys: Vec<(&str, &str, &str)> = out
            .plans
            .iter()
            .flat_map(|plan| {
                let recv = &self.receivers[plan.receiver as usize];
                recv.channels
                    .iter()
                    .map(move |ch| (recv.name.as_str(), ch.as_str(), &*plan.group_key))
            })
            .collect();
        let mut lasts = match self.store.last_notifications(&keys).await {
            Ok(v) if v.len() == keys.len() => v,
            other => {
                let error = match other {
                    Err(e) => e.to_string(),
                    Ok(v) => format!("{} answers for {} groups", v.len(), keys.len()),
                };
                // Duplicate rather than lose: treat as never notified.
                tracing::warn!(%error, "could not read the notification log");
                vec![None; keys.len()]
            }
        }
        .into_iter();
        drop(keys);
        for plan in out.plans {
            let recv = &self.receivers[plan.receiver as usize];
            let mut sent = false;
            for channel in &recv.channels {
                let last = lasts.next().flatten();
                let d = needs_update(
                    last.as_ref(),
                    &plan.firing,
                    &plan.resolved,
                    recv.send_resolved,
                    plan.repeat_interval,
                    plan.all_firing_acked,
                    plan.force,
                    now,
                );
                match d {
                    Decision::Dedup => {
                        self.counters
                            .flushes_deduplicated
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    Decision::Acked => {
                        self.counters
                            .flushes_deduplicated
                            .fetch_add(1, Ordering::Relaxed);
                        acked_repeats.push(plan.clone());
                    }
                    Decision::Send => {
                        sent = true;
                        let to_send: Vec<Alert> = plan
                            .alerts
                            .iter()
                            .filter(|a| recv.send_resolved || !a.is_resolved())
                            .map(|a| Alert::clone(a))
                            .collect();
                        let mut entry = LogEntry::new(LogKind::Notified, now);
                        entry.receiver = recv.name.clone();
                        entry.channel = channel.clone();
                        entry.group_key = plan.group_key.to_string();
                        entry.firing = plan.firing.clone();
                        entry.resolved = plan.resolved.clone();
                        if !to_send.is_empty() {
                            let kind = if plan.firing.is_empty() {
                                NotificationKind::Resolve
                            } else {
                                NotificationKind::Group
                            };
                            let severity = Engine::highest_severity(&to_send);
                            let n = Notification::new(
                                new_notification_id(),
                                recv.name.clone(),
                                channel.clone(),
                                plan.group_key.to_string(),
                                kind,
                                to_send,
                                severity,
                                now,
                            );
                            entry.notification_id = Some(n.id.clone());
                            notifications.push(n);
                        }
                        logs.push(Change::Log(entry));
                    }
                }
            }
            if sent {
                for a in &plan.alerts {
                    logs.push(Change::Event(AlertEvent::of(
                        a,
                        EventKind::Notified,
                        &plan.route_id,
                        now,
                    )));
                }
                sent_plans.push(plan);
            }
        }
        self.submit(notifications).await?;
        let mut more = Output::default();
        let mut jobs = Vec::new();
        let logs_ticket;
        {
            let mut engine = lock(&self.engine);
            logs_ticket = engine.ticket();
            for plan in &acked_repeats {
                for fp in &plan.firing {
                    engine.suppress_acked(*fp, &plan.route_id, now, &mut more);
                }
            }
            for plan in &sent_plans {
                let firing: Vec<Arc<Alert>> = plan
                    .alerts
                    .iter()
                    .filter(|a| !a.is_resolved())
                    .cloned()
                    .collect();
                if !firing.is_empty() {
                    jobs.extend(engine.claim_actions(plan.route, &firing, now, &mut more));
                }
            }
        }
        logs.extend(more.changes);
        self.persist(logs_ticket, logs).await;
        for job in jobs {
            self.spawn_action(job);
        }
        Ok(())
    }

    fn notice(
        &self,
        notice: NoticePlan,
        notifications: &mut Vec<Notification>,
        logs: &mut Vec<Change>,
    ) {
        let recv = &self.receivers[notice.receiver as usize];
        for channel in &recv.channels {
            let n = Notification::new(
                new_notification_id(),
                recv.name.clone(),
                channel.clone(),
                "",
                NotificationKind::Notice,
                vec![notice.alert.clone()],
                notice.alert.severity,
                notice.at,
            );
            let mut entry = LogEntry::new(notice.kind, notice.at);
            entry.receiver = recv.name.clone();
            entry.channel = channel.clone();
            entry.group_key = notice.group_key.clone();
            entry.firing = vec![notice.alert.fingerprint()];
            entry.detail = notice.detail.clone();
            entry.notification_id = Some(n.id.clone());
            logs.push(Change::Log(entry));
            notifications.push(n);
        }
    }

    /// Hands notifications to the outbox; retries while the store is down (the flush
    /// already happened in memory, so giving up would lose them).
    async fn submit(&self, ns: Vec<Notification>) -> Result<(), RouterError> {
        if ns.is_empty() {
            return Ok(());
        }
        self.counters
            .notifications
            .fetch_add(ns.len() as u64, Ordering::Relaxed);
        let mut delay = Duration::from_millis(100);
        loop {
            match self.outbox.submit_many(ns.clone()).await {
                Ok(()) => return Ok(()),
                Err(OutboxError::Store(e)) if !self.closed.load(Ordering::SeqCst) => {
                    self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, "could not queue notifications; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn spawn_action(self: &Arc<Self>, job: crate::engine::ActionJob) {
        let Some(slot) = self.actions.get(job.action as usize).cloned() else {
            return;
        };
        let inner = self.clone();
        let handle = tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let result = slot.action.run(&job.alert).await;
            let duration = started.elapsed();
            inner.counters.actions_run.fetch_add(1, Ordering::Relaxed);
            let outcome = match result {
                Ok(output) => ActionOutcome::Succeeded { output },
                Err(e) => {
                    inner
                        .counters
                        .actions_failed
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(action = slot.action.name(), error = %e, "action failed");
                    ActionOutcome::Failed { error: e.0 }
                }
            };
            let record = ActionRecord {
                at: job.at,
                action: slot.action.name().to_owned(),
                fingerprint: job.alert.fingerprint(),
                alert_name: job.alert.name.clone(),
                route: job.route_id.clone(),
                duration,
                outcome,
            };
            inner.append(vec![Change::Action(record)]).await;
        });
        let mut running = lock(&self.running_actions);
        running.retain(|h| !h.is_finished());
        running.push(handle);
    }
}

impl Router {
    /// A builder.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::new()
    }

    /// Builds a router from a config with the default store and clock.
    pub async fn from_config(config: RouterConfig) -> Result<Router, RouterError> {
        Router::builder().config(config).build().await
    }

    fn check_open(&self) -> Result<(), RouterError> {
        if self.inner.closed.load(Ordering::SeqCst) {
            Err(RouterError::ShutDown)
        } else {
            Ok(())
        }
    }

    /// Receives one alert (firing, or resolved). Returns once its state is stored.
    ///
    /// On [`RouterError::Store`] the alert is not durable yet: the router keeps it
    /// in memory, routes it, and writes it with the next successful store write;
    /// sending it again is harmless (counted as a duplicate).
    pub async fn send(&self, alert: Alert) -> Result<(), RouterError> {
        self.ingest(std::iter::once(alert)).await
    }

    /// Receives several alerts; one store write for all of them.
    pub async fn send_batch(&self, alerts: Vec<Alert>) -> Result<(), RouterError> {
        self.ingest(alerts).await
    }

    async fn ingest(&self, alerts: impl IntoIterator<Item = Alert>) -> Result<(), RouterError> {
        self.check_open()?;
        let now = self.inner.clock.now();
        let mut out = Output::default();
        let ticket = {
            let mut engine = lock(&self.inner.engine);
            for a in alerts {
                engine.ingest(a, now, &mut out);
            }
            engine.ticket()
        };
        let changes = std::mem::take(&mut out.changes);
        if let Err(e) = self.inner.write_ordered(ticket, changes).await {
            // The router holds the alert and writes it with the next successful
            // write; the caller learns it is not durable yet.
            self.inner.wake.notify_one();
            return Err(e.into());
        }
        if out.wake {
            self.inner.wake.notify_one();
        }
        if !out.notices.is_empty() {
            // A flapping notice goes out at once.
            let notices = Output {
                notices: out.notices,
                ..Output::default()
            };
            self.inner.handle(notices, None, now).await?;
        }
        Ok(())
    }

    /// Runs every timer due now (group flushes, expiries, escalations, flap checks)
    /// and queues the notifications. The background task does this by itself unless
    /// the router was built with [`RouterBuilder::manual_ticks`].
    pub async fn tick(&self) -> Result<(), RouterError> {
        let now = self.inner.clock.now();
        self.inner.process(now).await
    }

    /// Sends every group now, ignoring `group_wait`/`group_interval` (the
    /// notification log still deduplicates), then waits up to `timeout` for delivery
    /// to finish and running actions to end. Returns whether everything finished.
    /// Call it before a short-lived program (a training job) exits.
    pub async fn flush(&self, timeout: Duration) -> Result<bool, RouterError> {
        let now = self.inner.clock.now();
        {
            let _g = self.inner.tick_lock.lock().await;
            let mut out = Output::default();
            let ticket = {
                let mut engine = lock(&self.inner.engine);
                engine.run_due(now, &mut out);
                engine.flush_all(now, &mut out);
                engine.ticket()
            };
            self.inner.handle(out, Some(ticket), now).await?;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let idle = self.inner.outbox.wait_idle(timeout).await;
        let running: Vec<JoinHandle<()>> = lock(&self.inner.running_actions).drain(..).collect();
        let mut actions_done = true;
        for h in running {
            if tokio::time::timeout_at(deadline, h).await.is_err() {
                actions_done = false;
            }
        }
        Ok(idle && actions_done)
    }

    /// Stops taking alerts, sends what is pending ([`Router::flush`]), lets delivery
    /// finish for up to `grace`, and stops. Undelivered notifications stay in the
    /// store for the next start.
    pub async fn shutdown(&self, grace: Duration) {
        if self.inner.closed.load(Ordering::SeqCst) {
            return;
        }
        if let Err(e) = self.flush(grace).await {
            tracing::warn!(error = %e, "flush at shutdown failed");
        }
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
        if let Some(h) = lock(&self.inner.driver).take() {
            h.abort();
        }
        self.inner.outbox.shutdown(grace).await;
    }

    /// Active alerts matching the filter, highest severity first.
    pub fn alerts(&self, filter: &AlertFilter) -> Vec<AlertView> {
        let now = self.inner.clock.now();
        lock(&self.inner.engine).list(filter, now)
    }

    /// Creates a silence (a missing id is generated; a missing start is "now").
    /// Returns its id.
    pub async fn create_silence(&self, mut s: Silence) -> Result<String, RouterError> {
        let now = self.inner.clock.now();
        if s.id.is_empty() {
            s.id = new_notification_id();
        } else if self.silence(&s.id).is_some() {
            return Err(RouterError::Invalid {
                what: "silence",
                reason: format!("a silence with id {} exists; update it instead", s.id),
            });
        }
        if s.starts_at == Timestamp::UNIX_EPOCH {
            s.starts_at = now;
        }
        s.updated_at = now;
        s.validate().map_err(|reason| RouterError::Invalid {
            what: "silence",
            reason,
        })?;
        self.inner
            .store
            .apply(&[Change::PutSilence(s.clone())])
            .await?;
        let id = s.id.clone();
        lock(&self.inner.engine).put_silence(s);
        Ok(id)
    }

    /// Replaces a pending or active silence.
    pub async fn update_silence(&self, id: &str, mut s: Silence) -> Result<(), RouterError> {
        let now = self.inner.clock.now();
        let old = self.silence(id).ok_or_else(|| RouterError::NotFound {
            what: "silence",
            id: id.into(),
        })?;
        if old.state == SilenceState::Expired {
            return Err(RouterError::Invalid {
                what: "silence",
                reason: "an expired silence cannot be updated; create a new one".into(),
            });
        }
        s.id = id.to_owned();
        s.updated_at = now;
        s.validate().map_err(|reason| RouterError::Invalid {
            what: "silence",
            reason,
        })?;
        self.inner
            .store
            .apply(&[Change::PutSilence(s.clone())])
            .await?;
        lock(&self.inner.engine).put_silence(s);
        Ok(())
    }

    /// Expires a silence now (it stays listed as expired until pruned).
    pub async fn expire_silence(&self, id: &str) -> Result<(), RouterError> {
        let now = self.inner.clock.now();
        let mut s = self
            .silence(id)
            .ok_or_else(|| RouterError::NotFound {
                what: "silence",
                id: id.into(),
            })?
            .silence;
        if s.state(now) == SilenceState::Expired {
            return Ok(());
        }
        if s.starts_at > now {
            s.starts_at = now;
        }
        s.ends_at = now;
        s.updated_at = now;
        self.inner
            .store
            .apply(&[Change::PutSilence(s.clone())])
            .await?;
        lock(&self.inner.engine).put_silence(s);
        Ok(())
    }

    /// Deletes a silence outright (expiring is usually what you want).
    pub async fn delete_silence(&self, id: &str) -> Result<(), RouterError> {
        self.silence(id).ok_or_else(|| RouterError::NotFound {
            what: "silence",
            id: id.into(),
        })?;
        self.inner
            .store
            .apply(&[Change::DeleteSilence(id.to_owned())])
            .await?;
        lock(&self.inner.engine).drop_silence(id);
        Ok(())
    }

    /// Every silence with its state, newest first.
    pub fn silences(&self) -> Vec<SilenceView> {
        let now = self.inner.clock.now();
        let mut v: Vec<SilenceView> = lock(&self.inner.engine)
            .silences()
            .iter()
            .map(|s| SilenceView {
                silence: s.clone(),
                state: s.state(now),
                in_effect: s.in_effect(now),
            })
            .collect();
        v.sort_by(|a, b| {
            b.silence
                .updated_at
                .cmp(&a.silence.updated_at)
                .then(a.silence.id.cmp(&b.silence.id))
        });
        v
    }

    /// One silence.
    pub fn silence(&self, id: &str) -> Option<SilenceView> {
        self.silences().into_iter().find(|s| s.silence.id == id)
    }

    /// Acknowledges a firing alert: stops its escalation and repeats until it
    /// resolves. Recorded in the notification log.
    pub async fn ack(
        &self,
        fingerprint: Fingerprint,
        by: &str,
        comment: &str,
    ) -> Result<(), RouterError> {
        if by.trim().is_empty() {
            return Err(RouterError::Invalid {
                what: "ack",
                reason: "`by` is required".into(),
            });
        }
        let now = self.inner.clock.now();
        let mut out = Output::default();
        let ticket = {
            let mut engine = lock(&self.inner.engine);
            engine
                .ack(
                    Ack::new(fingerprint, by, now).with_comment(comment),
                    &mut out,
                )
                .map_err(|reason| {
                    if reason.starts_with("no active alert") {
                        RouterError::NotFound {
                            what: "alert",
                            id: fingerprint.to_string(),
                        }
                    } else {
                        RouterError::Invalid {
                            what: "ack",
                            reason,
                        }
                    }
                })?;
            engine.ticket()
        };
        self.inner.write_ordered(ticket, out.changes).await?;
        Ok(())
    }

    /// Whether an alert is acknowledged.
    pub fn is_acked(&self, fingerprint: Fingerprint) -> bool {
        lock(&self.inner.engine).is_acked(fingerprint)
    }

    /// The notification log: what went where, acks, escalations, flapping notices,
    /// actions (newest first).
    pub async fn notification_log(&self, q: &LogQuery) -> Result<Vec<LogEntry>, RouterError> {
        Ok(self.inner.store.query_log(q).await?)
    }

    /// Counters.
    pub fn stats(&self) -> RouterStats {
        let engine = lock(&self.inner.engine);
        let c = &engine.counters;
        let r = &self.inner.counters;
        RouterStats {
            received: c.received,
            active_alerts: engine.alert_count() as u64,
            groups: engine.group_count() as u64,
            fired: c.fired,
            resolved: c.resolved,
            suppressed: SuppressReason::ALL
                .iter()
                .enumerate()
                .map(|(i, r)| (r.as_str().to_owned(), c.suppressed[i]))
                .collect(),
            flushes_deduplicated: r.flushes_deduplicated.load(Ordering::Relaxed),
            notifications: r.notifications.load(Ordering::Relaxed),
            flaps: c.flaps,
            escalations: c.escalations,
            acks: c.acks,
            actions_run: r.actions_run.load(Ordering::Relaxed),
            actions_failed: r.actions_failed.load(Ordering::Relaxed),
            store_errors: r.store_errors.load(Ordering::Relaxed),
        }
    }

    /// The receivers and their channels' names.
    pub fn receivers(&self) -> Vec<(String, Vec<String>)> {
        self.inner
            .receivers
            .iter()
            .map(|r| (r.name.clone(), r.channels.clone()))
            .collect()
    }

    /// Sends `alert` through every channel of one receiver now, bypassing routing,
    /// grouping and the outbox (`alerts test RECEIVER`). Returns each channel's result.
    pub async fn test_receiver(
        &self,
        receiver: &str,
        alert: &Alert,
    ) -> Result<Vec<(String, Result<Receipt, NotifyError>)>, RouterError> {
        let meta = self
            .inner
            .receivers
            .iter()
            .find(|r| r.name == receiver)
            .ok_or_else(|| RouterError::NotFound {
                what: "receiver",
                id: receiver.into(),
            })?;
        let mut out = Vec::new();
        for c in &meta.channels {
            if let Some(n) = self.inner.notifiers.get(&(meta.name.clone(), c.clone())) {
                out.push((c.clone(), n.notify(alert).await));
            }
        }
        Ok(out)
    }

    /// Prunes history older than `age` now.
    pub async fn prune(&self, age: Duration) -> Result<PruneReport, RouterError> {
        let now = self.inner.clock.now();
        Ok(self
            .inner
            .store
            .prune(&Retention::before(now.saturating_sub(age)))
            .await?)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The delivery outbox (channel states, stats).
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// The clock's time now.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(h) = lock(&self.driver).take() {
            h.abort();
        }
    }
}
