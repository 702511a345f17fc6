//! Name matching (NISTIR 7696): attribute comparison (§6.1, Table 6-2), name comparison (§6.2,
//! Table 6-4) and wildcard comparison (§6.3).

use std::fmt;

use super::{Attr, Av, Tok, Wfn, has_wildcards, tokens};

/// The set relation between a source and a target (NISTIR 7696 Table 6-1), plus the UNDEFINED
/// result that the compare() pseudocode of §7.3 returns when the target holds wildcards (Table 6-2
/// rows 4, 8, 11 and 17).
///
/// SUPERSET and SUBSET are non-proper: EQUAL values are both, and the name functions
/// ([`is_superset`], [`is_subset`]) accept EQUAL attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// ⊃: the source is a superset of the target.
    Superset,
    /// ⊂: the source is a subset of the target.
    Subset,
    /// =: the source and target are equal.
    Equal,
    /// ≠: the source and target are disjoint.
    Disjoint,
    /// No relation is defined: the target holds wildcards (§6.1: "wild cards SHOULD NOT be included
    /// in the target value"), or, for a whole name, the attributes mix SUPERSET and SUBSET.
    Undefined,
}

impl Relation {
    /// The specification's word: `"SUPERSET"`, `"SUBSET"`, `"EQUAL"`, `"DISJOINT"`, `"UNDEFINED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Superset => "SUPERSET",
            Relation::Subset => "SUBSET",
            Relation::Equal => "EQUAL",
            Relation::Disjoint => "DISJOINT",
            Relation::Undefined => "UNDEFINED",
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The attribute relations of two names, as Compare_WFNs returns them (NISTIR 7696 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Comparison {
    /// One relation per attribute, indexed by [`Attr::index`] (formatted-string order).
    pub relations: [Relation; 11],
}

impl Comparison {
    /// The relation of one attribute.
    pub fn get(&self, attr: Attr) -> Relation {
        self.relations[attr.index()]
    }

    /// CPE_DISJOINT (§7.2): some attribute is DISJOINT.
    pub fn is_disjoint(&self) -> bool {
        self.relations.contains(&Relation::Disjoint)
    }

    /// CPE_EQUAL (§7.2): every attribute is EQUAL.
    pub fn is_equal(&self) -> bool {
        self.relations.iter().all(|r| *r == Relation::Equal)
    }

    /// CPE_SUBSET (§7.2): every attribute is SUBSET or EQUAL.
    pub fn is_subset(&self) -> bool {
        self.relations
            .iter()
            .all(|r| matches!(r, Relation::Subset | Relation::Equal))
    }

    /// CPE_SUPERSET (§7.2): every attribute is SUPERSET or EQUAL.
    pub fn is_superset(&self) -> bool {
        self.relations
            .iter()
            .all(|r| matches!(r, Relation::Superset | Relation::Equal))
    }

    /// The name relation of Table 6-4, rules taken in order: DISJOINT if any attribute is disjoint,
    /// then EQUAL, SUBSET, SUPERSET; UNDEFINED when none of the four holds.
    pub fn name_relation(&self) -> Relation {
        if self.is_disjoint() {
            Relation::Disjoint
        } else if self.is_equal() {
            Relation::Equal
        } else if self.is_subset() {
            Relation::Subset
        } else if self.is_superset() {
            Relation::Superset
        } else {
            Relation::Undefined
        }
    }
}

/// Compare_WFNs (NISTIR 7696 §7.2): the relation of each attribute of `source` to the same attribute
/// of `target`.
pub fn compare(source: &Wfn, target: &Wfn) -> Comparison {
    Comparison {
        relations: Attr::ALL.map(|attr| compare_values(source.get(attr), target.get(attr))),
    }
}

/// compare() (NISTIR 7696 §7.3): the relation of one source value to one target value, following
/// Table 6-2. Case is ignored.
pub fn compare_values(source: &Av, target: &Av) -> Relation {
    match (source, target) {
        // Rows 4, 8, 11, 17: a wildcard in the target leaves the result undefined, checked first as
        // in the pseudocode (so even equal wildcard values are UNDEFINED).
        (_, Av::Value(t)) if has_wildcards(t) => Relation::Undefined,
        // Rows 1, 6, 9.
        (Av::Any, Av::Any) | (Av::Na, Av::Na) => Relation::Equal,
        (Av::Value(s), Av::Value(t)) if values_equal(s, t) => Relation::Equal,
        // Rows 2, 3.
        (Av::Any, _) => Relation::Superset,
        // Rows 5, 13, 15.
        (_, Av::Any) => Relation::Subset,
        // Rows 7, 12, 16.
        (Av::Na, _) | (_, Av::Na) => Relation::Disjoint,
        // Rows 10, 14.
        (Av::Value(s), Av::Value(t)) => compare_strings(s, t),
    }
}

/// CPE_DISJOINT (NISTIR 7696 §7.2): the names share no product.
pub fn is_disjoint(source: &Wfn, target: &Wfn) -> bool {
    Attr::ALL
        .into_iter()
        .any(|attr| compare_values(source.get(attr), target.get(attr)) == Relation::Disjoint)
}

/// CPE_EQUAL (NISTIR 7696 §7.2): every attribute is EQUAL.
pub fn is_equal(source: &Wfn, target: &Wfn) -> bool {
    Attr::ALL
        .into_iter()
        .all(|attr| compare_values(source.get(attr), target.get(attr)) == Relation::Equal)
}

/// CPE_SUBSET (NISTIR 7696 §7.2): every attribute is SUBSET or EQUAL.
pub fn is_subset(source: &Wfn, target: &Wfn) -> bool {
    Attr::ALL.into_iter().all(|attr| {
        matches!(
            compare_values(source.get(attr), target.get(attr)),
            Relation::Subset | Relation::Equal
        )
    })
}

/// CPE_SUPERSET (NISTIR 7696 §7.2): every attribute is SUPERSET or EQUAL.
pub fn is_superset(source: &Wfn, target: &Wfn) -> bool {
    Attr::ALL.into_iter().all(|attr| {
        matches!(
            compare_values(source.get(attr), target.get(attr)),
            Relation::Superset | Relation::Equal
        )
    })
}

/// Is `candidate` within `pattern`? That is CPE_SUPERSET(pattern, candidate), equal names included:
/// the CPE 2.2 "match" of NISTIR 7696 §6.2 and Appendix B, and the test an NVD `criteria` string
/// applies to a device's name. A candidate with ANY where the pattern names a value does not match
/// (it is a superset of the pattern, not within it), nor does a candidate holding wildcards.
///
/// Stops at the first attribute that fails, and allocates only for a pattern value with wildcards.
pub fn matches(pattern: &Wfn, candidate: &Wfn) -> bool {
    is_superset(pattern, candidate)
}

/// Equality of two value strings in logical characters, ignoring case.
fn values_equal(s: &str, t: &str) -> bool {
    s.eq_ignore_ascii_case(t) || tokens(s).map(lower).eq(tokens(t).map(lower))
}

fn lower(tok: Tok) -> Tok {
    match tok {
        Tok::Char(c) => Tok::Char(c.to_ascii_lowercase()),
        other => other,
    }
}

/// How many target characters a group of leading or trailing wildcards may absorb.
#[derive(Debug, Clone, Copy)]
enum Slack {
    /// No wildcard: none.
    Zero,
    /// A run of n `?`: up to n ("zero or one character" each, NISTIR 7696 §6.3).
    UpTo(usize),
    /// `*`: any number.
    Unbounded,
}

impl Slack {
    fn allows(self, n: usize) -> bool {
        match self {
            Slack::Zero => n == 0,
            Slack::UpTo(max) => n <= max,
            Slack::Unbounded => true,
        }
    }
}

/// compareStrings() (NISTIR 7696 §7.3) with the meaning §6.3 gives it: SUPERSET when the source,
/// read as a pattern whose wildcards stand only at its ends, matches the whole target; DISJOINT
/// otherwise. Characters are counted unquoted, so an escape is never a character of its own (the
/// pseudocode subtracts the escapes inside the matched text twice).
fn compare_strings(source: &str, target: &str) -> Relation {
    let src: Vec<Tok> = tokens(source).map(lower).collect();
    if !src.iter().any(|tok| matches!(tok, Tok::Star | Tok::Quest)) {
        // Without wildcards, only equal strings relate, and equality was tested before.
        return Relation::Disjoint;
    }
    let tgt: Vec<Tok> = tokens(target).map(lower).collect();
    let (lead, rest) = split_lead(&src);
    let (body, trail) = split_trail(rest);
    for before in 0..=tgt.len() {
        if !lead.allows(before) {
            break;
        }
        let Some(after) = tgt.len().checked_sub(before + body.len()) else {
            break;
        };
        // A wildcard left inside the body (only in a value built by hand) matches nothing.
        let body_matches = body
            .iter()
            .zip(&tgt[before..])
            .all(|(s, t)| matches!(s, Tok::Char(_)) && s == t);
        if body_matches && trail.allows(after) {
            return Relation::Superset;
        }
    }
    Relation::Disjoint
}

fn split_lead(src: &[Tok]) -> (Slack, &[Tok]) {
    if src.first() == Some(&Tok::Star) {
        return (Slack::Unbounded, &src[1..]);
    }
    let n = src.iter().take_while(|tok| **tok == Tok::Quest).count();
    let slack = if n == 0 { Slack::Zero } else { Slack::UpTo(n) };
    (slack, &src[n..])
}

fn split_trail(rest: &[Tok]) -> (&[Tok], Slack) {
    if let Some((Tok::Star, body)) = rest.split_last() {
        return (body, Slack::Unbounded);
    }
    let n = rest
        .iter()
        .rev()
        .take_while(|tok| **tok == Tok::Quest)
        .count();
    let slack = if n == 0 { Slack::Zero } else { Slack::UpTo(n) };
    (&rest[..rest.len() - n], slack)
}
