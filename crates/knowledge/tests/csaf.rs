//! The CSAF 2.0 reader against the real CISA advisories of the corpus (`csaf/icsma/`: all 144 ICS
//! medical advisories; `csaf/icsa-nonmedical/`: 5 other ICS advisories; both from cisagov/CSAF at
//! 6960219fd4e6, see the corpus `MANIFEST.md`), a hand-written VEX document, and hostile inputs.
//!
//! Expected counts are computed from the raw JSON with `serde_json::Value`, independently of the
//! reader's own structs.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use knowledge::csaf::{self, MAX_BRANCH_DEPTH};
use knowledge::model::{Advisory, VersionBranch};
use serde_json::Value;

/// The corpus's CSAF folder, or `None` (with a notice from testkit) when the corpus is absent.
fn csaf_dir() -> Option<PathBuf> {
    Some(testkit::corpus()?.join("csaf"))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The one place the corpus tests call the parser.
fn check(name: &str, bytes: &[u8]) -> Advisory {
    assert!(csaf::looks_like(bytes), "{name}: not sniffed as CSAF");
    csaf::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn advisory(dir: &Path, file: &str) -> Advisory {
    check(file, &read(&dir.join(file)))
}

/// What the test counts in one document, from the raw JSON or from the parsed advisory.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    vulnerabilities: usize,
    cves: usize,
    products: usize,
    known_affected: usize,
    fixed: usize,
    remediations: usize,
    scores: usize,
    relationships: usize,
    groups: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.vulnerabilities += other.vulnerabilities;
        self.cves += other.cves;
        self.products += other.products;
        self.known_affected += other.known_affected;
        self.fixed += other.fixed;
        self.remediations += other.remediations;
        self.scores += other.scores;
        self.relationships += other.relationships;
        self.groups += other.groups;
    }
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn has_product_id(product: Option<&Value>) -> bool {
    product
        .and_then(|p| p.get("product_id"))
        .and_then(Value::as_str)
        .is_some_and(|id| !id.is_empty())
}

fn branch_products(branches: &[Value]) -> usize {
    branches
        .iter()
        .map(|b| {
            usize::from(has_product_id(b.get("product"))) + branch_products(array(b, "branches"))
        })
        .sum()
}

fn raw_counts(doc: &Value) -> Counts {
    let tree = &doc["product_tree"];
    let vulns = array(doc, "vulnerabilities");
    let status_len = |v: &Value, list: &str| array(&v["product_status"], list).len();
    Counts {
        vulnerabilities: vulns.len(),
        cves: vulns.iter().filter(|v| v["cve"].is_string()).count(),
        products: branch_products(array(tree, "branches"))
            + array(tree, "full_product_names")
                .iter()
                .filter(|p| has_product_id(Some(p)))
                .count()
            + array(tree, "relationships")
                .iter()
                .filter(|r| has_product_id(r.get("full_product_name")))
                .count(),
        known_affected: vulns.iter().map(|v| status_len(v, "known_affected")).sum(),
        fixed: vulns.iter().map(|v| status_len(v, "fixed")).sum(),
        remediations: vulns.iter().map(|v| array(v, "remediations").len()).sum(),
        scores: vulns
            .iter()
            .flat_map(|v| array(v, "scores"))
            .map(|s| usize::from(s["cvss_v3"].is_object()) + usize::from(s["cvss_v4"].is_object()))
            .sum(),
        relationships: array(tree, "relationships").len(),
        groups: array(tree, "product_groups").len(),
    }
}

fn parsed_counts(adv: &Advisory) -> Counts {
    let vulns = &adv.vulnerabilities;
    Counts {
        vulnerabilities: vulns.len(),
        cves: vulns.iter().filter(|v| v.cve.is_some()).count(),
        products: adv.products.len(),
        known_affected: vulns.iter().map(|v| v.status.known_affected.len()).sum(),
        fixed: vulns.iter().map(|v| v.status.fixed.len()).sum(),
        remediations: vulns.iter().map(|v| v.remediations.len()).sum(),
        scores: vulns.iter().map(|v| v.scores.len()).sum(),
        relationships: adv
            .products
            .iter()
            .filter(|p| p.relationship.is_some())
            .count(),
        groups: adv.groups.len(),
    }
}

/// Every product id a vulnerability mentions must name a product of the tree (true of every CISA
/// advisory; a failure here means the reader lost part of the tree).
fn assert_ids_resolve(name: &str, adv: &Advisory) {
    for v in &adv.vulnerabilities {
        let s = &v.status;
        let status = [
            &s.known_affected,
            &s.fixed,
            &s.known_not_affected,
            &s.under_investigation,
            &s.first_affected,
            &s.first_fixed,
            &s.last_affected,
            &s.recommended,
        ];
        let others = v
            .remediations
            .iter()
            .map(|r| &r.product_ids)
            .chain(v.scores.iter().map(|s| &s.product_ids));
        for id in status.into_iter().chain(others).flatten() {
            assert!(
                adv.product(id).is_some(),
                "{name}: {:?} mentions unknown product {id}",
                v.cve
            );
        }
    }
}

#[test]
fn every_corpus_advisory_parses_with_the_counts_of_its_raw_json() {
    let Some(dir) = csaf_dir() else { return };
    let mut parse_time = Duration::ZERO;
    let mut icsma_bytes = 0;
    for (folder, expected_files) in [("icsma", 144), ("icsa-nonmedical", 5)] {
        let files = json_files(&dir.join(folder));
        assert_eq!(files.len(), expected_files, "files in csaf/{folder}");
        let mut total = Counts::default();
        for path in &files {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let bytes = read(path);
            let raw: Value = serde_json::from_slice(&bytes).expect("corpus file is JSON");

            if folder == "icsma" {
                let start = Instant::now();
                let res = csaf::parse(&bytes);
                parse_time += start.elapsed();
                icsma_bytes += bytes.len();
                assert!(res.is_ok(), "{name}: {res:?}");
            }
            let adv = check(&name, &bytes);

            let expected = raw_counts(&raw);
            assert_eq!(parsed_counts(&adv), expected, "{name}");
            let tracking = &raw["document"]["tracking"];
            assert_eq!(
                Some(adv.provenance.id.as_str()),
                tracking["id"].as_str(),
                "{name}"
            );
            assert_eq!(
                adv.provenance.version.as_deref(),
                tracking["version"].as_str(),
                "{name}"
            );
            assert_eq!(
                adv.provenance.date.as_deref(),
                tracking["current_release_date"].as_str(),
                "{name}"
            );
            assert_eq!(adv.category, "csaf_security_advisory", "{name}");
            assert_eq!(adv.publisher, "CISA", "{name}");
            assert!(!adv.products.is_empty(), "{name}: no products");
            for p in &adv.products {
                assert!(p.vendor.is_some(), "{name}: {} has no vendor", p.id);
                assert!(!p.product_names.is_empty(), "{name}: {} has no name", p.id);
                assert!(p.version.is_some(), "{name}: {} has no version", p.id);
            }
            assert_ids_resolve(&name, &adv);
            total.add(expected);
        }
        println!("csaf/{folder}: {} files, {total:?}", files.len());
    }
    println!(
        "parsed the 144 ICSMA advisories ({} KiB) in {:.2} ms (unoptimised test build)",
        icsma_bytes / 1024,
        parse_time.as_secs_f64() * 1000.0
    );
}

/// BD Alaris pumps, `product_version_range` `<= 2.3.6` on four products.
#[test]
fn icsma_18_235_01_alaris_version_range() {
    let Some(dir) = csaf_dir() else { return };
    let adv = advisory(&dir.join("icsma"), "icsma-18-235-01.json");
    assert_eq!(adv.provenance.id, "ICSMA-18-235-01");
    assert_eq!(adv.provenance.version.as_deref(), Some("1"));
    assert_eq!(
        adv.provenance.date.as_deref(),
        Some("2018-08-23T00:00:00.000000Z")
    );
    assert_eq!(adv.references.len(), 5);

    let names: Vec<&str> = adv
        .products
        .iter()
        .flat_map(|p| p.product_names.iter().map(String::as_str))
        .collect();
    assert_eq!(
        names,
        ["Alaris CC", "Alaris TIVA", "Alaris GH", "Alaris GS"]
    );
    let cc = adv.product("CSAFPID-0001").expect("CSAFPID-0001");
    assert_eq!(cc.name, "Alaris CC: Versions 2.3.6 and prior");
    assert_eq!(
        cc.vendor.as_deref(),
        Some("Becton, Dickinson and Company (BD)")
    );
    assert_eq!(cc.version, Some(VersionBranch::Range("<= 2.3.6".into())));
    assert!(cc.families.is_empty() && cc.other_branches.is_empty());

    let [v] = adv.vulnerabilities.as_slice() else {
        panic!("one vulnerability expected")
    };
    assert_eq!(v.cve.as_deref(), Some("CVE-2018-14786"));
    assert_eq!(
        v.cwe,
        Some(("CWE-287".into(), "Improper Authentication".into()))
    );
    assert_eq!(
        v.status.known_affected,
        [
            "CSAFPID-0001",
            "CSAFPID-0002",
            "CSAFPID-0003",
            "CSAFPID-0004"
        ]
    );
    assert_eq!(v.remediations.len(), 4);
    assert!(v.remediations.iter().all(|r| r.category == "vendor_fix"));
    assert_eq!(
        v.remediations[3].url.as_deref(),
        Some("http://www.bd.com/productsecurity")
    );
    let [score] = v.scores.as_slice() else {
        panic!("one score expected")
    };
    assert_eq!(score.version, "3.0");
    assert_eq!(score.vector, "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:H/A:H");
    assert_eq!(score.base_score, Some(9.4));
    assert_eq!(score.product_ids.len(), 4);
}

/// BD Alaris 8000: CISA's generator writes `vers:all/*` as a `product_version`.
#[test]
fn icsma_17_017_01_vers_all_is_a_range() {
    let Some(dir) = csaf_dir() else { return };
    let adv = advisory(&dir.join("icsma"), "icsma-17-017-01.json");
    assert_eq!(adv.provenance.id, "ICSMA-17-017-01");
    assert_eq!(adv.provenance.version.as_deref(), Some("2"));
    assert_eq!(
        adv.initial_release.as_deref(),
        Some("2017-01-17T00:00:00.000000Z")
    );
    assert_eq!(adv.references.len(), 2);
    assert_eq!(adv.references[1].category.as_deref(), Some("self"));

    let [p] = adv.products.as_slice() else {
        panic!("one product expected")
    };
    assert_eq!(p.id, "CSAFPID-0001");
    assert_eq!(p.product_names, ["Alaris 8000 PC unit"]);
    assert_eq!(p.version, Some(VersionBranch::Range("vers:all/*".into())));

    let v = &adv.vulnerabilities[0];
    assert_eq!(v.cve.as_deref(), Some("CVE-2016-8375"));
    assert_eq!(v.title.as_deref(), Some("CVE-2016-8375"));
    assert_eq!(v.notes[0].category, "summary");
    assert!(
        v.notes[0]
            .text
            .starts_with("An unauthorized user with physical access")
    );
    assert_eq!(v.remediations[0].category, "mitigation");
    assert_eq!(v.scores[0].base_score, Some(4.9));
    assert_eq!(v.references.len(), 1);
}

/// Smiths Medical Medfusion 4000 (Update A): plain versions, eight CVEs on three products.
#[test]
fn icsma_17_250_02a_medfusion_update() {
    let Some(dir) = csaf_dir() else { return };
    let adv = advisory(&dir.join("icsma"), "icsma-17-250-02a.json");
    assert_eq!(adv.provenance.id, "ICSMA-17-250-02A");
    assert_eq!(adv.provenance.version.as_deref(), Some("2"));
    assert_eq!(
        adv.provenance.date.as_deref(),
        Some("2017-12-12T00:00:00.000000Z")
    );
    assert_eq!(
        adv.initial_release.as_deref(),
        Some("2017-09-07T00:00:00.000000Z")
    );
    let versions: Vec<_> = adv.products.iter().map(|p| p.version.clone()).collect();
    assert_eq!(
        versions,
        ["1.1", "1.6", "1.5"].map(|v| Some(VersionBranch::Version(v.into())))
    );
    assert!(
        adv.products
            .iter()
            .all(|p| p.vendor.as_deref() == Some("Smiths Medical"))
    );

    let cves: Vec<_> = adv
        .vulnerabilities
        .iter()
        .filter_map(|v| v.cve.as_deref())
        .collect();
    assert_eq!(
        cves,
        [
            "CVE-2017-12718",
            "CVE-2017-12722",
            "CVE-2017-12725",
            "CVE-2017-12720",
            "CVE-2017-12724",
            "CVE-2017-12726",
            "CVE-2017-12721",
            "CVE-2017-12723"
        ]
    );
    let v = &adv.vulnerabilities[2];
    assert_eq!(
        v.cwe,
        Some(("CWE-798".into(), "Use of Hard-coded Credentials".into()))
    );
    assert_eq!(v.status.known_affected.len(), 3);
    assert_eq!(v.remediations.len(), 8);
    assert_eq!(
        v.remediations[4].url.as_deref(),
        Some("https://smiths-medical.custhelp.com/")
    );
}

/// A vendor VEX in the shape CSAF 2.0 §4.5 asks for, exercising what the CISA corpus never uses:
/// families, identification helpers, full product names, relationships, groups, flags, threats, all
/// eight status lists, group ids in remediations, and CVSS v4 (with a v2 score to be dropped).
const VEX: &str = r#"{
  "document": {
    "category": "csaf_vex",
    "csaf_version": "2.0",
    "publisher": {"category": "vendor", "name": "Example Medical", "namespace": "https://example.invalid"},
    "title": "PumpOne: OpenSSL CVE-2022-3602",
    "tracking": {
      "id": "EXMED-VEX-2024-001",
      "version": "3",
      "status": "final",
      "initial_release_date": "2024-01-10T00:00:00Z",
      "current_release_date": "2024-03-01T12:00:00Z",
      "revision_history": [{"date": "2024-01-10T00:00:00Z", "number": "1", "summary": "initial"}]
    },
    "references": [
      {"category": "self", "summary": "this VEX", "url": "https://example.invalid/vex/001.json"},
      {"summary": "no url, dropped"}
    ]
  },
  "product_tree": {
    "branches": [
      {"category": "vendor", "name": "Example Medical", "branches": [
        {"category": "product_family", "name": "Infusion", "branches": [
          {"category": "product_name", "name": "PumpOne", "branches": [
            {"category": "product_version", "name": "4.2.0", "product": {
              "name": "PumpOne 4.2.0", "product_id": "PUMP-420",
              "product_identification_helper": {
                "cpe": "cpe:2.3:h:example:pumpone:4.2.0:*:*:*:*:*:*:*",
                "model_numbers": ["P1-100", "P1-200"],
                "skus": ["SKU-1"],
                "serial_numbers": ["SN-4*"],
                "hashes": [{"file_hashes": [{"algorithm": "sha256", "value": "00"}], "filename": "fw.bin"}],
                "x_generic_uris": [{"namespace": "https://example.invalid/ns", "uri": "https://example.invalid/p"}]
              }}},
            {"category": "product_version_range", "name": "vers:generic/>=4.0.0|<4.2.0", "product": {
              "name": "PumpOne 4.0.0 to 4.1.x", "product_id": "PUMP-40X"}}
          ]}
        ]}
      ]},
      {"category": "vendor", "name": "OpenSSL Project", "branches": [
        {"category": "product_name", "name": "OpenSSL", "branches": [
          {"category": "product_version", "name": "3.0.6", "product": {
            "name": "OpenSSL 3.0.6", "product_id": "OPENSSL-306",
            "product_identification_helper": {"purl": "pkg:generic/openssl@3.0.6"}}}
        ]}
      ]}
    ],
    "full_product_names": [
      {"name": "PumpOne docking station", "product_id": "DOCK-1", "product_identification_helper": {"skus": ["D-1"]}}
    ],
    "relationships": [
      {"category": "default_component_of", "product_reference": "OPENSSL-306",
       "relates_to_product_reference": "PUMP-420",
       "full_product_name": {"name": "OpenSSL 3.0.6 as shipped in PumpOne 4.2.0", "product_id": "PUMP-420:OPENSSL-306"}},
      {"category": "installed_on", "product_reference": "OPENSSL-306",
       "relates_to_product_reference": "DOCK-1",
       "full_product_name": {"name": "OpenSSL 3.0.6 on the docking station", "product_id": "DOCK-1:OPENSSL-306"}}
    ],
    "product_groups": [
      {"group_id": "G-PUMPS", "product_ids": ["PUMP-420", "PUMP-40X"], "summary": "all PumpOne firmware"}
    ]
  },
  "vulnerabilities": [
    {
      "cve": "CVE-2022-3602",
      "cwe": {"id": "CWE-787", "name": "Out-of-bounds Write"},
      "notes": [{"category": "description", "title": "Impact", "text": "PumpOne never parses X.509 email addresses."}],
      "product_status": {"known_not_affected": ["PUMP-420:OPENSSL-306", "PUMP-420", "PUMP-40X"]},
      "flags": [{"label": "vulnerable_code_not_present", "product_ids": ["PUMP-420:OPENSSL-306"], "group_ids": ["G-PUMPS"]}],
      "threats": [{"category": "impact", "details": "The affected function is not compiled in.", "group_ids": ["G-PUMPS"], "product_ids": ["PUMP-420"]}]
    },
    {
      "cve": "CVE-2024-0002",
      "product_status": {
        "first_affected": ["PUMP-40X"], "first_fixed": ["PUMP-420"], "fixed": ["PUMP-420"],
        "known_affected": ["DOCK-1:OPENSSL-306"], "known_not_affected": ["PUMP-420:OPENSSL-306"],
        "last_affected": ["PUMP-40X"], "recommended": ["PUMP-420"], "under_investigation": ["DOCK-1"]
      },
      "remediations": [
        {"category": "vendor_fix", "details": "Update to PumpOne 4.2.0.", "url": "https://example.invalid/fw",
         "group_ids": ["G-PUMPS"], "date": "2024-02-01T00:00:00Z"},
        {"category": "none_available", "details": "No fix for the docking station yet.", "product_ids": ["DOCK-1:OPENSSL-306"]}
      ],
      "scores": [
        {"cvss_v2": {"version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P", "baseScore": 7.5},
         "cvss_v3": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8},
         "products": ["DOCK-1:OPENSSL-306"]},
        {"cvss_v4": {"version": "4.0", "vectorString": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "baseScore": 9.3},
         "products": ["DOCK-1:OPENSSL-306", "PUMP-40X"]}
      ],
      "references": [{"category": "external", "summary": "NVD", "url": "https://nvd.nist.gov/vuln/detail/CVE-2024-0002"}]
    }
  ]
}"#;

