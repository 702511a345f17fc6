//! TCP stream reassembly for a passive reader: per direction, in sequence order, each byte delivered once.
//!
//! Policy, chosen for a monitor that cannot ask the receiver what it accepted:
//! - **First copy wins.** Bytes already delivered, or already buffered out of order, are never replaced by a
//!   later copy. A later copy that disagrees is counted in `overlap_conflicts` (an evasion or corruption
//!   signal) and otherwise ignored. This is deterministic and never re-delivers bytes to a parser.
//! - **Gaps are declared, not waited for forever.** A hole becomes a gap notice when the receiver's ACK
//!   passes it (the receiver has bytes the capture missed), when the flow's or the global buffer cap is
//!   reached, or when the stream closes. The consumer gets the gap's length and the bytes after it, so a
//!   parser can resynchronise.
//! - **Sequence numbers are 32-bit and wrap;** positions are kept as 64-bit stream offsets computed from the
//!   signed distance to the next expected sequence number, so wrap-around needs no special case.
//! - **Mid-stream pick-up:** without a SYN, the first data segment seen sets the start of the stream.

use std::collections::BTreeMap;

use crate::time::Timestamp;

/// Which way bytes travel, relative to the flow's client and server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    ToServer,
    ToClient,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToServer => "to_server",
            Direction::ToClient => "to_client",
        }
    }
}

/// How a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// Both sides sent FIN.
    Fin,
    /// A side sent RST.
    Rst,
    /// No packet for longer than the idle timeout (packet time).
    IdleTimeout,
    /// The flow table was full and this was the oldest idle flow.
    Evicted,
    /// A new connection (fresh SYN) reused the 5-tuple before this one was seen to close.
    Reused,
    /// Still open when the capture ended.
    EndOfCapture,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::Evicted => "evicted",
            EndReason::Reused => "reused",
            EndReason::EndOfCapture => "end_of_capture",
        }
    }
}

/// What application parsers implement: they see ordered bytes, gaps and the end, never packets.
pub trait StreamConsumer {
    /// In-order stream bytes (TCP), each byte exactly once.
    fn data(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]);
    /// `len` bytes of this direction were never captured; the next `data` call continues after them.
    fn gap(&mut self, dir: Direction, ts: Timestamp, len: u64);
    /// One UDP datagram (or other message-oriented payload).
    fn datagram(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        let _ = (dir, ts, bytes);
    }
    /// The flow is over; no further calls follow.
    fn close(&mut self, ts: Timestamp, reason: EndReason) {
        let _ = (ts, reason);
    }
}

/// A consumer that ignores everything (for flow accounting without application parsing).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullConsumer;

impl StreamConsumer for NullConsumer {
    fn data(&mut self, _: Direction, _: Timestamp, _: &[u8]) {}
    fn gap(&mut self, _: Direction, _: Timestamp, _: u64) {}
}

/// One delivery, as recorded by [`CollectingConsumer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    Data(Direction, Vec<u8>),
    Gap(Direction, u64),
    Datagram(Direction, Vec<u8>),
    Close(EndReason),
}

/// Records every call, merging adjacent data of one direction; for tests and tools.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CollectingConsumer {
    pub chunks: Vec<Chunk>,
}

impl CollectingConsumer {
    /// All bytes delivered in one direction, with gaps left out.
    pub fn bytes(&self, dir: Direction) -> Vec<u8> {
        let mut out = Vec::new();
        for c in &self.chunks {
            if let Chunk::Data(d, b) | Chunk::Datagram(d, b) = c
                && *d == dir
            {
                out.extend_from_slice(b);
            }
        }
        out
    }
}

impl StreamConsumer for CollectingConsumer {
    fn data(&mut self, dir: Direction, _: Timestamp, bytes: &[u8]) {
        if let Some(Chunk::Data(d, b)) = self.chunks.last_mut()
            && *d == dir
        {
            b.extend_from_slice(bytes);
            return;
        }
        self.chunks.push(Chunk::Data(dir, bytes.to_vec()));
    }
    fn gap(&mut self, dir: Direction, _: Timestamp, len: u64) {
        self.chunks.push(Chunk::Gap(dir, len));
    }
    fn datagram(&mut self, dir: Direction, _: Timestamp, bytes: &[u8]) {
        self.chunks.push(Chunk::Datagram(dir, bytes.to_vec()));
    }
    fn close(&mut self, _: Timestamp, reason: EndReason) {
        self.chunks.push(Chunk::Close(reason));
    }
}

