//! The hospital's own asset list (a CMMS export, CSV) beside the passive inventory: parse it
//! leniently (bad rows are reported with their line number and skipped), then match assets to devices
//! seen on the network by MAC, then by the asset tag or serial number a device announces itself
//! (LLDP-MED inventory), then by address, and say what each side is missing.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::Device;

/// One asset of the CMMS export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// Line of the CSV file it came from (1 is the header).
    pub line: usize,
    pub asset_tag: String,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub mac: Option<[u8; 6]>,
    pub ip: Option<IpAddr>,
    pub software_version: Option<String>,
    pub location: Option<String>,
    pub department: Option<String>,
    pub criticality: Option<String>,
    /// Columns we do not know, kept as they are.
    pub attributes: BTreeMap<String, String>,
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Import {
    pub assets: Vec<Asset>,
    pub errors: Vec<RowError>,
}

const CRITICALITIES: [&str; 4] = [
    "life-sustaining",
    "patient-affecting",
    "clinical-support",
    "business",
];

/// Which known column a header names (case-insensitive; spaces, `_` and `-` ignored).
fn column(name: &str) -> Option<&'static str> {
    let n: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    Some(match n.as_str() {
        "assettag" | "tag" | "assetid" | "asset" => "asset_tag",
        "vendor" | "manufacturer" | "make" => "vendor",
        "model" | "modelname" => "model",
        "serial" | "serialnumber" | "sn" => "serial",
        "mac" | "macaddress" => "mac",
        "ip" | "ipaddress" | "address" => "ip",
        "softwareversion" | "software" | "firmware" | "firmwareversion" | "version" => {
            "software_version"
        }
        "location" | "room" => "location",
        "department" | "dept" | "unit" => "department",
        "criticality" | "risk" | "riskclass" => "criticality",
        _ => return None,
    })
}

/// Splits CSV text into records (RFC 4180: quoted fields with doubled quotes and line breaks), each
/// with the line it starts on.
fn records(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => quoted = true,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            '\n' if !quoted => {
                fields.push(std::mem::take(&mut field));
                if fields.iter().any(|f| !f.trim().is_empty()) {
                    out.push((start_line, std::mem::take(&mut fields)));
                }
                fields.clear();
                line += 1;
                start_line = line;
            }
            '\r' if !quoted => {}
            '\n' => {
                line += 1;
                field.push(c);
            }
            _ => field.push(c),
        }
    }
    fields.push(field);
    if fields.iter().any(|f| !f.trim().is_empty()) {
        out.push((start_line, fields));
    }
    out
}

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let separators = s
        .chars()
        .filter(|c| !c.is_ascii_hexdigit())
        .all(|c| matches!(c, ':' | '-' | '.'));
    if hex.len() != 12 || !separators {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, b) in m.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(m)
}

