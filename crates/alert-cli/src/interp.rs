//! `${VAR}` interpolation in config files, keeping error locations true.
//!
//! Secrets stay out of config files: `webhook_url = "${SLACK_WEBHOOK_URL}"` is replaced
//! by the variable's value before parsing, escaped for where it stands (see
//! [`interpolate`]), so a value may hold any character, quotes and backslashes
//! included. `$${` writes a literal `${`. Comments are left alone (an unset variable
//! mentioned in a comment is not an error).
//!
//! Because interpolated values may be secrets, parse errors are reported against the
//! *original* text: [`Interpolated::original_position`] maps a byte offset of the
//! interpolated text back to a line and column of the file as written.

use std::fmt;

use crate::lex::{self, Kind, StrKind};

/// An interpolation failure, with the location in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong (never the value of a variable).
    pub message: String,
}

impl fmt::Display for InterpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// One replacement made: where it was in the original and interpolated texts.
#[derive(Debug, Clone, Copy)]
struct Edit {
    orig_start: usize,
    orig_len: usize,
    new_start: usize,
    new_len: usize,
}

/// Interpolated text plus what is needed to map offsets back.
#[derive(Debug)]
pub struct Interpolated {
    /// The text after interpolation.
    pub text: String,
    original: String,
    edits: Vec<Edit>,
}

/// The TOML context a `${NAME}` is written in, which decides how its value is
/// written into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Outside quotes: the value becomes TOML syntax, so it must be a scalar.
    Bare,
    /// Inside a string of this kind.
    Str(StrKind),
}

/// Writes `value` as the content of a basic (`"..."` or `"""..."""`) string:
/// backslash, quote and control characters escaped, so the value is read back
/// exactly and cannot end the string.
pub(crate) fn escape_basic(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
}

/// Writes the text of a literal string as the content of a basic string of the
/// same shape (newlines stay raw in a multi-line one, where they are allowed, so a
/// newline right after the opening delimiter is still trimmed).
fn escape_literal_text(text: &str, multiline: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '\n' | '\r' if multiline => out.push(c),
            c => escape_basic(c.encode_utf8(&mut [0; 4]), out),
        }
    }
}

/// Whether `value` can be written as is inside a literal string of `kind` (which
/// has no escapes).
fn fits_literal(value: &str, kind: StrKind) -> bool {
    !value.contains('\'')
        && value
            .chars()
            .all(|c| !c.is_control() || c == '\t' || (kind == StrKind::MlLiteral && c == '\n'))
}

/// Whether `value` can stand outside quotes: a number, a boolean or a date.
fn fits_bare(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.' | ':'))
}

/// A stretch of text between and around references.
#[derive(Debug)]
enum Piece<'a> {
    /// Text kept as written.
    Text(&'a str),
    /// `$${`: a literal `${`.
    Escape,
    /// `${NAME}` and the variable's value.
    Var { name: &'a str, value: String },
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, offset.min(text.len()))];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// Splits `text[range]` into text and references (with their offsets in `text`),
/// looking every variable up.
fn pieces<'a>(
    text: &'a str,
    range: std::ops::Range<usize>,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(usize, Piece<'a>)>, InterpError> {
    let at = range.start;
    let src = &text[range];
    let mut out = Vec::new();
    let mut i = 0;
    let mut lit = 0;
    while let Some(j) = src[i..].find('$').map(|j| i + j) {
        if src[j..].starts_with("$${") {
            if lit < j {
                out.push((at + lit, Piece::Text(&src[lit..j])));
            }
            out.push((at + j, Piece::Escape));
            i = j + 3;
            lit = i;
            continue;
        }
        if !src[j..].starts_with("${") {
            i = j + 1;
            continue;
        }
        let err = |message: String| {
            let (line, column) = position(text, at + j);
            InterpError {
                line,
                column,
                message,
            }
        };
        let rest = &src[j + 2..];
        let Some(end) = rest
            .find(['}', '\n'])
            .filter(|&e| rest.as_bytes()[e] == b'}')
        else {
            return Err(err("unterminated `${`: expected `${NAME}`".to_owned()));
        };
        let name = &rest[..end];
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(err(format!(
                "invalid variable name {name:?} in `${{...}}`: use letters, digits and _"
            )));
        }
        let Some(value) = lookup(name) else {
            return Err(err(format!("environment variable `{name}` is not set")));
        };
        if lit < j {
            out.push((at + lit, Piece::Text(&src[lit..j])));
        }
        out.push((at + j, Piece::Var { name, value }));
        i = j + end + 3;
        lit = i;
    }
    if lit < src.len() {
        out.push((at + lit, Piece::Text(&src[lit..])));
    }
    Ok(out)
}

