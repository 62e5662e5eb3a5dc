//! Classification of Slack's answers into [`NotifyError`]s (private).
//!
//! | Slack's answer | error | retry |
//! |---|---|---|
//! | HTTP 429 (`Retry-After` in whole seconds) | `RateLimited` | after that delay (else back off) |
//! | `ok:false` `ratelimited` / `rate_limited` (HTTP 200) | `RateLimited` | back off |
//! | `ok:false` `internal_error`, `fatal_error`, `request_timeout`, `service_unavailable`, `team_added_to_org`; webhook `rollup_error` | `Server` | back off |
//! | HTTP 5xx or 408, whatever the body | `Server` | back off |
//! | `channel_not_found`, `channel_is_archived`, `is_archived`, `no_service`, `no_team`, `user_not_found` | `Gone` | never; the destination is dead |
//! | `invalid_auth`, `not_authed`, `invalid_token`, `token_revoked`, `token_expired`, `account_inactive`, `no_permission`, `missing_scope`, `not_allowed_token_type`, `not_in_channel`, `ekm_access_denied`, `access_denied`, `action_prohibited`, `posting_to_general_channel_denied`, `team_access_not_granted`, `org_login_required`, `restricted_action*` | `Unauthorized` | never; the credentials or permissions are unusable |
//! | `invalid_payload`, `invalid_blocks`, `msg_too_long`, `no_text`, `too_many_attachments`, `invalid_arguments`, ... | `Rejected` | never |
//! | a code outside this table in a Web API `ok:false` (HTTP 200) | `Rejected` | never |
//! | a code outside this table on a webhook's 4xx, or a body that is not a code | by the status (`alert_core::http::classify_status`): 404/410 `Gone`, 401/403 `Unauthorized`, other 4xx `Rejected` | never |
//! | connection refused or reset, TLS, DNS | `Transport` | back off |
//! | a success answer that cannot be read | `Server` | back off (a duplicate beats a loss) |

use alert_core::http as core_http;
use alert_core::{NotifyError, Secret};
use slack_morphism::errors::SlackClientError;

use crate::notifier::CHANNEL;

/// How a Slack error code is classified, before it becomes a [`NotifyError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CodeClass {
    RateLimited,
    Server,
    Gone,
    Unauthorized,
    Rejected,
}

/// The class of a known Slack error code (Web API `error` or webhook body);
/// `None` for a code outside the table.
pub(crate) fn code_class(code: &str) -> Option<CodeClass> {
    Some(match code {
        "ratelimited" | "rate_limited" => CodeClass::RateLimited,
        "internal_error"
        | "fatal_error"
        | "request_timeout"
        | "service_unavailable"
        | "team_added_to_org"
        | "rollup_error" => CodeClass::Server,
        "channel_not_found"
        | "channel_is_archived"
        | "is_archived"
        | "no_service"
        | "no_team"
        | "user_not_found" => CodeClass::Gone,
        "invalid_auth"
        | "not_authed"
        | "invalid_token"
        | "token_revoked"
        | "token_expired"
        | "account_inactive"
        | "no_permission"
        | "missing_scope"
        | "not_allowed_token_type"
        | "not_in_channel"
        | "ekm_access_denied"
        | "access_denied"
        | "action_prohibited"
        | "posting_to_general_channel_denied"
        | "team_access_not_granted"
        | "org_login_required" => CodeClass::Unauthorized,
        c if c.starts_with("restricted_action") => CodeClass::Unauthorized,
        // Known codes that are the request's fault.
        "invalid_payload"
        | "invalid_blocks"
        | "invalid_blocks_format"
        | "invalid_arguments"
        | "invalid_arg_name"
        | "invalid_charset"
        | "invalid_form_data"
        | "invalid_post_type"
        | "missing_post_type"
        | "invalid_json"
        | "json_not_object"
        | "msg_too_long"
        | "msg_blocks_too_long"
        | "no_text"
        | "missing_text_or_fallback_or_attachments"
        | "too_many_attachments"
        | "as_user_not_supported"
        | "message_not_found"
        | "cant_update_message"
        | "edit_window_closed"
        | "unknown_method" => CodeClass::Rejected,
        _ => return None,
    })
}

