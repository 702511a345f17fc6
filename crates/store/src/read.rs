//! Queries. Each is a handful of indexed statements, whatever the size of the inventory.

use std::collections::HashMap;
use std::net::IpAddr;

use sqlx::AssertSqlSafe;

use crate::db::{Conn, Row, Val};
use crate::merge::db_count;
use crate::{
    AddressRecord, Change, CommRecord, Counts, DETAIL_LIMIT, DeviceDetail, DeviceFilter,
    DeviceSummary, Direction, EvidenceRecord, FieldRecord, FindingRecord, RunId, RunSummary,
    StoredField, StoredFinding,
};

type R<T> = Result<T, sqlx::Error>;

pub(crate) async fn schema_version(c: &mut Conn) -> R<i64> {
    let rows = c
        .fetch(
            "SELECT max(version) FROM _sqlx_migrations WHERE success",
            &[],
        )
        .await?;
    Ok(rows
        .first()
        .map(|r| r.opt_i64(0))
        .transpose()?
        .flatten()
        .unwrap_or(0))
}

const SUMMARY_COLS: &str = "id, mac, first_seen_ns, last_seen_ns, first_run, last_run, category, \
    criticality, vendor, model, hostname, software, role, modality";

fn summary(r: &Row) -> R<DeviceSummary> {
    Ok(DeviceSummary {
        id: r.text(0)?,
        mac: r.opt_text(1)?,
        ips: Vec::new(),
        first_seen_ns: r.i64(2)?,
        last_seen_ns: r.i64(3)?,
        first_run: RunId(r.i64(4)?),
        last_run: RunId(r.i64(5)?),
        category: r.text(6)?,
        criticality: r.opt_text(7)?,
        vendor: r.opt_text(8)?,
        model: r.opt_text(9)?,
        hostname: r.opt_text(10)?,
        software: r.opt_text(11)?,
        role: r.opt_text(12)?,
        modality: r.opt_text(13)?,
    })
}

/// `%text%` for `LIKE ... ESCAPE '\'`, lower-cased.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

pub(crate) async fn list_devices(c: &mut Conn, f: &DeviceFilter) -> R<Vec<DeviceSummary>> {
    let mut sql = format!("SELECT {SUMMARY_COLS} FROM devices WHERE 1 = 1");
    let vendor = f.vendor.as_deref().map(like_pattern);
    let software = f.software.as_deref().map(like_pattern);
    let mut args: Vec<Val<'_>> = Vec::new();
    // Conditions, each with the next placeholder.
    let push = |sql: &mut String, args: &mut Vec<Val<'_>>, text: &str| {
        sql.push_str(" AND ");
        sql.push_str(text);
        sql.push_str(&format!(" ${}", args.len() + 1));
    };
    if let Some(v) = &f.category {
        push(&mut sql, &mut args, "category =");
        args.push(Val::T(v));
    }
    if let Some(v) = &f.criticality {
        push(&mut sql, &mut args, "criticality =");
        args.push(Val::T(v));
    }
    for (column, pattern) in [("vendor", &vendor), ("software", &software)] {
        if let Some(v) = pattern {
            push(&mut sql, &mut args, &format!("lower({column}) LIKE"));
            args.push(Val::T(v));
            sql.push_str(" ESCAPE '\\'");
        }
    }
    if let Some(r) = f.added_in {
        push(&mut sql, &mut args, "first_run =");
        args.push(Val::I(r.0));
    }
    if let Some(r) = f.seen_since {
        push(&mut sql, &mut args, "last_run >=");
        args.push(Val::I(r.0));
    }
    if let Some(v) = &f.after {
        push(&mut sql, &mut args, "id >");
        args.push(Val::T(v));
    }
    sql.push_str(" ORDER BY id");
    if let Some(n) = f.limit {
        sql.push_str(&format!(" LIMIT ${}", args.len() + 1));
        args.push(Val::I(i64::from(n)));
    }
    let mut out: Vec<DeviceSummary> = c
        .fetch(AssertSqlSafe(sql), &args)
        .await?
        .iter()
        .map(summary)
        .collect::<R<_>>()?;
    let ids: Vec<&str> = out.iter().map(|d| d.id.as_str()).collect();
    let mut ips: HashMap<String, Vec<String>> = HashMap::new();
    for r in by_ids(
        c,
        "SELECT device, ip FROM device_addresses WHERE device IN",
        "ORDER BY device, ip",
        &ids,
    )
    .await?
    {
        ips.entry(r.text(0)?).or_default().push(r.text(1)?);
    }
    for d in &mut out {
        d.ips = ips.remove(&d.id).unwrap_or_default();
    }
    Ok(out)
}

