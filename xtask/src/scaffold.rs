//! `cargo xtask new-channel NAME`: scaffolds a channel crate that follows the
//! workspace conventions and passes its tests (including the testkit conformance
//! suite) straight away. It talks to a made-up JSON service; replace the wire format
//! in `payload.rs` and `notifier.rs` with the real provider's.

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

/// Writes `crates/alert-NAME`; refuses to overwrite anything.
pub(crate) fn new_channel(root: &Path, name: &str) -> Result<PathBuf, String> {
    validate(name)?;
    let dir = root.join("crates").join(format!("alert-{name}"));
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    for (path, template) in TEMPLATES {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::write(&target, render(template, name))
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    // Names of other lengths wrap lines differently; leave the crate formatted.
    let _ = crate::cargo()
        .args(["fmt", "-p", &format!("alert-{name}")])
        .stderr(std::process::Stdio::null())
        .status();
    Ok(dir)
}

/// Removes the scaffolded crate and restores `Cargo.lock` when dropped.
struct Cleanup {
    dir: PathBuf,
    lock_path: PathBuf,
    lock: Option<Vec<u8>>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        if let Some(lock) = &self.lock {
            let _ = fs::write(&self.lock_path, lock);
        }
    }
}

/// The CI check: scaffold `alert-demo`, lint and test it, remove it.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let lock_path = root.join("Cargo.lock");
    let lock = fs::read(&lock_path).ok();
    let dir = new_channel(root, "demo")?;
    let _cleanup = Cleanup {
        dir,
        lock_path,
        lock,
    };
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

    #[test]
    fn templates_have_no_unknown_placeholders() {
        for (path, t) in TEMPLATES {
            let out = render(t, "demo");
            assert!(!out.contains("{{"), "{path} has an unknown placeholder");
        }
    }
}
