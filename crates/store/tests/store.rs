//! The store's behaviour: every test runs against SQLite (a scratch file) and PostgreSQL.
//!
//! PostgreSQL: `MEDSENTRY_PG_URL` names a database the tests may create schemas in (each test makes
//! its own, `t_<test>_<pid>`, and drops it), e.g.
//! `postgres://medsentry:medsentry@127.0.0.1:5432/medsentry_test`. Unset, the PostgreSQL runs print a
//! notice and pass, unless `MEDSENTRY_REQUIRE_PG=1` (CI), when they fail.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use store::{
    Backend, CmmsAsset, CommRecord, Counts, DEVICES_PER_TRANSACTION, DeviceFilter, DeviceRecord,
    Direction, EvidenceRecord, FieldRecord, FindingRecord, FindingRef, KbDocument, NewRun, RunId,
    RunTotals, SCHEMA_VERSION, SaveStats, Store, StoreError,
};
use testkit::Scratch;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Runs SQL on a PostgreSQL database directly.
fn pg_exec(url: &str, sql: &str) {
    use sqlx::Connection;
    block_on(async {
        let mut c = sqlx::PgConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connecting to MEDSENTRY_PG_URL: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = c.close().await;
    });
}

fn pg_base() -> Option<String> {
    match std::env::var("MEDSENTRY_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("MEDSENTRY_REQUIRE_PG").as_deref() != Ok("1"),
                "MEDSENTRY_REQUIRE_PG=1 but MEDSENTRY_PG_URL is not set"
            );
            None
        }
    }
}

struct Fixture {
    url: String,
    kind: Backend,
    _scratch: Option<Scratch>,
    /// PostgreSQL: the admin URL and the test's schema, dropped at the end.
    pg: Option<(String, String)>,
}

impl Fixture {
    fn sqlite(name: &str) -> Fixture {
        let scratch = Scratch::new(&format!("store-{name}"));
        let url = scratch.path("inventory.db").display().to_string();
        Fixture {
            url,
            kind: Backend::Sqlite,
            _scratch: Some(scratch),
            pg: None,
        }
    }

    fn postgres(name: &str) -> Option<Fixture> {
        let Some(base) = pg_base() else {
            eprintln!("notice: MEDSENTRY_PG_URL is not set; skipping PostgreSQL for `{name}`");
            return None;
        };
        let schema = format!("t_{name}_{}", std::process::id());
        pg_exec(
            &base,
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        );
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(Fixture {
            url: format!("{base}{sep}options[search_path]={schema}"),
            kind: Backend::Postgres,
            _scratch: None,
            pg: Some((base, schema)),
        })
    }

    fn open(&self) -> Store {
        Store::open(&self.url).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Raw SQL on the fixture's database, beside the store.
    fn exec(&self, sql: &str) {
        match self.kind {
            Backend::Postgres => pg_exec(&self.url, sql),
            Backend::Sqlite => {
                let _ = self.sqlite_query(sql);
            }
        }
    }

    /// SQLite only: the first column of the first row, as text.
    fn sqlite_query(&self, sql: &str) -> String {
        use sqlx::{ConnectOptions, Row};
        block_on(async {
            let mut c = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&self.url)
                .connect()
                .await
                .expect("open the SQLite file");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_all(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows.first()
                .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
                .unwrap_or_default()
        })
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg {
            let _ = std::panic::catch_unwind(|| {
                pg_exec(base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            });
        }
    }
}

/// Each listed test function runs once per back-end: `sqlite::name` and `postgres::name`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(&super::Fixture::sqlite(stringify!($name)));
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                if let Some(f) = super::Fixture::postgres(stringify!($name)) {
                    super::$name(&f);
                }
            })*
        }
    };
}

both!(
    migrations_from_empty_and_reopen,
    save_list_show_count,
    a_second_run_merges_and_records_changes,
    writes_need_their_run,
    batches_duplicates_and_export,
    a_database_from_a_newer_medsentry_is_refused,
    a_killed_writer_loses_nothing_committed,
    performance_100k_devices,
    performance_an_analysis_run,
    knowledge_documents_and_cmms_assets,
    a_version_1_database_is_upgraded,
    a_version_2_database_keeps_its_findings,
    a_version_4_database_sums_its_findings,
    a_version_5_database_keeps_its_communications,
    findings_are_summed_per_address_kind_and_title,
);

/// Processes that open a new SQLite file at the same moment (an `inventory list` while `analyze --db`
/// creates it) all succeed: the migrations are applied once, under the write lock. sqlx takes no lock
/// for SQLite migrations, and before the store took one the later opener failed on migration 2.
#[test]
fn sqlite_new_file_opened_by_many_at_once() {
    for round in 0..8 {
        let f = Fixture::sqlite(&format!("open-at-once-{round}"));
        let start = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    start.wait();
                    let mut st = f.open();
                    assert_eq!(st.schema_version().unwrap(), SCHEMA_VERSION);
                    st.close().unwrap();
                });
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Synthetic devices

const CATEGORIES: [&str; 5] = [
    "infusion-pump",
    "patient-monitor",
    "imaging-modality",
    "workstation",
    "pacs",
];

fn field(name: &str, value: &str, confidence: f32, rule: &str) -> FieldRecord {
    FieldRecord {
        field: name.into(),
        value: value.into(),
        confidence,
        rule: rule.into(),
        reason: format!("because of {rule}"),
        evidence_field: "dhcp.vendor_class".into(),
        evidence_value: format!("ev-{value}"),
    }
}

fn evidence(field: &str, value: &str, t: i64, count: u64) -> EvidenceRecord {
    EvidenceRecord {
        field: field.into(),
        value: value.into(),
        first_seen_ns: t,
        last_seen_ns: t + 1_000,
        count,
    }
}

