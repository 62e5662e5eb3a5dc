//! A serving guard: error-rate and latency rules over a model server, and an
//! automated rollback when an alert turns critical.
//!
//! What it shows:
//!
//! * `alert-conditions`' system module: the error rate over a sliding one-minute
//!   window ([`ErrorRateWindow`]) and the p99 latency over the same window
//!   ([`LatencyWindow`]), each fed to a [`ThresholdRule`] with warning and critical
//!   tiers, a `for` duration and hysteresis;
//! * an `alert-router` [`Router`] whose route for `severity >= critical` names an
//!   automated action, `rollback` (an [`FnAction`]), with a cool-down per alert and
//!   **dry-run by default**: the router records what it would have run in its audit
//!   trail and runs nothing;
//! * the audit trail ([`ActionRecord`]s) read back from the router's store.
//!
//! The serving loop is simulated: 15 minutes of traffic in 10-second steps, 200
//! requests each. Model version 3 serves well; at minute 5 version 4 is deployed and
//! it is bad (9% errors, p99 latency near 1 s). The rules fire, turn critical, and the
//! rollback triggers. In a dry run version 4 keeps serving and the alerts keep
//! firing; with `--execute` the rollback puts version 3 back, the error rate and
//! latency recover and the alerts resolve. The traffic comes from a seeded generator
//! and the router runs on the simulation's clock, so the output is the same on every
//! run.
//!
//! Run it:
//!
//! ```sh
//! cargo run -p examples --features conditions,router --example serving_guard
//! cargo run -p examples --features conditions,router --example serving_guard -- --execute
//! ```
//!
//! What it needs: nothing (no network; the deployment is an in-memory stand-in for
//! your deployment API). It exits with status 1 when the rules, the action's audit
//! records or the deployment do not end up as the demonstration expects.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_conditions::rules::{Band, ThresholdRule, ThresholdSpec};
use alert_conditions::system::{ErrorRateWindow, LatencyWindow};
use alert_core::{Alert, ConsoleFormat, ConsoleNotifier, Severity, Source, Status, Timestamp};
use alert_router::action::{ActionError, FnAction};
use alert_router::store::{ActionOutcome, ActionQuery, ActionRecord};
use alert_router::{ActionPolicy, ManualClock, Receiver, Route, Router};

/// A small seeded generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Normal(mean, sd), Box-Muller.
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Stands in for a deployment API: which model version serves, and the one before.
#[derive(Debug)]
struct Deployment {
    serving: u32,
    previous: u32,
}

impl Deployment {
    /// How a version behaves: error probability, latency mean and spread (ms).
    fn behaviour(&self) -> (f64, f64, f64) {
        match self.serving {
            4 => (0.09, 420.0, 180.0),
            _ => (0.004, 80.0, 15.0),
        }
    }
}

fn rule(name: &str, metric: &str, warning: f64, critical: f64, recovery: f64) -> ThresholdSpec {
    ThresholdSpec::new(name, metric)
        .label("service", "scoring")
        .label("model", "bikes")
        .source(Source::model("bikes").environment("prod"))
        .annotation("runbook_url", "https://runbooks.example/bikes/serving")
        .warning(Band::above(warning))
        .critical(Band::above(critical))
        .recovery(Band::above(recovery))
        .for_duration(Duration::from_secs(30))
}

fn records_text(records: &[ActionRecord], start: Timestamp) -> Vec<String> {
    records
        .iter()
        .rev()
        .map(|r| {
            let what = match &r.outcome {
                ActionOutcome::Succeeded { output } => format!("ran: {output}"),
                ActionOutcome::Failed { error } => format!("FAILED: {error}"),
                ActionOutcome::DryRun => "dry run: would have run".to_owned(),
                ActionOutcome::Cooldown { .. } => "skipped: cool-down".to_owned(),
            };
            format!(
                "{} {} for {} ({}): {what}",
                clock_text(r.at, start),
                r.action,
                r.alert_name,
                r.fingerprint
            )
        })
        .collect()
}

/// `t+MM:SS` since the start of the simulation.
fn clock_text(t: Timestamp, start: Timestamp) -> String {
    let s = t.duration_since(start).as_secs();
    format!("t+{:02}:{:02}", s / 60, s % 60)
}

