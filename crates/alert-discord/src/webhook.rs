//! Parsing the webhook URL users copy from Discord into its id and token.

use std::fmt;
use std::str::FromStr;

use alert_core::Secret;

/// Hosts Discord serves webhooks on: the stable client, the canary and public test
/// builds, and the legacy `discordapp.com` domain.
pub const DISCORD_HOSTS: [&str; 6] = [
    "discord.com",
    "canary.discord.com",
    "ptb.discord.com",
    "discordapp.com",
    "canary.discordapp.com",
    "ptb.discordapp.com",
];

/// A Discord webhook: its id (a snowflake) and its token (a [`Secret`]).
///
/// Parsed from the URL Discord shows under *Server Settings → Integrations →
/// Webhooks → Copy Webhook URL*:
///
/// ```
/// use alert_discord::WebhookUrl;
/// let hook: WebhookUrl = "https://discord.com/api/webhooks/123456789012345678/AbC-dEf_123"
///     .parse()
///     .unwrap();
/// assert_eq!(hook.id(), 123456789012345678);
/// assert_eq!(hook.token().expose(), "AbC-dEf_123");
/// // The token never prints.
/// assert!(!format!("{hook:?}").contains("AbC"));
/// ```
///
/// Accepted forms: `https://` on `discord.com`, `canary.discord.com`,
/// `ptb.discord.com` or the legacy `discordapp.com` (and its `canary.`/`ptb.`),
/// path `/api/webhooks/{id}/{token}` or `/api/v{N}/webhooks/{id}/{token}`, an
/// optional trailing `/`, and an optional query of which only `thread_id` is kept
/// (other parameters such as `wait` are chosen by the notifier). Errors never quote
/// the token.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    id: u64,
    token: Secret,
    thread_id: Option<u64>,
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookUrl")
            .field("id", &self.id)
            .field("token", &self.token)
            .field("thread_id", &self.thread_id)
            .finish()
    }
}

/// Why a webhook URL was refused. The message names the problem and never contains
/// the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrlError {
    reason: String,
}

impl fmt::Display for WebhookUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for WebhookUrlError {}

fn err(reason: impl Into<String>) -> WebhookUrlError {
    WebhookUrlError {
        reason: reason.into(),
    }
}

/// Whether `s` looks like a Discord snowflake: 1 to 20 ASCII digits that fit a u64
/// and are not zero.
pub(crate) fn parse_snowflake(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|n| *n != 0)
}

impl WebhookUrl {
    /// A webhook from its parts (for tests and for ids and tokens stored apart).
    pub fn new(id: u64, token: impl Into<Secret>) -> Result<WebhookUrl, WebhookUrlError> {
        let token = token.into();
        check_token(token.expose())?;
        if id == 0 {
            return Err(err("the webhook id must not be 0"));
        }
        Ok(WebhookUrl {
            id,
            token,
            thread_id: None,
        })
    }

    /// The webhook id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The webhook token.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// The thread the URL pointed into (`?thread_id=`), if any.
    pub fn thread_id(&self) -> Option<u64> {
        self.thread_id
    }

