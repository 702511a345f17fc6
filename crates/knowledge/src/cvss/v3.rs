//! CVSS v3.0 and v3.1 vectors and their base, temporal and environmental scores.
//!
//! The equations are those of the CVSS v3.1 specification, section 7 (v3.0: section 8), with the
//! metric weights of section 7.4 (v3.0: 8.4). The two versions differ in two places only:
//! - rounding: v3.1 uses the `Roundup` of Appendix A, which first rounds to five decimals so that
//!   floating-point noise cannot push a score up by 0.1; v3.0 rounds up to one decimal directly;
//! - the environmental Modified Impact for a changed Modified Scope: v3.1 uses
//!   `7.52 × (MISS − 0.029) − 3.25 × (MISS × 0.9731 − 0.02)^13`, v3.0 the base formula
//!   `7.52 × (MISS − 0.029) − 3.25 × (MISS − 0.02)^15`.

use std::fmt;

use super::{CvssError, Metric, Scores, Severity, Version, metric};

/// A CVSS v3.0 or v3.1 vector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vector {
    version: Version,
    slots: [Option<u8>; 22],
}

impl Vector {
    /// Reads the metrics after the `CVSS:3.x/` prefix.
    pub(super) fn parse(version: Version, body: &str) -> Result<Vector, CvssError> {
        let slots = super::parse_metrics(version, body, &METRICS)?;
        Ok(Vector { version, slots })
    }

    /// [`Version::V3_0`] or [`Version::V3_1`].
    pub fn version(&self) -> Version {
        self.version
    }

    /// The value the vector gives a metric (`get("AV") == Some("N")`, `Some("X")` where the vector
    /// says Not Defined), or `None` where it does not give it or there is no such v3 metric.
    pub fn get(&self, metric: &str) -> Option<&'static str> {
        let pos = METRICS.iter().position(|m| m.abbr == metric)?;
        self.slots.get(pos)?.as_ref()?;
        Some(self.value(pos))
    }

    /// The base score (v3.1 section 7.1, v3.0 section 8.1).
    pub fn base_score(&self) -> f64 {
        let changed = self.value(S) == "C";
        let iss = 1.0
            - ((1.0 - impact_weight(self.value(C)))
                * (1.0 - impact_weight(self.value(I)))
                * (1.0 - impact_weight(self.value(A))));
        let impact = if changed {
            7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powf(15.0)
        } else {
            6.42 * iss
        };
        let exploitability = 8.22
            * attack_vector_weight(self.value(AV))
            * attack_complexity_weight(self.value(AC))
            * privileges_weight(self.value(PR), changed)
            * user_interaction_weight(self.value(UI));
        if impact <= 0.0 {
            0.0
        } else if changed {
            self.round_up(f64::min(1.08 * (impact + exploitability), 10.0))
        } else {
            self.round_up(f64::min(impact + exploitability, 10.0))
        }
    }

    /// The temporal score (v3.1 section 7.2, v3.0 section 8.2): the base score where no temporal
    /// metric is given.
    pub fn temporal_score(&self) -> f64 {
        self.round_up(self.base_score() * self.temporal_factor())
    }

    /// The environmental score (v3.1 section 7.3, v3.0 section 8.3). Modified metrics that are absent
    /// or `X` take the base metric's value, and absent requirements weigh 1, so a vector without
    /// environmental metrics scores its temporal score.
    pub fn environmental_score(&self) -> f64 {
        let changed = self.modified(MS, S) == "C";
        let miss = f64::min(
            1.0 - ((1.0
                - requirement_weight(self.value(CR)) * impact_weight(self.modified(MC, C)))
                * (1.0 - requirement_weight(self.value(IR)) * impact_weight(self.modified(MI, I)))
                * (1.0 - requirement_weight(self.value(AR)) * impact_weight(self.modified(MA, A)))),
            0.915,
        );
        let modified_impact = match (changed, self.version) {
            (false, _) => 6.42 * miss,
            (true, Version::V3_0) => 7.52 * (miss - 0.029) - 3.25 * (miss - 0.02).powf(15.0),
            (true, _) => 7.52 * (miss - 0.029) - 3.25 * (miss * 0.9731 - 0.02).powf(13.0),
        };
        let modified_exploitability = 8.22
            * attack_vector_weight(self.modified(MAV, AV))
            * attack_complexity_weight(self.modified(MAC, AC))
            * privileges_weight(self.modified(MPR, PR), changed)
            * user_interaction_weight(self.modified(MUI, UI));
        if modified_impact <= 0.0 {
            return 0.0;
        }
        let capped = if changed {
            f64::min(1.08 * (modified_impact + modified_exploitability), 10.0)
        } else {
            f64::min(modified_impact + modified_exploitability, 10.0)
        };
        self.round_up(self.round_up(capped) * self.temporal_factor())
    }

    /// All three scores; `score` and `severity` are those of the environmental score.
    pub fn scores(&self) -> Scores {
        let environmental = self.environmental_score();
        Scores {
            version: self.version,
            base: self.base_score(),
            temporal: Some(self.temporal_score()),
            environmental: Some(environmental),
            score: environmental,
            severity: Severity::from_score(environmental),
            nomenclature: None,
            safety: None,
        }
    }

    /// Exploit Code Maturity × Remediation Level × Report Confidence.
    fn temporal_factor(&self) -> f64 {
        exploit_maturity_weight(self.value(E))
            * remediation_level_weight(self.value(RL))
            * report_confidence_weight(self.value(RC))
    }

    fn value(&self, pos: usize) -> &'static str {
        super::value_of(&METRICS, &self.slots, pos)
    }

    /// The value of modified metric `modified`, or of base metric `base` where it is absent or `X`.
    fn modified(&self, modified: usize, base: usize) -> &'static str {
        match self.value(modified) {
            "X" => self.value(base),
            value => value,
        }
    }

    fn round_up(&self, value: f64) -> f64 {
        match self.version {
            Version::V3_0 => round_up_v30(value),
            _ => roundup_v31(value),
        }
    }
}

impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::write_vector(f, self.version, &METRICS, &self.slots)
    }
}

/// v3.1 Appendix A: the smallest number, to one decimal place, equal to or higher than the input,
/// after rounding the input to five decimal places to absorb floating-point error.
fn roundup_v31(value: f64) -> f64 {
    // Scores lie in 0..=10.8, far inside i64; the cast saturates on anything else.
    let int_input = (value * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        (int_input.div_euclid(10_000) + 1) as f64 / 10.0
    }
}

/// v3.0 section 8.4 "Round up": the smallest number, to one decimal place, equal to or higher than
/// the input. The specification means exact decimal arithmetic (its weights have at most two
/// decimals), so a value within 10⁻⁶ of a tenth is taken as that tenth: `5.0 × 0.92` is 4.6 here,
/// not the 4.7 a bare ceiling of the binary product (4.6000000000000005) would give.
fn round_up_v30(value: f64) -> f64 {
    let tenths = value * 10.0;
    let nearest = tenths.round();
    if (tenths - nearest).abs() < 1e-6 {
        nearest / 10.0
    } else {
        tenths.ceil() / 10.0
    }
}

// Weights of v3.1 section 7.4 (identical in v3.0 section 8.4). The parser admits only the values
// listed in `METRICS`, so the fallback arms are never taken.

fn attack_vector_weight(value: &str) -> f64 {
    match value {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        _ => 0.2, // P
    }
}

fn attack_complexity_weight(value: &str) -> f64 {
    match value {
        "L" => 0.77,
        _ => 0.44, // H
    }
}

/// Privileges Required weighs more when the scope (or the modified scope) is changed.
fn privileges_weight(value: &str, scope_changed: bool) -> f64 {
    match (value, scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        (_, false) => 0.27, // H
        (_, true) => 0.5,
    }
}

fn user_interaction_weight(value: &str) -> f64 {
    match value {
        "N" => 0.85,
        _ => 0.62, // R
    }
}

/// Confidentiality, Integrity and Availability (and their modified forms).
fn impact_weight(value: &str) -> f64 {
    match value {
        "H" => 0.56,
        "L" => 0.22,
        _ => 0.0, // N
    }
}

fn exploit_maturity_weight(value: &str) -> f64 {
    match value {
        "F" => 0.97,
        "P" => 0.94,
        "U" => 0.91,
        _ => 1.0, // X, H
    }
}

fn remediation_level_weight(value: &str) -> f64 {
    match value {
        "W" => 0.97,
        "T" => 0.96,
        "O" => 0.95,
        _ => 1.0, // X, U
    }
}

fn report_confidence_weight(value: &str) -> f64 {
    match value {
        "R" => 0.96,
        "U" => 0.92,
        _ => 1.0, // X, C
    }
}

