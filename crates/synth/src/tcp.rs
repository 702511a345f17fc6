//! TCP connections as a real stack writes them: three-way handshake with MSS, window scale and SACK
//! options, segmentation at the MSS, cumulative ACKs every second segment and delayed ACKs otherwise
//! (piggybacked on a quick reply), FIN or RST teardown; plus the capture faults a sensor sees
//! (retransmissions, reordering, duplicates, segments the capture lost, snaplen truncation), each one
//! recorded in the truth.

use std::collections::VecDeque;
use std::io;

use crate::emit::{Emitter, Session};
use crate::rng::Rng;
use crate::truth::{FlowRow, Truth};
use crate::wire::{L2L3, Transport, tcp_flags as F};

/// Which end of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client = 0,
    Server = 1,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// What a message is, for the faults that may hit it and what the truth must say when they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// Never hit by loss or truncation (handshakes, commands whose loss the truth cannot state exactly).
    Fixed,
    /// Opaque bytes (TLS application data, image pixels in TLS): loss only shows as a gap.
    Opaque,
    /// One MLLP-framed HL7 message of this type: if the capture loses part of it, the analyser must
    /// count it as cut by a gap and not as a message.
    Hl7(String),
    /// DICOM P-DATA whose loss the truth can state: only inside these byte ranges of the message
    /// (image data fragments, away from PDU headers and the data set's first PDU), so the reader
    /// skips to the PDU's end, the association is counted as cut, and every command still counts.
    Dicom(Vec<(u32, u32)>),
}

/// The next thing an application does on the connection.
pub enum Step {
    /// `from` sends the bytes the application wrote into the buffer, `delay_us` after the previous
    /// message ended.
    Send { from: Side, delay_us: i64, tag: Tag },
    /// `by` closes: FIN (answered with FIN) or RST.
    Close { by: Side, delay_us: i64, rst: bool },
    /// Nothing more: the connection stays open past the end of the capture.
    Hold,
}

/// Context an application writes its next message with.
pub struct StepCtx<'a> {
    pub rng: &'a mut Rng,
    pub buf: &'a mut Vec<u8>,
    /// When the previous message ended (packet time, µs).
    pub now_us: i64,
    /// Nominal end of the capture: applications start nothing new after it and close what they can.
    pub end_us: i64,
    pub truth: &'a mut Truth,
}

pub trait App {
    fn step(&mut self, ctx: &mut StepCtx) -> Step;
}

/// Per-segment fault rates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SegmentFaults {
    pub retransmit: f64,
    pub reorder: f64,
    pub loss: f64,
    pub duplicate: f64,
    pub truncate: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub l2l3: L2L3,
    pub port: u16,
}

#[derive(Debug, Clone, Copy)]
struct Pkt {
    ts: i64,
    from: Side,
    seq: u32,
    ack: u32,
    flags: u8,
    /// Payload as a range of the current message.
    start: u32,
    end: u32,
    /// Bytes of the frame the capture keeps (snaplen truncation).
    caplen: Option<u32>,
    /// The capture never saw it (its bytes become a gap).
    lost: bool,
}

const DELAYED_ACK_US: i64 = 40_000;
const MSS_V4: usize = 1460;
const MSS_V6: usize = 1440;
/// Window advertised after the handshake (scaled by 2^7): ~64 KiB, as Linux starts.
const WINDOW: u16 = 502;

pub struct TcpSession {
    ends: [Endpoint; 2],
    /// Next sequence number each side sends.
    snd: [u32; 2],
    rtt_us: i64,
    mss: usize,
    ttl: [u8; 2],
    ip_id: [u16; 2],
    faults: SegmentFaults,
    app: Box<dyn App>,
    rng: Rng,
    pending: VecDeque<Pkt>,
    cur: Vec<u8>,
    next: Vec<u8>,
    lookahead: Option<Step>,
    start_us: i64,
    end_us: i64,
    last_ts: i64,
    started: bool,
    done: bool,
    /// Index of this connection in the truth's flow list.
    flow: usize,
    encrypted: bool,
    /// A fault has already cut this DICOM association.
    dicom_cut: bool,
    /// Per direction, the end of a hole the analyser has not yet seen ACKed.
    holes: [Option<u32>; 2],
}

