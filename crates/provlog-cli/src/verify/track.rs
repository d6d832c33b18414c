//! `provlog verify track-record`: a source's window of records, shown complete offline, and
//! (with `--rpc-url`) the bundle's anchor on chain.

use std::path::Path;

use provlog_core::receipt::verify_receipt;
use provlog_core::track_record::{
    verify_track_record, CommitmentStatus, TrackRecord, VerifiedTrackRecord,
};
use serde_json::{json, Value};

use super::chain::{check_on_chain, OnChain};
use super::summary::{not_after_the_checkpoint, unix_time};
use super::{read_input, trusted_keys, ChainCheck};
use crate::Failure;

pub(super) fn verify(
    path: &Path,
    keys: &[String],
    json: bool,
    chain: &ChainCheck,
) -> Result<(), Failure> {
    let trusted = trusted_keys(keys)?;
    let pinned = chain.pinned()?;
    let bundle = TrackRecord::from_json(&read_input(path)?)
        .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
    let verified = verify_track_record(&bundle, &trusted)
        .map_err(|e| Failure::Invalid(format!("track record ({}): {e}", e.check())))?;
    let on_chain = match &chain.rpc_url {
        None => None,
        Some(url) => {
            // The anchor is the checkpoint's: checked through the receipt of the record after
            // the window, which the bundle proves at that checkpoint.
            let receipt = bundle.receipt(&bundle.after);
            let receipt =
                verify_receipt(&receipt, &trusted).map_err(|e| Failure::Invalid(e.to_string()))?;
            Some(crate::admin::runtime()?.block_on(check_on_chain(
                &receipt,
                url,
                chain.confirmations,
                pinned,
            ))?)
        }
    };
    if json {
        println!("{}", summary_json(&verified, on_chain.as_ref()));
    } else {
        print!("{}", summary_text(&verified, on_chain.as_ref()));
    }
    Ok(())
}

fn count(v: &VerifiedTrackRecord, status: &str) -> usize {
    v.commitments
        .iter()
        .filter(|c| c.status.name() == status)
        .count()
}

fn summary_json(v: &VerifiedTrackRecord, on_chain: Option<&OnChain>) -> Value {
    let cp = &v.checkpoint.checkpoint;
    let span = v.span();
    json!({
        "valid": true,
        "source": v.source.as_str(),
        "origin": cp.origin,
        "tree_size": cp.size,
        "root": cp.root,
        "window": serde_json::to_value(&v.window).unwrap_or(Value::Null),
        "count": v.records.len(),
        "first_seq": v.first_seq,
        "last_seq": v.records.last().map(|e| e.seq),
        "gaps": v.gaps(),
        "span": span.map(|(a, b)| json!({"first": a.to_string(), "last": b.to_string()})),
        "complete_until": v.complete_until.to_string(),
        "closed": v.closed,
        "signed": v.records.iter().filter(|e| e.key.is_some()).count(),
        "commitments": {
            "revealed": count(v, "revealed"),
            "pending": count(v, "pending"),
            "expired_unrevealed": count(v, "expired_unrevealed"),
            "each": v.commitments.iter().map(|c| json!({
                "seq": c.seq,
                "leaf_index": c.leaf_index,
                "status": c.status.name(),
                "reveal_by": c.commitment.reveal_by.to_string(),
                "payload": match &c.status {
                    CommitmentStatus::Revealed { payload, .. } => payload.clone(),
                    _ => Value::Null,
                },
            })).collect::<Vec<_>>(),
        },
        "records": v.records.iter().map(|e| json!({
            "seq": e.seq,
            "leaf_index": e.leaf_index,
            "leaf_hash": e.leaf_hash,
            "kind": e.record.kind,
            "received_at": e.record.received_at.to_string(),
            "content_root": e.record.content.root,
            "key_id": e.key.as_ref().map(|k| k.key_id.as_str()),
        })).collect::<Vec<_>>(),
        "anchor": v.anchor.as_ref().map(|a| json!({
            "checked": on_chain.is_some(),
            "chain_id": a.chain_id,
            "contract": a.contract,
            "tx_hash": a.tx_hash,
            "block_number": on_chain.map(|c| c.block_number).unwrap_or(a.block_number),
            "block_timestamp": on_chain.map(|c| c.block_timestamp).or(a.block_timestamp),
        })),
        "not_after": on_chain.map(|c| unix_time(c.block_timestamp)),
    })
}

fn summary_text(v: &VerifiedTrackRecord, on_chain: Option<&OnChain>) -> String {
    let cp = &v.checkpoint.checkpoint;
    let mut out = format!("track record valid: source {}\n", v.source.as_str());
    match (v.span(), v.records.last()) {
        (Some((first, last)), Some(end)) => {
            out += &format!(
                "  records     {} (seq {}..={}), gaps 0\n  span        {first} .. {last}\n",
                v.records.len(),
                v.first_seq,
                end.seq
            )
        }
        _ => out += "  records     0 in the window, gaps 0\n",
    }
    let start = if v.first_seq == 0 {
        "from the source's first record".to_string()
    } else {
        format!(
            "from seq {} (the record before it is in the bundle)",
            v.first_seq
        )
    };
    let end = if v.closed {
        "to the log's close record".to_string()
    } else {
        "to the next record of the source".to_string()
    };
    out += &format!(
        "  complete    {start} {end}: nothing of the source is missing up to {}\n",
        v.complete_until
    );
    let signed = v.records.iter().filter(|e| e.key.is_some()).count();
    let mut keys: Vec<&str> = v
        .records
        .iter()
        .filter_map(|e| e.key.as_ref().map(|k| k.key_id.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    out += &format!(
        "  signed      {signed} of {} by source keys the registry records prove ({})\n",
        v.records.len(),
        if keys.is_empty() {
            "none".to_string()
        } else {
            keys.join(", ")
        }
    );
    if !v.commitments.is_empty() {
        out += &format!(
            "  commitments {} revealed in time, {} pending, {} expired unrevealed (count against the source)\n",
            count(v, "revealed"),
            count(v, "pending"),
            count(v, "expired_unrevealed")
        );
    }
    out += &format!(
        "  checkpoint  {} at tree size {} (root {}), signed by {}\n",
        cp.origin,
        cp.size,
        cp.root,
        v.checkpoint.signed_by.join(", ")
    );
    match (&v.anchor, on_chain) {
        (Some(a), Some(c)) => {
            out += &format!(
                "  time        logged no later than {} (block {} on chain {}, {} confirmation(s))\n",
                unix_time(c.block_timestamp),
                c.block_number,
                a.chain_id,
                c.confirmations
            );
        }
        _ => out += &not_after_the_checkpoint(cp),
    }
    out
}
