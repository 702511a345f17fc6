//! Binding and unbinding (NISTIR 7695 §6): the formatted string, the URI and the WFN notation.

use super::{
    Attr, Av, CpeError, MAX_NAME_LEN, Tok, Wfn, check_value, cut, starts_with_ignore_case, tokens,
};

pub(super) const FS_PREFIX: &str = "cpe:2.3:";
pub(super) const URI_PREFIX: &str = "cpe:/";
pub(super) const WFN_PREFIX: &str = "wfn:[";

/// The seven attributes with a place in a URI (NISTIR 7695 §6.1.2.3), in order.
const URI_ATTRS: [Attr; 7] = [
    Attr::Part,
    Attr::Vendor,
    Attr::Product,
    Attr::Version,
    Attr::Update,
    Attr::Edition,
    Attr::Language,
];

/// The five attributes packed into a URI's edition component (§6.1.2.1.3), in order.
const PACKED_ATTRS: [Attr; 5] = [
    Attr::Edition,
    Attr::SwEdition,
    Attr::TargetSw,
    Attr::TargetHw,
    Attr::Other,
];

// ---------------------------------------------------------------------------------------------------
// Formatted string (§6.2).

/// unbind_fs (§6.2.3.2), with the checks of Figure 6-3 that the pseudocode leaves out.
pub(super) fn unbind_fs(s: &str) -> Result<Wfn, CpeError> {
    check_name(s, FS_PREFIX)?;
    let body = &s[FS_PREFIX.len()..];
    // get_comp_fs: the colon delimits fields unless it is quoted.
    let mut fields = [""; 11];
    let mut n_fields = 0;
    let mut start = 0;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b':' => {
                if let Some(field) = fields.get_mut(n_fields) {
                    *field = &body[start..i];
                }
                n_fields += 1;
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    if let Some(field) = fields.get_mut(n_fields) {
        *field = &body[start..];
    }
    n_fields += 1;
    if n_fields != fields.len() {
        return Err(CpeError::FieldCount { found: n_fields });
    }
    let mut wfn = Wfn::default();
    for (attr, field) in Attr::ALL.into_iter().zip(fields) {
        *wfn.get_mut(attr) = unbind_value_fs(attr, field)?;
    }
    Ok(wfn)
}

/// unbind_value_fs and add_quoting (§6.2.3.2): `*` is ANY, `-` is NA, and in a value string the
/// unquoted `.` and `-` gain their WFN quoting. Other punctuation must already be quoted (Figure 6-3).
fn unbind_value_fs(attr: Attr, field: &str) -> Result<Av, CpeError> {
    match field {
        "*" => return Ok(Av::Any),
        "-" => return Ok(Av::Na),
        _ => {}
    }
    let mut out = String::with_capacity(field.len() + 8);
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\\' => {
                match bytes.get(i + 1) {
                    // `\_` is the same character as `_`; keep values in one canonical form.
                    Some(b'_') => out.push('_'),
                    Some(&next) => {
                        out.push('\\');
                        out.push(char::from(next));
                    }
                    None => {
                        return Err(CpeError::value(
                            attr,
                            field,
                            "it ends with a lone escape character \\",
                        ));
                    }
                }
                i += 2;
                continue;
            }
            b'.' | b'-' => {
                out.push('\\');
                out.push(char::from(b));
            }
            b'*' | b'?' | b'_' => out.push(char::from(b)),
            b if b.is_ascii_alphanumeric() => out.push(char::from(b)),
            _ => {
                return Err(CpeError::value(
                    attr,
                    field,
                    "punctuation other than - . _ must be quoted with \\ in a formatted string",
                ));
            }
        }
        i += 1;
    }
    check_value(attr, &out).map_err(|reason| CpeError::value(attr, field, reason))?;
    Ok(Av::Value(out))
}

/// bind_to_fs (§6.2.2.2): all eleven fields, ANY as `*` and NA as `-`.
pub(super) fn bind_to_fs(wfn: &Wfn) -> String {
    let mut fs = String::with_capacity(64);
    fs.push_str(FS_PREFIX);
    for (idx, attr) in Attr::ALL.into_iter().enumerate() {
        if idx > 0 {
            fs.push(':');
        }
        match wfn.get(attr) {
            Av::Any => fs.push('*'),
            Av::Na => fs.push('-'),
            Av::Value(v) => push_fs_value(&mut fs, v),
        }
    }
    fs
}

