//! EtherNet/IP encapsulation (ODVA, The CIP Networks Library Volume 2, chapter 2) read from a UDP
//! payload or the front of a TCP stream buffer on port 44818: the 24-byte header, whose command
//! labels a flow, and the CIP Identity item of a ListIdentity reply, which tells anyone who asks the
//! device's vendor, type, product code, revision, serial number and product name.
//!
//! The header is little-endian (Vol 2 section 2-3). Over TCP, messages follow one another in the
//! stream; [`parse_message`] reads the one at the front and says how many bytes it took, or how many
//! more it needs. No input makes it panic, and every count and length the sender controls is capped.

use std::net::{Ipv4Addr, SocketAddrV4};

/// The registered EtherNet/IP port, for TCP (explicit messaging) and UDP (ListIdentity broadcasts).
pub const PORT: u16 = 44818;
/// The encapsulation header (Vol 2 section 2-3).
pub const HEADER_LEN: usize = 24;
/// Most command-specific data after the header: 65535 minus the header (Vol 2 section 2-3).
pub const MAX_DATA_LEN: usize = 65511;
/// Most common packet format items looked at in one ListIdentity reply (a real one has one).
const MAX_ITEMS: usize = 16;
/// CPF item type of the CIP Identity item (Vol 2 section 2-4.2).
const ITEM_CIP_IDENTITY: u16 = 0x000c;
/// The CIP Identity item up to and including the product name's length octet: protocol version (2),
/// socket address (16), vendor (2), device type (2), product code (2), revision (2), status (2),
/// serial number (4), name length (1).
const IDENTITY_FIXED: usize = 33;

/// An encapsulation command (Vol 2 section 2-3, table 2-3.2). Unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Command(pub u16);

impl Command {
    pub const NOP: Command = Command(0x0000);
    pub const LIST_SERVICES: Command = Command(0x0004);
    pub const LIST_IDENTITY: Command = Command(0x0063);
    pub const LIST_INTERFACES: Command = Command(0x0064);
    pub const REGISTER_SESSION: Command = Command(0x0065);
    pub const UNREGISTER_SESSION: Command = Command(0x0066);
    pub const SEND_RR_DATA: Command = Command(0x006f);
    pub const SEND_UNIT_DATA: Command = Command(0x0070);
    pub const INDICATE_STATUS: Command = Command(0x0072);
    pub const CANCEL: Command = Command(0x0073);

    /// The command's name as the specification spells it (`ListIdentity`, `SendRRData`).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0000 => "NOP",
            0x0004 => "ListServices",
            0x0063 => "ListIdentity",
            0x0064 => "ListInterfaces",
            0x0065 => "RegisterSession",
            0x0066 => "UnRegisterSession",
            0x006f => "SendRRData",
            0x0070 => "SendUnitData",
            0x0072 => "IndicateStatus",
            0x0073 => "Cancel",
            _ => return None,
        })
    }
}

/// The name of an encapsulation status (Vol 2 section 2-3, table 2-3.3), in Suricata's spelling for
/// the ones it logs (`success`).
pub fn status_name(status: u32) -> Option<&'static str> {
    Some(match status {
        0x0000 => "success",
        0x0001 => "invalid_cmd",
        0x0002 => "no_resources",
        0x0003 => "incorrect_data",
        0x0064 => "invalid_session",
        0x0065 => "invalid_length",
        0x0069 => "unsupported_prot_rev",
        _ => return None,
    })
}

/// The encapsulation header (Vol 2 section 2-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub command: Command,
    /// Bytes of command-specific data after the header.
    pub length: u16,
    /// 0 until RegisterSession assigns one.
    pub session_handle: u32,
    /// 0 success in requests and replies; see [`status_name`].
    pub status: u32,
    /// Echoed by the target in its reply, so it pairs requests with replies. In a ListIdentity
    /// request sent to many targets its first two bytes may hold the maximum response delay.
    pub sender_context: [u8; 8],
    /// Must be 0; kept as sent.
    pub options: u32,
}

/// One encapsulation message: the header and its command-specific data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encapsulation<'a> {
    pub header: Header,
    pub data: &'a [u8],
}

