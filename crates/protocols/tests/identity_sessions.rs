//! SNMP, EtherNet/IP, DHCPv6, LLMNR, NetBIOS and SSDP through `FlowSession`, the way `analyze` meets them:
//! which flows they are found on, what identity evidence each gives and about whom, the DHCPv6
//! leases, and what SNMP leaves for the findings (a community's length, never its value). Messages are built by hand,
//! field by field after the RFCs and the CIP specification; the real captures go through the binary
//! in `crates/medsentry/tests/identify.rs`.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use synth::payload::netbios;
use testkit::ber::{oid, tlv, varbind};

use capture::{Direction, EndReason, StreamConsumer, Timestamp};
use protocols::detect::{App, PortMap};
use protocols::session::{
    About, AppSource, EventSink, FlowSession, Hl7Record, IdentityFact, MAX_COMMUNITY_LENGTHS,
    SharedSink,
};

// ---- support ----

/// What a session streamed to its sink.
#[derive(Default)]
struct Recorded {
    facts: Vec<IdentityFact>,
    leases: Vec<([u8; 6], IpAddr)>,
    dhcpv6_leases: Vec<([u8; 6], IpAddr)>,
}

impl EventSink for Recorded {
    fn hl7(&mut self, _flow: u64, _record: Hl7Record<'_>, _message: &protocols::hl7::Message<'_>) {}

    fn identity(&mut self, fact: IdentityFact) {
        self.facts.push(fact);
    }

    fn lease(&mut self, _ts: Timestamp, mac: [u8; 6], ip: IpAddr) {
        self.leases.push((mac, ip));
    }

    fn dhcpv6_lease(&mut self, _ts: Timestamp, mac: [u8; 6], ip: IpAddr) {
        self.dhcpv6_leases.push((mac, ip));
    }
}

fn session(tcp: bool, server_port: u16) -> (FlowSession, Rc<RefCell<Recorded>>) {
    let recorded = Rc::new(RefCell::new(Recorded::default()));
    let sink: SharedSink = recorded.clone();
    let s = FlowSession::new(Rc::new(PortMap::standard()), sink, 1, tcp, server_port);
    (s, recorded)
}

const T: Timestamp = Timestamp(1_700_000_000_000_000_000);
const CLIENT: &str = "10.20.0.5";
const SERVER: &str = "10.20.0.9";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// The facts a session kept, as (about, field, value).
fn kept(s: &FlowSession) -> Vec<(About, &'static str, String)> {
    s.results
        .identity
        .iter()
        .map(|f| (f.about.clone(), f.field, f.value.clone()))
        .collect()
}

