//! Readers of CVE records: NVD CVE API 2.0 JSON ([`parse`]) and the CVE Program's CVE JSON 5
//! records ([`parse_cve5`]), both reduced to [`CveRecord`].
//!
//! # NVD CVE API 2.0
//!
//! Spec: <https://nvd.nist.gov/developers/vulnerabilities> and the JSON schema
//! <https://csrc.nist.gov/schema/nvd/api/2.0/cve_api_json_2.0.schema>. Three shapes are read:
//!
//! - a page of results: `{"resultsPerPage", "startIndex", "totalResults", "format": "NVD_CVE",
//!   "version": "2.0", "vulnerabilities": [{"cve": {...}}]}` (one page is one document; paging is the
//!   fetcher's job);
//! - one wrapped record: `{"cve": {...}}`;
//! - the bare CVE object (`{"id": "CVE-...", "sourceIdentifier": ...}`), as mirrors such as
//!   fkie-cad/nvd-json-data-feeds store it.
//!
//! Per CVE: `id`, `published`, `lastModified`, `vulnStatus`, the English `descriptions` (each capped at
//! [`MAX_TEXT`] bytes), `metrics` (`cvssMetricV40`, `cvssMetricV31`, `cvssMetricV30`, `cvssMetricV2`,
//! kept in that order: `cvssData.version`, `vectorString`, `baseScore` and the scorer's `source`; entries
//! without a vector are dropped), `weaknesses` (every `description[].value`, deduplicated), the CPE
//! applicability `configurations` and `references` (deduplicated by URL; the NVD tags become the
//! summary). NVD's copy of the KEV fields (`cisaExploitAdd`, `cisaActionDue`, `cisaRequiredAction`,
//! `cisaVulnerabilityName`) becomes [`CveRecord::kev`]; NVD does not copy the vendor, product,
//! ransomware use or CWEs of the KEV entry, so those stay empty.
//!
//! A `cpeMatch` without `vulnerable` counts as vulnerable (the schema requires the flag; guessing
//! "platform only" could hide a vulnerable product). A configuration or node without `operator` is OR.
//!
//! # CVE JSON 5
//!
//! Spec: the CVE Record Format, <https://github.com/CVEProject/cve-schema> (`CVE_Record_Format.json`,
//! versions 5.0 and 5.1). [`parse_cve5`] reads `cveMetadata` (`cveId`, `datePublished`,
//! `dateUpdated`, `state`), and from the CNA container and every ADP container: English
//! `descriptions` (`rejectedReasons` for a rejected record), `metrics[]` (`cvssV4_0`, `cvssV3_1`,
//! `cvssV3_0`, `cvssV2_0`, scored by the container's `providerMetadata.shortName`), CWE ids from
//! `problemTypes[].descriptions[]` (`cweId`, or a `CWE-n` token in the text), `references`, and CISA
//! ADP's KEV marker (`metrics[].other` with `type: "kev"`, its `content.dateAdded`).
//!
//! CVE 5's `affected[]` (vendor, product, `versions[]` with `version`, `lessThan`,
//! `lessThanOrEqual`, `status`, `versionType`) is not read: it names products in the CNA's words, not
//! as CPE names, and its version ranges use the CNA's own version schemes, so it does not map onto
//! [`Configuration`]. A CVE 5 record therefore has no configurations; NVD's record of the same CVE
//! carries the CPE applicability.
//!
//! # Errors
//!
//! Unknown fields are ignored, `null` reads as absent, and numbers or booleans where a string is
//! expected are kept as text. Malformed JSON and values of the wrong structure are [`FormatError`]s
//! with serde_json's line and column; missing ids and unknown operators name their JSON path
//! (`$.vulnerabilities[3].cve.configurations[0].operator`).

use serde::Deserialize;

use crate::model::{
    Configuration, CpeMatch, CveRecord, CvssScore, FormatError, KevEntry, Node, Operator,
    Provenance, Reference,
};

use self::lenient::{Flag, List, Num, Text};

