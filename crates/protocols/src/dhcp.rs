//! DHCP (RFC 2131, RFC 2132) and DHCPv6 (RFC 8415) messages read from one UDP payload, for the identity
//! evidence a client gives away: host name, vendor class, client identifier and the parameter request
//! list, whose order fingerprints the DHCP stack (the Fingerbank-style fingerprint).
//!
//! Options are a TLV walk, done here rather than with a DHCP crate: it is short, and it must be lenient.
//! The walk stops at the first option that runs past its field and keeps what it read before it. No
//! input makes it panic, and every length the sender controls is capped.

/// BOOTP header, up to and including `file`.
const BOOTP_HEADER: usize = 236;
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Most option instances read from one message (a real one has a few dozen).
const MAX_OPTIONS: usize = 255;
/// Most bytes kept from one option after joining its instances (RFC 3396 long options).
const MAX_OPTION_BYTES: usize = 1024;
/// Most parameter codes kept from the parameter request list (one option's worth).
const MAX_PARAMS: usize = 255;
/// Longest text kept from a string option, in bytes (UTF-8, cut at a character boundary).
pub const MAX_TEXT: usize = 255;
/// Most addresses kept from an address-list option.
const MAX_ADDRESSES: usize = 32;
/// DHCPv6 relay wrappers unwrapped (RFC 8415 allows 8 hops by default, 32 at most).
const MAX_RELAY_DEPTH: u8 = 32;
/// Most vendor-class-data entries kept from a DHCPv6 vendor class option.
const MAX_VENDOR_CLASS_DATA: usize = 32;

/// DHCP message types (option 53, RFC 2132 section 9.6 and later RFCs); other values are kept as is.
pub mod message_type {
    pub const DISCOVER: u8 = 1;
    pub const OFFER: u8 = 2;
    pub const REQUEST: u8 = 3;
    pub const DECLINE: u8 = 4;
    pub const ACK: u8 = 5;
    pub const NAK: u8 = 6;
    pub const RELEASE: u8 = 7;
    pub const INFORM: u8 = 8;
}

/// The name of a DHCP message type, as Suricata and Wireshark spell it in lower case.
pub fn message_type_name(message_type: u8) -> Option<&'static str> {
    Some(match message_type {
        1 => "discover",
        2 => "offer",
        3 => "request",
        4 => "decline",
        5 => "ack",
        6 => "nak",
        7 => "release",
        8 => "inform",
        _ => return None,
    })
}

/// One DHCP (or BOOTP-with-cookie) message. Addresses are in network order; text options are decoded
/// as UTF-8 lossily, with trailing NULs removed (some clients count a terminating NUL in the length)
/// and empty values treated as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpMessage {
    /// 1 BOOTREQUEST (client to server), 2 BOOTREPLY.
    pub op: u8,
    /// Hardware type (1 Ethernet).
    pub htype: u8,
    pub xid: u32,
    /// Option 53; see [`message_type`].
    pub message_type: Option<u8>,
    /// `chaddr` when the hardware type is Ethernet with 6-byte addresses, else `None`.
    pub client_mac: Option<[u8; 6]>,
    pub ciaddr: [u8; 4],
    pub yiaddr: [u8; 4],
    pub siaddr: [u8; 4],
    pub giaddr: [u8; 4],
    /// Option 12.
    pub hostname: Option<String>,
    /// Option 60.
    pub vendor_class: Option<String>,
    /// Option 55, in the client's order.
    pub param_list: Vec<u8>,
    /// Option 61, raw: usually a type byte (1 Ethernet) and a MAC, or type 255 with IAID and DUID.
    pub client_id: Option<Vec<u8>>,
    /// Option 50.
    pub requested_ip: Option<[u8; 4]>,
    /// Option 54.
    pub server_id: Option<[u8; 4]>,
    /// Option 1.
    pub subnet_mask: Option<[u8; 4]>,
    /// Option 51.
    pub lease_secs: Option<u32>,
    /// Option 58 (T1).
    pub renewal_secs: Option<u32>,
    /// Option 59 (T2).
    pub rebinding_secs: Option<u32>,
    /// Option 15.
    pub domain: Option<String>,
    /// Option 3.
    pub router: Vec<[u8; 4]>,
    /// Option 6.
    pub dns: Vec<[u8; 4]>,
    /// Option 81 (RFC 4702): the client's name, from either encoding, without a final dot.
    pub fqdn: Option<String>,
    /// Option 82 (RFC 3046), which a relay agent (a switch snooping DHCP, a router relaying it) adds
    /// to a client's request: sub-option 1, the circuit id (the switch port the client is on), raw.
    pub relay_circuit_id: Option<Vec<u8>>,
    /// Option 82's sub-option 2, the remote id (the relay itself: often the switch's MAC), raw.
    pub relay_remote_id: Option<Vec<u8>>,
    /// Every option code in the order sent (pad and end left out), the other half of a stack's
    /// fingerprint.
    pub option_codes: Vec<u8>,
    /// An option ran past the end of its field (or there were more than 255 options); options after
    /// it were not read.
    pub truncated: bool,
}

impl DhcpMessage {
    /// The client identifier (option 61) as evidence: the text a client put there (type 0 followed
    /// by printable characters: some devices send a name or a serial number), else its bytes in hex
    /// (`01:00:1b:2c:3d:4e:5f` for type 1 and a MAC; type 255 for an IAID and a DUID).
    pub fn client_id_text(&self) -> Option<String> {
        let id = self.client_id.as_deref()?;
        match id.split_first() {
            Some((0, text))
                if !text.is_empty() && text.iter().all(|b| b.is_ascii_graphic() || *b == b' ') =>
            {
                Some(String::from_utf8_lossy(text).trim().to_string())
            }
            Some(_) => Some(hex(id)),
            None => None,
        }
    }

    /// Where a relay agent says the client is (option 82) as evidence: `dhcp.relay.circuit_id` and
    /// `dhcp.relay.remote_id`, each as text when it is text (`Gi1/0/5`), in Cisco's default
    /// formats when it is one of them (`vlan 20 module 1 port 5`; the switch's MAC), else hex.
    pub fn relay_location(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(c) = self.relay_circuit_id.as_deref() {
            let t = match c {
                [0, 4, v1, v2, module, port] => {
                    let vlan = u16::from_be_bytes([*v1, *v2]);
                    format!("vlan {vlan} module {module} port {port}")
                }
                _ => id_text(c),
            };
            out.push(("dhcp.relay.circuit_id", t));
        }
        if let Some(r) = self.relay_remote_id.as_deref() {
            let t = match r {
                [0, 6, mac @ ..] if mac.len() == 6 => hex(mac),
                _ => id_text(r),
            };
            out.push(("dhcp.relay.remote_id", t));
        }
        out
    }

    /// The parameter request list as `1,3,6,15`: the DHCP fingerprint Fingerbank and Satori match on.
    pub fn fingerprint(&self) -> String {
        let codes: Vec<String> = self.param_list.iter().map(u8::to_string).collect();
        codes.join(",")
    }
}

