//! Frames as a NIC puts them on the wire: Ethernet (optionally 802.1Q-tagged), IPv4 or IPv6, TCP or
//! UDP, with correct checksums. Written straight into the capture buffer: one copy of the payload.

/// A host's layer-2/3 identity as it appears in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2L3 {
    pub mac: [u8; 6],
    pub ip: Ip,
    pub vlan: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ip {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Ip {
    pub fn to_std(self) -> std::net::IpAddr {
        match self {
            Ip::V4(a) => a.into(),
            Ip::V6(a) => a.into(),
        }
    }
}

pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];

pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// One's-complement sum of `data` as big-endian 16-bit words (odd tail padded with zero), not folded.
/// Adds 32-bit words into a 64-bit accumulator: carries are folded once at the end.
pub fn sum_words(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        acc += (v >> 32) + (v & 0xffff_ffff);
    }
    let mut rest = chunks.remainder();
    while rest.len() >= 2 {
        acc += u64::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
    }
    if let [last] = rest {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds a sum into the 16-bit checksum field value.
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn pseudo_sum(src: Ip, dst: Ip, proto: u8, len: usize) -> u64 {
    let mut acc = u64::from(proto) + len as u64;
    match (src, dst) {
        (Ip::V4(s), Ip::V4(d)) => acc += sum_words(&s) + sum_words(&d),
        (Ip::V6(s), Ip::V6(d)) => acc += sum_words(&s) + sum_words(&d),
        _ => unreachable!("mixed address families in one packet"),
    }
    acc
}

/// Transport header of a frame being built.
pub enum Transport<'a> {
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        options: &'a [u8],
    },
    Udp {
        sport: u16,
        dport: u16,
    },
    /// ICMPv6: the payload is the message after type, code and checksum.
    Icmp6 {
        icmp_type: u8,
        code: u8,
    },
}

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;

/// The Ethernet addresses and, for a device on a VLAN, its 802.1Q tag (the ether type follows).
fn link_header(out: &mut Vec<u8>, src: &L2L3, dst_mac: [u8; 6]) {
    out.extend_from_slice(&dst_mac);
    out.extend_from_slice(&src.mac);
    if let Some(vlan) = src.vlan {
        out.extend_from_slice(&[0x81, 0x00]);
        out.extend_from_slice(&(vlan & 0x0fff).to_be_bytes());
    }
}

/// Appends an ARP announcement (RFC 5227) by `src`, an IPv4 host: a broadcast request whose sender
/// and target address are both its own, padded to Ethernet's minimum.
pub fn arp_announcement(out: &mut Vec<u8>, src: &L2L3) {
    let Ip::V4(ip) = src.ip else {
        unreachable!("ARP is for IPv4 addresses")
    };
    link_header(out, src, BROADCAST_MAC);
    // ARP; Ethernet, IPv4, address lengths 6 and 4, request.
    out.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    out.extend_from_slice(&src.mac);
    out.extend_from_slice(&ip);
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&ip);
    out.extend_from_slice(&[0; 18]);
}

