//! DNS messages (RFC 1035) and multicast DNS / DNS-SD announcements (RFC 6762, RFC 6763): the UDP
//! payload to or from port 53, or to 224.0.0.251:5353.
//!
//! Names are written as real servers write them: the question in full, later names compressed
//! with pointers to any suffix already in the message (RFC 1035 §4.1.4), so an answer for the
//! question's name is the two bytes 0xC00C. Names are cut to fit DNS's limits rather than refused:
//! each label to 63 bytes, the whole name to 255 bytes on the wire, empty labels (a trailing dot,
//! "a..b") dropped.

pub const TYPE_A: u16 = 1;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_SRV: u16 = 33;
pub const CLASS_IN: u16 = 1;
/// mDNS "cache-flush" bit on the class of a unique record (RFC 6762 §10.2).
const CACHE_FLUSH: u16 = 0x8000;

/// Port of unicast DNS.
pub const PORT: u16 = 53;
/// Port and IPv4 group of multicast DNS.
pub const MDNS_PORT: u16 = 5353;
pub const MDNS_GROUP: [u8; 4] = [224, 0, 0, 251];

const FLAG_QR: u16 = 0x8000;
const FLAG_AA: u16 = 0x0400;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const FLAG_RA: u16 = 0x0080;
const RCODE_NXDOMAIN: u16 = 3;

/// Largest DNS message over UDP without EDNS (RFC 1035 §4.2.1); a server that has more answers
/// sets TC and sends what fits.
const MAX_UDP_LEN: usize = 512;
const HEADER_LEN: usize = 12;
const MAX_LABEL: usize = 63;
const MAX_NAME: usize = 255;
/// Pointers are 14 bits: a suffix further into the message cannot be pointed at.
const MAX_POINTER: usize = 0x3fff;

/// A standard query for `name` (class IN) with RD set, as a stub resolver sends it: no EDNS.
pub fn query(out: &mut Vec<u8>, id: u16, name: &str, qtype: u16) {
    header(out, id, FLAG_RD, 1, 0);
    put_name(out, name);
    question_tail(out, qtype);
}

/// A recursive server's answer: QR, RD, RA, question echoed, one A record per address with the
/// owner name as a pointer to the question. Answers that would take the message past 512 bytes are
/// left out and TC is set, as a server without EDNS does.
pub fn response_a(out: &mut Vec<u8>, id: u16, name: &str, addrs: &[[u8; 4]], ttl: u32) {
    response(
        out,
        id,
        name,
        TYPE_A,
        addrs.iter().map(|a| a.as_slice()),
        ttl,
    );
}

/// As [`response_a`], with AAAA records.
pub fn response_aaaa(out: &mut Vec<u8>, id: u16, name: &str, addrs: &[[u8; 16]], ttl: u32) {
    response(
        out,
        id,
        name,
        TYPE_AAAA,
        addrs.iter().map(|a| a.as_slice()),
        ttl,
    );
}

/// NXDOMAIN (RCODE 3) for the question, with no answer and no authority section (a real resolver
/// usually adds the zone's SOA for negative caching; which zone that is cannot be known here).
pub fn response_nxdomain(out: &mut Vec<u8>, id: u16, name: &str, qtype: u16) {
    header(out, id, FLAG_QR | FLAG_RD | FLAG_RA | RCODE_NXDOMAIN, 1, 0);
    put_name(out, name);
    question_tail(out, qtype);
}

fn response<'a>(
    out: &mut Vec<u8>,
    id: u16,
    name: &str,
    rtype: u16,
    rdatas: impl Iterator<Item = &'a [u8]>,
    ttl: u32,
) {
    let base = out.len();
    header(out, id, FLAG_QR | FLAG_RD | FLAG_RA, 1, 0);
    let is_root = put_name(out, name) == 1;
    question_tail(out, rtype);
    // Every answer's owner is the question's name: a pointer to offset 12, or the root's single
    // zero byte (shorter than a pointer).
    let owner: &[u8] = if is_root {
        &[0]
    } else {
        &[0xc0, HEADER_LEN as u8]
    };
    let mut count: u16 = 0;
    let mut truncated = false;
    for rdata in rdatas {
        if out.len() - base + owner.len() + 10 + rdata.len() > MAX_UDP_LEN {
            truncated = true;
            break;
        }
        out.extend_from_slice(owner);
        record_tail(out, rtype, CLASS_IN, ttl, rdata);
        count += 1;
    }
    set_u16(out, base + 6, count);
    if truncated {
        set_u16(out, base + 2, FLAG_QR | FLAG_TC | FLAG_RD | FLAG_RA);
    }
}

