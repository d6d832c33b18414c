-- Source chains (record format v2): every record carries its source's sequence number and the
-- leaf hash of the source's previous record, assigned in the sequencing transaction
-- (provlog-core `record`, docs/formats.md). `source_seq` is that number, unique per source;
-- records written before, of format 1, are numbered here in log order but not in their bytes, so
-- a track record starts after them. Records of kind `close` end a track-record window;
-- `commitment` and `reveal` records hide a payload and disclose it later (provlog-core `commitment`).
--
-- The table is rebuilt with its rows, as in 20261203000002_registry_records.sql (SQLite cannot
-- change a CHECK in place; foreign keys are deferred, not switched off, inside sqlx's
-- transaction).
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE records_copy AS SELECT * FROM records;
DROP TABLE records;
CREATE TABLE records (
    idx              INTEGER PRIMARY KEY CHECK (idx >= 0),
    leaf_hash        BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    -- The exact canonical bytes that were hashed (invariant: never re-serialised).
    leaf             BLOB NOT NULL,
    source           TEXT NOT NULL,
    kind             TEXT NOT NULL
                     CHECK (kind IN ('signal', 'snapshot', 'digest', 'source', 'close', 'commitment', 'reveal')),
    content_root     BLOB NOT NULL CHECK (length(content_root) = 32),
    received_ms      INTEGER NOT NULL,
    format           INTEGER NOT NULL CHECK (format IN (1, 2)),
    source_seq       INTEGER NOT NULL CHECK (source_seq >= 0)
) STRICT;
INSERT INTO records
    (idx, leaf_hash, leaf, source, kind, content_root, received_ms, format, source_seq)
    SELECT idx, leaf_hash, leaf, source, kind, content_root, received_ms, 1,
           row_number() OVER (PARTITION BY source ORDER BY idx) - 1
    FROM records_copy;
DROP TABLE records_copy;
CREATE INDEX records_leaf_hash ON records (leaf_hash);
CREATE INDEX records_content_root ON records (content_root);
CREATE INDEX records_source_time ON records (source, received_ms, idx);
CREATE INDEX records_time ON records (received_ms, idx);
CREATE INDEX records_registry ON records (source, idx) WHERE kind = 'source';
CREATE UNIQUE INDEX records_source_seq ON records (source, source_seq);

-- At most one reveal per commitment: checked in the sequencing transaction, held here.
CREATE TABLE reveals (
    commitment  INTEGER PRIMARY KEY REFERENCES records (idx),
    reveal      INTEGER NOT NULL UNIQUE REFERENCES records (idx)
) STRICT;
