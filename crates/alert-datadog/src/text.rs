//! Event text: Markdown in `%%%` fences, fitted to 4,000 characters, with alert text
//! unable to close the fence, link, or notify.

use alert_core::fit::{Measure, truncate};

/// Longest event `text` Datadog accepts, in characters (fences included).
pub(crate) const TEXT_LIMIT: usize = 4000;
/// Longest title sent, in characters (Datadog's v1 API documents none; v2 caps titles
/// at 500, and longer titles are unreadable anyway).
pub(crate) const TITLE_LIMIT: usize = 500;
/// Opens a Markdown event text.
pub(crate) const FENCE_OPEN: &str = "%%% \n";
/// Closes a Markdown event text.
pub(crate) const FENCE_CLOSE: &str = "\n %%%";
/// What an `@` in alert text becomes (FULLWIDTH COMMERCIAL AT): Datadog turns
/// `@handle`, `@email` and `@all` in event text into notifications.
pub(crate) const SAFE_AT: char = '\u{FF20}';

/// Makes rendered Markdown (from `alert_core::render`, where all alert text is
/// already backslash-escaped) safe for a Datadog event:
///
/// * `%%` never appears: every `%` that follows a `%` is written `\%` (a CommonMark
///   escape that renders as `%`), so alert text cannot close the `%%%` fence;
/// * outside link destinations, `@` becomes `＠` (no @-notification), `://` becomes
///   `\://` and `www.` becomes `www\.` (no bare-URL autolink);
/// * inside the destinations of the links the renderer made itself (runbook and
///   dashboard; alert text cannot make links because its `[` and `]` are escaped),
///   `@` becomes `%40`.
pub(crate) fn neutralize_markdown(md: &str) -> String {
    fn emit(out: &mut String, last: &mut Option<char>, s: &str) {
        out.push_str(s);
        if let Some(c) = s.chars().last() {
            *last = Some(c);
        }
    }
    let chars: Vec<char> = md.chars().collect();
    let mut out = String::with_capacity(md.len() + md.len() / 16 + 8);
    let mut backslashes = 0usize;
    let mut in_destination = false;
    let mut last: Option<char> = None;
    let mut buf = [0u8; 4];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let escaped = backslashes % 2 == 1;
        if c == '%' && last == Some('%') {
            emit(&mut out, &mut last, "\\%");
        } else if in_destination {
            match c {
                ')' => {
                    in_destination = false;
                    emit(&mut out, &mut last, ")");
                }
                '@' => emit(&mut out, &mut last, "%40"),
                _ => emit(&mut out, &mut last, c.encode_utf8(&mut buf)),
            }
        } else if c == ']' && !escaped && chars.get(i + 1) == Some(&'(') {
            in_destination = true;
            emit(&mut out, &mut last, "](");
            i += 1;
        } else if c == '@' {
            emit(&mut out, &mut last, SAFE_AT.encode_utf8(&mut buf));
        } else if c == ':'
            && !escaped
            && chars.get(i + 1) == Some(&'/')
            && chars.get(i + 2) == Some(&'/')
        {
            emit(&mut out, &mut last, "\\:");
        } else if (c == 'w' || c == 'W')
            && !last.is_some_and(char::is_alphanumeric)
            && chars.len() >= i + 4
            && chars[i..i + 4]
                .iter()
                .zip("www.".chars())
                .all(|(a, b)| a.to_ascii_lowercase() == b)
        {
            let www: String = chars[i..i + 3].iter().collect();
            emit(&mut out, &mut last, &www);
            emit(&mut out, &mut last, "\\.");
            i += 3;
        } else {
            emit(&mut out, &mut last, c.encode_utf8(&mut buf));
        }
        if c == '\\' {
            backslashes += 1;
        } else {
            backslashes = 0;
        }
        i += 1;
    }
    out
}