fn value<'a>(facts: &'a [(About, &'static str, String)], field: &str) -> Option<&'a str> {
    facts
        .iter()
        .find(|(_, f, _)| *f == field)
        .map(|(_, _, v)| v.as_str())
}

/// A v1 (0) or v2c (1) message with request-id 7, no error, and these bindings.
fn snmp_message(version: u8, community: &[u8], pdu_tag: u8, vbs: &[Vec<u8>]) -> Vec<u8> {
    let pdu = [
        tlv(0x02, &[7]),
        tlv(0x02, &[0]),
        tlv(0x02, &[0]),
        tlv(0x30, &vbs.concat()),
    ]
    .concat();
    tlv(
        0x30,
        &[
            tlv(0x02, &[version]),
            tlv(0x04, community),
            tlv(pdu_tag, &pdu),
        ]
        .concat(),
    )
}

const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
const SYS_OBJECT_ID: &str = "1.3.6.1.2.1.1.2.0";
const SYS_CONTACT: &str = "1.3.6.1.2.1.1.4.0";
const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
const SYS_LOCATION: &str = "1.3.6.1.2.1.1.6.0";

/// The community of the SNMP tests: a password, which nothing may keep.
const COMMUNITY: &[u8] = b"Icu-Sw!tch-RW";

/// A switch's answer to a system group walk; its sysDescr spans lines, as Cisco's do.
fn switch_response() -> Vec<u8> {
    snmp_message(
        1,
        COMMUNITY,
        0xa2,
        &[
            varbind(
                SYS_DESCR,
                tlv(
                    0x04,
                    b"Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 12.2(50)SE4\r\n\
                      Technical Support: http://www.cisco.com/techsupport\r\n",
                ),
            ),
            varbind(SYS_OBJECT_ID, tlv(0x06, &oid("1.3.6.1.4.1.9.1.1208"))),
            varbind(SYS_CONTACT, tlv(0x04, b"network team x4410")),
            varbind(SYS_NAME, tlv(0x04, b"sw-icu-3.hosp.example")),
            varbind(SYS_LOCATION, tlv(0x04, b"ICU 3 comms room")),
        ],
    )
}

fn switch_request() -> Vec<u8> {
    let names = [
        SYS_DESCR,
        SYS_OBJECT_ID,
        SYS_CONTACT,
        SYS_NAME,
        SYS_LOCATION,
    ];
    let vbs: Vec<Vec<u8>> = names.iter().map(|n| varbind(n, tlv(0x05, &[]))).collect();
    snmp_message(1, COMMUNITY, 0xa0, &vbs)
}

/// An EtherNet/IP encapsulation message (CIP Vol 2 section 2-3), little-endian.
fn encapsulation(command: u16, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(b"medsntry");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(data);
    out
}

/// A ListIdentity reply of an Omron PLC (vendor 47, device type 0x0e), revision 2.1.
fn identity_reply(name: &[u8]) -> Vec<u8> {
    let mut item = Vec::new();
    item.extend_from_slice(&1u16.to_le_bytes());
    item.extend_from_slice(&2u16.to_be_bytes());
    item.extend_from_slice(&44818u16.to_be_bytes());
    item.extend_from_slice(&[10, 20, 0, 9]);
    item.extend_from_slice(&[0; 8]);
    item.extend_from_slice(&47u16.to_le_bytes());
    item.extend_from_slice(&0x0eu16.to_le_bytes());
    item.extend_from_slice(&1650u16.to_le_bytes());
    item.extend_from_slice(&[2, 1]);
    item.extend_from_slice(&0x0034u16.to_le_bytes());
    item.extend_from_slice(&0x0123_4567u32.to_le_bytes());
    item.push(name.len() as u8);
    item.extend_from_slice(name);
    item.push(3);
    let mut data = Vec::new();
    data.extend_from_slice(&1u16.to_le_bytes());
    data.extend_from_slice(&0x000cu16.to_le_bytes());
    data.extend_from_slice(&(item.len() as u16).to_le_bytes());
    data.extend_from_slice(&item);
    encapsulation(0x0063, &data)
}

fn v6_opt(code: u16, value: &[u8]) -> Vec<u8> {
    let mut out = code.to_be_bytes().to_vec();
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out
}

const PUMP_MAC: [u8; 6] = [0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f];

/// A DUID-LLT (RFC 8415 section 11.2) of an Ethernet interface.
fn duid_llt(mac: [u8; 6]) -> Vec<u8> {
    [&[0, 1, 0, 1, 0x2a, 0x0b, 0x3c, 0x4d][..], &mac].concat()
}

/// A Solicit: client DUID, option request list, client FQDN and vendor class.
fn solicit(duid: &[u8]) -> Vec<u8> {
    let mut vendor = 2272u32.to_be_bytes().to_vec();
    for item in [&b"BBraun-Space\x1b[31m"[..], b"fw 689D"] {
        vendor.extend_from_slice(&(item.len() as u16).to_be_bytes());
        vendor.extend_from_slice(item);
    }
    let mut fqdn = vec![1, 7];
    fqdn.extend_from_slice(b"pump-07");
    fqdn.push(3);
    fqdn.extend_from_slice(b"icu");
    fqdn.push(0);
    [
        vec![1, 0xab, 0xcd, 0xef],
        v6_opt(1, duid),
        v6_opt(6, &[0, 23, 0, 24, 0, 39]),
        v6_opt(39, &fqdn),
        v6_opt(16, &vendor),
    ]
    .concat()
}

/// The server's Reply, giving two addresses (and withdrawing one).
fn reply(duid: &[u8]) -> Vec<u8> {
    let iaaddr = |last: u8, valid: u32| {
        let mut v = vec![0xfd, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, last];
        v.extend_from_slice(&3600u32.to_be_bytes());
        v.extend_from_slice(&valid.to_be_bytes());
        v6_opt(5, &v)
    };
    let ia_na = [
        vec![0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x15, 0x18],
        iaaddr(0x21, 7200),
        iaaddr(0x22, 0),
        iaaddr(0x23, 7200),
    ]
    .concat();
    [
        vec![7, 0xab, 0xcd, 0xef],
        v6_opt(1, duid),
        v6_opt(2, &duid_llt([0x00, 0x50, 0x56, 0x01, 0x02, 0x03])),
        v6_opt(3, &ia_na),
    ]
    .concat()
}

/// A Relay-forward (RFC 8415 section 9) around `inner`.
fn relayed(inner: &[u8], msg_type: u8) -> Vec<u8> {
    let mut relay = vec![msg_type, 0];
    relay.extend_from_slice(&[0x20; 16]);
    relay.extend_from_slice(&[0xfe; 16]);
    relay.extend_from_slice(&v6_opt(9, inner));
    relay
}

/// Marsaglia's xorshift64: deterministic noise without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---- SNMP ----

#[test]
fn an_snmp_response_names_the_agent_and_the_community_is_kept_only_by_length() {
    let (mut s, _) = session(false, 161);
    assert_eq!(s.app, App::Snmp);
    s.datagram(Direction::ToServer, T, &switch_request());
    s.datagram(Direction::ToClient, T, &switch_response());
    let facts = kept(&s);
    let agent = About::Sender(Direction::ToClient);
    assert!(
        facts.iter().all(|(about, _, _)| *about == agent),
        "{facts:?}"
    );
    // The line breaks of a sysDescr are not kept: evidence values are one line.
    assert_eq!(
        value(&facts, "snmp.sys_descr"),
        Some(
            "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 12.2(50)SE4 \
             Technical Support: http://www.cisco.com/techsupport"
        )
    );
    assert_eq!(
        value(&facts, "snmp.sys_object_id"),
        Some("1.3.6.1.4.1.9.1.1208")
    );
    assert_eq!(
        value(&facts, "snmp.sys_name"),
        Some("sw-icu-3.hosp.example")
    );
    assert_eq!(value(&facts, "snmp.sys_location"), Some("ICU 3 comms room"));
    assert_eq!(
        value(&facts, "snmp.sys_contact"),
        Some("network team x4410")
    );
    assert_eq!(facts.len(), 5, "the request's Null values say nothing");

    let snmp = s.results.snmp.as_deref().expect("snmp totals");
    assert_eq!((snmp.v1, snmp.v2c, snmp.v3, snmp.unparsed), (0, 2, 0, 0));
    assert_eq!(snmp.community_lengths, [COMMUNITY.len()]);
    assert_eq!(snmp.set_requests, 0);
    // Nothing the flow holds spells the community.
    let held = format!("{:?}", s.results);
    assert!(!held.contains("Icu-Sw"), "{held}");
}

#[test]
fn set_requests_traps_and_garbage_are_counted() {
    let (mut s, _) = session(false, 161);
    let set = snmp_message(
        0,
        b"private",
        0xa3,
        &[varbind(SYS_LOCATION, tlv(0x04, b"moved to OR 2"))],
    );
    s.datagram(Direction::ToServer, T, &set);
    s.datagram(Direction::ToServer, T, b"\x30\x03\x02\x01");
    s.datagram(Direction::ToServer, T, b"not snmp at all");
    let snmp = s.results.snmp.as_deref().expect("snmp totals");
    assert_eq!((snmp.v1, snmp.set_requests, snmp.unparsed), (1, 1, 2));
    assert_eq!(snmp.community_lengths, [7]);
    // What a manager sets is not what the device is.
    assert!(s.results.identity.is_empty());

    // A trap goes to the manager's port 162; its sender is the agent, but a trap has no system group.
    let (mut s, _) = session(false, 162);
    assert_eq!(s.app, App::Snmp);
    let trap = snmp_message(1, b"traps", 0xa7, &[varbind(SYS_NAME, tlv(0x04, b"sw-1"))]);
    s.datagram(Direction::ToServer, T, &trap);
    assert_eq!(s.results.snmp.as_deref().map(|t| t.v2c), Some(1));
    assert!(s.results.identity.is_empty());

    // Community lengths are bounded, whatever a guessing manager sends.
    let (mut s, _) = session(false, 161);
    for n in 1..=40 {
        let guess = vec![b'a'; n];
        s.datagram(Direction::ToServer, T, &snmp_message(1, &guess, 0xa0, &[]));
    }
    let snmp = s.results.snmp.as_deref().expect("snmp totals");
    assert_eq!(snmp.community_lengths.len(), MAX_COMMUNITY_LENGTHS);
    assert_eq!(snmp.v2c, 40);
}

#[test]
fn flows_that_are_not_snmp_carry_no_snmp_state() {
    let (mut s, _) = session(false, 40000);
    s.datagram(Direction::ToServer, T, &switch_response());
    assert_eq!(s.app, App::Unknown);
    assert!(s.results.snmp.is_none() && s.results.identity.is_empty());
}

#[test]
fn with_known_ends_snmp_evidence_is_streamed_about_the_agent_address() {
    let (mut s, recorded) = session(false, 161);
    s.set_endpoints(ip(CLIENT), ip(SERVER));
    s.datagram(Direction::ToServer, T, &switch_request());
    s.datagram(Direction::ToClient, T, &switch_response());
    assert!(s.results.identity.is_empty(), "streamed, not held");
    let r = recorded.borrow();
    assert_eq!(r.facts.len(), 5);
    assert!(r.facts.iter().all(|f| f.about == About::Ip(ip(SERVER))));
    assert!(r.facts.iter().all(|f| f.ts == T));
}

// ---- EtherNet/IP ----

/// The facts a ListIdentity reply of [`identity_reply`] gives, sorted.
fn omron_facts() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = [
        ("enip.vendor", "Omron Corporation"),
        ("enip.vendor_id", "47"),
        ("enip.product_name", "CJ2M-CPU33"),
        ("enip.product_code", "1650"),
        ("enip.revision", "2.1"),
        ("enip.device_type", "Programmable Logic Controller"),
        ("enip.serial", "0x01234567"),
    ]
    .into_iter()
    .map(|(f, v)| (f, v.to_string()))
    .collect();
    v.sort();
    v
}

fn enip_facts(s: &FlowSession, about: &About) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = kept(s)
        .into_iter()
        .filter(|(a, _, _)| a == about)
        .map(|(_, f, v)| (f, v))
        .collect();
    v.sort();
    v
}