fn from_class(class: CodeClass, status: Option<u16>, message: String) -> NotifyError {
    match class {
        CodeClass::RateLimited => NotifyError::RateLimited {
            channel: CHANNEL,
            retry_after: None,
        },
        CodeClass::Server => NotifyError::Server {
            channel: CHANNEL,
            status,
            message,
            retry_after: None,
        },
        CodeClass::Gone => NotifyError::Gone {
            channel: CHANNEL,
            status,
            message,
        },
        CodeClass::Unauthorized => NotifyError::Unauthorized {
            channel: CHANNEL,
            status,
            message,
        },
        CodeClass::Rejected => NotifyError::Rejected {
            channel: CHANNEL,
            status,
            message,
        },
    }
}

/// A body that is a bare Slack error code (`channel_not_found`), or a JSON envelope
/// with an `error` field: the code.
fn body_code(body: &str) -> Option<String> {
    let t = body.trim();
    if !t.is_empty()
        && t.len() <= 64
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Some(t.to_owned());
    }
    let v: serde_json::Value = serde_json::from_str(t).ok()?;
    v.get("error")?.as_str().map(str::to_owned)
}

/// The secrets an error text must never carry: the webhook URL (and its path, the
/// secret part) and the bot token.
#[derive(Clone, Default)]
pub(crate) struct Scrubber(pub(crate) Vec<Secret>);

impl Scrubber {
    pub(crate) fn scrub(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |t, s| s.scrub(&t))
    }
}

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut src = err.source();
    while let Some(e) = src {
        let m = e.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = e.source();
    }
    s
}

