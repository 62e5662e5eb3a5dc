//! Workspace automation, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
//!
//! Tasks:
//!
//! * `ci` — everything CI checks: fmt, clippy `-D warnings` on all targets, tidy,
//!   tests, every example run (offline), docs with warnings denied, each crate
//!   checked alone with default features and with none, and a scaffolded channel
//!   built and tested, then removed.
//! * `test` — the workspace tests only (cargo-nextest when installed, else cargo test).
//! * `tidy` — the workspace conventions of `docs/adr/0002-workspace-conventions.md`
//!   (also a `#[test]` in this crate).
//! * `link-order` — regenerates `crates/alert-cli/link-order.txt`, the functions the
//!   quick load harness runs (under callgrind), which the linker lays out together.
//! * `new-channel NAME` — scaffolds `crates/alert-NAME`, a working channel crate with
//!   tests and the conformance suite.
//! * `bench-load [--quick] [--alertmanager]` — the load harness
//!   (`crates/alert-cli/benches/load.rs`): `alerts serve`, and Prometheus Alertmanager
//!   side by side, under PRODUCT.md's workloads. Full size in release by default;
//!   `--quick` is the small configuration `ci` runs (seconds, debug build).
//!
//! Plain `std`, no dependencies, so the tasks build in seconds.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod link_order;
mod scaffold;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("test") => test(),
        Some("tidy") => tidy::run(&root()).map_err(|problems| {
            for p in &problems {
                eprintln!("tidy: {p}");
            }
            format!("{} tidy problem(s)", problems.len())
        }),
        Some("bench-load") => bench_load(&args[1..]),
        Some("link-order") => link_order::run_task().map(|_| ()),
        Some("new-channel") => match args.get(1) {
            Some(name) => scaffold::new_channel(&root(), name).map(|dir| {
                println!("created {}", dir.display());
                println!("next: cargo test -p alert-{name}");
            }),
            None => Err("usage: cargo xtask new-channel NAME".to_owned()),
        },
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci [--skip STEP]...  fmt, clippy, tidy, tests, examples, the load harness (quick), docs,
                       per-crate feature checks, scaffold check
                       (steps: fmt clippy tidy test examples bench-load doc crates scaffold)
  test                 the workspace tests (cargo-nextest when installed)
  bench-load [--quick] [--alertmanager] [--out DIR]
                       the load harness: alerts serve (and Alertmanager) under the
                       PRODUCT.md workloads; --quick is the CI size
  link-order           regenerate crates/alert-cli/link-order.txt (the functions the
                       load harness runs, laid out together by the linker); needs valgrind
  tidy                 check workspace conventions
  new-channel NAME     scaffold crates/alert-NAME";

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    c.current_dir(root());
    c
}

