//! The freedesktop backend (Linux and the BSDs): notify-rust's `show_async` over
//! zbus, on the caller's Tokio runtime.
//!
//! Notifications are sent with [`Notification::show_async`], which opens its own
//! session-bus connection per notification (notify-rust's design; the handle keeps
//! it open so that servers which send `ActionInvoked` only to the sender reach us).
//! Next to it the backend keeps one connection of its own for the calls notify-rust
//! has no async form of: `GetCapabilities` (cached per connection and per server
//! instance, see [`Backend::capabilities`]), `GetServerInformation` and
//! `CloseNotification`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use alert_core::{NotifyError, Result};
use notify_rust::{Notification, NotificationResponse, Timeout, Urgency};
use tokio::task::AbortHandle;

use crate::notifier::{CHANNEL, backend_missing, no_server_error};
use crate::payload::{Content, RUNBOOK_ACTION, RUNBOOK_LABEL, escape_markup};
use crate::{DesktopUrgency, ServerInfo};

/// The well-known name of the notification server.
pub(crate) const BUS_NAME: &str = "org.freedesktop.Notifications";
/// Its object path.
pub(crate) const OBJECT_PATH: &str = "/org/freedesktop/Notifications";
/// Its interface.
pub(crate) const INTERFACE: &str = "org.freedesktop.Notifications";

/// At most this many notifications wait for a click on "Open runbook" at once;
/// beyond it the oldest stops listening (its button then does nothing).
pub(crate) const MAX_LISTENERS: usize = 32;

/// Opens a runbook link when its action is invoked.
pub(crate) type Opener = Arc<dyn Fn(&str) + Send + Sync>;

/// The default opener: `xdg-open URL`, reaped in the background.
pub(crate) fn default_opener() -> Opener {
    Arc::new(|url: &str| {
        let spawned = tokio::process::Command::new("xdg-open")
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
            }
            Err(e) => tracing::warn!(channel = CHANNEL, error = %e, "could not run xdg-open"),
        }
    })
}

/// The backend's own connection and what it learnt about the server.
struct Session {
    conn: zbus::Connection,
    /// The unique name that owned [`BUS_NAME`] when `caps` was fetched.
    owner: Option<String>,
    caps: Option<Arc<Vec<String>>>,
}

/// Tasks waiting for "Open runbook" clicks, by notification id, oldest first.
#[derive(Default)]
struct Listeners(VecDeque<(u32, AbortHandle)>);

impl Listeners {
    fn cancel(&mut self, id: u32) {
        self.0.retain(|(i, task)| {
            if *i == id {
                task.abort();
            }
            *i != id && !task.is_finished()
        });
    }

    fn add(&mut self, id: u32, task: AbortHandle) {
        self.cancel(id);
        self.0.push_back((id, task));
        while self.0.len() > MAX_LISTENERS {
            if let Some((_, oldest)) = self.0.pop_front() {
                oldest.abort();
            }
        }
    }
}

/// The freedesktop backend.
pub(crate) struct Backend {
    session: tokio::sync::Mutex<Option<Session>>,
    listeners: Mutex<Listeners>,
    opener: Opener,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XdgBackend").finish_non_exhaustive()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Ok(l) = self.listeners.get_mut() {
            for (_, task) in l.0.drain(..) {
                task.abort();
            }
        }
    }
}

fn urgency(u: DesktopUrgency) -> Urgency {
    match u {
        DesktopUrgency::Low => Urgency::Low,
        DesktopUrgency::Normal => Urgency::Normal,
        DesktopUrgency::Critical => Urgency::Critical,
    }
}

impl Backend {
    pub(crate) fn new(opener: Opener) -> Backend {
        Backend {
            session: tokio::sync::Mutex::new(None),
            listeners: Mutex::new(Listeners::default()),
            opener,
        }
    }

    pub(crate) fn set_opener(&mut self, opener: Opener) {
        self.opener = opener;
    }

