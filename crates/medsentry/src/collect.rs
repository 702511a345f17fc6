//! The flow handler of `analyze`: gives every flow a protocol session, and when a flow ends turns what
//! its parsers found into report rows, so parser state is freed as the capture goes.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use capture::decode::{ArpPacket, LinkPdu, NdpKind, NdpPacket};
use capture::{Direction, FlowHandler, FlowInfo, FlowRecord, Timestamp};
use detect::FlowView;
use inventory::{Chassis, Recorder, Subject};
use protocols::detect::App;
use protocols::detect::PortMap;
use protocols::hl7;
use protocols::session::{About, EventSink, FlowSession, Hl7Record, IdentityFact, SharedSink};

use crate::report::{self, DicomOut, FindingOut, Hl7Out};

/// Rows of events that arrive while flows are still open (HL7 messages, as they are parsed).
#[derive(Default)]
pub struct EventRows {
    show_phi: bool,
    /// Whether evidence feeds the inventory (`analyze --no-inventory` turns it off).
    identify: bool,
    max_rows: usize,
    /// Messages counted but not listed because `hl7_messages[]` reached `--max-rows`.
    pub hl7_omitted: u64,
    interner: report::Interner,
    pub hl7: report::Rows<Hl7Out>,
    pub hl7_by_type: BTreeMap<String, u64>,
    /// Identity evidence from HL7 messages, per open flow, until the flow ends.
    hl7_identity: HashMap<u64, Hl7Identity, foldhash::fast::RandomState>,
    /// The device inventory, fed as evidence arrives (on a thread of its own with two analysis
    /// threads: see [`Collector::identify_on_a_thread`]).
    pub inventory: Recorder,
}

