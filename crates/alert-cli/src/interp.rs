//! `${VAR}` interpolation in config files, keeping error locations true.
//!
//! Secrets stay out of config files: `webhook_url = "${SLACK_WEBHOOK_URL}"` is replaced
//! by the variable's value before parsing. `$${` writes a literal `${`. Comments are
//! left alone (an unset variable mentioned in a comment is not an error).
//!
//! Because interpolated values may be secrets, parse errors are reported against the
//! *original* text: [`Interpolated::original_position`] maps a byte offset of the
//! interpolated text back to a line and column of the file as written.

use std::fmt;

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

/// Byte offset of the start of a comment on `line`, if any (a `#` outside quotes).
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return Some(i),
            None => {}
        }
    }
    None
}

/// Replaces `${NAME}` with `lookup(NAME)`.
///
/// Names are `[A-Za-z_][A-Za-z0-9_]*`. A value must not contain a newline, `"` or `\`
/// (it would change the structure of the file); such values and unset variables are
/// errors that name the variable and its location.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpError> {
    let mut out = String::with_capacity(text.len());
    let mut edits = Vec::new();
    let mut offset = 0;
    for (lineno, line) in text.split_inclusive('\n').enumerate() {
        let limit = comment_start(line).unwrap_or(line.len());
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < line.len() {
            if i < limit && bytes[i] == b'$' && line[i..].starts_with("$${") {
                out.push_str("${");
                edits.push(Edit {
                    orig_start: offset + i,
                    orig_len: 3,
                    new_start: out.len() - 2,
                    new_len: 2,
                });
                i += 3;
                continue;
            }
            if i < limit && bytes[i] == b'$' && line[i..].starts_with("${") {
                let col = line[..i].chars().count() + 1;
                let err = |message: String| InterpError {
                    line: lineno + 1,
                    column: col,
                    message,
                };
                let rest = &line[i + 2..];
                let Some(end) = rest.find('}') else {
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
                if value.contains(['\n', '\r', '"', '\\']) {
                    return Err(err(format!(
                        "environment variable `{name}` contains a newline, quote or backslash, which config values cannot hold"
                    )));
                }
                let new_start = out.len();
                out.push_str(&value);
                edits.push(Edit {
                    orig_start: offset + i,
                    orig_len: end + 3,
                    new_start,
                    new_len: value.len(),
                });
                i += end + 3;
                continue;
            }
            let ch = line[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
        offset += line.len();
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
        let e = interpolate("x = \"${BAD}\"", env).unwrap_err();
        assert!(e.message.contains("`BAD`") && !e.message.contains("a\"b"));
        let e = interpolate("x = \"${1X}\"", env).unwrap_err();
        assert!(e.message.contains("invalid variable name"));
        let e = interpolate("x = \"${OPEN", env).unwrap_err();
        assert!(e.message.contains("unterminated"));
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
