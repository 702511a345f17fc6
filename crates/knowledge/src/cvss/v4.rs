//! CVSS v4.0 vectors and their scores, by the algorithm of the v4.0 specification, section 8.
//!
//! v4.0 has no equations: the 270 macrovectors (the classes of the equivalence sets EQ1..EQ6) each have a
//! score, set by experts, for their highest-severity vectors. A vector's score is its macrovector's
//! score lowered by the mean, over the EQs that have a lower macrovector, of (score distance to that
//! lower macrovector) × (the vector's severity distance from the highest-severity vector of its
//! macrovector) / (the macrovector's depth), rounded to one decimal.
//!
//! The data (macrovector scores, highest-severity vectors, depths, metric levels) and the order of
//! every floating-point operation follow FIRST's reference calculator (`cvss_lookup.js`,
//! `max_composed.js`, `max_severity.js`, `cvss_score.js`), so that scores agree to the last digit.

use std::fmt;

use super::{CvssError, Metric, Safety, Scores, Severity, Version, metric};

/// A CVSS v4.0 vector, supplemental metrics included.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vector {
    slots: [Option<u8>; 32],
}

impl Vector {
    /// Reads the metrics after the `CVSS:4.0/` prefix.
    pub(super) fn parse(body: &str) -> Result<Vector, CvssError> {
        let slots = super::parse_metrics(Version::V4_0, body, &METRICS)?;
        Ok(Vector { slots })
    }

    /// The value the vector gives a metric (`get("AV") == Some("N")`, `Some("X")` where the vector
    /// says Not Defined, `get("U") == Some("Amber")`), or `None` where it does not give it or there
    /// is no such v4 metric.
    pub fn get(&self, metric: &str) -> Option<&'static str> {
        let pos = METRICS.iter().position(|m| m.abbr == metric)?;
        self.slots.get(pos)?.as_ref()?;
        Some(self.value(pos))
    }

    /// The supplemental Safety metric (section 5), where given and not `X`.
    pub fn safety(&self) -> Option<Safety> {
        match self.value(S) {
            "N" => Some(Safety::Negligible),
            "P" => Some(Safety::Present),
            _ => None,
        }
    }

    /// Whether the vector gives a threat metric (`E` other than `X`).
    pub fn has_threat(&self) -> bool {
        self.value(E) != "X"
    }

    /// Whether the vector gives an environmental metric (a requirement or a modified base metric,
    /// other than `X`).
    pub fn has_environmental(&self) -> bool {
        (CR..=MSA).any(|pos| self.value(pos) != "X")
    }

    /// `"CVSS-B"`, `"CVSS-BT"`, `"CVSS-BE"` or `"CVSS-BTE"`: which metric groups the score reflects
    /// (section 1.3).
    pub fn nomenclature(&self) -> &'static str {
        match (self.has_threat(), self.has_environmental()) {
            (false, false) => "CVSS-B",
            (true, false) => "CVSS-BT",
            (false, true) => "CVSS-BE",
            (true, true) => "CVSS-BTE",
        }
    }

    /// The same vector without its threat and environmental metrics (supplemental metrics kept):
    /// the vector whose score is the CVSS-B score.
    pub fn base_only(&self) -> Vector {
        let mut slots = self.slots;
        for slot in &mut slots[E..=MSA] {
            *slot = None;
        }
        Vector { slots }
    }

    /// The score of the vector as given (section 8): CVSS-B, -BT, -BE or -BTE as
    /// [`nomenclature`](Self::nomenclature) says.
    pub fn score(&self) -> f64 {
        let effective = self.effective();
        round_to_tenth(interpolated_score(&effective))
    }

    /// The score, the CVSS-B score as `base`, the nomenclature and the Safety metric.
    pub fn scores(&self) -> Scores {
        let score = self.score();
        Scores {
            version: Version::V4_0,
            base: self.base_only().score(),
            temporal: None,
            environmental: None,
            score,
            severity: Severity::from_score(score),
            nomenclature: Some(self.nomenclature()),
            safety: self.safety(),
        }
    }

    fn value(&self, pos: usize) -> &'static str {
        super::value_of(&METRICS, &self.slots, pos)
    }

    /// The values scoring uses (the calculator's `m()`): a modified base metric other than `X`
    /// replaces the base metric; an absent or `X` Exploit Maturity counts as Attacked (`A`) and an
    /// absent or `X` requirement as High (`H`), the worst cases (sections 3 and 4).
    fn effective(&self) -> Effective {
        let base = |pos: usize| match self.value(pos + MAV) {
            "X" => self.value(pos),
            modified => modified,
        };
        let worst_if_undefined = |pos: usize, worst: &'static str| match self.value(pos) {
            "X" => worst,
            value => value,
        };
        Effective {
            av: base(AV),
            ac: base(AC),
            at: base(AT),
            pr: base(PR),
            ui: base(UI),
            vc: base(VC),
            vi: base(VI),
            va: base(VA),
            sc: base(SC),
            si: base(SI),
            sa: base(SA),
            msi: self.value(MSI),
            msa: self.value(MSA),
            e: worst_if_undefined(E, "A"),
            cr: worst_if_undefined(CR, "H"),
            ir: worst_if_undefined(IR, "H"),
            ar: worst_if_undefined(AR, "H"),
        }
    }
}

impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::write_vector(f, Version::V4_0, &METRICS, &self.slots)
    }
}

/// The metric values that scoring reads, after modified metrics and defaults are applied.
#[derive(Debug, Clone, Copy)]
struct Effective {
    av: &'static str,
    ac: &'static str,
    at: &'static str,
    pr: &'static str,
    ui: &'static str,
    vc: &'static str,
    vi: &'static str,
    va: &'static str,
    sc: &'static str,
    si: &'static str,
    sa: &'static str,
    /// As given (`X` where absent): only `S` (Safety) matters, for EQ4.
    msi: &'static str,
    msa: &'static str,
    e: &'static str,
    cr: &'static str,
    ir: &'static str,
    ar: &'static str,
}

/// The macrovector of a vector: its class in each of the equivalence sets EQ1..EQ6
/// (section 8).
fn macrovector(v: &Effective) -> [u8; 6] {
    // EQ1: 0 AV:N and PR:N and UI:N; 1 (AV:N or PR:N or UI:N) and not all three, and not AV:P;
    // 2 AV:P or none of them N.
    let eq1 = if v.av == "N" && v.pr == "N" && v.ui == "N" {
        0
    } else if (v.av == "N" || v.pr == "N" || v.ui == "N") && v.av != "P" {
        1
    } else {
        2
    };
    // EQ2: 0 AC:L and AT:N; 1 otherwise.
    let eq2 = if v.ac == "L" && v.at == "N" { 0 } else { 1 };
    // EQ3: 0 VC:H and VI:H; 1 not both but one of VC, VI, VA is H; 2 none is H.
    let eq3 = if v.vc == "H" && v.vi == "H" {
        0
    } else if v.vc == "H" || v.vi == "H" || v.va == "H" {
        1
    } else {
        2
    };
    // EQ4: 0 MSI:S or MSA:S; 1 otherwise, with one of SC, SI, SA High; 2 otherwise.
    let eq4 = if v.msi == "S" || v.msa == "S" {
        0
    } else if v.sc == "H" || v.si == "H" || v.sa == "H" {
        1
    } else {
        2
    };
    // EQ5: 0 E:A, 1 E:P, 2 E:U.
    let eq5 = match v.e {
        "A" => 0,
        "P" => 1,
        _ => 2,
    };
    // EQ6: 0 (CR:H and VC:H) or (IR:H and VI:H) or (AR:H and VA:H); 1 otherwise.
    let eq6 = if (v.cr == "H" && v.vc == "H")
        || (v.ir == "H" && v.vi == "H")
        || (v.ar == "H" && v.va == "H")
    {
        0
    } else {
        1
    };
    [eq1, eq2, eq3, eq4, eq5, eq6]
}

