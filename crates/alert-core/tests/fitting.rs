//! Truncation and fitting on multi-byte text, at every boundary.

use alert_core::fit::{MARKER, Measure, Part, Priority, fit_parts, join_parts, truncate};
use alert_core::render::{Style, escape_markdown, group_header, render, render_group, title_line};
use alert_core::{Alert, Evidence, Severity, Source, Status};
use unicode_segmentation::UnicodeSegmentation;

const SAMPLES: &[&str] = &[
    "plain ascii text",
    "héllo wörld ñ ç",
    "e\u{301}e\u{301}e\u{301} combining",
    "שלום עולם مرحبا بالعالم",
    "👩‍👩‍👧‍👦 family 🇫🇷 flag 👍🏽 thumb",
    "漢字かなカナ한국어",
    "a\u{200d}b\u{fe0f}c",
];

const MEASURES: [Measure; 3] = [Measure::Chars, Measure::Utf16, Measure::Bytes];

/// Grapheme boundaries of `s`, as byte offsets.
fn boundaries(s: &str) -> Vec<usize> {
    let mut v: Vec<usize> = s.grapheme_indices(true).map(|(i, _)| i).collect();
    v.push(s.len());
    v
}

#[test]
fn truncate_respects_every_budget_and_grapheme_boundary() {
    for s in SAMPLES {
        for m in MEASURES {
            let full = m.len(s);
            for max in 0..=full + 2 {
                let t = truncate(s, max, m);
                assert!(m.len(&t) <= max, "{s:?} {m:?} {max}: {t:?}");
                if full <= max {
                    assert_eq!(t, *s);
                    continue;
                }
                let kept = t.strip_suffix(MARKER).unwrap_or(&t);
                assert!(
                    s.starts_with(kept),
                    "{s:?} {m:?} {max}: {t:?} is not a prefix"
                );
                // The cut falls on a grapheme boundary (before trailing spaces were trimmed).
                let b = boundaries(s);
                let cut_ok = b.iter().any(|&i| s[..i].trim_end() == kept);
                assert!(cut_ok, "{s:?} {m:?} {max}: {t:?} splits a grapheme");
                // The marker appears whenever there is room for it.
                if max >= m.len(MARKER) {
                    assert!(
                        t.ends_with(MARKER),
                        "{s:?} {m:?} {max}: {t:?} lacks the marker"
                    );
                }
            }
        }
    }
}

#[test]
fn fit_parts_respects_every_budget() {
    for m in MEASURES {
        let make = || {
            vec![
                Part::new(
                    "title",
                    "[ERROR] Précision en baisse 📉",
                    Priority::Essential,
                ),
                Part::new(
                    "evidence",
                    "métrique: précision · observé: 0.81",
                    Priority::High,
                ),
                Part::whole(
                    "runbook",
                    "Runbook: https://runbooks.example/précision",
                    Priority::High,
                ),
                Part::new(
                    "message",
                    "Le modèle « vélos » 🚲 a perdu 12 points. ".repeat(5),
                    Priority::Normal,
                ),
                Part::new(
                    "labels",
                    "Labels: région=Île-de-France, modèle=vélos",
                    Priority::Low,
                ),
            ]
        };
        let total = alert_core::fit::parts_len(&make(), 1, m);
        for budget in 0..=total {
            let mut parts = make();
            let report = fit_parts(&mut parts, budget, 1, m);
            let joined = join_parts(&parts, "\n");
            assert!(
                m.len(&joined) <= budget,
                "{m:?} {budget}: {}",
                m.len(&joined)
            );
            if budget == total {
                assert!(report.is_empty());
            } else {
                assert!(!report.is_empty(), "{m:?} {budget}");
            }
            // Lower priorities go first: if the runbook survived, labels were dropped
            // before the runbook was ever at risk, and the title is whole.
            if parts[2].text.is_empty() {
                assert!(
                    parts[4].text.is_empty() && parts[3].text.is_empty(),
                    "{m:?} {budget}"
                );
            }
            if !parts[4].text.is_empty() {
                assert_eq!(parts[0].text, make()[0].text);
            }
        }
    }
}

