//! Capture files: classic pcap (both byte orders, micro- and nanosecond) and pcapng (several interfaces,
//! each with its own link type and timestamp resolution), detected from the content and streamed.

use std::io::Read;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use crate::decode::LinkType;
use crate::time::Timestamp;

/// First read buffer; grows for larger records up to [`MAX_RECORD_BYTES`].
const INITIAL_BUFFER: usize = 256 << 10;
/// A record larger than this is taken as corruption rather than buffered (snaplens are at most 256 KiB).
pub const MAX_RECORD_BYTES: usize = 16 << 20;
/// Bytes read up front to detect the format and parse the file header.
const PREFIX_BYTES: usize = 64 << 10;
/// pcapng files may declare many interfaces; more than this is taken as corruption.
const MAX_INTERFACES: usize = 4096;

/// One captured frame, borrowed from the reader's buffer until the next call to [`CaptureReader::next_packet`].
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    pub ts: Timestamp,
    pub link: LinkType,
    pub data: &'a [u8],
    /// The frame's length on the wire; larger than `data.len()` when the capture was snaplen-truncated.
    pub orig_len: u32,
}

/// The container format, detected from the first bytes of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap { nanosecond: bool, big_endian: bool },
    PcapNg,
}

/// Why a capture could not be read (further).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("not a pcap or pcapng capture (unrecognised file header)")]
    NotACapture,
    #[error("empty file, not a capture")]
    Empty,
    #[error("capture ends in the middle of a record at byte offset {offset}")]
    Truncated { offset: u64 },
    #[error("corrupt record at byte offset {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    #[error("read error at byte offset {offset}")]
    Io { offset: u64 },
}

impl ReadError {
    /// True when the records before the error were read and are usable (the file is damaged, not unreadable).
    pub fn is_partial(&self) -> bool {
        matches!(
            self,
            ReadError::Truncated { .. } | ReadError::Corrupt { .. } | ReadError::Io { .. }
        )
    }
}

/// Counters of what the reader skipped without stopping.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReaderStats {
    /// Records that cannot be a packet (a pcapng packet for an interface never described, a caplen larger
    /// than the original length, a fraction of a second out of range); each is skipped.
    pub bad_records: u64,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second.
    units_per_sec: u64,
    offset_secs: i64,
}

/// A streaming reader over a pcap or pcapng file. Memory use is bounded by the largest record.
pub struct CaptureReader {
    inner: Box<dyn PcapReaderIterator + Send>,
    format: Format,
    /// Bytes of the file consumed before the pending record.
    offset: u64,
    /// Length of the record returned last, consumed at the next call.
    pending: usize,
    state: State,
}

/// What the reader learns from the file as it goes: link types, resolutions, byte order.
struct State {
    legacy_link: LinkType,
    legacy_nanos: bool,
    /// Once the pcap file header is read, and for the standard record layout only: whether records
    /// are big-endian. [`CaptureReader::next_packet`] then reads a record whole in the buffer itself.
    legacy_records: Option<bool>,
    interfaces: Vec<Interface>,
    /// Byte order of the current pcapng section.
    section_big_endian: bool,
    last_ts: Timestamp,
    stats: ReaderStats,
}

