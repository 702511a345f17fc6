//! The knowledge documents and the CMMS assets: each write is one transaction.

use std::collections::HashMap;

use crate::db::{Conn, Row, Val};
use crate::write::{Error, in_write};

/// One imported knowledge document (see `medsentry-knowledge`'s `kb::Record`).
#[derive(Debug, Clone, PartialEq)]
pub struct KbDocument {
    /// `csaf`, `nvd`, `kev`, `epss`, `cyclonedx`, `spdx`.
    pub kind: String,
    pub key: String,
    pub version: Option<String>,
    /// The document's own date (ISO 8601), which decides whether a re-import is newer.
    pub date: Option<String>,
    /// Where it was imported from (a path or URL).
    pub source: String,
    /// The parsed record, as JSON.
    pub body: String,
}

/// What an import did with each document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KbPutStats {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Older than the stored revision: refused, the stored one kept.
    pub older: u64,
}

/// One asset of the hospital's register (CMMS), as imported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmmsAsset {
    /// Asset tag, else serial, MAC or IP: unique.
    pub key: String,
    pub asset_tag: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub software: Option<String>,
    pub location: Option<String>,
    pub department: Option<String>,
    pub criticality: Option<String>,
    /// Unknown columns, as a JSON object.
    pub attributes: String,
    /// The inventory device it was reconciled with.
    pub device: Option<String>,
    /// Its line in the imported file.
    pub line: i64,
}

/// A stable 64-bit FNV-1a digest with the length: enough to tell a changed document from the same
/// one (not a security boundary: whoever can write the import files can write the database).
pub(crate) fn digest(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{h:016x}", body.len())
}

pub(crate) async fn kb_put(
    c: &mut Conn,
    docs: &[KbDocument],
    now_ns: i64,
) -> Result<KbPutStats, Error> {
    in_write(c, async |c| {
        // What is stored for these kinds, in one query per kind.
        let mut kinds: Vec<&str> = docs.iter().map(|d| d.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let mut stored: HashMap<(String, String), (String, Option<String>)> = HashMap::new();
        for kind in kinds {
            let rows = c
                .fetch(
                    "SELECT key, digest, date FROM kb_documents WHERE kind = $1",
                    &[Val::T(kind)],
                )
                .await?;
            for r in rows {
                stored.insert((kind.to_string(), r.text(0)?), (r.text(1)?, r.opt_text(2)?));
            }
        }
        let mut stats = KbPutStats::default();
        for d in docs {
            let dg = digest(&d.body);
            match stored.get(&(d.kind.clone(), d.key.clone())) {
                Some((old, _)) if *old == dg => {
                    stats.unchanged += 1;
                    continue;
                }
                Some((_, Some(old_date))) if d.date.as_deref().is_some_and(|n| n < old_date.as_str()) => {
                    stats.older += 1;
                    continue;
                }
                Some(_) => stats.updated += 1,
                None => stats.added += 1,
            }
            c.execute(
                "INSERT INTO kb_documents (kind, key, version, date, digest, source, imported_ns, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version, date = excluded.date, \
                 digest = excluded.digest, source = excluded.source, imported_ns = excluded.imported_ns, \
                 body = excluded.body",
                &[
                    Val::T(&d.kind),
                    Val::T(&d.key),
                    Val::OT(d.version.as_deref()),
                    Val::OT(d.date.as_deref()),
                    Val::T(&dg),
                    Val::T(&d.source),
                    Val::I(now_ns),
                    Val::T(&d.body),
                ],
            )
            .await?;
            stored.insert((d.kind.clone(), d.key.clone()), (dg, d.date.clone()));
        }
        Ok(stats)
    })
    .await
}

pub(crate) async fn kb_documents(c: &mut Conn) -> Result<Vec<KbDocument>, sqlx::Error> {
    let rows = c
        .fetch(
            "SELECT kind, key, version, date, source, body FROM kb_documents ORDER BY kind, key",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(KbDocument {
                kind: r.text(0)?,
                key: r.text(1)?,
                version: r.opt_text(2)?,
                date: r.opt_text(3)?,
                source: r.text(4)?,
                body: r.text(5)?,
            })
        })
        .collect()
}

const CMMS_COLS: &str = "asset_key, asset_tag, vendor, model, serial, mac, ip, software, location, \
    department, criticality, attributes, device, line, imported_ns";

pub(crate) async fn save_cmms(
    c: &mut Conn,
    assets: &[CmmsAsset],
    now_ns: i64,
) -> Result<(), Error> {
    in_write(c, async |c| {
        for a in assets {
            let sql = format!(
                "INSERT INTO cmms_assets ({CMMS_COLS}) VALUES ({}) ON CONFLICT (asset_key) DO UPDATE SET \
                 asset_tag = excluded.asset_tag, vendor = excluded.vendor, model = excluded.model, \
                 serial = excluded.serial, mac = excluded.mac, ip = excluded.ip, software = excluded.software, \
                 location = excluded.location, department = excluded.department, \
                 criticality = excluded.criticality, attributes = excluded.attributes, device = excluded.device, \
                 line = excluded.line, imported_ns = excluded.imported_ns",
                c.placeholders(15)
            );
            c.execute(
                sqlx::AssertSqlSafe(sql),
                &[
                    Val::T(&a.key),
                    Val::OT(a.asset_tag.as_deref()),
                    Val::OT(a.vendor.as_deref()),
                    Val::OT(a.model.as_deref()),
                    Val::OT(a.serial.as_deref()),
                    Val::OT(a.mac.as_deref()),
                    Val::OT(a.ip.as_deref()),
                    Val::OT(a.software.as_deref()),
                    Val::OT(a.location.as_deref()),
                    Val::OT(a.department.as_deref()),
                    Val::OT(a.criticality.as_deref()),
                    Val::T(&a.attributes),
                    Val::OT(a.device.as_deref()),
                    Val::I(a.line),
                    Val::I(now_ns),
                ],
            )
            .await?;
        }
        Ok(())
    })
    .await
}

fn asset(r: &Row) -> Result<CmmsAsset, sqlx::Error> {
    Ok(CmmsAsset {
        key: r.text(0)?,
        asset_tag: r.opt_text(1)?,
        vendor: r.opt_text(2)?,
        model: r.opt_text(3)?,
        serial: r.opt_text(4)?,
        mac: r.opt_text(5)?,
        ip: r.opt_text(6)?,
        software: r.opt_text(7)?,
        location: r.opt_text(8)?,
        department: r.opt_text(9)?,
        criticality: r.opt_text(10)?,
        attributes: r.text(11)?,
        device: r.opt_text(12)?,
        line: r.i64(13)?,
    })
}

pub(crate) async fn cmms_assets(c: &mut Conn) -> Result<Vec<CmmsAsset>, sqlx::Error> {
    let sql = format!("SELECT {CMMS_COLS} FROM cmms_assets ORDER BY asset_key");
    let rows = c.fetch(sqlx::AssertSqlSafe(sql), &[]).await?;
    rows.iter().map(asset).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn digest_is_stable() {
        assert_eq!(super::digest(""), "0-cbf29ce484222325");
        assert_ne!(super::digest("a"), super::digest("b"));
    }
}
