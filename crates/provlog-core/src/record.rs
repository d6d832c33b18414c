//! Records: the JSON document whose RFC 8785 (JCS) canonical bytes are one leaf of the log. A
//! record says which source submitted what content (a signal, a snapshot of items, or the digest
//! of data that stays with the client), its lineage, and when the log received it. Format v2
//! adds the source's chain: its sequence number (`seq`) and the leaf hash of its previous record
//! (`prev`), so a source's history can be shown complete ([`crate::track_record`]). Records of
//! format v1 still parse and verify.
//!
//! The canonical bytes are computed once, hashed ([`Record::leaf_hash`], RFC 9162 leaf hash) and
//! stored byte for byte; readers parse them with [`Record::from_canonical_bytes`], which refuses
//! anything but the exact canonical form. The sequencer takes [`Record::unsealed`] and fills in
//! the chain under its lock ([`Unsealed::seal`]). The byte-level specification, with worked
//! examples, is `docs/formats.md` ("Records").
//!
//! - [`json`]-level rules (strict parsing, integers within ±(2^53−1), [`canonicalize`]) apply to
//!   records and to payloads alike.
//! - Field types validate on construction: [`LogOrigin`], [`SourceId`], [`MediaType`],
//!   [`Timestamp`], [`KeyId`], [`Nonce`]; [`Record::validate`] checks the rules across fields.
//! - [`SignedStatement`] is what a source signs; [`Record::verify_source_signature`] re-checks it.

mod error;
pub mod json;
mod names;
mod signature;
mod time;

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub use error::RecordError;
pub use json::{canonicalize, nesting_depth, parse_json, DEPTH_CEILING, MAX_SAFE_INTEGER};
pub use names::{KeyId, LogOrigin, MediaType, Nonce, SourceId};
pub(crate) use signature::base64_array;
pub use signature::{
    SignatureAlg, SignedStatement, SourceSignature, VerifiedSignature, SIGNATURE_CONTEXT,
};
pub use time::Timestamp;

use crate::content::ContentTree;
use crate::hash::{leaf_hash, Hash};

/// The record format the log writes (`"v": 2`); [`FORMAT_V1`] still reads.
pub const FORMAT_VERSION: u64 = 2;
/// The first record format, without the source's chain.
pub const FORMAT_V1: u64 = 1;
/// Most parents (lineage links) a record may have.
pub const MAX_PARENTS: usize = 64;
/// Default limit on the canonical size of `metadata`, in bytes.
pub const MAX_METADATA_BYTES: usize = 4096;
/// Default limit on the nesting depth of `metadata` (the metadata object itself is level 1).
pub const MAX_METADATA_DEPTH: usize = 8;
/// Default limit on the nesting depth of payloads (signals, snapshot items).
pub const MAX_PAYLOAD_DEPTH: usize = 64;
/// Most quality check results in a record.
pub const MAX_QUALITY_CHECKS: usize = 64;
/// Longest quality check name, in bytes.
pub const MAX_QUALITY_CHECK_LEN: usize = 128;
/// Longest quality check detail, in bytes.
pub const MAX_QUALITY_DETAIL_LEN: usize = 1024;

/// Configurable bounds (a server's policy); [`Limits::default`] uses the constants above.
/// Depths above [`DEPTH_CEILING`] act as [`DEPTH_CEILING`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_payload_depth: usize,
    pub max_metadata_bytes: usize,
    pub max_metadata_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_depth: MAX_PAYLOAD_DEPTH,
            max_metadata_bytes: MAX_METADATA_BYTES,
            max_metadata_depth: MAX_METADATA_DEPTH,
        }
    }
}

/// The `v` field, serialised as the integer `1` or `2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum FormatVersion {
    #[default]
    V1,
    /// With the source's chain (`seq`, `prev`).
    V2,
}

impl FormatVersion {
    pub fn number(self) -> u64 {
        match self {
            FormatVersion::V1 => FORMAT_V1,
            FormatVersion::V2 => FORMAT_VERSION,
        }
    }

    fn from_number(v: u64) -> Option<Self> {
        match v {
            FORMAT_V1 => Some(FormatVersion::V1),
            FORMAT_VERSION => Some(FormatVersion::V2),
            _ => None,
        }
    }
}

impl Serialize for FormatVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.number())
    }
}

impl<'de> Deserialize<'de> for FormatVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        FormatVersion::from_number(v)
            .ok_or_else(|| serde::de::Error::custom(format!("unsupported record version {v}")))
    }
}

