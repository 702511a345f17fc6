//! A tolerant, zero-copy HL7 v2 message parser.
//!
//! [`parse`] finds the segments (terminated by CR, LF or CRLF; empty ones skipped) and the delimiters
//! (from MSH-1 and MSH-2); fields, repetitions, components and sub-components are split lazily when asked
//! for, so a message costs one pass and one small vector of segment slices. Values are bytes: non-UTF-8
//! text survives, and escape sequences are decoded only on request ([`Value::decoded`]).
//!
//! Numbering follows HL7: fields and components count from 1, and for MSH the field separator itself is
//! MSH-1 and the encoding characters MSH-2, so MSH-3 is the first field after them. Repetitions count from
//! 0, as in HAPI's Terser (`PID-3(1)` is the second identifier).
//!
//! Caps: [`MAX_SEGMENTS`] segments per message (the rest is ignored and [`Message::truncated`] says so),
//! [`MAX_FIELDS`] fields per segment, [`MAX_REPETITIONS`] repetitions and [`MAX_COMPONENTS`] components
//! or sub-components per value; asking beyond a cap returns `None`.

use std::borrow::Cow;

/// At most this many segments are read from one message.
pub const MAX_SEGMENTS: usize = 10_000;
/// Fields beyond this number are not reachable.
pub const MAX_FIELDS: usize = 1000;
/// Repetitions beyond this index are not reachable.
pub const MAX_REPETITIONS: usize = 1000;
/// Components and sub-components beyond this number are not reachable.
pub const MAX_COMPONENTS: usize = 1000;

/// Why bytes are not an HL7 v2 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hl7Error {
    /// The first segment is not `MSH`.
    NoMsh,
    /// `MSH` is not followed by a field separator and encoding characters.
    BadDelimiters,
}

impl std::fmt::Display for Hl7Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hl7Error::NoMsh => "hl7 message does not start with an MSH segment",
            Hl7Error::BadDelimiters => {
                "hl7 MSH segment has no field separator and encoding characters"
            }
        })
    }
}

impl std::error::Error for Hl7Error {}

/// The delimiters of one message, from MSH-1 and MSH-2. A delimiter the message does not define (a short
/// MSH-2, or one repeating an earlier delimiter) is `None` and never splits anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub field: u8,
    pub component: Option<u8>,
    pub repetition: Option<u8>,
    pub escape: Option<u8>,
    pub subcomponent: Option<u8>,
    /// The v2.7 truncation character (usually `#`), when MSH-2 has a fifth character.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    /// `|^~\&`, the delimiters nearly every message uses.
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: Some(b'^'),
            repetition: Some(b'~'),
            escape: Some(b'\\'),
            subcomponent: Some(b'&'),
            truncation: None,
        }
    }
}

impl Delimiters {
    /// Delimiters that split nothing and decode nothing (for MSH-1 and MSH-2).
    fn literal(field: u8) -> Self {
        Delimiters {
            field,
            component: None,
            repetition: None,
            escape: None,
            subcomponent: None,
            truncation: None,
        }
    }
}

/// A parsed message: segment slices and delimiters, borrowed from the input.
#[derive(Clone)]
pub struct Message<'a> {
    raw: &'a [u8],
    delimiters: Delimiters,
    segments: Vec<&'a [u8]>,
    truncated: bool,
}

impl std::fmt::Debug for Message<'_> {
    // Segment names only: field values may be patient data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("len", &self.raw.len())
            .field("delimiters", &self.delimiters)
            .field("segments", &self.segments.len())
            .field("truncated", &self.truncated)
            .finish()
    }
}

/// Segments [`parse`] makes room for before it counts them.
const SEGMENTS_RESERVED: usize = 16;

