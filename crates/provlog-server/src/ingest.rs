//! Record building: what a client submits (the wire types), checked against its source's
//! policy and the request's signature, made into the canonical records the sequencer takes;
//! and the request's idempotency key. The write routes ([`crate::api`]) call it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::{HeaderMap, Method, Uri};
use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_core::commitment::{item_content, Commitment, Reveal, RevealError};
use provlog_core::record::{
    digest_content, nesting_depth, signal_content, snapshot_content_bytes, snapshot_content_json,
    Content, ContentAlg, FormatVersion, Kind, Limits, LogOrigin, MediaType, Record, SourceId,
    SourceSignature, Timestamp,
};
use provlog_core::Hash;
use provlog_store::{NewRecord, Revealing};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::api::openapi;
use crate::auth;
use crate::error::RevealRefusal;
use crate::policy::{self, SourcePolicy};
use crate::{ApiError, AppState};

/// One record as a client submits it; the log adds `origin` and `received_at` (see
/// `docs/formats.md`, "Records").
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Submission {
    #[schema(value_type = openapi::SubmittedKind)]
    kind: Kind,
    /// 1..=64 characters of `[a-z0-9._-]`, starting with a letter or digit.
    #[schema(value_type = String, pattern = "^[a-z0-9][a-z0-9._-]{0,63}$", example = "acme-signals")]
    pub(crate) source: SourceId,
    /// `signal`: the JSON value.
    #[serde(default)]
    #[schema(value_type = Option<Value>)]
    payload: Option<Value>,
    /// `snapshot`: JSON items…
    #[serde(default)]
    #[schema(value_type = Option<Vec<Value>>)]
    items: Option<Vec<Value>>,
    /// …or byte items, base64, with `media_type` (default `application/octet-stream`).
    #[serde(default)]
    items_base64: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "text/csv")]
    media_type: Option<MediaType>,
    /// `digest`: the client-computed content (the data never leaves the client).
    #[serde(default)]
    content: Option<DigestContent>,
    /// `commitment`: `{"digest", "reveal_after"?, "reveal_by"}`, the digest being SHA-256 of
    /// "provlog-commitment/v1", a zero byte, a random 32-byte salt and the payload's RFC 8785
    /// bytes (`docs/formats.md`, "Commitments and reveals"). The salt and payload stay with you.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    commitment: Option<Commitment>,
    /// `reveal`: `{"payload", "salt"}` opening the commitment named as the only parent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    reveal: Option<Reveal>,
    /// Leaf hashes of earlier records of this log that this one derives from.
    #[serde(default)]
    #[schema(value_type = Vec<openapi::Hash>)]
    parents: Vec<Hash>,
    /// Any JSON object (at most 4096 bytes canonical by default, nesting depth 8).
    #[serde(default)]
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    #[serde(default)]
    #[schema(value_type = Option<openapi::SourceSignature>)]
    signature: Option<SourceSignature>,
}

/// The `content` of a digest record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DigestContent {
    /// `rfc9162-sha256` (a Merkle tree hash over items) or `sha256` (one file).
    #[schema(value_type = String, pattern = "^(rfc9162-sha256|sha256)$")]
    alg: ContentAlg,
    #[schema(value_type = openapi::Hash)]
    root: Hash,
    /// Number of items (default 1).
    #[serde(default = "one")]
    #[schema(default = 1, minimum = 1)]
    items: u64,
    /// Media type of the data (default `application/octet-stream`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    media_type: Option<MediaType>,
}

fn one() -> u64 {
    1
}

impl Submission {
    /// A snapshot of JSON items as the NDJSON route takes it, the rest from its query and
    /// headers.
    pub(crate) fn snapshot(
        source: SourceId,
        items: Vec<Value>,
        parents: Vec<Hash>,
        signature: Option<SourceSignature>,
    ) -> Self {
        Submission {
            kind: Kind::Snapshot,
            source,
            payload: None,
            items: Some(items),
            items_base64: None,
            media_type: None,
            content: None,
            commitment: None,
            reveal: None,
            parents,
            metadata: Map::new(),
            signature,
        }
    }
}

/// A record ready to sequence, with what the response needs.
pub(crate) struct Built {
    pub(crate) new: NewRecord,
}

pub(crate) fn limits(state: &AppState) -> Limits {
    Limits {
        max_metadata_bytes: state.config.max_metadata_bytes,
        max_metadata_depth: state.config.max_metadata_depth,
        max_payload_depth: state.config.max_payload_depth,
    }
}

