//! [`Silence`]: mute alerts that match, for a time, optionally on a recurring
//! calendar (every Sunday 02:00-04:00 Europe/Paris for the weekly retrain).

use alert_core::{Alert, Timestamp};
use serde::{Deserialize, Serialize};

use crate::matcher::{Matcher, all_match};
use crate::timeinterval::{TimeInterval, any_contains};

/// Where a silence is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// `starts_at` is in the future.
    Pending,
    /// Between `starts_at` and `ends_at` (a recurring silence mutes only inside its
    /// windows, but is active for the whole span).
    Active,
    /// `ends_at` has passed (or it was expired).
    Expired,
}

impl SilenceState {
    /// `pending`, `active` or `expired`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

/// A silence: alerts matching every matcher are muted between `starts_at` and
/// `ends_at`, and, when `recurrence` is not empty, only inside one of its windows.
///
/// While an alert is muted, nothing is sent about it: neither its firing nor its
/// resolved notice (a resolved notice for a silenced alert is not sent).
///
/// ```
/// use alert_router::{Matcher, Silence, TimeInterval};
/// let s = Silence::new(vec![Matcher::eq("job", "retrain")], "ops", "weekly retrain")
///     .between("2026-11-01T00:00:00Z".parse().unwrap(), "2027-11-01T00:00:00Z".parse().unwrap())
///     .recurring(TimeInterval::weekly("sunday", "02:00", "04:00", "Europe/Paris").unwrap());
/// assert_eq!(s.recurrence.len(), 1);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    /// Assigned by the router when created; empty before.
    #[serde(default)]
    pub id: String,
    /// All must match (at least one must not match the empty string).
    pub matchers: Vec<Matcher>,
    /// When the silence starts.
    pub starts_at: Timestamp,
    /// When it ends.
    pub ends_at: Timestamp,
    /// Who created it.
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
    /// Recurring windows; empty means "the whole span".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recurrence: Vec<TimeInterval>,
    /// When it was last written (set by the router).
    #[serde(default = "epoch")]
    pub updated_at: Timestamp,
}

fn epoch() -> Timestamp {
    Timestamp::UNIX_EPOCH
}

impl Silence {
    /// A silence over `matchers`, by `created_by`, because `comment`. It starts at the
    /// epoch and never ends until [`between`](Silence::between) says otherwise (the
    /// router sets a missing start to "now" when it is created).
    pub fn new(
        matchers: Vec<Matcher>,
        created_by: impl Into<String>,
        comment: impl Into<String>,
    ) -> Silence {
        Silence {
            id: String::new(),
            matchers,
            starts_at: Timestamp::UNIX_EPOCH,
            ends_at: Timestamp::from_unix_seconds(253_402_300_799).unwrap_or(Timestamp::UNIX_EPOCH),
            created_by: created_by.into(),
            comment: comment.into(),
            recurrence: Vec::new(),
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    /// Sets the span.
    pub fn between(mut self, starts_at: Timestamp, ends_at: Timestamp) -> Silence {
        self.starts_at = starts_at;
        self.ends_at = ends_at;
        self
    }

    /// Adds a recurring window.
    pub fn recurring(mut self, window: TimeInterval) -> Silence {
        self.recurrence.push(window);
        self
    }

    /// The state at `now`.
    pub fn state(&self, now: Timestamp) -> SilenceState {
        if now >= self.ends_at {
            SilenceState::Expired
        } else if now < self.starts_at {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }

    /// Whether the silence mutes at `now` (active, and inside a window if recurring).
    pub fn in_effect(&self, now: Timestamp) -> bool {
        self.state(now) == SilenceState::Active
            && (self.recurrence.is_empty() || any_contains(&self.recurrence, now))
    }

    /// Whether it mutes `alert` at `now`.
    pub fn mutes(&self, alert: &Alert, now: Timestamp) -> bool {
        self.in_effect(now) && all_match(&self.matchers, alert)
    }

    /// Checks the silence is well formed; the error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.matchers.is_empty() {
            return Err("a silence needs at least one matcher".into());
        }
        if self.matchers.iter().all(|m| m.matches_value("")) {
            return Err(
                "at least one matcher must not match the empty string (it would silence everything)"
                    .into(),
            );
        }
        if self.ends_at <= self.starts_at {
            return Err("ends_at must be after starts_at".into());
        }
        if self.created_by.trim().is_empty() {
            return Err("created_by is required".into());
        }
        Ok(())
    }
}
