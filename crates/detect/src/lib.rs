//! Detections: what in the traffic puts patients or devices at risk. Each rule reads one finished flow
//! (its record and what the protocol parsers found) and returns findings with stable kinds.
//!
//! Findings name the fields that carried patient data (`PID-5`, `PatientName (0010,0010)`), never their
//! values, unless the caller asks for values (`show_phi`), which only an investigator should.

#![forbid(unsafe_code)]

use std::fmt::Write;
use std::net::IpAddr;

use capture::FlowRecord;
use capture::addr::{DisplayIp, IPV4_LEN, format_ipv4};
use protocols::cleartext::LoginOutcome;
use protocols::detect::App;
use protocols::session::FlowResults;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Every severity, least harmful first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The severity [`Severity::as_str`] names.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Stable finding kinds (tests, SIEM rules and users depend on them).
pub mod kind {
    pub const CLEARTEXT_PHI: &str = "cleartext-phi";
    pub const CLEARTEXT_CREDENTIALS: &str = "cleartext-credentials";
    pub const INSECURE_PROTOCOL: &str = "insecure-protocol";
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: &'static str,
    pub severity: Severity,
    pub flow: u64,
    /// The device the finding is about (its address until the inventory names devices).
    pub device: IpAddr,
    pub title: String,
    pub detail: String,
    /// Field names that carried patient data (for `cleartext-phi`).
    pub phi_fields: Vec<&'static str>,
    /// User names sent in cleartext (for `cleartext-credentials`).
    pub usernames: Vec<String>,
}

/// A finished flow as the rules see it.
pub struct FlowView<'a> {
    pub record: &'a FlowRecord,
    pub app: App,
    pub encrypted: bool,
    pub results: &'a FlowResults,
}

/// Runs every rule on one flow.
pub fn flow_findings(view: &FlowView<'_>, show_phi: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    cleartext_phi(view, show_phi, &mut out);
    cleartext_credentials(view, &mut out);
    insecure_protocol(view, &mut out);
    snmp_community(view, &mut out);
    smb1(view, &mut out);
    out
}

/// Appends `ip` as its `Display` writes it; IPv4 without the formatting machinery (a finding names
/// two or three addresses, and a large capture has tens of thousands of findings).
fn push_ip(s: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => s.push_str(format_ipv4(v4, &mut [0; IPV4_LEN])),
        IpAddr::V6(_) => {
            let _ = write!(s, "{}", DisplayIp(ip));
        }
    }
}

/// Appends `client:port -> server:port`.
fn push_endpoints(s: &mut String, r: &FlowRecord) {
    push_ip(s, r.client.ip);
    let _ = write!(s, ":{} -> ", r.client.port);
    push_ip(s, r.server.ip);
    let _ = write!(s, ":{}", r.server.port);
}

/// Patient data in cleartext: HL7 messages with PHI-bearing fields, DICOM data sets with patient
/// attributes, on a flow that is not encrypted. One finding per flow, with counts and field names.
fn cleartext_phi(view: &FlowView<'_>, show_phi: bool, out: &mut Vec<Finding>) {
    if view.encrypted {
        return;
    }
    let r = view.results;
    // Field names, sorted and without duplicates (all static: PHI_FIELDS and the DICOM tag names).
    let mut names: Vec<&'static str> = r.hl7.phi_fields.iter().map(|(name, _)| name).collect();
    let mut patients: Vec<String> = if show_phi {
        r.hl7.patient_ids.clone()
    } else {
        Vec::new()
    };
    let hl7_with_phi = r.hl7.with_phi;
    let by_type = &r.hl7.with_phi_by_type;
    let mut dicom_with_phi = 0u64;
    for a in &r.dicom {
        if a.patient_attributes.is_empty() {
            continue;
        }
        dicom_with_phi += 1;
        names.extend_from_slice(&a.patient_attributes);
        if show_phi
            && let Some(id) = &a.patient.id
            && !patients.contains(id)
            && patients.len() < 50
        {
            patients.push(id.clone());
        }
    }
    if hl7_with_phi == 0 && dicom_with_phi == 0 {
        return;
    }
    names.sort_unstable();
    names.dedup();
    let rec = view.record;
    // Room for the usual detail (types, endpoints, a dozen field names) without regrowing.
    let mut detail = String::with_capacity(256);
    if hl7_with_phi > 0 {
        let _ = write!(detail, "{hl7_with_phi} HL7 messages with patient data (");
        for (i, (t, n)) in by_type.iter().enumerate() {
            if i > 0 {
                detail.push_str(", ");
            }
            detail.push_str(t);
            let _ = write!(detail, " x{n}");
        }
        detail.push(')');
    }
    if dicom_with_phi > 0 {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        let _ = write!(
            detail,
            "{dicom_with_phi} DICOM associations with patient attributes in data sets"
        );
    }
    detail.push_str(" over ");
    push_endpoints(&mut detail, rec);
    detail.push_str(" in cleartext; fields: ");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            detail.push_str(", ");
        }
        detail.push_str(name);
    }
    if show_phi && !patients.is_empty() {
        let _ = write!(detail, "; patient ids: {}", patients.join(", "));
    }
    let what = if dicom_with_phi > 0 && hl7_with_phi == 0 {
        "Patient data sent unencrypted (DICOM) from "
    } else {
        "Patient data sent unencrypted (HL7) from "
    };
    let mut title = String::with_capacity(80);
    title.push_str(what);
    push_ip(&mut title, rec.client.ip);
    title.push_str(" to ");
    push_ip(&mut title, rec.server.ip);
    out.push(Finding {
        kind: kind::CLEARTEXT_PHI,
        severity: Severity::High,
        flow: rec.id,
        device: rec.client.ip,
        title,
        detail,
        phi_fields: names,
        usernames: Vec::new(),
    });
}

