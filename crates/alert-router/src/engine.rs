//! The routing and noise-control state machine: synchronous, driven with explicit
//! times, no I/O. [`Router`](crate::Router) wraps it with a store, a clock, timers
//! and delivery.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use alert_core::{Alert, Fingerprint, Severity, Status, Timestamp};
use serde::{Deserialize, Serialize};

use crate::action::ActionPolicy;
use crate::matcher::{all_match, label_value};
use crate::receiver::InhibitRule;
use crate::route::{GroupBy, RouteTree};
use crate::serde_util;
use crate::silence::Silence;
use crate::store::{
    Ack, ActionOutcome, ActionRecord, AlertEvent, AlertRecord, Change, EventKind, GroupRecord,
    LogEntry, LogKind, Snapshot, StateRecord, SuppressReason,
};
use crate::timeinterval::TimeInterval;

/// The engine's maps are keyed by fingerprints, group ids and short strings, and
/// looked up several times per alert: foldhash (seeded per process, so keys an
/// attacker chooses do not collide by design) costs a fraction of SipHash there.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Flap control: more than `transitions` firing/resolved changes of one alert within
/// `window` put it in the *flapping* state: one "flapping" notice is sent, further
/// notices about it are held until it has not changed for `stable_for`, then its
/// final state is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlapControl {
    /// More than this many transitions in `window` means flapping.
    pub transitions: u32,
    /// The window transitions are counted in.
    #[serde(with = "serde_util::duration")]
    pub window: Duration,
    /// How long the alert must stay unchanged to leave the flapping state.
    #[serde(with = "serde_util::duration")]
    pub stable_for: Duration,
}

impl FlapControl {
    /// Flapping after more than `transitions` changes in `window`; stable after
    /// `stable_for` without change.
    pub fn new(transitions: u32, window: Duration, stable_for: Duration) -> FlapControl {
        FlapControl {
            transitions,
            window,
            stable_for,
        }
    }
}

/// A receiver as the engine knows it.
#[derive(Clone, Debug)]
pub(crate) struct ReceiverMeta {
    pub(crate) name: String,
    pub(crate) channels: Vec<String>,
    pub(crate) send_resolved: bool,
}

/// Everything the engine is configured with.
#[derive(Clone, Debug)]
pub(crate) struct EngineConfig {
    pub(crate) tree: RouteTree,
    pub(crate) receivers: Vec<ReceiverMeta>,
    pub(crate) intervals: Vec<Vec<TimeInterval>>,
    pub(crate) inhibit_rules: Vec<InhibitRule>,
    pub(crate) flap: Option<FlapControl>,
    pub(crate) keep_firing_for: Duration,
    pub(crate) resolve_timeout: Duration,
    pub(crate) actions: Vec<(String, ActionPolicy)>,
}

type GroupId = (u32, Fingerprint);

/// Members of a group: a vector while small, a set when large (boxed, so the
/// common small case keeps a group entry at a vector's size).
#[derive(Clone, Debug)]
enum FpSet {
    Small(Vec<Fingerprint>),
    Large(Box<HashSet<Fingerprint>>),
}

impl FpSet {
    fn insert(&mut self, fp: Fingerprint) -> bool {
        match self {
            FpSet::Small(v) => {
                if v.contains(&fp) {
                    return false;
                }
                if v.len() >= 32 {
                    let mut s: HashSet<Fingerprint> = v.drain(..).collect();
                    s.insert(fp);
                    *self = FpSet::Large(Box::new(s));
                } else {
                    v.push(fp);
                }
                true
            }
            FpSet::Large(s) => s.insert(fp),
        }
    }
    fn remove(&mut self, fp: Fingerprint) {
        match self {
            FpSet::Small(v) => v.retain(|x| *x != fp),
            FpSet::Large(s) => {
                s.remove(&fp);
            }
        }
    }
    fn is_empty(&self) -> bool {
        match self {
            FpSet::Small(v) => v.is_empty(),
            FpSet::Large(s) => s.is_empty(),
        }
    }
    fn to_vec(&self) -> Vec<Fingerprint> {
        match self {
            FpSet::Small(v) => v.clone(),
            FpSet::Large(s) => s.iter().copied().collect(),
        }
    }
}

#[derive(Debug)]
struct Group {
    key: Arc<str>,
    members: FpSet,
    created_at: Timestamp,
    next_flush: Timestamp,
    flushed: bool,
    force: bool,
    /// Whether the store holds a record of it. A group is written at its first
    /// flush, not when it is created: before that, its record would say only what
    /// its members' records already say (see [`Engine::restore`]).
    stored: bool,
}

#[derive(Debug)]
struct AlertState {
    alert: Arc<Alert>,
    fp: Fingerprint,
    /// Arrival order, for stable ordering inside a notification.
    seq: u64,
    received_at: Timestamp,
    updated_at: Timestamp,
    resolved_at: Option<Timestamp>,
    keep_firing_until: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    /// The expiry the stored record implies (what a restart would restore).
    persisted_expiry: Option<Timestamp>,
    timer_at: Option<Timestamp>,
    groups: Vec<GroupId>,
    /// Suppression reasons already counted this episode (bit per reason), and bit 15
    /// for "a dedup was counted".
    seen: u16,
}

impl AlertState {
    fn firing(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// The alert as the router sees it now: status and `ends_at` from the effective
    /// state.
    fn view(&self) -> Alert {
        let mut a = (*self.alert).clone();
        match self.resolved_at {
            Some(at) => {
                a.status = Status::Resolved;
                a.ends_at = Some(a.ends_at.map_or(at, |e| e.min(at)));
            }
            None => {
                a.status = Status::Firing;
                if a.ends_at.is_some_and(|e| e <= self.updated_at) {
                    a.ends_at = None;
                }
            }
        }
        if a.starts_at.is_none() {
            a.starts_at = Some(self.received_at);
        }
        a
    }

    /// [`view`](Self::view) as a shared alert: the stored one when the view would
    /// not change it (no copy), else a new one.
    fn view_arc(&self) -> Arc<Alert> {
        let a = &*self.alert;
        let same = a.starts_at.is_some()
            && match self.resolved_at {
                Some(at) => a.status == Status::Resolved && a.ends_at.is_some_and(|e| e <= at),
                None => a.status == Status::Firing && a.ends_at.is_none_or(|e| e > self.updated_at),
            };
        if same {
            self.alert.clone()
        } else {
            Arc::new(self.view())
        }
    }

    fn record(&self) -> AlertRecord {
        let mut r = AlertRecord::with_fingerprint(self.alert.clone(), self.fp, self.received_at);
        r.updated_at = self.updated_at;
        r.resolved_at = self.resolved_at;
        r.keep_firing_until = self.keep_firing_until;
        r
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct FlapState {
    transitions: VecDeque<Timestamp>,
    flapping: bool,
    #[serde(skip)]
    timer_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct EscState {
    route: String,
    level: usize,
    next_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Flush(u32, Fingerprint),
    Alert(Fingerprint),
    Flap(Fingerprint),
    Escalate(Fingerprint, u32),
}

/// A group ready to notify, waiting for the dedup decision (which reads the store).
#[derive(Clone, Debug)]
pub(crate) struct FlushPlan {
    pub(crate) group_key: Arc<str>,
    pub(crate) route: u32,
    pub(crate) route_id: String,
    pub(crate) receiver: u32,
    /// The alerts as they go out (shared with the router's state when unchanged:
    /// a flush that sends nothing copies none).
    pub(crate) alerts: Vec<Arc<Alert>>,
    pub(crate) firing: Vec<Fingerprint>,
    pub(crate) resolved: Vec<Fingerprint>,
    pub(crate) all_firing_acked: bool,
    pub(crate) force: bool,
    pub(crate) repeat_interval: Duration,
}

/// A single-alert notice (flapping, escalation) to send without dedup.
#[derive(Clone, Debug)]
pub(crate) struct NoticePlan {
    pub(crate) receiver: u32,
    pub(crate) alert: Alert,
    pub(crate) group_key: String,
    pub(crate) kind: LogKind,
    pub(crate) detail: String,
    pub(crate) at: Timestamp,
}

/// An action to run.
#[derive(Clone, Debug)]
pub(crate) struct ActionJob {
    pub(crate) action: u32,
    pub(crate) alert: Alert,
    pub(crate) route_id: String,
    pub(crate) at: Timestamp,
}

/// What an engine call produced.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub(crate) changes: Vec<Change>,
    pub(crate) plans: Vec<FlushPlan>,
    pub(crate) notices: Vec<NoticePlan>,
    /// A timer earlier than any before was scheduled: wake the driver.
    pub(crate) wake: bool,
}

/// Counters; see `RouterStats`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: u64,
    pub(crate) fired: u64,
    pub(crate) resolved: u64,
    pub(crate) suppressed: [u64; 7],
    pub(crate) flaps: u64,
    pub(crate) escalations: u64,
    pub(crate) acks: u64,
}

fn reason_bit(r: SuppressReason) -> usize {
    SuppressReason::ALL
        .iter()
        .position(|x| *x == r)
        .unwrap_or(0)
}

/// A filter for listing alerts; build it with `..Default::default()`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertFilter {
    /// All must match.
    pub matchers: Vec<crate::Matcher>,
    /// Only silenced (`true`) or only not silenced (`false`).
    pub silenced: Option<bool>,
    /// Only inhibited or only not inhibited.
    pub inhibited: Option<bool>,
    /// Only acknowledged or only not acknowledged.
    pub acked: Option<bool>,
    /// Only firing (`true`) or only resolved-but-not-yet-notified (`false`).
    pub firing: Option<bool>,
    /// Only alerts routed to this receiver.
    pub receiver: Option<String>,
}

/// An active alert and what the router does with it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertView {
    /// The alert (status and times as the router sees them).
    pub alert: Alert,
    /// Its fingerprint.
    pub fingerprint: Fingerprint,
    /// When the router first saw it (this episode).
    pub received_at: Timestamp,
    /// When it last received it.
    pub updated_at: Timestamp,
    /// Ids of the silences muting it now.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts inhibiting it now.
    pub inhibited_by: Vec<Fingerprint>,
    /// Its acknowledgement.
    pub ack: Option<Ack>,
    /// Whether it is flapping.
    pub flapping: bool,
    /// The receivers of its routes.
    pub receivers: Vec<String>,
    /// Its groups.
    pub groups: Vec<String>,
}

