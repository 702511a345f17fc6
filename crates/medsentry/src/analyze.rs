//! `medsentry analyze`: read captures as one timeline, run the pipeline, build and print the report.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{TryRecvError, sync_channel};

use anyhow::Context;
use capture::{
    CaptureReader, FlowHandler, Format, Pipeline, PipelineConfig, PipelineStats, ReadError,
    Timestamp,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use protocols::detect::PortMap;

use crate::cli::{AnalyzeArgs, OutputFormat};
use crate::collect::Collector;
use crate::config::Config;
use crate::report::{InputReport, Report};

/// Captures smaller than this are read without a progress bar.
const PROGRESS_MIN_BYTES: u64 = 8 << 20;
/// The report's buffer. Its large arrays are serialised in pieces of a few hundred kilobytes, which a
/// buffer smaller than they are passes straight to the file (a 1 MiB buffer copied each of a 196 MB
/// report's pieces into itself first); the rest comes in small writes, which it gathers.
const OUTPUT_BUFFER: usize = 64 << 10;
/// Packets between progress-bar updates.
const PROGRESS_EVERY: u64 = 1 << 16;

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<u8> {
    // Settings first: a bad config file stops the run before any work.
    let mut ports = PortMap::standard();
    if let Some(path) = &args.config {
        let config = Config::load(path)?;
        ports.hl7.extend(&config.ports.hl7);
        ports.dicom.extend(&config.ports.dicom);
        ports.dicom_tls.extend(&config.ports.dicom_tls);
        ports.hl7_tls.extend(&config.ports.hl7_tls);
    }
    ports.hl7.extend(&args.hl7_port);
    ports.dicom.extend(&args.dicom_port);
    let mut rules = inventory::Rules::builtin();
    for path in &args.rules {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("{}: cannot read rules: {}", path.display(), io_reason(&e))
        })?;
        rules
            .add(&text, &path.display().to_string())
            .map_err(anyhow::Error::msg)?;
    }
    let mut status = 0u8;
    let mut inputs = Vec::new();
    for path in &args.files {
        match Input::open(path) {
            Ok(input) => inputs.push(input),
            Err(err) => {
                eprintln!("medsentry: {}: {err}", path.display());
                status = 2;
            }
        }
    }
    if inputs.is_empty() {
        return Ok(status.max(2));
    }
    let total: u64 = inputs.iter().map(|i| i.size).sum();
    let progress =
        if !args.no_progress && total >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal() {
            let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template(
                    "{spinner} {bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            pb
        } else {
            ProgressBar::hidden()
        };

    let mut collector = Collector::new(ports, args.show_phi, args.max_rows);
    collector.rules = rules;
    if args.no_inventory {
        collector.skip_inventory();
    }
    let sources: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    // The database is written from the start, on its own thread: findings as the analysis finds
    // them, flows summed as they end, the rest once the report is built.
    let saver = args.db.as_deref().map(|db| {
        if args.show_phi {
            // Asked for, so kept; but a database outlives the investigation a report is read for.
            eprintln!(
                "medsentry: warning: --show-phi with --db: the findings' details saved to the \
                 database carry patient identifiers"
            );
        }
        let (saver, tap) = crate::persist::Saver::start(db, sources);
        collector.db_tap = Some(tap);
        saver
    });
    let mut timings = crate::timings::Phases::new("analyze");
    let mut analysis = analyze(inputs, collector, &progress, args.analysis_threads());
    if let Some(tap) = analysis.collector.db_tap.take() {
        tap.close(&mut analysis.collector.findings);
    }
    progress.finish_and_clear();
    timings.lap("analysis");
    for input in &analysis.inputs {
        if let Some(warning) = &input.warning {
            eprintln!(
                "medsentry: warning: {}: {warning}; the records before it were analysed",
                input.file
            );
            status = status.max(1);
        }
    }

    let report = Report::build(
        analysis.inputs,
        &analysis.stats,
        analysis.collector,
        args.show_phi,
        args.analysis_threads(),
    );
    timings.lap("report built");
    if report.summary.inventory_dropped > 0 {
        eprintln!(
            "medsentry: warning: the inventory reached its limit of {} entries of a kind (a flood of \
             spoofed sources?); {} further sightings were counted, not kept",
            inventory::MAX_SUBJECTS,
            report.summary.inventory_dropped
        );
        status = status.max(1);
    }
    // The rest of the database is written while the report is: two independent readers of the
    // finished report, on two cores.
    let saved = std::thread::scope(|scope| -> anyhow::Result<Option<String>> {
        let report = &report;
        let saver = saver.map(|saver| scope.spawn(|| saver.finish(report)));
        let written = write_report(args, report);
        timings.lap("report written");
        let saved = match saver {
            Some(h) => Some(
                h.join()
                    .map_err(|_| anyhow::anyhow!("the database writer stopped unexpectedly"))??,
            ),
            None => None,
        };
        written?;
        Ok(saved)
    })?;
    timings.lap("database saved");
    timings.print();
    if let Some(line) = saved {
        eprintln!("medsentry: {line}");
    }
    // The report of a big capture holds millions of small strings; freeing them one by one costs a tenth
    // of the run, and the process is about to exit, which frees them all at once.
    std::mem::forget(report);
    Ok(status)
}

