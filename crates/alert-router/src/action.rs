//! Automated actions: "retrain", "scale", "roll back", triggered by routes.
//!
//! An [`Action`] runs for a firing alert when a route that names it notifies about
//! that alert. The router applies a **cool-down per fingerprint** (an action does not
//! run again for the same alert until its cool-down has passed), a **dry-run** mode
//! (record what would have run, run nothing), and writes an **audit record**
//! ([`ActionRecord`](crate::store::ActionRecord)) of what ran, when, for which alert
//! and the outcome. Actions run in the background: a slow action never delays
//! notifications.
//!
//! Three kinds ship: [`FnAction`] (a Rust closure), [`CommandAction`] (a program,
//! with the alert as JSON on stdin and `ALERT_*` environment variables) and, with
//! the `http-action` feature, [`HttpAction`] (POST the alert as JSON).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use alert_core::Alert;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::serde_util;

/// Why an action failed (the text goes to the audit record; no secrets).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ActionError(pub String);

impl ActionError {
    /// An error with this message.
    pub fn new(msg: impl Into<String>) -> ActionError {
        ActionError(msg.into())
    }
}

/// Something to do about an alert. Dyn-compatible; `&self` only.
#[async_trait::async_trait]
pub trait Action: Send + Sync + fmt::Debug {
    /// The name routes refer to (`retrain`).
    fn name(&self) -> &str;
    /// Runs for `alert`; returns a short description of what happened.
    async fn run(&self, alert: &Alert) -> Result<String, ActionError>;
}

type BoxFut = Pin<Box<dyn Future<Output = Result<String, ActionError>> + Send>>;

/// An action from a closure that returns a future.
///
/// ```
/// use alert_router::action::{ActionError, FnAction};
/// let retrain = FnAction::new("retrain", |alert| async move {
///     let model = alert.labels.get("model").cloned().unwrap_or_default();
///     Ok::<_, ActionError>(format!("queued retraining of {model}"))
/// });
/// ```
pub struct FnAction {
    name: String,
    f: Box<dyn Fn(Alert) -> BoxFut + Send + Sync>,
}

impl fmt::Debug for FnAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnAction")
            .field("name", &self.name)
            .finish()
    }
}

impl FnAction {
    /// An action called `name` that runs `f` with a copy of the alert.
    pub fn new<F, Fut>(name: impl Into<String>, f: F) -> FnAction
    where
        F: Fn(Alert) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, ActionError>> + Send + 'static,
    {
        FnAction {
            name: name.into(),
            f: Box::new(move |a| Box::pin(f(a))),
        }
    }
}

#[async_trait::async_trait]
impl Action for FnAction {
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, alert: &Alert) -> Result<String, ActionError> {
        (self.f)(alert.clone()).await
    }
}

const MAX_OUTPUT: usize = 2000;

fn excerpt(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    if s.chars().count() > MAX_OUTPUT {
        let cut: String = s.chars().take(MAX_OUTPUT).collect();
        format!("{cut}…")
    } else {
        s.to_owned()
    }
}

/// Runs a program (no shell) with the alert as JSON on stdin and these environment
/// variables: `ALERT_NAME`, `ALERT_SEVERITY`, `ALERT_STATUS`, `ALERT_FINGERPRINT`,
/// `ALERT_SUMMARY`, and `ALERT_LABEL_<NAME>` for each label (name upper-cased,
/// characters other than letters, digits and `_` turned into `_`).
///
/// Success is exit status 0; the outcome records stdout (or stderr on failure),
/// truncated to 2,000 characters. The program is killed after the timeout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandAction {
    /// The action's name.
    pub name: String,
    /// The program (a path, or a name looked up in `PATH`).
    pub program: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// How long it may run (default 60s).
    #[serde(default = "default_timeout", with = "serde_util::duration")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(60)
}

impl CommandAction {
    /// Runs `program` with `args`.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        program: impl Into<String>,
        args: impl IntoIterator<Item = S>,
    ) -> CommandAction {
        CommandAction {
            name: name.into(),
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            timeout: default_timeout(),
        }
    }
    /// Sets the timeout.
    pub fn with_timeout(mut self, d: Duration) -> CommandAction {
        self.timeout = d;
        self
    }
}

fn env_name(label: &str) -> String {
    let mut s = String::from("ALERT_LABEL_");
    s.extend(label.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    s
}

#[async_trait::async_trait]
impl Action for CommandAction {
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, alert: &Alert) -> Result<String, ActionError> {
        let json = serde_json::to_vec(alert).map_err(|e| ActionError::new(e.to_string()))?;
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .env("ALERT_NAME", &alert.name)
            .env("ALERT_SEVERITY", alert.severity.as_str())
            .env("ALERT_STATUS", alert.status.as_str())
            .env("ALERT_FINGERPRINT", alert.fingerprint().to_string())
            .env("ALERT_SUMMARY", alert.title());
        for (k, v) in &alert.labels {
            cmd.env(env_name(k), v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| ActionError::new(format!("could not start {:?}: {e}", self.program)))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A program that does not read stdin closes the pipe: not an error.
            let _ = stdin.write_all(&json).await;
        }
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| ActionError::new(format!("timed out after {:?}", self.timeout)))?
            .map_err(|e| ActionError::new(format!("could not wait for the program: {e}")))?;
        if out.status.success() {
            Ok(excerpt(&out.stdout))
        } else {
            let detail = if out.stderr.is_empty() {
                excerpt(&out.stdout)
            } else {
                excerpt(&out.stderr)
            };
            Err(ActionError::new(format!("{}: {detail}", out.status)))
        }
    }
}

