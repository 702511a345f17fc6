//! DNS, mDNS and DNS-SD messages (RFC 1035, RFC 6762, RFC 6763) read from one UDP payload, for the
//! identity evidence they carry: names asked for and answered, their addresses, and the services a
//! device announces (`_dicom._tcp`, `_ipp._tcp`) with their TXT attributes (`model=...`).
//!
//! The reader is lenient: it keeps every question and record it could read and stops at the first one
//! it cannot (cut short, a bad name, over a cap). Names follow compression pointers with loop
//! protection. No input makes it panic, and every count and length the sender controls is capped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Most questions, and most records over all three sections, kept from one message.
pub const MAX_ENTRIES: usize = 256;
/// Longest text kept from a name or a TXT character-string, in bytes (UTF-8, cut at a character
/// boundary). Names are at most 255 bytes on the wire, so only names with invalid UTF-8 reach it.
pub const MAX_TEXT: usize = 255;
/// Longest name on the wire, length octets included (RFC 1035 section 3.1).
const MAX_NAME_WIRE: usize = 255;
/// Labels plus compression pointers followed while reading one name: a pointer loop ends here.
const MAX_NAME_STEPS: usize = 128;
/// Most character-strings kept from one TXT record.
const MAX_TXT_STRINGS: usize = 64;

/// Record and question types that this module names; any other value is kept as a number.
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const PTR: u16 = 12;
    pub const HINFO: u16 = 13;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const OPT: u16 = 41;
    pub const NSEC: u16 = 47;
    pub const ANY: u16 = 255;
}

/// The section a resource record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Answer,
    Authority,
    Additional,
}

/// One DNS message: the header fields that matter for identity, the questions, and the records of
/// all three sections in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    /// QR bit: a response (or an mDNS announcement) rather than a query.
    pub response: bool,
    pub opcode: u8,
    /// The 4-bit header RCODE (3 NXDOMAIN, 5 REFUSED); EDNS extended bits are not merged in.
    pub rcode: u8,
    /// Question name and QTYPE. For mDNS the unicast-response bit lives in the class and is dropped.
    pub questions: Vec<(String, u16)>,
    /// Answer, authority and additional records, each tagged with its section.
    pub answers: Vec<Record>,
    /// Reading stopped before every question and record the header announced was read: the message
    /// was cut short, held a bad name or record, or went over [`MAX_ENTRIES`].
    pub truncated: bool,
}

/// One resource record. Names are dotted, without the final dot; the root is the empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    pub ttl: u32,
    pub data: RData,
    pub section: Section,
}

/// Record data of the types that identify devices; everything else is `Other(rtype)`. A record of a
/// decoded type whose data does not decode (an A record of 3 bytes, a PTR with a bad name) is also
/// `Other`: the record framing was sound, so reading goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A([u8; 4]),
    Aaaa([u8; 16]),
    Ptr(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// Each character-string, decoded as UTF-8 lossily.
    Txt(Vec<String>),
    Cname(String),
    Other(u16),
}

/// Reads one DNS message (a UDP payload; over TCP, strip the 2-byte length first). `None` only when
/// the payload cannot hold the 12-byte header; otherwise whatever could be read, with
/// [`DnsMessage::truncated`] saying whether reading stopped early.
pub fn parse_dns(payload: &[u8]) -> Option<DnsMessage> {
    let header = payload.get(..12)?;
    let count = |i: usize| usize::from(u16::from_be_bytes([header[i], header[i + 1]]));
    let mut msg = DnsMessage {
        id: u16::from_be_bytes([header[0], header[1]]),
        response: header[2] & 0x80 != 0,
        opcode: (header[2] >> 3) & 0x0f,
        rcode: header[3] & 0x0f,
        questions: Vec::new(),
        answers: Vec::new(),
        truncated: false,
    };
    let mut pos = 12;
    for _ in 0..count(4) {
        if msg.questions.len() == MAX_ENTRIES {
            msg.truncated = true;
            return Some(msg);
        }
        let Some((name, end)) = read_name(payload, pos) else {
            msg.truncated = true;
            return Some(msg);
        };
        let Some(fixed) = payload.get(end..end + 4) else {
            msg.truncated = true;
            return Some(msg);
        };
        msg.questions
            .push((name, u16::from_be_bytes([fixed[0], fixed[1]])));
        pos = end + 4;
    }
    let sections = [
        (Section::Answer, count(6)),
        (Section::Authority, count(8)),
        (Section::Additional, count(10)),
    ];
    for (section, n) in sections {
        for _ in 0..n {
            if msg.answers.len() == MAX_ENTRIES {
                msg.truncated = true;
                return Some(msg);
            }
            let Some((record, end)) = read_record(payload, pos, section) else {
                msg.truncated = true;
                return Some(msg);
            };
            msg.answers.push(record);
            pos = end;
        }
    }
    Some(msg)
}

