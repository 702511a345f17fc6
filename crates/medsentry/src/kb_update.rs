//! `medsentry kb update`: downloads the official feeds (NVD, KEV, EPSS, CISA CSAF) into a cache
//! folder with `medsentry-fetch`, then imports what changed. Resumable: the fetcher keeps its state
//! in the folder; an interrupted run continues where it stopped.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use store::Store;

use crate::cli::KbUpdateArgs;

pub fn run(db: &mut Store, u: &KbUpdateArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    fetch::install_crypto_provider();
    let dir = match &u.cache {
        Some(d) => d.clone(),
        None => default_cache(db.name()),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut opts = fetch::UpdateOptions {
        nvd_api_key: u.nvd_api_key.clone().filter(|k| !k.is_empty()),
        ..fetch::UpdateOptions::default()
    };
    if !u.feed.is_empty() {
        opts.feeds = fetch::Feed::ALL
            .into_iter()
            .filter(|f| u.feed.iter().any(|n| n == f.name()))
            .collect();
        if opts.feeds.len() != u.feed.len() {
            anyhow::bail!("--feed: expected nvd, kev, epss or csaf; got {:?}", u.feed);
        }
    }
    if let Some(s) = &u.since {
        opts.since = Some(fetch::parse_since(s).ok_or_else(|| {
            anyhow::anyhow!("--since {s:?}: expected a date (2025-08-01) or an RFC 3339 time")
        })?);
    }
    if u.all_csaf {
        opts.csaf_scope = fetch::CsafScope::All;
    }
    for s in &u.source {
        let (feed, url) = s
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--source {s:?}: expected FEED=URL"))?;
        let url = url.to_string();
        match feed {
            "nvd" => opts.sources.nvd = url,
            "kev" => opts.sources.kev = url,
            "epss" => opts.sources.epss = url,
            "csaf" => opts.sources.csaf_provider_metadata = url,
            "csaf-directory" => opts.sources.csaf_directory = Some(url),
            other => anyhow::bail!("--source: unknown feed {other:?}"),
        }
    }
    let quiet = u.quiet;
    let summary = fetch::update(&dir, &opts, &mut |e| {
        if !quiet {
            eprintln!("medsentry: {e:?}");
        }
    })
    .with_context(|| format!("kb update into {}", dir.display()))?;
    let mut files: Vec<PathBuf> = Vec::new();
    files.extend(summary.kev.iter().cloned());
    files.extend(summary.epss.iter().cloned());
    files.extend(summary.csaf.iter().cloned());
    files.extend(summary.nvd.iter().cloned());
    writeln!(
        out,
        "downloaded into {}: {} KEV, {} EPSS, {} CSAF, {} NVD files new or changed",
        dir.display(),
        summary.kev.len(),
        summary.epss.len(),
        summary.csaf.len(),
        summary.nvd.len()
    )?;
    let r = crate::kb_cmd::import(db, &files, None)?;
    writeln!(
        out,
        "imported {} records: {} added, {} updated, {} unchanged, {} older than stored; {} files failed",
        r.records, r.stats.added, r.stats.updated, r.stats.unchanged, r.stats.older, r.failed
    )?;
    for f in &summary.failures {
        writeln!(out, "{}: {} (the next run retries)", f.feed, f.error)?;
    }
    Ok(u8::from(!summary.failures.is_empty() || r.failed > 0))
}

/// `medsentry.db` -> `medsentry.db.feeds/`; a PostgreSQL URL -> `$HOME/.cache/medsentry/feeds`.
fn default_cache(db: &str) -> PathBuf {
    if db.contains("://") {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".cache/medsentry/feeds")
    } else {
        PathBuf::from(format!("{db}.feeds"))
    }
}
