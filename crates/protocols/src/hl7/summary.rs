//! What medsentry reports about one HL7 message: its type and routing, the acknowledgement, which
//! PHI-bearing fields travelled, the observations and the device identifiers.
//!
//! Patient values (the [`PatientRef`] and each [`Observation`]'s value) are kept in fields that callers
//! print only when asked (`--show-phi`); their `Debug` output says `<redacted>`. Every string is capped at
//! [`MAX_TEXT`] bytes and every list has a cap, so a hostile message cannot blow memory.

use std::borrow::Cow;

use super::parse::{FieldIndex, Message, Segment, Value};

/// The longest string kept from one field, in bytes.
pub const MAX_TEXT: usize = 256;
/// Distinct device identifiers kept per message.
pub const MAX_DEVICE_IDS: usize = 32;
/// Repetitions of one device-identifier field looked at.
const MAX_ID_REPETITIONS: usize = 8;

/// The fields whose presence [`Hl7Summary::phi_fields`] reports, in the order reported (segment, then
/// field number). Chosen from the HIPAA Safe Harbor identifiers: names, identifiers (MRN, SSN, account,
/// licence, visit and policy numbers), dates tied to a person (birth, death), addresses and phone numbers.
/// A whole-segment entry (`GT1`, `IN1`, `MRG`, `NK1`) stands for the person segment carrying any of the
/// listed fields. Treating-physician names (PV1-7/8/9/17) are listed because together with the visit they
/// identify the patient's care. OBX-5 (observation values) is clinical data, not an identifier, and is not
/// listed; reports still never show values unless asked.
pub const PHI_FIELDS: &[PhiField] = &[
    PhiField::field("GT1", &[3, 5, 6, 8, 12], "GT1"),
    PhiField::field("IN1", &[16, 19, 36, 49], "IN1"),
    PhiField::field("MRG", &[1, 2, 3, 4, 7], "MRG"),
    PhiField::field("NK1", &[2, 4, 5, 6], "NK1"),
    PhiField::field("PID", &[2], "PID-2"),
    PhiField::field("PID", &[3], "PID-3"),
    PhiField::field("PID", &[4], "PID-4"),
    PhiField::field("PID", &[5], "PID-5"),
    PhiField::field("PID", &[6], "PID-6"),
    PhiField::field("PID", &[7], "PID-7"),
    PhiField::field("PID", &[9], "PID-9"),
    PhiField::field("PID", &[11], "PID-11"),
    PhiField::field("PID", &[13], "PID-13"),
    PhiField::field("PID", &[14], "PID-14"),
    PhiField::field("PID", &[18], "PID-18"),
    PhiField::field("PID", &[19], "PID-19"),
    PhiField::field("PID", &[20], "PID-20"),
    PhiField::field("PID", &[21], "PID-21"),
    PhiField::field("PID", &[29], "PID-29"),
    PhiField::field("PV1", &[7], "PV1-7"),
    PhiField::field("PV1", &[8], "PV1-8"),
    PhiField::field("PV1", &[9], "PV1-9"),
    PhiField::field("PV1", &[17], "PV1-17"),
    PhiField::field("PV1", &[19], "PV1-19"),
];

/// Which of [`PHI_FIELDS`] a message carried: one bit per entry, in [`PHI_FIELDS`] order (a set, not a
/// list: no allocation per message).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct PhiFields(u32);

// Every entry of PHI_FIELDS has its bit.
const _: () = assert!(PHI_FIELDS.len() <= 32);

impl PhiFields {
    fn has(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the field named `name` (`PID-5`, `NK1`) is in the set.
    pub fn contains(self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }

    /// The names, in [`PHI_FIELDS`] order.
    pub fn iter(self) -> impl Iterator<Item = &'static str> {
        PHI_FIELDS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.has(*i))
            .map(|(_, p)| p.name)
    }

    /// The indexes into [`PHI_FIELDS`] of the names in the set.
    pub fn indexes(self) -> impl Iterator<Item = usize> {
        (0..PHI_FIELDS.len()).filter(move |&i| self.has(i))
    }
}

