//! The SNMP and EtherNet/IP parsers against hand-built messages and the shared corpus:
//! `pcap/suricata-verify/snmp-v2c-get/` and `pcap/suricata-verify/enip-log-identity/` (expectations
//! from their `test.yaml`), and nDPI's `pcap/ndpi/snmp.pcap` (v1, v2c and v3, traps, a system group
//! walk) and `pcap/ndpi/ethernetIP.pcap` (explicit messaging over TCP). Values not in a `test.yaml`
//! were read with tshark 4.0.17 and written here as constants; where tshark is installed,
//! `snmp_matches_tshark_frame_by_frame` also compares every frame with it at run time.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::process::Command as Process;
use testkit::ber::{oid, tlv, varbind};

use capture::decode::{Decoded, Transport, decode};
use capture::{CaptureReader, Direction, PipelineConfig};
use protocols::enip::{
    self, Command, EnipError, HEADER_LEN, Identity, MAX_DATA_LEN, device_type_name, list_identity,
    parse_message, status_name, vendor_name,
};
use protocols::snmp::{
    self, MAX_TEXT, MAX_VARBINDS, Message, PduType, SnmpError, SystemInfo, Value, Version,
    error_status_name, parse_snmp, system_info,
};

// ---- support ----

/// One UDP or TCP payload of a capture, with the 1-based frame number tshark gives it.
struct Payload {
    frame: u64,
    src_port: u16,
    bytes: Vec<u8>,
}

/// The non-empty UDP and TCP payloads to or from `port`, decoded by our own capture crate.
fn payloads(path: &Path, port: u16) -> Vec<Payload> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = CaptureReader::new(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut frame = 0;
    while let Ok(Some(pkt)) = reader.next_packet() {
        frame += 1;
        let Ok(Decoded::Ip(ip)) = decode(pkt.link, pkt.data, pkt.orig_len) else {
            continue;
        };
        let (src_port, dst_port, bytes) = match ip.transport {
            Transport::Udp(u) => (u.src_port, u.dst_port, u.payload),
            Transport::Tcp(t) => (t.src_port, t.dst_port, t.payload),
            _ => continue,
        };
        if (src_port == port || dst_port == port) && !bytes.is_empty() {
            out.push(Payload {
                frame,
                src_port,
                bytes: bytes.to_vec(),
            });
        }
    }
    out
}

/// The SNMP datagrams of a capture (either port), by frame.
fn snmp_payloads(path: &Path) -> Vec<Payload> {
    let mut all = payloads(path, 161);
    all.extend(payloads(path, 162));
    all.sort_by_key(|p| p.frame);
    all
}

