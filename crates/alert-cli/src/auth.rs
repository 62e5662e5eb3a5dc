//! Bearer-token authentication with read and write scopes.
//!
//! * Tokens come from config (`[server.auth]`, usually `${ENV}`-interpolated) or the
//!   environment (`ALERTS_READ_TOKEN`, `ALERTS_WRITE_TOKEN`; comma-separated lists).
//! * A write token also grants read.
//! * Comparison is constant-time for tokens of equal length (`subtle`).
//! * Without any token, the service only listens on loopback: a non-loopback bind
//!   refuses to start ([`Auth::check_bind`]).

use std::net::SocketAddr;

use alert_core::Secret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// Environment variable with read tokens (comma-separated).
pub const ENV_READ_TOKEN: &str = "ALERTS_READ_TOKEN";
/// Environment variable with write tokens (comma-separated).
pub const ENV_WRITE_TOKEN: &str = "ALERTS_WRITE_TOKEN";

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Reading alerts, silences, history, reports.
    Read,
    /// Posting alerts and metrics, creating silences, acknowledging.
    Write,
}

/// Config section `[server.auth]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Tokens that may read.
    pub read_tokens: Vec<Secret>,
    /// Tokens that may read and write.
    pub write_tokens: Vec<Secret>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No `Authorization: Bearer` header (401).
    Missing,
    /// A token that is not known, or lacks the scope (403 / 401).
    Invalid,
    /// A read token used for a write (403).
    ReadOnly,
}

/// The token sets in force.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    read: Vec<Secret>,
    write: Vec<Secret>,
}

fn split_env(v: Option<String>) -> Vec<Secret> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .collect()
    })
    .unwrap_or_default()
}

fn matches(list: &[Secret], token: &str) -> bool {
    // Check every entry so timing does not reveal which one matched.
    list.iter().fold(false, |found, s| {
        let eq: bool = s.expose().as_bytes().ct_eq(token.as_bytes()).into();
        found | eq
    })
}

impl Auth {
    /// Tokens from config plus the environment (`lookup` reads a variable).
    pub fn new(config: &AuthConfig, lookup: impl Fn(&str) -> Option<String>) -> Auth {
        let mut read: Vec<Secret> = config
            .read_tokens
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect();
        let mut write: Vec<Secret> = config
            .write_tokens
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect();
        read.extend(split_env(lookup(ENV_READ_TOKEN)));
        write.extend(split_env(lookup(ENV_WRITE_TOKEN)));
        Auth { read, write }
    }

    /// Whether any token is configured (otherwise every request is allowed, and only
    /// loopback binds are).
    pub fn enabled(&self) -> bool {
        !self.read.is_empty() || !self.write.is_empty()
    }

    /// Checks an `Authorization` header value for `scope`.
    pub fn check(&self, header: Option<&str>, scope: Scope) -> Result<(), Denied> {
        if !self.enabled() {
            return Ok(());
        }
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(Denied::Missing)?;
        let writer = matches(&self.write, token);
        let reader = matches(&self.read, token);
        match scope {
            Scope::Write if writer => Ok(()),
            Scope::Write if reader => Err(Denied::ReadOnly),
            Scope::Read if writer || reader => Ok(()),
            _ => Err(Denied::Invalid),
        }
    }

    /// Refuses a non-loopback listen address when no token is configured.
    pub fn check_bind(&self, addr: SocketAddr) -> Result<(), String> {
        if self.enabled() || addr.ip().is_loopback() {
            Ok(())
        } else {
            Err(format!(
                "refusing to listen on {addr} without authentication: set [server.auth] tokens \
                 (or {ENV_WRITE_TOKEN}/{ENV_READ_TOKEN}), or listen on 127.0.0.1"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        let cfg = AuthConfig {
            read_tokens: vec![Secret::new("r-token")],
            write_tokens: vec![Secret::new("w-token"), Secret::new("")],
        };
        Auth::new(&cfg, |k| {
            (k == ENV_WRITE_TOKEN).then(|| " w2 , ,w3".to_owned())
        })
    }

    #[test]
    fn scopes() {
        let a = auth();
        assert!(a.enabled());
        assert_eq!(a.check(Some("Bearer r-token"), Scope::Read), Ok(()));
        assert_eq!(
            a.check(Some("Bearer r-token"), Scope::Write),
            Err(Denied::ReadOnly)
        );
        assert_eq!(a.check(Some("Bearer w-token"), Scope::Write), Ok(()));
        assert_eq!(a.check(Some("Bearer w3"), Scope::Read), Ok(()));
        assert_eq!(
            a.check(Some("Bearer nope"), Scope::Read),
            Err(Denied::Invalid)
        );
        assert_eq!(a.check(Some("Bearer "), Scope::Read), Err(Denied::Invalid));
        assert_eq!(
            a.check(Some("Basic abc"), Scope::Read),
            Err(Denied::Missing)
        );
        assert_eq!(a.check(None, Scope::Read), Err(Denied::Missing));
    }

    #[test]
    fn binds() {
        let open = Auth::new(&AuthConfig::default(), |_| None);
        assert!(!open.enabled());
        assert_eq!(open.check(None, Scope::Write), Ok(()));
        assert!(open.check_bind("127.0.0.1:9095".parse().unwrap()).is_ok());
        assert!(open.check_bind("[::1]:9095".parse().unwrap()).is_ok());
        let e = open
            .check_bind("0.0.0.0:9095".parse().unwrap())
            .unwrap_err();
        assert!(e.contains("refusing to listen on 0.0.0.0:9095"), "{e}");
        assert!(auth().check_bind("0.0.0.0:9095".parse().unwrap()).is_ok());
    }
}
