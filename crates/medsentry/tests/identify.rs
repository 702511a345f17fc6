//! End-to-end identification from SNMP, EtherNet/IP and DHCPv6: the real binary on real captures,
//! checked through the JSON report's `devices[]`, `flows[]` and `findings[]`.
//!
//! Captures (under the corpus's `pcap/`): `suricata-verify/enip-log-identity/` (a ListIdentity over
//! TCP; expectations from its `test.yaml`), `suricata-verify/snmp-v2c-get/` (v2c gets with a
//! community; its `test.yaml` names the community, which the report must never contain), nDPI's
//! `ndpi/snmp.pcap` (system group answers of a router, `R1.lab.local`, read with tshark 4.0.17:
//! frames 2-16 from 97.0.115.163 and 130.70.149.185; v3 and traps), Chris Sanders'
//! `sanders/dhcp6_outlease_acquisition.pcapng` (Solicit, Advertise, Request, Reply giving
//! 2001:db8:1:2::1002; tshark `dhcpv6.iaaddr.ip`) and `suricata-verify/smb2-ntlmssp-negotiateflags/`
//! (Windows Solicits with FQDN and vendor class; one DUID-LLT names a MAC that never appears), and
//! nDPI's `ndpi/netbios.pcap` (NetBIOS name queries, answers and node status responses, and two
//! browser host announcements; read with tshark 4.0.17: `nbns.name`, `nbns.addr`,
//! `browser.server`, `browser.os_major`, `browser.os_minor`), and nDPI's `ndpi/ssdp-m-search-ua.pcap`
//! (four UPnP searches from 192.168.242.50 with `USER-AGENT: Google Chrome/99.0.4844.74 Mac OS X`,
//! tshark `http.user_agent`), and suricata-verify's `sip-user-agent/sip.pcap` (a home gateway,
//! 00:30:54:00:34:56, routing for public peers and answering ARP for 192.168.1.1, its DNS and DHCP
//! server address; browser host announcements from D002465, OS 5.0, and LAB111, OS 5.1, whose server
//! name field carries leftover bytes after its NUL; tshark `browser.server`, `browser.os_major`,
//! `browser.os_minor`, `arp.src.proto_ipv4`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `medsentry analyze --format json FILE`, which must succeed.
fn analyze(path: &Path) -> (Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args(["analyze", "--format", "json"])
        .arg(path)
        .output()
        .expect("run medsentry");
    assert!(
        out.status.success(),
        "medsentry analyze {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("report is UTF-8");
    let report = serde_json::from_str(&text).expect("report is JSON");
    (report, text)
}

fn capture(corpus: &Path, rel: &str) -> PathBuf {
    let path = corpus.join("pcap").join(rel);
    assert!(
        path.is_file(),
        "{} is missing from the corpus",
        path.display()
    );
    path
}

fn devices(report: &Value) -> &Vec<Value> {
    report["devices"].as_array().expect("devices[]")
}

/// The one device that holds `ip`.
fn device_at<'a>(report: &'a Value, ip: &str) -> &'a Value {
    let found: Vec<&Value> = devices(report)
        .iter()
        .filter(|d| {
            d["ips"]
                .as_array()
                .is_some_and(|a| a.iter().any(|i| i == ip))
        })
        .collect();
    assert_eq!(found.len(), 1, "devices holding {ip}: {found:?}");
    found[0]
}

fn has_evidence(device: &Value, field: &str, value: &str) -> bool {
    device["evidence"].as_array().is_some_and(|ev| {
        ev.iter()
            .any(|e| e["field"] == field && e["value"] == value)
    })
}

/// Checks that `device` decided `field` as `value`, from evidence `evidence_field` with the same
/// value, and lists that evidence too.
fn check_decided(device: &Value, field: &str, value: &str, evidence_field: &str, evidence: &str) {
    let d = &device["decided"][field];
    assert_eq!(d["value"], value, "{field} of {}", device["id"]);
    assert_eq!(d["evidence"]["field"], evidence_field, "{field}: {d}");
    assert_eq!(d["evidence"]["value"], evidence, "{field}: {d}");
    assert!(
        d["confidence"].as_f64().is_some_and(|c| c > 0.0) && d["rule"].is_string(),
        "{field}: {d}"
    );
    assert!(
        has_evidence(device, evidence_field, evidence),
        "{} lacks evidence {evidence_field}={evidence}",
        device["id"]
    );
}

