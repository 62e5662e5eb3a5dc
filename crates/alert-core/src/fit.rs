//! Truncation and fitting by structure.
//!
//! Every provider has limits (Slack's 3,000-character section, Discord's 6,000
//! characters across embeds, Datadog's 4,000-character event text). Cutting a rendered
//! message at the limit loses whatever came last, which is often the runbook link.
//! Fitting by structure instead cuts the *least important part* first:
//!
//! 1. the message is split into named [`Part`]s with a [`Priority`];
//! 2. while the whole is over budget, the lowest-priority part (the last one among
//!    equals) is truncated to what is left, or dropped if that would leave less than
//!    its [`min`](Part::min);
//! 3. [`Essential`](Priority::Essential) parts (title, severity) are cut only when
//!    everything else is gone, and then truncated rather than dropped (whatever
//!    their `min`), so a title survives, shortened, in any budget that can hold any
//!    of it;
//! 4. the [`FitReport`] says what was cut, so channels can say so in the message.
//!
//! Truncation never splits a UTF-8 sequence or a grapheme cluster (a letter with its
//! combining marks, a flag, an emoji with modifiers) and appends [`MARKER`]. Markdown
//! parts are cut with [`truncate_markdown`] (through [`fit_parts_with`]), which also
//! never splits a backslash escape and closes a `**` span it cut into.

use std::borrow::Cow;
use std::fmt;

use unicode_segmentation::UnicodeSegmentation;

/// Appended to truncated text: a horizontal ellipsis (one character, one UTF-16 unit,
/// three bytes).
pub const MARKER: &str = "\u{2026}";

/// Graphemes of more characters than this may be cut inside by [`truncate`].
const PATHOLOGICAL_GRAPHEME: usize = 16;

/// How a provider counts the length of text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Measure {
    /// Unicode scalar values (`str::chars`). Slack and Datadog document limits in
    /// characters; this is the count they mean.
    #[default]
    Chars,
    /// UTF-16 code units, as JavaScript's `String.length` counts; emoji outside the
    /// Basic Multilingual Plane count twice. Use for providers whose limits are
    /// enforced by JavaScript (Discord), or when in doubt: it is never less than
    /// `Chars`.
    Utf16,
    /// UTF-8 bytes.
    Bytes,
}

impl Measure {
    /// The length of `s` under this measure.
    pub fn len(self, s: &str) -> usize {
        match self {
            Measure::Chars => s.chars().count(),
            Measure::Utf16 => s.encode_utf16().count(),
            Measure::Bytes => s.len(),
        }
    }
}

/// Shortens `s` to at most `max` units of `measure`, cutting at a grapheme boundary,
/// dropping trailing white space and appending [`MARKER`]. Returns `s` unchanged
/// (borrowed) when it fits.
///
/// A first grapheme longer than the whole budget and of more than 16 characters (a "zalgo"
/// letter with thousands of combining marks) is cut between its characters rather
/// than dropped.
///
/// ```
/// use alert_core::fit::{truncate, Measure};
/// assert_eq!(truncate("accuracy dropped", 9, Measure::Chars), "accuracy…");
/// assert_eq!(truncate("héllo wörld", 20, Measure::Chars), "héllo wörld");
/// // "e" + combining acute stays together.
/// assert_eq!(truncate("cafe\u{301} ok", 6, Measure::Chars), "cafe\u{301}…");
/// assert_eq!(truncate("cafe\u{301} ok", 5, Measure::Chars), "caf…");
/// ```
pub fn truncate(s: &str, max: usize, measure: Measure) -> Cow<'_, str> {
    if measure.len(s) <= max {
        return Cow::Borrowed(s);
    }
    let marker_len = measure.len(MARKER);
    let (budget, marker) = if max >= marker_len {
        (max - marker_len, MARKER)
    } else {
        (max, "")
    };
    let mut used = 0;
    let mut end = 0;
    for (i, g) in s.grapheme_indices(true) {
        let l = measure.len(g);
        if used + l > budget {
            if end == 0 && g.chars().count() > PATHOLOGICAL_GRAPHEME {
                // A pathological grapheme (thousands of combining marks) bigger than
                // the budget: cut inside it by characters rather than lose all of it.
                for (j, c) in g.char_indices() {
                    let cl = measure.len(c.encode_utf8(&mut [0; 4]));
                    if used + cl > budget {
                        break;
                    }
                    used += cl;
                    end = i + j + c.len_utf8();
                }
            }
            break;
        }
        used += l;
        end = i + g.len();
    }
    let kept = s[..end].trim_end();
    let mut out = String::with_capacity(kept.len() + marker.len());
    out.push_str(kept);
    out.push_str(marker);
    Cow::Owned(out)
}

