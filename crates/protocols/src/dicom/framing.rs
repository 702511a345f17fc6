//! PDU framing for one direction of a connection: the 6-byte PDU header, whole small PDUs, P-DATA-TF
//! streamed PDV by PDV (never buffered), and resynchronisation after a gap.
//!
//! The reader hands what it finds to the connection's [`Core`] as it goes: whole associate/release/abort
//! PDUs, the start of each P-DATA-TF, and PDV value bytes in slices as they arrive.

use capture::{Direction, Timestamp};

use super::Core;

/// Largest non-P-DATA PDU buffered. Associate PDUs with 256 contexts stay well under this; larger ones
/// are skipped as malformed.
pub(crate) const MAX_BUFFERED_PDU: u32 = 64 * 1024;
/// Largest P-DATA-TF length believed while resynchronising (a real stream can declare more; in sync,
/// any length is streamed).
const MAX_RESYNC_PDATA: u32 = 64 * 1024 * 1024;
/// Minimum A-ASSOCIATE-RQ/AC body: the fixed part.
const MIN_ASSOCIATE: u32 = super::associate::FIXED_LEN as u32;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Item {
    /// Collecting a PDV item header (length, context id, message control header).
    Header { hdr: [u8; 6], len: usize },
    /// Streaming a PDV value.
    Value { ctx: u8, mch: u8, remaining: u32 },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Collecting a PDU header into `Reader::hdr`.
    Header,
    /// Buffering the body of a small PDU.
    Buffer { ty: u8, remaining: u32 },
    /// Skipping the rest of a PDU.
    Skip { remaining: u32 },
    /// Inside a P-DATA-TF body; `remaining` counts its bytes still to come.
    PData { remaining: u32, item: Item },
}

enum Verdict {
    Reject,
    NeedMore,
    Accept,
}

/// Does a PDU (and for P-DATA, its first PDV item) plausibly start at `w[0]`?
fn candidate(w: &[u8]) -> Verdict {
    use Verdict::*;
    if !(1..=7).contains(&w[0]) {
        return Reject;
    }
    if w.len() < 2 {
        return NeedMore;
    }
    if w[1] != 0 {
        return Reject;
    }
    if w.len() < 6 {
        return NeedMore;
    }
    let len = u32::from_be_bytes([w[2], w[3], w[4], w[5]]);
    let need = match w[0] {
        1 | 2 => 8,
        4 => 12,
        _ => 10,
    };
    let ok_len = match w[0] {
        1 | 2 => (MIN_ASSOCIATE..=MAX_BUFFERED_PDU).contains(&len),
        4 => (6..=MAX_RESYNC_PDATA).contains(&len),
        _ => len == 4,
    };
    if !ok_len {
        return Reject;
    }
    if w.len() < need {
        return NeedMore;
    }
    let ok = match w[0] {
        1 | 2 => w[6..8] == [0, 1],
        3 => w[6] == 0 && (1..=2).contains(&w[7]) && (1..=3).contains(&w[8]),
        4 => {
            let item = u32::from_be_bytes([w[6], w[7], w[8], w[9]]);
            item >= 2 && item <= len - 4 && w[10] % 2 == 1 && w[11] <= 3
        }
        5 | 6 => w[6..10] == [0, 0, 0, 0],
        _ => w[6] == 0 && w[7] == 0 && w[8] <= 2 && w[9] <= 6,
    };
    if ok { Accept } else { Reject }
}

pub(crate) struct Reader {
    dir: Direction,
    phase: Phase,
    hdr: [u8; 6],
    hdr_len: usize,
    buf: Vec<u8>,
    /// After a gap or a bad header: look for a plausible PDU start before believing anything.
    resync: bool,
    window: [u8; 12],
    window_len: usize,
}

