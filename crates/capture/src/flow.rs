//! The bidirectional flow table: 5-tuple (and VLAN) to flow, client and server, counters, TCP state, how
//! each flow ended, idle timeouts in packet time and a hard cap with eviction of the oldest idle flows.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::decode::{ArpPacket, LinkAddrs, LinkPdu, NdpPacket, TcpFlags, TcpSegment};
use crate::reassembly::{
    BufferBudget, Direction, EndReason, HalfStream, ReassemblyConfig, ReassemblyStats,
    StreamConsumer,
};
use crate::time::Timestamp;

pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// One side of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// What identifies a flow: both endpoints in a canonical order, the IP protocol and the VLAN tags.
/// Addresses are kept as 128-bit integers so that comparing and hashing a key is a few instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo_addr: u128,
    hi_addr: u128,
    lo_port: u16,
    hi_port: u16,
    vlan: [u16; 2],
    protocol: u8,
    ipv6: bool,
}

impl FlowKey {
    pub fn new(vlan: [u16; 2], protocol: u8, a: Endpoint, b: Endpoint) -> FlowKey {
        let (a_addr, ipv6) = addr_bits(a.ip);
        let (b_addr, _) = addr_bits(b.ip);
        let ((lo_addr, lo_port), (hi_addr, hi_port)) = if (a_addr, a.port) <= (b_addr, b.port) {
            ((a_addr, a.port), (b_addr, b.port))
        } else {
            ((b_addr, b.port), (a_addr, a.port))
        };
        FlowKey {
            lo_addr,
            hi_addr,
            lo_port,
            hi_port,
            vlan,
            protocol,
            ipv6,
        }
    }

    pub fn protocol(&self) -> u8 {
        self.protocol
    }
}

fn addr_bits(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(v4.to_bits()), false),
        IpAddr::V6(v6) => (v6.to_bits(), true),
    }
}

/// What a consumer is told when its flow opens.
#[derive(Debug, Clone, Copy)]
pub struct FlowInfo {
    pub id: u64,
    pub protocol: u8,
    pub vlan: [u16; 2],
    pub client: Endpoint,
    pub server: Endpoint,
    pub first_seen: Timestamp,
}

/// TCP connection state as a passive observer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// The client's SYN was seen.
    SynSent,
    /// The server's SYN-ACK was seen.
    SynReceived,
    /// The handshake completed, or data flowed without a captured handshake.
    Established,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN.
    Closed,
    /// A side sent RST.
    Reset,
}

impl TcpState {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::SynSent => "syn_sent",
            TcpState::SynReceived => "syn_received",
            TcpState::Established => "established",
            TcpState::Closing => "closing",
            TcpState::Closed => "closed",
            TcpState::Reset => "reset",
        }
    }
}

/// Everything known about a flow when it ends.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    pub id: u64,
    pub protocol: u8,
    pub vlan: [u16; 2],
    pub client: Endpoint,
    pub server: Endpoint,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Indexed by [`Direction::index`]: 0 client to server, 1 server to client.
    pub packets: [u64; 2],
    /// Frame bytes on the wire (original lengths).
    pub bytes: [u64; 2],
    /// Transport payload bytes as captured.
    pub payload_bytes: [u64; 2],
    /// The client's SYN was captured, so client and server are known rather than guessed.
    pub handshake_seen: bool,
    pub tcp_state: Option<TcpState>,
    pub end: EndReason,
    pub reassembly: [ReassemblyStats; 2],
    /// Packets of this flow cut short by the capture's snaplen.
    pub truncated_packets: u64,
    /// Indexed by [`Direction::index`]: the client's and the server's MAC, from the first frame that
    /// showed each (as source, or as a unicast destination). A host off the captured segment shows
    /// its router's MAC here.
    pub macs: [Option<[u8; 6]>; 2],
}

impl FlowRecord {
    /// A flow first seen at `ts`: nothing counted yet, ending with the capture until told otherwise.
    pub fn new(
        id: u64,
        protocol: u8,
        vlan: [u16; 2],
        client: Endpoint,
        server: Endpoint,
        ts: Timestamp,
    ) -> FlowRecord {
        FlowRecord {
            id,
            protocol,
            vlan,
            client,
            server,
            first_seen: ts,
            last_seen: ts,
            packets: [0; 2],
            bytes: [0; 2],
            payload_bytes: [0; 2],
            handshake_seen: false,
            tcp_state: None,
            end: EndReason::EndOfCapture,
            reassembly: [ReassemblyStats::default(); 2],
            truncated_packets: 0,
            macs: [None; 2],
        }
    }

    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }

    pub fn total_bytes(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }

    /// Counts a packet from `sender` at `now` (`payload` bytes of the `wire_len` the frame had) and
    /// returns its direction. The same for every transport.
    #[inline]
    fn count(
        &mut self,
        sender: Endpoint,
        link: Option<LinkAddrs>,
        wire_len: u32,
        payload: usize,
        truncated: bool,
        now: Timestamp,
    ) -> Direction {
        let dir = if self.client == sender {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let d = dir.index();
        note_macs(&mut self.macs, d, link);
        self.packets[d] += 1;
        self.bytes[d] += u64::from(wire_len);
        self.payload_bytes[d] += payload as u64;
        self.last_seen = now;
        if truncated {
            self.truncated_packets += 1;
        }
        dir
    }
}