/// The `key: value` pairs of a suricata-verify `test.yaml` whose key starts with `prefix`, quotes
/// taken off.
fn yaml_values(yaml: &str, prefix: &str) -> Vec<(String, String)> {
    yaml.lines()
        .filter_map(|l| l.trim().split_once(": "))
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

fn flows_with_app<'a>(report: &'a Value, app: &str) -> Vec<&'a Value> {
    report["flows"]
        .as_array()
        .expect("flows[]")
        .iter()
        .filter(|f| f["app"] == app)
        .collect()
}

#[test]
fn enip_list_identity_names_the_responder() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let dir = capture(&corpus, "suricata-verify/enip-log-identity/enip_test1.pcap");
    let yaml = std::fs::read_to_string(dir.with_file_name("test.yaml")).expect("test.yaml");
    let (report, _) = analyze(&dir);
    let flows = flows_with_app(&report, "enip");
    assert_eq!(flows.len(), 1, "one EtherNet/IP session");
    let responder = flows[0]["server"]["ip"].as_str().expect("server address");
    let device = device_at(&report, responder);
    // Suricata's `enip.response.identity.*` to our fields and the evidence behind them.
    let expected = yaml_values(&yaml, "enip.response.identity.");
    assert_eq!(expected.len(), 3, "{expected:?}");
    for (key, value) in &expected {
        let (field, evidence) = match key.as_str() {
            "enip.response.identity.revision" => ("software", "enip.revision"),
            "enip.response.identity.product_name" => ("model", "enip.product_name"),
            "enip.response.identity.vendor_id" => ("vendor", "enip.vendor"),
            other => panic!("test.yaml checks {other}, which this test does not map"),
        };
        check_decided(device, field, value, evidence, value);
    }
    assert_eq!(device["vendor"], "Rockwell Automation/Allen-Bradley");
    assert_eq!(device["model"], "1756-ENBT/A");
    assert_eq!(device["software"], serde_json::json!(["4.3"]));
    // A 1756-ENBT is a communications adapter (CIP device type 12).
    check_decided(
        device,
        "category",
        "network-device",
        "enip.device_type",
        "Communications Adapter",
    );
    assert!(has_evidence(device, "enip.serial", "0x00524d8e"));
    // The scanner learns nothing about itself from its own request.
    let scanner = device_at(&report, flows[0]["client"]["ip"].as_str().expect("client"));
    assert!(
        !scanner["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .any(|e| e["source"] == "enip"),
        "{scanner}"
    );
}

#[test]
fn snmp_agents_get_their_system_group_and_communities_stay_secret() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let (report, text) = analyze(&capture(&corpus, "ndpi/snmp.pcap"));
    // tshark: the get-responses with sysName, sysLocation and sysContact come from these two (v1 and
    // v2c); the v3 agents' answers are not read.
    let agents: BTreeSet<&str> = ["97.0.115.163", "130.70.149.185"].into();
    let named: BTreeSet<&str> = devices(&report)
        .iter()
        .filter(|d| has_evidence(d, "snmp.sys_name", "R1.lab.local"))
        .flat_map(|d| d["ips"].as_array().expect("ips").iter())
        .map(|i| i.as_str().expect("address"))
        .collect();
    assert_eq!(named, agents);
    for ip in &agents {
        let d = device_at(&report, ip);
        check_decided(d, "hostname", "R1", "snmp.sys_name", "R1.lab.local");
        assert_eq!(d["decided"]["hostname"]["rule"], "snmp-sysname");
        assert!(has_evidence(d, "snmp.sys_location", "GlobomanticsHQ"));
        assert!(has_evidence(d, "snmp.sys_contact", "nick@globomantics.com"));
    }
    // Managers learn nothing about themselves from their own requests.
    let manager = device_at(&report, "176.211.60.43");
    assert!(manager["hostname"].is_null(), "{manager}");

    // Every v1/v2c flow is an insecure-protocol finding naming the community's length only.
    let snmp_findings: Vec<&Value> = report["findings"]
        .as_array()
        .expect("findings[]")
        .iter()
        .filter(|f| f["title"].as_str().is_some_and(|t| t.starts_with("SNMP ")))
        .collect();
    assert!(!snmp_findings.is_empty());
    for f in &snmp_findings {
        assert_eq!(f["kind"], "insecure-protocol", "{f}");
        let detail = f["detail"].as_str().expect("detail");
        assert!(detail.contains(" bytes in cleartext"), "{detail}");
    }
    // The communities (tshark `snmp.community`: public, public2c, adsl) appear nowhere in the report.
    for community in ["public2c", "adsl", "\"public\"", " public "] {
        assert!(!text.contains(community), "the report spells {community}");
    }
}

