//! A flow table's output carried to another thread, in order.
//!
//! The pipeline's work splits cleanly at [`FlowHandler`]: reading, decoding, the flow table and TCP
//! reassembly on one side; application parsing of the reassembled streams on the other. The calls
//! across that line only go one way (nothing a handler or consumer does feeds back into the flow
//! table), so they can be recorded on one thread and replayed on another. [`Relay`] is a handler that
//! records every call (flow opened, stream bytes, gap, datagram, close, flow finished, ARP, LLDP and
//! CDP data units) into batches; [`Inbox::replay`] makes the same calls, in the same order, on the
//! real handler. The result is exactly what the handler would have produced on the pipeline's
//! thread, with two cores at work.
//!
//! Memory is bounded: a batch is sent once it holds [`BATCH_BYTES`] of stream bytes or [`BATCH_OPS`]
//! calls, at most [`BATCHES_IN_FLIGHT`] wait in the channel, and the replaying side gives emptied
//! batches back to be filled again. A single delivery larger than a batch travels in a batch of its
//! own.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::decode::{ArpPacket, LinkPdu, NdpPacket};
use crate::flow::{FlowHandler, FlowInfo, FlowRecord};
use crate::reassembly::{Direction, EndReason, StreamConsumer};
use crate::time::Timestamp;

/// Stream bytes after which a batch is sent.
pub const BATCH_BYTES: usize = 512 << 10;
/// Calls after which a batch is sent, however few bytes they carry.
pub const BATCH_OPS: usize = 8192;
/// Batches waiting for the replaying thread before the recording thread blocks.
pub const BATCHES_IN_FLIGHT: usize = 4;

/// The recording side: a [`FlowHandler`] for the pipeline's thread.
pub struct Relay {
    out: Rc<RefCell<Outbox>>,
    /// Slots of finished flows, reused by the next flows to open.
    free: Vec<u32>,
    next_slot: u32,
}

/// The replaying side: give it the real handler on another thread.
pub struct Inbox {
    rx: Receiver<Batch>,
    spare: SyncSender<Batch>,
}

/// The recording side before it starts: move it to the pipeline's thread and make the [`Relay`]
/// there (the relay itself shares its outbox with its consumers, so it stays on one thread).
pub struct Outlet {
    tx: SyncSender<Batch>,
    spares: Receiver<Batch>,
}

/// A new outlet and the inbox that replays what its relay records.
pub fn channel() -> (Outlet, Inbox) {
    let (tx, rx) = sync_channel(BATCHES_IN_FLIGHT);
    let (spare, spares) = sync_channel(BATCHES_IN_FLIGHT + 2);
    (Outlet { tx, spares }, Inbox { rx, spare })
}

