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
//! 1. the harness reports an empty reception: [`Harness::check_payloads`] returns a
//!    line when the fake received nothing (otherwise a channel that sends nothing
//!    would pass every payload check);
//! 2. every [`corpus`] alert and group is delivered (`Ok`), without a
//!    panic, and every payload the fake received is within the provider's limits
//!    (the harness says what the limits are, in [`Harness::check_payloads`]);
//! 3. an empty group sends nothing and succeeds with a receipt whose meta
//!    `skipped` is [`alert_core::EMPTY_GROUP`]; a resolution sent with
//!    [`Notifier::update`] and the firing alert's receipt is delivered;
//! 4. each [`Fault`] gives an error with the right [`Retry`] classification (a
//!    429's delay at least the advertised one), and permanent destination failures
//!    say so ([`disables_destination`](NotifyError::disables_destination)). A
//!    required fault ([`Fault::ALL`]) the harness cannot inject **fails** the suite
//!    unless the caller declares it with a reason ([`Suite::skip`]); an optional
//!    one ([`Fault::OPTIONAL`]) is listed in [`Report::untried`];
//! 5. no secret appears in the notifier's `Debug` output or name, in any error's
//!    `Display` or `Debug` output (with its whole source chain) from `notify`,
//!    `notify_group` or `update`, or in a receipt.
//!
//! A channel that cannot meet a fault at all (a desktop bus has no "retry after")
//! says why:
//!
//! ```text
//! Suite::new(&harness)
//!     .skip(Fault::RATE_LIMITED, "D-Bus has no retry-after answer")
//!     .assert()
//!     .await;
//! ```

use std::fmt::{self, Write as _};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use alert_core::{Notifier, NotifyError, Receipt, Retry, async_trait};
use futures::FutureExt;

use crate::corpus;

/// A failure the fake server can be told to produce on the next request.
///
/// [`Suite::skip`] matches faults by kind: any `RateLimited` delay matches
/// [`Fault::RATE_LIMITED`].
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
    /// No answer within the notifier's own timeout: the fake holds the request
    /// longer than the timeout the harness configured the notifier with (for
    /// `FakeWebhook`, `Reply::ok().with_delay(..)`). Expected: retryable, not
    /// disabling. Optional.
    Timeout,
    /// The connection closes once the request is sent, with no answer (for the
    /// testkit fakes, `Reply::reset()` or `fake::reset_response()`). Expected:
    /// retryable, not disabling. Optional.
    ConnectionReset,
}

impl Fault {
    /// `RateLimited` with the delay the suite uses (7 s); any `RateLimited` matches
    /// it in [`Suite::skip`].
    pub const RATE_LIMITED: Fault = Fault::RateLimited {
        retry_after: Duration::from_secs(7),
    };

    /// The required faults, in the order the suite tries them: each must be
    /// injected, or declared with [`Suite::skip`].
    pub const ALL: [Fault; 5] = [
        Fault::RATE_LIMITED,
        Fault::ServerError,
        Fault::BadRequest,
        Fault::Unauthorized,
        Fault::Gone,
    ];

    /// Faults the suite tries after [`Fault::ALL`] when the harness can inject them;
    /// a harness that cannot is listed in [`Report::untried`], not failed. (They may
    /// become required in a later release.)
    pub const OPTIONAL: [Fault; 2] = [Fault::Timeout, Fault::ConnectionReset];

