//! KEV, EPSS and CSAF downloads against a local server: conditional requests, gzip, `changes.csv`,
//! ROLIE, cut-short bodies, atomic writes, and what one feed's failure does to the others.

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use fetch::{CsafScope, Event, Feed, FetchError, Summary, UpdateOptions, load_state};
use support::{Dest, FakeClock, Request, Response, Server, collect, files_under};

const KEV: &str = "/feeds/known_exploited_vulnerabilities.json";
const EPSS: &str = "/epss_scores-current.csv.gz";
const META: &str = "/.well-known/csaf/provider-metadata.json";
const CHANGES: &str = "/csaf/white/changes.csv";

fn run(dest: &Dest, opts: &UpdateOptions) -> Result<(Summary, Vec<Event>), FetchError> {
    let mut events = Vec::new();
    let summary = fetch::update_with_clock(
        &dest.dir,
        opts,
        &mut FakeClock::new(),
        &mut collect(&mut events),
    )?;
    Ok((summary, events))
}

fn rel(dest: &Dest, files: &[std::path::PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| {
            p.strip_prefix(&dest.dir)
                .expect("under dest")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

fn kev_json() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2025.08.25",
        "dateReleased": "2025-08-25T17:04:19.9796Z",
        "count": 1,
        "vulnerabilities": [{"cveID": "CVE-2025-48384", "vendorProject": "Git", "product": "Git"}],
    }))
    .expect("serialise")
}

/// Answers conditional requests the way a web server does: 304 when the validator matches.
fn kev_with_etag(req: &Request, body: &[u8], etag: &str) -> Response {
    if req.header("If-None-Match") == Some(etag) {
        return Response::status(304).header("ETag", etag);
    }
    Response::ok(body.to_vec())
        .header("ETag", etag)
        .header("Content-Type", "application/json")
}

#[test]
fn kev_conditional_get_writes_nothing_when_unchanged() {
    let body = kev_json();
    let server = Server::start(move |req| kev_with_etag(req, &body, "\"v1\""));
    let dest = Dest::new("kev-etag");
    let opts = support::options(&server, &[Feed::Kev]);

    let (first, _) = run(&dest, &opts).expect("first run");
    assert_eq!(
        rel(&dest, &first.kev),
        ["kev/known_exploited_vulnerabilities.json"]
    );
    assert_eq!(
        std::fs::read(&first.kev[0]).expect("kev file"),
        kev_json(),
        "written byte for byte"
    );
    let state = load_state(&dest.dir).expect("state");
    assert_eq!(state.kev.etag.as_deref(), Some("\"v1\""));
    assert_eq!(state.kev.date.as_deref(), Some("2025-08-25T17:04:19.9796Z"));

    let (second, events) = run(&dest, &opts).expect("second run");
    assert!(second.kev.is_empty());
    assert!(second.is_complete());
    assert!(events.contains(&Event::NotModified { feed: Feed::Kev }));
    assert!(!events.iter().any(|e| matches!(e, Event::Written { .. })));
    let reqs = server.requests_to(KEV);
    assert_eq!(reqs[0].header("If-None-Match"), None);
    assert_eq!(reqs[1].header("If-None-Match"), Some("\"v1\""));
}

#[test]
fn kev_without_validators_is_not_reported_when_the_bytes_are_the_same() {
    let body = kev_json();
    let server = Server::start(move |_| Response::ok(body.clone()));
    let dest = Dest::new("kev-same");
    let opts = support::options(&server, &[Feed::Kev]);
    let (first, _) = run(&dest, &opts).expect("first run");
    assert_eq!(first.kev.len(), 1);
    let (second, events) = run(&dest, &opts).expect("second run");
    assert!(second.kev.is_empty());
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Unchanged {
            feed: Feed::Kev,
            ..
        }
    )));
}

#[test]
fn conditional_headers_are_not_sent_when_the_file_is_gone() {
    let body = kev_json();
    let server = Server::start(move |req| kev_with_etag(req, &body, "\"v1\""));
    let dest = Dest::new("kev-gone");
    let opts = support::options(&server, &[Feed::Kev]);
    run(&dest, &opts).expect("first run");
    std::fs::remove_dir_all(dest.dir.join("kev")).expect("remove kev folder");
    let (second, _) = run(&dest, &opts).expect("second run");
    assert_eq!(second.kev.len(), 1, "downloaded again");
    assert_eq!(server.requests_to(KEV)[1].header("If-None-Match"), None);
}

