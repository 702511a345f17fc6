//! The `medsentry.report/1` JSON object (DESIGN.md): stable keys, added to freely, never renamed.

use std::borrow::Cow;
use std::collections::BTreeMap;

use std::net::IpAddr;
use std::sync::Arc;

use capture::{Direction, FlowRecord, PipelineStats, TcpState, Timestamp};
use detect::Finding;
use protocols::dicom::{AcceptedContext, Association, AssociationStatus, PresentationContext};
use protocols::hl7::PhiFields;
use protocols::session::{FlowSession, Hl7Record};

use crate::collect::Collector;
use serde::Serialize;

pub const SCHEMA: &str = "medsentry.report/1";

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub generator: Generator,
    pub inputs: Vec<InputReport>,
    pub summary: Summary,
    pub flows: FlowRows,
    /// The device inventory: one entry per device seen, by category then id.
    pub devices: Vec<DeviceOut>,
    pub hl7_messages: Rows<Hl7Out>,
    pub dicom_associations: Vec<DicomOut>,
    pub findings: Rows<FindingOut>,
    /// Whether patient data values were asked for (`--show-phi`); without it no value appears anywhere.
    pub phi_values_shown: bool,
    /// The inventory's devices as decided, for the database (`--db`).
    #[serde(skip)]
    pub inventory: Vec<inventory::Device>,
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
    /// New addresses, MACs and sightings the inventory did not keep because it already held
    /// `inventory::MAX_SUBJECTS` of their kind (a flood of spoofed sources); 0 on any real network.
    pub inventory_dropped: u64,
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
    pub encrypted_flows: u64,
    pub apps: BTreeMap<&'static str, u64>,
    pub hl7_messages_by_type: BTreeMap<String, u64>,
    /// Messages counted above but not listed in `hl7_messages[]` (`--max-rows`).
    pub hl7_messages_omitted: u64,
    pub hl7: Hl7Counters,
    pub dicom_associations: BTreeMap<&'static str, u64>,
    pub dicom_commands: BTreeMap<String, u64>,
    /// Associations cut by a capture gap or the end of the capture.
    pub dicom_incomplete: u64,
    pub cleartext_credentials: u64,
    pub findings_by_kind: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct Hl7Counters {
    /// MLLP frames whose content was not an HL7 message.
    pub unparsed: u64,
    pub oversized: u64,
    /// Messages cut by a capture gap: never counted as messages.
    pub cut_by_gap: u64,
    /// Messages cut by the end of the capture (or of the connection): never counted as messages.
    pub incomplete_at_close: u64,
}

#[derive(Debug, Serialize)]
pub struct Hl7Out {
    pub flow: u64,
    #[serde(serialize_with = "rfc3339")]
    pub ts: Timestamp,
    pub direction: &'static str,
    #[serde(rename = "type")]
    pub message_type: Arc<str>,
    pub control_id: Box<str>,
    pub version: Arc<str>,
    pub sending_application: Arc<str>,
    pub sending_facility: Arc<str>,
    pub receiving_application: Arc<str>,
    pub receiving_facility: Arc<str>,
    pub segments: u32,
    #[serde(serialize_with = "phi_names")]
    pub phi_fields: PhiFields,
    pub ack_code: Option<Arc<str>>,
    pub acked_control_id: Option<Box<str>>,
    pub observations: u32,
    // Boxed: a row is kept per message (hundreds of thousands), the values only with `--show-phi`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<Box<PatientOut>>,
}

/// A message's PHI fields as the list of their names.
fn phi_names<S: serde::Serializer>(f: &PhiFields, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(f.iter())
}

