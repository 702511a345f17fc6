//! What was generated, written beside the capture as `FILE.truth.json`: the exact answers an analyser
//! of the capture must give, and the patient values it must never print.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::wire::Ip;

pub const SCHEMA: &str = "medsentry.synth-truth/1";

#[derive(Debug, Default, Serialize)]
pub struct Truth {
    pub schema: &'static str,
    pub generator: Generator,
    pub packets: u64,
    /// Bytes of the capture file.
    pub file_bytes: u64,
    pub first_ts_us: i64,
    pub last_ts_us: i64,
    pub devices: Vec<DeviceRow>,
    /// Flows as a flow table with the analyser's default timeouts sees them: every TCP connection, and
    /// UDP traffic per endpoint pair split after 120 s of silence.
    pub flow_count: u64,
    pub flows_by_app: BTreeMap<&'static str, u64>,
    pub encrypted_flows: u64,
    pub hl7_messages_by_type: BTreeMap<String, u64>,
    /// `requested`, `accepted`, `rejected`, `released`, `aborted`, as the report counts them.
    pub dicom_associations: BTreeMap<&'static str, u64>,
    pub dicom_commands: BTreeMap<String, u64>,
    pub credentials: Vec<CredentialRow>,
    pub faults: FaultTruth,
    /// Synthetic patient values carried in cleartext HL7 and DICOM: they must never appear in a report
    /// made without `--show-phi`.
    pub phi: PhiTruth,
    /// Every flow, in the order it started.
    pub flows: Vec<FlowRow>,
}

#[derive(Debug, Default, Serialize)]
pub struct Generator {
    pub devices: usize,
    pub minutes: u32,
    pub seed: u64,
    pub faults: String,
    pub format: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub kind: &'static str,
    pub category: &'static str,
    /// The maker, as a clinical engineer names it.
    pub vendor: String,
    /// The organisation the IEEE registry lists for the MAC's prefix.
    pub oui_vendor: String,
    pub model: &'static str,
    pub mac: String,
    pub ipv4: String,
    pub ipv6: Option<String>,
    pub vlan: Option<u16>,
    pub hostname: String,
    /// Whether the name ever appears on the wire (DHCP, DNS, mDNS, LLDP, CDP).
    pub hostname_on_wire: bool,
    /// The MACs of the switch ports it announces itself from (LLDP, CDP): the same device.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub port_macs: Vec<String>,
    /// DICOM application entity title, HL7 sending application: what the device calls itself.
    pub application: Option<String>,
    pub software_version: &'static str,
    pub modality: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlowRow {
    pub transport: &'static str,
    pub client: String,
    pub server: String,
    pub app: &'static str,
    pub encrypted: bool,
    pub packets: u64,
    pub closed: bool,
    /// Segments the analyser will hold as out of order (see [`FaultTruth::out_of_order_segments`]).
    pub out_of_order_segments: u64,
}

impl FlowRow {
    pub fn tcp(
        cip: Ip,
        cport: u16,
        sip: Ip,
        sport: u16,
        app: &'static str,
        encrypted: bool,
    ) -> FlowRow {
        FlowRow {
            transport: "tcp",
            client: endpoint(cip, cport),
            server: endpoint(sip, sport),
            app,
            encrypted,
            packets: 0,
            closed: false,
            out_of_order_segments: 0,
        }
    }
}

pub fn endpoint(ip: Ip, port: u16) -> String {
    match ip {
        Ip::V4(_) => format!("{}:{port}", ip.to_std()),
        Ip::V6(_) => format!("[{}]:{port}", ip.to_std()),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CredentialRow {
    pub protocol: &'static str,
    pub client: String,
    pub server: String,
    pub username: String,
    pub accepted: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct FaultTruth {
    pub retransmitted_segments: u64,
    pub duplicated_segments: u64,
    /// Payload bytes seen twice (retransmissions and duplicates).
    pub retransmitted_bytes: u64,
    pub reordered_segments: u64,
    /// Segments the analyser holds as out of order: each reordered one, and those that arrive after a
    /// hole until the receiver's ACK passes it.
    pub out_of_order_segments: u64,
    /// Segments the capture lost: each is one reassembly gap.
    pub lost_segments: u64,
    /// Frames cut by the snaplen: each loses the rest of its payload, one gap each.
    pub truncated_packets: u64,
    /// Payload bytes the capture never saw (lost segments and truncated tails).
    pub gap_bytes: u64,
    /// HL7 messages a gap cut: not messages for the analyser.
    pub hl7_messages_cut: u64,
    /// HL7 messages (one segment each) the capture lost whole: the analyser cannot know of them.
    pub hl7_messages_unseen: u64,
    /// DICOM associations a gap cut (inside an image's data: every command still counts).
    pub dicom_associations_cut: u64,
    pub vlan_devices: u64,
    pub ipv6_devices: u64,
}

impl FaultTruth {
    pub fn gaps(&self) -> u64 {
        self.lost_segments + self.truncated_packets
    }
}

#[derive(Debug, Default, Serialize)]
pub struct PhiTruth {
    pub patient_names: Vec<String>,
    pub patient_ids: Vec<String>,
    pub birth_dates: Vec<String>,
}

impl Truth {
    pub fn dicom(&mut self, what: &'static str) {
        *self.dicom_associations.entry(what).or_default() += 1;
    }

    pub fn dicom_command(&mut self, name: &str) {
        if let Some(n) = self.dicom_commands.get_mut(name) {
            *n += 1;
        } else {
            self.dicom_commands.insert(name.to_string(), 1);
        }
    }

    /// Totals derived from the flow list; called once when generation ends.
    pub fn finish_flows(&mut self) {
        self.flow_count = self.flows.len() as u64;
        self.flows_by_app.clear();
        self.encrypted_flows = 0;
        for f in &self.flows {
            *self.flows_by_app.entry(f.app).or_default() += 1;
            self.encrypted_flows += u64::from(f.encrypted);
        }
    }
}
