//! One flow's application layer: decides the protocol from the first bytes (and the port), then routes
//! the reassembled stream to its parser and keeps what the parser found until the flow ends.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use capture::{Direction, EndReason, StreamConsumer, Timestamp};

use crate::cleartext::{Credential, FtpLogin, HttpExchange, LoginOutcome, TelnetLogin};
use crate::detect::{self, App, PortMap};
use crate::dicom::{Association, DicomConnection};
use crate::enip::{self, Encapsulation, EnipError};
use crate::hl7::{self, Frame, Hl7Summary, MllpDeframer, MllpStats};

/// One HL7 message as seen on a flow.
#[derive(Debug, Clone)]
pub struct Hl7Record<'a> {
    pub ts: Timestamp,
    pub dir: Direction,
    /// Borrows from the message: a sink that keeps it copies what it needs.
    pub summary: Hl7Summary<'a>,
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
    /// One HL7 message: its summary, and the parsed message itself for a sink that needs more of it
    /// (the OBX observations, through [`hl7::observations`]) than the summary holds.
    fn hl7(&mut self, flow: u64, record: Hl7Record<'_>, message: &hl7::Message<'_>);
    /// Identity evidence from datagrams (DHCP, DHCPv6, DNS, mDNS, SNMP, EtherNet/IP), as it is parsed: a broadcast flow carries
    /// the DHCP of every device on the segment, too much to hold per flow.
    fn identity(&mut self, fact: IdentityFact) {
        let _ = fact;
    }
    /// A DHCP server acknowledged `ip` for `mac`.
    fn lease(&mut self, ts: Timestamp, mac: [u8; 6], ip: std::net::IpAddr) {
        let _ = (ts, mac, ip);
    }
    /// A DHCPv6 server gave `ip` to the client whose DUID embeds `mac`. Weaker than [`Self::lease`]:
    /// a DUID-LLT keeps the MAC it was made from, which may be another interface of the device.
    fn dhcpv6_lease(&mut self, ts: Timestamp, mac: [u8; 6], ip: std::net::IpAddr) {
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
    /// Messages that carried at least one PHI-bearing field.
    pub with_phi: u64,
    pub with_phi_by_type: BTreeMap<String, u64>,
    /// PHI-bearing fields seen, with how many messages carried each.
    pub phi_fields: hl7::PhiCounts,
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
    /// What the flow said about who its ends are (DHCP, DHCPv6, DNS, mDNS, TLS hellos, banners,
    /// SNMP system groups, EtherNet/IP identities), bounded.
    pub identity: Vec<IdentityFact>,
    /// DHCP leases acknowledged in this flow: (client MAC, address given).
    pub leases: Vec<([u8; 6], std::net::IpAddr)>,
    /// DHCPv6 addresses a server gave in this flow: (MAC in the client's DUID, address given).
    pub dhcpv6_leases: Vec<([u8; 6], std::net::IpAddr)>,
    /// SNMP seen on the flow (`None` on every other flow, so that they carry no SNMP state).
    pub snmp: Option<Box<SnmpTotals>>,
    /// On an SMB flow, the SMB each side spoke first: client, server.
    pub smb: Option<[Option<crate::smb::Version>; 2]>,
}

/// What SNMP a flow carried: enough for the detect crate to flag cleartext communities. A community is
/// a shared password, so only its length is kept, never its value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SnmpTotals {
    /// v1 and v2c messages: each carries its community in cleartext.
    pub v1: u64,
    pub v2c: u64,
    /// v3 messages (user-based security; not read further).
    pub v3: u64,
    /// Datagrams on the flow that did not read as SNMP.
    pub unparsed: u64,
    /// The distinct lengths in bytes of the communities seen, in order, at most
    /// [`MAX_COMMUNITY_LENGTHS`].
    pub community_lengths: Vec<usize>,
    /// SetRequests: the community they carry grants write access to the agent.
    pub set_requests: u64,
}

/// Community lengths kept per flow (a manager walking with a guessed list would send many).
pub const MAX_COMMUNITY_LENGTHS: usize = 8;

/// Whom an identity fact is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// The sender of the packet that carried it.
    Sender(Direction),
    /// A MAC named inside the payload (DHCP `chaddr`, the DUID of a relayed DHCPv6 client).
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