impl std::fmt::Debug for PhiFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for PhiFields {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

/// How many messages carried each of [`PHI_FIELDS`] (per flow, for the `cleartext-phi` finding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhiCounts([u64; PHI_FIELDS.len()]);

impl Default for PhiCounts {
    fn default() -> Self {
        PhiCounts([0; PHI_FIELDS.len()])
    }
}

impl PhiCounts {
    /// Counts one message that carried `fields`.
    pub fn add(&mut self, fields: PhiFields) {
        for i in fields.indexes() {
            self.0[i] += 1;
        }
    }

    /// (name, messages) for every field seen at least once, in [`PHI_FIELDS`] order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        PHI_FIELDS
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(p, n)| (p.name, n))
    }
}

/// One entry of [`PHI_FIELDS`]: reported as `name` when the segment has any of `fields` non-empty.
#[derive(Debug, Clone, Copy)]
pub struct PhiField {
    pub segment: &'static str,
    pub fields: &'static [usize],
    pub name: &'static str,
}

impl PhiField {
    const fn field(segment: &'static str, fields: &'static [usize], name: &'static str) -> Self {
        PhiField {
            segment,
            fields,
            name,
        }
    }
}

/// What medsentry reports per message. Text is borrowed from the message where it needed no decoding
/// (nearly always): a summary costs no allocation for its routing fields. [`Hl7Summary::into_owned`]
/// keeps one beyond the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hl7Summary<'a> {
    /// MSH-9 components 1 and 2 joined by `^` (`ADT^A01`, `ACK^R01`); `ACK` alone when component 2 is
    /// empty.
    pub message_type: Cow<'a, str>,
    /// MSH-10.
    pub control_id: Cow<'a, str>,
    /// MSH-12 component 1.
    pub version: Cow<'a, str>,
    /// MSH-3 to MSH-6, component 1 each.
    pub sending_application: Cow<'a, str>,
    pub sending_facility: Cow<'a, str>,
    pub receiving_application: Cow<'a, str>,
    pub receiving_facility: Cow<'a, str>,
    /// Segments in the message (empty ones not counted).
    pub segments: usize,
    /// MSA-1 (`AA`, `AE`, `AR`, `CA`, ...), when the message has an MSA segment.
    pub ack_code: Option<Cow<'a, str>>,
    /// MSA-2: the control id acknowledged.
    pub acked_control_id: Option<Cow<'a, str>>,
    /// PHI-bearing fields present and non-empty, by name, in [`PHI_FIELDS`] order, without duplicates.
    pub phi_fields: PhiFields,
    /// Patient values: print only with `--show-phi`.
    pub patient: PatientRef,
    /// OBX segments: [`observations`] reads them from the message when a caller needs their values.
    pub observations: usize,
    /// Device identifiers (PRT-10, PRT-16, OBX-18), distinct, at most [`MAX_DEVICE_IDS`].
    pub device_ids: Vec<DeviceIdentifier<'a>>,
}

impl Hl7Summary<'_> {
    /// The summary with its text copied out of the message.
    pub fn into_owned(self) -> Hl7Summary<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Hl7Summary {
            message_type: own(self.message_type),
            control_id: own(self.control_id),
            version: own(self.version),
            sending_application: own(self.sending_application),
            sending_facility: own(self.sending_facility),
            receiving_application: own(self.receiving_application),
            receiving_facility: own(self.receiving_facility),
            segments: self.segments,
            ack_code: self.ack_code.map(own),
            acked_control_id: self.acked_control_id.map(own),
            phi_fields: self.phi_fields,
            patient: self.patient,
            observations: self.observations,
            device_ids: self
                .device_ids
                .into_iter()
                .map(|d| DeviceIdentifier {
                    source: d.source,
                    id: own(d.id),
                    namespace: own(d.namespace),
                    universal_id: own(d.universal_id),
                    universal_id_type: own(d.universal_id_type),
                })
                .collect(),
        }
    }
}

/// Who the message is about. Values are PHI: `Debug` does not show them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PatientRef {
    /// PID-3 component 1 (of the first repetition that has one): the medical record number, usually.
    pub id: Option<String>,
    /// PID-5 (the first repetition with a name) as `FAMILY^GIVEN`, or `FAMILY` when there is no given
    /// name.
    pub name: Option<String>,
    /// PID-7 component 1.
    pub birth_date: Option<String>,
}

