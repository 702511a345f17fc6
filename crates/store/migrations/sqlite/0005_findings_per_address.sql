-- medsentry store, schema version 5: a run's findings, one row per address, kind and title.
--
-- Until version 4 every flow's finding was a row of its own: gen_big saved 73,556, of which 3,404
-- differ in more than the flow (a monitor's HL7 to the interface engine is one finding per
-- connection, and connections differ only in the ephemeral port). The database now keeps one row per
-- (run, address, kind, title): how many flows had it, the first and the last flow, the first flow's
-- detail, and the union of what the flows named (the PHI fields, the user names). The JSON report
-- still lists every flow's finding.
ALTER TABLE findings ADD COLUMN flows INTEGER NOT NULL DEFAULT 1;
ALTER TABLE findings ADD COLUMN last_flow INTEGER NOT NULL DEFAULT 0;
-- PHI field names or user names, a JSON array of strings (user names can hold any character);
-- rows saved before this version have '' (their detail says what each carried).
ALTER TABLE findings ADD COLUMN fields TEXT NOT NULL DEFAULT '';
-- A finding without an address has '' (NULLs never conflict in a unique index).
UPDATE findings SET address = '' WHERE address IS NULL;

-- Earlier rows merged: the first one of each key stays, with the counts of its key.
CREATE TEMP TABLE findings_merged AS
    SELECT min(id) AS id, count(*) AS flows, max(flow) AS last_flow
    FROM findings GROUP BY run, address, kind, title;
UPDATE findings SET
    flows = (SELECT m.flows FROM findings_merged m WHERE m.id = findings.id),
    last_flow = (SELECT m.last_flow FROM findings_merged m WHERE m.id = findings.id)
    WHERE id IN (SELECT id FROM findings_merged);
DELETE FROM findings WHERE id NOT IN (SELECT id FROM findings_merged);
DROP TABLE findings_merged;
UPDATE findings SET last_flow = flow WHERE last_flow < flow;

DROP INDEX findings_by_address;
CREATE UNIQUE INDEX findings_by_address ON findings (run, address, kind, title);
