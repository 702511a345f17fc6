//! Compact JSON, byte for byte as `serde_json::to_writer` writes it, with the common case of a string
//! made fast.
//!
//! serde_json escapes every string (every value, every struct key) one byte at a time through a table:
//! on a large capture's report, millions of short strings, that loop was 40% of the time spent writing
//! JSON. Here a string is first checked for anything to escape (eight bytes at a time) and, as nearly
//! always, written as it is between its quotes; a string that does need
//! escaping, every number and every other scalar is written by serde_json itself, so the output is
//! the same bytes. Only the compact format: the indented one (for a terminal) stays serde_json's.

use std::fmt::{self, Write as _};
use std::io;

use serde::ser::{self, Serialize};

/// Writes `value` as compact JSON, the same bytes as `serde_json::to_writer`.
pub fn to_writer<W: io::Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    value.serialize(&mut Serializer {
        out: writer,
        scratch: String::new(),
    })
}

/// Whether `s` holds a byte JSON requires escaped: a control character, `"` or `\`. Eight bytes at a
/// time (SWAR); a short tail is padded with spaces, which need no escape.
#[inline(always)]
fn needs_escape(s: &[u8]) -> bool {
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        if word_needs_escape(u64::from_le_bytes(w.try_into().expect("eight bytes"))) {
            return true;
        }
    }
    let rest = words.remainder();
    if rest.is_empty() {
        return false;
    }
    let mut last = [b' '; 8];
    last[..rest.len()].copy_from_slice(rest);
    word_needs_escape(u64::from_le_bytes(last))
}

/// Whether any byte of `x` is below 0x20, `"` or `\` (the "has less" and "has zero" bit tricks:
/// exact as a yes or no).
#[inline(always)]
fn word_needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let control = x.wrapping_sub(ONES * 0x20) & !x;
    let q = x ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let b = x ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b;
    (control | quote | backslash) & HIGHS != 0
}

/// `fn $name(self, v: $ty)` for each pair, written by serde_json.
macro_rules! scalars {
    ($($name:ident: $ty:ty),* $(,)?) => {
        $(fn $name(self, v: $ty) -> serde_json::Result<()> {
            self.scalar(&v)
        })*
    };
}

/// The compound traits that write their elements as [`ser::SerializeSeq`] does.
macro_rules! seq_like {
    ($($tr:path: $method:ident),* $(,)?) => {
        $(impl<W: io::Write> $tr for Compound<'_, W> {
            type Ok = ();
            type Error = serde_json::Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
                ser::SerializeSeq::serialize_element(self, value)
            }
            fn end(self) -> serde_json::Result<()> {
                Compound::end(self)
            }
        })*
    };
}

pub struct Serializer<W> {
    out: W,
    /// Reused by `collect_str` (addresses, MACs), so that a `Display` value costs no allocation.
    scratch: String,
}

impl<W: io::Write> Serializer<W> {
    #[inline(always)]
    fn raw(&mut self, bytes: &[u8]) -> serde_json::Result<()> {
        self.out.write_all(bytes).map_err(serde_json::Error::io)
    }

    fn string(&mut self, s: &str) -> serde_json::Result<()> {
        if needs_escape(s.as_bytes()) {
            return serde_json::to_writer(&mut self.out, s);
        }
        self.raw(b"\"")?;
        self.raw(s.as_bytes())?;
        self.raw(b"\"")
    }

    /// A scalar as serde_json writes it.
    fn scalar<T: Serialize + ?Sized>(&mut self, v: &T) -> serde_json::Result<()> {
        serde_json::to_writer(&mut self.out, v)
    }
}

/// A sequence, map or struct being written: whether a comma comes before the next element.
pub struct Compound<'a, W> {
    ser: &'a mut Serializer<W>,
    first: bool,
    /// Closing bytes: `]`, `}`, or `]}`/`}}` for an enum variant wrapped in an object.
    close: &'static [u8],
}

impl<W: io::Write> Compound<'_, W> {
    fn comma(&mut self) -> serde_json::Result<()> {
        if self.first {
            self.first = false;
            Ok(())
        } else {
            self.ser.raw(b",")
        }
    }

    fn end(self) -> serde_json::Result<()> {
        self.ser.raw(self.close)
    }
}

