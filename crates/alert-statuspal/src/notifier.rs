//! [`StatuspalNotifier`]: alerts to Statuspal incidents, with their lifecycle.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alert_core::fit::{Measure, truncate};
use alert_core::render::{digest_alert, digest_order};
use alert_core::{
    Alert, BuildError, Fingerprint, Notifier, NotifyError, Receipt, Result, Status, Timestamp,
    async_trait,
};
use serde_json::json;

use crate::assumptions::{
    DESCRIPTION_MAX_CHARS, ResolveStyle, StatuspalApi, TITLE_MAX_CHARS, datetime, incident_link,
};
use crate::client::{Api, CHANNEL, redact_userinfo};
use crate::config::{Selector, parse_selectors};
use crate::marker::{find_markers, marker};
use crate::payload::{NewIncident, incident_of, update_fields};
use crate::template::{Compiled, FALLBACK_TITLE, Template, one_line};
use crate::{StatuspalConfig, StatuspalImpact};

/// What the notifier knows about one open incident it manages.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Tracked {
    /// The Statuspal incident id.
    id: String,
    /// The incident type currently on the page.
    impact: StatuspalImpact,
    /// The resolved update was posted; only closing (`PUT ends_at`) is left.
    resolving: bool,
    /// The type changed but its escalate/de-escalate update is not posted yet.
    pending: Option<Step>,
}

#[derive(Debug, Default)]
struct State {
    /// Fingerprint to open incident.
    open: HashMap<Fingerprint, Tracked>,
    /// When the last complete listing finished.
    synced_at: Option<Instant>,
}

/// Sends alerts to a Statuspal status page as incidents, keyed by fingerprint.
///
/// * The first firing of an alert whose severity maps to an impact (see
///   [`StatuspalSeverityMap`](crate::StatuspalSeverityMap)) opens an incident on the
///   services its labels map to, with a marker (`[ref:<fingerprint>]`) in its first
///   update.
/// * The same alert firing again posts an `update`; a change of impact changes the
///   incident type (`PUT`) and posts an `escalate` or `deescalate` update.
/// * The resolution posts a `resolved` update and closes the incident.
/// * On a miss (a start-up, a restart), the notifier lists the page's incidents
///   (following `links.next`) and finds its open incidents by their marker, so a
///   restart never opens a duplicate. After a complete listing, misses are trusted
///   for `relist_interval_secs`: another instance's new incident is not seen
///   meanwhile (see the crate docs, Limitations).
///
/// Firing alerts that map to [`StatuspalImpact::None`] are not sent: `notify`
/// returns `Ok` with a receipt whose `meta["skipped"]` is `severity-not-published`.
/// Resolutions are processed whatever their severity, so an incident whose alert
/// was de-escalated to an unpublished severity is still closed.
///
/// Receipts carry the incident id, its public link and `meta` entries `action`
/// (`created`, `updated`, `escalated`, `deescalated`, `resolved`), `incident_type`,
/// `subdomain` and `fingerprint`.
pub struct StatuspalNotifier {
    api: Api,
    config: StatuspalConfig,
    selectors: Vec<Selector>,
    templates: Compiled,
    page_url: String,
    state: Mutex<State>,
    locks: Mutex<HashMap<Fingerprint, Arc<tokio::sync::Mutex<()>>>>,
    lookup_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for StatuspalNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatuspalNotifier")
            .field("api", &self.api)
            .field("subdomain", &self.config.subdomain)
            .field("open_incidents", &self.lock_state().open.len())
            .finish_non_exhaustive()
    }
}

fn subdomain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn http_url_ok(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://")) && reqwest::Url::parse(u).is_ok()
}

/// How an update step is described in receipts and which template it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Update,
    Escalate,
    Deescalate,
}

impl StatuspalNotifier {
    /// Validates `config` (URLs, subdomain, service selectors, templates, wire
    /// overrides) and builds the HTTP client.
    pub fn new(config: StatuspalConfig) -> std::result::Result<StatuspalNotifier, BuildError> {
        let timeout = config.timeout();
        if timeout.is_zero() {
            return Err(BuildError::invalid("timeout_secs", "must be at least 1"));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("ml-alerts/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BuildError::Other {
                channel: CHANNEL,
                source: Box::new(e.without_url()),
            })?;
        StatuspalNotifier::build(config, client)
    }

