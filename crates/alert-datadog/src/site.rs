//! Datadog sites and how their API URLs are formed.

use std::fmt;
use std::str::FromStr;

/// A Datadog site (region). Each site is a separate deployment: an API key only works
/// on the site its organisation lives on.
///
/// The API host of every site is `https://api.{site parameter}`, as Datadog's API
/// reference lists it for each endpoint (for example
/// `POST https://api.us5.datadoghq.com/api/v1/events`):
///
/// | variant | name | site parameter (`DD_SITE`) | API base URL |
/// |---|---|---|---|
/// | [`Us1`](DatadogSite::Us1) (default) | US1 | `datadoghq.com` | `https://api.datadoghq.com` |
/// | [`Us3`](DatadogSite::Us3) | US3 | `us3.datadoghq.com` | `https://api.us3.datadoghq.com` |
/// | [`Us5`](DatadogSite::Us5) | US5 | `us5.datadoghq.com` | `https://api.us5.datadoghq.com` |
/// | [`Eu1`](DatadogSite::Eu1) | EU1 | `datadoghq.eu` | `https://api.datadoghq.eu` |
/// | [`Ap1`](DatadogSite::Ap1) | AP1 | `ap1.datadoghq.com` | `https://api.ap1.datadoghq.com` |
/// | [`Ap2`](DatadogSite::Ap2) | AP2 | `ap2.datadoghq.com` | `https://api.ap2.datadoghq.com` |
/// | [`Uk1`](DatadogSite::Uk1) | UK1 | `uk1.datadoghq.com` | `https://api.uk1.datadoghq.com` |
/// | [`Us1Fed`](DatadogSite::Us1Fed) | US1-FED (GOV) | `ddog-gov.com` | `https://api.ddog-gov.com` |
/// | [`Us2Fed`](DatadogSite::Us2Fed) | US2-FED | `us2.ddog-gov.com` | `https://api.us2.ddog-gov.com` |
///
/// Sources: Datadog's "Getting Started with Datadog Sites" page (site parameters and
/// names) and the per-endpoint URL tables of its API reference ("Post an event",
/// "Submit metrics"). A site not in this list (a staging or private deployment)
/// is reached with an explicit `base_url`.
///
/// Parsing ([`FromStr`], also used by serde and `DD_SITE`) accepts the site parameter,
/// the site's web address (`app.datadoghq.eu`, `https://us3.datadoghq.com/`), its API
/// host, or its name, ignoring case: `US1`, `US3`, `US5`, `EU`/`EU1`, `AP1`, `AP2`,
/// `UK1`, `GOV`/`US1-FED`, `US2-FED`/`US2-GOV`.
///
/// ```
/// use alert_datadog::DatadogSite;
/// let eu: DatadogSite = "datadoghq.eu".parse().unwrap();
/// assert_eq!(eu, DatadogSite::Eu1);
/// assert_eq!(eu.api_url(), "https://api.datadoghq.eu");
/// assert_eq!("us2-gov".parse::<DatadogSite>().unwrap().api_url(), "https://api.us2.ddog-gov.com");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DatadogSite {
    /// US1, `datadoghq.com` (the default).
    #[default]
    Us1,
    /// US3, `us3.datadoghq.com`.
    Us3,
    /// US5, `us5.datadoghq.com`.
    Us5,
    /// EU1, `datadoghq.eu`.
    Eu1,
    /// AP1 (Japan), `ap1.datadoghq.com`.
    Ap1,
    /// AP2 (Australia), `ap2.datadoghq.com`.
    Ap2,
    /// UK1, `uk1.datadoghq.com`.
    Uk1,
    /// US1-FED (GOV), `ddog-gov.com`.
    Us1Fed,
    /// US2-FED, `us2.ddog-gov.com`.
    Us2Fed,
}

impl DatadogSite {
    /// Every site, in the order of the table above.
    pub const ALL: [DatadogSite; 9] = [
        DatadogSite::Us1,
        DatadogSite::Us3,
        DatadogSite::Us5,
        DatadogSite::Eu1,
        DatadogSite::Ap1,
        DatadogSite::Ap2,
        DatadogSite::Uk1,
        DatadogSite::Us1Fed,
        DatadogSite::Us2Fed,
    ];

