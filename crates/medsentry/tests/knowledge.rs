//! End-to-end: `medsentry cvss`, `kb import|status|update` and `vulns`, run as a real process on the
//! real CISA advisories, the KEV catalogue and NVD records.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use testkit::Scratch;

fn medsentry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args(args)
        .output()
        .expect("run medsentry")
}

fn ok(args: &[&str]) -> Output {
    let out = medsentry(args);
    assert!(
        out.status.success(),
        "medsentry {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `cvss -` reads stdin and prints one JSON object a line, in input order; a bad vector gets an
/// `error` naming the metric and makes the exit status 1.
#[test]
fn cvss_scores_stdin_in_order() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let mut input = String::new();
    let mut expected = Vec::new();
    for file in ["vectors_cvsslib3", "vectors_security4"] {
        let text = std::fs::read_to_string(corpus.join("cvss/redhat-cvss").join(file)).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (vector, want) = line.split_once(" - ").unwrap();
            input.push_str(vector);
            input.push('\n');
            expected.push((vector.to_string(), want.trim().to_string()));
        }
    }
    input.push_str("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Z\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args(["cvss", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad vector makes the status 1"
    );
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(lines.len(), expected.len() + 1);
    for (line, (vector, want)) in lines.iter().zip(&expected) {
        assert_eq!(line["vector"], vector.as_str());
        if vector.starts_with("CVSS:4.0") {
            // `9.2` or `(9.2,)`: the score of the vector as given.
            let want: f64 = want.trim_matches(['(', ')', ',']).parse().unwrap();
            assert_eq!(line["score"].as_f64(), Some(want), "{vector}");
            assert!(line["temporal"].is_null() && line["environmental"].is_null());
        } else {
            // `(base, temporal, environmental)`.
            let t: Vec<f64> = want
                .trim_matches(['(', ')'])
                .split(',')
                .map(|x| x.trim().parse().unwrap())
                .collect();
            assert_eq!(line["base"].as_f64(), Some(t[0]), "{vector}");
            assert_eq!(line["temporal"].as_f64(), Some(t[1]), "{vector}");
            assert_eq!(line["environmental"].as_f64(), Some(t[2]), "{vector}");
            assert_eq!(line["score"].as_f64(), Some(t[2]), "{vector}");
        }
        assert!(line["severity"].is_string());
    }
    let bad = lines.last().unwrap();
    assert!(bad["error"].as_str().unwrap().contains("A"), "{bad}");
    assert!(bad.get("score").is_none());
}

/// A small EPSS file in the published shape.
fn epss_file(path: &Path, cves: &[&str]) {
    let mut text = String::from(
        "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\ncve,epss,percentile\n",
    );
    for (i, c) in cves.iter().enumerate() {
        text.push_str(&format!("{c},0.{:05},0.{:05}\n", 90000 - i, 99000 - i));
    }
    std::fs::write(path, text).unwrap();
}