/// Writes the report in the format asked for, to `--output` or stdout.
fn write_report(args: &AnalyzeArgs, report: &Report) -> anyhow::Result<()> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            OUTPUT_BUFFER,
            File::create(path)
                .with_context(|| format!("cannot create report file {}", path.display()))?,
        )),
        None => stdout_writer()?,
    };
    match args.format {
        OutputFormat::Json => {
            // Indented for a person at a terminal, compact for a program (a third of the size).
            let pretty = args.output.is_none() && std::io::stdout().is_terminal();
            if pretty {
                serde_json::to_writer_pretty(&mut out, report)
                    .context("writing the JSON report")?;
            } else {
                write_compact(&mut out, report, args.analysis_threads())
                    .context("writing the JSON report")?;
            }
            writeln!(out)?;
        }
        OutputFormat::Table => crate::table::write(&mut out, report, args.top)?,
    }
    out.flush().context("writing the report")?;
    Ok(())
}

/// Standard output for the report. On Unix not through std's `Stdout`, which is line-buffered and
/// searches every piece written for a newline (1.4% of an analysis, for a report without any), but
/// through a duplicate of its descriptor.
fn stdout_writer() -> anyhow::Result<Box<dyn Write>> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .context("cannot use standard output")?;
        Ok(Box::new(std::io::BufWriter::with_capacity(
            OUTPUT_BUFFER,
            File::from(fd),
        )))
    }
    #[cfg(not(unix))]
    Ok(Box::new(std::io::BufWriter::with_capacity(
        OUTPUT_BUFFER,
        std::io::stdout().lock(),
    )))
}

/// Rows serialised per piece when a large array is written on two cores.
const JSON_CHUNK_ROWS: usize = 1024;
/// Pieces in flight from the helper thread: bounds the memory the second core may use.
const JSON_CHUNKS_IN_FLIGHT: usize = 2;
/// Pieces this thread serialises ahead of the one it must write next.
const JSON_CHUNKS_AHEAD: usize = 4;

