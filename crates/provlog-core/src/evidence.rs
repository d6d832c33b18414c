//! Source-key evidence: the proof that the key that signed a record was its source's at the
//! time, from the log alone. Next to the record's receipt travel the receipts of the registry
//! records ([`crate::registry`]) that added the key and, if it was retired before the checkpoint,
//! retired it — all at the record's checkpoint, so one checkpoint signature covers them.
//!
//! [`verify_source_evidence`] checks that the key was added to the record's source, with the
//! same public key, at an earlier leaf, with a valid proof of possession (or backfilled), and
//! not retired before the record. A key swapped in the operator's database, bypassing the
//! registry, has no such record: the evidence names another key, or none.
//!
//! What this cannot show on its own: that no retirement between the addition and the record is
//! withheld. A retirement is a record of the log like any other; complete per-source histories
//! (track records) close that.

use serde::{Deserialize, Serialize};

use crate::checkpoint::TrustedKeys;
use crate::receipt::{verify_receipt, Receipt, ReceiptError, VerifiedReceipt};
use crate::record::{KeyId, Kind};
use crate::registry::{verify_possession, RegistryEvent, Stated};

/// The `format` of version 1 source-key evidence.
pub const SOURCE_EVIDENCE_FORMAT_V1: &str = "provlog-source-evidence/v1";

/// The registry records that establish a signed record's key, as item receipts (item 0: the
/// event), at the record's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceEvidence {
    /// Always [`SOURCE_EVIDENCE_FORMAT_V1`].
    pub format: String,
    /// The registry record that added the key.
    pub key_added: Receipt,
    /// The registry record that retired it, when one is in the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_retired: Option<Receipt>,
}

/// What verified evidence established about the record's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKey {
    pub key_id: KeyId,
    pub public_key: [u8; 32],
    /// The registry record that added it (a lower leaf than the record's).
    pub added: Stated,
    /// Added with a proof of possession (false only for backfilled keys).
    pub proven: bool,
    /// The registry record that retired it (a higher leaf than the record's), if any.
    pub retired: Option<Stated>,
}

/// Which check of source-key evidence failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the record is not signed: there is no source key to establish")]
    Unsigned,
    #[error(
        "no evidence for the key {key_id:?}: the log has no record registering it for the source"
    )]
    KeyNotRegistered { key_id: String },
    #[error(
        "unsupported evidence format {found:?} (this verifier reads {SOURCE_EVIDENCE_FORMAT_V1:?})"
    )]
    UnsupportedFormat { found: String },
    #[error("the {which} receipt: {error}")]
    Receipt {
        which: &'static str,
        error: ReceiptError,
    },
    #[error("the {which} receipt is not of a registry record of source {source_id:?} at the record's checkpoint")]
    WrongRecord {
        which: &'static str,
        source_id: String,
    },
    #[error("the {which} registry record states {found}, not the {expected} of key {key_id:?}")]
    WrongEvent {
        which: &'static str,
        found: String,
        expected: &'static str,
        key_id: String,
    },
    #[error("key {key_id:?} was registered for the source with another public key: the record's signing key is not the source's")]
    KeyMismatch { key_id: String },
    #[error("key {key_id:?} was registered at leaf {added}, after the record (leaf {record})")]
    KeyRegisteredLater {
        key_id: String,
        added: u64,
        record: u64,
    },
    #[error("key {key_id:?} was retired at leaf {retired}, before the record (leaf {record})")]
    KeyRetiredBefore {
        key_id: String,
        retired: u64,
        record: u64,
    },
    #[error("the proof of possession of key {key_id:?} does not verify")]
    ProofOfPossession { key_id: String },
}

impl EvidenceError {
    /// The failed check, as a stable name other verifiers report too.
    pub fn check(&self) -> &'static str {
        match self {
            EvidenceError::Unsigned => "unsigned",
            EvidenceError::KeyNotRegistered { .. } => "key_not_registered",
            EvidenceError::UnsupportedFormat { .. } => "format",
            EvidenceError::Receipt { .. } => "receipt",
            EvidenceError::WrongRecord { .. } => "wrong_record",
            EvidenceError::WrongEvent { .. } => "wrong_event",
            EvidenceError::KeyMismatch { .. } => "key_mismatch",
            EvidenceError::KeyRegisteredLater { .. } => "key_registered_later",
            EvidenceError::KeyRetiredBefore { .. } => "key_retired_before",
            EvidenceError::ProofOfPossession { .. } => "proof_of_possession",
        }
    }
}

