//! [`SlackNotifier`]: the [`Notifier`] for Slack.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use alert_core::{Alert, BuildError, Notifier, NotifyError, Receipt, Result, Secret, async_trait};
use hyper_util::client::legacy::connect::HttpConnector;
use slack_morphism::api::{
    SlackApiChatPostMessageRequest, SlackApiChatUpdateRequest, SlackApiPostWebhookMessageRequest,
};
use slack_morphism::errors::SlackClientError;
use slack_morphism::hyper_tokio::{SlackClientHyperConnector, SlackClientHyperHttpsConnector};
use slack_morphism::{
    SlackApiToken, SlackApiTokenValue, SlackChannelId, SlackClient, SlackMessageContent, SlackTs,
};
use url::Url;

use crate::error::{Scrubber, classify};
use crate::payload::Layout;
use crate::{SlackConfig, SlackTlsRoots};

/// The channel name in errors and receipts.
pub(crate) const CHANNEL: &str = "slack";

/// The receipt `meta` key holding the channel ID of the message (Web API mode).
pub const META_CHANNEL: &str = "channel";
/// The receipt `meta` key holding the `ts` of the thread reply that
/// [`update`](Notifier::update) posted (Web API mode).
pub const META_REPLY_TS: &str = "reply_ts";
/// The receipt `meta` key set when the thread reply was posted but `chat.update` of
/// the original message failed; the value is the error.
pub const META_UPDATE_ERROR: &str = "update_error";
/// The receipt `meta` key saying what the message shows: [`KIND_ALERT`] (one alert)
/// or [`KIND_DIGEST`] (a digest of several).
pub const META_KIND: &str = "kind";
/// The receipt `meta` key holding the fingerprint of the one alert a message shows
/// (only when `meta["kind"]` is [`KIND_ALERT`]).
pub const META_FINGERPRINT: &str = "fingerprint";
/// The receipt `meta` key holding how many alerts a digest covers (only when
/// `meta["kind"]` is [`KIND_DIGEST`]).
pub const META_ALERTS: &str = "alerts";
/// `meta["kind"]` of a message showing one alert.
pub const KIND_ALERT: &str = "alert";
/// `meta["kind"]` of a digest message (a group of two or more alerts).
pub const KIND_DIGEST: &str = "digest";

/// The longest connect timeout, whatever the request timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

enum Mode {
    Webhook {
        url: Url,
    },
    Api {
        token: SlackApiToken,
        channel: String,
    },
}

/// Sends alerts to Slack, through an incoming webhook or the Web API.
///
/// Built from a [`SlackConfig`] by [`SlackNotifier::new`], which checks the whole
/// configuration and builds the HTTP client (hyper + rustls, through
/// slack-morphism), so a bad configuration fails at start-up, not at the first
/// alert. Cheap to share: wrap it in an `Arc`.
///
/// * [`notify`](Notifier::notify) posts one message; with the Web API the
///   [`Receipt`] holds the message `ts` as `id` and the channel ID as
///   `meta["channel"]` ([`META_CHANNEL`]). Every receipt says what the message
///   shows: `meta["kind"]` ([`META_KIND`]) is `alert` with the alert's
///   `meta["fingerprint"]` ([`META_FINGERPRINT`]), or `digest` with the number of
///   alerts in `meta["alerts"]` ([`META_ALERTS`]).
/// * [`notify_group`](Notifier::notify_group) posts one digest (a group of one is
///   that alert's message).
/// * [`update`](Notifier::update) with a Web API receipt posts the new state (e.g.
///   the resolution) as a **thread reply** to the original message. Only when the
///   original showed exactly this alert (`kind` `alert`, same fingerprint) is it
///   then edited (`chat.update`) to show the new state; a digest, another alert's
///   message, or a receipt that does not say what it showed is left as it is, so
///   resolving one alert never paints a digest of still-firing alerts green. The
///   reply comes first: if the edit fails, the reply is not repeated; the receipt
///   carries the failure in `meta["update_error"]` ([`META_UPDATE_ERROR`]). Without
///   a usable receipt, or with a webhook, it posts a new message (marked
///   `[RESOLVED]` for resolutions).
///
/// Errors are classified (see the crate docs); the notifier never retries.
pub struct SlackNotifier {
    client: Arc<SlackClient<SlackClientHyperHttpsConnector>>,
    mode: Mode,
    config: SlackConfig,
    scrubber: Scrubber,
}

