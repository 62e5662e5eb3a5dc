//! The service configuration file (TOML).
//!
//! The file is the router's configuration ([`RouterConfig`]: `route`, `receivers`,
//! `inhibit_rules`, `time_intervals`, `flap_detection`, `actions`, ...) plus the
//! service's own sections:
//!
//! | section | what |
//! |---|---|
//! | `[server]` | `listen`, `shutdown_grace`, `shutdown_delay`, `request_timeout`, `[server.auth]`, `[server.limits]` |
//! | `[storage]` | `backend` (`sqlite` or `memory`), `path`, `retention` |
//! | `[log]` | `format` (`text` or `json`), `level` |
//! | `[delivery]` | `retry_for`, `max_backoff`, `attempt_timeout`, `lane_concurrency`, `memory_limit` ([`DeliveryConfig`]) |
//! | `[[rules]]` | threshold rules fed by `POST /api/v1/metrics` (`alert_conditions::rules::ThresholdSpec`) |
//!
//! `${VAR}` is replaced by the environment variable `VAR` before parsing (see
//! [`crate::interp`]). Unknown keys are errors. Every error names the file, the line,
//! the column and the key (`config.toml:12:3: receivers[0].chanels: unknown field ...`),
//! and never shows a secret: neither an interpolated value nor one written in the
//! file (see [`crate::redact`]). Every key is documented in
//! `docs/configuration.md`, which a test keeps in sync with these types.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alert_conditions::rules::ThresholdSpec;
use alert_router::RouterConfig;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::auth::AuthConfig;
use crate::interp;
use crate::limits::Limits;
use crate::redact;

/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9095";

/// Environment variable naming the config file when `--config` is not given.
pub const ENV_CONFIG: &str = "ALERTS_CONFIG";

/// Environment variable overriding the data directory.
pub const ENV_DATA_DIR: &str = "ALERTS_DATA_DIR";

/// Environment variable with the service URL for the client commands.
pub const ENV_SERVER: &str = "ALERTS_SERVER";

fn parse_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(|e| {
        de::Error::custom(format!(
            "invalid duration {s:?}: {e} (e.g. \"10s\", \"5m\")"
        ))
    })
}

fn parse_positive_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = parse_duration(d)?;
    if v.is_zero() {
        return Err(de::Error::custom("must be greater than zero"));
    }
    Ok(v)
}

fn parse_listen<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|_| {
        de::Error::custom(format!(
            "expected an IP address and a port such as \"127.0.0.1:9095\" or \"[::1]:9095\" \
             (host names are not resolved), not {s:?}"
        ))
    })
}

/// The log levels `[log] level` accepts.
pub const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

fn parse_level<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let lower = s.to_ascii_lowercase();
    if LOG_LEVELS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(de::Error::custom(format!(
            "expected one of {}, not {s:?}",
            LOG_LEVELS.join(", ")
        )))
    }
}

