//! The conformance suite must pass a correct channel and fail broken ones.

use std::time::Duration;

use alert_core::fit::Measure;
use alert_core::render::{Style, render, render_group};
use alert_core::{Alert, Notifier, NotifyError, Receipt, Result, Secret, async_trait, http};
use alert_testkit::conformance::{Fault, Harness, Suite, assert_conformance, run};
use alert_testkit::corpus;
use alert_testkit::corpus::contains_injection;
use alert_testkit::fake::{FakeWebhook, Reply};

const LIMIT: usize = 4000;

/// A minimal, correct HTTP channel: JSON `{"text": …}` to a secret URL.
#[derive(Debug)]
struct MiniChannel {
    url: Secret,
    client: reqwest::Client,
    /// Misbehaviours for the negative tests.
    leak_url_in_errors: bool,
    ignore_retry_after: bool,
    no_fitting: bool,
    /// Pretends to deliver without sending anything.
    sends_nothing: bool,
    /// Puts the URL in the errors of `notify_group` and `update` only.
    leak_in_groups: bool,
    /// Calls a dropped connection a dead destination.
    disables_on_reset: bool,
    /// Posts a message for an empty group.
    sends_for_empty: bool,
}

impl MiniChannel {
    async fn post(&self, text: String) -> Result<Receipt> {
        if self.sends_nothing {
            return Ok(Receipt::new("mini"));
        }
        let resp = self
            .client
            .post(self.url.expose())
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    NotifyError::Timeout {
                        channel: "mini",
                        after: Duration::from_secs(5),
                    }
                } else if self.disables_on_reset {
                    NotifyError::Gone {
                        channel: "mini",
                        status: None,
                        message: "connection dropped".into(),
                    }
                } else {
                    NotifyError::transport("mini", e.without_url())
                }
            })?;
        let status = resp.status().as_u16();
        let ra = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| http::parse_retry_after(v, alert_core::Timestamp::now()));
        let ra = if self.ignore_retry_after { None } else { ra };
        let body = resp.text().await.unwrap_or_default();
        match http::classify_status("mini", status, ra, &body) {
            None => Ok(Receipt::new("mini")),
            Some(NotifyError::Rejected {
                channel,
                status,
                message,
            }) if self.leak_url_in_errors => Err(NotifyError::Rejected {
                channel,
                status,
                message: format!("{message} from {}", self.url.expose()),
            }),
            Some(e) => Err(e),
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "@\u{200b}")
}

#[async_trait]
impl Notifier for MiniChannel {
    fn name(&self) -> &str {
        "mini"
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        let text = if self.no_fitting {
            alert_core::render::render_full(alert, Style::Text)
        } else {
            render(alert, Style::Text, LIMIT, Measure::Chars).text
        };
        self.post(escape(&text)).await
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        if alerts.is_empty() && !self.sends_for_empty {
            return Ok(Receipt::new("mini").with_meta("skipped", alert_core::EMPTY_GROUP));
        }
        if self.leak_in_groups {
            return Err(self.leaky("group"));
        }
        self.post(escape(
            &render_group(alerts, Style::Text, LIMIT, Measure::Chars, 10).text,
        ))
        .await
    }
    async fn update(&self, alert: &Alert, _previous: &Receipt) -> Result<Receipt> {
        if self.leak_in_groups {
            return Err(self.leaky("update"));
        }
        self.notify(alert).await
    }
}

impl MiniChannel {
    fn leaky(&self, what: &str) -> NotifyError {
        NotifyError::Server {
            channel: "mini",
            status: Some(500),
            message: format!("{what} failed at {}", self.url.expose()),
            retry_after: None,
        }
    }
}

struct MiniHarness {
    hook: FakeWebhook,
    notifier: MiniChannel,
    /// A broken harness: says nothing when nothing arrived.
    silent_when_empty: bool,
}

impl MiniHarness {
    async fn start(f: impl FnOnce(&mut MiniChannel)) -> MiniHarness {
        let hook = FakeWebhook::start().await.unwrap();
        let mut notifier = MiniChannel {
            url: Secret::new(format!("{}/hooks/T000/B000/s3cr3t-t0ken", hook.url())),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            leak_url_in_errors: false,
            ignore_retry_after: false,
            no_fitting: false,
            sends_nothing: false,
            sends_for_empty: false,
            leak_in_groups: false,
            disables_on_reset: false,
        };
        f(&mut notifier);
        MiniHarness {
            hook,
            notifier,
            silent_when_empty: false,
        }
    }
}

