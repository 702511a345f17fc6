//! `medsentry demo`: synthesise a hospital's traffic into a temporary folder, analyse it, and show
//! what a security team would want to see first; then say what to try next.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use crate::cli::DemoArgs;
use crate::report::Report;

/// A folder removed when the demo ends (unless the user asked to keep it).
struct Workdir {
    path: PathBuf,
    keep: bool,
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn list<'a>(items: impl Iterator<Item = (&'a str, u64)>) -> String {
    let v: Vec<String> = items
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {}", thousands(n)))
        .collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(" · ")
    }
}

pub fn run(args: &DemoArgs) -> anyhow::Result<u8> {
    let dir = match &args.keep {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            Workdir {
                path: d.clone(),
                keep: true,
            }
        }
        None => {
            let p = std::env::temp_dir().join(format!("medsentry-demo-{}", std::process::id()));
            std::fs::create_dir_all(&p)
                .with_context(|| format!("cannot create {}", p.display()))?;
            Workdir {
                path: p,
                keep: false,
            }
        }
    };
    let capture = dir.path.join("hospital.pcap");
    let config = synth::Config {
        devices: args.devices.max(20),
        minutes: args.minutes.max(1),
        seed: args.seed,
        faults: synth::Faults::default(),
        format: synth::Format::Pcap,
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Synthesising a hospital: {} clinical devices and its servers, {} minutes of traffic (seed {})...",
        config.devices, config.minutes, config.seed
    )?;
    out.flush()?;
    let t0 = Instant::now();
    let truth = synth::write_files(&config, &capture)
        .with_context(|| format!("cannot write {}", capture.display()))?;
    let synth_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let report = crate::analyze::report_for(std::slice::from_ref(&capture), false)?;
    let secs = t1.elapsed().as_secs_f64();
    if args.keep.is_some() {
        let f = std::fs::File::create(dir.path.join("report.json"))?;
        serde_json::to_writer(std::io::BufWriter::new(f), &report)?;
    }
    let s = &report.summary;
    writeln!(
        out,
        "  wrote {} packets ({:.0} MB) in {:.1} s; medsentry analysed them in {:.1} s ({:.0} MB/s)\n",
        thousands(s.packets),
        truth.file_bytes as f64 / 1e6,
        synth_secs,
        secs,
        truth.file_bytes as f64 / 1e6 / secs.max(1e-9)
    )?;

    // The inventory medsentry built from the traffic alone, by category.
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    let mut vendors: BTreeMap<&str, u64> = BTreeMap::new();
    for d in &report.devices {
        *kinds.entry(d.category.as_str()).or_default() += 1;
        if let Some(v) = &d.vendor {
            *vendors.entry(v.as_str()).or_default() += 1;
        }
    }
    let life = report
        .devices
        .iter()
        .filter(|d| d.criticality == "life-sustaining")
        .count();
    writeln!(
        out,
        "Devices identified from their traffic ({})",
        thousands(report.devices.len() as u64)
    )?;
    writeln!(
        out,
        "  {:<20} {}",
        "by category",
        list(kinds.iter().map(|(k, n)| (*k, *n)))
    )?;
    writeln!(
        out,
        "  {:<20} {}",
        "by maker",
        list(vendors.iter().map(|(k, n)| (*k, *n)))
    )?;
    writeln!(
        out,
        "  {:<20} {life} life-sustaining devices (infusion pumps) on the network",
        "criticality"
    )?;
    let mut hosts = std::collections::BTreeSet::new();
    for f in report.flows.iter() {
        hosts.insert(f.client.ip);
        hosts.insert(f.server.ip);
    }
    writeln!(out)?;
    writeln!(out, "What medsentry saw on the wire")?;
    writeln!(
        out,
        "  {:<20} {} addresses talking, {} flows, {} of them encrypted",
        "network",
        thousands(hosts.len() as u64),
        thousands(s.flows),
        thousands(s.encrypted_flows)
    )?;
    writeln!(
        out,
        "  {:<20} {}",
        "applications",
        list(s.apps.iter().map(|(k, n)| (*k, *n)))
    )?;
    writeln!(
        out,
        "  {:<20} {}",
        "HL7 v2 messages",
        list(s.hl7_messages_by_type.iter().map(|(k, n)| (k.as_str(), *n)))
    )?;
    writeln!(
        out,
        "  {:<20} {}",
        "DICOM associations",
        list(s.dicom_associations.iter().map(|(k, n)| (*k, *n)))
    )?;
    writeln!(
        out,
        "  {:<20} {}",
        "DICOM commands",
        list(s.dicom_commands.iter().map(|(k, n)| (k.as_str(), *n)))
    )?;
    writeln!(out)?;

    risks(&mut out, &report)?;

    // The demo checks itself: what was analysed against what was generated.
    let report_ref = &report;
    let checks = [
        (
            "HL7 messages",
            s.hl7_messages_by_type
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect::<BTreeMap<_, _>>()
                == truth.hl7_messages_by_type,
        ),
        (
            "DICOM associations",
            s.dicom_associations
                .iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| (*k, *v))
                .collect::<BTreeMap<_, _>>()
                == truth.dicom_associations,
        ),
        (
            "DICOM commands",
            s.dicom_commands
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect::<BTreeMap<_, _>>()
                == truth.dicom_commands,
        ),
        ("flows", s.flows == truth.flow_count),
        (
            "credentials",
            s.cleartext_credentials == truth.credentials.len() as u64,
        ),
        ("devices", devices_agree(report_ref, &truth)),
    ];
    let bad: Vec<&str> = checks.iter().filter(|c| !c.1).map(|c| c.0).collect();
    if bad.is_empty() {
        writeln!(
            out,
            "Checked against the synthetic ground truth: devices (maker, category, name), flows, HL7 messages, DICOM associations and commands, credentials all equal."
        )?;
    } else {
        writeln!(
            out,
            "Checked against the synthetic ground truth: MISMATCH in {} (please report this)",
            bad.join(", ")
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Next")?;
    writeln!(
        out,
        "  medsentry analyze YOUR.pcap                  the same report for your own capture (pcap or pcapng)"
    )?;
    writeln!(
        out,
        "  medsentry analyze YOUR.pcap --format json    every flow, message, association and finding, for tools"
    )?;
    writeln!(
        out,
        "  medsentry synth -o h.pcap --devices 2000 --minutes 30 --faults all   a bigger hospital, with capture faults"
    )?;
    writeln!(
        out,
        "  medsentry analyze YOUR.pcap --db             keep the inventory (medsentry.db); then `inventory list`"
    )?;
    writeln!(
        out,
        "  medsentry kb import ADVISORIES/ && medsentry vulns   CISA advisories, NVD, KEV, EPSS against it, ranked"
    )?;
    writeln!(
        out,
        "  medsentry demo --keep DIR                    keep this demo's capture, truth and JSON report"
    )?;
    out.flush()?;
    Ok(if bad.is_empty() { 0 } else { 1 })
}

/// Every generated device identified with the maker, category and (where it is on the wire) name
/// the truth gives it, and no other device.
fn devices_agree(report: &Report, truth: &synth::Truth) -> bool {
    let by_mac: BTreeMap<&str, &crate::report::DeviceOut> = report
        .devices
        .iter()
        .filter_map(|d| Some((d.mac.as_deref()?, d)))
        .collect();
    report.devices.len() == truth.devices.len()
        && truth.devices.iter().all(|t| {
            by_mac.get(t.mac.as_str()).is_some_and(|d| {
                d.vendor.as_deref() == Some(t.vendor.as_str())
                    && d.category == t.category
                    && (!t.hostname_on_wire || d.hostname.as_deref() == Some(t.hostname.as_str()))
            })
        })
}

fn risks(out: &mut dyn Write, report: &Report) -> anyhow::Result<()> {
    let s = &report.summary;
    writeln!(out, "Risks")?;
    let phi: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == "cleartext-phi")
        .collect();
    let mut fields: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &phi {
        for x in &f.phi_fields {
            *fields.entry(x.as_ref()).or_default() += 1;
        }
    }
    let by_app = |kind: &str| {
        let mut m: BTreeMap<&str, u64> = BTreeMap::new();
        for f in report.findings.iter().filter(|f| f.kind == kind) {
            let app = report
                .flows
                .get(f.flow)
                .or_else(|| report.flows.iter().find(|fl| fl.id == f.flow))
                .map_or("?", |fl| fl.app);
            *m.entry(app).or_default() += 1;
        }
        m
    };
    let phi_apps = by_app("cleartext-phi");
    writeln!(
        out,
        "  HIGH  patient data in cleartext on {} connections ({}); fields: {}",
        phi.len(),
        list(phi_apps.iter().map(|(k, n)| (*k, *n))),
        fields.keys().copied().collect::<Vec<_>>().join(", ")
    )?;
    let cred_apps = by_app("cleartext-credentials");
    writeln!(
        out,
        "  HIGH  {} logins sent in cleartext ({}); user names are in the report, passwords never",
        s.cleartext_credentials,
        list(cred_apps.iter().map(|(k, n)| (*k, *n)))
    )?;
    let insecure = by_app("insecure-protocol");
    writeln!(
        out,
        "  MED   insecure management protocols to devices: {}",
        list(insecure.iter().map(|(k, n)| (*k, *n)))
    )?;
    writeln!(
        out,
        "  (values of patient data are never printed: the report names the fields, e.g. PID-5 is the patient's name)\n"
    )?;
    Ok(())
}
