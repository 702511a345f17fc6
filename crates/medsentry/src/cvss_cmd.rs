//! `medsentry cvss VECTOR... | -`: scores CVSS v3.0, v3.1 and v4.0 vectors.

use std::io::{BufRead, Write};

use knowledge::cvss::{self, ScoreLine};

use crate::cli::{CvssArgs, OutputFormat};

pub fn run(args: &CvssArgs) -> anyhow::Result<u8> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    let mut emit = |vector: &str, out: &mut dyn Write| -> anyhow::Result<()> {
        let line = cvss::score_line(vector);
        failed |= line.error.is_some();
        match args.format {
            OutputFormat::Json => {
                serde_json::to_writer(&mut *out, &line)?;
                writeln!(out)?;
            }
            OutputFormat::Table => table_line(out, &line)?,
        }
        Ok(())
    };
    if args.vectors.iter().any(|v| v == "-") {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let line = line?;
            let v = line.trim();
            if v.is_empty() || v.starts_with('#') {
                continue;
            }
            emit(v, &mut out)?;
        }
    }
    for v in args.vectors.iter().filter(|v| *v != "-") {
        emit(v, &mut out)?;
    }
    out.flush()?;
    Ok(u8::from(failed))
}

fn table_line(out: &mut dyn Write, l: &ScoreLine) -> std::io::Result<()> {
    let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    match &l.error {
        Some(e) => writeln!(out, "{}  error: {e}", l.vector),
        None => writeln!(
            out,
            "{:<4} {:>4} {:<8}  base {} temporal {} environmental {}  {}",
            l.version.map_or("-", |v| v.as_str()),
            num(l.score),
            l.severity.map_or("-", |s| s.as_str()),
            num(l.base),
            num(l.temporal),
            num(l.environmental),
            l.vector
        ),
    }
}
