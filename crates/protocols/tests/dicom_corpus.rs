//! The DICOM parser against the shared corpus: `captures/dicom.pcap` (real dcmtk and pynetdicom peers,
//! ground truth in `captures/GROUND_TRUTH.md` section (a), tshark's view in `captures/tshark_ref/`), and
//! `pcap/dicom-generated/` (dcmtk captures, each with the dcmtk client's log saying what happened).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use capture::PipelineConfig;
use capture::reassembly::Chunk;
use protocols::dicom::{Association, AssociationStatus, DicomConnection, DicomStats};

/// One TCP flow decoded as DICOM.
struct Decoded {
    client_port: u16,
    server_port: u16,
    associations: Vec<Association>,
    stats: DicomStats,
}

/// Reassembles a capture and replays each TCP flow's chunks, in order, into a `DicomConnection`.
fn decode(path: &Path) -> Vec<Decoded> {
    let (flows, _) =
        capture::reassemble_file(path, PipelineConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for (record, consumer) in flows {
        if record.protocol != 6 {
            continue;
        }
        let mut conn = DicomConnection::new();
        let ts = record.first_seen;
        for chunk in &consumer.chunks {
            match chunk {
                Chunk::Data(dir, bytes) => conn.data(*dir, ts, bytes),
                Chunk::Gap(dir, len) => conn.gap(*dir, ts, *len),
                Chunk::Datagram(..) => {}
                Chunk::Close(_) => conn.close(record.last_seen),
            }
        }
        conn.close(record.last_seen);
        out.push(Decoded {
            client_port: record.client.port,
            server_port: record.server.port,
            associations: conn.take_associations(),
            stats: conn.stats(),
        });
    }
    out
}

fn command_names(a: &Association) -> Vec<String> {
    a.commands.iter().map(|c| c.field.name()).collect()
}

/// `| A1 | 60788 → 104 | dcmtk echoscu | CT_SCANNER_01 → PACS_SCP | ...` rows of GROUND_TRUTH.md (a):
/// (name, client port, server port, calling AE, called AE).
fn ground_truth_associations(corpus: &Path) -> Vec<(String, u16, u16, String, String)> {
    let text =
        std::fs::read_to_string(corpus.join("captures/GROUND_TRUTH.md")).expect("GROUND_TRUTH.md");
    let mut out = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 6 || !cells[1].starts_with('A') || cells[1].len() != 2 {
            continue;
        }
        let Some((port, server)) = cells[2].split_once('→') else {
            continue;
        };
        let Some((calling, called)) = cells[4].split_once('→') else {
            continue;
        };
        let clean = |s: &str| s.trim().trim_matches('*').to_string();
        out.push((
            cells[1].to_string(),
            port.trim().parse().expect("port"),
            server.trim().parse().expect("server port"),
            clean(calling),
            clean(called),
        ));
    }
    out
}

const DCMTK_UID: &str = "1.2.276.0.7230010.3.0.3.6.7";
const DCMTK_VERSION: &str = "OFFIS_DCMTK_367";
const PYNETDICOM_UID: &str = "1.2.826.0.1.3680043.9.3811.3.0.4";
const PYNETDICOM_VERSION: &str = "PYNETDICOM_304";

/// Implementation class UID and version, proposed contexts, commands in order, modalities.
type Expected = (
    &'static str,
    &'static str,
    usize,
    &'static [&'static str],
    &'static [&'static str],
);