#[test]
fn snmp_v2c_gets_are_snmp_flows_and_a_finding_without_the_community() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = capture(
        &corpus,
        "suricata-verify/snmp-v2c-get/SNMPv2c_get_requests.pcap",
    );
    let yaml = std::fs::read_to_string(path.with_file_name("test.yaml")).expect("test.yaml");
    let (report, text) = analyze(&path);
    // test.yaml: 8 v2c messages, four gets and their answers, all between the same two hosts.
    let flows = flows_with_app(&report, "snmp");
    assert_eq!(flows.len(), 4);
    let messages: u64 = flows
        .iter()
        .map(|f| f["packets"].as_u64().expect("packets"))
        .sum();
    assert_eq!(messages, 8);
    let agent = flows[0]["server"]["ip"].as_str().expect("agent");
    assert!(flows.iter().all(|f| f["server"]["ip"] == agent));
    let findings: Vec<&Value> = report["findings"]
        .as_array()
        .expect("findings[]")
        .iter()
        .filter(|f| f["kind"] == "insecure-protocol")
        .collect();
    assert_eq!(findings.len(), 4, "one per flow");
    let community = yaml_values(&yaml, "snmp.community")
        .first()
        .map(|(_, v)| v.clone())
        .expect("test.yaml names the community");
    for f in &findings {
        assert_eq!(f["device"], agent, "{f}");
        assert_eq!(
            f["title"],
            format!("SNMP v2c with a cleartext community on {agent}")
        );
        let detail = f["detail"].as_str().expect("detail");
        assert!(
            detail.contains(&format!("of {} bytes in cleartext", community.len())),
            "{detail}"
        );
    }
    assert!(
        !text.contains(&community),
        "the report spells the community"
    );
    // No system group was asked for: the agent keeps the category its MAC prefix gives.
    let d = device_at(&report, agent);
    assert!(
        !d["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .any(|e| e["source"] == "snmp"),
        "{d}"
    );
}

#[test]
fn a_dhcpv6_reply_gives_the_client_its_address() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let (report, _) = analyze(&capture(
        &corpus,
        "sanders/dhcp6_outlease_acquisition.pcapng",
    ));
    assert_eq!(devices(&report).len(), 2, "client and server, nothing else");
    let client = device_at(&report, "2001:db8:1:2::1002");
    assert_eq!(client["mac"], "00:0c:29:5e:77:44");
    assert!(
        client["ips"]
            .as_array()
            .expect("ips")
            .iter()
            .any(|i| i == "fe80::20c:29ff:fe5e:7744")
    );
    // tshark `dhcpv6.requested_option_code` and `dhcpv6.duid.bytes` of the Solicit.
    assert!(has_evidence(client, "dhcp6.params", "23,24,39,31"));
    assert!(has_evidence(
        client,
        "dhcp6.duid",
        "000100011def69bd000c295e7744"
    ));
    let server = device_at(&report, "fe80::20c:29ff:fe1f:a755");
    check_decided(server, "category", "server", "service", "dhcp-server");
}

