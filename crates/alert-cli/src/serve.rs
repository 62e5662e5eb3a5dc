//! `alerts serve`: the router, durable state, conditions and the HTTP API.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alert_conditions::rules::RuleSet;
use alert_router::Router;
use alert_router::store::{MemoryStore, SqliteStore, Store};

use crate::api::{self, AppState};
use crate::auth::Auth;
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
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    ticker: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
    grace: Duration,
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

/// Builds everything and starts listening.
pub async fn start(
    cfg: ServiceConfig,
    opts: ServeOptions,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Running, String> {
    let auth = Auth::new(&cfg.server.auth, &lookup);
    let addr = opts.listen.unwrap_or(cfg.server.listen);
    auth.check_bind(addr)?;
    let metrics = Arc::new(Metrics::new());
    let (store, database): (Arc<dyn Store>, Option<PathBuf>) = match cfg.storage.backend {
        Backend::Memory => (Arc::new(MemoryStore::new()), None),
        Backend::Sqlite => {
            let dir = cfg.data_dir(opts.data_dir.as_deref(), &lookup);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
            let db = dir.join("alerts.db");
            let s =
                SqliteStore::open(&db).map_err(|e| format!("cannot open {}: {e}", db.display()))?;
            (Arc::new(s), Some(db))
        }
    };
    let store: Arc<dyn Store> = Arc::new(MeteredStore::new(store, metrics.clone()));
    let rules = RuleSet::from_specs(cfg.rules.clone()).map_err(|e| cfg.rules_error(&e))?;
    let router = Router::builder()
        .config(cfg.router.clone())
        .store(store)
        .retention(cfg.retention())
        .build()
        .await
        .map_err(|e| format!("cannot start the router: {}", cfg.router_error(&e)))?;
    let router = Arc::new(router);
    metrics.watch(&router);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = Arc::new(AppState {
        router: router.clone(),
        rules: tokio::sync::Mutex::new(rules),
        auth,
        limits: cfg.server.limits.clone(),
        metrics,
        ready: AtomicBool::new(true),
        started: router.now(),
    });
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let app = api::app(state.clone());
    let mut stopped2 = stop.subscribe();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped2.wait_for(|s| *s).await;
            })
            .await
    });
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
        grace: cfg.server.shutdown_grace,
    })
}

impl Running {
    /// Stops accepting requests, lets in-flight requests finish, then gives delivery
    /// `shutdown_grace` to finish; what is left stays in the outbox for next time.
    pub async fn shutdown(self) {
        self.state.ready.store(false, Ordering::SeqCst);
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.ticker.await;
        self.router.shutdown(self.grace).await;
    }

    /// Serves until `signal` completes, then shuts down.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        tracing::info!("shutting down");
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

/// What `alerts serve` prints once listening.
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
    format!(
        "alerts serve: listening on {url}\n  config:    {}\n  state:     {state}\n  receivers: {}\n\n\
         Send a first alert from another terminal:\n  \
         alerts send {server}--severity warning --name FirstAlert --summary \"Hello from alerts\"\n  \
         curl -X POST {url}/api/v1/alerts -H 'content-type: application/json' \\\n    \
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
