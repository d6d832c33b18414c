//! A small chained log of two interleaved sources, the honest track-record bundles over it, and
//! the attacks on them that the unit tests and the golden vectors
//! (`tests/vectors/track-records.json`) share.
// Test support: a failure here is a broken fixture, not an input to handle.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::SigningKey;
use serde_json::json;

use serde_json::Value;

use crate::checkpoint::{Checkpoint, NoteSigner, TrustedKeys};
use crate::commitment::{item_content, Commitment, Reveal, SALT_LEN};
use crate::evidence::{SourceEvidence, SOURCE_EVIDENCE_FORMAT_V1};
use crate::hash::Hash;
use crate::log::MemoryLog;
use crate::receipt::{ItemInclusion, Receipt, RECEIPT_FORMAT_V1};
use crate::record::{
    signal_content, FormatVersion, KeyId, Kind, LogOrigin, Nonce, Record, SignedStatement,
    SourceId, Timestamp,
};
use crate::registry::{prove_possession, registry_record, RegistryEvent, SchemaPolicy};
use crate::track_record::{close_record, Entry, TrackRecord, Window, TRACK_RECORD_FORMAT_V1};

pub const ORIGIN: &str = "example.com/provlog/track-records";
/// The source whose track record the cases show.
pub const SOURCE: &str = "acme-signals";
/// Another source, interleaved with it.
pub const OTHER: &str = "other-signals";
/// Time of leaf 0; leaf i is received i seconds later.
pub const T0: i64 = 1_764_000_000_000;

fn origin() -> LogOrigin {
    LogOrigin::new(ORIGIN).unwrap()
}

fn sid(s: &str) -> SourceId {
    SourceId::new(s).unwrap()
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[21; 32])
}

pub fn at(leaf: u64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + leaf as i64 * 1000).unwrap()
}

