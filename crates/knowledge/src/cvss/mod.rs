//! CVSS vectors: parsing and scoring of v3.0, v3.1 and v4.0, exactly as FIRST specifies them.
//!
//! - v3.0 and v3.1 ([`v3`]): base, temporal and environmental scores from the equations of the v3.1
//!   specification, section 7 (v3.0: section 8), including each version's rounding (v3.1 Appendix A
//!   `Roundup`, v3.0 "round up to one decimal") and v3.0's different Modified Impact for a changed
//!   Modified Scope.
//! - v4.0 ([`v4`]): the score of whatever metric groups the vector carries (CVSS-B, -BT, -BE, -BTE),
//!   with the FIRST algorithm of specification section 8: macrovectors (EQ1..EQ6), the table of the
//!   270 macrovector scores, severity distances to the highest-severity vectors, interpolation, and
//!   rounding to one decimal. Supplemental metrics are parsed and kept; they never change the score.
//!
//! The entry points are [`parse`] (a [`Vector`]), [`score`] (its [`Scores`]) and [`score_line`] (one
//! line of `medsentry cvss --format json`). Parsing never panics: any input is a vector or a
//! [`CvssError`] naming what is wrong with it.

use std::fmt;
use std::str::FromStr;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

pub mod v3;
pub mod v4;

/// A CVSS version this module reads (CVSS v2 is out of scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    V3_0,
    V3_1,
    V4_0,
}

impl Version {
    /// `"3.0"`, `"3.1"` or `"4.0"`, as written after `CVSS:` in a vector.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V3_0 => "3.0",
            Version::V3_1 => "3.1",
            Version::V4_0 => "4.0",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The qualitative severity rating of a score (v3.1 specification section 5, v4.0 section 6): the
/// same scale for every version.
///
/// `Display` gives the specification's words (`"Critical"`); serde gives them in lowercase, as the
/// rest of medsentry's JSON does (`"critical"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// None 0.0, Low 0.1-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0.
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "None",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The v4.0 supplemental Safety metric (`S`, specification section 5, Supplemental Metrics): whether the consequences of
/// the vulnerability meet the IEC 61508 definition of safety impact. It does not change the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Safety {
    /// `S:N`: consequences of "negligible" category or less.
    Negligible,
    /// `S:P`: consequences of "marginal", "critical" or "catastrophic" category.
    Present,
}

/// The scores of one vector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub version: Version,
    /// v3: the base score. v4: the CVSS-B score (the base metrics alone, threat and environmental
    /// metrics left out).
    pub base: f64,
    /// v3: the temporal score, equal to the base score where no temporal metric is given. v4: `None`.
    pub temporal: Option<f64>,
    /// v3: the environmental score, computed from the base and modified metrics even where no
    /// environmental metric is given (it is then the temporal score). v4: `None`.
    pub environmental: Option<f64>,
    /// The score of the vector as given: v3 the environmental score, v4 the CVSS-B, -BT, -BE or -BTE
    /// score named by `nomenclature`.
    pub score: f64,
    /// The rating of `score`.
    pub severity: Severity,
    /// v4: `"CVSS-B"`, `"CVSS-BT"`, `"CVSS-BE"` or `"CVSS-BTE"` (specification section 1.3). v3: `None`.
    pub nomenclature: Option<&'static str>,
    /// v4: the supplemental Safety metric, where the vector gives it (not `S:X`). v3: `None`.
    pub safety: Option<Safety>,
}

/// A parsed CVSS vector of any supported version. `Display` gives the normalised vector string:
/// the prefix, then the metrics the input gave, in the specification's order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Vector {
    V3(v3::Vector),
    V4(v4::Vector),
}

impl Vector {
    pub fn version(&self) -> Version {
        match self {
            Vector::V3(vector) => vector.version(),
            Vector::V4(_) => Version::V4_0,
        }
    }

