//! Reader of FIRST's EPSS daily scores file (Exploit Prediction Scoring System).
//!
//! Spec: <https://www.first.org/epss/data_stats> and <https://www.first.org/epss/api>; the daily file
//! is `https://epss.empiricalsecurity.com/epss_scores-YYYY-MM-DD.csv.gz` (formerly
//! `epss.cyentia.com`), decompressed by the caller. Its shape:
//!
//! ```text
//! #model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z
//! cve,epss,percentile
//! CVE-1999-0001,0.0142,0.79814
//! ```
//!
//! The comment line gives [`Provenance::version`] (`model_version`) and [`Provenance::date`]
//! (`score_date`); it may be missing (older files), and then both are `None`. The header is required
//! and names the columns (any order, extra columns ignored); a file without one is an error. A row
//! that cannot be read (wrong number of fields, an id that is not `CVE-...`, a score that is not a
//! number in 0..=1) is skipped and counted in the [`EpssReport`] rather than failing a file of a
//! quarter of a million rows. CRLF line ends, blank lines and spaces around fields are tolerated.
//!
//! The reader is hand-written for speed: one pass over the bytes, one allocation per row (the CVE id).

use crate::model::{EpssFile, EpssScore, FormatError, Provenance};
use crate::nvd::lenient;

const FORMAT: &str = "epss";

/// How many skipped rows [`EpssReport::reasons`] describes; the rest are only counted.
pub const MAX_REASONS: usize = 100;

/// Longest CVE id kept (`CVE-` + year + up to 19 digits is far less).
const MAX_CVE_LEN: usize = 32;

/// Most columns a header may have.
const MAX_COLUMNS: usize = 16;

/// Rows that [`parse_with_report`] skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpssReport {
    /// How many rows were skipped.
    pub skipped: usize,
    /// Why, for the first [`MAX_REASONS`] of them: `line 12: ...`.
    pub reasons: Vec<String>,
}

/// Reads an EPSS daily file, skipping rows that cannot be read (see [`parse_with_report`]).
pub fn parse(bytes: &[u8]) -> Result<EpssFile, FormatError> {
    parse_with_report(bytes).map(|(file, _)| file)
}

/// Reads an EPSS daily file and says which rows were skipped.
///
/// Errors: no header line (`cve,epss,percentile`), or a header without those columns.
pub fn parse_with_report(bytes: &[u8]) -> Result<(EpssFile, EpssReport), FormatError> {
    let mut lines = Lines {
        bytes: lenient::strip_bom(bytes),
        pos: 0,
        line: 0,
    };
    let mut provenance = Provenance {
        id: "epss".to_owned(),
        version: None,
        date: None,
    };
    let (header_line, header) = loop {
        let Some((line_no, line)) = lines.next() else {
            return Err(FormatError::new(
                FORMAT,
                "no header line: expected `cve,epss,percentile`",
            ));
        };
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix(b"#") {
            read_comment(comment, &mut provenance);
            continue;
        }
        break (line_no, line);
    };
    let columns = Columns::from_header(header)
        .map_err(|msg| FormatError::new(FORMAT, format!("line {header_line}: {msg}")))?;

    let mut scores = Vec::with_capacity(bytes.len() / 32);
    let mut report = EpssReport::default();
    let mut fields: [&[u8]; MAX_COLUMNS] = [&[]; MAX_COLUMNS];
    for (line_no, line) in lines {
        if line.trim_ascii().is_empty() {
            continue;
        }
        match read_row(line, &columns, &mut fields) {
            Ok(score) => scores.push(score),
            Err(why) => {
                report.skipped += 1;
                if report.reasons.len() < MAX_REASONS {
                    report
                        .reasons
                        .push(format!("line {line_no}: {}", why.text()));
                }
            }
        }
    }
    Ok((EpssFile { provenance, scores }, report))
}

/// Whether `prefix` looks like an EPSS daily file.
///
/// Heuristic: the first non-blank line starts with `#model_version`, or is (or, after comment lines,
/// the first other line is) a header starting with `cve,epss` in any case.
pub fn looks_like(prefix: &[u8]) -> bool {
    let head = lenient::strip_bom(&prefix[..prefix.len().min(lenient::SNIFF_LEN)]);
    for line in head.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(b"#model_version") {
            return true;
        }
        if line.starts_with(b"#") {
            continue;
        }
        return line.len() >= 8 && line[..8].eq_ignore_ascii_case(b"cve,epss");
    }
    false
}

/// `model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z`
fn read_comment(comment: &[u8], provenance: &mut Provenance) {
    for pair in comment.split(|&b| b == b',') {
        let Some(colon) = pair.iter().position(|&b| b == b':') else {
            continue;
        };
        let key = pair[..colon].trim_ascii();
        let value = String::from_utf8_lossy(pair[colon + 1..].trim_ascii()).into_owned();
        if value.is_empty() {
            continue;
        }
        if key.eq_ignore_ascii_case(b"model_version") {
            provenance.version = Some(value);
        } else if key.eq_ignore_ascii_case(b"score_date") {
            provenance.date = Some(value);
        }
    }
}

