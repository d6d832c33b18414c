//! Track-record bundles of 100,000 records: building one in memory, verifying it, and parsing
//! it, against verifying the same 100,000 records as plain receipts at the same checkpoint,
//! measured in the same run.
//!
//! Setup (not measured): a chained log (format v2, sealed as the sequencer seals) of one source
//! with 100,003 records — its registration, a `KeyAdded` registry record with a proof of
//! possession, then signals, every fourth signed by the registered key — interleaved with a
//! second source (one leaf in eleven), about 110,000 leaves, and a signed checkpoint at the full
//! size. The bundle's window is the source's seq 2..=100,001: 100,000 signals, the `KeyAdded`
//! record before it, the next signal after it, and the key's evidence.
//!
//! - `a_build_memory_log`: the bundle from the log: each entry's inclusion proof straight from
//!   the [`MemoryLog`], every record parsed to collect its signing key, the key's evidence
//!   (an item receipt of the registry record), the [`TrackRecord`] assembled.
//! - `a_build_server_path`: the same, with proofs made as the server makes them (stored-hash
//!   plan per chunk of 2,000 leaves, hashes looked up into [`FetchedNodes`]; the lookup in the
//!   log's stored hashes stands in for the database read).
//! - `a_proofs_only_memory_log`: just the 100,002 inclusion proofs of the first.
//! - `b_verify_bundle`: [`verify_track_record`].
//! - `b_evidence_only`: [`verify_source_evidence`] once per signed record of the window, the
//!   part of the bundle's verification that plain receipts do not do.
//! - `c_receipts_verifier` (baseline): the window's 100,000 records as plain receipts at the same
//!   checkpoint, parsed structs, one fresh [`ReceiptVerifier`] per iteration (the checkpoint's
//!   signature checked once, as in the bundle).
//! - `c_receipts_cold`: the same receipts with [`verify_receipt`] each (the checkpoint's
//!   signature checked every time).
//! - `d_parse_bundle_json`: [`TrackRecord::from_json`] of the compact bundle JSON (as served);
//!   `d_parse_receipts_json`: the 100,000 receipts' JSON, each parsed.
//!
//! Outputs (bundles, verified bundles, proofs) are dropped outside the timed part. With
//! `TRACK_RECORD_CPU_ROUNDS=n` the same variants then run round-robin `n` more times, timed in
//! the thread's CPU time (steadier on a shared machine; see [`cpu_time_rounds`]).
#![allow(clippy::unwrap_used)]

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use provlog_core::checkpoint::{Checkpoint, NoteSigner, TrustedKeys};
use provlog_core::evidence::{verify_source_evidence, SourceEvidence, SOURCE_EVIDENCE_FORMAT_V1};
use provlog_core::log::{self, FetchedNodes, MemoryLog};
use provlog_core::receipt::{
    verify_receipt, ItemInclusion, Receipt, ReceiptVerifier, RECEIPT_FORMAT_V1,
};
use provlog_core::record::{
    signal_content, FormatVersion, KeyId, Kind, LogOrigin, Nonce, Record, SignedStatement,
    SourceId, Timestamp,
};
use provlog_core::registry::{prove_possession, registry_record, RegistryEvent, SchemaPolicy};
use provlog_core::track_record::{
    verify_track_record, Entry, TrackRecord, Window, TRACK_RECORD_FORMAT_V1,
};
use provlog_core::Hash;
use serde_json::{json, Map};

const ORIGIN: &str = "example.com/provlog/bench";
const SOURCE: &str = "acme-signals";
const OTHER: &str = "other-signals";
const KEY_ID: &str = "k1";
/// Records in the bundle's window.
const WINDOW: u64 = 100_000;
/// Every this many leaves (from leaf 3 on), one is of [`OTHER`].
const OTHER_EVERY: u64 = 11;
/// Every this many of [`SOURCE`]'s signals is signed by its registered key.
const SIGNED_EVERY: u64 = 4;
/// Leaves whose inclusion proofs the server plans and reads together.
const PROOF_CHUNK: usize = 2_000;
/// Time of leaf 0; leaf i is received i × 10 ms later.
const T0: i64 = 1_764_000_000_000;

