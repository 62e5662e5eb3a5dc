//! Discord's message limits, and a checker that applies them to a JSON payload the
//! way Discord does.
//!
//! The notifier fits every message within these limits before sending; the fake
//! server ([`FakeDiscord`](crate::fake::FakeDiscord), feature `fake`) refuses
//! payloads that break them with the same nested `50035 Invalid Form Body` error
//! Discord sends, and tests use [`check`] to assert on what was sent.
//!
//! Source: discord-api-docs `developers/resources/message.mdx` ("Embed Limits") and
//! `developers/resources/webhook.mdx` ("Execute Webhook"). Discord measures text
//! after trimming leading and trailing white space, in JavaScript string units
//! (UTF-16 code units); [`len`] does the same.

use serde_json::Value;

/// `content`: at most 2,000 characters.
pub const CONTENT: usize = 2000;
/// At most 10 embeds per message.
pub const EMBEDS: usize = 10;
/// `embeds[].title`: 256.
pub const TITLE: usize = 256;
/// `embeds[].description`: 4,096.
pub const DESCRIPTION: usize = 4096;
/// At most 25 fields per embed.
pub const FIELDS: usize = 25;
/// `embeds[].fields[].name`: 256.
pub const FIELD_NAME: usize = 256;
/// `embeds[].fields[].value`: 1,024.
pub const FIELD_VALUE: usize = 1024;
/// `embeds[].footer.text`: 2,048.
pub const FOOTER: usize = 2048;
/// `embeds[].author.name`: 256.
pub const AUTHOR: usize = 256;
/// Title, description, field names and values, footer text and author name, summed
/// over **all embeds of a message**: 6,000.
pub const TOTAL: usize = 6000;
/// The `username` override: 1 to 80 characters.
pub const USERNAME: usize = 80;
/// The largest embed colour, `0xFFFFFF`.
pub const MAX_COLOUR: u64 = 0xFF_FFFF;

/// The length Discord counts: UTF-16 code units of the trimmed text.
pub fn len(s: &str) -> usize {
    s.trim().encode_utf16().count()
}

/// One broken rule, as Discord reports it inside a `50035` error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The dotted path of the offending value (`embeds.0.fields.3.value`).
    pub path: String,
    /// Discord's error code for it (`BASE_TYPE_MAX_LENGTH`).
    pub code: &'static str,
    /// Discord's message (`Must be 1024 or fewer in length.`).
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.code)
    }
}

fn max_len(out: &mut Vec<Violation>, path: String, v: Option<&Value>, max: usize) -> usize {
    let Some(v) = v else { return 0 };
    match v {
        Value::Null => 0,
        Value::String(s) => {
            let n = len(s);
            if n > max {
                out.push(Violation {
                    path,
                    code: "BASE_TYPE_MAX_LENGTH",
                    message: format!("Must be {max} or fewer in length."),
                });
            }
            n
        }
        _ => {
            out.push(Violation {
                path,
                code: "BASE_TYPE_STRING",
                message: "Could not interpret value as string.".to_owned(),
            });
            0
        }
    }
}

