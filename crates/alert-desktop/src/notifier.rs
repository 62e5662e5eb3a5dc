//! [`DesktopNotifier`]: the channel.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alert_core::{
    Alert, BuildError, ConsoleNotifier, Notifier, NotifyError, Receipt, Result, async_trait,
};

use crate::backend::{self, Backend};
use crate::payload::Content;

/// The channel name in receipts and errors.
pub(crate) const CHANNEL: &str = "desktop";
use crate::{DesktopConfig, Fallback, OnResolve};

/// The delay a send asks for ([`Retry::After`](alert_core::Retry::After)) when the
/// session bus is there but no notification server owns
/// `org.freedesktop.Notifications` (the daemon is not running, or restarting).
///
/// Long enough that a router does not retry in a tight loop, short enough that
/// pop-ups resume soon after the daemon is back; the destination is not disabled.
pub const NO_SERVER_RETRY: Duration = Duration::from_secs(60);

/// How the error for "no notification server" starts (see [`no_server_error`]).
const NO_SERVER: &str = "no notification server owns org.freedesktop.Notifications";

/// The error for a session bus without a notification server: a
/// [`NotifyError::Server`] (like an HTTP 503) asking to retry after
/// [`NO_SERVER_RETRY`], which does not disable the destination.
pub(crate) fn no_server_error(detail: &str) -> NotifyError {
    NotifyError::Server {
        channel: CHANNEL,
        status: None,
        message: format!(
            "{NO_SERVER} on the session bus (start one, e.g. dunst, or set \
             fallback = \"console\"): {detail}"
        ),
        retry_after: Some(NO_SERVER_RETRY),
    }
}

/// Whether `e` says there is no desktop to show notifications on: no session bus,
/// no notification server on it, no platform support. The console fallback stands
/// in for exactly these.
pub(crate) fn backend_missing(e: &NotifyError) -> bool {
    match e {
        NotifyError::Unavailable { .. } => true,
        NotifyError::Server {
            status: None,
            message,
            ..
        } => message.starts_with(NO_SERVER),
        _ => false,
    }
}

/// What a freedesktop notification server says about itself (`GetServerInformation`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The product name (`dunst`, `gnome-shell`, `Plasma`).
    pub name: String,
    /// The vendor (`knopwob`, `GNOME`, `KDE`).
    pub vendor: String,
    /// The server's version.
    pub version: String,
    /// The version of the specification it implements (`1.2`).
    pub spec_version: String,
}

/// Shows alerts as desktop notifications.
///
/// Build it with [`DesktopNotifier::new`]; it must be used from inside a Tokio runtime
/// (it sends on the caller's runtime and never blocks a runtime thread).
pub struct DesktopNotifier {
    config: DesktopConfig,
    /// Where the console fallback writes (standard output unless replaced).
    console: Option<ConsoleNotifier>,
    fallback_logged: AtomicBool,
    backend: Backend,
}