#[test]
fn rendered_alerts_fit_and_keep_what_matters() {
    // The evidence values (0.8137, 0.875, 0.9312) appear nowhere else in the alert,
    // so finding them proves the evidence part itself survived.
    let alert = Alert::new(Severity::Critical, "PrécisionEnBaisse")
        .with_summary("Précision 0.81 < 0.90 🚨")
        .with_message("ש".repeat(100_000))
        .with_labels((0..1000).map(|i| (format!("label_{i}"), "välue".to_owned())))
        .with_runbook("https://runbooks.example/précision")
        .with_evidence(
            Evidence::metric("précision")
                .observed(0.8137)
                .threshold(0.875)
                .baseline(0.9312),
        );
    let evidence_text =
        "metric: précision · observed: 0.8137 · threshold: 0.875 · baseline: 0.9312";
    let evidence_md = "**metric**: précision · **observed**: 0.8137 · **threshold**: 0.875 · **baseline**: 0.9312";
    for m in MEASURES {
        for budget in [150, 500, 2000, 3000, 4000, 6000] {
            for style in [Style::Text, Style::Markdown] {
                let f = render(&alert, style, budget, m);
                let ctx = format!("{m:?} {budget} {style:?}: {:?}", f.text);
                assert!(m.len(&f.text) <= budget, "{ctx}");
                // The severity marker leads the text.
                let marker = match style {
                    Style::Text => "[CRITICAL] Précision 0.81",
                    Style::Markdown => r"**\[CRITICAL\] Précision 0.81",
                };
                assert!(f.text.starts_with(marker), "{ctx}");
                assert!(
                    f.text.contains("https://runbooks.example/précision"),
                    "{ctx}"
                );
                // The evidence is whole unless the report says it was cut, and it is
                // only ever cut when the budget cannot hold title, evidence and runbook.
                let evidence = match style {
                    Style::Text => evidence_text,
                    Style::Markdown => evidence_md,
                };
                if f.report.touched("evidence") {
                    assert!(budget < 500, "evidence cut at a roomy budget: {ctx}");
                    assert!(!f.text.contains(evidence), "{ctx}");
                } else {
                    assert!(f.text.contains(evidence), "{ctx}");
                }
                if budget >= 500 {
                    assert!(!f.report.touched("evidence"), "{ctx}");
                }
                assert!(f.text.contains("0.8137"), "{ctx}");
                assert!(
                    f.report.touched("message") && f.report.dropped("labels"),
                    "{ctx}"
                );
            }
        }
    }
}

#[test]
fn rendered_groups_fit_every_budget() {
    let alerts: Vec<Alert> = (0..50)
        .map(|i| Alert::new(Severity::Warning, format!("Dérive{i}")).with_message("🚲".repeat(200)))
        .collect();
    for m in MEASURES {
        for budget in (200..=6000).step_by(250) {
            let f = render_group(&alerts, Style::Markdown, budget, m, 10);
            assert!(
                m.len(&f.text) <= budget,
                "{m:?} {budget}: {}",
                m.len(&f.text)
            );
            assert!(f.text.contains("and "), "{m:?} {budget}");
        }
    }
}

/// What a reader of rendered Markdown sees: escapes undone, `**` delimiters gone.
fn visible(md: &str) -> String {
    let mut out = String::new();
    let mut chars = md.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
            }
            c => out.push(c),
        }
    }
    out
}

/// Markup problems of rendered Markdown: an unclosed or empty `**` span on a line,
/// or a backslash that no longer escapes the ASCII punctuation it was written for.
fn markup_problems(md: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for line in md.lines() {
        let mut delimiters = 0;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) if e.is_ascii_punctuation() => {}
                    other => problems.push(format!("`\\` before {other:?} in {line:?}")),
                },
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    delimiters += 1;
                }
                _ => {}
            }
        }
        if delimiters % 2 == 1 {
            problems.push(format!("unclosed `**` in {line:?}"));
        }
        if line.contains("****") {
            problems.push(format!("empty `**` span in {line:?}"));
        }
    }
    problems
}

/// The shortest budget that holds some text of `first` plus the marker.
fn room_for_text(first: &str, m: Measure) -> usize {
    m.len(first) + m.len(MARKER)
}

