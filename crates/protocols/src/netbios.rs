//! NetBIOS over TCP/IP (RFC 1001/1002): the names Windows machines, Samba servers and the PCs inside
//! many clinical systems (modality consoles, lab analysers, nurse-station workstations) give
//! themselves on the local network, needing neither DHCP nor DNS; and the browser service's host
//! announcements (MS-BRWS), which also say the Windows version, the one fact that matters most on a
//! device that cannot be patched.
//!
//! Two parsers, both lenient (a cut or odd packet gives what was read before the bad part, and never
//! an error) and allocation-light:
//! - [`parse_name_service`]: UDP 137. Name registrations, refreshes and releases (the sender's own
//!   names), positive name query responses (a name and the addresses that hold it), node status
//!   responses (every name of the responder, and the MAC it reports).
//! - [`parse_datagram`]: UDP 138. The datagram's source name, and a browser host or local master
//!   announcement inside it (server name, OS version, server type, comment).

use std::net::Ipv4Addr;

/// UDP ports: the name service and the datagram service.
pub const NS_PORT: u16 = 137;
pub const DGM_PORT: u16 = 138;

/// Names kept from one packet: a node status response lists a few dozen at most.
const MAX_NAMES: usize = 32;

/// A NetBIOS name: 15 characters (trailing spaces removed) and the suffix byte that says what it
/// names (0x00 a workstation, 0x20 a file server, 0x1c a domain's controllers, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub name: String,
    pub suffix: u8,
    /// A group name (a workgroup or domain), shared by many machines, rather than a machine's own.
    pub group: bool,
}

impl Name {
    /// The name of one machine (its workstation or server service), as opposed to a group's, a
    /// browser election's (`__MSBROWSE__`) or a wildcard (`*`).
    pub fn is_host_name(&self) -> bool {
        !self.group
            && matches!(self.suffix, 0x00 | 0x20)
            && !self.name.is_empty()
            && !self.name.starts_with('*')
            && !self.name.starts_with("__")
    }

    /// A workgroup or domain name.
    pub fn is_workgroup(&self) -> bool {
        self.group && matches!(self.suffix, 0x00 | 0x1e) && !self.name.is_empty()
    }
}

/// What a name service packet says about who has which name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameService {
    /// The sender claims these names as its own (a registration, refresh or release, or a node
    /// status response listing its names).
    pub own: Vec<Name>,
    /// Names and the addresses that hold them (a positive name query response).
    pub held: Vec<(Name, Ipv4Addr)>,
}

/// Opcodes (RFC 1002 4.2.1.1).
const OP_QUERY: u8 = 0;
const OP_REGISTRATION: u8 = 5;
const OP_RELEASE: u8 = 6;
const OP_REFRESH: u8 = 8;
const OP_REFRESH_ALT: u8 = 9;
const OP_MULTIHOMED: u8 = 15;
/// Resource record types: NB (general name service) and NBSTAT (node status).
const RR_NB: u16 = 0x20;
const RR_NBSTAT: u16 = 0x21;
/// The group bit of NB_FLAGS and of a node status name's flags.
const GROUP: u16 = 0x8000;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(*b.get(at..)?.first_chunk::<2>()?))
}

/// A name at `at` in its first-level encoding (a label of 32 letters 'A'..'P', two per byte, then
/// scope labels up to a zero), or a compression pointer to one (name service responses point back
/// at the question). Returns the name, its suffix, and where the encoded name ends.
fn encoded_name(b: &[u8], at: usize) -> Option<(String, u8, usize)> {
    let len = *b.get(at)?;
    if len & 0xc0 == 0xc0 {
        let target = usize::from(be16(b, at)? & 0x3fff);
        // Only backwards, and never to another pointer: no loops.
        if target >= at || b.get(target)? & 0xc0 == 0xc0 {
            return None;
        }
        let (name, suffix, _) = encoded_name(b, target)?;
        return Some((name, suffix, at + 2));
    }
    if len != 32 {
        return None;
    }
    let letters = b.get(at + 1..at + 33)?;
    let mut raw = [0u8; 16];
    for (i, pair) in letters.chunks_exact(2).enumerate() {
        let (hi, lo) = (pair[0].wrapping_sub(b'A'), pair[1].wrapping_sub(b'A'));
        if hi > 15 || lo > 15 {
            return None;
        }
        raw[i] = hi << 4 | lo;
    }
    // Scope labels, skipped (NetBIOS scopes are next to unused).
    let mut end = at + 33;
    for _ in 0..16 {
        match *b.get(end)? {
            0 => return Some((text(&raw[..15]), raw[15], end + 1)),
            l if l & 0xc0 == 0 => end += 1 + usize::from(l),
            _ => return None,
        }
    }
    None
}