#[async_trait]
impl Harness for MiniHarness {
    fn notifier(&self) -> &dyn Notifier {
        &self.notifier
    }
    fn secrets(&self) -> Vec<String> {
        vec![
            self.notifier.url.expose().to_owned(),
            "s3cr3t-t0ken".to_owned(),
        ]
    }
    async fn check_payloads(&self) -> Vec<String> {
        let mut v = Vec::new();
        let requests = self.hook.recorder().take();
        if requests.is_empty() && !self.silent_when_empty {
            v.push("nothing was sent".to_owned());
        }
        for r in requests {
            let json = match r.json() {
                Ok(j) => j,
                Err(e) => {
                    v.push(format!("body is not JSON: {e}"));
                    continue;
                }
            };
            let text = json["text"].as_str().unwrap_or_default();
            // Escaping can grow the text a little; the provider limit here is 5000.
            if text.chars().count() > 5000 {
                v.push(format!(
                    "text has {} chars, limit 5000",
                    text.chars().count()
                ));
            }
            if let Some(i) = contains_injection(text).filter(|i| i.contains('<') || i.contains('@'))
            {
                v.push(format!("unescaped injection {i:?}"));
            }
        }
        v
    }
    async fn inject(&self, fault: Fault) -> bool {
        self.hook.push(match fault {
            Fault::RateLimited { retry_after } => Reply::rate_limited(retry_after.as_secs()),
            Fault::ServerError => Reply::text(500, "internal"),
            Fault::BadRequest => Reply::text(400, "invalid_payload"),
            Fault::Unauthorized => Reply::text(403, "invalid_token"),
            Fault::Gone => Reply::text(404, "no_service"),
            Fault::Timeout => Reply::ok().with_delay(Duration::from_secs(120)),
            Fault::ConnectionReset => Reply::reset(),
            _ => return false,
        });
        true
    }
}

/// A harness whose fake cannot produce some faults.
struct Partial {
    inner: MiniHarness,
    cannot: Vec<Fault>,
}

#[async_trait]
impl Harness for Partial {
    fn notifier(&self) -> &dyn Notifier {
        self.inner.notifier()
    }
    fn secrets(&self) -> Vec<String> {
        self.inner.secrets()
    }
    async fn check_payloads(&self) -> Vec<String> {
        self.inner.check_payloads().await
    }
    async fn inject(&self, fault: Fault) -> bool {
        if self.cannot.iter().any(|f| f.same_kind(fault)) {
            return false;
        }
        self.inner.inject(fault).await
    }
}

#[tokio::test]
async fn a_correct_channel_passes() {
    let h = MiniHarness::start(|_| {}).await;
    let report = run(&h).await;
    assert!(report.passed(), "{:#?}", report.failures);
    assert!(report.skipped.is_empty());
    assert!(report.untried.is_empty(), "{:?}", report.untried);
    let expected = corpus::cases().len()
        + corpus::groups().len()
        + 2
        + Fault::ALL.len()
        + Fault::OPTIONAL.len();
    assert_eq!(report.sends, expected);
    // Every send reached the fake (corpus, groups, update pair, faults), and
    // nothing for the empty group.
    assert_eq!(h.hook.recorder().len(), report.sends);
}

#[tokio::test]
async fn a_fault_the_harness_cannot_inject_fails_unless_declared() {
    let h = Partial {
        inner: MiniHarness::start(|_| {}).await,
        cannot: vec![Fault::RATE_LIMITED, Fault::ConnectionReset],
    };
    let report = run(&h).await;
    assert_eq!(
        report.failures,
        [
            "RateLimited { retry_after: 7s }: the harness cannot inject it; make the fake \
             produce it, or declare it with Suite::skip(fault, reason) if the channel truly \
             cannot meet it"
        ]
    );
    assert!(report.skipped.is_empty());
    // An optional fault is only listed.
    assert_eq!(
        report.untried,
        ["ConnectionReset: the harness cannot inject it (optional)"]
    );

    // Declared with a reason (any delay matches): the run passes and says why.
    let report = Suite::new(&h)
        .skip(
            Fault::RateLimited {
                retry_after: Duration::ZERO,
            },
            "the provider has no rate limits",
        )
        .run()
        .await;
    assert!(report.passed(), "{:#?}", report.failures);
    assert_eq!(
        report.skipped,
        ["RateLimited { retry_after: 7s }: the provider has no rate limits"]
    );
    Suite::new(&h)
        .skip(Fault::RATE_LIMITED, "the provider has no rate limits")
        .assert()
        .await;

    // A reason is required.
    let report = Suite::new(&h).skip(Fault::RATE_LIMITED, " ").run().await;
    assert_eq!(
        report.failures,
        ["RateLimited { retry_after: 7s }: declared skipped without a reason"]
    );
}

