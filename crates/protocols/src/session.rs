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
    /// Identity evidence from datagrams (DHCP, DNS, mDNS), as it is parsed: a broadcast flow carries
    /// the DHCP of every device on the segment, too much to hold per flow.
    fn identity(&mut self, fact: IdentityFact) {
        let _ = fact;
    }
    /// A DHCP server acknowledged `ip` for `mac`.
    fn lease(&mut self, ts: Timestamp, mac: [u8; 6], ip: std::net::IpAddr) {
        let _ = (ts, mac, ip);
    }
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
    /// What the flow said about who its ends are (DHCP, DNS, mDNS, TLS hellos), bounded.
    pub identity: Vec<IdentityFact>,
    /// DHCP leases acknowledged in this flow: (client MAC, address given).
    pub leases: Vec<([u8; 6], std::net::IpAddr)>,
}

/// Whom an identity fact is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// The sender of the packet that carried it.
    Sender(Direction),
    /// A MAC named inside the payload (DHCP `chaddr`).
    Mac([u8; 6]),
    /// An address named inside the payload (a DNS answer).
    Ip(std::net::IpAddr),
}

/// One piece of identity evidence: `field` names its kind (`dhcp.hostname`, `tls.sni`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFact {
    pub ts: Timestamp,
    pub about: About,
    pub field: &'static str,
    pub value: String,
}

/// Longest SSH identification line read (RFC 4253 allows 255 bytes).
const SSH_LINE: usize = 255;

/// Identity facts kept per flow (a long DNS or mDNS conversation repeats itself).
const MAX_IDENTITY_FACTS: usize = 64;

impl FlowResults {
    fn fact(&mut self, ts: Timestamp, about: About, field: &'static str, value: &str) {
        let value = value.trim();
        if value.is_empty()
            || self.identity.len() >= MAX_IDENTITY_FACTS
            || self
                .identity
                .iter()
                .any(|f| f.field == field && f.about == about && f.value == value)
        {
            return;
        }
        self.identity.push(IdentityFact {
            ts,
            about,
            field,
            value: value.to_string(),
        });
    }

    fn dhcp(&mut self, ts: Timestamp, m: &crate::dhcp::DhcpMessage) {
        let Some(mac) = m.client_mac else { return };
        if m.op == 1 {
            let about = About::Mac(mac);
            if let Some(h) = &m.hostname {
                self.fact(ts, about.clone(), "dhcp.hostname", h);
            }
            if let Some(v) = &m.vendor_class {
                self.fact(ts, about.clone(), "dhcp.vendor_class", v);
            }
            if !m.param_list.is_empty() {
                self.fact(ts, about.clone(), "dhcp.params", &m.fingerprint());
            }
            if let Some(r) = m.requested_ip {
                self.fact(
                    ts,
                    about,
                    "dhcp.requested_ip",
                    &std::net::Ipv4Addr::from(r).to_string(),
                );
            }
        } else if m.message_type == Some(crate::dhcp::message_type::ACK)
            && m.yiaddr != [0; 4]
            && self.leases.len() < MAX_IDENTITY_FACTS
        {
            self.leases.push((mac, std::net::IpAddr::from(m.yiaddr)));
        }
    }

    fn dns(&mut self, ts: Timestamp, dir: Direction, m: &crate::dns::DnsMessage, mdns: bool) {
        use crate::dns::RData;
        if !m.response {
            for (name, _) in m.questions.iter().take(4) {
                self.fact(ts, About::Sender(dir), "dns.query", name);
            }
            return;
        }
        for r in m.answers.iter().take(16) {
            let addr = match r.data {
                RData::A(a) => std::net::IpAddr::from(a),
                RData::Aaaa(a) => std::net::IpAddr::from(a),
                _ => continue,
            };
            let name = r.name.trim_end_matches('.');
            self.fact(
                ts,
                About::Ip(addr),
                if mdns { "mdns.host" } else { "dns.name" },
                name,
            );
        }
        if mdns {
            for svc in crate::dns::services(m).iter().take(8) {
                self.fact(ts, About::Sender(dir), "mdns.service", &svc.service_type);
                if !svc.instance.is_empty() {
                    self.fact(ts, About::Sender(dir), "mdns.instance", &svc.instance);
                }
                for (k, v) in svc.txt.iter().take(8) {
                    let field = match k.to_ascii_lowercase().as_str() {
                        "model" | "md" | "ty" | "product" => "mdns.txt.model",
                        "manufacturer" | "vendor" | "usb_mfg" => "mdns.txt.vendor",
                        "version" | "fw" | "firmware" | "osxvers" => "mdns.txt.version",
                        _ => continue,
                    };
                    self.fact(ts, About::Sender(dir), field, v);
                }
            }
        }
    }
}

