//! A fake freedesktop notification server and a private D-Bus to run it on
//! (feature `fake`, Linux/BSD only).
//!
//! * [`PrivateBus`] starts a `dbus-daemon` of its own (no service activation, so a
//!   name nobody owns is really missing) and stops it on drop.
//! * [`FakeNotificationServer`] owns `org.freedesktop.Notifications` on a bus,
//!   records every `Notify` and `CloseNotification` call, advertises the
//!   capabilities you choose (with or without `actions`), fails the next `Notify`
//!   on demand, gives up its name to play "no server", and emits `ActionInvoked` and
//!   `NotificationClosed` like a real server.
//! * [`isolated`] runs one test in a child process whose
//!   `DBUS_SESSION_BUS_ADDRESS` points at a fresh private bus (or at no bus).
//!
//! # Why a child process
//!
//! notify-rust always connects to the session bus named by
//! `DBUS_SESSION_BUS_ADDRESS`; it cannot be handed a connection or an address.
//! Setting the variable in a running test is `unsafe` in edition 2024 (other
//! threads may read the environment) and the workspace denies `unsafe_code`. So
//! [`isolated`] re-runs the current test binary, filtered to the one test, with
//! the variable set through [`std::process::Command::env`]. It works the same under
//! `cargo nextest run` and `cargo test`, needs no wrapper script, and gives every
//! test its own bus, so the tests run in parallel without sharing the global name.
//!
//! ```no_run
//! use alert_core::{Alert, Notifier, Severity};
//! use alert_desktop::fake::{isolated, BusSetup, FakeNotificationServer};
//! use alert_desktop::{DesktopConfig, DesktopNotifier};
//!
//! #[test]
//! fn shows_critical_alerts() {
//!     isolated("shows_critical_alerts", BusSetup::Private, || async {
//!         let server = FakeNotificationServer::start().await.unwrap();
//!         let notifier = DesktopNotifier::new(DesktopConfig::new("Bikes")).unwrap();
//!         notifier.notify(&Alert::new(Severity::Critical, "ModelDown")).await.unwrap();
//!         assert_eq!(server.calls()[0].urgency(), Some(2));
//!     });
//! }
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use alert_core::BoxError;
use zbus::{OwnedVariant, Variant};

use crate::xdg::{BUS_NAME, INTERFACE, OBJECT_PATH};

/// The environment variable that marks the child process of [`isolated`]; it holds
/// the name of the test the child runs.
pub const CHILD_ENV: &str = "ALERT_DESKTOP_ISOLATED_TEST";

/// What the fake advertises by default: what dunst 1.9 advertises, minus its
/// private extensions.
pub const DEFAULT_CAPABILITIES: [&str; 6] = [
    "actions",
    "body",
    "body-hyperlinks",
    "body-markup",
    "icon-static",
    "persistence",
];

const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=TMPDIR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

static BUS_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A private `dbus-daemon` (session type, no service activation), stopped on drop.
#[derive(Debug)]
pub struct PrivateBus {
    child: Child,
    address: String,
    _stdout: BufReader<ChildStdout>,
}

impl PrivateBus {
    /// Starts `dbus-daemon --nofork --print-address` with a configuration of its own
    /// and waits for its address.
    ///
    /// # Errors
    ///
    /// When `dbus-daemon` is not installed (Debian: `apt-get install dbus`) or does
    /// not start.
    pub fn start() -> std::io::Result<PrivateBus> {
        let tmp = std::env::temp_dir();
        let conf: PathBuf = tmp.join(format!(
            "alert-desktop-bus-{}-{}.conf",
            std::process::id(),
            BUS_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&conf, BUS_CONFIG.replace("TMPDIR", &tmp.to_string_lossy()))?;
        let spawned = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_file(&conf);
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot run dbus-daemon (Debian: apt-get install dbus): {e}"),
                ));
            }
        };
        let mut stdout = BufReader::new(
            child
                .stdout
                .take()
                .ok_or_else(|| std::io::Error::other("dbus-daemon has no standard output"))?,
        );
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let _ = std::fs::remove_file(&conf);
        let address = line.trim().to_owned();
        if read.is_err() || address.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other(
                "dbus-daemon exited without printing its address",
            ));
        }
        Ok(PrivateBus {
            child,
            address,
            _stdout: stdout,
        })
    }

    /// The bus address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which session bus the child process of [`isolated`] sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BusSetup {
    /// A fresh [`PrivateBus`], with no notification server on it.
    Private,
    /// An address where no bus listens (a socket path that does not exist).
    NoBus,
}

