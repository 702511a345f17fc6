//! The SBOM reader against every file of the shared corpus (`sbom/cyclonedx`, `sbom/spdx`), with
//! counts checked against an independent walk of the JSON, plus VEX, spot checks and malformed input.

use std::path::{Path, PathBuf};

use knowledge::model::{FormatError, Sbom, SourceKind, VexState};
use knowledge::sbom;
use serde_json::Value;

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[track_caller]
fn assert_err<T: std::fmt::Debug>(res: Result<T, FormatError>, needles: &[&str]) {
    let text = res.expect_err("expected an error").to_string();
    for needle in needles {
        assert!(
            text.contains(needle),
            "error `{text}` does not mention `{needle}`"
        );
    }
}

/// Counts computed straight from the JSON, without the reader.
#[derive(Debug, PartialEq)]
struct Counts {
    components: usize,
    purls: usize,
    cpes: usize,
    vex: usize,
}

fn independent_counts(doc: &Value) -> Counts {
    fn walk(list: &Value, counts: &mut Counts) {
        for c in list.as_array().into_iter().flatten() {
            counts.components += 1;
            counts.purls += usize::from(c["purl"].as_str().is_some_and(|s| !s.is_empty()));
            counts.cpes += usize::from(c["cpe"].as_str().is_some_and(|s| !s.is_empty()));
            walk(&c["components"], counts);
        }
    }
    let mut counts = Counts {
        components: 0,
        purls: 0,
        cpes: 0,
        vex: 0,
    };
    if doc.get("bomFormat").is_some() {
        walk(&doc["components"], &mut counts);
        walk(&doc["metadata"]["component"]["components"], &mut counts);
        for v in doc["vulnerabilities"].as_array().into_iter().flatten() {
            counts.vex += v["affects"].as_array().map_or(0, Vec::len);
        }
    } else {
        for p in doc["packages"].as_array().into_iter().flatten() {
            counts.components += 1;
            let refs = p["externalRefs"].as_array();
            let has = |t: &str| refs.into_iter().flatten().any(|r| r["referenceType"] == t);
            counts.purls += usize::from(has("purl"));
            counts.cpes += usize::from(has("cpe23Type") || has("cpe22Type"));
        }
    }
    counts
}

fn reader_counts(sbom: &Sbom) -> Counts {
    Counts {
        components: sbom.components.len(),
        purls: sbom.components.iter().filter(|c| c.purl.is_some()).count(),
        cpes: sbom.components.iter().filter(|c| c.cpe.is_some()).count(),
        vex: sbom.vex.len(),
    }
}

