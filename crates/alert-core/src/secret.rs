//! [`Secret`]: a string that never prints itself.

use std::fmt;

/// The text printed in place of a secret.
pub const REDACTED: &str = "**REDACTED**";

/// A webhook URL, token or API key.
///
/// `Debug` and `Display` print [`REDACTED`], so a secret cannot leak through a log
/// line, an error message or a `{:?}` of a config struct. The value is read only
/// through [`Secret::expose`], which makes every use easy to find in review.
///
/// With the `serde` feature it deserialises from a plain string (config files) and
/// **serialises as [`REDACTED`]**, so a config echoed by an API never carries the
/// value. Equality compares the values, in constant time for equal lengths.
///
/// ```
/// use alert_core::Secret;
/// let url = Secret::new("https://hooks.slack.com/services/T0/B0/XXXX");
/// assert_eq!(format!("{url:?}"), "Secret(**REDACTED**)");
/// assert_eq!(url.to_string(), "**REDACTED**");
/// assert!(url.expose().starts_with("https://hooks.slack.com/"));
/// ```
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value. Use it only to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string (an unset value).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Replaces every occurrence of this secret in `text` with [`REDACTED`].
    ///
    /// For error texts that quote a request or a URL the secret was part of.
    /// Secrets shorter than four characters are left alone: replacing them would
    /// mangle ordinary words without protecting anything.
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            text.to_owned()
        } else {
            text.replace(&self.0, REDACTED)
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for Secret {}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("xoxb-1234-secret");
        assert!(!format!("{s:?}").contains("xoxb"));
        assert!(!format!("{s}").contains("xoxb"));
        assert!(!format!("{:#?}", Some(&s)).contains("xoxb"));
        assert_eq!(s.expose(), "xoxb-1234-secret");
    }

    #[test]
    fn scrub_removes_every_occurrence() {
        let s = Secret::new("abcd1234");
        assert_eq!(
            s.scrub("GET /x/abcd1234?k=abcd1234 failed"),
            "GET /x/**REDACTED**?k=**REDACTED** failed"
        );
        assert_eq!(Secret::new("ab").scrub("a b ab"), "a b ab");
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(Secret::new("a"), Secret::new("a"));
        assert_ne!(Secret::new("a"), Secret::new("b"));
        assert_ne!(Secret::new("a"), Secret::new("ab"));
        assert!(Secret::new("  ").is_empty());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_reads_plain_strings_and_writes_redacted() {
        let s: Secret = serde_json::from_str("\"token-value\"").unwrap();
        assert_eq!(s.expose(), "token-value");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"**REDACTED**\"");
    }
}
