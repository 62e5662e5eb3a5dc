//! **Every unconfirmed Statuspal API detail this crate relies on, in one place.**
//!
//! The official "StatusPal API Reference (2.0.0)" (<https://statuspal.io/api-docs>)
//! as we could read it documents the base URLs, authentication, the rate limits and
//! *creating* an incident. Everything below was taken from
//! third-party listings, Statuspal's older open-source code base, or observation, and
//! must be checked against the live API before a release (the crate docs list what
//! is confirmed, with sources).
//!
//! The wire shapes that could plausibly differ are **overridable from config**
//! ([`StatuspalApi`], key `api` in [`StatuspalConfig`](crate::StatuspalConfig)), so
//! an operator who finds a difference on the live API can fix it without a release:
//!
//! ```toml
//! [api]
//! update_wrapper = "incident_update"     # body key of POST .../updates ("" = flat body)
//! resolve = "resolved_update"            # do not also PUT ends_at
//! update_types = { escalate = "update" } # if the API refuses "escalate"
//! ```
//!
//! | item | assumption | evidence |
//! |---|---|---|
//! | `POST …/incidents/{id}/updates` body | `{"update": {"type", "description", "notify"?}}` | endpoint and fields from a third-party API connector listing (glama.ai "statuspal_create_incident_update"); the wrapper key is a guess by analogy with `{"incident": …}` and `{"service": …}` |
//! | `PUT …/incidents/{id}` body | `{"incident": {"type"?, "ends_at"?, "notify"?}}` | endpoint and fields from the same listing ("statuspal_update_incident"); wrapper by analogy with create |
//! | update types | `issue` (first update: confirmed by the official example), `update`, `escalate`, `deescalate`, `resolved` | `update`, `deescalate`, `resolved` seen in real data; `escalate` inferred; Statuspal's open-source code seeds `investigating`, `issue`, `monitoring`, `resolved`, `scheduled`, `retroactive` |
//! | resolving | post a `resolved` update, then `PUT` `ends_at` unless the answer already shows the incident closed ([`ResolveStyle::ResolvedUpdateThenPut`]) | Statuspal's open-source code closes an incident (sets `ends_at`) when a `resolved` activity is posted; the third-party listing shows `ends_at` on `PUT`; doing both is safe whichever is true |
//! | list page size | `limit=100` | third-party listing: "default 20, max 100" |
//! | open incidents | `ends_at` is `null` while open; listing is not filtered by state, so open incidents are picked client-side | observed data (CHANNELS notes); no documented state filter |
//! | create / update answers | `{"incident": {"id": …, …}}` (an `id` at the top level is also accepted); update answers are not relied on | by analogy with `GET …/services/{id}` → `{"service": …}` |
//! | text limits | title ≤ [`TITLE_MAX_CHARS`], description ≤ [`DESCRIPTION_MAX_CHARS`] characters | not documented; 255 is the default string column size of the Phoenix/Ecto stack Statuspal runs on |
//! | public incident link | `https://statuspal.io/{subdomain}/incidents/{id}` (`.eu` for the EU region), or `{public_url}/incidents/{id}` | not documented; only used for receipts |
//! | date-times (`starts_at`, `ends_at`) | UTC, ISO 8601 without offset or fraction, `2022-01-01T00:00:00` ([`DATETIME_EXAMPLE`]); values are read back without parsing | not in the stored reference, which shows no date; the form Phoenix/Ecto (Statuspal's stack) renders a `naive_datetime` in, and the form of `inserted_at` in observed data. The fake accepts exactly this form, so a change of the client's format is caught by the tests |
//! | 429 | no `Retry-After` header (if one is sent, it is honoured) | official page: "the API will return a 429 status code", no header documented |

use alert_core::Timestamp;
use serde::Deserialize;

/// An example of the date-time form sent (assumed; see the [module docs](self)):
/// UTC, ISO 8601, no offset, whole seconds.
pub const DATETIME_EXAMPLE: &str = "2022-01-01T00:00:00";

/// Formats a timestamp in the assumed form ([`DATETIME_EXAMPLE`]).
pub(crate) fn datetime(t: Timestamp) -> String {
    let (y, mo, d, h, mi, s) = t.to_utc_fields();
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
}

/// Whether `s` is a valid date-time in exactly the assumed form (what the fake
/// accepts).
#[cfg_attr(not(feature = "fake"), allow(dead_code))]
pub(crate) fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = b.len() == DATETIME_EXAMPLE.len()
        && b.iter().zip(DATETIME_EXAMPLE.as_bytes()).all(|(c, e)| {
            if e.is_ascii_digit() {
                c.is_ascii_digit()
            } else {
                c == e
            }
        });
    shape && format!("{s}Z").parse::<Timestamp>().is_ok()
}

/// Longest incident title sent, in characters (assumed; see the [module docs](self)).
pub const TITLE_MAX_CHARS: usize = 255;

/// Longest update description sent, in characters (assumed; see the [module docs](self)).
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;

/// The `limit` asked for when listing incidents (third-party listing: max 100).
pub const LIST_PAGE_LIMIT: u32 = 100;

/// The public site of the US region, for incident links in receipts (assumed).
pub const PUBLIC_SITE_US: &str = "https://statuspal.io";

/// The public site of the EU region, for incident links in receipts (assumed).
pub const PUBLIC_SITE_EU: &str = "https://statuspal.eu";

/// How a resolution closes the incident (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolveStyle {
    /// Post an update of the `resolved` type and rely on it to set `ends_at`.
    ResolvedUpdate,
    /// Post the `resolved` update, then `PUT` the incident with `ends_at`, unless
    /// the update's answer already shows `ends_at` set. Safe under either
    /// behaviour of the live API (the default).
    #[default]
    ResolvedUpdateThenPut,
}

