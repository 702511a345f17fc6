-- medsentry store, schema version 1 (SQLite dialect; postgres/0001_init.sql is the same schema).
-- Never edit a migration once released: its checksum is recorded in _sqlx_migrations. Add 0002_*.sql.
-- Times are nanoseconds since the Unix epoch: packet time, except runs.started_ns and finished_ns.

-- One analysis of one or more captures.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    started_ns      INTEGER NOT NULL,
    -- NULL until finish_run: an interrupted run stays NULL.
    finished_ns     INTEGER,
    tool            TEXT NOT NULL,
    packets         INTEGER NOT NULL DEFAULT 0,
    bytes           INTEGER NOT NULL DEFAULT 0,
    first_packet_ns INTEGER,
    last_packet_ns  INTEGER,
    -- Kept up to date in the same transaction as the rows they count.
    devices_seen    INTEGER NOT NULL DEFAULT 0,
    devices_added   INTEGER NOT NULL DEFAULT 0,
    fields_changed  INTEGER NOT NULL DEFAULT 0,
    communications  INTEGER NOT NULL DEFAULT 0,
    findings        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE run_sources (
    run  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq  INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

-- The inventory: one row per device, merged across runs. The field columns repeat the decided
-- values of device_fields, for listing and filtering.
-- The per-device tables below (addresses, fields, evidence, communications) carry no foreign key
-- to devices: the store writes a device and all its rows in one transaction, and row-by-row key
-- checks would double the cost of saving a large inventory. Whatever deletes a device deletes them.
CREATE TABLE devices (
    id            TEXT PRIMARY KEY NOT NULL,
    mac           TEXT,
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns  INTEGER NOT NULL,
    first_run     INTEGER NOT NULL REFERENCES runs (id),
    last_run      INTEGER NOT NULL REFERENCES runs (id),
    category      TEXT NOT NULL,
    criticality   TEXT,
    vendor        TEXT,
    model         TEXT,
    hostname      TEXT,
    software      TEXT,
    role          TEXT,
    modality      TEXT
);
CREATE INDEX devices_by_category ON devices (category, id);
CREATE INDEX devices_by_mac ON devices (mac);
CREATE INDEX devices_by_first_run ON devices (first_run);
CREATE INDEX devices_by_last_run ON devices (last_run);

CREATE TABLE device_addresses (
    device        TEXT NOT NULL,
    ip            TEXT NOT NULL,
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns  INTEGER NOT NULL,
    first_run     INTEGER NOT NULL,
    last_run      INTEGER NOT NULL,
    PRIMARY KEY (device, ip)
) WITHOUT ROWID;
CREATE INDEX device_addresses_by_ip ON device_addresses (ip);

-- Each decided field, with why: the rule, its reason and the evidence that decided it.
CREATE TABLE device_fields (
    device         TEXT NOT NULL,
    field          TEXT NOT NULL,
    value          TEXT NOT NULL,
    confidence     REAL NOT NULL,
    rule           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    evidence_field TEXT NOT NULL,
    evidence_value TEXT NOT NULL,
    run            INTEGER NOT NULL,
    PRIMARY KEY (device, field)
) WITHOUT ROWID;

CREATE TABLE evidence (
    device        TEXT NOT NULL,
    field         TEXT NOT NULL,
    value         TEXT NOT NULL,
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns  INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    last_run      INTEGER NOT NULL,
    PRIMARY KEY (device, field, value)
) WITHOUT ROWID;

-- Who each device talks to, summed across runs. direction: 'out' when the device opened the
-- conversation (peer_port is the peer's service port), 'in' when the peer did (peer_port is the
-- device's own service port).
CREATE TABLE communications (
    device        TEXT NOT NULL,
    peer_ip       TEXT NOT NULL,
    peer_port     INTEGER NOT NULL,
    transport     TEXT NOT NULL,
    app           TEXT NOT NULL,
    direction     TEXT NOT NULL,
    peer_device   TEXT,
    flows         INTEGER NOT NULL,
    packets       INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns  INTEGER NOT NULL,
    first_run     INTEGER NOT NULL,
    last_run      INTEGER NOT NULL,
    PRIMARY KEY (device, peer_ip, peer_port, transport, app, direction)
) WITHOUT ROWID;
CREATE INDEX communications_by_peer ON communications (peer_ip);

CREATE TABLE findings (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    severity TEXT NOT NULL,
    device   TEXT,
    flow     INTEGER NOT NULL,
    title    TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX findings_by_run ON findings (run, id);
CREATE INDEX findings_by_device ON findings (device, id);

-- What a later run changed in a device already known: a field's decided value, a new address.
CREATE TABLE changes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    device    TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    field     TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE INDEX changes_by_run ON changes (run, id);
CREATE INDEX changes_by_device ON changes (device, id);
