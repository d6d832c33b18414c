//! Receipts, consistency proofs and server-side verification. Everything is built from stored
//! hashes through the core's plan/fetch/compute functions and verified before it is returned:
//! a failure is a 500, a metric and a loud log line, never a wrong proof.

use axum::body::Bytes;
use axum::extract::Path;
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_core::content::ContentTree;
use provlog_core::log::{self, FetchedNodes};
use provlog_core::receipt::{verify_receipt, ItemInclusion, Receipt, RECEIPT_FORMAT_V1};
use provlog_core::Hash;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_id, State, Q};
use crate::{ApiError, AppState};

/// Fetches the planned stored hashes in one query.
async fn fetch(state: &AppState, plan: &[u64]) -> Result<FetchedNodes, ApiError> {
    let hashes = state.store.read_nodes(plan).await?;
    Ok(FetchedNodes::new(plan.iter().copied().zip(hashes)))
}

fn self_check_failed(what: &str, e: impl std::fmt::Display) -> ApiError {
    metrics::counter!("provlog_proof_verification_failures_total", "what" => what.to_string())
        .increment(1);
    tracing::error!(what, error = %e, "a proof this server built does not verify; not serving it");
    ApiError::Internal(format!("self-verification of {what} failed: {e}"))
}

/// A receipt for record `index` (and snapshot row `item`) at the checkpoint of `size`, or the
/// latest checkpoint.
pub async fn build_receipt(
    state: &AppState,
    index: u64,
    item: Option<u64>,
    size: Option<u64>,
) -> Result<Receipt, ApiError> {
    let record = state
        .store
        .record(index)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no record {index}")))?;
    let checkpoint = match size {
        Some(size) => state
            .store
            .checkpoint(size)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no checkpoint of size {size}")))?,
        None => state.store.latest_checkpoint().await?.ok_or_else(|| {
            ApiError::NotYetIncluded("no checkpoint has been signed yet; retry in a moment".into())
        })?,
    };
    if checkpoint.size <= index {
        return Err(ApiError::NotYetIncluded(format!(
            "record {index} is not in the checkpoint of size {}; retry in a moment",
            checkpoint.size
        )));
    }
    let plan = log::inclusion_plan(index, checkpoint.size)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let proof = log::inclusion_proof(index, checkpoint.size, &fetch(state, &plan).await?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let item = match item {
        None => None,
        Some(n) => {
            if record.kind != "snapshot" {
                return Err(ApiError::BadRequest(format!(
                    "record {index} is a {}; only snapshots have items",
                    record.kind
                )));
            }
            let items = state.store.items(index).await?;
            let data = items
                .get(usize::try_from(n).unwrap_or(usize::MAX))
                .ok_or_else(|| {
                    ApiError::NotFound(format!(
                        "record {index} has {} items, no item {n}",
                        items.len()
                    ))
                })?;
            let tree =
                ContentTree::from_items(&items).map_err(|e| ApiError::Internal(e.to_string()))?;
            let proof = tree
                .item_proof(n)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Some(ItemInclusion {
                index: n,
                data: BASE64_STANDARD.encode(data),
                proof,
            })
        }
    };
    let receipt = Receipt {
        format: RECEIPT_FORMAT_V1.to_string(),
        record: String::from_utf8(record.leaf).map_err(|e| ApiError::Internal(e.to_string()))?,
        leaf_hash: record.leaf_hash,
        leaf_index: index,
        inclusion_proof: proof,
        checkpoint: checkpoint.note,
        item,
        anchor: None,
    };
    verify_receipt(&receipt, &state.trusted).map_err(|e| self_check_failed("receipt", e))?;
    metrics::counter!("provlog_receipts_served_total").increment(1);
    Ok(receipt)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReceiptQuery {
    item: Option<u64>,
    size: Option<u64>,
}

pub(crate) async fn receipt(
    state: State,
    Path(id): Path<String>,
    Q(q): Q<ReceiptQuery>,
) -> Result<Json<Receipt>, ApiError> {
    let index = parse_id(&id)?;
    Ok(Json(build_receipt(&state.0, index, q.item, q.size).await?))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ConsistencyQuery {
    from: u64,
    to: u64,
}

/// A consistency proof between two signed checkpoints, in the shape `provlog verify
/// consistency` reads (transparency-dev/merkle's test-data shape).
pub(crate) async fn consistency(
    state: State,
    Q(q): Q<ConsistencyQuery>,
) -> Result<Json<Value>, ApiError> {
    let state = state.0;
    if q.from > q.to {
        return Err(ApiError::BadRequest(format!(
            "from ({}) is larger than to ({})",
            q.from, q.to
        )));
    }
    let root_of = |size: u64| {
        let store = state.store.clone();
        async move {
            if size == 0 {
                return Ok(provlog_core::EMPTY_ROOT);
            }
            store
                .checkpoint(size)
                .await?
                .map(|c| c.root)
                .ok_or_else(|| ApiError::NotFound(format!("no checkpoint of size {size}")))
        }
    };
    let (root1, root2): (Hash, Hash) = (root_of(q.from).await?, root_of(q.to).await?);
    let plan =
        log::consistency_plan(q.from, q.to).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let proof = log::consistency_proof(q.from, q.to, &fetch(&state, &plan).await?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    log::verify_consistency(q.from, q.to, &root1, &root2, &proof)
        .map_err(|e| self_check_failed("consistency proof", e))?;
    Ok(Json(json!({
        "size1": q.from, "size2": q.to, "root1": root1, "root2": root2, "proof": proof,
    })))
}

/// Verifies a receipt for thin clients against this log's key, reporting each check.
pub(crate) async fn verify(state: State, body: Bytes) -> Result<Json<Value>, ApiError> {
    let receipt = Receipt::from_json(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(match verify_receipt(&receipt, &state.0.trusted) {
        Ok(v) => json!({
            "valid": true,
            "checks": {
                "format": "ok", "record": "ok", "record_hash": "ok", "checkpoint_signature": "ok",
                "origin": "ok", "inclusion": "ok",
                "item": if v.item.is_some() { "ok" } else { "absent" },
                "source_signature": if v.source_signature.is_some() { "ok" } else { "absent" },
                "anchor": if v.anchor.is_some() { "not checked" } else { "absent" },
            },
            "leaf_index": v.leaf_index,
            "tree_size": v.checkpoint.checkpoint.size,
            "root": v.checkpoint.checkpoint.root,
            "signed_by": v.checkpoint.signed_by,
        }),
        Err(e) => json!({ "valid": false, "error": e.to_string() }),
    }))
}