    /// Parses a webhook URL; see the [type docs](WebhookUrl) for the accepted forms.
    pub fn parse(input: &str) -> Result<WebhookUrl, WebhookUrlError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(err("the webhook URL is empty"));
        }
        let url = url::Url::parse(input).map_err(|e| {
            err(format!(
                "not a URL ({e}); expected https://discord.com/api/webhooks/<id>/<token>"
            ))
        })?;
        if url.scheme() != "https" {
            return Err(err(format!(
                "the scheme must be https, not `{}` (use `api_base_url` to reach a local test server)",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("the webhook URL must not contain user info"));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if !DISCORD_HOSTS.contains(&host.as_str()) {
            return Err(err(format!(
                "host `{host}` is not a Discord host (expected one of {})",
                DISCORD_HOSTS.join(", ")
            )));
        }
        if url.port().is_some() {
            return Err(err("the webhook URL must not name a port"));
        }
        let mut segs: Vec<&str> = url
            .path_segments()
            .map(Iterator::collect)
            .unwrap_or_default();
        if segs.last() == Some(&"") {
            segs.pop();
        }
        let rest = match segs.as_slice() {
            ["api", v, rest @ ..] if is_version(v) => rest,
            ["api", rest @ ..] => rest,
            _ => {
                return Err(err(
                    "the path must start with /api/webhooks/ (or /api/v10/webhooks/)",
                ));
            }
        };
        let (id, token) = match rest {
            ["webhooks", id, token] => (*id, *token),
            ["webhooks", _] => return Err(err("the webhook URL has no token after the id")),
            ["webhooks", _, _, ..] => {
                return Err(err(
                    "the webhook URL has extra path segments after the token",
                ));
            }
            _ => {
                return Err(err("the path must be /api/webhooks/<id>/<token>"));
            }
        };
        let id = parse_snowflake(id).ok_or_else(|| {
            err("the webhook id must be a Discord snowflake (up to 20 digits, not 0)")
        })?;
        check_token(token)?;
        let mut thread_id = None;
        for (k, v) in url.query_pairs() {
            if k == "thread_id" {
                thread_id = Some(parse_snowflake(&v).ok_or_else(|| {
                    err("`thread_id` in the webhook URL must be a Discord snowflake")
                })?);
            }
        }
        Ok(WebhookUrl {
            id,
            token: Secret::new(token),
            thread_id,
        })
    }
}

fn is_version(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn check_token(token: &str) -> Result<(), WebhookUrlError> {
    if token.is_empty() {
        return Err(err("the webhook token is empty"));
    }
    if token.len() > 200 {
        return Err(err(
            "the webhook token is implausibly long (over 200 characters)",
        ));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(err(
            "the webhook token may only contain letters, digits, `-` and `_` (was the URL cut or percent-encoded?)",
        ));
    }
    Ok(())
}

impl FromStr for WebhookUrl {
    type Err = WebhookUrlError;
    fn from_str(s: &str) -> Result<WebhookUrl, WebhookUrlError> {
        WebhookUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "ig5AO-wdVWpCBtUUMxmgsWryqgsW3DChbKYOINftJ4DCrUbnkedoYZD0VOH1QLr-S3sV";

    #[test]
    fn accepts_every_documented_form() {
        for host in DISCORD_HOSTS {
            for path in ["api/webhooks", "api/v10/webhooks", "api/v9/webhooks"] {
                for tail in ["", "/", "?wait=true", "?thread_id=1234567890123456789"] {
                    let u = format!("https://{host}/{path}/245037420704169985/{TOKEN}{tail}");
                    let w = WebhookUrl::parse(&u).unwrap_or_else(|e| panic!("{u}: {e}"));
                    assert_eq!(w.id(), 245_037_420_704_169_985, "{u}");
                    assert_eq!(w.token().expose(), TOKEN, "{u}");
                    let want_thread = tail
                        .contains("thread_id")
                        .then_some(1_234_567_890_123_456_789);
                    assert_eq!(w.thread_id(), want_thread, "{u}");
                }
            }
        }
        let upper = format!("  HTTPS://Discord.COM/api/webhooks/245037420704169985/{TOKEN}\n");
        assert!(WebhookUrl::parse(&upper).is_ok());
    }

    #[test]
    fn refuses_bad_urls_with_clear_errors_and_no_token() {
        let cases = [
            ("", "empty"),
            ("discord.com/api/webhooks/1/tok", "not a URL"),
            (
                "http://discord.com/api/webhooks/245037420704169985/SECRETTOKEN",
                "scheme must be https",
            ),
            (
                "https://evil.example/api/webhooks/245037420704169985/SECRETTOKEN",
                "host `evil.example` is not a Discord host",
            ),
            (
                "https://discord.com.evil.example/api/webhooks/245037420704169985/SECRETTOKEN",
                "is not a Discord host",
            ),
            (
                "https://discord.com:8443/api/webhooks/245037420704169985/SECRETTOKEN",
                "port",
            ),
            (
                "https://user:SECRETTOKEN@discord.com/api/webhooks/245037420704169985/SECRETTOKEN",
                "user info",
            ),
            (
                "https://discord.com/webhooks/245037420704169985/SECRETTOKEN",
                "path must start with /api/webhooks/",
            ),
            (
                "https://discord.com/api/webhooks/245037420704169985",
                "no token",
            ),
            (
                "https://discord.com/api/webhooks/245037420704169985/",
                "no token",
            ),
            (
                "https://discord.com/api/webhooks/245037420704169985/SECRETTOKEN/github",
                "extra path segments",
            ),
            (
                "https://discord.com/api/webhooks/not-an-id/SECRETTOKEN",
                "snowflake",
            ),
            (
                "https://discord.com/api/webhooks/0/SECRETTOKEN",
                "snowflake",
            ),
            (
                "https://discord.com/api/webhooks/123456789012345678901/SECRETTOKEN",
                "snowflake",
            ),
            (
                "https://discord.com/api/webhooks/245037420704169985/SECRET%20TOKEN",
                "may only contain",
            ),
            (
                "https://discord.com/api/webhooks/245037420704169985/SECRETTOKEN?thread_id=x",
                "thread_id",
            ),
            (
                "https://discord.com/api/channels/245037420704169985/SECRETTOKEN",
                "/api/webhooks/<id>/<token>",
            ),
        ];
        for (input, want) in cases {
            let e = WebhookUrl::parse(input).expect_err(input).to_string();
            assert!(e.contains(want), "{input}: {e}");
            assert!(!e.contains("SECRETTOKEN"), "{input}: token leaked: {e}");
            assert!(!e.contains("SECRET"), "{input}: token leaked: {e}");
        }
    }

    #[test]
    fn debug_redacts_the_token() {
        let w = WebhookUrl::new(1, "SECRETTOKEN").unwrap();
        let d = format!("{w:?}");
        assert!(!d.contains("SECRETTOKEN"), "{d}");
        assert!(d.contains("id: 1"), "{d}");
        assert!(WebhookUrl::new(0, "t").is_err());
        assert!(WebhookUrl::new(1, "").is_err());
    }

    #[test]
    fn snowflakes() {
        assert_eq!(parse_snowflake("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_snowflake("18446744073709551616"), None);
        assert_eq!(parse_snowflake("+12"), None);
        assert_eq!(parse_snowflake(""), None);
    }
}
