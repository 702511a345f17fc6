//! LLDP (IEEE 802.1AB) with its LLDP-MED inventory TLVs (ANSI/TIA-1057), and CDP version 2 (Cisco):
//! what a switch, an IP phone or a networked device says of itself to its link, every 30 or 60
//! seconds. Whole Ethernet frames, since neither rides on IP: LLDP on its own ether type to the
//! nearest-bridge group address; CDP in 802.3 with an LLC/SNAP header to Cisco's group address.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The nearest-bridge group address LLDP is sent to.
pub const LLDP_MULTICAST: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
/// The group address CDP (and VTP, DTP) is sent to.
pub const CDP_MULTICAST: [u8; 6] = [0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc];

/// LLDP capability bits (802.1AB 8.5.8).
pub const CAP_BRIDGE: u16 = 0x0004;
pub const CAP_ROUTER: u16 = 0x0010;
pub const CAP_TELEPHONE: u16 = 0x0020;
pub const CAP_STATION: u16 = 0x0080;

/// One LLDP TLV: a 7-bit type and 9-bit length, then the value.
pub fn tlv(kind: u8, value: &[u8]) -> Vec<u8> {
    let head = (u16::from(kind) << 9) | (value.len() as u16 & 0x01ff);
    let mut t = head.to_be_bytes().to_vec();
    t.extend_from_slice(value);
    t
}

/// The chassis id TLV of a device identified by its (base) MAC: subtype 4.
pub fn chassis_mac(mac: [u8; 6]) -> Vec<u8> {
    let mut v = vec![4];
    v.extend_from_slice(&mac);
    tlv(1, &v)
}

/// The port id TLV by interface name: subtype 5.
pub fn port_name(name: &str) -> Vec<u8> {
    let mut v = vec![5];
    v.extend_from_slice(name.as_bytes());
    tlv(2, &v)
}

/// The time-to-live TLV, in seconds.
pub fn ttl(seconds: u16) -> Vec<u8> {
    tlv(3, &seconds.to_be_bytes())
}

pub fn system_name(name: &str) -> Vec<u8> {
    tlv(5, name.as_bytes())
}

pub fn system_description(text: &str) -> Vec<u8> {
    tlv(6, text.as_bytes())
}

/// The system capabilities TLV: what the system can do, and what is enabled.
pub fn capabilities(system: u16, enabled: u16) -> Vec<u8> {
    let mut v = system.to_be_bytes().to_vec();
    v.extend_from_slice(&enabled.to_be_bytes());
    tlv(7, &v)
}

/// A management address TLV with an IPv4 address, on interface index 1, without an OID.
pub fn management_v4(ip: Ipv4Addr) -> Vec<u8> {
    let mut v = vec![5, 1];
    v.extend_from_slice(&ip.octets());
    v.extend_from_slice(&[2, 0, 0, 0, 1, 0]);
    tlv(8, &v)
}

/// A management address TLV with an IPv6 address, on interface index 1, without an OID.
pub fn management_v6(ip: Ipv6Addr) -> Vec<u8> {
    let mut v = vec![17, 2];
    v.extend_from_slice(&ip.octets());
    v.extend_from_slice(&[2, 0, 0, 0, 1, 0]);
    tlv(8, &v)
}

/// An LLDP-MED inventory TLV (TIA OUI 00-12-BB): subtype 5 hardware, 6 firmware, 7 software
/// revision, 8 serial number, 9 manufacturer, 10 model, 11 asset id.
pub fn med(subtype: u8, value: &str) -> Vec<u8> {
    let mut v = vec![0x00, 0x12, 0xbb, subtype];
    v.extend_from_slice(value.as_bytes());
    tlv(127, &v)
}

/// Appends an LLDP frame from `src` (optionally VLAN-tagged): the TLVs, then End of LLDPDU.
pub fn lldp_frame(out: &mut Vec<u8>, src: [u8; 6], vlan: Option<u16>, tlvs: &[Vec<u8>]) {
    out.extend_from_slice(&LLDP_MULTICAST);
    out.extend_from_slice(&src);
    if let Some(v) = vlan {
        out.extend_from_slice(&[0x81, 0x00]);
        out.extend_from_slice(&(v & 0x0fff).to_be_bytes());
    }
    out.extend_from_slice(&[0x88, 0xcc]);
    for t in tlvs {
        out.extend_from_slice(t);
    }
    out.extend_from_slice(&tlv(0, &[]));
}

/// CDP TLV types.
pub const CDP_DEVICE_ID: u16 = 1;
pub const CDP_ADDRESSES: u16 = 2;
pub const CDP_PORT_ID: u16 = 3;
pub const CDP_CAPABILITIES: u16 = 4;
pub const CDP_SOFTWARE: u16 = 5;
pub const CDP_PLATFORM: u16 = 6;

