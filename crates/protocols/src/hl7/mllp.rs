//! MLLP deframing for a passive reader of one direction of a TCP stream.
//!
//! MLLP wraps each HL7 message as `<VT> message <FS><CR>` (0x0b, 0x1c, 0x0d). A passive reader joins
//! streams mid-way, loses bytes to reassembly gaps and meets senders that omit the final `<CR>`, so the
//! deframer hunts for `<VT>`, counts what it skips and never reports a frame it did not see whole.
//!
//! Resynchronisation rule: a `<VT>` inside an open frame (one whose `<FS>` has not arrived) starts a new
//! frame and the open one is abandoned (counted in [`MllpStats::abandoned`]). HL7 text never carries a
//! raw 0x0b (control characters travel as `\Xhh\` escapes), while a sender that restarts after an aborted
//! write, or a stream joined after a lost `<FS>`, is common; so the new `<VT>` is the better bet. A `<VT>`
//! after the `<FS>` of a frame always starts the next frame.

/// The default cap on one frame's body: 1 MiB holds any realistic HL7 message, waveforms included.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

const VT: u8 = 0x0b;
const FS: u8 = 0x1c;
const CR: u8 = 0x0d;

/// A buffer that grew past this for one large frame is released once the frame is done, so idle flows do
/// not each keep up to `max_frame` bytes.
const KEEP_CAPACITY: usize = 64 * 1024;

/// One deframed unit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// The bytes between `<VT>` and `<FS>` (the optional `<CR>` after `<FS>` is not part of it).
    Message(&'a [u8]),
    /// A frame whose body exceeded the cap; its bytes were skipped up to its end (the `<FS>`, or the
    /// `<VT>` of the next frame).
    Oversized { len: u64 },
}

impl std::fmt::Debug for Frame<'_> {
    // Message bodies carry patient data: show their length only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::Message(b) => write!(f, "Message({} bytes)", b.len()),
            Frame::Oversized { len } => write!(f, "Oversized {{ len: {len} }}"),
        }
    }
}

/// What the deframer saw, for anomaly reporting.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MllpStats {
    /// Complete frames reported as [`Frame::Message`].
    pub frames: u64,
    /// Frames reported as [`Frame::Oversized`].
    pub oversized: u64,
    /// Bytes skipped outside any frame (before a `<VT>`, or between frames).
    pub garbage_bytes: u64,
    /// Partial frames dropped at a reassembly gap.
    pub cut_by_gap: u64,
    /// A partial frame was open when the stream ended.
    pub incomplete_at_close: u64,
    /// Partial frames abandoned because a `<VT>` started a new frame before their `<FS>`.
    pub abandoned: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside any frame, hunting for `<VT>`.
    Idle,
    /// Inside a frame; its bytes so far are in `buf` (or counted only, when oversized).
    InFrame,
    /// Just after an `<FS>`: one `<CR>` here belongs to the frame trailer.
    AfterFs,
}

/// MLLP deframer for one direction of one stream.
pub struct MllpDeframer {
    max_frame: usize,
    state: State,
    /// Body bytes of the open frame that arrived in earlier `push` calls (never more than `max_frame`).
    buf: Vec<u8>,
    /// Body length of the open frame so far, buffered or not.
    frame_len: u64,
    /// The open frame exceeded `max_frame`: its bytes are counted, not kept.
    skipping: bool,
    stats: MllpStats,
}

impl std::fmt::Debug for MllpDeframer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MllpDeframer")
            .field("max_frame", &self.max_frame)
            .field("state", &self.state)
            .field("frame_len", &self.frame_len)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Default for MllpDeframer {
    fn default() -> Self {
        MllpDeframer::new(DEFAULT_MAX_FRAME)
    }
}

impl MllpDeframer {
    /// A deframer that reports frames whose body is longer than `max_frame` as [`Frame::Oversized`].
    pub fn new(max_frame: usize) -> Self {
        MllpDeframer {
            max_frame,
            state: State::Idle,
            buf: Vec::new(),
            frame_len: 0,
            skipping: false,
            stats: MllpStats::default(),
        }
    }