impl Reader {
    pub(crate) fn new(dir: Direction) -> Reader {
        Reader {
            dir,
            phase: Phase::Header,
            hdr: [0; 6],
            hdr_len: 0,
            buf: Vec::new(),
            resync: false,
            window: [0; 12],
            window_len: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes of a PDU (or a resync candidate) are pending: the stream was cut inside something.
    pub(crate) fn mid_pdu(&self) -> bool {
        self.phase != Phase::Header || self.hdr_len > 0 || self.window_len > 0
    }

    pub(crate) fn feed(&mut self, ts: Timestamp, mut b: &[u8], core: &mut Core) {
        while !b.is_empty() {
            if self.resync && self.phase == Phase::Header {
                b = self.resync_feed(ts, b, core);
                continue;
            }
            b = self.step(ts, b, core);
        }
    }

    /// `len` bytes were lost. Drop what was being read; when the loss falls inside a PDU of known
    /// length, skip exactly to its end; in any case resynchronise on a plausible header.
    pub(crate) fn gap(&mut self, len: u64) {
        let remaining = match self.phase {
            Phase::Buffer { remaining, .. }
            | Phase::Skip { remaining }
            | Phase::PData { remaining, .. } => remaining,
            Phase::Header => 0,
        };
        self.phase = match u64::from(remaining).checked_sub(len) {
            Some(rest) if rest > 0 => Phase::Skip {
                remaining: rest as u32,
            },
            _ => Phase::Header,
        };
        self.hdr_len = 0;
        self.buf.clear();
        self.resync = true;
        self.window_len = 0;
    }

    fn resync_feed<'a>(&mut self, ts: Timestamp, b: &'a [u8], core: &mut Core) -> &'a [u8] {
        let mut i = 0;
        while i < b.len() {
            // Fast path: with an empty window, bytes that cannot start a PDU are skipped in bulk.
            if self.window_len == 0 {
                let start = b[i..]
                    .iter()
                    .position(|c| (1..=7).contains(c))
                    .map_or(b.len(), |p| i + p);
                core.stats.bytes_skipped_resync += (start - i) as u64;
                i = start;
                if i == b.len() {
                    break;
                }
            }
            self.window[self.window_len] = b[i];
            self.window_len += 1;
            i += 1;
            loop {
                if self.window_len == 0 {
                    break;
                }
                match candidate(&self.window[..self.window_len]) {
                    Verdict::NeedMore => break,
                    Verdict::Reject => {
                        self.window.copy_within(1..self.window_len, 0);
                        self.window_len -= 1;
                        core.stats.bytes_skipped_resync += 1;
                    }
                    Verdict::Accept => {
                        self.resync = false;
                        let w = self.window;
                        let n = self.window_len;
                        self.window_len = 0;
                        // The window holds at most one header and one item header, already checked, so
                        // this cannot lead back into resynchronisation with bytes still in the window.
                        self.feed(ts, &w[..n], core);
                        return &b[i..];
                    }
                }
            }
        }
        &b[b.len()..]
    }

