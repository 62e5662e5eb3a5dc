//! alert-desktop against a real `dbus-daemon` (one private bus per test) and the
//! fake `org.freedesktop.Notifications` server from `alert_desktop::fake`.
//!
//! Each test runs its body in a child process whose `DBUS_SESSION_BUS_ADDRESS`
//! points at its own bus (see `alert_desktop::fake::isolated` for why), so the
//! tests run in parallel under `cargo nextest run` and `cargo test` alike.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::{Alert, Notifier, NotifierExt, Receipt, Retry, Severity, Status, Timestamp};
use alert_desktop::fake::{BusSetup, FakeFault, FakeNotificationServer, NotifyCall, isolated};
use alert_desktop::{DesktopConfig, DesktopNotifier, Fallback, NO_SERVER_RETRY, OnResolve};
use alert_testkit::conformance::{Fault, Harness, Suite};

const APP: &str = "Bikes";
const SUMMARY_LIMIT: usize = 120;
const BODY_LIMIT: usize = 1000;

fn notifier(config: DesktopConfig) -> DesktopNotifier {
    DesktopNotifier::new(config).expect("valid config")
}

fn resolved(a: &Alert) -> Alert {
    a.clone()
        .resolved_at(Timestamp::from_unix_seconds(1_795_503_600).expect("in range"))
}

/// Undoes the markup escaping of a body (for servers with `body-markup`).
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// What every notification on the wire must satisfy.
fn violations(call: &NotifyCall, markup: bool) -> Vec<String> {
    let mut v = Vec::new();
    if call.app_name != APP {
        v.push(format!("app_name is {:?}", call.app_name));
    }
    let summary_len = call.summary.chars().count();
    if summary_len == 0 || summary_len > SUMMARY_LIMIT {
        v.push(format!("summary has {summary_len} characters"));
    }
    let body = if markup {
        if call.body.contains(['<', '>']) {
            v.push("raw `<` or `>` in a markup body".to_owned());
        }
        let stray_amp = call.body.match_indices('&').any(|(i, _)| {
            let rest = &call.body[i..];
            !(rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;"))
        });
        if stray_amp {
            v.push("unescaped `&` in a markup body".to_owned());
        }
        unescape(&call.body)
    } else {
        call.body.clone()
    };
    let body_len = body.chars().count();
    if body_len > BODY_LIMIT {
        v.push(format!("body has {body_len} characters"));
    }
    for (what, text) in [("summary", &call.summary), ("body", &body)] {
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            v.push(format!("control character in the {what}"));
        }
    }
    if !matches!(call.urgency(), Some(0..=2)) {
        v.push(format!("urgency hint is {:?}", call.hints.get("urgency")));
    }
    if call.expire_timeout < -1 {
        v.push(format!("expire_timeout is {}", call.expire_timeout));
    }
    if !(call.actions.is_empty() || call.actions == ["runbook", "Open runbook"]) {
        v.push(format!("unexpected actions {:?}", call.actions));
    }
    v
}

struct Conformance {
    server: FakeNotificationServer,
    notifier: DesktopNotifier,
}

#[alert_core::async_trait]
impl Harness for Conformance {
    fn notifier(&self) -> &dyn Notifier {
        &self.notifier
    }
    fn secrets(&self) -> Vec<String> {
        Vec::new() // a desktop channel is configured with no secret
    }
    async fn check_payloads(&self) -> Vec<String> {
        let calls = self.server.take_calls();
        let mut problems = Vec::new();
        if calls.is_empty() {
            problems.push("nothing was sent".to_owned());
        }
        for c in &calls {
            problems.extend(violations(c, true));
        }
        problems
    }
    async fn inject(&self, fault: Fault) -> bool {
        match fault {
            Fault::ServerError => self.server.fail_next(FakeFault::Failed),
            Fault::BadRequest => self.server.fail_next(FakeFault::InvalidArgs),
            Fault::Unauthorized => self.server.fail_next(FakeFault::AccessDenied),
            // The name's owner is not a notification server. (No owner at all is
            // temporary: retried later, see `no_server_is_retried_later_not_disabled`.)
            Fault::Gone => self.server.fail_next(FakeFault::UnknownMethod),
            _ => return false,
        }
        true
    }
}

