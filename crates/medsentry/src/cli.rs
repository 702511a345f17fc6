//! Command-line flags. Parsing here has no side effects; `analyze::run` turns them into work.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Passive security monitoring for hospital medical devices, from network captures.
#[derive(Debug, Parser)]
#[command(name = "medsentry", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse pcap or pcapng captures and print a report.
    Analyze(AnalyzeArgs),
    /// Write a realistic hospital capture and its ground truth (FILE.truth.json).
    Synth(SynthArgs),
    /// Synthesise a hospital's traffic and analyse it: medsentry's job in one command.
    Demo(DemoArgs),
    /// The device inventory kept in the database (`analyze --db` fills it).
    Inventory(InventoryArgs),
    /// Manage the vulnerability knowledge base (advisories, CVEs, KEV, EPSS, SBOMs).
    Kb(KbArgs),
    /// Devices with the known vulnerabilities that affect them, ranked.
    Vulns(VulnsArgs),
    /// Score CVSS v3.0, v3.1 and v4.0 vectors.
    Cvss(CvssArgs),
}

#[derive(Debug, clap::Args)]
pub struct KbArgs {
    /// The database: an SQLite file or a postgres:// URL.
    #[arg(
        long,
        global = true,
        value_name = "PATH|URL",
        env = "MEDSENTRY_DB",
        default_value = "medsentry.db"
    )]
    pub db: String,

    #[command(subcommand)]
    pub command: KbCommand,
}

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Import files or folders: CSAF advisories, NVD CVE API 2.0 records, CVE 5 records, the KEV
    /// catalogue (JSON or CSV), EPSS daily CSV files, CycloneDX or SPDX SBOMs. The format is
    /// recognised from the content.
    Import {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The device model an SBOM describes.
        #[arg(long, value_name = "VENDOR/MODEL[/VERSION]")]
        sbom_for: Option<String>,
    },
    /// Counts by source and the newest record of each.
    Status {
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Download the official feeds (NVD, KEV, EPSS, CISA CSAF) and import what changed.
    Update(KbUpdateArgs),
}

#[derive(Debug, clap::Args)]
pub struct KbUpdateArgs {
    /// An NVD API key (50 requests per 30 s instead of 5).
    #[arg(long, env = "NVD_API_KEY", hide_env_values = true)]
    pub nvd_api_key: Option<String>,
    /// Where downloads and the resume state are kept [default: DB.feeds/ beside an SQLite file].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Only these feeds: nvd, kev, epss, csaf (repeatable).
    #[arg(long, value_name = "FEED")]
    pub feed: Vec<String>,
    /// NVD: changes since this date instead of resuming from the saved state.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// CSAF: every advisory CISA publishes, not only the medical ones.
    #[arg(long)]
    pub all_csaf: bool,
    /// Override a feed's URL (FEED=URL; for mirrors and tests).
    #[arg(long, value_name = "FEED=URL", hide = true)]
    pub source: Vec<String>,
    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct VulnsArgs {
    /// The database: an SQLite file or a postgres:// URL.
    #[arg(
        long,
        value_name = "PATH|URL",
        env = "MEDSENTRY_DB",
        default_value = "medsentry.db"
    )]
    pub db: String,
    /// One device: an id, a MAC, an address or a CMMS asset tag.
    #[arg(long, value_name = "ID")]
    pub device: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also list vulnerabilities a device is fixed for or not affected by.
    #[arg(long)]
    pub all: bool,
    /// Print how long loading, reading devices and matching took (stderr).
    #[arg(long)]
    pub timings: bool,
}