/// Device `n` of a family `prefix` (4 hex digits): 8 fields, 6 evidence values, 2 addresses.
fn synth(n: u32, prefix: &str, t: i64) -> DeviceRecord {
    let hex = format!("{prefix}{n:08x}");
    let mac = (0..6)
        .map(|i| &hex[i * 2..i * 2 + 2])
        .collect::<Vec<_>>()
        .join(":");
    let category = CATEGORIES[n as usize % CATEGORIES.len()];
    DeviceRecord {
        id: format!("mac-{hex}"),
        mac: Some(mac),
        ips: vec![
            format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff),
            format!("fd00::{prefix}:{:x}", n),
        ],
        first_seen_ns: t,
        last_seen_ns: t + 60_000_000_000,
        fields: vec![
            field("category", category, 0.9, &format!("rule-{category}")),
            field("criticality", "patient-affecting", 0.9, "default"),
            field("vendor", &format!("Vendor{} Medical", n % 7), 0.8, "oui"),
            field("model", &format!("Model-{}", n % 13), 0.7, "http-server"),
            field("hostname", &format!("host-{n}"), 0.9, "dhcp-hostname"),
            field("software", "1.2.3", 0.6, "http-server"),
            field("role", "store-scu", 0.6, "dicom-role"),
            field("modality", "CT", 0.6, "dicom-modality"),
        ],
        evidence: vec![
            evidence("dhcp.hostname", &format!("host-{n}"), t, 2),
            evidence("mac.vendor", &format!("Vendor{} Medical", n % 7), t, 1),
            evidence("dhcp.vendor_class", "ev-x", t, 1),
            evidence("dns.query", "pacs.hospital.example", t, 10),
            evidence("dns.query", "ntp.hospital.example", t, 4),
            evidence("http.server", "Model-x/1.2.3", t, 3),
        ],
    }
}

fn new_run(sources: &[&str], t: i64) -> NewRun {
    NewRun {
        started_ns: t,
        tool: "medsentry test".into(),
        sources: sources.iter().map(|s| s.to_string()).collect(),
    }
}

fn comm(device: &str, peer: &str, port: u16, app: &str, bytes: u64, t: i64) -> CommRecord {
    CommRecord {
        device: device.into(),
        peer_ip: peer.into(),
        peer_port: port,
        transport: "tcp".into(),
        app: app.into(),
        direction: Direction::Out,
        peer_device: None,
        flows: 1,
        packets: bytes / 100,
        bytes,
        first_seen_ns: t,
        last_seen_ns: t + 5,
    }
}

