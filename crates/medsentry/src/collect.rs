//! The flow handler of `analyze`: gives every flow a protocol session, and when a flow ends turns what
//! its parsers found into report rows, so parser state is freed as the capture goes.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use capture::{FlowHandler, FlowInfo, FlowRecord};
use detect::FlowView;
use protocols::detect::PortMap;
use protocols::session::{EventSink, FlowSession, Hl7Record, SharedSink};

use crate::report::{self, DicomOut, FindingOut, FlowOut, Hl7Out};

/// Rows of events that arrive while flows are still open (HL7 messages, as they are parsed).
#[derive(Default)]
pub struct EventRows {
    show_phi: bool,
    max_rows: usize,
    /// Messages counted but not listed because `hl7_messages[]` reached `--max-rows`.
    pub hl7_omitted: u64,
    interner: report::Interner,
    pub hl7: Vec<Hl7Out>,
    pub hl7_by_type: BTreeMap<String, u64>,
}

impl EventSink for EventRows {
    fn hl7(&mut self, flow: u64, record: Hl7Record) {
        match self.hl7_by_type.get_mut(&record.summary.message_type) {
            Some(n) => *n += 1,
            None => {
                self.hl7_by_type
                    .insert(record.summary.message_type.clone(), 1);
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

/// Report rows and counters, filled flow by flow.
pub struct Collector {
    ports: Rc<PortMap>,
    show_phi: bool,
    pub events: Rc<RefCell<EventRows>>,
    pub flows: Vec<FlowOut>,
    pub dicom: Vec<DicomOut>,
    pub findings: Vec<FindingOut>,
    pub dicom_commands: BTreeMap<String, u64>,
    pub dicom_associations: BTreeMap<&'static str, u64>,
    pub counters: Counters,
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
                max_rows,
                ..EventRows::default()
            })),
            flows: Vec::new(),
            dicom: Vec::new(),
            findings: Vec::new(),
            dicom_commands: BTreeMap::new(),
            dicom_associations: ["requested", "accepted", "rejected", "released", "aborted"]
                .into_iter()
                .map(|k| (k, 0))
                .collect(),
            counters: Counters::default(),
        }
    }
}

impl FlowHandler for Collector {
    type Consumer = FlowSession;

    fn open(&mut self, info: &FlowInfo) -> FlowSession {
        let sink: SharedSink = self.events.clone();
        FlowSession::new(
            Rc::clone(&self.ports),
            sink,
            info.id,
            info.protocol == 6,
            info.server.port,
        )
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
            self.dicom
                .push(report::dicom_out(record.id, a, self.show_phi));
        }
        let view = FlowView {
            record: &record,
            app: session.app,
            encrypted: session.encrypted,
            results,
        };
        for f in detect::flow_findings(&view, self.show_phi) {
            self.findings.push(report::finding_out(&f));
        }
        self.flows.push(report::flow_out(&record, &session));
    }
}