#[test]
fn dicom_pcap_matches_ground_truth() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let decoded = decode(&corpus.join("captures/dicom.pcap"));
    let truth = ground_truth_associations(&corpus);
    assert_eq!(truth.len(), 6, "GROUND_TRUTH.md (a) rows");
    let all: Vec<(&Decoded, &Association)> = decoded
        .iter()
        .flat_map(|d| d.associations.iter().map(move |a| (d, a)))
        .collect();
    assert_eq!(all.len(), 6);

    // Expected per association, from GROUND_TRUTH.md (a): implementation, proposed contexts, commands,
    // modality.
    let expect: [Expected; 6] = [
        (
            DCMTK_UID,
            DCMTK_VERSION,
            1,
            &["C-ECHO-RQ", "C-ECHO-RSP"],
            &[],
        ),
        (
            DCMTK_UID,
            DCMTK_VERSION,
            128,
            &[
                "C-STORE-RQ",
                "C-STORE-RSP",
                "C-STORE-RQ",
                "C-STORE-RSP",
                "C-STORE-RQ",
                "C-STORE-RSP",
            ],
            &["CT"],
        ),
        (
            DCMTK_UID,
            DCMTK_VERSION,
            128,
            &["C-STORE-RQ", "C-STORE-RSP"],
            &["MR"],
        ),
        (
            DCMTK_UID,
            DCMTK_VERSION,
            128,
            &["C-STORE-RQ", "C-STORE-RSP"],
            &["US"],
        ),
        (
            PYNETDICOM_UID,
            PYNETDICOM_VERSION,
            1,
            &["C-ECHO-RQ", "C-ECHO-RSP"],
            &[],
        ),
        (DCMTK_UID, DCMTK_VERSION, 1, &[], &[]),
    ];
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for (i, ((d, a), (name, port, server, calling, called))) in all.iter().zip(&truth).enumerate() {
        let (uid, version, n_contexts, commands, modalities) = expect[i];
        assert_eq!((d.client_port, d.server_port), (*port, *server), "{name}");
        assert_eq!(&*a.calling_ae, calling.as_str(), "{name}");
        assert_eq!(&*a.called_ae, called.as_str(), "{name}");
        assert_eq!(a.implementation_class_uid.as_deref(), Some(uid), "{name}");
        assert_eq!(a.implementation_version.as_deref(), Some(version), "{name}");
        assert_eq!(a.proposed_contexts.len(), n_contexts, "{name}");
        assert_eq!(command_names(a), commands, "{name}");
        assert_eq!(a.modalities, modalities, "{name}");
        assert!(!a.incomplete, "{name}");
        assert!(a.user_identity.is_none(), "{name}");
        assert_eq!(d.stats.malformed_pdus, 0, "{name}");
        assert_eq!(d.stats.unexpected_transitions, 0, "{name}");
        assert_eq!(d.stats.bytes_skipped_resync, 0, "{name}");
        for c in &a.commands {
            if c.field.is_response() {
                assert_eq!(c.status, Some(0x0000), "{name}: {c:?}");
            }
        }
        for (k, v) in &a.command_counts {
            *totals.entry(k.clone()).or_default() += v;
        }
        if name == "A6" {
            assert_eq!(
                a.status,
                AssociationStatus::Rejected {
                    result: 1,
                    source: 1,
                    reason: 7
                }
            );
            assert!(!a.accepted);
        } else {
            assert_eq!(a.status, AssociationStatus::Released, "{name}");
            assert!(a.accepted, "{name}");
            assert!(!a.accepted_contexts.is_empty(), "{name}");
        }
        if !modalities.is_empty() {
            for attr in [
                "PatientName (0010,0010)",
                "PatientID (0010,0020)",
                "PatientBirthDate (0010,0030)",
                "PatientSex (0010,0040)",
                "AccessionNumber (0008,0050)",
            ] {
                assert!(
                    a.patient_attributes.contains(&attr),
                    "{name}: {attr} in {:?}",
                    a.patient_attributes
                );
            }
        }
    }
    assert_eq!(
        totals,
        BTreeMap::from([
            ("C-ECHO-RQ".to_string(), 2),
            ("C-ECHO-RSP".to_string(), 2),
            ("C-STORE-RQ".to_string(), 5),
            ("C-STORE-RSP".to_string(), 5),
        ])
    );
    // Patients per GROUND_TRUTH.md "Patients" and the objects table.
    let ids: Vec<Option<&str>> = all[1..4]
        .iter()
        .map(|(_, a)| a.patient.id.as_deref())
        .collect();
    assert_eq!(ids, [Some("100001"), Some("100002"), Some("100003")]);
    assert_eq!(all[1].1.patient.name.as_deref(), Some("DOE^JANE^A"));
    assert_eq!(all[1].1.patient.birth_date.as_deref(), Some("19650312"));
    assert!(
        all[1]
            .1
            .patient_attributes
            .contains(&"ReferringPhysicianName (0008,0090)")
    );
    assert!(
        all[1]
            .1
            .patient_attributes
            .contains(&"InstitutionName (0008,0080)")
    );
    assert_eq!(all[0].1.max_pdu_length, Some(16384));
    assert_eq!(all[4].1.max_pdu_length, Some(16382));
}

