//! Writes: each function is one transaction.

use std::collections::{HashMap, HashSet};

use sqlx::AssertSqlSafe;

use crate::db::{Conn, Val};
use crate::merge::{OldField, db_count, db_int, replaces};
use crate::{CommRecord, CommStats, DeviceRecord, FindingRef, NewRun, RunId, RunTotals, SaveStats};

pub(crate) enum Error {
    Sql(sqlx::Error),
    NoSuchRun(i64),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        Error::Sql(e)
    }
}

/// The fields that have a column of their own in `devices`, in column order.
const COLUMN_FIELDS: [&str; 8] = [
    "category",
    "criticality",
    "vendor",
    "model",
    "hostname",
    "software",
    "role",
    "modality",
];

/// Runs `body` in a writing transaction: committed if it succeeds, rolled back otherwise.
pub(crate) async fn in_write<T>(
    conn: &mut Conn,
    body: impl AsyncFnOnce(&mut Conn) -> Result<T, Error>,
) -> Result<T, Error> {
    conn.begin_write().await?;
    match body(conn).await {
        Ok(v) => match conn.commit().await {
            Ok(()) => Ok(v),
            Err(e) => {
                conn.rollback().await;
                Err(e.into())
            }
        },
        Err(e) => {
            conn.rollback().await;
            Err(e)
        }
    }
}