#[test]
fn conformance() {
    isolated("conformance", BusSetup::Private, || async {
        let server = FakeNotificationServer::start().await.expect("fake starts");
        let h = Conformance {
            server,
            notifier: notifier(DesktopConfig::new(APP)),
        };
        let report = Suite::new(&h)
            .skip(
                Fault::RATE_LIMITED,
                "D-Bus has no retry-after answer: LimitsExceeded is a RateLimited error \
                 without a delay (dbus_error_replies_are_classified)",
            )
            .run()
            .await;
        assert!(report.passed(), "{:#?}", report.failures);
        assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
        // A D-Bus call has no HTTP timeout or connection reset to inject.
        assert_eq!(report.untried.len(), 2, "{:?}", report.untried);
    });
}

#[test]
fn severities_map_to_urgency_timeout_icon_summary_and_body() {
    isolated(
        "severities_map_to_urgency_timeout_icon_summary_and_body",
        BusSetup::Private,
        || async {
            let server = FakeNotificationServer::start().await.expect("fake starts");
            let n = notifier(DesktopConfig::new(APP).with_timeout(7));
            for sev in Severity::ALL {
                let a = Alert::new(sev, "AccuracyDrop")
                    .with_summary("Accuracy fell to 0.81")
                    .with_message("threshold 0.90");
                let r = n.notify(&a).await.expect("delivered");
                assert_eq!(r.channel, "desktop");
                assert!(r.id.is_some());
            }
            let got: Vec<(String, String, String, Option<u8>, i32, String)> = server
                .calls()
                .into_iter()
                .map(|c| {
                    (
                        c.app_name.clone(),
                        c.summary.clone(),
                        c.body.clone(),
                        c.urgency(),
                        c.expire_timeout,
                        c.app_icon.clone(),
                    )
                })
                .collect();
            let row = |summary: &str, urgency, timeout, icon: &str| {
                (
                    APP.to_owned(),
                    summary.to_owned(),
                    "threshold 0.90".to_owned(),
                    Some(urgency),
                    timeout,
                    icon.to_owned(),
                )
            };
            assert_eq!(
                got,
                [
                    row("Accuracy fell to 0.81", 0, 7000, "dialog-information"),
                    row("[WARNING] Accuracy fell to 0.81", 1, 7000, "dialog-warning"),
                    row("[ERROR] Accuracy fell to 0.81", 2, 7000, "dialog-error"),
                    row("[CRITICAL] Accuracy fell to 0.81", 2, 0, "dialog-error"),
                ]
            );
            let ids: Vec<u32> = server.calls().iter().map(|c| c.id).collect();
            assert_eq!(ids, [1, 2, 3, 4], "new notifications, no replaces_id");
            assert!(server.calls().iter().all(|c| c.replaces_id == 0));

            // The seed's one-liner.
            n.notify_text("Training Complete", "Model version: 3")
                .await
                .expect("delivered");
            let seed = server.calls().pop().expect("recorded");
            assert_eq!(
                (seed.summary.as_str(), seed.body.as_str(), seed.urgency()),
                ("Training Complete", "Model version: 3", Some(0))
            );
        },
    );
}

