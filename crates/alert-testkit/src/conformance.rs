//! The conformance suite: one call that checks a channel keeps the [`Notifier`]
//! contract against its fake server.
//!
//! A channel crate implements [`Harness`] for its fake server in its own tests and
//! calls [`assert_conformance`]:
//!
//! ```text
//! #[tokio::test]
//! async fn conformance() {
//!     let harness = MyHarness::start().await;
//!     alert_testkit::conformance::assert_conformance(&harness).await;
//! }
//! ```
//!
//! The suite checks that:
//!
//! 1. every [`corpus`] alert and group is delivered (`Ok`), without a
//!    panic, and every payload the fake received is within the provider's limits
//!    (the harness says what the limits are, in [`Harness::check_payloads`]);
//! 2. a resolution sent with [`Notifier::update`] and the firing alert's receipt
//!    is delivered;
//! 3. each [`Fault`] the harness can inject gives an error with the right
//!    [`Retry`] classification (a 429's delay at least the advertised one), and
//!    permanent destination failures say so
//!    ([`disables_destination`](NotifyError::disables_destination));
//! 4. no secret appears in the notifier's `Debug` output, in any error's `Display`
//!    or `Debug` output (with its whole source chain), or in a receipt.

use std::fmt::Write as _;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use alert_core::{Notifier, NotifyError, Receipt, Retry, async_trait};
use futures::FutureExt;

use crate::corpus;

/// A failure the fake server can be told to produce on the next request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Rate limiting (HTTP 429) with this server-given delay.
    RateLimited {
        /// The advertised delay.
        retry_after: Duration,
    },
    /// A server-side failure (HTTP 500/502 or the provider's internal error).
    ServerError,
    /// The request was refused as invalid (HTTP 400 or the provider's payload error).
    BadRequest,
    /// The credentials were refused (HTTP 401/403).
    Unauthorized,
    /// The destination is gone (HTTP 404/410, unknown webhook).
    Gone,
}

impl Fault {
    /// Every fault, in the order the suite tries them.
    pub const ALL: [Fault; 5] = [
        Fault::RateLimited {
            retry_after: Duration::from_secs(7),
        },
        Fault::ServerError,
        Fault::BadRequest,
        Fault::Unauthorized,
        Fault::Gone,
    ];

    fn check(self, err: &NotifyError) -> Result<(), String> {
        let r = err.retryable();
        let ok = match self {
            Fault::RateLimited { retry_after } => matches!(r, Retry::After(d) if d >= retry_after),
            Fault::ServerError => matches!(r, Retry::Backoff | Retry::After(_)),
            Fault::BadRequest => r == Retry::Never && !err.disables_destination(),
            Fault::Unauthorized | Fault::Gone => r == Retry::Never && err.disables_destination(),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{self:?} gave {:?} (kind {}, disables_destination {}): {err}",
                r,
                err.kind(),
                err.disables_destination()
            ))
        }
    }
}

/// What a channel crate provides to run the suite against its fake server.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The notifier under test, configured to reach the fake server.
    fn notifier(&self) -> &dyn Notifier;

    /// Every secret the notifier was configured with (webhook URLs, tokens, keys,
    /// and the secret parts of them, such as a webhook token).
    fn secrets(&self) -> Vec<String>;

    /// Checks everything the fake received since the last call against the
    /// provider's limits and the channel's safety rules (escaping, mention
    /// suppression), and returns one line per violation. Also returns a violation if
    /// nothing was received when something should have been.
    async fn check_payloads(&self) -> Vec<String>;

    /// Makes the fake fail the next request with `fault`. Returns `false` when the
    /// channel has no way to meet this fault (the suite reports it as skipped).
    async fn inject(&self, fault: Fault) -> bool;
}

/// The outcome of a suite run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// How many sends were made.
    pub sends: usize,
    /// What went wrong, one line each.
    pub failures: Vec<String>,
    /// What could not be checked, one line each.
    pub skipped: Vec<String>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

fn secret_leaks(secrets: &[String], what: &str, text: &str) -> Option<String> {
    secrets
        .iter()
        .filter(|s| s.len() >= 4)
        .find(|s| text.contains(s.as_str()))
        .map(|_| format!("secret leaked in {what}"))
}

fn error_texts(err: &NotifyError) -> String {
    let mut s = format!("{err}\n{err:?}\n");
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = src {
        let _ = writeln!(s, "{e}\n{e:?}");
        src = e.source();
    }
    s
}

