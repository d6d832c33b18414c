//! Receipts, consistency proofs and server-side verification. Everything is built from stored
//! hashes through the core's plan/fetch/compute functions and verified before it is returned:
//! a failure is a 500, a metric and a loud log line, never a wrong proof.

use axum::body::{to_bytes, Body};
use axum::extract::Path;
use axum::response::IntoResponse;
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_core::content::ContentTree;
use provlog_core::evidence::{verify_source_evidence, SourceEvidence, SOURCE_EVIDENCE_FORMAT_V1};
use provlog_core::log::{self, FetchedNodes};
use provlog_core::receipt::{
    verify_receipt, ItemInclusion, Receipt, VerifiedReceipt, RECEIPT_FORMAT_V1,
};
use provlog_core::record::{KeyId, Record};
use provlog_core::registry::SourceHistory;
use provlog_core::Hash;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi;
use super::{parse_id, State, Q};
use crate::error::{Problem, ReadErrors, PROBLEM_JSON};
use crate::{ApiError, AppState};

/// Fetches the planned stored hashes in one query.
async fn fetch(state: &AppState, plan: &[u64]) -> Result<FetchedNodes, ApiError> {
    let hashes = state.store.read_nodes(plan).await?;
    Ok(FetchedNodes::new(plan.iter().copied().zip(hashes)))
}

pub(crate) fn self_check_failed(what: &str, e: impl std::fmt::Display) -> ApiError {
    metrics::counter!("provlog_proof_verification_failures_total", "what" => what.to_string())
        .increment(1);
    tracing::error!(what, error = %e, "a proof this server built does not verify; not serving it");
    ApiError::Internal(format!("self-verification of {what} failed: {e}"))
}

