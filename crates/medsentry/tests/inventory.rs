//! End-to-end: `analyze --db` keeps the inventory across runs; `inventory list|show|export|import-cmms`
//! read it back; a killed analysis leaves the database consistent.

use std::path::Path;
use std::process::{Command, Output};

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

/// `analyze CAP --db DB --format json`.
fn analyze_args<'a>(cap: &'a Path, db: &'a str) -> [&'a str; 6] {
    [
        "analyze",
        cap.to_str().unwrap(),
        "--db",
        db,
        "--format",
        "json",
    ]
}

/// [`analyze_args`], which must succeed.
fn analyze_into(cap: &Path, db: &str) -> Output {
    ok(&analyze_args(cap, db))
}

fn synth(path: &Path, minutes: u32, faults: &str) -> Value {
    let p = path.to_str().unwrap();
    ok(&[
        "synth",
        "-o",
        p,
        "--devices",
        "40",
        "--minutes",
        &minutes.to_string(),
        "--seed",
        "31",
        "--faults",
        faults,
    ]);
    serde_json::from_slice(&std::fs::read(format!("{p}.truth.json")).unwrap()).unwrap()
}

#[test]
fn the_inventory_persists_merges_and_reads_back() {
    let s = Scratch::new("inventory-db");
    let db = s.path("inv.db");
    let db = db.to_str().unwrap();
    let (a, b) = (s.path("a.pcap"), s.path("b.pcap"));
    let truth = synth(&a, 2, "none");
    synth(&b, 3, "vlan=0.3");
    let first = analyze_into(&a, db);
    let n = truth["devices"].as_array().unwrap().len();
    assert!(
        String::from_utf8_lossy(&first.stderr).contains(&format!("{n} devices ({n} new")),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The same hospital three minutes long: nothing new, every device seen later.
    let second = analyze_into(&b, db);
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("(0 new"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    let list: Value =
        serde_json::from_slice(&ok(&["inventory", "--db", db, "list", "--format", "json"]).stdout)
            .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), n);
    for t in truth["devices"].as_array().unwrap() {
        let d = list
            .iter()
            .find(|d| d["mac"] == t["mac"])
            .unwrap_or_else(|| panic!("{} not listed", t["mac"]));
        assert_eq!(d["category"], t["category"]);
        assert_eq!(d["vendor"], t["vendor"]);
        assert_eq!(d["first_run"], 1);
        assert_eq!(d["last_run"], 2, "seen again in the second run");
    }
    let pacs = list.iter().find(|d| d["category"] == "pacs").unwrap();
    let id = pacs["id"].as_str().unwrap();
    let shown: Value = serde_json::from_slice(
        &ok(&["inventory", "--db", db, "show", id, "--format", "json"]).stdout,
    )
    .unwrap();
    let decided = shown["decided"].as_array().unwrap();
    let category = decided.iter().find(|f| f["field"] == "category").unwrap();
    assert_eq!(category["value"], "pacs");
    assert!(
        category["rule"].is_string() && category["evidence"]["field"].is_string(),
        "says why: {category}"
    );
    assert!(!shown["communications"].as_array().unwrap().is_empty());
    // Findings were saved while the capture was read, naming addresses; a device shows those of its
    // addresses in each run.
    let report: Value = serde_json::from_slice(&first.stdout).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "cleartext-phi")
        .expect("the synthesised hospital sends patient data in cleartext");
    let flows_with_findings = report["findings"].as_array().unwrap().len();
    assert!(
        String::from_utf8_lossy(&first.stderr).contains(&format!("({flows_with_findings} flows)")),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let address = finding["device"].as_str().unwrap();
    let owner: Value = serde_json::from_slice(
        &ok(&["inventory", "--db", db, "show", address, "--format", "json"]).stdout,
    )
    .unwrap();
    // The database sums a run's findings per address, kind and title over their flows.
    let same: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["device"] == finding["device"] && f["title"] == finding["title"])
        .collect();
    let flows: Vec<u64> = same.iter().map(|f| f["flow"].as_u64().unwrap()).collect();
    let mut fields: Vec<&str> = same
        .iter()
        .flat_map(|f| f["phi_fields"].as_array().unwrap())
        .map(|n| n.as_str().unwrap())
        .collect();
    fields.sort_unstable();
    fields.dedup();
    let stored = owner["findings"].as_array().unwrap();
    let summed = stored
        .iter()
        .find(|f| f["run"] == 1 && f["title"] == finding["title"])
        .unwrap_or_else(|| panic!("{address}: {stored:?}"));
    assert_eq!(summed["flows"], same.len());
    assert_eq!(summed["first_flow"], *flows.iter().min().unwrap());
    assert_eq!(summed["last_flow"], *flows.iter().max().unwrap());
    let mut got: Vec<&str> = summed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, fields, "the union of the flows' PHI fields");
    // By MAC or by address too.
    let mac = pacs["mac"].as_str().unwrap();
    let by_mac: Value = serde_json::from_slice(
        &ok(&["inventory", "--db", db, "show", mac, "--format", "json"]).stdout,
    )
    .unwrap();
    assert_eq!(by_mac["id"], id);

    let csv = String::from_utf8(ok(&["inventory", "--db", db, "export", "--format", "csv"]).stdout)
        .unwrap();
    assert_eq!(csv.lines().count(), n + 1);
    assert!(csv.starts_with("id,mac,ips,category"));

    // A CMMS export: two assets by MAC, one by address only, one bad row, one duplicate, one never seen.
    let devs = truth["devices"].as_array().unwrap();
    let (d0, d1, d2) = (&devs[10], &devs[11], &devs[12]);
    let cmms = format!(
        "Asset Tag,Manufacturer,Model,MAC Address,IP Address,Criticality\n\
         BME-1,{},M1,{},,life-sustaining\n\
         BME-2,{},M2,{},,\n\
         BME-3,x,M3,,{},\n\
         BME-4,x,M4,zz:zz,,\n\
         BME-1,x,again,{},,\n\
         BME-5,x,M5,00:11:22:33:44:55,10.99.0.1,\n",
        d0["vendor"].as_str().unwrap(),
        d0["mac"].as_str().unwrap(),
        d1["vendor"].as_str().unwrap(),
        d1["mac"].as_str().unwrap(),
        d2["ipv4"].as_str().unwrap(),
        d0["mac"].as_str().unwrap(),
    );
    let file = s.path("cmms.csv");
    std::fs::write(&file, cmms).unwrap();
    let out = medsentry(&[
        "inventory",
        "--db",
        db,
        "import-cmms",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad rows make the exit status 1"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cmms.csv:5:") && err.contains("cmms.csv:6:"),
        "{err}"
    );
    assert!(text.contains("4 assets imported, 2 rows skipped"), "{text}");
    assert!(text.contains("matched (3):"), "{text}");
    assert!(
        text.contains(&format!("on the network, not in the CMMS ({}):", n - 3)),
        "{text}"
    );
    assert!(
        text.contains("never seen on the network (1):\n  BME-5"),
        "{text}"
    );
    // The register is kept: `inventory show` of a matched device carries its CMMS row (the last
    // of the duplicate BME-1 rows was refused, the first kept).
    let d0_mac = d0["mac"].as_str().unwrap();
    let shown: Value = serde_json::from_slice(
        &ok(&["inventory", "--db", db, "show", d0_mac, "--format", "json"]).stdout,
    )
    .unwrap();
    let cmms = shown["cmms"].as_array().unwrap();
    assert_eq!(cmms.len(), 1, "{shown}");
    assert_eq!(cmms[0]["asset_tag"], "BME-1");
    assert_eq!(cmms[0]["model"], "M1");
    assert_eq!(cmms[0]["criticality"], "life-sustaining");
    assert_eq!(cmms[0]["line"], 2);
}