impl TcpSession {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Endpoint,
        server: Endpoint,
        start_us: i64,
        end_us: i64,
        faults: SegmentFaults,
        rng: Rng,
        app: Box<dyn App>,
        flow_app: &'static str,
        encrypted: bool,
        truth: &mut Truth,
    ) -> TcpSession {
        let mut rng = rng;
        let mss = match client.l2l3.ip {
            crate::wire::Ip::V4(_) => MSS_V4,
            crate::wire::Ip::V6(_) => MSS_V6,
        };
        let flow = truth.flows.len();
        truth.flows.push(FlowRow::tcp(
            client.l2l3.ip,
            client.port,
            server.l2l3.ip,
            server.port,
            flow_app,
            encrypted,
        ));
        TcpSession {
            ends: [client, server],
            snd: [rng.next_u32(), rng.next_u32()],
            rtt_us: rng.range(80, 900) as i64,
            mss,
            ttl: [64, if rng.chance(0.3) { 128 } else { 64 }],
            ip_id: [rng.next_u32() as u16, rng.next_u32() as u16],
            faults,
            app,
            rng,
            pending: VecDeque::new(),
            cur: Vec::new(),
            next: Vec::new(),
            lookahead: None,
            start_us,
            end_us,
            last_ts: start_us,
            started: false,
            done: false,
            flow,
            encrypted,
            dicom_cut: false,
            holes: [None; 2],
        }
    }

    fn push(&mut self, ts: i64, from: Side, flags: u8) {
        let ack = if flags & F::ACK != 0 {
            self.snd[from.other() as usize]
        } else {
            0
        };
        self.pending.push_back(Pkt {
            ts,
            from,
            seq: self.snd[from as usize],
            ack,
            flags,
            start: 0,
            end: 0,
            caplen: None,
            lost: false,
        });
    }

    fn handshake(&mut self) {
        let t = self.start_us;
        let half = self.rtt_us / 2;
        self.push(t, Side::Client, F::SYN);
        self.snd[0] = self.snd[0].wrapping_add(1);
        self.push(t + half, Side::Server, F::SYN | F::ACK);
        self.snd[1] = self.snd[1].wrapping_add(1);
        self.push(t + self.rtt_us, Side::Client, F::ACK);
        self.last_ts = t + self.rtt_us;
    }

    fn ask_app(&mut self, now_us: i64, truth: &mut Truth) -> Step {
        self.next.clear();
        let mut ctx = StepCtx {
            rng: &mut self.rng,
            buf: &mut self.next,
            now_us,
            end_us: self.end_us,
            truth,
        };
        self.app.step(&mut ctx)
    }

    /// Lays out the packets of the next step; false when the connection has nothing more to send.
    fn advance(&mut self, truth: &mut Truth) -> bool {
        let step = match self.lookahead.take() {
            Some(s) => s,
            None => self.ask_app(self.last_ts, truth),
        };
        std::mem::swap(&mut self.cur, &mut self.next);
        match step {
            Step::Hold => false,
            Step::Close { by, delay_us, rst } => {
                let t = self.last_ts + delay_us.max(1);
                if rst {
                    self.push(t, by, F::RST | F::ACK);
                } else {
                    self.push(t, by, F::FIN | F::ACK);
                    self.snd[by as usize] = self.snd[by as usize].wrapping_add(1);
                    let half = self.rtt_us / 2;
                    self.push(t + half, by.other(), F::FIN | F::ACK);
                    self.snd[by.other() as usize] = self.snd[by.other() as usize].wrapping_add(1);
                    self.push(t + 2 * half + 1, by, F::ACK);
                }
                truth.flows[self.flow].closed = true;
                self.done = true;
                true
            }
            Step::Send {
                from,
                delay_us,
                tag,
            } => {
                let t0 = self.last_ts + delay_us.max(1);
                self.segment(from, t0, tag, truth);
                true
            }
        }
    }

    /// Segments the current message from `from`, starting at `t0`.
    fn segment(&mut self, from: Side, t0: i64, tag: Tag, truth: &mut Truth) {
        let len = self.cur.len();
        if len == 0 {
            return;
        }
        let lossable = tag != Tag::Fixed;
        let nseg = len.div_ceil(self.mss);
        // One fault at most per message, on one segment: its accounting stays exact. Loss spares the
        // first segment so an HL7 frame's start byte is always seen (the analyser then counts the
        // message as cut by a gap, as the truth says).
        let f = self.faults;
        let roll = self.rng.unit();
        #[derive(PartialEq)]
        enum Fault {
            None,
            Retransmit(usize),
            Reorder(usize),
            Loss(usize),
            Duplicate(usize),
            Truncate(usize),
        }
        let per_msg = |rate: f64| 1.0 - (1.0 - rate).powi(nseg as i32);
        let mut acc = 0.0;
        let mut fault = Fault::None;
        for (rate, kind) in [
            (f.retransmit, 0),
            (f.reorder, 1),
            (f.loss, 2),
            (f.duplicate, 3),
            (f.truncate, 4),
        ] {
            let p = per_msg(rate);
            if roll >= acc && roll < acc + p {
                let i = self.rng.below(nseg as u64) as usize;
                fault = match kind {
                    0 => Fault::Retransmit(i),
                    1 if nseg >= 2 => Fault::Reorder(i.min(nseg - 2)),
                    2 | 4 if let Tag::Dicom(ranges) = &tag => {
                        let mss = self.mss;
                        let inside = |j: usize| {
                            let (a, b) = (j * mss, ((j + 1) * mss).min(len));
                            ranges
                                .iter()
                                .any(|&(lo, hi)| a >= lo as usize && b <= hi as usize)
                        };
                        let eligible: Vec<usize> = (1..nseg).filter(|&j| inside(j)).collect();
                        match eligible.len() {
                            0 => Fault::None,
                            n => {
                                let j = eligible[self.rng.below(n as u64) as usize];
                                if kind == 2 {
                                    Fault::Loss(j)
                                } else {
                                    Fault::Truncate(j)
                                }
                            }
                        }
                    }
                    2 if lossable && nseg >= 2 => {
                        Fault::Loss(1 + self.rng.below(nseg as u64 - 1) as usize)
                    }
                    // A message in one segment can vanish whole: the reader never sees its start.
                    2 if lossable => Fault::Loss(0),
                    3 => Fault::Duplicate(i),
                    4 if lossable => Fault::Truncate(i),
                    _ => Fault::None,
                };
                break;
            }
            acc += p;
        }

        let seq0 = self.snd[from as usize];
        let ack = self.snd[from.other() as usize];
        let first = self.pending.len();
        let mut t = t0;
        let mut max_ts = t0;
        let mut lost_msg = false;
        let mut lost_whole = false;
        for i in 0..nseg {
            let start = i * self.mss;
            let end = (start + self.mss).min(len);
            let mut flags = F::ACK;
            if end == len {
                flags |= F::PSH;
            }
            let mut p = Pkt {
                ts: t,
                from,
                seq: seq0.wrapping_add(start as u32),
                ack,
                flags,
                start: start as u32,
                end: end as u32,
                caplen: None,
                lost: false,
            };
            let seg_len = (end - start) as u64;
            match fault {
                Fault::Loss(j) if j == i => {
                    p.lost = true;
                    truth.faults.lost_segments += 1;
                    truth.faults.gap_bytes += seg_len;
                    // An MLLP frame that lost only its final CR is still whole to a reader that
                    // tolerates a missing CR after the end byte (as ours must): not cut.
                    lost_msg = start + 1 < len;
                    if nseg == 1 {
                        lost_whole = true;
                    }
                }
                Fault::Truncate(j) if j == i => {
                    // Keep the headers and at least one byte of payload; lose at least one.
                    let headers = self.header_len() as u64;
                    if seg_len >= 2 {
                        let keep = 1 + self.rng.below(seg_len - 1);
                        p.caplen = Some((headers + keep) as u32);
                        truth.faults.truncated_packets += 1;
                        truth.faults.gap_bytes += seg_len - keep;
                        lost_msg = start + (keep as usize) + 1 < len;
                    }
                }
                _ => {}
            }
            max_ts = max_ts.max(t);
            self.pending.push_back(p);
            match fault {
                Fault::Duplicate(j) if j == i => {
                    self.pending.push_back(p);
                    truth.faults.duplicated_segments += 1;
                    truth.faults.retransmitted_bytes += seg_len;
                }
                _ => {}
            }
            // Serialisation at 1 Gb/s plus the sender's pacing.
            t += ((end - start) as i64 + 66) * 8 / 1000 + 1 + self.rng.below(4) as i64;
        }
        if let Fault::Reorder(i) = fault {
            // The capture sees segment i+1 before segment i.
            let a = first + i;
            let b = a + 1;
            let (ta, tb) = (self.pending[a].ts, self.pending[b].ts);
            self.pending.swap(a, b);
            self.pending[a].ts = ta;
            self.pending[b].ts = tb;
            truth.faults.reordered_segments += 1;
            truth.faults.out_of_order_segments += 1;
            truth.flows[self.flow].out_of_order_segments += 1;
        }
        if let Fault::Retransmit(i) = fault {
            let mut p = self
                .pending
                .iter()
                .skip(first)
                .find(|p| p.start as usize == i * self.mss)
                .copied()
                .expect("segment i exists");
            p.ts = max_ts + 3 * self.rtt_us + 200;
            truth.faults.retransmitted_segments += 1;
            truth.faults.retransmitted_bytes += u64::from(p.end - p.start);
            self.pending.push_back(p);
            max_ts = p.ts;
        }
        self.snd[from as usize] = seq0.wrapping_add(len as u32);

        // ACKs from the receiver: one per two segments it has, cumulative over what arrived in order
        // (the receiver got every segment: what the capture lost, the network did not).
        let receiver = from.other();
        let half = self.rtt_us / 2;
        let mut acks = Vec::new();
        let mut arrived: Vec<(i64, usize)> = self
            .pending
            .iter()
            .skip(first)
            .take(nseg + usize::from(matches!(fault, Fault::Duplicate(_))))
            .map(|p| (p.ts, p.start as usize / self.mss))
            .collect();
        arrived.sort_by_key(|&(ts, _)| ts);
        arrived.dedup_by_key(|a| a.1);
        let mut have = vec![false; nseg];
        let mut contiguous = 0usize;
        for (k, &(ts, idx)) in arrived.iter().enumerate() {
            have[idx] = true;
            while contiguous < nseg && have[contiguous] {
                contiguous += 1;
            }
            if k % 2 == 1 && contiguous < nseg {
                acks.push((ts + half, seq0.wrapping_add((contiguous * self.mss) as u32)));
            }
        }
        self.lookahead = Some(self.ask_app(max_ts, truth));
        let reply_soon = matches!(self.lookahead, Some(Step::Send { from: f, delay_us, .. }) if f == receiver && delay_us < DELAYED_ACK_US);
        if !reply_soon {
            let quick = matches!(self.lookahead, Some(Step::Send { from: f, delay_us, .. }) if f == from && delay_us < DELAYED_ACK_US);
            let delay = if quick || nseg >= 2 {
                half
            } else {
                DELAYED_ACK_US
            };
            acks.push((max_ts + delay, seq0.wrapping_add(len as u32)));
        }
        for (ts, ackno) in acks {
            let seq = self.snd[receiver as usize];
            self.pending.push_back(Pkt {
                ts,
                from: receiver,
                seq,
                ack: ackno,
                flags: F::ACK,
                start: 0,
                end: 0,
                caplen: None,
                lost: false,
            });
        }
        // Pending packets in time order (stable: equal times keep their order).
        let mut all: Vec<Pkt> = self.pending.drain(first..).collect();
        all.sort_by_key(|p| p.ts);
        self.pending.extend(all);

        if matches!(tag, Tag::Dicom(_)) && lost_msg && !self.dicom_cut {
            self.dicom_cut = true;
            truth.faults.dicom_associations_cut += 1;
        }
        if let Tag::Hl7(t) = tag {
            if lost_whole {
                truth.faults.hl7_messages_unseen += 1;
            } else if lost_msg {
                truth.faults.hl7_messages_cut += 1;
            } else {
                *truth.hl7_messages_by_type.entry(t).or_default() += 1;
            }
        }
    }

    /// Segments that arrive beyond a hole wait in the analyser's reassembly as out of order until a
    /// captured ACK from the other side passes the hole (the receiver got the bytes; the capture did
    /// not). Accounted as packets are emitted, so holes whose ACK the capture also lost stay open.
    fn account_holes(&mut self, p: &Pkt, truth: &mut Truth) {
        let d = p.from as usize;
        if p.end > p.start {
            let seq_end = p.seq.wrapping_add(p.end - p.start);
            if !p.lost
                && let Some(h) = self.holes[d]
                && p.seq.wrapping_sub(h) as i32 >= 0
            {
                truth.faults.out_of_order_segments += 1;
                truth.flows[self.flow].out_of_order_segments += 1;
            }
            if p.lost || p.caplen.is_some() {
                self.holes[d] = Some(seq_end);
            }
        }
        if !p.lost
            && p.flags & F::ACK != 0
            && let Some(h) = self.holes[1 - d]
            && p.ack.wrapping_sub(h) as i32 >= 0
        {
            self.holes[1 - d] = None;
        }
    }

    fn header_len(&self) -> usize {
        let l2 = 14
            + if self.ends[0].l2l3.vlan.is_some() {
                4
            } else {
                0
            };
        let l3 = match self.ends[0].l2l3.ip {
            crate::wire::Ip::V4(_) => 20,
            crate::wire::Ip::V6(_) => 40,
        };
        l2 + l3 + 20
    }
}

