//! One flow's application layer: decides the protocol from the first bytes (and the port), then routes
//! the reassembled stream to its parser and keeps what the parser found until the flow ends.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use capture::{Direction, EndReason, StreamConsumer, Timestamp};

use crate::cleartext::{Credential, FtpLogin, HttpExchange, LoginOutcome, TelnetLogin};
use crate::detect::{self, App, PortMap};
use crate::dicom::{Association, DicomConnection};
use crate::hl7::{self, Frame, Hl7Summary, MllpDeframer, MllpStats};

/// One HL7 message as seen on a flow.
#[derive(Debug, Clone)]
pub struct Hl7Record {
    pub ts: Timestamp,
    pub dir: Direction,
    pub summary: Hl7Summary,
}

/// How the protocol of a flow was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppSource {
    /// From the first bytes of the stream.
    Content,
    /// From the server port alone.
    Port,
    /// Nothing said anything (or no payload at all).
    None,
}

impl AppSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AppSource::Content => "content",
            AppSource::Port => "port",
            AppSource::None => "none",
        }
    }
}

/// Receives HL7 messages as they are parsed, so that a long-lived interface connection never holds
/// its messages in memory: the flow keeps only the aggregates in [`FlowResults`].
pub trait EventSink {
    fn hl7(&mut self, flow: u64, record: Hl7Record);
}

/// A sink shared by every session of a flow table (single-threaded).
pub type SharedSink = Rc<RefCell<dyn EventSink>>;

/// Patient ids kept per flow for `--show-phi` (values are only printed when asked for).
const MAX_PATIENT_IDS: usize = 50;

/// Per-flow totals of the HL7 messages seen.
#[derive(Debug, Default)]
pub struct Hl7Totals {
    pub messages: u64,
    pub by_type: BTreeMap<String, u64>,
    /// Messages that carried at least one PHI-bearing field.
    pub with_phi: u64,
    pub with_phi_by_type: BTreeMap<String, u64>,
    /// PHI-bearing fields seen, with how many messages carried each.
    pub phi_fields: BTreeMap<&'static str, u64>,
    pub patient_ids: Vec<String>,
}

/// What a flow's application layer amounted to.
#[derive(Debug, Default)]
pub struct FlowResults {
    pub hl7: Hl7Totals,
    /// MLLP frames that were not HL7 (no `MSH` segment), and deframer counters.
    pub hl7_unparsed: u64,
    pub mllp: MllpStats,
    pub dicom: Vec<Association>,
    pub credentials: Vec<Credential>,
    pub http_requests: u64,
    pub http_server: Option<String>,
    pub http_user_agent: Option<String>,
}

enum Parser {
    /// No payload yet.
    Undecided,
    Hl7(Box<[MllpDeframer; 2]>),
    Dicom(Box<DicomConnection>),
    Http(Box<HttpExchange>),
    Telnet(Box<TelnetLogin>),
    Ftp(Box<FtpLogin>),
    /// Encrypted, or a protocol we do not parse: bytes are only counted by the flow table.
    Opaque,
}