/// Like [`truncate`], for CommonMark text whose alert text is escaped (as
/// [`escape_markdown`](crate::render::escape_markdown) does) and whose only
/// formatting is `**strong**` spans: the cut never splits a backslash escape
/// (`\*`), and a `**` span the cut falls into is closed after the marker, so the
/// result stays balanced. A cut that would leave a span with nothing in it backs off
/// to before the span.
///
/// When not even the first character fits inside the emphasis together with its
/// delimiters, the text is cut with its `**` delimiters removed instead, so short
/// budgets still show text rather than nothing.
///
/// ```
/// use alert_core::fit::{truncate_markdown, Measure};
/// assert_eq!(truncate_markdown(r"**\[ERROR\] Accuracy**", 14, Measure::Chars), r"**\[ERROR\]…**");
/// assert_eq!(truncate_markdown("**metric**: accuracy", 13, Measure::Chars), "**metric**:…");
/// assert_eq!(truncate_markdown("**metric**: accuracy", 7, Measure::Chars), "**me…**");
/// assert_eq!(truncate_markdown(r"**\[ERROR\]**", 4, Measure::Chars), r"\[E…");
/// ```
pub fn truncate_markdown(s: &str, max: usize, measure: Measure) -> Cow<'_, str> {
    if measure.len(s) <= max {
        return Cow::Borrowed(s);
    }
    if let Some(cut) = cut_markdown(s, max, measure) {
        return Cow::Owned(cut);
    }
    // Nothing fits inside the emphasis: show the text without it.
    let plain = strip_strong(s);
    let cut = truncate(&plain, max, measure);
    let (body, marker) = match cut.strip_suffix(MARKER) {
        Some(body) => (body, MARKER),
        None => (cut.as_ref(), ""),
    };
    let mut out = body.to_owned();
    drop_dangling_backslash(&mut out);
    out.truncate(out.trim_end().len());
    out.push_str(marker);
    Cow::Owned(out)
}

/// One step of a Markdown text: a backslash escape with what it escapes, a `**`
/// delimiter, or a grapheme.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Text,
    Strong,
}

fn markdown_units(s: &str) -> Vec<(Unit, usize, usize)> {
    let graphemes: Vec<(usize, &str)> = s.grapheme_indices(true).collect();
    let mut units = Vec::with_capacity(graphemes.len());
    let mut i = 0;
    while i < graphemes.len() {
        let (start, g) = graphemes[i];
        let next = graphemes.get(i + 1).copied();
        match (g, next) {
            ("\\", Some((n, ng))) => {
                units.push((Unit::Text, start, n + ng.len()));
                i += 2;
            }
            ("*", Some((n, "*"))) => {
                units.push((Unit::Strong, start, n + 1));
                i += 2;
            }
            _ => {
                units.push((Unit::Text, start, start + g.len()));
                i += 1;
            }
        }
    }
    units
}

