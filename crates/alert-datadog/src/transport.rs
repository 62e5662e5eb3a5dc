//! The HTTP side shared by events, service checks and metrics: one client, the
//! `DD-API-KEY` header, and the classification of Datadog's answers.

use std::fmt;
use std::time::Duration;

use alert_core::{BuildError, NotifyError, REDACTED, Result, Secret, Timestamp, http};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::DatadogConfig;
use crate::payload::error_messages;

/// The channel name in errors and receipts.
pub(crate) const CHANNEL: &str = "datadog";

/// The header that carries the API key.
pub(crate) const API_KEY_HEADER: &str = "dd-api-key";

/// An HTTP answer, read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
    /// `X-RateLimit-Reset`: seconds until the rate-limit window resets.
    pub(crate) rate_limit_reset: Option<Duration>,
    /// `Retry-After`, in either of its forms.
    pub(crate) retry_after: Option<Duration>,
}

/// The client and what every request carries.
#[derive(Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
    base: String,
    api_key: Secret,
    headers: HeaderMap,
    timeout: Duration,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base", &redact_userinfo(&self.base))
            .field("api_key", &self.api_key)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `url` with the user name and password of its authority (`https://user:pass@host`)
/// replaced by [`REDACTED`], for `Debug` output. Works on any text, parseable or
/// not: everything before the last `@` of the part between `://` and the next `/`,
/// `?` or `#` is replaced.
pub(crate) fn redact_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.into();
    };
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{REDACTED}{}", &url[..start], &rest[at..]).into(),
        None => url.into(),
    }
}

impl Transport {
    /// Validates the key and base URL and builds the client.
    pub(crate) fn new(config: &DatadogConfig) -> std::result::Result<Transport, BuildError> {
        if config.api_key.is_empty() {
            return Err(BuildError::invalid("api_key", "must not be empty"));
        }
        let mut key = HeaderValue::from_str(config.api_key.expose().trim()).map_err(|_| {
            BuildError::invalid(
                "api_key",
                "contains characters that cannot be sent in an HTTP header",
            )
        })?;
        key.set_sensitive(true);
        let base = config.api_base();
        let lower = base.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://"))
            || base.chars().any(|c| c.is_whitespace() || c.is_control())
            || base.len() <= "http://".len()
        {
            return Err(BuildError::invalid(
                "base_url",
                "must be an absolute http:// or https:// URL without spaces",
            ));
        }
        if base.contains('?') || base.contains('#') {
            return Err(BuildError::invalid(
                "base_url",
                "must not carry a query or fragment: give the API root, e.g. https://api.datadoghq.com",
            ));
        }
        if config.timeout_secs == 0 {
            return Err(BuildError::invalid("timeout_secs", "must be at least 1"));
        }
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static(API_KEY_HEADER), key);
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let timeout = config.timeout();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!(
                "ml-alerts/",
                env!("CARGO_PKG_VERSION"),
                " (alert-datadog)"
            ))
            .build()
            .map_err(|e| BuildError::Other {
                channel: CHANNEL,
                source: Box::new(e.without_url()),
            })?;
        Ok(Transport {
            client,
            base,
            api_key: Secret::new(config.api_key.expose().trim()),
            headers,
            timeout,
        })
    }

    /// Replaces the HTTP client (its timeouts then apply).
    pub(crate) fn set_client(&mut self, client: reqwest::Client) {
        self.client = client;
    }

    /// The API base URL, as configured: it may carry a user name and password, so
    /// pass it through [`redact_userinfo`] before showing it.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The key, for scrubbing texts.
    pub(crate) fn api_key(&self) -> &Secret {
        &self.api_key
    }

    /// `POST {base}{path}` with a JSON body, gzip-compressed when `gzip` is set.
    pub(crate) async fn post_json(&self, path: &str, body: Vec<u8>, gzip: bool) -> Result<Answer> {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if gzip {
            req = req.header(reqwest::header::CONTENT_ENCODING, "gzip");
        }
        self.run(req.body(body)).await
    }

    /// `GET {base}{path}`.
    pub(crate) async fn get(&self, path: &str) -> Result<Answer> {
        let req = self
            .client
            .get(format!("{}{path}", self.base))
            .headers(self.headers.clone());
        self.run(req).await
    }

    async fn run(&self, req: reqwest::RequestBuilder) -> Result<Answer> {
        let resp = req.send().await.map_err(|e| self.reqwest_error(e))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| http::parse_retry_after(v, Timestamp::now()))
        };
        let rate_limit_reset = header("x-ratelimit-reset");
        let retry_after = header("retry-after");
        let bytes = resp.bytes().await.map_err(|e| self.reqwest_error(e))?;
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            rate_limit_reset,
            retry_after,
        })
    }

    fn reqwest_error(&self, e: reqwest::Error) -> NotifyError {
        if e.is_timeout() {
            NotifyError::Timeout {
                channel: CHANNEL,
                after: self.timeout,
            }
        } else {
            NotifyError::transport(CHANNEL, e.without_url())
        }
    }
}

