//! What `provlog verify receipt` prints: in words, or as JSON.

use provlog_core::receipt::VerifiedReceipt;

use super::chain::OnChain;

pub(super) fn summary_json(v: &VerifiedReceipt, on_chain: Option<&OnChain>) -> serde_json::Value {
    let cp = &v.checkpoint.checkpoint;
    serde_json::json!({
        "valid": true,
        "origin": cp.origin,
        "leaf_index": v.leaf_index,
        "leaf_hash": v.leaf_hash,
        "tree_size": cp.size,
        "root": cp.root,
        "signed_by": v.checkpoint.signed_by,
        "source": v.record.source.as_str(),
        "kind": v.record.kind,
        "content_root": v.record.content.root,
        "received_at": v.record.received_at.to_string(),
        "item": v.item.as_ref().map(|i| serde_json::json!({"index": i.index, "leaf_hash": i.leaf_hash})),
        "source_signature": v.source_signature.as_ref().map(|s| serde_json::json!({"key_id": s.key_id})),
        "anchor": v.anchor.as_ref().map(|a| serde_json::json!({
            "checked": on_chain.is_some(),
            "chain_id": a.chain_id,
            "contract": a.contract,
            "contract_pinned": on_chain.map(|c| c.pinned),
            "tx_hash": a.tx_hash,
            "block_number": on_chain.map(|c| c.block_number).unwrap_or(a.block_number),
            "block_timestamp": on_chain.map(|c| c.block_timestamp).or(a.block_timestamp),
            "confirmations": on_chain.map(|c| c.confirmations),
        })),
        // Only the chain's word counts for this bound: null unless checked on chain.
        "not_after": on_chain.map(|c| unix_time(c.block_timestamp)),
    })
}

pub fn summary_text(v: &VerifiedReceipt, on_chain: Option<&OnChain>) -> String {
    let cp = &v.checkpoint.checkpoint;
    let r = &v.record;
    let mut out = String::from("receipt valid\n");
    out += &format!(
        "  record      {} from source {} received {}, leaf {} (hash {})\n",
        r.kind,
        r.source.as_str(),
        r.received_at,
        v.leaf_index,
        v.leaf_hash
    );
    out += &format!(
        "  included in {} at tree size {} (root {}), checkpoint signed by {}\n",
        cp.origin,
        cp.size,
        cp.root,
        v.checkpoint.signed_by.join(", ")
    );
    out += &format!(
        "  content     root {} over {} item(s)\n",
        r.content.root, r.content.items
    );
    if let Some(item) = &v.item {
        out += &format!(
            "  item        row {} is in the content tree (leaf hash {}): {}\n",
            item.index,
            item.leaf_hash,
            printable(&item.data)
        );
    }
    match &v.source_signature {
        Some(sig) => {
            out += &format!(
                "  signature   source key {} signed this content (that the key is {}'s, the log's \
                 registry records prove: provlog verify payload)\n",
                sig.key_id,
                r.source.as_str()
            )
        }
        None => out += "  signature   none (the record carries no source signature)\n",
    }
    match (&v.anchor, on_chain) {
        (Some(a), Some(c)) => {
            out += &format!(
                "  anchor      on chain {}: contract {} holds this root for tree size {} since block {} ({} confirmation(s))\n",
                a.chain_id, c.contract, a.tree_size, c.block_number, c.confirmations
            );
            out += &format!(
                "  time        logged no later than {} (block {} on chain {})\n",
                unix_time(c.block_timestamp),
                c.block_number,
                a.chain_id
            );
            if !c.pinned {
                out += "              (contract not pinned: pass --contract to require this one)\n";
            }
        }
        (Some(a), None) => {
            out += &format!(
                "  anchor      chain check skipped (no --rpc-url): chain {} contract {} tx {}\n",
                a.chain_id, a.contract, a.tx_hash
            );
            out += &not_after_the_checkpoint(cp);
        }
        (None, _) => {
            out += "  anchor      none (the receipt is not anchored on a chain)\n";
            out += &not_after_the_checkpoint(cp);
        }
    }
    out
}

/// The bound a receipt gives without a chain check: the operator's clock only.
pub(super) fn not_after_the_checkpoint(cp: &provlog_core::checkpoint::Checkpoint) -> String {
    format!(
        "  time        no later than the checkpoint of size {} (operator's clock only; \
         check the anchor with --rpc-url for the chain's time)\n",
        cp.size
    )
}

/// Unix seconds as RFC 3339 UTC.
pub(super) fn unix_time(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| s.checked_mul(1000))
        .and_then(|ms| provlog_core::record::Timestamp::from_unix_millis(ms).ok())
        .map_or_else(|| format!("unix {seconds}"), |t| t.to_string())
}

/// A row as text when it is short UTF-8 (JSON rows are), else its size.
fn printable(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) if text.len() <= 200 && !text.chars().any(char::is_control) => text.to_string(),
        _ => format!("{} bytes", data.len()),
    }
}