impl CaptureReader {
    /// Detects the format and reads the file header.
    pub fn new<R: Read + Send + 'static>(mut reader: R) -> Result<Self, ReadError> {
        // Read the start of the file ourselves to detect the format, then hand it back through a chain:
        // pcap-parser takes the file header from its first read, so give it a whole prefix at once.
        let mut prefix = vec![0u8; PREFIX_BYTES];
        let mut got = 0;
        while got < prefix.len() {
            match reader.read(&mut prefix[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(ReadError::Io { offset: got as u64 }),
            }
        }
        prefix.truncate(got);
        if got == 0 {
            return Err(ReadError::Empty);
        }
        let mut magic = [0u8; 4];
        magic[..got.min(4)].copy_from_slice(&prefix[..got.min(4)]);
        let format = match magic {
            [0x0a, 0x0d, 0x0d, 0x0a] => Format::PcapNg,
            [0xd4, 0xc3, 0xb2, 0xa1] => Format::Pcap {
                nanosecond: false,
                big_endian: false,
            },
            [0xa1, 0xb2, 0xc3, 0xd4] => Format::Pcap {
                nanosecond: false,
                big_endian: true,
            },
            [0x4d, 0x3c, 0xb2, 0xa1] => Format::Pcap {
                nanosecond: true,
                big_endian: false,
            },
            [0xa1, 0xb2, 0x3c, 0x4d] => Format::Pcap {
                nanosecond: true,
                big_endian: true,
            },
            // Kuznetzov's modified pcap (tcpdump's patched format).
            [0x34, 0xcd, 0xb2, 0xa1] => Format::Pcap {
                nanosecond: false,
                big_endian: false,
            },
            [0xa1, 0xb2, 0xcd, 0x34] => Format::Pcap {
                nanosecond: false,
                big_endian: true,
            },
            _ => return Err(ReadError::NotACapture),
        };
        let chained = std::io::Cursor::new(prefix).chain(reader);
        let inner = pcap_parser::create_reader(INITIAL_BUFFER, chained).map_err(|e| match e {
            PcapError::ReadError => ReadError::Io { offset: 0 },
            PcapError::Eof => ReadError::Empty,
            PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                ReadError::Truncated { offset: 0 }
            }
            _ => ReadError::NotACapture,
        })?;
        Ok(CaptureReader {
            inner,
            format,
            offset: 0,
            pending: 0,
            state: State {
                legacy_link: LinkType::ETHERNET,
                legacy_records: None,
                legacy_nanos: matches!(
                    format,
                    Format::Pcap {
                        nanosecond: true,
                        ..
                    }
                ),
                interfaces: Vec::new(),
                section_big_endian: false,
                last_ts: Timestamp::default(),
                stats: ReaderStats::default(),
            },
        })
    }
    pub fn format(&self) -> Format {
        self.format
    }

    /// Bytes of the file read so far (the start of the next record).
    pub fn offset(&self) -> u64 {
        self.offset + self.pending as u64
    }

    pub fn stats(&self) -> ReaderStats {
        self.state.stats
    }

    /// The next packet, `Ok(None)` at the clean end of the file. After an error the reader is done.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, ReadError> {
        // Loop on blocks that are not packets; the borrow checker needs the packet case to return from a
        // fresh call to `inner.next()`, so the loop only classifies and the final call re-parses the block.
        loop {
            if self.pending > 0 {
                // No shift here: the buffer is compacted once per refill, not every half buffer.
                self.inner.consume_noshift(self.pending);
                self.offset += self.pending as u64;
                self.pending = 0;
            }
            // A pcap record whole in the buffer (nearly every one) is read here: the general path
            // below builds and drops a block enum and dispatches through the parser for each.
            if let Some(big_endian) = self.state.legacy_records
                && let Some(h) = RecordHeader::whole(self.inner.data(), big_endian)
            {
                let caplen = h.caplen as usize;
                self.pending = RecordHeader::LEN + caplen;
                let Some(ts) = self.state.legacy_packet(&h) else {
                    continue;
                };
                let data = &self.inner.data()[RecordHeader::LEN..self.pending];
                return Ok(Some(RawPacket {
                    ts,
                    link: self.state.legacy_link,
                    data,
                    orig_len: h.origlen,
                }));
            }
            // pcap-parser 0.17 panics on a Process Information Block shorter than the 12 bytes every
            // pcapng block has (it subtracts 12 from the length); refuse such a block first.
            if self.format == Format::PcapNg
                && let Some(len) = self.declared_len()
                && len < 12
            {
                return Err(ReadError::Corrupt {
                    offset: self.offset,
                    reason: format!("block length {len} is shorter than a block header"),
                });
            }
            // Where the buffer starts, to locate the packet bytes again after classification.
            let base = self.inner.data().as_ptr() as usize;
            let step = match self.inner.next() {
                Ok((len, block)) => {
                    let step = self.state.classify(base, &block);
                    self.pending = len;
                    match step {
                        Ok(Some(meta)) => Step::Packet(meta),
                        Ok(None) => Step::Skip,
                        Err(reason) => Step::Fail(ReadError::Corrupt {
                            offset: self.offset,
                            reason,
                        }),
                    }
                }
                Err(PcapError::Eof) => return Ok(None),
                Err(PcapError::Incomplete(_)) => Step::Refill,
                Err(PcapError::UnexpectedEof) => {
                    return Err(ReadError::Truncated {
                        offset: self.offset,
                    });
                }
                Err(PcapError::BufferTooSmall) => Step::Grow,
                Err(PcapError::ReadError) => {
                    return Err(ReadError::Io {
                        offset: self.offset,
                    });
                }
                Err(e) => Step::Fail(ReadError::Corrupt {
                    offset: self.offset,
                    reason: describe(&e),
                }),
            };
            match step {
                Step::Skip => continue,
                Step::Fail(e) => {
                    self.pending = 0;
                    return Err(e);
                }
                Step::Refill => self.refill()?,
                Step::Grow => self.grow()?,
                Step::Packet(meta) => {
                    // The block borrowed the buffer; its bytes are still there, at the offset classify
                    // found, so slice them again rather than parse the record twice.
                    let buf = self.inner.data();
                    let data = buf.get(meta.data_offset..).unwrap_or_default();
                    let data = &data[..data.len().min(meta.caplen)];
                    return Ok(Some(RawPacket {
                        ts: meta.ts,
                        link: meta.link,
                        data,
                        orig_len: meta.orig_len,
                    }));
                }
            }
        }
    }

    /// The timestamp of the next packet, leaving it to be returned by the next [`Self::next_packet`];
    /// used to merge several captures into one timeline.
    pub fn peek_ts(&mut self) -> Result<Option<Timestamp>, ReadError> {
        let ts = match self.next_packet()? {
            Some(p) => p.ts,
            None => return Ok(None),
        };
        // Not consumed: the next call parses the same record again.
        self.pending = 0;
        Ok(Some(ts))
    }

    fn refill(&mut self) -> Result<(), ReadError> {
        let before = self.inner.data().len();
        if self.inner.refill().is_err() {
            return Err(ReadError::Io {
                offset: self.offset,
            });
        }
        if self.inner.data().len() == before {
            if self.inner.reader_exhausted() && before == 0 {
                // A clean end between records: the parser reports Eof on the next call.
                return Ok(());
            }
            if self.inner.reader_exhausted() {
                return Err(ReadError::Truncated {
                    offset: self.offset,
                });
            }
            // No room left and the parser still wants more: the record is larger than the buffer.
            return self.grow();
        }
        Ok(())
    }

    fn grow(&mut self) -> Result<(), ReadError> {
        let too_long = || ReadError::Corrupt {
            offset: self.offset,
            reason: format!("record longer than {MAX_RECORD_BYTES} bytes"),
        };
        let needed = self.declared_len().unwrap_or(0);
        if needed > MAX_RECORD_BYTES {
            return Err(too_long());
        }
        let current = self.inner.data().len().max(INITIAL_BUFFER);
        // Room for the record and the next record header, in steps that keep refills rare.
        let next = current
            .saturating_mul(2)
            .max(needed.saturating_add(64).next_power_of_two());
        if next > MAX_RECORD_BYTES.saturating_mul(2) || !self.inner.grow(next) {
            return Err(too_long());
        }
        self.refill()
    }

    /// The length of the record at the front of the buffer as its header declares it.
    fn declared_len(&self) -> Option<usize> {
        let d = self.inner.data();
        let word = |at: usize, big_endian: bool| -> Option<usize> {
            let b: [u8; 4] = d.get(at..at + 4)?.try_into().ok()?;
            let v = if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            };
            Some(v as usize)
        };
        match self.format {
            Format::Pcap { big_endian, .. } => {
                word(8, big_endian).map(|caplen| caplen.saturating_add(16))
            }
            Format::PcapNg => {
                if d.get(..4) == Some(&[0x0a, 0x0d, 0x0d, 0x0a]) {
                    // A section header: its byte order-mark says how to read its length.
                    let big = d.get(8..12)? == [0x1a, 0x2b, 0x3c, 0x4d];
                    word(4, big)
                } else {
                    word(4, self.state.section_big_endian)
                }
            }
        }
    }
}

