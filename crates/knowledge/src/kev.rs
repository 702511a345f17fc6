//! Reader of the CISA Known Exploited Vulnerabilities catalogue, in its JSON ([`parse`]) and CSV
//! ([`parse_csv`]) forms.
//!
//! Spec: <https://www.cisa.gov/known-exploited-vulnerabilities-catalog>; the JSON schema is
//! `known_exploited_vulnerabilities_schema.json` in <https://github.com/cisagov/kev-data>. The JSON
//! catalogue is `{"title", "catalogVersion", "dateReleased", "count", "vulnerabilities": [...]}`; each
//! entry has `cveID`, `vendorProject`, `product`, `vulnerabilityName`, `dateAdded`,
//! `shortDescription`, `requiredAction`, `dueDate`, `knownRansomwareCampaignUse`, `notes` and `cwes`.
//! The CSV form has one row per entry with the same column names (`cwes` comma-separated inside one
//! field) and no catalogue version or date.
//!
//! Both readers give the same [`KevEntry`] values: blank optional fields are `None`,
//! `requiredAction` and `notes` are capped at [`crate::nvd::MAX_TEXT`] bytes, and
//! `shortDescription` is not kept ([`KevEntry`] has no field for it). The provenance is `kev`, the
//! `catalogVersion` and the `dateReleased` (none for CSV). `count` is not checked against the entries.

use serde::Deserialize;

use crate::model::{FormatError, KevCatalog, KevEntry, Provenance};
use crate::nvd::MAX_TEXT;
use crate::nvd::lenient::{self, List, Text, TextList};

const FORMAT: &str = "kev";

/// Most fields a CSV record may have; the catalogue has 11.
const MAX_CSV_FIELDS: usize = 256;

/// Reads the KEV catalogue in JSON.
pub fn parse(bytes: &[u8]) -> Result<KevCatalog, FormatError> {
    let bytes = lenient::json_object(FORMAT, bytes)?;
    let doc: KevDocument =
        serde_json::from_slice(bytes).map_err(|e| lenient::json_error(FORMAT, &e))?;
    let Some(List(vulns)) = doc.vulnerabilities else {
        return Err(FormatError::new(
            FORMAT,
            "not a KEV catalogue: no `vulnerabilities` array",
        ));
    };
    let mut entries = Vec::with_capacity(vulns.len());
    for (idx, v) in vulns.into_iter().enumerate() {
        let Some(cve) = v.cve_id.into_opt() else {
            return Err(FormatError::new(
                FORMAT,
                format!("$.vulnerabilities[{idx}].cveID: missing CVE id"),
            ));
        };
        entries.push(KevEntry {
            cve,
            vendor: v.vendor_project.into_string(),
            product: v.product.into_string(),
            name: v.vulnerability_name.into_string(),
            date_added: v.date_added.into_string(),
            due_date: v.due_date.into_opt(),
            required_action: v
                .required_action
                .into_opt()
                .map(|s| lenient::cap_text(s, MAX_TEXT)),
            ransomware: v.known_ransomware_campaign_use.into_opt(),
            notes: v.notes.into_opt().map(|s| lenient::cap_text(s, MAX_TEXT)),
            cwes: v.cwes.0,
        });
    }
    Ok(KevCatalog {
        provenance: Provenance {
            id: "kev".to_owned(),
            version: doc.catalog_version.into_opt(),
            date: doc.date_released.into_opt(),
        },
        entries,
    })
}

/// Whether `prefix` (at most 64 KiB are looked at) looks like the KEV catalogue in JSON.
///
/// Heuristic: a JSON object that mentions `"catalogVersion"`, or both `"cveID"` and
/// `"vendorProject"` (an entry).
pub fn looks_like(prefix: &[u8]) -> bool {
    let Some(head) = lenient::json_object_head(prefix) else {
        return false;
    };
    lenient::contains(head, b"\"catalogVersion\"")
        || (lenient::contains(head, b"\"cveID\"") && lenient::contains(head, b"\"vendorProject\""))
}

/// Reads the KEV catalogue in CSV (RFC 4180: a header line, fields optionally in double quotes with
/// `""` for a quote, quoted fields may hold commas and line breaks; CRLF or LF line ends).
///
/// Columns are found by their header names, in any order; only `cveID` is required. A record with
/// another number of fields than the header, or an unterminated quoted field, is an error naming its
/// line. Bytes that are not UTF-8 are replaced (U+FFFD) rather than refused.
pub fn parse_csv(bytes: &[u8]) -> Result<KevCatalog, FormatError> {
    let mut reader = CsvReader::new(lenient::strip_bom(bytes));
    let mut fields = Vec::new();
    let err = |msg: String| FormatError::new(FORMAT, msg);
    if reader.next_record(&mut fields).map_err(err)?.is_none() {
        return Err(FormatError::new(FORMAT, "empty input: no CSV header line"));
    }
    let header: Vec<String> = fields.iter().map(|f| f.trim().to_owned()).collect();
    let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let Some(cve_col) = col("cveID") else {
        return Err(FormatError::new(
            FORMAT,
            "line 1: header has no `cveID` column (is this the KEV catalogue in CSV?)",
        ));
    };
    let cols = [
        col("vendorProject"),
        col("product"),
        col("vulnerabilityName"),
        col("dateAdded"),
        col("dueDate"),
        col("requiredAction"),
        col("knownRansomwareCampaignUse"),
        col("notes"),
        col("cwes"),
    ];
    let mut entries = Vec::new();
    while let Some(line) = reader.next_record(&mut fields).map_err(err)? {
        if fields.len() != header.len() {
            return Err(FormatError::new(
                FORMAT,
                format!(
                    "line {line}: expected {} fields as in the header, found {}",
                    header.len(),
                    fields.len()
                ),
            ));
        }
        let mut take = |idx: Option<usize>| idx.map(|i| std::mem::take(&mut fields[i]));
        let cve = take(Some(cve_col)).unwrap_or_default();
        if cve.trim().is_empty() {
            return Err(FormatError::new(
                FORMAT,
                format!("line {line}: missing CVE id"),
            ));
        }
        let [
            vendor,
            product,
            name,
            date_added,
            due,
            action,
            ransomware,
            notes,
            cwes,
        ] = cols.map(|c| take(c).filter(|s| !s.trim().is_empty()));
        entries.push(KevEntry {
            cve,
            vendor: vendor.unwrap_or_default(),
            product: product.unwrap_or_default(),
            name: name.unwrap_or_default(),
            date_added: date_added.unwrap_or_default(),
            due_date: due,
            required_action: action.map(|s| lenient::cap_text(s, MAX_TEXT)),
            ransomware,
            notes: notes.map(|s| lenient::cap_text(s, MAX_TEXT)),
            cwes: cwes.map(|s| lenient::split_list(&s)).unwrap_or_default(),
        });
    }
    Ok(KevCatalog {
        provenance: Provenance {
            id: "kev".to_owned(),
            version: None,
            date: None,
        },
        entries,
    })
}

