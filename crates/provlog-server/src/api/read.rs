//! Record lookups, lineage, checkpoints and the log's description.
//!
//! Response members are declared in alphabetical order: the order these bodies have always had
//! on the wire (they began as `serde_json` maps, which sort their keys).

use std::sync::atomic::Ordering;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use provlog_core::record::{Kind, Timestamp};
use provlog_core::Hash;
use provlog_store::{LineageEdge, RecordFilter, StoredCheckpoint, StoredRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, IntoResponses, ToSchema};

use super::openapi;
use super::{parse_id, State, Q};
use crate::error::{Problem, ReadErrors, PROBLEM_JSON};
use crate::ApiError;

pub(crate) const MAX_PAGE: u32 = 1000;

/// A page size: `limit` when given, 1 to [`MAX_PAGE`], else 100.
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(100),
        Some(l) if (1..=MAX_PAGE).contains(&l) => Ok(l),
        Some(l) => Err(ApiError::BadRequest(format!(
            "limit={l}: a page holds 1 to {MAX_PAGE}"
        ))),
    }
}

pub(crate) fn time(ms: i64) -> String {
    Timestamp::from_unix_millis(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// A record as lookups list it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecordSummary {
    #[schema(value_type = openapi::Hash)]
    content_root: Hash,
    /// The record's id: its log index in decimal.
    #[schema(example = "42")]
    id: String,
    index: u64,
    #[schema(value_type = openapi::RecordKind)]
    kind: String,
    #[schema(value_type = openapi::Hash)]
    leaf_hash: Hash,
    /// When the log received it: `YYYY-MM-DDTHH:MM:SS.sssZ`.
    #[schema(format = DateTime)]
    received_at: String,
    source: String,
}

impl From<&StoredRecord> for RecordSummary {
    fn from(r: &StoredRecord) -> Self {
        RecordSummary {
            content_root: r.content_root,
            id: r.index.to_string(),
            index: r.index,
            kind: r.kind.clone(),
            leaf_hash: r.leaf_hash,
            received_at: time(r.received_ms),
            source: r.source.clone(),
        }
    }
}

/// One record: its summary's members, the record itself, its parents, and whether a signed
/// checkpoint covers it yet.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecordView {
    #[schema(value_type = openapi::Hash)]
    content_root: Hash,
    #[schema(example = "42")]
    id: String,
    /// Whether a signed checkpoint covers the record (its receipt is available).
    in_checkpoint: bool,
    index: u64,
    #[schema(value_type = openapi::RecordKind)]
    kind: String,
    #[schema(value_type = openapi::Hash)]
    leaf_hash: Hash,
    /// Ids of the records this one derives from.
    parents: Vec<String>,
    /// Who submitted it and what the log checked: source, signing key, signature status,
    /// quality results.
    provenance: Provenance,
    #[schema(format = DateTime)]
    received_at: String,
    /// The record as logged (see `docs/formats.md`, "Records").
    #[schema(value_type = Object)]
    record: Value,
    source: String,
}

/// A record's provenance, derived from the record itself (and so from its receipt) plus the
/// source's current key registry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Provenance {
    /// The signing key's id, when the record is signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    /// The signing key as the source's registry has it now: `active`, `retired` or
    /// `unregistered`; absent for unsigned records.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "active")]
    key_status: Option<&'static str>,
    /// The record's `quality` results (schema checks and the like).
    #[schema(value_type = Vec<Object>)]
    quality: Vec<provlog_core::record::QualityCheck>,
    /// `verified` (the source signature verifies over the record's statement), `invalid`, or
    /// `unsigned`.
    #[schema(example = "verified")]
    signature: &'static str,
    source: String,
}

async fn provenance(state: &crate::AppState, leaf: &[u8]) -> Result<Provenance, ApiError> {
    let record = provlog_core::record::Record::from_canonical_bytes(leaf)
        .map_err(|e| ApiError::Internal(format!("stored record: {e}")))?;
    let (signature, key_id, key_status) = match &record.signature {
        None => ("unsigned", None, None),
        Some(sig) => {
            let verified = record.verify_source_signature().is_ok();
            let standing = match state
                .trust
                .sources
                .get(state, record.source.as_str())
                .await?
            {
                Some(p) => match p.standing(sig.key_id.as_str(), &sig.public_key) {
                    crate::policy::KeyStanding::Active => "active",
                    crate::policy::KeyStanding::Retired => "retired",
                    crate::policy::KeyStanding::Unregistered => "unregistered",
                },
                None => "unregistered",
            };
            (
                if verified { "verified" } else { "invalid" },
                Some(sig.key_id.to_string()),
                Some(standing),
            )
        }
    };
    Ok(Provenance {
        key_id,
        key_status,
        quality: record.quality,
        signature,
        source: record.source.to_string(),
    })
}