/// Why the front of a buffer is not a whole encapsulation message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnipError {
    /// The buffer holds the start of a message: at least `needed` more bytes are needed (until the
    /// header is whole, the bytes that complete the header; then those that complete the message).
    /// Over TCP, wait for them; in a UDP datagram, the message was cut short.
    Incomplete { needed: usize },
    /// The header announces more data than the protocol allows ([`MAX_DATA_LEN`]): not EtherNet/IP,
    /// or the stream is out of step.
    TooLong(u16),
}

impl std::fmt::Display for EnipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnipError::Incomplete { needed } => {
                write!(f, "enip message needs {needed} more bytes")
            }
            EnipError::TooLong(len) => write!(
                f,
                "enip header announces {len} bytes of data, more than {MAX_DATA_LEN}"
            ),
        }
    }
}

impl std::error::Error for EnipError {}

/// Reads the encapsulation message at the front of `bytes` (a UDP payload, or a TCP stream buffer)
/// and returns it with the number of bytes it took. Any command is accepted: unknown ones survive as
/// [`Command`] values.
pub fn parse_message(bytes: &[u8]) -> Result<(Encapsulation<'_>, usize), EnipError> {
    let Some(h) = bytes.get(..HEADER_LEN) else {
        return Err(EnipError::Incomplete {
            needed: HEADER_LEN - bytes.len(),
        });
    };
    let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let mut sender_context = [0; 8];
    sender_context.copy_from_slice(&h[12..20]);
    let header = Header {
        command: Command(u16_at(0)),
        length: u16_at(2),
        session_handle: u32_at(4),
        status: u32_at(8),
        sender_context,
        options: u32_at(20),
    };
    let len = usize::from(header.length);
    if len > MAX_DATA_LEN {
        return Err(EnipError::TooLong(header.length));
    }
    let end = HEADER_LEN + len;
    let Some(data) = bytes.get(HEADER_LEN..end) else {
        return Err(EnipError::Incomplete {
            needed: end - bytes.len(),
        });
    };
    Ok((Encapsulation { header, data }, end))
}

/// The CIP Identity item of a ListIdentity reply (Vol 2 section 2-4.2): the Identity object's
/// attributes (Vol 1 section 5-2) and the socket address the device accepts sessions on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Encapsulation protocol version (1).
    pub protocol_version: u16,
    /// `sin_family` of the socket address (2, AF_INET). Unlike the rest of the encapsulation, the
    /// socket address is big-endian.
    pub socket_family: u16,
    pub socket_addr: SocketAddrV4,
    /// See [`vendor_name`].
    pub vendor_id: u16,
    /// See [`device_type_name`].
    pub device_type: u16,
    /// Vendor-assigned model number.
    pub product_code: u16,
    pub revision_major: u8,
    pub revision_minor: u8,
    /// The Identity object's status word (owned, configured, faults).
    pub status: u16,
    pub serial_number: u32,
    /// The SHORT_STRING product name, lossy UTF-8, trailing NULs dropped; cut to the bytes present
    /// when its length runs past the item.
    pub product_name: String,
    /// The Identity object's state attribute; `None` when the item ends before it.
    pub state: Option<u8>,
}

impl Identity {
    /// `major.minor` in decimal, as Suricata logs it (`4.3`; Wireshark shows `4.03`).
    pub fn revision(&self) -> String {
        format!("{}.{}", self.revision_major, self.revision_minor)
    }

    /// The vendor's name, or its number when the table does not know it.
    pub fn vendor(&self) -> String {
        vendor_name(self.vendor_id).map_or_else(|| self.vendor_id.to_string(), str::to_string)
    }
}

/// The CIP Identity of a ListIdentity reply: the first CIP Identity item among its (at most 16)
/// items. `None` for other commands, for the request (which has no data), and when no identity item
/// is readable.
pub fn list_identity(msg: &Encapsulation<'_>) -> Option<Identity> {
    if msg.header.command != Command::LIST_IDENTITY {
        return None;
    }
    let data = msg.data;
    let count = usize::from(u16::from_le_bytes([*data.first()?, *data.get(1)?]));
    let mut rest = &data[2..];
    for _ in 0..count.min(MAX_ITEMS) {
        let head = rest.get(..4)?;
        let item_type = u16::from_le_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let body = rest.get(4..4 + len)?;
        if item_type == ITEM_CIP_IDENTITY
            && let Some(identity) = identity_item(body)
        {
            return Some(identity);
        }
        rest = &rest[4 + len..];
    }
    None
}