enum Parser {
    /// No payload yet.
    Undecided,
    Hl7(Box<[MllpDeframer; 2]>),
    Dicom(Box<DicomConnection>),
    Http(Box<HttpExchange>),
    Telnet(Box<TelnetLogin>),
    Ftp(Box<FtpLogin>),
    /// SSH: each side's identification line (`SSH-2.0-OpenSSH_8.4p1 Debian-5`) is read, the rest is
    /// encrypted.
    Ssh(Box<[Vec<u8>; 2]>),
    /// TLS: the hellos (and a TLS 1.2 server certificate) are read for identity, the rest is opaque.
    Tls(Box<[crate::tls_hello::HelloReader; 2]>),
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
    /// Time of the first payload (TLS hellos are dated by it).
    first_ts: Timestamp,
    /// Client and server addresses, to say whom datagram evidence is about.
    ends: Option<[std::net::IpAddr; 2]>,
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
            first_ts: Timestamp(0),
            ends: None,
        }
    }

    /// The flow's client and server addresses (datagram evidence is then streamed to the sink with
    /// the address it is about, instead of being held by the flow).
    pub fn set_endpoints(&mut self, client: std::net::IpAddr, server: std::net::IpAddr) {
        self.ends = Some([client, server]);
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
            App::Ssh => {
                self.encrypted = true;
                Parser::Ssh(Box::default())
            }
            App::Tls => {
                self.encrypted = true;
                // TLS on a clinical port protects that protocol: say which.
                if let Some(inside) = self.ports.inside_tls(self.server_port) {
                    self.app = inside;
                }
                Parser::Tls(Box::new([
                    crate::tls_hello::HelloReader::new(true),
                    crate::tls_hello::HelloReader::new(false),
                ]))
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
                let ts = self.first_ts;
                if let Some(host) = h.host.take() {
                    self.results
                        .fact(ts, About::Sender(Direction::ToClient), "http.host", &host);
                }
                if let Some(title) = h.title.take() {
                    self.results
                        .fact(ts, About::Sender(Direction::ToClient), "http.title", &title);
                }
            }
            Parser::Tls(readers) => {
                let ts = self.first_ts;
                if let Some(h) = readers[0].client_hello() {
                    let about = About::Sender(Direction::ToServer);
                    if let Some(sni) = &h.sni {
                        self.results.fact(ts, about.clone(), "tls.sni", sni);
                    }
                    self.results.fact(ts, about.clone(), "tls.ja3", &h.ja3());
                    self.results.fact(ts, about, "tls.ja4", &h.ja4());
                }
                if let Some(h) = readers[1].server_hello() {
                    let about = About::Sender(Direction::ToClient);
                    if let Some(subject) = &h.certificate_subject {
                        self.results
                            .fact(ts, about.clone(), "tls.cert_subject", subject);
                    }
                    if let Some(issuer) = &h.certificate_issuer {
                        self.results.fact(ts, about, "tls.cert_issuer", issuer);
                    }
                }
            }
            Parser::Ssh(lines) => {
                let ts = self.first_ts;
                for (d, line) in [Direction::ToServer, Direction::ToClient]
                    .into_iter()
                    .zip(lines.iter())
                {
                    let end = line.iter().position(|&c| c == b'\n').unwrap_or(line.len());
                    let text = String::from_utf8_lossy(&line[..end]);
                    let text = text.trim_end_matches('\r');
                    if text.starts_with("SSH-") {
                        self.results.fact(ts, About::Sender(d), "banner.ssh", text);
                    }
                }
            }
            Parser::Telnet(t) => self.results.credentials.append(&mut t.credentials),
            Parser::Ftp(f) => {
                self.encrypted |= f.tls_upgraded;
                self.results.credentials.append(&mut f.credentials);
                if let Some(b) = f.banner.take() {
                    let ts = self.first_ts;
                    self.results
                        .fact(ts, About::Sender(Direction::ToClient), "banner.ftp", &b);
                }
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
            Parser::Http(h) => {
                if self.first_ts.0 == 0 {
                    self.first_ts = ts;
                }
                h.data(dir, ts, bytes)
            }
            Parser::Telnet(t) => t.data(dir, ts, bytes),
            Parser::Ftp(f) => {
                if self.first_ts.0 == 0 {
                    self.first_ts = ts;
                }
                f.data(dir, ts, bytes)
            }
            Parser::Ssh(lines) => {
                if self.first_ts.0 == 0 {
                    self.first_ts = ts;
                }
                let line = &mut lines[dir.index()];
                // Only the identification line: up to its LF, at most 255 bytes (RFC 4253 4.2).
                if !line.contains(&b'\n') && line.len() < SSH_LINE {
                    let room = SSH_LINE - line.len();
                    line.extend_from_slice(&bytes[..bytes.len().min(room)]);
                }
            }
            Parser::Tls(readers) => {
                let r = &mut readers[dir.index()];
                if !r.done() {
                    if self.first_ts.0 == 0 {
                        self.first_ts = ts;
                    }
                    r.feed(bytes);
                }
            }
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
            Parser::Tls(readers) => readers[dir.index()].gap(),
            // The identification line is the first thing each side sends: after a gap, no more.
            Parser::Ssh(lines) => {
                let line = &mut lines[dir.index()];
                if !line.contains(&b'\n') {
                    line.clear();
                    line.push(b'\n');
                }
            }
            Parser::Undecided | Parser::Opaque => {}
        }
    }

    fn datagram(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        debug_assert!(!self.tcp);
        // Identity evidence only: held by the flow only when nobody said who its ends are.
        if self.ends.is_none() && self.results.identity.len() >= MAX_IDENTITY_FACTS {
            return;
        }
        match self.app {
            App::Dhcp => {
                if let Some(m) = crate::dhcp::parse_dhcp(bytes) {
                    self.results.dhcp(ts, &m);
                }
            }
            App::Dns | App::Mdns => {
                if let Some(m) = crate::dns::parse_dns(bytes) {
                    self.results.dns(ts, dir, &m, self.app == App::Mdns);
                }
            }
            _ => {}
        }
        if let Some(ends) = self.ends {
            let mut sink = self.sink.borrow_mut();
            for mut f in self.results.identity.drain(..) {
                if let About::Sender(d) = f.about {
                    f.about = About::Ip(ends[d.index()]);
                }
                sink.identity(f);
            }
            for (mac, ip) in self.results.leases.drain(..) {
                sink.lease(ts, mac, ip);
            }
        }
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