/// Records the MACs a frame of direction `d` shows, where they are not known yet: its source is the
/// sender's; a unicast destination is the receiver's (group addresses name no host).
fn note_macs(macs: &mut [Option<[u8; 6]>; 2], d: usize, link: Option<LinkAddrs>) {
    let Some(l) = link else { return };
    if macs[d].is_none() && l.src[0] & 1 == 0 {
        macs[d] = Some(l.src);
    }
    if let Some(dst) = l.dst
        && macs[1 - d].is_none()
        && dst[0] & 1 == 0
    {
        macs[1 - d] = Some(dst);
    }
}

/// Receives each flow as it opens and ends; application parsers hang off it.
pub trait FlowHandler {
    type Consumer: StreamConsumer;
    fn open(&mut self, info: &FlowInfo) -> Self::Consumer;
    fn finish(&mut self, record: FlowRecord, consumer: Self::Consumer);
    /// An ARP packet at `ts`, in order with the flows' calls (ARP is not a flow: it names who is on
    /// the captured segment and which address it says it has). Ignored unless a handler wants it.
    fn arp(&mut self, ts: Timestamp, arp: &ArpPacket) {
        let _ = (ts, arp);
    }
    /// A link-layer data unit (LLDP) at `ts`, in order with the rest. Ignored unless wanted.
    fn pdu(&mut self, ts: Timestamp, pdu: &LinkPdu<'_>) {
        let _ = (ts, pdu);
    }
    /// An IPv6 Neighbor Discovery message at `ts`, in order with the rest (its packet is also part
    /// of an ICMPv6 flow). Ignored unless wanted.
    fn neighbor(&mut self, ts: Timestamp, nd: &NdpPacket) {
        let _ = (ts, nd);
    }
}

/// A handler that keeps every finished flow with everything its consumer received: for tests and tools
/// that want the reassembled bytes of a whole capture.
#[derive(Debug, Default)]
pub struct CollectingHandler {
    pub flows: Vec<(FlowRecord, crate::reassembly::CollectingConsumer)>,
    /// Each ARP packet with its time and the number of flows finished before it.
    pub arps: Vec<(usize, Timestamp, ArpPacket)>,
    /// Each link-layer data unit with its time and the number of flows finished before it.
    pub pdus: Vec<(usize, Timestamp, OwnedPdu)>,
    /// Each Neighbor Discovery message with how many flows had finished before it.
    pub neighbors: Vec<(usize, Timestamp, NdpPacket)>,
}

/// A [`LinkPdu`] with its data copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPdu {
    pub ether_type: u16,
    pub vlan: [u16; 2],
    pub src: Option<[u8; 6]>,
    pub data: Vec<u8>,
}

impl FlowHandler for CollectingHandler {
    type Consumer = crate::reassembly::CollectingConsumer;

    fn open(&mut self, _: &FlowInfo) -> Self::Consumer {
        Self::Consumer::default()
    }

    fn finish(&mut self, record: FlowRecord, consumer: Self::Consumer) {
        self.flows.push((record, consumer));
    }

    fn arp(&mut self, ts: Timestamp, arp: &ArpPacket) {
        self.arps.push((self.flows.len(), ts, *arp));
    }

    fn neighbor(&mut self, ts: Timestamp, nd: &NdpPacket) {
        self.neighbors.push((self.flows.len(), ts, *nd));
    }

    fn pdu(&mut self, ts: Timestamp, p: &LinkPdu<'_>) {
        let pdu = OwnedPdu {
            ether_type: p.ether_type,
            vlan: p.vlan,
            src: p.src,
            data: p.data.to_vec(),
        };
        self.pdus.push((self.flows.len(), ts, pdu));
    }
}

/// Timeouts (seconds of packet time) and the table's cap.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    pub max_flows: usize,
    /// A TCP connection whose handshake has not completed.
    pub tcp_opening_timeout: i64,
    pub tcp_established_timeout: i64,
    /// How long a closed (FIN or RST) connection stays to collect its last ACKs and retransmissions.
    pub closed_linger: i64,
    pub udp_timeout: i64,
    pub other_timeout: i64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 262_144,
            tcp_opening_timeout: 120,
            // Clinical links (HL7 interface connections) sit idle for long stretches between messages.
            tcp_established_timeout: 3600,
            closed_linger: 30,
            udp_timeout: 120,
            other_timeout: 60,
        }
    }
}

/// Counters of the flow table itself.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlowTableStats {
    pub flows: u64,
    pub tcp_flows: u64,
    pub udp_flows: u64,
    pub other_flows: u64,
    /// Flows pushed out because the table was full.
    pub evicted: u64,
    pub timed_out: u64,
    /// Connections ended because a fresh SYN reused their 5-tuple.
    pub reused: u64,
    /// Peak number of flows held at once.
    pub peak_flows: u64,
    /// Out-of-order bytes buffered at the peak, over all flows.
    pub peak_buffered_bytes: u64,
    /// Reassembly counters summed over every TCP flow that has ended.
    pub reassembly: ReassemblyStats,
}

