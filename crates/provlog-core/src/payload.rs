//! Starting from the value a consumer received (a signal's payload, or one JSON row of a
//! snapshot): the hash its record must carry, and the check that a receipt proves exactly that
//! value was logged.
//!
//! A payload's hash is SHA-256(0x00 ‖ JCS(payload)): the content root of a signal with that
//! payload, of a snapshot whose one JSON item it is, and the leaf hash of a JSON row in any
//! snapshot's content tree.

use serde_json::Value;

use crate::checkpoint::TrustedKeys;
use crate::hash::Hash;
use crate::receipt::{verify_receipt, Receipt, ReceiptError, VerifiedReceipt};
use crate::record::{signal_content, ContentAlg, Kind, RecordError};

/// Which check of a payload's evidence failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The payload cannot be canonicalised (RFC 8785), so it has no hash.
    #[error("payload: {0}")]
    Payload(RecordError),
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    #[error(
        "content mismatch: the receipt's record has content root {found} over {items} item(s), \
         the payload's hash is {expected}"
    )]
    ContentMismatch {
        expected: Hash,
        found: Hash,
        items: u64,
    },
    #[error("item mismatch: the receipt proves {found}, the row's leaf hash is {expected}")]
    ItemMismatch { expected: Hash, found: String },
}

/// SHA-256(0x00 ‖ JCS(`payload`)): the content root of a signal with this payload, and the leaf
/// hash of this value as a JSON row of a snapshot.
pub fn payload_hash(payload: &Value) -> Result<Hash, PayloadError> {
    signal_content(payload)
        .map(|(content, _)| content.root)
        .map_err(PayloadError::Payload)
}

/// Checks that `receipt` proves `payload` was logged: the receipt verifies against `keys`,
/// and its record's content is exactly this one JSON value (a signal, or a snapshot of this
/// one item).
pub fn verify_payload_receipt(
    payload: &Value,
    receipt: &Receipt,
    keys: &TrustedKeys,
) -> Result<VerifiedReceipt, PayloadError> {
    let (expected, verified) = hash_and_verify(payload, receipt, keys)?;
    let content = &verified.record.content;
    let one_json_value = matches!(verified.record.kind, Kind::Signal | Kind::Snapshot)
        && content.alg == ContentAlg::Rfc9162Sha256
        && content.items == 1
        && content.media_type.is_json();
    if !one_json_value || content.root != expected {
        return Err(PayloadError::ContentMismatch {
            expected,
            found: content.root,
            items: content.items,
        });
    }
    Ok(verified)
}

/// Checks that `receipt` proves `row` is an item of a logged snapshot: the receipt verifies
/// against `keys`, with an item proof whose item is exactly this JSON row.
pub fn verify_row_receipt(
    row: &Value,
    receipt: &Receipt,
    keys: &TrustedKeys,
) -> Result<VerifiedReceipt, PayloadError> {
    let (expected, verified) = hash_and_verify(row, receipt, keys)?;
    match &verified.item {
        Some(item)
            if item.leaf_hash == expected && verified.record.content.media_type.is_json() =>
        {
            Ok(verified)
        }
        Some(item) => Err(PayloadError::ItemMismatch {
            expected,
            found: format!("item {} with leaf hash {}", item.index, item.leaf_hash),
        }),
        None => Err(PayloadError::ItemMismatch {
            expected,
            found: "no item (the receipt has no item proof)".into(),
        }),
    }
}

/// The value's hash, and the receipt verified (both must succeed before they are compared).
fn hash_and_verify(
    value: &Value,
    receipt: &Receipt,
    keys: &TrustedKeys,
) -> Result<(Hash, VerifiedReceipt), PayloadError> {
    Ok((payload_hash(value)?, verify_receipt(receipt, keys)?))
}

#[cfg(test)]
mod tests;