/// Longest description (and other free text) kept, in bytes; longer text is cut at a character
/// boundary and ends with `…`.
pub const MAX_TEXT: usize = 4096;

const FORMAT: &str = "nvd";
const FORMAT_CVE5: &str = "cve-json-5";

/// Reads an NVD CVE API 2.0 document: a page of results, one `{"cve": ...}` record or a bare CVE
/// object.
pub fn parse(bytes: &[u8]) -> Result<Vec<CveRecord>, FormatError> {
    let bytes = lenient::json_object(FORMAT, bytes)?;
    let doc: NvdDocument =
        serde_json::from_slice(bytes).map_err(|e| lenient::json_error(FORMAT, &e))?;
    if let Some(format) = doc.format.get()
        && format != "NVD_CVE"
    {
        return Err(FormatError::new(
            FORMAT,
            format!("$.format is `{format}`, expected `NVD_CVE`"),
        ));
    }
    if let Some(List(items)) = doc.vulnerabilities {
        return items
            .into_iter()
            .enumerate()
            .map(|(idx, item)| {
                let path = format!("$.vulnerabilities[{idx}]");
                match item.cve {
                    Some(cve) => read_cve(cve, &format!("{path}.cve")),
                    None => Err(FormatError::new(
                        FORMAT,
                        format!("{path}: no `cve` object (is this another feed's catalogue?)"),
                    )),
                }
            })
            .collect();
    }
    if let Some(cve) = doc.cve {
        return Ok(vec![read_cve(cve, "$.cve")?]);
    }
    if doc.id.get().is_some() && doc.source_identifier.get().is_some() {
        // A bare CVE object: read it again as one (these are single records, so small).
        let cve: NvdCve =
            serde_json::from_slice(bytes).map_err(|e| lenient::json_error(FORMAT, &e))?;
        return Ok(vec![read_cve(cve, "$")?]);
    }
    Err(FormatError::new(
        FORMAT,
        "not an NVD CVE API 2.0 document: expected `vulnerabilities`, `cve`, or a CVE object with \
         `id` and `sourceIdentifier`",
    ))
}

/// Whether `prefix` (the first bytes of a file; at most 64 KiB are looked at) looks like an NVD CVE
/// API 2.0 document.
///
/// Heuristic: a JSON object that mentions `"NVD_CVE"` (a page's `format`), or both
/// `"sourceIdentifier"` and a `"CVE-` string (a record: `id` and `sourceIdentifier` open every NVD CVE
/// object). CVE JSON 5, KEV and CSAF documents have no `sourceIdentifier`.
pub fn looks_like(prefix: &[u8]) -> bool {
    let Some(head) = lenient::json_object_head(prefix) else {
        return false;
    };
    lenient::contains(head, b"\"NVD_CVE\"")
        || (lenient::contains(head, b"\"sourceIdentifier\"") && lenient::contains(head, b"\"CVE-"))
}