const NIL: u32 = u32::MAX;
/// Timeout classes, each an LRU list ordered by last activity.
const CLASS_CLOSED: usize = 0;
const CLASS_OPENING: usize = 1;
const CLASS_ESTABLISHED: usize = 2;
const CLASS_UDP: usize = 3;
const CLASS_OTHER: usize = 4;
const CLASSES: usize = 5;

struct Entry<C> {
    key: FlowKey,
    record: FlowRecord,
    consumer: C,
    streams: [HalfStream; 2],
    client_isn: Option<u32>,
    fin_seen: [bool; 2],
    class: usize,
    /// When the flow was last put at the tail of its list.
    queued_at: Timestamp,
    prev: u32,
    next: u32,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

/// Seeded per process, so a crafted capture cannot aim for hash collisions.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The flow table. All time is packet time: `now` only moves forward.
pub struct FlowTable<H: FlowHandler> {
    map: FastMap<FlowKey, u32>,
    slab: Vec<Option<Entry<H::Consumer>>>,
    free: Vec<u32>,
    lists: [List; CLASSES],
    next_id: u64,
    config: FlowConfig,
    reassembly: ReassemblyConfig,
    budget: BufferBudget,
    stats: FlowTableStats,
    now: Timestamp,
    last_sweep: Timestamp,
    handler: H,
    /// Link-layer addresses of the packet about to be given to `tcp` or `datagram`.
    link: Option<LinkAddrs>,
}

impl<H: FlowHandler> FlowTable<H> {
    pub fn new(config: FlowConfig, reassembly: ReassemblyConfig, handler: H) -> Self {
        FlowTable {
            map: FastMap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; CLASSES],
            next_id: 0,
            config: FlowConfig {
                max_flows: config.max_flows.max(1),
                ..config
            },
            reassembly,
            budget: BufferBudget::default(),
            stats: FlowTableStats::default(),
            now: Timestamp(i64::MIN),
            last_sweep: Timestamp(i64::MIN),
            handler,
            link: None,
        }
    }

    pub fn handler(&mut self) -> &mut H {
        &mut self.handler
    }

    pub fn stats(&self) -> FlowTableStats {
        self.stats
    }

    /// Flows held right now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Moves packet time forward and expires idle flows (at most once per second of packet time).
    pub fn advance(&mut self, ts: Timestamp) {
        if ts > self.now {
            self.now = ts;
        }
        if self.now.nanos_since(self.last_sweep) >= Timestamp::NANOS_PER_SEC
            || self.last_sweep.0 == i64::MIN
        {
            self.last_sweep = self.now;
            self.expire();
        }
    }