fn origin() -> LogOrigin {
    LogOrigin::new(ORIGIN).unwrap()
}

fn sid(s: &str) -> SourceId {
    SourceId::new(s).unwrap()
}

fn at(leaf: u64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + leaf as i64 * 10).unwrap()
}

/// A measured variant; its output is returned, to be dropped outside the timed part.
type Routine<'a> = Box<dyn Fn() -> Box<dyn Any> + 'a>;

struct Bench {
    log: MemoryLog,
    /// Canonical bytes of every leaf.
    leaves: Vec<Vec<u8>>,
    /// Each leaf's one item (a signal's payload, a registry event), as the log stores it.
    items: Vec<Vec<u8>>,
    /// Leaves of [`SOURCE`] in sequence order.
    chain: Vec<u64>,
    /// The leaf of the `KeyAdded` record and its item (the event).
    key_added: (u64, Vec<u8>),
    signer: NoteSigner,
    /// Signed checkpoint at the full size (read from the store by the server).
    note: String,
}

impl Bench {
    fn new() -> Bench {
        let source_key = SigningKey::from_bytes(&[31; 32]);
        let mut log = MemoryLog::with_capacity(125_000);
        let mut leaves = Vec::new();
        let mut items = Vec::new();
        let mut chain = Vec::new();
        let mut key_added = None;
        let mut heads: HashMap<&str, (u64, Hash)> = HashMap::new();
        let mut metadata = Map::new();
        metadata.insert("model".into(), json!("grader-v3"));
        // The source's records: registration, key, then signals up to the record after the
        // window (seq WINDOW + 2).
        while heads.get(SOURCE).is_none_or(|&(seq, _)| seq < WINDOW + 2) {
            let i = leaves.len() as u64;
            let received = at(i);
            let (source, record, item) = match i {
                0 | 2 => {
                    let s = if i == 0 { SOURCE } else { OTHER };
                    let event = RegistryEvent::SourceRegistered {
                        schema_sha256: None,
                        schema_policy: SchemaPolicy::Reject,
                        require_signature: false,
                    };
                    let (r, item) = registry_record(origin(), sid(s), &event, received).unwrap();
                    (s, r, item)
                }
                1 => {
                    let key_id = KeyId::new(KEY_ID).unwrap();
                    let proof =
                        prove_possession(&source_key, &origin(), &sid(SOURCE), &key_id).unwrap();
                    let event = RegistryEvent::KeyAdded {
                        key_id,
                        public_key: source_key.verifying_key().to_bytes(),
                        proof: Some(proof),
                    };
                    let (r, item) =
                        registry_record(origin(), sid(SOURCE), &event, received).unwrap();
                    key_added = Some((i, item.clone()));
                    (SOURCE, r, item)
                }
                _ => {
                    let s = if i.is_multiple_of(OTHER_EVERY) {
                        OTHER
                    } else {
                        SOURCE
                    };
                    let seq = heads.get(s).map_or(0, |&(seq, _)| seq + 1);
                    let payload = json!({"token": "ETH", "signal": (i % 3) as i64 - 1,
                        "trend": "up", "trader_grade": 61.5 + (i % 80) as f64 / 8.0, "leaf": i});
                    let (content, item) = signal_content(&payload).unwrap();
                    let signature = (s == SOURCE && seq.is_multiple_of(SIGNED_EVERY)).then(|| {
                        SignedStatement::new(sid(s), Kind::Signal, content.clone())
                            .with_metadata(metadata.clone())
                            .sign_statement(
                                &source_key,
                                KeyId::new(KEY_ID).unwrap(),
                                Nonce::new(format!("nonce-{i:012}")).unwrap(),
                                1_764_000_000 + i / 100,
                            )
                            .unwrap()
                    });
                    let record = Record {
                        content,
                        kind: Kind::Signal,
                        metadata: metadata.clone(),
                        origin: origin(),
                        parents: vec![],
                        prev: None,
                        quality: vec![],
                        received_at: received,
                        seq: None,
                        signature,
                        source: sid(s),
                        v: FormatVersion::V2,
                    };
                    (s, record, item)
                }
            };
            let head = heads.get(source).copied();
            let seq = head.map_or(0, |(s, _)| s + 1);
            let bytes = record
                .unsealed()
                .unwrap()
                .seal(seq, head.map(|(_, h)| h), received);
            log.append(&bytes);
            heads.insert(source, (seq, provlog_core::leaf_hash(&bytes)));
            if source == SOURCE {
                chain.push(i);
            }
            leaves.push(bytes);
            items.push(item);
        }
        // A few more leaves of the other source after the bundle's last record.
        for _ in 0..5 {
            let i = leaves.len() as u64;
            let (content, item) = signal_content(&json!({"token": "BTC", "leaf": i})).unwrap();
            let record = Record {
                content,
                kind: Kind::Signal,
                metadata: Map::new(),
                origin: origin(),
                parents: vec![],
                prev: None,
                quality: vec![],
                received_at: at(i),
                seq: None,
                signature: None,
                source: sid(OTHER),
                v: FormatVersion::V2,
            };
            let (seq, prev) = heads[OTHER];
            let bytes = record.unsealed().unwrap().seal(seq + 1, Some(prev), at(i));
            log.append(&bytes);
            heads.insert(OTHER, (seq + 1, provlog_core::leaf_hash(&bytes)));
            leaves.push(bytes);
            items.push(item);
        }
        let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[32; 32])).unwrap();
        let checkpoint = Checkpoint::new(ORIGIN, log.size(), log.root());
        let note = String::from_utf8(signer.sign_checkpoint(&checkpoint).unwrap()).unwrap();
        Bench {
            log,
            leaves,
            items,
            chain,
            key_added: key_added.unwrap(),
            signer,
            note,
        }
    }

    fn trusted(&self) -> TrustedKeys {
        TrustedKeys::new([self.signer.verifier_key().clone()])
    }

    fn size(&self) -> u64 {
        self.log.size()
    }

    fn window() -> Window {
        Window {
            from_seq: Some(2),
            to_seq: Some(WINDOW + 1),
            ..Window::default()
        }
    }

    /// The leaves the bundle holds: the record before the window (seq 1) to the one after it.
    fn rows(&self) -> &[u64] {
        &self.chain[1..=(WINDOW + 2) as usize]
    }

    fn record_string(&self, leaf: u64) -> String {
        String::from_utf8(self.leaves[leaf as usize].clone()).unwrap()
    }

    fn receipt(&self, leaf: u64) -> Receipt {
        Receipt {
            format: RECEIPT_FORMAT_V1.into(),
            record: self.record_string(leaf),
            leaf_hash: provlog_core::leaf_hash(&self.leaves[leaf as usize]),
            leaf_index: leaf,
            inclusion_proof: self.log.inclusion_proof(leaf, self.size()).unwrap(),
            checkpoint: self.note.clone(),
            item: None,
            anchor: None,
        }
    }

    /// The plain receipts of the window's records.
    fn window_receipts(&self) -> Vec<Receipt> {
        let rows = self.rows();
        rows[1..rows.len() - 1]
            .iter()
            .map(|&l| self.receipt(l))
            .collect()
    }

    /// Inclusion proofs of `leaves` as the server makes them: per chunk, the stored hashes the
    /// proofs need are planned, read (here: looked up in the log's stored hashes) and served
    /// from a [`FetchedNodes`].
    fn server_proofs(&self, leaves: &[u64]) -> Vec<Vec<Hash>> {
        let size = self.size();
        let stored = self.log.stored_hashes();
        let mut proofs = Vec::with_capacity(leaves.len());
        for chunk in leaves.chunks(PROOF_CHUNK) {
            let mut plan = BTreeSet::new();
            for &leaf in chunk {
                plan.extend(log::inclusion_plan(leaf, size).unwrap());
            }
            let nodes = FetchedNodes::new(plan.into_iter().map(|i| (i, stored[i as usize])));
            for &leaf in chunk {
                proofs.push(log::inclusion_proof(leaf, size, &nodes).unwrap());
            }
        }
        proofs
    }

    /// The bundle, assembled as the server assembles it from the chain's rows and their proofs.
    fn bundle(&self, server_path: bool) -> TrackRecord {
        let size = self.size();
        let rows = self.rows();
        let proofs = if server_path {
            self.server_proofs(rows)
        } else {
            rows.iter()
                .map(|&l| self.log.inclusion_proof(l, size).unwrap())
                .collect()
        };
        let mut entries: Vec<Entry> = rows
            .iter()
            .zip(proofs)
            .map(|(&leaf, inclusion_proof)| Entry {
                leaf_index: leaf,
                record: self.record_string(leaf),
                inclusion_proof,
                // As the server sends them: every signal with its payload.
                item: Some(BASE64_STANDARD.encode(&self.items[leaf as usize])),
            })
            .collect();
        let after = entries.pop().unwrap();
        let before = Some(entries.remove(0));
        let mut keys = BTreeSet::new();
        for e in &entries {
            if let Some(sig) = Record::from_canonical_bytes(e.record.as_bytes())
                .unwrap()
                .signature
            {
                keys.insert(sig.key_id);
            }
        }
        let mut evidence = BTreeMap::new();
        for key_id in keys {
            assert_eq!(key_id.as_str(), KEY_ID);
            evidence.insert(key_id.to_string(), self.key_evidence());
        }
        TrackRecord {
            format: TRACK_RECORD_FORMAT_V1.into(),
            source: sid(SOURCE),
            window: Self::window(),
            checkpoint: self.note.clone(),
            records: entries,
            before,
            after,
            commitments: Vec::new(),
            evidence,
            anchor: None,
            scoring: None,
            outcomes: None,
        }
    }

    /// The registry evidence of the source's key: the `KeyAdded` record's item receipt.
    fn key_evidence(&self) -> SourceEvidence {
        let (leaf, item) = &self.key_added;
        let mut key_added = self.receipt(*leaf);
        key_added.item = Some(ItemInclusion {
            index: 0,
            data: BASE64_STANDARD.encode(item),
            proof: vec![],
        });
        SourceEvidence {
            format: SOURCE_EVIDENCE_FORMAT_V1.into(),
            key_added,
            key_retired: None,
        }
    }
}

