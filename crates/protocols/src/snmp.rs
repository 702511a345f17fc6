//! SNMP v1 and v2c messages (RFC 1157, RFC 1901, RFC 3416) read from one UDP payload (port 161 for
//! agents, 162 for notification receivers), for the evidence they carry: the community string, a
//! cleartext credential, and the MIB-2 system group an agent gives away in its responses (`sysDescr`,
//! `sysObjectID`, `sysName`, `sysContact`, `sysLocation`).
//!
//! The BER decoder is written here rather than taken from an ASN.1 crate: SNMP uses a small, fixed
//! subset of BER (RFC 3417 section 8: definite lengths, primitive encodings of the simple types), and
//! it must be strict about framing yet tolerant of odd values. Framing is strict: every length must
//! fit inside its enclosing element, long-form lengths take at most 4 octets, indefinite lengths and
//! high tag numbers are refused. Values are tolerant: a value of an unexpected type or size becomes
//! [`Value::Other`] and reading goes on. The decoder does not recurse: a message is at most four
//! levels deep (message, PDU, binding list, binding) and constructed values are kept raw. SNMPv3
//! messages are recognised by their version and not decoded further. No input makes it panic.

use std::fmt::Write as _;

/// Most variable bindings read from one PDU (RFC 3416 puts no limit on the count; real ones carry a
/// few dozen at most).
pub const MAX_VARBINDS: usize = 256;
/// Longest text kept from a system group value, in bytes (UTF-8, cut at a character boundary).
pub const MAX_TEXT: usize = 256;
/// Most sub-identifiers in an OID (RFC 2578 section 3.5 allows 128).
pub const MAX_OID_ARCS: usize = 128;
/// Most octets in a long-form length: 4 already allows more than any UDP datagram.
const MAX_LENGTH_OCTETS: usize = 4;

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
/// Application-class types of the SMI (RFC 2578 section 7.1, RFC 3416 section 3).
const TAG_IP_ADDRESS: u8 = 0x40;
const TAG_COUNTER32: u8 = 0x41;
const TAG_GAUGE32: u8 = 0x42;
const TAG_TIME_TICKS: u8 = 0x43;
const TAG_COUNTER64: u8 = 0x46;
/// Exceptions in a response binding (RFC 3416 section 3): context-specific, primitive, empty.
const TAG_NO_SUCH_OBJECT: u8 = 0x80;
const TAG_NO_SUCH_INSTANCE: u8 = 0x81;
const TAG_END_OF_MIB_VIEW: u8 = 0x82;

/// The MIB-2 system group scalars (RFC 3418 section 2) that [`system_info`] reads.
pub mod oid {
    pub const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
    pub const SYS_OBJECT_ID: &str = "1.3.6.1.2.1.1.2.0";
    pub const SYS_UP_TIME: &str = "1.3.6.1.2.1.1.3.0";
    pub const SYS_CONTACT: &str = "1.3.6.1.2.1.1.4.0";
    pub const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
    pub const SYS_LOCATION: &str = "1.3.6.1.2.1.1.6.0";
}

/// Why a payload is not a readable SNMP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnmpError {
    /// The payload does not start with a BER SEQUENCE: it is not SNMP at all.
    NotSnmp,
    /// An element announces more bytes than its enclosing element (or the datagram) holds: the
    /// datagram was cut short by the snap length, or it is not SNMP.
    Truncated,
    /// An indefinite length (`0x80`), which SNMP forbids (RFC 3417 section 8).
    IndefiniteLength,
    /// A long-form length of more than 4 octets, or a high tag number (`0x1f`): never SNMP.
    BadLength,
    /// The version is not 0 (v1), 1 (v2c) or 3 (v3).
    UnknownVersion(i64),
    /// The named element does not have the type or form its position requires.
    Malformed(&'static str),
}

impl std::fmt::Display for SnmpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnmpError::NotSnmp => f.write_str("snmp message does not start with a ber sequence"),
            SnmpError::Truncated => f.write_str("snmp message is cut short"),
            SnmpError::IndefiniteLength => f.write_str("snmp message uses an indefinite length"),
            SnmpError::BadLength => {
                f.write_str("snmp message has a length or tag in a form snmp never uses")
            }
            SnmpError::UnknownVersion(v) => write!(f, "snmp message has unknown version {v}"),
            SnmpError::Malformed(what) => write!(f, "snmp message has a malformed {what}"),
        }
    }
}

