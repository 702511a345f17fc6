//! End-to-end: `medsentry synth` writes a hospital's capture and its truth; `medsentry analyze` on it
//! must report exactly what the truth says was generated, for many seeds, sizes and fault mixes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use testkit::Scratch;

fn medsentry(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args(args)
        .output()
        .expect("run medsentry");
    assert!(
        out.status.success(),
        "medsentry {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn synth(
    path: &Path,
    devices: usize,
    minutes: u32,
    seed: u64,
    faults: &str,
    format: &str,
) -> Value {
    let p = path.to_str().unwrap();
    let (d, m, s) = (devices.to_string(), minutes.to_string(), seed.to_string());
    medsentry(&[
        "synth",
        "-o",
        p,
        "--devices",
        &d,
        "--minutes",
        &m,
        "--seed",
        &s,
        "--faults",
        faults,
        "--format",
        format,
    ]);
    let truth = std::fs::read(format!("{p}.truth.json")).expect("truth file beside the capture");
    serde_json::from_slice(&truth).expect("truth is JSON")
}

fn analyze(path: &Path) -> (Value, Vec<u8>) {
    let out = medsentry(&["analyze", "--format", "json", path.to_str().unwrap()]);
    (
        serde_json::from_slice(&out.stdout).expect("report is JSON"),
        out.stdout,
    )
}

/// A JSON object of counts as a map, zero entries left out (the report lists every DICOM outcome, the
/// truth only those that happened).
fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default()
}