/// `<head> (ids...) <tail>`, a bounded number of ids per statement.
async fn by_ids(c: &mut Conn, head: &str, tail: &str, ids: &[&str]) -> R<Vec<Row>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        if chunk.is_empty() {
            continue;
        }
        let sql = format!("{head} ({}) {tail}", c.placeholders(chunk.len()));
        let args: Vec<Val<'_>> = chunk.iter().map(|s| Val::T(s)).collect();
        out.extend(c.fetch(AssertSqlSafe(sql), &args).await?);
    }
    Ok(out)
}

/// The first `DETAIL_LIMIT` rows per device of `table` in `order`.
async fn latest_per_device(
    c: &mut Conn,
    cols: &str,
    table: &str,
    order: &str,
    ids: &[&str],
) -> R<Vec<Row>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT {cols} FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY device ORDER BY {order}) \
             AS rn FROM {table} t WHERE device IN ({})) x WHERE rn <= {DETAIL_LIMIT} \
             ORDER BY device, rn",
            c.placeholders(chunk.len()),
        );
        let args: Vec<Val<'_>> = chunk.iter().map(|s| Val::T(s)).collect();
        out.extend(c.fetch(AssertSqlSafe(sql), &args).await?);
    }
    Ok(out)
}

/// Everything about each of `ids` that exists, in id order.
pub(crate) async fn details(c: &mut Conn, ids: &[String]) -> R<Vec<DeviceDetail>> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut out: Vec<DeviceDetail> = Vec::with_capacity(ids.len());
    let head = format!("SELECT {SUMMARY_COLS} FROM devices WHERE id IN");
    for r in by_ids(c, &head, "ORDER BY id", &ids).await? {
        out.push(DeviceDetail {
            device: summary(&r)?,
            fields: Vec::new(),
            addresses: Vec::new(),
            evidence: Vec::new(),
            communications: Vec::new(),
            changes: Vec::new(),
            findings: Vec::new(),
        });
    }
    // One statement per 500 ids, each sorted: sort the whole.
    out.sort_by(|a, b| a.device.id.cmp(&b.device.id));
    let mut at: HashMap<String, usize> = HashMap::new();
    for (i, d) in out.iter().enumerate() {
        at.insert(d.device.id.clone(), i);
    }
    let found: Vec<String> = out.iter().map(|d| d.device.id.clone()).collect();
    let ids: Vec<&str> = found.iter().map(String::as_str).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let slot = |r: &Row| -> R<Option<usize>> { Ok(at.get(&r.text(0)?).copied()) };

    for r in by_ids(
        c,
        "SELECT device, ip, first_seen_ns, last_seen_ns, first_run, last_run FROM device_addresses \
         WHERE device IN",
        "ORDER BY device, ip",
        &ids,
    )
    .await?
    {
        if let Some(i) = slot(&r)? {
            out[i].addresses.push(AddressRecord {
                ip: r.text(1)?,
                first_seen_ns: r.i64(2)?,
                last_seen_ns: r.i64(3)?,
                first_run: RunId(r.i64(4)?),
                last_run: RunId(r.i64(5)?),
            });
        }
    }
    for r in by_ids(
        c,
        "SELECT device, field, value, confidence, rule, reason, evidence_field, evidence_value, run \
         FROM device_fields WHERE device IN",
        "ORDER BY device, field",
        &ids,
    )
    .await?
    {
        if let Some(i) = slot(&r)? {
            out[i].fields.push(StoredField {
                field: FieldRecord {
                    field: r.text(1)?,
                    value: r.text(2)?,
                    confidence: r.f64(3)? as f32,
                    rule: r.text(4)?,
                    reason: r.text(5)?,
                    evidence_field: r.text(6)?,
                    evidence_value: r.text(7)?,
                },
                run: RunId(r.i64(8)?),
            });
        }
    }
    for r in by_ids(
        c,
        "SELECT device, field, value, first_seen_ns, last_seen_ns, count FROM evidence \
         WHERE device IN",
        "ORDER BY device, field, value",
        &ids,
    )
    .await?
    {
        if let Some(i) = slot(&r)? {
            out[i].evidence.push(EvidenceRecord {
                field: r.text(1)?,
                value: r.text(2)?,
                first_seen_ns: r.i64(3)?,
                last_seen_ns: r.i64(4)?,
                count: db_count(r.i64(5)?),
            });
        }
    }
    for r in latest_per_device(
        c,
        "device, peer_ip, peer_port, transport, app, direction, peer_device, flows, packets, bytes, \
         first_seen_ns, last_seen_ns",
        "communications",
        "bytes DESC, peer_ip, peer_port, transport, app, direction",
        &ids,
    )
    .await?
    {
        if let Some(i) = slot(&r)? {
            out[i].communications.push(CommRecord {
                device: r.text(0)?,
                peer_ip: r.text(1)?,
                peer_port: u16::try_from(r.i64(2)?).unwrap_or(0),
                transport: r.text(3)?,
                app: r.text(4)?,
                direction: Direction::parse(&r.text(5)?),
                peer_device: r.opt_text(6)?,
                flows: db_count(r.i64(7)?),
                packets: db_count(r.i64(8)?),
                bytes: db_count(r.i64(9)?),
                first_seen_ns: r.i64(10)?,
                last_seen_ns: r.i64(11)?,
            });
        }
    }
    for r in latest_per_device(
        c,
        "device, run, field, old_value, new_value",
        "changes",
        "id DESC",
        &ids,
    )
    .await?
    {
        if let Some(i) = slot(&r)? {
            out[i].changes.push(Change {
                run: RunId(r.i64(1)?),
                device: r.text(0)?,
                field: r.text(2)?,
                old: r.opt_text(3)?,
                new: r.opt_text(4)?,
            });
        }
    }
    // A device's findings: those of the addresses each run mapped to it.
    for r in latest_per_device(
        c,
        "device, run, kind, severity, flow, title, detail, address, flows, last_flow, fields",
        "(SELECT a.device, f.* FROM run_addresses a \
         JOIN findings f ON f.run = a.run AND f.address = a.address)",
        "id DESC",
        &ids,
    )
    .await?
    {
        if let Some(i) = slot(&r)? {
            let fields = r.text(10)?;
            out[i].findings.push(StoredFinding {
                run: RunId(r.i64(1)?),
                device: r.text(0)?,
                finding: FindingRecord {
                    kind: r.text(2)?,
                    severity: r.text(3)?,
                    address: r.opt_text(7)?.filter(|a| !a.is_empty()),
                    title: r.text(5)?,
                    flows: db_count(r.i64(8)?),
                    flow: db_count(r.i64(4)?),
                    last_flow: db_count(r.i64(9)?),
                    detail: r.text(6)?,
                    // '' in rows merged from before schema 5.
                    fields: serde_json::from_str(&fields).unwrap_or_default(),
                },
            });
        }
    }
    for d in &mut out {
        // Fetched latest first; shown oldest first.
        d.changes.reverse();
        d.findings.reverse();
    }
    Ok(out)
}