fn add(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

/// The stream consumer for one flow.
pub struct FlowSession {
    ports: Rc<PortMap>,
    flow: u64,
    sink: SharedSink,
    tcp: bool,
    server_port: u16,
    pub app: App,
    pub app_source: AppSource,
    pub encrypted: bool,
    parser: Parser,
    pub results: FlowResults,
}

impl FlowSession {
    pub fn new(
        ports: Rc<PortMap>,
        sink: SharedSink,
        flow: u64,
        tcp: bool,
        server_port: u16,
    ) -> FlowSession {
        let app = if tcp {
            ports.tcp(server_port)
        } else {
            ports.udp(server_port)
        };
        FlowSession {
            ports,
            flow,
            sink,
            tcp,
            server_port,
            app,
            app_source: if app == App::Unknown {
                AppSource::None
            } else {
                AppSource::Port
            },
            encrypted: false,
            parser: Parser::Undecided,
            results: FlowResults::default(),
        }
    }

    /// Picks the parser from the first payload of the flow.
    fn decide(&mut self, dir: Direction, first: &[u8]) {
        let by_port = self.ports.tcp(self.server_port);
        let app = match detect::by_content(first, dir == Direction::ToServer) {
            Some(app) => {
                self.app_source = AppSource::Content;
                app
            }
            None => by_port,
        };
        self.app = app;
        self.parser = match app {
            App::Hl7 => Parser::Hl7(Box::new([
                MllpDeframer::new(hl7::DEFAULT_MAX_FRAME),
                MllpDeframer::new(hl7::DEFAULT_MAX_FRAME),
            ])),
            App::Dicom => Parser::Dicom(Box::default()),
            App::Http => Parser::Http(Box::default()),
            App::Telnet => Parser::Telnet(Box::default()),
            App::Ftp => Parser::Ftp(Box::default()),
            App::Tls => {
                self.encrypted = true;
                // TLS on a clinical port protects that protocol: say which.
                if let Some(inside) = self.ports.inside_tls(self.server_port) {
                    self.app = inside;
                }
                Parser::Opaque
            }
            _ => Parser::Opaque,
        };
    }

    fn hl7_frames(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        let Parser::Hl7(deframers) = &mut self.parser else {
            return;
        };
        let (results, sink, flow) = (&mut self.results, &self.sink, self.flow);
        deframers[dir.index()].push(bytes, &mut |frame| match frame {
            Frame::Message(body) => match hl7::parse(body) {
                Ok(msg) => {
                    let summary = hl7::summarize(&msg);
                    let totals = &mut results.hl7;
                    totals.messages += 1;
                    add(&mut totals.by_type, &summary.message_type);
                    if !summary.phi_fields.is_empty() {
                        totals.with_phi += 1;
                        add(&mut totals.with_phi_by_type, &summary.message_type);
                        for f in &summary.phi_fields {
                            *totals.phi_fields.entry(f).or_default() += 1;
                        }
                        if let Some(id) = &summary.patient.id
                            && totals.patient_ids.len() < MAX_PATIENT_IDS
                            && !totals.patient_ids.contains(id)
                        {
                            totals.patient_ids.push(id.clone());
                        }
                    }
                    sink.borrow_mut().hl7(flow, Hl7Record { ts, dir, summary });
                }
                Err(_) => results.hl7_unparsed += 1,
            },
            Frame::Oversized { .. } => {}
        });
    }

    /// Moves what the parsers hold into `results` (at the end of the flow).
    fn collect(&mut self) {
        match &mut self.parser {
            Parser::Hl7(d) => {
                let (a, b) = (d[0].stats(), d[1].stats());
                self.results.mllp = MllpStats {
                    frames: a.frames + b.frames,
                    oversized: a.oversized + b.oversized,
                    garbage_bytes: a.garbage_bytes + b.garbage_bytes,
                    cut_by_gap: a.cut_by_gap + b.cut_by_gap,
                    incomplete_at_close: a.incomplete_at_close + b.incomplete_at_close,
                    abandoned: a.abandoned + b.abandoned,
                };
            }
            Parser::Dicom(d) => {
                self.results.dicom = d.take_associations();
                for a in &self.results.dicom {
                    if let Some(id) = &a.user_identity
                        && let Some(user) = &id.username
                    {
                        self.results.credentials.push(Credential {
                            protocol: "dicom",
                            username: user.clone(),
                            password_seen: id.has_password,
                            outcome: if a.accepted {
                                LoginOutcome::Accepted
                            } else {
                                LoginOutcome::Rejected
                            },
                            ts: a.requested_at,
                        });
                    }
                }
            }
            Parser::Http(h) => {
                self.results.credentials.append(&mut h.credentials);
                self.results.http_requests = h.requests;
                self.results.http_server = h.server.take();
                self.results.http_user_agent = h.user_agent.take();
            }
            Parser::Telnet(t) => self.results.credentials.append(&mut t.credentials),
            Parser::Ftp(f) => {
                self.encrypted |= f.tls_upgraded;
                self.results.credentials.append(&mut f.credentials);
            }
            Parser::Undecided | Parser::Opaque => {}
        }
    }
}

impl StreamConsumer for FlowSession {
    fn data(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        if matches!(self.parser, Parser::Undecided) {
            self.decide(dir, bytes);
        }
        match &mut self.parser {
            Parser::Hl7(_) => self.hl7_frames(dir, ts, bytes),
            Parser::Dicom(d) => d.data(dir, ts, bytes),
            Parser::Http(h) => h.data(dir, ts, bytes),
            Parser::Telnet(t) => t.data(dir, ts, bytes),
            Parser::Ftp(f) => f.data(dir, ts, bytes),
            Parser::Undecided | Parser::Opaque => {}
        }
    }

    fn gap(&mut self, dir: Direction, ts: Timestamp, len: u64) {
        match &mut self.parser {
            Parser::Hl7(d) => d[dir.index()].gap(len),
            Parser::Dicom(d) => d.gap(dir, ts, len),
            Parser::Http(h) => h.gap(dir),
            Parser::Telnet(t) => t.gap(dir),
            Parser::Ftp(f) => f.gap(dir),
            Parser::Undecided | Parser::Opaque => {}
        }
    }

    fn datagram(&mut self, _dir: Direction, _ts: Timestamp, _bytes: &[u8]) {
        // UDP protocols (DNS, DHCP, NTP) are named by port here; their parsers come with the inventory.
        debug_assert!(!self.tcp);
    }

    fn close(&mut self, ts: Timestamp, _reason: EndReason) {
        match &mut self.parser {
            Parser::Hl7(d) => {
                d[0].close();
                d[1].close();
            }
            Parser::Dicom(d) => d.close(ts),
            Parser::Telnet(t) => t.close(),
            Parser::Ftp(f) => f.close(),
            _ => {}
        }
        self.collect();
    }
}