/// `INSERT INTO ... (cols) <rows> <tail>`: see [`Conn::insert_rows`].
async fn insert_rows(
    conn: &mut Conn,
    head: &str,
    tail: &str,
    cols: usize,
    vals: &[Val<'_>],
) -> Result<(), Error> {
    Ok(conn.insert_rows(head, tail, cols, vals).await?)
}

/// Adds to a run's counters; fails if the run does not exist (before anything else is written).
async fn count_in_run(
    conn: &mut Conn,
    run: RunId,
    seen: u64,
    added: u64,
    changed: u64,
    comms: u64,
    findings: u64,
) -> Result<(), Error> {
    let n = conn
        .execute(
            "UPDATE runs SET devices_seen = devices_seen + $1, devices_added = devices_added + $2, \
             fields_changed = fields_changed + $3, communications = communications + $4, \
             findings = findings + $5 WHERE id = $6",
            &[
                Val::I(db_int(seen)),
                Val::I(db_int(added)),
                Val::I(db_int(changed)),
                Val::I(db_int(comms)),
                Val::I(db_int(findings)),
                Val::I(run.0),
            ],
        )
        .await?;
    if n == 0 {
        return Err(Error::NoSuchRun(run.0));
    }
    Ok(())
}

pub(crate) async fn begin_run(conn: &mut Conn, run: &NewRun) -> Result<RunId, Error> {
    in_write(conn, async |c| {
        let rows = c
            .fetch(
                "INSERT INTO runs (started_ns, tool) VALUES ($1, $2) RETURNING id",
                &[Val::I(run.started_ns), Val::T(&run.tool)],
            )
            .await?;
        let id = rows.first().ok_or(sqlx::Error::RowNotFound)?.i64(0)?;
        let seqs: Vec<i64> = (0..run.sources.len() as i64).collect();
        let mut vals = Vec::with_capacity(run.sources.len() * 3);
        for (seq, name) in seqs.iter().zip(&run.sources) {
            vals.extend([Val::I(id), Val::I(*seq), Val::T(name)]);
        }
        insert_rows(c, "INSERT INTO run_sources (run, seq, name)", "", 3, &vals).await?;
        Ok(RunId(id))
    })
    .await
}

pub(crate) async fn finish_run(conn: &mut Conn, run: RunId, t: &RunTotals) -> Result<(), Error> {
    in_write(conn, async |c| {
        let n = c
            .execute(
                "UPDATE runs SET finished_ns = $1, packets = $2, bytes = $3, first_packet_ns = $4, \
                 last_packet_ns = $5 WHERE id = $6",
                &[
                    Val::I(t.finished_ns),
                    Val::I(db_int(t.packets)),
                    Val::I(db_int(t.bytes)),
                    Val::OI(t.first_packet_ns),
                    Val::OI(t.last_packet_ns),
                    Val::I(run.0),
                ],
            )
            .await?;
        if n == 0 {
            return Err(Error::NoSuchRun(run.0));
        }
        Ok(())
    })
    .await
}

const UPSERT_DEVICE: &str = "ON CONFLICT (id) DO UPDATE SET \
    mac = COALESCE(excluded.mac, devices.mac), \
    first_seen_ns = CASE WHEN excluded.first_seen_ns < devices.first_seen_ns \
        THEN excluded.first_seen_ns ELSE devices.first_seen_ns END, \
    last_seen_ns = CASE WHEN excluded.last_seen_ns > devices.last_seen_ns \
        THEN excluded.last_seen_ns ELSE devices.last_seen_ns END, \
    last_run = excluded.last_run, category = excluded.category, \
    criticality = excluded.criticality, vendor = excluded.vendor, model = excluded.model, \
    hostname = excluded.hostname, software = excluded.software, role = excluded.role, \
    modality = excluded.modality";

const UPSERT_ADDRESS: &str = "ON CONFLICT (device, ip) DO UPDATE SET \
    first_seen_ns = CASE WHEN excluded.first_seen_ns < device_addresses.first_seen_ns \
        THEN excluded.first_seen_ns ELSE device_addresses.first_seen_ns END, \
    last_seen_ns = CASE WHEN excluded.last_seen_ns > device_addresses.last_seen_ns \
        THEN excluded.last_seen_ns ELSE device_addresses.last_seen_ns END, \
    last_run = excluded.last_run";

const UPSERT_FIELD: &str = "ON CONFLICT (device, field) DO UPDATE SET \
    value = excluded.value, confidence = excluded.confidence, rule = excluded.rule, \
    reason = excluded.reason, evidence_field = excluded.evidence_field, \
    evidence_value = excluded.evidence_value, run = excluded.run";

const UPSERT_EVIDENCE: &str = "ON CONFLICT (device, field, value) DO UPDATE SET \
    first_seen_ns = CASE WHEN excluded.first_seen_ns < evidence.first_seen_ns \
        THEN excluded.first_seen_ns ELSE evidence.first_seen_ns END, \
    last_seen_ns = CASE WHEN excluded.last_seen_ns > evidence.last_seen_ns \
        THEN excluded.last_seen_ns ELSE evidence.last_seen_ns END, \
    count = evidence.count + excluded.count, last_run = excluded.last_run";

/// Rows `WHERE <col> IN (ids)`, a bounded number of ids per statement.
async fn rows_for_ids(
    conn: &mut Conn,
    select: &str,
    col: &str,
    ids: &[&str],
) -> Result<Vec<crate::db::Row>, Error> {
    let mut out = Vec::new();
    for chunk in ids.chunks(1000) {
        let sql = format!(
            "{select} WHERE {col} IN ({})",
            conn.placeholders(chunk.len())
        );
        let args: Vec<Val<'_>> = chunk.iter().map(|s| Val::T(s)).collect();
        out.extend(conn.fetch(AssertSqlSafe(sql), &args).await?);
    }
    Ok(out)
}

/// One transaction: `devices` (already normalised, one record per id) with everything they carry.
pub(crate) async fn save_devices(
    conn: &mut Conn,
    run: RunId,
    devices: &[DeviceRecord],
) -> Result<SaveStats, Error> {
    in_write(conn, async |c| {
        let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
        // What is stored of these devices, read under the write lock.
        let known: HashSet<String> = rows_for_ids(c, "SELECT id FROM devices", "id", &ids)
            .await?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_, _>>()?;
        let mut old_fields: HashMap<(String, String), OldField> = HashMap::new();
        let mut old_ips: HashSet<(String, String)> = HashSet::new();
        if !known.is_empty() {
            let known_ids: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| known.contains(*id))
                .collect();
            for r in rows_for_ids(
                c,
                "SELECT device, field, value, confidence, rule, reason, evidence_field, evidence_value \
                 FROM device_fields",
                "device",
                &known_ids,
            )
            .await?
            {
                old_fields.insert(
                    (r.text(0)?, r.text(1)?),
                    OldField {
                        value: r.text(2)?,
                        confidence: r.f64(3)?,
                        rule: r.text(4)?,
                        reason: r.text(5)?,
                        evidence_field: r.text(6)?,
                        evidence_value: r.text(7)?,
                    },
                );
            }
            for r in rows_for_ids(
                c,
                "SELECT device, ip FROM device_addresses",
                "device",
                &known_ids,
            )
            .await?
            {
                old_ips.insert((r.text(0)?, r.text(1)?));
            }
        }

        // Decide, per device, which fields the run replaces and what changes.
        struct Change<'a> {
            device: &'a str,
            field: &'a str,
            old: Option<&'a str>,
            new: &'a str,
        }
        let mut changes: Vec<Change<'_>> = Vec::new();
        let mut written_fields = Vec::new();
        let mut columns: Vec<[Option<&str>; 8]> = Vec::with_capacity(devices.len());
        let mut key = (String::new(), String::new());
        for d in devices {
            let existing = known.contains(&d.id);
            let mut cols: [Option<&str>; 8] = [None; 8];
            key.0.clone_from(&d.id);
            // Stored values first, then what this run replaces.
            if existing {
                for (i, name) in COLUMN_FIELDS.iter().enumerate() {
                    key.1.clear();
                    key.1.push_str(name);
                    cols[i] = old_fields.get(&key).map(|o| o.value.as_str());
                }
            }
            for f in &d.fields {
                key.1.clone_from(&f.field);
                let old = old_fields.get(&key);
                if !replaces(old, f) {
                    continue;
                }
                if existing && old.is_none_or(|o| o.value != f.value) {
                    changes.push(Change {
                        device: &d.id,
                        field: &f.field,
                        old: old.map(|o| o.value.as_str()),
                        new: &f.value,
                    });
                }
                if let Some(i) = COLUMN_FIELDS.iter().position(|n| *n == f.field) {
                    cols[i] = Some(&f.value);
                }
                // The same decision again keeps its row (and the run that first made it).
                if !old.is_some_and(|o| o.same_as(f)) {
                    written_fields.push((d.id.as_str(), f));
                }
            }
            if existing {
                for ip in &d.ips {
                    if !old_ips.contains(&(d.id.clone(), ip.clone())) {
                        changes.push(Change {
                            device: &d.id,
                            field: "ip",
                            old: None,
                            new: ip,
                        });
                    }
                }
            }
            columns.push(cols);
        }

        let added = devices.len() - known.len();
        count_in_run(
            c,
            run,
            devices.len() as u64,
            added as u64,
            changes.len() as u64,
            0,
            0,
        )
        .await?;

        let mut vals = Vec::with_capacity(devices.len() * 14);
        for (d, cols) in devices.iter().zip(&columns) {
            vals.extend([
                Val::T(&d.id),
                Val::OT(d.mac.as_deref()),
                Val::I(d.first_seen_ns),
                Val::I(d.last_seen_ns),
                Val::I(run.0),
                Val::I(run.0),
                Val::T(cols[0].unwrap_or("unknown")),
            ]);
            vals.extend(cols[1..].iter().map(|v| Val::OT(*v)));
        }
        insert_rows(
            c,
            "INSERT INTO devices (id, mac, first_seen_ns, last_seen_ns, first_run, last_run, \
             category, criticality, vendor, model, hostname, software, role, modality)",
            UPSERT_DEVICE,
            14,
            &vals,
        )
        .await?;

        vals.clear();
        for d in devices {
            for ip in &d.ips {
                vals.extend([
                    Val::T(&d.id),
                    Val::T(ip),
                    Val::I(d.first_seen_ns),
                    Val::I(d.last_seen_ns),
                    Val::I(run.0),
                    Val::I(run.0),
                ]);
            }
        }
        insert_rows(
            c,
            "INSERT INTO device_addresses (device, ip, first_seen_ns, last_seen_ns, first_run, \
             last_run)",
            UPSERT_ADDRESS,
            6,
            &vals,
        )
        .await?;

        vals.clear();
        for (id, f) in &written_fields {
            vals.extend([
                Val::T(id),
                Val::T(&f.field),
                Val::T(&f.value),
                Val::F(f64::from(f.confidence)),
                Val::T(&f.rule),
                Val::T(&f.reason),
                Val::T(&f.evidence_field),
                Val::T(&f.evidence_value),
                Val::I(run.0),
            ]);
        }
        insert_rows(
            c,
            "INSERT INTO device_fields (device, field, value, confidence, rule, reason, \
             evidence_field, evidence_value, run)",
            UPSERT_FIELD,
            9,
            &vals,
        )
        .await?;

        vals.clear();
        for d in devices {
            for e in &d.evidence {
                vals.extend([
                    Val::T(&d.id),
                    Val::T(&e.field),
                    Val::T(&e.value),
                    Val::I(e.first_seen_ns),
                    Val::I(e.last_seen_ns),
                    Val::I(db_int(e.count)),
                    Val::I(run.0),
                ]);
            }
        }
        insert_rows(
            c,
            "INSERT INTO evidence (device, field, value, first_seen_ns, last_seen_ns, count, \
             last_run)",
            UPSERT_EVIDENCE,
            7,
            &vals,
        )
        .await?;

        vals.clear();
        for ch in &changes {
            vals.extend([
                Val::I(run.0),
                Val::T(ch.device),
                Val::T(ch.field),
                Val::OT(ch.old),
                Val::OT(Some(ch.new)),
            ]);
        }
        insert_rows(
            c,
            "INSERT INTO changes (run, device, field, old_value, new_value)",
            "",
            5,
            &vals,
        )
        .await?;

        Ok(SaveStats {
            devices: devices.len() as u64,
            added: added as u64,
            merged: known.len() as u64,
            changes: changes.len() as u64,
            transactions: 1,
        })
    })
    .await
}

