//! NVD CVE API 2.0 downloads against a local server: paging, the API key, rate limits, back-off, bad
//! bodies, resuming after an interruption, incremental windows.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use fetch::{Event, Feed, FetchError, RateLimit, RateLimiter, Summary, load_state};
use support::{Dest, FakeClock, Response, Server, collect, cve_ids, files_under, nvd_answer};

const NVD: &str = "/rest/json/cves/2.0";

fn run(
    dest: &Dest,
    opts: &fetch::UpdateOptions,
    clock: &mut FakeClock,
) -> Result<Summary, FetchError> {
    let mut events = Vec::new();
    fetch::update_with_clock(&dest.dir, opts, clock, &mut collect(&mut events))
}

fn nvd_options(server: &Server, page_size: u32) -> fetch::UpdateOptions {
    fetch::UpdateOptions {
        nvd_page_size: page_size,
        ..support::options(server, &[Feed::Nvd])
    }
}

#[test]
fn pages_through_three_pages_and_collects_every_record() {
    let server = Server::start(|req| nvd_answer(req, 5));
    let dest = Dest::new("nvd-paging");
    let mut clock = FakeClock::new();
    let summary = run(&dest, &nvd_options(&server, 2), &mut clock).expect("update");
    assert!(summary.is_complete(), "{:?}", summary.failures);

    let starts: Vec<String> = server
        .requests_to(NVD)
        .iter()
        .map(|r| r.query("startIndex").unwrap_or_default())
        .collect();
    assert_eq!(starts, ["0", "2", "4"]);
    for r in server.requests_to(NVD) {
        assert_eq!(r.query("resultsPerPage").as_deref(), Some("2"));
        assert_eq!(
            r.query("lastModStartDate"),
            None,
            "a first run is a full download"
        );
    }
    let dir = "nvd/full-20250825T120000Z";
    assert_eq!(
        files_under(&dest.dir),
        [
            ".lock".to_owned(),
            format!("{dir}/page-0.json"),
            format!("{dir}/page-2.json"),
            format!("{dir}/page-4.json"),
            "state.json".to_owned(),
        ]
    );
    assert_eq!(summary.nvd.len(), 3);
    let ids = cve_ids(&summary.nvd);
    assert_eq!(ids.len(), 5);
    assert_eq!(ids[0], "CVE-2025-00001");
    assert_eq!(ids[4], "CVE-2025-00005");

    let state = load_state(&dest.dir).expect("state");
    assert_eq!(state.nvd.watermark.as_deref(), Some("2025-08-25T12:00:00Z"));
    assert_eq!(state.nvd.in_progress, None);
    assert!(state.pending.is_empty());
}

#[test]
fn sends_the_api_key_header_only_when_configured() {
    let server = Server::start(|req| nvd_answer(req, 1));
    let dest = Dest::new("nvd-key");
    let mut opts = nvd_options(&server, 2000);
    opts.nvd_api_key = Some("secret-key-123".to_owned());
    run(&dest, &opts, &mut FakeClock::new()).expect("update with key");
    let with_key = server.requests_to(NVD);
    assert_eq!(with_key.len(), 1);
    assert_eq!(with_key[0].header("apiKey"), Some("secret-key-123"));
    assert!(
        !with_key[0].target.contains("secret"),
        "the key goes in a header, never in the URL"
    );
    assert!(
        !format!("{opts:?}").contains("secret"),
        "Debug redacts the key"
    );

    server.clear_log();
    let dest = Dest::new("nvd-nokey");
    run(&dest, &nvd_options(&server, 2000), &mut FakeClock::new()).expect("update without key");
    let without = server.requests_to(NVD);
    assert_eq!(without.len(), 1);
    assert_eq!(without[0].header("apiKey"), None);
}

