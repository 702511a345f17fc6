//! `medsentry inventory list|show|export|import-cmms`: the device inventory kept by `analyze --db`.

use std::io::Write;

use anyhow::Context;
use store::{DeviceDetail, DeviceFilter, Store};

use crate::cli::{ExportFormat, InventoryArgs, InventoryCommand, OutputFormat};

fn time(ns: i64) -> String {
    capture::Timestamp(ns)
        .format_rfc3339(&mut [0; capture::time::RFC3339_LEN])
        .to_string()
}

fn dash(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

pub fn run(args: &InventoryArgs) -> anyhow::Result<u8> {
    // A register can be imported into a new database (before any capture is analysed); reading
    // needs one that exists.
    let creates = matches!(args.command, InventoryCommand::ImportCmms { .. });
    if !creates && !args.db.contains("://") && !std::path::Path::new(&args.db).exists() {
        anyhow::bail!(
            "{}: no such database (run `medsentry analyze --db {} CAPTURE` first)",
            args.db,
            args.db
        );
    }
    let mut db = Store::open(&args.db)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match &args.command {
        InventoryCommand::List {
            category,
            vendor,
            software,
            limit,
            format,
        } => {
            let filter = DeviceFilter {
                category: category.clone(),
                vendor: vendor.clone(),
                software: software.clone(),
                limit: Some(*limit),
                ..DeviceFilter::default()
            };
            let devices = db.list_devices(&filter)?;
            match format {
                OutputFormat::Json => {
                    let rows: Vec<serde_json::Value> = devices
                        .iter()
                        .map(|d| {
                            serde_json::json!({
                                "id": d.id, "mac": d.mac, "ips": d.ips, "category": d.category,
                                "criticality": d.criticality, "vendor": d.vendor, "model": d.model,
                                "hostname": d.hostname, "software": d.software, "role": d.role,
                                "modality": d.modality, "first_seen": time(d.first_seen_ns),
                                "last_seen": time(d.last_seen_ns), "first_run": d.first_run.0, "last_run": d.last_run.0,
                            })
                        })
                        .collect();
                    serde_json::to_writer_pretty(&mut out, &rows)?;
                    writeln!(out)?;
                }
                OutputFormat::Table => {
                    writeln!(
                        out,
                        "{:<20} {:<20} {:<17} {:<16} {:<18} {:<22} {:<18} {:<27} software",
                        "id",
                        "category",
                        "criticality",
                        "address",
                        "vendor",
                        "model",
                        "hostname",
                        "last seen"
                    )?;
                    for d in &devices {
                        writeln!(
                            out,
                            "{:<20} {:<20} {:<17} {:<16} {:<18} {:<22} {:<18} {:<27} {}",
                            d.id,
                            d.category,
                            dash(&d.criticality),
                            d.ips.first().map_or("-", String::as_str),
                            dash(&d.vendor),
                            dash(&d.model),
                            dash(&d.hostname),
                            time(d.last_seen_ns),
                            dash(&d.software)
                        )?;
                    }
                    writeln!(out, "{} devices", devices.len())?;
                }
            }
        }
        InventoryCommand::Show { id, format } => {
            let Some(d) = db.device(id)? else {
                anyhow::bail!("{}: no device `{id}` (an id, a MAC or an address)", args.db);
            };
            let cmms: Vec<store::CmmsAsset> = db
                .cmms_assets()?
                .into_iter()
                .filter(|a| a.device.as_deref() == Some(d.device.id.as_str()))
                .collect();
            match format {
                OutputFormat::Json => {
                    let mut v = detail_json(&d);
                    v["cmms"] = cmms.iter().map(cmms_json).collect();
                    serde_json::to_writer_pretty(&mut out, &v)?;
                    writeln!(out)?;
                }
                OutputFormat::Table => {
                    show(&mut out, &d)?;
                    for a in &cmms {
                        writeln!(
                            out,
                            "CMMS asset {} (line {}): {} {} version {}, serial {}, {} / {}, criticality {}",
                            a.key,
                            a.line,
                            dash(&a.vendor),
                            dash(&a.model),
                            dash(&a.software),
                            dash(&a.serial),
                            dash(&a.department),
                            dash(&a.location),
                            dash(&a.criticality)
                        )?;
                    }
                }
            }
        }
        InventoryCommand::Export { format, output } => {
            let mut sink: Box<dyn Write> = match output {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout())),
            };
            let n = match format {
                ExportFormat::Csv => {
                    writeln!(
                        sink,
                        "id,mac,ips,category,criticality,vendor,model,hostname,software,role,modality,first_seen,last_seen"
                    )?;
                    db.export(
                        &DeviceFilter::default(),
                        |d: DeviceDetail| -> anyhow::Result<()> {
                            let s = &d.device;
                            let cells = [
                                s.id.clone(),
                                s.mac.clone().unwrap_or_default(),
                                ips(&d).join(" "),
                                s.category.clone(),
                                s.criticality.clone().unwrap_or_default(),
                                s.vendor.clone().unwrap_or_default(),
                                s.model.clone().unwrap_or_default(),
                                s.hostname.clone().unwrap_or_default(),
                                s.software.clone().unwrap_or_default(),
                                s.role.clone().unwrap_or_default(),
                                s.modality.clone().unwrap_or_default(),
                                time(s.first_seen_ns),
                                time(s.last_seen_ns),
                            ];
                            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                            writeln!(sink, "{}", line.join(","))?;
                            Ok(())
                        },
                    )?
                }
                ExportFormat::Json => {
                    let mut rows = Vec::new();
                    let n = db.export(
                        &DeviceFilter::default(),
                        |d: DeviceDetail| -> anyhow::Result<()> {
                            rows.push(detail_json(&d));
                            Ok(())
                        },
                    )?;
                    serde_json::to_writer_pretty(&mut sink, &rows)?;
                    writeln!(sink)?;
                    n
                }
            };
            sink.flush()?;
            eprintln!("medsentry: exported {n} devices");
        }
        InventoryCommand::ImportCmms { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let import = inventory::cmms::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            for e in &import.errors {
                eprintln!(
                    "medsentry: {}:{}: {} (row skipped)",
                    file.display(),
                    e.line,
                    e.message
                );
            }
            let mut known = Vec::new();
            db.export(
                &DeviceFilter::default(),
                |d: DeviceDetail| -> anyhow::Result<()> {
                    let mut k = inventory::cmms::Known {
                        id: d.device.id.clone(),
                        mac: d.device.mac.as_deref().and_then(inventory::cmms::parse_mac),
                        ips: d
                            .device
                            .ips
                            .iter()
                            .chain(d.addresses.iter().map(|a| &a.ip))
                            .filter_map(|i| i.parse().ok())
                            .collect(),
                        ..Default::default()
                    };
                    for e in &d.evidence {
                        k.announced(&e.field, &e.value);
                    }
                    known.push(k);
                    Ok(())
                },
            )?;
            let r = inventory::cmms::reconcile(&known, &import.assets);
            let device_of: std::collections::HashMap<&str, &str> = r
                .matched
                .iter()
                .map(|(id, tag, _)| (tag.as_str(), id.as_str()))
                .collect();
            let assets: Vec<store::CmmsAsset> = import
                .assets
                .iter()
                .map(|a| cmms_row(a, device_of.get(a.asset_tag.as_str()).copied()))
                .collect();
            db.save_cmms(&assets, crate::persist::now_ns())?;
            writeln!(
                out,
                "{} assets imported, {} rows skipped",
                import.assets.len(),
                import.errors.len()
            )?;
            writeln!(out, "matched ({}):", r.matched.len())?;
            for (id, tag, by) in &r.matched {
                writeln!(out, "  {tag:<16} {id:<24} by {by}")?;
            }
            writeln!(
                out,
                "on the network, not in the CMMS ({}):",
                r.not_in_cmms.len()
            )?;
            for id in &r.not_in_cmms {
                writeln!(out, "  {id}")?;
            }
            writeln!(
                out,
                "in the CMMS, never seen on the network ({}):",
                r.never_seen.len()
            )?;
            for tag in &r.never_seen {
                writeln!(out, "  {tag}")?;
            }
            out.flush()?;
            return Ok(u8::from(!import.errors.is_empty()));
        }
    }
    out.flush()?;
    Ok(0)
}

