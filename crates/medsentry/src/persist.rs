//! `analyze --db`: what an analysis found, merged into the inventory database.

use std::collections::HashMap;
use std::net::IpAddr;

use anyhow::Context;
use store::{CommRecord, DeviceRecord, Direction, FindingRef, NewRun, RunTotals, Store};

use crate::report::Report;
use crate::timings::Phases;

/// Devices saved per call: the store commits every [`store::DEVICES_PER_TRANSACTION`] of them, so a
/// kill loses at most the batch being written, never half a device.
const BATCH: usize = 1000;
/// Communication summaries per transaction.
const COMMS_BATCH: usize = 50_000;
/// Findings per transaction: bounds the write-ahead log a transaction grows (gen_big's 73,556
/// findings are 20 MB in one); a commit costs an fsync and a checkpoint, so few and large.
const FINDINGS_BATCH: usize = 100_000;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Wall-clock time for run bookkeeping (never packet time).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// A communication summary's key: device (index into the inventory), peer, service port,
/// transport, app, direction.
type CommKey<'a> = (usize, IpAddr, u16, &'a str, &'a str, Direction);

/// A communication summary's counters, summed over the flows with its key.
struct CommSum {
    flows: u64,
    packets: u64,
    bytes: u64,
    first_seen_ns: i64,
    last_seen_ns: i64,
}

/// Saves the report's devices, their communications and the findings as one run; returns a line for
/// the user.
pub fn save(url: &str, report: &Report, sources: &[String]) -> anyhow::Result<String> {
    std::thread::scope(|scope| {
        // The communication and finding records are built beside the devices' transactions, while
        // this thread mostly waits for SQLite.
        let prepared = scope.spawn(|| {
            let t = std::time::Instant::now();
            let p = prepare(report);
            (p, t.elapsed())
        });
        let mut phases = Phases::new("persist");
        let mut db = Store::open(url)?;
        let run = db.begin_run(&NewRun {
            started_ns: now_ns(),
            tool: format!("medsentry {}", env!("CARGO_PKG_VERSION")),
            sources: sources.to_vec(),
        })?;
        phases.lap("open");
        let devices: Vec<DeviceRecord> = report.inventory.iter().map(DeviceRecord::from).collect();
        let mut added = 0;
        let mut changes = 0;
        for batch in devices.chunks(BATCH) {
            let stats = db.save_devices(run, batch)?;
            added += stats.added;
            changes += stats.changes;
        }
        phases.lap("devices");
        let (Prepared { comms, findings }, took) = prepared
            .join()
            .map_err(|_| anyhow::anyhow!("preparing the records to save failed unexpectedly"))?;
        phases.lap("waiting for records");
        phases.note("records built beside devices", took);
        for batch in comms.chunks(COMMS_BATCH) {
            db.save_communications(run, batch)?;
        }
        phases.lap("communications");
        for batch in findings.chunks(FINDINGS_BATCH) {
            db.save_findings(run, batch)?;
        }
        phases.lap("findings");

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
        phases.lap("finish");
        phases.print();
        Ok(format!(
            "saved run {run} to {name}: {} devices ({added} new, {changes} changes), {} findings",
            devices.len(),
            findings.len()
        ))
    })
}

/// What is saved after the devices, borrowing from the report.
struct Prepared<'r> {
    comms: Vec<CommRecord>,
    findings: Vec<FindingRef<'r>>,
}

fn prepare(report: &Report) -> Prepared<'_> {
    // Which device each address belongs to (the last one listed, should two share it).
    let inventory = &report.inventory;
    let mut owner: FastMap<IpAddr, usize> = FastMap::default();
    for (i, d) in inventory.iter().enumerate() {
        for ip in &d.ips {
            owner.insert(*ip, i);
        }
    }
    // One record per (device, peer, service port, transport, app, direction), summed here: a capture
    // has many flows per pair (gen_big: 95,000 flows, 17,000 pairs), and each upsert costs a lookup.
    // Keyed by address and inventory index: strings only for the records saved.
    let mut sums: FastMap<CommKey<'_>, CommSum> = FastMap::default();
    for f in &report.flows {
        let (c, s) = (f.client.ip, f.server.ip);
        for (me, peer, direction) in [(c, s, Direction::Out), (s, c, Direction::In)] {
            let Some(&d) = owner.get(&me) else {
                continue;
            };
            let key = (d, peer, f.server.port, &f.transport[..], f.app, direction);
            let (first, last) = (f.first_seen.0, f.last_seen.0);
            let r = sums.entry(key).or_insert(CommSum {
                flows: 0,
                packets: 0,
                bytes: 0,
                first_seen_ns: first,
                last_seen_ns: last,
            });
            r.flows += 1;
            r.packets += f.packets;
            r.bytes += f.bytes;
            r.first_seen_ns = r.first_seen_ns.min(first);
            r.last_seen_ns = r.last_seen_ns.max(last);
        }
    }
    let mut comms: Vec<CommRecord> = sums
        .into_iter()
        .map(
            |((d, peer, peer_port, transport, app, direction), s)| CommRecord {
                device: inventory[d].id.clone(),
                peer_ip: peer.to_string(),
                peer_port,
                transport: transport.to_string(),
                app: app.to_string(),
                direction,
                peer_device: owner.get(&peer).map(|&p| inventory[p].id.clone()),
                flows: s.flows,
                packets: s.packets,
                bytes: s.bytes,
                first_seen_ns: s.first_seen_ns,
                last_seen_ns: s.last_seen_ns,
            },
        )
        .collect();
    comms.sort_unstable_by(|a, b| {
        (
            &a.device,
            &a.peer_ip,
            a.peer_port,
            &a.transport,
            &a.app,
            a.direction,
        )
            .cmp(&(
                &b.device,
                &b.peer_ip,
                b.peer_port,
                &b.transport,
                &b.app,
                b.direction,
            ))
    });

    // A finding names its device by address, as the report prints it.
    let by_address: FastMap<String, usize> =
        owner.iter().map(|(ip, &d)| (ip.to_string(), d)).collect();
    let findings = report
        .findings
        .iter()
        .map(|f| FindingRef {
            kind: f.kind,
            severity: f.severity,
            device: by_address
                .get(&f.device[..])
                .map(|&d| inventory[d].id.as_str()),
            flow: f.flow,
            title: &f.title[..],
            detail: &f.detail[..],
        })
        .collect();
    Prepared { comms, findings }
}