#[test]
fn the_severity_map_and_icons_are_overridable_from_config() {
    isolated(
        "the_severity_map_and_icons_are_overridable_from_config",
        BusSetup::Private,
        || async {
            let server = FakeNotificationServer::start().await.expect("fake starts");
            let config: DesktopConfig = toml::from_str(
                r#"
                app_name = "Bikes"
                timeout = 3
                [icons]
                warning = "/opt/bikes/warn.png"
                [severity]
                warning = { urgency = "critical", expire = "never" }
                critical = { urgency = "normal", expire = "default" }
                "#,
            )
            .expect("valid toml");
            let n = notifier(config);
            n.notify(&Alert::new(Severity::Warning, "Drift"))
                .await
                .expect("delivered");
            n.notify(&Alert::new(Severity::Critical, "Down"))
                .await
                .expect("delivered");
            let calls = server.calls();
            assert_eq!(
                (
                    calls[0].urgency(),
                    calls[0].expire_timeout,
                    calls[0].app_icon.as_str()
                ),
                (Some(2), 0, "/opt/bikes/warn.png")
            );
            assert_eq!((calls[1].urgency(), calls[1].expire_timeout), (Some(1), -1));
        },
    );
}

#[test]
fn resolution_replaces_the_firing_notification() {
    isolated(
        "resolution_replaces_the_firing_notification",
        BusSetup::Private,
        || async {
            let server = FakeNotificationServer::start().await.expect("fake starts");
            let n = notifier(DesktopConfig::new(APP));
            let other = n
                .notify(&Alert::new(Severity::Info, "Other"))
                .await
                .expect("delivered");
            let firing = Alert::new(Severity::Critical, "ModelDown").with_summary("Model down");
            let receipt = n.notify(&firing).await.expect("delivered");
            assert_ne!(receipt.id, other.id);
            let id: u32 = receipt
                .id
                .as_deref()
                .expect("an id")
                .parse()
                .expect("a u32");

            let again = n
                .update(&resolved(&firing), &receipt)
                .await
                .expect("delivered");
            assert_eq!(again.id, receipt.id, "the server keeps the id");
            let last = server.calls().pop().expect("recorded");
            assert_eq!(last.replaces_id, id);
            assert_eq!(last.summary, "[RESOLVED] Model down");
            assert_eq!((last.urgency(), last.expire_timeout), (Some(0), 5000));
            assert_eq!(last.app_icon, "emblem-default");

            // An escalation replaces too.
            n.update(&firing.clone().with_severity(Severity::Critical), &receipt)
                .await
                .expect("delivered");
            assert_eq!(server.calls().pop().expect("recorded").replaces_id, id);

            // A receipt without an id (skipped, console) means a new notification.
            n.update(&resolved(&firing), &Receipt::new("desktop"))
                .await
                .expect("delivered");
            assert_eq!(server.calls().pop().expect("recorded").replaces_id, 0);
            assert!(server.closed().is_empty());
        },
    );
}

#[test]
fn resolution_can_close_instead() {
    isolated(
        "resolution_can_close_instead",
        BusSetup::Private,
        || async {
            let server = FakeNotificationServer::start().await.expect("fake starts");
            let n = notifier(DesktopConfig::new(APP).with_on_resolve(OnResolve::Close));
            let firing = Alert::new(Severity::Error, "Drift");
            let receipt = n.notify(&firing).await.expect("delivered");
            let sent = server.calls().len();
            let closed = n
                .update(&resolved(&firing), &receipt)
                .await
                .expect("closed");
            assert_eq!(closed.meta("closed"), Some("true"));
            assert_eq!(closed.id, receipt.id);
            let id: u32 = receipt.id.as_deref().expect("id").parse().expect("u32");
            assert_eq!(server.closed(), [id]);
            assert_eq!(server.calls().len(), sent, "nothing new shown");
            // Closing one that is already gone is not an error.
            n.update(&resolved(&firing), &receipt)
                .await
                .expect("already closed is fine");
            assert_eq!(server.closed(), [id, id]);
        },
    );
}