const UPSERT_COMM: &str = "ON CONFLICT (device, peer_ip, peer_port, transport, app, direction) \
    DO UPDATE SET peer_device = COALESCE(excluded.peer_device, communications.peer_device), \
    flows = communications.flows + excluded.flows, \
    packets = communications.packets + excluded.packets, \
    bytes = communications.bytes + excluded.bytes, \
    first_seen_ns = CASE WHEN excluded.first_seen_ns < communications.first_seen_ns \
        THEN excluded.first_seen_ns ELSE communications.first_seen_ns END, \
    last_seen_ns = CASE WHEN excluded.last_seen_ns > communications.last_seen_ns \
        THEN excluded.last_seen_ns ELSE communications.last_seen_ns END, \
    last_run = excluded.last_run";

/// One transaction: `comms` already normalised (one record per key).
pub(crate) async fn save_communications(
    conn: &mut Conn,
    run: RunId,
    comms: &[CommRecord],
) -> Result<CommStats, Error> {
    in_write(conn, async |c| {
        let mut ids: Vec<&str> = comms.iter().map(|r| r.device.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let known: HashSet<String> = rows_for_ids(c, "SELECT id FROM devices", "id", &ids)
            .await?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_, _>>()?;
        let keep: Vec<&CommRecord> = comms.iter().filter(|r| known.contains(&r.device)).collect();
        count_in_run(c, run, 0, 0, 0, keep.len() as u64, 0).await?;
        let mut vals = Vec::with_capacity(keep.len() * 14);
        for r in &keep {
            vals.extend([
                Val::T(&r.device),
                Val::T(&r.peer_ip),
                Val::I(i64::from(r.peer_port)),
                Val::T(&r.transport),
                Val::T(&r.app),
                Val::T(r.direction.as_str()),
                Val::OT(r.peer_device.as_deref()),
                Val::I(db_int(r.flows)),
                Val::I(db_int(r.packets)),
                Val::I(db_int(r.bytes)),
                Val::I(r.first_seen_ns),
                Val::I(r.last_seen_ns),
                Val::I(run.0),
                Val::I(run.0),
            ]);
        }
        insert_rows(
            c,
            "INSERT INTO communications (device, peer_ip, peer_port, transport, app, direction, \
             peer_device, flows, packets, bytes, first_seen_ns, last_seen_ns, first_run, last_run)",
            UPSERT_COMM,
            14,
            &vals,
        )
        .await?;
        Ok(CommStats {
            saved: keep.len() as u64,
            skipped: (comms.len() - keep.len()) as u64,
        })
    })
    .await
}

/// One transaction; see [`crate::Store::save_address_owners`].
pub(crate) async fn save_address_owners(
    conn: &mut Conn,
    run: RunId,
    owners: &[(&str, &str)],
) -> Result<(), Error> {
    in_write(conn, async |c| {
        count_in_run(c, run, 0, 0, 0, 0, 0).await?;
        // Last pair wins, as the doc says: one row per address in the statement, so that an upsert
        // never meets its own row twice (PostgreSQL refuses that).
        let mut last: HashMap<&str, &str> = HashMap::with_capacity(owners.len());
        for &(address, device) in owners {
            last.insert(address, device);
        }
        let mut pairs: Vec<(&str, &str)> = last.into_iter().collect();
        pairs.sort_unstable();
        let mut vals = Vec::with_capacity(pairs.len() * 3);
        for (address, device) in pairs {
            vals.extend([Val::I(run.0), Val::T(address), Val::T(device)]);
        }
        insert_rows(
            c,
            "INSERT INTO run_addresses (run, address, device)",
            "ON CONFLICT (run, address) DO UPDATE SET device = excluded.device",
            3,
            &vals,
        )
        .await
    })
    .await
}

const UPSERT_FINDING: &str = "ON CONFLICT (run, address, kind, title) DO UPDATE SET \
    severity = excluded.severity, flows = excluded.flows, flow = excluded.flow, \
    last_flow = excluded.last_flow, fields = excluded.fields, detail = excluded.detail";

/// One transaction: the findings upserted by (run, address, kind, title) (see
/// [`crate::Store::save_findings`]), then the run's count of them. The run's key is checked row by
/// row (a few thousand rows a run: the database keeps one per address, kind and title).
pub(crate) async fn save_findings(
    conn: &mut Conn,
    run: RunId,
    findings: &[FindingRef<'_>],
) -> Result<u64, Error> {
    // One row per key in a statement (PostgreSQL refuses to update a row twice in one): the later.
    let mut last: HashMap<(&str, &str, &str), usize> = HashMap::with_capacity(findings.len());
    for (i, f) in findings.iter().enumerate() {
        last.insert((f.address.unwrap_or(""), f.kind, f.title), i);
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    let fields: Vec<String> = keep
        .iter()
        .map(|&i| serde_json::to_string(findings[i].fields).unwrap_or_default())
        .collect();
    let mut vals = Vec::with_capacity(keep.len() * 10);
    for (&i, fields) in keep.iter().zip(&fields) {
        let f = &findings[i];
        vals.extend([
            Val::I(run.0),
            Val::T(f.address.unwrap_or("")),
            Val::T(f.kind),
            Val::T(f.title),
            Val::T(f.severity),
            Val::I(db_int(f.flows)),
            Val::I(db_int(f.flow)),
            Val::I(db_int(f.last_flow)),
            Val::T(fields),
            Val::T(f.detail),
        ]);
    }
    in_write(conn, async |c| {
        count_in_run(c, run, 0, 0, 0, 0, 0).await?;
        insert_rows(
            c,
            "INSERT INTO findings (run, address, kind, title, severity, flows, flow, last_flow, \
             fields, detail)",
            UPSERT_FINDING,
            10,
            &vals,
        )
        .await?;
        let rows = c
            .fetch(
                "UPDATE runs SET findings = (SELECT count(*) FROM findings WHERE run = $1) \
                 WHERE id = $1 RETURNING findings",
                &[Val::I(run.0)],
            )
            .await?;
        Ok(db_count(
            rows.first().ok_or(sqlx::Error::RowNotFound)?.i64(0)?,
        ))
    })
    .await
}