#[test]
fn vex_document_flags_status_and_product_tree() {
    let adv = csaf::parse(VEX.as_bytes()).expect("the VEX document parses");
    assert!(csaf::looks_like(VEX.as_bytes()));
    assert_eq!(adv.category, "csaf_vex");
    assert_eq!(adv.provenance.id, "EXMED-VEX-2024-001");
    assert_eq!(adv.provenance.version.as_deref(), Some("3"));
    assert_eq!(adv.provenance.date.as_deref(), Some("2024-03-01T12:00:00Z"));
    assert_eq!(adv.initial_release.as_deref(), Some("2024-01-10T00:00:00Z"));
    assert_eq!(adv.publisher, "Example Medical");
    assert_eq!(
        adv.references.len(),
        1,
        "a reference without url is dropped"
    );

    // Product tree: branch leaves, then full product names, then relationships.
    let ids: Vec<&str> = adv.products.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "PUMP-420",
            "PUMP-40X",
            "OPENSSL-306",
            "DOCK-1",
            "PUMP-420:OPENSSL-306",
            "DOCK-1:OPENSSL-306"
        ]
    );
    let pump = adv.product("PUMP-420").expect("PUMP-420");
    assert_eq!(pump.vendor.as_deref(), Some("Example Medical"));
    assert_eq!(pump.families, ["Infusion"]);
    assert_eq!(pump.product_names, ["PumpOne"]);
    assert_eq!(pump.version, Some(VersionBranch::Version("4.2.0".into())));
    assert_eq!(
        pump.helper.cpe.as_deref(),
        Some("cpe:2.3:h:example:pumpone:4.2.0:*:*:*:*:*:*:*")
    );
    assert_eq!(pump.helper.model_numbers, ["P1-100", "P1-200"]);
    assert_eq!(pump.helper.skus, ["SKU-1"]);
    assert_eq!(pump.helper.serial_numbers, ["SN-4*"]);
    assert_eq!(pump.helper.other, 2, "one hash entry and one generic URI");
    assert_eq!(
        adv.product("PUMP-40X").and_then(|p| p.version.clone()),
        Some(VersionBranch::Range("vers:generic/>=4.0.0|<4.2.0".into()))
    );
    assert_eq!(
        adv.product("OPENSSL-306")
            .and_then(|p| p.helper.purl.as_deref()),
        Some("pkg:generic/openssl@3.0.6")
    );
    let dock = adv.product("DOCK-1").expect("DOCK-1");
    assert_eq!(
        (dock.vendor.as_ref(), dock.helper.skus.as_slice()),
        (None, ["D-1".to_owned()].as_slice())
    );

    // A component of the pump is, for matching, the pump; software installed on the dock is the
    // software.
    let in_pump = adv
        .product("PUMP-420:OPENSSL-306")
        .expect("relationship product");
    let rel = in_pump.relationship.as_ref().expect("relationship");
    assert_eq!(
        (
            rel.category.as_str(),
            rel.product_reference.as_str(),
            rel.relates_to.as_str()
        ),
        ("default_component_of", "OPENSSL-306", "PUMP-420")
    );
    assert_eq!(in_pump.name, "OpenSSL 3.0.6 as shipped in PumpOne 4.2.0");
    assert_eq!(in_pump.vendor.as_deref(), Some("Example Medical"));
    assert_eq!(in_pump.product_names, ["PumpOne"]);
    assert_eq!(
        in_pump.version,
        Some(VersionBranch::Version("4.2.0".into()))
    );
    assert_eq!(in_pump.helper.cpe, None, "helpers are not inherited");
    let on_dock = adv
        .product("DOCK-1:OPENSSL-306")
        .expect("relationship product");
    assert_eq!(on_dock.vendor.as_deref(), Some("OpenSSL Project"));
    assert_eq!(on_dock.product_names, ["OpenSSL"]);
    assert_eq!(
        on_dock.version,
        Some(VersionBranch::Version("3.0.6".into()))
    );

    let [group] = adv.groups.as_slice() else {
        panic!("one group expected")
    };
    assert_eq!(group.id, "G-PUMPS");
    assert_eq!(group.product_ids, ["PUMP-420", "PUMP-40X"]);
    assert_eq!(group.summary.as_deref(), Some("all PumpOne firmware"));

    // The VEX statement proper: not affected, because the vulnerable code is not present.
    let not_affected = &adv.vulnerabilities[0];
    assert_eq!(not_affected.cve.as_deref(), Some("CVE-2022-3602"));
    assert_eq!(
        not_affected.status.known_not_affected,
        ["PUMP-420:OPENSSL-306", "PUMP-420", "PUMP-40X"]
    );
    assert!(not_affected.status.known_affected.is_empty());
    let [flag] = not_affected.flags.as_slice() else {
        panic!("one flag expected")
    };
    assert_eq!(flag.label, "vulnerable_code_not_present");
    assert_eq!(flag.group_ids, ["G-PUMPS"]);
    assert_eq!(
        adv.expand(&flag.product_ids, &flag.group_ids),
        ["PUMP-420:OPENSSL-306", "PUMP-420", "PUMP-40X"]
    );
    let [threat] = not_affected.threats.as_slice() else {
        panic!("one threat expected")
    };
    assert_eq!(threat.category, "impact");
    assert_eq!(threat.details, "The affected function is not compiled in.");
    assert_eq!(
        threat.product_ids,
        ["PUMP-420", "PUMP-40X"],
        "group members folded in once"
    );
    assert_eq!(not_affected.notes[0].title.as_deref(), Some("Impact"));

    // All eight status lists, group ids of remediations, v3 and v4 scores (v2 dropped).
    let v = &adv.vulnerabilities[1];
    let s = &v.status;
    assert_eq!(s.first_affected, ["PUMP-40X"]);
    assert_eq!(s.first_fixed, ["PUMP-420"]);
    assert_eq!(s.fixed, ["PUMP-420"]);
    assert_eq!(s.known_affected, ["DOCK-1:OPENSSL-306"]);
    assert_eq!(s.known_not_affected, ["PUMP-420:OPENSSL-306"]);
    assert_eq!(s.last_affected, ["PUMP-40X"]);
    assert_eq!(s.recommended, ["PUMP-420"]);
    assert_eq!(s.under_investigation, ["DOCK-1"]);
    let fix = &v.remediations[0];
    assert_eq!(fix.category, "vendor_fix");
    assert_eq!(fix.date.as_deref(), Some("2024-02-01T00:00:00Z"));
    assert_eq!(fix.url.as_deref(), Some("https://example.invalid/fw"));
    assert!(fix.product_ids.is_empty());
    assert_eq!(
        adv.expand(&fix.product_ids, &fix.group_ids),
        ["PUMP-420", "PUMP-40X"]
    );
    assert_eq!(v.remediations[1].category, "none_available");
    let scores: Vec<(&str, f64, usize)> = v
        .scores
        .iter()
        .map(|s| {
            (
                s.version.as_str(),
                s.base_score.unwrap_or(f64::NAN),
                s.product_ids.len(),
            )
        })
        .collect();
    assert_eq!(scores, [("3.1", 9.8, 1), ("4.0", 9.3, 2)]);
    assert!(v.scores[1].vector.starts_with("CVSS:4.0/AV:N/"));
    assert_eq!(v.references[0].category.as_deref(), Some("external"));
}