/// A name's characters as text: up to the first NUL (what follows a NUL in a fixed-size field is
/// whatever the sender's buffer held: Windows XP leaves stack bytes there), trailing spaces removed,
/// non-printable characters left out (names are OEM code page text; anything beyond ASCII is kept as
/// the replacement character).
fn text(raw: &[u8]) -> String {
    let raw = raw.split(|&c| c == 0).next().unwrap_or_default();
    let end = raw.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    String::from_utf8_lossy(&raw[..end])
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// A name service packet (UDP 137). `None` unless it is a registration, refresh, release or
/// multi-homed registration request, or a positive query or node status response; those name
/// nothing about their sender.
pub fn parse_name_service(b: &[u8]) -> Option<NameService> {
    let flags = be16(b, 2)?;
    let response = flags & 0x8000 != 0;
    let opcode = ((flags >> 11) & 0x0f) as u8;
    let rcode = (flags & 0x000f) as u8;
    let count = |i: usize| be16(b, 4 + 2 * i).map(usize::from);
    let (questions, answers, authority, additional) = (count(0)?, count(1)?, count(2)?, count(3)?);
    let mut out = NameService::default();
    let mut at = 12;
    let registers = !response
        && matches!(
            opcode,
            OP_REGISTRATION | OP_RELEASE | OP_REFRESH | OP_REFRESH_ALT | OP_MULTIHOMED
        );
    // A registration's question is the name; its additional record has the name's flags.
    let mut claimed = None;
    for _ in 0..questions.min(4) {
        let (name, suffix, end) = encoded_name(b, at)?;
        at = end + 4; // type, class
        claimed.get_or_insert((name, suffix));
    }
    if registers {
        let (name, suffix) = claimed?;
        // The additional record (a pointer back to the question, then type, class, TTL, length,
        // NB_FLAGS and the address): only its group bit matters here.
        let group = (answers == 0 && authority == 0 && additional > 0)
            .then(|| encoded_name(b, at))
            .flatten()
            .and_then(|(_, _, end)| be16(b, end + 10))
            .is_some_and(|f| f & GROUP != 0);
        out.own.push(Name {
            name,
            suffix,
            group,
        });
        return Some(out);
    }
    if !response || opcode != OP_QUERY || rcode != 0 {
        return None;
    }
    for _ in 0..answers.min(4) {
        let Some((name, suffix, end)) = encoded_name(b, at) else {
            break;
        };
        let (Some(kind), Some(len)) = (be16(b, end), be16(b, end + 8)) else {
            break;
        };
        let data_at = end + 10;
        let Some(data) = b.get(data_at..data_at + usize::from(len)) else {
            // Cut short: whatever a node status response listed before the cut still counts.
            if kind == RR_NBSTAT {
                node_status(b.get(data_at..).unwrap_or_default(), &mut out);
            }
            break;
        };
        match kind {
            RR_NB => {
                for entry in data.chunks_exact(6).take(MAX_NAMES) {
                    let flags = u16::from_be_bytes([entry[0], entry[1]]);
                    let ip = Ipv4Addr::new(entry[2], entry[3], entry[4], entry[5]);
                    let group = flags & GROUP != 0;
                    out.held.push((
                        Name {
                            name: name.clone(),
                            suffix,
                            group,
                        },
                        ip,
                    ));
                }
            }
            RR_NBSTAT => node_status(data, &mut out),
            _ => {}
        }
        at = data_at + usize::from(len);
    }
    (!out.own.is_empty() || !out.held.is_empty()).then_some(out)
}

/// A node status response's data: a count, 18 bytes per name (15 characters, the suffix, flags),
/// then statistics (not read).
fn node_status(data: &[u8], out: &mut NameService) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    for entry in rest.chunks_exact(18).take(usize::from(n).min(MAX_NAMES)) {
        let flags = u16::from_be_bytes([entry[16], entry[17]]);
        out.own.push(Name {
            name: text(&entry[..15]),
            suffix: entry[15],
            group: flags & GROUP != 0,
        });
    }
}