/// Reads one DHCP message. `None` when the payload is not a BOOTP request or reply carrying the DHCP
/// magic cookie; otherwise every option read before the first bad one. Option overload (52) is
/// followed into `file` and `sname`, and repeated options are joined (RFC 3396).
pub fn parse_dhcp(payload: &[u8]) -> Option<DhcpMessage> {
    if payload.get(BOOTP_HEADER..BOOTP_HEADER + 4)? != MAGIC_COOKIE {
        return None;
    }
    let op = payload[0];
    if op != 1 && op != 2 {
        return None;
    }
    let addr = |at: usize| -> [u8; 4] {
        [
            payload[at],
            payload[at + 1],
            payload[at + 2],
            payload[at + 3],
        ]
    };
    let htype = payload[1];
    let hlen = payload[2];
    let client_mac = (htype == 1 && hlen == 6).then(|| {
        let mut mac = [0; 6];
        mac.copy_from_slice(&payload[28..34]);
        mac
    });

    let mut options = Vec::new();
    let mut complete = walk_options(&payload[BOOTP_HEADER + 4..], &mut options);
    // Overload: `file` then `sname` hold more options (RFC 2131 section 4.1).
    let overload = options
        .iter()
        .find(|(code, value)| *code == 52 && value.len() == 1)
        .map(|(_, value)| value[0]);
    if let Some(overload) = overload {
        if overload & 1 != 0 {
            complete &= walk_options(&payload[108..236], &mut options);
        }
        if overload & 2 != 0 {
            complete &= walk_options(&payload[44..108], &mut options);
        }
    }

    let ipv4 = |code| gather(&options, code).and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok());
    let secs = |code| ipv4(code).map(u32::from_be_bytes);
    let addresses = |code| {
        gather(&options, code).map_or(Vec::new(), |v| {
            v.chunks_exact(4)
                .take(MAX_ADDRESSES)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect()
        })
    };
    let text_option = |code| gather(&options, code).and_then(|v| text(&v));
    let relay_agent = gather(&options, 82);
    let fqdn = gather(&options, 81).and_then(|v| {
        let name = v.get(3..)?;
        // Flag E (0x04): canonical wire encoding; otherwise ASCII, as Windows still sends it.
        let name = if v[0] & 0x04 != 0 {
            labels_text(name)
        } else {
            text(name)?
        };
        let name = name.strip_suffix('.').unwrap_or(&name).to_string();
        (!name.is_empty()).then_some(name)
    });
    Some(DhcpMessage {
        op,
        htype,
        xid: u32::from_be_bytes(addr(4)),
        message_type: gather(&options, 53).and_then(|v| (v.len() == 1).then(|| v[0])),
        client_mac,
        ciaddr: addr(12),
        yiaddr: addr(16),
        siaddr: addr(20),
        giaddr: addr(24),
        hostname: text_option(12),
        vendor_class: text_option(60),
        param_list: gather(&options, 55).map_or(Vec::new(), |mut v| {
            v.truncate(MAX_PARAMS);
            v
        }),
        client_id: gather(&options, 61).filter(|v| !v.is_empty()),
        relay_circuit_id: relay_agent.as_deref().and_then(|v| sub_option(v, 1)),
        relay_remote_id: relay_agent.as_deref().and_then(|v| sub_option(v, 2)),
        requested_ip: ipv4(50),
        server_id: ipv4(54),
        subnet_mask: ipv4(1),
        lease_secs: secs(51),
        renewal_secs: secs(58),
        rebinding_secs: secs(59),
        domain: text_option(15),
        router: addresses(3),
        dns: addresses(6),
        fqdn,
        option_codes: options.iter().map(|(code, _)| *code).collect(),
        truncated: !complete,
    })
}

/// Walks one options field into `out`. False when an option ran past the field or the cap was hit.
fn walk_options<'a>(field: &'a [u8], out: &mut Vec<(u8, &'a [u8])>) -> bool {
    let mut rest = field;
    while let Some((&code, tail)) = rest.split_first() {
        match code {
            0 => {
                rest = tail;
                continue;
            }
            255 => return true,
            _ => {}
        }
        let Some((&len, tail)) = tail.split_first() else {
            return false;
        };
        let Some(value) = tail.get(..usize::from(len)) else {
            return false;
        };
        if out.len() == MAX_OPTIONS {
            return false;
        }
        out.push((code, value));
        rest = &tail[usize::from(len)..];
    }
    true
}

/// All instances of option `code` joined in order (RFC 3396), capped; `None` when it is absent.
fn gather(options: &[(u8, &[u8])], code: u8) -> Option<Vec<u8>> {
    let mut found = None::<Vec<u8>>;
    for (c, value) in options {
        if *c == code {
            let acc = found.get_or_insert_with(Vec::new);
            let room = MAX_OPTION_BYTES - acc.len();
            acc.extend_from_slice(&value[..value.len().min(room)]);
        }
    }
    found
}

/// One DHCPv6 message: the client's own, when it came wrapped in relay messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcpv6Message {
    /// 1 SOLICIT, 2 ADVERTISE, 3 REQUEST, 7 REPLY, 11 INFORMATION-REQUEST, 12/13 relay (when the relay
    /// message held no readable inner message).
    pub msg_type: u8,
    /// 24-bit transaction id (0 for a relay message).
    pub transaction_id: u32,
    /// Relay-forward or relay-reply wrappers taken off to reach this message.
    pub relay_hops: u8,
    /// Option 1, the client DUID, raw.
    pub client_duid: Option<Vec<u8>>,
    /// Option 2, the server DUID, raw.
    pub server_duid: Option<Vec<u8>>,
    /// Option 39 (RFC 4704): the client's (often partial) name, without a final dot.
    pub fqdn: Option<String>,
    /// Option 16: enterprise number (311 Microsoft) and the vendor-class-data strings.
    pub vendor_class: Option<(u32, Vec<String>)>,
    /// Option 6, the option request list, in the client's order.
    pub oro: Vec<u16>,
    /// The addresses of the IA_NA (3) and IA_TA (4) options' IA Address options (5) whose valid
    /// lifetime is not 0, in the order sent, at most 32. In a Reply these are what the server gave
    /// the client; in a Request or Renew, what the client asks to keep.
    pub ia_addresses: Vec<std::net::Ipv6Addr>,
    /// Every option code in the order sent.
    pub option_codes: Vec<u16>,
    /// An option ran past the end of the message; options after it were not read.
    pub truncated: bool,
    /// From the relay nearest the client, IPv6's option 82: its Interface-ID (option 18, the port
    /// the client is on) and Remote-ID (option 37, after its enterprise number), raw.
    pub relay_interface_id: Option<Vec<u8>>,
    pub relay_remote_id: Option<Vec<u8>>,
}

impl Dhcpv6Message {
    /// Where the relay nearest the client says it is, as the same evidence as DHCP's option 82:
    /// `dhcp.relay.circuit_id` and `dhcp.relay.remote_id`, text when they are text, else hex.
    pub fn relay_location(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(id) = &self.relay_interface_id {
            out.push(("dhcp.relay.circuit_id", id_text(id)));
        }
        if let Some(id) = &self.relay_remote_id {
            out.push(("dhcp.relay.remote_id", id_text(id)));
        }
        out
    }
}

/// DHCPv6 message types (RFC 8415 section 7.3) that a client sends.
pub mod v6_message_type {
    pub const SOLICIT: u8 = 1;
    pub const ADVERTISE: u8 = 2;
    pub const REQUEST: u8 = 3;
    pub const CONFIRM: u8 = 4;
    pub const RENEW: u8 = 5;
    pub const REBIND: u8 = 6;
    pub const REPLY: u8 = 7;
    pub const RELEASE: u8 = 8;
    pub const DECLINE: u8 = 9;
    pub const INFORMATION_REQUEST: u8 = 11;
}

impl Dhcpv6Message {
    /// Whether a client sent it (Solicit, Request, Confirm, Renew, Rebind, Release, Decline,
    /// Information-request), rather than a server or a relay.
    pub fn from_client(&self) -> bool {
        use v6_message_type::*;
        matches!(
            self.msg_type,
            SOLICIT | REQUEST | CONFIRM | RENEW | REBIND | RELEASE | DECLINE | INFORMATION_REQUEST
        )
    }

    /// The option request list as `17,23,24,39`, the DHCPv6 counterpart of
    /// [`DhcpMessage::fingerprint`].
    pub fn fingerprint(&self) -> String {
        let codes: Vec<String> = self.oro.iter().map(u16::to_string).collect();
        codes.join(",")
    }

    /// The Ethernet MAC the client DUID embeds, if any (see [`duid_mac`]).
    pub fn client_mac(&self) -> Option<[u8; 6]> {
        duid_mac(self.client_duid.as_deref()?)
    }
}