/// What a record's content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One JSON value, stored by the log.
    Signal,
    /// A list of items (JSON values or byte strings), each provable on its own.
    Snapshot,
    /// A root computed by the client over data that never leaves it.
    Digest,
    /// A change to a source's registration, written by the log itself
    /// ([`crate::registry`]): its one item is the change, as canonical JSON.
    Source,
    /// A mark the log writes into a source's chain (format v2 only) when a track record is asked
    /// up to the present: the record after the window, proving nothing of the source came
    /// between ([`crate::track_record`]). Its one item is `{"close":true}`.
    Close,
    /// A hiding commitment to a payload, revealed later (format v2 only;
    /// [`crate::commitment`]): its one item is the digest and the reveal window.
    Commitment,
    /// The disclosure of a commitment's payload and salt (format v2 only); its one parent is
    /// the commitment record.
    Reveal,
    /// What happened for an earlier record, its one parent (format v2 only): the realised
    /// return over a signal's holding period, the value a prediction was about. Its one item is
    /// the outcome as JSON, stored by the log; scores ([`crate::score`]) read it.
    Outcome,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Signal => "signal",
            Kind::Snapshot => "snapshot",
            Kind::Digest => "digest",
            Kind::Source => "source",
            Kind::Close => "close",
            Kind::Commitment => "commitment",
            Kind::Reveal => "reveal",
            Kind::Outcome => "outcome",
        }
    }

    /// The kinds whose content is one JSON item: the value itself (signals) or a statement the
    /// log stores as item 0 (the others).
    pub fn is_one_json_item(&self) -> bool {
        !matches!(self, Kind::Snapshot | Kind::Digest)
    }

    /// The kinds only format v2 has.
    pub fn is_v2_only(&self) -> bool {
        matches!(
            self,
            Kind::Close | Kind::Commitment | Kind::Reveal | Kind::Outcome
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How `content.root` was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContentAlg {
    /// RFC 9162 Merkle tree hash over the items' leaf hashes (a single item: its leaf hash).
    #[serde(rename = "rfc9162-sha256")]
    Rfc9162Sha256,
    /// Plain SHA-256 of one file (digests only).
    #[serde(rename = "sha256")]
    Sha256,
}

/// The `content` field: a commitment to the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    pub alg: ContentAlg,
    pub root: Hash,
    pub items: u64,
    pub media_type: MediaType,
}

/// One result of a schema or quality check the server ran at ingest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityCheck {
    pub check: String,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A log record, format v1 or v2. Fields are listed in canonical (sorted) order.
///
/// Build one, [`validate`](Record::validate) it, and take its
/// [`canonical bytes`](Record::to_canonical_bytes) once: those bytes are the log leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub content: Content,
    pub kind: Kind,
    /// Free-form, bounded by [`Limits`].
    pub metadata: Map<String, Value>,
    /// The log this record was submitted to.
    pub origin: LogOrigin,
    /// Leaf hashes of earlier records this one derives from, in the submitter's order.
    pub parents: Vec<Hash>,
    /// v2: leaf hash of the same source's previous record; absent for its first (`seq` 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Hash>,
    /// Omitted from the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality: Vec<QualityCheck>,
    /// Server time at ingest. In v2, never earlier than the source's previous record's.
    pub received_at: Timestamp,
    /// v2: the source's sequence number: 0 for its first record, then dense.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SourceSignature>,
    pub source: SourceId,
    pub v: FormatVersion,
}

impl Content {
    /// Checks the rules for content of `kind`: signals and the statements of the other kinds but
    /// snapshots and digests are one JSON value under rfc9162-sha256;
    /// snapshots use rfc9162-sha256; digests use rfc9162-sha256 or sha256 (one item); every
    /// content has 1..=2^53−1 items.
    pub fn check_for(&self, kind: Kind) -> Result<(), RecordError> {
        if self.items == 0 || self.items > MAX_SAFE_INTEGER {
            return Err(RecordError::invalid("content.items", "must be 1..=2^53-1"));
        }
        match (kind, self.alg) {
            (_, ContentAlg::Sha256) if kind != Kind::Digest => Err(RecordError::invalid(
                "content.alg",
                format!("{kind} content uses rfc9162-sha256"),
            )),
            _ if kind.is_one_json_item() && self.items != 1 => Err(RecordError::invalid(
                "content.items",
                format!("a {kind} is exactly one item"),
            )),
            _ if kind.is_one_json_item() && !self.media_type.is_json() => {
                Err(RecordError::invalid(
                    "content.media_type",
                    format!("a {kind} is application/json"),
                ))
            }
            (Kind::Digest, ContentAlg::Sha256) if self.items != 1 => Err(RecordError::invalid(
                "content.items",
                "a sha256 digest covers exactly one item",
            )),
            _ => Ok(()),
        }
    }
}