struct InhibitIndex {
    rule: InhibitRule,
    /// Firing source alerts by a hash of their `equal` label values.
    sources: HashMap<u64, Vec<Fingerprint>>,
}

fn equal_hash(equal: &[String], alert: &Alert) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for l in equal {
        for b in label_value(alert, l).bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The routing and noise-control state.
pub(crate) struct Engine {
    cfg: EngineConfig,
    /// Boxed: the table then holds a pointer per alert, and grows (and doubles
    /// while growing) at that size rather than the state's.
    alerts: HashMap<Fingerprint, Box<AlertState>>,
    groups: HashMap<GroupId, Group>,
    timers: BinaryHeap<Reverse<(Timestamp, Timer)>>,
    silences: Vec<Silence>,
    acks: HashMap<Fingerprint, Ack>,
    flap: HashMap<Fingerprint, FlapState>,
    esc: HashMap<(Fingerprint, u32), EscState>,
    cooldowns: HashMap<(u32, Fingerprint), Timestamp>,
    inhibit: Vec<InhibitIndex>,
    route_buf: Vec<u32>,
    seq: u64,
    tickets: u64,
    pub(crate) counters: Counters,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("alerts", &self.alerts.len())
            .field("groups", &self.groups.len())
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(cfg: EngineConfig) -> Engine {
        let inhibit = cfg
            .inhibit_rules
            .iter()
            .map(|r| InhibitIndex {
                rule: r.clone(),
                sources: HashMap::default(),
            })
            .collect();
        Engine {
            cfg,
            alerts: HashMap::default(),
            groups: HashMap::default(),
            timers: BinaryHeap::new(),
            silences: Vec::new(),
            acks: HashMap::default(),
            flap: HashMap::default(),
            esc: HashMap::default(),
            cooldowns: HashMap::default(),
            inhibit,
            route_buf: Vec::with_capacity(8),
            seq: 0,
            tickets: 0,
            counters: Counters::default(),
        }
    }

    /// The next write ticket: taken under the engine lock right after a mutation, so
    /// store writes can be applied in the order the engine made them.
    pub(crate) fn ticket(&mut self) -> u64 {
        let t = self.tickets;
        self.tickets += 1;
        t
    }

    pub(crate) fn alert_count(&self) -> usize {
        self.alerts.len()
    }

    pub(crate) fn group_count(&self) -> usize {
        self.groups.len()
    }

    fn schedule(&mut self, at: Timestamp, t: Timer, out: &mut Output) {
        if self
            .timers
            .peek()
            .is_none_or(|Reverse((first, _))| at < *first)
        {
            out.wake = true;
        }
        self.timers.push(Reverse((at, t)));
    }

    fn timer_valid(&self, at: Timestamp, t: Timer) -> bool {
        match t {
            Timer::Flush(r, g) => self.groups.get(&(r, g)).is_some_and(|g| g.next_flush == at),
            Timer::Alert(fp) => self.alerts.get(&fp).is_some_and(|s| s.timer_at == Some(at)),
            Timer::Flap(fp) => self.flap.get(&fp).is_some_and(|f| f.timer_at == Some(at)),
            Timer::Escalate(fp, r) => self.esc.get(&(fp, r)).is_some_and(|e| e.next_at == at),
        }
    }

    /// The time of the next due timer, dropping stale ones.
    pub(crate) fn next_due(&mut self) -> Option<Timestamp> {
        while let Some(Reverse((at, t))) = self.timers.peek().copied() {
            if self.timer_valid(at, t) {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    // ----- ingest -----

    fn group_of(&self, route: u32, alert: &Alert) -> (GroupId, Option<String>) {
        let node = &self.cfg.tree.nodes[route as usize];
        match &node.group_by {
            GroupBy::All => ((route, alert.fingerprint()), None),
            GroupBy::Labels(ls) => {
                let fp = Fingerprint::of_sorted_labels(
                    ls.iter()
                        .map(|l| (l.as_str(), label_value(alert, l)))
                        .filter(|(_, v)| !v.is_empty()),
                );
                ((route, fp), None)
            }
        }
    }

    fn group_key_text(&self, route: u32, alert: &Alert) -> String {
        let node = &self.cfg.tree.nodes[route as usize];
        let mut s = String::with_capacity(64);
        s.push_str(&node.id);
        s.push_str(":{");
        let mut first = true;
        let mut push = |k: &str, v: &str| {
            if v.is_empty() {
                return;
            }
            if !first {
                s.push(',');
            }
            first = false;
            s.push_str(k);
            s.push_str("=\"");
            for c in v.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    c if c.is_control() => s.push_str(&format!("\\u{:04x}", c as u32)),
                    c => s.push(c),
                }
            }
            s.push('"');
        };
        match &node.group_by {
            // Every label, as the fingerprint takes them.
            GroupBy::All => alert.identity_labels().for_each(|(k, v)| push(k, v)),
            GroupBy::Labels(ls) => {
                for l in ls {
                    push(l, label_value(alert, l));
                }
            }
        }
        s.push('}');
        s
    }

    /// Joins `fp` to the group `gid` (creating it), scheduling its first flush.
    fn join_group(
        &mut self,
        gid: GroupId,
        alert: &Alert,
        fp: Fingerprint,
        now: Timestamp,
        out: &mut Output,
    ) {
        let node_wait = self.cfg.tree.nodes[gid.0 as usize].group_wait;
        if !self.groups.contains_key(&gid) {
            let key: Arc<str> = self.group_key_text(gid.0, alert).into();
            let next = now.saturating_add(node_wait);
            let g = Group {
                key,
                members: FpSet::Small(Vec::with_capacity(1)),
                created_at: now,
                next_flush: next,
                flushed: false,
                force: false,
                stored: false,
            };
            self.groups.insert(gid, g);
            self.schedule(next, Timer::Flush(gid.0, gid.1), out);
        }
        let Some(g) = self.groups.get_mut(&gid) else {
            return;
        };
        g.members.insert(fp);
        // Alertmanager: flush at once if this alert's wait is already over.
        if !g.flushed
            && g.next_flush > now
            && alert
                .starts_at
                .is_some_and(|s| s.saturating_add(node_wait) < now)
        {
            g.next_flush = now;
            self.schedule(now, Timer::Flush(gid.0, gid.1), out);
        }
    }

    fn group_record(&self, g: &Group, route: u32) -> GroupRecord {
        GroupRecord {
            key: g.key.to_string(),
            route: self.cfg.tree.nodes[route as usize].id.clone(),
            created_at: g.created_at,
            next_flush_at: g.next_flush,
            flushed: g.flushed,
        }
    }

    fn expiry_of(&self, alert: &Alert, now: Timestamp) -> Timestamp {
        expiry(alert, now, self.cfg.resolve_timeout)
    }

    fn schedule_alert_timer(&mut self, fp: Fingerprint, out: &mut Output) {
        let Some(st) = self.alerts.get(&fp) else {
            return;
        };
        let want = match (
            st.keep_firing_until,
            st.firing().then_some(st.expires_at).flatten(),
        ) {
            (Some(k), Some(e)) => Some(k.min(e)),
            (a, b) => a.or(b),
        };
        let Some(want) = want else {
            return;
        };
        if st.timer_at.is_some_and(|t| t <= want) {
            return; // the earlier timer will re-check and re-arm
        }
        if let Some(st) = self.alerts.get_mut(&fp) {
            st.timer_at = Some(want);
        }
        self.schedule(want, Timer::Alert(fp), out);
    }

    /// Receives one alert.
    pub(crate) fn ingest(&mut self, mut incoming: Alert, now: Timestamp, out: &mut Output) {
        self.counters.received += 1;
        let rt = self.cfg.resolve_timeout;
        let fp = incoming.fingerprint();
        let resolved_in =
            incoming.status == Status::Resolved || incoming.ends_at.is_some_and(|e| e <= now);
        let Some(st) = self.alerts.get_mut(&fp) else {
            if resolved_in {
                // Nothing was known about it: there is nothing to resolve.
                return;
            }
            self.new_episode(Arc::new(incoming), fp, now, out);
            return;
        };
        let old_sev = st.alert.severity;
        // Whether the alert differs from what is held (and so the record is written):
        // each branch works it out, a firing re-send with one comparison.
        let changed;
        st.updated_at = now;
        if resolved_in {
            changed = *st.alert != incoming;
            if st.resolved_at.is_some() || st.keep_firing_until.is_some() {
                self.count_dedup(fp, out, now);
                if changed && let Some(st) = self.alerts.get_mut(&fp) {
                    st.alert = Arc::new(incoming);
                }
            } else if !self.cfg.keep_firing_for.is_zero() {
                st.keep_firing_until = Some(now.saturating_add(self.cfg.keep_firing_for));
                st.alert = Arc::new(incoming);
                self.schedule_alert_timer(fp, out);
            } else {
                st.alert = Arc::new(incoming);
                self.resolve(fp, now, out);
            }
        } else if st.resolved_at.is_some() {
            // Fired again after resolving, before the resolution was flushed: a new
            // episode in the same groups.
            changed = *st.alert != incoming;
            st.alert = Arc::new(incoming);
            st.resolved_at = None;
            st.received_at = now;
            st.seen = 0;
            st.expires_at = Some(expiry(&st.alert, now, rt));
            let alert = st.alert.clone();
            self.counters.fired += 1;
            out.changes.push(Change::Event(AlertEvent::of_fingerprint(
                &alert,
                fp,
                EventKind::Fired,
                "",
                now,
            )));
            self.inhibit_add(fp, &alert);
            self.transition(fp, now, out);
            self.start_escalations(fp, now, out);
            self.schedule_alert_timer(fp, out);
        } else {
            if st.keep_firing_until.take().is_none() {
                self.count_dedup(fp, out, now);
            }
            let Some(st) = self.alerts.get_mut(&fp) else {
                return;
            };
            let expires = expiry(&incoming, now, rt);
            st.expires_at = Some(expires);
            // A re-send of a firing alert keeps its first `starts_at` (as
            // Alertmanager merges), and one that only moves `ends_at` (Prometheus
            // re-sends every evaluation with a later one) is a refresh: the stored
            // record is rewritten only when the expiry it implies would cover less
            // than half of the time left to the new expiry, so a restart still
            // restores a covering expiry without a write per re-send. One
            // comparison, with the times set aside, tells both apart from a
            // re-send that changed nothing.
            let times_moved =
                st.alert.starts_at != incoming.starts_at || st.alert.ends_at != incoming.ends_at;
            if let (Some(first), Some(now_start)) = (st.alert.starts_at, incoming.starts_at)
                && first < now_start
            {
                incoming.starts_at = Some(first);
            }
            let ends = std::mem::replace(&mut incoming.ends_at, st.alert.ends_at);
            let material = *st.alert != incoming;
            incoming.ends_at = ends;
            if material || times_moved {
                let stale = st.persisted_expiry.is_none_or(|p| {
                    p <= now
                        || expires < p
                        || expires.duration_since(p) * 2 >= expires.duration_since(now)
                });
                changed = material || stale;
                if changed {
                    st.persisted_expiry = Some(expires);
                }
                match Arc::get_mut(&mut st.alert) {
                    // Only the times moved, and nothing else holds the alert: its
                    // `starts_at` stays the first, so only `ends_at` is new.
                    Some(held) if !material => held.ends_at = incoming.ends_at,
                    _ => st.alert = Arc::new(incoming),
                }
            } else {
                changed = false;
            }
            self.schedule_alert_timer(fp, out);
        }
        let Some(st) = self.alerts.get(&fp) else {
            return;
        };
        if st.alert.severity != old_sev {
            self.reroute(fp, now, out);
        }
        if changed && let Some(st) = self.alerts.get(&fp) {
            out.changes.push(Change::PutAlert(st.record()));
        }
    }

    fn count_dedup(&mut self, fp: Fingerprint, out: &mut Output, now: Timestamp) {
        self.counters.suppressed[reason_bit(SuppressReason::Dedup)] += 1;
        if let Some(st) = self.alerts.get_mut(&fp)
            && st.seen & (1 << 15) == 0
        {
            st.seen |= 1 << 15;
            out.changes.push(Change::Event(AlertEvent::of_fingerprint(
                &st.alert,
                fp,
                EventKind::Suppressed(SuppressReason::Dedup),
                "",
                now,
            )));
        }
    }

    fn new_episode(
        &mut self,
        alert: Arc<Alert>,
        fp: Fingerprint,
        now: Timestamp,
        out: &mut Output,
    ) {
        let mut routes = std::mem::take(&mut self.route_buf);
        self.cfg.tree.match_alert(&alert, &mut routes);
        let mut groups = Vec::with_capacity(routes.len());
        for &r in &routes {
            let (gid, _) = self.group_of(r, &alert);
            self.join_group(gid, &alert, fp, now, out);
            groups.push(gid);
        }
        self.route_buf = routes;
        self.seq += 1;
        let expires_at = Some(self.expiry_of(&alert, now));
        let st = AlertState {
            expires_at,
            persisted_expiry: expires_at,
            alert: alert.clone(),
            fp,
            seq: self.seq,
            received_at: now,
            updated_at: now,
            resolved_at: None,
            keep_firing_until: None,
            timer_at: None,
            groups,
            seen: 0,
        };
        out.changes.push(Change::PutAlert(st.record()));
        self.alerts.insert(fp, Box::new(st));
        self.counters.fired += 1;
        out.changes.push(Change::Event(AlertEvent::of_fingerprint(
            &alert,
            fp,
            EventKind::Fired,
            "",
            now,
        )));
        self.inhibit_add(fp, &alert);
        self.transition(fp, now, out);
        self.start_escalations(fp, now, out);
        self.schedule_alert_timer(fp, out);
    }

    /// Routes the alert again (its severity changed) and moves it between groups.
    fn reroute(&mut self, fp: Fingerprint, now: Timestamp, out: &mut Output) {
        let Some(st) = self.alerts.get(&fp) else {
            return;
        };
        let alert = st.alert.clone();
        let old = st.groups.clone();
        let mut routes = std::mem::take(&mut self.route_buf);
        self.cfg.tree.match_alert(&alert, &mut routes);
        let new: Vec<GroupId> = routes.iter().map(|r| self.group_of(*r, &alert).0).collect();
        self.route_buf = routes;
        for gid in &old {
            if !new.contains(gid) {
                self.leave_group(*gid, fp, out);
            }
        }
        for gid in &new {
            if !old.contains(gid) {
                self.join_group(*gid, &alert, fp, now, out);
            }
        }
        if let Some(st) = self.alerts.get_mut(&fp) {
            st.groups = new;
        }
        self.inhibit_remove(fp);
        if self.alerts.get(&fp).is_some_and(|s| s.firing()) {
            self.inhibit_add(fp, &alert);
        }
    }

    fn leave_group(&mut self, gid: GroupId, fp: Fingerprint, out: &mut Output) {
        if let Some(g) = self.groups.get_mut(&gid) {
            g.members.remove(fp);
            if g.members.is_empty() {
                let key = g.key.to_string();
                let stored = g.stored;
                self.groups.remove(&gid);
                if stored {
                    out.changes.push(Change::DeleteGroup(key));
                }
            }
        }
    }

    /// Marks the alert resolved now (effective).
    fn resolve(&mut self, fp: Fingerprint, at: Timestamp, out: &mut Output) {
        let Some(st) = self.alerts.get_mut(&fp) else {
            return;
        };
        if st.resolved_at.is_some() {
            return;
        }
        st.resolved_at = Some(at);
        st.keep_firing_until = None;
        let alert = st.alert.clone();
        out.changes.push(Change::PutAlert(st.record()));
        self.counters.resolved += 1;
        out.changes.push(Change::Event(AlertEvent::of_fingerprint(
            &alert,
            fp,
            EventKind::Resolved,
            "",
            at,
        )));
        self.inhibit_remove(fp);
        if self.acks.remove(&fp).is_some() {
            out.changes.push(Change::DeleteAck(fp));
        }
        let esc: Vec<(Fingerprint, u32)> = self.esc.keys().filter(|k| k.0 == fp).copied().collect();
        for k in esc {
            if let Some(e) = self.esc.remove(&k) {
                out.changes.push(Change::DeleteState {
                    kind: "escalation".into(),
                    key: format!("{}:{}", fp, e.route),
                });
            }
        }
        self.transition(fp, at, out);
    }

    // ----- flap control -----

    fn transition(&mut self, fp: Fingerprint, now: Timestamp, out: &mut Output) {
        let Some(fc) = self.cfg.flap.clone() else {
            return;
        };
        let f = self.flap.entry(fp).or_default();
        f.transitions.push_back(now);
        let cutoff = now.saturating_sub(fc.window);
        while f.transitions.front().is_some_and(|t| *t < cutoff) {
            f.transitions.pop_front();
        }
        let mut started = false;
        if !f.flapping && f.transitions.len() > fc.transitions as usize {
            f.flapping = true;
            started = true;
        }
        let flapping = f.flapping;
        let n = f.transitions.len();
        let value = serde_json::to_value(&*f).unwrap_or_default();
        if flapping {
            let at = now.saturating_add(fc.stable_for);
            let arm = f.timer_at.is_none_or(|t| t > at);
            if arm {
                f.timer_at = Some(at);
            }
            if arm {
                self.schedule(at, Timer::Flap(fp), out);
            }
        }
        out.changes.push(Change::PutState(StateRecord::new(
            "flap",
            fp.to_string(),
            value,
        )));
        if started {
            self.counters.flaps += 1;
            let Some(st) = self.alerts.get(&fp) else {
                return;
            };
            let mut notice = st.view();
            notice.summary = format!("[flapping] {}", st.alert.title());
            notice.annotations.insert(
                "flapping",
                format!(
                    "changed state {n} times in {}; notices are held until it is stable for {}",
                    serde_util::format(fc.window),
                    serde_util::format(fc.stable_for)
                ),
            );
            out.changes.push(Change::Event(AlertEvent::of_fingerprint(
                &st.alert,
                fp,
                EventKind::Flapping,
                "",
                now,
            )));
            let groups = st.groups.clone();
            // The notice obeys what mutes the alert's notifications: silences,
            // inhibition, and each route's time windows.
            let alert_muted = self.alert_mute(&notice, fp, now);
            let mut seen = Vec::new();
            for gid in groups {
                let node_id = self.cfg.tree.nodes[gid.0 as usize].id.clone();
                let receiver = self.cfg.tree.nodes[gid.0 as usize].receiver;
                if let Some(reason) = alert_muted.or_else(|| self.window_mute(gid.0, now)) {
                    self.suppress(fp, reason, &node_id, now, out);
                    continue;
                }
                if seen.contains(&receiver) {
                    continue;
                }
                seen.push(receiver);
                let key = self
                    .groups
                    .get(&gid)
                    .map(|g| g.key.to_string())
                    .unwrap_or_default();
                out.notices.push(NoticePlan {
                    receiver,
                    alert: notice.clone(),
                    group_key: key,
                    kind: LogKind::Flapping,
                    detail: format!("{n} transitions"),
                    at: now,
                });
            }
        }
    }

    fn is_flapping(&self, fp: Fingerprint) -> bool {
        self.flap.get(&fp).is_some_and(|f| f.flapping)
    }

    fn flap_timer(&mut self, fp: Fingerprint, now: Timestamp, out: &mut Output) {
        let Some(fc) = self.cfg.flap.clone() else {
            return;
        };
        let Some(f) = self.flap.get_mut(&fp) else {
            return;
        };
        f.timer_at = None;
        let last = f.transitions.back().copied().unwrap_or(now);
        let stable_at = last.saturating_add(fc.stable_for);
        if stable_at > now {
            f.timer_at = Some(stable_at);
            self.schedule(stable_at, Timer::Flap(fp), out);
            return;
        }
        f.flapping = false;
        let value = serde_json::to_value(&*f).unwrap_or_default();
        out.changes.push(Change::PutState(StateRecord::new(
            "flap",
            fp.to_string(),
            value,
        )));
        // Send the final state now, whatever the notification log says.
        let groups = self
            .alerts
            .get(&fp)
            .map(|s| s.groups.clone())
            .unwrap_or_default();
        for gid in groups {
            if let Some(g) = self.groups.get_mut(&gid) {
                g.force = true;
                if g.next_flush > now {
                    g.next_flush = now;
                    self.schedule(now, Timer::Flush(gid.0, gid.1), out);
                }
            }
        }
    }

    // ----- escalation -----

    fn start_escalations(&mut self, fp: Fingerprint, now: Timestamp, out: &mut Output) {
        let Some(st) = self.alerts.get(&fp) else {
            return;
        };
        let routes: Vec<u32> = st.groups.iter().map(|g| g.0).collect();
        for r in routes {
            let node = &self.cfg.tree.nodes[r as usize];
            let Some((after, _)) = node.escalate.first() else {
                continue;
            };
            let e = EscState {
                route: node.id.clone(),
                level: 0,
                next_at: now.saturating_add(*after),
            };
            out.changes.push(Change::PutState(StateRecord::new(
                "escalation",
                format!("{fp}:{}", e.route),
                serde_json::to_value(&e).unwrap_or_default(),
            )));
            let at = e.next_at;
            self.esc.insert((fp, r), e);
            self.schedule(at, Timer::Escalate(fp, r), out);
        }
    }

    fn escalate(&mut self, fp: Fingerprint, route: u32, now: Timestamp, out: &mut Output) {
        let Some(mut e) = self.esc.remove(&(fp, route)) else {
            return;
        };
        let key = format!("{fp}:{}", e.route);
        let Some(st) = self.alerts.get(&fp) else {
            out.changes.push(Change::DeleteState {
                kind: "escalation".into(),
                key,
            });
            return;
        };
        let steps = self.cfg.tree.nodes[route as usize].escalate.clone();
        let Some(&(after, receiver)) = steps.get(e.level) else {
            out.changes.push(Change::DeleteState {
                kind: "escalation".into(),
                key,
            });
            return;
        };
        if !st.firing() || self.acks.contains_key(&fp) {
            out.changes.push(Change::DeleteState {
                kind: "escalation".into(),
                key,
            });
            return;
        }
        let view = st.view();
        // A step due while the alert is flapping, silenced or inhibited, or while
        // the route's time windows mute it, is skipped (later steps still apply).
        let muted = if self.is_flapping(fp) {
            Some(SuppressReason::Flapping)
        } else {
            self.alert_mute(&view, fp, now)
                .or_else(|| self.window_mute(route, now))
        };
        let start = st.received_at;
        if let Some(reason) = muted {
            let route_id = e.route.clone();
            self.suppress(fp, reason, &route_id, now, out);
        } else if let Some(st) = self.alerts.get(&fp) {
            let level = e.level + 1;
            let mut notice = view;
            notice.summary = format!("[escalated] {}", st.alert.title());
            notice.annotations.insert(
                "escalation",
                format!(
                    "level {level}: still firing and unacknowledged after {}",
                    serde_util::format(after)
                ),
            );
            self.counters.escalations += 1;
            out.changes.push(Change::Event(AlertEvent::of_fingerprint(
                &st.alert,
                fp,
                EventKind::Escalated,
                &e.route,
                now,
            )));
            let group_key = st
                .groups
                .iter()
                .find(|g| g.0 == route)
                .and_then(|g| self.groups.get(g))
                .map(|g| g.key.to_string())
                .unwrap_or_default();
            out.notices.push(NoticePlan {
                receiver,
                alert: notice,
                group_key,
                kind: LogKind::Escalated,
                detail: format!("level {level}"),
                at: now,
            });
        }
        e.level += 1;
        match steps.get(e.level) {
            Some((next_after, _)) => {
                e.next_at = start.saturating_add(*next_after).max(now);
                out.changes.push(Change::PutState(StateRecord::new(
                    "escalation",
                    key,
                    serde_json::to_value(&e).unwrap_or_default(),
                )));
                let at = e.next_at;
                self.esc.insert((fp, route), e);
                self.schedule(at, Timer::Escalate(fp, route), out);
            }
            None => out.changes.push(Change::DeleteState {
                kind: "escalation".into(),
                key,
            }),
        }
    }

    // ----- silences, inhibition -----

    fn silenced_by<'a>(
        &'a self,
        alert: &'a Alert,
        now: Timestamp,
    ) -> impl Iterator<Item = &'a Silence> + 'a {
        self.silences.iter().filter(move |s| s.mutes(alert, now))
    }

    /// Why `alert` (fingerprint `fp`, as the router sees it now) must not be
    /// notified about: a silence or an inhibition, checked in that order.
    fn alert_mute(&self, alert: &Alert, fp: Fingerprint, now: Timestamp) -> Option<SuppressReason> {
        if self.silenced_by(alert, now).next().is_some() {
            Some(SuppressReason::Silenced)
        } else if self.inhibited_by(alert, fp).is_some() {
            Some(SuppressReason::Inhibited)
        } else {
            None
        }
    }

    /// Why the time windows of `route` mute it at `now`: inside one of its mute
    /// intervals, or outside all of its active intervals.
    fn window_mute(&self, route: u32, now: Timestamp) -> Option<SuppressReason> {
        let node = &self.cfg.tree.nodes[route as usize];
        let inside = |i: &u32| {
            self.cfg
                .intervals
                .get(*i as usize)
                .is_some_and(|w| crate::timeinterval::any_contains(w, now))
        };
        if node.mute.iter().any(inside) {
            Some(SuppressReason::MuteInterval)
        } else if !node.active.is_empty() && !node.active.iter().any(inside) {
            Some(SuppressReason::InactiveInterval)
        } else {
            None
        }
    }

    fn inhibit_add(&mut self, fp: Fingerprint, alert: &Alert) {
        for ix in &mut self.inhibit {
            if all_match(&ix.rule.source_matchers, alert) {
                let h = equal_hash(&ix.rule.equal, alert);
                let v = ix.sources.entry(h).or_default();
                if !v.contains(&fp) {
                    v.push(fp);
                }
            }
        }
    }

    fn inhibit_remove(&mut self, fp: Fingerprint) {
        for ix in &mut self.inhibit {
            ix.sources.retain(|_, v| {
                v.retain(|x| *x != fp);
                !v.is_empty()
            });
        }
    }

    /// The firing alert that inhibits `target`, if any (Alertmanager's `Mutes`, with
    /// its self-inhibition guard).
    fn inhibited_by(&self, target: &Alert, target_fp: Fingerprint) -> Option<Fingerprint> {
        for ix in &self.inhibit {
            if ix.sources.is_empty() || !all_match(&ix.rule.target_matchers, target) {
                continue;
            }
            let two_sided = all_match(&ix.rule.source_matchers, target);
            let h = equal_hash(&ix.rule.equal, target);
            let Some(cands) = ix.sources.get(&h) else {
                continue;
            };
            for src_fp in cands {
                if *src_fp == target_fp {
                    continue;
                }
                let Some(src) = self.alerts.get(src_fp) else {
                    continue;
                };
                if !src.firing() {
                    continue;
                }
                if ix
                    .rule
                    .equal
                    .iter()
                    .any(|l| label_value(&src.alert, l) != label_value(target, l))
                {
                    continue;
                }
                if two_sided && all_match(&ix.rule.target_matchers, &src.alert) {
                    continue;
                }
                return Some(*src_fp);
            }
        }
        None
    }

    fn suppress(
        &mut self,
        fp: Fingerprint,
        reason: SuppressReason,
        route: &str,
        now: Timestamp,
        out: &mut Output,
    ) {
        let bit = 1u16 << reason_bit(reason);
        if let Some(st) = self.alerts.get_mut(&fp)
            && st.seen & bit == 0
        {
            st.seen |= bit;
            self.counters.suppressed[reason_bit(reason)] += 1;
            out.changes.push(Change::Event(AlertEvent::of_fingerprint(
                &st.alert,
                fp,
                EventKind::Suppressed(reason),
                route,
                now,
            )));
        }
    }

    pub(crate) fn suppress_acked(
        &mut self,
        fp: Fingerprint,
        route: &str,
        now: Timestamp,
        out: &mut Output,
    ) {
        self.suppress(fp, SuppressReason::Acked, route, now, out);
    }

    // ----- timers -----

    /// Runs every timer due at or before `now`.
    pub(crate) fn run_due(&mut self, now: Timestamp, out: &mut Output) {
        self.run_due_limited(now, out, usize::MAX);
    }

    /// Like [`run_due`](Self::run_due), but handles at most `limit` timers; returns
    /// whether due timers remain. The router works through a burst of due groups in
    /// such chunks, so the notifications of a chunk are delivered (and freed) before
    /// the next chunk is made.
    pub(crate) fn run_due_limited(
        &mut self,
        now: Timestamp,
        out: &mut Output,
        limit: usize,
    ) -> bool {
        let mut handled = 0usize;
        while let Some(Reverse((at, t))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            if handled >= limit {
                return true;
            }
            self.timers.pop();
            if !self.timer_valid(at, t) {
                continue;
            }
            handled += 1;
            match t {
                Timer::Flush(r, g) => self.flush((r, g), now, out),
                Timer::Alert(fp) => self.alert_timer(fp, now, out),
                Timer::Flap(fp) => self.flap_timer(fp, now, out),
                Timer::Escalate(fp, r) => self.escalate(fp, r, now, out),
            }
        }
        false
    }

    /// Flushes every group now, whatever its timer says (shutdown, one-shot jobs).
    pub(crate) fn flush_all(&mut self, now: Timestamp, out: &mut Output) {
        let ids: Vec<GroupId> = self.groups.keys().copied().collect();
        for gid in ids {
            self.flush(gid, now, out);
        }
    }

    fn alert_timer(&mut self, fp: Fingerprint, now: Timestamp, out: &mut Output) {
        let Some(st) = self.alerts.get_mut(&fp) else {
            return;
        };
        st.timer_at = None;
        if let Some(k) = st.keep_firing_until
            && k <= now
        {
            self.resolve(fp, k, out);
            return;
        }
        if st.firing()
            && st.keep_firing_until.is_none()
            && let Some(e) = st.expires_at
            && e <= now
        {
            self.resolve(fp, e, out);
            return;
        }
        self.schedule_alert_timer(fp, out);
    }

    fn flush(&mut self, gid: GroupId, now: Timestamp, out: &mut Output) {
        let Some(g) = self.groups.get(&gid) else {
            return;
        };
        let node = self.cfg.tree.nodes[gid.0 as usize].clone();
        let key = g.key.clone();
        let force = g.force;
        let mut members = g.members.to_vec();
        members.sort_by_key(|fp| {
            self.alerts
                .get(fp)
                .map(|s| (s.received_at, s.seq))
                .unwrap_or((now, u64::MAX))
        });
        let mut alerts = Vec::with_capacity(members.len());
        let mut firing = Vec::new();
        let mut resolved = Vec::new();
        let mut remove = Vec::new();
        let mut all_acked = true;
        for fp in members {
            let Some(st) = self.alerts.get(&fp) else {
                remove.push(fp);
                continue;
            };
            let is_resolved = !st.firing();
            let view = st.view_arc();
            if self.is_flapping(fp) {
                self.suppress(fp, SuppressReason::Flapping, &node.id, now, out);
                continue;
            }
            if is_resolved {
                remove.push(fp);
            }
            if let Some(reason) = self.alert_mute(&view, fp, now) {
                self.suppress(fp, reason, &node.id, now, out);
                continue;
            }
            if is_resolved {
                resolved.push(fp);
            } else {
                firing.push(fp);
                all_acked &= self.acks.contains_key(&fp);
            }
            alerts.push(view);
        }
        // Time windows mute the whole route.
        if let Some(reason) = self.window_mute(gid.0, now) {
            for fp in firing.iter().chain(&resolved) {
                self.suppress(*fp, reason, &node.id, now, out);
            }
            alerts.clear();
            firing.clear();
            resolved.clear();
        }
        // Next tick.
        let next = now.saturating_add(node.group_interval);
        let mut empty = false;
        let mut first = false;
        let mut stored = false;
        if let Some(g) = self.groups.get_mut(&gid) {
            first = !g.flushed;
            stored = g.stored;
            g.next_flush = next;
            g.flushed = true;
            g.force = false;
            for fp in &remove {
                g.members.remove(*fp);
            }
            empty = g.members.is_empty();
        }
        for fp in &remove {
            let mut gone = false;
            if let Some(st) = self.alerts.get_mut(fp) {
                st.groups.retain(|x| *x != gid);
                gone = st.groups.is_empty();
            }
            if gone {
                self.forget(*fp, out);
            }
        }
        if empty {
            self.groups.remove(&gid);
            if stored {
                out.changes.push(Change::DeleteGroup(key.to_string()));
            }
        } else if self.groups.contains_key(&gid) {
            // Written at the first flush only (`flushed` turns true: alerts joining
            // later wait for `group_interval`, also after a restart). Before it, the
            // members' records say when the group flushes (see `restore`). The later
            // ticks change only `next_flush_at`, which is not worth a write per group
            // per `group_interval` (10,000 idle groups at 1 s were 10,000 writes a
            // second): after a restart a stale one makes the group flush at once,
            // and the notification log's dedup sends only what changed.
            if first {
                let rec = self.groups.get(&gid).map(|g| self.group_record(g, gid.0));
                if let Some(g) = self.groups.get_mut(&gid) {
                    g.stored = true;
                }
                out.changes.extend(rec.map(Change::PutGroup));
            }
            self.schedule(next, Timer::Flush(gid.0, gid.1), out);
        }
        if !alerts.is_empty() {
            out.plans.push(FlushPlan {
                group_key: key,
                route: gid.0,
                route_id: node.id.clone(),
                receiver: node.receiver,
                alerts,
                firing,
                resolved,
                all_firing_acked: all_acked,
                force,
                repeat_interval: node.repeat_interval,
            });
        }
    }

    /// Drops an alert that no group holds any more.
    fn forget(&mut self, fp: Fingerprint, out: &mut Output) {
        self.alerts.remove(&fp);
        self.inhibit_remove(fp);
        out.changes.push(Change::DeleteAlert(fp));
        if self.acks.remove(&fp).is_some() {
            out.changes.push(Change::DeleteAck(fp));
        }
        if let Some(f) = self.flap.get(&fp)
            && !f.flapping
            && f.transitions.is_empty()
        {
            self.flap.remove(&fp);
            out.changes.push(Change::DeleteState {
                kind: "flap".into(),
                key: fp.to_string(),
            });
        }
    }

    /// Flap history older than the window is dropped here, from time to time.
    pub(crate) fn gc_flap(&mut self, now: Timestamp, out: &mut Output) {
        let Some(fc) = self.cfg.flap.clone() else {
            return;
        };
        let cutoff = now.saturating_sub(fc.window);
        let mut drop = Vec::new();
        for (fp, f) in &mut self.flap {
            while f.transitions.front().is_some_and(|t| *t < cutoff) {
                f.transitions.pop_front();
            }
            if !f.flapping && f.transitions.is_empty() && !self.alerts.contains_key(fp) {
                drop.push(*fp);
            }
        }
        for fp in drop {
            self.flap.remove(&fp);
            out.changes.push(Change::DeleteState {
                kind: "flap".into(),
                key: fp.to_string(),
            });
        }
    }

    // ----- acks, actions -----

    /// Acknowledges an active firing alert.
    pub(crate) fn ack(&mut self, ack: Ack, out: &mut Output) -> Result<(), String> {
        let Some(st) = self.alerts.get(&ack.fingerprint) else {
            return Err(format!(
                "no active alert with fingerprint {}",
                ack.fingerprint
            ));
        };
        if !st.firing() {
            return Err(format!("alert {} has resolved", ack.fingerprint));
        }
        self.counters.acks += 1;
        let mut entry = LogEntry::new(LogKind::Acked, ack.at);
        entry.firing = vec![ack.fingerprint];
        entry.detail = if ack.comment.is_empty() {
            ack.by.clone()
        } else {
            format!("{}: {}", ack.by, ack.comment)
        };
        out.changes.push(Change::Event(AlertEvent::of_fingerprint(
            &st.alert,
            ack.fingerprint,
            EventKind::Acked,
            "",
            ack.at,
        )));
        out.changes.push(Change::Log(entry));
        out.changes.push(Change::PutAck(ack.clone()));
        self.acks.insert(ack.fingerprint, ack);
        Ok(())
    }

    /// Decides which actions of `route` run for these firing alerts now: marks the
    /// cool-down and returns the jobs; writes cool-down and dry-run audit records.
    pub(crate) fn claim_actions(
        &mut self,
        route: u32,
        alerts: &[Arc<Alert>],
        now: Timestamp,
        out: &mut Output,
    ) -> Vec<ActionJob> {
        let node = &self.cfg.tree.nodes[route as usize];
        let mut jobs = Vec::new();
        for &a in &node.actions {
            let Some((name, policy)) = self.cfg.actions.get(a as usize) else {
                continue;
            };
            for alert in alerts.iter().filter(|x| x.status == Status::Firing) {
                let fp = alert.fingerprint();
                let record = |outcome| ActionRecord {
                    at: now,
                    action: name.clone(),
                    fingerprint: fp,
                    alert_name: alert.name.clone(),
                    route: node.id.clone(),
                    duration: Duration::ZERO,
                    outcome,
                };
                if let Some(last) = self.cooldowns.get(&(a, fp)) {
                    let until = last.saturating_add(policy.cooldown);
                    if until > now {
                        out.changes
                            .push(Change::Action(record(ActionOutcome::Cooldown { until })));
                        continue;
                    }
                }
                self.cooldowns.insert((a, fp), now);
                out.changes.push(Change::PutState(StateRecord::new(
                    "cooldown",
                    format!("{name}:{fp}"),
                    serde_json::json!({ "at": now }),
                )));
                let mut entry = LogEntry::new(LogKind::Action, now);
                entry.firing = vec![fp];
                entry.detail = if policy.dry_run {
                    format!("{name} (dry run)")
                } else {
                    name.clone()
                };
                out.changes.push(Change::Log(entry));
                if policy.dry_run {
                    out.changes
                        .push(Change::Action(record(ActionOutcome::DryRun)));
                } else {
                    jobs.push(ActionJob {
                        action: a,
                        alert: Alert::clone(alert),
                        route_id: node.id.clone(),
                        at: now,
                    });
                }
            }
        }
        jobs
    }

    // ----- silences -----

    pub(crate) fn put_silence(&mut self, s: Silence) {
        match self.silences.iter_mut().find(|x| x.id == s.id) {
            Some(x) => *x = s,
            None => self.silences.push(s),
        }
    }

    pub(crate) fn silences(&self) -> &[Silence] {
        &self.silences
    }

    pub(crate) fn drop_silence(&mut self, id: &str) {
        self.silences.retain(|s| s.id != id);
    }

    // ----- queries -----

    pub(crate) fn list(&self, f: &AlertFilter, now: Timestamp) -> Vec<AlertView> {
        let mut out = Vec::new();
        for (fp, st) in &self.alerts {
            let alert = st.view();
            if !all_match(&f.matchers, &alert) {
                continue;
            }
            if f.firing.is_some_and(|want| want != st.firing()) {
                continue;
            }
            let silenced_by: Vec<String> = self
                .silenced_by(&alert, now)
                .map(|s| s.id.clone())
                .collect();
            if f.silenced.is_some_and(|w| w == silenced_by.is_empty()) {
                continue;
            }
            let inhibited_by: Vec<Fingerprint> =
                self.inhibited_by(&alert, *fp).into_iter().collect();
            if f.inhibited.is_some_and(|w| w == inhibited_by.is_empty()) {
                continue;
            }
            let ack = self.acks.get(fp).cloned();
            if f.acked.is_some_and(|w| w != ack.is_some()) {
                continue;
            }
            let mut receivers = Vec::new();
            let mut groups = Vec::new();
            for gid in &st.groups {
                let r =
                    &self.cfg.receivers[self.cfg.tree.nodes[gid.0 as usize].receiver as usize].name;
                if !receivers.contains(r) {
                    receivers.push(r.clone());
                }
                if let Some(g) = self.groups.get(gid) {
                    groups.push(g.key.to_string());
                }
            }
            if f.receiver.as_ref().is_some_and(|r| !receivers.contains(r)) {
                continue;
            }
            out.push(AlertView {
                alert,
                fingerprint: *fp,
                received_at: st.received_at,
                updated_at: st.updated_at,
                silenced_by,
                inhibited_by,
                ack,
                flapping: self.is_flapping(*fp),
                receivers,
                groups,
            });
        }
        out.sort_by(|a, b| {
            b.alert
                .severity
                .cmp(&a.alert.severity)
                .then(a.received_at.cmp(&b.received_at))
                .then(a.fingerprint.cmp(&b.fingerprint))
        });
        out
    }

    pub(crate) fn is_acked(&self, fp: Fingerprint) -> bool {
        self.acks.contains_key(&fp)
    }

    pub(crate) fn highest_severity(alerts: &[Alert]) -> Severity {
        alert_core::render::group_severity(alerts)
    }

    // ----- restore -----

    /// Rebuilds the state from a snapshot (start-up). Returns changes that tidy the
    /// store (groups no alert belongs to any more).
    pub(crate) fn restore(&mut self, snap: Snapshot, now: Timestamp, out: &mut Output) {
        for s in snap.silences {
            self.put_silence(s);
        }
        for a in snap.acks {
            self.acks.insert(a.fingerprint, a);
        }
        let mut esc_states = Vec::new();
        for s in snap.states {
            match s.kind.as_str() {
                "flap" => {
                    if let (Ok(fp), Ok(f)) = (
                        s.key.parse::<Fingerprint>(),
                        serde_json::from_value::<FlapState>(s.value),
                    ) {
                        self.flap.insert(fp, f);
                    }
                }
                "escalation" => {
                    if let Ok(e) = serde_json::from_value::<EscState>(s.value)
                        && let Some((fp, _)) = s.key.split_once(':')
                        && let Ok(fp) = fp.parse::<Fingerprint>()
                    {
                        esc_states.push((fp, e));
                    }
                }
                "cooldown" => {
                    if let Some((name, fp)) = s.key.rsplit_once(':') {
                        let idx = self.cfg.actions.iter().position(|(n, _)| n == name);
                        let at = s
                            .value
                            .get("at")
                            .and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok());
                        if let (Some(i), Ok(fp), Some(at)) = (idx, fp.parse::<Fingerprint>(), at) {
                            self.cooldowns.insert((i as u32, fp), at);
                        }
                    }
                }
                _ => {}
            }
        }
        let mut saved: HashMap<String, GroupRecord> = snap
            .groups
            .into_iter()
            .map(|g| (g.key.clone(), g))
            .collect();
        let mut used = HashSet::default();
        // Oldest first, whatever the store's order: `seq` is the arrival order, and a
        // group is created by its oldest member.
        let mut alerts = snap.alerts;
        alerts.sort_by_key(|a| (a.received_at, a.fingerprint()));
        for rec in alerts {
            let fp = rec.fingerprint();
            let alert = rec.alert.clone();
            let mut routes = Vec::new();
            self.cfg.tree.match_alert(&alert, &mut routes);
            let mut groups = Vec::new();
            for r in routes {
                let (gid, _) = self.group_of(r, &alert);
                if !self.groups.contains_key(&gid) {
                    let key = self.group_key_text(r, &alert);
                    // A group without a record had not flushed yet: it was created
                    // when its oldest member (this one: they come oldest first)
                    // arrived, and flushes `group_wait` after that.
                    let wait = self.cfg.tree.nodes[r as usize].group_wait;
                    let (created, next, flushed, stored) = match saved.get(&key) {
                        Some(g) => (g.created_at, g.next_flush_at, g.flushed, true),
                        None => (
                            rec.received_at,
                            rec.received_at.saturating_add(wait),
                            false,
                            false,
                        ),
                    };
                    used.insert(key.clone());
                    self.groups.insert(
                        gid,
                        Group {
                            key: key.into(),
                            members: FpSet::Small(Vec::new()),
                            created_at: created,
                            next_flush: next,
                            flushed,
                            force: false,
                            stored,
                        },
                    );
                    self.schedule(next, Timer::Flush(gid.0, gid.1), out);
                }
                if let Some(g) = self.groups.get_mut(&gid) {
                    g.members.insert(fp);
                }
                groups.push(gid);
            }
            let expires_at = if rec.resolved_at.is_none() {
                Some(self.expiry_of(&alert, rec.updated_at))
            } else {
                None
            };
            self.seq += 1;
            let st = AlertState {
                alert: alert.clone(),
                fp,
                seq: self.seq,
                received_at: rec.received_at,
                updated_at: rec.updated_at,
                resolved_at: rec.resolved_at,
                keep_firing_until: rec.keep_firing_until,
                expires_at,
                persisted_expiry: expires_at,
                timer_at: None,
                groups,
                seen: 0,
            };
            let firing = st.firing();
            self.alerts.insert(fp, Box::new(st));
            if firing {
                self.inhibit_add(fp, &alert);
            }
            self.schedule_alert_timer(fp, out);
        }
        for key in saved
            .keys()
            .filter(|k| !used.contains(*k))
            .cloned()
            .collect::<Vec<_>>()
        {
            saved.remove(&key);
            out.changes.push(Change::DeleteGroup(key));
        }
        for (fp, e) in esc_states {
            if let Some(r) = self.cfg.tree.nodes.iter().position(|n| n.id == e.route) {
                let at = e.next_at;
                self.esc.insert((fp, r as u32), e);
                self.schedule(at, Timer::Escalate(fp, r as u32), out);
            }
        }
        let flapping: Vec<Fingerprint> = self
            .flap
            .iter()
            .filter(|(_, f)| f.flapping)
            .map(|(fp, _)| *fp)
            .collect();
        if let Some(fc) = self.cfg.flap.clone() {
            for fp in flapping {
                let at = self
                    .flap
                    .get(&fp)
                    .and_then(|f| f.transitions.back().copied())
                    .unwrap_or(now)
                    .saturating_add(fc.stable_for);
                if let Some(f) = self.flap.get_mut(&fp) {
                    f.timer_at = Some(at);
                }
                self.schedule(at, Timer::Flap(fp), out);
            }
        }
    }
}