/// One DNS-SD service instance (or, with an empty `instance`, a bare service type from a
/// `_services._dns-sd._udp` enumeration), gathered from the PTR, SRV, TXT and address records of one
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// `_service._proto`, e.g. `_dicom._tcp`, `_ipp._tcp`.
    pub service_type: String,
    /// The instance label (`John’s iMac`, may contain dots); empty for a bare service type.
    pub instance: String,
    /// SRV target host.
    pub host: Option<String>,
    /// SRV port.
    pub port: Option<u16>,
    /// TXT attributes in order (RFC 6763 section 6): `key=value`, or `key` alone with an empty value.
    pub txt: Vec<(String, String)>,
    /// Addresses of `host` from A and AAAA records in the same message.
    pub addresses: Vec<IpAddr>,
}

/// The DNS-SD view of a message (normally mDNS): every service instance and service type its records
/// announce, in order of first appearance. Questions are not services: what a device browses for is
/// in [`DnsMessage::questions`].
pub fn services(msg: &DnsMessage) -> Vec<ServiceInfo> {
    let mut out: Vec<ServiceInfo> = Vec::new();
    for record in &msg.answers {
        match &record.data {
            RData::Ptr(target) => {
                let Some(owner) = split_service_name(&record.name) else {
                    continue;
                };
                if owner.instance.eq_ignore_ascii_case("_services")
                    && owner.service_type.eq_ignore_ascii_case("_dns-sd._udp")
                {
                    // Service type enumeration (RFC 6763 section 9): the target is a service type.
                    if let Some(t) = split_service_name(target).filter(|t| t.instance.is_empty()) {
                        service_entry(&mut out, t.service_type, "");
                    }
                    continue;
                }
                // The owner is `_type._proto.domain` or a subtype `_sub._sub._type._proto.domain`;
                // the target is `Instance._type._proto.domain`.
                let owner_is_type = owner.instance.is_empty() || is_subtype_label(owner.instance);
                if let Some(t) = split_service_name(target)
                    && owner_is_type
                    && !t.instance.is_empty()
                    && t.service_type.eq_ignore_ascii_case(owner.service_type)
                {
                    service_entry(&mut out, t.service_type, t.instance);
                }
            }
            RData::Srv { port, target, .. } => {
                if let Some(s) = split_service_name(&record.name).filter(|s| !s.instance.is_empty())
                {
                    let e = service_entry(&mut out, s.service_type, s.instance);
                    e.host = Some(target.clone());
                    e.port = Some(*port);
                }
            }
            RData::Txt(strings) => {
                if let Some(s) = split_service_name(&record.name).filter(|s| !s.instance.is_empty())
                {
                    let e = service_entry(&mut out, s.service_type, s.instance);
                    e.txt
                        .extend(strings.iter().filter(|s| !s.is_empty()).map(|s| {
                            match s.split_once('=') {
                                Some((k, v)) => (k.to_string(), v.to_string()),
                                None => (s.clone(), String::new()),
                            }
                        }));
                }
            }
            _ => {}
        }
    }
    for service in &mut out {
        let Some(host) = &service.host else { continue };
        for record in &msg.answers {
            if !record.name.eq_ignore_ascii_case(host) {
                continue;
            }
            let addr = match record.data {
                RData::A(a) => IpAddr::V4(Ipv4Addr::from(a)),
                RData::Aaaa(a) => IpAddr::V6(Ipv6Addr::from(a)),
                _ => continue,
            };
            if !service.addresses.contains(&addr) {
                service.addresses.push(addr);
            }
        }
    }
    out
}

/// The entry for (service type, instance) in `out`, added on first sight.
fn service_entry<'a>(
    out: &'a mut Vec<ServiceInfo>,
    service_type: &str,
    instance: &str,
) -> &'a mut ServiceInfo {
    let found = out
        .iter()
        .position(|s| s.service_type.eq_ignore_ascii_case(service_type) && s.instance == instance);
    let idx = found.unwrap_or_else(|| {
        out.push(ServiceInfo {
            service_type: service_type.to_string(),
            instance: instance.to_string(),
            host: None,
            port: None,
            txt: Vec::new(),
            addresses: Vec::new(),
        });
        out.len() - 1
    });
    &mut out[idx]
}

/// A DNS-SD name cut into its parts: `instance` (possibly empty) `.` `_type._proto` `.` domain.
struct ServiceName<'a> {
    instance: &'a str,
    service_type: &'a str,
}

/// Finds the rightmost `_x._tcp` or `_x._udp` label pair. The instance label may itself hold dots,
/// which is why the search runs from the right, where the labels are well formed.
fn split_service_name(name: &str) -> Option<ServiceName<'_>> {
    // Byte offset where each label starts.
    let mut starts = vec![0];
    starts.extend(name.match_indices('.').map(|(i, _)| i + 1));
    for k in (1..starts.len()).rev() {
        let proto_end = starts.get(k + 1).map_or(name.len(), |&s| s - 1);
        let proto = &name[starts[k]..proto_end];
        let service = &name[starts[k - 1]..starts[k] - 1];
        let is_proto = proto.eq_ignore_ascii_case("_tcp") || proto.eq_ignore_ascii_case("_udp");
        if is_proto && service.len() > 1 && service.starts_with('_') {
            let instance = if k >= 2 {
                &name[..starts[k - 1] - 1]
            } else {
                ""
            };
            return Some(ServiceName {
                instance,
                service_type: &name[starts[k - 1]..proto_end],
            });
        }
    }
    None
}

