//! Record lookups, lineage, checkpoints and the log's description.

use std::sync::atomic::Ordering;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use provlog_core::record::Timestamp;
use provlog_core::Hash;
use provlog_store::{RecordFilter, StoredRecord};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_id, State, Q};
use crate::ApiError;

const MAX_PAGE: u32 = 1000;

fn time(ms: i64) -> String {
    Timestamp::from_unix_millis(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn summary(r: &StoredRecord) -> Value {
    json!({
        "id": r.index.to_string(),
        "index": r.index,
        "leaf_hash": r.leaf_hash,
        "content_root": r.content_root,
        "source": r.source,
        "kind": r.kind,
        "received_at": time(r.received_ms),
    })
}

pub(crate) async fn record(state: State, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let index = parse_id(&id)?;
    let r = state
        .store
        .record(index)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no record {index}")))?;
    let record: Value = serde_json::from_slice(&r.leaf)
        .map_err(|e| ApiError::Internal(format!("stored record {index}: {e}")))?;
    let parents = state.store.parents(index).await?;
    let checkpointed = *state.checkpoint_size.borrow() > index;
    let mut out = summary(&r);
    out["record"] = record;
    out["parents"] = json!(parents.iter().map(|p| p.to_string()).collect::<Vec<_>>());
    out["in_checkpoint"] = json!(checkpointed);
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
pub(crate) struct FindQuery {
    /// Hex or base64.
    content_root: Option<String>,
    /// Hex or base64.
    leaf_hash: Option<String>,
    source: Option<String>,
    /// RFC 3339 (`2026-11-27T00:00:00.000Z`), inclusive.
    since: Option<Timestamp>,
    /// RFC 3339, exclusive.
    until: Option<Timestamp>,
    /// Cursor from the previous page's `next`.
    after: Option<u64>,
    limit: Option<u32>,
}

pub(crate) async fn find(state: State, Q(q): Q<FindQuery>) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
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
        since_ms: q.since.map(|t| t.unix_millis()),
        until_ms: q.until.map(|t| t.unix_millis()),
        after: q.after,
        limit,
    };
    let records = state.store.find_records(&filter).await?;
    let next = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.index))
        .flatten();
    Ok(Json(json!({
        "records": records.iter().map(summary).collect::<Vec<_>>(),
        "next": next,
    })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LineageQuery {
    depth: Option<u32>,
}

pub(crate) async fn lineage(
    state: State,
    Path(id): Path<String>,
    Q(q): Q<LineageQuery>,
) -> Result<Json<Value>, ApiError> {
    let index = parse_id(&id)?;
    if state.store.record(index).await?.is_none() {
        return Err(ApiError::NotFound(format!("no record {index}")));
    }
    let depth = q.depth.unwrap_or(8).clamp(1, 64);
    let l = state.store.lineage(index, depth, MAX_PAGE).await?;
    let edges = |e: &[provlog_store::LineageEdge]| {
        e.iter()
            .map(|e| json!({"child": e.child.to_string(), "parent": e.parent.to_string(), "depth": e.depth}))
            .collect::<Vec<_>>()
    };
    Ok(Json(json!({
        "id": index.to_string(),
        "depth": depth,
        "ancestors": edges(&l.ancestors),
        "descendants": edges(&l.descendants),
    })))
}

/// The latest signed checkpoint as a C2SP signed note (`text/plain`).
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

#[derive(Debug, Deserialize)]
pub(crate) struct CheckpointsQuery {
    before: Option<u64>,
    limit: Option<u32>,
}

pub(crate) async fn checkpoints(
    state: State,
    Q(q): Q<CheckpointsQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let list = state.store.checkpoints(q.before, limit).await?;
    let next = (list.len() == limit as usize)
        .then(|| list.last().map(|c| c.size))
        .flatten();
    Ok(Json(json!({
        "checkpoints": list.iter().map(|c| json!({
            "size": c.size, "root": c.root, "note": c.note, "created_at": time(c.created_ms),
        })).collect::<Vec<_>>(),
        "next": next,
    })))
}

pub(crate) async fn log_info(state: State) -> Result<Json<Value>, ApiError> {
    let sizes = state.store.sizes().await?;
    let checkpoint = state.store.latest_checkpoint().await?;
    Ok(Json(json!({
        "origin": state.config.origin,
        "verifier_key": state.signer.verifier_key().to_string(),
        "size": sizes.sequenced,
        "integrated_size": sizes.integrated,
        "checkpoint_size": checkpoint.as_ref().map(|c| c.size).unwrap_or(0),
        "leader": state.store.lease_holder(provlog_store::LEADER_LEASE).await?,
        "pending": state.pending(),
        "replica": state.replica,
        "sequenced_seen": state.sequenced.load(Ordering::Relaxed),
    })))
}