/// Reads one CVE JSON 5 record (cve.org, CVE Record Format 5.x). See the module documentation for
/// what is kept; `affected[]` is not.
pub fn parse_cve5(bytes: &[u8]) -> Result<CveRecord, FormatError> {
    let bytes = lenient::json_object(FORMAT_CVE5, bytes)?;
    let doc: Cve5Record =
        serde_json::from_slice(bytes).map_err(|e| lenient::json_error(FORMAT_CVE5, &e))?;
    if let Some(data_type) = doc.data_type.get()
        && data_type != "CVE_RECORD"
    {
        return Err(FormatError::new(
            FORMAT_CVE5,
            format!("$.dataType is `{data_type}`, expected `CVE_RECORD`"),
        ));
    }
    let meta = doc.cve_metadata.unwrap_or_default();
    let Some(id) = meta.cve_id.get() else {
        return Err(FormatError::new(
            FORMAT_CVE5,
            "$.cveMetadata.cveId: missing CVE id (is this a CVE JSON 5 record?)",
        ));
    };
    let id = id.to_owned();
    let containers = doc.containers.unwrap_or_default();
    let rejected = meta
        .state
        .get()
        .is_some_and(|s| s.eq_ignore_ascii_case("REJECTED"));

    let mut record = CveRecord {
        provenance: Provenance {
            id: id.clone(),
            version: None,
            date: meta.date_updated.get().map(str::to_owned),
        },
        id,
        published: meta.date_published.into_opt(),
        last_modified: meta.date_updated.into_opt(),
        vuln_status: meta.state.into_opt(),
        ..CveRecord::default()
    };
    let adp = containers.adp.0;
    for container in containers.cna.into_iter().chain(adp) {
        let source = container
            .provider_metadata
            .and_then(|p| p.short_name.into_opt());
        let texts = if rejected {
            container.rejected_reasons
        } else {
            container.descriptions
        };
        record.descriptions.extend(english(texts.0));
        for metric in container.metrics.0 {
            let versions = [
                (metric.cvss_v4_0, "4.0"),
                (metric.cvss_v3_1, "3.1"),
                (metric.cvss_v3_0, "3.0"),
                (metric.cvss_v2_0, "2.0"),
            ];
            for (data, version) in versions {
                if let Some(score) = data.and_then(|d| d.into_score(version, source.clone())) {
                    record.metrics.push(score);
                }
            }
            if let Some(other) = metric.other
                && other
                    .kind
                    .get()
                    .is_some_and(|k| k.eq_ignore_ascii_case("kev"))
                && record.kev.is_none()
            {
                record.kev = Some(KevEntry {
                    cve: record.id.clone(),
                    date_added: other
                        .content
                        .and_then(|c| c.date_added.into_opt())
                        .unwrap_or_default(),
                    ..KevEntry::default()
                });
            }
        }
        for problem in container.problem_types.0 {
            for desc in problem.descriptions.0 {
                let cwe = desc
                    .cwe_id
                    .into_opt()
                    .or_else(|| desc.description.get().and_then(cwe_token));
                if let Some(cwe) = cwe {
                    push_unique(&mut record.weaknesses, cwe);
                }
            }
        }
        for reference in container.references.0 {
            if let Some(url) = reference.url.into_opt() {
                push_reference(&mut record.references, url, reference.tags.0);
            }
        }
    }
    Ok(record)
}

/// Whether `prefix` (at most 64 KiB are looked at) looks like a CVE JSON 5 record.
///
/// Heuristic: a JSON object that mentions `"CVE_RECORD"` (its `dataType`) or `"cveMetadata"`.
pub fn looks_like_cve5(prefix: &[u8]) -> bool {
    let Some(head) = lenient::json_object_head(prefix) else {
        return false;
    };
    lenient::contains(head, b"\"CVE_RECORD\"") || lenient::contains(head, b"\"cveMetadata\"")
}

