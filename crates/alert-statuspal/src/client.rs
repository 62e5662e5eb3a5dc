//! The HTTP side: requests to the Statuspal API v2 and the classification of their
//! answers into [`NotifyError`]s.
//!
//! | answer | error | retry |
//! |---|---|---|
//! | 401, 403 | `Unauthorized` ("bad key or wrong subdomain") | never; disables the destination |
//! | 404 on a page-level request (list, create) | `Gone` ("status page not found") | never; disables the destination |
//! | 404 on an incident (update, `PUT`) | `Rejected` ("incident not found"); the notifier forgets the incident | never |
//! | 429 | `RateLimited` (`Retry-After` honoured if ever sent) | backoff |
//! | 408, 5xx | `Server` | backoff |
//! | other 4xx (400, 422) | `Rejected` | never |
//!
//! Every message quotes the response body (trimmed, at most 300 characters) with the
//! API key scrubbed out of it. `RateLimited` carries no message, so the body of a
//! 429 is logged instead (`tracing`, level `warn`, field `body`), scrubbed the same way.

use std::time::Duration;

use alert_core::{NotifyError, REDACTED, Result, Secret, Timestamp, http};
use reqwest::header::HeaderValue;
use reqwest::{Method, Url};
use serde_json::Value;

use crate::assumptions::LIST_PAGE_LIMIT;
use crate::payload::IncidentList;

pub(crate) const CHANNEL: &str = "statuspal";

/// What a request is about, for 404 classification.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope<'a> {
    /// The status page itself (listing, creating).
    Page,
    /// One incident of the page.
    Incident(&'a str),
}

/// One page of a listing and the cursor query of the next one.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) list: IncidentList,
    pub(crate) next_query: Option<String>,
}

#[derive(Clone)]
pub(crate) struct Api {
    client: reqwest::Client,
    /// `{base}/status_pages/{subdomain}`.
    page: String,
    subdomain: String,
    key: Secret,
    /// `Authorization: <key>`, marked sensitive (kept out of HTTP-level debug
    /// output and HPACK tables).
    auth: HeaderValue,
    timeout: Duration,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("page", &redact_userinfo(&self.page))
            .field("key", &self.key)
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

impl Api {
    /// Fails when the key cannot be sent in a header (checked by the notifier's
    /// constructor, which names the field).
    pub(crate) fn new(
        client: reqwest::Client,
        base: &str,
        subdomain: &str,
        key: Secret,
        timeout: Duration,
    ) -> std::result::Result<Api, reqwest::header::InvalidHeaderValue> {
        let mut auth = HeaderValue::from_str(key.expose())?;
        auth.set_sensitive(true);
        Ok(Api {
            client,
            page: format!("{}/status_pages/{subdomain}", base.trim_end_matches('/')),
            subdomain: subdomain.to_owned(),
            key,
            auth,
            timeout,
        })
    }

    pub(crate) fn incidents_url(&self) -> String {
        format!("{}/incidents", self.page)
    }

    fn incident_url(&self, id: &str) -> String {
        format!("{}/incidents/{id}", self.page)
    }