#[test]
fn runbook_action_only_when_advertised_and_it_opens_the_link() {
    isolated(
        "runbook_action_only_when_advertised_and_it_opens_the_link",
        BusSetup::Private,
        || async {
            let server = FakeNotificationServer::start().await.expect("fake starts");
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            let n = notifier(DesktopConfig::new(APP)).with_url_opener(move |url| {
                let _ = tx.send(url.to_owned());
            });
            let alert = Alert::new(Severity::Error, "OOM")
                .with_message("<b>CUDA</b> & friends")
                .with_runbook("https://runbooks.example/oom?x=1&y=2");
            let receipt = n.notify(&alert).await.expect("delivered");
            let call = server.calls().pop().expect("recorded");
            assert_eq!(call.actions, ["runbook", "Open runbook"]);
            assert_eq!(
                call.body,
                "&lt;b&gt;CUDA&lt;/b&gt; &amp; friends\n\
                 Runbook: https://runbooks.example/oom?x=1&amp;y=2",
                "escaped for a server with body-markup"
            );

            // A click opens the link, once. The listener subscribes right after the
            // send, so click until it answers (a person takes longer than that).
            let id: u32 = receipt.id.as_deref().expect("id").parse().expect("u32");
            let opened = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    server.invoke_action(id, "runbook").await.expect("signal");
                    if let Ok(Some(url)) =
                        tokio::time::timeout(Duration::from_millis(100), rx.recv()).await
                    {
                        return url;
                    }
                }
            })
            .await
            .expect("the link was opened");
            assert_eq!(opened, "https://runbooks.example/oom?x=1&y=2");
            server.invoke_action(id, "runbook").await.expect("signal");
            assert!(
                tokio::time::timeout(Duration::from_millis(300), rx.recv())
                    .await
                    .is_err(),
                "opened only once"
            );

            // No button for unsafe links, nor with actions off.
            n.notify(&alert.clone().with_runbook("javascript:alert(1)"))
                .await
                .expect("delivered");
            assert!(server.calls().pop().expect("recorded").actions.is_empty());
            let off = notifier(DesktopConfig::new(APP).with_actions(false));
            off.notify(&alert).await.expect("delivered");
            assert!(server.calls().pop().expect("recorded").actions.is_empty());

            // A server without actions (nor markup): no button, raw body.
            server.set_capabilities(["body"]);
            let fresh = notifier(DesktopConfig::new(APP));
            fresh.notify(&alert).await.expect("delivered");
            let call = server.calls().pop().expect("recorded");
            assert!(call.actions.is_empty(), "{:?}", call.actions);
            assert_eq!(
                call.body,
                "<b>CUDA</b> & friends\nRunbook: https://runbooks.example/oom?x=1&y=2"
            );
        },
    );
}

#[test]
fn capabilities_are_cached_per_server_instance() {
    isolated(
        "capabilities_are_cached_per_server_instance",
        BusSetup::Private,
        || async {
            let first = FakeNotificationServer::start().await.expect("fake starts");
            let n = notifier(DesktopConfig::new(APP));
            let caps = n.capabilities().await.expect("caps");
            assert!(caps.iter().any(|c| c == "actions"), "{caps:?}");
            first.hide_actions();
            assert_eq!(n.capabilities().await.expect("caps"), caps, "cached");

            // Another server instance takes the name: asked again.
            first.release_name().await.expect("released");
            let second = FakeNotificationServer::start().await.expect("second fake");
            second.set_capabilities(["body"]);
            assert_eq!(n.capabilities().await.expect("caps"), ["body"]);
            let info = n.server_information().await.expect("info");
            assert_eq!(
                (
                    info.name.as_str(),
                    info.vendor.as_str(),
                    info.spec_version.as_str()
                ),
                ("alert-desktop-fake", "ml-alerts", "1.2")
            );
            n.notify(&Alert::new(Severity::Warning, "Drift").with_runbook("https://r.example"))
                .await
                .expect("delivered");
            assert!(second.calls()[0].actions.is_empty());
            assert!(first.calls().is_empty());
        },
    );
}

