//! medsentry: passive medical-device security from network traffic. This binary parses flags, wires the
//! library crates together and prints; every capability lives in a library crate.

#![forbid(unsafe_code)]

/// mimalloc rather than glibc's allocator: an analysis allocates and frees millions of small strings
/// and vectors (message summaries, report rows), and glibc's malloc and free took a tenth of the run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod analyze;
mod cli;
mod collect;
mod config;
mod cvss_cmd;
mod demo;
mod inventory_cmd;
mod json;
mod kb_cmd;
mod kb_update;
mod persist;
mod report;
mod synth;
mod table;
mod timings;
mod vulns;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let res = match cli.command {
        cli::Command::Analyze(args) => analyze::run(&args),
        cli::Command::Synth(args) => synth::run(&args),
        cli::Command::Demo(args) => demo::run(&args),
        cli::Command::Inventory(args) => inventory_cmd::run(&args),
        cli::Command::Kb(args) => kb_cmd::run(&args),
        cli::Command::Vulns(args) => vulns::run(&args),
        cli::Command::Cvss(args) => cvss_cmd::run(&args),
    };
    match res {
        Ok(code) => ExitCode::from(code),
        // A reader that stopped early (`| head`) is not an error of ours.
        Err(err)
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("medsentry: {err:#}");
            ExitCode::from(2)
        }
    }
}