fn parse_err(input: &[u8]) -> String {
    match csaf::parse(input) {
        Ok(adv) => panic!(
            "{:?} parsed as advisory {}",
            String::from_utf8_lossy(&input[..input.len().min(60)]),
            adv.provenance.id
        ),
        Err(e) => {
            assert_eq!(e.format, "csaf");
            e.message
        }
    }
}

#[test]
fn malformed_inputs_are_errors_that_name_the_problem() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "truncated JSON"),
        (b"hello", "invalid JSON"),
        (b"\xff\xfe{\x00", "invalid JSON"),
        (
            br#"{"document": {"tracking": {"id": "X"}}} trailing"#,
            "invalid JSON",
        ),
        (b"[]", "top level is not a JSON object"),
        (b"42", "top level is not a JSON object"),
        (b"null", "top level is not a JSON object"),
        (b"{}", "`document` is missing"),
        (br#"{"document": "csaf"}"#, "`document` is missing"),
        (
            br#"{"product_tree": {}, "vulnerabilities": []}"#,
            "`document` is missing",
        ),
        (
            br#"{"document": {"csaf_version": "2.0", "tracking": {}}}"#,
            "`document.tracking.id` is missing",
        ),
        (
            br#"{"document": {"csaf_version": "2.0", "tracking": {"id": "  "}}}"#,
            "`document.tracking.id` is missing",
        ),
        (
            br#"{"document": {"csaf_version": "2.0"}}"#,
            "`document.tracking.id`",
        ),
    ];
    for (input, expected) in cases {
        let message = parse_err(input);
        assert!(
            message.contains(expected),
            "{:?}: {message:?} does not mention {expected:?}",
            String::from_utf8_lossy(input)
        );
    }

    let Some(dir) = csaf_dir() else { return };
    // Other JSON documents of the corpus are not CSAF.
    let nvd = read(&dir.join("../cve/nvd-api-2.0/CVE-2020-25165.json"));
    assert!(!csaf::looks_like(&nvd));
    assert!(parse_err(&nvd).contains("`document` is missing"));
    let cve5 = read(&dir.join("../cve/cve-json-5/CVE-2020-25165.json"));
    assert!(!csaf::looks_like(&cve5));
    assert!(parse_err(&cve5).contains("`document` is missing"));
    // A file cut in half.
    let full = read(&dir.join("icsma/icsma-17-250-02a.json"));
    let message = parse_err(&full[..full.len() / 2]);
    assert!(message.contains("truncated JSON"), "{message}");
}

