//! The source registry, as records of the log: every change to a source that matters to whoever
//! verifies its records (registration, settings, a key added or retired) is a record of kind
//! `source`, sequenced like any other. Its one content item is the [`RegistryEvent`] as
//! canonical JSON, so the content root commits to the change and the log's append-only proofs
//! cover the registry: an operator cannot swap a source's key without a record saying so.
//!
//! - [`registry_record`] builds the record of a change (the server does, in the transaction of
//!   the change); [`RegistryEvent::from_item`] reads one back, refusing non-canonical bytes.
//! - A new key comes with a proof of possession: the key's signature over
//!   [`possession_message`], naming the log, the source and the key id
//!   ([`prove_possession`], [`verify_possession`]).
//! - [`SourceHistory`] folds a source's registry records, in log order, into its keys and
//!   settings, refusing a history that could not have happened.
//!
//! The byte-level specification is `docs/formats.md` ("Registry records").

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::{leaf_hash, Hash};
use crate::record::{
    base64_array, canonicalize, json, Content, ContentAlg, FormatVersion, KeyId, Kind, LogOrigin,
    MediaType, Record, RecordError, SourceId, Timestamp,
};
use crate::score::ScoringSpec;

/// Prefix of the message a new key signs to prove its holder asked for it: domain separation
/// from the source signatures the same key makes.
pub const POSSESSION_CONTEXT: &[u8] = b"provlog source key possession v1\n";

/// What a payload or item failing the source's schema gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaPolicy {
    /// Refused at ingest.
    Reject,
    /// Logged, with the failed check in the record's `quality`.
    Flag,
}

impl SchemaPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            SchemaPolicy::Reject => "reject",
            SchemaPolicy::Flag => "flag",
        }
    }
}

/// One change to a source's registration: the content item of a `source` record.
///
/// Serialised with its `event` name and exactly the fields of that event (unknown fields are
/// refused); the record's `source` says which source changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RegistryEvent {
    /// The source was registered with these settings; always its first registry record.
    SourceRegistered {
        /// SHA-256 of the RFC 8785 canonical JSON of the source's JSON Schema; null: none.
        schema_sha256: Option<Hash>,
        schema_policy: SchemaPolicy,
        require_signature: bool,
    },
    /// The settings that matter to verification are now these (a change of name alone is
    /// also stated, with the settings unchanged).
    SettingsChanged {
        schema_sha256: Option<Hash>,
        schema_policy: SchemaPolicy,
        require_signature: bool,
    },
    /// An Ed25519 key may sign for the source from this record on.
    KeyAdded {
        key_id: KeyId,
        /// Base64 of 32 bytes.
        #[serde(with = "base64_array")]
        public_key: [u8; 32],
        /// The key's signature over [`possession_message`] (base64 of 64 bytes); null only for
        /// keys that were registered before the registry was logged (backfilled).
        #[serde(with = "optional_signature")]
        proof: Option<[u8; 64]>,
    },
    /// The key signs nothing new for the source from this record on.
    KeyRetired { key_id: KeyId },
    /// How the source's records are scored ([`crate::score`]), from this record on. Stated at
    /// most once per source, so that no one can pick the rules after seeing the outcomes.
    ScoringDeclared { spec: ScoringSpec },
}

impl RegistryEvent {
    /// Its `event` name.
    pub fn name(&self) -> &'static str {
        match self {
            RegistryEvent::SourceRegistered { .. } => "source-registered",
            RegistryEvent::SettingsChanged { .. } => "settings-changed",
            RegistryEvent::KeyAdded { .. } => "key-added",
            RegistryEvent::KeyRetired { .. } => "key-retired",
            RegistryEvent::ScoringDeclared { .. } => "scoring-declared",
        }
    }

    /// The canonical bytes: the record's one content item.
    pub fn to_item(&self) -> Result<Vec<u8>, RecordError> {
        let value = serde_json::to_value(self).map_err(|e| RecordError::Canonicalization {
            reason: e.to_string(),
        })?;
        canonicalize(&value)
    }

    /// Reads a content item: strict JSON, a known event with exactly its fields, in canonical
    /// form.
    pub fn from_item(bytes: &[u8]) -> Result<RegistryEvent, RecordError> {
        let value = json::parse_json_with_depth(bytes, 4)?;
        let event: RegistryEvent = serde_json::from_value(value)
            .map_err(|e| RecordError::invalid("registry event", e.to_string()))?;
        if let RegistryEvent::ScoringDeclared { spec } = &event {
            spec.check()
                .map_err(|e| RecordError::invalid("scoring spec", e))?;
        }
        if event.to_item()? != bytes {
            return Err(RecordError::ItemNotCanonical { index: 0 });
        }
        Ok(event)
    }
}