impl fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SlackNotifier");
        match &self.mode {
            Mode::Webhook { .. } => d.field("mode", &"webhook"),
            Mode::Api { channel, .. } => d
                .field("mode", &"web_api")
                .field("channel", channel)
                .field("api_base_url", &self.config.api_base_url),
        };
        d.field("timeout", &self.config.timeout())
            .finish_non_exhaustive()
    }
}

fn check_http_url(field: &str, value: &str) -> std::result::Result<Url, BuildError> {
    // Never quote the value: a webhook URL is a secret.
    let url = Url::parse(value.trim())
        .map_err(|e| BuildError::invalid(field, format!("is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(BuildError::invalid(
            field,
            "must be an https:// (or, for tests, http://) URL with a host",
        ));
    }
    Ok(url)
}

/// The HTTPS-or-HTTP connector, with the trust roots `config` asks for and a
/// connect timeout.
fn connector(
    config: &SlackConfig,
) -> std::result::Result<SlackClientHyperHttpsConnector, BuildError> {
    // Explicitly ring: never depends on which rustls providers other crates compile in.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match config.tls_roots {
        #[cfg(feature = "rustls")]
        SlackTlsRoots::Webpki => builder
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| BuildError::Other {
                channel: CHANNEL,
                source: Box::new(e),
            })?,
        #[cfg(not(feature = "rustls"))]
        SlackTlsRoots::Webpki => {
            return Err(BuildError::MissingFeature {
                channel: CHANNEL.into(),
                feature: "rustls".into(),
            });
        }
        SlackTlsRoots::Native => builder
            .with_provider_and_native_roots(provider)
            .map_err(|e| {
                BuildError::invalid(
                    "tls_roots",
                    format!(
                        "the system certificate store has no usable root certificate ({e}); \
                         install the CA bundle (e.g. the ca-certificates package) or use \
                         tls_roots = \"webpki\""
                    ),
                )
            })?,
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(config.timeout().min(MAX_CONNECT_TIMEOUT)));
    let https = builder
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    let mut connector = SlackClientHyperConnector::with_connector(https);
    if let Some(base) = &config.api_base_url {
        connector = connector.with_slack_api_url(base.trim().trim_end_matches('/'));
    }
    Ok(connector)
}