/// The unrounded score of section 8, step by step as the reference calculator computes it.
fn interpolated_score(v: &Effective) -> f64 {
    // No impact on the vulnerable or the subsequent systems scores 0.
    if [v.vc, v.vi, v.va, v.sc, v.si, v.sa]
        .iter()
        .all(|value| *value == "N")
    {
        return 0.0;
    }
    let mv = macrovector(v);
    let [eq1, eq2, eq3, eq4, _, eq6] = mv;
    let Some(value) = macrovector_score(mv) else {
        // Every vector falls in one of the 270 macrovectors; this is not reached.
        return 0.0;
    };

    // a. The score of the next lower macrovector in each EQ, where there is one. EQ3 and EQ6 move
    // together: 00 may go to 01 or 10 (the higher of the two counts), 01 and 11 go to the next EQ3
    // class, 10 goes to 11, and 21 has nothing lower.
    let lower = |eq: usize| {
        let mut next = mv;
        next[eq] += 1;
        macrovector_score(next)
    };
    let lower_eq1 = lower(0);
    let lower_eq2 = lower(1);
    let lower_eq3_eq6 = match (eq3, eq6) {
        (0, 0) => match (lower(5), lower(2)) {
            (Some(left), Some(right)) if left > right => Some(left),
            (_, right) => right,
        },
        (1, 0) => lower(5),
        (0 | 1, _) => lower(2),
        _ => {
            let mut next = mv;
            next[2] += 1;
            next[5] += 1;
            macrovector_score(next)
        }
    };
    let lower_eq4 = lower(3);
    let lower_eq5 = lower(4);

    // b. The severity distance from the first highest-severity vector of the macrovector that is at
    // least as severe as this one in every metric.
    let selected = levels(&[
        v.av, v.pr, v.ui, v.ac, v.at, v.vc, v.vi, v.va, v.sc, v.si, v.sa, v.cr, v.ir, v.ar,
    ]);
    let mut distance = [0.0_f64; 14];
    'search: for eq1_max in EQ1_MAXES[usize::from(eq1)] {
        for eq2_max in EQ2_MAXES[usize::from(eq2)] {
            for eq3_eq6_max in EQ3_EQ6_MAXES[usize::from(eq3)][usize::from(eq6)] {
                for eq4_max in EQ4_MAXES[usize::from(eq4)] {
                    let [av, pr, ui] = *eq1_max;
                    let [ac, at] = *eq2_max;
                    let [vc, vi, va, cr, ir, ar] = *eq3_eq6_max;
                    let [sc, si, sa] = *eq4_max;
                    let max = levels(&[av, pr, ui, ac, at, vc, vi, va, sc, si, sa, cr, ir, ar]);
                    for (d, (s, m)) in distance.iter_mut().zip(selected.iter().zip(&max)) {
                        *d = s - m;
                    }
                    if distance.iter().all(|d| *d >= 0.0) {
                        break 'search;
                    }
                }
            }
        }
    }
    let [av, pr, ui, ac, at, vc, vi, va, sc, si, sa, cr, ir, ar] = distance;
    let distance_eq1 = av + pr + ui;
    let distance_eq2 = ac + at;
    let distance_eq3_eq6 = vc + vi + va + cr + ir + ar;
    let distance_eq4 = sc + si + sa;

    // c, d. Each EQ's share: the score distance to the lower macrovector × the proportion of the
    // macrovector's depth that the severity distance covers. EQ5 always contributes 0.
    const STEP: f64 = 0.1;
    let depth_eq1 = f64::from(MAX_SEVERITY_EQ1[usize::from(eq1)]) * STEP;
    let depth_eq2 = f64::from(MAX_SEVERITY_EQ2[usize::from(eq2)]) * STEP;
    let depth_eq3_eq6 = f64::from(MAX_SEVERITY_EQ3_EQ6[usize::from(eq3)][usize::from(eq6)]) * STEP;
    let depth_eq4 = f64::from(MAX_SEVERITY_EQ4[usize::from(eq4)]) * STEP;
    let mut n_existing_lower = 0_u32;
    let mut share = |lower: Option<f64>, distance: f64, depth: f64| match lower {
        Some(lower) => {
            n_existing_lower += 1;
            (value - lower) * (distance / depth)
        }
        None => 0.0,
    };
    let share_eq1 = share(lower_eq1, distance_eq1, depth_eq1);
    let share_eq2 = share(lower_eq2, distance_eq2, depth_eq2);
    let share_eq3_eq6 = share(lower_eq3_eq6, distance_eq3_eq6, depth_eq3_eq6);
    let share_eq4 = share(lower_eq4, distance_eq4, depth_eq4);
    let share_eq5 = share(lower_eq5, 0.0, 1.0);

    // 2, 3. The macrovector's score less the mean share, within 0..=10.
    let mean = if n_existing_lower == 0 {
        0.0
    } else {
        (share_eq1 + share_eq2 + share_eq3_eq6 + share_eq4 + share_eq5)
            / f64::from(n_existing_lower)
    };
    (value - mean).clamp(0.0, 10.0)
}