#[test]
fn dicom_pcap_pdus_match_tshark() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let decoded = decode(&corpus.join("captures/dicom.pcap"));
    let tsv =
        std::fs::read_to_string(corpus.join("captures/tshark_ref/dicom_pdus.tsv")).expect("tsv");
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (sport, dport, types, command) =
        (col("sport"), col("dport"), col("pdu_types"), col("command"));
    // PDU types per client port, and commands, as tshark saw them.
    let mut tshark_pdus: BTreeMap<u16, [u64; 8]> = BTreeMap::new();
    let mut tshark_commands: BTreeMap<String, u64> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let (s, d): (u16, u16) = (
            f[sport].parse().expect("sport"),
            f[dport].parse().expect("dport"),
        );
        let client = if matches!(s, 104 | 11112) { d } else { s };
        let counts = tshark_pdus.entry(client).or_default();
        for t in f[types].split(',').filter(|t| !t.is_empty()) {
            let t = u8::from_str_radix(t.trim_start_matches("0x"), 16).expect("pdu type");
            counts[usize::from(t)] += 1;
        }
        for c in f
            .get(command)
            .unwrap_or(&"")
            .split(',')
            .filter(|c| !c.is_empty())
        {
            *tshark_commands.entry(c.to_string()).or_default() += 1;
        }
    }
    let ours: BTreeMap<u16, [u64; 8]> = decoded
        .iter()
        .map(|d| (d.client_port, d.stats.pdus))
        .collect();
    assert_eq!(ours, tshark_pdus);
    let mut our_commands: BTreeMap<String, u64> = BTreeMap::new();
    for a in decoded.iter().flat_map(|d| &d.associations) {
        for (k, v) in &a.command_counts {
            *our_commands.entry(k.clone()).or_default() += v;
        }
    }
    // tshark is wrong here: it does not decode the C-STORE-RSP on the JPEG Baseline presentation context
    // of A4 (captures/TSHARK.md, point 2), so it counts one C-STORE-RSP fewer than the truth.
    assert_eq!(tshark_commands.get("C-STORE-RSP"), Some(&4));
    let mut corrected = tshark_commands.clone();
    *corrected.entry("C-STORE-RSP".to_string()).or_default() += 1;
    assert_eq!(our_commands, corrected);
}

/// The patient-identifying attributes the parser reports (DESIGN: names as "Keyword (gggg,eeee)").
const PATIENT_ATTRIBUTES: [&str; 10] = [
    "PatientName (0010,0010)",
    "PatientID (0010,0020)",
    "PatientBirthDate (0010,0030)",
    "PatientSex (0010,0040)",
    "PatientAddress (0010,1040)",
    "PatientTelephoneNumbers (0010,2154)",
    "AccessionNumber (0008,0050)",
    "ReferringPhysicianName (0008,0090)",
    "InstitutionName (0008,0080)",
    "OtherPatientIDs (0010,1000)",
];

/// What a dcmtk client log says happened.
#[derive(Debug, Default)]
struct LogTruth {
    rejected: Option<(u8, u8, u8)>,
    accepted: bool,
    released: bool,
    commands: Vec<(String, Option<u16>, Option<u16>)>,
    modalities: Vec<String>,
    patient_attributes: Vec<String>,
}

fn parse_log(text: &str) -> LogTruth {
    let mut t = LogTruth::default();
    let msg_id = |line: &str| {
        line.split("MsgID ")
            .nth(1)
            .and_then(|r| r.split([',', ')']).next())
            .and_then(|n| n.trim().parse::<u16>().ok())
    };
    let mut in_response = false;
    for line in text.lines() {
        let line = line.trim_start_matches("I: ").trim_start_matches("F: ");
        if line.starts_with("Association Accepted") {
            t.accepted = true;
        } else if line.starts_with("Releasing Association") {
            t.released = true;
        } else if let Some(r) = line.strip_prefix("Result: ") {
            let result = if r.starts_with("Rejected Permanent") {
                1
            } else {
                2
            };
            let source = if r.contains("Service User") {
                1
            } else if r.contains("ACSE") {
                2
            } else {
                3
            };
            t.rejected = Some((result, source, 0));
        } else if let Some(r) = line.strip_prefix("Reason: ") {
            let reason = match r.trim() {
                "No Reason" => 1,
                "Application Context Name Not Supported" => 2,
                "Calling AE Title Not Recognized" => 3,
                "Called AE Title Not Recognized" => 7,
                other => panic!("unknown reject reason {other}"),
            };
            if let Some(rj) = &mut t.rejected {
                rj.2 = reason;
            }
        } else if line.starts_with("Sending Echo Request") {
            t.commands.push(("C-ECHO-RQ".into(), msg_id(line), None));
        } else if line.starts_with("Received Echo Response (Success)") {
            t.commands.push(("C-ECHO-RSP".into(), None, Some(0)));
        } else if line.starts_with("Sending Store Request") {
            t.commands.push(("C-STORE-RQ".into(), msg_id(line), None));
            if let Some(m) = line.rsplit(", ").next().map(|m| m.trim_end_matches(')')) {
                t.modalities.push(m.to_string());
            }
        } else if line.starts_with("Received Store Response (Success)") {
            t.commands.push(("C-STORE-RSP".into(), None, Some(0)));
        } else if line.starts_with("Sending Find Request") {
            t.commands.push(("C-FIND-RQ".into(), msg_id(line), None));
        } else if line.starts_with("Find Response:") && line.contains("(Pending)") {
            t.commands.push(("C-FIND-RSP".into(), None, Some(0xFF00)));
            in_response = true;
        } else if line.starts_with("Received Final Find Response (Success)") {
            t.commands.push(("C-FIND-RSP".into(), None, Some(0)));
        } else if in_response && line.trim_start().starts_with('(') && line.contains(" [") {
            // "(0010,0010) PN [MOZART^WOLFGANG^AMADEUS ]   #  24, 1 PatientName"
            let l = line.trim_start();
            let tag = &l[..11];
            let value = l
                .split('[')
                .nth(1)
                .and_then(|v| v.split(']').next())
                .unwrap_or("");
            let keyword = l.rsplit(' ').next().unwrap_or("");
            if tag == "(0008,0060)" && !t.modalities.contains(&value.to_string()) {
                t.modalities.push(value.to_string());
            } else if !value.trim().is_empty() {
                let attr = format!("{keyword} {tag}");
                if PATIENT_ATTRIBUTES.contains(&attr.as_str()) {
                    t.patient_attributes.push(attr);
                }
            }
        }
    }
    t
}

