//! A tolerant TOML tokenizer: strings (all four kinds), comments, punctuation and
//! bare words, with byte ranges that cover the whole input.
//!
//! It never fails: a broken file still tokenizes (an unterminated string ends at
//! the end of its line, or of the file for a multi-line one). [`crate::interp`] uses
//! it to know the quoting context of each `${NAME}`, and [`crate::redact`] to find
//! the values of secret keys, both on text that may not be valid TOML.

use std::ops::Range;

/// The four kinds of TOML strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrKind {
    /// `"..."`: escapes, one line.
    Basic,
    /// `"""..."""`: escapes, several lines.
    MlBasic,
    /// `'...'`: no escapes, one line.
    Literal,
    /// `'''...'''`: no escapes, several lines.
    MlLiteral,
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Spaces and tabs.
    Space,
    /// `\n` (or `\r\n`).
    Newline,
    /// `# ...` up to the end of the line.
    Comment,
    /// A string; `content` is the range between the delimiters.
    Str {
        kind: StrKind,
        content: Range<usize>,
    },
    /// One of `= , [ ] { }`.
    Punct(u8),
    /// Anything else up to a delimiter: keys, numbers, booleans, dates, and
    /// `${NAME}` references written outside quotes.
    Bare,
}

/// A token and the bytes it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) range: Range<usize>,
}

/// Where a multi-line string's closing delimiter starts, and where the string ends
/// (TOML lets up to two quotes sit before the closing three).
fn ml_close(bytes: &[u8], mut i: usize, quote: u8, escapes: bool) -> (usize, usize) {
    while i < bytes.len() {
        let b = bytes[i];
        if escapes && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            let run = bytes[i..].iter().take_while(|&&c| c == quote).count();
            if run >= 3 {
                let extra = (run - 3).min(2);
                return (i + extra, i + extra + 3);
            }
            i += run;
            continue;
        }
        i += 1;
    }
    (bytes.len(), bytes.len())
}

/// Where a one-line string's content ends and the string ends.
fn line_close(bytes: &[u8], mut i: usize, quote: u8, escapes: bool) -> (usize, usize) {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes && i + 1 < bytes.len() && bytes[i + 1] != b'\n' => i += 2,
            b'\n' => return (i, i),
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => return (i, i),
            b if b == quote => return (i, i + 1),
            _ => i += 1,
        }
    }
    (bytes.len(), bytes.len())
}

/// Tokenizes `text`. Ranges are contiguous and cover every byte.
pub(crate) fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let kind = match b {
            b' ' | b'\t' => {
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
                    i += 1;
                }
                Kind::Space
            }
            b'\n' => {
                i += 1;
                Kind::Newline
            }
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                i += 2;
                Kind::Newline
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                if i > start && bytes[i - 1] == b'\r' && i < bytes.len() {
                    i -= 1;
                }
                Kind::Comment
            }
            b'"' | b'\'' => {
                let escapes = b == b'"';
                let ml = bytes[i..].starts_with(if escapes { b"\"\"\"" } else { b"'''" });
                let (kind, open) = match (escapes, ml) {
                    (true, true) => (StrKind::MlBasic, 3),
                    (true, false) => (StrKind::Basic, 1),
                    (false, true) => (StrKind::MlLiteral, 3),
                    (false, false) => (StrKind::Literal, 1),
                };
                let content_start = i + open;
                let (content_end, end) = if ml {
                    ml_close(bytes, content_start, b, escapes)
                } else {
                    line_close(bytes, content_start, b, escapes)
                };
                i = end;
                Kind::Str {
                    kind,
                    content: content_start..content_end,
                }
            }
            b'=' | b',' | b'[' | b']' | b'{' | b'}' => {
                i += 1;
                Kind::Punct(b)
            }
            _ => {
                while i < bytes.len() {
                    match bytes[i] {
                        // `${NAME}` outside quotes stays one word.
                        b'$' if bytes.get(i + 1) == Some(&b'{') => {
                            i += 2;
                            while i < bytes.len() && !matches!(bytes[i], b'}' | b'\n') {
                                i += 1;
                            }
                            if i < bytes.len() && bytes[i] == b'}' {
                                i += 1;
                            }
                        }
                        b' ' | b'\t' | b'\n' | b'\r' | b'#' | b'"' | b'\'' | b'=' | b',' | b'['
                        | b']' | b'{' | b'}' => break,
                        _ => i += 1,
                    }
                }
                Kind::Bare
            }
        };
        // Every branch advances; keep char boundaries (all delimiters are ASCII).
        debug_assert!(i > start);
        out.push(Token {
            kind,
            range: start..i,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, &str)> {
        tokens(text)
            .into_iter()
            .map(|t| {
                let k = match &t.kind {
                    Kind::Str { kind, content } => format!("{kind:?}({})", &text[content.clone()]),
                    other => format!("{other:?}"),
                };
                (k, &text[t.range])
            })
            .collect()
    }

    #[test]
    fn strings_of_every_kind() {
        let t = "a = \"x\\\"y\" # c \"\nb = '''m\n'n'''' c = \"\"\"q\"\"\"\"\n";
        let toks = kinds(t);
        let strs: Vec<&String> = toks
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.contains("Basic(") || k.contains("Literal("))
            .collect();
        assert_eq!(
            strs,
            ["Basic(x\\\"y)", "MlLiteral(m\n'n')", "MlBasic(q\")",]
        );
        assert!(toks.iter().any(|(k, s)| k == "Comment" && *s == "# c \""));
        let covered: String = toks.iter().map(|(_, s)| *s).collect();
        assert_eq!(covered, t);
    }

    #[test]
    fn broken_input_still_tokenizes() {
        for t in [
            "a = \"open\nb = 1",
            "x = '''never closed",
            "y = ${N",
            "z = \"\\",
            "[[x",
            "\r\n\"a\r\n",
        ] {
            let covered: String = tokens(t).iter().map(|tok| &t[tok.range.clone()]).collect();
            assert_eq!(covered, t);
        }
        let toks = kinds("a = \"open\nb = 1");
        assert_eq!(toks[4].0, "Basic(open)");
        assert_eq!(toks[5].0, "Newline");
        let toks = kinds("n = ${COUNT} # x");
        assert_eq!(toks[4], ("Bare".to_owned(), "${COUNT}"));
    }
}
