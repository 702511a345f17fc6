//! `medsentry kb import|status|update`: the vulnerability knowledge base, kept in the same database
//! as the inventory.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use knowledge::kb::{self, KnowledgeBase, Record, SbomTarget};
use store::{KbDocument, KbPutStats, Store};

use crate::cli::{KbArgs, KbCommand, OutputFormat};

/// Documents saved per transaction (an NVD page holds up to 2,000 records).
const DOCS_PER_TRANSACTION: usize = 5_000;

pub fn run(args: &KbArgs) -> anyhow::Result<u8> {
    let mut db = Store::open(&args.db)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let code = match &args.command {
        KbCommand::Import { paths, sbom_for } => {
            let target = sbom_for
                .as_deref()
                .map(SbomTarget::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!(e))?;
            let r = import(&mut db, paths, target.as_ref())?;
            writeln!(
                out,
                "{} files read, {} failed; {} records: {} added, {} updated, {} unchanged, {} older than stored (kept the stored)",
                r.files,
                r.failed,
                r.records,
                r.stats.added,
                r.stats.updated,
                r.stats.unchanged,
                r.stats.older
            )?;
            u8::from(r.failed > 0)
        }
        KbCommand::Status { format } => {
            let (kb, bad) = load(&mut db)?;
            let s = kb.status();
            match format {
                OutputFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &s)?;
                    writeln!(out)?;
                }
                OutputFormat::Table => {
                    let d = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                    writeln!(out, "knowledge base in {}", db.name())?;
                    writeln!(
                        out,
                        "  CSAF advisories     {:>9}   newest {}",
                        s.advisories,
                        d(&s.newest.csaf)
                    )?;
                    writeln!(out, "  CVEs                {:>9}", s.cves)?;
                    writeln!(
                        out,
                        "  NVD records         {:>9}   newest {}",
                        s.nvd_records,
                        d(&s.newest.nvd)
                    )?;
                    writeln!(out, "  affected products   {:>9}", s.affected_products)?;
                    writeln!(
                        out,
                        "  KEV entries         {:>9}   catalogue of {}",
                        s.kev_entries,
                        d(&s.newest.kev)
                    )?;
                    writeln!(
                        out,
                        "  EPSS scores         {:>9}   scored {}",
                        s.epss_scores,
                        d(&s.newest.epss)
                    )?;
                    writeln!(
                        out,
                        "  SBOMs               {:>9}   ({} components) newest {}",
                        s.sboms,
                        s.sbom_components,
                        d(&s.newest.sbom)
                    )?;
                    writeln!(out, "  VEX statements      {:>9}", s.vex_statements)?;
                }
            }
            if bad > 0 {
                eprintln!(
                    "medsentry: {bad} stored documents could not be read (written by another medsentry version?)"
                );
            }
            0
        }
        KbCommand::Update(u) => crate::kb_update::run(&mut db, u, &mut out)?,
    };
    out.flush()?;
    Ok(code)
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    pub files: u64,
    pub failed: u64,
    pub records: u64,
    pub stats: KbPutStats,
}

/// Imports files and folders (recursively, in name order). A file that cannot be read or parsed is
/// reported on stderr with its path and skipped.
pub fn import(
    db: &mut Store,
    paths: &[PathBuf],
    sbom_for: Option<&SbomTarget>,
) -> anyhow::Result<Imported> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files).with_context(|| format!("cannot read {}", p.display()))?;
    }
    let now = crate::persist::now_ns();
    let mut r = Imported::default();
    let mut batch: Vec<KbDocument> = Vec::new();
    for f in &files {
        r.files += 1;
        let records = std::fs::read(f)
            .map_err(|e| e.to_string())
            .and_then(|bytes| kb::read(&bytes).map_err(|e| e.to_string()))
            .and_then(|doc| kb::records(doc, sbom_for));
        let records = match records {
            Ok(rs) => rs,
            Err(e) => {
                eprintln!("medsentry: {}: {e}", f.display());
                r.failed += 1;
                continue;
            }
        };
        for rec in records {
            r.records += 1;
            batch.push(document(&rec, &f.display().to_string())?);
        }
        if batch.len() >= DOCS_PER_TRANSACTION {
            add(&mut r.stats, db.kb_put(&batch, now)?);
            batch.clear();
        }
    }
    add(&mut r.stats, db.kb_put(&batch, now)?);
    Ok(r)
}

fn add(total: &mut KbPutStats, s: KbPutStats) {
    total.added += s.added;
    total.updated += s.updated;
    total.unchanged += s.unchanged;
    total.older += s.older;
}

fn document(rec: &Record, source: &str) -> anyhow::Result<KbDocument> {
    Ok(KbDocument {
        kind: rec.kind().as_str().to_string(),
        key: rec.key(),
        version: rec.version().map(str::to_string),
        date: rec.date().map(str::to_string),
        source: source.to_string(),
        body: serde_json::to_string(rec)?,
    })
}

/// Files under `p` (or `p` itself), skipping hidden files and signature/checksum siblings.
fn collect(p: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.')
                || [".asc", ".sha256", ".sha512", ".md", ".txt", ".xml", ".tmp"]
                    .iter()
                    .any(|s| name.ends_with(s))
            {
                continue;
            }
            collect(&e, out)?;
        }
    } else {
        std::fs::metadata(p)?;
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// The knowledge base as stored, and how many stored documents could not be read.
pub fn load(db: &mut Store) -> anyhow::Result<(KnowledgeBase, u64)> {
    let docs = db.kb_documents()?;
    let mut bad = 0;
    let mut kb = KnowledgeBase::default();
    for d in docs {
        match serde_json::from_str::<Record>(&d.body) {
            Ok(r) => kb.add(r),
            Err(_) => bad += 1,
        }
    }
    kb.reindex();
    Ok((kb, bad))
}