/// Where the three columns are.
struct Columns {
    count: usize,
    cve: usize,
    epss: usize,
    percentile: usize,
}

impl Columns {
    fn from_header(header: &[u8]) -> Result<Columns, String> {
        let names: Vec<&[u8]> = header
            .split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
            .collect();
        if names.len() > MAX_COLUMNS {
            return Err(format!(
                "header has {} columns, more than {MAX_COLUMNS}",
                names.len()
            ));
        }
        let find = |name: &str| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        };
        match (find("cve"), find("epss"), find("percentile")) {
            (Some(cve), Some(epss), Some(percentile)) => Ok(Columns {
                count: names.len(),
                cve,
                epss,
                percentile,
            }),
            _ => Err(format!(
                "malformed header `{}`: expected the columns `cve,epss,percentile`",
                String::from_utf8_lossy(&header[..header.len().min(80)])
            )),
        }
    }
}

/// Why a row was skipped; turned into text only for the first [`MAX_REASONS`].
enum BadRow {
    Fields { found: usize, expected: usize },
    Cve,
    Score(&'static str),
}

impl BadRow {
    fn text(&self) -> String {
        match self {
            BadRow::Fields { found, expected } => {
                format!("expected {expected} fields, found {found}")
            }
            BadRow::Cve => "not a CVE id".to_owned(),
            BadRow::Score(column) => format!("`{column}` is not a number between 0 and 1"),
        }
    }
}

fn read_row<'a>(
    line: &'a [u8],
    columns: &Columns,
    fields: &mut [&'a [u8]; MAX_COLUMNS],
) -> Result<EpssScore, BadRow> {
    let mut found = 0;
    for field in line.split(|&b| b == b',') {
        if found < MAX_COLUMNS {
            fields[found] = field;
        }
        found += 1;
    }
    if found != columns.count {
        return Err(BadRow::Fields {
            found,
            expected: columns.count,
        });
    }
    let cve = fields[columns.cve].trim_ascii();
    if cve.len() < 5 || cve.len() > MAX_CVE_LEN || !cve[..4].eq_ignore_ascii_case(b"CVE-") {
        return Err(BadRow::Cve);
    }
    let cve = std::str::from_utf8(cve).map_err(|_| BadRow::Cve)?;
    let epss = probability(fields[columns.epss]).ok_or(BadRow::Score("epss"))?;
    let percentile = probability(fields[columns.percentile]).ok_or(BadRow::Score("percentile"))?;
    Ok(EpssScore {
        cve: cve.to_owned(),
        epss,
        percentile,
    })
}

fn probability(field: &[u8]) -> Option<f32> {
    let field = field.trim_ascii();
    let value = match plain_decimal(field) {
        Some(value) => value,
        None => std::str::from_utf8(field).ok()?.parse().ok()?,
    };
    (0.0..=1.0).contains(&value).then_some(value)
}

/// Clinger's fast path for the plain decimals EPSS publishes (`0.00043`, `1.0`): when the digits,
/// read as an integer, are below 2^24 and there are at most 10 decimals, both that integer and the
/// power of ten are exact `f32`s and one correctly rounded division gives exactly what
/// `str::parse::<f32>` gives, several times faster. Anything else (exponents, signs, long digit
/// strings) returns `None` for `str::parse` to handle.
fn plain_decimal(text: &[u8]) -> Option<f32> {
    const POW10: [f32; 11] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];
    let mut mantissa: u32 = 0;
    let mut digits = 0;
    let mut decimals: Option<usize> = None;
    for &b in text {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u32::from(b - b'0');
                if mantissa >= 1 << 24 {
                    return None;
                }
                digits += 1;
                if let Some(d) = decimals.as_mut() {
                    *d += 1;
                }
            }
            b'.' if decimals.is_none() => decimals = Some(0),
            _ => return None,
        }
    }
    let decimals = decimals.unwrap_or(0);
    if digits == 0 || decimals >= POW10.len() {
        return None;
    }
    Some(mantissa as f32 / POW10[decimals])
}

/// Lines of the input with their 1-based numbers, without `\n` or a trailing `\r`.
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos += len + 1;
        self.line += 1;
        let line = &rest[..len];
        Some((self.line, line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::plain_decimal;

    #[test]
    fn fast_path_agrees_with_std_parse() {
        for n in 0..=100_000u32 {
            for text in [
                format!("{}.{:05}", n / 100_000, n % 100_000),
                format!("0.{n:07}"),
            ] {
                assert_eq!(
                    plain_decimal(text.as_bytes()),
                    text.parse::<f32>().ok(),
                    "{text}"
                );
            }
        }
        for text in ["1", "1.", "0.5", "16777215", "0.0000000001", "007.25"] {
            assert_eq!(
                plain_decimal(text.as_bytes()),
                text.parse::<f32>().ok(),
                "{text}"
            );
        }
        for text in [
            "",
            ".",
            "1e-5",
            "-0.1",
            "+0.1",
            "1.2.3",
            "16777216",
            "0.00000000001",
            "nan",
        ] {
            assert_eq!(plain_decimal(text.as_bytes()), None, "{text}");
        }
    }
}
