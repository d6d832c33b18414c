-- Trust and policy on SQLite: the tables of migrations/postgres/20261127000002_trust.sql (read
-- its comments), STRICT, with timestamps as INTEGER Unix ms (see 20261127000001_log.sql).
-- JSONB becomes TEXT that must be valid JSON (the backend stores it through json(), which
-- checks and minifies it); BOOLEAN becomes INTEGER 0 or 1.

CREATE TABLE sources (
    id                 TEXT PRIMARY KEY,
    display_name       TEXT NOT NULL,
    schema             TEXT CHECK (schema IS NULL OR json_valid(schema)),
    schema_policy      TEXT NOT NULL CHECK (schema_policy IN ('reject', 'flag')),
    require_signature  INTEGER NOT NULL DEFAULT 0 CHECK (require_signature IN (0, 1)),
    created_at         INTEGER NOT NULL DEFAULT (CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER)),
    updated_at         INTEGER NOT NULL DEFAULT (CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER))
) STRICT;

CREATE TABLE source_keys (
    source      TEXT NOT NULL REFERENCES sources (id),
    key_id      TEXT NOT NULL,
    public_key  BLOB NOT NULL CHECK (length(public_key) = 32),
    created_at  INTEGER NOT NULL DEFAULT (CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER)),
    revoked_at  INTEGER,
    PRIMARY KEY (source, key_id)
) STRICT;

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    key_hash    BLOB NOT NULL CHECK (length(key_hash) = 32),
    scope       TEXT NOT NULL CHECK (scope IN ('ingest', 'read', 'admin')),
    source      TEXT REFERENCES sources (id),
    label       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL DEFAULT (CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER)),
    expires_at  INTEGER,
    revoked_at  INTEGER,
    replaces    TEXT REFERENCES api_keys (id),
    CHECK ((scope = 'ingest') = (source IS NOT NULL))
) STRICT;
CREATE INDEX api_keys_admin ON api_keys (scope) WHERE scope = 'admin';

CREATE TABLE signature_nonces (
    source      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (source, key_id, nonce)
) STRICT;
CREATE INDEX signature_nonces_expiry ON signature_nonces (expires_at);

-- Admin actions, append only: the triggers below refuse UPDATE and DELETE (SQLite has no
-- TRUNCATE; a DELETE without WHERE fires the DELETE trigger too). AUTOINCREMENT: ids are never
-- reused, like BIGSERIAL's.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL DEFAULT (CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER)),
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
