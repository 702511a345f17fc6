//! LLDP, LLDP-MED and CDP end to end: frames built here (field by field after IEEE 802.1AB,
//! ANSI/TIA-1057 and Cisco's CDP documentation; the corpus has no LLDP or CDP capture), read by the
//! real binary through its JSON report, and by tshark as the reference for what the frames say.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use synth::payload::lldp::{self, cdp_frame, lldp_frame, med, tlv};
use synth::pcapw::{Format, PcapWriter};
use synth::wire::{self, Ip, L2L3, Transport};

const MONITOR: [u8; 6] = [0x00, 0x1f, 0x11, 0x00, 0x00, 0x02];
const SWITCH_PORT: [u8; 6] = [0x00, 0x1f, 0x11, 0x00, 0x00, 0x81];
const SWITCH_BASE: [u8; 6] = [0x00, 0x1f, 0x11, 0x00, 0x00, 0x80];
const IOS: &str = "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11";

fn monitor_tlvs() -> Vec<Vec<u8>> {
    vec![
        lldp::chassis_mac(MONITOR),
        tlv(2, b"\x07eth0"),
        lldp::ttl(120),
        lldp::system_name("ICU-BED-07"),
        lldp::system_description("VitalView 9 patient monitor"),
        lldp::capabilities(lldp::CAP_STATION, lldp::CAP_STATION),
        lldp::management_v4([10, 3, 0, 17].into()),
        med(9, "Acme Medical"),
        med(10, "VitalView 9"),
        med(7, "L.01.02"),
        med(8, "SN12345"),
        med(11, "BME-004711"),
    ]
}

/// A switch that could route but only bridges.
fn switch_tlvs() -> Vec<Vec<u8>> {
    vec![
        lldp::chassis_mac(SWITCH_BASE),
        lldp::port_name("Gi0/14"),
        lldp::ttl(120),
        lldp::system_name("icu-sw-3.hospital.example"),
        lldp::system_description(IOS),
        lldp::capabilities(lldp::CAP_BRIDGE | lldp::CAP_ROUTER, lldp::CAP_BRIDGE),
    ]
}

fn write_capture(path: &Path) {
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap(), Format::Pcap).unwrap();
    let mut t = 1_700_000_000_000_000i64;
    let mut put = |w: &mut PcapWriter<std::fs::File>, build: &dyn Fn(&mut Vec<u8>)| {
        build(w.begin());
        t += 30_000_000;
        w.end(t, None).unwrap();
    };
    put(&mut w, &|b| lldp_frame(b, MONITOR, None, &monitor_tlvs()));
    put(&mut w, &|b| {
        lldp_frame(b, SWITCH_PORT, Some(20), &switch_tlvs())
    });
    // The monitor's own traffic: the same device by its MAC, now with its address.
    let monitor = L2L3 {
        mac: MONITOR,
        ip: Ip::V4([10, 3, 0, 17]),
        vlan: None,
    };
    let udp = Transport::Udp {
        sport: 40000,
        dport: 9999,
    };
    put(&mut w, &|b| {
        wire::frame(
            b,
            &monitor,
            SWITCH_PORT,
            Ip::V4([10, 3, 0, 1]),
            1,
            64,
            &udp,
            b"x",
        );
    });
    // Every 30 seconds again; then a frame cut after its chassis id, and one that is no LLDPDU.
    put(&mut w, &|b| lldp_frame(b, MONITOR, None, &monitor_tlvs()));
    put(&mut w, &|b| {
        lldp_frame(b, [0x00, 0x1f, 0x11, 0, 0, 0x99], None, &switch_tlvs()[..1]);
        b.truncate(b.len() - 2);
    });
    put(&mut w, &|b| {
        lldp_frame(
            b,
            [0x00, 0x1f, 0x11, 0, 0, 0x98],
            None,
            &[tlv(5, b"no chassis id")],
        );
    });
    w.finish().unwrap();
}

/// `medsentry analyze --format json FILE`, which must succeed.
fn analyze(path: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_medsentry"))
        .args(["analyze", "--format", "json", "--no-progress"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn device<'a>(report: &'a Value, mac: &str) -> &'a Value {
    report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["mac"] == mac)
        .unwrap_or_else(|| panic!("no device {mac}: {}", report["devices"]))
}

fn decided<'a>(d: &'a Value, field: &str) -> (&'a Value, &'a Value, &'a Value) {
    let x = &d["decided"][field];
    (&x["value"], &x["evidence"]["field"], &x["rule"])
}