/// Confidentiality, Integrity and Availability Requirements.
fn requirement_weight(value: &str) -> f64 {
    match value {
        "H" => 1.5,
        "L" => 0.5,
        _ => 1.0, // X, M
    }
}

const AV: usize = 0;
const AC: usize = 1;
const PR: usize = 2;
const UI: usize = 3;
const S: usize = 4;
const C: usize = 5;
const I: usize = 6;
const A: usize = 7;
const E: usize = 8;
const RL: usize = 9;
const RC: usize = 10;
const CR: usize = 11;
const IR: usize = 12;
const AR: usize = 13;
const MAV: usize = 14;
const MAC: usize = 15;
const MPR: usize = 16;
const MUI: usize = 17;
const MS: usize = 18;
const MC: usize = 19;
const MI: usize = 20;
const MA: usize = 21;

/// The v3 metrics in the order of the vector string table of v3.1 section 6 (the same in v3.0).
static METRICS: [Metric; 22] = [
    metric("AV", "attack vector", &["N", "A", "L", "P"], true),
    metric("AC", "attack complexity", &["L", "H"], true),
    metric("PR", "privileges required", &["N", "L", "H"], true),
    metric("UI", "user interaction", &["N", "R"], true),
    metric("S", "scope", &["U", "C"], true),
    metric("C", "confidentiality", &["H", "L", "N"], true),
    metric("I", "integrity", &["H", "L", "N"], true),
    metric("A", "availability", &["H", "L", "N"], true),
    metric(
        "E",
        "exploit code maturity",
        &["X", "H", "F", "P", "U"],
        false,
    ),
    metric("RL", "remediation level", &["X", "U", "W", "T", "O"], false),
    metric("RC", "report confidence", &["X", "C", "R", "U"], false),
    metric(
        "CR",
        "confidentiality requirement",
        &["X", "H", "M", "L"],
        false,
    ),
    metric("IR", "integrity requirement", &["X", "H", "M", "L"], false),
    metric(
        "AR",
        "availability requirement",
        &["X", "H", "M", "L"],
        false,
    ),
    metric(
        "MAV",
        "modified attack vector",
        &["X", "N", "A", "L", "P"],
        false,
    ),
    metric("MAC", "modified attack complexity", &["X", "L", "H"], false),
    metric(
        "MPR",
        "modified privileges required",
        &["X", "N", "L", "H"],
        false,
    ),
    metric("MUI", "modified user interaction", &["X", "N", "R"], false),
    metric("MS", "modified scope", &["X", "U", "C"], false),
    metric(
        "MC",
        "modified confidentiality",
        &["X", "H", "L", "N"],
        false,
    ),
    metric("MI", "modified integrity", &["X", "H", "L", "N"], false),
    metric("MA", "modified availability", &["X", "H", "L", "N"], false),
];

#[cfg(test)]
mod tests {
    use super::super::{CvssError, Severity, Version, parse, score};

    fn scores(vector: &str) -> (f64, f64, f64) {
        match score(vector) {
            Ok(s) => (
                s.base,
                s.temporal.unwrap_or(f64::NAN),
                s.environmental.unwrap_or(f64::NAN),
            ),
            Err(err) => panic!("{vector}: {err}"),
        }
    }

    #[test]
    fn roundup_follows_appendix_a() {
        assert_eq!(super::roundup_v31(4.02), 4.1);
        assert_eq!(super::roundup_v31(4.00), 4.0);
        // The binary product is 4.6000000000000005: both versions round the noise away.
        assert_eq!(super::roundup_v31(5.0 * 0.92), 4.6);
        assert_eq!(super::round_up_v30(4.02), 4.1);
        assert_eq!(super::round_up_v30(4.0), 4.0);
        assert_eq!(super::round_up_v30(5.0 * 0.92), 4.6);
        assert_eq!(super::round_up_v30(4.000_01), 4.1);
        // Within 5 × 10⁻⁶ above a tenth, v3.1 rounds down to it and v3.0 still rounds up.
        assert_eq!(super::roundup_v31(4.000_001), 4.0);
        assert_eq!(super::round_up_v30(4.000_001), 4.1);
    }

