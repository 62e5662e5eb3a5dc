//! Checks shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use serde_json::Value;

/// Every string in a JSON value, with its path.
pub fn strings(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                strings(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                strings(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// Whether a `<…>` sequence is one the channel may write: a configured mention,
/// an `http(s)` link labelled Runbook or Dashboard, or a `<!date^…>` time.
fn allowed_markup(inner: &str, mentions: &[&str]) -> bool {
    if mentions
        .iter()
        .any(|m| m.trim_start_matches('<').trim_end_matches('>') == inner)
    {
        return true;
    }
    if let Some((url, label)) = inner.rsplit_once('|')
        && (url.starts_with("https://") || url.starts_with("http://"))
        && matches!(label, "Runbook" | "Dashboard")
        && !url.contains(['<', '>', ' ', '|'])
    {
        return true;
    }
    if let Some(rest) = inner.strip_prefix("!date^") {
        let mut it = rest.splitn(3, '^');
        let secs = it.next().unwrap_or_default();
        let fmt = it.next().unwrap_or_default();
        return !secs.is_empty()
            && secs.chars().all(|c| c.is_ascii_digit())
            && fmt.starts_with("{date_short_pretty} {time}|")
            && !fmt.contains(['<', '>']);
    }
    false
}

/// Violations of the safety rules in one string: every `<…>` the channel did not
/// write, every `>` outside a `<…>` (before, between or after them), every `<`
/// left unclosed, and every raw `&` that does not start `&amp;`, `&lt;` or `&gt;`.
pub fn markup_in(s: &str, mentions: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let start = rest.find('<').unwrap_or(rest.len());
        // Text outside markup: no `>` at all.
        for (i, _) in rest[..start].match_indices('>') {
            out.push(format!("bare '>' at {} in {s:?}", s.len() - rest.len() + i));
        }
        if start == rest.len() {
            break;
        }
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            out.push(format!("unclosed '<' in {s:?}"));
            break;
        };
        let inner = &after[..end];
        if !allowed_markup(inner, mentions) {
            out.push(format!("markup <{inner}> not written by the channel"));
        }
        rest = &after[end + 1..];
    }
    for (i, _) in s.match_indices('&') {
        let tail = &s[i..];
        if !(tail.starts_with("&amp;") || tail.starts_with("&lt;") || tail.starts_with("&gt;")) {
            out.push(format!("raw '&' at {i} in {s:?}"));
        }
    }
    out
}

/// Violations of the channel's safety rules in a request body: any `<…>` the channel
/// did not write itself, any raw `&` that does not start an entity, and any `mrkdwn`
/// text object that is not `verbatim`.
pub fn markup_violations(body: &Value, mentions: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut all = Vec::new();
    strings(body, "$", &mut all);
    for (path, s) in &all {
        if path.ends_with(".type") || path == "$.channel" || path == "$.ts" || path == "$.thread_ts"
        {
            continue;
        }
        out.extend(
            markup_in(s, mentions)
                .into_iter()
                .map(|v| format!("{path}: {v}")),
        );
    }
    let mut objects = Vec::new();
    text_objects(body, "$", &mut objects);
    for (path, o) in objects {
        if o["type"] == "mrkdwn" && o["verbatim"] != true {
            out.push(format!("{path}: mrkdwn text is not verbatim"));
        }
    }
    out
}

fn text_objects<'a>(v: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(o) => {
            if matches!(
                o.get("type").and_then(Value::as_str),
                Some("mrkdwn" | "plain_text")
            ) {
                out.push((path.to_owned(), v));
            }
            for (k, x) in o {
                text_objects(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                text_objects(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// All blocks of a body, top level then attachments'.
pub fn all_blocks(body: &Value) -> Vec<Value> {
    let mut v: Vec<Value> = body["blocks"].as_array().cloned().unwrap_or_default();
    for a in body["attachments"].as_array().into_iter().flatten() {
        v.extend(a["blocks"].as_array().cloned().unwrap_or_default());
    }
    v
}

/// Every text of a body joined, for "is it there" checks.
pub fn all_text(body: &Value) -> String {
    let mut all = Vec::new();
    strings(body, "$", &mut all);
    all.into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join("\n")
}
