-- The RFC 9162 leaf hash of each snapshot item, SHA-256(0x00 || data), so a consumer holding one
-- row can find the records that contain it (`GET /v1/items`) without knowing the snapshot.
ALTER TABLE snapshot_items ADD COLUMN leaf_hash BYTEA CHECK (length(leaf_hash) = 32);
UPDATE snapshot_items SET leaf_hash = sha256('\x00'::bytea || data);
ALTER TABLE snapshot_items ALTER COLUMN leaf_hash SET NOT NULL;
CREATE INDEX snapshot_items_leaf_hash ON snapshot_items (leaf_hash);