fn read_cve(cve: NvdCve, path: &str) -> Result<CveRecord, FormatError> {
    let Some(id) = cve.id.get().map(str::to_owned) else {
        return Err(FormatError::new(
            FORMAT,
            format!("{path}.id: missing CVE id"),
        ));
    };
    let mut metrics = Vec::new();
    if let Some(m) = cve.metrics {
        let groups = [
            (m.v40, "4.0"),
            (m.v31, "3.1"),
            (m.v30, "3.0"),
            (m.v2, "2.0"),
        ];
        for (List(entries), version) in groups {
            for entry in entries {
                let source = entry.source.into_opt();
                if let Some(score) = entry.cvss_data.and_then(|d| d.into_score(version, source)) {
                    metrics.push(score);
                }
            }
        }
    }
    let mut weaknesses = Vec::new();
    for weakness in cve.weaknesses.0 {
        for desc in weakness.description.0 {
            if let Some(value) = desc.value.into_opt() {
                push_unique(&mut weaknesses, value);
            }
        }
    }
    let mut configurations = Vec::with_capacity(cve.configurations.0.len());
    for (cfg_idx, cfg) in cve.configurations.0.into_iter().enumerate() {
        let cfg_path = format!("{path}.configurations[{cfg_idx}]");
        let mut nodes = Vec::with_capacity(cfg.nodes.0.len());
        for (node_idx, node) in cfg.nodes.0.into_iter().enumerate() {
            let node_path = format!("{cfg_path}.nodes[{node_idx}]");
            let mut matches = Vec::with_capacity(node.cpe_match.0.len());
            for (match_idx, m) in node.cpe_match.0.into_iter().enumerate() {
                let Some(criteria) = m.criteria.into_opt() else {
                    return Err(FormatError::new(
                        FORMAT,
                        format!("{node_path}.cpeMatch[{match_idx}].criteria: missing CPE name"),
                    ));
                };
                matches.push(CpeMatch {
                    vulnerable: m.vulnerable.0.unwrap_or(true),
                    criteria,
                    version_start_including: m.version_start_including.into_opt(),
                    version_start_excluding: m.version_start_excluding.into_opt(),
                    version_end_including: m.version_end_including.into_opt(),
                    version_end_excluding: m.version_end_excluding.into_opt(),
                });
            }
            nodes.push(Node {
                operator: operator(&node.operator, &node_path)?,
                negate: node.negate.0.unwrap_or(false),
                matches,
            });
        }
        configurations.push(Configuration {
            operator: operator(&cfg.operator, &cfg_path)?,
            negate: cfg.negate.0.unwrap_or(false),
            nodes,
        });
    }
    let mut references = Vec::new();
    for reference in cve.references.0 {
        if let Some(url) = reference.url.into_opt() {
            push_reference(&mut references, url, reference.tags.0);
        }
    }
    let kev = cve.cisa_exploit_add.into_opt().map(|date_added| KevEntry {
        cve: id.clone(),
        name: cve.cisa_vulnerability_name.into_string(),
        date_added,
        due_date: cve.cisa_action_due.into_opt(),
        required_action: cve
            .cisa_required_action
            .into_opt()
            .map(|s| lenient::cap_text(s, MAX_TEXT)),
        ..KevEntry::default()
    });
    Ok(CveRecord {
        provenance: Provenance {
            id: id.clone(),
            version: None,
            date: cve.last_modified.get().map(str::to_owned),
        },
        id,
        published: cve.published.into_opt(),
        last_modified: cve.last_modified.into_opt(),
        vuln_status: cve.vuln_status.into_opt(),
        descriptions: english(cve.descriptions.0),
        metrics,
        weaknesses,
        configurations,
        references,
        kev,
    })
}

fn operator(text: &Text, path: &str) -> Result<Operator, FormatError> {
    match text.get() {
        None => Ok(Operator::Or),
        Some(op) if op.eq_ignore_ascii_case("OR") => Ok(Operator::Or),
        Some(op) if op.eq_ignore_ascii_case("AND") => Ok(Operator::And),
        Some(op) => Err(FormatError::new(
            FORMAT,
            format!("{path}.operator: unknown operator `{op}`, expected AND or OR"),
        )),
    }
}

