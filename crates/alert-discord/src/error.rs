//! Discord's answers → [`NotifyError`]s with the right retry classification.
//!
//! | answer | error | retry |
//! |---|---|---|
//! | 429 (any body) | `RateLimited` | `After(max(body retry_after, Retry-After))`; else, when the route's bucket was hit (`X-RateLimit-Scope` `user` or absent, not global), its `X-RateLimit-Reset-After`, else `X-RateLimit-Reset`; else `Backoff` |
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
    /// In a 429 body: whether the global (not a route's) limit was hit.
    #[serde(default)]
    pub(crate) global: Option<bool>,
}

/// Rate-limit headers of an answer (discord-api-docs, "Rate Limits").
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RateLimit {
    /// `Retry-After` (whole seconds, on 429s and some 5xx).
    pub(crate) retry_after: Option<Duration>,
    /// `X-RateLimit-Limit`: requests per window of the route's bucket.
    pub(crate) limit: Option<String>,
    /// `X-RateLimit-Remaining`.
    pub(crate) remaining: Option<String>,
    /// `X-RateLimit-Reset`: when the bucket resets, epoch seconds as sent
    /// (`1470173023.123`).
    pub(crate) reset: Option<String>,
    /// `X-RateLimit-Reset-After`: seconds until the bucket resets.
    pub(crate) reset_after: Option<Duration>,
    /// `X-RateLimit-Bucket`.
    pub(crate) bucket: Option<String>,
    /// `X-RateLimit-Global: true` (429 only): the global limit was hit, not a
    /// route's.
    pub(crate) global: bool,
    /// `X-RateLimit-Scope` (429 only): `user`, `global` or `shared`.
    pub(crate) scope: Option<String>,
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
            reset: get("x-ratelimit-reset").filter(|v| epoch_secs(v).is_some()),
            reset_after: secs(get("x-ratelimit-reset-after")),
            bucket: get("x-ratelimit-bucket"),
            global: get("x-ratelimit-global").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            scope: get("x-ratelimit-scope").map(|v| v.to_ascii_lowercase()),
        }
    }

    /// The time until `X-RateLimit-Reset`, from `now` (zero once passed).
    pub(crate) fn reset_in(&self, now: Timestamp) -> Option<Duration> {
        let at_ms = (epoch_secs(self.reset.as_deref()?)? * 1000.0).round() as i64;
        let ms = at_ms.saturating_sub(now.unix_millis()).max(0);
        Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
    }

    /// Whether the bucket headers describe the limit a 429 hit, so their reset is
    /// a usable delay: a route's (`user`) limit, or no scope said. The global
    /// limit and a resource's (`shared`) limit are not the route's bucket: they
    /// lift on their own schedule, given only by `retry_after` / `Retry-After`.
    fn bucket_was_hit(&self, body_global: bool) -> bool {
        !self.global && !body_global && matches!(self.scope.as_deref(), None | Some("user"))
    }
}

/// `X-RateLimit-Reset`'s epoch seconds, when it is a plausible number.
fn epoch_secs(v: &str) -> Option<f64> {
    v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0)
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
            // seconds, so we never come back early; else, when the route's bucket
            // is what was hit, wait for its reset.
            let body_delay = api.retry_after.and_then(secs_f64);
            let delay = match (body_delay, rl.retry_after) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b).or_else(|| {
                    rl.bucket_was_hit(api.global == Some(true))
                        .then(|| rl.reset_after.or_else(|| rl.reset_in(Timestamp::now())))?
                }),
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
    fn every_rate_limit_header_is_read() {
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in [
            ("Retry-After", "65"),
            ("X-RateLimit-Limit", "10"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "1470173023.123"),
            ("X-RateLimit-Reset-After", "64.57"),
            ("X-RateLimit-Bucket", "abcd1234"),
            ("X-RateLimit-Global", "true"),
            ("X-RateLimit-Scope", "Global"),
        ] {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        assert_eq!(
            RateLimit::from_headers(&h),
            RateLimit {
                retry_after: Some(Duration::from_secs(65)),
                limit: Some("10".into()),
                remaining: Some("0".into()),
                reset: Some("1470173023.123".into()),
                reset_after: Some(Duration::from_millis(64_570)),
                bucket: Some("abcd1234".into()),
                global: true,
                scope: Some("global".into()),
            }
        );
        let now = Timestamp::from_unix_millis(1_470_173_000_000).unwrap();
        let rl = RateLimit::from_headers(&h);
        assert_eq!(rl.reset_in(now), Some(Duration::from_millis(23_123)));
        let later = Timestamp::from_unix_seconds(1_470_173_100).unwrap();
        assert_eq!(rl.reset_in(later), Some(Duration::ZERO), "passed: no wait");
        // Absent or malformed headers read as absent.
        let mut bad = reqwest::header::HeaderMap::new();
        bad.insert("x-ratelimit-reset", "soon".parse().unwrap());
        bad.insert("x-ratelimit-global", "false".parse().unwrap());
        assert_eq!(RateLimit::from_headers(&bad), RateLimit::default());
    }

    #[test]
    fn a_bucket_reset_is_a_delay_only_when_the_route_bucket_was_hit() {
        let bucket = |scope: Option<&str>, global: bool| RateLimit {
            reset_after: Some(Duration::from_secs(64)),
            scope: scope.map(str::to_owned),
            global,
            ..RateLimit::default()
        };
        let no_delay = r#"{"message": "You are being rate limited.", "global": false}"#;
        let body_global = r#"{"message": "You are being rate limited.", "global": true}"#;
        for (rl, body, want) in [
            (
                bucket(None, false),
                no_delay,
                Retry::After(Duration::from_secs(64)),
            ),
            (
                bucket(Some("user"), false),
                no_delay,
                Retry::After(Duration::from_secs(64)),
            ),
            // The global limit and a shared resource's limit are not the bucket.
            (bucket(Some("global"), false), no_delay, Retry::Backoff),
            (bucket(None, true), no_delay, Retry::Backoff),
            (bucket(None, false), body_global, Retry::Backoff),
            (bucket(Some("shared"), false), no_delay, Retry::Backoff),
        ] {
            let what = format!("{rl:?} {body}");
            assert_eq!(c(429, rl, body).error.retryable(), want, "{what}");
        }
        // Given delays win whatever the scope.
        let shared = RateLimit {
            retry_after: Some(Duration::from_secs(120)),
            ..bucket(Some("shared"), false)
        };
        assert_eq!(
            c(429, shared, r#"{"retry_after": 119.57, "global": false}"#)
                .error
                .retryable(),
            Retry::After(Duration::from_secs(120))
        );
        // Only the epoch reset: the time until then.
        let at = Timestamp::now().saturating_add(Duration::from_secs(600));
        let rl = RateLimit {
            reset: Some(format!("{:.3}", at.unix_millis() as f64 / 1000.0)),
            ..RateLimit::default()
        };
        let Retry::After(d) = c(429, rl, "").error.retryable() else {
            panic!("expected a delay")
        };
        assert!(
            d > Duration::from_secs(500) && d <= Duration::from_secs(600),
            "{d:?}"
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