fn epss_gz() -> Vec<u8> {
    let csv = "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\n\
               cve,epss,percentile\n\
               CVE-2020-25165,0.00123,0.4567\n\
               CVE-2023-43208,0.94321,0.9993\n";
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(csv.as_bytes()).expect("gzip");
    enc.finish().expect("gzip")
}

#[test]
fn epss_is_gunzipped_named_by_its_score_date_and_fetched_conditionally() {
    const LAST_MODIFIED: &str = "Mon, 25 Aug 2025 13:00:00 GMT";
    let server = Server::start(|req| {
        if req.header("If-Modified-Since") == Some(LAST_MODIFIED) {
            return Response::status(304);
        }
        Response::ok(epss_gz())
            .header("Content-Type", "application/gzip")
            .header("Last-Modified", LAST_MODIFIED)
    });
    let dest = Dest::new("epss");
    let opts = support::options(&server, &[Feed::Epss]);
    let (first, _) = run(&dest, &opts).expect("first run");
    assert_eq!(rel(&dest, &first.epss), ["epss/epss_scores-2025-08-25.csv"]);
    let csv = std::fs::read_to_string(&first.epss[0]).expect("csv");
    assert!(csv.starts_with(
        "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\ncve,epss,percentile\n"
    ));
    assert!(csv.contains("CVE-2023-43208,0.94321,0.9993"));

    let (second, _) = run(&dest, &opts).expect("second run");
    assert!(second.epss.is_empty());
    let reqs = server.requests_to(EPSS);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("If-Modified-Since"), Some(LAST_MODIFIED));
    let state = load_state(&dest.dir).expect("state");
    assert_eq!(state.epss.date.as_deref(), Some("2025-08-25"));
}

#[test]
fn a_cut_short_gzip_file_is_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let server = Server::start({
        let calls = Arc::clone(&calls);
        move |_| {
            let gz = epss_gz();
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                // Content-Length is right for what is sent, but the gzip stream itself is cut.
                let n = gz.len() - 8;
                Response::ok(gz[..n].to_vec())
            } else {
                Response::ok(gz)
            }
        }
    });
    let dest = Dest::new("epss-cut");
    let (summary, events) = run(&dest, &support::options(&server, &[Feed::Epss])).expect("update");
    assert_eq!(summary.epss.len(), 1);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Retrying { feed: Feed::Epss, problem, .. } if problem.contains("decompress")
    )));
}

/// A CSAF provider: metadata with one directory distribution, a mutable `changes.csv`, advisories.
struct Provider {
    changes: Arc<Mutex<String>>,
    server: Server,
}

fn advisory(id: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&serde_json::json!({
        "document": {"category": "csaf_security_advisory", "csaf_version": "2.0",
                     "title": id, "tracking": {"id": id}},
        "vulnerabilities": [],
    }))
    .expect("serialise")
}

fn provider(changes: &str, rolie: bool) -> Provider {
    let changes = Arc::new(Mutex::new(changes.to_owned()));
    let server = Server::start({
        let changes = Arc::clone(&changes);
        move |req| {
            let host = format!("http://{}", req.header("Host").unwrap_or_default());
            match req.path() {
                META if rolie => Response::json(&serde_json::json!({
                    "canonical_url": format!("{host}{META}"),
                    "distributions": [{"rolie": {"feeds": [
                        {"tlp_label": "WHITE", "url": format!("{host}/csaf/white/feed.json")}
                    ]}}],
                })),
                META => Response::json(&serde_json::json!({
                    "canonical_url": format!("{host}{META}"),
                    "distributions": [{"directory_url": format!("{host}/csaf/white")}],
                })),
                "/csaf/white/feed.json" => Response::json(&serde_json::json!({"feed": {
                "id": "white", "entry": [
                    {"id": "ICSMA-25-100-01", "updated": "2025-04-10T12:00:00Z",
                     "link": [{"rel": "self", "href": format!("{host}/csaf/white/2025/icsma-25-100-01.json")}]},
                    {"id": "ICSMA-99-000-01", "updated": "2025-04-10T12:00:00Z",
                     "link": [{"rel": "self", "href": "http://127.0.0.2:9/csaf/white/2025/icsma-99-000-01.json"}]},
                ]}})),
                CHANGES => Response::ok(changes.lock().map(|c| c.clone()).unwrap_or_default()),
                p if p.starts_with("/csaf/white/") && p.ends_with(".json") => {
                    let name = p.rsplit('/').next().unwrap_or_default();
                    Response::ok(advisory(&name.trim_end_matches(".json").to_uppercase()))
                }
                _ => Response::status(404),
            }
        }
    });
    Provider { changes, server }
}