/// A receipt for record `index` (and snapshot row `item`) at the checkpoint of `size`; without
/// `size`, at the smallest confirmed anchor that covers the record (with the anchor in the
/// receipt) or, when none does yet, at the latest checkpoint.
pub async fn build_receipt(
    state: &AppState,
    index: u64,
    item: Option<u64>,
    size: Option<u64>,
) -> Result<Receipt, ApiError> {
    let anchor = match &state.anchoring {
        None => None,
        Some(a) => match size {
            Some(size) => state.store.confirmed_anchor_at(&a.target, size).await?,
            None => state.store.anchor_covering(&a.target, index).await?,
        }
        .and_then(|row| a.anchor_ref(&row)),
    };
    let size = size.or(anchor.as_ref().map(|a| a.tree_size));
    // The record and the checkpoint are independent reads: one round trip, not two.
    let checkpoint = async {
        match size {
            Some(size) => state
                .store
                .checkpoint(size)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(|| ApiError::NotFound(format!("no checkpoint of size {size}"))),
            None => state
                .store
                .latest_checkpoint()
                .await
                .map_err(ApiError::from)?
                .ok_or_else(|| {
                    ApiError::NotYetIncluded(
                        "no checkpoint has been signed yet; retry in a moment".into(),
                    )
                }),
        }
    };
    let record = async {
        state
            .store
            .record(index)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("no record {index}")))
    };
    let (record, checkpoint) = tokio::join!(record, checkpoint);
    // An unknown record is a 404 whether or not a checkpoint exists.
    let (record, checkpoint) = (record?, checkpoint?);
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
            if record.kind != "snapshot" && record.kind != "source" {
                return Err(ApiError::BadRequest(format!(
                    "record {index} is a {}; only snapshots (and registry records) have items",
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
        anchor,
    };
    state
        .receipts
        .verify(&receipt)
        .map_err(|e| self_check_failed("receipt", e))?;
    metrics::counter!("provlog_receipts_served_total").increment(1);
    Ok(receipt)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReceiptQuery {
    /// For a snapshot: also prove this item (0-based).
    item: Option<u64>,
    /// Prove inclusion at the signed checkpoint of this size (with its anchor, if confirmed).
    /// Without it: the smallest confirmed anchor covering the record, else the latest checkpoint.
    size: Option<u64>,
}

/// Response header of a receipt: `true` when the receipt carries a confirmed on-chain anchor.
pub const ANCHORED_HEADER: &str = "provlog-anchored";

/// A receipt for a record: offline-verifiable evidence that it is in the log. When the log
/// anchors its checkpoints on a chain, the receipt is built at the smallest confirmed anchor that
/// covers the record and carries it (`Provlog-Anchored: true`); until one does, it is built at the
/// latest checkpoint without an anchor (`Provlog-Anchored: false`).
#[utoipa::path(
    get,
    path = "/v1/records/{id}/receipt",
    tag = "proofs",
    security((), ("bearer" = ["read"])),
    params(("id" = String, Path, description = "The record's id: its log index in decimal", example = "42"), ReceiptQuery),
    responses(
        (status = 200, description = "The receipt, verified by the server before it is sent", body = openapi::Receipt,
            headers(("provlog-anchored" = bool, description = "Whether the receipt carries a confirmed on-chain anchor"))),
        (status = 400, description = "A malformed query parameter, or `item` for a record that is not a snapshot (`bad-request`)",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such record, item or checkpoint size (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "No signed checkpoint covers the record yet; retry shortly (`not-yet-included`)",
            body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn receipt(
    state: State,
    Path(id): Path<String>,
    Q(q): Q<ReceiptQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let index = parse_id(&id)?;
    let receipt = build_receipt(&state.0, index, q.item, q.size).await?;
    let anchored = if receipt.anchor.is_some() {
        "true"
    } else {
        "false"
    };
    Ok(([(ANCHORED_HEADER, anchored)], Json(receipt)))
}

/// A record's receipt and the evidence that its signing key was its source's.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Evidence {
    #[schema(value_type = openapi::Receipt)]
    receipt: Receipt,
    /// The receipts of the registry records that added the record's signing key and, if one is
    /// in the checkpoint, retired it, at the receipt's checkpoint (`docs/formats.md`, "Source-key
    /// evidence"). Null when the record is unsigned, or when no registry record adds its key —
    /// which a verifier reports as the key not being the source's.
    #[schema(value_type = Option<openapi::SourceEvidence>, required = true)]
    source_evidence: Option<SourceEvidence>,
}

/// The source-key evidence for the record `verified` proves, at its checkpoint.
async fn source_evidence(
    state: &AppState,
    verified: &VerifiedReceipt,
) -> Result<Option<SourceEvidence>, ApiError> {
    let Some(signature) = &verified.source_signature else {
        return Ok(None);
    };
    let size = verified.checkpoint.checkpoint.size;
    match registry_history(state, verified.record.source.as_str(), size).await? {
        Some(history) => key_evidence(state, &history, &signature.key_id, size).await,
        None => Ok(None),
    }
}

/// The source's history as its registry records in the checkpoint of `size` state it.
pub(crate) async fn registry_history(
    state: &AppState,
    source: &str,
    size: u64,
) -> Result<Option<SourceHistory>, ApiError> {
    let corrupt = |e: &dyn std::fmt::Display| {
        ApiError::Internal(format!("the registry records of {source}: {e}"))
    };
    let rows = state.store.registry(Some(source)).await?;
    let rows: Vec<_> = rows.iter().filter(|r| r.index < size).collect();
    let records = rows
        .iter()
        .map(|r| Record::from_canonical_bytes(&r.leaf))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(&e))?;
    SourceHistory::fold(
        rows.iter()
            .zip(&records)
            .map(|(row, record)| (row.index, record, row.item.as_slice())),
    )
    .map_err(|e| corrupt(&e))
}

/// The evidence for `key_id` in `history`, at the checkpoint of `size`; `None` when no registry
/// record adds the key.
pub(crate) async fn key_evidence(
    state: &AppState,
    history: &SourceHistory,
    key_id: &KeyId,
    size: u64,
) -> Result<Option<SourceEvidence>, ApiError> {
    let Some(key) = history.keys.iter().find(|k| &k.key_id == key_id) else {
        return Ok(None);
    };
    let key_retired = match key.retired {
        Some(r) => Some(build_receipt(state, r.leaf_index, Some(0), Some(size)).await?),
        None => None,
    };
    Ok(Some(SourceEvidence {
        format: SOURCE_EVIDENCE_FORMAT_V1.to_string(),
        key_added: build_receipt(state, key.added.leaf_index, Some(0), Some(size)).await?,
        key_retired,
    }))
}

/// A record's receipt with the evidence that the key that signed it was its source's: the
/// receipts of the registry records that added and (if so) retired the key, at the same
/// checkpoint, so one checkpoint signature covers all of them. `provlog verify payload` and
/// `provlog_core::evidence::verify_source_evidence` check it offline.
#[utoipa::path(
    get,
    path = "/v1/records/{id}/evidence",
    tag = "proofs",
    security((), ("bearer" = ["read"])),
    params(("id" = String, Path, description = "The record's id: its log index in decimal", example = "42"), ReceiptQuery),
    responses(
        (status = 200, description = "The receipt and the source-key evidence, verified by the server before they are sent", body = Evidence),
        (status = 400, description = "A malformed query parameter, or `item` for a record without items (`bad-request`)",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such record, item or checkpoint size (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "No signed checkpoint covers the record yet; retry shortly (`not-yet-included`)",
            body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn evidence(
    state: State,
    Path(id): Path<String>,
    Q(q): Q<ReceiptQuery>,
) -> Result<Json<Evidence>, ApiError> {
    let state = state.0;
    let index = parse_id(&id)?;
    let receipt = build_receipt(&state, index, q.item, q.size).await?;
    let verified = state
        .receipts
        .verify(&receipt)
        .map_err(|e| self_check_failed("receipt", e))?;
    let source_evidence = source_evidence(&state, &verified).await?;
    if verified.source_signature.is_some() {
        // The receipts in it were verified as they were built; whether they show the key was the
        // source's is the consumer's verdict to reach, and served either way. A record whose key
        // the registry does not bear out means the key tables changed outside the registry:
        // the operator hears of it.
        if let Err(e) = verify_source_evidence(
            &verified,
            source_evidence.as_ref(),
            state.receipts.trusted(),
        ) {
            metrics::counter!("provlog_source_evidence_failures_total", "check" => e.check())
                .increment(1);
            tracing::warn!(record = index, error = %e, "a record's signing key is not borne out by the source registry");
        }
    }
    Ok(Json(Evidence {
        receipt,
        source_evidence,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// Size of the older checkpoint (0 for the empty tree).
    from: u64,
    /// Size of the newer checkpoint.
    to: u64,
}

/// A consistency proof between two signed checkpoints, in the shape `provlog verify
/// consistency` reads (transparency-dev/merkle's test-data shape).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsistencyProof {
    #[schema(value_type = Vec<openapi::Hash>)]
    proof: Vec<Hash>,
    #[schema(value_type = openapi::Hash)]
    root1: Hash,
    #[schema(value_type = openapi::Hash)]
    root2: Hash,
    size1: u64,
    size2: u64,
}

/// Proves that the checkpoint of size `to` extends the one of size `from`.
#[utoipa::path(
    get,
    path = "/v1/proofs/consistency",
    tag = "proofs",
    security((), ("bearer" = ["read"])),
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof, verified by the server before it is sent", body = ConsistencyProof),
        (status = 400, description = "Missing or malformed `from` or `to`, or `from` > `to` (`bad-request`)",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No signed checkpoint of one of the sizes (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn consistency(
    state: State,
    Q(q): Q<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let state = state.0;
    if q.from > q.to {
        return Err(ApiError::BadRequest(format!(
            "from ({}) is larger than to ({})",
            q.from, q.to
        )));
    }
    // Any two sizes within the latest signed tree: a client proves the checkpoints it holds,
    // whether or not they are the ones this log still lists.
    let signed = state
        .store
        .latest_checkpoint()
        .await?
        .map(|c| c.size)
        .unwrap_or(0);
    if q.to > signed {
        return Err(ApiError::NotFound(format!(
            "size {} is beyond the latest checkpoint ({signed})",
            q.to
        )));
    }
    let root_of = |size: u64| {
        let state = &state;
        async move {
            if size == 0 {
                return Ok(provlog_core::EMPTY_ROOT);
            }
            let plan = log::root_plan(size).map_err(|e| ApiError::Internal(e.to_string()))?;
            log::tree_root(size, &fetch(state, &plan).await?)
                .map_err(|e| ApiError::Internal(e.to_string()))
        }
    };
    let (root1, root2): (Hash, Hash) = (root_of(q.from).await?, root_of(q.to).await?);
    let plan =
        log::consistency_plan(q.from, q.to).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let proof = log::consistency_proof(q.from, q.to, &fetch(&state, &plan).await?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    log::verify_consistency(q.from, q.to, &root1, &root2, &proof)
        .map_err(|e| self_check_failed("consistency proof", e))?;
    Ok(Json(ConsistencyProof {
        proof,
        root1,
        root2,
        size1: q.from,
        size2: q.to,
    }))
}

/// The outcome of one check of a receipt.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) enum Check {
    #[serde(rename = "ok")]
    Ok,
    /// The receipt has no such part.
    #[serde(rename = "absent")]
    Absent,
    /// Present, but not checkable here (an on-chain anchor).
    #[serde(rename = "not checked")]
    NotChecked,
}

impl Check {
    fn present<T>(part: &Option<T>, when_present: Check) -> Check {
        if part.is_some() {
            when_present
        } else {
            Check::Absent
        }
    }
}

/// Each check of a valid receipt (see `docs/formats.md`, "Verification").
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Checks {
    anchor: Check,
    checkpoint_signature: Check,
    format: Check,
    inclusion: Check,
    item: Check,
    origin: Check,
    record: Check,
    record_hash: Check,
    source_signature: Check,
}

/// A receipt's verification against this log's key: `valid`, then either the checks and what
/// they established, or the first check that failed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerifyReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<Checks>,
    /// Why the receipt is invalid (when it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    leaf_index: Option<u64>,
    /// The checkpoint's root.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<openapi::Hash>)]
    root: Option<Hash>,
    /// `name+hexid` of each trusted key that signed the checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_by: Option<Vec<String>>,
    /// The checkpoint's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    tree_size: Option<u64>,
    valid: bool,
}

/// Verifies a receipt for thin clients against this log's key, reporting each check.
#[utoipa::path(
    post,
    path = "/v1/verify",
    tag = "proofs",
    security((), ("bearer" = ["read"])),
    request_body(content = openapi::Receipt, description = "A receipt, as `GET /v1/records/{id}/receipt` returns it"),
    responses(
        (status = 200, description = "The verdict: an invalid receipt is a 200 with `valid: false`", body = VerifyReport,
            example = json!({"error": "inclusion proof: ...", "valid": false})),
        (status = 400, description = "The body is not a receipt (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is larger than a receipt can be (`body-too-large`)", body = Problem, content_type = PROBLEM_JSON),
    )
)]
pub(crate) async fn verify(state: State, body: Body) -> Result<Json<VerifyReport>, ApiError> {
    let limit = provlog_core::receipt::MAX_RECEIPT_BYTES;
    let body = to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit })?;
    let receipt = Receipt::from_json(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(match verify_receipt(&receipt, &state.0.trusted) {
        Ok(v) => VerifyReport {
            checks: Some(Checks {
                anchor: Check::present(&v.anchor, Check::NotChecked),
                checkpoint_signature: Check::Ok,
                format: Check::Ok,
                inclusion: Check::Ok,
                item: Check::present(&v.item, Check::Ok),
                origin: Check::Ok,
                record: Check::Ok,
                record_hash: Check::Ok,
                source_signature: Check::present(&v.source_signature, Check::Ok),
            }),
            error: None,
            leaf_index: Some(v.leaf_index),
            root: Some(v.checkpoint.checkpoint.root),
            signed_by: Some(v.checkpoint.signed_by),
            tree_size: Some(v.checkpoint.checkpoint.size),
            valid: true,
        },
        Err(e) => VerifyReport {
            checks: None,
            error: Some(e.to_string()),
            leaf_index: None,
            root: None,
            signed_by: None,
            tree_size: None,
            valid: false,
        },
    }))
}