/// What the child process of [`isolated`] printed.
#[derive(Clone, Debug, Default)]
pub struct ChildOutput {
    /// Its standard output (libtest's lines included).
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// The environment variable that makes tests needing system tools (`dbus-daemon`,
/// `dunst`, `Xvfb`) fail instead of skipping when a tool is missing; `.ci/run` sets
/// it.
pub const CI_ENV: &str = "ALERTS_CI";

/// Whether [`CI_ENV`] is set (to anything but empty or `0`): missing system tools
/// are then a failure, not a reason to skip.
pub fn tools_required() -> bool {
    std::env::var_os(CI_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// What to do when the private bus could not start: skip the test (`Ok`, with the
/// line to print) when `dbus-daemon` is not installed and tools are not required;
/// fail (`Err`, with the message) otherwise.
fn skip_without_bus(test: &str, err: &std::io::Error, required: bool) -> Result<String, String> {
    if err.kind() != std::io::ErrorKind::NotFound {
        return Err(format!(
            "a private dbus-daemon for `{test}` did not start: {err}"
        ));
    }
    if required {
        return Err(format!(
            "{CI_ENV} is set and `{test}` needs dbus-daemon, which is not installed \
             (.ci/run must install it: apt-get install dbus): {err}"
        ));
    }
    Ok(format!(
        "skipped {test}: dbus-daemon is not installed (Debian: apt-get install dbus; \
         set {CI_ENV}=1 to make this a failure)"
    ))
}

/// Runs `body` on a multi-threaded Tokio runtime in a child process of the current
/// test binary whose `DBUS_SESSION_BUS_ADDRESS` is set by `setup`.
///
/// `test` must be the test's path as libtest names it (for a test at the top of an
/// integration test file, its function name). In the parent, `isolated` starts the
/// bus, runs the child filtered to `test`, fails when the child failed (with its
/// output) or did not run the test, and returns what the child printed. In the
/// child, it runs `body` and returns `None`.
///
/// When `setup` needs a private bus and `dbus-daemon` is not installed, the parent
/// prints why on standard error and returns `None` without running `body` (the
/// test passes as skipped), unless [`tools_required`] ([`CI_ENV`] is set), where
/// it panics.
///
/// # Panics
///
/// In the parent, when the bus cannot be started (see above) or the child fails;
/// in the child, when `body` panics (which fails the child, and so the parent).
pub fn isolated<F, Fut>(test: &str, setup: BusSetup, body: F) -> Option<ChildOutput>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let marker = format!("alert-desktop: isolated test `{test}` ran to its end");
    if std::env::var(CHILD_ENV).as_deref() == Ok(test) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime for the isolated test");
        rt.block_on(body());
        // Say that the body really ran: a test filter that matched nothing would
        // also exit successfully.
        #[allow(clippy::print_stdout)]
        {
            println!("{marker}");
        }
        return None;
    }
    let bus = match setup {
        BusSetup::Private => match PrivateBus::start() {
            Ok(bus) => Some(bus),
            Err(e) => match skip_without_bus(test, &e, tools_required()) {
                Ok(skipped) => {
                    #[allow(clippy::print_stderr)]
                    {
                        eprintln!("{skipped}");
                    }
                    return None;
                }
                Err(fail) => panic!("{fail}"),
            },
        },
        BusSetup::NoBus => None,
    };
    let address = match &bus {
        Some(b) => b.address().to_owned(),
        None => format!(
            "unix:path={}",
            std::env::temp_dir()
                .join(format!("alert-desktop-no-bus-{}", std::process::id()))
                .display()
        ),
    };
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .env(CHILD_ENV, test)
        .env_remove("DBUS_SYSTEM_BUS_ADDRESS")
        .stdin(Stdio::null())
        .output()
        .expect("the test binary runs again");
    drop(bus);
    let out = ChildOutput {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
    .checked(out.status.success(), test, &marker);
    Some(out)
}

impl ChildOutput {
    fn checked(self, success: bool, test: &str, marker: &str) -> ChildOutput {
        assert!(
            success && self.stdout.contains(marker),
            "isolated test `{test}` {}\n--- child stdout ---\n{}\n--- child stderr ---\n{}",
            if success {
                "did not run (is the name its libtest path?)"
            } else {
                "failed"
            },
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A hint value as the fake received it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HintValue {
    /// `y`, e.g. `urgency`.
    Byte(u8),
    /// `b`, e.g. `transient`, `resident`.
    Bool(bool),
    /// `i`.
    Int(i32),
    /// `u`.
    UInt(u32),
    /// `s`, e.g. `category`, `desktop-entry`, `image-path`.
    Str(String),
    /// Anything else, in zbus's debug notation.
    Other(String),
}

impl HintValue {
    fn of(v: &Variant<'_>) -> HintValue {
        match v {
            Variant::U8(b) => HintValue::Byte(*b),
            Variant::Bool(b) => HintValue::Bool(*b),
            Variant::I32(i) => HintValue::Int(*i),
            Variant::U32(u) => HintValue::UInt(*u),
            Variant::Str(s) => HintValue::Str(s.as_str().to_owned()),
            Variant::Variant(inner) => HintValue::of(inner),
            other => HintValue::Other(format!("{other:?}")),
        }
    }
}

/// One `Notify` call as the fake received it, with the id it answered.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NotifyCall {
    /// `app_name`.
    pub app_name: String,
    /// `replaces_id` (0: a new notification).
    pub replaces_id: u32,
    /// `app_icon`.
    pub app_icon: String,
    /// `summary`.
    pub summary: String,
    /// `body`.
    pub body: String,
    /// `actions`, flat: `[key, label, key, label, …]`.
    pub actions: Vec<String>,
    /// `hints`.
    pub hints: BTreeMap<String, HintValue>,
    /// `expire_timeout`: -1 server default, 0 never, else milliseconds.
    pub expire_timeout: i32,
    /// The id the fake answered.
    pub id: u32,
}

impl NotifyCall {
    /// The `urgency` hint's byte, if sent as a byte.
    pub fn urgency(&self) -> Option<u8> {
        match self.hints.get("urgency") {
            Some(HintValue::Byte(b)) => Some(*b),
            _ => None,
        }
    }

    /// The action keys (`actions` at even positions).
    pub fn action_keys(&self) -> Vec<&str> {
        self.actions.iter().step_by(2).map(String::as_str).collect()
    }
}

/// A failure the fake answers the next `Notify` with (a D-Bus error reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FakeFault {
    /// `org.freedesktop.DBus.Error.Failed`: the server failed.
    Failed,
    /// `org.freedesktop.DBus.Error.InvalidArgs`: the call was refused as invalid.
    InvalidArgs,
    /// `org.freedesktop.DBus.Error.AccessDenied`: the caller is not allowed.
    AccessDenied,
    /// `org.freedesktop.DBus.Error.LimitsExceeded`: too many notifications.
    LimitsExceeded,
    /// `org.freedesktop.DBus.Error.UnknownMethod`: the name's owner does not
    /// implement `Notify` (it is not a notification server).
    UnknownMethod,
}

#[derive(Debug)]
struct State {
    calls: Vec<NotifyCall>,
    closed: Vec<u32>,
    open: Vec<u32>,
    capabilities: Vec<String>,
    next_id: u32,
    faults: VecDeque<FakeFault>,
}

#[derive(Clone, Debug)]
struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Server {
    state: Shared,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        expire_timeout: i32,
    ) -> zbus::fdo::Result<u32> {
        let mut s = self.state.lock();
        if let Some(fault) = s.faults.pop_front() {
            return Err(match fault {
                FakeFault::Failed => zbus::fdo::Error::Failed("fake: server failure".into()),
                FakeFault::InvalidArgs => {
                    zbus::fdo::Error::InvalidArgs("fake: invalid notification".into())
                }
                FakeFault::AccessDenied => {
                    zbus::fdo::Error::AccessDenied("fake: not allowed to notify".into())
                }
                FakeFault::LimitsExceeded => {
                    zbus::fdo::Error::LimitsExceeded("fake: too many notifications".into())
                }
                FakeFault::UnknownMethod => {
                    zbus::fdo::Error::UnknownMethod("fake: no such method Notify".into())
                }
            });
        }
        // The spec: a non-zero replaces_id is answered with the same id.
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            s.next_id += 1;
            s.next_id
        };
        if !s.open.contains(&id) {
            s.open.push(id);
        }
        s.calls.push(NotifyCall {
            app_name,
            replaces_id,
            app_icon,
            summary,
            body,
            actions,
            hints: hints
                .iter()
                .map(|(k, v)| (k.clone(), HintValue::of(v)))
                .collect(),
            expire_timeout,
            id,
        });
        Ok(id)
    }

    async fn close_notification(
        &self,
        id: u32,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> zbus::fdo::Result<()> {
        let known = {
            let mut s = self.state.lock();
            s.closed.push(id);
            let known = s.open.contains(&id);
            s.open.retain(|i| *i != id);
            known
        };
        if !known {
            // The spec answers an unknown id with an (empty) error.
            return Err(zbus::fdo::Error::Failed(String::new()));
        }
        conn.emit_signal(
            None::<&str>,
            OBJECT_PATH,
            INTERFACE,
            "NotificationClosed",
            &(id, 3u32),
        )
        .await
        .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))
    }

