-- Records of kind `source`: the log's own statements of changes to the source registry, written in
-- the transaction of the change (provlog-core `registry`). Their one item is the change.
ALTER TABLE records DROP CONSTRAINT records_kind_check;
ALTER TABLE records ADD CONSTRAINT records_kind_check
    CHECK (kind IN ('signal', 'snapshot', 'digest', 'source'));
CREATE INDEX records_registry ON records (source, idx) WHERE kind = 'source';
