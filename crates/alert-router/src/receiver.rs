//! [`Receiver`]: a named set of channels, and [`InhibitRule`].

use std::fmt;
use std::sync::Arc;

use alert_core::Notifier;
use serde::{Deserialize, Serialize};

use crate::matcher::Matcher;

/// One channel of a receiver.
#[derive(Clone)]
pub(crate) struct ChannelSlot {
    /// Unique within the receiver (`slack`, `slack-2`).
    pub(crate) name: String,
    /// The channel kind when known (`slack`), for the recommended delivery stack.
    pub(crate) kind: Option<String>,
    pub(crate) notifier: Arc<dyn Notifier>,
}

/// A named set of channels that routes send to.
///
/// Channels added in code are used as given (wrap them in delivery layers yourself);
/// channels built from config get the recommended delivery stack for their kind.
///
/// A receiver may name a **fallback** receiver ([`Receiver::fallback`], `fallback =
/// "name"` in config): what one of its channels cannot deliver (a permanent error, a
/// destination that is gone, the retry limits) or what its open circuit breaker
/// refuses goes to every channel of the fallback, through the outbox (see
/// [`OutboxBuilder::fallback`](crate::delivery::OutboxBuilder::fallback)).
///
/// ```
/// use alert_core::ConsoleNotifier;
/// use alert_router::Receiver;
/// let team = Receiver::new("team")
///     .channel(ConsoleNotifier::stderr("bikes"))
///     .send_resolved(true)
///     .fallback("desk");
/// assert_eq!(team.name(), "team");
/// assert_eq!(team.channel_names(), ["console"]);
/// assert_eq!(team.fallback_name(), Some("desk"));
/// ```
#[derive(Clone)]
pub struct Receiver {
    pub(crate) name: String,
    pub(crate) channels: Vec<ChannelSlot>,
    pub(crate) send_resolved: bool,
    pub(crate) fallback: Option<String>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("name", &self.name)
            .field("channels", &self.channel_names())
            .field("send_resolved", &self.send_resolved)
            .field("fallback", &self.fallback)
            .finish()
    }
}

impl Receiver {
    /// An empty receiver called `name` (resolved notices on).
    pub fn new(name: impl Into<String>) -> Receiver {
        Receiver {
            name: name.into(),
            channels: Vec::new(),
            send_resolved: true,
            fallback: None,
        }
    }

    /// Adds a channel, named after [`Notifier::name`] (made unique within the
    /// receiver: `slack`, `slack-2`).
    pub fn channel(self, notifier: impl Notifier + 'static) -> Receiver {
        self.channel_arc(Arc::new(notifier))
    }

    /// Adds a shared channel.
    pub fn channel_arc(self, notifier: Arc<dyn Notifier>) -> Receiver {
        let name = notifier.name().to_owned();
        self.add(name, None, notifier)
    }

    /// Adds a channel under an explicit name.
    pub fn channel_named(self, name: impl Into<String>, notifier: Arc<dyn Notifier>) -> Receiver {
        self.add(name.into(), None, notifier)
    }

    pub(crate) fn add(
        mut self,
        base: String,
        kind: Option<String>,
        notifier: Arc<dyn Notifier>,
    ) -> Receiver {
        let base = if base.is_empty() {
            "channel".to_owned()
        } else {
            base
        };
        let mut name = base.clone();
        let mut n = 1;
        while self.channels.iter().any(|c| c.name == name) {
            n += 1;
            name = format!("{base}-{n}");
        }
        self.channels.push(ChannelSlot {
            name,
            kind,
            notifier,
        });
        self
    }

    /// Whether resolved notices are sent (default `true`).
    pub fn send_resolved(mut self, yes: bool) -> Receiver {
        self.send_resolved = yes;
        self
    }

    /// Sends what this receiver's channels cannot deliver to the receiver called
    /// `name` instead (e.g. Slack down: desktop plus an e-mail webhook). The router
    /// refuses, when it is built, a name that is not a receiver, this receiver
    /// itself, a receiver without channels, and cycles.
    ///
    /// The fallback gets the same notification (group, alerts, resolutions
    /// included) whatever its own `send_resolved` says.
    pub fn fallback(mut self, name: impl Into<String>) -> Receiver {
        self.fallback = Some(name.into());
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fallback receiver's name, if any.
    pub fn fallback_name(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// The channels' names, in order.
    pub fn channel_names(&self) -> Vec<String> {
        self.channels.iter().map(|c| c.name.clone()).collect()
    }
}

/// Inhibition: while an alert matching `source_matchers` fires, alerts matching
/// `target_matchers` that have the same values for the `equal` labels are muted.
///
/// A missing label equals another missing label (both read as empty). An alert that
/// matches both sides cannot be muted by an alert that also matches both sides (the
/// self-inhibition guard Alertmanager applies), so a rule never mutes the very alerts
/// it is keyed on.
///
/// ```
/// use alert_router::InhibitRule;
/// // A critical ModelDown for model X mutes warning drift alerts for model X.
/// let rule = InhibitRule::new(
///     ["alertname = ModelDown", "severity = critical"],
///     ["severity = warning", "alertname =~ \".*Drift\""],
///     ["model"],
/// ).unwrap();
/// assert_eq!(rule.equal, ["model"]);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRule {
    /// What the muting alert matches.
    pub source_matchers: Vec<Matcher>,
    /// What the muted alerts match.
    pub target_matchers: Vec<Matcher>,
    /// Labels whose values must be equal in both.
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// A rule from matcher texts.
    pub fn new<S: AsRef<str>, T: AsRef<str>, E: Into<String>>(
        source: impl IntoIterator<Item = S>,
        target: impl IntoIterator<Item = T>,
        equal: impl IntoIterator<Item = E>,
    ) -> Result<InhibitRule, crate::MatcherError> {
        Ok(InhibitRule {
            source_matchers: source
                .into_iter()
                .map(|s| s.as_ref().parse())
                .collect::<Result<_, _>>()?,
            target_matchers: target
                .into_iter()
                .map(|s| s.as_ref().parse())
                .collect::<Result<_, _>>()?,
            equal: equal.into_iter().map(Into::into).collect(),
        })
    }
}