#[test]
fn list_identity_over_tcp_reads_the_same_however_the_stream_is_cut() {
    // A long SendRRData reply (passed over, not buffered) before the ListIdentity reply.
    let long = encapsulation(0x006f, &vec![0x5a; 3000]);
    let stream = [long, identity_reply(b"CJ2M-CPU33")].concat();
    let request = encapsulation(0x0063, &[]);
    for chunk in [1, 2, 7, 23, 24, 25, 100, 1000, stream.len()] {
        let (mut s, _) = session(true, 44818);
        s.data(Direction::ToServer, T, &request);
        for part in stream.chunks(chunk) {
            s.data(Direction::ToClient, T, part);
        }
        s.close(T, EndReason::Fin);
        assert_eq!(s.app, App::Enip, "chunk {chunk}");
        assert_eq!(
            enip_facts(&s, &About::Sender(Direction::ToClient)),
            omron_facts(),
            "chunk {chunk}"
        );
        assert_eq!(s.results.identity.len(), 7, "the request says nothing");
    }
}

#[test]
fn a_gap_inside_a_passed_over_message_keeps_the_framing_and_any_other_stops_reading() {
    let long = encapsulation(0x006f, &vec![0x5a; 3000]);
    let (mut s, _) = session(true, 44818);
    s.data(Direction::ToClient, T, &long[..100]);
    s.gap(Direction::ToClient, T, 2000);
    s.data(Direction::ToClient, T, &long[2100..]);
    s.data(Direction::ToClient, T, &identity_reply(b"CJ2M-CPU33"));
    assert_eq!(
        enip_facts(&s, &About::Sender(Direction::ToClient)),
        omron_facts()
    );

    // A gap between messages: the next bytes may start anywhere, so nothing more is read.
    let (mut s, _) = session(true, 44818);
    s.data(Direction::ToClient, T, &encapsulation(0x0004, &[]));
    s.gap(Direction::ToClient, T, 10);
    s.data(Direction::ToClient, T, &identity_reply(b"CJ2M-CPU33"));
    assert!(s.results.identity.is_empty());
}

