//! The routing tree: [`Route`], built in code or read from config.
//!
//! Matching follows Alertmanager exactly: an alert enters at the root (which matches
//! everything and is the default route); at each node the children are tried in
//! order; the first child that matches takes the alert (depth first) and the search
//! stops there, unless that child has `continue = true`, in which case the next
//! siblings are tried too. A node none of whose children match handles the alert
//! itself. So one alert may end in several routes (fan-out with `continue`).
//!
//! Children inherit `receiver`, `group_by`, `group_wait`, `group_interval`,
//! `repeat_interval` and `escalate` from their parent unless they set them.
//! `matchers`, `continue`, `mute_time_intervals`, `active_time_intervals` and
//! `actions` are the node's own (as in Alertmanager, time intervals are not
//! inherited). Unlike Alertmanager, the root may have time intervals; they then
//! apply only to the alerts the root handles itself.
//!
//! A route muted by its time windows sends nothing: no group notification, no
//! flapping notice, no escalation step.

use std::collections::HashMap;
use std::time::Duration;

use alert_core::{Alert, BuildError};
use serde::{Deserialize, Serialize};

use crate::matcher::{MatchOp, Matcher, all_match, label_value};
use crate::serde_util;

/// Alertmanager's defaults.
pub(crate) const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
pub(crate) const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3600);

/// One escalation step: if an alert is still firing and unacknowledged `after` its
/// start, notify `receiver` too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    /// Delay from when the alert started firing (was first received).
    #[serde(with = "serde_util::duration")]
    pub after: Duration,
    /// The receiver to add.
    pub receiver: String,
}

impl EscalationStep {
    /// A step.
    pub fn new(after: Duration, receiver: impl Into<String>) -> EscalationStep {
        EscalationStep {
            after,
            receiver: receiver.into(),
        }
    }
}

/// A node of the routing tree (Alertmanager's matching, `continue`, inheritance;
/// see the [crate docs](crate) and `docs/routing.md`).
///
/// ```
/// use std::time::Duration;
/// use alert_router::Route;
/// let root = Route::to("team")
///     .group_by(["alertname", "model"])
///     .group_wait(Duration::from_secs(30))
///     .route(Route::new().when("severity >= error").receiver("oncall").continue_matching(true))
///     .route(Route::new().when(r#"model =~ "bikes|cars""#).receiver("mobility"));
/// assert_eq!(root.routes().len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Route {
    /// Optional stable name, used in group keys and reports instead of the path.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// The receiver (inherited when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    receiver: Option<String>,
    /// All must match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    matchers: Vec<Matcher>,
    /// Keep trying the next siblings after this route matched.
    #[serde(rename = "continue", skip_serializing_if = "std::ops::Not::not")]
    continue_: bool,
    /// Labels to group by; `["..."]` groups by all labels (inherited when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    group_by: Option<Vec<String>>,
    /// How long to wait to send a new group's first notification (default 30s).
    #[serde(
        with = "serde_util::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    group_wait: Option<Duration>,
    /// How long to wait before notifying about changes to a group (default 5m).
    #[serde(
        with = "serde_util::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    group_interval: Option<Duration>,
    /// How long to wait before repeating an unchanged notification (default 4h).
    #[serde(
        with = "serde_util::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    repeat_interval: Option<Duration>,
    /// Named time intervals during which the route sends nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mute_time_intervals: Vec<String>,
    /// Named time intervals outside which the route sends nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    active_time_intervals: Vec<String>,
    /// Escalation steps (inherited when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    escalate: Option<Vec<EscalationStep>>,
    /// Named actions to run for firing alerts notified through this route.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<String>,
    /// Child routes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<Route>,
    /// Matcher parse errors from [`Route::when`], reported by the router build.
    #[serde(skip)]
    errors: Vec<String>,
}