async fn run(execute: bool) -> Result<(), Box<dyn Error>> {
    let start: Timestamp = "2026-11-24T10:00:00Z".parse()?;
    let deployment = Arc::new(Mutex::new(Deployment {
        serving: 3,
        previous: 3,
    }));

    // The rollback: an action the router runs for critical alerts.
    let target = deployment.clone();
    let rollback = FnAction::new("rollback", move |alert: Alert| {
        let target = target.clone();
        async move {
            let mut d = target
                .lock()
                .map_err(|_| ActionError::new("deployment state poisoned"))?;
            let model = alert.labels.get("model").unwrap_or_default().to_owned();
            if d.serving == d.previous {
                return Ok(format!("{model} already serves v{}", d.serving));
            }
            let from = d.serving;
            d.serving = d.previous;
            Ok(format!(
                "rolled {model} back from v{from} to v{}",
                d.serving
            ))
        }
    });
    let clock = Arc::new(ManualClock::new(start));
    let router =
        Router::builder()
            .clock(clock.clone())
            .manual_ticks()
            .receiver(Receiver::new("oncall").channel(
                ConsoleNotifier::stdout("serving_guard").with_format(ConsoleFormat::Detailed),
            ))
            .route(
                Route::to("oncall")
                    .group_by(["alertname", "service"])
                    .route(Route::new().when("severity >= critical").action("rollback")),
            )
            // The rules say when an alert resolves; without this the router would resolve
            // an alert 5 minutes after it was last sent (Alertmanager's resolve_timeout,
            // for senders that repeat firing alerts, as Prometheus does).
            .resolve_timeout(Duration::from_secs(3600))
            .action(
                Arc::new(rollback),
                ActionPolicy::cooldown(Duration::from_secs(1800)).dry_run(!execute),
            )
            .build()
            .await?;

    let mut errors = ThresholdRule::new(rule("HighErrorRate", "error_rate", 0.02, 0.05, 0.01))?;
    let mut latency = ThresholdRule::new(rule(
        "HighLatencyP99",
        "latency_p99_ms",
        250.0,
        600.0,
        200.0,
    ))?;
    let mut error_window = ErrorRateWindow::new(Duration::from_secs(60));
    let mut latency_window = LatencyWindow::new(Duration::from_secs(60));
    let mut rng = Rng(3);
    let mut last: Vec<Alert> = Vec::new();

    let step = Duration::from_secs(10);
    for i in 1..=90u32 {
        let now = start.saturating_add(step * i);
        clock.set(now);
        if i == 30 {
            let mut d = deployment.lock().map_err(|_| "deployment state poisoned")?;
            d.previous = d.serving;
            d.serving = 4;
            println!("{} deploy: bikes v4 replaces v3", clock_text(now, start));
        }
        // 200 requests served by whatever version is deployed now.
        let (p_error, mean, sd) = deployment
            .lock()
            .map_err(|_| "deployment state poisoned")?
            .behaviour();
        let mut failed = 0;
        for _ in 0..200 {
            if rng.uniform() < p_error {
                failed += 1;
            }
            latency_window.record(now, rng.normal(mean, sd).max(1.0))?;
        }
        error_window.record(now, failed, 200)?;

        let mut alerts = Vec::new();
        if let Some(rate) = error_window.rate(now) {
            alerts.extend(errors.observe(now, rate.ratio)?);
        }
        if let Some(p99) = latency_window.quantile(now, 0.99)? {
            alerts.extend(latency.observe(now, p99)?);
        }
        if alerts.is_empty() {
            continue;
        }
        for a in &alerts {
            println!(
                "{} {} {} {}: {}",
                clock_text(now, start),
                a.name,
                a.status,
                a.severity,
                a.title()
            );
        }
        last.extend(alerts.iter().cloned());
        router.send_batch(alerts).await?;
        // Run the timers that are due (a group whose group_wait has passed), then
        // send the rest now and wait for delivery and the triggered actions, rather
        // than after group_wait.
        router.tick().await?;
        if !router.flush(Duration::from_secs(10)).await? {
            return Err("delivery or an action did not finish within 10 s".into());
        }
    }
    let notifications = router.stats().notifications;
    router.shutdown(Duration::from_secs(5)).await;

    let records = router
        .store()
        .query_actions(&ActionQuery::default())
        .await?;
    println!("audit trail ({} record(s)):", records.len());
    for line in records_text(&records, start) {
        println!("  {line}");
    }

    // Check that everything went as the demonstration says.
    let critical = last
        .iter()
        .any(|a| a.name == "HighErrorRate" && a.severity == Severity::Critical);
    let ran = records
        .iter()
        .filter(|r| matches!(r.outcome, ActionOutcome::Succeeded { .. }))
        .count();
    let dry = records
        .iter()
        .filter(|r| r.outcome == ActionOutcome::DryRun)
        .count();
    let failed = records
        .iter()
        .filter(|r| matches!(r.outcome, ActionOutcome::Failed { .. }))
        .count();
    let serving = deployment
        .lock()
        .map_err(|_| "deployment state poisoned")?
        .serving;
    let still_firing = |name: &str| {
        last.iter()
            .rev()
            .find(|a| a.name == name)
            .is_some_and(|a| a.status == Status::Firing)
    };
    let mut problems = Vec::new();
    if !critical {
        problems.push("HighErrorRate never turned critical".to_owned());
    }
    // Groups are per alert name here, so every change is one notification.
    if notifications != last.len() as u64 {
        problems.push(format!(
            "{notifications} notifications for {} alert changes",
            last.len()
        ));
    }
    if failed > 0 {
        problems.push(format!("{failed} rollback(s) failed"));
    }
    if execute {
        if ran == 0 || dry > 0 {
            problems.push(format!(
                "expected the rollback to run: ran {ran}, dry runs {dry}"
            ));
        }
        if serving != 3 {
            problems.push(format!("v{serving} serves after the rollback, expected v3"));
        }
        for name in ["HighErrorRate", "HighLatencyP99"] {
            if still_firing(name) {
                problems.push(format!("{name} still fires after the rollback"));
            }
        }
    } else {
        if dry == 0 || ran > 0 {
            problems.push(format!(
                "expected a dry run only: ran {ran}, dry runs {dry}"
            ));
        }
        if serving != 4 || !still_firing("HighErrorRate") {
            problems.push("a dry run must leave v4 serving and the alert firing".to_owned());
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; ").into());
    }
    if execute {
        println!("rollback executed: bikes v3 serves again and the alerts resolved");
    } else {
        println!("dry run: nothing was rolled back (pass --execute to run the action)");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut execute = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--execute" => execute = true,
            other => {
                eprintln!("serving_guard: unknown argument {other:?} (expected --execute)");
                return ExitCode::from(2);
            }
        }
    }
    match run(execute).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("serving_guard: {e}");
            ExitCode::FAILURE
        }
    }
}