impl<'a, W: io::Write> ser::Serializer for &'a mut Serializer<W> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Compound<'a, W>;
    type SerializeTuple = Compound<'a, W>;
    type SerializeTupleStruct = Compound<'a, W>;
    type SerializeTupleVariant = Compound<'a, W>;
    type SerializeMap = Compound<'a, W>;
    type SerializeStruct = Compound<'a, W>;
    type SerializeStructVariant = Compound<'a, W>;

    fn serialize_bool(self, v: bool) -> serde_json::Result<()> {
        self.raw(if v { b"true" } else { b"false" })
    }
    // Numbers exactly as serde_json writes them (itoa, and its float formatting with `null` for
    // non-finite values).
    scalars! {
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128, serialize_f32: f32, serialize_f64: f64,
    }
    fn serialize_char(self, v: char) -> serde_json::Result<()> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> serde_json::Result<()> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> serde_json::Result<()> {
        self.scalar(v)
    }
    fn serialize_none(self) -> serde_json::Result<()> {
        self.raw(b"null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> serde_json::Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> serde_json::Result<()> {
        self.raw(b"null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> serde_json::Result<()> {
        self.raw(b"null")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> serde_json::Result<()> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        self.raw(b"{")?;
        self.string(variant)?;
        self.raw(b":")?;
        value.serialize(&mut *self)?;
        self.raw(b"}")
    }
    fn serialize_seq(self, _len: Option<usize>) -> serde_json::Result<Compound<'a, W>> {
        self.raw(b"[")?;
        Ok(Compound {
            ser: self,
            first: true,
            close: b"]",
        })
    }
    fn serialize_tuple(self, len: usize) -> serde_json::Result<Compound<'a, W>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> serde_json::Result<Compound<'a, W>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> serde_json::Result<Compound<'a, W>> {
        self.raw(b"{")?;
        self.string(variant)?;
        self.raw(b":[")?;
        Ok(Compound {
            ser: self,
            first: true,
            close: b"]}",
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> serde_json::Result<Compound<'a, W>> {
        self.raw(b"{")?;
        Ok(Compound {
            ser: self,
            first: true,
            close: b"}",
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> serde_json::Result<Compound<'a, W>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> serde_json::Result<Compound<'a, W>> {
        self.raw(b"{")?;
        self.string(variant)?;
        self.raw(b":{")?;
        Ok(Compound {
            ser: self,
            first: true,
            close: b"}}",
        })
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> serde_json::Result<()> {
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        write!(s, "{value}").map_err(|_| ser::Error::custom("a Display value failed"))?;
        let res = self.string(&s);
        self.scratch = s;
        res
    }
}

impl<W: io::Write> ser::SerializeSeq for Compound<'_, W> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
        self.comma()?;
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> serde_json::Result<()> {
        Compound::end(self)
    }
}

// Tuples, tuple structs and tuple variants are arrays (a variant's wrapping object is opened and
// closed by the serializer).
seq_like! {
    ser::SerializeTuple: serialize_element,
    ser::SerializeTupleStruct: serialize_field,
    ser::SerializeTupleVariant: serialize_field,
}

impl<W: io::Write> ser::SerializeMap for Compound<'_, W> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> serde_json::Result<()> {
        self.comma()?;
        // The report's maps are small and keyed by strings; any other key is written by serde_json
        // itself, with its rules (numbers and booleans quoted, other types refused).
        if let serde_json::Value::String(k) = serde_json::to_value(key)? {
            return self.ser.string(&k);
        }
        let mut buf = Vec::new();
        serde_json::to_writer(&mut buf, &KeyProbe(key))?;
        // `{"key":null}`: the quoted key lies between the brace and the colon.
        self.ser.raw(&buf[1..buf.len() - b":null}".len()])
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
        self.ser.raw(b":")?;
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> serde_json::Result<()> {
        Compound::end(self)
    }
}

/// A map of one entry, `T` to null: serde_json writes `T` as it writes any map key.
struct KeyProbe<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for KeyProbe<'_, T> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, &())?;
        m.end()
    }
}

impl<W: io::Write> ser::SerializeStruct for Compound<'_, W> {
    type Ok = ();
    type Error = serde_json::Error;
    /// Inlined into each derived `Serialize`, where `key` is a literal: its escape check folds away
    /// and its copy becomes a few fixed-size moves instead of a call to `memcpy` (a report on a large
    /// capture writes tens of millions of keys: this was 7% of an analysis's instructions).
    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        // `,"key":` in as few writes as the key allows (the report's keys never need escaping).
        let open: &[u8] = if self.first { b"\"" } else { b",\"" };
        self.first = false;
        if needs_escape(key.as_bytes()) {
            self.ser.raw(&open[..open.len() - 1])?;
            serde_json::to_writer(&mut self.ser.out, key)?;
            self.ser.raw(b":")?;
        } else {
            self.ser.raw(open)?;
            self.ser.raw(key.as_bytes())?;
            self.ser.raw(b"\":")?;
        }
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> serde_json::Result<()> {
        Compound::end(self)
    }
}

