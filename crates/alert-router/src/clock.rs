//! [`Clock`]: where the router reads the time, so every rule can be tested with
//! simulated time.
//!
//! The router reads *wall-clock* time from its clock (timestamps in the notification
//! log, silences, time windows) and *waits* with Tokio's timer. With
//! [`TokioClock`] the two move together: in a test under
//! `#[tokio::test(start_paused = true)]` the clock starts at a fixed instant and
//! advances exactly as Tokio's paused time does, so `tokio::time::sleep(5m)` in the
//! test moves the router's wall clock by five minutes and fires its timers in order.
//! [`ManualClock`] is for driving the router by hand with `Router::tick`.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use alert_core::Timestamp;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Wall-clock time that advances with Tokio's clock (including paused time in tests)
/// from a fixed starting instant.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use alert_router::{Clock, TokioClock};
/// let clock = TokioClock::starting_at("2026-11-24T10:00:00Z".parse().unwrap());
/// tokio::time::sleep(std::time::Duration::from_secs(90)).await;
/// assert_eq!(clock.now().to_string(), "2026-11-24T10:01:30Z");
/// # }
/// ```
#[derive(Debug)]
pub struct TokioClock {
    base: Timestamp,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `base` now and advances with Tokio's clock. Call inside a
    /// Tokio runtime.
    pub fn starting_at(base: Timestamp) -> TokioClock {
        TokioClock {
            base,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.base.saturating_add(self.start.elapsed())
    }
}

/// A clock that moves only when told.
///
/// ```
/// use alert_router::{Clock, ManualClock};
/// let c = ManualClock::new("2026-11-24T10:00:00Z".parse().unwrap());
/// c.advance(std::time::Duration::from_secs(60));
/// assert_eq!(c.now().to_string(), "2026-11-24T10:01:00Z");
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock reading `t`.
    pub fn new(t: Timestamp) -> ManualClock {
        ManualClock { now: Mutex::new(t) }
    }
    /// Sets the time.
    pub fn set(&self, t: Timestamp) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }
    /// Moves the time forward.
    pub fn advance(&self, d: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.saturating_add(d);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}