/// Every check of the round trip, with the case named in each message.
fn round_trip(case: &str, truth: &Value, report: &Value) {
    let s = &report["summary"];
    let f = &truth["faults"];
    assert_eq!(s["packets"], truth["packets"], "{case}: packets");
    assert_eq!(s["decode_errors"], 0, "{case}: decode errors");
    assert_eq!(s["flows"], truth["flow_count"], "{case}: flows");
    assert_eq!(
        counts(&s["apps"]),
        counts(&truth["flows_by_app"]),
        "{case}: flows by application"
    );
    assert_eq!(
        s["encrypted_flows"], truth["encrypted_flows"],
        "{case}: encrypted flows"
    );
    assert_eq!(
        counts(&s["hl7_messages_by_type"]),
        counts(&truth["hl7_messages_by_type"]),
        "{case}: HL7 messages by type"
    );
    assert_eq!(
        counts(&s["dicom_associations"]),
        counts(&truth["dicom_associations"]),
        "{case}: DICOM associations"
    );
    assert_eq!(
        counts(&s["dicom_commands"]),
        counts(&truth["dicom_commands"]),
        "{case}: DICOM commands"
    );
    assert_eq!(
        s["cleartext_credentials"].as_u64(),
        Some(truth["credentials"].as_array().unwrap().len() as u64),
        "{case}: credentials"
    );
    // What the capture lost, exactly: one gap per lost segment or truncated frame, their bytes, and
    // the HL7 messages they cut.
    let gaps = f["lost_segments"].as_u64().unwrap() + f["truncated_packets"].as_u64().unwrap();
    assert_eq!(s["reassembly"]["gaps"].as_u64(), Some(gaps), "{case}: gaps");
    assert_eq!(
        s["reassembly"]["gap_bytes"], f["gap_bytes"],
        "{case}: gap bytes"
    );
    assert_eq!(
        s["hl7"]["cut_by_gap"], f["hl7_messages_cut"],
        "{case}: HL7 messages cut by gaps"
    );
    assert_eq!(
        s["truncated_packets"], f["truncated_packets"],
        "{case}: truncated packets"
    );
    assert_eq!(
        s["reassembly"]["retransmitted_bytes"], f["retransmitted_bytes"],
        "{case}: retransmitted bytes"
    );
    // Reordered segments, and those that wait behind a hole until the receiver's ACK passes it.
    assert_eq!(
        s["reassembly"]["out_of_order_segments"], f["out_of_order_segments"],
        "{case}: out-of-order segments"
    );
    // Associations whose image data lost a segment: cut, yet every command above still counted.
    assert_eq!(
        s["dicom_incomplete"], f["dicom_associations_cut"],
        "{case}: DICOM associations cut"
    );
    // Credentials by protocol and user name.
    let mut want: Vec<(String, String)> = truth["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["protocol"].as_str().unwrap().to_string(),
                c["username"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    want.sort();
    let mut got: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "cleartext-credentials")
        .flat_map(|x| {
            let flow = x["flow"].as_u64().unwrap();
            let app = report["flows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"].as_u64() == Some(flow))
                .map(|f| f["app"].as_str().unwrap().to_string())
                .unwrap();
            x["usernames"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |u| (app.clone(), u.as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    got.sort();
    assert_eq!(got, want, "{case}: credentials by protocol and user");
}

/// Each flow endpoint that is a device of the truth shows that device's MAC (all devices share the
/// captured segment; the cloud service is reached through the gateway, whose MAC it shows).
fn macs_match(case: &str, truth: &Value, report: &Value) {
    let mut mac_of = BTreeMap::new();
    for d in truth["devices"].as_array().unwrap() {
        mac_of.insert(
            d["ipv4"].as_str().unwrap().to_string(),
            d["mac"].as_str().unwrap().to_string(),
        );
        if let Some(v6) = d["ipv6"].as_str() {
            mac_of.insert(v6.to_string(), d["mac"].as_str().unwrap().to_string());
        }
    }
    let mut checked = 0;
    for f in report["flows"].as_array().unwrap() {
        for side in ["client", "server"] {
            let e = &f[side];
            if let Some(mac) = mac_of.get(e["ip"].as_str().unwrap()) {
                assert_eq!(
                    e["mac"].as_str(),
                    Some(mac.as_str()),
                    "{case}: MAC of {side} {}",
                    e["ip"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "{case}: some endpoints are devices");
}

/// The inventory: every device of the truth found by its MAC, none invented, and each one's maker
/// (from its MAC's registration and DHCP), name (when it ever appears on the wire) and category
/// (from DHCP, LLDP and CDP, roles in DICOM and HL7 traffic, services) as the truth says; a switch's
/// port MACs are the switch.
/// Returns how many devices named themselves in NetBIOS, and how many of those NTLM named the
/// Windows release of.
fn devices_match(case: &str, truth: &Value, report: &Value) -> (usize, usize) {
    let got: BTreeMap<&str, &Value> = report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["mac"].as_str().unwrap_or("(no mac)"), d))
        .collect();
    let want = truth["devices"].as_array().unwrap();
    assert_eq!(
        got.len(),
        want.len(),
        "{case}: as many devices as the truth (none missing, none invented)"
    );
    let (mut named, mut by_release) = (0, 0);
    for t in want {
        let mac = t["mac"].as_str().unwrap();
        let d = got
            .get(mac)
            .unwrap_or_else(|| panic!("{case}: device {mac} ({}) not found", t["kind"]));
        let what = format!("{case}: {} {mac}", t["kind"]);
        assert_eq!(d["vendor"], t["vendor"], "{what}: vendor");
        assert_eq!(d["category"], t["category"], "{what}: category");
        // Its addresses are its own (the gateway's routing of others' traffic notwithstanding).
        for a in [&t["ipv4"], &t["ipv6"]]
            .into_iter()
            .filter(|a| a.is_string())
        {
            assert!(
                d["ips"].as_array().unwrap().contains(a),
                "{what}: address {a} not in {}",
                d["ips"]
            );
        }
        if t["hostname_on_wire"] == true {
            assert_eq!(d["hostname"], t["hostname"], "{what}: hostname");
        }
        // Windows workstations name themselves in NetBIOS too (upper case, as Windows sends it),
        // and announce Windows 10 there; their NTLM logon to a Windows server names the release,
        // which is what they run. Nobody else does.
        let netbios = testkit::evidence_values(d, "netbios.name");
        let by_ntlm = d["decided"]["software"]["evidence"]["field"] == "ntlm.os_version";
        if netbios.is_empty() {
            // A Windows server the workstations log on to names its release in NTLM too
            // ("... or Server 2019" for build 17763); nothing else is taken for Windows.
            let software = d["software"][0].as_str().unwrap_or("");
            if by_ntlm {
                let release = t["software_version"].as_str().unwrap();
                assert!(
                    software.ends_with(release.trim_start_matches("Windows ")),
                    "{what}: {software} for {release}"
                );
            } else {
                assert!(!software.starts_with("Windows"), "{what}: {software}");
            }
        } else {
            let upper = t["hostname"].as_str().unwrap().to_uppercase();
            assert_eq!(netbios, [upper.as_str()], "{what}: NetBIOS name");
            // With no Windows server to log on to (every server of this hospital runs Linux),
            // only the browser announcement's 10.0 says which Windows.
            let want = if by_ntlm {
                t["software_version"].clone()
            } else {
                Value::from("Windows 10 or later")
            };
            assert_eq!(d["software"][0], want, "{what}: software");
            named += 1;
            by_release += usize::from(by_ntlm);
        }
        // The core switch's ports announce it (LLDP, CDP) from MACs of their own: the same device.
        let ports = testkit::evidence_values(d, "l2.port_mac");
        let want_ports: Vec<String> = t["port_macs"].as_array().map_or(vec![], |a| {
            a.iter().map(|m| m.as_str().unwrap().to_string()).collect()
        });
        assert_eq!(ports, want_ports, "{what}: switch ports");
        // Every decided field names the rule and the evidence behind it.
        for (field, decided) in d["decided"].as_object().unwrap() {
            assert!(
                decided["rule"].is_string() && decided["evidence"]["field"].is_string(),
                "{what}: {field} unexplained"
            );
        }
    }
    (named, by_release)
}

/// Every string in the report, to look for patient values in.
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k);
            strings(x, out)
        }),
        _ => {}
    }
}

fn assert_no_phi(case: &str, truth: &Value, report: &Value) {
    let mut all = Vec::new();
    strings(report, &mut all);
    let phi = &truth["phi"];
    let mut checked = 0;
    for key in ["patient_names", "patient_ids", "birth_dates"] {
        for value in phi[key].as_array().unwrap() {
            let value = value.as_str().unwrap();
            checked += 1;
            assert!(
                !all.iter().any(|s| s.contains(value)),
                "{case}: patient value {value} ({key}) appears in the report"
            );
        }
    }
    assert!(
        checked > 10,
        "{case}: the truth lists the patient values it used"
    );
}

/// The property: many seeds, sizes, formats and fault mixes; each round trip exact.
#[test]
fn analyze_reports_exactly_what_synth_generated() {
    let scratch = Scratch::new("synth-round-trip");
    let cases: &[(usize, u32, u64, &str, &str)] = &[
        (40, 2, 1, "none", "pcap"),
        (60, 3, 2, "all", "pcap"),
        (30, 2, 3, "loss=0.02,truncate=0.01", "pcapng"),
        (
            50,
            2,
            4,
            "retransmit=0.05,reorder=0.05,duplicate=0.05",
            "pcap",
        ),
        (25, 4, 5, "vlan=0.5,ipv6=0.5", "pcapng"),
        (80, 2, 6, "all,loss=0.01", "pcap"),
        (20, 3, 7, "ipv6=1,vlan=1,truncate=0.02", "pcap"),
        (45, 2, 8, "reorder=0.1,loss=0.005", "pcapng"),
        // Enough imaging for the loss fault to reach DICOM image data.
        (60, 3, 9, "loss=0.004", "pcap"),
    ];
    // `MEDSENTRY_SYNTH_CASES=N` adds N more mixes derived from their index (run by hand: each is a
    // second or two).
    let extra: usize = std::env::var("MEDSENTRY_SYNTH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    const MIXES: [&str; 7] = [
        "none",
        "all",
        "loss=0.01,truncate=0.005,vlan=0.5",
        "retransmit=0.03,reorder=0.03,duplicate=0.03,ipv6=0.4",
        "all,loss=0.02",
        "truncate=0.03,ipv6=1",
        "all,truncate=0.01,reorder=0.05",
    ];
    let more: Vec<(usize, u32, u64, &str, &str)> = (0..extra)
        .map(|i| {
            let seed = 1000 + i as u64;
            let format = if i % 2 == 0 { "pcapng" } else { "pcap" };
            (
                15 + (i * 37) % 120,
                1 + (i % 5) as u32,
                seed,
                MIXES[i % MIXES.len()],
                format,
            )
        })
        .collect();
    let (mut netbios_named, mut ntlm_release) = (0, 0);
    for &(devices, minutes, seed, faults, format) in cases.iter().chain(&more) {
        let case = format!(
            "--devices {devices} --minutes {minutes} --seed {seed} --faults {faults} --format {format}"
        );
        let path = scratch.path(&format!("h{seed}.{format}"));
        let truth = synth(&path, devices, minutes, seed, faults, format);
        let (report, _) = analyze(&path);
        round_trip(&case, &truth, &report);
        macs_match(&case, &truth, &report);
        let (named, by_release) = devices_match(&case, &truth, &report);
        netbios_named += named;
        ntlm_release += by_release;
        assert_no_phi(&case, &truth, &report);
        assert!(
            truth["hl7_messages_by_type"]
                .as_object()
                .is_some_and(|m| !m.is_empty()),
            "{case}: some HL7"
        );
        assert!(
            truth["dicom_commands"]
                .as_object()
                .is_some_and(|m| !m.is_empty()),
            "{case}: some DICOM"
        );
        if faults.contains("loss") {
            assert!(
                truth["faults"]["lost_segments"].as_u64().unwrap() > 0,
                "{case}: the loss fault lost something"
            );
        }
        if seed == 9 {
            let cut = truth["faults"]["dicom_associations_cut"].as_u64().unwrap();
            assert!(cut > 0, "{case}: the loss fault reached DICOM image data");
        }
        std::fs::remove_file(&path).ok();
    }
    assert!(
        netbios_named > 0,
        "some Windows workstations named themselves"
    );
    assert!(
        ntlm_release > 0,
        "some Windows workstations' release came from NTLM"
    );
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let scratch = Scratch::new("synth-determinism");
    let (a, b, c) = (
        scratch.path("a.pcap"),
        scratch.path("b.pcap"),
        scratch.path("c.pcap"),
    );
    synth(&a, 30, 2, 11, "all", "pcap");
    synth(&b, 30, 2, 11, "all", "pcap");
    synth(&c, 30, 2, 12, "all", "pcap");
    let (ba, bb, bc) = (
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        std::fs::read(&c).unwrap(),
    );
    assert!(ba == bb, "same arguments and seed must give the same bytes");
    assert!(ba != bc, "another seed gives another hospital");
    let ta = std::fs::read(format!("{}.truth.json", a.display())).unwrap();
    let tb = std::fs::read(format!("{}.truth.json", b.display())).unwrap();
    assert_eq!(ta, tb, "and the same truth");
}

/// tshark reads a synthesised capture without a single warning (checksums verified, TCP analysis on),
/// and counts the same HL7 messages and DICOM associations as the truth.
#[test]
fn tshark_agrees_with_the_truth() {
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    let scratch = Scratch::new("synth-tshark");
    let path = scratch.path("h.pcap");
    let truth = synth(&path, 40, 2, 21, "vlan=0.3,ipv6=0.3", "pcap");
    let p = path.to_str().unwrap();
    let expert = Command::new(tshark)
        .args([
            "-r",
            p,
            "-q",
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-z",
            "expert,warn",
        ])
        .output()
        .expect("run tshark");
    let text = String::from_utf8_lossy(&expert.stdout);
    // tshark files every RST under warnings ("Connection reset (RST)"): synth's glucose docks abort
    // some uploads on purpose, so that one is a fact about the traffic, not a fault of the capture.
    // So is "Secrets are not available" for QUIC's 1-RTT packets: only the Initial packets' keys
    // can be derived, by tshark as by anyone.
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .filter(|l| !l.contains("Connection reset (RST)"))
        .filter(|l| !(l.contains("QUIC") && l.contains("Secrets are not available")))
        .collect();
    assert!(
        warnings.is_empty(),
        "tshark warns about the synthesised capture:\n{text}"
    );

    // HL7: one line per message with its type. DICOM: A-ASSOCIATE-RQ PDUs (type 1) and their answers.
    // Lab analysers speak HL7 on 6661, where tshark's heuristic misses the first message of each
    // connection (it only recognises the stream from the engine's first ACK): decode-as, as for DICOM
    // on 11112, so both tools look at the same bytes.
    let fields = Command::new(tshark)
        .args([
            "-r",
            p,
            "-d",
            "tcp.port==11112,dicom",
            "-d",
            "tcp.port==6661,hl7",
            "-Y",
            "hl7 || dicom",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=;",
            "-e",
            "hl7.message.type",
            "-e",
            "hl7.event.type",
            "-e",
            "dicom.pdu.type",
        ])
        .output()
        .expect("run tshark");
    let mut hl7: BTreeMap<String, u64> = BTreeMap::new();
    let mut pdus: BTreeMap<String, u64> = BTreeMap::new();
    for line in String::from_utf8_lossy(&fields.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let (types, events) = (
            cols.first().copied().unwrap_or(""),
            cols.get(1).copied().unwrap_or(""),
        );
        for (t, e) in types
            .split(';')
            .zip(events.split(';'))
            .filter(|(t, _)| !t.is_empty())
        {
            *hl7.entry(format!("{t}^{e}")).or_default() += 1;
        }
        for pdu in cols
            .get(2)
            .copied()
            .unwrap_or("")
            .split(';')
            .filter(|x| !x.is_empty())
        {
            *pdus.entry(pdu.to_string()).or_default() += 1;
        }
    }
    assert_eq!(
        hl7,
        counts(&truth["hl7_messages_by_type"]),
        "tshark's HL7 messages by type"
    );
    let assoc = counts(&truth["dicom_associations"]);
    assert_eq!(
        pdus.get("0x01").copied().unwrap_or(0),
        assoc["requested"],
        "tshark's A-ASSOCIATE-RQ PDUs"
    );
    assert_eq!(
        pdus.get("0x02").copied().unwrap_or(0),
        assoc["accepted"],
        "tshark's A-ASSOCIATE-AC PDUs"
    );
    assert_eq!(
        pdus.get("0x03").copied().unwrap_or(0),
        assoc.get("rejected").copied().unwrap_or(0),
        "tshark's A-ASSOCIATE-RJ PDUs"
    );

    // QUIC: tshark decrypts the workstations' Initial packets as the analyser does, and finds the
    // same hello: each client's SNI and JA3 are its evidence.
    let hellos = Command::new(tshark)
        .args([
            "-r",
            p,
            "-Y",
            "quic && tls.handshake.type == 1",
            "-T",
            "fields",
        ])
        .args(["-e", "ip.src", "-e", "tls.handshake.extensions_server_name"])
        .args(["-e", "tls.handshake.ja3"])
        .output()
        .expect("run tshark");
    let text = String::from_utf8_lossy(&hellos.stdout);
    let (report, _) = analyze(&path);
    let mut seen = 0;
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let d = report["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["ips"].as_array().unwrap().iter().any(|i| i == cols[0]))
            .unwrap_or_else(|| panic!("no device at {}", cols[0]));
        for (field, value) in [("tls.sni", cols[1]), ("tls.ja3", cols[2])] {
            assert!(
                d["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["field"] == field && e["value"] == value),
                "{}: {field} {value}",
                cols[0]
            );
        }
        seen += 1;
    }
    let workstations = truth["flows_by_app"]["quic"].as_u64().unwrap_or(0);
    assert!(
        seen > 0 && seen as u64 == workstations,
        "{seen} QUIC hellos"
    );
}

#[test]
fn demo_runs_and_checks_itself() {
    let scratch = Scratch::new("demo");
    let dir = scratch.path("keep");
    let out = medsentry(&[
        "demo",
        "--devices",
        "40",
        "--minutes",
        "2",
        "--keep",
        dir.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "What medsentry saw",
        "HL7 v2 messages",
        "DICOM associations",
        "Risks",
        "all equal",
        "medsentry analyze YOUR.pcap",
    ] {
        assert!(text.contains(want), "demo output lacks {want:?}:\n{text}");
    }
    let truth: Value =
        serde_json::from_slice(&std::fs::read(dir.join("hospital.pcap.truth.json")).unwrap())
            .unwrap();
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_no_phi("demo report", &truth, &report);
    // The demo's own words carry no patient value either.
    let mut phi = Vec::new();
    strings(&truth["phi"], &mut phi);
    assert!(
        !phi.iter().any(|v| text.contains(v)),
        "demo output shows a patient value"
    );
}

#[test]
fn bad_synth_arguments_are_one_line_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args(["synth", "-o", "/nonexistent-dir/x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent-dir/x.pcap") && err.lines().count() == 1,
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args(["synth", "-o", "x.pcap", "--faults", "lose=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault `lose`"));
}
