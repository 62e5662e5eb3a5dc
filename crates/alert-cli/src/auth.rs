//! Bearer-token authentication with read and write scopes.
//!
//! * Tokens come from config (`[server.auth]`, usually `${ENV}`-interpolated) or the
//!   environment (`ALERTS_READ_TOKEN`, `ALERTS_WRITE_TOKEN`; comma-separated lists).
//! * A write token also grants read.
//! * Comparison is constant-time whatever the lengths: both the configured tokens
//!   and the presented one are hashed with SHA-256 first, and the fixed-length
//!   digests are compared with `subtle` (whose `ct_eq` on byte slices returns early
//!   when the lengths differ, which would leak a token's length). Every configured
//!   token is compared, so timing does not reveal which one matched either.
//! * Without any token, the service only listens on loopback: a non-loopback bind
//!   refuses to start ([`Auth::check_bind`]).

use std::net::SocketAddr;

use alert_core::Secret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
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

/// The SHA-256 digest of a token: what is kept and compared.
#[derive(Clone, Copy, PartialEq, Eq)]
struct TokenDigest([u8; 32]);

impl TokenDigest {
    fn of(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("**REDACTED**")
    }
}

/// The token sets in force (kept as digests only).
#[derive(Debug, Clone, Default)]
pub struct Auth {
    read: Vec<TokenDigest>,
    write: Vec<TokenDigest>,
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

/// Whether `token` is in `list`: its digest against every entry's, each comparison
/// of 32 bytes in constant time, every entry checked.
fn matches(list: &[TokenDigest], token: &str) -> bool {
    let presented = TokenDigest::of(token);
    list.iter()
        .fold(subtle::Choice::from(0), |found, d| {
            found | d.0.ct_eq(&presented.0)
        })
        .into()
}

impl Auth {
    /// Tokens from config plus the environment (`lookup` reads a variable).
    pub fn new(config: &AuthConfig, lookup: impl Fn(&str) -> Option<String>) -> Auth {
        let digests = |configured: &[Secret], env: Vec<Secret>| -> Vec<TokenDigest> {
            configured
                .iter()
                .chain(env.iter())
                .filter(|s| !s.is_empty())
                .map(|s| TokenDigest::of(s.expose()))
                .collect()
        };
        Auth {
            read: digests(&config.read_tokens, split_env(lookup(ENV_READ_TOKEN))),
            write: digests(&config.write_tokens, split_env(lookup(ENV_WRITE_TOKEN))),
        }
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
    fn wrong_tokens_of_any_length_are_refused() {
        let a = auth();
        // Same length as `w-token` and `r-token`, one byte off; a prefix; a longer
        // token that starts with a real one; a much longer one; the empty token.
        for wrong in [
            "w-tokem",
            "x-token",
            "r-tokeN",
            "w-toke",
            "w",
            "w-token2",
            &"w".repeat(4096),
            "",
        ] {
            let header = format!("Bearer {wrong}");
            assert_eq!(
                a.check(Some(&header), Scope::Read),
                Err(Denied::Invalid),
                "{wrong:?} must be refused"
            );
            assert_eq!(
                a.check(Some(&header), Scope::Write),
                Err(Denied::Invalid),
                "{wrong:?} must be refused"
            );
        }
        // The real ones still work, with their scopes.
        assert_eq!(a.check(Some("Bearer w2"), Scope::Write), Ok(()));
        assert_eq!(
            a.check(Some("Bearer r-token"), Scope::Write),
            Err(Denied::ReadOnly)
        );
    }

    #[test]
    fn digests_are_compared_and_never_printed() {
        let list = [
            TokenDigest::of("abc"),
            TokenDigest::of("a-much-longer-token"),
        ];
        assert!(matches(&list, "abc"));
        assert!(matches(&list, "a-much-longer-token"));
        assert!(!matches(&list, "ab"));
        assert!(!matches(&list, "abcd"));
        assert!(!matches(&[], "abc"));
        let shown = format!("{:?}", auth());
        assert!(
            !shown.contains("w-token") && !shown.contains("r-token"),
            "{shown}"
        );
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
