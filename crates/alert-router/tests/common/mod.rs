//! Shared helpers for the router's tests: a recording channel that notes the
//! simulated time of each call, and a router on a paused clock.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::{Alert, Notifier, Receipt, Result, Timestamp, async_trait};
use alert_router::{Router, RouterBuilder, TokioClock};
use tokio::time::Instant;

/// 2026-11-24T10:00:00Z, a Tuesday.
pub fn t0() -> Timestamp {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

/// Records `"<secs>s <kind> <alerts>"` lines, e.g. `30s group A=firing B=firing`.
#[derive(Clone, Debug)]
pub struct Rec {
    name: String,
    start: Instant,
    lines: Arc<Mutex<Vec<String>>>,
    gate: Option<Arc<tokio::sync::Semaphore>>,
}

fn describe(alerts: &[Alert]) -> String {
    alerts
        .iter()
        .map(|a| {
            let mut s = format!("{}={}", a.name, a.status);
            if !a.summary.is_empty() && a.summary.starts_with('[') {
                s = format!(
                    "{}({})",
                    s,
                    a.summary
                        .split(']')
                        .next()
                        .unwrap_or("")
                        .trim_start_matches('[')
                );
            }
            s
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Rec {
    pub fn new(name: &str, start: Instant) -> Rec {
        Rec {
            name: name.into(),
            start,
            lines: Arc::default(),
            gate: None,
        }
    }
    /// A recorder whose calls wait for a permit of `gate` (a backed-up channel).
    pub fn gated(name: &str, start: Instant, gate: Arc<tokio::sync::Semaphore>) -> Rec {
        Rec {
            gate: Some(gate),
            ..Rec::new(name, start)
        }
    }
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
    fn secs(&self) -> u64 {
        self.start.elapsed().as_secs()
    }
    async fn record(&self, kind: &str, alerts: &[Alert]) -> Receipt {
        if let Some(g) = &self.gate {
            let p = g.acquire().await.expect("gate");
            p.forget();
        }
        let mut l = self.lines.lock().unwrap();
        l.push(format!("{}s {kind} {}", self.secs(), describe(alerts)));
        Receipt::new(self.name.clone()).with_id(l.len().to_string())
    }
}

#[async_trait]
impl Notifier for Rec {
    fn name(&self) -> &str {
        &self.name
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        Ok(self.record("notify", std::slice::from_ref(alert)).await)
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        Ok(self.record("group", alerts).await)
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        let kind = format!("update#{}", previous.id.clone().unwrap_or_default());
        Ok(self.record(&kind, std::slice::from_ref(alert)).await)
    }
}

/// Builds the router on a Tokio clock starting at [`t0`].
pub async fn build(b: RouterBuilder) -> Router {
    b.clock(Arc::new(TokioClock::starting_at(t0())))
        .build()
        .await
        .expect("router builds")
}

/// Sleeps until `secs` after `start` (simulated time), then lets deliveries finish.
pub async fn at(start: Instant, secs: u64) {
    tokio::time::sleep_until(start + Duration::from_secs(secs)).await;
    settle().await;
}

/// Lets spawned tasks (delivery workers) run; moves the clock by 10 ms.
pub async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// A firing alert named `name` with labels.
pub fn alert(sev: alert_core::Severity, name: &str, labels: &[(&str, &str)]) -> Alert {
    Alert::new(sev, name).with_labels(labels.iter().copied())
}