impl std::error::Error for SnmpError {}

/// The message version (RFC 3416 section 3 and RFC 3412 section 6: the first field of every message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// Wire value 0 (RFC 1157).
    V1,
    /// Wire value 1 (RFC 1901).
    V2c,
    /// Wire value 3 (RFC 3412); not decoded further.
    V3,
}

impl Version {
    /// `v1`, `v2c` or `v3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2c => "v2c",
            Version::V3 => "v3",
        }
    }
}

/// A PDU type: the tag number of the context-specific constructed PDU (RFC 1157 section 4.1, RFC
/// 3416 section 3). Unknown tag numbers are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PduType(pub u8);

impl PduType {
    pub const GET_REQUEST: PduType = PduType(0);
    pub const GET_NEXT_REQUEST: PduType = PduType(1);
    /// GetResponse in v1, Response in RFC 3416.
    pub const GET_RESPONSE: PduType = PduType(2);
    pub const SET_REQUEST: PduType = PduType(3);
    /// The v1 Trap-PDU (RFC 1157 section 4.1.6), with its own layout.
    pub const TRAP_V1: PduType = PduType(4);
    pub const GET_BULK_REQUEST: PduType = PduType(5);
    pub const INFORM_REQUEST: PduType = PduType(6);
    pub const SNMPV2_TRAP: PduType = PduType(7);
    pub const REPORT: PduType = PduType(8);

    /// The name Suricata logs as `snmp.pdu_type` (`get_request`, `response`, `trap_v2`...).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "get_request",
            1 => "get_next_request",
            2 => "response",
            3 => "set_request",
            4 => "trap_v1",
            5 => "get_bulk_request",
            6 => "inform_request",
            7 => "trap_v2",
            8 => "report",
            _ => return None,
        })
    }
}

/// The name of an error-status value (RFC 3416 section 3; 0 to 5 are also RFC 1157's).
pub fn error_status_name(status: i64) -> Option<&'static str> {
    Some(match status {
        0 => "noError",
        1 => "tooBig",
        2 => "noSuchName",
        3 => "badValue",
        4 => "readOnly",
        5 => "genErr",
        6 => "noAccess",
        7 => "wrongType",
        8 => "wrongLength",
        9 => "wrongEncoding",
        10 => "wrongValue",
        11 => "noCreation",
        12 => "inconsistentValue",
        13 => "resourceUnavailable",
        14 => "commitFailed",
        15 => "undoFailed",
        16 => "authorizationError",
        17 => "notWritable",
        18 => "inconsistentName",
        _ => return None,
    })
}

/// One SNMP message. For v3 only the version is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub version: Version,
    /// The community string of a v1 or v2c message (RFC 1157 section 3.2.5): a cleartext shared
    /// secret, so a credential. Kept raw; the caller decides whether to report it, and how.
    pub community: Option<&'a [u8]>,
    /// The PDU of a v1 or v2c message; `None` for v3, whose PDU may be encrypted.
    pub pdu: Option<Pdu<'a>>,
}

/// One PDU of a v1 or v2c message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu<'a> {
    pub pdu_type: PduType,
    /// request-id; 0 in a v1 Trap, which has none.
    pub request_id: i64,
    /// error-status (see [`error_status_name`]; unknown values kept). In a GetBulkRequest this
    /// position holds non-repeaters (RFC 3416 section 4.2.3); 0 in a v1 Trap.
    pub error_status: i64,
    /// error-index; in a GetBulkRequest, max-repetitions; 0 in a v1 Trap.
    pub error_index: i64,
    /// The header of a v1 Trap (RFC 1157 section 4.1.6); `None` for every other PDU type.
    pub trap: Option<TrapV1>,
    pub varbinds: Vec<VarBind<'a>>,
    /// Reading of the bindings stopped early: more than [`MAX_VARBINDS`], or a binding whose
    /// framing or name does not decode. The bindings before it are kept.
    pub truncated: bool,
}