impl Route {
    /// A route that matches everything and inherits everything.
    pub fn new() -> Route {
        Route::default()
    }
    /// A route to `receiver` (typically the root).
    pub fn to(receiver: impl Into<String>) -> Route {
        Route::new().receiver(receiver)
    }
    /// Names the route (group keys and reports use the name).
    pub fn named(mut self, name: impl Into<String>) -> Route {
        self.name = Some(name.into());
        self
    }
    /// Sets the receiver.
    pub fn receiver(mut self, r: impl Into<String>) -> Route {
        self.receiver = Some(r.into());
        self
    }
    /// Adds a matcher.
    pub fn matching(mut self, m: Matcher) -> Route {
        self.matchers.push(m);
        self
    }
    /// Adds a matcher written as text (`severity >= error`, `model = bikes`); a parse
    /// error is reported when the router is built.
    pub fn when(mut self, text: &str) -> Route {
        match text.parse() {
            Ok(m) => self.matchers.push(m),
            Err(e) => self.errors.push(e.to_string()),
        }
        self
    }
    /// Sets `continue`.
    pub fn continue_matching(mut self, c: bool) -> Route {
        self.continue_ = c;
        self
    }
    /// Sets `group_by` (`["..."]` for all labels).
    pub fn group_by<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Route {
        self.group_by = Some(labels.into_iter().map(Into::into).collect());
        self
    }
    /// Sets `group_wait`.
    pub fn group_wait(mut self, d: Duration) -> Route {
        self.group_wait = Some(d);
        self
    }
    /// Sets `group_interval`.
    pub fn group_interval(mut self, d: Duration) -> Route {
        self.group_interval = Some(d);
        self
    }
    /// Sets `repeat_interval`: an unchanged group is sent again at the first
    /// `group_interval` tick strictly after this long since its last notification
    /// (Alertmanager's boundary).
    pub fn repeat_interval(mut self, d: Duration) -> Route {
        self.repeat_interval = Some(d);
        self
    }
    /// Mutes the route during the named time interval.
    pub fn mute_during(mut self, interval: impl Into<String>) -> Route {
        self.mute_time_intervals.push(interval.into());
        self
    }
    /// Makes the route send only during the named time interval(s).
    pub fn active_during(mut self, interval: impl Into<String>) -> Route {
        self.active_time_intervals.push(interval.into());
        self
    }
    /// Adds an escalation step.
    pub fn escalate(mut self, after: Duration, receiver: impl Into<String>) -> Route {
        self.escalate
            .get_or_insert_with(Vec::new)
            .push(EscalationStep::new(after, receiver));
        self
    }
    /// Runs the named action for firing alerts notified through this route.
    pub fn action(mut self, name: impl Into<String>) -> Route {
        self.actions.push(name.into());
        self
    }
    /// Adds a child route.
    pub fn route(mut self, child: Route) -> Route {
        self.routes.push(child);
        self
    }
    /// The child routes.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
    /// The matchers.
    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }
}

/// How a route groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GroupBy {
    /// `...`: every label (one group per label set).
    All,
    /// These labels, sorted.
    Labels(Vec<String>),
}

/// A compiled route with its settings resolved.
#[derive(Clone, Debug)]
pub(crate) struct RouteNode {
    pub(crate) id: String,
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) cont: bool,
    pub(crate) children: Vec<u32>,
    pub(crate) receiver: u32,
    pub(crate) group_by: GroupBy,
    pub(crate) group_wait: Duration,
    pub(crate) group_interval: Duration,
    pub(crate) repeat_interval: Duration,
    pub(crate) mute: Vec<u32>,
    pub(crate) active: Vec<u32>,
    pub(crate) escalate: Vec<(Duration, u32)>,
    pub(crate) actions: Vec<u32>,
    /// For nodes with many children: which children can match, by the value of the
    /// label most children test for equality.
    pub(crate) index: Option<ChildIndex>,
}