fn required(out: &mut Vec<Violation>, path: String, v: Option<&Value>) -> bool {
    let present = match v {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    if !present {
        out.push(Violation {
            path,
            code: "BASE_TYPE_REQUIRED",
            message: "This field is required".to_owned(),
        });
    }
    present
}

/// Checks a message payload (execute or edit) against Discord's limits and returns
/// every violation, in a stable order. An empty list means Discord accepts the
/// sizes (it may still refuse other things, such as an empty message).
///
/// ```
/// use alert_discord::limits;
/// let ok = serde_json::json!({"content": "hi", "embeds": [{"title": "t"}]});
/// assert!(limits::check(&ok).is_empty());
/// let bad = serde_json::json!({"embeds": [{"title": "x".repeat(300)}]});
/// assert_eq!(limits::check(&bad)[0].to_string(),
///     "embeds.0.title: Must be 256 or fewer in length. (BASE_TYPE_MAX_LENGTH)");
/// ```
pub fn check(payload: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    max_len(&mut out, "content".into(), payload.get("content"), CONTENT);
    if let Some(Value::String(u)) = payload.get("username") {
        let n = len(u);
        if n == 0 || n > USERNAME {
            out.push(Violation {
                path: "username".into(),
                code: "BASE_TYPE_BAD_LENGTH",
                message: format!("Must be between 1 and {USERNAME} in length."),
            });
        }
    }
    match payload.get("embeds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(embeds)) => {
            if embeds.len() > EMBEDS {
                out.push(Violation {
                    path: "embeds".into(),
                    code: "BASE_TYPE_MAX_LENGTH",
                    message: format!("Must be {EMBEDS} or fewer in length."),
                });
            }
            let mut total = 0;
            for (i, e) in embeds.iter().enumerate() {
                total += check_embed(&mut out, i, e);
            }
            if total > TOTAL {
                out.push(Violation {
                    path: "embeds".into(),
                    code: "MAX_EMBED_SIZE_EXCEEDED",
                    message: format!("Embed size exceeds maximum size of {TOTAL}"),
                });
            }
        }
        Some(_) => out.push(Violation {
            path: "embeds".into(),
            code: "BASE_TYPE_ARRAY",
            message: "Must be an array.".into(),
        }),
    }
    if let Some(am) = payload.get("allowed_mentions").filter(|v| !v.is_null()) {
        check_allowed_mentions(&mut out, am);
    }
    out
}

fn check_embed(out: &mut Vec<Violation>, i: usize, e: &Value) -> usize {
    let p = |s: &str| format!("embeds.{i}.{s}");
    if !e.is_object() {
        out.push(Violation {
            path: format!("embeds.{i}"),
            code: "MODEL_TYPE_CONVERT",
            message: "Only dictionaries may be used in a ModelType".into(),
        });
        return 0;
    }
    let mut total = 0;
    total += max_len(out, p("title"), e.get("title"), TITLE);
    total += max_len(out, p("description"), e.get("description"), DESCRIPTION);
    if let Some(f) = e.get("footer").filter(|v| !v.is_null())
        && required(out, p("footer.text"), f.get("text"))
    {
        total += max_len(out, p("footer.text"), f.get("text"), FOOTER);
    }
    if let Some(a) = e.get("author").filter(|v| !v.is_null())
        && required(out, p("author.name"), a.get("name"))
    {
        total += max_len(out, p("author.name"), a.get("name"), AUTHOR);
    }
    match e.get("color") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|c| c <= MAX_COLOUR) => {}
        Some(Value::Number(n)) if n.as_i64().is_some_and(|c| c < 0) => out.push(Violation {
            path: p("color"),
            code: "NUMBER_TYPE_MIN",
            message: "Int value should be greater than or equal to 0.".into(),
        }),
        Some(Value::Number(n)) if n.as_u64().is_some() => out.push(Violation {
            path: p("color"),
            code: "NUMBER_TYPE_MAX",
            message: format!("Int value should be less than or equal to {MAX_COLOUR}."),
        }),
        Some(_) => out.push(Violation {
            path: p("color"),
            code: "NUMBER_TYPE_COERCE",
            message: "Value is not int.".into(),
        }),
    }
    if let Some(fields) = e.get("fields").and_then(Value::as_array) {
        if fields.len() > FIELDS {
            out.push(Violation {
                path: p("fields"),
                code: "BASE_TYPE_MAX_LENGTH",
                message: format!("Must be {FIELDS} or fewer in length."),
            });
        }
        for (j, f) in fields.iter().enumerate() {
            let fp = |s: &str| format!("embeds.{i}.fields.{j}.{s}");
            if required(out, fp("name"), f.get("name")) {
                total += max_len(out, fp("name"), f.get("name"), FIELD_NAME);
            }
            if required(out, fp("value"), f.get("value")) {
                total += max_len(out, fp("value"), f.get("value"), FIELD_VALUE);
            }
        }
    }
    total
}

