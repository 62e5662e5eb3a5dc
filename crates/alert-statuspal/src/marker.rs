//! The marker that ties an incident to the alert that opened it.
//!
//! The first update of every incident this crate opens ends with a short reference,
//! `[ref:<fingerprint>]` (16 lower-case hexadecimal digits, e.g.
//! `[ref:3f2a9c0d1e2b4c5d]`). It reads like a ticket reference to customers, carries
//! nothing internal (the fingerprint is a hash of the alert's name and labels), and
//! lets a restarted notifier find the open incident of an alert by listing incidents,
//! so a restart never opens a duplicate.

use alert_core::Fingerprint;

const OPEN: &str = "[ref:";

/// The marker for `fp`.
pub(crate) fn marker(fp: Fingerprint) -> String {
    format!("{OPEN}{fp}]")
}

/// The fingerprints of every marker in `text`.
pub(crate) fn find_markers(text: &str) -> Vec<Fingerprint> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        rest = &rest[i + OPEN.len()..];
        if let Some(hex) = rest.get(..16)
            && rest[16..].starts_with(']')
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && let Ok(fp) = hex.parse::<Fingerprint>()
        {
            out.push(fp);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let fp = Fingerprint::from_u64(0x3f2a_9c0d_1e2b_4c5d);
        let m = marker(fp);
        assert_eq!(m, "[ref:3f2a9c0d1e2b4c5d]");
        let text = format!("We are investigating.\n\n{m}");
        assert_eq!(find_markers(&text), vec![fp]);
        for bad in [
            "[ref:3f2a9c0d1e2b4c5]",
            "[ref:3f2a9c0d1e2b4c5dd]",
            "[ref:3F2A9C0D1E2B4C5D]",
            "[ref:xyz",
            "[ref:",
            "ref:3f2a9c0d1e2b4c5d",
            "[ref:é漢🚲é漢🚲é漢🚲]",
        ] {
            assert!(find_markers(bad).is_empty(), "{bad}");
        }
        let two = format!("{} and {}", marker(fp), marker(Fingerprint::from_u64(1)));
        assert_eq!(find_markers(&two).len(), 2);
    }
}
