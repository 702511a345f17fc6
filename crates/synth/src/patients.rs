//! Synthetic patients: names built from syllables no real register uses, record numbers in a
//! namespace (`ZZ` and eight digits) no hospital issues, and fictional `555-01xx` phone numbers.
//! Nothing here can be mistaken for a real person, and every value is listed in the truth file so
//! tests can assert it never leaks into a report.

use crate::rng::Rng;

const ONSETS: &[&str] = &[
    "K", "Z", "V", "QU", "X", "TH", "BR", "DR", "FL", "GL", "M", "N", "R", "S", "T", "Y",
];
const VOWELS: &[&str] = &["A", "E", "I", "O", "U", "AI", "EO", "IA", "OU"];
const CODAS: &[&str] = &["", "N", "R", "X", "L", "TH", "SK", "V", "Z"];

#[derive(Debug, Clone)]
pub struct Patient {
    pub mrn: String,
    pub family: String,
    pub given: String,
    /// YYYYMMDD
    pub birth_date: String,
    pub sex: &'static str,
    pub phone: String,
    /// A ward bed (PV1-3), not PHI by itself.
    pub bed: String,
}

impl Patient {
    /// `FAMILY^GIVEN`, as HL7 XPN and DICOM PN write it.
    pub fn pn(&self) -> String {
        format!("{}^{}", self.family, self.given)
    }
}

fn word(rng: &mut Rng, syllables: u64) -> String {
    let mut w = String::new();
    for _ in 0..syllables {
        w.push_str(rng.pick::<&str>(ONSETS));
        w.push_str(rng.pick::<&str>(VOWELS));
        w.push_str(rng.pick::<&str>(CODAS));
    }
    w
}

pub fn generate(rng: &mut Rng, index: usize) -> Patient {
    let family = format!("{}SYN", word(rng, 2));
    let n = 1 + rng.below(2);
    let given = word(rng, n);
    let year = 1930 + rng.below(90);
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    Patient {
        mrn: format!("ZZ{:08}", 10_000_000 + index as u64 * 7 + rng.below(7)),
        family,
        given,
        birth_date: format!("{year:04}{month:02}{day:02}"),
        sex: if rng.chance(0.5) { "F" } else { "M" },
        phone: format!("555-01{:02}", rng.below(100)),
        bed: format!(
            "{}^{:02}^{:02}",
            rng.pick(&["ICU1", "ICU2", "CCU", "ED", "MED3", "SURG4", "NICU"]),
            1 + rng.below(30),
            1 + rng.below(2)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patients_are_marked_synthetic_and_reproducible() {
        let a = generate(&mut Rng::new(3), 5);
        let b = generate(&mut Rng::new(3), 5);
        assert_eq!(a.pn(), b.pn());
        assert!(
            a.family.ends_with("SYN") && a.mrn.starts_with("ZZ") && a.phone.starts_with("555-01")
        );
        assert_eq!(a.birth_date.len(), 8);
    }
}
