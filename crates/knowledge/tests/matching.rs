//! Matching a hospital's devices against the real CISA medical advisories and NVD records.
//!
//! The inventory below is what a CMMS export holds for a dozen devices named in ICSMA advisories:
//! makers spelled as hospitals spell them, affected and fixed firmware, unknown versions, and
//! devices no advisory names. For each device the test states, by hand and from reading the
//! advisories, which advisories affect it and which list it but not at its version; the expected CVE
//! sets are then taken from the advisories' raw JSON, independently of the reader under test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use knowledge::kb::{self, KnowledgeBase};
use knowledge::matcher::{Confidence, DeviceFacts, Matcher, Status};

fn load(corpus: &Path) -> KnowledgeBase {
    let mut records = Vec::new();
    for dir in ["csaf/icsma", "cve/nvd-api-2.0"] {
        let mut files: Vec<_> = std::fs::read_dir(corpus.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for f in files {
            let doc = kb::read(&std::fs::read(&f).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            records.extend(kb::records(doc, None).unwrap());
        }
    }
    KnowledgeBase::from_records(records)
}

/// CVE ids of an advisory, read from its raw JSON.
fn advisory_cves(corpus: &Path, id: &str) -> BTreeSet<String> {
    let file = corpus
        .join("csaf/icsma")
        .join(format!("{}.json", id.to_ascii_lowercase()));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    v["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["cve"].as_str().map(str::to_string))
        .collect()
}

fn device(id: &str, vendor: &str, model: &str, version: Option<&str>) -> DeviceFacts {
    DeviceFacts {
        id: id.into(),
        asset_tag: Some(id.into()),
        vendors: vec![vendor.into()],
        models: if model.is_empty() {
            vec![]
        } else {
            vec![model.into()]
        },
        version: version.map(str::to_string),
        ..DeviceFacts::default()
    }
}

struct Case {
    device: DeviceFacts,
    /// Advisories whose CVEs affect the device.
    affected: &'static [&'static str],
    /// Advisories that name the model, at versions other than the device's.
    fixed: &'static [&'static str],
    /// Extra CVEs from NVD records.
    nvd: &'static [&'static str],
    confidence: Confidence,
}

