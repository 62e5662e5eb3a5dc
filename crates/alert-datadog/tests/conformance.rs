//! The testkit conformance suite against the Datadog fake, with and without service
//! checks, and a check of every payload against Datadog's limits and the channel's
//! safety rules.

use alert_core::Notifier;
use alert_datadog::fake::{Failure, FakeDatadog};
use alert_datadog::tags::is_valid_tag;
use alert_datadog::{DatadogNotifier, ServiceCheckConfig};
use alert_testkit::conformance::{Fault, Harness, assert_conformance};
use alert_testkit::corpus::INJECTIONS;
use serde_json::Value;

struct Datadog {
    fake: FakeDatadog,
    notifier: DatadogNotifier,
    checks: bool,
}

impl Datadog {
    async fn start(checks: bool) -> Datadog {
        let fake = FakeDatadog::start().await.expect("fake starts");
        let mut config = fake.config().with_host("trainer-1").with_tag("team:ml");
        if checks {
            config = config.with_service_check(ServiceCheckConfig::default());
        }
        let notifier = DatadogNotifier::new(config).expect("valid config");
        Datadog {
            fake,
            notifier,
            checks,
        }
    }
}

/// Removes the links the renderer made (`[Runbook](…)`, `[Dashboard](…)`) and reports
/// any other link, fence, mention or autolink left in a neutralised Markdown body.
fn markdown_violations(body: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut rest = body.to_owned();
    for label in ["[Runbook](", "[Dashboard]("] {
        while let Some(start) = rest.find(label) {
            let Some(len) = rest[start..].find(')') else {
                problems.push(format!("unclosed {label}"));
                break;
            };
            let dest = &rest[start + label.len()..start + len];
            if !(dest.starts_with("https://") || dest.starts_with("http://"))
                || dest.contains(char::is_whitespace)
                || dest.contains('@')
            {
                problems.push(format!("unsafe link destination {dest:?}"));
            }
            rest.replace_range(start..=start + len, "");
        }
    }
    let bytes = rest.as_bytes();
    for (i, w) in bytes.windows(2).enumerate() {
        if w == b"](" && (i == 0 || bytes[i - 1] != b'\\') {
            problems.push("a link the sender did not make".into());
        }
    }
    for (i, _) in rest.match_indices("://") {
        if i == 0 || bytes[i - 1] != b'\\' {
            problems.push("a bare URL that would autolink".into());
        }
    }
    if rest.contains("%%") {
        problems.push("`%%` inside the fence".into());
    }
    if rest.contains('@') {
        problems.push("an `@` that could notify".into());
    }
    for inj in INJECTIONS {
        // Template syntax means nothing in Datadog event text.
        if !inj.starts_with("{{") && rest.contains(inj) {
            problems.push(format!("injection passed through: {inj:?}"));
        }
    }
    problems
}

fn check_event(ev: &Value, problems: &mut Vec<String>) {
    let title = ev["title"].as_str().unwrap_or_default();
    if title.is_empty() || title.chars().count() > 500 || title.contains('@') {
        problems.push(format!("bad title ({} chars)", title.chars().count()));
    }
    let Some(text) = ev["text"].as_str() else {
        problems.push("no text".into());
        return;
    };
    let n = text.chars().count();
    if n > 4000 {
        problems.push(format!("text has {n} characters, limit 4000"));
    }
    match text
        .strip_prefix("%%% \n")
        .and_then(|t| t.strip_suffix("\n %%%"))
    {
        Some(body) => problems.extend(markdown_violations(body)),
        None => problems.push("text is not in %%% fences".into()),
    }
    if ev["aggregation_key"]
        .as_str()
        .is_none_or(|k| k.is_empty() || k.len() > 100)
    {
        problems.push("bad aggregation_key".into());
    }
    check_tags(&ev["tags"], problems);
    if !matches!(
        ev["alert_type"].as_str(),
        Some("info" | "warning" | "error" | "success")
    ) {
        problems.push(format!("unexpected alert_type {}", ev["alert_type"]));
    }
    if !matches!(ev["priority"].as_str(), Some("normal" | "low")) {
        problems.push(format!("unexpected priority {}", ev["priority"]));
    }
    if ev["host"] != "trainer-1" {
        problems.push("host missing".into());
    }
}

