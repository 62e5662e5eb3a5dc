//! Keeping secrets of a config file out of error messages.
//!
//! A config error shows the offending line as written and a message that may quote
//! a value. When a secret is written in the file itself (`webhook_url =
//! "https://hooks.slack.com/..."` rather than `"${SLACK_WEBHOOK_URL}"`), or comes
//! from the environment, neither may reach standard error (and so journald). This
//! module:
//!
//! * finds the values of **secret keys** ([`is_secret_key`]: the keys the config
//!   types hold as `alert_core::Secret`, such as `webhook_url`, `url`, `bot_token`,
//!   `api_key`, `read_tokens`, `write_tokens`, every value under `headers`, and an
//!   action's `env`) with a
//!   tolerant tokenizer, so it works on files that are not valid TOML too;
//! * replaces them with `**REDACTED**` in the lines an error shows, keeping
//!   `${NAME}` references (which are not secrets) and the line structure;
//! * scrubs those values (as written, and after interpolation) from messages, and
//!   masks every quoted string of a message about a secret key.

use crate::lex::{self, Kind, StrKind};

/// What replaces a secret.
pub const REDACTED: &str = "**REDACTED**";

/// Keys whose values are secrets wherever they appear (the config types hold them
/// as `Secret`): channel URLs and tokens, API keys, the service's tokens, and
/// request headers (every value of a `headers` table).
pub const SECRET_KEYS: [&str; 7] = [
    "webhook_url",
    "url",
    "bot_token",
    "api_key",
    "read_tokens",
    "write_tokens",
    "headers",
];

/// Whether values under `key` are secrets: one of [`SECRET_KEYS`], or a key whose
/// name says so (`token`, `secret`, `password`, `credential` in it), so a key added
/// later is covered before this list learns about it.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    SECRET_KEYS.contains(&k.as_str())
        || [
            "token",
            "secret",
            "password",
            "passwd",
            "credential",
            "apikey",
        ]
        .iter()
        .any(|w| k.contains(w))
}

/// Whether `key` of a table under `root` (the first key of its path: `actions`,
/// `receivers`, `server`, ...) holds secrets: [`is_secret_key`], plus `env` of an
/// action (the environment a command runs with, whose values are secrets; `env`
/// elsewhere, as a label, is not).
pub fn is_secret_key_in(root: &str, key: &str) -> bool {
    is_secret_key(key) || (root == "actions" && key == "env")
}

/// Whether a key path (`receivers[1].channels[0].headers.Authorization`) goes
/// through a secret key.
pub fn is_secret_path(path: &str) -> bool {
    let mut segs = path.split(['.', '[', ']']).filter(|s| !s.is_empty());
    let root = segs.next().unwrap_or("");
    is_secret_key(root) || segs.any(|s| is_secret_key_in(root, s))
}

/// A value of a secret key found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    /// The bytes to mask (a string's content, or a bare word).
    range: std::ops::Range<usize>,
    /// The kind of string, `None` for a bare word.
    kind: Option<StrKind>,
}

/// Where the tokenizer is in a key/value line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Key,
    Value,
    AfterValue,
}

/// An open inline table or array.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Whether everything inside is a secret.
    secret: bool,
    /// An inline table (keys inside), not an array.
    table: bool,
    /// Whether the key outside, whose value this is, is a secret key.
    outer_key_secret: bool,
}