    #[test]
    fn specification_examples() {
        // CVE-2014-6271 (Shellshock), CVE-2014-0160 (Heartbleed), CVE-2013-1937 from the v3.1
        // examples document.
        assert_eq!(
            scores("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            (9.8, 9.8, 9.8)
        );
        assert_eq!(
            scores("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            (7.5, 7.5, 7.5)
        );
        assert_eq!(
            scores("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"),
            (6.1, 6.1, 6.1)
        );
        assert_eq!(
            scores("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn temporal_and_environmental_metrics_lower_and_raise() {
        let s = score(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U/CR:L/IR:L/AR:L/MAV:P",
        );
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.base, 9.8);
        // Roundup(9.8 × 0.91 × 0.95 × 0.92) = Roundup(7.794...) = 7.8
        assert_eq!(s.temporal, Some(7.8));
        assert!(s.environmental.is_some_and(|e| e < 7.8));
        assert_eq!(Some(s.score), s.environmental);
        assert_eq!(s.severity, Severity::from_score(s.score));
        assert_eq!(s.nomenclature, None);
    }

    #[test]
    fn v30_and_v31_differ_in_modified_impact_for_changed_modified_scope() {
        // Without environmental metrics, v3.1's Modified Impact term (MISS × 0.9731 − 0.02)^13 is
        // not the base Impact's (ISS − 0.02)^15: the environmental score exceeds the base score
        // (as in Red Hat's vectors_simple31).
        let tail = "AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H";
        assert_eq!(scores(&format!("CVSS:3.0/{tail}")), (9.6, 9.6, 9.6));
        assert_eq!(scores(&format!("CVSS:3.1/{tail}")), (9.6, 9.6, 9.7));
        // MISS = min(1 − (1 − 1.5 × 0.56)^3, 0.915) = 0.915, and a low modified exploitability keeps
        // both below the cap of 10.
        let tail = "AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L/CR:H/IR:H/AR:H/MS:C/MC:H/MI:H/MA:H/MAV:P/MAC:H/MPR:H/MUI:R";
        let v30 = scores(&format!("CVSS:3.0/{tail}"));
        let v31 = scores(&format!("CVSS:3.1/{tail}"));
        assert_eq!(v30.0, v31.0);
        assert!(v30.2 < v31.2, "{v30:?} {v31:?}");
    }

    #[test]
    fn metrics_may_come_in_any_order_and_normalise() {
        let vector = parse("CVSS:3.0/S:U/AV:N/AC:L/PR:H/UI:N/C:L/I:L/A:N/E:F/RL:X");
        assert_eq!(
            vector.map(|v| v.to_string()),
            Ok("CVSS:3.0/AV:N/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:N/E:F/RL:X".to_owned())
        );
    }

    #[test]
    fn get_reads_values_as_given() {
        let Ok(super::super::Vector::V3(v)) =
            parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X")
        else {
            panic!("not v3")
        };
        assert_eq!(v.version(), Version::V3_1);
        assert_eq!(v.get("AV"), Some("N"));
        assert_eq!(v.get("E"), Some("X"));
        assert_eq!(v.get("RL"), None);
        assert_eq!(v.get("XX"), None);
    }

    #[test]
    fn errors_name_the_metric() {
        let base = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let err = |v: &str| parse(v).err();
        assert!(matches!(
            err(&format!("{base}/XX:N")),
            Some(CvssError::UnknownMetric { ref metric, version: Version::V3_1 }) if metric == "XX"
        ));
        assert!(matches!(
            err("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(CvssError::BadValue { metric: "AV", ref value, .. }) if value == "Q"
        ));
        // `X` is not a value of a base metric.
        assert!(matches!(
            err("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(CvssError::BadValue { metric: "AV", .. })
        ));
        assert!(matches!(
            err(&format!("{base}/AV:N")),
            Some(CvssError::Duplicate { metric: "AV", .. })
        ));
        assert!(matches!(
            err("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H"),
            Some(CvssError::Missing { metric: "S", .. })
        ));
        assert!(matches!(
            err(&format!("{base}/")),
            Some(CvssError::Malformed { ref component, .. }) if component.is_empty()
        ));
        assert!(matches!(
            err("CVSS:3.1/AV"),
            Some(CvssError::Malformed { ref component, .. }) if component == "AV"
        ));
        // A v4 metric in a v3 vector.
        assert!(matches!(
            err(&format!("{base}/AT:N")),
            Some(CvssError::UnknownMetric { ref metric, .. }) if metric == "AT"
        ));
        let message = err(&format!("{base}/E:Z")).map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some(
                "bad value \"Z\" for metric E (exploit code maturity): expected one of X, H, F, P, U"
            )
        );
        let message = err("CVSS:3.0/AV:N").map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some("missing mandatory base metric AC (attack complexity) in a CVSS 3.0 vector")
        );
    }
}