/// Every JSON CycloneDX and SPDX 2.x file parses with the counts of an independent walk; everything
/// else is listed with the reason it is skipped.
#[test]
fn corpus_every_json_sbom_parses_with_independent_counts() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let mut files = Vec::new();
    files_under(&corpus.join("sbom"), &mut files);
    let (mut cyclonedx, mut spdx, mut totals) = (
        0,
        0,
        Counts {
            components: 0,
            purls: 0,
            cpes: 0,
            vex: 0,
        },
    );
    let mut skipped = Vec::new();
    for path in &files {
        let name = path.strip_prefix(&corpus).unwrap().display().to_string();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let bytes = read(path);
        let reason = match ext {
            "md" => Some("example description (Markdown)"),
            "xml" => Some("CycloneDX XML is not read"),
            "spdx" => Some("SPDX tag-value is not read"),
            "json" => None,
            _ => Some("not an SBOM file type"),
        };
        if let Some(reason) = reason {
            assert!(!sbom::looks_like(&bytes), "{name}: sniffed as an SBOM");
            assert!(sbom::parse(&bytes).is_err(), "{name}: parsed");
            skipped.push(format!("{name}: {reason}"));
            continue;
        }
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        if doc.get("@context").is_some() {
            assert!(!sbom::looks_like(&bytes), "{name}: sniffed as an SBOM");
            assert_err(sbom::parse(&bytes), &["SPDX 3"]);
            skipped.push(format!("{name}: SPDX 3 JSON-LD is not read"));
            continue;
        }
        assert!(sbom::looks_like(&bytes), "{name}: not sniffed as an SBOM");
        let parsed = sbom::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        if doc.get("bomFormat").is_some() {
            cyclonedx += 1;
            assert_eq!(parsed.format, Some(SourceKind::CycloneDx), "{name}");
            assert_eq!(
                parsed.spec_version,
                doc["specVersion"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                parsed.provenance.id,
                doc["serialNumber"].as_str().unwrap_or(""),
                "{name}"
            );
            assert_eq!(
                parsed.provenance.date.as_deref(),
                doc["metadata"]["timestamp"].as_str(),
                "{name}"
            );
            assert_eq!(
                parsed.subject.as_ref().map(|s| s.name.as_str()),
                doc["metadata"]["component"]["name"].as_str(),
                "{name}"
            );
        } else {
            spdx += 1;
            assert_eq!(parsed.format, Some(SourceKind::Spdx), "{name}");
            assert_eq!(
                parsed.spec_version,
                doc["spdxVersion"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                parsed.provenance.id,
                doc["documentNamespace"].as_str().unwrap(),
                "{name}"
            );
            assert!(parsed.subject.is_some(), "{name}: no subject");
        }
        let want = independent_counts(&doc);
        let got = reader_counts(&parsed);
        assert_eq!(got, want, "{name}");
        totals.components += got.components;
        totals.purls += got.purls;
        totals.vex += got.vex;
    }
    eprintln!(
        "sbom corpus: {cyclonedx} CycloneDX and {spdx} SPDX documents read \
         ({} components, {} purls, {} VEX statements); {} files skipped:",
        totals.components,
        totals.purls,
        totals.vex,
        skipped.len()
    );
    for line in &skipped {
        eprintln!("  {line}");
    }
    // The corpus is pinned (MANIFEST.md): 52 CycloneDX JSON (1.2-1.6) and 8 SPDX 2.2/2.3 JSON; the
    // rest are READMEs, two CycloneDX XML, two SPDX tag-value files and one SPDX 3 JSON-LD.
    assert_eq!((cyclonedx, spdx), (52, 8));
    assert_eq!(skipped.len(), files.len() - 60);
    assert!(skipped.iter().any(|s| s.contains("bom.xml")));
    assert!(totals.vex > 100 && totals.purls > 2000, "{totals:?}");
}

fn corpus_sbom(corpus: &Path, rel: &str) -> Sbom {
    sbom::parse(&read(&corpus.join("sbom").join(rel))).unwrap()
}

#[test]
fn cyclonedx_purls_suppliers_and_subject() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let laravel = corpus_sbom(&corpus, "cyclonedx/SBOM/laravel-7.12.0/bom.1.4.json");
    assert_eq!(laravel.spec_version, "1.4");
    assert_eq!(laravel.provenance.version.as_deref(), Some("1"));
    let subject = laravel.subject.as_ref().unwrap();
    assert_eq!(subject.name, "cyclonedx-php-composer-demo");
    assert_eq!(subject.supplier.as_deref(), Some("Jan Kowalleck"), "author");
    assert_eq!(
        subject.purl.as_deref(),
        Some("pkg:composer/cyclonedx/cyclonedx-php-composer-demo@dev-master")
    );
    let first = &laravel.components[0];
    assert_eq!(first.reference.as_deref(), Some("asm89/stack-cors-1.3.0.0"));
    assert_eq!(first.kind.as_deref(), Some("library"));
    assert_eq!(
        (first.name.as_str(), first.version.as_deref()),
        ("stack-cors", Some("1.3.0"))
    );
    assert_eq!(
        first.purl.as_deref(),
        Some("pkg:composer/asm89/stack-cors@1.3.0")
    );
    // No supplier, publisher or author: the group stands in.
    let brick = &laravel.components[1];
    assert_eq!(
        (brick.name.as_str(), brick.supplier.as_deref()),
        ("math", Some("brick"))
    );

    let dropwizard = corpus_sbom(&corpus, "cyclonedx/SBOM/dropwizard-1.3.15/bom.json");
    let jackson = dropwizard
        .components
        .iter()
        .find(|c| c.name == "jackson-annotations")
        .unwrap();
    assert_eq!(jackson.supplier.as_deref(), Some("FasterXML"), "publisher");
    assert_eq!(
        jackson.purl.as_deref(),
        Some("pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.9.10?type=jar")
    );

    let hbom = corpus_sbom(&corpus, "cyclonedx/HBOM/PCIe-SATA-adapter-board/bom.json");
    let board = hbom.subject.as_ref().unwrap();
    assert_eq!(board.kind.as_deref(), Some("device"));
    assert_eq!(
        board.supplier.as_deref(),
        Some("uk.ac.cam.cl"),
        "group of the subject"
    );
    assert_eq!(hbom.components[0].supplier.as_deref(), Some("Samtec"));
}

