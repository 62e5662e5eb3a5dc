//! `alerts`: see `alerts --help` and the `alert_cli` library docs.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use alert_cli::commands::{self, EXIT_BAD_INPUT, EXIT_FAILED, Remote, SendArgs, parse_pair};
use alert_cli::config::{LogFormat, ServiceConfig};
use alert_cli::serve::{self, ServeOptions};
use alert_core::Severity;
use clap::{Args, Parser, Subcommand};
use reqwest::Method;

/// What every command's exit status means (shown after `--help`).
const EXIT_CODES: &str = "\
Exit status:
  0  success: `send --to` and `test` delivered (every channel answered success);
     `send` to the service: the service accepted the alert (stored durably and
     routed; delivery happens after, see `alerts history`); `check`: valid
  1  failure at run time: a delivery failed, the service is unreachable or
     answered 5xx/401/403, `serve` cannot listen or open its database
  2  bad input: usage, unreadable alert JSON, an unknown receiver, another 4xx
     from the service, and any config error, from every command";

/// Alerting for machine-learning systems.
#[derive(Debug, Parser)]
#[command(name = "alerts", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the alerting service (HTTP API, router, durable state, conditions).
    Serve {
        /// Config file (default: $ALERTS_CONFIG, else ~/.config/alerts/config.toml if
        /// present, else the embedded default).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Listen address (overrides `server.listen` in the config).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Data directory for the SQLite state (overrides `storage.path` in the config).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Send an alert: to the running service (exit 0 once it is accepted), or
    /// directly to receivers with --to (exit 0 once delivered).
    #[command(after_help = EXIT_CODES)]
    Send(Box<SendCmd>),
    /// Validate a config file: syntax, keys, routes, receivers, channels, rules, and
    /// every template rendered against sample alerts. Sends nothing.
    #[command(after_help = EXIT_CODES)]
    Check {
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Send a test alert through one receiver and print each channel's receipt.
    Test {
        /// The receiver (or a channel type configured from the environment).
        receiver: String,
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Create, list and expire silences on the service.
    Silence {
        #[command(subcommand)]
        action: SilenceCmd,
    },
    /// Acknowledge an alert by fingerprint: stops its escalation and repeats.
    Ack {
        /// The alert's fingerprint (16 hex digits, see `GET /api/v1/alerts`).
        fingerprint: String,
        /// Who acknowledges.
        #[arg(long, default_value_t = whoami())]
        by: String,
        /// Why, or what is being done.
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Delivery history: every attempt, with receipts and errors.
    History {
        /// Only this fingerprint.
        #[arg(long)]
        fingerprint: Option<String>,
        /// Only this receiver.
        #[arg(long)]
        receiver: Option<String>,
        /// Only this outcome: delivered, failed, gave_up (kept as a dead letter),
        /// fell_back (handed to the receiver's fallback).
        #[arg(long)]
        outcome: Option<String>,
        /// Since (RFC 3339 or a duration ago, e.g. 24h).
        #[arg(long)]
        since: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Dead letters: notifications given up (a permanent error, or `[delivery]
    /// retry_for` of retries, 24 h by default) by a receiver without a fallback;
    /// `alerts redeliver ID` queues one again.
    DeadLetters {
        /// Only this receiver.
        #[arg(long)]
        receiver: Option<String>,
        /// Given up since (RFC 3339 or a duration ago, e.g. 24h).
        #[arg(long)]
        since: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Queue a dead letter for delivery again, with a fresh retry budget (after
    /// fixing what made it fail).
    Redeliver {
        /// The dead letter's id (see `alerts dead-letters`).
        id: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// The alert-effectiveness report: which alerts were worth having.
    Report {
        /// Period start (RFC 3339 or a duration ago; default 7d).
        #[arg(long, default_value = "7d")]
        since: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

#[derive(Debug, Args)]
struct RemoteArgs {
    /// Service URL (default $ALERTS_SERVER or http://127.0.0.1:9095).
    #[arg(long)]
    server: Option<String>,
    /// Bearer token. Other users of the machine can read it with `ps` while the
    /// command runs, and shell history keeps it: prefer $ALERTS_WRITE_TOKEN /
    /// $ALERTS_READ_TOKEN (the default) or --token-file.
    #[arg(long, conflicts_with = "token_file")]
    token: Option<String>,
    /// Read the bearer token from this file (surrounding white space ignored).
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl RemoteArgs {
    /// The client settings; `Err` (printed, exit 2) when --token-file cannot be read.
    fn remote(self) -> Result<Remote, u8> {
        Ok(Remote {
            server: self.server,
            token: token_arg(self.token, self.token_file.as_deref())?,
            json: self.json,
        })
    }
}

/// `--token`, else the content of `--token-file`; prints why and gives exit code 2
/// when the file cannot be read or is empty.
fn token_arg(token: Option<String>, file: Option<&std::path::Path>) -> Result<Option<String>, u8> {
    match (token, file) {
        (Some(t), _) => Ok(Some(t)),
        (None, None) => Ok(None),
        (None, Some(p)) => match commands::read_token_file(p) {
            Ok(t) => Ok(Some(t)),
            Err(e) => {
                eprintln!("alerts: {e}");
                Err(EXIT_BAD_INPUT)
            }
        },
    }
}

/// Runs a client call with the settings of `remote`.
async fn remote_run(
    remote: RemoteArgs,
    write: bool,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    render: impl FnOnce(&serde_json::Value) -> String,
) -> u8 {
    match remote.remote() {
        Ok(r) => r.run(write, method, path, body, render).await,
        Err(code) => code,
    }
}

#[derive(Debug, Subcommand)]
enum SilenceCmd {
    /// Create a silence.
    Add {
        /// Matchers, e.g. 'model=bikes' 'severity>=error' 'alertname=~Drift.*'.
        #[arg(required = true)]
        matchers: Vec<String>,
        /// How long (e.g. 2h).
        #[arg(long, default_value = "1h")]
        duration: String,
        /// Who creates it.
        #[arg(long, default_value_t = whoami())]
        by: String,
        /// Why.
        #[arg(long, required = true)]
        comment: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// List silences.
    List {
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Expire a silence now.
    Expire {
        /// The silence id.
        id: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

#[derive(Debug, Args)]
struct SendCmd {
    /// Severity: info, warning, error, critical (and common spellings).
    #[arg(long, short, default_value = "info")]
    severity: Severity,
    /// What fired (e.g. TrainingFailed).
    #[arg(long, short, required_unless_present = "json")]
    name: Option<String>,
    /// One-line title.
    #[arg(long)]
    summary: Option<String>,
    /// Body.
    #[arg(long, short)]
    message: Option<String>,
    /// Label NAME=VALUE (repeatable).
    #[arg(long = "label", short = 'l', value_parser = parse_pair)]
    labels: Vec<(String, String)>,
    /// Annotation NAME=VALUE (repeatable).
    #[arg(long = "annotation", value_parser = parse_pair)]
    annotations: Vec<(String, String)>,
    /// Runbook link.
    #[arg(long)]
    runbook: Option<String>,
    /// Evidence: the metric observed.
    #[arg(long)]
    metric: Option<String>,
    /// Evidence: the observed value.
    #[arg(long)]
    observed: Option<f64>,
    /// Evidence: the threshold crossed.
    #[arg(long)]
    threshold: Option<f64>,
    /// Evidence: the baseline.
    #[arg(long)]
    baseline: Option<f64>,
    /// Source: model name.
    #[arg(long)]
    model: Option<String>,
    /// Source: model version.
    #[arg(long)]
    model_version: Option<String>,
    /// Source: environment.
    #[arg(long = "env")]
    environment: Option<String>,
    /// Source: job or run id.
    #[arg(long)]
    run_id: Option<String>,
    /// Send as resolved.
    #[arg(long)]
    resolved: bool,
    /// Read the alert (or an array) as JSON from standard input.
    #[arg(long, conflicts_with_all = ["name", "summary", "message", "labels", "annotations", "runbook", "metric"])]
    json: bool,
    /// Deliver directly to these receivers (from the config) or channel types
    /// (configured from the environment), instead of the service (repeatable).
    #[arg(long)]
    to: Vec<String>,
    /// Service URL (default $ALERTS_SERVER or http://127.0.0.1:9095).
    #[arg(long)]
    server: Option<String>,
    /// Bearer token. Other users of the machine can read it with `ps` while the
    /// command runs, and shell history keeps it: prefer $ALERTS_WRITE_TOKEN (the
    /// default) or --token-file.
    #[arg(long, conflicts_with = "token_file")]
    token: Option<String>,
    /// Read the bearer token from this file (surrounding white space ignored).
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// Config file for --to.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Print receipts.
    #[arg(long, short)]
    verbose: bool,
}

/// `s` as one URL path segment: bytes other than RFC 3986's unreserved characters
/// percent-encoded, so an id with `/` or `?` cannot reach another endpoint.
fn percent_encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

fn init_logging(format: LogFormat, level: &str) -> Result<(), String> {
    let level: tracing::Level = level.parse().map_err(|_| {
        format!("[log] level: expected error, warn, info, debug or trace, not {level:?}")
    })?;
    // Colours only on a terminal: log files and journald get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| e.to_string())
}

async fn serve_cmd(
    config: Option<PathBuf>,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
) -> u8 {
    let path = commands::config_path(config.as_deref());
    let cfg = match &path {
        Some(p) => match ServiceConfig::load(p, commands::env) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("alerts serve: {e}");
                return EXIT_BAD_INPUT;
            }
        },
        None => ServiceConfig::embedded(serve::desktop_available().await),
    };
    if let Err(e) = init_logging(cfg.log.format, &cfg.log.level) {
        eprintln!("alerts serve: {e}");
        return EXIT_BAD_INPUT;
    }
    let format = cfg.log.format;
    match serve::start(cfg, ServeOptions { listen, data_dir }, commands::env).await {
        Ok(running) => {
            match format {
                // JSON logs stay machine-readable: the banner is one event.
                LogFormat::Json => tracing::info!(
                    config = %path.as_deref().map_or_else(
                        || "embedded default".to_owned(),
                        |p| p.display().to_string()
                    ),
                    state = %running.database.as_deref().map_or_else(
                        || "memory".to_owned(),
                        |p| p.display().to_string()
                    ),
                    "listening on http://{}",
                    running.addr
                ),
                LogFormat::Text => eprint!("{}", serve::banner(&running, path.as_deref())),
            }
            running.run_until(serve::shutdown_signal).await;
            tracing::info!("stopped");
            0
        }
        Err(e) => {
            eprintln!("alerts serve: {e}");
            if e.config {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILED
            }
        }
    }
}

async fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
        } => serve_cmd(config, listen, data_dir).await,
        Command::Send(s) => {
            let s = *s;
            let token = match token_arg(s.token, s.token_file.as_deref()) {
                Ok(t) => t,
                Err(code) => return code,
            };
            commands::send(SendArgs {
                severity: Some(s.severity),
                name: s.name,
                summary: s.summary,
                message: s.message,
                labels: s.labels,
                annotations: s.annotations,
                runbook: s.runbook,
                metric: s.metric,
                observed: s.observed,
                threshold: s.threshold,
                baseline: s.baseline,
                model: s.model,
                model_version: s.model_version,
                environment: s.environment,
                run_id: s.run_id,
                resolved: s.resolved,
                json: s.json,
                to: s.to,
                server: s.server,
                token,
                config: s.config,
                verbose: s.verbose,
            })
            .await
        }
        Command::Check { config } => commands::check(config.as_deref()).await,
        Command::Test {
            receiver,
            config,
            remote,
        } => match remote.remote() {
            Ok(r) => commands::test(&receiver, config.as_deref(), r.server, r.token, r.json).await,
            Err(code) => code,
        },
        Command::Silence { action } => match action {
            SilenceCmd::Add {
                matchers,
                duration,
                by,
                comment,
                remote,
            } => {
                let body = commands::silence_body(&matchers, &duration, &by, &comment);
                remote_run(
                    remote,
                    true,
                    Method::POST,
                    "/api/v1/silences",
                    Some(body),
                    |v| format!("created silence {}\n", v["id"].as_str().unwrap_or("?")),
                )
                .await
            }
            SilenceCmd::List { remote } => {
                remote_run(
                    remote,
                    false,
                    Method::GET,
                    "/api/v1/silences",
                    None,
                    commands::silences_table,
                )
                .await
            }
            SilenceCmd::Expire { id, remote } => {
                remote_run(
                    remote,
                    true,
                    Method::DELETE,
                    &format!("/api/v1/silences/{id}"),
                    None,
                    |_| format!("expired silence {id}\n"),
                )
                .await
            }
        },
        Command::Ack {
            fingerprint,
            by,
            comment,
            remote,
        } => {
            let body = serde_json::json!({ "by": by, "comment": comment });
            remote_run(
                remote,
                true,
                Method::POST,
                &format!("/api/v1/alerts/{fingerprint}/ack"),
                Some(body),
                |_| format!("acknowledged {fingerprint}\n"),
            )
            .await
        }
        Command::History {
            fingerprint,
            receiver,
            outcome,
            since,
            limit,
            remote,
        } => {
            let mut q = vec![("limit".to_owned(), limit.to_string())];
            for (k, v) in [
                ("fingerprint", fingerprint),
                ("receiver", receiver),
                ("outcome", outcome),
                ("since", since),
            ] {
                if let Some(v) = v {
                    q.push((k.to_owned(), v));
                }
            }
            let path = format!(
                "/api/v1/history?{}",
                serde_urlencoded::to_string(&q).unwrap_or_default()
            );
            remote_run(
                remote,
                false,
                Method::GET,
                &path,
                None,
                commands::history_table,
            )
            .await
        }
        Command::DeadLetters {
            receiver,
            since,
            limit,
            remote,
        } => {
            let mut q = vec![("limit".to_owned(), limit.to_string())];
            for (k, v) in [("receiver", receiver), ("since", since)] {
                if let Some(v) = v {
                    q.push((k.to_owned(), v));
                }
            }
            let path = format!(
                "/api/v1/dead-letters?{}",
                serde_urlencoded::to_string(&q).unwrap_or_default()
            );
            remote_run(
                remote,
                false,
                Method::GET,
                &path,
                None,
                commands::dead_letters_table,
            )
            .await
        }
        Command::Redeliver { id, remote } => {
            let path = format!(
                "/api/v1/dead-letters/{}/redeliver",
                percent_encode_segment(&id)
            );
            remote_run(
                remote,
                true,
                Method::POST,
                &path,
                None,
                commands::redelivered_line,
            )
            .await
        }
        Command::Report { since, remote } => {
            let path = format!(
                "/api/v1/report?{}",
                serde_urlencoded::to_string([("since", since)]).unwrap_or_default()
            );
            remote_run(
                remote,
                false,
                Method::GET,
                &path,
                None,
                commands::report_table,
            )
            .await
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serve = matches!(cli.command, Command::Serve { .. });
    // A one-shot command runs on one thread: starting a pool costs more than it saves.
    let rt = if serve {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("alerts: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    ExitCode::from(rt.block_on(run(cli)))
}