#[test]
fn rate_limiter_computes_sliding_window_waits() {
    let mut clock = FakeClock::new();
    let mut limiter = RateLimiter::new(RateLimit::NVD_PUBLIC);
    let waits: Vec<u64> = (0..7)
        .map(|_| limiter.acquire(&mut clock).as_secs())
        .collect();
    // Five go at once; the sixth waits for the first to leave the 30 s window; the seventh then fits.
    assert_eq!(waits, [0, 0, 0, 0, 0, 30, 0]);

    // Requests spread out: the wait is measured from the oldest of the last five, not from the last one.
    let mut clock = FakeClock::new();
    let mut limiter = RateLimiter::new(RateLimit::NVD_PUBLIC);
    let mut waits = Vec::new();
    for _ in 0..6 {
        waits.push(limiter.acquire(&mut clock).as_secs());
        clock.now += Duration::from_secs(4);
    }
    // Sent at 0, 4, 8, 12, 16; the sixth at 20 must wait until 30.
    assert_eq!(waits, [0, 0, 0, 0, 0, 10]);
    assert_eq!(limiter.delay(clock.now), Duration::ZERO);

    let mut limiter = RateLimiter::new(RateLimit::NVD_WITH_KEY);
    let mut clock = FakeClock::new();
    let total: Duration = (0..50).map(|_| limiter.acquire(&mut clock)).sum();
    assert_eq!(total, Duration::ZERO);
    assert_eq!(limiter.delay(clock.now), Duration::from_secs(30));
}

#[test]
fn paging_respects_the_published_rate_limits() {
    let server = Server::start(|req| nvd_answer(req, 7));
    let dest = Dest::new("nvd-rate");
    let mut clock = FakeClock::new();
    let summary = run(&dest, &nvd_options(&server, 1), &mut clock).expect("update");
    assert_eq!(summary.nvd.len(), 7);
    assert_eq!(clock.sleeps, [Duration::from_secs(30)]);

    // With a key, 50 per 30 s: seven pages need no wait.
    let dest = Dest::new("nvd-rate-key");
    let mut opts = nvd_options(&server, 1);
    opts.nvd_api_key = Some("k".to_owned());
    let mut clock = FakeClock::new();
    run(&dest, &opts, &mut clock).expect("update with key");
    assert_eq!(clock.sleeps, []);
}

#[test]
fn retries_429_after_the_retry_after_delay() {
    let calls = Arc::new(AtomicUsize::new(0));
    let server = Server::start({
        let calls = Arc::clone(&calls);
        move |req| {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Response::status(429).header("Retry-After", "7")
            } else {
                nvd_answer(req, 1)
            }
        }
    });
    let dest = Dest::new("nvd-429");
    let mut clock = FakeClock::new();
    let mut events = Vec::new();
    let summary = fetch::update_with_clock(
        &dest.dir,
        &nvd_options(&server, 2000),
        &mut clock,
        &mut collect(&mut events),
    )
    .expect("update");
    assert!(summary.is_complete());
    assert_eq!(summary.nvd.len(), 1);
    assert_eq!(clock.sleeps, [Duration::from_secs(7)]);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Retrying { attempt: 1, problem, .. } if problem.contains("429")
    )));
}

#[test]
fn retries_403_and_5xx_with_exponential_backoff() {
    let calls = Arc::new(AtomicUsize::new(0));
    let server = Server::start({
        let calls = Arc::clone(&calls);
        move |req| match calls.fetch_add(1, Ordering::SeqCst) {
            // The NVD answers 403 when a client goes over its rate limit.
            0 => Response::status(403),
            1 => Response::status(503),
            2 => Response::status(500),
            _ => nvd_answer(req, 1),
        }
    });
    let dest = Dest::new("nvd-5xx");
    let mut opts = nvd_options(&server, 2000);
    opts.retry.max_attempts = 4;
    let mut clock = FakeClock::new();
    let summary = run(&dest, &opts, &mut clock).expect("update");
    assert!(summary.is_complete(), "{:?}", summary.failures);
    assert_eq!(
        clock.sleeps,
        [2, 4, 8].map(Duration::from_secs),
        "2 s, doubling"
    );
    assert_eq!(server.requests_to(NVD).len(), 4);
}

