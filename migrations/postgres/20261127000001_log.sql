-- The log: sequenced records, stored node hashes, signed checkpoints, and coordination rows.
-- Log indexes, sizes and stored-hash indexes are BIGINT (signed); the application checks every
-- u64 <-> i64 conversion and never stores a negative value (CHECKs below).

-- One row per database: the log's identity and its sequencer counter. Sequencers lock this row
-- (UPDATE … RETURNING) for the length of one batch transaction, which makes indexes dense and
-- unique across replicas: a rolled-back batch rolls its indexes back too.
CREATE TABLE log_state (
    id          SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    origin      TEXT NOT NULL,
    next_index  BIGINT NOT NULL DEFAULT 0 CHECK (next_index >= 0)
);

-- Integration progress, apart from log_state so the integrator never waits on sequencers.
CREATE TABLE integration_state (
    id               SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    integrated_size  BIGINT NOT NULL DEFAULT 0 CHECK (integrated_size >= 0)
);

-- Leader lease for the integrator/checkpointer (and anchorer): a row with an expiry, which works
-- on Postgres-compatible distributed SQL where advisory locks do not.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE records (
    idx              BIGINT PRIMARY KEY CHECK (idx >= 0),
    leaf_hash        BYTEA NOT NULL CHECK (length(leaf_hash) = 32),
    -- The exact canonical bytes that were hashed (invariant: never re-serialised).
    leaf             BYTEA NOT NULL,
    source           TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('signal', 'snapshot', 'digest')),
    content_root     BYTEA NOT NULL CHECK (length(content_root) = 32),
    -- Unix milliseconds, exactly the record's received_at.
    received_ms      BIGINT NOT NULL
);
CREATE INDEX records_leaf_hash ON records (leaf_hash);
CREATE INDEX records_content_root ON records (content_root);
CREATE INDEX records_source_time ON records (source, received_ms, idx);
CREATE INDEX records_time ON records (received_ms, idx);

-- Lineage edges, by index, for ancestor and descendant walks.
CREATE TABLE record_parents (
    child   BIGINT NOT NULL REFERENCES records (idx),
    parent  BIGINT NOT NULL REFERENCES records (idx),
    PRIMARY KEY (child, parent)
);
CREATE INDEX record_parents_parent ON record_parents (parent);

-- Leaf data of snapshot items, so any row can be proven on its own.
CREATE TABLE snapshot_items (
    record  BIGINT NOT NULL REFERENCES records (idx),
    item    BIGINT NOT NULL CHECK (item >= 0),
    data    BYTEA NOT NULL,
    PRIMARY KEY (record, item)
);

-- Client idempotency keys: a retried request returns the records of the first.
CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY,
    request_hash  BYTEA NOT NULL,
    first_index   BIGINT NOT NULL,
    count         INTEGER NOT NULL CHECK (count > 0),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Stored node hashes in the tlog stored-hash layout (crate provlog-core, log::stored_index).
-- Written once, never updated (invariant: a stored hash is never rewritten).
CREATE TABLE nodes (
    idx   BIGINT PRIMARY KEY CHECK (idx >= 0),
    hash  BYTEA NOT NULL CHECK (length(hash) = 32)
);

CREATE TABLE checkpoints (
    size        BIGINT PRIMARY KEY CHECK (size > 0),
    root        BYTEA NOT NULL CHECK (length(root) = 32),
    note        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO integration_state DEFAULT VALUES;
