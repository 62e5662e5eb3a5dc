//! Test support for ml-alerts channels: test doubles, an edge-case alert corpus, a
//! conformance suite and fake servers.
//!
//! # Usage
//!
//! In a channel crate's `tests/`:
//!
//! ```no_run
//! use alert_testkit::conformance::{assert_conformance, Fault, Harness};
//! # struct MyHarness;
//! # #[alert_core::async_trait]
//! # impl Harness for MyHarness {
//! #   fn notifier(&self) -> &dyn alert_core::Notifier { unimplemented!() }
//! #   fn secrets(&self) -> Vec<String> { vec![] }
//! #   async fn check_payloads(&self) -> Vec<String> { vec!["nothing was sent".into()] }
//! #   async fn inject(&self, _: Fault) -> bool { false }
//! # }
//! # async fn t() {
//! let harness = MyHarness; // your notifier pointed at your fake server
//! assert_conformance(&harness).await;
//! # }
//! ```
//!
//! A fault your fake cannot produce fails the suite unless you declare it, with the
//! reason, through [`conformance::Suite::skip`].
//!
//! * [`MemoryNotifier`], [`ScriptedNotifier`], [`NoopNotifier`]: doubles for router
//!   and layer tests.
//! * [`corpus`]: alerts every channel must survive (huge, multi-byte, hostile).
//! * [`conformance`]: the suite every channel runs with one call.
//! * [`fake`]: loopback HTTP fakes (feature `fake`).
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `fake` | yes | [`fake::FakeServer`], [`fake::Recorder`], [`fake::FakeWebhook`] (axum on 127.0.0.1), connection drops ([`fake::Reply::reset`]) |
//!
//! # Limitations
//!
//! The fakes speak HTTP/1.1 without TLS; channels must let tests set a base URL.
//!
//! # Supported Rust versions
//!
//! The workspace's `rust-version` (1.89).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod conformance;
pub mod corpus;
mod doubles;
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;

pub use doubles::{Call, MemoryNotifier, NoopNotifier, ScriptedNotifier, Step};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