fn by_category(c: &str) -> DeviceFilter {
    DeviceFilter {
        category: Some(c.into()),
        ..DeviceFilter::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

fn migrations_from_empty_and_reopen(f: &Fixture) {
    let mut s = f.open();
    assert_eq!(s.backend(), f.kind);
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let empty = Counts {
        by_category: vec![],
        ..Counts::default()
    };
    assert_eq!(s.counts().unwrap(), empty);
    assert!(s.runs().unwrap().is_empty());
    let run = s.begin_run(&new_run(&["a.pcap"], 1)).unwrap();
    s.save_devices(run, &[synth(1, "a0b0", 10)]).unwrap();
    s.close().unwrap();
    // Opening again applies nothing and keeps everything.
    for _ in 0..2 {
        let mut s = f.open();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(s.counts().unwrap().devices, 1);
    }
}

fn save_list_show_count(f: &Fixture) {
    let mut s = f.open();
    let t = 1_700_000_000_000_000_000;
    let run = s
        .begin_run(&new_run(&["ward-a.pcap", "ward b.pcapng"], t))
        .unwrap();
    let devices: Vec<DeviceRecord> = (0..20).map(|n| synth(n, "a0b0", t)).collect();
    let st = s.save_devices(run, &devices).unwrap();
    assert_eq!(
        st,
        SaveStats {
            devices: 20,
            added: 20,
            merged: 0,
            changes: 0,
            transactions: 1
        }
    );
    let d0 = &devices[0].id;
    let mut to_pacs = comm(d0, "10.0.0.4", 104, "dicom", 10_000, t);
    to_pacs.peer_device = Some(devices[4].id.clone());
    let cs = s
        .save_communications(
            run,
            &[
                to_pacs,
                comm(d0, "10.0.0.9", 2575, "hl7", 500, t),
                comm("mac-ffffffffffff", "10.0.0.9", 2575, "hl7", 1, t),
            ],
        )
        .unwrap();
    assert_eq!((cs.saved, cs.skipped), (2, 1));
    // Findings name addresses; the run says which device had each address.
    let findings = [
        FindingRecord {
            kind: "cleartext-phi".into(),
            severity: "high".into(),
            address: Some(devices[0].ips[0].clone()),
            title: "patient data in cleartext".into(),
            flows: 4,
            flow: 7,
            last_flow: 31,
            detail: "PID-5 x3".into(),
            fields: vec!["PID-3".into(), "PID-5".into()],
        },
        FindingRecord {
            kind: "insecure-protocol".into(),
            severity: "medium".into(),
            address: Some("203.0.113.9".into()),
            title: "telnet".into(),
            flows: 1,
            flow: 8,
            last_flow: 8,
            detail: String::new(),
            fields: Vec::new(),
        },
    ];
    let refs: Vec<FindingRef<'_>> = findings.iter().map(FindingRef::from).collect();
    assert_eq!(s.save_findings(run, &refs).unwrap(), 2);
    s.save_address_owners(
        run,
        &[
            (&devices[0].ips[0], &devices[1].id),
            (&devices[0].ips[0], d0),
            (&devices[0].ips[1], d0),
        ],
    )
    .unwrap();
    s.finish_run(
        run,
        &RunTotals {
            finished_ns: t + 9,
            packets: 1234,
            bytes: 567_890,
            first_packet_ns: Some(t),
            last_packet_ns: Some(t + 60),
        },
    )
    .unwrap();

    // Listing: by category, by vendor (a case-insensitive substring), paged.
    let pumps = s.list_devices(&by_category("infusion-pump")).unwrap();
    let ids: Vec<&str> = pumps.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [0, 5, 10, 15]
            .iter()
            .map(|n| devices[*n].id.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(pumps[1].ips, {
        let mut v = devices[5].ips.clone();
        v.sort();
        v
    });
    assert_eq!(pumps[1].vendor.as_deref(), Some("Vendor5 Medical"));
    assert_eq!(pumps[1].first_run, run);
    let v3 = s
        .list_devices(&DeviceFilter {
            vendor: Some("VENDOR3 med".into()),
            ..DeviceFilter::default()
        })
        .unwrap();
    assert_eq!(
        v3.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![
            devices[3].id.clone(),
            devices[10].id.clone(),
            devices[17].id.clone()
        ]
    );
    let none = s
        .list_devices(&DeviceFilter {
            vendor: Some("%".into()),
            ..DeviceFilter::default()
        })
        .unwrap();
    assert!(none.is_empty(), "LIKE wildcards in the text are literal");
    // By software, the same way: every device runs 1.2.3 here.
    let mut by_software = |text: &str| {
        s.list_devices(&DeviceFilter {
            software: Some(text.into()),
            ..DeviceFilter::default()
        })
        .unwrap()
        .len()
    };
    assert_eq!(
        (by_software("2.3"), by_software("2.4"), by_software("_")),
        (20, 0, 0)
    );
    let page1 = s
        .list_devices(&DeviceFilter {
            limit: Some(8),
            ..DeviceFilter::default()
        })
        .unwrap();
    let page2 = s
        .list_devices(&DeviceFilter {
            limit: Some(100),
            after: Some(page1.last().unwrap().id.clone()),
            ..DeviceFilter::default()
        })
        .unwrap();
    assert_eq!((page1.len(), page2.len()), (8, 12));
    assert!(page1.last().unwrap().id < page2[0].id);

    // Showing: by id, by MAC in another spelling, by address.
    let d = s.device(d0).unwrap().expect("device 0");
    assert_eq!(d.device.category, "infusion-pump");
    assert_eq!(d.fields.len(), 8);
    let cat = d
        .fields
        .iter()
        .find(|f| f.field.field == "category")
        .unwrap();
    assert_eq!(cat.field, devices[0].fields[0], "the why comes back whole");
    assert_eq!(cat.run, run);
    assert_eq!(d.evidence.len(), 6);
    assert_eq!(d.addresses.len(), 2);
    assert_eq!(d.addresses[0].first_seen_ns, t);
    assert_eq!(d.communications.len(), 2);
    assert_eq!(d.communications[0].bytes, 10_000, "largest first");
    assert_eq!(
        d.communications[0].peer_device.as_deref(),
        Some(devices[4].id.as_str())
    );
    assert_eq!(d.findings.len(), 1, "the later owner of the address wins");
    assert_eq!(d.findings[0].finding, findings[0]);
    assert_eq!((&d.findings[0].device, d.findings[0].run), (d0, run));
    assert!(
        s.device(&devices[1].id)
            .unwrap()
            .unwrap()
            .findings
            .is_empty()
    );
    assert!(d.changes.is_empty());
    let mac = devices[7]
        .mac
        .clone()
        .unwrap()
        .to_uppercase()
        .replace(':', "-");
    assert_eq!(
        s.resolve(&mac).unwrap().as_deref(),
        Some(devices[7].id.as_str())
    );
    assert_eq!(
        s.device(&devices[9].ips[0]).unwrap().unwrap().device.id,
        devices[9].id
    );
    assert_eq!(
        s.resolve("fd00:0::a0b0:9").unwrap().as_deref(),
        Some(devices[9].id.as_str()),
        "an IPv6 address in another spelling"
    );
    assert!(s.device("mac-0000deadbeef").unwrap().is_none());
    assert!(s.device("10.99.99.99").unwrap().is_none());

    let c = s.counts().unwrap();
    assert_eq!(
        (c.runs, c.devices, c.addresses, c.fields, c.evidence),
        (1, 20, 40, 160, 120)
    );
    assert_eq!((c.communications, c.findings, c.changes), (2, 2, 0));
    assert_eq!(c.by_category.len(), 5);
    assert!(c.by_category.iter().all(|(_, n)| *n == 4));

    let runs = s.runs().unwrap();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!(r.sources, vec!["ward-a.pcap", "ward b.pcapng"]);
    assert_eq!(r.finished_ns, Some(t + 9));
    assert_eq!((r.packets, r.bytes), (1234, 567_890));
    assert_eq!(
        (
            r.devices_seen,
            r.devices_added,
            r.changes,
            r.communications,
            r.findings
        ),
        (20, 20, 0, 2, 2)
    );
}

fn a_second_run_merges_and_records_changes(f: &Fixture) {
    let mut s = f.open();
    let a1 = synth(1, "a0b0", 1_000);
    assert_eq!(a1.fields[0].value, "patient-monitor");
    let run1 = s.begin_run(&new_run(&["monday.pcap"], 1)).unwrap();
    s.save_devices(run1, std::slice::from_ref(&a1)).unwrap();
    s.save_communications(run1, &[comm(&a1.id, "10.0.0.4", 104, "dicom", 100, 1_000)])
        .unwrap();
    s.finish_run(run1, &RunTotals::default()).unwrap();

    // The same device a day later: seen earlier and later, a surer category, a weaker vendor guess,
    // the same rule saying other software, a new address, more of the same evidence.
    let mut a2 = a1.clone();
    a2.first_seen_ns = 500;
    a2.last_seen_ns = a1.last_seen_ns + 1_000_000;
    a2.fields = vec![
        field("category", "infusion-pump", 0.95, "dhcp-pump"),
        field("vendor", "Someone Else", 0.1, "guess"),
        field("hostname", "host-1", 0.9, "dhcp-hostname"),
        field("software", "2.0.0", 0.5, "http-server"),
    ];
    a2.ips.push("10.9.9.9".into());
    a2.evidence = vec![
        evidence("dns.query", "pacs.hospital.example", 200, 2),
        evidence("tls.sni", "updates.vendor.example", 9_000, 1),
    ];
    let b = synth(2, "a0b0", 7_000);
    let run2 = s.begin_run(&new_run(&["tuesday.pcap"], 2)).unwrap();
    let st = s.save_devices(run2, &[a2.clone(), b.clone()]).unwrap();
    assert_eq!((st.devices, st.added, st.merged, st.changes), (2, 1, 1, 3));
    s.save_communications(run2, &[comm(&a1.id, "10.0.0.4", 104, "dicom", 50, 100)])
        .unwrap();
    s.finish_run(run2, &RunTotals::default()).unwrap();

    let d = s.device(&a1.id).unwrap().unwrap();
    assert_eq!(d.device.first_seen_ns, 500);
    assert_eq!(d.device.last_seen_ns, a2.last_seen_ns);
    assert_eq!((d.device.first_run, d.device.last_run), (run1, run2));
    assert_eq!(d.device.category, "infusion-pump");
    assert_eq!(
        d.device.vendor.as_deref(),
        Some("Vendor1 Medical"),
        "a weaker guess keeps"
    );
    assert_eq!(
        d.device.software.as_deref(),
        Some("2.0.0"),
        "the same rule updates"
    );
    assert_eq!(
        d.device.model.as_deref(),
        Some("Model-1"),
        "unseen fields stay"
    );
    let runs_of: Vec<(String, RunId)> = d
        .fields
        .iter()
        .map(|f| (f.field.field.clone(), f.run))
        .collect();
    assert!(runs_of.contains(&("category".into(), run2)));
    assert!(runs_of.contains(&("vendor".into(), run1)));
    assert!(
        runs_of.contains(&("hostname".into(), run1)),
        "the same decision again keeps the run that made it"
    );
    let changes: Vec<(String, Option<String>, Option<String>)> = d
        .changes
        .iter()
        .map(|c| {
            assert_eq!(c.run, run2);
            (c.field.clone(), c.old.clone(), c.new.clone())
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "category".into(),
                Some("patient-monitor".into()),
                Some("infusion-pump".into())
            ),
            (
                "software".into(),
                Some("1.2.3".into()),
                Some("2.0.0".into())
            ),
            ("ip".into(), None, Some("10.9.9.9".into())),
        ]
    );
    assert_eq!(s.run_changes(run2, 100).unwrap(), d.changes);
    assert!(s.run_changes(run1, 100).unwrap().is_empty());
    let ev = |field: &str, value: &str| {
        d.evidence
            .iter()
            .find(|e| e.field == field && e.value == value)
            .cloned()
            .unwrap()
    };
    let q = ev("dns.query", "pacs.hospital.example");
    assert_eq!((q.count, q.first_seen_ns, q.last_seen_ns), (12, 200, 2_000));
    assert_eq!(ev("tls.sni", "updates.vendor.example").count, 1);
    assert_eq!(d.evidence.len(), 7);
    let new_ip = d.addresses.iter().find(|a| a.ip == "10.9.9.9").unwrap();
    assert_eq!((new_ip.first_run, new_ip.last_run), (run2, run2));
    let old_ip = d.addresses.iter().find(|a| a.ip == a1.ips[0]).unwrap();
    assert_eq!((old_ip.first_run, old_ip.last_run), (run1, run2));
    assert_eq!(old_ip.first_seen_ns, 500);
    assert_eq!(d.communications.len(), 1);
    let c = &d.communications[0];
    assert_eq!(
        (c.bytes, c.flows, c.first_seen_ns, c.last_seen_ns),
        (150, 2, 100, 1_005)
    );

    // What the second run added, and what it saw.
    let added = s
        .list_devices(&DeviceFilter {
            added_in: Some(run2),
            ..DeviceFilter::default()
        })
        .unwrap();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].id, b.id);
    let seen = s
        .list_devices(&DeviceFilter {
            seen_since: Some(run2),
            ..DeviceFilter::default()
        })
        .unwrap();
    assert_eq!(seen.len(), 2);
    assert!(
        s.list_devices(&by_category("patient-monitor"))
            .unwrap()
            .is_empty()
    );
    let runs = s.runs().unwrap();
    assert_eq!(
        (runs[1].devices_seen, runs[1].devices_added, runs[1].changes),
        (2, 1, 3)
    );

    // A third run that only guesses: nothing changes.
    let run3 = s.begin_run(&new_run(&["wednesday.pcap"], 3)).unwrap();
    let mut a3 = a1.clone();
    a3.fields = vec![field("category", "workstation", 0.3, "oui-guess")];
    let st = s.save_devices(run3, &[a3]).unwrap();
    assert_eq!((st.merged, st.changes), (1, 0));
    assert_eq!(
        s.device(&a1.id).unwrap().unwrap().device.category,
        "infusion-pump"
    );
}

