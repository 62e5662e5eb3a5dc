//! Crash test: a child process delivering from the SQLite outbox is killed with
//! SIGKILL while thousands of notifications are in flight; a restarted child
//! delivers all of them. The fake server counts deliveries and duplicates.
//!
//! This is a `harness = false` test target: the same binary is the test (parent)
//! and, with `DELIVERY_CRASH_ROLE` set, the child process. It answers libtest's
//! `--list` protocol so `cargo nextest` and `cargo test` both run it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use alert_core::{Alert, Severity, Timestamp};
use alert_router::delivery::{Outbox, RetryPolicy, new_notification_id};
use alert_router::store::{Notification, NotificationKind, SqliteStore, Store};
use alert_webhook::fake::{FakeWebhook, Reply};
use alert_webhook::{WebhookConfig, WebhookNotifier};
use tokio::io::{AsyncBufReadExt, BufReader};

const TEST: &str = "crash_with_sigkill_loses_nothing";
const ROLE: &str = "DELIVERY_CRASH_ROLE";
const DB: &str = "DELIVERY_CRASH_DB";
const URL: &str = "DELIVERY_CRASH_URL";
const TOTAL: usize = 3000;
/// The lane's concurrency (workers).
const LANES: usize = 16;
/// The in-flight window that bounds duplicates: per worker, an attempt and the
/// delivery before it whose outcome may still be on its way to the store.
const WINDOW: usize = 2 * LANES;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(role) = std::env::var(ROLE) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        std::process::exit(rt.block_on(child(&role)));
    }
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("{TEST}: test");
        }
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let exact = args.iter().any(|a| a == "--exact");
    let selected = filters.is_empty()
        || filters.iter().any(|f| {
            if exact {
                f.as_str() == TEST
            } else {
                TEST.contains(f.as_str())
            }
        });
    if !selected || args.iter().any(|a| a == "--ignored") {
        println!("test result: ok. 0 passed; 0 failed; 1 filtered out");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(parent());
    println!("test {TEST} ... ok");
    println!("test result: ok. 1 passed; 0 failed; 0 ignored");
}

fn notifications(n: usize) -> Vec<Notification> {
    (0..n)
        .map(|i| {
            let alert = Alert::new(Severity::Warning, "CrashTest").with_label("seq", i.to_string());
            Notification::new(
                new_notification_id(),
                "team",
                "hook",
                format!("g{i}"),
                NotificationKind::Group,
                vec![alert],
                Severity::Warning,
                Timestamp::now(),
            )
        })
        .collect()
}

/// The child: `fill` stores TOTAL notifications, says so, and delivers until killed;
/// `resume` delivers whatever is pending and exits 0 when nothing is left.
async fn child(role: &str) -> i32 {
    let db = std::env::var(DB).expect("db path");
    let url = std::env::var(URL).expect("sink url");
    let store = Arc::new(SqliteStore::open(&db).expect("open store"));
    let hook = WebhookNotifier::new(WebhookConfig::new(url)).expect("webhook");
    let outbox = Outbox::builder(store.clone())
        .channel("team", "hook", Arc::new(hook))
        .lane_concurrency(LANES)
        .retry(
            RetryPolicy::none()
                .with_max_attempts(1000)
                .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
        .start()
        .await
        .expect("start outbox");
    match role {
        "fill" => {
            for chunk in notifications(TOTAL).chunks(500) {
                outbox.submit_many(chunk.to_vec()).await.expect("submit");
            }
            println!("SUBMITTED {TOTAL}");
            loop {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
        _ => {
            let resumed = outbox.stats().resumed;
            println!("RESUMED {resumed}");
            if !outbox.wait_idle(Duration::from_secs(120)).await {
                eprintln!("child: not idle after 120 s: {:?}", outbox.stats());
                return 3;
            }
            outbox.shutdown(Duration::from_secs(5)).await;
            let left = store.pending_outbox(0).await.expect("pending").len();
            println!("DONE delivered={} left={left}", outbox.stats().delivered);
            if left == 0 { 0 } else { 4 }
        }
    }
}

async fn parent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("outbox.db");
    let sink = FakeWebhook::start_counting().await.expect("sink");
    // A little latency per request keeps many notifications in flight.
    let fast = Reply {
        status: 200,
        headers: Vec::new(),
        body: String::new(),
        delay: Duration::from_millis(2),
    };
    // The gate: the first third of the requests are answered; every later one
    // hangs (for an hour, long after the test). So the first child cannot deliver
    // more than a third however long this process is descheduled before the kill,
    // and its LANES workers are all in flight when it dies.
    let gate = TOTAL / 3;
    sink.push_n(gate, fast.clone());
    sink.set_default(Some(fast.clone().with_delay(Duration::from_secs(3600))));
    let exe = std::env::current_exe().expect("current exe");
    let spawn = |role: &str| {
        tokio::process::Command::new(&exe)
            .env(ROLE, role)
            .env(DB, &db)
            .env(URL, format!("{}/hook", sink.url()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn child")
    };

    // 1. Fill and deliver, then SIGKILL in the middle.
    let mut first = spawn("fill");
    let mut lines = BufReader::new(first.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("child submitted in time")
        .expect("read")
        .expect("a line");
    assert_eq!(line, format!("SUBMITTED {TOTAL}"));
    // Kill once the gate is reached: the last answers may not be recorded yet (the
    // duplicates the in-flight window bounds), and requests past the gate hang.
    let reached = sink.wait_for_distinct(gate, Duration::from_secs(120)).await;
    assert_eq!(reached, gate, "the child delivered up to the gate");
    first.kill().await.expect("SIGKILL the child"); // Child::kill sends SIGKILL on Unix
    let status = first.wait().await.expect("wait");
    assert!(!status.success(), "the child was killed: {status:?}");
    let before = sink.distinct();
    assert_eq!(
        before, gate,
        "killed mid-way: {before} of {TOTAL} delivered, the rest held at the gate"
    );
    // The restarted child gets answers again.
    sink.set_default(Some(fast));

    // 2. Restart: everything pending is delivered.
    let mut second = spawn("resume");
    let mut lines = BufReader::new(second.stdout.take().expect("stdout")).lines();
    let mut out = Vec::new();
    while let Ok(Some(l)) = lines.next_line().await {
        out.push(l);
    }
    let status = tokio::time::timeout(Duration::from_secs(150), second.wait())
        .await
        .expect("child finished")
        .expect("wait");
    assert!(status.success(), "resume child failed: {status:?} {out:?}");
    let resumed: usize = out
        .iter()
        .find_map(|l| l.strip_prefix("RESUMED ").and_then(|n| n.parse().ok()))
        .expect("RESUMED line");
    assert!(
        resumed >= TOTAL - before,
        "resumed {resumed}, delivered before {before}"
    );

    let distinct = sink.distinct();
    let dups = sink.duplicates();
    eprintln!(
        "crash test: {TOTAL} notifications, {before} delivered before SIGKILL, {resumed} resumed, \
         {distinct} distinct delivered, {dups} duplicates (bound: {WINDOW})"
    );
    assert_eq!(distinct, TOTAL, "every notification delivered");
    assert!(
        dups as usize <= WINDOW,
        "duplicates {dups} exceed the in-flight window {WINDOW}"
    );
    let store = SqliteStore::open(&db).expect("reopen");
    assert!(store.pending_outbox(0).await.expect("pending").is_empty());
}