#[derive(Debug, clap::Args)]
pub struct CvssArgs {
    /// Vectors to score; `-` reads one vector a line from stdin.
    #[arg(required = true, value_name = "VECTOR")]
    pub vectors: Vec<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct InventoryArgs {
    /// The database: a SQLite file, or a postgres:// URL.
    #[arg(
        long,
        global = true,
        value_name = "PATH|URL",
        env = "MEDSENTRY_DB",
        default_value = "medsentry.db"
    )]
    pub db: String,

    #[command(subcommand)]
    pub command: InventoryCommand,
}

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Devices, most critical categories first.
    List {
        #[arg(long)]
        category: Option<String>,
        /// A part of the vendor's name.
        #[arg(long)]
        vendor: Option<String>,
        /// A part of the software (operating system or firmware and version): `--software "windows
        /// xp"` lists the devices still on it.
        #[arg(long)]
        software: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// One device: every field with the rule and evidence that decided it, addresses, evidence,
    /// communications, changes and findings.
    Show {
        /// A device id (`mac-...`, `ip-...`), a MAC or an address.
        id: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Every device, for a spreadsheet or another tool.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        #[arg(long, short = 'o', value_name = "PATH")]
        output: Option<PathBuf>,
    },
    /// Reconcile a CMMS export (CSV) with the devices seen on the network.
    ImportCmms {
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// The capture to write; the truth goes to FILE.truth.json beside it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Clinical devices (monitors, pumps, modalities, analysers, gateways, workstations); the
    /// hospital's servers come on top.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub devices: usize,

    /// Minutes of traffic.
    #[arg(long, default_value_t = 10, value_name = "M")]
    pub minutes: u32,

    /// Seed: the same arguments and seed give the same bytes.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,

    /// Capture faults: `none`, `all`, or a list of NAME[=RATE] among retransmit, reorder, loss,
    /// duplicate, truncate (per data segment), vlan, ipv6 (per device).
    #[arg(long, default_value = "none", value_name = "LIST")]
    pub faults: String,

    /// File format.
    #[arg(long, value_enum, default_value_t = CaptureFormat::Pcap)]
    pub format: CaptureFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaptureFormat {
    Pcap,
    Pcapng,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Clinical devices in the demo hospital.
    #[arg(long, default_value_t = 250, value_name = "N")]
    pub devices: usize,

    /// Minutes of traffic.
    #[arg(long, default_value_t = 5, value_name = "M")]
    pub minutes: u32,

    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,

    /// Keep the capture, its truth and the JSON report in this folder instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Capture files (pcap or pcapng), read as one timeline in packet-time order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Report format: a readable table, or the `medsentry.report/1` JSON object.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table, env = "MEDSENTRY_FORMAT")]
    pub format: OutputFormat,

    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Rows of the flow table in the table format (JSON always lists every flow).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// At most this many rows in the JSON report's `hl7_messages[]` (a capture of days holds millions of
    /// messages); the summary's counts stay exact and say how many rows were left out.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub max_rows: usize,

    /// Threads for the analysis. With 2 (the default where two cores are available) one thread reads,
    /// decodes and reassembles TCP streams while another parses HL7, DICOM and the rest, and the
    /// inventory and the JSON report are built on two; with 1 all of it runs on one (`--db` still
    /// writes from a thread of its own). The report is the same either way. More than 2 is taken as 2.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Skip device identification: `devices[]` stays empty and no device is saved. For a quick
    /// protocol and findings check, and to measure what identification costs.
    #[arg(long)]
    pub no_inventory: bool,

    /// Include patient data values (ids, names, birth dates) in the report, for an investigator.
    /// Without it the report names the fields that carried patient data, never their values.
    #[arg(long)]
    pub show_phi: bool,

    /// Keep what this analysis found (devices with their evidence, communications, findings) in a
    /// database, merged with earlier runs: a SQLite file (`--db` alone: ./medsentry.db) or a
    /// postgres:// URL.
    #[arg(long, value_name = "PATH|URL", num_args = 0..=1, default_missing_value = "medsentry.db", env = "MEDSENTRY_DB")]
    pub db: Option<String>,

    /// A TOML policy file (see README: `[ports]` hl7, dicom, dicom_tls, hl7_tls).
    #[arg(long, value_name = "PATH", env = "MEDSENTRY_CONFIG")]
    pub config: Option<PathBuf>,

    /// Device classification rules to add to the shipped ones (TOML, same format as
    /// crates/inventory/rules/devices.toml); yours win ties.
    #[arg(long, value_name = "FILE", env = "MEDSENTRY_RULES")]
    pub rules: Vec<PathBuf>,

    /// Another TCP port where HL7 over MLLP runs (2575 and 6661 are built in; content is checked anyway).
    #[arg(long, value_name = "PORT")]
    pub hl7_port: Vec<u16>,

    /// Another TCP port where DICOM runs (104 and 11112 are built in; content is checked anyway).
    #[arg(long, value_name = "PORT")]
    pub dicom_port: Vec<u16>,
}

impl AnalyzeArgs {
    /// `--threads`, or two where the machine has two cores to give.
    pub fn analysis_threads(&self) -> usize {
        match self.threads {
            Some(n) => usize::from(n).min(2),
            None => default_analysis_threads(),
        }
    }
}

/// Two analysis threads where the machine has two cores to give, else one.
pub fn default_analysis_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}
