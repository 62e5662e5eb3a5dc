//! Truncation and fitting on multi-byte text, at every boundary.

use alert_core::fit::{MARKER, Measure, Part, Priority, fit_parts, join_parts, truncate};
use alert_core::render::{Style, render, render_group};
use alert_core::{Alert, Evidence, Severity};
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
