//! CISA's CSAF 2.0 advisories: discovery through `provider-metadata.json` (CSAF 2.0 §7.1.7), then each
//! distribution's `changes.csv` (§7.1.16: rows of `"path","timestamp"` relative to its `directory_url`), or
//! its ROLIE feeds when it has no directory. An advisory is fetched when its timestamp differs from the one
//! recorded at the last fetch.
//!
//! Only URLs on the provider's own origin are followed (or under the directory the caller configured),
//! so a tampered listing cannot send requests anywhere else, least of all into a monitored network.

use std::collections::HashSet;

use reqwest::Url;
use serde_json::Value;

use crate::http::{Fetched, Get};
use crate::{CsafScope, Event, Feed, FeedFailure, FetchError, Run};

/// Save the state after this many advisories (and at the end), not after each: a full listing has
/// thousands, and a re-download of a few after an interruption is cheap.
const SAVE_EVERY: usize = 32;
/// Give up on the feed after this many advisories in a row failed: the server is down.
const MAX_CONSECUTIVE_FAILURES: usize = 3;

/// Where advisories are listed.
enum Listing {
    /// A CSAF directory (ending in `/`) with a `changes.csv`.
    Directory(Url),
    /// A ROLIE feed document.
    Rolie(Url),
}

/// One advisory a listing names.
struct Entry {
    url: Url,
    timestamp: String,
    /// The file name to write under `csaf/`.
    name: String,
}

pub(crate) fn update(run: &mut Run<'_>) -> Result<(), FetchError> {
    let (listings, origin) = match &run.opts.sources.csaf_directory {
        Some(dir) => {
            let url = directory_url(dir)?;
            let origin = url.clone();
            (vec![Listing::Directory(url)], origin)
        }
        None => discover(run)?,
    };
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for listing in listings {
        let listed = match listing {
            Listing::Directory(dir) => read_changes(run, &dir, &origin)?,
            Listing::Rolie(feed) => read_rolie(run, &feed, &origin)?,
        };
        for e in listed {
            if seen.insert(e.url.to_string()) {
                entries.push(e);
            }
        }
    }
    let scope = run.opts.csaf_scope;
    entries.retain(|e| scope == CsafScope::All || e.name.starts_with("icsma-"));

    let mut unsaved = 0;
    let mut failures_in_a_row = 0;
    for entry in entries {
        let key = entry.url.to_string();
        let rel = format!("csaf/{}", entry.name);
        let known = run.state.csaf.files.get(&key) == Some(&entry.timestamp);
        if known && run.dest.join(&rel).is_file() {
            continue;
        }
        let req = Get {
            url: entry.url.clone(),
            feed: Feed::Csaf,
            headers: Vec::new(),
            limiter: None,
            retry_forbidden: false,
        };
        match run.http.get(req, check_advisory, &mut run.ctx) {
            Ok(Fetched::New { body, .. }) => {
                run.write(Feed::Csaf, &rel, &body)?;
                run.state.csaf.files.insert(key, entry.timestamp);
                failures_in_a_row = 0;
                unsaved += 1;
                if unsaved >= SAVE_EVERY {
                    run.save()?;
                    unsaved = 0;
                }
            }
            Ok(Fetched::NotModified) => {
                let error = FetchError::BadResponse {
                    url: key,
                    problem: "answered 304 Not Modified to an unconditional request".to_owned(),
                };
                run.failures.push(FeedFailure {
                    feed: Feed::Csaf,
                    error,
                });
            }
            Err(e @ (FetchError::Cancelled | FetchError::Io { .. } | FetchError::State { .. })) => {
                run.save()?;
                return Err(e);
            }
            Err(error) => {
                failures_in_a_row += 1;
                if failures_in_a_row >= MAX_CONSECUTIVE_FAILURES {
                    run.save()?;
                    return Err(error);
                }
                run.failures.push(FeedFailure {
                    feed: Feed::Csaf,
                    error,
                });
            }
        }
    }
    run.save()
}

