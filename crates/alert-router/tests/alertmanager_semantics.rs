//! The same scenarios as Alertmanager's documented behaviour, table-driven, on a
//! paused clock. Each case sends alerts (and creates silences) at given seconds and
//! lists, written out by hand, every call the channel must see and when. Every
//! case is self-contained: its steps are all in its row.
//!
//! Alertmanager's rules exercised (from its configuration docs, `DedupStage`,
//! `MuteStage`, `TimeMuteStage`/`TimeActiveStage` and the inhibitor):
//! * a new group waits `group_wait` before its first notification, collecting what
//!   arrives meanwhile;
//! * later changes wait for the next `group_interval` tick;
//! * an unchanged group is re-sent at the first tick *strictly after*
//!   `repeat_interval` has passed since the last notification
//!   (`entry.Timestamp.Before(now - repeat)`);
//! * a resolved alert is sent (with `send_resolved`) at the next tick, and a group
//!   whose alerts all resolved gets a last notification;
//! * a group that only ever had resolved alerts sends nothing;
//! * `group_by` splits groups, `...` groups by every label;
//! * `continue` fans out; the root is the default route;
//! * an alert without `ends_at` resolves `resolve_timeout` after it was last
//!   received;
//! * inhibition: a firing source mutes targets with the same `equal` values, not
//!   others; muted targets go out at the next tick once the source resolves,
//!   unless the log already has them; an alert matching both sides is not muted
//!   by another that does too;
//! * silences mute what they match, firing or resolved, and only while active;
//! * a route inside a mute interval, or outside all its active intervals, sends
//!   nothing (what resolved meanwhile is dropped); intervals are not inherited.

mod common;

use std::time::Duration;

use alert_core::Severity::{self, Critical, Error, Info, Warning};
use alert_router::{
    InhibitRule, Receiver, Route, Router, RouterBuilder, Silence, TimeInterval, TimeIntervalSpec,
    TimeRangeSpec,
};
use common::{Rec, alert, at, build, t0};

#[derive(Clone, Copy)]
enum Step {
    /// At `secs`, `name` fires with labels.
    Fire(
        u64,
        Severity,
        &'static str,
        &'static [(&'static str, &'static str)],
    ),
    /// At `secs`, `name` resolves.
    Resolve(
        u64,
        Severity,
        &'static str,
        &'static [(&'static str, &'static str)],
    ),
    /// At `secs`, a silence with this matcher starts; it ends at the second given.
    Silence(u64, &'static str, u64),
}

impl Step {
    fn at(&self) -> u64 {
        match self {
            Step::Fire(t, ..) | Step::Resolve(t, ..) | Step::Silence(t, ..) => *t,
        }
    }
}

struct Case {
    name: &'static str,
    /// The routing tree: receivers `a` and `b` exist, each with one recording channel.
    route: fn() -> Route,
    /// Inhibition rules and time intervals.
    setup: fn(RouterBuilder) -> RouterBuilder,
    send_resolved: bool,
    steps: &'static [Step],
    /// Observe until this second.
    until: u64,
    expect_a: &'static [&'static str],
    expect_b: &'static [&'static str],
}

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn base() -> Route {
    Route::to("a")
        .group_by(["alertname"])
        .group_wait(s(30))
        .group_interval(s(60))
        .repeat_interval(s(600))
}

fn nothing(b: RouterBuilder) -> RouterBuilder {
    b
}

/// A critical ModelDown mutes warnings for the same model.
fn model_down_inhibits(b: RouterBuilder) -> RouterBuilder {
    b.inhibit(
        InhibitRule::new(
            ["alertname = ModelDown", "severity = critical"],
            ["severity = warning"],
            ["model"],
        )
        .unwrap(),
    )
}

/// Every warning or worse is both source and target.
fn both_sides(b: RouterBuilder) -> RouterBuilder {
    b.inhibit(
        InhibitRule::new(["severity >= warning"], ["severity >= warning"], ["model"]).unwrap(),
    )
}

