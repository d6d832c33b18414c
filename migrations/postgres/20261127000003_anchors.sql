-- Anchoring transactions: one row per signed transaction that anchors a checkpoint on an EVM
-- chain (provlog-server's anchoring worker). A row is written, with the exact signed bytes,
-- *before* the transaction is broadcast, so a restarted worker rebroadcasts the same bytes
-- (same hash, same nonce) instead of sending a second anchor for the same size.
--
-- status: pending   — broadcast (or about to be), not yet confirmed at the configured depth;
--         confirmed — mined, at least the configured depth deep, block still canonical;
--         replaced  — superseded by a fee-bumped transaction with the same nonce, or its nonce
--                     was used by another transaction;
--         reorged   — was confirmed, then its block left the canonical chain (a new pending row
--                     rebroadcasts the same bytes);
--         failed    — mined but reverted.
CREATE TABLE anchors (
    id                        BIGSERIAL PRIMARY KEY,
    origin                    TEXT NOT NULL,
    tree_size                 BIGINT NOT NULL CHECK (tree_size > 0),
    root                      BYTEA NOT NULL CHECK (length(root) = 32),
    chain_id                  BIGINT NOT NULL CHECK (chain_id > 0),
    contract                  BYTEA NOT NULL CHECK (length(contract) = 20),
    log_id                    BYTEA NOT NULL CHECK (length(log_id) = 32),
    sender                    BYTEA NOT NULL CHECK (length(sender) = 20),
    nonce                     BIGINT NOT NULL CHECK (nonce >= 0),
    tx_hash                   BYTEA NOT NULL CHECK (length(tx_hash) = 32),
    raw_tx                    BYTEA NOT NULL,
    gas_limit                 BIGINT NOT NULL CHECK (gas_limit > 0),
    max_fee_per_gas           BIGINT NOT NULL CHECK (max_fee_per_gas >= 0),
    max_priority_fee_per_gas  BIGINT NOT NULL CHECK (max_priority_fee_per_gas >= 0),
    status                    TEXT NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'replaced', 'reorged', 'failed')),
    block_number              BIGINT CHECK (block_number >= 0),
    block_hash                BYTEA CHECK (length(block_hash) = 32),
    sent_ms                   BIGINT NOT NULL,
    updated_ms                BIGINT NOT NULL,
    confirmed_ms              BIGINT,
    CHECK (status <> 'confirmed' OR (block_number IS NOT NULL AND block_hash IS NOT NULL))
);
-- At most one transaction in flight per log and contract: a second pending row (another
-- replica after a failover, a retried insert) is refused by the database.
CREATE UNIQUE INDEX anchors_one_pending ON anchors (chain_id, contract, origin)
    WHERE status = 'pending';
-- A size is confirmed at most once per contract.
CREATE UNIQUE INDEX anchors_confirmed_size ON anchors (chain_id, contract, origin, tree_size)
    WHERE status = 'confirmed';
CREATE INDEX anchors_tx_hash ON anchors (tx_hash);
CREATE INDEX anchors_nonce ON anchors (chain_id, sender, nonce);