    fn get_capabilities(&self) -> Vec<String> {
        self.state.lock().capabilities.clone()
    }

    #[zbus(out_args("name", "vendor", "version", "spec_version"))]
    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "alert-desktop-fake".into(),
            "ml-alerts".into(),
            env!("CARGO_PKG_VERSION").into(),
            "1.2".into(),
        )
    }
}

/// A fake `org.freedesktop.Notifications` server on a D-Bus bus.
///
/// It answers like the spec (and dunst) does: new ids count up from 1, a
/// `replaces_id` is answered with itself, `CloseNotification` emits
/// `NotificationClosed(id, 3)` and answers an unknown id with an error.
#[derive(Debug)]
pub struct FakeNotificationServer {
    conn: zbus::Connection,
    state: Shared,
}

fn boxed(e: zbus::Error) -> BoxError {
    Box::new(e)
}

impl FakeNotificationServer {
    /// Starts the fake on the session bus of this process
    /// (`DBUS_SESSION_BUS_ADDRESS`; inside [`isolated`], the private bus).
    ///
    /// # Errors
    ///
    /// When the bus cannot be reached or the name is taken.
    pub async fn start() -> Result<FakeNotificationServer, BoxError> {
        let builder = zbus::connection::Builder::session();
        FakeNotificationServer::build(builder).await
    }