/// Patient values, present only with `--show-phi`.
#[derive(Debug, Serialize)]
pub struct PatientOut {
    pub id: Option<String>,
    pub name: Option<String>,
    pub birth_date: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DicomOut {
    pub flow: u64,
    #[serde(serialize_with = "rfc3339")]
    pub ts: Timestamp,
    pub calling_ae: Arc<str>,
    pub called_ae: Arc<str>,
    pub status: &'static str,
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject: Option<RejectOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort: Option<AbortOut>,
    /// Shared between associations that proposed the same list (a modality proposes the same 128 each
    /// time): see [`UidLists`].
    pub abstract_syntaxes: Arc<[Arc<str>]>,
    pub accepted_transfer_syntaxes: Arc<[Arc<str>]>,
    pub implementation_class_uid: Option<Arc<str>>,
    pub implementation_version: Option<Arc<str>>,
    pub max_pdu_length: Option<u32>,
    pub commands: BTreeMap<String, u64>,
    pub user_identity: Option<String>,
    pub patient_attributes: Vec<&'static str>,
    pub modalities: Vec<String>,
    pub incomplete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<PatientOut>,
}

#[derive(Debug, Serialize)]
pub struct RejectOut {
    pub result: u8,
    pub source: u8,
    pub reason: u8,
}

#[derive(Debug, Serialize)]
pub struct AbortOut {
    pub source: u8,
    pub reason: u8,
}

#[derive(Debug, Serialize)]
pub struct FindingOut {
    pub kind: &'static str,
    pub severity: &'static str,
    pub flow: u64,
    /// Formatted as it is written (tens of thousands of rows; the database thread formats its few
    /// thousand distinct ones itself).
    #[serde(serialize_with = "ip")]
    pub device: IpAddr,
    pub title: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phi_fields: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usernames: Vec<String>,
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
    #[serde(serialize_with = "ip")]
    pub ip: IpAddr,
    pub port: u16,
    /// The MAC its frames carried (a router's for a host off the captured segment).
    #[serde(serialize_with = "mac_opt", skip_serializing_if = "Option::is_none")]
    pub mac: Option<[u8; 6]>,
}

/// A MAC address as `aa:bb:cc:dd:ee:ff`.
pub struct Mac(pub [u8; 6]);

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(capture::addr::format_mac(
            self.0,
            &mut [0; capture::addr::MAC_LEN],
        ))
    }
}

/// MACs as text formatted on the stack, as addresses are.
fn mac_opt<S: serde::Serializer>(m: &Option<[u8; 6]>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.serialize_str(capture::addr::format_mac(
            *m,
            &mut [0; capture::addr::MAC_LEN],
        )),
        None => s.serialize_none(),
    }
}

/// Timestamps as RFC 3339 strings, formatted on the stack.
fn rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.format_rfc3339(&mut [0; capture::time::RFC3339_LEN]))
}

/// Addresses as text formatted on the stack: a report on a large capture has hundreds of thousands.
fn ip<S: serde::Serializer>(ip: &IpAddr, s: S) -> Result<S::Ok, S::Error> {
    match ip {
        IpAddr::V4(v4) => s.serialize_str(capture::addr::format_ipv4(
            *v4,
            &mut [0; capture::addr::IPV4_LEN],
        )),
        IpAddr::V6(_) => s.collect_str(ip),
    }
}