/// The longest balanced cut of `s` within `max` that keeps some text, if any.
fn cut_markdown(s: &str, max: usize, measure: Measure) -> Option<String> {
    let marker = if max >= measure.len(MARKER) {
        MARKER
    } else {
        ""
    };
    let marker_len = measure.len(marker);
    let close_len = measure.len("**");
    let mut used = 0;
    let mut open = false;
    let mut text_seen = false;
    let mut best: Option<(usize, bool)> = None;
    for (kind, start, end) in markdown_units(s) {
        used += measure.len(&s[start..end]);
        if used + marker_len > max {
            break;
        }
        match kind {
            Unit::Strong => open = !open,
            Unit::Text => text_seen = true,
        }
        // A span opened by this very unit would be empty: not a cut point.
        let empty_span = kind == Unit::Strong && open;
        let closing = if open { close_len } else { 0 };
        if text_seen && !empty_span && used + marker_len + closing <= max {
            best = Some((end, open));
        }
    }
    let (end, open) = best?;
    let mut kept = s[..end].trim_end().to_owned();
    drop_dangling_backslash(&mut kept);
    let kept = kept.trim_end();
    let mut out = String::with_capacity(kept.len() + 8);
    out.push_str(kept);
    out.push_str(marker);
    if open {
        out.push_str("**");
    }
    Some(out)
}

/// `s` without its (unescaped) `**` delimiters.
fn strip_strong(s: &str) -> String {
    markdown_units(s)
        .into_iter()
        .filter(|(k, _, _)| *k == Unit::Text)
        .map(|(_, a, b)| &s[a..b])
        .collect()
}

/// Removes a trailing backslash that escapes nothing (an odd run at the end).
fn drop_dangling_backslash(s: &mut String) {
    let run = s.chars().rev().take_while(|c| *c == '\\').count();
    if run % 2 == 1 {
        s.pop();
    }
}

/// How important a part of a message is; lower priorities are cut first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Labels, extra annotations: nice to have.
    Low,
    /// The message body, the source line.
    Normal,
    /// Key evidence, the runbook link.
    High,
    /// The title and severity: cut only when nothing else is left.
    Essential,
}

/// A named piece of a message, for [`fit_parts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// What the part is (`title`, `message`, `labels`), used in the [`FitReport`].
    pub name: Cow<'static, str>,
    /// The text.
    pub text: String,
    /// How important it is.
    pub priority: Priority,
    /// The shortest truncation worth keeping; a part that would be cut shorter is
    /// dropped instead. Set it to `usize::MAX` ([`Part::whole`]) for parts that must
    /// be whole or absent (a URL). [`Essential`](Priority::Essential) parts ignore it
    /// (unless whole): they are truncated as far as the budget requires.
    pub min: usize,
}

impl Part {
    /// A part that may be truncated down to 24 units.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        text: impl Into<String>,
        priority: Priority,
    ) -> Part {
        Part {
            name: name.into(),
            text: text.into(),
            priority,
            min: 24,
        }
    }

    /// A part that is kept whole or dropped (links).
    pub fn whole(
        name: impl Into<Cow<'static, str>>,
        text: impl Into<String>,
        priority: Priority,
    ) -> Part {
        let text = text.into();
        Part {
            name: name.into(),
            min: usize::MAX,
            text,
            priority,
        }
    }

    /// Sets the shortest truncation worth keeping.
    pub fn with_min(mut self, min: usize) -> Part {
        self.min = min;
        self
    }
}

/// One cut made by fitting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    /// The part's name.
    pub part: Cow<'static, str>,
    /// Its length before, in the fitting's measure.
    pub original: usize,
    /// Its length after; 0 when dropped.
    pub kept: usize,
}

/// What fitting cut, in the order it cut.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FitReport {
    /// The cuts.
    pub cuts: Vec<Cut>,
}

impl FitReport {
    /// Whether nothing was cut.
    pub fn is_empty(&self) -> bool {
        self.cuts.is_empty()
    }

    /// Whether the named part was dropped entirely.
    pub fn dropped(&self, part: &str) -> bool {
        self.cuts.iter().any(|c| c.part == part && c.kept == 0)
    }

    /// Whether the named part was cut at all.
    pub fn touched(&self, part: &str) -> bool {
        self.cuts.iter().any(|c| c.part == part)
    }

