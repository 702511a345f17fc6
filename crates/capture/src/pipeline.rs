//! From raw frames to flows: decode, defragment, and feed the flow table, counting everything skipped.

use crate::decode::{self, ArpPacket, Decoded, IpPacket, LinkPdu, NdpPacket, Transport};
use crate::defrag::{DefragConfig, DefragStats, Defragmenter};
use crate::flow::{
    Endpoint, FlowConfig, FlowHandler, FlowTable, FlowTableStats, PROTO_TCP, PROTO_UDP,
};
use crate::reader::RawPacket;
use crate::reassembly::ReassemblyConfig;
use crate::time::Timestamp;

/// Reads a whole capture file through a pipeline that keeps every flow's reassembled bytes: for tests
/// and tools on small captures (memory grows with the capture).
pub fn reassemble_file(
    path: &std::path::Path,
    config: PipelineConfig,
) -> Result<
    (
        Vec<(
            crate::flow::FlowRecord,
            crate::reassembly::CollectingConsumer,
        )>,
        PipelineStats,
    ),
    String,
> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader =
        crate::reader::CaptureReader::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut pipeline = Pipeline::new(config, crate::flow::CollectingHandler::default());
    while let Some(pkt) = reader
        .next_packet()
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        pipeline.packet(&pkt);
    }
    let (collect, stats) = pipeline.finish();
    let mut flows = collect.flows;
    flows.sort_by_key(|(r, _)| r.id);
    Ok((flows, stats))
}

/// Tunnels inside tunnels are followed this deep.
const MAX_TUNNEL_DEPTH: usize = 3;

/// Every cap and timeout of the pipeline.
#[derive(Debug, Clone, Copy, Default)]
pub struct PipelineConfig {
    pub flows: FlowConfig,
    pub reassembly: ReassemblyConfig,
    pub defrag: DefragConfig,
}

/// What the pipeline saw, by layer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PipelineStats {
    pub packets: u64,
    /// Frame bytes on the wire (original lengths).
    pub bytes: u64,
    /// Frame bytes present in the capture.
    pub captured_bytes: u64,
    /// Frames whose link or IP header could not be decoded.
    pub decode_errors: u64,
    /// Frames cut short by the snaplen (decoded as far as they go).
    pub truncated: u64,
    /// Frames of a link type we do not decode.
    pub unsupported_link: u64,
    /// ARP, LLDP, CDP and other non-IP frames (ARP, LLDP and CDP also go to the handler).
    pub non_ip: u64,
    pub ipv4: u64,
    pub ipv6: u64,
    pub tcp: u64,
    pub udp: u64,
    pub icmp: u64,
    pub other_ip: u64,
    /// Packets carried in an IP tunnel (IP-in-IP, 6in4, GRE, ERSPAN) and decoded from the inner header.
    pub tunneled: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub defrag: DefragStats,
    pub flows: FlowTableStats,
}

/// Decodes frames and feeds a flow table whose handler receives the flows.
pub struct Pipeline<H: FlowHandler> {
    flows: FlowTable<H>,
    defrag: Defragmenter,
    stats: PipelineStats,
}

impl<H: FlowHandler> Pipeline<H> {
    pub fn new(config: PipelineConfig, handler: H) -> Self {
        Pipeline {
            flows: FlowTable::new(config.flows, config.reassembly, handler),
            defrag: Defragmenter::new(config.defrag),
            stats: PipelineStats::default(),
        }
    }

    pub fn handler(&mut self) -> &mut H {
        self.flows.handler()
    }

    pub fn stats(&self) -> PipelineStats {
        let mut s = self.stats;
        s.defrag = self.defrag.stats();
        s.flows = self.flows.stats();
        s
    }

    /// One frame from a capture.
    pub fn packet(&mut self, pkt: &RawPacket<'_>) {
        let s = &mut self.stats;
        s.packets += 1;
        s.bytes += u64::from(pkt.orig_len);
        s.captured_bytes += pkt.data.len() as u64;
        s.first_ts.get_or_insert(pkt.ts);
        s.last_ts = Some(s.last_ts.map_or(pkt.ts, |t| t.max(pkt.ts)));
        if pkt.data.len() < pkt.orig_len as usize {
            s.truncated += 1;
        }
        // Cheap unless a datagram is due to expire: the defragmenter keeps its next deadline.
        self.defrag.expire(pkt.ts);
        match decode::decode(pkt.link, pkt.data, pkt.orig_len) {
            Ok(Decoded::Ip(ip)) => self.ip(pkt, ip, 0),
            Ok(Decoded::Arp(arp)) => self.arp(pkt.ts, &arp),
            Ok(Decoded::Pdu(pdu)) => self.pdu(pkt.ts, &pdu),
            Ok(Decoded::NonIp { .. }) => s.non_ip += 1,
            Ok(Decoded::UnsupportedLink) => s.unsupported_link += 1,
            Err(_) => s.decode_errors += 1,
        }
    }

