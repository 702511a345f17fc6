//! CPE 2.3 names: the well-formed name (WFN), its URI and formatted-string bindings (NISTIR 7695), and
//! name matching (NISTIR 7696).
//!
//! A [`Wfn`] holds the eleven attributes of NISTIR 7695 §5.2, each an [`Av`]: the logical value ANY, the
//! logical value NA, or a value string kept in the WFN's own quoted form (`"8\.0\.6001"`, with
//! unquoted `*` and `?` as wildcards). Three textual forms are read and written:
//!
//! - the formatted string `cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*`
//!   ([`Wfn::parse_fs`], [`Wfn::to_fs`]; NISTIR 7695 §6.2),
//! - the URI `cpe:/a:microsoft:internet_explorer:8.0.6001:beta`, with the extended attributes packed
//!   into the edition component with `~` ([`Wfn::parse_uri`], [`Wfn::to_uri`]; §6.1),
//! - the WFN notation `wfn:[part="a",vendor="microsoft",...]` ([`Wfn::parse_wfn`],
//!   [`Wfn::to_wfn_string`]; §5.1).
//!
//! Matching follows NISTIR 7696: [`compare`] gives the relation of each attribute (Table 6-2) and the
//! name relations of Table 6-4 follow from it ([`is_disjoint`], [`is_equal`], [`is_subset`],
//! [`is_superset`]). [`matches()`] is the question a vulnerability matcher asks: is this candidate (a
//! device's name) within this pattern (an NVD `criteria` string)?
//!
//! Parsing never panics and rejects what the specification forbids; every error names the attribute
//! and what is wrong. Where the specification's pseudocode and its prose or grammar disagree, this
//! module follows the prose and grammar; each such choice is written down where it is made:
//!
//! - a value string follows the rules of §5.3.2 literally: wildcards only as one leading and one
//!   trailing group, each a single `*` or a run of `?` (the add_quoting and decode pseudocode of
//!   §6.1.3.2 and §6.2.3.2 would let `a??b` through);
//! - the formatted string must quote every non-alphanumeric character other than `-` `.` `_` and the
//!   wildcards (§6.2 and Figure 6-3; the add_quoting pseudocode would quote them silently);
//! - a lone `*` is not a value string (§5.3.2 rule 4), though NISTIR 7696 §5.2 lists it as legal:
//!   in the bindings it is the logical value ANY anyway;
//! - a value made only of `?` is accepted in a formatted string, though Figure 6-3 asks for a body
//!   character: §5.3.2 allows it in a WFN, and §7 wants every WFN to survive both bindings;
//! - the URI unbinder accepts a bare `~` in a value (§6.1.3.3 example 7) and the encodings `%2d`,
//!   `%2e`, `%5f` that Figure 6-1 allows and the decode pseudocode omits, and refuses any other
//!   unencoded punctuation, as §6.1.3 advises a robust implementation to;
//! - `?` wildcards match zero or one character each, counted in unquoted characters (NISTIR 7696
//!   §6.3); the compareStrings pseudocode of §7.3 counts some escape characters twice and so lets
//!   `1\.0\.?` match `1\.0\.12`.
//!
//! Values keep the case they were given in (the URI unbinder lowercases, as §6.1.3.2 says); every
//! comparison ignores case (NISTIR 7696 §6.1). `PartialEq` on [`Wfn`] is structural and case-sensitive:
//! use [`is_equal`] for CPE equality.

use std::fmt;
use std::str::FromStr;

mod bind;
mod matching;

pub use matching::{
    Comparison, Relation, compare, compare_values, is_disjoint, is_equal, is_subset, is_superset,
    matches,
};

/// The longest name any parser accepts, in bytes. Real names are well under 300 bytes; the cap bounds
/// the work a hostile name can cause (wildcard matching is quadratic in the value length).
pub const MAX_NAME_LEN: usize = 2048;

/// One of the eleven WFN attributes of NISTIR 7695 §5.2, in the order of the formatted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attr {
    Part,
    Vendor,
    Product,
    Version,
    Update,
    Edition,
    Language,
    SwEdition,
    TargetSw,
    TargetHw,
    Other,
}

impl Attr {
    /// All attributes, in formatted-string order (NISTIR 7695 §6.2).
    pub const ALL: [Attr; 11] = [
        Attr::Part,
        Attr::Vendor,
        Attr::Product,
        Attr::Version,
        Attr::Update,
        Attr::Edition,
        Attr::Language,
        Attr::SwEdition,
        Attr::TargetSw,
        Attr::TargetHw,
        Attr::Other,
    ];