#[derive(Debug, Serialize)]
pub struct FlowOut {
    pub id: u64,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, or `ip-N` for another IP protocol (borrowed but for those).
    pub transport: Cow<'static, str>,
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
    #[serde(serialize_with = "rfc3339")]
    pub first_seen: Timestamp,
    #[serde(serialize_with = "rfc3339")]
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

#[derive(Debug, Serialize)]
pub struct DeviceOut {
    pub id: String,
    pub ips: Vec<String>,
    pub mac: Option<String>,
    pub vendor: Option<String>,
    pub hostname: Option<String>,
    pub model: Option<String>,
    pub category: String,
    pub criticality: String,
    pub role: Option<String>,
    pub modality: Option<String>,
    pub software: Vec<String>,
    #[serde(serialize_with = "rfc3339")]
    pub first_seen: Timestamp,
    #[serde(serialize_with = "rfc3339")]
    pub last_seen: Timestamp,
    /// How each field was decided: value, confidence, rule, its reason, and the evidence.
    pub decided: BTreeMap<&'static str, DecidedOut>,
    pub evidence: Vec<EvidenceOut>,
}

#[derive(Debug, Serialize)]
pub struct DecidedOut {
    pub value: String,
    pub confidence: f32,
    pub rule: String,
    pub reason: String,
    pub evidence: EvidenceOut,
}

#[derive(Debug, Serialize)]
pub struct EvidenceOut {
    /// Where it came from: `mac`, `dhcp`, `dns`, `tls`, `http`, `dicom`, `hl7`, `service`, ...
    pub source: &'static str,
    pub field: &'static str,
    pub value: String,
}

fn evidence_out(field: &'static str, value: &str) -> EvidenceOut {
    EvidenceOut {
        source: field.split('.').next().unwrap_or(field),
        field,
        value: value.to_string(),
    }
}

/// A device's report row.
fn device_out(d: &inventory::Device) -> DeviceOut {
    let field = |k: &str| d.get(k).map(str::to_string);
    DeviceOut {
        id: d.id.clone(),
        ips: d.ips.iter().map(|i| i.to_string()).collect(),
        mac: d.mac.map(|m| Mac(m).to_string()),
        vendor: field("vendor"),
        hostname: field("hostname"),
        model: field("model"),
        category: d.category().to_string(),
        criticality: field("criticality").unwrap_or_else(|| "business".into()),
        role: field("role"),
        modality: field("modality"),
        software: field("software").into_iter().collect(),
        first_seen: Timestamp(d.first_ns),
        last_seen: Timestamp(d.last_ns),
        decided: d
            .fields
            .iter()
            .map(|(k, a)| {
                (
                    *k,
                    DecidedOut {
                        value: a.value.clone(),
                        confidence: a.confidence,
                        rule: a.rule.clone(),
                        reason: a.reason.clone(),
                        evidence: evidence_out(a.evidence_field, &a.evidence_value),
                    },
                )
            })
            .collect(),
        evidence: d
            .evidence
            .iter()
            .map(|e| evidence_out(e.field, &e.value))
            .collect(),
    }
}

/// Device rows most critical categories first.
fn sort_devices(out: &mut [DeviceOut]) {
    let rank = |c: &str| {
        inventory::rules::CATEGORIES
            .iter()
            .position(|(k, _)| *k == c)
            .unwrap_or(99)
    };
    out.sort_by(|a, b| {
        rank(&a.category)
            .cmp(&rank(&b.category))
            .then_with(|| a.id.cmp(&b.id))
    });
}

impl Report {
    /// `threads`: the `--threads` of the analysis (with 2, a large inventory is decided on two).
    pub fn build(
        inputs: Vec<InputReport>,
        stats: &PipelineStats,
        c: Collector,
        show_phi: bool,
        threads: usize,
    ) -> Report {
        let bad_records: u64 = inputs.iter().map(|i| i.bad_records).sum();
        let mut events = c.events.borrow_mut();
        let inventory = std::mem::take(&mut events.inventory).finish();
        let inventory_dropped = inventory.dropped();
        let (decided, mut devices): (Vec<_>, Vec<_>) = inventory
            .finish_with(&c.rules, threads, device_out)
            .into_iter()
            .unzip();
        sort_devices(&mut devices);
        let f = &stats.flows;
        let r = &f.reassembly;
        let d = &stats.defrag;
        let summary = Summary {
            packets: stats.packets,
            bytes: stats.bytes,
            flows: c.flows.len() as u64,
            tcp_flows: f.tcp_flows,
            udp_flows: f.udp_flows,
            other_flows: f.other_flows,
            devices: devices.len() as u64,
            inventory_dropped,
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
            encrypted_flows: c.counters.encrypted_flows,
            apps: c.flows.iter().fold(BTreeMap::new(), |mut m, f| {
                *m.entry(f.app).or_default() += 1;
                m
            }),
            hl7_messages_by_type: std::mem::take(&mut events.hl7_by_type),
            hl7_messages_omitted: events.hl7_omitted,
            hl7: Hl7Counters {
                unparsed: c.counters.hl7_unparsed,
                oversized: c.counters.mllp_oversized,
                cut_by_gap: c.counters.mllp_cut_by_gap,
                incomplete_at_close: c.counters.mllp_incomplete_at_close,
            },
            dicom_associations: c.dicom_associations,
            dicom_commands: c.dicom_commands,
            dicom_incomplete: c.counters.dicom_incomplete,
            cleartext_credentials: c.counters.credentials,
            findings_by_kind: c.findings.iter().fold(BTreeMap::new(), |mut m, f| {
                *m.entry(f.kind.to_string()).or_default() += 1;
                m
            }),
        };
        Report {
            schema: SCHEMA,
            generator: Generator {
                name: "medsentry",
                version: env!("CARGO_PKG_VERSION"),
            },
            inputs,
            summary,
            flows: c.flows,
            devices,
            hl7_messages: std::mem::take(&mut events.hl7),
            dicom_associations: c.dicom,
            findings: c.findings,
            phi_values_shown: show_phi,
            inventory: decided,
        }
    }
}

pub fn flow_out(f: &FlowRecord, session: &FlowSession) -> FlowOut {
    let (s, c) = (Direction::ToServer.index(), Direction::ToClient.index());
    let transport = match f.protocol {
        6 => Cow::Borrowed("tcp"),
        17 => Cow::Borrowed("udp"),
        1 => Cow::Borrowed("icmp"),
        58 => Cow::Borrowed("icmpv6"),
        p => Cow::Owned(format!("ip-{p}")),
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
            mac: f.macs[s],
        },
        server: EndpointOut {
            ip: f.server.ip,
            port: f.server.port,
            mac: f.macs[c],
        },
        app: session.app.as_str(),
        app_source: session.app_source.as_str(),
        packets: f.total_packets(),
        bytes: f.total_bytes(),
        packets_to_server: f.packets[s],
        packets_to_client: f.packets[c],
        bytes_to_server: f.bytes[s],
        bytes_to_client: f.bytes[c],
        encrypted: session.encrypted,
        first_seen: f.first_seen,
        last_seen: f.last_seen,
        vlan: (f.vlan != [0, 0]).then(|| f.vlan.iter().copied().filter(|&v| v != 0).collect()),
        tcp,
        end: f.end.as_str(),
        truncated_packets: f.truncated_packets,
    }
}