/// Caps on buffered out-of-order data.
#[derive(Debug, Clone, Copy)]
pub struct ReassemblyConfig {
    /// Bytes buffered out of order per direction of one flow.
    pub max_buffered_per_direction: usize,
    /// Segments buffered out of order per direction of one flow.
    pub max_segments_per_direction: usize,
    /// Bytes buffered out of order over all flows.
    pub max_buffered_total: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_buffered_per_direction: 1 << 20,
            max_segments_per_direction: 2048,
            max_buffered_total: 64 << 20,
        }
    }
}

/// Per-direction counters, summed into the flow record and the global statistics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Bytes handed to the consumer.
    pub delivered_bytes: u64,
    /// Number of gap notices and the bytes they stood for.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Bytes that arrived again after they were delivered or buffered (retransmissions and overlaps).
    pub retransmitted_bytes: u64,
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order_segments: u64,
    /// Overlapping copies whose bytes differ from the first copy.
    pub overlap_conflicts: u64,
    /// Bytes not buffered because a cap was reached, or implausibly far ahead of the stream.
    pub dropped_bytes: u64,
}

impl ReassemblyStats {
    pub fn add(&mut self, o: &ReassemblyStats) {
        self.delivered_bytes += o.delivered_bytes;
        self.gaps += o.gaps;
        self.gap_bytes += o.gap_bytes;
        self.retransmitted_bytes += o.retransmitted_bytes;
        self.out_of_order_segments += o.out_of_order_segments;
        self.overlap_conflicts += o.overlap_conflicts;
        self.dropped_bytes += o.dropped_bytes;
    }
}

/// Bytes buffered across all flows, shared by every [`HalfStream`] of a flow table.
#[derive(Debug, Default)]
pub struct BufferBudget {
    pub used: usize,
}

/// A segment further ahead than this is taken as bogus rather than as a gap of that size.
const MAX_AHEAD: u64 = 1 << 30;

/// Reassembly state of one direction of a TCP connection.
#[derive(Debug, Default)]
pub struct HalfStream {
    /// Sequence number of stream offset 0; `None` until a SYN or the first data segment.
    base: Option<u32>,
    /// Stream offset of the next byte to deliver.
    next: u64,
    /// Stream offset of the FIN, once seen.
    fin: Option<u64>,
    /// Out-of-order segments by stream offset; never overlapping, all beyond `next`.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// No more data is accepted (after RST, or once closed).
    done: bool,
    pub stats: ReassemblyStats,
}

impl HalfStream {
    /// True once the start of the stream is known.
    pub fn is_synced(&self) -> bool {
        self.base.is_some()
    }

    /// Bytes buffered out of order right now.
    pub fn buffered(&self) -> usize {
        self.pending_bytes
    }

    /// True when a FIN was seen and every byte before it was delivered or declared a gap.
    pub fn is_finished(&self) -> bool {
        self.fin.is_some_and(|f| self.next >= f)
    }

    /// Stream offset of a sequence number, or `None` before sync or when implausibly far from `next`.
    fn offset_of(&self, seq: u32) -> Option<u64> {
        let base = self.base?;
        let next_seq = base.wrapping_add(self.next as u32);
        let delta = i64::from(seq.wrapping_sub(next_seq) as i32);
        let off = self.next as i64 + delta;
        (off >= 0).then_some(off as u64)
    }

    /// A SYN (or SYN-ACK) from this side: its sequence number is the ISN.
    pub fn syn(&mut self, seq: u32) {
        if self.base.is_none() {
            // Offset 0 is the SYN itself; data starts at offset 1. `next` = 1 skips the SYN's sequence number.
            self.base = Some(seq);
            self.next = 1;
        }
    }