/// SHA-256 of the RFC 8785 canonical JSON of a JSON Schema, as [`RegistryEvent`]s state it.
pub fn schema_sha256(schema: &Value) -> Result<Hash, RecordError> {
    Ok(Hash::sha256(&canonicalize(schema)?))
}

/// The record stating `event` for `source` in the log `origin`, and its content item (the
/// event's canonical bytes, to be stored with it).
pub fn registry_record(
    origin: LogOrigin,
    source: SourceId,
    event: &RegistryEvent,
    received_at: Timestamp,
) -> Result<(Record, Vec<u8>), RecordError> {
    let item = event.to_item()?;
    let record = Record {
        content: Content {
            alg: ContentAlg::Rfc9162Sha256,
            root: leaf_hash(&item),
            items: 1,
            media_type: MediaType::json(),
        },
        kind: Kind::Source,
        metadata: Default::default(),
        origin,
        parents: Vec::new(),
        quality: Vec::new(),
        received_at,
        signature: None,
        source,
        seq: None,
        prev: None,
        v: FormatVersion::V1,
    };
    Ok((record, item))
}

/// The message a new key signs: [`POSSESSION_CONTEXT`] || the JCS bytes of
/// `{"key_id","origin","public_key","source"}` (the public key in base64).
pub fn possession_message(
    origin: &LogOrigin,
    source: &SourceId,
    key_id: &KeyId,
    public_key: &[u8; 32],
) -> Result<Vec<u8>, RecordError> {
    use base64::prelude::{Engine as _, BASE64_STANDARD};
    let statement = serde_json::json!({
        "key_id": key_id,
        "origin": origin,
        "public_key": BASE64_STANDARD.encode(public_key),
        "source": source,
    });
    let mut message = POSSESSION_CONTEXT.to_vec();
    message.extend(canonicalize(&statement)?);
    Ok(message)
}

/// The proof that the holder of `key` asks for it to sign for `source` in the log `origin`
/// under `key_id`.
pub fn prove_possession(
    key: &SigningKey,
    origin: &LogOrigin,
    source: &SourceId,
    key_id: &KeyId,
) -> Result<[u8; 64], RecordError> {
    let message = possession_message(origin, source, key_id, &key.verifying_key().to_bytes())?;
    Ok(key.sign(&message).to_bytes())
}

/// Checks a proof of possession with `verify_strict` (canonical `s`, no small-order key or `R`).
pub fn verify_possession(
    origin: &LogOrigin,
    source: &SourceId,
    key_id: &KeyId,
    public_key: &[u8; 32],
    proof: &[u8; 64],
) -> Result<(), RegistryError> {
    let bad = || RegistryError::BadProofOfPossession {
        key_id: key_id.to_string(),
    };
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| bad())?;
    if key.is_weak() {
        return Err(bad());
    }
    let message = possession_message(origin, source, key_id, public_key).map_err(|_| bad())?;
    key.verify_strict(&message, &Signature::from_bytes(proof))
        .map_err(|_| bad())
}