/// Report rows kept in pieces of a fixed size: appending never moves the rows already kept (a `Vec`
/// of 229,400 messages grows by doubling, copying tens of megabytes and holding both copies at once).
/// Pieces can be shared as they are ([`Rows::share_new`]): `analyze --db` hands its findings to the
/// database thread that way, without a copy.
pub struct Rows<T> {
    pieces: Vec<Arc<Vec<T>>>,
    len: usize,
    /// Pieces before this index have been shared and take no more rows.
    shared: usize,
}

/// Rows per piece of [`Rows`] and [`FlowRows`]: a multiple of the JSON writer's chunk, so its chunks
/// never straddle two pieces.
const ROWS_PER_PIECE: usize = 8192;

impl<T> Rows<T> {
    const PER_PIECE: usize = ROWS_PER_PIECE;

    pub fn push(&mut self, row: T) {
        let n = self.pieces.len();
        // The newest piece takes the row if it was never shared (then this is its only handle) and
        // has room.
        if n > self.shared
            && let Some(last) = Arc::get_mut(&mut self.pieces[n - 1])
            && last.len() < Self::PER_PIECE
        {
            last.push(row);
        } else {
            let mut p = Vec::with_capacity(Self::PER_PIECE);
            p.push(row);
            self.pieces.push(Arc::new(p));
        }
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether rows were pushed since the last [`Rows::share_new`].
    pub fn has_unshared(&self) -> bool {
        self.pieces.len() > self.shared
    }

    /// Whether the newest piece is full and not yet shared.
    pub fn newest_full(&self) -> bool {
        self.has_unshared()
            && self
                .pieces
                .last()
                .is_some_and(|p| p.len() >= Self::PER_PIECE)
    }

    /// The pieces that hold the rows pushed since the last call, shared: they take no more rows, and
    /// the next row starts a piece of its own. A piece shared before it is full gives back the room it
    /// will not use.
    pub fn share_new(&mut self) -> Vec<Arc<Vec<T>>> {
        if let Some(last) = self.pieces[self.shared..].last_mut()
            && let Some(rows) = Arc::get_mut(last)
        {
            rows.shrink_to_fit();
        }
        let new = self.pieces[self.shared..].to_vec();
        self.shared = self.pieces.len();
        new
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.pieces.iter().flat_map(|p| p.iter())
    }

    /// The rows as consecutive slices of at most `n` rows each.
    pub fn chunks(&self, n: usize) -> impl Iterator<Item = &[T]> {
        self.pieces.iter().flat_map(move |p| p.chunks(n))
    }
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows {
            pieces: Vec::new(),
            len: 0,
            shared: 0,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Rows<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Serialize> Serialize for Rows<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The flow rows, in flow id order. Flows end in another order than they start, and their ids are
/// given as they start, from 0 without gaps: each row goes straight to its place in pieces of a fixed
/// size, so nothing moves the rows already kept (gen_big's 95,000 rows are 30 MB: a `Vec` grew by
/// copying them and holding both copies, then a sort moved them again).
#[derive(Default)]
pub struct FlowRows {
    /// Piece `p` holds ids `p * PER_PIECE ..`; a slot is `None` until its flow ends.
    pieces: Vec<Vec<Option<FlowOut>>>,
    len: usize,
}

impl FlowRows {
    const PER_PIECE: usize = ROWS_PER_PIECE;

    /// Keeps `row` at its id's place (a second row with the same id replaces the first).
    pub fn insert(&mut self, row: FlowOut) {
        let id = usize::try_from(row.id).unwrap_or(usize::MAX);
        let (p, slot) = (id / Self::PER_PIECE, id % Self::PER_PIECE);
        while self.pieces.len() <= p {
            self.pieces.push(Vec::with_capacity(Self::PER_PIECE));
        }
        let piece = &mut self.pieces[p];
        if piece.len() <= slot {
            piece.resize_with(slot + 1, || None);
        }
        if piece[slot].replace(row).is_none() {
            self.len += 1;
        }
    }

    /// Drops the places of ids that never ended (none do when the pipeline has finished every flow:
    /// this is a safety net, and costs a count when there is nothing to drop), so that [`Self::chunks`]
    /// holds rows only.
    pub fn close_gaps(&mut self) {
        if self.pieces.iter().map(Vec::len).sum::<usize>() != self.len {
            for p in &mut self.pieces {
                p.retain(Option::is_some);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The row of flow `id`.
    pub fn get(&self, id: u64) -> Option<&FlowOut> {
        let id = usize::try_from(id).ok()?;
        let row = self
            .pieces
            .get(id / Self::PER_PIECE)?
            .get(id % Self::PER_PIECE)?;
        // After gaps were closed rows may have moved: then the row at the place is another flow's.
        row.as_ref().filter(|r| usize::try_from(r.id) == Ok(id))
    }

    pub fn iter(&self) -> impl Iterator<Item = &FlowOut> {
        self.pieces.iter().flatten().flatten()
    }

    /// The rows as consecutive slices of at most `n` (after [`Self::close_gaps`], every slot is a
    /// row: `Some` serialises as the row itself).
    pub fn chunks(&self, n: usize) -> impl Iterator<Item = &[Option<FlowOut>]> {
        self.pieces.iter().flat_map(move |p| p.chunks(n))
    }
}

impl std::fmt::Debug for FlowRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for FlowRows {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Strings that repeat across hundreds of thousands of rows (message types, applications, facilities,
/// versions), kept once each.
#[derive(Default)]
pub struct Interner {
    /// Hashed with foldhash (seeded per process): several lookups per HL7 message, and at most `MAX` keys.
    strings: std::collections::HashSet<Arc<str>, foldhash::fast::RandomState>,
    /// The last string given for each of a row's fields ([`Interner::get_at`]): the next message in
    /// the same direction nearly always carries the same version, facilities and message type, and a
    /// comparison costs less than a hash.
    recent: [Option<Arc<str>>; RECENT_SLOTS],
}

/// Fields of an HL7 row ([`Hl7Field`]) times the two directions.
const RECENT_SLOTS: usize = 2 * Hl7Field::COUNT;

/// The interned fields of an HL7 row.
#[derive(Clone, Copy)]
enum Hl7Field {
    MessageType,
    Version,
    SendingApplication,
    SendingFacility,
    ReceivingApplication,
    ReceivingFacility,
    AckCode,
}

impl Hl7Field {
    const COUNT: usize = 7;
}

// Every field has its slot.
const _: () = assert!(Hl7Field::AckCode as usize + 1 == Hl7Field::COUNT);

impl Interner {
    /// At most this many distinct strings are shared; past it each row keeps its own copy.
    const MAX: usize = 100_000;

    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(rc) = self.strings.get(s) {
            return Arc::clone(rc);
        }
        let rc: Arc<str> = Arc::from(s);
        if self.strings.len() < Self::MAX {
            self.strings.insert(Arc::clone(&rc));
        }
        rc
    }

    /// [`Interner::get`], first comparing with the last string given for `field` in direction `dir`.
    fn get_at(&mut self, dir: Direction, field: Hl7Field, s: &str) -> Arc<str> {
        let slot = dir.index() * Hl7Field::COUNT + field as usize;
        if let Some(last) = &self.recent[slot]
            && **last == *s
        {
            return Arc::clone(last);
        }
        let rc = self.get(s);
        self.recent[slot] = Some(Arc::clone(&rc));
        rc
    }
}

/// One report row per message; the summary's strings move into it.
pub fn hl7_out(flow: u64, m: Hl7Record<'_>, show_phi: bool, interner: &mut Interner) -> Hl7Out {
    let h = m.summary;
    let mut get = |field, s: &str| interner.get_at(m.dir, field, s);
    Hl7Out {
        flow,
        ts: m.ts,
        direction: m.dir.as_str(),
        message_type: get(Hl7Field::MessageType, &h.message_type),
        control_id: h.control_id.into(),
        version: get(Hl7Field::Version, &h.version),
        sending_application: get(Hl7Field::SendingApplication, &h.sending_application),
        sending_facility: get(Hl7Field::SendingFacility, &h.sending_facility),
        receiving_application: get(Hl7Field::ReceivingApplication, &h.receiving_application),
        receiving_facility: get(Hl7Field::ReceivingFacility, &h.receiving_facility),
        segments: saturating_u32(h.segments),
        phi_fields: h.phi_fields,
        ack_code: h.ack_code.map(|a| get(Hl7Field::AckCode, &a)),
        acked_control_id: h.acked_control_id.map(Into::into),
        observations: saturating_u32(h.observations),
        patient: show_phi.then(|| {
            Box::new(PatientOut {
                id: h.patient.id,
                name: h.patient.name,
                birth_date: h.patient.birth_date,
            })
        }),
    }
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Lists of UIDs that repeat across associations, kept once each (at most [`UidLists::MAX`] lists).
#[derive(Default)]
pub struct UidLists {
    lists: Lists,
    /// An association's abstract syntaxes and its sorted transfer syntaxes, by the context list they
    /// come from: the DICOM parser shares a repeated list of contexts between associations, so most
    /// associations need neither a sort nor a hash. Keyed by the list's address; the entry holds the
    /// list, so that the address cannot be reused while it is a key.
    proposed: Derived<PresentationContext>,
    accepted: Derived<AcceptedContext>,
}

type Derived<T> =
    std::collections::HashMap<*const T, (Arc<[T]>, Arc<[Arc<str>]>), foldhash::fast::RandomState>;

impl UidLists {
    const MAX: usize = 10_000;
    /// Context lists remembered (the parser keeps far fewer alive at a time).
    const MAX_DERIVED: usize = 1024;

    /// The abstract syntaxes proposed, in order.
    fn abstract_syntaxes(&mut self, contexts: &Arc<[PresentationContext]>) -> Arc<[Arc<str>]> {
        derive(&mut self.lists, &mut self.proposed, contexts, |c| {
            c.iter().map(|p| Arc::clone(&p.abstract_syntax)).collect()
        })
    }

    /// The transfer syntaxes accepted, sorted, each once.
    fn transfer_syntaxes(&mut self, contexts: &Arc<[AcceptedContext]>) -> Arc<[Arc<str>]> {
        derive(&mut self.lists, &mut self.accepted, contexts, |c| {
            let mut t: Vec<Arc<str>> = c.iter().map(|c| Arc::clone(&c.transfer_syntax)).collect();
            t.sort_unstable();
            t.dedup();
            t
        })
    }
}

type Lists = std::collections::HashSet<Arc<[Arc<str>]>, foldhash::fast::RandomState>;

/// `uids` as the shared list equal to it (kept if there is room for it).
fn intern_list(lists: &mut Lists, uids: Vec<Arc<str>>) -> Arc<[Arc<str>]> {
    if let Some(l) = lists.get(uids.as_slice()) {
        return Arc::clone(l);
    }
    let l: Arc<[Arc<str>]> = Arc::from(uids);
    if lists.len() < UidLists::MAX {
        lists.insert(Arc::clone(&l));
    }
    l
}

/// The list `uids` makes of `contexts`, made once per context list while there is room.
fn derive<T>(
    lists: &mut Lists,
    cache: &mut Derived<T>,
    contexts: &Arc<[T]>,
    uids: impl FnOnce(&[T]) -> Vec<Arc<str>>,
) -> Arc<[Arc<str>]> {
    let key = Arc::as_ptr(contexts).cast::<T>();
    if let Some((_, l)) = cache.get(&key) {
        return Arc::clone(l);
    }
    let l = intern_list(lists, uids(contexts));
    if cache.len() < UidLists::MAX_DERIVED {
        cache.insert(key, (Arc::clone(contexts), Arc::clone(&l)));
    }
    l
}

pub fn dicom_out(flow: u64, a: &Association, show_phi: bool, lists: &mut UidLists) -> DicomOut {
    let (reject, abort) = match a.status {
        AssociationStatus::Rejected {
            result,
            source,
            reason,
        } => (
            Some(RejectOut {
                result,
                source,
                reason,
            }),
            None,
        ),
        AssociationStatus::Aborted { source, reason } => (None, Some(AbortOut { source, reason })),
        _ => (None, None),
    };
    DicomOut {
        flow,
        ts: a.requested_at,
        calling_ae: Arc::clone(&a.calling_ae),
        called_ae: Arc::clone(&a.called_ae),
        status: a.status.as_str(),
        accepted: a.accepted,
        reject,
        abort,
        abstract_syntaxes: lists.abstract_syntaxes(&a.proposed_contexts),
        accepted_transfer_syntaxes: lists.transfer_syntaxes(&a.accepted_contexts),
        implementation_class_uid: a.implementation_class_uid.clone(),
        implementation_version: a.implementation_version.clone(),
        max_pdu_length: a.max_pdu_length,
        commands: a.command_counts.clone(),
        user_identity: a.user_identity.as_ref().and_then(|u| u.username.clone()),
        patient_attributes: a.patient_attributes.clone(),
        modalities: a.modalities.clone(),
        incomplete: a.incomplete,
        patient: show_phi.then(|| PatientOut {
            id: a.patient.id.clone(),
            name: a.patient.name.clone(),
            birth_date: a.patient.birth_date.clone(),
        }),
    }
}

pub fn finding_out(f: Finding) -> FindingOut {
    FindingOut {
        kind: f.kind,
        severity: f.severity.as_str(),
        flow: f.flow,
        device: f.device,
        title: f.title,
        detail: f.detail,
        phi_fields: f.phi_fields,
        usernames: f.usernames,
    }
}

/// A flow row for tests: flow `id` of 10.0.0.`id` to itself on HL7's port.
#[cfg(test)]
pub(crate) fn test_flow(id: u64) -> FlowOut {
    let end = |port| EndpointOut {
        ip: IpAddr::from([10, 0, 0, (id % 250) as u8]),
        port,
        mac: None,
    };
    FlowOut {
        id,
        transport: Cow::Borrowed("tcp"),
        client: end(40000),
        server: end(2575),
        app: "hl7",
        app_source: "port",
        packets: id,
        bytes: 0,
        packets_to_server: 0,
        packets_to_client: 0,
        bytes_to_server: 0,
        bytes_to_client: 0,
        encrypted: false,
        first_seen: Timestamp(0),
        last_seen: Timestamp(0),
        vlan: None,
        tcp: None,
        end: "fin",
        truncated_packets: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows inserted in any order come out by id, in chunks that never straddle two pieces, and
    /// serialise as a `Vec` sorted by id does; a place never filled is dropped by `close_gaps`.
    #[test]
    fn flow_rows_come_out_by_id() {
        let n = FlowRows::PER_PIECE as u64 * 2 + 100;
        // Ends in a scrambled order: each id once.
        let order: Vec<u64> = (0..n).map(|i| (i * 7919) % n).collect();
        let mut rows = FlowRows::default();
        for &id in &order {
            rows.insert(test_flow(id));
        }
        rows.close_gaps();
        assert_eq!(rows.len(), n as usize);
        assert!(rows.iter().map(|f| f.id).eq(0..n));
        assert_eq!(rows.get(12_345).map(|f| f.id), Some(12_345));
        assert!(rows.get(n).is_none());
        let chunks: Vec<_> = rows.chunks(1024).collect();
        assert!(
            chunks
                .iter()
                .all(|c| c.len() <= 1024 && c.iter().all(Option::is_some))
        );
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), n as usize);
        let sorted: Vec<FlowOut> = (0..n).map(test_flow).collect();
        assert_eq!(
            serde_json::to_string(&rows).unwrap(),
            serde_json::to_string(&sorted).unwrap()
        );

        // Flow 5 never ended: its place goes, the rest stay in order.
        let mut gappy = FlowRows::default();
        for id in (0..10).filter(|&id| id != 5) {
            gappy.insert(test_flow(id));
        }
        gappy.close_gaps();
        let ids: Vec<u64> = gappy.chunks(4).flatten().flatten().map(|f| f.id).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 6, 7, 8, 9]);
        assert_eq!(
            gappy.get(7).map(|f| f.id),
            None,
            "moved: not at its id's place"
        );
    }

    /// Shared pieces are the rows as pushed, each row in exactly one of them, and a shared piece takes
    /// no more rows; the report still sees every row once, in order.
    #[test]
    fn rows_shared_as_pieces_are_each_row_once() {
        let per = Rows::<u32>::PER_PIECE;
        let mut rows = Rows::default();
        assert!(!rows.has_unshared() && rows.share_new().is_empty());
        let mut handed: Vec<u32> = Vec::new();
        let mut next = 0u32;
        let mut push = |rows: &mut Rows<u32>, n: usize| {
            for _ in 0..n {
                rows.push(next);
                next += 1;
            }
        };
        push(&mut rows, 3);
        assert!(rows.has_unshared() && !rows.newest_full());
        let first = rows.share_new();
        assert_eq!(first.len(), 1);
        assert_eq!(*first[0], [0, 1, 2]);
        assert!(
            first[0].capacity() < per,
            "a piece shared early gives back its room"
        );
        handed.extend(first.iter().flat_map(|p| p.iter()));
        assert!(!rows.has_unshared());
        // The next row starts a piece, which fills, and one more starts another.
        push(&mut rows, per);
        assert!(rows.newest_full());
        push(&mut rows, 1);
        assert!(!rows.newest_full());
        let second = rows.share_new();
        assert_eq!(second.iter().map(|p| p.len()).collect::<Vec<_>>(), [per, 1]);
        handed.extend(second.iter().flat_map(|p| p.iter()));
        drop((first, second));
        push(&mut rows, 2);
        handed.extend(rows.share_new().iter().flat_map(|p| p.iter()));
        let all: Vec<u32> = (0..next).collect();
        assert_eq!(handed, all);
        assert_eq!(rows.iter().copied().collect::<Vec<_>>(), all);
        assert_eq!(rows.len(), all.len());
        assert_eq!(
            rows.chunks(1000).flatten().copied().collect::<Vec<_>>(),
            all
        );
        assert!(rows.chunks(1000).all(|c| c.len() <= 1000));
    }
}