#[test]
fn every_prefix_of_an_advisory_is_an_error_or_the_advisory() {
    let Some(dir) = csaf_dir() else { return };
    let bytes = read(&dir.join("icsma/icsma-17-017-01.json"));
    let whole = csaf::parse(&bytes).expect("whole file");
    let content_len = bytes.trim_ascii_end().len();
    for n in 0..bytes.len() {
        let prefix = &bytes[..n];
        csaf::looks_like(prefix);
        match csaf::parse(prefix) {
            Ok(adv) => {
                assert!(n >= content_len, "prefix of {n} bytes parsed");
                assert_eq!(adv, whole);
            }
            Err(e) => {
                assert!(n < content_len, "prefix of {n} bytes failed: {e}");
                assert!(!e.message.is_empty());
            }
        }
    }
}

/// A product tree of `depth` nested `product_family` branches with one product at the bottom.
fn nested_branches(depth: usize) -> String {
    let mut json =
        String::from(r#"{"document":{"tracking":{"id":"DEEP"}},"product_tree":{"branches":"#);
    for level in 0..depth {
        json.push_str(&format!(
            r#"[{{"category":"product_family","name":"f{level}","#
        ));
        if level + 1 < depth {
            json.push_str(r#""branches":"#);
        }
    }
    json.push_str(r#""product":{"product_id":"P"}"#);
    json.push_str(&"}]".repeat(depth));
    json.push_str("}}");
    json
}

#[test]
fn branches_nested_too_deep_are_an_error() {
    let adv = csaf::parse(nested_branches(MAX_BRANCH_DEPTH).as_bytes()).expect("at the limit");
    let p = adv.product("P").expect("the product at the bottom");
    assert_eq!(p.families.len(), MAX_BRANCH_DEPTH);
    assert_eq!(p.families.last().map(String::as_str), Some("f31"));

    let message = parse_err(nested_branches(MAX_BRANCH_DEPTH + 1).as_bytes());
    assert!(
        message.starts_with("product_tree.branches[0].branches[0]")
            && message.ends_with("branches nested deeper than 32 levels"),
        "{message}"
    );
    // 60 levels still fit the JSON parser's nesting limit: the reader's own check refuses them.
    assert!(parse_err(nested_branches(60).as_bytes()).contains("deeper than 32"));
    // Deeper still, the JSON parser refuses first.
    assert!(parse_err(nested_branches(1000).as_bytes()).contains("recursion limit"));
}

/// One long product name above many leaves: each leaf's product would copy it.
fn shared_name_tree(name_len: usize, leaves: usize) -> String {
    let name = "x".repeat(name_len);
    let leaves: Vec<String> = (0..leaves)
        .map(|i| {
            format!(
                r#"{{"category":"product_version","name":"{i}","product":{{"product_id":"P{i}"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"document":{{"tracking":{{"id":"AMP"}}}},"product_tree":{{"branches":[
            {{"category":"product_name","name":"{name}","branches":[{}]}}]}}}}"#,
        leaves.join(",")
    )
}

