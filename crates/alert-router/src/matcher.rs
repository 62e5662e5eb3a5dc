//! [`Matcher`]: a condition on one label of an alert, Alertmanager style.
//!
//! Syntax (the same as Alertmanager's `matchers`, plus severity comparisons):
//!
//! | text | meaning |
//! |---|---|
//! | `model = bikes` or `model="bikes"` | label equals the value |
//! | `env != dev` | label differs from the value |
//! | `service =~ "api\|web"` | label matches the regex, anchored at both ends |
//! | `team !~ "ml-.*"` | label does not match the regex |
//! | `severity >= error` | the alert's severity is at least `error` (also `>`, `<=`, `<`) |
//!
//! A missing label reads as the empty string, so `team = ""` matches alerts without a
//! `team` label (as in Alertmanager). Two names are virtual: `alertname` reads the
//! alert's [`name`](alert_core::Alert::name) and `severity` reads its
//! [`severity`](alert_core::Alert::severity) as the canonical lower-case word
//! (`info`, `warning`, `error`, `critical`); `severity = crit` is accepted and
//! normalised when parsed.

use std::fmt;
use std::str::FromStr;

use alert_core::{Alert, Severity};
use regex::Regex;

/// How a [`Matcher`] compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Eq,
    /// `!=`
    NotEq,
    /// `=~` (anchored regex)
    Re,
    /// `!~` (anchored regex, negated)
    NotRe,
    /// `>=` (severity only)
    Ge,
    /// `>` (severity only)
    Gt,
    /// `<=` (severity only)
    Le,
    /// `<` (severity only)
    Lt,
}

impl MatchOp {
    /// The operator as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::NotEq => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
            MatchOp::Ge => ">=",
            MatchOp::Gt => ">",
            MatchOp::Le => "<=",
            MatchOp::Lt => "<",
        }
    }
    const fn is_ordering(self) -> bool {
        matches!(self, MatchOp::Ge | MatchOp::Gt | MatchOp::Le | MatchOp::Lt)
    }
}

/// Why a matcher could not be parsed or built. The message quotes the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid matcher {input:?}: {reason}")]
pub struct MatcherError {
    input: String,
    reason: String,
}

impl MatcherError {
    fn new(input: &str, reason: impl Into<String>) -> MatcherError {
        MatcherError {
            input: input.chars().take(200).collect(),
            reason: reason.into(),
        }
    }
    /// What is wrong, without the input.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A condition on one label; see the [module docs](self) for the syntax.
///
/// ```
/// use alert_core::{Alert, Severity};
/// use alert_router::Matcher;
/// let m: Matcher = "severity >= error".parse().unwrap();
/// assert!(m.matches(&Alert::new(Severity::Critical, "ModelDown")));
/// assert!(!m.matches(&Alert::new(Severity::Warning, "DataDrift")));
/// let m = Matcher::regex("model", "bikes|cars").unwrap();
/// assert!(m.matches(&Alert::new(Severity::Info, "x").with_label("model", "cars")));
/// assert_eq!(m.to_string(), r#"model=~"bikes|cars""#);
/// ```
#[derive(Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    re: Option<Regex>,
    /// The regex as plain alternatives when it is only literals and `literal.*`
    /// (`api|web`, `ml-.*`): matched without the regex engine.
    fast: Option<Vec<Alt>>,
    severity: Option<Severity>,
}

/// One alternative of a simple regex.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Alt {
    Exact(String),
    Prefix(String),
}

/// `a|b|c.*` → alternatives, or `None` when the pattern uses anything else.
fn simple_alternatives(pattern: &str) -> Option<Vec<Alt>> {
    const META: &[char] = &[
        '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
    ];
    pattern
        .split('|')
        .map(|alt| match alt.strip_suffix(".*") {
            Some(p) if !p.contains(META) => Some(Alt::Prefix(p.to_owned())),
            _ if !alt.contains(META) => Some(Alt::Exact(alt.to_owned())),
            _ => None,
        })
        .collect()
}