impl Outlet {
    pub fn relay(self) -> Relay {
        let out = Outbox {
            batch: Batch::default(),
            tx: Some(self.tx),
            spares: self.spares,
        };
        Relay {
            out: Rc::new(RefCell::new(out)),
            free: Vec::new(),
            next_slot: 0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// The next of `Batch::opened` opens in this slot.
    Open,
    /// `Batch::bytes[start..end]`.
    Data {
        start: usize,
        end: usize,
    },
    Gap {
        len: u64,
    },
    Datagram {
        start: usize,
        end: usize,
    },
    Close {
        reason: EndReason,
    },
    /// The next of `Batch::finished` ends the flow in this slot.
    Finish,
    /// The next of `Batch::arps` (no flow: the slot is unused).
    Arp,
    /// The next of `Batch::neighbors` (no flow's call either).
    Neighbor,
    /// The next of `Batch::pdus`, its data `Batch::bytes[start..end]` (no flow either).
    Pdu {
        start: usize,
        end: usize,
    },
}

#[derive(Debug, Clone, Copy)]
struct Op {
    slot: u32,
    dir: Direction,
    ts: Timestamp,
    kind: Kind,
}

#[derive(Default)]
struct Batch {
    ops: Vec<Op>,
    bytes: Vec<u8>,
    opened: Vec<FlowInfo>,
    finished: Vec<FlowRecord>,
    arps: Vec<ArpPacket>,
    neighbors: Vec<NdpPacket>,
    /// Each link-layer data unit's ether type, VLANs and source MAC.
    pdus: Vec<(u16, [u16; 2], Option<[u8; 6]>)>,
}

impl Batch {
    fn clear(&mut self) {
        self.ops.clear();
        self.bytes.clear();
        self.opened.clear();
        self.finished.clear();
        self.arps.clear();
        self.neighbors.clear();
        self.pdus.clear();
    }

    fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

struct Outbox {
    batch: Batch,
    /// `None` once closed, or once the replaying side has gone (then calls are dropped: the other
    /// thread has failed and its failure is what the caller reports).
    tx: Option<SyncSender<Batch>>,
    spares: Receiver<Batch>,
}

impl Outbox {
    fn push(&mut self, slot: u32, dir: Direction, ts: Timestamp, kind: Kind) {
        self.batch.ops.push(Op {
            slot,
            dir,
            ts,
            kind,
        });
        if self.batch.ops.len() >= BATCH_OPS || self.batch.bytes.len() >= BATCH_BYTES {
            self.send();
        }
    }

    fn bytes(&mut self, bytes: &[u8]) -> (usize, usize) {
        let start = self.batch.bytes.len();
        self.batch.bytes.extend_from_slice(bytes);
        (start, self.batch.bytes.len())
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let next = self.spares.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.batch, next);
        if let Some(tx) = &self.tx
            && tx.send(full).is_err()
        {
            self.tx = None;
        }
        if self.tx.is_none() {
            self.batch.clear();
        }
    }
}

impl Relay {
    /// Sends what is left; the inbox's replay returns once it has made the last call.
    pub fn close(self) {
        let mut out = self.out.borrow_mut();
        out.send();
        out.tx = None;
    }
}

impl FlowHandler for Relay {
    type Consumer = RelayConsumer;

    fn open(&mut self, info: &FlowInfo) -> RelayConsumer {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.next_slot += 1;
            self.next_slot - 1
        });
        let mut out = self.out.borrow_mut();
        out.batch.opened.push(*info);
        out.push(slot, Direction::ToServer, info.first_seen, Kind::Open);
        RelayConsumer {
            slot,
            out: Rc::clone(&self.out),
        }
    }

    fn finish(&mut self, record: FlowRecord, consumer: RelayConsumer) {
        let mut out = self.out.borrow_mut();
        let ts = record.last_seen;
        out.batch.finished.push(record);
        out.push(consumer.slot, Direction::ToServer, ts, Kind::Finish);
        self.free.push(consumer.slot);
    }

    fn arp(&mut self, ts: Timestamp, arp: &ArpPacket) {
        let mut out = self.out.borrow_mut();
        out.batch.arps.push(*arp);
        out.push(0, Direction::ToServer, ts, Kind::Arp);
    }

    fn neighbor(&mut self, ts: Timestamp, nd: &NdpPacket) {
        let mut out = self.out.borrow_mut();
        out.batch.neighbors.push(*nd);
        out.push(0, Direction::ToServer, ts, Kind::Neighbor);
    }

    fn pdu(&mut self, ts: Timestamp, pdu: &LinkPdu<'_>) {
        let mut out = self.out.borrow_mut();
        out.batch.pdus.push((pdu.ether_type, pdu.vlan, pdu.src));
        let (start, end) = out.bytes(pdu.data);
        out.push(0, Direction::ToServer, ts, Kind::Pdu { start, end });
    }
}

/// The consumer a [`Relay`] gives each flow: records its calls.
pub struct RelayConsumer {
    slot: u32,
    out: Rc<RefCell<Outbox>>,
}

impl StreamConsumer for RelayConsumer {
    fn data(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        let mut out = self.out.borrow_mut();
        let (start, end) = out.bytes(bytes);
        out.push(self.slot, dir, ts, Kind::Data { start, end });
    }

    fn gap(&mut self, dir: Direction, ts: Timestamp, len: u64) {
        self.out
            .borrow_mut()
            .push(self.slot, dir, ts, Kind::Gap { len });
    }

    fn datagram(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        let mut out = self.out.borrow_mut();
        let (start, end) = out.bytes(bytes);
        out.push(self.slot, dir, ts, Kind::Datagram { start, end });
    }