    /// Whether `self` and `other` are the same kind of fault (whatever the delay).
    pub fn same_kind(self, other: Fault) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }

    fn check(self, err: &NotifyError) -> Result<(), String> {
        let r = err.retryable();
        let ok = match self {
            Fault::RateLimited { retry_after } => matches!(r, Retry::After(d) if d >= retry_after),
            Fault::ServerError => matches!(r, Retry::Backoff | Retry::After(_)),
            Fault::BadRequest => r == Retry::Never && !err.disables_destination(),
            Fault::Unauthorized | Fault::Gone => r == Retry::Never && err.disables_destination(),
            Fault::Timeout | Fault::ConnectionReset => {
                matches!(r, Retry::Backoff | Retry::After(_)) && !err.disables_destination()
            }
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
    /// suppression), and returns one line per violation.
    ///
    /// It **must** return at least one line when the fake received nothing since
    /// the last call (unless the harness knows nothing was due, e.g. an alert the
    /// channel is configured not to publish); the suite checks this once by calling
    /// it twice with nothing sent in between.
    async fn check_payloads(&self) -> Vec<String>;

    /// Makes the fake fail the next request with `fault`. Returns `false` when the
    /// channel has no way to meet this fault: for a required fault that fails the
    /// suite unless the caller declared it with [`Suite::skip`].
    async fn inject(&self, fault: Fault) -> bool;
}

/// The outcome of a suite run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// How many sends were made.
    pub sends: usize,
    /// What went wrong, one line each.
    pub failures: Vec<String>,
    /// The faults the caller declared skipped ([`Suite::skip`]), with the reasons.
    pub skipped: Vec<String>,
    /// Optional faults ([`Fault::OPTIONAL`]) the harness could not inject.
    pub untried: Vec<String>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// A suite run with its declared exceptions; [`run`] and [`assert_conformance`]
/// are `Suite::new(h).run()` and `Suite::new(h).assert()`.
pub struct Suite<'a> {
    harness: &'a dyn Harness,
    skips: Vec<(Fault, String)>,
}

impl fmt::Debug for Suite<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suite")
            .field("notifier", &self.harness.notifier().name())
            .field("skips", &self.skips)
            .finish()
    }
}

impl<'a> Suite<'a> {
    /// The suite for `harness`, with no exception.
    pub fn new(harness: &'a dyn Harness) -> Suite<'a> {
        Suite {
            harness,
            skips: Vec::new(),
        }
    }

    /// Declares that the channel cannot meet `fault` (matched by kind), and why:
    /// the suite does not try it and lists it, with the reason, in
    /// [`Report::skipped`]. An empty reason is a failure.
    pub fn skip(mut self, fault: Fault, reason: impl Into<String>) -> Suite<'a> {
        self.skips.push((fault, reason.into()));
        self
    }

    fn declared(&self, fault: Fault) -> Option<&str> {
        self.skips
            .iter()
            .find(|(f, _)| f.same_kind(fault))
            .map(|(_, r)| r.as_str())
    }

    /// Runs the suite and returns its report.
    pub async fn run(&self) -> Report {
        run_suite(self).await
    }

