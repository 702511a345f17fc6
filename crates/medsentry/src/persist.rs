//! `analyze --db`: what an analysis found, merged into the inventory database.

use std::collections::HashMap;

use anyhow::Context;
use store::{CommRecord, DeviceRecord, Direction, FindingRecord, NewRun, RunTotals, Store};

use crate::report::Report;

/// Devices saved per transaction: a kill loses at most the batch being written, never half a device.
const BATCH: usize = 1000;

/// Wall-clock time for run bookkeeping (never packet time).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Saves the report's devices, their communications and the findings as one run; returns a line for
/// the user.
pub fn save(url: &str, report: &Report, sources: &[String]) -> anyhow::Result<String> {
    let mut db = Store::open(url)?;
    let run = db.begin_run(&NewRun {
        started_ns: now_ns(),
        tool: format!("medsentry {}", env!("CARGO_PKG_VERSION")),
        sources: sources.to_vec(),
    })?;
    let devices: Vec<DeviceRecord> = report.inventory.iter().map(DeviceRecord::from).collect();
    let mut added = 0;
    let mut changes = 0;
    for batch in devices.chunks(BATCH) {
        let stats = db.save_devices(run, batch)?;
        added += stats.added;
        changes += stats.changes;
    }
    // Which device each address belongs to, for communications and findings.
    let owner: HashMap<String, &str> = report
        .inventory
        .iter()
        .flat_map(|d| d.ips.iter().map(move |ip| (ip.to_string(), d.id.as_str())))
        .collect();
    // One record per (device, peer, service port, transport, app, direction), summed here: a capture
    // has many flows per pair (gen_big: 95,000 flows, 17,000 pairs), and each upsert costs a lookup.
    type Key<'a> = (&'a str, String, u16, &'a str, &'a str, Direction);
    let mut comms: HashMap<Key<'_>, CommRecord> = HashMap::new();
    for f in &report.flows {
        let (c, s) = (f.client.ip.to_string(), f.server.ip.to_string());
        for (me, peer, direction) in [(&c, &s, Direction::Out), (&s, &c, Direction::In)] {
            let Some(&d) = owner.get(me) else {
                continue;
            };
            let key = (
                d,
                peer.clone(),
                f.server.port,
                f.transport.as_str(),
                f.app,
                direction,
            );
            let r = comms.entry(key).or_insert_with(|| CommRecord {
                device: d.to_string(),
                peer_ip: peer.clone(),
                peer_port: f.server.port,
                transport: f.transport.clone(),
                app: f.app.to_string(),
                direction,
                peer_device: owner.get(peer).map(|x| x.to_string()),
                flows: 0,
                packets: 0,
                bytes: 0,
                first_seen_ns: f.first_seen.0,
                last_seen_ns: f.last_seen.0,
            });
            r.flows += 1;
            r.packets += f.packets;
            r.bytes += f.bytes;
            r.first_seen_ns = r.first_seen_ns.min(f.first_seen.0);
            r.last_seen_ns = r.last_seen_ns.max(f.last_seen.0);
        }
    }
    let mut comms: Vec<CommRecord> = comms.into_values().collect();
    comms.sort_by(|a, b| {
        (&a.device, &a.peer_ip, a.peer_port).cmp(&(&b.device, &b.peer_ip, b.peer_port))
    });
    for batch in comms.chunks(50_000) {
        db.save_communications(run, batch)?;
    }
    let findings: Vec<FindingRecord> = report
        .findings
        .iter()
        .map(|f| FindingRecord {
            kind: f.kind.to_string(),
            severity: f.severity.to_string(),
            device: owner.get(&f.device).map(|d| d.to_string()),
            flow: f.flow,
            title: f.title.clone(),
            detail: f.detail.clone(),
        })
        .collect();
    for batch in findings.chunks(10_000) {
        db.save_findings(run, batch)?;
    }
    let s = &report.summary;
    db.finish_run(
        run,
        &RunTotals {
            finished_ns: now_ns(),
            packets: s.packets,
            bytes: s.bytes,
            first_packet_ns: report.flows.iter().map(|f| f.first_seen.0).min(),
            last_packet_ns: report.flows.iter().map(|f| f.last_seen.0).max(),
        },
    )
    .context("finishing the run")?;
    let name = db.name().to_string();
    db.close()?;
    Ok(format!(
        "saved run {run} to {name}: {} devices ({added} new, {changes} changes), {} findings",
        devices.len(),
        findings.len()
    ))
}