    /// Sends one request and returns the parsed JSON answer of a 2xx (`Null` for an
    /// empty body, `Err` with `unreadable` for a non-JSON one).
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        scope: Scope<'_>,
    ) -> Result<std::result::Result<Value, String>> {
        let mut req = self
            .client
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, self.auth.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| http::parse_retry_after(v, Timestamp::now()));
        let text = resp.text().await.map_err(|e| self.transport(e))?;
        if !(200..300).contains(&status) {
            return Err(self.classify(status, retry_after, &text, scope));
        }
        if text.trim().is_empty() {
            return Ok(Ok(Value::Null));
        }
        Ok(serde_json::from_str(&text).map_err(|e| {
            format!(
                "unreadable answer ({e}): {}",
                http::body_excerpt(&self.key.scrub(&text), 200)
            )
        }))
    }

    fn transport(&self, e: reqwest::Error) -> NotifyError {
        if e.is_timeout() {
            NotifyError::Timeout {
                channel: CHANNEL,
                after: self.timeout,
            }
        } else {
            NotifyError::transport(CHANNEL, e.without_url())
        }
    }

    pub(crate) fn classify(
        &self,
        status: u16,
        retry_after: Option<Duration>,
        body: &str,
        scope: Scope<'_>,
    ) -> NotifyError {
        let quoted = http::body_excerpt(&self.key.scrub(body), 300);
        let sub = &self.subdomain;
        match (status, scope) {
            (401 | 403, _) => NotifyError::Unauthorized {
                channel: CHANNEL,
                status: Some(status),
                message: format!(
                    "the API key was refused for status page `{sub}` (a bad or revoked key, \
                     or a subdomain the key has no access to): {quoted}"
                ),
            },
            (404, Scope::Page) => NotifyError::Gone {
                channel: CHANNEL,
                status: Some(404),
                message: format!(
                    "status page `{sub}` not found (check the subdomain and the region): {quoted}"
                ),
            },
            (404, Scope::Incident(id)) => NotifyError::Rejected {
                channel: CHANNEL,
                status: Some(404),
                message: format!(
                    "incident {id} not found on status page `{sub}` (deleted on the page?); \
                     it is forgotten and the next firing opens a new one: {quoted}"
                ),
            },
            (429, _) => {
                // `RateLimited` has no message: what the server said goes to the log
                // (key scrubbed), so a tier or quota message is not lost.
                tracing::warn!(
                    channel = CHANNEL,
                    status = 429,
                    subdomain = %sub,
                    retry_after_secs = retry_after.map(|d| d.as_secs()),
                    body = %quoted,
                    "rate limited by Statuspal"
                );
                NotifyError::RateLimited {
                    channel: CHANNEL,
                    retry_after: retry_after.map(|d| d.min(alert_core::MAX_RETRY_AFTER)),
                }
            }
            _ => {
                http::classify_status(CHANNEL, status, retry_after, &quoted).unwrap_or_else(|| {
                    NotifyError::Server {
                        channel: CHANNEL,
                        status: Some(status),
                        message: "unexpected success status".into(),
                        retry_after: None,
                    }
                })
            }
        }
    }

    /// `POST …/incidents`.
    pub(crate) async fn create_incident(&self, body: &Value) -> Result<Value> {
        let url = self.incidents_url();
        self.send(Method::POST, &url, Some(body), Scope::Page)
            .await?
            .map_err(|m| NotifyError::Server {
                channel: CHANNEL,
                status: None,
                message: format!("incident created but {m}"),
                retry_after: None,
            })
    }

    /// `POST …/incidents/{id}/updates`. The answer is not relied on (`Null` when
    /// unreadable).
    pub(crate) async fn post_update(&self, id: &str, body: &Value) -> Result<Value> {
        let url = format!("{}/updates", self.incident_url(id));
        Ok(self
            .send(Method::POST, &url, Some(body), Scope::Incident(id))
            .await?
            .unwrap_or(Value::Null))
    }

    /// `PUT …/incidents/{id}`. The answer is not relied on.
    pub(crate) async fn put_incident(&self, id: &str, body: &Value) -> Result<Value> {
        let url = self.incident_url(id);
        Ok(self
            .send(Method::PUT, &url, Some(body), Scope::Incident(id))
            .await?
            .unwrap_or(Value::Null))
    }

    /// One page of `GET …/incidents`: the first one (`query` `None`) or the one a
    /// previous page's `links.next` pointed to.
    ///
    /// Only the *query* of `links.next` (the cursor) is used, applied to this
    /// client's own incidents URL: the key is never sent to another host, and
    /// next links that say `/api/v1/` (a known quirk) stay on the v2 API.
    pub(crate) async fn list_page(&self, query: Option<&str>) -> Result<Page> {
        let url = match query {
            None => format!("{}?limit={LIST_PAGE_LIMIT}", self.incidents_url()),
            Some(q) => format!("{}?{q}", self.incidents_url()),
        };
        let value = self
            .send(Method::GET, &url, None, Scope::Page)
            .await?
            .map_err(|m| NotifyError::Server {
                channel: CHANNEL,
                status: None,
                message: format!("incident list: {m}"),
                retry_after: None,
            })?;
        let list: IncidentList =
            serde_json::from_value(value).map_err(|e| NotifyError::Server {
                channel: CHANNEL,
                status: None,
                message: format!("incident list has an unexpected shape: {e}"),
                retry_after: None,
            })?;
        let next_query = list
            .links
            .as_ref()
            .and_then(|l| l.next.as_deref())
            .and_then(|n| next_query(&url, n));
        Ok(Page { list, next_query })
    }
}