    /// Runs the suite and panics with every failure when any check fails.
    pub async fn assert(&self) {
        let report = self.run().await;
        assert!(
            report.passed(),
            "conformance failed for `{}` ({} failures, {} sends):\n  {}\nskipped:\n  {}\nuntried:\n  {}",
            self.harness.notifier().name(),
            report.failures.len(),
            report.sends,
            report.failures.join("\n  "),
            report.skipped.join("\n  "),
            report.untried.join("\n  "),
        );
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

/// Runs the suite with no declared skip and returns its report (see
/// [`assert_conformance`] to fail a test, and [`Suite`] to declare skips).
pub async fn run(h: &dyn Harness) -> Report {
    Suite::new(h).run().await
}

async fn run_suite(suite: &Suite<'_>) -> Report {
    let h = suite.harness;
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
    for (fault, reason) in &suite.skips {
        if reason.trim().is_empty() {
            report
                .failures
                .push(format!("{fault:?}: declared skipped without a reason"));
        }
    }

    // 1. The harness must say when nothing arrived.
    let _ = h.check_payloads().await; // start from a clean record
    if h.check_payloads().await.is_empty() {
        report.failures.push(
            "check_payloads reported nothing although the fake received nothing: it must \
             say so (e.g. \"nothing was sent\"), or a channel that sends nothing passes"
                .to_owned(),
        );
    }

    // 2. The corpus, one by one and as groups.
    for case in corpus::cases() {
        report.sends += 1;
        let outcome = guarded(n.notify(&case.alert)).await;
        record(&mut report, &check_secret, case.name, outcome);
        for v in h.check_payloads().await {
            report.failures.push(format!("{}: {v}", case.name));
        }
    }
    for (name, group) in corpus::groups() {
        report.sends += 1;
        let outcome = guarded(n.notify_group(&group)).await;
        record(&mut report, &check_secret, name, outcome);
        for v in h.check_payloads().await {
            report.failures.push(format!("{name}: {v}"));
        }
    }

    // An empty group sends nothing and says so in its receipt (not counted in
    // `sends`: nothing is due at the fake).
    match guarded(n.notify_group(&[])).await {
        Ok(Ok(r)) => {
            if r.meta("skipped") != Some(alert_core::EMPTY_GROUP) {
                report.failures.push(format!(
                    "empty group: the receipt's meta `skipped` is {:?}, expected {:?}",
                    r.meta("skipped"),
                    alert_core::EMPTY_GROUP
                ));
            }
            check_secret(&mut report, "the empty group's receipt", &format!("{r:?}"));
        }
        Ok(Err(e)) => report.failures.push(format!(
            "empty group: failed ({e}) instead of sending nothing"
        )),
        Err(p) => report.failures.push(format!("empty group: panicked: {p}")),
    }
    // Start the next checks from a clean record. What the fake received here is not
    // judged: a harness that knows nothing was due may report nothing.
    let _ = h.check_payloads().await;

    // 3. Firing, then resolved through update() with the first receipt.
    let firing = corpus::cases()
        .into_iter()
        .find(|c| c.name == "severity-critical")
        .map(|c| c.alert)
        .expect("corpus has severity-critical");
    let resolved = firing
        .clone()
        .resolved_at(alert_core::Timestamp::from_unix_seconds(1_795_503_600).expect("in range"));
    report.sends += 2;
    let outcome = guarded(n.notify(&firing)).await;
    let receipt = match &outcome {
        Ok(Ok(r)) => Some(r.clone()),
        _ => None,
    };
    record(&mut report, &check_secret, "firing before update", outcome);
    if let Some(receipt) = receipt {
        let outcome = guarded(n.update(&resolved, &receipt)).await;
        record(&mut report, &check_secret, "update(resolved)", outcome);
    }
    for v in h.check_payloads().await {
        report.failures.push(format!("update: {v}"));
    }

    // 4. Faults and their classification.
    let faults = Fault::ALL
        .into_iter()
        .map(|f| (f, true))
        .chain(Fault::OPTIONAL.into_iter().map(|f| (f, false)));
    for (fault, required) in faults {
        if let Some(reason) = suite.declared(fault) {
            report.skipped.push(format!("{fault:?}: {reason}"));
            continue;
        }
        if !h.inject(fault).await {
            if required {
                report.failures.push(format!(
                    "{fault:?}: the harness cannot inject it; make the fake produce it, or \
                     declare it with Suite::skip(fault, reason) if the channel truly cannot \
                     meet it"
                ));
            } else {
                report.untried.push(format!(
                    "{fault:?}: the harness cannot inject it (optional)"
                ));
            }
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

/// Records the outcome of a send that should succeed: a panic or an error is a
/// failure, and neither an error nor a receipt may carry a secret.
fn record(
    report: &mut Report,
    check_secret: &dyn Fn(&mut Report, &str, &str),
    what: &str,
    outcome: Result<alert_core::Result<Receipt>, String>,
) {
    match outcome {
        Err(panic) => report.failures.push(format!("{what}: panicked: {panic}")),
        Ok(Err(e)) => {
            report.failures.push(format!("{what}: not delivered: {e}"));
            check_secret(report, &format!("{what} error"), &error_texts(&e));
        }
        Ok(Ok(r)) => check_secret(report, &format!("{what} receipt"), &format!("{r:?}")),
    }
}

/// Runs the suite with no declared skip and panics with every failure when any check
/// fails (see [`Suite`] to declare skips).
pub async fn assert_conformance(h: &dyn Harness) {
    Suite::new(h).assert().await;
}