/// Refuses payloads and JSON items nested deeper than the configured limit.
fn check_depth(state: &AppState, s: &Submission) -> Result<(), ApiError> {
    let limit = state.config.max_payload_depth;
    let deepest = s
        .payload
        .iter()
        .chain(s.items.iter().flatten())
        .map(nesting_depth)
        .max()
        .unwrap_or(0);
    if deepest > limit {
        return Err(invalid(format!(
            "the payload or an item nests {deepest} levels deep; the limit is {limit}"
        )));
    }
    Ok(())
}

/// Who may write what, for one request: the caller's source binding, the registered sources'
/// policies, and the request signature.
pub(crate) struct WriteContext {
    policies: HashMap<String, Arc<SourcePolicy>>,
}

impl WriteContext {
    pub(crate) fn policy(&self, source: &SourceId) -> Option<&SourcePolicy> {
        self.policies.get(source.as_str()).map(Arc::as_ref)
    }
}

/// Checks the caller against the sources a request writes for: an ingest key writes only for
/// its own (registered) source; a signed request is verified (RFC 9421) against the source's
/// keys; a source that requires signatures gets nothing unsigned.
pub(crate) async fn write_context(
    state: &AppState,
    principal: &auth::Principal,
    request: (&HeaderMap, &Method, &Uri, &[u8]),
    sources: &[&SourceId],
) -> Result<WriteContext, ApiError> {
    let mut policies = HashMap::new();
    for source in sources {
        if policies.contains_key(source.as_str()) {
            continue;
        }
        if let Some(bound) = &principal.source {
            if bound != source.as_str() {
                return Err(ApiError::WrongSource {
                    bound: bound.clone(),
                    requested: source.to_string(),
                });
            }
        }
        match state.trust.sources.get(state, source.as_str()).await? {
            Some(p) => {
                policies.insert(source.to_string(), p);
            }
            // The bootstrap token writes for unregistered sources (a fresh deployment); a
            // key's source was registered when the key was made.
            None if principal.is_bootstrap() => {}
            None => {
                return Err(ApiError::UnknownSource(format!(
                    "source {source:?} is not registered"
                )))
            }
        }
    }
    let (headers, method, uri, body) = request;
    let signed = headers.contains_key("signature-input") || headers.contains_key("signature");
    let verified = if signed {
        let policy = match (policies.len(), policies.values().next()) {
            (1, Some(p)) if sources.iter().all(|s| s.as_str() == p.id) => p.clone(),
            _ => {
                return Err(ApiError::BadSignature(
                    "a signed request writes for exactly one registered source".into(),
                ))
            }
        };
        policy::verify_request(state, headers, method, uri, body, &policy).await?
    } else {
        None
    };
    if verified.is_none() {
        if let Some(p) = policies.values().find(|p| p.require_signature) {
            return Err(ApiError::SignatureRequired {
                source_id: p.id.clone(),
                reason: "sign the request (RFC 9421: Signature-Input, Signature, Content-Digest)"
                    .into(),
            });
        }
    }
    Ok(WriteContext { policies })
}

pub(crate) fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::InvalidRecord(e.to_string())
}