/// The fields a v1 Trap-PDU has instead of request-id and the error fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapV1 {
    /// The sending agent's sysObjectID, dotted.
    pub enterprise: String,
    /// `None` when agent-addr is not a 4-byte IpAddress.
    pub agent_addr: Option<[u8; 4]>,
    /// 0 coldStart .. 5 egpNeighborLoss, 6 enterpriseSpecific.
    pub generic_trap: i64,
    pub specific_trap: i64,
    /// sysUpTime at the trap, in hundredths of a second.
    pub time_stamp: u32,
}

/// One variable binding: a dotted OID and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarBind<'a> {
    pub oid: String,
    pub value: Value<'a>,
}

/// A binding's value (RFC 3416 section 3 `ObjectSyntax` and the three exceptions). A value whose
/// tag is not one of these, or whose contents do not decode as its type (an IpAddress of 3 bytes,
/// a Counter32 of 5 significant bytes), is `Other` with its raw tag and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Integer(i64),
    OctetString(&'a [u8]),
    /// The unSpecified value of a request binding.
    Null,
    ObjectId(String),
    IpAddress([u8; 4]),
    Counter32(u32),
    /// Gauge32, also Unsigned32.
    Gauge32(u32),
    /// Hundredths of a second.
    TimeTicks(u32),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
    Other {
        tag: u8,
        bytes: &'a [u8],
    },
}

/// Reads one SNMP message from a UDP payload. Bytes after the message are ignored. A v3 message is
/// returned with its version only. The bindings are read leniently (see [`Pdu::truncated`]);
/// everything before them must be well formed.
pub fn parse_snmp(payload: &[u8]) -> Result<Message<'_>, SnmpError> {
    if payload.first().is_some_and(|&t| t != TAG_SEQUENCE) {
        return Err(SnmpError::NotSnmp);
    }
    let (message, _) = read_tlv(payload)?;
    let (version, rest) = read_tlv(message.value)?;
    if version.tag != TAG_INTEGER {
        return Err(SnmpError::Malformed("version"));
    }
    let version = match integer(version.value).ok_or(SnmpError::Malformed("version"))? {
        0 => Version::V1,
        1 => Version::V2c,
        3 => Version::V3,
        v => return Err(SnmpError::UnknownVersion(v)),
    };
    if version == Version::V3 {
        return Ok(Message {
            version,
            community: None,
            pdu: None,
        });
    }
    let (community, rest) = read_tlv(rest)?;
    if community.tag != TAG_OCTET_STRING {
        return Err(SnmpError::Malformed("community"));
    }
    let (pdu, _) = read_tlv(rest)?;
    // Context-specific and constructed: 0xa0 to 0xbe (0xbf would be a high tag number).
    if pdu.tag & 0xe0 != 0xa0 {
        return Err(SnmpError::Malformed("pdu"));
    }
    let pdu_type = PduType(pdu.tag & 0x1f);
    let pdu = if pdu_type == PduType::TRAP_V1 {
        read_trap_v1(pdu.value)?
    } else {
        read_pdu(pdu_type, pdu.value)?
    };
    Ok(Message {
        version,
        community: Some(community.value),
        pdu: Some(pdu),
    })
}

/// The system group values an agent reported (RFC 3418 section 2), as lossy UTF-8 text, trimmed of
/// whitespace and NULs and capped at [`MAX_TEXT`] bytes; empty values are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemInfo {
    /// sysDescr (1.3.6.1.2.1.1.1.0): usually vendor, model and firmware.
    pub sys_descr: Option<String>,
    /// sysObjectID (1.3.6.1.2.1.1.2.0), dotted: the vendor's enterprise subtree and model.
    pub sys_object_id: Option<String>,
    /// sysContact (1.3.6.1.2.1.1.4.0).
    pub sys_contact: Option<String>,
    /// sysName (1.3.6.1.2.1.1.5.0).
    pub sys_name: Option<String>,
    /// sysLocation (1.3.6.1.2.1.1.6.0).
    pub sys_location: Option<String>,
}

