use std::time::Duration;

use alert_core::{
    Alert, BuildError, Notifier, NotifyError, REDACTED, Receipt, Result, Timestamp, async_trait,
    http,
};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::payload::{AmMessage, NativeMessage};
use crate::{WebhookConfig, WebhookFormat};

const CHANNEL: &str = "webhook";

/// Whole secret values (the URL's path, query, user name, password; a header's
/// value and its credential part) are scrubbed from this length on, like
/// [`alert_core::Secret::scrub`].
const MIN_WHOLE: usize = 4;
/// Parts of them (a path segment, a query value, a word of a header value) are
/// scrubbed from this length on: shorter ones are too common to remove from a
/// message, and too short to be a credential.
const MIN_PART: usize = 8;

/// POSTs alerts as JSON to any URL.
///
/// Built with [`WebhookNotifier::new`], which validates the URL and headers and builds
/// the HTTP client. Never retries by itself: errors are classified with
/// [`alert_core::http::classify_status`] (429 and 5xx are retryable, 401/403/404/410
/// disable the destination, other 4xx are permanent).
pub struct WebhookNotifier {
    config: WebhookConfig,
    endpoint: reqwest::Url,
    headers: HeaderMap,
    client: reqwest::Client,
    scrubber: Scrubber,
}

/// The secret texts a receiver might echo back, whole or in part, longest first.
///
/// `Secret::scrub` only removes a secret written out in full; receivers also echo
/// pieces of one: Express answers `Cannot POST /hooks/<token>` (the path without
/// the host), an API says `invalid token <t>` (the header value without `Bearer `).
struct Scrubber {
    fragments: Vec<String>,
}

/// `%XX` sequences decoded (invalid ones kept as they are); `None` when nothing
/// changes or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|d| d != s)
}

impl Scrubber {
    fn new(config: &WebhookConfig, endpoint: &reqwest::Url) -> Scrubber {
        let mut fragments: Vec<String> = Vec::new();
        let mut add = |s: &str, min: usize| {
            let s = s.trim();
            if s.chars().count() >= min {
                fragments.push(s.to_owned());
                if let Some(d) = percent_decode(s) {
                    fragments.push(d);
                }
            }
        };
        add(config.url.expose(), MIN_WHOLE);
        add(endpoint.as_str(), MIN_WHOLE);
        // The URL's secret-bearing parts; the scheme, host and port are not secret.
        add(endpoint.username(), MIN_WHOLE);
        if let Some(p) = endpoint.password() {
            add(p, MIN_WHOLE);
            add(&format!("{}:{p}", endpoint.username()), MIN_WHOLE);
        }
        if endpoint.path() != "/" {
            add(endpoint.path(), MIN_WHOLE);
        }
        for segment in endpoint.path_segments().into_iter().flatten() {
            add(segment, MIN_PART);
        }
        if let Some(q) = endpoint.query() {
            add(q, MIN_WHOLE);
            for pair in q.split('&') {
                add(pair, MIN_PART);
                if let Some((_, v)) = pair.split_once('=') {
                    add(v, MIN_PART);
                }
            }
        }
        for value in config.headers.values() {
            let v = value.expose();
            add(v, MIN_WHOLE);
            // `Bearer <token>`, `Basic <credentials>`, `Token token=<t>`: the part
            // after the scheme is the credential.
            if let Some((_, credential)) = v.trim().split_once(char::is_whitespace) {
                add(credential, MIN_WHOLE);
            }
            for word in v.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '=')) {
                add(word, MIN_PART);
            }
        }
        // Longest first, so a secret is replaced whole before its pieces are.
        fragments.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        fragments.dedup();
        Scrubber { fragments }
    }

    fn scrub(&self, text: &str) -> String {
        let mut t = text.to_owned();
        for f in &self.fragments {
            if t.contains(f.as_str()) {
                t = t.replace(f.as_str(), REDACTED);
            }
        }
        t
    }
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The endpoint and header values are secrets: only the config (which
        // redacts them) is shown.
        f.debug_struct("WebhookNotifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// Validates `config` and builds the HTTP client.
    pub fn new(config: WebhookConfig) -> std::result::Result<WebhookNotifier, BuildError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(Duration::from_secs(5).min(config.timeout()))
            .user_agent(concat!("ml-alerts/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BuildError::Other {
                channel: CHANNEL,
                source: Box::new(e.without_url()),
            })?;
        WebhookNotifier::with_http_client(config, client)
    }

    /// Like [`new`](WebhookNotifier::new) with a client of your own (proxies, custom
    /// roots, connection pool sizes). Timeouts are then the client's.
    pub fn with_http_client(
        config: WebhookConfig,
        client: reqwest::Client,
    ) -> std::result::Result<WebhookNotifier, BuildError> {
        if config.url.is_empty() {
            return Err(BuildError::invalid("url", "must not be empty"));
        }
        // Never quote the URL in the error: it is a secret.
        let endpoint = reqwest::Url::parse(config.url.expose().trim())
            .map_err(|e| BuildError::invalid("url", format!("not a valid URL ({e})")))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(BuildError::invalid(
                "url",
                "must start with https:// or http://",
            ));
        }
        if endpoint.host_str().is_none_or(str::is_empty) {
            return Err(BuildError::invalid("url", "has no host"));
        }
        if config.timeout_secs == 0 {
            return Err(BuildError::invalid("timeout_secs", "must be at least 1"));
        }
        // `Content-Type: application/json` unless the config sets its own (a vendor
        // JSON type, a charset): the user's header wins, and is sent once.
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut seen: Vec<HeaderName> = Vec::new();
        for (name, value) in &config.headers {
            let field = format!("headers.{name}");
            let n = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| BuildError::invalid(&field, "not a valid header name"))?;
            if seen.contains(&n) {
                return Err(BuildError::invalid(
                    &field,
                    "set twice (header names are case-insensitive)",
                ));
            }
            if n.as_str() == "idempotency-key" {
                return Err(BuildError::invalid(
                    &field,
                    "a fixed Idempotency-Key would make a receiver that honours it drop \
                     every notification after the first; the channel sends none (see \
                     the crate docs, Delivery semantics)",
                ));
            }
            let mut v = HeaderValue::from_str(value.expose().trim()).map_err(|_| {
                BuildError::invalid(&field, "value has characters not allowed in a header")
            })?;
            v.set_sensitive(true);
            headers.insert(n.clone(), v);
            seen.push(n);
        }
        let scrubber = Scrubber::new(&config, &endpoint);
        Ok(WebhookNotifier {
            config,
            endpoint,
            headers,
            client,
            scrubber,
        })
    }

    /// The configuration the notifier was built from.
    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// The JSON body that would be sent for `alerts` (one alert: `kind` `alert`;
    /// several: `group`; `replaces`: `update` with the earlier receipt's id).
    /// Useful to document and test consumers.
    pub fn body(&self, alerts: &[Alert], replaces: Option<&str>) -> Vec<u8> {
        let result = match self.config.format {
            WebhookFormat::Native => {
                let kind = match (replaces, alerts.len()) {
                    (Some(_), _) => "update",
                    (None, 1) => "alert",
                    (None, _) => "group",
                };
                serde_json::to_vec(&NativeMessage::new(&self.config, kind, alerts, replaces))
            }
            WebhookFormat::Alertmanager => {
                serde_json::to_vec(&AmMessage::new(&self.config, alerts))
            }
        };
        // Serialising plain maps and strings cannot fail; fall back to an empty
        // object rather than panic.
        result.unwrap_or_else(|_| b"{}".to_vec())
    }

    fn scrub(&self, text: &str) -> String {
        self.scrubber.scrub(text)
    }

    async fn post(&self, body: Vec<u8>) -> Result<Receipt> {
        let resp = self
            .client
            .post(self.endpoint.clone())
            .headers(self.headers.clone())
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    NotifyError::Timeout {
                        channel: CHANNEL,
                        after: self.config.timeout(),
                    }
                } else {
                    NotifyError::transport_msg(CHANNEL, self.scrub(&error_chain(&e.without_url())))
                }
            })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| http::parse_retry_after(v, Timestamp::now()));
        // A body that cannot be read after a 2xx still means delivered; after an
        // error status it only loses the message.
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) if (200..300).contains(&status) => {
                let _ = e;
                String::new()
            }
            Err(e) => format!("(unreadable body: {})", error_chain(&e.without_url())),
        };
        if let Some(err) = http::classify_status(CHANNEL, status, retry_after, &self.scrub(&text)) {
            return Err(err);
        }
        let mut receipt = Receipt::new(CHANNEL);
        if let Some(id) = response_id(&text) {
            receipt = receipt.with_id(id);
        }
        Ok(receipt)
    }
}

