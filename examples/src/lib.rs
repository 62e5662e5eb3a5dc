//! Runnable examples of the ml-alerts workspace; see `examples/`.
//!
//! This library only exists to compile the workspace README's code as a doctest.
#![doc = include_str!("../../README.md")]