fn rebase_path(err: RecordError, base: &str) -> RecordError {
    let rebase = |path: String| path.replacen('$', base, 1);
    match err {
        RecordError::UnsafeInteger { path } => RecordError::UnsafeInteger { path: rebase(path) },
        RecordError::NumberOutOfRange { path } => {
            RecordError::NumberOutOfRange { path: rebase(path) }
        }
        RecordError::TooDeep { path, limit } => RecordError::TooDeep {
            path: rebase(path),
            limit,
        },
        other => other,
    }
}

impl Record {
    /// Checks every rule of the record's format that the field types do not already guarantee.
    pub fn validate(&self, limits: &Limits) -> Result<(), RecordError> {
        self.check_chain()?;
        self.validate_unsealed(limits)
    }

    /// Checks every rule but the chain's (`seq`, `prev`), which the sequencer fills in: for a
    /// record built to be [`unsealed`](Record::unsealed).
    pub fn validate_unsealed(&self, limits: &Limits) -> Result<(), RecordError> {
        self.content.check_for(self.kind)?;

        if self.parents.len() > MAX_PARENTS {
            return Err(RecordError::invalid(
                "parents",
                format!("at most {MAX_PARENTS}, got {}", self.parents.len()),
            ));
        }
        if self.kind == Kind::Reveal && self.parents.len() != 1 {
            return Err(RecordError::invalid(
                "parents",
                "a reveal names exactly one parent: its commitment",
            ));
        }
        if self.kind == Kind::Outcome && self.parents.len() != 1 {
            return Err(RecordError::invalid(
                "parents",
                "an outcome names exactly one parent: the record it is the outcome of",
            ));
        }
        let mut seen = HashSet::with_capacity(self.parents.len());
        if let Some(dup) = self.parents.iter().find(|p| !seen.insert(**p)) {
            return Err(RecordError::invalid(
                "parents",
                format!("{dup} is listed twice"),
            ));
        }

        let depth = 1 + self.metadata.values().map(nesting_depth).max().unwrap_or(0);
        if depth > limits.max_metadata_depth {
            return Err(RecordError::MetadataTooDeep {
                depth,
                limit: limits.max_metadata_depth,
            });
        }
        let size = canonicalize(&Value::Object(self.metadata.clone()))
            .map_err(|e| rebase_path(e, "$.metadata"))?
            .len();
        if size > limits.max_metadata_bytes {
            return Err(RecordError::MetadataTooLarge {
                size,
                limit: limits.max_metadata_bytes,
            });
        }

        if self.quality.len() > MAX_QUALITY_CHECKS {
            return Err(RecordError::invalid(
                "quality",
                format!("at most {MAX_QUALITY_CHECKS} checks"),
            ));
        }
        for q in &self.quality {
            if q.check.is_empty()
                || q.check.len() > MAX_QUALITY_CHECK_LEN
                || q.check.chars().any(char::is_control)
            {
                return Err(RecordError::invalid(
                    "quality.check",
                    format!("must be 1..={MAX_QUALITY_CHECK_LEN} bytes without control characters"),
                ));
            }
            if q.detail
                .as_ref()
                .is_some_and(|d| d.len() > MAX_QUALITY_DETAIL_LEN)
            {
                return Err(RecordError::invalid(
                    "quality.detail",
                    format!("at most {MAX_QUALITY_DETAIL_LEN} bytes"),
                ));
            }
        }

        if let Some(sig) = &self.signature {
            if sig.created > MAX_SAFE_INTEGER {
                return Err(RecordError::invalid(
                    "signature.created",
                    "must be 0..=2^53-1",
                ));
            }
        }
        Ok(())
    }

    /// v1 records have no chain and no `close` kind; in v2, `seq` is present, within 2^53−1, and
    /// `prev` is present exactly when `seq` > 0.
    fn check_chain(&self) -> Result<(), RecordError> {
        match self.v {
            FormatVersion::V1 if self.seq.is_some() || self.prev.is_some() => Err(
                RecordError::invalid("seq", "format v1 has no seq or prev (they are v2)"),
            ),
            FormatVersion::V1 if self.kind.is_v2_only() => Err(RecordError::invalid(
                "kind",
                format!("{} records are format v2", self.kind),
            )),
            FormatVersion::V1 => Ok(()),
            FormatVersion::V2 => match (self.seq, self.prev) {
                (None, _) => Err(RecordError::invalid("seq", "required in format v2")),
                (Some(seq), _) if seq > MAX_SAFE_INTEGER => {
                    Err(RecordError::invalid("seq", "must be 0..=2^53-1"))
                }
                (Some(0), Some(_)) => Err(RecordError::invalid(
                    "prev",
                    "a source's first record (seq 0) has no prev",
                )),
                (Some(seq), None) if seq > 0 => {
                    Err(RecordError::invalid("prev", "required when seq > 0"))
                }
                _ => Ok(()),
            },
        }
    }