/// Every encapsulation message of every TCP flow to port 44818, in stream order per direction, after
/// reassembly by our capture crate: each with its direction and bytes. Panics on a stream that does
/// not split exactly into messages.
fn enip_stream_messages(path: &Path) -> Vec<(Direction, Vec<u8>)> {
    let (flows, _) =
        capture::reassemble_file(path, PipelineConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for (record, consumer) in flows {
        if record.protocol != 6 || record.server.port != enip::PORT {
            continue;
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            let stream = consumer.bytes(dir);
            let mut rest = stream.as_slice();
            while !rest.is_empty() {
                let (_, used) = parse_message(rest).unwrap_or_else(|e| {
                    panic!("{}: flow {} {dir:?}: {e}", path.display(), record.id)
                });
                out.push((dir, rest[..used].to_vec()));
                rest = &rest[used..];
            }
        }
    }
    out
}

fn corpus_file(corpus: &Path, rel: &str) -> std::path::PathBuf {
    let path = corpus.join("pcap").join(rel);
    assert!(
        path.is_file(),
        "{} is missing from the corpus",
        path.display()
    );
    path
}

/// A v1 or v2c message: version, community, and a PDU of the standard layout.
fn message(
    version: u8,
    community: &[u8],
    pdu_tag: u8,
    fields: [i64; 3],
    vbs: &[Vec<u8>],
) -> Vec<u8> {
    let int = |v: i64| {
        let bytes = v.to_be_bytes();
        let skip = (0..7)
            .take_while(|&i| {
                (bytes[i] == 0 && bytes[i + 1] & 0x80 == 0)
                    || (bytes[i] == 0xff && bytes[i + 1] & 0x80 != 0)
            })
            .count();
        tlv(0x02, &bytes[skip..])
    };
    let pdu = [
        int(fields[0]),
        int(fields[1]),
        int(fields[2]),
        tlv(0x30, &vbs.concat()),
    ]
    .concat();
    let body = [
        tlv(0x02, &[version]),
        tlv(0x04, community),
        tlv(pdu_tag, &pdu),
    ]
    .concat();
    tlv(0x30, &body)
}

/// A v2c GetResponse from a patient monitor's network module, answering a system group walk.
fn monitor_response() -> Vec<u8> {
    message(
        1,
        b"hospital-ro",
        0xa2,
        [0x1234_5678, 0, 0],
        &[
            varbind(
                snmp::oid::SYS_DESCR,
                tlv(0x04, b"IntelliVue MX800 Rev M.00.03 (network module)\r\n"),
            ),
            varbind(
                snmp::oid::SYS_OBJECT_ID,
                tlv(0x06, &oid("1.3.6.1.4.1.28730.1.7")),
            ),
            varbind(snmp::oid::SYS_UP_TIME, tlv(0x43, &[0x04, 0x92, 0x6f, 0xa4])),
            varbind(
                snmp::oid::SYS_CONTACT,
                tlv(0x04, b"biomed@hospital.example"),
            ),
            varbind(snmp::oid::SYS_NAME, tlv(0x04, b"MX800-ICU-07\0")),
            varbind(snmp::oid::SYS_LOCATION, tlv(0x04, b"  ICU bed 7  ")),
        ],
    )
}

/// The request that `monitor_response` answers.
fn monitor_request() -> Vec<u8> {
    let names = [
        snmp::oid::SYS_DESCR,
        snmp::oid::SYS_OBJECT_ID,
        snmp::oid::SYS_UP_TIME,
        snmp::oid::SYS_CONTACT,
        snmp::oid::SYS_NAME,
        snmp::oid::SYS_LOCATION,
    ];
    let vbs: Vec<Vec<u8>> = names.iter().map(|n| varbind(n, tlv(0x05, &[]))).collect();
    message(1, b"hospital-ro", 0xa0, [0x1234_5678, 0, 0], &vbs)
}

/// A v1 Trap (RFC 1157 section 4.1.6): linkDown from 10.1.30.1.
fn trap_v1() -> Vec<u8> {
    let pdu = [
        tlv(0x06, &oid("1.3.6.1.6.3.1.1.5")),
        tlv(0x40, &[10, 1, 30, 1]),
        tlv(0x02, &[2]),
        tlv(0x02, &[0]),
        tlv(0x43, &[0x03, 0xa6, 0x8c]),
        tlv(
            0x30,
            &varbind("1.3.6.1.2.1.2.2.1.2.2", tlv(0x04, b"Ethernet0/1")),
        ),
    ]
    .concat();
    tlv(
        0x30,
        &[tlv(0x02, &[0]), tlv(0x04, b"public"), tlv(0xa4, &pdu)].concat(),
    )
}

/// A v3 message (RFC 3412 section 6) with an encrypted scoped PDU.
fn v3_message() -> Vec<u8> {
    let global = [
        tlv(0x02, &[0x12, 0x34]),
        tlv(0x02, &[0x05, 0xdc]),
        tlv(0x04, &[0x07]),
        tlv(0x02, &[3]),
    ]
    .concat();
    let body = [
        tlv(0x02, &[3]),
        tlv(0x30, &global),
        tlv(0x04, &tlv(0x30, b"usm parameters")),
        tlv(0x04, &[0x5a; 40]),
    ]
    .concat();
    tlv(0x30, &body)
}

/// A ListIdentity reply as an Omron PLC might send it, with a socket address item first.
fn identity_reply(name: &[u8], with_state: bool) -> Vec<u8> {
    let mut identity = Vec::new();
    identity.extend_from_slice(&1u16.to_le_bytes());
    identity.extend_from_slice(&2u16.to_be_bytes());
    identity.extend_from_slice(&44818u16.to_be_bytes());
    identity.extend_from_slice(&[192, 168, 250, 1]);
    identity.extend_from_slice(&[0; 8]);
    identity.extend_from_slice(&47u16.to_le_bytes());
    identity.extend_from_slice(&0x0eu16.to_le_bytes());
    identity.extend_from_slice(&1650u16.to_le_bytes());
    identity.extend_from_slice(&[2, 1]);
    identity.extend_from_slice(&0x0034u16.to_le_bytes());
    identity.extend_from_slice(&0x0123_4567u32.to_le_bytes());
    identity.push(name.len() as u8);
    identity.extend_from_slice(name);
    if with_state {
        identity.push(3);
    }
    let mut data = Vec::new();
    data.extend_from_slice(&2u16.to_le_bytes());
    // An item of another type (0x8000 sockaddr info) before the identity item is skipped.
    data.extend_from_slice(&0x8000u16.to_le_bytes());
    data.extend_from_slice(&16u16.to_le_bytes());
    data.extend_from_slice(&[0; 16]);
    data.extend_from_slice(&0x000cu16.to_le_bytes());
    data.extend_from_slice(&(identity.len() as u16).to_le_bytes());
    data.extend_from_slice(&identity);
    encapsulation(0x0063, 0, 0, *b"medsntry", &data)
}

fn encapsulation(
    command: u16,
    session: u32,
    status: u32,
    context: [u8; 8],
    data: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(&session.to_le_bytes());
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&context);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(data);
    out
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

/// Everything a caller might do with a payload, so that no path is left out of the no-panic tests.
fn exercise(bytes: &[u8]) {
    if let Ok(msg) = parse_snmp(bytes) {
        let _ = system_info(&msg);
    }
    let mut rest = bytes;
    while let Ok((msg, used)) = parse_message(rest) {
        if let Some(identity) = list_identity(&msg) {
            let _ = (identity.revision(), identity.vendor());
        }
        rest = &rest[used..];
    }
}

fn community(msg: &Message<'_>) -> String {
    String::from_utf8_lossy(msg.community.expect("community")).into_owned()
}

fn oids(msg: &Message<'_>) -> Vec<String> {
    msg.pdu.as_ref().map_or(Vec::new(), |p| {
        p.varbinds.iter().map(|vb| vb.oid.clone()).collect()
    })
}

// ---- SNMP, hand-built ----

#[test]
fn get_response_with_sys_descr_and_sys_name_gives_system_info() {
    let bytes = monitor_response();
    let msg = parse_snmp(&bytes).expect("snmp");
    assert_eq!(msg.version, Version::V2c);
    assert_eq!(msg.community, Some(&b"hospital-ro"[..]));
    let pdu = msg.pdu.as_ref().expect("pdu");
    assert_eq!(pdu.pdu_type, PduType::GET_RESPONSE);
    assert_eq!(pdu.pdu_type.name(), Some("response"));
    assert_eq!(
        (pdu.request_id, pdu.error_status, pdu.error_index),
        (0x1234_5678, 0, 0)
    );
    assert_eq!(error_status_name(pdu.error_status), Some("noError"));
    assert_eq!(pdu.varbinds.len(), 6);
    assert!(!pdu.truncated && pdu.trap.is_none());
    assert_eq!(pdu.varbinds[2].value, Value::TimeTicks(76_705_700));
    assert_eq!(
        system_info(&msg),
        SystemInfo {
            sys_descr: Some("IntelliVue MX800 Rev M.00.03 (network module)".into()),
            sys_object_id: Some("1.3.6.1.4.1.28730.1.7".into()),
            sys_contact: Some("biomed@hospital.example".into()),
            sys_name: Some("MX800-ICU-07".into()),
            sys_location: Some("ICU bed 7".into()),
        }
    );
}

#[test]
fn requests_and_sets_give_no_system_info() {
    let request = monitor_request();
    let msg = parse_snmp(&request).expect("snmp");
    let pdu = msg.pdu.as_ref().expect("pdu");
    assert_eq!(pdu.pdu_type.name(), Some("get_request"));
    assert!(pdu.varbinds.iter().all(|vb| vb.value == Value::Null));
    assert!(system_info(&msg).is_empty());
    // A SetRequest carries what the manager wants the name to be, not what it is.
    let set = message(
        0,
        b"private",
        0xa3,
        [7, 0, 0],
        &[varbind(snmp::oid::SYS_NAME, tlv(0x04, b"renamed"))],
    );
    let msg = parse_snmp(&set).expect("snmp");
    assert_eq!(msg.version, Version::V1);
    assert_eq!(
        msg.pdu.as_ref().expect("pdu").pdu_type,
        PduType::SET_REQUEST
    );
    assert!(system_info(&msg).is_empty());
    // A response whose values have the wrong type gives nothing either.
    let odd = message(
        1,
        b"public",
        0xa2,
        [1, 0, 0],
        &[
            varbind(snmp::oid::SYS_NAME, tlv(0x02, &[5])),
            varbind(snmp::oid::SYS_OBJECT_ID, tlv(0x04, b"1.3.6.1.4.1.9")),
            varbind(snmp::oid::SYS_DESCR, tlv(0x80, &[])),
            varbind(snmp::oid::SYS_CONTACT, tlv(0x04, b" \t ")),
        ],
    );
    assert!(system_info(&parse_snmp(&odd).expect("snmp")).is_empty());
}

#[test]
fn long_system_values_are_capped_at_a_character_boundary() {
    let descr = "\u{00e9}".repeat(MAX_TEXT);
    let bytes = message(
        1,
        b"public",
        0xa2,
        [1, 0, 0],
        &[varbind(snmp::oid::SYS_DESCR, tlv(0x04, descr.as_bytes()))],
    );
    let info = system_info(&parse_snmp(&bytes).expect("snmp"));
    let text = info.sys_descr.expect("sysDescr");
    assert_eq!(text.len(), MAX_TEXT);
    assert!(text.chars().all(|c| c == '\u{00e9}'));
}

#[test]
fn every_value_type_is_decoded() {
    let bytes = message(
        1,
        b"public",
        0xa2,
        [-1, 0, 0],
        &[
            varbind("1.3.6.1.2.1.2.1.0", tlv(0x02, &[0xff, 0x7f])),
            varbind("1.3.6.1.2.1.1.1.0", tlv(0x04, b"x")),
            varbind("1.3.6.1.2.1.1.9.0", tlv(0x05, &[])),
            varbind("1.3.6.1.2.1.1.2.0", tlv(0x06, &oid("1.3.6.1.4.1.9.1.516"))),
            varbind("1.3.6.1.2.1.4.20.1.1.1", tlv(0x40, &[10, 0, 0, 1])),
            varbind(
                "1.3.6.1.2.1.2.2.1.10.1",
                tlv(0x41, &[0x00, 0xff, 0xff, 0xff, 0xff]),
            ),
            varbind(
                "1.3.6.1.2.1.2.2.1.5.1",
                tlv(0x42, &[0x3b, 0x9a, 0xca, 0x00]),
            ),
            varbind("1.3.6.1.2.1.1.3.0", tlv(0x43, &[0x01])),
            varbind(
                "1.3.6.1.2.1.31.1.1.1.6.1",
                tlv(0x46, &[0x02, 0xef, 0x67, 0x5f, 0xa2]),
            ),
            varbind("1.3.6.1.2.1.1.10.0", tlv(0x80, &[])),
            varbind("1.3.6.1.2.1.1.11.0", tlv(0x81, &[])),
            varbind("1.3.6.1.2.1.1.12.0", tlv(0x82, &[])),
            varbind("1.3.6.1.4.1.1.1", tlv(0x44, b"opaque")),
            varbind("1.3.6.1.4.1.1.2", tlv(0x40, &[10, 0, 0])),
        ],
    );
    let msg = parse_snmp(&bytes).expect("snmp");
    let pdu = msg.pdu.expect("pdu");
    assert_eq!(pdu.request_id, -1);
    let values: Vec<Value<'_>> = pdu.varbinds.into_iter().map(|vb| vb.value).collect();
    assert_eq!(
        values,
        [
            Value::Integer(-129),
            Value::OctetString(b"x"),
            Value::Null,
            Value::ObjectId("1.3.6.1.4.1.9.1.516".into()),
            Value::IpAddress([10, 0, 0, 1]),
            Value::Counter32(u32::MAX),
            Value::Gauge32(1_000_000_000),
            Value::TimeTicks(1),
            Value::Counter64(12_606_463_906),
            Value::NoSuchObject,
            Value::NoSuchInstance,
            Value::EndOfMibView,
            Value::Other {
                tag: 0x44,
                bytes: b"opaque"
            },
            Value::Other {
                tag: 0x40,
                bytes: &[10, 0, 0]
            },
        ]
    );
}

#[test]
fn get_bulk_and_trap_layouts_are_read() {
    // GetBulkRequest: non-repeaters and max-repetitions sit where the error fields are.
    let bulk = message(
        1,
        b"public",
        0xa5,
        [99, 1, 25],
        &[varbind("1.3.6.1.2.1.2.2.1.2", tlv(0x05, &[]))],
    );
    let pdu = parse_snmp(&bulk).expect("snmp").pdu.expect("pdu");
    assert_eq!(pdu.pdu_type, PduType::GET_BULK_REQUEST);
    assert_eq!(pdu.pdu_type.name(), Some("get_bulk_request"));
    assert_eq!((pdu.error_status, pdu.error_index), (1, 25));

    let trap = trap_v1();
    let msg = parse_snmp(&trap).expect("snmp");
    let pdu = msg.pdu.expect("pdu");
    assert_eq!(pdu.pdu_type.name(), Some("trap_v1"));
    let header = pdu.trap.expect("trap header");
    assert_eq!(header.enterprise, "1.3.6.1.6.3.1.1.5");
    assert_eq!(header.agent_addr, Some([10, 1, 30, 1]));
    assert_eq!((header.generic_trap, header.specific_trap), (2, 0));
    assert_eq!(header.time_stamp, 239_244);
    assert_eq!(pdu.varbinds[0].value, Value::OctetString(b"Ethernet0/1"));

    // The other PDU types keep their names; an unknown tag number survives as a number.
    for (tag, name) in [
        (0xa1, "get_next_request"),
        (0xa6, "inform_request"),
        (0xa7, "trap_v2"),
        (0xa8, "report"),
    ] {
        let msg = message(1, b"public", tag, [1, 0, 0], &[]);
        let pdu = parse_snmp(&msg).expect("snmp").pdu.expect("pdu");
        assert_eq!(pdu.pdu_type.name(), Some(name));
        assert!(pdu.varbinds.is_empty());
    }
    let odd = message(1, b"public", 0xa9, [1, 0, 0], &[]);
    let pdu = parse_snmp(&odd).expect("snmp").pdu.expect("pdu");
    assert_eq!((pdu.pdu_type, pdu.pdu_type.name()), (PduType(9), None));
}

#[test]
fn v3_is_recognised_and_not_decoded() {
    let bytes = v3_message();
    let msg = parse_snmp(&bytes).expect("snmp");
    assert_eq!(
        msg,
        Message {
            version: Version::V3,
            community: None,
            pdu: None
        }
    );
    assert_eq!(msg.version.as_str(), "v3");
    assert!(system_info(&msg).is_empty());
}

#[test]
fn what_is_not_snmp_is_an_error() {
    assert_eq!(parse_snmp(b""), Err(SnmpError::Truncated));
    assert_eq!(
        parse_snmp(b"\x16\x03\x01\x00\x05hello"),
        Err(SnmpError::NotSnmp)
    );
    assert_eq!(parse_snmp(b"GET / HTTP/1.1\r\n"), Err(SnmpError::NotSnmp));
    // Version 2 (the historic SNMPv2p) is not one we read.
    let v2p = message(2, b"public", 0xa0, [1, 0, 0], &[]);
    assert_eq!(parse_snmp(&v2p), Err(SnmpError::UnknownVersion(2)));
    // Indefinite lengths and lengths of more than 4 octets are refused.
    let mut indefinite = monitor_request();
    indefinite[1] = 0x80;
    assert_eq!(parse_snmp(&indefinite), Err(SnmpError::IndefiniteLength));
    assert_eq!(
        parse_snmp(&[0x30, 0x85, 0, 0, 0, 0, 3, 2, 1, 0]),
        Err(SnmpError::BadLength)
    );
    // The community must be an OCTET STRING and the PDU a context-specific constructed element.
    let bad_community = tlv(0x30, &[tlv(0x02, &[1]), tlv(0x02, &[1])].concat());
    assert_eq!(
        parse_snmp(&bad_community),
        Err(SnmpError::Malformed("community"))
    );
    let bad_pdu = tlv(
        0x30,
        &[tlv(0x02, &[1]), tlv(0x04, b"x"), tlv(0x30, &[])].concat(),
    );
    assert_eq!(parse_snmp(&bad_pdu), Err(SnmpError::Malformed("pdu")));
    // An inner length that overruns its parent is cut short even though the datagram is long.
    let mut overrun = tlv(0x30, &[0x02, 0x01, 0x01, 0x04, 0x20, b'p', b'u', b'b']);
    overrun.extend_from_slice(&[0; 64]);
    assert_eq!(parse_snmp(&overrun), Err(SnmpError::Truncated));
    // Errors read as lowercase messages naming the thing.
    assert_eq!(
        SnmpError::Malformed("community").to_string(),
        "snmp message has a malformed community"
    );
}

#[test]
fn bindings_stop_at_the_first_bad_one_or_the_cap() {
    let bytes = message(
        1,
        b"public",
        0xa2,
        [1, 0, 0],
        &[
            varbind(snmp::oid::SYS_NAME, tlv(0x04, b"kept")),
            // A binding whose name is not an OID.
            tlv(0x30, &[tlv(0x04, b"name"), tlv(0x05, &[])].concat()),
            varbind(snmp::oid::SYS_LOCATION, tlv(0x04, b"not reached")),
        ],
    );
    let msg = parse_snmp(&bytes).expect("snmp");
    let pdu = msg.pdu.as_ref().expect("pdu");
    assert_eq!(oids(&msg), [snmp::oid::SYS_NAME]);
    assert!(pdu.truncated);
    assert_eq!(system_info(&msg).sys_name.as_deref(), Some("kept"));

    // 300 bindings: the list needs a two-octet long-form length; 256 are read.
    let many: Vec<Vec<u8>> = (0..300)
        .map(|i| varbind(&format!("1.3.6.1.4.1.{i}"), tlv(0x05, &[])))
        .collect();
    let bytes = message(1, b"public", 0xa0, [1, 0, 0], &many);
    let msg = parse_snmp(&bytes).expect("snmp");
    let pdu = msg.pdu.as_ref().expect("pdu");
    assert_eq!(pdu.varbinds.len(), MAX_VARBINDS);
    assert!(pdu.truncated);
    assert_eq!(pdu.varbinds[255].oid, "1.3.6.1.4.1.255");
}

#[test]
fn non_minimal_long_form_lengths_are_accepted() {
    // Some embedded agents send every length as 0x82 and two octets.
    let value = b"pump";
    let mut vb_inner = tlv(0x06, &oid(snmp::oid::SYS_NAME));
    vb_inner.extend_from_slice(&[0x04, 0x82, 0x00, value.len() as u8]);
    vb_inner.extend_from_slice(value);
    let mut list = vec![0x30, 0x84, 0, 0, 0, vb_inner.len() as u8];
    list.extend_from_slice(&vb_inner);
    let mut pdu = [tlv(0x02, &[1]), tlv(0x02, &[0]), tlv(0x02, &[0])].concat();
    pdu.extend_from_slice(&[0x30, 0x81, list.len() as u8]);
    pdu.extend_from_slice(&list);
    let body = [tlv(0x02, &[0]), tlv(0x04, b"public"), tlv(0xa2, &pdu)].concat();
    let bytes = tlv(0x30, &body);
    let msg = parse_snmp(&bytes).expect("snmp");
    assert_eq!(system_info(&msg).sys_name.as_deref(), Some("pump"));
}

#[test]
fn every_prefix_of_a_valid_snmp_message_is_an_error_and_the_whole_is_read() {
    for whole in [
        monitor_response(),
        monitor_request(),
        trap_v1(),
        v3_message(),
    ] {
        assert!(parse_snmp(&whole).is_ok());
        for n in 0..whole.len() {
            assert!(parse_snmp(&whole[..n]).is_err(), "prefix of {n} bytes");
        }
    }
}

// ---- EtherNet/IP, hand-built ----

#[test]
fn list_identity_reply_is_read() {
    let bytes = identity_reply(b"CJ2M-CPU31", true);
    let (msg, used) = parse_message(&bytes).expect("enip");
    assert_eq!(used, bytes.len());
    assert_eq!(msg.header.command, Command::LIST_IDENTITY);
    assert_eq!(msg.header.command.name(), Some("ListIdentity"));
    assert_eq!(msg.header.sender_context, *b"medsntry");
    assert_eq!(status_name(msg.header.status), Some("success"));
    let identity = list_identity(&msg).expect("identity");
    assert_eq!(
        identity,
        Identity {
            protocol_version: 1,
            socket_family: 2,
            socket_addr: SocketAddrV4::new(Ipv4Addr::new(192, 168, 250, 1), 44818),
            vendor_id: 47,
            device_type: 0x0e,
            product_code: 1650,
            revision_major: 2,
            revision_minor: 1,
            status: 0x0034,
            serial_number: 0x0123_4567,
            product_name: "CJ2M-CPU31".into(),
            state: Some(3),
        }
    );
    assert_eq!(identity.revision(), "2.1");
    assert_eq!(identity.vendor(), "Omron Corporation");
    assert_eq!(
        device_type_name(identity.device_type),
        Some("Programmable Logic Controller")
    );
}

#[test]
fn short_identity_items_keep_what_is_there() {
    // No state octet.
    let bytes = identity_reply(b"1769-L33ER", false);
    let (msg, _) = parse_message(&bytes).expect("enip");
    let identity = list_identity(&msg).expect("identity");
    assert_eq!(
        (identity.product_name.as_str(), identity.state),
        ("1769-L33ER", None)
    );

    // A name length running past the item: the name is cut to what is there.
    let mut bytes = identity_reply(b"ABCDEF", false);
    let name_len_at = bytes.len() - 7;
    bytes[name_len_at] = 200;
    let (msg, _) = parse_message(&bytes).expect("enip");
    let identity = list_identity(&msg).expect("identity");
    assert_eq!(
        (identity.product_name.as_str(), identity.state),
        ("ABCDEF", None)
    );

    // An item shorter than the fixed part is no identity; neither is a reply with no items.
    let empty = encapsulation(0x0063, 0, 0, [0; 8], &[1, 0, 0x0c, 0, 4, 0, 1, 0, 0, 2]);
    assert_eq!(list_identity(&parse_message(&empty).expect("enip").0), None);
    let none = encapsulation(0x0063, 0, 0, [0; 8], &[0, 0]);
    assert_eq!(list_identity(&parse_message(&none).expect("enip").0), None);
    // The request has no data; other commands are not looked into.
    let request = encapsulation(0x0063, 0, 0, [0; 8], &[]);
    assert_eq!(
        list_identity(&parse_message(&request).expect("enip").0),
        None
    );
    let mut other = identity_reply(b"x", true);
    other[0] = 0x64;
    assert_eq!(list_identity(&parse_message(&other).expect("enip").0), None);
}

#[test]
fn headers_name_their_commands_and_unknown_ones_survive() {
    let names = [
        (0x0000, "NOP"),
        (0x0004, "ListServices"),
        (0x0063, "ListIdentity"),
        (0x0064, "ListInterfaces"),
        (0x0065, "RegisterSession"),
        (0x0066, "UnRegisterSession"),
        (0x006f, "SendRRData"),
        (0x0070, "SendUnitData"),
        (0x0072, "IndicateStatus"),
        (0x0073, "Cancel"),
    ];
    for (code, name) in names {
        assert_eq!(Command(code).name(), Some(name));
    }
    assert_eq!(Command::SEND_RR_DATA.name(), Some("SendRRData"));
    let register = encapsulation(
        0x0065,
        0x1002_0100,
        0x0069,
        [1, 2, 3, 4, 5, 6, 7, 8],
        &[1, 0, 0, 0],
    );
    let (msg, used) = parse_message(&register).expect("enip");
    assert_eq!(used, HEADER_LEN + 4);
    assert_eq!(msg.header.command, Command::REGISTER_SESSION);
    assert_eq!(msg.header.length, 4);
    assert_eq!(msg.header.session_handle, 0x1002_0100);
    assert_eq!(status_name(msg.header.status), Some("unsupported_prot_rev"));
    assert_eq!(msg.data, [1, 0, 0, 0]);
    let odd = encapsulation(0x1234, 0, 7, [0; 8], b"??");
    let (msg, _) = parse_message(&odd).expect("enip");
    assert_eq!(
        (msg.header.command, msg.header.command.name()),
        (Command(0x1234), None)
    );
    assert_eq!(status_name(msg.header.status), None);
}

#[test]
fn a_stream_buffer_is_read_message_by_message() {
    let mut stream = encapsulation(0x0065, 0, 0, [0; 8], &[1, 0, 0, 0]);
    stream.extend(identity_reply(b"CJ2M", true));
    stream.extend(encapsulation(0x0066, 9, 0, [0; 8], &[]));
    let mut commands = Vec::new();
    let mut rest = stream.as_slice();
    while !rest.is_empty() {
        let (msg, used) = parse_message(rest).expect("enip");
        commands.push(msg.header.command.name().expect("known"));
        rest = &rest[used..];
    }
    assert_eq!(
        commands,
        ["RegisterSession", "ListIdentity", "UnRegisterSession"]
    );
    // A half-received message says how much more it needs.
    assert_eq!(
        parse_message(&stream[..10]).err(),
        Some(EnipError::Incomplete { needed: 14 })
    );
    assert_eq!(
        parse_message(&stream[..HEADER_LEN + 1]).err(),
        Some(EnipError::Incomplete { needed: 3 })
    );
    // A length over the protocol's limit is refused at once.
    let mut long = encapsulation(0x006f, 0, 0, [0; 8], &[]);
    long[2..4].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(
        parse_message(&long).err(),
        Some(EnipError::TooLong(u16::MAX))
    );
    assert_eq!(MAX_DATA_LEN, 65511);
}

#[test]
fn vendor_and_device_type_tables() {
    assert_eq!(vendor_name(1), Some("Rockwell Automation/Allen-Bradley"));
    assert_eq!(vendor_name(108), Some("Beckhoff Automation GmbH"));
    assert_eq!(vendor_name(40_000), None);
    assert_eq!(device_type_name(0x0c), Some("Communications Adapter"));
    assert_eq!(device_type_name(0x02), Some("AC Drive Device"));
    assert_eq!(device_type_name(0x2b), Some("Generic Device (keyable)"));
    assert_eq!(device_type_name(0x7fff), None);
    // Unknown vendors stay numbers.
    let mut bytes = identity_reply(b"x", true);
    let vendor_at = bytes.len() - 1 - 1 - 1 - 4 - 2 - 2 - 2 - 2 - 2;
    bytes[vendor_at..vendor_at + 2].copy_from_slice(&40_000u16.to_le_bytes());
    let identity = list_identity(&parse_message(&bytes).expect("enip").0).expect("identity");
    assert_eq!(
        (identity.vendor_id, identity.vendor()),
        (40_000, "40000".into())
    );
}

#[test]
fn every_prefix_of_a_valid_enip_message_is_incomplete_and_the_whole_is_read() {
    for whole in [
        identity_reply(b"CJ2M-CPU31", true),
        encapsulation(0x0063, 0, 0, [0; 8], &[]),
        encapsulation(0x0065, 0, 0, [0; 8], &[1, 0, 0, 0]),
    ] {
        assert_eq!(parse_message(&whole).expect("enip").1, whole.len());
        for n in 0..whole.len() {
            assert_eq!(
                parse_message(&whole[..n]).err(),
                // Until the header is whole, only the header's missing bytes are known.
                Some(EnipError::Incomplete {
                    needed: if n < HEADER_LEN {
                        HEADER_LEN - n
                    } else {
                        whole.len() - n
                    }
                }),
                "prefix of {n} bytes"
            );
        }
    }
}

// ---- no panics ----

#[test]
fn random_bytes_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let seeds = [
        monitor_response(),
        monitor_request(),
        trap_v1(),
        v3_message(),
        identity_reply(b"CJ2M-CPU31", true),
    ];
    for _ in 0..20_000 {
        // Pure noise, sometimes starting like a BER SEQUENCE so the decoder gets past the first byte.
        let len = rng.below(300);
        let mut noise: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 && !noise.is_empty() {
            noise[0] = 0x30;
        }
        exercise(&noise);
        // A valid message with a few bytes changed, cut or not.
        let mut mutated = seeds[rng.below(seeds.len())].clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(mutated.len());
            mutated[at] = rng.next() as u8;
        }
        let cut = rng.below(mutated.len() + 1);
        exercise(&mutated[..cut]);
        exercise(&mutated);
    }
}

