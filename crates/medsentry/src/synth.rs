//! `medsentry synth`: write a hospital capture and its truth.

use std::time::Instant;

use anyhow::Context;

use crate::cli::{CaptureFormat, SynthArgs};

pub fn config(args: &SynthArgs) -> anyhow::Result<synth::Config> {
    let faults =
        synth::Faults::parse(&args.faults).map_err(|e| anyhow::anyhow!("--faults: {e}"))?;
    Ok(synth::Config {
        devices: args.devices,
        minutes: args.minutes,
        seed: args.seed,
        faults,
        format: match args.format {
            CaptureFormat::Pcap => synth::Format::Pcap,
            CaptureFormat::Pcapng => synth::Format::Pcapng,
        },
    })
}

pub fn run(args: &SynthArgs) -> anyhow::Result<u8> {
    let config = config(args)?;
    if args.devices == 0 || args.minutes == 0 {
        anyhow::bail!("--devices and --minutes must be at least 1");
    }
    let started = Instant::now();
    let truth = synth::write_files(&config, &args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "medsentry: wrote {} ({} packets, {:.1} MB, {} devices, {} flows) and {} in {:.2} s ({:.0} MB/s)",
        args.output.display(),
        truth.packets,
        truth.file_bytes as f64 / 1e6,
        truth.devices.len(),
        truth.flow_count,
        synth::truth_path(&args.output).display(),
        secs,
        truth.file_bytes as f64 / 1e6 / secs.max(1e-9)
    );
    Ok(0)
}
