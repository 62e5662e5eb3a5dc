//! The testkit conformance suite against the fake, twice:
//!
//! 1. with [`StatuspalSeverityMap::publish_all`], so every corpus alert really
//!    reaches the fake and every payload is checked;
//! 2. with the default map, where `check_payloads` expects **no request at all**
//!    for firing `info`/`warning` alerts (they are acknowledged with
//!    `meta["skipped"]`), and requests for the rest.
//!
//! To know what each send should have produced, the harness wraps the notifier in
//! a recorder of the alerts it was given.
//!
//! All five required faults are injected. `Fault::RateLimited` is a 429 with a
//! `Retry-After` header: Statuspal documents none, but the client honours one when
//! sent, and that is what the suite checks (a 429 without it is `Retry::Backoff`;
//! see `tests/errors.rs`).

use std::sync::Mutex;

use alert_core::render::digest_alert;
use alert_core::{Alert, Notifier, Receipt, Result, Status, async_trait};
use alert_statuspal::fake::FakeStatuspal;
use alert_statuspal::{StatuspalImpact, StatuspalNotifier, StatuspalSeverityMap};
use alert_testkit::conformance::{Fault, Harness, assert_conformance, run};
use alert_testkit::fake::Reply;
use serde_json::{Value, json};

#[derive(Debug)]
struct Recording {
    inner: StatuspalNotifier,
    sent: Mutex<Vec<Alert>>,
}

#[async_trait]
impl Notifier for Recording {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.sent.lock().unwrap().push(alert.clone());
        self.inner.notify(alert).await
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        // What the channel turns a group into.
        self.sent.lock().unwrap().push(digest_alert(alerts));
        self.inner.notify_group(alerts).await
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        self.sent.lock().unwrap().push(alert.clone());
        self.inner.update(alert, previous).await
    }
}

struct StatuspalHarness {
    fake: FakeStatuspal,
    notifier: Recording,
    map: StatuspalSeverityMap,
}

impl StatuspalHarness {
    async fn start(map: StatuspalSeverityMap) -> StatuspalHarness {
        let fake = FakeStatuspal::start().await.expect("fake starts");
        fake.set_rate_limit(None);
        let bikes = fake.add_service("Bike rentals");
        let site = fake.add_service("Website");
        let config = fake
            .config()
            .with_services("model=bikes", [bikes])
            .with_default_services([site])
            .with_severity(map.clone());
        let notifier = Recording {
            inner: StatuspalNotifier::new(config).expect("valid config"),
            sent: Mutex::new(Vec::new()),
        };
        StatuspalHarness {
            fake,
            notifier,
            map,
        }
    }
}

/// Texts of the alert that must never reach the public page: label names and
/// values, the message, annotations and evidence, unless the summary itself says
/// them (the summary is published on purpose).
fn internal_strings(a: &Alert) -> Vec<String> {
    let title = a.title();
    let mut v: Vec<String> = Vec::new();
    for (k, val) in &a.labels {
        v.push(k.to_owned());
        v.push(val.to_owned());
    }
    v.push(a.message.chars().take(40).collect());
    v.extend(a.annotations.values().map(|x| x.chars().take(40).collect()));
    v.extend(a.evidence.fields().into_iter().map(|(k, _)| k));
    v.into_iter()
        .filter(|s| {
            s.chars().count() >= 6 && !title.contains(s.as_str()) && !a.name.contains(s.as_str())
        })
        .filter(|s| s.chars().all(|c| !c.is_control()))
        .collect()
}

