//! Devices seen only in ARP (and IPv6 Neighbor Discovery): the real binary on real and hand-made
//! captures, checked through the JSON report's `devices[]`.
//!
//! A device that opens no connection still answers ARP (an idle infusion pump, a monitor between
//! patients): the sender of every Ethernet/IPv4 ARP packet is on the captured segment, with the
//! address it says it has. Captures under the corpus's `pcap/`, read with tshark 4.0.17
//! (`arp.src.hw_mac`, `arp.src.proto_ipv4`, `eth.src`, `vlan.id`): Chris Sanders'
//! `sanders/arp_resolution.pcapng` (00:16:ce:6e:8b:24 at 192.168.0.114 asks for 192.168.0.1;
//! 00:13:46:0b:22:ba answers), `sanders/arp_gratuitous.pcapng` (00:03:47:b7:f2:f5 announces
//! 24.6.125.19), and suricata-verify's `arp/detect-arp-01` (98:90:96:a0:44:ea at 192.168.169.4) and
//! `arp/detect-arp-03-vlan` (QinQ-tagged requests whose ARP sender, 18:60:24:8d:97:ba at 10.204.1.5,
//! is not the frame's source, 00:01:02:03:04:05).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use synth::pcapw::{Format, PcapWriter};
use synth::wire::{self, Ip, L2L3, Transport};

fn analyze(path: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args(["analyze", "--format", "json", "--no-progress"])
        .arg(path)
        .output()
        .expect("run medsentry");
    assert!(
        out.status.success(),
        "medsentry analyze {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report is JSON")
}

/// Each device as (MAC, addresses).
fn devices(report: &Value) -> Vec<(String, Vec<String>)> {
    let mut all: Vec<(String, Vec<String>)> = report["devices"]
        .as_array()
        .expect("devices[]")
        .iter()
        .map(|d| {
            let ips = d["ips"].as_array().expect("ips[]");
            (
                d["mac"].as_str().unwrap_or("").to_string(),
                ips.iter()
                    .map(|i| i.as_str().expect("ip").to_string())
                    .collect(),
            )
        })
        .collect();
    all.sort();
    all
}

