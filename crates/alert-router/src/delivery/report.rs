//! The alert-effectiveness report: per alert name and per route, over a period,
//! which alerts fired, what was sent and held back, and how people responded.
//!
//! It answers the "regularly review and update your alerts" practice with data: an
//! alert that fires often, is never acknowledged and resolves by itself is noise; one
//! whose notifications are mostly suppressed by dedup or flap control is tuned too
//! tight.
//!
//! Built from the store's events ([`Store::query_events`]) and delivery attempts
//! ([`Store::query_attempts`]):
//!
//! | column | meaning |
//! |---|---|
//! | `fired` | episodes that started firing in the period |
//! | `notifications` | notifications queued about it (`Notified` events) |
//! | `deliveries` / `failed` | delivery attempts that succeeded / were given up (a notification handed to a fallback receiver is neither: the fallback's own delivery counts) |
//! | `suppressed_*` | held back by dedup, silence, inhibition, flap control, time intervals, acknowledgement |
//! | `flaps` | times it entered the flapping state |
//! | `time_to_ack`, `time_to_resolve` | from firing to the first ack / to resolution (count, mean, median, p90, max, seconds) |
//! | `resolved_before_ack` | episodes that resolved before anyone acknowledged them |
//! | `never_acked` | episodes nobody acknowledged (resolved or still firing) |
//!
//! Per route, an episode counts for every route that notified or suppressed it.
//!
//! ```no_run
//! # async fn run(store: &dyn alert_router::store::Store) -> Result<(), alert_router::store::StoreError> {
//! use alert_core::Timestamp;
//! use alert_router::delivery::report::EffectivenessReport;
//! let now = Timestamp::now();
//! let week = std::time::Duration::from_secs(7 * 86_400);
//! let report = EffectivenessReport::build(store, now.saturating_sub(week), now).await?;
//! println!("{}", report.to_table());          // people
//! let json = report.to_json();                // scripts
//! # let _ = json; Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use alert_core::{Fingerprint, Timestamp};
use serde::Serialize;

use crate::store::{
    AttemptOutcome, AttemptQuery, EventKind, EventQuery, Store, StoreResult, SuppressReason,
};

/// Summary of a set of durations, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DurationStats {
    /// How many.
    pub count: usize,
    /// Mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_secs: Option<f64>,
    /// Median.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_secs: Option<f64>,
    /// 90th percentile (nearest rank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_secs: Option<f64>,
    /// Longest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_secs: Option<f64>,
}

impl DurationStats {
    fn of(mut v: Vec<Duration>) -> DurationStats {
        if v.is_empty() {
            return DurationStats::default();
        }
        v.sort();
        let secs: Vec<f64> = v.iter().map(Duration::as_secs_f64).collect();
        let rank = |p: f64| {
            let idx = ((p * secs.len() as f64).ceil() as usize).clamp(1, secs.len()) - 1;
            secs[idx]
        };
        DurationStats {
            count: secs.len(),
            mean_secs: Some(secs.iter().sum::<f64>() / secs.len() as f64),
            p50_secs: Some(rank(0.5)),
            p90_secs: Some(rank(0.9)),
            max_secs: secs.last().copied(),
        }
    }
}

/// One row of the report: one alert name, one route, or the totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReportRow {
    /// The alert name or the route (`total` for the totals).
    pub key: String,
    /// Episodes that started firing.
    pub fired: u64,
    /// Notifications queued.
    pub notifications: u64,
    /// Successful delivery attempts (per alert and totals only).
    pub deliveries: u64,
    /// Notifications given up (per alert and totals only).
    pub failed: u64,
    /// Held back as duplicates inside `repeat_interval`.
    pub suppressed_dedup: u64,
    /// Held back by a silence.
    pub suppressed_silence: u64,
    /// Held back by an inhibition rule.
    pub suppressed_inhibition: u64,
    /// Held back by flap control.
    pub suppressed_flapping: u64,
    /// Held back by mute or active time intervals.
    pub suppressed_time_interval: u64,
    /// Repeats held back because the alert was acknowledged.
    pub suppressed_acked: u64,
    /// Times it started flapping.
    pub flaps: u64,
    /// Episodes acknowledged.
    pub acked: u64,
    /// From firing to the first acknowledgement.
    pub time_to_ack: DurationStats,
    /// From firing to resolution.
    pub time_to_resolve: DurationStats,
    /// Episodes that resolved before anyone acknowledged them.
    pub resolved_before_ack: u64,
    /// Episodes nobody acknowledged.
    pub never_acked: u64,
}