/// CDP capability bits.
pub const CDP_ROUTER: u32 = 0x01;
pub const CDP_SWITCH: u32 = 0x08;
pub const CDP_IGMP: u32 = 0x20;
pub const CDP_PHONE: u32 = 0x80;

/// The value of a CDP addresses TLV holding one IPv4 address (NLPID protocol 0xcc).
pub fn cdp_address_v4(ip: Ipv4Addr) -> Vec<u8> {
    let mut v = 1u32.to_be_bytes().to_vec();
    v.extend_from_slice(&[1, 1, 0xcc, 0, 4]);
    v.extend_from_slice(&ip.octets());
    v
}

/// Appends a CDP version 2 frame from `src` (TTL 180 s): 802.3 header, LLC/SNAP (OUI 00-00-0C,
/// protocol 0x2000), the CDP header with its checksum, then each (type, value) TLV.
pub fn cdp_frame(out: &mut Vec<u8>, src: [u8; 6], tlvs: &[(u16, Vec<u8>)]) {
    let mut pdu = vec![2, 180, 0, 0];
    for (kind, value) in tlvs {
        pdu.extend_from_slice(&kind.to_be_bytes());
        pdu.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
        pdu.extend_from_slice(value);
    }
    let sum = cdp_checksum(&pdu);
    pdu[2..4].copy_from_slice(&sum.to_be_bytes());
    let snap = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];
    out.extend_from_slice(&CDP_MULTICAST);
    out.extend_from_slice(&src);
    out.extend_from_slice(&((snap.len() + pdu.len()) as u16).to_be_bytes());
    out.extend_from_slice(&snap);
    out.extend_from_slice(&pdu);
}

/// The Internet checksum as CDP computes it: over the data unit, an odd last byte taken as a signed
/// 16-bit value (Cisco's way, which Wireshark follows).
fn cdp_checksum(pdu: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut pairs = pdu.chunks_exact(2);
    for p in &mut pairs {
        sum += u32::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        sum = sum.wrapping_add(i32::from(*last as i8) as u32 & 0xffff);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// What a switch says of itself on every port it announces from.
pub struct Switch<'a> {
    /// Its base MAC: LLDP's chassis id, the same from every port.
    pub chassis: [u8; 6],
    pub name: &'a str,
    /// Its sysDescr, which CDP sends as its software version.
    pub description: &'a str,
    /// CDP's platform (`cisco C9300-48P`).
    pub platform: &'a str,
    pub address: Ipv4Addr,
    /// A second management address, in LLDP only.
    pub address6: Option<Ipv6Addr>,
}

impl Switch<'_> {
    /// The LLDP frame port `port` (its own MAC `port_mac`) sends: a bridge and router.
    pub fn lldp(&self, out: &mut Vec<u8>, port_mac: [u8; 6], port: &str) {
        let caps = CAP_BRIDGE | CAP_ROUTER;
        let mut tlvs = vec![
            chassis_mac(self.chassis),
            port_name(port),
            ttl(120),
            system_name(self.name),
            system_description(self.description),
            capabilities(caps, caps),
            management_v4(self.address),
        ];
        tlvs.extend(self.address6.map(management_v6));
        lldp_frame(out, port_mac, None, &tlvs);
    }

    /// The CDP frame port `port` (its own MAC `port_mac`) sends.
    pub fn cdp(&self, out: &mut Vec<u8>, port_mac: [u8; 6], port: &str) {
        let caps = CDP_ROUTER | CDP_SWITCH | CDP_IGMP;
        cdp_frame(
            out,
            port_mac,
            &[
                (CDP_DEVICE_ID, self.name.as_bytes().to_vec()),
                (CDP_ADDRESSES, cdp_address_v4(self.address)),
                (CDP_PORT_ID, port.as_bytes().to_vec()),
                (CDP_CAPABILITIES, caps.to_be_bytes().to_vec()),
                (CDP_SOFTWARE, self.description.as_bytes().to_vec()),
                (CDP_PLATFORM, self.platform.as_bytes().to_vec()),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checksum over data that includes it comes out as zero; the odd byte counts signed.
    #[test]
    fn the_cdp_checksum_verifies_and_signs_an_odd_byte() {
        let mut pdu = vec![2, 180, 0, 0, 0, 1, 0, 9, b'a', b'b', b'c', b'd', 0x90];
        let sum = cdp_checksum(&pdu);
        pdu[2..4].copy_from_slice(&sum.to_be_bytes());
        // Re-summing with the checksum in place: all ones, so the complement is zero.
        assert_eq!(cdp_checksum(&pdu), 0);
        // 0x90 as a signed byte is 0xff90, not 0x0090 (nor 0x9000).
        let odd = cdp_checksum(&[0x90]);
        assert_eq!(odd, !0xff90);
    }
}