    /// The attribute's name as written in a WFN (`"sw_edition"`).
    pub fn name(self) -> &'static str {
        match self {
            Attr::Part => "part",
            Attr::Vendor => "vendor",
            Attr::Product => "product",
            Attr::Version => "version",
            Attr::Update => "update",
            Attr::Edition => "edition",
            Attr::Language => "language",
            Attr::SwEdition => "sw_edition",
            Attr::TargetSw => "target_sw",
            Attr::TargetHw => "target_hw",
            Attr::Other => "other",
        }
    }

    /// The attribute called `name`, ignoring case (NISTIR 7695 §5.1: case does not distinguish
    /// attributes).
    pub fn from_name(name: &str) -> Option<Attr> {
        Attr::ALL
            .into_iter()
            .find(|attr| attr.name().eq_ignore_ascii_case(name))
    }

    /// Position in [`Attr::ALL`] and in [`Comparison::relations`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An attribute value (NISTIR 7695 §5.3): a logical value or a value string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Av {
    /// The logical value ANY (§5.3.1): no restriction. An unspecified attribute is ANY.
    #[default]
    Any,
    /// The logical value NA (§5.3.1): not applicable, no legal value.
    Na,
    /// A value string in WFN form, without the surrounding double quotes: every non-alphanumeric
    /// character other than `_` is quoted with a backslash (`8\.0\.6001`, `big\$money`), and an
    /// unquoted `*` or `?` is a wildcard (§5.3.2).
    ///
    /// The parsers only produce valid strings. A value built by hand is not checked until
    /// [`Wfn::validate`]; binding and matching never panic on it, and read an unquoted punctuation
    /// character as if it were quoted.
    Value(String),
}

impl Av {
    /// Quotes a plain string (`"8.0.6001"`, `"Baxter"`) into a value for `attr`: punctuation, `*` and
    /// `?` are quoted, so they stand for themselves, and whitespace becomes `_` as §5.3.2 rule 2
    /// recommends. Fails when the result would not be a valid value for `attr` (empty, a lone `-`,
    /// non-ASCII or control characters, a `part` other than a/o/h, a `language` that is not a
    /// language tag).
    pub fn from_plain(attr: Attr, plain: &str) -> Result<Av, CpeError> {
        let mut quoted = String::with_capacity(plain.len() + 4);
        for c in plain.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                quoted.push(c);
            } else if c == ' ' || c == '\t' {
                quoted.push('_');
            } else if c.is_ascii_graphic() {
                quoted.push('\\');
                quoted.push(c);
            } else {
                return Err(CpeError::value(
                    attr,
                    plain,
                    "only printable ASCII characters can be part of a CPE value",
                ));
            }
        }
        check_value(attr, &quoted).map_err(|reason| CpeError::value(attr, plain, reason))?;
        Ok(Av::Value(quoted))
    }

    /// Is this the logical value ANY?
    pub fn is_any(&self) -> bool {
        matches!(self, Av::Any)
    }

    /// Is this the logical value NA?
    pub fn is_na(&self) -> bool {
        matches!(self, Av::Na)
    }

    /// The value string in WFN form, or `None` for a logical value.
    pub fn as_value(&self) -> Option<&str> {
        match self {
            Av::Value(v) => Some(v),
            Av::Any | Av::Na => None,
        }
    }

    /// Does the value string hold an unquoted `*` or `?` (NISTIR 7696 §5.1)? An escape character
    /// quotes only the one character after it, so in `\\*` the asterisk is unquoted.
    pub fn has_wildcards(&self) -> bool {
        match self {
            Av::Value(v) => has_wildcards(v),
            Av::Any | Av::Na => false,
        }
    }

    /// The value as people write it: escapes removed and lowercased (`8\.0\.6001` gives `8.0.6001`,
    /// `Big\$Money` gives `big$money`); `None` for ANY and NA. Wildcards stay as `*` and `?`, so check
    /// [`Av::has_wildcards`] first where the difference between a wildcard and a literal matters.
    pub fn to_plain(&self) -> Option<String> {
        let v = self.as_value()?;
        Some(
            tokens(v)
                .map(|tok| match tok {
                    Tok::Char(c) => c.to_ascii_lowercase(),
                    Tok::Star => '*',
                    Tok::Quest => '?',
                })
                .collect(),
        )
    }
}