    /// ARP is counted with the other non-IP frames, and handed to the handler.
    fn arp(&mut self, ts: Timestamp, arp: &ArpPacket) {
        self.stats.non_ip += 1;
        self.flows.handler().arp(ts, arp);
    }

    /// LLDP and CDP are counted with the other non-IP frames, and handed to the handler.
    fn pdu(&mut self, ts: Timestamp, pdu: &LinkPdu<'_>) {
        self.stats.non_ip += 1;
        self.flows.handler().pdu(ts, pdu);
    }

    fn ip(&mut self, pkt: &RawPacket<'_>, ip: IpPacket<'_>, depth: usize) {
        match ip.src {
            std::net::IpAddr::V4(_) => self.stats.ipv4 += 1,
            std::net::IpAddr::V6(_) => self.stats.ipv6 += 1,
        }
        if let Some(frag) = &ip.fragment {
            let Transport::Fragment(bytes) = ip.transport else {
                return;
            };
            if ip.truncated {
                // A cut fragment would leave a hole or a wrong end in its datagram; it is counted as
                // truncated and left out.
                return;
            }
            if let Some(whole) = self
                .defrag
                .push(pkt.ts, ip.src, ip.dst, ip.protocol, frag, bytes)
            {
                let len = u32::try_from(whole.len()).unwrap_or(u32::MAX);
                let (transport, truncated) = decode::decode_transport(ip.protocol, &whole, len);
                let ip = IpPacket {
                    transport,
                    truncated,
                    fragment: None,
                    ..ip
                };
                self.transport(pkt, &ip, depth);
            }
            return;
        }
        self.transport(pkt, &ip, depth);
    }

    fn transport(&mut self, pkt: &RawPacket<'_>, ip: &IpPacket<'_>, depth: usize) {
        let ts = pkt.ts;
        let truncated = ip.truncated;
        if let Transport::Other(bytes) = ip.transport
            && let Some((link, inner)) = decode::tunnel_payload(ip.protocol, bytes)
            && depth < MAX_TUNNEL_DEPTH
        {
            self.stats.tunneled += 1;
            let len = u32::try_from(inner.len()).unwrap_or(u32::MAX);
            match decode::decode(link, inner, len) {
                Ok(Decoded::Ip(mut inner)) => {
                    // The tunnel's VLAN tags identify the network the inner packet was seen on.
                    if inner.vlan == [0, 0] {
                        inner.vlan = ip.vlan;
                    }
                    inner.truncated |= truncated;
                    self.ip(pkt, inner, depth + 1);
                }
                Ok(Decoded::Arp(mut arp)) => {
                    if arp.vlan == [0, 0] {
                        arp.vlan = ip.vlan;
                    }
                    self.arp(ts, &arp);
                }
                Ok(Decoded::Pdu(mut pdu)) => {
                    if pdu.vlan == [0, 0] {
                        pdu.vlan = ip.vlan;
                    }
                    self.pdu(ts, &pdu);
                }
                Ok(Decoded::NonIp { .. }) => self.stats.non_ip += 1,
                Ok(Decoded::UnsupportedLink) => self.stats.unsupported_link += 1,
                Err(_) => self.stats.decode_errors += 1,
            }
            return;
        }
        self.flows.set_link(ip.macs);
        match &ip.transport {
            Transport::Tcp(seg) => {
                self.stats.tcp += 1;
                self.flows
                    .tcp(ts, ip.vlan, ip.src, ip.dst, seg, pkt.orig_len, truncated);
            }
            Transport::Udp(d) => {
                self.stats.udp += 1;
                let src = Endpoint {
                    ip: ip.src,
                    port: d.src_port,
                };
                let dst = Endpoint {
                    ip: ip.dst,
                    port: d.dst_port,
                };
                self.flows.datagram(
                    ts,
                    ip.vlan,
                    PROTO_UDP,
                    src,
                    dst,
                    d.payload,
                    pkt.orig_len,
                    truncated,
                );
            }
            Transport::Icmp { .. } | Transport::Other(_) | Transport::Fragment(_) => {
                if matches!(ip.transport, Transport::Icmp { .. }) {
                    self.stats.icmp += 1;
                    if let Some(nd) = NdpPacket::from_ip(ip) {
                        self.flows.handler().neighbor(pkt.ts, &nd);
                    }
                } else {
                    self.stats.other_ip += 1;
                }
                // A TCP or UDP packet whose transport header was cut off still belongs to no flow we can
                // key, so it is counted here rather than guessed into one.
                if ip.protocol == PROTO_TCP || ip.protocol == PROTO_UDP {
                    return;
                }
                let src = Endpoint {
                    ip: ip.src,
                    port: 0,
                };
                let dst = Endpoint {
                    ip: ip.dst,
                    port: 0,
                };
                self.flows.datagram(
                    ts,
                    ip.vlan,
                    ip.protocol,
                    src,
                    dst,
                    &[],
                    pkt.orig_len,
                    truncated,
                );
            }
        }
    }

