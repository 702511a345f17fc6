//! End-to-end: the real `medsentry` binary on real captures, checked through its JSON report and exit
//! status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn medsentry(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args(args)
        .output()
        .expect("run medsentry")
}

fn analyze_json(files: &[&Path]) -> (serde_json::Value, Output) {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["analyze".as_ref(), "--format".as_ref(), "json".as_ref()];
    args.extend(files.iter().map(|p| p.as_os_str()));
    let out = medsentry(&args);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out)
}

/// A scratch folder for files the tests make (damaged copies, text files).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("medsentry-e2e-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `../shared/tools/check-report.py` validates keys and types of schema medsentry.report/1.
fn check_schema(report_json: &[u8]) {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/check-report.py");
    if !tool.exists() {
        eprintln!("notice: {} not found; schema not checked", tool.display());
        return;
    }
    let mut child = Command::new("python3")
        .arg(&tool)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(report_json)
        .expect("write report");
    let out = child.wait_with_output().expect("check-report");
    assert!(
        out.status.success(),
        "check-report.py: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn json_report_of_all_scenarios_matches_the_ground_truth() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = corpus.join("captures/all_scenarios.pcap");
    let (report, out) = analyze_json(&[&path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    check_schema(&out.stdout);
    let s = &report["summary"];
    assert_eq!(report["schema"], "medsentry.report/1");
    // GROUND_TRUTH.md: 360 packets, 18 TCP connections, 7 UDP conversations; 781,452 file bytes less the
    // 24-byte file header and 16 bytes per record header is 775,668 bytes of frames.
    assert_eq!(s["packets"], 360);
    assert_eq!(s["bytes"], 781_452 - 24 - 16 * 360);
    assert_eq!(s["flows"], 25);
    assert_eq!(s["tcp_flows"], 18);
    assert_eq!(s["udp_flows"], 7);
    assert_eq!(s["decode_errors"], 0);
    assert_eq!(s["truncated_packets"], 0);
    let flows = report["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 25);
    // The DICOM association A1: echoscu from port 60788 to storescp on 104, 20 frames (tshark conv).
    let a1 = flows
        .iter()
        .find(|f| f["client"]["port"] == 60788)
        .expect("flow from 60788");
    assert_eq!(a1["server"]["port"], 104);
    assert_eq!(a1["transport"], "tcp");
    assert_eq!(a1["packets"], 20);
    assert_eq!(a1["bytes"], 1927);
    assert_eq!(a1["tcp"]["handshake"], true);
    assert_eq!(a1["end"], "fin");
    assert_eq!(a1["first_seen"], "2026-11-28T17:34:04.917468Z");
    let tls = flows
        .iter()
        .find(|f| f["server"]["port"] == 2762)
        .expect("DICOM-TLS flow");
    assert_eq!(
        tls["end"], "rst",
        "the DICOM-TLS connection ends FIN then RST"
    );
}

#[test]
fn table_report_reads_well() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = corpus.join("captures/hl7.pcap");
    let out = medsentry(&["analyze".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("packets            48"), "{text}");
    assert!(
        text.contains("flows              3 (tcp 3, udp 0, other 0)"),
        "{text}"
    );
    assert!(text.contains("127.0.0.1:2575"), "{text}");
    assert!(
        stderr(&out).is_empty(),
        "nothing on stderr for a clean capture"
    );
}

#[test]
fn several_files_are_one_timeline_in_any_order() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let hl7 = corpus.join("captures/hl7.pcap");
    let dicom = corpus.join("captures/dicom.pcap");
    let (a, out) = analyze_json(&[&hl7, &dicom]);
    assert_eq!(out.status.code(), Some(0));
    let (b, _) = analyze_json(&[&dicom, &hl7]);
    assert_eq!(a["summary"]["packets"], 48 + 134);
    assert_eq!(a["summary"]["flows"], 3 + 6);
    // Merged by packet time, the flows come out identical whichever file is named first.
    assert_eq!(a["flows"], b["flows"]);
    assert_eq!(a["summary"]["first_seen"], b["summary"]["first_seen"]);
    let inputs = a["inputs"].as_array().expect("inputs");
    assert_eq!(inputs[0]["packets"], 48);
    assert_eq!(inputs[1]["packets"], 134);
}

/// Two analysis threads (reading and reassembly on one, application parsing on the other) give the
/// report one thread gives, byte for byte: the same calls reach the parsers in the same order. Checked
/// on every capture of the corpus's `captures/`, on several files merged into one timeline, on the
/// multi-host sample, with and without `--show-phi`.
#[test]
fn two_analysis_threads_give_the_one_thread_report() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let captures = corpus.join("captures");
    let mut runs: Vec<Vec<PathBuf>> = std::fs::read_dir(&captures)
        .expect("captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .map(|p| vec![p])
        .collect();
    assert!(runs.len() >= 8, "{} captures", runs.len());
    runs.sort();
    runs.push(vec![
        captures.join("dicom.pcap"),
        captures.join("hl7.pcap"),
        captures.join("tls.pcap"),
    ]);
    for files in &runs {
        for phi in [false, true] {
            let run = |threads: &str| {
                let mut args: Vec<&std::ffi::OsStr> = vec![
                    "analyze".as_ref(),
                    "--format".as_ref(),
                    "json".as_ref(),
                    "--threads".as_ref(),
                    threads.as_ref(),
                ];
                if phi {
                    args.push("--show-phi".as_ref());
                }
                args.extend(files.iter().map(|p| p.as_os_str()));
                let out = medsentry(&args);
                assert_eq!(out.status.code(), Some(0), "{files:?}: {}", stderr(&out));
                out.stdout
            };
            let (one, two) = (run("1"), run("2"));
            assert!(one.len() > 1000, "{files:?}");
            assert!(one == two, "{files:?} (show-phi {phi}): the reports differ");
        }
    }
}

/// Every suricata-verify capture (the identification cases: DHCP, mDNS, TLS, EtherNet/IP, SSH ...) gives
/// the same report from two processes. Nothing in a report may follow a hash map's order, and each
/// process seeds its maps differently: `tls13_draft18.pcap` once listed a device's service values in
/// either order, one run in two.
#[test]
fn every_identification_capture_gives_one_report_every_run() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let captures = testkit::captures_under(&corpus.join("pcap/suricata-verify"));
    assert!(captures.len() >= 20, "{} captures", captures.len());
    for path in &captures {
        let run = || {
            let out = medsentry(&[
                "analyze".as_ref(),
                "--format".as_ref(),
                "json".as_ref(),
                path.as_os_str(),
            ]);
            // Unreadable files are another test's business; the same outcome twice is what counts.
            (out.status.code(), out.stdout)
        };
        let first = run();
        assert!(first == run(), "{}: two runs differ", path.display());
    }
}

#[test]
fn pcapng_input_is_read() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    // Recorded by dumpcap: pcapng, one interface. tshark shows 12 frames and 1 TCP conversation.
    let path = corpus.join("pcap/dicom-generated/dcmtk_c-echo.pcapng");
    let (report, out) = analyze_json(&[&path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report["inputs"][0]["format"], "pcapng");
    assert_eq!(report["summary"]["tcp_flows"], 1);
    assert_eq!(report["flows"][0]["server"]["port"], 104);
}

#[test]
fn output_flag_writes_the_report_to_a_file() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let dir = scratch("output");
    let dest = dir.join("report.json");
    let path = corpus.join("captures/dns.pcap");
    let out = medsentry(&[
        "analyze".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--output".as_ref(),
        dest.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&dest).expect("report")).expect("json");
    // 7 UDP and 1 TCP DNS conversations, 24 packets (GROUND_TRUTH.md).
    assert_eq!(report["summary"]["packets"], 24);
    assert_eq!(report["summary"]["flows"], 8);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unreadable_inputs_exit_2_with_one_line_naming_the_file() {
    let dir = scratch("unreadable");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "this is not a capture\n").expect("write");
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").expect("write");
    let short = dir.join("short.pcap");
    std::fs::write(&short, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).expect("write");
    let missing = dir.join("missing.pcap");
    for (path, problem) in [
        (&text, "not a pcap or pcapng capture"),
        (&empty, "empty file"),
        (&short, "too short to be a capture"),
        (&missing, "no such file"),
        (&dir, "is a directory"),
    ] {
        let out = medsentry(&["analyze".as_ref(), path.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{}", path.display());
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("medsentry: "), "{err}");
        assert!(
            err.contains(&path.display().to_string()),
            "names the file: {err}"
        );
        assert!(err.contains(problem), "says {problem:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "no report when nothing could be read"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_bad_file_among_good_ones_is_reported_and_the_rest_analysed() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let dir = scratch("mixed");
    let missing = dir.join("missing.pcap");
    let hl7 = corpus.join("captures/hl7.pcap");
    let (report, out) = analyze_json(&[&missing, &hl7]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit status says something could not be read"
    );
    assert_eq!(report["summary"]["packets"], 48);
    assert!(stderr(&out).contains("missing.pcap"));
}

#[test]
fn truncated_capture_is_analysed_up_to_the_cut_and_exits_1() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let dir = scratch("truncated");
    let bytes = std::fs::read(corpus.join("captures/hl7.pcap")).expect("hl7.pcap");
    // Cut in the middle of a record: keep the file header and records until byte 6000, then half a record.
    let cut = dir.join("cut.pcap");
    let mut offset = 24;
    let mut whole_records = 0;
    while offset + 16 <= bytes.len() {
        let caplen =
            u32::from_le_bytes(bytes[offset + 8..offset + 12].try_into().unwrap()) as usize;
        if offset + 16 + caplen > 6000 {
            break;
        }
        offset += 16 + caplen;
        whole_records += 1;
    }
    std::fs::write(&cut, &bytes[..offset + 20]).expect("write");
    let (report, out) = analyze_json(&[&cut]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(report["summary"]["packets"], whole_records);
    let err = stderr(&out);
    assert!(err.contains("cut.pcap"), "{err}");
    assert!(
        err.contains(&format!("byte offset {offset}")),
        "names the offset {offset}: {err}"
    );
    assert_eq!(
        report["inputs"][0]["warning"]
            .as_str()
            .map(|w| w.contains("middle of a record")),
        Some(true)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn corrupt_record_length_stops_the_file_with_a_warning() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let dir = scratch("corrupt");
    let mut bytes = std::fs::read(corpus.join("captures/telnet.pcap")).expect("telnet.pcap");
    // The third record's caplen becomes 2 GiB: impossible, and must not be allocated.
    let mut offset = 24;
    for _ in 0..2 {
        let caplen =
            u32::from_le_bytes(bytes[offset + 8..offset + 12].try_into().unwrap()) as usize;
        offset += 16 + caplen;
    }
    bytes[offset + 8..offset + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let bad = dir.join("corrupt.pcap");
    std::fs::write(&bad, &bytes).expect("write");
    let (report, out) = analyze_json(&[&bad]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(report["summary"]["packets"], 2);
    let err = stderr(&out);
    assert!(err.contains(&format!("byte offset {offset}")), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

/// The 1.5 GiB benchmark capture from `../shared/tools/gen_big.py` (defaults), when `.ci/run` (or you)
/// made it and set `MEDSENTRY_BIG_PCAP`: argus and tshark agree on 95,323 flows and 2,931,757 packets.
#[test]
fn big_capture_has_the_flows_argus_and_tshark_count() {
    let Some(path) = std::env::var_os("MEDSENTRY_BIG_PCAP").map(PathBuf::from) else {
        eprintln!("notice: MEDSENTRY_BIG_PCAP not set; skipping the big-capture count check");
        return;
    };
    let out = medsentry(&[
        "analyze".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["summary"]["packets"], 2_931_757);
    assert_eq!(report["summary"]["flows"], 95_323);
    assert_eq!(report["summary"]["decode_errors"], 0);
    assert_eq!(
        report["summary"]["reassembly"]["gaps"], 0,
        "gen_big.py loses nothing"
    );
    // Its 2,000 devices and the servers: one device per address (gen_big gives every host its own
    // MAC), and the roles its truth file counts found from the traffic alone: monitors send vital
    // signs, modalities store images, pumps serve a pump web UI. Its gateways and workstations are
    // only TLS, DNS and HTTP clients and its ADT feeds only send ADT: nothing in their traffic says
    // more than `unknown` or `server`, so they are not counted here.
    let truth_path = format!("{}.truth.json", path.display());
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&truth_path).expect("gen_big truth file")).unwrap();
    let devices = report["devices"].as_array().unwrap();
    assert_eq!(
        devices.len() as u64,
        truth["distinct_ips"].as_u64().unwrap()
    );
    let count =
        |category: &str| devices.iter().filter(|d| d["category"] == category).count() as u64;
    let roles = &truth["roles"];
    assert_eq!(count("patient-monitor"), roles["monitor"].as_u64().unwrap());
    assert_eq!(
        count("imaging-modality"),
        roles["modality"].as_u64().unwrap()
    );
    assert_eq!(count("infusion-pump"), roles["pump"].as_u64().unwrap());
}

#[test]
fn snaplen_truncated_capture_is_decoded_as_far_as_it_goes() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let dir = scratch("snaplen");
    let bytes = std::fs::read(corpus.join("captures/hl7.pcap")).expect("hl7.pcap");
    // Rewrite the capture as if taken with a snaplen of 80: every record keeps at most 80 bytes, its
    // original length unchanged, and the file header says so.
    // As if captured with a snaplen of 80 bytes.
    let cut = testkit::with_snaplen(&bytes, 80);
    let records = 48;
    let shortened = {
        let mut n = 0;
        let mut offset = 24;
        while offset + 16 <= bytes.len() {
            let caplen =
                u32::from_le_bytes(bytes[offset + 8..offset + 12].try_into().unwrap()) as usize;
            n += usize::from(caplen > 80);
            offset += 16 + caplen;
        }
        n
    };
    let path = dir.join("snap80.pcap");
    std::fs::write(&path, &cut).expect("write");
    let (report, out) = analyze_json(&[&path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = &report["summary"];
    assert_eq!(s["packets"], records);
    assert_eq!(s["truncated_packets"], shortened);
    assert!(shortened > 10, "the HL7 messages are longer than 80 bytes");
    // Wire bytes come from the original lengths, so they match the full capture.
    assert_eq!(s["bytes"], 12_046 - 24 - 16 * 48);
    assert_eq!(s["decode_errors"], 0);
    // The same three connections, and the payload the capture lost shows up as gaps, never as bytes.
    assert_eq!(s["tcp_flows"], 3);
    // Every payload byte of the full capture (8,038, as reassembled from hl7.pcap) is either delivered or
    // accounted for in a gap.
    let (delivered, gaps) = (
        s["reassembly"]["delivered_bytes"].as_u64(),
        s["reassembly"]["gap_bytes"].as_u64(),
    );
    assert!(gaps.unwrap() > 0);
    assert_eq!(delivered.unwrap() + gaps.unwrap(), 8_038);
    let flows = report["flows"].as_array().expect("flows");
    assert!(
        flows
            .iter()
            .all(|f| f["tcp"]["handshake"] == true && f["end"] == "fin")
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn config_file_adds_ports_and_refuses_unknown_keys() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let scratch = testkit::Scratch::new("config");
    let good = scratch.path("good.toml");
    std::fs::write(
        &good,
        "[ports]\nhl7 = [6000]\ndicom = [4242]\ndicom_tls = [2763]\n",
    )
    .unwrap();
    let hl7 = corpus.join("captures/hl7.pcap");
    let out = medsentry(&[
        "analyze".as_ref(),
        hl7.as_os_str(),
        "--config".as_ref(),
        good.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bad = scratch.path("bad.toml");
    std::fs::write(&bad, "[ports]\nhl7_port = [6000]\n").unwrap();
    let out = medsentry(&[
        "analyze".as_ref(),
        hl7.as_os_str(),
        "--config".as_ref(),
        bad.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.toml") && err.contains("unknown field `hl7_port`"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing analysed with a broken config"
    );
}
