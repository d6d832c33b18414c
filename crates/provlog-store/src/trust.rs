//! Trust and policy state: registered sources (keys, schema, policy), API keys (only their keyed
//! hashes), the nonce store of signed submissions, and the append-only audit trail. Every admin
//! change writes its audit event in the same transaction as the change, so the trail cannot
//! miss one.

use async_trait::async_trait;
use provlog_core::score::ScoringSpec;

use crate::{RegistryRow, Result, StoreError};

/// A registered source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    pub id: String,
    pub display_name: String,
    /// The JSON Schema, as JSON text.
    pub schema: Option<String>,
    /// `reject` or `flag`.
    pub schema_policy: String,
    pub require_signature: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The scoring spec the source declared (`provlog_core::score::ScoringSpec`), as canonical
    /// JSON; declared at most once.
    pub scoring: Option<String>,
    pub keys: Vec<SourceKeyRow>,
}

/// One Ed25519 public key of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceKeyRow {
    pub key_id: String,
    pub public_key: [u8; 32],
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// What an admin sets on a source (create or change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSettings {
    pub display_name: String,
    pub schema: Option<String>,
    pub schema_policy: String,
    pub require_signature: bool,
}

/// An API key as stored: never the token, only its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: String,
    pub key_hash: [u8; 32],
    /// `ingest`, `read` or `admin`.
    pub scope: String,
    pub source: Option<String>,
    pub label: String,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
    pub replaces: Option<String>,
}

/// A new API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub id: String,
    pub key_hash: [u8; 32],
    pub scope: String,
    pub source: Option<String>,
    pub label: String,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: u64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// JSON text.
    pub detail: String,
}

/// Outcome of an admin change that can find nothing to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    Done(T),
    NotFound,
    /// The change conflicts with the current state (what, in words).
    Conflict(String),
}

