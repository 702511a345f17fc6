//! The NVD, CVE JSON 5, KEV and EPSS readers against the shared corpus (`cve/`, `kev/`) and
//! synthesised inputs: values, malformed input, growing prefixes and content sniffing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use knowledge::model::{CveRecord, FormatError, KevCatalog, Operator};
use knowledge::{epss, kev, nvd};

const NVD_FILES: [&str; 3] = ["CVE-2020-25165", "CVE-2022-2119", "CVE-2023-43208"];

fn corpus() -> Option<PathBuf> {
    testkit::corpus()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn nvd_file(corpus: &Path, id: &str) -> Vec<u8> {
    read(&corpus.join(format!("cve/nvd-api-2.0/{id}.json")))
}

fn cve5_file(corpus: &Path, id: &str) -> Vec<u8> {
    read(&corpus.join(format!("cve/cve-json-5/{id}.json")))
}

fn one_nvd(bytes: &[u8]) -> CveRecord {
    let mut records = nvd::parse(bytes).expect("NVD record parses");
    assert_eq!(records.len(), 1);
    records.remove(0)
}

/// Asserts that `res` is an error whose message mentions every one of `needles`.
#[track_caller]
fn assert_err<T: std::fmt::Debug>(res: Result<T, FormatError>, needles: &[&str]) {
    let err = res.expect_err("expected an error");
    let text = err.to_string();
    for needle in needles {
        assert!(
            text.contains(needle),
            "error `{text}` does not mention `{needle}`"
        );
    }
}

/// Prefix lengths to try: every one up to 2 KiB, then about `samples` spread over the rest.
fn prefix_lengths(len: usize, samples: usize) -> impl Iterator<Item = usize> {
    let step = (len / samples.max(1)).max(1);
    (0..len.min(2048))
        .chain((2048..len).step_by(step))
        .chain(std::iter::once(len))
}

/// A JSON document cut anywhere before its last byte is an error, never a panic; whole, it parses.
fn check_json_prefixes<T>(
    bytes: &[u8],
    samples: usize,
    parse: impl Fn(&[u8]) -> Result<T, FormatError>,
) {
    let end = bytes.trim_ascii_end().len();
    for len in prefix_lengths(bytes.len(), samples) {
        let res = parse(&bytes[..len]);
        if len < end {
            assert!(res.is_err(), "prefix of {len} of {end} bytes parsed");
        } else {
            assert!(res.is_ok(), "whole document of {len} bytes failed");
        }
    }
}

// NVD CVE API 2.0

#[test]
fn nvd_corpus_records_parse_with_provenance() {
    let Some(corpus) = corpus() else { return };
    for id in NVD_FILES {
        let bytes = nvd_file(&corpus, id);
        assert!(nvd::looks_like(&bytes), "{id} not recognised");
        let record = one_nvd(&bytes);
        assert_eq!(record.id, id);
        assert_eq!(record.provenance.id, id);
        assert_eq!(record.provenance.date, record.last_modified);
        assert!(record.last_modified.is_some());
        assert_eq!(record.descriptions.len(), 1, "{id}: English only");
        assert!(!record.metrics.is_empty());
        assert!(!record.configurations.is_empty());
    }
}

#[test]
fn nvd_alaris_and_configuration_firmware_on_hardware() {
    let Some(corpus) = corpus() else { return };
    let cve = one_nvd(&nvd_file(&corpus, "CVE-2020-25165"));
    assert_eq!(cve.published.as_deref(), Some("2020-11-13T16:15:18.027"));
    assert_eq!(
        cve.last_modified.as_deref(),
        Some("2024-11-21T05:17:31.443")
    );
    assert_eq!(cve.vuln_status.as_deref(), Some("Modified"));
    assert!(cve.descriptions[0].starts_with("BD Alaris PC Unit, Model 8015"));
    assert_eq!(cve.weaknesses, ["CWE-287"]);
    assert!(cve.kev.is_none());

    // v3.1 comes before v2, as kept.
    let metrics: Vec<(&str, &str, Option<f64>, Option<&str>)> = cve
        .metrics
        .iter()
        .map(|m| {
            (
                m.version.as_str(),
                m.vector.as_str(),
                m.base_score,
                m.source.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        metrics,
        [
            (
                "3.1",
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
                Some(7.5),
                Some("nvd@nist.gov")
            ),
            (
                "2.0",
                "AV:N/AC:L/Au:N/C:N/I:N/A:P",
                Some(5.0),
                Some("nvd@nist.gov")
            ),
        ]
    );

    assert_eq!(cve.configurations.len(), 2);
    let and = &cve.configurations[0];
    assert_eq!(and.operator, Operator::And);
    assert!(!and.negate);
    assert_eq!(and.nodes.len(), 2);
    let firmware = &and.nodes[0];
    assert_eq!(firmware.operator, Operator::Or);
    assert_eq!(firmware.matches.len(), 1);
    let m = &firmware.matches[0];
    assert!(m.vulnerable);
    assert_eq!(
        m.criteria,
        "cpe:2.3:o:bd:alaris_8015_pcu_firmware:*:*:*:*:*:*:*:*"
    );
    assert_eq!(m.version_end_including.as_deref(), Some("9.33.1"));
    assert_eq!(
        (
            &m.version_start_including,
            &m.version_start_excluding,
            &m.version_end_excluding
        ),
        (&None, &None, &None)
    );
    let hardware = &and.nodes[1].matches[0];
    assert!(
        !hardware.vulnerable,
        "the hardware is the platform, not vulnerable itself"
    );
    assert_eq!(
        hardware.criteria,
        "cpe:2.3:h:bd:alaris_8015_pcu:-:*:*:*:*:*:*:*"
    );
    assert_eq!(hardware.version_end_including, None);

    let manager = &cve.configurations[1];
    assert_eq!(manager.operator, Operator::Or, "no operator reads as OR");
    assert_eq!(manager.nodes.len(), 1);
    let m = &manager.nodes[0].matches[0];
    assert_eq!(
        m.criteria,
        "cpe:2.3:a:bd:alaris_systems_manager:*:*:*:*:*:*:*:*"
    );
    assert_eq!(m.version_end_including.as_deref(), Some("4.33"));

    // The advisory URL is listed once per source; it is kept once, with NVD's tags.
    assert_eq!(cve.references.len(), 1);
    assert_eq!(
        cve.references[0].url,
        "https://us-cert.cisa.gov/ics/advisories/icsma-20-317-01"
    );
    assert_eq!(
        cve.references[0].summary.as_deref(),
        Some("Third Party Advisory, US Government Resource")
    );
}

#[test]
fn nvd_mirth_connect_carries_kev_fields() {
    let Some(corpus) = corpus() else { return };
    let cve = one_nvd(&nvd_file(&corpus, "CVE-2023-43208"));
    let kev = cve.kev.as_ref().expect("KEV fields");
    assert_eq!(kev.cve, "CVE-2023-43208");
    assert_eq!(kev.date_added, "2024-05-20");
    assert_eq!(kev.due_date.as_deref(), Some("2024-06-10"));
    assert_eq!(
        kev.name,
        "NextGen Healthcare Mirth Connect Deserialization of Untrusted Data Vulnerability"
    );
    assert_eq!(
        kev.required_action.as_deref(),
        Some(
            "Apply mitigations per vendor instructions or discontinue use of the product if \
             mitigations are unavailable."
        )
    );
    assert_eq!(cve.weaknesses, ["CWE-78", "CWE-502"]);
    assert_eq!(cve.metrics.len(), 2);
    assert_eq!(
        cve.metrics[1].source.as_deref(),
        Some("134c704f-9b21-4f2e-91b3-4a467353bcc0")
    );
    let m = &cve.configurations[0].nodes[0].matches[0];
    assert_eq!(
        m.criteria,
        "cpe:2.3:a:nextgen:mirth_connect:*:*:*:*:*:*:*:*"
    );
    assert_eq!(m.version_end_excluding.as_deref(), Some("4.4.1"));

    // NVD's copy agrees with the catalogue's entry.
    let catalogue = kev::parse(&read(
        &corpus.join("kev/known_exploited_vulnerabilities.json"),
    ))
    .unwrap();
    let entry = catalogue
        .entries
        .iter()
        .find(|e| e.cve == "CVE-2023-43208")
        .unwrap();
    assert_eq!(
        (
            &entry.date_added,
            &entry.due_date,
            &entry.name,
            &entry.required_action
        ),
        (
            &kev.date_added,
            &kev.due_date,
            &kev.name,
            &kev.required_action
        )
    );
}

#[test]
fn nvd_page_and_wrapped_record_read_like_bare_records() {
    let Some(corpus) = corpus() else { return };
    let mut items = Vec::new();
    let mut want = Vec::new();
    for id in NVD_FILES {
        let bytes = nvd_file(&corpus, id);
        want.push(one_nvd(&bytes));
        let cve: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let wrapped = serde_json::json!({ "cve": cve });
        assert_eq!(
            one_nvd(wrapped.to_string().as_bytes()),
            *want.last().unwrap()
        );
        items.push(wrapped);
    }
    let page = serde_json::json!({
        "resultsPerPage": 3,
        "startIndex": 0,
        "totalResults": 3,
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2025-08-25T00:00:00.000",
        "vulnerabilities": items,
    });
    let bytes = serde_json::to_vec_pretty(&page).unwrap();
    assert!(nvd::looks_like(&bytes));
    assert_eq!(nvd::parse(&bytes).unwrap(), want);

    let empty = br#"{"resultsPerPage":0,"startIndex":0,"totalResults":0,"format":"NVD_CVE","version":"2.0","vulnerabilities":[]}"#;
    assert_eq!(nvd::parse(empty).unwrap(), []);
}

#[test]
fn nvd_lenient_about_nulls_and_scalar_types() {
    let doc = br#"{"cve": {"id": "CVE-2024-0001", "sourceIdentifier": "x", "published": null,
        "descriptions": [{"lang": "en-US", "value": "first"}, {"lang": "de", "value": "zweite"}],
        "metrics": {"cvssMetricV31": [{"source": "a", "cvssData": {"vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": "9.8"}}],
                    "cvssMetricV40": [{"source": "b", "cvssData": {"version": "4.0", "baseScore": 5.0}}]},
        "weaknesses": null,
        "configurations": [{"operator": "and", "negate": "false", "nodes": [
            {"cpeMatch": [{"criteria": "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", "versionStartIncluding": 2}]}]}],
        "references": [{"url": "https://example.invalid/a", "tags": null}],
        "unknownField": {"deep": [1, 2, 3]}}}"#;
    let cve = one_nvd(doc);
    assert_eq!(cve.published, None);
    assert_eq!(cve.descriptions, ["first"]);
    assert_eq!(cve.metrics.len(), 1, "a metric without a vector is dropped");
    assert_eq!(
        cve.metrics[0].version, "3.1",
        "version from the metric's group"
    );
    assert_eq!(cve.metrics[0].base_score, Some(9.8));
    assert!(cve.weaknesses.is_empty());
    let cfg = &cve.configurations[0];
    assert_eq!(cfg.operator, Operator::And);
    let m = &cfg.nodes[0].matches[0];
    assert!(m.vulnerable, "missing `vulnerable` counts as vulnerable");
    assert_eq!(m.version_start_including.as_deref(), Some("2"));
    assert_eq!(cve.references[0].summary, None);
}

#[test]
fn nvd_long_description_is_capped() {
    let long = "é".repeat(5000);
    let doc = format!(
        r#"{{"id": "CVE-2024-0002", "sourceIdentifier": "x", "descriptions": [{{"lang": "en", "value": "{long}"}}]}}"#
    );
    let cve = one_nvd(doc.as_bytes());
    let text = &cve.descriptions[0];
    assert!(text.len() <= nvd::MAX_TEXT, "{}", text.len());
    assert!(text.ends_with('…'));
}

#[test]
fn nvd_malformed_inputs_name_the_problem() {
    assert_err(nvd::parse(b""), &["nvd", "empty input"]);
    assert_err(nvd::parse(b"[1, 2]"), &["expected a JSON object"]);
    assert_err(
        nvd::parse(br#"{"id": "CVE-1", "sourceIdentifier": "x""#),
        &["truncated JSON", "line 1"],
    );
    assert_err(
        nvd::parse(b"{\"cve\": {\"id\": \"CVE-1\",,}}"),
        &["invalid JSON", "column"],
    );
    assert_err(
        nvd::parse(br#"{"title": "x"}"#),
        &["not an NVD CVE API 2.0 document"],
    );
    assert_err(
        nvd::parse(br#"{"format": "NVD_CPE", "products": []}"#),
        &["$.format", "NVD_CPE"],
    );
    assert_err(
        nvd::parse(br#"{"vulnerabilities": [{"cve": {"id": "CVE-1"}}, {"cveID": "CVE-2"}]}"#),
        &["$.vulnerabilities[1]", "no `cve` object"],
    );
    assert_err(
        nvd::parse(br#"{"vulnerabilities": [{"cve": {"sourceIdentifier": "x"}}]}"#),
        &["$.vulnerabilities[0].cve.id", "missing CVE id"],
    );
    assert_err(
        nvd::parse(
            br#"{"cve": {"id": "CVE-1", "configurations": [{"nodes": [{}, {"operator": "XOR", "cpeMatch": []}]}]}}"#,
        ),
        &["$.cve.configurations[0].nodes[1].operator", "XOR"],
    );
    assert_err(
        nvd::parse(br#"{"cve": {"id": "CVE-1", "configurations": [{"nodes": [{"cpeMatch": [{"vulnerable": true}]}]}]}}"#),
        &["$.cve.configurations[0].nodes[0].cpeMatch[0].criteria"],
    );
    assert_err(
        nvd::parse(b"{\"cve\": {\"id\": \"CVE-1\",\n \"configurations\": \"none\"}}"),
        &["unexpected value", "line 2"],
    );
}

#[test]
fn nvd_growing_prefixes_never_panic() {
    let Some(corpus) = corpus() else { return };
    for id in NVD_FILES {
        check_json_prefixes(&nvd_file(&corpus, id), usize::MAX, nvd::parse);
    }
}

// CVE JSON 5

#[test]
fn cve5_corpus_records() {
    let Some(corpus) = corpus() else { return };
    for id in NVD_FILES {
        let bytes = cve5_file(&corpus, id);
        assert!(
            nvd::looks_like_cve5(&bytes) && !nvd::looks_like(&bytes),
            "{id}"
        );
        let cve = nvd::parse_cve5(&bytes).unwrap();
        assert_eq!(cve.id, id);
        assert_eq!(cve.provenance.id, id);
        assert_eq!(cve.provenance.date, cve.last_modified);
        assert_eq!(cve.vuln_status.as_deref(), Some("PUBLISHED"));
        assert_eq!(cve.descriptions.len(), 1);
        assert!(
            cve.configurations.is_empty(),
            "`affected[]` is not mapped onto CPE"
        );
    }

    let dcmtk = nvd::parse_cve5(&cve5_file(&corpus, "CVE-2022-2119")).unwrap();
    assert_eq!(
        dcmtk.published.as_deref(),
        Some("2022-06-24T15:00:20.534244Z")
    );
    assert_eq!(
        dcmtk.last_modified.as_deref(),
        Some("2024-09-16T20:02:41.102Z")
    );
    assert_eq!(dcmtk.weaknesses, ["CWE-22"]);
    assert_eq!(dcmtk.metrics.len(), 1);
    let m = &dcmtk.metrics[0];
    assert_eq!(
        (
            m.version.as_str(),
            m.vector.as_str(),
            m.base_score,
            m.source.as_deref()
        ),
        (
            "3.1",
            "CVSS:3.1/AV:A/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
            Some(7.5),
            Some("icscert")
        )
    );
    // The CNA's and the ADP's copies of the advisory link are one reference.
    assert_eq!(dcmtk.references.len(), 1);
    assert_eq!(
        dcmtk.references[0].url,
        "https://www.cisa.gov/uscert/ics/advisories/icsma-22-174-01"
    );

    let alaris = nvd::parse_cve5(&cve5_file(&corpus, "CVE-2020-25165")).unwrap();
    assert_eq!(alaris.weaknesses, ["CWE-287"]);

    let mirth = nvd::parse_cve5(&cve5_file(&corpus, "CVE-2023-43208")).unwrap();
    assert!(mirth.metrics.is_empty());
    assert!(mirth.weaknesses.is_empty(), "`n/a` is not a CWE");
    assert_eq!(mirth.references.len(), 1);
    assert!(mirth.kev.is_none());
}

#[test]
fn cve5_adp_scores_cwes_and_kev_marker() {
    let doc = br#"{"dataType": "CVE_RECORD", "dataVersion": "5.1",
      "cveMetadata": {"cveId": "CVE-2024-9999", "state": "PUBLISHED", "datePublished": "2024-01-02T00:00:00Z", "dateUpdated": "2024-03-04T00:00:00Z"},
      "containers": {
        "cna": {"providerMetadata": {"shortName": "acme"},
                "descriptions": [{"lang": "en", "value": "Acme pump"}],
                "affected": [{"vendor": "Acme", "product": "Pump", "versions": [{"version": "0", "lessThan": "2.0", "status": "affected", "versionType": "custom"}]}],
                "metrics": [{"cvssV4_0": {"version": "4.0", "vectorString": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "baseScore": 9.3}}],
                "problemTypes": [{"descriptions": [{"lang": "en", "type": "text", "description": "Missing auth (CWE-306)"}]}]},
        "adp": [{"providerMetadata": {"shortName": "CISA-ADP"},
                 "metrics": [{"cvssV3_1": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8}},
                             {"other": {"type": "kev", "content": {"dateAdded": "2024-02-01", "reference": "https://www.cisa.gov/known-exploited-vulnerabilities-catalog"}}}],
                 "problemTypes": [{"descriptions": [{"lang": "en", "type": "CWE", "cweId": "CWE-306", "description": "CWE-306 Missing Authentication"},
                                                    {"lang": "en", "type": "CWE", "cweId": "CWE-287", "description": "x"}]}]}]}}"#;
    assert!(nvd::looks_like_cve5(doc));
    let cve = nvd::parse_cve5(doc).unwrap();
    assert_eq!(cve.weaknesses, ["CWE-306", "CWE-287"]);
    let scores: Vec<(&str, Option<&str>)> = cve
        .metrics
        .iter()
        .map(|m| (m.version.as_str(), m.source.as_deref()))
        .collect();
    assert_eq!(scores, [("4.0", Some("acme")), ("3.1", Some("CISA-ADP"))]);
    let kev = cve.kev.expect("CISA ADP KEV marker");
    assert_eq!(
        (kev.cve.as_str(), kev.date_added.as_str()),
        ("CVE-2024-9999", "2024-02-01")
    );
    assert!(cve.configurations.is_empty());

    let rejected = br#"{"dataType": "CVE_RECORD", "cveMetadata": {"cveId": "CVE-2024-0003", "state": "REJECTED"},
      "containers": {"cna": {"rejectedReasons": [{"lang": "en", "value": "Duplicate of CVE-2024-0001."}]}}}"#;
    let cve = nvd::parse_cve5(rejected).unwrap();
    assert_eq!(cve.vuln_status.as_deref(), Some("REJECTED"));
    assert_eq!(cve.descriptions, ["Duplicate of CVE-2024-0001."]);
}

#[test]
fn cve5_malformed_inputs_name_the_problem() {
    assert_err(nvd::parse_cve5(b"  "), &["cve-json-5", "empty input"]);
    assert_err(
        nvd::parse_cve5(br#"{"containers": {}}"#),
        &["$.cveMetadata.cveId"],
    );
    assert_err(
        nvd::parse_cve5(br#"{"dataType": "CVE_RECORD_LIST"}"#),
        &["$.dataType"],
    );
    assert_err(
        nvd::parse_cve5(b"{\"cveMetadata\": {\"cveId\": \"CVE-1\"},\n\"containers\": {\"cna\": {\"metrics\": 7}}}"),
        &["unexpected value", "line 2"],
    );
}

#[test]
fn cve5_growing_prefixes_never_panic() {
    let Some(corpus) = corpus() else { return };
    for id in NVD_FILES {
        check_json_prefixes(&cve5_file(&corpus, id), usize::MAX, nvd::parse_cve5);
    }
}

// KEV

fn kev_json(corpus: &Path) -> KevCatalog {
    kev::parse(&read(
        &corpus.join("kev/known_exploited_vulnerabilities.json"),
    ))
    .unwrap()
}

#[test]
fn kev_catalogue_json() {
    let Some(corpus) = corpus() else { return };
    let catalogue = kev_json(&corpus);
    assert_eq!(catalogue.entries.len(), 1404);
    assert_eq!(catalogue.provenance.id, "kev");
    assert_eq!(catalogue.provenance.version.as_deref(), Some("2025.08.25"));
    assert_eq!(
        catalogue.provenance.date.as_deref(),
        Some("2025-08-25T17:04:19.9796Z")
    );

    let mirth = catalogue
        .entries
        .iter()
        .find(|e| e.cve == "CVE-2023-43208")
        .unwrap();
    assert_eq!(mirth.vendor, "NextGen Healthcare");
    assert_eq!(mirth.product, "Mirth Connect");
    assert_eq!(mirth.ransomware.as_deref(), Some("Known"));
    assert_eq!(mirth.cwes, ["CWE-502"]);
    assert_eq!(mirth.date_added, "2024-05-20");
    assert_eq!(mirth.due_date.as_deref(), Some("2024-06-10"));
    assert!(
        mirth
            .notes
            .as_deref()
            .unwrap()
            .contains("https://nvd.nist.gov/vuln/detail/CVE-2023-43208")
    );

    let first = &catalogue.entries[0];
    assert_eq!(first.cve, "CVE-2025-48384");
    assert_eq!(first.cwes, ["CWE-59", "CWE-436"]);
    assert_eq!(first.ransomware.as_deref(), Some("Unknown"));

    let known = catalogue
        .entries
        .iter()
        .filter(|e| e.ransomware.as_deref() == Some("Known"))
        .count();
    let independent = {
        let doc: serde_json::Value = serde_json::from_slice(&read(
            &corpus.join("kev/known_exploited_vulnerabilities.json"),
        ))
        .unwrap();
        doc["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["knownRansomwareCampaignUse"] == "Known")
            .count()
    };
    assert_eq!(known, independent);
}

#[test]
fn kev_csv_matches_json() {
    let Some(corpus) = corpus() else { return };
    let bytes = read(&corpus.join("kev/known_exploited_vulnerabilities.csv"));
    assert!(kev::looks_like_csv(&bytes) && !kev::looks_like(&bytes));
    let csv = kev::parse_csv(&bytes).unwrap();
    assert_eq!(csv.provenance.id, "kev");
    assert_eq!(
        csv.provenance.version, None,
        "the CSV carries no catalogue version"
    );
    let json = kev_json(&corpus);
    assert_eq!(csv.entries.len(), json.entries.len());
    for (c, j) in csv.entries.iter().zip(&json.entries) {
        assert_eq!(c, j);
    }
    // The CSV quotes fields with commas and doubled quotes; those entries came through too.
    let quoted = csv
        .entries
        .iter()
        .filter(|e| e.name.contains('"') || e.notes.as_deref().is_some_and(|n| n.contains('"')))
        .count();
    assert!(
        quoted > 0,
        "no entry with an embedded quote: the corpus changed?"
    );
}

#[test]
fn kev_csv_quoting_crlf_and_columns_in_any_order() {
    let csv = "\u{feff}product,cveID,vendorProject,notes,cwes,knownRansomwareCampaignUse\r\n\
               \"Pump, \"\"Infusion\"\"\",CVE-2024-0001,Acme,\"line one\r\nline two\",\"CWE-1, CWE-2\",Known\r\n\
               \r\n\
               Monitor,CVE-2024-0002,Acme,,,\r\n";
    let catalogue = kev::parse_csv(csv.as_bytes()).unwrap();
    assert_eq!(catalogue.entries.len(), 2);
    let e = &catalogue.entries[0];
    assert_eq!(e.product, "Pump, \"Infusion\"");
    assert_eq!(e.notes.as_deref(), Some("line one\r\nline two"));
    assert_eq!(e.cwes, ["CWE-1", "CWE-2"]);
    assert_eq!(e.ransomware.as_deref(), Some("Known"));
    let e = &catalogue.entries[1];
    assert_eq!(
        (e.cve.as_str(), e.notes.as_deref(), e.cwes.len()),
        ("CVE-2024-0002", None, 0)
    );
}

#[test]
fn kev_malformed_inputs_name_the_problem() {
    assert_err(kev::parse(b""), &["kev", "empty input"]);
    assert_err(
        kev::parse(br#"{"title": "x"}"#),
        &["no `vulnerabilities` array"],
    );
    assert_err(
        kev::parse(br#"{"vulnerabilities": [{"cveID": "CVE-1"}, {"vendorProject": "x"}]}"#),
        &["$.vulnerabilities[1].cveID"],
    );
    assert_err(
        kev::parse(b"{\"vulnerabilities\": [{\"cveID\": \"CVE-1\",\n \"cwes\": {}}]}"),
        &["unexpected value", "line 2"],
    );
    assert_err(kev::parse_csv(b""), &["no CSV header"]);
    assert_err(
        kev::parse_csv(b"cve,epss,percentile\n"),
        &["line 1", "cveID"],
    );
    assert_err(
        kev::parse_csv(b"cveID,product\nCVE-1,a\nCVE-2,b,c\n"),
        &["line 3", "expected 2 fields", "found 3"],
    );
    assert_err(
        kev::parse_csv(b"cveID,product\nCVE-1,\"a\nCVE-2,b\n"),
        &["line 2", "unterminated quoted field"],
    );
    assert_err(
        kev::parse_csv(b"cveID,product\n,a\n"),
        &["line 2", "missing CVE id"],
    );
}

#[test]
fn kev_growing_prefixes_never_panic() {
    let Some(corpus) = corpus() else { return };
    let json = read(&corpus.join("kev/known_exploited_vulnerabilities.json"));
    check_json_prefixes(&json, 200, kev::parse);

    let csv = read(&corpus.join("kev/known_exploited_vulnerabilities.csv"));
    for len in prefix_lengths(csv.len(), 400) {
        // A CSV cut anywhere may read as fewer entries or fail; it never panics or invents entries.
        if let Ok(catalogue) = kev::parse_csv(&csv[..len]) {
            assert!(catalogue.entries.len() <= 1404);
        }
    }
}

// EPSS

/// A synthetic EPSS daily file: `rows` rows with deterministic scores, a comment and a header.
fn epss_file(rows: usize, line_end: &str) -> String {
    let mut out = String::with_capacity(rows * 34 + 100);
    write!(
        out,
        "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z{line_end}"
    )
    .unwrap();
    write!(out, "cve,epss,percentile{line_end}").unwrap();
    for i in 0..rows {
        let (epss, percentile) = epss_values(i);
        write!(out, "{},{epss:.5},{percentile:.5}{line_end}", epss_cve(i)).unwrap();
    }
    out
}

fn epss_cve(i: usize) -> String {
    format!("CVE-{}-{}", 1999 + i % 27, 1000 + i)
}

fn epss_values(i: usize) -> (f64, f64) {
    let epss = ((i * 7919) % 100_000) as f64 / 100_000.0;
    let percentile = i as f64 / 250_000.0;
    (epss, percentile.min(1.0))
}

#[test]
fn epss_quarter_million_rows() {
    let rows = 250_000;
    let text = epss_file(rows, "\n");
    assert!(epss::looks_like(text.as_bytes()));
    let start = Instant::now();
    let (file, report) = epss::parse_with_report(text.as_bytes()).unwrap();
    let elapsed = start.elapsed();
    eprintln!(
        "epss: {rows} rows ({} bytes) in {elapsed:?} (this build's profile; time is not asserted)",
        text.len()
    );
    assert_eq!(report, epss::EpssReport::default());
    assert_eq!(file.scores.len(), rows);
    assert_eq!(file.provenance.id, "epss");
    assert_eq!(file.provenance.version.as_deref(), Some("v2025.03.14"));
    assert_eq!(
        file.provenance.date.as_deref(),
        Some("2025-08-25T12:55:00Z")
    );
    for i in [0, 1, 12_345, rows - 1] {
        let s = &file.scores[i];
        let (epss, percentile) = epss_values(i);
        assert_eq!(s.cve, epss_cve(i));
        assert!(
            (f64::from(s.epss) - epss).abs() < 1e-5,
            "row {i}: {} vs {epss}",
            s.epss
        );
        assert!((f64::from(s.percentile) - percentile).abs() < 1e-5);
    }
}

#[test]
fn epss_crlf_no_comment_blank_lines_and_bad_rows() {
    let crlf = epss_file(1000, "\r\n");
    let (file, report) = epss::parse_with_report(crlf.as_bytes()).unwrap();
    assert_eq!((file.scores.len(), report.skipped), (1000, 0));
    assert_eq!(file.scores[999].cve, "CVE-1999-1999");

    let text = "\n\r\ncve,epss,percentile\r\nCVE-2024-0001,0.5,0.9\n\n\
                CVE-2024-0002,0.1\n\
                CVE-2024-0003,1.5,0.2\n\
                GHSA-xxxx,0.1,0.2\n\
                CVE-2024-0004,abc,0.2\n\
                CVE-2024-0005, 0.25 ,1\n";
    let (file, report) = epss::parse_with_report(text.as_bytes()).unwrap();
    assert_eq!(file.provenance.version, None, "no comment line");
    let cves: Vec<&str> = file.scores.iter().map(|s| s.cve.as_str()).collect();
    assert_eq!(cves, ["CVE-2024-0001", "CVE-2024-0005"]);
    assert_eq!(file.scores[1].epss, 0.25);
    assert_eq!(report.skipped, 4);
    assert_eq!(
        report.reasons,
        [
            "line 6: expected 3 fields, found 2",
            "line 7: `epss` is not a number between 0 and 1",
            "line 8: not a CVE id",
            "line 9: `epss` is not a number between 0 and 1",
        ]
    );
    assert_eq!(epss::parse(text.as_bytes()).unwrap(), file);

    // Columns are found by name.
    let (file, _) =
        epss::parse_with_report(b"percentile,cve,epss\n0.75,CVE-2024-0001,0.5\n").unwrap();
    assert_eq!(
        (file.scores[0].epss, file.scores[0].percentile),
        (0.5, 0.75)
    );
}

#[test]
fn epss_reasons_are_capped_but_all_bad_rows_counted() {
    let mut text = String::from("cve,epss,percentile\n");
    for i in 0..250 {
        writeln!(text, "CVE-2024-{i},x,y").unwrap();
    }
    let (file, report) = epss::parse_with_report(text.as_bytes()).unwrap();
    assert!(file.scores.is_empty());
    assert_eq!(report.skipped, 250);
    assert_eq!(report.reasons.len(), epss::MAX_REASONS);
}

#[test]
fn epss_malformed_header_is_an_error() {
    assert_err(epss::parse(b""), &["epss", "no header line"]);
    assert_err(epss::parse(b"#model_version:v1\n\n"), &["no header line"]);
    assert_err(
        epss::parse(b"#model_version:v1\ncve;epss;percentile\nCVE-1;0.1;0.2\n"),
        &["line 2", "malformed header"],
    );
    assert_err(
        epss::parse(b"CVE-2024-1,0.1,0.2\n"),
        &["line 1", "malformed header"],
    );
}

#[test]
fn epss_growing_prefixes_never_panic() {
    let text = epss_file(200, "\r\n");
    let bytes = text.as_bytes();
    for len in 0..=bytes.len() {
        if let Ok((file, _)) = epss::parse_with_report(&bytes[..len]) {
            assert!(file.scores.len() <= 200);
        }
    }
}

// Content sniffing: each reader claims its own documents and none of the others'.

#[test]
fn sniffers_tell_the_feeds_apart() {
    let Some(corpus) = corpus() else { return };
    type Sniffer = fn(&[u8]) -> bool;
    let sniffers: [(&str, Sniffer); 6] = [
        ("nvd", nvd::looks_like),
        ("cve5", nvd::looks_like_cve5),
        ("kev", kev::looks_like),
        ("kev-csv", kev::looks_like_csv),
        ("epss", epss::looks_like),
        ("sbom", knowledge::sbom::looks_like),
    ];
    let mut samples: Vec<(&str, Vec<u8>)> = Vec::new();
    for id in NVD_FILES {
        samples.push(("nvd", nvd_file(&corpus, id)));
        samples.push(("cve5", cve5_file(&corpus, id)));
    }
    samples.push((
        "kev",
        read(&corpus.join("kev/known_exploited_vulnerabilities.json")),
    ));
    samples.push((
        "kev-csv",
        read(&corpus.join("kev/known_exploited_vulnerabilities.csv")),
    ));
    samples.push(("epss", epss_file(10, "\n").into_bytes()));
    samples.push((
        "epss",
        b"cve,epss,percentile\nCVE-2024-1,0.1,0.2\n".to_vec(),
    ));
    samples.push(("sbom", read(&corpus.join("sbom/cyclonedx/VEX/vex.json"))));
    samples.push((
        "sbom",
        read(&corpus.join("sbom/spdx/presentations/SBOMS-SPDX-Now-and-Future/ACME-v2.3.spdx.json")),
    ));
    let csaf_dir = corpus.join("csaf/icsma");
    if let Some(first) = std::fs::read_dir(&csaf_dir).ok().and_then(|dir| {
        dir.filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
    }) {
        samples.push(("none", read(&first)));
    }
    samples.push(("none", b"\xd4\xc3\xb2\xa1 a pcap".to_vec()));
    for (kind, bytes) in &samples {
        for (name, sniff) in sniffers {
            assert_eq!(
                sniff(bytes),
                name == *kind,
                "{name} sniffer on a {kind} document"
            );
        }
    }
}
