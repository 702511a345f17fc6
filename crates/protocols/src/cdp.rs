//! CDP, the Cisco Discovery Protocol: what Cisco switches, routers, access points and IP phones (and a
//! few others that speak it) say of themselves to their neighbour every 60 seconds, in cleartext:
//! device id, software version, platform, port, capabilities and addresses.
//!
//! The data unit after the 802.3 LLC/SNAP header (OUI 00-00-0C, protocol id 0x2000): a version, a
//! TTL, a checksum, then TLVs whose length counts their 4-byte header. The reader is lenient: it keeps
//! the TLVs before a cut or malformed one.

use std::net::IpAddr;

/// TLVs read from one frame.
const MAX_TLVS: usize = 64;
/// Characters kept of a value.
const MAX_VALUE: usize = 255;
/// Addresses kept from one address TLV.
const MAX_ADDRESSES: usize = 8;

/// What one CDP frame says about its sender.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cdp {
    pub device_id: Option<String>,
    pub port_id: Option<String>,
    /// The software version text, its lines joined by spaces.
    pub software: Option<String>,
    pub platform: Option<String>,
    /// Capabilities by name (`router`, `switch`, `phone`, ...).
    pub capabilities: Vec<&'static str>,
    pub addresses: Vec<IpAddr>,
}

/// Capability bits, lowest first.
const CAPABILITIES: [&str; 11] = [
    "router",
    "transparent-bridge",
    "source-route-bridge",
    "switch",
    "host",
    "igmp",
    "repeater",
    "phone",
    "remotely-managed",
    "cvta",
    "two-port-mac-relay",
];

impl Cdp {
    /// The frame as identity evidence about its sender: (field, value) pairs.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (field, v) in [
            ("cdp.device_id", &self.device_id),
            ("cdp.port_id", &self.port_id),
            ("cdp.software_version", &self.software),
            ("cdp.platform", &self.platform),
        ] {
            if let Some(v) = v {
                out.push((field, v.clone()));
            }
        }
        if !self.capabilities.is_empty() {
            out.push(("cdp.capabilities", self.capabilities.join(",")));
        }
        for a in &self.addresses {
            out.push(("cdp.address", a.to_string()));
        }
        out
    }
}

/// A CDP data unit (after LLC/SNAP). `None` unless its version is 1 or 2 and at least one TLV
/// follows the header.
pub fn parse(b: &[u8]) -> Option<Cdp> {
    if !matches!(b.first()?, 1 | 2) {
        return None;
    }
    let mut rest = b.get(4..)?;
    let mut out = Cdp::default();
    let mut any = false;
    for _ in 0..MAX_TLVS {
        let (Some(kind), Some(len)) = (be16(rest, 0), be16(rest, 2)) else {
            break;
        };
        let len = usize::from(len);
        let Some(value) = rest.get(4..len) else {
            break;
        };
        rest = &rest[len..];
        any = true;
        let text = || Some(text(value)).filter(|t| !t.is_empty());
        match kind {
            0x0001 => out.device_id = text(),
            0x0002 => out.addresses = addresses(value),
            0x0003 => out.port_id = text(),
            0x0004 if value.len() >= 4 => {
                let bits = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                out.capabilities = CAPABILITIES
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| bits & (1 << bit) != 0)
                    .map(|(_, n)| *n)
                    .collect();
            }
            0x0005 => out.software = text(),
            0x0006 => out.platform = text(),
            _ => {}
        }
    }
    any.then_some(out)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(*b.get(at..)?.first_chunk::<2>()?))
}

/// An address TLV: a count (4 bytes), then per address a protocol type (1 NLPID, 2 802.2), the
/// protocol's length and bytes (0xCC for IPv4; the IPv6 SNAP header), the address's length and bytes.
fn addresses(value: &[u8]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut at = 4;
    for _ in 0..MAX_ADDRESSES {
        let Some(&plen) = value.get(at + 1) else {
            break;
        };
        let proto = value.get(at + 2..at + 2 + usize::from(plen));
        at += 2 + usize::from(plen);
        let Some(alen) = be16(value, at) else {
            break;
        };
        let Some(addr) = value.get(at + 2..at + 2 + usize::from(alen)) else {
            break;
        };
        at += 2 + usize::from(alen);
        let ip = match (proto, addr.len()) {
            (Some([0xcc]), 4) => <[u8; 4]>::try_from(addr).ok().map(IpAddr::from),
            (Some([.., 0x86, 0xdd]), 16) => <[u8; 16]>::try_from(addr).ok().map(IpAddr::from),
            _ => None,
        };
        out.extend(ip);
    }
    out
}

