//! `examples/prometheus`: the Prometheus and Alertmanager configurations that send to
//! `alerts serve`, checked by the tools themselves (`promtool check config`,
//! `promtool check rules`, `promtool test rules`, `amtool check-config`) and against
//! what `alerts serve` accepts.
//!
//! `promtool` comes with Debian's `prometheus` package, `amtool` with
//! `prometheus-alertmanager` (or set `PROMTOOL_BIN` / `AMTOOL_BIN`). Without them
//! the tests that need them print why and pass, except under CI (`ALERTS_CI=1`),
//! where they fail.

#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

use alert_core::Severity;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The tool's path, or `None` (after saying why) when it is missing outside CI.
fn tool(name: &str, env: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os(env).map(PathBuf::from).or_else(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/bin")])
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!("{name} is not installed (Debian package `{package}`; or set {env})");
        if std::env::var("ALERTS_CI").as_deref() == Ok("1") {
            panic!("{msg}: ALERTS_CI=1 requires it");
        }
        println!("SKIPPED: {msg}");
    }
    found
}

/// Runs `bin args` in `cwd`; panics with its output unless it succeeds. Returns the
/// output.
fn run_ok(bin: &Path, args: &[&str], cwd: &Path) -> String {
    let out = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n{text}",
        bin.display(),
        out.status
    );
    text
}

/// A copy of the example directory with the token files the configs name (the
/// files a deployment provides; the tools check that they exist).
fn deployed() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    for f in [
        "prometheus.yml",
        "rules.yml",
        "rules_test.yml",
        "alertmanager.yml",
    ] {
        std::fs::copy(dir().join(f), tmp.path().join(f)).expect("copy");
    }
    std::fs::create_dir(tmp.path().join("secrets")).expect("secrets dir");
    for f in ["alerts-write-token", "alerts-read-token"] {
        std::fs::write(tmp.path().join("secrets").join(f), "example-token\n").expect("token");
    }
    tmp
}

#[test]
fn prometheus_config_is_valid() {
    let Some(promtool) = tool("promtool", "PROMTOOL_BIN", "prometheus") else {
        return;
    };
    let d = deployed();
    let out = run_ok(&promtool, &["check", "config", "prometheus.yml"], d.path());
    assert!(out.contains("1 rule files found"), "{out}");
    assert!(out.contains("SUCCESS: 5 rules found"), "{out}");
}

#[test]
fn rules_are_valid_and_pass_their_unit_tests() {
    let Some(promtool) = tool("promtool", "PROMTOOL_BIN", "prometheus") else {
        return;
    };
    run_ok(&promtool, &["check", "rules", "rules.yml"], &dir());
    let out = run_ok(&promtool, &["test", "rules", "rules_test.yml"], &dir());
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn alertmanager_config_is_valid() {
    let Some(amtool) = tool("amtool", "AMTOOL_BIN", "prometheus-alertmanager") else {
        return;
    };
    let d = deployed();
    let out = run_ok(&amtool, &["check-config", "alertmanager.yml"], d.path());
    assert!(
        out.contains("SUCCESS") && out.contains("1 receivers"),
        "{out}"
    );
}

/// The endpoints the configs send to are the ones `alerts serve` serves, and every
/// severity label is one it understands (an unknown one would silently become
/// `warning`).
#[test]
fn configs_match_what_alerts_serve_accepts() {
    let api = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/alert-cli/src/api.rs"),
    )
    .expect("alert-cli's api.rs");
    for route in [
        "\"/api/v2/alerts\"",
        "\"/api/v1/alertmanager\"",
        "\"/metrics\"",
    ] {
        assert!(
            api.contains(&format!(".route({route}")),
            "alerts serve has no {route}"
        );
    }

    let prom = read("prometheus.yml");
    for needle in [
        "api_version: v2",
        "path_prefix: / ",
        "credentials_file: secrets/alerts-write-token",
        "- targets: [\"localhost:9095\"]  # alerts serve",
        "  - rules.yml",
    ] {
        assert!(prom.contains(needle), "prometheus.yml lacks `{needle}`");
    }
    let am = read("alertmanager.yml");
    for needle in [
        "url: http://localhost:9095/api/v1/alertmanager\n",
        "send_resolved: true",
        "credentials_file: secrets/alerts-write-token",
    ] {
        assert!(am.contains(needle), "alertmanager.yml lacks `{needle}`");
    }

    let rules = read("rules.yml");
    let severities: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("severity: "))
        .collect();
    assert_eq!(severities.len(), 5, "one severity per rule");
    for s in severities {
        let parsed: Severity = s.parse().unwrap_or_else(|e| panic!("severity {s:?}: {e}"));
        assert_eq!(
            parsed.as_str(),
            s,
            "write severities in their canonical form"
        );
    }
}
