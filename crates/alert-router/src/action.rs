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

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use alert_core::{Alert, Secret};
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
///     let model = alert.labels.get("model").unwrap_or_default().to_owned();
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

/// The variables of the service's own environment a [`CommandAction`] passes on
/// (when set); nothing else of it reaches the program, so the service's tokens and
/// keys do not leak into a script. Give the program anything more it needs with
/// [`CommandAction::with_env`] (`env` in config).
#[cfg(not(windows))]
pub const INHERITED_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
];

/// The variables of the service's own environment a [`CommandAction`] passes on
/// (when set); nothing else of it reaches the program, so the service's tokens and
/// keys do not leak into a script. Give the program anything more it needs with
/// [`CommandAction::with_env`] (`env` in config).
#[cfg(windows)]
pub const INHERITED_ENV: &[&str] = &[
    "PATH",
    "PATHEXT",
    "SYSTEMROOT",
    "WINDIR",
    "COMSPEC",
    "TEMP",
    "TMP",
    "USERPROFILE",
    "LANG",
    "TZ",
];

/// Runs a program (no shell) with the alert as JSON on stdin.
///
/// Its environment is **not** the service's: it gets only the variables of
/// [`INHERITED_ENV`] (`PATH`, `HOME`, `LANG`, ... when set), the ones configured in
/// [`env`](CommandAction::env), and these: `ALERT_NAME`, `ALERT_SEVERITY`,
/// `ALERT_STATUS`, `ALERT_FINGERPRINT`, `ALERT_SUMMARY`, and `ALERT_LABEL_<NAME>` for
/// each label (name upper-cased, characters other than letters, digits and `_`
/// turned into `_`).
///
/// Success is exit status 0; the outcome records stdout (or stderr on failure),
/// truncated to 2,000 characters, with the configured `env` values replaced by
/// `**REDACTED**`. The program is killed when the timeout passes, whether it is
/// still reading its input or running.
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
    /// Extra environment variables for the program (values are secrets: never
    /// printed, and scrubbed from the recorded outcome). Names starting with
    /// `ALERT_` are the router's.
    #[serde(default)]
    pub env: BTreeMap<String, Secret>,
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
            env: BTreeMap::new(),
        }
    }
    /// Sets the timeout.
    pub fn with_timeout(mut self, d: Duration) -> CommandAction {
        self.timeout = d;
        self
    }
    /// Adds an environment variable for the program.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<Secret>) -> CommandAction {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Checks the program and the `env` names; the error names the bad field
    /// (`program`, `env.NAME`).
    pub fn validate(&self) -> Result<(), alert_core::BuildError> {
        if self.program.trim().is_empty() {
            return Err(alert_core::BuildError::invalid(
                "program",
                "must not be empty",
            ));
        }
        for name in self.env.keys() {
            let reason = if name.is_empty() {
                "a variable name must not be empty"
            } else if name.contains(['=', '\0']) {
                "a variable name must not contain `=` or NUL"
            } else if name.starts_with("ALERT_") {
                "names starting with `ALERT_` are set by the router"
            } else {
                continue;
            };
            return Err(alert_core::BuildError::invalid(
                format!("env.{name}"),
                reason,
            ));
        }
        Ok(())
    }

    /// `text` with every configured `env` value replaced by `**REDACTED**`.
    fn scrub(&self, text: &str) -> String {
        self.env.values().fold(text.to_owned(), |t, v| v.scrub(&t))
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
            .env_clear();
        for name in INHERITED_ENV {
            if let Some(v) = std::env::var_os(name) {
                cmd.env(name, v);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v.expose());
        }
        cmd.env("ALERT_NAME", &alert.name)
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
        let stdin = child.stdin.take();
        let feed = async move {
            if let Some(mut stdin) = stdin {
                // A program that does not read stdin closes the pipe: not an error.
                let _ = stdin.write_all(&json).await;
                // Dropping the pipe here ends the input.
            }
        };
        // Writing the input and reading the output run together, all inside the
        // timeout: a program that never reads its input cannot block the write
        // past it. On timeout the child is dropped, which kills it.
        let run = async {
            let ((), out) = tokio::join!(feed, child.wait_with_output());
            out
        };
        let out = tokio::time::timeout(self.timeout, run)
            .await
            .map_err(|_| ActionError::new(format!("timed out after {:?}", self.timeout)))?
            .map_err(|e| ActionError::new(format!("could not wait for the program: {e}")))?;
        if out.status.success() {
            Ok(self.scrub(&excerpt(&out.stdout)))
        } else {
            let detail = if out.stderr.is_empty() {
                excerpt(&out.stdout)
            } else {
                excerpt(&out.stderr)
            };
            Err(ActionError::new(
                self.scrub(&format!("{}: {detail}", out.status)),
            ))
        }
    }
}

