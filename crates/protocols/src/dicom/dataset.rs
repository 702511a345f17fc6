//! A streaming scanner over the start of a data set, looking for patient-identifying attributes and the
//! modality. It keeps one element header and one short value at a time, so a data set of any size costs
//! a few hundred bytes; after a byte budget (or at pixel data) it stops and the rest is skipped unseen.
//!
//! Sequences are not parsed as trees: their items are walked flat, so an attribute inside a sequence
//! item (a worklist's Scheduled Procedure Step Modality) is found like a top-level one.

/// How the data set of a presentation context is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// No accepted transfer syntax known (mid-stream pick-up): guess from the first element.
    Unknown,
    ImplicitLittle,
    ExplicitLittle,
    /// Deflated or big endian: not read.
    Unsupported,
}

impl Syntax {
    pub(crate) fn from_transfer_syntax(uid: &str) -> Syntax {
        match uid {
            "1.2.840.10008.1.2" => Syntax::ImplicitLittle,
            // Deflated explicit little endian, and the retired big endian.
            "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.2" => Syntax::Unsupported,
            "" => Syntax::Unknown,
            // Explicit little endian and every encapsulated (JPEG, RLE, ...) syntax.
            _ => Syntax::ExplicitLittle,
        }
    }
}

/// The attributes reported, with the names the report uses.
pub(crate) const PATIENT_TAGS: [(u32, &str); 10] = [
    (0x0010_0010, "PatientName (0010,0010)"),
    (0x0010_0020, "PatientID (0010,0020)"),
    (0x0010_0030, "PatientBirthDate (0010,0030)"),
    (0x0010_0040, "PatientSex (0010,0040)"),
    (0x0010_1040, "PatientAddress (0010,1040)"),
    (0x0010_2154, "PatientTelephoneNumbers (0010,2154)"),
    (0x0008_0050, "AccessionNumber (0008,0050)"),
    (0x0008_0090, "ReferringPhysicianName (0008,0090)"),
    (0x0008_0080, "InstitutionName (0008,0080)"),
    (0x0010_1000, "OtherPatientIDs (0010,1000)"),
];
pub(crate) const MODALITY: u32 = 0x0008_0060;
const PIXEL_DATA: u32 = 0x7FE0_0010;
const ITEM_GROUP: u16 = 0xFFFE;
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Bytes of one data set read before giving up on it.
pub(crate) const SCAN_BUDGET: u64 = 16 * 1024;
/// Longest value collected; longer values of interesting tags count as present but are not kept.
pub(crate) const MAX_VALUE: usize = 128;

/// Sequences that may hold patient or worklist attributes, for implicit VR data sets, where a defined-length
/// sequence cannot be told from any other element without a dictionary.
const KNOWN_SEQUENCES: [u32; 8] = [
    0x0040_0100, // ScheduledProcedureStepSequence
    0x0040_0275, // RequestAttributesSequence
    0x0008_1120, // ReferencedPatientSequence
    0x0010_1002, // OtherPatientIDsSequence
    0x0008_1110, // ReferencedStudySequence
    0x0040_0270, // ScheduledStepAttributesSequence
    0x0032_1064, // RequestedProcedureCodeSequence
    0x0040_0008, // ScheduledProtocolCodeSequence
];

fn is_interesting(tag: u32) -> bool {
    tag == MODALITY || PATIENT_TAGS.iter().any(|&(t, _)| t == tag)
}

/// Explicit VRs with a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"SV"
            | b"UV"
    )
}

fn plausible_vr(vr: [u8; 2]) -> bool {
    vr[0].is_ascii_uppercase() && vr[1].is_ascii_uppercase()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    /// Collect a value of `tag` into `value`, `remaining` bytes to go.
    Collect {
        tag: u32,
        remaining: u32,
    },
    /// Skip `remaining` value bytes.
    Skip {
        remaining: u32,
    },
    /// Nothing more to read in this data set.
    Done,
}

pub(crate) struct DatasetScanner {
    syntax: Syntax,
    state: State,
    hdr: [u8; 12],
    hdr_len: usize,
    value: Vec<u8>,
    scanned: u64,
}

