//! The macOS and Windows backends: notify-rust's blocking `show()` (NSUserNotification
//! through mac-notification-sys; WinRT toasts), run on Tokio's blocking pool so no
//! runtime thread ever waits on it. Neither platform gives an id this crate can
//! replace or close, capabilities or server information; macOS has no urgency.
//!
//! The module also holds the backend for every other platform, which has no
//! desktop notifications at all.

use alert_core::{NotifyError, Result};

use crate::ServerInfo;
use crate::notifier::CHANNEL;
use crate::payload::Content;

/// Opens a runbook link (unused here: no platform backend in this module offers the
/// action).
pub(crate) type Opener = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

pub(crate) fn default_opener() -> Opener {
    std::sync::Arc::new(|_: &str| {})
}

fn unsupported(what: &str) -> NotifyError {
    NotifyError::Unavailable {
        channel: CHANNEL,
        reason: format!("{what} is a freedesktop D-Bus feature, not available on this platform"),
    }
}

/// The backend for macOS, Windows, or no desktop at all.
#[derive(Debug)]
pub(crate) struct Backend;

impl Backend {
    pub(crate) fn new(_opener: Opener) -> Backend {
        Backend
    }

    pub(crate) fn set_opener(&mut self, _opener: Opener) {}

    pub(crate) async fn capabilities(&self) -> Result<std::sync::Arc<Vec<String>>> {
        Err(unsupported("GetCapabilities"))
    }

    pub(crate) async fn server_information(&self) -> Result<ServerInfo> {
        Err(unsupported("GetServerInformation"))
    }

    /// Closing is not possible here: `Ok(false)` tells the caller to show the
    /// resolution as a new notification instead.
    pub(crate) async fn close(&self, _id: u32) -> Result<bool> {
        Ok(false)
    }

    #[cfg(any(target_os = "macos", target_os = "windows"))]
    pub(crate) async fn show(
        &self,
        app_name: &str,
        content: &Content,
        _replaces: Option<u32>,
        _allow_actions: bool,
    ) -> Result<Option<u32>> {
        let mut n = notify_rust::Notification::new();
        n.appname(app_name)
            .summary(&content.summary)
            .body(&content.body)
            .icon(&content.icon)
            .timeout(notify_rust::Timeout::from(content.expire_ms));
        // macOS's default backend has no urgency (the method does not exist there).
        #[cfg(target_os = "windows")]
        n.urgency(match content.level.urgency {
            crate::DesktopUrgency::Low => notify_rust::Urgency::Low,
            crate::DesktopUrgency::Normal => notify_rust::Urgency::Normal,
            crate::DesktopUrgency::Critical => notify_rust::Urgency::Critical,
        });
        let n = n.finalize();
        let shown =
            tokio::task::spawn_blocking(move || n.show().map(drop).map_err(|e| e.to_string()))
                .await
                .map_err(|e| {
                    NotifyError::transport_msg(CHANNEL, format!("notification task failed: {e}"))
                })?;
        shown.map_err(|reason| NotifyError::Unavailable {
            channel: CHANNEL,
            reason: format!("the platform refused the notification: {reason}"),
        })?;
        Ok(None)
    }

    #[cfg(not(any(target_os = "macos", target_os = "windows")))]
    pub(crate) async fn show(
        &self,
        _app_name: &str,
        _content: &Content,
        _replaces: Option<u32>,
        _allow_actions: bool,
    ) -> Result<Option<u32>> {
        Err(NotifyError::Unavailable {
            channel: CHANNEL,
            reason: "this platform has no desktop notifications".to_owned(),
        })
    }
}
