-- Outcomes and scores (provlog-core `score`, docs/track-records.md): records of kind `outcome`
-- state what happened for an earlier record; a source declares once how its records are scored,
-- in a registry record, and here (`scoring`: the spec's canonical JSON) so that a second
-- declaration is refused under the source's row lock.
--
-- The table is rebuilt with its rows to change its CHECK, as in 20261203000004_source_chains.sql.
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
                     CHECK (kind IN ('signal', 'snapshot', 'digest', 'source', 'close', 'commitment',
                                     'reveal', 'outcome')),
    content_root     BLOB NOT NULL CHECK (length(content_root) = 32),
    received_ms      INTEGER NOT NULL,
    format           INTEGER NOT NULL CHECK (format IN (1, 2)),
    source_seq       INTEGER NOT NULL CHECK (source_seq >= 0)
) STRICT;
INSERT INTO records
    (idx, leaf_hash, leaf, source, kind, content_root, received_ms, format, source_seq)
    SELECT idx, leaf_hash, leaf, source, kind, content_root, received_ms, format, source_seq
    FROM records_copy;
DROP TABLE records_copy;
CREATE INDEX records_leaf_hash ON records (leaf_hash);
CREATE INDEX records_content_root ON records (content_root);
CREATE INDEX records_source_time ON records (source, received_ms, idx);
CREATE INDEX records_time ON records (received_ms, idx);
CREATE INDEX records_registry ON records (source, idx) WHERE kind = 'source';
CREATE UNIQUE INDEX records_source_seq ON records (source, source_seq);

ALTER TABLE sources ADD COLUMN scoring TEXT;