/// Rounds half up to one decimal (section 8, last step), after lifting the value by 10⁻⁶: the
/// interpolation can land one unit in the last place below a tie (5.6499999999999995 for 5.65).
/// Red Hat's `cvss` library, which produced the reference test vectors, rounds the same way; a bare
/// half-up rounding gets 6 of the 1058 vectors of its `vectors_simple4` wrong.
fn round_to_tenth(value: f64) -> f64 {
    ((value + 1e-6) * 10.0).round() / 10.0
}

/// The severity levels of the calculator's `cvss_score.js`, for the metrics in the order AV, PR, UI,
/// AC, AT, VC, VI, VA, SC, SI, SA, CR, IR, AR. A lower level is more severe; one step is 0.1.
fn levels(values: &[&str; 14]) -> [f64; 14] {
    let mut out = [0.0; 14];
    for (pos, (level, value)) in out.iter_mut().zip(values).enumerate() {
        *level = match (pos, *value) {
            // AV
            (0, "N") => 0.0,
            (0, "A") => 0.1,
            (0, "L") => 0.2,
            (0, _) => 0.3, // P
            // PR, UI
            (1 | 2, "N") => 0.0,
            (1, "L") | (2, "P") => 0.1,
            (1 | 2, _) => 0.2, // PR:H, UI:A
            // AC, AT
            (3, "L") | (4, "N") => 0.0,
            (3 | 4, _) => 0.1, // AC:H, AT:P
            // VC, VI, VA
            (5..=7, "H") => 0.0,
            (5..=7, "L") => 0.1,
            (5..=7, _) => 0.2, // N
            // SC, SI, SA (only SI and SA take S, through MSI and MSA)
            (8..=10, "S") => 0.0,
            (8..=10, "H") => 0.1,
            (8..=10, "L") => 0.2,
            (8..=10, _) => 0.3, // N
            // CR, IR, AR
            (_, "H") => 0.0,
            (_, "M") => 0.1,
            (_, _) => 0.2, // L
        };
    }
    out
}

/// The score of a macrovector (`cvss_lookup.js`), or `None` for a class combination that does not
/// exist (an EQ one past its lowest class, or EQ3 2 with EQ6 0).
fn macrovector_score(mv: [u8; 6]) -> Option<f64> {
    let key = mv.map(|eq| b'0'.wrapping_add(eq));
    MACROVECTOR_SCORES
        .binary_search_by(|(k, _)| k.as_bytes().cmp(&key[..]))
        .ok()
        .and_then(|idx| MACROVECTOR_SCORES.get(idx))
        .map(|(_, score)| *score)
}

/// The highest-severity vectors of each EQ1 class (`max_composed.js`), as (AV, PR, UI).
const EQ1_MAXES: [&[[&str; 3]]; 3] = [
    &[["N", "N", "N"]],
    &[["A", "N", "N"], ["N", "L", "N"], ["N", "N", "P"]],
    &[["P", "N", "N"], ["A", "L", "P"]],
];

/// The highest-severity vectors of each EQ2 class, as (AC, AT).
const EQ2_MAXES: [&[[&str; 2]]; 2] = [&[["L", "N"]], &[["H", "N"], ["L", "P"]]];

/// The highest-severity vectors of each EQ3 and EQ6 class pair, as (VC, VI, VA, CR, IR, AR).
const EQ3_EQ6_MAXES: [[&[[&str; 6]]; 2]; 3] = [
    [
        &[["H", "H", "H", "H", "H", "H"]],
        &[
            ["H", "H", "L", "M", "M", "H"],
            ["H", "H", "H", "M", "M", "M"],
        ],
    ],
    [
        &[
            ["L", "H", "H", "H", "H", "H"],
            ["H", "L", "H", "H", "H", "H"],
        ],
        &[
            ["L", "H", "L", "H", "M", "H"],
            ["L", "H", "H", "H", "M", "M"],
            ["H", "L", "H", "M", "H", "M"],
            ["H", "L", "L", "M", "H", "H"],
            ["L", "L", "H", "H", "H", "M"],
        ],
    ],
    // EQ3 2 (no High impact) cannot meet EQ6 0.
    [&[], &[["L", "L", "L", "H", "H", "H"]]],
];

/// The highest-severity vectors of each EQ4 class, as (SC, SI, SA). EQ5 needs none: it adds no
/// severity distance.
const EQ4_MAXES: [&[[&str; 3]]; 3] = [&[["H", "S", "S"]], &[["H", "H", "H"]], &[["L", "L", "L"]]];