/// The report as `serde_json::to_writer` writes it (the same bytes: keys in declaration order, no
/// spaces), with its large arrays serialised on two cores (with `threads` of 2) and strings through
/// [`crate::json`].
fn write_compact(out: &mut dyn Write, r: &Report, threads: usize) -> anyhow::Result<()> {
    let Report {
        schema,
        generator,
        inputs,
        summary,
        flows,
        devices,
        hl7_messages,
        dicom_associations,
        findings,
        phi_values_shown,
        inventory: _,
    } = r;
    out.write_all(b"{\"schema\":")?;
    crate::json::to_writer(&mut *out, schema)?;
    out.write_all(b",\"generator\":")?;
    crate::json::to_writer(&mut *out, generator)?;
    out.write_all(b",\"inputs\":")?;
    crate::json::to_writer(&mut *out, inputs)?;
    out.write_all(b",\"summary\":")?;
    crate::json::to_writer(&mut *out, summary)?;
    out.write_all(b",\"flows\":")?;
    write_chunks(
        out,
        &flows.chunks(JSON_CHUNK_ROWS).collect::<Vec<_>>(),
        threads,
    )?;
    out.write_all(b",\"devices\":")?;
    write_array(out, devices, threads)?;
    out.write_all(b",\"hl7_messages\":")?;
    write_chunks(
        out,
        &hl7_messages.chunks(JSON_CHUNK_ROWS).collect::<Vec<_>>(),
        threads,
    )?;
    out.write_all(b",\"dicom_associations\":")?;
    write_array(out, dicom_associations, threads)?;
    out.write_all(b",\"findings\":")?;
    write_chunks(
        out,
        &findings.chunks(JSON_CHUNK_ROWS).collect::<Vec<_>>(),
        threads,
    )?;
    out.write_all(b",\"phi_values_shown\":")?;
    crate::json::to_writer(&mut *out, phi_values_shown)?;
    out.write_all(b"}")?;
    Ok(())
}

/// A JSON array of `rows`, byte for byte as serde_json writes it: see [`write_chunks`].
fn write_array<T: serde::Serialize + Sync>(
    out: &mut dyn Write,
    rows: &[T],
    threads: usize,
) -> anyhow::Result<()> {
    write_chunks(
        out,
        &rows.chunks(JSON_CHUNK_ROWS).collect::<Vec<_>>(),
        threads,
    )
}

/// A JSON array of the rows of `chunks` (each at most [`JSON_CHUNK_ROWS`]), byte for byte as
/// serde_json writes it: with `threads` of 2 or more, chunks serialised by this thread and a helper,
/// each taking the next one as it is free, and written in order by this one.
fn write_chunks<T: serde::Serialize + Sync>(
    out: &mut dyn Write,
    chunks: &[&[T]],
    threads: usize,
) -> anyhow::Result<()> {
    // Every piece but the first starts with the comma that separates it from the one before.
    fn piece<T: serde::Serialize>(
        buf: &mut Vec<u8>,
        k: usize,
        rows: &[T],
    ) -> serde_json::Result<()> {
        for (i, row) in rows.iter().enumerate() {
            if k > 0 || i > 0 {
                buf.push(b',');
            }
            crate::json::to_writer(&mut *buf, row)?;
        }
        Ok(())
    }
    if threads < 2 || chunks.len() <= 2 {
        // One thread asked for, or too little to share: written here, without a helper.
        let mut buf = Vec::new();
        out.write_all(b"[")?;
        for (k, chunk) in chunks.iter().enumerate() {
            buf.clear();
            piece(&mut buf, k, chunk)?;
            out.write_all(&buf)?;
        }
        out.write_all(b"]")?;
        return Ok(());
    }
    // The first chunk nobody has claimed: each thread claims the next one whenever it is free, so
    // neither idles while work is left (this one also writes everything, and the other sections).
    let next = AtomicUsize::new(0);
    let next = &next;
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, pieces) =
            sync_channel::<(usize, serde_json::Result<Vec<u8>>)>(JSON_CHUNKS_IN_FLIGHT);
        let (give_back, returned) = sync_channel::<Vec<u8>>(JSON_CHUNKS_IN_FLIGHT + 2);
        scope.spawn(move || {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= chunks.len() {
                    return;
                }
                let mut buf = returned.try_recv().unwrap_or_default();
                buf.clear();
                let res = piece(&mut buf, k, chunks[k]).map(|()| buf);
                // A closed channel means the writer stopped early: nothing more to do.
                if tx.send((k, res)).is_err() {
                    return;
                }
            }
        });
        // Pieces ready before their turn: the helper's, and those this thread did while waiting.
        let mut early: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut spare: Option<Vec<u8>> = None;
        out.write_all(b"[")?;
        for w in 0..chunks.len() {
            let buf = loop {
                if let Some(i) = early.iter().position(|(k, _)| *k == w) {
                    break early.swap_remove(i).1;
                }
                // What the helper finished, without waiting.
                match pieces.try_recv() {
                    Ok((k, res)) => {
                        early.push((k, res?));
                        continue;
                    }
                    Err(TryRecvError::Empty) => {}
                    Err(TryRecvError::Disconnected) => {
                        anyhow::bail!("the JSON helper thread stopped unexpectedly")
                    }
                }
                // `w` is the helper's and not ready: serialise the next unclaimed chunk meanwhile, a
                // few ahead at most.
                if early.len() < JSON_CHUNKS_AHEAD {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k < chunks.len() {
                        let mut own = spare.take().unwrap_or_default();
                        own.clear();
                        piece(&mut own, k, chunks[k])?;
                        early.push((k, own));
                        continue;
                    }
                }
                let (k, res) = pieces
                    .recv()
                    .map_err(|_| anyhow::anyhow!("the JSON helper thread stopped unexpectedly"))?;
                early.push((k, res?));
            };
            out.write_all(&buf)?;
            if spare.is_none() {
                spare = Some(buf);
            } else {
                let _ = give_back.try_send(buf);
            }
        }
        out.write_all(b"]")?;
        Ok(())
    })
}