#[test]
fn dbus_error_replies_are_classified() {
    isolated(
        "dbus_error_replies_are_classified",
        BusSetup::Private,
        || async {
            let server = FakeNotificationServer::start().await.expect("fake starts");
            let n = notifier(DesktopConfig::new(APP));
            let a = Alert::new(Severity::Error, "x");
            for (fault, kind, retry, disables) in [
                (FakeFault::Failed, "server", Retry::Backoff, false),
                (FakeFault::InvalidArgs, "rejected", Retry::Never, false),
                (FakeFault::AccessDenied, "unauthorized", Retry::Never, true),
                (
                    FakeFault::LimitsExceeded,
                    "rate_limited",
                    Retry::Backoff,
                    false,
                ),
                (FakeFault::UnknownMethod, "unavailable", Retry::Never, true),
            ] {
                server.fail_next(fault);
                let e = n.notify(&a).await.expect_err("the fake fails it");
                assert_eq!(
                    (e.kind(), e.retryable(), e.disables_destination()),
                    (kind, retry, disables),
                    "{fault:?}: {e}"
                );
                assert_eq!(e.channel(), "desktop");
            }
            // The next send goes through again.
            n.notify(&a).await.expect("delivered");
            assert_eq!(server.calls().len(), 1);
        },
    );
}

fn assert_unavailable(e: &alert_core::NotifyError, needle: &str) {
    assert_eq!(e.kind(), "unavailable", "{e}");
    assert_eq!(e.retryable(), Retry::Never);
    assert!(e.disables_destination());
    assert!(e.to_string().contains(needle), "{e}");
}

/// No daemon on the bus: retried after a minute, and the destination stays enabled.
fn assert_no_server(e: &alert_core::NotifyError) {
    assert_eq!(e.kind(), "server", "{e}");
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(60)), "{e}");
    assert_eq!(NO_SERVER_RETRY, Duration::from_secs(60));
    assert!(!e.disables_destination(), "{e}");
    assert!(
        e.to_string().starts_with(
            "desktop: server error: no notification server owns \
             org.freedesktop.Notifications on the session bus"
        ),
        "{e}"
    );
}

#[test]
fn no_server_is_retried_later_not_disabled() {
    isolated(
        "no_server_is_retried_later_not_disabled",
        BusSetup::Private,
        || async {
            let n = notifier(DesktopConfig::new(APP));
            let a = Alert::new(Severity::Critical, "ModelDown");
            assert_no_server(&n.notify(&a).await.expect_err("no server"));
            assert_no_server(&n.server_information().await.expect_err("no server"));

            // A server appears: the same notifier works.
            let server = FakeNotificationServer::start().await.expect("fake starts");
            n.notify(&a).await.expect("delivered");
            assert_eq!(server.calls().len(), 1);

            // The daemon restarts (gives up its name, takes it back): the gap is a
            // retryable error, and sending resumes afterwards.
            server.release_name().await.expect("the fake lets go");
            assert_no_server(&n.notify(&a).await.expect_err("restarting"));
            server.request_name().await.expect("the fake is back");
            n.notify(&a).await.expect("delivered after the restart");
            assert_eq!(server.calls().len(), 2);
        },
    );
}

#[test]
fn unavailable_without_a_session_bus() {
    isolated(
        "unavailable_without_a_session_bus",
        BusSetup::NoBus,
        || async {
            let n = notifier(DesktopConfig::new(APP));
            let e = n
                .notify(&Alert::new(Severity::Error, "x"))
                .await
                .expect_err("no bus");
            assert_unavailable(&e, "DBUS_SESSION_BUS_ADDRESS");
        },
    );
}

/// Collects what the `tracing` subscriber writes.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_log() -> LogBuf {
    let buf = LogBuf::default();
    let writer = buf.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    )
    .expect("one subscriber per child process");
    buf
}

/// The console lines in a child's output (libtest may print `test name ... ` in
/// front of the first).
fn printed(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.find("[Bikes] ").map(|i| &l[i..]))
        .collect()
}

