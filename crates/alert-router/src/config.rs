//! [`RouterConfig`]: the router from a config file (TOML or any serde format).
//!
//! Unknown keys are rejected everywhere, and errors name the path of the bad key
//! (`receivers[0].channels[1].webhook_url`) plus, for TOML, the line and column.
//!
//! ```toml
//! resolve_timeout = "5m"
//! keep_firing_for = "2m"
//!
//! [route]
//! receiver = "team"
//! group_by = ["alertname", "model"]
//! group_wait = "30s"
//! group_interval = "5m"
//! repeat_interval = "4h"
//!
//! [[route.routes]]
//! matchers = ["severity >= error"]
//! receiver = "oncall"
//! continue = true
//! escalate = [{ after = "15m", receiver = "manager" }]
//! actions = ["retrain"]
//!
//! [[receivers]]
//! name = "team"
//! channels = [{ type = "console" }]
//!
//! [[receivers]]
//! name = "oncall"
//! channels = [{ type = "custom", name = "pager" }]
//! fallback = "team"           # what the pager cannot deliver goes to the team
//!
//! [[receivers]]
//! name = "manager"
//! channels = [{ type = "console", app = "escalation" }]
//!
//! [[inhibit_rules]]
//! source_matchers = ["alertname = ModelDown", "severity = critical"]
//! target_matchers = ["severity = warning"]
//! equal = ["model"]
//!
//! [[time_intervals]]
//! name = "weekends"
//! time_intervals = [{ weekdays = ["saturday:sunday"], location = "Europe/Paris" }]
//!
//! [flap_detection]
//! transitions = 4
//! window = "10m"
//! stable_for = "10m"
//!
//! [[actions]]
//! type = "command"
//! name = "retrain"
//! program = "/opt/ml/retrain.sh"
//! cooldown = "1h"
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use alert_core::{BuildError, ConsoleFormat, ConsoleNotifier, Notifier};
use serde::Deserialize;

use crate::action::{Action, ActionPolicy, CommandAction};
use crate::engine::FlapControl;
use crate::receiver::{InhibitRule, Receiver};
use crate::route::Route;
use crate::serde_util;
use crate::timeinterval::TimeInterval;

/// The whole router configuration; see the [module docs](self) for an example.
#[non_exhaustive]
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// The routing tree (default: everything to the first receiver).
    #[serde(default)]
    pub route: Option<Route>,
    /// Receivers.
    #[serde(default)]
    pub receivers: Vec<ReceiverConfig>,
    /// Inhibition rules.
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRule>,
    /// Named time intervals.
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalConfig>,
    /// Flap control (off when absent).
    #[serde(default)]
    pub flap_detection: Option<FlapControl>,
    /// Resolution hysteresis (default 0: off).
    #[serde(default, with = "serde_util::opt_duration")]
    pub keep_firing_for: Option<Duration>,
    /// When an alert without `ends_at` resolves by itself (default 5m).
    #[serde(default, with = "serde_util::opt_duration")]
    pub resolve_timeout: Option<Duration>,
    /// Prune history older than this, every hour (absent: 30 days,
    /// [`DEFAULT_RETENTION`](crate::DEFAULT_RETENTION)). `"off"` keeps everything
    /// and reads as `Some(Duration::MAX)`, which
    /// [`RouterBuilder::retention`](crate::RouterBuilder::retention) takes as "never
    /// prune".
    #[serde(default, deserialize_with = "serde_util::opt_retention")]
    pub retention: Option<Duration>,
    /// Automated actions.
    #[serde(default)]
    pub actions: Vec<ActionConfig>,
}

/// A receiver in config.
#[non_exhaustive]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Its name.
    pub name: String,
    /// Whether resolved notices are sent (default `true`).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Its channels.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// The receiver that takes over what these channels cannot deliver (a permanent
    /// error, a destination that is gone, the retry limits, an open circuit
    /// breaker); see [`Receiver::fallback`]. Must name another receiver with
    /// channels, without cycles.
    #[serde(default)]
    pub fallback: Option<String>,
}

fn yes() -> bool {
    true
}

