//! A small log of registry records and signed signals of one source, with the source-key
//! evidence cases the unit tests and the golden vectors (`tests/vectors/evidence.json`) share.
// Test support: a failure here is a broken fixture, not an input to handle.
#![allow(clippy::unwrap_used)]

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::SigningKey;
use serde_json::json;

use crate::checkpoint::{Checkpoint, NoteSigner, TrustedKeys};
use crate::evidence::{
    verify_source_evidence, EvidenceError, SourceEvidence, VerifiedKey, SOURCE_EVIDENCE_FORMAT_V1,
};
use crate::log::MemoryLog;
use crate::receipt::{verify_receipt, ItemInclusion, Receipt, RECEIPT_FORMAT_V1};
use crate::record::{
    signal_content, FormatVersion, KeyId, Kind, LogOrigin, Nonce, Record, SignedStatement,
    SourceId, Timestamp,
};
use crate::registry::{prove_possession, registry_record, RegistryEvent, SchemaPolicy};

pub const ORIGIN: &str = "example.com/provlog/evidence";

fn origin() -> LogOrigin {
    LogOrigin::new(ORIGIN).unwrap()
}

fn source() -> SourceId {
    SourceId::new("acme-signals").unwrap()
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn id(key_id: &str) -> KeyId {
    KeyId::new(key_id).unwrap()
}

enum Entry {
    Registry(RegistryEvent),
    /// A signal signed by the key of this seed under this key id, or unsigned.
    Signal(Option<(u8, &'static str)>),
}

fn added(seed: u8, key_id: &str) -> Entry {
    let proof = prove_possession(&key(seed), &origin(), &source(), &id(key_id)).unwrap();
    Entry::Registry(RegistryEvent::KeyAdded {
        key_id: id(key_id),
        public_key: key(seed).verifying_key().to_bytes(),
        proof: Some(proof),
    })
}

/// A log of registry records and signals with receipts at two checkpoints (the full size, and
/// an earlier one).
#[derive(Debug)]
pub struct Log {
    pub signer: NoteSigner,
    log: MemoryLog,
    records: Vec<Vec<u8>>,
    items: Vec<Option<Vec<u8>>>,
}

impl Log {
    fn new(entries: Vec<Entry>) -> Log {
        let mut log = MemoryLog::new();
        let (mut records, mut items) = (vec![], vec![]);
        for (i, entry) in entries.into_iter().enumerate() {
            let at = Timestamp::from_unix_millis(1_764_000_000_000 + i as i64 * 1000).unwrap();
            let (record, item) = match entry {
                Entry::Registry(event) => {
                    let (record, item) = registry_record(origin(), source(), &event, at).unwrap();
                    (record, Some(item))
                }
                Entry::Signal(signer) => {
                    let (content, _) = signal_content(&json!({"signal": i})).unwrap();
                    let signature = signer.map(|(seed, key_id)| {
                        SignedStatement::new(source(), Kind::Signal, content.clone())
                            .sign_statement(
                                &key(seed),
                                id(key_id),
                                Nonce::new(format!("nonce-{i:012}")).unwrap(),
                                1_764_000_000,
                            )
                            .unwrap()
                    });
                    let record = Record {
                        content,
                        kind: Kind::Signal,
                        metadata: Default::default(),
                        origin: origin(),
                        parents: vec![],
                        quality: vec![],
                        received_at: at,
                        signature,
                        source: source(),
                        seq: None,
                        prev: None,
                        v: FormatVersion::V1,
                    };
                    (record, None)
                }
            };
            let bytes = record.to_canonical_bytes().unwrap();
            log.append(&bytes);
            records.push(bytes);
            items.push(item);
        }
        Log {
            signer: NoteSigner::new(ORIGIN, key(7)).unwrap(),
            log,
            records,
            items,
        }
    }

    pub fn trusted(&self) -> TrustedKeys {
        TrustedKeys::new([self.signer.verifier_key().clone()])
    }

    /// Receipt of record `i` at the checkpoint of `size` (its item 0, for a registry record).
    pub fn receipt_at(&self, i: u64, size: u64) -> Receipt {
        let bytes = &self.records[i as usize];
        let checkpoint = Checkpoint::new(ORIGIN, size, self.log.root_at(size).unwrap());
        let note = self.signer.sign_checkpoint(&checkpoint).unwrap();
        Receipt {
            format: RECEIPT_FORMAT_V1.into(),
            record: String::from_utf8(bytes.clone()).unwrap(),
            leaf_hash: crate::hash::leaf_hash(bytes),
            leaf_index: i,
            inclusion_proof: self.log.inclusion_proof(i, size).unwrap(),
            checkpoint: String::from_utf8(note).unwrap(),
            item: self.items[i as usize].as_ref().map(|data| ItemInclusion {
                index: 0,
                data: BASE64_STANDARD.encode(data),
                proof: vec![],
            }),
            anchor: None,
        }
    }

    pub fn receipt(&self, i: u64) -> Receipt {
        self.receipt_at(i, self.log.size())
    }

    pub fn evidence(&self, added: u64, retired: Option<u64>) -> SourceEvidence {
        SourceEvidence {
            format: SOURCE_EVIDENCE_FORMAT_V1.into(),
            key_added: self.receipt(added),
            key_retired: retired.map(|r| self.receipt(r)),
        }
    }

    pub fn check(
        &self,
        record: u64,
        evidence: Option<&SourceEvidence>,
    ) -> Result<VerifiedKey, EvidenceError> {
        let trusted = self.trusted();
        let verified = verify_receipt(&self.receipt(record), &trusted).unwrap();
        verify_source_evidence(&verified, evidence, &trusted)
    }
}

pub fn log() -> Log {
    let mut bad_proof = added(14, "k4");
    if let Entry::Registry(RegistryEvent::KeyAdded { proof: Some(p), .. }) = &mut bad_proof {
        *p = prove_possession(
            &key(14),
            &origin(),
            &SourceId::new("other").unwrap(),
            &id("k4"),
        )
        .unwrap();
    }
    Log::new(vec![
        Entry::Registry(RegistryEvent::SourceRegistered {
            schema_sha256: None,
            schema_policy: SchemaPolicy::Reject,
            require_signature: true,
        }),
        added(9, "k1"),                                                  // 1
        Entry::Signal(Some((9, "k1"))),                                  // 2
        added(10, "k2"),                                                 // 3
        Entry::Signal(Some((10, "k2"))),                                 // 4
        Entry::Registry(RegistryEvent::KeyRetired { key_id: id("k1") }), // 5
        Entry::Signal(Some((9, "k1"))),                                  // 6: after k1's retirement
        Entry::Signal(Some((12, "k3"))),                                 // 7: before k3 is added
        Entry::Signal(Some((11, "k2"))), // 8: another key under k2's id (a swap)
        Entry::Signal(None),             // 9
        added(12, "k3"),                 // 10
        bad_proof,                       // 11
        Entry::Signal(Some((14, "k4"))), // 12
    ])
}

/// Evidence cases of [`log`]: (description, record leaf, evidence, the check it fails or
/// `None`). Descriptions of failing cases name the check after ": ".
#[allow(clippy::type_complexity)]
pub fn evidence_cases(
    log: &Log,
) -> Vec<(String, u64, Option<SourceEvidence>, Option<&'static str>)> {
    let valid = [
        (
            "signed while active, retired after",
            2,
            Some(log.evidence(1, Some(5))),
        ),
        (
            "signed while active, not retired",
            4,
            Some(log.evidence(3, None)),
        ),
    ];
    let other_checkpoint = SourceEvidence {
        key_added: log.receipt_at(1, 8),
        ..log.evidence(1, None)
    };
    let old_format = SourceEvidence {
        format: "provlog-source-evidence/v0".into(),
        ..log.evidence(1, None)
    };
    let mut no_item = log.evidence(1, None);
    no_item.key_added.item = None;
    let mut cut_proof = log.evidence(1, None);
    cut_proof.key_added.inclusion_proof.pop();
    let failing: Vec<(u64, Option<SourceEvidence>, &'static str)> = vec![
        (6, Some(log.evidence(1, Some(5))), "key_retired_before"),
        (7, Some(log.evidence(10, None)), "key_registered_later"),
        (7, None, "key_not_registered"),
        (8, Some(log.evidence(3, None)), "key_mismatch"),
        (9, Some(log.evidence(1, None)), "unsigned"),
        (2, Some(log.evidence(3, None)), "wrong_event"),
        (2, Some(log.evidence(1, Some(3))), "wrong_event"),
        (2, Some(log.evidence(0, None)), "wrong_event"),
        (2, Some(other_checkpoint), "wrong_record"),
        (2, Some(no_item), "wrong_record"),
        (2, Some(log.evidence(4, None)), "wrong_record"),
        (2, Some(cut_proof), "receipt"),
        (2, Some(old_format), "format"),
        (12, Some(log.evidence(11, None)), "proof_of_possession"),
    ];
    valid
        .into_iter()
        .map(|(desc, leaf, evidence)| (desc.to_string(), leaf, evidence, None))
        .chain(
            failing
                .into_iter()
                .enumerate()
                .map(|(i, (leaf, evidence, check))| {
                    (
                        format!("case {i}, record {leaf}: fails {check}"),
                        leaf,
                        evidence,
                        Some(check),
                    )
                }),
        )
        .collect()
}
