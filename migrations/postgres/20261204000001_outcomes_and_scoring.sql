-- Outcomes and scores (provlog-core `score`, docs/track-records.md): records of kind `outcome`
-- state what happened for an earlier record; a source declares once how its records are scored,
-- in a registry record, and here (`scoring`: the spec's canonical JSON) so that a second
-- declaration is refused under the source's row lock.
ALTER TABLE records DROP CONSTRAINT records_kind_check;
ALTER TABLE records ADD CONSTRAINT records_kind_check
    CHECK (kind IN ('signal', 'snapshot', 'digest', 'source', 'close', 'commitment', 'reveal',
                    'outcome'));
ALTER TABLE sources ADD COLUMN scoring TEXT;