impl SystemInfo {
    pub fn is_empty(&self) -> bool {
        *self == SystemInfo::default()
    }
}

/// The system group values in a response's bindings. Only a GetResponse (v1) or Response (v2c)
/// counts: the values in a SetRequest are what a manager asked for, not what the device is, and
/// those in a request are Null. Values of the wrong type are ignored.
pub fn system_info(msg: &Message<'_>) -> SystemInfo {
    let mut info = SystemInfo::default();
    let Some(pdu) = msg
        .pdu
        .as_ref()
        .filter(|p| p.pdu_type == PduType::GET_RESPONSE)
    else {
        return info;
    };
    for vb in &pdu.varbinds {
        let slot = match vb.oid.as_str() {
            oid::SYS_DESCR => &mut info.sys_descr,
            oid::SYS_OBJECT_ID => &mut info.sys_object_id,
            oid::SYS_CONTACT => &mut info.sys_contact,
            oid::SYS_NAME => &mut info.sys_name,
            oid::SYS_LOCATION => &mut info.sys_location,
            _ => continue,
        };
        let text = match (&vb.value, vb.oid == oid::SYS_OBJECT_ID) {
            (Value::ObjectId(o), true) => text(o.as_bytes()),
            (Value::OctetString(s), false) => text(s),
            _ => None,
        };
        if text.is_some() {
            *slot = text;
        }
    }
    info
}

/// One BER element: its tag and contents.
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
}

/// Reads the element at the start of `input`; returns it and the bytes after it.
fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), SnmpError> {
    let (&tag, rest) = input.split_first().ok_or(SnmpError::Truncated)?;
    if tag & 0x1f == 0x1f {
        return Err(SnmpError::BadLength);
    }
    let (&first, rest) = rest.split_first().ok_or(SnmpError::Truncated)?;
    let (len, rest) = match first {
        0..0x80 => (usize::from(first), rest),
        0x80 => return Err(SnmpError::IndefiniteLength),
        _ => {
            let n = usize::from(first & 0x7f);
            if n > MAX_LENGTH_OCTETS {
                return Err(SnmpError::BadLength);
            }
            let octets = rest.get(..n).ok_or(SnmpError::Truncated)?;
            let len = octets.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
            // Non-minimal long forms (0x82 0x00 0x05) are accepted: some agents always send them.
            let len = usize::try_from(len).map_err(|_| SnmpError::Truncated)?;
            (len, &rest[n..])
        }
    };
    let value = rest.get(..len).ok_or(SnmpError::Truncated)?;
    Ok((Tlv { tag, value }, &rest[len..]))
}

/// Reads the INTEGER at the start of `input` for the header field `what`.
fn read_integer<'a>(input: &'a [u8], what: &'static str) -> Result<(i64, &'a [u8]), SnmpError> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != TAG_INTEGER {
        return Err(SnmpError::Malformed(what));
    }
    Ok((integer(tlv.value).ok_or(SnmpError::Malformed(what))?, rest))
}

/// request-id, error-status, error-index and the bindings (RFC 3416 section 3 `PDU` and
/// `BulkPDU`, which share the layout).
fn read_pdu(pdu_type: PduType, body: &[u8]) -> Result<Pdu<'_>, SnmpError> {
    let (request_id, rest) = read_integer(body, "request-id")?;
    let (error_status, rest) = read_integer(rest, "error-status")?;
    let (error_index, rest) = read_integer(rest, "error-index")?;
    let (varbinds, truncated) = read_varbind_list(rest)?;
    Ok(Pdu {
        pdu_type,
        request_id,
        error_status,
        error_index,
        trap: None,
        varbinds,
        truncated,
    })
}