fn run(step: &str, mut cmd: Command) -> Result<(), String> {
    let t = Instant::now();
    eprintln!("==> {step}: {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("{step}: could not start: {e}"))?;
    eprintln!(
        "<== {step}: {} in {:.1}s",
        if status.success() { "ok" } else { "FAILED" },
        t.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn test() -> Result<(), String> {
    if has_nextest() {
        let mut c = cargo();
        c.args([
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ]);
        run("test", c)?;
        // nextest does not run doctests.
        let mut d = cargo();
        d.args(["test", "--workspace", "--all-features", "--doc"]);
        run("doctest", d)
    } else {
        let mut c = cargo();
        c.args(["test", "--workspace", "--all-features", "--no-fail-fast"]);
        run("test", c)
    }
}

/// The library crates under `crates/`, by package name.
pub(crate) fn crate_names(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("crates"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().join("Cargo.toml").exists())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn ci(args: &[String]) -> Result<(), String> {
    let mut skip: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--skip" => skip.push(it.next().ok_or("--skip needs a step name")?),
            other => return Err(format!("unknown ci argument {other:?}\n{USAGE}")),
        }
    }
    let on = |s: &str| !skip.contains(&s);
    let t = Instant::now();
    if on("fmt") {
        let mut c = cargo();
        c.args(["fmt", "--all", "--check"]);
        run("fmt", c)?;
    }
    if on("tidy") {
        tidy::run(&root()).map_err(|p| format!("tidy:\n  {}", p.join("\n  ")))?;
        eprintln!("<== tidy: ok");
    }
    if on("clippy") {
        let mut c = cargo();
        c.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]);
        run("clippy", c)?;
    }
    if on("test") {
        test()?;
    }
    if on("examples") {
        run_examples(&root())?;
    }
    if on("bench-load") {
        // The harness in its small size, so it cannot rot; with Alertmanager when it
        // is installed (CI installs it and makes it mandatory).
        let mut a = vec!["--quick".to_owned()];
        if Path::new(ALERTMANAGER).exists() || std::env::var_os("ALERTS_CI").is_some() {
            a.push("--alertmanager".to_owned());
        }
        bench_load(&a)?;
    }
    if on("doc") {
        let mut c = cargo();
        c.args(["doc", "--workspace", "--all-features", "--no-deps"]);
        c.env("RUSTDOCFLAGS", "-D warnings");
        run("doc", c)?;
    }
    if on("crates") {
        for name in crate_names(&root()) {
            let mut c = cargo();
            c.args(["check", "--quiet", "-p", &name, "--lib"]);
            run(&format!("{name} (default features)"), c)?;
            let mut c = cargo();
            c.args([
                "check",
                "--quiet",
                "-p",
                &name,
                "--lib",
                "--no-default-features",
            ]);
            run(&format!("{name} (no default features)"), c)?;
        }
    }
    if on("scaffold") {
        scaffold::check(&root())?;
    }
    eprintln!(
        "xtask ci: all steps passed in {:.0}s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Where Debian's `prometheus-alertmanager` package puts the binary.
const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// `bench-load`: the quick size runs the harness as a test-profile bench target
/// (reusing the test build); the full size through `cargo bench` (release).
fn bench_load(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let mut c = cargo();
    if quick {
        // `--workspace --all-features`: the feature set of the test build, so nothing
        // is rebuilt for it.
        c.args([
            "test",
            "--workspace",
            "--all-features",
            "--bench",
            "load",
            "--",
        ]);
    } else {
        c.args(["bench", "-p", "alert-cli", "--bench", "load", "--"]);
    }
    c.args(args);
    run("bench-load", c)
}

/// Extra runs of examples, with arguments, next to the plain run of each.
const EXAMPLE_RUNS: &[(&str, &[&str])] = &[("serving_guard", &["--execute"])];

/// Variables that would send an example to a real service; unset for the runs, so
/// CI stays offline whatever the environment holds.
const EXAMPLE_ENV_REMOVED: &[&str] = &[
    "DD_API_KEY",
    "ALERT_SLACK_WEBHOOK_URL",
    "ALERT_SLACK_BOT_TOKEN",
];

/// The `[[example]]` names of `examples/Cargo.toml`, in order.
fn example_names(root: &Path) -> Result<Vec<String>, String> {
    let manifest = root.join("examples/Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let mut names = Vec::new();
    let mut in_example = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_example = line == "[[example]]";
        } else if in_example && let Some(v) = line.strip_prefix("name = ") {
            names.push(v.trim_matches('"').to_owned());
        }
    }
    if names.is_empty() {
        return Err(format!("no [[example]] in {}", manifest.display()));
    }
    Ok(names)
}

/// Runs every example (each must exit 0; a failing demonstration exits non-zero),
/// then the extra runs of [`EXAMPLE_RUNS`]; reports every failure.
fn run_examples(root: &Path) -> Result<(), String> {
    let names = example_names(root)?;
    let mut c = cargo();
    c.args([
        "build",
        "-q",
        "-p",
        "examples",
        "--all-features",
        "--examples",
    ]);
    run("examples (build)", c)?;
    let runs = names.iter().map(|n| (n.as_str(), &[][..])).chain(
        EXAMPLE_RUNS
            .iter()
            .filter(|(n, _)| names.iter().any(|m| m == n))
            .map(|(n, a)| (*n, *a)),
    );
    let mut failed = Vec::new();
    for (name, args) in runs {
        let mut c = cargo();
        c.args([
            "run",
            "-q",
            "-p",
            "examples",
            "--all-features",
            "--example",
            name,
        ]);
        if !args.is_empty() {
            c.arg("--").args(args);
        }
        for v in EXAMPLE_ENV_REMOVED {
            c.env_remove(v);
        }
        let step = format!("example {name} {}", args.join(" "));
        if let Err(e) = run(step.trim_end(), c) {
            failed.push(e);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("examples:\n  {}", failed.join("\n  ")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tidy() {
        if let Err(problems) = super::tidy::run(&super::root()) {
            panic!(
                "tidy found {} problem(s):\n  {}",
                problems.len(),
                problems.join("\n  ")
            );
        }
    }
}