    pub fn scores(&self) -> Scores {
        match self {
            Vector::V3(vector) => vector.scores(),
            Vector::V4(vector) => vector.scores(),
        }
    }
}

impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Vector::V3(vector) => vector.fmt(f),
            Vector::V4(vector) => vector.fmt(f),
        }
    }
}

impl FromStr for Vector {
    type Err = CvssError;

    fn from_str(s: &str) -> Result<Vector, CvssError> {
        parse(s)
    }
}

/// Why a vector string could not be read. Each message names the metric or the part of the string
/// that is wrong; parts of the input in a message are cut to 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CvssError {
    #[error("empty CVSS vector")]
    Empty,
    #[error(
        "bad CVSS prefix {prefix:?}: a vector starts with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/{}",
        v2_hint(prefix)
    )]
    BadPrefix { prefix: String },
    #[error("malformed component {component:?} in a CVSS {version} vector: expected METRIC:VALUE")]
    Malformed { version: Version, component: String },
    #[error("unknown metric {metric:?} in a CVSS {version} vector")]
    UnknownMetric { version: Version, metric: String },
    #[error("bad value {value:?} for metric {metric} ({name}): expected one of {}", expected.join(", "))]
    BadValue {
        metric: &'static str,
        name: &'static str,
        value: String,
        expected: &'static [&'static str],
    },
    #[error("duplicate metric {metric} ({name}): give each metric once")]
    Duplicate {
        metric: &'static str,
        name: &'static str,
    },
    #[error("missing mandatory base metric {metric} ({name}) in a CVSS {version} vector")]
    Missing {
        version: Version,
        metric: &'static str,
        name: &'static str,
    },
}

impl CvssError {
    /// The metric the error is about, where it is about one (`"AV"`, or the unknown name as written).
    pub fn metric(&self) -> Option<&str> {
        match self {
            CvssError::UnknownMetric { metric, .. } => Some(metric),
            CvssError::BadValue { metric, .. }
            | CvssError::Duplicate { metric, .. }
            | CvssError::Missing { metric, .. } => Some(metric),
            CvssError::Empty | CvssError::BadPrefix { .. } | CvssError::Malformed { .. } => None,
        }
    }
}

fn v2_hint(prefix: &str) -> &'static str {
    if prefix.starts_with("AV:") || prefix.starts_with("(AV:") || prefix.starts_with("CVSS:2") {
        " (CVSS v2 vectors are not supported)"
    } else {
        ""
    }
}

/// Reads a CVSS v3.0, v3.1 or v4.0 vector string (v3.1 specification section 6, v4.0 section 7).
///
/// Surrounding whitespace is ignored. Metrics may come in any order (the normalised form puts them
/// in the specification's order); each at most once; every base metric is mandatory; optional metrics
/// may be `X` (Not Defined). Names and values are case-sensitive, as the specifications write them.
pub fn parse(vector: &str) -> Result<Vector, CvssError> {
    let vector = vector.trim();
    if vector.is_empty() {
        return Err(CvssError::Empty);
    }
    let (prefix, body) = vector.split_once('/').unwrap_or((vector, ""));
    match prefix {
        "CVSS:3.0" => v3::Vector::parse(Version::V3_0, body).map(Vector::V3),
        "CVSS:3.1" => v3::Vector::parse(Version::V3_1, body).map(Vector::V3),
        "CVSS:4.0" => v4::Vector::parse(body).map(Vector::V4),
        _ => Err(CvssError::BadPrefix {
            prefix: excerpt(prefix),
        }),
    }
}

/// The scores of a vector string: [`parse`] then [`Vector::scores`].
pub fn score(vector: &str) -> Result<Scores, CvssError> {
    parse(vector).map(|vector| vector.scores())
}