async fn guarded<F: Future<Output = alert_core::Result<Receipt>>>(
    fut: F,
) -> Result<alert_core::Result<Receipt>, String> {
    AssertUnwindSafe(fut).catch_unwind().await.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".to_owned())
    })
}

/// Runs the suite and returns its report (see [`assert_conformance`] to fail a test).
pub async fn run(h: &dyn Harness) -> Report {
    let mut report = Report::default();
    let secrets = h.secrets();
    let n = h.notifier();
    let check_secret = |report: &mut Report, what: &str, text: &str| {
        if let Some(f) = secret_leaks(&secrets, what, text) {
            report.failures.push(f);
        }
    };
    check_secret(
        &mut report,
        "the notifier's Debug output",
        &format!("{n:?}"),
    );
    check_secret(&mut report, "the notifier's name", n.name());

    // 1. The corpus, one by one and as groups.
    let _ = h.check_payloads().await; // start from a clean record
    for case in corpus::cases() {
        report.sends += 1;
        match guarded(n.notify(&case.alert)).await {
            Err(panic) => report
                .failures
                .push(format!("{}: panicked: {panic}", case.name)),
            Ok(Err(e)) => {
                report
                    .failures
                    .push(format!("{}: not delivered: {e}", case.name));
                check_secret(
                    &mut report,
                    &format!("{} error", case.name),
                    &error_texts(&e),
                );
            }
            Ok(Ok(r)) => check_secret(
                &mut report,
                &format!("{} receipt", case.name),
                &format!("{r:?}"),
            ),
        }
        for v in h.check_payloads().await {
            report.failures.push(format!("{}: {v}", case.name));
        }
    }
    for (name, group) in corpus::groups() {
        report.sends += 1;
        match guarded(n.notify_group(&group)).await {
            Err(panic) => report.failures.push(format!("{name}: panicked: {panic}")),
            Ok(Err(e)) => report.failures.push(format!("{name}: not delivered: {e}")),
            Ok(Ok(_)) => {}
        }
        for v in h.check_payloads().await {
            report.failures.push(format!("{name}: {v}"));
        }
    }

    // 2. Firing, then resolved through update() with the first receipt.
    let firing = corpus::cases()
        .into_iter()
        .find(|c| c.name == "severity-critical")
        .map(|c| c.alert)
        .expect("corpus has severity-critical");
    let resolved = firing
        .clone()
        .resolved_at(alert_core::Timestamp::from_unix_seconds(1_795_503_600).expect("in range"));
    report.sends += 2;
    match guarded(n.notify(&firing)).await {
        Ok(Ok(receipt)) => match guarded(n.update(&resolved, &receipt)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => report
                .failures
                .push(format!("update(resolved): not delivered: {e}")),
            Err(p) => report
                .failures
                .push(format!("update(resolved): panicked: {p}")),
        },
        Ok(Err(e)) => report
            .failures
            .push(format!("firing before update: not delivered: {e}")),
        Err(p) => report
            .failures
            .push(format!("firing before update: panicked: {p}")),
    }
    for v in h.check_payloads().await {
        report.failures.push(format!("update: {v}"));
    }

    // 3. Faults and their classification.
    for fault in Fault::ALL {
        if !h.inject(fault).await {
            report
                .skipped
                .push(format!("{fault:?}: the harness cannot inject it"));
            continue;
        }
        report.sends += 1;
        match guarded(n.notify(&firing)).await {
            Err(p) => report.failures.push(format!("{fault:?}: panicked: {p}")),
            Ok(Ok(_)) => report
                .failures
                .push(format!("{fault:?}: send succeeded, expected an error")),
            Ok(Err(e)) => {
                if let Err(f) = fault.check(&e) {
                    report.failures.push(f);
                }
                if e.to_string().trim().is_empty() {
                    report
                        .failures
                        .push(format!("{fault:?}: empty error message"));
                }
                check_secret(&mut report, &format!("{fault:?} error"), &error_texts(&e));
            }
        }
        let _ = h.check_payloads().await;
    }
    report
}

/// Runs the suite and panics with every failure when any check fails.
pub async fn assert_conformance(h: &dyn Harness) {
    let report = run(h).await;
    assert!(
        report.passed(),
        "conformance failed for `{}` ({} failures, {} sends):\n  {}\nskipped:\n  {}",
        h.notifier().name(),
        report.failures.len(),
        report.sends,
        report.failures.join("\n  "),
        report.skipped.join("\n  "),
    );
}