    /// The site parameter, as `DD_SITE` spells it: `datadoghq.com`, `datadoghq.eu`, ...
    pub const fn site(self) -> &'static str {
        match self {
            DatadogSite::Us1 => "datadoghq.com",
            DatadogSite::Us3 => "us3.datadoghq.com",
            DatadogSite::Us5 => "us5.datadoghq.com",
            DatadogSite::Eu1 => "datadoghq.eu",
            DatadogSite::Ap1 => "ap1.datadoghq.com",
            DatadogSite::Ap2 => "ap2.datadoghq.com",
            DatadogSite::Uk1 => "uk1.datadoghq.com",
            DatadogSite::Us1Fed => "ddog-gov.com",
            DatadogSite::Us2Fed => "us2.ddog-gov.com",
        }
    }

    /// The site's name as Datadog writes it: `US1`, `EU1`, `US1-FED`, ...
    pub const fn name(self) -> &'static str {
        match self {
            DatadogSite::Us1 => "US1",
            DatadogSite::Us3 => "US3",
            DatadogSite::Us5 => "US5",
            DatadogSite::Eu1 => "EU1",
            DatadogSite::Ap1 => "AP1",
            DatadogSite::Ap2 => "AP2",
            DatadogSite::Uk1 => "UK1",
            DatadogSite::Us1Fed => "US1-FED",
            DatadogSite::Us2Fed => "US2-FED",
        }
    }

    /// The API base URL, `https://api.{site}`, without a trailing slash.
    pub fn api_url(self) -> String {
        format!("https://api.{}", self.site())
    }
}

impl fmt::Display for DatadogSite {
    /// The site parameter (`datadoghq.eu`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.site())
    }
}

/// The error returned for a string that names no Datadog site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseSiteError {
    input: String,
}

impl ParseSiteError {
    /// The text that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for ParseSiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown Datadog site {:?}: expected one of ", self.input)?;
        for (i, s) in DatadogSite::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} ({})", s.site(), s.name())?;
        }
        f.write_str("; use `base_url` for any other deployment")
    }
}

impl std::error::Error for ParseSiteError {}

impl FromStr for DatadogSite {
    type Err = ParseSiteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let mut host = lower.as_str();
        for scheme in ["https://", "http://"] {
            if let Some(rest) = host.strip_prefix(scheme) {
                host = rest;
            }
        }
        let host = host.trim_end_matches('/');
        let host = host
            .strip_prefix("app.")
            .or_else(|| host.strip_prefix("api."))
            .unwrap_or(host);
        if let Some(site) = DatadogSite::ALL.iter().find(|x| x.site() == host) {
            return Ok(*site);
        }
        let name = host.replace('_', "-");
        let site = match name.as_str() {
            "us1" | "us" => DatadogSite::Us1,
            "us3" => DatadogSite::Us3,
            "us5" => DatadogSite::Us5,
            "eu" | "eu1" => DatadogSite::Eu1,
            "ap1" => DatadogSite::Ap1,
            "ap2" => DatadogSite::Ap2,
            "uk1" => DatadogSite::Uk1,
            "gov" | "us1-fed" | "us1-gov" => DatadogSite::Us1Fed,
            "us2-fed" | "us2-gov" => DatadogSite::Us2Fed,
            _ => {
                return Err(ParseSiteError {
                    input: s.to_owned(),
                });
            }
        };
        Ok(site)
    }
}

impl<'de> serde::Deserialize<'de> for DatadogSite {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DatadogSite;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Datadog site such as \"datadoghq.com\" or \"EU1\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DatadogSite, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl serde::Serialize for DatadogSite {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.site())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_site_round_trips_and_forms_its_api_url() {
        let want = [
            "https://api.datadoghq.com",
            "https://api.us3.datadoghq.com",
            "https://api.us5.datadoghq.com",
            "https://api.datadoghq.eu",
            "https://api.ap1.datadoghq.com",
            "https://api.ap2.datadoghq.com",
            "https://api.uk1.datadoghq.com",
            "https://api.ddog-gov.com",
            "https://api.us2.ddog-gov.com",
        ];
        for (site, url) in DatadogSite::ALL.iter().zip(want) {
            assert_eq!(site.api_url(), url);
            assert_eq!(site.site().parse::<DatadogSite>().unwrap(), *site);
            assert_eq!(site.name().parse::<DatadogSite>().unwrap(), *site);
            assert_eq!(url.parse::<DatadogSite>().unwrap(), *site, "{url}");
        }
    }

    #[test]
    fn accepts_web_addresses_and_aliases() {
        for (input, want) in [
            ("app.datadoghq.com", DatadogSite::Us1),
            ("https://app.datadoghq.eu/", DatadogSite::Eu1),
            (" EU ", DatadogSite::Eu1),
            ("GOV", DatadogSite::Us1Fed),
            ("app.ddog-gov.com", DatadogSite::Us1Fed),
            ("US2-GOV", DatadogSite::Us2Fed),
            ("us2_fed", DatadogSite::Us2Fed),
            ("https://us3.datadoghq.com", DatadogSite::Us3),
        ] {
            assert_eq!(input.parse::<DatadogSite>().unwrap(), want, "{input}");
        }
    }

    #[test]
    fn unknown_site_names_input_and_choices() {
        let e = "datadoghq.co".parse::<DatadogSite>().unwrap_err();
        let m = e.to_string();
        assert!(m.contains("\"datadoghq.co\""), "{m}");
        assert!(m.contains("uk1.datadoghq.com (UK1)"), "{m}");
        assert!(m.contains("base_url"), "{m}");
        let e = serde_json::from_str::<DatadogSite>("\"mars1\"").unwrap_err();
        assert!(e.to_string().contains("unknown Datadog site"), "{e}");
    }
}
