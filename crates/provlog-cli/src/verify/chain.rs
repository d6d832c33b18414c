//! The on-chain check of a receipt's anchor (`--rpc-url`): the contract holds the root, and the
//! receipt's transaction and block are the chain's.

use provlog_chain::primitives::{Address, B256};
use provlog_chain::Reader;
use provlog_core::receipt::VerifiedReceipt;

use crate::Failure;

/// What the chain confirmed about a receipt's anchor.
#[derive(Debug)]
pub struct OnChain {
    pub contract: Address,
    pub block_number: u64,
    /// Unix seconds of the anchoring block: the record was logged no later than this.
    pub block_timestamp: u64,
    pub confirmations: u64,
    pub pinned: bool,
}

/// Requires the receipt's anchor to be in the contract with the receipt's root, deep enough.
pub async fn check_on_chain(
    v: &VerifiedReceipt,
    url: &str,
    min_confirmations: u64,
    pinned: Option<Address>,
) -> Result<OnChain, Failure> {
    let anchor = v.anchor.as_ref().ok_or_else(|| {
        Failure::Invalid(
            "the receipt carries no anchor, so the chain cannot confirm it; fetch the receipt \
             again once the log has anchored it (response header Provlog-Anchored: true)"
                .into(),
        )
    })?;
    let contract: Address = anchor
        .contract
        .parse()
        .map_err(|_| Failure::Invalid(format!("anchor contract {:?}", anchor.contract)))?;
    if let Some(pinned) = pinned {
        if pinned != contract {
            return Err(Failure::Invalid(format!(
                "the receipt's anchor is in contract {contract}, not the pinned {pinned}"
            )));
        }
    }
    let log_id: B256 = anchor
        .log_id
        .parse()
        .map_err(|_| Failure::Invalid(format!("anchor log_id {:?}", anchor.log_id)))?;
    let reader = Reader::new(url).map_err(|e| Failure::Usage(e.to_string()))?;
    let chain_id = reader.chain_id().await.map_err(unreachable)?;
    if chain_id != anchor.chain_id {
        return Err(Failure::Invalid(format!(
            "the RPC endpoint serves chain {chain_id}, the anchor is on chain {}",
            anchor.chain_id
        )));
    }
    reader
        .require_contract(contract)
        .await
        .map_err(|e| match e {
            provlog_chain::ChainError::NoContract(_) => Failure::Invalid(format!(
                "there is no contract at {contract} on chain {chain_id}"
            )),
            other => unreachable(other),
        })?;
    let cp = &v.checkpoint.checkpoint;
    let held = reader
        .anchored(contract, log_id, cp.size)
        .await
        .map_err(|e| match e {
            provlog_chain::ChainError::Rpc(_) => unreachable(e),
            other => Failure::Invalid(format!("contract {contract}: {other}")),
        })?
        .ok_or_else(|| {
            Failure::Invalid(format!(
                "contract {contract} on chain {chain_id} holds no anchor of tree size {} for this log",
                cp.size
            ))
        })?;
    if held.root.0 != *cp.root.as_bytes() {
        return Err(Failure::Invalid(format!(
            "contract {contract} holds root {} for tree size {}, the receipt's checkpoint has {}",
            held.root, cp.size, cp.root
        )));
    }
    let block = transaction_and_block(&reader, anchor, contract, log_id, v).await?;
    let head = reader.block_number().await.map_err(unreachable)?;
    let confirmations = (head + 1).saturating_sub(held.block_number);
    if confirmations < min_confirmations {
        return Err(Failure::Invalid(format!(
            "the anchor has {confirmations} confirmation(s), fewer than the required {min_confirmations}"
        )));
    }
    Ok(OnChain {
        contract,
        block_number: held.block_number,
        block_timestamp: block.timestamp,
        confirmations,
        pinned: pinned.is_some(),
    })
}

/// The chain could not be asked: a usage failure (exit 2), not an invalid receipt.
fn unreachable(e: provlog_chain::ChainError) -> Failure {
    Failure::Usage(format!("checking the anchor on chain: {e}"))
}

/// Requires the receipt's transaction and block to be the chain's: the block at
/// `block_number` has `block_hash` (and `block_timestamp`, when the receipt states it), and
/// the transaction `tx_hash` is in it and emitted the contract's `CheckpointAnchored` for
/// this log, size and root. Without this, altered `tx_hash` or block fields would pass, as
/// the contract's stored root does not name them.
async fn transaction_and_block(
    reader: &Reader,
    anchor: &provlog_core::receipt::AnchorRef,
    contract: Address,
    log_id: B256,
    v: &VerifiedReceipt,
) -> Result<provlog_chain::Block, Failure> {
    let invalid = |m: String| Err(Failure::Invalid(m));
    let (Ok(tx_hash), Ok(block_hash)) = (
        anchor.tx_hash.parse::<B256>(),
        anchor.block_hash.parse::<B256>(),
    ) else {
        return invalid("the anchor's tx_hash or block_hash is not a 32-byte hex hash".into());
    };
    let number = anchor.block_number;
    let Some(block) = reader.block(number).await.map_err(unreachable)? else {
        return invalid(format!("the chain has no block {number} yet"));
    };
    if block.hash != block_hash {
        return invalid(format!(
            "block {number} on the chain is {}, the receipt names {block_hash}",
            block.hash
        ));
    }
    if let Some(stated) = anchor.block_timestamp {
        if stated != block.timestamp {
            return invalid(format!(
                "block {number} has timestamp {}, the receipt states {stated}",
                block.timestamp
            ));
        }
    }
    let Some(tx) = reader
        .anchoring_tx(tx_hash, contract)
        .await
        .map_err(unreachable)?
    else {
        return invalid(format!("the chain has no mined transaction {tx_hash}"));
    };
    if (tx.block_number, tx.block_hash) != (number, block_hash) {
        return invalid(format!(
            "transaction {tx_hash} is in block {} ({}), not the receipt's block {number}",
            tx.block_number, tx.block_hash
        ));
    }
    let cp = &v.checkpoint.checkpoint;
    let root = B256::from(*cp.root.as_bytes());
    let anchored = tx
        .events
        .iter()
        .any(|e| e.log_id == log_id && e.tree_size == cp.size && e.root == root);
    if !tx.success || !anchored {
        return invalid(format!(
            "transaction {tx_hash} did not anchor this log's tree size {} with root {} in \
             contract {contract} (no such CheckpointAnchored event)",
            cp.size, cp.root
        ));
    }
    Ok(block)
}
