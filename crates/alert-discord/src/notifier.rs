//! [`DiscordNotifier`]: sends alerts through a Discord webhook.

use std::fmt;
use std::time::Duration;

use alert_core::fit::FitReport;
use alert_core::render::is_safe_link;
use alert_core::{Alert, BuildError, Notifier, NotifyError, Receipt, Result, async_trait};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, USER_AGENT as UA};
use serde::Serialize;
use serde_json::Value;

use crate::config::DEFAULT_API_BASE_URL;
use crate::error::{
    CHANNEL, CLOUDFLARE_BLOCK, Failure, INVALID_WEBHOOK_TOKEN, RateLimit, UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK, classify,
};
use crate::payload::Composer;
use crate::webhook::parse_snowflake;
use crate::{DiscordConfig, WebhookUrl, limits};

/// The `User-Agent` sent with every request, in the form Discord asks for
/// (`DiscordBot ($url, $version)`); Cloudflare in front of Discord may refuse
/// requests without a meaningful one (JSON code 40333).
pub const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/ml-alerts/ml-alerts, ",
    env!("CARGO_PKG_VERSION"),
    ") alert-discord"
);

/// Discord's API version, always sent explicitly (the unversioned API is v6).
pub const API_VERSION: u8 = 10;

/// Sends alerts to a Discord channel through a webhook.
///
/// * [`notify`](Notifier::notify): one embed per alert, executed with `?wait=true`
///   so the [`Receipt`] carries the message id (`receipt.id`).
/// * [`notify_group`](Notifier::notify_group): one message with a header line, up
///   to 10 embeds (most severe first) and "… and K more".
/// * [`update`](Notifier::update) with a resolved alert and the firing alert's
///   receipt: edits the original message (`PATCH .../messages/{id}`) to show it
///   resolved; if it cannot be edited (deleted, from a group, another webhook), a
///   new message refers to it. Other updates (escalations) post a new message
///   that refers to the earlier one, so they notify people.
///
/// It never retries: errors say whether to (see [`NotifyError::retryable`]).
pub struct DiscordNotifier {
    hook: WebhookUrl,
    base: String,
    thread_id: Option<u64>,
    guild_id: Option<u64>,
    composer: Composer,
    timeout: Duration,
    client: reqwest::Client,
}

