//! Firmware versions and the version rules advisories write.
//!
//! Medical-device firmware is rarely semver: `R2.3.4`, `M.00.03`, `C.00.04`, `2.4A`, `012U000040`,
//! `12.2.x.x`. [`compare`] orders them with the `versions` crate (which puts `R2.3.4 < R2.10.0` and
//! `M.00.03 < M.00.10`), after two firmware habits it does not know: trailing zero components do not
//! make a different version (`1.0` = `1.0.0`), and a leading `v`/`version` is not part of it.
//!
//! [`Rule`] reads what CSAF product-tree branches say (`product_version` `1.1.7.333 | 2.1.1.3069`,
//! `product_version_range` `vers:all/*`, `<= 2.3.6`, `>= 1.3.4 | < 1.5.3`, `<= 12.2.x.x`, the PURL
//! `vers:` form) and NVD's `versionStart*/versionEnd*`. Text that is not a version rule at all
//! (`distributed < april 1, 2018`, `Rev J-M`) becomes [`Rule::Unreadable`]: a matcher then knows the
//! model matched but cannot decide the version, and says so.

use std::cmp::Ordering;
use std::fmt;

use versions::Versioning;

/// Compares two firmware versions. `None` when either is empty.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    let a = clean(a);
    let b = clean(b);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a.eq_ignore_ascii_case(b) {
        return Some(Ordering::Equal);
    }
    let (ta, tb) = (trim_zeros(a), trim_zeros(b));
    if ta.eq_ignore_ascii_case(tb) {
        return Some(Ordering::Equal);
    }
    let va = Versioning::new(ta.to_ascii_lowercase())?;
    let vb = Versioning::new(tb.to_ascii_lowercase())?;
    va.partial_cmp(&vb)
}

/// Strips a `v`/`V`/`version ` prefix and surrounding space.
fn clean(v: &str) -> &str {
    let v = v.trim();
    let lower = v.get(..8).map(str::to_ascii_lowercase);
    if lower.as_deref() == Some("version ") {
        return v[8..].trim();
    }
    match v.as_bytes() {
        [b'v' | b'V', d, ..] if d.is_ascii_digit() => &v[1..],
        _ => v,
    }
}

/// `1.0.0` -> `1`, `2.10.0` -> `2.10`, `R2.0` -> `R2`: trailing `.0` components only.
fn trim_zeros(v: &str) -> &str {
    let mut v = v;
    while let Some(rest) = v.strip_suffix(".0").or_else(|| v.strip_suffix(".00")) {
        if rest.is_empty() {
            break;
        }
        v = rest;
    }
    v
}

/// A comparison in a version rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    Ne,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Ne => "!=",
        }
    }
}

/// One comparison. A version with `x` or `*` components (`12.2.x.x`) is a prefix: `<= 12.2.x.x` holds
/// for every `12.2.*` and below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub op: Op,
    pub version: String,
}

impl Constraint {
    /// Whether `version` satisfies this constraint; `None` when the two cannot be compared.
    pub fn holds(&self, version: &str) -> Option<bool> {
        if let Some(prefix) = wildcard_prefix(&self.version) {
            let within = has_prefix(version, prefix);
            let ord = if within {
                Ordering::Equal
            } else {
                compare(version, prefix)?
            };
            return Some(match self.op {
                Op::Eq => within,
                Op::Ne => !within,
                Op::Le => ord != Ordering::Greater,
                Op::Lt => ord == Ordering::Less,
                Op::Ge => ord != Ordering::Less,
                Op::Gt => ord == Ordering::Greater,
            });
        }
        let ord = compare(version, &self.version)?;
        Some(match self.op {
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Eq => ord == Ordering::Equal,
            Op::Ge => ord != Ordering::Less,
            Op::Gt => ord == Ordering::Greater,
            Op::Ne => ord != Ordering::Equal,
        })
    }

    fn is_lower(&self) -> bool {
        matches!(self.op, Op::Ge | Op::Gt)
    }

    fn is_upper(&self) -> bool {
        matches!(self.op, Op::Le | Op::Lt)
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.as_str(), self.version)
    }
}

/// `12.2.x.x` -> `Some("12.2")`; `2.*` -> `Some("2")`; `2.3` -> `None`.
fn wildcard_prefix(v: &str) -> Option<&str> {
    let v = v.trim();
    let mut cut = None;
    for (i, part) in v.split('.').enumerate() {
        if part.eq_ignore_ascii_case("x") || part == "*" {
            cut = Some(i);
            break;
        }
    }
    let i = cut?;
    let end: usize = v.split('.').take(i).map(|p| p.len() + 1).sum();
    Some(v[..end.saturating_sub(1)].trim_end_matches('.'))
}