fn regex_match(re: &Option<Regex>, fast: &Option<Vec<Alt>>, v: &str) -> bool {
    match fast {
        Some(alts) => alts.iter().any(|a| match a {
            Alt::Exact(x) => v == x,
            Alt::Prefix(p) => v.starts_with(p.as_str()),
        }),
        None => re.as_ref().is_some_and(|r| r.is_match(v)),
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Matcher({self})")
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}
impl Eq for Matcher {}

impl Matcher {
    /// Builds a matcher; fails on a bad regex, an ordering operator on a label other
    /// than `severity`, or a severity value that names no severity.
    pub fn new(
        name: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Matcher, MatcherError> {
        let name = name.into();
        let mut value = value.into();
        let text0 = format!("{name}{}{value:?}", op.as_str());
        let text = || text0.clone();
        if !is_label_name(&name) {
            return Err(MatcherError::new(
                &text(),
                "a label name is letters, digits and '_', not starting with a digit",
            ));
        }
        let mut severity = None;
        if op.is_ordering() {
            if name != "severity" {
                return Err(MatcherError::new(
                    &text(),
                    format!(
                        "`{}` compares severities only; use it as `severity {} error`",
                        op.as_str(),
                        op.as_str()
                    ),
                ));
            }
            let s = value
                .parse::<Severity>()
                .map_err(|e| MatcherError::new(&text(), e.to_string()))?;
            severity = Some(s);
            value = s.as_str().to_owned();
        } else if name == "severity" && matches!(op, MatchOp::Eq | MatchOp::NotEq) {
            let s = value
                .parse::<Severity>()
                .map_err(|e| MatcherError::new(&text(), e.to_string()))?;
            severity = Some(s);
            value = s.as_str().to_owned();
        }
        let re = match op {
            MatchOp::Re | MatchOp::NotRe => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| MatcherError::new(&text(), format!("bad regex: {e}")))?,
            ),
            _ => None,
        };
        let fast = re.as_ref().and_then(|_| simple_alternatives(&value));
        Ok(Matcher {
            name,
            op,
            value,
            re,
            fast,
            severity,
        })
    }

    /// `name = value`.
    pub fn eq(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        let name = name.into();
        let value = value.into();
        Matcher::new(name.clone(), MatchOp::Eq, value.clone()).unwrap_or(Matcher {
            name,
            op: MatchOp::Eq,
            value,
            re: None,
            fast: None,
            severity: None,
        })
    }

    /// `name != value`.
    pub fn not_eq(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        let name = name.into();
        let value = value.into();
        Matcher::new(name.clone(), MatchOp::NotEq, value.clone()).unwrap_or(Matcher {
            name,
            op: MatchOp::NotEq,
            value,
            re: None,
            fast: None,
            severity: None,
        })
    }

    /// `name =~ pattern` (anchored).
    pub fn regex(name: impl Into<String>, pattern: &str) -> Result<Matcher, MatcherError> {
        Matcher::new(name, MatchOp::Re, pattern)
    }

    /// `name !~ pattern` (anchored).
    pub fn not_regex(name: impl Into<String>, pattern: &str) -> Result<Matcher, MatcherError> {
        Matcher::new(name, MatchOp::NotRe, pattern)
    }

    /// `severity >= s`.
    pub fn severity_at_least(s: Severity) -> Matcher {
        Matcher {
            name: "severity".into(),
            op: MatchOp::Ge,
            value: s.as_str().into(),
            re: None,
            fast: None,
            severity: Some(s),
        }
    }

    /// The label name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The operator.
    pub fn op(&self) -> MatchOp {
        self.op
    }
    /// The value or pattern.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the alert satisfies this matcher.
    pub fn matches(&self, alert: &Alert) -> bool {
        if let (Some(want), true) = (self.severity, self.name == "severity") {
            let have = alert.severity;
            return match self.op {
                MatchOp::Eq => have == want,
                MatchOp::NotEq => have != want,
                MatchOp::Ge => have >= want,
                MatchOp::Gt => have > want,
                MatchOp::Le => have <= want,
                MatchOp::Lt => have < want,
                MatchOp::Re | MatchOp::NotRe => self.matches_value(have.as_str()),
            };
        }
        self.matches_value(label_value(alert, &self.name))
    }

    /// Whether a label value (empty when missing) satisfies this matcher.
    pub fn matches_value(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Eq => v == self.value,
            MatchOp::NotEq => v != self.value,
            MatchOp::Re => regex_match(&self.re, &self.fast, v),
            MatchOp::NotRe => !regex_match(&self.re, &self.fast, v),
            MatchOp::Ge | MatchOp::Gt | MatchOp::Le | MatchOp::Lt => {
                match (v.parse::<Severity>(), self.severity) {
                    (Ok(have), Some(want)) => match self.op {
                        MatchOp::Ge => have >= want,
                        MatchOp::Gt => have > want,
                        MatchOp::Le => have <= want,
                        _ => have < want,
                    },
                    _ => false,
                }
            }
        }
    }
}