enum Step {
    Packet(PacketMeta),
    Skip,
    Refill,
    Grow,
    Fail(ReadError),
}

struct PacketMeta {
    /// Where the packet bytes start in the reader's buffer.
    data_offset: usize,
    ts: Timestamp,
    link: LinkType,
    orig_len: u32,
    caplen: usize,
}

/// The 16 bytes before each packet of a pcap file.
struct RecordHeader {
    ts_sec: u32,
    /// Microseconds, or nanoseconds in a nanosecond-resolution file.
    ts_frac: u32,
    caplen: u32,
    origlen: u32,
}

impl RecordHeader {
    const LEN: usize = 16;

    /// The header at the start of `buf` when the whole record (header and packet) is there.
    fn whole(buf: &[u8], big_endian: bool) -> Option<RecordHeader> {
        let word = |i: usize| -> Option<u32> {
            let b: [u8; 4] = buf.get(i..i + 4)?.try_into().ok()?;
            Some(if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let h = RecordHeader {
            ts_sec: word(0)?,
            ts_frac: word(4)?,
            caplen: word(8)?,
            origlen: word(12)?,
        };
        let len = Self::LEN.checked_add(usize::try_from(h.caplen).ok()?)?;
        (buf.len() >= len).then_some(h)
    }
}

impl State {
    /// The timestamp of a pcap record that holds a packet to return; `None`, counted as a bad record,
    /// for an impossible one (a fraction of a second past one second, more bytes captured than sent).
    fn legacy_packet(&mut self, h: &RecordHeader) -> Option<Timestamp> {
        let (scale, limit) = if self.legacy_nanos {
            (1, 1_000_000_000)
        } else {
            (1000, 1_000_000)
        };
        if h.ts_frac >= limit || h.caplen > h.origlen {
            self.stats.bad_records += 1;
            return None;
        }
        let ts = Timestamp::from_parts(i64::from(h.ts_sec), h.ts_frac.saturating_mul(scale));
        self.last_ts = ts;
        Some(ts)
    }

    /// Updates the reader state from one block and says whether it is a packet to return.
    fn classify(
        &mut self,
        base: usize,
        block: &PcapBlockOwned<'_>,
    ) -> Result<Option<PacketMeta>, String> {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.legacy_link = LinkType(h.network.0 as u32);
                self.legacy_nanos = h.is_nanosecond_precision();
                self.legacy_records = (!h.is_modified_format()).then(|| h.is_bigendian());
                Ok(None)
            }
            PcapBlockOwned::Legacy(b) => {
                let header = RecordHeader {
                    ts_sec: b.ts_sec,
                    ts_frac: b.ts_usec,
                    caplen: b.caplen,
                    origlen: b.origlen,
                };
                Ok(self.legacy_packet(&header).map(|ts| PacketMeta {
                    data_offset: (b.data.as_ptr() as usize).wrapping_sub(base),
                    ts,
                    link: self.legacy_link,
                    orig_len: b.origlen,
                    caplen: b.caplen as usize,
                }))
            }
            PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                // Interface ids and byte order are local to a section.
                self.interfaces.clear();
                self.section_big_endian = shb.big_endian();
                Ok(None)
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                if self.interfaces.len() >= MAX_INTERFACES {
                    return Err(format!(
                        "more than {MAX_INTERFACES} interfaces in one section"
                    ));
                }
                self.interfaces.push(Interface {
                    link: LinkType(idb.linktype.0 as u32),
                    units_per_sec: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                    offset_secs: idb.ts_offset(),
                });
                Ok(None)
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let Some(iface) = self.interfaces.get(epb.if_id as usize) else {
                    self.stats.bad_records += 1;
                    return Ok(None);
                };
                if epb.caplen > epb.origlen {
                    self.stats.bad_records += 1;
                    return Ok(None);
                }
                let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let secs = units / iface.units_per_sec;
                let frac = units % iface.units_per_sec;
                let nanos =
                    (u128::from(frac) * 1_000_000_000 / u128::from(iface.units_per_sec)) as u32;
                let ts =
                    Timestamp::from_parts((secs as i64).saturating_add(iface.offset_secs), nanos);
                self.last_ts = ts;
                Ok(Some(PacketMeta {
                    data_offset: (epb.data.as_ptr() as usize).wrapping_sub(base),
                    ts,
                    link: iface.link,
                    orig_len: epb.origlen.max(epb.caplen),
                    caplen: epb.caplen as usize,
                }))
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                // A Simple Packet Block belongs to the first interface and carries no timestamp: it inherits
                // the last one seen, which keeps packet time monotonic.
                let Some(iface) = self.interfaces.first() else {
                    self.stats.bad_records += 1;
                    return Ok(None);
                };
                Ok(Some(PacketMeta {
                    data_offset: (spb.data.as_ptr() as usize).wrapping_sub(base),
                    ts: self.last_ts,
                    link: iface.link,
                    orig_len: spb.origlen,
                    // pcap-parser's data includes the padding to 32 bits; the frame is `origlen` long,
                    // cut at the block's end when the snaplen was smaller.
                    caplen: spb.data.len().min(spb.origlen as usize),
                }))
            }
            PcapBlockOwned::NG(_) => Ok(None),
        }
    }
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::HeaderNotRecognized => "unrecognised block".to_string(),
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("malformed block ({})", kind.description())
        }
        other => format!("{other:?}"),
    }
}
