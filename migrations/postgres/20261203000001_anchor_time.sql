-- The timestamp of the block that confirmed an anchor, so a receipt can state "logged no
-- later than" in the chain's time (unix seconds). NULL for anchors confirmed before this
-- column existed.
ALTER TABLE anchors ADD COLUMN block_timestamp BIGINT CHECK (block_timestamp >= 0);