#[test]
fn a_list_identity_reply_on_a_flow_no_port_names_is_found_by_content() {
    // A target answers a broadcast ListIdentity from 44818 to the scanner's port: the reply is the
    // first datagram of its own flow, whose first sender counts as its client.
    let (mut s, _) = session(false, 51000);
    assert_eq!(s.app, App::Unknown);
    s.datagram(Direction::ToServer, T, &identity_reply(b"CJ2M-CPU33"));
    assert_eq!((s.app, s.app_source), (App::Enip, AppSource::Content));
    assert_eq!(
        enip_facts(&s, &About::Sender(Direction::ToServer)),
        omron_facts()
    );

    // Only the first datagram is looked at, and only a whole reply counts.
    let (mut s, _) = session(false, 51000);
    s.datagram(Direction::ToServer, T, b"hello");
    s.datagram(Direction::ToServer, T, &identity_reply(b"CJ2M-CPU33"));
    assert_eq!(s.app, App::Unknown);
    let (mut s, _) = session(false, 51000);
    s.datagram(Direction::ToServer, T, &identity_reply(b"CJ2M-CPU33")[..40]);
    assert_eq!(s.app, App::Unknown);
}

#[test]
fn an_unknown_vendor_stays_a_number_and_names_are_one_line() {
    let mut reply = identity_reply(b"Line 1\r\nLine\t2");
    // Vendor id 0x7fff: not in the table.
    let at = 24 + 2 + 4 + 18;
    reply[at..at + 2].copy_from_slice(&0x7fffu16.to_le_bytes());
    let (mut s, _) = session(false, 44818);
    s.datagram(Direction::ToClient, T, &reply);
    let facts = kept(&s);
    assert_eq!(value(&facts, "enip.vendor"), None);
    assert_eq!(value(&facts, "enip.vendor_id"), Some("32767"));
    assert_eq!(value(&facts, "enip.product_name"), Some("Line 1 Line 2"));
}

