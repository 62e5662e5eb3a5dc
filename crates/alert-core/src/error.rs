//! Errors: [`NotifyError`] when sending, [`BuildError`] when constructing, and the
//! retry classification every error answers ([`Retry`]).
//!
//! The design follows `docs/adr/0001-errors-and-retry.md`: channels never retry by
//! themselves; they classify, and the retry layer in `alert-router` decides.

use std::fmt;
use std::time::Duration;

/// A boxed error source, for transport failures a caller may want to inspect.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`NotifyError`] as the default error.
pub type Result<T, E = NotifyError> = std::result::Result<T, E>;

/// The longest server-given delay honoured as is; longer delays are capped to this.
///
/// A provider asking for more than 15 minutes is treated as "back off for 15 minutes":
/// an alert that waits longer is usually worth less than the risk of a bogus header.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// What the caller should do about a failed send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Do not retry: the same request will fail the same way.
    Never,
    /// Retry with exponential backoff.
    Backoff,
    /// Retry after this server-given delay (already capped at [`MAX_RETRY_AFTER`]).
    After(Duration),
}

/// Why a notification could not be sent.
///
/// Every variant names the channel (`slack`, `discord`, ...). No variant ever holds a
/// secret: channels put status codes and provider error codes in messages, never
/// URLs, tokens or keys (the testkit conformance suite checks this).
///
/// Use [`NotifyError::retryable`] to decide what to do next, and
/// [`NotifyError::disables_destination`] to know whether the destination itself is
/// unusable (a deleted webhook, a revoked key) rather than just this message.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The provider asked us to slow down (HTTP 429 or an equivalent code).
    #[error("{channel}: rate limited{}", fmt_after(*retry_after))]
    RateLimited {
        /// The channel.
        channel: &'static str,
        /// The server-given delay, when there was one.
        retry_after: Option<Duration>,
    },
    /// The provider failed on its side (HTTP 5xx, 408, or an "internal error" code).
    #[error("{channel}: server error{}: {message}{}", fmt_status(*status), fmt_after(*retry_after))]
    Server {
        /// The channel.
        channel: &'static str,
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// What the provider said.
        message: String,
        /// The server-given delay (e.g. 503 with `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The provider refused this request as invalid (HTTP 400, 413, 422, a payload
    /// error code). Retrying the same request will not help.
    #[error("{channel}: rejected{}: {message}", fmt_status(*status))]
    Rejected {
        /// The channel.
        channel: &'static str,
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// What the provider said (error code, failing fields).
        message: String,
    },
    /// The provider refused the credentials (HTTP 401/403, revoked token).
    #[error("{channel}: credentials refused{}: {message}", fmt_status(*status))]
    Unauthorized {
        /// The channel.
        channel: &'static str,
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// What the provider said, with no secret in it.
        message: String,
    },
    /// The destination no longer exists (HTTP 404/410, unknown webhook, archived
    /// channel).
    #[error("{channel}: destination gone{}: {message}", fmt_status(*status))]
    Gone {
        /// The channel.
        channel: &'static str,
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// What the provider said.
        message: String,
    },
    /// The request did not complete: connection refused or reset, DNS, TLS, a body
    /// that could not be read.
    #[error("{channel}: transport error: {source}")]
    Transport {
        /// The channel.
        channel: &'static str,
        /// The underlying error, stripped of URLs.
        #[source]
        source: BoxError,
    },
    /// No answer within the deadline.
    #[error("{channel}: timed out after {after:?}")]
    Timeout {
        /// The channel.
        channel: &'static str,
        /// The deadline that passed.
        after: Duration,
    },
    /// The channel's backend is not there: no notification daemon on the session bus,
    /// no session bus, a platform without support. Not worth retrying in a tight loop.
    #[error("{channel}: unavailable: {reason}")]
    Unavailable {
        /// The channel.
        channel: &'static str,
        /// What is missing.
        reason: String,
    },
    /// The alert cannot be represented on this channel at all.
    #[error("{channel}: cannot send this alert: {reason}")]
    InvalidAlert {
        /// The channel.
        channel: &'static str,
        /// Why.
        reason: String,
    },
}