/// An mDNS / DNS-SD announcement (RFC 6762 §8.3, RFC 6763), as Avahi and Bonjour send it
/// unsolicited to 224.0.0.251:5353: ID 0, QR and AA set, no question, four answers:
///
/// * PTR `<service>.local` → `<instance>.<service>.local` (shared record: class IN);
/// * SRV `<instance>.<service>.local` → priority 0, weight 0, `port`, `<host>.local`;
/// * TXT `<instance>.<service>.local` with one string per `txt` entry (each cut to 255 bytes; an
///   empty list is written as the single empty string RFC 6763 §6.1 asks for);
/// * A `<host>.local` → `ip`.
///
/// The last three are unique records and carry the cache-flush bit. `service` is like
/// "_dicom._tcp"; `host` a bare host name (a trailing ".local" on either is accepted). `instance`
/// is one label even with dots or spaces in it ("IntelliVue MX450 (Bed 3)"), per RFC 6763 §4.3.
/// All four records use `ttl`.
#[allow(clippy::too_many_arguments)] // the parameters are the record fields
pub fn mdns_announce(
    out: &mut Vec<u8>,
    service: &str,
    instance: &str,
    host: &str,
    port: u16,
    txt: &[&str],
    ip: [u8; 4],
    ttl: u32,
) {
    let base = out.len();
    header(out, 0, FLAG_QR | FLAG_AA, 0, 4);
    let mut names = Names::new(base);

    let service = local_name(service);
    let host = local_name(host);
    // The instance label goes in front of the service name, within the 255-byte limit.
    let mut instance_name = Vec::with_capacity(service.len() + 1);
    let instance = truncate(instance.as_bytes(), MAX_LABEL);
    if !instance.is_empty() && wire_len(&service) + 1 + instance.len() <= MAX_NAME {
        instance_name.push(instance);
    }
    instance_name.extend_from_slice(&service);

    // PTR: the RDATA is a name, so its length is known only once written.
    names.write(out, &service);
    let rdlen_at = rr_head(out, TYPE_PTR, CLASS_IN, ttl);
    names.write(out, &instance_name);
    patch_rdlength(out, rdlen_at);

    names.write(out, &instance_name);
    let rdlen_at = rr_head(out, TYPE_SRV, CLASS_IN | CACHE_FLUSH, ttl);
    out.extend_from_slice(&[0, 0, 0, 0]); // priority, weight
    out.extend_from_slice(&port.to_be_bytes());
    // RFC 6762 §18.14 lets mDNS compress the SRV target, and Bonjour and Avahi do.
    names.write(out, &host);
    patch_rdlength(out, rdlen_at);

    names.write(out, &instance_name);
    let rdlen_at = rr_head(out, TYPE_TXT, CLASS_IN | CACHE_FLUSH, ttl);
    let mut written = 0usize;
    for s in txt {
        let s = truncate(s.as_bytes(), 255);
        if written + 1 + s.len() > u16::MAX as usize {
            break;
        }
        out.push(s.len() as u8);
        out.extend_from_slice(s);
        written += 1 + s.len();
    }
    if written == 0 {
        out.push(0);
    }
    patch_rdlength(out, rdlen_at);

    names.write(out, &host);
    record_tail(out, TYPE_A, CLASS_IN | CACHE_FLUSH, ttl, &ip);
}

fn header(out: &mut Vec<u8>, id: u16, flags: u16, qdcount: u16, ancount: u16) {
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&qdcount.to_be_bytes());
    out.extend_from_slice(&ancount.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // NSCOUNT, ARCOUNT
}

fn question_tail(out: &mut Vec<u8>, qtype: u16) {
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
}

