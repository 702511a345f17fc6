//! Damaged, truncated and hostile capture files through the public API only: every prefix of a valid
//! file, both classic pcap byte orders and resolutions, pcapng with mixed interfaces, absurd lengths,
//! garbage, and a deterministic mutation loop through the whole pipeline. Nothing here may panic, hang
//! or allocate without bound; each damaged file must end with the documented error at the right offset.

use std::io::Cursor;

use capture::reader::{MAX_RECORD_BYTES, ReaderStats};
use capture::{
    CaptureReader, Direction, Format, LinkType, Pipeline, PipelineConfig, PipelineStats, ReadError,
};

// ---------------------------------------------------------------------------------------------------
// Deterministic pseudo-random numbers (xorshift64*), so every run tests the same inputs.

struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

// ---------------------------------------------------------------------------------------------------
// Frames built by hand.

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;

/// An IPv4 packet carrying one TCP segment (checksums left zero: nothing here verifies them).
fn ipv4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let total = u16::try_from(20 + 20 + payload.len()).unwrap();
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, 6, 0, 0]); // id, DF, TTL, TCP, checksum
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&ports.0.to_be_bytes());
    p.extend_from_slice(&ports.1.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[5 << 4, flags, 0x20, 0x00, 0, 0, 0, 0]); // offset, flags, window, csum, urg
    p.extend_from_slice(payload);
    p
}

/// An Ethernet II frame around an IPv4 packet.
fn ethernet(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(ip);
    f
}

/// A short TCP conversation (handshake, one request, one response, both FINs) as IPv4 packets.
fn conversation() -> Vec<Vec<u8>> {
    let (c, s) = ((40_000, 2575), (2575, 40_000));
    let req = b"MSH|^~\\&|PUMP|ICU|EMR|HOSP|20250101||ORU^R01|1|P|2.5\r";
    let resp = b"MSH|^~\\&|EMR|HOSP|PUMP|ICU|20250101||ACK|1|P|2.5\r";
    let (ci, si) = (1000u32, 5000u32);
    let cl = req.len() as u32;
    let sl = resp.len() as u32;
    vec![
        ipv4_tcp(CLIENT, SERVER, c, ci, 0, SYN, b""),
        ipv4_tcp(SERVER, CLIENT, s, si, ci + 1, SYN | ACK, b""),
        ipv4_tcp(CLIENT, SERVER, c, ci + 1, si + 1, ACK, b""),
        ipv4_tcp(CLIENT, SERVER, c, ci + 1, si + 1, PSH_ACK, req),
        ipv4_tcp(SERVER, CLIENT, s, si + 1, ci + 1 + cl, PSH_ACK, resp),
        ipv4_tcp(CLIENT, SERVER, c, ci + 1 + cl, si + 1 + sl, FIN_ACK, b""),
        ipv4_tcp(SERVER, CLIENT, s, si + 1 + sl, ci + 2 + cl, FIN_ACK, b""),
        ipv4_tcp(CLIENT, SERVER, c, ci + 2 + cl, si + 2 + sl, ACK, b""),
    ]
}

// ---------------------------------------------------------------------------------------------------
// Capture files built by hand, remembering where each record starts and ends and what it should read as.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Packet {
    ts_nanos: i64,
    link: LinkType,
    data: Vec<u8>,
    orig_len: u32,
}

#[derive(Debug, Clone)]
struct Record {
    start: usize,
    end: usize,
    /// `None` for records that are not packets (pcapng SHB, IDB, ...).
    packet: Option<Packet>,
}

#[derive(Debug, Clone, Default)]
struct Built {
    bytes: Vec<u8>,
    /// Length of the file header (classic header, or the first SHB): a shorter prefix is not a capture.
    header_len: usize,
    records: Vec<Record>,
}

impl Built {
    fn packets(&self) -> Vec<Packet> {
        self.records
            .iter()
            .filter_map(|r| r.packet.clone())
            .collect()
    }
}

/// A classic pcap file in either byte order and either timestamp resolution.
struct Pcap {
    big_endian: bool,
    nanosecond: bool,
    link: LinkType,
    out: Built,
}

impl Pcap {
    fn new(big_endian: bool, nanosecond: bool, link: LinkType) -> Pcap {
        let mut p = Pcap {
            big_endian,
            nanosecond,
            link,
            out: Built::default(),
        };
        let magic: u32 = if nanosecond { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        p.u32(magic);
        p.u16(2);
        p.u16(4);
        p.u32(0); // thiszone
        p.u32(0); // sigfigs
        p.u32(262_144); // snaplen
        p.u32(link.0);
        p.out.header_len = p.out.bytes.len();
        p
    }

    fn u16(&mut self, v: u16) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.bytes.extend_from_slice(&b);
    }