#[test]
fn lldp_med_names_the_device_and_lldp_the_switch() {
    let dir = testkit::Scratch::new("lldp");
    let path = dir.path("lldp.pcap");
    write_capture(&path);
    let report = analyze(&path);

    let m = device(&report, "00:1f:11:00:00:02");
    assert_eq!(m["ips"], serde_json::json!(["10.3.0.17"]));
    assert_eq!(m["hostname"], "ICU-BED-07");
    assert_eq!(m["vendor"], "Acme Medical");
    assert_eq!(m["model"], "VitalView 9");
    assert_eq!(m["software"], serde_json::json!(["L.01.02"]));
    assert_eq!(decided(m, "vendor").1, "lldp.med.manufacturer");
    assert_eq!(decided(m, "software").2, "lldp-med-software");
    let evidence = testkit::evidence_values;
    // The asset id and serial are there to match against the CMMS register.
    assert_eq!(evidence(m, "lldp.med.asset_id"), ["BME-004711"]);
    assert_eq!(evidence(m, "lldp.med.serial"), ["SN12345"]);
    assert_eq!(evidence(m, "lldp.capabilities"), ["station"]);
    assert_eq!(evidence(m, "lldp.management_address"), ["10.3.0.17"]);

    // The switch, by the chassis MAC its ports name (the same whichever ports a capture sees): its
    // system description is its sysDescr, which the SNMP rules read too.
    let s = device(&report, "00:1f:11:00:00:80");
    assert_eq!(s["id"], "mac-001f11000080");
    assert_eq!(s["category"], "network-device");
    assert_eq!(s["vendor"], "Cisco");
    assert_eq!(s["hostname"], "icu-sw-3");
    assert_eq!(decided(s, "vendor").1, "lldp.system_description");
    assert_eq!(evidence(s, "lldp.chassis_id"), ["00:1f:11:00:00:80"]);
    assert_eq!(evidence(s, "lldp.capabilities"), ["bridge"]);
    // It could route (its system capabilities) but only bridges (the enabled ones).
    assert_eq!(s["role"], "switch");
    // Its two ports (one whose LLDPDU was cut after the chassis id) are the switch, not devices of
    // their own; a frame that is no LLDPDU names nothing.
    assert_eq!(
        evidence(s, "l2.port_mac"),
        ["00:1f:11:00:00:81", "00:1f:11:00:00:99"]
    );
    let macs: Vec<&str> = report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["mac"].as_str().unwrap())
        .collect();
    assert_eq!(macs, ["00:1f:11:00:00:80", "00:1f:11:00:00:02"]);

    // tshark reads the same values from the same frames (frames 1 and 2).
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    let fields = [
        "lldp.chassis.id.mac",
        "lldp.tlv.system.name",
        "lldp.tlv.system.desc",
        "lldp.media.manufacturer",
        "lldp.media.model",
        "lldp.media.software",
        "lldp.media.sn",
        "lldp.media.asset",
        "lldp.mgn.addr.ip4",
    ];
    let mut cmd = Command::new(tshark);
    cmd.args(["-r"])
        .arg(&path)
        .args(["-Y", "frame.number <= 2", "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows,
        [
            vec![
                "00:1f:11:00:00:02",
                "ICU-BED-07",
                "VitalView 9 patient monitor",
                "Acme Medical",
                "VitalView 9",
                "L.01.02",
                "SN12345",
                "BME-004711",
                "10.3.0.17"
            ],
            vec![
                "00:1f:11:00:00:80",
                "icu-sw-3.hospital.example",
                IOS,
                "",
                "",
                "",
                "",
                "",
                ""
            ],
        ],
        "tshark: {text}"
    );
    assert_eq!(evidence(m, "lldp.system_description"), [rows[0][2]]);
    assert_eq!(evidence(s, "lldp.system_name"), [rows[1][1]]);
}