    /// The server's capabilities, cached on the backend's connection for as long as
    /// the same server instance (unique name) owns `org.freedesktop.Notifications`.
    /// A server that is started by D-Bus activation is asked once more on the next
    /// call, when its unique name is known.
    pub(crate) async fn capabilities(&self) -> Result<Arc<Vec<String>>> {
        let mut slot = self.session.lock().await;
        let mut session = match slot.take() {
            Some(s) => s,
            None => Session {
                conn: zbus::Connection::session().await.map_err(no_bus)?,
                owner: None,
                caps: None,
            },
        };
        let owner = match session
            .conn
            .call_method(
                Some("org.freedesktop.DBus"),
                "/org/freedesktop/DBus",
                Some("org.freedesktop.DBus"),
                "GetNameOwner",
                &BUS_NAME,
            )
            .await
        {
            Ok(reply) => reply.body().deserialize::<String>().ok(),
            // NameHasNoOwner: maybe activatable, GetCapabilities will tell.
            Err(e) if error_reply(&e).is_some() => None,
            Err(e) => return Err(classify_zbus(&e)), // the connection broke: drop it
        };
        if let (Some(caps), Some(_)) = (&session.caps, &owner)
            && session.owner == owner
        {
            let caps = caps.clone();
            *slot = Some(session);
            return Ok(caps);
        }
        let reply = session
            .conn
            .call_method(
                Some(BUS_NAME),
                OBJECT_PATH,
                Some(INTERFACE),
                "GetCapabilities",
                &(),
            )
            .await;
        let caps = match reply {
            Ok(reply) => reply
                .body()
                .deserialize::<Vec<String>>()
                .unwrap_or_default(),
            Err(e) if error_reply(&e).is_some() => {
                let err = classify_zbus(&e);
                if backend_missing(&err) {
                    *slot = Some(session);
                    return Err(err);
                }
                Vec::new() // a server that fails GetCapabilities has no optional features
            }
            Err(e) => return Err(classify_zbus(&e)),
        };
        let caps = Arc::new(caps);
        session.owner = owner;
        session.caps = Some(caps.clone());
        *slot = Some(session);
        Ok(caps)
    }

    /// Forgets the cached capabilities (after a send failed).
    async fn forget(&self) {
        if let Some(s) = self.session.lock().await.as_mut() {
            s.caps = None;
        }
    }

    pub(crate) async fn server_information(&self) -> Result<ServerInfo> {
        let conn = self.connection().await?;
        let reply = conn
            .call_method(
                Some(BUS_NAME),
                OBJECT_PATH,
                Some(INTERFACE),
                "GetServerInformation",
                &(),
            )
            .await
            .map_err(|e| classify_zbus(&e))?;
        let (name, vendor, version, spec_version): (String, String, String, String) = reply
            .body()
            .deserialize()
            .map_err(|e| NotifyError::Server {
                channel: CHANNEL,
                status: None,
                message: format!("unreadable GetServerInformation answer: {e}"),
                retry_after: None,
            })?;
        Ok(ServerInfo {
            name,
            vendor,
            version,
            spec_version,
        })
    }

    async fn connection(&self) -> Result<zbus::Connection> {
        let mut slot = self.session.lock().await;
        if let Some(s) = slot.as_ref() {
            return Ok(s.conn.clone());
        }
        let conn = zbus::Connection::session().await.map_err(no_bus)?;
        *slot = Some(Session {
            conn: conn.clone(),
            owner: None,
            caps: None,
        });
        Ok(conn)
    }