fn writes_need_their_run(f: &Fixture) {
    let mut s = f.open();
    let err = s
        .save_devices(RunId(4242), &[synth(1, "a0b0", 1)])
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NoSuchRun { run: 4242, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("run 4242") && msg.contains(s.name()), "{msg}");
    assert!(!msg.contains('\n'));
    assert!(matches!(
        s.finish_run(RunId(4242), &RunTotals::default()),
        Err(StoreError::NoSuchRun { .. })
    ));
    assert!(matches!(
        s.save_findings(RunId(4242), &[]),
        Err(StoreError::NoSuchRun { .. })
    ));
    assert_eq!(s.counts().unwrap().devices, 0, "nothing written");
    // The connection is still usable after a failed transaction.
    let run = s.begin_run(&new_run(&[], 1)).unwrap();
    assert_eq!(
        s.save_devices(run, &[synth(1, "a0b0", 1)]).unwrap().added,
        1
    );
}

fn batches_duplicates_and_export(f: &Fixture) {
    let mut s = f.open();
    let run = s.begin_run(&new_run(&["big.pcap"], 1)).unwrap();
    let n = 1_234u32;
    let mut devices: Vec<DeviceRecord> = (0..n).map(|i| synth(i, "c0c0", 1_000)).collect();
    // The same device twice in one call, and duplicate rows within a device, merge.
    let mut dup = devices[3].clone();
    dup.first_seen_ns = 10;
    dup.evidence.push(dup.evidence[0].clone());
    dup.ips.push(dup.ips[0].clone());
    devices.push(dup);
    let st = s.save_devices(run, &devices).unwrap();
    assert_eq!(st.devices, u64::from(n));
    assert_eq!(
        st.transactions,
        u64::from(n).div_ceil(DEVICES_PER_TRANSACTION as u64)
    );
    let c = s.counts().unwrap();
    let n64 = u64::from(n);
    assert_eq!(
        (c.devices, c.fields, c.evidence, c.addresses),
        (n64, n64 * 8, n64 * 6, n64 * 2)
    );
    let d3 = s.device(&devices[3].id).unwrap().unwrap();
    assert_eq!(d3.device.first_seen_ns, 10);
    // 21 sightings in each record, plus the duplicated row's 2.
    assert_eq!(d3.evidence.iter().map(|e| e.count).sum::<u64>(), 21 * 2 + 2);

    let mut seen = Vec::new();
    let exported = s
        .export(&DeviceFilter::default(), |d| {
            assert_eq!(d.fields.len(), 8);
            seen.push(d.device.id);
            Ok::<(), StoreError>(())
        })
        .unwrap();
    assert_eq!(exported, n64);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "id order, each once");
    let some = s
        .export(
            &DeviceFilter {
                category: Some("pacs".into()),
                limit: Some(100),
                ..DeviceFilter::default()
            },
            |d| {
                assert_eq!(d.device.category, "pacs");
                Ok::<(), StoreError>(())
            },
        )
        .unwrap();
    assert_eq!(some, 100);
}

