//! Delivery history: every attempt, queryable, as JSON or a table.
//!
//! The outbox records one [`DeliveryAttempt`] per attempt: receiver, channel, the
//! alerts' fingerprints, attempt number, start time, latency, outcome, error kind and
//! text (never a secret: errors never hold any), and the receipt with the provider's
//! id. An attempt that handed its notification to the receiver's fallback reads
//! `fell back to NAME` ([`AttemptOutcome::FellBack`]); the fallback's own attempts
//! carry `fallback_from`. Query them through [`Store::query_attempts`] with an [`AttemptQuery`] (by
//! fingerprint, receiver, time range and outcome), or with [`query`] here, which
//! also renders.
//!
//! ```no_run
//! # async fn run(store: &dyn alert_router::store::Store) -> Result<(), alert_router::store::StoreError> {
//! use alert_router::delivery::history;
//! use alert_router::store::{AttemptOutcome, AttemptQuery};
//! let mut q = AttemptQuery::default();
//! q.receiver = Some("team".into());
//! q.outcome = Some(AttemptOutcome::GaveUp);
//! let attempts = history::query(store, &q).await?;
//! eprintln!("{}", history::to_table(&attempts));
//! # Ok(()) }
//! ```

use std::fmt::Write as _;

use crate::store::{AttemptOutcome, AttemptQuery, DeliveryAttempt, Store, StoreResult};

/// The attempts matching `q`, newest first.
pub async fn query(store: &dyn Store, q: &AttemptQuery) -> StoreResult<Vec<DeliveryAttempt>> {
    store.query_attempts(q).await
}

/// The attempts as a JSON array (the same shape the store keeps).
pub fn to_json(attempts: &[DeliveryAttempt]) -> serde_json::Value {
    serde_json::to_value(attempts).unwrap_or(serde_json::Value::Null)
}

fn cell(s: &str, width: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let n = clean.chars().count();
    if n > width {
        let mut t: String = clean.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    } else {
        clean
    }
}

/// How the outcome reads in the table: `delivered`, `failed`, `gave_up`, `fell back
/// to NAME`; an attempt of a fallback notification adds `(from NAME)`.
fn outcome_cell(a: &DeliveryAttempt) -> String {
    let mut s = match (&a.outcome, &a.fallback) {
        (AttemptOutcome::FellBack, Some(to)) => format!("fell back to {}", cell(to, 20)),
        (o, _) => o.as_str().to_owned(),
    };
    if let Some(from) = &a.fallback_from {
        s.push_str(&format!(" (from {})", cell(from, 20)));
    }
    s
}

/// The attempts as a fixed-width table for people: time, receiver, channel,
/// attempt, outcome (`fell back to NAME` when a fallback receiver took over),
/// latency, the first fingerprint (and how many more), the provider's id, and the
/// error.
pub fn to_table(attempts: &[DeliveryAttempt]) -> String {
    let header = [
        "at",
        "receiver",
        "channel",
        "#",
        "outcome",
        "latency",
        "fingerprint",
        "provider id",
        "error",
    ];
    let mut rows: Vec<[String; 9]> = Vec::with_capacity(attempts.len());
    for a in attempts {
        let fp = match a.fingerprints.as_slice() {
            [] => String::new(),
            [one] => one.to_string(),
            [first, rest @ ..] => format!("{first} +{}", rest.len()),
        };
        rows.push([
            a.at.to_string(),
            cell(&a.receiver, 20),
            cell(&a.channel, 14),
            a.attempt.to_string(),
            outcome_cell(a),
            format!("{} ms", a.latency.as_millis()),
            fp,
            cell(
                a.receipt
                    .as_ref()
                    .and_then(|r| r.id.as_deref())
                    .unwrap_or(""),
                24,
            ),
            cell(a.error.as_deref().unwrap_or(""), 60),
        ]);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut out, &header.map(str::to_owned));
    for r in &rows {
        line(&mut out, r);
    }
    if attempts.is_empty() {
        out.push_str("(no attempts)\n");
    }
    out
}
