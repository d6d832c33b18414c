//! Receipts: self-contained, versioned evidence that a record is in the log, which a consumer
//! verifies offline without trusting the server.
//!
//! A receipt carries the record's exact canonical bytes, its leaf index, the inclusion proof at
//! a signed checkpoint's size, the signed checkpoint, for one row of a snapshot the row and its
//! content-tree proof, and (once anchored) a reference to the anchoring transaction. The same
//! RFC 9162 verifier checks both tree levels. The inclusion part is also expressible as a C2SP
//! `tlog-proof@v1` text ([`Receipt::to_tlog_proof`]).
//! The format is documented in `docs/formats.md`.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{
    verify_checkpoint, Checkpoint, CheckpointError, TrustedKeys, VerifiedCheckpoint,
};
use crate::hash::{leaf_hash, Hash};
use crate::log::{verify_inclusion, ProofError};
use crate::record::{Kind, Record, RecordError, VerifiedSignature};

/// The `format` value of version 1 receipts.
pub const RECEIPT_FORMAT_V1: &str = "provlog-receipt/v1";

/// Largest receipt the parser accepts (a snapshot row is included whole).
pub const MAX_RECEIPT_BYTES: usize = 4 << 20;

/// A receipt as it travels (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`RECEIPT_FORMAT_V1`] for this version.
    pub format: String,
    /// The record's canonical bytes, exactly as hashed into the log (RFC 8785 JSON text).
    pub record: String,
    /// Leaf hash of `record`: SHA-256(0x00 || record). Redundant, so a changed record is named.
    pub leaf_hash: Hash,
    pub leaf_index: u64,
    /// Audit path from the leaf to the root of `checkpoint`.
    pub inclusion_proof: Vec<Hash>,
    /// The signed checkpoint (C2SP signed note) whose size and root the proof leads to.
    pub checkpoint: String,
    /// For one row of a snapshot: the row and its proof up to the record's content root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemInclusion>,
    /// Where the checkpoint was anchored on chain. Not checked offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AnchorRef>,
}

/// One item (row) of a snapshot record, with its content-tree inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemInclusion {
    pub index: u64,
    /// The item's leaf data, base64: the JCS bytes of a JSON item, or the raw bytes.
    pub data: String,
    pub proof: Vec<Hash>,
}

/// A reference to the transaction that anchored a checkpoint on an EVM chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorRef {
    pub chain_id: u64,
    /// `0x`-prefixed contract address.
    pub contract: String,
    /// `0x`-prefixed bytes32 log id.
    pub log_id: String,
    pub tx_hash: String,
    pub block_number: u64,
    pub block_hash: String,
    /// Unix seconds of that block: the record was logged no later than this. Absent in
    /// receipts built before the log recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_timestamp: Option<u64>,
    /// The anchored tree size (the checkpoint's).
    pub tree_size: u64,
}

/// Which check of a receipt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt is not valid JSON of the receipt format: {0}")]
    Parse(String),
    #[error("receipt is larger than {MAX_RECEIPT_BYTES} bytes")]
    TooLarge,
    #[error("unsupported receipt format {found:?} (this verifier reads {RECEIPT_FORMAT_V1:?})")]
    UnsupportedFormat { found: String },
    #[error("record: {0}")]
    Record(#[from] RecordError),
    #[error("record hash: receipt says {claimed}, the record hashes to {computed}")]
    RecordHash { claimed: Hash, computed: Hash },
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("origin mismatch: record is for log {record:?}, checkpoint for {checkpoint:?}")]
    OriginMismatch { record: String, checkpoint: String },
    #[error("inclusion proof: {0}")]
    Inclusion(ProofError),
    #[error("item proof: {0}")]
    ItemProof(ProofError),
    #[error("item: {0}")]
    Item(String),
    #[error("anchor: receipt anchors tree size {anchor}, its checkpoint has size {checkpoint}")]
    AnchorSize { anchor: u64, checkpoint: u64 },
    #[error("anchor: {0}")]
    Anchor(String),
    #[error("tlog-proof: {0}")]
    TlogProof(String),
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    pub record: Record,
    pub leaf_hash: Hash,
    pub leaf_index: u64,
    pub checkpoint: VerifiedCheckpoint,
    pub item: Option<VerifiedItem>,
    /// The source's signature over the record's content, when it carries one (verified).
    pub source_signature: Option<VerifiedSignature>,
    /// Present but not verified: checking it needs the chain.
    pub anchor: Option<AnchorRef>,
}

/// A snapshot row proven to be part of the record's content root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedItem {
    pub index: u64,
    pub leaf_hash: Hash,
    pub data: Vec<u8>,
}