/// Parses one message. Fails only when the bytes do not start with `MSH` and delimiters (leading
/// whitespace and a UTF-8 byte-order mark are skipped); anything after that is accepted as it comes.
pub fn parse(bytes: &[u8]) -> Result<Message<'_>, Hl7Error> {
    let start = bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(bytes)
        .trim_ascii_start();
    let Some(after) = start.strip_prefix(b"MSH") else {
        return Err(Hl7Error::NoMsh);
    };
    let delimiters = read_delimiters(after)?;
    // Room for a typical message's segments (an ORU^R01 has ten or so): no regrowing.
    let mut segments = Vec::with_capacity(SEGMENTS_RESERVED);
    let mut truncated = false;
    // Segments end at CR, LF or both (an empty piece between them is skipped); the last one may lack
    // its terminator.
    let ends = memchr::memchr2_iter(b'\r', b'\n', start).chain(std::iter::once(start.len()));
    let mut from = 0;
    for end in ends {
        let seg = &start[from..end];
        from = end + 1;
        if seg.is_empty() {
            continue;
        }
        if segments.len() == MAX_SEGMENTS {
            truncated = true;
            break;
        }
        segments.push(seg);
    }
    Ok(Message {
        raw: start,
        delimiters,
        segments,
        truncated,
    })
}

/// Reads MSH-1 and MSH-2 from the bytes after `MSH`.
fn read_delimiters(after: &[u8]) -> Result<Delimiters, Hl7Error> {
    let Some((&field, rest)) = after.split_first() else {
        return Err(Hl7Error::BadDelimiters);
    };
    if field == b'\r' || field == b'\n' {
        return Err(Hl7Error::BadDelimiters);
    }
    let enc_len = rest
        .iter()
        .position(|&b| b == field || b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    let enc = &rest[..enc_len];
    if enc.is_empty() {
        return Err(Hl7Error::BadDelimiters);
    }
    // The delimiters taken so far: each must differ from those before it.
    let mut seen = [field, 0, 0, 0, 0, 0];
    let mut taken = 1;
    let mut take = |i: usize| -> Option<u8> {
        let b = *enc.get(i)?;
        if seen[..taken].contains(&b) {
            return None;
        }
        seen[taken] = b;
        taken += 1;
        Some(b)
    };
    let component = take(0);
    let repetition = take(1);
    let escape = take(2);
    let subcomponent = take(3);
    let truncation = if enc.len() == 5 { take(4) } else { None };
    Ok(Delimiters {
        field,
        component,
        repetition,
        escape,
        subcomponent,
        truncation,
    })
}

impl<'a> Message<'a> {
    /// The message bytes (from `MSH` on).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// Segments in order, empty ones skipped.
    pub fn segments(&self) -> impl ExactSizeIterator<Item = Segment<'a>> + '_ {
        let delimiters = self.delimiters;
        self.segments
            .iter()
            .map(move |&raw| Segment { raw, delimiters })
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// More than [`MAX_SEGMENTS`] segments: the rest were ignored.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The first segment with this name.
    pub fn segment(&self, name: &str) -> Option<Segment<'a>> {
        self.segments_named(name).next()
    }

    /// Every segment with this name, in order.
    pub fn segments_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Segment<'a>> + 's {
        self.segments().filter(move |s| s.name() == name.as_bytes())
    }

    /// The decoded value of `seg_name`-`field_no`, repetition `repetition` (from 0), component
    /// `component` (from 1; 0 means the whole repetition), in the first segment of that name.
    pub fn field(
        &self,
        seg_name: &str,
        field_no: usize,
        repetition: usize,
        component: usize,
    ) -> Option<Cow<'a, [u8]>> {
        let rep = self
            .segment(seg_name)?
            .field(field_no)?
            .repetition(repetition)?;
        let value = if component == 0 {
            rep
        } else {
            rep.component(component)?
        };
        Some(value.decoded())
    }

    /// A value by its HL7 name, decoded and as text (invalid UTF-8 replaced): `PID-5` (the first
    /// repetition, components kept), `PID-5.1` (a component), `PID-5.1.1` (a sub-component), `PID-3(1).1`
    /// (a component of the second repetition). The first segment of that name is used.
    pub fn get(&self, path: &str) -> Option<String> {
        let (seg, rest) = path.split_once('-')?;
        let mut parts = rest.split('.');
        let field_part = parts.next()?;
        let (field_no, rep) = match field_part.split_once('(') {
            Some((f, r)) => (f.parse().ok()?, r.strip_suffix(')')?.parse().ok()?),
            None => (field_part.parse().ok()?, 0),
        };
        let mut value = self.segment(seg)?.field(field_no)?.repetition(rep)?;
        if let Some(c) = parts.next() {
            value = value.component(c.parse().ok()?)?;
        }
        if let Some(s) = parts.next() {
            value = value.subcomponent(s.parse().ok()?)?;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(value.text())
    }
}

/// Pieces of a segment split at the field separator that [`Segment::index`] keeps (the name and 32
/// fields); fields past them are found by rescanning.
const INDEXED_PIECES: usize = 33;

/// A segment whose fields were split once: `field(n)` is a lookup.
#[derive(Clone, Copy)]
pub struct FieldIndex<'a> {
    segment: Segment<'a>,
    pieces: [&'a [u8]; INDEXED_PIECES],
    count: usize,
}

impl<'a> FieldIndex<'a> {
    /// The same as [`Segment::field`].
    pub fn field(&self, n: usize) -> Option<Value<'a>> {
        let is_msh = self.segment.is_msh();
        if n == 0 || (is_msh && n <= 2) {
            return self.segment.field(n);
        }
        let index = if is_msh { n - 1 } else { n };
        if index < self.count {
            Some(Value {
                raw: self.pieces[index],
                delimiters: self.segment.delimiters,
            })
        } else if self.count == INDEXED_PIECES {
            self.segment.field(n)
        } else {
            None
        }
    }

    pub fn segment(&self) -> &Segment<'a> {
        &self.segment
    }
}

