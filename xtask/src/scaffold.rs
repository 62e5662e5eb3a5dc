//! `cargo xtask new-channel NAME`: scaffolds a channel crate that follows the
//! workspace conventions and passes its tests (including the testkit conformance
//! suite) straight away, and adds it to `[workspace.dependencies]` (path and
//! version, `default-features = false`: STYLE.md rule 2). It talks to a made-up JSON
//! service; replace the wire format in `payload.rs` and `notifier.rs` with the real
//! provider's.

use std::fs;
use std::path::{Path, PathBuf};

const TEMPLATES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../templates/channel/Cargo.toml.tmpl"),
    ),
    (
        "README.md",
        include_str!("../templates/channel/README.md.tmpl"),
    ),
    (
        "CHANGELOG.md",
        include_str!("../templates/channel/CHANGELOG.md.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../templates/channel/src/lib.rs.tmpl"),
    ),
    (
        "src/config.rs",
        include_str!("../templates/channel/src/config.rs.tmpl"),
    ),
    (
        "src/notifier.rs",
        include_str!("../templates/channel/src/notifier.rs.tmpl"),
    ),
    (
        "src/payload.rs",
        include_str!("../templates/channel/src/payload.rs.tmpl"),
    ),
    (
        "src/severity.rs",
        include_str!("../templates/channel/src/severity.rs.tmpl"),
    ),
    (
        "tests/channel.rs",
        include_str!("../templates/channel/tests/channel.rs.tmpl"),
    ),
];

/// `demo-chat` → `DemoChat`.
fn camel(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn validate(name: &str) -> Result<(), String> {
    let ok = name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid channel name {name:?}: use lower-case ASCII letters, digits and single hyphens, starting with a letter"
        ))
    }
}

fn render(template: &str, name: &str) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{crate}}", &name.replace('-', "_"))
        .replace("{{Name}}", &camel(name))
        .replace("{{NAME}}", &name.replace('-', "_").to_ascii_uppercase())
}

/// The file the CI check puts in the crate it scaffolds, so a later run knows a
/// leftover `crates/alert-demo` (from a check that was killed) is its own.
const CHECK_MARKER: &str = ".xtask-scaffold-check";

/// The name the CI check scaffolds.
const CHECK_NAME: &str = "demo";

/// Writes `crates/alert-NAME` and its `[workspace.dependencies]` line; refuses to
/// overwrite anything.
pub(crate) fn new_channel(root: &Path, name: &str) -> Result<PathBuf, String> {
    scaffold(root, name, false)
}

fn scaffold(root: &Path, name: &str, marked: bool) -> Result<PathBuf, String> {
    validate(name)?;
    let dir = root.join("crates").join(format!("alert-{name}"));
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let manifest = root.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).map_err(|e| format!("Cargo.toml: {e}"))?;
    let with_line = add_workspace_dependency(&text, &format!("alert-{name}"))?;
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if marked {
        // First, so that even a check killed right now leaves a recognisable crate.
        fs::write(
            dir.join(CHECK_MARKER),
            "created by `cargo xtask ci` (scaffold)\n",
        )
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for (path, template) in TEMPLATES {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::write(&target, render(template, name))
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    if let Some(updated) = with_line {
        fs::write(&manifest, updated).map_err(|e| format!("Cargo.toml: {e}"))?;
    }
    // Names of other lengths wrap lines differently; leave the crate formatted.
    let sources: Vec<PathBuf> = TEMPLATES
        .iter()
        .filter(|(path, _)| path.ends_with(".rs"))
        .map(|(path, _)| dir.join(path))
        .collect();
    let _ = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(&sources)
        .stderr(std::process::Stdio::null())
        .status();
    Ok(dir)
}

/// The version internal crates are published with: `[workspace.package] version`.
fn workspace_version(manifest: &str) -> Option<&str> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package && line.starts_with("version") {
            return line.split('"').nth(1);
        }
    }
    None
}

/// `manifest` with `crate_name = { path = "crates/crate_name", version = "…",
/// default-features = false }` added after the last internal crate of
/// `[workspace.dependencies]`; `None` when the crate is already there.
fn add_workspace_dependency(manifest: &str, crate_name: &str) -> Result<Option<String>, String> {
    let version = workspace_version(manifest)
        .ok_or("Cargo.toml has no [workspace.package] version for the new crate")?;
    let entry = format!(
        "{crate_name} = {{ path = \"crates/{crate_name}\", version = \"{version}\", default-features = false }}"
    );
    let mut section = "";
    let mut insert_after = None;
    let lines: Vec<&str> = manifest.lines().collect();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section != "[workspace.dependencies]" {
            continue;
        }
        let name = line.split(['=', ' ']).next().unwrap_or("");
        if name == crate_name {
            return Ok(None);
        }
        if line.contains("path = \"crates/") {
            insert_after = Some(i);
        }
        if insert_after.is_none() && line.starts_with("# --") {
            insert_after = Some(i.saturating_sub(1));
        }
    }
    let at = insert_after.ok_or("Cargo.toml has no [workspace.dependencies] table to add to")?;
    let mut out: Vec<&str> = Vec::with_capacity(lines.len() + 1);
    out.extend(&lines[..=at]);
    out.push(&entry);
    out.extend(&lines[at + 1..]);
    let mut text = out.join("\n");
    if manifest.ends_with('\n') {
        text.push('\n');
    }
    Ok(Some(text))
}

