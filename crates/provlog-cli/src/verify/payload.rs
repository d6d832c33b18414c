//! `provlog verify payload`: from the value a consumer received to verified receipts of every
//! record of it (the library calls are `provlog_core::payload` and
//! `provlog_client::Client::verify_payload`).

use std::path::Path;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_client::{Evidence, PayloadRecord};
use provlog_core::record::{parse_json, Limits};
use serde_json::{json, Value};

use super::chain::{check_on_chain, OnChain};
use super::summary::{not_after_the_checkpoint, unix_time};
use super::{read_input, trusted_keys, ChainCheck};
use crate::Failure;

pub(super) struct Args<'a> {
    pub file: &'a Path,
    pub url: &'a str,
    pub token_file: Option<&'a Path>,
    pub keys: &'a [String],
    pub source: Option<&'a str>,
    /// The file is one row of a snapshot.
    pub item: bool,
    pub json: bool,
    pub chain: &'a ChainCheck,
}

/// A record of the payload that every check passed, with the chain's word when asked.
struct Proven {
    evidence: Evidence,
    on_chain: Option<OnChain>,
}

pub(super) fn verify(args: &Args<'_>) -> Result<(), Failure> {
    let keys = trusted_keys(args.keys)?;
    let pinned = args.chain.pinned()?;
    let bytes = read_input(args.file)?;
    let payload = read_value(args, &bytes)?;
    let root = provlog_core::payload::payload_hash(&payload)
        .map_err(|e| Failure::Usage(format!("{}: {e}", args.file.display())))?;
    // A row is found by its leaf hash (the same hash: SHA-256 of 0x00 and its RFC 8785 form).
    let what = if args.item { "row" } else { "payload" };
    let client = crate::admin::connect(args.url, args.token_file, None)?;
    let unreachable = |e: provlog_client::ClientError| {
        Failure::Usage(format!("asking the log at {}: {e}", args.url))
    };
    crate::admin::runtime()?.block_on(async {
        let found = if args.item {
            client.verify_row(&payload, &keys).await
        } else {
            client.verify_payload(&payload, &keys).await
        }
        .map_err(unreachable)?;
        if found.is_empty() {
            let (of, held) = if args.item {
                ("item", "leaf hash")
            } else {
                ("record", "content root")
            };
            return Err(Failure::Invalid(format!(
                "not in the log: no {of} of {} has {held} {root} (the {what}'s SHA-256 of 0x00 \
                 and its RFC 8785 form)",
                args.url
            )));
        }
        let (wanted, others): (Vec<PayloadRecord>, Vec<PayloadRecord>) = found
            .into_iter()
            .partition(|r| args.source.is_none_or(|s| r.source == s));
        if wanted.is_empty() {
            let mut by: Vec<&str> = others.iter().map(|r| r.source.as_str()).collect();
            by.sort_unstable();
            by.dedup();
            return Err(Failure::Invalid(format!(
                "the {what} was logged by source {}, not {}",
                by.join(", "),
                args.source.unwrap_or_default()
            )));
        }
        let mut proven = vec![];
        for record in wanted {
            let index = record.index;
            let evidence = record
                .verdict
                .map_err(|e| Failure::Invalid(format!("record {index}: {e}")))?;
            let on_chain = match &args.chain.rpc_url {
                Some(url) => Some(
                    check_on_chain(&evidence.verified, url, args.chain.confirmations, pinned)
                        .await
                        .map_err(|e| match e {
                            Failure::Invalid(m) => Failure::Invalid(format!("record {index}: {m}")),
                            usage => usage,
                        })?,
                ),
                None => None,
            };
            proven.push(Proven { evidence, on_chain });
        }
        if args.json {
            println!("{}", summary_json(&root.to_string(), &proven, &others));
        } else {
            print!(
                "{}",
                summary_text(what, &root.to_string(), &proven, &others)
            );
        }
        Ok(())
    })
}

