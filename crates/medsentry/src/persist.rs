//! `analyze --db`: what an analysis found, merged into the inventory database.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, SyncSender, sync_channel};

use anyhow::Context;
use store::{CommRecord, DeviceRecord, Direction, FindingRef, NewRun, RunId, RunTotals, Store};

use crate::report::{FindingOut, FlowOut, Report, Rows};
use crate::timings::Phases;

/// Devices saved per call: the store commits every [`store::DEVICES_PER_TRANSACTION`] of them, so a
/// kill loses at most the batch being written, never half a device.
const BATCH: usize = 1000;
/// Communication summaries per transaction.
const COMMS_BATCH: usize = 50_000;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Wall-clock time for run bookkeeping (never packet time).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// A communication summary's key while the analysis runs: the client's address, the server's, the
/// service port, transport and app. Each is two summaries, one for each end.
type AddressCommKey = (IpAddr, IpAddr, u16, Cow<'static, str>, &'static str);
/// The same once addresses are devices: the device's index in the inventory for the address.
type CommKey<'a> = (usize, IpAddr, u16, &'a str, &'static str, Direction);

/// A communication summary's counters, summed over the flows with its key.
#[derive(Clone, Copy)]
struct CommSum {
    flows: u64,
    packets: u64,
    bytes: u64,
    first_seen_ns: i64,
    last_seen_ns: i64,
}

impl CommSum {
    fn add(&mut self, o: &CommSum) {
        self.flows += o.flows;
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.first_seen_ns = self.first_seen_ns.min(o.first_seen_ns);
        self.last_seen_ns = self.last_seen_ns.max(o.last_seen_ns);
    }
}

/// Flows sent to the database thread at a time.
const TAP_FLOWS: usize = 16_384;
/// Batches queued for the database thread: past this the analysis waits for the database, so what
/// is in flight stays bounded (a few megabytes) however slow the database is.
const TAP_BATCHES_IN_FLIGHT: usize = 4;