/// The depth of each class, in steps of 0.1 (`max_severity.js`: the maximal severity distance + 1).
const MAX_SEVERITY_EQ1: [u8; 3] = [1, 4, 5];
const MAX_SEVERITY_EQ2: [u8; 2] = [1, 2];
const MAX_SEVERITY_EQ3_EQ6: [[u8; 2]; 3] = [[7, 6], [8, 8], [0, 10]];
const MAX_SEVERITY_EQ4: [u8; 3] = [6, 5, 4];

/// The scores of the 270 macrovectors, keyed by their EQ1..EQ6 classes, in key order
/// (`cvss_lookup.js`).
#[rustfmt::skip]
static MACROVECTOR_SCORES: [(&str, f64); 270] = [
    ("000000", 10.0), ("000001", 9.9), ("000010", 9.8), ("000011", 9.5), ("000020", 9.5), ("000021", 9.2),
    ("000100", 10.0), ("000101", 9.6), ("000110", 9.3), ("000111", 8.7), ("000120", 9.1), ("000121", 8.1),
    ("000200", 9.3), ("000201", 9.0), ("000210", 8.9), ("000211", 8.0), ("000220", 8.1), ("000221", 6.8),
    ("001000", 9.8), ("001001", 9.5), ("001010", 9.5), ("001011", 9.2), ("001020", 9.0), ("001021", 8.4),
    ("001100", 9.3), ("001101", 9.2), ("001110", 8.9), ("001111", 8.1), ("001120", 8.1), ("001121", 6.5),
    ("001200", 8.8), ("001201", 8.0), ("001210", 7.8), ("001211", 7.0), ("001220", 6.9), ("001221", 4.8),
    ("002001", 9.2), ("002011", 8.2), ("002021", 7.2), ("002101", 7.9), ("002111", 6.9), ("002121", 5.0),
    ("002201", 6.9), ("002211", 5.5), ("002221", 2.7), ("010000", 9.9), ("010001", 9.7), ("010010", 9.5),
    ("010011", 9.2), ("010020", 9.2), ("010021", 8.5), ("010100", 9.5), ("010101", 9.1), ("010110", 9.0),
    ("010111", 8.3), ("010120", 8.4), ("010121", 7.1), ("010200", 9.2), ("010201", 8.1), ("010210", 8.2),
    ("010211", 7.1), ("010220", 7.2), ("010221", 5.3), ("011000", 9.5), ("011001", 9.3), ("011010", 9.2),
    ("011011", 8.5), ("011020", 8.5), ("011021", 7.3), ("011100", 9.2), ("011101", 8.2), ("011110", 8.0),
    ("011111", 7.2), ("011120", 7.0), ("011121", 5.9), ("011200", 8.4), ("011201", 7.0), ("011210", 7.1),
    ("011211", 5.2), ("011220", 5.0), ("011221", 3.0), ("012001", 8.6), ("012011", 7.5), ("012021", 5.2),
    ("012101", 7.1), ("012111", 5.2), ("012121", 2.9), ("012201", 6.3), ("012211", 2.9), ("012221", 1.7),
    ("100000", 9.8), ("100001", 9.5), ("100010", 9.4), ("100011", 8.7), ("100020", 9.1), ("100021", 8.1),
    ("100100", 9.4), ("100101", 8.9), ("100110", 8.6), ("100111", 7.4), ("100120", 7.7), ("100121", 6.4),
    ("100200", 8.7), ("100201", 7.5), ("100210", 7.4), ("100211", 6.3), ("100220", 6.3), ("100221", 4.9),
    ("101000", 9.4), ("101001", 8.9), ("101010", 8.8), ("101011", 7.7), ("101020", 7.6), ("101021", 6.7),
    ("101100", 8.6), ("101101", 7.6), ("101110", 7.4), ("101111", 5.8), ("101120", 5.9), ("101121", 5.0),
    ("101200", 7.2), ("101201", 5.7), ("101210", 5.7), ("101211", 5.2), ("101220", 5.2), ("101221", 2.5),
    ("102001", 8.3), ("102011", 7.0), ("102021", 5.4), ("102101", 6.5), ("102111", 5.8), ("102121", 2.6),
    ("102201", 5.3), ("102211", 2.1), ("102221", 1.3), ("110000", 9.5), ("110001", 9.0), ("110010", 8.8),
    ("110011", 7.6), ("110020", 7.6), ("110021", 7.0), ("110100", 9.0), ("110101", 7.7), ("110110", 7.5),
    ("110111", 6.2), ("110120", 6.1), ("110121", 5.3), ("110200", 7.7), ("110201", 6.6), ("110210", 6.8),
    ("110211", 5.9), ("110220", 5.2), ("110221", 3.0), ("111000", 8.9), ("111001", 7.8), ("111010", 7.6),
    ("111011", 6.7), ("111020", 6.2), ("111021", 5.8), ("111100", 7.4), ("111101", 5.9), ("111110", 5.7),
    ("111111", 5.7), ("111120", 4.7), ("111121", 2.3), ("111200", 6.1), ("111201", 5.2), ("111210", 5.7),
    ("111211", 2.9), ("111220", 2.4), ("111221", 1.6), ("112001", 7.1), ("112011", 5.9), ("112021", 3.0),
    ("112101", 5.8), ("112111", 2.6), ("112121", 1.5), ("112201", 2.3), ("112211", 1.3), ("112221", 0.6),
    ("200000", 9.3), ("200001", 8.7), ("200010", 8.6), ("200011", 7.2), ("200020", 7.5), ("200021", 5.8),
    ("200100", 8.6), ("200101", 7.4), ("200110", 7.4), ("200111", 6.1), ("200120", 5.6), ("200121", 3.4),
    ("200200", 7.0), ("200201", 5.4), ("200210", 5.2), ("200211", 4.0), ("200220", 4.0), ("200221", 2.2),
    ("201000", 8.5), ("201001", 7.5), ("201010", 7.4), ("201011", 5.5), ("201020", 6.2), ("201021", 5.1),
    ("201100", 7.2), ("201101", 5.7), ("201110", 5.5), ("201111", 4.1), ("201120", 4.6), ("201121", 1.9),
    ("201200", 5.3), ("201201", 3.6), ("201210", 3.4), ("201211", 1.9), ("201220", 1.9), ("201221", 0.8),
    ("202001", 6.4), ("202011", 5.1), ("202021", 2.0), ("202101", 4.7), ("202111", 2.1), ("202121", 1.1),
    ("202201", 2.4), ("202211", 0.9), ("202221", 0.4), ("210000", 8.8), ("210001", 7.5), ("210010", 7.3),
    ("210011", 5.3), ("210020", 6.0), ("210021", 5.0), ("210100", 7.3), ("210101", 5.5), ("210110", 5.9),
    ("210111", 4.0), ("210120", 4.1), ("210121", 2.0), ("210200", 5.4), ("210201", 4.3), ("210210", 4.5),
    ("210211", 2.2), ("210220", 2.0), ("210221", 1.1), ("211000", 7.5), ("211001", 5.5), ("211010", 5.8),
    ("211011", 4.5), ("211020", 4.0), ("211021", 2.1), ("211100", 6.1), ("211101", 5.1), ("211110", 4.8),
    ("211111", 1.8), ("211120", 2.0), ("211121", 0.9), ("211200", 4.6), ("211201", 1.8), ("211210", 1.7),
    ("211211", 0.7), ("211220", 0.8), ("211221", 0.2), ("212001", 5.3), ("212011", 2.4), ("212021", 1.4),
    ("212101", 2.4), ("212111", 1.2), ("212121", 0.5), ("212201", 1.0), ("212211", 0.3), ("212221", 0.1),
];