pub(crate) type KeyRow = (
    String,
    Vec<u8>,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

pub(crate) type SourceDbRow = (
    String,
    String,
    Option<String>,
    String,
    bool,
    i64,
    i64,
    Option<String>,
);
pub(crate) type SourceKeyDbRow = (String, String, Vec<u8>, i64, Option<i64>);
pub(crate) type AuditDbRow = (i64, i64, String, String, String, String);

pub(crate) fn array32(bytes: &[u8], what: &str) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

pub(crate) fn key_row(r: KeyRow) -> Result<ApiKeyRow> {
    Ok(ApiKeyRow {
        key_hash: array32(&r.1, "an API key hash")?,
        id: r.0,
        scope: r.2,
        source: r.3,
        label: r.4,
        created_ms: r.5,
        expires_ms: r.6,
        revoked_ms: r.7,
        replaces: r.8,
    })
}

/// Sources with their keys, from the rows of `sources` and `source_keys` (in key order).
pub(crate) fn source_rows(
    rows: Vec<SourceDbRow>,
    keys: &[SourceKeyDbRow],
) -> Result<Vec<SourceRow>> {
    rows.into_iter()
        .map(
            |(
                id,
                display_name,
                schema,
                schema_policy,
                require_signature,
                created_ms,
                updated_ms,
                scoring,
            )| {
                let keys = keys
                    .iter()
                    .filter(|k| k.0 == id)
                    .map(|k| {
                        Ok(SourceKeyRow {
                            key_id: k.1.clone(),
                            public_key: array32(&k.2, "a source public key")?,
                            created_ms: k.3,
                            revoked_ms: k.4,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(SourceRow {
                    id,
                    display_name,
                    schema,
                    schema_policy,
                    require_signature,
                    created_ms,
                    updated_ms,
                    scoring,
                    keys,
                })
            },
        )
        .collect()
}

/// A change to the source registry: what matters to whoever verifies the source's records.
#[derive(Debug, Clone, Copy)]
pub enum SourceChange<'a> {
    /// Registers the source `id`; `Conflict` when the id is taken.
    Create(&'a str, &'a SourceSettings),
    /// Replaces the settings of the source `id`.
    Update(&'a str, &'a SourceSettings),
    /// Adds a public key to a source; `Conflict` when the source has a key of that id.
    AddKey {
        source: &'a str,
        key_id: &'a str,
        public_key: &'a [u8; 32],
        /// The key's proof of possession (`provlog_core::registry::verify_possession`), which
        /// the caller has checked; it goes into the registry record.
        proof: &'a [u8; 64],
    },
    /// Retires a source key: it verifies no new submission; records it signed stay as they are.
    RetireKey { source: &'a str, key_id: &'a str },
    /// Declares how the source's records are scored; `Conflict` when it declared before, or
    /// when the spec's outcome source is not registered.
    DeclareScoring {
        source: &'a str,
        spec: &'a ScoringSpec,
    },
}

impl SourceChange<'_> {
    /// The source changed.
    pub fn source(&self) -> &str {
        match self {
            SourceChange::Create(id, _) | SourceChange::Update(id, _) => id,
            SourceChange::AddKey { source, .. }
            | SourceChange::RetireKey { source, .. }
            | SourceChange::DeclareScoring { source, .. } => source,
        }
    }

    /// The action of its audit event.
    pub fn action(&self) -> &'static str {
        match self {
            SourceChange::Create(..) => "source.created",
            SourceChange::Update(..) => "source.changed",
            SourceChange::AddKey { .. } => "source.key_added",
            SourceChange::RetireKey { .. } => "source.key_revoked",
            SourceChange::DeclareScoring { .. } => "source.scoring_declared",
        }
    }

    /// The detail of its audit event (JSON): the settings set, or the key's id.
    pub(crate) fn detail(&self) -> String {
        match self {
            SourceChange::Create(_, s) | SourceChange::Update(_, s) => serde_json::json!({
                "display_name": s.display_name,
                "schema": s.schema.is_some(),
                "schema_policy": s.schema_policy,
                "require_signature": s.require_signature,
            }),
            SourceChange::AddKey { key_id, .. } | SourceChange::RetireKey { key_id, .. } => {
                serde_json::json!({ "key_id": key_id })
            }
            SourceChange::DeclareScoring { spec, .. } => {
                serde_json::json!({ "spec_sha256": spec.sha256() })
            }
        }
        .to_string()
    }
}

pub(crate) fn key_detail(key: &NewApiKey) -> String {
    serde_json::json!({"scope": key.scope, "source": key.source}).to_string()
}

/// Sources, API keys, nonces and the audit trail.
#[async_trait]
pub trait Trust {
    /// Applies a change to the source registry, with its registry record (a log record of kind
    /// `source`) and its audit event in the same transaction. Needs the log bound
    /// ([`crate::Coordination::init_log`]).
    async fn change_source(&self, change: SourceChange<'_>, actor: &str) -> Result<Change<()>>;

    /// The registry records of one source, or of all, in log order.
    async fn registry(&self, source: Option<&str>) -> Result<Vec<RegistryRow>>;

    /// One source with its keys.
    async fn source(&self, id: &str) -> Result<Option<SourceRow>>;

    /// Every source, by id.
    async fn sources(&self) -> Result<Vec<SourceRow>>;

    /// Whether any admin key exists (the bootstrap token is spent then).
    async fn has_admin_key(&self) -> Result<bool>;

    /// Creates the first admin key, only while none exists; `Conflict` afterwards. Serialised
    /// with the other writers, so two replicas cannot both bootstrap.
    async fn bootstrap_admin_key(&self, key: &NewApiKey) -> Result<Change<()>>;

    /// Creates an API key; an ingest key's source must be registered (`NotFound` otherwise).
    async fn create_api_key(&self, key: &NewApiKey, actor: &str) -> Result<Change<()>>;

    /// One API key by its public id.
    async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>>;

    /// Every API key, oldest first.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>>;

    /// Revokes a key at once. `Conflict` when it is already revoked.
    async fn revoke_api_key(&self, id: &str, actor: &str) -> Result<Change<ApiKeyRow>>;

    /// Rotates `old_id` to `new`: the new key gets the old one's scope and source, the old one
    /// stays valid for `overlap_ms` more (or less, if it already expires sooner).
    async fn rotate_api_key(
        &self,
        old_id: &str,
        new: &NewApiKey,
        overlap_ms: i64,
        actor: &str,
    ) -> Result<Change<ApiKeyRow>>;

    /// Records `(source, key_id, nonce)` as used until `expires_ms` (unix ms). False when it was
    /// already used (a replay). [`Trust::purge_nonces`] deletes expired entries.
    async fn use_nonce(
        &self,
        source: &str,
        key_id: &str,
        nonce: &str,
        expires_ms: i64,
    ) -> Result<bool>;

    /// Deletes nonces whose window has passed; returns how many.
    async fn purge_nonces(&self) -> Result<u64>;

    /// Audit events after `after` (an event id), oldest first, at most `limit`.
    async fn audit_events(&self, after: Option<u64>, limit: u32) -> Result<Vec<AuditEvent>>;
}