/// One line of `medsentry cvss --format json`.
///
/// A vector that parses gives `vector`, `version`, `base`, `temporal`, `environmental`, `score` and
/// `severity`; `temporal` and `environmental` are `null` for v4 (which has no such scores) and always
/// numbers for v3. A vector that does not parse gives only `vector` and `error`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreLine {
    /// The vector as given (surrounding whitespace removed).
    pub vector: String,
    pub version: Option<Version>,
    pub base: Option<f64>,
    pub temporal: Option<f64>,
    pub environmental: Option<f64>,
    pub score: Option<f64>,
    pub severity: Option<Severity>,
    pub error: Option<String>,
}

/// Scores `vector` into a [`ScoreLine`]; a vector that does not parse becomes a line with its error.
pub fn score_line(vector: &str) -> ScoreLine {
    let mut line = ScoreLine {
        vector: vector.trim().to_owned(),
        version: None,
        base: None,
        temporal: None,
        environmental: None,
        score: None,
        severity: None,
        error: None,
    };
    match score(vector) {
        Ok(scores) => {
            line.version = Some(scores.version);
            line.base = Some(scores.base);
            line.temporal = scores.temporal;
            line.environmental = scores.environmental;
            line.score = Some(scores.score);
            line.severity = Some(scores.severity);
        }
        Err(err) => line.error = Some(err.to_string()),
    }
    line
}

impl Serialize for ScoreLine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("vector", &self.vector)?;
        if let Some(error) = &self.error {
            map.serialize_entry("error", error)?;
        } else {
            map.serialize_entry("version", &self.version)?;
            map.serialize_entry("base", &self.base)?;
            map.serialize_entry("temporal", &self.temporal)?;
            map.serialize_entry("environmental", &self.environmental)?;
            map.serialize_entry("score", &self.score)?;
            map.serialize_entry("severity", &self.severity)?;
        }
        map.end()
    }
}

/// One metric of a version's vector string: its abbreviation, its name in the specification, the
/// values it takes, and whether every vector must give it.
#[derive(Debug)]
struct Metric {
    abbr: &'static str,
    name: &'static str,
    values: &'static [&'static str],
    mandatory: bool,
}

/// A metric table entry (v3 and v4 tables are built with it).
const fn metric(
    abbr: &'static str,
    name: &'static str,
    values: &'static [&'static str],
    mandatory: bool,
) -> Metric {
    Metric {
        abbr,
        name,
        values,
        mandatory,
    }
}

/// Reads the metrics after the prefix into positions of `table`: each slot holds the index of the
/// value in the metric's `values`, or `None` where the vector does not give the metric.
fn parse_metrics<const N: usize>(
    version: Version,
    body: &str,
    table: &'static [Metric; N],
) -> Result<[Option<u8>; N], CvssError> {
    let mut slots = [None; N];
    if !body.is_empty() {
        for component in body.split('/') {
            let Some((abbr, value)) = component.split_once(':') else {
                return Err(CvssError::Malformed {
                    version,
                    component: excerpt(component),
                });
            };
            let Some(pos) = table.iter().position(|metric| metric.abbr == abbr) else {
                return Err(CvssError::UnknownMetric {
                    version,
                    metric: excerpt(abbr),
                });
            };
            // `pos < N`, and `slots` has N entries.
            let (metric, slot) = (&table[pos], &mut slots[pos]);
            let Some(value_idx) = metric.values.iter().position(|v| *v == value) else {
                return Err(CvssError::BadValue {
                    metric: metric.abbr,
                    name: metric.name,
                    value: excerpt(value),
                    expected: metric.values,
                });
            };
            if slot.is_some() {
                return Err(CvssError::Duplicate {
                    metric: metric.abbr,
                    name: metric.name,
                });
            }
            // Every metric has fewer than 256 values.
            *slot = u8::try_from(value_idx).ok();
        }
    }
    for (metric, slot) in table.iter().zip(&slots) {
        if metric.mandatory && slot.is_none() {
            return Err(CvssError::Missing {
                version,
                metric: metric.abbr,
                name: metric.name,
            });
        }
    }
    Ok(slots)
}