#[test]
fn cyclonedx_vex_states_from_cisa_use_cases() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let cases = [
        ("vex-affected.json", VexState::Affected, "product-ABC"),
        ("vex-fixed.json", VexState::Fixed, "product-DEF"),
        (
            "vex-not_affected.json",
            VexState::NotAffected,
            "product-ABC",
        ),
        (
            "vex-under_investigation.json",
            VexState::UnderInvestigation,
            "product-ABC",
        ),
    ];
    for (file, state, _) in cases {
        let doc = corpus_sbom(
            &corpus,
            &format!("cyclonedx/VEX/CISA-Use-Cases/Case-1/{file}"),
        );
        assert_eq!(doc.vex.len(), 1, "{file}");
        let statement = &doc.vex[0];
        assert_eq!(statement.cve, "CVE-2021-44228", "{file}");
        assert_eq!(statement.state, state, "{file}");
        assert_eq!(
            Some(statement.subject.as_str()),
            doc.subject.as_ref().and_then(|s| s.reference.as_deref()),
            "{file}: the statement is about the product of the document"
        );
    }
    let fixed = corpus_sbom(
        &corpus,
        "cyclonedx/VEX/CISA-Use-Cases/Case-1/vex-fixed.json",
    );
    assert_eq!(
        fixed.vex[0].detail.as_deref(),
        Some("This version of Product DEF has been fixed.")
    );

    // Versions of the affected product and the response are kept in the detail.
    let ranges = corpus_sbom(&corpus, "cyclonedx/VEX/CISA-Use-Cases/Case-4/vex.json");
    let detail = ranges.vex[0].detail.as_deref().unwrap();
    assert!(
        detail.contains("response: will_not_fix, update"),
        "{detail}"
    );
    assert!(
        detail.contains(
            "versions: 2.4 (affected), 2.6 (affected), vers:generic/>=2.9|<=4.1 (affected)"
        ),
        "{detail}"
    );

    // BOM-Link references stay as published; one statement per affected product.
    let links = corpus_sbom(&corpus, "cyclonedx/VEX/Use-Cases/Case-13/vex.json");
    let got: Vec<(&str, VexState, Option<&str>)> = links
        .vex
        .iter()
        .map(|v| (v.subject.as_str(), v.state, v.justification.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "urn:cdx:2c385cf7-e1ee-46e9-a51c-13de1ecb380a/1#acme-product-1",
                VexState::NotAffected,
                Some("code_not_reachable")
            ),
            (
                "urn:cdx:6ffac0b2-5246-4fb9-a6fe-7993041856a0/1#acme-product-2",
                VexState::NotAffected,
                Some("code_not_reachable")
            ),
            (
                "urn:cdx:240b5b0b-917d-4f48-816c-97e1944d8079/1#acme-product-3",
                VexState::Affected,
                None
            ),
        ]
    );

    // "All products": no `affects`, so no statement this reader could attach to a component.
    let all = corpus_sbom(&corpus, "cyclonedx/VEX/Use-Cases/Case-7/vex.json");
    assert!(all.vex.is_empty());
}