// ---- the corpus ----

/// SNMPv2c_get_requests.pcap (packetlife.net): one manager polling a Cisco agent, four requests and
/// their responses. Suricata's `test.yaml`: 8 `snmp` events with `snmp.version: 2` (Suricata counts
/// v2c as 2; ours is `Version::V2c`, wire value 1); 3 with `snmp.pdu_type: get_request` and
/// `snmp.community: "[R0_C@cti!]"` (`PduType::name()` and `Message::community`); 1
/// `get_next_request` whose `snmp.vars` is `["0.1"]` (`VarBind::oid`).
#[test]
fn snmp_v2c_get_requests_match_suricata_and_tshark() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = corpus_file(
        &corpus,
        "suricata-verify/snmp-v2c-get/SNMPv2c_get_requests.pcap",
    );
    let datagrams = snmp_payloads(&path);
    let messages: Vec<(u64, Message<'_>)> = datagrams
        .iter()
        .map(|d| (d.frame, parse_snmp(&d.bytes).expect("snmp")))
        .collect();
    // Suricata's three checks.
    assert_eq!(messages.len(), 8);
    assert!(messages.iter().all(|(_, m)| m.version == Version::V2c));
    let of_type = |name: &str| -> Vec<&Message<'_>> {
        messages
            .iter()
            .map(|(_, m)| m)
            .filter(|m| m.pdu.as_ref().and_then(|p| p.pdu_type.name()) == Some(name))
            .collect()
    };
    let gets = of_type("get_request");
    assert_eq!(gets.len(), 3);
    assert!(gets.iter().all(|m| community(m) == "[R0_C@cti!]"));
    let next = of_type("get_next_request");
    assert_eq!(next.len(), 1);
    assert_eq!(community(next[0]), "[R0_C@cti!]");
    assert_eq!(oids(next[0]), ["0.1"]);

    // Checked against tshark 4.0.17 (`-e frame.number -e snmp.data -e snmp.request_id -e snmp.name
    // -e snmp.value.int -e snmp.value.timeticks -e snmp.value.counter`).
    let expected: [(u64, PduType, i64, &str, Value<'_>); 8] = [
        (
            1,
            PduType::GET_NEXT_REQUEST,
            722_681_733,
            "0.1",
            Value::Null,
        ),
        (
            2,
            PduType::GET_RESPONSE,
            722_681_733,
            "1.0.8802.1.1.1.1.1.1.0",
            Value::Integer(2),
        ),
        (
            3,
            PduType::GET_REQUEST,
            555_232_471,
            "1.3.6.1.2.1.1.3.0",
            Value::Null,
        ),
        (
            4,
            PduType::GET_RESPONSE,
            555_232_471,
            "1.3.6.1.2.1.1.3.0",
            Value::TimeTicks(76_705_700),
        ),
        (
            5,
            PduType::GET_REQUEST,
            349_867_006,
            "1.3.6.1.2.1.31.1.1.1.10.1",
            Value::Null,
        ),
        (
            6,
            PduType::GET_RESPONSE,
            349_867_006,
            "1.3.6.1.2.1.31.1.1.1.10.1",
            Value::Counter64(2_232_821_312),
        ),
        (
            7,
            PduType::GET_REQUEST,
            107_891_391,
            "1.3.6.1.2.1.31.1.1.1.6.1",
            Value::Null,
        ),
        (
            8,
            PduType::GET_RESPONSE,
            107_891_391,
            "1.3.6.1.2.1.31.1.1.1.6.1",
            Value::Counter64(12_606_463_906),
        ),
    ];
    for ((frame, msg), (want_frame, pdu_type, request_id, name, value)) in
        messages.iter().zip(expected)
    {
        assert_eq!(*frame, want_frame);
        let pdu = msg.pdu.as_ref().expect("pdu");
        assert_eq!(
            (
                pdu.pdu_type,
                pdu.request_id,
                pdu.error_status,
                pdu.error_index
            ),
            (pdu_type, request_id, 0, 0),
            "frame {frame}"
        );
        assert_eq!(pdu.varbinds.len(), 1, "frame {frame}");
        assert_eq!(pdu.varbinds[0].oid, name, "frame {frame}");
        assert_eq!(pdu.varbinds[0].value, value, "frame {frame}");
        // A poll of counters is no system group evidence.
        assert!(system_info(msg).is_empty());
    }
    for d in &datagrams {
        for n in 0..d.bytes.len() {
            assert!(
                parse_snmp(&d.bytes[..n]).is_err(),
                "frame {} prefix {n}",
                d.frame
            );
        }
    }
}