// ---- DHCPv6 ----

#[test]
fn a_client_message_speaks_for_its_sender_and_a_reply_leases_to_the_duid_mac() {
    let duid = duid_llt(PUMP_MAC);
    let (mut s, _) = session(false, 547);
    assert_eq!(s.app, App::Dhcp);
    s.datagram(Direction::ToServer, T, &solicit(&duid));
    s.datagram(Direction::ToClient, T, &reply(&duid));
    let facts = kept(&s);
    let client = About::Sender(Direction::ToServer);
    let about_client: Vec<(&str, &str)> = facts
        .iter()
        .filter(|(a, _, _)| *a == client)
        .map(|(_, f, v)| (*f, v.as_str()))
        .collect();
    assert_eq!(
        about_client,
        [
            ("dhcp6.fqdn", "pump-07.icu"),
            ("dhcp6.vendor_enterprise", "2272"),
            // The escape sequence a hostile client put in its vendor class is not kept as such.
            ("dhcp6.vendor_class", "BBraun-Space [31m"),
            ("dhcp6.vendor_class", "fw 689D"),
            ("dhcp6.params", "23,24,39"),
            ("dhcp6.duid", "000100012a0b3c4d001b2c3d4e5f"),
        ]
    );
    // The server's answer makes it a DHCP server, and gives the client two live addresses.
    assert!(facts.contains(&(
        About::Sender(Direction::ToClient),
        "service",
        "dhcp-server".to_string()
    )));
    assert_eq!(
        s.results.dhcpv6_leases,
        [
            (PUMP_MAC, ip("fd00:0:0:20::21")),
            (PUMP_MAC, ip("fd00:0:0:20::23"))
        ]
    );
    assert!(
        s.results.leases.is_empty(),
        "DHCPv6 leases are their own kind"
    );
}

#[test]
fn with_known_ends_dhcpv6_leases_are_streamed_apart_from_dhcp_ones() {
    let duid = duid_llt(PUMP_MAC);
    let (mut s, recorded) = session(false, 546);
    s.set_endpoints(ip("fe80::1"), ip("fe80::2"));
    s.datagram(Direction::ToServer, T, &reply(&duid));
    let r = recorded.borrow();
    assert_eq!(r.dhcpv6_leases.len(), 2);
    assert!(r.leases.is_empty());
    assert_eq!(
        r.facts.iter().map(|f| f.about.clone()).collect::<Vec<_>>(),
        [About::Ip(ip("fe80::1"))],
        "the server, by its address"
    );
}

