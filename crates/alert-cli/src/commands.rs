//! The subcommands of `alerts`, as functions returning an exit code.
//!
//! Exit codes, the same for every command:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: `send --to` and `test` **delivered** (every channel answered success); `send` to the service: the service **accepted** the alert (it is stored durably and will be routed; delivery happens later, see `alerts history`); `check`: the config is valid; `serve`: stopped cleanly |
//! | 1 | failure at run time: a delivery failed, the service could not be reached or answered 5xx/401/403, `serve` could not listen or open its database |
//! | 2 | bad input, which retrying will not fix: usage, unreadable alert JSON, an unknown receiver, the service answered another 4xx, and **any config error** (a file that does not parse, a channel that does not build, a template that renders empty, a public address without tokens), from every command |

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alert_core::{Alert, Evidence, Notifier, Receipt, Severity, Source, Status, Timestamp};
use alert_router::{MemoryStore, Router};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{Client, ClientError, DEFAULT_SERVER, cell, table};
use crate::config::{ENV_CONFIG, ENV_SERVER, ServiceConfig};

/// Success (see the [module docs](self) for what each command means by it).
pub const EXIT_OK: u8 = 0;
/// A failure at run time: delivery, the service, the network, the port.
pub const EXIT_FAILED: u8 = 1;
/// Bad input, including every config error.
pub const EXIT_BAD_INPUT: u8 = 2;

/// Reads an environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The config file to use: `--config`, else `ALERTS_CONFIG`, else
/// `<config dir>/alerts/config.toml` when it exists.
pub fn config_path(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| env(ENV_CONFIG).map(PathBuf::from))
        .or_else(|| {
            dirs::config_dir()
                .map(|d| d.join("alerts").join("config.toml"))
                .filter(|p| p.exists())
        })
}

/// Reads a bearer token from `path` (`--token-file`): the file's content without
/// surrounding white space. A token there is not visible in `ps`, unlike `--token`.
pub fn read_token_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--token-file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!(
            "--token-file {}: the file is empty",
            path.display()
        ));
    }
    if token.contains(['\n', '\r']) {
        return Err(format!(
            "--token-file {}: expected one token, found several lines",
            path.display()
        ));
    }
    Ok(token.to_owned())
}

/// Loads the config, printing the error; `Err(exit code)` on failure.
pub fn load_config(flag: Option<&Path>) -> Result<Option<ServiceConfig>, u8> {
    match config_path(flag) {
        None => Ok(None),
        Some(p) => ServiceConfig::load(&p, env).map(Some).map_err(|e| {
            eprintln!("alerts: {e}");
            EXIT_BAD_INPUT
        }),
    }
}