#[derive(Default)]
struct Acc {
    row: ReportRow,
    ack_times: Vec<Duration>,
    resolve_times: Vec<Duration>,
}

impl Acc {
    fn finish(mut self, key: String) -> ReportRow {
        self.row.key = key;
        self.row.time_to_ack = DurationStats::of(self.ack_times);
        self.row.time_to_resolve = DurationStats::of(self.resolve_times);
        self.row
    }
}

/// The alert-effectiveness report over a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EffectivenessReport {
    /// Start of the period (inclusive).
    pub since: Timestamp,
    /// End of the period (exclusive).
    pub until: Timestamp,
    /// When the report was made.
    pub generated_at: Timestamp,
    /// One row per alert name, by name.
    pub by_alert: Vec<ReportRow>,
    /// One row per route, by route (`(unrouted)` for episodes no route handled).
    pub by_route: Vec<ReportRow>,
    /// All alerts together.
    pub totals: ReportRow,
}

struct Episode {
    name: String,
    fired_at: Timestamp,
    acked_at: Option<Timestamp>,
    resolved_at: Option<Timestamp>,
    routes: BTreeSet<String>,
}

const UNROUTED: &str = "(unrouted)";

impl EffectivenessReport {
    /// Builds the report for `[since, until)` from `store`.
    pub async fn build(
        store: &dyn Store,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<EffectivenessReport> {
        let eq = EventQuery {
            since: Some(since),
            until: Some(until),
            ..EventQuery::default()
        };
        let events = store.query_events(&eq).await?;
        let aq = AttemptQuery {
            since: Some(since),
            until: Some(until),
            ..AttemptQuery::default()
        };
        let attempts = store.query_attempts(&aq).await?;

        let mut by_alert: BTreeMap<String, Acc> = BTreeMap::new();
        let mut by_route: BTreeMap<String, Acc> = BTreeMap::new();
        let mut totals = Acc::default();
        let mut names: HashMap<Fingerprint, String> = HashMap::new();
        let mut open: HashMap<Fingerprint, Episode> = HashMap::new();
        let mut finished: Vec<Episode> = Vec::new();

        for e in &events {
            names.insert(e.fingerprint, e.alert_name.clone());
            let mut bump = |f: &dyn Fn(&mut ReportRow)| {
                f(&mut by_alert.entry(e.alert_name.clone()).or_default().row);
                f(&mut totals.row);
                if !e.route.is_empty() {
                    f(&mut by_route.entry(e.route.clone()).or_default().row);
                }
            };
            match e.kind {
                EventKind::Fired => {
                    if let Some(prev) = open.remove(&e.fingerprint) {
                        finished.push(prev);
                    }
                    open.insert(
                        e.fingerprint,
                        Episode {
                            name: e.alert_name.clone(),
                            fired_at: e.at,
                            acked_at: None,
                            resolved_at: None,
                            routes: BTreeSet::new(),
                        },
                    );
                }
                EventKind::Resolved => {
                    if let Some(mut ep) = open.remove(&e.fingerprint) {
                        ep.resolved_at = Some(e.at);
                        finished.push(ep);
                    }
                }
                EventKind::Acked => {
                    if let Some(ep) = open.get_mut(&e.fingerprint)
                        && ep.acked_at.is_none()
                    {
                        ep.acked_at = Some(e.at);
                    }
                }
                EventKind::Notified => bump(&|r| r.notifications += 1),
                EventKind::Flapping => bump(&|r| r.flaps += 1),
                EventKind::Escalated => {}
                EventKind::Suppressed(reason) => bump(&|r| match reason {
                    SuppressReason::Dedup => r.suppressed_dedup += 1,
                    SuppressReason::Silenced => r.suppressed_silence += 1,
                    SuppressReason::Inhibited => r.suppressed_inhibition += 1,
                    SuppressReason::Flapping => r.suppressed_flapping += 1,
                    SuppressReason::MuteInterval | SuppressReason::InactiveInterval => {
                        r.suppressed_time_interval += 1
                    }
                    SuppressReason::Acked => r.suppressed_acked += 1,
                }),
            }
            if !e.route.is_empty()
                && let Some(ep) = open.get_mut(&e.fingerprint)
            {
                ep.routes.insert(e.route.clone());
            }
        }
        finished.extend(open.into_values());

        for ep in finished {
            let apply = |acc: &mut Acc| {
                acc.row.fired += 1;
                if let Some(a) = ep.acked_at {
                    acc.row.acked += 1;
                    acc.ack_times.push(a.duration_since(ep.fired_at));
                } else {
                    acc.row.never_acked += 1;
                }
                if let Some(r) = ep.resolved_at {
                    acc.resolve_times.push(r.duration_since(ep.fired_at));
                    if ep.acked_at.is_none_or(|a| a > r) {
                        acc.row.resolved_before_ack += 1;
                    }
                }
            };
            apply(by_alert.entry(ep.name.clone()).or_default());
            apply(&mut totals);
            if ep.routes.is_empty() {
                apply(by_route.entry(UNROUTED.to_owned()).or_default());
            }
            for r in &ep.routes {
                apply(by_route.entry(r.clone()).or_default());
            }
        }

        for a in &attempts {
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            for fp in &a.fingerprints {
                let name = names.get(fp).map(String::as_str).unwrap_or("(unknown)");
                if !seen.insert(name) {
                    continue;
                }
                let acc = by_alert.entry(name.to_owned()).or_default();
                match a.outcome {
                    AttemptOutcome::Delivered => acc.row.deliveries += 1,
                    AttemptOutcome::GaveUp => acc.row.failed += 1,
                    AttemptOutcome::Failed | AttemptOutcome::FellBack => {}
                }
            }
            match a.outcome {
                AttemptOutcome::Delivered => totals.row.deliveries += 1,
                AttemptOutcome::GaveUp => totals.row.failed += 1,
                AttemptOutcome::Failed | AttemptOutcome::FellBack => {}
            }
        }

        Ok(EffectivenessReport {
            since,
            until,
            generated_at: Timestamp::now(),
            by_alert: by_alert.into_iter().map(|(k, a)| a.finish(k)).collect(),
            by_route: by_route.into_iter().map(|(k, a)| a.finish(k)).collect(),
            totals: totals.finish("total".to_owned()),
        })
    }

    /// The report as JSON (stable field names, durations in seconds).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The report as tables for people: one per alert name, one per route.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Alert effectiveness from {} to {}",
            self.since, self.until
        );
        let _ = writeln!(out, "\nBy alert");
        table(&mut out, "alert", &self.by_alert, Some(&self.totals));
        let _ = writeln!(out, "\nBy route");
        table(&mut out, "route", &self.by_route, None);
        out
    }
}