impl SlackNotifier {
    /// Checks `config` and builds the client.
    ///
    /// Fails with [`BuildError::InvalidConfig`] naming the key when: neither or both
    /// of `webhook_url` and `bot_token` are set; `bot_token` comes without `channel`;
    /// a URL is not `http(s)`; `timeout_secs` is 0; `digest_max_alerts` is 0 or above
    /// 40; a colour or a mention is malformed; or `tls_roots = "native"` and the
    /// system has no root certificate.
    pub fn new(config: SlackConfig) -> std::result::Result<SlackNotifier, BuildError> {
        let webhook = config.webhook_url.as_ref().filter(|s| !s.is_empty());
        let token = config.bot_token.as_ref().filter(|s| !s.is_empty());
        let mut secrets = Vec::new();
        let mode = match (webhook, token) {
            (Some(_), Some(_)) => {
                return Err(BuildError::invalid(
                    "webhook_url",
                    "set either webhook_url, or bot_token with channel, not both",
                ));
            }
            (None, None) => {
                return Err(BuildError::invalid(
                    "webhook_url",
                    "set webhook_url (incoming webhook), or bot_token with channel (Web API)",
                ));
            }
            (Some(url), None) => {
                let parsed = check_http_url("webhook_url", url.expose())?;
                secrets.push(url.clone());
                secrets.push(Secret::new(parsed.as_str()));
                if parsed.path().len() > 1 {
                    secrets.push(Secret::new(parsed.path()));
                }
                Mode::Webhook { url: parsed }
            }
            (None, Some(token)) => {
                if token.expose().chars().any(char::is_whitespace) {
                    return Err(BuildError::invalid(
                        "bot_token",
                        "contains white space; copy the token (xoxb-…) exactly",
                    ));
                }
                let channel = config
                    .channel
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| {
                        BuildError::invalid(
                            "channel",
                            "is required with bot_token: a channel ID such as C0123ABC",
                        )
                    })?;
                if channel.chars().any(char::is_whitespace) {
                    return Err(BuildError::invalid(
                        "channel",
                        format!("{channel:?} contains white space"),
                    ));
                }
                secrets.push(token.clone());
                Mode::Api {
                    token: SlackApiToken::new(SlackApiTokenValue(token.expose().to_owned())),
                    channel: channel.to_owned(),
                }
            }
        };
        if let Some(base) = &config.api_base_url {
            check_http_url("api_base_url", base)?;
        }
        if config.timeout_secs == 0 {
            return Err(BuildError::invalid("timeout_secs", "must be at least 1"));
        }
        if !(1..=crate::config::MAX_DIGEST_ALERTS).contains(&config.digest_max_alerts) {
            return Err(BuildError::invalid(
                "digest_max_alerts",
                format!(
                    "must be between 1 and {} (a message holds at most 50 blocks), got {}",
                    crate::config::MAX_DIGEST_ALERTS,
                    config.digest_max_alerts
                ),
            ));
        }
        config.severity.validate()?;
        config.mentions.validate()?;
        let client = Arc::new(SlackClient::new(connector(&config)?));
        Ok(SlackNotifier {
            client,
            mode,
            config,
            scrubber: Scrubber(secrets),
        })
    }

    /// Whether this notifier posts through the Web API (and so can thread and edit).
    pub fn is_web_api(&self) -> bool {
        matches!(self.mode, Mode::Api { .. })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &SlackConfig {
        &self.config
    }

    fn layout(&self) -> Layout<'_> {
        Layout {
            colors: &self.config.severity,
            mentions: &self.config.mentions,
            digest_max_alerts: self.config.digest_max_alerts,
        }
    }

    /// Runs a request with the configured timeout and classifies its failure.
    async fn call<T>(
        &self,
        what: &str,
        fut: impl Future<Output = std::result::Result<T, SlackClientError>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.config.timeout(), fut).await {
            Err(_) => Err(NotifyError::Timeout {
                channel: CHANNEL,
                after: self.config.timeout(),
            }),
            Ok(Err(e)) => Err(classify(what, e, &self.scrubber)),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// Posts through the Web API to `channel`, in the thread of `thread_ts` if given.
    /// Returns `(channel ID, ts)`.
    async fn api_post(
        &self,
        token: &SlackApiToken,
        channel: &str,
        content: SlackMessageContent,
        thread_ts: Option<&str>,
    ) -> Result<(String, String)> {
        let request =
            SlackApiChatPostMessageRequest::new(SlackChannelId(channel.to_owned()), content)
                .with_unfurl_links(false)
                .with_unfurl_media(false)
                .opt_thread_ts(thread_ts.map(|t| SlackTs(t.to_owned())));
        let session = self.client.open_session(token);
        let resp = self
            .call(
                "chat.postMessage",
                Box::pin(session.chat_post_message(&request)),
            )
            .await?;
        Ok((resp.channel.0, resp.ts.0))
    }

    /// Posts `content`, which shows `shows`, as a new message.
    async fn post(&self, content: SlackMessageContent, shows: Shows<'_>) -> Result<Receipt> {
        let receipt = match &self.mode {
            Mode::Webhook { url } => {
                let request = SlackApiPostWebhookMessageRequest::new(content);
                self.call(
                    "incoming webhook",
                    Box::pin(self.client.post_webhook_message(url, &request)),
                )
                .await?;
                Receipt::new(CHANNEL)
            }
            Mode::Api { token, channel } => {
                let (channel, ts) = self.api_post(token, channel, content, None).await?;
                Receipt::new(CHANNEL)
                    .with_id(ts)
                    .with_meta(META_CHANNEL, channel)
            }
        };
        Ok(shows.describe(receipt))
    }
}