fn parse_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    parse_duration(d).map(Some)
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:9095`). A non-loopback address needs
    /// auth tokens.
    #[serde(deserialize_with = "parse_listen")]
    pub listen: SocketAddr,
    /// How long shutdown waits, once the listener is closed, for requests in
    /// progress and then in-flight deliveries (default `10s`); what is not delivered
    /// by then stays in the outbox for the next start.
    #[serde(deserialize_with = "parse_duration")]
    pub shutdown_grace: Duration,
    /// How long the service keeps serving after SIGTERM/SIGINT, with `/readyz`
    /// answering 503, before the listener closes (default `0s`); a second signal
    /// ends the wait. See [`crate::serve`].
    #[serde(deserialize_with = "parse_duration")]
    pub shutdown_delay: Duration,
    /// The most a client may take to send a request's head, and then its body
    /// (408), and how long an idle keep-alive connection stays open (default
    /// `30s`).
    #[serde(deserialize_with = "parse_positive_duration")]
    pub request_timeout: Duration,
    /// Bearer tokens.
    pub auth: AuthConfig,
    /// Request limits.
    pub limits: Limits,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            shutdown_grace: Duration::from_secs(10),
            shutdown_delay: Duration::ZERO,
            request_timeout: Duration::from_secs(30),
            auth: AuthConfig::default(),
            limits: Limits::default(),
        }
    }
}

/// Where state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// SQLite in WAL mode (default): nothing is lost across restarts.
    #[default]
    Sqlite,
    /// In memory: state is lost on exit (tests, throwaway runs).
    Memory,
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `sqlite` (default) or `memory`.
    pub backend: Backend,
    /// Data directory (default: the platform's data directory + `/alerts`, e.g.
    /// `~/.local/share/alerts`; `ALERTS_DATA_DIR` or `--data-dir` override it). The
    /// database is `alerts.db` inside it.
    pub path: Option<PathBuf>,
    /// Delivered notifications, history and events older than this are pruned
    /// (default `30d`).
    #[serde(deserialize_with = "parse_opt_duration")]
    pub retention: Option<Duration>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (default).
    #[default]
    Text,
    /// JSON lines.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    pub format: LogFormat,
    /// `error`, `warn`, `info` (default), `debug` or `trace`.
    #[serde(deserialize_with = "parse_level")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// Default of `[delivery] retry_for`: 24 hours, the outbox's own default
/// ([`Outbox::default_retry`](alert_router::delivery::Outbox::default_retry)).
pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(24 * 3600);

/// Default of `[delivery] max_backoff`: 5 minutes, the outbox's own default.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Default of `[delivery] attempt_timeout`: 10 seconds, the router's own default
/// for channels built from config.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default of `[delivery] lane_concurrency`: 8, the outbox's own default.
pub const DEFAULT_LANE_CONCURRENCY: usize = alert_router::delivery::DEFAULT_LANE_CONCURRENCY;

/// The accepted range of `[delivery] retry_for`: 1 second to 30 days.
pub const RETRY_FOR_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(30 * 86_400));

/// The accepted range of `[delivery] max_backoff`: 100 ms to 1 day.
pub const MAX_BACKOFF_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(86_400));

/// The accepted range of `[delivery] attempt_timeout`: 100 ms to 10 minutes.
pub const ATTEMPT_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(600));

/// The accepted range of `[delivery] lane_concurrency`: 1 to 256.
pub const LANE_CONCURRENCY_RANGE: (usize, usize) = (1, 256);

/// Default of `[delivery] memory_limit`: the outbox's own default.
pub const DEFAULT_MEMORY_LIMIT: usize = alert_router::delivery::DEFAULT_MEMORY_LIMIT;

/// The accepted range of `[delivery] memory_limit`: 0 to 1,000,000.
pub const MEMORY_LIMIT_RANGE: (usize, usize) = (0, 1_000_000);

/// A duration within `range`, which errors show as `min` and `max` (as written in
/// the docs: `1s`, `30d`).
fn bounded_duration<'de, D: Deserializer<'de>>(
    d: D,
    range: (Duration, Duration),
    shown: (&str, &str),
) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    let out_of_range = || {
        de::Error::custom(format!(
            "must be between {} and {}, not {s:?}",
            shown.0, shown.1
        ))
    };
    if s.trim_start().starts_with('-') {
        return Err(out_of_range());
    }
    let v = humantime::parse_duration(&s).map_err(|e| {
        de::Error::custom(format!(
            "invalid duration {s:?}: {e} (e.g. \"10s\", \"5m\")"
        ))
    })?;
    if v < range.0 || v > range.1 {
        return Err(out_of_range());
    }
    Ok(v)
}

fn parse_retry_for<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    bounded_duration(d, RETRY_FOR_RANGE, ("1s", "30d"))
}

fn parse_max_backoff<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    bounded_duration(d, MAX_BACKOFF_RANGE, ("100ms", "1d"))
}

fn parse_attempt_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    bounded_duration(d, ATTEMPT_TIMEOUT_RANGE, ("100ms", "10m"))
}

/// An integer within `range` (both ends included).
fn bounded_count<'de, D: Deserializer<'de>>(
    d: D,
    (min, max): (usize, usize),
) -> Result<usize, D::Error> {
    let n = i64::deserialize(d)?;
    usize::try_from(n)
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| de::Error::custom(format!("must be between {min} and {max}, not {n}")))
}

fn parse_lane_concurrency<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    bounded_count(d, LANE_CONCURRENCY_RANGE)
}

fn parse_memory_limit<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    bounded_count(d, MEMORY_LIMIT_RANGE)
}

/// `[delivery]`: how the outbox delivers every channel of every receiver.
///
/// A notification is written to the outbox before its first attempt; a failed
/// attempt is retried, `1s` doubling to `max_backoff` between attempts (25% jitter;
/// a server's `Retry-After` honoured up to 15 minutes), until `retry_for` has passed
/// since it was queued. It then goes to the receiver's `fallback`, or is kept as a
/// dead letter. Each attempt gets `attempt_timeout`; at most `lane_concurrency`
/// attempts run at once per channel of a receiver. See [`crate::serve`] for how
/// they reach the router.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// How long a notification is retried, from when it was queued, before it goes
    /// to the receiver's fallback or becomes a dead letter (default `24h`; `1s` to
    /// `30d`). No attempt starts after it.
    #[serde(deserialize_with = "parse_retry_for")]
    pub retry_for: Duration,
    /// The longest wait between two attempts: waits start at `1s` (or this, when it
    /// is shorter) and double up to it (default `5m`; `100ms` to `1d`).
    #[serde(deserialize_with = "parse_max_backoff")]
    pub max_backoff: Duration,
    /// The most one attempt may take, after which it fails as a timeout and is
    /// retried (default `10s`; `100ms` to `10m`). A channel's own HTTP timeout (a
    /// webhook's `timeout_secs`) still applies inside it.
    #[serde(deserialize_with = "parse_attempt_timeout")]
    pub attempt_timeout: Duration,
    /// Attempts in flight at once per channel of a receiver (default `8`; `1` to
    /// `256`). After a crash, at most twice this many notifications per channel
    /// may be delivered twice (an attempt per worker, and the delivery before it
    /// whose outcome was still being written).
    #[serde(deserialize_with = "parse_lane_concurrency")]
    pub lane_concurrency: usize,
    /// The most waiting notifications kept in memory, across all channels (default
    /// `1024`; `0` to `1000000`). The others wait in the database only and are read
    /// back when their turn comes, so a long outage's backlog does not grow the
    /// service's memory.
    #[serde(deserialize_with = "parse_memory_limit")]
    pub memory_limit: usize,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            retry_for: DEFAULT_RETRY_FOR,
            max_backoff: DEFAULT_MAX_BACKOFF,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            lane_concurrency: DEFAULT_LANE_CONCURRENCY,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }
}

/// The service's own sections (everything but the router's).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Sections {
    server: ServerConfig,
    storage: StorageConfig,
    log: LogConfig,
    rules: Vec<ThresholdSpec>,
    delivery: DeliveryConfig,
}

/// Keys of [`Sections`], filtered out before the router parses the file.
const SECTION_KEYS: [&str; 5] = ["server", "storage", "log", "rules", "delivery"];

/// The whole service configuration.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[storage]`.
    pub storage: StorageConfig,
    /// `[log]`.
    pub log: LogConfig,
    /// `[[rules]]`.
    pub rules: Vec<ThresholdSpec>,
    /// `[delivery]`.
    pub delivery: DeliveryConfig,
    /// Everything else: the router.
    pub router: RouterConfig,
    /// Where it came from (`None`: the embedded default).
    pub source: Option<PathBuf>,
    /// The text as written (for locating keys in errors found after parsing).
    text: SourceText,
}