/// A finding's key while the analysis runs: its address, kind, and title (an index into
/// [`Findings::titles`]). The run's findings are summed per key.
type FindingKey = (IpAddr, &'static str, usize);

/// At most this many field or user names are kept with one summed finding.
const FINDING_FIELDS: usize = 64;

/// Findings are handed to the database thread, and written, at most this often while the analysis runs
/// (and once at its end; a full piece of the report's findings is handed over at once): a kill loses
/// about this much of the run's findings, and a finding repeated on every flow is written a few times,
/// not once per flow.
const FINDINGS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// A finding summed over the run's flows so far.
struct FindingSum {
    severity: &'static str,
    flows: u64,
    first_flow: u64,
    last_flow: u64,
    /// The key's address as the report prints it.
    address: Box<str>,
    /// The first flow's.
    detail: Box<str>,
    /// PHI field names (static), then user names.
    fields: Vec<Cow<'static, str>>,
    /// Changed since it was last handed over.
    dirty: bool,
}

/// The run's findings, summed per key on the database thread from the report's own rows: most flows
/// repeat a finding already seen (gen_big: 73,556 findings, 3,404 keys), and only the sums are
/// written.
#[derive(Default)]
struct Findings {
    /// Each distinct title's index, and the titles by index.
    titles: FastMap<Box<str>, usize>,
    title_names: Vec<Box<str>>,
    sums: FastMap<FindingKey, FindingSum>,
    /// Flows with a finding, summed over every key.
    flows: u64,
}

/// A summed finding as handed to the database thread.
struct FindingRow {
    kind: &'static str,
    severity: &'static str,
    address: Box<str>,
    title: Box<str>,
    flows: u64,
    first_flow: u64,
    last_flow: u64,
    detail: Box<str>,
    fields: Vec<String>,
}

impl Findings {
    fn add(&mut self, f: &FindingOut) {
        use std::collections::hash_map::Entry;
        self.flows += 1;
        let title = match self.titles.get(f.title.as_str()) {
            Some(&t) => t,
            None => {
                let t = self.title_names.len();
                self.title_names.push(f.title.as_str().into());
                self.titles.insert(f.title.as_str().into(), t);
                t
            }
        };
        let sum = match self.sums.entry((f.device, f.kind, title)) {
            Entry::Occupied(e) => {
                let sum = e.into_mut();
                // The worst of the flows' severities.
                if detect::Severity::parse(f.severity) > detect::Severity::parse(sum.severity) {
                    sum.severity = f.severity;
                }
                sum.flows += 1;
                if f.flow < sum.first_flow {
                    // Flows end out of order: the detail is the first flow's.
                    (sum.first_flow, sum.detail) = (f.flow, f.detail.as_str().into());
                }
                sum.last_flow = sum.last_flow.max(f.flow);
                sum.dirty = true;
                sum
            }
            Entry::Vacant(e) => e.insert(FindingSum {
                severity: f.severity,
                flows: 1,
                first_flow: f.flow,
                last_flow: f.flow,
                address: capture::addr::DisplayIp(f.device).to_string().into(),
                detail: f.detail.as_str().into(),
                fields: Vec::new(),
                dirty: true,
            }),
        };
        // Nearly every flow of a key names the same PHI fields again: they are literals, found by
        // address before any text is compared.
        for &name in &f.phi_fields {
            if sum.fields.len() < FINDING_FIELDS && !has_name(&sum.fields, name) {
                sum.fields.push(Cow::Borrowed(name));
            }
        }
        for name in &f.usernames {
            if sum.fields.len() < FINDING_FIELDS && !has_name(&sum.fields, name) {
                sum.fields.push(Cow::Owned(name.clone()));
            }
        }
    }

    /// What changed since the last call, as the run's sums so far.
    fn take_dirty(&mut self) -> Vec<FindingRow> {
        let titles = &self.title_names;
        self.sums
            .iter_mut()
            .filter(|(_, sum)| sum.dirty)
            .map(|((_, kind, title), sum)| {
                sum.dirty = false;
                FindingRow {
                    kind,
                    severity: sum.severity,
                    address: sum.address.clone(),
                    title: titles[*title].clone(),
                    flows: sum.flows,
                    first_flow: sum.first_flow,
                    last_flow: sum.last_flow,
                    detail: sum.detail.clone(),
                    fields: sum.fields.iter().map(|n| n.to_string()).collect(),
                }
            })
            .collect()
    }
}

/// Whether `names` holds `name`: the same text at the same address first, then the same text.
fn has_name(names: &[Cow<'static, str>], name: &str) -> bool {
    names.iter().any(|n| std::ptr::eq(n.as_ref(), name)) || names.iter().any(|n| n == name)
}

/// Writes `rows` in one transaction; returns the run's count of findings in the database, or `None`
/// when there is nothing to write.
fn save_findings(db: &mut Store, run: RunId, rows: &[FindingRow]) -> anyhow::Result<Option<u64>> {
    let mut refs: Vec<FindingRef<'_>> = rows
        .iter()
        .map(|f| FindingRef {
            kind: f.kind,
            severity: f.severity,
            address: Some(&f.address),
            title: &f.title,
            flows: f.flows,
            flow: f.first_flow,
            last_flow: f.last_flow,
            detail: &f.detail,
            fields: &f.fields,
        })
        .collect();
    if refs.is_empty() {
        return Ok(None);
    }
    // New ones in the order of their first flows: the database numbers them in that order, and a
    // device's findings are listed by number.
    refs.sort_unstable_by_key(|f| (f.flow, f.address, f.kind, f.title));
    Ok(Some(db.save_findings(run, &refs)?))
}

/// What the communication summaries need of a finished flow.
struct TapFlow {
    client: IpAddr,
    server: IpAddr,
    port: u16,
    transport: Cow<'static, str>,
    app: &'static str,
    sum: CommSum,
}

/// A piece of the analysis's output for the database thread.
#[derive(Default)]
struct Batch {
    /// Pieces of the report's findings, shared with it: the database thread sums them.
    findings: Vec<Arc<Vec<FindingOut>>>,
    flows: Vec<TapFlow>,
}

/// Where the analysis hands its findings and finished flows to the database thread: flows in
/// batches of [`TAP_FLOWS`], findings as the report's own pieces (no copy), each when it is full or
/// [`FINDINGS_EVERY`] after the last. The analysis thread does no more than that: summing findings
/// (two hash lookups and a scan of names each) cost it 0.06 s of gen_big's 1.3 s with one thread.
pub struct Tap {
    tx: SyncSender<Batch>,
    batch: Batch,
    /// When findings were last handed over.
    handed: std::time::Instant,
    /// The database thread stopped (its error is reported when it is joined): nothing more is sent.
    closed: bool,
}

impl Tap {
    /// A flow ended: `flow` is its row, and `findings` the report's findings, with the flow's last.
    pub fn flow_ended(&mut self, flow: &FlowOut, findings: &mut Rows<FindingOut>) {
        if self.closed {
            return;
        }
        self.batch.flows.push(TapFlow {
            client: flow.client.ip,
            server: flow.server.ip,
            port: flow.server.port,
            transport: flow.transport.clone(),
            app: flow.app,
            sum: CommSum {
                flows: 1,
                packets: flow.packets,
                bytes: flow.bytes,
                first_seen_ns: flow.first_seen.0,
                last_seen_ns: flow.last_seen.0,
            },
        });
        let hand_findings = findings.newest_full()
            || (findings.has_unshared() && self.handed.elapsed() >= FINDINGS_EVERY);
        if hand_findings {
            self.batch.findings = findings.share_new();
            self.handed = std::time::Instant::now();
        }
        if hand_findings || self.batch.flows.len() >= TAP_FLOWS {
            let batch = std::mem::take(&mut self.batch);
            self.closed |= self.tx.send(batch).is_err();
        }
    }

    /// Sends what is left and closes the tap: the database thread saves it and stops waiting.
    pub fn close(mut self, findings: &mut Rows<FindingOut>) {
        if !self.closed {
            self.batch.findings = findings.share_new();
            // An error is the database thread's, reported when it is joined.
            let _ = self.tx.send(std::mem::take(&mut self.batch));
        }
    }
}

/// The database side of `analyze --db`, on its own thread from the start of the analysis: it opens
/// the store and begins the run, then saves findings and sums flows into communication summaries as
/// the analysis hands them over (on the core the analysis leaves idle); [`Saver::finish`] adds the
/// devices, their addresses and communications once the report is built.
pub struct Saver {
    early: std::thread::JoinHandle<anyhow::Result<Early>>,
}

/// What the database thread did while the analysis ran.
struct Early {
    db: Store,
    run: RunId,
    /// Flows with a finding, and the findings in the database they were summed into.
    findings: (u64, u64),
    comms: FastMap<AddressCommKey, CommSum>,
    phases: Phases,
}

impl Saver {
    /// Starts the database thread for `url`; the analysis feeds it through the returned tap.
    pub fn start(url: &str, sources: Vec<String>) -> (Saver, Tap) {
        let (tx, rx) = sync_channel::<Batch>(TAP_BATCHES_IN_FLIGHT);
        let url = url.to_string();
        let early = std::thread::spawn(move || -> anyhow::Result<Early> {
            let mut phases = Phases::new("persist");
            let mut db = Store::open(&url)?;
            let run = db.begin_run(&NewRun {
                started_ns: now_ns(),
                tool: format!("medsentry {}", env!("CARGO_PKG_VERSION")),
                sources,
            })?;
            phases.lap("open");
            // Flows with a finding, and the findings in the database they were summed into.
            let mut findings = (0, 0);
            let mut sums = Findings::default();
            let mut saved = std::time::Instant::now();
            // One record per (client, server, service port, transport, app), summed here: a capture
            // has many flows per pair (gen_big: 95,000 flows, 17,000 pairs). Each end's summary is
            // derived from it once the devices are known.
            let mut comms: FastMap<AddressCommKey, CommSum> = FastMap::default();
            // Until the tap closes. Findings are summed as they come and written at most every
            // FINDINGS_EVERY, each time in a transaction a kill cannot undo, and once at the end.
            loop {
                let (batch, closed) = match rx.recv_timeout(FINDINGS_EVERY) {
                    Ok(batch) => (Some(batch), false),
                    Err(RecvTimeoutError::Timeout) => (None, false),
                    Err(RecvTimeoutError::Disconnected) => (None, true),
                };
                if let Some(batch) = batch {
                    for f in batch.flows {
                        comms
                            .entry((f.client, f.server, f.port, f.transport, f.app))
                            .and_modify(|sum| sum.add(&f.sum))
                            .or_insert(f.sum);
                    }
                    for piece in &batch.findings {
                        for f in piece.iter() {
                            sums.add(f);
                        }
                    }
                }
                if closed || saved.elapsed() >= FINDINGS_EVERY {
                    if let Some(n) = save_findings(&mut db, run, &sums.take_dirty())? {
                        findings = (sums.flows, n);
                    }
                    saved = std::time::Instant::now();
                }
                if closed {
                    break;
                }
            }
            phases.lap("findings and flows, during the analysis");
            Ok(Early {
                db,
                run,
                findings,
                comms,
                phases,
            })
        });
        let tap = Tap {
            tx,
            batch: Batch::default(),
            handed: std::time::Instant::now(),
            closed: false,
        };
        (Saver { early }, tap)
    }

    /// Saves the report's devices, which device had each address, and their communications, and
    /// finishes the run; returns a line for the user. The tap must be closed first.
    pub fn finish(self, report: &Report) -> anyhow::Result<String> {
        let Early {
            mut db,
            run,
            findings,
            comms,
            mut phases,
        } = self
            .early
            .join()
            .map_err(|_| anyhow::anyhow!("the database writer stopped unexpectedly"))??;
        phases.lap("waiting for the analysis");
        std::thread::scope(|scope| {
            // The communication records are built beside the devices' transactions, while this
            // thread mostly waits for the database.
            let prepared = scope.spawn(|| {
                let t = std::time::Instant::now();
                let p = prepare(report, comms);
                (p, t.elapsed())
            });
            let devices: Vec<DeviceRecord> =
                report.inventory.iter().map(DeviceRecord::from).collect();
            let mut added = 0;
            let mut changes = 0;
            for batch in devices.chunks(BATCH) {
                let stats = db.save_devices(run, batch)?;
                added += stats.added;
                changes += stats.changes;
            }
            phases.lap("devices");
            let (Prepared { comms, owners }, took) = prepared.join().map_err(|_| {
                anyhow::anyhow!("preparing the records to save failed unexpectedly")
            })?;
            phases.lap("waiting for records");
            phases.note("records built beside devices", took);
            let owners: Vec<(&str, &str)> = owners
                .iter()
                .map(|(address, d)| (address.as_str(), report.inventory[*d].id.as_str()))
                .collect();
            db.save_address_owners(run, &owners)?;
            phases.lap("addresses");
            for batch in comms.chunks(COMMS_BATCH) {
                db.save_communications(run, batch)?;
            }
            phases.lap("communications");

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
                "saved run {run} to {name}: {} devices ({added} new, {changes} changes), \
                 {} findings ({} flows)",
                devices.len(),
                findings.1,
                findings.0,
            ))
        })
    }
}

