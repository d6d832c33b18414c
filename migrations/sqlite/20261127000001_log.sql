-- The log on SQLite: the tables, constraints and invariants of
-- migrations/postgres/20261127000001_log.sql (read its comments), for one process on one file.
-- What differs, and why it keeps the same guarantees:
-- - Tables are STRICT, so a value of the wrong type is refused as PostgreSQL refuses it (a BLOB
--   column takes no TEXT, an INTEGER column no REAL); BIGINT and BYTEA become INTEGER and BLOB.
-- - Timestamps are INTEGER Unix milliseconds. "Now" is the expression
--   CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER), in SQL, as now() is in PostgreSQL.
-- - Every write transaction starts with BEGIN IMMEDIATE, which takes the database's single write
--   lock: that is what the log_state row lock (and every FOR UPDATE / FOR SHARE) does in
--   PostgreSQL, so indexes stay dense and a rolled-back batch rolls its indexes back too.

CREATE TABLE log_state (
    id          INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    origin      TEXT NOT NULL,
    next_index  INTEGER NOT NULL DEFAULT 0 CHECK (next_index >= 0)
) STRICT;

CREATE TABLE integration_state (
    id               INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    integrated_size  INTEGER NOT NULL DEFAULT 0 CHECK (integrated_size >= 0)
) STRICT;

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    -- Unix ms.
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE records (
    idx              INTEGER PRIMARY KEY CHECK (idx >= 0),
    leaf_hash        BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    -- The exact canonical bytes that were hashed (invariant: never re-serialised).
    leaf             BLOB NOT NULL,
    source           TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('signal', 'snapshot', 'digest')),
    content_root     BLOB NOT NULL CHECK (length(content_root) = 32),
    received_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX records_leaf_hash ON records (leaf_hash);
CREATE INDEX records_content_root ON records (content_root);
CREATE INDEX records_source_time ON records (source, received_ms, idx);
CREATE INDEX records_time ON records (received_ms, idx);

CREATE TABLE record_parents (
    child   INTEGER NOT NULL REFERENCES records (idx),
    parent  INTEGER NOT NULL REFERENCES records (idx),
    PRIMARY KEY (child, parent)
) STRICT;
CREATE INDEX record_parents_parent ON record_parents (parent);

CREATE TABLE snapshot_items (
    record  INTEGER NOT NULL REFERENCES records (idx),
    item    INTEGER NOT NULL CHECK (item >= 0),
    data    BLOB NOT NULL,
    PRIMARY KEY (record, item)
) STRICT;

CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY,
    request_hash  BLOB NOT NULL,
    first_index   INTEGER NOT NULL,
    count         INTEGER NOT NULL CHECK (count > 0),
    created_at    INTEGER NOT NULL DEFAULT (CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER))
) STRICT;

-- Written once, never updated (invariant: a stored hash is never rewritten): the backend only
-- ever INSERTs here, and the primary key refuses a second hash for an index.
CREATE TABLE nodes (
    idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
    hash  BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;

CREATE TABLE checkpoints (
    size        INTEGER PRIMARY KEY CHECK (size > 0),
    root        BLOB NOT NULL CHECK (length(root) = 32),
    note        TEXT NOT NULL,
    created_at  INTEGER NOT NULL DEFAULT (CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER))
) STRICT;

INSERT INTO integration_state DEFAULT VALUES;