/// The alert fields of `alerts send`.
#[derive(Debug, Clone, Default)]
pub struct SendArgs {
    /// `--severity`.
    pub severity: Option<Severity>,
    /// `--name`.
    pub name: Option<String>,
    /// `--summary`.
    pub summary: Option<String>,
    /// `--message`.
    pub message: Option<String>,
    /// `--label k=v`.
    pub labels: Vec<(String, String)>,
    /// `--annotation k=v`.
    pub annotations: Vec<(String, String)>,
    /// `--runbook`.
    pub runbook: Option<String>,
    /// `--metric`, `--observed`, `--threshold`, `--baseline`.
    pub metric: Option<String>,
    /// Observed value.
    pub observed: Option<f64>,
    /// Threshold.
    pub threshold: Option<f64>,
    /// Baseline.
    pub baseline: Option<f64>,
    /// `--model`, `--model-version`, `--env`, `--run-id`.
    pub model: Option<String>,
    /// Model version.
    pub model_version: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Run id.
    pub run_id: Option<String>,
    /// `--resolved`.
    pub resolved: bool,
    /// `--json`: read alerts from stdin.
    pub json: bool,
    /// `--to`: receivers or channel types to deliver to directly.
    pub to: Vec<String>,
    /// `--server`.
    pub server: Option<String>,
    /// `--token`.
    pub token: Option<String>,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--verbose`: print receipts.
    pub verbose: bool,
}

/// Parses `k=v`.
pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

/// Builds the alerts of `alerts send` from flags or stdin JSON.
pub fn build_alerts(a: &SendArgs, stdin: impl Read) -> Result<Vec<Alert>, String> {
    if a.json {
        let mut buf = Vec::new();
        let mut stdin = stdin;
        stdin
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        crate::limits::check_body(&buf, &crate::limits::Limits::default())
            .map_err(|p| format!("{}: {}", p.field, p.message))?;
        let is_array = buf.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
        let alerts = if is_array {
            crate::limits::parse_json::<Vec<Alert>>(&buf)
        } else {
            crate::limits::parse_json::<Alert>(&buf).map(|a| vec![a])
        }
        .map_err(|p| {
            format!(
                "invalid alert JSON on standard input at {}: {}",
                p.field, p.message
            )
        })?;
        if alerts.is_empty() {
            return Err("no alert on standard input".into());
        }
        return Ok(alerts);
    }
    let name = a.name.clone().ok_or("--name is required (or --json)")?;
    let mut alert = Alert::new(a.severity.unwrap_or(Severity::Info), name);
    if let Some(s) = &a.summary {
        alert = alert.with_summary(s.clone());
    }
    if let Some(m) = &a.message {
        alert = alert.with_message(m.clone());
    }
    alert = alert.with_labels(a.labels.iter().cloned());
    for (k, v) in &a.annotations {
        alert = alert.with_annotation(k.clone(), v.clone());
    }
    if let Some(r) = &a.runbook {
        alert = alert.with_runbook(r.clone());
    }
    if let Some(m) = &a.metric {
        let mut e = Evidence::metric(m.clone());
        e.observed = a.observed;
        e.threshold = a.threshold;
        e.baseline = a.baseline;
        alert = alert.with_evidence(e);
    } else if a.observed.is_some() || a.threshold.is_some() || a.baseline.is_some() {
        return Err("--observed, --threshold and --baseline need --metric".into());
    }
    let mut source = Source::default();
    source.model = a.model.clone();
    source.version = a.model_version.clone();
    source.environment = a.environment.clone();
    source.run_id = a.run_id.clone();
    alert = alert.with_source(source);
    let now = Timestamp::now();
    alert = alert.with_starts_at(now);
    if a.resolved {
        alert = alert.with_status(Status::Resolved).with_ends_at(now);
    }
    Ok(vec![alert])
}

/// The channel types `--to` accepts without a config file, configured from the
/// environment (`ALERT_SLACK_WEBHOOK_URL`, `ALERT_WEBHOOK_URL`, `DD_API_KEY`, ...).
pub const ENV_CHANNELS: [&str; 7] = [
    "console",
    "desktop",
    "slack",
    "discord",
    "datadog",
    "statuspal",
    "webhook",
];

fn channel_from_env(kind: &str) -> Result<Arc<dyn Notifier>, String> {
    use alert_router::{datadog, desktop, discord, slack, statuspal, webhook};
    let e = |e: alert_core::BuildError| format!("channel `{kind}` from the environment: {e}");
    Ok(match kind {
        "console" => Arc::new(alert_core::ConsoleNotifier::stderr("alerts")),
        "desktop" => Arc::new(
            desktop::DesktopNotifier::new(desktop::DesktopConfig::from_env().map_err(e)?)
                .map_err(e)?,
        ),
        "slack" => Arc::new(
            slack::SlackNotifier::new(slack::SlackConfig::from_env().map_err(e)?).map_err(e)?,
        ),
        "discord" => Arc::new(
            discord::DiscordNotifier::new(discord::DiscordConfig::from_env().map_err(e)?)
                .map_err(e)?,
        ),
        "datadog" => Arc::new(
            datadog::DatadogNotifier::new(datadog::DatadogConfig::from_env().map_err(e)?)
                .map_err(e)?,
        ),
        "statuspal" => Arc::new(
            statuspal::StatuspalNotifier::new(statuspal::StatuspalConfig::from_env().map_err(e)?)
                .map_err(e)?,
        ),
        "webhook" => Arc::new(
            webhook::WebhookNotifier::new(webhook::WebhookConfig::from_env().map_err(e)?)
                .map_err(e)?,
        ),
        other => return Err(format!("unknown channel `{other}`")),
    })
}

/// A delivery target of `--to`: a label for messages and the channel.
pub type Target = (String, Arc<dyn Notifier>);

/// Resolves `--to NAME`: a receiver of the config, else a channel type from the
/// environment.
pub fn resolve_targets(
    names: &[String],
    cfg: Option<&ServiceConfig>,
) -> Result<Vec<Target>, String> {
    let custom = HashMap::new();
    let mut out = Vec::new();
    for name in names {
        if let Some(r) = cfg.and_then(|c| c.router.receivers.iter().find(|r| &r.name == name)) {
            for (i, ch) in r.channels.iter().enumerate() {
                let n = ch
                    .build(&custom)
                    .map_err(|e| format!("receivers `{name}`, channel {i} ({}): {e}", ch.kind()))?;
                out.push((format!("{name}/{}", ch.kind()), n));
            }
        } else if ENV_CHANNELS.contains(&name.as_str()) {
            out.push((name.clone(), channel_from_env(name)?));
        } else {
            let known: Vec<String> = cfg
                .map(|c| c.router.receivers.iter().map(|r| r.name.clone()).collect())
                .unwrap_or_default();
            return Err(format!(
                "unknown receiver or channel `{name}`: receivers in the config: [{}]; channels from the environment: [{}]",
                known.join(", "),
                ENV_CHANNELS.join(", ")
            ));
        }
    }
    Ok(out)
}

fn print_receipt(label: &str, r: &Receipt) {
    let mut s = format!("{label}: delivered");
    if let Some(id) = &r.id {
        s.push_str(&format!(" id={id}"));
    }
    if let Some(u) = &r.url {
        s.push_str(&format!(" url={u}"));
    }
    if let Some(skip) = r.meta("skipped") {
        s.push_str(&format!(" (skipped: {skip})"));
    }
    println!("{s}");
}

/// `alerts send`.
pub async fn send(a: SendArgs) -> u8 {
    let alerts = match build_alerts(&a, std::io::stdin().lock()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("alerts send: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if !a.to.is_empty() {
        let cfg = match load_config(a.config.as_deref()) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let targets = match resolve_targets(&a.to, cfg.as_ref()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("alerts send: {e}");
                return EXIT_BAD_INPUT;
            }
        };
        let mut failed = false;
        for (label, n) in &targets {
            let result = if alerts.len() == 1 {
                n.notify(&alerts[0]).await
            } else {
                n.notify_group(&alerts).await
            };
            match result {
                Ok(r) => {
                    if a.verbose {
                        print_receipt(label, &r);
                    }
                }
                Err(e) => {
                    eprintln!("alerts send: {label}: {e}");
                    failed = true;
                }
            }
        }
        return if failed { EXIT_FAILED } else { EXIT_OK };
    }
    let server = a
        .server
        .clone()
        .or_else(|| env(ENV_SERVER))
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let token = a.token.clone().or_else(|| {
        env(crate::auth::ENV_WRITE_TOKEN)
            .map(|t| t.split(',').next().unwrap_or("").trim().to_owned())
    });
    let client = match Client::new(&server, token) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("alerts send: {e}");
            return EXIT_FAILED;
        }
    };
    let body = serde_json::to_value(&alerts).unwrap_or(Value::Null);
    match client
        .call(Method::POST, "/api/v1/alerts", Some(&body))
        .await
    {
        Ok(v) => {
            if a.verbose {
                println!("accepted by {server}: {v}");
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("alerts send: {e}");
            if matches!(e, ClientError::Unreachable(_)) {
                eprintln!(
                    "  (start the service with `alerts serve`, or deliver directly with `--to <receiver|channel>`)"
                );
            }
            if e.is_bad_input() {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILED
            }
        }
    }
}

/// `alerts check`: parses the file, builds every part of it without sending
/// anything, and renders every template against sample alerts (see
/// [`crate::templates`]). Exit code 0 when valid, 2 (bad input) otherwise.
pub async fn check(config: Option<&Path>) -> u8 {
    let Some(path) = config_path(config) else {
        eprintln!("alerts check: no config file (give --config FILE or set {ENV_CONFIG})");
        return EXIT_BAD_INPUT;
    };
    let cfg = match ServiceConfig::load(&path, env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("alerts check: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let file = path.display().to_string();
    if let Err(e) = alert_conditions::rules::RuleSet::from_specs(cfg.rules.clone()) {
        eprintln!("alerts check: {}", cfg.rules_error(&e));
        return EXIT_BAD_INPUT;
    }
    if let Err(e) = crate::auth::Auth::new(&cfg.server.auth, env).check_bind(cfg.server.listen) {
        eprintln!("alerts check: {}", cfg.error_at("server.listen", e));
        return EXIT_BAD_INPUT;
    }
    // Builds every channel, action, route, inhibition rule and time interval, and
    // parses every channel's templates, without sending anything.
    let router = Router::builder()
        .config(cfg.router.clone())
        .store(Arc::new(MemoryStore::new()))
        .manual_ticks()
        .build()
        .await;
    let receivers = match router {
        Ok(r) => {
            let receivers = r.receivers();
            r.shutdown(Duration::from_millis(100)).await;
            receivers
        }
        Err(e) => {
            eprintln!("alerts check: {}", cfg.router_error(&e));
            return EXIT_BAD_INPUT;
        }
    };
    let (rendered, errors) = cfg.render_templates();
    if !errors.is_empty() {
        for e in errors {
            eprintln!("alerts check: {e}");
        }
        return EXIT_BAD_INPUT;
    }
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    println!(
        "{file}: OK ({}, {}, {}; {} rendered {})",
        count(receivers.len(), "receiver"),
        count(receivers.iter().map(|(_, c)| c.len()).sum(), "channel"),
        count(cfg.rules.len(), "rule"),
        count(rendered.templates, "template"),
        count(rendered.renders, "time"),
    );
    EXIT_OK
}

/// `alerts test RECEIVER`: through the service when `--server` is given, else
/// directly from the config. Prints each channel's receipt or error (a table, or
/// with `json` the same JSON as `POST /api/v1/receivers/{name}/test`); exit code 0
/// when every channel delivered, 1 when one failed, 2 for an unknown receiver.
pub async fn test(
    receiver: &str,
    config: Option<&Path>,
    server: Option<String>,
    token: Option<String>,
    json: bool,
) -> u8 {
    let result = if let Some(server) = server {
        let remote = Remote {
            server: Some(server),
            token,
            json,
        };
        let client = match remote.client(true) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("alerts test: {e}");
                return EXIT_FAILED;
            }
        };
        match client
            .call(
                Method::POST,
                &format!("/api/v1/receivers/{receiver}/test"),
                None,
            )
            .await
        {
            Ok(v) => v,
            Err(e) => {
                eprintln!("alerts test: {e}");
                return if e.is_bad_input() {
                    EXIT_BAD_INPUT
                } else {
                    EXIT_FAILED
                };
            }
        }
    } else {
        let cfg = match load_config(config) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let targets = match resolve_targets(&[receiver.to_owned()], cfg.as_ref()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("alerts test: {e}");
                return EXIT_BAD_INPUT;
            }
        };
        let alert = crate::api::test_alert();
        let mut results = Vec::new();
        for (label, n) in targets {
            results.push(match n.notify(&alert).await {
                Ok(r) => json!({ "channel": label, "ok": true, "receipt": r }),
                Err(e) => {
                    json!({ "channel": label, "ok": false, "kind": e.kind(), "error": e.to_string() })
                }
            });
        }
        json!({ "receiver": receiver, "results": results })
    };
    let results = result["results"].as_array().cloned().unwrap_or_default();
    if results.is_empty() {
        eprintln!("alerts test: receiver `{receiver}` has no channels: nothing was sent");
        return EXIT_FAILED;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
    } else {
        for r in &results {
            if r["ok"].as_bool() == Some(true) {
                println!(
                    "{}: delivered, receipt {}",
                    cell(&r["channel"]),
                    r["receipt"]
                );
            } else {
                println!(
                    "{}: FAILED ({}): {}",
                    cell(&r["channel"]),
                    cell(&r["kind"]),
                    cell(&r["error"])
                );
            }
        }
    }
    if results.iter().all(|r| r["ok"].as_bool() == Some(true)) {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

/// Where client commands connect.
#[derive(Debug, Clone, Default)]
pub struct Remote {
    /// `--server`.
    pub server: Option<String>,
    /// `--token`.
    pub token: Option<String>,
    /// `--json`.
    pub json: bool,
}

impl Remote {
    fn client(&self, write: bool) -> Result<Client, String> {
        let server = self
            .server
            .clone()
            .or_else(|| env(ENV_SERVER))
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let var = if write {
            crate::auth::ENV_WRITE_TOKEN
        } else {
            crate::auth::ENV_READ_TOKEN
        };
        let token = self.token.clone().or_else(|| {
            env(var)
                .or_else(|| env(crate::auth::ENV_WRITE_TOKEN))
                .map(|t| t.split(',').next().unwrap_or("").trim().to_owned())
        });
        Client::new(&server, token)
    }

    /// Runs one call and prints the answer as JSON or through `render`.
    pub async fn run(
        &self,
        write: bool,
        method: Method,
        path: &str,
        body: Option<Value>,
        render: impl FnOnce(&Value) -> String,
    ) -> u8 {
        let client = match self.client(write) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("alerts: {e}");
                return EXIT_FAILED;
            }
        };
        match client.call(method, path, body.as_ref()).await {
            Ok(v) => {
                if self.json {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                } else {
                    print!("{}", render(&v));
                }
                EXIT_OK
            }
            Err(e) => {
                eprintln!("alerts: {e}");
                if e.is_bad_input() {
                    EXIT_BAD_INPUT
                } else {
                    EXIT_FAILED
                }
            }
        }
    }
}

/// Table of silences.
pub fn silences_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            vec![
                cell(&s["id"]),
                cell(&s["state"]),
                cell(&s["matchers"]),
                cell(&s["starts_at"]),
                cell(&s["ends_at"]),
                cell(&s["created_by"]),
                cell(&s["comment"]),
            ]
        })
        .collect();
    table(
        &["ID", "STATE", "MATCHERS", "STARTS", "ENDS", "BY", "COMMENT"],
        &rows,
    )
}

/// Table of delivery attempts.
pub fn history_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            vec![
                cell(&a["at"]),
                cell(&a["receiver"]),
                cell(&a["channel"]),
                cell(&a["attempt"]),
                cell(&a["outcome"]),
                a["latency_ms"]
                    .as_f64()
                    .map_or_else(|| "-".to_owned(), |l| format!("{l:.1}ms")),
                a["error"]
                    .as_str()
                    .map_or_else(|| cell(&a["receipt"]["id"]), |e| cell(&Value::from(e))),
            ]
        })
        .collect();
    table(
        &[
            "AT", "RECEIVER", "CHANNEL", "ATTEMPT", "OUTCOME", "LATENCY", "ERROR/ID",
        ],
        &rows,
    )
}

/// Table of dead letters: when given up, the id to redeliver, where, how many
/// attempts, why, the alert names and the last error.
pub fn dead_letters_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let names: Vec<Value> = d["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| a["name"].clone())
                .collect();
            vec![
                cell(&d["at"]),
                cell(&d["id"]),
                cell(&d["receiver"]),
                cell(&d["channel"]),
                cell(&d["attempts"]),
                cell(&d["reason"]),
                cell(&Value::Array(names)),
                cell(&d["error"]),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "AT", "ID", "RECEIVER", "CHANNEL", "ATTEMPTS", "REASON", "ALERTS", "ERROR",
        ],
        &rows,
    );
    if rows.is_empty() {
        out.push_str("(no dead letters)\n");
    }
    out
}

/// What `alerts redeliver` prints on success.
pub fn redelivered_line(v: &Value) -> String {
    format!(
        "queued {} again for {}/{}\n",
        cell(&v["redelivered"]),
        cell(&v["receiver"]),
        cell(&v["channel"])
    )
}

/// Seconds as a short duration (`42s`, `3.5m`, `1.2h`), `-` when absent.
fn secs_cell(v: &Value) -> String {
    match v.as_f64() {
        None => "-".into(),
        Some(s) if s < 60.0 => format!("{s:.0}s"),
        Some(s) if s < 3600.0 => format!("{:.1}m", s / 60.0),
        Some(s) => format!("{:.1}h", s / 3600.0),
    }
}

/// Table of the effectiveness report: one table per alert name (with a total row)
/// and one per route.
pub fn report_table(v: &Value) -> String {
    let row = |r: &Value| -> Vec<String> {
        let suppressed: u64 = r
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("suppressed_"))
            .filter_map(|(_, n)| n.as_u64())
            .sum();
        vec![
            cell(&r["key"]),
            cell(&r["fired"]),
            cell(&r["notifications"]),
            cell(&r["deliveries"]),
            cell(&r["failed"]),
            suppressed.to_string(),
            cell(&r["flaps"]),
            cell(&r["acked"]),
            secs_cell(&r["time_to_ack"]["p50_secs"]),
            secs_cell(&r["time_to_resolve"]["p50_secs"]),
            cell(&r["resolved_before_ack"]),
            cell(&r["never_acked"]),
        ]
    };
    let header = [
        "KEY",
        "FIRED",
        "NOTIFIED",
        "DELIVERED",
        "FAILED",
        "SUPPRESSED",
        "FLAPS",
        "ACKED",
        "ACK p50",
        "RESOLVE p50",
        "RESOLVED UNACKED",
        "NEVER ACKED",
    ];
    let mut out = format!(
        "Alert effectiveness from {} to {}\n\n",
        cell(&v["since"]),
        cell(&v["until"])
    );
    for (title, key) in [("By alert name", "by_alert"), ("By route", "by_route")] {
        let mut rows: Vec<Vec<String>> = v[key].as_array().into_iter().flatten().map(row).collect();
        if key == "by_alert" && v["totals"].is_object() {
            rows.push(row(&v["totals"]));
        }
        out.push_str(&format!("{title}\n"));
        out.push_str(&table(&header, &rows));
        out.push('\n');
    }
    out
}

/// The body of `alerts silence add`.
pub fn silence_body(matchers: &[String], duration: &str, created_by: &str, comment: &str) -> Value {
    json!({ "matchers": matchers, "duration": duration, "created_by": created_by, "comment": comment })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_alerts_from_flags() {
        let a = SendArgs {
            severity: Some(Severity::Critical),
            name: Some("TrainingFailed".into()),
            summary: Some("OOM".into()),
            labels: vec![("model".into(), "bikes".into())],
            metric: Some("accuracy".into()),
            observed: Some(0.5),
            model: Some("bikes".into()),
            model_version: Some("3".into()),
            ..SendArgs::default()
        };
        let v = build_alerts(&a, std::io::empty()).unwrap();
        assert_eq!(v[0].severity, Severity::Critical);
        assert_eq!(&v[0].labels["model"], "bikes");
        assert_eq!(v[0].evidence.observed, Some(0.5));
        assert_eq!(v[0].source.version.as_deref(), Some("3"));
        let bad = SendArgs {
            name: Some("x".into()),
            threshold: Some(1.0),
            ..SendArgs::default()
        };
        assert!(
            build_alerts(&bad, std::io::empty())
                .unwrap_err()
                .contains("--metric")
        );
        assert!(
            build_alerts(&SendArgs::default(), std::io::empty())
                .unwrap_err()
                .contains("--name")
        );
    }

    #[test]
    fn builds_alerts_from_json() {
        let a = SendArgs {
            json: true,
            ..SendArgs::default()
        };
        let v = build_alerts(
            &a,
            &br#"[{"name":"A","severity":"warn"},{"name":"B","severity":"crit"}]"#[..],
        )
        .unwrap();
        assert_eq!(v.len(), 2);
        let e = build_alerts(&a, &br#"{"name":"A","severity":"nope"}"#[..]).unwrap_err();
        assert!(
            e.contains("$.severity") && e.contains("unknown severity"),
            "{e}"
        );
        let e = build_alerts(&a, &[0xff, 0xfe][..]).unwrap_err();
        assert!(e.contains("UTF-8"), "{e}");
        assert!(
            build_alerts(&a, &b"[]"[..])
                .unwrap_err()
                .contains("no alert")
        );
    }

    #[test]
    fn pairs() {
        assert_eq!(parse_pair("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_pair("=x").is_err());
        assert!(parse_pair("novalue").is_err());
    }
}
