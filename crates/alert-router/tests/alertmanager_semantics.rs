//! The same scenarios as Alertmanager's documented behaviour, table-driven, on a
//! paused clock. Each case sends alerts at given seconds and lists, written out by
//! hand, every call the channel must see and when.
//!
//! Alertmanager's rules exercised (from its configuration docs and `DedupStage`):
//! * a new group waits `group_wait` before its first notification, collecting what
//!   arrives meanwhile;
//! * later changes wait for the next `group_interval` tick;
//! * an unchanged group is re-sent once `repeat_interval` has passed (checked at the
//!   ticks);
//! * a resolved alert is sent (with `send_resolved`) at the next tick, and a group
//!   whose alerts all resolved gets a last notification;
//! * a group that only ever had resolved alerts sends nothing;
//! * `group_by` splits groups, `...` groups by every label;
//! * `continue` fans out; the root is the default route;
//! * an alert without `ends_at` resolves `resolve_timeout` after it was last received.

mod common;

use std::time::Duration;

use alert_core::Severity::{self, Critical, Error, Info, Warning};
use alert_router::{Receiver, Route, Router};
use common::{Rec, alert, at, build};

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
}

struct Case {
    name: &'static str,
    /// The routing tree: receivers `a` and `b` exist, each with one recording channel.
    route: fn() -> Route,
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

const CASES: &[Case] = &[
    Case {
        name: "group_wait collects alerts arriving during the wait into one notification",
        route: base,
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
        name: "an unchanged group repeats after repeat_interval, at a tick",
        route: base,
        send_resolved: true,
        steps: &[Step::Fire(0, Error, "Drift", &[("model", "bikes")])],
        // Re-sent every tick until 300s so it does not resolve by timeout.
        until: 700,
        expect_a: &["30s group Drift=firing", "630s group Drift=firing"],
        expect_b: &[],
    },
    Case {
        name: "a resolution is sent at the next tick; the group's last notice updates the message",
        route: base,
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
        send_resolved: true,
        steps: &[Step::Fire(0, Error, "Drift", &[])],
        until: 400,
        expect_a: &["30s group Drift=firing", "330s update#1 Drift=resolved"],
        expect_b: &[],
    },
];

async fn run_case(c: &Case) {
    let start = tokio::time::Instant::now();
    let a = Rec::new("rec", start);
    let b = Rec::new("rec", start);
    let router: Router = build(
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
    )
    .await;
    let mut steps = c.steps.to_vec();
    // Keep firing alerts alive like Prometheus does (re-sent every 60s) in the repeat
    // case, so resolve_timeout does not end them.
    if c.name.starts_with("an unchanged group repeats") {
        for secs in (60..c.until).step_by(60) {
            steps.push(Step::Fire(secs, Error, "Drift", &[("model", "bikes")]));
        }
    }
    steps.sort_by_key(|s| match s {
        Step::Fire(t, ..) | Step::Resolve(t, ..) => *t,
    });
    for step in steps {
        match step {
            Step::Fire(t, sev, name, labels) => {
                at(start, t).await;
                router.send(alert(sev, name, labels)).await.unwrap();
            }
            Step::Resolve(t, sev, name, labels) => {
                at(start, t).await;
                router
                    .send(alert(sev, name, labels).resolved_at(router.now()))
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