impl fmt::Display for Av {
    /// The WFN notation: `ANY`, `NA` or the value string in double quotes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Av::Any => f.write_str("ANY"),
            Av::Na => f.write_str("NA"),
            Av::Value(v) => {
                f.write_str("\"")?;
                f.write_str(&bind::render_wfn_value(v))?;
                f.write_str("\"")
            }
        }
    }
}

/// The `part` attribute's three string values (NISTIR 7695 §5.3.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// `a`
    Application,
    /// `o`
    OperatingSystem,
    /// `h`
    Hardware,
}

impl Part {
    /// The one-letter code: `a`, `o` or `h`.
    pub fn code(self) -> char {
        match self {
            Part::Application => 'a',
            Part::OperatingSystem => 'o',
            Part::Hardware => 'h',
        }
    }
}

/// A well-formed CPE name (NISTIR 7695 §5): eleven attributes, each ANY unless set.
///
/// Build one by parsing a binding ([`Wfn::parse`]) or field by field
/// (`Wfn { vendor: Av::from_plain(Attr::Vendor, "baxter")?, ..Wfn::default() }`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Wfn {
    pub part: Av,
    pub vendor: Av,
    pub product: Av,
    pub version: Av,
    pub update: Av,
    pub edition: Av,
    pub language: Av,
    pub sw_edition: Av,
    pub target_sw: Av,
    pub target_hw: Av,
    pub other: Av,
}

impl Wfn {
    /// Reads any of the three textual forms, chosen by prefix: `cpe:2.3:` (formatted string),
    /// `cpe:/` (URI) or `wfn:[` (WFN notation). The prefixes are matched ignoring case.
    pub fn parse(s: &str) -> Result<Wfn, CpeError> {
        if starts_with_ignore_case(s, bind::FS_PREFIX) {
            Wfn::parse_fs(s)
        } else if starts_with_ignore_case(s, bind::URI_PREFIX) {
            Wfn::parse_uri(s)
        } else if starts_with_ignore_case(s, bind::WFN_PREFIX) {
            Wfn::parse_wfn(s)
        } else {
            Err(CpeError::UnknownPrefix {
                found: cut(s, 8).to_owned(),
            })
        }
    }

    /// Unbinds a formatted string (`cpe:2.3:...`, all eleven fields) to a WFN: NISTIR 7695 §6.2.3
    /// with the grammar of Figure 6-3. `*` alone is ANY, `-` alone is NA, `.` and `-` gain their
    /// WFN quoting. Costs one pass over the string and one allocation per value string.
    pub fn parse_fs(s: &str) -> Result<Wfn, CpeError> {
        bind::unbind_fs(s)
    }

    /// Unbinds a URI (`cpe:/...`, CPE 2.2 syntax, up to seven components) to a WFN: NISTIR 7695
    /// §6.1.3. An edition component starting with `~` is unpacked into edition, sw_edition,
    /// target_sw, target_hw and other. The URI is lowercased first, as §6.1.3.2 does.
    pub fn parse_uri(s: &str) -> Result<Wfn, CpeError> {
        bind::unbind_uri(s)
    }

    /// Reads the WFN notation of NISTIR 7695 §5.1: `wfn:[part="a",vendor="microsoft",update=ANY]`.
    /// Attributes may come in any order, each at most once, in any case; unspecified attributes are
    /// ANY (§5.2); whitespace between the tokens is ignored.
    pub fn parse_wfn(s: &str) -> Result<Wfn, CpeError> {
        bind::parse_wfn(s)
    }

    /// Binds to a formatted string (NISTIR 7695 §6.2.2): `cpe:2.3:` and eleven fields.
    pub fn to_fs(&self) -> String {
        bind::bind_to_fs(self)
    }

    /// Binds to a URI (NISTIR 7695 §6.1.2), packing the extended attributes into the edition
    /// component when any of them is not ANY, and trimming trailing colons.
    pub fn to_uri(&self) -> String {
        bind::bind_to_uri(self)
    }

    /// The WFN notation with all eleven attributes in formatted-string order, separated by `", "` as
    /// in NISTIR 7695 §5.1: `wfn:[part="a", vendor="microsoft", ..., other=ANY]`.
    pub fn to_wfn_string(&self) -> String {
        bind::to_wfn_string(self)
    }