    /// Feeds stream bytes; calls `on_frame` for each complete frame. Pipelined frames in one call, one
    /// frame across many calls and garbage before a start byte all work. A frame wholly inside `data` is
    /// reported without copying; only partial frames are buffered (at most `max_frame` bytes).
    pub fn push(&mut self, data: &[u8], on_frame: &mut dyn FnMut(Frame<'_>)) {
        let mut rest = data;
        while let Some(&first) = rest.first() {
            match self.state {
                State::AfterFs => {
                    if first == CR {
                        rest = &rest[1..];
                    }
                    self.state = State::Idle;
                }
                State::Idle => match memchr::memchr(VT, rest) {
                    None => {
                        self.stats.garbage_bytes += rest.len() as u64;
                        return;
                    }
                    Some(i) => {
                        self.stats.garbage_bytes += i as u64;
                        rest = &rest[i + 1..];
                        self.open_frame();
                    }
                },
                State::InFrame => match memchr::memchr2(FS, VT, rest) {
                    None => {
                        self.append(rest);
                        return;
                    }
                    Some(i) if rest[i] == FS => {
                        let body = &rest[..i];
                        rest = &rest[i + 1..];
                        if self.frame_len == 0 && body.len() <= self.max_frame {
                            // The whole frame is in `data`: no copy.
                            self.stats.frames += 1;
                            on_frame(Frame::Message(body));
                        } else {
                            self.append(body);
                            self.emit(on_frame);
                        }
                        self.end_frame();
                        self.state = State::AfterFs;
                    }
                    Some(i) => {
                        // A `<VT>` before the `<FS>`: see the resynchronisation rule in the module doc.
                        self.append(&rest[..i]);
                        if self.skipping {
                            self.emit(on_frame);
                        } else {
                            self.stats.abandoned += 1;
                        }
                        rest = &rest[i + 1..];
                        self.end_frame();
                        self.open_frame();
                    }
                },
            }
        }
    }

    /// A reassembly gap of `len` bytes: a partial frame is dropped (counted in `cut_by_gap`, never
    /// reported) and the deframer resynchronises on the next `<VT>`.
    pub fn gap(&mut self, len: u64) {
        let _ = len;
        if self.state == State::InFrame {
            self.stats.cut_by_gap += 1;
            self.end_frame();
        }
        self.state = State::Idle;
    }

    /// End of stream: a partial frame is counted in `incomplete_at_close` (never reported).
    pub fn close(&mut self) {
        if self.state == State::InFrame {
            self.stats.incomplete_at_close += 1;
            self.end_frame();
        }
        self.state = State::Idle;
    }

    pub fn stats(&self) -> MllpStats {
        self.stats
    }

    /// The cap on one frame's body.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Bytes currently buffered for a partial frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn open_frame(&mut self) {
        self.state = State::InFrame;
        self.buf.clear();
        self.frame_len = 0;
        self.skipping = false;
    }