/// The v1 Trap-PDU (RFC 1157 section 4.1.6): enterprise, agent-addr, generic-trap, specific-trap,
/// time-stamp and the bindings.
fn read_trap_v1(body: &[u8]) -> Result<Pdu<'_>, SnmpError> {
    let (enterprise, rest) = read_tlv(body)?;
    let enterprise = (enterprise.tag == TAG_OID)
        .then(|| oid_text(enterprise.value))
        .flatten()
        .ok_or(SnmpError::Malformed("enterprise"))?;
    let (agent_addr, rest) = read_tlv(rest)?;
    let agent_addr = match decode_value(agent_addr.tag, agent_addr.value) {
        Value::IpAddress(a) => Some(a),
        _ => None,
    };
    let (generic_trap, rest) = read_integer(rest, "generic-trap")?;
    let (specific_trap, rest) = read_integer(rest, "specific-trap")?;
    let (time_stamp, rest) = read_tlv(rest)?;
    let time_stamp = match decode_value(time_stamp.tag, time_stamp.value) {
        Value::TimeTicks(t) => t,
        _ => return Err(SnmpError::Malformed("time-stamp")),
    };
    let (varbinds, truncated) = read_varbind_list(rest)?;
    Ok(Pdu {
        pdu_type: PduType::TRAP_V1,
        request_id: 0,
        error_status: 0,
        error_index: 0,
        trap: Some(TrapV1 {
            enterprise,
            agent_addr,
            generic_trap,
            specific_trap,
            time_stamp,
        }),
        varbinds,
        truncated,
    })
}

/// The VarBindList SEQUENCE at the start of `input`: its bindings, and whether reading stopped early.
/// The list's own framing must be sound; a bad binding inside it only stops the reading.
fn read_varbind_list(input: &[u8]) -> Result<(Vec<VarBind<'_>>, bool), SnmpError> {
    let (list, _) = read_tlv(input)?;
    if list.tag != TAG_SEQUENCE {
        return Err(SnmpError::Malformed("variable-bindings"));
    }
    let mut out = Vec::new();
    let mut rest = list.value;
    while !rest.is_empty() {
        if out.len() == MAX_VARBINDS {
            return Ok((out, true));
        }
        let Some((vb, tail)) = read_varbind(rest) else {
            return Ok((out, true));
        };
        out.push(vb);
        rest = tail;
    }
    Ok((out, false))
}

/// One VarBind SEQUENCE { name, value }; `None` when its framing or name does not decode.
fn read_varbind(input: &[u8]) -> Option<(VarBind<'_>, &[u8])> {
    let (vb, tail) = read_tlv(input).ok()?;
    if vb.tag != TAG_SEQUENCE {
        return None;
    }
    let (name, rest) = read_tlv(vb.value).ok()?;
    if name.tag != TAG_OID {
        return None;
    }
    let oid = oid_text(name.value)?;
    let (value, _) = read_tlv(rest).ok()?;
    let value = decode_value(value.tag, value.value);
    Some((VarBind { oid, value }, tail))
}

/// A value from its tag and contents; `Other` when it does not decode as its type.
fn decode_value(tag: u8, bytes: &[u8]) -> Value<'_> {
    let other = Value::Other { tag, bytes };
    let unsigned32 = || unsigned(bytes, 4).and_then(|v| u32::try_from(v).ok());
    match tag {
        TAG_INTEGER => integer(bytes).map_or(other, Value::Integer),
        TAG_OCTET_STRING => Value::OctetString(bytes),
        TAG_NULL if bytes.is_empty() => Value::Null,
        TAG_OID => oid_text(bytes).map_or(other, Value::ObjectId),
        TAG_IP_ADDRESS => <[u8; 4]>::try_from(bytes).map_or(other, Value::IpAddress),
        TAG_COUNTER32 => unsigned32().map_or(other, Value::Counter32),
        TAG_GAUGE32 => unsigned32().map_or(other, Value::Gauge32),
        TAG_TIME_TICKS => unsigned32().map_or(other, Value::TimeTicks),
        TAG_COUNTER64 => unsigned(bytes, 8).map_or(other, Value::Counter64),
        // The exceptions are empty; an agent that puts bytes in one still means the exception.
        TAG_NO_SUCH_OBJECT => Value::NoSuchObject,
        TAG_NO_SUCH_INSTANCE => Value::NoSuchInstance,
        TAG_END_OF_MIB_VIEW => Value::EndOfMibView,
        _ => other,
    }
}

/// A two's-complement INTEGER of 1 to 8 octets.
fn integer(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let init: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
    Some(bytes.iter().fold(init, |acc, &b| acc << 8 | i64::from(b)))
}

