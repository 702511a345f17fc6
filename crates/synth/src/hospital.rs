//! The hospital: infrastructure servers and clinical devices, each kind with its vendors (MAC
//! prefixes looked up by organisation name in the IEEE registry), models, software, DHCP habits and
//! address plan.

use std::sync::OnceLock;

use crate::rng::Rng;
use crate::truth::DeviceRow;
use crate::wire::{Ip, L2L3};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Gateway,
    DhcpDns,
    Ntp,
    Hl7Engine,
    Pacs,
    Worklist,
    Ehr,
    PumpServer,
    Monitor,
    Pump,
    Imaging,
    Lab,
    Glucose,
    Workstation,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gateway => "gateway",
            Kind::DhcpDns => "dhcp-dns-server",
            Kind::Ntp => "ntp-server",
            Kind::Hl7Engine => "hl7-engine",
            Kind::Pacs => "pacs",
            Kind::Worklist => "worklist-server",
            Kind::Ehr => "ehr-server",
            Kind::PumpServer => "pump-server",
            Kind::Monitor => "patient-monitor",
            Kind::Pump => "infusion-pump",
            Kind::Imaging => "imaging-modality",
            Kind::Lab => "lab-analyser",
            Kind::Glucose => "glucose-gateway",
            Kind::Workstation => "workstation",
        }
    }

    /// The inventory category (issue 5's list).
    pub fn category(self) -> &'static str {
        match self {
            Kind::Gateway => "network-device",
            Kind::DhcpDns | Kind::Ntp | Kind::Ehr | Kind::PumpServer | Kind::Worklist => "server",
            Kind::Hl7Engine => "hl7-interface-engine",
            Kind::Pacs => "pacs",
            Kind::Monitor => "patient-monitor",
            Kind::Pump => "infusion-pump",
            Kind::Imaging => "imaging-modality",
            Kind::Lab => "lab-analyser",
            Kind::Glucose => "iot-gateway",
            Kind::Workstation => "workstation",
        }
    }

    /// Third octet (and IPv6 subnet id) of the kind's address block in 10.20.0.0/16.
    fn subnet(self) -> u8 {
        match self {
            Kind::Monitor => 16,
            Kind::Pump => 32,
            Kind::Imaging => 48,
            Kind::Lab => 52,
            Kind::Glucose => 56,
            Kind::Workstation => 64,
            _ => 0,
        }
    }
}

/// A maker of devices of some kind.
pub struct Vendor {
    /// The name a clinical engineer uses.
    pub label: &'static str,
    /// Organisation names in the IEEE registry (MA-L) whose prefixes this maker's NICs carry; a
    /// trailing `$` asks for the exact name.
    pub oui_names: &'static [&'static str],
    pub models: &'static [&'static str],
    pub software: &'static [&'static str],
    /// DHCP option 60 as the device sends it.
    pub vendor_class: &'static str,
    /// DHCP option 55 as the device's stack asks it.
    pub params: &'static [u8],
}

const EMBEDDED_PARAMS: &[u8] = &[1, 3, 6, 15, 42];
const LINUX_PARAMS: &[u8] = &[1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42];
const WINDOWS_PARAMS: &[u8] = &[1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252];
const VXWORKS_PARAMS: &[u8] = &[1, 3, 6, 12, 15, 28, 42];

