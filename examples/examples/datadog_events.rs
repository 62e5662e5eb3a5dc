//! Alerts as Datadog events and service checks: an accuracy drop fires, then
//! resolves onto the same aggregation key.
//!
//! What it shows: `alert-datadog`'s [`DatadogNotifier`] with a host, tags and a
//! service check (`ml_alerts.model_accuracy`); the event's `alert_type` and tags
//! from the alert's severity, labels and model source; the receipt (event id and
//! link); the resolution as a `success` event linked to the firing one
//! (`related_event_id`; Datadog cannot edit events) and an `OK` check.
//!
//! Run it:
//!
//! ```sh
//! cargo run -p examples --features datadog --example datadog_events
//! ```
//!
//! What it needs:
//!
//! * nothing by default: without `DD_API_KEY` it sends to `alert-datadog`'s
//!   `FakeDatadog` (feature `fake`), a local fake of Datadog's intake API on
//!   127.0.0.1, and checks what the fake received;
//! * with `DD_API_KEY` set (and `DD_SITE` for a site other than `datadoghq.com`,
//!   `alert_datadog::ENV_*`), it posts **real events to your Datadog account** over
//!   the network, and prints their links.
//!
//! It exits with status 1 when a send fails (a refused key, a rejected event) or,
//! against the fake, when the events and checks received are not the expected ones.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::process::ExitCode;

use alert_core::{Alert, Evidence, Notifier, Severity, Source, Timestamp};
use alert_datadog::fake::FakeDatadog;
use alert_datadog::{DatadogConfig, DatadogNotifier, ENV_API_KEY, ServiceCheckConfig};
use serde_json::Value;

/// What the fake must have received: the firing event and check, then the resolved
/// ones, tied together.
fn check_fake(fake: &FakeDatadog, alert: &Alert, first_id: &str) -> Result<(), String> {
    let events = fake.events();
    let checks = fake.checks();
    let tags = |e: &Value| -> Vec<String> {
        e["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let fp = alert.fingerprint().to_string();
    let mut problems = Vec::new();
    if events.len() != 2 || checks.len() != 2 {
        problems.push(format!(
            "{} events and {} checks, expected 2 and 2",
            events.len(),
            checks.len()
        ));
    } else {
        let (fired, resolved) = (&events[0], &events[1]);
        for (what, ok) in [
            ("firing alert_type error", fired["alert_type"] == "error"),
            (
                "resolved alert_type success",
                resolved["alert_type"] == "success",
            ),
            (
                "aggregation_key = fingerprint",
                fired["aggregation_key"] == fp.as_str(),
            ),
            (
                "same aggregation_key",
                resolved["aggregation_key"] == fired["aggregation_key"],
            ),
            (
                "related_event_id = the firing event",
                resolved["related_event_id"].as_u64() == first_id.parse().ok(),
            ),
            ("host trainer-1", fired["host"] == "trainer-1"),
            (
                "check CRITICAL then OK",
                checks[0]["status"] == 2 && checks[1]["status"] == 0,
            ),
        ] {
            if !ok {
                problems.push(format!("expected {what}"));
            }
        }
        for tag in [
            "team:ml",
            "model:bikes",
            "model_version:3",
            "env:prod",
            "severity:error",
        ] {
            if !tags(fired).iter().any(|t| t == tag) {
                problems.push(format!("the firing event lacks the tag {tag}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nevents: {events:?}\nchecks: {checks:?}",
            problems.join("; ")
        ))
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let real = std::env::var(ENV_API_KEY).is_ok_and(|k| !k.trim().is_empty());
    let fake = if real {
        None
    } else {
        Some(FakeDatadog::start().await?)
    };
    let config = match &fake {
        None => {
            println!("{ENV_API_KEY} is set: sending to the real Datadog API");
            DatadogConfig::from_env()?
        }
        Some(f) => {
            println!(
                "{ENV_API_KEY} is not set: sending to a local fake of Datadog at {}",
                f.url()
            );
            f.config()
        }
    };
    let datadog = DatadogNotifier::new(
        config
            .with_host("trainer-1")
            .with_tag("team:ml")
            .with_service_check(ServiceCheckConfig::new("ml_alerts.model_accuracy")),
    )?;
    datadog.validate_api_key().await?;

    let alert = Alert::new(Severity::Error, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.81 (threshold 0.90)")
        .with_message("Nightly evaluation on 12,000 labelled rides.")
        .with_label("model", "bikes")
        .with_runbook("https://runbooks.example/bikes/accuracy")
        .with_evidence(
            Evidence::metric("accuracy")
                .observed(0.81)
                .threshold(0.90)
                .baseline(0.93)
                .sample_size(12_000),
        )
        .with_source(Source::model("bikes").version("3").environment("prod"));
    let fired = datadog.notify(&alert).await?;
    let id = fired.id.clone().ok_or("Datadog gave no event id")?;
    println!(
        "event {id}: {}",
        fired.url.as_deref().unwrap_or("(no link)")
    );

    let resolved = alert.clone().resolved_at(Timestamp::now());
    let done = datadog.update(&resolved, &fired).await?;
    println!(
        "resolution event {}: {}",
        done.id.as_deref().unwrap_or("?"),
        done.url.as_deref().unwrap_or("(no link)")
    );

    if let Some(fake) = &fake {
        check_fake(fake, &alert, &id)?;
        println!("fake Datadog: received both events and both service checks as expected");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("datadog_events: {e}");
            ExitCode::FAILURE
        }
    }
}