/// A registry record's receipt, verified: at the same checkpoint as the record, of its source
/// and origin, with its event (item 0) proven.
fn registry_event(
    which: &'static str,
    receipt: &Receipt,
    record: &VerifiedReceipt,
    trusted: &TrustedKeys,
) -> Result<(VerifiedReceipt, RegistryEvent), EvidenceError> {
    let verified = verify_receipt(receipt, trusted)
        .map_err(|error| EvidenceError::Receipt { which, error })?;
    let wrong = || EvidenceError::WrongRecord {
        which,
        source_id: record.record.source.to_string(),
    };
    let same_checkpoint = verified.checkpoint.checkpoint == record.checkpoint.checkpoint;
    if verified.record.kind != Kind::Source
        || verified.record.source != record.record.source
        || verified.record.origin != record.record.origin
        || !same_checkpoint
    {
        return Err(wrong());
    }
    let item = verified
        .item
        .as_ref()
        .filter(|i| i.index == 0)
        .ok_or_else(wrong)?;
    let event = RegistryEvent::from_item(&item.data).map_err(|_| wrong())?;
    Ok((verified, event))
}

/// Checks `evidence` for the record `record` proves (a verified receipt): see the module docs.
/// `None` evidence for a signed record is [`EvidenceError::KeyNotRegistered`].
pub fn verify_source_evidence(
    record: &VerifiedReceipt,
    evidence: Option<&SourceEvidence>,
    trusted: &TrustedKeys,
) -> Result<VerifiedKey, EvidenceError> {
    let signature = record
        .source_signature
        .as_ref()
        .ok_or(EvidenceError::Unsigned)?;
    let key_id = signature.key_id.clone();
    let public_key = signature.public_key.to_bytes();
    let Some(evidence) = evidence else {
        return Err(EvidenceError::KeyNotRegistered {
            key_id: key_id.to_string(),
        });
    };
    if evidence.format != SOURCE_EVIDENCE_FORMAT_V1 {
        return Err(EvidenceError::UnsupportedFormat {
            found: evidence.format.clone(),
        });
    }
    let wrong_event = |which, found: &RegistryEvent, expected| EvidenceError::WrongEvent {
        which,
        found: found.to_string(),
        expected,
        key_id: key_id.to_string(),
    };

    let (added, event) = registry_event("key-added", &evidence.key_added, record, trusted)?;
    let RegistryEvent::KeyAdded {
        key_id: added_id,
        public_key: added_key,
        proof,
    } = &event
    else {
        return Err(wrong_event("key-added", &event, "key-added"));
    };
    if added_id != &key_id {
        return Err(wrong_event("key-added", &event, "key-added"));
    }
    if added_key != &public_key {
        return Err(EvidenceError::KeyMismatch {
            key_id: key_id.to_string(),
        });
    }
    if added.leaf_index >= record.leaf_index {
        return Err(EvidenceError::KeyRegisteredLater {
            key_id: key_id.to_string(),
            added: added.leaf_index,
            record: record.leaf_index,
        });
    }
    if let Some(proof) = proof {
        let r = &record.record;
        verify_possession(&r.origin, &r.source, &key_id, &public_key, proof).map_err(|_| {
            EvidenceError::ProofOfPossession {
                key_id: key_id.to_string(),
            }
        })?;
    }

    let retired = match &evidence.key_retired {
        None => None,
        Some(receipt) => {
            let (retired, event) = registry_event("key-retired", receipt, record, trusted)?;
            match &event {
                RegistryEvent::KeyRetired { key_id: id } if id == &key_id => {}
                _ => return Err(wrong_event("key-retired", &event, "key-retired")),
            }
            if retired.leaf_index <= record.leaf_index {
                return Err(EvidenceError::KeyRetiredBefore {
                    key_id: key_id.to_string(),
                    retired: retired.leaf_index,
                    record: record.leaf_index,
                });
            }
            Some(Stated {
                leaf_index: retired.leaf_index,
                at: retired.record.received_at,
            })
        }
    };
    Ok(VerifiedKey {
        key_id,
        public_key,
        added: Stated {
            leaf_index: added.leaf_index,
            at: added.record.received_at,
        },
        proven: proof.is_some(),
        retired,
    })
}

#[cfg(test)]
mod tests;