    /// One TCP segment. `wire_len` is the frame's original length.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        ts: Timestamp,
        vlan: [u16; 2],
        src: IpAddr,
        dst: IpAddr,
        seg: &TcpSegment<'_>,
        wire_len: u32,
        truncated: bool,
    ) {
        let link = self.link.take();
        self.advance(ts);
        let a = Endpoint {
            ip: src,
            port: seg.src_port,
        };
        let b = Endpoint {
            ip: dst,
            port: seg.dst_port,
        };
        let key = FlowKey::new(vlan, PROTO_TCP, a, b);
        let syn = seg.flags.contains(TcpFlags::SYN);
        let ack = seg.flags.contains(TcpFlags::ACK);
        let idx = match self.lookup(&key) {
            Some(idx) if syn && !ack && self.is_new_connection(idx, a, seg.seq) => {
                let reason = match self.entry(idx).record.tcp_state {
                    Some(TcpState::Closed) => EndReason::Fin,
                    Some(TcpState::Reset) => EndReason::Rst,
                    _ => {
                        self.stats.reused += 1;
                        EndReason::Reused
                    }
                };
                self.remove(idx, reason);
                self.insert(key, ts, a, b, true)
            }
            Some(idx) => idx,
            None => {
                let sender_is_client = if syn {
                    !ack
                } else {
                    sender_is_client(seg.src_port, seg.dst_port, true)
                };
                self.insert(key, ts, a, b, sender_is_client)
            }
        };

        let now = self.now;
        let reassembly = self.reassembly;
        let e = self.slab[idx as usize]
            .as_mut()
            .expect("indexed flow exists");
        let dir = e
            .record
            .count(a, link, wire_len, seg.payload.len(), truncated, now);

        let fin = seg.flags.contains(TcpFlags::FIN);
        let rst = seg.flags.contains(TcpFlags::RST);
        if syn && dir == Direction::ToServer && !ack {
            e.record.handshake_seen = true;
            e.client_isn.get_or_insert(seg.seq);
        }
        if e.record.tcp_state == Some(TcpState::Reset)
            && syn
            && !ack
            && dir == Direction::ToServer
            && e.client_isn == Some(seg.seq)
        {
            // The client retries after the reset with the same ISN (stacks do, and tshark keeps it
            // one conversation): the connection starts over in this flow, so what follows is read.
            for half in &mut e.streams {
                let stats = half.stats;
                half.release(&mut self.budget);
                *half = HalfStream::default();
                half.stats = stats;
            }
            e.fin_seen = [false; 2];
            e.record.tcp_state = None;
        }
        let [to_server, to_client] = &mut e.streams;
        let (this, other) = match dir {
            Direction::ToServer => (to_server, to_client),
            Direction::ToClient => (to_client, to_server),
        };
        if e.record.tcp_state != Some(TcpState::Reset) {
            this.segment(
                dir,
                ts,
                seg.seq,
                syn,
                fin,
                seg.payload,
                &reassembly,
                &mut self.budget,
                &mut e.consumer,
            );
            // While the client's SYN waits for its SYN-ACK, an ACK from the server belongs to some
            // earlier connection (an RFC 5961 challenge ACK): it says nothing about this stream.
            if ack && e.record.tcp_state != Some(TcpState::SynSent) {
                other.acked(
                    dir.reverse(),
                    ts,
                    seg.ack,
                    &mut self.budget,
                    &mut e.consumer,
                );
            }
        }
        if fin {
            e.fin_seen[dir.index()] = true;
        }
        let state = e.record.tcp_state;
        let new_state = if rst {
            TcpState::Reset
        } else {
            match state {
                Some(TcpState::Reset) => TcpState::Reset,
                _ if e.fin_seen[0] && e.fin_seen[1] => TcpState::Closed,
                _ if fin || e.fin_seen[0] || e.fin_seen[1] => TcpState::Closing,
                None if syn && !ack => TcpState::SynSent,
                None | Some(TcpState::SynSent) if syn && ack => TcpState::SynReceived,
                Some(TcpState::SynSent) if !syn && seg.payload.is_empty() && !ack => {
                    TcpState::SynSent
                }
                Some(TcpState::SynSent) if syn => TcpState::SynSent,
                Some(TcpState::SynReceived) if syn => TcpState::SynReceived,
                _ => TcpState::Established,
            }
        };
        if new_state == TcpState::Reset && state != Some(TcpState::Reset) {
            // Bytes sent before the reset are still delivered; nothing after it is taken.
            let [s0, s1] = &mut e.streams;
            s0.reset(Direction::ToServer, ts, &mut self.budget, &mut e.consumer);
            s1.reset(Direction::ToClient, ts, &mut self.budget, &mut e.consumer);
        }
        e.record.tcp_state = Some(new_state);
        let class = match new_state {
            TcpState::Closed | TcpState::Reset => CLASS_CLOSED,
            TcpState::SynSent | TcpState::SynReceived => CLASS_OPENING,
            TcpState::Established | TcpState::Closing => CLASS_ESTABLISHED,
        };
        self.touch(idx, class);
        self.stats.peak_buffered_bytes =
            self.stats.peak_buffered_bytes.max(self.budget.used as u64);
    }

    /// The MAC addresses of the next packet given to [`Self::tcp`] or [`Self::datagram`] (they apply
    /// to that one packet only).
    pub fn set_link(&mut self, link: Option<LinkAddrs>) {
        self.link = link;
    }

    /// One UDP datagram, or any other IP packet (`ports` zero for protocols without ports).
    #[allow(clippy::too_many_arguments)]
    pub fn datagram(
        &mut self,
        ts: Timestamp,
        vlan: [u16; 2],
        protocol: u8,
        src: Endpoint,
        dst: Endpoint,
        payload: &[u8],
        wire_len: u32,
        truncated: bool,
    ) {
        let link = self.link.take();
        self.advance(ts);
        let key = FlowKey::new(vlan, protocol, src, dst);
        let idx = match self.lookup(&key) {
            Some(idx) => idx,
            None => {
                let client = protocol != PROTO_UDP || sender_is_client(src.port, dst.port, false);
                self.insert(key, ts, src, dst, client)
            }
        };
        let now = self.now;
        let e = self.slab[idx as usize]
            .as_mut()
            .expect("indexed flow exists");
        let dir = e
            .record
            .count(src, link, wire_len, payload.len(), truncated, now);
        if protocol == PROTO_UDP {
            e.consumer.datagram(dir, ts, payload);
        }
        let class = if protocol == PROTO_UDP {
            CLASS_UDP
        } else {
            CLASS_OTHER
        };
        self.touch(idx, class);
    }

    /// End of input: every flow still held ends with [`EndReason::EndOfCapture`] (or how it closed).
    pub fn finish(mut self) -> (H, FlowTableStats) {
        // Oldest first, so that flow records come out in a stable order.
        let mut live: Vec<(u64, u32)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (e.record.id, i as u32)))
            .collect();
        live.sort_unstable();
        for (_, idx) in live {
            let reason = self.closed_reason(idx).unwrap_or(EndReason::EndOfCapture);
            self.remove(idx, reason);
        }
        (self.handler, self.stats)
    }

    /// The live flow for `key`. A flow idle for longer than its timeout ends here, exactly when the next
    /// packet shows it, even if the periodic sweep has not reached it yet.
    fn lookup(&mut self, key: &FlowKey) -> Option<u32> {
        let idx = *self.map.get(key)?;
        let e = self.entry(idx);
        let limit = self
            .timeout(e.class)
            .saturating_mul(Timestamp::NANOS_PER_SEC);
        if self.now.nanos_since(e.record.last_seen) <= limit {
            return Some(idx);
        }
        self.expire_one(idx);
        None
    }

    /// Ends an idle flow: as it closed, or by idle timeout.
    fn expire_one(&mut self, idx: u32) {
        match self.closed_reason(idx) {
            Some(reason) => self.remove(idx, reason),
            None => {
                self.stats.timed_out += 1;
                self.remove(idx, EndReason::IdleTimeout);
            }
        }
    }

    fn entry(&self, idx: u32) -> &Entry<H::Consumer> {
        self.slab[idx as usize]
            .as_ref()
            .expect("indexed flow exists")
    }

    /// A SYN without ACK on an existing flow starts a new connection unless it repeats the known SYN.
    fn is_new_connection(&self, idx: u32, sender: Endpoint, seq: u32) -> bool {
        let e = self.entry(idx);
        if e.record.client != sender {
            // A SYN from the former server: a new connection the other way round.
            return true;
        }
        match e.client_isn {
            Some(isn) => isn != seq,
            // Picked up mid-stream: a SYN now means the old connection is over.
            None => true,
        }
    }

    fn closed_reason(&self, idx: u32) -> Option<EndReason> {
        match self.entry(idx).record.tcp_state {
            Some(TcpState::Closed) => Some(EndReason::Fin),
            Some(TcpState::Reset) => Some(EndReason::Rst),
            _ => None,
        }
    }

    fn insert(
        &mut self,
        key: FlowKey,
        ts: Timestamp,
        a: Endpoint,
        b: Endpoint,
        a_is_client: bool,
    ) -> u32 {
        if self.map.len() >= self.config.max_flows {
            self.evict_oldest();
        }
        let (client, server) = if a_is_client { (a, b) } else { (b, a) };
        let id = self.next_id;
        self.next_id += 1;
        let info = FlowInfo {
            id,
            protocol: key.protocol,
            vlan: key.vlan,
            client,
            server,
            first_seen: ts,
        };
        let consumer = self.handler.open(&info);
        match key.protocol {
            PROTO_TCP => self.stats.tcp_flows += 1,
            PROTO_UDP => self.stats.udp_flows += 1,
            _ => self.stats.other_flows += 1,
        }
        self.stats.flows += 1;
        let entry = Entry {
            key,
            record: FlowRecord::new(id, key.protocol, key.vlan, client, server, ts),
            consumer,
            streams: [HalfStream::default(), HalfStream::default()],
            client_isn: None,
            fin_seen: [false; 2],
            class: CLASS_OTHER,
            queued_at: ts,
            prev: NIL,
            next: NIL,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(entry);
                i
            }
            None => {
                self.slab.push(Some(entry));
                (self.slab.len() - 1) as u32
            }
        };
        self.link_tail(idx, CLASS_OTHER);
        self.map.insert(key, idx);
        self.stats.peak_flows = self.stats.peak_flows.max(self.map.len() as u64);
        idx
    }

    fn remove(&mut self, idx: u32, reason: EndReason) {
        self.unlink(idx);
        let mut e = self.slab[idx as usize].take().expect("indexed flow exists");
        self.free.push(idx);
        self.map.remove(&e.key);
        let ts = e.record.last_seen;
        let [s0, s1] = &mut e.streams;
        s0.close(Direction::ToServer, ts, &mut self.budget, &mut e.consumer);
        s1.close(Direction::ToClient, ts, &mut self.budget, &mut e.consumer);
        e.record.reassembly = [s0.stats, s1.stats];
        if e.key.protocol == PROTO_TCP {
            self.stats.reassembly.add(&s0.stats);
            self.stats.reassembly.add(&s1.stats);
        }
        e.record.end = reason;
        e.consumer.close(ts, reason);
        self.handler.finish(e.record, e.consumer);
    }

    /// Makes room: ends the least recently active flow among the list heads, after giving heads that
    /// were active since they were queued a second chance (a few per list, so this stays O(1)).
    fn evict_oldest(&mut self) {
        for class in 0..CLASSES {
            for _ in 0..8 {
                let head = self.lists[class].head;
                if head == NIL || self.lists[class].tail == head {
                    break;
                }
                let e = self.entry(head);
                if e.record.last_seen <= e.queued_at {
                    break;
                }
                self.requeue(head);
            }
        }
        let oldest = self
            .lists
            .iter()
            .filter(|l| l.head != NIL)
            .map(|l| l.head)
            .min_by_key(|&i| self.entry(i).record.last_seen);
        if let Some(idx) = oldest {
            match self.closed_reason(idx) {
                Some(reason) => self.remove(idx, reason),
                None => {
                    self.stats.evicted += 1;
                    self.remove(idx, EndReason::Evicted);
                }
            }
        }
    }

    fn timeout(&self, class: usize) -> i64 {
        let c = &self.config;
        match class {
            CLASS_CLOSED => c.closed_linger,
            CLASS_OPENING => c.tcp_opening_timeout,
            CLASS_ESTABLISHED => c.tcp_established_timeout,
            CLASS_UDP => c.udp_timeout,
            _ => c.other_timeout,
        }
    }

    /// Ends the flows idle for longer than their timeout. Lists are ordered by when a flow was queued,
    /// not by its last packet (moving a flow on every packet costs more than the sweep saves), so a head
    /// that has been active since it was queued gets a second chance at the tail.
    fn expire(&mut self) {
        for class in 0..CLASSES {
            let limit = self.timeout(class).saturating_mul(Timestamp::NANOS_PER_SEC);
            loop {
                let head = self.lists[class].head;
                if head == NIL {
                    break;
                }
                let e = self.entry(head);
                if self.now.nanos_since(e.queued_at) <= limit {
                    break;
                }
                if self.now.nanos_since(e.record.last_seen) > limit {
                    self.expire_one(head);
                } else {
                    self.requeue(head);
                }
            }
        }
    }

    /// Moves a flow to the tail of another class list when its state changes class.
    fn touch(&mut self, idx: u32, class: usize) {
        if self.entry(idx).class != class {
            self.unlink(idx);
            self.link_tail(idx, class);
        }
    }

    fn requeue(&mut self, idx: u32) {
        let class = self.entry(idx).class;
        self.unlink(idx);
        self.link_tail(idx, class);
    }

    fn link_tail(&mut self, idx: u32, class: usize) {
        let tail = self.lists[class].tail;
        {
            let e = self.slab[idx as usize]
                .as_mut()
                .expect("indexed flow exists");
            e.class = class;
            e.prev = tail;
            e.next = NIL;
            e.queued_at = self.now;
        }
        if tail == NIL {
            self.lists[class].head = idx;
        } else {
            self.slab[tail as usize]
                .as_mut()
                .expect("list links live flows")
                .next = idx;
        }
        self.lists[class].tail = idx;
    }

    fn unlink(&mut self, idx: u32) {
        let (class, prev, next) = {
            let e = self.entry(idx);
            (e.class, e.prev, e.next)
        };
        if prev == NIL {
            self.lists[class].head = next;
        } else {
            self.slab[prev as usize]
                .as_mut()
                .expect("list links live flows")
                .next = next;
        }
        if next == NIL {
            self.lists[class].tail = prev;
        } else {
            self.slab[next as usize]
                .as_mut()
                .expect("list links live flows")
                .prev = prev;
        }
        let e = self.slab[idx as usize]
            .as_mut()
            .expect("indexed flow exists");
        e.prev = NIL;
        e.next = NIL;
    }
}