/// The config text as written, the name errors give it, and the values of its
/// secret keys (as written and after interpolation), which errors never show. Its
/// `Debug` shows only the length: a file may hold literal secrets.
#[derive(Clone, Default)]
struct SourceText {
    name: String,
    text: std::sync::Arc<str>,
    secrets: std::sync::Arc<[String]>,
}

impl SourceText {
    /// An error at `position` (line, column) of this text about `key`: the line is
    /// shown with secret values redacted, and the message is scrubbed of them.
    fn error(
        &self,
        position: Option<(usize, usize)>,
        key: Option<String>,
        message: &str,
    ) -> ConfigFileError {
        let (line, column) = position.unzip();
        ConfigFileError {
            file: self.name.clone(),
            line,
            column,
            snippet: line.and_then(|l| redact::redacted_line(&self.text, l)),
            message: redact::scrub(message, &self.secrets, key.as_deref()),
            key,
        }
    }
}

impl fmt::Debug for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: <{} bytes>", self.name, self.text.len())
    }
}

/// Splits `receivers[0].channels[1].url` into `receivers`, `0`, `channels`, `1`, `url`.
fn key_segments(key: &str) -> Vec<&str> {
    key.split(['.', '[', ']'])
        .filter(|s| !s.is_empty())
        .collect()
}

/// The byte span of the value (or, for a table, the header) at `key` in TOML `text`.
fn span_of(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let mut span = doc.span();
    let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
    let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
    for seg in key_segments(key) {
        let value = if let Some(a) = array.take() {
            a.get(seg.parse::<usize>().ok()?)?
        } else {
            let t = table.take()?;
            let (k, v) = t.iter().find(|(k, _)| k.get_ref() == seg)?;
            // A table's own span covers its contents; point at its key instead.
            if matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_)) {
                span = k.span();
            } else {
                span = v.span();
            }
            match v.get_ref() {
                DeValue::Table(t) => table = Some(t),
                DeValue::Array(a) => array = Some(&a[..]),
                _ => {}
            }
            continue;
        };
        span = value.span();
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(&a[..]),
            _ => {}
        }
    }
    Some(span)
}

/// A config that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFileError {
    /// The file (or `<embedded>`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The key path (`receivers[0].channels[1].type`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The offending line as written (before interpolation), with the values of
    /// secret keys redacted, when known.
    pub snippet: Option<String>,
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(k) = self.key.as_deref().filter(|k| !k.is_empty() && *k != ".") {
            write!(f, "{k}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(s) = &self.snippet {
            write!(f, "\n    | {}", s.trim_end())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigFileError {}

/// A deserializer that hides some top-level keys from the visitor, so the router's
/// config (which rejects unknown keys) can be read from the same document as the
/// service's sections without losing spans.
struct Without<'a, D> {
    inner: D,
    skip: &'a [&'a str],
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Without<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(FilterVisitor {
            inner: v,
            skip: self.skip,
        })
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(FilterVisitor {
            inner: v,
            skip: self.skip,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        // Ask for a map so the filtered keys are never seen as fields.
        let _ = (name, fields);
        self.inner.deserialize_map(FilterVisitor {
            inner: v,
            skip: self.skip,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct enum identifier ignored_any
    }
}

struct FilterVisitor<'a, V> {
    inner: V,
    skip: &'a [&'a str],
}

impl<'de, V: Visitor<'de>> Visitor<'de> for FilterVisitor<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(FilterMap {
            inner: map,
            skip: self.skip,
        })
    }
}