fn utc(start: &str, end: &str) -> Vec<TimeInterval> {
    vec![
        TimeInterval::try_from(TimeIntervalSpec {
            times: vec![TimeRangeSpec {
                start_time: start.into(),
                end_time: end.into(),
            }],
            ..TimeIntervalSpec::default()
        })
        .unwrap(),
    ]
}

/// t0 is 10:00Z: `first5` is the first 300 s, `first3` the first 180 s.
fn windows(b: RouterBuilder) -> RouterBuilder {
    b.time_interval("first5", utc("10:00", "10:05"))
        .time_interval("first3", utc("10:00", "10:03"))
}

/// ModelDown goes to `b`, everything else to `a`, one group per name and model.
fn model_down_to_b() -> Route {
    base()
        .group_by(["alertname", "model"])
        .route(Route::new().when("alertname = ModelDown").receiver("b"))
}

const CASES: &[Case] = &[
    Case {
        name: "group_wait collects alerts arriving during the wait into one notification",
        route: base,
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(10, Warning, "Drift", &[("model", "cars")]),
        ],
        until: 100,
        expect_a: &["30s group Drift=firing Drift=firing"],
        expect_b: &[],
    },
    Case {
        name: "a change to a flushed group waits for the next group_interval tick",
        route: base,
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(40, Error, "Drift", &[("model", "cars")]),
        ],
        until: 150,
        expect_a: &[
            "30s group Drift=firing",
            "90s group Drift=firing Drift=firing",
        ],
        expect_b: &[],
    },
    Case {
        name: "an unchanged group repeats at the first tick strictly after repeat_interval",
        route: base,
        setup: nothing,
        send_resolved: true,
        // Re-sent every 60 s like Prometheus does, so resolve_timeout never ends it.
        steps: &[
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(60, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(120, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(180, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(240, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(300, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(360, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(420, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(480, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(540, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(600, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(660, Error, "Drift", &[("model", "bikes")]),
        ],
        until: 750,
        // Sent at 30 s; the tick at 630 s is exactly 600 s later, not after it
        // (Alertmanager's `Before`), so the repeat goes out at the next tick.
        expect_a: &["30s group Drift=firing", "690s group Drift=firing"],
        expect_b: &[],
    },
    Case {
        name: "a resolution is sent at the next tick; the group's last notice updates the message",
        route: base,
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(5, Error, "Drift", &[("model", "cars")]),
            Step::Resolve(100, Error, "Drift", &[("model", "bikes")]),
            Step::Resolve(200, Error, "Drift", &[("model", "cars")]),
        ],
        until: 400,
        expect_a: &[
            "30s group Drift=firing Drift=firing",
            "150s group Drift=resolved Drift=firing",
            "210s update#2 Drift=resolved",
        ],
        expect_b: &[],
    },
    Case {
        name: "without send_resolved, resolutions are logged but not sent",
        route: base,
        setup: nothing,
        send_resolved: false,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(5, Error, "Drift", &[("model", "cars")]),
            Step::Resolve(100, Error, "Drift", &[("model", "bikes")]),
            Step::Resolve(200, Error, "Drift", &[("model", "cars")]),
        ],
        until: 400,
        expect_a: &["30s group Drift=firing Drift=firing"],
        expect_b: &[],
    },
    Case {
        name: "an alert that fires and resolves inside group_wait sends nothing",
        route: base,
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Blip", &[]),
            Step::Resolve(10, Error, "Blip", &[]),
        ],
        until: 200,
        expect_a: &[],
        expect_b: &[],
    },
    Case {
        name: "group_by splits by label value",
        route: || base().group_by(["alertname", "model"]),
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(1, Error, "Drift", &[("model", "cars")]),
            Step::Fire(2, Error, "Drift", &[("model", "bikes"), ("feature", "age")]),
        ],
        until: 100,
        expect_a: &[
            "30s group Drift=firing Drift=firing",
            "31s group Drift=firing",
        ],
        expect_b: &[],
    },
    Case {
        name: "group_by ... makes one group per label set",
        route: || base().group_by(["..."]),
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(0, Error, "Drift", &[("model", "cars")]),
        ],
        until: 100,
        expect_a: &["30s group Drift=firing", "30s group Drift=firing"],
        expect_b: &[],
    },
    Case {
        name: "continue fans out; first match wins otherwise; the root catches the rest",
        route: || {
            base()
                .route(
                    Route::new()
                        .when("severity >= error")
                        .receiver("b")
                        .continue_matching(true),
                )
                .route(Route::new().when("model = bikes").receiver("b"))
                .route(Route::new().when("model = bikes").receiver("a"))
        },
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Critical, "ModelDown", &[("model", "bikes")]),
            Step::Fire(0, Info, "Retrained", &[("model", "cars")]),
        ],
        until: 100,
        // ModelDown matches route 0 (continue) and route 1, both to `b`, in separate
        // groups; Retrained matches nothing and goes to the root's `a`.
        expect_a: &["30s group Retrained=firing"],
        expect_b: &["30s group ModelDown=firing", "30s group ModelDown=firing"],
    },
    Case {
        name: "an alert not re-sent resolves resolve_timeout (5m) after its last receipt",
        route: base,
        setup: nothing,
        send_resolved: true,
        steps: &[Step::Fire(0, Error, "Drift", &[])],
        until: 400,
        expect_a: &["30s group Drift=firing", "330s update#1 Drift=resolved"],
        expect_b: &[],
    },
    // ----- inhibition -----
    Case {
        name: "inhibition with equal mutes the same model only; the muted one goes out once the source resolves",
        route: model_down_to_b,
        setup: model_down_inhibits,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Critical, "ModelDown", &[("model", "bikes")]),
            Step::Fire(0, Warning, "Drift", &[("model", "bikes")]),
            Step::Fire(0, Warning, "Drift", &[("model", "cars")]),
            Step::Resolve(100, Critical, "ModelDown", &[("model", "bikes")]),
        ],
        until: 200,
        // 30 s: Drift/cars (Drift/bikes is inhibited); 150 s: Drift/bikes.
        expect_a: &["30s group Drift=firing", "150s group Drift=firing"],
        expect_b: &[
            "30s group ModelDown=firing",
            "150s update#1 ModelDown=resolved",
        ],
    },
    Case {
        name: "an alert inhibited after it was sent is not re-sent when the inhibition ends",
        route: model_down_to_b,
        setup: model_down_inhibits,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Warning, "Drift", &[("model", "bikes")]),
            Step::Fire(40, Critical, "ModelDown", &[("model", "bikes")]),
            Step::Resolve(160, Critical, "ModelDown", &[("model", "bikes")]),
            Step::Fire(200, Warning, "Drift", &[("model", "bikes")]),
        ],
        until: 300,
        // Muted at 90 s and 150 s; at 210 s the log already has it firing.
        expect_a: &["30s group Drift=firing"],
        expect_b: &[
            "70s group ModelDown=firing",
            "190s update#1 ModelDown=resolved",
        ],
    },
    Case {
        name: "an alert matching both sides is not muted by another that does too",
        route: model_down_to_b,
        setup: both_sides,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Critical, "ModelDown", &[("model", "bikes")]),
            Step::Fire(0, Warning, "Drift", &[("model", "bikes")]),
        ],
        until: 100,
        expect_a: &["30s group Drift=firing"],
        expect_b: &["30s group ModelDown=firing"],
    },
    // ----- silences -----
    Case {
        name: "a silenced alert is not sent; it goes out at the first tick after the silence ends",
        route: base,
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Silence(10, "model = bikes", 200),
        ],
        until: 250,
        // Muted at 30, 90 and 150 s.
        expect_a: &["210s group Drift=firing"],
        expect_b: &[],
    },
    Case {
        name: "a resolution under a silence is not sent",
        route: base,
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Silence(40, "model = bikes", 1000),
            Step::Resolve(50, Error, "Drift", &[("model", "bikes")]),
        ],
        until: 300,
        expect_a: &["30s group Drift=firing"],
        expect_b: &[],
    },
    Case {
        name: "a silence mutes only what it matches, inside a group",
        route: || base().group_by(["team"]),
        setup: nothing,
        send_resolved: true,
        steps: &[
            Step::Silence(0, "model = cars", 1000),
            Step::Fire(0, Error, "Drift", &[("model", "bikes")]),
            Step::Fire(0, Error, "Skew", &[("model", "cars")]),
        ],
        until: 100,
        expect_a: &["30s group Drift=firing"],
        expect_b: &[],
    },
    // ----- time intervals -----
    Case {
        name: "a route inside a mute interval sends at the first tick after it",
        route: || base().route(Route::new().when("team = ml").mute_during("first5")),
        setup: windows,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("team", "ml")]),
            Step::Fire(200, Error, "Drift", &[("team", "ml")]),
        ],
        until: 400,
        // Muted at 30 ... 270 s; 330 s is 10:05:30.
        expect_a: &["330s group Drift=firing"],
        expect_b: &[],
    },
    Case {
        name: "outside its active interval a route sends nothing; a resolution that falls outside is dropped",
        route: || base().route(Route::new().when("team = ml").active_during("first3")),
        setup: windows,
        send_resolved: true,
        steps: &[
            Step::Fire(0, Error, "Drift", &[("team", "ml")]),
            Step::Resolve(170, Error, "Drift", &[("team", "ml")]),
        ],
        until: 400,
        // Sent at 30 s (10:00:30); the resolution is due at 210 s (10:03:30).
        expect_a: &["30s group Drift=firing"],
        expect_b: &[],
    },
    Case {
        name: "time intervals are not inherited by child routes",
        route: || {
            base().route(
                Route::new()
                    .when("team = ml")
                    .mute_during("first5")
                    .route(Route::new().when("model = bikes").receiver("b")),
            )
        },
        setup: windows,
        send_resolved: true,
        steps: &[Step::Fire(
            0,
            Error,
            "Drift",
            &[("team", "ml"), ("model", "bikes")],
        )],
        until: 100,
        expect_a: &[],
        expect_b: &["30s group Drift=firing"],
    },
];