impl fmt::Debug for DiscordNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordNotifier")
            .field("webhook_id", &self.hook.id())
            .field("base", &self.base)
            .field("thread_id", &self.thread_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn validate_base(raw: &str) -> std::result::Result<String, BuildError> {
    let base = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(base)
        .map_err(|e| BuildError::invalid("api_base_url", format!("not a URL ({e}): {base:?}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(BuildError::invalid(
            "api_base_url",
            format!("must start with https:// or http://, got {base:?}"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base() {
        return Err(BuildError::invalid(
            "api_base_url",
            "must be an origin such as https://discord.com, without query or fragment",
        ));
    }
    if base.ends_with("/api") || base.contains("/api/") {
        return Err(BuildError::invalid(
            "api_base_url",
            "give the origin only (https://discord.com); `/api/v10/webhooks/...` is added",
        ));
    }
    Ok(base.to_owned())
}

fn validate_username(name: &str) -> std::result::Result<String, BuildError> {
    let n = limits::len(name);
    if n == 0 || n > limits::USERNAME {
        return Err(BuildError::invalid(
            "username",
            format!("must be 1 to {} characters, got {n}", limits::USERNAME),
        ));
    }
    let lower = name.to_lowercase();
    for banned in ["discord", "clyde"] {
        if lower.contains(banned) {
            return Err(BuildError::invalid(
                "username",
                format!("Discord refuses names containing `{banned}`"),
            ));
        }
    }
    if name.chars().any(char::is_control) {
        return Err(BuildError::invalid(
            "username",
            "must not contain control characters",
        ));
    }
    Ok(name.trim().to_owned())
}

impl DiscordNotifier {
    /// Validates `config` (the webhook URL, base URL, username, avatar, colours and
    /// roles) and builds the HTTP client.
    ///
    /// Errors name the offending key and never quote the webhook token.
    pub fn new(config: DiscordConfig) -> std::result::Result<DiscordNotifier, BuildError> {
        if config.webhook_url.is_empty() {
            return Err(BuildError::invalid("webhook_url", "must not be empty"));
        }
        let hook = WebhookUrl::parse(config.webhook_url.expose())
            .map_err(|e| BuildError::invalid("webhook_url", e))?;
        let base = validate_base(
            config
                .api_base_url
                .as_deref()
                .unwrap_or(DEFAULT_API_BASE_URL),
        )?;
        let username = config
            .username
            .as_deref()
            .map(validate_username)
            .transpose()?;
        if let Some(a) = &config.avatar_url
            && !is_safe_link(a)
        {
            return Err(BuildError::invalid(
                "avatar_url",
                "must be an http:// or https:// URL without spaces",
            ));
        }
        if let Some((name, c)) = config.severity.invalid() {
            return Err(BuildError::invalid(
                format!("severity.{name}"),
                format!("colour {c:#X} is above 0xFFFFFF"),
            ));
        }
        for (name, role) in [
            ("info", config.mentions.info),
            ("warning", config.mentions.warning),
            ("error", config.mentions.error),
            ("critical", config.mentions.critical),
        ] {
            if role == Some(0) {
                return Err(BuildError::invalid(
                    format!("mentions.{name}"),
                    "role id 0 is not a Discord snowflake",
                ));
            }
        }
        if config.thread_id == Some(0) || config.guild_id == Some(0) {
            return Err(BuildError::invalid(
                if config.thread_id == Some(0) {
                    "thread_id"
                } else {
                    "guild_id"
                },
                "0 is not a Discord snowflake",
            ));
        }
        if config.timeout_secs == 0 {
            return Err(BuildError::invalid("timeout_secs", "must be at least 1"));
        }
        let timeout = config.timeout();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| BuildError::Other {
                channel: CHANNEL,
                source: Box::new(e.without_url()),
            })?;
        Ok(DiscordNotifier {
            thread_id: config.thread_id.or(hook.thread_id()),
            guild_id: config.guild_id,
            hook,
            base,
            composer: Composer {
                username,
                avatar_url: config.avatar_url.clone(),
                mentions: config.mentions,
                colours: config.severity,
            },
            timeout,
            client,
        })
    }

    /// Uses `client` instead of the one built in [`new`](DiscordNotifier::new)
    /// (to share a connection pool or set a proxy). Give it timeouts; the
    /// `User-Agent` is set on each request regardless.
    pub fn with_http_client(mut self, client: reqwest::Client) -> DiscordNotifier {
        self.client = client;
        self
    }

    /// The webhook id (not a secret).
    pub fn webhook_id(&self) -> u64 {
        self.hook.id()
    }

    fn webhook_path(&self) -> String {
        format!(
            "{}/api/v{API_VERSION}/webhooks/{}/{}",
            self.base,
            self.hook.id(),
            self.hook.token().expose()
        )
    }

    fn execute_url(&self) -> String {
        let mut u = format!("{}?wait=true", self.webhook_path());
        if let Some(t) = self.thread_id {
            u.push_str(&format!("&thread_id={t}"));
        }
        u
    }

    fn message_url(&self, message_id: u64) -> String {
        let mut u = format!("{}/messages/{message_id}", self.webhook_path());
        if let Some(t) = self.thread_id {
            u.push_str(&format!("?thread_id={t}"));
        }
        u
    }

    async fn call(
        &self,
        method: Method,
        url: String,
        body: &impl Serialize,
    ) -> std::result::Result<(Option<Value>, RateLimit), Failure> {
        let body = serde_json::to_vec(body).map_err(|e| NotifyError::InvalidAlert {
            channel: CHANNEL,
            reason: format!("could not serialise the message: {e}"),
        })?;
        let resp = self
            .client
            .request(method, url)
            .header(CONTENT_TYPE, "application/json")
            .header(UA, USER_AGENT)
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let rl = RateLimit::from_headers(resp.headers());
        let text = resp.text().await.map_err(|e| self.transport(e))?;
        if !(200..300).contains(&status) {
            return Err(classify(status, &rl, &text, self.hook.token()));
        }
        // 204 (no `wait`) has no body; a 200 whose body is not a message still means
        // Discord stored it, so it is a success without an id rather than an error
        // that would make the router send it twice.
        let msg = serde_json::from_str::<Value>(&text)
            .ok()
            .filter(Value::is_object);
        Ok((msg, rl))
    }

    fn transport(&self, e: reqwest::Error) -> Failure {
        if e.is_timeout() {
            NotifyError::Timeout {
                channel: CHANNEL,
                after: self.timeout,
            }
            .into()
        } else {
            // `without_url` drops the URL, and with it the webhook token.
            NotifyError::transport(CHANNEL, e.without_url()).into()
        }
    }

    fn receipt(&self, msg: Option<&Value>, rl: &RateLimit, kind: &str) -> Receipt {
        let mut r = Receipt::new(CHANNEL)
            .with_meta("webhook_id", self.hook.id().to_string())
            .with_meta("kind", kind);
        let s = |k: &str| {
            msg.and_then(|m| m.get(k))
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_u64().map(|n| n.to_string()))
                })
                .filter(|v| parse_snowflake(v).is_some())
        };
        let id = s("id");
        let channel = s("channel_id");
        let guild = self
            .guild_id
            .map(|g| g.to_string())
            .or_else(|| s("guild_id"));
        if let Some(t) = self.thread_id {
            r = r.with_meta("thread_id", t.to_string());
        }
        if let (Some(g), Some(c), Some(m)) = (&guild, &channel, &id) {
            r = r.with_url(format!("https://discord.com/channels/{g}/{c}/{m}"));
        }
        if let Some(c) = channel {
            r = r.with_meta("channel_id", c);
        }
        if let Some(g) = guild {
            r = r.with_meta("guild_id", g);
        }
        if let Some(v) = &rl.remaining {
            r = r.with_meta("ratelimit_remaining", v.clone());
        }
        if let Some(v) = &rl.limit {
            r = r.with_meta("ratelimit_limit", v.clone());
        }
        if let Some(d) = rl.reset_after {
            r = r.with_meta("ratelimit_reset_after", format!("{:.3}", d.as_secs_f64()));
        }
        if let Some(t) = &rl.reset {
            r = r.with_meta("ratelimit_reset", t.clone());
        }
        if let Some(b) = &rl.bucket {
            r = r.with_meta("ratelimit_bucket", b.clone());
        }
        match id {
            Some(id) => r.with_id(id),
            None => r.with_meta("unconfirmed", "true"),
        }
    }

    async fn execute(
        &self,
        body: &impl Serialize,
        kind: &str,
    ) -> std::result::Result<Receipt, Failure> {
        let (msg, rl) = self.call(Method::POST, self.execute_url(), body).await?;
        Ok(self.receipt(msg.as_ref(), &rl, kind))
    }

    /// The first content line of a new message that stands in for an edit.
    fn reference_line(&self, previous: &Receipt, id: u64, resolved: bool) -> String {
        let link = previous
            .url
            .as_deref()
            .filter(|u| u.starts_with("https://discord.com/channels/") && is_safe_link(u))
            .map(str::to_owned)
            .or_else(|| {
                let g = self
                    .guild_id
                    .map(|g| g.to_string())
                    .or_else(|| previous.meta("guild_id").map(str::to_owned))?;
                let c = previous.meta("channel_id")?;
                (parse_snowflake(&g).is_some() && parse_snowflake(c).is_some())
                    .then(|| format!("https://discord.com/channels/{g}/{c}/{id}"))
            });
        let what = if resolved { "Resolved" } else { "Update" };
        match link {
            Some(l) => format!("\u{21aa} {what}: {l}"),
            None => format!("\u{21aa} {what} of earlier message {id}"),
        }
    }
}

/// Whether a failed edit is about the message (so a new message may stand in for
/// it) rather than about the webhook or the request.
fn edit_may_fall_back(f: &Failure) -> bool {
    match (&f.error, f.code) {
        (_, Some(UNKNOWN_WEBHOOK | INVALID_WEBHOOK_TOKEN | CLOUDFLARE_BLOCK)) => false,
        (_, Some(UNKNOWN_MESSAGE)) => true,
        (NotifyError::Gone { .. } | NotifyError::Rejected { .. }, _) => true,
        // 50005: "Cannot edit a message authored by another user".
        (NotifyError::Unauthorized { .. }, Some(50005)) => true,
        _ => false,
    }
}

/// Adds what fitting cut (`meta["cut"]`), so a receipt says when Discord's limits
/// shortened an alert.
fn with_cuts(r: Receipt, report: &FitReport) -> Receipt {
    if report.is_empty() {
        r
    } else {
        r.with_meta("cut", report.to_string())
    }
}

#[async_trait]
impl Notifier for DiscordNotifier {
    fn name(&self) -> &str {
        CHANNEL
    }

    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        let (body, report) = self.composer.alert(alert, None);
        let r = self.execute(&body, "alert").await.map_err(|f| f.error)?;
        Ok(with_cuts(r, &report).with_meta("fingerprint", alert.fingerprint().to_string()))
    }

    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        match alerts {
            [] => Ok(Receipt::new(CHANNEL).with_meta("skipped", alert_core::EMPTY_GROUP)),
            [one] => self.notify(one).await,
            _ => {
                let (body, report) = self.composer.group(alerts);
                let r = self.execute(&body, "group").await.map_err(|f| f.error)?;
                Ok(with_cuts(r, &report))
            }
        }
    }

    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        let previous_id = previous.id.as_deref().and_then(parse_snowflake);
        let same_webhook = previous.channel == CHANNEL
            && previous.meta("webhook_id") == Some(self.hook.id().to_string().as_str());
        let fingerprint = alert.fingerprint().to_string();
        // Edit only a message that showed this very alert on this webhook.
        let editable = alert.is_resolved()
            && same_webhook
            && previous.meta("kind") == Some("alert")
            && previous
                .meta("fingerprint")
                .is_none_or(|f| f == fingerprint);
        if let Some(id) = previous_id.filter(|_| editable) {
            let (body, report) = self.composer.edit(alert);
            match self.call(Method::PATCH, self.message_url(id), &body).await {
                Ok((msg, rl)) => {
                    let r = self.receipt(msg.as_ref(), &rl, "alert");
                    return Ok(with_cuts(r, &report)
                        .with_meta("fingerprint", fingerprint)
                        .with_meta("edited", "true"));
                }
                Err(f) if edit_may_fall_back(&f) => {}
                Err(f) => return Err(f.error),
            }
        }
        let reference = previous_id
            .filter(|_| same_webhook)
            .map(|id| self.reference_line(previous, id, alert.is_resolved()));
        let (body, report) = self.composer.alert(alert, reference);
        let r = self.execute(&body, "alert").await.map_err(|f| f.error)?;
        let mut r = with_cuts(r, &report).with_meta("fingerprint", fingerprint);
        if let (Some(id), true) = (previous_id, same_webhook) {
            r = r.with_meta("refers_to", id.to_string());
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://discord.com/api/webhooks/123456789012345678/SECRET-tok_en";

    #[test]
    fn new_validates_and_names_the_field() {
        let ok = DiscordNotifier::new(DiscordConfig::new(URL)).unwrap();
        assert_eq!(ok.webhook_id(), 123_456_789_012_345_678);
        assert_eq!(
            ok.execute_url(),
            "https://discord.com/api/v10/webhooks/123456789012345678/SECRET-tok_en?wait=true"
        );
        let d = format!("{ok:?}");
        assert!(!d.contains("SECRET"), "{d}");
        let cases: Vec<(DiscordConfig, &str)> = vec![
            (DiscordConfig::new(""), "webhook_url"),
            (
                DiscordConfig::new("https://evil.example/api/webhooks/1/SECRET"),
                "webhook_url",
            ),
            (
                DiscordConfig::new(URL).with_api_base_url("ftp://x"),
                "api_base_url",
            ),
            (
                DiscordConfig::new(URL).with_api_base_url("http://127.0.0.1:1/api/v10"),
                "api_base_url",
            ),
            (DiscordConfig::new(URL).with_username(""), "username"),
            (
                DiscordConfig::new(URL).with_username("Discord Alerts"),
                "username",
            ),
            (
                DiscordConfig::new(URL).with_username("x".repeat(81)),
                "username",
            ),
            (
                DiscordConfig::new(URL).with_avatar_url("javascript:x"),
                "avatar_url",
            ),
            (
                DiscordConfig::new(URL).with_severity_map(crate::DiscordSeverityMap {
                    warning: 0x1_000_000,
                    ..Default::default()
                }),
                "severity.warning",
            ),
            (
                DiscordConfig::new(URL).with_mentions(crate::DiscordMentions {
                    error: Some(0),
                    ..Default::default()
                }),
                "mentions.error",
            ),
        ];
        for (c, field) in cases {
            let e = DiscordNotifier::new(c).unwrap_err().to_string();
            assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
            assert!(!e.contains("SECRET"), "{field}: {e}");
        }
    }

    #[test]
    fn urls_carry_version_wait_and_thread() {
        let n = DiscordNotifier::new(
            DiscordConfig::new(format!("{URL}?thread_id=999999999999999999"))
                .with_api_base_url("http://127.0.0.1:9/"),
        )
        .unwrap();
        assert_eq!(
            n.execute_url(),
            "http://127.0.0.1:9/api/v10/webhooks/123456789012345678/SECRET-tok_en?wait=true&thread_id=999999999999999999"
        );
        assert_eq!(
            n.message_url(5),
            "http://127.0.0.1:9/api/v10/webhooks/123456789012345678/SECRET-tok_en/messages/5?thread_id=999999999999999999"
        );
        assert!(
            USER_AGENT.starts_with("DiscordBot (https://"),
            "{USER_AGENT}"
        );
    }
}
