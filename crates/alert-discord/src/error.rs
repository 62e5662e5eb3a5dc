//! Discord's answers → [`NotifyError`]s with the right retry classification.
//!
//! | answer | error | retry |
//! |---|---|---|
//! | 429 (any body) | `RateLimited` | `After(max(body retry_after, Retry-After))`, else `X-RateLimit-Reset-After` |
//! | codes 20016 / 20028 (slowmode, channel write limit) | `RateLimited` | as 429 |
//! | 401, code 50027 | `Unauthorized` (webhook dead) | `Never` |
//! | 403, code 40333 (Cloudflare block) | `Rejected` (the webhook may be fine) | `Never` |
//! | other 403 | `Unauthorized` | `Never` |
//! | 404, code 10015 | `Gone` (webhook deleted) | `Never` |
//! | 400, code 50035 | `Rejected`, message lists the failing field paths | `Never` |
//! | 502, other 5xx, 408 | `Server` | `Backoff` (or `After` with `Retry-After`) |

use std::time::Duration;

use alert_core::http::{body_excerpt, classify_status, parse_retry_after};
use alert_core::{NotifyError, Secret, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use crate::limits;

pub(crate) const CHANNEL: &str = "discord";

/// Unknown Webhook.
pub(crate) const UNKNOWN_WEBHOOK: i64 = 10015;
/// Unknown Message.
pub(crate) const UNKNOWN_MESSAGE: i64 = 10008;
/// Invalid Webhook Token.
pub(crate) const INVALID_WEBHOOK_TOKEN: i64 = 50027;
/// Invalid Form Body.
pub(crate) const INVALID_FORM_BODY: i64 = 50035;
/// Cannot send an empty message.
pub(crate) const EMPTY_MESSAGE: i64 = 50006;
/// Cloudflare refused the request (often a missing or bad User-Agent).
pub(crate) const CLOUDFLARE_BLOCK: i64 = 40333;

/// Discord's error body (and its 429 body, which has no `code`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ApiError {
    #[serde(default)]
    pub(crate) code: Option<i64>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) errors: Option<Value>,
    #[serde(default)]
    pub(crate) retry_after: Option<f64>,
}

/// Rate-limit headers of an answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RateLimit {
    pub(crate) retry_after: Option<Duration>,
    pub(crate) limit: Option<String>,
    pub(crate) remaining: Option<String>,
    pub(crate) reset_after: Option<Duration>,
    pub(crate) bucket: Option<String>,
}

impl RateLimit {
    pub(crate) fn from_headers(h: &reqwest::header::HeaderMap) -> RateLimit {
        let get = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let secs = |v: Option<String>| v.and_then(|v| parse_retry_after(&v, Timestamp::now()));
        RateLimit {
            retry_after: secs(get("retry-after")),
            limit: get("x-ratelimit-limit"),
            remaining: get("x-ratelimit-remaining"),
            reset_after: secs(get("x-ratelimit-reset-after")),
            bucket: get("x-ratelimit-bucket"),
        }
    }
}

/// A failed request: the error, and Discord's JSON code when there was one (the
/// notifier uses it to tell a dead webhook from a missing message).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: NotifyError,
    pub(crate) code: Option<i64>,
}

impl From<NotifyError> for Failure {
    fn from(error: NotifyError) -> Failure {
        Failure { error, code: None }
    }
}

fn secs_f64(s: f64) -> Option<Duration> {
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s.min(1e9)))
}