/// Well-known and registered service ports that a client would not pick as its own port.
fn is_service_port(port: u16) -> bool {
    port < 1024
        || matches!(
            port,
            1433 | 1521
                | 2575
                | 2762
                | 3306
                | 3389
                | 4242
                | 5432
                | 5900
                | 6661
                | 8080
                | 8443
                | 11112
                | 11113
        )
}

/// Without a SYN, decides whether the sender of the first packet is the client: a service port on one
/// side only marks the server; otherwise the lower port is taken as the server, and for UDP a tie means
/// the first sender asked.
fn sender_is_client(src_port: u16, dst_port: u16, tcp: bool) -> bool {
    match (is_service_port(src_port), is_service_port(dst_port)) {
        (false, true) => true,
        (true, false) => false,
        _ if src_port == dst_port => true,
        // Two ephemeral UDP ports (RTP, vendor telemetry): the first sender is the one that asked.
        (false, false) if !tcp => true,
        _ => dst_port < src_port,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::reassembly::{Chunk, CollectingConsumer};

    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const FIN: u8 = 0x01;
    const RST: u8 = 0x04;
    const PSH: u8 = 0x08;

    type Collect = CollectingHandler;

    fn table(config: FlowConfig) -> FlowTable<Collect> {
        FlowTable::new(
            config,
            ReassemblyConfig::default(),
            CollectingHandler::default(),
        )
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    fn secs(s: f64) -> Timestamp {
        Timestamp((s * 1e9) as i64)
    }

    /// One TCP segment from `a` to `b` (host number, port).
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        t: &mut FlowTable<Collect>,
        at: f64,
        a: (u8, u16),
        b: (u8, u16),
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) {
        let seg = TcpSegment {
            src_port: a.1,
            dst_port: b.1,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 65535,
            mss: None,
            payload,
            payload_len: payload.len() as u32,
        };
        t.tcp(
            secs(at),
            [0, 0],
            ip(a.0),
            ip(b.0),
            &seg,
            54 + payload.len() as u32,
            false,
        );
    }

    fn udp(t: &mut FlowTable<Collect>, at: f64, a: (u8, u16), b: (u8, u16), payload: &[u8]) {
        let src = Endpoint {
            ip: ip(a.0),
            port: a.1,
        };
        let dst = Endpoint {
            ip: ip(b.0),
            port: b.1,
        };
        t.datagram(
            secs(at),
            [0, 0],
            PROTO_UDP,
            src,
            dst,
            payload,
            42 + payload.len() as u32,
            false,
        );
    }

    fn finish(t: FlowTable<Collect>) -> Vec<(FlowRecord, CollectingConsumer)> {
        let (collect, _) = t.finish();
        let mut done = collect.flows;
        done.sort_by_key(|(r, _)| r.id);
        done
    }

    const C: (u8, u16) = (1, 50000);
    const S: (u8, u16) = (2, 2575);

    /// A whole connection: handshake, one request and reply, FIN both ways.
    fn connection(t: &mut FlowTable<Collect>, at: f64, isn: u32) {
        tcp(t, at, C, S, SYN, isn, 0, b"");
        tcp(t, at + 0.001, S, C, SYN | ACK, 9000, isn + 1, b"");
        tcp(t, at + 0.002, C, S, ACK, isn + 1, 9001, b"");
        tcp(t, at + 0.003, C, S, ACK | PSH, isn + 1, 9001, b"hello");
        tcp(t, at + 0.004, S, C, ACK | PSH, 9001, isn + 6, b"world!");
        tcp(t, at + 0.005, C, S, ACK | FIN, isn + 6, 9007, b"");
        tcp(t, at + 0.006, S, C, ACK | FIN, 9007, isn + 7, b"");
        tcp(t, at + 0.007, C, S, ACK, isn + 7, 9008, b"");
    }

    #[test]
    fn a_whole_connection_is_one_flow_with_its_bytes_each_way() {
        let mut t = table(FlowConfig::default());
        connection(&mut t, 1.0, 1000);
        let done = finish(t);
        assert_eq!(done.len(), 1);
        let (r, c) = &done[0];
        assert_eq!((r.client.port, r.server.port), (50000, 2575));
        assert_eq!(r.packets, [5, 3]);
        assert_eq!(r.payload_bytes, [5, 6]);
        assert!(r.handshake_seen);
        assert_eq!(r.tcp_state, Some(TcpState::Closed));
        assert_eq!(r.end, EndReason::Fin);
        assert_eq!((r.first_seen, r.last_seen), (secs(1.0), secs(1.007)));
        assert_eq!(
            c.chunks,
            vec![
                Chunk::Data(Direction::ToServer, b"hello".to_vec()),
                Chunk::Data(Direction::ToClient, b"world!".to_vec()),
                Chunk::Close(EndReason::Fin),
            ]
        );
    }

    #[test]
    fn the_syn_decides_the_client_whatever_the_ports() {
        let mut t = table(FlowConfig::default());
        // A server listening on a high port, reached from port 80: the SYN says who called whom.
        tcp(&mut t, 1.0, (1, 80), (2, 55555), SYN, 1, 0, b"");
        let done = finish(t);
        assert_eq!(
            done[0].0.client,
            Endpoint {
                ip: ip(1),
                port: 80
            }
        );
        assert_eq!(done[0].0.tcp_state, Some(TcpState::SynSent));
        assert_eq!(done[0].0.end, EndReason::EndOfCapture);
    }

    #[test]
    fn without_a_handshake_the_service_port_marks_the_server() {
        let mut t = table(FlowConfig::default());
        // Picked up mid-stream with the server's packet first.
        tcp(&mut t, 1.0, S, C, ACK | PSH, 7000, 100, b"ACK");
        // Two ephemeral ports: the lower one is taken as the server.
        tcp(&mut t, 1.0, (3, 61000), (4, 40000), ACK, 1, 1, b"x");
        // UDP: DNS answers first, the service port still marks the server.
        udp(&mut t, 1.0, (5, 53), (6, 33333), b"answer");
        let done = finish(t);
        assert_eq!(done[0].0.server.port, 2575);
        assert!(!done[0].0.handshake_seen);
        assert_eq!(done[0].0.tcp_state, Some(TcpState::Established));
        assert_eq!(done[0].1.bytes(Direction::ToClient), b"ACK");
        assert_eq!(done[1].0.server.port, 40000);
        assert_eq!(done[2].0.server.port, 53);
        assert_eq!(done[2].0.packets, [0, 1]);
    }

    #[test]
    fn a_fresh_syn_after_close_is_a_new_flow_and_a_repeated_syn_is_not() {
        let mut t = table(FlowConfig::default());
        tcp(&mut t, 1.0, C, S, SYN, 1000, 0, b"");
        tcp(&mut t, 2.0, C, S, SYN, 1000, 0, b""); // retransmitted SYN: same connection
        tcp(&mut t, 2.001, S, C, SYN | ACK, 9000, 1001, b"");
        connection(&mut t, 5.0, 555_555); // same 5-tuple, new ISN, previous never closed
        connection(&mut t, 6.0, 777_777); // and again after a clean close
        let done = finish(t);
        assert_eq!(done.len(), 3);
        assert_eq!(done[0].0.packets, [2, 1]);
        assert_eq!(done[0].0.end, EndReason::Reused);
        assert_eq!(done[1].0.end, EndReason::Fin);
        assert_eq!(done[2].0.end, EndReason::Fin);
        assert_eq!(done[2].0.first_seen, secs(6.0));
    }

    /// Found in suricata-verify's tls-subjectaltname capture: SYN, a stray ACK, the client's RST, then
    /// the same SYN (same ISN) 3 s later and a whole connection. tshark keeps it one conversation and
    /// reads its data; we lost it (the flow stayed reset) and declared a bogus gap from the stray ACK.
    #[test]
    fn a_syn_repeating_the_isn_after_a_reset_starts_the_connection_over() {
        let mut t = table(FlowConfig::default());
        tcp(&mut t, 1.0, C, S, SYN, 1000, 0, b"");
        // A challenge ACK for an older connection, a little ahead of this one's ISN.
        tcp(&mut t, 1.001, S, C, ACK, 5, 6000, b"");
        tcp(&mut t, 1.002, C, S, RST, 6000, 0, b"");
        connection(&mut t, 4.0, 1000);
        let done = finish(t);
        assert_eq!(done.len(), 1, "one conversation, as tshark counts it");
        let (record, consumer) = &done[0];
        assert_eq!(record.end, EndReason::Fin);
        assert_eq!(consumer.bytes(Direction::ToServer), b"hello");
        assert_eq!(consumer.bytes(Direction::ToClient), b"world!");
        assert_eq!(record.reassembly[0].gaps + record.reassembly[1].gaps, 0);
    }

    #[test]
    fn reset_ends_the_flow_and_trailing_packets_stay_in_it() {
        let mut t = table(FlowConfig::default());
        tcp(&mut t, 1.0, C, S, SYN, 1, 0, b"");
        tcp(&mut t, 1.1, S, C, RST | ACK, 0, 2, b"");
        tcp(&mut t, 1.2, C, S, ACK, 2, 1, b""); // a late ACK within the linger time
        tcp(&mut t, 60.0, C, S, ACK, 2, 1, b""); // after the linger time: a flow of its own
        let done = finish(t);
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].0.end, EndReason::Rst);
        assert_eq!(done[0].0.packets, [2, 1]);
        assert_eq!(done[1].0.packets.iter().sum::<u64>(), 1);
    }

    #[test]
    fn idle_timeout_is_exact_in_packet_time() {
        let config = FlowConfig {
            udp_timeout: 120,
            ..FlowConfig::default()
        };
        let mut t = table(config);
        udp(&mut t, 0.0, (1, 5000), (2, 514), b"a");
        udp(&mut t, 119.9, (1, 5000), (2, 514), b"b"); // within the timeout
        udp(&mut t, 240.0, (1, 5000), (2, 514), b"c"); // 120.1 s after the last: a new flow
        let done = finish(t);
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].0.packets, [2, 0]);
        assert_eq!(done[0].0.end, EndReason::IdleTimeout);
        assert_eq!(done[1].0.end, EndReason::EndOfCapture);
    }

    #[test]
    fn the_sweep_ends_idle_flows_without_a_packet_of_theirs() {
        let config = FlowConfig {
            udp_timeout: 10,
            ..FlowConfig::default()
        };
        let mut t = table(config);
        for i in 0..100u16 {
            udp(&mut t, f64::from(i) * 0.01, (1, 1000 + i), (2, 53), b"q");
        }
        assert_eq!(t.len(), 100);
        // Another flow, 30 s later: the sweep ends the 100 idle ones.
        udp(&mut t, 30.0, (9, 9), (2, 53), b"q");
        assert_eq!(t.len(), 1);
        assert_eq!(t.stats().timed_out, 100);
    }

    #[test]
    fn a_full_table_evicts_the_least_recently_active_flow() {
        let config = FlowConfig {
            max_flows: 3,
            ..FlowConfig::default()
        };
        let mut t = table(config);
        udp(&mut t, 1.0, (1, 1001), (2, 53), b"");
        udp(&mut t, 2.0, (1, 1002), (2, 53), b"");
        udp(&mut t, 3.0, (1, 1003), (2, 53), b"");
        udp(&mut t, 4.0, (1, 1001), (2, 53), b""); // 1001 is active again: 1002 is now the oldest
        udp(&mut t, 5.0, (1, 1004), (2, 53), b"");
        assert_eq!(t.len(), 3);
        assert_eq!(t.stats().evicted, 1);
        let done = finish(t);
        let evicted: Vec<u16> = done
            .iter()
            .filter(|(r, _)| r.end == EndReason::Evicted)
            .map(|(r, _)| r.client.port)
            .collect();
        assert_eq!(evicted, vec![1002]);
        assert_eq!(done.len(), 4);
    }

    #[test]
    fn vlans_separate_flows() {
        let mut t = table(FlowConfig::default());
        let src = Endpoint {
            ip: ip(1),
            port: 5000,
        };
        let dst = Endpoint {
            ip: ip(2),
            port: 53,
        };
        t.datagram(secs(1.0), [10, 0], PROTO_UDP, src, dst, b"", 60, false);
        t.datagram(secs(1.0), [20, 0], PROTO_UDP, src, dst, b"", 60, false);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn ipv6_and_ipv4_mapped_addresses_do_not_collide() {
        let mut t = table(FlowConfig::default());
        let v4 = Endpoint {
            ip: ip(1),
            port: 5000,
        };
        let mapped = Endpoint {
            ip: IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()),
            port: 5000,
        };
        let dst4 = Endpoint {
            ip: ip(2),
            port: 53,
        };
        let dst6 = Endpoint {
            ip: IpAddr::V6(Ipv4Addr::new(10, 0, 0, 2).to_ipv6_mapped()),
            port: 53,
        };
        t.datagram(secs(1.0), [0, 0], PROTO_UDP, v4, dst4, b"", 60, false);
        t.datagram(secs(1.0), [0, 0], PROTO_UDP, mapped, dst6, b"", 80, false);
        assert_eq!(t.len(), 2);
    }
}