    /// One segment from this side. `flags_fin` is the FIN bit.
    #[allow(clippy::too_many_arguments)]
    pub fn segment<C: StreamConsumer>(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        config: &ReassemblyConfig,
        budget: &mut BufferBudget,
        consumer: &mut C,
    ) {
        if self.done {
            return;
        }
        if syn {
            self.syn(seq);
        }
        // Data on a SYN starts one past the ISN.
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        if self.base.is_none() {
            if payload.is_empty() && !fin {
                return;
            }
            // Mid-stream: this segment starts the stream.
            self.base = Some(data_seq);
            self.next = 0;
        }
        let Some(start) = self.offset_of(data_seq) else {
            // Entirely before the start of what we know: a retransmission from before we synced.
            self.stats.retransmitted_bytes += payload.len() as u64;
            return;
        };
        if fin {
            let fin_off = start + payload.len() as u64;
            if self.fin.is_none() {
                self.fin = Some(fin_off);
            }
        }
        if !payload.is_empty() {
            self.accept(dir, ts, start, payload, config, budget, consumer);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn accept<C: StreamConsumer>(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        start: u64,
        payload: &[u8],
        config: &ReassemblyConfig,
        budget: &mut BufferBudget,
        consumer: &mut C,
    ) {
        let end = start + payload.len() as u64;
        // Nothing is delivered past a FIN: bytes beyond it are bogus.
        let end = match self.fin {
            Some(f) if end > f => {
                self.stats.dropped_bytes += end - f.max(start);
                f
            }
            _ => end,
        };
        if end <= start {
            return;
        }
        if end <= self.next {
            self.stats.retransmitted_bytes += end - start;
            return;
        }
        let skip = self.next.saturating_sub(start) as usize;
        let start = start.max(self.next);
        let bytes = &payload[skip..skip + (end - start) as usize];
        self.stats.retransmitted_bytes += skip as u64;

        if start == self.next {
            self.deliver(dir, ts, bytes, consumer);
            self.drain(dir, ts, budget, consumer);
            return;
        }
        if start - self.next > MAX_AHEAD {
            self.stats.dropped_bytes += bytes.len() as u64;
            return;
        }
        self.stats.out_of_order_segments += 1;
        // Over a cap: give up on the oldest hole to make room, then try again.
        if self.pending_bytes + bytes.len() > config.max_buffered_per_direction
            || self.pending.len() >= config.max_segments_per_direction
            || budget.used + bytes.len() > config.max_buffered_total
        {
            self.skip_hole(dir, ts, budget, consumer);
            if start <= self.next {
                // The skip moved past part of this segment: deliver what is left, in order.
                return self.accept(dir, ts, start, bytes, config, budget, consumer);
            }
            if self.pending_bytes + bytes.len() > config.max_buffered_per_direction
                || budget.used + bytes.len() > config.max_buffered_total
            {
                self.stats.dropped_bytes += bytes.len() as u64;
                return;
            }
        }
        self.insert(start, bytes, budget);
    }

    /// Buffers `bytes` at `start` (> next), keeping only parts not already buffered (first copy wins).
    fn insert(&mut self, start: u64, bytes: &[u8], budget: &mut BufferBudget) {
        let end = start + bytes.len() as u64;
        let mut pos = start;
        // Segments that could overlap [start, end): the one starting before `start`, and those inside.
        let first_key = self
            .pending
            .range(..=start)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(start);
        let overlapping: Vec<(u64, u64)> = self
            .pending
            .range(first_key..end)
            .map(|(k, v)| (*k, *k + v.len() as u64))
            .filter(|&(_, e)| e > start)
            .collect();
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        for (s, e) in overlapping {
            if s > pos {
                pieces.push((pos, s));
            }
            // Compare the overlapping part with the first copy.
            let (os, oe) = (s.max(start), e.min(end));
            if os < oe {
                let old = &self.pending[&s][(os - s) as usize..(oe - s) as usize];
                let new = &bytes[(os - start) as usize..(oe - start) as usize];
                self.stats.retransmitted_bytes += oe - os;
                if old != new {
                    self.stats.overlap_conflicts += 1;
                }
            }
            pos = pos.max(e);
        }
        if pos < end {
            pieces.push((pos, end));
        }
        for (s, e) in pieces {
            let piece = bytes[(s - start) as usize..(e - start) as usize].to_vec();
            self.pending_bytes += piece.len();
            budget.used += piece.len();
            self.pending.insert(s, piece);
        }
    }

    fn deliver<C: StreamConsumer>(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
        consumer: &mut C,
    ) {
        if bytes.is_empty() {
            return;
        }
        consumer.data(dir, ts, bytes);
        self.next += bytes.len() as u64;
        self.stats.delivered_bytes += bytes.len() as u64;
    }

    fn gap<C: StreamConsumer>(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        len: u64,
        consumer: &mut C,
    ) {
        if len == 0 {
            return;
        }
        consumer.gap(dir, ts, len);
        self.next += len;
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
    }

    /// Delivers buffered segments that have become contiguous.
    fn drain<C: StreamConsumer>(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        budget: &mut BufferBudget,
        consumer: &mut C,
    ) {
        while let Some(entry) = self.pending.first_entry() {
            let start = *entry.key();
            if start > self.next {
                break;
            }
            let seg = entry.remove();
            self.pending_bytes -= seg.len();
            budget.used = budget.used.saturating_sub(seg.len());
            let end = start + seg.len() as u64;
            if end > self.next {
                let skip = (self.next - start) as usize;
                self.deliver(dir, ts, &seg[skip..], consumer);
            }
        }
    }

    /// Declares the first hole a gap and delivers what follows it.
    fn skip_hole<C: StreamConsumer>(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        budget: &mut BufferBudget,
        consumer: &mut C,
    ) {
        if let Some((&start, _)) = self.pending.first_key_value() {
            self.gap(dir, ts, start.saturating_sub(self.next), consumer);
            self.drain(dir, ts, budget, consumer);
        }
    }

    /// The peer acknowledged `ack`: bytes before it reached the receiver, so any hole before it will never
    /// be filled by this capture.
    pub fn acked<C: StreamConsumer>(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        ack: u32,
        budget: &mut BufferBudget,
        consumer: &mut C,
    ) {
        if self.done {
            return;
        }
        let Some(mut upto) = self.offset_of(ack) else {
            return;
        };
        if upto <= self.next || upto - self.next > MAX_AHEAD {
            return;
        }
        // The ACK of a FIN covers the FIN's own sequence number, which carries no byte.
        if let Some(f) = self.fin {
            upto = upto.min(f);
        }
        while self.next < upto {
            match self.pending.first_key_value() {
                Some((&start, _)) if start < upto => {
                    self.gap(dir, ts, start.saturating_sub(self.next), consumer);
                    self.drain(dir, ts, budget, consumer);
                }
                _ => {
                    let len = upto - self.next;
                    self.gap(dir, ts, len, consumer);
                    // Segments buffered right after the hole are in order now.
                    self.drain(dir, ts, budget, consumer);
                }
            }
        }
    }

    /// End of this direction: whatever is buffered is delivered after the gaps before it, and bytes
    /// missing before a FIN become a final gap.
    pub fn close<C: StreamConsumer>(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        budget: &mut BufferBudget,
        consumer: &mut C,
    ) {
        if self.done {
            return;
        }
        while !self.pending.is_empty() {
            self.skip_hole(dir, ts, budget, consumer);
        }
        if let Some(f) = self.fin
            && f > self.next
            && self.base.is_some()
        {
            self.gap(dir, ts, f - self.next, consumer);
        }
        self.done = true;
    }

    /// After an RST: buffered data is still delivered (it was sent before the reset), nothing more is taken.
    pub fn reset<C: StreamConsumer>(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        budget: &mut BufferBudget,
        consumer: &mut C,
    ) {
        self.close(dir, ts, budget, consumer);
    }

    /// Frees the buffer without delivering (the flow is being dropped).
    pub fn release(&mut self, budget: &mut BufferBudget) {
        budget.used = budget.used.saturating_sub(self.pending_bytes);
        self.stats.dropped_bytes += self.pending_bytes as u64;
        self.pending.clear();
        self.pending_bytes = 0;
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Direction = Direction::ToServer;

    /// One direction under test, with its consumer and budget.
    struct Harness {
        half: HalfStream,
        budget: BufferBudget,
        config: ReassemblyConfig,
        out: CollectingConsumer,
    }

    impl Harness {
        fn new() -> Harness {
            Harness::with_config(ReassemblyConfig::default())
        }

        fn with_config(config: ReassemblyConfig) -> Harness {
            Harness {
                half: HalfStream::default(),
                budget: BufferBudget::default(),
                config,
                out: CollectingConsumer::default(),
            }
        }

        fn syn(&mut self, isn: u32) -> &mut Self {
            self.seg_flags(isn, true, false, b"")
        }

        fn seg(&mut self, seq: u32, data: &[u8]) -> &mut Self {
            self.seg_flags(seq, false, false, data)
        }

        fn fin(&mut self, seq: u32, data: &[u8]) -> &mut Self {
            self.seg_flags(seq, false, true, data)
        }

        fn seg_flags(&mut self, seq: u32, syn: bool, fin: bool, data: &[u8]) -> &mut Self {
            let (h, cfg) = (&mut self.half, self.config);
            h.segment(
                D,
                Timestamp(0),
                seq,
                syn,
                fin,
                data,
                &cfg,
                &mut self.budget,
                &mut self.out,
            );
            self
        }

        fn ack(&mut self, ack: u32) -> &mut Self {
            self.half
                .acked(D, Timestamp(0), ack, &mut self.budget, &mut self.out);
            self
        }

        fn close(&mut self) -> &mut Self {
            self.half
                .close(D, Timestamp(0), &mut self.budget, &mut self.out);
            self
        }

        fn chunks(&self) -> Vec<Chunk> {
            self.out.chunks.clone()
        }
    }

    fn data(b: &[u8]) -> Chunk {
        Chunk::Data(D, b.to_vec())
    }

    #[test]
    fn in_order_segments_are_delivered_once_each() {
        let mut h = Harness::new();
        h.syn(1000).seg(1001, b"hello ").seg(1007, b"world");
        assert_eq!(h.chunks(), vec![data(b"hello world")]);
        assert_eq!(h.half.stats.delivered_bytes, 11);
    }

    #[test]
    fn retransmission_is_not_delivered_twice() {
        let mut h = Harness::new();
        h.syn(1000)
            .seg(1001, b"abcd")
            .seg(1001, b"abcd")
            .seg(1005, b"efgh")
            .seg(1003, b"cdef");
        assert_eq!(h.chunks(), vec![data(b"abcdefgh")]);
        assert_eq!(h.half.stats.retransmitted_bytes, 4 + 4);
        assert_eq!(h.half.stats.gaps, 0);
    }

    #[test]
    fn partial_retransmission_delivers_only_new_bytes() {
        let mut h = Harness::new();
        h.syn(0).seg(1, b"abcd").seg(3, b"cdefgh");
        assert_eq!(h.out.bytes(D), b"abcdefgh");
        assert_eq!(h.half.stats.retransmitted_bytes, 2);
    }

    #[test]
    fn out_of_order_segments_wait_for_the_hole() {
        let mut h = Harness::new();
        h.syn(100).seg(108, b"hij").seg(105, b"efg");
        assert!(h.chunks().is_empty(), "nothing before the hole is filled");
        assert_eq!(h.half.buffered(), 6);
        h.seg(101, b"abcd");
        assert_eq!(h.chunks(), vec![data(b"abcdefghij")]);
        assert_eq!(h.half.buffered(), 0);
        assert_eq!(h.budget.used, 0);
        assert_eq!(h.half.stats.out_of_order_segments, 2);
    }

    #[test]
    fn overlapping_out_of_order_copies_keep_the_first() {
        let mut h = Harness::new();
        // Buffered "XYZ" at 5..8, then a segment covering 3..10 that disagrees on 5..8.
        h.syn(0).seg(6, b"XYZ").seg(4, b"cdEFGhi");
        h.seg(1, b"abc");
        assert_eq!(h.out.bytes(D), b"abccdXYZhi");
        assert_eq!(h.half.stats.overlap_conflicts, 1);
        assert_eq!(h.half.stats.retransmitted_bytes, 3);
    }

    #[test]
    fn overlap_with_delivered_bytes_keeps_the_first_copy() {
        let mut h = Harness::new();
        h.syn(0).seg(1, b"abcdef").seg(4, b"XYZghi");
        assert_eq!(h.out.bytes(D), b"abcdefghi");
    }

    #[test]
    fn ack_past_a_hole_declares_a_gap_then_delivers_what_follows() {
        let mut h = Harness::new();
        h.syn(0).seg(1, b"abc").seg(7, b"ghi");
        // The receiver acknowledges everything: the capture missed bytes 4..7.
        h.ack(10);
        assert_eq!(
            h.chunks(),
            vec![data(b"abc"), Chunk::Gap(D, 3), data(b"ghi")]
        );
        assert_eq!(h.half.stats.gap_bytes, 3);
        // The missing segment shows up late: it is already covered by the gap, so it is not delivered.
        h.seg(4, b"def");
        assert_eq!(h.out.bytes(D), b"abcghi");
    }

    /// Found by `medsentry synth`'s loss fault: an ACK that ends exactly where buffered data starts
    /// declared the gap but left the data buffered until the next ACK, so every segment in between
    /// counted as out of order and HL7 messages after the hole were delivered late.
    #[test]
    fn ack_ending_at_buffered_data_delivers_it_at_once() {
        let mut h = Harness::new();
        h.syn(0).seg(1, b"abc").seg(7, b"ghi").seg(10, b"jkl");
        h.ack(7);
        assert_eq!(
            h.chunks(),
            vec![data(b"abc"), Chunk::Gap(D, 3), data(b"ghijkl")]
        );
        assert_eq!(h.half.buffered(), 0);
        h.seg(13, b"mno");
        assert_eq!(
            h.half.stats.out_of_order_segments, 2,
            "only the two segments before the ACK waited"
        );
        assert_eq!(h.out.bytes(D), b"abcghijklmno");
    }

    #[test]
    fn ack_beyond_everything_captured_is_a_gap_of_that_length() {
        let mut h = Harness::new();
        h.syn(0).seg(1, b"abc").ack(104);
        assert_eq!(h.chunks(), vec![data(b"abc"), Chunk::Gap(D, 100)]);
        h.seg(104, b"xyz");
        assert_eq!(
            h.chunks(),
            vec![data(b"abc"), Chunk::Gap(D, 100), data(b"xyz")]
        );
    }

    #[test]
    fn close_flushes_buffered_data_after_a_gap() {
        let mut h = Harness::new();
        h.syn(0).seg(1, b"ab").seg(5, b"ef").seg(9, b"ij").close();
        assert_eq!(
            h.chunks(),
            vec![
                data(b"ab"),
                Chunk::Gap(D, 2),
                data(b"ef"),
                Chunk::Gap(D, 2),
                data(b"ij")
            ]
        );
        assert_eq!(h.budget.used, 0);
    }

    #[test]
    fn missing_bytes_before_a_fin_become_a_final_gap() {
        let mut h = Harness::new();
        h.syn(0).seg(1, b"ab").fin(7, b"gh").close();
        assert_eq!(h.chunks(), vec![data(b"ab"), Chunk::Gap(D, 4), data(b"gh")]);
        assert!(h.half.is_finished());
    }

    #[test]
    fn ack_of_the_fin_does_not_invent_a_gap() {
        let mut h = Harness::new();
        h.syn(0).fin(1, b"abc").ack(5);
        assert_eq!(h.chunks(), vec![data(b"abc")]);
        assert_eq!(h.half.stats.gaps, 0);
        assert!(h.half.is_finished());
    }

    #[test]
    fn data_after_the_fin_is_dropped() {
        let mut h = Harness::new();
        h.syn(0).fin(1, b"abc").seg(4, b"zzz");
        assert_eq!(h.out.bytes(D), b"abc");
        assert_eq!(h.half.stats.dropped_bytes, 3);
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut h = Harness::new();
        let isn = u32::MAX - 4;
        // Data starts at u32::MAX - 3 and crosses zero; the third segment arrives early.
        h.syn(isn)
            .seg(isn.wrapping_add(1), b"abcd")
            .seg(3, b"ijk")
            .seg(0, b"efg");
        assert_eq!(h.out.bytes(D), b"abcdefgijk");
        assert_eq!(h.half.stats.gaps, 0);
        assert_eq!(h.half.stats.out_of_order_segments, 1);
    }

    #[test]
    fn stream_without_handshake_starts_at_the_first_data() {
        let mut h = Harness::new();
        // A pure ACK before any data does not sync the stream.
        h.seg(5000, b"").seg(5000, b"mid").seg(5003, b"stream");
        assert_eq!(h.out.bytes(D), b"midstream");
        // An older retransmission from before the pick-up is ignored.
        h.seg(4990, b"0123456789");
        assert_eq!(h.out.bytes(D), b"midstream");
    }

    #[test]
    fn data_on_the_syn_is_delivered() {
        let mut h = Harness::new();
        h.seg_flags(7, true, false, b"fastopen").seg(16, b"!");
        assert_eq!(h.out.bytes(D), b"fastopen!");
    }

    #[test]
    fn per_direction_cap_forces_a_gap_instead_of_growing() {
        let config = ReassemblyConfig {
            max_buffered_per_direction: 8,
            ..ReassemblyConfig::default()
        };
        let mut h = Harness::with_config(config);
        h.syn(0).seg(1, b"a").seg(11, b"klmno").seg(21, b"uvwxy");
        // 10 buffered bytes would pass the cap of 8: the first hole is given up.
        assert_eq!(
            h.chunks(),
            vec![data(b"a"), Chunk::Gap(D, 9), data(b"klmno")]
        );
        assert_eq!(h.half.buffered(), 5);
        assert!(h.budget.used <= 8);
    }

    #[test]
    fn global_cap_is_shared_across_streams() {
        let config = ReassemblyConfig {
            max_buffered_total: 6,
            ..ReassemblyConfig::default()
        };
        let mut budget = BufferBudget::default();
        let mut a = HalfStream::default();
        let mut b = HalfStream::default();
        let mut out = CollectingConsumer::default();
        a.syn(0);
        b.syn(0);
        a.segment(
            D,
            Timestamp(0),
            11,
            false,
            false,
            b"abcde",
            &config,
            &mut budget,
            &mut out,
        );
        assert_eq!(budget.used, 5);
        b.segment(
            D,
            Timestamp(0),
            11,
            false,
            false,
            b"vwxyz",
            &config,
            &mut budget,
            &mut out,
        );
        // b has no hole of its own to give up: the segment is dropped and counted, the budget holds.
        assert_eq!(b.stats.dropped_bytes, 5);
        assert_eq!(budget.used, 5);
        // At close, b's missing bytes become a gap; a's buffered bytes follow theirs.
        b.close(D, Timestamp(0), &mut budget, &mut out);
        a.close(D, Timestamp(0), &mut budget, &mut out);
        assert_eq!(budget.used, 0);
        assert_eq!(a.stats.gap_bytes, 10);
    }

    #[test]
    fn segments_far_ahead_are_dropped_not_taken_as_a_huge_gap() {
        let mut h = Harness::new();
        h.syn(0).seg(1, b"ab").seg(0x7000_0000, b"bogus").close();
        assert_eq!(h.chunks(), vec![data(b"ab")]);
        assert_eq!(h.half.stats.dropped_bytes, 5);
    }

    #[test]
    fn reset_delivers_buffered_bytes_and_takes_nothing_more() {
        let mut h = Harness::new();
        h.syn(0).seg(1, b"ab").seg(5, b"ef");
        h.half.reset(D, Timestamp(0), &mut h.budget, &mut h.out);
        h.seg(3, b"cd");
        assert_eq!(h.chunks(), vec![data(b"ab"), Chunk::Gap(D, 2), data(b"ef")]);
    }
}
