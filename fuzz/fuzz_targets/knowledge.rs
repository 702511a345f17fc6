//! Arbitrary bytes through every knowledge reader the content sniffer can choose (CSAF, NVD, CVE 5,
//! KEV JSON/CSV, EPSS, CycloneDX/SPDX) and each reader directly; the text as a CVSS vector, a CPE
//! name in all three bindings, and a version rule. A document that reads must also survive matching.

#![no_main]

use knowledge::kb::{self, KnowledgeBase};
use knowledge::matcher::{DeviceFacts, Matcher};
use knowledge::version::Rule;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = knowledge::csaf::parse(data);
    let _ = knowledge::nvd::parse(data);
    let _ = knowledge::nvd::parse_cve5(data);
    let _ = knowledge::kev::parse(data);
    let _ = knowledge::kev::parse_csv(data);
    let _ = knowledge::epss::parse(data);
    let _ = knowledge::sbom::parse(data);
    if let Ok(doc) = kb::read(data)
        && let Ok(records) = kb::records(doc, None)
    {
        let kb = KnowledgeBase::from_records(records);
        let _ = kb.status();
        let m = Matcher::new(&kb);
        let _ = m.device(&DeviceFacts {
            id: "d".into(),
            vendors: vec!["Baxter".into()],
            models: vec!["Sigma Spectrum".into()],
            version: Some("8.1".into()),
            ..DeviceFacts::default()
        });
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(v) = knowledge::cvss::parse(text) {
            let s = v.scores();
            assert!((0.0..=10.0).contains(&s.score));
            // The normalised vector reads back to the same scores.
            assert_eq!(knowledge::cvss::score(&v.to_string()).ok(), Some(s));
        }
        if let Ok(w) = knowledge::cpe::Wfn::parse(text) {
            let _ = knowledge::cpe::Wfn::parse_fs(&w.to_fs());
            let _ = knowledge::cpe::Wfn::parse_uri(&w.to_uri());
        }
        let _ = Rule::range(text).covers(Some("1.2.3"));
        let _ = Rule::version(text).covers(Some("R2.10"));
        let _ = knowledge::version::compare(text, "1.0");
    }
});