    fn u32(&mut self, v: u32) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.bytes.extend_from_slice(&b);
    }

    /// One record; `frac` is in micro- or nanoseconds according to the file's magic.
    fn record(&mut self, secs: u32, frac: u32, data: &[u8], orig_len: u32) -> &mut Pcap {
        let start = self.out.bytes.len();
        self.u32(secs);
        self.u32(frac);
        self.u32(data.len() as u32);
        self.u32(orig_len);
        self.out.bytes.extend_from_slice(data);
        let scale = if self.nanosecond { 1 } else { 1000 };
        let packet = Packet {
            ts_nanos: i64::from(secs) * 1_000_000_000 + i64::from(frac) * scale,
            link: self.link,
            data: data.to_vec(),
            orig_len,
        };
        self.out.records.push(Record {
            start,
            end: self.out.bytes.len(),
            packet: Some(packet),
        });
        self
    }

    /// A record header claiming `caplen` bytes, followed by `body` whatever its length.
    fn raw_record(&mut self, caplen: u32, orig_len: u32, body: &[u8]) -> usize {
        let start = self.out.bytes.len();
        self.u32(1_700_000_000);
        self.u32(0);
        self.u32(caplen);
        self.u32(orig_len);
        self.out.bytes.extend_from_slice(body);
        start
    }
}

/// The conversation as a little-endian microsecond pcap of Ethernet frames, 1 ms apart.
fn valid_pcap() -> Built {
    let mut p = Pcap::new(false, false, LinkType::ETHERNET);
    for (i, ip) in conversation().iter().enumerate() {
        let f = ethernet(ip);
        p.record(1_700_000_000, 250_000 + i as u32 * 1000, &f, f.len() as u32);
    }
    // One snaplen-cut record: captured 40 of 60 bytes.
    let f = ethernet(&ipv4_tcp(CLIENT, SERVER, (1, 2), 0, 0, ACK, &[0xaa; 6]));
    p.record(1_700_000_001, 999_999, &f[..40], f.len() as u32);
    p.out
}

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 0x0000_0001;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// A little-endian pcapng file built block by block.
#[derive(Default)]
struct PcapNg {
    /// Per interface of the current section: link type and units per second.
    interfaces: Vec<(LinkType, u64)>,
    last_ts: i64,
    out: Built,
}

impl PcapNg {
    fn new() -> PcapNg {
        let mut p = PcapNg::default();
        p.section();
        p.out.header_len = p.out.bytes.len();
        p
    }

    fn block(&mut self, kind: u32, body: &[u8], packet: Option<Packet>) -> &mut PcapNg {
        let mut body = body.to_vec();
        pad4(&mut body);
        let len = u32::try_from(12 + body.len()).unwrap();
        let start = self.out.bytes.len();
        self.out.bytes.extend_from_slice(&kind.to_le_bytes());
        self.out.bytes.extend_from_slice(&len.to_le_bytes());
        self.out.bytes.extend_from_slice(&body);
        self.out.bytes.extend_from_slice(&len.to_le_bytes());
        self.out.records.push(Record {
            start,
            end: self.out.bytes.len(),
            packet,
        });
        self
    }

    /// A new section: interface ids start again from 0.
    fn section(&mut self) -> &mut PcapNg {
        let mut b = Vec::new();
        b.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        self.interfaces.clear();
        self.block(SHB, &b, None)
    }

    /// An interface; `tsresol` is the raw `if_tsresol` option value (none: microseconds).
    fn interface(&mut self, link: LinkType, tsresol: Option<u8>) -> &mut PcapNg {
        let mut b = Vec::new();
        b.extend_from_slice(&u16::try_from(link.0).unwrap().to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&262_144u32.to_le_bytes());
        let units = match tsresol {
            Some(r) => {
                b.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
                b.extend_from_slice(&1u16.to_le_bytes());
                b.extend_from_slice(&[r, 0, 0, 0]);
                b.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
                10u64.pow(u32::from(r))
            }
            None => 1_000_000,
        };
        self.interfaces.push((link, units));
        self.block(IDB, &b, None)
    }

    /// An Enhanced Packet Block; `units` is the timestamp in the interface's resolution.
    fn epb(&mut self, if_id: u32, units: u64, data: &[u8], orig_len: u32) -> &mut PcapNg {
        let mut b = Vec::new();
        b.extend_from_slice(&if_id.to_le_bytes());
        b.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(units as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&orig_len.to_le_bytes());
        b.extend_from_slice(data);
        let packet = self.interfaces.get(if_id as usize).map(|&(link, per_sec)| {
            let secs = (units / per_sec) as i64;
            let frac = (u128::from(units % per_sec) * 1_000_000_000 / u128::from(per_sec)) as i64;
            self.last_ts = secs * 1_000_000_000 + frac;
            Packet {
                ts_nanos: self.last_ts,
                link,
                data: data.to_vec(),
                orig_len,
            }
        });
        self.block(EPB, &b, packet)
    }