/// nDPI's snmp.pcap: v1 and v2c system group polls (sysName, sysContact, sysLocation; no sysDescr
/// anywhere in the corpus), v3 exchanges, v1 and v2c traps, and a Cisco agent answering 62-binding
/// requests. Counts and values checked against tshark 4.0.17.
#[test]
fn ndpi_snmp_capture_gives_system_info_communities_and_traps() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = corpus_file(&corpus, "ndpi/snmp.pcap");
    let datagrams = snmp_payloads(&path);
    assert_eq!(datagrams.len(), 72);
    let mut versions = BTreeMap::new();
    let mut pdu_types = BTreeMap::new();
    let mut communities = BTreeMap::new();
    let mut info = SystemInfo::default();
    let mut by_frame = BTreeMap::new();
    for d in &datagrams {
        let msg = parse_snmp(&d.bytes).unwrap_or_else(|e| panic!("frame {}: {e}", d.frame));
        *versions.entry(msg.version.as_str()).or_insert(0) += 1;
        if let Some(pdu) = &msg.pdu {
            assert!(!pdu.truncated, "frame {}", d.frame);
            *pdu_types.entry(pdu.pdu_type.0).or_insert(0) += 1;
            *communities.entry(community(&msg)).or_insert(0) += 1;
        }
        // Every response in the capture comes from the agent port.
        let got = system_info(&msg);
        if !got.is_empty() {
            assert_eq!(d.src_port, 161, "frame {}", d.frame);
        }
        for (slot, value) in [
            (&mut info.sys_descr, got.sys_descr),
            (&mut info.sys_object_id, got.sys_object_id),
            (&mut info.sys_contact, got.sys_contact),
            (&mut info.sys_name, got.sys_name),
            (&mut info.sys_location, got.sys_location),
        ] {
            if value.is_some() {
                *slot = value;
            }
        }
        by_frame.insert(d.frame, msg);
    }
    // tshark: `snmp.version` 0 ten times and 1 twenty times, `snmp.msgVersion` 3 forty-two times.
    assert_eq!(
        versions,
        BTreeMap::from([("v1", 10), ("v2c", 20), ("v3", 42)])
    );
    // tshark `snmp.data` of the v1 and v2c frames: 7 get-request, 4 get-next-request, 15
    // get-response, 2 trap (v1), 2 snmpV2-trap.
    assert_eq!(
        pdu_types,
        BTreeMap::from([(0, 7), (1, 4), (2, 15), (4, 2), (7, 2)])
    );
    assert_eq!(
        communities,
        BTreeMap::from([
            ("adsl".to_string(), 4),
            ("public".to_string(), 24),
            ("public2c".to_string(), 2)
        ])
    );
    assert_eq!(
        info,
        SystemInfo {
            sys_descr: None,
            sys_object_id: None,
            sys_contact: Some("nick@globomantics.com".into()),
            sys_name: Some("R1.lab.local".into()),
            sys_location: Some("GlobomanticsHQ".into()),
        }
    );
    // Frame 2 answers a GetNext for sysName with sysLocation, the next object.
    let frame2 = system_info(&by_frame[&2]);
    assert_eq!(frame2.sys_location.as_deref(), Some("GlobomanticsHQ"));
    assert_eq!(frame2.sys_name, None);

    // Frame 55: v1 linkDown trap (tshark `snmp.enterprise`, `snmp.agent_addr`, `snmp.generic_trap`,
    // `snmp.specific_trap`, `snmp.time_stamp`).
    let pdu = by_frame[&55].pdu.as_ref().expect("pdu");
    let trap = pdu.trap.as_ref().expect("trap");
    assert_eq!(trap.enterprise, "1.3.6.1.6.3.1.1.5");
    assert_eq!(trap.agent_addr, Some([10, 1, 30, 1]));
    assert_eq!(
        (trap.generic_trap, trap.specific_trap, trap.time_stamp),
        (2, 0, 239_244)
    );
    assert_eq!(pdu.varbinds[1].value, Value::OctetString(b"Ethernet0/1"));
    assert_eq!(
        pdu.varbinds[3].value,
        Value::OctetString(b"administratively down")
    );
    // Frame 53: the same event as a v2c trap, with snmpTrapOID.0 = linkDown.
    let pdu = by_frame[&53].pdu.as_ref().expect("pdu");
    assert_eq!(pdu.pdu_type, PduType::SNMPV2_TRAP);
    assert_eq!(pdu.varbinds[0].value, Value::TimeTicks(212_933));
    assert_eq!(
        pdu.varbinds[1].value,
        Value::ObjectId("1.3.6.1.6.3.1.1.5.3".into())
    );
    // Frame 63: error-status 19, which RFC 3416 does not define, is kept as sent.
    let pdu = by_frame[&63].pdu.as_ref().expect("pdu");
    assert_eq!((pdu.error_status, pdu.error_index), (19, 1));
    assert_eq!(error_status_name(pdu.error_status), None);
    // Frame 66: a 1143-byte GetRequest of 62 bindings (two-octet lengths); frame 67 answers tooBig
    // with none.
    let pdu = by_frame[&66].pdu.as_ref().expect("pdu");
    assert_eq!(pdu.varbinds.len(), 62);
    assert_eq!(pdu.varbinds[61].oid, "1.3.6.1.2.1.31.1.1.1.6.82");
    let pdu = by_frame[&67].pdu.as_ref().expect("pdu");
    assert_eq!(error_status_name(pdu.error_status), Some("tooBig"));
    assert!(pdu.varbinds.is_empty());
}