const TWO_MEDICAL: &str = "\"2025/icsma-25-100-01.json\",\"2025-04-10T12:00:00Z\"\n\
                           \"2025/icsa-25-100-02.json\",\"2025-04-10T12:00:00Z\"\n\
                           \"2024/icsma-24-200-01.json\",\"2024-07-18T06:00:00Z\"\n";

fn advisory_requests(server: &Server) -> Vec<String> {
    let mut paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .filter(|p| p.starts_with("/csaf/white/20"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn csaf_changes_csv_brings_medical_advisories_and_then_only_changes() {
    let p = provider(TWO_MEDICAL, false);
    let dest = Dest::new("csaf-changes");
    let opts = support::options(&p.server, &[Feed::Csaf]);

    let (first, _) = run(&dest, &opts).expect("first run");
    assert!(first.is_complete(), "{:?}", first.failures);
    let mut names = rel(&dest, &first.csaf);
    names.sort();
    assert_eq!(
        names,
        ["csaf/icsma-24-200-01.json", "csaf/icsma-25-100-01.json"]
    );
    assert_eq!(
        advisory_requests(&p.server),
        [
            "/csaf/white/2024/icsma-24-200-01.json",
            "/csaf/white/2025/icsma-25-100-01.json"
        ],
        "the non-medical advisory is not fetched"
    );
    assert_eq!(
        std::fs::read(dest.dir.join("csaf/icsma-25-100-01.json")).expect("advisory"),
        advisory("ICSMA-25-100-01")
    );

    // Nothing changed: the listing is read again, no advisory is.
    p.server.clear_log();
    let (second, _) = run(&dest, &opts).expect("second run");
    assert!(second.csaf.is_empty());
    assert!(advisory_requests(&p.server).is_empty());
    assert_eq!(p.server.requests_to(CHANGES).len(), 1);

    // One advisory revised: only it is fetched.
    *p.changes.lock().expect("lock") = TWO_MEDICAL.replace(
        "\"2024/icsma-24-200-01.json\",\"2024-07-18T06:00:00Z\"",
        "\"2024/icsma-24-200-01.json\",\"2025-08-20T10:00:00Z\"",
    );
    p.server.clear_log();
    let (third, _) = run(&dest, &opts).expect("third run");
    assert_eq!(rel(&dest, &third.csaf), ["csaf/icsma-24-200-01.json"]);
    assert_eq!(
        advisory_requests(&p.server),
        ["/csaf/white/2024/icsma-24-200-01.json"]
    );
}

#[test]
fn csaf_scope_all_brings_every_advisory() {
    let p = provider(TWO_MEDICAL, false);
    let dest = Dest::new("csaf-all");
    let opts = UpdateOptions {
        csaf_scope: CsafScope::All,
        ..support::options(&p.server, &[Feed::Csaf])
    };
    let (summary, _) = run(&dest, &opts).expect("update");
    assert_eq!(summary.csaf.len(), 3);
    assert!(dest.dir.join("csaf/icsa-25-100-02.json").is_file());
}

#[test]
fn csaf_entries_outside_the_directory_are_never_requested() {
    let listing = "\"../private/icsma-25-001-01.json\",\"2025-01-01T00:00:00Z\"\n\
                   \"http://127.0.0.2:9/csaf/white/icsma-25-002-01.json\",\"2025-01-01T00:00:00Z\"\n\
                   \"2025/icsma-25-003-01.txt\",\"2025-01-01T00:00:00Z\"\n\
                   \"2025/icsma-25-100-01.json\",\"2025-04-10T12:00:00Z\"\n";
    let p = provider(listing, false);
    let dest = Dest::new("csaf-outside");
    let (summary, events) =
        run(&dest, &support::options(&p.server, &[Feed::Csaf])).expect("update");
    assert_eq!(rel(&dest, &summary.csaf), ["csaf/icsma-25-100-01.json"]);
    let skipped = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Skipped {
                    feed: Feed::Csaf,
                    ..
                }
            )
        })
        .count();
    assert_eq!(skipped, 3, "{events:?}");
    for r in p.server.requests() {
        assert!(!r.path().contains("private"), "{r:?}");
    }
    let requested: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Request { url, .. } => Some(url.clone()),
            _ => None,
        })
        .collect();
    assert!(
        requested.iter().all(|u| u.starts_with(&p.server.url("/"))),
        "{requested:?}"
    );
}