    /// A Simple Packet Block: interface 0, the previous packet's time, `data.len()` captured.
    fn spb(&mut self, data: &[u8]) -> &mut PcapNg {
        let mut b = Vec::new();
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        let packet = self.interfaces.first().map(|&(link, _)| Packet {
            ts_nanos: self.last_ts,
            link,
            data: data.to_vec(),
            orig_len: data.len() as u32,
        });
        self.block(SPB, &b, packet)
    }
}

const MICRO_TS: u64 = 1_700_000_000_123_456; // microseconds
const NANO_TS: u64 = 1_700_000_000_987_654_321; // nanoseconds

/// SHB, an Ethernet interface in microseconds (default) and a raw-IP interface in nanoseconds
/// (`if_tsresol` = 9), EPBs on both, then one SPB (interface 0). Frame lengths are multiples of 4 so
/// no block carries padding (see `pcapng_simple_packet_block_padding_is_not_packet_data`).
fn valid_pcapng() -> Built {
    let conv = conversation();
    let mut p = PcapNg::new();
    p.interface(LinkType::ETHERNET, None)
        .interface(LinkType::RAW, Some(9));
    let syn = ethernet(&conv[0]); // 54 bytes: padded in the EPB, sliced back to caplen
    p.epb(0, MICRO_TS, &syn, syn.len() as u32);
    p.epb(1, NANO_TS, &conv[1], conv[1].len() as u32);
    let ack = ethernet(&conv[2]);
    p.epb(0, MICRO_TS + 1, &ack[..40], ack.len() as u32); // snaplen-cut
    p.epb(1, NANO_TS + 1, &conv[3], conv[3].len() as u32);
    let fin = ethernet(&conv[5]);
    p.spb(&[fin.as_slice(), &[0, 0]].concat()); // 56 bytes: Ethernet pads, no block padding
    p.out
}

// ---------------------------------------------------------------------------------------------------
// Reading.

#[derive(Debug)]
enum End {
    Clean,
    Failed(ReadError),
}

#[derive(Debug)]
struct ReadOutcome {
    format: Format,
    packets: Vec<Packet>,
    end: End,
    stats: ReaderStats,
}

/// Reads a whole file, or the error from `CaptureReader::new`. Fails the test if the reader returns
/// more packets than the file could possibly hold (a loop that does not advance).
fn read_all(bytes: &[u8]) -> Result<ReadOutcome, ReadError> {
    let mut reader = CaptureReader::new(Cursor::new(bytes.to_vec()))?;
    let mut packets = Vec::new();
    let end = loop {
        match reader.next_packet() {
            Ok(Some(p)) => packets.push(Packet {
                ts_nanos: p.ts.as_nanos(),
                link: p.link,
                data: p.data.to_vec(),
                orig_len: p.orig_len,
            }),
            Ok(None) => break End::Clean,
            Err(e) => break End::Failed(e),
        }
        // Every record takes at least 12 bytes (pcapng SPB) and 16 in classic pcap.
        assert!(
            packets.len() <= bytes.len() / 12 + 1,
            "reader does not advance"
        );
    };
    Ok(ReadOutcome {
        format: reader.format(),
        packets,
        end,
        stats: reader.stats(),
    })
}

