-- Source chains (record format v2): every record carries its source's sequence number and the
-- leaf hash of the source's previous record, assigned in the sequencing transaction
-- (provlog-core `record`, docs/formats.md). `source_seq` is that number, unique per source;
-- records written before, of format 1, are numbered here in log order but not in their bytes, so
-- a track record starts after them. Records of kind `close` end a track-record window;
-- `commitment` and `reveal` records hide a payload and disclose it later (provlog-core `commitment`).
ALTER TABLE records DROP CONSTRAINT records_kind_check;
ALTER TABLE records ADD CONSTRAINT records_kind_check
    CHECK (kind IN ('signal', 'snapshot', 'digest', 'source', 'close', 'commitment', 'reveal'));
ALTER TABLE records ADD COLUMN format SMALLINT NOT NULL DEFAULT 1 CHECK (format IN (1, 2));
ALTER TABLE records ALTER COLUMN format DROP DEFAULT;
ALTER TABLE records ADD COLUMN source_seq BIGINT CHECK (source_seq >= 0);
UPDATE records SET source_seq = numbered.seq
    FROM (SELECT idx, row_number() OVER (PARTITION BY source ORDER BY idx) - 1 AS seq
          FROM records) AS numbered
    WHERE records.idx = numbered.idx;
ALTER TABLE records ALTER COLUMN source_seq SET NOT NULL;
CREATE UNIQUE INDEX records_source_seq ON records (source, source_seq);

-- At most one reveal per commitment: checked in the sequencing transaction, held here.
CREATE TABLE reveals (
    commitment  BIGINT PRIMARY KEY REFERENCES records (idx),
    reveal      BIGINT NOT NULL UNIQUE REFERENCES records (idx)
);