/// Replaces `${NAME}` with `lookup(NAME)`, written for where it stands:
///
/// * inside a basic string (`"..."`, `"""..."""`): with `\`, `"` and control
///   characters escaped, so any value is read back exactly;
/// * inside a literal string (`'...'`, `'''...'''`): as is when the value fits (no
///   `'`, no control character but a tab, or a newline in a multi-line one);
///   otherwise the whole string is rewritten as the equivalent basic string with
///   the value escaped;
/// * outside quotes: as is, and only a value that is a number, a boolean or a date
///   (letters, digits and `_+-.:`) is accepted; anything else could change the
///   structure of the file, and is an error that says to quote the reference.
///
/// `$${` writes a literal `${`. Comments are left alone. Names are
/// `[A-Za-z_][A-Za-z0-9_]*`; an unset variable is an error naming it and its
/// location. No error quotes a value.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpError> {
    let mut out = String::with_capacity(text.len());
    let mut edits = Vec::new();
    for tok in lex::tokens(text) {
        let raw = &text[tok.range.clone()];
        let (context, inner) = match &tok.kind {
            Kind::Bare => (Context::Bare, tok.range.clone()),
            Kind::Str { kind, content } => (Context::Str(*kind), content.clone()),
            _ => {
                out.push_str(raw);
                continue;
            }
        };
        if !raw.contains("${") {
            out.push_str(raw);
            continue;
        }
        let parts = pieces(text, inner.clone(), &lookup)?;
        // A literal string whose values do not fit is rewritten as a basic one.
        let convert = match context {
            Context::Str(k @ (StrKind::Literal | StrKind::MlLiteral)) => parts
                .iter()
                .any(|(_, p)| matches!(p, Piece::Var { value, .. } if !fits_literal(value, k))),
            _ => false,
        };
        if let (true, Context::Str(k)) = (convert, context) {
            let multiline = k == StrKind::MlLiteral;
            let delim = if multiline { "\"\"\"" } else { "\"" };
            let new_start = out.len();
            out.push_str(delim);
            for (_, p) in &parts {
                match p {
                    Piece::Text(t) => escape_literal_text(t, multiline, &mut out),
                    Piece::Escape => out.push_str("${"),
                    Piece::Var { value, .. } => escape_basic(value, &mut out),
                }
            }
            // An unterminated literal string stays unterminated.
            if inner.end < tok.range.end {
                out.push_str(delim);
            }
            edits.push(Edit {
                orig_start: tok.range.start,
                orig_len: tok.range.len(),
                new_start,
                new_len: out.len() - new_start,
            });
            continue;
        }
        out.push_str(&text[tok.range.start..inner.start]);
        for (at, p) in &parts {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Escape => {
                    edits.push(Edit {
                        orig_start: *at,
                        orig_len: 3,
                        new_start: out.len(),
                        new_len: 2,
                    });
                    out.push_str("${");
                }
                Piece::Var { name, value } => {
                    let new_start = out.len();
                    match context {
                        Context::Bare if !fits_bare(value) => {
                            let (line, column) = position(text, *at);
                            return Err(InterpError {
                                line,
                                column,
                                message: format!(
                                    "environment variable `{name}` is used outside quotes, where \
                                     only a number, a boolean or a date can stand; write \
                                     \"${{{name}}}\" for a string"
                                ),
                            });
                        }
                        Context::Str(StrKind::Basic | StrKind::MlBasic) => {
                            escape_basic(value, &mut out)
                        }
                        _ => out.push_str(value),
                    }
                    edits.push(Edit {
                        orig_start: *at,
                        orig_len: name.len() + 3,
                        new_start,
                        new_len: out.len() - new_start,
                    });
                }
            }
        }
        out.push_str(&text[inner.end..tok.range.end]);
    }
    Ok(Interpolated {
        text: out,
        original: text.to_owned(),
        edits,
    })
}

impl Interpolated {
    /// Maps a byte offset in [`text`](Self::text) to an offset in the original. An
    /// offset inside a replaced value maps to the start of its `${...}`.
    pub fn original_offset(&self, new: usize) -> usize {
        let mut shift: isize = 0;
        for e in &self.edits {
            if new < e.new_start {
                break;
            }
            if new < e.new_start + e.new_len {
                return e.orig_start;
            }
            shift += e.orig_len as isize - e.new_len as isize;
        }
        (new as isize + shift).max(0) as usize
    }

    /// 1-based line and column (in characters) in the original text of a byte
    /// offset in the interpolated text, and the original line's text.
    pub fn original_position(&self, new: usize) -> (usize, usize, &str) {
        let o = self.original_offset(new).min(self.original.len());
        let before = &self.original[..floor_char_boundary(&self.original, o)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let text = self.original[line_start..].lines().next().unwrap_or("");
        (line, column, text)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("xoxb-secret-value".into()),
            "EMPTY" => Some(String::new()),
            "BAD" => Some("a\"b".into()),
            _ => None,
        }
    }

    #[test]
    fn replaces_values_outside_comments() {
        let t =
            "a = \"${TOKEN}\" # ${UNSET} in a comment\nb = \"$${LITERAL}\"\nc = \"x#${EMPTY}y\"\n";
        let i = interpolate(t, env).unwrap();
        assert_eq!(
            i.text,
            "a = \"xoxb-secret-value\" # ${UNSET} in a comment\nb = \"${LITERAL}\"\nc = \"x#y\"\n"
        );
    }