/// An error and its sources on one line (reqwest's `Display` hides the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// The receiver's id for the notification, when its answer is a JSON object with an
/// `id` (string or number). Anything else (empty, `ok`, garbage) gives none.
fn response_id(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    match v.get("id")? {
        serde_json::Value::String(s) if !s.is_empty() && s.len() <= 200 => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn name(&self) -> &str {
        CHANNEL
    }

    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.post(self.body(std::slice::from_ref(alert), None))
            .await
    }

    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        if alerts.is_empty() {
            return Ok(Receipt::new(CHANNEL).with_meta("skipped", alert_core::EMPTY_GROUP));
        }
        self.post(self.body(alerts, None)).await
    }

    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        let replaces = previous.id.as_deref();
        let body = match self.config.format {
            WebhookFormat::Native => self.body(std::slice::from_ref(alert), replaces.or(Some(""))),
            WebhookFormat::Alertmanager => self.body(std::slice::from_ref(alert), None),
        };
        self.post(body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_only_from_json_objects() {
        assert_eq!(response_id(r#"{"id":"abc"}"#).as_deref(), Some("abc"));
        assert_eq!(response_id(r#"{"id":42}"#).as_deref(), Some("42"));
        assert_eq!(response_id("ok"), None);
        assert_eq!(response_id("\u{0}\u{1}garbage{"), None);
        assert_eq!(response_id(r#"[1,2]"#), None);
        assert_eq!(response_id(r#"{"id":null}"#), None);
    }

    #[test]
    fn bad_urls_and_headers_are_refused_without_quoting_secrets() {
        let e = WebhookNotifier::new(WebhookConfig::new("ftp://h/tok-123456")).unwrap_err();
        assert!(e.to_string().contains("url"), "{e}");
        assert!(!e.to_string().contains("tok-123456"), "{e}");
        let e = WebhookNotifier::new(WebhookConfig::new("not a url tok-123456")).unwrap_err();
        assert!(!e.to_string().contains("tok-123456"), "{e}");
        let e = WebhookNotifier::new(WebhookConfig::new("")).unwrap_err();
        assert!(e.to_string().contains("must not be empty"), "{e}");
        let e =
            WebhookNotifier::new(WebhookConfig::new("https://h/x").with_header("Bad Name", "v"))
                .unwrap_err();
        assert!(e.to_string().contains("headers.Bad Name"), "{e}");
        let e = WebhookNotifier::new(
            WebhookConfig::new("https://h/x").with_header("X-Key", "line\nbreak-s3cret"),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