/// An unsigned SMI type: at most `max` octets once leading zeros are dropped. Contents with the top
/// bit set are read as unsigned, not negative: some agents leave out the leading zero octet.
fn unsigned(bytes: &[u8], max: usize) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let significant = &bytes[start..];
    if significant.len() > max {
        return None;
    }
    Some(
        significant
            .iter()
            .fold(0u64, |acc, &b| acc << 8 | u64::from(b)),
    )
}

/// An OBJECT IDENTIFIER's contents as dotted text (X.690 section 8.19: base-128 sub-identifiers, the
/// first holding two arcs). `None` when empty, cut inside a sub-identifier, with a sub-identifier
/// over 64 bits, or with more than [`MAX_OID_ARCS`] arcs.
fn oid_text(bytes: &[u8]) -> Option<String> {
    if bytes.last().is_none_or(|&b| b & 0x80 != 0) {
        return None;
    }
    let mut out = String::new();
    let mut arcs = 0;
    let mut acc: u64 = 0;
    for &b in bytes {
        if acc > u64::MAX >> 7 {
            return None;
        }
        acc = acc << 7 | u64::from(b & 0x7f);
        if b & 0x80 != 0 {
            continue;
        }
        if arcs == 0 {
            let (first, second) = match acc {
                0..40 => (0, acc),
                40..80 => (1, acc - 40),
                _ => (2, acc - 80),
            };
            let _ = write!(out, "{first}.{second}");
            arcs = 2;
        } else {
            let _ = write!(out, ".{acc}");
            arcs += 1;
        }
        if arcs > MAX_OID_ARCS {
            return None;
        }
        acc = 0;
    }
    Some(out)
}