/// The value a slot holds, as the specification writes it; `"X"` where the metric is absent.
fn value_of(table: &'static [Metric], slots: &[Option<u8>], pos: usize) -> &'static str {
    let (Some(metric), Some(Some(idx))) = (table.get(pos), slots.get(pos)) else {
        return "X";
    };
    metric.values.get(usize::from(*idx)).copied().unwrap_or("X")
}

/// Writes `CVSS:<version>` and then each metric present, in table order.
fn write_vector(
    f: &mut fmt::Formatter<'_>,
    version: Version,
    table: &'static [Metric],
    slots: &[Option<u8>],
) -> fmt::Result {
    write!(f, "CVSS:{version}")?;
    for (pos, metric) in table.iter().enumerate() {
        if matches!(slots.get(pos), Some(Some(_))) {
            write!(f, "/{}:{}", metric.abbr, value_of(table, slots, pos))?;
        }
    }
    Ok(())
}

/// At most 32 characters of untrusted input, for an error message.
fn excerpt(text: &str) -> String {
    const MAX: usize = 32;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_the_rating_scale() {
        let cases = [
            (0.0, Severity::None),
            (0.1, Severity::Low),
            (3.9, Severity::Low),
            (4.0, Severity::Medium),
            (6.9, Severity::Medium),
            (7.0, Severity::High),
            (8.9, Severity::High),
            (9.0, Severity::Critical),
            (10.0, Severity::Critical),
        ];
        for (score, severity) in cases {
            assert_eq!(Severity::from_score(score), severity, "{score}");
        }
        assert_eq!(Severity::Critical.to_string(), "Critical");
        assert_eq!(
            serde_json::to_string(&Severity::Critical).ok().as_deref(),
            Some("\"critical\"")
        );
    }

    #[test]
    fn version_displays_as_written_in_vectors() {
        assert_eq!(Version::V3_0.to_string(), "3.0");
        assert_eq!(Version::V3_1.to_string(), "3.1");
        assert_eq!(Version::V4_0.to_string(), "4.0");
    }

    #[test]
    fn excerpt_cuts_long_input_on_a_char_boundary() {
        assert_eq!(excerpt("AV"), "AV");
        let long = "é".repeat(40);
        assert_eq!(excerpt(&long), format!("{}...", "é".repeat(32)));
    }

    #[test]
    fn bad_prefixes_are_named() {
        for (input, prefix) in [
            ("CVSS:2.0/AV:N", "CVSS:2.0"),
            ("cvss:3.1/AV:N", "cvss:3.1"),
            ("CVSS:3.1x/AV:N", "CVSS:3.1x"),
            ("CVSS:4", "CVSS:4"),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "AV:N"),
        ] {
            let expected = CvssError::BadPrefix {
                prefix: prefix.to_owned(),
            };
            assert_eq!(parse(input).err(), Some(expected), "{input}");
        }
        let err = parse("AV:N/AC:L/Au:N/C:P/I:P/A:P")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "bad CVSS prefix \"AV:N\": a vector starts with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/ \
                 (CVSS v2 vectors are not supported)"
            )
        );
        assert_eq!(parse("  ").err(), Some(CvssError::Empty));
    }

    #[test]
    fn score_line_serialises_per_version() {
        let json = |v: &str| serde_json::to_string(&score_line(v)).unwrap_or_default();
        assert_eq!(
            json("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            r#"{"vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","version":"3.1","base":9.8,"temporal":9.8,"environmental":9.8,"score":9.8,"severity":"critical"}"#
        );
        assert_eq!(
            json("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            r#"{"vector":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N","version":"4.0","base":9.3,"temporal":null,"environmental":null,"score":9.3,"severity":"critical"}"#
        );
        assert_eq!(
            json("CVSS:3.1/AV:Q"),
            r#"{"vector":"CVSS:3.1/AV:Q","error":"bad value \"Q\" for metric AV (attack vector): expected one of N, A, L, P"}"#
        );
    }
}