/// POSTs the alert as JSON to a URL (feature `http-action`). 2xx is success (the
/// outcome records the body's start); anything else fails with the status. The URL
/// and header values are secrets: never logged or recorded. The recorded outcome
/// (success or error) has the URL, its password, its query values and every
/// header value replaced by `**REDACTED**` (values shorter than 4 characters are
/// left alone), so a server that echoes the request does not put them in the audit
/// record.
#[cfg(feature = "http-action")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-action")))]
#[derive(Clone, Debug)]
pub struct HttpAction {
    name: String,
    url: Secret,
    headers: Vec<(String, Secret)>,
    /// What to scrub from outcomes, longest first.
    secrets: Vec<Secret>,
    client: reqwest::Client,
}

#[cfg(feature = "http-action")]
impl HttpAction {
    /// An action POSTing to `url`, with a per-request `timeout`.
    pub fn new(
        name: impl Into<String>,
        url: Secret,
        headers: Vec<(String, Secret)>,
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
        let mut secrets = vec![url.clone()];
        if let Some(p) = parsed.password() {
            secrets.push(Secret::new(p));
        }
        for (_, v) in parsed.query_pairs() {
            secrets.push(Secret::new(v.into_owned()));
        }
        if let Some(q) = parsed.query() {
            for pair in q.split('&') {
                if let Some((_, v)) = pair.split_once('=') {
                    secrets.push(Secret::new(v));
                }
            }
        }
        secrets.extend(headers.iter().map(|(_, v)| v.clone()));
        secrets.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
        Ok(HttpAction {
            name,
            url,
            headers,
            secrets,
            client,
        })
    }

    /// `text` without the URL, its parts and the header values.
    fn scrub(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_owned(), |t, secret| secret.scrub(&t))
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
            .map_err(|e| ActionError::new(self.scrub(&error_chain(&e.without_url()))))?;
        let status = resp.status();
        let body = resp.bytes().await.unwrap_or_default();
        let text = format!("HTTP {}: {}", status.as_u16(), self.scrub(&excerpt(&body)));
        if status.is_success() {
            Ok(text)
        } else {
            Err(ActionError::new(text))
        }
    }
}