/// What HL7 messages said about their sender, per direction of a flow (a few values each).
#[derive(Default)]
struct Hl7Identity {
    /// (field, value) pairs, at most [`MAX_HL7_IDENTITY`] per direction.
    facts: [Vec<(&'static str, String)>; 2],
}

const MAX_HL7_IDENTITY: usize = 16;

/// LOINC codes of vital signs (heart rate, SpO2, blood pressures, respiration, temperature): a sender of
/// these is a monitor or a gateway in front of monitors.
const VITAL_SIGN_CODES: [&str; 9] = [
    "8867-4", "59408-5", "2708-6", "8480-6", "8462-4", "8478-0", "9279-1", "8310-5", "20564-1",
];

impl Hl7Identity {
    fn add(&mut self, dir: Direction, field: &'static str, value: &str) {
        let v = &mut self.facts[dir.index()];
        if value.is_empty()
            || v.len() >= MAX_HL7_IDENTITY
            || v.iter().any(|(f, x)| *f == field && x == value)
        {
            return;
        }
        v.push((field, value.to_string()));
    }
}

fn subject(about: &About) -> Option<Subject> {
    match about {
        About::Mac(m) => Some(Subject::Mac(*m)),
        About::Ip(ip) => Some(Subject::Ip(*ip)),
        About::Sender(_) => None,
    }
}

impl EventSink for EventRows {
    fn identity(&mut self, fact: IdentityFact) {
        if !self.identify {
            return;
        }
        if let Some(s) = subject(&fact.about) {
            self.inventory
                .observe(fact.ts.0, s, fact.field, &fact.value);
        }
    }

    fn lease(&mut self, ts: capture::Timestamp, mac: [u8; 6], ip: std::net::IpAddr) {
        if self.identify {
            self.inventory.lease(ts.0, mac, ip);
        }
    }

    fn dhcpv6_lease(&mut self, ts: capture::Timestamp, mac: [u8; 6], ip: std::net::IpAddr) {
        if self.identify {
            self.inventory.duid_lease(ts.0, mac, ip);
        }
    }

    fn hl7(&mut self, flow: u64, record: Hl7Record<'_>, message: &hl7::Message<'_>) {
        if self.identify {
            self.hl7_identity(flow, &record, message);
        }
        match self.hl7_by_type.get_mut(&*record.summary.message_type) {
            Some(n) => *n += 1,
            None => {
                self.hl7_by_type
                    .insert(record.summary.message_type.to_string(), 1);
            }
        }
        if self.hl7.len() >= self.max_rows {
            // The counts stay exact; only the per-message rows stop, so memory stays bounded.
            self.hl7_omitted += 1;
            return;
        }
        self.hl7.push(report::hl7_out(
            flow,
            record,
            self.show_phi,
            &mut self.interner,
        ));
    }
}

impl EventRows {
    /// What an HL7 message says about its sender: kept per flow direction until the flow ends.
    fn hl7_identity(&mut self, flow: u64, record: &Hl7Record<'_>, message: &hl7::Message<'_>) {
        let m = &record.summary;
        let id = self.hl7_identity.entry(flow).or_default();
        id.add(
            record.dir,
            "hl7.sending_application",
            &m.sending_application,
        );
        id.add(record.dir, "hl7.sending_facility", &m.sending_facility);
        for d in &m.device_ids {
            let field = if d.source == "OBX-18" {
                "hl7.equipment_id"
            } else {
                "hl7.udi"
            };
            id.add(record.dir, field, &d.id);
        }
        let role = if m.message_type.starts_with("ACK") {
            "receiver"
        } else if m.message_type.starts_with("ADT") {
            "adt-sender"
        } else if m.message_type.starts_with("ORU") {
            if hl7::observations(message).any(|o| VITAL_SIGN_CODES.contains(&&*o.code())) {
                "vitals-sender"
            } else {
                "lab-sender"
            }
        } else {
            ""
        };
        id.add(record.dir, "hl7.role", role);
    }
}

/// Report rows and counters, filled flow by flow.
pub struct Collector {
    ports: Rc<PortMap>,
    show_phi: bool,
    pub events: Rc<RefCell<EventRows>>,
    pub flows: report::FlowRows,
    pub dicom: Vec<DicomOut>,
    uid_lists: report::UidLists,
    pub findings: report::Rows<FindingOut>,
    pub dicom_commands: BTreeMap<String, u64>,
    pub dicom_associations: BTreeMap<&'static str, u64>,
    pub counters: Counters,
    pub rules: inventory::Rules,
    /// With `--db`: the database thread, which sums and saves findings and sums flows while the
    /// analysis runs.
    pub db_tap: Option<crate::persist::Tap>,
}

/// Application-layer totals for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub encrypted_flows: u64,
    pub hl7_unparsed: u64,
    pub mllp_oversized: u64,
    pub mllp_cut_by_gap: u64,
    pub mllp_incomplete_at_close: u64,
    pub dicom_incomplete: u64,
    pub credentials: u64,
}

impl Collector {
    pub fn new(ports: PortMap, show_phi: bool, max_rows: usize) -> Collector {
        Collector {
            ports: Rc::new(ports),
            show_phi,
            events: Rc::new(RefCell::new(EventRows {
                show_phi,
                identify: true,
                max_rows,
                ..EventRows::default()
            })),
            flows: report::FlowRows::default(),
            dicom: Vec::new(),
            uid_lists: report::UidLists::default(),
            findings: report::Rows::default(),
            dicom_commands: BTreeMap::new(),
            dicom_associations: ["requested", "accepted", "rejected", "released", "aborted"]
                .into_iter()
                .map(|k| (k, 0))
                .collect(),
            counters: Counters::default(),
            rules: inventory::Rules::builtin(),
            db_tap: None,
        }
    }

    /// No device identification (`analyze --no-inventory`): evidence is not collected, so the
    /// report lists no devices.
    pub fn skip_inventory(&mut self) {
        self.events.borrow_mut().identify = false;
    }

    /// Evidence is applied to the inventory on a thread of its own (see [`Recorder::threaded`]): with
    /// two analysis threads, the parsing thread is the one the analysis waits for.
    pub fn identify_on_a_thread(&mut self) {
        let mut events = self.events.borrow_mut();
        if events.identify {
            events.inventory = Recorder::threaded();
        }
    }
}

impl FlowHandler for Collector {
    type Consumer = FlowSession;

    fn open(&mut self, info: &FlowInfo) -> FlowSession {
        let sink: SharedSink = self.events.clone();
        let mut session = FlowSession::new(
            Rc::clone(&self.ports),
            sink,
            info.id,
            info.protocol == 6,
            info.server.port,
        );
        session.set_endpoints(info.client.ip, info.server.ip);
        session.read_patient_values(self.show_phi);
        session
    }