/// Analyses `files` with the built-in ports and returns the report (for `demo`).
pub fn report_for(files: &[PathBuf], show_phi: bool) -> anyhow::Result<Report> {
    let mut inputs = Vec::new();
    for path in files {
        inputs.push(Input::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?);
    }
    let threads = crate::cli::default_analysis_threads();
    let analysis = analyze(
        inputs,
        Collector::new(PortMap::standard(), show_phi, 1_000_000),
        &ProgressBar::hidden(),
        threads,
    );
    Ok(Report::build(
        analysis.inputs,
        &analysis.stats,
        analysis.collector,
        show_phi,
        threads,
    ))
}

/// One capture file being read.
struct Input {
    path: PathBuf,
    size: u64,
    reader: CaptureReader,
    /// Timestamp of the next packet, when it has been peeked.
    head: Option<Timestamp>,
    packets: u64,
    warning: Option<String>,
    done: bool,
}

impl Input {
    fn open(path: &Path) -> Result<Input, String> {
        let meta =
            std::fs::metadata(path).map_err(|e| format!("cannot open: {}", io_reason(&e)))?;
        if meta.is_dir() {
            return Err("is a directory, not a capture file".to_string());
        }
        let file = File::open(path).map_err(|e| format!("cannot open: {}", io_reason(&e)))?;
        let reader = CaptureReader::new(file).map_err(|e| match e {
            ReadError::Truncated { .. } => {
                "too short to be a capture (cut inside the file header)".to_string()
            }
            other => other.to_string(),
        })?;
        Ok(Input {
            path: path.to_path_buf(),
            size: meta.len(),
            reader,
            head: None,
            packets: 0,
            warning: None,
            done: false,
        })
    }

    /// Peeks at the next packet's time; marks the input done at its end or at an error.
    fn peek(&mut self) -> Option<Timestamp> {
        if self.done {
            return None;
        }
        if self.head.is_none() {
            match self.reader.peek_ts() {
                Ok(Some(ts)) => self.head = Some(ts),
                Ok(None) => self.done = true,
                Err(e) => self.fail(e),
            }
        }
        self.head
    }

