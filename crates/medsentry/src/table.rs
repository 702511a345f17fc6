//! The report as a readable table for a terminal.

use std::io::{self, Write};

use crate::report::Report;

pub fn write(out: &mut dyn Write, report: &Report, top: usize) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "medsentry {}  ({})",
        report.generator.version, report.schema
    )?;
    for input in &report.inputs {
        let warn = input
            .warning
            .as_deref()
            .map(|w| format!("  WARNING: {w}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}  {}  {} bytes  {} packets{warn}",
            input.file, input.format, input.bytes, input.packets
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Summary")?;
    let span = match (&s.first_seen, &s.last_seen) {
        (Some(a), Some(b)) => format!("{a} .. {b}"),
        _ => "-".to_string(),
    };
    let rows: [(&str, String); 8] = [
        ("packets", s.packets.to_string()),
        ("bytes", s.bytes.to_string()),
        ("time span", span),
        (
            "flows",
            format!(
                "{} (tcp {}, udp {}, other {})",
                s.flows, s.tcp_flows, s.udp_flows, s.other_flows
            ),
        ),
        ("decode errors", s.decode_errors.to_string()),
        ("truncated packets", s.truncated_packets.to_string()),
        (
            "tcp reassembly",
            format!(
                "{} bytes delivered, {} gaps ({} bytes), {} bytes retransmitted",
                s.reassembly.delivered_bytes,
                s.reassembly.gaps,
                s.reassembly.gap_bytes,
                s.reassembly.retransmitted_bytes
            ),
        ),
        (
            "flow table",
            format!(
                "peak {} flows, {} evicted, {} timed out",
                s.flow_table.peak_flows, s.flow_table.evicted, s.flow_table.timed_out
            ),
        ),
    ];
    for (k, v) in rows {
        writeln!(out, "  {k:<18} {v}")?;
    }
    writeln!(out)?;
    devices_section(out, report, top)?;
    protocols_section(out, report)?;
    findings_section(out, report, top)?;
    let mut flows: Vec<_> = report.flows.iter().collect();
    flows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.id.cmp(&b.id)));
    let shown = flows.len().min(top);
    writeln!(out, "Flows ({} of {}, by bytes)", shown, flows.len())?;
    writeln!(
        out,
        "  {:>6}  {:<5} {:<40} {:<40} {:<10} {:>8} {:>12}  end",
        "id", "proto", "client", "server", "app", "packets", "bytes"
    )?;
    for f in flows.iter().take(top) {
        writeln!(
            out,
            "  {:>6}  {:<5} {:<40} {:<40} {:<10} {:>8} {:>12}  {}",
            f.id,
            f.transport,
            endpoint(f.client.ip, f.client.port),
            endpoint(f.server.ip, f.server.port),
            if f.encrypted && f.app != "tls" {
                format!("{}+tls", f.app)
            } else {
                f.app.to_string()
            },
            f.packets,
            f.bytes,
            f.end
        )?;
    }
    if flows.len() > shown {
        writeln!(
            out,
            "  ... {} more; --format json lists every flow",
            flows.len() - shown
        )?;
    }
    Ok(())
}

fn endpoint(ip: std::net::IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(ip, port).to_string()
}

fn counts<K: std::fmt::Display>(map: impl IntoIterator<Item = (K, u64)>) -> String {
    let parts: Vec<String> = map
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

/// The inventory first: devices by category (most critical first), then the largest categories' rows.
fn devices_section(out: &mut dyn Write, report: &Report, top: usize) -> io::Result<()> {
    let mut by_cat: Vec<(&str, u64)> = Vec::new();
    for d in &report.devices {
        match by_cat.iter_mut().find(|(c, _)| *c == d.category) {
            Some((_, n)) => *n += 1,
            None => by_cat.push((&d.category, 1)),
        }
    }
    writeln!(
        out,
        "Devices ({}: {})",
        report.devices.len(),
        counts(by_cat.iter().map(|(k, v)| (k, *v)))
    )?;
    writeln!(
        out,
        "  {:<20} {:<17} {:<16} {:<18} {:<22} {:<18} {:<17} software",
        "category", "criticality", "address", "vendor", "model", "hostname", "mac"
    )?;
    for d in report.devices.iter().take(top) {
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
        // The software last, whole: a version that is out of support is what a clinical engineer
        // reads the row for, and it is the longest value.
        let software = d.software.first().map_or("-", String::as_str);
        writeln!(
            out,
            "  {:<20} {:<17} {:<16} {:<18} {:<22} {:<18} {:<17} {}",
            d.category,
            d.criticality,
            d.ips.first().map_or("-", |s| s.as_str()),
            dash(&d.vendor),
            dash(&d.model),
            dash(&d.hostname),
            dash(&d.mac),
            software
        )?;
    }
    if report.devices.len() > top {
        writeln!(
            out,
            "  ... {} more (--top N shows more; --format json gives each with its evidence)",
            report.devices.len() - top
        )?;
    }
    writeln!(out)?;
    Ok(())
}

fn protocols_section(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "Clinical protocols")?;
    writeln!(
        out,
        "  {:<18} {}",
        "applications",
        counts(s.apps.iter().map(|(k, v)| (k, *v)))
    )?;
    writeln!(
        out,
        "  {:<18} {} of {} flows",
        "encrypted", s.encrypted_flows, s.flows
    )?;
    writeln!(
        out,
        "  {:<18} {}",
        "HL7 messages",
        counts(s.hl7_messages_by_type.iter().map(|(k, v)| (k, *v)))
    )?;
    let lost = s.hl7.cut_by_gap + s.hl7.incomplete_at_close;
    if lost > 0 || s.hl7.unparsed > 0 {
        writeln!(
            out,
            "  {:<18} {} cut by capture gaps, {} cut at the end, {} not HL7",
            "", s.hl7.cut_by_gap, s.hl7.incomplete_at_close, s.hl7.unparsed
        )?;
    }
    writeln!(
        out,
        "  {:<18} {}",
        "DICOM associations",
        counts(s.dicom_associations.iter().map(|(k, v)| (k, *v)))
    )?;
    writeln!(
        out,
        "  {:<18} {}",
        "DICOM commands",
        counts(s.dicom_commands.iter().map(|(k, v)| (k, *v)))
    )?;
    writeln!(out)?;
    Ok(())
}

fn findings_section(out: &mut dyn Write, report: &Report, top: usize) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "Findings ({})",
        counts(s.findings_by_kind.iter().map(|(k, v)| (k, *v)))
    )?;
    let rank = |sev: &str| match sev {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    };
    let mut findings: Vec<_> = report.findings.iter().collect();
    findings.sort_by_key(|f| (rank(f.severity), f.flow));
    for f in findings.iter().take(top) {
        writeln!(out, "  {:<8} {:<22} {}", f.severity, f.kind, f.title)?;
    }
    if findings.len() > top {
        writeln!(
            out,
            "  ... {} more; --format json lists them all with details",
            findings.len() - top
        )?;
    }
    if !report.phi_values_shown {
        writeln!(
            out,
            "  (patient data values are never shown; --show-phi shows them to an investigator)"
        )?;
    }
    writeln!(out)?;
    Ok(())
}