fn bench(c: &mut Criterion) {
    let b = Bench::new();
    let trusted = b.trusted();
    let bundle = b.bundle(false);
    assert_eq!(bundle, b.bundle(true));
    let verified = verify_track_record(&bundle, &trusted).unwrap();
    let signed = verified.records.iter().filter(|e| e.key.is_some()).count();
    assert_eq!(verified.records.len() as u64, WINDOW);
    let receipts = b.window_receipts();
    let receipt_jsons: Vec<Vec<u8>> = receipts.iter().map(Receipt::to_json).collect();
    let json = serde_json::to_vec(&bundle).unwrap();
    let pretty = bundle.to_json_pretty();
    let receipts_bytes: usize = receipt_jsons.iter().map(Vec::len).sum();
    let proof_hashes: usize = bundle.records.iter().map(|e| e.inclusion_proof.len()).sum();
    eprintln!(
        "track_record: {} leaves, {} records of {SOURCE} ({} in the window, {signed} signed by \
         key {KEY_ID}), checkpoint at size {}",
        b.size(),
        b.chain.len(),
        bundle.records.len(),
        b.size(),
    );
    eprintln!(
        "track_record: bundle JSON {} bytes compact ({:.1} MB, {:.0} B/record), {} bytes pretty \
         ({:.1} MB); {:.1} proof hashes/record; the 100,000 receipts' JSON together {} bytes \
         ({:.1} MB)",
        json.len(),
        json.len() as f64 / 1e6,
        json.len() as f64 / WINDOW as f64,
        pretty.len(),
        pretty.len() as f64 / 1e6,
        proof_hashes as f64 / WINDOW as f64,
        receipts_bytes,
        receipts_bytes as f64 / 1e6,
    );
    // The window's signed records as verified receipts, for the evidence check alone.
    let evidence = bundle.evidence.get(KEY_ID).unwrap();
    let signed_receipts: Vec<_> = receipts
        .iter()
        .map(|r| verify_receipt(r, &trusted).unwrap())
        .filter(|r| r.source_signature.is_some())
        .collect();
    assert_eq!(signed_receipts.len(), signed);

    let per_record = Throughput::Elements(WINDOW);
    let variants: Vec<(&str, Throughput, Routine)> = vec![
        (
            "a_build_memory_log",
            per_record.clone(),
            Box::new(|| Box::new(b.bundle(false))),
        ),
        (
            "a_build_server_path",
            per_record.clone(),
            Box::new(|| Box::new(b.bundle(true))),
        ),
        (
            "a_proofs_only_memory_log",
            per_record.clone(),
            Box::new(|| {
                let proofs: Vec<Vec<Hash>> = b
                    .rows()
                    .iter()
                    .map(|&l| b.log.inclusion_proof(l, b.size()).unwrap())
                    .collect();
                Box::new(proofs)
            }),
        ),
        (
            "b_verify_bundle",
            per_record.clone(),
            Box::new(|| Box::new(verify_track_record(&bundle, &trusted).unwrap())),
        ),
        (
            "b_evidence_only",
            Throughput::Elements(signed as u64),
            Box::new(|| {
                for r in &signed_receipts {
                    verify_source_evidence(r, Some(evidence), &trusted).unwrap();
                }
                Box::new(())
            }),
        ),
        (
            "c_receipts_verifier",
            per_record.clone(),
            Box::new(|| {
                let v = ReceiptVerifier::new(b.trusted());
                for r in &receipts {
                    v.verify(r).unwrap();
                }
                Box::new(())
            }),
        ),
        (
            "c_receipts_cold",
            per_record.clone(),
            Box::new(|| {
                for r in &receipts {
                    verify_receipt(r, &trusted).unwrap();
                }
                Box::new(())
            }),
        ),
        (
            "d_parse_bundle_json",
            Throughput::Bytes(json.len() as u64),
            Box::new(|| Box::new(TrackRecord::from_json(&json).unwrap())),
        ),
        (
            "d_parse_receipts_json",
            Throughput::Bytes(receipts_bytes as u64),
            Box::new(|| {
                for j in &receipt_jsons {
                    Receipt::from_json(j).unwrap();
                }
                Box::new(())
            }),
        ),
    ];

    let mut g = c.benchmark_group("track_record");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for (name, throughput, routine) in &variants {
        g.throughput(throughput.clone());
        g.bench_function(*name, |x| x.iter_with_large_drop(routine));
    }
    g.finish();

    cpu_time_rounds(&variants);
}