#[test]
fn truncated_page_is_retried_then_reported_naming_the_url() {
    let server = Server::start(|req| {
        let full = nvd_answer(req, 3);
        let n = full.body.len() / 2;
        full.cut_at(n)
    });
    let dest = Dest::new("nvd-cut");
    let summary = run(&dest, &nvd_options(&server, 2000), &mut FakeClock::new()).expect("update");
    assert_eq!(server.requests_to(NVD).len(), 3, "max_attempts is 3");
    assert!(summary.nvd.is_empty());
    let [failure] = summary.failures.as_slice() else {
        panic!("one failure expected: {:?}", summary.failures);
    };
    assert_eq!(failure.feed, Feed::Nvd);
    let msg = failure.error.to_string();
    assert!(msg.contains(&server.url(NVD)), "{msg}");
    assert!(msg.contains("startIndex=0"), "{msg}");
    assert!(msg.contains("cut short"), "{msg}");
    assert!(msg.contains("gave up after 3 attempts"), "{msg}");
    assert_eq!(files_under(&dest.dir), [".lock", "state.json"]);
}

#[test]
fn invalid_json_is_retried_then_reported() {
    let server = Server::start(|_| Response::ok("<html>maintenance</html>"));
    let dest = Dest::new("nvd-html");
    let summary = run(&dest, &nvd_options(&server, 2000), &mut FakeClock::new()).expect("update");
    let msg = summary.failures[0].error.to_string();
    assert!(msg.contains("not valid JSON"), "{msg}");
    assert!(msg.contains(&server.url(NVD)), "{msg}");
    assert_eq!(server.requests_to(NVD).len(), 3);
}

#[test]
fn json_without_the_expected_keys_is_refused() {
    let server =
        Server::start(|_| Response::json(&serde_json::json!({"totalResults": 1, "startIndex": 0})));
    let dest = Dest::new("nvd-shape");
    let summary = run(&dest, &nvd_options(&server, 2000), &mut FakeClock::new()).expect("update");
    let msg = summary.failures[0].error.to_string();
    assert!(msg.contains("resultsPerPage"), "{msg}");
    assert!(summary.nvd.is_empty());
}

#[test]
fn client_errors_are_not_retried_and_carry_the_nvd_message() {
    let server =
        Server::start(|_| Response::status(404).header("message", "Invalid apiKey parameter"));
    let dest = Dest::new("nvd-404");
    let mut clock = FakeClock::new();
    let summary = run(&dest, &nvd_options(&server, 2000), &mut clock).expect("update");
    assert_eq!(server.requests_to(NVD).len(), 1);
    assert!(clock.sleeps.is_empty());
    let msg = summary.failures[0].error.to_string();
    assert!(
        msg.contains("HTTP status 404: Invalid apiKey parameter"),
        "{msg}"
    );
}

#[test]
fn resumes_at_the_failed_page_and_moves_the_watermark_only_when_done() {
    let broken = Arc::new(AtomicBool::new(true));
    let server = Server::start({
        let broken = Arc::clone(&broken);
        move |req| {
            if broken.load(Ordering::SeqCst) && req.query("startIndex").as_deref() == Some("2") {
                Response::status(500)
            } else if req.query("lastModStartDate").is_some() {
                nvd_answer(req, 1)
            } else {
                nvd_answer(req, 5)
            }
        }
    });
    let dest = Dest::new("nvd-resume");
    let opts = nvd_options(&server, 1);
    let mut clock = FakeClock::new();
    let first = run(&dest, &opts, &mut clock).expect("first run");
    assert_eq!(first.failures.len(), 1);
    assert_eq!(
        first.nvd.len(),
        2,
        "pages 0 and 1 were written and are reported"
    );
    let state = load_state(&dest.dir).expect("state");
    assert_eq!(state.nvd.watermark, None, "no watermark before completion");
    let w = state.nvd.in_progress.expect("a window in progress");
    assert_eq!(w.next_start_index, 2);
    assert_eq!(w.start, None);

    broken.store(false, Ordering::SeqCst);
    server.clear_log();
    clock.now = Duration::ZERO;
    clock.wall_offset = Duration::from_secs(3600);
    let second = run(&dest, &opts, &mut clock).expect("second run");
    assert!(second.is_complete(), "{:?}", second.failures);
    let starts: Vec<String> = server
        .requests_to(NVD)
        .iter()
        .map(|r| r.query("startIndex").unwrap_or_default())
        .collect();
    // Resumed at page 2 of the same full download, then asked for what changed during it.
    assert_eq!(starts, ["2", "3", "4", "0"]);
    let last = &server.requests_to(NVD)[3];
    assert_eq!(
        last.query("lastModStartDate").as_deref(),
        Some("2025-08-25T12:00:00.000+00:00")
    );
    let dir = "nvd/full-20250825T120000Z";
    let names: Vec<String> = second
        .nvd
        .iter()
        .map(|p| {
            p.strip_prefix(&dest.dir)
                .expect("under dest")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            format!("{dir}/page-2.json"),
            format!("{dir}/page-3.json"),
            format!("{dir}/page-4.json"),
            "nvd/20250825T120000Z--20250825T130000Z/page-0.json".to_owned(),
        ],
        "pages 0 and 1 were reported by the first run and are not reported again"
    );
    let state = load_state(&dest.dir).expect("state");
    assert_eq!(state.nvd.in_progress, None);
    assert_eq!(
        state.nvd.watermark.as_deref(),
        Some("2025-08-25T13:00:00Z"),
        "the watermark is the end of the last completed window"
    );
    assert!(state.pending.is_empty());
}