pub fn vendors(kind: Kind) -> &'static [Vendor] {
    match kind {
        Kind::Monitor => &[
            Vendor {
                label: "Philips",
                oui_names: &["Philips Medical Systems", "Philips Patient Monitoring"],
                models: &["IntelliVue MX450", "IntelliVue MX800"],
                software: &["M.00.03", "M.00.10", "N.00.02"],
                vendor_class: "PHILIPS IntelliVue",
                params: VXWORKS_PARAMS,
            },
            Vendor {
                label: "GE Healthcare",
                oui_names: &["GE Healthcare", "GE Medical System(China)"],
                models: &["CARESCAPE B450", "CARESCAPE B650"],
                software: &["2.0.3", "3.1.1"],
                vendor_class: "GEHC-CARESCAPE",
                params: LINUX_PARAMS,
            },
            Vendor {
                label: "Draeger",
                oui_names: &["Draeger Medical", "Draeger Medical Systems", "Drägerwerk"],
                models: &["Infinity Delta", "Infinity M540"],
                software: &["VG8.1", "VG9.0"],
                vendor_class: "Draeger Infinity",
                params: VXWORKS_PARAMS,
            },
            Vendor {
                label: "Mindray",
                oui_names: &["Mindray", "Mindray DS USA", "Mindray North America"],
                models: &["BeneVision N12", "ePM 10"],
                software: &["01.16.00", "02.03.01"],
                vendor_class: "Mindray-Monitor",
                params: LINUX_PARAMS,
            },
            Vendor {
                label: "Nihon Kohden",
                oui_names: &["NIHON KOHDEN AMERICA"],
                models: &["Life Scope G5"],
                software: &["04-21"],
                vendor_class: "NKC-LifeScope",
                params: EMBEDDED_PARAMS,
            },
        ],
        Kind::Pump => &[
            Vendor {
                label: "Baxter",
                oui_names: &["Baxter International"],
                models: &["Sigma Spectrum", "Novum IQ"],
                software: &["8.01.01", "8.00.07"],
                vendor_class: "Baxter-Spectrum",
                params: EMBEDDED_PARAMS,
            },
            Vendor {
                label: "B. Braun",
                oui_names: &["B.Braun Melsungen"],
                models: &["Space Infusomat", "Space Perfusor"],
                software: &["L686", "L693"],
                vendor_class: "BBraun-Space",
                params: EMBEDDED_PARAMS,
            },
            Vendor {
                label: "BD",
                oui_names: &["Carefusion", "Becton, Dickinson and Company"],
                models: &["Alaris 8015 PC Unit"],
                software: &["9.33.1", "12.1.2"],
                vendor_class: "BD-Alaris",
                params: EMBEDDED_PARAMS,
            },
            Vendor {
                label: "ICU Medical",
                oui_names: &["ICU Medical"],
                models: &["Plum 360", "Medfusion 4000"],
                software: &["15.10", "15.11"],
                vendor_class: "ICUMedical-Plum",
                params: EMBEDDED_PARAMS,
            },
            Vendor {
                label: "Fresenius Kabi",
                oui_names: &["FRESENIUS-VIAL"],
                models: &["Agilia VP"],
                software: &["3.3"],
                vendor_class: "Fresenius-Agilia",
                params: EMBEDDED_PARAMS,
            },
        ],
        Kind::Imaging => &[
            Vendor {
                label: "Siemens Healthineers",
                oui_names: &["SIEMENS$"],
                models: &[
                    "SOMATOM go.Up",
                    "MAGNETOM Altea",
                    "ACUSON Sequoia",
                    "YSIO X.pree",
                ],
                software: &["syngo CT VA40A", "syngo MR XA50"],
                vendor_class: "Siemens-syngo",
                params: WINDOWS_PARAMS,
            },
            Vendor {
                label: "GE Healthcare",
                oui_names: &["GE Healthcare"],
                models: &[
                    "Revolution CT",
                    "SIGNA Premier",
                    "LOGIQ E10",
                    "Definium 656",
                ],
                software: &["rev1.2", "MR30.1"],
                vendor_class: "GEHC-Imaging",
                params: LINUX_PARAMS,
            },
            Vendor {
                label: "Canon Medical",
                oui_names: &["CANON$"],
                models: &["Aquilion ONE", "Vantage Orian", "Aplio i800"],
                software: &["V10.6", "V6.0"],
                vendor_class: "Canon-Imaging",
                params: WINDOWS_PARAMS,
            },
            Vendor {
                label: "Fujifilm",
                oui_names: &["FUJIFILM$"],
                models: &["FDR D-EVO II", "Persona C"],
                software: &["V9.0"],
                vendor_class: "FUJIFILM-DR",
                params: WINDOWS_PARAMS,
            },
            Vendor {
                label: "Carestream",
                oui_names: &["Carestream Health"],
                models: &["DRX-Evolution Plus"],
                software: &["5.7.412"],
                vendor_class: "Carestream-DRX",
                params: WINDOWS_PARAMS,
            },
        ],
        Kind::Lab => &[
            Vendor {
                label: "Roche",
                oui_names: &["Roche Diagnostics", "Roche Diagnostics International"],
                models: &["cobas pro", "cobas 6000"],
                software: &["03-01", "06-02"],
                vendor_class: "Roche-cobas",
                params: WINDOWS_PARAMS,
            },
            Vendor {
                label: "Abbott",
                oui_names: &["Abbott Diagnostics"],
                models: &["Alinity ci", "ARCHITECT c4000"],
                software: &["3.3.1", "9.45"],
                vendor_class: "Abbott-Alinity",
                params: WINDOWS_PARAMS,
            },
            Vendor {
                label: "Beckman Coulter",
                oui_names: &["Beckman Coulter"],
                models: &["DxC 700 AU", "DxH 900"],
                software: &["4.0.5"],
                vendor_class: "Beckman-DxC",
                params: WINDOWS_PARAMS,
            },
            Vendor {
                label: "Sysmex",
                oui_names: &["Sysmex"],
                models: &["XN-1000", "CS-2500"],
                software: &["00-28"],
                vendor_class: "Sysmex-XN",
                params: WINDOWS_PARAMS,
            },
        ],
        Kind::Glucose => &[
            Vendor {
                label: "Roche",
                oui_names: &["Roche Diagnostics"],
                models: &["Accu-Chek Inform II Base Unit"],
                software: &["04.03.01"],
                vendor_class: "Roche-AccuChek",
                params: EMBEDDED_PARAMS,
            },
            Vendor {
                label: "Abbott",
                oui_names: &["Abbott Point of Care"],
                models: &["FreeStyle Precision Pro Dock", "i-STAT Downloader"],
                software: &["2.1.0"],
                vendor_class: "Abbott-POC",
                params: EMBEDDED_PARAMS,
            },
        ],
        Kind::Workstation => &[
            Vendor {
                label: "Dell",
                oui_names: &["Dell$"],
                models: &["OptiPlex 7010", "Latitude 5540"],
                software: &["Windows 10 22H2", "Windows 11 23H2"],
                vendor_class: "MSFT 5.0",
                params: WINDOWS_PARAMS,
            },
            Vendor {
                label: "HP",
                oui_names: &["HP$", "Hewlett Packard$"],
                models: &["EliteDesk 800 G6"],
                software: &["Windows 11 23H2"],
                vendor_class: "MSFT 5.0",
                params: WINDOWS_PARAMS,
            },
            Vendor {
                label: "Lenovo",
                oui_names: &["Lenovo$"],
                models: &["ThinkCentre M70q"],
                software: &["Windows 10 22H2"],
                vendor_class: "MSFT 5.0",
                params: WINDOWS_PARAMS,
            },
        ],
        Kind::Gateway => &[Vendor {
            label: "Cisco",
            oui_names: &["Cisco Systems"],
            models: &["Catalyst 9300"],
            software: &["IOS-XE 17.9.4"],
            vendor_class: "",
            params: &[],
        }],
        _ => &[
            Vendor {
                label: "Dell",
                oui_names: &["Dell$"],
                models: &["PowerEdge R750"],
                software: &["Windows Server 2019", "RHEL 8.8"],
                vendor_class: "",
                params: &[],
            },
            Vendor {
                label: "HPE",
                oui_names: &["Hewlett Packard Enterprise"],
                models: &["ProLiant DL380 Gen10"],
                software: &["Windows Server 2022", "RHEL 9.2"],
                vendor_class: "",
                params: &[],
            },
        ],
    }
}

