//! HTTP classification shared by every HTTP channel, with no HTTP dependency.
//!
//! Channels feed in the status, the `Retry-After` header and the body they received;
//! these functions turn them into a [`NotifyError`] with the right [`Retry`] class.
//! One table, used everywhere, so "what is retried" is the same on every channel:
//!
//! | status | error | retry |
//! |---|---|---|
//! | 2xx | none | - |
//! | 429 | `RateLimited` | `After(Retry-After)`, else `Backoff` |
//! | 408, 5xx | `Server` | `After(Retry-After)` when given (e.g. 503), else `Backoff` |
//! | 401, 403 | `Unauthorized` | `Never` |
//! | 404, 410 | `Gone` | `Never` |
//! | other 1xx, 3xx, 4xx | `Rejected` | `Never` |
//!
//! Retrying every 5xx follows object_store's choice: an alert delivered twice is
//! better than an alert lost, and the router bounds the attempts.
//!
//! [`Retry`]: crate::Retry

use std::time::Duration;

use crate::{NotifyError, Timestamp};

/// Turns an HTTP answer into an error, or `None` for a 2xx status.
///
/// `body` is quoted in the message after [`body_excerpt`]; callers that know the
/// provider's error format should decode it first and pass the useful part.
pub fn classify_status(
    channel: &'static str,
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> Option<NotifyError> {
    let message = body_excerpt(body, 300);
    let status_opt = Some(status);
    Some(match status {
        200..=299 => return None,
        429 => NotifyError::RateLimited {
            channel,
            retry_after,
        },
        408 | 500..=599 => NotifyError::Server {
            channel,
            status: status_opt,
            message,
            retry_after,
        },
        401 | 403 => NotifyError::Unauthorized {
            channel,
            status: status_opt,
            message,
        },
        404 | 410 => NotifyError::Gone {
            channel,
            status: status_opt,
            message,
        },
        _ => NotifyError::Rejected {
            channel,
            status: status_opt,
            message,
        },
    })
}

/// Parses a `Retry-After` value: delay-seconds (integer or, as Discord sends in
/// bodies, fractional) or an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`) measured
/// from `now`. Returns `None` for anything else; negative or past values give zero.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if !secs.is_finite() {
            return None;
        }
        return Some(Duration::from_secs_f64(secs.clamp(0.0, 1e9)));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only HTTP-date form
/// senders are allowed to generate (RFC 9110, 5.6.7).
pub fn parse_http_date(v: &str) -> Option<Timestamp> {
    let mut parts = v.split_ascii_whitespace();
    let _weekday = parts.next()?.strip_suffix(',')?;
    let day = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    let time = parts.next()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month)?
        + 1;
    if day.len() != 2 || year.len() != 4 || time.len() != 8 {
        return None;
    }
    format!("{year}-{month:02}-{day}T{time}Z").parse().ok()
}

/// A provider's response body made safe to quote in an error: trimmed, control
/// characters replaced, at most `max_chars` characters (with `…` when cut), and
/// `(empty body)` when there is nothing. HTML bodies are summarised by their
/// `<title>` when they have one.
pub fn body_excerpt(body: &str, max_chars: usize) -> String {
    let t = body.trim();
    if t.is_empty() {
        return "(empty body)".to_owned();
    }
    let lower_start: String = t.chars().take(15).collect::<String>().to_ascii_lowercase();
    let text = if lower_start.starts_with("<!doctype html") || lower_start.starts_with("<html") {
        match html_title(t) {
            Some(title) => format!("HTML page: {title}"),
            None => "HTML page".to_owned(),
        }
    } else {
        t.to_owned()
    };
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::fit::truncate(&cleaned, max_chars, crate::fit::Measure::Chars).into_owned()
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = lower[start..].find("</title>")? + start;
    let t = html.get(start..end)?.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Retry;

    #[test]
    fn status_table() {
        let ra = Some(Duration::from_secs(2));
        let c = |s, ra| classify_status("t", s, ra, "body").map(|e| (e.kind(), e.retryable()));
        assert_eq!(c(200, None), None);
        assert_eq!(c(204, None), None);
        assert_eq!(
            c(429, ra),
            Some(("rate_limited", Retry::After(Duration::from_secs(2))))
        );
        assert_eq!(c(429, None), Some(("rate_limited", Retry::Backoff)));
        assert_eq!(
            c(503, ra),
            Some(("server", Retry::After(Duration::from_secs(2))))
        );
        assert_eq!(c(500, None), Some(("server", Retry::Backoff)));
        assert_eq!(c(502, None), Some(("server", Retry::Backoff)));
        assert_eq!(c(408, None), Some(("server", Retry::Backoff)));
        assert_eq!(c(401, None), Some(("unauthorized", Retry::Never)));
        assert_eq!(c(403, None), Some(("unauthorized", Retry::Never)));
        assert_eq!(c(404, None), Some(("gone", Retry::Never)));
        assert_eq!(c(410, None), Some(("gone", Retry::Never)));
        assert_eq!(c(400, None), Some(("rejected", Retry::Never)));
        assert_eq!(c(413, None), Some(("rejected", Retry::Never)));
        assert_eq!(c(302, None), Some(("rejected", Retry::Never)));
    }

    #[test]
    fn retry_after_forms() {
        let now: Timestamp = "1994-11-06T08:49:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("-3", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(37))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:48:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("NaN", now), None);
        assert_eq!(
            parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now),
            None
        );
    }

    #[test]
    fn body_excerpts_are_short_clean_and_summarise_html() {
        assert_eq!(body_excerpt("  ", 10), "(empty body)");
        assert_eq!(body_excerpt("a\u{1b}[31mb\n", 50), "a [31mb");
        assert_eq!(body_excerpt(&"x".repeat(100), 10).chars().count(), 10);
        let html = "<!DOCTYPE html><html><head><title>Request forbidden by administrative rules</title></head><body>...</body></html>";
        assert_eq!(
            body_excerpt(html, 300),
            "HTML page: Request forbidden by administrative rules"
        );
        assert_eq!(
            body_excerpt("<html><body>x</body></html>", 300),
            "HTML page"
        );
    }
}
