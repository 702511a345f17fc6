//! The `medsentry.report/1` JSON object (DESIGN.md): stable keys, added to freely, never renamed.

use std::collections::BTreeMap;

use std::net::IpAddr;

use capture::{Direction, FlowRecord, PipelineStats, TcpState, Timestamp};
use serde::Serialize;

pub const SCHEMA: &str = "medsentry.report/1";

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub generator: Generator,
    pub inputs: Vec<InputReport>,
    pub summary: Summary,
    pub flows: Vec<FlowOut>,
}

#[derive(Debug, Serialize)]
pub struct Generator {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct InputReport {
    pub file: String,
    pub format: &'static str,
    pub bytes: u64,
    pub packets: u64,
    /// Records skipped as impossible (counted in `summary.decode_errors` too).
    pub bad_records: u64,
    /// Why reading stopped early, when it did (truncated or corrupt file).
    pub warning: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub packets: u64,
    pub bytes: u64,
    pub flows: u64,
    pub tcp_flows: u64,
    pub udp_flows: u64,
    pub other_flows: u64,
    pub devices: u64,
    /// Frames or records that could not be decoded: bad link or IP headers, impossible records.
    pub decode_errors: u64,
    /// Frames cut short by the capture's snaplen (decoded as far as they go).
    pub truncated_packets: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub layers: Layers,
    pub flow_table: FlowTableSummary,
    pub reassembly: ReassemblySummary,
    pub fragments: FragmentSummary,
    pub hl7_messages_by_type: BTreeMap<String, u64>,
    pub dicom_associations: BTreeMap<&'static str, u64>,
    pub dicom_commands: BTreeMap<String, u64>,
    pub findings_by_kind: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct Layers {
    pub ipv4: u64,
    pub ipv6: u64,
    pub tcp: u64,
    pub udp: u64,
    pub icmp: u64,
    pub other_ip: u64,
    pub tunneled: u64,
    pub non_ip: u64,
    pub unsupported_link: u64,
}

#[derive(Debug, Serialize)]
pub struct FlowTableSummary {
    pub peak_flows: u64,
    pub evicted: u64,
    pub timed_out: u64,
    pub reused: u64,
    pub peak_buffered_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct ReassemblySummary {
    pub delivered_bytes: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub retransmitted_bytes: u64,
    pub out_of_order_segments: u64,
    pub overlap_conflicts: u64,
    pub dropped_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct FragmentSummary {
    pub fragments: u64,
    pub reassembled: u64,
    pub timed_out: u64,
    pub dropped: u64,
}

#[derive(Debug, Serialize)]
pub struct EndpointOut {
    #[serde(serialize_with = "display")]
    pub ip: IpAddr,
    pub port: u16,
}

/// Serialises through `Display` straight into the output, without a `String` per value: a report on a
/// large capture has hundreds of thousands of addresses and timestamps.
fn display<T: std::fmt::Display, S: serde::Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

#[derive(Debug, Serialize)]
pub struct FlowOut {
    pub id: u64,
    pub transport: String,
    pub client: EndpointOut,
    pub server: EndpointOut,
    pub app: &'static str,
    /// How `app` was decided: "port" until content detection exists.
    pub app_source: &'static str,
    pub packets: u64,
    pub bytes: u64,
    pub packets_to_server: u64,
    pub packets_to_client: u64,
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    pub encrypted: bool,
    #[serde(serialize_with = "display")]
    pub first_seen: Timestamp,
    #[serde(serialize_with = "display")]
    pub last_seen: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpOut>,
    pub end: &'static str,
    pub truncated_packets: u64,
}

#[derive(Debug, Serialize)]
pub struct TcpOut {
    pub state: &'static str,
    /// The client's SYN was captured (client and server are known, not guessed from ports).
    pub handshake: bool,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub retransmitted_bytes: u64,
    pub out_of_order_segments: u64,
    pub overlap_conflicts: u64,
}

impl Report {
    pub fn build(
        inputs: Vec<InputReport>,
        stats: &PipelineStats,
        flows: Vec<FlowRecord>,
    ) -> Report {
        let bad_records: u64 = inputs.iter().map(|i| i.bad_records).sum();
        let f = &stats.flows;
        let r = &f.reassembly;
        let d = &stats.defrag;
        let summary = Summary {
            packets: stats.packets,
            bytes: stats.bytes,
            flows: flows.len() as u64,
            tcp_flows: f.tcp_flows,
            udp_flows: f.udp_flows,
            other_flows: f.other_flows,
            devices: 0,
            decode_errors: stats.decode_errors + bad_records,
            truncated_packets: stats.truncated,
            first_seen: stats.first_ts.map(|t| t.rfc3339()),
            last_seen: stats.last_ts.map(|t| t.rfc3339()),
            layers: Layers {
                ipv4: stats.ipv4,
                ipv6: stats.ipv6,
                tcp: stats.tcp,
                udp: stats.udp,
                icmp: stats.icmp,
                other_ip: stats.other_ip,
                tunneled: stats.tunneled,
                non_ip: stats.non_ip,
                unsupported_link: stats.unsupported_link,
            },
            flow_table: FlowTableSummary {
                peak_flows: f.peak_flows,
                evicted: f.evicted,
                timed_out: f.timed_out,
                reused: f.reused,
                peak_buffered_bytes: f.peak_buffered_bytes,
            },
            reassembly: ReassemblySummary {
                delivered_bytes: r.delivered_bytes,
                gaps: r.gaps,
                gap_bytes: r.gap_bytes,
                retransmitted_bytes: r.retransmitted_bytes,
                out_of_order_segments: r.out_of_order_segments,
                overlap_conflicts: r.overlap_conflicts,
                dropped_bytes: r.dropped_bytes,
            },
            fragments: FragmentSummary {
                fragments: d.fragments,
                reassembled: d.reassembled,
                timed_out: d.timed_out,
                dropped: d.dropped_too_many_fragments + d.dropped_too_large + d.dropped_table_full,
            },
            hl7_messages_by_type: BTreeMap::new(),
            dicom_associations: ["requested", "accepted", "rejected", "released", "aborted"]
                .into_iter()
                .map(|k| (k, 0))
                .collect(),
            dicom_commands: BTreeMap::new(),
            findings_by_kind: BTreeMap::new(),
        };
        Report {
            schema: SCHEMA,
            generator: Generator {
                name: "medsentry",
                version: env!("CARGO_PKG_VERSION"),
            },
            inputs,
            summary,
            flows: flows.iter().map(flow_out).collect(),
        }
    }
}

fn flow_out(f: &FlowRecord) -> FlowOut {
    let (s, c) = (Direction::ToServer.index(), Direction::ToClient.index());
    let transport = match f.protocol {
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        1 => "icmp".to_string(),
        58 => "icmpv6".to_string(),
        p => format!("ip-{p}"),
    };
    let tcp = f.tcp_state.map(|state: TcpState| {
        let [a, b] = f.reassembly;
        TcpOut {
            state: state.as_str(),
            handshake: f.handshake_seen,
            gaps: a.gaps + b.gaps,
            gap_bytes: a.gap_bytes + b.gap_bytes,
            retransmitted_bytes: a.retransmitted_bytes + b.retransmitted_bytes,
            out_of_order_segments: a.out_of_order_segments + b.out_of_order_segments,
            overlap_conflicts: a.overlap_conflicts + b.overlap_conflicts,
        }
    });
    FlowOut {
        id: f.id,
        transport,
        client: EndpointOut {
            ip: f.client.ip,
            port: f.client.port,
        },
        server: EndpointOut {
            ip: f.server.ip,
            port: f.server.port,
        },
        app: guess_app(f.protocol, f.server.port),
        app_source: "port",
        packets: f.total_packets(),
        bytes: f.total_bytes(),
        packets_to_server: f.packets[s],
        packets_to_client: f.packets[c],
        bytes_to_server: f.bytes[s],
        bytes_to_client: f.bytes[c],
        encrypted: false,
        first_seen: f.first_seen,
        last_seen: f.last_seen,
        vlan: (f.vlan != [0, 0]).then(|| f.vlan.iter().copied().filter(|&v| v != 0).collect()),
        tcp,
        end: f.end.as_str(),
        truncated_packets: f.truncated_packets,
    }
}

/// A guess from the server port alone, until application-layer detection replaces it.
fn guess_app(protocol: u8, port: u16) -> &'static str {
    match (protocol, port) {
        (6, 2575) => "hl7",
        (6, 104 | 11112) => "dicom",
        (6, 2762) => "dicom-tls",
        (6, 80 | 8080) => "http",
        (6, 443 | 8443) => "tls",
        (6, 23) => "telnet",
        (6, 21) => "ftp",
        (_, 53) => "dns",
        (17, 67 | 68) => "dhcp",
        (17, 123) => "ntp",
        (17, 5353) => "mdns",
        _ => "unknown",
    }
}