fn fmt_after(d: Option<Duration>) -> String {
    d.map(|d| format!(" (retry after {d:?})"))
        .unwrap_or_default()
}

fn fmt_status(s: Option<u16>) -> String {
    s.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

fn cap(d: Duration) -> Duration {
    d.min(MAX_RETRY_AFTER)
}

impl NotifyError {
    /// What to do about this error: never retry, back off, or wait the server's delay.
    ///
    /// | variant | classification |
    /// |---|---|
    /// | `RateLimited` | `After(d)` with the server's delay (capped), else `Backoff` |
    /// | `Server` | `After(d)` when the server gave a delay, else `Backoff` |
    /// | `Transport`, `Timeout` | `Backoff` |
    /// | `Rejected`, `Unauthorized`, `Gone`, `Unavailable`, `InvalidAlert` | `Never` |
    pub fn retryable(&self) -> Retry {
        match self {
            NotifyError::RateLimited { retry_after, .. }
            | NotifyError::Server { retry_after, .. } => match retry_after {
                Some(d) => Retry::After(cap(*d)),
                None => Retry::Backoff,
            },
            NotifyError::Transport { .. } | NotifyError::Timeout { .. } => Retry::Backoff,
            NotifyError::Rejected { .. }
            | NotifyError::Unauthorized { .. }
            | NotifyError::Gone { .. }
            | NotifyError::Unavailable { .. }
            | NotifyError::InvalidAlert { .. } => Retry::Never,
        }
    }

    /// Whether the destination itself is unusable (credentials refused, destination
    /// gone, backend missing), so a router should disable the receiver instead of
    /// sending it more.
    pub fn disables_destination(&self) -> bool {
        matches!(
            self,
            NotifyError::Unauthorized { .. }
                | NotifyError::Gone { .. }
                | NotifyError::Unavailable { .. }
        )
    }

    /// The channel that failed.
    pub fn channel(&self) -> &'static str {
        match self {
            NotifyError::RateLimited { channel, .. }
            | NotifyError::Server { channel, .. }
            | NotifyError::Rejected { channel, .. }
            | NotifyError::Unauthorized { channel, .. }
            | NotifyError::Gone { channel, .. }
            | NotifyError::Transport { channel, .. }
            | NotifyError::Timeout { channel, .. }
            | NotifyError::Unavailable { channel, .. }
            | NotifyError::InvalidAlert { channel, .. } => channel,
        }
    }

    /// The HTTP status behind the error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            NotifyError::RateLimited { .. } => Some(429),
            NotifyError::Server { status, .. }
            | NotifyError::Rejected { status, .. }
            | NotifyError::Unauthorized { status, .. }
            | NotifyError::Gone { status, .. } => *status,
            _ => None,
        }
    }

    /// A short, stable name of the error kind, for metrics and history:
    /// `rate_limited`, `server`, `rejected`, `unauthorized`, `gone`, `transport`,
    /// `timeout`, `unavailable`, `invalid_alert`.
    pub fn kind(&self) -> &'static str {
        match self {
            NotifyError::RateLimited { .. } => "rate_limited",
            NotifyError::Server { .. } => "server",
            NotifyError::Rejected { .. } => "rejected",
            NotifyError::Unauthorized { .. } => "unauthorized",
            NotifyError::Gone { .. } => "gone",
            NotifyError::Transport { .. } => "transport",
            NotifyError::Timeout { .. } => "timeout",
            NotifyError::Unavailable { .. } => "unavailable",
            NotifyError::InvalidAlert { .. } => "invalid_alert",
        }
    }

    /// A transport error from any error value.
    pub fn transport(channel: &'static str, source: impl Into<BoxError>) -> NotifyError {
        NotifyError::Transport {
            channel,
            source: source.into(),
        }
    }

    /// A transport error from a message (when the source error would carry a URL).
    pub fn transport_msg(channel: &'static str, message: impl Into<String>) -> NotifyError {
        NotifyError::Transport {
            channel,
            source: message.into().into(),
        }
    }
}