impl ReceiverConfig {
    /// A receiver with these channels (resolved notices on).
    pub fn new(name: impl Into<String>, channels: Vec<ChannelConfig>) -> ReceiverConfig {
        ReceiverConfig {
            name: name.into(),
            send_resolved: true,
            channels,
            fallback: None,
        }
    }

    /// Sets the fallback receiver.
    pub fn with_fallback(mut self, name: impl Into<String>) -> ReceiverConfig {
        self.fallback = Some(name.into());
        self
    }
}

impl TimeIntervalConfig {
    /// A named set of windows.
    pub fn new(name: impl Into<String>, time_intervals: Vec<TimeInterval>) -> TimeIntervalConfig {
        TimeIntervalConfig {
            name: name.into(),
            time_intervals,
        }
    }
}

impl Default for ConsoleConfig {
    /// `app = "alerts"`, standard error, `detailed` lines.
    fn default() -> ConsoleConfig {
        ConsoleConfig {
            app: default_app(),
            target: default_target(),
            format: default_format(),
        }
    }
}

impl CustomChannelConfig {
    /// Refers to the channel registered in code under `name`.
    pub fn new(name: impl Into<String>) -> CustomChannelConfig {
        CustomChannelConfig { name: name.into() }
    }
}

/// A named set of time windows.
#[non_exhaustive]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    /// The name routes refer to.
    pub name: String,
    /// The windows (any of them matches).
    pub time_intervals: Vec<TimeInterval>,
}

/// The built-in console channel in config.
#[non_exhaustive]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The application name shown in each line (default `alerts`).
    #[serde(default = "default_app")]
    pub app: String,
    /// `stderr` (default) or `stdout`.
    #[serde(default = "default_target")]
    pub target: String,
    /// `detailed` (default: severity, status, name, fingerprint, labels), `line`
    /// (title and message) or `json` (JSON lines).
    #[serde(default = "default_format")]
    pub format: String,
}

fn default_app() -> String {
    "alerts".into()
}
fn default_target() -> String {
    "stderr".into()
}
fn default_format() -> String {
    "detailed".into()
}

/// A user-written channel registered in code with
/// [`RouterBuilder::custom_channel`](crate::RouterBuilder::custom_channel).
#[non_exhaustive]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomChannelConfig {
    /// The name it was registered under.
    pub name: String,
}

/// Stands in for the config of a channel whose feature is off: accepts anything, so
/// the error can name the feature instead of a parse error.
#[derive(Clone, Debug, Default)]
pub struct CompiledOut;

impl<'de> Deserialize<'de> for CompiledOut {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(CompiledOut)
    }
}