/// Whether `prefix` looks like the KEV catalogue in CSV.
///
/// Heuristic: the first line (after a byte order mark) is a header that starts with `cveID,` and
/// names `vendorProject`.
pub fn looks_like_csv(prefix: &[u8]) -> bool {
    let head = lenient::strip_bom(&prefix[..prefix.len().min(lenient::SNIFF_LEN)]);
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    line.starts_with(b"cveID,") && lenient::contains(line, b"vendorProject")
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct KevDocument {
    catalog_version: Text,
    date_released: Text,
    vulnerabilities: Option<List<KevVuln>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct KevVuln {
    #[serde(rename = "cveID")]
    cve_id: Text,
    vendor_project: Text,
    product: Text,
    vulnerability_name: Text,
    date_added: Text,
    required_action: Text,
    due_date: Text,
    known_ransomware_campaign_use: Text,
    notes: Text,
    cwes: TextList,
}

/// An RFC 4180 record reader over a byte slice, counting lines for error messages.
struct CsvReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The 1-based line `pos` is on.
    line: usize,
}

impl<'a> CsvReader<'a> {
    fn new(bytes: &'a [u8]) -> CsvReader<'a> {
        CsvReader {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Reads the next record into `fields`, skipping blank lines; returns the line it starts on, or
    /// `None` at the end of the input.
    fn next_record(&mut self, fields: &mut Vec<String>) -> Result<Option<usize>, String> {
        fields.clear();
        loop {
            match self.peek() {
                None => return Ok(None),
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                }
                Some(b'\r') => {
                    self.pos += 1;
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    self.line += 1;
                }
                Some(_) => break,
            }
        }
        let start_line = self.line;
        let mut field = Vec::new();
        loop {
            field.clear();
            if self.peek() == Some(b'"') {
                self.pos += 1;
                loop {
                    match self.peek() {
                        None => {
                            return Err(format!(
                                "line {start_line}: unterminated quoted field (field {})",
                                fields.len() + 1
                            ));
                        }
                        Some(b'"') if self.bytes.get(self.pos + 1) == Some(&b'"') => {
                            field.push(b'"');
                            self.pos += 2;
                        }
                        Some(b'"') => {
                            self.pos += 1;
                            break;
                        }
                        Some(b) => {
                            if b == b'\n' {
                                self.line += 1;
                            }
                            field.push(b);
                            self.pos += 1;
                        }
                    }
                }
            }
            // Unquoted text, or (leniently, as most readers do) text after a closing quote.
            while let Some(b) = self.peek() {
                if matches!(b, b',' | b'\n' | b'\r') {
                    break;
                }
                field.push(b);
                self.pos += 1;
            }
            if fields.len() == MAX_CSV_FIELDS {
                return Err(format!(
                    "line {start_line}: more than {MAX_CSV_FIELDS} fields"
                ));
            }
            fields.push(String::from_utf8_lossy(&field).into_owned());
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'\r') => {
                    self.pos += 1;
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    self.line += 1;
                    return Ok(Some(start_line));
                }
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    return Ok(Some(start_line));
                }
                _ => return Ok(Some(start_line)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CsvReader;

    fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
        let mut reader = CsvReader::new(text.as_bytes());
        let mut out = Vec::new();
        let mut fields = Vec::new();
        while let Some(line) = reader.next_record(&mut fields)? {
            out.push((line, fields.clone()));
        }
        Ok(out)
    }

    #[test]
    fn csv_quoting_and_line_numbers() {
        let got = records("a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\"two\nlines\"\n\n,,\nlast,\"\",z")
            .unwrap();
        let want: Vec<(usize, Vec<&str>)> = vec![
            (1, vec!["a", "b", "c"]),
            (2, vec!["x,1", "say \"hi\"", "two\nlines"]),
            (5, vec!["", "", ""]),
            (6, vec!["last", "", "z"]),
        ];
        let got: Vec<(usize, Vec<&str>)> = got
            .iter()
            .map(|(l, f)| (*l, f.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn csv_unterminated_quote_names_line() {
        let err = records("a,b\n1,\"open\nstill open").unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("unterminated"),
            "{err}"
        );
    }

    #[test]
    fn csv_trailing_comma_is_an_empty_field() {
        let got = records("a,b,\n").unwrap();
        assert_eq!(got[0].1, ["a", "b", ""]);
    }
}
