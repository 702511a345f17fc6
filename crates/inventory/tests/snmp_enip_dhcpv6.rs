//! The shipped rules on SNMP, EtherNet/IP and DHCPv6 evidence, and DHCPv6 leases by the MAC in a
//! client's DUID: honoured when the frames agree, dropped when they say the DUID is stale, never a
//! device of their own.

use std::net::IpAddr;

use inventory::{Device, Inventory, Rules, Subject};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// A MAC whose prefix is not registered to anyone the rules know (locally administered).
const SWITCH: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
const PLC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02];
const HOST: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x03];
/// The MAC a stale DUID-LLT names: another interface, never seen.
const STALE: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x04];

fn one(devices: &[Device], id: &str) -> Device {
    devices
        .iter()
        .find(|d| d.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:?}", ids(devices)))
        .clone()
}

fn ids(devices: &[Device]) -> Vec<&str> {
    devices.iter().map(|d| d.id.as_str()).collect()
}

/// (value, rule) of a decided field.
fn decided<'a>(d: &'a Device, field: &str) -> Option<(&'a str, &'a str)> {
    d.fields
        .get(field)
        .map(|a| (a.value.as_str(), a.rule.as_str()))
}

#[test]
fn an_snmp_agent_is_named_by_its_system_group() {
    let a = ip("10.1.0.2");
    let mut inv = Inventory::new();
    inv.saw(1, a, Some(SWITCH));
    let s = Subject::Ip(a);
    inv.observe(
        2,
        s,
        "snmp.sys_descr",
        "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 12.2(50)SE4",
    );
    inv.observe(2, s, "snmp.sys_object_id", "1.3.6.1.4.1.9.1.1208");
    inv.observe(2, s, "snmp.sys_name", "sw-icu-3.hosp.example");
    inv.observe(2, s, "snmp.sys_location", "ICU 3 comms room");
    let d = one(&inv.finish(&Rules::builtin()), "mac-02005e100001");
    assert_eq!(decided(&d, "vendor"), Some(("Cisco", "snmp-descr-cisco")));
    assert_eq!(
        decided(&d, "category"),
        Some(("network-device", "snmp-descr-cisco"))
    );
    assert_eq!(decided(&d, "hostname"), Some(("sw-icu-3", "snmp-sysname")));
    assert_eq!(
        d.get("software"),
        Some("Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 12.2(50)SE4")
    );
    let h = &d.fields["hostname"];
    assert_eq!(
        (h.evidence_field, h.evidence_value.as_str()),
        ("snmp.sys_name", "sw-icu-3.hosp.example")
    );
    assert!(
        d.evidence
            .iter()
            .any(|e| e.field == "snmp.sys_location" && e.value == "ICU 3 comms room")
    );
}

#[test]
fn the_enterprise_number_names_the_maker_and_a_linux_agent_stays_unclassified() {
    let mut inv = Inventory::new();
    let (aruba, linux) = (ip("10.1.0.3"), ip("10.1.0.4"));
    inv.saw(1, aruba, Some(SWITCH));
    inv.saw(1, linux, Some(HOST));
    inv.observe(
        2,
        Subject::Ip(aruba),
        "snmp.sys_object_id",
        "1.3.6.1.4.1.14823.1.1.32",
    );
    inv.observe(
        2,
        Subject::Ip(linux),
        "snmp.sys_descr",
        "Linux ward-gw 5.10.0-23-amd64 #1 SMP Debian 5.10.179-1 x86_64",
    );
    inv.observe(
        2,
        Subject::Ip(linux),
        "snmp.sys_object_id",
        "1.3.6.1.4.1.8072.3.2.10",
    );
    inv.observe(2, Subject::Ip(linux), "snmp.sys_name", "ward-gw");
    let devices = inv.finish(&Rules::builtin());
    let d = one(&devices, "mac-02005e100001");
    assert_eq!(decided(&d, "vendor"), Some(("Aruba", "snmp-oid-aruba")));
    assert_eq!(d.category(), "network-device");
    let d = one(&devices, "mac-02005e100003");
    assert_eq!(
        d.category(),
        "unknown",
        "a Linux agent alone says too little"
    );
    assert_eq!(d.get("vendor"), None);
    assert_eq!(d.get("hostname"), Some("ward-gw"));
    assert!(
        d.get("software")
            .is_some_and(|s| s.starts_with("Linux ward-gw"))
    );

    // 1.3.6.1.4.1.91 is not Cisco's 9.
    let mut inv = Inventory::new();
    inv.saw(1, linux, Some(HOST));
    inv.observe(
        2,
        Subject::Ip(linux),
        "snmp.sys_object_id",
        "1.3.6.1.4.1.91.1",
    );
    assert_eq!(inv.finish(&Rules::builtin())[0].get("vendor"), None);
}

#[test]
fn a_name_the_device_gave_itself_beats_its_sysname() {
    let a = ip("10.1.0.2");
    let mut inv = Inventory::new();
    inv.saw(1, a, Some(HOST));
    inv.observe(2, Subject::Mac(HOST), "dhcp.hostname", "mon-icu-07");
    inv.observe(2, Subject::Ip(a), "snmp.sys_name", "Monitor");
    let d = &inv.finish(&Rules::builtin())[0];
    assert_eq!(
        decided(d, "hostname"),
        Some(("mon-icu-07", "dhcp-hostname"))
    );
}