/// `manifest` without the `[workspace.dependencies]` line of `crate_name` (no other
/// line changes, so edits made meanwhile survive).
fn remove_workspace_dependency(manifest: &str, crate_name: &str) -> String {
    let mut section = "";
    let mut out = String::with_capacity(manifest.len());
    for raw in manifest.split_inclusive('\n') {
        let line = raw.trim();
        if line.starts_with('[') {
            section = line;
        } else if section == "[workspace.dependencies]"
            && line.split(['=', ' ']).next() == Some(crate_name)
            && line.contains(&format!("path = \"crates/{crate_name}\""))
        {
            continue;
        }
        out.push_str(raw);
    }
    out
}

/// `lock` without the `[[package]]` entry of `crate_name` (nothing depends on a
/// scaffolded crate).
fn remove_lock_package(lock: &str, crate_name: &str) -> String {
    let needle = format!("\nname = \"{crate_name}\"\n");
    lock.split_inclusive("\n\n")
        .filter(|block| !(block.starts_with("[[package]]") && block.contains(&needle)))
        .collect()
}

/// Removes everything a scaffold of `name` added: its folder, its workspace
/// dependency line, and its `Cargo.lock` entry.
fn remove_scaffold(root: &Path, name: &str) {
    let crate_name = format!("alert-{name}");
    let _ = fs::remove_dir_all(root.join("crates").join(&crate_name));
    let manifest = root.join("Cargo.toml");
    if let Ok(text) = fs::read_to_string(&manifest) {
        let cleaned = remove_workspace_dependency(&text, &crate_name);
        if cleaned != text {
            let _ = fs::write(&manifest, cleaned);
        }
    }
    let lock = root.join("Cargo.lock");
    if let Ok(text) = fs::read_to_string(&lock) {
        let cleaned = remove_lock_package(&text, &crate_name);
        if cleaned != text {
            let _ = fs::write(&lock, cleaned);
        }
    }
}

/// Removes a leftover of an earlier check that was killed (recognised by its
/// marker file); refuses to touch a crate of the same name that the check did not
/// create.
fn clear_leftover(root: &Path, name: &str) -> Result<(), String> {
    let dir = root.join("crates").join(format!("alert-{name}"));
    if !dir.exists() {
        return Ok(());
    }
    if !dir.join(CHECK_MARKER).exists() {
        return Err(format!(
            "{} already exists and was not created by the scaffold check (no {CHECK_MARKER}); \
             move it away to run the check",
            dir.display()
        ));
    }
    eprintln!(
        "scaffold: removing {} left by an interrupted check",
        dir.display()
    );
    remove_scaffold(root, name);
    if dir.exists() {
        return Err(format!("could not remove the leftover {}", dir.display()));
    }
    Ok(())
}

/// Removes the scaffolded crate and its workspace line, and restores `Cargo.lock`,
/// when dropped.
struct Cleanup {
    root: PathBuf,
    lock_path: PathBuf,
    lock: Option<Vec<u8>>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        remove_scaffold(&self.root, CHECK_NAME);
        if let Some(lock) = &self.lock {
            let _ = fs::write(&self.lock_path, lock);
        }
    }
}