async fn run_case(c: &Case) {
    let start = tokio::time::Instant::now();
    let a = Rec::new("rec", start);
    let b = Rec::new("rec", start);
    let router: Router = build((c.setup)(
        Router::builder()
            .receiver(
                Receiver::new("a")
                    .channel(a.clone())
                    .send_resolved(c.send_resolved),
            )
            .receiver(
                Receiver::new("b")
                    .channel(b.clone())
                    .send_resolved(c.send_resolved),
            )
            .route((c.route)()),
    ))
    .await;
    let mut steps = c.steps.to_vec();
    // Stable: steps at the same second keep their order in the row.
    steps.sort_by_key(Step::at);
    for step in steps {
        at(start, step.at()).await;
        match step {
            Step::Fire(_, sev, name, labels) => {
                router.send(alert(sev, name, labels)).await.unwrap();
            }
            Step::Resolve(_, sev, name, labels) => {
                router
                    .send(alert(sev, name, labels).resolved_at(router.now()))
                    .await
                    .unwrap();
            }
            Step::Silence(_, matcher, until) => {
                router
                    .create_silence(
                        Silence::new(vec![matcher.parse().unwrap()], "table", c.name)
                            .between(router.now(), t0().saturating_add(s(until))),
                    )
                    .await
                    .unwrap();
            }
        }
    }
    at(start, c.until).await;
    assert_eq!(a.lines(), c.expect_a, "case {:?}: receiver a", c.name);
    assert_eq!(b.lines(), c.expect_b, "case {:?}: receiver b", c.name);
    router.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn alertmanager_documented_behaviour() {
    for c in CASES {
        run_case(c).await;
    }
}