#[test]
fn through_a_relay_only_the_duid_names_the_client() {
    // Relayed, the sender is the relay: facts go to the MAC in a DUID-LL or DUID-LLT.
    let duid_ll = [&[0, 3, 0, 1][..], &PUMP_MAC].concat();
    let (mut s, _) = session(false, 547);
    s.datagram(Direction::ToServer, T, &relayed(&solicit(&duid_ll), 12));
    let facts = kept(&s);
    assert!(!facts.is_empty());
    assert!(facts.iter().all(|(a, _, _)| *a == About::Mac(PUMP_MAC)));

    // A DUID-EN names no MAC: a relayed client message then says nothing of anyone.
    let duid_en = [0, 2, 0, 0, 0x08, 0xe0, 1, 2, 3, 4];
    let (mut s, _) = session(false, 547);
    s.datagram(Direction::ToServer, T, &relayed(&solicit(&duid_en), 12));
    assert!(s.results.identity.is_empty());
    // Nor does its Reply lease to anyone; and a relayed Reply does not make the relay a server.
    s.datagram(Direction::ToClient, T, &relayed(&reply(&duid_en), 13));
    assert!(s.results.dhcpv6_leases.is_empty() && s.results.identity.is_empty());
    s.datagram(Direction::ToClient, T, &relayed(&reply(&duid_ll), 13));
    assert_eq!(s.results.dhcpv6_leases.len(), 2);
    assert!(s.results.identity.is_empty());
}

// ---- hostile input ----

#[test]
fn hostile_datagrams_and_streams_never_panic_and_state_stays_bounded() {
    let goods = [
        switch_response(),
        switch_request(),
        identity_reply(b"CJ2M-CPU33"),
        solicit(&duid_llt(PUMP_MAC)),
        reply(&duid_llt(PUMP_MAC)),
        relayed(&solicit(&duid_llt(PUMP_MAC)), 12),
    ];
    let mut rng = XorShift(0x5eed_1d5e_55f0_0d01);
    for (tcp, port) in [
        (false, 161),
        (false, 162),
        (false, 44818),
        (true, 44818),
        (false, 546),
        (false, 547),
        (false, 51000),
    ] {
        let (mut s, _) = session(tcp, port);
        for round in 0..3000 {
            let mut bytes = goods[rng.below(goods.len())].clone();
            match round % 3 {
                0 => {
                    for _ in 0..1 + rng.below(4) {
                        let i = rng.below(bytes.len());
                        bytes[i] = rng.next() as u8;
                    }
                }
                1 => bytes.truncate(rng.below(bytes.len() + 1)),
                _ => bytes = (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
            }
            let dir = if rng.next() & 1 == 0 {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            if tcp {
                for part in bytes.chunks(1 + rng.below(64)) {
                    s.data(dir, T, part);
                }
                if rng.below(50) == 0 {
                    s.gap(dir, T, rng.below(5000) as u64);
                }
            } else {
                s.datagram(dir, T, &bytes);
            }
        }
        s.close(T, EndReason::Fin);
        let r = &s.results;
        assert!(r.identity.len() <= 64, "port {port}");
        assert!(r.dhcpv6_leases.len() <= 64, "port {port}");
        if let Some(snmp) = r.snmp.as_deref() {
            assert!(snmp.community_lengths.len() <= MAX_COMMUNITY_LENGTHS);
        }
        assert!(r.identity.iter().all(|f| !f.value.contains(['\r', '\n'])));
    }
}

/// An HL7 session reads which PHI fields a message carried; the patient's values only when asked
/// (`--show-phi`), so by default they are never copied out of the stream.
#[test]
fn hl7_patient_values_are_read_only_when_asked() {
    let message = b"\x0bMSH|^~\\&|MON|ICU|EHR|HOSP|20241128173400||ADT^A01|C1|P|2.5\r\
PID|1||100001^^^HOSP^MR||DOE^JANE||19650312|F\r\x1c\r";
    for asked in [false, true] {
        let (mut s, _) = session(true, 2575);
        s.read_patient_values(asked);
        s.data(Direction::ToServer, T, message);
        s.close(T, EndReason::Fin);
        let hl7 = &s.results.hl7;
        assert_eq!(hl7.messages, 1);
        assert_eq!(hl7.with_phi, 1);
        assert!(hl7.phi_fields.iter().any(|(f, _)| f == "PID-5"));
        let expected: &[&str] = if asked { &["100001"] } else { &[] };
        assert_eq!(hl7.patient_ids, expected, "asked: {asked}");
    }
}

// ---- LLMNR and NetBIOS ----

/// A DNS-format message: header, then `body` (questions and answers as given).
fn dns_message(flags: u16, counts: [u16; 4], body: &[u8]) -> Vec<u8> {
    let mut m = vec![0x5a, 0x5a];
    m.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        m.extend_from_slice(&c.to_be_bytes());
    }
    m.extend_from_slice(body);
    m
}

#[test]
fn llmnr_answers_name_the_responder_and_queries_say_nothing() {
    // "us-cart-2" A? from the client, answered by the server with its own address (RFC 4795).
    let name = b"\x09us-cart-2\x00";
    let mut question = name.to_vec();
    question.extend_from_slice(&[0, 1, 0, 1]);
    let mut answer = question.clone();
    answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 20, 0, 9]);
    let (mut s, _) = session(false, 5355);
    s.datagram(
        Direction::ToServer,
        T,
        &dns_message(0, [1, 0, 0, 0], &question),
    );
    s.datagram(
        Direction::ToClient,
        T,
        &dns_message(0x8000, [1, 1, 0, 0], &answer),
    );
    s.close(T, EndReason::EndOfCapture);
    assert_eq!(s.app, App::Llmnr);
    assert_eq!(
        kept(&s),
        vec![(About::Ip(ip(SERVER)), "llmnr.name", "us-cart-2".to_string())]
    );
}