fn check_allowed_mentions(out: &mut Vec<Violation>, am: &Value) {
    let parse: Vec<&str> = am
        .get("parse")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (k, p) in parse.iter().enumerate() {
        if !matches!(*p, "roles" | "users" | "everyone") {
            out.push(Violation {
                path: format!("allowed_mentions.parse.{k}"),
                code: "BASE_TYPE_CHOICES",
                message: format!(
                    "Value must be one of {{'roles', 'users', 'everyone'}}. (got {p:?})"
                ),
            });
        }
    }
    for kind in ["users", "roles"] {
        let listed = am
            .get(kind)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if listed && parse.contains(&kind) {
            out.push(Violation {
                path: "allowed_mentions".into(),
                code: "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                message: format!("parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive."),
            });
        }
        if let Some(a) = am.get(kind).and_then(Value::as_array)
            && a.len() > 100
        {
            out.push(Violation {
                path: format!("allowed_mentions.{kind}"),
                code: "BASE_TYPE_MAX_LENGTH",
                message: "Must be 100 or fewer in length.".into(),
            });
        }
    }
}

/// The total embed length of a payload as Discord counts it (the number limited by
/// [`TOTAL`]).
pub fn embeds_total(payload: &Value) -> usize {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, len);
    payload
        .get("embeds")
        .and_then(Value::as_array)
        .map_or(0, |embeds| {
            embeds
                .iter()
                .map(|e| {
                    s(e.get("title"))
                        + s(e.get("description"))
                        + s(e.get("footer").and_then(|f| f.get("text")))
                        + s(e.get("author").and_then(|a| a.get("name")))
                        + e.get("fields").and_then(Value::as_array).map_or(0, |fs| {
                            fs.iter()
                                .map(|f| s(f.get("name")) + s(f.get("value")))
                                .sum()
                        })
                })
                .sum()
        })
}

/// Builds Discord's nested `errors` object from violations:
/// `embeds.0.title` becomes `{"embeds": {"0": {"title": {"_errors": [...]}}}}`.
pub fn nest(violations: &[Violation]) -> Value {
    let mut root = Value::Object(serde_json::Map::new());
    for v in violations {
        let segs: Vec<&str> = v.path.split('.').collect();
        insert(
            &mut root,
            &segs,
            serde_json::json!({"code": v.code, "message": v.message}),
        );
    }
    root
}

