//! Capture files written as libpcap and Wireshark write them: classic pcap (microsecond magic,
//! little endian) or pcapng (one section, one Ethernet interface, enhanced packet blocks).
//! Frames are built straight into the output buffer, which is flushed in large writes.

use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    Pcapng,
}

const LINKTYPE_ETHERNET: u32 = 1;
pub const SNAPLEN: u32 = 262_144;
const FLUSH_AT: usize = 1 << 20;

pub struct PcapWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    format: Format,
    /// Where the frame being built starts in `buf`, after its record header.
    frame_at: usize,
    pub packets: u64,
    pub bytes_written: u64,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(out: W, format: Format) -> io::Result<Self> {
        let mut w = PcapWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 70_000),
            format,
            frame_at: 0,
            packets: 0,
            bytes_written: 0,
        };
        match format {
            Format::Pcap => {
                w.buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
                w.buf.extend_from_slice(&2u16.to_le_bytes());
                w.buf.extend_from_slice(&4u16.to_le_bytes());
                w.buf.extend_from_slice(&0i32.to_le_bytes());
                w.buf.extend_from_slice(&0u32.to_le_bytes());
                w.buf.extend_from_slice(&SNAPLEN.to_le_bytes());
                w.buf.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
            }
            Format::Pcapng => {
                // Section header block: byte-order magic, version 1.0, section length unknown, and the
                // shb_userappl option naming the writer.
                let app = b"medsentry synth";
                let opt_len = 4 + app.len().next_multiple_of(4) + 4;
                let len = (28 + opt_len) as u32;
                w.buf.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
                w.buf.extend_from_slice(&len.to_le_bytes());
                w.buf.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
                w.buf.extend_from_slice(&1u16.to_le_bytes());
                w.buf.extend_from_slice(&0u16.to_le_bytes());
                w.buf.extend_from_slice(&(-1i64).to_le_bytes());
                w.buf.extend_from_slice(&4u16.to_le_bytes());
                w.buf.extend_from_slice(&(app.len() as u16).to_le_bytes());
                w.buf.extend_from_slice(app);
                w.buf
                    .resize(w.buf.len() + app.len().next_multiple_of(4) - app.len(), 0);
                w.buf.extend_from_slice(&[0, 0, 0, 0]);
                w.buf.extend_from_slice(&len.to_le_bytes());
                // Interface description block: Ethernet, our snaplen, default microsecond resolution.
                w.buf.extend_from_slice(&1u32.to_le_bytes());
                w.buf.extend_from_slice(&20u32.to_le_bytes());
                w.buf
                    .extend_from_slice(&(LINKTYPE_ETHERNET as u16).to_le_bytes());
                w.buf.extend_from_slice(&0u16.to_le_bytes());
                w.buf.extend_from_slice(&SNAPLEN.to_le_bytes());
                w.buf.extend_from_slice(&20u32.to_le_bytes());
            }
        }
        Ok(w)
    }

    /// Starts a record; the caller appends the frame to the returned buffer, then calls [`Self::end`].
    pub fn begin(&mut self) -> &mut Vec<u8> {
        let header = match self.format {
            Format::Pcap => 16,
            Format::Pcapng => 28,
        };
        self.buf.resize(self.buf.len() + header, 0);
        self.frame_at = self.buf.len();
        &mut self.buf
    }

    /// Ends the record begun last: `ts_us` its time, `caplen` how much of the frame the capture kept
    /// (the rest is cut off, as a snaplen does).
    pub fn end(&mut self, ts_us: i64, caplen: Option<usize>) -> io::Result<()> {
        let orig = self.buf.len() - self.frame_at;
        let cap = caplen.map_or(orig, |c| c.min(orig));
        self.buf.truncate(self.frame_at + cap);
        let ts = ts_us.max(0) as u64;
        match self.format {
            Format::Pcap => {
                let h = self.frame_at - 16;
                self.buf[h..h + 4].copy_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
                self.buf[h + 4..h + 8].copy_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
                self.buf[h + 8..h + 12].copy_from_slice(&(cap as u32).to_le_bytes());
                self.buf[h + 12..h + 16].copy_from_slice(&(orig as u32).to_le_bytes());
            }
            Format::Pcapng => {
                let pad = cap.next_multiple_of(4) - cap;
                self.buf.resize(self.buf.len() + pad, 0);
                let total = (32 + cap + pad) as u32;
                self.buf.extend_from_slice(&total.to_le_bytes());
                let h = self.frame_at - 28;
                self.buf[h..h + 4].copy_from_slice(&6u32.to_le_bytes());
                self.buf[h + 4..h + 8].copy_from_slice(&total.to_le_bytes());
                self.buf[h + 8..h + 12].copy_from_slice(&0u32.to_le_bytes());
                self.buf[h + 12..h + 16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
                self.buf[h + 16..h + 20].copy_from_slice(&(ts as u32).to_le_bytes());
                self.buf[h + 20..h + 24].copy_from_slice(&(cap as u32).to_le_bytes());
                self.buf[h + 24..h + 28].copy_from_slice(&(orig as u32).to_le_bytes());
            }
        }
        self.packets += 1;
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.bytes_written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.flush_buf()?;
        self.out.flush()?;
        Ok((self.out, self.bytes_written))
    }
}