/// `00:11:22:aa:bb:cc` from `0011.22aa.bbcc`, `00-11-22-AA-BB-CC`, `001122aabbcc`.
fn canonical_mac(key: &str) -> Option<String> {
    let hex: String = key
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    let parts: Vec<&str> = (0..6).map(|i| &hex[i * 2..i * 2 + 2]).collect();
    Some(parts.join(":"))
}

pub(crate) async fn resolve(c: &mut Conn, key: &str) -> R<Option<String>> {
    let key = key.trim();
    let one = |rows: Vec<Row>| -> R<Option<String>> { rows.first().map(|r| r.text(0)).transpose() };
    if let Some(id) = one(c
        .fetch("SELECT id FROM devices WHERE id = $1", &[Val::T(key)])
        .await?)?
    {
        return Ok(Some(id));
    }
    if let Some(mac) = canonical_mac(key) {
        let id = one(c
            .fetch(
                "SELECT id FROM devices WHERE mac = $1 ORDER BY last_seen_ns DESC, id LIMIT 1",
                &[Val::T(&mac)],
            )
            .await?)?;
        if id.is_some() {
            return Ok(id);
        }
    }
    if let Ok(ip) = key.parse::<IpAddr>() {
        let ip = ip.to_string();
        return one(c
            .fetch(
                "SELECT device FROM device_addresses WHERE ip = $1 \
                 ORDER BY last_seen_ns DESC, device LIMIT 1",
                &[Val::T(&ip)],
            )
            .await?);
    }
    Ok(None)
}

