//! The `alerts` binary: one-shot `send`, the `serve` HTTP service, `check`, `test`,
//! silences, acknowledgements, history, reports and dead letters.
//!
//! This library holds the pieces of the binary so they can be tested: the config
//! file ([`config`]), the HTTP API ([`api`]), Alertmanager compatibility ([`am`]),
//! authentication ([`auth`]), input limits ([`limits`]), metrics ([`metrics`]), the
//! delivery settings ([`delivery`]), the service life cycle ([`serve`]) and the
//! subcommands ([`commands`]).
//!
//! # Usage
//!
//! ```no_run
//! # async fn run() -> Result<(), String> {
//! use alert_cli::config::ServiceConfig;
//! use alert_cli::serve::{start, ServeOptions};
//! let running = start(ServiceConfig::embedded(false), ServeOptions::default(), |_| None).await?;
//! println!("listening on {}", running.addr);
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! See `docs/api.md` for the API and `docs/configuration.md` for every config key.
//!
//! # Feature flags
//!
//! None: the binary is built with every channel (`alert-router`'s `full`) and the
//! SQLite store.
//!
//! # Limitations
//!
//! * One instance per database: several replicas sharing state need a shared store
//!   (planned; see `docs/operations.md`).
//! * Threshold rules (`[[rules]]`) are evaluated in memory: their pending `for`
//!   timers start over after a restart.
//!
//! # Supported Rust versions
//!
//! The workspace's `rust-version` (1.89).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod am;
pub mod api;
pub mod auth;
pub mod client;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod interp;
mod lex;
pub mod limits;
pub mod metrics;
pub mod redact;
pub mod serve;
pub mod templates;