/// The value of label `name` on `alert` for matching: `alertname` is the name,
/// `severity` the canonical severity word, a missing label the empty string.
pub fn label_value<'a>(alert: &'a Alert, name: &str) -> &'a str {
    match name {
        "alertname" => &alert.name,
        "severity" => alert.severity.as_str(),
        _ => alert.labels.get(name).unwrap_or(""),
    }
}

/// Whether every matcher matches (an empty list matches everything).
pub fn all_match(matchers: &[Matcher], alert: &Alert) -> bool {
    matchers.iter().all(|m| m.matches(alert))
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = serde_json::to_string(&self.value).map_err(|_| fmt::Error)?;
        write!(f, "{}{}{}", self.name, self.op.as_str(), quoted)
    }
}

const OPS: [(&str, MatchOp); 8] = [
    ("=~", MatchOp::Re),
    ("!~", MatchOp::NotRe),
    ("!=", MatchOp::NotEq),
    (">=", MatchOp::Ge),
    ("<=", MatchOp::Le),
    ("=", MatchOp::Eq),
    (">", MatchOp::Gt),
    ("<", MatchOp::Lt),
];

impl FromStr for Matcher {
    type Err = MatcherError;
    fn from_str(input: &str) -> Result<Matcher, MatcherError> {
        let s = input.trim();
        let name_end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        let name = &s[..name_end];
        if name.is_empty() {
            return Err(MatcherError::new(
                input,
                "expected a label name first, e.g. `model = bikes`",
            ));
        }
        let rest = s[name_end..].trim_start();
        let Some((op_text, op)) = OPS.iter().find(|(t, _)| rest.starts_with(t)) else {
            return Err(MatcherError::new(
                input,
                "expected an operator after the name: =, !=, =~, !~, >=, >, <=, <",
            ));
        };
        let raw = rest[op_text.len()..].trim();
        let value = if raw.starts_with('"') {
            let end = closing_quote(raw)
                .ok_or_else(|| MatcherError::new(input, "unterminated quoted value"))?;
            if end + 1 != raw.len() {
                return Err(MatcherError::new(
                    input,
                    "unexpected text after the quoted value",
                ));
            }
            serde_json::from_str::<String>(&raw[..=end])
                .map_err(|e| MatcherError::new(input, format!("bad quoted value: {e}")))?
        } else {
            raw.to_owned()
        };
        Matcher::new(name, *op, value).map_err(|e| MatcherError::new(input, e.reason))
    }
}