#[test]
fn csaf_rolie_feed_is_used_when_there_is_no_directory() {
    let p = provider("", true);
    let dest = Dest::new("csaf-rolie");
    let (summary, events) =
        run(&dest, &support::options(&p.server, &[Feed::Csaf])).expect("update");
    assert!(summary.is_complete(), "{:?}", summary.failures);
    assert_eq!(rel(&dest, &summary.csaf), ["csaf/icsma-25-100-01.json"]);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Skipped { entry, .. } if entry.contains("127.0.0.2")
    )));
    let (again, _) = run(&dest, &support::options(&p.server, &[Feed::Csaf])).expect("again");
    assert!(again.csaf.is_empty());
}

#[test]
fn a_configured_csaf_directory_skips_discovery() {
    let p = provider(TWO_MEDICAL, false);
    let dest = Dest::new("csaf-dir");
    let mut opts = support::options(&p.server, &[Feed::Csaf]);
    opts.sources.csaf_directory = Some(p.server.url("/csaf/white/"));
    let (summary, _) = run(&dest, &opts).expect("update");
    assert_eq!(summary.csaf.len(), 2);
    assert!(p.server.requests_to(META).is_empty());
}

#[test]
fn csaf_a_broken_advisory_does_not_stop_the_others() {
    let listing = "\"2025/icsma-25-100-01.json\",\"2025-04-10T12:00:00Z\"\n\
                   \"2025/icsma-25-404-01.json\",\"2025-04-10T12:00:00Z\"\n\
                   \"2024/icsma-24-200-01.json\",\"2024-07-18T06:00:00Z\"\n";
    let server = Server::start(move |req| match req.path() {
        p if p.contains("404") => Response::status(404),
        META => Response::json(&serde_json::json!({
            "distributions": [{"directory_url": format!(
                "http://{}/csaf/white/",
                req.header("Host").unwrap_or_default()
            )}],
        })),
        CHANGES => Response::ok(listing),
        p => Response::ok(advisory(p.rsplit('/').next().unwrap_or_default())),
    });
    let dest = Dest::new("csaf-broken");
    let (summary, _) = run(&dest, &support::options(&server, &[Feed::Csaf])).expect("update");
    assert_eq!(summary.csaf.len(), 2);
    assert_eq!(summary.failures.len(), 1);
    let msg = summary.failures[0].error.to_string();
    assert!(
        msg.contains("icsma-25-404-01.json: HTTP status 404"),
        "{msg}"
    );
    // The failed one is not recorded, so the next run tries it again.
    let state = load_state(&dest.dir).expect("state");
    assert_eq!(state.csaf.files.len(), 2);
}