    /// Starts the fake on the bus at `address` (e.g. [`PrivateBus::address`]).
    ///
    /// # Errors
    ///
    /// When the bus cannot be reached or the name is taken.
    pub async fn start_at(address: &str) -> Result<FakeNotificationServer, BoxError> {
        let builder = zbus::connection::Builder::address(address);
        FakeNotificationServer::build(builder).await
    }

    async fn build(
        builder: zbus::connection::Builder<'_>,
    ) -> Result<FakeNotificationServer, BoxError> {
        let state = Shared(Arc::new(Mutex::new(State {
            calls: Vec::new(),
            closed: Vec::new(),
            open: Vec::new(),
            capabilities: DEFAULT_CAPABILITIES
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
            next_id: 0,
            faults: VecDeque::new(),
        })));
        let conn = builder
            .serve_at(
                OBJECT_PATH,
                Server {
                    state: state.clone(),
                },
            )
            .name(BUS_NAME)
            .build()
            .await
            .map_err(boxed)?;
        Ok(FakeNotificationServer { conn, state })
    }

    /// Every `Notify` call so far, oldest first.
    pub fn calls(&self) -> Vec<NotifyCall> {
        self.state.lock().calls.clone()
    }

    /// Every `Notify` call since the last `take_calls`, and forgets them.
    pub fn take_calls(&self) -> Vec<NotifyCall> {
        std::mem::take(&mut self.state.lock().calls)
    }