#[tokio::test]
#[should_panic(expected = "RateLimited { retry_after: 7s }: the harness cannot inject it")]
async fn assert_conformance_panics_on_an_undeclared_skip() {
    let h = Partial {
        inner: MiniHarness::start(|_| {}).await,
        cannot: vec![Fault::RATE_LIMITED],
    };
    assert_conformance(&h).await;
}

#[tokio::test]
async fn a_harness_that_never_reports_an_empty_reception_fails() {
    let mut h = MiniHarness::start(|_| {}).await;
    h.silent_when_empty = true;
    let report = run(&h).await;
    assert_eq!(
        report.failures,
        [
            "check_payloads reported nothing although the fake received nothing: it must say \
          so (e.g. \"nothing was sent\"), or a channel that sends nothing passes"
        ]
    );
}

#[tokio::test]
async fn a_channel_that_posts_for_an_empty_group_fails() {
    let h = MiniHarness::start(|n| n.sends_for_empty = true).await;
    let report = run(&h).await;
    assert_eq!(
        report.failures,
        ["empty group: the receipt's meta `skipped` is None, expected \"empty group\""]
    );
}

#[tokio::test]
async fn a_channel_that_sends_nothing_fails() {
    let h = MiniHarness::start(|n| n.sends_nothing = true).await;
    let report = run(&h).await;
    assert!(
        report
            .failures
            .iter()
            .any(|f| f == "severity-info: nothing was sent"),
        "{:#?}",
        report.failures
    );
    assert!(
        report
            .failures
            .iter()
            .any(|f| f == "group-mixed: nothing was sent"),
        "{:#?}",
        report.failures
    );
}

#[tokio::test]
async fn secrets_in_group_and_update_errors_are_caught() {
    let h = MiniHarness::start(|n| n.leak_in_groups = true).await;
    let report = run(&h).await;
    for leak in [
        "secret leaked in group-mixed error",
        "secret leaked in group-60 error",
        "secret leaked in update(resolved) error",
    ] {
        assert!(
            report.failures.iter().any(|f| f == leak),
            "{leak}: {:#?}",
            report.failures
        );
    }
}

#[tokio::test]
async fn a_dropped_connection_must_be_retryable() {
    let h = MiniHarness::start(|n| n.disables_on_reset = true).await;
    let report = run(&h).await;
    assert_eq!(
        report.failures,
        [
            "ConnectionReset gave Never (kind gone, disables_destination true): mini: \
          destination gone: connection dropped"
        ]
    );
}

#[tokio::test]
async fn a_leaking_channel_fails() {
    let h = MiniHarness::start(|n| n.leak_url_in_errors = true).await;
    let report = run(&h).await;
    assert!(
        report
            .failures
            .iter()
            .any(|f| f == "secret leaked in BadRequest error"),
        "{:#?}",
        report.failures
    );
}

#[tokio::test]
async fn a_channel_ignoring_retry_after_fails() {
    let h = MiniHarness::start(|n| n.ignore_retry_after = true).await;
    let report = run(&h).await;
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.starts_with("RateLimited { retry_after: 7s } gave Backoff")),
        "{:#?}",
        report.failures
    );
}

#[tokio::test]
async fn a_channel_that_does_not_fit_fails() {
    let h = MiniHarness::start(|n| n.no_fitting = true).await;
    let report = run(&h).await;
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.starts_with("message-100kb: text has")),
        "{:#?}",
        report.failures
    );
}

#[tokio::test]
async fn an_unreachable_channel_fails_without_panicking() {
    let h =
        MiniHarness::start(|n| n.url = Secret::new("http://127.0.0.1:9/hooks/s3cr3t-t0ken")).await;
    let report = run(&h).await;
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.starts_with("severity-info: not delivered: mini: transport error"))
    );
    assert!(
        !report
            .failures
            .iter()
            .any(|f| f.contains("leaked") || f.contains("panicked")),
        "{:#?}",
        report.failures
    );
}
