//! The capture pipeline against the shared corpus: real captures recorded from real peers, with ground
//! truth (`captures/GROUND_TRUTH.md`) and tshark's view (`captures/tshark_ref/`, and tshark run live).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use capture::{CollectingConsumer, Direction, FlowRecord, PipelineConfig, PipelineStats};

fn run(path: &Path) -> (Vec<(FlowRecord, CollectingConsumer)>, PipelineStats) {
    capture::reassemble_file(path, PipelineConfig::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// `| `file` | bytes | packets | what |` rows of GROUND_TRUTH.md.
fn ground_truth_packets(corpus: &Path) -> BTreeMap<String, u64> {
    let text =
        std::fs::read_to_string(corpus.join("captures/GROUND_TRUTH.md")).expect("GROUND_TRUTH.md");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 5 && cells[1].starts_with('`') && cells[1].ends_with(".pcap`") {
            let name = cells[1].trim_matches('`').to_string();
            if let Ok(n) = cells[3].replace(',', "").parse() {
                out.insert(name, n);
            }
        }
    }
    out
}

/// One conversation line of `tshark -z conv,tcp|udp`: A, B, frames B->A, frames A->B, bytes each way
/// when tshark printed them exactly (it rounds to kB above 1 kB... unless under 1000 bytes).
#[derive(Debug)]
struct Conv {
    a: String,
    b: String,
    frames_b_to_a: u64,
    frames_a_to_b: u64,
    bytes_b_to_a: Option<u64>,
    bytes_a_to_b: Option<u64>,
}

fn parse_conv(text: &str) -> Vec<Conv> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((a, rest)) = line.split_once("<->") else {
            continue;
        };
        let t: Vec<&str> = rest.split_whitespace().collect();
        // B, frames<-, bytes<-, unit, frames->, bytes->, unit, ...
        if t.len() < 7 {
            continue;
        }
        let exact = |n: &str, unit: &str| (unit == "bytes").then(|| n.parse().ok()).flatten();
        out.push(Conv {
            a: a.trim().to_string(),
            b: t[0].to_string(),
            frames_b_to_a: t[1].parse().expect("frames"),
            bytes_b_to_a: exact(t[2], t[3]),
            frames_a_to_b: t[4].parse().expect("frames"),
            bytes_a_to_b: exact(t[5], t[6]),
        });
    }
    out
}

fn endpoint(e: &capture::Endpoint) -> String {
    format!("{}:{}", e.ip, e.port)
}

/// Checks our flows of one protocol against tshark's conversations, frame for frame in each direction.
fn assert_flows_match(what: &str, ours: &[&FlowRecord], convs: &[Conv]) {
    assert_eq!(
        ours.len(),
        convs.len(),
        "{what}: flow count differs from tshark"
    );
    for c in convs {
        let f = ours
            .iter()
            .find(|f| {
                let (cl, sv) = (endpoint(&f.client), endpoint(&f.server));
                (cl == c.a && sv == c.b) || (cl == c.b && sv == c.a)
            })
            .unwrap_or_else(|| panic!("{what}: no flow for tshark conversation {c:?}"));
        // tshark's A is the sender of the conversation's first packet: our client when the SYN was seen.
        let a_is_client = endpoint(&f.client) == c.a;
        let (to_s, to_c) = (Direction::ToServer.index(), Direction::ToClient.index());
        let (a_to_b, b_to_a) = if a_is_client {
            (to_s, to_c)
        } else {
            (to_c, to_s)
        };
        assert_eq!(
            f.packets[a_to_b], c.frames_a_to_b,
            "{what}: frames {} -> {}",
            c.a, c.b
        );
        assert_eq!(
            f.packets[b_to_a], c.frames_b_to_a,
            "{what}: frames {} -> {}",
            c.b, c.a
        );
        if let Some(n) = c.bytes_a_to_b {
            assert_eq!(f.bytes[a_to_b], n, "{what}: bytes {} -> {}", c.a, c.b);
        }
        if let Some(n) = c.bytes_b_to_a {
            assert_eq!(f.bytes[b_to_a], n, "{what}: bytes {} -> {}", c.b, c.a);
        }
    }
}