fn texts_of(body: &Value) -> (Option<String>, Vec<String>) {
    let inc = body.get("incident");
    let title = inc
        .and_then(|i| i.get("title"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut descs = Vec::new();
    if let Some(updates) = inc.and_then(|i| i.get("updates")).and_then(Value::as_array) {
        descs.extend(
            updates
                .iter()
                .filter_map(|u| u["description"].as_str().map(str::to_owned)),
        );
    }
    for d in [
        body.get("update").and_then(|u| u.get("description")),
        body.get("description"),
    ]
    .into_iter()
    .flatten()
    {
        descs.extend(d.as_str().map(str::to_owned));
    }
    (title, descs)
}

fn bidi(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[async_trait]
impl Harness for StatuspalHarness {
    fn notifier(&self) -> &dyn Notifier {
        &self.notifier
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.fake.api_key()]
    }

    async fn check_payloads(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let sent: Vec<Alert> = std::mem::take(&mut *self.notifier.sent.lock().unwrap());
        let requests = self.fake.recorder().take();
        let published = |a: &Alert| self.map.impact(a.severity) != StatuspalImpact::None;
        let wants_write = sent
            .iter()
            .any(|a| a.status == Status::Firing && published(a));
        let wants_nothing = !sent.is_empty()
            && sent
                .iter()
                .all(|a| a.status == Status::Firing && !published(a));
        if sent.is_empty() && requests.is_empty() {
            // The suite's probe of an empty reception.
            problems.push("nothing was sent".to_owned());
        }
        let writes = requests.iter().filter(|r| r.method != "GET").count();
        if wants_write && writes == 0 {
            problems.push("a published firing alert sent nothing".to_owned());
        }
        if wants_nothing && !requests.is_empty() {
            problems.push(format!(
                "{} request(s) for an alert whose severity is not published",
                requests.len()
            ));
        }
        let key = self.fake.api_key();
        let leaks: Vec<String> = sent.iter().flat_map(internal_strings).collect();
        for r in &requests {
            if !r.path.starts_with("/api/v2/status_pages/acme/incidents") {
                problems.push(format!("unexpected path {}", r.path));
            }
            if r.header("authorization") != Some(key.as_str()) {
                problems.push("Authorization is not the raw key".to_owned());
            }
            if r.header("accept") != Some("application/json") {
                problems.push("missing Accept: application/json".to_owned());
            }
            if r.method == "GET" {
                continue;
            }
            if r.header("content-type") != Some("application/json") {
                problems.push("missing Content-Type: application/json".to_owned());
            }
            let Ok(body) = r.json() else {
                problems.push(format!("{} {}: body is not JSON", r.method, r.path));
                continue;
            };
            if r.method == "POST" && r.path.ends_with("/incidents") {
                let inc = &body["incident"];
                if !matches!(inc["type"].as_str(), Some("major" | "minor")) {
                    problems.push(format!("incident type {}", inc["type"]));
                }
                let updates = inc["updates"].as_array().map(Vec::len).unwrap_or(0);
                if updates != 1 {
                    problems.push(format!("{updates} first updates"));
                }
                if !inc["updates"][0]["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("[ref:"))
                {
                    problems.push("the first update carries no marker".to_owned());
                }
            }
            let (title, descs) = texts_of(&body);
            if let Some(t) = &title {
                let n = t.chars().count();
                if n == 0 || n > 255 || t.contains('\n') {
                    problems.push(format!("title of {n} characters or on several lines"));
                }
            }
            for d in &descs {
                let n = d.chars().count();
                if n == 0 || n > 10_000 {
                    problems.push(format!("description of {n} characters"));
                }
            }
            for text in title.iter().chain(&descs) {
                if text
                    .chars()
                    .any(|c| (c.is_control() && c != '\n') || bidi(c))
                {
                    problems.push("control or bidi character in public text".to_owned());
                }
                if text.contains('<') || text.contains('>') || text.contains("](") {
                    problems.push(format!("markup survived in public text: {text:.80}"));
                }
                if let Some(l) = leaks.iter().find(|l| text.contains(l.as_str())) {
                    problems.push(format!("internal detail {l:.60} reached public text"));
                }
            }
        }
        problems
    }

    async fn inject(&self, fault: Fault) -> bool {
        let reply = match fault {
            Fault::ServerError => {
                Reply::json(500, &json!({"errors": {"detail": "Internal Server Error"}}))
            }
            Fault::BadRequest => {
                Reply::json(422, &json!({"errors": {"title": ["can't be blank"]}}))
            }
            Fault::Unauthorized => Reply::json(401, &json!({"errors": {"detail": "Unauthorized"}})),
            Fault::Gone => Reply::json(404, &json!({"errors": {"detail": "Not Found"}})),
            Fault::RateLimited { retry_after } => {
                Reply::json(429, &json!({"errors": {"detail": "Too Many Requests"}}))
                    .with_header("retry-after", retry_after.as_secs().to_string())
            }
            _ => return false,
        };
        self.fake.fail_next(reply);
        true
    }
}

#[tokio::test]
async fn conformance_publishing_every_severity() {
    let h = StatuspalHarness::start(StatuspalSeverityMap::publish_all()).await;
    assert_conformance(&h).await;
    // The run really exercised the page: incidents opened, escalated, resolved.
    let incs = h.fake.incidents();
    assert!(incs.len() >= 10, "{} incidents", incs.len());
    assert!(incs.iter().any(|i| i.update_types().contains(&"escalate")));
    assert!(incs.iter().any(|i| !i.is_open()));
}

#[tokio::test]
async fn conformance_with_the_default_severity_map() {
    let h = StatuspalHarness::start(StatuspalSeverityMap::default()).await;
    let report = run(&h).await;
    assert!(report.passed(), "{:#?}", report.failures);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    // No incident for warning/info-only alerts.
    assert!(
        h.fake
            .incidents()
            .iter()
            .all(|i| i.incident_type == "major" || i.incident_type == "minor")
    );
    assert!(
        !h.fake
            .incidents()
            .iter()
            .any(|i| i.title.contains("ManyLabels"))
    );
}