/// A plain-text title: one line, `@` neutralised, at most [`TITLE_LIMIT`] characters.
pub(crate) fn title(line: &str) -> String {
    let safe: String = line
        .chars()
        .map(|c| match c {
            '@' => SAFE_AT,
            '\n' | '\r' | '\t' => ' ',
            c => c,
        })
        .collect();
    truncate(&safe, TITLE_LIMIT, Measure::Chars).into_owned()
}

/// Builds a fenced event text from a renderer that fits Markdown to a budget, at most
/// [`TEXT_LIMIT`] characters in all. Neutralising adds characters, so the budget
/// shrinks until the neutralised body fits.
pub(crate) fn fenced(render: impl Fn(usize) -> String) -> String {
    let limit = TEXT_LIMIT - FENCE_OPEN.chars().count() - FENCE_CLOSE.chars().count();
    let mut budget = limit;
    let body = loop {
        let body = neutralize_markdown(&render(budget));
        let n = body.chars().count();
        if n <= limit {
            break body;
        }
        if budget == 0 {
            // Unreachable in practice (an empty rendering is empty); cut by force.
            break truncate(&body, limit, Measure::Chars).into_owned();
        }
        budget = budget.saturating_sub((n - limit).max(1));
    };
    let mut text = String::with_capacity(body.len() + 10);
    text.push_str(FENCE_OPEN);
    text.push_str(&body);
    text.push_str(FENCE_CLOSE);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::render::escape_markdown;

    #[test]
    fn fences_cannot_be_closed_from_alert_text() {
        let md = escape_markdown("%%%\n# fenced out\n%%%");
        let n = neutralize_markdown(&md);
        assert!(!n.contains("%%"), "{n}");
        assert_eq!(n, "%\\%\\%\n\\# fenced out\n%\\%\\%");
        assert_eq!(neutralize_markdown("50% %"), "50% %");
        assert_eq!(neutralize_markdown("%%"), "%\\%");
    }

    #[test]
    fn mentions_and_autolinks_are_broken_outside_links() {
        let md = escape_markdown(
            "mail ops@example.com or @all, see https://evil.example/x and WWW.evil.example",
        );
        let n = neutralize_markdown(&md);
        assert!(!n.contains('@'), "{n}");
        assert!(n.contains("ops\u{FF20}example.com"), "{n}");
        assert!(n.contains("https\\://evil.example/x"), "{n}");
        assert!(n.contains("WWW\\.evil.example"), "{n}");
        // Not a `www.` at a word boundary: left alone.
        assert_eq!(neutralize_markdown("awww.x"), "awww.x");
    }

    #[test]
    fn links_made_by_the_renderer_survive() {
        let md = format!(
            "{}\n[Runbook](https://runbooks.example/a%28b%29?u=me@x)",
            escape_markdown("[click](https://evil.example)")
        );
        let n = neutralize_markdown(&md);
        assert_eq!(
            n,
            "\\[click\\](https\\://evil.example)\n[Runbook](https://runbooks.example/a%28b%29?u=me%40x)"
        );
        // An escaped backslash before `]` does not escape the bracket.
        assert_eq!(neutralize_markdown("\\\\](a@b)"), "\\\\](a%40b)");
    }

    #[test]
    fn fenced_text_fits_even_when_neutralising_grows_it() {
        let render = |budget: usize| "%".repeat(budget);
        let t = fenced(render);
        assert!(t.chars().count() <= TEXT_LIMIT, "{}", t.chars().count());
        assert!(t.starts_with("%%% \n") && t.ends_with("\n %%%"));
        let inner = &t[FENCE_OPEN.len()..t.len() - FENCE_CLOSE.len()];
        assert!(!inner.contains("%%"));
    }

    #[test]
    fn titles_are_one_short_line() {
        assert_eq!(title("a\nb @here"), "a b \u{FF20}here");
        assert_eq!(title(&"t".repeat(600)).chars().count(), TITLE_LIMIT);
    }
}