impl fmt::Debug for DesktopNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesktopNotifier")
            .field("config", &self.config)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl DesktopNotifier {
    /// Validates `config` and builds the notifier.
    ///
    /// Nothing is sent and the bus is not probed here (that would need a runtime):
    /// a missing notification server shows up on the first send, as an error (see
    /// the crate docs, "No notification server") or the console fallback.
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidConfig`] naming the bad key, or
    /// [`BuildError::Unsupported`] on a platform without desktop notifications
    /// (other than Linux/BSD, macOS and Windows) unless `fallback = "console"`.
    pub fn new(config: DesktopConfig) -> std::result::Result<DesktopNotifier, BuildError> {
        config.validate()?;
        if !backend::SUPPORTED && config.fallback == Fallback::None {
            return Err(BuildError::Unsupported {
                channel: CHANNEL,
                reason: "this platform has no desktop notifications; set fallback = \"console\" \
                         to print alerts instead"
                    .to_owned(),
            });
        }
        let console = match config.fallback {
            Fallback::Console => Some(ConsoleNotifier::stdout(config.app_name.clone())),
            Fallback::None => None,
        };
        Ok(DesktopNotifier {
            console,
            fallback_logged: AtomicBool::new(false),
            backend: Backend::new(backend::default_opener()),
            config,
        })
    }

    /// Writes the console fallback to `console` instead of standard output (only
    /// used with `fallback = "console"`).
    pub fn with_console(mut self, console: ConsoleNotifier) -> DesktopNotifier {
        if self.config.fallback == Fallback::Console {
            self.console = Some(console);
        }
        self
    }

    /// Replaces what "Open runbook" does with the link (by default `xdg-open URL`).
    /// Only Linux/BSD offer the action.
    pub fn with_url_opener(
        mut self,
        open: impl Fn(&str) + Send + Sync + 'static,
    ) -> DesktopNotifier {
        self.backend.set_opener(Arc::new(open));
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &DesktopConfig {
        &self.config
    }

    /// The notification server's capabilities (`GetCapabilities`: `actions`, `body`,
    /// `body-markup`, `persistence`, …), as cached by the notifier. Linux/BSD only;
    /// elsewhere [`NotifyError::Unavailable`].
    pub async fn capabilities(&self) -> Result<Vec<String>> {
        self.backend.capabilities().await.map(|c| c.to_vec())
    }

    /// The notification server's name, vendor and versions
    /// (`GetServerInformation`). Linux/BSD only; elsewhere
    /// [`NotifyError::Unavailable`].
    pub async fn server_information(&self) -> Result<ServerInfo> {
        self.backend.server_information().await
    }

    fn skipped(&self) -> Receipt {
        let r = Receipt::new(CHANNEL).with_meta("skipped", "disabled");
        match &self.console {
            Some(_) => r.with_meta("fallback", "console"),
            None => r,
        }
    }

    /// Prints `alert` on the console fallback, logging once why.
    async fn fall_back(&self, alert: &Alert, why: NotifyError) -> Result<Receipt> {
        let Some(console) = &self.console else {
            return Err(why);
        };
        if !self.fallback_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                channel = CHANNEL,
                error = %why,
                "desktop notifications are unavailable; printing alerts to the console \
                 instead (said once)"
            );
        }
        Self::print(console, alert).await?;
        Ok(Receipt::new(CHANNEL).with_meta("fallback", "console"))
    }

    /// Prints `alert` as the seed does (`[app] title: message`), a resolution with
    /// `[RESOLVED]` in front of its title.
    async fn print(console: &ConsoleNotifier, alert: &Alert) -> Result<()> {
        if alert.is_resolved() {
            let title = format!("[RESOLVED] {}", alert.title());
            console.notify(&alert.clone().with_summary(title)).await?;
        } else {
            console.notify(alert).await?;
        }
        Ok(())
    }

    async fn send(&self, alert: &Alert, replaces: Option<u32>) -> Result<Receipt> {
        if !self.config.enable {
            if let Some(console) = &self.console {
                Self::print(console, alert).await?;
            }
            return Ok(self.skipped());
        }
        let content = Content::new(alert, &self.config);
        match self
            .backend
            .show(
                &self.config.app_name,
                &content,
                replaces,
                self.config.actions,
            )
            .await
        {
            Ok(Some(id)) => Ok(Receipt::new(CHANNEL).with_id(id.to_string())),
            Ok(None) => Ok(Receipt::new(CHANNEL)),
            Err(e) if backend_missing(&e) => self.fall_back(alert, e).await,
            Err(e) => Err(e),
        }
    }
}

/// The notification id in a receipt this channel gave, if any.
fn previous_id(previous: &Receipt) -> Option<u32> {
    previous
        .id
        .as_deref()
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|id| *id != 0)
}

#[async_trait]
impl Notifier for DesktopNotifier {
    fn name(&self) -> &str {
        CHANNEL
    }

    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.send(alert, None).await
    }

    /// Replaces the notification `previous` names (its id) with the new state of the
    /// alert; a resolution with `on_resolve = "close"` closes it instead. Without an
    /// id (a skipped or console receipt, or macOS/Windows) a new notification is
    /// shown.
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        let id = previous_id(previous);
        match id {
            Some(id)
                if alert.is_resolved()
                    && self.config.on_resolve == OnResolve::Close
                    && self.config.enable =>
            {
                match self.backend.close(id).await {
                    Ok(true) => Ok(Receipt::new(CHANNEL)
                        .with_id(id.to_string())
                        .with_meta("closed", "true")),
                    Ok(false) => self.send(alert, None).await,
                    Err(e) if backend_missing(&e) => self.fall_back(alert, e).await,
                    Err(e) => Err(e),
                }
            }
            _ => self.send(alert, id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_ids_are_parsed_strictly() {
        assert_eq!(
            previous_id(&Receipt::new("desktop").with_id("42")),
            Some(42)
        );
        assert_eq!(previous_id(&Receipt::new("desktop").with_id("0")), None);
        assert_eq!(previous_id(&Receipt::new("desktop").with_id("-1")), None);
        assert_eq!(previous_id(&Receipt::new("desktop").with_id("x")), None);
        assert_eq!(previous_id(&Receipt::new("desktop")), None);
    }

    #[test]
    fn new_validates_and_debug_is_plain() {
        let e = DesktopNotifier::new(DesktopConfig::new("")).unwrap_err();
        assert!(e.to_string().contains("app_name"), "{e}");
        let n = DesktopNotifier::new(DesktopConfig::new("Bikes")).unwrap();
        assert_eq!(n.name(), "desktop");
        assert!(format!("{n:?}").contains("Bikes"));
    }

    #[tokio::test]
    async fn disabled_sends_nothing_and_says_so() {
        let n = DesktopNotifier::new(DesktopConfig::new("Bikes").with_enable(false)).unwrap();
        let r = n
            .notify(&Alert::new(alert_core::Severity::Critical, "x"))
            .await
            .unwrap();
        assert_eq!(r.meta("skipped"), Some("disabled"));
        assert_eq!(r.id, None);
        let r = n
            .update(
                &Alert::new(alert_core::Severity::Critical, "x")
                    .with_status(alert_core::Status::Resolved),
                &Receipt::new("desktop").with_id("7"),
            )
            .await
            .unwrap();
        assert_eq!(r.meta("skipped"), Some("disabled"));
    }
}