#[test]
fn a_cmms_inventory_maps_to_exactly_the_expected_cves() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let kb = load(&corpus);
    let m = Matcher::new(&kb);
    let cases = [
        // "Becton Dickinson" (the advisories: "Becton, Dickinson and Company (BD)"). Alaris 8015 PC
        // Unit at 9.33: 17-017-02 (<= 9.33), 20-170-06 ("Alaris PC Unit" 9.13|9.19|9.33|12.1),
        // 20-317-01 ("Alaris PC Unit Model 8015" <= 9.33.1), 23-194-01 ("Alaris Point-of-Care Unit
        // (PCU) Model 8015" <= 12.1.3). Not 17-017-01 (the 8000), not 18-235-01 (Alaris CC/GS...).
        // 20-343-01 lists "Alaris PC Unit" under the vendor "GE Healthcare" (an error in the
        // advisory): a BD device does not match it. NVD's CVE-2020-25165 (firmware <= 9.33.1 on
        // the alaris_8015_pcu) matches too.
        Case {
            device: device(
                "BME-0001",
                "Becton Dickinson",
                "Alaris 8015 PC Unit",
                Some("9.33"),
            ),
            affected: &[
                "ICSMA-17-017-02",
                "ICSMA-20-170-06",
                "ICSMA-20-317-01",
                "ICSMA-23-194-01",
            ],
            fixed: &[],
            nvd: &["CVE-2020-25165"],
            confidence: Confidence::Exact,
        },
        // The same pump at 12.1.4: past every affected range; 17-017-02, 20-317-01 and 23-194-01
        // list it at other versions, so it is fixed there. 20-170-06 lists 12.1 exactly: 12.1.4 is
        // not 12.1.
        Case {
            device: device("BME-0002", "BD", "Alaris 8015 PC Unit", Some("12.1.4")),
            affected: &[],
            fixed: &[
                "ICSMA-17-017-02",
                "ICSMA-20-170-06",
                "ICSMA-20-317-01",
                "ICSMA-23-194-01",
            ],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        // Philips IntelliVue MX40 below B.06.18 (17-255-01).
        Case {
            device: device(
                "BME-0003",
                "Philips Medical Systems",
                "IntelliVue MX40",
                Some("B.06.12"),
            ),
            affected: &["ICSMA-17-255-01"],
            fixed: &[],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        Case {
            device: device(
                "BME-0004",
                "Philips Healthcare",
                "IntelliVue MX40",
                Some("B.06.18"),
            ),
            affected: &[],
            fixed: &["ICSMA-17-255-01"],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        // Smiths Medical Medfusion 4000 at 1.6 (17-250-02A lists 1.1, 1.5, 1.6) and at 1.7.
        Case {
            device: device(
                "BME-0005",
                "Smiths Medical ASD, Inc.",
                "Medfusion 4000",
                Some("1.6"),
            ),
            affected: &["ICSMA-17-250-02A"],
            fixed: &[],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        Case {
            device: device("BME-0006", "Smiths Medical", "Medfusion 4000", Some("1.7")),
            affected: &[],
            fixed: &["ICSMA-17-250-02A"],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        // Medtronic MyCareLink 24950, version unknown: 18-179-01 and 18-219-01 say all versions;
        // 19-080-01 lists "MyCareLink Monitor: Versions 24950 and 24952" with the model numbers
        // as its product_version (no firmware version at all): affected too.
        Case {
            device: device(
                "BME-0007",
                "Medtronic Inc",
                "MyCareLink Monitor 24950",
                None,
            ),
            affected: &["ICSMA-18-179-01", "ICSMA-18-219-01", "ICSMA-19-080-01"],
            fixed: &[],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        // Philips Brilliance iCT 4.1.6: 18-123-01 has two iCT entries (<= 4.1.6, <= 3.2.4).
        Case {
            device: device("BME-0008", "Philips", "Brilliance iCT", Some("4.1.6")),
            affected: &["ICSMA-18-123-01"],
            fixed: &[],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        // BD Pyxis ES at 1.5.3: 19-248-01 says >= 1.3.4 and < 1.5.3.
        Case {
            device: device(
                "BME-0009",
                "Becton, Dickinson and Co.",
                "Pyxis ES",
                Some("1.5.3"),
            ),
            affected: &[],
            fixed: &["ICSMA-19-248-01"],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        // St. Jude Merlin@home EX1150 at 8.2.1 (< 8.2.2); the CMMS names the model differently from
        // the advisory ("RF models EX1150"): the model number decides.
        Case {
            device: device(
                "BME-0010",
                "St. Jude Medical",
                "Merlin@home EX1150",
                Some("8.2.1"),
            ),
            affected: &["ICSMA-17-009-01A"],
            fixed: &[],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        // Mirth Connect 4.4.0 by NextGen: NVD's CVE-2023-43208 (< 4.4.1); no ICSMA advisory.
        Case {
            device: device(
                "SRV-0001",
                "NextGen Healthcare",
                "Mirth Connect",
                Some("4.4.0"),
            ),
            affected: &[],
            fixed: &[],
            nvd: &["CVE-2023-43208"],
            confidence: Confidence::Exact,
        },
        // Unrelated devices: no advisory names them.
        Case {
            device: device(
                "BME-0011",
                "Acme Medical Devices Ltd",
                "Widget 3000",
                Some("1.0"),
            ),
            affected: &[],
            fixed: &[],
            nvd: &[],
            confidence: Confidence::Exact,
        },
        Case {
            device: device("BME-0012", "Philips", "Azurion 7", Some("2.1")),
            affected: &[],
            fixed: &[],
            nvd: &[],
            confidence: Confidence::Exact,
        },
    ];
    for c in &cases {
        let got = m.device(&c.device);
        let mut want: BTreeMap<String, Status> = BTreeMap::new();
        for a in c.fixed {
            for cve in advisory_cves(&corpus, a) {
                want.insert(cve, Status::Fixed);
            }
        }
        for a in c.affected {
            for cve in advisory_cves(&corpus, a) {
                want.insert(cve, Status::Affected);
            }
        }
        for cve in c.nvd {
            want.insert(cve.to_string(), Status::Affected);
        }
        let have: BTreeMap<String, Status> =
            got.iter().map(|m| (m.cve.clone(), m.status)).collect();
        assert_eq!(have, want, "{}: {:#?}", c.device.id, got);
        for g in &got {
            assert!(
                !g.why.is_empty(),
                "{}: {} has no explanation",
                c.device.id,
                g.cve
            );
            if g.status == Status::Affected {
                assert_eq!(g.confidence, c.confidence, "{}: {g:#?}", c.device.id);
            }
            if let Some(a) = &g.advisory {
                assert!(
                    g.why.iter().any(|w| w.contains(a.as_str())),
                    "the explanation names the advisory: {g:#?}"
                );
            }
        }
        println!(
            "{}: {} CVEs ({} affected)",
            c.device.id,
            got.len(),
            got.iter().filter(|m| m.status == Status::Affected).count()
        );
    }
}

#[test]
fn explanations_name_the_product_entry_and_the_version_rule() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let kb = load(&corpus);
    let m = Matcher::new(&kb);
    let got = m.device(&device("x", "Philips", "IntelliVue MX40", Some("B.06.12")));
    let one = got.iter().find(|m| m.cve == "CVE-2017-9657").unwrap();
    let why = one.why.join(" | ");
    assert!(why.contains("ICSMA-17-255-01"), "{why}");
    assert!(why.contains("CSAFPID-0001"), "{why}");
    assert!(why.contains("< B.06.18"), "{why}");
    assert!(why.contains("B.06.12"), "{why}");
    assert!(
        !one.remediation.is_empty(),
        "the advisory's remediation is carried"
    );
    assert!(
        !one.cvss.is_empty(),
        "the advisory's CVSS vector is carried"
    );
}

#[test]
fn version_unknown_and_vendor_only_matches_say_so() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let kb = load(&corpus);
    let m = Matcher::new(&kb);
    // A model with version ranges, version unknown: model confidence.
    let got = m.device(&device("x", "Philips", "IntelliVue MX40", None));
    assert!(!got.is_empty());
    for g in &got {
        assert_eq!(g.confidence, Confidence::Model, "{g:#?}");
        assert!(
            g.why.iter().any(|w| w.contains("version is unknown")),
            "{g:#?}"
        );
    }
    // Maker only ("Dräger", model unknown): every CVE of its advisory, at vendor confidence.
    let got = m.device(&device("y", "Draeger Medical GmbH", "", None));
    let want = advisory_cves(&corpus, "ICSMA-19-022-01");
    let have: BTreeSet<String> = got.iter().map(|m| m.cve.clone()).collect();
    assert!(want.is_subset(&have), "{have:?}");
    assert!(got.iter().all(|g| g.confidence == Confidence::Vendor));
}

/// NVD's AND configuration of CVE-2020-25165: the firmware is vulnerable only on the 8015 PCU
/// hardware (`vulnerable: false`). The same firmware named on other hardware does not match, and
/// the hardware alone (the "running on" entry) never makes a device affected.
#[test]
fn nvd_and_configurations_need_the_listed_hardware() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let mut records = Vec::new();
    let doc = kb::read(&std::fs::read(corpus.join("cve/nvd-api-2.0/CVE-2020-25165.json")).unwrap())
        .unwrap();
    records.extend(kb::records(doc, None).unwrap());
    let kb = KnowledgeBase::from_records(records);
    let m = Matcher::new(&kb);
    let firmware =
        |version: &str| format!("cpe:2.3:o:bd:alaris_8015_pcu_firmware:{version}:*:*:*:*:*:*:*");
    let on = |model: &str, version: &str| DeviceFacts {
        id: "d".into(),
        vendors: vec!["BD".into()],
        models: vec![model.into()],
        version: Some(version.into()),
        cpes: vec![
            firmware(version),
            format!(
                "cpe:2.3:h:bd:{}:-:*:*:*:*:*:*:*",
                model.to_lowercase().replace(' ', "_")
            ),
        ],
        ..DeviceFacts::default()
    };
    let cves = |d: &DeviceFacts| -> Vec<(String, Status)> {
        m.device(d).into_iter().map(|x| (x.cve, x.status)).collect()
    };
    assert_eq!(
        cves(&on("Alaris 8015 PCU", "9.33.1")),
        [("CVE-2020-25165".to_string(), Status::Affected)]
    );
    assert!(
        cves(&on("Alaris 8015 PCU", "9.33.2")).is_empty(),
        "a later firmware"
    );
    assert!(
        cves(&on("Alaris 8100", "9.33.1")).is_empty(),
        "the same firmware on other hardware"
    );
    // CPEs alone (no model, no version field): the declared firmware and hardware decide.
    let declared = |hw: &str, version: &str| DeviceFacts {
        id: "c".into(),
        vendors: vec!["BD".into()],
        cpes: vec![
            firmware(version),
            format!("cpe:2.3:h:bd:{hw}:-:*:*:*:*:*:*:*"),
        ],
        ..DeviceFacts::default()
    };
    assert_eq!(
        cves(&declared("alaris_8015_pcu", "9.30")),
        [("CVE-2020-25165".to_string(), Status::Affected)]
    );
    assert!(cves(&declared("alaris_8100", "9.30")).is_empty());
    assert!(cves(&declared("alaris_8015_pcu", "10.0")).is_empty());
    // Passive facts without CPEs: the model and the version decide both nodes.
    let passive = device("p", "Becton Dickinson", "Alaris 8015 PCU", Some("9.19"));
    assert_eq!(
        cves(&passive),
        [("CVE-2020-25165".to_string(), Status::Affected)]
    );
    let why = m.device(&passive)[0].why.join(" ");
    assert!(
        why.contains("(AND)") && why.contains("running on cpe:2.3:h:bd:alaris_8015_pcu"),
        "{why}"
    );
}

/// A maker's CSAF VEX document saying one firmware is not affected by one CVE of a CISA advisory:
/// that device is `not_affected` (with the flag's justification), whatever order the documents come
/// in; the other CVE and other firmware stay affected.
#[test]
fn a_csaf_vex_statement_decides_for_its_product() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let vex = br#"{
      "document": {"category": "csaf_vex", "csaf_version": "2.0", "title": "MX40 VEX",
        "publisher": {"name": "Philips", "category": "vendor", "namespace": "https://example.invalid"},
        "tracking": {"id": "PHILIPS-VEX-1", "version": "1", "status": "final",
          "initial_release_date": "2024-01-01T00:00:00Z", "current_release_date": "2024-01-01T00:00:00Z",
          "revision_history": [{"number": "1", "date": "2024-01-01T00:00:00Z", "summary": "first"}]}},
      "product_tree": {"branches": [{"category": "vendor", "name": "Philips", "branches": [
        {"category": "product_name", "name": "IntelliVue MX40", "branches": [
          {"category": "product_version", "name": "B.06.12",
           "product": {"product_id": "MX40-B0612", "name": "Philips IntelliVue MX40 B.06.12"}}]}]}]},
      "vulnerabilities": [{"cve": "CVE-2017-9657",
        "product_status": {"known_not_affected": ["MX40-B0612"]},
        "flags": [{"label": "vulnerable_code_not_in_execute_path", "product_ids": ["MX40-B0612"]}]}]
    }"#;
    for vex_first in [true, false] {
        let mut records = Vec::new();
        let vex_records = kb::records(kb::read(vex).unwrap(), None).unwrap();
        if vex_first {
            records.extend(vex_records.clone());
        }
        let doc = kb::read(&std::fs::read(corpus.join("csaf/icsma/icsma-17-255-01.json")).unwrap())
            .unwrap();
        records.extend(kb::records(doc, None).unwrap());
        if !vex_first {
            records.extend(vex_records);
        }
        let kb = KnowledgeBase::from_records(records);
        let m = Matcher::new(&kb);
        let status = |version: &str| -> BTreeMap<String, (Status, Option<String>)> {
            m.device(&device("x", "Philips", "IntelliVue MX40", Some(version)))
                .into_iter()
                .map(|x| (x.cve, (x.status, x.justification)))
                .collect()
        };
        let at = status("B.06.12");
        assert_eq!(
            at["CVE-2017-9657"],
            (
                Status::NotAffected,
                Some("vulnerable_code_not_in_execute_path".into())
            ),
            "vex first: {vex_first}"
        );
        assert_eq!(at["CVE-2017-9658"].0, Status::Affected);
        let other = status("B.06.10");
        assert_eq!(other["CVE-2017-9657"].0, Status::Affected);
    }
}

/// An SBOM component matches a CSAF product by PURL (the product's identification helper): the
/// version in the product's PURL decides affected or fixed.
#[test]
fn sbom_components_match_csaf_products_by_purl() {
    let advisory = br#"{
      "document": {"category": "csaf_security_advisory", "csaf_version": "2.0", "title": "Imaging core",
        "publisher": {"name": "Acme", "category": "vendor", "namespace": "https://example.invalid"},
        "tracking": {"id": "ACME-2025-1", "version": "1", "status": "final",
          "initial_release_date": "2025-01-01T00:00:00Z", "current_release_date": "2025-01-01T00:00:00Z",
          "revision_history": [{"number": "1", "date": "2025-01-01T00:00:00Z", "summary": "first"}]}},
      "product_tree": {"branches": [{"category": "vendor", "name": "Acme", "branches": [
        {"category": "product_name", "name": "imaging-core", "branches": [
          {"category": "product_version", "name": "1.2.0", "product": {"product_id": "IC-120",
            "name": "Acme imaging-core 1.2.0",
            "product_identification_helper": {"purl": "pkg:generic/acme/imaging-core@1.2.0"}}},
          {"category": "product_version", "name": "1.3.0", "product": {"product_id": "IC-130",
            "name": "Acme imaging-core 1.3.0",
            "product_identification_helper": {"purl": "pkg:generic/acme/imaging-core@1.3.0"}}}]}]}]},
      "vulnerabilities": [{"cve": "CVE-2099-0001",
        "product_status": {"known_affected": ["IC-120"], "fixed": ["IC-130"]}}]
    }"#;
    let sbom = |v: &str| {
        format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{{"bom-ref":"c","type":"library","name":"imaging-core","version":"{v}","purl":"pkg:generic/acme/Imaging-Core@{v}?arch=x86"}}]}}"#
        )
    };
    let mut records = kb::records(kb::read(advisory).unwrap(), None).unwrap();
    for (model_version, component) in [("5.0", "1.2.0"), ("6.0", "1.3.0")] {
        let target = kb::SbomTarget::parse(&format!("Contoso/Scanner/{model_version}")).unwrap();
        let doc = kb::read(sbom(component).as_bytes()).unwrap();
        records.extend(kb::records(doc, Some(&target)).unwrap());
    }
    let kb = KnowledgeBase::from_records(records);
    let m = Matcher::new(&kb);
    let status = |version: &str| {
        m.device(&device("s", "Contoso Ltd", "Scanner", Some(version)))
            .into_iter()
            .map(|x| (x.cve, x.status, x.why.join(" ")))
            .collect::<Vec<_>>()
    };
    let five = status("5.0");
    assert_eq!(five.len(), 1);
    assert_eq!(
        (five[0].0.as_str(), five[0].1),
        ("CVE-2099-0001", Status::Affected)
    );
    assert!(five[0].2.contains("PURL of product IC-120"), "{five:?}");
    let six = status("6.0");
    assert_eq!(
        (six[0].0.as_str(), six[0].1),
        ("CVE-2099-0001", Status::Fixed)
    );
    assert!(status("7.0").is_empty(), "no SBOM for that version");
}