/// Credentials in cleartext: telnet and FTP logins, HTTP Basic, DICOM user identity with a passcode.
fn cleartext_credentials(view: &FlowView<'_>, out: &mut Vec<Finding>) {
    let creds: Vec<_> = view
        .results
        .credentials
        .iter()
        .filter(|c| c.password_seen)
        .collect();
    if creds.is_empty() || view.encrypted {
        return;
    }
    let rec = view.record;
    let mut usernames: Vec<String> = Vec::new();
    for c in &creds {
        if !usernames.contains(&c.username) {
            usernames.push(c.username.clone());
        }
    }
    let accepted = creds
        .iter()
        .filter(|c| c.outcome == LoginOutcome::Accepted)
        .count();
    let protocol = creds[0].protocol;
    let mut detail = format!(
        "{} {protocol} login attempt(s) with a cleartext password over ",
        creds.len()
    );
    push_endpoints(&mut detail, rec);
    let _ = write!(
        detail,
        " ({accepted} accepted); user names: {}",
        usernames.join(", ")
    );
    out.push(Finding {
        kind: kind::CLEARTEXT_CREDENTIALS,
        severity: if accepted > 0 {
            Severity::Critical
        } else {
            Severity::High
        },
        flow: rec.id,
        device: rec.server.ip,
        title: {
            let mut t = format!("Password sent in cleartext ({protocol}) to ");
            push_ip(&mut t, rec.server.ip);
            t
        },
        detail,
        phi_fields: Vec::new(),
        usernames,
    });
}

/// Protocols that should not be used to manage a medical device: telnet, FTP, HTTP with Basic auth.
fn insecure_protocol(view: &FlowView<'_>, out: &mut Vec<Finding>) {
    let rec = view.record;
    let (name, severity) = match view.app {
        App::Telnet => ("telnet", Severity::High),
        App::Ftp if !view.encrypted => ("FTP", Severity::Medium),
        App::Http
            if view
                .results
                .credentials
                .iter()
                .any(|c| c.protocol == "http-basic") =>
        {
            ("HTTP with Basic authentication", Severity::Medium)
        }
        _ => return,
    };
    out.push(Finding {
        kind: kind::INSECURE_PROTOCOL,
        severity,
        flow: rec.id,
        device: rec.server.ip,
        title: {
            let mut t = format!("{name} in use on ");
            push_ip(&mut t, rec.server.ip);
            let _ = write!(t, " port {}", rec.server.port);
            t
        },
        detail: {
            let mut d = format!("{name} session ");
            push_endpoints(&mut d, rec);
            d.push_str(": management traffic without encryption");
            d
        },
        phi_fields: Vec::new(),
        usernames: Vec::new(),
    });
}

