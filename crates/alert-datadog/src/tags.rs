//! Tag and metric-name normalisation to Datadog's rules.
//!
//! Datadog's rules for tags ("Getting Started with Tags", section *Defining tags*, in
//! DataDog/documentation `content/en/getting_started/tagging/_index.md`):
//!
//! 1. a tag starts with a letter, then may contain alphanumerics, underscores, minuses,
//!    colons, periods and slashes; other characters are converted to underscores;
//! 2. a tag cannot end with a colon;
//! 3. a tag is at most 200 characters and supports Unicode letters;
//! 4. tags are converted to lower case;
//! 5. in `key:value`, the key is everything before the *first* colon.
//!
//! Datadog's agent applies the same rules when it normalises tags, and also merges runs
//! of underscores and drops trailing ones (`pkg/trace/traceutil/normalize.go` in
//! DataDog/datadog-agent, ported in dd-trace-rb's `Datadog::Core::Normalizer`).
//!
//! What [`normalize_tag`] does with a label `key = value`, so that what Datadog stores
//! is exactly what was sent (no second normalisation on its side):
//!
//! * both parts are lower-cased; every character that is not a Unicode letter, an
//!   ASCII digit, `_`, `-`, `.` or `/` becomes `_` (in the **key**, `:` does too,
//!   since a colon would move the key/value split; in the **value** `:` is kept);
//! * runs of `_` are merged into one;
//! * the key loses leading characters until it starts with a letter, and trailing
//!   `_`; a key left empty becomes `label`; keys are cut to 100 bytes;
//! * the value loses trailing `_` and `:`; an empty value gives the bare key;
//! * the tag is cut to 200 **bytes** at a character boundary (Datadog documents 200
//!   characters, its agent cuts at 200 bytes: bytes is the reading that is safe for
//!   both), then trailing `_` and `:` are dropped again.
//!
//! ```
//! use alert_datadog::tags::normalize_tag;
//! assert_eq!(normalize_tag("Weird Key!!", "Value With Spaces"), "weird_key:value_with_spaces");
//! assert_eq!(normalize_tag(":leading-colon", "x:y:z"), "leading-colon:x:y:z");
//! assert_eq!(normalize_tag("UPPER_case", "ÜNICODE"), "upper_case:ünicode");
//! assert_eq!(normalize_tag("", "empty-key"), "label:empty-key");
//! assert_eq!(normalize_tag("model", ""), "model");
//! ```

/// The longest tag sent, in bytes.
pub const MAX_TAG_BYTES: usize = 200;

/// The longest tag key kept, in bytes (so a long key leaves room for its value).
pub const MAX_KEY_BYTES: usize = 100;

/// The longest metric name, in characters (Datadog's documented limit).
pub const MAX_METRIC_NAME: usize = 200;

/// The key used for a label whose name has no letters.
pub const EMPTY_KEY: &str = "label";

fn clean(s: &str, keep_colon: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_underscore = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        let allowed = c.is_alphabetic()
            || c.is_ascii_digit()
            || matches!(c, '_' | '-' | '.' | '/')
            || (keep_colon && c == ':');
        let c = if allowed { c } else { '_' };
        if c == '_' {
            if last_underscore {
                continue;
            }
            last_underscore = true;
        } else {
            last_underscore = false;
        }
        out.push(c);
    }
    out
}

/// Cuts `s` to at most `max` bytes at a character boundary.
fn cut_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

fn trim_end_in_place(s: &mut String, chars: &[char]) {
    let keep = s.trim_end_matches(chars).len();
    s.truncate(keep);
}

/// The normalised key, or `None` when nothing of it is left.
fn key_part(key: &str) -> Option<String> {
    let cleaned = clean(key, false);
    let start = cleaned.char_indices().find(|(_, c)| c.is_alphabetic())?.0;
    let mut k = cleaned[start..].to_owned();
    cut_bytes(&mut k, MAX_KEY_BYTES);
    trim_end_in_place(&mut k, &['_']);
    Some(k)
}

fn normalize_key(key: &str) -> String {
    key_part(key).unwrap_or_else(|| EMPTY_KEY.to_owned())
}

/// Turns a label (or any key and value) into a valid `key:value` Datadog tag; see the
/// [module docs](self) for the rules.
pub fn normalize_tag(key: &str, value: &str) -> String {
    let key = normalize_key(key);
    let mut v = clean(value, true);
    trim_end_in_place(&mut v, &['_', ':']);
    if v.is_empty() {
        return key;
    }
    let mut tag = key;
    tag.push(':');
    tag.push_str(&v);
    let key_len = tag.find(':').unwrap_or(tag.len());
    cut_bytes(&mut tag, MAX_TAG_BYTES);
    trim_end_in_place(&mut tag, &['_', ':']);
    if tag.len() < key_len {
        // Cannot happen (keys are at most 100 bytes), but never return a cut key.
        tag.truncate(key_len);
    }
    tag
}

