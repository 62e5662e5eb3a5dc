//! Plugin authoring: a complete channel for a made-up HTTP service, Beacon, written
//! against `alert-core` alone and checked by `alert-testkit`'s conformance suite.
//!
//! What it shows:
//!
//! * `channel.rs`, the whole channel in under 150 lines (its doc comment gives the
//!   count): a `Deserialize` config with the key held as a `Secret`, construction
//!   that validates eagerly, a public severity mapping, rendering and fitting to
//!   Beacon's limits by structure (`alert_core::render`, `alert_core::fit`), errors
//!   classified for retry by `alert_core::http::classify_status` (with Beacon's
//!   error codes and `Retry-After`), receipts carrying Beacon's page id, and
//!   resolutions that update the page they follow;
//! * `fake.rs`, a local fake of Beacon (axum on 127.0.0.1) and the conformance
//!   harness for it: every alert of the testkit's edge-case corpus delivered within
//!   the limits, resolutions, every fault classified, no secret in any output.
//!
//! The program sends an alert and its resolution, shows the page, then runs the
//! conformance suite and prints its report. The same suite runs as a test in CI
//! (`examples/tests/custom_channel.rs`).
//!
//! Run it:
//!
//! ```sh
//! cargo run -p examples --features testkit --example custom_channel
//! cargo test -p examples --features testkit --test custom_channel
//! ```
//!
//! What it needs: nothing (Beacon does not exist; its fake runs in the process). It
//! exits with status 1 when a send fails or the conformance suite reports a failure
//! or a check it could not make.

#![allow(clippy::print_stdout, clippy::print_stderr)]

// `pub` items as they would be in the channel's own crate.
#[allow(unreachable_pub)]
mod channel;
#[allow(unreachable_pub)]
mod fake;

use std::error::Error;
use std::process::ExitCode;

use alert_core::{Alert, Evidence, Notifier, Severity, Source, Timestamp};
use alert_testkit::conformance;

use crate::fake::BeaconHarness;

async fn run() -> Result<(), Box<dyn Error>> {
    let harness = BeaconHarness::start().await?;
    let beacon = &harness.notifier;
    println!("Beacon fake at {}", harness.fake.url());

    let alert = Alert::new(Severity::Critical, "ModelDown")
        .with_summary("Scoring service answers 503")
        .with_message("12% of requests failed over the last 5 minutes")
        .with_label("service", "scoring")
        .with_runbook("https://runbooks.example/scoring/down")
        .with_evidence(
            Evidence::metric("error_rate")
                .observed(0.12)
                .threshold(0.05),
        )
        .with_source(Source::model("bikes").version("4").environment("prod"));
    let receipt = beacon.notify(&alert).await?;
    let id = receipt.id.clone().ok_or("Beacon gave no page id")?;
    println!("paged: {id}");
    let resolved = alert.resolved_at(Timestamp::from_unix_seconds(1_795_500_000).ok_or("time")?);
    let again = beacon.update(&resolved, &receipt).await?;
    let page = harness.fake.pages().remove(&id).ok_or("the page is gone")?;
    println!(
        "resolved: {} is now {}: {}",
        again.id.unwrap_or_default(),
        page["state"],
        page["title"]
    );
    if page["state"] != "resolved" || page["urgency"] != "page" {
        return Err(format!("the page does not show the resolution: {page}").into());
    }

    // The conformance suite, against a fresh fake.
    let report = conformance::run(&BeaconHarness::start().await?).await;
    println!(
        "conformance: {} sends, {} failures, {} skipped",
        report.sends,
        report.failures.len(),
        report.skipped.len()
    );
    for line in report.failures.iter().chain(&report.skipped) {
        println!("  {line}");
    }
    if !report.passed() || !report.skipped.is_empty() {
        return Err("the channel does not pass the conformance suite".into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custom_channel: {e}");
            ExitCode::FAILURE
        }
    }
}