/// TYPE, CLASS, TTL, RDLENGTH and RDATA after an owner name (`rdata` is at most 16 bytes here).
fn record_tail(out: &mut Vec<u8>, rtype: u16, class: u16, ttl: u32, rdata: &[u8]) {
    let rdlen_at = rr_head(out, rtype, class, ttl);
    out.extend_from_slice(rdata);
    patch_rdlength(out, rdlen_at);
}

/// TYPE, CLASS, TTL and a zero RDLENGTH to patch; returns where RDLENGTH is.
fn rr_head(out: &mut Vec<u8>, rtype: u16, class: u16, ttl: u32) -> usize {
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&class.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.len() - 2
}

fn patch_rdlength(out: &mut [u8], at: usize) {
    let len = out.len() - at - 2;
    set_u16(out, at, u16::try_from(len).unwrap_or(u16::MAX));
}

fn set_u16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn truncate(s: &[u8], max: usize) -> &[u8] {
    &s[..s.len().min(max)]
}

/// Bytes a name takes uncompressed: a length octet per label and the final zero.
fn wire_len(labels: &[&[u8]]) -> usize {
    labels.iter().map(|l| 1 + l.len()).sum::<usize>() + 1
}

/// The labels of a dotted name, cut to DNS's limits (see the module documentation).
fn label_iter(name: &str) -> impl Iterator<Item = &[u8]> {
    let mut len = 1; // the root label
    name.as_bytes()
        .split(|&b| b == b'.')
        .filter(|label| !label.is_empty())
        .map(|label| truncate(label, MAX_LABEL))
        .take_while(move |label| {
            len += 1 + label.len();
            len <= MAX_NAME
        })
}

fn labels(name: &str) -> Vec<&[u8]> {
    label_iter(name).collect()
}