macro_rules! channel_config {
    ($( $(#[$doc:meta])* $variant:ident, $feature:literal, $krate:ident :: $cfg:ident, $notifier:ident; )*) => {
        /// One channel of a receiver, tagged by `type`.
        ///
        /// `console` and `custom` are always available; the others need their cargo
        /// feature, and naming a compiled-out one fails with
        /// [`BuildError::MissingFeature`] naming the feature.
        #[non_exhaustive]
        #[derive(Clone, Debug, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum ChannelConfig {
            /// Lines on stderr or stdout.
            Console(ConsoleConfig),
            /// A channel registered in code under a name.
            Custom(CustomChannelConfig),
            $(
                $(#[$doc])*
                #[cfg(feature = $feature)]
                $variant($krate::$cfg),
                $(#[$doc])*
                #[doc = concat!("(compiled out: enable the `", $feature, "` feature)")]
                #[cfg(not(feature = $feature))]
                $variant(CompiledOut),
            )*
        }

        /// Every cargo feature config can name, and whether this build has it (the
        /// same table whatever the features, so tests exercise every branch).
        pub(crate) const FEATURES: &[(&str, bool)] = &[
            $( ($feature, cfg!(feature = $feature)), )*
            ("http-action", cfg!(feature = "http-action")),
        ];

        impl ChannelConfig {
            /// The channel kind (`slack`), which is also the default channel name.
            pub fn kind(&self) -> &'static str {
                match self {
                    ChannelConfig::Console(_) => "console",
                    ChannelConfig::Custom(_) => "custom",
                    $( ChannelConfig::$variant(_) => $feature, )*
                }
            }

            /// The cargo feature this channel needs (`None` for `console` and
            /// `custom`, which are always there).
            pub fn feature(&self) -> Option<&'static str> {
                match self {
                    ChannelConfig::Console(_) | ChannelConfig::Custom(_) => None,
                    $( ChannelConfig::$variant(_) => Some($feature), )*
                }
            }

            /// Builds the channel; a channel whose feature is off fails with
            /// [`BuildError::MissingFeature`] naming it.
            pub fn build(
                &self,
                custom: &HashMap<String, Arc<dyn Notifier>>,
            ) -> Result<Arc<dyn Notifier>, BuildError> {
                self.build_with(custom, &compiled_in)
            }

            /// [`build`](Self::build) with the feature table given (tests pass one
            /// where a compiled-in feature is off).
            pub(crate) fn build_with(
                &self,
                custom: &HashMap<String, Arc<dyn Notifier>>,
                compiled_in: &dyn Fn(&str) -> bool,
            ) -> Result<Arc<dyn Notifier>, BuildError> {
                if let Some(f) = self.feature()
                    && !compiled_in(f)
                {
                    return Err(missing_feature(self.kind(), f));
                }
                match self {
                    ChannelConfig::Console(c) => build_console(c),
                    ChannelConfig::Custom(c) => custom.get(&c.name).cloned().ok_or_else(|| {
                        BuildError::invalid(
                            "name",
                            format!("no custom channel `{}` was registered in code", c.name),
                        )
                    }),
                    $(
                        #[cfg(feature = $feature)]
                        ChannelConfig::$variant(c) => {
                            Ok(Arc::new($krate::$notifier::new(c.clone())?))
                        }
                        #[cfg(not(feature = $feature))]
                        ChannelConfig::$variant(_) => Err(missing_feature($feature, $feature)),
                    )*
                }
            }
        }
    };
}

channel_config! {
    /// Desktop notifications (`alert-desktop`).
    Desktop, "desktop", alert_desktop::DesktopConfig, DesktopNotifier;
    /// Slack (`alert-slack`).
    Slack, "slack", alert_slack::SlackConfig, SlackNotifier;
    /// Discord (`alert-discord`).
    Discord, "discord", alert_discord::DiscordConfig, DiscordNotifier;
    /// Datadog events (`alert-datadog`).
    Datadog, "datadog", alert_datadog::DatadogConfig, DatadogNotifier;
    /// Statuspal incidents (`alert-statuspal`).
    Statuspal, "statuspal", alert_statuspal::StatuspalConfig, StatuspalNotifier;
    /// A generic JSON webhook (`alert-webhook`).
    Webhook, "webhook", alert_webhook::WebhookConfig, WebhookNotifier;
}

/// Whether this build has the cargo feature `feature` ([`FEATURES`]).
pub(crate) fn compiled_in(feature: &str) -> bool {
    FEATURES.iter().any(|(f, on)| *f == feature && *on)
}

/// The error for a config that names something whose feature is off.
fn missing_feature(channel: &str, feature: &str) -> BuildError {
    BuildError::MissingFeature {
        channel: channel.into(),
        feature: feature.into(),
    }
}

fn build_console(c: &ConsoleConfig) -> Result<Arc<dyn Notifier>, BuildError> {
    let n = match c.target.as_str() {
        "stderr" => ConsoleNotifier::stderr(c.app.clone()),
        "stdout" => ConsoleNotifier::stdout(c.app.clone()),
        other => {
            return Err(BuildError::invalid(
                "target",
                format!("expected `stderr` or `stdout`, not {other:?}"),
            ));
        }
    };
    let n = match c.format.as_str() {
        "line" => n.with_format(ConsoleFormat::Line),
        "detailed" => n.with_format(ConsoleFormat::Detailed),
        "json" => n.with_format(ConsoleFormat::Json),
        other => {
            return Err(BuildError::invalid(
                "format",
                format!("expected `line`, `detailed` or `json`, not {other:?}"),
            ));
        }
    };
    Ok(Arc::new(n))
}

/// An automated action in config, tagged by `type`. Unknown keys are rejected (a
/// misspelt `dry_run` must not let a rollback really run).
#[non_exhaustive]
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionConfig {
    /// Run a program ([`CommandAction`]).
    Command {
        /// The name routes refer to.
        name: String,
        /// The program (a path, or a name looked up in `PATH`).
        program: String,
        /// Its arguments.
        #[serde(default)]
        args: Vec<String>,
        /// How long it may run (default 60s).
        #[serde(default, with = "serde_util::opt_duration")]
        timeout: Option<Duration>,
        /// Extra environment variables (values are secrets); the program gets
        /// only these, [`INHERITED_ENV`](crate::action::INHERITED_ENV) and the
        /// `ALERT_*` variables.
        #[serde(default)]
        env: BTreeMap<String, alert_core::Secret>,
        /// Cool-down per fingerprint (default 1h).
        #[serde(default, with = "serde_util::opt_duration")]
        cooldown: Option<Duration>,
        /// Record, do not run.
        #[serde(default)]
        dry_run: bool,
    },
    /// POST the alert to a URL (feature `http-action`).
    Http {
        /// The name routes refer to.
        name: String,
        /// The URL (a secret).
        url: alert_core::Secret,
        /// Extra headers (values are secrets).
        #[serde(default)]
        headers: BTreeMap<String, alert_core::Secret>,
        /// Per-request timeout (default 30s).
        #[serde(default, with = "serde_util::opt_duration")]
        timeout: Option<Duration>,
        /// Cool-down per fingerprint (default 1h).
        #[serde(default, with = "serde_util::opt_duration")]
        cooldown: Option<Duration>,
        /// Record, do not run.
        #[serde(default)]
        dry_run: bool,
    },
}

/// A config turned into parts.
pub(crate) struct BuiltConfig {
    pub(crate) route: Route,
    pub(crate) receivers: Vec<Receiver>,
    pub(crate) inhibit_rules: Vec<InhibitRule>,
    pub(crate) time_intervals: Vec<(String, Vec<TimeInterval>)>,
    pub(crate) actions: Vec<(Arc<dyn Action>, ActionPolicy)>,
    pub(crate) flap: Option<FlapControl>,
    pub(crate) keep_firing_for: Option<Duration>,
    pub(crate) resolve_timeout: Option<Duration>,
    pub(crate) retention: Option<Duration>,
}

fn prefix(e: BuildError, path: &str) -> BuildError {
    match e {
        BuildError::InvalidConfig { field, reason } => BuildError::InvalidConfig {
            field: format!("{path}.{field}"),
            reason,
        },
        other => other,
    }
}

/// Where a config failed to parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{path}: {message}", location(*line, *column))]
pub struct ConfigError {
    /// The path of the bad key (`receivers[0].channels[1].type`), `.` for the root.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

impl RouterConfig {
    /// Parses TOML; errors give the key path, line and column.
    ///
    /// ```
    /// use alert_router::RouterConfig;
    /// let err = RouterConfig::from_toml_str("[[receivers]]\nname = \"x\"\nchanels = []\n").unwrap_err();
    /// assert_eq!(err.path, "receivers[0].chanels");
    /// assert!(err.message.contains("unknown field `chanels`"), "{err}");
    /// assert_eq!(err.line, Some(3));
    /// ```
    pub fn from_toml_str(text: &str) -> Result<RouterConfig, ConfigError> {
        let de = toml::Deserializer::parse(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
            ConfigError {
                path: ".".into(),
                message: e.message().trim().to_owned(),
                line,
                column,
            }
        })?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let (line, column) = inner.span().map(|s| line_col(text, s.start)).unzip();
            ConfigError {
                path,
                message: inner.message().trim().to_owned(),
                line,
                column,
            }
        })
    }

    /// Parses JSON; errors give the key path, line and column.
    pub fn from_json_str(text: &str) -> Result<RouterConfig, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            ConfigError {
                path,
                message: inner.to_string(),
                line: Some(inner.line()),
                column: Some(inner.column()),
            }
        })
    }

    /// Builds every channel and action without starting anything, so a bad config
    /// fails here (`alerts check`). `custom` holds the channels registered in code.
    pub fn validate(&self, custom: &HashMap<String, Arc<dyn Notifier>>) -> Result<(), BuildError> {
        self.build_parts(custom).map(|_| ())
    }

    pub(crate) fn build_parts(
        &self,
        custom: &HashMap<String, Arc<dyn Notifier>>,
    ) -> Result<BuiltConfig, BuildError> {
        self.build_parts_with(custom, &compiled_in)
    }

    /// [`build_parts`](Self::build_parts) with the feature table given.
    pub(crate) fn build_parts_with(
        &self,
        custom: &HashMap<String, Arc<dyn Notifier>>,
        compiled_in: &dyn Fn(&str) -> bool,
    ) -> Result<BuiltConfig, BuildError> {
        let mut receivers = Vec::new();
        for (i, rc) in self.receivers.iter().enumerate() {
            let mut r = Receiver::new(rc.name.clone()).send_resolved(rc.send_resolved);
            if let Some(f) = &rc.fallback {
                r = r.fallback(f.clone());
            }
            for (j, cc) in rc.channels.iter().enumerate() {
                let path = format!("receivers[{i}].channels[{j}]");
                let n = cc
                    .build_with(custom, compiled_in)
                    .map_err(|e| prefix(e, &path))?;
                let (name, kind) = match cc {
                    ChannelConfig::Custom(c) => (c.name.clone(), None),
                    other => (other.kind().to_owned(), Some(other.kind().to_owned())),
                };
                r = r.add(name, kind, n);
            }
            receivers.push(r);
        }
        let mut actions: Vec<(Arc<dyn Action>, ActionPolicy)> = Vec::new();
        for (i, ac) in self.actions.iter().enumerate() {
            if matches!(ac, ActionConfig::Http { .. }) && !compiled_in("http-action") {
                return Err(missing_feature("http action", "http-action"));
            }
            match ac {
                ActionConfig::Command {
                    name,
                    program,
                    args,
                    timeout,
                    env,
                    cooldown,
                    dry_run,
                } => {
                    let mut command = CommandAction::new(name.clone(), program.clone(), args);
                    if let Some(t) = timeout {
                        command = command.with_timeout(*t);
                    }
                    command.env = env.clone();
                    command
                        .validate()
                        .map_err(|e| prefix(e, &format!("actions[{i}]")))?;
                    let mut p = ActionPolicy::default().dry_run(*dry_run);
                    if let Some(c) = cooldown {
                        p.cooldown = *c;
                    }
                    actions.push((Arc::new(command), p));
                }
                #[cfg(feature = "http-action")]
                ActionConfig::Http {
                    name,
                    url,
                    headers,
                    timeout,
                    cooldown,
                    dry_run,
                } => {
                    let a = crate::action::HttpAction::new(
                        name.clone(),
                        url.clone(),
                        headers
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        timeout.unwrap_or(Duration::from_secs(30)),
                    )
                    .map_err(|e| prefix(e, &format!("actions[{i}]")))?;
                    let mut p = ActionPolicy::default().dry_run(*dry_run);
                    if let Some(c) = cooldown {
                        p.cooldown = *c;
                    }
                    actions.push((Arc::new(a), p));
                }
                #[cfg(not(feature = "http-action"))]
                ActionConfig::Http { .. } => {
                    return Err(missing_feature("http action", "http-action"));
                }
            }
        }
        let route = match &self.route {
            Some(r) => r.clone(),
            None => match self.receivers.first() {
                Some(r) => Route::to(r.name.clone()),
                None => {
                    return Err(BuildError::invalid(
                        "receivers",
                        "at least one receiver is needed",
                    ));
                }
            },
        };
        Ok(BuiltConfig {
            route,
            receivers,
            inhibit_rules: self.inhibit_rules.clone(),
            time_intervals: self
                .time_intervals
                .iter()
                .map(|t| (t.name.clone(), t.time_intervals.clone()))
                .collect(),
            actions,
            flap: self.flap_detection.clone(),
            keep_firing_for: self.keep_firing_for,
            resolve_timeout: self.resolve_timeout,
            retention: self.retention,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One parseable config per channel kind that needs a feature.
    const CHANNELS: &[(&str, &str)] = &[
        ("desktop", r#"{ type = "desktop" }"#),
        (
            "slack",
            r#"{ type = "slack", webhook_url = "https://hooks.slack.com/services/T0/B0/x" }"#,
        ),
        (
            "discord",
            r#"{ type = "discord", webhook_url = "https://discord.com/api/webhooks/123456789012345678/tok" }"#,
        ),
        ("datadog", r#"{ type = "datadog", api_key = "k" }"#),
        (
            "statuspal",
            r#"{ type = "statuspal", api_key = "k", subdomain = "acme" }"#,
        ),
        (
            "webhook",
            r#"{ type = "webhook", url = "http://127.0.0.1:9/hook" }"#,
        ),
    ];

    fn config(channel: &str) -> RouterConfig {
        RouterConfig::from_toml_str(&format!(
            "[[receivers]]\nname = \"a\"\nchannels = [{channel}]\n"
        ))
        .unwrap_or_else(|e| panic!("{channel}: {e}"))
    }

    #[test]
    fn the_feature_table_is_what_cargo_compiled() {
        let expected = [
            ("desktop", cfg!(feature = "desktop")),
            ("slack", cfg!(feature = "slack")),
            ("discord", cfg!(feature = "discord")),
            ("datadog", cfg!(feature = "datadog")),
            ("statuspal", cfg!(feature = "statuspal")),
            ("webhook", cfg!(feature = "webhook")),
            ("http-action", cfg!(feature = "http-action")),
        ];
        assert_eq!(FEATURES, expected);
        assert!(!compiled_in("console"), "console needs no feature");
        assert!(!compiled_in("nonsense"));
        let kinds: Vec<&str> = CHANNELS.iter().map(|(k, _)| *k).collect();
        let table: Vec<&str> = FEATURES.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            kinds,
            table[..table.len() - 1],
            "every channel kind is listed"
        );
    }

    /// Runs under every feature set (CI builds with all of them): the feature check
    /// is the same code path a build without the feature takes.
    #[test]
    fn a_compiled_out_channel_names_its_feature_whatever_the_build() {
        let none = HashMap::new();
        for (kind, text) in CHANNELS {
            let cfg = config(text);
            let cc = &cfg.receivers[0].channels[0];
            assert_eq!((cc.kind(), cc.feature()), (*kind, Some(*kind)));
            let err = cc.build_with(&none, &|_| false).map(|_| ()).unwrap_err();
            match err {
                BuildError::MissingFeature { channel, feature } => {
                    assert_eq!((channel.as_str(), feature.as_str()), (*kind, *kind));
                }
                other => panic!("{kind}: {other:?}"),
            }
            // Through the whole config, as `Router::from_config` does.
            let Err(err) = cfg.build_parts_with(&none, &|f| f != *kind) else {
                panic!("{kind}: built without its feature");
            };
            assert_eq!(
                err.to_string(),
                format!("channel `{kind}` is not compiled in: enable the `{kind}` feature"),
                "{kind}"
            );
        }
        // Console and custom never need a feature.
        let cfg = config(r#"{ type = "console" }"#);
        assert_eq!(cfg.receivers[0].channels[0].feature(), None);
        assert!(cfg.build_parts_with(&none, &|_| false).is_ok());
    }

    #[test]
    fn a_compiled_out_http_action_names_its_feature_whatever_the_build() {
        let cfg = RouterConfig::from_toml_str(
            "[[receivers]]\nname = \"a\"\n[[actions]]\ntype = \"http\"\nname = \"scale\"\nurl = \"http://127.0.0.1:9/scale\"\n",
        )
        .unwrap();
        let Err(err) = cfg.build_parts_with(&HashMap::new(), &|f| f != "http-action") else {
            panic!("built without the feature");
        };
        match err {
            BuildError::MissingFeature { channel, feature } => {
                assert_eq!(
                    (channel.as_str(), feature.as_str()),
                    ("http action", "http-action")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    /// A misspelt key in an action table is an error naming it, for both kinds
    /// (`dryrun = true` must not leave `dry_run` false and run a rollback).
    #[test]
    fn action_tables_reject_unknown_keys() {
        for (kind, base, expected) in [
            (
                "command",
                "program = \"/opt/ml/rollback.sh\"",
                "`name`, `program`, `args`, `timeout`, `env`, `cooldown`, `dry_run`",
            ),
            (
                "http",
                "url = \"http://127.0.0.1:9/rollback\"",
                "`name`, `url`, `headers`, `timeout`, `cooldown`, `dry_run`",
            ),
        ] {
            let text = format!(
                "[[receivers]]\nname = \"a\"\n\n[[actions]]\ntype = \"{kind}\"\nname = \"rollback\"\n{base}\ndryrun = true\n"
            );
            let e = RouterConfig::from_toml_str(&text).unwrap_err();
            assert_eq!(e.path, "actions[0]", "{kind}: {e}");
            assert_eq!(
                e.message,
                format!("unknown field `dryrun`, expected one of {expected}"),
                "{kind}"
            );
            assert_eq!(e.line, Some(4), "{kind}: {e}");
            // Spelt right, it parses.
            let ok = RouterConfig::from_toml_str(&text.replace("dryrun", "dry_run")).unwrap();
            assert_eq!(ok.actions.len(), 1, "{kind}");
        }
    }

    #[test]
    fn a_command_action_from_config_has_its_policy_and_env() {
        let cfg = RouterConfig::from_toml_str(
            "[[receivers]]\nname = \"a\"\n[[actions]]\ntype = \"command\"\nname = \"rollback\"\n\
             program = \"/opt/ml/rollback.sh\"\nargs = [\"--to\", \"previous\"]\ntimeout = \"2m\"\n\
             cooldown = \"30m\"\ndry_run = true\nenv = { MLFLOW_TOKEN = \"tok-0123456789\" }\n",
        )
        .unwrap();
        let debug = format!("{cfg:?}");
        assert!(!debug.contains("tok-0123456789"), "{debug}");
        let built = cfg.build_parts(&HashMap::new()).unwrap();
        let (action, policy) = &built.actions[0];
        assert_eq!(action.name(), "rollback");
        assert_eq!(
            policy,
            &ActionPolicy {
                cooldown: Duration::from_secs(1800),
                dry_run: true
            }
        );
        let defaults = RouterConfig::from_toml_str(
            "[[receivers]]\nname = \"a\"\n[[actions]]\ntype = \"command\"\nname = \"r\"\nprogram = \"r.sh\"\n",
        )
        .unwrap()
        .build_parts(&HashMap::new())
        .unwrap();
        assert_eq!(
            defaults.actions[0].1,
            ActionPolicy {
                cooldown: Duration::from_secs(3600),
                dry_run: false
            }
        );
        // A reserved or malformed variable name is refused with its path.
        let bad = RouterConfig::from_toml_str(
            "[[receivers]]\nname = \"a\"\n[[actions]]\ntype = \"command\"\nname = \"r\"\nprogram = \"r.sh\"\n\
             env = { ALERT_NAME = \"x\" }\n",
        )
        .unwrap();
        let Err(e) = bad.build_parts(&HashMap::new()) else {
            panic!("ALERT_NAME accepted");
        };
        assert_eq!(
            e.to_string(),
            "invalid configuration for `actions[0].env.ALERT_NAME`: names starting with `ALERT_` are set by the router"
        );
        let empty = RouterConfig::from_toml_str(
            "[[receivers]]\nname = \"a\"\n[[actions]]\ntype = \"command\"\nname = \"r\"\nprogram = \"\"\n",
        )
        .unwrap();
        let Err(e) = empty.build_parts(&HashMap::new()) else {
            panic!("empty program accepted");
        };
        assert_eq!(
            e.to_string(),
            "invalid configuration for `actions[0].program`: must not be empty"
        );
    }

    #[test]
    fn retention_reads_durations_and_off() {
        let r = |t: &str| RouterConfig::from_toml_str(&format!("retention = {t}\n"));
        assert_eq!(
            r("\"7d\"").unwrap().retention,
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(r("\"off\"").unwrap().retention, Some(Duration::MAX));
        assert_eq!(r("\"OFF\"").unwrap().retention, Some(Duration::MAX));
        assert_eq!(RouterConfig::from_toml_str("").unwrap().retention, None);
        let e = r("\"forever\"").unwrap_err();
        assert_eq!(e.path, "retention");
        assert!(
            e.message.contains("invalid duration \"forever\"") && e.message.contains("\"off\""),
            "{e}"
        );
    }
}
