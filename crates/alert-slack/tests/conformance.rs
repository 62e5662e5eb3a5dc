//! The testkit conformance suite against `FakeSlack`, in both connection modes.

mod common;

use alert_core::{Notifier, Severity};
use alert_slack::fake::{FAKE_WEBHOOK_PATH, Failure, FakeSlack, check_message};
use alert_slack::{SlackConfig, SlackNotifier};
use alert_testkit::conformance::{Fault, Harness, assert_conformance};
use std::sync::Mutex;

const ONCALL: &str = "<!subteam^S0ONCALL>";

struct SlackHarness {
    slack: FakeSlack,
    notifier: SlackNotifier,
    web_api: bool,
    rejections_seen: Mutex<usize>,
}

impl SlackHarness {
    async fn start(web_api: bool) -> SlackHarness {
        let slack = FakeSlack::start().await.expect("fake starts");
        let config: SlackConfig = if web_api {
            slack.api_config()
        } else {
            slack.webhook_config()
        };
        let notifier = SlackNotifier::new(config.with_mentions(Severity::Critical, [ONCALL]))
            .expect("valid config");
        SlackHarness {
            slack,
            notifier,
            web_api,
            rejections_seen: Mutex::new(0),
        }
    }
}

#[alert_core::async_trait]
impl Harness for SlackHarness {
    fn notifier(&self) -> &dyn Notifier {
        &self.notifier
    }

    fn secrets(&self) -> Vec<String> {
        vec![
            self.slack.token(),
            self.slack.webhook_url(),
            FAKE_WEBHOOK_PATH.to_owned(),
            "fakeWebhookS3cret0000".to_owned(),
        ]
    }

    async fn check_payloads(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let requests = self.slack.take_requests();
        if requests.is_empty() {
            problems.push("nothing was sent".to_owned());
        }
        for r in &requests {
            if self.web_api {
                if !r.path.starts_with("/api/chat.") {
                    problems.push(format!("unexpected path {}", r.path));
                }
                if r.header("authorization") != Some(&format!("Bearer {}", self.slack.token())) {
                    problems.push("missing or wrong Authorization header".to_owned());
                }
            } else if r.path != FAKE_WEBHOOK_PATH {
                problems.push(format!("unexpected path {}", r.path));
            }
            if !r
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json"))
            {
                problems.push(format!("content type {:?}", r.header("content-type")));
            }
            let Ok(body) = r.json() else {
                problems.push("body is not JSON".to_owned());
                continue;
            };
            if let Err((code, detail)) = check_message(&body) {
                problems.push(format!("{code}: {detail}"));
            }
            if body["text"].as_str().is_none_or(str::is_empty) {
                problems.push("no top-level text fallback".to_owned());
            }
            problems.extend(common::markup_violations(&body, &[ONCALL]));
        }
        let rejections = self.slack.rejections();
        let mut seen = self.rejections_seen.lock().expect("not poisoned");
        for r in &rejections[*seen..] {
            problems.push(format!("the fake rejected a message: {r}"));
        }
        *seen = rejections.len();
        problems
    }

    async fn inject(&self, fault: Fault) -> bool {
        let failure = match (fault, self.web_api) {
            (Fault::RateLimited { retry_after }, _) => Failure::RateLimited(retry_after.as_secs()),
            (Fault::ServerError, true) => Failure::Api("internal_error".into()),
            (Fault::ServerError, false) => Failure::Webhook(500, "rollup_error".into()),
            (Fault::BadRequest, true) => Failure::Api("invalid_arguments".into()),
            (Fault::BadRequest, false) => Failure::Webhook(400, "invalid_payload".into()),
            (Fault::Unauthorized, true) => Failure::Api("invalid_auth".into()),
            (Fault::Unauthorized, false) => Failure::Webhook(403, "invalid_token".into()),
            (Fault::Gone, true) => Failure::Api("channel_not_found".into()),
            (Fault::Gone, false) => Failure::Webhook(404, "channel_not_found".into()),
            _ => return false,
        };
        self.slack.fail_next(failure);
        true
    }
}

#[tokio::test]
async fn conformance_web_api() {
    let h = SlackHarness::start(true).await;
    assert_conformance(&h).await;
    let report = alert_testkit::conformance::run(&h).await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    // The resolution was threaded under the original and the original was edited.
    assert!(h.slack.updates() >= 2, "updates: {}", h.slack.updates());
    assert!(
        h.slack
            .all_messages()
            .iter()
            .any(|m| m.thread_ts.is_some() && m.header().is_some_and(|t| t.contains("[RESOLVED]")))
    );
}

#[tokio::test]
async fn conformance_webhook() {
    let h = SlackHarness::start(false).await;
    assert_conformance(&h).await;
}