/// Longest EtherNet/IP message buffered when it spans segments: a ListIdentity reply with a full
/// product name is about 320 bytes. Longer messages (explicit messaging) are passed over unread.
const ENIP_MAX_BUFFERED: usize = 2048;

/// Values of a DHCPv6 vendor class kept as evidence (Windows sends one, `MSFT 5.0`).
const MAX_VENDOR_CLASS_VALUES: usize = 4;

/// Text a device says about itself, as one line: control characters (the line breaks of a
/// sysDescr, a terminal escape) become spaces and runs of white space one space.
fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Cow::Owned(out)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

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

    /// A client's TLS hello (over TCP, or inside QUIC with its own JA4) as evidence about it.
    fn client_hello(&mut self, ts: Timestamp, h: &crate::tls_hello::ClientHello, ja4: &str) {
        let about = About::Sender(Direction::ToServer);
        if let Some(sni) = &h.sni {
            self.fact(ts, about.clone(), "tls.sni", sni);
        }
        self.fact(ts, about.clone(), "tls.ja3", &h.ja3());
        self.fact(ts, about.clone(), "tls.ja4", ja4);
        let offered = crate::tls_hello::version_name(h.max_version());
        self.fact(ts, about.clone(), "tls.client_version", &offered);
        self.fact(ts, about, "tls.alpn", &h.alpn.join(","));
    }

    /// A server's TLS hello (over TCP or inside QUIC), and a TLS 1.2 certificate's names.
    fn server_hello(&mut self, ts: Timestamp, h: &crate::tls_hello::ServerHello) {
        let about = About::Sender(Direction::ToClient);
        let chosen = crate::tls_hello::version_name(h.version);
        self.fact(ts, about.clone(), "tls.server_version", &chosen);
        if let Some(subject) = &h.certificate_subject {
            self.fact(ts, about.clone(), "tls.cert_subject", subject);
        }
        if let Some(issuer) = &h.certificate_issuer {
            self.fact(ts, about, "tls.cert_issuer", issuer);
        }
    }

    /// An NTLMSSP message as evidence about its sender: its OS version, and the names a server's
    /// challenge or a client's authentication gives.
    fn ntlm(&mut self, ts: Timestamp, dir: Direction, m: &crate::ntlm::Message) {
        for (field, value) in m.facts() {
            self.fact(ts, About::Sender(dir), field, &value);
        }
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
            if let Some(f) = &m.fqdn {
                self.fact(ts, about.clone(), "dhcp.fqdn", f);
            }
            if let Some(id) = m.client_id_text() {
                self.fact(ts, about.clone(), "dhcp.client_id", &id);
            }
            for (field, value) in m.relay_location() {
                self.fact(ts, about.clone(), field, &value);
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

    /// A DHCPv6 message: what a client says about itself, the addresses a server gives it, and that
    /// the sender of an Advertise or Reply is a DHCP server.
    fn dhcpv6(&mut self, ts: Timestamp, dir: Direction, m: &crate::dhcp::Dhcpv6Message) {
        use crate::dhcp::v6_message_type::{ADVERTISE, REPLY};
        let duid_mac = m.client_mac();
        if m.from_client() {
            // Sent straight from the client, the sender is the device (its DUID may name another of
            // its interfaces); through relays only the DUID names it.
            let about = match (m.relay_hops, duid_mac) {
                (0, _) => About::Sender(dir),
                (_, Some(mac)) => About::Mac(mac),
                (_, None) => return,
            };
            if let Some(name) = &m.fqdn {
                self.fact(ts, about.clone(), "dhcp6.fqdn", &one_line(name));
            }
            if let Some((enterprise, data)) = &m.vendor_class {
                self.fact(
                    ts,
                    about.clone(),
                    "dhcp6.vendor_enterprise",
                    &enterprise.to_string(),
                );
                for v in data.iter().take(MAX_VENDOR_CLASS_VALUES) {
                    self.fact(ts, about.clone(), "dhcp6.vendor_class", &one_line(v));
                }
            }
            if !m.oro.is_empty() {
                self.fact(ts, about.clone(), "dhcp6.params", &m.fingerprint());
            }
            for (field, value) in m.relay_location() {
                self.fact(ts, about.clone(), field, &value);
            }
            if let Some(duid) = &m.client_duid {
                self.fact(ts, about, "dhcp6.duid", &hex(duid));
            }
            return;
        }
        if m.msg_type == REPLY
            && let Some(mac) = duid_mac
        {
            for ip in &m.ia_addresses {
                if self.dhcpv6_leases.len() < MAX_IDENTITY_FACTS {
                    self.dhcpv6_leases.push((mac, std::net::IpAddr::V6(*ip)));
                }
            }
        }
        // A relayed answer reaches the client from the relay, which is not a server.
        if matches!(m.msg_type, ADVERTISE | REPLY) && m.relay_hops == 0 && m.server_duid.is_some() {
            self.fact(ts, About::Sender(dir), "service", "dhcp-server");
        }
    }

    /// One SNMP datagram: counted for the findings (the community by its length only), and an
    /// agent's system group as evidence about the agent.
    fn snmp(&mut self, ts: Timestamp, dir: Direction, payload: &[u8]) {
        use crate::snmp::{PduType, Version};
        let totals = self.snmp.get_or_insert_with(Box::default);
        let Ok(m) = crate::snmp::parse_snmp(payload) else {
            totals.unparsed += 1;
            return;
        };
        match m.version {
            Version::V1 => totals.v1 += 1,
            Version::V2c => totals.v2c += 1,
            Version::V3 => totals.v3 += 1,
        }
        if let Some(c) = m.community
            && !totals.community_lengths.contains(&c.len())
            && totals.community_lengths.len() < MAX_COMMUNITY_LENGTHS
        {
            totals.community_lengths.push(c.len());
        }
        if m.pdu
            .as_ref()
            .is_some_and(|p| p.pdu_type == PduType::SET_REQUEST)
        {
            totals.set_requests += 1;
        }
        let info = crate::snmp::system_info(&m);
        let about = About::Sender(dir);
        for (field, value) in [
            ("snmp.sys_descr", &info.sys_descr),
            ("snmp.sys_object_id", &info.sys_object_id),
            ("snmp.sys_name", &info.sys_name),
            ("snmp.sys_location", &info.sys_location),
            ("snmp.sys_contact", &info.sys_contact),
        ] {
            if let Some(v) = value {
                self.fact(ts, about.clone(), field, &one_line(v));
            }
        }
    }

    /// An EtherNet/IP message: a ListIdentity reply says who its sender is.
    fn enip(&mut self, ts: Timestamp, dir: Direction, msg: &Encapsulation<'_>) {
        let Some(id) = enip::list_identity(msg) else {
            return;
        };
        let about = About::Sender(dir);
        // Only a vendor the table names is a vendor; an unknown one stays a number.
        if let Some(vendor) = enip::vendor_name(id.vendor_id) {
            self.fact(ts, about.clone(), "enip.vendor", vendor);
        }
        self.fact(
            ts,
            about.clone(),
            "enip.vendor_id",
            &id.vendor_id.to_string(),
        );
        self.fact(
            ts,
            about.clone(),
            "enip.product_name",
            &one_line(&id.product_name),
        );
        self.fact(
            ts,
            about.clone(),
            "enip.product_code",
            &id.product_code.to_string(),
        );
        self.fact(ts, about.clone(), "enip.revision", &id.revision());
        let device_type = enip::device_type_name(id.device_type)
            .map_or_else(|| id.device_type.to_string(), str::to_string);
        self.fact(ts, about.clone(), "enip.device_type", &device_type);
        self.fact(
            ts,
            about,
            "enip.serial",
            &format!("0x{:08x}", id.serial_number),
        );
    }

    /// DNS, mDNS or LLMNR (`app`): answers name addresses; mDNS also announces services, and a DNS
    /// query says what its sender looks for (an LLMNR query, for a name on the local network, is
    /// left out: a mistyped share name says nothing of the sender).
    fn dns(&mut self, ts: Timestamp, dir: Direction, m: &crate::dns::DnsMessage, app: App) {
        use crate::dns::RData;
        let mdns = app == App::Mdns;
        if !m.response && app == App::Llmnr {
            return;
        }
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
                match app {
                    App::Mdns => "mdns.host",
                    App::Llmnr => "llmnr.name",
                    _ => "dns.name",
                },
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

    /// SSDP: an announcement or a search response names the sender's OS and UPnP stack and the
    /// device type it implements; a search, what the searcher is (when it says).
    fn ssdp(&mut self, ts: Timestamp, dir: Direction, m: &crate::ssdp::Message<'_>) {
        let sender = About::Sender(dir);
        if m.kind == crate::ssdp::Kind::Search {
            if let Some(ua) = m.user_agent {
                self.fact(ts, sender, "ssdp.user_agent", ua);
            }
            return;
        }
        if let Some(server) = m.server {
            self.fact(ts, sender.clone(), "ssdp.server", server);
        }
        if let Some(t) = m.device_type() {
            self.fact(ts, sender, "ssdp.device_type", t);
        }
    }

    /// NetBIOS: the name service (UDP 137) names the sender (registrations, node status) or the
    /// addresses holding a name (query responses); the datagram service (138) names its sender and
    /// carries browser announcements (the Windows version, workstation or server, the comment).
    fn netbios(&mut self, ts: Timestamp, dir: Direction, port: u16, bytes: &[u8]) {
        use crate::netbios;
        let name_fact = |n: &netbios::Name| {
            if n.is_host_name() {
                Some("netbios.name")
            } else if n.is_workgroup() {
                Some("netbios.workgroup")
            } else {
                None
            }
        };
        if port == netbios::NS_PORT {
            let Some(ns) = netbios::parse_name_service(bytes) else {
                return;
            };
            for n in &ns.own {
                if let Some(field) = name_fact(n) {
                    self.fact(ts, About::Sender(dir), field, &n.name);
                }
            }
            for (n, ip) in &ns.held {
                if n.is_host_name() {
                    self.fact(ts, About::Ip((*ip).into()), "netbios.name", &n.name);
                }
            }
            return;
        }
        let Some(d) = netbios::parse_datagram(bytes) else {
            return;
        };
        if let Some(n) = d.source.as_ref().filter(|n| n.is_host_name()) {
            self.fact(ts, About::Sender(dir), "netbios.name", &n.name);
        }
        if let Some(a) = &d.announcement {
            let sender = About::Sender(dir);
            self.fact(ts, sender.clone(), "netbios.name", &a.server);
            let version = format!("{}.{}", a.os_major, a.os_minor);
            self.fact(ts, sender.clone(), "netbios.os_version", &version);
            self.fact(ts, sender.clone(), "netbios.server_type", a.kind());
            self.fact(ts, sender, "netbios.comment", &a.comment);
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
    /// EtherNet/IP: each direction framed into encapsulation messages, for ListIdentity replies.
    Enip(Box<[EnipReader; 2]>),
    /// SMB: each side's first message (its SMB version) and the NTLMSSP messages of session setup.
    Smb(Box<crate::smb::SmbReader>),
    /// QUIC: each side's Initial packets, for the hellos in them; the server's reader once the
    /// client's first packet gave the connection id both sides' keys come from.
    Quic(Box<QuicReaders>),
    /// Encrypted, or a protocol we do not parse: bytes are only counted by the flow table.
    Opaque,
}

/// A QUIC flow's client and server Initial readers.
type QuicReaders = (
    crate::quic::InitialReader,
    Option<crate::quic::InitialReader>,
);

fn add(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

/// Frames one direction of an EtherNet/IP TCP stream into encapsulation messages. A message that
/// arrives whole in one segment is read where it lies; only the tail of a short message split across
/// segments is copied (at most [`ENIP_MAX_BUFFERED`] bytes), and a longer message is passed over.
/// Once out of step (a gap inside or between messages, an impossible header) it reads no more.
#[derive(Debug, Default)]
struct EnipReader {
    /// The start of a message split across segments.
    partial: Vec<u8>,
    /// Bytes of a long message still to pass over.
    skip: usize,
    lost: bool,
}

impl EnipReader {
    fn feed(&mut self, mut bytes: &[u8], on_message: &mut dyn FnMut(&Encapsulation<'_>)) {
        while !self.lost && !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            if self.partial.is_empty() {
                match enip::parse_message(bytes) {
                    Ok((msg, used)) => {
                        on_message(&msg);
                        bytes = &bytes[used..];
                    }
                    Err(EnipError::Incomplete { needed }) => {
                        self.hold(bytes, bytes.len() + needed);
                        return;
                    }
                    Err(_) => self.lost = true,
                }
                continue;
            }
            // Complete the held message with as few bytes as it needs.
            let needed = match enip::parse_message(&self.partial) {
                Err(EnipError::Incomplete { needed }) => needed,
                _ => {
                    self.lost = true;
                    return;
                }
            };
            let n = needed.min(bytes.len());
            self.partial.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            match enip::parse_message(&self.partial) {
                Ok((msg, _)) => {
                    on_message(&msg);
                    self.partial.clear();
                }
                Err(EnipError::Incomplete { needed }) => {
                    // Now that the header is whole, a long message is passed over.
                    let total = self.partial.len() + needed;
                    if total > ENIP_MAX_BUFFERED {
                        self.skip = needed;
                        self.partial.clear();
                    }
                }
                Err(_) => self.lost = true,
            }
        }
    }

    /// Keeps the start of a message of `total` bytes (its header may not be whole yet, so `total`
    /// may still grow), or passes over it when it is too long to hold.
    fn hold(&mut self, start: &[u8], total: usize) {
        if start.len() >= enip::HEADER_LEN && total > ENIP_MAX_BUFFERED {
            self.skip = total - start.len();
        } else {
            self.partial.extend_from_slice(start);
        }
    }

    /// Bytes were lost: only a gap inside a message being passed over keeps the framing.
    fn gap(&mut self, len: u64) {
        match usize::try_from(len) {
            Ok(len) if self.partial.is_empty() && self.skip >= len && self.skip > 0 => {
                self.skip -= len;
            }
            _ => {
                self.lost = true;
                self.partial = Vec::new();
            }
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
    /// The first datagram of a UDP flow no port names has been looked at.
    probed: bool,
    /// Read patient values (identifier, name, birth date) out of HL7 messages, for `--show-phi`;
    /// without it only which PHI fields were present is read.
    patient_values: bool,
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
            probed: false,
            patient_values: false,
        }
    }

    /// The flow's client and server addresses (datagram evidence is then streamed to the sink with
    /// the address it is about, instead of being held by the flow).
    pub fn set_endpoints(&mut self, client: std::net::IpAddr, server: std::net::IpAddr) {
        self.ends = Some([client, server]);
    }

    /// Reads patient values (identifier, name, birth date) out of HL7 messages into the summaries and
    /// `results.hl7.patient_ids`, for an investigator (`--show-phi`). Off by default: a session then
    /// records which PHI fields a message carried, never their values.
    pub fn read_patient_values(&mut self, yes: bool) {
        self.patient_values = yes;
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
            App::Enip => Parser::Enip(Box::default()),
            App::Smb => Parser::Smb(Box::default()),
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
        let summarize = if self.patient_values {
            hl7::summarize
        } else {
            hl7::summarize_redacted
        };
        deframers[dir.index()].push(bytes, &mut |frame| match frame {
            Frame::Message(body) => match hl7::parse(body) {
                Ok(msg) => {
                    let summary = summarize(&msg);
                    let totals = &mut results.hl7;
                    totals.messages += 1;
                    if !summary.phi_fields.is_empty() {
                        totals.with_phi += 1;
                        add(&mut totals.with_phi_by_type, &summary.message_type);
                        totals.phi_fields.add(summary.phi_fields);
                        if let Some(id) = &summary.patient.id
                            && totals.patient_ids.len() < MAX_PATIENT_IDS
                            && !totals.patient_ids.contains(id)
                        {
                            totals.patient_ids.push(id.clone());
                        }
                    }
                    sink.borrow_mut()
                        .hl7(flow, Hl7Record { ts, dir, summary }, &msg);
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
                for (dir, m) in std::mem::take(&mut h.ntlm) {
                    self.results.ntlm(ts, dir, &m);
                }
            }
            Parser::Tls(readers) => {
                let ts = self.first_ts;
                if let Some(h) = readers[0].client_hello() {
                    self.results.client_hello(ts, h, &h.ja4());
                }
                if let Some(h) = readers[1].server_hello() {
                    self.results.server_hello(ts, h);
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
            Parser::Telnet(t) => {
                self.results.credentials.append(&mut t.credentials);
                if let Some(b) = t.banner.take() {
                    let ts = self.first_ts;
                    self.results
                        .fact(ts, About::Sender(Direction::ToClient), "banner.telnet", &b);
                }
            }
            Parser::Ftp(f) => {
                self.encrypted |= f.tls_upgraded;
                self.results.credentials.append(&mut f.credentials);
                if let Some(b) = f.banner.take() {
                    let ts = self.first_ts;
                    self.results
                        .fact(ts, About::Sender(Direction::ToClient), "banner.ftp", &b);
                }
            }
            // NTLMSSP messages were read as they came.
            Parser::Smb(r) => self.results.smb = Some(r.versions()),
            // ListIdentity replies were read as they came.
            Parser::Enip(_) | Parser::Quic(_) | Parser::Undecided | Parser::Opaque => {}
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
            Parser::Enip(readers) => {
                let results = &mut self.results;
                readers[dir.index()].feed(bytes, &mut |msg| results.enip(ts, dir, msg));
            }
            Parser::Smb(r) => {
                let results = &mut self.results;
                r.data(dir, bytes, &mut |m| results.ntlm(ts, dir, &m));
            }
            Parser::Quic(_) | Parser::Undecided | Parser::Opaque => {}
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
            Parser::Enip(readers) => readers[dir.index()].gap(len),
            Parser::Smb(r) => r.gap(dir),
            // The identification line is the first thing each side sends: after a gap, no more.
            Parser::Ssh(lines) => {
                let line = &mut lines[dir.index()];
                if !line.contains(&b'\n') {
                    line.clear();
                    line.push(b'\n');
                }
            }
            Parser::Quic(_) | Parser::Undecided | Parser::Opaque => {}
        }
    }

    fn datagram(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        debug_assert!(!self.tcp);
        if !self.probed {
            self.probed = true;
            if self.app == App::Unknown && detect::is_enip_list_identity_reply(bytes) {
                self.app = App::Enip;
                self.app_source = AppSource::Content;
            }
        }
        // SNMP is counted for the findings whatever else happens.
        if self.app == App::Snmp {
            self.results.snmp(ts, dir, bytes);
        }
        // Identity evidence only: held by the flow only when nobody said who its ends are.
        if self.ends.is_none() && self.results.identity.len() >= MAX_IDENTITY_FACTS {
            return;
        }
        match self.app {
            App::Dhcp if matches!(self.server_port, 546 | 547) => {
                if let Some(m) = crate::dhcp::parse_dhcpv6(bytes) {
                    self.results.dhcpv6(ts, dir, &m);
                }
            }
            App::Dhcp => {
                if let Some(m) = crate::dhcp::parse_dhcp(bytes) {
                    self.results.dhcp(ts, &m);
                }
            }
            App::Enip => {
                if let Ok((msg, _)) = enip::parse_message(bytes) {
                    self.results.enip(ts, dir, &msg);
                }
            }
            App::Dns | App::Mdns | App::Llmnr => {
                if let Some(m) = crate::dns::parse_dns(bytes) {
                    self.results.dns(ts, dir, &m, self.app);
                }
            }
            App::Netbios => self.results.netbios(ts, dir, self.server_port, bytes),
            App::Ssdp => {
                if let Some(m) = crate::ssdp::parse(bytes) {
                    self.results.ssdp(ts, dir, &m);
                }
            }
            App::Quic => {
                self.encrypted = true;
                if matches!(self.parser, Parser::Undecided) {
                    let client = crate::quic::InitialReader::client();
                    self.parser = Parser::Quic(Box::new((client, None)));
                }
                if let Parser::Quic(readers) = &mut self.parser {
                    let (client, server) = &mut **readers;
                    if dir == Direction::ToServer && !client.done() {
                        client.feed(bytes);
                        if let Some(h) = client.client_hello().filter(|_| client.done()) {
                            self.results.client_hello(ts, h, &h.ja4_quic());
                        }
                    }
                    if dir == Direction::ToClient
                        && let Some(dcid) = client.client_dcid()
                    {
                        let server =
                            server.get_or_insert_with(|| crate::quic::InitialReader::server(dcid));
                        if !server.done() {
                            server.feed(bytes);
                            if let Some(h) = server.server_hello().filter(|_| server.done()) {
                                self.results.server_hello(ts, h);
                            }
                        }
                    }
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
            for (mac, ip) in self.results.dhcpv6_leases.drain(..) {
                sink.dhcpv6_lease(ts, mac, ip);
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