impl std::fmt::Debug for PatientRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |v: &Option<String>| if v.is_some() { "<redacted>" } else { "None" };
        f.debug_struct("PatientRef")
            .field("id", &format_args!("{}", redact(&self.id)))
            .field("name", &format_args!("{}", redact(&self.name)))
            .field("birth_date", &format_args!("{}", redact(&self.birth_date)))
            .finish()
    }
}

/// One OBX segment, read on demand: the report needs only how many there are, so nothing is decoded
/// until a caller asks ([`observations`]). Accessors give the decoded text of one field or component
/// (escapes decoded, at most [`MAX_TEXT`] bytes), borrowed from the message when no decoding was needed,
/// empty when the field is absent.
#[derive(Clone, Copy)]
pub struct Observation<'a> {
    obx: Segment<'a>,
}

impl<'a> Observation<'a> {
    /// Field `n`, or its component `c` (0 for the whole field, every repetition).
    fn get(&self, n: usize, c: usize) -> Cow<'a, str> {
        let value = match c {
            0 => self.obx.field(n),
            c => self.obx.field(n).and_then(|v| v.component(c)),
        };
        value.map_or(Cow::Borrowed(""), |v| v.text_capped_cow(MAX_TEXT))
    }

    /// OBX-1.
    pub fn set_id(&self) -> Cow<'a, str> {
        self.get(1, 0)
    }
    /// OBX-2 (`NM`, `ST`, `CWE`, `NA` for waveforms, ...).
    pub fn value_type(&self) -> Cow<'a, str> {
        self.get(2, 0)
    }
    /// OBX-3.1: the code (LOINC `8867-4`).
    pub fn code(&self) -> Cow<'a, str> {
        self.get(3, 1)
    }
    /// OBX-3.2: the code's text.
    pub fn text(&self) -> Cow<'a, str> {
        self.get(3, 2)
    }
    /// OBX-3.3: the coding system (`LN`).
    pub fn code_system(&self) -> Cow<'a, str> {
        self.get(3, 3)
    }
    /// OBX-5, every repetition, escapes decoded, at most [`MAX_TEXT`] bytes (waveforms are cut).
    pub fn value(&self) -> Cow<'a, str> {
        self.get(5, 0)
    }
    /// OBX-6.1.
    pub fn units(&self) -> Cow<'a, str> {
        self.get(6, 1)
    }
    /// OBX-8 (`H`, `L`, ...; repetitions kept with their separator).
    pub fn abnormal_flags(&self) -> Cow<'a, str> {
        self.get(8, 0)
    }
    /// OBX-11 (`F` final, `P` preliminary, ...).
    pub fn status(&self) -> Cow<'a, str> {
        self.get(11, 0)
    }
    /// OBX-14.1.
    pub fn time(&self) -> Cow<'a, str> {
        self.get(14, 1)
    }
    /// OBX-18.1 (first repetition).
    pub fn equipment_id(&self) -> Cow<'a, str> {
        self.get(18, 1)
    }
}

impl std::fmt::Debug for Observation<'_> {
    // The code says what was measured; the value, and its time, are patient data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observation")
            .field("set_id", &self.set_id())
            .field("value_type", &self.value_type())
            .field("code", &self.code())
            .field("code_system", &self.code_system())
            .field("value", &format_args!("<redacted>"))
            .field("units", &self.units())
            .field("status", &self.status())
            .field("equipment_id", &self.equipment_id())
            .finish_non_exhaustive()
    }
}

/// The message's OBX segments, in order, each read only when asked.
pub fn observations<'m, 'a>(msg: &'m Message<'a>) -> impl Iterator<Item = Observation<'a>> + 'm {
    msg.segments()
        .filter(|s| s.name() == b"OBX")
        .map(|obx| Observation { obx })
}

/// A device identifier (an EI value) and the field it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceIdentifier<'a> {
    /// `PRT-10`, `PRT-16` (UDI device identifier) or `OBX-18`.
    pub source: &'static str,
    /// EI.1 entity identifier.
    pub id: Cow<'a, str>,
    /// EI.2 namespace id.
    pub namespace: Cow<'a, str>,
    /// EI.3 universal id (an OID or a GS1/ICCBBA/HIBCC issuer).
    pub universal_id: Cow<'a, str>,
    /// EI.4 universal id type.
    pub universal_id_type: Cow<'a, str>,
}