/// One segment.
#[derive(Clone, Copy)]
pub struct Segment<'a> {
    raw: &'a [u8],
    delimiters: Delimiters,
}

impl std::fmt::Debug for Segment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("name", &String::from_utf8_lossy(cap(self.name(), 16)))
            .field("len", &self.raw.len())
            .finish()
    }
}

impl<'a> Segment<'a> {
    /// The segment's bytes, without its terminator.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The name: the bytes before the first field separator (`MSH`, `PID`, ...).
    pub fn name(&self) -> &'a [u8] {
        let f = self.delimiters.field;
        // Nearly every name is three characters (a few million segments on a large capture, each a
        // `memchr` call otherwise).
        if let [a, b, c, d, ..] = *self.raw
            && d == f
            && a != f
            && b != f
            && c != f
        {
            return &self.raw[..3];
        }
        let end = memchr::memchr(f, self.raw).unwrap_or(self.raw.len());
        &self.raw[..end]
    }

    pub fn is(&self, name: &str) -> bool {
        self.name() == name.as_bytes()
    }

    /// `MSH` followed by the field separator, without scanning for the name's end.
    fn is_msh(&self) -> bool {
        self.raw.len() >= 4 && &self.raw[..3] == b"MSH" && self.raw[3] == self.delimiters.field
    }

    /// Field `n` (from 1; MSH-1 is the field separator, MSH-2 the encoding characters). `None` when the
    /// segment has fewer fields, or `n` is 0 or above [`MAX_FIELDS`].
    pub fn field(&self, n: usize) -> Option<Value<'a>> {
        if n == 0 || n > MAX_FIELDS {
            return None;
        }
        let d = self.delimiters;
        let is_msh = self.is_msh();
        if is_msh && n <= 2 {
            // MSH-1 and MSH-2 hold the delimiters themselves: never split or unescaped.
            let raw = if n == 1 {
                self.raw.get(3..4)?
            } else {
                super::scan::nth_piece(self.raw, d.field, 1)?
            };
            return Some(Value {
                raw,
                delimiters: Delimiters::literal(d.field),
            });
        }
        let index = if is_msh { n - 1 } else { n };
        let raw = super::scan::nth_piece(self.raw, d.field, index)?;
        Some(Value { raw, delimiters: d })
    }

    /// The segment split into fields once, for reading many of them (`field` rescans every time).
    pub fn index(&self) -> FieldIndex<'a> {
        let mut pieces = [&self.raw[..0]; INDEXED_PIECES];
        let count = super::scan::split_into(self.raw, self.delimiters.field, &mut pieces);
        FieldIndex {
            segment: *self,
            pieces,
            count,
        }
    }

    /// The number of fields (by the segment's numbering), at most [`MAX_FIELDS`].
    pub fn field_count(&self) -> usize {
        let pieces = self.raw.split(|&b| b == self.delimiters.field).count() - 1;
        let n = if self.is_msh() { pieces + 1 } else { pieces };
        n.min(MAX_FIELDS)
    }
}