    #[test]
    fn errors_name_the_variable_and_location_not_values() {
        let e = interpolate("a = 1\n  b = \"${NOPE}\"\n", env).unwrap_err();
        assert_eq!(e.to_string(), "2:8: environment variable `NOPE` is not set");
        let e = interpolate("x = \"${1X}\"", env).unwrap_err();
        assert!(e.message.contains("invalid variable name"));
        let e = interpolate("x = \"${OPEN", env).unwrap_err();
        assert!(e.message.contains("unterminated"));
        let e = interpolate("x = ${OPEN", env).unwrap_err();
        assert!(e.message.contains("unterminated"));
        // Outside quotes only a scalar may stand: a string there could add keys.
        let e = interpolate("[t]\nn = ${BAD}\n", env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "2:5: environment variable `BAD` is used outside quotes, where only a number, a \
             boolean or a date can stand; write \"${BAD}\" for a string"
        );
        assert!(!e.message.contains("a\"b"));
        for ok in [
            "42",
            "1_000",
            "-1.5e3",
            "true",
            "1979-05-27T07:32:00Z",
            "inf",
        ] {
            let i = interpolate("n = ${V}", |_| Some(ok.to_owned())).unwrap();
            assert_eq!(i.text, format!("n = {ok}"));
        }
        for bad in ["", "1, evil = 2", "\"x\"", "1\nadmin = true", "a b"] {
            assert!(
                interpolate("n = ${V}", |_| Some(bad.to_owned())).is_err(),
                "{bad:?} must not stand outside quotes"
            );
        }
    }

    /// Values with every character TOML treats specially, in every kind of string,
    /// read back exactly by the TOML parser.
    #[test]
    fn any_value_is_read_back_exactly_in_every_kind_of_string() {
        let values = [
            "plain",
            "a\"b",
            "back\\slash",
            "ends with \\",
            "\\\"",
            "line1\nline2",
            "crlf\r\n",
            "tab\there",
            "it's",
            "'''",
            "\"\"\"",
            "bell\u{7} nul\u{0} del\u{7f}",
            "${NOT_A_REF}",
            "unicode é 🦀",
            "",
        ];
        let templates = [
            ("basic", "v = \"<${V}>\"\n"),
            ("multi-line basic", "v = \"\"\"<${V}>\"\"\"\n"),
            (
                "multi-line basic, first newline",
                "v = \"\"\"\n<${V}>\"\"\"\n",
            ),
            ("literal", "v = '<${V}>'\n"),
            ("multi-line literal", "v = '''<${V}>'''\n"),
            ("multi-line literal, first newline", "v = '''\n<${V}>'''\n"),
            ("in an array", "v = [\"a\", '<${V}>', \"b\"]\n"),
            (
                "in an inline table",
                "t = { k = \"<${V}>\", j = 1 }\nv = \"<${V}>\"\n",
            ),
        ];
        for (what, template) in templates {
            for value in values {
                let i = interpolate(template, |_| Some(value.to_owned()))
                    .unwrap_or_else(|e| panic!("{what} {value:?}: {e}"));
                let doc: toml::Table = toml::from_str(&i.text)
                    .unwrap_or_else(|e| panic!("{what} {value:?}: {e}\n{}", i.text));
                let v = match &doc["v"] {
                    toml::Value::Array(a) => {
                        assert_eq!(a.len(), 3, "{what} {value:?}");
                        a[1].as_str().unwrap().to_owned()
                    }
                    other => other.as_str().unwrap().to_owned(),
                };
                assert_eq!(v, format!("<{value}>"), "{what} {value:?}\n{}", i.text);
                if let Some(t) = doc.get("t") {
                    assert_eq!(t["k"].as_str(), Some(format!("<{value}>").as_str()));
                    assert_eq!(t["j"].as_integer(), Some(1), "{what} {value:?}");
                }
            }
        }
        // Literal text around a converted value keeps its meaning (backslashes,
        // quotes), and `$${` stays a literal `${`.
        let i = interpolate(r#"v = 'C:\dir\${V} $${X} say "hi"'"#, |_| {
            Some("it's".into())
        })
        .unwrap();
        let doc: toml::Table = toml::from_str(&i.text).unwrap();
        assert_eq!(doc["v"].as_str(), Some(r#"C:\dir\it's ${X} say "hi""#));
    }

    #[test]
    fn maps_offsets_back_to_the_original() {
        let t = "a = \"${TOKEN}\"\nbad = [\n";
        let i = interpolate(t, env).unwrap();
        let pos = i.text.find("bad").unwrap();
        assert_eq!(i.original_position(pos), (2, 1, "bad = ["));
        // An offset inside the secret maps to the `${` in the original, never the value.
        let inside = i.text.find("secret").unwrap();
        assert_eq!(i.original_position(inside), (1, 6, "a = \"${TOKEN}\""));
        let after = i.text.find("\"\n").unwrap();
        assert_eq!(i.original_position(after).1, 14);
    }
}