/// A name uncompressed (the first name of a message has nothing to point at); returns its length.
fn put_name(out: &mut Vec<u8>, name: &str) -> usize {
    let start = out.len();
    for label in label_iter(name) {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out.len() - start
}

/// `name` under "local": "_dicom._tcp" and "_dicom._tcp.local." both give _dicom._tcp.local.
fn local_name(name: &str) -> Vec<&[u8]> {
    let mut l = labels(name);
    if l.last()
        .is_some_and(|last| last.eq_ignore_ascii_case(b"local"))
    {
        l.pop();
    }
    while wire_len(&l) + 6 > MAX_NAME {
        l.pop();
    }
    l.push(b"local");
    l
}

/// Name compression for one message: remembers where each suffix of each name written so far
/// starts, and writes later names as their new labels plus a pointer to the longest known suffix.
struct Names<'n> {
    /// Start of the DNS message in the output buffer: pointers count from there.
    base: usize,
    /// Written suffixes (as label lists) and their offsets in the message.
    known: Vec<(Vec<&'n [u8]>, u16)>,
}

impl<'n> Names<'n> {
    fn new(base: usize) -> Self {
        Names {
            base,
            known: Vec::new(),
        }
    }

    fn write(&mut self, out: &mut Vec<u8>, name: &[&'n [u8]]) {
        // DNS compares names case-insensitively, so compression may too (as BIND does).
        let same = |a: &[&[u8]], b: &[&[u8]]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
        };
        let found = (0..name.len()).find_map(|i| {
            self.known
                .iter()
                .find(|(s, _)| same(s, &name[i..]))
                .map(|&(_, off)| (i, off))
        });
        let (new_labels, pointer) = match found {
            Some((i, off)) => (i, Some(off)),
            None => (name.len(), None),
        };
        for (i, label) in name[..new_labels].iter().enumerate() {
            let offset = out.len() - self.base;
            if offset <= MAX_POINTER {
                self.known.push((name[i..].to_vec(), offset as u16));
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label);
        }
        match pointer {
            Some(off) => out.extend_from_slice(&(0xc000 | off).to_be_bytes()),
            None => out.push(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal decoder: reads a possibly compressed name at `pos`, returns it dotted and the
    /// position after it. Rejects forward pointers and loops.
    fn read_name(msg: &[u8], mut pos: usize) -> (String, usize) {
        let mut name = Vec::new();
        let mut end = None;
        let mut hops = 0;
        loop {
            let len = msg[pos] as usize;
            if len & 0xc0 == 0xc0 {
                let target = (len & 0x3f) << 8 | msg[pos + 1] as usize;
                assert!(target < pos, "pointers go backwards");
                end.get_or_insert(pos + 2);
                pos = target;
                hops += 1;
                assert!(hops < 64);
                continue;
            }
            if len == 0 {
                let end = end.unwrap_or(pos + 1);
                return (name.join("."), end);
            }
            assert!(len <= 63);
            name.push(String::from_utf8_lossy(&msg[pos + 1..pos + 1 + len]).into_owned());
            pos += 1 + len;
        }
    }

    fn u16_at(msg: &[u8], pos: usize) -> u16 {
        u16::from_be_bytes([msg[pos], msg[pos + 1]])
    }

    struct Rr {
        name: String,
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata_at: usize,
        rdata: Vec<u8>,
    }

    /// Header counts, question names and answer records.
    fn parse(msg: &[u8]) -> ([u16; 6], Vec<(String, u16)>, Vec<Rr>) {
        let h: [u16; 6] = std::array::from_fn(|i| u16_at(msg, 2 * i));
        let mut pos = HEADER_LEN;
        let mut qs = Vec::new();
        for _ in 0..h[2] {
            let (name, p) = read_name(msg, pos);
            qs.push((name, u16_at(msg, p)));
            assert_eq!(u16_at(msg, p + 2), CLASS_IN);
            pos = p + 4;
        }
        let mut rrs = Vec::new();
        for _ in 0..h[3] {
            let (name, p) = read_name(msg, pos);
            let rdlen = u16_at(msg, p + 8) as usize;
            rrs.push(Rr {
                name,
                rtype: u16_at(msg, p),
                class: u16_at(msg, p + 2),
                ttl: u32::from_be_bytes(msg[p + 4..p + 8].try_into().unwrap()),
                rdata_at: p + 10,
                rdata: msg[p + 10..p + 10 + rdlen].to_vec(),
            });
            pos = p + 10 + rdlen;
        }
        assert_eq!(pos, msg.len(), "no trailing bytes");
        (h, qs, rrs)
    }

    #[test]
    fn query_layout() {
        let mut out = Vec::new();
        query(&mut out, 0x1234, "pacs.hospital.example.", TYPE_A);
        let expected: &[u8] = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
            \x04pacs\x08hospital\x07example\x00\x00\x01\x00\x01";
        assert_eq!(out, expected);
    }

    #[test]
    fn a_response_points_at_question() {
        let mut out = vec![0xff; 3]; // pointers are relative to the message, not the buffer
        let addrs = [[10, 1, 2, 3], [10, 1, 2, 4]];
        response_a(&mut out, 7, "pacs.hospital.example", &addrs, 300);
        let msg = &out[3..];
        let (h, qs, rrs) = parse(msg);
        assert_eq!(h, [7, 0x8180, 1, 2, 0, 0]);
        assert_eq!(qs, [("pacs.hospital.example".to_string(), TYPE_A)]);
        for (rr, addr) in rrs.iter().zip(&addrs) {
            assert_eq!(rr.name, "pacs.hospital.example");
            assert_eq!(msg[rr.rdata_at - 12..rr.rdata_at - 10], [0xc0, 0x0c]);
            assert_eq!((rr.rtype, rr.class, rr.ttl), (TYPE_A, CLASS_IN, 300));
            assert_eq!(rr.rdata, addr);
        }
    }

    #[test]
    fn aaaa_response_and_nxdomain() {
        let mut out = Vec::new();
        let a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        response_aaaa(&mut out, 9, "ntp.example", &[a], 60);
        let (h, _, rrs) = parse(&out);
        assert_eq!(h, [9, 0x8180, 1, 1, 0, 0]);
        assert_eq!((rrs[0].rtype, rrs[0].rdata.as_slice()), (TYPE_AAAA, &a[..]));

        out.clear();
        response_nxdomain(&mut out, 10, "wpad.hospital.example", TYPE_A);
        let (h, qs, _) = parse(&out);
        assert_eq!(h, [10, 0x8183, 1, 0, 0, 0]);
        assert_eq!(qs[0].0, "wpad.hospital.example");
    }

    #[test]
    fn long_names_are_cut_to_dns_limits() {
        let label = "x".repeat(100);
        let name = [label.as_str(); 10].join(".");
        let mut out = Vec::new();
        query(&mut out, 1, &name, TYPE_A);
        let (_, qs, _) = parse(&out);
        let name = &qs[0].0;
        assert!(name.split('.').all(|l| l.len() == 63));
        assert!(name.len() + 2 <= 255);
        // Empty and root names.
        out.clear();
        response_a(&mut out, 1, "", &[[1, 2, 3, 4]], 1);
        let (_, qs, rrs) = parse(&out);
        assert_eq!((qs[0].0.as_str(), rrs[0].name.as_str()), ("", ""));
        out.clear();
        query(&mut out, 1, "a..b.", TYPE_A);
        assert_eq!(parse(&out).1[0].0, "a.b");
    }

    #[test]
    fn too_many_answers_set_tc_and_fit_512() {
        let addrs = vec![[10, 0, 0, 1]; 1000];
        let mut out = Vec::new();
        response_a(&mut out, 1, "big.example", &addrs, 5);
        let (h, _, rrs) = parse(&out);
        assert!(out.len() <= 512);
        assert_eq!(h[1], 0x8380);
        assert_eq!(rrs.len(), h[3] as usize);
        assert!(out.len() + 16 > 512, "as many as fit");
    }

    #[test]
    fn mdns_announcement() {
        let mut out = vec![1, 2];
        let txt = ["txtvers=1", "model=IntelliVue MX450", "vendor=Philips"];
        mdns_announce(
            &mut out,
            "_dicom._tcp",
            "MX450 Bed 3. ICU",
            "mx450-icu3",
            104,
            &txt,
            [10, 20, 0, 51],
            4500,
        );
        let msg = &out[2..];
        let (h, _, rrs) = parse(msg);
        assert_eq!(h, [0, 0x8400, 0, 4, 0, 0]);
        let types: Vec<(u16, u16)> = rrs.iter().map(|r| (r.rtype, r.class)).collect();
        assert_eq!(
            types,
            [
                (TYPE_PTR, 1),
                (TYPE_SRV, 0x8001),
                (TYPE_TXT, 0x8001),
                (TYPE_A, 0x8001)
            ]
        );
        assert_eq!(rrs[0].name, "_dicom._tcp.local");
        let (target, _) = read_name(msg, rrs[0].rdata_at);
        assert_eq!(target, "MX450 Bed 3. ICU._dicom._tcp.local");
        assert_eq!(rrs[1].name, target);
        assert_eq!(&rrs[1].rdata[..6], &[0, 0, 0, 0, 0, 104]);
        assert_eq!(read_name(msg, rrs[1].rdata_at + 6).0, "mx450-icu3.local");
        assert_eq!(rrs[2].name, target);
        let mut strings = Vec::new();
        let mut r = &rrs[2].rdata[..];
        while let Some((&len, rest)) = r.split_first() {
            strings.push(std::str::from_utf8(&rest[..len as usize]).unwrap());
            r = &rest[len as usize..];
        }
        assert_eq!(strings, txt);
        assert_eq!(rrs[3].name, "mx450-icu3.local");
        assert_eq!(rrs[3].rdata, [10, 20, 0, 51]);
        assert!(rrs.iter().all(|r| r.ttl == 4500));
        // Everything after the first name is compressed: ".local" is written once.
        assert_eq!(msg.windows(6).filter(|w| w == b"\x05local").count(), 1);
    }

    #[test]
    fn mdns_edge_cases() {
        let mut out = Vec::new();
        let huge = "t".repeat(300);
        mdns_announce(
            &mut out,
            "_x._tcp.local.",
            "",
            "h.local",
            1,
            &[],
            [0; 4],
            120,
        );
        let (_, _, rrs) = parse(&out);
        assert_eq!(rrs[0].name, "_x._tcp.local");
        assert_eq!(rrs[2].rdata, [0], "empty TXT is one empty string");
        assert_eq!(rrs[3].name, "h.local");
        out.clear();
        let long = vec![huge.as_str(); 400];
        mdns_announce(&mut out, &huge, &huge, &huge, 1, &long, [0; 4], 120);
        let (_, _, rrs) = parse(&out);
        assert!(rrs[2].rdata.len() <= 65535);
        assert!(rrs[0].name.len() <= 253);
    }
}