/// A record and its lineage.
#[utoipa::path(
    get,
    path = "/v1/records/{id}",
    tag = "records",
    security((), ("bearer" = ["read"])),
    params(("id" = String, Path, description = "The record's id: its log index in decimal", example = "42")),
    responses(
        (status = 200, description = "The record", body = RecordView),
        (status = 404, description = "No such record (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn record(
    state: State,
    Path(id): Path<String>,
) -> Result<Json<RecordView>, ApiError> {
    let index = parse_id(&id)?;
    let r = state
        .store
        .record(index)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no record {index}")))?;
    let record: Value = serde_json::from_slice(&r.leaf)
        .map_err(|e| ApiError::Internal(format!("stored record {index}: {e}")))?;
    let parents = state.store.parents(index).await?;
    let in_checkpoint = *state.checkpoint_size.borrow() > index;
    let provenance = provenance(&state, &r.leaf).await?;
    Ok(Json(RecordView {
        content_root: r.content_root,
        id: r.index.to_string(),
        in_checkpoint,
        index: r.index,
        kind: r.kind,
        leaf_hash: r.leaf_hash,
        parents: parents.iter().map(|p| p.to_string()).collect(),
        provenance,
        received_at: time(r.received_ms),
        record,
        source: r.source,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FindQuery {
    /// Records with this content root: base64 or 64 hex digits.
    content_root: Option<String>,
    /// The record with this leaf hash: base64 or 64 hex digits.
    leaf_hash: Option<String>,
    /// Records of this source (its registry records included).
    source: Option<String>,
    /// Records of this kind: `signal`, `snapshot`, `digest` or `source` (registry records).
    #[param(value_type = Option<openapi::RecordKind>)]
    kind: Option<Kind>,
    /// Received at or after (`YYYY-MM-DDTHH:MM:SS.sssZ`, UTC).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-27T00:00:00.000Z")]
    since: Option<Timestamp>,
    /// Received before (`YYYY-MM-DDTHH:MM:SS.sssZ`, UTC).
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<Timestamp>,
    /// Cursor: the previous page's `next`; records after this index.
    after: Option<u64>,
    /// Records per page: 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// One page of records, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecordPage {
    /// The `after` of the following page; null on the last page.
    #[schema(required = true)]
    next: Option<u64>,
    records: Vec<RecordSummary>,
}

/// Looks records up; all given criteria must match.
#[utoipa::path(
    get,
    path = "/v1/records",
    tag = "records",
    security((), ("bearer" = ["read"])),
    params(FindQuery),
    responses(
        (status = 200, description = "A page of matching records", body = RecordPage),
        (status = 400, description = "A malformed query parameter (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn find(state: State, Q(q): Q<FindQuery>) -> Result<Json<RecordPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let hash = |name: &str, v: Option<String>| {
        v.map(|v| {
            v.parse::<Hash>()
                .map_err(|e| ApiError::BadRequest(format!("{name}: {e}")))
        })
        .transpose()
    };
    let filter = RecordFilter {
        content_root: hash("content_root", q.content_root)?,
        leaf_hash: hash("leaf_hash", q.leaf_hash)?,
        source: q.source,
        kind: q.kind.map(|k| k.as_str().to_string()),
        since_ms: q.since.map(|t| t.unix_millis()),
        until_ms: q.until.map(|t| t.unix_millis()),
        after: q.after,
        limit,
    };
    let records = state.store.find_records(&filter).await?;
    let next = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.index))
        .flatten();
    Ok(Json(RecordPage {
        next,
        records: records.iter().map(RecordSummary::from).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ItemQuery {
    /// The item's RFC 9162 leaf hash, SHA-256(0x00 || its leaf data — for a JSON row, its RFC
    /// 8785 form): base64 or 64 hex digits.
    leaf_hash: String,
    /// Cursor: the previous page's `next`; items of records after this index.
    after: Option<u64>,
    /// Items per page: 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Where an item is: a record and the item's index in its content tree.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemLocation {
    /// The record's id; `GET /v1/records/{id}/receipt?item={item}` proves the item.
    record: String,
    item: u64,
    /// The record's source.
    source: String,
}

/// One page of item locations, oldest record first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemPage {
    /// The `after` of the following page; null on the last page.
    #[schema(required = true)]
    next: Option<u64>,
    items: Vec<ItemLocation>,
}

/// Finds the snapshot rows (and registry events) with a leaf hash: from one row a consumer
/// received to the records that hold it.
#[utoipa::path(
    get,
    path = "/v1/items",
    tag = "records",
    security((), ("bearer" = ["read"])),
    params(ItemQuery),
    responses(
        (status = 200, description = "A page of the items with that leaf hash", body = ItemPage),
        (status = 400, description = "A malformed query parameter (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn items(state: State, Q(q): Q<ItemQuery>) -> Result<Json<ItemPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let leaf_hash = q
        .leaf_hash
        .parse::<Hash>()
        .map_err(|e| ApiError::BadRequest(format!("leaf_hash: {e}")))?;
    let mut found = state
        .store
        .items_with_leaf_hash(&leaf_hash, q.after, limit)
        .await?;
    // A page ends at a record: the cursor is a record index, so the last record's items go to
    // the next page unless they fill this one.
    let mut next = None;
    if let (true, Some(&(last, ..))) = (found.len() == limit as usize, found.last()) {
        if found.iter().any(|(record, ..)| *record != last) {
            found.retain(|(record, ..)| *record != last);
        }
        next = found.last().map(|(record, ..)| *record);
    }
    Ok(Json(ItemPage {
        next,
        items: found
            .into_iter()
            .map(|(record, item, source)| ItemLocation {
                record: record.to_string(),
                item,
                source,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LineageQuery {
    /// How many generations to walk each way: 1 to 64, default 8.
    depth: Option<u32>,
}

/// A record's ancestors and descendants, each list capped at 1000 edges.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Lineage {
    ancestors: Vec<Edge>,
    /// The depth walked.
    depth: u32,
    descendants: Vec<Edge>,
    /// The record's id.
    id: String,
}

/// `child` names `parent` as a parent, `depth` generations from the record asked about.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Edge {
    child: String,
    depth: u32,
    parent: String,
}

impl From<&LineageEdge> for Edge {
    fn from(e: &LineageEdge) -> Self {
        Edge {
            child: e.child.to_string(),
            depth: e.depth,
            parent: e.parent.to_string(),
        }
    }
}

/// Walks a record's lineage both ways.
#[utoipa::path(
    get,
    path = "/v1/records/{id}/lineage",
    tag = "records",
    security((), ("bearer" = ["read"])),
    params(("id" = String, Path, description = "The record's id: its log index in decimal", example = "42"), LineageQuery),
    responses(
        (status = 200, description = "The record's ancestors and descendants", body = Lineage),
        (status = 400, description = "A malformed query parameter (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such record (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn lineage(
    state: State,
    Path(id): Path<String>,
    Q(q): Q<LineageQuery>,
) -> Result<Json<Lineage>, ApiError> {
    let index = parse_id(&id)?;
    if state.store.record(index).await?.is_none() {
        return Err(ApiError::NotFound(format!("no record {index}")));
    }
    let depth = q.depth.unwrap_or(8).clamp(1, 64);
    let l = state.store.lineage(index, depth, MAX_PAGE).await?;
    Ok(Json(Lineage {
        ancestors: l.ancestors.iter().map(Edge::from).collect(),
        depth,
        descendants: l.descendants.iter().map(Edge::from).collect(),
        id: index.to_string(),
    }))
}

/// What both checkpoint routes answer besides [`ReadErrors`].
#[derive(IntoResponses)]
#[expect(
    dead_code,
    reason = "describes the answers for the OpenAPI document only"
)]
enum LatestCheckpoint {
    /// The latest checkpoint: a C2SP signed note (`Cache-Control: no-cache`)
    #[response(status = 200, content_type = "text/plain; charset=utf-8")]
    Note(String),
    /// No checkpoint has been signed yet (`not-found`)
    #[response(status = 404, content_type = PROBLEM_JSON)]
    NotYet(Problem),
}

/// The latest signed checkpoint as a C2SP signed note (`text/plain`).
#[utoipa::path(
    get,
    path = "/v1/checkpoint",
    tag = "checkpoints",
    security((), ("bearer" = ["read"])),
    responses(LatestCheckpoint, ReadErrors)
)]
pub(crate) async fn latest_checkpoint(state: State) -> Result<Response, ApiError> {
    let cp = state
        .store
        .latest_checkpoint()
        .await?
        .ok_or_else(|| ApiError::NotFound("no checkpoint has been signed yet".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        cp.note,
    )
        .into_response())
}

/// The latest signed checkpoint at the path C2SP tlog-tiles clients read.
#[utoipa::path(
    get,
    path = "/checkpoint",
    tag = "tlog-tiles",
    security((), ("bearer" = ["read"])),
    responses(LatestCheckpoint, ReadErrors)
)]
pub(crate) async fn c2sp_checkpoint(state: State) -> Result<Response, ApiError> {
    latest_checkpoint(state).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CheckpointsQuery {
    /// Cursor: the previous page's `next`; checkpoints smaller than this size.
    before: Option<u64>,
    /// Checkpoints per page: 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// One page of checkpoints, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckpointPage {
    checkpoints: Vec<CheckpointEntry>,
    /// The `before` of the following page; null on the last page.
    #[schema(required = true)]
    next: Option<u64>,
}

/// A stored signed checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckpointEntry {
    #[schema(format = DateTime)]
    created_at: String,
    /// The C2SP signed note.
    note: String,
    #[schema(value_type = openapi::Hash)]
    root: Hash,
    size: u64,
}

impl From<&StoredCheckpoint> for CheckpointEntry {
    fn from(c: &StoredCheckpoint) -> Self {
        CheckpointEntry {
            created_at: time(c.created_ms),
            note: c.note.clone(),
            root: c.root,
            size: c.size,
        }
    }
}

/// Lists signed checkpoints.
#[utoipa::path(
    get,
    path = "/v1/checkpoints",
    tag = "checkpoints",
    security((), ("bearer" = ["read"])),
    params(CheckpointsQuery),
    responses(
        (status = 200, description = "A page of checkpoints", body = CheckpointPage),
        (status = 400, description = "A malformed query parameter (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn checkpoints(
    state: State,
    Q(q): Q<CheckpointsQuery>,
) -> Result<Json<CheckpointPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let list = state.store.checkpoints(q.before, limit).await?;
    let next = (list.len() == limit as usize)
        .then(|| list.last().map(|c| c.size))
        .flatten();
    Ok(Json(CheckpointPage {
        checkpoints: list.iter().map(CheckpointEntry::from).collect(),
        next,
    }))
}

/// The log's identity and progress, as this replica sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LogInfo {
    /// Size of the latest signed checkpoint (0 before the first).
    checkpoint_size: u64,
    /// Records whose hashes are in the tree.
    integrated_size: u64,
    /// The replica holding the leader lease, if any.
    #[schema(required = true)]
    leader: Option<String>,
    /// The log's origin: the first line of its checkpoints.
    origin: String,
    /// Records sequenced but not yet integrated, as this replica last saw.
    pending: u64,
    /// This replica's name.
    replica: String,
    /// The log size this replica last saw.
    sequenced_seen: u64,
    /// Records sequenced.
    size: u64,
    /// The checkpoint verifier key (`name+hexid+base64`), for `provlog verify receipt --key`.
    verifier_key: String,
}

/// Describes the log.
#[utoipa::path(
    get,
    path = "/v1/log",
    tag = "checkpoints",
    security((), ("bearer" = ["read"])),
    responses(
        (status = 200, description = "The log's origin, key and sizes", body = LogInfo),
        ReadErrors,
    )
)]
pub(crate) async fn log_info(state: State) -> Result<Json<LogInfo>, ApiError> {
    let sizes = state.store.sizes().await?;
    let checkpoint = state.store.latest_checkpoint().await?;
    Ok(Json(LogInfo {
        checkpoint_size: checkpoint.as_ref().map(|c| c.size).unwrap_or(0),
        integrated_size: sizes.integrated,
        leader: state
            .store
            .lease_holder(provlog_store::LEADER_LEASE)
            .await?,
        origin: state.config.origin.clone(),
        pending: state.pending(),
        replica: state.replica.clone(),
        sequenced_seen: state.sequenced.load(Ordering::Relaxed),
        size: sizes.sequenced,
        verifier_key: state.signer.verifier_key().to_string(),
    }))
}