#[test]
fn packet_counts_match_the_ground_truth() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let truth = ground_truth_packets(&corpus);
    assert!(
        truth.len() >= 8,
        "GROUND_TRUTH.md table not found: {truth:?}"
    );
    for (name, packets) in truth {
        let (_, stats) = run(&corpus.join("captures").join(&name));
        assert_eq!(stats.packets, packets, "{name}");
        assert_eq!(stats.decode_errors, 0, "{name}");
        assert_eq!(stats.truncated, 0, "{name}");
    }
}

#[test]
fn all_scenarios_flows_match_tshark_conversations() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let (flows, stats) = run(&corpus.join("captures/all_scenarios.pcap"));
    let tcp: Vec<&FlowRecord> = flows
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.protocol == 6)
        .collect();
    let udp: Vec<&FlowRecord> = flows
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.protocol == 17)
        .collect();
    // GROUND_TRUTH.md: 18 TCP connections and 7 UDP conversations.
    assert_eq!((tcp.len(), udp.len()), (18, 7));
    assert_eq!(stats.flows.flows, 25);
    let conv_tcp =
        std::fs::read_to_string(corpus.join("captures/tshark_ref/conv_tcp.txt")).expect("conv_tcp");
    let conv_udp =
        std::fs::read_to_string(corpus.join("captures/tshark_ref/conv_udp.txt")).expect("conv_udp");
    assert_flows_match("tcp", &tcp, &parse_conv(&conv_tcp));
    assert_flows_match("udp", &udp, &parse_conv(&conv_udp));
    // Every connection was captured from its SYN and closed with FIN; the DICOM-TLS one ends FIN then RST.
    for f in &tcp {
        assert!(f.handshake_seen, "flow {} has its handshake", f.id);
        let expected = if f.server.port == 2762 {
            capture::EndReason::Rst
        } else {
            capture::EndReason::Fin
        };
        assert_eq!(f.end, expected, "flow {} to port {}", f.id, f.server.port);
        assert_eq!(
            f.reassembly[0].gaps + f.reassembly[1].gaps,
            0,
            "no loss on loopback"
        );
    }
}

#[test]
fn multihost_sample_has_the_107_flows_of_its_truth_file() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = corpus.join("captures/multihost_sample.pcap");
    let truth = std::fs::read_to_string(corpus.join("captures/multihost_sample.pcap.truth.json"))
        .expect("truth");
    let field = |key: &str| -> u64 {
        let at = truth
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} in truth"));
        truth[at + key.len() + 3..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{key} value"))
    };
    let (flows, stats) = run(&path);
    assert_eq!(stats.packets, field("packets"));
    assert_eq!(flows.len() as u64, field("flows"));
    let hosts: std::collections::BTreeSet<_> = flows
        .iter()
        .flat_map(|(r, _)| [r.client.ip, r.server.ip])
        .collect();
    assert_eq!(hosts.len() as u64, field("distinct_ips"));
    let encrypted = flows
        .iter()
        .filter(|(r, _)| matches!(r.server.port, 443 | 2762))
        .count() as u64;
    assert_eq!(encrypted, field("encrypted_flows"));
}