/// For every SNMP frame of both captures: community, binding names and octet-string values as
/// tshark shows them (`snmp.community`, `snmp.name`, `snmp.value.octets`).
#[test]
fn snmp_matches_tshark_frame_by_frame() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    for rel in [
        "suricata-verify/snmp-v2c-get/SNMPv2c_get_requests.pcap",
        "ndpi/snmp.pcap",
    ] {
        let path = corpus_file(&corpus, rel);
        let out = Process::new(tshark)
            .arg("-r")
            .arg(&path)
            .args(["-Y", "snmp", "-T", "fields", "-E", "separator=/t"])
            .args(["-E", "occurrence=a", "-E", "aggregator=,"])
            .args(["-e", "frame.number", "-e", "snmp.community"])
            .args(["-e", "snmp.name", "-e", "snmp.value.octets"])
            .output()
            .expect("run tshark");
        let theirs: BTreeMap<u64, (String, String, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| {
                let cells: Vec<&str> = line.split('\t').collect();
                let cell = |i: usize| cells.get(i).copied().unwrap_or("").to_string();
                (cell(0).parse().expect("frame"), (cell(1), cell(2), cell(3)))
            })
            .collect();
        let datagrams = snmp_payloads(&path);
        assert_eq!(datagrams.len(), theirs.len(), "{rel}");
        for d in &datagrams {
            let msg = parse_snmp(&d.bytes).expect("snmp");
            if msg.version == Version::V3 {
                // tshark decodes the plaintext scoped PDU of a noAuthNoPriv v3 message; we do not
                // look past the version. It shows no community either.
                assert!(theirs[&d.frame].0.is_empty(), "{rel} frame {}", d.frame);
                continue;
            }
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            let octets: Vec<String> = msg.pdu.as_ref().map_or(Vec::new(), |p| {
                p.varbinds
                    .iter()
                    .filter_map(|vb| match vb.value {
                        Value::OctetString(s) => Some(hex(s)),
                        _ => None,
                    })
                    .collect()
            });
            let ours = (
                msg.community
                    .map_or(String::new(), |c| String::from_utf8_lossy(c).into_owned()),
                oids(&msg).join(","),
                octets.join(","),
            );
            assert_eq!(ours, theirs[&d.frame], "{rel} frame {}", d.frame);
        }
    }
}