    /// Consumes some of `b` in the current phase and returns the rest.
    fn step<'a>(&mut self, ts: Timestamp, b: &'a [u8], core: &mut Core) -> &'a [u8] {
        let dir = self.dir;
        match self.phase {
            Phase::Header => {
                let n = (6 - self.hdr_len).min(b.len());
                self.hdr[self.hdr_len..self.hdr_len + n].copy_from_slice(&b[..n]);
                self.hdr_len += n;
                if self.hdr_len == 6 {
                    self.hdr_len = 0;
                    self.header(ts, core);
                }
                &b[n..]
            }
            Phase::Buffer { ty, remaining } => {
                let n = (remaining as usize).min(b.len());
                self.buf.extend_from_slice(&b[..n]);
                let remaining = remaining - n as u32;
                if remaining == 0 {
                    core.pdu(dir, ts, ty, &self.buf);
                    self.buf.clear();
                    if self.buf.capacity() > 4096 {
                        self.buf = Vec::new();
                    }
                    self.phase = Phase::Header;
                } else {
                    self.phase = Phase::Buffer { ty, remaining };
                }
                &b[n..]
            }
            Phase::Skip { remaining } => {
                let n = (remaining as usize).min(b.len());
                let remaining = remaining - n as u32;
                self.phase = if remaining == 0 {
                    Phase::Header
                } else {
                    Phase::Skip { remaining }
                };
                &b[n..]
            }
            Phase::PData { remaining, item } => self.pdata(ts, b, remaining, item, core),
        }
    }

    fn header(&mut self, ts: Timestamp, core: &mut Core) {
        let h = self.hdr;
        let ty = h[0];
        let len = u32::from_be_bytes([h[2], h[3], h[4], h[5]]);
        if !(1..=7).contains(&ty) || h[1] != 0 {
            // Out of step: the first byte is garbage, the next five may start the real header.
            core.stats.malformed_pdus += 1;
            core.stats.bytes_skipped_resync += 1;
            self.resync = true;
            self.window_len = 0;
            self.feed(ts, &h[1..], core);
            return;
        }
        core.stats.pdus[usize::from(ty)] += 1;
        if ty == 4 {
            core.pdata_start(self.dir, ts);
            self.phase = if len == 0 {
                core.stats.malformed_pdus += 1;
                Phase::Header
            } else {
                Phase::PData {
                    remaining: len,
                    item: Item::Header {
                        hdr: [0; 6],
                        len: 0,
                    },
                }
            };
            return;
        }
        if len > MAX_BUFFERED_PDU {
            core.stats.malformed_pdus += 1;
            core.stats.oversized_pdus += 1;
            self.phase = Phase::Skip { remaining: len };
            return;
        }
        if len == 0 {
            core.pdu(self.dir, ts, ty, &[]);
            return;
        }
        self.buf.clear();
        // The whole PDU at once (an A-ASSOCIATE-RQ is about 10 KB, in many segments): no doubling
        // on the way. `len` is at most MAX_BUFFERED_PDU.
        self.buf.reserve(len as usize);
        self.phase = Phase::Buffer { ty, remaining: len };
    }

    fn pdata<'a>(
        &mut self,
        ts: Timestamp,
        b: &'a [u8],
        remaining: u32,
        item: Item,
        core: &mut Core,
    ) -> &'a [u8] {
        let dir = self.dir;
        match item {
            Item::Header { mut hdr, len } => {
                if len == 0 && remaining < 6 {
                    // Trailing bytes too short for an item.
                    core.stats.malformed_pdus += 1;
                    self.phase = Phase::Skip { remaining };
                    return b;
                }
                let n = (6 - len).min(b.len());
                hdr[len..len + n].copy_from_slice(&b[..n]);
                let len = len + n;
                let remaining = remaining - n as u32;
                if len < 6 {
                    self.phase = Phase::PData {
                        remaining,
                        item: Item::Header { hdr, len },
                    };
                    return &b[n..];
                }
                let item_len = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
                if item_len < 2 || item_len - 2 > remaining {
                    core.stats.malformed_pdus += 1;
                    core.abandon_message(dir);
                    self.phase = if remaining == 0 {
                        Phase::Header
                    } else {
                        Phase::Skip { remaining }
                    };
                    return &b[n..];
                }
                let (ctx, mch) = (hdr[4], hdr[5]);
                let value = item_len - 2;
                if value == 0 {
                    core.pdv(dir, ts, ctx, mch, &[], true);
                }
                self.phase = self.after_value(remaining, ctx, mch, value);
                &b[n..]
            }
            Item::Value {
                ctx,
                mch,
                remaining: value,
            } => {
                let n = (value as usize).min(b.len());
                let value = value - n as u32;
                core.pdv(dir, ts, ctx, mch, &b[..n], value == 0);
                self.phase = self.after_value(remaining - n as u32, ctx, mch, value);
                &b[n..]
            }
        }
    }

    fn after_value(&self, remaining: u32, ctx: u8, mch: u8, value: u32) -> Phase {
        if value > 0 {
            Phase::PData {
                remaining,
                item: Item::Value {
                    ctx,
                    mch,
                    remaining: value,
                },
            }
        } else if remaining == 0 {
            Phase::Header
        } else {
            Phase::PData {
                remaining,
                item: Item::Header {
                    hdr: [0; 6],
                    len: 0,
                },
            }
        }
    }
}