    /// Like [`new`](StatuspalNotifier::new) with a caller-built HTTP client (proxies,
    /// custom roots). The client's own timeouts apply; `timeout_secs` is only used
    /// in error messages.
    pub fn with_http_client(
        config: StatuspalConfig,
        client: reqwest::Client,
    ) -> std::result::Result<StatuspalNotifier, BuildError> {
        StatuspalNotifier::build(config, client)
    }

    fn build(
        mut config: StatuspalConfig,
        client: reqwest::Client,
    ) -> std::result::Result<StatuspalNotifier, BuildError> {
        if config.api_key.is_empty() {
            return Err(BuildError::invalid("api_key", "must not be empty"));
        }
        if config.api_key.expose().chars().any(|c| c.is_control()) {
            return Err(BuildError::invalid(
                "api_key",
                "contains control characters (a stray newline?)",
            ));
        }
        config.subdomain = config.subdomain.trim().to_owned();
        if !subdomain_ok(&config.subdomain) {
            return Err(BuildError::invalid(
                "subdomain",
                format!(
                    "{:?} is not a status page subdomain (letters, digits, `-`, `_`, `.`)",
                    config.subdomain
                ),
            ));
        }
        if let Some(b) = &config.base_url
            && !http_url_ok(b)
        {
            return Err(BuildError::invalid(
                "base_url",
                "must be an absolute http:// or https:// URL",
            ));
        }
        if let Some(p) = &config.public_url
            && !http_url_ok(p)
        {
            return Err(BuildError::invalid(
                "public_url",
                "must be an absolute http:// or https:// URL",
            ));
        }
        if let Some(p) = &config.public_url
            && redact_userinfo(p) != p.as_str()
        {
            // The public link goes into receipts, which the API shows.
            return Err(BuildError::invalid(
                "public_url",
                "must not carry a user name or password (it is shown in receipts)",
            ));
        }
        if config.lookup_max_pages == 0 {
            return Err(BuildError::invalid(
                "lookup_max_pages",
                "must be at least 1",
            ));
        }
        config.api.validate()?;
        let selectors = parse_selectors(&config.services)?;
        let templates = Compiled::new(&config.templates)?;
        let page_url = match &config.public_url {
            Some(p) => p.trim_end_matches('/').to_owned(),
            None => format!("{}/{}", config.region.public_site(), config.subdomain),
        };
        let api = Api::new(
            client,
            config.api_base(),
            &config.subdomain,
            config.api_key.clone(),
            config.timeout(),
        )
        .map_err(|_| {
            BuildError::invalid(
                "api_key",
                "contains characters that cannot be sent in an HTTP header",
            )
        })?;
        Ok(StatuspalNotifier {
            api,
            selectors,
            templates,
            page_url,
            config,
            state: Mutex::new(State::default()),
            locks: Mutex::new(HashMap::new()),
            lookup_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &StatuspalConfig {
        &self.config
    }

    /// The ids of the open incidents this notifier manages, by fingerprint.
    pub fn open_incidents(&self) -> Vec<(Fingerprint, String)> {
        let mut v: Vec<_> = self
            .lock_state()
            .open
            .iter()
            .map(|(fp, t)| (*fp, t.id.clone()))
            .collect();
        v.sort();
        v
    }

    /// Lists the page's incidents now and picks up every open incident that carries
    /// this notifier's marker. Optional: a miss does the same lazily. Returns how
    /// many open incidents are known afterwards.
    pub async fn sync(&self) -> Result<usize> {
        self.relist().await?;
        Ok(self.lock_state().open.len())
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fp_lock(&self, fp: Fingerprint) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(fp).or_default().clone()
    }

    fn release_fp_lock(&self, fp: Fingerprint, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // The map and `lock` are the only holders: nobody waits on it.
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&fp);
        }
    }

    /// The service ids an alert affects.
    fn services_for(&self, alert: &Alert) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .selectors
            .iter()
            .filter(|s| alert.labels.get(&s.label) == Some(&s.value))
            .flat_map(|s| s.ids.iter().copied())
            .collect();
        if ids.is_empty() {
            ids = self.config.default_services.clone();
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    fn title(&self, alert: &Alert) -> String {
        let t = one_line(&self.templates.title.render(alert));
        let t = if t.is_empty() {
            FALLBACK_TITLE.to_owned()
        } else {
            t
        };
        truncate(&t, TITLE_MAX_CHARS, Measure::Chars).into_owned()
    }

    /// Renders an update description within `limit` characters, falling back to
    /// the title when the template renders to nothing.
    fn description(&self, t: &Template, alert: &Alert, limit: usize) -> String {
        let d = t.render(alert).trim().to_owned();
        let d = if d.is_empty() { self.title(alert) } else { d };
        truncate(&d, limit, Measure::Chars).into_owned()
    }

    fn receipt(&self, fp: Fingerprint, id: &str, impact: StatuspalImpact, action: &str) -> Receipt {
        Receipt::new(CHANNEL)
            .with_id(id)
            .with_url(incident_link(&self.page_url, id))
            .with_meta("action", action)
            .with_meta("incident_type", impact.to_string())
            .with_meta("subdomain", &self.config.subdomain)
            .with_meta("fingerprint", fp.to_string())
    }

    fn skipped(&self, fp: Fingerprint, code: &str, reason: String, t: Option<&Tracked>) -> Receipt {
        let r = Receipt::new(CHANNEL)
            .with_meta("skipped", code)
            .with_meta("reason", reason)
            .with_meta("subdomain", &self.config.subdomain)
            .with_meta("fingerprint", fp.to_string());
        match t {
            Some(t) => r
                .with_id(&t.id)
                .with_url(incident_link(&self.page_url, &t.id))
                .with_meta("incident_type", t.impact.to_string()),
            None => r,
        }
    }

    /// Lists every page of incidents and records the open ones that carry a marker.
    /// A complete listing also forgets incidents that were known before it started
    /// and are no longer open (closed or deleted by hand).
    async fn relist(&self) -> Result<()> {
        let before: HashSet<String> = self
            .lock_state()
            .open
            .values()
            .map(|t| t.id.clone())
            .collect();
        let mut found: HashMap<Fingerprint, Tracked> = HashMap::new();
        let mut open_ids: HashSet<String> = HashSet::new();
        let mut query: Option<String> = None;
        let mut seen: HashSet<String> = HashSet::new();
        let mut complete = false;
        for _ in 0..self.config.lookup_max_pages {
            let page = self.api.list_page(query.as_deref()).await?;
            for inc in &page.list.incidents {
                if inc.ends_at.as_deref().is_some_and(|e| !e.trim().is_empty()) {
                    continue;
                }
                let Some(id) = inc.id() else { continue };
                let impact = match inc.incident_type.as_deref() {
                    Some("scheduled") => continue,
                    Some(t) => {
                        StatuspalImpact::from_incident_type(t).unwrap_or(StatuspalImpact::None)
                    }
                    None => StatuspalImpact::None,
                };
                open_ids.insert(id.clone());
                for u in &inc.updates {
                    for fp in find_markers(u.description.as_deref().unwrap_or("")) {
                        // Newest first: keep the first (newest) incident of a fingerprint.
                        found.entry(fp).or_insert_with(|| Tracked {
                            id: id.clone(),
                            impact,
                            resolving: false,
                            pending: None,
                        });
                    }
                }
            }
            match page.next_query {
                Some(q) if seen.insert(q.clone()) => query = Some(q),
                Some(_) => break, // a cursor loop: stop, and do not trust the result
                None => {
                    complete = true;
                    break;
                }
            }
        }
        let mut st = self.lock_state();
        if complete {
            st.open
                .retain(|_, t| !before.contains(&t.id) || open_ids.contains(&t.id));
            st.synced_at = Some(Instant::now());
        }
        for (fp, t) in found {
            match st.open.get_mut(&fp) {
                Some(known) if known.id == t.id => known.impact = t.impact,
                Some(_) => {}
                None => {
                    st.open.insert(fp, t);
                }
            }
        }
        Ok(())
    }

    /// The open incident of `fp`: from memory, or by listing when memory has none
    /// and no complete listing happened within `relist_interval_secs`.
    async fn find(&self, fp: Fingerprint) -> Result<Option<Tracked>> {
        let fresh = |st: &State| {
            st.synced_at.is_some_and(|at| {
                at.elapsed() < Duration::from_secs(self.config.relist_interval_secs)
            })
        };
        {
            let st = self.lock_state();
            if let Some(t) = st.open.get(&fp) {
                return Ok(Some(t.clone()));
            }
            if fresh(&st) {
                return Ok(None);
            }
        }
        let asked_at = Instant::now();
        let _one_listing_at_a_time = self.lookup_lock.lock().await;
        {
            let st = self.lock_state();
            if let Some(t) = st.open.get(&fp) {
                return Ok(Some(t.clone()));
            }
            // Another task completed a listing while we waited for the lock.
            if st.synced_at.is_some_and(|at| at >= asked_at) {
                return Ok(None);
            }
        }
        self.relist().await?;
        Ok(self.lock_state().open.get(&fp).cloned())
    }

    fn forget(&self, fp: Fingerprint, id: &str) {
        let mut st = self.lock_state();
        if st.open.get(&fp).is_some_and(|t| t.id == id) {
            st.open.remove(&fp);
        }
    }

    /// The next lookup lists again (after a create whose outcome is unknown).
    fn invalidate_listing(&self) {
        self.lock_state().synced_at = None;
    }

    fn store(&self, fp: Fingerprint, t: Tracked) {
        self.lock_state().open.insert(fp, t);
    }

    /// Forgets an incident that answered 404 (and passes the error on).
    fn on_incident_error(&self, fp: Fingerprint, id: &str, e: NotifyError) -> NotifyError {
        if matches!(
            e,
            NotifyError::Rejected {
                status: Some(404),
                ..
            }
        ) {
            self.forget(fp, id);
        }
        e
    }

    /// The lifecycle step for one alert (or group digest) under its fingerprint.
    async fn process(&self, alert: &Alert, fp: Fingerprint, services: Vec<u64>) -> Result<Receipt> {
        let lock = self.fp_lock(fp);
        let result = {
            let _guard = lock.lock().await;
            self.step(alert, fp, services).await
        };
        self.release_fp_lock(fp, lock);
        result
    }

    async fn step(&self, alert: &Alert, fp: Fingerprint, services: Vec<u64>) -> Result<Receipt> {
        let impact = self.config.severity.impact(alert.severity);
        if alert.status == Status::Firing && impact == StatuspalImpact::None {
            // Never look anything up for an alert that is not published.
            let known = self.lock_state().open.get(&fp).cloned();
            let reason = match &known {
                None => format!(
                    "severity {} is not published on the status page (StatuspalSeverityMap)",
                    alert.severity
                ),
                Some(t) => format!(
                    "severity {} is not published on the status page (StatuspalSeverityMap); \
                     incident {} is left open unchanged",
                    alert.severity, t.id
                ),
            };
            return Ok(self.skipped(fp, "severity-not-published", reason, known.as_ref()));
        }
        let tracked = self.find(fp).await?;
        match (alert.status, tracked) {
            (Status::Resolved, None) => Ok(self.skipped(
                fp,
                "no-open-incident",
                "resolved, and no open incident of this alert was found".into(),
                None,
            )),
            (Status::Resolved, Some(t)) => self.resolve(alert, fp, t).await,
            (Status::Firing, None) => self.create(alert, fp, impact, &services).await,
            (Status::Firing, Some(t)) if t.resolving => {
                // Fired again while a resolution was half done: finish closing the
                // old incident, then open a new one.
                self.resolve(alert, fp, t).await?;
                self.create(alert, fp, impact, &services).await
            }
            (Status::Firing, Some(t)) => {
                let step = if impact > t.impact {
                    Step::Escalate
                } else if impact < t.impact {
                    Step::Deescalate
                } else {
                    // A type change whose update failed is finished first.
                    t.pending.unwrap_or(Step::Update)
                };
                self.advance(alert, fp, t, impact, step).await
            }
        }
    }

    async fn create(
        &self,
        alert: &Alert,
        fp: Fingerprint,
        impact: StatuspalImpact,
        services: &[u64],
    ) -> Result<Receipt> {
        let incident_type = impact.incident_type().unwrap_or("minor");
        let title = self.title(alert);
        let mark = marker(fp);
        let text = self.description(
            &self.templates.created,
            alert,
            DESCRIPTION_MAX_CHARS - mark.chars().count() - 2,
        );
        let now = Timestamp::now();
        let body = NewIncident {
            incident_type,
            title: &title,
            service_ids: services,
            starts_at: alert.starts_at.filter(|s| *s <= now),
            notify: self.config.notify_subscribers,
            update_type: &self.config.api.update_types.issue,
            description: &format!("{text}\n\n{mark}"),
        }
        .to_json();
        let answer = match self.api.create_incident(&body).await {
            Ok(a) => a,
            Err(e) => {
                // The incident may exist anyway (a timeout after the server acted):
                // the retry lists first and finds it by its marker.
                self.invalidate_listing();
                return Err(e);
            }
        };
        let Some(id) = incident_of(&answer).and_then(|i| i.id()) else {
            self.invalidate_listing();
            return Err(NotifyError::Server {
                channel: CHANNEL,
                status: None,
                message: "incident created but the answer carries no incident id; \
                          the retry finds it by its marker"
                    .into(),
                retry_after: None,
            });
        };
        self.store(
            fp,
            Tracked {
                id: id.clone(),
                impact,
                resolving: false,
                pending: None,
            },
        );
        Ok(self.receipt(fp, &id, impact, "created"))
    }

    async fn post_update(
        &self,
        id: &str,
        update_type: &str,
        description: &str,
    ) -> Result<serde_json::Value> {
        let fields = update_fields(update_type, description, self.config.notify_subscribers);
        let body = StatuspalApi::wrap(&self.config.api.update_wrapper, fields);
        self.api.post_update(id, &body).await
    }

    async fn put(&self, id: &str, fields: serde_json::Value) -> Result<serde_json::Value> {
        let body = StatuspalApi::wrap(&self.config.api.incident_wrapper, fields);
        self.api.put_incident(id, &body).await
    }

    async fn advance(
        &self,
        alert: &Alert,
        fp: Fingerprint,
        mut t: Tracked,
        impact: StatuspalImpact,
        step: Step,
    ) -> Result<Receipt> {
        let types = &self.config.api.update_types;
        let (update_type, template, action) = match step {
            Step::Update => (&types.update, &self.templates.update, "updated"),
            Step::Escalate => (&types.escalate, &self.templates.escalated, "escalated"),
            Step::Deescalate => (
                &types.deescalate,
                &self.templates.deescalated,
                "deescalated",
            ),
        };
        if step != Step::Update && t.impact != impact {
            let new_type = impact.incident_type().unwrap_or("minor");
            self.put(&t.id, json!({ "type": new_type }))
                .await
                .map_err(|e| self.on_incident_error(fp, &t.id, e))?;
            t.impact = impact;
            t.pending = Some(step);
            // Recorded at once: a retry after a failed update below only posts it.
            self.store(fp, t.clone());
        }
        let text = self.description(template, alert, DESCRIPTION_MAX_CHARS);
        self.post_update(&t.id, update_type, &text)
            .await
            .map_err(|e| self.on_incident_error(fp, &t.id, e))?;
        if t.pending.take().is_some() {
            self.store(fp, t.clone());
        }
        Ok(self.receipt(fp, &t.id, t.impact, action))
    }

    async fn resolve(&self, alert: &Alert, fp: Fingerprint, mut t: Tracked) -> Result<Receipt> {
        let gone = |e: &NotifyError| {
            matches!(
                e,
                NotifyError::Rejected {
                    status: Some(404),
                    ..
                }
            )
        };
        let mut closed = false;
        if !t.resolving {
            let text = self.description(&self.templates.resolved, alert, DESCRIPTION_MAX_CHARS);
            match self
                .post_update(&t.id, &self.config.api.update_types.resolved, &text)
                .await
            {
                Ok(answer) => {
                    closed = incident_of(&answer)
                        .and_then(|i| i.ends_at)
                        .is_some_and(|e| !e.trim().is_empty());
                }
                Err(e) if gone(&e) => return Ok(self.resolved_gone(fp, &t)),
                Err(e) => return Err(e),
            }
            t.resolving = true;
            self.store(fp, t.clone());
        }
        if self.config.api.resolve == ResolveStyle::ResolvedUpdateThenPut && !closed {
            let now = Timestamp::now();
            let ends_at = alert.ends_at.filter(|e| *e <= now).unwrap_or(now);
            match self
                .put(&t.id, json!({ "ends_at": datetime(ends_at) }))
                .await
            {
                Ok(_) => {}
                Err(e) if gone(&e) => return Ok(self.resolved_gone(fp, &t)),
                Err(e) => return Err(e),
            }
        }
        self.forget(fp, &t.id);
        Ok(self.receipt(fp, &t.id, t.impact, "resolved"))
    }

    fn resolved_gone(&self, fp: Fingerprint, t: &Tracked) -> Receipt {
        self.forget(fp, &t.id);
        self.skipped(
            fp,
            "incident-gone",
            format!(
                "incident {} no longer exists (deleted on the page); nothing to resolve",
                t.id
            ),
            Some(t),
        )
    }
}

#[async_trait]
impl Notifier for StatuspalNotifier {
    fn name(&self) -> &str {
        CHANNEL
    }

    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.process(alert, alert.fingerprint(), self.services_for(alert))
            .await
    }

    /// A group is one incident: keyed by the fingerprint of its digest (the common
    /// name, or `digest`, and the common labels), titled after its most severe
    /// firing alert, on the union of its alerts' services, at the group's highest
    /// severity.
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        match alerts {
            [] => Ok(Receipt::new(CHANNEL)
                .with_meta("skipped", alert_core::EMPTY_GROUP)
                .with_meta("reason", "the group has no alert")),
            [one] => self.notify(one).await,
            _ => {
                let mut digest = digest_alert(alerts);
                if let Some(top) = digest_order(alerts).first() {
                    digest.summary = top.title().to_owned();
                }
                let mut services: Vec<u64> =
                    alerts.iter().flat_map(|a| self.services_for(a)).collect();
                services.sort_unstable();
                services.dedup();
                self.process(&digest, digest.fingerprint(), services).await
            }
        }
    }