fn record_json(p: &Proven) -> Value {
    let v = &p.evidence.verified;
    json!({
        "source": v.record.source.as_str(),
        "kind": v.record.kind,
        "leaf_index": v.leaf_index,
        "item": v.item.as_ref().map(|i| i.index),
        "received_at": v.record.received_at.to_string(),
        "checkpoint_size": v.checkpoint.checkpoint.size,
        "checkpoint_root": v.checkpoint.checkpoint.root,
        // The key that signed, and the registry records proving it was the source's then.
        "signature": p.evidence.key.as_ref().map(|k| json!({
            "key_id": k.key_id,
            "public_key": BASE64_STANDARD.encode(k.public_key),
            "registration_leaf": k.added.leaf_index,
            "registered_at": k.added.at.to_string(),
            "proven_possession": k.proven,
            "retirement_leaf": k.retired.map(|r| r.leaf_index),
        })),
        "anchor": v.anchor.as_ref().map(|a| json!({
            "chain_id": a.chain_id,
            "contract": a.contract,
            "tx_hash": a.tx_hash,
            "block_number": a.block_number,
            "checked": p.on_chain.is_some(),
        })),
        "not_after": p.on_chain.as_ref().map(|c| unix_time(c.block_timestamp)),
    })
}

/// The first (oldest) record's fields at the top, and every record under `records`.
fn summary_json(root: &str, proven: &[Proven], others: &[PayloadRecord]) -> Value {
    let mut out = record_json(&proven[0]);
    out["valid"] = json!(true);
    out["content_root"] = json!(root);
    out["records"] = proven.iter().map(record_json).collect();
    out["other_sources"] = others
        .iter()
        .map(|r| json!({"source": r.source, "leaf_index": r.index, "item": r.item}))
        .collect();
    out
}

fn summary_text(what: &str, root: &str, proven: &[Proven], others: &[PayloadRecord]) -> String {
    let held = if what == "row" {
        "leaf hash"
    } else {
        "content root"
    };
    let mut out = format!(
        "{what} logged: {} record(s) with {held} {root}\n",
        proven.len()
    );
    for p in proven {
        let v = &p.evidence.verified;
        let cp = &v.checkpoint.checkpoint;
        let row = v
            .item
            .as_ref()
            .map(|i| format!("row {} of ", i.index))
            .unwrap_or_default();
        out += &format!(
            "{row}record {}: {} from source {}, received {} (the log's clock)\n",
            v.leaf_index,
            v.record.kind,
            v.record.source.as_str(),
            v.record.received_at
        );
        out += &format!(
            "  included    leaf {} of {} at tree size {} (root {}), checkpoint signed by {}\n",
            v.leaf_index,
            cp.origin,
            cp.size,
            cp.root,
            v.checkpoint.signed_by.join(", ")
        );
        out += &match &p.evidence.key {
            Some(k) => format!(
                "  signature   key {} signed this content; it was {}'s: registered at leaf {} \
                 ({}{}), {}\n",
                k.key_id,
                v.record.source.as_str(),
                k.added.leaf_index,
                k.added.at,
                if k.proven {
                    ", with proof of possession"
                } else {
                    ", backfilled without proof of possession"
                },
                match k.retired {
                    Some(r) => format!("retired at leaf {}, after the record", r.leaf_index),
                    None => "not retired in this checkpoint".into(),
                }
            ),
            None => "  signature   none (the record carries no source signature)\n".into(),
        };
        out += &match (&v.anchor, &p.on_chain) {
            (Some(a), Some(c)) => format!(
                "  time        logged no later than {} (block {} on chain {}, {} confirmation(s))\n",
                unix_time(c.block_timestamp),
                c.block_number,
                a.chain_id,
                c.confirmations
            ),
            _ => not_after_the_checkpoint(cp),
        };
    }
    for r in others {
        out += &format!(
            "also logged by source {} as record {} (not checked: not --source)\n",
            r.source, r.index
        );
    }
    out
}

/// The value of the file: a JSON payload or row, or with `--item` a `.csv` file of a header and
/// one row (a JSON object of strings, as `provlog submit snapshot` reads CSV).
fn read_value(args: &Args<'_>, bytes: &[u8]) -> Result<Value, Failure> {
    let is_csv = args
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if args.item && is_csv {
        let mut rows = crate::submit::csv_rows(args.file, bytes)?;
        if rows.len() != 1 {
            return Err(Failure::Usage(format!(
                "{}: a header and exactly one row, not {} rows",
                args.file.display(),
                rows.len()
            )));
        }
        return Ok(rows.remove(0));
    }
    let what = if args.item { "row" } else { "payload" };
    parse_json(bytes, &Limits::default())
        .map_err(|e| Failure::Usage(format!("{}: not a JSON {what}: {e}", args.file.display())))
}