    /// End of input: flush every flow and hand back the handler with the final statistics.
    pub fn finish(self) -> (H, PipelineStats) {
        let mut stats = self.stats;
        stats.defrag = self.defrag.stats();
        let (handler, flow_stats) = self.flows.finish();
        stats.flows = flow_stats;
        (handler, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::LinkType;
    use crate::reassembly::{Chunk, Direction};

    type Collect = crate::flow::CollectingHandler;

    /// An Ethernet frame with an IPv4 header (id, flags+offset) around `payload`.
    fn ipv4_frame(protocol: u8, id: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(&frag.to_be_bytes());
        f.extend_from_slice(&[64, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(payload);
        f
    }

    fn feed(p: &mut Pipeline<Collect>, at: i64, frame: &[u8]) {
        let pkt = RawPacket {
            ts: Timestamp::from_secs(at),
            link: LinkType::ETHERNET,
            data: frame,
            orig_len: frame.len() as u32,
        };
        p.packet(&pkt);
    }

    fn udp_datagram(body: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&5000u16.to_be_bytes());
        d.extend_from_slice(&2575u16.to_be_bytes());
        d.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
        d.extend_from_slice(&[0, 0]);
        d.extend_from_slice(body);
        d
    }

    #[test]
    fn ipv4_fragments_are_reassembled_into_one_datagram() {
        let body: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let whole = udp_datagram(&body);
        let mut p = Pipeline::new(PipelineConfig::default(), Collect::default());
        // Three fragments of 1480, 1480 and 48 bytes, the last one first.
        let pieces = [
            (2960usize, whole.len(), false),
            (0, 1480, true),
            (1480, 2960, true),
        ];
        for (start, end, more) in pieces {
            let frag = ((start / 8) as u16) | if more { 0x2000 } else { 0 };
            feed(&mut p, 1, &ipv4_frame(17, 77, frag, &whole[start..end]));
        }
        let (collect, stats) = p.finish();
        assert_eq!(stats.packets, 3);
        assert_eq!(stats.defrag.reassembled, 1);
        assert_eq!(stats.udp, 1, "one datagram once reassembled");
        assert_eq!(collect.flows.len(), 1);
        let (record, consumer) = &collect.flows[0];
        assert_eq!(record.server.port, 2575);
        assert_eq!(
            consumer.chunks,
            vec![
                Chunk::Datagram(Direction::ToServer, body),
                Chunk::Close(record.end)
            ]
        );
    }

    #[test]
    fn a_fragment_that_never_completes_is_dropped_after_the_timeout() {
        let whole = udp_datagram(&[7u8; 2000]);
        let mut p = Pipeline::new(PipelineConfig::default(), Collect::default());
        feed(&mut p, 1, &ipv4_frame(17, 9, 0x2000, &whole[..1480]));
        // Packet time moves on well past the 30 s reassembly timeout.
        feed(&mut p, 100, &ipv4_frame(17, 10, 0, &udp_datagram(b"later")));
        let (collect, stats) = p.finish();
        assert_eq!(stats.defrag.timed_out, 1);
        assert_eq!(stats.defrag.reassembled, 0);
        assert_eq!(
            collect.flows.len(),
            1,
            "only the unfragmented datagram makes a flow"
        );
    }

    #[test]
    fn ip_in_ip_is_followed_and_counted() {
        let inner = ipv4_frame(17, 1, 0, &udp_datagram(b"tunnelled"));
        // Strip the inner Ethernet header: IP-in-IP carries the bare IPv4 packet.
        let outer = ipv4_frame(4, 2, 0, &inner[14..]);
        let mut p = Pipeline::new(PipelineConfig::default(), Collect::default());
        feed(&mut p, 1, &outer);
        let (collect, stats) = p.finish();
        assert_eq!((stats.packets, stats.tunneled, stats.udp), (1, 1, 1));
        assert_eq!(collect.flows[0].1.bytes(Direction::ToServer), b"tunnelled");
    }
}
