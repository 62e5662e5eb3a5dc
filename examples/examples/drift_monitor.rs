//! A monitoring job: today's model inputs against the training data, a dataset drift
//! alert with typed evidence, routed to the team's channels.
//!
//! What it shows:
//!
//! * `alert-conditions` reference profiles: the training data is profiled once
//!   ([`DatasetProfile::from_dataset`]), saved as JSON and loaded back, as a nightly
//!   job would keep it next to the model;
//! * dataset drift with the default per-column methods (Evidently's choice: normed
//!   Wasserstein for numbers, Jensen-Shannon for categories on references over 1,000
//!   rows) and a [`DriftRule`] that fires when at least half of the columns drift and
//!   resolves when they stop;
//! * the alert's evidence (`dataset_drift` share, threshold, sample size, one
//!   `column.method` score per drifted column) carried by an `alert-router`
//!   [`Router`] to two channels: the console and a JSON webhook (here a local fake
//!   receiver on 127.0.0.1, standing in for a pipeline or chat bridge).
//!
//! Three daily batches of bike-rental features are checked: Monday looks like the
//! training data (no alert), Tuesday is a heat wave (temperature, humidity and
//! weather drift: the alert fires), Wednesday is back to normal (it resolves). The
//! data is synthetic, from a seeded generator, so the output is the same on every
//! run.
//!
//! Run it:
//!
//! ```sh
//! cargo run -p examples --features conditions,router,webhook --example drift_monitor
//! ```
//!
//! What it needs: nothing (no network, no service; the webhook receiver is in the
//! process). It exits with status 1 when the drift verdicts, the alert's evidence or
//! its delivery to the webhook are not what the demonstration expects.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use alert_conditions::RuleIdentity;
use alert_conditions::drift::{Dataset, DatasetDrift, DatasetProfile, DriftOptions, DriftRule};
use alert_core::{ConsoleFormat, ConsoleNotifier, Source, Timestamp};
use alert_router::{ManualClock, Receiver, Route, Router};
use alert_webhook::fake::FakeWebhook;
use alert_webhook::{WebhookConfig, WebhookNotifier};
use serde_json::Value;

/// A small seeded generator (SplitMix64), so the data is the same on every run and
/// on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Normal(mean, sd), Box-Muller.
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// One of `choices`, with the given weights (summing to 1).
    fn pick<'a>(&mut self, choices: &[(&'a str, f64)]) -> &'a str {
        let mut u = self.uniform();
        for (c, w) in choices {
            if u < *w {
                return c;
            }
            u -= w;
        }
        choices[choices.len() - 1].0
    }
}