fn a_database_from_a_newer_medsentry_is_refused(f: &Fixture) {
    f.open().close().unwrap();
    let blob = match f.kind {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "decode('00', 'hex')",
    };
    f.exec(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999, 'from the future', true, {blob}, 0)"
    ));
    let err = Store::open(&f.url).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found: 999, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("newer medsentry"), "{err}");
}

#[test]
fn errors_name_the_database_and_never_the_password() {
    let scratch = Scratch::new("store-errors");
    let path = scratch.path("no/such/folder/inv.db");
    let err = Store::open(&path.display().to_string()).unwrap_err();
    let msg = err.to_string();
    eprintln!("example: {msg}");
    assert!(matches!(err, StoreError::Open { .. }), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");

    let Some(base) = pg_base() else {
        eprintln!("notice: MEDSENTRY_PG_URL is not set; skipping the PostgreSQL half");
        return;
    };
    // The same server with a wrong password: the message names user, host and database only.
    let (scheme, rest) = base.split_once("://").unwrap();
    let (auth, host) = rest.rsplit_once('@').unwrap();
    let user = auth.split_once(':').map_or(auth, |(u, _)| u);
    let bad = format!("{scheme}://{user}:Wrong-Secret-42@{host}");
    let err = Store::open(&bad).unwrap_err();
    let msg = err.to_string();
    eprintln!("example: {msg}");
    assert!(!msg.contains("Wrong-Secret-42"), "{msg}");
    assert!(msg.contains(&format!("{scheme}://{user}@")), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    // Nothing listens on port 1.
    let err = Store::open("postgres://u:pw@127.0.0.1:1/db").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("postgres://u@127.0.0.1:1/db: cannot open"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Crash safety: a writer killed with SIGKILL in the middle of its work.

const CRASH_URL: &str = "MEDSENTRY_STORE_CRASH_URL";
const CRASH_ROUND: &str = "MEDSENTRY_STORE_CRASH_ROUND";

/// The writer the crash test runs in a child process (this test binary, this test only); without
/// the environment variable it does nothing.
#[test]
fn crash_writer_child() {
    let Ok(url) = std::env::var(CRASH_URL) else {
        return;
    };
    let round: u32 = std::env::var(CRASH_ROUND).unwrap().parse().unwrap();
    let mut s = Store::open(&url).unwrap();
    let run = s
        .begin_run(&new_run(&[&format!("round-{round}.pcap")], 1))
        .unwrap();
    println!("@@run {}", run.0);
    let prefix = format!("{:04x}", 0xe000 + round);
    // Bounded, should the parent die without killing us.
    for batch in 0..400u32 {
        let devices: Vec<DeviceRecord> = (0..DEVICES_PER_TRANSACTION as u32)
            .map(|i| synth(batch * 10_000 + i, &prefix, i64::from(batch)))
            .collect();
        println!("@@writing {batch}");
        s.save_devices(run, &devices).unwrap();
        println!("@@committed {batch}");
    }
}

/// What the child reported on this line (libtest may print on the same line before it).
fn marker(line: &str) -> String {
    line.split_once("@@")
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_default()
}

fn a_killed_writer_loses_nothing_committed(f: &Fixture) {
    let per = DEVICES_PER_TRANSACTION as u64;
    let mut total = 0u64;
    let mut killed_mid_batch = 0;
    // Each round kills the writer at another moment after a batch started; the next round writes
    // into what the last one left.
    for (round, delay_ms) in [(0u32, 0u64), (1, 3), (2, 11), (3, 29)] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_URL, &f.url)
            .env(CRASH_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let target = 2 + round;
        let mut committed = 0u64;
        let mut run = 0i64;
        for line in lines.by_ref() {
            let line = marker(&line.unwrap());
            if let Some(r) = line.strip_prefix("run ") {
                run = r.parse().unwrap();
            }
            if line.starts_with("committed ") {
                committed += 1;
            }
            if line == format!("writing {target}") {
                std::thread::sleep(Duration::from_millis(delay_ms));
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
        child.wait().unwrap();
        let mut last = String::new();
        for line in lines {
            let line = marker(&line.unwrap());
            if line.starts_with("committed ") {
                committed += 1;
            }
            if !line.is_empty() {
                last = line;
            }
        }
        if !last.starts_with("committed ") {
            killed_mid_batch += 1;
        }
        assert!(committed >= u64::from(target), "round {round}: {committed}");

        // It opens, its schema is whole, and every committed batch is there, whole.
        let mut s = f.open();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        let c = s.counts().unwrap();
        let mine = c.devices - total;
        assert_eq!(mine % per, 0, "round {round}: a batch half-written: {c:?}");
        assert!(
            mine == committed * per || mine == (committed + 1) * per,
            "round {round}: {mine} devices for {committed} batches reported committed"
        );
        assert_eq!(
            (c.fields, c.evidence, c.addresses),
            (c.devices * 8, c.devices * 6, c.devices * 2),
            "round {round}: a device without all its rows"
        );
        let runs = s.runs().unwrap();
        let r = runs.iter().find(|r| r.id.0 == run).unwrap();
        assert_eq!(r.finished_ns, None, "an interrupted run shows");
        assert_eq!(r.devices_seen, mine, "run counters commit with their rows");
        total = c.devices;
        drop(s);
        if f.kind == Backend::Sqlite {
            assert_eq!(f.sqlite_query("PRAGMA integrity_check"), "ok");
        }
    }
    eprintln!(
        "crash test ({:?}): {} devices survive four SIGKILLs, {killed_mid_batch} of them mid-batch",
        f.kind, total
    );
}

// ---------------------------------------------------------------------------------------------
// Performance: prints, does not assert (the machine is shared). MEDSENTRY_STORE_PERF_DEVICES sets
// the size (default 100,000; 0 skips).

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed<T>(n: usize, mut f: impl FnMut(usize) -> T) -> (Duration, Duration) {
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        std::hint::black_box(f(i));
        v.push(t.elapsed());
    }
    let max = *v.iter().max().unwrap();
    (median(v), max)
}

fn performance_100k_devices(f: &Fixture) {
    let n: u32 = std::env::var("MEDSENTRY_STORE_PERF_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    if n == 0 {
        return;
    }
    let mut s = f.open();
    let devices: Vec<DeviceRecord> = (0..n).map(|i| synth(i, "b0b0", 1_000)).collect();
    let run = s.begin_run(&new_run(&["perf.pcap"], 1)).unwrap();
    let t = Instant::now();
    let st = s.save_devices(run, &devices).unwrap();
    let first = t.elapsed();
    // A second run over the same devices: every row merges, nothing is new.
    let run2 = s.begin_run(&new_run(&["perf2.pcap"], 2)).unwrap();
    let t = Instant::now();
    let st2 = s.save_devices(run2, &devices).unwrap();
    let merge = t.elapsed();
    let t = Instant::now();
    s.finish_run(run2, &RunTotals::default()).unwrap();
    let finish = t.elapsed();
    assert_eq!((st.added, st2.merged), (u64::from(n), u64::from(n)));

    let k = 50;
    let (list_med, list_max) = timed(k, |i| {
        let r = s
            .list_devices(&DeviceFilter {
                category: Some(CATEGORIES[i % 5].into()),
                limit: Some(100),
                ..DeviceFilter::default()
            })
            .unwrap();
        assert_eq!(r.len(), 100.min(n as usize / 5));
    });
    let (vendor_med, vendor_max) = timed(k, |i| {
        s.list_devices(&DeviceFilter {
            vendor: Some(format!("vendor{}", i % 7)),
            limit: Some(100),
            ..DeviceFilter::default()
        })
        .unwrap()
    });
    let (rare_med, _) = timed(5, |_| {
        s.list_devices(&DeviceFilter {
            vendor: Some("no such vendor".into()),
            limit: Some(100),
            ..DeviceFilter::default()
        })
        .unwrap()
    });
    let (show_med, show_max) = timed(k, |i| {
        let id = &devices[(i * 7919) % n as usize].id;
        s.device(id).unwrap().unwrap()
    });
    let (ip_med, _) = timed(k, |i| {
        let ip = &devices[(i * 7919) % n as usize].ips[0];
        s.device(ip).unwrap().unwrap()
    });
    let (count_med, _) = timed(5, |_| s.counts().unwrap());
    eprintln!(
        "perf ({:?}, {n} devices, {} rows): save {:.1?} ({:.0} devices/s), merge again {:.1?}, finish (statistics) {finish:.1?}; \
         list category limit 100: median {list_med:.2?} max {list_max:.2?}; list vendor substring \
         limit 100: median {vendor_med:.2?} max {vendor_max:.2?}; vendor matching nothing (full \
         scan): {rare_med:.2?}; show by id: median {show_med:.2?} max {show_max:.2?}; show by ip: \
         {ip_med:.2?}; counts: {count_med:.2?}",
        f.kind,
        u64::from(n) * 17,
        first,
        f64::from(n) / first.as_secs_f64(),
        merge,
    );
}

/// What `analyze --db` writes for a large capture (gen_big: 2,106 devices, 17,036 communications,
/// 3,404 findings summed over 73,556 flows) into a new database, timed per phase as the binary
/// calls the store. Its size is fixed; MEDSENTRY_STORE_PERF_DEVICES=0 skips it too.
fn performance_an_analysis_run(f: &Fixture) {
    if std::env::var("MEDSENTRY_STORE_PERF_DEVICES").as_deref() == Ok("0") {
        return;
    }
    let (n_dev, n_comm, n_find) = (2_106u32, 17_036u32, 3_404u32);
    let devices: Vec<DeviceRecord> = (0..n_dev).map(|i| synth(i, "c0c0", 1_000)).collect();
    let comms: Vec<CommRecord> = (0..n_comm)
        .map(|i| {
            let mut c = comm(
                &devices[(i % n_dev) as usize].id,
                &format!("10.20.{}.{}", (i / 250) % 250, i % 250),
                104,
                "dicom",
                u64::from(i) * 1000,
                i64::from(i),
            );
            c.peer_device = Some(devices[((i * 7) % n_dev) as usize].id.clone());
            c
        })
        .collect();
    // One per address, kind and title, each summed over its flows, as the binary saves them.
    let address = |i: u32| format!("10.20.{}.{}", i / 200, i % 200);
    let findings: Vec<FindingRecord> = (0..n_find)
        .map(|i| FindingRecord {
            kind: "cleartext-phi".into(),
            severity: "high".into(),
            address: Some(address(i)),
            title: format!(
                "Patient data sent unencrypted (HL7) from {} to 10.10.0.20",
                address(i)
            ),
            flows: 21,
            flow: u64::from(i),
            last_flow: u64::from(i) + 70_000,
            detail: format!(
                "3 HL7 messages with patient data (ORU^R01 x3) over {}:{i} -> 10.10.0.20:2575 \
                 in cleartext; fields: PID-3, PID-5, PID-7",
                address(i)
            ),
            fields: vec!["PID-3".into(), "PID-5".into(), "PID-7".into()],
        })
        .collect();
    let t0 = Instant::now();
    let mut s = f.open();
    let run = s.begin_run(&new_run(&["big.pcap"], 1)).unwrap();
    let open = t0.elapsed();
    let t = Instant::now();
    for batch in devices.chunks(1000) {
        s.save_devices(run, batch).unwrap();
    }
    let dev = t.elapsed();
    let t = Instant::now();
    let cs = s.save_communications(run, &comms).unwrap();
    let com = t.elapsed();
    let t = Instant::now();
    let refs: Vec<FindingRef<'_>> = findings.iter().map(FindingRef::from).collect();
    let saved = s.save_findings(run, &refs).unwrap();
    let owners: Vec<(String, &str)> = (0..n_find)
        .map(|i| (address(i), devices[(i % n_dev) as usize].id.as_str()))
        .collect();
    let owners: Vec<(&str, &str)> = owners.iter().map(|(a, d)| (a.as_str(), *d)).collect();
    s.save_address_owners(run, &owners).unwrap();
    let fin = t.elapsed();
    let t = Instant::now();
    s.finish_run(run, &RunTotals::default()).unwrap();
    s.close().unwrap();
    let close = t.elapsed();
    let total = t0.elapsed();
    assert_eq!((cs.saved, saved), (u64::from(n_comm), u64::from(n_find)));
    let c = f.open().counts().unwrap();
    assert_eq!(
        (c.devices, c.communications, c.findings),
        (u64::from(n_dev), u64::from(n_comm), u64::from(n_find))
    );
    eprintln!(
        "perf ({:?}, an analysis run): open {open:.1?}, {n_dev} devices {dev:.1?}, \
         {n_comm} communications {com:.1?}, {n_find} findings {fin:.1?}, finish and close \
         {close:.1?}; total {total:.1?}",
        f.kind,
    );
}

fn kb_doc(kind: &str, key: &str, date: &str, body: &str) -> KbDocument {
    KbDocument {
        kind: kind.into(),
        key: key.into(),
        version: Some("1".into()),
        date: Some(date.into()),
        source: "test".into(),
        body: body.into(),
    }
}

fn knowledge_documents_and_cmms_assets(f: &Fixture) {
    let mut s = f.open();
    let docs = [
        kb_doc("csaf", "ICSMA-1", "2024-01-01", "{\"a\":1}"),
        kb_doc("csaf", "ICSMA-2", "2024-02-01", "{\"a\":2}"),
        kb_doc("kev", "kev", "2025-08-25", "{}"),
    ];
    let st = s.kb_put(&docs, 1).unwrap();
    assert_eq!((st.added, st.updated, st.unchanged, st.older), (3, 0, 0, 0));
    // The same documents again change nothing.
    let st = s.kb_put(&docs, 2).unwrap();
    assert_eq!((st.added, st.updated, st.unchanged, st.older), (0, 0, 3, 0));
    // A newer revision replaces; an older one is refused and the stored one kept.
    let st = s
        .kb_put(
            &[
                kb_doc("csaf", "ICSMA-1", "2024-03-01", "{\"a\":3}"),
                kb_doc("csaf", "ICSMA-2", "2023-12-01", "{\"a\":0}"),
            ],
            3,
        )
        .unwrap();
    assert_eq!((st.added, st.updated, st.unchanged, st.older), (0, 1, 0, 1));
    let all = s.kb_documents().unwrap();
    let bodies: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|d| (d.kind.as_str(), d.key.as_str(), d.body.as_str()))
        .collect();
    assert_eq!(
        bodies,
        [
            ("csaf", "ICSMA-1", "{\"a\":3}"),
            ("csaf", "ICSMA-2", "{\"a\":2}"),
            ("kev", "kev", "{}")
        ]
    );

    let asset = |key: &str, model: &str, line: i64| CmmsAsset {
        key: key.into(),
        asset_tag: Some(key.into()),
        vendor: Some("Baxter".into()),
        model: Some(model.into()),
        mac: Some("00:11:22:33:44:55".into()),
        software: Some("R2.3.4".into()),
        attributes: "{\"cpe\":\"cpe:2.3:h:baxter:x:-:*:*:*:*:*:*:*\"}".into(),
        line,
        ..CmmsAsset::default()
    };
    s.save_cmms(
        &[
            asset("A1", "Sigma Spectrum", 2),
            asset("A2", "Spectrum IQ", 3),
        ],
        4,
    )
    .unwrap();
    s.save_cmms(&[asset("A1", "Sigma Spectrum 8", 2)], 5)
        .unwrap();
    s.close().unwrap();
    let mut s = f.open();
    let got = s.cmms_assets().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].model.as_deref(), Some("Sigma Spectrum 8"));
    assert_eq!(got[1], asset("A2", "Spectrum IQ", 3));
}

/// Undoes migration 6: communications have their index by peer again (creating it fails unless
/// migration 6 dropped it).
fn back_to_version_5(f: &Fixture) {
    f.exec("CREATE INDEX communications_by_peer ON communications (peer_ip)");
    f.exec("DELETE FROM _sqlx_migrations WHERE version = 6");
}

/// Undoes migrations 6 and 5: a row per flow's finding, no counts (dropping a column fails unless
/// migration 5 added it).
fn back_to_version_4(f: &Fixture) {
    back_to_version_5(f);
    f.exec("DROP INDEX findings_by_address");
    f.exec("ALTER TABLE findings DROP COLUMN flows");
    f.exec("ALTER TABLE findings DROP COLUMN last_flow");
    f.exec("ALTER TABLE findings DROP COLUMN fields");
    f.exec("CREATE INDEX findings_by_address ON findings (run, address)");
    f.exec("DELETE FROM _sqlx_migrations WHERE version = 5");
}

/// Undoes migrations 5, 4 and 3: findings have their index by run again (creating it fails unless
/// migration 4 dropped it), and name their device again, as version 2 wrote them.
fn back_to_version_2(f: &Fixture) {
    back_to_version_4(f);
    f.exec("CREATE INDEX findings_by_run ON findings (run, id)");
    f.exec("DELETE FROM _sqlx_migrations WHERE version = 4");
    f.exec("DROP TABLE run_addresses");
    f.exec("DROP INDEX findings_by_address");
    f.exec("ALTER TABLE findings DROP COLUMN address");
    f.exec("ALTER TABLE findings ADD COLUMN device TEXT");
    f.exec("CREATE INDEX findings_by_device ON findings (device, id)");
    f.exec("DELETE FROM _sqlx_migrations WHERE version = 3");
}

fn a_version_1_database_is_upgraded(f: &Fixture) {
    let mut s = f.open();
    let run = s.begin_run(&new_run(&["a.pcap"], 1)).unwrap();
    s.save_devices(run, &[synth(1, "a0b0", 10)]).unwrap();
    s.close().unwrap();
    // Back to what a version-1 medsentry left.
    back_to_version_2(f);
    f.exec("DROP TABLE kb_documents");
    f.exec("DROP TABLE cmms_assets");
    f.exec("DELETE FROM _sqlx_migrations WHERE version = 2");
    let mut s = f.open();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(s.counts().unwrap().devices, 1);
    assert!(s.kb_documents().unwrap().is_empty());
}

/// Version 2 saved a finding with its device; after the upgrade the device still shows it.
fn a_version_2_database_keeps_its_findings(f: &Fixture) {
    let mut s = f.open();
    let run = s.begin_run(&new_run(&["a.pcap"], 1)).unwrap();
    let dev = synth(1, "a0b0", 10);
    s.save_devices(run, std::slice::from_ref(&dev)).unwrap();
    s.finish_run(run, &RunTotals::default()).unwrap();
    s.close().unwrap();
    back_to_version_2(f);
    f.exec(&format!(
        "INSERT INTO findings (run, kind, severity, device, flow, title, detail) \
         VALUES ({}, 'insecure-protocol', 'medium', '{}', 3, 'telnet', 'login seen')",
        run.0, dev.id
    ));
    let mut s = f.open();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let d = s.device(&dev.id).unwrap().unwrap();
    assert_eq!(d.findings.len(), 1);
    let got = &d.findings[0];
    assert_eq!((got.run, got.device.as_str()), (run, dev.id.as_str()));
    assert_eq!(got.finding.title, "telnet");
    assert_eq!(
        got.finding.address.as_deref(),
        Some(dev.id.as_str()),
        "the device id stands in for the address it did not record"
    );
    assert_eq!(s.counts().unwrap().findings, 1);
}

/// A run with one device, which had its first address during the run.
fn one_device_run(f: &Fixture) -> (Store, RunId, DeviceRecord, String) {
    let mut s = f.open();
    let run = s.begin_run(&new_run(&["a.pcap"], 1)).unwrap();
    let dev = synth(1, "a0b0", 10);
    s.save_devices(run, std::slice::from_ref(&dev)).unwrap();
    let ip = dev.ips[0].clone();
    s.save_address_owners(run, &[(&ip, &dev.id)]).unwrap();
    (s, run, dev, ip)
}

/// Version 5 had an index of communications by peer address; the upgrade drops it (creating it again
/// fails otherwise) and keeps every communication.
fn a_version_5_database_keeps_its_communications(f: &Fixture) {
    let (mut s, run, dev, _) = one_device_run(f);
    let mut c = comm(&dev.id, "10.0.0.4", 104, "dicom", 700, 5);
    c.peer_device = Some("mac-0a0b0c0d0e0f".into());
    s.save_communications(
        run,
        &[c.clone(), comm(&dev.id, "10.0.0.9", 2575, "hl7", 9, 6)],
    )
    .unwrap();
    s.close().unwrap();
    back_to_version_5(f);
    let mut s = f.open();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let got = s.device(&dev.id).unwrap().unwrap().communications;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], c, "the larger first, as it was saved");
    assert_eq!(s.counts().unwrap().communications, 2);
    s.close().unwrap();
    // The index is gone: making it again succeeds.
    back_to_version_5(f);
}