/// Parses a CMMS export. The header names the columns; a row is imported whole or reported.
pub fn parse(text: &str) -> Result<Import, String> {
    let mut recs = records(text.strip_prefix('\u{feff}').unwrap_or(text)).into_iter();
    let (_, header) = recs.next().ok_or("empty file: no header row")?;
    let cols: Vec<(Option<&'static str>, String)> = header
        .iter()
        .map(|h| (column(h), h.trim().to_string()))
        .collect();
    if !cols.iter().any(|(c, _)| *c == Some("asset_tag")) {
        return Err(
            "no asset tag column in the header (expected one named like `asset tag`)".into(),
        );
    }
    if !cols
        .iter()
        .any(|(c, _)| matches!(c, Some("mac") | Some("ip")))
    {
        return Err(
            "neither a MAC nor an IP column in the header: nothing to match devices by".into(),
        );
    }
    let mut import = Import::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, fields) in recs {
        if fields.len() != cols.len() {
            import.errors.push(RowError {
                line,
                message: format!("{} fields, the header has {}", fields.len(), cols.len()),
            });
            continue;
        }
        let mut a = Asset {
            line,
            asset_tag: String::new(),
            vendor: None,
            model: None,
            serial: None,
            mac: None,
            ip: None,
            software_version: None,
            location: None,
            department: None,
            criticality: None,
            attributes: BTreeMap::new(),
        };
        let mut bad = None;
        for ((col, name), value) in cols.iter().zip(fields) {
            let v = value.trim().to_string();
            let present = (!v.is_empty()).then_some(v.clone());
            match col {
                Some("asset_tag") => a.asset_tag = v,
                Some("vendor") => a.vendor = present,
                Some("model") => a.model = present,
                Some("serial") => a.serial = present,
                Some("software_version") => a.software_version = present,
                Some("location") => a.location = present,
                Some("department") => a.department = present,
                Some("mac") if !v.is_empty() => match parse_mac(&v) {
                    Some(m) => a.mac = Some(m),
                    None => bad = Some(format!("`{v}` is not a MAC address")),
                },
                Some("ip") if !v.is_empty() => match v.parse() {
                    Ok(ip) => a.ip = Some(ip),
                    Err(_) => bad = Some(format!("`{v}` is not an IP address")),
                },
                Some("criticality") if !v.is_empty() => {
                    let k = v.to_lowercase().replace([' ', '_'], "-");
                    match CRITICALITIES.iter().find(|c| **c == k) {
                        Some(c) => a.criticality = Some(c.to_string()),
                        None => {
                            bad = Some(format!(
                                "criticality `{v}` is not one of {}",
                                CRITICALITIES.join(", ")
                            ))
                        }
                    }
                }
                Some(_) => {}
                None => {
                    if !v.is_empty() {
                        a.attributes.insert(name.clone(), v);
                    }
                }
            }
        }
        if a.asset_tag.is_empty() {
            bad = bad.or(Some("no asset tag".into()));
        }
        if let Some(message) = bad {
            import.errors.push(RowError { line, message });
            continue;
        }
        if let Some(first) = seen.get(&a.asset_tag) {
            import.errors.push(RowError {
                line,
                message: format!("asset tag `{}` already on line {first}", a.asset_tag),
            });
            continue;
        }
        seen.insert(a.asset_tag.clone(), line);
        import.assets.push(a);
    }
    Ok(import)
}

/// How the CMMS and the network agree.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// (device id, asset tag, "mac", "asset-tag", "serial" or "ip")
    pub matched: Vec<(String, String, &'static str)>,
    /// Devices on the network the CMMS does not list.
    pub not_in_cmms: Vec<String>,
    /// Assets the network never showed.
    pub never_seen: Vec<String>,
}

/// A device as the reconciliation needs it: its id, MAC and addresses, and the asset tags and serial
/// numbers it announced (see [`Known::announced`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub id: String,
    pub mac: Option<[u8; 6]>,
    pub ips: Vec<IpAddr>,
    pub asset_tags: Vec<String>,
    pub serials: Vec<String>,
}

/// Evidence fields in which a device names its own asset tag, and its serial number.
pub const ASSET_TAG_FIELDS: [&str; 1] = ["lldp.med.asset_id"];
pub const SERIAL_FIELDS: [&str; 1] = ["lldp.med.serial"];

impl Known {
    /// Takes a piece of evidence: an asset tag or serial number the device announced is kept.
    pub fn announced(&mut self, field: &str, value: &str) {
        if ASSET_TAG_FIELDS.contains(&field) {
            self.asset_tags.push(value.to_string());
        } else if SERIAL_FIELDS.contains(&field) {
            self.serials.push(value.to_string());
        }
    }
}

impl From<&Device> for Known {
    fn from(d: &Device) -> Known {
        let mut k = Known {
            id: d.id.clone(),
            mac: d.mac,
            ips: d.ips.clone(),
            ..Known::default()
        };
        for e in &d.evidence {
            k.announced(e.field, &e.value);
        }
        k
    }
}

/// Identifiers compared as a clinical engineer types them: case and surrounding spaces aside.
fn key(s: &str) -> String {
    s.trim().to_uppercase()
}