/// The Ethernet address inside a DUID-LLT (type 1) or DUID-LL (type 3) of hardware type 1 (RFC 8415
/// section 11): the MAC of one of the device's interfaces when the DUID was made. A DUID-LLT keeps
/// it for life, so it may name another interface of the device (or the template a virtual machine
/// was cloned from). `None` for DUID-EN, DUID-UUID and other link types.
pub fn duid_mac(duid: &[u8]) -> Option<[u8; 6]> {
    let lladdr = match duid {
        [0, 1, 0, 1, _, _, _, _, rest @ ..] | [0, 3, 0, 1, rest @ ..] => rest,
        _ => return None,
    };
    lladdr.try_into().ok()
}

/// Reads one DHCPv6 message, unwrapping relay messages (12, 13) down to the client's message. `None`
/// when the payload is shorter than the fixed header or has message type 0; the message type is not
/// otherwise checked, so call this only on DHCPv6 ports (546, 547).
pub fn parse_dhcpv6(payload: &[u8]) -> Option<Dhcpv6Message> {
    let mut payload = payload;
    let mut relay_hops = 0;
    let (mut interface_id, mut remote_id) = (None, None);
    loop {
        let msg_type = *payload.first()?;
        if msg_type == 0 {
            return None;
        }
        let relay = is_relay(msg_type);
        let body = payload.get(v6_header_len(msg_type)..)?;
        let (options, complete) = walk_v6_options(body);
        if relay && relay_hops < MAX_RELAY_DEPTH {
            // Each relay inward overwrites these: the last is the one nearest the client.
            let cap = |v: &[u8]| v[..v.len().min(MAX_OPTION_BYTES)].to_vec();
            for (code, v) in &options {
                match code {
                    18 if !v.is_empty() => interface_id = Some(cap(v)),
                    37 if v.len() > 4 => remote_id = Some(cap(&v[4..])),
                    _ => {}
                }
            }
            // Option 9: the relayed message. Unwrap it when it reads as a message itself.
            let inner = options.iter().find(|(code, _)| *code == 9).map(|(_, v)| *v);
            let readable = |v: &&[u8]| {
                v.first()
                    .is_some_and(|&t| t != 0 && v.len() >= v6_header_len(t))
            };
            if let Some(inner) = inner.filter(readable) {
                payload = inner;
                relay_hops += 1;
                continue;
            }
        }
        let first = |code: u16| options.iter().find(|(c, _)| *c == code).map(|(_, v)| *v);
        let duid = |code| first(code).map(|v: &[u8]| v[..v.len().min(MAX_OPTION_BYTES)].to_vec());
        let vendor_class = first(16).and_then(|v| {
            let enterprise = u32::from_be_bytes(v.get(..4)?.try_into().ok()?);
            let mut data = Vec::new();
            let mut rest = &v[4..];
            while rest.len() >= 2 && data.len() < MAX_VENDOR_CLASS_DATA {
                let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let Some(item) = rest.get(2..2 + len) else {
                    break;
                };
                data.push(capped_text(item));
                rest = &rest[2 + len..];
            }
            Some((enterprise, data))
        });
        let fqdn = first(39).and_then(|v| {
            let name = labels_text(v.get(1..)?);
            (!name.is_empty()).then_some(name)
        });
        return Some(Dhcpv6Message {
            msg_type,
            transaction_id: if relay {
                0
            } else {
                u32::from_be_bytes([0, payload[1], payload[2], payload[3]])
            },
            relay_hops,
            client_duid: duid(1),
            server_duid: duid(2),
            fqdn,
            vendor_class,
            oro: first(6).map_or(Vec::new(), |v| {
                v.chunks_exact(2)
                    .take(MAX_OPTIONS)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect()
            }),
            ia_addresses: ia_addresses(&options),
            option_codes: options.iter().map(|(code, _)| *code).collect(),
            truncated: !complete,
            relay_interface_id: interface_id,
            relay_remote_id: remote_id,
        });
    }
}

/// The IA Address options (5) inside the IA_NA (3) and IA_TA (4) options, with a valid lifetime.
/// IA options do not nest further, so this reads two levels and no more.
fn ia_addresses(options: &[(u16, &[u8])]) -> Vec<std::net::Ipv6Addr> {
    let mut out = Vec::new();
    for (code, value) in options {
        // IA_NA: IAID, T1, T2 before its options; IA_TA: IAID only (RFC 8415 sections 21.4, 21.5).
        let inner = match code {
            3 => value.get(12..),
            4 => value.get(4..),
            _ => None,
        };
        let Some(inner) = inner else { continue };
        for (code, addr) in walk_v6_options(inner).0 {
            // Address (16), preferred lifetime (4), valid lifetime (4), options.
            let Some(fixed) = addr.get(..24).filter(|_| code == 5) else {
                continue;
            };
            let valid = u32::from_be_bytes([fixed[20], fixed[21], fixed[22], fixed[23]]);
            let Ok(octets) = <[u8; 16]>::try_from(&fixed[..16]) else {
                continue;
            };
            if valid != 0 && out.len() < MAX_ADDRESSES {
                out.push(std::net::Ipv6Addr::from(octets));
            }
        }
    }
    out
}

fn is_relay(msg_type: u8) -> bool {
    msg_type == 12 || msg_type == 13
}

/// Bytes before the options: type and transaction id, or for relay messages type, hop count, link
/// address and peer address.
fn v6_header_len(msg_type: u8) -> usize {
    if is_relay(msg_type) { 34 } else { 4 }
}

/// Walks DHCPv6 options (2-byte code, 2-byte length). False when one ran past the end or the cap was hit.
fn walk_v6_options(mut rest: &[u8]) -> (Vec<(u16, &[u8])>, bool) {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some(head) = rest.get(..4) else {
            return (out, false);
        };
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let Some(value) = rest.get(4..4 + len) else {
            return (out, false);
        };
        if out.len() == MAX_OPTIONS {
            return (out, false);
        }
        out.push((code, value));
        rest = &rest[4 + len..];
    }
    (out, true)
}

/// A name in DNS wire encoding without compression (DHCP FQDN options), read up to the root label, a
/// bad label or the end, as dotted text.
fn labels_text(mut wire: &[u8]) -> String {
    let mut out = Vec::new();
    while let Some((&len, tail)) = wire.split_first() {
        let len = usize::from(len);
        if len == 0 || len > 63 || len > tail.len() {
            break;
        }
        if !out.is_empty() {
            out.push(b'.');
        }
        out.extend_from_slice(&tail[..len]);
        wire = &tail[len..];
    }
    capped_text(&out)
}

/// A text option: trailing NULs dropped, lossy UTF-8, capped; `None` when nothing is left.
/// Sub-option `code` of a relay agent information option: code, length, value, each in turn; the
/// walk stops at one that runs past the option.
fn sub_option(mut v: &[u8], code: u8) -> Option<Vec<u8>> {
    while let [c, len, rest @ ..] = v {
        let value = rest.get(..usize::from(*len))?;
        if *c == code {
            return (!value.is_empty()).then(|| value.to_vec());
        }
        v = &rest[usize::from(*len)..];
    }
    None
}

/// An identifier as text when every byte is printable ASCII, else as hex.
fn id_text(v: &[u8]) -> String {
    if v.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        capped_text(v).trim().to_string()
    } else {
        hex(v)
    }
}