/// Appends a whole frame to `out` and returns its length. `ip_id` is the IPv4 identification field.
#[allow(clippy::too_many_arguments)]
pub fn frame(
    out: &mut Vec<u8>,
    src: &L2L3,
    dst_mac: [u8; 6],
    dst_ip: Ip,
    ip_id: u16,
    ttl: u8,
    transport: &Transport,
    payload: &[u8],
) -> usize {
    let start = out.len();
    link_header(out, src, dst_mac);
    let (l4_len, proto) = match transport {
        Transport::Tcp { options, .. } => (20 + options.len() + payload.len(), PROTO_TCP),
        Transport::Udp { .. } => (8 + payload.len(), PROTO_UDP),
        Transport::Icmp6 { .. } => (4 + payload.len(), PROTO_ICMPV6),
    };
    match (src.ip, dst_ip) {
        (Ip::V4(s), Ip::V4(d)) => {
            out.extend_from_slice(&[0x08, 0x00]);
            let ip_start = out.len();
            let total = (20 + l4_len) as u16;
            out.extend_from_slice(&[0x45, 0x00]);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&ip_id.to_be_bytes());
            // Don't Fragment, as every modern stack sets on TCP.
            out.extend_from_slice(&[0x40, 0x00, ttl, proto, 0, 0]);
            out.extend_from_slice(&s);
            out.extend_from_slice(&d);
            let c = fold(sum_words(&out[ip_start..ip_start + 20]));
            out[ip_start + 10..ip_start + 12].copy_from_slice(&c.to_be_bytes());
        }
        (Ip::V6(s), Ip::V6(d)) => {
            out.extend_from_slice(&[0x86, 0xdd]);
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(l4_len as u16).to_be_bytes());
            out.extend_from_slice(&[proto, ttl]);
            out.extend_from_slice(&s);
            out.extend_from_slice(&d);
        }
        _ => unreachable!("mixed address families in one packet"),
    }
    let l4_start = out.len();
    let csum_at = match transport {
        Transport::Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            window,
            options,
        } => {
            out.extend_from_slice(&sport.to_be_bytes());
            out.extend_from_slice(&dport.to_be_bytes());
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&ack.to_be_bytes());
            let offset = ((20 + options.len()) / 4) as u8;
            out.extend_from_slice(&[offset << 4, *flags]);
            out.extend_from_slice(&window.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(options);
            l4_start + 16
        }
        Transport::Udp { sport, dport } => {
            out.extend_from_slice(&sport.to_be_bytes());
            out.extend_from_slice(&dport.to_be_bytes());
            out.extend_from_slice(&(l4_len as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            l4_start + 6
        }
        Transport::Icmp6 { icmp_type, code } => {
            out.extend_from_slice(&[*icmp_type, *code, 0, 0]);
            l4_start + 2
        }
    };
    out.extend_from_slice(payload);
    let mut c = fold(pseudo_sum(src.ip, dst_ip, proto, l4_len) + sum_words(&out[l4_start..]));
    if proto == PROTO_UDP && c == 0 {
        c = 0xffff; // RFC 768: a computed zero is sent as all ones
    }
    out[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    out.len() - start
}

/// The MAC an IPv6 multicast group maps to (RFC 2464): 33:33 and its last four bytes.
pub fn multicast_mac_v6(ip: [u8; 16]) -> [u8; 6] {
    [0x33, 0x33, ip[12], ip[13], ip[14], ip[15]]
}

/// IPv6 all-nodes, link-local (ff02::1).
pub const ALL_NODES: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// The link-local address a host makes from its MAC (modified EUI-64, RFC 4291).
pub fn link_local(mac: [u8; 6]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..2].copy_from_slice(&[0xfe, 0x80]);
    a[8..].copy_from_slice(&[
        mac[0] ^ 2,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ]);
    a
}

/// Appends the neighbour solicitation of duplicate address detection (RFC 4862) for `src`'s IPv6
/// address: from ::, to the address's solicited-node group, hop limit 255 as Neighbor Discovery
/// requires. Returns its source and destination.
pub fn dad_solicitation(out: &mut Vec<u8>, src: &L2L3) -> (Ip, Ip) {
    let Ip::V6(addr) = src.ip else {
        unreachable!("Neighbor Discovery is for IPv6 addresses")
    };
    let mut group = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    group[13..].copy_from_slice(&addr[13..]);
    let unspecified = L2L3 {
        ip: Ip::V6([0; 16]),
        ..*src
    };
    let mut ns = vec![0; 4];
    ns.extend_from_slice(&addr);
    let t = Transport::Icmp6 {
        icmp_type: 135,
        code: 0,
    };
    let dst = Ip::V6(group);
    frame(
        out,
        &unspecified,
        multicast_mac_v6(group),
        dst,
        0,
        255,
        &t,
        &ns,
    );
    (unspecified.ip, dst)
}

/// Appends an unsolicited neighbour advertisement of `src`'s IPv6 address to all nodes, as a host
/// sends once the address is its own: the override flag (the router flag too if `router`) and its
/// MAC. Returns its source and destination.
pub fn unsolicited_advertisement(out: &mut Vec<u8>, src: &L2L3, router: bool) -> (Ip, Ip) {
    let Ip::V6(addr) = src.ip else {
        unreachable!("Neighbor Discovery is for IPv6 addresses")
    };
    let flags = if router { 0xa0 } else { 0x20 };
    let mut na = vec![flags, 0, 0, 0];
    na.extend_from_slice(&addr);
    na.extend_from_slice(&[2, 1]);
    na.extend_from_slice(&src.mac);
    let t = Transport::Icmp6 {
        icmp_type: 136,
        code: 0,
    };
    let dst = Ip::V6(ALL_NODES);
    frame(out, src, multicast_mac_v6(ALL_NODES), dst, 0, 255, &t, &na);
    (src.ip, dst)
}