    /// Shows `content` (replacing notification `replaces` when given) and returns
    /// the server's id for it.
    pub(crate) async fn show(
        &self,
        app_name: &str,
        content: &Content,
        replaces: Option<u32>,
        allow_actions: bool,
    ) -> Result<Option<u32>> {
        let caps = self.capabilities().await?;
        let has = |c: &str| caps.iter().any(|x| x == c);
        let body = if has("body-markup") {
            escape_markup(&content.body)
        } else {
            content.body.clone()
        };
        let runbook = content
            .runbook
            .as_deref()
            .filter(|_| allow_actions && has("actions"));

        let mut n = Notification::new();
        n.appname(app_name)
            .summary(&content.summary)
            .body(&body)
            .icon(&content.icon)
            .urgency(urgency(content.level.urgency))
            .timeout(Timeout::from(content.expire_ms));
        if let Some(id) = replaces {
            n.id(id);
        }
        if runbook.is_some() {
            n.action(RUNBOOK_ACTION, RUNBOOK_LABEL);
        }
        let handle = match n.show_async().await {
            Ok(h) => h,
            Err(e) => {
                self.forget().await;
                return Err(classify_text(&e.to_string()));
            }
        };
        let id = handle.id();
        self.cancel_listener(id);
        if let Some(url) = runbook {
            let url = url.to_owned();
            let opener = self.opener.clone();
            let task = tokio::spawn(async move {
                let mut clicked = false;
                handle
                    .wait_for_action_async(|r: &NotificationResponse| {
                        clicked =
                            matches!(r, NotificationResponse::Action(k) if k == RUNBOOK_ACTION);
                    })
                    .await;
                if clicked {
                    opener(&url);
                }
            });
            if let Ok(mut l) = self.listeners.lock() {
                l.add(id, task.abort_handle());
            }
        }
        Ok(Some(id))
    }

    fn cancel_listener(&self, id: u32) {
        if let Ok(mut l) = self.listeners.lock() {
            l.cancel(id);
        }
    }

    /// Closes notification `id`. Returns `Ok(true)`: this platform can close.
    pub(crate) async fn close(&self, id: u32) -> Result<bool> {
        self.cancel_listener(id);
        let conn = self.connection().await?;
        match conn
            .call_method(
                Some(BUS_NAME),
                OBJECT_PATH,
                Some(INTERFACE),
                "CloseNotification",
                &id,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = classify_zbus(&e);
                if error_reply(&e).is_some() && !backend_missing(&err) {
                    // The spec answers an unknown (already closed) id with an error:
                    // the notification is gone either way.
                    Ok(true)
                } else {
                    Err(err)
                }
            }
        }
    }
}

/// The session bus could not be reached at all.
fn no_bus(e: zbus::Error) -> NotifyError {
    let reason = match e {
        zbus::Error::Unsupported => "no Tokio runtime is running on this thread; \
            alert-desktop sends on the caller's Tokio runtime"
            .to_owned(),
        e => format!(
            "no D-Bus session bus (is DBUS_SESSION_BUS_ADDRESS set, and is a desktop \
             session running?): {e}"
        ),
    };
    NotifyError::Unavailable {
        channel: CHANNEL,
        reason,
    }
}

/// Nobody owns the name (or it could not be activated): the daemon is not running,
/// perhaps restarting. Retried after [`NO_SERVER_RETRY`](crate::NO_SERVER_RETRY).
fn no_server(name: &str, detail: &str) -> NotifyError {
    no_server_error(&format!("{name}: {detail}"))
}

/// The name's owner does not speak the notification interface: not a notification
/// server, and retrying will not change that.
fn not_a_server(name: &str, detail: &str) -> NotifyError {
    NotifyError::Unavailable {
        channel: CHANNEL,
        reason: format!(
            "the owner of {BUS_NAME} on the session bus does not implement {INTERFACE}: \
             {name}: {detail}"
        ),
    }
}