/// One CIP Identity item's data; `None` when shorter than the fixed part.
fn identity_item(b: &[u8]) -> Option<Identity> {
    let fixed = b.get(..IDENTITY_FIXED)?;
    let le16 = |i: usize| u16::from_le_bytes([fixed[i], fixed[i + 1]]);
    let be16 = |i: usize| u16::from_be_bytes([fixed[i], fixed[i + 1]]);
    let name_len = usize::from(fixed[32]);
    let name = b.get(IDENTITY_FIXED..).unwrap_or_default();
    let name = &name[..name.len().min(name_len)];
    let end = name.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    Some(Identity {
        protocol_version: le16(0),
        socket_family: be16(2),
        socket_addr: SocketAddrV4::new(
            Ipv4Addr::new(fixed[6], fixed[7], fixed[8], fixed[9]),
            be16(4),
        ),
        vendor_id: le16(18),
        device_type: le16(20),
        product_code: le16(22),
        revision_major: fixed[24],
        revision_minor: fixed[25],
        status: le16(26),
        serial_number: u32::from_le_bytes([fixed[28], fixed[29], fixed[30], fixed[31]]),
        product_name: String::from_utf8_lossy(&name[..end]).into_owned(),
        state: b.get(IDENTITY_FIXED + name_len).copied(),
    })
}

/// The name of an ODVA vendor id, for the well-known vendors only, spelled as Wireshark and Suricata
/// print them (their tables follow ODVA's vendor list). Other ids stay numbers for the caller.
pub fn vendor_name(vendor_id: u16) -> Option<&'static str> {
    Some(match vendor_id {
        1 => "Rockwell Automation/Allen-Bradley",
        3 => "Honeywell Inc.",
        5 => "Rockwell Automation/Reliance Elec.",
        26 => "Festo Corporation",
        40 => "Wago Corporation",
        44 => "Yaskawa Electric America Inc.",
        46 => "ABB Industrial Systems",
        47 => "Omron Corporation",
        48 => "Turck Inc.",
        57 => "Pepperl + Fuchs",
        68 => "Eaton Electrical",
        82 => "Mitsubishi Electric Automation Inc.",
        90 => "HMS Industrial Networks AB",
        94 => "Advantech Co. Ltd.",
        108 => "Beckhoff Automation GmbH",
        109 => "National Instruments",
        145 => "Siemens Energy & Automation/Drives",
        161 => "Mitsubishi Electric Corporation",
        243 => "Schneider Automation Inc.",
        283 => "Hilscher GmbH",
        309 => "Prosoft Technology",
        345 => "Endress + Hauser",
        367 => "Keyence Corporation",
        562 => "Phoenix Contact",
        678 => "Cognex Corporation",
        _ => return None,
    })
}

/// The name of a CIP device type (device profile, Vol 1 chapter 6), spelled as Wireshark and
/// Suricata print it; `None` for types this table leaves out.
pub fn device_type_name(device_type: u16) -> Option<&'static str> {
    Some(match device_type {
        0x00 => "Generic Device (deprecated)",
        0x02 => "AC Drive Device",
        0x03 => "Motor Overload",
        0x04 => "Limit Switch",
        0x05 => "Inductive Proximity Switch",
        0x06 => "Photoelectric Sensor",
        0x07 => "General Purpose Discrete I/O",
        0x09 => "Resolver",
        0x0c => "Communications Adapter",
        0x0e => "Programmable Logic Controller",
        0x10 => "Position Controller",
        0x13 => "DC Drive",
        0x15 => "Contactor",
        0x16 => "Motor Starter",
        0x17 => "Softstart Starter",
        0x18 => "Human-Machine Interface",
        0x1a => "Mass Flow Controller",
        0x1b => "Pneumatic Valve(s)",
        0x1c => "Vacuum Pressure Gauge",
        0x22 => "Encoder",
        0x23 => "Safety Discrete I/O Device",
        0x25 => "CIP Motion Drive",
        0x2b => "Generic Device (keyable)",
        0x2c => "Managed Ethernet Switch",
        _ => return None,
    })
}
