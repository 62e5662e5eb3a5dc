//! The incident lifecycle against the stateful fake: create, update, escalate,
//! de-escalate, resolve; restarts; customer-facing text; groups; concurrency.

use std::sync::Arc;

use alert_core::{Alert, Evidence, Fingerprint, Notifier, Receipt, Severity, Source, Timestamp};
use alert_statuspal::fake::{FakeIncident, FakeStatuspal};
use alert_statuspal::{
    ResolveStyle, StatuspalConfig, StatuspalNotifier, StatuspalSeverityMap, StatuspalTemplates,
};
use alert_testkit::fake::{Recorded, Reply};

struct Setup {
    fake: FakeStatuspal,
    checkout: u64,
    search: u64,
    general: u64,
}

async fn setup() -> Setup {
    let fake = FakeStatuspal::start().await.expect("fake starts");
    let checkout = fake.add_service("Checkout");
    let search = fake.add_service("Search");
    let general = fake.add_service("Website");
    Setup {
        fake,
        checkout,
        search,
        general,
    }
}

impl Setup {
    fn config(&self) -> StatuspalConfig {
        self.fake
            .config()
            .with_services("service=checkout", [self.checkout])
            .with_services("service=search", [self.search])
            .with_default_services([self.general])
    }

    fn notifier(&self) -> StatuspalNotifier {
        StatuspalNotifier::new(self.config()).expect("valid config")
    }
}

fn alert(sev: Severity) -> Alert {
    Alert::new(sev, "CheckoutModelDown")
        .with_summary("Checkout recommendations are unavailable")
        .with_message("internal: pod ml-serving-7f9 OOMKilled on node gke-prod-3")
        .with_label("service", "checkout")
        .with_label("cluster", "gke-prod-eu-west1")
        .with_runbook("https://runbooks.internal.example/checkout")
        .with_evidence(
            Evidence::metric("error_rate")
                .observed(0.734)
                .threshold(0.05)
                .segment("tenant=bigcorp"),
        )
        .with_source(
            Source::model("reco-ranker")
                .version("41")
                .environment("prod"),
        )
}