#[test]
fn dcmtk_generated_captures_decode_as_their_logs_say() {
    let Some(corpus) = testkit::corpus() else {
        return;
    };
    let dir = corpus.join("pcap/dicom-generated");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dicom-generated")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".dcmtk-client.log"))
        .collect();
    logs.sort();
    assert_eq!(logs.len(), 5);
    for log in logs {
        let stem = log
            .to_string_lossy()
            .trim_end_matches(".dcmtk-client.log")
            .to_string();
        let truth = parse_log(&std::fs::read_to_string(&log).expect("log"));
        let decoded = decode(Path::new(&format!("{stem}.pcapng")));
        let name = Path::new(&stem)
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let dicom: Vec<&Decoded> = decoded
            .iter()
            .filter(|d| !d.associations.is_empty())
            .collect();
        assert_eq!(dicom.len(), 1, "{name}");
        let d = dicom[0];
        assert_eq!(d.associations.len(), 1, "{name}");
        let a = &d.associations[0];
        assert!(!a.incomplete, "{name}");
        assert_eq!(d.stats.malformed_pdus, 0, "{name}");
        assert_eq!(d.stats.unexpected_transitions, 0, "{name}");
        match truth.rejected {
            Some((result, source, reason)) => {
                assert_eq!(
                    a.status,
                    AssociationStatus::Rejected {
                        result,
                        source,
                        reason
                    },
                    "{name}"
                );
                assert!(!a.accepted, "{name}");
            }
            None => {
                assert!(truth.accepted && truth.released, "{name}: {truth:?}");
                assert!(a.accepted, "{name}");
                assert_eq!(a.status, AssociationStatus::Released, "{name}");
            }
        }
        let got: Vec<(String, Option<u16>, Option<u16>)> = a
            .commands
            .iter()
            .map(|c| {
                let id = if c.field.is_response() {
                    None
                } else {
                    c.message_id
                };
                // Pending C-FIND answers may be 0xFF00 or 0xFF01; the log says only "Pending".
                let status = c.status.map(|s| if s == 0xFF01 { 0xFF00 } else { s });
                (c.field.name(), id, status)
            })
            .collect();
        assert_eq!(got, truth.commands, "{name}");
        assert_eq!(a.modalities, truth.modalities, "{name}");
        for attr in &truth.patient_attributes {
            assert!(
                a.patient_attributes.iter().any(|p| p == attr),
                "{name}: {attr} not in {:?}",
                a.patient_attributes
            );
        }
        if name.contains("c-find") {
            assert!(!truth.patient_attributes.is_empty());
            assert_eq!(
                a.patient.name.as_deref(),
                Some("MOZART^WOLFGANG^AMADEUS"),
                "{name}"
            );
        }
        if name.contains("maxpdu4096") {
            assert_eq!(a.max_pdu_length, Some(4096), "{name}");
            // The SCU asked for PDUs of at most 4096 bytes (for what it receives); it sends the command and
            // the 39 KB data set as four P-DATA-TF PDUs in one TCP segment (tshark: 0x04,0x04,0x04,0x04),
            // and the SCP answers with one.
            assert_eq!(d.stats.pdus[4], 5, "{name}: {:?}", d.stats);
        }
    }
}