/// The query string of a `links.next` value (absolute or relative to `current`),
/// or `None` when there is no next page or the link has no query.
pub(crate) fn next_query(current: &str, next: &str) -> Option<String> {
    let next = next.trim();
    if next.is_empty() {
        return None;
    }
    let url = Url::parse(next)
        .or_else(|_| Url::parse(current).and_then(|c| c.join(next)))
        .ok()?;
    url.query().filter(|q| !q.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Retry;

    fn api() -> Api {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        Api::new(
            client,
            "http://127.0.0.1:9/api/v2/",
            "acme",
            Secret::new("key-s3cret-123"),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    /// A `tracing` writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_body_of_a_429_is_logged_without_the_key() {
        let a = api();
        let buf = Buf::default();
        let sink = buf.clone();
        // No colour codes between field names and values, whichever features the
        // workspace build unifies (alert-cli turns on tracing-subscriber's `ansi`).
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let e = tracing::subscriber::with_default(subscriber, || {
            a.classify(
                429,
                None,
                r#"{"errors":{"detail":"100 requests per 10 seconds exceeded for key-s3cret-123"}}"#,
                Scope::Page,
            )
        });
        assert_eq!(e.kind(), "rate_limited");
        let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("rate limited by Statuspal"), "{log}");
        assert!(
            log.contains("100 requests per 10 seconds exceeded"),
            "{log}"
        );
        assert!(log.contains("subdomain=acme"), "{log}");
        assert!(!log.contains("key-s3cret-123"), "{log}");
        assert!(log.contains("**REDACTED**"), "{log}");
    }

    #[test]
    fn debug_shows_neither_the_key_nor_userinfo() {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let a = Api::new(
            client,
            "https://proxy-user:proxy-pass@proxy.internal/statuspal/api/v2",
            "acme",
            Secret::new("key-s3cret-123"),
            Duration::from_secs(1),
        )
        .unwrap();
        let d = format!("{a:?}");
        assert!(
            d.contains("https://**REDACTED**@proxy.internal/statuspal/api/v2/status_pages/acme"),
            "{d}"
        );
        for secret in ["proxy-user", "proxy-pass", "key-s3cret-123"] {
            assert!(!d.contains(secret), "{d}");
        }
        assert!(a.auth.is_sensitive());
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
            ("https://statuspal.io/api/v2", "https://statuspal.io/api/v2"),
        ] {
            assert_eq!(redact_userinfo(url), want, "{url}");
        }
    }

    #[test]
    fn classification_table() {
        let a = api();
        let c = |s: u16, scope| {
            let e = a.classify(s, None, "{\"error\":\"x key-s3cret-123\"}", scope);
            (e.kind(), e.retryable(), e.to_string())
        };
        let (k, r, m) = c(401, Scope::Page);
        assert_eq!((k, r), ("unauthorized", Retry::Never));
        assert!(m.contains("`acme`") && m.contains("key"), "{m}");
        assert!(
            !m.contains("key-s3cret-123") && m.contains("**REDACTED**"),
            "{m}"
        );
        assert_eq!(c(403, Scope::Incident("7")).0, "unauthorized");
        let (k, _, m) = c(404, Scope::Page);
        assert_eq!(k, "gone");
        assert!(m.contains("status page `acme` not found"), "{m}");
        let (k, r, m) = c(404, Scope::Incident("7"));
        assert_eq!((k, r), ("rejected", Retry::Never));
        assert!(m.contains("incident 7 not found"), "{m}");
        assert_eq!(c(429, Scope::Page).1, Retry::Backoff);
        assert_eq!(c(500, Scope::Page).0, "server");
        assert_eq!(c(502, Scope::Page).1, Retry::Backoff);
        assert_eq!(c(422, Scope::Page).0, "rejected");
        assert_eq!(c(400, Scope::Incident("1")).1, Retry::Never);
        let e = a.classify(429, Some(Duration::from_secs(5)), "", Scope::Page);
        assert_eq!(e.retryable(), Retry::After(Duration::from_secs(5)));
    }

    #[test]
    fn next_links_keep_only_their_query() {
        let cur = "http://127.0.0.1:9/api/v2/status_pages/acme/incidents?limit=100";
        assert_eq!(
            next_query(
                cur,
                "https://statuspal.io/api/v1/status_pages/acme/incidents?before=5&limit=100"
            )
            .as_deref(),
            Some("before=5&limit=100")
        );
        assert_eq!(
            next_query(cur, "/api/v1/status_pages/acme/incidents?after=x").as_deref(),
            Some("after=x")
        );
        assert_eq!(next_query(cur, ""), None);
        assert_eq!(next_query(cur, "https://statuspal.io/api/v2/x"), None);
        assert_eq!(
            a_urls(),
            "http://127.0.0.1:9/api/v2/status_pages/acme/incidents"
        );
    }

    fn a_urls() -> String {
        api().incidents_url()
    }
}