/// The update `type` values sent for each step of the lifecycle.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatuspalUpdateTypes {
    /// The first update of a new incident (default `issue`, confirmed).
    pub issue: String,
    /// A repeat of the same alert (default `update`).
    pub update: String,
    /// The impact went up (default `escalate`).
    pub escalate: String,
    /// The impact went down (default `deescalate`).
    pub deescalate: String,
    /// The alert resolved (default `resolved`).
    pub resolved: String,
}

impl Default for StatuspalUpdateTypes {
    fn default() -> Self {
        StatuspalUpdateTypes {
            issue: "issue".into(),
            update: "update".into(),
            escalate: "escalate".into(),
            deescalate: "deescalate".into(),
            resolved: "resolved".into(),
        }
    }
}

/// The unconfirmed wire shapes, overridable from config (key `api`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatuspalApi {
    /// The key that wraps the body of `POST …/incidents/{id}/updates`
    /// (default `update`; the empty string sends the fields unwrapped).
    pub update_wrapper: String,
    /// The key that wraps the body of `PUT …/incidents/{id}` (default `incident`;
    /// the empty string sends the fields unwrapped).
    pub incident_wrapper: String,
    /// Update `type` values.
    pub update_types: StatuspalUpdateTypes,
    /// How a resolution closes the incident.
    pub resolve: ResolveStyle,
}

impl Default for StatuspalApi {
    fn default() -> Self {
        StatuspalApi {
            update_wrapper: "update".into(),
            incident_wrapper: "incident".into(),
            update_types: StatuspalUpdateTypes::default(),
            resolve: ResolveStyle::default(),
        }
    }
}

impl StatuspalApi {
    /// Wraps `fields` under `key`, or returns them as they are when `key` is empty.
    pub(crate) fn wrap(key: &str, fields: serde_json::Value) -> serde_json::Value {
        if key.is_empty() {
            fields
        } else {
            let mut m = serde_json::Map::new();
            m.insert(key.to_owned(), fields);
            serde_json::Value::Object(m)
        }
    }

    pub(crate) fn validate(&self) -> Result<(), alert_core::BuildError> {
        let t = &self.update_types;
        for (field, v) in [
            ("issue", &t.issue),
            ("update", &t.update),
            ("escalate", &t.escalate),
            ("deescalate", &t.deescalate),
            ("resolved", &t.resolved),
        ] {
            if v.trim().is_empty() {
                return Err(alert_core::BuildError::invalid(
                    format!("api.update_types.{field}"),
                    "must not be empty",
                ));
            }
        }
        for (field, v) in [
            ("api.update_wrapper", &self.update_wrapper),
            ("api.incident_wrapper", &self.incident_wrapper),
        ] {
            if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(alert_core::BuildError::invalid(
                    field,
                    "must be a JSON key without white space (or empty for a flat body)",
                ));
            }
        }
        Ok(())
    }
}

/// The public link of incident `id`: `{page}/incidents/{id}`, where `page` is the
/// configured public URL or `{site}/{subdomain}` (assumed layout).
pub(crate) fn incident_link(page_url: &str, id: &str) -> String {
    format!("{}/incidents/{id}", page_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let a: StatuspalApi = serde_json::from_str(
            r#"{"update_types":{"escalate":"update"},"resolve":"resolved_update"}"#,
        )
        .unwrap();
        assert_eq!(a.update_types.escalate, "update");
        assert_eq!(a.update_types.issue, "issue");
        assert_eq!(a.update_wrapper, "update");
        assert_eq!(a.resolve, ResolveStyle::ResolvedUpdate);
        assert_eq!(
            StatuspalApi::default().resolve,
            ResolveStyle::ResolvedUpdateThenPut
        );
        let e = serde_json::from_str::<StatuspalApi>(r#"{"wrapper":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `wrapper`"), "{e}");
    }

    #[test]
    fn datetimes_have_exactly_the_assumed_form() {
        let t = Timestamp::from_unix_seconds(1_640_995_200).unwrap();
        assert_eq!(datetime(t), "2022-01-01T00:00:00");
        assert!(is_datetime("2022-01-01T00:00:00"));
        assert!(is_datetime(&datetime(Timestamp::now())));
        for bad in [
            "2022-01-01T00:00:00Z",
            "2022-01-01T00:00:00+00:00",
            "2022-01-01T00:00:00.123",
            "2022-01-01 00:00:00",
            "2022-13-01T00:00:00",
            "2022-01-01T25:00:00",
            "2022-1-01T00:00:00",
            "",
        ] {
            assert!(!is_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn wrapping_and_validation() {
        let v = serde_json::json!({"type": "update"});
        assert_eq!(
            StatuspalApi::wrap("update", v.clone()),
            serde_json::json!({"update": {"type": "update"}})
        );
        assert_eq!(StatuspalApi::wrap("", v.clone()), v);
        let mut a = StatuspalApi::default();
        a.update_types.resolved = " ".into();
        let e = a.validate().unwrap_err().to_string();
        assert!(e.contains("api.update_types.resolved"), "{e}");
        let a = StatuspalApi {
            update_wrapper: "in cident".into(),
            ..StatuspalApi::default()
        };
        assert!(
            a.validate()
                .unwrap_err()
                .to_string()
                .contains("api.update_wrapper")
        );
        assert_eq!(
            incident_link("https://statuspal.io/acme/", "7"),
            "https://statuspal.io/acme/incidents/7"
        );
    }
}