/// A value as text: line breaks and tabs as spaces, other control characters left out, runs of
/// spaces made one, capped.
fn text(value: &[u8]) -> String {
    let s = String::from_utf8_lossy(value);
    let mut out = String::new();
    for c in s.chars() {
        let c = if matches!(c, '\r' | '\n' | '\t') {
            ' '
        } else {
            c
        };
        if c.is_control() || (c == ' ' && (out.is_empty() || out.ends_with(' '))) {
            continue;
        }
        if out.chars().count() >= MAX_VALUE {
            break;
        }
        out.push(c);
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut t = kind.to_be_bytes().to_vec();
        t.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
        t.extend_from_slice(value);
        t
    }

    const IOS: &str = "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11, RELEASE SOFTWARE (fc3)\nTechnical Support: http://www.cisco.com/techsupport\nCopyright (c) 1986-2017 by Cisco Systems, Inc.";

    fn switch() -> Vec<u8> {
        let mut f = vec![2, 180, 0, 0];
        f.extend(tlv(1, b"icu-sw-3.hospital.example"));
        let mut addrs = 1u32.to_be_bytes().to_vec();
        addrs.extend_from_slice(&[1, 1, 0xcc, 0, 4, 10, 3, 0, 2]);
        f.extend(tlv(2, &addrs));
        f.extend(tlv(3, b"GigabitEthernet0/14"));
        f.extend(tlv(4, &0x28u32.to_be_bytes()));
        f.extend(tlv(5, IOS.as_bytes()));
        f.extend(tlv(6, b"cisco WS-C2960-24TT-L"));
        f
    }

    #[test]
    fn a_switch_describes_itself() {
        let c = parse(&switch()).unwrap();
        assert_eq!(c.device_id.as_deref(), Some("icu-sw-3.hospital.example"));
        assert_eq!(c.port_id.as_deref(), Some("GigabitEthernet0/14"));
        assert_eq!(c.platform.as_deref(), Some("cisco WS-C2960-24TT-L"));
        assert_eq!(c.capabilities, ["switch", "igmp"]);
        assert_eq!(c.addresses, ["10.3.0.2".parse::<IpAddr>().unwrap()]);
        let sw = c.software.unwrap();
        assert!(sw.starts_with("Cisco IOS Software, C2960 Software"));
        assert!(sw.contains("(fc3) Technical Support:"), "{sw}");
        assert_eq!(parse(&switch()).unwrap().facts().len(), 6);
    }

    #[test]
    fn not_cdp_and_every_prefix() {
        assert_eq!(parse(&[3, 180, 0, 0, 0, 1, 0, 5, b'x']), None);
        assert_eq!(parse(&[2, 180, 0, 0]), None);
        let f = switch();
        for cut in 0..=f.len() {
            if let Some(c) = parse(&f[..cut]) {
                assert!(c.facts().len() <= 6);
            }
        }
        // An IPv6 address (802.2 protocol type, SNAP header ending in the IPv6 ether type) after an
        // IPv4 one, and one of a family it does not know.
        let mut addrs = 3u32.to_be_bytes().to_vec();
        addrs.extend_from_slice(&[1, 1, 0xcc, 0, 4, 10, 3, 0, 2]);
        addrs.extend_from_slice(&[2, 8, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x86, 0xdd, 0, 16]);
        addrs.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        addrs.extend_from_slice(&[1, 1, 0x81, 0, 2, 1, 2]);
        let mut f = vec![2, 180, 0, 0];
        f.extend(tlv(2, &addrs));
        let ips: Vec<IpAddr> = ["10.3.0.2", "fe80::9"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(parse(&f).unwrap().addresses, ips);
        // A TLV whose length is shorter than its header ends the reading.
        assert_eq!(parse(&[2, 180, 0, 0, 0, 1, 0, 2]), None);
    }
}