#[derive(Clone, Copy)]
enum Step {
    Register(&'static str),
    AddKey,
    /// A signal of this source, signed with the key when true.
    Signal(&'static str, bool),
    Close(&'static str),
    /// A signal of [`SOURCE`] whose `prev` the (lying) log forged.
    ForgedPrev,
    /// A commitment of [`SOURCE`] to `{"signal": <its leaf>}` under the salt [leaf; 32], to be
    /// revealed before the time of this leaf.
    Commit {
        reveal_by: u64,
    },
    /// A reveal of the commitment at this leaf, with its salt, or (false) another.
    RevealOf {
        leaf: u64,
        salt_ok: bool,
    },
}

/// The payload and salt the commitment at `leaf` commits to.
pub fn committed(leaf: u64) -> (Value, [u8; SALT_LEN]) {
    (json!({"signal": leaf}), [leaf as u8; SALT_LEN])
}

/// The chained log: every record is format v2, sealed as the sequencer seals it.
#[derive(Debug)]
pub struct Log {
    pub signer: NoteSigner,
    log: MemoryLog,
    records: Vec<(Record, Vec<u8>)>,
    items: Vec<Option<Vec<u8>>>,
}

impl Log {
    fn new(steps: &[Step]) -> Log {
        let mut log = MemoryLog::new();
        let mut records: Vec<(Record, Vec<u8>)> = vec![];
        let mut items = vec![];
        let mut heads: HashMap<&str, (u64, Hash)> = HashMap::new();
        for (i, step) in steps.iter().enumerate() {
            let received = at(i as u64);
            let (source, record, item) = match *step {
                Step::Register(s) => {
                    let event = RegistryEvent::SourceRegistered {
                        schema_sha256: None,
                        schema_policy: SchemaPolicy::Reject,
                        require_signature: false,
                    };
                    let (r, item) = registry_record(origin(), sid(s), &event, received).unwrap();
                    (s, r, Some(item))
                }
                Step::AddKey => {
                    let key_id = KeyId::new("k1").unwrap();
                    let proof = prove_possession(&key(), &origin(), &sid(SOURCE), &key_id).unwrap();
                    let event = RegistryEvent::KeyAdded {
                        key_id,
                        public_key: key().verifying_key().to_bytes(),
                        proof: Some(proof),
                    };
                    let (r, item) =
                        registry_record(origin(), sid(SOURCE), &event, received).unwrap();
                    (SOURCE, r, Some(item))
                }
                Step::Signal(s, signed) => (s, signal(s, i, signed, received), None),
                Step::ForgedPrev => (SOURCE, signal(SOURCE, i, false, received), None),
                Step::Close(s) => {
                    let (r, item) = close_record(origin(), sid(s), received);
                    (s, r, Some(item))
                }
                Step::Commit { reveal_by } => {
                    let (payload, salt) = committed(i as u64);
                    let c = Commitment::new(&salt, &payload, None, at(reveal_by)).unwrap();
                    let item = c.to_item().unwrap();
                    (
                        SOURCE,
                        statement_record(Kind::Commitment, &item, vec![], received),
                        Some(item),
                    )
                }
                Step::RevealOf { leaf, salt_ok } => {
                    let (payload, mut salt) = committed(leaf);
                    if !salt_ok {
                        salt[0] ^= 1;
                    }
                    let item = Reveal::new(&salt, payload).to_item().unwrap();
                    let parent: Hash = crate::leaf_hash(&records[leaf as usize].1);
                    (
                        SOURCE,
                        statement_record(Kind::Reveal, &item, vec![parent], received),
                        Some(item),
                    )
                }
            };
            let head = heads.get(source).copied();
            let seq = head.map_or(0, |(s, _)| s + 1);
            let prev = match step {
                Step::ForgedPrev => Some(Hash::sha256(b"not the previous record")),
                _ => head.map(|(_, h)| h),
            };
            let bytes = record.unsealed().unwrap().seal(seq, prev, received);
            let sealed = Record::from_canonical_bytes(&bytes).unwrap();
            log.append(&bytes);
            heads.insert(source, (seq, crate::leaf_hash(&bytes)));
            records.push((sealed, bytes));
            items.push(item);
        }
        Log {
            signer: NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[22; 32])).unwrap(),
            log,
            records,
            items,
        }
    }

    pub fn trusted(&self) -> TrustedKeys {
        TrustedKeys::new([self.signer.verifier_key().clone()])
    }

    pub fn size(&self) -> u64 {
        self.log.size()
    }

    fn note(&self, size: u64) -> String {
        let checkpoint = Checkpoint::new(ORIGIN, size, self.log.root_at(size).unwrap());
        String::from_utf8(self.signer.sign_checkpoint(&checkpoint).unwrap()).unwrap()
    }

    pub fn entry(&self, leaf: u64, size: u64) -> Entry {
        let (record, bytes) = &self.records[leaf as usize];
        Entry {
            leaf_index: leaf,
            record: String::from_utf8(bytes.clone()).unwrap(),
            inclusion_proof: self.log.inclusion_proof(leaf, size).unwrap(),
            item: matches!(record.kind, Kind::Commitment | Kind::Reveal)
                .then(|| BASE64_STANDARD.encode(self.items[leaf as usize].as_ref().unwrap())),
        }
    }

    fn receipt(&self, leaf: u64, size: u64) -> Receipt {
        let entry = self.entry(leaf, size);
        Receipt {
            format: RECEIPT_FORMAT_V1.into(),
            leaf_hash: crate::leaf_hash(entry.record.as_bytes()),
            record: entry.record,
            leaf_index: leaf,
            inclusion_proof: entry.inclusion_proof,
            checkpoint: self.note(size),
            item: self.items[leaf as usize]
                .as_ref()
                .map(|data| ItemInclusion {
                    index: 0,
                    data: BASE64_STANDARD.encode(data),
                    proof: vec![],
                }),
            anchor: None,
        }
    }

    /// Leaves of `source`'s chain within the first `size` leaves, in sequence order.
    fn chain(&self, source: &str, size: u64) -> Vec<u64> {
        (0..size)
            .filter(|&i| self.records[i as usize].0.source.as_str() == source)
            .collect()
    }

    /// The honest bundle of `source` over `window` at the checkpoint of `size`, as the log
    /// serves it; `None` when no record after the window is in the checkpoint yet.
    pub fn bundle(&self, source: &str, window: Window, size: u64) -> Option<TrackRecord> {
        let chain = self.chain(source, size);
        let record = |leaf: u64| &self.records[leaf as usize].0;
        let starts = chain.iter().position(|&l| {
            let r = record(l);
            window.since.is_none_or(|s| r.received_at >= s)
                && window.from_seq.is_none_or(|f| r.seq.unwrap() >= f)
        })?;
        let inside: Vec<u64> = chain[starts..]
            .iter()
            .copied()
            .take_while(|&l| window.contains(record(l).seq.unwrap(), record(l).received_at))
            .collect();
        let mut inside = inside;
        let after = match chain.get(starts + inside.len()) {
            Some(&after) => after,
            // An open-ended window ends at the source's close record.
            None if window.until.is_none()
                && window.to_seq.is_none()
                && inside
                    .last()
                    .is_some_and(|&l| record(l).kind == Kind::Close) =>
            {
                inside.pop()?
            }
            None => return None,
        };
        let mut evidence = BTreeMap::new();
        for &l in &inside {
            if let Some(sig) = &record(l).signature {
                let key_id = sig.key_id.as_str();
                evidence.insert(key_id.to_string(), self.key_evidence(source, key_id, size));
            }
        }
        // The commitments, from before the window, of the window's reveals.
        let by_hash =
            |h: &Hash| (0..size).find(|&l| crate::leaf_hash(&self.records[l as usize].1) == *h);
        let commitments = inside
            .iter()
            .filter(|&&l| record(l).kind == Kind::Reveal)
            .filter_map(|&l| by_hash(&record(l).parents[0]))
            .filter(|c| !inside.contains(c))
            .map(|c| self.entry(c, size))
            .collect();
        Some(TrackRecord {
            format: TRACK_RECORD_FORMAT_V1.into(),
            commitments,
            source: sid(source),
            window,
            checkpoint: self.note(size),
            records: inside.iter().map(|&l| self.entry(l, size)).collect(),
            before: starts.checked_sub(1).map(|b| self.entry(chain[b], size)),
            after: self.entry(after, size),
            evidence,
            anchor: None,
        })
    }

    /// Evidence for a key of `source` (never retired in these logs) at the checkpoint of `size`.
    pub fn key_evidence(&self, source: &str, key_id: &str, size: u64) -> SourceEvidence {
        SourceEvidence {
            format: SOURCE_EVIDENCE_FORMAT_V1.into(),
            key_added: self.receipt(self.key_added_leaf(source, key_id), size),
            key_retired: None,
        }
    }

    fn key_added_leaf(&self, source: &str, key_id: &str) -> u64 {
        let leaf = self.records.iter().zip(&self.items).position(|((r, _), item)| {
            r.kind == Kind::Source
                && r.source.as_str() == source
                && item.as_deref().is_some_and(|i| {
                    matches!(RegistryEvent::from_item(i), Ok(RegistryEvent::KeyAdded { key_id: k, .. }) if k.as_str() == key_id)
                })
        });
        leaf.unwrap() as u64
    }
}

/// A record of [`SOURCE`] whose one item is `item`.
fn statement_record(kind: Kind, item: &[u8], parents: Vec<Hash>, received_at: Timestamp) -> Record {
    Record {
        content: item_content(item),
        kind,
        metadata: Default::default(),
        origin: origin(),
        parents,
        prev: None,
        quality: vec![],
        received_at,
        seq: None,
        signature: None,
        source: sid(SOURCE),
        v: FormatVersion::V2,
    }
}

fn signal(source: &str, i: usize, signed: bool, received_at: Timestamp) -> Record {
    let (content, _) = signal_content(&json!({"token": "BTC", "signal": i})).unwrap();
    let signature = signed.then(|| {
        SignedStatement::new(sid(source), Kind::Signal, content.clone())
            .sign_statement(
                &key(),
                KeyId::new("k1").unwrap(),
                Nonce::new(format!("nonce-{i:012}")).unwrap(),
                1_764_000_000,
            )
            .unwrap()
    });
    Record {
        content,
        kind: Kind::Signal,
        metadata: Default::default(),
        origin: origin(),
        parents: vec![],
        prev: None,
        quality: vec![],
        received_at,
        seq: None,
        signature,
        source: sid(source),
        v: FormatVersion::V2,
    }
}

/// The log the cases use: [`SOURCE`] registered, keyed and signalling, interleaved with
/// [`OTHER`], closed at the end.
pub fn log() -> Log {
    use Step::*;
    Log::new(&[
        Register(SOURCE),      // 0: seq 0
        AddKey,                // 1: seq 1
        Register(OTHER),       // 2
        Signal(SOURCE, true),  // 3: seq 2
        Signal(OTHER, false),  // 4
        Signal(SOURCE, true),  // 5: seq 3
        Signal(SOURCE, false), // 6: seq 4
        Signal(OTHER, false),  // 7
        Signal(SOURCE, true),  // 8: seq 5
        Signal(SOURCE, true),  // 9: seq 6
        Close(OTHER),          // 10
        Close(SOURCE),         // 11: seq 7
    ])
}

/// A log whose operator forged the `prev` of [`SOURCE`]'s record at leaf 3.
pub fn forged_log() -> Log {
    use Step::*;
    Log::new(&[
        Register(SOURCE),
        Signal(SOURCE, false),
        Signal(OTHER, false),
        ForgedPrev,
        Signal(SOURCE, false),
        Close(SOURCE),
    ])
}

/// The window of leaves 5..=8 of [`log`] ([`SOURCE`]'s seq 3..=5), by time.
pub fn middle() -> Window {
    Window {
        since: Some(at(5)),
        until: Some(at(9)),
        ..Window::default()
    }
}

/// Track-record cases: (description, bundle, the check it fails or `None`). Descriptions of
/// failing cases name the check after ": ".
pub fn cases() -> Vec<(String, TrackRecord, Option<&'static str>)> {
    let log = log();
    let size = log.size();
    let all = log.bundle(SOURCE, Window::default(), size).unwrap();
    let middle_bundle = log.bundle(SOURCE, middle(), size).unwrap();
    let by_seq = Window {
        from_seq: Some(2),
        to_seq: Some(3),
        ..Window::default()
    };
    let empty = Window {
        since: Some(Timestamp::from_unix_millis(T0 + 6_500).unwrap()),
        until: Some(Timestamp::from_unix_millis(T0 + 7_500).unwrap()),
        ..Window::default()
    };
    let valid = [
        ("the whole history, closed", all.clone()),
        ("a time window in the middle", middle_bundle.clone()),
        (
            "a window by sequence numbers",
            log.bundle(SOURCE, by_seq, size).unwrap(),
        ),
        (
            "an empty window between two records",
            log.bundle(SOURCE, empty, size).unwrap(),
        ),
    ];

    let edit = |b: &TrackRecord, f: &dyn Fn(&mut TrackRecord)| {
        let mut b = b.clone();
        f(&mut b);
        b
    };
    // Served from the checkpoint of size 9, where the window's last record (leaf 8) was the
    // newest of the source: with no record after it in that tree, the server passes it off as
    // the record after the window.
    let old = TrackRecord {
        window: Window {
            since: Some(at(5)),
            until: Some(at(10)),
            ..Window::default()
        },
        checkpoint: log.note(9),
        records: vec![log.entry(5, 9), log.entry(6, 9)],
        before: Some(log.entry(3, 9)),
        after: log.entry(8, 9),
        evidence: BTreeMap::from([("k1".to_string(), log.key_evidence(SOURCE, "k1", 9))]),
        ..middle_bundle.clone()
    };
    let other_record = log.entry(7, size);
    let forged = forged_log();
    let failing: Vec<(&str, TrackRecord, &'static str)> = vec![
        (
            "drop one record",
            edit(&middle_bundle, &|b| {
                b.records.remove(1);
            }),
            "seq_gap",
        ),
        (
            "drop the last record of the window",
            edit(&middle_bundle, &|b| {
                b.records.pop();
            }),
            "seq_gap",
        ),
        (
            "drop the first record of the window",
            edit(&middle_bundle, &|b| {
                b.records.remove(0);
            }),
            "seq_gap",
        ),
        (
            "reorder two records",
            edit(&middle_bundle, &|b| b.records.swap(0, 1)),
            "seq_gap",
        ),
        (
            "replace a record with one of another source",
            edit(&middle_bundle, &|b| b.records[1] = other_record.clone()),
            "wrong_source",
        ),
        (
            "cut the window short: the last record passed off as the one after",
            edit(&middle_bundle, &|b| {
                b.after = b.records.pop().unwrap();
            }),
            "window_cut_short",
        ),
        (
            "an older checkpoint that omits the newest records",
            old,
            "window_cut_short",
        ),
        (
            "drop the record before the window",
            edit(&middle_bundle, &|b| b.before = None),
            "missing_before",
        ),
        (
            "a record from outside the window",
            edit(&middle_bundle, &|b| b.window.until = Some(at(8))),
            "outside_window",
        ),
        (
            "a changed record",
            edit(&middle_bundle, &|b| {
                b.records[0].record = b.records[0].record.replace(r#""seq":3"#, r#""seq":9"#)
            }),
            "inclusion",
        ),
        (
            "a cut inclusion proof",
            edit(&middle_bundle, &|b| {
                b.records[2].inclusion_proof.pop();
            }),
            "inclusion",
        ),
        (
            "no evidence for a signing key",
            edit(&middle_bundle, &|b| b.evidence.clear()),
            "source_key_evidence",
        ),
        (
            "a checkpoint signed by another key",
            edit(&middle_bundle, &|b| {
                let other = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[23; 32])).unwrap();
                let checkpoint = Checkpoint::new(ORIGIN, size, log.log.root_at(size).unwrap());
                b.checkpoint =
                    String::from_utf8(other.sign_checkpoint(&checkpoint).unwrap()).unwrap();
            }),
            "checkpoint_signature",
        ),
        (
            "another format",
            edit(&middle_bundle, &|b| {
                b.format = "provlog-track-record/v0".into()
            }),
            "format",
        ),
        (
            "a prev the log forged",
            forged
                .bundle(SOURCE, Window::default(), forged.size())
                .unwrap(),
            "prev_mismatch",
        ),
    ];
    let c = commit_log();
    let csize = c.size();
    let committed_whole = c.bundle(SOURCE, Window::default(), csize).unwrap();
    let later = Window {
        since: Some(at(3)),
        ..Window::default()
    };
    let committed_later = c.bundle(SOURCE, later, csize).unwrap();
    let registration = c.entry(0, csize);
    let bad = |steps: &[Step]| {
        let log = Log::new(steps);
        log.bundle(SOURCE, Window::default(), log.size()).unwrap()
    };
    use Step::*;
    let valid = valid.into_iter().chain([
        (
            "commitments revealed, expired unrevealed and pending",
            committed_whole.clone(),
        ),
        (
            "a reveal whose commitment is before the window",
            committed_later.clone(),
        ),
    ]);
    let good = |leaf| RevealOf {
        leaf,
        salt_ok: true,
    };
    let failing = failing.into_iter().chain([
        (
            "drop the commitment a reveal opens",
            edit(&committed_later, &|b| b.commitments.clear()),
            "commitment_missing",
        ),
        (
            "a commitment that is not one",
            edit(&committed_later, &|b| {
                b.commitments[0] = registration.clone()
            }),
            "not_a_commitment",
        ),
        (
            "a reveal without its item",
            edit(&committed_whole, &|b| b.records[4].item = None),
            "item",
        ),
        (
            "a commitment whose item is not its content",
            edit(&committed_whole, &|b| {
                b.records[2].item = b.records[1].item.clone()
            }),
            "item",
        ),
        (
            "a reveal with the wrong salt the log let through",
            bad(&[
                Register(SOURCE),
                Commit { reveal_by: 9 },
                RevealOf {
                    leaf: 1,
                    salt_ok: false,
                },
                Close(SOURCE),
            ]),
            "reveal_does_not_open",
        ),
        (
            "a reveal after reveal_by the log let through",
            bad(&[
                Register(SOURCE),
                Commit { reveal_by: 2 },
                Signal(SOURCE, false),
                good(1),
                Close(SOURCE),
            ]),
            "reveal_outside_window",
        ),
        (
            "a second reveal the log let through",
            bad(&[
                Register(SOURCE),
                Commit { reveal_by: 9 },
                good(1),
                good(1),
                Close(SOURCE),
            ]),
            "second_reveal",
        ),
    ]);
    valid
        .map(|(desc, b)| (desc.to_string(), b, None))
        .chain(failing.map(|(desc, b, check)| (format!("{desc}: {check}"), b, Some(check))))
        .collect()
}

/// A log of [`SOURCE`]'s commitments: one revealed in time (leaf 1, at leaf 4), one left
/// unrevealed past its deadline (leaf 2), one still pending (leaf 5).
pub fn commit_log() -> Log {
    use Step::*;
    Log::new(&[
        Register(SOURCE),        // 0: seq 0
        Commit { reveal_by: 6 }, // 1
        Commit { reveal_by: 4 }, // 2: expires unrevealed
        Signal(SOURCE, false),   // 3
        RevealOf {
            leaf: 1,
            salt_ok: true,
        }, // 4
        Commit { reveal_by: 100 }, // 5: pending
        Signal(SOURCE, false),   // 6
        Close(SOURCE),           // 7
    ])
}
