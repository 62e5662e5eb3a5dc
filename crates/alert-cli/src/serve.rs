//! `alerts serve`: the router, durable state, conditions and the HTTP API.
//!
//! # Shutdown
//!
//! On SIGTERM or SIGINT ([`Running::run_until`]):
//!
//! 1. `/readyz` answers 503 `shutting down`. The listener still accepts and every
//!    endpoint still answers, for `[server] shutdown_delay` (default `0s`), so a load
//!    balancer or Kubernetes sees the instance is going and stops sending to it. A
//!    second signal ends this wait at once.
//! 2. The listener closes: new connections are refused, idle keep-alive connections
//!    are closed, requests in progress finish (their answers close the connection).
//! 3. `[server] shutdown_grace` (default `10s`) starts: it bounds what follows
//!    together. Requests still in progress get the time they need within it
//!    (connections still open when it ends are dropped unanswered, so their senders
//!    retry); then the router sends every pending group and deliveries get what is
//!    left of the grace. A notification not delivered by then stays in the SQLite
//!    outbox and is sent after the next start.
//! 4. The process exits with status 0.
//!
//! # Delivery
//!
//! `[delivery]` sets the outbox's retry policy (`retry_for`, `max_backoff`), the
//! timeout of each attempt, the attempts in flight per channel
//! (`lane_concurrency`) and how many waiting notifications stay in memory
//! (`memory_limit`); [`crate::delivery`] says how they reach the router.
//!
//! # Slow clients
//!
//! A request's head must arrive within `[server] request_timeout` (default `30s`),
//! and an idle keep-alive connection is closed after it; a request's body must
//! arrive within it again (else 408). A client that trickles bytes (slowloris) holds
//! a connection no longer than that.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alert_conditions::rules::RuleSet;
use alert_router::store::{MemoryStore, SqliteStore, Store};
use alert_router::{Router, RouterError};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;

use crate::api::{self, AppState};
use crate::auth::{Auth, ENV_WRITE_TOKEN};
use crate::config::{Backend, ServiceConfig};
use crate::metrics::{MeteredStore, Metrics};

/// Command-line overrides of the config.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

/// Default retention of delivered notifications and history.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// Why the service did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError {
    /// Whether the configuration is at fault (a channel that does not build, a rule
    /// that is inconsistent, a public address without tokens): `alerts serve` then
    /// exits with status 2, as for a config that does not parse. Otherwise the
    /// environment is (the port is taken, the data directory cannot be written, the
    /// database cannot be opened): status 1.
    pub config: bool,
    /// What went wrong, located in the config file when it is about a key.
    pub message: String,
}

impl StartError {
    fn config(message: impl Into<String>) -> StartError {
        StartError {
            config: true,
            message: message.into(),
        }
    }
    fn runtime(message: impl Into<String>) -> StartError {
        StartError {
            config: false,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StartError {}

impl From<StartError> for String {
    fn from(e: StartError) -> String {
        e.message
    }
}

/// A running service (for tests and the binary).
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The router.
    pub router: Arc<Router>,
    /// Where state lives (`None`: memory).
    pub database: Option<PathBuf>,
    state: Arc<AppState>,
    server: tokio::task::JoinHandle<()>,
    ticker: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
    grace: Duration,
    delay: Duration,
}

/// Whether a desktop notification server answers on the session bus (for the
/// embedded default), within half a second.
pub async fn desktop_available() -> bool {
    let Ok(n) = alert_router::desktop::DesktopNotifier::new(
        alert_router::desktop::DesktopConfig::new("alerts"),
    ) else {
        return false;
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(500), n.server_information()).await,
        Ok(Ok(_))
    )
}

/// Resolves once `stop` is set (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Accepts connections until `stop` is set, serving each with HTTP/1.1 (keep-alive,
/// a `header_timeout` on every request head and on idle connections); then closes
/// the listener, asks every connection to finish, and waits for them at most
/// `grace`, after which what is left is dropped. Returns when every connection is
/// gone.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_timeout: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut conns = tokio::task::JoinSet::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, do not spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                conns.spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            // Reap finished connections as they go.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            () = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(grace, async {
        graceful.shutdown().await;
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = conns.len(),
            "requests still running when shutdown_grace ended: dropping their connections"
        );
        conns.shutdown().await;
    }
}