/// Reads the provider metadata and returns its listings on its own origin, and that origin.
fn discover(run: &mut Run<'_>) -> Result<(Vec<Listing>, Url), FetchError> {
    let configured = &run.opts.sources.csaf_provider_metadata;
    let meta_url = Url::parse(configured).map_err(|e| FetchError::BadUrl {
        url: configured.clone(),
        reason: e.to_string(),
    })?;
    let req = Get {
        url: meta_url.clone(),
        feed: Feed::Csaf,
        headers: Vec::new(),
        limiter: None,
        retry_forbidden: false,
    };
    let meta = match run.http.get(req, check_metadata, &mut run.ctx)? {
        Fetched::New { value, .. } => value,
        Fetched::NotModified => {
            return Err(FetchError::BadResponse {
                url: meta_url.to_string(),
                problem: "answered 304 Not Modified to an unconditional request".to_owned(),
            });
        }
    };
    let mut listings = Vec::new();
    let distributions = meta
        .get("distributions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for dist in distributions {
        if let Some(dir) = dist.get("directory_url").and_then(Value::as_str) {
            match directory_url(dir) {
                Ok(url) if same_origin(&url, &meta_url) => {
                    listings.push(Listing::Directory(url));
                    continue;
                }
                Ok(_) => skip(
                    run,
                    dir,
                    "directory on another origin than the provider metadata",
                ),
                Err(e) => skip(run, dir, &e.to_string()),
            }
        }
        let feeds = dist
            .pointer("/rolie/feeds")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for feed in feeds {
            let Some(href) = feed.get("url").and_then(Value::as_str) else {
                continue;
            };
            match meta_url.join(href) {
                Ok(url) if same_origin(&url, &meta_url) => listings.push(Listing::Rolie(url)),
                Ok(_) => skip(
                    run,
                    href,
                    "ROLIE feed on another origin than the provider metadata",
                ),
                Err(e) => skip(run, href, &e.to_string()),
            }
        }
    }
    if listings.is_empty() {
        return Err(FetchError::BadResponse {
            url: meta_url.to_string(),
            problem: "the provider metadata lists no directory or ROLIE feed on its own origin; \
                      configure the CSAF directory explicitly"
                .to_owned(),
        });
    }
    Ok((listings, meta_url))
}

/// Downloads a directory's `changes.csv` and returns its advisories under that directory.
fn read_changes(run: &mut Run<'_>, dir: &Url, origin: &Url) -> Result<Vec<Entry>, FetchError> {
    let url = dir.join("changes.csv").map_err(|e| FetchError::BadUrl {
        url: dir.to_string(),
        reason: e.to_string(),
    })?;
    let req = Get {
        url: url.clone(),
        feed: Feed::Csaf,
        headers: Vec::new(),
        limiter: None,
        retry_forbidden: false,
    };
    let text = match run.http.get(req, check_text, &mut run.ctx)? {
        Fetched::New { value, .. } => value,
        Fetched::NotModified => String::new(),
    };
    let mut entries = Vec::new();
    for (path, timestamp) in parse_changes(&text) {
        let resolved = dir
            .join(&path)
            .ok()
            .filter(|u| same_origin(u, origin) && u.path().starts_with(dir.path()));
        match resolved {
            Some(u) => push_entry(run, &mut entries, u, timestamp),
            None => skip(run, &path, "not under the CSAF directory"),
        }
    }
    Ok(entries)
}

/// Downloads a ROLIE feed and returns its advisories on the provider's origin.
fn read_rolie(run: &mut Run<'_>, feed: &Url, origin: &Url) -> Result<Vec<Entry>, FetchError> {
    let req = Get {
        url: feed.clone(),
        feed: Feed::Csaf,
        headers: Vec::new(),
        limiter: None,
        retry_forbidden: false,
    };
    let doc = match run.http.get(req, check_rolie, &mut run.ctx)? {
        Fetched::New { value, .. } => value,
        Fetched::NotModified => Value::Null,
    };
    let items = doc
        .pointer("/feed/entry")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut entries = Vec::new();
    for item in items {
        let updated = item
            .get("updated")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let links = item
            .get("link")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let href = links
            .iter()
            .find(|l| l.get("rel").and_then(Value::as_str) == Some("self"))
            .and_then(|l| l.get("href"))
            .or_else(|| item.pointer("/content/src"))
            .and_then(Value::as_str);
        let Some(href) = href else { continue };
        match feed.join(href) {
            Ok(u) if same_origin(&u, origin) => {
                push_entry(run, &mut entries, u, updated.to_owned())
            }
            _ => skip(run, href, "advisory on another origin than the provider"),
        }
    }
    Ok(entries)
}

fn push_entry(run: &mut Run<'_>, entries: &mut Vec<Entry>, url: Url, timestamp: String) {
    match file_name(&url) {
        Some(name) => entries.push(Entry {
            url,
            timestamp,
            name,
        }),
        None => skip(
            run,
            url.as_str(),
            "not a usable CSAF file name (letters, digits, '.', '_', '-', ending in .json)",
        ),
    }
}

