//! The client side of the API, for `alerts send`, `silence`, `ack`, `history`,
//! `report`, `dead-letters`, `redeliver` and `test` against a running `alerts serve`.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

/// The default service URL (the default listen address).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:9095";

/// A failed API call.
#[derive(Debug)]
pub enum ClientError {
    /// The service could not be reached.
    Unreachable(String),
    /// The service answered with an error.
    Api {
        /// HTTP status.
        status: u16,
        /// The error message (and field) from the JSON body.
        message: String,
    },
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Unreachable(e) => write!(f, "cannot reach the alerts service: {e}"),
            ClientError::Api { status, message } => {
                write!(f, "the service answered {status}: {message}")
            }
        }
    }
}

impl ClientError {
    /// Whether the request itself was bad (4xx), as opposed to the service failing.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, ClientError::Api { status, .. } if (400..500).contains(status) && *status != 401 && *status != 403)
    }
}

/// A small JSON client for the service.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client for `base` (`http://127.0.0.1:9095`), sending `token` as a bearer
    /// token when given.
    pub fn new(base: &str, token: Option<String>) -> Result<Client, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("alerts-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http,
        })
    }

    /// Calls `method path` with an optional JSON body and returns the JSON answer
    /// (`null` for an empty body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            ClientError::Unreachable(format!("{} ({})", e.without_url(), self.base))
        })?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| ClientError::Unreachable(e.without_url().to_string()))?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
        };
        if (200..300).contains(&status) {
            Ok(json)
        } else {
            let err = &json["error"];
            let message = match (err["field"].as_str(), err["message"].as_str()) {
                (Some(f), Some(m)) => format!("{f}: {m}"),
                (None, Some(m)) => m.to_owned(),
                _ => text.chars().take(300).collect(),
            };
            Err(ClientError::Api { status, message })
        }
    }
}

/// Renders rows as an aligned text table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push('\n');
    }
    out
}

/// A JSON value as a short cell.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.replace(['\n', '\r', '\t'], " "),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(
            &["ID", "STATE"],
            &[
                vec!["a".into(), "active".into()],
                vec!["long-id".into(), "x".into()],
            ],
        );
        assert_eq!(t, "ID       STATE\na        active\nlong-id  x\n");
    }

    #[test]
    fn cells() {
        assert_eq!(cell(&Value::Null), "-");
        assert_eq!(cell(&serde_json::json!(["a", "b"])), "a,b");
        assert_eq!(cell(&serde_json::json!("x\ny")), "x y");
        assert_eq!(cell(&serde_json::json!(3)), "3");
    }
}