/// Classifies a non-2xx answer. `token` is scrubbed from every message.
pub(crate) fn classify(status: u16, rl: &RateLimit, body: &str, token: &Secret) -> Failure {
    let api: ApiError = serde_json::from_str(body).unwrap_or_default();
    let code = api.code;
    let discord_msg = api
        .message
        .as_deref()
        .map(|m| body_excerpt(m, 200))
        .unwrap_or_else(|| body_excerpt(body, 300));
    let with_code = |what: &str| match code {
        Some(c) => format!("{what} (code {c}): {discord_msg}"),
        None => format!("{what}: {discord_msg}"),
    };
    let scrub = |s: String| token.scrub(&s);
    let error = match (status, code) {
        (429, _) | (_, Some(20016 | 20028)) => {
            // Take the larger of the body's float seconds and the header's integer
            // seconds, so we never come back early; fall back to the bucket reset.
            let body_delay = api.retry_after.and_then(secs_f64);
            let delay = match (body_delay, rl.retry_after) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b).or(rl.reset_after),
            };
            NotifyError::RateLimited {
                channel: CHANNEL,
                retry_after: delay,
            }
        }
        (_, Some(CLOUDFLARE_BLOCK)) => NotifyError::Rejected {
            channel: CHANNEL,
            status: Some(status),
            message: scrub(with_code(
                "request blocked by Discord's Cloudflare front: the User-Agent or this \
                 IP address was refused (the webhook itself may be fine)",
            )),
        },
        (_, Some(UNKNOWN_WEBHOOK)) => NotifyError::Gone {
            channel: CHANNEL,
            status: Some(status),
            message: scrub(with_code(
                "unknown webhook: it was deleted; stop sending to it and configure a new webhook URL",
            )),
        },
        (_, Some(INVALID_WEBHOOK_TOKEN)) => NotifyError::Unauthorized {
            channel: CHANNEL,
            status: Some(status),
            message: scrub(with_code(
                "invalid webhook token: the webhook is dead or its URL is wrong; configure a new webhook URL",
            )),
        },
        (_, Some(INVALID_FORM_BODY)) => {
            let mut paths = api.errors.as_ref().map(limits::flatten).unwrap_or_default();
            let total = paths.len();
            paths.truncate(10);
            let mut detail = paths.join("; ");
            if total > paths.len() {
                detail.push_str(&format!("; and {} more", total - paths.len()));
            }
            if detail.is_empty() {
                detail = "no field paths given".to_owned();
            }
            NotifyError::Rejected {
                channel: CHANNEL,
                status: Some(status),
                message: scrub(format!(
                    "invalid form body (code {INVALID_FORM_BODY}): {}",
                    body_excerpt(&detail, 1500)
                )),
            }
        }
        (_, Some(EMPTY_MESSAGE)) => NotifyError::Rejected {
            channel: CHANNEL,
            status: Some(status),
            message: scrub(with_code("empty message")),
        },
        _ => {
            let retry_after = if matches!(status, 500..=599 | 408) {
                rl.retry_after
            } else {
                None
            };
            let m = match (status, code) {
                (502, None | Some(0)) => {
                    format!("gateway unavailable, wait a bit and retry: {discord_msg}")
                }
                (_, Some(c)) if c != 0 => format!("{discord_msg} (code {c})"),
                _ => discord_msg.clone(),
            };
            classify_status(CHANNEL, status, retry_after, &m).unwrap_or_else(|| {
                NotifyError::Server {
                    channel: CHANNEL,
                    status: Some(status),
                    message: "unexpected success status where an error was expected".into(),
                    retry_after: None,
                }
            })
        }
    };
    let error = match error {
        // `classify_status` quotes the message as given; scrub it like the others.
        NotifyError::Rejected {
            channel,
            status,
            message,
        } => NotifyError::Rejected {
            channel,
            status,
            message: scrub(message),
        },
        NotifyError::Unauthorized {
            channel,
            status,
            message,
        } => NotifyError::Unauthorized {
            channel,
            status,
            message: scrub(message),
        },
        NotifyError::Gone {
            channel,
            status,
            message,
        } => NotifyError::Gone {
            channel,
            status,
            message: scrub(message),
        },
        NotifyError::Server {
            channel,
            status,
            message,
            retry_after,
        } => NotifyError::Server {
            channel,
            status,
            message: scrub(message),
            retry_after,
        },
        other => other,
    };
    Failure { error, code }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Retry;

    fn c(status: u16, rl: RateLimit, body: &str) -> Failure {
        classify(status, &rl, body, &Secret::new("TOKEN-abc"))
    }

    #[test]
    fn rate_limits_take_the_larger_delay() {
        let body =
            r#"{"message": "You are being rate limited.", "retry_after": 7.25, "global": false}"#;
        let rl = RateLimit {
            retry_after: Some(Duration::from_secs(8)),
            ..RateLimit::default()
        };
        let f = c(429, rl, body);
        assert_eq!(f.error.retryable(), Retry::After(Duration::from_secs(8)));
        let rl = RateLimit {
            retry_after: Some(Duration::from_secs(7)),
            ..RateLimit::default()
        };
        assert_eq!(
            c(429, rl, body).error.retryable(),
            Retry::After(Duration::from_millis(7250))
        );
        assert_eq!(
            c(429, RateLimit::default(), body).error.retryable(),
            Retry::After(Duration::from_millis(7250))
        );
        let rl = RateLimit {
            reset_after: Some(Duration::from_millis(1500)),
            ..RateLimit::default()
        };
        assert_eq!(
            c(429, rl, "<html>cloudflare</html>").error.retryable(),
            Retry::After(Duration::from_millis(1500))
        );
        assert_eq!(
            c(429, RateLimit::default(), "").error.retryable(),
            Retry::Backoff
        );
        let slow = r#"{"code": 20016, "message": "This action cannot be performed due to slowmode rate limit.", "retry_after": 3.0}"#;
        assert_eq!(
            c(400, RateLimit::default(), slow).error.kind(),
            "rate_limited"
        );
        let neg = r#"{"message": "x", "retry_after": -1}"#;
        assert_eq!(
            c(429, RateLimit::default(), neg).error.retryable(),
            Retry::Backoff
        );
    }

    #[test]
    fn dead_webhooks_disable_the_destination() {
        let f = c(
            404,
            RateLimit::default(),
            r#"{"message": "Unknown Webhook", "code": 10015}"#,
        );
        assert_eq!(f.code, Some(10015));
        assert_eq!(f.error.kind(), "gone");
        assert!(f.error.disables_destination());
        assert!(
            f.error.to_string().contains("unknown webhook"),
            "{}",
            f.error
        );
        let f = c(
            401,
            RateLimit::default(),
            r#"{"message": "Invalid Webhook Token", "code": 50027}"#,
        );
        assert_eq!(f.error.kind(), "unauthorized");
        assert_eq!(f.error.retryable(), Retry::Never);
        assert!(f.error.disables_destination());
    }

    #[test]
    fn form_errors_list_the_paths() {
        let body = r#"{"code": 50035, "errors": {"embeds": {"0": {"title": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]}}}, "content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}, "message": "Invalid Form Body"}"#;
        let f = c(400, RateLimit::default(), body);
        assert_eq!(f.error.retryable(), Retry::Never);
        assert!(!f.error.disables_destination());
        assert_eq!(
            f.error.to_string(),
            "discord: rejected (HTTP 400): invalid form body (code 50035): \
             content: Must be 2000 or fewer in length. (BASE_TYPE_MAX_LENGTH); \
             embeds.0.title: Must be 256 or fewer in length. (BASE_TYPE_MAX_LENGTH)"
        );
        let f = c(
            400,
            RateLimit::default(),
            r#"{"code": 50006, "message": "Cannot send an empty message"}"#,
        );
        assert!(
            f.error.to_string().contains("empty message (code 50006)"),
            "{}",
            f.error
        );
    }

    #[test]
    fn cloudflare_server_errors_and_scrubbing() {
        let f = c(
            403,
            RateLimit::default(),
            r#"{"message": "Internal network error.", "code": 40333}"#,
        );
        assert_eq!(f.error.kind(), "rejected");
        assert!(!f.error.disables_destination());
        assert!(f.error.to_string().contains("User-Agent"), "{}", f.error);
        let f = c(
            403,
            RateLimit::default(),
            r#"{"message": "Missing Permissions", "code": 50013}"#,
        );
        assert_eq!(f.error.kind(), "unauthorized");
        let f = c(
            502,
            RateLimit::default(),
            "<html><head><title>502 Bad Gateway</title></head></html>",
        );
        assert_eq!(f.error.retryable(), Retry::Backoff);
        assert!(
            f.error.to_string().contains("gateway unavailable"),
            "{}",
            f.error
        );
        let rl = RateLimit {
            retry_after: Some(Duration::from_secs(4)),
            ..RateLimit::default()
        };
        assert_eq!(
            c(503, rl, "").error.retryable(),
            Retry::After(Duration::from_secs(4))
        );
        let f = c(500, RateLimit::default(), "oops TOKEN-abc leaked");
        assert!(!f.error.to_string().contains("TOKEN-abc"), "{}", f.error);
        let f = c(
            400,
            RateLimit::default(),
            r#"{"code": 50035, "errors": {"TOKEN-abc": {"_errors": [{"code": "X", "message": "TOKEN-abc"}]}}}"#,
        );
        assert!(!f.error.to_string().contains("TOKEN-abc"), "{}", f.error);
        let f = c(
            404,
            RateLimit::default(),
            r#"{"message": "Unknown Message", "code": 10008}"#,
        );
        assert_eq!((f.error.kind(), f.code), ("gone", Some(10008)));
    }
}
