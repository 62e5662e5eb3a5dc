//! The seed case: a training job tells its developer when it finishes (with the model
//! version) or fails (with the error).
//!
//! What it shows: the seed's `AlertsService(enable=True, app_name="Bikes", timeout=5)`
//! and its `notify(title, message)` as an `alert-desktop` notifier with the console
//! fallback, plus Slack when it is configured, behind the one-line
//! `notifier.notify_text(title, message)`; and the same news as a full alert with
//! typed evidence and the model version.
//!
//! The job runs twice so that both notifications show: once as it should go (model
//! version 3 is registered), once on a corrupted data shard (training fails, and the
//! error is what gets sent).
//!
//! Run it:
//!
//! ```sh
//! cargo run -p examples --features desktop,slack --example training_job
//! ```
//!
//! What it needs:
//!
//! * Nothing, on a headless machine (SSH, CI, a container): with no notification
//!   server the desktop channel prints the seed's console line,
//!   `[Bikes] Training Complete: Model version: 3`, on standard output.
//! * On a desktop (a freedesktop notification server such as GNOME Shell, KDE
//!   Plasma or dunst on Linux; macOS; Windows) the same alerts pop up.
//! * Slack, optionally: set `ALERT_SLACK_WEBHOOK_URL` (an incoming webhook), or
//!   `ALERT_SLACK_BOT_TOKEN` with `ALERT_SLACK_CHANNEL` (`alert_slack::ENV_*`). Then
//!   every notification also goes to Slack over the network.
//! * `ALERT_DESKTOP_ENABLE=false` turns the pop-ups off (the seed's advice for
//!   production; the console line stays), and `ALERT_DESKTOP_APP_NAME`,
//!   `ALERT_DESKTOP_TIMEOUT` override the other two settings.
//!
//! It exits with status 1 when a notification cannot be delivered on any configured
//! channel (for example a Slack webhook that was revoked), or when the job does not
//! end the way the demonstration expects.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use alert_core::{
    Alert, Evidence, Notifier, NotifierExt, NotifyError, Receipt, Result, Severity, Source,
    async_trait,
};
use alert_desktop::{DesktopConfig, DesktopNotifier, Fallback};
use alert_slack::{ENV_BOT_TOKEN, ENV_WEBHOOK_URL, SlackConfig, SlackNotifier};

/// The seed's `AlertsService`: the desktop (console fallback) and, when configured,
/// Slack. One `Notifier`, so the job calls it the way it called the Python service.
#[derive(Debug)]
struct AlertsService {
    channels: Vec<Box<dyn Notifier>>,
    said_fallback: AtomicBool,
}

impl AlertsService {
    /// `AlertsService(enable=True, app_name="Bikes", timeout=5)`, overridable through
    /// `ALERT_DESKTOP_*`; Slack from `ALERT_SLACK_*` when set.
    fn from_env() -> std::result::Result<AlertsService, Box<dyn Error>> {
        let desktop = DesktopConfig::new("Bikes")
            .with_enable(true)
            .with_timeout(5)
            .with_fallback(Fallback::Console) // headless: print "[Bikes] title: message"
            .with_env_from(|k| std::env::var(k).ok())?;
        let mut channels: Vec<Box<dyn Notifier>> = vec![Box::new(DesktopNotifier::new(desktop)?)];
        let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
        if set(ENV_WEBHOOK_URL) || set(ENV_BOT_TOKEN) {
            channels.push(Box::new(SlackNotifier::new(SlackConfig::from_env()?)?));
        }
        Ok(AlertsService {
            channels,
            said_fallback: AtomicBool::new(false),
        })
    }
}

#[async_trait]
impl Notifier for AlertsService {
    fn name(&self) -> &str {
        "alerts-service"
    }

    /// Sends to every channel; fails (with the first error) if any channel failed,
    /// after trying them all.
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        let mut first: Option<Receipt> = None;
        let mut failure: Option<NotifyError> = None;
        for channel in &self.channels {
            match channel.notify(alert).await {
                Ok(receipt) => {
                    if receipt.meta("fallback") == Some("console")
                        && !self.said_fallback.swap(true, Ordering::Relaxed)
                    {
                        eprintln!("  (no desktop notification server: printing on the console)");
                    }
                    first.get_or_insert(receipt);
                }
                Err(e) => {
                    eprintln!("  {} could not deliver: {e}", channel.name());
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(first.unwrap_or_else(|| Receipt::new(self.name()))),
        }
    }
}

/// Stands in for a real training loop: fails on a corrupted shard, otherwise
/// returns the registered model version and its validation accuracy.
fn train(shard: &str) -> std::result::Result<(String, f64), String> {
    if shard.ends_with(".corrupt") {
        return Err(format!(
            "epoch 3: cannot decode {shard}: unexpected end of file at byte 1048576"
        ));
    }
    Ok(("3".to_owned(), 0.93))
}

/// One run of the job. Returns whether training succeeded; errors only when the
/// notification could not be delivered.
async fn run_job(notifier: &impl Notifier, shard: &str) -> Result<bool> {
    match train(shard) {
        Ok((version, accuracy)) => {
            // The seed's one-liner:
            // self.alerts_service.notify(title="Training Complete", message=f"Model version: {v}")
            notifier
                .notify_text("Training Complete", &format!("Model version: {version}"))
                .await?;
            // The same news with context, for channels that show evidence (Slack).
            notifier
                .notify(
                    &Alert::new(Severity::Info, "TrainingComplete")
                        .with_summary("Training complete")
                        .with_message(format!("Model version: {version}"))
                        .with_label("model", "bikes")
                        .with_evidence(Evidence::metric("accuracy").observed(accuracy))
                        .with_source(Source::model("bikes").version(version)),
                )
                .await?;
            Ok(true)
        }
        Err(error) => {
            notifier
                .notify(
                    &Alert::new(Severity::Error, "TrainingFailed")
                        .with_summary("Training Failed")
                        .with_message(error)
                        .with_label("model", "bikes")
                        .with_source(Source::model("bikes")),
                )
                .await?;
            Ok(false)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let notifier = match AlertsService::from_env() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("training_job: bad alerting configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let names: Vec<&str> = notifier.channels.iter().map(|c| c.name()).collect();
    eprintln!("training_job: notifying through {}", names.join(" + "));

    let mut ok = true;
    for (shard, expect_success) in [
        ("data/bikes-2026-11.parquet", true),
        ("data/bikes-2026-11.parquet.corrupt", false),
    ] {
        eprintln!("training_job: training on {shard}");
        match run_job(&notifier, shard).await {
            Ok(succeeded) if succeeded == expect_success => {}
            Ok(succeeded) => {
                eprintln!("training_job: expected success={expect_success}, got {succeeded}");
                ok = false;
            }
            Err(e) => {
                eprintln!("training_job: could not notify: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