/// Counts `kb status` must show, computed here from the raw JSON.
fn independent_counts(corpus: &Path) -> (u64, BTreeSet<String>, u64) {
    let mut advisories = 0;
    let mut cves = BTreeSet::new();
    let mut affected = 0;
    for e in std::fs::read_dir(corpus.join("csaf/icsma")).unwrap() {
        let v: Value = serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        advisories += 1;
        for vuln in v["vulnerabilities"].as_array().unwrap() {
            if let Some(c) = vuln["cve"].as_str() {
                cves.insert(c.to_string());
            }
            let ids: BTreeSet<&str> = ["known_affected", "first_affected", "last_affected"]
                .iter()
                .flat_map(|k| vuln["product_status"][k].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            affected += ids.len() as u64;
        }
    }
    for e in std::fs::read_dir(corpus.join("cve/nvd-api-2.0")).unwrap() {
        let v: Value = serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        cves.insert(v["id"].as_str().unwrap().to_string());
        for cfg in v["configurations"].as_array().into_iter().flatten() {
            for node in cfg["nodes"].as_array().unwrap() {
                affected += node["cpeMatch"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| m["vulnerable"] == true)
                    .count() as u64;
            }
        }
    }
    (advisories, cves, affected)
}

#[test]
fn kb_import_counts_match_the_sources_and_a_reimport_changes_nothing() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let s = Scratch::new("kb-import");
    let db = s.path("kb.db");
    let epss = s.path("epss.csv");
    epss_file(
        &epss,
        &["CVE-2023-43208", "CVE-2020-25165", "CVE-2017-9657"],
    );
    let kev = corpus.join("kev/known_exploited_vulnerabilities.json");
    let (icsma, nvd) = (corpus.join("csaf/icsma"), corpus.join("cve/nvd-api-2.0"));
    let args = [
        "kb",
        "--db",
        p(&db),
        "import",
        p(&icsma),
        p(&nvd),
        p(&kev),
        p(&epss),
    ];
    let first = String::from_utf8(ok(&args).stdout).unwrap();
    // 144 advisories, 3 NVD records, the KEV catalogue, the EPSS file.
    assert!(first.contains("149 records: 149 added"), "{first}");
    let status = json(&ok(&["kb", "--db", p(&db), "status", "--format", "json"]));
    let (advisories, cves, affected) = independent_counts(&corpus);
    let kev_count =
        serde_json::from_slice::<Value>(&std::fs::read(&kev).unwrap()).unwrap()["vulnerabilities"]
            .as_array()
            .unwrap()
            .len() as u64;
    assert_eq!(status["advisories"], advisories);
    assert_eq!(status["cves"], cves.len() as u64);
    assert_eq!(status["nvd_records"], 3);
    assert_eq!(status["affected_products"], affected);
    assert_eq!(status["kev_entries"], kev_count);
    assert_eq!(status["epss_scores"], 3);
    assert_eq!(status["newest"]["epss"], "2025-08-25T12:55:00Z");
    assert!(
        status["newest"]["csaf"]
            .as_str()
            .unwrap()
            .starts_with("2024-")
    );

    let again = String::from_utf8(ok(&args).stdout).unwrap();
    assert!(
        again.contains("0 added, 0 updated, 149 unchanged"),
        "{again}"
    );
    let status2 = json(&ok(&["kb", "--db", p(&db), "status", "--format", "json"]));
    assert_eq!(status, status2);

    // A file that is not knowledge is reported with its name and skipped; the rest is imported.
    let junk = s.path("junk.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    let out = medsentry(&["kb", "--db", p(&db), "import", p(&junk), p(&epss)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("junk.json") && err.lines().count() == 1,
        "{err}"
    );
}

/// A register written from the advisories: the KEV-listed Mirth Connect ranks first, affected and
/// fixed devices are told apart, an unrelated device is not listed.
#[test]
fn vulns_ranks_a_cmms_register() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let s = Scratch::new("vulns");
    let db = s.path("v.db");
    let cmms = s.path("cmms.csv");
    std::fs::write(
        &cmms,
        "Asset Tag,Manufacturer,Model,Software Version,Criticality,Department,MAC Address\n\
         BME-1,Becton Dickinson,Alaris 8015 PC Unit,9.33,life-sustaining,ICU,02:00:00:00:00:01\n\
         BME-2,Philips Healthcare,IntelliVue MX40,B.06.18,patient-affecting,Ward 3,02:00:00:00:00:02\n\
         BME-3,Philips Healthcare,IntelliVue MX40,B.06.12,patient-affecting,Ward 4,02:00:00:00:00:03\n\
         SRV-1,NextGen Healthcare,Mirth Connect,4.4.0,clinical-support,IT,\n\
         BME-4,Acme Medical,Widget 3000,1.0,business,Stores,02:00:00:00:00:04\n",
    )
    .unwrap();
    ok(&["inventory", "--db", p(&db), "import-cmms", p(&cmms)]);
    let epss = s.path("epss.csv");
    epss_file(&epss, &["CVE-2023-43208", "CVE-2020-25165"]);
    ok(&[
        "kb",
        "--db",
        p(&db),
        "import",
        p(&corpus.join("csaf/icsma")),
        p(&corpus.join("cve/nvd-api-2.0")),
        p(&corpus.join("kev/known_exploited_vulnerabilities.json")),
        p(&epss),
    ]);
    let v = json(&ok(&["vulns", "--db", p(&db), "--format", "json"]));
    let devices: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device"]["asset_tag"].as_str().unwrap())
        .collect();
    // Mirth (KEV) first; the fixed MX40 and the widget have nothing affected and are not listed.
    assert_eq!(devices[0], "SRV-1", "{devices:?}");
    assert_eq!(
        devices.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(["SRV-1", "BME-1", "BME-3"])
    );
    let mirth = &v[0]["vulnerabilities"][0];
    assert_eq!(mirth["cve"], "CVE-2023-43208");
    assert_eq!(mirth["status"], "affected");
    assert_eq!(mirth["confidence"], "exact");
    assert_eq!(mirth["kev"]["ransomware"], "Known");
    assert!(mirth["kev"]["due_date"].is_string());
    assert!(mirth["epss"]["probability"].as_f64().unwrap() > 0.8);
    assert_eq!(mirth["cvss"]["version"], "3.1");
    assert_eq!(mirth["cvss"]["score"].as_f64(), Some(9.8));
    assert!(
        mirth["why"][0].as_str().unwrap().contains("versionEnd")
            || mirth["why"][0].as_str().unwrap().contains("< 4.4.1"),
        "{mirth}"
    );
    let pump = v
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"]["asset_tag"] == "BME-1")
        .unwrap();
    assert_eq!(pump["device"]["vendor"], "Becton Dickinson");
    assert_eq!(pump["device"]["version"], "9.33");
    let vulns = pump["vulnerabilities"].as_array().unwrap();
    assert!(vulns.iter().any(|x| x["cve"] == "CVE-2020-25165"));
    assert!(
        vulns
            .iter()
            .all(|x| !x["why"].as_array().unwrap().is_empty())
    );
    assert!(
        vulns
            .iter()
            .any(|x| !x["remediation"].as_array().unwrap().is_empty())
    );
    // Ranked: priorities never increase down the list.
    let prio: Vec<f64> = vulns
        .iter()
        .map(|x| x["priority"].as_f64().unwrap())
        .collect();
    assert!(prio.windows(2).all(|w| w[0] >= w[1]), "{prio:?}");

    // --all lists the fixed MX40 with its reason; --device picks one.
    let all = json(&ok(&[
        "vulns",
        "--db",
        p(&db),
        "--format",
        "json",
        "--all",
        "--device",
        "BME-2",
    ]));
    let fixed = all[0]["vulnerabilities"].as_array().unwrap();
    assert!(!fixed.is_empty());
    assert!(fixed.iter().all(|x| x["status"] == "fixed"), "{all}");
    assert!(fixed[0]["why"][0].as_str().unwrap().contains("< B.06.18"));
    // The table says the same in a few lines.
    let table = String::from_utf8(ok(&["vulns", "--db", p(&db)]).stdout).unwrap();
    assert!(
        table.starts_with("3 of 5 devices have known vulnerabilities"),
        "{table}"
    );
    assert!(table.contains("CVE-2023-43208") && table.contains("KEV"));
}

