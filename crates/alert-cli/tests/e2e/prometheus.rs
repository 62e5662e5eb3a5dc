//! A real client: Prometheus itself, with `alerts serve` as its Alertmanager.
//!
//! Needs the `prometheus` binary (Debian package `prometheus`, installed by
//! `.ci/run`). Without it the test prints why and passes, except under CI
//! (`ALERTS_CI=1`), where it fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alert_webhook::fake::FakeWebhook;

use crate::harness::{Service, Start, Workdir, bodies, eventually, hook_config};

fn prometheus_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PROMETHEUS_BIN") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("prometheus"))
        .chain(std::iter::once(PathBuf::from("/usr/bin/prometheus")))
        .find(|p| p.is_file())
}

/// Kills Prometheus when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_alerts_reach_a_channel() {
    let Some(bin) = prometheus_binary() else {
        let msg =
            "prometheus is not installed (Debian package `prometheus`; or set PROMETHEUS_BIN)";
        if std::env::var("ALERTS_CI").as_deref() == Ok("1") {
            panic!("{msg}: ALERTS_CI=1 requires it");
        }
        println!("SKIPPED: {msg}");
        return;
    };
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    // Prometheus authenticates with a bearer token, as a production setup would.
    let svc = Service::start_with(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
        Start {
            env: vec![("ALERTS_WRITE_TOKEN", "prom-token".to_owned())],
            ..Start::default()
        },
    )
    .await
    .unwrap_or_else(|(c, log)| panic!("exit {c:?}: {log}"))
    .with_token("prom-token");

    let rules = w.write(
        "rules.yml",
        r#"groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        for: 0s
        labels:
          severity: critical
          model: bikes
        annotations:
          summary: always firing
          description: fired by a real Prometheus
          runbook_url: https://runbooks.example/always
"#,
    );
    let config = w.write(
        "prometheus.yml",
        &format!(
            r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
alerting:
  alertmanagers:
    - api_version: v2
      timeout: 5s
      authorization:
        credentials: prom-token
      static_configs:
        - targets: ["{target}"]
"#,
            rules = rules.display(),
            target = svc.host_port(),
        ),
    );
    let tsdb = w.path().join("tsdb");
    let log = w.path().join("prometheus.log");
    let child = Command::new(&bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg("--web.listen-address=127.0.0.1:0")
        // The first sends happen before Prometheus has discovered its
        // Alertmanagers (they are dropped); resend every second, not every minute.
        .arg("--rules.alert.resend-delay=1s")
        .arg("--log.level=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let _prometheus = Killed(child);

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let body = loop {
        if let Some(b) = bodies(&sink)
            .into_iter()
            .find(|b| b["alerts"][0]["name"] == "AlwaysFiring")
        {
            break b;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no alert from Prometheus within 60 s\n--- alerts serve\n{}\n--- prometheus\n{}",
            svc.log(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let a = &body["alerts"][0];
    assert_eq!(a["severity"], "critical", "{body}");
    assert_eq!(a["status"], "firing");
    assert_eq!(a["summary"], "always firing");
    assert_eq!(a["message"], "fired by a real Prometheus");
    assert_eq!(a["labels"]["model"], "bikes");
    assert_eq!(
        a["annotations"]["runbook_url"],
        "https://runbooks.example/always"
    );
    assert!(
        a["annotations"]["generator_url"]
            .as_str()
            .is_some_and(|u| u.contains("/graph?g0.expr=vector")),
        "{body}"
    );
    assert_eq!(a["source"]["model"], "bikes");
    let m = svc.metrics().await;
    assert!(
        m.contains("alerts_received_total{endpoint=\"alertmanager_v2\"}"),
        "{m}"
    );
    // Prometheus resends every second while the alert fires: the router counts the
    // resends as duplicates when they arrive ...
    let dedup = |m: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix("alerts_suppressed_total{reason=\"dedup\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    eventually(
        Duration::from_secs(60),
        "three resends counted as duplicates",
        || async { (dedup(&svc.metrics().await) >= 3).then_some(()) },
    )
    .await;
    // ... and sends nothing for them. (Should a resend come after the endsAt
    // Prometheus set, four resend delays ahead, as on a very loaded machine, the
    // alert resolves and fires again: a new episode, announced by a resolved
    // notification first. So the notifications alternate, starting with firing.)
    let statuses: Vec<String> = bodies(&sink)
        .iter()
        .filter(|b| b["alerts"][0]["name"] == "AlwaysFiring")
        .map(|b| b["status"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(statuses[0], "firing");
    assert!(
        statuses.windows(2).all(|w| w[0] != w[1]),
        "a duplicate was notified: {statuses:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}