    /// The value of `attr` (NISTIR 7695 §5.4.2 get).
    pub fn get(&self, attr: Attr) -> &Av {
        match attr {
            Attr::Part => &self.part,
            Attr::Vendor => &self.vendor,
            Attr::Product => &self.product,
            Attr::Version => &self.version,
            Attr::Update => &self.update,
            Attr::Edition => &self.edition,
            Attr::Language => &self.language,
            Attr::SwEdition => &self.sw_edition,
            Attr::TargetSw => &self.target_sw,
            Attr::TargetHw => &self.target_hw,
            Attr::Other => &self.other,
        }
    }

    /// The value of `attr`, to change it (NISTIR 7695 §5.4.3 set).
    pub fn get_mut(&mut self, attr: Attr) -> &mut Av {
        match attr {
            Attr::Part => &mut self.part,
            Attr::Vendor => &mut self.vendor,
            Attr::Product => &mut self.product,
            Attr::Version => &mut self.version,
            Attr::Update => &mut self.update,
            Attr::Edition => &mut self.edition,
            Attr::Language => &mut self.language,
            Attr::SwEdition => &mut self.sw_edition,
            Attr::TargetSw => &mut self.target_sw,
            Attr::TargetHw => &mut self.target_hw,
            Attr::Other => &mut self.other,
        }
    }

    /// Checks every value string against NISTIR 7695 §5.3.2 and §5.3.3: what the parsers guarantee,
    /// for a WFN built by hand.
    pub fn validate(&self) -> Result<(), CpeError> {
        for attr in Attr::ALL {
            if let Av::Value(v) = self.get(attr) {
                check_value(attr, v).map_err(|reason| CpeError::value(attr, v, reason))?;
            }
        }
        Ok(())
    }

    /// The part as an enum, or `None` for ANY, NA or an invalid hand-built value.
    pub fn part_kind(&self) -> Option<Part> {
        let v = self.part.as_value()?;
        match v {
            "a" | "A" => Some(Part::Application),
            "o" | "O" => Some(Part::OperatingSystem),
            "h" | "H" => Some(Part::Hardware),
            _ => None,
        }
    }

    /// The part, plain (see [`Av::to_plain`]).
    pub fn part_str(&self) -> Option<String> {
        self.part.to_plain()
    }

    /// The vendor, plain and lowercase (`"baxter"`); `None` for ANY and NA.
    pub fn vendor_str(&self) -> Option<String> {
        self.vendor.to_plain()
    }

    /// The product, plain and lowercase (`"sigma_spectrum"`); `None` for ANY and NA.
    pub fn product_str(&self) -> Option<String> {
        self.product.to_plain()
    }

    /// The version, plain and lowercase (`"8.00.01"`); `None` for ANY and NA.
    pub fn version_str(&self) -> Option<String> {
        self.version.to_plain()
    }

    /// The update, plain and lowercase; `None` for ANY and NA.
    pub fn update_str(&self) -> Option<String> {
        self.update.to_plain()
    }

    /// The legacy edition, plain and lowercase; `None` for ANY and NA.
    pub fn edition_str(&self) -> Option<String> {
        self.edition.to_plain()
    }

    /// The language tag, plain and lowercase (`"en-us"`); `None` for ANY and NA.
    pub fn language_str(&self) -> Option<String> {
        self.language.to_plain()
    }

    /// The software edition, plain and lowercase; `None` for ANY and NA.
    pub fn sw_edition_str(&self) -> Option<String> {
        self.sw_edition.to_plain()
    }

    /// The target software, plain and lowercase; `None` for ANY and NA.
    pub fn target_sw_str(&self) -> Option<String> {
        self.target_sw.to_plain()
    }

    /// The target hardware, plain and lowercase; `None` for ANY and NA.
    pub fn target_hw_str(&self) -> Option<String> {
        self.target_hw.to_plain()
    }

    /// The other attribute, plain and lowercase; `None` for ANY and NA.
    pub fn other_str(&self) -> Option<String> {
        self.other.to_plain()
    }
}

impl fmt::Display for Wfn {
    /// The formatted string, the binding NISTIR 7695 §4 says producers must emit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_fs())
    }
}

impl FromStr for Wfn {
    type Err = CpeError;