/// enip_test1.pcap (Suricata issue 3886): one ListIdentity over TCP to a ControlLogix Ethernet
/// module. Suricata's `test.yaml`: `enip.request.command: list_identity` (`Command::LIST_IDENTITY`),
/// `enip.response.status: success` (`status_name`), `enip.response.identity.revision: "4.3"`
/// (`Identity::revision`), `product_name: "1756-ENBT/A"`, `vendor_id: "Rockwell
/// Automation/Allen-Bradley"` (`Identity::vendor`). The other values were checked against tshark
/// 4.0.17 (`tshark -V`: `enip.lir.*` fields).
#[test]
fn enip_list_identity_matches_suricata_and_tshark() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = corpus_file(&corpus, "suricata-verify/enip-log-identity/enip_test1.pcap");
    let messages = enip_stream_messages(&path);
    assert_eq!(messages.len(), 2);
    let (dir, request) = &messages[0];
    assert_eq!(*dir, Direction::ToServer);
    let (request, _) = parse_message(request).expect("enip");
    assert_eq!(request.header.command, Command::LIST_IDENTITY);
    assert_eq!(
        (request.header.length, request.header.session_handle),
        (0, 0)
    );
    assert_eq!(list_identity(&request), None);
    let (dir, response) = &messages[1];
    assert_eq!(*dir, Direction::ToClient);
    let (response, _) = parse_message(response).expect("enip");
    assert_eq!(response.header.command.name(), Some("ListIdentity"));
    assert_eq!(status_name(response.header.status), Some("success"));
    assert_eq!(response.header.length, 51);
    // The reply echoes the request's sender context (tshark: 00000000c1debed1).
    assert_eq!(
        response.header.sender_context,
        [0, 0, 0, 0, 0xc1, 0xde, 0xbe, 0xd1]
    );
    assert_eq!(
        response.header.sender_context,
        request.header.sender_context
    );
    let identity = list_identity(&response).expect("identity");
    assert_eq!(identity.revision(), "4.3");
    assert_eq!(identity.product_name, "1756-ENBT/A");
    assert_eq!(identity.vendor(), "Rockwell Automation/Allen-Bradley");
    assert_eq!(
        identity,
        Identity {
            protocol_version: 1,
            socket_family: 2,
            socket_addr: SocketAddrV4::new(Ipv4Addr::new(10, 1, 1, 164), 44818),
            vendor_id: 1,
            device_type: 12,
            product_code: 58,
            revision_major: 4,
            revision_minor: 3,
            status: 0x0030,
            serial_number: 0x0052_4d8e,
            product_name: "1756-ENBT/A".into(),
            state: Some(3),
        }
    );
    assert_eq!(
        device_type_name(identity.device_type),
        Some("Communications Adapter")
    );
    // The same bytes read per TCP segment, as a UDP reader would see them.
    let segments = payloads(&path, enip::PORT);
    assert_eq!(segments.iter().map(|s| s.frame).collect::<Vec<_>>(), [4, 6]);
    for s in &segments {
        assert_eq!(parse_message(&s.bytes).expect("enip").1, s.bytes.len());
        for n in 0..s.bytes.len() {
            assert!(matches!(
                parse_message(&s.bytes[..n]),
                Err(EnipError::Incomplete { .. })
            ));
        }
    }
}