/// Hex lines of `tshark -z follow,tcp,raw,N`: node 0's data unindented, node 1's indented by a tab.
fn parse_follow(text: &str) -> BTreeMap<usize, (String, String, Vec<u8>, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stream = None;
    let (mut n0, mut n1) = (String::new(), String::new());
    let (mut d0, mut d1) = (Vec::new(), Vec::new());
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Filter: tcp.stream eq ") {
            stream = rest.trim().parse::<usize>().ok();
        } else if let Some(rest) = line.strip_prefix("Node 0: ") {
            n0 = rest.trim().to_string();
        } else if let Some(rest) = line.strip_prefix("Node 1: ") {
            n1 = rest.trim().to_string();
        } else if line.starts_with("=====") {
            if let Some(s) = stream.take() {
                out.insert(
                    s,
                    (
                        std::mem::take(&mut n0),
                        std::mem::take(&mut n1),
                        std::mem::take(&mut d0),
                        std::mem::take(&mut d1),
                    ),
                );
            }
        } else if stream.is_some() && !line.trim().is_empty() && !line.starts_with("Follow:") {
            let (dst, hex) = match line.strip_prefix('\t') {
                Some(h) => (&mut d1, h),
                None => (&mut d0, line),
            };
            let hex = hex.trim();
            for i in (0..hex.len() / 2 * 2).step_by(2) {
                dst.push(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"));
            }
        }
    }
    out
}

#[test]
fn reassembled_tcp_bytes_equal_tshark_follow_raw() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    let path = corpus.join("captures/all_scenarios.pcap");
    let (flows, _) = run(&path);
    let tcp: Vec<&(FlowRecord, CollectingConsumer)> =
        flows.iter().filter(|(r, _)| r.protocol == 6).collect();
    let mut cmd = Command::new(tshark);
    cmd.arg("-r").arg(&path).arg("-q");
    for i in 0..tcp.len() {
        cmd.arg("-z").arg(format!("follow,tcp,raw,{i}"));
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let follow = parse_follow(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        follow.len(),
        tcp.len(),
        "tshark printed one stream per TCP flow"
    );
    let mut total = 0;
    for (stream, (n0, n1, d0, d1)) in &follow {
        let (record, consumer) = tcp
            .iter()
            .find(|(r, _)| {
                let (c, s) = (endpoint(&r.client), endpoint(&r.server));
                (&c == n0 && &s == n1) || (&c == n1 && &s == n0)
            })
            .unwrap_or_else(|| panic!("no flow for tshark stream {stream} ({n0} <-> {n1})"));
        let (to_n0, to_n1) = if &endpoint(&record.client) == n0 {
            (Direction::ToClient, Direction::ToServer)
        } else {
            (Direction::ToServer, Direction::ToClient)
        };
        assert_eq!(
            &consumer.bytes(to_n1),
            d0,
            "stream {stream}: bytes from {n0}"
        );
        assert_eq!(
            &consumer.bytes(to_n0),
            d1,
            "stream {stream}: bytes from {n1}"
        );
        total += d0.len() + d1.len();
    }
    // all_scenarios.pcap carries about 750 KB of TCP payload; make sure the comparison saw it.
    assert!(total > 700_000, "compared {total} bytes");
}

