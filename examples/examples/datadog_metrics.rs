//! ML metrics to Datadog, so what the alerts are about can be graphed next to them:
//! accuracy per model version, drift scores per feature, prediction counts and
//! serving latency.
//!
//! What it shows: `alert-datadog`'s [`DatadogMetrics`] submitting gauges and counts
//! with tags and units through Datadog's v2 series API (gzip-compressed, split to
//! Datadog's size limits), and its [`MetricsReport`]: requests, series, points, bytes,
//! and values that cannot be sent (a NaN from an empty evaluation window is left out
//! and counted, never sent as a bogus number).
//!
//! Run it:
//!
//! ```sh
//! cargo run -p examples --features datadog --example datadog_metrics
//! ```
//!
//! What it needs:
//!
//! * nothing by default: without `DD_API_KEY` it submits to `alert-datadog`'s
//!   `FakeDatadog` (feature `fake`) on 127.0.0.1 and checks the decoded series;
//! * with `DD_API_KEY` set (and `DD_SITE` when not `datadoghq.com`), it submits
//!   **real metrics to your Datadog account** over the network.
//!
//! It exits with status 1 when the submission fails or, against the fake, when the
//! series received are not the ones sent.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use alert_datadog::fake::FakeDatadog;
use alert_datadog::{DatadogConfig, DatadogMetrics, ENV_API_KEY, MetricsReport, Series};
use serde_json::Value;

/// What a nightly evaluation job measured.
fn measurements() -> Vec<Series> {
    let hour = Duration::from_secs(3600);
    let mut series = vec![
        Series::gauge("ml.accuracy", 0.81)
            .with_tag("model", "bikes")
            .with_tag("model_version", "3"),
        Series::gauge("ml.accuracy", 0.88)
            .with_tag("model", "bikes")
            .with_tag("model_version", "4"),
        Series::count("ml.predictions", 12_000.0, hour).with_tag("model", "bikes"),
        Series::gauge("ml.latency.p99", 0.412)
            .with_tag("service", "scoring")
            .with_unit("second"),
        // No labelled rows in this window: the metric is undefined, not zero.
        Series::gauge("ml.recall", f64::NAN).with_tag("model", "bikes"),
    ];
    for (feature, score) in [
        ("temperature", 2.28),
        ("humidity", 1.98),
        ("windspeed", 0.02),
    ] {
        series.push(
            Series::gauge("ml.drift.wasserstein", score)
                .with_tag("model", "bikes")
                .with_tag("feature", feature),
        );
    }
    series
}

/// What the fake must have decoded: every finite series, with its value and tags.
fn check_fake(fake: &FakeDatadog, report: &MetricsReport) -> Result<(), String> {
    let got = fake.series();
    let find = |metric: &str, tag: &str| -> Option<&Value> {
        got.iter().find(|s| {
            s["metric"] == metric
                && s["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|v| v == tag))
        })
    };
    let mut problems = Vec::new();
    for (metric, tag, value) in [
        ("ml.accuracy", "model_version:3", 0.81),
        ("ml.accuracy", "model_version:4", 0.88),
        ("ml.predictions", "model:bikes", 12_000.0),
        ("ml.latency.p99", "service:scoring", 0.412),
        ("ml.drift.wasserstein", "feature:temperature", 2.28),
        ("ml.drift.wasserstein", "feature:windspeed", 0.02),
    ] {
        match find(metric, tag) {
            Some(s) if s["points"][0]["value"] == value => {}
            Some(s) => problems.push(format!("{metric} {tag}: got {}", s["points"])),
            None => problems.push(format!("{metric} {tag} was not received")),
        }
    }
    if find("ml.recall", "model:bikes").is_some() {
        problems.push("ml.recall (NaN) was sent".to_owned());
    }
    if got.len() != 7 || report.series != 7 || report.skipped_points != 1 {
        problems.push(format!(
            "expected 7 series received and sent, 1 point skipped; got {} received, {} sent, {} skipped",
            got.len(),
            report.series,
            report.skipped_points
        ));
    }
    let gzip = fake
        .series_requests()
        .iter()
        .all(|r| r.content_encoding.as_deref() == Some("gzip"));
    if !gzip {
        problems.push("a series request was not gzip-compressed".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
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
            println!("{ENV_API_KEY} is set: submitting to the real Datadog API");
            DatadogConfig::from_env()?
        }
        Some(f) => {
            println!(
                "{ENV_API_KEY} is not set: submitting to a local fake of Datadog at {}",
                f.url()
            );
            f.config()
        }
    };
    let metrics = DatadogMetrics::new(&config.with_host("trainer-1"))?;
    let report = metrics.submit(measurements()).await.map_err(|e| {
        format!(
            "submission stopped: {} ({} series not sent; retry: {:?})",
            e.error,
            e.unsent.len(),
            e.retryable()
        )
    })?;
    println!(
        "submitted {} series ({} points) in {} request(s), {} bytes compressed; {} point(s) skipped",
        report.series,
        report.points,
        report.requests,
        report.compressed_bytes,
        report.skipped_points
    );
    for w in &report.warnings {
        println!("  warning: {w}");
    }
    if let Some(fake) = &fake {
        check_fake(fake, &report)?;
        println!("fake Datadog: decoded every series with its value and tags");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("datadog_metrics: {e}");
            ExitCode::FAILURE
        }
    }
}
