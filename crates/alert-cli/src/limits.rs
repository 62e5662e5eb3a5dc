//! Input limits for the HTTP API: body size, UTF-8, JSON nesting depth, batch size,
//! label counts and sizes. Every violation is a [`Problem`] that names the field, so
//! the API can answer a clear 4xx.

use alert_core::Alert;
use serde::Deserialize;

/// Limits on what one request may carry (config section `[server.limits]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request body, in bytes (default 10 MiB).
    pub max_body_bytes: usize,
    /// Deepest JSON nesting (default 32).
    pub max_json_depth: usize,
    /// Most alerts in one request (default 10,000).
    pub max_alerts_per_request: usize,
    /// Most labels on one alert (default 2,000).
    pub max_labels: usize,
    /// Longest label or annotation value, in bytes (default 64 KiB).
    pub max_value_bytes: usize,
    /// Longest alert message, in bytes (default 1 MiB).
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 10 * 1024 * 1024,
            max_json_depth: 32,
            max_alerts_per_request: 10_000,
            max_labels: 2_000,
            max_value_bytes: 64 * 1024,
            max_message_bytes: 1024 * 1024,
        }
    }
}

/// A rejected input: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// HTTP status to answer (400, 413, 415, 422).
    pub status: u16,
    /// JSON path of the offending field (`$` for the whole body).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A 400 naming `field`.
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            status: 400,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks the raw body: UTF-8 and nesting depth (before any parsing, so a hostile
/// body cannot make the parser recurse).
pub fn check_body(body: &[u8], limits: &Limits) -> Result<(), Problem> {
    if body.len() > limits.max_body_bytes {
        return Err(Problem {
            status: 413,
            field: "$".into(),
            message: format!(
                "body is {} bytes, the limit is {}",
                body.len(),
                limits.max_body_bytes
            ),
        });
    }
    if let Err(e) = std::str::from_utf8(body) {
        return Err(Problem::bad(
            "$",
            format!("body is not valid UTF-8 (at byte {})", e.valid_up_to()),
        ));
    }
    // The nesting depth, counted outside strings. Strings (most of an alert's
    // bytes) are skipped with `memchr` to their closing quote.
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < body.len() {
        let b = body[i];
        i += 1;
        match b {
            b'"' => loop {
                // An unterminated string (or one ending in a lone escape): the
                // parser reports it.
                let Some(rest) = body.get(i..) else {
                    return Ok(());
                };
                match memchr::memchr2(b'"', b'\\', rest) {
                    // An escape: skip it and the character it escapes.
                    Some(k) if body[i + k] == b'\\' => i += k + 2,
                    Some(k) => {
                        i += k + 1;
                        break;
                    }
                    None => return Ok(()),
                }
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > limits.max_json_depth {
                    return Err(Problem::bad(
                        "$",
                        format!(
                            "JSON nested deeper than {} levels (at byte {})",
                            limits.max_json_depth,
                            i - 1
                        ),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses JSON into `T`, reporting the path of the failing field. Anything but
/// whitespace after the JSON value is an error.
///
/// A body that parses goes through `serde_json` alone; only a failing one is parsed
/// again with the path tracking that names the field (which costs a third of the
/// parse on the hot path of `POST /api/v2/alerts`).
pub fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Problem> {
    // Checked as UTF-8 once, in one pass: from bytes, the parser checks every
    // string on its own (a tenth of an Alertmanager batch's parse).
    if let Ok(text) = std::str::from_utf8(body) {
        let mut de = serde_json::Deserializer::from_str(text);
        if let Ok(v) = T::deserialize(&mut de) {
            return match de.end() {
                Ok(()) => Ok(v),
                Err(e) => Err(Problem::bad("$", e.to_string())),
            };
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut field = String::from("$");
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => {
                    field.push_str(&format!("[{index}]"))
                }
                serde_path_to_error::Segment::Map { key } => {
                    field.push('.');
                    field.push_str(key);
                }
                serde_path_to_error::Segment::Enum { variant } => {
                    field.push('.');
                    field.push_str(variant);
                }
                // A key not read yet (truncated or broken object): the message's
                // line and column say where.
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        Problem::bad(field, e.into_inner().to_string())
    })
}

/// Checks the sizes of parsed alerts.
pub fn check_alerts(alerts: &[Alert], limits: &Limits) -> Result<(), Problem> {
    if alerts.len() > limits.max_alerts_per_request {
        return Err(Problem {
            status: 413,
            field: "$".into(),
            message: format!(
                "{} alerts in one request, the limit is {}",
                alerts.len(),
                limits.max_alerts_per_request
            ),
        });
    }
    for (i, a) in alerts.iter().enumerate() {
        if a.labels.len() > limits.max_labels {
            return Err(Problem::bad(
                format!("$[{i}].labels"),
                format!(
                    "{} labels, the limit is {}",
                    a.labels.len(),
                    limits.max_labels
                ),
            ));
        }
        let long = a
            .labels
            .iter()
            .map(|(k, v)| ("labels", k, v))
            .chain(a.annotations.iter().map(|(k, v)| ("annotations", k, v)))
            .find(|(_, k, v)| k.len() > limits.max_value_bytes || v.len() > limits.max_value_bytes);
        if let Some((what, k, _)) = long {
            return Err(Problem::bad(
                format!("$[{i}].{what}.{}", k.chars().take(64).collect::<String>()),
                format!("name or value longer than {} bytes", limits.max_value_bytes),
            ));
        }
        if a.message.len() > limits.max_message_bytes {
            return Err(Problem::bad(
                format!("$[{i}].message"),
                format!(
                    "message is {} bytes, the limit is {}",
                    a.message.len(),
                    limits.max_message_bytes
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_checks() {
        let l = Limits {
            max_body_bytes: 100,
            max_json_depth: 3,
            ..Limits::default()
        };
        assert!(check_body(br#"{"a":[{"b":1}]}"#, &l).is_ok());
        assert!(
            check_body(br#"{"a":"[[[[[[[["}"#, &l).is_ok(),
            "brackets in strings do not count"
        );
        let e = check_body(br#"[[[[1]]]]"#, &l).unwrap_err();
        assert!(e.message.contains("deeper than 3"), "{e:?}");
        let e = check_body(&[b'"', 0xff, b'"'], &l).unwrap_err();
        assert_eq!(e.message, "body is not valid UTF-8 (at byte 1)");
        let e = check_body(&[b' '; 101], &l).unwrap_err();
        assert_eq!(e.status, 413);
    }

    #[test]
    fn depth_scan_skips_strings_with_escapes() {
        let l = Limits {
            max_json_depth: 2,
            ..Limits::default()
        };
        // An escaped quote does not end the string: the brackets after it are text.
        assert!(check_body(br#"[{"a":"x\"[[[[\\"}]"#, &l).is_ok());
        // An escaped backslash before the closing quote does end it: the brackets
        // after it count.
        let e = check_body(br#"[{"a":"x\\"},[[1]]]"#, &l).unwrap_err();
        assert_eq!(e.message, "JSON nested deeper than 2 levels (at byte 14)");
        let e = check_body(br#"[[["#, &l).unwrap_err();
        assert_eq!(e.message, "JSON nested deeper than 2 levels (at byte 2)");
        // Unterminated strings, even ending in a lone escape, are left to the
        // parser (no panic, no error here).
        for body in [&br#"["abc"#[..], br#"["abc\"#, br#"["\"#, br#"""#] {
            assert!(check_body(body, &l).is_ok(), "{body:?}");
        }
        let e = parse_json::<Vec<String>>(br#"["abc\"#).unwrap_err();
        assert!(e.message.contains("EOF"), "{e:?}");
    }

    #[test]
    fn parse_errors_name_the_path() {
        let e = parse_json::<Vec<Alert>>(
            br#"[{"name":"a","severity":"info"},{"name":"b","severity":"sev1"}]"#,
        )
        .unwrap_err();
        assert_eq!(e.field, "$[1].severity");
        assert!(e.message.contains("unknown severity \"sev1\""), "{e:?}");
        let e = parse_json::<Vec<Alert>>(br#"[{"name":"a","severity":"info","labls":{}}]"#)
            .unwrap_err();
        assert_eq!(e.field, "$[0].labls");
        assert!(e.message.contains("unknown field `labls`"), "{e:?}");
        let e = parse_json::<Vec<Alert>>(br#"[{"name":"a","severity":"info","labels":{"x":1}}]"#)
            .unwrap_err();
        assert_eq!(e.field, "$[0].labels.x");
        let e = parse_json::<Vec<Alert>>(b"[{").unwrap_err();
        assert!(e.message.contains("EOF"), "{e:?}");
        // Not UTF-8 (a caller that skipped `check_body`): still an error naming
        // the field, never a panic.
        let e =
            parse_json::<Vec<Alert>>(b"[{\"name\":\"a\xff\",\"severity\":\"info\"}]").unwrap_err();
        assert_eq!(e.field, "$[0].name");
        assert!(e.message.contains("invalid unicode"), "{e:?}");
    }

    #[test]
    fn parse_accepts_whitespace_but_not_trailing_data() {
        let ok = parse_json::<Vec<Alert>>(b"[{\"name\":\"a\",\"severity\":\"info\"}]\n \t")
            .expect("trailing whitespace is fine");
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].name, "a");
        let e =
            parse_json::<Vec<Alert>>(b"[{\"name\":\"a\",\"severity\":\"info\"}] []").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.field, "$");
        assert!(e.message.contains("trailing characters"), "{e:?}");
    }

    #[test]
    fn alert_checks() {
        let l = Limits {
            max_labels: 2,
            max_value_bytes: 5,
            ..Limits::default()
        };
        let a = Alert::new(alert_core::Severity::Info, "x")
            .with_label("a", "1")
            .with_label("b", "2")
            .with_label("c", "3");
        assert_eq!(check_alerts(&[a], &l).unwrap_err().field, "$[0].labels");
        let a = Alert::new(alert_core::Severity::Info, "x").with_annotation("k", "toolong");
        assert_eq!(
            check_alerts(&[a], &l).unwrap_err().field,
            "$[0].annotations.k"
        );
    }
}
