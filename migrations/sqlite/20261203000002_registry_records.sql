-- Records of kind `source`: the log's own statements of changes to the source registry, written in
-- the transaction of the change (provlog-core `registry`). Their one item is the change.
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt with its rows. sqlx runs this in
-- a transaction, where foreign keys cannot be switched off; deferred instead, the references of
-- record_parents and snapshot_items that the DROP breaks are mended when the same rows come back,
-- and the commit fails if any stayed broken.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE records_copy AS SELECT * FROM records;
DROP TABLE records;
CREATE TABLE records (
    idx              INTEGER PRIMARY KEY CHECK (idx >= 0),
    leaf_hash        BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    -- The exact canonical bytes that were hashed (invariant: never re-serialised).
    leaf             BLOB NOT NULL,
    source           TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('signal', 'snapshot', 'digest', 'source')),
    content_root     BLOB NOT NULL CHECK (length(content_root) = 32),
    received_ms      INTEGER NOT NULL
) STRICT;
INSERT INTO records (idx, leaf_hash, leaf, source, kind, content_root, received_ms)
    SELECT idx, leaf_hash, leaf, source, kind, content_root, received_ms FROM records_copy;
DROP TABLE records_copy;
CREATE INDEX records_leaf_hash ON records (leaf_hash);
CREATE INDEX records_content_root ON records (content_root);
CREATE INDEX records_source_time ON records (source, received_ms, idx);
CREATE INDEX records_time ON records (received_ms, idx);
CREATE INDEX records_registry ON records (source, idx) WHERE kind = 'source';