struct FilterMap<'a, A> {
    inner: A,
    skip: &'a [&'a str],
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for FilterMap<'_, A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.inner.next_key::<String>()? else {
                return Ok(None);
            };
            if self.skip.contains(&key.as_str()) {
                self.inner.next_value::<de::IgnoredAny>()?;
                continue;
            }
            let key_de: de::value::StringDeserializer<A::Error> = key.into_deserializer();
            return seed.deserialize(key_de).map(Some);
        }
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    (
        before.matches('\n').count() + 1,
        before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
    )
}

/// Finds the line of a top-level-ish key by name, for errors without a span.
fn find_key_line(text: &str, key_path: &str) -> Option<(usize, usize)> {
    let last = key_path.rsplit(['.', ']']).find(|s| !s.is_empty())?;
    text.lines().enumerate().find_map(|(i, l)| {
        let t = l.trim_start();
        let indent = l[..l.len() - t.len()].chars().count();
        let header = t
            .trim_start_matches('[')
            .trim_end()
            .trim_end_matches(']')
            .trim();
        if t.starts_with('[') && header == last {
            return Some((i + 1, indent + 1));
        }
        let rest = t.strip_prefix(last)?;
        rest.trim_start()
            .starts_with('=')
            .then_some((i + 1, indent + 1))
    })
}

impl ServiceConfig {
    /// The embedded default: a console receiver (plus desktop where `desktop` is
    /// true), everything routed to it, SQLite state, loopback only.
    pub fn embedded(desktop: bool) -> ServiceConfig {
        let channels = if desktop {
            r#"[{ type = "console" }, { type = "desktop", app_name = "alerts" }]"#
        } else {
            r#"[{ type = "console" }]"#
        };
        let text = format!(
            "[route]\nreceiver = \"default\"\ngroup_by = [\"alertname\"]\ngroup_wait = \"2s\"\n\
             group_interval = \"1m\"\nrepeat_interval = \"4h\"\n\n[[receivers]]\nname = \"default\"\n\
             channels = {channels}\n"
        );
        ServiceConfig::parse(&text, "<embedded>", |_| None).expect("the embedded config is valid")
    }