/// The summary of one parsed message, with the patient's identifier, name and birth date.
pub fn summarize<'a>(msg: &Message<'a>) -> Hl7Summary<'a> {
    summarize_with(msg, true)
}

/// The summary without the patient's values: `patient` stays empty. Which PHI fields the message
/// carried is still read ([`Hl7Summary::phi_fields`]); their values are never copied out.
pub fn summarize_redacted<'a>(msg: &Message<'a>) -> Hl7Summary<'a> {
    summarize_with(msg, false)
}

fn summarize_with<'a>(msg: &Message<'a>, patient_values: bool) -> Hl7Summary<'a> {
    let mut out = Hl7Summary {
        segments: msg.segment_count(),
        ..Hl7Summary::default()
    };
    let mut phi = PhiFields::default();
    let mut seen_msh = false;
    let mut seen_msa = false;
    let mut seen_pid = false;
    for seg in msg.segments() {
        let name = seg.name();
        if name == b"OBX" {
            // The commonest segment by far, and all the report needs of it is the count and OBX-18: no
            // field index, no decoding (see [`observations`]).
            out.observations += 1;
            device_ids(seg.field(18), "OBX-18", &mut out.device_ids);
            continue;
        }
        let phi_segment = PHI_FIELDS.iter().position(|p| p.segment.as_bytes() == name);
        if phi_segment.is_none() && !matches!(name, b"MSH" | b"MSA" | b"PRT") {
            // OBR, EVN, AL1, NTE ...: nothing to read.
            continue;
        }
        // Split once: a summary reads up to twenty fields of a segment.
        let seg = seg.index();
        if let Some(first) = phi_segment {
            for (i, p) in PHI_FIELDS.iter().enumerate().skip(first) {
                if p.segment.as_bytes() != name {
                    break;
                }
                if !phi.has(i) && p.fields.iter().any(|&f| has_content(&seg, f)) {
                    phi.0 |= 1 << i;
                }
            }
        }
        match name {
            b"MSH" if !seen_msh => {
                seen_msh = true;
                read_msh(&seg, &mut out);
            }
            b"MSA" if !seen_msa => {
                seen_msa = true;
                out.ack_code = non_empty(component(&seg, 1, 1));
                out.acked_control_id = non_empty(component(&seg, 2, 1));
            }
            b"PID" if !seen_pid && patient_values => {
                seen_pid = true;
                out.patient = read_patient(&seg);
            }
            b"PRT" => {
                device_ids(seg.field(10), "PRT-10", &mut out.device_ids);
                device_ids(seg.field(16), "PRT-16", &mut out.device_ids);
            }
            _ => {}
        }
    }
    out.phi_fields = phi;
    out
}

fn read_msh<'a>(msh: &FieldIndex<'a>, out: &mut Hl7Summary<'a>) {
    out.message_type = message_type(msh);
    out.control_id = component(msh, 10, 1);
    out.version = component(msh, 12, 1);
    out.sending_application = component(msh, 3, 1);
    out.sending_facility = component(msh, 4, 1);
    out.receiving_application = component(msh, 5, 1);
    out.receiving_facility = component(msh, 6, 1);
}

/// MSH-9.1 and MSH-9.2 joined by `^`: on the wire they nearly always are, so that slice is borrowed.
fn message_type<'a>(msh: &FieldIndex<'a>) -> Cow<'a, str> {
    let kind = component(msh, 9, 1);
    let trigger = component(msh, 9, 2);
    if trigger.is_empty() {
        return kind;
    }
    if let (Cow::Borrowed(k), Cow::Borrowed(t)) = (&kind, &trigger)
        && let Some(raw) = msh.field(9).map(|v| v.raw())
        && let Ok(text) = std::str::from_utf8(raw)
        && text.len() >= k.len() + 1 + t.len()
        && text.starts_with(k)
        && text.as_bytes()[k.len()] == b'^'
        && text[k.len() + 1..].starts_with(t)
        && k.len() + 1 + t.len() <= MAX_TEXT
    {
        return Cow::Borrowed(&text[..k.len() + 1 + t.len()]);
    }
    // Joined by hand: `format!` costs more than the two copies it makes.
    let mut joined = String::with_capacity(kind.len() + 1 + trigger.len());
    joined.push_str(&kind);
    joined.push('^');
    joined.push_str(&trigger);
    super::parse::truncate_at_char(&mut joined, MAX_TEXT);
    Cow::Owned(joined)
}