/// Why a source's registry records do not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("leaf {leaf_index} is not a registry record of source {source_id:?}")]
    WrongSource { leaf_index: u64, source_id: String },
    #[error(
        "leaf {leaf_index} comes before leaf {previous}: registry records are read in log order"
    )]
    OutOfOrder { leaf_index: u64, previous: u64 },
    #[error("the source's first registry record (leaf {leaf_index}) is not its registration")]
    NotRegistered { leaf_index: u64 },
    #[error("leaf {leaf_index} registers the source a second time")]
    RegisteredTwice { leaf_index: u64 },
    #[error("leaf {leaf_index} adds key {key_id:?}, which the source already has")]
    KeyAddedTwice { leaf_index: u64, key_id: String },
    #[error("leaf {leaf_index} retires key {key_id:?}, which the source has not got active")]
    NoActiveKey { leaf_index: u64, key_id: String },
    #[error("the proof of possession of key {key_id:?} does not verify")]
    BadProofOfPossession { key_id: String },
    #[error("leaf {leaf_index} declares the source's scoring a second time")]
    ScoringDeclaredTwice { leaf_index: u64 },
    #[error("registry record: {0}")]
    Record(#[from] RecordError),
}

impl RegistryError {
    /// The failed check, as a stable name other verifiers report too (`tests/vectors`).
    pub fn check(&self) -> &'static str {
        match self {
            RegistryError::WrongSource { .. } => "wrong_source",
            RegistryError::OutOfOrder { .. } => "out_of_order",
            RegistryError::NotRegistered { .. } => "not_registered",
            RegistryError::RegisteredTwice { .. } => "registered_twice",
            RegistryError::KeyAddedTwice { .. } => "key_added_twice",
            RegistryError::NoActiveKey { .. } => "no_active_key",
            RegistryError::BadProofOfPossession { .. } => "proof_of_possession",
            RegistryError::ScoringDeclaredTwice { .. } => "scoring_declared_twice",
            RegistryError::Record(_) => "record",
        }
    }
}

/// A key of a source, as its registry records state it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHistory {
    pub key_id: KeyId,
    pub public_key: [u8; 32],
    /// Whether the key was added with a proof of possession (false only for backfilled keys).
    pub proven: bool,
    pub added: Stated,
    pub retired: Option<Stated>,
}

/// Where and when a registry record stated something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stated {
    pub leaf_index: u64,
    pub at: Timestamp,
}

/// The settings of a source that matter to verification, and the record that stated them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub schema_sha256: Option<Hash>,
    pub schema_policy: SchemaPolicy,
    pub require_signature: bool,
    pub stated: Stated,
}

/// A source's registration, folded from its registry records in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHistory {
    pub origin: LogOrigin,
    pub source: SourceId,
    pub registered: Stated,
    pub settings: Settings,
    /// In the order they were added.
    pub keys: Vec<KeyHistory>,
    /// The source's scoring rules, once declared, and the record that declared them.
    pub scoring: Option<(ScoringSpec, Stated)>,
    /// Leaf indexes of every registry record folded in, in log order.
    pub leaves: Vec<u64>,
}

impl SourceHistory {
    /// Starts from the source's first registry record, which must register it.
    pub fn new(
        leaf_index: u64,
        record: &Record,
        event: &RegistryEvent,
    ) -> Result<Self, RegistryError> {
        let stated = Stated {
            leaf_index,
            at: record.received_at,
        };
        let RegistryEvent::SourceRegistered {
            schema_sha256,
            schema_policy,
            require_signature,
        } = event
        else {
            return Err(RegistryError::NotRegistered { leaf_index });
        };
        check_kind(leaf_index, record)?;
        Ok(SourceHistory {
            origin: record.origin.clone(),
            source: record.source.clone(),
            registered: stated,
            settings: Settings {
                schema_sha256: *schema_sha256,
                schema_policy: *schema_policy,
                require_signature: *require_signature,
                stated,
            },
            keys: Vec::new(),
            scoring: None,
            leaves: vec![leaf_index],
        })
    }

