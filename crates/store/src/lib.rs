//! Persistence of the inventory: devices (with why each field was decided), the evidence behind
//! them, their addresses, who they talk to, findings, and what each run changed.
//!
//! Two back-ends behind one synchronous API, [`Store`]: an SQLite file (the default, created if
//! missing) or PostgreSQL (`postgres://...`). Both run the same SQL, the same migrations (numbered,
//! one file per dialect, embedded in the binary) and the same tests.
//!
//! Every write is a transaction: [`Store::save_devices`] commits every [`DEVICES_PER_TRANSACTION`]
//! devices, each device with its fields, evidence and addresses whole or not at all; the other
//! writes commit once per call. A process killed at any point leaves every committed transaction
//! intact and nothing of the one in flight. Writers are serialised (SQLite `BEGIN IMMEDIATE`, a
//! PostgreSQL advisory lock); readers never wait for them.
//!
//! A later run merges into what is stored: first seen is the earliest, last seen the latest,
//! evidence and communication counters add up, a field takes the new decision when it is at least
//! as sure as the stored one (or comes from the same rule; the same decision again keeps the run
//! that first made it), and every changed value of a device already known, and every new address,
//! is recorded as a [`Change`] of that run. Fields a run did not decide keep their stored value.
//!
//! Internally a current-thread `tokio` runtime drives `sqlx`; callers never see it.

mod db;
mod kb;
mod merge;
mod read;
mod write;

use std::fmt;

pub use db::Backend;
use db::{Conn, Target};
pub use kb::{CmmsAsset, KbDocument, KbPutStats};

/// Devices written per transaction by [`Store::save_devices`].
pub const DEVICES_PER_TRANSACTION: usize = 500;
/// At most this many communications, changes and findings come with one [`DeviceDetail`] (the
/// largest communications, the latest changes and findings).
pub const DETAIL_LIMIT: usize = 500;

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = db::SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{db}: cannot open the database: {reason}")]
    Open { db: String, reason: String },
    #[error(
        "{db}: the database has schema version {found}, newer than this medsentry knows ({known}); \
         use a newer medsentry or another database"
    )]
    TooNew { db: String, found: i64, known: i64 },
    #[error("{db}: cannot bring the schema up to date: {reason}")]
    Migrate { db: String, reason: String },
    #[error("{db}: {what}: {reason}")]
    Query {
        db: String,
        what: &'static str,
        reason: String,
    },
    #[error("{db}: run {run} does not exist")]
    NoSuchRun { db: String, run: i64 },
    #[error("cannot start the database runtime: {0}")]
    Runtime(String),
}

/// One analysis, as numbered by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A device as one run saw it. Times are packet time, nanoseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRecord {
    /// `mac-0011223344ff` or `ip-10.1.2.3`: the inventory's id, stable across runs.
    pub id: String,
    /// `00:11:22:33:44:ff`.
    pub mac: Option<String>,
    pub ips: Vec<String>,
    pub first_seen_ns: i64,
    pub last_seen_ns: i64,
    pub fields: Vec<FieldRecord>,
    pub evidence: Vec<EvidenceRecord>,
}

/// A decided field (`vendor`, `category`, ...) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRecord {
    pub field: String,
    pub value: String,
    pub confidence: f32,
    pub rule: String,
    pub reason: String,
    pub evidence_field: String,
    pub evidence_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord {
    pub field: String,
    pub value: String,
    pub first_seen_ns: i64,
    pub last_seen_ns: i64,
    pub count: u64,
}

/// Who opened the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// The device was the client: `peer_port` is the peer's service port.
    Out,
    /// The peer was the client: `peer_port` is the device's own service port.
    In,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
        }
    }

    fn parse(s: &str) -> Direction {
        if s == "in" {
            Direction::In
        } else {
            Direction::Out
        }
    }
}

/// A device's traffic with one peer on one service, summed over a run's flows. Stored rows sum
/// these across runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommRecord {
    pub device: String,
    pub peer_ip: String,
    /// The service port (the server's), whichever side the device was on.
    pub peer_port: u16,
    /// `tcp`, `udp`, ...
    pub transport: String,
    /// `hl7`, `dicom`, `unknown`, ...
    pub app: String,
    pub direction: Direction,
    /// The inventory id of the peer, when it is one of ours.
    pub peer_device: Option<String>,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_seen_ns: i64,
    pub last_seen_ns: i64,
}