/// An SBOM attached to a model: its components match NVD records by CPE; its VEX statement
/// `not_affected` turns the match into not-affected, with the justification.
#[test]
fn sbom_components_match_and_vex_suppresses() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let s = Scratch::new("sbom-vex");
    let db = s.path("s.db");
    let sbom = |vex: bool| {
        let vulns = if vex {
            r#","vulnerabilities":[{"id":"CVE-2022-2119","analysis":{"state":"not_affected","justification":"code_not_reachable","detail":"the C-FIND SCP is not built"},"affects":[{"ref":"dcmtk"}]}]"#
        } else {
            ""
        };
        format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"metadata":{{"timestamp":"2025-01-01T00:00:00Z","component":{{"type":"device","name":"ImageBox","version":"2.0"}}}},"components":[{{"bom-ref":"dcmtk","type":"library","name":"dcmtk","version":"3.6.6","cpe":"cpe:2.3:a:offis:dcmtk:3.6.6:*:*:*:*:*:*:*","purl":"pkg:generic/dcmtk@3.6.6"}}]{vulns}}}"#
        )
    };
    let (with_vex, without) = (s.path("with.cdx.json"), s.path("without.cdx.json"));
    std::fs::write(&with_vex, sbom(true)).unwrap();
    std::fs::write(&without, sbom(false)).unwrap();
    let cmms = s.path("cmms.csv");
    std::fs::write(
        &cmms,
        "Asset Tag,Manufacturer,Model,Software Version,IP Address\nIMG-1,Acme Imaging,ImageBox,2.0,10.0.0.1\nIMG-2,Acme Imaging,ImageBox,1.0,10.0.0.2\n",
    )
    .unwrap();
    ok(&["inventory", "--db", p(&db), "import-cmms", p(&cmms)]);
    ok(&[
        "kb",
        "--db",
        p(&db),
        "import",
        p(&corpus.join("cve/nvd-api-2.0")),
    ]);
    ok(&[
        "kb",
        "--db",
        p(&db),
        "import",
        "--sbom-for",
        "Acme Imaging/ImageBox/2.0",
        p(&with_vex),
    ]);
    ok(&[
        "kb",
        "--db",
        p(&db),
        "import",
        "--sbom-for",
        "Acme Imaging/ImageBox/1.0",
        p(&without),
    ]);
    let status = json(&ok(&["kb", "--db", p(&db), "status", "--format", "json"]));
    assert_eq!(status["sboms"], 2);
    assert_eq!(status["vex_statements"], 1);
    let v = json(&ok(&["vulns", "--db", p(&db), "--format", "json", "--all"]));
    let of = |tag: &str| -> Value {
        v.as_array()
            .unwrap()
            .iter()
            .find(|d| d["device"]["asset_tag"] == tag)
            .map(|d| d["vulnerabilities"].clone())
            .unwrap_or(Value::Null)
    };
    let img1 = of("IMG-1");
    assert_eq!(img1[0]["cve"], "CVE-2022-2119");
    assert_eq!(img1[0]["status"], "not_affected", "{img1}");
    assert_eq!(img1[0]["justification"], "code_not_reachable");
    let img2 = of("IMG-2");
    assert_eq!(img2[0]["cve"], "CVE-2022-2119");
    assert_eq!(img2[0]["status"], "affected", "{img2}");
    assert!(
        img2[0]["why"][0]
            .as_str()
            .unwrap()
            .contains("SBOM of Acme Imaging/ImageBox/1.0 component dcmtk 3.6.6"),
        "{img2}"
    );
}