/// Lossy UTF-8, trimmed of whitespace and NULs, cut to at most [`MAX_TEXT`] bytes at a character
/// boundary; `None` when nothing is left.
fn text(bytes: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let mut cut = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let s = s[..cut].trim_end();
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::ber::tlv;

    #[test]
    fn integers_are_twos_complement() {
        assert_eq!(integer(&[0x00]), Some(0));
        assert_eq!(integer(&[0x7f]), Some(127));
        assert_eq!(integer(&[0x80]), Some(-128));
        assert_eq!(integer(&[0x00, 0x80]), Some(128));
        assert_eq!(integer(&[0xff, 0xff]), Some(-1));
        assert_eq!(integer(&[0x2b, 0x13, 0x3f, 0x85]), Some(722_681_733));
        assert_eq!(integer(&[0x80, 0, 0, 0, 0, 0, 0, 0]), Some(i64::MIN));
        assert_eq!(integer(&[]), None);
        assert_eq!(integer(&[0; 9]), None);
    }

    #[test]
    fn unsigned_values_tolerate_a_missing_leading_zero() {
        assert_eq!(
            unsigned(&[0x00, 0xff, 0xff, 0xff, 0xff], 4),
            Some(0xffff_ffff)
        );
        // Strictly -1, but every agent that sends this means 4294967295.
        assert_eq!(unsigned(&[0xff, 0xff, 0xff, 0xff], 4), Some(0xffff_ffff));
        assert_eq!(unsigned(&[0x01, 0, 0, 0, 0], 4), None);
        assert_eq!(unsigned(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 7], 8), Some(7));
        assert_eq!(unsigned(&[], 4), None);
    }

    #[test]
    fn oids_are_dotted() {
        assert_eq!(
            oid_text(&[0x2b, 6, 1, 2, 1, 1, 5, 0]).as_deref(),
            Some("1.3.6.1.2.1.1.5.0")
        );
        // Suricata and Wireshark both print the single byte 0x01 as 0.1.
        assert_eq!(oid_text(&[0x01]).as_deref(), Some("0.1"));
        assert_eq!(oid_text(&[0x28]).as_deref(), Some("1.0"));
        // Joint-iso-itu-t arcs above 39 under 2: 2.999 is 0x88 0x37.
        assert_eq!(oid_text(&[0x88, 0x37]).as_deref(), Some("2.999"));
        // Multi-byte sub-identifier: 8802 = 0xc4 0x62.
        assert_eq!(
            oid_text(&[0x28, 0xc4, 0x62, 1, 1]).as_deref(),
            Some("1.0.8802.1.1")
        );
        assert_eq!(oid_text(&[]), None);
        assert_eq!(oid_text(&[0x2b, 0x86]), None);
        assert_eq!(oid_text(&[0xff; 11]), None);
        assert!(oid_text(&[1; MAX_OID_ARCS - 1]).is_some());
        assert_eq!(oid_text(&[1; MAX_OID_ARCS]), None);
    }

    #[test]
    fn lengths_are_strict() {
        assert!(read_tlv(&[0x04, 0x82, 0x00, 0x01, b'x']).is_ok());
        assert_eq!(
            read_tlv(&[0x30, 0x80, 0, 0]).err(),
            Some(SnmpError::IndefiniteLength)
        );
        assert_eq!(
            read_tlv(&[0x30, 0x85, 0, 0, 0, 0, 1, 0]).err(),
            Some(SnmpError::BadLength)
        );
        assert_eq!(
            read_tlv(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).err(),
            Some(SnmpError::Truncated)
        );
        assert_eq!(read_tlv(&[0x1f, 0x01, 0]).err(), Some(SnmpError::BadLength));
        assert_eq!(
            read_tlv(&[0x04, 0x03, 1, 2]).err(),
            Some(SnmpError::Truncated)
        );
    }

    #[test]
    fn values_of_the_wrong_size_are_other() {
        assert_eq!(
            decode_value(0x40, &[10, 0, 0]),
            Value::Other {
                tag: 0x40,
                bytes: &[10, 0, 0]
            }
        );
        assert_eq!(
            decode_value(0x05, &[0]),
            Value::Other {
                tag: 0x05,
                bytes: &[0]
            }
        );
        assert_eq!(
            decode_value(0x44, b"opaque"),
            Value::Other {
                tag: 0x44,
                bytes: b"opaque"
            }
        );
        assert_eq!(
            decode_value(0x43, &[0x04, 0x92, 0x6f, 0xa4]),
            Value::TimeTicks(76_705_700)
        );
        assert_eq!(decode_value(0x81, &[]), Value::NoSuchInstance);
    }

    #[test]
    fn text_is_trimmed_and_capped() {
        assert_eq!(text(b"  R1.lab.local\0\0").as_deref(), Some("R1.lab.local"));
        assert_eq!(text(b" \0 "), None);
        let long = "\u{e9}".repeat(200);
        let capped = text(long.as_bytes()).expect("text");
        assert_eq!(capped.len(), MAX_TEXT);
        assert!(text(&[0xff; 300]).expect("lossy").len() <= MAX_TEXT);
    }

    #[test]
    fn a_trap_v1_header_is_read() {
        let body = [
            tlv(0x06, &[0x2b, 6, 1, 6, 3, 1, 1, 5]),
            tlv(0x40, &[10, 1, 30, 1]),
            tlv(0x02, &[2]),
            tlv(0x02, &[0]),
            tlv(0x43, &[0x03, 0xa6, 0x8c]),
            tlv(
                0x30,
                &tlv(0x30, &[tlv(0x06, &[0x2b, 6, 1]), tlv(0x02, &[2])].concat()),
            ),
        ]
        .concat();
        let msg = [tlv(0x02, &[0]), tlv(0x04, b"public"), tlv(0xa4, &body)].concat();
        let bytes = tlv(0x30, &msg);
        let msg = parse_snmp(&bytes).expect("snmp");
        let pdu = msg.pdu.expect("pdu");
        let trap = pdu.trap.expect("trap");
        assert_eq!(trap.enterprise, "1.3.6.1.6.3.1.1.5");
        assert_eq!(trap.agent_addr, Some([10, 1, 30, 1]));
        assert_eq!((trap.generic_trap, trap.specific_trap), (2, 0));
        assert_eq!(trap.time_stamp, 239_244);
        assert_eq!(pdu.varbinds[0].oid, "1.3.6.1");
        assert_eq!(pdu.varbinds[0].value, Value::Integer(2));
    }
}