/// Classifies a D-Bus error reply by its error name.
///
/// | error name | error | retry |
/// |---|---|---|
/// | `ServiceUnknown`, `NameHasNoOwner`, `Spawn.*` (no server on the bus) | `Server` "no notification server owns …" | after [`NO_SERVER_RETRY`](crate::NO_SERVER_RETRY) (60 s); does not disable the destination |
/// | `UnknownMethod`, `UnknownObject`, `UnknownInterface` (the owner is not a notification server) | `Unavailable` | never (the destination is unusable) |
/// | `AccessDenied`, `AuthFailed`, `InteractiveAuthorizationRequired` | `Unauthorized` | never |
/// | `InvalidArgs`, `InvalidSignature` | `Rejected` | never |
/// | `LimitsExceeded` | `RateLimited` (no delay) | backoff |
/// | anything else (`Failed`, `NoReply`, `Timeout`, `NoMemory`, a server's own) | `Server` | backoff |
pub(crate) fn classify_dbus(name: &str, detail: &str) -> NotifyError {
    let short = name
        .strip_prefix("org.freedesktop.DBus.Error.")
        .unwrap_or("");
    let message = format!("{name}: {detail}");
    match short {
        "ServiceUnknown" | "NameHasNoOwner" => no_server(name, detail),
        s if s.starts_with("Spawn.") => no_server(name, detail),
        "UnknownMethod" | "UnknownObject" | "UnknownInterface" => not_a_server(name, detail),
        "AccessDenied" | "AuthFailed" | "InteractiveAuthorizationRequired" => {
            NotifyError::Unauthorized {
                channel: CHANNEL,
                status: None,
                message,
            }
        }
        "InvalidArgs" | "InvalidSignature" => NotifyError::Rejected {
            channel: CHANNEL,
            status: None,
            message,
        },
        "LimitsExceeded" => NotifyError::RateLimited {
            channel: CHANNEL,
            retry_after: None,
        },
        _ => NotifyError::Server {
            channel: CHANNEL,
            status: None,
            message,
            retry_after: None,
        },
    }
}

/// The name and description of a D-Bus error reply (zbus reports the names
/// `fdo::Error` knows as `Error::FDO`, the others as `Error::MethodError`).
fn error_reply(e: &zbus::Error) -> Option<(String, String)> {
    use zbus::DBusError;
    match e {
        zbus::Error::MethodError(name, detail, _) => {
            Some((name.as_str().to_owned(), detail.clone().unwrap_or_default()))
        }
        zbus::Error::FDO(e) => Some((
            e.name().as_str().to_owned(),
            e.description().unwrap_or_default().to_owned(),
        )),
        _ => None,
    }
}

/// Classifies a zbus error from the backend's own connection.
pub(crate) fn classify_zbus(e: &zbus::Error) -> NotifyError {
    match error_reply(e) {
        Some((name, detail)) => classify_dbus(&name, &detail),
        None => classify_text(&e.to_string()),
    }
}

