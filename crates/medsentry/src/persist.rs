//! `analyze --db`: what an analysis found, merged into the inventory database.

use std::collections::HashMap;

use anyhow::Context;
use store::{CommRecord, DeviceRecord, Direction, FindingRecord, NewRun, RunTotals, Store};

use crate::report::Report;

/// Devices saved per transaction: a kill loses at most the batch being written, never half a device.
const BATCH: usize = 1000;

fn now_ns() -> i64 {
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
    let mut comms = Vec::new();
    for f in &report.flows {
        let (c, s) = (f.client.ip.to_string(), f.server.ip.to_string());
        let base = |device: &str, peer: &str, direction| CommRecord {
            device: device.to_string(),
            peer_ip: peer.to_string(),
            peer_port: f.server.port,
            transport: f.transport.clone(),
            app: f.app.to_string(),
            direction,
            peer_device: None,
            flows: 1,
            packets: f.packets,
            bytes: f.bytes,
            first_seen_ns: f.first_seen.0,
            last_seen_ns: f.last_seen.0,
        };
        if let Some(d) = owner.get(&c) {
            let mut r = base(d, &s, Direction::Out);
            r.peer_device = owner.get(&s).map(|x| x.to_string());
            comms.push(r);
        }
        if let Some(d) = owner.get(&s) {
            let mut r = base(d, &c, Direction::In);
            r.peer_device = owner.get(&c).map(|x| x.to_string());
            comms.push(r);
        }
        if comms.len() >= 50_000 {
            db.save_communications(run, &comms)?;
            comms.clear();
        }
    }
    db.save_communications(run, &comms)?;
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