/// Devices as the tests write them: each MAC with its addresses.
type Want<'a> = &'a [(&'a str, &'a [&'a str])];

fn owned(list: Want<'_>) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = list
        .iter()
        .map(|(m, ips)| (m.to_string(), ips.iter().map(|s| s.to_string()).collect()))
        .collect();
    v.sort();
    v
}

#[test]
fn arp_senders_in_real_captures_are_devices() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let cases: [(&str, Want<'_>); 4] = [
        (
            "sanders/arp_resolution.pcapng",
            &[
                ("00:13:46:0b:22:ba", &["192.168.0.1"]),
                ("00:16:ce:6e:8b:24", &["192.168.0.114"]),
            ],
        ),
        // A public address, but announced on the segment by its own MAC: a device of ours.
        (
            "sanders/arp_gratuitous.pcapng",
            &[("00:03:47:b7:f2:f5", &["24.6.125.19"])],
        ),
        (
            "suricata-verify/arp/detect-arp-01/input.pcap",
            &[("98:90:96:a0:44:ea", &["192.168.169.4"])],
        ),
        // tshark decodes the claim as 18:60:24:8d:97:ba at 10.204.1.5, but every frame comes from
        // 00:01:02:03:04:05: the frame's sender is on the segment, the claim is not taken at its
        // word (it is what a spoofer sends), and 18:60:24:8d:97:ba is not a device.
        (
            "suricata-verify/arp/detect-arp-03-vlan/input.pcap",
            &[("00:01:02:03:04:05", &[])],
        ),
    ];
    for (rel, want) in cases {
        let path = corpus.join("pcap").join(rel);
        assert!(path.is_file(), "{} is missing", path.display());
        assert_eq!(devices(&analyze(&path)), owned(want), "{rel}");
    }
    // A registered prefix gives the MAC's vendor as evidence (IEEE: 98:90:96 is Dell).
    let report = analyze(&corpus.join("pcap/suricata-verify/arp/detect-arp-01/input.pcap"));
    assert_eq!(report["devices"][0]["vendor"], "Dell");
}

/// A capture written frame by frame, a millisecond apart from 2023-11-14T22:13:20Z.
struct Frames {
    w: PcapWriter<std::fs::File>,
    t: i64,
}

impl Frames {
    fn create(path: &Path) -> Frames {
        let file = std::fs::File::create(path).unwrap();
        Frames {
            w: PcapWriter::new(file, Format::Pcap).unwrap(),
            t: 1_700_000_000_000_000,
        }
    }

    /// The next frame, as `build` writes it.
    fn put(&mut self, build: impl FnOnce(&mut Vec<u8>)) {
        build(self.w.begin());
        self.t += 1000;
        self.w.end(self.t, None).unwrap();
    }

    fn finish(self) {
        self.w.finish().unwrap();
    }
}

const PUMP: [u8; 6] = [0x00, 0x1f, 0x11, 0x00, 0x00, 0x01];
const MONITOR: [u8; 6] = [0x00, 0x1f, 0x11, 0x00, 0x00, 0x02];
const SERVER: [u8; 6] = [0x00, 0x1f, 0x11, 0x00, 0x00, 0x03];
const NEWCOMER: [u8; 6] = [0x00, 0x1f, 0x11, 0x00, 0x00, 0x04];
const SPOOFER: [u8; 6] = [0x00, 0x1f, 0x11, 0x00, 0x00, 0x05];
const BROADCAST: [u8; 6] = [0xff; 6];

/// An Ethernet frame carrying ARP: `op`, sender MAC and address, target MAC and address, from
/// `src` (the frame's source), with `hw` as the hardware type (1 is Ethernet).
#[allow(clippy::too_many_arguments)]
fn arp(
    out: &mut Vec<u8>,
    src: [u8; 6],
    op: u16,
    hw: u16,
    smac: [u8; 6],
    sip: [u8; 4],
    tmac: [u8; 6],
    tip: [u8; 4],
) {
    out.extend_from_slice(&BROADCAST);
    out.extend_from_slice(&src);
    out.extend_from_slice(&[0x08, 0x06]);
    out.extend_from_slice(&hw.to_be_bytes());
    out.extend_from_slice(&[0x08, 0x00, 6, 4]);
    out.extend_from_slice(&op.to_be_bytes());
    out.extend_from_slice(&smac);
    out.extend_from_slice(&sip);
    out.extend_from_slice(&tmac);
    out.extend_from_slice(&tip);
    out.extend_from_slice(&[0; 18]);
}

#[test]
fn a_device_that_only_answers_arp_is_in_the_inventory() {
    let dir = testkit::Scratch::new("arp-only");
    let path = dir.path("arp.pcap");
    let mut w = Frames::create(&path);
    // The monitor asks for the pump; the pump answers, and never sends anything else.
    w.put(|b| {
        arp(
            b,
            MONITOR,
            1,
            1,
            MONITOR,
            [10, 1, 0, 2],
            [0; 6],
            [10, 1, 0, 1],
        )
    });
    w.put(|b| arp(b, PUMP, 2, 1, PUMP, [10, 1, 0, 1], MONITOR, [10, 1, 0, 2]));
    // The monitor also talks to the server over UDP: one device, from both kinds of frame.
    let monitor = L2L3 {
        mac: MONITOR,
        ip: Ip::V4([10, 1, 0, 2]),
        vlan: None,
    };
    let udp = Transport::Udp {
        sport: 40000,
        dport: 9999,
    };
    w.put(|b| {
        wire::frame(
            b,
            &monitor,
            SERVER,
            Ip::V4([10, 1, 0, 3]),
            1,
            64,
            &udp,
            b"x",
        );
    });
    // A newcomer probes for its address before taking it (RFC 5227): its MAC, no address yet.
    w.put(|b| arp(b, NEWCOMER, 1, 1, NEWCOMER, [0; 4], [0; 6], [10, 1, 0, 9]));
    // A frame from the spoofer claims the server's address for another MAC: the spoofer is seen,
    // the claim is not.
    w.put(|b| {
        arp(
            b,
            SPOOFER,
            2,
            1,
            [0x00, 0x1f, 0x11, 0, 0, 0x66],
            [10, 1, 0, 3],
            MONITOR,
            [10, 1, 0, 2],
        )
    });
    // Not Ethernet/IPv4 ARP (hardware type 6, IEEE 802): no device from it.
    w.put(|b| {
        arp(
            b,
            [0x00, 0x1f, 0x11, 0, 0, 0x77],
            1,
            6,
            [0x00, 0x1f, 0x11, 0, 0, 0x77],
            [10, 1, 0, 7],
            [0; 6],
            [10, 1, 0, 1],
        )
    });
    w.finish();

    let report = analyze(&path);
    assert_eq!(
        devices(&report),
        owned(&[
            ("00:1f:11:00:00:01", &["10.1.0.1"]),
            ("00:1f:11:00:00:02", &["10.1.0.2"]),
            // The server never sends, but the monitor's frames are addressed to its MAC.
            ("00:1f:11:00:00:03", &["10.1.0.3"]),
            ("00:1f:11:00:00:04", &[]),
            ("00:1f:11:00:00:05", &[]),
        ])
    );
    // Every frame is counted; the ARP ones among the non-IP.
    assert_eq!(report["summary"]["packets"], 6, "{}", report["summary"]);
    let pump = &report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["mac"] == "00:1f:11:00:00:01")
        .unwrap();
    // Its times are the ARP reply's.
    assert_eq!(pump["first_seen"], pump["last_seen"]);
    assert_eq!(pump["first_seen"], "2023-11-14T22:13:20.002000Z");
    // --no-inventory: no devices, ARP or not.
    let out = Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args([
            "analyze",
            "--format",
            "json",
            "--no-progress",
            "--no-inventory",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let bare: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bare["devices"], Value::Array(vec![]));
}

/// IPv6 Neighbor Discovery, IPv6's ARP, built with synth's frames and read back by tshark: a host's
/// duplicate address detection and advertisement make its address its own; a router's advertisement
/// makes it a router, whose routed traffic names other devices (a device behind it by its address, a
/// public peer none); an advertisement that gives another MAC than its frame's, or that answers for
/// another address (no override flag: a proxy's), claims nothing.
#[test]
fn neighbor_discovery_claims_addresses_and_names_routers() {
    const HOST: [u8; 6] = [0x00, 0x1f, 0x11, 0, 0, 0x10];
    const ROUTER: [u8; 6] = [0x00, 0x1f, 0x11, 0, 0, 0x11];
    const LIAR: [u8; 6] = [0x00, 0x1f, 0x11, 0, 0, 0x12];
    const PROXY: [u8; 6] = [0x00, 0x1f, 0x11, 0, 0, 0x13];
    let octets = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
    let v6 = |s: &str| Ip::V6(octets(s));
    let dir = testkit::Scratch::new("ndp");
    let path = dir.path("ndp.pcap");
    let mut w = Frames::create(&path);
    let host = L2L3 {
        mac: HOST,
        ip: v6("fd00:10:20:10::5"),
        vlan: None,
    };
    w.put(|b| {
        wire::dad_solicitation(b, &host);
    });
    w.put(|b| {
        wire::unsolicited_advertisement(b, &host, false);
    });
    w.put(|b| {
        wire::router_advertisement(b, ROUTER, None, octets("fd00:10:20:10::"));
    });
    // Routed traffic: a device on another subnet, and a public peer, both behind the router's MAC.
    let udp = Transport::Udp {
        sport: 40000,
        dport: 9999,
    };
    for remote in ["fd00:10:99::7", "2001:db8::7"] {
        let from = L2L3 {
            mac: ROUTER,
            ip: v6(remote),
            vlan: None,
        };
        w.put(|b| {
            wire::frame(b, &from, HOST, host.ip, 0, 63, &udp, b"x");
        });
    }
    // An advertisement for an address, naming a MAC that is not its frame's; one without the override
    // flag (a proxy answering for another).
    let na = |b: &mut Vec<u8>, from: [u8; 6], target: &str, flags: u8, lla: [u8; 6]| {
        // From the sender's own link-local address, as Neighbor Discovery is sent.
        let src = L2L3 {
            mac: from,
            ip: Ip::V6(wire::link_local(from)),
            vlan: None,
        };
        let mut body = vec![flags, 0, 0, 0];
        body.extend_from_slice(&octets(target));
        body.extend_from_slice(&[2, 1]);
        body.extend_from_slice(&lla);
        let icmp = Transport::Icmp6 {
            icmp_type: 136,
            code: 0,
        };
        let all = v6("ff02::1");
        wire::frame(
            b,
            &src,
            wire::multicast_mac_v6(octets("ff02::1")),
            all,
            0,
            255,
            &icmp,
            &body,
        );
    };
    w.put(|b| na(b, LIAR, "fd00:10:20:10::99", 0x20, HOST));
    w.put(|b| na(b, PROXY, "fd00:10:20:10::98", 0x40, PROXY));
    w.finish();

    let report = analyze(&path);
    let ll = |m: [u8; 6]| std::net::Ipv6Addr::from(wire::link_local(m)).to_string();
    let (router, liar, proxy) = (ll(ROUTER), ll(LIAR), ll(PROXY));
    assert_eq!(
        devices(&report),
        owned(&[
            ("00:1f:11:00:00:10", &["fd00:10:20:10::5"]),
            ("00:1f:11:00:00:11", &[router.as_str()]),
            ("00:1f:11:00:00:12", &[liar.as_str()]),
            ("00:1f:11:00:00:13", &[proxy.as_str()]),
            ("", &["fd00:10:99::7"]),
        ])
    );

    // tshark reads the same messages: types, targets, link-layer options, and valid checksums.
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    let out = Command::new(tshark)
        .arg("-r")
        .arg(&path)
        .args([
            "-Y",
            "icmpv6.type >= 133 && icmpv6.type <= 136",
            "-T",
            "fields",
        ])
        .args([
            "-e",
            "eth.src",
            "-e",
            "icmpv6.type",
            "-e",
            "icmpv6.nd.ns.target_address",
        ])
        .args([
            "-e",
            "icmpv6.nd.na.target_address",
            "-e",
            "icmpv6.nd.na.flag.o",
        ])
        .args(["-e", "icmpv6.opt.linkaddr", "-e", "icmpv6.checksum.status"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "00:1f:11:00:00:10\t135\tfd00:10:20:10::5\t\t\t\t1\n\
         00:1f:11:00:00:10\t136\t\tfd00:10:20:10::5\t1\t00:1f:11:00:00:10\t1\n\
         00:1f:11:00:00:11\t134\t\t\t\t00:1f:11:00:00:11\t1\n\
         00:1f:11:00:00:12\t136\t\tfd00:10:20:10::99\t1\t00:1f:11:00:00:10\t1\n\
         00:1f:11:00:00:13\t136\t\tfd00:10:20:10::98\t0\t00:1f:11:00:00:13\t1\n",
        "tshark"
    );
}