/// A browser announcement (MS-BRWS 2.2): a host announcing its server service to its workgroup,
/// or the workgroup's master browser announcing itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub server: String,
    /// The Windows version the server reports ("6.1" for Windows 7 and Server 2008 R2).
    pub os_major: u8,
    pub os_minor: u8,
    /// SV_TYPE_* bits.
    pub server_type: u32,
    /// The server's comment (its description, often empty).
    pub comment: String,
}

/// SV_TYPE bits (MS-RAP 5.1.1): a domain controller (primary or backup), a server (not a
/// workstation) running Windows NT or later.
pub const SV_TYPE_DOMAIN_CTRL: u32 = 0x0000_0008;
pub const SV_TYPE_DOMAIN_BAKCTRL: u32 = 0x0000_0010;
pub const SV_TYPE_SERVER_NT: u32 = 0x0000_8000;

impl Announcement {
    /// What the server type says the machine is: "domain-controller", "server" or "workstation".
    pub fn kind(&self) -> &'static str {
        if self.server_type & (SV_TYPE_DOMAIN_CTRL | SV_TYPE_DOMAIN_BAKCTRL) != 0 {
            "domain-controller"
        } else if self.server_type & SV_TYPE_SERVER_NT != 0 {
            "server"
        } else {
            "workstation"
        }
    }
}

/// What a datagram service packet (UDP 138) says about its sender.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Datagram {
    /// The source name, which is the sender's own.
    pub source: Option<Name>,
    pub announcement: Option<Announcement>,
}

/// Message types of a direct unique, direct group and broadcast datagram (RFC 1002 4.4.1).
const DGM_DIRECT_UNIQUE: u8 = 0x10;
const DGM_BROADCAST: u8 = 0x12;
/// Host announcement and local master announcement (MS-BRWS 2.2.1, 2.2.6).
const BROWSER_HOST: u8 = 1;
const BROWSER_LOCAL_MASTER: u8 = 15;
/// SMB_COM_TRANSACTION.
const SMB_TRANSACTION: u8 = 0x25;

/// A datagram service packet (UDP 138): `None` unless it is a direct or broadcast datagram.
pub fn parse_datagram(b: &[u8]) -> Option<Datagram> {
    let kind = *b.first()?;
    if !(DGM_DIRECT_UNIQUE..=DGM_BROADCAST).contains(&kind) {
        return None;
    }
    // Type, flags, id, source address, port, length, offset: 14 bytes; then the source and
    // destination names.
    let (source, suffix, end) = encoded_name(b, 14)?;
    let mut out = Datagram {
        source: Some(Name {
            name: source,
            suffix,
            group: false,
        }),
        announcement: None,
    };
    let Some((_, _, smb_at)) = encoded_name(b, end) else {
        return Some(out);
    };
    out.announcement = b.get(smb_at..).and_then(announcement);
    Some(out)
}