#[test]
fn a_cut_short_body_is_retried_and_never_leaves_a_partial_file() {
    let calls = Arc::new(AtomicUsize::new(0));
    let server = Server::start({
        let calls = Arc::clone(&calls);
        move |_| {
            let body = kev_json();
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Response::ok(body).cut_at(40)
            } else {
                Response::ok(body)
            }
        }
    });
    let dest = Dest::new("kev-cut-once");
    let (summary, events) = run(&dest, &support::options(&server, &[Feed::Kev])).expect("update");
    assert_eq!(summary.kev.len(), 1);
    assert_eq!(std::fs::read(&summary.kev[0]).expect("kev"), kev_json());
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Retrying { problem, .. } if problem.contains("cut short after 40 of")
    )));

    // Cut every time: the feed fails, and neither a partial file nor a temporary one is left.
    let server = Server::start(|_| Response::ok(kev_json()).cut_at(40));
    let dest = Dest::new("kev-cut-always");
    let (summary, _) = run(&dest, &support::options(&server, &[Feed::Kev])).expect("update");
    assert!(summary.kev.is_empty());
    assert_eq!(summary.failures.len(), 1);
    assert!(
        summary.failures[0]
            .error
            .to_string()
            .contains(&server.url(KEV))
    );
    assert_eq!(files_under(&dest.dir), [".lock", "state.json"]);
}

#[test]
fn a_damaged_file_is_replaced_whole_and_stale_temporaries_are_removed() {
    let server = Server::start(|_| Response::ok(kev_json()));
    let dest = Dest::new("kev-stale");
    // What a run killed in the middle of a write leaves, and an older copy of the catalogue.
    std::fs::create_dir_all(dest.dir.join("kev")).expect("mkdir");
    std::fs::write(
        dest.dir
            .join("kev/known_exploited_vulnerabilities.json.tmp"),
        b"{\"vulnerabil",
    )
    .expect("write tmp");
    std::fs::write(
        dest.dir.join("kev/known_exploited_vulnerabilities.json"),
        b"{\"vulnerabilities\": []}",
    )
    .expect("write old");
    let (summary, _) = run(&dest, &support::options(&server, &[Feed::Kev])).expect("update");
    assert_eq!(summary.kev.len(), 1);
    assert_eq!(
        files_under(&dest.dir),
        [
            ".lock",
            "kev/known_exploited_vulnerabilities.json",
            "state.json"
        ]
    );
    assert_eq!(std::fs::read(&summary.kev[0]).expect("kev"), kev_json());
}

#[test]
fn one_failing_feed_does_not_stop_the_others() {
    let body = kev_json();
    let server = Server::start(move |req| match req.path() {
        KEV => Response::ok(body.clone()),
        EPSS => Response::ok(epss_gz()),
        _ => Response::status(404),
    });
    let dest = Dest::new("feeds-mixed");
    let opts = support::options(&server, &[Feed::Nvd, Feed::Kev, Feed::Csaf, Feed::Epss]);
    let (summary, events) = run(&dest, &opts).expect("update");
    assert_eq!(summary.kev.len(), 1);
    assert_eq!(summary.epss.len(), 1);
    let failed: Vec<Feed> = summary.failures.iter().map(|f| f.feed).collect();
    assert_eq!(failed, [Feed::Nvd, Feed::Csaf]);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::FeedFailed {
            feed: Feed::Nvd,
            ..
        }
    )));
}

#[test]
fn a_second_update_on_the_same_folder_is_refused() {
    let server = Server::start(|_| Response::ok(kev_json()));
    let dest = Dest::new("locked");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dest.dir.join(".lock"))
        .expect("open lock");
    lock.lock().expect("take the lock");
    let res = run(&dest, &support::options(&server, &[Feed::Kev]));
    assert!(matches!(res, Err(FetchError::Busy { .. })), "{res:?}");
    assert!(server.requests().is_empty());
    lock.unlock().expect("unlock");
    assert!(run(&dest, &support::options(&server, &[Feed::Kev])).is_ok());
}

#[test]
fn a_damaged_state_file_is_reported_with_the_fix() {
    let server = Server::start(|_| Response::ok(kev_json()));
    let dest = Dest::new("bad-state");
    std::fs::write(dest.dir.join("state.json"), b"{\"nvd\": 3").expect("write");
    let err = run(&dest, &support::options(&server, &[Feed::Kev])).expect_err("damaged state");
    let msg = err.to_string();
    assert!(msg.contains("state.json is damaged"), "{msg}");
    assert!(msg.contains("delete it"), "{msg}");
}