    /// Folds in the next registry record of the source (a later leaf than any before).
    pub fn apply(
        &mut self,
        leaf_index: u64,
        record: &Record,
        event: &RegistryEvent,
    ) -> Result<(), RegistryError> {
        check_kind(leaf_index, record)?;
        if record.source != self.source || record.origin != self.origin {
            return Err(RegistryError::WrongSource {
                leaf_index,
                source_id: self.source.to_string(),
            });
        }
        let previous = *self.leaves.last().unwrap_or(&self.registered.leaf_index);
        if leaf_index <= previous {
            return Err(RegistryError::OutOfOrder {
                leaf_index,
                previous,
            });
        }
        let stated = Stated {
            leaf_index,
            at: record.received_at,
        };
        match event {
            RegistryEvent::SourceRegistered { .. } => {
                return Err(RegistryError::RegisteredTwice { leaf_index })
            }
            RegistryEvent::SettingsChanged {
                schema_sha256,
                schema_policy,
                require_signature,
            } => {
                self.settings = Settings {
                    schema_sha256: *schema_sha256,
                    schema_policy: *schema_policy,
                    require_signature: *require_signature,
                    stated,
                }
            }
            RegistryEvent::KeyAdded {
                key_id,
                public_key,
                proof,
            } => {
                if self.keys.iter().any(|k| &k.key_id == key_id) {
                    return Err(RegistryError::KeyAddedTwice {
                        leaf_index,
                        key_id: key_id.to_string(),
                    });
                }
                if let Some(proof) = proof {
                    verify_possession(&self.origin, &self.source, key_id, public_key, proof)?;
                }
                self.keys.push(KeyHistory {
                    key_id: key_id.clone(),
                    public_key: *public_key,
                    proven: proof.is_some(),
                    added: stated,
                    retired: None,
                });
            }
            RegistryEvent::KeyRetired { key_id } => {
                let key = self
                    .keys
                    .iter_mut()
                    .find(|k| &k.key_id == key_id && k.retired.is_none())
                    .ok_or_else(|| RegistryError::NoActiveKey {
                        leaf_index,
                        key_id: key_id.to_string(),
                    })?;
                key.retired = Some(stated);
            }
            RegistryEvent::ScoringDeclared { spec } => {
                if self.scoring.is_some() {
                    return Err(RegistryError::ScoringDeclaredTwice { leaf_index });
                }
                self.scoring = Some((spec.clone(), stated));
            }
        }
        self.leaves.push(leaf_index);
        Ok(())
    }

    /// Folds a source's registry records, given in log order as (leaf index, record, item).
    pub fn fold<'a>(
        records: impl IntoIterator<Item = (u64, &'a Record, &'a [u8])>,
    ) -> Result<Option<Self>, RegistryError> {
        let mut history: Option<SourceHistory> = None;
        for (leaf_index, record, item) in records {
            let event = RegistryEvent::from_item(item)?;
            if leaf_hash(item) != record.content.root {
                return Err(RecordError::invalid(
                    "content.root",
                    "is not the leaf hash of the registry event",
                )
                .into());
            }
            match &mut history {
                None => history = Some(SourceHistory::new(leaf_index, record, &event)?),
                Some(h) => h.apply(leaf_index, record, &event)?,
            }
        }
        Ok(history)
    }
}

fn check_kind(leaf_index: u64, record: &Record) -> Result<(), RegistryError> {
    if record.kind != Kind::Source {
        return Err(RegistryError::WrongSource {
            leaf_index,
            source_id: record.source.to_string(),
        });
    }
    Ok(())
}

impl fmt::Display for RegistryEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryEvent::KeyAdded { key_id, .. } | RegistryEvent::KeyRetired { key_id } => {
                write!(f, "{} {key_id}", self.name())
            }
            _ => f.write_str(self.name()),
        }
    }
}

/// An optional 64-byte signature as base64, or null.
mod optional_signature {
    use base64::prelude::{Engine as _, BASE64_STANDARD};
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(proof: &Option<[u8; 64]>, s: S) -> Result<S::Ok, S::Error> {
        match proof {
            Some(p) => s.serialize_str(&BASE64_STANDARD.encode(p)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 64]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let bytes = BASE64_STANDARD
            .decode(&text)
            .map_err(|e| D::Error::custom(format!("invalid base64: {e}")))?;
        <[u8; 64]>::try_from(bytes.as_slice())
            .map(Some)
            .map_err(|_| D::Error::custom("expected base64 of 64 bytes"))
    }
}

#[cfg(test)]
mod tests;