/// The index of the quote closing the string that starts at `s[0] == '"'`.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// Parses a list of matchers: `{a="b", c=~"d|e"}` (amtool style) or `a=b, c!=d`
/// (braces optional, commas inside quotes allowed).
///
/// ```
/// let ms = alert_router::matcher::parse_matchers(r#"{model="bikes", env!="dev"}"#).unwrap();
/// assert_eq!(ms.len(), 2);
/// ```
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let mut s = input.trim();
    if let Some(inner) = s.strip_prefix('{') {
        s = inner
            .strip_suffix('}')
            .ok_or_else(|| MatcherError::new(input, "missing closing '}'"))?;
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                let part = s[start..i].trim();
                if !part.is_empty() {
                    out.push(part.parse()?);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    let part = s[start..].trim();
    if !part.is_empty() {
        out.push(part.parse()?);
    }
    Ok(out)
}

impl serde::Serialize for Matcher {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Matcher {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert::new(Severity::Error, "AccuracyDrop")
            .with_label("model", "bikes")
            .with_label("env", "prod")
    }

    #[test]
    fn parses_every_operator() {
        let a = alert();
        for (text, expect) in [
            ("model = bikes", true),
            (r#"model="bikes""#, true),
            ("model != bikes", false),
            (r#"model =~ "bi.*""#, true),
            (r#"model =~ "bi""#, false),
            (r#"model !~ "cars|trucks""#, true),
            ("severity >= error", true),
            ("severity > error", false),
            ("severity <= warning", false),
            ("severity < critical", true),
            ("severity = err", true),
            ("alertname = AccuracyDrop", true),
            (r#"team = """#, true),
            ("team != x", true),
            (r#"severity =~ "error|critical""#, true),
        ] {
            let m: Matcher = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(m.matches(&a), expect, "{text}");
        }
    }

    #[test]
    fn simple_regexes_skip_the_engine_and_agree_with_it() {
        assert_eq!(
            simple_alternatives("api|web-.*|"),
            Some(vec![
                Alt::Exact("api".into()),
                Alt::Prefix("web-".into()),
                Alt::Exact(String::new())
            ])
        );
        for p in [
            "a.b", "a+", "(a|b)", "[ab]", "a\\.b", "x{2}", "^a", "(?i)a", ".*x",
        ] {
            assert_eq!(simple_alternatives(p), None, "{p}");
        }
        let patterns = [
            "api|web-.*",
            ".*",
            "bikes",
            "a|",
            "ml-.*|x",
            "a.b|c",
            "(?i)API",
        ];
        let values = [
            "api", "web-1", "web", "", "bikes", "ml-x", "x", "axb", "a.b", "c", "API", "Api",
        ];
        for p in patterns {
            let m = Matcher::regex("l", p).unwrap();
            let slow = Regex::new(&format!("^(?:{p})$")).unwrap();
            for v in values {
                assert_eq!(m.matches_value(v), slow.is_match(v), "{p} on {v:?}");
            }
        }
    }

    #[test]
    fn errors_name_the_problem() {
        for (text, needle) in [
            ("", "label name"),
            ("model bikes", "operator"),
            ("model >= bikes", "compares severities only"),
            ("severity >= huge", "unknown severity"),
            (r#"model =~ "(""#, "bad regex"),
            (r#"model = "open"#, "unterminated"),
            (r#"model = "a" b"#, "after the quoted value"),
        ] {
            let e = text.parse::<Matcher>().unwrap_err();
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            r#"model="a \"b\", c""#,
            r#"x=~"a|b""#,
            r#"severity>="error""#,
        ] {
            let m: Matcher = text.parse().unwrap();
            assert_eq!(m.to_string(), text);
            assert_eq!(m.to_string().parse::<Matcher>().unwrap(), m);
        }
    }

    #[test]
    fn lists_with_braces_and_quoted_commas() {
        let ms = parse_matchers(r#"{model="a,b", env!="dev"}"#).unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].value(), "a,b");
        assert_eq!(ms[1].op(), MatchOp::NotEq);
        assert!(parse_matchers("{a=b").is_err());
        assert!(parse_matchers("").unwrap().is_empty());
    }
}