    /// Merges another report into this one.
    pub fn extend(&mut self, other: FitReport) {
        self.cuts.extend(other.cuts);
    }
}

impl fmt::Display for FitReport {
    /// `labels dropped (1200), message cut to 800 of 100000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.cuts.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if c.kept == 0 {
                write!(f, "{} dropped ({})", c.part, c.original)?;
            } else {
                write!(f, "{} cut to {} of {}", c.part, c.kept, c.original)?;
            }
        }
        Ok(())
    }
}

/// The total length of `parts` joined by a separator of `sep_len` units (empty parts
/// are skipped, as [`join_parts`] skips them).
pub fn parts_len(parts: &[Part], sep_len: usize, measure: Measure) -> usize {
    let mut n = 0;
    let mut count: usize = 0;
    for p in parts.iter().filter(|p| !p.text.is_empty()) {
        n += measure.len(&p.text);
        count += 1;
    }
    n + sep_len * count.saturating_sub(1)
}

/// Joins the non-empty parts with `sep`.
pub fn join_parts(parts: &[Part], sep: &str) -> String {
    let mut out = String::new();
    for p in parts.iter().filter(|p| !p.text.is_empty()) {
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(&p.text);
    }
    out
}

/// Cuts `parts` in place until, joined by a separator of `sep_len` units, they fit in
/// `budget` units of `measure`, truncating with [`truncate`]. See the
/// [module docs](self) for the order of cuts.
pub fn fit_parts(parts: &mut [Part], budget: usize, sep_len: usize, measure: Measure) -> FitReport {
    fit_parts_with(parts, budget, sep_len, measure, truncate)
}

/// [`fit_parts`] with another way to shorten a part: [`truncate_markdown`] for
/// Markdown parts, or a channel's own (which must return at most the given number of
/// units).
pub fn fit_parts_with(
    parts: &mut [Part],
    budget: usize,
    sep_len: usize,
    measure: Measure,
    cut: for<'a> fn(&'a str, usize, Measure) -> Cow<'a, str>,
) -> FitReport {
    let mut report = FitReport::default();
    let mut total = parts_len(parts, sep_len, measure);
    while total > budget {
        // The lowest priority non-empty part; among equals, truncatable parts before
        // whole-or-nothing ones (links), then the last.
        let Some(idx) = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.text.is_empty())
            .min_by(|(ia, a), (ib, b)| {
                a.priority
                    .cmp(&b.priority)
                    .then((a.min == usize::MAX).cmp(&(b.min == usize::MAX)))
                    .then(ib.cmp(ia))
            })
            .map(|(i, _)| i)
        else {
            break;
        };
        let part = &mut parts[idx];
        let len = measure.len(&part.text);
        let excess = total - budget;
        let target = len.saturating_sub(excess);
        let keep = if part.priority == Priority::Essential && part.min != usize::MAX {
            // The title: shortened as far as needed, never dropped while any fits.
            target > 0
        } else {
            target >= part.min.min(len) && target > measure.len(MARKER)
        };
        let original = record_original(&report, &part.name).unwrap_or(len);
        let shortened = if keep {
            Some(cut(&part.text, target, measure).into_owned())
        } else {
            None
        };
        // A cut that came out empty or did not shrink the part drops it.
        if let Some(text) = shortened.filter(|t| !t.is_empty() && measure.len(t) < len) {
            let kept = measure.len(&text);
            part.text = text;
            total = parts_len(parts, sep_len, measure);
            push_cut(&mut report, parts[idx].name.clone(), original, kept);
        } else {
            part.text.clear();
            total = parts_len(parts, sep_len, measure);
            let name = parts[idx].name.clone();
            push_cut(&mut report, name, original, 0);
        }
    }
    report
}

fn record_original(report: &FitReport, name: &str) -> Option<usize> {
    report
        .cuts
        .iter()
        .find(|c| c.part == name)
        .map(|c| c.original)
}