/// Every capture of the corpus (pcap and pcapng, every link type in it) against tshark: the same packet
/// count, and per pair of endpoints the same number of TCP and UDP conversations. Idle timeouts are set
/// out of reach here because tshark has none; with the defaults, quiet UDP conversations (BACnet, NetBIOS,
/// DHCPv6, SIP) are split after 120 s, as argus and nfpcapd split them.
#[test]
fn every_corpus_capture_matches_tshark_conversations() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    // Where tshark and we differ, and why we are right (each checked by reading the packets):
    let known: &[(&str, &str, &str)] = &[
        // tshark starts a new UDP conversation for an SNMP response (it keys UDP conversations by the
        // request's direction); it is the same 5-tuple answering, one flow.
        ("ndpi/snmp.pcap", "udp", "*"),
        (
            "suricata-verify/snmp-v2c-get/SNMPv2c_get_requests.pcap",
            "udp",
            "*",
        ),
        // tshark's HART-IP dissector opens a second conversation for the same 5-tuple mid-capture.
        ("ndpi/hart_ip.pcap", "udp", "192.168.0.10:5095"),
        // tshark's VNC dissector splits the first four packets (handshake and version exchange) of each
        // connection into a stream of their own; sequence numbers show one connection each.
        ("ndpi/vnc.pcap", "tcp", "192.168.2.110:6900"),
        // The SYN-ACK of this connection travels on VLAN 1906, the client's packets on VLAN 1506. Flows
        // are keyed by VLAN as well (the same addresses in two VLANs are two networks); tshark ignores it.
        ("ndpi/syslog.pcap", "tcp", "169.46.82.162:52173"),
    ];
    let config = capture::PipelineConfig {
        flows: capture::FlowConfig {
            tcp_opening_timeout: 1 << 40,
            tcp_established_timeout: 1 << 40,
            closed_linger: 1 << 40,
            udp_timeout: 1 << 40,
            other_timeout: 1 << 40,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut files = Vec::new();
    let mut dirs = vec![corpus.join("pcap"), corpus.join("captures")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read corpus dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                dirs.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng" | "cap")
            ) && entry.metadata().is_ok_and(|m| m.len() < 4 << 20)
            {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 100, "corpus has {} captures", files.len());
    // tshark takes most of the time: two workers, one per core.
    let compared = std::sync::atomic::AtomicUsize::new(0);
    let check = |path: &std::path::PathBuf| {
        let rel = path
            .strip_prefix(corpus.join("pcap"))
            .unwrap_or(path)
            .to_string_lossy()
            .to_string();
        let (flows, stats) =
            capture::reassemble_file(path, config).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let out = Command::new(tshark)
            .arg("-r")
            .arg(path)
            .args(["-q", "-z", "conv,tcp", "-z", "conv,udp"])
            .output()
            .expect("run tshark");
        let text = String::from_utf8_lossy(&out.stdout);
        // capinfos comes with tshark; "Number of packets:   N".
        let info = Command::new("capinfos")
            .args(["-M", "-c"])
            .arg(path)
            .output()
            .expect("run capinfos");
        let frames: u64 = String::from_utf8_lossy(&info.stdout)
            .lines()
            .find_map(|l| l.trim().strip_prefix("Number of packets:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{rel}: no packet count from capinfos"));
        assert_eq!(stats.packets, frames, "{rel}: packets");
        for (proto, number) in [("tcp", 6u8), ("udp", 17u8)] {
            let section = text
                .split(&format!("{} Conversations", proto.to_uppercase()))
                .nth(1)
                .and_then(|s| s.split("=====").next())
                .unwrap_or_default();
            let mut theirs: BTreeMap<(String, String), u32> = BTreeMap::new();
            for c in parse_conv(section) {
                let key = if c.a <= c.b { (c.a, c.b) } else { (c.b, c.a) };
                *theirs.entry(key).or_default() += 1;
            }
            let mut ours: BTreeMap<(String, String), u32> = BTreeMap::new();
            for (r, _) in flows.iter().filter(|(r, _)| r.protocol == number) {
                let (a, b) = (endpoint(&r.client), endpoint(&r.server));
                let key = if a <= b { (a, b) } else { (b, a) };
                *ours.entry(key).or_default() += 1;
            }
            let keys: std::collections::BTreeSet<_> =
                ours.keys().chain(theirs.keys()).cloned().collect();
            for key in keys {
                let (o, t) = (
                    ours.get(&key).copied().unwrap_or(0),
                    theirs.get(&key).copied().unwrap_or(0),
                );
                let excused = known.iter().any(|(f, p, ep)| {
                    rel == *f && *p == proto && (*ep == "*" || key.0 == *ep || key.1 == *ep)
                });
                assert!(
                    o == t || excused,
                    "{rel}: {proto} {key:?}: {o} flows, tshark has {t}"
                );
            }
        }
        compared.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let half = files.len().div_ceil(2);
    std::thread::scope(|scope| {
        for part in files.chunks(half) {
            scope.spawn(|| part.iter().for_each(check));
        }
    });
    assert_eq!(compared.into_inner(), files.len());
}