impl<W: io::Write> ser::SerializeStructVariant for Compound<'_, W> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> serde_json::Result<()> {
        Compound::end(self)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;

    fn same<T: Serialize + ?Sized>(v: &T) {
        let mut ours = Vec::new();
        to_writer(&mut ours, v).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(v).unwrap()
        );
    }

    #[test]
    fn escape_check_is_exact_for_every_byte_at_every_position() {
        // Neighbours that sit at the edges of the bit tricks: space, `!`, `#`, `[`, `]`, 0x80, 0xff.
        for filler in [b'a', b' ', b'!', b'#', b'[', b']', 0x80, 0xff] {
            for b in 0..=255u8 {
                let expect = b < 0x20 || b == b'"' || b == b'\\';
                for len in 1..=19 {
                    for at in 0..len {
                        let mut s = vec![filler; len];
                        s[at] = b;
                        assert_eq!(
                            needs_escape(&s),
                            expect,
                            "{b:#x} at {at} of {len} in {filler:#x}"
                        );
                    }
                }
            }
        }
        assert!(!needs_escape(b""));
        assert!(!needs_escape("Grüße, 患者 ~\u{7f}".as_bytes()));
    }

    #[derive(Serialize)]
    enum Kind {
        Unit,
        New(u8),
        Tuple(u8, &'static str),
        Struct { a: Option<f32> },
    }

    #[derive(Serialize)]
    struct Pair(u8, &'static str);

    #[derive(Serialize)]
    struct Row<'a> {
        text: &'a str,
        #[serde(rename = "with \"quote\"")]
        odd_key: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        none: Option<u8>,
        floats: [f64; 5],
        small: f32,
        signed: i64,
        flag: bool,
        c: char,
        kinds: Vec<Kind>,
        by_name: BTreeMap<String, u64>,
        by_number: BTreeMap<u16, bool>,
        unit: (),
        pair: (u8, &'a str),
        tuple_struct: Pair,
        bytes: &'a [u8],
    }

    #[test]
    fn writes_what_serde_json_writes() {
        for text in [
            "",
            "plain ASCII, longer than one word of eight",
            "quote \" backslash \\ slash /",
            "controls \u{0}\u{1}\t\n\r\u{1f} and DEL \u{7f}",
            "PID-5 Müller^José 患者 😀",
            "\\",
        ] {
            same(text);
            let row = Row {
                text,
                odd_key: u64::MAX,
                skipped: None,
                none: None,
                floats: [0.0, -1.5, 1e300, f64::NAN, 0.1 + 0.2],
                small: 0.95,
                signed: i64::MIN,
                flag: true,
                c: '"',
                kinds: vec![
                    Kind::Unit,
                    Kind::New(7),
                    Kind::Tuple(1, text),
                    Kind::Struct { a: Some(0.5) },
                    Kind::Struct { a: None },
                ],
                by_name: [(text.to_string(), 1), ("b".to_string(), 2)].into(),
                by_number: [(443, true), (2575, false)].into(),
                unit: (),
                pair: (4, text),
                tuple_struct: Pair(5, "\"x\""),
                bytes: text.as_bytes(),
            };
            same(&row);
        }
        same(&Vec::<u8>::new());
        same(&BTreeMap::<String, u8>::new());
    }

    #[test]
    fn display_values_go_through_the_same_path() {
        struct Shown;
        impl Serialize for Shown {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("10.0.0.{} \"{}\"", 1, "x"))
            }
        }
        same(&[Shown, Shown]);
    }
}