/// POSTs the alert as JSON to a URL (feature `http-action`). 2xx is success (the
/// outcome records the body's start); anything else fails with the status. The URL
/// and header values are secrets: never logged or recorded.
#[cfg(feature = "http-action")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-action")))]
#[derive(Clone, Debug)]
pub struct HttpAction {
    name: String,
    url: alert_core::Secret,
    headers: Vec<(String, alert_core::Secret)>,
    client: reqwest::Client,
}

#[cfg(feature = "http-action")]
impl HttpAction {
    /// An action POSTing to `url`, with a per-request `timeout`.
    pub fn new(
        name: impl Into<String>,
        url: alert_core::Secret,
        headers: Vec<(String, alert_core::Secret)>,
        timeout: Duration,
    ) -> Result<HttpAction, alert_core::BuildError> {
        let name = name.into();
        let parsed = reqwest::Url::parse(url.expose())
            .map_err(|e| alert_core::BuildError::invalid("url", format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(alert_core::BuildError::invalid(
                "url",
                "the scheme must be http or https",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| alert_core::BuildError::Other {
                channel: "http-action",
                source: Box::new(e.without_url()),
            })?;
        Ok(HttpAction {
            name,
            url,
            headers,
            client,
        })
    }
}

#[cfg(feature = "http-action")]
#[async_trait::async_trait]
impl Action for HttpAction {
    fn name(&self) -> &str {
        &self.name
    }
    async fn run(&self, alert: &Alert) -> Result<String, ActionError> {
        let mut req = self.client.post(self.url.expose()).json(alert);
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.expose());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ActionError::new(self.url.scrub(&e.without_url().to_string())))?;
        let status = resp.status();
        let body = resp.bytes().await.unwrap_or_default();
        if status.is_success() {
            Ok(format!("HTTP {}: {}", status.as_u16(), excerpt(&body)))
        } else {
            Err(ActionError::new(format!(
                "HTTP {}: {}",
                status.as_u16(),
                self.url.scrub(&excerpt(&body))
            )))
        }
    }
}

/// How the router runs an action: cool-down per fingerprint and dry-run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionPolicy {
    /// How long after running for an alert the action does not run again for it
    /// (default 1h).
    #[serde(default = "default_cooldown", with = "serde_util::duration")]
    pub cooldown: Duration,
    /// Record what would run, run nothing (default `false`).
    #[serde(default)]
    pub dry_run: bool,
}

fn default_cooldown() -> Duration {
    Duration::from_secs(3600)
}

impl Default for ActionPolicy {
    fn default() -> ActionPolicy {
        ActionPolicy {
            cooldown: default_cooldown(),
            dry_run: false,
        }
    }
}

impl ActionPolicy {
    /// A policy with this cool-down, not dry-run.
    pub fn cooldown(d: Duration) -> ActionPolicy {
        ActionPolicy {
            cooldown: d,
            dry_run: false,
        }
    }
    /// Sets dry-run.
    pub fn dry_run(mut self, yes: bool) -> ActionPolicy {
        self.dry_run = yes;
        self
    }
}

/// An action as the router holds it (its policy lives in the engine).
#[derive(Clone, Debug)]
pub(crate) struct ActionSlot {
    pub(crate) action: Arc<dyn Action>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Severity;

    #[test]
    fn env_names_are_shell_safe() {
        assert_eq!(env_name("model"), "ALERT_LABEL_MODEL");
        assert_eq!(env_name("k8s.pod-name"), "ALERT_LABEL_K8S_POD_NAME");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn command_gets_env_and_stdin_and_reports_failures() {
        let alert = Alert::new(Severity::Critical, "ModelDown").with_label("model", "bikes");
        let ok = CommandAction::new(
            "echo",
            "sh",
            [
                "-c",
                "read -r line; echo \"$ALERT_NAME $ALERT_LABEL_MODEL $ALERT_SEVERITY ${#line}\"",
            ],
        );
        let out = ok.run(&alert).await.unwrap();
        let json_len = serde_json::to_vec(&alert).unwrap().len();
        assert_eq!(out, format!("ModelDown bikes critical {json_len}"));
        let bad = CommandAction::new("fail", "sh", ["-c", "echo nope >&2; exit 3"]);
        let e = bad.run(&alert).await.unwrap_err();
        assert!(
            e.0.contains("exit status: 3") && e.0.contains("nope"),
            "{e}"
        );
        let missing = CommandAction::new("missing", "/nonexistent/program", Vec::<String>::new());
        assert!(
            missing
                .run(&alert)
                .await
                .unwrap_err()
                .0
                .contains("could not start")
        );
        let slow =
            CommandAction::new("slow", "sleep", ["5"]).with_timeout(Duration::from_millis(50));
        assert!(slow.run(&alert).await.unwrap_err().0.contains("timed out"));
    }
}