    /// The ids `CloseNotification` was called with, oldest first.
    pub fn closed(&self) -> Vec<u32> {
        self.state.lock().closed.clone()
    }

    /// The capabilities `GetCapabilities` answers from now on.
    pub fn set_capabilities<S: Into<String>>(&self, caps: impl IntoIterator<Item = S>) {
        self.state.lock().capabilities = caps.into_iter().map(Into::into).collect();
    }

    /// Stops advertising `actions` (a server that cannot show buttons).
    pub fn hide_actions(&self) {
        self.state.lock().capabilities.retain(|c| c != "actions");
    }

    /// The capabilities advertised now.
    pub fn capabilities(&self) -> Vec<String> {
        self.state.lock().capabilities.clone()
    }

    /// Answers the next `Notify` with `fault` (faults queue up, one per call).
    pub fn fail_next(&self, fault: FakeFault) {
        self.state.lock().faults.push_back(fault);
    }

    /// Gives up `org.freedesktop.Notifications`: calls to it then fail with
    /// `ServiceUnknown`, as with no server at all.
    ///
    /// # Errors
    ///
    /// When the bus refuses.
    pub async fn release_name(&self) -> Result<(), BoxError> {
        self.conn
            .release_name(BUS_NAME)
            .await
            .map(drop)
            .map_err(boxed)
    }

    /// Takes `org.freedesktop.Notifications` back (as a new server instance would).
    ///
    /// # Errors
    ///
    /// When the bus refuses or another connection owns the name.
    pub async fn request_name(&self) -> Result<(), BoxError> {
        self.conn.request_name(BUS_NAME).await.map_err(boxed)
    }

    /// Emits `ActionInvoked(id, key)`, as when the user clicks a button.
    ///
    /// # Errors
    ///
    /// When the signal cannot be sent.
    pub async fn invoke_action(&self, id: u32, key: &str) -> Result<(), BoxError> {
        self.conn
            .emit_signal(
                None::<&str>,
                OBJECT_PATH,
                INTERFACE,
                "ActionInvoked",
                &(id, key),
            )
            .await
            .map_err(boxed)
    }

    /// Closes notification `id` as the server would (1 expired, 2 dismissed by the
    /// user), emitting `NotificationClosed(id, reason)`.
    ///
    /// # Errors
    ///
    /// When the signal cannot be sent.
    pub async fn close(&self, id: u32, reason: u32) -> Result<(), BoxError> {
        self.state.lock().open.retain(|i| *i != id);
        self.conn
            .emit_signal(
                None::<&str>,
                OBJECT_PATH,
                INTERFACE,
                "NotificationClosed",
                &(id, reason),
            )
            .await
            .map_err(boxed)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::*;

    #[test]
    fn a_missing_dbus_daemon_skips_unless_tools_are_required() {
        let missing = Error::new(ErrorKind::NotFound, "No such file or directory");
        assert_eq!(
            skip_without_bus("t", &missing, false),
            Ok(
                "skipped t: dbus-daemon is not installed (Debian: apt-get install dbus; \
                set ALERTS_CI=1 to make this a failure)"
                    .to_owned()
            )
        );
        let err = skip_without_bus("t", &missing, true).expect_err("required in CI");
        assert!(
            err.starts_with("ALERTS_CI is set and `t` needs dbus-daemon, which is not installed"),
            "{err}"
        );
        // A daemon that is there but fails is a failure either way.
        let broken = Error::other("dbus-daemon exited without printing its address");
        for required in [false, true] {
            let err = skip_without_bus("t", &broken, required).expect_err("a failure");
            assert!(err.contains("did not start"), "{err}");
        }
    }

    #[test]
    fn a_missing_program_is_reported_as_not_found() {
        // What `PrivateBus::start` sees when dbus-daemon is not on PATH.
        let err = Command::new("alert-desktop-no-such-dbus-daemon")
            .spawn()
            .expect_err("not installed");
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