fn has_prefix(version: &str, prefix: &str) -> bool {
    let vp: Vec<&str> = clean(version).split('.').collect();
    let pp: Vec<&str> = prefix.split('.').collect();
    pp.len() <= vp.len()
        && pp
            .iter()
            .zip(&vp)
            .all(|(p, v)| compare(p, v) == Some(Ordering::Equal))
}

/// Which versions a product entry covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Every version (`vers:all/*`, `*`, `all versions`, no version given).
    All,
    /// Any one of these versions.
    AnyOf(Vec<String>),
    /// A range: every constraint holds (`>= 1.3.4 | < 1.5.3`).
    Range(Vec<Constraint>),
    /// Any one of these upper bounds (`<= U61 | <= L81`: two product lines in one entry).
    AnyBelow(Vec<Constraint>),
    /// Text that is not a version rule (`distributed < april 1, 2018`).
    Unreadable(String),
}

/// Whether a version is covered by a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Inside,
    Outside,
    /// The version or the rule cannot be compared.
    Unknown,
}

impl Rule {
    /// A `product_version` branch: one version, or several separated by `|`.
    pub fn version(text: &str) -> Rule {
        let text = strip_notes(text);
        if is_all(text) {
            return Rule::All;
        }
        if let Some(vers) = text.strip_prefix("vers:") {
            return Rule::vers(vers, text);
        }
        let versions: Vec<String> = text
            .split('|')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        if versions.is_empty() {
            return Rule::All;
        }
        if versions.iter().any(|v| !looks_like_version(v)) {
            return Rule::Unreadable(text.to_string());
        }
        Rule::AnyOf(versions)
    }

    /// A `product_version_range` branch: `vers:` (PURL version range spec) or comparisons.
    pub fn range(text: &str) -> Rule {
        let text = strip_notes(text);
        if is_all(text) {
            return Rule::All;
        }
        if let Some(vers) = text.strip_prefix("vers:") {
            return Rule::vers(vers, text);
        }
        match constraints(text) {
            Some(cs) => Rule::from_constraints(cs),
            None => Rule::Unreadable(text.to_string()),
        }
    }

