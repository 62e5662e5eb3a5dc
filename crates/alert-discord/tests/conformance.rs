//! The testkit conformance suite against [`FakeDiscord`]: the whole corpus and its
//! groups delivered within Discord's limits with mentions suppressed, a resolution
//! through `update`, every fault classified, no secret anywhere.

use alert_core::Notifier;
use alert_discord::fake::{FakeDiscord, FakeFailure};
use alert_discord::{DiscordMentions, DiscordNotifier, USER_AGENT, limits};
use alert_testkit::conformance::{Fault, Harness, assert_conformance, run};
use alert_testkit::corpus;
use serde_json::{Value, json};

const ROLE: u64 = 423_456_789_012_345_678;

struct DiscordHarness {
    fake: FakeDiscord,
    notifier: DiscordNotifier,
}

impl DiscordHarness {
    async fn start() -> DiscordHarness {
        let fake = FakeDiscord::start().await.expect("fake starts");
        let config = fake.config().with_mentions(DiscordMentions {
            critical: Some(ROLE),
            error: Some(ROLE),
            ..DiscordMentions::default()
        });
        let notifier = DiscordNotifier::new(config).expect("valid config");
        DiscordHarness { fake, notifier }
    }
}

#[alert_core::async_trait]
impl Harness for DiscordHarness {
    fn notifier(&self) -> &dyn Notifier {
        &self.notifier
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.fake.webhook_url(), self.fake.webhook_token()]
    }

    async fn check_payloads(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let requests = self.fake.recorder().take();
        if requests.is_empty() {
            problems.push("nothing was sent".to_owned());
        }
        let prefix = format!(
            "/api/v10/webhooks/{}/{}",
            self.fake.webhook_id(),
            self.fake.webhook_token()
        );
        for r in requests {
            match r.method.as_str() {
                "POST" if r.path == prefix => {
                    if r.query.as_deref() != Some("wait=true") {
                        problems.push(format!("execute without ?wait=true: {:?}", r.query));
                    }
                }
                "PATCH" if r.path.starts_with(&format!("{prefix}/messages/")) => {}
                m => problems.push(format!("unexpected request {m} {}", r.path)),
            }
            if r.header("user-agent") != Some(USER_AGENT) {
                problems.push(format!("User-Agent is {:?}", r.header("user-agent")));
            }
            let Ok(body) = r.json() else {
                problems.push("body is not JSON".to_owned());
                continue;
            };
            for v in limits::check(&body) {
                problems.push(format!("over a limit: {v}"));
            }
            let am = &body["allowed_mentions"];
            if am["parse"] != json!([]) || am["users"] != json!([]) {
                problems.push(format!("allowed_mentions not locked down: {am}"));
            }
            let roles = am["roles"].as_array().cloned().unwrap_or_default();
            if roles.iter().any(|r| r != &json!(ROLE.to_string())) {
                problems.push(format!("unexpected role allowed: {am}"));
            }
            let text = body.to_string();
            for inj in corpus::INJECTIONS {
                if inj.starts_with("{{") || inj.starts_with("&lt;") {
                    continue; // not Discord markup
                }
                let enc = serde_json::to_string(inj).unwrap_or_default();
                if text.contains(&enc[1..enc.len() - 1]) {
                    problems.push(format!("{inj:?} sent verbatim"));
                }
            }
        }
        for m in self.fake.messages() {
            if m["mention_everyone"] != Value::Bool(false) {
                problems.push(format!("message {} pinged everyone", m["id"]));
            }
        }
        problems
    }

    async fn inject(&self, fault: Fault) -> bool {
        self.fake.fail_next(match fault {
            Fault::RateLimited { retry_after } => FakeFailure::RateLimited {
                retry_after,
                global: false,
            },
            Fault::ServerError => FakeFailure::BadGateway,
            Fault::BadRequest => FakeFailure::InvalidFormBody,
            Fault::Unauthorized => FakeFailure::InvalidToken,
            Fault::Gone => FakeFailure::UnknownWebhook,
            _ => return false,
        });
        true
    }
}

#[tokio::test]
async fn conformance() {
    assert_conformance(&DiscordHarness::start().await).await;
}

#[tokio::test]
async fn conformance_skips_nothing_and_sends_everything() {
    let h = DiscordHarness::start().await;
    let report = run(&h).await;
    assert!(report.passed(), "{:?}", report.failures);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let expected = corpus::cases().len() + corpus::groups().len() + 2 + Fault::ALL.len();
    assert_eq!(report.sends, expected);
}