    /// The canonical bytes of this record in format v2 without its chain and time, for the
    /// sequencer to [`seal`](Unsealed::seal) once it knows them. Call
    /// [`validate_unsealed`](Record::validate_unsealed) first (the chain fields of `self` are
    /// ignored).
    pub fn unsealed(&self) -> Result<Unsealed, RecordError> {
        let value = serde_json::to_value(self).map_err(|e| RecordError::Canonicalization {
            reason: e.to_string(),
        })?;
        let Value::Object(fields) = value else {
            unreachable!("a record serialises as an object");
        };
        let mut parts = Vec::with_capacity(fields.len());
        for (key, value) in fields {
            if matches!(key.as_str(), "prev" | "received_at" | "seq" | "v") {
                continue;
            }
            let mut part = canonicalize(&Value::String(key.clone()))?;
            part.push(b':');
            part.extend(canonicalize(&value)?);
            parts.push((key, part));
        }
        Ok(Unsealed {
            parts,
            received_at: self.received_at,
        })
    }

    /// The RFC 8785 canonical bytes: the log leaf. Call [`validate`](Record::validate) first;
    /// this only refuses what cannot be canonicalised (unsafe integers in `metadata`).
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, RecordError> {
        let value = serde_json::to_value(self).map_err(|e| RecordError::Canonicalization {
            reason: e.to_string(),
        })?;
        canonicalize(&value)
    }

    /// The RFC 9162 leaf hash of the canonical bytes: SHA-256(0x00 || bytes).
    pub fn leaf_hash(&self) -> Result<Hash, RecordError> {
        Ok(leaf_hash(&self.to_canonical_bytes()?))
    }

    /// Parses a stored leaf under the default [`Limits`]; see
    /// [`from_canonical_bytes_with`](Record::from_canonical_bytes_with).
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Record, RecordError> {
        Self::from_canonical_bytes_with(bytes, &Limits::default())
    }

    /// Parses a stored leaf: strict JSON, version 1 or 2, its schema (unknown fields refused),
    /// [`validate`](Record::validate) under `limits`, and `bytes` must be exactly the record's
    /// canonical form ([`RecordError::NotCanonical`] otherwise). Does not check the signature.
    pub fn from_canonical_bytes_with(bytes: &[u8], limits: &Limits) -> Result<Record, RecordError> {
        let value = json::parse_json_with_depth(bytes, DEPTH_CEILING)?;
        let Value::Object(fields) = &value else {
            return Err(RecordError::Schema {
                message: "a record is a JSON object".into(),
            });
        };
        match fields.get("v") {
            Some(Value::Number(n)) if n.as_u64().and_then(FormatVersion::from_number).is_some() => {
            }
            Some(other) => {
                return Err(RecordError::UnsupportedVersion {
                    found: other.to_string(),
                })
            }
            None => {
                return Err(RecordError::Schema {
                    message: "missing field `v`".into(),
                })
            }
        }
        let record: Record = serde_json::from_value(value).map_err(|e| RecordError::Schema {
            message: e.to_string(),
        })?;
        record.validate(limits)?;
        if record.to_canonical_bytes()? != bytes {
            return Err(RecordError::NotCanonical);
        }
        Ok(record)
    }
}

/// A record's canonical fields but for `prev`, `received_at`, `seq` and `v`, which the sequencer
/// fills in: [`seal`](Unsealed::seal) gives exactly the canonical bytes of the v2 record with
/// them, without serialising the record again under the sequencer's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsealed {
    /// `"key":value` in canonical form, keys sorted (all record keys are ASCII, so byte order is
    /// RFC 8785's UTF-16 order).
    parts: Vec<(String, Vec<u8>)>,
    received_at: Timestamp,
}

impl Unsealed {
    /// The time the record was built with; the sequencer keeps a source's times non-decreasing.
    pub fn received_at(&self) -> Timestamp {
        self.received_at
    }

