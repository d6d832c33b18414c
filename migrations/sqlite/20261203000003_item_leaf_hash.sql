-- The RFC 9162 leaf hash of each snapshot item, SHA-256(0x00 || data), so a consumer holding one
-- row can find the records that contain it (`GET /v1/items`) without knowing the snapshot.
-- SQLite has no SHA-256: items stored before this column are hashed by the store when the log
-- is bound (provlog-store, `init_log`); new ones are written with it.
ALTER TABLE snapshot_items ADD COLUMN leaf_hash BLOB CHECK (leaf_hash IS NULL OR length(leaf_hash) = 32);
CREATE INDEX snapshot_items_leaf_hash ON snapshot_items (leaf_hash);