/// process_quoted_chars (§6.2.2.2): quoted `.`, `-` and `_` lose their escape; other quoted
/// characters keep it; wildcards stay unquoted.
fn push_fs_value(out: &mut String, v: &str) {
    for tok in tokens(v) {
        match tok {
            Tok::Char(c) if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') => {
                out.push(c)
            }
            Tok::Char(c) => {
                out.push('\\');
                out.push(c);
            }
            Tok::Star => out.push('*'),
            Tok::Quest => out.push('?'),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// URI (§6.1).

/// unbind_URI (§6.1.3.2). The URI is lowercased first, as decode() does.
pub(super) fn unbind_uri(s: &str) -> Result<Wfn, CpeError> {
    check_name(s, URI_PREFIX)?;
    let body = s[URI_PREFIX.len()..].to_ascii_lowercase();
    let mut wfn = Wfn::default();
    if body.is_empty() {
        // `cpe:/` alone: the empty component list of Figure 6-1, every attribute ANY.
        return Ok(wfn);
    }
    let n_components = body.split(':').count();
    if n_components > URI_ATTRS.len() {
        return Err(CpeError::ComponentCount {
            found: n_components,
        });
    }
    for (attr, comp) in URI_ATTRS.into_iter().zip(body.split(':')) {
        if attr == Attr::Edition && comp.starts_with('~') {
            unpack(comp, &mut wfn)?;
        } else {
            *wfn.get_mut(attr) = decode(attr, comp)?;
        }
    }
    Ok(wfn)
}

/// unpack (§6.1.3.2): `~edition~sw_edition~target_sw~target_hw~other`. Like the pseudocode, a tilde
/// after the fifth separator belongs to `other` (and is quoted there).
fn unpack(packed: &str, wfn: &mut Wfn) -> Result<(), CpeError> {
    let mut values = packed[1..].splitn(PACKED_ATTRS.len(), '~');
    for attr in PACKED_ATTRS {
        let Some(value) = values.next() else {
            return Err(CpeError::Packing {
                packed: cut(packed, 64).to_owned(),
            });
        };
        *wfn.get_mut(attr) = decode(attr, value)?;
    }
    Ok(())
}

/// decode (§6.1.3.2): a blank is ANY, `-` is NA; `.`, `-` and `~` gain quoting; the percent-encoded
/// forms of Table 6-1 decode to quoted characters and `%01`/`%02` to the wildcards `?`/`*`.
///
/// Beyond the pseudocode: `%2d`, `%2e` and `%5f` (allowed by Figure 6-1, never produced by the
/// binder) decode to `\-`, `\.` and `_`, and any other unencoded character is refused, as the "fully
/// robust implementation" of §6.1.3 should.
fn decode(attr: Attr, comp: &str) -> Result<Av, CpeError> {
    match comp {
        "" => return Ok(Av::Any),
        "-" => return Ok(Av::Na),
        _ => {}
    }
    let mut out = String::with_capacity(comp.len() + 8);
    let bytes = comp.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'.' | b'-' | b'~' => {
                out.push('\\');
                out.push(char::from(b));
            }
            b'%' => {
                let code = bytes
                    .get(i + 1..i + 3)
                    .and_then(|hex| Some(hex_value(hex[0])? << 4 | hex_value(hex[1])?));
                match code {
                    Some(0x01) => out.push('?'),
                    Some(0x02) => out.push('*'),
                    Some(b'_') => out.push('_'),
                    Some(c) if c.is_ascii_graphic() && !c.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(char::from(c));
                    }
                    _ => {
                        let end = (i + 3).min(comp.len());
                        return Err(CpeError::PercentEncoding {
                            attr,
                            form: comp.get(i..end).unwrap_or("%").to_owned(),
                        });
                    }
                }
                i += 3;
                continue;
            }
            b'_' => out.push('_'),
            b if b.is_ascii_alphanumeric() => out.push(char::from(b)),
            _ => {
                return Err(CpeError::value(
                    attr,
                    comp,
                    "characters other than letters, digits, - . _ ~ must be percent-encoded in a URI",
                ));
            }
        }
        i += 1;
    }
    check_value(attr, &out).map_err(|reason| CpeError::value(attr, comp, reason))?;
    Ok(Av::Value(out))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// bind_to_URI (§6.1.2.3), with pack() for the edition component and trim() of trailing colons.
pub(super) fn bind_to_uri(wfn: &Wfn) -> String {
    let mut uri = String::with_capacity(64);
    uri.push_str(URI_PREFIX);
    for attr in URI_ATTRS {
        if attr == Attr::Edition {
            let packed: [String; 5] = PACKED_ATTRS.map(|attr| bind_value_for_uri(wfn.get(attr)));
            if packed[1..].iter().all(String::is_empty) {
                uri.push_str(&packed[0]);
            } else {
                for value in &packed {
                    uri.push('~');
                    uri.push_str(value);
                }
            }
        } else {
            uri.push_str(&bind_value_for_uri(wfn.get(attr)));
        }
        uri.push(':');
    }
    while uri.ends_with(':') {
        uri.pop();
    }
    uri
}