pub(crate) async fn run_changes(c: &mut Conn, run: RunId, limit: u32) -> R<Vec<Change>> {
    c.fetch(
        "SELECT run, device, field, old_value, new_value FROM changes WHERE run = $1 \
         ORDER BY id LIMIT $2",
        &[Val::I(run.0), Val::I(i64::from(limit))],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(Change {
            run: RunId(r.i64(0)?),
            device: r.text(1)?,
            field: r.text(2)?,
            old: r.opt_text(3)?,
            new: r.opt_text(4)?,
        })
    })
    .collect()
}

pub(crate) async fn runs(c: &mut Conn) -> R<Vec<RunSummary>> {
    let mut out: Vec<RunSummary> = c
        .fetch(
            "SELECT id, started_ns, finished_ns, tool, packets, bytes, first_packet_ns, \
             last_packet_ns, devices_seen, devices_added, fields_changed, communications, findings \
             FROM runs ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(RunSummary {
                id: RunId(r.i64(0)?),
                started_ns: r.i64(1)?,
                finished_ns: r.opt_i64(2)?,
                tool: r.text(3)?,
                sources: Vec::new(),
                packets: db_count(r.i64(4)?),
                bytes: db_count(r.i64(5)?),
                first_packet_ns: r.opt_i64(6)?,
                last_packet_ns: r.opt_i64(7)?,
                devices_seen: db_count(r.i64(8)?),
                devices_added: db_count(r.i64(9)?),
                changes: db_count(r.i64(10)?),
                communications: db_count(r.i64(11)?),
                findings: db_count(r.i64(12)?),
            })
        })
        .collect::<R<_>>()?;
    let at: HashMap<i64, usize> = out.iter().enumerate().map(|(i, r)| (r.id.0, i)).collect();
    for r in c
        .fetch("SELECT run, name FROM run_sources ORDER BY run, seq", &[])
        .await?
    {
        if let Some(i) = at.get(&r.i64(0)?) {
            out[*i].sources.push(r.text(1)?);
        }
    }
    Ok(out)
}

pub(crate) async fn counts(c: &mut Conn) -> R<Counts> {
    let rows = c
        .fetch(
            "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM devices), \
             (SELECT count(*) FROM device_addresses), (SELECT count(*) FROM device_fields), \
             (SELECT count(*) FROM evidence), (SELECT count(*) FROM communications), \
             (SELECT count(*) FROM findings), (SELECT count(*) FROM changes)",
            &[],
        )
        .await?;
    let r = rows.first().ok_or(sqlx::Error::RowNotFound)?;
    let by_category = c
        .fetch(
            "SELECT category, count(*) FROM devices GROUP BY category ORDER BY category",
            &[],
        )
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, db_count(r.i64(1)?))))
        .collect::<R<_>>()?;
    Ok(Counts {
        runs: db_count(r.i64(0)?),
        devices: db_count(r.i64(1)?),
        addresses: db_count(r.i64(2)?),
        fields: db_count(r.i64(3)?),
        evidence: db_count(r.i64(4)?),
        communications: db_count(r.i64(5)?),
        findings: db_count(r.i64(6)?),
        changes: db_count(r.i64(7)?),
        by_category,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_in_any_spelling() {
        assert_eq!(
            canonical_mac("00-11-22-AA-BB-CC").as_deref(),
            Some("00:11:22:aa:bb:cc")
        );
        assert_eq!(
            canonical_mac("0011.22aa.bbcc").as_deref(),
            Some("00:11:22:aa:bb:cc")
        );
        assert_eq!(canonical_mac("10.0.0.1"), None);
        assert_eq!(canonical_mac("mac-001122aabbcc"), None);
    }

    #[test]
    fn like_patterns_escape() {
        assert_eq!(like_pattern("GE_50%"), "%ge\\_50\\%%");
    }
}