fn read_patient(pid: &FieldIndex<'_>) -> PatientRef {
    // The first repetition that has a value: a name list may start with an empty legal name.
    let first_with = |n: usize, read: &dyn Fn(Value<'_>) -> Option<String>| {
        pid.field(n)?
            .repetitions()
            .take(MAX_ID_REPETITIONS)
            .find_map(read)
    };
    let text = |v: Option<Value<'_>>| {
        let s = v.map(|v| v.text_capped(MAX_TEXT)).unwrap_or_default();
        (!s.is_empty() && s != "\"\"").then_some(s)
    };
    let name = first_with(5, &|rep| {
        let family = text(rep.subcomponent(1));
        let given = text(rep.component(2));
        let mut n = match (family, given) {
            (None, None) => return None,
            (Some(f), None) => f,
            (f, Some(g)) => format!("{}^{g}", f.unwrap_or_default()),
        };
        super::parse::truncate_at_char(&mut n, MAX_TEXT);
        Some(n)
    });
    PatientRef {
        id: first_with(3, &|rep| text(rep.component(1))),
        name,
        birth_date: non_empty(component(pid, 7, 1)).map(Cow::into_owned),
    }
}

/// Adds the identifiers of every repetition of EI field `field`, skipping empty and duplicate ones.
fn device_ids<'a>(
    field: Option<Value<'a>>,
    source: &'static str,
    out: &mut Vec<DeviceIdentifier<'a>>,
) {
    let Some(field) = field else {
        return;
    };
    for rep in field.repetitions().take(MAX_ID_REPETITIONS) {
        if out.len() >= MAX_DEVICE_IDS {
            return;
        }
        let text = |c| {
            rep.component(c)
                .map_or(Cow::Borrowed(""), |v| v.text_capped_cow(MAX_TEXT))
        };
        // The same device repeats in every OBX of a message: compare the raw components with what is
        // known before building any string.
        let raw = |c| rep.component(c).map_or(&b""[..], |v| v.raw());
        let (raw_id, raw_universal) = (raw(1), raw(3));
        if (raw_id.is_empty() && raw_universal.is_empty())
            || out.iter().any(|d| {
                d.source == source
                    && d.id.as_bytes() == raw_id
                    && d.universal_id.as_bytes() == raw_universal
            })
        {
            continue;
        }
        let (id, universal_id) = (text(1), text(3));
        // Escaped values differ raw but may be equal decoded.
        if (id.is_empty() && universal_id.is_empty())
            || out
                .iter()
                .any(|d| d.source == source && d.id == id && d.universal_id == universal_id)
        {
            continue;
        }
        out.push(DeviceIdentifier {
            source,
            id,
            namespace: text(2),
            universal_id,
            universal_id_type: text(4),
        });
    }
}

/// Component `c` of field `n` (first repetition), decoded and capped; empty when absent.
fn component<'a>(seg: &FieldIndex<'a>, n: usize, c: usize) -> Cow<'a, str> {
    let Some(field) = seg.field(n) else {
        return Cow::Borrowed("");
    };
    // Most routing fields (applications, facilities, control id, version) are one plain component.
    if c == 1
        && let Some(text) = field.plain_first_component(MAX_TEXT)
    {
        return Cow::Borrowed(text);
    }
    field
        .component(c)
        .map_or(Cow::Borrowed(""), |v| v.text_capped_cow(MAX_TEXT))
}