/// An error and its sources on one line (`error sending request: connection
/// refused`), so the record says why.
#[cfg(feature = "http-action")]
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
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

    #[test]
    fn env_names_are_checked() {
        let ok = CommandAction::new("a", "p", Vec::<String>::new()).with_env("TOKEN", "t");
        assert!(ok.validate().is_ok());
        for (name, field, reason) in [
            ("", "env.", "must not be empty"),
            ("A=B", "env.A=B", "must not contain `=`"),
            ("ALERT_NAME", "env.ALERT_NAME", "set by the router"),
        ] {
            let a = CommandAction::new("a", "p", Vec::<String>::new()).with_env(name, "v");
            match a.validate() {
                Err(alert_core::BuildError::InvalidConfig {
                    field: f,
                    reason: r,
                }) => {
                    assert_eq!(f, field);
                    assert!(r.contains(reason), "{name}: {r}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        let empty = CommandAction::new("a", " ", Vec::<String>::new());
        assert!(
            matches!(empty.validate(), Err(alert_core::BuildError::InvalidConfig { field, .. }) if field == "program")
        );
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
                "read -r line; echo \"$ALERT_NAME $ALERT_LABEL_MODEL $ALERT_SEVERITY\"; echo \"$line\"",
            ],
        );
        let out = ok.run(&alert).await.unwrap();
        let (vars, stdin) = out.split_once('\n').expect("two lines");
        assert_eq!(vars, "ModelDown bikes critical");
        // The alert arrived whole on stdin, as JSON.
        let json: serde_json::Value = serde_json::from_str(stdin).expect("stdin was JSON");
        assert_eq!(json["name"], "ModelDown");
        assert_eq!(json["severity"], "critical");
        assert_eq!(json["status"], "firing");
        assert_eq!(json["labels"], serde_json::json!({ "model": "bikes" }));
        let bad = CommandAction::new("fail", "sh", ["-c", "echo nope >&2; exit 3"]);
        let e = bad.run(&alert).await.unwrap_err();
        assert_eq!(e.0, "exit status: 3: nope");
        let missing = CommandAction::new("missing", "/nonexistent/program", Vec::<String>::new());
        assert!(
            missing
                .run(&alert)
                .await
                .unwrap_err()
                .0
                .starts_with("could not start \"/nonexistent/program\": ")
        );
        let slow =
            CommandAction::new("slow", "sleep", ["5"]).with_timeout(Duration::from_millis(50));
        assert_eq!(
            slow.run(&alert).await.unwrap_err().0,
            "timed out after 50ms"
        );
    }

    /// The program sees the allow-list, its configured variables and the alert's,
    /// nothing else of the service's environment; configured values are scrubbed
    /// from what is recorded.
    #[cfg(unix)]
    #[tokio::test]
    async fn command_gets_only_the_allowed_environment() {
        // Every test process has these (cargo sets them); none may reach the program.
        for leaky in ["CARGO_PKG_NAME", "CARGO_MANIFEST_DIR"] {
            assert!(std::env::var_os(leaky).is_some(), "{leaky} is set here");
        }
        let alert = Alert::new(Severity::Error, "Drift").with_label("model", "bikes");
        let a = CommandAction::new("env", "env", Vec::<String>::new())
            .with_env("MLFLOW_TOKEN", "tok-0123456789");
        let out = a.run(&alert).await.unwrap();
        let mut names: Vec<&str> = out
            .lines()
            .map(|l| l.split_once('=').map_or(l, |(k, _)| k))
            .collect();
        names.sort_unstable();
        let allowed = [
            "ALERT_FINGERPRINT",
            "ALERT_LABEL_MODEL",
            "ALERT_NAME",
            "ALERT_SEVERITY",
            "ALERT_STATUS",
            "ALERT_SUMMARY",
            "HOME",
            "LANG",
            "LC_ALL",
            "LC_CTYPE",
            "LOGNAME",
            "MLFLOW_TOKEN",
            "PATH",
            "TMPDIR",
            "TZ",
            "USER",
        ];
        for n in &names {
            assert!(allowed.contains(n), "{n} reached the program: {names:?}");
        }
        for must in [
            "ALERT_FINGERPRINT",
            "ALERT_LABEL_MODEL",
            "ALERT_NAME",
            "ALERT_SEVERITY",
            "ALERT_STATUS",
            "ALERT_SUMMARY",
            "MLFLOW_TOKEN",
            "PATH",
        ] {
            assert!(names.contains(&must), "{must} is missing: {names:?}");
        }
        assert!(
            out.lines().any(|l| l == "MLFLOW_TOKEN=**REDACTED**"),
            "{out}"
        );
        assert!(!out.contains("tok-0123456789"), "{out}");
        assert!(out.lines().any(|l| l == "ALERT_NAME=Drift"), "{out}");
        // Errors are scrubbed too.
        let e = CommandAction::new(
            "fail",
            "sh",
            ["-c", "echo \"bad $MLFLOW_TOKEN\" >&2; exit 1"],
        )
        .with_env("MLFLOW_TOKEN", "tok-0123456789")
        .run(&alert)
        .await
        .unwrap_err();
        assert_eq!(e.0, "exit status: 1: bad **REDACTED**");
    }

    /// A program that never reads its input while the input is larger than the pipe:
    /// writing it would block for ever; the timeout covers the write and kills it.
    #[cfg(unix)]
    #[tokio::test]
    async fn the_timeout_covers_writing_the_input() {
        let alert = Alert::new(Severity::Error, "Big").with_message("x".repeat(4 << 20));
        let a =
            CommandAction::new("deaf", "sleep", ["30"]).with_timeout(Duration::from_millis(300));
        let r = tokio::time::timeout(Duration::from_secs(25), a.run(&alert))
            .await
            .expect("the action's own timeout ends it");
        assert_eq!(r.unwrap_err().0, "timed out after 300ms");
    }

    #[cfg(feature = "http-action")]
    #[tokio::test]
    async fn http_action_posts_the_alert_and_scrubs_its_secrets() {
        use alert_webhook::fake::{FakeWebhook, Reply};
        let sink = FakeWebhook::start().await.unwrap();
        let url = format!("{}/scale/tok-in-path-12345?key=q-s3cret-456", sink.url());
        let a = HttpAction::new(
            "scale",
            Secret::new(url.clone()),
            vec![("authorization".into(), Secret::new("Bearer h-s3cret-789"))],
            Duration::from_secs(20),
        )
        .unwrap();
        assert_eq!(a.name(), "scale");
        let dbg = format!("{a:?}");
        for secret in ["tok-in-path", "q-s3cret-456", "h-s3cret-789"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        let alert = Alert::new(Severity::Critical, "ModelDown").with_label("model", "bikes");

        // Success: a server that echoes the request does not put it in the record.
        sink.push(Reply::text(
            202,
            format!("scaling; you sent Bearer h-s3cret-789 to {url} (key q-s3cret-456)"),
        ));
        let out = a.run(&alert).await.unwrap();
        assert_eq!(
            out,
            "HTTP 202: scaling; you sent **REDACTED** to **REDACTED** (key **REDACTED**)"
        );
        let req = &sink.recorded()[0];
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/scale/tok-in-path-12345");
        assert_eq!(req.query.as_deref(), Some("key=q-s3cret-456"));
        assert_eq!(req.header("authorization"), Some("Bearer h-s3cret-789"));
        assert_eq!(req.header("content-type"), Some("application/json"));
        let body = req.json().unwrap();
        assert_eq!(body["name"], "ModelDown");
        assert_eq!(body["labels"], serde_json::json!({ "model": "bikes" }));

        // Failure status: the body is scrubbed the same way.
        sink.push(Reply::text(503, "down; retry with key=q-s3cret-456"));
        let e = a.run(&alert).await.unwrap_err();
        assert_eq!(e.0, "HTTP 503: down; retry with key=**REDACTED**");

        // Connection refused: the error says so without the URL.
        sink.stop();
        let e = tokio::time::timeout(Duration::from_secs(25), a.run(&alert))
            .await
            .expect("refused promptly")
            .unwrap_err();
        assert!(e.0.starts_with("error sending request"), "{e}");
        for secret in ["tok-in-path", "q-s3cret-456", "h-s3cret-789", "/scale"] {
            assert!(!e.0.contains(secret), "{e}");
        }
    }

    #[cfg(feature = "http-action")]
    #[test]
    fn http_action_refuses_bad_urls() {
        for (url, reason) in [
            ("not a url", "not a URL"),
            ("ftp://127.0.0.1/x", "the scheme must be http or https"),
        ] {
            match HttpAction::new("a", Secret::new(url), Vec::new(), Duration::from_secs(1)) {
                Err(alert_core::BuildError::InvalidConfig { field, reason: r }) => {
                    assert_eq!(field, "url");
                    assert!(r.starts_with(reason), "{url}: {r}");
                    assert!(!r.contains(url), "{url}: {r}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }
}