fn writes(reqs: &[Recorded]) -> Vec<String> {
    reqs.iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn with_marker(fake: &FakeStatuspal, fp: Fingerprint) -> Vec<FakeIncident> {
    let m = format!("[ref:{fp}]");
    fake.incidents()
        .into_iter()
        .filter(|i| i.updates.iter().any(|u| u.description.contains(&m)))
        .collect()
}

#[tokio::test]
async fn create_update_escalate_deescalate_resolve() {
    let s = setup().await;
    let n = s.notifier();
    let key = s.fake.api_key();

    // 1. First firing (error → minor): a new incident with the documented body.
    let r1 = n.notify(&alert(Severity::Error)).await.expect("created");
    let id = r1.id.clone().expect("incident id");
    assert_eq!(r1.channel, "statuspal");
    assert_eq!(r1.meta("action"), Some("created"));
    assert_eq!(r1.meta("incident_type"), Some("minor"));
    assert_eq!(
        r1.url.as_deref(),
        Some(format!("{}/status/acme/incidents/{id}", s.fake.url()).as_str())
    );
    let reqs = s.fake.recorder().take();
    // A miss lists first (relist interval 0 in the fake's config), then creates.
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/api/v2/status_pages/acme/incidents");
    assert_eq!(reqs[0].query.as_deref(), Some("limit=100"));
    assert_eq!(writes(&reqs), ["POST /api/v2/status_pages/acme/incidents"]);
    for r in &reqs {
        assert_eq!(
            r.header("authorization"),
            Some(key.as_str()),
            "raw key, no Bearer"
        );
        assert_eq!(r.header("accept"), Some("application/json"));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let body = reqs[1].json().expect("json body");
    let fp = alert(Severity::Error).fingerprint();
    assert_eq!(
        body,
        serde_json::json!({"incident": {
            "type": "minor",
            "title": "Checkout recommendations are unavailable",
            "service_ids": [s.checkout],
            "updates": [{
                "type": "issue",
                "description": format!(
                    "We are investigating an issue: Checkout recommendations are unavailable\n\n[ref:{fp}]"
                ),
            }],
        }})
    );

    // 2. Repeat: an update, no new incident.
    let r2 = n.notify(&alert(Severity::Error)).await.expect("updated");
    assert_eq!(r2.id.as_deref(), Some(id.as_str()));
    assert_eq!(r2.meta("action"), Some("updated"));
    let reqs = s.fake.recorder().take();
    assert_eq!(
        writes(&reqs),
        [format!(
            "POST /api/v2/status_pages/acme/incidents/{id}/updates"
        )]
    );
    assert!(
        reqs.iter().all(|r| r.method != "GET"),
        "a hit needs no lookup"
    );
    assert_eq!(
        reqs[0].json().unwrap(),
        serde_json::json!({"update": {"type": "update",
            "description": "We are still working on this issue: Checkout recommendations are unavailable"}})
    );

    // 3. Critical: the type becomes major, with an escalate update.
    let r3 = n
        .notify(&alert(Severity::Critical))
        .await
        .expect("escalated");
    assert_eq!(r3.meta("action"), Some("escalated"));
    assert_eq!(r3.meta("incident_type"), Some("major"));
    let reqs = s.fake.recorder().take();
    assert_eq!(
        writes(&reqs),
        [
            format!("PUT /api/v2/status_pages/acme/incidents/{id}"),
            format!("POST /api/v2/status_pages/acme/incidents/{id}/updates"),
        ]
    );
    assert_eq!(
        reqs[0].json().unwrap(),
        serde_json::json!({"incident": {"type": "major"}})
    );

    // 4. Back to error: de-escalate.
    let r4 = n
        .notify(&alert(Severity::Error))
        .await
        .expect("deescalated");
    assert_eq!(r4.meta("action"), Some("deescalated"));
    assert_eq!(
        s.fake.incident(id.parse().unwrap()).unwrap().incident_type,
        "minor"
    );
    s.fake.recorder().take();

    // 5. Resolution: a resolved update, then ends_at, and the incident is closed.
    let resolved = alert(Severity::Error).resolved_at(Timestamp::now());
    let r5 = n.update(&resolved, &r4).await.expect("resolved");
    assert_eq!(r5.meta("action"), Some("resolved"));
    assert_eq!(r5.id.as_deref(), Some(id.as_str()));
    let reqs = s.fake.recorder().take();
    assert_eq!(
        writes(&reqs),
        [
            format!("POST /api/v2/status_pages/acme/incidents/{id}/updates"),
            format!("PUT /api/v2/status_pages/acme/incidents/{id}"),
        ]
    );
    assert!(reqs[1].json().unwrap()["incident"]["ends_at"].is_string());

    let all = s.fake.incidents();
    assert_eq!(all.len(), 1, "one incident for the whole lifecycle");
    let inc = &all[0];
    assert!(!inc.is_open());
    assert_eq!(inc.incident_type, "minor");
    assert_eq!(
        inc.update_types(),
        ["issue", "update", "escalate", "deescalate", "resolved"]
    );
    assert_eq!(inc.service_ids, vec![s.checkout]);
    assert!(n.open_incidents().is_empty());

    // 6. A later firing opens a new incident.
    let r6 = n.notify(&alert(Severity::Critical)).await.expect("created");
    assert_eq!(r6.meta("action"), Some("created"));
    assert_ne!(r6.id, r1.id);
    assert_eq!(s.fake.open_incidents().len(), 1);
}

#[tokio::test]
async fn a_restart_finds_the_open_incident_across_pages_instead_of_creating_a_second() {
    let s = setup().await;
    let a = alert(Severity::Error);
    let fp = a.fingerprint();
    let first = s.notifier();
    let r = first.notify(&a).await.expect("created");
    let id = r.id.clone().unwrap();
    drop(first); // the process dies

    // Newer incidents push ours to the last page (page size 2): open ones by hand,
    // closed ones, and one whose text quotes a marker of another alert.
    for i in 0..6 {
        s.fake
            .seed_incident("minor", &format!("Other {i}"), "Something else", i % 2 == 0);
    }
    s.fake
        .seed_incident("major", "Other", "[ref:0123456789abcdef]", true);
    s.fake.set_page_size(2);
    s.fake.recorder().take();

    let restarted = s.notifier();
    assert!(restarted.open_incidents().is_empty());
    let r = restarted.notify(&a).await.expect("updated, not created");
    assert_eq!(r.meta("action"), Some("updated"));
    assert_eq!(r.id.as_deref(), Some(id.as_str()));
    let reqs = s.fake.recorder().take();
    let lists: Vec<&Recorded> = reqs.iter().filter(|r| r.method == "GET").collect();
    assert_eq!(lists.len(), 4, "8 incidents at 2 per page");
    for l in &lists {
        // links.next says /api/v1/; the notifier stays on v2 and keeps the cursor.
        assert_eq!(l.path, "/api/v2/status_pages/acme/incidents");
    }
    assert!(lists[1].query.as_deref().unwrap().contains("before="));
    assert_eq!(
        writes(&reqs),
        [format!(
            "POST /api/v2/status_pages/acme/incidents/{id}/updates"
        )]
    );
    assert_eq!(with_marker(&s.fake, fp).len(), 1);

    // A third instance resolves it, also from the marker alone.
    let third = s.notifier();
    let r = third
        .notify(&a.clone().resolved_at(Timestamp::now()))
        .await
        .expect("resolved");
    assert_eq!(r.meta("action"), Some("resolved"));
    assert!(!s.fake.incident(id.parse().unwrap()).unwrap().is_open());
    assert_eq!(with_marker(&s.fake, fp).len(), 1);
}

#[tokio::test]
async fn sync_at_start_up_loads_every_open_incident() {
    let s = setup().await;
    let n = s.notifier();
    let a = alert(Severity::Error);
    let b = alert(Severity::Critical).with_label("service", "search");
    n.notify(&a).await.unwrap();
    n.notify(&b).await.unwrap();
    let restarted = s.notifier();
    assert_eq!(restarted.sync().await.expect("listed"), 2);
    let mut want = vec![a.fingerprint(), b.fingerprint()];
    want.sort();
    let got: Vec<Fingerprint> = restarted
        .open_incidents()
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn next_links_to_another_host_are_not_followed_there() {
    let s = setup().await;
    for i in 0..4 {
        s.fake.seed_incident("minor", &format!("x{i}"), "x", true);
    }
    s.fake.set_page_size(1);
    // A link to a port nobody listens on: following it literally would fail.
    s.fake.set_next_link_origin(Some("http://127.0.0.1:9"));
    let n = s.notifier();
    n.notify(&alert(Severity::Error)).await.expect("created");
    let gets = s
        .fake
        .recorder()
        .take()
        .into_iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(gets, 4, "every page was read from the configured host");
}

#[tokio::test]
async fn public_text_never_carries_labels_evidence_messages_or_links() {
    let s = setup().await;
    let n = s.notifier();
    let mut receipt = n.notify(&alert(Severity::Error)).await.unwrap();
    for sev in [Severity::Error, Severity::Critical, Severity::Error] {
        receipt = n.notify(&alert(sev)).await.unwrap();
    }
    n.update(
        &alert(Severity::Error).resolved_at(Timestamp::now()),
        &receipt,
    )
    .await
    .unwrap();
    let inc = &s.fake.incidents()[0];
    let public = format!(
        "{}\n{}",
        inc.title,
        inc.updates
            .iter()
            .map(|u| u.description.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(inc.updates.len(), 5);
    for internal in [
        "gke-prod",
        "ml-serving",
        "OOMKilled",
        "runbooks.internal",
        "error_rate",
        "0.734",
        "tenant=bigcorp",
        "bigcorp",
        "reco-ranker",
        "CheckoutModelDown",
        "cluster",
    ] {
        assert!(!public.contains(internal), "{internal} leaked:\n{public}");
    }
    // Every request body, not just what the fake stored.
    for r in s.fake.recorder().all() {
        let body = r.text();
        assert!(
            !body.contains("gke-prod") && !body.contains("bigcorp"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn templates_publish_a_label_only_when_asked() {
    let s = setup().await;
    let templates = StatuspalTemplates {
        title: "{summary} ({label:service})".into(),
        created: "Investigating {name} on <{label:service}>.".into(),
        ..StatuspalTemplates::default()
    };
    let n = StatuspalNotifier::new(s.config().with_templates(templates)).unwrap();
    let a = alert(Severity::Critical).with_summary("Down [now](https://evil.example)\u{202e}");
    n.notify(&a).await.unwrap();
    let inc = &s.fake.incidents()[0];
    assert_eq!(inc.title, "Down [now] (https://evil.example) (checkout)");
    assert!(
        inc.updates[0]
            .description
            .starts_with("Investigating CheckoutModelDown on <checkout>.\n\n[ref:"),
        "{}",
        inc.updates[0].description
    );
    assert!(!inc.title.contains("gke-prod"));

    let e = StatuspalNotifier::new(s.config().with_templates(StatuspalTemplates {
        resolved: "Fixed: {labels}".into(),
        ..StatuspalTemplates::default()
    }))
    .expect_err("unknown placeholder");
    assert!(e.to_string().contains("templates.resolved"), "{e}");
}

#[tokio::test]
async fn unpublished_severities_send_nothing() {
    let s = setup().await;
    let n = s.notifier();
    for sev in [Severity::Info, Severity::Warning] {
        let r = n.notify(&alert(sev)).await.expect("acknowledged");
        assert_eq!(r.meta("skipped"), Some("severity-not-published"));
        assert!(r.meta("reason").unwrap().contains(sev.as_str()));
        assert!(r.id.is_none());
    }
    assert!(s.fake.recorder().is_empty(), "no request at all");

    // An open incident whose alert drops to warning is left as it is.
    let created = n.notify(&alert(Severity::Error)).await.unwrap();
    s.fake.recorder().take();
    let r = n.notify(&alert(Severity::Warning)).await.unwrap();
    assert_eq!(r.meta("skipped"), Some("severity-not-published"));
    assert_eq!(r.id, created.id);
    assert!(s.fake.recorder().take().is_empty());

    // publish_all sends warnings as minor incidents.
    let all = StatuspalNotifier::new(
        s.config()
            .with_severity(StatuspalSeverityMap::publish_all()),
    )
    .unwrap();
    let r = all
        .notify(&alert(Severity::Warning).with_label("service", "search"))
        .await
        .unwrap();
    assert_eq!(r.meta("action"), Some("created"));
    assert_eq!(r.meta("incident_type"), Some("minor"));
}

#[tokio::test]
async fn services_follow_labels_and_fall_back_to_the_default() {
    let s = setup().await;
    let n = s.notifier();
    n.notify(&alert(Severity::Error).with_label("service", "search"))
        .await
        .unwrap();
    n.notify(&alert(Severity::Error).with_label("service", "unknown"))
        .await
        .unwrap();
    let incs = s.fake.incidents();
    assert_eq!(incs[0].service_ids, vec![s.search]);
    assert_eq!(incs[1].service_ids, vec![s.general]);
}

#[tokio::test]
async fn update_with_a_receipt_needs_no_lookup() {
    let s = setup().await;
    let r = s
        .notifier()
        .notify(&alert(Severity::Critical))
        .await
        .unwrap();
    s.fake.recorder().take();
    let other_process = s.notifier();
    let done = other_process
        .update(&alert(Severity::Critical).resolved_at(Timestamp::now()), &r)
        .await
        .unwrap();
    assert_eq!(done.meta("action"), Some("resolved"));
    let reqs = s.fake.recorder().take();
    assert!(
        reqs.iter().all(|r| r.method != "GET"),
        "{:?}",
        writes(&reqs)
    );
}

#[tokio::test]
async fn resolving_closes_the_incident_under_either_api_behaviour() {
    // The resolved update does not close: the PUT does.
    let s = setup().await;
    s.fake.set_resolved_update_closes(false);
    let n = s.notifier();
    let a = alert(Severity::Error);
    n.notify(&a).await.unwrap();
    n.notify(&a.clone().resolved_at(Timestamp::now()))
        .await
        .unwrap();
    assert!(!s.fake.incidents()[0].is_open());

    // The answer shows the update closed it: no PUT.
    let s = setup().await;
    s.fake.set_update_answers_with_incident(true);
    let n = s.notifier();
    n.notify(&a).await.unwrap();
    s.fake.recorder().take();
    n.notify(&a.clone().resolved_at(Timestamp::now()))
        .await
        .unwrap();
    assert!(!s.fake.incidents()[0].is_open());
    assert!(s.fake.recorder().take().iter().all(|r| r.method != "PUT"));

    // resolve = "resolved_update": never a PUT.
    let s = setup().await;
    let mut c = s.config();
    c.api.resolve = ResolveStyle::ResolvedUpdate;
    let n = StatuspalNotifier::new(c).unwrap();
    n.notify(&a).await.unwrap();
    s.fake.recorder().take();
    n.notify(&a.clone().resolved_at(Timestamp::now()))
        .await
        .unwrap();
    assert!(!s.fake.incidents()[0].is_open());
    assert!(s.fake.recorder().take().iter().all(|r| r.method != "PUT"));
}

#[tokio::test]
async fn a_put_failure_after_the_resolved_update_is_retried_as_a_put_only() {
    let s = setup().await;
    s.fake.set_resolved_update_closes(false);
    let n = s.notifier();
    let a = alert(Severity::Error);
    n.notify(&a).await.unwrap();
    let id = s.fake.incidents()[0].id;
    // Refuse PUT bodies for this test by configuring a wrapper the fake rejects
    // (400): the resolved update goes through, the close fails.
    let mut c = s.config();
    c.api.incident_wrapper = "not_incident".into();
    let broken = StatuspalNotifier::new(c).unwrap();
    let resolved = a.clone().resolved_at(Timestamp::now());
    let e = broken.notify(&resolved).await.expect_err("PUT refused");
    assert_eq!(e.status(), Some(400));
    assert_eq!(
        s.fake.incident(id).unwrap().update_types(),
        ["issue", "resolved"]
    );
    // The same (broken) instance retried later posts no second resolved update.
    let e = broken.notify(&resolved).await.expect_err("still refused");
    assert_eq!(e.status(), Some(400));
    assert_eq!(
        s.fake.incident(id).unwrap().update_types(),
        ["issue", "resolved"]
    );
    assert!(s.fake.incident(id).unwrap().is_open());
}

#[tokio::test]
async fn a_deleted_incident_is_rejected_once_then_reopened() {
    let s = setup().await;
    let n = s.notifier();
    let a = alert(Severity::Critical);
    let r = n.notify(&a).await.unwrap();
    let id: u64 = r.id.as_deref().unwrap().parse().unwrap();
    assert!(s.fake.delete_incident(id));
    let e = n.notify(&a).await.expect_err("incident gone");
    assert_eq!(e.kind(), "rejected");
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.retryable(), alert_core::Retry::Never);
    assert!(!e.disables_destination(), "the page itself is fine");
    assert!(
        e.to_string().contains(&format!("incident {id} not found")),
        "{e}"
    );
    let r2 = n.notify(&a).await.expect("a new incident");
    assert_eq!(r2.meta("action"), Some("created"));

    // Resolving a deleted incident has nothing left to do.
    assert!(
        s.fake
            .delete_incident(r2.id.as_deref().unwrap().parse().unwrap())
    );
    let r3 = n
        .notify(&a.clone().resolved_at(Timestamp::now()))
        .await
        .expect("ok");
    assert_eq!(r3.meta("skipped"), Some("incident-gone"));
    // Resolving an alert that has no incident at all.
    let r4 = n
        .notify(
            &alert(Severity::Error)
                .with_label("service", "x")
                .resolved_at(Timestamp::now()),
        )
        .await
        .expect("ok");
    assert_eq!(r4.meta("skipped"), Some("no-open-incident"));
}

#[tokio::test]
async fn an_incident_closed_by_hand_is_noticed_at_the_next_listing() {
    let s = setup().await;
    let n = s.notifier();
    let a = alert(Severity::Critical);
    let r = n.notify(&a).await.unwrap();
    s.fake
        .close_incident(r.id.as_deref().unwrap().parse().unwrap());
    // Another alert's miss lists the page and prunes the closed incident.
    n.notify(&alert(Severity::Error).with_label("service", "search"))
        .await
        .unwrap();
    let r2 = n.notify(&a).await.unwrap();
    assert_eq!(r2.meta("action"), Some("created"));
    assert_ne!(r2.id, r.id);
}

#[tokio::test]
async fn a_create_whose_outcome_is_unknown_is_found_by_its_marker() {
    let s = setup().await;
    let mut c = s.config();
    c.relist_interval_secs = 3600; // trust memory after a listing
    let n = StatuspalNotifier::new(c).unwrap();
    n.notify(&alert(Severity::Error)).await.unwrap(); // lists once
    let b = alert(Severity::Error).with_label("service", "search");
    // The create of `b` reaches Statuspal but its answer is lost (a 502 from a
    // proxy): simulate by creating the incident by hand with b's marker.
    let seeded = s.fake.seed_incident(
        "minor",
        "Checkout recommendations are unavailable",
        &format!("We are investigating.\n\n[ref:{}]", b.fingerprint()),
        true,
    );
    s.fake.fail_next(Reply::text(
        502,
        "<html><title>502 Bad Gateway</title></html>",
    ));
    let e = n.notify(&b).await.expect_err("502");
    assert_eq!(e.kind(), "server");
    // The retry lists again (the failed create invalidated the listing) and finds it.
    let r = n.notify(&b).await.expect("updated");
    assert_eq!(r.meta("action"), Some("updated"));
    assert_eq!(r.id, Some(seeded.to_string()));
    assert_eq!(with_marker(&s.fake, b.fingerprint()).len(), 1);
}

#[tokio::test]
async fn concurrent_firings_of_one_alert_open_one_incident() {
    let s = setup().await;
    s.fake.set_rate_limit(None);
    let n = Arc::new(s.notifier());
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let n = n.clone();
        tasks.push(tokio::spawn(async move {
            n.notify(&alert(Severity::Error)).await
        }));
    }
    let mut created = 0;
    for t in tasks {
        let r: Receipt = t.await.unwrap().expect("delivered");
        if r.meta("action") == Some("created") {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(s.fake.incidents().len(), 1);
    assert_eq!(s.fake.incidents()[0].updates.len(), 12);
}

#[tokio::test]
async fn a_group_is_one_incident_titled_after_its_worst_alert() {
    let s = setup().await;
    let n = s.notifier();
    let group = vec![
        alert(Severity::Error)
            .with_summary("Search is slow")
            .with_label("service", "search"),
        alert(Severity::Critical).with_summary("Checkout is down"),
        alert(Severity::Warning).with_summary("Drift on age"),
    ];
    let r = n.notify_group(&group).await.expect("created");
    assert_eq!(r.meta("action"), Some("created"));
    assert_eq!(r.meta("incident_type"), Some("major"));
    let inc = &s.fake.incidents()[0];
    assert_eq!(inc.title, "Checkout is down");
    let mut want = vec![s.checkout, s.search];
    want.sort_unstable();
    assert_eq!(inc.service_ids, want);
    let resolved: Vec<Alert> = group
        .iter()
        .map(|a| a.clone().resolved_at(Timestamp::now()))
        .collect();
    let r = n.notify_group(&resolved).await.expect("resolved");
    assert_eq!(r.meta("action"), Some("resolved"));
    assert!(!s.fake.incidents()[0].is_open());
    let empty = n.notify_group(&[]).await.unwrap();
    assert_eq!(empty.meta("skipped"), Some("empty group"));
}

#[tokio::test]
async fn wire_overrides_reach_the_wire() {
    let s = setup().await;
    let mut c = s.config().with_notify_subscribers(false);
    c.api.update_wrapper = String::new(); // a flat body
    c.api.update_types.escalate = "update".into();
    let n = StatuspalNotifier::new(c).unwrap();
    n.notify(&alert(Severity::Error)).await.unwrap();
    n.notify(&alert(Severity::Critical)).await.unwrap();
    let reqs = s.fake.recorder().take();
    let create = reqs
        .iter()
        .find(|r| r.method == "POST")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(create["incident"]["notify"], false);
    let upd = reqs
        .iter()
        .rfind(|r| r.method == "POST")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(upd["type"], "update");
    assert_eq!(upd["notify"], false);
    assert!(upd.get("update").is_none());
    assert_eq!(s.fake.incidents()[0].update_types(), ["issue", "update"]);
}

#[tokio::test]
async fn starts_at_is_sent_in_the_documented_format() {
    let s = setup().await;
    let n = s.notifier();
    let started = Timestamp::from_unix_seconds(1_795_500_000).unwrap();
    n.notify(&alert(Severity::Error).with_starts_at(started))
        .await
        .unwrap();
    let body = s
        .fake
        .recorder()
        .all()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["incident"]["starts_at"], "2026-11-24T06:00:00");
    assert_eq!(s.fake.incidents()[0].starts_at, "2026-11-24T06:00:00");
}

#[tokio::test]
async fn an_escalation_whose_update_failed_is_finished_by_the_retry() {
    let s = setup().await;
    let n = s.notifier();
    n.notify(&alert(Severity::Error)).await.unwrap();
    // The type change goes through; the escalate update meets a 500.
    s.fake
        .fail_next_on("POST", "/updates", Reply::text(500, "boom"));
    let e = n.notify(&alert(Severity::Critical)).await.expect_err("500");
    assert_eq!(e.kind(), "server");
    let inc = &s.fake.incidents()[0];
    assert_eq!(inc.incident_type, "major");
    assert_eq!(inc.update_types(), ["issue"]);
    s.fake.recorder().take();
    // The retry posts the escalate update (not a plain update), without a second PUT.
    let r = n
        .notify(&alert(Severity::Critical))
        .await
        .expect("escalated");
    assert_eq!(r.meta("action"), Some("escalated"));
    assert!(s.fake.recorder().take().iter().all(|r| r.method != "PUT"));
    assert_eq!(s.fake.incidents()[0].update_types(), ["issue", "escalate"]);
    // And the next repeat is a plain update again.
    let r = n.notify(&alert(Severity::Critical)).await.unwrap();
    assert_eq!(r.meta("action"), Some("updated"));
}