/// Version 4 saved a row per flow's finding; the upgrade keeps the first of each (run, address,
/// kind, title) with the flow count and last flow of its key, and gives an address to those that
/// had none.
fn a_version_4_database_sums_its_findings(f: &Fixture) {
    let (s, run, dev, ip) = one_device_run(f);
    s.close().unwrap();
    back_to_version_4(f);
    for (flow, title, address) in [
        (3, "telnet", format!("'{ip}'")),
        (9, "telnet", format!("'{ip}'")),
        (5, "http", format!("'{ip}'")),
        (1, "telnet", "NULL".to_string()),
        (7, "telnet", format!("'{ip}'")),
    ] {
        f.exec(&format!(
            "INSERT INTO findings (run, kind, severity, address, flow, title, detail) \
             VALUES ({}, 'insecure-protocol', 'medium', {address}, {flow}, '{title}', \
             'flow {flow}')",
            run.0
        ));
    }
    let mut s = f.open();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(s.counts().unwrap().findings, 3);
    let d = s.device(&dev.id).unwrap().unwrap();
    let got: Vec<(&str, u64, u64, u64, &str)> = d
        .findings
        .iter()
        .map(|f| {
            let f = &f.finding;
            (
                f.title.as_str(),
                f.flows,
                f.flow,
                f.last_flow,
                f.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("telnet", 3, 3, 9, "flow 3"), ("http", 1, 5, 5, "flow 5")]
    );
    // Saved again under the new schema, the merged row is updated, not duplicated.
    let telnet = &d.findings[0].finding;
    let again = FindingRecord {
        flows: 4,
        last_flow: 12,
        ..telnet.clone()
    };
    assert_eq!(
        s.save_findings(run, &[FindingRef::from(&again)]).unwrap(),
        3
    );
}

/// A finding is known by its run, address, kind and title: saved again it replaces the earlier one;
/// twice in one call, the later one counts; another run has its own.
fn findings_are_summed_per_address_kind_and_title(f: &Fixture) {
    let (mut s, run, dev, ip) = one_device_run(f);
    let phi =
        |flows: u64, flow: u64, last_flow: u64, detail: &str, fields: &[&str]| FindingRecord {
            kind: "cleartext-phi".into(),
            severity: "high".into(),
            address: Some(ip.clone()),
            title: "Patient data sent unencrypted (HL7)".into(),
            flows,
            flow,
            last_flow,
            detail: detail.into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
        };
    let first = phi(2, 4, 6, "flow 4", &["PID-5"]);
    assert_eq!(
        s.save_findings(run, &[FindingRef::from(&first)]).unwrap(),
        1
    );
    let later = phi(5, 4, 40, "flow 4", &["PID-5", "PID-13"]);
    // A user name can hold any character, a comma or a quote too.
    let latest = phi(
        6,
        3,
        41,
        "flow 3",
        &["PID-5", "PID-13", "o'brien, \"admin\""],
    );
    let other = FindingRecord {
        kind: "insecure-protocol".into(),
        title: "telnet".into(),
        ..phi(1, 8, 8, "", &[])
    };
    let refs: Vec<FindingRef<'_>> = [&later, &other, &latest]
        .into_iter()
        .map(FindingRef::from)
        .collect();
    assert_eq!(s.save_findings(run, &refs).unwrap(), 2);
    let d = s.device(&dev.id).unwrap().unwrap();
    assert_eq!(d.findings.len(), 2);
    assert_eq!(d.findings[0].finding, latest);
    assert_eq!(d.findings[1].finding, other);
    let run2 = s.begin_run(&new_run(&["b.pcap"], 2)).unwrap();
    s.save_address_owners(run2, &[(&ip, &dev.id)]).unwrap();
    assert_eq!(
        s.save_findings(run2, &[FindingRef::from(&first)]).unwrap(),
        1
    );
    assert_eq!(s.counts().unwrap().findings, 3);
    let runs = s.runs().unwrap();
    assert_eq!(
        runs.iter().map(|r| r.findings).collect::<Vec<_>>(),
        [2, 1],
        "each run counts its own"
    );
}
