//! Source signatures: a source signs a *statement* of what it submits (source, kind, content,
//! parents, metadata, plus key id, nonce and creation time) with Ed25519; the server stores the
//! signature in the record, and anyone can re-check it from the record alone.
//!
//! Signed message: [`SIGNATURE_CONTEXT`] followed by the JCS bytes of
//! `{"content","created","key_id","kind","metadata","nonce","parents","source"}`.
//! Server-side fields (`origin`, `received_at`, `quality`) are not signed.

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{canonicalize, Content, KeyId, Kind, Nonce, Record, RecordError, SourceId};
use crate::hash::Hash;

/// Prefix of every signed message: domain separation from any other use of a source's key.
pub const SIGNATURE_CONTEXT: &[u8] = b"provlog source signature v1\n";

/// The signature algorithm; only Ed25519.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignatureAlg {
    #[serde(rename = "ed25519")]
    Ed25519,
}

/// The `signature` field of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSignature {
    pub alg: SignatureAlg,
    pub key_id: KeyId,
    /// Ed25519 public key, base64 of 32 bytes.
    #[serde(with = "base64_array")]
    pub public_key: [u8; 32],
    pub nonce: Nonce,
    /// Unix seconds at signing, as claimed by the source.
    pub created: u64,
    /// Ed25519 signature, base64 of 64 bytes.
    #[serde(with = "base64_array")]
    pub sig: [u8; 64],
}

/// A signature that verified. Whether `public_key` may speak for the record's source (and whether
/// `nonce` is fresh and `created` recent) is the caller's policy: this only proves the key signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub key_id: KeyId,
    pub public_key: VerifyingKey,
    pub nonce: Nonce,
    pub created: u64,
}

/// What a source signs: the fields of a record it controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedStatement {
    pub source: SourceId,
    pub kind: Kind,
    pub content: Content,
    pub parents: Vec<Hash>,
    pub metadata: Map<String, Value>,
}

/// The statement as serialised: exactly these keys.
#[derive(Serialize)]
struct StatementJson<'a> {
    content: &'a Content,
    created: u64,
    key_id: &'a KeyId,
    kind: Kind,
    metadata: &'a Map<String, Value>,
    nonce: &'a Nonce,
    parents: &'a [Hash],
    source: &'a SourceId,
}

impl SignedStatement {
    /// A statement without parents or metadata.
    pub fn new(source: SourceId, kind: Kind, content: Content) -> Self {
        SignedStatement {
            source,
            kind,
            content,
            parents: Vec::new(),
            metadata: Map::new(),
        }
    }

    pub fn with_parents(mut self, parents: Vec<Hash>) -> Self {
        self.parents = parents;
        self
    }

    pub fn with_metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = metadata;
        self
    }

    /// The JCS bytes of the statement.
    pub fn statement_bytes(
        &self,
        key_id: &KeyId,
        nonce: &Nonce,
        created: u64,
    ) -> Result<Vec<u8>, RecordError> {
        let json = StatementJson {
            content: &self.content,
            created,
            key_id,
            kind: self.kind,
            metadata: &self.metadata,
            nonce,
            parents: &self.parents,
            source: &self.source,
        };
        let value = serde_json::to_value(json).map_err(|e| RecordError::Canonicalization {
            reason: e.to_string(),
        })?;
        canonicalize(&value)
    }

    /// The exact message signed: [`SIGNATURE_CONTEXT`] || statement bytes.
    pub fn message(
        &self,
        key_id: &KeyId,
        nonce: &Nonce,
        created: u64,
    ) -> Result<Vec<u8>, RecordError> {
        let mut message = SIGNATURE_CONTEXT.to_vec();
        message.extend(self.statement_bytes(key_id, nonce, created)?);
        Ok(message)
    }

    /// Signs the statement (Ed25519 is deterministic: same inputs, same signature).
    pub fn sign_statement(
        &self,
        key: &SigningKey,
        key_id: KeyId,
        nonce: Nonce,
        created: u64,
    ) -> Result<SourceSignature, RecordError> {
        let message = self.message(&key_id, &nonce, created)?;
        Ok(SourceSignature {
            alg: SignatureAlg::Ed25519,
            key_id,
            public_key: key.verifying_key().to_bytes(),
            nonce,
            created,
            sig: key.sign(&message).to_bytes(),
        })
    }
}

impl Record {
    /// The statement a source signs for this record.
    pub fn statement(&self) -> SignedStatement {
        SignedStatement {
            source: self.source.clone(),
            kind: self.kind,
            content: self.content.clone(),
            parents: self.parents.clone(),
            metadata: self.metadata.clone(),
        }
    }

    /// Checks the source signature with `verify_strict` (canonical `s`, no small-order keys or
    /// `R`). `Ok(None)`: the record is unsigned. The caller must still check that the key belongs
    /// to `self.source` and apply its nonce and clock policy.
    pub fn verify_source_signature(&self) -> Result<Option<VerifiedSignature>, RecordError> {
        let Some(sig) = &self.signature else {
            return Ok(None);
        };
        let bad = || RecordError::BadSignature {
            key_id: sig.key_id.to_string(),
        };
        let public_key = VerifyingKey::from_bytes(&sig.public_key).map_err(|_| bad())?;
        let message = self
            .statement()
            .message(&sig.key_id, &sig.nonce, sig.created)?;
        public_key
            .verify_strict(&message, &Signature::from_bytes(&sig.sig))
            .map_err(|_| bad())?;
        Ok(Some(VerifiedSignature {
            key_id: sig.key_id.clone(),
            public_key,
            nonce: sig.nonce.clone(),
            created: sig.created,
        }))
    }
}

/// Fixed-length byte arrays as standard base64 with padding.
pub(crate) mod base64_array {
    use super::*;
    use serde::{de::Error as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64_STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = BASE64_STANDARD
            .decode(&text)
            .map_err(|e| D::Error::custom(format!("invalid base64: {e}")))?;
        <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
            D::Error::custom(format!(
                "expected base64 of {N} bytes, got {} bytes",
                bytes.len()
            ))
        })
    }
}