/// A run's finding about one address, as the database keeps it: one per (run, address, kind,
/// title), summed over the flows that had it (the JSON report lists each flow's finding; a capture
/// repeats the same one on every connection of the same pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRecord {
    pub kind: String,
    pub severity: String,
    /// The address it is about, as the report names it; [`Store::save_address_owners`] says which
    /// device had it in the run.
    pub address: Option<String>,
    pub title: String,
    /// How many flows of the run had it.
    pub flows: u64,
    /// The first flow that had it (a flow id within its run): `detail` is that flow's.
    pub flow: u64,
    /// The last flow that had it.
    pub last_flow: u64,
    pub detail: String,
    /// What the flows named, without duplicates: the fields that carried patient data
    /// (`cleartext-phi`), the user names sent in cleartext (`cleartext-credentials`).
    pub fields: Vec<String>,
}

/// A finding to save, borrowed from wherever the caller keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingRef<'a> {
    pub kind: &'a str,
    pub severity: &'a str,
    /// The address it is about, as the report names it.
    pub address: Option<&'a str>,
    pub title: &'a str,
    pub flows: u64,
    pub flow: u64,
    pub last_flow: u64,
    pub detail: &'a str,
    pub fields: &'a [String],
}

impl<'a> From<&'a FindingRecord> for FindingRef<'a> {
    fn from(f: &'a FindingRecord) -> FindingRef<'a> {
        FindingRef {
            kind: &f.kind,
            severity: &f.severity,
            address: f.address.as_deref(),
            title: &f.title,
            flows: f.flows,
            flow: f.flow,
            last_flow: f.last_flow,
            detail: &f.detail,
            fields: &f.fields,
        }
    }
}

/// The start of a run. The caller gives the wall-clock time: the store reads no clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    pub started_ns: i64,
    /// `medsentry 0.1.0`.
    pub tool: String,
    /// The capture files analysed, as named by the user.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunTotals {
    pub finished_ns: i64,
    pub packets: u64,
    pub bytes: u64,
    pub first_packet_ns: Option<i64>,
    pub last_packet_ns: Option<i64>,
}

/// What one [`Store::save_devices`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SaveStats {
    /// Distinct devices saved.
    pub devices: u64,
    /// Of which new to the store.
    pub added: u64,
    /// Of which already known, merged.
    pub merged: u64,
    /// Changes recorded (changed fields, new addresses of known devices).
    pub changes: u64,
    pub transactions: u64,
}

/// What one [`Store::save_communications`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommStats {
    /// Rows written (after summing duplicates of the call).
    pub saved: u64,
    /// Records about devices the store does not have (save devices first), not written.
    pub skipped: u64,
}

/// Which devices to list. All conditions hold together; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFilter {
    pub category: Option<String>,
    pub criticality: Option<String>,
    /// Case-insensitive substring of the vendor (ASCII case folding on SQLite).
    pub vendor: Option<String>,
    /// Case-insensitive substring of the software: the decided operating system or firmware and its
    /// version (`windows xp` finds the consoles still on it).
    pub software: Option<String>,
    /// Devices first seen in this run.
    pub added_in: Option<RunId>,
    /// Devices seen in this run or a later one.
    pub seen_since: Option<RunId>,
    /// Devices whose id sorts after this one: the cursor for the next page.
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// A device as listed: its decided fields, without the why.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSummary {
    pub id: String,
    pub mac: Option<String>,
    pub ips: Vec<String>,
    pub first_seen_ns: i64,
    pub last_seen_ns: i64,
    pub first_run: RunId,
    pub last_run: RunId,
    /// `unknown` when no rule decided it.
    pub category: String,
    pub criticality: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub hostname: Option<String>,
    pub software: Option<String>,
    pub role: Option<String>,
    pub modality: Option<String>,
}

