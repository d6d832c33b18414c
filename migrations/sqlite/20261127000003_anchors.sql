-- Anchoring transactions on SQLite: the table of migrations/postgres/20261127000003_anchors.sql
-- (read its comments for the status lifecycle), STRICT, with the same CHECKs and the same
-- partial unique indexes: at most one pending transaction per log and contract, each size
-- confirmed at most once.
CREATE TABLE anchors (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    origin                    TEXT NOT NULL,
    tree_size                 INTEGER NOT NULL CHECK (tree_size > 0),
    root                      BLOB NOT NULL CHECK (length(root) = 32),
    chain_id                  INTEGER NOT NULL CHECK (chain_id > 0),
    contract                  BLOB NOT NULL CHECK (length(contract) = 20),
    log_id                    BLOB NOT NULL CHECK (length(log_id) = 32),
    sender                    BLOB NOT NULL CHECK (length(sender) = 20),
    nonce                     INTEGER NOT NULL CHECK (nonce >= 0),
    tx_hash                   BLOB NOT NULL CHECK (length(tx_hash) = 32),
    raw_tx                    BLOB NOT NULL,
    gas_limit                 INTEGER NOT NULL CHECK (gas_limit > 0),
    max_fee_per_gas           INTEGER NOT NULL CHECK (max_fee_per_gas >= 0),
    max_priority_fee_per_gas  INTEGER NOT NULL CHECK (max_priority_fee_per_gas >= 0),
    status                    TEXT NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'replaced', 'reorged', 'failed')),
    block_number              INTEGER CHECK (block_number >= 0),
    block_hash                BLOB CHECK (length(block_hash) = 32),
    sent_ms                   INTEGER NOT NULL,
    updated_ms                INTEGER NOT NULL,
    confirmed_ms              INTEGER,
    CHECK (status <> 'confirmed' OR (block_number IS NOT NULL AND block_hash IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX anchors_one_pending ON anchors (chain_id, contract, origin)
    WHERE status = 'pending';
CREATE UNIQUE INDEX anchors_confirmed_size ON anchors (chain_id, contract, origin, tree_size)
    WHERE status = 'confirmed';
CREATE INDEX anchors_tx_hash ON anchors (tx_hash);
CREATE INDEX anchors_nonce ON anchors (chain_id, sender, nonce);