/// The browser announcement carried by an SMB transaction to `\MAILSLOT\BROWSE` (or `\MAILSLOT\LANMAN`
/// for the older format's host announcement, which has the same layout here).
fn announcement(smb: &[u8]) -> Option<Announcement> {
    if smb.get(..4)? != b"\xffSMB" || *smb.get(4)? != SMB_TRANSACTION {
        return None;
    }
    // The header is 32 bytes; then the word count (17 for a transaction request with one setup
    // word... mailslot writes have three) and the words, where the data's count and offset (from the
    // header's start) are the 12th and 13th.
    let words = usize::from(*smb.get(32)?);
    if words < 14 {
        return None;
    }
    let word = |i: usize| {
        let at = 33 + 2 * i;
        smb.get(at..at + 2)
            .map(|w| usize::from(u16::from_le_bytes([w[0], w[1]])))
    };
    let (count, offset) = (word(11)?, word(12)?);
    let data = smb.get(offset..offset.checked_add(count)?.min(smb.len()))?;
    let opcode = *data.first()?;
    if !matches!(opcode, BROWSER_HOST | BROWSER_LOCAL_MASTER) {
        return None;
    }
    // Opcode, update count, periodicity (4), server name (16), OS major, minor, server type (4),
    // browser version (2), signature (2), comment (to a NUL).
    let server = text(data.get(6..21)?);
    let (os_major, os_minor) = (*data.get(22)?, *data.get(23)?);
    let server_type = u32::from_le_bytes(*data.get(24..)?.first_chunk::<4>()?);
    let comment = data.get(32..).map_or_else(String::new, |c| {
        let end = c.iter().position(|&x| x == 0).unwrap_or(c.len());
        text(&c[..end.min(64)])
    });
    if server.is_empty() {
        return None;
    }
    Some(Announcement {
        server,
        os_major,
        os_minor,
        server_type,
        comment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use synth::payload::netbios::{self as build, Announced, encoded_name as encode};

    fn header(flags: u16, counts: [u16; 4]) -> Vec<u8> {
        let mut b = vec![0x12, 0x34];
        b.extend_from_slice(&flags.to_be_bytes());
        for c in counts {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b
    }

    /// A broadcast registration of `name` by 10.0.0.5, as Windows sends at boot.
    fn registration(name: &str, suffix: u8, group: bool) -> Vec<u8> {
        let mut b = Vec::new();
        build::registration(&mut b, 0x1234, name, suffix, group, [10, 0, 0, 5]);
        b
    }

    #[test]
    fn registrations_name_the_sender() {
        let ns = parse_name_service(&registration("RAD-WS-03", 0x00, false)).unwrap();
        assert_eq!(
            ns.own,
            vec![Name {
                name: "RAD-WS-03".into(),
                suffix: 0,
                group: false
            }]
        );
        assert!(ns.own[0].is_host_name() && !ns.own[0].is_workgroup());
        let ns = parse_name_service(&registration("RADIOLOGY", 0x00, true)).unwrap();
        assert!(ns.own[0].group && ns.own[0].is_workgroup() && !ns.own[0].is_host_name());
        // A query names only what the sender looks for: nothing about it.
        let mut q = header(0x0110, [1, 0, 0, 0]);
        q.extend_from_slice(&encode("PACS", 0x20));
        q.extend_from_slice(&[0, 0x20, 0, 1]);
        assert_eq!(parse_name_service(&q), None);
    }

    #[test]
    fn a_positive_query_response_says_who_holds_the_name() {
        let mut b = header(0x8500, [0, 1, 0, 0]);
        b.extend_from_slice(&encode("PACS", 0x20));
        b.extend_from_slice(&[0, 0x20, 0, 1, 0, 0, 0, 0, 0, 12]);
        b.extend_from_slice(&[0, 0, 10, 0, 0, 7, 0x80, 0, 10, 0, 0, 8]);
        let ns = parse_name_service(&b).unwrap();
        assert_eq!(ns.held.len(), 2);
        assert_eq!(ns.held[0].0.name, "PACS");
        assert_eq!(ns.held[0].1, Ipv4Addr::new(10, 0, 0, 7));
        assert!(ns.held[0].0.is_host_name() && !ns.held[1].0.is_host_name());
        // A negative response (RCODE 3) holds nothing.
        b[3] = 0x03;
        assert_eq!(parse_name_service(&b), None);
    }

    #[test]
    fn a_node_status_response_lists_the_responders_names() {
        let mut b = header(0x8400, [0, 1, 0, 0]);
        b.extend_from_slice(&encode("*", 0x00));
        let mut data = vec![3];
        for (name, suffix, flags) in [
            ("US-SCANNER", 0x00u8, 0x0400u16),
            ("US-SCANNER", 0x20, 0x0400),
            ("CARDIO", 0x00, 0x8400),
        ] {
            let mut raw = [b' '; 15];
            raw[..name.len()].copy_from_slice(name.as_bytes());
            data.extend_from_slice(&raw);
            data.push(suffix);
            data.extend_from_slice(&flags.to_be_bytes());
        }
        data.extend_from_slice(&[0x00, 0x09, 0xfb, 0x01, 0x02, 0x03]);
        data.extend_from_slice(&[0; 40]);
        b.extend_from_slice(&[0, 0x21, 0, 1, 0, 0, 0, 0]);
        b.extend_from_slice(&(data.len() as u16).to_be_bytes());
        b.extend_from_slice(&data);
        let ns = parse_name_service(&b).unwrap();
        let names: Vec<(&str, u8, bool)> = ns
            .own
            .iter()
            .map(|n| (n.name.as_str(), n.suffix, n.group))
            .collect();
        assert_eq!(
            names,
            [
                ("US-SCANNER", 0, false),
                ("US-SCANNER", 0x20, false),
                ("CARDIO", 0, true)
            ]
        );
        // Cut inside the list: the names before the cut.
        let cut = parse_name_service(&b[..b.len() - 40 - 6 - 18]).unwrap();
        assert_eq!(cut.own.len(), 2);
    }

    /// A host announcement datagram from `name` at 10.0.0.9, Windows `major.minor`, server type
    /// `kind`.
    fn host_announcement(name: &str, major: u8, minor: u8, kind: u32, comment: &str) -> Vec<u8> {
        let mut b = Vec::new();
        let a = Announced {
            name,
            workgroup: "WORKGROUP",
            version: (major, minor),
            server_type: kind,
            comment,
        };
        build::host_announcement(&mut b, 1, [10, 0, 0, 9], &a);
        b
    }

    #[test]
    fn a_host_announcement_gives_the_windows_version() {
        let b = host_announcement("CT-CONSOLE", 5, 1, 0x0000_1003, "CT room 2");
        let d = parse_datagram(&b).unwrap();
        assert_eq!(d.source.unwrap().name, "CT-CONSOLE");
        let a = d.announcement.unwrap();
        assert_eq!(
            (
                a.server.as_str(),
                a.os_major,
                a.os_minor,
                a.kind(),
                a.comment.as_str()
            ),
            ("CT-CONSOLE", 5, 1, "workstation", "CT room 2")
        );
        let a = parse_datagram(&host_announcement("PACS01", 6, 3, 0x0000_9003, ""))
            .unwrap()
            .announcement
            .unwrap();
        assert_eq!((a.kind(), a.comment.as_str()), ("server", ""));
        // The server name field after its NUL holds leftovers (as Windows XP sends them): not part of
        // the name.
        let mut dirty = host_announcement("LAB111", 5, 1, 0x0000_1003, "");
        // The data is the last 33 bytes (no comment); its name field starts 6 bytes in.
        let at = dirty.len() - 33 + 6 + 10;
        dirty[at..at + 6].copy_from_slice(&[0x0f, 0xb2, 0xef, 0xcd, 0x68, 0x22]);
        let a = parse_datagram(&dirty).unwrap().announcement.unwrap();
        assert_eq!(a.server, "LAB111");
        // Every prefix parses without a panic; a cut announcement is simply absent.
        for cut in 0..b.len() {
            let _ = parse_datagram(&b[..cut]);
        }
    }

    #[test]
    fn every_prefix_and_odd_names_are_safe() {
        let mut packets = vec![
            registration("RAD-WS-03", 0, false),
            host_announcement("X", 10, 0, 0, "c"),
        ];
        // A pointer to itself, forwards, and a name of the wrong length.
        let mut looped = header(0x8500, [0, 1, 0, 0]);
        looped.extend_from_slice(&[0xc0, 12, 0, 0x20, 0, 1, 0, 0, 0, 0, 0, 6, 0, 0, 1, 2, 3, 4]);
        packets.push(looped);
        let mut short = header(0x2910, [1, 0, 0, 0]);
        short.extend_from_slice(&[3, b'A', b'B', b'C', 0, 0, 0x20, 0, 1]);
        packets.push(short);
        for p in &packets {
            for cut in 0..=p.len() {
                let _ = parse_name_service(&p[..cut]);
                let _ = parse_datagram(&p[..cut]);
            }
        }
        assert_eq!(parse_name_service(&packets[2]), None);
        assert_eq!(parse_name_service(&packets[3]), None);
    }
}