    fn from_str(s: &str) -> Result<Wfn, CpeError> {
        Wfn::parse(s)
    }
}

/// Why a CPE name could not be read. Parts of the input in a message are cut to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CpeError {
    #[error(
        "not a CPE name (starts with {found:?}): expected a formatted string \"cpe:2.3:...\", a URI \"cpe:/...\" or a WFN \"wfn:[...]\""
    )]
    UnknownPrefix { found: String },
    #[error("CPE name of {len} bytes is longer than the {max} accepted", max = MAX_NAME_LEN)]
    TooLong { len: usize },
    #[error(
        "character {found:?} at byte {at} cannot appear in a CPE name: only printable ASCII without spaces"
    )]
    BadCharacter { at: usize, found: char },
    #[error(
        "formatted string has {found} fields after \"cpe:2.3:\" where exactly 11 are required (quote a colon inside a value as \\:)"
    )]
    FieldCount { found: usize },
    #[error("URI has {found} components after \"cpe:/\" where at most 7 are allowed")]
    ComponentCount { found: usize },
    #[error(
        "packed edition component {packed:?} does not hold the five values edition~sw_edition~target_sw~target_hw~other"
    )]
    Packing { packed: String },
    #[error("invalid percent-encoding {form:?} in the {attr} component of a URI")]
    PercentEncoding { attr: Attr, form: String },
    #[error("invalid {attr} value {value:?}: {reason}")]
    Value {
        attr: Attr,
        value: String,
        reason: &'static str,
    },
    #[error("malformed WFN at byte {at}: {reason}")]
    WfnSyntax { at: usize, reason: &'static str },
    #[error(
        "unknown WFN attribute {name:?}: expected part, vendor, product, version, update, edition, language, sw_edition, target_sw, target_hw or other"
    )]
    UnknownAttribute { name: String },
    #[error("WFN attribute {attr} is given twice: give each attribute once")]
    DuplicateAttribute { attr: Attr },
}

impl CpeError {
    fn value(attr: Attr, value: &str, reason: &'static str) -> CpeError {
        CpeError::Value {
            attr,
            value: cut(value, 64).to_owned(),
            reason,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Value strings: the logical characters of a quoted value, and the rules of NISTIR 7695 §5.3.2.

/// One logical character of a value string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// A character standing for itself, whether it was quoted or not.
    Char(char),
    /// An unquoted `*`.
    Star,
    /// An unquoted `?`.
    Quest,
}

/// The logical characters of a value string in WFN form. Lenient, for hand-built values: a trailing
/// lone backslash stands for itself, and unquoted punctuation is read as if quoted.
fn tokens(v: &str) -> impl Iterator<Item = Tok> + '_ {
    let mut chars = v.chars();
    std::iter::from_fn(move || {
        let c = chars.next()?;
        Some(match c {
            '\\' => Tok::Char(chars.next().unwrap_or('\\')),
            '*' => Tok::Star,
            '?' => Tok::Quest,
            c => Tok::Char(c),
        })
    })
}

fn has_wildcards(v: &str) -> bool {
    tokens(v).any(|tok| matches!(tok, Tok::Star | Tok::Quest))
}

/// Checks a value string in WFN form against NISTIR 7695 §5.3.2 (Figure 5-1) and the per-attribute
/// rules of §5.3.3, returning the reason it fails.
///
/// Accepted: unquoted ASCII letters, digits and `_`; a backslash before any printable ASCII
/// character that is not a letter or digit (`\_` included, harmless though Figure 5-1 omits it);
/// wildcards as one leading group and one trailing group around a non-empty body, each group a
/// single `*` or a run of `?`; a value made only of `?` (§5.3.2 rule 4 allows `?` by itself and in
/// sequence). Refused: a lone `*` (rule 4), `**`, `?*`, `*?` groups (NISTIR 7696 §5.2), a wildcard
/// inside the body, and a lone quoted hyphen (rule 6).
fn check_value(attr: Attr, v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("a value string cannot be empty");
    }
    let bytes = v.as_bytes();
    // The three regions: leading wildcards, body, trailing wildcards.
    let mut lead_star = 0usize;
    let mut lead_quest = 0usize;
    let mut body_len = 0usize;
    let mut trail_star = 0usize;
    let mut trail_quest = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' {
            let Some(&next) = bytes.get(i + 1) else {
                return Err("it ends with a lone escape character \\");
            };
            if !next.is_ascii_graphic() {
                return Err("only a printable character can follow the escape character \\");
            }
            if next.is_ascii_alphanumeric() {
                return Err("a letter or digit must not be quoted with \\");
            }
            if trail_star + trail_quest > 0 {
                return Err("a wildcard can only be at the start or the end of a value");
            }
            body_len += 1;
            i += 2;
            continue;
        }
        if b == b'*' || b == b'?' {
            let (star, quest) = if body_len == 0 {
                (&mut lead_star, &mut lead_quest)
            } else {
                (&mut trail_star, &mut trail_quest)
            };
            if b == b'*' {
                *star += 1;
            } else {
                *quest += 1;
            }
            if *star > 1 {
                return Err("an unquoted * cannot be repeated");
            }
            if *star == 1 && *quest > 0 {
                return Err("unquoted * and ? cannot be next to each other");
            }
        } else if b.is_ascii_alphanumeric() || b == b'_' {
            if trail_star + trail_quest > 0 {
                return Err("a wildcard can only be at the start or the end of a value");
            }
            body_len += 1;
        } else if b.is_ascii_graphic() {
            return Err(
                "punctuation must be quoted with \\ (and . - only in a formatted string or URI)",
            );
        } else {
            return Err("only printable ASCII characters without spaces are allowed");
        }
        i += 1;
    }
    if body_len == 0 && lead_star > 0 {
        return Err("a lone * is the logical value ANY, not a value string");
    }
    if v == "\\-" {
        return Err(
            "a quoted hyphen alone is not a value string (a lone - is the logical value NA)",
        );
    }
    match attr {
        Attr::Part if !matches!(v, "a" | "o" | "h" | "A" | "O" | "H") => {
            Err("part must be a, o or h")
        }
        Attr::Language if !is_language_tag(v) => {
            Err("language must be a language tag such as en or en-us (RFC 5646)")
        }
        _ => Ok(()),
    }
}