#[test]
fn windows_dhcpv6_names_hosts_and_a_stale_duid_makes_no_device() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let (report, _) = analyze(&capture(
        &corpus,
        "suricata-verify/smb2-ntlmssp-negotiateflags/input.pcap",
    ));
    // tshark: fe80::78da:c04d:12da:8a08 (MAC 00:50:56:c0:00:01) solicits as "SCV" with vendor class
    // "MSFT 5.0", and its DUID-LLT names b8:88:e3:ab:83:79, which sends nothing in the capture.
    let scv = device_at(&report, "fe80::78da:c04d:12da:8a08");
    assert_eq!(scv["mac"], "00:50:56:c0:00:01");
    check_decided(scv, "hostname", "SCV", "dhcp6.fqdn", "SCV");
    check_decided(
        scv,
        "category",
        "workstation",
        "dhcp6.vendor_class",
        "MSFT 5.0",
    );
    assert!(has_evidence(scv, "dhcp6.params", "24,23,17,39"));
    assert!(
        devices(&report)
            .iter()
            .all(|d| d["mac"] != "b8:88:e3:ab:83:79"),
        "a stale DUID is not a device"
    );
    // DHCPv4 and DHCPv6 agree on the other two hosts.
    for (ip, name) in [
        ("fe80::31cb:26de:c5bb:c367", "DESKTOP-2AEFM7G"),
        ("fe80::65b5:3a97:92d1:9199", "DESKTOP-V1FA0UQ"),
    ] {
        let d = device_at(&report, ip);
        assert_eq!(d["hostname"], name);
        assert!(has_evidence(d, "dhcp6.fqdn", name), "{d}");
    }
}

#[test]
fn netbios_names_and_browser_announcements_identify_windows_hosts() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let (report, _) = analyze(&capture(&corpus, "ndpi/netbios.pcap"));
    // Frames 20 and 113: host announcements from 10.0.5.9 "NVR9" and 10.0.5.93 "BOWIE", OS 6.1,
    // server type "Workstation, Server, SQL Server, NT Workstation, Potential Browser" (no NT server
    // bit: a workstation edition).
    for (ip, name) in [("10.0.5.9", "NVR9"), ("10.0.5.93", "BOWIE")] {
        let d = device_at(&report, ip);
        check_decided(d, "hostname", name, "netbios.name", name);
        check_decided(
            d,
            "software",
            "Windows 7 or Server 2008 R2",
            "netbios.os_version",
            "6.1",
        );
        check_decided(
            d,
            "category",
            "workstation",
            "netbios.server_type",
            "workstation",
        );
        assert!(
            flows_with_app(&report, "netbios")
                .iter()
                .any(|f| f["client"]["ip"] == ip),
            "{ip} sends on a netbios flow"
        );
    }
    // Frame 55: a node status response from 10.0.4.24 lists GUNNAR<00>, VIGILANT_GROUP<00> (a
    // group) and GUNNAR<20>; frame 69 answers a query for GUNNAR<00> with 10.0.4.24.
    let gunnar = device_at(&report, "10.0.4.24");
    check_decided(gunnar, "hostname", "GUNNAR", "netbios.name", "GUNNAR");
    assert!(has_evidence(gunnar, "netbios.workgroup", "VIGILANT_GROUP"));
    assert!(!has_evidence(gunnar, "netbios.name", "VIGILANT_GROUP"));
    // Frame 107: 10.0.5.1 answers for GURU<00>, its own name.
    check_decided(
        device_at(&report, "10.0.5.1"),
        "hostname",
        "GURU",
        "netbios.name",
        "GURU",
    );
    // The hosts that only ask (10.0.4.131 for XSTREAM_HY, 10.0.5.233 for OZI<1c>) are not named
    // by what they ask for.
    for ip in ["10.0.4.131", "10.0.5.233"] {
        assert!(device_at(&report, ip)["hostname"].is_null(), "{ip}");
    }
}

#[test]
fn an_ssdp_search_says_what_the_searcher_runs() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let (report, _) = analyze(&capture(&corpus, "ndpi/ssdp-m-search-ua.pcap"));
    assert_eq!(flows_with_app(&report, "ssdp").len(), 1);
    let d = device_at(&report, "192.168.242.50");
    let ua = "Google Chrome/99.0.4844.74 Mac OS X";
    check_decided(d, "software", "macOS", "ssdp.user_agent", ua);
    check_decided(d, "category", "workstation", "ssdp.user_agent", ua);
    // The multicast group searched is no device.
    assert_eq!(devices(&report).len(), 1);
}

