//! Detections: what in the traffic puts patients or devices at risk. Each rule reads one finished flow
//! (its record and what the protocol parsers found) and returns findings with stable kinds.
//!
//! Findings name the fields that carried patient data (`PID-5`, `PatientName (0010,0010)`), never their
//! values, unless the caller asks for values (`show_phi`), which only an investigator should.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;

use capture::FlowRecord;
use capture::addr::DisplayIp;
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
    pub phi_fields: Vec<String>,
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
    out
}

fn endpoints(r: &FlowRecord) -> String {
    format!(
        "{}:{} -> {}:{}",
        DisplayIp(r.client.ip),
        r.client.port,
        DisplayIp(r.server.ip),
        r.server.port
    )
}

/// Patient data in cleartext: HL7 messages with PHI-bearing fields, DICOM data sets with patient
/// attributes, on a flow that is not encrypted. One finding per flow, with counts and field names.
fn cleartext_phi(view: &FlowView<'_>, show_phi: bool, out: &mut Vec<Finding>) {
    if view.encrypted {
        return;
    }
    let r = view.results;
    let mut fields: BTreeMap<&str, u64> = r.hl7.phi_fields.iter().collect();
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
        for f in &a.patient_attributes {
            *fields.entry(f).or_default() += 1;
        }
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
    let rec = view.record;
    // Room for the usual detail (types, endpoints, a dozen field names) without regrowing.
    let mut detail = String::with_capacity(256);
    if hl7_with_phi > 0 {
        let _ = write!(detail, "{hl7_with_phi} HL7 messages with patient data (");
        for (i, (t, n)) in by_type.iter().enumerate() {
            let sep = if i > 0 { ", " } else { "" };
            let _ = write!(detail, "{sep}{t} x{n}");
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
    let names: Vec<&str> = fields.keys().copied().collect();
    let _ = write!(
        detail,
        " over {} in cleartext; fields: {}",
        endpoints(rec),
        names.join(", ")
    );
    if show_phi && !patients.is_empty() {
        let _ = write!(detail, "; patient ids: {}", patients.join(", "));
    }
    let what = if dicom_with_phi > 0 && hl7_with_phi == 0 {
        "DICOM"
    } else {
        "HL7"
    };
    out.push(Finding {
        kind: kind::CLEARTEXT_PHI,
        severity: Severity::High,
        flow: rec.id,
        device: rec.client.ip,
        title: format!(
            "Patient data sent unencrypted ({what}) from {} to {}",
            DisplayIp(rec.client.ip),
            DisplayIp(rec.server.ip)
        ),
        detail,
        phi_fields: names.into_iter().map(String::from).collect(),
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
    let detail = format!(
        "{} {} login attempt(s) with a cleartext password over {} ({} accepted); user names: {}",
        creds.len(),
        protocol,
        endpoints(rec),
        accepted,
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
        title: format!(
            "Password sent in cleartext ({protocol}) to {}",
            DisplayIp(rec.server.ip)
        ),
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
        title: format!(
            "{name} in use on {} port {}",
            DisplayIp(rec.server.ip),
            rec.server.port
        ),
        detail: format!(
            "{name} session {}: management traffic without encryption",
            endpoints(rec)
        ),
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
    let mut detail = format!(
        "{messages} SNMP {versions} message(s) over {} carry {strings} of {} bytes in cleartext; \
         a community is a password (its value is not reported) and anyone on the path can reuse it",
        endpoints(rec),
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