/// The corpus has no CycloneDX 1.6 VEX, so this one is written here: nested components, 1.6
/// `manufacturer`/`authors`, a CPE, and every analysis state.
#[test]
fn cyclonedx_1_6_vex_inline() {
    let doc = br#"{
      "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
      "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 3,
      "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
      "metadata": {
        "timestamp": "2025-01-02T03:04:05Z",
        "manufacturer": {"name": "Acme Medical"},
        "component": {"type": "device", "bom-ref": "pump", "name": "Infusion Pump X", "version": "4.2",
                      "components": [{"type": "firmware", "bom-ref": "pump-fw", "name": "pump-firmware", "version": "4.2.1"}]}
      },
      "components": [
        {"type": "operating-system", "bom-ref": "os", "name": "linux", "version": "5.10.0",
         "manufacturer": {"name": "Linux Foundation"},
         "cpe": "cpe:2.3:o:linux:linux_kernel:5.10.0:*:*:*:*:*:*:*",
         "components": [
           {"type": "library", "bom-ref": "ssl", "name": "openssl", "version": "1.1.1k",
            "authors": [{"name": "OpenSSL Project"}], "purl": "pkg:generic/openssl@1.1.1k",
            "components": [{"type": "library", "bom-ref": "zlib", "name": "zlib", "version": "1.2.11", "purl": "pkg:generic/zlib@1.2.11"}]}
         ]},
        {"type": "application", "bom-ref": "ui", "group": "com.acme", "name": "pump-ui", "version": null}
      ],
      "vulnerabilities": [
        {"id": "CVE-2021-3711", "analysis": {"state": "exploitable", "response": ["update"], "detail": "Fixed in 4.3."},
         "affects": [{"ref": "ssl"}, {"ref": "pump"}]},
        {"id": "CVE-2022-0778", "analysis": {"state": "resolved_with_pedigree"}, "affects": [{"ref": "ssl"}]},
        {"id": "CVE-2018-25032", "analysis": {"state": "false_positive", "justification": "code_not_present"}, "affects": [{"ref": "zlib"}]},
        {"id": "CVE-2022-37434", "analysis": {"state": "in_triage"}, "affects": [{"ref": "zlib"}]},
        {"id": "CVE-2021-22555", "affects": [{"ref": "os"}]},
        {"id": "CVE-2023-0001", "analysis": {"state": "not_yet_defined"}, "affects": [{"ref": "ui"}]},
        {"id": "CVE-2023-0002", "analysis": {"state": "not_affected"}}
      ]
    }"#;
    assert!(sbom::looks_like(doc));
    let bom = sbom::parse(doc).unwrap();
    assert_eq!(bom.spec_version, "1.6");
    assert_eq!(
        bom.provenance.id,
        "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    );
    assert_eq!(bom.provenance.version.as_deref(), Some("3"));
    assert_eq!(bom.provenance.date.as_deref(), Some("2025-01-02T03:04:05Z"));
    let subject = bom.subject.as_ref().unwrap();
    assert_eq!(
        (subject.name.as_str(), subject.supplier.as_deref()),
        ("Infusion Pump X", Some("Acme Medical"))
    );

    let order: Vec<&str> = bom
        .components
        .iter()
        .map(|c| c.reference.as_deref().unwrap())
        .collect();
    assert_eq!(
        order,
        ["os", "ssl", "zlib", "ui", "pump-fw"],
        "depth-first, metadata's last"
    );
    let by_ref = |r: &str| {
        bom.components
            .iter()
            .find(|c| c.reference.as_deref() == Some(r))
            .unwrap()
    };
    assert_eq!(by_ref("os").supplier.as_deref(), Some("Linux Foundation"));
    assert_eq!(
        by_ref("os").cpe.as_deref(),
        Some("cpe:2.3:o:linux:linux_kernel:5.10.0:*:*:*:*:*:*:*")
    );
    assert_eq!(by_ref("ssl").supplier.as_deref(), Some("OpenSSL Project"));
    assert_eq!(by_ref("ui").supplier.as_deref(), Some("com.acme"));
    assert_eq!(by_ref("ui").version, None);
    assert_eq!(by_ref("pump-fw").kind.as_deref(), Some("firmware"));

    let got: Vec<(&str, &str, VexState)> = bom
        .vex
        .iter()
        .map(|v| (v.cve.as_str(), v.subject.as_str(), v.state))
        .collect();
    assert_eq!(
        got,
        [
            ("CVE-2021-3711", "ssl", VexState::Affected),
            ("CVE-2021-3711", "pump", VexState::Affected),
            ("CVE-2022-0778", "ssl", VexState::Fixed),
            ("CVE-2018-25032", "zlib", VexState::NotAffected),
            ("CVE-2022-37434", "zlib", VexState::UnderInvestigation),
            ("CVE-2021-22555", "os", VexState::Affected),
            ("CVE-2023-0001", "ui", VexState::UnderInvestigation),
        ]
    );
    assert_eq!(
        bom.vex[0].detail.as_deref(),
        Some("Fixed in 4.3.; response: update")
    );
    assert_eq!(
        bom.vex[3].justification.as_deref(),
        Some("code_not_present")
    );
    assert_eq!(
        bom.vex[5].detail, None,
        "no analysis: Affected, nothing to add"
    );
    assert_eq!(bom.vex[6].detail.as_deref(), Some("state: not_yet_defined"));
}

