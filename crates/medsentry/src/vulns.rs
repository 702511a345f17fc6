//! `medsentry vulns`: the inventory's devices with the known vulnerabilities that affect them,
//! ranked.
//!
//! Ranking, per vulnerability: known-exploited (CISA KEV) first; then
//! `priority = (0.6 * cvss / 10 + 0.4 * epss) * criticality * confidence`, where `cvss` is our score
//! of the highest-version vector published with the record (0 when none), `epss` the EPSS
//! probability (0 when unknown), `criticality` weighs the device's clinical criticality
//! (life-sustaining 1.0, patient-affecting 0.85, clinical-support 0.7, business 0.55, unknown 0.7)
//! and `confidence` the match (exact 1.0, model 0.8, vendor-only 0.5). Devices are ranked by their
//! worst affected vulnerability the same way. Fixed and not-affected entries follow, unranked.

use std::collections::HashMap;
use std::io::Write;

use knowledge::kb::KnowledgeBase;
use knowledge::matcher::{Confidence, DeviceFacts, Match, Matcher, Status};
use serde::Serialize;
use store::{CmmsAsset, DeviceDetail, DeviceFilter, Store};

use crate::cli::{OutputFormat, VulnsArgs};

#[derive(Debug, Serialize)]
pub struct DeviceVulns {
    pub device: DeviceRef,
    pub vulnerabilities: Vec<VulnOut>,
}

