//! The seed case: a training job tells its developer when it finishes or fails.
//!
//! Run with `cargo run -p examples --example training_job`. It writes to the console;
//! the desktop and Slack channels plug in the same way once their crates are built.

#![allow(clippy::print_stderr)]

use alert_core::{Alert, ConsoleNotifier, Evidence, Notifier, NotifierExt, Severity, Source};

fn train(epochs: u32) -> Result<(String, f64), String> {
    // Stands in for a real training loop.
    if epochs == 0 {
        return Err("no epochs configured".to_owned());
    }
    Ok(("3".to_owned(), 0.93))
}

fn main() {
    let notifier = ConsoleNotifier::stdout("Bikes");
    futures::executor::block_on(async {
        let outcome = match train(10) {
            Ok((version, accuracy)) => {
                // The seed's one-liner...
                notifier
                    .notify_text("Training Complete", &format!("Model version: {version}"))
                    .await
                    .and(
                        // ...and the same news with context.
                        notifier
                            .notify(
                                &Alert::new(Severity::Info, "TrainingComplete")
                                    .with_summary("Training complete")
                                    .with_evidence(Evidence::metric("accuracy").observed(accuracy))
                                    .with_source(Source::model("bikes").version(version)),
                            )
                            .await,
                    )
            }
            Err(e) => {
                notifier
                    .notify(
                        &Alert::new(Severity::Error, "TrainingFailed")
                            .with_summary("Training failed")
                            .with_message(e),
                    )
                    .await
            }
        };
        if let Err(e) = outcome {
            eprintln!("could not notify: {e}");
            std::process::exit(1);
        }
    });
}