/// `_printer._sub`: the owner of a subtype PTR (RFC 6763 section 7.1).
fn is_subtype_label(instance: &str) -> bool {
    instance
        .strip_suffix("._sub")
        .is_some_and(|sub| sub.starts_with('_') && !sub.contains('.'))
}

/// Reads the name at `pos`, following compression pointers, and returns it with the offset just past
/// its in-place form. `None` when it runs off the message, uses a reserved label type, is longer than
/// 255 bytes or takes more than [`MAX_NAME_STEPS`] labels and pointers (a pointer loop).
fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut text = Vec::new();
    let mut end = None;
    let mut wire = 1; // the root label
    for _ in 0..MAX_NAME_STEPS {
        let len = usize::from(*msg.get(pos)?);
        match len & 0xc0 {
            0x00 if len == 0 => {
                let name = capped_text(&text);
                return Some((name, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let label = msg.get(pos + 1..pos + 1 + len)?;
                wire += len + 1;
                if wire > MAX_NAME_WIRE {
                    return None;
                }
                if !text.is_empty() {
                    text.push(b'.');
                }
                text.extend_from_slice(label);
                pos += 1 + len;
            }
            0xc0 => {
                let low = usize::from(*msg.get(pos + 1)?);
                end.get_or_insert(pos + 2);
                pos = ((len & 0x3f) << 8) | low;
            }
            // 0x40 (extended label types, RFC 6891) and 0x80 are not names we can read.
            _ => return None,
        }
    }
    None
}

/// Reads the resource record at `pos`; returns it with the offset of the next one.
fn read_record(msg: &[u8], pos: usize, section: Section) -> Option<(Record, usize)> {
    let (name, pos) = read_name(msg, pos)?;
    let fixed = msg.get(pos..pos + 10)?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let start = pos + 10;
    let end = start + rdlength;
    let rdata = msg.get(start..end)?;
    let data = read_rdata(msg, rtype, start, rdata).unwrap_or(RData::Other(rtype));
    let record = Record {
        name,
        rtype,
        ttl,
        data,
        section,
    };
    Some((record, end))
}

/// Decodes the data of the record types we keep; `rdata` is `msg[start..]` cut to RDLENGTH. Names in
/// it may point anywhere earlier in the message but must end inside it.
fn read_rdata(msg: &[u8], rtype: u16, start: usize, rdata: &[u8]) -> Option<RData> {
    let name_at = |offset: usize| {
        let (name, end) = read_name(msg, start + offset)?;
        (end <= start + rdata.len()).then_some(name)
    };
    Some(match rtype {
        rtype::A => RData::A(rdata.try_into().ok()?),
        rtype::AAAA => RData::Aaaa(rdata.try_into().ok()?),
        rtype::PTR => RData::Ptr(name_at(0)?),
        rtype::CNAME => RData::Cname(name_at(0)?),
        rtype::SRV => {
            let fixed = rdata.get(..6)?;
            RData::Srv {
                priority: u16::from_be_bytes([fixed[0], fixed[1]]),
                weight: u16::from_be_bytes([fixed[2], fixed[3]]),
                port: u16::from_be_bytes([fixed[4], fixed[5]]),
                target: name_at(6)?,
            }
        }
        rtype::TXT => {
            let mut strings = Vec::new();
            let mut rest = rdata;
            while let Some((&len, tail)) = rest.split_first() {
                let s = tail.get(..usize::from(len))?;
                if strings.len() < MAX_TXT_STRINGS {
                    strings.push(capped_text(s));
                }
                rest = &tail[usize::from(len)..];
            }
            RData::Txt(strings)
        }
        _ => return None,
    })
}

/// Lossy UTF-8, cut to at most [`MAX_TEXT`] bytes at a character boundary.
fn capped_text(bytes: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(bytes).into_owned();
    if s.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use capture::CaptureReader;
    use capture::decode::{Decoded, Transport, decode};

    use super::*;

    // ---- corpus support, shared with the DHCP tests ----

    /// One UDP datagram or TCP segment payload of a capture, with the 1-based frame number that tshark
    /// (`frame.number`) and Suricata (`pcap_cnt`) give it.
    pub(crate) struct Datagram {
        pub frame: u64,
        pub src_port: u16,
        pub dst_port: u16,
        pub tcp: bool,
        pub payload: Vec<u8>,
    }

    /// The UDP and TCP payloads of a capture to or from one of `ports`, decoded by our own capture
    /// crate, one per frame (fragments are not reassembled: no corpus DNS or DHCP message is fragmented).
    pub(crate) fn datagrams(path: &Path, ports: &[u16]) -> Vec<Datagram> {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Ok(mut reader) = CaptureReader::new(file) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut frame = 0;
        while let Ok(Some(pkt)) = reader.next_packet() {
            frame += 1;
            let Ok(Decoded::Ip(ip)) = decode(pkt.link, pkt.data, pkt.orig_len) else {
                continue;
            };
            let (src_port, dst_port, tcp, payload) = match ip.transport {
                Transport::Udp(u) => (u.src_port, u.dst_port, false, u.payload),
                Transport::Tcp(t) => (t.src_port, t.dst_port, true, t.payload),
                _ => continue,
            };
            if (ports.contains(&src_port) || ports.contains(&dst_port)) && !payload.is_empty() {
                out.push(Datagram {
                    frame,
                    src_port,
                    dst_port,
                    tcp,
                    payload: payload.to_vec(),
                });
            }
        }
        out
    }

    /// Every capture file under `pcap/` and `captures/`, byte-identical copies counted once.
    pub(crate) fn corpus_captures(corpus: &Path) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
                {
                    out.push(path);
                }
            }
        }
        let mut paths = Vec::new();
        walk(&corpus.join("pcap"), &mut paths);
        walk(&corpus.join("captures"), &mut paths);
        paths.sort();
        let mut seen = BTreeSet::new();
        paths.retain(|p| seen.insert(std::fs::read(p).unwrap_or_default()));
        paths
    }

    /// `tshark -T fields` for the frames matching `filter`: frame number to one list of values per
    /// field (all occurrences).
    pub(crate) fn tshark_fields(
        tshark: &str,
        path: &Path,
        filter: &str,
        fields: &[&str],
    ) -> BTreeMap<u64, Vec<Vec<String>>> {
        let mut cmd = Command::new(tshark);
        cmd.arg("-r").arg(path).args(["-Y", filter, "-T", "fields"]);
        cmd.args([
            "-E",
            "separator=/t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=\u{1f}",
        ]);
        cmd.args(["-e", "frame.number"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().expect("run tshark");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("aren't valid"), "tshark: {stderr}");
        let mut rows = BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut cells = line.split('\t');
            let frame = cells
                .next()
                .and_then(|f| f.parse().ok())
                .expect("frame number");
            let values = cells
                .map(|c| match c {
                    "" => Vec::new(),
                    c => c.split('\u{1f}').map(str::to_string).collect(),
                })
                .collect();
            rows.insert(frame, values);
        }
        rows
    }

    // ---- building messages by hand ----

    fn wire_name(name: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for label in name.split('.').filter(|l| !l.is_empty()) {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
        out
    }

    fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
        for c in counts {
            out.extend_from_slice(&c.to_be_bytes());
        }
        out
    }

    fn question(msg: &mut Vec<u8>, name: &[u8], qtype: u16) {
        msg.extend_from_slice(name);
        msg.extend_from_slice(&qtype.to_be_bytes());
        msg.extend_from_slice(&1u16.to_be_bytes());
    }

    fn record(msg: &mut Vec<u8>, name: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) {
        msg.extend_from_slice(name);
        msg.extend_from_slice(&rtype.to_be_bytes());
        msg.extend_from_slice(&0x8001u16.to_be_bytes()); // IN with the mDNS cache-flush bit
        msg.extend_from_slice(&ttl.to_be_bytes());
        msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        msg.extend_from_slice(rdata);
    }

    fn txt(strings: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for s in strings {
            out.push(s.len() as u8);
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    fn srv(port: u16, target: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 0, 0];
        out.extend_from_slice(&port.to_be_bytes());
        out.extend_from_slice(target);
        out
    }

    /// An mDNS announcement of a DICOM service whose instance name holds a dot and a non-ASCII
    /// character, with compression pointers as a responder writes them.
    fn dicom_announcement() -> Vec<u8> {
        let mut msg = header(0, 0x8400, [0, 5, 0, 3]);
        let type_at = msg.len() as u16;
        let owner = wire_name("_dicom._tcp.local");
        // Pointer to `_dicom._tcp.local` at `type_at`, and names built on it.
        let ptr = |at: u16| (0xc000 | at).to_be_bytes().to_vec();
        let under = |label: &str, at: u16| {
            let mut n = vec![label.len() as u8];
            n.extend_from_slice(label.as_bytes());
            n.extend(ptr(at));
            n
        };
        let instance = under("CT Scanner No. 2 – Röntgen", type_at);
        record(&mut msg, &owner, rtype::PTR, 4500, &instance);
        // The instance name inside the PTR RDATA: header 12 + owner + 10 fixed bytes.
        let instance_at = type_at + owner.len() as u16 + 10;
        record(
            &mut msg,
            &ptr(instance_at),
            rtype::SRV,
            120,
            &srv(104, &wire_name("ct-02.local")),
        );
        record(
            &mut msg,
            &ptr(instance_at),
            rtype::TXT,
            4500,
            &txt(&[
                "txtvers=1",
                "model=Somatom go.Up",
                "aet=CT_SCANNER_02",
                "secure",
                "",
            ]),
        );
        let services_name = wire_name("_services._dns-sd._udp.local");
        record(&mut msg, &services_name, rtype::PTR, 4500, &ptr(type_at));
        record(
            &mut msg,
            &wire_name("_modality._sub._dicom._tcp.local"),
            rtype::PTR,
            4500,
            &ptr(instance_at),
        );
        record(
            &mut msg,
            &wire_name("ct-02.local"),
            rtype::A,
            120,
            &[10, 1, 2, 3],
        );
        let mut v6 = [0u8; 16];
        v6[0] = 0xfe;
        v6[1] = 0x80;
        v6[15] = 7;
        record(&mut msg, &wire_name("ct-02.local"), rtype::AAAA, 120, &v6);
        record(
            &mut msg,
            &wire_name("other.local"),
            rtype::A,
            120,
            &[10, 9, 9, 9],
        );
        msg
    }

    // ---- unit tests ----

    #[test]
    fn announcement_reads_fully_with_compressed_names() {
        let msg = parse_dns(&dicom_announcement()).expect("message");
        assert!(msg.response && !msg.truncated);
        assert_eq!(msg.answers.len(), 8);
        let instance = "CT Scanner No. 2 – Röntgen._dicom._tcp.local";
        assert_eq!(msg.answers[0].data, RData::Ptr(instance.into()));
        assert_eq!(msg.answers[1].name, instance);
        assert_eq!(msg.answers[3].data, RData::Ptr("_dicom._tcp.local".into()));
        assert_eq!(msg.answers[5].section, Section::Additional);
        assert_eq!(msg.answers[1].section, Section::Answer);
    }

    #[test]
    fn services_gathers_ptr_srv_txt_and_addresses() {
        let msg = parse_dns(&dicom_announcement()).expect("message");
        let services = services(&msg);
        assert_eq!(services.len(), 2, "{services:#?}");
        let ct = &services[0];
        assert_eq!(ct.service_type, "_dicom._tcp");
        // The dot inside the instance label survives because the split runs from the right.
        assert_eq!(ct.instance, "CT Scanner No. 2 – Röntgen");
        assert_eq!(ct.host.as_deref(), Some("ct-02.local"));
        assert_eq!(ct.port, Some(104));
        let txt: Vec<(&str, &str)> = ct
            .txt
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            txt,
            [
                ("txtvers", "1"),
                ("model", "Somatom go.Up"),
                ("aet", "CT_SCANNER_02"),
                ("secure", "")
            ]
        );
        assert_eq!(
            ct.addresses,
            [
                IpAddr::from([10, 1, 2, 3]),
                IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, 7])
            ]
        );
        // The enumeration names the type alone.
        assert_eq!(
            (
                services[1].service_type.as_str(),
                services[1].instance.as_str()
            ),
            ("_dicom._tcp", "")
        );
    }

    #[test]
    fn split_service_name_finds_the_rightmost_type() {
        let s = split_service_name("a._b._tcp.x._ipp._udp.local").expect("split");
        assert_eq!((s.instance, s.service_type), ("a._b._tcp.x", "_ipp._udp"));
        let s = split_service_name("_ipp._tcp.local").expect("split");
        assert_eq!((s.instance, s.service_type), ("", "_ipp._tcp"));
        assert!(split_service_name("host.local").is_none());
        assert!(split_service_name("_tcp.local").is_none());
        assert!(split_service_name("").is_none());
        assert!(split_service_name("._tcp").is_none());
    }

    #[test]
    fn pointer_loops_end() {
        // A question whose name points at itself, then one pointing at the next pointer and back.
        for name in [vec![0xc0, 12], vec![0xc0, 14, 0xc0, 12]] {
            let mut msg = header(1, 0, [1, 0, 0, 0]);
            msg.extend_from_slice(&name);
            msg.extend_from_slice(&[0, 1, 0, 1]);
            let parsed = parse_dns(&msg).expect("header");
            assert!(parsed.questions.is_empty() && parsed.truncated);
        }
        // A question pointing into a chain of pointers, each to the one before, ending at `a`.
        let mut msg = header(1, 0, [1, 0, 0, 0]);
        msg.extend_from_slice(&[0, 0, 0, 1, 0, 1]);
        let mut prev = msg.len() as u16;
        msg.extend_from_slice(&wire_name("a"));
        let mut chain = Vec::new();
        for _ in 0..200 {
            chain.push(msg.len() as u16);
            msg.extend_from_slice(&(0xc000 | prev).to_be_bytes());
            prev = *chain.last().expect("pushed");
        }
        let ask = |k: usize| {
            let mut m = msg.clone();
            m[12..14].copy_from_slice(&(0xc000 | chain[k]).to_be_bytes());
            parse_dns(&m).expect("header")
        };
        // Entering at chain[k] takes 1 + (k + 1) pointers, the label and the root: k + 4 steps.
        assert_eq!(ask(124).questions, [("a".to_string(), 1)]);
        let parsed = ask(125);
        assert!(parsed.questions.is_empty() && parsed.truncated);
        assert!(ask(199).questions.is_empty());
    }

    #[test]
    fn names_over_255_bytes_and_reserved_labels_are_bad() {
        let long: Vec<String> = (0..5).map(|_| "x".repeat(63)).collect();
        let mut msg = header(1, 0, [1, 0, 0, 0]);
        question(&mut msg, &wire_name(&long.join(".")), 1);
        let parsed = parse_dns(&msg).expect("header");
        assert!(parsed.questions.is_empty() && parsed.truncated);
        // 3 x 63 + 61 is 253 characters, 255 bytes on the wire: the longest legal name.
        let longest = format!("{}.{}", long[..3].join("."), "y".repeat(61));
        let mut msg = header(1, 0, [1, 0, 0, 0]);
        question(&mut msg, &wire_name(&longest), 1);
        assert_eq!(parse_dns(&msg).expect("header").questions[0].0, longest);
        for reserved in [0x40, 0x80] {
            let mut msg = header(1, 0, [1, 0, 0, 0]);
            question(&mut msg, &[reserved, 0], 1);
            assert!(parse_dns(&msg).expect("header").questions.is_empty());
        }
    }

    #[test]
    fn bad_rdata_is_other_and_reading_goes_on() {
        let mut msg = header(7, 0x8180, [0, 4, 0, 0]);
        record(&mut msg, &wire_name("a.example"), rtype::A, 60, &[1, 2, 3]);
        // A PTR whose name runs past its RDLENGTH, and a TXT string longer than its RDATA.
        record(
            &mut msg,
            &wire_name("b.example"),
            rtype::PTR,
            60,
            &[3, b'a', b'b'],
        );
        record(
            &mut msg,
            &wire_name("c.example"),
            rtype::TXT,
            60,
            &[5, b'a'],
        );
        record(
            &mut msg,
            &wire_name("d.example"),
            rtype::A,
            60,
            &[1, 2, 3, 4],
        );
        let parsed = parse_dns(&msg).expect("message");
        let data: Vec<&RData> = parsed.answers.iter().map(|r| &r.data).collect();
        assert_eq!(
            data,
            [
                &RData::Other(rtype::A),
                &RData::Other(rtype::PTR),
                &RData::Other(rtype::TXT),
                &RData::A([1, 2, 3, 4])
            ]
        );
        assert!(!parsed.truncated);
    }

    #[test]
    fn record_counts_are_capped() {
        let mut msg = header(1, 0x8000, [300, 300, 0, 0]);
        for _ in 0..300 {
            question(&mut msg, &[0], 1);
        }
        for _ in 0..300 {
            record(&mut msg, &[0], rtype::A, 1, &[1, 1, 1, 1]);
        }
        let parsed = parse_dns(&msg).expect("message");
        assert_eq!(
            (parsed.questions.len(), parsed.answers.len()),
            (MAX_ENTRIES, 0)
        );
        assert!(parsed.truncated);
        let mut msg = header(1, 0x8000, [0, 0xffff, 0, 0]);
        for _ in 0..300 {
            record(&mut msg, &[0], rtype::TXT, 1, &[0; 200]);
        }
        let parsed = parse_dns(&msg).expect("message");
        assert_eq!(parsed.answers.len(), MAX_ENTRIES);
        let RData::Txt(strings) = &parsed.answers[0].data else {
            panic!("not TXT");
        };
        assert_eq!(strings.len(), MAX_TXT_STRINGS);
        // A header announcing records that are not there.
        let parsed = parse_dns(&header(1, 0, [0xffff; 4])).expect("header");
        assert!(parsed.questions.is_empty() && parsed.truncated);
        assert!(parse_dns(&[0; 11]).is_none());
    }

    #[test]
    fn invalid_utf8_is_replaced_and_capped() {
        let label = [0xffu8; 63];
        let mut name = Vec::new();
        for _ in 0..3 {
            name.push(63);
            name.extend_from_slice(&label);
        }
        name.push(0);
        let mut msg = header(1, 0, [1, 0, 0, 0]);
        question(&mut msg, &name, 1);
        let parsed = parse_dns(&msg).expect("message");
        let text = &parsed.questions[0].0;
        assert!(text.len() <= MAX_TEXT && text.starts_with('\u{fffd}'));
    }

    /// Every prefix of `full` reads as a prefix of its questions and records, and never panics.
    fn check_prefixes(full: &[u8]) {
        let whole = parse_dns(full).expect("whole message");
        for cut in 0..full.len() {
            let Some(part) = parse_dns(&full[..cut]) else {
                assert!(cut < 12);
                continue;
            };
            assert!(whole.questions.starts_with(&part.questions), "cut {cut}");
            assert!(whole.answers.starts_with(&part.answers), "cut {cut}");
            let announced = whole.questions.len() + whole.answers.len();
            assert!(part.truncated || part.questions.len() + part.answers.len() == announced);
        }
    }

    #[test]
    fn every_prefix_of_an_announcement_reads_a_prefix() {
        check_prefixes(&dicom_announcement());
    }

    #[test]
    fn single_byte_corruptions_never_panic() {
        let good = dicom_announcement();
        for i in 0..good.len() {
            for value in [0x00, 0x01, 0x3f, 0x40, 0xc0, 0xff] {
                let mut bad = good.clone();
                bad[i] = value;
                if let Some(msg) = parse_dns(&bad) {
                    let _ = services(&msg);
                }
            }
        }
    }

    // ---- the corpus ----

    const DNS_PORTS: [u16; 3] = [53, 5353, 5355];

    /// The DNS message in a datagram: over TCP, after the 2-byte length (when the segment holds exactly
    /// one message, as every corpus one does).
    fn dns_payload(d: &Datagram) -> Option<&[u8]> {
        if !d.tcp {
            return Some(&d.payload);
        }
        let len = usize::from(u16::from_be_bytes([
            *d.payload.first()?,
            *d.payload.get(1)?,
        ]));
        (d.payload.len() == len + 2).then(|| &d.payload[2..])
    }

    #[test]
    fn every_prefix_of_corpus_messages_reads_a_prefix() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let mut n = 0;
        for path in corpus_captures(&corpus) {
            for d in datagrams(&path, &DNS_PORTS) {
                if let Some(payload) = dns_payload(&d).filter(|p| p.len() >= 12) {
                    check_prefixes(payload);
                    n += 1;
                }
            }
        }
        eprintln!("checked every prefix of {n} corpus DNS messages");
        assert!(n > 1000, "only {n} DNS messages in the corpus");
    }

    /// suricata-verify `mdns`: frames 6 (a TXT and a PTR answer) and 11 (three PTR questions).
    #[test]
    fn suricata_verify_mdns() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let dir = corpus.join("pcap/suricata-verify/mdns");
        let yaml = std::fs::read_to_string(dir.join("test.yaml")).expect("test.yaml");
        let frames: BTreeMap<u64, DnsMessage> = datagrams(&dir.join("frag-9.pcap"), &[5353])
            .iter()
            .filter_map(|d| Some((d.frame, parse_dns(&d.payload)?)))
            .collect();
        assert_eq!(frames.keys().copied().collect::<Vec<_>>(), [6, 11]);

        // pcap_cnt 6: mdns.type response, answers[0] rrname + txt, answers[1] rrname + ptr.
        let response = &frames[&6];
        assert!(response.response && !response.truncated);
        let device_info = "John’s iMac._device-info._tcp.local";
        assert!(yaml.contains(&format!("mdns.answers[0].rrname: \"{device_info}\"")));
        assert_eq!(response.answers[0].name, device_info);
        assert!(yaml.contains(r#"mdns.answers[0].txt: ["model=iMac17,1", "osxvers=17"]"#));
        assert_eq!(
            response.answers[0].data,
            RData::Txt(vec!["model=iMac17,1".into(), "osxvers=17".into()])
        );
        assert!(yaml.contains(r#"mdns.answers[1].rrname: "_companion-link._tcp.local""#));
        assert_eq!(response.answers[1].name, "_companion-link._tcp.local");
        let companion = "John’s iMac._companion-link._tcp.local";
        assert!(yaml.contains(&format!("mdns.answers[1].ptr: \"{companion}\"")));
        assert_eq!(response.answers[1].data, RData::Ptr(companion.into()));
        // Our DNS-SD view of the same message.
        let view: Vec<String> = services(response)
            .iter()
            .map(|s| {
                format!(
                    "{} | {} | {:?} | {:?}",
                    s.service_type, s.instance, s.host, s.txt
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                r#"_device-info._tcp | John’s iMac | None | [("model", "iMac17,1"), ("osxvers", "17")]"#,
                "_companion-link._tcp | John’s iMac | None | []",
            ]
        );

        // pcap_cnt 11: mdns.type request, three PTR queries.
        let request = &frames[&11];
        assert!(!request.response);
        for (i, name) in [
            "_apple-mobdev._tcp.local",
            "92e80812._sub._apple-mobdev2._tcp.local",
            "_apple-pairable._tcp.local",
        ]
        .into_iter()
        .enumerate()
        {
            assert!(yaml.contains(&format!("mdns.queries[{i}].rrname: \"{name}\"")));
            assert!(yaml.contains(&format!("mdns.queries[{i}].rrtype: \"ptr\"")));
            assert_eq!(request.questions[i], (name.to_string(), rtype::PTR));
        }
        assert!(super::services(request).is_empty());
    }

    /// `captures/dns.pcap` (dig against dnsmasq) against tshark's stored view, `tshark_ref/dns.tsv`,
    /// and the ground truth table (A answers, NOERROR without data, NXDOMAIN, PTR, REFUSED, and one
    /// query over TCP).
    #[test]
    fn captures_dns_pcap_matches_stored_tshark_view() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let tsv = std::fs::read_to_string(corpus.join("captures/tshark_ref/dns.tsv")).expect("tsv");
        let ours: BTreeMap<u64, DnsMessage> = datagrams(&corpus.join("captures/dns.pcap"), &[53])
            .iter()
            .filter_map(|d| Some((d.frame, parse_dns(dns_payload(d)?)?)))
            .collect();
        let mut n = 0;
        for line in tsv.lines().skip(1) {
            // frame, udp.srcport, tcp.srcport, response, qname, qtype, rcode, a
            let c: Vec<&str> = line.split('\t').collect();
            let frame: u64 = c[0].parse().expect("frame");
            let msg = &ours[&frame];
            assert_eq!(msg.response, c[3] == "1", "frame {frame}");
            assert_eq!(
                msg.questions,
                [(c[4].to_string(), c[5].parse().expect("qtype"))]
            );
            if msg.response {
                assert_eq!(msg.rcode.to_string(), c[6], "frame {frame}");
            }
            let a: Vec<String> = msg
                .answers
                .iter()
                .filter_map(|r| match r.data {
                    RData::A(a) => Some(Ipv4Addr::from(a).to_string()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                a.join(","),
                c.get(7).copied().unwrap_or(""),
                "frame {frame}"
            );
            n += 1;
        }
        assert_eq!(n, 16);
        assert_eq!(
            ours.len(),
            16,
            "frames other than the 16 DNS messages read as DNS"
        );
        // The PTR answer of the ground truth: 1.0.0.127.in-addr.arpa -> pacs.hospital.example.
        let ptr: Vec<&RData> = ours
            .values()
            .flat_map(|m| &m.answers)
            .map(|r| &r.data)
            .collect();
        assert!(ptr.contains(&&RData::Ptr("pacs.hospital.example".into())));
    }

    /// What tshark shows of one DNS message, in its `-T fields` form.
    fn tshark_view(msg: &DnsMessage) -> Vec<Vec<String>> {
        let name = |n: &str| {
            if n.is_empty() {
                "<Root>".to_string()
            } else {
                n.to_string()
            }
        };
        let each = |f: &dyn Fn(&Record) -> Option<String>| -> Vec<String> {
            msg.answers.iter().filter_map(f).collect()
        };
        vec![
            vec![format!("0x{:04x}", msg.id)],
            vec![u8::from(msg.response).to_string()],
            if msg.response {
                vec![msg.rcode.to_string()]
            } else {
                Vec::new()
            },
            msg.questions.iter().map(|(n, _)| name(n)).collect(),
            msg.questions.iter().map(|(_, t)| t.to_string()).collect(),
            each(&|r| Some(name(&r.name))),
            each(&|r| Some(r.rtype.to_string())),
            each(&|r| match r.data {
                RData::A(a) => Some(Ipv4Addr::from(a).to_string()),
                _ => None,
            }),
            each(&|r| match r.data {
                RData::Aaaa(a) => Some(Ipv6Addr::from(a).to_string()),
                _ => None,
            }),
            each(&|r| match &r.data {
                RData::Ptr(n) => Some(name(n)),
                _ => None,
            }),
            each(&|r| match &r.data {
                RData::Cname(n) => Some(name(n)),
                _ => None,
            }),
            each(&|r| match &r.data {
                RData::Srv { target, .. } => Some(name(target)),
                _ => None,
            }),
            each(&|r| match &r.data {
                RData::Srv { port, .. } => Some(port.to_string()),
                _ => None,
            }),
            msg.answers
                .iter()
                .flat_map(|r| match &r.data {
                    RData::Txt(t) => t.clone(),
                    _ => Vec::new(),
                })
                .collect(),
        ]
    }

    const TSHARK_DNS_FIELDS: [&str; 14] = [
        "dns.id",
        "dns.flags.response",
        "dns.flags.rcode",
        "dns.qry.name",
        "dns.qry.type",
        "dns.resp.name",
        "dns.resp.type",
        "dns.a",
        "dns.aaaa",
        "dns.ptr.domain_name",
        "dns.cname",
        "dns.srv.target",
        "dns.srv.port",
        "dns.txt",
    ];

    /// Every DNS, mDNS and LLMNR message in the corpus, read by us and by tshark: the same frames, the
    /// same header fields, questions, record names and types, and decoded data.
    #[test]
    fn corpus_dns_matches_tshark() {
        let Some(corpus) = testkit::corpus() else {
            return;
        };
        let Some(tshark) = testkit::tshark() else {
            return;
        };
        let (mut files, mut messages) = (0, 0);
        let mut types: BTreeMap<u16, usize> = BTreeMap::new();
        let mut differences = Vec::new();
        for path in corpus_captures(&corpus) {
            let ours: BTreeMap<u64, DnsMessage> = datagrams(&path, &DNS_PORTS)
                .iter()
                .filter_map(|d| Some((d.frame, parse_dns(dns_payload(d)?)?)))
                .collect();
            if ours.is_empty() {
                continue;
            }
            files += 1;
            // DNS inside ICMP errors is tshark's, not ours: we read transport payloads only.
            let filter = "(dns || mdns || llmnr) && !icmp && !icmpv6";
            let theirs = tshark_fields(tshark, &path, filter, &TSHARK_DNS_FIELDS);
            let name = path
                .strip_prefix(&corpus)
                .unwrap_or(&path)
                .display()
                .to_string();
            let frames: BTreeSet<u64> = ours.keys().chain(theirs.keys()).copied().collect();
            for frame in frames {
                match (ours.get(&frame), theirs.get(&frame)) {
                    (Some(msg), Some(fields)) => {
                        messages += 1;
                        for r in &msg.answers {
                            *types.entry(r.rtype).or_default() += 1;
                        }
                        let view = tshark_view(msg);
                        for (i, field) in TSHARK_DNS_FIELDS.iter().enumerate() {
                            if view[i] != fields[i] {
                                differences.push(format!(
                                    "{name} frame {frame} {field}: ours {:?}, tshark {:?}",
                                    view[i], fields[i]
                                ));
                            }
                        }
                    }
                    (Some(_), None) => differences.push(format!("{name} frame {frame}: only ours")),
                    (None, Some(_)) => {
                        differences.push(format!("{name} frame {frame}: only tshark"))
                    }
                    (None, None) => {}
                }
            }
        }
        eprintln!(
            "{messages} DNS messages in {files} captures checked against tshark; records by type: {types:?}"
        );
        assert!(differences.is_empty(), "{}", differences.join("\n"));
        assert!(messages > 1000);
    }
}
