//! End-to-end tests of the `alerts` binary: each test starts the real binary on a
//! random loopback port with a config pointing at local fakes, and asserts what the
//! fakes receive.

// Tests report what they measured (duplicates after a crash) and why they skip.
#![allow(clippy::print_stdout)]

mod am_read;
mod auth;
mod check;
mod cli;
mod dead_letters;
mod delivery;
mod docs;
mod durability;
mod harness;
mod ingest;
mod input;
mod prometheus;
mod serve;
mod templates;
