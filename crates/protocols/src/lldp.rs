//! LLDP (IEEE 802.1AB) and its LLDP-MED inventory extension (ANSI/TIA-1057): what a switch, an IP
//! phone or a networked device says of itself to its neighbour every 30 seconds, in cleartext, on
//! the segment: system name and description, capabilities, management address, and (LLDP-MED)
//! manufacturer, model, hardware, firmware and software revisions, serial number and asset id.
//!
//! A frame is a list of TLVs (7-bit type, 9-bit length). The reader is lenient: it keeps the TLVs
//! before a cut or malformed one, and values are text with control characters left out.

use std::net::IpAddr;

/// The LLDP ether type.
pub const ETHER_TYPE: u16 = 0x88cc;

/// Fields kept from one frame; a frame has a dozen TLVs at most in practice.
const MAX_TLVS: usize = 64;
/// Characters kept of a value.
const MAX_VALUE: usize = 255;
/// Management addresses kept from one frame.
const MAX_ADDRESSES: usize = 4;

/// What one LLDP frame says about its sender.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lldp {
    /// The chassis id as text: a MAC as `aa:bb:cc:dd:ee:ff`, an address, or the sender's own string.
    pub chassis_id: Option<String>,
    /// The chassis id when it is a MAC (subtype 4): the sender's base MAC, the same from every port.
    pub chassis_mac: Option<[u8; 6]>,
    pub port_id: Option<String>,
    pub port_description: Option<String>,
    pub system_name: Option<String>,
    pub system_description: Option<String>,
    /// Enabled capabilities by name (`bridge`, `router`, `wlan-ap`, `telephone`, `station`, ...).
    pub capabilities: Vec<&'static str>,
    /// Its management addresses (IPv4, IPv6), at most [`MAX_ADDRESSES`].
    pub management_addresses: Vec<IpAddr>,
    /// LLDP-MED inventory, as evidence fields: `lldp.med.hardware`, `.firmware`, `.software`,
    /// `.serial`, `.manufacturer`, `.model`, `.asset_id`.
    pub inventory: Vec<(&'static str, String)>,
}

impl Lldp {
    /// The frame as identity evidence about its sender: (field, value) pairs.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |field: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((field, v.clone()));
            }
        };
        put("lldp.chassis_id", &self.chassis_id);
        put("lldp.port_id", &self.port_id);
        put("lldp.port_description", &self.port_description);
        put("lldp.system_name", &self.system_name);
        put("lldp.system_description", &self.system_description);
        if !self.capabilities.is_empty() {
            out.push(("lldp.capabilities", self.capabilities.join(",")));
        }
        for a in &self.management_addresses {
            out.push(("lldp.management_address", a.to_string()));
        }
        out.extend(self.inventory.iter().cloned());
        out
    }
}

/// Capability bits (802.1AB 8.5.8), lowest first.
const CAPABILITIES: [&str; 11] = [
    "other",
    "repeater",
    "bridge",
    "wlan-ap",
    "router",
    "telephone",
    "docsis",
    "station",
    "c-vlan",
    "s-vlan",
    "tpmr",
];

/// The TIA OUI of LLDP-MED organisationally specific TLVs, and the inventory subtypes' names.
const TIA: [u8; 3] = [0x00, 0x12, 0xbb];
const INVENTORY: [(u8, &str); 7] = [
    (5, "lldp.med.hardware"),
    (6, "lldp.med.firmware"),
    (7, "lldp.med.software"),
    (8, "lldp.med.serial"),
    (9, "lldp.med.manufacturer"),
    (10, "lldp.med.model"),
    (11, "lldp.med.asset_id"),
];

/// The LLDP data unit after the Ethernet header (and any VLAN tags). `None` unless it starts with a
/// chassis id TLV, as every LLDPDU must.
pub fn parse(mut b: &[u8]) -> Option<Lldp> {
    let mut out = Lldp::default();
    let mut first = true;
    for _ in 0..MAX_TLVS {
        let Some(head) = b.first_chunk::<2>() else {
            break;
        };
        let head = u16::from_be_bytes(*head);
        let (kind, len) = ((head >> 9) as u8, usize::from(head & 0x01ff));
        let Some(value) = b.get(2..2 + len) else {
            break;
        };
        b = &b[2 + len..];
        if first && kind != 1 {
            return None;
        }
        first = false;
        match kind {
            0 => break,
            1 => {
                out.chassis_id = id(value);
                out.chassis_mac = match value {
                    [4, mac @ ..] => mac.try_into().ok(),
                    _ => None,
                };
            }
            2 => out.port_id = id(value),
            4 => out.port_description = Some(text(value)).filter(|t| !t.is_empty()),
            5 => out.system_name = Some(text(value)).filter(|t| !t.is_empty()),
            6 => out.system_description = Some(text(value)).filter(|t| !t.is_empty()),
            7 if len >= 4 => {
                let enabled = u16::from_be_bytes([value[2], value[3]]);
                out.capabilities = CAPABILITIES
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| enabled & (1 << bit) != 0)
                    .map(|(_, name)| *name)
                    .collect();
            }
            8 if out.management_addresses.len() < MAX_ADDRESSES => {
                out.management_addresses.extend(address(value));
            }
            127 if value.len() >= 4 && value[..3] == TIA => {
                if let Some((_, name)) = INVENTORY.iter().find(|(s, _)| *s == value[3]) {
                    let t = text(&value[4..]);
                    if !t.is_empty() {
                        out.inventory.push((name, t));
                    }
                }
            }
            _ => {}
        }
    }
    (!first).then_some(out)
}

