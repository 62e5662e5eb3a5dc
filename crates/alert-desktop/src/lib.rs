//! Desktop notifications for the ml-alerts toolkit: the seed case of a developer
//! who wants a pop-up when a training or tuning job finishes or fails.
//!
//! On Linux and the BSDs alerts go to the freedesktop notification server (dunst,
//! GNOME Shell, KDE Plasma, xfce4-notifyd, …) over the D-Bus session bus, through
//! [notify-rust](https://docs.rs/notify-rust)'s zbus backend running on the
//! caller's Tokio runtime (`show_async`: no blocking call on a runtime thread, no
//! executor of its own). macOS and Windows use notify-rust's native backends.
//!
//! # Usage
//!
//! The seed's `AlertsService(enable=True, app_name="Bikes", timeout=5)` and its
//! `notify(title, message)`:
//!
//! ```no_run
//! use alert_core::{Alert, Notifier, NotifierExt, Severity, Status};
//! use alert_desktop::{DesktopConfig, DesktopNotifier, Fallback};
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let notifier = DesktopNotifier::new(
//!     DesktopConfig::new("Bikes")
//!         .with_timeout(5)
//!         .with_fallback(Fallback::Console), // headless: print "[Bikes] title: message"
//! )?;
//! notifier.notify_text("Training Complete", "Model version: 3").await?;
//!
//! // A failure that stays on screen, then its resolution replacing it in place.
//! let down = Alert::new(Severity::Critical, "TrainingFailed")
//!     .with_summary("Training failed")
//!     .with_message("CUDA out of memory at epoch 3")
//!     .with_runbook("https://runbooks.example/oom");
//! let receipt = notifier.notify(&down).await?;
//! notifier.update(&down.with_status(Status::Resolved), &receipt).await?;
//! # Ok(()) }
//! ```
//!
//! From configuration (unknown keys are rejected; see [`DesktopConfig`] for every
//! key): `enable`, `app_name`, `timeout`, `icons`, `fallback`, `actions`,
//! `on_resolve`, `severity`. [`DesktopConfig::from_env`] reads
//! [`ENV_ENABLE`], [`ENV_APP_NAME`], [`ENV_TIMEOUT`] and [`ENV_FALLBACK`].
//!
//! # What is sent
//!
//! * **Summary**: the alert's title (a firing `Info` alert shows it bare, as the
//!   seed does; others read `[ERROR] title`; resolutions `[RESOLVED] title`), at most
//!   120 characters.
//! * **Body**: message, key evidence, source, runbook and dashboard links,
//!   annotations and labels as plain text, cut by structure (least important parts
//!   first) to 1,000 characters. Servers that advertise `body-markup` get it
//!   escaped (`&`, `<`, `>`), so alert text can neither format nor link.
//! * **App name and icon**: `app_name`, and the icon for the severity
//!   ([`DesktopIcons`]).
//! * **Urgency and expiry**: from [`DesktopSeverityMap`].
//! * **"Open runbook"** (action key `runbook`): only when `actions = true`, the
//!   alert has an `http(s)` runbook link and the server advertises `actions`
//!   (`GetCapabilities`, cached per connection and server instance). A click runs
//!   `xdg-open URL` (see [`DesktopNotifier::with_url_opener`]).
//! * **Resolution** ([`Notifier::update`](alert_core::Notifier::update) with the
//!   firing notification's receipt): replaces the notification in place
//!   (`replaces_id`) with the resolved one, or closes it
//!   (`on_resolve = "close"`, `CloseNotification`).
//!
//! The receipt's `id` is the server's notification id. With `enable = false`
//! nothing is shown and the receipt says `meta["skipped"] = "disabled"`.
//!
//! # No notification server
//!
//! Without a desktop to show it on, sending fails with an error that says what is
//! missing, and none of them is retried in a tight loop:
//!
//! | situation | error | [`retryable`](alert_core::NotifyError::retryable) | [`disables_destination`](alert_core::NotifyError::disables_destination) |
//! |---|---|---|---|
//! | a session bus, but no server owns `org.freedesktop.Notifications` (the daemon is not running, or restarting) | `Server` "no notification server owns …" (like an HTTP 503) | `After(60 s)` ([`NO_SERVER_RETRY`]) | no |
//! | the name's owner is not a notification server (`UnknownMethod`, `UnknownInterface`) | `Unavailable` | `Never` | yes |
//! | no session bus at all (SSH, CI, containers), no Tokio runtime | `Unavailable` | `Never` | yes |
//!
//! A missing daemon is treated as temporary because it usually is (dunst
//! restarting, a desktop session still starting): a router's circuit breaker opens
//! after a few such failures and probes again later (a fallback receiver takes over
//! while it is open), instead of disabling the receiver until someone re-enables
//! it. With `fallback = "console"` the notifier
//! prints `[app] title: message` on standard output instead in every case above
//! (as the seed's service does), logs once (with `tracing`) why, and succeeds with
//! `meta["fallback"] = "console"`.
//!
//! Other D-Bus error replies are classified by name: `InvalidArgs` → `Rejected`,
//! `AccessDenied` → `Unauthorized`, `LimitsExceeded` → `RateLimited` (no delay),
//! anything else → `Server` (back off).
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `fake` | no | [`fake`]: a fake `org.freedesktop.Notifications` server, a private `dbus-daemon` and a helper to run a test against them (Linux/BSD; needs `dbus-daemon` installed) |
//!
//! # Severity mapping
//!
//! [`DesktopSeverityMap`] (overridable under `[severity]`):
//!
//! | alert | urgency | expires |
//! |---|---|---|
//! | `Info` | low (0) | after `timeout` |
//! | `Warning` | normal (1) | after `timeout` |
//! | `Error` | critical (2) | after `timeout` |
//! | `Critical` | critical (2) | never (until dismissed) |
//! | resolved | low (0) | after `timeout` |
//!
//! # Platforms
//!
//! | | Linux/BSD (freedesktop) | macOS | Windows |
//! |---|---|---|---|
//! | summary, body | yes | yes | yes (title, text) |
//! | app name | yes | no (the app bundle's) | no (the toast's app id; PowerShell's by default) |
//! | icon | yes | no | no |
//! | urgency | yes (hint byte) | **no** (the method does not exist on macOS's default backend) | critical → "reminder" toast |
//! | timeout | yes | no (the system decides) | short/long only |
//! | replace or close on resolution | yes | no: a new notification is shown | no: a new notification is shown |
//! | "Open runbook" action, capabilities, server information | yes | no | no |
//! | receipt id | yes | no | no |
//!
//! On macOS and Windows notify-rust's `show()` is blocking and runs on Tokio's
//! blocking pool. Other platforms have no desktop notifications:
//! [`DesktopNotifier::new`] fails with `BuildError::Unsupported` unless
//! `fallback = "console"`. The Linux/BSD code is built and tested in CI; the
//! macOS and Windows code paths are written against notify-rust's platform APIs but
//! not compiled in this project's CI (no cross toolchains on the build machines).
//!
//! # Limitations
//!
//! * The notifier must be used from inside a Tokio runtime (zbus runs on it);
//!   outside one, sends fail with `Unavailable` saying so.
//! * `new` does not probe the bus (that needs the runtime); a missing server shows
//!   up on the first send.
//! * Each notification opens its own session-bus connection (notify-rust's
//!   design); one with an "Open runbook" button keeps it open until the button is
//!   used, the notification closes, or 32 newer ones wait for clicks.
//! * Some servers (GNOME) only let the sending connection close a notification:
//!   `on_resolve = "replace"` (the default) works everywhere.
//! * No per-call timeout: a frozen server is bounded by the bus's reply timeout;
//!   wrap the notifier in `alert-router`'s timeout layer.
//!
//! # Supported Rust versions
//!
//! The workspace's `rust-version` (1.89, the MSRV of notify-rust and zbus 6).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod backend;
mod config;
#[cfg(not(all(unix, not(target_os = "macos"))))]
mod native;
mod notifier;
mod payload;
mod severity;
#[cfg(all(unix, not(target_os = "macos")))]
mod xdg;

#[cfg(all(feature = "fake", unix, not(target_os = "macos")))]
#[cfg_attr(
    docsrs,
    doc(cfg(all(feature = "fake", unix, not(target_os = "macos"))))
)]
pub mod fake;

pub use config::{
    DesktopConfig, DesktopIcons, ENV_APP_NAME, ENV_ENABLE, ENV_FALLBACK, ENV_TIMEOUT, Fallback,
    MAX_TIMEOUT_SECS, OnResolve,
};
pub use notifier::{DesktopNotifier, NO_SERVER_RETRY, ServerInfo};
pub use severity::{DesktopLevel, DesktopSeverityMap, DesktopUrgency, Expire};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