#[test]
fn a_missing_database_is_a_one_line_error() {
    let out = medsentry(&["inventory", "--db", "/nonexistent/inv.db", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/inv.db") && err.lines().count() == 1,
        "{err}"
    );
}

/// A real process killed with SIGKILL at many points of `analyze --db`: the database always opens,
/// and every device it holds is whole (an address and its decided category), as transactions promise.
#[test]
fn a_killed_analysis_leaves_a_consistent_database() {
    let s = Scratch::new("inventory-kill");
    let cap = s.path("k.pcap");
    synth(&cap, 2, "none");
    let db = s.path("k.db");
    let db = db.to_str().unwrap();
    // A first complete run, so that later kills land on a database with committed content.
    analyze_into(&cap, db);
    let committed = list_len(db);
    for delay_ms in [5u64, 20, 50, 80, 120, 200, 300] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_medsentry"))
            .args(analyze_args(&cap, db))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        assert_eq!(
            list_len(db),
            committed,
            "after a kill at {delay_ms} ms: nothing committed is lost, nothing half-written"
        );
    }
}

fn list_len(db: &str) -> usize {
    let out = ok(&["inventory", "--db", db, "list", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v.as_array().unwrap();
    for d in list {
        assert!(
            !d["ips"].as_array().unwrap().is_empty() || d["category"] == "network-device",
            "device without address: {d}"
        );
        assert!(d["category"].is_string());
    }
    list.len()
}

/// `--no-inventory` drops identification and nothing else: no devices, the same flows, messages,
/// associations and findings; with `--db` the findings are saved and no device is.
#[test]
fn no_inventory_skips_identification_only() {
    let s = Scratch::new("inventory-skip");
    let cap = s.path("n.pcap");
    let truth = synth(&cap, 1, "none");
    assert!(!truth["devices"].as_array().unwrap().is_empty());
    let cap = cap.to_str().unwrap();
    let report = |extra: &[&str]| -> Value {
        let mut args = vec!["analyze", cap, "--format", "json"];
        args.extend_from_slice(extra);
        serde_json::from_slice(&ok(&args).stdout).unwrap()
    };
    let full = report(&[]);
    let db = s.path("n.db");
    let db = db.to_str().unwrap();
    let bare = report(&["--no-inventory", "--db", db]);
    assert!(!full["devices"].as_array().unwrap().is_empty());
    assert_eq!(bare["devices"].as_array().unwrap().len(), 0);
    for key in ["flows", "hl7_messages", "dicom_associations", "findings"] {
        assert_eq!(full[key], bare[key], "{key}");
    }
    assert!(!full["findings"].as_array().unwrap().is_empty());
    let list: Value =
        serde_json::from_slice(&ok(&["inventory", "--db", db, "list", "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0);
}

/// Every finding of the report is in the database, summed per address, kind and title: the flow
/// count, the first and last flow, the first flow's detail, the union of PHI fields and user names;
/// nothing else is stored.
#[test]
fn stored_findings_sum_the_reports() {
    use std::collections::{BTreeMap, BTreeSet};
    let s = Scratch::new("inventory-findings");
    let cap = s.path("f.pcap");
    // Ten minutes: long enough for telnet logins and HL7 connections to repeat between a pair.
    synth(&cap, 10, "none");
    let db = s.path("f.db");
    let db = db.to_str().unwrap();
    let out = analyze_into(&cap, db);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // (address, kind, title) -> (worst severity, flows, first flow, its detail, last flow, names)
    type Sum = (String, u64, u64, String, u64, BTreeSet<String>);
    let mut want: BTreeMap<(String, String, String), Sum> = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        let key = (
            f["device"].as_str().unwrap().to_string(),
            f["kind"].as_str().unwrap().to_string(),
            f["title"].as_str().unwrap().to_string(),
        );
        let flow = f["flow"].as_u64().unwrap();
        let detail = f["detail"].as_str().unwrap().to_string();
        let severity = f["severity"].as_str().unwrap().to_string();
        let sum = want.entry(key).or_insert((
            severity.clone(),
            0,
            flow,
            detail.clone(),
            flow,
            BTreeSet::new(),
        ));
        let parse = |s: &str| detect::Severity::parse(s).unwrap();
        if parse(&severity) > parse(&sum.0) {
            sum.0 = severity;
        }
        sum.1 += 1;
        if flow < sum.2 {
            (sum.2, sum.3) = (flow, detail);
        }
        sum.4 = sum.4.max(flow);
        for key in ["phi_fields", "usernames"] {
            for n in f[key].as_array().into_iter().flatten() {
                sum.5.insert(n.as_str().unwrap().to_string());
            }
        }
    }
    assert!(want.len() >= 3, "{} findings", want.len());
    assert!(
        want.values().any(|s| s.1 > 1),
        "some finding repeats over flows"
    );

    let mut store = store::Store::open(db).unwrap();
    let mut got: BTreeMap<(String, String, String), Sum> = BTreeMap::new();
    for d in report["devices"].as_array().unwrap() {
        let detail = store.device(d["id"].as_str().unwrap()).unwrap().unwrap();
        for f in detail.findings {
            let f = f.finding;
            let key = (f.address.unwrap(), f.kind, f.title);
            let sum = (
                f.severity,
                f.flows,
                f.flow,
                f.detail,
                f.last_flow,
                f.fields.into_iter().collect(),
            );
            assert!(got.insert(key, sum).is_none(), "one row per key");
        }
    }
    assert_eq!(got, want);
    assert_eq!(store.counts().unwrap().findings, want.len() as u64);
}

/// `inventory list --software` finds the devices on an operating system, here the Windows XP host
/// of suricata-verify's `sip-user-agent/sip.pcap` (its browser announcement says OS 5.1; tshark
/// `browser.os_major`, `browser.os_minor`).
#[test]
fn devices_are_listed_by_their_software() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let dir = Scratch::new("by-software");
    let db = dir.path("inv.db");
    let db = db.to_str().unwrap();
    let cap = corpus.join("pcap/suricata-verify/sip-user-agent/sip.pcap");
    analyze_into(&cap, db);
    let out = ok(&[
        "inventory",
        "--db",
        db,
        "list",
        "--software",
        "windows XP",
        "--format",
        "json",
    ]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mac-0060970fee72"]);
    assert_eq!(list[0]["hostname"], "LAB111");
    let table = ok(&["inventory", "--db", db, "list", "--software", "windows"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("Windows XP") && text.contains("Windows 2000"),
        "{text}"
    );
    assert!(text.ends_with("2 devices\n"), "{text}");
}
