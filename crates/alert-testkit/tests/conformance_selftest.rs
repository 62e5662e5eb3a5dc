//! The conformance suite must pass a correct channel and fail broken ones.

use std::time::Duration;

use alert_core::fit::Measure;
use alert_core::render::{Style, render, render_group};
use alert_core::{Alert, Notifier, NotifyError, Receipt, Result, Secret, async_trait, http};
use alert_testkit::conformance::{Fault, Harness, run};
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
}

impl MiniChannel {
    async fn post(&self, text: String) -> Result<Receipt> {
        let resp = self
            .client
            .post(self.url.expose())
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .map_err(|e| NotifyError::transport("mini", e.without_url()))?;
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
        self.post(escape(
            &render_group(alerts, Style::Text, LIMIT, Measure::Chars, 10).text,
        ))
        .await
    }
}

struct MiniHarness {
    hook: FakeWebhook,
    notifier: MiniChannel,
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
        };
        f(&mut notifier);
        MiniHarness { hook, notifier }
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
        for r in self.hook.recorder().take() {
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
            _ => return false,
        });
        true
    }
}

#[tokio::test]
async fn a_correct_channel_passes() {
    let h = MiniHarness::start(|_| {}).await;
    let report = run(&h).await;
    assert!(report.passed(), "{:#?}", report.failures);
    assert!(report.skipped.is_empty());
    assert!(report.sends > 30);
    // Every send reached the fake (corpus, groups, update pair, faults).
    assert_eq!(h.hook.recorder().len(), report.sends);
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