/// A CMMS row as the store keeps it: MAC in the inventory's spelling, unknown columns as JSON.
fn cmms_row(a: &inventory::cmms::Asset, device: Option<&str>) -> store::CmmsAsset {
    let mac = a.mac.map(|m| {
        m.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    });
    store::CmmsAsset {
        key: a.asset_tag.clone(),
        asset_tag: Some(a.asset_tag.clone()),
        vendor: a.vendor.clone(),
        model: a.model.clone(),
        serial: a.serial.clone(),
        mac,
        ip: a.ip.map(|i| i.to_string()),
        software: a.software_version.clone(),
        location: a.location.clone(),
        department: a.department.clone(),
        criticality: a.criticality.clone(),
        attributes: serde_json::to_string(&a.attributes).unwrap_or_else(|_| "{}".into()),
        device: device.map(str::to_string),
        line: i64::try_from(a.line).unwrap_or(i64::MAX),
    }
}

pub fn cmms_json(a: &store::CmmsAsset) -> serde_json::Value {
    let attributes: serde_json::Value =
        serde_json::from_str(&a.attributes).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "asset_tag": a.asset_tag, "vendor": a.vendor, "model": a.model, "serial": a.serial,
        "mac": a.mac, "ip": a.ip, "software_version": a.software, "location": a.location,
        "department": a.department, "criticality": a.criticality, "attributes": attributes,
        "line": a.line,
    })
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A device's addresses: those listed with it, else its address history.
fn ips(d: &DeviceDetail) -> Vec<String> {
    if d.device.ips.is_empty() {
        d.addresses.iter().map(|a| a.ip.clone()).collect()
    } else {
        d.device.ips.clone()
    }
}