#[test]
fn a_tree_built_to_multiply_one_long_name_is_refused() {
    // 200 KiB of input that would become 128 MiB of product names.
    let message = parse_err(shared_name_tree(64 * 1024, 2000).as_bytes());
    assert!(
        message.starts_with("product_tree.branches:") && message.contains("exhaust memory"),
        "{message}"
    );
    let adv = csaf::parse(shared_name_tree(64, 2000).as_bytes()).expect("ordinary names");
    assert_eq!(adv.products.len(), 2000);
}

/// Nesting where the reader descends (typed fields) hits the JSON parser's limit and is an error;
/// nesting inside values the reader skips is walked without recursion and does no harm.
#[test]
fn deeply_nested_json_never_overflows_the_stack() {
    let depth = 100_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let branches = format!(
        r#"{{"document":{{"tracking":{{"id":"X"}}}},"product_tree":{{"branches":{}[]{}}}}}"#,
        r#"[{"branches":"#.repeat(depth),
        "}]".repeat(depth)
    );
    assert!(parse_err(branches.as_bytes()).contains("recursion limit"));
    assert!(parse_err(arrays.as_bytes()).contains("top level is not a JSON object"));
    let objects = format!("{}0{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let message = parse_err(objects.as_bytes());
    assert!(message.contains("`document` is missing"), "{message}");

    let skipped = format!(
        r#"{{"document":{{"tracking":{{"id":"X"}},"extra":{arrays}}},"vulnerabilities":[{{"notes":{arrays}}}]}}"#
    );
    let adv = csaf::parse(skipped.as_bytes()).expect("deep values in skipped places");
    assert_eq!(adv.vulnerabilities.len(), 1);
    assert!(adv.vulnerabilities[0].notes.is_empty());
}