/// Whether a registry name matches one of `names` (prefix match, or exact with a trailing `$`).
fn name_matches(name_lower: &str, names: &[&str]) -> bool {
    names.iter().any(|n| match n.strip_suffix('$') {
        Some(exact) => name_lower == exact.to_ascii_lowercase(),
        None => name_lower.starts_with(&n.to_ascii_lowercase()),
    })
}

/// The MA-L prefixes registered to organisations with these names, sorted (deterministic), with the
/// registered name.
pub fn prefixes(names: &[&str]) -> Vec<([u8; 3], String)> {
    let mut all = all_prefixes(&[names]);
    all.pop().unwrap_or_default()
}

/// One pass over the registry for many name lists.
fn all_prefixes(lists: &[&[&str]]) -> Vec<Vec<([u8; 3], String)>> {
    let db = macaddr_ouidb::oui_db();
    let mut out = vec![Vec::new(); lists.len()];
    for e in db.iter() {
        let hex = e.prefix_hex();
        if hex.len() != 6 {
            continue;
        }
        let name = e.name();
        let lower = name.to_ascii_lowercase();
        for (i, names) in lists.iter().enumerate() {
            if name_matches(&lower, names)
                && let Ok(v) = u32::from_str_radix(&hex, 16)
            {
                out[i].push(([(v >> 16) as u8, (v >> 8) as u8, v as u8], name.to_string()));
            }
        }
    }
    for v in &mut out {
        v.sort();
    }
    out
}

