//! The capture's timeline: sessions (TCP connections, UDP exchanges) each know their next packet's
//! time; a heap interleaves them so the file is in packet-time order, as a sensor records it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, Write};

use crate::pcapw::PcapWriter;
use crate::truth::{FlowRow, Truth, endpoint};
use crate::wire::{self, Ip, L2L3, Transport};

/// Anything that puts packets on the timeline.
pub trait Session {
    /// Time of the next packet, or `None` when finished.
    fn front_ts(&self) -> Option<i64>;
    /// Writes the next packet.
    fn emit(&mut self, em: &mut Emitter) -> io::Result<()>;
}

/// UDP traffic per endpoint pair splits into a new flow after this much silence: the analyser's
/// default (`FlowConfig::udp_timeout`), so the truth counts flows as its flow table does.
pub const UDP_IDLE_US: i64 = 120 * 1_000_000;

/// Flows of other IP protocols (ICMPv6 here) split after this much silence: the analyser's
/// `FlowConfig::other_timeout`.
pub const OTHER_IDLE_US: i64 = 60 * 1_000_000;

/// VLAN, then both endpoints in order: the analyser keeps flows of different VLANs apart.
type UdpKey = (Option<u16>, Ip, u16, Ip, u16);

/// A frame built in advance. ARP, LLDP and CDP are no flow; an ICMPv6 packet is one, keyed by its
/// VLAN and addresses alone (the analyser's way for protocols without ports).
pub struct LinkFrame {
    pub ts_us: i64,
    pub bytes: Vec<u8>,
    /// For an ICMPv6 packet: its VLAN, source and destination.
    pub icmp6: Option<(Option<u16>, Ip, Ip)>,
}

impl LinkFrame {
    /// A frame of no flow.
    pub fn plain(ts_us: i64, bytes: Vec<u8>) -> LinkFrame {
        LinkFrame {
            ts_us,
            bytes,
            icmp6: None,
        }
    }

    /// An ICMPv6 packet between `ends` (source, destination).
    pub fn icmp6(ts_us: i64, bytes: Vec<u8>, vlan: Option<u16>, ends: (Ip, Ip)) -> LinkFrame {
        LinkFrame {
            ts_us,
            bytes,
            icmp6: Some((vlan, ends.0, ends.1)),
        }
    }
}

pub struct Emitter {
    writer: PcapWriter<Box<dyn Write>>,
    pub truth: Truth,
    udp: HashMap<UdpKey, (i64, usize)>,
    /// ICMPv6 flows, as `udp` (ports 0).
    icmp6: HashMap<UdpKey, (i64, usize)>,
    last_ts: i64,
}

impl Emitter {
    pub fn new(writer: PcapWriter<Box<dyn Write>>, truth: Truth) -> Emitter {
        Emitter {
            writer,
            truth,
            udp: HashMap::new(),
            icmp6: HashMap::new(),
            last_ts: i64::MIN,
        }
    }

    /// Writes one frame at `ts_us`.
    #[allow(clippy::too_many_arguments)]
    pub fn frame(
        &mut self,
        ts_us: i64,
        src: &L2L3,
        dst_mac: [u8; 6],
        dst_ip: Ip,
        ip_id: u16,
        ttl: u8,
        transport: &Transport,
        payload: &[u8],
        caplen: Option<u32>,
    ) -> io::Result<()> {
        self.count(ts_us);
        let buf = self.writer.begin();
        wire::frame(buf, src, dst_mac, dst_ip, ip_id, ttl, transport, payload);
        self.writer.end(ts_us, caplen.map(|c| c as usize))
    }

    /// A packet at `ts_us` in the truth's totals.
    fn count(&mut self, ts_us: i64) {
        debug_assert!(ts_us >= self.last_ts, "timeline went backwards");
        self.last_ts = ts_us;
        if self.truth.packets == 0 {
            self.truth.first_ts_us = ts_us;
        }
        self.truth.last_ts_us = ts_us;
        self.truth.packets += 1;
    }

    /// Writes a frame built whole; the truth counts the packet, and an ICMPv6 one's flow.
    pub fn link_frame(&mut self, f: &LinkFrame) -> io::Result<()> {
        if let Some((vlan, src, dst)) = f.icmp6 {
            let key = (vlan, src.min(dst), 0, src.max(dst), 0);
            let idx = match self.icmp6.get(&key) {
                Some(&(last, idx)) if f.ts_us - last <= OTHER_IDLE_US => idx,
                _ => {
                    self.truth.flows.push(FlowRow {
                        transport: "icmpv6",
                        client: endpoint(src, 0),
                        server: endpoint(dst, 0),
                        app: "unknown",
                        encrypted: false,
                        packets: 0,
                        closed: false,
                        out_of_order_segments: 0,
                    });
                    self.truth.flows.len() - 1
                }
            };
            self.icmp6.insert(key, (f.ts_us, idx));
            self.truth.flows[idx].packets += 1;
        }
        self.count(f.ts_us);
        self.writer.begin().extend_from_slice(&f.bytes);
        self.writer.end(f.ts_us, None)
    }

