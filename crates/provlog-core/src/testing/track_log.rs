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
    canonicalize, signal_content, FormatVersion, KeyId, Kind, LogOrigin, Nonce, Record,
    SignedStatement, SourceId, Timestamp,
};
use crate::registry::{prove_possession, registry_record, RegistryEvent, SchemaPolicy};
use crate::score::{ScoreKind, ScoringSpec};
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
    /// A commitment of [`SOURCE`] to `{"token": "BTC", "signal": signal}`.
    CommitSignal {
        reveal_by: u64,
        signal: i64,
    },
    /// A registry record of this source declaring its scoring spec.
    Declare(&'static str, fn() -> ScoringSpec),
    /// A signal of this source with this payload.
    Payload(&'static str, fn() -> Value),
    /// An outcome, by this source, of the record at `of`.
    Outcome {
        source: &'static str,
        of: u64,
        payload: fn() -> Value,
    },
}

/// The payload and salt the commitment at `leaf` commits to (a `Commit` step's).
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
        let mut payloads: HashMap<u64, Value> = HashMap::new();
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
                Step::Signal(s, signed) => {
                    let payload = json!({"token": "BTC", "signal": i});
                    let (r, item) = signal(s, &payload, i, signed, received);
                    (s, r, Some(item))
                }
                Step::ForgedPrev => {
                    let payload = json!({"token": "BTC", "signal": i});
                    let (r, item) = signal(SOURCE, &payload, i, false, received);
                    (SOURCE, r, Some(item))
                }
                Step::Payload(s, payload) => {
                    let (r, item) = signal(s, &payload(), i, false, received);
                    (s, r, Some(item))
                }
                Step::Declare(s, spec) => {
                    let event = RegistryEvent::ScoringDeclared { spec: spec() };
                    let (r, item) = registry_record(origin(), sid(s), &event, received).unwrap();
                    (s, r, Some(item))
                }
                Step::Outcome {
                    source,
                    of,
                    payload,
                } => {
                    let item = canonicalize(&payload()).unwrap();
                    let parent = crate::leaf_hash(&records[of as usize].1);
                    let mut r = statement_record(Kind::Outcome, &item, vec![parent], received);
                    r.source = sid(source);
                    (source, r, Some(item))
                }
                Step::Close(s) => {
                    let (r, item) = close_record(origin(), sid(s), received);
                    (s, r, Some(item))
                }
                Step::Commit { .. } | Step::CommitSignal { .. } => {
                    let (payload, salt) = committed(i as u64);
                    let (payload, reveal_by) = match *step {
                        Step::CommitSignal { reveal_by, signal } => {
                            (json!({"token": "BTC", "signal": signal}), reveal_by)
                        }
                        Step::Commit { reveal_by } => (payload, reveal_by),
                        _ => unreachable!(),
                    };
                    payloads.insert(i as u64, payload.clone());
                    let c = Commitment::new(&salt, &payload, None, at(reveal_by)).unwrap();
                    let item = c.to_item().unwrap();
                    (
                        SOURCE,
                        statement_record(Kind::Commitment, &item, vec![], received),
                        Some(item),
                    )
                }
                Step::RevealOf { leaf, salt_ok } => {
                    let (_, mut salt) = committed(leaf);
                    let payload = payloads[&leaf].clone();
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
            item: record
                .kind
                .is_one_json_item()
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
        let mut bundle = self.chain_bundle(source, window, size)?;
        let chain = self.chain(source, size);
        let declared = chain.iter().copied().find_map(|l| {
            let item = self.items[l as usize].as_deref()?;
            match RegistryEvent::from_item(item) {
                Ok(RegistryEvent::ScoringDeclared { spec }) => Some((l, spec)),
                _ => None,
            }
        });
        // Declared before the record after the window, as the server reads it.
        let Some((declaration, spec)) = declared.filter(|(l, _)| *l < bundle.after.leaf_index)
        else {
            return Some(bundle);
        };
        bundle.scoring = Some(self.entry(declaration, size));
        let first_scored = bundle.records.iter().find(|e| {
            let r = &self.records[e.leaf_index as usize].0;
            matches!(r.kind, Kind::Signal | Kind::Commitment) && e.leaf_index > declaration
        });
        if let Some(first) = first_scored {
            let outcome_source = spec.outcome_source(&bundle.source).to_string();
            // From the outcome source's first record after the first scored one.
            let from_seq = self
                .chain(&outcome_source, size)
                .iter()
                .filter(|&&l| l < first.leaf_index)
                .count() as u64;
            let window = Window {
                from_seq: Some(from_seq),
                ..Window::default()
            };
            bundle.outcomes = Some(Box::new(self.chain_bundle(
                &outcome_source,
                window,
                size,
            )?));
        }
        Some(bundle)
    }

    /// [`Log::bundle`] without scoring: the chain of `source` over `window`.
    fn chain_bundle(&self, source: &str, window: Window, size: u64) -> Option<TrackRecord> {
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
            scoring: None,
            outcomes: None,
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

/// A signal of `source` with `payload`, and its item.
fn signal(
    source: &str,
    payload: &Value,
    i: usize,
    signed: bool,
    received_at: Timestamp,
) -> (Record, Vec<u8>) {
    let (content, item) = signal_content(payload).unwrap();
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
    let record = Record {
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
    };
    (record, item)
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
    let (valid, failing) = score_cases(valid, failing);
    valid
        .map(|(desc, b)| (desc.to_string(), b, None))
        .chain(failing.map(|(desc, b, check)| (format!("{desc}: {check}"), b, Some(check))))
        .collect()
}

type Valid = (&'static str, TrackRecord);
type Failing = (&'static str, TrackRecord, &'static str);

/// The scoring cases, added to the others.
fn score_cases(
    valid: impl Iterator<Item = Valid>,
    failing: impl Iterator<Item = Failing>,
) -> (impl Iterator<Item = Valid>, impl Iterator<Item = Failing>) {
    let log = score_log();
    let size = log.size();
    let signals = log.bundle(SOURCE, Window::default(), size).unwrap();
    let later = Window {
        from_seq: Some(7),
        ..Window::default()
    };
    let predictions = prediction_log();
    let psize = predictions.size();
    let own = predictions
        .bundle(PREDICTIONS, Window::default(), psize)
        .unwrap();
    let edit = |b: &TrackRecord, f: &dyn Fn(&mut TrackRecord)| {
        let mut b = b.clone();
        f(&mut b);
        b
    };
    let outcomes =
        |f: &dyn Fn(&mut TrackRecord)| edit(&signals, &|b| f(b.outcomes.as_mut().unwrap()));
    let declared_twice = {
        use Step::*;
        let log = Log::new(&[
            Register(SOURCE),
            Declare(SOURCE, signal_spec),
            Declare(SOURCE, prediction_spec),
            Close(SOURCE),
        ]);
        log.bundle(SOURCE, Window::default(), log.size()).unwrap()
    };
    let own_declaration = {
        use Step::*;
        let log = Log::new(&[
            Register(SOURCE),
            Register(PRICES),
            Declare(SOURCE, signal_spec),
            Payload(SOURCE, || json!({"signal": 1})),
            Declare(PRICES, prediction_spec),
            Outcome {
                source: PRICES,
                of: 3,
                payload: || json!({"return": 0.01}),
            },
            Close(PRICES),
            Close(SOURCE),
        ]);
        log.bundle(SOURCE, Window::default(), log.size()).unwrap()
    };
    let second_later = {
        use Step::*;
        let log = Log::new(&[
            Register(SOURCE),
            Declare(SOURCE, signal_spec),
            Declare(SOURCE, prediction_spec),
            Close(SOURCE),
        ]);
        let from = Window {
            from_seq: Some(2),
            ..Window::default()
        };
        log.bundle(SOURCE, from, log.size()).unwrap()
    };
    let valid = valid.chain([
        ("signals scored by a price source", signals.clone()),
        (
            "the outcome source's own declaration does not apply to its outcomes",
            own_declaration,
        ),
        (
            "a later window of scored signals",
            log.bundle(SOURCE, later, size).unwrap(),
        ),
        ("predictions scored by their own source", own.clone()),
    ]);
    let failing = failing.chain([
        (
            "drop the scoring declaration",
            edit(&signals, &|b| b.scoring = None),
            "scoring_missing",
        ),
        (
            "a registry record passed off as the declaration",
            edit(&signals, &|b| b.scoring = Some(b.records[0].clone())),
            "scoring",
        ),
        (
            "a second declaration the log let through",
            declared_twice,
            "scoring",
        ),
        (
            "a second declaration in the window, the first named",
            second_later,
            "scoring",
        ),
        (
            "an outcome without its item",
            outcomes(&|o| o.records[1].item = None),
            "item",
        ),
        (
            "drop the outcomes",
            edit(&signals, &|b| b.outcomes = None),
            "outcomes_missing",
        ),
        (
            "drop an outcome",
            outcomes(&|o| {
                o.records.remove(1);
            }),
            "seq_gap",
        ),
        (
            "outcomes of another source than the spec's",
            edit(&signals, &|b| {
                let mut o = b.clone();
                o.scoring = None;
                o.outcomes = None;
                b.outcomes = Some(Box::new(o));
            }),
            "outcomes_source",
        ),
        (
            "outcomes starting after the first scored record",
            outcomes(&|o| {
                o.before = Some(o.records.remove(0));
                o.window.from_seq = Some(2);
            }),
            "outcomes_cut_short",
        ),
        (
            "outcomes ending before the checkpoint",
            outcomes(&|o| o.window.to_seq = Some(8)),
            "outcomes_cut_short",
        ),
        (
            "outcomes at another checkpoint",
            outcomes(&|o| o.checkpoint = log.note(size - 1)),
            "outcomes_checkpoint",
        ),
        (
            "a signal's payload swapped for another's",
            edit(&signals, &|b| b.records[4].item = b.records[3].item.clone()),
            "item",
        ),
        (
            "an outcome's payload swapped for another's",
            outcomes(&|o| o.records[1].item = o.records[0].item.clone()),
            "item",
        ),
    ]);
    (valid, failing)
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

/// The source of the outcomes in [`score_log`].
pub const PRICES: &str = "acme-prices";
/// The source of [`prediction_log`].
pub const PREDICTIONS: &str = "acme-predictions";

/// [`SOURCE`]'s spec in [`score_log`]: −1/0/1 at `/signal`, scored by [`PRICES`]' `/return`
/// two seconds (leaves) on.
pub fn signal_spec() -> ScoringSpec {
    ScoringSpec {
        kind: ScoreKind::Signals,
        value: "/signal".into(),
        outcome: "/return".into(),
        baseline: None,
        outcome_source: Some(sid(PRICES)),
        horizon_s: 2,
    }
}

/// [`PREDICTIONS`]' spec: the price predicted at `/predicted` from `/price_now`, its own
/// outcomes' `/price` two seconds on.
pub fn prediction_spec() -> ScoringSpec {
    ScoringSpec {
        kind: ScoreKind::Predictions,
        value: "/predicted".into(),
        outcome: "/price".into(),
        baseline: Some("/price_now".into()),
        outcome_source: None,
        horizon_s: 2,
    }
}

/// Signals of [`SOURCE`] scored by [`PRICES`]: the worked example of `docs/track-records.md`,
/// whose score `tests/vectors/scores.json` states as computed by hand. Comments: what each
/// record does to the score.
pub fn score_log() -> Log {
    use Step::*;
    fn outcome(of: u64, payload: fn() -> Value) -> Step {
        Outcome {
            source: PRICES,
            of,
            payload,
        }
    }
    Log::new(&[
        Register(SOURCE),                                          // 0: seq 0
        Register(PRICES),                                          // 1
        Payload(SOURCE, || json!({"token": "BTC", "signal": 1})),  // 2: before the spec
        Declare(SOURCE, signal_spec),                              // 3: seq 2
        Payload(SOURCE, || json!({"token": "BTC", "signal": 1})),  // 4: A, long
        Payload(SOURCE, || json!({"token": "ETH", "signal": -1})), // 5: B, short
        outcome(5, || json!({"return": 0.5})),                     // 6: too early for B
        outcome(4, || json!({"return": 0.02})),                    // 7: A +0.02, a hit
        Payload(SOURCE, || json!({"token": "BTC", "signal": 0})),  // 8: C, flat
        outcome(5, || json!({"return": 0.01})),                    // 9: B −0.01, a miss
        Payload(SOURCE, || json!({"token": "SOL", "signal": 1})),  // 10: D, long
        outcome(8, || json!({"return": -0.03})),                   // 11: C 0, flat
        Payload(SOURCE, || json!({"token": "BTC", "signal": 2})),  // 12: E, unscorable
        outcome(4, || json!({"return": 0.5})),                     // 13: A's second: ignored
        Payload(SOURCE, || json!({"token": "ETH", "signal": -1})), // 14: F, short
        outcome(10, || json!({"return": 0.05})),                   // 15: D +0.05, a hit
        outcome(14, || json!({"return": -0.04})),                  // 16: F +0.04, a hit
        Payload(SOURCE, || json!({"token": "BTC", "signal": 1})),  // 17: G, unresolved
        CommitSignal {
            reveal_by: 30,
            signal: -1,
        }, // 18: H, committed short
        CommitSignal {
            reveal_by: 21,
            signal: 1,
        }, // 19: I, expires unrevealed
        RevealOf {
            leaf: 18,
            salt_ok: true,
        }, // 20: H revealed
        outcome(20, || json!({"return": -0.02})),                  // 21: H +0.02, a hit
        CommitSignal {
            reveal_by: 1000,
            signal: 1,
        }, // 22: J, pending
        Close(PRICES),                                             // 23
        Close(SOURCE),                                             // 24
    ])
}

/// Predictions of [`PREDICTIONS`], with outcomes from the source itself.
pub fn prediction_log() -> Log {
    use Step::*;
    fn outcome(of: u64, payload: fn() -> Value) -> Step {
        Outcome {
            source: PREDICTIONS,
            of,
            payload,
        }
    }
    Log::new(&[
        Register(PREDICTIONS),                                                // 0
        Declare(PREDICTIONS, prediction_spec),                                // 1
        Payload(PREDICTIONS, || json!({"price_now": 100, "predicted": 103})), // 2: P1
        Payload(PREDICTIONS, || json!({"price_now": 50, "predicted": 48})),   // 3: P2
        outcome(2, || json!({"price": 101})),                                 // 4: P1 +2, right way
        outcome(3, || json!({"price": 51})),                                  // 5: P2 −3, wrong way
        Payload(PREDICTIONS, || json!({"price_now": 10, "predicted": 12})),   // 6: P3
        Payload(PREDICTIONS, || json!({"price_now": 10})),                    // 7: P4, unscorable
        outcome(6, || json!({"price": 11.5})), // 8: P3 +0.5, right way
        Close(PREDICTIONS),                    // 9
    ])
}