/// With `TRACK_RECORD_CPU_ROUNDS=n` (Linux): after criterion, the variants again, round-robin
/// `n` times in this thread, each timed in the thread's own CPU time
/// (`/proc/thread-self/schedstat`), which time spent waiting for a core on a shared machine
/// does not inflate. Prints each variant's best and median.
fn cpu_time_rounds(variants: &[(&str, Throughput, Routine)]) {
    let Some(rounds) = std::env::var("TRACK_RECORD_CPU_ROUNDS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 0)
    else {
        return;
    };
    // Nanoseconds on a CPU and waiting for one, of this thread so far.
    let schedstat = || -> (u64, u64) {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
        let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().unwrap());
        (fields.next().unwrap(), fields.next().unwrap())
    };
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut waited: Vec<f64> = vec![0.0; variants.len()];
    for _ in 0..rounds {
        for (i, (_, _, routine)) in variants.iter().enumerate() {
            let (run0, wait0) = schedstat();
            let out = routine();
            let (run1, wait1) = schedstat();
            drop(out);
            cpu[i].push((run1 - run0) as f64 / 1e9);
            waited[i] += (wait1 - wait0) as f64 / 1e9;
        }
    }
    eprintln!("track_record CPU time, {rounds} rounds round-robin (best / median, s; waited for a core, s in total):");
    for (i, (name, _, _)) in variants.iter().enumerate() {
        let t = &mut cpu[i];
        t.sort_by(f64::total_cmp);
        eprintln!(
            "  {name:<26} {:>8.3} / {:>8.3}   waited {:.2}",
            t[0],
            t[t.len() / 2],
            waited[i]
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