    /// Adds body bytes of the open frame, switching to skipping when the cap is passed.
    fn append(&mut self, bytes: &[u8]) {
        self.frame_len = self.frame_len.saturating_add(bytes.len() as u64);
        if self.skipping {
            return;
        }
        let needed = self.buf.len() + bytes.len();
        if needed > self.max_frame {
            self.skipping = true;
            self.release_buffer();
            return;
        }
        if needed > self.buf.capacity() {
            // Grow geometrically but never past the cap, so memory stays within `max_frame`.
            let target = needed.max(self.buf.capacity() * 2).min(self.max_frame);
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(bytes);
    }

    fn emit(&mut self, on_frame: &mut dyn FnMut(Frame<'_>)) {
        if self.skipping {
            self.stats.oversized += 1;
            on_frame(Frame::Oversized {
                len: self.frame_len,
            });
        } else {
            self.stats.frames += 1;
            on_frame(Frame::Message(&self.buf));
        }
    }

    fn end_frame(&mut self) {
        self.frame_len = 0;
        self.skipping = false;
        if self.buf.capacity() > KEEP_CAPACITY {
            self.release_buffer();
        } else {
            self.buf.clear();
        }
    }

    fn release_buffer(&mut self) {
        self.buf = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything one deframer reports, as owned values.
    #[derive(Debug, PartialEq, Eq)]
    enum Got {
        Msg(Vec<u8>),
        Big(u64),
    }

    fn collect(d: &mut MllpDeframer, chunks: &[&[u8]]) -> Vec<Got> {
        let mut out = Vec::new();
        for c in chunks {
            d.push(c, &mut |f| {
                out.push(match f {
                    Frame::Message(b) => Got::Msg(b.to_vec()),
                    Frame::Oversized { len } => Got::Big(len),
                })
            });
        }
        out
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut v = vec![VT];
        v.extend_from_slice(body);
        v.extend_from_slice(&[FS, CR]);
        v
    }

    const A: &[u8] = b"MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.5\rPID|||100001\r";
    const B: &[u8] = b"MSH|^~\\&|C|D|||20240101||ACK^A01|2|P|2.5\rMSA|AA|1";

    fn two_frames() -> Vec<u8> {
        let mut s = frame(A);
        s.extend(frame(B));
        s
    }

    #[test]
    fn pipelined_frames_in_one_push() {
        let mut d = MllpDeframer::default();
        let got = collect(&mut d, &[&two_frames()]);
        assert_eq!(got, vec![Got::Msg(A.to_vec()), Got::Msg(B.to_vec())]);
        assert_eq!(d.stats().frames, 2);
        assert_eq!(d.stats().garbage_bytes, 0);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn whole_frame_in_one_push_is_not_copied() {
        let stream = two_frames();
        let mut d = MllpDeframer::default();
        let mut ptrs = Vec::new();
        d.push(&stream, &mut |f| {
            if let Frame::Message(b) = f {
                ptrs.push(b.as_ptr());
            }
        });
        assert_eq!(
            ptrs,
            vec![stream[1..].as_ptr(), stream[A.len() + 4..].as_ptr()]
        );
    }

    #[test]
    fn byte_by_byte_and_every_split_point_give_the_same_frames() {
        let stream = two_frames();
        let want = vec![Got::Msg(A.to_vec()), Got::Msg(B.to_vec())];
        let mut d = MllpDeframer::default();
        let singles: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(collect(&mut d, &singles), want);
        for cut in 0..=stream.len() {
            let mut d = MllpDeframer::default();
            let (x, y) = stream.split_at(cut);
            assert_eq!(collect(&mut d, &[x, y]), want, "split at {cut}");
            assert_eq!(d.stats().frames, 2);
            assert_eq!(d.stats().garbage_bytes, 0);
        }
    }

    #[test]
    fn garbage_before_vt_is_skipped_and_counted() {
        let mut stream = b"\r\nHELLO".to_vec();
        stream.extend(frame(A));
        stream.extend_from_slice(b"xx");
        stream.extend(frame(B));
        let mut d = MllpDeframer::default();
        let got = collect(&mut d, &[&stream]);
        assert_eq!(got, vec![Got::Msg(A.to_vec()), Got::Msg(B.to_vec())]);
        assert_eq!(d.stats().garbage_bytes, 9);
    }

    #[test]
    fn missing_cr_after_fs() {
        let mut stream = vec![VT];
        stream.extend_from_slice(A);
        stream.push(FS);
        stream.push(VT);
        stream.extend_from_slice(B);
        stream.push(FS);
        let mut d = MllpDeframer::default();
        let got = collect(&mut d, &[&stream]);
        assert_eq!(got, vec![Got::Msg(A.to_vec()), Got::Msg(B.to_vec())]);
        assert_eq!(d.stats().garbage_bytes, 0);
    }

    #[test]
    fn gap_mid_frame_drops_it_then_resyncs() {
        let first = frame(A);
        let mut d = MllpDeframer::default();
        let mut got = collect(&mut d, &[&first[..20]]);
        d.gap(100);
        // The rest of the cut frame arrives after the gap: it is garbage until the next <VT>.
        got.extend(collect(&mut d, &[&first[40..], &frame(B)]));
        assert_eq!(got, vec![Got::Msg(B.to_vec())]);
        let s = d.stats();
        assert_eq!(s.cut_by_gap, 1);
        assert_eq!(s.frames, 1);
        assert_eq!(s.garbage_bytes, (first.len() - 40) as u64);
    }

    #[test]
    fn gap_between_frames_is_not_a_cut() {
        let mut d = MllpDeframer::default();
        let mut got = collect(&mut d, &[&frame(A)]);
        d.gap(10);
        got.extend(collect(&mut d, &[&frame(B)]));
        assert_eq!(got.len(), 2);
        assert_eq!(d.stats().cut_by_gap, 0);
    }

    #[test]
    fn oversized_frame_is_reported_skipped_and_memory_bounded() {
        let max = 64;
        let body = vec![b'x'; 10_000];
        let mut stream = frame(&body);
        stream.extend(frame(b"MSH|^~\\&|small"));
        // Fed in pieces so that the deframer must buffer.
        let mut d = MllpDeframer::new(max);
        let mut got = Vec::new();
        for c in stream.chunks(7) {
            d.push(c, &mut |f| {
                got.push(match f {
                    Frame::Message(b) => Got::Msg(b.to_vec()),
                    Frame::Oversized { len } => Got::Big(len),
                })
            });
            assert!(d.buffered() <= max);
            assert!(d.buf.capacity() <= max);
        }
        assert_eq!(
            got,
            vec![Got::Big(10_000), Got::Msg(b"MSH|^~\\&|small".to_vec())]
        );
        assert_eq!(d.stats().oversized, 1);
        assert_eq!(d.stats().frames, 1);
        // The same in one push (the zero-copy path must respect the cap too).
        let mut d = MllpDeframer::new(max);
        let got = collect(&mut d, &[&stream]);
        assert_eq!(
            got,
            vec![Got::Big(10_000), Got::Msg(b"MSH|^~\\&|small".to_vec())]
        );
    }

    #[test]
    fn frame_of_exactly_max_is_a_message() {
        let mut d = MllpDeframer::new(5);
        let got = collect(&mut d, &[&[VT, b'a', b'b'], &[b'c', b'd', b'e', FS, CR]]);
        assert_eq!(got, vec![Got::Msg(b"abcde".to_vec())]);
        let got = collect(
            &mut d,
            &[&[VT, b'a', b'b'], &[b'c', b'd', b'e', b'f', FS, CR]],
        );
        assert_eq!(got, vec![Got::Big(6)]);
    }

    #[test]
    fn vt_inside_open_frame_restarts_it() {
        let mut stream = vec![VT];
        stream.extend_from_slice(b"MSH|partial");
        stream.extend(frame(B));
        let mut d = MllpDeframer::default();
        assert_eq!(collect(&mut d, &[&stream]), vec![Got::Msg(B.to_vec())]);
        assert_eq!(d.stats().abandoned, 1);
    }

    #[test]
    fn close_with_partial_frame_is_counted_not_reported() {
        let f = frame(A);
        let mut d = MllpDeframer::default();
        assert!(collect(&mut d, &[&f[..f.len() - 2]]).is_empty());
        d.close();
        assert_eq!(d.stats().incomplete_at_close, 1);
        assert_eq!(d.stats().frames, 0);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn every_prefix_then_close_yields_only_whole_frames() {
        let stream = two_frames();
        let end_a = A.len() + 1; // index of A's FS
        let start_b = A.len() + 3; // index of B's VT
        let end_b = stream.len() - 2; // index of B's FS
        for n in 0..=stream.len() {
            let mut d = MllpDeframer::default();
            let got = collect(&mut d, &[&stream[..n]]);
            d.close();
            let mut want = Vec::new();
            if n > end_a {
                want.push(Got::Msg(A.to_vec()));
            }
            if n > end_b {
                want.push(Got::Msg(B.to_vec()));
            }
            assert_eq!(got, want, "prefix {n}");
            let open = n > 0 && n <= end_a || n > start_b && n <= end_b;
            assert_eq!(d.stats().incomplete_at_close, u64::from(open), "prefix {n}");
        }
    }

    #[test]
    fn non_utf8_bodies_survive() {
        let body = [b'M', b'S', b'H', 0xff, 0xfe, 0x80];
        let mut d = MllpDeframer::default();
        assert_eq!(
            collect(&mut d, &[&frame(&body)]),
            vec![Got::Msg(body.to_vec())]
        );
    }
}