const AV: usize = 0;
const AC: usize = 1;
const AT: usize = 2;
const PR: usize = 3;
const UI: usize = 4;
const VC: usize = 5;
const VI: usize = 6;
const VA: usize = 7;
const SC: usize = 8;
const SI: usize = 9;
const SA: usize = 10;
const E: usize = 11;
const CR: usize = 12;
const IR: usize = 13;
const AR: usize = 14;
/// The modified base metrics follow the requirements in the order of the base metrics: the modified
/// form of base metric `pos` is at `pos + MAV`.
const MAV: usize = 15;
const MSI: usize = 24;
const MSA: usize = 25;
const S: usize = 26;

/// The v4.0 metrics in the order of the vector string table of section 7: base, threat, environmental (requirements,
/// then modified base metrics), supplemental.
static METRICS: [Metric; 32] = [
    metric("AV", "attack vector", &["N", "A", "L", "P"], true),
    metric("AC", "attack complexity", &["L", "H"], true),
    metric("AT", "attack requirements", &["N", "P"], true),
    metric("PR", "privileges required", &["N", "L", "H"], true),
    metric("UI", "user interaction", &["N", "P", "A"], true),
    metric(
        "VC",
        "vulnerable system confidentiality",
        &["H", "L", "N"],
        true,
    ),
    metric("VI", "vulnerable system integrity", &["H", "L", "N"], true),
    metric(
        "VA",
        "vulnerable system availability",
        &["H", "L", "N"],
        true,
    ),
    metric(
        "SC",
        "subsequent system confidentiality",
        &["H", "L", "N"],
        true,
    ),
    metric("SI", "subsequent system integrity", &["H", "L", "N"], true),
    metric(
        "SA",
        "subsequent system availability",
        &["H", "L", "N"],
        true,
    ),
    metric("E", "exploit maturity", &["X", "A", "P", "U"], false),
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
        "MAT",
        "modified attack requirements",
        &["X", "N", "P"],
        false,
    ),
    metric(
        "MPR",
        "modified privileges required",
        &["X", "N", "L", "H"],
        false,
    ),
    metric(
        "MUI",
        "modified user interaction",
        &["X", "N", "P", "A"],
        false,
    ),
    metric(
        "MVC",
        "modified vulnerable system confidentiality",
        &["X", "H", "L", "N"],
        false,
    ),
    metric(
        "MVI",
        "modified vulnerable system integrity",
        &["X", "H", "L", "N"],
        false,
    ),
    metric(
        "MVA",
        "modified vulnerable system availability",
        &["X", "H", "L", "N"],
        false,
    ),
    metric(
        "MSC",
        "modified subsequent system confidentiality",
        &["X", "H", "L", "N"],
        false,
    ),
    metric(
        "MSI",
        "modified subsequent system integrity",
        &["X", "S", "H", "L", "N"],
        false,
    ),
    metric(
        "MSA",
        "modified subsequent system availability",
        &["X", "S", "H", "L", "N"],
        false,
    ),
    metric("S", "safety", &["X", "N", "P"], false),
    metric("AU", "automatable", &["X", "N", "Y"], false),
    metric("R", "recovery", &["X", "A", "U", "I"], false),
    metric("V", "value density", &["X", "D", "C"], false),
    metric(
        "RE",
        "vulnerability response effort",
        &["X", "L", "M", "H"],
        false,
    ),
    metric(
        "U",
        "provider urgency",
        &["X", "Clear", "Green", "Amber", "Red"],
        false,
    ),
];

