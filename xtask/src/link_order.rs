//! `cargo xtask link-order`: regenerates `crates/alert-cli/link-order.txt`, the list
//! of functions the `alerts` binary runs under the load harness, which
//! `crates/alert-cli/build.rs` hands to the linker so those functions sit together
//! (fewer code pages resident; see `docs/bench/load.md`).
//!
//! It runs the quick load harness with `LOAD_WRAP` set to callgrind (Debian's
//! `valgrind` package), so every `alerts serve` and `alerts send` process it starts
//! writes the functions it executed and their instruction counts. The list keeps
//! the functions of the `alerts` binary, most instructions first (ties by name, so
//! the output is stable).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use crate::{cargo, root, run};

/// Runs the harness under callgrind and writes the list; returns its length.
pub(crate) fn run_task() -> Result<usize, String> {
    let ok = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return Err("link-order needs valgrind's callgrind: apt-get install valgrind".to_owned());
    }
    let dir = root().join("target").join("link-order");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut c = cargo();
    c.args(["bench", "-p", "alert-cli", "--bench", "load", "--"])
        .args(["--quick", "--out"])
        .arg(dir.join("bench"))
        .env(
            "LOAD_WRAP",
            format!(
                "valgrind --tool=callgrind --demangle=no --compress-strings=no \
                 --dump-instr=no --callgrind-out-file={}/callgrind.%p.out",
                dir.display()
            ),
        );
    run("link-order (load harness under callgrind)", c)?;
    let mut cost: HashMap<String, u64> = HashMap::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "out") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            parse(&text, &mut cost);
            files += 1;
        }
    }
    if files == 0 || cost.is_empty() {
        return Err(format!(
            "link-order: no callgrind output with functions of `alerts` in {}",
            dir.display()
        ));
    }
    let list = render(cost);
    let out = root().join("crates/alert-cli/link-order.txt");
    std::fs::write(&out, &list.0).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!(
        "link-order: {} functions from {files} processes written to {}",
        list.1,
        out.display()
    );
    Ok(list.1)
}

/// Whether a callgrind object name is the `alerts` binary.
fn is_alerts(object: &str) -> bool {
    Path::new(object).file_name().is_some_and(|n| n == "alerts")
}

/// Adds the self cost (instructions) of each function of `alerts` in one
/// callgrind output (written with `--compress-strings=no`) to `cost`.
pub(crate) fn parse(text: &str, cost: &mut HashMap<String, u64>) {
    let mut in_alerts = false;
    let mut current: Option<String> = None;
    let mut call_object: Option<bool> = None;
    let mut skip_call_cost = false;
    for line in text.lines() {
        if let Some(ob) = line.strip_prefix("ob=") {
            in_alerts = is_alerts(ob.trim());
        } else if let Some(f) = line.strip_prefix("fn=") {
            current = in_alerts.then(|| symbol(f));
            if let Some(f) = &current {
                cost.entry(f.clone()).or_insert(0);
            }
        } else if let Some(ob) = line.strip_prefix("cob=") {
            call_object = Some(is_alerts(ob.trim()));
        } else if let Some(f) = line.strip_prefix("cfn=") {
            // A called function runs too, even if it has no cost line of its own.
            if call_object.take().unwrap_or(in_alerts) {
                cost.entry(symbol(f)).or_insert(0);
            }
        } else if line.starts_with("calls=") {
            // The next cost line is the call's inclusive cost, not the caller's own.
            skip_call_cost = true;
        } else if line
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'+' || b == b'-' || b == b'*')
        {
            if std::mem::take(&mut skip_call_cost) {
                continue;
            }
            let ir = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok());
            if let (Some(f), Some(ir)) = (&current, ir) {
                *cost.entry(f.clone()).or_insert(0) += ir;
            }
        }
    }
}

/// A function's linker symbol from callgrind's name: without the `'2` that marks
/// a recursion level.
fn symbol(name: &str) -> String {
    let name = name.trim();
    match name.rsplit_once('\'') {
        Some((base, level)) if level.bytes().all(|b| b.is_ascii_digit()) => base.to_owned(),
        _ => name.to_owned(),
    }
}

/// The ordering file: a comment, then one symbol per line, most instructions
/// first. Unnamed code (`0x…`) and valgrind's `(below main)` are left out.
pub(crate) fn render(cost: HashMap<String, u64>) -> (String, usize) {
    let mut v: Vec<(String, u64)> = cost
        .into_iter()
        .filter(|(n, _)| !n.starts_with("0x") && !n.starts_with('(') && !n.is_empty())
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = String::from(
        "# Functions the `alerts` binary ran under the quick load harness, most\n\
         # instructions first. Generated by `cargo xtask link-order`; read by build.rs.\n",
    );
    for (name, _) in &v {
        out.push_str(name);
        out.push('\n');
    }
    (out, v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
version: 1
cmd: alerts serve
events: Ir
ob=/usr/lib/x86_64-linux-gnu/libc.so.6
fl=???
fn=memcpy
0 500
ob=/work/target/release/alerts
fl=???
fn=_ZN9alert_cli4main17h0123456789abcdefE
0 10
cob=/usr/lib/x86_64-linux-gnu/libc.so.6
cfn=memcpy
calls=1 0
0 500
cfn=_ZN3foo3bar17h0000000000000000E
calls=2 0
0 40
+1 5
fn=sqlite3VdbeExec'2
0 7
fn=0x0000000000397630
0 3
";

    #[test]
    fn keeps_the_binary_s_functions_with_their_own_cost() {
        let mut cost = HashMap::new();
        parse(SAMPLE, &mut cost);
        assert_eq!(cost.get("memcpy"), None, "libc is not ours");
        // 10 + 5: the call lines' inclusive 500 and 40 are not main's own.
        assert_eq!(cost["_ZN9alert_cli4main17h0123456789abcdefE"], 15);
        assert_eq!(
            cost["_ZN3foo3bar17h0000000000000000E"], 0,
            "a callee runs too"
        );
        assert_eq!(cost["sqlite3VdbeExec"], 7, "recursion mark stripped");
        let (text, n) = render(cost);
        assert_eq!(n, 3, "the address-only function is left out: {text}");
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "_ZN9alert_cli4main17h0123456789abcdefE",
                "sqlite3VdbeExec",
                "_ZN3foo3bar17h0000000000000000E"
            ]
        );
    }
}
