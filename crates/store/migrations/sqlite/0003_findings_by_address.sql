-- medsentry store, schema version 3: findings name the address they are about.
--
-- `analyze --db` saves findings while the capture is still being read, on the core the analysis
-- leaves idle, before the run's devices are decided. So a finding names the address it is about (as
-- the report prints it), and each run records once which device each address belonged to; a device's
-- findings are those of its addresses in the runs that mapped them to it.
CREATE TABLE run_addresses (
    run     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    device  TEXT NOT NULL,
    PRIMARY KEY (run, address)
) WITHOUT ROWID;
CREATE INDEX run_addresses_by_device ON run_addresses (device, run);

ALTER TABLE findings ADD COLUMN address TEXT;
-- Findings saved before this version named their device, not an address: the device id stands in for
-- the address, mapped to the device itself.
UPDATE findings SET address = device WHERE device IS NOT NULL;
INSERT INTO run_addresses (run, address, device)
    SELECT DISTINCT run, device, device FROM findings WHERE device IS NOT NULL;
DROP INDEX findings_by_device;
ALTER TABLE findings DROP COLUMN device;
CREATE INDEX findings_by_address ON findings (run, address);