/// What is saved after the devices.
struct Prepared {
    comms: Vec<CommRecord>,
    /// Each address of a device, as the report prints addresses, with the device's index.
    owners: Vec<(String, usize)>,
}

fn prepare(report: &Report, by_address: FastMap<AddressCommKey, CommSum>) -> Prepared {
    // Which device each address belongs to (the last one listed, should two share it).
    let inventory = &report.inventory;
    let mut owner: FastMap<IpAddr, usize> = FastMap::default();
    for (i, d) in inventory.iter().enumerate() {
        for ip in &d.ips {
            owner.insert(*ip, i);
        }
    }
    // The summaries by address, summed by device (a device can have several addresses); addresses
    // of no device are not saved. Strings only for the records saved.
    let mut sums: FastMap<CommKey<'_>, CommSum> = FastMap::default();
    for ((client, server, port, transport, app), sum) in &by_address {
        let ends = [
            (client, server, Direction::Out),
            (server, client, Direction::In),
        ];
        for (me, peer, dir) in ends {
            let Some(&d) = owner.get(me) else {
                continue;
            };
            sums.entry((d, *peer, *port, transport, app, dir))
                .and_modify(|s| s.add(sum))
                .or_insert(*sum);
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
    // In the database's key order (the direction as its text): the store takes them as they are,
    // and its B-tree grows at one end.
    comms.sort_unstable_by(|a, b| {
        (
            &a.device,
            &a.peer_ip,
            a.peer_port,
            &a.transport,
            &a.app,
            a.direction.as_str(),
        )
            .cmp(&(
                &b.device,
                &b.peer_ip,
                b.peer_port,
                &b.transport,
                &b.app,
                b.direction.as_str(),
            ))
    });

    // Findings name addresses as the report prints them; these say which device had each.
    let owners = owner.iter().map(|(ip, &d)| (ip.to_string(), d)).collect();
    Prepared { comms, owners }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(
        address: &str,
        title: &str,
        flow: u64,
        severity: &'static str,
        names: &[&'static str],
    ) -> FindingOut {
        FindingOut {
            kind: "cleartext-phi",
            severity,
            flow,
            device: address.parse().unwrap(),
            title: title.into(),
            detail: format!("flow {flow}"),
            phi_fields: names.to_vec(),
            usernames: Vec::new(),
        }
    }

    /// Findings reach the database while the analysis still runs: a full piece of the report's
    /// findings is handed over with the flow that filled it, and the database thread commits its sums
    /// within FINDINGS_EVERY, before the tap closes; closing writes what came after.
    #[test]
    fn findings_are_committed_while_the_analysis_runs() {
        let scratch = testkit::Scratch::new("persist-early");
        let path = scratch.path("e.db");
        let url = path.to_str().unwrap();
        let (saver, mut tap) = Saver::start(url, vec!["e.pcap".into()]);
        let mut rows = Rows::default();
        let mut flow = 0;
        while !rows.newest_full() {
            rows.push(finding("10.0.0.1", "PHI", flow, "high", &["PID-5"]));
            flow += 1;
        }
        tap.flow_ended(&crate::report::test_flow(flow), &mut rows);
        assert!(!rows.has_unshared(), "a full piece is handed over at once");
        let stored = || {
            let mut db = Store::open(url).unwrap();
            let n = db.counts().unwrap().findings;
            db.close().unwrap();
            n
        };
        let deadline = std::time::Instant::now() + 3 * FINDINGS_EVERY;
        while stored() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "nothing written while the analysis runs"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // One more finding of another key, then the end of the analysis.
        rows.push(finding("10.0.0.2", "PHI", flow, "high", &[]));
        tap.close(&mut rows);
        let early = saver.early.join().unwrap().unwrap();
        assert_eq!(
            early.findings,
            (flow + 1, 2),
            "flows with a finding, findings stored"
        );
        early.db.close().unwrap();
        assert_eq!(stored(), 2);
    }

    /// What the database thread does every few seconds: only what changed is written, and a finding
    /// written again carries the run's sums so far (worst severity, first flow and its detail, last
    /// flow, every name once).
    #[test]
    fn findings_written_again_carry_the_runs_sums() {
        let scratch = testkit::Scratch::new("persist-findings");
        let mut db = Store::open(scratch.path("p.db").to_str().unwrap()).unwrap();
        let run = db
            .begin_run(&NewRun {
                started_ns: 1,
                tool: "test".into(),
                sources: Vec::new(),
            })
            .unwrap();
        let device = DeviceRecord {
            id: "mac-020000000001".into(),
            mac: Some("02:00:00:00:00:01".into()),
            ips: vec!["10.0.0.1".into()],
            first_seen_ns: 1,
            last_seen_ns: 2,
            fields: Vec::new(),
            evidence: Vec::new(),
        };
        db.save_devices(run, std::slice::from_ref(&device)).unwrap();
        db.save_address_owners(run, &[("10.0.0.1", &device.id)])
            .unwrap();

        let mut f = Findings::default();
        f.add(&finding("10.0.0.1", "PHI", 5, "high", &["PID-5"]));
        f.add(&finding("10.0.0.1", "PHI", 9, "high", &["PID-3", "PID-5"]));
        let mut save = |f: &mut Findings| save_findings(&mut db, run, &f.take_dirty()).unwrap();
        assert_eq!(save(&mut f), Some(1));
        assert_eq!(save(&mut f), None, "nothing changed");
        f.add(&finding("10.0.0.1", "PHI", 2, "critical", &["PID-19"]));
        f.add(&finding("10.0.0.1", "other", 3, "medium", &[]));
        // User names are kept once, after the PHI field names.
        let mut login = finding("10.0.0.1", "other", 6, "medium", &[]);
        login.usernames = vec!["admin".into()];
        f.add(&login);
        f.add(&login);
        // The same title at another address is another finding.
        f.add(&finding("10.0.0.2", "other", 4, "medium", &[]));
        assert_eq!(save(&mut f), Some(3));
        assert_eq!(f.flows, 7);
        assert_eq!(f.title_names.len(), 2, "each title kept once");

        let stored = db.device(&device.id).unwrap().unwrap().findings;
        let got: Vec<_> = stored
            .iter()
            .map(|s| {
                let s = &s.finding;
                (
                    s.title.as_str(),
                    s.severity.as_str(),
                    s.flows,
                    s.flow,
                    s.last_flow,
                    s.detail.as_str(),
                    s.fields.join(" "),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "PHI",
                    "critical",
                    3,
                    2,
                    9,
                    "flow 2",
                    "PID-5 PID-3 PID-19".to_string()
                ),
                ("other", "medium", 3, 3, 6, "flow 3", "admin".to_string()),
            ]
        );
    }
}