/// What a posted message shows, recorded in its receipt so that a later
/// [`update`](Notifier::update) edits it only when it showed exactly that alert.
#[derive(Clone, Copy)]
enum Shows<'a> {
    Alert(&'a Alert),
    Digest(usize),
}

impl Shows<'_> {
    fn describe(self, receipt: Receipt) -> Receipt {
        match self {
            Shows::Alert(a) => receipt
                .with_meta(META_KIND, KIND_ALERT)
                .with_meta(META_FINGERPRINT, a.fingerprint().to_string()),
            Shows::Digest(n) => receipt
                .with_meta(META_KIND, KIND_DIGEST)
                .with_meta(META_ALERTS, n.to_string()),
        }
    }
}

/// Whether the message behind `previous` showed exactly `alert` (one alert, same
/// fingerprint), so that editing it to show `alert`'s new state loses nothing.
/// A digest, or a receipt that does not say (written before receipts recorded
/// it), is never edited.
fn shows_exactly(previous: &Receipt, alert: &Alert) -> bool {
    previous.meta(META_KIND) == Some(KIND_ALERT)
        && previous.meta(META_FINGERPRINT) == Some(alert.fingerprint().to_string().as_str())
}

#[async_trait]
impl Notifier for SlackNotifier {
    fn name(&self) -> &str {
        CHANNEL
    }

    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.post(self.layout().alert(alert), Shows::Alert(alert))
            .await
    }

    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        let shows = match alerts {
            [] => return Ok(Receipt::new(CHANNEL).with_meta("skipped", alert_core::EMPTY_GROUP)),
            // A group of one is laid out as that alert.
            [one] => Shows::Alert(one),
            many => Shows::Digest(many.len()),
        };
        self.post(self.layout().group(alerts), shows).await
    }

    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        let Mode::Api { token, .. } = &self.mode else {
            return self.notify(alert).await;
        };
        let (Some(ts), Some(channel), true) = (
            previous.id.as_deref(),
            previous.meta(META_CHANNEL),
            previous.channel == CHANNEL,
        ) else {
            return self.notify(alert).await;
        };
        let content = self.layout().alert(alert);
        let (_, reply_ts) = self
            .api_post(token, channel, content.clone(), Some(ts))
            .await?;
        let receipt = Receipt::new(CHANNEL)
            .with_id(ts)
            .with_meta(META_CHANNEL, channel)
            .with_meta(META_REPLY_TS, reply_ts);
        if !shows_exactly(previous, alert) {
            // A digest, or another alert's message: the reply says what changed,
            // and the original keeps showing what it showed.
            let mut receipt = receipt;
            for key in [META_KIND, META_FINGERPRINT, META_ALERTS] {
                if let Some(v) = previous.meta(key) {
                    receipt = receipt.with_meta(key, v);
                }
            }
            return Ok(receipt);
        }
        let mut receipt = Shows::Alert(alert).describe(receipt);
        let request = SlackApiChatUpdateRequest::new(
            SlackChannelId(channel.to_owned()),
            content,
            SlackTs(ts.to_owned()),
        );
        let session = self.client.open_session(token);
        if let Err(e) = self
            .call("chat.update", Box::pin(session.chat_update(&request)))
            .await
        {
            receipt = receipt.with_meta(META_UPDATE_ERROR, e.to_string());
        }
        Ok(receipt)
    }
}
