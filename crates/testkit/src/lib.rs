//! Test support: finding the shared corpus and the reference tools, the same way in every crate's tests.
//!
//! Tests read the corpus from `$MEDSENTRY_CORPUS` (default `../shared/data` beside the checkout). Where it
//! is absent, corpus tests print a notice and pass, so a fresh clone's `cargo test` works; with
//! `MEDSENTRY_REQUIRE_CORPUS=1` (as `.ci/run` sets) a missing corpus or tool fails the test instead.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn required() -> bool {
    std::env::var("MEDSENTRY_REQUIRE_CORPUS").as_deref() == Ok("1")
}

/// The corpus folder, or `None` (with a notice) when it is absent and not required.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("MEDSENTRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("captures").is_dir() {
        return Some(dir);
    }
    assert!(
        !required(),
        "MEDSENTRY_REQUIRE_CORPUS=1 but the corpus is not at {}",
        dir.display()
    );
    eprintln!(
        "notice: corpus not found at {}; skipping corpus tests",
        dir.display()
    );
    None
}

/// Every capture (`.pcap`, `.pcapng`) under `dir`, at any depth, sorted.
pub fn captures_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The shared tools folder (`../shared/tools`), beside the corpus.
pub fn tools() -> Option<PathBuf> {
    let dir = corpus()?.join("../tools");
    dir.is_dir().then_some(dir)
}

/// `tshark`, or `None` (with a notice) when it is not installed and not required.
pub fn tshark() -> Option<&'static str> {
    if Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some("tshark");
    }
    assert!(
        !required(),
        "MEDSENTRY_REQUIRE_CORPUS=1 but tshark is not installed (apt-get install tshark)"
    );
    eprintln!("notice: tshark not installed; skipping comparisons with it");
    None
}

/// A scratch folder for files a test makes (damaged copies of captures, text files), removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("medsentry-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch folder");
        Scratch { dir }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The 1.5 GiB capture of `../shared/tools/gen_big.py`, when `MEDSENTRY_BIG_PCAP` names it (`.ci/run`
/// makes it once per machine); `None` with a notice otherwise.
pub fn big_pcap() -> Option<PathBuf> {
    let path = std::env::var_os("MEDSENTRY_BIG_PCAP").map(PathBuf::from);
    if path.is_none() {
        eprintln!("notice: MEDSENTRY_BIG_PCAP not set; skipping the big-capture check");
    }
    path
}

/// A classic little-endian pcap rewritten as if captured with `snaplen`: every record keeps at most
/// that many bytes, its original length unchanged, and the file header says so.
pub fn with_snaplen(pcap: &[u8], snaplen: usize) -> Vec<u8> {
    let mut out = pcap[..24].to_vec();
    out[16..20].copy_from_slice(&(snaplen as u32).to_le_bytes());
    let mut offset = 24;
    while offset + 16 <= pcap.len() {
        let caplen =
            u32::from_le_bytes(pcap[offset + 8..offset + 12].try_into().expect("4 bytes")) as usize;
        let keep = caplen.min(snaplen);
        out.extend_from_slice(&pcap[offset..offset + 8]);
        out.extend_from_slice(&(keep as u32).to_le_bytes());
        out.extend_from_slice(&pcap[offset + 12..offset + 16 + keep]);
        offset += 16 + caplen;
    }
    out
}

/// BER encoding for tests that build SNMP messages by hand.
pub mod ber {
    /// A BER element, with a short- or long-form length (up to two octets) as needed.
    pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match value.len() {
            n @ 0..0x80 => out.push(n as u8),
            n @ 0x80..0x100 => out.extend_from_slice(&[0x81, n as u8]),
            n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(value);
        out
    }

    /// An OID's BER contents from its dotted text.
    pub fn oid(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().expect("arc")).collect();
        let mut out = vec![(arcs[0] * 40 + arcs[1]) as u8];
        for &arc in &arcs[2..] {
            let mut groups = vec![(arc & 0x7f) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                groups.push((rest & 0x7f) as u8 | 0x80);
                rest >>= 7;
            }
            out.extend(groups.iter().rev());
        }
        out
    }

    /// An SNMP variable binding: the OID `name` and an encoded value.
    pub fn varbind(name: &str, value: Vec<u8>) -> Vec<u8> {
        tlv(0x30, &[tlv(0x06, &oid(name)), value].concat())
    }
}

/// The values of a report device's evidence `field` (`devices[].evidence[]` of the JSON report), in
/// the report's order.
pub fn evidence_values(device: &serde_json::Value, field: &str) -> Vec<String> {
    device["evidence"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|e| e["field"] == field)
                .filter_map(|e| e["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
