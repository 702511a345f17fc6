-- medsentry store, schema version 4: findings keep one index.
--
-- `findings_by_address (run, address)` serves everything `findings_by_run (run, id)` did: a run's
-- findings (a run's deletion cascades through its prefix) and a device's latest findings (SQLite keeps
-- the rowid, the id, at the end of every index entry). The second index only cost a write per finding
-- (73,556 on gen_big).
DROP INDEX findings_by_run;
