-- medsentry store, schema version 2 (PostgreSQL dialect): the vulnerability knowledge base and the CMMS assets.

-- One imported document of knowledge, as medsentry-knowledge reads it: a CSAF advisory (key: its
-- tracking id), an NVD CVE record (the CVE id), the KEV catalogue ('kev'), the EPSS file ('epss'),
-- an SBOM (the VENDOR/MODEL[/VERSION] it describes). body is the parsed record as JSON; digest is
-- its SHA-256, so a re-import of the same document changes nothing.
CREATE TABLE kb_documents (
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    version     TEXT,
    date        TEXT,
    digest      TEXT NOT NULL,
    source      TEXT NOT NULL,
    imported_ns BIGINT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);

-- The hospital's asset register as last imported (medsentry inventory import-cmms), one row per
-- asset, keyed by asset tag (or serial, MAC or IP where a row has no tag). device is the
-- inventory device it was reconciled with, if any.
CREATE TABLE cmms_assets (
    asset_key   TEXT PRIMARY KEY NOT NULL,
    asset_tag   TEXT,
    vendor      TEXT,
    model       TEXT,
    serial      TEXT,
    mac         TEXT,
    ip          TEXT,
    software    TEXT,
    location    TEXT,
    department  TEXT,
    criticality TEXT,
    -- Unknown columns, as a JSON object of column name to value.
    attributes  TEXT NOT NULL,
    device      TEXT,
    line        BIGINT NOT NULL,
    imported_ns BIGINT NOT NULL
);
CREATE INDEX cmms_assets_by_device ON cmms_assets (device);