    fn finish(&mut self, record: FlowRecord, session: FlowSession) {
        let results = &session.results;
        let c = &mut self.counters;
        c.encrypted_flows += u64::from(session.encrypted);
        c.hl7_unparsed += results.hl7_unparsed;
        c.mllp_oversized += results.mllp.oversized;
        c.mllp_cut_by_gap += results.mllp.cut_by_gap;
        c.mllp_incomplete_at_close += results.mllp.incomplete_at_close;
        c.credentials += results.credentials.len() as u64;
        for a in &results.dicom {
            let counts = &mut self.dicom_associations;
            *counts.entry("requested").or_default() += 1;
            if a.accepted {
                *counts.entry("accepted").or_default() += 1;
            }
            let status = a.status.as_str();
            if matches!(status, "rejected" | "released" | "aborted") {
                *counts.entry(status).or_default() += 1;
            }
            c.dicom_incomplete += u64::from(a.incomplete);
            for (name, n) in &a.command_counts {
                *self.dicom_commands.entry(name.clone()).or_default() += n;
            }
            self.dicom.push(report::dicom_out(
                record.id,
                a,
                self.show_phi,
                &mut self.uid_lists,
            ));
        }
        let view = FlowView {
            record: &record,
            app: session.app,
            encrypted: session.encrypted,
            results,
        };
        for f in detect::flow_findings(&view, self.show_phi) {
            self.findings.push(report::finding_out(f));
        }
        if self.events.borrow().identify {
            self.identity(&record, &session);
        }
        let flow = report::flow_out(&record, &session);
        if let Some(tap) = &mut self.db_tap {
            tap.flow_ended(&flow, &mut self.findings);
        }
        self.flows.insert(flow);
    }

    /// An ARP sender is on the captured segment, even one that opens no flow (a quiet pump answers
    /// ARP): its MAC, with the address it says it has as its own (a router's interface too; a probe,
    /// from 0.0.0.0, shows the MAC only).
    /// A claim carried in a frame from another MAC (a spoof, or a relay speaking for a host) is not
    /// taken at its word: the frame's MAC is seen, without the address.
    fn arp(&mut self, ts: Timestamp, arp: &ArpPacket) {
        let mut events = self.events.borrow_mut();
        if !events.identify {
            return;
        }
        match arp.link_src {
            Some(src) if src != arp.sender_mac => {
                let nobody = std::net::Ipv4Addr::UNSPECIFIED.into();
                events.inventory.saw(ts.0, nobody, Some(src));
            }
            _ => {
                let ip = arp.sender_ip.into();
                events.inventory.claim(ts.0, arp.sender_mac, ip);
            }
        }
    }

    /// IPv6 Neighbor Discovery, read as ARP is: the address a neighbour advertisement is for (with
    /// the override flag: not a proxy's answer), and the source of a solicitation or router message,
    /// is its sender's own, unless the message gives a MAC other than the frame's (then only that MAC
    /// is seen); duplicate address detection (from ::) claims nothing yet. A router advertisement,
    /// or an advertisement with the router flag, says its sender routes.
    fn neighbor(&mut self, ts: Timestamp, nd: &NdpPacket) {
        let mut events = self.events.borrow_mut();
        let Some(src) = nd.link_src.filter(|_| events.identify) else {
            return;
        };
        let inv = &mut events.inventory;
        let own = match nd.kind {
            NdpKind::NeighborAdvertisement => nd.target.filter(|_| nd.overrides),
            _ => Some(nd.src).filter(|a| !a.is_unspecified()),
        };
        match own {
            Some(ip) if nd.lladdr.is_none_or(|m| m == src) => inv.claim(ts.0, src, ip.into()),
            _ => inv.saw(ts.0, std::net::Ipv4Addr::UNSPECIFIED.into(), Some(src)),
        }
        if nd.kind == NdpKind::RouterAdvertisement || nd.router {
            inv.router(src);
        }
    }