#[test]
fn a_cancelled_run_hands_its_pages_to_the_next_one() {
    let server = Server::start(|req| nvd_answer(req, 3));
    let dest = Dest::new("nvd-cancel");
    let cancel = Arc::new(AtomicBool::new(false));
    let mut opts = nvd_options(&server, 1);
    opts.cancel = Some(Arc::clone(&cancel));
    let mut clock = FakeClock::new();
    let mut progress = |e: Event| {
        if matches!(e, Event::Written { .. }) {
            cancel.store(true, Ordering::SeqCst);
        }
    };
    let res = fetch::update_with_clock(&dest.dir, &opts, &mut clock, &mut progress);
    assert!(matches!(res, Err(FetchError::Cancelled)), "{res:?}");
    let state = load_state(&dest.dir).expect("state");
    assert_eq!(
        state.pending.len(),
        1,
        "page 0 is written but not yet reported"
    );
    assert_eq!(
        state.nvd.in_progress.as_ref().map(|w| w.next_start_index),
        Some(1)
    );

    opts.cancel = None;
    let summary = run(&dest, &opts, &mut clock).expect("second run");
    assert_eq!(
        summary.nvd.len(),
        3,
        "page 0 from the cancelled run, pages 1 and 2 from this one"
    );
    assert_eq!(cve_ids(&summary.nvd).len(), 3);
    assert!(load_state(&dest.dir).expect("state").pending.is_empty());
}

