//! Private wire types of Datadog's intake API.

use serde::{Deserialize, Serialize};

use crate::severity::{AlertType, EventPriority};

/// `POST /api/v1/events` (`EventCreateRequest`).
#[derive(Debug, Serialize)]
pub(crate) struct EventRequest<'a> {
    pub(crate) title: String,
    pub(crate) text: String,
    pub(crate) alert_type: AlertType,
    pub(crate) priority: EventPriority,
    pub(crate) tags: Vec<String>,
    pub(crate) aggregation_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source_type_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) host: Option<&'a str>,
    pub(crate) date_happened: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) related_event_id: Option<u64>,
}

/// The answer to an accepted event: `{"status":"ok","event":{...}}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventCreated {
    #[serde(default)]
    pub(crate) event: Option<CreatedEvent>,
}

/// The event Datadog created. `id` exceeds 2^53, so only `id_str` is read.
#[derive(Debug, Deserialize)]
pub(crate) struct CreatedEvent {
    #[serde(default)]
    pub(crate) id_str: Option<String>,
    #[serde(default)]
    pub(crate) url: Option<String>,
}

/// One element of `POST /api/v1/check_run` (the body is an array).
#[derive(Debug, Serialize)]
pub(crate) struct CheckRun<'a> {
    pub(crate) check: &'a str,
    pub(crate) host_name: &'a str,
    pub(crate) status: u8,
    pub(crate) tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
}

/// Datadog's error body, `{"errors": [...]}`; entries are strings on v1 and JSON:API
/// objects on some v2 endpoints.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) errors: Vec<serde_json::Value>,
}

impl ErrorBody {
    /// The error texts: strings as they are, objects by `detail`, then `title`.
    pub(crate) fn messages(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|e| match e {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Object(o) => o
                    .get("detail")
                    .or_else(|| o.get("title"))
                    .and_then(serde_json::Value::as_str)
                    .map_or_else(|| e.to_string(), str::to_owned),
                other => other.to_string(),
            })
            .collect()
    }
}

/// Reads Datadog's error texts from a body whatever its content type says (some 400s
/// are JSON labelled `text/plain`; a 403 can be an HTML page). `None` when the body is
/// not a JSON error object with at least one error.
pub(crate) fn error_messages(body: &str) -> Option<Vec<String>> {
    let parsed: ErrorBody = serde_json::from_str(body.trim()).ok()?;
    let messages = parsed.messages();
    (!messages.is_empty()).then_some(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_in_every_shape() {
        assert_eq!(
            error_messages(r#"{"errors":["Event too far in the past"]}"#).unwrap(),
            ["Event too far in the past"]
        );
        assert_eq!(
            error_messages(
                r#"{"status":"error","code":403,"errors":["Forbidden"],"statuspage":"http://status.datadoghq.com"}"#
            )
            .unwrap(),
            ["Forbidden"]
        );
        assert_eq!(
            error_messages(
                r#"{"errors":[{"status":"400","title":"Bad Request","detail":"JSON validation failed"}]}"#
            )
            .unwrap(),
            ["JSON validation failed"]
        );
        assert_eq!(error_messages(r#"{"errors":[]}"#), None);
        assert_eq!(error_messages("<html><title>x</title></html>"), None);
        assert_eq!(error_messages(""), None);
    }
}