#[test]
fn netbios_registrations_and_query_responses_name_their_hosts() {
    let (mut s, _) = session(false, 137);
    // The client registers its workstation name and its workgroup (broadcast, RFC 1002 4.2.2).
    for (name, group) in [("ECHO-CART", false), ("CARDIOLOGY", true)] {
        let mut m = Vec::new();
        netbios::registration(&mut m, 0x5a5a, name, 0x00, group, [10, 20, 0, 5]);
        s.datagram(Direction::ToServer, T, &m);
    }
    // The server answers a query for "PACS01<20>": held by 10.20.0.40, another host.
    let mut body = netbios::encoded_name("PACS01", 0x20);
    body.extend_from_slice(&[0, 0x20, 0, 1, 0, 0, 0, 0, 0, 6, 0, 0, 10, 20, 0, 40]);
    s.datagram(
        Direction::ToClient,
        T,
        &dns_message(0x8500, [0, 1, 0, 0], &body),
    );
    s.close(T, EndReason::EndOfCapture);
    assert_eq!(s.app, App::Netbios);
    assert_eq!(
        kept(&s),
        vec![
            (
                About::Sender(Direction::ToServer),
                "netbios.name",
                "ECHO-CART".to_string()
            ),
            (
                About::Sender(Direction::ToServer),
                "netbios.workgroup",
                "CARDIOLOGY".to_string()
            ),
            (
                About::Ip(ip("10.20.0.40")),
                "netbios.name",
                "PACS01".to_string()
            ),
        ]
    );
}

#[test]
fn ssdp_announcements_name_the_device_and_its_type() {
    let (mut s, _) = session(false, 1900);
    let notify = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\
        NT: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nNTS: ssdp:alive\r\n\
        SERVER: Linux/3.10 UPnP/1.0 MiniUPnPd/2.1\r\n\r\n";
    s.datagram(Direction::ToServer, T, notify);
    // A search from the same end names only what it looks for: nothing about it.
    s.datagram(
        Direction::ToServer,
        T,
        b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\nMAN: \"ssdp:discover\"\r\n\r\n",
    );
    s.close(T, EndReason::EndOfCapture);
    assert_eq!(s.app, App::Ssdp);
    let sender = About::Sender(Direction::ToServer);
    assert_eq!(
        kept(&s),
        vec![
            (
                sender.clone(),
                "ssdp.server",
                "Linux/3.10 UPnP/1.0 MiniUPnPd/2.1".to_string()
            ),
            (
                sender,
                "ssdp.device_type",
                "urn:schemas-upnp-org:device:InternetGatewayDevice:1".to_string()
            ),
        ]
    );
}