/// Appends a router advertisement from `mac`'s link-local address to all nodes: default router for
/// 30 minutes, the /64 `prefix` on link and for address autoconfiguration, the router's MAC. Returns
/// its source and destination.
pub fn router_advertisement(
    out: &mut Vec<u8>,
    mac: [u8; 6],
    vlan: Option<u16>,
    prefix: [u8; 16],
) -> (Ip, Ip) {
    let src = L2L3 {
        mac,
        ip: Ip::V6(link_local(mac)),
        vlan,
    };
    // Hop limit 64, no flags, lifetime 1800 s, reachable and retransmission times unspecified.
    let mut ra = vec![64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
    // Prefix information: /64, on-link and autonomous, valid 30 days, preferred 7.
    ra.extend_from_slice(&[3, 4, 64, 0xc0]);
    ra.extend_from_slice(&2_592_000u32.to_be_bytes());
    ra.extend_from_slice(&604_800u32.to_be_bytes());
    ra.extend_from_slice(&[0; 4]);
    ra.extend_from_slice(&prefix);
    ra.extend_from_slice(&[1, 1]);
    ra.extend_from_slice(&mac);
    let t = Transport::Icmp6 {
        icmp_type: 134,
        code: 0,
    };
    let all = Ip::V6(ALL_NODES);
    frame(out, &src, multicast_mac_v6(ALL_NODES), all, 0, 255, &t, &ra);
    (src.ip, all)
}

/// The MAC an IPv4 multicast group maps to (RFC 1112).
pub fn multicast_mac_v4(ip: [u8; 4]) -> [u8; 6] {
    [0x01, 0x00, 0x5e, ip[1] & 0x7f, ip[2], ip[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checksums verified the way a receiver does: the sum over header and data, checksum included,
    /// folds to zero.
    #[test]
    fn checksums_verify_as_a_receiver_checks_them() {
        let src = L2L3 {
            mac: [2, 0, 0, 0, 0, 1],
            ip: Ip::V4([10, 0, 0, 1]),
            vlan: Some(12),
        };
        for len in [0usize, 1, 7, 8, 9, 1448] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut out = Vec::new();
            let t = Transport::Tcp {
                sport: 1234,
                dport: 2575,
                seq: 1,
                ack: 2,
                flags: 0x18,
                window: 512,
                options: &[],
            };
            let n = frame(
                &mut out,
                &src,
                [2, 0, 0, 0, 0, 2],
                Ip::V4([10, 0, 0, 2]),
                7,
                64,
                &t,
                &payload,
            );
            assert_eq!(n, out.len());
            let ip = &out[18..38];
            assert_eq!(fold(sum_words(ip)), 0);
            let l4 = &out[38..];
            let pseudo = pseudo_sum(src.ip, Ip::V4([10, 0, 0, 2]), 6, l4.len());
            assert_eq!(fold(pseudo + sum_words(l4)), 0, "len {len}");
        }
        let v6 = L2L3 {
            mac: [2, 0, 0, 0, 0, 1],
            ip: Ip::V6([0xfd; 16]),
            vlan: None,
        };
        let mut out = Vec::new();
        frame(
            &mut out,
            &v6,
            [2; 6],
            Ip::V6([0xfe; 16]),
            0,
            64,
            &Transport::Udp {
                sport: 5,
                dport: 53,
            },
            b"abc",
        );
        let l4 = &out[54..];
        assert_eq!(
            fold(pseudo_sum(v6.ip, Ip::V6([0xfe; 16]), 17, l4.len()) + sum_words(l4)),
            0
        );
    }

    #[test]
    fn sum_matches_a_naive_word_sum() {
        let data: Vec<u8> = (0..1001u32).map(|i| (i * 31 % 251) as u8).collect();
        for end in [0, 1, 2, 3, 15, 16, 17, 1000, 1001] {
            let d = &data[..end];
            let mut naive: u64 = 0;
            for c in d.chunks(2) {
                naive += u64::from(c[0]) << 8 | u64::from(*c.get(1).unwrap_or(&0));
            }
            assert_eq!(fold(sum_words(d)), fold(naive));
        }
    }
}