/// Classifies a notify-rust error, which only exposes its text (zbus's `Display`).
///
/// Connection failures (`failed to connect to …`, `address error`, handshake) mean
/// there is no usable session bus: `Unavailable`. A D-Bus error reply reads
/// `name: detail` and is classified by [`classify_dbus`]. Anything else (I/O errors
/// on an established connection) is a `Transport` error, worth a retry.
pub(crate) fn classify_text(text: &str) -> NotifyError {
    const NO_BUS: [&str; 4] = [
        "failed to connect to",
        "address error",
        "D-Bus handshake failed",
        "Connection support is lacking",
    ];
    if NO_BUS.iter().any(|p| text.starts_with(p)) {
        return NotifyError::Unavailable {
            channel: CHANNEL,
            reason: format!(
                "no D-Bus session bus (is DBUS_SESSION_BUS_ADDRESS set, and is a \
                 desktop session running?): {text}"
            ),
        };
    }
    let (head, detail) = text.split_once(": ").unwrap_or((text, "no details"));
    let is_error_name = head.contains('.')
        && head.starts_with(|c: char| c.is_ascii_alphabetic())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-');
    if is_error_name {
        classify_dbus(head, detail)
    } else {
        NotifyError::transport_msg(CHANNEL, text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use alert_core::Retry;

    #[test]
    fn dbus_error_names_map_to_the_documented_table() {
        let cases = [
            ("org.freedesktop.DBus.Error.ServiceUnknown", "server"),
            ("org.freedesktop.DBus.Error.NameHasNoOwner", "server"),
            ("org.freedesktop.DBus.Error.Spawn.ChildExited", "server"),
            ("org.freedesktop.DBus.Error.UnknownMethod", "unavailable"),
            ("org.freedesktop.DBus.Error.UnknownInterface", "unavailable"),
            ("org.freedesktop.DBus.Error.AccessDenied", "unauthorized"),
            ("org.freedesktop.DBus.Error.InvalidArgs", "rejected"),
            ("org.freedesktop.DBus.Error.LimitsExceeded", "rate_limited"),
            ("org.freedesktop.DBus.Error.Failed", "server"),
            ("org.freedesktop.DBus.Error.NoReply", "server"),
            ("org.dunstproject.Error.Whatever", "server"),
        ];
        for (name, kind) in cases {
            let e = classify_dbus(name, "detail");
            assert_eq!(e.kind(), kind, "{name}");
            assert_eq!(e.channel(), "desktop");
        }
        // No server (yet, or any more): retried after a minute, not disabled.
        for name in [
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
            "org.freedesktop.DBus.Error.Spawn.ChildExited",
        ] {
            let e = classify_dbus(name, "x");
            assert_eq!(
                e.retryable(),
                Retry::After(Duration::from_secs(60)),
                "{name}"
            );
            assert!(!e.disables_destination(), "{name}");
            assert!(backend_missing(&e), "{name}");
            assert!(
                e.to_string().starts_with(
                    "desktop: server error: no notification server owns \
                     org.freedesktop.Notifications on the session bus"
                ),
                "{e}"
            );
        }
        // An owner that is not a notification server: unusable.
        let e = classify_dbus("org.freedesktop.DBus.Error.UnknownMethod", "x");
        assert_eq!(e.retryable(), Retry::Never);
        assert!(e.disables_destination());
        assert!(backend_missing(&e));
        assert!(e.to_string().contains("does not implement"), "{e}");
        // Other server errors are not a missing backend.
        assert!(!backend_missing(&classify_dbus(
            "org.freedesktop.DBus.Error.Failed",
            "x"
        )));
    }

    #[test]
    fn notify_rust_texts_are_classified() {
        let e = classify_text(
            "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.Notifications \
             was not provided by any .service files",
        );
        assert_eq!(e.kind(), "server");
        assert!(backend_missing(&e));
        let e = classify_text(
            "failed to connect to `unix:path=/nonexistent`: I/O error: No such file or directory",
        );
        assert_eq!(e.kind(), "unavailable");
        assert!(e.to_string().contains("DBUS_SESSION_BUS_ADDRESS"), "{e}");
        let e = classify_text("org.freedesktop.DBus.Error.InvalidArgs: bad hint");
        assert_eq!((e.kind(), e.retryable()), ("rejected", Retry::Never));
        let e = classify_text("I/O error: Broken pipe (os error 32)");
        assert_eq!((e.kind(), e.retryable()), ("transport", Retry::Backoff));
        let e = classify_text("Invalid D-Bus method reply");
        assert_eq!(e.kind(), "transport");
    }

    #[test]
    fn zbus_error_replies_are_read_by_name() {
        let fdo = zbus::Error::FDO(Box::new(zbus::fdo::Error::ServiceUnknown(
            "The name is not activatable".into(),
        )));
        assert_eq!(
            error_reply(&fdo),
            Some((
                "org.freedesktop.DBus.Error.ServiceUnknown".to_owned(),
                "The name is not activatable".to_owned()
            ))
        );
        assert_eq!(classify_zbus(&fdo).kind(), "server");
        assert!(backend_missing(&classify_zbus(&fdo)));
        let io = zbus::Error::InputOutput(Arc::new(std::io::Error::other("reset")));
        assert_eq!(error_reply(&io), None);
        assert_eq!(classify_zbus(&io).kind(), "transport");
    }

    #[tokio::test]
    async fn listeners_are_bounded_and_cancelled() {
        let mut l = Listeners::default();
        let mut tasks = Vec::new();
        for id in 0..(MAX_LISTENERS as u32 + 5) {
            let t = tokio::spawn(std::future::pending::<()>());
            l.add(id, t.abort_handle());
            tasks.push(t);
        }
        assert_eq!(l.0.len(), MAX_LISTENERS);
        assert_eq!(l.0.front().map(|(i, _)| *i), Some(5));
        l.cancel(10);
        assert!(l.0.iter().all(|(i, _)| *i != 10));
        let first = tasks.remove(0);
        assert!(
            first.await.unwrap_err().is_cancelled(),
            "oldest was aborted"
        );
        let tenth = tasks.remove(9);
        assert!(
            tenth.await.unwrap_err().is_cancelled(),
            "cancelled id aborted"
        );
    }
}