fn check_tags(tags: &Value, problems: &mut Vec<String>) {
    let Some(tags) = tags.as_array() else {
        problems.push("tags missing".into());
        return;
    };
    if tags.len() > 100 {
        problems.push(format!("{} tags", tags.len()));
    }
    for t in tags {
        if !t.as_str().is_some_and(is_valid_tag) {
            problems.push(format!("invalid tag {t}"));
        }
    }
    if !tags.iter().any(|t| t == "team:ml") {
        problems.push("configured tag missing".into());
    }
}

#[alert_core::async_trait]
impl Harness for Datadog {
    fn notifier(&self) -> &dyn Notifier {
        &self.notifier
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.fake.api_key().to_owned()]
    }

    async fn check_payloads(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let requests = self.fake.recorder().take();
        let mut events = 0;
        let mut check_runs = 0;
        for r in &requests {
            if r.method != "POST" {
                problems.push(format!("unexpected method {}", r.method));
            }
            if r.header("dd-api-key") != Some(self.fake.api_key()) {
                problems.push("missing or wrong DD-API-KEY header".into());
            }
            if r.header("content-type") != Some("application/json") {
                problems.push("content type is not application/json".into());
            }
            let Ok(json) = r.json() else {
                problems.push(format!("{}: body is not JSON", r.path));
                continue;
            };
            match r.path.as_str() {
                "/api/v1/events" => {
                    events += 1;
                    check_event(&json, &mut problems);
                }
                "/api/v1/check_run" => {
                    check_runs += 1;
                    for c in json.as_array().into_iter().flatten() {
                        check_tags(&c["tags"], &mut problems);
                        if c["host_name"] != "trainer-1" || c["check"] != "ml_alerts.alert" {
                            problems.push(format!("bad check {c}"));
                        }
                        if c["message"].as_str().is_some_and(|m| m.contains('@')) {
                            problems.push("an `@` in a check message".into());
                        }
                    }
                }
                other => problems.push(format!("unexpected path {other}")),
            }
        }
        if events == 0 {
            problems.push("no event was sent".into());
        }
        if self.checks && check_runs != events {
            problems.push(format!("{check_runs} check requests for {events} events"));
        }
        // The fake's own record agrees (it refuses invalid payloads with a 400).
        self.fake.take_events();
        self.fake.take_checks();
        problems
    }

    async fn inject(&self, fault: Fault) -> bool {
        self.fake.fail_next(match fault {
            Fault::RateLimited { retry_after } => Failure::RateLimited { reset: retry_after },
            Fault::ServerError => Failure::ServerError {
                status: 502,
                retry_after: None,
            },
            Fault::BadRequest => Failure::BadRequest {
                message: "Event too far in the past".into(),
            },
            Fault::Unauthorized => Failure::ForbiddenHtml,
            Fault::Gone => Failure::NotFound,
            _ => return false,
        });
        true
    }
}

#[tokio::test]
async fn conformance_events() {
    assert_conformance(&Datadog::start(false).await).await;
}

#[tokio::test]
async fn conformance_events_and_service_checks() {
    assert_conformance(&Datadog::start(true).await).await;
}

#[test]
fn the_payload_checker_catches_what_it_should() {
    assert!(markdown_violations("fine \\[x\\](y) [Runbook](https://r.example/a)").is_empty());
    for bad in [
        "[x](https://evil.example)",
        "see https://evil.example",
        "%%%",
        "@all",
        "[Runbook](javascript:alert(1))",
        "<!channel>",
    ] {
        assert!(!markdown_violations(bad).is_empty(), "{bad}");
    }
}