/// nDPI's ethernetIP.pcap: four explicit-messaging sessions picked up mid-stream. tshark 4.0.17
/// finds 75 encapsulation messages (`enip.command`): 71 SendUnitData and 4 SendRRData, up to 7 in one
/// segment (frame 3), none of them a ListIdentity.
#[test]
fn ndpi_ethernet_ip_streams_split_into_labelled_messages() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = corpus_file(&corpus, "ndpi/ethernetIP.pcap");
    let mut commands = BTreeMap::new();
    let mut sessions = std::collections::BTreeSet::new();
    for (_, bytes) in enip_stream_messages(&path) {
        let (msg, _) = parse_message(&bytes).expect("enip");
        assert_eq!(msg.header.status, 0);
        assert_eq!(list_identity(&msg), None);
        *commands
            .entry(msg.header.command.name().expect("known"))
            .or_insert(0) += 1;
        sessions.insert(msg.header.session_handle);
    }
    assert_eq!(
        commands,
        BTreeMap::from([("SendRRData", 4), ("SendUnitData", 71)])
    );
    // tshark `enip.session`: one handle per connection, shared by the two to 141.81.0.83 and .23.
    assert_eq!(
        sessions,
        [0x1002_0100, 0x1002_0400, 0x1302_0500]
            .into_iter()
            .collect()
    );
    // Per segment, as tshark shows them: frame 3 holds seven messages back to back.
    let frame3 = payloads(&path, enip::PORT)
        .into_iter()
        .find(|p| p.frame == 3)
        .expect("frame 3");
    let mut lengths = Vec::new();
    let mut rest = frame3.bytes.as_slice();
    while !rest.is_empty() {
        let (msg, used) = parse_message(rest).expect("enip");
        lengths.push(msg.header.length);
        rest = &rest[used..];
    }
    assert_eq!(lengths, [44, 58, 44, 170, 226, 44, 450]);
}