/// SNMP v1 or v2c: every message carries the community, a shared password, in cleartext. The finding
/// names its length, never its value. A SetRequest shows the community grants write access.
fn snmp_community(view: &FlowView<'_>, out: &mut Vec<Finding>) {
    let Some(snmp) = view.results.snmp.as_deref() else {
        return;
    };
    let messages = snmp.v1 + snmp.v2c;
    if view.app != App::Snmp || messages == 0 {
        return;
    }
    let rec = view.record;
    // Agents listen on 161; on 162 the manager listens and the agent sends its notifications.
    let agent = if rec.server.port == 162 {
        rec.client.ip
    } else {
        rec.server.ip
    };
    let versions = match (snmp.v1 > 0, snmp.v2c > 0) {
        (true, true) => "v1 and v2c",
        (true, false) => "v1",
        _ => "v2c",
    };
    let lengths: Vec<String> = snmp
        .community_lengths
        .iter()
        .map(|n| n.to_string())
        .collect();
    let strings = if lengths.len() == 1 {
        "a community string"
    } else {
        "community strings"
    };
    let mut detail = format!("{messages} SNMP {versions} message(s) over ");
    push_endpoints(&mut detail, rec);
    let _ = write!(
        detail,
        " carry {strings} of {} bytes in cleartext; \
         a community is a password (its value is not reported) and anyone on the path can reuse it",
        lengths.join(" and ")
    );
    if snmp.set_requests > 0 {
        let _ = write!(
            detail,
            "; {} SetRequest(s) show it grants write access",
            snmp.set_requests
        );
    }
    detail.push_str("; use SNMPv3 with authentication and privacy");
    out.push(Finding {
        kind: kind::INSECURE_PROTOCOL,
        severity: if snmp.set_requests > 0 {
            Severity::High
        } else {
            Severity::Medium
        },
        flow: rec.id,
        device: agent,
        title: format!("SNMP {versions} with a cleartext community on {agent}"),
        detail,
        phi_fields: Vec::new(),
        usernames: Vec::new(),
    });
}