/// A field, repetition, component or sub-component: raw bytes plus the delimiters to split and decode
/// them. Splitting always narrows: a component is split by the sub-component separator only.
#[derive(Clone, Copy)]
pub struct Value<'a> {
    raw: &'a [u8],
    delimiters: Delimiters,
}

impl std::fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Value({} bytes)", self.raw.len())
    }
}

impl<'a> Value<'a> {
    /// The bytes as they are on the wire (escape sequences not decoded).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Empty, the HL7 null `""`, or only separators.
    pub fn is_empty(&self) -> bool {
        let d = self.delimiters;
        self.raw == b"\"\""
            || self.raw.iter().all(|&b| {
                Some(b) == d.component || Some(b) == d.repetition || Some(b) == d.subcomponent
            })
    }

    /// Repetition `i` (from 0).
    pub fn repetition(&self, i: usize) -> Option<Value<'a>> {
        if i > MAX_REPETITIONS {
            return None;
        }
        self.split_nth(self.delimiters.repetition, i)
    }

    /// The repetitions, at most [`MAX_REPETITIONS`].
    pub fn repetitions(&self) -> impl Iterator<Item = Value<'a>> + 'a {
        let d = self.delimiters;
        split_opt(self.raw, d.repetition)
            .take(MAX_REPETITIONS)
            .map(move |raw| Value { raw, delimiters: d })
    }

    /// Component `c` (from 1) of this value (of its first repetition, if it repeats).
    pub fn component(&self, c: usize) -> Option<Value<'a>> {
        if c == 0 || c > MAX_COMPONENTS {
            return None;
        }
        let first = self.split_nth(self.delimiters.repetition, 0)?;
        let mut v = first.split_nth(self.delimiters.component, c - 1)?;
        // A component is only ever split further by the sub-component separator.
        v.delimiters.repetition = None;
        v.delimiters.component = None;
        Some(v)
    }

    /// Sub-component `s` (from 1) of this value (of its first component, if it has several).
    pub fn subcomponent(&self, s: usize) -> Option<Value<'a>> {
        if s == 0 || s > MAX_COMPONENTS {
            return None;
        }
        let first = self.split_nth(self.delimiters.repetition, 0)?;
        let first = first.split_nth(self.delimiters.component, 0)?;
        let mut v = first.split_nth(self.delimiters.subcomponent, s - 1)?;
        v.delimiters.repetition = None;
        v.delimiters.component = None;
        v.delimiters.subcomponent = None;
        Some(v)
    }

    /// The value with escape sequences decoded (borrowed when it has none).
    pub fn decoded(&self) -> Cow<'a, [u8]> {
        unescape(self.raw, &self.delimiters)
    }

    /// The decoded value as text, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        lossy(&self.decoded()).into_owned()
    }

    /// The decoded value as text of at most `max` bytes (cut at a character boundary). Only the first
    /// `4 * max` raw bytes are looked at, so a huge value (a waveform) costs no more than a small one.
    pub fn text_capped(&self, max: usize) -> String {
        let raw = cap(self.raw, max.saturating_mul(4));
        let decoded = unescape(raw, &self.delimiters);
        let mut s = lossy(cap(&decoded, max.saturating_add(4))).into_owned();
        truncate_at_char(&mut s, max);
        s
    }

    /// [`Self::text_capped`], borrowed from the input when it needs no decoding, replacing or cutting.
    pub fn text_capped_cow(&self, max: usize) -> Cow<'a, str> {
        if self.raw.len() <= max
            && self
                .delimiters
                .escape
                .is_none_or(|e| !self.raw.contains(&e))
            && let Ok(s) = std::str::from_utf8(self.raw)
        {
            return Cow::Borrowed(s);
        }
        Cow::Owned(self.text_capped(max))
    }

    /// The value as text when it is its own first component and needs no decoding: at most `max` bytes,
    /// ASCII, no repetition, component or escape character. Equal to
    /// `self.component(1)?.text_capped_cow(max)` whenever it is `Some`, without splitting anything.
    pub fn plain_first_component(&self, max: usize) -> Option<&'a str> {
        let d = self.delimiters;
        let absent = 0x80;
        let plain = self.raw.len() <= max
            && super::scan::plain(
                self.raw,
                d.repetition.unwrap_or(absent),
                d.component.unwrap_or(absent),
                d.escape.unwrap_or(absent),
            );
        // ASCII, so valid UTF-8.
        plain.then(|| std::str::from_utf8(self.raw).ok()).flatten()
    }

    fn split_nth(&self, sep: Option<u8>, n: usize) -> Option<Value<'a>> {
        let raw = match sep {
            Some(sep) => super::scan::nth_piece(self.raw, sep, n)?,
            None if n == 0 => self.raw,
            None => return None,
        };
        Some(Value {
            raw,
            delimiters: self.delimiters,
        })
    }
}