/// How a day of rentals looks.
struct Weather {
    temperature: (f64, f64),
    humidity: (f64, f64),
    sky: [(&'static str, f64); 4],
}

const USUAL: Weather = Weather {
    temperature: (17.0, 6.0),
    humidity: (62.0, 12.0),
    sky: [
        ("clear", 0.50),
        ("mist", 0.25),
        ("light_rain", 0.20),
        ("heavy_rain", 0.05),
    ],
};

const HEAT_WAVE: Weather = Weather {
    temperature: (31.0, 4.0),
    humidity: (38.0, 9.0),
    sky: [
        ("clear", 0.90),
        ("mist", 0.08),
        ("light_rain", 0.02),
        ("heavy_rain", 0.00),
    ],
};

/// `rows` rentals: the model's input features.
fn rentals(rng: &mut Rng, rows: usize, w: &Weather) -> Dataset {
    let (mut temp, mut hum, mut wind, mut hour, mut sky) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..rows {
        temp.push(rng.normal(w.temperature.0, w.temperature.1));
        hum.push(rng.normal(w.humidity.0, w.humidity.1).clamp(0.0, 100.0));
        wind.push(rng.normal(13.0, 5.0).abs());
        hour.push((rng.uniform() * 24.0).floor());
        sky.push(rng.pick(&w.sky));
    }
    Dataset::new()
        .numeric("temperature", temp)
        .numeric("humidity", hum)
        .numeric("windspeed", wind)
        .numeric("hour", hour)
        .categorical("weather", sky)
}

fn print_drift(day: &str, drift: &DatasetDrift) {
    println!(
        "{day}: {} of {} columns drifted (share {:.2}, dataset drift at {:.2}): {}",
        drift.drifted().count(),
        drift.columns.len(),
        drift.share,
        drift.drift_share,
        if drift.dataset_drift { "DRIFT" } else { "ok" }
    );
    for c in &drift.columns {
        println!(
            "  {:<12} {:<15} score {:.4}  threshold {:.2}  {}",
            c.column,
            c.method.as_str(),
            c.score,
            c.threshold,
            if c.drifted { "drifted" } else { "" }
        );
    }
}

/// Checks a webhook body: one alert named `DataDrift`, in `status`, with the drift
/// evidence naming every drifted column.
fn check_body(body: &Value, status: &str, columns: &[&str]) -> Result<(), String> {
    let alert = &body["alerts"][0];
    let evidence = &alert["evidence"];
    let problems: Vec<String> = [
        (
            alert["name"] == "DataDrift",
            "alert name is not DataDrift".to_owned(),
        ),
        (alert["status"] == status, format!("status is not {status}")),
        (
            alert["source"]["version"] == "3",
            "model version 3 is missing".to_owned(),
        ),
        (
            evidence["metric"] == "dataset_drift",
            "evidence.metric is not dataset_drift".to_owned(),
        ),
        (
            evidence["threshold"] == 0.5,
            "evidence.threshold is not the drift share 0.5".to_owned(),
        ),
        (
            evidence["sample_size"] == 2000,
            "evidence.sample_size is not 2000".to_owned(),
        ),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, why)| why)
    .chain(
        columns
            .iter()
            .filter(|c| evidence["details"][**c].as_f64().is_none())
            .map(|c| format!("evidence.details has no {c}")),
    )
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\nbody: {body}", problems.join("; ")))
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let mut rng = Rng(20_261_124);

    // Once, after training: profile the training data and keep the profile.
    let training = rentals(&mut rng, 5000, &USUAL);
    let saved = serde_json::to_string(&DatasetProfile::from_dataset(&training)?)?;
    println!(
        "reference profile: {} rows, {} KB as JSON",
        training.rows()?,
        saved.len() / 1024
    );

    // The monitoring job: load the profile, watch each day's inputs.
    let profile: DatasetProfile = serde_json::from_str(&saved)?;
    let identity = RuleIdentity::new("DataDrift")
        .label("model", "bikes")
        .annotation("runbook_url", "https://runbooks.example/bikes/drift")
        .source(Source::model("bikes").version("3").environment("prod"));
    let mut rule = DriftRule::new(identity, profile, DriftOptions::default());

    // Where alerts go: the console and a JSON webhook (a local fake receiver here).
    let sink = FakeWebhook::start().await?;
    let webhook = WebhookNotifier::new(WebhookConfig::new(format!("{}/hooks/ml", sink.url())))?;
    // The router runs on the job's clock (the day being checked), and the job tells
    // it when to send (`flush`) instead of running timers in the background.
    let monday: Timestamp = "2026-11-23T06:00:00Z".parse()?;
    let clock = Arc::new(ManualClock::new(monday));
    let router = Router::builder()
        .clock(clock.clone())
        .manual_ticks()
        .receiver(
            Receiver::new("ml-team")
                .channel(
                    ConsoleNotifier::stdout("drift_monitor").with_format(ConsoleFormat::Detailed),
                )
                .channel(webhook),
        )
        .route(Route::to("ml-team").group_by(["alertname", "model"]))
        .build()
        .await?;

    let day = Duration::from_secs(86_400);
    let days = [
        ("Monday", &USUAL, false),
        ("Tuesday", &HEAT_WAVE, true),
        ("Wednesday", &USUAL, false),
    ];
    for (i, (name, weather, expect_drift)) in days.into_iter().enumerate() {
        let batch = rentals(&mut rng, 2000, weather);
        let now = monday.saturating_add(day * i as u32);
        clock.set(now);
        let (drift, alert) = rule.evaluate(now, &batch)?;
        print_drift(name, &drift);
        if drift.dataset_drift != expect_drift {
            return Err(format!("{name}: expected dataset drift = {expect_drift}").into());
        }
        if let Some(alert) = alert {
            println!("  -> {} alert: {}", alert.status, alert.title());
            for (k, v) in alert.evidence.fields() {
                println!("     {k}: {v}");
            }
            router.send(alert).await?;
            // A batch job sends now instead of waiting for group_wait: run the timers
            // that are due, then flush the rest and wait for delivery.
            router.tick().await?;
            if !router.flush(Duration::from_secs(10)).await? {
                return Err("delivery did not finish within 10 s".into());
            }
        }
    }
    router.shutdown(Duration::from_secs(5)).await;

    // What the webhook receiver got: the firing alert, then its resolution.
    let requests = sink.recorded();
    if requests.len() != 2 {
        return Err(format!(
            "the webhook received {} notifications, expected 2 (firing, resolved)",
            requests.len()
        )
        .into());
    }
    let drifted = [
        "temperature.wasserstein",
        "humidity.wasserstein",
        "weather.jensen_shannon",
    ];
    check_body(&requests[0].json()?, "firing", &drifted)?;
    check_body(&requests[1].json()?, "resolved", &[])?;
    println!("webhook: received the firing alert with its evidence, then the resolution");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drift_monitor: {e}");
            ExitCode::FAILURE
        }
    }
}