#[derive(Debug, Serialize)]
pub struct DeviceRef {
    pub id: String,
    pub asset_tag: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub version: Option<String>,
    pub criticality: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VulnOut {
    pub cve: String,
    pub advisory: Option<String>,
    pub cvss: Option<CvssOut>,
    pub kev: Option<KevOut>,
    pub epss: Option<knowledge::kb::Epss>,
    pub status: Status,
    pub confidence: Confidence,
    pub priority: f64,
    pub why: Vec<String>,
    pub justification: Option<String>,
    pub remediation: Vec<RemediationOut>,
}

#[derive(Debug, Serialize)]
pub struct RemediationOut {
    pub category: String,
    pub details: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CvssOut {
    pub version: String,
    pub vector: String,
    pub score: Option<f64>,
    pub severity: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct KevOut {
    pub date_added: String,
    pub due_date: Option<String>,
    pub ransomware: Option<String>,
}

pub fn run(args: &VulnsArgs) -> anyhow::Result<u8> {
    if !args.db.contains("://") && !std::path::Path::new(&args.db).exists() {
        anyhow::bail!(
            "{}: no such database (run `medsentry analyze --db {} CAPTURE`, `medsentry inventory import-cmms` or `medsentry kb import` first)",
            args.db,
            args.db
        );
    }
    let t0 = std::time::Instant::now();
    let mut db = Store::open(&args.db)?;
    let (kb, _) = crate::kb_cmd::load(&mut db)?;
    let t1 = std::time::Instant::now();
    let mut devices = facts(&mut db, args.device.as_deref())?;
    let t2 = std::time::Instant::now();
    if let Some(want) = &args.device
        && devices.is_empty()
    {
        anyhow::bail!(
            "{}: no device `{want}` (an id, a MAC, an address or an asset tag)",
            args.db
        );
    }
    let ranked = rank(&kb, &mut devices, args.all);
    if args.timings {
        let t3 = std::time::Instant::now();
        // Matching alone, every device on its own (no reuse across identical devices).
        let m = Matcher::new(&kb);
        let pairs: usize = devices.iter().map(|d| m.device(d).len()).sum();
        eprintln!(
            "medsentry: knowledge loaded in {:.3} s, {} devices read in {:.3} s, matched and ranked in {:.3} s \
             (matching alone: {:.3} s, {pairs} matches)",
            (t1 - t0).as_secs_f64(),
            devices.len(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
            t3.elapsed().as_secs_f64()
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &ranked)?;
            writeln!(out)?;
        }
        OutputFormat::Table => table(&mut out, &ranked, devices.len())?,
    }
    out.flush()?;
    Ok(0)
}

/// What the store knows of each device: its passive identity and its CMMS row (matched devices),
/// plus CMMS assets never seen on the network.
fn facts(db: &mut Store, only: Option<&str>) -> anyhow::Result<Vec<DeviceFacts>> {
    let assets = db.cmms_assets()?;
    let mut by_device: HashMap<String, &CmmsAsset> = HashMap::new();
    for a in &assets {
        if let Some(d) = &a.device {
            by_device.insert(d.clone(), a);
        }
    }
    let only_id = match only {
        Some(key) => db.resolve(key)?,
        None => None,
    };
    let mut out = Vec::new();
    db.export(
        &DeviceFilter::default(),
        |d: DeviceDetail| -> anyhow::Result<()> {
            if only.is_some() && only_id.as_deref() != Some(d.device.id.as_str()) {
                return Ok(());
            }
            out.push(device_facts(&d, by_device.get(&d.device.id).copied()));
            Ok(())
        },
    )?;
    for a in assets.iter().filter(|a| a.device.is_none()) {
        let id = format!("cmms:{}", a.key);
        if let Some(want) = only
            && want != id
            && Some(want) != a.asset_tag.as_deref()
        {
            continue;
        }
        out.push(cmms_facts(id, a));
    }
    if let Some(want) = only
        && out.is_empty()
    {
        // An asset tag of a device seen on the network.
        if let Some(dev) = assets
            .iter()
            .find(|a| a.asset_tag.as_deref() == Some(want))
            .and_then(|a| a.device.as_deref())
        {
            return facts(db, Some(dev));
        }
    }
    Ok(out)
}

fn cmms_facts(id: String, a: &CmmsAsset) -> DeviceFacts {
    let attributes: HashMap<String, String> =
        serde_json::from_str(&a.attributes).unwrap_or_default();
    let cpes = attributes
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cpe"))
        .flat_map(|(_, v)| {
            v.split([' ', ';'])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .collect();
    DeviceFacts {
        id,
        asset_tag: a.asset_tag.clone(),
        vendors: a.vendor.iter().cloned().collect(),
        models: a.model.iter().cloned().collect(),
        version: a.software.clone(),
        cpes,
        criticality: a.criticality.clone(),
    }
}

fn device_facts(d: &DeviceDetail, cmms: Option<&CmmsAsset>) -> DeviceFacts {
    let s = &d.device;
    let mut f = match cmms {
        Some(a) => cmms_facts(s.id.clone(), a),
        None => DeviceFacts {
            id: s.id.clone(),
            ..DeviceFacts::default()
        },
    };
    // The register first (a person wrote it), then what the traffic says.
    f.vendors.extend(s.vendor.iter().cloned());
    f.models.extend(s.model.iter().cloned());
    if f.version.is_none() {
        f.version = s.software.clone().filter(|v| version_like(v));
    }
    if f.criticality.is_none() {
        f.criticality = s.criticality.clone();
    }
    f.vendors.dedup();
    f.models.dedup();
    f
}

/// `2.3.1`, `v4.4.0`, `B.06.18`: a software field that is a version, not a product name.
fn version_like(v: &str) -> bool {
    let v = v.trim().trim_start_matches(['v', 'V']);
    v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && v.contains('.')
        && !v.contains(' ')
}

fn criticality_weight(c: Option<&str>) -> f64 {
    match c {
        Some("life-sustaining") => 1.0,
        Some("patient-affecting") => 0.85,
        Some("clinical-support") => 0.7,
        Some("business") => 0.55,
        _ => 0.7,
    }
}

fn confidence_weight(c: Confidence) -> f64 {
    match c {
        Confidence::Exact => 1.0,
        Confidence::Model => 0.8,
        Confidence::Vendor => 0.5,
    }
}

/// Matches every device, enriches and ranks. Devices with nothing to show are left out.
pub fn rank(kb: &KnowledgeBase, devices: &mut [DeviceFacts], all: bool) -> Vec<DeviceVulns> {
    let matcher = Matcher::new(kb);
    let mut out: Vec<(bool, f64, DeviceVulns)> = Vec::new();
    // A hospital's fleet repeats itself (hundreds of pumps of one model at one firmware): devices
    // with the same facts match the same way, so each distinct set of facts is matched once.
    type Key = (Vec<String>, Vec<String>, Option<String>, Vec<String>);
    let mut memo: HashMap<Key, Vec<Match<'_>>> = HashMap::new();
    let mut scores: HashMap<String, Option<knowledge::cvss::Scores>> = HashMap::new();
    for d in devices.iter() {
        let key = (
            d.vendors.clone(),
            d.models.clone(),
            d.version.clone(),
            d.cpes.clone(),
        );
        let matches = memo.entry(key).or_insert_with(|| matcher.device(d));
        let mut vulns: Vec<VulnOut> = matches
            .iter()
            .filter(|m| all || m.status == Status::Affected)
            .map(|m| enrich(kb, m, d.criticality.as_deref(), &mut scores))
            .collect();
        if vulns.is_empty() {
            continue;
        }
        vulns.sort_by(|a, b| {
            order(a)
                .partial_cmp(&order(b))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.cve.cmp(&b.cve))
        });
        let affected: Vec<&VulnOut> = vulns
            .iter()
            .filter(|v| v.status == Status::Affected)
            .collect();
        let kev = affected.iter().any(|v| v.kev.is_some());
        let top = affected.iter().map(|v| v.priority).fold(0.0, f64::max);
        out.push((
            kev,
            top,
            DeviceVulns {
                device: DeviceRef {
                    id: d.id.clone(),
                    asset_tag: d.asset_tag.clone(),
                    vendor: d.vendors.first().cloned(),
                    model: d.models.first().cloned(),
                    version: d.version.clone(),
                    criticality: d.criticality.clone(),
                },
                vulnerabilities: vulns,
            },
        ));
    }
    out.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal))
            .then_with(|| a.2.device.id.cmp(&b.2.device.id))
    });
    out.into_iter().map(|(_, _, d)| d).collect()
}