/// A stored decided field, and the run that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredField {
    pub field: FieldRecord,
    pub run: RunId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRecord {
    pub ip: String,
    pub first_seen_ns: i64,
    pub last_seen_ns: i64,
    pub first_run: RunId,
    pub last_run: RunId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub run: RunId,
    pub device: String,
    /// A field name, or `ip` for an address first seen in this run.
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    pub run: RunId,
    /// The device that had the finding's address in its run.
    pub device: String,
    pub finding: FindingRecord,
}

/// Everything stored about one device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceDetail {
    pub device: DeviceSummary,
    pub fields: Vec<StoredField>,
    pub addresses: Vec<AddressRecord>,
    pub evidence: Vec<EvidenceRecord>,
    /// Largest first (bytes), at most [`DETAIL_LIMIT`].
    pub communications: Vec<CommRecord>,
    /// Oldest first, the latest [`DETAIL_LIMIT`].
    pub changes: Vec<Change>,
    /// Oldest first, the latest [`DETAIL_LIMIT`].
    pub findings: Vec<StoredFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub id: RunId,
    pub started_ns: i64,
    /// `None`: still running, or interrupted.
    pub finished_ns: Option<i64>,
    pub tool: String,
    pub sources: Vec<String>,
    pub packets: u64,
    pub bytes: u64,
    pub first_packet_ns: Option<i64>,
    pub last_packet_ns: Option<i64>,
    pub devices_seen: u64,
    pub devices_added: u64,
    pub changes: u64,
    pub communications: u64,
    pub findings: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counts {
    pub runs: u64,
    pub devices: u64,
    pub addresses: u64,
    pub fields: u64,
    pub evidence: u64,
    pub communications: u64,
    pub findings: u64,
    pub changes: u64,
    /// Devices per category, by category name.
    pub by_category: Vec<(String, u64)>,
}

impl From<&inventory::Device> for DeviceRecord {
    fn from(d: &inventory::Device) -> DeviceRecord {
        DeviceRecord {
            id: d.id.clone(),
            mac: d.mac.as_ref().map(inventory::mac_string),
            ips: d.ips.iter().map(|ip| ip.to_string()).collect(),
            first_seen_ns: d.first_ns,
            last_seen_ns: d.last_ns,
            fields: d
                .fields
                .iter()
                .map(|(name, a)| FieldRecord {
                    field: (*name).to_string(),
                    value: a.value.clone(),
                    confidence: a.confidence,
                    rule: a.rule.clone(),
                    reason: a.reason.clone(),
                    evidence_field: a.evidence_field.to_string(),
                    evidence_value: a.evidence_value.clone(),
                })
                .collect(),
            evidence: d
                .evidence
                .iter()
                .map(|e| EvidenceRecord {
                    field: e.field.to_string(),
                    value: e.value.clone(),
                    first_seen_ns: e.first_ns,
                    last_seen_ns: e.last_ns,
                    count: e.count,
                })
                .collect(),
        }
    }
}