/// A chassis or port id: subtype, then the id. A MAC (subtype 3 for a port, 4 for a chassis) and
/// a network address (subtype 4 for a port, 5 for a chassis) are printed as such; the rest are text.
fn id(value: &[u8]) -> Option<String> {
    let (&subtype, id) = value.split_first()?;
    let t = match (subtype, id) {
        (3 | 4, &[a, b, c, d, e, f]) => {
            format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
        }
        (4 | 5, _) => address(id).map_or_else(|| text(id), |a| a.to_string()),
        _ => text(id),
    };
    (!t.is_empty()).then_some(t)
}

/// An address as LLDP writes it: its length (with the family byte), the IANA family (1 IPv4,
/// 2 IPv6), the address.
fn address(value: &[u8]) -> Option<IpAddr> {
    match value {
        [5, 1, a @ ..] if a.len() >= 4 => Some(IpAddr::from(<[u8; 4]>::try_from(&a[..4]).ok()?)),
        [17, 2, a @ ..] if a.len() >= 16 => {
            Some(IpAddr::from(<[u8; 16]>::try_from(&a[..16]).ok()?))
        }
        _ => None,
    }
}

/// A value as text: invalid UTF-8 replaced, control characters left out, trimmed, capped.
fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(kind: u8, value: &[u8]) -> Vec<u8> {
        let head = (u16::from(kind) << 9) | value.len() as u16;
        let mut t = head.to_be_bytes().to_vec();
        t.extend_from_slice(value);
        t
    }

    fn tia(subtype: u8, value: &str) -> Vec<u8> {
        let mut v = TIA.to_vec();
        v.push(subtype);
        v.extend_from_slice(value.as_bytes());
        tlv(127, &v)
    }

    /// A bedside device's LLDP-MED frame.
    fn monitor_frame() -> Vec<u8> {
        let mut f = Vec::new();
        f.extend(tlv(1, &[4, 0x00, 0x09, 0xfb, 0x11, 0x22, 0x33]));
        f.extend(tlv(2, b"\x07port 1"));
        f.extend(tlv(3, &[0, 120]));
        f.extend(tlv(5, b"ICU-BED-07"));
        f.extend(tlv(6, b"Patient monitor\x00, release L.01"));
        f.extend(tlv(7, &[0, 0x80, 0, 0x80]));
        f.extend(tlv(8, &[5, 1, 10, 3, 0, 17, 2, 0, 0, 0, 1, 0]));
        f.extend(tia(9, "Acme Medical"));
        f.extend(tia(10, "VitalView 9"));
        f.extend(tia(7, "L.01.02"));
        f.extend(tia(8, "SN12345"));
        f.extend(tia(11, "BME-004711"));
        f.extend(tlv(0, &[]));
        f
    }

    #[test]
    fn a_device_describes_itself() {
        let l = parse(&monitor_frame()).unwrap();
        assert_eq!(l.chassis_id.as_deref(), Some("00:09:fb:11:22:33"));
        assert_eq!(l.port_id.as_deref(), Some("port 1"));
        assert_eq!(l.system_name.as_deref(), Some("ICU-BED-07"));
        assert_eq!(
            l.system_description.as_deref(),
            Some("Patient monitor, release L.01")
        );
        assert_eq!(l.capabilities, ["station"]);
        assert_eq!(
            l.management_addresses,
            ["10.3.0.17".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            l.inventory,
            [
                ("lldp.med.manufacturer", "Acme Medical".to_string()),
                ("lldp.med.model", "VitalView 9".to_string()),
                ("lldp.med.software", "L.01.02".to_string()),
                ("lldp.med.serial", "SN12345".to_string()),
                ("lldp.med.asset_id", "BME-004711".to_string()),
            ]
        );
        let facts = l.facts();
        assert_eq!(facts.len(), 11);
        assert!(facts.contains(&("lldp.capabilities", "station".to_string())));
        assert!(facts.contains(&("lldp.management_address", "10.3.0.17".to_string())));
    }

    #[test]
    fn a_switch_its_capabilities_and_what_is_not_lldp() {
        let mut f = tlv(1, &[7, b's', b'w', b'1']);
        f.extend(tlv(7, &[0, 0x14, 0, 0x14]));
        f.extend(tlv(
            8,
            &[17, 2, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ));
        // A second management address, then more than are kept.
        for last in 1..=5 {
            f.extend(tlv(8, &[5, 1, 10, 0, 0, last, 2, 0, 0, 0, 1, 0]));
        }
        let l = parse(&f).unwrap();
        assert_eq!(l.management_addresses.len(), MAX_ADDRESSES);
        assert_eq!(l.management_addresses[1], IpAddr::from([10, 0, 0, 1]));
        assert_eq!(l.chassis_id.as_deref(), Some("sw1"));
        assert_eq!(l.capabilities, ["bridge", "router"]);
        assert_eq!(
            l.management_addresses[0],
            "fe80::1".parse::<IpAddr>().unwrap()
        );
        // Not starting with a chassis id, or empty.
        assert_eq!(parse(&tlv(5, b"x")), None);
        assert_eq!(parse(&[]), None);
    }

    #[test]
    fn every_prefix_keeps_what_came_before_the_cut() {
        let f = monitor_frame();
        let whole = parse(&f).unwrap();
        let mut names = 0;
        for cut in 0..=f.len() {
            if let Some(l) = parse(&f[..cut]) {
                assert!(l.inventory.len() <= whole.inventory.len());
                names += usize::from(l.system_name.is_some());
            }
        }
        assert!(names > 0);
    }
}