/// The key segments of a bare word (`a.b`) or a quoted key.
fn key_parts(text: &str, tok: &lex::Token) -> Vec<String> {
    match &tok.kind {
        Kind::Str { content, .. } => vec![text[content.clone()].to_owned()],
        _ => text[tok.range.clone()]
            .split('.')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

/// Every value of a secret key in `text`.
fn find(text: &str) -> Vec<Found> {
    let toks: Vec<lex::Token> = lex::tokens(text)
        .into_iter()
        .filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
        .collect();
    let mut out = Vec::new();
    let mut header_secret = false;
    // The first key of the current table's path (`actions`, `receivers`, ...).
    let mut root = String::new();
    let mut line_root = String::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut key_secret = false;
    let mut keys: Vec<String> = Vec::new();
    let mut expect = Expect::Key;
    let mut last_word: Vec<String> = Vec::new();
    let mut broken_line = false;
    let mut i = 0;
    while i < toks.len() {
        let tok = &toks[i];
        i += 1;
        if matches!(tok.kind, Kind::Bare | Kind::Str { .. }) {
            last_word = key_parts(text, tok);
        }
        if let Kind::Str { kind, content } = &tok.kind
            && matches!(kind, StrKind::Basic | StrKind::Literal)
            && content.end == tok.range.end
        {
            broken_line = true;
        }
        let secret_here = |key_secret: bool, stack: &[Frame]| {
            header_secret || key_secret || stack.iter().any(|f| f.secret)
        };
        match &tok.kind {
            Kind::Newline => {
                // A one-line string left open swallowed the rest of its line, closing
                // brackets included: start the next line afresh.
                if broken_line {
                    broken_line = false;
                    stack.clear();
                }
                if stack.is_empty() {
                    expect = Expect::Key;
                    key_secret = false;
                    keys.clear();
                }
            }
            Kind::Punct(b'[') if stack.is_empty() && expect == Expect::Key => {
                // A table header: `[a.b]` or `[[a.b]]`.
                let mut path = Vec::new();
                while i < toks.len() && !matches!(toks[i].kind, Kind::Newline) {
                    if matches!(toks[i].kind, Kind::Bare | Kind::Str { .. }) {
                        path.extend(key_parts(text, &toks[i]));
                    }
                    i += 1;
                }
                root = path.first().cloned().unwrap_or_default();
                header_secret = path.iter().any(|p| is_secret_key_in(&root, p));
            }
            Kind::Punct(open @ (b'[' | b'{')) => {
                let table = *open == b'{';
                stack.push(Frame {
                    secret: secret_here(key_secret, &stack),
                    table,
                    outer_key_secret: key_secret,
                });
                if table {
                    key_secret = false;
                }
                keys.clear();
                expect = if table { Expect::Key } else { Expect::Value };
            }
            Kind::Punct(b']' | b'}') => {
                if let Some(f) = stack.pop() {
                    key_secret = f.outer_key_secret;
                }
                expect = Expect::AfterValue;
            }
            Kind::Punct(b'=') => {
                // `=` in value position: a broken file (an array never closed, a
                // missing newline). Read the word before it as the key, and leave
                // the arrays it was thought to be in.
                if expect != Expect::Key {
                    keys = last_word.clone();
                    while stack.last().is_some_and(|f| !f.table) {
                        stack.pop();
                    }
                }
                // Outside any table header, a top-level key starts its own path,
                // which the inline tables of its value are under.
                let here = match (stack.is_empty(), root.is_empty()) {
                    (true, true) => keys.first().cloned().unwrap_or_default(),
                    (true, false) => root.clone(),
                    (false, _) => line_root.clone(),
                };
                if stack.is_empty() {
                    line_root = here.clone();
                }
                key_secret = keys.iter().any(|k| is_secret_key_in(&here, k));
                keys.clear();
                expect = Expect::Value;
            }
            Kind::Punct(b',') => {
                expect = match stack.last() {
                    Some(f) if f.table => Expect::Key,
                    _ => Expect::Value,
                };
                if matches!(stack.last(), Some(f) if f.table) {
                    key_secret = false;
                }
            }
            Kind::Str { kind, content } => match expect {
                Expect::Key => keys.extend(key_parts(text, tok)),
                Expect::Value | Expect::AfterValue => {
                    if secret_here(key_secret, &stack) {
                        out.push(Found {
                            range: content.clone(),
                            kind: Some(*kind),
                        });
                    }
                    expect = Expect::AfterValue;
                }
            },
            Kind::Bare => match expect {
                Expect::Key => keys.extend(key_parts(text, tok)),
                Expect::Value | Expect::AfterValue => {
                    if secret_here(key_secret, &stack) {
                        out.push(Found {
                            range: tok.range.clone(),
                            kind: None,
                        });
                    }
                    expect = Expect::AfterValue;
                }
            },
            _ => {}
        }
    }
    out
}

/// Splits `s` into `${NAME}` references (kept: they name a variable, not a
/// secret) and the literal runs around them.
fn runs(s: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let Some(end) = rest[i..].find('}') else {
            break;
        };
        let name = &rest[i + 2..i + end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            break;
        }
        if i > 0 {
            out.push((false, &rest[..i]));
        }
        out.push((true, &rest[i..i + end + 1]));
        rest = &rest[i + end + 1..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    out
}

/// `text` with the value of every secret key replaced by [`REDACTED`], keeping
/// `${NAME}` references and every line break (line `n` of the result is line `n` of
/// the input, redacted).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in find(text) {
        out.push_str(&text[at..f.range.start]);
        for (is_ref, run) in runs(&text[f.range.clone()]) {
            if is_ref {
                out.push_str(run);
                continue;
            }
            let pieces: Vec<&str> = run.split('\n').collect();
            for (n, piece) in pieces.iter().enumerate() {
                if n > 0 {
                    out.push('\n');
                }
                if !piece.trim().is_empty() {
                    out.push_str(REDACTED);
                }
            }
        }
        at = f.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Line `line` (1-based) of `text`, redacted.
pub fn redacted_line(text: &str, line: usize) -> Option<String> {
    redact_text(text)
        .lines()
        .nth(line.checked_sub(1)?)
        .map(str::to_owned)
}

/// Reads the escapes of a basic string's content.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('e') => out.push('\u{1b}'),
            Some(u @ ('u' | 'U')) => {
                let n = if u == 'u' { 4 } else { 8 };
                let hex: String = chars.by_ref().take(n).collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            // A line-ending backslash joins lines.
            Some(w) if w.is_whitespace() => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The values of secret keys in `text` (decoded; `${NAME}` references left out),
/// to scrub from messages.
pub fn secret_values(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for f in find(text) {
        for (is_ref, run) in runs(&text[f.range.clone()]) {
            if is_ref {
                continue;
            }
            let v = match f.kind {
                Some(StrKind::Basic | StrKind::MlBasic) => unescape(run),
                _ => run.to_owned(),
            };
            let v = v.trim().to_owned();
            if !v.is_empty() && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// Masks the content of every `"..."` in `message`.
fn mask_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '"' {
            continue;
        }
        let mut escaped = false;
        let mut closed = false;
        for c in chars.by_ref() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    closed = true;
                    break;
                }
                _ => {}
            }
        }
        out.push_str(REDACTED);
        if closed {
            out.push('"');
        }
    }
    out
}

/// Values shorter than this are not scrubbed from messages: a one-letter "secret"
/// would garble every message and hides nothing worth hiding.
const MIN_SCRUBBED: usize = 4;

/// `message` without any of `secrets` (as is, or escaped as Rust and serde quote
/// strings), and with every quoted string masked when `key` is a secret path.
pub fn scrub(message: &str, secrets: &[String], key: Option<&str>) -> String {
    let mut out = if key.is_some_and(is_secret_path) {
        mask_quoted(message)
    } else {
        message.to_owned()
    };
    let mut values: Vec<&String> = secrets
        .iter()
        .filter(|s| s.chars().count() >= MIN_SCRUBBED)
        .collect();
    values.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for v in values {
        let escaped = format!("{v:?}");
        let escaped = &escaped[1..escaped.len() - 1];
        if escaped != v.as_str() {
            out = out.replace(escaped, REDACTED);
        }
        out = out.replace(v.as_str(), REDACTED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r##"
[server.auth]
write_tokens = ["literal-write-token", "${FROM_ENV}"]
read_tokens = [
  "multi-line-read-token",
]

[[receivers]]
name = "team"
channels = [
  { type = "discord", webhook_url = "https://discord.com/api/webhooks/1/discord-token", username = "bot" },
  { type = "webhook", url = 'https://hooks.example/literal-path', headers = { Authorization = "Bearer bearer-secret", "X-Key" = "${KEY}" } },
  { type = "slack", bot_token = """xoxb-multi
line""", channel = "#alerts" },
]

[[actions]]
type = "http"
name = "page"
url = "https://actions.example/secret-action"
[actions.headers]
X-Api-Key = "header-table-secret"

[[receivers]]
name = "status"
channels = [{ type = "statuspal", api_key = bare-api-key, subdomain = "acme" }]
"##;

    const SECRETS: [&str; 9] = [
        "literal-write-token",
        "multi-line-read-token",
        "discord-token",
        "literal-path",
        "bearer-secret",
        "xoxb-multi",
        "secret-action",
        "header-table-secret",
        "bare-api-key",
    ];

    #[test]
    fn secret_values_are_masked_in_every_form_of_toml() {
        let r = redact_text(FILE);
        for s in SECRETS {
            assert!(!r.contains(s), "{s} left in\n{r}");
        }
        // Everything else is kept: keys, other values, references, line structure.
        assert_eq!(r.lines().count(), FILE.lines().count());
        for kept in [
            "${FROM_ENV}",
            "\"${KEY}\"",
            "username = \"bot\"",
            "channel = \"#alerts\"",
            "subdomain = \"acme\"",
            "name = \"page\"",
            "Authorization = \"**REDACTED**\"",
            "\"X-Key\" = \"${KEY}\"",
            "type = \"discord\"",
        ] {
            assert!(r.contains(kept), "{kept} missing from\n{r}");
        }
        // A secret key in one inline table does not make the next one secret.
        let two = "channels = [\n  { type = \"slack\", webhook_url = \"s-1\" },\n  { type = \"discord\", username = \"bot\" },\n]";
        assert_eq!(
            redact_text(two),
            "channels = [\n  { type = \"slack\", webhook_url = \"**REDACTED**\" },\n  { type = \"discord\", username = \"bot\" },\n]"
        );
        assert_eq!(secret_values(two), ["s-1"]);
        assert_eq!(
            redacted_line(FILE, 3).unwrap(),
            "write_tokens = [\"**REDACTED**\", \"${FROM_ENV}\"]"
        );
        assert_eq!(redacted_line(FILE, 5).unwrap(), "  \"**REDACTED**\",");
        assert_eq!(
            redacted_line(FILE, 12).unwrap(),
            "  { type = \"webhook\", url = '**REDACTED**', headers = { Authorization = \"**REDACTED**\", \"X-Key\" = \"${KEY}\" } },"
        );
        // Both lines of a multi-line secret.
        assert_eq!(
            redacted_line(FILE, 13).unwrap(),
            "  { type = \"slack\", bot_token = \"\"\"**REDACTED**"
        );
        assert_eq!(
            redacted_line(FILE, 14).unwrap(),
            "**REDACTED**\"\"\", channel = \"#alerts\" },"
        );
    }

    #[test]
    fn broken_files_are_redacted_too() {
        // An unterminated string, a missing bracket: no TOML parser would read these.
        let broken = "webhook_url = \"https://hooks.slack.com/services/T/B/unterminated\nx = [\napi_key = \"k-123456\"";
        let r = redact_text(broken);
        assert!(
            !r.contains("unterminated") && !r.contains("k-123456"),
            "{r}"
        );
        // After a line broken by an unterminated string, the next line is read
        // afresh (not as the inside of the secret it swallowed).
        let next = "a = [\n  { url = \"https://x/unterminated },\n  { type = \"discord\", name = \"kept\" },\n]";
        assert_eq!(
            redact_text(next),
            "a = [\n  { url = \"**REDACTED**\n  { type = \"discord\", name = \"kept\" },\n]"
        );
        let mixed = "headers = { Authorization = \"Bearer ${TOKEN}\" }";
        assert_eq!(
            redact_text(mixed),
            "headers = { Authorization = \"**REDACTED**${TOKEN}\" }"
        );
    }

    #[test]
    fn values_are_decoded_and_scrubbed_from_messages() {
        let v = secret_values(FILE);
        for s in SECRETS {
            assert!(v.iter().any(|x| x.contains(s)), "{s} not found in {v:?}");
        }
        assert!(v.contains(&"xoxb-multi\nline".to_owned()), "{v:?}");
        let v = secret_values("api_key = \"a\\\"quoted\\\\value\"");
        assert_eq!(v, ["a\"quoted\\value"]);
        // serde quotes values with Rust escapes.
        let m = scrub(
            "invalid type: string \"a\\\"quoted\\\\value\", expected a map",
            &v,
            None,
        );
        assert_eq!(m, "invalid type: string \"**REDACTED**\", expected a map");
        // About a secret key, every quoted string goes, known or not.
        let m = scrub(
            "invalid type: string \"Bearer x\", expected a map",
            &[],
            Some("receivers[0].channels[1].headers"),
        );
        assert_eq!(m, "invalid type: string \"**REDACTED**\", expected a map");
        // Other keys keep their quotes; short values are not scrubbed.
        let m = scrub(
            "expected one of error, warn, not \"loud\"",
            &["w".into()],
            Some("log.level"),
        );
        assert_eq!(m, "expected one of error, warn, not \"loud\"");
    }

    #[test]
    fn secret_keys() {
        for k in SECRET_KEYS {
            assert!(is_secret_key(k));
        }
        for k in ["access_token", "client_secret", "PASSWORD", "bot_token"] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "api_base_url",
            "avatar_url",
            "base_url",
            "public_url",
            "name",
            "channel",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
        assert!(is_secret_path("receivers[0].channels[1].webhook_url"));
        assert!(is_secret_path("actions[0].env.MLFLOW_TOKEN"));
        assert!(!is_secret_path("rules[0].labels.env"));
        let text = "[[rules]]\nlabels = { env = \"prod\" }\n[[actions]]\ntype = \"command\"\nenv = { A = \"action-env-secret\" }\n";
        assert_eq!(
            redact_text(text),
            "[[rules]]\nlabels = { env = \"prod\" }\n[[actions]]\ntype = \"command\"\nenv = { A = \"**REDACTED**\" }\n"
        );
        let inline = "labels = { env = \"prod\" }\nactions = [{ type = \"command\", env = { A = \"s3cret\" } }]\n";
        assert_eq!(
            redact_text(inline),
            "labels = { env = \"prod\" }\nactions = [{ type = \"command\", env = { A = \"**REDACTED**\" } }]\n"
        );
        assert!(is_secret_path("server.auth.write_tokens[0]"));
        assert!(!is_secret_path("receivers[0].channels[1].username"));
    }
}