#[test]
fn a_gateways_arp_address_is_its_own_and_browser_names_end_at_their_nul() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let (report, _) = analyze(&capture(&corpus, "suricata-verify/sip-user-agent/sip.pcap"));
    // The gateway carries six public peers' traffic (a router) and claims 192.168.1.1 in ARP: one
    // device with its address and its DNS and DHCP service, not a second made of the address.
    let gw = device_at(&report, "192.168.1.1");
    assert_eq!(gw["mac"], "00:30:54:00:34:56");
    assert_eq!(gw["category"], "network-device");
    assert!(has_evidence(gw, "service", "dhcp-server"), "{gw}");
    assert_eq!(devices(&report).len(), 3);
    // tshark: LAB111, OS 5.1 (its name field: "LAB111", NULs, then 0f b2 ef cd 68 22).
    let lab = device_at(&report, "192.168.1.41");
    check_decided(lab, "hostname", "LAB111", "netbios.name", "LAB111");
    check_decided(lab, "software", "Windows XP", "netbios.os_version", "5.1");
    let names: Vec<&Value> = lab["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["field"] == "netbios.name")
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // D002465, OS 5.0: its DHCP hostname (0.9) stays the name, the version is Windows 2000.
    let d = device_at(&report, "192.168.1.2");
    assert_eq!(d["hostname"], "d002465");
    assert!(has_evidence(d, "netbios.name", "D002465"));
    check_decided(d, "software", "Windows 2000", "netbios.os_version", "5.0");
}

/// suricata-verify's `dhcp-eve-extended` (nas1's request) and `dhcp-eve-extended-option-60` (a
/// Windows request naming NicksMacBook in options 12 and 81): tshark 4.0.17 reads client identifiers
/// of type 1 with the clients' MACs (`dhcp.client_id.type`, `dhcp.hw.mac_addr`) and the option 81
/// name (`dhcp.fqdn.name`).
#[test]
fn dhcp_client_identifier_and_fqdn_are_evidence() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let (report, _) = analyze(&capture(
        &corpus,
        "suricata-verify/dhcp-eve-extended-option-60/input.pcap",
    ));
    let mac = devices(&report)
        .iter()
        .find(|d| d["mac"] == "28:cf:da:dc:8d:76")
        .expect("the client");
    assert!(has_evidence(mac, "dhcp.fqdn", "NicksMacBook"), "{mac}");
    assert!(
        has_evidence(mac, "dhcp.client_id", "01:28:cf:da:dc:8d:76"),
        "{mac}"
    );
    // Option 12 (0.9) names it; option 81 (0.85) agrees.
    check_decided(
        mac,
        "hostname",
        "NicksMacBook",
        "dhcp.hostname",
        "NicksMacBook",
    );
    let (report, _) = analyze(&capture(
        &corpus,
        "suricata-verify/dhcp-eve-extended/input.pcap",
    ));
    let nas = devices(&report)
        .iter()
        .find(|d| d["mac"] == "00:11:32:17:49:f0")
        .expect("nas1");
    assert!(
        has_evidence(nas, "dhcp.client_id", "01:00:11:32:17:49:f0"),
        "{nas}"
    );
}

