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
            f.app,
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