    /// LLDP and CDP: what the sender says of itself (name, description or software version,
    /// platform, capabilities, LLDP-MED inventory), as evidence about the frame's source MAC; the
    /// chassis id is evidence too, and says which MACs are one device (a switch's ports each send from
    /// their own MAC: see [`inventory::Inventory::chassis`]), as the router capability says whose
    /// addresses the chassis carries are not its own.
    fn pdu(&mut self, ts: Timestamp, pdu: &LinkPdu<'_>) {
        use capture::decode::{ETHERTYPE_LLDP, PDU_CDP};
        let mut events = self.events.borrow_mut();
        let Some(src) = pdu.src.filter(|_| events.identify) else {
            return;
        };
        // The facts, and the chassis the frame's sender belongs to.
        let (facts, chassis_mac, device_id, routes, addresses) = match pdu.ether_type {
            ETHERTYPE_LLDP => {
                let Some(l) = protocols::lldp::parse(pdu.data) else {
                    return;
                };
                let routes = l.capabilities.contains(&"router");
                let facts = l.facts();
                (facts, l.chassis_mac, None, routes, l.management_addresses)
            }
            PDU_CDP => {
                let Some(c) = protocols::cdp::parse(pdu.data) else {
                    return;
                };
                let routes = c.capabilities.contains(&"router");
                let facts = c.facts();
                (facts, None, c.device_id, routes, c.addresses)
            }
            _ => return,
        };
        // Its management addresses are its own, as an ARP claim's.
        for ip in addresses {
            events.inventory.claim(ts.0, src, ip);
        }
        if routes {
            events.inventory.router(src);
        }
        if let Some(m) = chassis_mac {
            events.inventory.chassis(src, Chassis::Mac(m));
        }
        if let Some(name) = &device_id {
            events.inventory.chassis(src, Chassis::Name(name));
        }
        events
            .inventory
            .saw(ts.0, std::net::Ipv4Addr::UNSPECIFIED.into(), Some(src));
        for (field, value) in facts {
            events
                .inventory
                .observe(ts.0, Subject::Mac(src), field, &value);
        }
    }
}

impl Collector {
    /// Identity evidence from a finished flow: which MAC each address used, what its parsers learnt
    /// about each end, and the roles the flow shows.
    fn identity(&mut self, record: &FlowRecord, session: &FlowSession) {
        let ts = record.first_seen.0;
        let (client, server) = (record.client.ip, record.server.ip);
        let mut events = self.events.borrow_mut();
        let hl7 = events.hl7_identity.remove(&record.id);
        let inv = &mut events.inventory;
        // An end that never sent and shows no MAC of its own (a broadcast or unanswered address) is
        // not evidence of a device.
        for (d, ip) in [(Direction::ToServer, client), (Direction::ToClient, server)] {
            let mac = record.macs[d.index()];
            if record.packets[d.index()] > 0 || mac.is_some() {
                inv.saw(ts, ip, mac);
            }
        }
        let answered = record.packets[Direction::ToClient.index()] > 0;
        let service = match session.app {
            App::Dns if record.server.port == 53 && answered => Some("dns-server"),
            App::Dhcp if record.server.port == 67 && answered => Some("dhcp-server"),
            App::Ntp if answered => Some("ntp-server"),
            App::Tls if record.server.port == 443 && answered => Some("https-server"),
            // DICOM over TLS (2762, or a configured port): the server is a DICOM node, most often
            // an archive.
            App::Dicom if session.encrypted && answered => Some("dicom-tls-server"),
            _ => None,
        };
        if let Some(s) = service {
            inv.observe(ts, Subject::Ip(server), "service", s);
        }
        // DHCP servers answer to the broadcast address: the one end with port 67 and an address is it.
        if session.app == App::Dhcp && record.client.port == 67 && record.packets[0] > 0 {
            inv.observe(ts, Subject::Ip(client), "service", "dhcp-server");
        }
        let results = &session.results;
        if let Some(ua) = &results.http_user_agent {
            inv.observe(ts, Subject::Ip(client), "http.user_agent", ua);
        }
        if let Some(sv) = &results.http_server {
            inv.observe(ts, Subject::Ip(server), "http.server", sv);
        }
        for a in &results.dicom {
            let at = a.requested_at.0;
            inv.observe(at, Subject::Ip(client), "dicom.ae", &a.calling_ae);
            if let Some(u) = &a.implementation_class_uid {
                inv.observe(at, Subject::Ip(client), "dicom.implementation_class_uid", u);
            }
            if let Some(v) = &a.implementation_version {
                inv.observe(at, Subject::Ip(client), "dicom.implementation_version", v);
            }
            if !a.accepted {
                continue;
            }
            inv.observe(at, Subject::Ip(server), "dicom.ae", &a.called_ae);
            inv.observe(at, Subject::Ip(server), "dicom.role", "scp");
            if let Some(u) = &a.ac_implementation_class_uid {
                inv.observe(at, Subject::Ip(server), "dicom.implementation_class_uid", u);
            }
            if let Some(v) = &a.ac_implementation_version {
                inv.observe(at, Subject::Ip(server), "dicom.implementation_version", v);
            }
            if a.command_counts.contains_key("C-STORE-RQ") {
                inv.observe(at, Subject::Ip(client), "dicom.role", "store-scu");
                inv.observe(at, Subject::Ip(server), "dicom.role", "store-scp");
                for m in &a.modalities {
                    inv.observe(at, Subject::Ip(client), "dicom.modality", m);
                }
            }
            let worklist = a
                .proposed_contexts
                .iter()
                .any(|c| &*c.abstract_syntax == MODALITY_WORKLIST_FIND);
            if worklist && a.command_counts.contains_key("C-FIND-RQ") {
                inv.observe(at, Subject::Ip(client), "dicom.role", "worklist-scu");
                inv.observe(at, Subject::Ip(server), "dicom.role", "worklist-scp");
            }
        }
        for f in &results.identity {
            let subject = match f.about {
                About::Sender(Direction::ToServer) => Subject::Ip(client),
                About::Sender(Direction::ToClient) => Subject::Ip(server),
                About::Mac(m) => Subject::Mac(m),
                About::Ip(ip) => Subject::Ip(ip),
            };
            inv.observe(f.ts.0, subject, f.field, &f.value);
        }
        for (mac, ip) in &results.leases {
            inv.lease(ts, *mac, *ip);
        }
        for (mac, ip) in &results.dhcpv6_leases {
            inv.duid_lease(ts, *mac, *ip);
        }
        if let Some(h) = hl7 {
            for (dir, ip) in [(Direction::ToServer, client), (Direction::ToClient, server)] {
                for (field, value) in &h.facts[dir.index()] {
                    inv.observe(ts, Subject::Ip(ip), field, value);
                }
            }
        }
    }
}

const MODALITY_WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";

#[cfg(test)]
mod tests {
    use super::*;
    use capture::Timestamp;