/// DHCP relayed by the switch the client is plugged into (RFC 3046): the relay agent information
/// says where the device is (Cisco's default circuit id: VLAN, module and port; the remote id: the
/// switch's MAC), evidence about the client, whose own frames never reach the capture; the
/// server's Ack gives it its address. Built with synth's DHCP messages; tshark reads the same option.
#[test]
fn a_relay_agent_says_which_switch_port_a_device_is_on() {
    use synth::payload::dhcp::{self, ClientInfo, Lease, MessageType};
    use synth::pcapw::{Format, PcapWriter};
    use synth::wire::{self, Ip, L2L3, Transport};
    const PUMP: [u8; 6] = [0x00, 0x1f, 0x11, 0, 0, 0x21];
    const SWITCH: [u8; 6] = [0x00, 0x1f, 0x11, 0, 0, 0x80];
    const SERVER: [u8; 6] = [0x00, 0x1f, 0x11, 0, 0, 0x02];
    let relay = L2L3 {
        mac: SWITCH,
        ip: Ip::V4([10, 20, 32, 1]),
        vlan: None,
    };
    let server = L2L3 {
        mac: SERVER,
        ip: Ip::V4([10, 20, 0, 2]),
        vlan: None,
    };
    let dir = testkit::Scratch::new("dhcp-relay");
    let path = dir.path("relay.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap(), Format::Pcap).unwrap();
    let bootps = Transport::Udp {
        sport: 67,
        dport: 67,
    };
    let client = ClientInfo {
        mac: PUMP,
        hostname: "pump-0042",
        vendor_class: "",
        param_list: &[1, 3, 6, 15],
        client_id: false,
    };
    let mut request = Vec::new();
    let req = MessageType::Request;
    dhcp::client(
        &mut request,
        req,
        42,
        0,
        &client,
        Some([10, 20, 32, 42]),
        None,
    );
    let circuit = [0, 4, 0, 32, 1, 5];
    let remote = [&[0, 6][..], &SWITCH].concat();
    dhcp::relay(&mut request, [10, 20, 32, 1], &circuit, &remote);
    let to_server = |b: &mut Vec<u8>, msg: &[u8]| {
        wire::frame(b, &relay, SERVER, server.ip, 1, 64, &bootps, msg);
    };
    to_server(w.begin(), &request);
    w.end(1_700_000_000_000_000, None).unwrap();
    let lease = Lease {
        yiaddr: [10, 20, 32, 42],
        server: [10, 20, 0, 2],
        mask: [255, 255, 255, 0],
        router: [10, 20, 32, 1],
        dns: [10, 20, 0, 2],
        domain: "",
        lease_secs: 3600,
    };
    let mut ack = Vec::new();
    dhcp::server(&mut ack, MessageType::Ack, 42, PUMP, &lease);
    wire::frame(w.begin(), &server, SWITCH, relay.ip, 2, 64, &bootps, &ack);
    w.end(1_700_000_000_001_000, None).unwrap();
    w.finish().unwrap();

    let (report, _) = analyze(&path);
    let pump = devices(&report)
        .iter()
        .find(|d| d["mac"] == "00:1f:11:00:00:21")
        .expect("the pump, from the relayed request");
    assert_eq!(pump["ips"], serde_json::json!(["10.20.32.42"]));
    assert_eq!(pump["hostname"], "pump-0042");
    assert!(
        has_evidence(pump, "dhcp.relay.circuit_id", "vlan 32 module 1 port 5"),
        "{pump}"
    );
    assert!(
        has_evidence(pump, "dhcp.relay.remote_id", "00:1f:11:00:00:80"),
        "{pump}"
    );
    // Saved, `inventory show` says where the pump is plugged in.
    let db = dir.path("inv.db");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_medsentry"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (p, d) = (path.to_str().unwrap(), db.to_str().unwrap());
    run(&["analyze", "--no-progress", "--format", "json", "--db", d, p]);
    let shown = run(&["inventory", "--db", d, "show", "mac-001f11000021"]);
    assert!(
        shown.contains("plugged into vlan 32 module 1 port 5 of 00:1f:11:00:00:80 (as its DHCP"),
        "{shown}"
    );
    // The switch relayed; the location is the pump's, not the switch's.
    let switch = devices(&report)
        .iter()
        .find(|d| d["mac"] == "00:1f:11:00:00:80")
        .expect("the switch");
    assert!(!has_evidence(
        switch,
        "dhcp.relay.circuit_id",
        "vlan 32 module 1 port 5"
    ));

    let Some(tshark) = testkit::tshark() else {
        return;
    };
    let out = Command::new(tshark)
        .arg("-r")
        .arg(&path)
        .args(["-Y", "frame.number == 1", "-T", "fields"])
        .args(["-e", "dhcp.hw.mac_addr", "-e", "dhcp.ip.relay"])
        .args([
            "-e",
            "dhcp.option.agent_information_option.agent_circuit_id",
        ])
        .args(["-e", "dhcp.option.agent_information_option.agent_remote_id"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "00:1f:11:00:00:21\t10.20.32.1\t000400200105\t0006001f11000080\n",
        "tshark"
    );
}

/// QUIC: the client's Initial packet is decrypted with the keys its connection id gives (RFC 9001),
/// and the TLS hello inside is evidence as over TCP: SNI, ALPN and JA3 as tshark reads them
/// (`tls.handshake.extensions_server_name`, `tls.handshake.ja3`), JA4 with QUIC's `q` (tshark
/// 4.0 has no JA4); the server's Initial gives the version it chose. The flow is `quic`, encrypted.
#[test]
fn the_tls_hello_inside_quic_is_evidence_as_tshark_reads_it() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = capture(&corpus, "suricata-verify/quic-ietf-ja3/input.pcap");
    let (report, _) = analyze(&path);
    let client = device_at(&report, "10.168.234.1");
    let server = device_at(&report, "138.91.188.147");
    let value = testkit::evidence_values;
    let ja4 = value(client, "tls.ja4");
    assert!(ja4.len() == 1 && ja4[0].starts_with('q'), "{ja4:?}");
    assert_eq!(value(server, "tls.server_version"), ["TLS 1.3"]);
    let flows = report["flows"].as_array().unwrap();
    assert!(
        flows
            .iter()
            .all(|f| f["app"] == "quic" && f["encrypted"] == true),
        "{flows:?}"
    );
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    let out = Command::new(tshark)
        .arg("-r")
        .arg(&path)
        .args(["-Y", "tls.handshake.type == 1", "-T", "fields"])
        .args(["-e", "tls.handshake.extensions_server_name"])
        .args([
            "-e",
            "tls.handshake.ja3",
            "-e",
            "tls.handshake.extensions_alpn_str",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let want: Vec<&str> = text.trim_end().split('\t').collect();
    assert_eq!(want.len(), 3, "tshark: {text}");
    assert_eq!(value(client, "tls.sni"), [want[0]]);
    assert_eq!(value(client, "tls.ja3"), [want[1]]);
    assert_eq!(value(client, "tls.alpn"), [want[2]]);
}

/// NTLMSSP in SMB session setup: each message's OS version is its sender's evidence, with the
/// server's computer name from its challenge and the client's workstation name from its
/// authentication, as tshark reads them (`ntlmssp.version.*`, `ntlmssp.auth.hostname`,
/// `ntlmssp.challenge.target_info.nb_computer_name`); the build names the Windows release.
#[test]
fn ntlm_in_smb_names_windows_hosts_and_their_release() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let path = capture(
        &corpus,
        "suricata-verify/smb2-ntlmssp-negotiateflags/input.pcap",
    );
    let (report, _) = analyze(&path);
    let server = device_at(&report, "192.168.199.1");
    assert_eq!(
        server["software"],
        serde_json::json!(["Windows 8.1 or Server 2012 R2"])
    );
    let client = device_at(&report, "192.168.199.132");
    assert_eq!(client["software"], serde_json::json!(["Windows 10 1511"]));
    assert_eq!(client["decided"]["software"]["rule"], "ntlm-10-0-10586");
    assert_eq!(client["hostname"], "DESKTOP-2AEFM7G");
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    let out = Command::new(tshark)
        .arg("-r")
        .arg(&path)
        .args(["-Y", "ntlmssp.messagetype", "-T", "fields"])
        .args(["-e", "ip.src", "-e", "ntlmssp.version.major"])
        .args([
            "-e",
            "ntlmssp.version.minor",
            "-e",
            "ntlmssp.version.build_number",
        ])
        .args(["-e", "ntlmssp.auth.hostname"])
        .args(["-e", "ntlmssp.challenge.target_info.nb_computer_name"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    for line in text.lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let d = device_at(&report, c[0]);
        let version = format!("{}.{}.{}", c[1], c[2], c[3]);
        assert!(has_evidence(d, "ntlm.os_version", &version), "{line}");
        if !c[4].is_empty() {
            assert!(has_evidence(d, "ntlm.workstation", c[4]), "{line}");
        }
        if !c[5].is_empty() {
            assert!(has_evidence(d, "ntlm.computer_name", c[5]), "{line}");
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} NTLMSSP messages: {text}");
}

/// A TLS version's name as the evidence gives it.
fn tls_version_name(v: u16) -> String {
    match v {
        0x0304 => "TLS 1.3".into(),
        0x0303 => "TLS 1.2".into(),
        0x0302 => "TLS 1.1".into(),
        0x0301 => "TLS 1.0".into(),
        0x0300 => "SSL 3.0".into(),
        other => format!("0x{other:04x}"),
    }
}

/// Every suricata-verify capture with a TLS hello: the versions a client offers (the highest
/// non-GREASE `supported_versions` entry, else the hello's version), the one a server picks, and
/// the client's ALPN list are the device's evidence, as tshark reads them (`tls.handshake.version`,
/// `tls.handshake.extensions.supported_version`, `tls.handshake.extensions_alpn_str`), the hellos
/// inside QUIC Initial packets included (`quic-ietf-ja3`: tshark decrypts them as we do). Left out,
/// and said so: SSLv2-format client hellos (record version 0x0002, from which tshark computes no
/// JA3 either; glupteba's malware sends one).
#[test]
fn tls_versions_and_alpn_are_evidence_as_tshark_reads_them() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    let captures = testkit::captures_under(&corpus.join("pcap/suricata-verify"));
    let fields = [
        "ip.src",
        "ipv6.src",
        "tls.record.version",
        "tls.handshake.type",
        "tls.handshake.version",
        "tls.handshake.extensions.supported_version",
        "tls.handshake.extensions_alpn_str",
    ];
    let hex = |s: &str| -> Vec<u16> {
        s.split(',')
            .filter_map(|x| u16::from_str_radix(x.trim_start_matches("0x"), 16).ok())
            .collect()
    };
    let mut compared = 0;
    for path in &captures {
        let mut cmd = Command::new(tshark);
        cmd.arg("-r").arg(path);
        cmd.args(["-Y", "tls.handshake.type == 1 || tls.handshake.type == 2"]);
        cmd.args(["-T", "fields"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let text = String::from_utf8(cmd.output().expect("tshark").stdout).expect("UTF-8");
        if text.trim().is_empty() {
            continue;
        }
        let mut want: std::collections::BTreeMap<String, BTreeSet<(String, String)>> =
            Default::default();
        for line in text.lines() {
            let c: Vec<&str> = line.split('\t').collect();
            let at = |i: usize| c.get(i).copied().unwrap_or("");
            let ip = if at(0).is_empty() { at(1) } else { at(0) };
            let types: Vec<&str> = at(3).split(',').collect();
            let versions = hex(at(4));
            let supported: Vec<u16> = hex(at(5))
                .into_iter()
                .filter(|v| v & 0x0f0f != 0x0a0a)
                .collect();
            let w = want.entry(ip.to_string()).or_default();
            if types.contains(&"1") && !at(2).split(',').any(|v| v == "0x0002") {
                let v = supported
                    .iter()
                    .copied()
                    .max()
                    .or(versions.first().copied());
                w.insert((
                    "tls.client_version".into(),
                    tls_version_name(v.expect("version")),
                ));
                if !at(6).is_empty() {
                    w.insert(("tls.alpn".into(), at(6).to_string()));
                }
            }
            if types.contains(&"2") {
                let v = supported.first().or(versions.last()).copied();
                w.insert((
                    "tls.server_version".into(),
                    tls_version_name(v.expect("version")),
                ));
            }
        }
        let (report, _) = analyze(path);
        for (ip, w) in want {
            let Some(d) = devices(&report).iter().find(|d| {
                d["ips"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|i| i == ip.as_str()))
            }) else {
                continue;
            };
            let got: BTreeSet<(String, String)> = d["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| {
                    ["tls.client_version", "tls.server_version", "tls.alpn"]
                        .contains(&e["field"].as_str().unwrap_or(""))
                })
                .map(|e| {
                    let s = |k: &str| e[k].as_str().unwrap().to_string();
                    (s("field"), s("value"))
                })
                .collect();
            assert_eq!(got, w, "{} {ip}", path.display());
            compared += 1;
        }
    }
    assert!(compared >= 50, "{compared} devices compared");
}