/// Builds everything and starts listening.
pub async fn start(
    cfg: ServiceConfig,
    opts: ServeOptions,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Running, StartError> {
    let auth = Auth::new(&cfg.server.auth, &lookup);
    let addr = opts.listen.unwrap_or(cfg.server.listen);
    auth.check_bind(addr).map_err(StartError::config)?;
    // The templates `alerts check` renders: a config it refuses does not start.
    let (_, errors) = cfg.render_templates();
    if !errors.is_empty() {
        let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(StartError::config(all.join("\n")));
    }
    let metrics = Arc::new(Metrics::new());
    let (store, database): (Arc<dyn Store>, Option<PathBuf>) = match cfg.storage.backend {
        Backend::Memory => (Arc::new(MemoryStore::new()), None),
        Backend::Sqlite => {
            let dir = cfg.data_dir(opts.data_dir.as_deref(), &lookup);
            std::fs::create_dir_all(&dir).map_err(|e| {
                StartError::runtime(format!(
                    "cannot create the data directory {}: {e}",
                    dir.display()
                ))
            })?;
            let db = dir.join("alerts.db");
            let s = SqliteStore::open(&db)
                .map_err(|e| StartError::runtime(format!("cannot open {}: {e}", db.display())))?;
            (Arc::new(s), Some(db))
        }
    };
    let store: Arc<dyn Store> = Arc::new(MeteredStore::new(store, metrics.clone()));
    let rules = RuleSet::from_specs(cfg.rules.clone())
        .map_err(|e| StartError::config(cfg.rules_error(&e)))?;
    let router = Router::builder()
        .config(cfg.router.clone())
        .store(store)
        .retention(cfg.retention())
        .delivery(crate::delivery::configure(&cfg.delivery))
        .build()
        .await
        .map_err(|e| {
            let message = format!("cannot start the router: {}", cfg.router_error(&e));
            match e {
                RouterError::Build(_) | RouterError::Invalid { .. } => StartError::config(message),
                _ => StartError::runtime(message),
            }
        })?;
    let router = Arc::new(router);
    metrics.watch(&router);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StartError::runtime(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::runtime(e.to_string()))?;
    let state = Arc::new(AppState {
        router: router.clone(),
        rules: tokio::sync::Mutex::new(rules),
        auth,
        limits: cfg.server.limits.clone(),
        metrics,
        ready: AtomicBool::new(true),
        started: router.now(),
        request_timeout: cfg.server.request_timeout,
        resolve_timeout: cfg
            .router
            .resolve_timeout
            .unwrap_or(alert_router::DEFAULT_RESOLVE_TIMEOUT),
    });
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let app = api::app(state.clone());
    let grace = cfg.server.shutdown_grace;
    let server = tokio::spawn(accept_loop(
        listener,
        app,
        cfg.server.request_timeout,
        stop.subscribe(),
        grace,
    ));
    // Threshold rules need a clock for `for`, `keep_firing_for` and no-data.
    let tick_state = state.clone();
    let ticker = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            let now = tick_state.router.now();
            let alerts = tick_state.rules.lock().await.tick(now);
            if !alerts.is_empty()
                && let Err(e) = tick_state.router.send_batch(alerts).await
            {
                tracing::error!(error = %e, "could not route alerts from threshold rules");
            }
        }
    });
    Ok(Running {
        addr,
        router,
        database,
        state,
        server,
        ticker,
        stop,
        grace,
        delay: cfg.server.shutdown_delay,
    })
}