/// Why a channel (or router) could not be built from its configuration.
///
/// Returned only by constructors (`XNotifier::new(config)`), never when sending.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A configuration value is missing or invalid.
    #[error("invalid configuration for `{field}`: {reason}")]
    InvalidConfig {
        /// The offending key, as it appears in config (`webhook_url`, `routes[2].receiver`).
        field: String,
        /// What is wrong, with no secret in it.
        reason: String,
    },
    /// The config names a channel that was compiled out.
    #[error("channel `{channel}` is not compiled in: enable the `{feature}` feature")]
    MissingFeature {
        /// The channel named in config.
        channel: String,
        /// The Cargo feature that enables it.
        feature: String,
    },
    /// The channel does not work on this platform or machine.
    #[error("channel `{channel}` is unsupported here: {reason}")]
    Unsupported {
        /// The channel.
        channel: &'static str,
        /// Why.
        reason: String,
    },
    /// Anything else that failed at construction (an HTTP client that would not build).
    #[error("{channel}: could not be built: {source}")]
    Other {
        /// The channel.
        channel: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl BuildError {
    /// An [`InvalidConfig`](BuildError::InvalidConfig) error.
    pub fn invalid(field: impl Into<String>, reason: impl fmt::Display) -> BuildError {
        BuildError::InvalidConfig {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<NotifyError> {
        vec![
            NotifyError::RateLimited {
                channel: "x",
                retry_after: Some(Duration::from_secs(3)),
            },
            NotifyError::RateLimited {
                channel: "x",
                retry_after: None,
            },
            NotifyError::Server {
                channel: "x",
                status: Some(503),
                message: "m".into(),
                retry_after: Some(Duration::from_secs(7200)),
            },
            NotifyError::Server {
                channel: "x",
                status: Some(500),
                message: "m".into(),
                retry_after: None,
            },
            NotifyError::Rejected {
                channel: "x",
                status: Some(400),
                message: "invalid_payload".into(),
            },
            NotifyError::Unauthorized {
                channel: "x",
                status: Some(403),
                message: "m".into(),
            },
            NotifyError::Gone {
                channel: "x",
                status: Some(404),
                message: "m".into(),
            },
            NotifyError::transport("x", "connection reset"),
            NotifyError::Timeout {
                channel: "x",
                after: Duration::from_secs(10),
            },
            NotifyError::Unavailable {
                channel: "x",
                reason: "no daemon".into(),
            },
            NotifyError::InvalidAlert {
                channel: "x",
                reason: "r".into(),
            },
        ]
    }

    #[test]
    fn classification_table() {
        let got: Vec<Retry> = all().iter().map(NotifyError::retryable).collect();
        assert_eq!(
            got,
            vec![
                Retry::After(Duration::from_secs(3)),
                Retry::Backoff,
                Retry::After(MAX_RETRY_AFTER),
                Retry::Backoff,
                Retry::Never,
                Retry::Never,
                Retry::Never,
                Retry::Backoff,
                Retry::Backoff,
                Retry::Never,
                Retry::Never,
            ]
        );
        let disabling: Vec<&str> = all()
            .iter()
            .filter(|e| e.disables_destination())
            .map(NotifyError::kind)
            .collect();
        assert_eq!(disabling, ["unauthorized", "gone", "unavailable"]);
    }

    #[test]
    fn messages_name_channel_status_and_delay() {
        let e = NotifyError::RateLimited {
            channel: "slack",
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(e.to_string(), "slack: rate limited (retry after 30s)");
        let e = NotifyError::Rejected {
            channel: "discord",
            status: Some(400),
            message: "embeds.0.title".into(),
        };
        assert_eq!(
            e.to_string(),
            "discord: rejected (HTTP 400): embeds.0.title"
        );
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.channel(), "discord");
        let b = BuildError::MissingFeature {
            channel: "slack".into(),
            feature: "slack".into(),
        };
        assert_eq!(
            b.to_string(),
            "channel `slack` is not compiled in: enable the `slack` feature"
        );
    }

    #[test]
    fn errors_are_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<NotifyError>();
        assert_bounds::<BuildError>();
    }
}