    fn close(&mut self, ts: Timestamp, reason: EndReason) {
        self.out
            .borrow_mut()
            .push(self.slot, Direction::ToServer, ts, Kind::Close { reason });
    }
}

impl Inbox {
    /// Makes every recorded call on `handler`, in order, until the relay is closed or dropped.
    pub fn replay<H: FlowHandler>(self, handler: &mut H) {
        let mut slots: Vec<Option<H::Consumer>> = Vec::new();
        for mut batch in self.rx.iter() {
            apply(&mut batch, handler, &mut slots);
            batch.clear();
            // A full spare channel means enough spares already: this one is dropped.
            let _ = self.spare.try_send(batch);
        }
    }
}

fn apply<H: FlowHandler>(batch: &mut Batch, handler: &mut H, slots: &mut Vec<Option<H::Consumer>>) {
    let mut opened = batch.opened.iter();
    let mut finished = batch.finished.drain(..);
    let mut arps = batch.arps.iter();
    let mut neighbors = batch.neighbors.iter();
    let mut pdus = batch.pdus.iter();
    for op in &batch.ops {
        let slot = op.slot as usize;
        match op.kind {
            Kind::Open => {
                let Some(info) = opened.next() else { continue };
                if slots.len() <= slot {
                    slots.resize_with(slot + 1, || None);
                }
                slots[slot] = Some(handler.open(info));
            }
            Kind::Finish => {
                let record = finished.next();
                let consumer = slots.get_mut(slot).and_then(Option::take);
                if let (Some(record), Some(consumer)) = (record, consumer) {
                    handler.finish(record, consumer);
                }
            }
            Kind::Arp => {
                if let Some(arp) = arps.next() {
                    handler.arp(op.ts, arp);
                }
            }
            Kind::Neighbor => {
                if let Some(nd) = neighbors.next() {
                    handler.neighbor(op.ts, nd);
                }
            }
            Kind::Pdu { start, end } => {
                if let Some(&(ether_type, vlan, src)) = pdus.next() {
                    let data = &batch.bytes[start..end];
                    let pdu = LinkPdu {
                        ether_type,
                        vlan,
                        src,
                        data,
                    };
                    handler.pdu(op.ts, &pdu);
                }
            }
            kind => {
                let Some(Some(consumer)) = slots.get_mut(slot) else {
                    continue;
                };
                match kind {
                    Kind::Data { start, end } => {
                        consumer.data(op.dir, op.ts, &batch.bytes[start..end])
                    }
                    Kind::Gap { len } => consumer.gap(op.dir, op.ts, len),
                    Kind::Datagram { start, end } => {
                        consumer.datagram(op.dir, op.ts, &batch.bytes[start..end])
                    }
                    Kind::Close { reason } => consumer.close(op.ts, reason),
                    Kind::Open | Kind::Finish | Kind::Arp | Kind::Neighbor | Kind::Pdu { .. } => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::flow::{CollectingHandler, Endpoint};

    fn info(id: u64) -> FlowInfo {
        FlowInfo {
            id,
            protocol: 6,
            vlan: [0; 2],
            client: Endpoint {
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                port: 40000 + id as u16,
            },
            server: Endpoint {
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                port: 2575,
            },
            first_seen: Timestamp(id as i64),
        }
    }

    fn record(info: &FlowInfo, last: i64) -> FlowRecord {
        FlowRecord {
            last_seen: Timestamp(last),
            packets: [1, 2],
            bytes: [3, 4],
            payload_bytes: [5, 6],
            handshake_seen: true,
            end: EndReason::Fin,
            ..FlowRecord::new(
                info.id,
                info.protocol,
                info.vlan,
                info.client,
                info.server,
                info.first_seen,
            )
        }
    }

    /// A script of interleaved flows: many small deliveries (more calls than a batch holds), one
    /// delivery larger than a batch, gaps, datagrams, closes, and flows that end while others go on
    /// (so slots are reused).
    fn script<H: FlowHandler>(handler: &mut H) {
        let mut open: Vec<(FlowInfo, H::Consumer)> = Vec::new();
        for id in 0..3000u64 {
            let i = info(id);
            open.push((i, handler.open(&i)));
            let n = open.len();
            let (_, c) = &mut open[(id as usize * 7) % n];
            let dir = if id % 2 == 0 {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            let body: Vec<u8> = (0..(id % 300) as u8).collect();
            c.data(dir, Timestamp(id as i64), &body);
            match id % 5 {
                0 => c.gap(dir, Timestamp(id as i64), id * 10),
                1 => c.datagram(dir, Timestamp(id as i64), b"datagram"),
                2 => c.data(dir, Timestamp(id as i64), &[]),
                _ => {}
            }
            if id == 1500 {
                let big = vec![0x0b; BATCH_BYTES * 3 + 17];
                c.data(Direction::ToClient, Timestamp(1), &big);
            }
            if id % 100 == 0 {
                handler.arp(Timestamp(id as i64), &arp(id));
            }
            if id % 125 == 3 {
                handler.neighbor(Timestamp(id as i64), &neighbor(id));
            }
            if id % 250 == 7 {
                let data: Vec<u8> = (0..(id % 97) as u8).collect();
                let pdu = LinkPdu {
                    ether_type: 0x88cc,
                    vlan: [id as u16 % 4, 0],
                    src: Some([2, 0, 0, 0, 0, id as u8]),
                    data: &data,
                };
                handler.pdu(Timestamp(id as i64), &pdu);
            }
            if id % 3 == 0 {
                let (i, mut c) = open.swap_remove(n / 2);
                c.close(Timestamp(id as i64 + 1), EndReason::Rst);
                handler.finish(record(&i, id as i64 + 1), c);
            }
        }
        for (i, mut c) in open {
            c.close(Timestamp(9999), EndReason::EndOfCapture);
            handler.finish(record(&i, 9999), c);
        }
    }

    fn arp(id: u64) -> ArpPacket {
        let b = id.to_be_bytes();
        ArpPacket {
            vlan: [0; 2],
            op: 1,
            sender_mac: [2, 0, 0, 0, b[6], b[7]],
            sender_ip: Ipv4Addr::new(10, 1, b[6], b[7]),
            target_mac: [0; 6],
            target_ip: Ipv4Addr::new(10, 1, 0, 1),
            link_src: Some([2, 0, 0, 0, b[6], b[7]]),
        }
    }

    fn neighbor(id: u64) -> NdpPacket {
        let b = id.to_be_bytes();
        NdpPacket {
            vlan: [0; 2],
            kind: crate::decode::NdpKind::NeighborAdvertisement,
            src: std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, id as u16),
            target: None,
            lladdr: None,
            router: id.is_multiple_of(2),
            overrides: true,
            link_src: Some([2, 0, 0, 0, b[6], b[7]]),
        }
    }

    fn lines(h: &CollectingHandler) -> Vec<String> {
        h.flows
            .iter()
            .map(|(record, consumer)| format!("{record:?} {consumer:?}"))
            .collect()
    }

    #[test]
    fn replay_makes_the_same_calls_in_the_same_order() {
        let mut direct = CollectingHandler::default();
        script(&mut direct);

        let (outlet, inbox) = channel();
        let mut replayed = CollectingHandler::default();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut relay = outlet.relay();
                script(&mut relay);
                relay.close();
            });
            inbox.replay(&mut replayed);
        });
        assert_eq!(direct.flows.len(), 3000);
        assert_eq!(lines(&direct), lines(&replayed));
        // ARP packets too, each between the same flows' calls.
        assert_eq!(direct.arps.len(), 30);
        assert_eq!(direct.arps, replayed.arps);
        assert_eq!(direct.pdus.len(), 12);
        assert_eq!(direct.pdus, replayed.pdus);
        assert_eq!(direct.neighbors.len(), 24);
        assert_eq!(direct.neighbors, replayed.neighbors);
    }

    #[test]
    fn a_relay_whose_inbox_is_gone_drops_calls_without_blocking() {
        let (outlet, inbox) = channel();
        let mut relay = outlet.relay();
        drop(inbox);
        script(&mut relay);
        relay.close();
    }
}