    /// Reads and parses `path`, interpolating `${VAR}` with `lookup`.
    pub fn load(
        path: &Path,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ServiceConfig, Box<ConfigFileError>> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| {
            Box::new(ConfigFileError {
                file: file.clone(),
                line: None,
                column: None,
                key: None,
                message: format!("cannot read the file: {e}"),
                snippet: None,
            })
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let (line, column) = line_col(&text, offset);
            Box::new(ConfigFileError {
                file: file.clone(),
                line: Some(line),
                column: Some(column),
                key: None,
                message: "the file is not valid UTF-8".into(),
                snippet: None,
            })
        })?;
        let mut cfg = ServiceConfig::parse(&text, &file, lookup)?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Parses config text; `file` names it in errors.
    ///
    /// Errors never show a secret: the line they quote has the values of secret
    /// keys redacted (see [`crate::redact`]), and their message is scrubbed of every
    /// secret value, whether written in the file or interpolated.
    pub fn parse(
        text: &str,
        file: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ServiceConfig, Box<ConfigFileError>> {
        let mut source = SourceText {
            name: file.to_owned(),
            text: text.into(),
            secrets: redact::secret_values(text).into(),
        };
        let interp = interp::interpolate(text, lookup)
            .map_err(|e| Box::new(source.error(Some((e.line, e.column)), None, &e.message)))?;
        let mut secrets = redact::secret_values(text);
        for v in redact::secret_values(&interp.text) {
            if !secrets.contains(&v) {
                secrets.push(v);
            }
        }
        source.secrets = secrets.into();
        let err_at = |offset: Option<usize>, key: Option<String>, message: String| {
            // A span at the very start of the document is the root table's: the key
            // itself is a better guide.
            let offset = offset
                .filter(|o| *o > 0 || key.as_deref().is_none_or(|k| k.is_empty() || k == "."));
            let position = match offset {
                Some(o) => {
                    let (l, c, _) = interp.original_position(o);
                    Some((l, c))
                }
                None => key.as_deref().and_then(|k| find_key_line(text, k)),
            };
            Box::new(source.error(position, key, &message))
        };
        let parse_doc = || {
            toml::Deserializer::parse(&interp.text).map_err(|e| {
                err_at(
                    e.span().map(|s| s.start),
                    None,
                    e.message().trim().to_owned(),
                )
            })
        };
        let sections: Sections = serde_path_to_error::deserialize(parse_doc()?).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            err_at(
                inner.span().map(|s| s.start),
                Some(key),
                inner.message().trim().to_owned(),
            )
        })?;
        let router: RouterConfig = serde_path_to_error::deserialize(Without {
            inner: parse_doc()?,
            skip: &SECTION_KEYS,
        })
        .map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let mut message = inner.message().trim().to_owned();
            // A misspelt top-level section: the router's list is not the whole story.
            if message.starts_with("unknown field") && !key.contains(['.', '[']) {
                message.push_str(&format!(
                    " (the service also accepts {})",
                    SECTION_KEYS.join(", ")
                ));
            }
            err_at(inner.span().map(|s| s.start), Some(key), message)
        })?;
        if sections.storage.retention.is_some() && router.retention.is_some() {
            return Err(Box::new(source.error(
                find_key_line(text, "retention"),
                Some("retention".into()),
                "give `retention` at the top level or in [storage], not both",
            )));
        }
        Ok(ServiceConfig {
            server: sections.server,
            storage: sections.storage,
            log: sections.log,
            rules: sections.rules,
            delivery: sections.delivery,
            router,
            source: None,
            text: source,
        })
    }

    /// How long delivered notifications, history and events are kept: `[storage]
    /// retention`, else the router's top-level `retention`, else 30 days.
    pub fn retention(&self) -> Duration {
        self.storage
            .retention
            .or(self.router.retention)
            .unwrap_or(crate::serve::DEFAULT_RETENTION)
    }

    /// Describes a router build error: located in the file (`file:line:column: key:
    /// reason`) when it names a config key, else `file: error`.
    pub fn router_error(&self, e: &alert_router::RouterError) -> String {
        match e {
            alert_router::RouterError::Build(alert_core::BuildError::InvalidConfig {
                field,
                reason,
            }) => self.error_at(field, reason.clone()).to_string(),
            other => format!(
                "{}: {}",
                self.file_name(),
                redact::scrub(&other.to_string(), &self.text.secrets, None)
            ),
        }
    }

    /// Describes an error of the `[[rules]]`, located at the rule it names
    /// (`rules[2] (AccuracyLow).warning: ...`).
    pub fn rules_error(&self, e: &impl fmt::Display) -> String {
        let message = e.to_string();
        let key = message
            .find("rules[")
            .and_then(|i| {
                let rest = &message[i + "rules[".len()..];
                let n: usize = rest[..rest.find(']')?].parse().ok()?;
                Some(format!("rules[{n}]"))
            })
            .unwrap_or_else(|| "rules".to_owned());
        self.error_at(&key, message).to_string()
    }

    fn file_name(&self) -> String {
        self.source
            .as_ref()
            .map_or_else(|| self.text.name.clone(), |p| p.display().to_string())
    }

    /// An error about `key` (a path such as `receivers[0].channels[1].url`, as
    /// build errors name it), located in the file as written when the key is there,
    /// with secret values redacted from the line shown and from the message.
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> ConfigFileError {
        let text: &str = &self.text.text;
        let position = span_of(text, key)
            .map(|r| line_col(text, r.start))
            .or_else(|| find_key_line(text, key));
        let mut e = self
            .text
            .error(position, Some(key.to_owned()), &message.into());
        e.file = self.file_name();
        e
    }

    /// Renders every template against sample alerts (see [`crate::templates`]):
    /// what was rendered, and an error located at each template that renders badly.
    pub fn render_templates(&self) -> (crate::templates::Report, Vec<ConfigFileError>) {
        let report = crate::templates::check(&self.router);
        let errors = report
            .problems
            .iter()
            .map(|p| self.error_at(&p.key, p.message.clone()))
            .collect();
        (report, errors)
    }

    /// The data directory: `--data-dir`, else `ALERTS_DATA_DIR`, else `[storage] path`,
    /// else the platform data directory + `/alerts`, else `./.alerts-data`.
    pub fn data_dir(
        &self,
        flag: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> PathBuf {
        flag.map(Path::to_path_buf)
            .or_else(|| lookup(ENV_DATA_DIR).map(PathBuf::from))
            .or_else(|| self.storage.path.clone())
            .or_else(|| dirs::data_dir().map(|d| d.join("alerts")))
            .unwrap_or_else(|| PathBuf::from(".alerts-data"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        (k == "HOOK").then(|| "http://127.0.0.1:1/hook-secret".to_owned())
    }

    const GOOD: &str = r#"
[server]
listen = "127.0.0.1:0"
shutdown_grace = "3s"
[server.limits]
max_alerts_per_request = 50

[storage]
backend = "memory"

[log]
format = "json"

[[rules]]
name = "AccuracyLow"
metric = "accuracy"

[route]
receiver = "team"
group_by = ["alertname"]

[[receivers]]
name = "team"
channels = [{ type = "console" }]
"#;

    #[test]
    fn parses_service_and_router_sections_together() {
        let c = ServiceConfig::parse(GOOD, "t.toml", env).unwrap();
        assert_eq!(c.server.shutdown_grace, Duration::from_secs(3));
        assert_eq!(c.server.limits.max_alerts_per_request, 50);
        assert_eq!(c.storage.backend, Backend::Memory);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.router.receivers.len(), 1);
    }

    #[test]
    fn errors_give_file_line_column_and_key() {
        let bad = GOOD.replace("channels = [{ type = \"console\" }]", "chanels = []");
        let e = ServiceConfig::parse(&bad, "t.toml", env).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("receivers[0].chanels"));
        assert_eq!(e.line, Some(24));
        assert!(
            e.to_string()
                .starts_with("t.toml:24:1: receivers[0].chanels: unknown field `chanels`"),
            "{e}"
        );

        let bad = GOOD.replace("shutdown_grace = \"3s\"", "shutdown_grace = \"soon\"");
        let e = ServiceConfig::parse(&bad, "t.toml", env).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("server.shutdown_grace"));
        assert_eq!(e.line, Some(4));
        assert!(e.message.contains("invalid duration \"soon\""), "{e}");

        let bad = GOOD.replace("[log]", "[logging]");
        let e = ServiceConfig::parse(&bad, "t.toml", env).unwrap_err();
        assert!(e.message.contains("unknown field `logging`"), "{e}");
        assert!(e.message.contains("server, storage, log, rules"), "{e}");
        assert_eq!(e.line, Some(11));

        let e = ServiceConfig::parse("[route\n", "t.toml", env).unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn interpolated_secrets_never_reach_errors() {
        let text = "[[receivers]]\nname = \"x\"\nchannels = [{ type = \"console\", target = \"${HOOK}\" }]\nbogus = 1\n";
        let e = ServiceConfig::parse(text, "t.toml", env).unwrap_err();
        assert!(!e.to_string().contains("hook-secret"), "{e}");
        let e = ServiceConfig::parse("x = \"${MISSING}\"", "t.toml", env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.toml:1:6: environment variable `MISSING` is not set\n    | x = \"${MISSING}\""
        );
    }

    /// Secrets written in the file, or interpolated, reach neither the line an
    /// error shows nor its message, whatever the error.
    #[test]
    fn literal_secrets_never_reach_errors() {
        let env = |k: &str| (k == "H").then(|| "Bearer env-header-secret".to_owned());
        let cases: [(&str, &str, &str); 6] = [
            (
                // A syntax error on the line of a literal URL.
                "[[receivers]]\nname = \"x\"\nchannels = [{ type = \"webhook\", url = \"https://hooks.example/literal-url-secret\" ]\n",
                "literal-url-secret",
                "channels = [{ type = \"webhook\", url = \"**REDACTED**\" ]",
            ),
            (
                // A string where a table of headers belongs: serde quotes it.
                "[[receivers]]\nname = \"x\"\nchannels = [{ type = \"webhook\", url = \"http://127.0.0.1:1\", headers = \"Bearer literal-header-secret\" }]\n",
                "literal-header-secret",
                "channels = [{ type = \"webhook\", url = \"**REDACTED**\", headers = \"**REDACTED**\" }]",
            ),
            (
                // The same with the value from the environment.
                "[[receivers]]\nname = \"x\"\nchannels = [{ type = \"webhook\", url = \"http://127.0.0.1:1\", headers = \"${H}\" }]\n",
                "env-header-secret",
                "channels = [{ type = \"webhook\", url = \"**REDACTED**\", headers = \"${H}\" }]",
            ),
            (
                // A token where a list belongs.
                "[server.auth]\nwrite_tokens = \"literal-token-secret\"\n",
                "literal-token-secret",
                "write_tokens = \"**REDACTED**\"",
            ),
            (
                // Another key of the same line is wrong.
                "[[receivers]]\nname = \"x\"\nchannels = [{ type = \"discord\", webhook_url = \"https://discord.com/api/webhooks/1/literal-discord-secret\", colour = 1 }]\n",
                "literal-discord-secret",
                "channels = [{ type = \"discord\", webhook_url = \"**REDACTED**\", colour = 1 }]",
            ),
            (
                // A line inside a multi-line token list.
                "[server.auth]\nread_tokens = [\n  \"literal-read-secret\",\n  1,\n]\n",
                "literal-read-secret",
                "  **REDACTED**,",
            ),
        ];
        for (text, secret, line) in cases {
            let e = ServiceConfig::parse(text, "t.toml", env).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
            assert_eq!(e.snippet.as_deref(), Some(line), "{e}");
            assert!(e.line.is_some() && e.column.is_some(), "{e}");
        }
        // Errors found after parsing (a channel that does not build) too.
        let text = "[[receivers]]\nname = \"x\"\nchannels = [{ type = \"discord\", webhook_url = \"https://example.com/api/webhooks/1/literal-build-secret\" }]\n";
        let c = ServiceConfig::parse(text, "t.toml", env).unwrap();
        let e = c.error_at(
            "receivers[0].channels[0].webhook_url",
            "https://example.com/api/webhooks/1/literal-build-secret is not a Discord URL",
        );
        assert_eq!(
            e.to_string(),
            "t.toml:3:47: receivers[0].channels[0].webhook_url: **REDACTED** is not a Discord URL\n    | channels = [{ type = \"discord\", webhook_url = \"**REDACTED**\" }]"
        );
    }

    #[test]
    fn retention_comes_from_either_place_not_both() {
        let c = ServiceConfig::parse(GOOD, "t.toml", env).unwrap();
        assert_eq!(c.retention(), crate::serve::DEFAULT_RETENTION);
        let top = format!("retention = \"2d\"\n{GOOD}");
        let c = ServiceConfig::parse(&top, "t.toml", env).unwrap();
        assert_eq!(c.retention(), Duration::from_secs(2 * 86_400));
        let both = top.replace(
            "backend = \"memory\"",
            "backend = \"memory\"\nretention = \"1d\"",
        );
        let e = ServiceConfig::parse(&both, "t.toml", env).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("retention"));
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("not both"), "{e}");
    }

    #[test]
    fn level_and_listen_are_checked_when_read() {
        let bad = GOOD.replace("format = \"json\"", "format = \"json\"\nlevel = \"LOUD\"");
        let e = ServiceConfig::parse(&bad, "t.toml", env).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("log.level"));
        assert!(
            e.message.contains("expected one of error, warn, info"),
            "{e}"
        );
        let ok = GOOD.replace("format = \"json\"", "format = \"json\"\nlevel = \"DEBUG\"");
        assert_eq!(
            ServiceConfig::parse(&ok, "t.toml", env).unwrap().log.level,
            "debug"
        );
        let bad = GOOD.replace("127.0.0.1:0", "localhost:9095");
        let e = ServiceConfig::parse(&bad, "t.toml", env).unwrap_err();
        assert_eq!((e.key.as_deref(), e.line), (Some("server.listen"), Some(3)));
        assert!(e.message.contains("host names are not resolved"), "{e}");
    }

    #[test]
    fn errors_after_parsing_are_located_by_key() {
        let c = ServiceConfig::parse(GOOD, "t.toml", env).unwrap();
        let e = c.error_at("receivers[0].channels[0].type", "boom");
        assert_eq!((e.line, e.column), (Some(24), Some(22)));
        assert_eq!(
            e.snippet.as_deref(),
            Some("channels = [{ type = \"console\" }]")
        );
        let e = c.error_at("route.receiver", "no receiver named `team`");
        assert_eq!(
            e.to_string(),
            "t.toml:19:12: route.receiver: no receiver named `team`\n    | receiver = \"team\""
        );
        let e = c.error_at("rules[0]", "bad band");
        assert_eq!(e.line, Some(14));
        // A key that is not in the file (a default): the file, no position.
        let e = c.error_at("route.group_wait", "must be greater than zero");
        assert_eq!(
            e.to_string(),
            "t.toml: route.group_wait: must be greater than zero"
        );
        // The text is never printed by Debug (it may hold literal secrets).
        assert!(!format!("{c:?}").contains("AccuracyLow\nmetric"), "{c:?}");
    }

    #[test]
    fn delivery_defaults_to_the_outboxs_policy() {
        let c = ServiceConfig::parse(GOOD, "t.toml", env).unwrap();
        assert_eq!(
            c.delivery,
            DeliveryConfig {
                retry_for: Duration::from_secs(86_400),
                max_backoff: Duration::from_secs(300),
                attempt_timeout: Duration::from_secs(10),
                lane_concurrency: 8,
                memory_limit: 1024,
            }
        );
        assert_eq!(c.delivery, DeliveryConfig::default());
        assert_eq!(
            ServiceConfig::embedded(false).delivery,
            DeliveryConfig::default()
        );
        // An empty table is all defaults too.
        let c = ServiceConfig::parse(&format!("[delivery]\n{GOOD}"), "t.toml", env).unwrap();
        assert_eq!(c.delivery, DeliveryConfig::default());
    }

    #[test]
    fn delivery_keys_are_read() {
        let text = format!(
            "{GOOD}\n[delivery]\nretry_for = \"2h 30m\"\nmax_backoff = \"250ms\"\n\
             attempt_timeout = \"45s\"\nlane_concurrency = 32\nmemory_limit = 50000\n"
        );
        let c = ServiceConfig::parse(&text, "t.toml", env).unwrap();
        assert_eq!(
            c.delivery,
            DeliveryConfig {
                retry_for: Duration::from_secs(9_000),
                max_backoff: Duration::from_millis(250),
                attempt_timeout: Duration::from_secs(45),
                lane_concurrency: 32,
                memory_limit: 50_000,
            }
        );
        // The bounds themselves are accepted.
        let text = format!(
            "{GOOD}\n[delivery]\nretry_for = \"30d\"\nmax_backoff = \"100ms\"\n\
             attempt_timeout = \"10m\"\nlane_concurrency = 256\nmemory_limit = 1000000\n"
        );
        let c = ServiceConfig::parse(&text, "t.toml", env).unwrap();
        assert_eq!(c.delivery.retry_for, Duration::from_secs(30 * 86_400));
        assert_eq!(c.delivery.max_backoff, Duration::from_millis(100));
        assert_eq!(c.delivery.attempt_timeout, Duration::from_secs(600));
        assert_eq!(c.delivery.lane_concurrency, 256);
        assert_eq!(c.delivery.memory_limit, 1_000_000);
        let text = format!(
            "{GOOD}\n[delivery]\nretry_for = \"1s\"\nlane_concurrency = 1\nmemory_limit = 0\n"
        );
        let c = ServiceConfig::parse(&text, "t.toml", env).unwrap();
        assert_eq!(c.delivery.retry_for, Duration::from_secs(1));
        assert_eq!(c.delivery.lane_concurrency, 1);
        assert_eq!(c.delivery.memory_limit, 0);
    }

    #[test]
    fn bad_delivery_values_name_the_key_and_the_range() {
        // GOOD ends on line 24; `[delivery]` is line 26 and the key line 27.
        let cases: [(&str, &str, &str); 16] = [
            (
                "retry_for = \"0s\"",
                "delivery.retry_for",
                "must be between 1s and 30d, not \"0s\"",
            ),
            (
                "retry_for = \"-5m\"",
                "delivery.retry_for",
                "must be between 1s and 30d, not \"-5m\"",
            ),
            (
                "retry_for = \"500ms\"",
                "delivery.retry_for",
                "must be between 1s and 30d, not \"500ms\"",
            ),
            (
                "retry_for = \"31d\"",
                "delivery.retry_for",
                "must be between 1s and 30d, not \"31d\"",
            ),
            (
                "retry_for = \"soon\"",
                "delivery.retry_for",
                "invalid duration \"soon\": expected number at 0 (e.g. \"10s\", \"5m\")",
            ),
            (
                "retry_for = 60",
                "delivery.retry_for",
                "invalid type: integer `60`, expected a string",
            ),
            (
                "max_backoff = \"0s\"",
                "delivery.max_backoff",
                "must be between 100ms and 1d, not \"0s\"",
            ),
            (
                "max_backoff = \"2d\"",
                "delivery.max_backoff",
                "must be between 100ms and 1d, not \"2d\"",
            ),
            (
                "attempt_timeout = \"0s\"",
                "delivery.attempt_timeout",
                "must be between 100ms and 10m, not \"0s\"",
            ),
            (
                "attempt_timeout = \"1h\"",
                "delivery.attempt_timeout",
                "must be between 100ms and 10m, not \"1h\"",
            ),
            (
                "lane_concurrency = 0",
                "delivery.lane_concurrency",
                "must be between 1 and 256, not 0",
            ),
            (
                "lane_concurrency = -3",
                "delivery.lane_concurrency",
                "must be between 1 and 256, not -3",
            ),
            (
                "lane_concurrency = 100000",
                "delivery.lane_concurrency",
                "must be between 1 and 256, not 100000",
            ),
            (
                "memory_limit = -1",
                "delivery.memory_limit",
                "must be between 0 and 1000000, not -1",
            ),
            (
                "memory_limit = 1000001",
                "delivery.memory_limit",
                "must be between 0 and 1000000, not 1000001",
            ),
            (
                "retry_four = \"1h\"",
                "delivery.retry_four",
                "unknown field `retry_four`, expected one of `retry_for`, `max_backoff`, `attempt_timeout`, `lane_concurrency`, `memory_limit`",
            ),
        ];
        for (line, key, message) in cases {
            let text = format!("{GOOD}\n[delivery]\n{line}\n");
            let e = ServiceConfig::parse(&text, "t.toml", env).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{line}: {e}");
            assert_eq!(e.message, message, "{line}");
            assert_eq!(e.line, Some(27), "{line}: {e}");
            assert_eq!(e.snippet.as_deref(), Some(line), "{line}: {e}");
        }
        // A misspelt section lists `delivery` among the service's.
        let e = ServiceConfig::parse("[delivry]\n", "t.toml", env).unwrap_err();
        assert!(
            e.message
                .ends_with("(the service also accepts server, storage, log, rules, delivery)"),
            "{e}"
        );
    }

    #[test]
    fn embedded_default_is_valid() {
        let c = ServiceConfig::embedded(false);
        assert_eq!(c.server.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.storage.backend, Backend::Sqlite);
        assert_eq!(c.router.receivers.len(), 1);
    }
}
