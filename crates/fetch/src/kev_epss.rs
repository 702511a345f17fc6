//! The single-file feeds: the KEV catalogue (JSON) and the EPSS scores of the day (gzipped CSV), fetched
//! with conditional requests so that an unchanged feed costs a 304 and writes nothing.

use std::fs;

use reqwest::Url;
use serde_json::Value;

use crate::http::{Fetched, Get, gunzip};
use crate::state::FileState;
use crate::time::{date, rfc3339};
use crate::{Event, Feed, FetchError, Run};

/// Where the KEV catalogue is written, relative to the destination folder.
const KEV_FILE: &str = "kev/known_exploited_vulnerabilities.json";

pub(crate) fn update_kev(run: &mut Run<'_>) -> Result<(), FetchError> {
    let url = parse_url(&run.opts.sources.kev)?;
    let Some((body, released, etag, last_modified)) =
        conditional_get(run, Feed::Kev, url, check_kev)?
    else {
        return Ok(());
    };
    write_if_changed(run, Feed::Kev, KEV_FILE, &body)?;
    run.state.kev = FileState {
        etag,
        last_modified,
        file: Some(KEV_FILE.to_owned()),
        date: released,
        fetched_at: Some(rfc3339(run.now())),
    };
    run.save()
}

pub(crate) fn update_epss(run: &mut Run<'_>) -> Result<(), FetchError> {
    let url = parse_url(&run.opts.sources.epss)?;
    let max = run.opts.max_body_bytes;
    let Some((_, (csv, score_date), etag, last_modified)) =
        conditional_get(run, Feed::Epss, url, |b| check_epss(b, max))?
    else {
        return Ok(());
    };
    let day = score_date.unwrap_or_else(|| date(run.now()));
    let rel = format!("epss/epss_scores-{day}.csv");
    write_if_changed(run, Feed::Epss, &rel, &csv)?;
    run.state.epss = FileState {
        etag,
        last_modified,
        file: Some(rel),
        date: Some(day),
        fetched_at: Some(rfc3339(run.now())),
    };
    run.save()
}

fn parse_url(s: &str) -> Result<Url, FetchError> {
    Url::parse(s).map_err(|e| FetchError::BadUrl {
        url: s.to_owned(),
        reason: e.to_string(),
    })
}

type Downloaded<T> = (Vec<u8>, T, Option<String>, Option<String>);

/// GETs `url` with `If-None-Match`/`If-Modified-Since` from the feed's state, as long as the file they
/// describe is still on disk. `None` means not modified.
fn conditional_get<T>(
    run: &mut Run<'_>,
    feed: Feed,
    url: Url,
    check: impl Fn(&[u8]) -> Result<T, String>,
) -> Result<Option<Downloaded<T>>, FetchError> {
    let known = match feed {
        Feed::Epss => &run.state.epss,
        _ => &run.state.kev,
    };
    let mut headers = Vec::new();
    if known
        .file
        .as_deref()
        .is_some_and(|f| run.dest.join(f).is_file())
    {
        if let Some(etag) = &known.etag {
            headers.push(("If-None-Match", etag.clone()));
        }
        if let Some(lm) = &known.last_modified {
            headers.push(("If-Modified-Since", lm.clone()));
        }
    }
    let req = Get {
        url,
        feed,
        headers,
        limiter: None,
        retry_forbidden: false,
    };
    match run.http.get(req, check, &mut run.ctx)? {
        Fetched::NotModified => {
            (run.ctx.progress)(Event::NotModified { feed });
            Ok(None)
        }
        Fetched::New {
            body,
            value,
            etag,
            last_modified,
        } => Ok(Some((body, value, etag, last_modified))),
    }
}

/// Writes `bytes` unless the file already holds exactly them (a server without validators).
fn write_if_changed(
    run: &mut Run<'_>,
    feed: Feed,
    rel: &str,
    bytes: &[u8],
) -> Result<(), FetchError> {
    let path = run.dest.join(rel);
    if fs::read(&path).is_ok_and(|old| old == bytes) {
        (run.ctx.progress)(Event::Unchanged { feed, path });
        return Ok(());
    }
    run.write(feed, rel, bytes)
}

/// Accepts the KEV catalogue: a JSON object with a `vulnerabilities` array. Returns its `dateReleased`.
fn check_kev(body: &[u8]) -> Result<Option<String>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    if !v.get("vulnerabilities").is_some_and(Value::is_array) {
        return Err("the KEV catalogue has no \"vulnerabilities\" array".to_owned());
    }
    Ok(v.get("dateReleased")
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// Accepts the EPSS file, gzipped or plain: an optional `#model_version:...,score_date:...` line, then the
/// `cve,epss,percentile` header. Returns the CSV and the score date (`YYYY-MM-DD`) if the file names one.
fn check_epss(body: &[u8], max: u64) -> Result<(Vec<u8>, Option<String>), String> {
    let csv = if body.starts_with(&[0x1f, 0x8b]) {
        gunzip(body, max)?
    } else {
        body.to_vec()
    };
    let head = &csv[..csv.len().min(4096)];
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default();
    let mut score_date = None;
    if first.starts_with('#') {
        score_date = first.split(',').find_map(|field| {
            let d = field.trim().strip_prefix("score_date:")?.get(..10)?;
            crate::time::parse_rfc3339(d).map(|_| d.to_owned())
        });
        first = lines.next().unwrap_or_default();
    }
    if !first.trim().to_ascii_lowercase().starts_with("cve,epss") {
        return Err(
            "the EPSS file does not start with a \"cve,epss,percentile\" header".to_owned(),
        );
    }
    Ok((csv, score_date))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epss_check_reads_the_score_date() {
        let csv = b"#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\ncve,epss,percentile\nCVE-1,0.1,0.5\n";
        let (out, day) = check_epss(csv, 1 << 20).unwrap_or_default();
        assert_eq!(out, csv);
        assert_eq!(day.as_deref(), Some("2025-08-25"));
        let plain = check_epss(b"cve,epss,percentile\n", 1 << 20);
        assert_eq!(plain.map(|(_, d)| d), Ok(None));
        assert!(check_epss(b"<html>not found</html>", 1 << 20).is_err());
        assert!(check_epss(&[0x1f, 0x8b, 0, 0], 1 << 20).is_err());
    }

    #[test]
    fn kev_check_wants_the_array() {
        assert_eq!(
            check_kev(br#"{"dateReleased":"2025-08-25T17:04:19.9796Z","vulnerabilities":[]}"#),
            Ok(Some("2025-08-25T17:04:19.9796Z".to_owned()))
        );
        assert!(check_kev(br#"{"vulnerabilities":{}}"#).is_err());
        assert!(check_kev(br#"{"vulnerabilities":[]"#).is_err());
    }
}