/// Sort key: affected before the rest, known-exploited first, then priority (descending).
fn order(v: &VulnOut) -> (u8, u8, f64) {
    (
        u8::from(v.status != Status::Affected),
        u8::from(v.kev.is_none()),
        -v.priority,
    )
}

fn enrich(
    kb: &KnowledgeBase,
    m: &Match<'_>,
    criticality: Option<&str>,
    scores: &mut HashMap<String, Option<knowledge::cvss::Scores>>,
) -> VulnOut {
    // The highest CVSS version published, scored by us (the vector is authoritative).
    let cvss = m.cvss.iter().find(|c| c.version != "2.0").map(|c| {
        let scored = *scores
            .entry(c.vector.clone())
            .or_insert_with(|| knowledge::cvss::score(&c.vector).ok());
        CvssOut {
            version: c.version.clone(),
            vector: c.vector.clone(),
            score: scored.map(|s| s.score).or(c.base_score),
            severity: scored.map(|s| s.severity.as_str().to_string()),
        }
    });
    let kev = kb.kev(&m.cve).map(|k| KevOut {
        date_added: k.date_added.clone(),
        due_date: k.due_date.clone(),
        ransomware: k.ransomware.clone(),
    });
    let epss = kb.epss(&m.cve);
    let base = cvss.as_ref().and_then(|c| c.score).unwrap_or(0.0);
    let p = epss.map_or(0.0, |e| f64::from(e.probability));
    let priority = ((0.6 * base / 10.0 + 0.4 * p)
        * criticality_weight(criticality)
        * confidence_weight(m.confidence)
        * 1000.0)
        .round()
        / 1000.0;
    VulnOut {
        cve: m.cve.clone(),
        advisory: m.advisory.clone(),
        cvss,
        kev,
        epss,
        status: m.status,
        confidence: m.confidence,
        priority,
        why: m.why.clone(),
        justification: m.justification.clone(),
        remediation: m
            .remediation
            .iter()
            .map(|r| RemediationOut {
                category: r.category.clone(),
                details: r.details.clone(),
                url: r.url.clone(),
            })
            .collect(),
    }
}

fn table(out: &mut dyn Write, ranked: &[DeviceVulns], devices: usize) -> std::io::Result<()> {
    let affected: usize = ranked
        .iter()
        .map(|d| {
            d.vulnerabilities
                .iter()
                .filter(|v| v.status == Status::Affected)
                .count()
        })
        .sum();
    writeln!(
        out,
        "{} of {devices} devices have known vulnerabilities ({affected} device-vulnerability pairs affected)",
        ranked
            .iter()
            .filter(|d| d
                .vulnerabilities
                .iter()
                .any(|v| v.status == Status::Affected))
            .count()
    )?;
    for d in ranked {
        let dv = &d.device;
        writeln!(
            out,
            "\n{}{}  {} {} {}  [{}]",
            dv.id,
            dv.asset_tag
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default(),
            dv.vendor.as_deref().unwrap_or("?"),
            dv.model.as_deref().unwrap_or("?"),
            dv.version.as_deref().unwrap_or("version ?"),
            dv.criticality.as_deref().unwrap_or("criticality ?"),
        )?;
        for v in &d.vulnerabilities {
            let score = v
                .cvss
                .as_ref()
                .and_then(|c| c.score)
                .map_or("  - ".into(), |s| format!("{s:>4.1}"));
            let epss = v
                .epss
                .map_or("    -".into(), |e| format!("{:>5.3}", e.probability));
            writeln!(
                out,
                "  {:<16} {:<12} {:<7} cvss {score} epss {epss} {:<4} prio {:.3}  {}",
                v.cve,
                format!("{:?}", v.status).to_lowercase(),
                format!("{:?}", v.confidence).to_lowercase(),
                if v.kev.is_some() { "KEV" } else { "" },
                v.priority,
                v.advisory.as_deref().unwrap_or("NVD"),
            )?;
            if let Some(w) = v.why.first() {
                writeln!(out, "      why: {w}")?;
            }
        }
    }
    Ok(())
}
