//! Arbitrary bytes through every identity parser: as a DHCP, DHCPv6, DNS/mDNS, SNMP, EtherNet/IP,
//! NetBIOS (name service, datagram service) and SSDP datagram, as an LLDP and a CDP data unit and an
//! NTLMSSP message (and through an SMB flow's scanner and an HTTP flow's heads, in chunks), as both
//! directions of a TLS stream fed in chunks (split where the first byte says), with a gap, and
//! through the flow sessions that turn SNMP, EtherNet/IP, DHCPv6, NetBIOS, LLMNR and SSDP into
//! evidence.

#![no_main]

use std::cell::RefCell;
use std::rc::Rc;

use capture::{Direction, EndReason, StreamConsumer, Timestamp};
use libfuzzer_sys::fuzz_target;
use protocols::detect::PortMap;
use protocols::session::{EventSink, FlowSession, Hl7Record, SharedSink};
use protocols::tls_hello::HelloReader;
use protocols::{cdp, dhcp, dns, enip, lldp, netbios, ntlm, snmp, ssdp};

struct Discard;

impl EventSink for Discard {
    fn hl7(&mut self, _flow: u64, _record: Hl7Record<'_>, _message: &protocols::hl7::Message<'_>) {}
}

fuzz_target!(|data: &[u8]| {
    if let Some(m) = dhcp::parse_dhcp(data) {
        let _ = m.fingerprint();
    }
    if let Some(m) = dhcp::parse_dhcpv6(data) {
        let _ = (m.client_mac(), m.fingerprint(), m.from_client());
    }
    if let Some(m) = dns::parse_dns(data) {
        let _ = dns::services(&m);
    }
    let _ = (
        netbios::parse_name_service(data),
        netbios::parse_datagram(data),
        ssdp::parse(data).map(|m| m.device_type().map(str::len)),
        lldp::parse(data).map(|l| l.facts()),
        cdp::parse(data).map(|c| c.facts()),
        ntlm::parse(data).map(|m| m.facts()),
    );
    if let Ok(m) = snmp::parse_snmp(data) {
        let _ = snmp::system_info(&m);
    }
    let mut rest = data;
    while let Ok((m, used)) = enip::parse_message(rest) {
        if let Some(id) = enip::list_identity(&m) {
            let _ = (
                id.vendor(),
                id.revision(),
                enip::device_type_name(id.device_type),
            );
        }
        rest = &rest[used..];
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
    let dir = if pick & 1 == 0 {
        Direction::ToServer
    } else {
        Direction::ToClient
    };
    let ports = Rc::new(PortMap::standard());
    let ts = Timestamp(1);
    for (tcp, port) in [
        (false, 161),
        (false, 44818),
        (false, 547),
        (false, 137),
        (false, 138),
        (false, 5355),
        (false, 1900),
        (false, 50000),
        (true, 44818),
        (true, 445),
        (true, 80),
    ] {
        let sink: SharedSink = Rc::new(RefCell::new(Discard));
        let mut s = FlowSession::new(Rc::clone(&ports), sink, 1, tcp, port);
        if tcp {
            for chunk in stream.chunks(usize::from(pick % 29) + 1) {
                s.data(dir, ts, chunk);
                if pick & 0x80 != 0 && chunk.first() == Some(&0) {
                    s.gap(dir, ts, u64::from(pick));
                }
            }
        } else {
            s.datagram(dir, ts, stream);
        }
        s.close(ts, EndReason::EndOfCapture);
    }
});