    fn fail(&mut self, e: ReadError) {
        self.warning = Some(e.to_string());
        self.done = true;
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

struct Analysis {
    inputs: Vec<InputReport>,
    stats: PipelineStats,
    collector: Collector,
}

/// Reads every input through the pipeline. With two threads the reading, decoding, flow tracking
/// and TCP reassembly run on a second thread and the application parsing (the collector) on this
/// one; the collector receives the same calls in the same order either way, so the report is the
/// same byte for byte.
fn analyze(
    mut inputs: Vec<Input>,
    mut collector: Collector,
    progress: &ProgressBar,
    threads: usize,
) -> Analysis {
    if threads >= 2 {
        collector.identify_on_a_thread();
    }
    let stats = if threads < 2 {
        let (handler, stats) = read_all(&mut inputs, collector, progress);
        collector = handler;
        stats
    } else {
        let (outlet, inbox) = capture::relay::channel();
        std::thread::scope(|scope| {
            let inputs = &mut inputs;
            let reader = scope.spawn(move || {
                let (relay, stats) = read_all(inputs, outlet.relay(), progress);
                relay.close();
                stats
            });
            inbox.replay(&mut collector);
            reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    };
    collector.flows.close_gaps();
    let inputs = inputs
        .into_iter()
        .map(|i| InputReport {
            file: i.path.display().to_string(),
            format: match i.reader.format() {
                Format::Pcap {
                    nanosecond: true, ..
                } => "pcap-ns",
                Format::Pcap { .. } => "pcap",
                Format::PcapNg => "pcapng",
            },
            bytes: i.size,
            packets: i.packets,
            bad_records: i.reader.stats().bad_records,
            warning: i.warning,
        })
        .collect();
    Analysis {
        inputs,
        stats,
        collector,
    }
}

/// The packets of every input, merged into one timeline, through a pipeline that hands its flows
/// to `handler`.
fn read_all<H: FlowHandler>(
    inputs: &mut [Input],
    handler: H,
    progress: &ProgressBar,
) -> (H, PipelineStats) {
    let mut pipeline = Pipeline::new(PipelineConfig::default(), handler);
    let mut since_update = 0u64;
    let sizes_before: Vec<u64> = inputs
        .iter()
        .scan(0u64, |acc, i| {
            let before = *acc;
            *acc += i.size;
            Some(before)
        })
        .collect();
    loop {
        // The input whose next packet is earliest; ties go to the earlier file on the command line.
        let mut best: Option<(Timestamp, usize)> = None;
        for (i, input) in inputs.iter_mut().enumerate() {
            if let Some(ts) = input.peek()
                && best.is_none_or(|(b, _)| ts < b)
            {
                best = Some((ts, i));
            }
        }
        let Some((_, i)) = best else { break };
        let input = &mut inputs[i];
        input.head = None;
        // With one input left there is nothing to merge: read it straight through.
        let single = inputs_left(inputs) == 1;
        let input = &mut inputs[i];
        loop {
            match input.reader.next_packet() {
                Ok(Some(pkt)) => {
                    pipeline.packet(&pkt);
                    input.packets += 1;
                }
                Ok(None) => input.done = true,
                Err(e) => input.fail(e),
            }
            since_update += 1;
            if since_update >= PROGRESS_EVERY {
                since_update = 0;
                progress.set_position(sizes_before[i] + input.reader.offset());
            }
            if !single || input.done {
                break;
            }
        }
    }
    pipeline.finish()
}

fn inputs_left(inputs: &[Input]) -> usize {
    inputs.iter().filter(|i| !i.done).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Row {
        n: usize,
        text: String,
        list: Vec<u32>,
    }

    /// Arrays of every size around the chunk boundaries, written by one thread, and by two claiming
    /// chunks as they go, are serde_json's bytes, whichever thread did which chunk (repeated, to vary
    /// that).
    #[test]
    fn arrays_written_on_one_or_two_threads_equal_serde_json() {
        for len in [0, 1, 2, 1023, 1024, 1025, 2048, 2049, 3072, 5000, 20_000] {
            let rows: Vec<Row> = (0..len)
                .map(|n| Row {
                    n,
                    // Some rows need escaping, and lengths vary so that chunks take unequal time.
                    text: if n % 7 == 0 {
                        format!("line \"{n}\"\n")
                    } else {
                        "x".repeat(n % 300)
                    },
                    list: (0..(n % 5) as u32).collect(),
                })
                .collect();
            let want = serde_json::to_vec(&rows).unwrap();
            for threads in [1, 2, 2, 2] {
                let mut got = Vec::new();
                write_array(&mut got, &rows, threads).unwrap();
                assert!(got == want, "{len} rows differ ({threads} threads)");
            }
        }
    }
}