/// Splits on `sep`, or yields the whole slice when there is no separator.
fn split_opt(raw: &[u8], sep: Option<u8>) -> impl Iterator<Item = &[u8]> {
    let mut pieces = sep.map(|sep| raw.split(move |&b| b == sep));
    let mut whole = Some(raw).filter(|_| sep.is_none());
    std::iter::from_fn(move || match pieces.as_mut() {
        Some(p) => p.next(),
        None => whole.take(),
    })
}

fn cap(b: &[u8], max: usize) -> &[u8] {
    &b[..b.len().min(max)]
}

/// Cuts `s` to at most `max` bytes at a character boundary.
/// Text with invalid UTF-8 replaced; valid text (nearly all HL7) takes the fast validator, not the
/// chunking one `from_utf8_lossy` always runs.
fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

pub(crate) fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let mut i = max;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.truncate(i);
    }
}

/// Decodes HL7 escape sequences: `\F\ \S\ \T\ \R\ \E\` (the delimiters), `\P\` (truncation character),
/// `\Xhh..\` (bytes), `\.br\` and `\.sp\` (a line feed). Highlighting (`\H\ \N\`), character-set
/// (`\C..\ \M..\ \Z..\`) and other formatting commands are dropped; an unknown or unterminated sequence
/// is kept as it is. The result is never longer than the input.
pub fn unescape<'a>(raw: &'a [u8], d: &Delimiters) -> Cow<'a, [u8]> {
    let Some(esc) = d.escape else {
        return Cow::Borrowed(raw);
    };
    let Some(first) = memchr::memchr(esc, raw) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let mut rest = &raw[first..];
    while let Some(i) = rest.iter().position(|&b| b == esc) {
        out.extend_from_slice(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(end) = after.iter().position(|&b| b == esc) else {
            // Unterminated: keep the rest literally.
            out.extend_from_slice(&rest[i..]);
            return Cow::Owned(out);
        };
        let seq = &after[..end];
        if !decode_sequence(seq, d, esc, &mut out) {
            out.extend_from_slice(&rest[i..i + end + 2]);
        }
        rest = &after[end + 1..];
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

/// Appends what one escape sequence (the bytes between the escape characters) stands for; `false` when it
/// is not a known sequence.
fn decode_sequence(seq: &[u8], d: &Delimiters, esc: u8, out: &mut Vec<u8>) -> bool {
    let single = |b: Option<u8>, out: &mut Vec<u8>| match b {
        Some(b) => {
            out.push(b);
            true
        }
        None => false,
    };
    match seq {
        b"F" => single(Some(d.field), out),
        b"S" => single(d.component, out),
        b"T" => single(d.subcomponent, out),
        b"R" => single(d.repetition, out),
        b"E" => single(Some(esc), out),
        b"P" => single(d.truncation, out),
        b"H" | b"N" => true,
        b".br" => {
            out.push(b'\n');
            true
        }
        [b'.', b's', b'p', ..] => {
            out.push(b'\n');
            true
        }
        [b'.', ..] => true,
        [b'X', hex @ ..] if !hex.is_empty() && hex.len() % 2 == 0 => {
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return false;
            }
            out.extend(
                hex.chunks_exact(2)
                    .map(|p| (hex_val(p[0]) << 4) | hex_val(p[1])),
            );
            true
        }
        [b'C' | b'M' | b'Z', ..] => true,
        _ => false,
    }
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADT: &[u8] = b"MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|GHH LAB|GHH|20240101120000||ADT^A01^ADT_A01|MSG00001|P|2.5.1\r\
EVN|A01|20240101120000\r\
PID|1||100001^^^GHH^MR~200002^^^SSA^SS||DOE^JANE^A||19650312|F\r\
PV1|1|I|ICU^07^01";

    #[test]
    fn msh_numbering() {
        let m = parse(ADT).unwrap();
        assert_eq!(m.get("MSH-1").as_deref(), Some("|"));
        assert_eq!(m.get("MSH-2").as_deref(), Some("^~\\&"));
        assert_eq!(m.get("MSH-3").as_deref(), Some("ADT1"));
        assert_eq!(m.get("MSH-9").as_deref(), Some("ADT^A01^ADT_A01"));
        assert_eq!(m.get("MSH-9.1").as_deref(), Some("ADT"));
        assert_eq!(m.get("MSH-9.2").as_deref(), Some("A01"));
        assert_eq!(m.get("MSH-10").as_deref(), Some("MSG00001"));
        assert_eq!(m.get("MSH-12").as_deref(), Some("2.5.1"));
        assert_eq!(m.get("MSH-13"), None);
        assert_eq!(m.get("EVN-1").as_deref(), Some("A01"));
        assert_eq!(m.get("PID-1").as_deref(), Some("1"));
        assert_eq!(m.segment("MSH").unwrap().field_count(), 12);
        assert_eq!(m.segment("PID").unwrap().field_count(), 8);
        assert_eq!(
            m.field("MSH", 9, 0, 2).as_deref(),
            Some(&b"A01"[..]),
            "field() agrees with get()"
        );
    }

    /// Where the plain shortcut answers, it answers what splitting and decoding would: for values with
    /// and without each delimiter, escapes, non-ASCII bytes, and around the length cap.
    #[test]
    fn plain_first_component_agrees_with_component_one() {
        let values: [&[u8]; 14] = [
            b"",
            b"ADT1",
            b"GOOD HEALTH HOSPITAL",
            b"ADT^A01",
            b"A~B",
            b"A&B",
            b"A\\F\\B",
            b"caf\xc3\xa9",
            b"\xff\xfe",
            b"\"\"",
            b"0123456789abcdef0123456789abcdef01",
            b"0123456789abcdef0123456789abcdef0^1",
            b"^leading",
            b"trailing~",
        ];
        for delimiters in [Delimiters::default(), Delimiters::literal(b'|')] {
            for raw in values {
                let v = Value { raw, delimiters };
                for max in [0, 4, 16, 34, 256] {
                    let shortcut = v.plain_first_component(max);
                    let full = v.component(1).map(|c| c.text_capped_cow(max));
                    if let Some(text) = shortcut {
                        assert_eq!(Some(text), full.as_deref(), "{raw:?} max {max}");
                    }
                }
                let plain = v.plain_first_component(256).is_some();
                let expected = raw.is_ascii() && !raw.iter().any(|b| b"^~\\".contains(b));
                if delimiters == Delimiters::default() {
                    assert_eq!(plain, expected, "{raw:?}");
                }
            }
        }
    }

    #[test]
    fn cr_lf_and_crlf_terminators() {
        let cr = ADT.to_vec();
        let lf: Vec<u8> = ADT
            .iter()
            .map(|&b| if b == b'\r' { b'\n' } else { b })
            .collect();
        let crlf = String::from_utf8(ADT.to_vec())
            .unwrap()
            .replace('\r', "\r\n");
        for bytes in [cr, lf, crlf.into_bytes()] {
            let m = parse(&bytes).unwrap();
            assert_eq!(m.segment_count(), 4);
            let names: Vec<&[u8]> = m.segments().map(|s| s.name()).collect();
            assert_eq!(names, [&b"MSH"[..], b"EVN", b"PID", b"PV1"]);
            assert_eq!(m.get("PV1-3.1").as_deref(), Some("ICU"));
            assert_eq!(m.get("MSH-12").as_deref(), Some("2.5.1"));
        }
    }

    /// A segment's name is what comes before the first field separator, whatever its length, and with
    /// the message's own separator.
    #[test]
    fn segment_names_of_any_length() {
        for (sep, body) in [
            ('|', "ZZ|1\rA|B|C\rOBX|1\rZPID1|x\rNTE\r|x\r"),
            ('#', "ZZ#1\rA#B#C\rOBX#1\rZPID1#x\rNTE\r#x\r"),
        ] {
            let text = format!("MSH{sep}^~\\&{sep}APP\r{body}");
            let m = parse(text.as_bytes()).unwrap();
            let names: Vec<&[u8]> = m.segments().map(|s| s.name()).collect();
            assert_eq!(
                names,
                [&b"MSH"[..], b"ZZ", b"A", b"OBX", b"ZPID1", b"NTE", b""],
                "separator {sep}"
            );
        }
    }

    #[test]
    fn empty_segments_and_leading_blank_lines_are_skipped() {
        let m = parse(b"\r\n\xef\xbb\xbfMSH|^~\\&|A\r\r\n\nPID|1\r\n\r\n").unwrap_err();
        // A BOM after whitespace is not skipped; before it is.
        assert_eq!(m, Hl7Error::NoMsh);
        let m = parse(b"\xef\xbb\xbf\r\nMSH|^~\\&|A\r\r\n\nPID|1\r\n\r\n").unwrap();
        assert_eq!(m.segment_count(), 2);
        assert_eq!(m.get("PID-1").as_deref(), Some("1"));
    }

    #[test]
    fn repetitions_components_subcomponents() {
        let m = parse(ADT).unwrap();
        assert_eq!(m.get("PID-3").as_deref(), Some("100001^^^GHH^MR"));
        assert_eq!(m.get("PID-3.1").as_deref(), Some("100001"));
        assert_eq!(m.get("PID-3(1).1").as_deref(), Some("200002"));
        assert_eq!(m.get("PID-3(1).5").as_deref(), Some("SS"));
        assert_eq!(m.get("PID-3(2).1"), None);
        let pid3 = m.segment("PID").unwrap().field(3).unwrap();
        assert_eq!(pid3.repetitions().count(), 2);
        let m = parse(b"MSH|^~\\&\rPID|||1&2&3^x").unwrap();
        assert_eq!(m.get("PID-3.1.2").as_deref(), Some("2"));
        assert_eq!(m.get("PID-3.1").as_deref(), Some("1&2&3"));
        assert_eq!(m.get("PID-3.2.1").as_deref(), Some("x"));
    }

    #[test]
    fn custom_delimiters() {
        let m = parse(b"MSH#!~\\&#APP#FAC#####ORU!R01#1#P#2.3\rPID###X!Y&Z~W").unwrap();
        assert_eq!(m.delimiters().field, b'#');
        assert_eq!(m.delimiters().component, Some(b'!'));
        assert_eq!(m.get("MSH-3").as_deref(), Some("APP"));
        assert_eq!(m.get("MSH-9.2").as_deref(), Some("R01"));
        assert_eq!(m.get("MSH-10").as_deref(), Some("1"));
        assert_eq!(m.get("PID-3.2.2").as_deref(), Some("Z"));
        assert_eq!(m.get("PID-3(1)").as_deref(), Some("W"));
    }

    #[test]
    fn truncation_character_of_v2_7() {
        let m = parse(b"MSH|^~\\&#|APP|FAC|||||ACK^A01|9|P|2.7\rNTE|1||a\\P\\b").unwrap();
        assert_eq!(m.delimiters().truncation, Some(b'#'));
        assert_eq!(m.delimiters().subcomponent, Some(b'&'));
        assert_eq!(m.get("MSH-2").as_deref(), Some("^~\\&#"));
        assert_eq!(m.get("MSH-3").as_deref(), Some("APP"));
        assert_eq!(m.get("MSH-10").as_deref(), Some("9"));
        assert_eq!(m.get("NTE-3").as_deref(), Some("a#b"));
    }

    #[test]
    fn escapes_are_decoded_on_request() {
        let m = parse(
            b"MSH|^~\\&\rOBX|1|TX|||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X0D0A\\g\\.br\\h\\H\\i\\N\\\\Zxx\\j",
        )
        .unwrap();
        let v = m.segment("OBX").unwrap().field(5).unwrap();
        assert_eq!(&v.decoded()[..], b"a|b^c&d~e\\f\r\ng\nhij");
        assert_eq!(v.raw()[..4], *b"a\\F\\");
        // Unknown, odd or unterminated sequences stay as they are.
        let m = parse(b"MSH|^~\\&\rNTE|1|\\Q\\ \\X0\\ \\XZZ\\ \\.br").unwrap();
        assert_eq!(
            m.get("NTE-2").as_deref(),
            Some("\\Q\\ \\X0\\ \\XZZ\\ \\.br")
        );
        // No escape sequence: borrowed.
        let m = parse(ADT).unwrap();
        let v = m.field("PID", 5, 0, 1).unwrap();
        assert!(matches!(v, Cow::Borrowed(b"DOE")));
    }

    #[test]
    fn non_utf8_bytes_survive() {
        let m = parse(b"MSH|^~\\&|A\rPID|||1||M\xfcller^J\xf6rg\xff").unwrap();
        assert_eq!(m.field("PID", 5, 0, 1).as_deref(), Some(&b"M\xfcller"[..]));
        assert_eq!(
            m.field("PID", 5, 0, 2).as_deref(),
            Some(&b"J\xf6rg\xff"[..])
        );
        assert_eq!(m.get("PID-5.1").as_deref(), Some("M\u{fffd}ller"));
    }

    #[test]
    fn not_hl7_is_an_error() {
        assert_eq!(parse(b"").unwrap_err(), Hl7Error::NoMsh);
        assert_eq!(parse(b"PID|1").unwrap_err(), Hl7Error::NoMsh);
        assert_eq!(parse(b"MSH").unwrap_err(), Hl7Error::BadDelimiters);
        assert_eq!(parse(b"MSH\r").unwrap_err(), Hl7Error::BadDelimiters);
        assert_eq!(parse(b"MSH||").unwrap_err(), Hl7Error::BadDelimiters);
        assert!(parse(b"MSH|^").is_ok());
    }

    #[test]
    fn short_or_repeated_encoding_characters_split_nothing_extra() {
        let m = parse(b"MSH|^^|A~B&C^D").unwrap();
        assert_eq!(m.delimiters().repetition, None);
        assert_eq!(m.get("MSH-3.1").as_deref(), Some("A~B&C"));
        assert_eq!(m.get("MSH-3.2").as_deref(), Some("D"));
    }

    #[test]
    fn segment_and_field_caps_are_not_panics() {
        let mut big = b"MSH|^~\\&".to_vec();
        for _ in 0..MAX_SEGMENTS + 5 {
            big.extend_from_slice(b"\rZ|1");
        }
        let m = parse(&big).unwrap();
        assert_eq!(m.segment_count(), MAX_SEGMENTS);
        assert!(m.truncated());
        let mut wide = b"MSH|^~\\&\rOBX".to_vec();
        wide.extend(std::iter::repeat_n(b'|', 5000));
        let m = parse(&wide).unwrap();
        let obx = m.segment("OBX").unwrap();
        assert_eq!(obx.field_count(), MAX_FIELDS);
        assert!(obx.field(MAX_FIELDS).is_some());
        assert!(obx.field(MAX_FIELDS + 1).is_none());
        assert!(obx.field(0).is_none());
        assert_eq!(m.get("OBX-99999999999999999999"), None);
        assert_eq!(m.get("OBX-1(99999)"), None);
    }

    #[test]
    fn text_capped_cuts_at_a_char_boundary() {
        let m = parse("MSH|^~\\&\rOBX|1|ST|||ééééé".as_bytes()).unwrap();
        let v = m.segment("OBX").unwrap().field(5).unwrap();
        assert_eq!(v.text_capped(5), "éé");
        assert_eq!(v.text_capped(100), "ééééé");
    }

    #[test]
    fn debug_does_not_show_values() {
        let m = parse(ADT).unwrap();
        let dbg = format!(
            "{m:?} {:?} {:?}",
            m.segment("PID").unwrap(),
            m.segment("PID").unwrap().field(5).unwrap()
        );
        assert!(!dbg.contains("DOE"), "{dbg}");
        assert!(!dbg.contains("100001"), "{dbg}");
    }
}