/// Normalises a tag written as `key:value` (split at the first colon) or as a bare
/// `value`. Returns `None` for a bare tag with no letters at all (`"42"`, `"!!"`),
/// which Datadog could not store.
///
/// ```
/// use alert_datadog::tags::normalize_raw_tag;
/// assert_eq!(normalize_raw_tag("Env:Prod").as_deref(), Some("env:prod"));
/// assert_eq!(normalize_raw_tag("team ml").as_deref(), Some("team_ml"));
/// assert_eq!(normalize_raw_tag("!!"), None);
/// ```
pub fn normalize_raw_tag(tag: &str) -> Option<String> {
    match tag.split_once(':') {
        Some((k, v)) => Some(normalize_tag(k, v)),
        None => key_part(tag),
    }
}

/// Whether `tag` already satisfies the rules [`normalize_tag`] produces (a letter
/// first, allowed characters only, lower case, no trailing `:`, at most 200 bytes).
pub fn is_valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_alphabetic()
        && !first.is_uppercase()
        && tag.len() <= MAX_TAG_BYTES
        && !tag.ends_with(':')
        && tag.chars().all(|c| {
            (c.is_alphabetic() && c.to_lowercase().eq(std::iter::once(c)))
                || c.is_ascii_digit()
                || matches!(c, '_' | '-' | '.' | '/' | ':')
        })
}

/// Normalises a metric name to Datadog's rules ("Metrics" docs, *Naming metrics*):
/// it starts with a letter, then holds only ASCII alphanumerics, `_` and `.`; other
/// characters become `_` (runs merged), and it is at most 200 characters. Case is
/// kept. Returns `None` when the name has no ASCII letter to start with.
///
/// ```
/// use alert_datadog::tags::normalize_metric_name;
/// assert_eq!(normalize_metric_name("ml.accuracy").as_deref(), Some("ml.accuracy"));
/// assert_eq!(normalize_metric_name("ml drift-score").as_deref(), Some("ml_drift_score"));
/// assert_eq!(normalize_metric_name("123"), None);
/// ```
pub fn normalize_metric_name(name: &str) -> Option<String> {
    let start = name.find(|c: char| c.is_ascii_alphabetic())?;
    let mut out = String::with_capacity(name.len());
    let mut last_underscore = false;
    for c in name[start..].chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            c
        } else {
            '_'
        };
        if c == '_' {
            if last_underscore {
                continue;
            }
            last_underscore = true;
        } else {
            last_underscore = false;
        }
        out.push(c);
        if out.len() >= MAX_METRIC_NAME {
            break;
        }
    }
    let keep = out.trim_end_matches('_').len();
    out.truncate(keep);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_label_names_from_the_corpus() {
        for (k, v, want) in [
            (
                "Weird Key!!",
                "Value With Spaces",
                "weird_key:value_with_spaces",
            ),
            (":leading-colon", "x:y:z", "leading-colon:x:y:z"),
            ("UPPER_case", "ÜNICODE", "upper_case:ünicode"),
            ("", "empty-key", "label:empty-key"),
            ("ctl\u{1}", "v\u{2}", "ctl:v"),
            ("région", "Île-de-France", "région:île-de-france"),
            ("שפה", "עברית", "שפה:עברית"),
            ("team", "<!channel> @everyone", "team:_channel_everyone"),
            ("2fa", "on", "fa:on"),
            ("123", "x", "label:x"),
            ("a__b", "c::", "a_b:c"),
            ("k", "trailing:", "k:trailing"),
        ] {
            let got = normalize_tag(k, v);
            assert_eq!(got, want, "{k:?}={v:?}");
            assert!(is_valid_tag(&got), "{got}");
        }
    }

    #[test]
    fn long_keys_and_values_are_cut_to_200_bytes() {
        let t = normalize_tag(&"k".repeat(300), &"v".repeat(300));
        assert_eq!(t.len(), 200);
        assert_eq!(t, format!("{}:{}", "k".repeat(100), "v".repeat(99)));
        // Multi-byte characters are never split.
        let t = normalize_tag("k", &"é".repeat(300));
        assert!(t.len() <= 200 && t.len() >= 198, "{}", t.len());
        assert!(is_valid_tag(&t));
        // A cut that lands after a colon or underscore drops it.
        let t = normalize_tag("k", &format!("{}:b", "a".repeat(197)));
        assert_eq!(t, format!("k:{}", "a".repeat(197)));
    }

    #[test]
    fn raw_tags() {
        assert_eq!(
            normalize_raw_tag("env:staging:east").unwrap(),
            "env:staging:east"
        );
        assert_eq!(normalize_raw_tag("label").unwrap(), "label");
        assert_eq!(normalize_raw_tag("123"), None);
        assert_eq!(normalize_raw_tag(""), None);
        assert!(!is_valid_tag("Env:x"));
        assert!(!is_valid_tag("1x"));
        assert!(!is_valid_tag("x:"));
        assert!(!is_valid_tag("a b"));
    }

    #[test]
    fn metric_names() {
        assert_eq!(normalize_metric_name("  ml.loss ").unwrap(), "ml.loss");
        assert_eq!(normalize_metric_name("1st.metric").unwrap(), "st.metric");
        assert_eq!(normalize_metric_name("é").as_deref(), None);
        assert_eq!(normalize_metric_name(&"m".repeat(300)).unwrap().len(), 200);
    }
}