/// bind_value_for_URI and transform_for_uri (§6.1.2.3): ANY is blank, NA is `-`; quoted characters
/// are percent-encoded as in Table 6-1 (`-` and `.` stay bare), wildcards as in Table 6-2.
fn bind_value_for_uri(av: &Av) -> String {
    let v = match av {
        Av::Any => return String::new(),
        Av::Na => return "-".to_owned(),
        Av::Value(v) => v,
    };
    let mut out = String::with_capacity(v.len() + 8);
    for tok in tokens(v) {
        match tok {
            Tok::Char(c) if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') => {
                out.push(c)
            }
            Tok::Char(c) => {
                // Only hand-built values hold characters outside printable ASCII; encode their bytes
                // rather than lose them.
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02x}"));
                }
            }
            Tok::Star => out.push_str("%02"),
            Tok::Quest => out.push_str("%01"),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// WFN notation (§5.1).

/// The WFN form of a value string, with canonical quoting: every character that is not a letter,
/// digit or underscore is quoted, wildcards are not.
pub(super) fn render_wfn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 4);
    for tok in tokens(v) {
        match tok {
            Tok::Char(c) if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            Tok::Char(c) => {
                out.push('\\');
                out.push(c);
            }
            Tok::Star => out.push('*'),
            Tok::Quest => out.push('?'),
        }
    }
    out
}

pub(super) fn to_wfn_string(wfn: &Wfn) -> String {
    let mut out = String::with_capacity(160);
    out.push_str(WFN_PREFIX);
    for (idx, attr) in Attr::ALL.into_iter().enumerate() {
        if idx > 0 {
            out.push_str(", ");
        }
        out.push_str(attr.name());
        out.push('=');
        out.push_str(&wfn.get(attr).to_string());
    }
    out.push(']');
    out
}

pub(super) fn parse_wfn(s: &str) -> Result<Wfn, CpeError> {
    check_len(s)?;
    if !starts_with_ignore_case(s, WFN_PREFIX) {
        return Err(CpeError::UnknownPrefix {
            found: cut(s, 8).to_owned(),
        });
    }
    let bytes = s.as_bytes();
    let syntax = |at: usize, reason: &'static str| CpeError::WfnSyntax { at, reason };
    let skip_ws = |mut i: usize| {
        while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        i
    };
    let mut wfn = Wfn::default();
    let mut seen = [false; 11];
    let mut i = skip_ws(WFN_PREFIX.len());
    if bytes.get(i) == Some(&b']') {
        i += 1;
    } else {
        loop {
            let start = i;
            while bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                i += 1;
            }
            if start == i {
                return Err(syntax(i, "expected an attribute name"));
            }
            let name = &s[start..i];
            let attr = Attr::from_name(name).ok_or_else(|| CpeError::UnknownAttribute {
                name: cut(name, 64).to_owned(),
            })?;
            if std::mem::replace(&mut seen[attr.index()], true) {
                return Err(CpeError::DuplicateAttribute { attr });
            }
            i = skip_ws(i);
            if bytes.get(i) != Some(&b'=') {
                return Err(syntax(i, "expected = after the attribute name"));
            }
            i = skip_ws(i + 1);
            let av = if bytes.get(i) == Some(&b'"') {
                let open = i;
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                if j >= bytes.len() {
                    return Err(syntax(open, "value string has no closing double quote"));
                }
                let raw = &s[open + 1..j];
                i = j + 1;
                let value = canonical_quoting(raw);
                check_value(attr, &value).map_err(|reason| CpeError::value(attr, raw, reason))?;
                Av::Value(value)
            } else {
                let start = i;
                while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
                    i += 1;
                }
                match &s[start..i] {
                    w if w.eq_ignore_ascii_case("ANY") => Av::Any,
                    w if w.eq_ignore_ascii_case("NA") => Av::Na,
                    _ => {
                        return Err(syntax(
                            start,
                            "expected ANY, NA or a value string in double quotes",
                        ));
                    }
                }
            };
            *wfn.get_mut(attr) = av;
            i = skip_ws(i);
            match bytes.get(i) {
                Some(b',') => i = skip_ws(i + 1),
                Some(b']') => {
                    i += 1;
                    break;
                }
                _ => return Err(syntax(i, "expected , or ] after a value")),
            }
        }
    }
    if skip_ws(i) != bytes.len() {
        return Err(syntax(i, "unexpected text after the closing ]"));
    }
    Ok(wfn)
}

/// `\_` and `_` are the same character; keep the form without the escape.
fn canonical_quoting(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('_') => out.push('_'),
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// Checks shared by the two bindings.

fn check_len(s: &str) -> Result<(), CpeError> {
    if s.len() > MAX_NAME_LEN {
        return Err(CpeError::TooLong { len: s.len() });
    }
    Ok(())
}

/// Length, prefix, and characters: a bound name is printable ASCII without spaces (Figures 6-1 to
/// 6-3), which also makes every byte offset below a character boundary.
fn check_name(s: &str, prefix: &str) -> Result<(), CpeError> {
    check_len(s)?;
    if !starts_with_ignore_case(s, prefix) {
        return Err(CpeError::UnknownPrefix {
            found: cut(s, 8).to_owned(),
        });
    }
    if let Some((at, found)) = s.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
        return Err(CpeError::BadCharacter { at, found });
    }
    Ok(())
}