/// Bytes as `00:1b:2c`.
fn hex(v: &[u8]) -> String {
    v.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn text(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let s = capped_text(&bytes[..end]);
    (!s.is_empty()).then_some(s)
}

/// Lossy UTF-8, cut to at most [`MAX_TEXT`] bytes at a character boundary.
fn capped_text(bytes: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(bytes).into_owned();
    if s.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::net::Ipv4Addr;

    use super::*;
    use crate::dns::tests::{Datagram, corpus_captures, datagrams, tshark_fields};

    // ---- building messages by hand ----

    /// A BOOTP message with the cookie, `options` after it, and a recognisable header.
    fn bootp(op: u8, options: &[u8]) -> Vec<u8> {
        let mut msg = vec![0u8; BOOTP_HEADER];
        msg[0] = op;
        msg[1] = 1;
        msg[2] = 6;
        msg[4..8].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        msg[12..16].copy_from_slice(&[10, 0, 0, 9]);
        msg[16..20].copy_from_slice(&[10, 0, 0, 10]);
        msg[20..24].copy_from_slice(&[10, 0, 0, 1]);
        msg[24..28].copy_from_slice(&[10, 0, 0, 254]);
        msg[28..34].copy_from_slice(&[0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]);
        msg.extend_from_slice(&MAGIC_COOKIE);
        msg.extend_from_slice(options);
        msg
    }

    fn opt(code: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![code, value.len() as u8];
        out.extend_from_slice(value);
        out
    }

    /// A request as an infusion pump's embedded stack might send it: every option we read, with pads.
    fn pump_request() -> Vec<u8> {
        let options = [
            opt(53, &[3]),
            vec![0, 0],
            opt(61, &[1, 0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]),
            opt(50, &[10, 0, 0, 9]),
            opt(54, &[10, 0, 0, 1]),
            opt(12, b"PUMP-0042\0"),
            opt(60, b"Alaris-8015"),
            opt(
                81,
                &[
                    0x05, 0, 0, 4, b'p', b'u', b'm', b'p', 4, b'w', b'a', b'r', b'd', 0,
                ],
            ),
            opt(55, &[1, 3, 6, 15, 42]),
            vec![255],
            vec![0; 20],
        ]
        .concat();
        bootp(1, &options)
    }

    fn ack() -> Vec<u8> {
        let options = [
            opt(53, &[5]),
            opt(54, &[10, 0, 0, 1]),
            opt(51, &3600u32.to_be_bytes()),
            opt(58, &1800u32.to_be_bytes()),
            opt(59, &3150u32.to_be_bytes()),
            opt(1, &[255, 255, 255, 0]),
            opt(3, &[10, 0, 0, 1]),
            opt(6, &[10, 0, 0, 2, 10, 0, 0, 3]),
            opt(15, b"ward.hospital.example"),
            vec![255],
        ]
        .concat();
        bootp(2, &options)
    }

    // ---- unit tests ----

    #[test]
    fn client_identifiers_as_text_or_hex() {
        let with = |id: &[u8]| DhcpMessage {
            client_id: Some(id.to_vec()),
            ..parse_dhcp(&pump_request()).expect("dhcp")
        };
        assert_eq!(
            with(&[1, 0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f])
                .client_id_text()
                .as_deref(),
            Some("01:00:1b:2c:3d:4e:5f")
        );
        assert_eq!(
            with(b"\0SN-4711 ").client_id_text().as_deref(),
            Some("SN-4711")
        );
        // Type 0 with bytes that are not text: hex, like any other.
        assert_eq!(
            with(&[0, 7, 0]).client_id_text().as_deref(),
            Some("00:07:00")
        );
        assert_eq!(with(&[]).client_id_text(), None);
    }

    /// Option 82 from a relay: Cisco's default circuit id (VLAN, module, port) and remote id (the
    /// switch's MAC), a text circuit id, and sub-options that are not text or run past the option.
    #[test]
    fn relay_agent_information_says_where_the_client_is() {
        let relayed = |agent: &[u8]| {
            let mut m = pump_request();
            // Before the end option (the padding after it is zeros).
            let end = m.iter().rposition(|&b| b == 255).unwrap();
            m.splice(end..end, opt(82, agent));
            parse_dhcp(&m).expect("dhcp").relay_location()
        };
        let cisco = [
            &[1, 6, 0, 4, 0, 20, 1, 5][..],
            &[2, 8, 0, 6, 0x00, 0x1f, 0x11, 0xaa, 0xbb, 0xcc],
        ]
        .concat();
        assert_eq!(
            relayed(&cisco),
            [
                (
                    "dhcp.relay.circuit_id",
                    "vlan 20 module 1 port 5".to_string()
                ),
                ("dhcp.relay.remote_id", "00:1f:11:aa:bb:cc".to_string()),
            ]
        );
        assert_eq!(
            relayed(b"\x01\x0aGi1/0/5:20"),
            [("dhcp.relay.circuit_id", "Gi1/0/5:20".to_string())]
        );
        assert_eq!(
            relayed(&[2, 3, 1, 2, 3]),
            [("dhcp.relay.remote_id", "01:02:03".to_string())]
        );
        // A sub-option cut by the option's end, and an empty one: nothing.
        assert_eq!(relayed(&[1, 9, b'G', b'i']), []);
        assert_eq!(relayed(&[1, 0]), []);
    }

    #[test]
    fn request_options_are_read() {
        let msg = parse_dhcp(&pump_request()).expect("dhcp");
        assert_eq!((msg.op, msg.htype, msg.xid), (1, 1, 0xdead_beef));
        assert_eq!(msg.message_type, Some(message_type::REQUEST));
        assert_eq!(message_type_name(3), Some("request"));
        assert_eq!(msg.client_mac, Some([0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]));
        assert_eq!(
            (msg.ciaddr, msg.yiaddr, msg.siaddr, msg.giaddr),
            (
                [10, 0, 0, 9],
                [10, 0, 0, 10],
                [10, 0, 0, 1],
                [10, 0, 0, 254]
            )
        );
        // The NUL the client counted in the length is not part of the name.
        assert_eq!(msg.hostname.as_deref(), Some("PUMP-0042"));
        assert_eq!(msg.vendor_class.as_deref(), Some("Alaris-8015"));
        assert_eq!(msg.fqdn.as_deref(), Some("pump.ward"));
        assert_eq!(
            msg.client_id.as_deref(),
            Some(&[1, 0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f][..])
        );
        assert_eq!(
            (msg.requested_ip, msg.server_id),
            (Some([10, 0, 0, 9]), Some([10, 0, 0, 1]))
        );
        assert_eq!(msg.fingerprint(), "1,3,6,15,42");
        assert_eq!(msg.option_codes, [53, 61, 50, 54, 12, 60, 81, 55]);
        assert!(!msg.truncated);
    }

    #[test]
    fn reply_options_are_read() {
        let msg = parse_dhcp(&ack()).expect("dhcp");
        assert_eq!((msg.op, msg.message_type), (2, Some(message_type::ACK)));
        assert_eq!(
            (msg.lease_secs, msg.renewal_secs, msg.rebinding_secs),
            (Some(3600), Some(1800), Some(3150))
        );
        assert_eq!(msg.subnet_mask, Some([255, 255, 255, 0]));
        assert_eq!(msg.router, [[10, 0, 0, 1]]);
        assert_eq!(msg.dns, [[10, 0, 0, 2], [10, 0, 0, 3]]);
        assert_eq!(msg.domain.as_deref(), Some("ward.hospital.example"));
        assert_eq!(msg.fingerprint(), "");
    }

    #[test]
    fn not_dhcp_is_none() {
        let good = pump_request();
        assert!(parse_dhcp(&good[..239]).is_none());
        let mut no_cookie = good.clone();
        no_cookie[236] = 0;
        assert!(parse_dhcp(&no_cookie).is_none());
        let mut bad_op = good.clone();
        bad_op[0] = 3;
        assert!(parse_dhcp(&bad_op).is_none());
        // The cookie alone, without options, is a DHCP message with nothing in it.
        let bare = parse_dhcp(&good[..240]).expect("dhcp");
        assert!(bare.option_codes.is_empty() && !bare.truncated);
        // Not Ethernet: no MAC.
        let mut infiniband = good;
        infiniband[1] = 32;
        infiniband[2] = 0;
        assert_eq!(parse_dhcp(&infiniband).expect("dhcp").client_mac, None);
    }

    #[test]
    fn bad_option_length_keeps_what_was_read() {
        let options = [
            opt(53, &[1]),
            opt(12, b"monitor-7"),
            vec![60, 49, b'M', b'S'],
        ]
        .concat();
        let msg = parse_dhcp(&bootp(1, &options)).expect("dhcp");
        assert_eq!(msg.hostname.as_deref(), Some("monitor-7"));
        assert_eq!(msg.vendor_class, None);
        assert_eq!(msg.option_codes, [53, 12]);
        assert!(msg.truncated);
        // An option code as the very last byte, without its length.
        let msg = parse_dhcp(&bootp(1, &[53, 1, 1, 12])).expect("dhcp");
        assert_eq!((msg.message_type, msg.truncated), (Some(1), true));
    }

    #[test]
    fn values_of_the_wrong_size_are_ignored_and_reading_goes_on() {
        let options = [
            opt(53, &[1, 2]),
            opt(50, &[10, 0, 0]),
            opt(51, &[0, 1]),
            opt(3, &[10, 0, 0, 1, 10]),
            opt(12, b""),
            opt(12, b"\0\0"),
            opt(61, b""),
            opt(81, &[0, 0]),
            opt(60, b"ok"),
        ]
        .concat();
        let msg = parse_dhcp(&bootp(1, &options)).expect("dhcp");
        assert_eq!(
            (msg.message_type, msg.requested_ip, msg.lease_secs),
            (None, None, None)
        );
        assert_eq!(msg.router, [[10, 0, 0, 1]]);
        assert_eq!((msg.hostname, msg.client_id, msg.fqdn), (None, None, None));
        assert_eq!(msg.vendor_class.as_deref(), Some("ok"));
        assert!(!msg.truncated);
    }

    #[test]
    fn overloaded_file_and_sname_hold_options() {
        let mut msg = bootp(1, &[opt(53, &[1]), opt(52, &[3]), vec![255]].concat());
        // file (108..236) first, then sname (44..108), RFC 2131 section 4.1.
        let file = [opt(12, b"xray-3"), vec![255]].concat();
        msg[108..108 + file.len()].copy_from_slice(&file);
        let sname = [opt(60, b"GE Healthcare"), vec![255]].concat();
        msg[44..44 + sname.len()].copy_from_slice(&sname);
        let parsed = parse_dhcp(&msg).expect("dhcp");
        assert_eq!(parsed.hostname.as_deref(), Some("xray-3"));
        assert_eq!(parsed.vendor_class.as_deref(), Some("GE Healthcare"));
        assert_eq!(parsed.option_codes, [53, 52, 12, 60]);
        // Without the overload option the same bytes are just a server name and a file name.
        msg[244] = 0;
        msg[245] = 0;
        msg[246] = 0;
        let parsed = parse_dhcp(&msg).expect("dhcp");
        assert_eq!((parsed.hostname, parsed.vendor_class), (None, None));
    }

    #[test]
    fn repeated_options_are_joined() {
        // RFC 3396: a long option split in pieces, in order.
        let options = [
            opt(55, &[1, 3]),
            opt(12, b"ultra"),
            opt(55, &[6, 15]),
            opt(12, b"sound-1"),
        ]
        .concat();
        let msg = parse_dhcp(&bootp(1, &options)).expect("dhcp");
        assert_eq!(msg.fingerprint(), "1,3,6,15");
        assert_eq!(msg.hostname.as_deref(), Some("ultrasound-1"));
        assert_eq!(msg.option_codes, [55, 12, 55, 12]);
    }

    #[test]
    fn fqdn_in_ascii_and_wire_encoding() {
        let ascii = parse_dhcp(&bootp(1, &opt(81, b"\0\0\0d002465."))).expect("dhcp");
        assert_eq!(ascii.fqdn.as_deref(), Some("d002465"));
        // A wire-encoded name with a label running past the option: the labels before it are kept.
        let cut =
            parse_dhcp(&bootp(1, &opt(81, &[4, 0, 0, 2, b'a', b'b', 9, b'c']))).expect("dhcp");
        assert_eq!(cut.fqdn.as_deref(), Some("ab"));
    }

    #[test]
    fn text_is_lossy_and_capped() {
        let long = [opt(12, &[b'h'; 255]), opt(12, &[0xff; 255])].concat();
        let msg = parse_dhcp(&bootp(1, &long)).expect("dhcp");
        let hostname = msg.hostname.expect("hostname");
        assert_eq!(hostname.len(), MAX_TEXT);
        assert!(hostname.chars().all(|c| c == 'h'));
        let msg = parse_dhcp(&bootp(1, &opt(60, &[0xc3, b'x']))).expect("dhcp");
        assert_eq!(msg.vendor_class.as_deref(), Some("\u{fffd}x"));
    }

    #[test]
    fn option_count_is_capped() {
        let options: Vec<u8> = std::iter::repeat_n([7u8, 0], 400).flatten().collect();
        let msg = parse_dhcp(&bootp(1, &options)).expect("dhcp");
        assert_eq!(msg.option_codes.len(), MAX_OPTIONS);
        assert!(msg.truncated);
    }

    /// `sub` appears in `full` in the same order, perhaps with gaps.
    fn is_subsequence<T: PartialEq>(sub: &[T], full: &[T]) -> bool {
        let mut it = full.iter();
        sub.iter().all(|x| it.any(|y| y == x))
    }

    /// Every prefix of a DHCP message reads without panicking, as nothing before the cookie and as a
    /// subsequence of the whole message's options after it.
    fn check_prefixes(full: &[u8]) {
        let whole = parse_dhcp(full).expect("whole message");
        for cut in 0..full.len() {
            match parse_dhcp(&full[..cut]) {
                None => assert!(cut < 240, "cut {cut}"),
                Some(part) => {
                    assert_eq!(
                        (part.op, part.xid, part.client_mac),
                        (whole.op, whole.xid, whole.client_mac)
                    );
                    assert!(
                        is_subsequence(&part.option_codes, &whole.option_codes),
                        "cut {cut}"
                    );
                }
            }
        }
    }

    fn check_v6_prefixes(full: &[u8]) {
        let whole = parse_dhcpv6(full).expect("whole message");
        for cut in 0..full.len() {
            let Some(part) = parse_dhcpv6(&full[..cut]) else {
                continue;
            };
            // With the relayed message cut, the relay message itself is what reads.
            if part.relay_hops == whole.relay_hops {
                assert!(
                    is_subsequence(&part.option_codes, &whole.option_codes),
                    "cut {cut}"
                );
            } else {
                assert!(part.relay_hops < whole.relay_hops, "cut {cut}");
            }
        }
    }

    #[test]
    fn every_prefix_of_a_message_reads() {
        check_prefixes(&pump_request());
        check_prefixes(&ack());
        check_v6_prefixes(&relayed_solicit());
    }

    fn v6_opt(code: u16, value: &[u8]) -> Vec<u8> {
        let mut out = code.to_be_bytes().to_vec();
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
        out
    }

    fn solicit() -> Vec<u8> {
        let duid = [0, 3, 0, 1, 0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f];
        let mut vendor = 4413u32.to_be_bytes().to_vec();
        for item in [&b"PHILIPS-MX800"[..], b"fw=J.10"] {
            vendor.extend_from_slice(&(item.len() as u16).to_be_bytes());
            vendor.extend_from_slice(item);
        }
        vendor.extend_from_slice(&[0, 9, b'x']); // a data item cut short: ignored
        [
            vec![1, 0x12, 0x34, 0x56],
            v6_opt(1, &duid),
            v6_opt(6, &[0, 23, 0, 24, 0, 39]),
            v6_opt(8, &[0, 0]),
            v6_opt(39, &[1, 8, b'm', b'o', b'n', b'i', b't', b'o', b'r', b'1']),
            v6_opt(16, &vendor),
        ]
        .concat()
    }

    fn relayed_solicit() -> Vec<u8> {
        let mut relay = vec![12, 0];
        relay.extend_from_slice(&[0x20; 16]);
        relay.extend_from_slice(&[0xfe; 16]);
        relay.extend_from_slice(&v6_opt(18, b"eth0"));
        relay.extend_from_slice(&v6_opt(9, &solicit()));
        relay
    }

    #[test]
    fn dhcpv6_solicit_is_read() {
        let msg = parse_dhcpv6(&solicit()).expect("dhcpv6");
        assert_eq!(
            (msg.msg_type, msg.transaction_id, msg.relay_hops),
            (1, 0x123456, 0)
        );
        assert_eq!(
            msg.client_duid.as_deref(),
            Some(&[0, 3, 0, 1, 0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f][..])
        );
        assert_eq!(msg.server_duid, None);
        assert_eq!(msg.oro, [23, 24, 39]);
        assert_eq!(msg.fqdn.as_deref(), Some("monitor1"));
        assert_eq!(
            msg.vendor_class,
            Some((
                4413,
                vec!["PHILIPS-MX800".to_string(), "fw=J.10".to_string()]
            ))
        );
        assert_eq!(msg.option_codes, [1, 6, 8, 39, 16]);
        assert!(!msg.truncated);
    }

    #[test]
    fn dhcpv6_relay_is_unwrapped() {
        let msg = parse_dhcpv6(&relayed_solicit()).expect("dhcpv6");
        assert_eq!((msg.msg_type, msg.relay_hops), (1, 1));
        assert_eq!(msg.fqdn.as_deref(), Some("monitor1"));
        // A relay whose inner message is unreadable is returned as the relay message itself.
        let mut relay = relayed_solicit();
        relay.truncate(34 + 8);
        relay.extend_from_slice(&v6_opt(9, &[1, 2]));
        let msg = parse_dhcpv6(&relay).expect("dhcpv6");
        assert_eq!(
            (msg.msg_type, msg.relay_hops, msg.option_codes.as_slice()),
            (12, 0, &[18, 9][..])
        );
        // Relays nested deeper than the limit stop unwrapping instead of recursing on.
        let mut nested = solicit();
        for _ in 0..40 {
            let mut relay = vec![12, 0];
            relay.extend_from_slice(&[0; 32]);
            relay.extend_from_slice(&v6_opt(9, &nested));
            nested = relay;
        }
        let msg = parse_dhcpv6(&nested).expect("dhcpv6");
        assert_eq!((msg.msg_type, msg.relay_hops), (12, MAX_RELAY_DEPTH));
    }

    /// Two relays: the one nearest the client (the access switch) says where the client is, as
    /// option 82 does for DHCP; the outer one (the distribution router) is not the client's port.
    #[test]
    fn dhcpv6_relays_nearest_the_client_give_its_port() {
        let mut access = vec![12, 0];
        access.extend_from_slice(&[0x20; 32]);
        access.extend_from_slice(&v6_opt(18, b"Gi1/0/7"));
        access.extend_from_slice(&v6_opt(
            37,
            &[&9u32.to_be_bytes()[..], b"sw-icu-3"].concat(),
        ));
        access.extend_from_slice(&v6_opt(9, &solicit()));
        let mut outer = vec![12, 1];
        outer.extend_from_slice(&[0x30; 32]);
        outer.extend_from_slice(&v6_opt(18, b"uplink"));
        outer.extend_from_slice(&v6_opt(9, &access));
        let msg = parse_dhcpv6(&outer).expect("dhcpv6");
        assert_eq!(msg.relay_hops, 2);
        assert_eq!(
            msg.relay_location(),
            [
                ("dhcp.relay.circuit_id", "Gi1/0/7".to_string()),
                ("dhcp.relay.remote_id", "sw-icu-3".to_string()),
            ]
        );
        // One relay with only its interface-id; none at all.
        let one = parse_dhcpv6(&relayed_solicit()).unwrap();
        assert_eq!(
            one.relay_location(),
            [("dhcp.relay.circuit_id", "eth0".to_string())]
        );
        assert!(
            parse_dhcpv6(&solicit())
                .unwrap()
                .relay_location()
                .is_empty()
        );
    }

    #[test]
    fn duid_macs_come_from_ethernet_llt_and_ll_duids_only() {
        let mac = [0x00, 0x0c, 0x29, 0x5e, 0x77, 0x44];
        let llt = [&[0, 1, 0, 1, 0x1d, 0xef, 0x69, 0xbd][..], &mac].concat();
        assert_eq!(duid_mac(&llt), Some(mac));
        let ll = [&[0, 3, 0, 1][..], &mac].concat();
        assert_eq!(duid_mac(&ll), Some(mac));
        // DUID-EN (enterprise 311 and an identifier), another link type, a cut or long address.
        assert_eq!(duid_mac(&[0, 2, 0, 0, 1, 55, 1, 2, 3, 4, 5, 6]), None);
        assert_eq!(duid_mac(&[&[0, 3, 0, 6][..], &mac].concat()), None);
        assert_eq!(duid_mac(&ll[..9]), None);
        assert_eq!(duid_mac(&[&ll[..], &[0]].concat()), None);
        assert_eq!(duid_mac(&[]), None);
        let msg = parse_dhcpv6(&solicit()).expect("dhcpv6");
        assert_eq!(msg.client_mac(), Some([0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]));
        assert!(msg.from_client());
        assert_eq!(msg.fingerprint(), "23,24,39");
    }

    /// A Reply giving two addresses in an IA_NA (and withdrawing a third with lifetime 0), one in an
    /// IA_TA, and a delegated prefix, which is not an address of the client.
    fn reply() -> Vec<u8> {
        let iaaddr = |last: u8, valid: u32| {
            let mut v = vec![
                0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0x10, last,
            ];
            v.extend_from_slice(&3600u32.to_be_bytes());
            v.extend_from_slice(&valid.to_be_bytes());
            v6_opt(5, &v)
        };
        let ia_na = [
            vec![0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x15, 0x18],
            iaaddr(2, 7200),
            iaaddr(3, 0),
            iaaddr(4, 7200),
            v6_opt(13, &[0, 0, b'o', b'k']),
        ]
        .concat();
        let ia_ta = [vec![0, 0, 0, 2], iaaddr(9, 600)].concat();
        let ia_pd = [vec![0; 12], v6_opt(26, &[0; 25])].concat();
        [
            vec![7, 0x12, 0x34, 0x56],
            v6_opt(1, &[0, 3, 0, 1, 0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]),
            v6_opt(2, &[0, 3, 0, 1, 0x00, 0x50, 0x56, 0, 0, 1]),
            v6_opt(3, &ia_na),
            v6_opt(4, &ia_ta),
            v6_opt(25, &ia_pd),
        ]
        .concat()
    }

    #[test]
    fn a_reply_gives_the_addresses_of_its_identity_associations() {
        let msg = parse_dhcpv6(&reply()).expect("dhcpv6");
        assert!(!msg.from_client());
        assert_eq!(msg.msg_type, v6_message_type::REPLY);
        let addresses: Vec<String> = msg.ia_addresses.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            addresses,
            [
                "2001:db8:1:2::1002",
                "2001:db8:1:2::1004",
                "2001:db8:1:2::1009"
            ]
        );
        // An IA_NA too short for its header, an IA Address too short for its lifetimes.
        let short = [vec![7, 0, 0, 1], v6_opt(3, &[0; 11])].concat();
        assert!(
            parse_dhcpv6(&short)
                .expect("dhcpv6")
                .ia_addresses
                .is_empty()
        );
        let cut = [
            vec![7, 0, 0, 1],
            v6_opt(3, &[&[0; 12][..], &v6_opt(5, &[0x20; 23])].concat()),
        ]
        .concat();
        assert!(parse_dhcpv6(&cut).expect("dhcpv6").ia_addresses.is_empty());
        check_v6_prefixes(&reply());
    }

    #[test]
    fn dhcpv6_bad_input() {
        assert!(parse_dhcpv6(&[]).is_none());
        assert!(parse_dhcpv6(&[1, 0, 0]).is_none());
        assert!(parse_dhcpv6(&[0, 0, 0, 0]).is_none());
        assert!(parse_dhcpv6(&[12; 33]).is_none());
        let mut cut = solicit();
        cut.truncate(cut.len() - 3);
        let msg = parse_dhcpv6(&cut).expect("dhcpv6");
        assert_eq!((msg.vendor_class, msg.truncated), (None, true));
        assert_eq!(msg.fqdn.as_deref(), Some("monitor1"));
    }

    #[test]
    fn single_byte_corruptions_never_panic() {
        for good in [pump_request(), ack(), relayed_solicit(), reply()] {
            for i in 0..good.len() {
                for value in [0x00, 0x01, 0x0c, 0x34, 0xff] {
                    let mut bad = good.clone();
                    bad[i] = value;
                    if let Some(msg) = parse_dhcp(&bad) {
                        let _ = msg.fingerprint();
                    }
                    let _ = parse_dhcpv6(&bad);
                }
            }
        }
    }

    // ---- the corpus ----

    const DHCP_PORTS: [u16; 2] = [67, 68];
    const DHCPV6_PORTS: [u16; 2] = [546, 547];

    fn hex(bytes: &[u8], sep: &str) -> String {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(sep)
    }

    fn ip(a: [u8; 4]) -> String {
        Ipv4Addr::from(a).to_string()
    }

    /// The `match:` maps of the `event_type: dhcp` checks of a suricata-verify `test.yaml`.
    fn suricata_dhcp_checks(yaml: &str) -> Vec<BTreeMap<String, String>> {
        let mut checks: Vec<BTreeMap<String, String>> = Vec::new();
        let mut in_match = false;
        for line in yaml.lines() {
            let t = line.trim();
            if t.starts_with("- filter:") {
                checks.push(BTreeMap::new());
                in_match = false;
            } else if t == "match:" {
                in_match = true;
            } else if let (true, Some((k, v)), Some(check)) =
                (in_match, t.split_once(": "), checks.last_mut())
            {
                let v = v.trim_matches('"').replace("\\u0000", "\0");
                check.insert(k.to_string(), v);
            }
        }
        checks.retain(|c| c.get("event_type").map(String::as_str) == Some("dhcp"));
        checks
    }

    /// Suricata's name for a requested parameter; it logs only these and skips the rest
    /// (`rust/src/dhcp/logger.rs`, `log_opt_parameters`).
    fn suricata_param(code: u8) -> Option<&'static str> {
        Some(match code {
            1 => "subnet_mask",
            3 => "router",
            6 => "dns_server",
            15 => "domain",
            35 => "arp_timeout",
            42 => "ntp_server",
            66 => "tftp_server_name",
            150 => "tftp_server_ip",
            _ => return None,
        })
    }

    /// Our value for a Suricata EVE `dhcp.*` field, rendered as Suricata does; `None` for a field we do
    /// not know, so that a new one in the test fails loudly.
    fn suricata_field(msg: &DhcpMessage, d: &Datagram, key: &str) -> Option<Option<String>> {
        let indexed = |prefix: &str, values: Vec<String>| {
            let i: usize = key.strip_prefix(prefix)?.strip_suffix(']')?.parse().ok()?;
            Some(values.get(i).cloned())
        };
        Some(match key {
            "src_port" => Some(d.src_port.to_string()),
            "dest_port" => Some(d.dst_port.to_string()),
            "dhcp.id" => Some(msg.xid.to_string()),
            "dhcp.type" => Some(if msg.op == 1 { "request" } else { "reply" }.to_string()),
            "dhcp.dhcp_type" => msg
                .message_type
                .and_then(message_type_name)
                .map(str::to_string),
            "dhcp.client_mac" => msg.client_mac.map(|m| hex(&m, ":")),
            "dhcp.client_ip" => Some(ip(msg.ciaddr)),
            "dhcp.assigned_ip" => Some(ip(msg.yiaddr)),
            "dhcp.next_server_ip" => Some(ip(msg.siaddr)),
            "dhcp.relay_ip" => Some(ip(msg.giaddr)),
            // Suricata keeps the NUL the client counted in the option length ("nas1\u0000"); we drop
            // trailing NULs, as tshark does, so compare the name without it.
            "dhcp.hostname" => msg.hostname.as_ref().map(|h| format!("{h}\0")),
            // Suricata prints option 61 without its type byte.
            "dhcp.client_id" => msg.client_id.as_ref().map(|c| hex(&c[1..], ":")),
            "dhcp.vendor_class_identifier" => msg.vendor_class.clone(),
            "dhcp.lease_time" => msg.lease_secs.map(|s| s.to_string()),
            "dhcp.renewal_time" => msg.renewal_secs.map(|s| s.to_string()),
            "dhcp.rebinding_time" => msg.rebinding_secs.map(|s| s.to_string()),
            "dhcp.subnet_mask" => msg.subnet_mask.map(ip),
            _ if key.starts_with("dhcp.params[") => indexed(
                "dhcp.params[",
                msg.param_list
                    .iter()
                    .filter_map(|&c| suricata_param(c))
                    .map(str::to_string)
                    .collect(),
            )?,
            _ if key.starts_with("dhcp.routers[") => {
                indexed("dhcp.routers[", msg.router.iter().map(|&a| ip(a)).collect())?
            }
            _ if key.starts_with("dhcp.dns_servers[") => indexed(
                "dhcp.dns_servers[",
                msg.dns.iter().map(|&a| ip(a)).collect(),
            )?,
            _ => return None,
        })
    }

    /// suricata-verify `dhcp-eve-extended` (a request and its ack) and `dhcp-eve-extended-option-60`
    /// (a Windows request with vendor class `MSFT 5.0`): every EVE field of their DHCP checks.
    #[test]
    fn suricata_verify_dhcp() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let mut checked = 0;
        for test in ["dhcp-eve-extended", "dhcp-eve-extended-option-60"] {
            let dir = corpus.join("pcap/suricata-verify").join(test);
            let yaml = std::fs::read_to_string(dir.join("test.yaml")).expect("test.yaml");
            let packets = datagrams(&dir.join("input.pcap"), &DHCP_PORTS);
            let checks = suricata_dhcp_checks(&yaml);
            assert!(!checks.is_empty(), "{test}: no dhcp checks in test.yaml");
            for check in checks {
                // suricata-verify's single-packet test leaves pcap_cnt out: it is frame 1.
                let frame: u64 = check
                    .get("pcap_cnt")
                    .map_or(1, |n| n.parse().expect("pcap_cnt"));
                let d = packets.iter().find(|d| d.frame == frame).expect("frame");
                let msg = parse_dhcp(&d.payload).expect("dhcp");
                for (key, want) in &check {
                    if !(key.starts_with("dhcp.") || key.ends_with("_port")) {
                        continue; // addresses, protocol, event type, pcap_cnt: not ours to say
                    }
                    let got = suricata_field(&msg, d, key)
                        .unwrap_or_else(|| panic!("{test}: no mapping for Suricata field {key}"));
                    assert_eq!(
                        got.as_deref(),
                        Some(want.as_str()),
                        "{test} frame {frame} {key}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 40, "Suricata fields checked");
    }

    /// nDPI's `dhcp-fuzz.pcapng`: option 60 claims 49 bytes where 23 remain. We keep the options
    /// before it, as tshark does (it stops there with "Malformed Packet").
    #[test]
    fn ndpi_dhcp_fuzz_keeps_the_options_before_the_bad_one() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let packets = datagrams(&corpus.join("pcap/ndpi/dhcp-fuzz.pcapng"), &DHCP_PORTS);
        let [d] = packets.as_slice() else {
            panic!("one DHCP packet expected, got {}", packets.len());
        };
        check_prefixes(&d.payload);
        let msg = parse_dhcp(&d.payload).expect("dhcp");
        assert_eq!(msg.message_type, Some(106));
        assert_eq!(msg.hostname.as_deref(), Some("MK03862"));
        assert_eq!(
            msg.client_id.as_deref().map(|c| hex(c, ":")),
            Some("01:00:1f:29:da:2d:79".into())
        );
        assert_eq!(
            (msg.vendor_class, msg.option_codes.as_slice(), msg.truncated),
            (None, &[53, 61, 12][..], true)
        );
    }

    const TSHARK_DHCP_FIELDS: [&str; 20] = [
        "dhcp.type",
        "dhcp.id",
        "dhcp.hw.mac_addr",
        "dhcp.ip.client",
        "dhcp.ip.your",
        "dhcp.ip.server",
        "dhcp.ip.relay",
        "dhcp.option.dhcp",
        "dhcp.option.hostname",
        "dhcp.option.vendor_class_id",
        "dhcp.option.request_list_item",
        "dhcp.fqdn.name",
        "dhcp.option.domain_name",
        "dhcp.option.requested_ip_address",
        "dhcp.option.dhcp_server_id",
        "dhcp.option.ip_address_lease_time",
        "dhcp.option.subnet_mask",
        "dhcp.option.router",
        "dhcp.option.domain_name_server",
        "dhcp.option.type",
    ];

    /// What tshark shows of one DHCP message, in its `-T fields` form (with the adjustments noted).
    fn tshark_dhcp_view(msg: &DhcpMessage) -> Vec<Vec<String>> {
        let one = |v: Option<String>| v.into_iter().collect::<Vec<_>>();
        // tshark also files the MAC inside a type-1 client identifier under dhcp.hw.mac_addr.
        let mut macs = one(msg.client_mac.map(|m| hex(&m, ":")));
        if let Some(c) = msg.client_id.as_ref().filter(|c| c.len() == 7 && c[0] == 1) {
            macs.push(hex(&c[1..], ":"));
        }
        vec![
            vec![msg.op.to_string()],
            vec![format!("0x{:08x}", msg.xid)],
            macs,
            vec![ip(msg.ciaddr)],
            vec![ip(msg.yiaddr)],
            vec![ip(msg.siaddr)],
            vec![ip(msg.giaddr)],
            one(msg.message_type.map(|t| t.to_string())),
            one(msg.hostname.clone()),
            one(msg.vendor_class.clone()),
            msg.param_list.iter().map(u8::to_string).collect(),
            one(msg.fqdn.clone()),
            one(msg.domain.clone()),
            one(msg.requested_ip.map(ip)),
            one(msg.server_id.map(ip)),
            one(msg.lease_secs.map(|s| s.to_string())),
            one(msg.subnet_mask.map(ip)),
            msg.router.iter().map(|&a| ip(a)).collect(),
            msg.dns.iter().map(|&a| ip(a)).collect(),
            msg.option_codes.iter().map(u8::to_string).collect(),
        ]
    }

    /// tshark's values, brought to our conventions where the difference is one of presentation.
    fn normalise_tshark_dhcp(msg: &DhcpMessage, mut fields: Vec<Vec<String>>) -> Vec<Vec<String>> {
        // tshark keeps the final dot of an ASCII-encoded option 81 name ("d002465."); we drop it.
        for name in &mut fields[11] {
            if let Some(n) = name.strip_suffix('.') {
                *name = n.to_string();
            }
        }
        // tshark lists the End option as option type 0 (its "type" field is not filled for End).
        fields[19].retain(|c| c != "0");
        // tshark lists the code of the option that ran past the end before calling the packet
        // malformed; we list only options we read.
        if msg.truncated && fields[19].len() == msg.option_codes.len() + 1 {
            fields[19].pop();
        }
        fields
    }

    /// tshark's values per frame, one list per field.
    type Rows = BTreeMap<u64, Vec<Vec<String>>>;

    const TSHARK_DHCPV6_FIELDS: [&str; 7] = [
        "dhcpv6.msgtype",
        "dhcpv6.xid",
        "dhcpv6.duid.bytes",
        "dhcpv6.client_domain",
        "dhcpv6.vendorclass.enterprise",
        "dhcpv6.vendorclass.data",
        "dhcpv6.requested_option_code",
    ];

    fn tshark_dhcpv6_view(msg: &Dhcpv6Message) -> Vec<Vec<String>> {
        // Client and server DUIDs, in the order the options came.
        let mut duids: Vec<(usize, String)> = Vec::new();
        for (code, duid) in [(1, &msg.client_duid), (2, &msg.server_duid)] {
            if let (Some(duid), Some(at)) = (duid, msg.option_codes.iter().position(|&c| c == code))
            {
                duids.push((at, hex(duid, "")));
            }
        }
        duids.sort();
        let (enterprise, data) = match &msg.vendor_class {
            Some((e, d)) => (vec![e.to_string()], d.clone()),
            None => (Vec::new(), Vec::new()),
        };
        vec![
            vec![msg.msg_type.to_string()],
            vec![format!("0x{:06x}", msg.transaction_id)],
            duids.into_iter().map(|(_, d)| d).collect(),
            msg.fqdn.iter().cloned().collect(),
            enterprise,
            data,
            msg.oro.iter().map(u16::to_string).collect(),
        ]
    }

    /// Every DHCP and DHCPv6 message in the corpus, read by us and by tshark: the same frames and the
    /// same header fields and options.
    #[test]
    fn corpus_dhcp_matches_tshark() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let Some(tshark) = testkit::tshark() else {
            return;
        };
        let (mut v4, mut v6, mut files) = (0, 0, 0);
        let mut fingerprints = BTreeSet::new();
        let mut differences = Vec::new();
        let mut compare =
            |name: &str, frame: u64, field: &str, ours: &Vec<String>, theirs: &Vec<String>| {
                if ours != theirs {
                    differences.push(format!(
                        "{name} frame {frame} {field}: ours {ours:?}, tshark {theirs:?}"
                    ));
                }
            };
        for path in corpus_captures(&corpus) {
            let ours4: BTreeMap<u64, DhcpMessage> = datagrams(&path, &DHCP_PORTS)
                .iter()
                .filter_map(|d| Some((d.frame, parse_dhcp(&d.payload)?)))
                .collect();
            let ours6: BTreeMap<u64, Dhcpv6Message> = datagrams(&path, &DHCPV6_PORTS)
                .iter()
                .filter_map(|d| Some((d.frame, parse_dhcpv6(&d.payload)?)))
                .collect();
            if ours4.is_empty() && ours6.is_empty() {
                continue;
            }
            files += 1;
            let name = path
                .strip_prefix(&corpus)
                .unwrap_or(&path)
                .display()
                .to_string();
            // One tshark run per capture for both protocols: its start-up dominates the test's time.
            let fields: Vec<&str> = TSHARK_DHCP_FIELDS
                .iter()
                .chain(&TSHARK_DHCPV6_FIELDS)
                .copied()
                .collect();
            let filter = "(dhcp && !icmp) || (dhcpv6 && !icmpv6)";
            let theirs = tshark_fields(tshark, &path, filter, &fields);
            let (theirs4, theirs6): (Rows, Rows) =
                theirs.into_iter().partition(|(_, f)| !f[0].is_empty());
            let theirs6: Rows = theirs6
                .into_iter()
                .map(|(frame, f)| (frame, f[TSHARK_DHCP_FIELDS.len()..].to_vec()))
                .collect();
            for (frame, msg) in &ours4 {
                let theirs = normalise_tshark_dhcp(msg, theirs4[frame].clone());
                for (i, ours) in tshark_dhcp_view(msg).iter().enumerate() {
                    compare(&name, *frame, TSHARK_DHCP_FIELDS[i], ours, &theirs[i]);
                }
                if msg.op == 1 && !msg.param_list.is_empty() {
                    fingerprints.insert(msg.fingerprint());
                }
                v4 += 1;
            }
            for (frame, msg) in &ours6 {
                for (i, ours) in tshark_dhcpv6_view(msg).iter().enumerate() {
                    compare(
                        &name,
                        *frame,
                        TSHARK_DHCPV6_FIELDS[i],
                        ours,
                        &theirs6[frame][i],
                    );
                }
                v6 += 1;
            }
        }
        eprintln!(
            "{v4} DHCP and {v6} DHCPv6 messages in {files} captures checked against tshark; fingerprints: {fingerprints:?}"
        );
        assert!(differences.is_empty(), "{}", differences.join("\n"));
        assert!(
            v4 >= 20 && v6 >= 50,
            "only {v4} DHCP and {v6} DHCPv6 messages"
        );
    }

    #[test]
    fn every_prefix_of_corpus_messages_reads() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let mut n = 0;
        for path in corpus_captures(&corpus) {
            for d in datagrams(&path, &DHCP_PORTS) {
                if parse_dhcp(&d.payload).is_some() {
                    check_prefixes(&d.payload);
                    n += 1;
                }
            }
            for d in datagrams(&path, &DHCPV6_PORTS) {
                if parse_dhcpv6(&d.payload).is_some() {
                    check_v6_prefixes(&d.payload);
                    n += 1;
                }
            }
        }
        assert!(n >= 70, "only {n} DHCP messages");
    }
}