/// Children of a node indexed by one label's value (equality matchers), so matching
/// tries only the children that can match, still in their order.
#[derive(Clone, Debug)]
pub(crate) struct ChildIndex {
    label: String,
    /// Positions (in `children`) of the children requiring `label == value`.
    by_value: HashMap<String, Vec<u32>>,
    /// Positions of the children with no equality matcher on `label`.
    rest: Vec<u32>,
}

/// Nodes with fewer children are scanned in order.
const INDEX_MIN_CHILDREN: usize = 8;

/// Names the compiled tree refers to.
pub(crate) struct Names<'a> {
    pub(crate) receivers: &'a HashMap<String, u32>,
    pub(crate) intervals: &'a HashMap<String, u32>,
    pub(crate) actions: &'a HashMap<String, u32>,
}

/// The compiled tree; node 0 is the root.
#[derive(Clone, Debug)]
pub(crate) struct RouteTree {
    pub(crate) nodes: Vec<RouteNode>,
}

#[derive(Clone)]
struct Inherited {
    receiver: Option<u32>,
    group_by: GroupBy,
    group_wait: Duration,
    group_interval: Duration,
    repeat_interval: Duration,
    escalate: Vec<(Duration, u32)>,
}

impl RouteTree {
    /// Compiles `root`; errors name the path of the bad key (`route.routes[1].receiver`).
    pub(crate) fn compile(root: &Route, names: &Names<'_>) -> Result<RouteTree, BuildError> {
        if !root.matchers.is_empty() {
            return Err(BuildError::invalid(
                "route.matchers",
                "the root route matches every alert and cannot have matchers",
            ));
        }
        if root.continue_ {
            return Err(BuildError::invalid(
                "route.continue",
                "the root route cannot have `continue`",
            ));
        }
        let inherited = Inherited {
            receiver: None,
            group_by: GroupBy::Labels(Vec::new()),
            group_wait: DEFAULT_GROUP_WAIT,
            group_interval: DEFAULT_GROUP_INTERVAL,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
            escalate: Vec::new(),
        };
        let mut tree = RouteTree { nodes: Vec::new() };
        let mut seen = HashMap::new();
        tree.add(root, "route", "root", &inherited, names, &mut seen)?;
        for i in 0..tree.nodes.len() {
            tree.nodes[i].index = tree.build_index(i);
        }
        Ok(tree)
    }