#[test]
fn console_fallback_prints_the_seed_line_and_logs_once() {
    let out = isolated(
        "console_fallback_prints_the_seed_line_and_logs_once",
        BusSetup::Private,
        || async {
            let log = install_log();
            let n = notifier(DesktopConfig::new(APP).with_fallback(Fallback::Console));
            let r = n
                .notify_text("Training Complete", "Model version: 3")
                .await
                .expect("printed instead");
            assert_eq!(r.meta("fallback"), Some("console"));
            assert_eq!(r.id, None);
            let firing = Alert::new(Severity::Critical, "TrainingFailed")
                .with_summary("Training failed")
                .with_message("OOM\nat epoch 3");
            let r = n.notify(&firing).await.expect("printed instead");
            // A resolution with that receipt prints too.
            n.update(&resolved(&firing), &r).await.expect("printed");
            let log = String::from_utf8(log.0.lock().unwrap().clone()).expect("utf-8");
            let warnings: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("printing alerts to the console"))
                .collect();
            assert_eq!(warnings.len(), 1, "said once: {log}");
            assert!(warnings[0].contains("WARN"), "{log}");
            assert!(
                warnings[0].contains("no notification server owns"),
                "says why: {log}"
            );
        },
    );
    if let Some(out) = out {
        let lines = printed(&out.stdout);
        assert_eq!(
            lines,
            [
                "[Bikes] Training Complete: Model version: 3",
                "[Bikes] Training failed: OOM at epoch 3",
                "[Bikes] [RESOLVED] Training failed: OOM at epoch 3",
            ],
            "{}",
            out.stdout
        );
    }
}

#[test]
fn console_fallback_without_a_bus_and_when_disabled() {
    let out = isolated(
        "console_fallback_without_a_bus_and_when_disabled",
        BusSetup::NoBus,
        || async {
            let n = notifier(DesktopConfig::new(APP).with_fallback(Fallback::Console));
            n.notify_text("No bus", "printed").await.expect("printed");
            let off = notifier(
                DesktopConfig::new(APP)
                    .with_fallback(Fallback::Console)
                    .with_enable(false),
            );
            let r = off
                .notify_text("Disabled", "printed too")
                .await
                .expect("ok");
            assert_eq!(r.meta("skipped"), Some("disabled"));
            let quiet = notifier(DesktopConfig::new(APP).with_enable(false));
            quiet
                .notify_text("Disabled and quiet", "not printed")
                .await
                .expect("ok");
        },
    );
    if let Some(out) = out {
        let lines = printed(&out.stdout);
        assert_eq!(
            lines,
            ["[Bikes] No bus: printed", "[Bikes] Disabled: printed too"]
        );
    }
}

#[test]
fn disabled_sends_nothing_to_a_present_server() {
    isolated(
        "disabled_sends_nothing_to_a_present_server",
        BusSetup::Private,
        || async {
            let server = FakeNotificationServer::start().await.expect("fake starts");
            let n = notifier(DesktopConfig::new(APP).with_enable(false));
            let a = Alert::new(Severity::Critical, "ModelDown");
            let r = n.notify(&a).await.expect("ok");
            assert_eq!(r.meta("skipped"), Some("disabled"));
            n.update(
                &a.clone().with_status(Status::Resolved),
                &Receipt::new("desktop").with_id("1"),
            )
            .await
            .expect("ok");
            assert!(server.calls().is_empty());
            assert!(server.closed().is_empty());
        },
    );
}

#[test]
fn groups_are_one_digest_notification() {
    isolated(
        "groups_are_one_digest_notification",
        BusSetup::Private,
        || async {
            let server = FakeNotificationServer::start().await.expect("fake starts");
            let n = notifier(DesktopConfig::new(APP));
            let group: Vec<Alert> = (0..50)
                .map(|i| {
                    Alert::new(Severity::Warning, "Drift").with_label("feature", format!("f{i}"))
                })
                .chain([Alert::new(Severity::Critical, "ModelDown")])
                .collect();
            n.notify_group(&group).await.expect("delivered");
            let calls = server.calls();
            assert_eq!(calls.len(), 1);
            assert_eq!(calls[0].urgency(), Some(2), "the group's highest severity");
            assert!(
                violations(&calls[0], true).is_empty(),
                "{:?}",
                violations(&calls[0], true)
            );
        },
    );
}
