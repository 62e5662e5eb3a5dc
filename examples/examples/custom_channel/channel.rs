//! `BeaconNotifier`: a complete channel for Beacon, a made-up paging service, on
//! `alert-core` alone (plus reqwest and serde). 148 lines, this comment included
//! (`tests/custom_channel.rs` checks). Beacon's API (made up; `fake.rs` serves it):
//!
//! * `POST /v1/pages` with header `X-Beacon-Key` and the JSON body
//!   `{"title", "body", "urgency", "dedup_key", "state"}` answers
//!   `201 {"page": {"id": "pg_1"}}`;
//! * `PATCH /v1/pages/{id}` with the same body updates a page (`404` if unknown);
//! * titles are at most 120 characters, bodies at most 4,000; errors are
//!   `{"error": {"code", "message"}}`; a 429 carries `Retry-After`.

use std::time::Duration;

use alert_core::fit::{Measure, truncate};
use alert_core::render::{Style, render, title_line};
use alert_core::{Alert, BuildError, Notifier, NotifyError, Receipt, Result, Secret, Severity};
use alert_core::{Timestamp, async_trait, http};
use serde::Deserialize;
use serde_json::{Value, json};

const CHANNEL: &str = "beacon";
/// The longest title Beacon accepts, in characters.
pub const TITLE_LIMIT: usize = 120;
/// The longest body Beacon accepts, in characters.
pub const BODY_LIMIT: usize = 4000;
/// How long one request may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach Beacon. Unknown keys are refused; the key is a [`Secret`].
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconConfig {
    /// `https://api.beacon.example` (or `http://` for a local fake).
    pub base_url: String,
    /// The API key, sent as `X-Beacon-Key`.
    pub api_key: Secret,
}

impl BeaconConfig {
    /// A configuration.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<Secret>) -> BeaconConfig {
        let (base_url, api_key) = (base_url.into(), api_key.into());
        BeaconConfig { base_url, api_key }
    }
}

/// Beacon's urgency for a severity: `low`, `normal`, `high` or `page`.
pub fn urgency(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "low",
        Severity::Warning => "normal",
        Severity::Error => "high",
        Severity::Critical => "page",
    }
}

/// Sends alerts to Beacon as pages; a resolution updates the page it follows.
#[derive(Debug)]
pub struct BeaconNotifier {
    url: String,
    key: Secret,
    client: reqwest::Client,
}

/// A request that did not complete, without its URL.
fn transport(e: reqwest::Error) -> NotifyError {
    if e.is_timeout() {
        return NotifyError::Timeout {
            channel: CHANNEL,
            after: TIMEOUT,
        };
    }
    NotifyError::transport(CHANNEL, e.without_url())
}

impl BeaconNotifier {
    /// Checks `config` and builds the HTTP client; nothing is sent.
    pub fn new(config: BeaconConfig) -> std::result::Result<BeaconNotifier, BuildError> {
        let (url, key) = (config.base_url, config.api_key);
        let url = url.trim_end_matches('/').to_owned();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(BuildError::invalid("base_url", "must be an http(s) URL"));
        }
        if key.expose().trim().is_empty() {
            return Err(BuildError::invalid("api_key", "must not be empty"));
        }
        let client = reqwest::Client::builder().timeout(TIMEOUT).build();
        let client = client.map_err(|e| BuildError::Other {
            channel: CHANNEL,
            source: e.without_url().into(),
        })?;
        Ok(BeaconNotifier { url, key, client })
    }

    async fn send(&self, request: reqwest::RequestBuilder, alert: &Alert) -> Result<Receipt> {
        let page = json!({
            "title": truncate(&title_line(alert), TITLE_LIMIT, Measure::Chars),
            "body": render(alert, Style::Text, BODY_LIMIT, Measure::Chars).text,
            "urgency": urgency(alert.severity),
            "dedup_key": alert.fingerprint().to_string(),
            "state": if alert.is_resolved() { "resolved" } else { "open" },
        });
        let request = request.header("X-Beacon-Key", self.key.expose());
        let resp = request.json(&page).send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let header = resp.headers().get(reqwest::header::RETRY_AFTER);
        let wait = header.and_then(|v| http::parse_retry_after(v.to_str().ok()?, Timestamp::now()));
        let body = resp.text().await.map_err(transport)?;
        let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let error = &answer["error"];
        let said = match (error["code"].as_str(), error["message"].as_str()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            _ => body,
        };
        if let Some(err) = http::classify_status(CHANNEL, status, wait, &said) {
            return Err(err);
        }
        let id = answer["page"]["id"].as_str();
        let id = id.ok_or_else(|| NotifyError::transport_msg(CHANNEL, "page id missing"))?;
        Ok(Receipt::new(CHANNEL).with_id(id))
    }
}

#[async_trait]
impl Notifier for BeaconNotifier {
    fn name(&self) -> &str {
        CHANNEL
    }

    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        let post = self.client.post(format!("{}/v1/pages", self.url));
        self.send(post, alert).await
    }

    /// Updates the page `previous` names; a new page when it has none or Beacon no
    /// longer knows it.
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        let ok = |id: &&str| !id.is_empty() && id.chars().all(|c| c.is_alphanumeric() || c == '_');
        let Some(id) = previous.id.as_deref().filter(ok) else {
            return self.notify(alert).await;
        };
        let patch = self.client.patch(format!("{}/v1/pages/{id}", self.url));
        match self.send(patch, alert).await {
            Err(NotifyError::Gone { .. }) => self.notify(alert).await,
            other => other,
        }
    }
}