#[cfg(test)]
mod tests {
    use super::super::{CvssError, Safety, Severity, Version, parse, score};
    use super::{MACROVECTOR_SCORES, METRICS, macrovector_score};

    fn v4(vector: &str) -> super::Vector {
        match parse(vector) {
            Ok(super::super::Vector::V4(v)) => v,
            other => panic!("{vector}: {other:?}"),
        }
    }

    const BASE: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";

    #[test]
    fn macrovector_table_is_complete_and_sorted() {
        assert_eq!(MACROVECTOR_SCORES.len(), 270);
        assert!(MACROVECTOR_SCORES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(macrovector_score([0; 6]), Some(10.0));
        assert_eq!(macrovector_score([2, 1, 2, 2, 2, 1]), Some(0.1));
        assert_eq!(macrovector_score([0, 0, 2, 0, 0, 0]), None);
        assert_eq!(macrovector_score([3, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn modified_metrics_follow_base_metrics() {
        for pos in super::AV..=super::SA {
            let modified = &METRICS[pos + super::MAV];
            assert_eq!(modified.abbr, format!("M{}", METRICS[pos].abbr));
        }
        assert_eq!(METRICS[super::MSI].abbr, "MSI");
        assert_eq!(METRICS[super::MSA].abbr, "MSA");
        assert_eq!(METRICS[super::S].abbr, "S");
        assert_eq!(METRICS[super::E].abbr, "E");
        assert_eq!(METRICS[super::CR].abbr, "CR");
    }

    #[test]
    fn specification_examples() {
        let s = score(BASE);
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.version, Version::V4_0);
        assert_eq!((s.base, s.score), (9.3, 9.3));
        assert_eq!((s.temporal, s.environmental), (None, None));
        assert_eq!(s.nomenclature, Some("CVSS-B"));
        assert_eq!(s.severity, Severity::Critical);
        // The highest-severity vector of macrovector 000000 scores its macrovector's 10.
        let top = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/MSI:S/MSA:S";
        assert_eq!(score(top).map(|s| s.score), Ok(10.0));
        // No impact at all scores 0.
        let none = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N";
        assert_eq!(
            score(none).map(|s| (s.score, s.severity)),
            Ok((0.0, Severity::None))
        );
    }

    #[test]
    fn threat_metrics_lower_the_score_and_name_it() {
        let s = score(&format!("{BASE}/E:U"));
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.base, 9.3);
        assert!(s.score < 9.3, "{s:?}");
        assert_eq!(s.nomenclature, Some("CVSS-BT"));
        // E:X is Not Defined: still CVSS-B, and scored as E:A.
        let s = score(&format!("{BASE}/E:X"));
        assert_eq!(
            s.map(|s| (s.score, s.nomenclature)),
            Ok((9.3, Some("CVSS-B")))
        );
        let s = score(&format!("{BASE}/CR:L/IR:L/AR:L"));
        assert_eq!(
            s.map(|s| (s.base, s.nomenclature)),
            Ok((9.3, Some("CVSS-BE")))
        );
        let s = score(&format!("{BASE}/E:P/MAV:P"));
        assert_eq!(s.map(|s| s.nomenclature), Ok(Some("CVSS-BTE")));
    }

    #[test]
    fn supplemental_metrics_are_kept_and_do_not_score() {
        let with = format!("{BASE}/S:P/AU:Y/R:I/V:C/RE:H/U:Red");
        let v = v4(&with);
        assert_eq!(v.safety(), Some(Safety::Present));
        assert_eq!(v.get("U"), Some("Red"));
        assert_eq!(v.get("AU"), Some("Y"));
        assert_eq!(v.to_string(), with);
        let s = v.scores();
        assert_eq!(
            (s.score, s.safety, s.nomenclature),
            (9.3, Some(Safety::Present), Some("CVSS-B"))
        );
        assert_eq!(v4(&format!("{BASE}/S:X")).safety(), None);
        assert_eq!(
            v4(&format!("{BASE}/S:N")).safety(),
            Some(Safety::Negligible)
        );
    }

    #[test]
    fn safety_in_modified_subsequent_metrics_raises_eq4() {
        let plain = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:H/SA:N";
        let with_safety = format!("{plain}/MSI:S");
        let (plain, safety) = (v4(plain).scores(), v4(&with_safety).scores());
        assert!(safety.score > plain.score, "{plain:?} {safety:?}");
        assert_eq!(safety.base, plain.score);
        assert_eq!(safety.nomenclature, Some("CVSS-BE"));
    }

    #[test]
    fn base_only_drops_threat_and_environmental_metrics() {
        let v = v4(&format!("{BASE}/E:U/CR:L/MAV:P/S:P"));
        assert_eq!(v.base_only().to_string(), format!("{BASE}/S:P"));
    }

    #[test]
    fn errors_name_the_metric() {
        let err = |v: &str| parse(v).err();
        assert!(matches!(
            err(&format!("{BASE}/E:H")),
            Some(CvssError::BadValue { metric: "E", .. })
        ));
        // `S` is a safety level only in MSI and MSA.
        assert!(matches!(
            err(&format!("{BASE}/MSC:S")),
            Some(CvssError::BadValue { metric: "MSC", .. })
        ));
        assert!(matches!(
            err(&format!("{BASE}/U:red")),
            Some(CvssError::BadValue { metric: "U", .. })
        ));
        assert!(matches!(
            err(&format!("{BASE}/SA:N")),
            Some(CvssError::Duplicate { metric: "SA", .. })
        ));
        assert!(matches!(
            err("CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Some(CvssError::Missing {
                metric: "AT",
                version: Version::V4_0,
                ..
            })
        ));
        // A v3 metric in a v4 vector.
        assert!(matches!(
            err(&format!("{BASE}/RL:O")),
            Some(CvssError::UnknownMetric { ref metric, version: Version::V4_0 }) if metric == "RL"
        ));
        let message = err(&format!("{BASE}/AU:maybe")).map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some("bad value \"maybe\" for metric AU (automatable): expected one of X, N, Y")
        );
    }
}