    fn eq_value<'a>(&'a self, child: u32, label: &str) -> Option<&'a str> {
        self.nodes[child as usize]
            .matchers
            .iter()
            .find(|m| m.op() == MatchOp::Eq && m.name() == label)
            .map(Matcher::value)
    }

    fn build_index(&self, node: usize) -> Option<ChildIndex> {
        let children = &self.nodes[node].children;
        if children.len() < INDEX_MIN_CHILDREN {
            return None;
        }
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for &c in children {
            let mut seen = Vec::new();
            for m in &self.nodes[c as usize].matchers {
                if m.op() == MatchOp::Eq && !seen.contains(&m.name()) {
                    seen.push(m.name());
                    *counts.entry(m.name()).or_default() += 1;
                }
            }
        }
        let (label, n) = counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?;
        if n < INDEX_MIN_CHILDREN / 2 {
            return None;
        }
        let label = label.to_owned();
        let mut by_value: HashMap<String, Vec<u32>> = HashMap::new();
        let mut rest = Vec::new();
        for (pos, &c) in children.iter().enumerate() {
            match self.eq_value(c, &label) {
                Some(v) => by_value.entry(v.to_owned()).or_default().push(pos as u32),
                None => rest.push(pos as u32),
            }
        }
        Some(ChildIndex {
            label,
            by_value,
            rest,
        })
    }

    fn add(
        &mut self,
        r: &Route,
        path: &str,
        default_id: &str,
        parent: &Inherited,
        names: &Names<'_>,
        seen: &mut HashMap<String, String>,
    ) -> Result<u32, BuildError> {
        if let Some(e) = r.errors.first() {
            return Err(BuildError::invalid(format!("{path}.matchers"), e));
        }
        let id = r.name.clone().unwrap_or_else(|| default_id.to_owned());
        if let Some(other) = seen.insert(id.clone(), path.to_owned()) {
            return Err(BuildError::invalid(
                format!("{path}.name"),
                format!("route name `{id}` is already used by {other}"),
            ));
        }
        let mut inh = parent.clone();
        if let Some(name) = &r.receiver {
            let idx = names.receivers.get(name).ok_or_else(|| {
                BuildError::invalid(
                    format!("{path}.receiver"),
                    format!("no receiver named `{name}`"),
                )
            })?;
            inh.receiver = Some(*idx);
        }
        let receiver = inh.receiver.ok_or_else(|| {
            BuildError::invalid(
                format!("{path}.receiver"),
                "the root route needs a receiver",
            )
        })?;
        if let Some(g) = &r.group_by {
            inh.group_by = if g.iter().any(|l| l == "...") {
                if g.len() > 1 {
                    return Err(BuildError::invalid(
                        format!("{path}.group_by"),
                        "`...` (all labels) cannot be combined with other labels",
                    ));
                }
                GroupBy::All
            } else {
                let mut v = g.clone();
                v.sort();
                v.dedup();
                GroupBy::Labels(v)
            };
        }
        for (field, d, slot) in [
            ("group_wait", r.group_wait, &mut inh.group_wait),
            ("group_interval", r.group_interval, &mut inh.group_interval),
            (
                "repeat_interval",
                r.repeat_interval,
                &mut inh.repeat_interval,
            ),
        ] {
            if let Some(d) = d {
                if field != "group_wait" && d.is_zero() {
                    return Err(BuildError::invalid(
                        format!("{path}.{field}"),
                        "must be greater than zero",
                    ));
                }
                *slot = d;
            }
        }
        if let Some(steps) = &r.escalate {
            let mut out = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                let idx = names.receivers.get(&s.receiver).ok_or_else(|| {
                    BuildError::invalid(
                        format!("{path}.escalate[{i}].receiver"),
                        format!("no receiver named `{}`", s.receiver),
                    )
                })?;
                if let Some((prev, _)) = out.last()
                    && s.after <= *prev
                {
                    return Err(BuildError::invalid(
                        format!("{path}.escalate[{i}].after"),
                        "escalation steps must come in increasing `after` order",
                    ));
                }
                out.push((s.after, *idx));
            }
            inh.escalate = out;
        }
        let lookup = |field: &str, list: &[String], map: &HashMap<String, u32>, what: &str| {
            list.iter()
                .enumerate()
                .map(|(i, n)| {
                    map.get(n).copied().ok_or_else(|| {
                        BuildError::invalid(
                            format!("{path}.{field}[{i}]"),
                            format!("no {what} named `{n}`"),
                        )
                    })
                })
                .collect::<Result<Vec<u32>, BuildError>>()
        };
        let mute = lookup(
            "mute_time_intervals",
            &r.mute_time_intervals,
            names.intervals,
            "time interval",
        )?;
        let active = lookup(
            "active_time_intervals",
            &r.active_time_intervals,
            names.intervals,
            "time interval",
        )?;
        let actions = lookup("actions", &r.actions, names.actions, "action")?;
        let idx = self.nodes.len() as u32;
        self.nodes.push(RouteNode {
            id,
            matchers: r.matchers.clone(),
            cont: r.continue_,
            children: Vec::new(),
            receiver,
            group_by: inh.group_by.clone(),
            group_wait: inh.group_wait,
            group_interval: inh.group_interval,
            repeat_interval: inh.repeat_interval,
            mute,
            active,
            escalate: inh.escalate.clone(),
            actions,
            index: None,
        });
        let own_id = self.nodes[idx as usize].id.clone();
        for (i, child) in r.routes.iter().enumerate() {
            let c = self.add(
                child,
                &format!("{path}.routes[{i}]"),
                &format!("{own_id}/{i}"),
                &inh,
                names,
                seen,
            )?;
            self.nodes[idx as usize].children.push(c);
        }
        Ok(idx)
    }

    /// The routes `alert` ends in, in tree order (Alertmanager's `Route.Match`).
    pub(crate) fn match_alert(&self, alert: &Alert, out: &mut Vec<u32>) {
        out.clear();
        self.match_node(0, alert, out);
    }

    fn match_node(&self, idx: u32, alert: &Alert, out: &mut Vec<u32>) -> bool {
        let node = &self.nodes[idx as usize];
        if !all_match(&node.matchers, alert) {
            return false;
        }
        let before = out.len();
        match &node.index {
            None => {
                for &c in &node.children {
                    let matched = self.match_node(c, alert, out);
                    if matched && !self.nodes[c as usize].cont {
                        break;
                    }
                }
            }
            Some(ix) => {
                // Merge the two sorted position lists: same order as a full scan, minus
                // the children whose equality matcher cannot hold.
                let value = label_value(alert, &ix.label);
                let hits: &[u32] = ix.by_value.get(value).map_or(&[], Vec::as_slice);
                let quick = ix.label != "severity";
                let (mut i, mut j) = (0, 0);
                while i < hits.len() || j < ix.rest.len() {
                    let pos = if j >= ix.rest.len() || (i < hits.len() && hits[i] < ix.rest[j]) {
                        i += 1;
                        hits[i - 1]
                    } else {
                        j += 1;
                        ix.rest[j - 1]
                    };
                    let c = node.children[pos as usize];
                    // Reject on the indexed label with the value already read (a
                    // regex route on `model`, say) before the full check.
                    if quick
                        && self.nodes[c as usize]
                            .matchers
                            .iter()
                            .any(|m| m.name() == ix.label && !m.matches_value(value))
                    {
                        continue;
                    }
                    let matched = self.match_node(c, alert, out);
                    if matched && !self.nodes[c as usize].cont {
                        break;
                    }
                }
            }
        }
        if out.len() == before {
            out.push(idx);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Severity;

    fn names() -> (
        HashMap<String, u32>,
        HashMap<String, u32>,
        HashMap<String, u32>,
    ) {
        let r = ["team", "oncall", "mobility", "db"]
            .iter()
            .enumerate()
            .map(|(i, n)| (n.to_string(), i as u32))
            .collect();
        (r, HashMap::new(), HashMap::new())
    }

    fn compile(root: &Route) -> Result<RouteTree, BuildError> {
        let (r, i, a) = names();
        RouteTree::compile(
            root,
            &Names {
                receivers: &r,
                intervals: &i,
                actions: &a,
            },
        )
    }

    fn ids(tree: &RouteTree, alert: &Alert) -> Vec<String> {
        let mut out = Vec::new();
        tree.match_alert(alert, &mut out);
        out.iter()
            .map(|i| tree.nodes[*i as usize].id.clone())
            .collect()
    }

    #[test]
    fn first_match_wins_continue_fans_out_default_catches_rest() {
        let tree = compile(
            &Route::to("team")
                .route(
                    Route::new()
                        .when("severity >= error")
                        .receiver("oncall")
                        .continue_matching(true),
                )
                .route(Route::new().when("model = bikes").receiver("mobility"))
                .route(Route::new().when("model = bikes").receiver("db")),
        )
        .unwrap();
        let crit_bikes = Alert::new(Severity::Critical, "X").with_label("model", "bikes");
        assert_eq!(ids(&tree, &crit_bikes), ["root/0", "root/1"]);
        let warn_bikes = Alert::new(Severity::Warning, "X").with_label("model", "bikes");
        assert_eq!(ids(&tree, &warn_bikes), ["root/1"]);
        let info = Alert::new(Severity::Info, "X");
        assert_eq!(ids(&tree, &info), ["root"]);
    }

    #[test]
    fn children_inherit_and_override() {
        let tree = compile(
            &Route::to("team")
                .group_by(["alertname"])
                .group_wait(Duration::from_secs(10))
                .escalate(Duration::from_secs(900), "oncall")
                .route(
                    Route::new()
                        .when("model = bikes")
                        .repeat_interval(Duration::from_secs(60))
                        .route(
                            Route::new()
                                .when("env = prod")
                                .receiver("db")
                                .group_by(["..."]),
                        ),
                ),
        )
        .unwrap();
        let leaf = &tree.nodes[2];
        assert_eq!(leaf.id, "root/0/0");
        assert_eq!(leaf.receiver, 3);
        assert_eq!(leaf.group_by, GroupBy::All);
        assert_eq!(leaf.group_wait, Duration::from_secs(10));
        assert_eq!(leaf.repeat_interval, Duration::from_secs(60));
        assert_eq!(leaf.group_interval, DEFAULT_GROUP_INTERVAL);
        assert_eq!(leaf.escalate, vec![(Duration::from_secs(900), 1)]);
        let mid = &tree.nodes[1];
        assert_eq!(mid.receiver, 0);
        assert_eq!(mid.group_by, GroupBy::Labels(vec!["alertname".into()]));
        // A child that matches but whose own children do not handles the alert itself.
        let a = Alert::new(Severity::Info, "X").with_label("model", "bikes");
        assert_eq!(ids(&tree, &a), ["root/0"]);
    }

    #[test]
    fn the_child_index_gives_the_same_routes_as_a_full_scan() {
        let mut root = Route::to("team");
        for i in 0..40 {
            let r = match i % 4 {
                0 => Route::new().when(&format!("model = m{}", i % 7)),
                1 => Route::new()
                    .when(&format!("model = m{}", i % 5))
                    .when("severity >= error")
                    .continue_matching(true),
                2 => Route::new().when(r#"model =~ "m1|m2""#),
                _ => Route::new()
                    .when("env = prod")
                    .continue_matching(i % 8 == 3),
            };
            root = root.route(r.receiver(if i % 2 == 0 { "db" } else { "oncall" }));
        }
        let indexed = compile(&root).unwrap();
        assert!(indexed.nodes[0].index.is_some());
        let mut plain = indexed.clone();
        plain.nodes[0].index = None;
        for model in ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "x", ""] {
            for sev in Severity::ALL {
                for env in ["prod", "dev"] {
                    let a = Alert::new(sev, "X")
                        .with_label("model", model)
                        .with_label("env", env);
                    let (mut x, mut y) = (Vec::new(), Vec::new());
                    indexed.match_alert(&a, &mut x);
                    plain.match_alert(&a, &mut y);
                    assert_eq!(x, y, "{model} {sev} {env}");
                }
            }
        }
    }

    #[test]
    fn errors_carry_the_path() {
        for (root, field) in [
            (
                Route::to("team").route(Route::new().route(Route::new().receiver("nobody"))),
                "route.routes[0].routes[0].receiver",
            ),
            (Route::new(), "route.receiver"),
            (
                Route::to("team").when("severity >= error"),
                "route.matchers",
            ),
            (
                Route::to("team").route(Route::new().when("bad matcher")),
                "route.routes[0].matchers",
            ),
            (
                Route::to("team").route(Route::new().mute_during("weekends")),
                "route.routes[0].mute_time_intervals[0]",
            ),
            (
                Route::to("team").route(Route::new().group_interval(Duration::ZERO)),
                "route.routes[0].group_interval",
            ),
            (
                Route::to("team")
                    .route(Route::new().named("x"))
                    .route(Route::new().named("x")),
                "route.routes[1].name",
            ),
        ] {
            match compile(&root) {
                Err(BuildError::InvalidConfig { field: f, reason }) => {
                    assert_eq!(f, field, "{reason}")
                }
                other => panic!("expected an error at {field}, got {other:?}"),
            }
        }
    }
}
