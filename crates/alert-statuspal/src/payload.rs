//! Private wire types of the Statuspal API v2.
//!
//! Requests are built as JSON values (their wrappers are configurable, see
//! [`assumptions`](crate::assumptions)); answers are read leniently: unknown fields
//! are ignored and ids may be numbers or strings.

use alert_core::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assumptions::datetime;

/// The body of `POST /status_pages/{subdomain}/incidents` (official example shape).
pub(crate) struct NewIncident<'a> {
    pub(crate) incident_type: &'a str,
    pub(crate) title: &'a str,
    pub(crate) service_ids: &'a [u64],
    pub(crate) starts_at: Option<Timestamp>,
    pub(crate) notify: Option<bool>,
    pub(crate) update_type: &'a str,
    pub(crate) description: &'a str,
}

impl NewIncident<'_> {
    pub(crate) fn to_json(&self) -> Value {
        let mut inc = json!({
            "type": self.incident_type,
            "title": self.title,
            "updates": [{"type": self.update_type, "description": self.description}],
        });
        let m = inc.as_object_mut().expect("object literal");
        if !self.service_ids.is_empty() {
            m.insert("service_ids".into(), json!(self.service_ids));
        }
        if let Some(t) = self.starts_at {
            m.insert("starts_at".into(), json!(datetime(t)));
        }
        if let Some(n) = self.notify {
            m.insert("notify".into(), json!(n));
        }
        json!({ "incident": inc })
    }
}

/// The fields of an incident update (wrapped per `api.update_wrapper`).
pub(crate) fn update_fields(update_type: &str, description: &str, notify: Option<bool>) -> Value {
    let mut v = json!({"type": update_type, "description": description});
    if let Some(n) = notify {
        v.as_object_mut()
            .expect("object literal")
            .insert("notify".into(), json!(n));
    }
    v
}

/// An update as listed inside an incident.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UpdateWire {
    pub(crate) description: Option<String>,
}

/// An incident as answered by the API (only the fields this crate reads).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct IncidentWire {
    pub(crate) id: Value,
    #[serde(rename = "type")]
    pub(crate) incident_type: Option<String>,
    pub(crate) ends_at: Option<String>,
    pub(crate) updates: Vec<UpdateWire>,
}

impl IncidentWire {
    /// The id as text (`42` or `"42"`), when there is one.
    pub(crate) fn id(&self) -> Option<String> {
        id_text(&self.id)
    }
}

/// An id given as a number or a non-empty string.
pub(crate) fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Reads the incident out of an answer: `{"incident": {…}}` or a bare incident.
pub(crate) fn incident_of(answer: &Value) -> Option<IncidentWire> {
    let v = answer.get("incident").unwrap_or(answer);
    serde_json::from_value::<IncidentWire>(v.clone()).ok()
}

/// `{"links": {"next": …}}` of a list answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Links {
    pub(crate) next: Option<String>,
}

/// The answer of `GET /status_pages/{subdomain}/incidents`. `incidents` is
/// required: an answer without it is an error, never an empty page (which could
/// lead to a duplicate incident).
#[derive(Debug, Deserialize)]
pub(crate) struct IncidentList {
    pub(crate) incidents: Vec<IncidentWire>,
    #[serde(default)]
    pub(crate) links: Option<Links>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_incident_matches_the_official_example_shape() {
        let body = NewIncident {
            incident_type: "major",
            title: "DB connection issues",
            service_ids: &[1],
            starts_at: Some(Timestamp::from_unix_seconds(1_640_995_200).unwrap()),
            notify: None,
            update_type: "issue",
            description: "We investigating",
        }
        .to_json();
        assert_eq!(
            body,
            json!({"incident": {
                "type": "major",
                "title": "DB connection issues",
                "service_ids": [1],
                "starts_at": "2022-01-01T00:00:00",
                "updates": [{"type": "issue", "description": "We investigating"}]
            }})
        );
    }

    #[test]
    fn answers_are_read_leniently() {
        let a = json!({"incident": {"id": 7, "type": "minor", "ends_at": null, "extra": 1,
            "updates": [{"type": "issue", "description": "x", "inserted_at": "2022-01-01T00:00:00"}]}});
        let i = incident_of(&a).unwrap();
        assert_eq!(i.id().as_deref(), Some("7"));
        assert_eq!(i.incident_type.as_deref(), Some("minor"));
        assert!(i.ends_at.is_none());
        assert_eq!(i.updates[0].description.as_deref(), Some("x"));
        assert_eq!(
            incident_of(&json!({"id": "9"})).unwrap().id().as_deref(),
            Some("9")
        );
        assert_eq!(incident_of(&json!({"update": {}})).unwrap().id(), None);
        let l: IncidentList =
            serde_json::from_value(json!({"incidents": [], "links": {"next": null}, "meta": {}}))
                .unwrap();
        assert!(l.links.unwrap().next.is_none());
        assert!(serde_json::from_value::<IncidentList>(json!({"links": null})).is_err());
        let l: IncidentList =
            serde_json::from_value(json!({"incidents": [], "links": null})).unwrap();
        assert!(l.links.is_none());
        assert_eq!(update_fields("update", "d", Some(false))["notify"], false);
    }
}