/// Prefix lists per (kind, vendor index), looked up once.
fn prefix_cache(kind: Kind, vendor: usize) -> &'static [([u8; 3], String)] {
    type Cache = std::collections::HashMap<(Kind, usize), Vec<([u8; 3], String)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let map = CACHE.get_or_init(|| {
        let keys: Vec<(Kind, usize)> = ALL_KINDS
            .iter()
            .flat_map(|&k| (0..vendors(k).len()).map(move |i| (k, i)))
            .collect();
        let lists: Vec<&[&str]> = keys.iter().map(|&(k, i)| vendors(k)[i].oui_names).collect();
        keys.into_iter().zip(all_prefixes(&lists)).collect()
    });
    map.get(&(kind, vendor))
        .map(|v| v.as_slice())
        .unwrap_or(&[])
}

pub const ALL_KINDS: [Kind; 14] = [
    Kind::Gateway,
    Kind::DhcpDns,
    Kind::Ntp,
    Kind::Hl7Engine,
    Kind::Pacs,
    Kind::Worklist,
    Kind::Ehr,
    Kind::PumpServer,
    Kind::Monitor,
    Kind::Pump,
    Kind::Imaging,
    Kind::Lab,
    Kind::Glucose,
    Kind::Workstation,
];

#[derive(Debug, Clone)]
pub struct Device {
    pub index: usize,
    pub id: String,
    pub kind: Kind,
    pub vendor: usize,
    pub model: &'static str,
    pub software: &'static str,
    pub oui_name: String,
    pub mac: [u8; 6],
    pub ip4: [u8; 4],
    pub ip6: Option<[u8; 16]>,
    pub vlan: Option<u16>,
    pub hostname: String,
    /// DICOM AE title or HL7 sending application.
    pub application: String,
    pub serial: String,
    /// Imaging modality code.
    pub modality: Option<&'static str>,
    /// Whether it gets its address by DHCP (servers are static).
    pub dhcp: bool,
    /// The MACs of the switch ports it announces itself from in LLDP and CDP (the gateway's, which
    /// is the core switch too), after its own base MAC.
    pub ports: Vec<[u8; 6]>,
}

impl Device {
    pub fn vendor_spec(&self) -> &'static Vendor {
        &vendors(self.kind)[self.vendor]
    }

    pub fn v4(&self) -> L2L3 {
        L2L3 {
            mac: self.mac,
            ip: Ip::V4(self.ip4),
            vlan: self.vlan,
        }
    }

    /// Its IPv6 identity when it has one, else IPv4.
    pub fn preferred(&self) -> L2L3 {
        match self.ip6 {
            Some(a) => L2L3 {
                mac: self.mac,
                ip: Ip::V6(a),
                vlan: self.vlan,
            },
            None => self.v4(),
        }
    }

    /// This server as `peer` would reach it: over IPv6 when the peer uses IPv6.
    pub fn as_seen_by(&self, peer: &L2L3) -> L2L3 {
        match (peer.ip, self.ip6) {
            (Ip::V6(_), Some(a)) => L2L3 {
                mac: self.mac,
                ip: Ip::V6(a),
                vlan: peer.vlan.or(self.vlan),
            },
            _ => L2L3 {
                mac: self.mac,
                ip: Ip::V4(self.ip4),
                vlan: peer.vlan.or(self.vlan),
            },
        }
    }

    pub fn row(&self) -> DeviceRow {
        DeviceRow {
            id: self.id.clone(),
            kind: self.kind.name(),
            category: self.kind.category(),
            vendor: self.vendor_spec().label.to_string(),
            oui_vendor: self.oui_name.clone(),
            model: self.model,
            mac: mac_string(self.mac),
            ipv4: std::net::Ipv4Addr::from(self.ip4).to_string(),
            ipv6: self.ip6.map(|a| std::net::Ipv6Addr::from(a).to_string()),
            vlan: self.vlan,
            hostname: self.hostname.clone(),
            // A router's name is on the wire only when it announces itself (LLDP, CDP).
            hostname_on_wire: self.kind != Kind::Gateway || !self.ports.is_empty(),
            port_macs: self.ports.iter().map(|m| mac_string(*m)).collect(),
            application: (!self.application.is_empty()).then(|| self.application.clone()),
            software_version: self.software,
            modality: self.modality,
        }
    }
}