fn build_content(
    state: &AppState,
    s: &mut Submission,
    received_ms: i64,
) -> Result<(Content, Vec<Vec<u8>>), ApiError> {
    let max_items = state.config.max_snapshot_items;
    let statement = matches!(s.kind, Kind::Commitment | Kind::Reveal);
    if !statement && (s.commitment.is_some() || s.reveal.is_some()) {
        return Err(invalid(
            "`commitment` and `reveal` belong to records of kind commitment and reveal",
        ));
    }
    match s.kind {
        Kind::Source => Err(invalid(
            "records of kind source are written by the log itself, when a source's registration \
             changes (the admin API)",
        )),
        Kind::Close => Err(invalid(
            "records of kind close are written by the log itself, to end a track record",
        )),
        Kind::Commitment | Kind::Reveal => {
            if s.payload.is_some()
                || s.items.is_some()
                || s.items_base64.is_some()
                || s.content.is_some()
            {
                return Err(invalid(format!(
                    "a {} has only a `{}` (and parents, metadata, signature)",
                    s.kind, s.kind
                )));
            }
            let item = match (s.kind, s.commitment.take(), s.reveal.take()) {
                (Kind::Commitment, Some(c), None) => {
                    c.check_window().map_err(invalid)?;
                    if c.reveal_by.unix_millis() <= received_ms {
                        return Err(invalid("commitment.reveal_by has passed"));
                    }
                    c.to_item().map_err(invalid)?
                }
                (Kind::Reveal, None, Some(r)) => {
                    if nesting_depth(&r.payload) > state.config.max_payload_depth {
                        return Err(invalid("the revealed payload nests too deep"));
                    }
                    r.to_item().map_err(invalid)?
                }
                (kind, _, _) => return Err(invalid(format!("a {kind} needs exactly a `{kind}`"))),
            };
            check_item_sizes(state, std::slice::from_ref(&item))?;
            Ok((item_content(&item), vec![item]))
        }
        // The log keeps the payload (item 0): a track record carries it, for scores.
        Kind::Signal | Kind::Outcome => {
            let kind = s.kind;
            let payload = s.payload.take().ok_or_else(|| {
                invalid(format!("a record of kind {kind} needs a JSON `payload`"))
            })?;
            if s.items.is_some() || s.items_base64.is_some() || s.content.is_some() {
                return Err(invalid(format!(
                    "a record of kind {kind} has only a `payload`"
                )));
            }
            let (content, item) = signal_content(&payload).map_err(invalid)?;
            Ok((content, vec![item]))
        }
        Kind::Snapshot => {
            if s.payload.is_some() || s.content.is_some() {
                return Err(invalid("a snapshot has `items` or `items_base64`"));
            }
            match (s.items.take(), s.items_base64.take()) {
                (Some(items), None) => {
                    if items.len() > max_items {
                        return Err(invalid(format!(
                            "a snapshot holds at most {max_items} items"
                        )));
                    }
                    let (content, canonical) = snapshot_content_json(&items).map_err(invalid)?;
                    check_item_sizes(state, &canonical)?;
                    Ok((content, canonical))
                }
                (None, Some(encoded)) => {
                    if encoded.len() > max_items {
                        return Err(invalid(format!(
                            "a snapshot holds at most {max_items} items"
                        )));
                    }
                    let items = encoded
                        .iter()
                        .enumerate()
                        .map(|(i, e)| {
                            BASE64_STANDARD
                                .decode(e)
                                .map_err(|err| invalid(format!("items_base64[{i}]: {err}")))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    check_item_sizes(state, &items)?;
                    let media = s.media_type.take().unwrap_or_else(MediaType::octet_stream);
                    let content = snapshot_content_bytes(&items, media).map_err(invalid)?;
                    Ok((content, items))
                }
                _ => Err(invalid(
                    "a snapshot needs exactly one of `items` and `items_base64`",
                )),
            }
        }
        Kind::Digest => {
            if s.payload.is_some() || s.items.is_some() || s.items_base64.is_some() {
                return Err(invalid(
                    "a digest has only `content` (its data stays with you)",
                ));
            }
            let c = s
                .content
                .take()
                .ok_or_else(|| invalid("a digest needs `content`"))?;
            let media = c.media_type.unwrap_or_else(MediaType::octet_stream);
            Ok((
                digest_content(c.alg, c.root, c.items, media).map_err(invalid)?,
                vec![],
            ))
        }
    }
}

fn check_item_sizes(state: &AppState, items: &[Vec<u8>]) -> Result<(), ApiError> {
    let limit = state.config.max_item_bytes;
    match items.iter().position(|i| i.len() > limit) {
        Some(i) => Err(invalid(format!("item {i} is larger than {limit} bytes"))),
        None => Ok(()),
    }
}

/// Builds, validates and canonicalises one record.
pub(crate) fn build(
    state: &AppState,
    mut s: Submission,
    received_ms: i64,
    parents: Vec<u64>,
    policy: Option<&SourcePolicy>,
) -> Result<Built, ApiError> {
    check_depth(state, &s)?;
    let mut quality = vec![];
    if let Some(p) = policy {
        match &s.signature {
            None if p.require_signature => {
                return Err(ApiError::SignatureRequired {
                    source_id: p.id.clone(),
                    reason: "every record carries a `signature` by one of its keys".into(),
                })
            }
            Some(sig) if p.has_keys() => policy::check_record_signature(state, p, sig)?,
            _ => {}
        }
        if p.has_schema() {
            let errors = match (s.kind, &s.payload, &s.items) {
                (Kind::Signal, Some(payload), _) => Some(p.schema_errors(&[payload], false)),
                (Kind::Snapshot, _, Some(items)) => {
                    Some(p.schema_errors(&items.iter().collect::<Vec<_>>(), true))
                }
                _ => None,
            };
            if let Some(errors) = errors {
                if p.reject && !errors.is_empty() {
                    return Err(ApiError::SchemaViolation(errors));
                }
                quality.push(policy::schema_quality(&errors));
            }
        }
    }
    let (content, items) = build_content(state, &mut s, received_ms)?;
    let origin = LogOrigin::new(state.config.origin.clone())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let record = Record {
        content,
        kind: s.kind,
        metadata: s.metadata,
        origin,
        parents: s.parents,
        quality,
        received_at: Timestamp::from_unix_millis(received_ms)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        signature: s.signature,
        source: s.source,
        seq: None,
        prev: None,
        v: FormatVersion::V2,
    };
    record.validate_unsealed(&limits(state)).map_err(invalid)?;
    if record.signature.is_some() {
        record
            .verify_source_signature()
            .map_err(|e| invalid(format!("source signature: {e}")))?;
    }
    Ok(Built {
        new: NewRecord::new(&record, parents, items).map_err(invalid)?,
    })
}

/// For each reveal among `subs`: the commitment it opens (its one parent, a commitment of the
/// same source), once it is checked to open it at `received_ms`, within its window. Any reveal
/// that does not refuses the whole request. That the commitment was not revealed before, and
/// that the reveal's sealed time is still before `reveal_by`, the sequencing transaction checks
/// again.
pub(crate) async fn check_reveals(
    state: &AppState,
    subs: &[Submission],
    parents: &[Vec<u64>],
    received_ms: i64,
) -> Result<Vec<Option<Revealing>>, ApiError> {
    let at =
        Timestamp::from_unix_millis(received_ms).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut out = Vec::with_capacity(subs.len());
    for (s, parents) in subs.iter().zip(parents) {
        let Some(reveal) = s.reveal.as_ref().filter(|_| s.kind == Kind::Reveal) else {
            out.push(None);
            continue;
        };
        let [commitment] = parents.as_slice() else {
            return Err(invalid("a reveal names exactly one parent: its commitment"));
        };
        let not_one = || {
            ApiError::RevealRefused(
                RevealRefusal::NotACommitment,
                format!(
                    "record {commitment} is not a commitment of source {}",
                    s.source
                ),
            )
        };
        let record = state.store.record(*commitment).await?.ok_or_else(not_one)?;
        if record.kind != "commitment" || record.source != s.source.as_str() {
            return Err(not_one());
        }
        let items = state.store.items(*commitment).await?;
        let stated = items
            .first()
            .and_then(|item| Commitment::from_item(item).ok())
            .ok_or_else(|| {
                ApiError::Internal(format!("commitment {commitment} has no valid item"))
            })?;
        stated.check_reveal(reveal, at).map_err(|e| {
            let refusal = match e {
                RevealError::TooEarly { .. } | RevealError::TooLate { .. } => {
                    RevealRefusal::OutsideWindow
                }
                _ => RevealRefusal::DoesNotOpen,
            };
            ApiError::RevealRefused(refusal, format!("commitment {commitment}: {e}"))
        })?;
        out.push(Some(Revealing {
            commitment: *commitment,
            reveal_by_ms: stated.reveal_by.unix_millis(),
        }));
    }
    Ok(out)
}

/// Resolves every named parent to an index; any unknown parent refuses the whole request.
pub(crate) async fn resolve_parents(
    state: &AppState,
    subs: &[Submission],
) -> Result<Vec<Vec<u64>>, ApiError> {
    let wanted: Vec<Hash> = subs
        .iter()
        .flat_map(|s| s.parents.iter().copied())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if wanted.is_empty() {
        // Most submissions name no parents: no query for them.
        return Ok(subs.iter().map(|_| vec![]).collect());
    }
    let found = state.store.resolve_parents(&wanted).await?;
    let map: HashMap<Hash, u64> = wanted
        .iter()
        .zip(found)
        .filter_map(|(h, i)| i.map(|i| (*h, i)))
        .collect();
    subs.iter()
        .map(|s| {
            s.parents
                .iter()
                .map(|p| {
                    map.get(p).copied().ok_or_else(|| {
                        ApiError::UnknownParent(format!(
                            "parent {} is not a record of this log",
                            p.to_base64()
                        ))
                    })
                })
                .collect()
        })
        .collect()
}

pub(crate) fn idempotency_key(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<(String, Hash)>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 200 visible ASCII characters".into())
        })?;
    Ok(Some((key.to_string(), Hash::sha256(body))))
}