#[test]
fn incremental_updates_split_long_ranges_into_120_day_windows() {
    let server = Server::start(|req| {
        if req.query("lastModStartDate").is_some() {
            nvd_answer(req, 1)
        } else {
            nvd_answer(req, 2)
        }
    });
    let dest = Dest::new("nvd-windows");
    let opts = nvd_options(&server, 2000);
    let mut clock = FakeClock::new();
    run(&dest, &opts, &mut clock).expect("full download");

    server.clear_log();
    clock.wall_offset = Duration::from_secs(200 * 86_400);
    let summary = run(&dest, &opts, &mut clock).expect("incremental");
    let windows: Vec<(String, String)> = server
        .requests_to(NVD)
        .iter()
        .map(|r| {
            (
                r.query("lastModStartDate").unwrap_or_default(),
                r.query("lastModEndDate").unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        [
            (
                "2025-08-25T12:00:00.000+00:00".to_owned(),
                "2025-12-23T12:00:00.000+00:00".to_owned()
            ),
            (
                "2025-12-23T12:00:00.000+00:00".to_owned(),
                "2026-03-13T12:00:00.000+00:00".to_owned()
            ),
        ]
    );
    assert_eq!(summary.nvd.len(), 2);
    assert!(
        summary.nvd[0]
            .to_string_lossy()
            .contains("20250825T120000Z--20251223T120000Z")
    );
    let state = load_state(&dest.dir).expect("state");
    assert_eq!(state.nvd.watermark.as_deref(), Some("2026-03-13T12:00:00Z"));

    // Nothing has changed since: a run a moment later asks once and writes nothing.
    server.clear_log();
    let server_total_zero = Server::start(|req| nvd_answer(req, 0));
    let mut opts0 = opts.clone();
    opts0.sources.nvd = server_total_zero.url(NVD);
    clock.wall_offset += Duration::from_secs(60);
    let summary = run(&dest, &opts0, &mut clock).expect("empty incremental");
    assert!(summary.nvd.is_empty());
    assert_eq!(server_total_zero.requests_to(NVD).len(), 1);
}

#[test]
fn since_starts_with_the_changes_after_that_date() {
    let server = Server::start(|req| nvd_answer(req, 1));
    let dest = Dest::new("nvd-since");
    let mut opts = nvd_options(&server, 2000);
    opts.since = fetch::parse_since("2025-08-01");
    run(&dest, &opts, &mut FakeClock::new()).expect("update");
    let reqs = server.requests_to(NVD);
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].query("lastModStartDate").as_deref(),
        Some("2025-08-01T00:00:00.000+00:00")
    );
    assert_eq!(
        reqs[0].query("lastModEndDate").as_deref(),
        Some("2025-08-25T12:00:00.000+00:00")
    );
    assert!(
        reqs[0].target.contains("%2B00%3A00"),
        "the + of the offset is escaped"
    );
}

#[test]
fn gzip_transfer_encoding_is_decoded() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let server = Server::start(|req| {
        let plain = nvd_answer(req, 2);
        assert_eq!(req.header("Accept-Encoding"), Some("gzip"));
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&plain.body).expect("gzip");
        Response::ok(enc.finish().expect("gzip")).header("Content-Encoding", "gzip")
    });
    let dest = Dest::new("nvd-gzip");
    let summary = run(&dest, &nvd_options(&server, 2000), &mut FakeClock::new()).expect("update");
    assert!(summary.is_complete(), "{:?}", summary.failures);
    assert_eq!(cve_ids(&summary.nvd), ["CVE-2025-00001", "CVE-2025-00002"]);
}

/// Real NVD records from the corpus, served as API pages, arrive byte for byte.
#[test]
fn corpus_records_round_trip_through_pages() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let dir = corpus.join("cve/nvd-api-2.0");
    let mut records = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("corpus nvd folder") {
        let path = entry.expect("entry").path();
        let cve: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        records.push(serde_json::json!({ "cve": cve }));
    }
    records.sort_by_key(|r| r["cve"]["id"].as_str().unwrap_or_default().to_owned());
    let total = records.len() as u64;
    assert!(total >= 2);
    let pages: Vec<Vec<u8>> = records
        .chunks(2)
        .enumerate()
        .map(|(i, chunk)| {
            serde_json::to_vec_pretty(&serde_json::json!({
                "resultsPerPage": chunk.len(), "startIndex": i * 2, "totalResults": total,
                "format": "NVD_CVE", "version": "2.0", "timestamp": "2025-08-25T12:00:00.000",
                "vulnerabilities": chunk,
            }))
            .expect("serialise")
        })
        .collect();
    let served = pages.clone();
    let server = Server::start(move |req| {
        let start: usize = req
            .query("startIndex")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Response::ok(served[start / 2].clone())
    });
    let dest = Dest::new("nvd-corpus");
    let summary = run(&dest, &nvd_options(&server, 2), &mut FakeClock::new()).expect("update");
    assert!(summary.is_complete(), "{:?}", summary.failures);
    assert_eq!(summary.nvd.len(), pages.len());
    for (file, page) in summary.nvd.iter().zip(&pages) {
        assert_eq!(&std::fs::read(file).expect("read page"), page);
    }
    let ids = cve_ids(&summary.nvd);
    assert!(ids.contains(&"CVE-2020-25165".to_owned()), "{ids:?}");
}