impl Running {
    /// Whether tokens are configured (the API then needs one).
    pub fn auth_enabled(&self) -> bool {
        self.state.auth.enabled()
    }

    /// Steps 2 to 4 of the [shutdown](self#shutdown) at once: `/readyz` answers
    /// 503, the listener closes, in-flight requests and then deliveries get
    /// `shutdown_grace` together; what is left stays in the outbox for next time.
    pub async fn shutdown(self) {
        self.state.ready.store(false, Ordering::SeqCst);
        let started = tokio::time::Instant::now();
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.ticker.await;
        let left = self.grace.saturating_sub(started.elapsed());
        tracing::info!(
            grace_left_ms = left.as_millis() as u64,
            "listener closed, requests done; sending what is pending"
        );
        self.router.shutdown(left).await;
    }

    /// Serves until `signal()` completes, then shuts down as documented in
    /// [Shutdown](self#shutdown): `/readyz` answers 503 at once, the service keeps
    /// serving for `shutdown_delay` or until `signal()` completes again, then
    /// [`shutdown`](Running::shutdown).
    pub async fn run_until<F: Future<Output = ()>>(self, signal: impl Fn() -> F) {
        signal().await;
        self.state.ready.store(false, Ordering::SeqCst);
        if self.delay.is_zero() {
            tracing::info!("shutting down");
        } else {
            tracing::info!(
                delay_ms = self.delay.as_millis() as u64,
                "shutting down: /readyz answers 503; still serving for shutdown_delay (a second signal ends the wait)"
            );
            tokio::select! {
                _ = tokio::time::sleep(self.delay) => {}
                _ = signal() => tracing::info!("second signal: closing the listener now"),
            }
        }
        self.shutdown().await;
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// What `alerts serve` prints once listening: where, with what, and how to send a
/// first alert with `alerts send` or `curl` (saying where the token comes from
/// when tokens are configured; never the token itself).
pub fn banner(r: &Running, config: Option<&std::path::Path>) -> String {
    let url = format!("http://{}", r.addr);
    let state = match &r.database {
        Some(p) => format!("SQLite at {}", p.display()),
        None => "in memory (lost on exit)".to_owned(),
    };
    let receivers: Vec<String> = r
        .router
        .receivers()
        .into_iter()
        .map(|(n, c)| format!("{n} ({})", c.join(", ")))
        .collect();
    // `alerts send` finds the default address by itself; any other needs --server.
    let server = if r.addr.to_string() == crate::config::DEFAULT_LISTEN {
        String::new()
    } else {
        format!("--server {url} ")
    };
    let (intro, auth_header) = if r.auth_enabled() {
        (
            format!(
                "Send a first alert from another terminal, with a write token in {ENV_WRITE_TOKEN}\n\
                 (the service needs one: tokens are configured):"
            ),
            format!(" \\\n    -H \"Authorization: Bearer ${ENV_WRITE_TOKEN}\""),
        )
    } else {
        (
            "Send a first alert from another terminal:".to_owned(),
            String::new(),
        )
    };
    format!(
        "alerts serve: listening on {url}\n  config:    {}\n  state:     {state}\n  receivers: {}\n\n\
         {intro}\n  \
         alerts send {server}--severity warning --name FirstAlert --summary \"Hello from alerts\"\n  \
         curl -X POST {url}/api/v1/alerts -H 'content-type: application/json'{auth_header} \\\n    \
         -d '{{\"name\":\"FirstAlert\",\"severity\":\"warning\",\"summary\":\"Hello from alerts\"}}'\n\n\
         Prometheus can use it as its Alertmanager: alerting.alertmanagers.static_configs.targets = [\"{}\"]\n",
        config.map_or_else(
            || "embedded default (no config file)".to_owned(),
            |p| p.display().to_string()
        ),
        receivers.join("; "),
        r.addr,
    )
}