fn push_cut(report: &mut FitReport, part: Cow<'static, str>, original: usize, kept: usize) {
    if let Some(c) = report.cuts.iter_mut().find(|c| c.part == part) {
        c.kept = kept;
    } else {
        report.cuts.push(Cut {
            part,
            original,
            kept,
        });
    }
}

/// Keeps the first items of a list that fit in `max_items` and `budget` units, and
/// reports how many were left out, for digests ("and K more").
///
/// `cost` gives the length of each item; `reserve` is kept free for the "and K more"
/// line when anything is left out.
pub fn take_fitting<T>(
    items: &[T],
    max_items: usize,
    budget: usize,
    reserve: usize,
    mut cost: impl FnMut(&T) -> usize,
) -> (usize, usize) {
    let mut used = 0;
    let mut n = 0;
    for (i, item) in items.iter().enumerate() {
        let c = cost(item);
        let remaining_after = items.len() - i - 1;
        let room = if remaining_after > 0 {
            budget.saturating_sub(reserve)
        } else {
            budget
        };
        if n >= max_items || used + c > room {
            break;
        }
        used += c;
        n += 1;
    }
    (n, items.len() - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_in_the_given_measure() {
        let s = "😀😀😀😀"; // 4 chars, 8 UTF-16 units, 16 bytes
        assert_eq!(truncate(s, 4, Measure::Chars), s);
        assert_eq!(truncate(s, 4, Measure::Utf16), "😀…");
        assert_eq!(truncate(s, 8, Measure::Bytes), "😀…");
        assert_eq!(truncate(s, 3, Measure::Bytes), "…");
        assert_eq!(truncate(s, 2, Measure::Bytes), "");
    }

    #[test]
    fn truncate_marker_and_whitespace() {
        assert_eq!(truncate("hello world", 7, Measure::Chars), "hello…");
        assert_eq!(truncate("abc", 1, Measure::Chars), "…");
        assert_eq!(truncate("abc", 0, Measure::Chars), "");
    }

    #[test]
    fn zalgo_grapheme_is_cut_inside() {
        let z = format!("a{}", "\u{301}".repeat(50));
        let t = truncate(&z, 10, Measure::Chars);
        assert_eq!(t.chars().count(), 10);
        assert!(t.starts_with('a') && t.ends_with(MARKER));
    }

    #[test]
    fn fit_cuts_lowest_priority_last_first() {
        let mut parts = vec![
            Part::new("title", "[ERROR] Accuracy dropped", Priority::Essential),
            Part::new("evidence", "accuracy 0.81 < 0.90", Priority::High),
            Part::whole("runbook", "https://runbooks.example/acc", Priority::High),
            Part::new("message", "m".repeat(200), Priority::Normal),
            Part::new("labels", "l".repeat(100), Priority::Low),
            Part::new("annotations", "a".repeat(100), Priority::Low),
        ];
        let report = fit_parts(&mut parts, 200, 1, Measure::Chars);
        let joined = join_parts(&parts, "\n");
        assert!(joined.chars().count() <= 200, "{}", joined.chars().count());
        assert!(report.dropped("annotations"));
        assert!(report.dropped("labels"));
        assert!(report.touched("message") && !report.dropped("message"));
        assert!(joined.contains("https://runbooks.example/acc"));
        assert!(joined.starts_with("[ERROR] Accuracy dropped"));
        assert_eq!(
            report.to_string().split(", ").next().unwrap(),
            "annotations dropped (100)"
        );
    }

    #[test]
    fn fit_touches_essentials_only_at_the_end() {
        let mut parts = vec![
            Part::new("title", "t".repeat(50), Priority::Essential),
            Part::whole(
                "runbook",
                "https://x.example/very/long/link",
                Priority::High,
            ),
        ];
        let report = fit_parts(&mut parts, 30, 1, Measure::Chars);
        assert!(report.dropped("runbook"));
        assert_eq!(parts[0].text.chars().count(), 30);
        assert!(parts[0].text.ends_with(MARKER));
    }

    #[test]
    fn fit_truncates_the_title_instead_of_dropping_it() {
        let title = "[ERROR] Accuracy dropped sharply";
        let mut parts = vec![
            Part::new("title", title, Priority::Essential),
            Part::new("message", "m".repeat(50), Priority::Normal),
        ];
        let report = fit_parts(&mut parts, 10, 1, Measure::Chars);
        assert_eq!(parts[0].text, "[ERROR] A…");
        assert!(parts[1].text.is_empty());
        assert_eq!(
            report.to_string(),
            "message dropped (50), title cut to 10 of 32"
        );
        // Down to one unit: only the marker is left, but the part is not dropped.
        let mut parts = vec![Part::new("title", title, Priority::Essential)];
        fit_parts(&mut parts, 1, 1, Measure::Chars);
        assert_eq!(parts[0].text, "…");
        let mut parts = vec![Part::new("title", title, Priority::Essential)];
        fit_parts(&mut parts, 2, 1, Measure::Bytes);
        assert_eq!(parts[0].text, "[E", "no room for the 3-byte marker");
        // A whole-or-nothing essential part is still whole or nothing.
        let mut parts = vec![Part::whole(
            "link",
            "https://x.example/a",
            Priority::Essential,
        )];
        assert!(fit_parts(&mut parts, 10, 1, Measure::Chars).dropped("link"));
    }

    #[test]
    fn markdown_cuts_keep_escapes_and_spans_balanced() {
        let title = r"**\[CRITICAL\] Précision \*en\* baisse**";
        let m = Measure::Chars;
        assert_eq!(truncate_markdown(title, 100, m), title);
        assert_eq!(
            truncate_markdown(title, 25, m),
            r"**\[CRITICAL\] Précisi…**"
        );
        // Never between a backslash and what it escapes.
        assert_eq!(
            truncate_markdown(title, 29, m),
            r"**\[CRITICAL\] Précision…**"
        );
        assert_eq!(
            truncate_markdown(title, 30, m),
            r"**\[CRITICAL\] Précision \*…**"
        );
        assert_eq!(
            truncate_markdown(title, 31, m),
            r"**\[CRITICAL\] Précision \*e…**"
        );
        assert_eq!(truncate_markdown(title, 7, m), r"**\[…**");
        // Too small for the span: the text without it.
        assert_eq!(truncate_markdown(title, 6, m), r"\[CRI…");
        assert_eq!(truncate_markdown(title, 5, m), r"\[CR…");
        assert_eq!(truncate_markdown(title, 2, m), "…");
        assert_eq!(truncate_markdown(title, 0, m), "");
        let pairs = "**metric**: précision · **observed**: 0.81";
        assert_eq!(
            truncate_markdown(pairs, 30, m),
            "**metric**: précision · **o…**"
        );
        // A span that would be empty is not opened.
        assert_eq!(truncate_markdown(pairs, 29, m), "**metric**: précision ·…");
        assert_eq!(truncate_markdown(pairs, 24, m), "**metric**: précision ·…");
        assert_eq!(truncate_markdown(pairs, 23, m), "**metric**: précision…");
        // Bytes: no room for the marker, no marker.
        assert_eq!(truncate_markdown(title, 2, Measure::Bytes), r"\[");
    }

    #[test]
    fn fit_is_a_no_op_within_budget() {
        let mut parts = vec![Part::new("a", "x", Priority::Low)];
        assert!(fit_parts(&mut parts, 1, 1, Measure::Chars).is_empty());
        assert_eq!(parts[0].text, "x");
    }

    #[test]
    fn take_fitting_reserves_room_for_the_tail() {
        let items = vec![10usize; 10];
        assert_eq!(take_fitting(&items, 100, 100, 0, |c| *c), (10, 0));
        assert_eq!(take_fitting(&items, 100, 100, 15, |c| *c), (8, 2));
        assert_eq!(take_fitting(&items, 3, 1000, 15, |c| *c), (3, 7));
        assert_eq!(take_fitting::<usize>(&[], 3, 1000, 15, |c| *c), (0, 0));
    }
}