#[test]
fn rendered_alerts_keep_their_title_at_every_budget() {
    let alert = Alert::new(Severity::Critical, "PrécisionEnBaisse")
        .with_summary("Précision 0,81 < 0,90 🚨 *modèle* vélos_v3")
        .with_message("Le modèle « vélos » 🚲 a perdu 12 points [voir](x). ".repeat(8))
        .with_label("région", "Île-de-France")
        .with_runbook("https://runbooks.example/précision")
        .with_annotation("équipe", "ml-plateforme")
        .with_evidence(Evidence::metric("précision").observed(0.81).threshold(0.9))
        .with_source(Source::model("vélos").version("3"));
    let title = "[CRITICAL] Précision 0,81 < 0,90 🚨 *modèle* vélos_v3";
    assert_eq!(title_line(&alert), title);
    let title_md = r"**\[CRITICAL\] Précision 0,81 \< 0,90 🚨 \*modèle\* vélos\_v3**";
    assert_eq!(format!("**{}**", escape_markdown(title)), title_md);
    for m in MEASURES {
        for style in [Style::Text, Style::Markdown] {
            let (part, first_unit) = match style {
                Style::Text => (title, "["),
                Style::Markdown => (title_md, r"\["),
            };
            for budget in 1..=400 {
                let f = render(&alert, style, budget, m);
                let ctx = format!("{m:?} {style:?} {budget}: {:?}", f.text);
                assert!(m.len(&f.text) <= budget, "{ctx}");
                let first = f.text.lines().next().unwrap_or("");
                let seen = match style {
                    Style::Text => first.to_owned(),
                    Style::Markdown => {
                        let problems = markup_problems(&f.text);
                        assert!(problems.is_empty(), "{ctx}: {problems:?}");
                        visible(first)
                    }
                };
                let seen = seen.strip_suffix(MARKER).unwrap_or(&seen);
                // The first line is the title, whole or shortened.
                assert!(title.starts_with(seen), "{ctx}");
                if budget >= room_for_text(first_unit, m) {
                    assert!(!seen.is_empty(), "the title disappeared: {ctx}");
                    assert!(!f.report.dropped("title"), "{ctx}");
                }
                if budget >= m.len(part) {
                    assert_eq!(
                        first, part,
                        "the title is cut in a budget that holds it: {ctx}"
                    );
                } else {
                    assert!(f.report.touched("title"), "{ctx}");
                }
            }
        }
    }
}

#[test]
fn rendered_groups_keep_their_header_at_every_budget() {
    let alerts: Vec<Alert> = (0..12)
        .map(|i| {
            let a = Alert::new(
                if i % 4 == 0 {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                format!("Dérive_{i}🚲"),
            )
            .with_summary(format!("Dérive *{i}* sur « vélos » 🚲"))
            .with_message("données décalées 漢字 ".repeat(6))
            .with_evidence(Evidence::metric("psi").observed(0.31).threshold(0.2));
            if i % 5 == 4 {
                a.with_status(Status::Resolved)
            } else {
                a
            }
        })
        .collect();
    let header = group_header(&alerts);
    assert!(
        header.starts_with(
            "[CRITICAL] 10 firing (2 critical, 8 warning), 2 resolved: Dérive_0🚲, Dérive_10🚲"
        ),
        "{header}"
    );
    let header_md = format!("**{}**", escape_markdown(&header));
    for m in MEASURES {
        for style in [Style::Text, Style::Markdown] {
            let (part, first_unit) = match style {
                Style::Text => (header.as_str(), "["),
                Style::Markdown => (header_md.as_str(), r"\["),
            };
            for budget in 1..=400 {
                let f = render_group(&alerts, style, budget, m, 5);
                let ctx = format!("{m:?} {style:?} {budget}: {:?}", f.text);
                assert!(m.len(&f.text) <= budget, "{ctx}");
                let first = f.text.split("\n\n").next().unwrap_or("");
                let seen = match style {
                    Style::Text => first.to_owned(),
                    Style::Markdown => {
                        let problems = markup_problems(&f.text);
                        assert!(problems.is_empty(), "{ctx}: {problems:?}");
                        visible(first)
                    }
                };
                let seen = seen.strip_suffix(MARKER).unwrap_or(&seen);
                assert!(header.starts_with(seen), "{ctx}");
                if budget >= room_for_text(first_unit, m) {
                    assert!(!seen.is_empty(), "the header disappeared: {ctx}");
                }
                if budget >= m.len(part) {
                    assert_eq!(first, part, "{ctx}");
                    assert!(!f.report.touched("header"), "{ctx}");
                } else {
                    assert!(f.report.touched("header"), "{ctx}");
                }
                // Every alert shown starts with its title; what is left out is counted.
                let blocks: Vec<&str> = f.text.split("\n\n").skip(1).collect();
                let shown = blocks.iter().filter(|b| !b.starts_with(MARKER)).count();
                for b in &blocks[..shown] {
                    let b = match style {
                        Style::Text => (*b).to_owned(),
                        Style::Markdown => visible(b),
                    };
                    assert!(
                        ["[CRITICAL] Dérive", "[WARNING] Dérive", "[RESOLVED] Dérive"]
                            .iter()
                            .any(|t| b.starts_with(t) || t.starts_with(b.trim_end_matches(MARKER))),
                        "{ctx}: block {b:?}"
                    );
                }
                if shown < alerts.len() {
                    assert!(f.report.touched("alerts"), "{ctx}");
                }
                if let Some(last) = blocks.last().filter(|b| b.starts_with(MARKER)) {
                    assert_eq!(
                        *last,
                        format!("… and {} more", alerts.len() - shown),
                        "{ctx}"
                    );
                }
            }
        }
    }
}
