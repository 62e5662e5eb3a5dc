//! A real notification daemon: dunst (Debian's), under Xvfb, on a private session
//! bus, receives an alert through the crate.
//!
//! Needs `dunst`, `Xvfb` and `dbus-daemon` (Debian: `apt-get install dunst xvfb
//! dbus`; `.ci/run` installs them). Without them the test says why and skips,
//! except when `ALERTS_CI` is set (as `.ci/run` does), where it fails.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alert_core::{Alert, Notifier, Severity, Timestamp};
use alert_desktop::fake::{BusSetup, isolated, tools_required};
use alert_desktop::{DesktopConfig, DesktopNotifier};

/// A child process killed (and reaped) on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(bin).is_file()))
}

/// Starts Xvfb on a free display and waits for its socket.
async fn start_xvfb() -> (Daemon, String) {
    let base = 40 + std::process::id() % 200;
    for n in base..base + 20 {
        if Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            continue;
        }
        let child = Command::new("Xvfb")
            .args([
                format!(":{n}").as_str(),
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "800x600x24",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs");
        let mut xvfb = Daemon(child);
        let socket = format!("/tmp/.X11-unix/X{n}");
        for _ in 0..100 {
            if Path::new(&socket).exists() {
                return (xvfb, format!(":{n}"));
            }
            if xvfb.0.try_wait().ok().flatten().is_some() {
                break; // lost a race for this display: try the next
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(xvfb);
    }
    panic!("no free X display for Xvfb");
}

#[test]
fn dunst_under_xvfb_receives_an_alert() {
    let missing: Vec<&str> = ["dunst", "Xvfb", "dbus-daemon"]
        .into_iter()
        .filter(|b| !on_path(b))
        .collect();
    if !missing.is_empty() {
        let why = format!("{missing:?} not installed (Debian: apt-get install dunst xvfb dbus)");
        if tools_required() {
            panic!("ALERTS_CI is set and {why}; .ci/run must install them");
        }
        eprintln!("skipped dunst_under_xvfb_receives_an_alert: {why}");
        return;
    }
    let out = isolated(
        "dunst_under_xvfb_receives_an_alert",
        BusSetup::Private,
        || async {
            let (_xvfb, display) = start_xvfb().await;
            // dunst inherits DBUS_SESSION_BUS_ADDRESS (the private bus) and gets the display.
            let _dunst = Daemon(
                Command::new("dunst")
                    .env("DISPLAY", &display)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("dunst runs"),
            );
            let notifier =
                DesktopNotifier::new(DesktopConfig::new("ml-alerts-ci")).expect("config");

            // Wait until dunst owns org.freedesktop.Notifications.
            let info = tokio::time::timeout(Duration::from_secs(20), async {
                loop {
                    match notifier.server_information().await {
                        Ok(info) => return info,
                        // No server owns the name yet.
                        Err(e) if e.to_string().contains("no notification server owns") => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("GetServerInformation: {e}"),
                    }
                }
            })
            .await
            .expect("dunst took the name within 20 s");
            assert_eq!(info.name, "dunst", "{info:?}");
            assert!(!info.version.is_empty());
            let caps = notifier.capabilities().await.expect("GetCapabilities");
            assert!(caps.iter().any(|c| c == "actions"), "{caps:?}");

            let firing = Alert::new(Severity::Critical, "TrainingFailed")
                .with_summary("Training failed")
                .with_message("CUDA out of memory at epoch 3 <b>&</b>")
                .with_runbook("https://runbooks.example/oom");
            let receipt = notifier.notify(&firing).await.expect("dunst shows it");
            let id: u32 = receipt
                .id
                .as_deref()
                .expect("dunst returns an id")
                .parse()
                .expect("a u32");
            assert!(id > 0);

            let resolved = firing
                .clone()
                .resolved_at(Timestamp::from_unix_seconds(1_795_503_600).expect("in range"));
            let replaced = notifier
                .update(&resolved, &receipt)
                .await
                .expect("replaced");
            assert_eq!(replaced.id, receipt.id, "dunst replaced it in place");

            let other = notifier
                .notify(&Alert::new(Severity::Info, "TrainingComplete"))
                .await
                .expect("shown");
            assert_ne!(other.id, receipt.id);
            println!(
                "dunst: {} {} {} (spec {}), capabilities {caps:?}, ids {id} and {}",
                info.name,
                info.vendor,
                info.version,
                info.spec_version,
                other.id.unwrap_or_default()
            );
        },
    );
    if let Some(out) = out {
        // libtest may print `test name ... ` in front of it.
        let line = out
            .stdout
            .lines()
            .find_map(|l| l.find("dunst: ").map(|i| &l[i..]));
        assert!(line.is_some(), "{}", out.stdout);
        println!("{}", line.unwrap_or_default());
    }
}
