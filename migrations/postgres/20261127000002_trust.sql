-- Trust and policy: registered sources (keys, schema, policy), scoped API keys, the nonce store of
-- signed submissions, and the append-only audit trail of admin actions.

-- A source: who may submit records under its id, and what their data must look like.
CREATE TABLE sources (
    id                 TEXT PRIMARY KEY,
    display_name       TEXT NOT NULL,
    -- JSON Schema for signal payloads and JSON snapshot items; NULL: no schema check.
    schema             JSONB,
    -- What a payload or item that fails the schema gets: refused, or stored and flagged.
    schema_policy      TEXT NOT NULL CHECK (schema_policy IN ('reject', 'flag')),
    -- Every submission must be signed by one of the source's keys (RFC 9421 request signature
    -- and a record signature); an API key alone cannot write for it.
    require_signature  BOOLEAN NOT NULL DEFAULT false,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Ed25519 public keys of a source, several at a time for rotation.
CREATE TABLE source_keys (
    source      TEXT NOT NULL REFERENCES sources (id),
    key_id      TEXT NOT NULL,
    public_key  BYTEA NOT NULL CHECK (length(public_key) = 32),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A retired key stops verifying new submissions; records it signed stay verifiable.
    revoked_at  TIMESTAMPTZ,
    PRIMARY KEY (source, key_id)
);

-- API keys. The token is never stored: only HMAC-SHA256(pepper, token), and a short public
-- id (part of the token) to find the row.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    key_hash    BYTEA NOT NULL CHECK (length(key_hash) = 32),
    scope       TEXT NOT NULL CHECK (scope IN ('ingest', 'read', 'admin')),
    -- The one source an ingest key writes for.
    source      TEXT REFERENCES sources (id),
    label       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set when the key is rotated away: valid until then (the overlap), refused after.
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    -- The key this one replaced by rotation.
    replaces    TEXT REFERENCES api_keys (id),
    CHECK ((scope = 'ingest') = (source IS NOT NULL))
);
CREATE INDEX api_keys_admin ON api_keys (scope) WHERE scope = 'admin';

-- Nonces of signed submissions, per source key, kept until the clock window has passed (a
-- request created before then is refused by its age anyway).
CREATE TABLE signature_nonces (
    source      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, key_id, nonce)
);
CREATE INDEX signature_nonces_expiry ON signature_nonces (expires_at);

-- Admin actions, append only: no UPDATE or DELETE (the trigger below refuses them).
CREATE TABLE audit_events (
    id        BIGSERIAL PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The admin key (or `bootstrap`) that acted.
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    JSONB NOT NULL DEFAULT '{}'
);

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