/// The real KEV catalogue and two real medical advisories from the corpus, served and stored byte for byte.
#[test]
fn corpus_kev_and_csaf_documents_arrive_intact() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let kev = std::fs::read(corpus.join("kev/known_exploited_vulnerabilities.json")).expect("kev");
    let a1 = std::fs::read(corpus.join("csaf/icsma/icsma-17-017-01.json")).expect("advisory 1");
    let a2 = std::fs::read(corpus.join("csaf/icsma/icsma-17-017-02.json")).expect("advisory 2");
    let (kev_s, a1_s, a2_s) = (kev.clone(), a1.clone(), a2.clone());
    let server = Server::start(move |req| {
        let host = req.header("Host").unwrap_or_default().to_owned();
        match req.path() {
            KEV => Response::ok(kev_s.clone()),
            META => Response::json(&serde_json::json!({
                "distributions": [{"directory_url": format!("http://{host}/csaf/white/")}],
            })),
            CHANGES => Response::ok(
                "\"2017/icsma-17-017-01.json\",\"2017-01-17T00:00:00Z\"\n\
                 \"2017/icsma-17-017-02.json\",\"2017-01-17T00:00:00Z\"\n",
            ),
            "/csaf/white/2017/icsma-17-017-01.json" => Response::ok(a1_s.clone()),
            "/csaf/white/2017/icsma-17-017-02.json" => Response::ok(a2_s.clone()),
            _ => Response::status(404),
        }
    });
    let dest = Dest::new("corpus");
    let (summary, _) =
        run(&dest, &support::options(&server, &[Feed::Kev, Feed::Csaf])).expect("update");
    assert!(summary.is_complete(), "{:?}", summary.failures);
    assert_eq!(std::fs::read(&summary.kev[0]).expect("kev"), kev);
    assert_eq!(
        std::fs::read(dest.dir.join("csaf/icsma-17-017-01.json")).expect("a1"),
        a1
    );
    assert_eq!(
        std::fs::read(dest.dir.join("csaf/icsma-17-017-02.json")).expect("a2"),
        a2
    );
}

#[test]
fn redirects_are_followed_on_the_same_host_but_never_to_another_address() {
    let server = Server::start(|req| match req.path() {
        KEV => Response::status(302).header("Location", "/moved/kev.json"),
        "/moved/kev.json" => Response::ok(kev_json()),
        EPSS => Response::status(302).header("Location", "http://127.0.0.2:9/epss.csv.gz"),
        _ => Response::status(404),
    });
    let dest = Dest::new("redirects");
    let (summary, _) =
        run(&dest, &support::options(&server, &[Feed::Kev, Feed::Epss])).expect("update");
    assert_eq!(summary.kev.len(), 1, "{:?}", summary.failures);
    let [failure] = summary.failures.as_slice() else {
        panic!("one failure expected: {:?}", summary.failures);
    };
    assert_eq!(failure.feed, Feed::Epss);
    let msg = failure.error.to_string();
    assert!(
        msg.contains("refused a redirect to the bare address"),
        "{msg}"
    );
    assert_eq!(
        server.requests_to(EPSS).len(),
        1,
        "a refused redirect is not retried"
    );
}

#[test]
fn https_goes_through_rustls_on_ring() {
    fetch::install_crypto_provider();
    fetch::install_crypto_provider();
    let provider = rustls::crypto::CryptoProvider::get_default().expect("a provider is installed");
    assert!(
        provider
            .cipher_suites
            .iter()
            .any(|s| s.suite() == rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
    );
    // A plain-HTTP server spoken to over TLS: the handshake fails cleanly, it is retried, then reported.
    let server = Server::start(|_| Response::ok(kev_json()));
    let dest = Dest::new("https");
    let mut opts = support::options(&server, &[Feed::Kev]);
    opts.sources.kev = opts.sources.kev.replacen("http://", "https://", 1);
    let (summary, _) = run(&dest, &opts).expect("update");
    assert!(summary.kev.is_empty());
    let msg = summary.failures[0].error.to_string();
    assert!(msg.starts_with("https://127.0.0.1:"), "{msg}");
    assert!(msg.contains("gave up after 3 attempts"), "{msg}");
}