    /// NVD's `versionStart*`/`versionEnd*` bounds, and the CPE's own version component where no
    /// bound is given (`*` = all; `-` = not applicable, which we treat as "no version", so all).
    pub fn nvd(
        cpe_version: Option<&str>,
        start_including: Option<&str>,
        start_excluding: Option<&str>,
        end_including: Option<&str>,
        end_excluding: Option<&str>,
    ) -> Rule {
        let mut cs = Vec::new();
        let mut push = |op, v: Option<&str>| {
            if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                cs.push(Constraint {
                    op,
                    version: v.trim().to_string(),
                });
            }
        };
        push(Op::Ge, start_including);
        push(Op::Gt, start_excluding);
        push(Op::Le, end_including);
        push(Op::Lt, end_excluding);
        if !cs.is_empty() {
            return Rule::Range(cs);
        }
        match cpe_version {
            None | Some("*") | Some("-") | Some("") => Rule::All,
            Some(v) => Rule::AnyOf(vec![v.to_string()]),
        }
    }

    fn from_constraints(cs: Vec<Constraint>) -> Rule {
        let lower = cs.iter().any(Constraint::is_lower);
        let upper = cs.iter().filter(|c| c.is_upper()).count();
        if !lower && upper > 1 {
            Rule::AnyBelow(cs)
        } else {
            Rule::Range(cs)
        }
    }

    /// `vers:<scheme>/<constraints>` (github.com/package-url/purl-spec VERSION-RANGE-SPEC): the
    /// constraints are `|`-separated; `*` alone is every version.
    fn vers(rest: &str, text: &str) -> Rule {
        let Some((_scheme, cs)) = rest.split_once('/') else {
            return Rule::Unreadable(text.to_string());
        };
        let cs = cs.trim();
        if cs == "*" {
            return Rule::All;
        }
        let mut eqs = Vec::new();
        let mut others = Vec::new();
        for part in cs.split('|').map(str::trim).filter(|p| !p.is_empty()) {
            match constraint(part) {
                Some(c) if c.op == Op::Eq => eqs.push(c.version),
                Some(c) => others.push(c),
                None => return Rule::Unreadable(text.to_string()),
            }
        }
        match (eqs.is_empty(), others.is_empty()) {
            (false, true) => Rule::AnyOf(eqs),
            (true, false) => Rule::from_constraints(others),
            // Mixed equalities and ranges need the spec's interval walk; no advisory in the corpus
            // writes one. Say so rather than guess.
            (false, false) => Rule::Unreadable(text.to_string()),
            (true, true) => Rule::All,
        }
    }

    /// Whether `version` is covered. `None` (device version unknown) is [`Verdict::Unknown`] except
    /// for [`Rule::All`].
    pub fn covers(&self, version: Option<&str>) -> Verdict {
        if matches!(self, Rule::All) {
            return Verdict::Inside;
        }
        let Some(version) = version.map(str::trim).filter(|v| !v.is_empty()) else {
            return Verdict::Unknown;
        };
        let verdict = |b: Option<bool>| match b {
            Some(true) => Verdict::Inside,
            Some(false) => Verdict::Outside,
            None => Verdict::Unknown,
        };
        match self {
            Rule::All => Verdict::Inside,
            Rule::AnyOf(vs) => {
                let mut unknown = false;
                for v in vs {
                    match compare(version, v) {
                        Some(Ordering::Equal) => return Verdict::Inside,
                        None => unknown = true,
                        _ => {}
                    }
                    if wildcard_prefix(v).is_some_and(|p| has_prefix(version, p)) {
                        return Verdict::Inside;
                    }
                }
                if unknown {
                    Verdict::Unknown
                } else {
                    Verdict::Outside
                }
            }
            Rule::Range(cs) => {
                let mut all = Some(true);
                for c in cs {
                    match c.holds(version) {
                        Some(true) => {}
                        Some(false) => return Verdict::Outside,
                        None => all = None,
                    }
                }
                verdict(all)
            }
            Rule::AnyBelow(cs) => {
                let mut unknown = false;
                for c in cs {
                    match c.holds(version) {
                        Some(true) => return Verdict::Inside,
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown {
                    Verdict::Unknown
                } else {
                    Verdict::Outside
                }
            }
            Rule::Unreadable(_) => Verdict::Unknown,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, cs: &[Constraint], sep: &str| {
            for (i, c) in cs.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{c}")?;
            }
            Ok(())
        };
        match self {
            Rule::All => f.write_str("all versions"),
            Rule::AnyOf(vs) => write!(f, "version {}", vs.join(" or ")),
            Rule::Range(cs) => join(f, cs, " and "),
            Rule::AnyBelow(cs) => join(f, cs, " or "),
            Rule::Unreadable(t) => write!(f, "\"{t}\" (not a version rule)"),
        }
    }
}

/// Drops parenthesised notes: `<= 1.54 (integrated into GE MobileLink)` -> `<= 1.54`.
fn strip_notes(text: &str) -> &str {
    let t = text.trim();
    match t.find(" (") {
        Some(i) if t.ends_with(')') && i > 0 => t[..i].trim(),
        _ => t,
    }
}

fn is_all(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    matches!(
        t.as_str(),
        "" | "*" | "vers:all/*" | "all" | "all versions" | "all versions." | "any"
    )
}

/// A version-like token: starts with a digit or a letter followed by a digit or dot, no spaces,
/// at most 40 bytes (`R2.3`, `M.00.03`, `B.02`, `2.4A`, `9.7`; not `Accu-Chek Inform II`).
fn looks_like_version(v: &str) -> bool {
    let v = clean(v);
    if v.is_empty() || v.len() > 40 || v.contains(' ') {
        return false;
    }
    let b = v.as_bytes();
    b[0].is_ascii_digit()
        || (b[0].is_ascii_alphabetic()
            && b.get(1).is_some_and(|c| c.is_ascii_digit() || *c == b'.'))
        || wildcard_prefix(v).is_some()
}

/// `<= 2.3.6`, `>= 1.3.4 | < 1.5.3`, `<=N`, `<= U61 |<= L81`.
fn constraints(text: &str) -> Option<Vec<Constraint>> {
    let mut out = Vec::new();
    for part in text.split('|').map(str::trim).filter(|p| !p.is_empty()) {
        out.push(constraint(part)?);
    }
    (!out.is_empty()).then_some(out)
}

fn constraint(part: &str) -> Option<Constraint> {
    let part = part.trim();
    let (op, rest) = if let Some(r) = part.strip_prefix("<=") {
        (Op::Le, r)
    } else if let Some(r) = part.strip_prefix(">=") {
        (Op::Ge, r)
    } else if let Some(r) = part.strip_prefix("!=") {
        (Op::Ne, r)
    } else if let Some(r) = part.strip_prefix('<') {
        (Op::Lt, r)
    } else if let Some(r) = part.strip_prefix('>') {
        (Op::Gt, r)
    } else if let Some(r) = part.strip_prefix('=') {
        (Op::Eq, r)
    } else {
        (Op::Eq, part)
    };
    let version = rest.trim();
    // A single letter (`<= K`, `<=N`) is a hardware revision: comparable among letters.
    let single_letter = version.len() == 1 && version.as_bytes()[0].is_ascii_alphabetic();
    (looks_like_version(version) || single_letter).then(|| Constraint {
        op,
        version: version.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_order() {
        use Ordering::*;
        for (a, b, want) in [
            ("R2.3.4", "R2.10.0", Less),
            ("M.00.03", "M.00.10", Less),
            ("C.00.04", "C.00.10", Less),
            ("2.3.6", "2.3.10", Less),
            ("1.0", "1.0.0", Equal),
            ("v2.1", "2.1", Equal),
            ("9.33.1", "9.33.1", Equal),
            ("012U000040", "012U000041", Less),
            ("3.01.1744", "3.02.1757", Less),
            ("4.4.0", "4.4.1", Less),
        ] {
            assert_eq!(compare(a, b), Some(want), "{a} vs {b}");
            assert_eq!(compare(b, a), Some(want.reverse()), "{b} vs {a}");
        }
        assert_eq!(compare("", "1"), None);
    }

    #[test]
    fn ranges_from_advisories() {
        let r = Rule::range("<= 2.3.6");
        assert_eq!(r.covers(Some("2.3.6")), Verdict::Inside);
        assert_eq!(r.covers(Some("2.3.10")), Verdict::Outside);
        assert_eq!(r.covers(None), Verdict::Unknown);

        let r = Rule::range(">= 1.3.4 | < 1.5.3");
        assert!(matches!(r, Rule::Range(_)));
        assert_eq!(r.covers(Some("1.3.3")), Verdict::Outside);
        assert_eq!(r.covers(Some("1.4")), Verdict::Inside);
        assert_eq!(r.covers(Some("1.5.3")), Verdict::Outside);

        let r = Rule::range("<= U61 |<= L81");
        assert!(matches!(r, Rule::AnyBelow(_)));

        let r = Rule::range("<= 12.2.x.x");
        assert_eq!(r.covers(Some("12.2.7.1")), Verdict::Inside);
        assert_eq!(r.covers(Some("12.1")), Verdict::Inside);
        assert_eq!(r.covers(Some("12.3.0.0")), Verdict::Outside);

        let r = Rule::range("<= 1.54 (integrated into GE MobileLink)");
        assert_eq!(r.covers(Some("1.54")), Verdict::Inside);

        assert_eq!(Rule::range("vers:all/*"), Rule::All);
        assert!(matches!(
            Rule::range("distributed  < april 1, 2018"),
            Rule::Unreadable(_)
        ));
        assert_eq!(
            Rule::range("distributed  < april 1, 2018").covers(Some("1.0")),
            Verdict::Unknown
        );
        let r = Rule::range("vers:generic/>=2.0|<2.4");
        assert_eq!(r.covers(Some("2.3.9")), Verdict::Inside);
        assert_eq!(r.covers(Some("2.4")), Verdict::Outside);
        assert_eq!(r.covers(Some("R2.3")), Verdict::Outside, "R2.3 sorts apart");
    }

    #[test]
    fn versions_from_advisories() {
        let r = Rule::version("1.1.7.333 | 2.1.1.3069");
        assert_eq!(r.covers(Some("2.1.1.3069")), Verdict::Inside);
        assert_eq!(r.covers(Some("2.1.1.3070")), Verdict::Outside);
        assert!(matches!(
            Rule::version("Accu-Chek Inform II"),
            Rule::Unreadable(_)
        ));
        assert_eq!(Rule::version("B.02").covers(Some("B.02")), Verdict::Inside);
    }

    #[test]
    fn nvd_bounds() {
        let r = Rule::nvd(Some("*"), None, None, Some("9.33.1"), None);
        assert_eq!(r.covers(Some("9.33.1")), Verdict::Inside);
        assert_eq!(r.covers(Some("9.33.2")), Verdict::Outside);
        let r = Rule::nvd(Some("*"), None, None, None, Some("4.4.1"));
        assert_eq!(r.covers(Some("4.4.0")), Verdict::Inside);
        assert_eq!(r.covers(Some("4.4.1")), Verdict::Outside);
        assert_eq!(Rule::nvd(Some("-"), None, None, None, None), Rule::All);
        assert_eq!(
            Rule::nvd(Some("3.6.6"), None, None, None, None).covers(Some("3.6.6")),
            Verdict::Inside
        );
    }
}