    /// Uses `previous` (a receipt of this channel) to know the incident without a
    /// lookup, then follows the same lifecycle as [`notify`](Notifier::notify).
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        let fp = alert.fingerprint();
        let same_alert = previous
            .meta("fingerprint")
            .is_none_or(|f| f == fp.to_string());
        if previous.channel == CHANNEL
            && same_alert
            && previous.meta("skipped").is_none()
            && previous.meta("action") != Some("resolved")
            && let Some(id) = previous.id.as_deref()
        {
            let impact = previous
                .meta("incident_type")
                .and_then(StatuspalImpact::from_incident_type)
                .unwrap_or(StatuspalImpact::None);
            let mut st = self.lock_state();
            st.open.entry(fp).or_insert_with(|| Tracked {
                id: id.to_owned(),
                impact,
                resolving: false,
                pending: None,
            });
        }
        self.notify(alert).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Severity;

    fn cfg() -> StatuspalConfig {
        StatuspalConfig::new("key-123456", "acme")
    }

    #[test]
    fn construction_validates_every_field() {
        let bad = |c: StatuspalConfig, field: &str| {
            let e = StatuspalNotifier::new(c).unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
            assert!(!e.contains("key-123456"), "{e}");
        };
        bad(StatuspalConfig::new("", "acme"), "api_key");
        bad(StatuspalConfig::new("key\n", "acme"), "api_key");
        bad(StatuspalConfig::new("k", "acme/../x"), "subdomain");
        bad(StatuspalConfig::new("k", ""), "subdomain");
        bad(cfg().with_base_url("ftp://x"), "base_url");
        bad(cfg().with_base_url("not a url"), "base_url");
        bad(cfg().with_public_url("status.acme.com"), "public_url");
        bad(
            cfg().with_public_url("https://u:p@status.acme.com"),
            "public_url",
        );
        bad(cfg().with_services("checkout", [1]), "services");
        let mut c = cfg();
        c.templates.title = "{summary} {evidence}".into();
        bad(c, "templates.title");
        let mut c = cfg();
        c.timeout_secs = 0;
        bad(c, "timeout_secs");
        let mut c = cfg();
        c.lookup_max_pages = 0;
        bad(c, "lookup_max_pages");
        let mut c = cfg();
        c.api.update_types.issue = String::new();
        bad(c, "api.update_types.issue");
        let n = StatuspalNotifier::new(cfg()).unwrap();
        assert!(!format!("{n:?}").contains("key-123456"));
        assert_eq!(n.page_url, "https://statuspal.io/acme");
    }

    #[test]
    fn services_match_labels_or_fall_back() {
        let n = StatuspalNotifier::new(
            cfg()
                .with_services("service=checkout", [42, 7])
                .with_services("team=payments", [42, 9])
                .with_default_services([1]),
        )
        .unwrap();
        let a = Alert::new(Severity::Error, "x")
            .with_label("service", "checkout")
            .with_label("team", "payments");
        assert_eq!(n.services_for(&a), vec![7, 9, 42]);
        let a = Alert::new(Severity::Error, "x").with_label("service", "search");
        assert_eq!(n.services_for(&a), vec![1]);
    }

    #[test]
    fn titles_are_one_line_bounded_and_never_empty() {
        let n = StatuspalNotifier::new(cfg()).unwrap();
        let a = Alert::new(Severity::Error, "").with_summary("  ");
        assert_eq!(n.title(&a), FALLBACK_TITLE);
        let a = Alert::new(Severity::Error, "x").with_summary("T".repeat(10_000));
        assert_eq!(n.title(&a).chars().count(), TITLE_MAX_CHARS);
        let a = Alert::new(Severity::Error, "x").with_summary("a\nb\r\n\tc");
        assert_eq!(n.title(&a), "a b c");
    }
}