impl DatasetScanner {
    pub(crate) fn new(syntax: Syntax) -> DatasetScanner {
        DatasetScanner {
            syntax,
            state: if syntax == Syntax::Unsupported {
                State::Done
            } else {
                State::Header
            },
            hdr: [0; 12],
            hdr_len: 0,
            value: Vec::new(),
            scanned: 0,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    pub(crate) fn capacity(&self) -> usize {
        self.value.capacity()
    }

    /// Feeds the next bytes of the data set; `found(tag, value)` is called for each interesting element
    /// with its whole value, or `None` when the value is longer than [`MAX_VALUE`] and was not kept.
    pub(crate) fn feed(&mut self, mut b: &[u8], found: &mut impl FnMut(u32, Option<&[u8]>)) {
        while !b.is_empty() {
            if self.scanned >= SCAN_BUDGET && matches!(self.state, State::Header) {
                self.state = State::Done;
            }
            match self.state {
                State::Done => return,
                State::Skip { remaining } => {
                    let n = (remaining as usize).min(b.len());
                    b = &b[n..];
                    self.scanned += n as u64;
                    let remaining = remaining - n as u32;
                    self.state = if remaining == 0 {
                        State::Header
                    } else {
                        State::Skip { remaining }
                    };
                }
                State::Collect { tag, remaining } => {
                    let n = (remaining as usize).min(b.len());
                    self.value.extend_from_slice(&b[..n]);
                    b = &b[n..];
                    self.scanned += n as u64;
                    let remaining = remaining - n as u32;
                    if remaining == 0 {
                        found(tag, Some(&self.value));
                        self.value.clear();
                        self.state = State::Header;
                    } else {
                        self.state = State::Collect { tag, remaining };
                    }
                }
                State::Header => {
                    let need = self.header_need();
                    let n = (need - self.hdr_len).min(b.len());
                    self.hdr[self.hdr_len..self.hdr_len + n].copy_from_slice(&b[..n]);
                    self.hdr_len += n;
                    b = &b[n..];
                    self.scanned += n as u64;
                    if self.hdr_len == self.header_need() {
                        self.header_complete(found);
                    }
                }
            }
        }
    }

    /// Bytes of header needed so far: 8, or 12 once an explicit long VR is known.
    fn header_need(&mut self) -> usize {
        if self.hdr_len < 6 {
            return 8;
        }
        if self.syntax == Syntax::Unknown {
            self.syntax = if plausible_vr([self.hdr[4], self.hdr[5]]) {
                Syntax::ExplicitLittle
            } else {
                Syntax::ImplicitLittle
            };
        }
        let group = u16::from_le_bytes([self.hdr[0], self.hdr[1]]);
        if self.syntax == Syntax::ExplicitLittle
            && group != ITEM_GROUP
            && long_vr([self.hdr[4], self.hdr[5]])
        {
            12
        } else {
            8
        }
    }

    fn header_complete(&mut self, found: &mut impl FnMut(u32, Option<&[u8]>)) {
        let h = self.hdr;
        let hdr_len = self.hdr_len;
        self.hdr_len = 0;
        let group = u16::from_le_bytes([h[0], h[1]]);
        let elem = u16::from_le_bytes([h[2], h[3]]);
        let tag = (u32::from(group) << 16) | u32::from(elem);
        if group == ITEM_GROUP {
            // Item or delimiter: walk into items, nothing to skip.
            return;
        }
        if tag == PIXEL_DATA {
            self.state = State::Done;
            return;
        }
        let (len, is_sequence) = match self.syntax {
            Syntax::ExplicitLittle => {
                let vr = [h[4], h[5]];
                if !plausible_vr(vr) {
                    self.state = State::Done;
                    return;
                }
                let len = if hdr_len == 12 {
                    u32::from_le_bytes([h[8], h[9], h[10], h[11]])
                } else {
                    u32::from(u16::from_le_bytes([h[6], h[7]]))
                };
                (len, &vr == b"SQ" || (&vr == b"UN" && len == UNDEFINED))
            }
            _ => {
                let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
                (len, len == UNDEFINED || KNOWN_SEQUENCES.contains(&tag))
            }
        };
        if is_sequence {
            // Walk the items flat.
            return;
        }
        if len == UNDEFINED {
            // Only sequences and encapsulated pixel data have undefined length; either way, stop.
            self.state = State::Done;
            return;
        }
        if is_interesting(tag) {
            if len as usize <= MAX_VALUE {
                if len == 0 {
                    found(tag, Some(&[]));
                } else {
                    self.value.clear();
                    self.state = State::Collect {
                        tag,
                        remaining: len,
                    };
                }
                return;
            }
            // Too long to keep: present, value not kept.
            found(tag, None);
        }
        if len > 0 {
            self.state = State::Skip { remaining: len };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(tag: u32, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
        b.extend_from_slice(&(tag as u16).to_le_bytes());
        b.extend_from_slice(vr);
        if long_vr(*vr) {
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            b.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        b.extend_from_slice(value);
        b
    }

    fn scan(syntax: Syntax, data: &[u8], step: usize) -> Vec<(u32, Vec<u8>)> {
        let mut s = DatasetScanner::new(syntax);
        let mut out = Vec::new();
        for c in data.chunks(step.max(1)) {
            s.feed(c, &mut |t, v: Option<&[u8]>| {
                out.push((t, v.unwrap_or(b"<long>").to_vec()))
            });
        }
        out
    }

    #[test]
    fn explicit_elements_are_found_in_any_split() {
        let mut d = explicit(0x0008_0060, b"CS", b"CT");
        d.extend(explicit(0x0008_1030, b"LO", b"HEAD "));
        d.extend(explicit(0x0009_1000, b"OB", &[1; 300]));
        d.extend(explicit(0x0010_0010, b"PN", b"DOE^JANE"));
        d.extend(explicit(0x7FE0_0010, b"OW", &[0; 40]));
        d.extend(explicit(0x0010_0020, b"LO", b"AFTER_PIXELS"));
        for step in [1, 3, 7, 1000] {
            let f = scan(Syntax::Unknown, &d, step);
            assert_eq!(
                f,
                vec![
                    (0x0008_0060, b"CT".to_vec()),
                    (0x0010_0010, b"DOE^JANE".to_vec())
                ],
                "step {step}"
            );
        }
    }

    #[test]
    fn implicit_sequence_items_are_walked() {
        let mut d = Vec::new();
        // (0040,0100) SQ undefined length, one item of undefined length holding Modality.
        d.extend_from_slice(&[0x40, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF]);
        d.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        d.extend_from_slice(&[8, 0, 0x60, 0, 2, 0, 0, 0, b'M', b'R']);
        d.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        d.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let f = scan(Syntax::ImplicitLittle, &d, 5);
        assert_eq!(f, vec![(0x0008_0060, b"MR".to_vec())]);
    }

    #[test]
    fn budget_stops_the_scan() {
        let mut d = explicit(0x0009_0010, b"LO", &[b'x'; 60000]);
        d.extend(explicit(0x0010_0010, b"PN", b"LATE"));
        assert!(scan(Syntax::ExplicitLittle, &d, 4096).is_empty());
    }

    #[test]
    fn unsupported_syntax_reads_nothing() {
        let d = explicit(0x0010_0010, b"PN", b"X");
        assert!(scan(Syntax::Unsupported, &d, 10).is_empty());
    }
}