/// Matches assets to devices by MAC first, then by the asset tag and then the serial number the device
/// announced, then by address (addresses change with DHCP: the weakest key); each device and asset is
/// used once, and each pass keeps the assets' order.
pub fn reconcile(devices: &[Known], assets: &[Asset]) -> Reconciliation {
    let mut by_mac: HashMap<[u8; 6], usize> = HashMap::new();
    let mut by_tag: HashMap<String, usize> = HashMap::new();
    let mut by_serial: HashMap<String, usize> = HashMap::new();
    let mut by_ip: HashMap<IpAddr, usize> = HashMap::new();
    for (i, d) in devices.iter().enumerate() {
        if let Some(m) = d.mac {
            by_mac.insert(m, i);
        }
        for t in &d.asset_tags {
            by_tag.entry(key(t)).or_insert(i);
        }
        for n in &d.serials {
            by_serial.entry(key(n)).or_insert(i);
        }
        for ip in &d.ips {
            by_ip.entry(*ip).or_insert(i);
        }
    }
    let mut used = vec![false; devices.len()];
    let mut r = Reconciliation::default();
    let mut pending: Vec<&Asset> = assets.iter().collect();
    type Pass<'a> = (&'static str, Box<dyn Fn(&Asset) -> Option<usize> + 'a>);
    let passes: [Pass<'_>; 4] = [
        (
            "mac",
            Box::new(|a| a.mac.and_then(|m| by_mac.get(&m).copied())),
        ),
        (
            "asset-tag",
            Box::new(|a| by_tag.get(&key(&a.asset_tag)).copied()),
        ),
        (
            "serial",
            Box::new(|a| {
                a.serial
                    .as_deref()
                    .and_then(|n| by_serial.get(&key(n)).copied())
            }),
        ),
        (
            "ip",
            Box::new(|a| a.ip.and_then(|ip| by_ip.get(&ip).copied())),
        ),
    ];
    for (by, find) in &passes {
        pending.retain(|a| match find(a) {
            Some(i) if !used[i] => {
                used[i] = true;
                r.matched
                    .push((devices[i].id.clone(), a.asset_tag.clone(), by));
                false
            }
            _ => true,
        });
    }
    r.never_seen = pending.iter().map(|a| a.asset_tag.clone()).collect();
    r.not_in_cmms = devices
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(d, _)| d.id.clone())
        .collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Inventory, Rules};

    const CSV: &str = "Asset Tag,Manufacturer,Model,Serial Number,MAC Address,IP Address,Firmware,Location,Department,Criticality,Cost Center\r\n\
BME-0001,Baxter Healthcare,Sigma Spectrum,SN1,58:46:E1:01:02:03,,8.01.01,ICU bed 3,ICU,Life-Sustaining,4100\r\n\
BME-0002,GE Healthcare,\"CARESCAPE B650, rev 2\",SN2,,10.0.0.7,3.1.1,\"CCU\nbay 2\",CCU,patient-affecting,4200\r\n\
BME-0003,Philips,IntelliVue MX450,SN3,not-a-mac,,,,,,\r\n\
BME-0001,Baxter,dup,SN9,58:46:E1:09:09:09,,,,,,\r\n\
BME-0004,Mindray,ePM 10,SN4,00:a0:37:aa:bb:cc,10.0.0.99,,,,business,\r\n\
too,few,fields\r\n\
,NoTag,X,SN5,00:a0:37:aa:bb:cd,,,,,,\r\n\
BME-0005,Acme,Y,SN6,,10.0.0.8,,,,toaster-grade,\r\n";

    #[test]
    fn good_bad_and_duplicate_rows() {
        let imp = parse(CSV).unwrap();
        let tags: Vec<&str> = imp.assets.iter().map(|a| a.asset_tag.as_str()).collect();
        assert_eq!(tags, ["BME-0001", "BME-0002", "BME-0004"]);
        let lines: Vec<(usize, &str)> = imp
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines[0], (5, "`not-a-mac` is not a MAC address"));
        assert_eq!(lines[1], (6, "asset tag `BME-0001` already on line 2"));
        assert_eq!(lines[2].0, 8);
        assert_eq!(lines[3], (9, "no asset tag"));
        assert!(lines[4].1.contains("toaster-grade"));
        let a = &imp.assets[1];
        assert_eq!(
            a.model.as_deref(),
            Some("CARESCAPE B650, rev 2"),
            "quoted comma"
        );
        assert_eq!(
            a.location.as_deref(),
            Some("CCU\nbay 2"),
            "quoted line break"
        );
        assert_eq!(
            imp.assets[0].criticality.as_deref(),
            Some("life-sustaining")
        );
        assert_eq!(
            imp.assets[0]
                .attributes
                .get("Cost Center")
                .map(String::as_str),
            Some("4100")
        );
        assert!(
            parse("Model,Vendor\nx,y\n")
                .unwrap_err()
                .contains("asset tag")
        );
    }

    #[test]
    fn assets_match_devices_by_mac_then_announced_tag_or_serial_then_address() {
        let mut inv = Inventory::new();
        inv.saw(
            1,
            "10.0.0.5".parse().unwrap(),
            Some([0x58, 0x46, 0xe1, 1, 2, 3]),
        );
        inv.saw(
            1,
            "10.0.0.7".parse().unwrap(),
            Some([0x00, 0x0f, 0x14, 7, 7, 7]),
        );
        inv.saw(
            1,
            "10.0.0.9".parse().unwrap(),
            Some([0x00, 0x10, 0x5d, 9, 9, 9]),
        );
        let devices: Vec<Known> = inv
            .finish(&Rules::builtin())
            .iter()
            .map(Known::from)
            .collect();
        let imp = parse(CSV).unwrap();
        let r = reconcile(&devices, &imp.assets);
        assert_eq!(
            r.matched,
            vec![
                (
                    "mac-5846e1010203".to_string(),
                    "BME-0001".to_string(),
                    "mac"
                ),
                ("mac-000f14070707".to_string(), "BME-0002".to_string(), "ip"),
            ]
        );
        assert_eq!(r.never_seen, vec!["BME-0004".to_string()]);
        assert_eq!(r.not_in_cmms, vec!["mac-00105d090909".to_string()]);

        // A device that announces its asset tag (LLDP-MED) matches by it, even when the CMMS has
        // another address on file; one that announces only its serial number, by that. Case and
        // spaces are the CMMS's own affair.
        let mut tagged = Inventory::new();
        let (pump, monitor) = ([0x00, 0x0f, 0x14, 1, 1, 1], [0x00, 0x0f, 0x14, 2, 2, 2]);
        tagged.saw(1, "10.0.0.50".parse().unwrap(), Some(pump));
        tagged.saw(1, "10.0.0.51".parse().unwrap(), Some(monitor));
        tagged.observe(
            1,
            crate::Subject::Mac(pump),
            "lldp.med.asset_id",
            "bme-0004 ",
        );
        tagged.observe(1, crate::Subject::Mac(monitor), "lldp.med.serial", "sn2");
        // A serial the CMMS does not list is no match.
        tagged.observe(
            1,
            crate::Subject::Mac(monitor),
            "lldp.med.serial",
            "SN-OTHER",
        );
        let devices: Vec<Known> = tagged
            .finish(&Rules::builtin())
            .iter()
            .map(Known::from)
            .collect();
        assert_eq!(devices[0].asset_tags, ["bme-0004"]);
        let r = reconcile(&devices, &imp.assets);
        assert_eq!(
            r.matched,
            vec![
                (
                    "mac-000f14010101".to_string(),
                    "BME-0004".to_string(),
                    "asset-tag"
                ),
                (
                    "mac-000f14020202".to_string(),
                    "BME-0002".to_string(),
                    "serial"
                ),
            ]
        );
        assert_eq!(r.never_seen, vec!["BME-0001".to_string()]);
        assert!(r.not_in_cmms.is_empty());
    }
}
