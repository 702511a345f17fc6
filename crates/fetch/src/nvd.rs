//! The NVD CVE API 2.0: a full download on the first run, then the changes since the last completed
//! window (`lastModStartDate`/`lastModEndDate`, at most 120 days per query), paged by `startIndex`, within
//! the published rate limits.
//!
//! Progress is saved after every page, and the watermark moves to a window's end only when its last page
//! is in; so a run that stops resumes at the page where it stopped, with the same window.

use reqwest::Url;
use serde_json::Value;

use crate::clock::{RateLimit, RateLimiter};
use crate::http::{Fetched, Get};
use crate::state::NvdWindow;
use crate::time::{DAY, compact, nvd_date, parse_rfc3339, rfc3339, unix};
use crate::{Event, Feed, FetchError, Run};

/// The API's largest `resultsPerPage`.
pub(crate) const MAX_PAGE_SIZE: u32 = 2000;
/// The API's longest `lastModStartDate`..`lastModEndDate` range.
const MAX_WINDOW: i64 = 120 * DAY;

/// What the check of a page reports.
struct Page {
    total_results: u64,
    count: u64,
}

pub(crate) fn update(run: &mut Run<'_>) -> Result<(), FetchError> {
    let opts = run.opts;
    let base = Url::parse(&opts.sources.nvd).map_err(|e| FetchError::BadUrl {
        url: opts.sources.nvd.clone(),
        reason: e.to_string(),
    })?;
    let api_key = opts.nvd_api_key.as_deref().filter(|k| !k.trim().is_empty());
    let limit = opts.nvd_rate_limit.unwrap_or(if api_key.is_some() {
        RateLimit::NVD_WITH_KEY
    } else {
        RateLimit::NVD_PUBLIC
    });
    let mut limiter = RateLimiter::new(limit);
    let page_size = opts.nvd_page_size.clamp(1, MAX_PAGE_SIZE);
    let now = run.now();
    // An explicit `since` replaces whatever the state says, including a window under way.
    let mut since = opts.since.map(unix);
    if since.is_some() {
        run.state.nvd.in_progress = None;
    }
    loop {
        let window = match run.state.nvd.in_progress.clone() {
            Some(w) => w,
            None => {
                let start = match since.take() {
                    Some(s) => Some(s),
                    None => match run.state.nvd.watermark.as_deref() {
                        Some(w) => Some(parse_rfc3339(w).ok_or_else(|| FetchError::State {
                            path: run.dest.join(crate::STATE_FILE),
                            reason: format!("nvd watermark {w:?} is not an RFC 3339 time"),
                        })?),
                        None => None,
                    },
                };
                match start {
                    None => NvdWindow {
                        start: None,
                        end: rfc3339(now),
                        next_start_index: 0,
                        total_results: None,
                        dir: format!("full-{}", compact(now)),
                    },
                    Some(s) if s >= now => break,
                    Some(s) => {
                        let end = now.min(s.saturating_add(MAX_WINDOW));
                        NvdWindow {
                            start: Some(rfc3339(s)),
                            end: rfc3339(end),
                            next_start_index: 0,
                            total_results: None,
                            dir: format!("{}--{}", compact(s), compact(end)),
                        }
                    }
                }
            }
        };
        run_window(run, &base, api_key, page_size, &mut limiter, window)?;
    }
    Ok(())
}

/// Pages through one window from its `next_start_index`, saving progress after every page, and moves the
/// watermark to the window's end when the last page is in.
fn run_window(
    run: &mut Run<'_>,
    base: &Url,
    api_key: Option<&str>,
    page_size: u32,
    limiter: &mut RateLimiter,
    mut window: NvdWindow,
) -> Result<(), FetchError> {
    let bad_state = |what: &str| FetchError::State {
        path: run.dest.join(crate::STATE_FILE),
        reason: format!("nvd window {what} is not an RFC 3339 time"),
    };
    let start = match &window.start {
        Some(s) => Some(parse_rfc3339(s).ok_or_else(|| bad_state("start"))?),
        None => None,
    };
    let end = parse_rfc3339(&window.end).ok_or_else(|| bad_state("end"))?;
    loop {
        let start_index = window.next_start_index;
        let mut url = base.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("resultsPerPage", &page_size.to_string());
            q.append_pair("startIndex", &start_index.to_string());
            if let Some(start) = start {
                q.append_pair("lastModStartDate", &nvd_date(start));
                q.append_pair("lastModEndDate", &nvd_date(end));
            }
        }
        let mut headers = Vec::new();
        if let Some(key) = api_key {
            headers.push(("apiKey", key.to_owned()));
        }
        let req = Get {
            url: url.clone(),
            feed: Feed::Nvd,
            headers,
            limiter: Some(limiter),
            retry_forbidden: true,
        };
        let (body, page) = match run.http.get(req, check_page, &mut run.ctx)? {
            Fetched::New { body, value, .. } => (body, value),
            // We send no validators, so a 304 is a broken server.
            Fetched::NotModified => {
                return Err(FetchError::BadResponse {
                    url: url.to_string(),
                    problem: "answered 304 Not Modified to an unconditional request".to_owned(),
                });
            }
        };
        if page.count > 0 {
            let rel = format!("nvd/{}/page-{start_index}.json", window.dir);
            run.write(Feed::Nvd, &rel, &body)?;
        }
        let next = start_index.saturating_add(page.count);
        if page.count == 0 && next < page.total_results {
            return Err(FetchError::BadResponse {
                url: url.to_string(),
                problem: format!(
                    "no records at startIndex {start_index} although totalResults is {}",
                    page.total_results
                ),
            });
        }
        window.next_start_index = next;
        window.total_results = Some(page.total_results);
        (run.ctx.progress)(Event::NvdPage {
            done: next.min(page.total_results),
            total: page.total_results,
        });
        if next >= page.total_results {
            run.state.nvd.watermark = Some(window.end.clone());
            run.state.nvd.in_progress = None;
            run.save()?;
            return Ok(());
        }
        run.state.nvd.in_progress = Some(window.clone());
        run.save()?;
    }
}

/// Accepts a body that parses as an API 2.0 response: `totalResults`, `startIndex`, `resultsPerPage`
/// numbers and a `vulnerabilities` array.
fn check_page(body: &[u8]) -> Result<Page, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let number = |key: &str| {
        v.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("response has no numeric {key:?}"))
    };
    let total_results = number("totalResults")?;
    number("startIndex")?;
    number("resultsPerPage")?;
    let count = v
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .ok_or("response has no \"vulnerabilities\" array")?
        .len() as u64;
    Ok(Page {
        total_results,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_the_page_shape() {
        let ok = br#"{"resultsPerPage":2,"startIndex":0,"totalResults":5,"format":"NVD_CVE",
            "version":"2.0","timestamp":"2025-08-25T12:00:00.000","vulnerabilities":[{"cve":{"id":"CVE-1"}},{"cve":{"id":"CVE-2"}}]}"#;
        let page = check_page(ok).map_err(|e| e.to_string());
        assert!(matches!(
            page,
            Ok(Page {
                total_results: 5,
                count: 2
            })
        ));
        assert!(check_page(&ok[..ok.len() - 10]).is_err());
        assert!(check_page(br#"{"message":"rate limited"}"#).is_err());
        assert!(check_page(br#"{"resultsPerPage":0,"startIndex":0,"totalResults":0}"#).is_err());
    }
}