/// `LANGTAG = language ["-" region]`, `language = 2*3ALPHA`, `region = 2ALPHA / 3DIGIT` (NISTIR 7695
/// Figures 6-2 and 6-3), on a value in WFN form where the hyphen is quoted.
fn is_language_tag(v: &str) -> bool {
    let (language, region) = match v.split_once("\\-") {
        Some((language, region)) => (language, Some(region)),
        None => (v, None),
    };
    let language_ok =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_alphabetic());
    let region_ok = match region {
        None => true,
        Some(r) => {
            r.len() == 2 && r.bytes().all(|b| b.is_ascii_alphabetic())
                || r.len() == 3 && r.bytes().all(|b| b.is_ascii_digit())
        }
    };
    language_ok && region_ok
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// At most `max` characters of `s`, for error messages.
fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_rules() {
        let ok = [
            "a", "?", "???", "*a", "a*", "*a*", "??a??", "?a*", "*a??", r"\-a", r"a\-", r"\\",
            r"\*", r"a\_b", r"*\-",
        ];
        for v in ok {
            assert_eq!(check_value(Attr::Product, v), Ok(()), "{v}");
        }
        let bad = [
            "", "*", "**", "?*", "*?", "a**", "a?*", "a*?", "a?b", "a*b", "?a?b", r"\-", r"\a",
            "a\\", "a b", "a.b", "é",
        ];
        for v in bad {
            assert!(check_value(Attr::Product, v).is_err(), "{v}");
        }
    }

    #[test]
    fn language_tags() {
        for v in ["en", "eng", r"en\-us", r"en\-US", r"es\-419"] {
            assert!(is_language_tag(v), "{v}");
        }
        for v in [
            "", "e", "engl", r"en\-", r"en\-u", r"en\-usa", r"en\-41", "en-us", "e1",
        ] {
            assert!(!is_language_tag(v), "{v}");
        }
    }

    #[test]
    fn tokens_read_escapes_one_character_at_a_time() {
        let toks: Vec<Tok> = tokens(r"\\*a\?").collect();
        assert_eq!(
            toks,
            [Tok::Char('\\'), Tok::Star, Tok::Char('a'), Tok::Char('?')]
        );
        assert_eq!(tokens("x\\").last(), Some(Tok::Char('\\')));
    }

    #[test]
    fn cut_respects_characters() {
        assert_eq!(cut("ééé", 2), "éé");
        assert_eq!(cut("ab", 5), "ab");
    }
}