fn detail_json(d: &DeviceDetail) -> serde_json::Value {
    let s = &d.device;
    serde_json::json!({
        "id": s.id, "mac": s.mac, "ips": ips(d), "category": s.category, "criticality": s.criticality,
        "vendor": s.vendor, "model": s.model, "hostname": s.hostname, "software": s.software,
        "role": s.role, "modality": s.modality,
        "first_seen": time(s.first_seen_ns), "last_seen": time(s.last_seen_ns),
        "decided": d.fields.iter().map(|f| serde_json::json!({
            "field": f.field.field, "value": f.field.value, "confidence": f.field.confidence,
            "rule": f.field.rule, "reason": f.field.reason,
            "evidence": {"field": f.field.evidence_field, "value": f.field.evidence_value}, "run": f.run.0,
        })).collect::<Vec<_>>(),
        "addresses": d.addresses.iter().map(|a| serde_json::json!({
            "ip": a.ip, "first_seen": time(a.first_seen_ns), "last_seen": time(a.last_seen_ns),
        })).collect::<Vec<_>>(),
        "evidence": d.evidence.iter().map(|e| serde_json::json!({
            "field": e.field, "value": e.value, "count": e.count,
            "first_seen": time(e.first_seen_ns), "last_seen": time(e.last_seen_ns),
        })).collect::<Vec<_>>(),
        "communications": d.communications.iter().map(|c| serde_json::json!({
            "peer": c.peer_ip, "peer_device": c.peer_device, "port": c.peer_port, "transport": c.transport,
            "app": c.app, "direction": c.direction.as_str(), "flows": c.flows, "packets": c.packets, "bytes": c.bytes,
            "first_seen": time(c.first_seen_ns), "last_seen": time(c.last_seen_ns),
        })).collect::<Vec<_>>(),
        "changes": d.changes.iter().map(|c| serde_json::json!({
            "run": c.run.0, "field": c.field, "old": c.old, "new": c.new,
        })).collect::<Vec<_>>(),
        "findings": d.findings.iter().map(|f| serde_json::json!({
            "run": f.run.0, "address": f.finding.address, "kind": f.finding.kind,
            "severity": f.finding.severity, "title": f.finding.title, "flows": f.finding.flows,
            "first_flow": f.finding.flow, "last_flow": f.finding.last_flow,
            "fields": f.finding.fields, "detail": f.finding.detail,
        })).collect::<Vec<_>>(),
    })
}