/// When a firing alert resolves by itself: its `ends_at` when in the future, else
/// `resolve_timeout` after it was last received (Alertmanager's rule).
fn expiry(alert: &Alert, now: Timestamp, resolve_timeout: Duration) -> Timestamp {
    match alert.ends_at {
        Some(e) if e > now => e,
        _ => now.saturating_add(resolve_timeout),
    }
}

/// Alertmanager's dedup decision (`DedupStage.needsUpdate`), plus acks and forcing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send.
    Send,
    /// Nothing new inside `repeat_interval`.
    Dedup,
    /// A repeat is due but every firing alert is acknowledged.
    Acked,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn needs_update(
    last: Option<&LogEntry>,
    firing: &[Fingerprint],
    resolved: &[Fingerprint],
    send_resolved: bool,
    repeat: Duration,
    all_acked: bool,
    force: bool,
    now: Timestamp,
) -> Decision {
    let Some(entry) = last else {
        return if firing.is_empty() {
            Decision::Dedup
        } else {
            Decision::Send
        };
    };
    if force {
        return Decision::Send;
    }
    if !firing.iter().all(|f| entry.firing.contains(f)) {
        return Decision::Send;
    }
    if firing.is_empty() {
        return if entry.firing.is_empty() {
            Decision::Dedup
        } else {
            Decision::Send
        };
    }
    if send_resolved && !resolved.iter().all(|f| entry.resolved.contains(f)) {
        return Decision::Send;
    }
    // Alertmanager: `entry.Timestamp.Before(now.Add(-repeat))`, strictly after.
    if entry.at.saturating_add(repeat) < now {
        return if all_acked {
            Decision::Acked
        } else {
            Decision::Send
        };
    }
    Decision::Dedup
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(resolve_timeout: Duration) -> Engine {
        let receivers = std::collections::HashMap::from([("team".to_owned(), 0u32)]);
        let none = std::collections::HashMap::new();
        let tree = RouteTree::compile(
            &crate::route::Route::new().receiver("team"),
            &crate::route::Names {
                receivers: &receivers,
                intervals: &none,
                actions: &none,
            },
        )
        .expect("route");
        Engine::new(EngineConfig {
            tree,
            receivers: vec![ReceiverMeta {
                name: "team".into(),
                channels: vec!["console".into()],
                send_resolved: true,
            }],
            intervals: Vec::new(),
            inhibit_rules: Vec::new(),
            flap: None,
            keep_firing_for: Duration::ZERO,
            resolve_timeout,
            actions: Vec::new(),
        })
    }

    /// A re-send that only moves the times (as Prometheus re-sends every
    /// evaluation) keeps the first `starts_at` and takes the new `ends_at`, whether
    /// the held alert is changed in place (nothing else holds it) or replaced (a
    /// notification still holds the old one, which must not change under it).
    #[test]
    fn a_refresh_takes_the_new_end_and_leaves_other_holders_alone() {
        let t =
            |s: u64| Timestamp::UNIX_EPOCH.saturating_add(Duration::from_secs(1_800_000_000 + s));
        let mut e = engine(Duration::from_secs(300));
        let sent = |starts: u64, ends: u64| {
            Alert::new(Severity::Warning, "DataDrift")
                .with_label("model", "bikes")
                .with_starts_at(t(starts))
                .with_ends_at(t(ends))
        };
        // Each call's output is dropped, as the router drops it once written (a
        // kept record would hold the alert).
        let ingest = |e: &mut Engine, a: Alert, now: u64| {
            let mut out = Output::default();
            e.ingest(a, t(now), &mut out);
            out.changes
        };
        ingest(&mut e, sent(0, 60), 0);
        let fp = sent(0, 60).fingerprint();
        let held = |e: &Engine| e.alerts.get(&fp).expect("held").alert.clone();

        // Nothing else holds it: changed in place.
        let before = Arc::as_ptr(&held(&e));
        ingest(&mut e, sent(10, 70), 10);
        let now = held(&e);
        assert_eq!((now.starts_at, now.ends_at), (Some(t(0)), Some(t(70))));
        assert_eq!(Arc::as_ptr(&now), before, "changed in place");
        drop(now);

        // Something holds it: replaced, and the holder's copy is as it was.
        let other = held(&e);
        ingest(&mut e, sent(20, 80), 20);
        let now = held(&e);
        assert_eq!((now.starts_at, now.ends_at), (Some(t(0)), Some(t(80))));
        assert_eq!((other.starts_at, other.ends_at), (Some(t(0)), Some(t(70))));
        assert!(!Arc::ptr_eq(&now, &other));
        drop((now, other));

        // The same alert again, times and all: nothing to do.
        let before = Arc::as_ptr(&held(&e));
        let changes = ingest(&mut e, sent(0, 80), 30);
        assert_eq!(Arc::as_ptr(&held(&e)), before);
        assert!(changes.is_empty(), "nothing written: {changes:?}");

        // Anything else changed is a new alert, written at once.
        let changes = ingest(&mut e, sent(40, 90).with_summary("drift grew"), 40);
        let now = held(&e);
        assert_eq!(now.summary, "drift grew");
        assert_eq!((now.starts_at, now.ends_at), (Some(t(0)), Some(t(90))));
        assert!(
            matches!(changes.last(), Some(Change::PutAlert(r)) if r.alert.summary == "drift grew"),
            "written: {changes:?}"
        );
    }

    /// `view_arc` is `view`, and shares the stored alert exactly when `view` would
    /// not change it.
    #[test]
    fn the_shared_view_is_the_view() {
        let t = |s: i64| Timestamp::from_unix_seconds(1_800_000_000 + s).unwrap();
        let state = |alert: Alert, resolved_at: Option<Timestamp>| AlertState {
            alert: Arc::new(alert),
            fp: Fingerprint::from_u64(1),
            seq: 1,
            received_at: t(0),
            updated_at: t(10),
            resolved_at,
            keep_firing_until: None,
            expires_at: None,
            persisted_expiry: None,
            timer_at: None,
            groups: Vec::new(),
            seen: 0,
        };
        let firing = Alert::new(Severity::Error, "X").with_starts_at(t(-5));
        let mut cases = vec![
            // (state, shared)
            (state(firing.clone(), None), true),
            (state(Alert::new(Severity::Error, "X"), None), false),
            (state(firing.clone().with_ends_at(t(5)), None), false),
            (state(firing.clone().with_ends_at(t(50)), None), true),
            (state(firing.clone(), Some(t(20))), false),
        ];
        let resolved = firing
            .clone()
            .with_ends_at(t(15))
            .with_status(Status::Resolved);
        cases.push((state(resolved.clone(), Some(t(20))), true));
        cases.push((
            state(resolved.clone().with_ends_at(t(30)), Some(t(20))),
            false,
        ));
        for (i, (st, shared)) in cases.iter().enumerate() {
            let v = st.view_arc();
            assert_eq!(*v, st.view(), "case {i}");
            assert_eq!(Arc::ptr_eq(&v, &st.alert), *shared, "case {i}");
        }
    }
}