/// A tiny HTTP/1.1 server on loopback that answers every request from `route` and counts them.
fn serve(
    route: impl Fn(&str) -> (u16, Vec<u8>) + Send + 'static,
) -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
            }
            let path = first.split(' ').nth(1).unwrap_or("/").to_string();
            let _ = tx.send(path.clone());
            let (code, body) = route(&path);
            let head = format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.flush();
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
        }
    });
    (base, rx)
}

/// `kb update` against recorded responses on loopback: the KEV catalogue and an NVD page (one 503
/// first) arrive and are imported; a second run imports nothing new.
#[test]
fn kb_update_downloads_and_imports_from_a_local_server() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let kev = std::fs::read(corpus.join("kev/known_exploited_vulnerabilities.json")).unwrap();
    let record: Value = serde_json::from_slice(
        &std::fs::read(corpus.join("cve/nvd-api-2.0/CVE-2023-43208.json")).unwrap(),
    )
    .unwrap();
    let page = serde_json::to_vec(&serde_json::json!({
        "resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE",
        "version": "2.0", "timestamp": "2025-11-03T20:15:53.857",
        "vulnerabilities": [{"cve": record}],
    }))
    .unwrap();
    let failed_once = std::sync::atomic::AtomicBool::new(false);
    let (base, requests) = serve(move |path| {
        if path.starts_with("/kev") {
            (200, kev.clone())
        } else if path.starts_with("/nvd") {
            if !failed_once.swap(true, std::sync::atomic::Ordering::SeqCst) {
                (503, b"busy".to_vec())
            } else {
                (200, page.clone())
            }
        } else {
            (404, Vec::new())
        }
    });
    let s = Scratch::new("kb-update");
    let db = s.path("u.db");
    let cache = s.path("feeds");
    let kev_src = format!("kev={base}/kev.json");
    let nvd_src = format!("nvd={base}/nvd");
    let args = [
        "kb",
        "--db",
        p(&db),
        "update",
        "--quiet",
        "--feed",
        "kev",
        "--feed",
        "nvd",
        "--cache",
        p(&cache),
        "--source",
        &kev_src,
        "--source",
        &nvd_src,
    ];
    let out = String::from_utf8(ok(&args).stdout).unwrap();
    assert!(out.contains("1 KEV") && out.contains("1 NVD"), "{out}");
    let status = json(&ok(&["kb", "--db", p(&db), "status", "--format", "json"]));
    assert_eq!(status["kev_entries"], 1404);
    assert_eq!(status["nvd_records"], 1);
    let first: Vec<String> = requests.try_iter().collect();
    assert!(
        first.iter().filter(|r| r.starts_with("/nvd")).count() >= 2,
        "the 503 was retried: {first:?}"
    );
    assert!(
        first.iter().all(|r| !r.contains("apiKey")),
        "no key, no key parameter: {first:?}"
    );

    let again = String::from_utf8(ok(&args).stdout).unwrap();
    assert!(again.contains("0 added, 0 updated"), "{again}");
    assert_eq!(
        status,
        json(&ok(&["kb", "--db", p(&db), "status", "--format", "json"]))
    );
}