fn fmt_secs(s: Option<f64>) -> String {
    match s {
        None => "-".to_owned(),
        Some(s) if s < 60.0 => format!("{s:.0}s"),
        Some(s) if s < 3600.0 => format!("{:.1}m", s / 60.0),
        Some(s) => format!("{:.1}h", s / 3600.0),
    }
}

fn table(out: &mut String, first: &str, rows: &[ReportRow], total: Option<&ReportRow>) {
    let header: Vec<String> = [
        first,
        "fired",
        "notified",
        "delivered",
        "failed",
        "dedup",
        "silenced",
        "inhibited",
        "flap-held",
        "flaps",
        "acked",
        "ack p50",
        "resolve p50",
        "resolved unacked",
        "never acked",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let render = |r: &ReportRow| -> Vec<String> {
        vec![
            r.key
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(40)
                .collect(),
            r.fired.to_string(),
            r.notifications.to_string(),
            r.deliveries.to_string(),
            r.failed.to_string(),
            r.suppressed_dedup.to_string(),
            r.suppressed_silence.to_string(),
            r.suppressed_inhibition.to_string(),
            r.suppressed_flapping.to_string(),
            r.flaps.to_string(),
            r.acked.to_string(),
            fmt_secs(r.time_to_ack.p50_secs),
            fmt_secs(r.time_to_resolve.p50_secs),
            r.resolved_before_ack.to_string(),
            r.never_acked.to_string(),
        ]
    };
    let mut body: Vec<Vec<String>> = rows.iter().map(render).collect();
    if let Some(t) = total {
        body.push(render(t));
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &body {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut String, cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(out, &header);
    if rows.is_empty() {
        let _ = writeln!(out, "(nothing in this period)");
    }
    for r in &body {
        line(out, r);
    }
}