pub fn mac_string(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// How a hospital's devices split by kind.
fn mix(devices: usize) -> Vec<(Kind, usize)> {
    let shares = [
        (Kind::Monitor, 0.32),
        (Kind::Pump, 0.30),
        (Kind::Imaging, 0.05),
        (Kind::Lab, 0.05),
        (Kind::Glucose, 0.10),
        (Kind::Workstation, 0.18),
    ];
    let mut out: Vec<(Kind, usize)> = shares
        .iter()
        .map(|&(k, s)| (k, ((devices as f64 * s).floor() as usize).max(1)))
        .collect();
    let assigned: usize = out.iter().map(|x| x.1).sum();
    if assigned < devices {
        out[0].1 += devices - assigned;
    }
    out
}

pub struct Hospital {
    pub devices: Vec<Device>,
}

impl Hospital {
    pub fn server(&self, kind: Kind) -> &Device {
        self.devices
            .iter()
            .find(|d| d.kind == kind)
            .expect("every hospital has its servers")
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Device> {
        self.devices.iter().filter(move |d| d.kind == kind)
    }

    /// Builds the hospital: `clinical` devices beside the fixed infrastructure.
    pub fn build(seed: u64, clinical: usize, vlan_share: f64, ipv6_share: f64) -> Hospital {
        let mut rng = Rng::child(seed, 0x4057);
        let mut devices = Vec::new();
        let mut used_macs = std::collections::HashSet::new();
        let servers: [(Kind, u8, &str, &str); 8] = [
            (Kind::Gateway, 1, "core-gw", ""),
            (Kind::DhcpDns, 2, "dc01", ""),
            (Kind::Ntp, 3, "ntp01", ""),
            (Kind::Hl7Engine, 10, "hl7-engine", "ENGINE"),
            (Kind::Pacs, 20, "pacs01", "SYNPACS"),
            (Kind::Worklist, 21, "mwl01", "SYNMWL"),
            (Kind::Ehr, 30, "ehr01", "EHR"),
            (Kind::PumpServer, 40, "pumpsrv01", ""),
        ];
        for (kind, host, name, app) in servers {
            let mut d = make(
                &mut rng,
                &mut used_macs,
                devices.len(),
                kind,
                [10, 20, 0, host],
                name.to_string(),
                app.to_string(),
                false,
                0.0,
                ipv6_share.min(1.0).ceil(),
            );
            if kind == Kind::Gateway {
                d.ports = switch_ports(d.mac, &mut used_macs);
            }
            devices.push(d);
        }
        let mut counts = std::collections::HashMap::new();
        for (kind, n) in mix(clinical) {
            for i in 0..n {
                let c = counts.entry(kind).or_insert(0usize);
                *c += 1;
                let k = *c;
                let host = 10 + i;
                let ip4 = [
                    10,
                    20,
                    kind.subnet() + (host / 250) as u8,
                    (host % 250) as u8 + 1,
                ];
                let (hostname, app) = names(kind, k, &mut rng);
                let d = make(
                    &mut rng,
                    &mut used_macs,
                    devices.len(),
                    kind,
                    ip4,
                    hostname,
                    app,
                    true,
                    vlan_share,
                    ipv6_share,
                );
                devices.push(d);
            }
        }
        Hospital { devices }
    }
}

/// Switch ports the capture sees the gateway announce itself from.
const SWITCH_PORTS: u32 = 4;

/// The MACs of a switch's ports: the ones after its base MAC, as a maker allocates a block per
/// chassis (kept out of the other devices' way).
fn switch_ports(base: [u8; 6], used: &mut std::collections::HashSet<[u8; 6]>) -> Vec<[u8; 6]> {
    let nic = u32::from_be_bytes([0, base[3], base[4], base[5]]);
    (1..=SWITCH_PORTS)
        .map(|k| {
            let [_, a, b, c] = ((nic + k) & 0x00ff_ffff).to_be_bytes();
            [base[0], base[1], base[2], a, b, c]
        })
        .filter(|m| used.insert(*m))
        .collect()
}

fn names(kind: Kind, k: usize, rng: &mut Rng) -> (String, String) {
    match kind {
        Kind::Monitor => {
            let unit = rng.pick(&["ICU1", "ICU2", "CCU", "ED", "MED3", "SURG4", "NICU"]);
            (
                format!("pm-{}-{k:03}", unit.to_ascii_lowercase()),
                format!("PM{k:04}"),
            )
        }
        Kind::Pump => (format!("pump-{k:04}"), String::new()),
        Kind::Imaging => (format!("mod-{k:02}"), String::new()),
        Kind::Lab => (format!("lab-an{k:02}"), format!("LIS_AN{k:02}")),
        Kind::Glucose => (format!("poc-gluc-{k:03}"), String::new()),
        Kind::Workstation => (format!("ws-{k:04}"), String::new()),
        _ => (String::new(), String::new()),
    }
}

#[allow(clippy::too_many_arguments)]
fn make(
    rng: &mut Rng,
    used: &mut std::collections::HashSet<[u8; 6]>,
    index: usize,
    kind: Kind,
    ip4: [u8; 4],
    hostname: String,
    application: String,
    dhcp: bool,
    vlan_share: f64,
    ipv6_share: f64,
) -> Device {
    let vs = vendors(kind);
    let vendor = rng.below(vs.len() as u64) as usize;
    let v = &vs[vendor];
    let pfx = prefix_cache(kind, vendor);
    let (prefix, oui_name) = if pfx.is_empty() {
        // A registry without this maker: a locally administered address, and no vendor from it.
        ([0x02, 0x00, 0x5e], String::new())
    } else {
        pfx[rng.below(pfx.len() as u64) as usize].clone()
    };
    let mut mac;
    loop {
        mac = [
            prefix[0],
            prefix[1],
            prefix[2],
            rng.next_u32() as u8,
            rng.next_u32() as u8,
            rng.next_u32() as u8,
        ];
        if used.insert(mac) {
            break;
        }
    }
    let model = *rng.pick(v.models);
    let modality = (kind == Kind::Imaging).then(|| *rng.pick(&["CT", "MR", "US", "CR"]));
    let (hostname, application) = match modality {
        Some(m) => (
            format!("{}-{}", m.to_ascii_lowercase(), hostname),
            format!("{m}_{:02}", index % 100),
        ),
        None => (hostname, application),
    };
    let ip6 = rng.chance(ipv6_share).then(|| {
        let mut a = [0u8; 16];
        a[..6].copy_from_slice(&[0xfd, 0x00, 0x00, 0x10, 0x00, 0x20]);
        a[7] = ip4[2];
        a[14] = ip4[2];
        a[15] = ip4[3];
        a
    });
    let vlan = (dhcp && rng.chance(vlan_share)).then_some(100 + u16::from(ip4[2] / 16));
    Device {
        index,
        id: format!("dev-{index:05}"),
        kind,
        vendor,
        model,
        software: rng.pick::<&str>(v.software),
        oui_name,
        mac,
        ip4,
        ip6,
        vlan,
        hostname,
        application,
        ports: Vec::new(),
        serial: format!("SN{:08X}", rng.next_u32()),
        modality,
        dhcp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_has_registered_prefixes() {
        for k in ALL_KINDS {
            for (i, v) in vendors(k).iter().enumerate() {
                assert!(
                    !prefix_cache(k, i).is_empty(),
                    "{} {}: no IEEE prefix for {:?}",
                    k.name(),
                    v.label,
                    v.oui_names
                );
            }
        }
    }

    #[test]
    fn macs_resolve_to_the_vendor_registry_name() {
        let h = Hospital::build(1, 200, 0.2, 0.1);
        let db = macaddr_ouidb::oui_db();
        for d in &h.devices {
            let e = db.lookup(&d.mac).expect("registered prefix");
            assert_eq!(e.name(), d.oui_name, "{}", d.id);
        }
        let macs: std::collections::HashSet<_> = h.devices.iter().map(|d| d.mac).collect();
        assert_eq!(macs.len(), h.devices.len());
    }
}