/// The inventory database. Synchronous: one connection driven by its own current-thread runtime,
/// so call it from ordinary threads, never from inside an async runtime (an async server would use
/// `spawn_blocking`). It is `Send`, not shared: one `Store` per thread.
pub struct Store {
    rt: tokio::runtime::Runtime,
    conn: Option<Conn>,
    name: String,
    backend: Backend,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("db", &self.name)
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database `url` names: `postgres://` or
    /// `postgresql://` for PostgreSQL, anything else is an SQLite file path (`sqlite:` prefix
    /// allowed).
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let target = Target::parse(url);
        let name = target.display();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Runtime(e.to_string()))?;
        let mut conn = rt
            .block_on(Conn::connect(&target))
            .map_err(|reason| StoreError::Open {
                db: name.clone(),
                reason,
            })?;
        if let Err(e) = rt.block_on(conn.migrate()) {
            let err = match e {
                sqlx::migrate::MigrateError::VersionMissing(found) => StoreError::TooNew {
                    db: name.clone(),
                    found,
                    known: SCHEMA_VERSION,
                },
                other => StoreError::Migrate {
                    db: name.clone(),
                    reason: db::one_line(&other),
                },
            };
            let _ = rt.block_on(conn.close());
            return Err(err);
        }
        let backend = conn.backend();
        Ok(Store {
            rt,
            conn: Some(conn),
            name,
            backend,
        })
    }

    /// The database, for messages: a path or a URL without its password.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs one operation of the store on its runtime, naming the database in any error.
    fn run<T>(
        &mut self,
        what: &'static str,
        op: impl AsyncFnOnce(&mut Conn) -> Result<T, write::Error>,
    ) -> Result<T, StoreError> {
        let Store { rt, conn, name, .. } = self;
        let Some(conn) = conn.as_mut() else {
            return Err(StoreError::Query {
                db: name.clone(),
                what,
                reason: "the connection is closed".into(),
            });
        };
        rt.block_on(op(conn)).map_err(|e| match e {
            write::Error::Sql(e) => StoreError::Query {
                db: name.clone(),
                what,
                reason: db::sql_error(&e),
            },
            write::Error::NoSuchRun(run) => StoreError::NoSuchRun {
                db: name.clone(),
                run,
            },
        })
    }

    /// The highest migration applied.
    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        self.run("reading the schema version", async |c| {
            read::schema_version(c).await.map_err(Into::into)
        })
    }

    /// Records the start of a run; its counters grow as its rows are saved.
    pub fn begin_run(&mut self, run: &NewRun) -> Result<RunId, StoreError> {
        self.run("starting a run", async |c| write::begin_run(c, run).await)
    }

    /// Saves a run's devices, merging with what is stored; commits every
    /// [`DEVICES_PER_TRANSACTION`] devices. Records with the same id are merged first.
    pub fn save_devices(
        &mut self,
        run: RunId,
        devices: &[DeviceRecord],
    ) -> Result<SaveStats, StoreError> {
        let mut total = SaveStats::default();
        let devices = merge::normalise_devices(devices);
        for chunk in devices.chunks(DEVICES_PER_TRANSACTION) {
            let s = self.run("saving devices", async |c| {
                write::save_devices(c, run, chunk).await
            })?;
            total.devices += s.devices;
            total.added += s.added;
            total.merged += s.merged;
            total.changes += s.changes;
            total.transactions += 1;
        }
        Ok(total)
    }

    /// Saves communication summaries in one transaction, adding to the stored ones. Devices must
    /// be saved first; records about unknown devices are skipped and counted.
    pub fn save_communications(
        &mut self,
        run: RunId,
        comms: &[CommRecord],
    ) -> Result<CommStats, StoreError> {
        let comms = merge::normalise_comms(comms);
        self.run("saving communications", async |c| {
            write::save_communications(c, run, &comms).await
        })
    }

    /// Records which device had each address during the run (`(address, device)` pairs; a later pair
    /// for the same address replaces an earlier one): a device's findings are those of its addresses.
    /// One transaction.
    pub fn save_address_owners(
        &mut self,
        run: RunId,
        owners: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        self.run("saving address owners", async |c| {
            write::save_address_owners(c, run, owners).await
        })
    }

    /// Saves a run's findings in one transaction; returns how many the run has now. A finding is
    /// known by its (address, kind, title) within the run: saved again, it replaces the earlier one
    /// (the caller sums a finding over the run's flows), and of two with the same key in one call
    /// the later one counts. They can be saved before the run's devices: they name addresses, not
    /// devices.
    pub fn save_findings(
        &mut self,
        run: RunId,
        findings: &[FindingRef<'_>],
    ) -> Result<u64, StoreError> {
        self.run("saving findings", async |c| {
            write::save_findings(c, run, findings).await
        })
    }

    /// Marks the run complete with its totals (a run never finished was interrupted), then
    /// refreshes the query planner's statistics.
    pub fn finish_run(&mut self, run: RunId, totals: &RunTotals) -> Result<(), StoreError> {
        self.run("finishing a run", async |c| {
            write::finish_run(c, run, totals).await?;
            Ok(c.analyze().await?)
        })
    }

    /// All runs, oldest first.
    pub fn runs(&mut self) -> Result<Vec<RunSummary>, StoreError> {
        self.run("listing runs", async |c| {
            read::runs(c).await.map_err(Into::into)
        })
    }

    /// Devices matching `filter`, by id.
    pub fn list_devices(
        &mut self,
        filter: &DeviceFilter,
    ) -> Result<Vec<DeviceSummary>, StoreError> {
        self.run("listing devices", async |c| {
            read::list_devices(c, filter).await.map_err(Into::into)
        })
    }

    /// The id of the device `key` names: its id, its MAC (any usual spelling), or an address (the
    /// device that had it most recently).
    pub fn resolve(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.run("looking up a device", async |c| {
            read::resolve(c, key).await.map_err(Into::into)
        })
    }

    /// Everything about the device `key` names (see [`Store::resolve`]).
    pub fn device(&mut self, key: &str) -> Result<Option<DeviceDetail>, StoreError> {
        self.run("reading a device", async |c| {
            let Some(id) = read::resolve(c, key).await? else {
                return Ok(None);
            };
            Ok(read::details(c, std::slice::from_ref(&id)).await?.pop())
        })
    }

    /// Calls `each` with every device matching `filter` (its `limit` counts devices in all), in id
    /// order, reading a page of devices at a time. Returns how many it passed.
    pub fn export<E: From<StoreError>>(
        &mut self,
        filter: &DeviceFilter,
        mut each: impl FnMut(DeviceDetail) -> Result<(), E>,
    ) -> Result<u64, E> {
        const PAGE: u32 = 500;
        let mut page = filter.clone();
        let mut left = filter.limit.map(u64::from);
        let mut n = 0;
        loop {
            page.limit = Some(left.map_or(PAGE, |l| l.min(u64::from(PAGE)) as u32));
            if page.limit == Some(0) {
                return Ok(n);
            }
            let ids: Vec<String> = self
                .list_devices(&page)?
                .into_iter()
                .map(|d| d.id)
                .collect();
            let Some(last) = ids.last().cloned() else {
                return Ok(n);
            };
            let details = self.run("exporting devices", async |c| {
                read::details(c, &ids).await.map_err(Into::into)
            })?;
            for d in details {
                each(d)?;
                n += 1;
            }
            if let Some(l) = left.as_mut() {
                *l = l.saturating_sub(ids.len() as u64);
            }
            page.after = Some(last);
        }
    }

    /// What `run` changed in devices already known, oldest first.
    pub fn run_changes(&mut self, run: RunId, limit: u32) -> Result<Vec<Change>, StoreError> {
        self.run("reading changes", async |c| {
            read::run_changes(c, run, limit).await.map_err(Into::into)
        })
    }

    pub fn counts(&mut self) -> Result<Counts, StoreError> {
        self.run("counting", async |c| {
            read::counts(c).await.map_err(Into::into)
        })
    }

    /// Saves knowledge documents in one transaction: new keys are added, changed ones replaced unless
    /// the stored revision is newer, identical ones left alone.
    pub fn kb_put(&mut self, docs: &[KbDocument], now_ns: i64) -> Result<KbPutStats, StoreError> {
        self.run("saving knowledge", async |c| {
            kb::kb_put(c, docs, now_ns).await
        })
    }

    /// Every knowledge document, by kind and key.
    pub fn kb_documents(&mut self) -> Result<Vec<KbDocument>, StoreError> {
        self.run("reading knowledge", async |c| {
            kb::kb_documents(c).await.map_err(Into::into)
        })
    }

    /// Saves CMMS assets in one transaction, replacing assets with the same key.
    pub fn save_cmms(&mut self, assets: &[CmmsAsset], now_ns: i64) -> Result<(), StoreError> {
        self.run("saving CMMS assets", async |c| {
            kb::save_cmms(c, assets, now_ns).await
        })
    }

    /// Every CMMS asset, by key.
    pub fn cmms_assets(&mut self) -> Result<Vec<CmmsAsset>, StoreError> {
        self.run("reading CMMS assets", async |c| {
            kb::cmms_assets(c).await.map_err(Into::into)
        })
    }

    /// Closes the connection (SQLite folds its write-ahead log back into the file).
    pub fn close(mut self) -> Result<(), StoreError> {
        let name = self.name.clone();
        match self.conn.take() {
            Some(c) => self.rt.block_on(c.close()).map_err(|e| StoreError::Query {
                db: name,
                what: "closing",
                reason: db::one_line(&e),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let _ = self.rt.block_on(c.close());
        }
    }
}