/// Turns what slack-morphism returned for `what` (`chat.postMessage`,
/// `incoming webhook`, ...) into a classified [`NotifyError`] without secrets.
pub(crate) fn classify(what: &str, err: SlackClientError, scrubber: &Scrubber) -> NotifyError {
    match err {
        SlackClientError::ApiError(e) => {
            let mut message = format!("{what}: {}", e.code);
            if let Some(errors) = e.errors.filter(|v| !v.is_empty()) {
                message.push_str(&format!(" ({})", errors.join("; ")));
            }
            let message = core_http::body_excerpt(&scrubber.scrub(&message), 300);
            // HTTP 200 with `ok:false`: no status to go by, so an unknown code is the
            // request's fault.
            from_class(
                code_class(&e.code).unwrap_or(CodeClass::Rejected),
                None,
                message,
            )
        }
        SlackClientError::RateLimitError(e) => NotifyError::RateLimited {
            channel: CHANNEL,
            retry_after: e.retry_after,
        },
        SlackClientError::HttpError(e) => {
            let status = e.status_code.as_u16();
            let body = scrubber.scrub(e.http_response_body.as_deref().unwrap_or_default());
            let code = body_code(&body);
            match code.as_deref().map(|c| (c, code_class(c))) {
                // A known code on a 4xx decides; 5xx, 408 and 429 follow the status
                // whatever the body says, and so does an unknown code (a 404 or 410
                // means the webhook is dead, a 401 or 403 that it is refused).
                Some((c, Some(class)))
                    if (400..500).contains(&status) && !matches!(status, 408 | 429) =>
                {
                    from_class(class, Some(status), format!("{what}: {c}"))
                }
                _ => core_http::classify_status(
                    CHANNEL,
                    status,
                    None,
                    &format!("{what}: {}", code.unwrap_or(body)),
                )
                .unwrap_or_else(|| NotifyError::Server {
                    channel: CHANNEL,
                    status: Some(status),
                    message: format!("{what}: unexpected answer"),
                    retry_after: None,
                }),
            }
        }
        SlackClientError::ProtocolError(e) => NotifyError::Server {
            channel: CHANNEL,
            status: None,
            message: format!(
                "{what}: unreadable answer from Slack: {}",
                scrubber.scrub(&e.json_error.to_string())
            ),
            retry_after: None,
        },
        SlackClientError::HttpProtocolError(e) => {
            let cause = e
                .cause
                .as_deref()
                .map(|c| chain(c))
                .unwrap_or_else(|| "connection failed".to_owned());
            NotifyError::transport_msg(CHANNEL, scrubber.scrub(&format!("{what}: {cause}")))
        }
        other => NotifyError::transport_msg(
            CHANNEL,
            scrubber.scrub(&format!("{what}: {}", chain(&other))),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Retry;
    use slack_morphism::errors::{SlackClientApiError, SlackClientHttpError};
    use std::time::Duration;

    fn api(code: &str) -> NotifyError {
        classify(
            "chat.postMessage",
            SlackClientError::ApiError(SlackClientApiError::new(code.into())),
            &Scrubber::default(),
        )
    }

    fn hook(status: u16, body: &str) -> NotifyError {
        classify(
            "incoming webhook",
            SlackClientError::HttpError(
                SlackClientHttpError::new(http_status(status)).with_http_response_body(body.into()),
            ),
            &Scrubber::default(),
        )
    }

    fn http_status(s: u16) -> http::StatusCode {
        http::StatusCode::from_u16(s).unwrap()
    }

    #[test]
    fn web_api_codes() {
        for (code, kind, retry) in [
            ("ratelimited", "rate_limited", Retry::Backoff),
            ("rate_limited", "rate_limited", Retry::Backoff),
            ("internal_error", "server", Retry::Backoff),
            ("fatal_error", "server", Retry::Backoff),
            ("request_timeout", "server", Retry::Backoff),
            ("channel_not_found", "gone", Retry::Never),
            ("is_archived", "gone", Retry::Never),
            ("invalid_auth", "unauthorized", Retry::Never),
            ("token_revoked", "unauthorized", Retry::Never),
            ("not_in_channel", "unauthorized", Retry::Never),
            (
                "restricted_action_read_only_channel",
                "unauthorized",
                Retry::Never,
            ),
            ("msg_too_long", "rejected", Retry::Never),
            ("invalid_blocks", "rejected", Retry::Never),
            ("some_new_code", "rejected", Retry::Never),
        ] {
            let e = api(code);
            assert_eq!((e.kind(), e.retryable()), (kind, retry), "{code}: {e}");
            if kind != "rate_limited" {
                assert!(e.to_string().contains(code), "{e}");
            }
        }
    }

    #[test]
    fn webhook_plain_text_errors() {
        for (status, body, kind, disables) in [
            (400, "invalid_payload", "rejected", false),
            (400, "no_text", "rejected", false),
            (400, "user_not_found", "gone", true),
            (403, "action_prohibited", "unauthorized", true),
            (403, "invalid_token", "unauthorized", true),
            (404, "channel_not_found", "gone", true),
            (404, "no_service", "gone", true),
            (410, "channel_is_archived", "gone", true),
            (500, "rollup_error", "server", false),
            (
                502,
                "<html><title>Bad Gateway</title></html>",
                "server",
                false,
            ),
            (503, "", "server", false),
            (404, "<html>not here</html>", "gone", true),
            (418, "teapot, not a code", "rejected", false),
            // Codes outside the table: the status decides.
            (404, "webhook_disabled", "gone", true),
            (410, "some_new_code", "gone", true),
            (401, "some_new_code", "unauthorized", true),
            (403, "some_new_code", "unauthorized", true),
            (400, "some_new_code", "rejected", false),
            (422, "some_new_code", "rejected", false),
            // Known codes keep their class whatever the 4xx.
            (400, "channel_not_found", "gone", true),
            (404, "invalid_payload", "rejected", false),
        ] {
            let e = hook(status, body);
            assert_eq!(e.kind(), kind, "{status} {body}: {e}");
            if !body.contains(' ') && !body.is_empty() {
                assert!(
                    e.to_string().contains(&format!("incoming webhook: {body}")),
                    "{e}"
                );
            }
            assert_eq!(e.disables_destination(), disables, "{status} {body}");
            assert_eq!(e.status(), Some(status));
        }
        assert_eq!(hook(500, "rollup_error").retryable(), Retry::Backoff);
    }

    #[test]
    fn json_error_bodies_on_other_statuses() {
        let e = hook(400, r#"{"ok":false,"error":"invalid_arguments"}"#);
        assert_eq!(e.kind(), "rejected");
        assert!(e.to_string().contains("invalid_arguments"), "{e}");
    }

    #[test]
    fn rate_limit_errors_keep_the_delay() {
        let e = classify(
            "chat.postMessage",
            SlackClientError::RateLimitError(
                slack_morphism::errors::SlackRateLimitError::new()
                    .with_retry_after(Duration::from_secs(30)),
            ),
            &Scrubber::default(),
        );
        assert_eq!(e.retryable(), Retry::After(Duration::from_secs(30)));
    }

    #[test]
    fn secrets_are_scrubbed() {
        let s = Scrubber(vec![Secret::new("xoxb-very-secret")]);
        let e = classify(
            "chat.postMessage",
            SlackClientError::HttpError(
                SlackClientHttpError::new(http_status(500))
                    .with_http_response_body("token xoxb-very-secret refused".into()),
            ),
            &s,
        );
        assert!(!format!("{e} {e:?}").contains("xoxb-very-secret"), "{e}");
    }
}