    /// Writes a UDP datagram, counting flows as an idle-timeout flow table does.
    #[allow(clippy::too_many_arguments)]
    pub fn udp(
        &mut self,
        ts_us: i64,
        src: &L2L3,
        sport: u16,
        dst_mac: [u8; 6],
        dst_ip: Ip,
        dport: u16,
        app: &'static str,
        payload: &[u8],
    ) -> io::Result<()> {
        let a = (src.ip, sport);
        let b = (dst_ip, dport);
        let key = if a <= b {
            (src.vlan, a.0, a.1, b.0, b.1)
        } else {
            (src.vlan, b.0, b.1, a.0, a.1)
        };
        let new_flow = match self.udp.get(&key) {
            Some(&(last, _)) => ts_us - last > UDP_IDLE_US,
            None => true,
        };
        let idx = if new_flow {
            let idx = self.truth.flows.len();
            self.truth.flows.push(FlowRow {
                transport: "udp",
                client: endpoint(src.ip, sport),
                server: endpoint(dst_ip, dport),
                app,
                // QUIC is the one encrypted protocol synth sends over UDP.
                encrypted: app == "quic",
                packets: 0,
                closed: false,
                out_of_order_segments: 0,
            });
            idx
        } else {
            self.udp[&key].1
        };
        self.udp.insert(key, (ts_us, idx));
        self.truth.flows[idx].packets += 1;
        // Drop entries long idle so the map stays bounded over long captures.
        if self.udp.len() > 1 << 16 {
            self.udp.retain(|_, (last, _)| ts_us - *last <= UDP_IDLE_US);
        }
        let t = Transport::Udp { sport, dport };
        self.frame(ts_us, src, dst_mac, dst_ip, 0, 64, &t, payload, None)
    }

    pub fn finish(mut self) -> io::Result<Truth> {
        let (_, bytes) = self.writer.finish()?;
        self.truth.file_bytes = bytes;
        self.truth.finish_flows();
        Ok(self.truth)
    }
}

/// A session not started yet: built when the timeline reaches it, so a long capture holds only the
/// sessions that are live.
/// Builds a session when the timeline reaches it, recording its flow in the truth.
pub type BuildSession = Box<dyn FnOnce(&mut Truth) -> Box<dyn Session>>;

pub struct Planned {
    pub start_us: i64,
    pub build: BuildSession,
}

/// Runs the timeline: `plans` sorted by start time.
pub fn run(plans: Vec<Planned>, em: &mut Emitter) -> io::Result<()> {
    let mut slab: Vec<Option<Box<dyn Session>>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(i64, u64, usize)>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut plans = plans.into_iter().peekable();
    loop {
        // Start every planned session due before the next packet.
        let next_ts = heap.peek().map(|Reverse((t, _, _))| *t);
        while let Some(p) = plans.next_if(|p| next_ts.is_none_or(|t| p.start_us <= t)) {
            let s = (p.build)(&mut em.truth);
            if let Some(ts) = s.front_ts() {
                let idx = free.pop().unwrap_or_else(|| {
                    slab.push(None);
                    slab.len() - 1
                });
                slab[idx] = Some(s);
                order += 1;
                heap.push(Reverse((ts, order, idx)));
            }
            if heap.peek().map(|Reverse((t, _, _))| *t) != next_ts {
                break;
            }
        }
        let Some(Reverse((_, _, idx))) = heap.pop() else {
            if plans.peek().is_none() {
                return Ok(());
            }
            continue;
        };
        let s = slab[idx].as_mut().expect("live session");
        s.emit(em)?;
        match s.front_ts() {
            Some(ts) => {
                order += 1;
                heap.push(Reverse((ts, order, idx)));
            }
            None => {
                slab[idx] = None;
                free.push(idx);
            }
        }
    }
}

/// Frames that belong to no flow, built in advance, in time order: a device's ARP announcement as
/// its address comes up, a switch's LLDP and CDP announcements.
pub struct LinkSession {
    pub frames: std::collections::VecDeque<LinkFrame>,
}

impl Session for LinkSession {
    fn front_ts(&self) -> Option<i64> {
        self.frames.front().map(|f| f.ts_us)
    }

    fn emit(&mut self, em: &mut Emitter) -> io::Result<()> {
        match self.frames.pop_front() {
            Some(f) => em.link_frame(&f),
            None => Ok(()),
        }
    }
}

/// A handful of datagrams laid out in advance (DHCP, DNS, NTP, mDNS exchanges).
pub struct UdpSession {
    pub datagrams: std::collections::VecDeque<Datagram>,
}

pub struct Datagram {
    pub ts_us: i64,
    pub src: L2L3,
    pub sport: u16,
    pub dst_mac: [u8; 6],
    pub dst_ip: Ip,
    pub dport: u16,
    pub app: &'static str,
    pub payload: Vec<u8>,
}

impl Session for UdpSession {
    fn front_ts(&self) -> Option<i64> {
        self.datagrams.front().map(|d| d.ts_us)
    }

    fn emit(&mut self, em: &mut Emitter) -> io::Result<()> {
        if let Some(d) = self.datagrams.pop_front() {
            em.udp(
                d.ts_us, &d.src, d.sport, d.dst_mac, d.dst_ip, d.dport, d.app, &d.payload,
            )?;
        }
        Ok(())
    }
}
