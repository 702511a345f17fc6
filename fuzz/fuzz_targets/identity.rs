//! Arbitrary bytes through every identity parser: as a DHCP, DHCPv6 and DNS/mDNS datagram, and as
//! both directions of a TLS stream fed in chunks (split where the first byte says), with a gap.

#![no_main]

use libfuzzer_sys::fuzz_target;
use protocols::tls_hello::HelloReader;
use protocols::{dhcp, dns};

fuzz_target!(|data: &[u8]| {
    if let Some(m) = dhcp::parse_dhcp(data) {
        let _ = m.fingerprint();
    }
    let _ = dhcp::parse_dhcpv6(data);
    if let Some(m) = dns::parse_dns(data) {
        let _ = dns::services(&m);
    }
    let Some((&pick, stream)) = data.split_first() else {
        return;
    };
    for to_server in [true, false] {
        let mut r = HelloReader::new(to_server);
        for chunk in stream.chunks(usize::from(pick % 17) + 1) {
            r.feed(chunk);
            if pick & 0x80 != 0 && chunk.first() == Some(&0) {
                r.gap();
            }
        }
        if let Some(h) = r.client_hello() {
            let _ = (h.ja3(), h.ja4(), h.ja3_string());
        }
        let _ = r.server_hello();
    }
});
