-- medsentry store, schema version 6: communications keep only their primary key.
--
-- `communications_by_peer (peer_ip)` served no query: a device's communications are read by the
-- primary key's prefix (device), and every unicast address the inventory sees is a device whose own
-- rows hold the other side of each conversation (peer_device), so "who talks to this address" is
-- `device_addresses_by_ip` and then that prefix. Only multicast and broadcast peers, which are no
-- device, are left to a scan. The index cost a random B-tree insert per row: on gen_big (17,036 rows)
-- 0.024 s of the 0.055 s SQLite took for the table, after the analysis had finished.
DROP INDEX communications_by_peer;