#[test]
fn a_cmms_asset_matches_the_device_that_announces_its_tag() {
    let dir = testkit::Scratch::new("lldp-cmms");
    let path = dir.path("lldp.pcap");
    write_capture(&path);
    let db = dir.path("inv.db");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_medsentry"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "analyze",
        "--no-progress",
        "--format",
        "json",
        "--db",
        db.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The register has the monitor under its asset tag with an old address and no MAC, and a pump
    // the network never showed.
    let csv = dir.path("cmms.csv");
    std::fs::write(
        &csv,
        "Asset Tag,Manufacturer,Model,Serial,MAC,IP\n\
         bme-004711,Acme Medical,VitalView 9,SN12345,,10.9.9.9\n\
         BME-000001,Baxter,Sigma Spectrum,SN1,,10.9.9.10\n",
    )
    .unwrap();
    let out = run(&[
        "inventory",
        "--db",
        db.to_str().unwrap(),
        "import-cmms",
        csv.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("bme-004711"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("mac-001f11000002") && line.ends_with("by asset-tag"),
        "{text}"
    );
    assert!(
        text.contains("in the CMMS, never seen on the network (1):\n  BME-000001"),
        "{text}"
    );
}

#[test]
fn cdp_names_cisco_switches_and_phones() {
    let dir = testkit::Scratch::new("cdp");
    let path = dir.path("cdp.pcap");
    let software = "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11, \
                    RELEASE SOFTWARE (fc3)\nTechnical Support: http://www.cisco.com/techsupport";
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap(), Format::Pcap).unwrap();
    cdp_frame(
        w.begin(),
        SWITCH_PORT,
        &[
            (lldp::CDP_DEVICE_ID, b"icu-sw-3.hospital.example".to_vec()),
            (
                lldp::CDP_ADDRESSES,
                lldp::cdp_address_v4([10, 3, 0, 2].into()),
            ),
            (lldp::CDP_PORT_ID, b"GigabitEthernet0/14".to_vec()),
            (
                lldp::CDP_CAPABILITIES,
                (lldp::CDP_SWITCH | lldp::CDP_IGMP).to_be_bytes().to_vec(),
            ),
            (lldp::CDP_SOFTWARE, software.as_bytes().to_vec()),
            (lldp::CDP_PLATFORM, b"cisco WS-C2960-24TT-L".to_vec()),
        ],
    );
    w.end(1_700_000_000_000_000, None).unwrap();
    cdp_frame(
        w.begin(),
        MONITOR,
        &[
            (lldp::CDP_DEVICE_ID, b"SEP001F11000002".to_vec()),
            (lldp::CDP_CAPABILITIES, 0x490u32.to_be_bytes().to_vec()),
            (lldp::CDP_PLATFORM, b"Cisco IP Phone 8841".to_vec()),
        ],
    );
    w.end(1_700_000_001_000_000, None).unwrap();
    w.finish().unwrap();
    let report = analyze(&path);
    let s = device(&report, "00:1f:11:00:00:81");
    assert_eq!(
        (&s["vendor"], &s["model"], &s["category"], &s["hostname"]),
        (
            &Value::from("Cisco"),
            &Value::from("cisco WS-C2960-24TT-L"),
            &Value::from("network-device"),
            &Value::from("icu-sw-3")
        )
    );
    // A switch by its capabilities; the address it manages by is its own.
    assert_eq!(s["role"], "switch");
    assert_eq!(s["ips"], serde_json::json!(["10.3.0.2"]));
    // CDP's software version is a sysDescr: its Cisco IOS rule (0.85) outweighs the platform's (0.8).
    assert_eq!(decided(s, "vendor").1, "cdp.software_version");
    assert_eq!(decided(s, "model").1, "cdp.platform");
    let phone = device(&report, "00:1f:11:00:00:02");
    assert_eq!(phone["role"], "IP telephone");
    assert_eq!(phone["model"], "Cisco IP Phone 8841");

    // tshark reads the same device ids, platforms, ports and addresses.
    let Some(tshark) = testkit::tshark() else {
        return;
    };
    let out = Command::new(tshark)
        .arg("-r")
        .arg(&path)
        .args([
            "-T",
            "fields",
            "-e",
            "cdp.deviceid",
            "-e",
            "cdp.platform",
            "-e",
            "cdp.portid",
            "-e",
            // tshark names an address TLV's IPv4 address so (its `cdp.address` is the raw bytes).
            "cdp.nrgyz.ip_address",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "icu-sw-3.hospital.example\tcisco WS-C2960-24TT-L\tGigabitEthernet0/14\t10.3.0.2\n\
         SEP001F11000002\tCisco IP Phone 8841\t\t\n",
        "tshark"
    );
    let evidence: Vec<&str> = s["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["field"] == "cdp.address" || e["field"] == "cdp.port_id")
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(evidence, ["10.3.0.2", "GigabitEthernet0/14"]);
}