/// A server that answers in SMB1: the protocol WannaCry and NotPetya spread through (MS17-010),
/// which hospitals' old Windows and embedded file shares still speak. A client offering SMB1 in
/// its first negotiate is no finding when the server answers in SMB2: that is how modern clients
/// negotiate.
fn smb1(view: &FlowView<'_>, out: &mut Vec<Finding>) {
    use protocols::smb::Version;
    let Some([_, Some(Version::Smb1)]) = view.results.smb else {
        return;
    };
    let rec = view.record;
    let mut title = String::from("SMBv1 in use on ");
    push_ip(&mut title, rec.server.ip);
    let _ = write!(title, " port {}", rec.server.port);
    let mut detail = String::from("SMB session ");
    push_endpoints(&mut detail, rec);
    detail.push_str(
        ": the server answered in SMB version 1, the protocol WannaCry and NotPetya spread \
         through (MS17-010); disable SMBv1 and use SMB 3",
    );
    out.push(Finding {
        kind: kind::INSECURE_PROTOCOL,
        severity: Severity::High,
        flow: rec.id,
        device: rec.server.ip,
        title,
        detail,
        phi_fields: Vec::new(),
        usernames: Vec::new(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use capture::reassembly::EndReason;
    use capture::{Endpoint, Timestamp};
    use protocols::cleartext::Credential;
    use protocols::session::SnmpTotals;

    #[test]
    fn severities_parse_back_and_order_by_harm() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert!(Severity::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Severity::parse("severe"), None);
    }

    fn record(client: &str, cport: u16, server: &str, sport: u16) -> FlowRecord {
        let end = |ip: &str, port| Endpoint {
            ip: ip.parse().unwrap(),
            port,
        };
        let mut r = FlowRecord::new(
            7,
            6,
            [0; 2],
            end(client, cport),
            end(server, sport),
            Timestamp(0),
        );
        r.handshake_seen = true;
        r.end = EndReason::Fin;
        r
    }

    fn run(rec: &FlowRecord, app: App, results: &FlowResults) -> Vec<Finding> {
        let view = FlowView {
            record: rec,
            app,
            encrypted: false,
            results,
        };
        flow_findings(&view, false)
    }

    #[test]
    fn cleartext_phi_names_the_fields_sorted_and_the_endpoints() {
        let msg = b"MSH|^~\\&|MON|ICU|EHR|HOSP|20250101||ORU^R01|1|P|2.5\rPID|1||123^^^H^MR||DOE^JANE||19700101\r";
        let summary = protocols::hl7::summarize(&protocols::hl7::parse(msg).unwrap());
        let mut results = FlowResults::default();
        results.hl7.with_phi = 2;
        results.hl7.with_phi_by_type.insert("ORU^R01".into(), 1);
        results.hl7.with_phi_by_type.insert("ADT^A01".into(), 1);
        results.hl7.phi_fields.add(summary.phi_fields);
        let rec = record("10.1.2.3", 40000, "10.9.8.7", 2575);
        let f = run(&rec, App::Hl7, &results);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, kind::CLEARTEXT_PHI);
        assert_eq!(
            f[0].title,
            "Patient data sent unencrypted (HL7) from 10.1.2.3 to 10.9.8.7"
        );
        assert_eq!(
            f[0].detail,
            "2 HL7 messages with patient data (ADT^A01 x1, ORU^R01 x1) over \
             10.1.2.3:40000 -> 10.9.8.7:2575 in cleartext; fields: PID-3, PID-5, PID-7"
        );
        assert_eq!(f[0].phi_fields, ["PID-3", "PID-5", "PID-7"]);
        // Nothing in the finding carries a value.
        for value in ["123", "DOE", "JANE", "19700101"] {
            assert!(!format!("{:?}", f[0]).contains(value), "{value}");
        }
    }

    #[test]
    fn credentials_and_insecure_protocol_over_ipv6() {
        let mut results = FlowResults::default();
        for (user, outcome) in [
            ("admin", LoginOutcome::Accepted),
            ("admin", LoginOutcome::Unknown),
        ] {
            results.credentials.push(Credential {
                protocol: "telnet",
                username: user.into(),
                password_seen: true,
                outcome,
                ts: Timestamp(0),
            });
        }
        let rec = record("2001:db8::1", 50000, "2001:db8::aa", 23);
        let f = run(&rec, App::Telnet, &results);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].kind, kind::CLEARTEXT_CREDENTIALS);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(
            f[0].title,
            "Password sent in cleartext (telnet) to 2001:db8::aa"
        );
        assert_eq!(
            f[0].detail,
            "2 telnet login attempt(s) with a cleartext password over \
             2001:db8::1:50000 -> 2001:db8::aa:23 (1 accepted); user names: admin"
        );
        assert_eq!(f[0].usernames, ["admin"]);
        assert_eq!(f[1].kind, kind::INSECURE_PROTOCOL);
        assert_eq!(f[1].title, "telnet in use on 2001:db8::aa port 23");
        assert_eq!(
            f[1].detail,
            "telnet session 2001:db8::1:50000 -> 2001:db8::aa:23: management traffic without \
             encryption"
        );
    }

    /// A server answering in SMB1 is a high finding about the server; a client's SMB1 negotiate
    /// answered in SMB2 is none.
    #[test]
    fn an_smb1_server_is_a_finding_and_an_smb1_offer_is_not() {
        use protocols::smb::Version;
        let rec = record("10.0.0.5", 50000, "10.0.0.9", 445);
        let with = |versions| FlowResults {
            smb: Some(versions),
            ..FlowResults::default()
        };
        let f = run(
            &rec,
            App::Smb,
            &with([Some(Version::Smb1), Some(Version::Smb1)]),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].kind, f[0].severity, f[0].title.as_str()),
            (
                kind::INSECURE_PROTOCOL,
                Severity::High,
                "SMBv1 in use on 10.0.0.9 port 445"
            )
        );
        assert_eq!(f[0].device, "10.0.0.9".parse::<IpAddr>().unwrap());
        let f = run(
            &rec,
            App::Smb,
            &with([Some(Version::Smb1), Some(Version::Smb2)]),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn snmp_names_community_lengths_never_values() {
        let results = FlowResults {
            snmp: Some(Box::new(SnmpTotals {
                v2c: 3,
                community_lengths: vec![6, 7],
                set_requests: 1,
                ..SnmpTotals::default()
            })),
            ..FlowResults::default()
        };
        let rec = record("10.0.0.5", 40001, "10.0.0.9", 161);
        let f = run(&rec, App::Snmp, &results);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            f[0].title,
            "SNMP v2c with a cleartext community on 10.0.0.9"
        );
        assert_eq!(
            f[0].detail,
            "3 SNMP v2c message(s) over 10.0.0.5:40001 -> 10.0.0.9:161 carry community strings \
             of 6 and 7 bytes in cleartext; a community is a password (its value is not reported) \
             and anyone on the path can reuse it; 1 SetRequest(s) show it grants write access; \
             use SNMPv3 with authentication and privacy"
        );
    }
}