    /// The canonical bytes of the v2 record with this chain position and time.
    pub fn seal(&self, seq: u64, prev: Option<Hash>, received_at: Timestamp) -> Vec<u8> {
        let string = |s: String| Value::String(s).to_string();
        let mut chain: Vec<(&str, String)> = vec![
            ("received_at", string(received_at.to_string())),
            ("seq", seq.to_string()),
            ("v", FORMAT_VERSION.to_string()),
        ];
        if let Some(prev) = prev {
            chain.push(("prev", string(prev.to_base64())));
        }
        let size = self.parts.iter().map(|(_, p)| p.len() + 1).sum::<usize>() + 128;
        let mut out = Vec::with_capacity(size);
        out.push(b'{');
        let mut ours = self
            .parts
            .iter()
            .map(|(k, p)| (k.as_str(), p.as_slice()))
            .peekable();
        chain.sort_by_key(|(k, _)| *k);
        let mut chain = chain.into_iter().peekable();
        loop {
            let next_is_ours = match (ours.peek(), chain.peek()) {
                (Some((a, _)), Some((b, _))) => a < b,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if out.len() > 1 {
                out.push(b',');
            }
            if next_is_ours {
                let (_, part) = ours.next().expect("peeked");
                out.extend_from_slice(part);
            } else {
                let (key, value) = chain.next().expect("peeked");
                out.push(b'"');
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(b"\":");
                out.extend_from_slice(value.as_bytes());
            }
        }
        out.push(b'}');
        out
    }
}

/// RFC 9162 root over the leaf data of the items, and their count.
/// Root and size of the content tree over items already known to be at least one.
fn content_root<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Result<(Hash, u64), RecordError> {
    let tree = ContentTree::from_items(items)
        .map_err(|e| RecordError::invalid("content.items", e.to_string()))?;
    Ok((tree.root(), tree.len()))
}

fn at_least_one_item(n: usize) -> Result<(), RecordError> {
    if n == 0 {
        return Err(RecordError::invalid("content.items", "at least one item"));
    }
    Ok(())
}

/// Content of a signal: the payload's canonical bytes (returned, to be stored as they are) and
/// their leaf hash as the root.
pub fn signal_content(payload: &Value) -> Result<(Content, Vec<u8>), RecordError> {
    let bytes = canonicalize(payload)?;
    let content = Content {
        alg: ContentAlg::Rfc9162Sha256,
        root: leaf_hash(&bytes),
        items: 1,
        media_type: MediaType::json(),
    };
    Ok((content, bytes))
}

/// Content of a snapshot of JSON items, and each item's canonical bytes (its leaf data).
pub fn snapshot_content_json(items: &[Value]) -> Result<(Content, Vec<Vec<u8>>), RecordError> {
    at_least_one_item(items.len())?;
    let canonical = items
        .iter()
        .map(canonicalize)
        .collect::<Result<Vec<_>, _>>()?;
    let (root, n) = content_root(canonical.iter().map(Vec::as_slice))?;
    let content = Content {
        alg: ContentAlg::Rfc9162Sha256,
        root,
        items: n,
        media_type: MediaType::json(),
    };
    Ok((content, canonical))
}

/// Content of a snapshot of byte-string items, each item's bytes being its leaf data. Under
/// `application/json` every item must already be canonical JSON
/// ([`RecordError::ItemNotCanonical`] otherwise).
pub fn snapshot_content_bytes(
    items: &[impl AsRef<[u8]>],
    media_type: MediaType,
) -> Result<Content, RecordError> {
    at_least_one_item(items.len())?;
    if media_type.is_json() {
        for (index, item) in items.iter().enumerate() {
            let item = item.as_ref();
            let canonical =
                json::parse_json_with_depth(item, MAX_PAYLOAD_DEPTH).and_then(|v| canonicalize(&v));
            if canonical.as_deref() != Ok(item) {
                return Err(RecordError::ItemNotCanonical { index });
            }
        }
    }
    let (root, n) = content_root(items.iter().map(AsRef::as_ref))?;
    Ok(Content {
        alg: ContentAlg::Rfc9162Sha256,
        root,
        items: n,
        media_type,
    })
}

/// Content of a digest computed by the client: `rfc9162-sha256` over `items` leaves, or `sha256`
/// of one file (`items` = 1).
pub fn digest_content(
    alg: ContentAlg,
    root: Hash,
    items: u64,
    media_type: MediaType,
) -> Result<Content, RecordError> {
    let content = Content {
        alg,
        root,
        items,
        media_type,
    };
    content.check_for(Kind::Digest)?;
    Ok(content)
}

#[cfg(test)]
mod tests;
