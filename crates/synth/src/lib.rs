//! Synthetic hospital traffic with exact ground truth.
//!
//! [`generate`] builds a hospital ([`hospital`]), plans its day ([`plan`]), and writes the packets
//! in time order ([`emit`]) as real stacks would ([`tcp`], [`wire`], [`payload`]), with the capture
//! faults asked for. The [`Truth`] it returns says exactly what an analyser must find.

pub mod apps;
pub mod clock;
pub mod emit;
pub mod hospital;
pub mod patients;
pub mod payload;
pub mod pcapw;
pub mod plan;
pub mod rng;
pub mod tcp;
pub mod truth;
pub mod wire;

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use pcapw::Format;
pub use truth::Truth;

/// Capture faults, each at a rate: per data segment for the TCP ones, per device for VLAN tags and
/// IPv6.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    pub retransmit: f64,
    pub reorder: f64,
    pub loss: f64,
    pub duplicate: f64,
    pub truncate: f64,
    pub vlan: f64,
    pub ipv6: f64,
}

const FAULT_NAMES: [&str; 7] = [
    "retransmit",
    "reorder",
    "loss",
    "duplicate",
    "truncate",
    "vlan",
    "ipv6",
];
const DEFAULT_RATES: [f64; 7] = [0.01, 0.01, 0.002, 0.005, 0.002, 0.25, 0.15];

impl Faults {
    fn slot(&mut self, i: usize) -> &mut f64 {
        match i {
            0 => &mut self.retransmit,
            1 => &mut self.reorder,
            2 => &mut self.loss,
            3 => &mut self.duplicate,
            4 => &mut self.truncate,
            5 => &mut self.vlan,
            _ => &mut self.ipv6,
        }
    }

    fn get(&self, i: usize) -> f64 {
        [
            self.retransmit,
            self.reorder,
            self.loss,
            self.duplicate,
            self.truncate,
            self.vlan,
            self.ipv6,
        ][i]
    }

    /// `none`, `all`, or a comma-separated list of `NAME` or `NAME=RATE` (rates in 0..=1; a name alone
    /// takes its default rate).
    pub fn parse(s: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for item in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            if item == "none" {
                continue;
            }
            if item == "all" {
                for (i, rate) in DEFAULT_RATES.iter().enumerate() {
                    *f.slot(i) = *rate;
                }
                continue;
            }
            let (name, rate) = match item.split_once('=') {
                Some((n, r)) => (n.trim(), Some(r.trim())),
                None => (item, None),
            };
            let i = FAULT_NAMES.iter().position(|n| *n == name).ok_or_else(|| {
                format!(
                    "unknown fault `{name}` (known: none, all, {})",
                    FAULT_NAMES.join(", ")
                )
            })?;
            let rate = match rate {
                Some(r) => r
                    .parse::<f64>()
                    .ok()
                    .filter(|v| (0.0..=1.0).contains(v))
                    .ok_or_else(|| {
                        format!("fault `{name}`: rate `{r}` is not a number from 0 to 1")
                    })?,
                None => DEFAULT_RATES[i],
            };
            *f.slot(i) = rate;
        }
        Ok(f)
    }

    fn segment(&self) -> tcp::SegmentFaults {
        tcp::SegmentFaults {
            retransmit: self.retransmit,
            reorder: self.reorder,
            loss: self.loss,
            duplicate: self.duplicate,
            truncate: self.truncate,
        }
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = (0..FAULT_NAMES.len())
            .filter(|&i| self.get(i) > 0.0)
            .map(|i| format!("{}={}", FAULT_NAMES[i], self.get(i)))
            .collect();
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Clinical devices (the servers come on top).
    pub devices: usize,
    pub minutes: u32,
    pub seed: u64,
    pub faults: Faults,
    pub format: Format,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            devices: 200,
            minutes: 10,
            seed: 1,
            faults: Faults::default(),
            format: Format::Pcap,
        }
    }
}

/// Writes the capture to `out` and returns its truth.
pub fn generate(config: &Config, out: Box<dyn Write>) -> io::Result<Truth> {
    let hospital = hospital::Hospital::build(
        config.seed,
        config.devices.max(1),
        config.faults.vlan,
        config.faults.ipv6,
    );
    let mut truth = Truth {
        schema: truth::SCHEMA,
        generator: truth::Generator {
            devices: config.devices,
            minutes: config.minutes,
            seed: config.seed,
            faults: config.faults.to_string(),
            format: match config.format {
                Format::Pcap => "pcap",
                Format::Pcapng => "pcapng",
            },
        },
        ..Truth::default()
    };
    truth.devices = hospital.devices.iter().map(|d| d.row()).collect();
    truth.faults.vlan_devices = hospital.devices.iter().filter(|d| d.vlan.is_some()).count() as u64;
    truth.faults.ipv6_devices = hospital
        .devices
        .iter()
        .filter(|d| d.ip6.is_some() && d.dhcp)
        .count() as u64;
    let mut plan = plan::Plan::new(
        &hospital,
        config.seed,
        clock::capture_start_us(),
        config.minutes,
        config.faults.segment(),
    );
    plan.build(&mut truth);
    let plans = std::mem::take(&mut plan.plans);
    let writer = pcapw::PcapWriter::new(out, config.format)?;
    let mut em = emit::Emitter::new(writer, truth);
    emit::run(plans, &mut em)?;
    em.finish()
}

/// The truth file's path for a capture: `FILE.truth.json`.
pub fn truth_path(capture: &Path) -> PathBuf {
    let mut s = capture.as_os_str().to_owned();
    s.push(".truth.json");
    PathBuf::from(s)
}

/// Writes the capture to `path` and its truth beside it.
pub fn write_files(config: &Config, path: &Path) -> io::Result<Truth> {
    let file = std::fs::File::create(path)?;
    let truth = generate(config, Box::new(file))?;
    let tp = truth_path(path);
    let mut f = io::BufWriter::new(std::fs::File::create(&tp)?);
    serde_json::to_writer_pretty(&mut f, &truth).map_err(io::Error::other)?;
    f.write_all(b"\n")?;
    f.flush()?;
    Ok(truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_names_rates_and_shorthands() {
        assert_eq!(Faults::parse("none").unwrap(), Faults::default());
        let f = Faults::parse("loss=0.01, vlan").unwrap();
        assert_eq!((f.loss, f.vlan, f.retransmit), (0.01, 0.25, 0.0));
        assert_eq!(
            Faults::parse("all").unwrap().to_string(),
            "retransmit=0.01,reorder=0.01,loss=0.002,duplicate=0.005,truncate=0.002,vlan=0.25,ipv6=0.15"
        );
        assert!(
            Faults::parse("lose")
                .unwrap_err()
                .contains("unknown fault `lose`")
        );
        assert!(Faults::parse("loss=2").unwrap_err().contains("rate `2`"));
    }
}