impl Receipt {
    /// Parses a receipt from JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ReceiptError> {
        if bytes.len() > MAX_RECEIPT_BYTES {
            return Err(ReceiptError::TooLarge);
        }
        serde_json::from_slice(bytes).map_err(|e| ReceiptError::Parse(e.to_string()))
    }

    /// Compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("receipts serialise: plain strings and numbers")
    }

    /// Pretty JSON for files people read.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("receipts serialise: plain strings and numbers")
    }

    /// The inclusion part as C2SP `tlog-proof@v1`: `extra` carries the record's canonical
    /// bytes, so the proof alone shows which leaf it is about.
    pub fn to_tlog_proof(&self) -> String {
        let mut out = String::from("c2sp.org/tlog-proof@v1\n");
        out.push_str(&format!(
            "extra {}\n",
            BASE64_STANDARD.encode(self.record.as_bytes())
        ));
        out.push_str(&format!("index {}\n", self.leaf_index));
        for h in &self.inclusion_proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }
}

/// A parsed C2SP `tlog-proof@v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

impl TlogProof {
    pub fn parse(text: &str) -> Result<Self, ReceiptError> {
        let bad = |m: &str| ReceiptError::TlogProof(m.to_string());
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some("c2sp.org/tlog-proof@v1") {
            return Err(bad("first line must be c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or(bad("missing index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(
                BASE64_STANDARD
                    .decode(b64)
                    .map_err(|_| bad("extra is not base64"))?,
            );
            line = lines.next().ok_or(bad("missing index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(|n| n.parse::<u64>().ok().filter(|v| v.to_string() == n))
            .ok_or(bad("malformed index line"))?;
        let proof = lines
            .map(|l| Hash::from_base64(l).map_err(|_| bad("malformed proof hash")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// Verifies that `leaf` is at `index` in the tree of the signed checkpoint.
    pub fn verify(
        &self,
        leaf: &Hash,
        trusted: &TrustedKeys,
        origin: Option<&str>,
    ) -> Result<VerifiedCheckpoint, ReceiptError> {
        let cp = verify_checkpoint(self.checkpoint.as_bytes(), trusted, origin)?;
        verify_inclusion(
            self.index,
            cp.checkpoint.size,
            leaf,
            &self.proof,
            &cp.checkpoint.root,
        )
        .map_err(ReceiptError::Inclusion)?;
        Ok(cp)
    }
}

/// Verifies a receipt offline against the log keys a consumer trusts.
///
/// Checks, in order: format version, record (strict parse, canonical form, field rules), record
/// hash, checkpoint signature by a trusted key, origin (record vs checkpoint), inclusion of the
/// record at the checkpoint's size, the snapshot row's content-tree proof, and the source's
/// signature when the record carries one. The first failure is returned, naming its check.
pub fn verify_receipt(
    receipt: &Receipt,
    trusted: &TrustedKeys,
) -> Result<VerifiedReceipt, ReceiptError> {
    verify_with(receipt, |note| verify_checkpoint(note, trusted, None))
}

/// Parses and verifies a JSON receipt.
pub fn verify_receipt_json(
    json: &[u8],
    trusted: &TrustedKeys,
) -> Result<VerifiedReceipt, ReceiptError> {
    verify_receipt(&Receipt::from_json(json)?, trusted)
}

fn verify_with(
    receipt: &Receipt,
    check_checkpoint: impl FnOnce(&[u8]) -> Result<VerifiedCheckpoint, CheckpointError>,
) -> Result<VerifiedReceipt, ReceiptError> {
    if receipt.format != RECEIPT_FORMAT_V1 {
        return Err(ReceiptError::UnsupportedFormat {
            found: receipt.format.clone(),
        });
    }
    let bytes = receipt.record.as_bytes();
    let record = Record::from_canonical_bytes(bytes)?;
    let computed = leaf_hash(bytes);
    if computed != receipt.leaf_hash {
        return Err(ReceiptError::RecordHash {
            claimed: receipt.leaf_hash,
            computed,
        });
    }
    let checkpoint = check_checkpoint(receipt.checkpoint.as_bytes())?;
    let cp = &checkpoint.checkpoint;
    if cp.origin != record.origin.as_str() {
        return Err(ReceiptError::OriginMismatch {
            record: record.origin.as_str().to_string(),
            checkpoint: cp.origin.clone(),
        });
    }
    verify_inclusion(
        receipt.leaf_index,
        cp.size,
        &computed,
        &receipt.inclusion_proof,
        &cp.root,
    )
    .map_err(ReceiptError::Inclusion)?;
    let item = receipt
        .item
        .as_ref()
        .map(|item| verify_item(&record, item))
        .transpose()?;
    if let Some(anchor) = &receipt.anchor {
        check_anchor(anchor, cp)?;
    }
    let source_signature = record.verify_source_signature()?;
    Ok(VerifiedReceipt {
        leaf_hash: computed,
        leaf_index: receipt.leaf_index,
        checkpoint,
        item,
        source_signature,
        anchor: receipt.anchor.clone(),
        record,
    })
}

/// `0x` + lowercase hex of keccak256(origin): the anchor contract's id of the log whose
/// checkpoints start with `origin`.
pub fn anchor_log_id(origin: &str) -> String {
    use sha3::Digest;
    format!(
        "0x{}",
        hex::encode(sha3::Keccak256::digest(origin.as_bytes()))
    )
}

fn is_hex(s: &str, digits: usize) -> bool {
    s.strip_prefix("0x")
        .is_some_and(|h| h.len() == digits && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What can be checked of an anchor offline: that it names this checkpoint's size and log, in
/// well-formed fields. Whether the chain holds it needs the chain (`provlog verify --rpc-url`).
fn check_anchor(anchor: &AnchorRef, cp: &Checkpoint) -> Result<(), ReceiptError> {
    if anchor.tree_size != cp.size {
        return Err(ReceiptError::AnchorSize {
            anchor: anchor.tree_size,
            checkpoint: cp.size,
        });
    }
    let expected = anchor_log_id(&cp.origin);
    if !anchor.log_id.eq_ignore_ascii_case(&expected) {
        return Err(ReceiptError::Anchor(format!(
            "log_id {} is not keccak256 of the origin {:?} ({expected})",
            anchor.log_id, cp.origin
        )));
    }
    for (name, value, digits) in [
        ("contract", &anchor.contract, 40),
        ("tx_hash", &anchor.tx_hash, 64),
        ("block_hash", &anchor.block_hash, 64),
    ] {
        if !is_hex(value, digits) {
            return Err(ReceiptError::Anchor(format!(
                "{name} {value:?} is not 0x and {digits} hex digits"
            )));
        }
    }
    if anchor.chain_id == 0 {
        return Err(ReceiptError::Anchor("chain_id 0".into()));
    }
    Ok(())
}

fn verify_item(record: &Record, item: &ItemInclusion) -> Result<VerifiedItem, ReceiptError> {
    // A registry record's one item is its event, provable like a snapshot row.
    if !matches!(record.kind, Kind::Snapshot | Kind::Source) {
        return Err(ReceiptError::Item(format!(
            "only snapshot records have provable items, this one is a {:?}",
            record.kind
        )));
    }
    let data = BASE64_STANDARD
        .decode(&item.data)
        .map_err(|e| ReceiptError::Item(format!("data is not base64: {e}")))?;
    let leaf = leaf_hash(&data);
    verify_inclusion(
        item.index,
        record.content.items,
        &leaf,
        &item.proof,
        &record.content.root,
    )
    .map_err(ReceiptError::ItemProof)?;
    Ok(VerifiedItem {
        index: item.index,
        leaf_hash: leaf,
        data,
    })
}

/// Verifies many receipts, checking each distinct signed checkpoint once: receipts fetched
/// together usually share one. Results are identical to [`verify_receipt`]. Shareable between
/// threads: the cache is locked only to look up or remember a checkpoint.
#[derive(Debug)]
pub struct ReceiptVerifier {
    trusted: TrustedKeys,
    verified: Mutex<HashMap<Hash, VerifiedCheckpoint>>,
}

/// Distinct checkpoints remembered before the cache starts over.
const CHECKPOINT_CACHE: usize = 1024;

impl ReceiptVerifier {
    pub fn new(trusted: TrustedKeys) -> Self {
        ReceiptVerifier {
            trusted,
            verified: Mutex::new(HashMap::new()),
        }
    }

    pub fn trusted(&self) -> &TrustedKeys {
        &self.trusted
    }

    pub fn verify(&self, receipt: &Receipt) -> Result<VerifiedReceipt, ReceiptError> {
        verify_with(receipt, |note| {
            // Keyed by the whole note's hash: any other byte is another checkpoint.
            let key = Hash::sha256(note);
            let cache = |f: &mut dyn FnMut(&mut HashMap<Hash, VerifiedCheckpoint>)| {
                // A panic elsewhere cannot leave the map inconsistent: use it regardless.
                let mut map = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut map);
            };
            let mut hit = None;
            cache(&mut |map| hit = map.get(&key).cloned());
            if let Some(cp) = hit {
                return Ok(cp);
            }
            let cp = verify_checkpoint(note, &self.trusted, None)?;
            cache(&mut |map| {
                if map.len() >= CHECKPOINT_CACHE {
                    map.clear();
                }
                map.insert(key, cp.clone());
            });
            Ok(cp)
        })
    }
}

#[cfg(test)]
mod tests;
