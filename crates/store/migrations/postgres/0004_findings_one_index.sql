-- medsentry store, schema version 4: findings keep one index.
--
-- `findings_by_address (run, address)` serves a run's findings (a run's deletion cascades through its
-- prefix) and a device's findings by its addresses, the only reads; `findings_by_run (run, id)` only
-- cost a write per finding (73,556 on gen_big).
DROP INDEX findings_by_run;