/// Turns a non-2xx answer into an error (and a 2xx into `None`).
///
/// | status | error | retry |
/// |---|---|---|
/// | 401, 403 | `Unauthorized`, "API key refused by Datadog" | never; disables the destination |
/// | 400 and other 4xx | `Rejected` with Datadog's error text | never |
/// | 413 | `Rejected`, "payload too large" (callers split metrics and service checks and resend; a single item too large is refused) | never |
/// | 404, 410 | `Gone` | never; disables the destination |
/// | 408, 5xx | `Server` | backoff, or `Retry-After` |
/// | 429 | `RateLimited` | after `X-RateLimit-Reset` seconds (else `Retry-After`) |
///
/// The body is decoded as `{"errors": [...]}` whatever its content type; anything
/// else is quoted as a short excerpt (HTML pages by their title). The API key is
/// scrubbed from every text.
pub(crate) fn classify(answer: &Answer, api_key: &Secret) -> Option<NotifyError> {
    let status = answer.status;
    if (200..300).contains(&status) {
        return None;
    }
    let detail = match error_messages(&answer.body) {
        Some(m) => http::body_excerpt(&m.join("; "), 300),
        None => http::body_excerpt(&answer.body, 300),
    };
    let detail = api_key.scrub(&detail);
    Some(match status {
        401 | 403 => NotifyError::Unauthorized {
            channel: CHANNEL,
            status: Some(status),
            message: format!("API key refused by Datadog: {detail}"),
        },
        429 => NotifyError::RateLimited {
            channel: CHANNEL,
            retry_after: answer.rate_limit_reset.or(answer.retry_after),
        },
        413 => NotifyError::Rejected {
            channel: CHANNEL,
            status: Some(status),
            message: format!("payload too large: {detail}"),
        },
        _ => http::classify_status(CHANNEL, status, answer.retry_after, &detail)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Retry;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_owned(),
            rate_limit_reset: None,
            retry_after: None,
        }
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn classification_table() {
        let key = Secret::new(KEY);
        let c = |a: Answer| classify(&a, &key).map(|e| (e.kind(), e.retryable(), e.to_string()));
        assert!(c(answer(202, r#"{"status":"ok"}"#)).is_none());

        let (kind, retry, msg) =
            c(answer(400, r#"{"errors":["Event too far in the past"]}"#)).unwrap();
        assert_eq!((kind, retry), ("rejected", Retry::Never));
        assert_eq!(
            msg,
            "datadog: rejected (HTTP 400): Event too far in the past"
        );

        let (kind, retry, msg) = c(answer(
            403,
            r#"{"status":"error","code":403,"errors":["Forbidden"]}"#,
        ))
        .unwrap();
        assert_eq!((kind, retry), ("unauthorized", Retry::Never));
        assert_eq!(
            msg,
            "datadog: credentials refused (HTTP 403): API key refused by Datadog: Forbidden"
        );

        let html = "<!DOCTYPE html><html><head><title>Request forbidden by administrative rules</title></head><body>x</body></html>";
        let (_, _, msg) = c(answer(403, html)).unwrap();
        assert!(
            msg.ends_with(
                "API key refused by Datadog: HTML page: Request forbidden by administrative rules"
            ),
            "{msg}"
        );

        let mut a = answer(429, r#"{"errors":["Too many requests"]}"#);
        a.rate_limit_reset = Some(Duration::from_secs(12));
        a.retry_after = Some(Duration::from_secs(99));
        assert_eq!(
            c(a).unwrap().1,
            Retry::After(Duration::from_secs(12)),
            "X-RateLimit-Reset wins"
        );
        let mut a = answer(429, "");
        a.retry_after = Some(Duration::from_secs(5));
        assert_eq!(c(a).unwrap().1, Retry::After(Duration::from_secs(5)));
        assert_eq!(c(answer(429, "")).unwrap().1, Retry::Backoff);

        assert_eq!(
            c(answer(413, r#"{"errors":["Payload too large"]}"#)).unwrap(),
            (
                "rejected",
                Retry::Never,
                "datadog: rejected (HTTP 413): payload too large: Payload too large".to_owned()
            )
        );
        assert_eq!(c(answer(408, "")).unwrap().1, Retry::Backoff);
        for s in [500, 502, 503, 504] {
            assert_eq!(c(answer(s, "oops")).unwrap().0, "server", "{s}");
        }
        let mut a = answer(503, "");
        a.retry_after = Some(Duration::from_secs(30));
        assert_eq!(c(a).unwrap().1, Retry::After(Duration::from_secs(30)));
        assert_eq!(
            c(answer(404, "{\"errors\":[\"Not found\"]}")).unwrap().0,
            "gone"
        );
    }

    #[test]
    fn userinfo_is_redacted_from_any_text() {
        for (url, want) in [
            ("https://u:p@h/x", "https://**REDACTED**@h/x"),
            ("https://u@h", "https://**REDACTED**@h"),
            (
                "http://a:b@c@h:8080/p?q=1@2",
                "http://**REDACTED**@h:8080/p?q=1@2",
            ),
            ("https://h/x@y", "https://h/x@y"),
            ("https://h?u=a@b", "https://h?u=a@b"),
            ("not a url", "not a url"),
            ("https://api.datadoghq.com", "https://api.datadoghq.com"),
        ] {
            assert_eq!(redact_userinfo(url), want, "{url}");
        }
    }

    #[test]
    fn debug_shows_neither_the_key_nor_userinfo() {
        let config = DatadogConfig::new(KEY)
            .with_base_url("https://proxy-user:proxy-pass@proxy.internal/datadog");
        let t = Transport::new(&config).unwrap();
        let d = format!("{t:?}");
        assert!(
            d.contains("https://**REDACTED**@proxy.internal/datadog"),
            "{d}"
        );
        for secret in ["proxy-user", "proxy-pass", KEY] {
            assert!(!d.contains(secret), "{d}");
        }
    }

    #[test]
    fn the_key_never_appears_in_errors() {
        let key = Secret::new(KEY);
        let body = format!(r#"{{"errors":["API key {KEY} is invalid"]}}"#);
        let e = classify(&answer(403, &body), &key).unwrap();
        let text = format!("{e} {e:?}");
        assert!(!text.contains(KEY), "{text}");
        assert!(text.contains("**REDACTED**"), "{text}");
    }
}