/// `None` for an empty value or the HL7 null `""`.
fn non_empty(s: Cow<'_, str>) -> Option<Cow<'_, str>> {
    (!s.is_empty() && s != "\"\"").then_some(s)
}

fn has_content(seg: &FieldIndex<'_>, n: usize) -> bool {
    seg.field(n).is_some_and(|v: Value<'_>| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::parse;

    const ORU: &[u8] = b"MSH|^~\\&|PM8000_ICU07|ICU|HL7_ENGINE|GENHOSP|20241128173400||ORU^R01^ORU_R01|PM07-0001|P|2.5.1\r\
PID|1||100001^^^GENHOSP^MR||DOE^JANE^A||19650312|F|||1 Main St^^Springfield||(217)555-0101|||||ACCT9001|900-11-0001\r\
PV1|1|I|ICU^07^01||||1234^HOUSE^GREGORY\r\
OBR|1|||vitals\r\
OBX|1|NM|8867-4^Heart rate^LN||78|/min^^UCUM||N|||F|||20241128173400||||PM8000-SN1234^MINDRAY^1.2.3^ISO\r\
OBX|2|NA|ECG^ECG lead II^LN||";

    #[test]
    fn oru_summary() {
        let mut bytes = ORU.to_vec();
        // A 600-sample waveform must be cut at MAX_TEXT.
        for i in 0..600 {
            bytes.extend_from_slice(format!("{}^", i % 100).as_bytes());
        }
        bytes.extend_from_slice(b"||||||F|||||||PM8000-SN1234^MINDRAY^1.2.3^ISO");
        let m = parse(&bytes).unwrap();
        let s = summarize(&m);
        assert_eq!(s.message_type, "ORU^R01");
        assert_eq!(s.control_id, "PM07-0001");
        assert_eq!(s.version, "2.5.1");
        assert_eq!(s.sending_application, "PM8000_ICU07");
        assert_eq!(s.sending_facility, "ICU");
        assert_eq!(s.receiving_application, "HL7_ENGINE");
        assert_eq!(s.receiving_facility, "GENHOSP");
        assert_eq!(s.segments, 6);
        assert_eq!(s.ack_code, None);
        assert_eq!(
            s.phi_fields,
            [
                "PID-3", "PID-5", "PID-7", "PID-11", "PID-13", "PID-18", "PID-19", "PV1-7"
            ]
        );
        assert_eq!(s.patient.id.as_deref(), Some("100001"));
        assert_eq!(s.patient.name.as_deref(), Some("DOE^JANE"));
        assert_eq!(s.patient.birth_date.as_deref(), Some("19650312"));
        assert_eq!(s.observations, 2);
        let obs: Vec<Observation<'_>> = observations(&m).collect();
        let hr = &obs[0];
        assert_eq!(
            [hr.set_id(), hr.code(), hr.text(), hr.code_system()],
            ["1", "8867-4", "Heart rate", "LN"]
        );
        assert_eq!([hr.value(), hr.units()], ["78", "/min"]);
        assert_eq!([hr.abnormal_flags(), hr.status()], ["N", "F"]);
        assert_eq!(hr.time(), "20241128173400");
        assert_eq!(hr.equipment_id(), "PM8000-SN1234");
        let wave = &obs[1];
        assert_eq!(wave.value_type(), "NA");
        assert_eq!(wave.value().len(), MAX_TEXT);
        assert!(wave.value().starts_with("0^1^2^"));
        // Owned only when decoding or cutting was needed.
        assert!(matches!(hr.value(), Cow::Borrowed(_)));
        assert!(matches!(wave.value(), Cow::Owned(_)));
        // Both OBX name the same monitor: one identifier.
        assert_eq!(
            s.device_ids,
            [DeviceIdentifier {
                source: "OBX-18",
                id: "PM8000-SN1234".into(),
                namespace: "MINDRAY".into(),
                universal_id: "1.2.3".into(),
                universal_id_type: "ISO".into(),
            }]
        );
    }

    #[test]
    fn a_redacted_summary_names_the_phi_fields_without_their_values() {
        let m = parse(ORU).unwrap();
        let (full, redacted) = (summarize(&m), summarize_redacted(&m));
        assert_eq!(redacted.patient, PatientRef::default());
        assert_eq!(redacted.phi_fields, full.phi_fields);
        assert_eq!(redacted.message_type, full.message_type);
        assert_eq!(redacted.device_ids, full.device_ids);
        assert!(full.patient.id.is_some());
    }

    #[test]
    fn phi_field_names_are_distinct() {
        // PhiFields is a set of indexes reported by name: two entries with one name would list it twice.
        let mut names: Vec<&str> = PHI_FIELDS.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PHI_FIELDS.len());
        let all = PhiFields(u32::MAX >> (32 - PHI_FIELDS.len()));
        assert_eq!(all.len(), PHI_FIELDS.len());
        assert!(all.contains("PID-5") && all.contains("NK1") && !all.contains("OBX-5"));
        let mut counts = PhiCounts::default();
        counts.add(all);
        counts.add(PhiFields(1));
        assert_eq!(counts.iter().next(), Some(("GT1", 2)));
        assert_eq!(counts.iter().count(), PHI_FIELDS.len());
    }

    #[test]
    fn ack_type_and_msa() {
        let m = parse(b"MSH|^~\\&|HL7_ENGINE|GENHOSP|PM|ICU|20241128||ACK^R01^ACK|ACK00004|P|2.5.1\rMSA|AA|PM07-0001").unwrap();
        let s = summarize(&m);
        assert_eq!(s.message_type, "ACK^R01");
        assert_eq!(s.ack_code.as_deref(), Some("AA"));
        assert_eq!(s.acked_control_id.as_deref(), Some("PM07-0001"));
        assert!(s.phi_fields.is_empty());
        assert_eq!(s.patient, PatientRef::default());
        let m = parse(b"MSH|^~\\&|A|B|C|D|20241128||ACK|1|P|2.3\rMSA|AE|9").unwrap();
        assert_eq!(summarize(&m).message_type, "ACK");
        let m = parse(b"MSH|^~\\&|A|B|C|D|20241128||ACK^|1|P|2.3").unwrap();
        assert_eq!(summarize(&m).message_type, "ACK");
    }

    #[test]
    fn phi_segments_and_null_values() {
        let m = parse(
            b"MSH|^~\\&|A|B\rPID|1||\"\"||^^^\rNK1|1|DOE^JOHN|SPO\rNK1|2|DOE^JIM\rIN1|1|PLAN\rGT1|1||DOE^JANE",
        )
        .unwrap();
        let s = summarize(&m);
        // PID-3 is the HL7 null and PID-5 only separators: neither counts.
        assert_eq!(s.phi_fields, ["GT1", "NK1"]);
        assert_eq!(s.patient.id, None);
        assert_eq!(s.patient.name, None);
    }

    #[test]
    fn prt_udi_device_identifiers() {
        let bytes = format!(
            "MSH|^~\\&|A|B|||||ORU^R01|1|P|2.8\rPRT|1|UC||EQUIP{}(01)00643169001763^^2.51.1.1^ISO~X^^^|",
            "|".repeat(12)
        );
        let m = parse(bytes.as_bytes()).unwrap();
        let s = summarize(&m);
        assert_eq!(s.device_ids.len(), 2);
        assert_eq!(s.device_ids[0].source, "PRT-16");
        assert_eq!(s.device_ids[0].id, "(01)00643169001763");
        assert_eq!(s.device_ids[0].universal_id, "2.51.1.1");
        assert_eq!(s.device_ids[1].id, "X");
    }

    #[test]
    fn debug_redacts_patient_values() {
        let m = parse(ORU).unwrap();
        let s = summarize(&m);
        let obs: Vec<Observation<'_>> = observations(&m).collect();
        let dbg = format!("{s:?} {obs:#?}");
        for secret in ["DOE", "JANE", "100001", "19650312", "78"] {
            assert!(!dbg.contains(secret), "{secret} in {dbg}");
        }
        assert!(dbg.contains("<redacted>"));
        assert!(dbg.contains("8867-4"));
    }

    #[test]
    fn observation_and_text_caps() {
        let mut bytes = b"MSH|^~\\&|".to_vec();
        bytes.extend(std::iter::repeat_n(b'A', 5000));
        for _ in 0..1000 {
            bytes.extend_from_slice(b"\rOBX|1|NM|x||1");
        }
        let m = parse(&bytes).unwrap();
        let s = summarize(&m);
        assert_eq!(s.sending_application.len(), MAX_TEXT);
        assert_eq!(s.observations, 1000);
        assert_eq!(observations(&m).count(), 1000);
    }
}