fn skip(run: &mut Run<'_>, entry: &str, reason: &str) {
    (run.ctx.progress)(Event::Skipped {
        feed: Feed::Csaf,
        entry: entry.to_owned(),
        reason: reason.to_owned(),
    });
}

/// A directory URL, with the trailing `/` that makes relative paths resolve inside it.
fn directory_url(s: &str) -> Result<Url, FetchError> {
    let with_slash = if s.ends_with('/') {
        s.to_owned()
    } else {
        format!("{s}/")
    };
    Url::parse(&with_slash).map_err(|e| FetchError::BadUrl {
        url: s.to_owned(),
        reason: e.to_string(),
    })
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// The advisory's file name, lowercased, if it is a plain `*.json` name (CSAF 2.0 §5.1 file names are
/// lowercase letters, digits, `+`, `-` and `_`).
fn file_name(url: &Url) -> Option<String> {
    let name = url.path_segments()?.next_back()?.to_ascii_lowercase();
    let stem = name.strip_suffix(".json")?;
    let ok = !stem.is_empty()
        && !stem.starts_with('.')
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'));
    ok.then_some(name)
}

/// The rows of a `changes.csv`: (path, timestamp). Rows that are not two fields are ignored.
fn parse_changes(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let fields = csv_fields(line.trim_end_matches('\r'));
            match fields.as_slice() {
                [path, ts] if !path.is_empty() => Some((path.clone(), ts.clone())),
                _ => None,
            }
        })
        .collect()
}

/// Splits one CSV line into fields, handling quotes and doubled quotes.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur).trim().to_owned()),
            _ => cur.push(c),
        }
    }
    fields.push(cur.trim().to_owned());
    fields
}

fn check_metadata(body: &[u8]) -> Result<Value, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    if !v.get("distributions").is_some_and(Value::is_array) {
        return Err("the provider metadata has no \"distributions\" array".to_owned());
    }
    Ok(v)
}

fn check_text(body: &[u8]) -> Result<String, String> {
    String::from_utf8(body.to_vec()).map_err(|_| "changes.csv is not UTF-8 text".to_owned())
}

fn check_rolie(body: &[u8]) -> Result<Value, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    if !v.pointer("/feed/entry").is_some_and(Value::is_array) {
        return Err("the ROLIE feed has no \"feed.entry\" array".to_owned());
    }
    Ok(v)
}

fn check_advisory(body: &[u8]) -> Result<(), String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    if !v.get("document").is_some_and(Value::is_object) {
        return Err("not a CSAF document (no \"document\" object)".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_changes_csv() {
        let text = "\"2025/icsma-25-001-01.json\",\"2025-01-02T00:00:00Z\"\r\n\
                    2024/icsa-24-001-01.json,2024-01-02T00:00:00.000000Z\n\
                    \n\
                    garbage\n";
        assert_eq!(
            parse_changes(text),
            [
                (
                    "2025/icsma-25-001-01.json".to_owned(),
                    "2025-01-02T00:00:00Z".to_owned()
                ),
                (
                    "2024/icsa-24-001-01.json".to_owned(),
                    "2024-01-02T00:00:00.000000Z".to_owned()
                ),
            ]
        );
        assert_eq!(csv_fields(r#""a ""b""",c"#), ["a \"b\"", "c"]);
    }

    #[test]
    fn file_names_are_plain() {
        let name = |s: &str| Url::parse(s).ok().and_then(|u| file_name(&u));
        assert_eq!(
            name("https://x.test/csaf/2025/ICSMA-25-001-01.json").as_deref(),
            Some("icsma-25-001-01.json")
        );
        assert_eq!(name("https://x.test/csaf/2025/"), None);
        assert_eq!(name("https://x.test/csaf/.json"), None);
        assert_eq!(name("https://x.test/csaf/a%2F..%2Fb.json"), None);
        assert_eq!(name("https://x.test/csaf/index.txt"), None);
    }

    #[test]
    fn resolution_stays_under_the_directory() {
        let dir = directory_url("https://x.test/csaf/white").unwrap_or_else(|_| unreachable!());
        let under = |p: &str| {
            dir.join(p)
                .ok()
                .is_some_and(|u| same_origin(&u, &dir) && u.path().starts_with(dir.path()))
        };
        assert!(under("2025/icsma-25-001-01.json"));
        assert!(!under("../2025/icsma-25-001-01.json"));
        assert!(!under("https://elsewhere.test/csaf/white/x.json"));
        assert!(!under("/other/x.json"));
    }
}