fn insert(node: &mut Value, path: &[&str], error: Value) {
    if !node.is_object() {
        *node = Value::Object(serde_json::Map::new());
    }
    let Value::Object(map) = node else { return };
    match path.split_first() {
        None => {
            let errs = map
                .entry("_errors".to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = errs {
                a.push(error);
            }
        }
        Some((first, rest)) => {
            let child = map
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            insert(child, rest, error);
        }
    }
}

/// Flattens Discord's nested `errors` object into `path: message (code)` lines, the
/// inverse of [`nest`]. Unknown shapes are skipped, never a panic.
pub fn flatten(errors: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(errors, &mut String::new(), &mut out);
    out
}

fn walk(v: &Value, path: &mut String, out: &mut Vec<String>) {
    let Some(obj) = v.as_object() else { return };
    for (k, child) in obj {
        if k == "_errors" {
            for e in child.as_array().into_iter().flatten() {
                let msg = e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("invalid");
                let code = e.get("code").and_then(Value::as_str);
                let at = if path.is_empty() {
                    "(body)"
                } else {
                    path.as_str()
                };
                out.push(match code {
                    Some(c) => format!("{at}: {msg} ({c})"),
                    None => format!("{at}: {msg}"),
                });
            }
        } else {
            let before = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            walk(child, path, out);
            path.truncate(before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(v: &Value) -> Vec<String> {
        check(v).into_iter().map(|v| v.path).collect()
    }

    #[test]
    fn every_limit_at_and_over_the_edge() {
        let at = json!({
            "content": "c".repeat(CONTENT),
            "username": "u".repeat(USERNAME),
            "embeds": [{
                "title": "t".repeat(TITLE),
                "description": "d".repeat(DESCRIPTION - 2000),
                "footer": {"text": "f".repeat(500)},
                "author": {"name": "a".repeat(AUTHOR)},
                "fields": (0..FIELDS).map(|_| json!({"name": "n", "value": "v"})).collect::<Vec<_>>(),
                "color": MAX_COLOUR,
            }],
        });
        assert_eq!(check(&at), vec![], "{:?}", check(&at));
        let over = json!({
            "content": "c".repeat(CONTENT + 1),
            "username": "u".repeat(USERNAME + 1),
            "embeds": [{
                "title": "t".repeat(TITLE + 1),
                "description": "d".repeat(DESCRIPTION + 1),
                "footer": {"text": "f".repeat(FOOTER + 1)},
                "author": {"name": "a".repeat(AUTHOR + 1)},
                "fields": (0..=FIELDS).map(|j| if j == 0 {
                    json!({"name": "n".repeat(FIELD_NAME + 1), "value": "v".repeat(FIELD_VALUE + 1)})
                } else {
                    json!({"name": "n", "value": "v"})
                }).collect::<Vec<_>>(),
                "color": MAX_COLOUR + 1,
            }],
        });
        assert_eq!(
            paths(&over),
            [
                "content",
                "username",
                "embeds.0.title",
                "embeds.0.description",
                "embeds.0.footer.text",
                "embeds.0.author.name",
                "embeds.0.color",
                "embeds.0.fields",
                "embeds.0.fields.0.name",
                "embeds.0.fields.0.value",
                "embeds",
            ]
        );
    }

    #[test]
    fn total_is_summed_across_embeds_and_trimmed_utf16() {
        let embed = |n: usize| json!({"description": "d".repeat(n)});
        let ok = json!({"embeds": [embed(3000), embed(3000)]});
        assert!(check(&ok).is_empty());
        assert_eq!(embeds_total(&ok), 6000);
        let over = json!({"embeds": [embed(3000), embed(3001)]});
        assert_eq!(paths(&over), ["embeds"]);
        assert_eq!(check(&over)[0].code, "MAX_EMBED_SIZE_EXCEEDED");
        // White space around is not counted; an emoji outside the BMP counts twice.
        assert!(check(&json!({"content": format!("  {}  ", "c".repeat(CONTENT))})).is_empty());
        assert_eq!(paths(&json!({"content": "😀".repeat(1001)})), ["content"]);
        let eleven: Vec<Value> = (0..11).map(|_| json!({"title": "t"})).collect();
        assert_eq!(paths(&json!({"embeds": eleven})), ["embeds"]);
    }

    #[test]
    fn fields_need_names_and_values_and_mentions_are_checked() {
        let v = json!({"embeds": [{"fields": [{"name": " ", "value": ""}]}]});
        assert_eq!(
            paths(&v),
            ["embeds.0.fields.0.name", "embeds.0.fields.0.value"]
        );
        let v = json!({"content": "x", "allowed_mentions": {"parse": ["roles", "pings"], "roles": ["1"]}});
        assert_eq!(paths(&v), ["allowed_mentions.parse.1", "allowed_mentions"]);
        let v =
            json!({"content": "x", "allowed_mentions": {"parse": [], "users": [], "roles": ["1"]}});
        assert!(check(&v).is_empty());
        assert_eq!(paths(&json!({"embeds": {}})), ["embeds"]);
        assert_eq!(paths(&json!({"content": 5})), ["content"]);
        assert_eq!(
            paths(&json!({"embeds": [{"color": -1}]})),
            ["embeds.0.color"]
        );
        assert_eq!(
            paths(&json!({"embeds": [{"color": "red"}]})),
            ["embeds.0.color"]
        );
    }

    #[test]
    fn nest_and_flatten_are_inverse() {
        let over = json!({"content": "c".repeat(2001), "embeds": [{"title": "t".repeat(300)}, {"fields": [{"name": "n", "value": ""}]}]});
        let v = check(&over);
        let nested = nest(&v);
        assert_eq!(
            nested["embeds"]["0"]["title"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
        let mut flat = flatten(&nested);
        flat.sort();
        let mut want: Vec<String> = v.iter().map(ToString::to_string).collect();
        want.sort();
        assert_eq!(flat, want);
        assert_eq!(
            flatten(
                &json!({"_errors": [{"code": "X", "message": "m"}], "a": 5, "b": {"_errors": "no"}})
            ),
            ["(body): m (X)"]
        );
        assert!(flatten(&json!("not an object")).is_empty());
    }
}
