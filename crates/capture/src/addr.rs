//! Addresses as text, fast: a report on a large capture prints hundreds of thousands of them (every
//! flow's two ends, every finding's title), and `Ipv4Addr`'s `Display` formats each octet through the
//! general integer formatter.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// The longest IPv4 address in dotted-quad form, `255.255.255.255`.
pub const IPV4_LEN: usize = 15;

/// `ip` in dotted-quad form, written into `buf`: the same text as its `Display`.
pub fn format_ipv4(ip: Ipv4Addr, buf: &mut [u8; IPV4_LEN]) -> &str {
    let mut n = 0;
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if o >= 100 {
            buf[n] = b'0' + o / 100;
            n += 1;
        }
        if o >= 10 {
            buf[n] = b'0' + o / 10 % 10;
            n += 1;
        }
        buf[n] = b'0' + o % 10;
        n += 1;
    }
    std::str::from_utf8(&buf[..n]).expect("digits and dots are ASCII")
}

/// The length of a MAC address as text, `aa:bb:cc:dd:ee:ff`.
pub const MAC_LEN: usize = 17;

/// `mac` as six lower-case hexadecimal pairs separated by colons, written into `buf`: the same text
/// as `format!("{:02x}:...")`, without the general formatter (a report writes two a flow).
pub fn format_mac(mac: [u8; 6], buf: &mut [u8; MAC_LEN]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in mac.into_iter().enumerate() {
        buf[i * 3] = HEX[usize::from(b >> 4)];
        buf[i * 3 + 1] = HEX[usize::from(b & 0xf)];
        if i < 5 {
            buf[i * 3 + 2] = b':';
        }
    }
    std::str::from_utf8(buf).expect("hexadecimal digits and colons are ASCII")
}

/// An address that displays as `IpAddr` does (width and alignment included), IPv4 without the
/// general integer formatter; IPv6 through the standard one (RFC 5952's compression).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayIp(pub IpAddr);

impl fmt::Display for DisplayIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => f.pad(format_ipv4(v4, &mut [0; IPV4_LEN])),
            IpAddr::V6(v6) => fmt::Display::fmt(&v6, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_as_the_formatter_writes_them() {
        for m in [
            [0u8; 6],
            [0xff; 6],
            [0x00, 0x1b, 0x3f, 0xa0, 0x0a, 0xf9],
            [1, 2, 3, 4, 5, 6],
        ] {
            let want = format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            );
            assert_eq!(format_mac(m, &mut [0; MAC_LEN]), want);
        }
    }

    #[test]
    fn the_same_text_as_the_standard_display() {
        let octets = [0u8, 1, 9, 10, 42, 99, 100, 101, 199, 200, 249, 250, 255];
        for a in octets {
            for b in octets {
                let ip = Ipv4Addr::new(a, b, b.wrapping_mul(7), a ^ b);
                assert_eq!(DisplayIp(IpAddr::V4(ip)).to_string(), ip.to_string());
                assert_eq!(format_ipv4(ip, &mut [0; IPV4_LEN]), ip.to_string());
            }
        }
        for v6 in [
            "::",
            "::1",
            "fe80::1:2",
            "2001:db8::ff00:42:8329",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = v6.parse().unwrap();
            assert_eq!(DisplayIp(ip).to_string(), ip.to_string());
        }
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(format!("[{:>12}]", DisplayIp(ip)), format!("[{:>12}]", ip));
    }
}