#[test]
fn spdx_subject_suppliers_and_refs() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let acme = corpus_sbom(
        &corpus,
        "spdx/presentations/SBOMS-SPDX-Now-and-Future/ACME-v2.3.spdx.json",
    );
    assert_eq!(acme.spec_version, "SPDX-2.3");
    assert_eq!(
        acme.provenance.id,
        "http://spdx.org/spdxdocs/spdx-example-4ca64a7e-2f6f-41bf-8b18-16da59d67824"
    );
    assert_eq!(
        acme.provenance.date.as_deref(),
        Some("2023-10-08T18:30:22Z")
    );
    let subject = acme.subject.as_ref().unwrap();
    assert_eq!(
        subject.reference.as_deref(),
        Some("SPDXRef-Acme"),
        "documentDescribes"
    );
    assert_eq!(subject.name, "Acme Applcation");
    assert_eq!(subject.kind.as_deref(), Some("application"));
    assert_eq!(subject.supplier.as_deref(), Some("Jane Doe"));
    assert_eq!(subject.version.as_deref(), Some("2.3"));
    let purls: Vec<Option<&str>> = acme.components.iter().map(|c| c.purl.as_deref()).collect();
    assert_eq!(
        purls,
        [
            None,
            Some("pkg:npm/elliptic@6.5.2"),
            None,
            Some("pkg:alpine/openssl@3.0.4")
        ]
    );

    // DESCRIBES as a relationship; the supplier keeps its name without the e-mail.
    let minimal = corpus_sbom(
        &corpus,
        "spdx/presentations/OSS-NA-2023/SPDXVersion2.3/01-MinimalSBOM.json",
    );
    let subject = minimal.subject.as_ref().unwrap();
    assert_eq!(subject.reference.as_deref(), Some("SPDXRef-Package"));
    assert_eq!(subject.supplier.as_deref(), Some("SPDX"));
    assert!(subject.purl.is_some());
}