    /// A flow direction's sender facts are its messages' applications, facilities, device
    /// identifiers and roles, each once, in the order first seen.
    #[test]
    fn sender_facts_are_each_messages_facts_once() {
        let oru = |app: &str, facility: &str, obx18: &str, code: &str| {
            format!(
                "MSH|^~\\&|{app}|{facility}|EHR|HOSP|20250101||ORU^R01|1|P|2.5\r\
                 OBX|1|NM|{code}^x^LN||78|/min||N|||F|||20250101||||{obx18}\r"
            )
        };
        let ack = |app: &str| format!("MSH|^~\\&|{app}|HOSP|MON|ICU|20250101||ACK^R01|2|P|2.5\r");
        let messages = [
            oru("PM8000", "ICU", "", "8867-4"),
            oru("PM8000", "ICU", "", "8867-4"),
            ack("ENGINE"),
            oru("PM8000", "ICU", "SN1", "8867-4"),
            oru("PM8000", "ICU", "", "8867-4"),
            oru("PM8000", "ICU", "", "2345-7"),
            oru("PM8000", "ICU", "", "8867-4"),
            oru("PM8000", "NICU", "", "8867-4"),
            oru("PM8000", "ICU", "SN2", "8867-4"),
            oru("PM8000", "ICU", "SN2", "8867-4"),
            ack("ENGINE"),
            oru(&"A".repeat(60), "ICU", "", "8867-4"),
            oru(&"A".repeat(60), "ICU", "", "8867-4"),
        ];
        let mut rows = EventRows {
            identify: true,
            max_rows: 100,
            ..EventRows::default()
        };
        let mut want: [Vec<(&'static str, String)>; 2] = Default::default();
        for (i, text) in messages.iter().enumerate() {
            let msg = hl7::parse(text.as_bytes()).unwrap();
            let summary = hl7::summarize_redacted(&msg);
            let dir = if text.contains("ACK") {
                Direction::ToClient
            } else {
                Direction::ToServer
            };
            // Every fact of the message, in order.
            let role = match &*summary.message_type {
                "ACK^R01" => "receiver",
                _ if text.contains("2345-7") => "lab-sender",
                _ => "vitals-sender",
            };
            let mut facts = vec![
                (
                    "hl7.sending_application",
                    summary.sending_application.to_string(),
                ),
                ("hl7.sending_facility", summary.sending_facility.to_string()),
            ];
            facts.extend(
                summary
                    .device_ids
                    .iter()
                    .map(|d| ("hl7.equipment_id", d.id.to_string())),
            );
            facts.push(("hl7.role", role.to_string()));
            for (field, value) in facts {
                let v = &mut want[dir.index()];
                if !value.is_empty() && !v.iter().any(|(f, x)| *f == field && *x == value) {
                    v.push((field, value));
                }
            }
            let record = Hl7Record {
                ts: Timestamp(i as i64),
                dir,
                summary,
            };
            rows.hl7(7, record, &msg);
        }
        assert_eq!(rows.hl7_identity[&7].facts, want);
        assert!(want[0].iter().any(|(_, v)| v == "SN2"));
        assert!(want[0].iter().any(|(_, v)| v == "lab-sender"));
    }
}