/// The English texts (`lang` `en`, `en-US`, ...), capped.
fn english(texts: Vec<LangString>) -> Vec<String> {
    texts
        .into_iter()
        .filter(|t| {
            t.lang.get().is_some_and(|lang| {
                lang.eq_ignore_ascii_case("en")
                    || lang.get(..3).is_some_and(|p| {
                        p.eq_ignore_ascii_case("en-") || p.eq_ignore_ascii_case("en_")
                    })
            })
        })
        .filter_map(|t| t.value.into_opt())
        .map(|s| lenient::cap_text(s, MAX_TEXT))
        .collect()
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// Adds a reference unless its URL is already there (NVD lists a URL once per source).
fn push_reference(list: &mut Vec<Reference>, url: String, tags: Vec<Text>) {
    if list.iter().any(|r| r.url == url) {
        return;
    }
    let tags: Vec<String> = tags.into_iter().filter_map(Text::into_opt).collect();
    list.push(Reference {
        url,
        summary: (!tags.is_empty()).then(|| tags.join(", ")),
        category: None,
    });
}

/// The first `CWE-<digits>` token of a problem-type text, for CVE 5 records without `cweId`.
fn cwe_token(text: &str) -> Option<String> {
    let start = text.find("CWE-")?;
    let digits = text[start + 4..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    (digits > 0).then(|| text[start..start + 4 + digits].to_owned())
}

// NVD CVE API 2.0 model: only what is kept.

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NvdDocument {
    format: Text,
    vulnerabilities: Option<List<NvdItem>>,
    cve: Option<NvdCve>,
    id: Text,
    source_identifier: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NvdItem {
    cve: Option<NvdCve>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NvdCve {
    id: Text,
    published: Text,
    last_modified: Text,
    vuln_status: Text,
    cisa_exploit_add: Text,
    cisa_action_due: Text,
    cisa_required_action: Text,
    cisa_vulnerability_name: Text,
    descriptions: List<LangString>,
    metrics: Option<NvdMetrics>,
    weaknesses: List<NvdWeakness>,
    configurations: List<NvdConfiguration>,
    references: List<NvdReference>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LangString {
    lang: Text,
    value: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NvdMetrics {
    #[serde(rename = "cvssMetricV40")]
    v40: List<NvdMetric>,
    #[serde(rename = "cvssMetricV31")]
    v31: List<NvdMetric>,
    #[serde(rename = "cvssMetricV30")]
    v30: List<NvdMetric>,
    #[serde(rename = "cvssMetricV2")]
    v2: List<NvdMetric>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NvdMetric {
    source: Text,
    cvss_data: Option<CvssData>,
}

/// `cvssData` of NVD and the `cvssV*` objects of CVE 5 share these names.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct CvssData {
    version: Text,
    vector_string: Text,
    base_score: Num,
}

impl CvssData {
    fn into_score(self, default_version: &str, source: Option<String>) -> Option<CvssScore> {
        Some(CvssScore {
            vector: self.vector_string.into_opt()?,
            version: self
                .version
                .into_opt()
                .unwrap_or_else(|| default_version.to_owned()),
            base_score: self.base_score.0,
            source,
            product_ids: Vec::new(),
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NvdWeakness {
    description: List<LangString>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NvdConfiguration {
    operator: Text,
    negate: Flag,
    nodes: List<NvdNode>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NvdNode {
    operator: Text,
    negate: Flag,
    cpe_match: List<NvdCpeMatch>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NvdCpeMatch {
    vulnerable: Flag,
    /// `cpe23Uri` in the NVD 1.1 feeds.
    #[serde(alias = "cpe23Uri")]
    criteria: Text,
    version_start_including: Text,
    version_start_excluding: Text,
    version_end_including: Text,
    version_end_excluding: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NvdReference {
    url: Text,
    tags: List<Text>,
}

// CVE JSON 5 model: only what is kept.

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Cve5Record {
    data_type: Text,
    cve_metadata: Option<Cve5Metadata>,
    containers: Option<Cve5Containers>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Cve5Metadata {
    cve_id: Text,
    state: Text,
    date_published: Text,
    date_updated: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Cve5Containers {
    cna: Option<Cve5Container>,
    adp: List<Cve5Container>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Cve5Container {
    provider_metadata: Option<Cve5Provider>,
    descriptions: List<LangString>,
    rejected_reasons: List<LangString>,
    metrics: List<Cve5Metric>,
    problem_types: List<Cve5ProblemType>,
    references: List<NvdReference>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Cve5Provider {
    short_name: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Cve5Metric {
    #[serde(rename = "cvssV4_0")]
    cvss_v4_0: Option<CvssData>,
    #[serde(rename = "cvssV3_1")]
    cvss_v3_1: Option<CvssData>,
    #[serde(rename = "cvssV3_0")]
    cvss_v3_0: Option<CvssData>,
    #[serde(rename = "cvssV2_0")]
    cvss_v2_0: Option<CvssData>,
    other: Option<Cve5Other>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Cve5Other {
    #[serde(rename = "type")]
    kind: Text,
    content: Option<Cve5KevContent>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Cve5KevContent {
    date_added: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Cve5ProblemType {
    descriptions: List<Cve5ProblemDescription>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Cve5ProblemDescription {
    cwe_id: Text,
    description: Text,
}

/// Lenient building blocks shared by the JSON readers of this crate (`nvd`, `kev`, `sbom`): values
/// that accept `null` and scalar type slips, and the cheap content sniffing behind `looks_like`.
pub(crate) mod lenient {
    use std::fmt;

    use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

    use crate::model::FormatError;

    /// How much of a prefix the `looks_like` sniffers read.
    pub(crate) const SNIFF_LEN: usize = 64 * 1024;

    /// A string as published; a number or boolean is kept as its text, `null` or absence is `None`.
    #[derive(Debug, Default, Clone, PartialEq)]
    pub(crate) struct Text(pub(crate) Option<String>);

    impl Text {
        /// The text unless it is absent or blank.
        pub(crate) fn get(&self) -> Option<&str> {
            self.0.as_deref().filter(|s| !s.trim().is_empty())
        }

        pub(crate) fn into_opt(self) -> Option<String> {
            self.0.filter(|s| !s.trim().is_empty())
        }

        pub(crate) fn into_string(self) -> String {
            self.0.unwrap_or_default()
        }
    }

    impl<'de> Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Text, D::Error> {
            struct TextVisitor;
            impl<'de> Visitor<'de> for TextVisitor {
                type Value = Text;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                    Ok(Text(Some(v.to_owned())))
                }
                fn visit_string<E>(self, v: String) -> Result<Text, E> {
                    Ok(Text(Some(v)))
                }
                fn visit_bool<E>(self, v: bool) -> Result<Text, E> {
                    Ok(Text(Some(v.to_string())))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                    Ok(Text(Some(v.to_string())))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                    Ok(Text(Some(v.to_string())))
                }
                fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                    Ok(Text(Some(v.to_string())))
                }
                fn visit_unit<E>(self) -> Result<Text, E> {
                    Ok(Text(None))
                }
                fn visit_none<E>(self) -> Result<Text, E> {
                    Ok(Text(None))
                }
            }
            de.deserialize_any(TextVisitor)
        }
    }

    /// A number, also when published as a numeric string; `null` or absence is `None`.
    #[derive(Debug, Default, Clone, Copy, PartialEq)]
    pub(crate) struct Num(pub(crate) Option<f64>);

    impl<'de> Deserialize<'de> for Num {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Num, D::Error> {
            struct NumVisitor;
            impl<'de> Visitor<'de> for NumVisitor {
                type Value = Num;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a number")
                }
                fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
                    Ok(Num(Some(v as f64)))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
                    Ok(Num(Some(v as f64)))
                }
                fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
                    Ok(Num(Some(v)))
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Num, E> {
                    let v = v.trim();
                    if v.is_empty() {
                        return Ok(Num(None));
                    }
                    v.parse::<f64>()
                        .map(|n| Num(Some(n)))
                        .map_err(|_| E::custom(format!("`{v}` is not a number")))
                }
                fn visit_unit<E>(self) -> Result<Num, E> {
                    Ok(Num(None))
                }
                fn visit_none<E>(self) -> Result<Num, E> {
                    Ok(Num(None))
                }
            }
            de.deserialize_any(NumVisitor)
        }
    }

    /// A boolean, also when published as `"true"`/`"false"`; `null` or absence is `None`.
    #[derive(Debug, Default, Clone, Copy, PartialEq)]
    pub(crate) struct Flag(pub(crate) Option<bool>);

    impl<'de> Deserialize<'de> for Flag {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Flag, D::Error> {
            struct FlagVisitor;
            impl<'de> Visitor<'de> for FlagVisitor {
                type Value = Flag;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a boolean")
                }
                fn visit_bool<E>(self, v: bool) -> Result<Flag, E> {
                    Ok(Flag(Some(v)))
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Flag, E> {
                    match v.trim() {
                        t if t.eq_ignore_ascii_case("true") => Ok(Flag(Some(true))),
                        t if t.eq_ignore_ascii_case("false") => Ok(Flag(Some(false))),
                        t => Err(E::custom(format!("`{t}` is not a boolean"))),
                    }
                }
                fn visit_unit<E>(self) -> Result<Flag, E> {
                    Ok(Flag(None))
                }
                fn visit_none<E>(self) -> Result<Flag, E> {
                    Ok(Flag(None))
                }
            }
            de.deserialize_any(FlagVisitor)
        }
    }

    /// An array; `null` or absence is empty.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) struct List<T>(pub(crate) Vec<T>);

    impl<T> Default for List<T> {
        fn default() -> List<T> {
            List(Vec::new())
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<List<T>, D::Error> {
            Ok(List(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default()))
        }
    }

    /// A list of strings, also when published as one comma-separated string (KEV `cwes`, CycloneDX
    /// `response`); blank items are dropped.
    #[derive(Debug, Default, Clone, PartialEq)]
    pub(crate) struct TextList(pub(crate) Vec<String>);

    impl<'de> Deserialize<'de> for TextList {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<TextList, D::Error> {
            struct TextListVisitor;
            impl<'de> Visitor<'de> for TextListVisitor {
                type Value = TextList;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a list of strings")
                }
                fn visit_str<E>(self, v: &str) -> Result<TextList, E> {
                    Ok(TextList(split_list(v)))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextList, A::Error> {
                    let mut out = Vec::new();
                    while let Some(item) = seq.next_element::<Text>()? {
                        out.extend(item.into_opt());
                    }
                    Ok(TextList(out))
                }
                fn visit_unit<E>(self) -> Result<TextList, E> {
                    Ok(TextList(Vec::new()))
                }
                fn visit_none<E>(self) -> Result<TextList, E> {
                    Ok(TextList(Vec::new()))
                }
            }
            de.deserialize_any(TextListVisitor)
        }
    }

    /// The items of a comma-separated list, trimmed, blanks dropped.
    pub(crate) fn split_list(text: &str) -> Vec<String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Cuts `text` to at most `max` bytes at a character boundary, ending it with `…` when cut.
    pub(crate) fn cap_text(mut text: String, max: usize) -> String {
        const ELLIPSIS: &str = "…";
        if text.len() <= max {
            return text;
        }
        let mut end = max.saturating_sub(ELLIPSIS.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(ELLIPSIS);
        text
    }

    /// Drops a UTF-8 byte order mark.
    pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
    }

    /// The document without its byte order mark, provided it is a JSON object (serde would
    /// otherwise read an array positionally into a struct).
    pub(crate) fn json_object<'a>(
        format: &'static str,
        bytes: &'a [u8],
    ) -> Result<&'a [u8], FormatError> {
        let bytes = strip_bom(bytes);
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Ok(bytes),
            Some(_) => Err(FormatError::new(format, "expected a JSON object")),
            None => Err(FormatError::new(format, "empty input")),
        }
    }

    /// The first [`SNIFF_LEN`] bytes of `prefix` if they open a JSON object.
    pub(crate) fn json_object_head(prefix: &[u8]) -> Option<&[u8]> {
        let head = strip_bom(&prefix[..prefix.len().min(SNIFF_LEN)]);
        let first = head.iter().position(|b| !b.is_ascii_whitespace())?;
        (head[first] == b'{').then_some(&head[first..])
    }

    pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
        !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
    }

    /// A serde_json error as a [`FormatError`]; its message carries line and column.
    pub(crate) fn json_error(format: &'static str, err: &serde_json::Error) -> FormatError {
        use serde_json::error::Category;
        let what = match err.classify() {
            Category::Eof => "truncated JSON",
            Category::Syntax | Category::Io => "invalid JSON",
            Category::Data => "unexpected value",
        };
        FormatError::new(format, format!("{what}: {err}"))
    }
}