/// Every prefix of `built` reads as the complete records it holds and then ends cleanly on a record
/// boundary, or with `Truncated` at the start of the record that was cut; below the file header,
/// `CaptureReader::new` fails.
fn check_every_prefix(built: &Built, what: &str) {
    for len in 0..=built.bytes.len() {
        let read = read_all(&built.bytes[..len]);
        let Ok(read) = read else {
            assert!(
                len < built.header_len,
                "{what}: prefix of {len} bytes (header is {}) was refused: {:?}",
                built.header_len,
                read.err()
            );
            if len == 0 {
                assert!(matches!(read, Err(ReadError::Empty)), "{what}: {read:?}");
            }
            continue;
        };
        assert!(
            len >= built.header_len,
            "{what}: prefix of {len} bytes, shorter than the {}-byte header, was accepted",
            built.header_len
        );
        let complete: Vec<Packet> = built
            .records
            .iter()
            .filter(|r| r.end <= len)
            .filter_map(|r| r.packet.clone())
            .collect();
        assert_eq!(
            read.packets.len(),
            complete.len(),
            "{what}: prefix of {len} bytes: packet count"
        );
        assert_eq!(read.packets, complete, "{what}: prefix of {len} bytes");
        let cut = built.records.iter().find(|r| r.start < len && len < r.end);
        match (cut, &read.end) {
            (None, End::Clean) => {}
            (Some(r), End::Failed(ReadError::Truncated { offset })) => assert_eq!(
                *offset, r.start as u64,
                "{what}: prefix of {len} bytes cuts the record at {}",
                r.start
            ),
            (cut, end) => panic!(
                "{what}: prefix of {len} bytes: cut record {:?}, reader ended with {end:?}",
                cut.map(|r| r.start)
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The pipeline.

/// Reads `bytes` through the whole pipeline to the end or the first read error.
fn run_pipeline(bytes: &[u8]) -> Option<(capture::CollectingHandler, PipelineStats)> {
    let mut reader = CaptureReader::new(Cursor::new(bytes.to_vec())).ok()?;
    let mut pipeline = Pipeline::new(
        PipelineConfig::default(),
        capture::CollectingHandler::default(),
    );
    let mut n = 0usize;
    while let Ok(Some(p)) = reader.next_packet() {
        pipeline.packet(&p);
        n += 1;
        assert!(n <= bytes.len() / 12 + 1, "reader does not advance");
    }
    Some(pipeline.finish())
}

/// Every frame lands in exactly one of the pipeline's per-frame outcomes, and every tunnel it carries
/// adds one more (the inner header is decoded and counted again).
fn assert_frames_accounted(s: &PipelineStats) {
    assert_eq!(
        s.decode_errors + s.unsupported_link + s.non_ip + s.ipv4 + s.ipv6,
        s.packets + s.tunneled,
        "{s:?}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Classic pcap.

#[test]
fn pcap_full_file_reads_every_record_exactly() {
    let built = valid_pcap();
    let read = read_all(&built.bytes).unwrap();
    assert_eq!(
        read.format,
        Format::Pcap {
            nanosecond: false,
            big_endian: false
        }
    );
    assert!(matches!(read.end, End::Clean), "{:?}", read.end);
    assert_eq!(read.packets.len(), 9);
    assert_eq!(read.packets, built.packets());
    assert_eq!(read.packets[0].ts_nanos, 1_700_000_000_250_000_000);
    assert_eq!(read.packets[7].ts_nanos, 1_700_000_000_257_000_000);
    assert_eq!(read.packets[8].ts_nanos, 1_700_000_001_999_999_000);
    assert!(read.packets.iter().all(|p| p.link == LinkType::ETHERNET));
    assert_eq!(read.packets[8].data.len(), 40);
    assert_eq!(read.packets[8].orig_len, 60);
    assert_eq!(read.stats.bad_records, 0);
}

#[test]
fn pcap_every_prefix_reads_complete_records_then_truncated() {
    check_every_prefix(&valid_pcap(), "pcap");
}

#[test]
fn pcap_big_endian_and_nanosecond_variants_read_exact_timestamps() {
    let frame = ethernet(&conversation()[0]);
    for (big_endian, nanosecond) in [(true, false), (false, true), (true, true)] {
        let mut p = Pcap::new(big_endian, nanosecond, LinkType::ETHERNET);
        let frac = if nanosecond { 123_456_789 } else { 123_456 };
        p.record(1_700_000_000, frac, &frame, frame.len() as u32);
        p.record(1_700_000_002, 0, &frame, frame.len() as u32);
        p.record(1_700_000_003, frac + 1, &frame[..20], frame.len() as u32);
        let built = p.out;
        let what = format!("pcap big_endian={big_endian} nanosecond={nanosecond}");
        let read = read_all(&built.bytes).unwrap();
        assert_eq!(
            read.format,
            Format::Pcap {
                nanosecond,
                big_endian
            },
            "{what}"
        );
        assert!(matches!(read.end, End::Clean), "{what}: {:?}", read.end);
        let want = if nanosecond {
            [
                1_700_000_000_123_456_789,
                1_700_000_002_000_000_000,
                1_700_000_003_123_456_790,
            ]
        } else {
            [
                1_700_000_000_123_456_000,
                1_700_000_002_000_000_000,
                1_700_000_003_123_457_000,
            ]
        };
        let got: Vec<i64> = read.packets.iter().map(|p| p.ts_nanos).collect();
        assert_eq!(got, want, "{what}");
        assert_eq!(read.packets, built.packets(), "{what}");
        check_every_prefix(&built, &what);
    }
}

#[test]
fn pcap_link_type_comes_from_the_file_header() {
    let ip = conversation()[0].clone();
    let mut p = Pcap::new(false, false, LinkType::RAW);
    p.record(1, 0, &ip, ip.len() as u32);
    let read = read_all(&p.out.bytes).unwrap();
    assert_eq!(read.packets.len(), 1);
    assert_eq!(read.packets[0].link, LinkType::RAW);
    let (_, stats) = run_pipeline(&p.out.bytes).unwrap();
    assert_eq!((stats.ipv4, stats.tcp, stats.decode_errors), (1, 1, 0));
}

#[test]
fn pcap_caplen_0x7fffffff_fails_at_the_record_without_buffering_it() {
    let frame = ethernet(&conversation()[0]);
    let mut p = Pcap::new(false, false, LinkType::ETHERNET);
    p.record(1_700_000_000, 0, &frame, frame.len() as u32);
    p.record(1_700_000_000, 1, &frame, frame.len() as u32);
    let bad = p.raw_record(0x7fff_ffff, 0x7fff_ffff, &[0x55; 300]);
    let read = read_all(&p.out.bytes).unwrap();
    assert_eq!(read.packets.len(), 2);
    match read.end {
        End::Failed(ReadError::Truncated { offset } | ReadError::Corrupt { offset, .. }) => {
            assert_eq!(offset, bad as u64)
        }
        other => panic!("expected Truncated or Corrupt at {bad}, got {other:?}"),
    }

    // Same in big-endian, with the huge record first.
    let mut p = Pcap::new(true, false, LinkType::ETHERNET);
    let bad = p.raw_record(0x7fff_ffff, 64, &[0x55; 64]);
    let read = read_all(&p.out.bytes).unwrap();
    assert!(read.packets.is_empty());
    assert!(
        matches!(read.end, End::Failed(ReadError::Truncated { offset } | ReadError::Corrupt { offset, .. }) if offset == bad as u64),
        "{:?}",
        read.end
    );
}

#[test]
fn pcap_huge_caplen_with_the_data_present_is_capped() {
    // A record claiming 40 MiB with 40 MiB behind it: the reader must give up at its cap rather than
    // buffer the whole record.
    let body = vec![0u8; 40 << 20];
    let mut p = Pcap::new(false, false, LinkType::ETHERNET);
    let bad = p.raw_record(40 << 20, 40 << 20, &body);
    let read = read_all(&p.out.bytes).unwrap();
    assert!(read.packets.is_empty());
    assert!(
        matches!(&read.end, End::Failed(ReadError::Corrupt { offset, .. }) if *offset == bad as u64),
        "{:?}",
        read.end
    );
}

/// Records larger than the first read buffer (256 KiB, kept small so that what it holds is still in
/// the core's L2 cache when the packets are parsed) make it grow, up to a record of the largest size
/// accepted (`MAX_RECORD_BYTES` with its 16-byte header); the records around them are read as they
/// were written.
#[test]
fn pcap_records_larger_than_the_read_buffer_are_read_whole() {
    let mut p = Pcap::new(false, false, LinkType::ETHERNET);
    let small = ethernet(&conversation()[0]);
    let mut t = 0;
    for len in [
        (256 << 10) - 16,
        (256 << 10) - 15,
        256 << 10,
        (256 << 10) + 1,
        1 << 20,
        (1 << 20) + 17,
        MAX_RECORD_BYTES - 16,
    ] {
        let big: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        p.record(1_700_000_000, t, &small, small.len() as u32);
        p.record(1_700_000_000, t + 1, &big, len as u32);
        t += 2;
    }
    p.record(1_700_000_001, 0, &small, small.len() as u32);
    let read = read_all(&p.out.bytes).unwrap();
    assert!(matches!(read.end, End::Clean), "{:?}", read.end);
    assert_eq!(read.packets, p.out.packets());
    assert_eq!(read.stats.bad_records, 0);
}

// Regression: `CaptureReader::grow` once let a record of up to twice `MAX_RECORD_BYTES` through; the
// reader now reads the declared record length and refuses anything over the constant.
#[test]
fn pcap_record_one_byte_over_max_record_bytes_is_corrupt() {
    let len = MAX_RECORD_BYTES + 1;
    let body = vec![0u8; len];
    let mut p = Pcap::new(false, false, LinkType::ETHERNET);
    p.record(1, 0, &ethernet(&conversation()[0]), 54);
    let bad = p.raw_record(len as u32, len as u32, &body);
    let read = read_all(&p.out.bytes).unwrap();
    assert_eq!(
        read.packets.len(),
        1,
        "the oversized record was returned as a packet"
    );
    assert!(
        matches!(&read.end, End::Failed(ReadError::Corrupt { offset, .. }) if *offset == bad as u64),
        "{:?}",
        read.end
    );
}

#[test]
fn pcap_impossible_records_are_skipped_and_counted() {
    let frame = ethernet(&conversation()[0]);
    let mut p = Pcap::new(false, false, LinkType::ETHERNET);
    p.record(1, 0, &frame, frame.len() as u32);
    p.raw_record(frame.len() as u32, 10, &frame); // caplen > orig_len
    p.record(2, 0, &frame, frame.len() as u32);
    // Microseconds out of range.
    let start = p.out.bytes.len();
    p.u32(3);
    p.u32(1_000_000);
    p.u32(frame.len() as u32);
    p.u32(frame.len() as u32);
    p.out.bytes.extend_from_slice(&frame);
    assert!(p.out.bytes.len() > start);
    p.record(4, 0, &frame, frame.len() as u32);
    let read = read_all(&p.out.bytes).unwrap();
    assert!(matches!(read.end, End::Clean), "{:?}", read.end);
    let secs: Vec<i64> = read
        .packets
        .iter()
        .map(|p| p.ts_nanos / 1_000_000_000)
        .collect();
    assert_eq!(secs, [1, 2, 4]);
    assert_eq!(read.stats.bad_records, 2);
}

// ---------------------------------------------------------------------------------------------------
// pcapng.

#[test]
fn pcapng_full_file_reads_both_interfaces_with_their_resolutions() {
    let built = valid_pcapng();
    let read = read_all(&built.bytes).unwrap();
    assert_eq!(read.format, Format::PcapNg);
    assert!(matches!(read.end, End::Clean), "{:?}", read.end);
    assert_eq!(read.stats.bad_records, 0);
    assert_eq!(read.packets.len(), 5);
    let ts: Vec<i64> = read.packets.iter().map(|p| p.ts_nanos).collect();
    let micro = MICRO_TS as i64 * 1000;
    let nano = NANO_TS as i64;
    assert_eq!(ts, [micro, nano, micro + 1000, nano + 1, nano + 1]);
    let links: Vec<LinkType> = read.packets.iter().map(|p| p.link).collect();
    assert_eq!(
        links,
        [
            LinkType::ETHERNET,
            LinkType::RAW,
            LinkType::ETHERNET,
            LinkType::RAW,
            LinkType::ETHERNET
        ]
    );
    // EPB padding is not packet data; the cut EPB keeps its original length.
    assert_eq!(read.packets[0].data.len(), 54);
    assert_eq!(
        (read.packets[2].data.len(), read.packets[2].orig_len),
        (40, 54)
    );
    assert_eq!(read.packets, built.packets());

    // And the frames decode: 3 Ethernet frames and 2 raw IPv4 packets.
    let (_, stats) = run_pipeline(&built.bytes).unwrap();
    // The cut ACK keeps 6 bytes of its TCP header: IPv4, counted as truncated, not as TCP.
    assert_eq!(stats.packets, 5);
    assert_eq!((stats.ipv4, stats.tcp, stats.decode_errors), (5, 4, 0));
    assert_eq!((stats.truncated, stats.other_ip), (1, 1));
}

#[test]
fn pcapng_every_prefix_reads_complete_blocks_then_truncated() {
    check_every_prefix(&valid_pcapng(), "pcapng");
}

#[test]
fn pcapng_packet_on_undeclared_interface_is_skipped_and_counted() {
    let frame = ethernet(&conversation()[0]);
    let mut p = PcapNg::new();
    p.interface(LinkType::ETHERNET, None);
    p.epb(0, 1_000_000, &frame, frame.len() as u32);
    p.epb(7, 2_000_000, &frame, frame.len() as u32); // no interface 7
    p.epb(0, 3_000_000, &frame, frame.len() as u32);
    // A new section forgets the interfaces of the previous one.
    p.section();
    p.epb(0, 4_000_000, &frame, frame.len() as u32);
    p.spb(&frame[..52]);
    p.interface(LinkType::ETHERNET, Some(9));
    p.epb(0, 5_000_000_000, &frame, frame.len() as u32);
    let built = p.out;
    let read = read_all(&built.bytes).unwrap();
    assert!(matches!(read.end, End::Clean), "{:?}", read.end);
    let secs: Vec<i64> = read
        .packets
        .iter()
        .map(|p| p.ts_nanos / 1_000_000_000)
        .collect();
    assert_eq!(secs, [1, 3, 5]);
    assert_eq!(read.stats.bad_records, 3);
    assert_eq!(read.packets, built.packets());
}

// Regression: a Simple Packet Block's body is padded to 32 bits and pcap-parser's `data` includes the
// padding; the reader once handed it to the decoder as frame bytes. It now cuts at the block's original
// length.
#[test]
fn pcapng_simple_packet_block_padding_is_not_packet_data() {
    let frame = ethernet(&conversation()[0]); // 54 bytes: 2 bytes of block padding
    assert_eq!(frame.len() % 4, 2);
    let mut p = PcapNg::new();
    p.interface(LinkType::ETHERNET, None);
    p.epb(0, MICRO_TS, &frame, frame.len() as u32);
    p.spb(&frame);
    let built = p.out;
    let read = read_all(&built.bytes).unwrap();
    assert!(matches!(read.end, End::Clean), "{:?}", read.end);
    assert_eq!(read.packets.len(), 2);
    assert_eq!(
        read.packets[1].data.len(),
        54,
        "SPB padding returned as frame data"
    );
    assert_eq!(read.packets[1].orig_len, 54);
    assert_eq!(read.packets, built.packets());
}

#[test]
fn pcapng_absurd_block_length_fails_at_the_block() {
    let frame = ethernet(&conversation()[0]);
    let mut p = PcapNg::new();
    p.interface(LinkType::ETHERNET, None);
    p.epb(0, 1, &frame, frame.len() as u32);
    let bad = p.out.bytes.len();
    p.out.bytes.extend_from_slice(&EPB.to_le_bytes());
    p.out.bytes.extend_from_slice(&0x7fff_fff0u32.to_le_bytes());
    p.out.bytes.extend_from_slice(&[0x55; 200]);
    let read = read_all(&p.out.bytes).unwrap();
    assert_eq!(read.packets.len(), 1);
    assert!(
        matches!(read.end, End::Failed(ReadError::Truncated { offset } | ReadError::Corrupt { offset, .. }) if offset == bad as u64),
        "{:?}",
        read.end
    );

    // A block length below the minimum is corrupt, not a loop.
    let mut p = PcapNg::new();
    p.interface(LinkType::ETHERNET, None);
    let bad = p.out.bytes.len();
    p.out.bytes.extend_from_slice(&EPB.to_le_bytes());
    p.out.bytes.extend_from_slice(&4u32.to_le_bytes());
    p.out.bytes.extend_from_slice(&[0; 64]);
    let read = read_all(&p.out.bytes).unwrap();
    assert!(read.packets.is_empty());
    assert!(
        matches!(read.end, End::Failed(ReadError::Corrupt { offset, .. }) if offset == bad as u64),
        "{:?}",
        read.end
    );
}

// ---------------------------------------------------------------------------------------------------
// Not captures at all.

#[test]
fn empty_file_is_empty() {
    assert!(matches!(
        CaptureReader::new(Cursor::new(Vec::new())),
        Err(ReadError::Empty)
    ));
    assert!(matches!(read_all(&[]), Err(ReadError::Empty)));
}

#[test]
fn random_garbage_is_not_a_capture() {
    let mut rng = XorShift::new(0x5eed_0001);
    for len in [1, 3, 4, 23, 24, 100, 4096, 100_000] {
        let mut bytes = rng.bytes(len);
        bytes[0] = 0x00; // no magic starts with 0
        let r = CaptureReader::new(Cursor::new(bytes));
        assert!(
            matches!(r, Err(ReadError::NotACapture)),
            "{len} bytes: {:?}",
            r.err()
        );
    }
    // Text is not a capture either.
    let r = CaptureReader::new(Cursor::new(b"MSH|^~\\&|PUMP|ICU\r".to_vec()));
    assert!(matches!(r, Err(ReadError::NotACapture)), "{:?}", r.err());
}

#[test]
fn valid_magic_then_garbage_never_panics() {
    let mut rng = XorShift::new(0x5eed_0002);
    let pcap_header = valid_pcap().bytes[..24].to_vec();
    let ng_header = valid_pcapng().bytes[..28].to_vec();
    for i in 0..400 {
        let header = if i % 2 == 0 { &pcap_header } else { &ng_header };
        let len = rng.below(2000);
        let bytes = [header.as_slice(), &rng.bytes(len)].concat();
        let Ok(read) = read_all(&bytes) else {
            continue;
        };
        if let End::Failed(e) = &read.end {
            assert!(e.is_partial(), "{e:?}");
            if let ReadError::Truncated { offset } | ReadError::Corrupt { offset, .. } = e {
                assert!(
                    *offset <= bytes.len() as u64,
                    "{e:?} beyond {} bytes",
                    bytes.len()
                );
            }
        }
        let _ = run_pipeline(&bytes);
    }
}

// ---------------------------------------------------------------------------------------------------
// Through the whole pipeline.

#[test]
fn valid_conversation_reassembles() {
    let (collect, stats) = run_pipeline(&valid_pcap().bytes).unwrap();
    // The last record is cut inside its TCP header: IPv4 but no TCP segment.
    assert_eq!(stats.packets, 9);
    assert_eq!((stats.ipv4, stats.tcp, stats.other_ip), (9, 8, 1));
    assert_eq!(stats.truncated, 1);
    assert_frames_accounted(&stats);
    let (record, consumer) = collect
        .flows
        .iter()
        .find(|(r, _)| r.server.port == 2575)
        .expect("the HL7 flow");
    assert!(record.handshake_seen);
    assert!(consumer.bytes(Direction::ToServer).starts_with(b"MSH|"));
    assert!(consumer.bytes(Direction::ToClient).starts_with(b"MSH|"));
}

#[test]
fn garbage_frames_count_decode_errors_on_every_link_type() {
    let mut rng = XorShift::new(0x5eed_0003);
    for link in [0u32, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147, 0xffff] {
        let mut p = Pcap::new(false, false, LinkType(link));
        for i in 0..600u32 {
            let len = rng.below(120);
            let mut frame = rng.bytes(len);
            // Steer a share of the frames past the link layer into IP.
            match (link, i % 3) {
                (1, 0) if len >= 15 => {
                    frame[12..14].copy_from_slice(&[0x08, 0x00]);
                    frame[14] = 0x40 | (frame[14] & 0x0f);
                }
                (1, 1) if len >= 15 => {
                    frame[12..14].copy_from_slice(&[0x86, 0xdd]);
                    frame[14] = 0x60 | (frame[14] & 0x0f);
                }
                (12 | 14 | 101 | 228, 0) if len >= 1 => frame[0] = 0x40 | (frame[0] & 0x0f),
                (229, 0) if len >= 1 => frame[0] = 0x60 | (frame[0] & 0x0f),
                _ => {}
            }
            let orig = len as u32 + if i % 5 == 0 { rng.below(100) as u32 } else { 0 };
            p.record(1_700_000_000 + i / 10, i * 100, &frame, orig);
        }
        let (_, stats) = run_pipeline(&p.out.bytes).unwrap();
        assert_eq!(stats.packets, 600, "link {link}");
        assert_frames_accounted(&stats);
        if LinkType(link).is_supported() {
            assert!(stats.decode_errors > 0, "link {link}: {stats:?}");
        } else {
            assert_eq!(stats.unsupported_link, 600, "link {link}");
        }
    }
}

/// Flips, overwrites, inserts and deletes bytes of a valid file, then reads it through the pipeline.
fn mutation_loop(base: &[u8], seed: u64, rounds: usize) {
    let mut rng = XorShift::new(seed);
    for round in 0..rounds {
        let mut bytes = base.to_vec();
        for _ in 0..1 + rng.below(8) {
            match rng.below(10) {
                0..=5 => {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
                6 => {
                    let at = rng.below(bytes.len());
                    bytes[at] = [0x00, 0xff, 0x7f, 0x80][rng.below(4)];
                }
                7 => {
                    // A whole 32-bit field: lengths, interface ids, timestamps.
                    let at = rng.below(bytes.len().saturating_sub(4).max(1));
                    let v =
                        [0u32, u32::MAX, 0x7fff_ffff, 0x8000_0000, rng.next() as u32][rng.below(5)];
                    let end = (at + 4).min(bytes.len());
                    bytes[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
                }
                8 => {
                    let at = rng.below(bytes.len() + 1);
                    let n = rng.below(16);
                    let junk = rng.bytes(n);
                    bytes.splice(at..at, junk);
                }
                _ => {
                    let at = rng.below(bytes.len());
                    let n = rng.below(16).min(bytes.len() - at);
                    bytes.drain(at..at + n);
                }
            }
            if bytes.is_empty() {
                bytes.push(0);
            }
        }
        if round % 7 == 0 {
            let keep = rng.below(bytes.len() + 1);
            bytes.truncate(keep);
        }
        if let Ok(read) = read_all(&bytes)
            && let End::Failed(e) = &read.end
        {
            assert!(e.is_partial(), "round {round}: {e:?}");
        }
        if let Some((_, stats)) = run_pipeline(&bytes) {
            assert_frames_accounted(&stats);
        }
    }
}

#[test]
fn mutated_pcap_never_panics() {
    mutation_loop(&valid_pcap().bytes, 0x5eed_0004, 3000);
}

#[test]
fn mutated_pcapng_never_panics() {
    mutation_loop(&valid_pcapng().bytes, 0x5eed_0005, 3000);
}

// ---------------------------------------------------------------------------------------------------
// Regressions found by `fuzz/` (capture_pipeline), minimised with `cargo fuzz tmin`.

// Regression, found by fuzzing: pcap-parser 0.17 panics (subtract with overflow in pcapng/block.rs)
// on a Process Information Block whose length is 4..=11; the reader now refuses any pcapng block shorter
// than 12 bytes before pcap-parser sees it.
const PCAPNG_SHORT_PROCESS_INFORMATION_BLOCK: [u8; 36] = [
    0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0x00, 0x00, 0x00, 0x4d, 0x3c, 0x2b, 0x1a, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x1c, 0x00, 0x00, 0x00, // SHB, 28 bytes
    0x01, 0x00, 0x00, 0x80, 0x04, 0x00, 0x00, 0x00, // PIB claiming a total length of 4
];

#[test]
fn pcapng_process_information_block_shorter_than_12_bytes_is_corrupt() {
    let read = read_all(&PCAPNG_SHORT_PROCESS_INFORMATION_BLOCK).unwrap();
    assert!(read.packets.is_empty());
    assert!(
        matches!(read.end, End::Failed(ReadError::Truncated { offset } | ReadError::Corrupt { offset, .. }) if offset == 28),
        "{:?}",
        read.end
    );
    // With a valid packet before it, that packet is still read.
    let frame = ethernet(&conversation()[0]);
    let mut p = PcapNg::new();
    p.interface(LinkType::ETHERNET, None);
    p.epb(0, MICRO_TS, &frame, frame.len() as u32);
    let bad = p.out.bytes.len();
    p.out
        .bytes
        .extend_from_slice(&PCAPNG_SHORT_PROCESS_INFORMATION_BLOCK[28..]);
    p.out.bytes.extend_from_slice(&[0; 64]);
    let read = read_all(&p.out.bytes).unwrap();
    assert_eq!(read.packets.len(), 1);
    assert!(
        matches!(read.end, End::Failed(ReadError::Truncated { offset } | ReadError::Corrupt { offset, .. }) if offset == bad as u64),
        "{:?}",
        read.end
    );
}