#[test]
fn spdx_cpe_refs_and_document_subject_inline() {
    let doc = br#"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "pump-sbom",
      "creationInfo": {"created": "2024-01-01T00:00:00Z"},
      "packages": [{"SPDXID": "SPDXRef-fw", "name": "fw", "supplier": "NOASSERTION", "originator": "Organization: Acme (Europe) Ltd",
                    "externalRefs": [{"referenceCategory": "SECURITY", "referenceType": "cpe22Type", "referenceLocator": "cpe:/o:acme:fw:1.0"},
                                     {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:o:acme:fw:1.0:*:*:*:*:*:*:*"}]}]}"#;
    let bom = sbom::parse(doc).unwrap();
    assert_eq!(bom.provenance.id, "pump-sbom", "no namespace: the name");
    let fw = &bom.components[0];
    assert_eq!(
        fw.cpe.as_deref(),
        Some("cpe:2.3:o:acme:fw:1.0:*:*:*:*:*:*:*"),
        "CPE 2.3 preferred"
    );
    assert_eq!(
        fw.supplier.as_deref(),
        Some("Acme (Europe) Ltd"),
        "originator, parentheses kept"
    );
    let subject = bom.subject.as_ref().unwrap();
    assert_eq!(
        (subject.reference.as_deref(), subject.name.as_str()),
        (Some("SPDXRef-DOCUMENT"), "pump-sbom")
    );
}

#[test]
fn malformed_inputs_name_the_problem() {
    assert_err(sbom::parse(b""), &["sbom", "empty input"]);
    assert_err(
        sbom::parse(b"<?xml version=\"1.0\"?><bom/>"),
        &["expected a JSON object"],
    );
    assert_err(sbom::parse(br#"{"title": "x"}"#), &["not an SBOM"]);
    assert_err(
        sbom::parse(br#"{"bomFormat": "SWID"}"#),
        &["$.bomFormat", "SWID"],
    );
    assert_err(
        sbom::parse(br#"{"spdxVersion": "SPDX-3.0"}"#),
        &["$.spdxVersion", "SPDX-3.0"],
    );
    assert_err(
        sbom::parse(
            br#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}"#,
        ),
        &["SPDX 3 JSON-LD is not read"],
    );
    assert_err(
        sbom::parse(
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\",\n\"components\": \"none\"}",
        ),
        &["unexpected value", "line 2"],
    );
    assert_err(
        sbom::parse(br#"{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1"}, {"affects": [{"ref": "x"}]}]}"#),
        &["cyclonedx", "$.vulnerabilities[1].id"],
    );
    assert_err(
        sbom::parse(
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "a""#,
        ),
        &["truncated JSON"],
    );
}

#[test]
fn more_than_the_component_cap_is_an_error() {
    let mut doc =
        String::from(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ["#);
    for i in 0..=sbom::MAX_COMPONENTS {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(r#"{"name":"c"}"#);
    }
    doc.push_str("]}");
    assert_err(
        sbom::parse(doc.as_bytes()),
        &["more than 100000 components"],
    );

    // Exactly the cap is fine, nested or not.
    let nested = doc.replacen(r#"{"name":"c"},"#, "", 1);
    assert_eq!(
        sbom::parse(nested.as_bytes()).unwrap().components.len(),
        sbom::MAX_COMPONENTS
    );
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let depth = 10_000;
    let mut doc = String::from(r#"{"bomFormat": "CycloneDX", "components": "#);
    for _ in 0..depth {
        doc.push_str(r#"[{"name": "n", "components": "#);
    }
    doc.push_str("[]");
    for _ in 0..depth {
        doc.push_str("}]");
    }
    doc.push('}');
    assert_err(sbom::parse(doc.as_bytes()), &["recursion limit"]);
}

#[test]
fn growing_prefixes_never_panic() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let samples = [
        ("cyclonedx/SBOM/keycloak-10.0.2/bom.json", 150),
        ("cyclonedx/SBOM/laravel-7.12.0/bom.1.4.json", 300),
        ("cyclonedx/VEX/CISA-Use-Cases/Case-4/vex.json", usize::MAX),
        ("cyclonedx/CBOM/Protocol/bom.json", usize::MAX),
        (
            "spdx/presentations/SBOMS-SPDX-Now-and-Future/ACME-v2.3.spdx.json",
            usize::MAX,
        ),
    ];
    for (rel, samples) in samples {
        let bytes = read(&corpus.join("sbom").join(rel));
        let end = bytes.trim_ascii_end().len();
        let step = (bytes.len() / samples.max(1)).max(1);
        let lengths = (0..bytes.len().min(2048)).chain((2048..bytes.len()).step_by(step));
        for len in lengths.chain([bytes.len()]) {
            let res = sbom::parse(&bytes[..len]);
            assert_eq!(
                res.is_ok(),
                len >= end,
                "{rel}: prefix of {len} of {end} bytes"
            );
        }
    }
}