/// The CI check: scaffold `alert-demo`, lint and test it, remove it. A leftover of
/// a check that was killed is removed first.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    clear_leftover(root, CHECK_NAME)?;
    let lock_path = root.join("Cargo.lock");
    let lock = fs::read(&lock_path).ok();
    let _cleanup = Cleanup {
        root: root.to_owned(),
        lock_path,
        lock,
    };
    scaffold(root, CHECK_NAME, true)?;
    let mut c = crate::cargo();
    c.args([
        "clippy",
        "-p",
        "alert-demo",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    crate::run("scaffold clippy", c)?;
    let mut c = crate::cargo();
    c.args(["test", "-p", "alert-demo"]);
    crate::run("scaffold test", c)?;
    crate::tidy::run(root)
        .map_err(|p| format!("scaffolded crate fails tidy:\n  {}", p.join("\n  ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(camel("demo"), "Demo");
        assert_eq!(camel("demo-chat2"), "DemoChat2");
        assert!(validate("demo-chat").is_ok());
        for bad in ["", "Demo", "1x", "a--b", "a-", "a_b", "a b"] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        assert_eq!(
            render("{{name}} {{crate}} {{Name}} {{NAME}}", "my-chat"),
            "my-chat my_chat MyChat MY_CHAT"
        );
    }

    const MANIFEST: &str = "[workspace]\nmembers = [\"crates/*\"]\n\n\
        [workspace.package]\nversion = \"0.3.1\"\nedition = \"2024\"\n\n\
        [workspace.dependencies]\n\
        # internal crates\n\
        alert-core = { path = \"crates/alert-core\", version = \"0.3.1\", default-features = false }\n\
        alert-slack = { path = \"crates/alert-slack\", version = \"0.3.1\", default-features = false }\n\
        \n# vocabulary\n\
        serde = { version = \"1\", default-features = false }\n\
        # -- add new workspace dependencies above this line --\n\n\
        [workspace.lints.rust]\nunsafe_code = \"deny\"\n";

    #[test]
    fn the_new_crate_joins_the_workspace_table_and_leaves_it_cleanly() {
        let added = add_workspace_dependency(MANIFEST, "alert-demo")
            .unwrap()
            .expect("a new line");
        assert_eq!(
            added,
            MANIFEST.replace(
                "default-features = false }\n\n# vocabulary",
                "default-features = false }\n\
                 alert-demo = { path = \"crates/alert-demo\", version = \"0.3.1\", default-features = false }\n\
                 \n# vocabulary"
            )
        );
        // Already there: nothing to add.
        assert_eq!(
            add_workspace_dependency(&added, "alert-demo").unwrap(),
            None
        );
        // Removing it gives the manifest back, byte for byte.
        assert_eq!(remove_workspace_dependency(&added, "alert-demo"), MANIFEST);
        // A manifest without a workspace version cannot say which version to use.
        assert!(add_workspace_dependency("[workspace]\n", "alert-demo").is_err());
    }

    #[test]
    fn the_lock_entry_of_a_scaffold_is_removed_alone() {
        let lock = "version = 4\n\n\
            [[package]]\nname = \"alert-core\"\nversion = \"0.1.0\"\n\n\
            [[package]]\nname = \"alert-demo\"\nversion = \"0.1.0\"\ndependencies = [\n \"alert-core\",\n]\n\n\
            [[package]]\nname = \"alert-demo-extra\"\nversion = \"0.1.0\"\n";
        assert_eq!(
            remove_lock_package(lock, "alert-demo"),
            "version = 4\n\n\
             [[package]]\nname = \"alert-core\"\nversion = \"0.1.0\"\n\n\
             [[package]]\nname = \"alert-demo-extra\"\nversion = \"0.1.0\"\n"
        );
    }

    /// A scratch workspace root in the temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("xtask-scaffold-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("crates")).unwrap();
        fs::write(dir.join("Cargo.toml"), MANIFEST).unwrap();
        dir
    }

    #[test]
    fn a_leftover_of_a_killed_check_is_removed_and_anything_else_refused() {
        let root = scratch("leftover");
        // What a check killed mid-way leaves: the marked crate and its line.
        let crate_dir = root.join("crates/alert-demo");
        fs::create_dir_all(crate_dir.join("src")).unwrap();
        fs::write(crate_dir.join(CHECK_MARKER), "x").unwrap();
        fs::write(crate_dir.join("src/lib.rs"), "//! x").unwrap();
        let with_line = add_workspace_dependency(MANIFEST, "alert-demo")
            .unwrap()
            .unwrap();
        fs::write(root.join("Cargo.toml"), &with_line).unwrap();
        clear_leftover(&root, "demo").unwrap();
        assert!(!crate_dir.exists());
        assert_eq!(
            fs::read_to_string(root.join("Cargo.toml")).unwrap(),
            MANIFEST
        );
        // Nothing there: nothing to do.
        clear_leftover(&root, "demo").unwrap();
        // A crate of that name the check did not make is left alone.
        fs::create_dir_all(&crate_dir).unwrap();
        let err = clear_leftover(&root, "demo").unwrap_err();
        assert!(
            err.contains("was not created by the scaffold check"),
            "{err}"
        );
        assert!(crate_dir.exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_marked_scaffold_writes_the_marker_and_the_workspace_line() {
        let root = scratch("marked");
        let dir = scaffold(&root, "demo", true).unwrap();
        assert!(dir.join(CHECK_MARKER).exists());
        assert!(dir.join("tests/channel.rs").exists());
        let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(
                "alert-demo = { path = \"crates/alert-demo\", version = \"0.3.1\", default-features = false }"
            ),
            "{manifest}"
        );
        // A second scaffold of the same name refuses.
        assert!(
            scaffold(&root, "demo", true)
                .unwrap_err()
                .contains("already exists")
        );
        remove_scaffold(&root, "demo");
        assert!(!dir.exists());
        assert_eq!(
            fs::read_to_string(root.join("Cargo.toml")).unwrap(),
            MANIFEST
        );
        // What plugin authors get has no marker.
        let dir = new_channel(&root, "chat").unwrap();
        assert!(!dir.join(CHECK_MARKER).exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn templates_have_no_unknown_placeholders() {
        for (path, t) in TEMPLATES {
            let out = render(t, "demo");
            assert!(!out.contains("{{"), "{path} has an unknown placeholder");
        }
    }
}
