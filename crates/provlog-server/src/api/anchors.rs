//! The anchoring transactions of the log, for operators and auditors.

use axum::Json;
use provlog_chain::primitives::{Address, B256};
use provlog_core::Hash;
use provlog_store::{AnchorFilter, AnchorRow, AnchorStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi;
use super::read::time;
use super::{State, Q};
use crate::error::{Problem, ReadErrors, PROBLEM_JSON};
use crate::ApiError;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AnchorsQuery {
    /// Only transactions with this status: `pending`, `confirmed`, `replaced`, `reorged` or
    /// `failed`.
    status: Option<String>,
    /// Cursor: the previous page's `next`; transactions older than this id.
    before: Option<i64>,
    /// Transactions per page: 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// One anchoring transaction.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnchorEntry {
    id: i64,
    /// `pending` (sent, not yet confirmed), `confirmed` (deep enough in a canonical block; in
    /// receipts), `replaced` (superseded by a fee bump, or its nonce was used otherwise),
    /// `reorged` (its block left the canonical chain; re-sent) or `failed` (reverted).
    status: String,
    /// The anchored checkpoint's size and root.
    tree_size: u64,
    #[schema(value_type = openapi::Hash)]
    root: Hash,
    chain_id: u64,
    /// `0x` contract address (EIP-55).
    contract: String,
    /// `0x` bytes32: keccak256 of the log's origin.
    log_id: String,
    /// `0x` address of the anchorer account.
    sender: String,
    nonce: u64,
    tx_hash: String,
    /// Where it was mined; null until it is.
    #[schema(required = true)]
    block_number: Option<u64>,
    #[schema(required = true)]
    block_hash: Option<String>,
    /// Unix seconds of the block it was confirmed in; null until confirmed (and for anchors
    /// confirmed before the log recorded it).
    #[schema(required = true)]
    block_timestamp: Option<u64>,
    /// EIP-1559 fee caps, wei per gas, as decimal strings (they can exceed 2^53).
    max_fee_per_gas: String,
    max_priority_fee_per_gas: String,
    gas_limit: u64,
    #[schema(format = DateTime)]
    sent_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    #[schema(format = DateTime, required = true)]
    confirmed_at: Option<String>,
}

impl From<&AnchorRow> for AnchorEntry {
    fn from(r: &AnchorRow) -> Self {
        AnchorEntry {
            id: r.id,
            status: r.status.to_string(),
            tree_size: r.tx.tree_size,
            root: r.tx.root,
            chain_id: r.target.chain_id,
            contract: Address::from(r.target.contract).to_string(),
            log_id: B256::from(r.target.log_id).to_string(),
            sender: Address::from(r.tx.sender).to_string(),
            nonce: r.tx.nonce,
            tx_hash: B256::from(r.tx.tx_hash).to_string(),
            block_number: r.block_number,
            block_hash: r.block_hash.map(|h| B256::from(h).to_string()),
            block_timestamp: r.block_timestamp,
            max_fee_per_gas: r.tx.max_fee_per_gas.to_string(),
            max_priority_fee_per_gas: r.tx.max_priority_fee_per_gas.to_string(),
            gas_limit: r.tx.gas_limit,
            sent_at: time(r.sent_ms),
            updated_at: time(r.updated_ms),
            confirmed_at: r.confirmed_ms.map(time),
        }
    }
}

/// One page of anchoring transactions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnchorPage {
    /// Whether this log anchors its checkpoints on a chain.
    enabled: bool,
    anchors: Vec<AnchorEntry>,
    /// The `before` of the following page; null on the last page.
    #[schema(required = true)]
    next: Option<i64>,
}

/// Lists the transactions that anchor the log's checkpoints on chain, with their status.
#[utoipa::path(
    get,
    path = "/v1/anchors",
    tag = "checkpoints",
    security((), ("bearer" = ["read"])),
    params(AnchorsQuery),
    responses(
        (status = 200, description = "A page of anchoring transactions", body = AnchorPage),
        (status = 400, description = "A malformed query parameter or unknown status (`bad-request`)",
            body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn anchors(
    state: State,
    Q(q): Q<AnchorsQuery>,
) -> Result<Json<AnchorPage>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(str::parse::<AnchorStatus>)
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let limit = super::read::page_limit(q.limit)?;
    let filter = AnchorFilter {
        status,
        before: q.before,
        limit,
    };
    let list = state.store.anchors(&state.config.origin, &filter).await?;
    let next = (list.len() == limit as usize)
        .then(|| list.last().map(|a| a.id))
        .flatten();
    Ok(Json(AnchorPage {
        enabled: state.anchoring.is_some(),
        anchors: list.iter().map(AnchorEntry::from).collect(),
        next,
    }))
}