#[test]
fn list_identity_gives_vendor_model_firmware_and_profile() {
    let mut inv = Inventory::new();
    let (adapter, plc) = (ip("10.7.0.10"), ip("10.7.0.11"));
    inv.saw(1, adapter, Some(SWITCH));
    inv.saw(1, plc, Some(PLC));
    for (a, vendor, product, revision, profile) in [
        (
            adapter,
            "Rockwell Automation/Allen-Bradley",
            "1756-ENBT/A",
            "4.3",
            "Communications Adapter",
        ),
        (
            plc,
            "Omron Corporation",
            "CJ2M-CPU33",
            "2.1",
            "Programmable Logic Controller",
        ),
    ] {
        let s = Subject::Ip(a);
        inv.observe(2, s, "enip.vendor", vendor);
        inv.observe(2, s, "enip.product_name", product);
        inv.observe(2, s, "enip.revision", revision);
        inv.observe(2, s, "enip.device_type", profile);
    }
    let devices = inv.finish(&Rules::builtin());
    let d = one(&devices, "mac-02005e100001");
    assert_eq!(
        decided(&d, "vendor"),
        Some(("Rockwell Automation/Allen-Bradley", "enip-vendor"))
    );
    assert_eq!(decided(&d, "model"), Some(("1756-ENBT/A", "enip-product")));
    assert_eq!(decided(&d, "software"), Some(("4.3", "enip-revision")));
    assert_eq!(
        decided(&d, "category"),
        Some(("network-device", "enip-network"))
    );
    assert_eq!(
        d.get("role"),
        Some("Communications Adapter (EtherNet/IP industrial control)")
    );
    // No category fits a PLC: it is not passed off as a network device, and its role says what it is.
    let d = one(&devices, "mac-02005e100002");
    assert_eq!(d.category(), "unknown");
    assert_eq!(
        d.get("role"),
        Some("Programmable Logic Controller (EtherNet/IP industrial control)")
    );
    assert_eq!(d.get("model"), Some("CJ2M-CPU33"));
}

#[test]
fn dhcpv6_evidence_meets_the_dhcp_rules() {
    let a = ip("fe80::31cb:26de:c5bb:c367");
    let mut inv = Inventory::new();
    inv.saw(1, a, Some(HOST));
    inv.observe(
        2,
        Subject::Ip(a),
        "dhcp6.fqdn",
        "DESKTOP-2AEFM7G.corp.example",
    );
    inv.observe(2, Subject::Ip(a), "dhcp6.vendor_class", "MSFT 5.0");
    let d = &inv.finish(&Rules::builtin())[0];
    assert_eq!(
        decided(d, "hostname"),
        Some(("DESKTOP-2AEFM7G", "dhcp6-fqdn"))
    );
    assert_eq!(
        decided(d, "category"),
        Some(("workstation", "dhcp-windows"))
    );
    assert_eq!(d.fields["category"].evidence_field, "dhcp6.vendor_class");
}

#[test]
fn a_duid_lease_needs_the_frames_to_agree() {
    let leased = ip("2001:db8:1:2::1002");
    // The DUID's MAC sends frames: the address is its own, though it never sent from it.
    let mut inv = Inventory::new();
    inv.saw(1, ip("fe80::1"), Some(HOST));
    inv.duid_lease(5, HOST, leased);
    let d = inv.finish(&Rules::builtin());
    assert_eq!(ids(&d), ["mac-02005e100003"]);
    assert_eq!(d[0].ips, vec![leased, ip("fe80::1")]);

    // A stale DUID-LLT: its MAC never appears, so it is not a device, and the address stays with the
    // MAC that uses it.
    let mut inv = Inventory::new();
    inv.saw(1, ip("fe80::1"), Some(HOST));
    inv.saw(9, leased, Some(HOST));
    inv.duid_lease(5, STALE, leased);
    let d = inv.finish(&Rules::builtin());
    assert_eq!(ids(&d), ["mac-02005e100003"]);
    assert!(d[0].ips.contains(&leased));

    // Even when that MAC is known, an address another device sends from is not given to it.
    let mut inv = Inventory::new();
    inv.saw(1, ip("fe80::1"), Some(HOST));
    inv.saw(1, ip("fe80::4"), Some(STALE));
    inv.saw(9, leased, Some(HOST));
    inv.duid_lease(5, STALE, leased);
    let d = inv.finish(&Rules::builtin());
    assert!(one(&d, "mac-02005e100003").ips.contains(&leased));
    assert!(!one(&d, "mac-02005e100004").ips.contains(&leased));

    // A client behind a relay is known by the evidence its DUID carried: its lease holds.
    let mut inv = Inventory::new();
    inv.observe(2, Subject::Mac(STALE), "dhcp6.fqdn", "pump-07");
    inv.duid_lease(5, STALE, leased);
    let d = inv.finish(&Rules::builtin());
    assert_eq!(ids(&d), ["mac-02005e100004"]);
    assert_eq!(d[0].ips, vec![leased]);
    assert_eq!(d[0].get("hostname"), Some("pump-07"));
}

#[test]
fn duid_leases_are_bounded_and_ignore_what_names_no_device() {
    let mut inv = Inventory::new();
    inv.saw(1, ip("fe80::1"), Some(HOST));
    for i in 0..1000u16 {
        inv.duid_lease(5, HOST, IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, i]));
    }
    // Multicast MACs and addresses.
    inv.duid_lease(5, [0x33, 0x33, 0, 0, 0, 1], ip("fd00::1"));
    inv.duid_lease(5, HOST, ip("ff02::1:2"));
    let d = inv.finish(&Rules::builtin());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].ips.len(), 64 + 1);
    assert!(!d[0].ips.contains(&ip("ff02::1:2")));
}