/// Where the device is plugged in, when a relaying switch said so (DHCP option 82): the port, and
/// the switch.
fn plugged_into(d: &DeviceDetail) -> Option<String> {
    let first = |field: &str| {
        d.evidence
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.value.as_str())
    };
    match (
        first("dhcp.relay.circuit_id"),
        first("dhcp.relay.remote_id"),
    ) {
        (Some(port), Some(switch)) => Some(format!("{port} of {switch}")),
        (Some(port), None) => Some(port.to_string()),
        (None, Some(switch)) => Some(format!("a port of {switch}")),
        (None, None) => None,
    }
}

fn show(out: &mut dyn Write, d: &DeviceDetail) -> std::io::Result<()> {
    let s = &d.device;
    writeln!(out, "{}  {}  {}", s.id, dash(&s.mac), ips(d).join(" "))?;
    writeln!(
        out,
        "  seen {} .. {} (runs {} .. {})",
        time(s.first_seen_ns),
        time(s.last_seen_ns),
        s.first_run,
        s.last_run
    )?;
    if let Some(place) = plugged_into(d) {
        writeln!(out, "  plugged into {place} (as its DHCP relay says)")?;
    }
    writeln!(out, "Fields (value, confidence, rule: reason <- evidence)")?;
    for f in &d.fields {
        let f = &f.field;
        writeln!(
            out,
            "  {:<12} {:<28} {:.2}  {}: {} <- {} = {}",
            f.field, f.value, f.confidence, f.rule, f.reason, f.evidence_field, f.evidence_value
        )?;
    }
    writeln!(out, "Evidence")?;
    for e in &d.evidence {
        writeln!(out, "  {:<32} {:<40} x{}", e.field, e.value, e.count)?;
    }
    writeln!(out, "Communications (largest first)")?;
    for c in &d.communications {
        writeln!(
            out,
            "  {:<3} {:<24} {}/{:<5} {:<8} {:>8} flows {:>12} bytes",
            c.direction.as_str(),
            c.peer_device.as_deref().unwrap_or(&c.peer_ip),
            c.transport,
            c.peer_port,
            c.app,
            c.flows,
            c.bytes
        )?;
    }
    if !d.changes.is_empty() {
        writeln!(out, "Changes")?;
        for c in &d.changes {
            writeln!(
                out,
                "  run {}: {} {} -> {}",
                c.run,
                c.field,
                dash(&c.old),
                dash(&c.new)
            )?;
        }
    }
    if !d.findings.is_empty() {
        writeln!(out, "Findings (flows; PHI fields or user names)")?;
        for f in &d.findings {
            let f_ = &f.finding;
            write!(
                out,
                "  run {}: {} {} {} ({} flow{}",
                f.run,
                f_.severity,
                f_.kind,
                f_.title,
                f_.flows,
                if f_.flows == 1 { "" } else { "s" }
            )?;
            if !f_.fields.is_empty() {
                write!(out, "; {}", f_.fields.join(", "))?;
            }
            writeln!(out, ")")?;
        }
    }
    Ok(())
}
