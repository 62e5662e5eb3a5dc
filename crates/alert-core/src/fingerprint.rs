//! [`Fingerprint`]: the stable identity of an alert.
//!
//! # Definition (stable across processes, platforms and releases)
//!
//! The fingerprint of an alert is the 64-bit FNV-1a hash of its *identity label set*:
//! the alert's [`labels`](crate::Alert::labels) plus `alertname` set to the alert's
//! [`name`](crate::Alert::name) (a label called `alertname` in `labels` is ignored;
//! the name wins). The labels are taken in ascending byte order of their names, and
//! for each one the hash is fed the name's UTF-8 bytes, the byte `0xFF`, the value's
//! UTF-8 bytes and the byte `0xFF`. An empty label set hashes to the FNV offset basis.
//! The fingerprint is written as 16 lower-case hexadecimal digits.
//!
//! This is exactly Prometheus' `model.LabelSet.Fingerprint()`, so an alert that
//! arrives from Prometheus or Alertmanager keeps the fingerprint those systems show.
//! Summary, message, annotations, evidence, source, severity and times are *not* part
//! of the identity: a metric value changing from 0.81 to 0.79 is the same alert.
//!
//! Changing this definition is a breaking change of `alert-core`: stored
//! notification logs, silences and dedup state are keyed by it. Tests pin known values.

use std::fmt;
use std::str::FromStr;

const OFFSET64: u64 = 14_695_981_039_346_656_037;
const PRIME64: u64 = 1_099_511_628_211;
const SEPARATOR: u8 = 0xFF;

/// FNV-1a over `name 0xFF value 0xFF` of each label, in the order given.
struct Hasher(u64);

impl Hasher {
    fn new() -> Hasher {
        Hasher(OFFSET64)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(PRIME64);
        }
    }

    fn label(&mut self, name: &str, value: &str) {
        self.bytes(name.as_bytes());
        self.bytes(&[SEPARATOR]);
        self.bytes(value.as_bytes());
        self.bytes(&[SEPARATOR]);
    }
}

/// The stable 64-bit identity of an alert; see the [module docs](self) for the definition.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(u64);

impl Fingerprint {
    /// Wraps a raw fingerprint value.
    pub const fn from_u64(v: u64) -> Fingerprint {
        Fingerprint(v)
    }

    /// The raw value.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Computes the fingerprint of a label set given as `(name, value)` pairs in
    /// ascending order of name. Callers with an unsorted set must sort it first.
    pub fn of_sorted_labels<'a>(
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Fingerprint {
        let mut h = Hasher::new();
        for (k, v) in labels {
            h.label(k, v);
        }
        Fingerprint(h.0)
    }

    /// Computes the fingerprint of an alert name and its labels (the identity label set).
    pub fn of<'a, I>(name: &'a str, labels: I) -> Fingerprint
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        Fingerprint::of_sorted_labels(identity_labels(name, labels))
    }
}

/// The identity label set of an alert named `name` with `labels` (in ascending
/// order of name, as a `LabelMap` iterates): the labels, with `alertname` set to
/// `name` in its place, a label called `alertname` in `labels` left out. What the
/// fingerprint hashes, and what anything grouping "by every label" should list.
pub fn identity_labels<'a, I>(name: &'a str, labels: I) -> IdentityLabels<'a, I::IntoIter>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    IdentityLabels {
        name: Some(name),
        labels: labels.into_iter().peekable(),
    }
}

/// The iterator of [`identity_labels`]: merges `alertname` in without collecting
/// the set.
#[derive(Debug, Clone)]
pub struct IdentityLabels<'a, I: Iterator<Item = (&'a str, &'a str)>> {
    /// The name, until it is given.
    name: Option<&'a str>,
    labels: std::iter::Peekable<I>,
}

impl<'a, I: Iterator<Item = (&'a str, &'a str)>> Iterator for IdentityLabels<'a, I> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        loop {
            match self.labels.peek() {
                Some(&("alertname", _)) => {
                    self.labels.next();
                }
                Some(&(k, _)) if self.name.is_some() && k > "alertname" => {
                    return self.name.take().map(|n| ("alertname", n));
                }
                Some(_) => return self.labels.next(),
                None => return self.name.take().map(|n| ("alertname", n)),
            }
        }
    }
}

impl Fingerprint {
    /// The 16 lowercase hexadecimal digits ([`Display`](fmt::Display)'s), written
    /// into `buf`: every stored alert, event and log entry carries one.
    fn hex(self, buf: &mut [u8; 16]) -> &str {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in buf.iter_mut().enumerate() {
            *b = DIGITS[((self.0 >> (60 - 4 * i)) & 0xf) as usize];
        }
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hex(&mut [0u8; 16]))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({:016x})", self.0)
    }
}

/// The error returned for text that is not 16 hexadecimal digits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid fingerprint {0:?}: expected 16 hexadecimal digits")]
pub struct ParseFingerprintError(String);

impl FromStr for Fingerprint {
    type Err = ParseFingerprintError;
    fn from_str(s: &str) -> Result<Fingerprint, ParseFingerprintError> {
        if s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            u64::from_str_radix(s, 16)
                .map(Fingerprint)
                .map_err(|_| ParseFingerprintError(s.to_owned()))
        } else {
            Err(ParseFingerprintError(s.chars().take(40).collect()))
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.hex(&mut [0u8; 16]))
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `alertname` takes its place in the order, before, between or after the
    /// labels, and a literal one is left out wherever it stands.
    #[test]
    fn the_identity_set_has_the_name_in_its_place_once() {
        let set = |labels: &[(&'static str, &'static str)]| {
            identity_labels("Name", labels.iter().copied()).collect::<Vec<_>>()
        };
        assert_eq!(set(&[]), [("alertname", "Name")]);
        assert_eq!(
            set(&[("a", "1"), ("z", "2")]),
            [("a", "1"), ("alertname", "Name"), ("z", "2")]
        );
        assert_eq!(set(&[("A", "1")]), [("A", "1"), ("alertname", "Name")]);
        assert_eq!(set(&[("b", "1")]), [("alertname", "Name"), ("b", "1")]);
        assert_eq!(
            set(&[("a", "1"), ("alertname", "Stale"), ("b", "2")]),
            [("a", "1"), ("alertname", "Name"), ("b", "2")]
        );
        assert_eq!(set(&[("alertname", "Stale")]), [("alertname", "Name")]);
        assert_eq!(
            Fingerprint::of("Name", [("alertname", "Stale"), ("b", "2")]),
            Fingerprint::of_sorted_labels([("alertname", "Name"), ("b", "2")])
        );
    }

    /// Display and serde write exactly `format!("{:016x}")`, which parses back.
    #[test]
    fn the_text_is_sixteen_lowercase_hex_digits() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let edges = [0, 1, 0xf, 0x0123_4567_89ab_cdef, u64::MAX, 1 << 63];
        for i in 0..10_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let v = edges.get(i).copied().unwrap_or(x >> (i % 64));
            let fp = Fingerprint(v);
            let text = fp.to_string();
            assert_eq!(text, format!("{v:016x}"));
            assert_eq!(text.parse::<Fingerprint>().unwrap(), fp);
            #[cfg(feature = "serde")]
            assert_eq!(serde_json::to_string(&fp).unwrap(), format!("\"{v:016x}\""));
        }
    }
}