/// SYN options: MSS, NOP, window scale 7, SACK permitted, NOP, NOP (12 bytes, as Linux without timestamps).
fn syn_options(mss: usize) -> [u8; 12] {
    let m = (mss as u16).to_be_bytes();
    [2, 4, m[0], m[1], 1, 3, 3, 7, 4, 2, 1, 1]
}

impl Session for TcpSession {
    fn front_ts(&self) -> Option<i64> {
        if !self.started {
            return Some(self.start_us);
        }
        self.pending.front().map(|p| p.ts)
    }

    fn emit(&mut self, em: &mut Emitter) -> io::Result<()> {
        if !self.started {
            self.started = true;
            self.handshake();
        }
        let Some(p) = self.pending.pop_front() else {
            return Ok(());
        };
        self.last_ts = self.last_ts.max(p.ts);
        self.account_holes(&p, &mut em.truth);
        if !p.lost {
            let s = p.from as usize;
            let src = self.ends[s];
            let dst = self.ends[1 - s];
            let opts = if p.flags & F::SYN != 0 {
                syn_options(self.mss)
            } else {
                [0; 12]
            };
            let options: &[u8] = if p.flags & F::SYN != 0 { &opts } else { &[] };
            let window = if p.flags & F::SYN != 0 { 64240 } else { WINDOW };
            let t = Transport::Tcp {
                sport: src.port,
                dport: dst.port,
                seq: p.seq,
                ack: p.ack,
                flags: p.flags,
                window,
                options,
            };
            let payload = &self.cur[p.start as usize..p.end as usize];
            self.ip_id[s] = self.ip_id[s].wrapping_add(1);
            em.frame(
                p.ts,
                &src.l2l3,
                dst.l2l3.mac,
                dst.l2l3.ip,
                self.ip_id[s],
                self.ttl[s],
                &t,
                payload,
                p.caplen,
            )?;
            em.truth.flows[self.flow].packets += 1;
        }
        if self.pending.is_empty() && !self.done {
            // Lay out steps until one produces packets (an empty message produces none).
            loop {
                if !self.advance(&mut em.truth) {
                    self.done = true;
                    break;
                }
                if !self.pending.is_empty() {
                    break;
                }
            }
        }
        let _ = self.encrypted;
        Ok(())
    }
}
