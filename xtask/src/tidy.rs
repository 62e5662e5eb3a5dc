//! `cargo xtask tidy`: the workspace conventions, checked mechanically.
//!
//! The manifests of this workspace are written one dependency per line, so a line
//! reader is enough and keeps xtask free of dependencies.

use std::fs;
use std::path::{Path, PathBuf};

/// Runs every check; returns the problems found.
pub(crate) fn run(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    check_workspace_manifest(root, &crate::crate_names(root), &mut problems);
    for name in crate::crate_names(root) {
        check_crate(root, &name, &mut problems);
    }
    for dir in ["crates", "examples", "xtask"] {
        check_sources(root, &root.join(dir), &mut problems);
    }
    for f in ["README.md", "docs/architecture.md", ".ci/run", "Cargo.lock"] {
        if !root.join(f).exists() {
            problems.push(format!("{f} is missing"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// `(section, line)` pairs of a manifest, comments and blank lines removed.
fn manifest_lines(text: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_owned();
            continue;
        }
        out.push((section.clone(), line.to_owned()));
    }
    out
}

fn is_dep_section(s: &str) -> bool {
    s == "dependencies"
        || s == "dev-dependencies"
        || s == "build-dependencies"
        || (s.starts_with("target.") && s.ends_with("dependencies"))
}

fn dep_name(line: &str) -> &str {
    line.split(['=', '.']).next().unwrap_or("").trim()
}

fn check_workspace_manifest(root: &Path, crates: &[String], problems: &mut Vec<String>) {
    let Ok(text) = fs::read_to_string(root.join("Cargo.toml")) else {
        problems.push("Cargo.toml is unreadable".into());
        return;
    };
    check_workspace_table(&text, crates, problems);
}

/// STYLE.md rule 2: every external dependency of `[workspace.dependencies]` has
/// `default-features = false`, every internal one a version next to its path, and
/// every crate under `crates/` is in the table (with the path of its folder).
fn check_workspace_table(text: &str, crates: &[String], problems: &mut Vec<String>) {
    let table: Vec<String> = manifest_lines(text)
        .into_iter()
        .filter(|(section, _)| section == "workspace.dependencies")
        .map(|(_, line)| line)
        .collect();
    for name in crates {
        let path = format!("path = \"crates/{name}\"");
        match table.iter().find(|l| dep_name(l) == name) {
            None => problems.push(format!(
                "Cargo.toml: crates/{name} is missing from [workspace.dependencies] \
                 (add `{name} = {{ {path}, version = \"…\", default-features = false }}`)"
            )),
            Some(line) if !line.contains(&path) => problems.push(format!(
                "Cargo.toml: workspace dependency `{name}` must have {path}"
            )),
            Some(_) => {}
        }
    }
    for line in &table {
        let name = dep_name(line);
        if !line.contains("default-features = false") {
            problems.push(format!(
                "Cargo.toml: workspace dependency `{name}` must set default-features = false"
            ));
        }
        if line.contains("path =") && !line.contains("version =") {
            problems.push(format!(
                "Cargo.toml: internal dependency `{name}` needs a version next to its path"
            ));
        }
    }
}

fn check_crate(root: &Path, dir_name: &str, problems: &mut Vec<String>) {
    let dir = root.join("crates").join(dir_name);
    let manifest_path = dir.join("Cargo.toml");
    let Ok(text) = fs::read_to_string(&manifest_path) else {
        problems.push(format!("crates/{dir_name}/Cargo.toml is unreadable"));
        return;
    };
    let lines = manifest_lines(&text);
    let here = format!("crates/{dir_name}");
    let package_name = lines
        .iter()
        .find(|(s, l)| s == "package" && l.starts_with("name"))
        .and_then(|(_, l)| l.split('"').nth(1))
        .unwrap_or("");
    if package_name != dir_name {
        problems.push(format!(
            "{here}: folder name and package name `{package_name}` differ"
        ));
    }
    for f in ["README.md", "CHANGELOG.md", "src/lib.rs"] {
        if !dir.join(f).exists() {
            problems.push(format!("{here}: {f} is missing"));
        }
    }
    let has = |section: &str, line: &str| lines.iter().any(|(s, l)| s == section && l == line);
    if !has("package", "rust-version.workspace = true") {
        problems.push(format!("{here}: needs rust-version.workspace = true"));
    }
    if !has("lints", "workspace = true") {
        problems.push(format!("{here}: needs [lints] workspace = true"));
    }
    if !lines.iter().any(|(s, _)| s == "package.metadata.docs.rs") {
        problems.push(format!("{here}: needs [package.metadata.docs.rs]"));
    }
    for (section, line) in lines.iter().filter(|(s, _)| is_dep_section(s)) {
        let name = dep_name(line);
        let internal = name.starts_with("alert-");
        if section == "dev-dependencies" && internal {
            if line.contains("workspace = true") || line.contains("version =") {
                problems.push(format!(
                    "{here}: dev-dependency `{name}` must be a path without a version (path = \"../{name}\")"
                ));
            }
        } else if !line.contains("workspace = true") {
            problems.push(format!(
                "{here}: dependency `{name}` must come from the workspace table (workspace = true)"
            ));
        }
    }
    if let Ok(lib) = fs::read_to_string(dir.join("src/lib.rs")) {
        if !lib.starts_with("//!") {
            problems.push(format!(
                "{here}/src/lib.rs must start with crate docs (//!)"
            ));
        }
        if !lib.contains("#![warn(missing_docs)]") {
            problems.push(format!(
                "{here}/src/lib.rs must have #![warn(missing_docs)]"
            ));
        }
        for section in ["# Usage", "# Feature flags", "# Supported Rust versions"] {
            if !lib.contains(&format!("//! {section}")) {
                problems.push(format!(
                    "{here}/src/lib.rs docs lack the section `{section}`"
                ));
            }
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn check_sources(root: &Path, dir: &Path, problems: &mut Vec<String>) {
    // Spelled in pieces so this file does not flag itself.
    let banned = [
        concat!("dbg", "!("),
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
    ];
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    for f in files {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for b in banned {
                if code.contains(b) {
                    let rel = f.strip_prefix(root).unwrap_or(&f);
                    problems.push(format!("{}:{}: leftover `{b}`", rel.display(), i + 1));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_crate_must_be_in_the_workspace_table() {
        let manifest = "[workspace.dependencies]\n\
            alert-core = { path = \"crates/alert-core\", version = \"0.1.0\", default-features = false }\n\
            alert-slack = { path = \"crates/slack\", version = \"0.1.0\", default-features = false }\n\
            serde = { version = \"1\", default-features = false }\n\
            \n[workspace.lints.rust]\nalert-cli = \"warn\"\n";
        let crates = ["alert-cli", "alert-core", "alert-slack"].map(String::from);
        let mut problems = Vec::new();
        check_workspace_table(manifest, &crates, &mut problems);
        assert_eq!(
            problems,
            [
                "Cargo.toml: crates/alert-cli is missing from [workspace.dependencies] \
                 (add `alert-cli = { path = \"crates/alert-cli\", version = \"…\", \
                 default-features = false }`)",
                "Cargo.toml: workspace dependency `alert-slack` must have \
                 path = \"crates/alert-slack\"",
            ]
        );
        let mut problems = Vec::new();
        check_workspace_table(manifest, &crates[1..2], &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }
}
