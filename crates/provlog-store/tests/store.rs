//! The log's storage on both backends (see `backends`): sequencing, integration, leases,
//! checkpoints, idempotency, lookups and lineage.
#![allow(clippy::unwrap_used)]

mod backends;

use std::time::Duration;

use provlog_core::log::{self, MemoryLog};
use provlog_core::{leaf_hash, Hash};
use provlog_store::{NewRecord, SequenceOutcome, Store, StoreError, LEADER_LEASE};

const ORIGIN: &str = "example.com/provlog/store-test";

fn record(i: u64, parents: Vec<u64>) -> NewRecord {
    let source = format!("source-{}", i % 3);
    provlog_store::testing::new_record(ORIGIN, &source, i, parents, i % 2 == 1)
}

/// The stored leaf of record `index`.
async fn leaf(s: &Store, index: u64) -> provlog_store::StoredRecord {
    s.record(index)
        .await
        .unwrap()
        .expect("the record is stored")
}

async fn store(s: Store) -> Store {
    s.init_log(ORIGIN).await.unwrap();
    s
}

async fn lead(s: &Store, holder: &str) {
    assert!(s
        .acquire_lease(LEADER_LEASE, holder, Duration::from_secs(30))
        .await
        .unwrap());
}

backends::on_both_backends!(
    concurrent_batches_get_dense_unique_indexes,
    concurrent_writers_of_one_source_chain_densely,
    a_commitment_is_revealed_once_and_in_time,
    integration_matches_the_in_memory_log,
    only_the_lease_holder_integrates_and_checkpoints,
    idempotency_keys_replay_or_conflict,
    lookups_and_lineage,
    a_database_belongs_to_one_log,
);

fn new(outcome: SequenceOutcome) -> Vec<provlog_store::Sequenced> {
    match outcome {
        SequenceOutcome::New(v) => v,
        SequenceOutcome::Replayed(_) => panic!("expected a new batch"),
    }
}

async fn concurrent_batches_get_dense_unique_indexes(s: Store) {
    let s = store(s).await;
    let mut tasks = vec![];
    for t in 0..8u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let batch: Vec<NewRecord> = (0..25).map(|i| record(t * 100 + i, vec![])).collect();
            new(s.sequence(&batch, None).await.unwrap())
        }));
    }
    let mut indexes = vec![];
    for t in tasks {
        let got = t.await.unwrap();
        // A batch's indexes are contiguous.
        assert!(got.windows(2).all(|w| w[1].index == w[0].index + 1));
        indexes.extend(got.into_iter().map(|r| r.index));
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..200).collect::<Vec<_>>());
    assert_eq!(s.sizes().await.unwrap().sequenced, 200);
}

/// Many writers of the same two sources at once (each `Store` clone draws its own connections,
/// as replicas do): every source's records are numbered 0.. without gaps in log order, each
/// names the one before as `prev`, and times never go back along a chain.
async fn concurrent_writers_of_one_source_chain_densely(s: Store) {
    use provlog_core::record::{FormatVersion, Record};
    let s = store(s).await;
    let mut tasks = vec![];
    for t in 0..8u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..5u64 {
                let batch: Vec<NewRecord> = (0..6)
                    .map(|i| {
                        // Times in reverse of the order the writers reach the lock.
                        let n = 10_000 - (t * 100 + round * 10 + i);
                        let source = if i % 2 == 0 { "chain-a" } else { "chain-b" };
                        provlog_store::testing::new_record(ORIGIN, source, n, vec![], i == 3)
                    })
                    .collect();
                new(s.sequence(&batch, None).await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let size = s.sizes().await.unwrap().sequenced;
    assert_eq!(size, 8 * 5 * 6);
    let mut heads: std::collections::HashMap<String, (u64, Hash, i64)> = Default::default();
    for index in 0..size {
        let stored = leaf(&s, index).await;
        let r = Record::from_canonical_bytes(&stored.leaf).unwrap();
        assert_eq!(r.v, FormatVersion::V2);
        let source = r.source.to_string();
        let (seq, prev) = match heads.get(&source) {
            None => (0, None),
            Some(&(seq, hash, received)) => {
                assert!(stored.received_ms >= received, "time went back at {index}");
                (seq + 1, Some(hash))
            }
        };
        assert_eq!((r.seq, r.prev), (Some(seq), prev), "record {index}");
        assert_eq!(stored.received_ms, r.received_at.unix_millis());
        heads.insert(source, (seq, stored.leaf_hash, stored.received_ms));
    }
    assert_eq!(heads["chain-a"].0 + heads["chain-b"].0 + 2, size);
}

/// The sequencer's own checks of a reveal: its commitment is revealed once, and its sealed
/// time is before the commitment's deadline; a refused batch stores nothing.
async fn a_commitment_is_revealed_once_and_in_time(s: Store) {
    use provlog_store::Revealing;
    let s = store(s).await;
    new(s.sequence(&[record(0, vec![])], None).await.unwrap());
    let revealing = |reveal_by_ms| {
        let mut r = record(3, vec![0]);
        r.reveals = Some(Revealing {
            commitment: 0,
            reveal_by_ms,
        });
        r
    };
    assert!(matches!(
        s.sequence(&[revealing(1_764_000_000_000)], None).await,
        Err(StoreError::RevealTooLate { commitment: 0, .. })
    ));
    let far = 4_102_444_800_000;
    new(s.sequence(&[revealing(far)], None).await.unwrap());
    assert!(matches!(
        s.sequence(&[revealing(far)], None).await,
        Err(StoreError::AlreadyRevealed {
            commitment: 0,
            reveal: 1
        })
    ));
    assert_eq!(s.sizes().await.unwrap().sequenced, 2);
}

async fn integration_matches_the_in_memory_log(s: Store) {
    let s = store(s).await;
    lead(&s, "a").await;
    let mut mem = MemoryLog::new();
    let mut next = 0u64;
    // Uneven batches and integration steps cross many subtree boundaries.
    for batch in [1u64, 2, 5, 1, 17, 64, 3, 100] {
        let records: Vec<NewRecord> = (next..next + batch).map(|i| record(i, vec![])).collect();
        for r in new(s.sequence(&records, None).await.unwrap()) {
            mem.append(&leaf(&s, r.index).await.leaf);
        }
        next += batch;
        while let Some(size) = s.integrate("a", 7).await.unwrap() {
            let plan = log::root_plan(size).unwrap();
            let fetched = log::FetchedNodes::new(
                plan.iter().copied().zip(s.read_nodes(&plan).await.unwrap()),
            );
            assert_eq!(
                log::tree_root(size, &fetched).unwrap(),
                mem.root_at(size).unwrap()
            );
        }
    }
    assert_eq!(s.sizes().await.unwrap().integrated, next);
    // Every stored node equals the in-memory log's.
    let all: Vec<u64> = (0..log::stored_count(next)).collect();
    assert_eq!(s.read_nodes(&all).await.unwrap(), mem.stored_hashes());
    // Proofs from stored nodes verify.
    let plan = log::inclusion_plan(42, next).unwrap();
    let fetched =
        log::FetchedNodes::new(plan.iter().copied().zip(s.read_nodes(&plan).await.unwrap()));
    let proof = log::inclusion_proof(42, next, &fetched).unwrap();
    let hash = leaf(&s, 42).await.leaf_hash;
    log::verify_inclusion(42, next, &hash, &proof, &mem.root()).unwrap();
}

async fn only_the_lease_holder_integrates_and_checkpoints(s: Store) {
    let s = store(s).await;
    new(s.sequence(&[record(0, vec![])], None).await.unwrap());
    assert!(matches!(
        s.integrate("a", 10).await,
        Err(StoreError::NotLeader { .. })
    ));
    lead(&s, "a").await;
    assert!(!s
        .acquire_lease(LEADER_LEASE, "b", Duration::from_secs(30))
        .await
        .unwrap());
    assert!(matches!(
        s.integrate("b", 10).await,
        Err(StoreError::NotLeader { .. })
    ));
    assert_eq!(s.integrate("a", 10).await.unwrap(), Some(1));
    assert_eq!(s.integrate("a", 10).await.unwrap(), None);

    // An expired lease is taken over.
    assert!(s
        .acquire_lease(LEADER_LEASE, "a", Duration::from_millis(1))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    lead(&s, "b").await;
    assert_eq!(
        s.lease_holder(LEADER_LEASE).await.unwrap().as_deref(),
        Some("b")
    );
    let root = leaf(&s, 0).await.leaf_hash;
    assert!(matches!(
        s.store_checkpoint("a", 1, &root, "note").await,
        Err(StoreError::NotLeader { .. })
    ));
    s.store_checkpoint("b", 1, &root, "note").await.unwrap();
    s.store_checkpoint("b", 1, &root, "note").await.unwrap();
    assert!(matches!(
        s.store_checkpoint("b", 1, &Hash::default(), "other").await,
        Err(StoreError::CheckpointConflict { size: 1 })
    ));
    assert_eq!(s.latest_checkpoint().await.unwrap().unwrap().size, 1);
    s.release_lease(LEADER_LEASE, "b").await.unwrap();
    assert_eq!(s.lease_holder(LEADER_LEASE).await.unwrap(), None);
}

async fn idempotency_keys_replay_or_conflict(s: Store) {
    let s = store(s).await;
    let batch = vec![record(1, vec![]), record(2, vec![])];
    let key = Some(("client-key-1", Hash::sha256(b"request A")));
    let first = new(s.sequence(&batch, key).await.unwrap());
    assert_eq!(
        s.sequence(&batch, key).await.unwrap(),
        SequenceOutcome::Replayed(first.clone())
    );
    assert!(matches!(
        s.sequence(&batch, Some(("client-key-1", Hash::sha256(b"request B"))))
            .await,
        Err(StoreError::IdempotencyConflict { .. })
    ));
    // Concurrent retries: one batch is stored, all callers get it.
    let key2 = ("client-key-2", Hash::sha256(b"request C"));
    let mut tasks = vec![];
    for _ in 0..6 {
        let (s, batch) = (s.clone(), batch.clone());
        tasks.push(tokio::spawn(async move {
            s.sequence(&batch, Some(key2)).await.unwrap()
        }));
    }
    let mut results = vec![];
    for t in tasks {
        results.push(match t.await.unwrap() {
            SequenceOutcome::New(v) | SequenceOutcome::Replayed(v) => v,
        });
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(
        s.sizes().await.unwrap().sequenced,
        4,
        "no duplicates, no gaps"
    );
}

async fn lookups_and_lineage(s: Store) {
    let s = store(s).await;
    // 0 <- 1 <- 2 <- 3, and 3 also derives from 0.
    new(s.sequence(&[record(0, vec![])], None).await.unwrap());
    new(s.sequence(&[record(1, vec![0])], None).await.unwrap());
    new(s
        .sequence(&[record(2, vec![1]), record(3, vec![2, 0])], None)
        .await
        .unwrap());
    let got = leaf(&s, 3).await;
    assert_eq!(got.leaf_hash, leaf_hash(&got.leaf));
    let parsed = provlog_core::record::Record::from_canonical_bytes(&got.leaf).unwrap();
    assert_eq!(parsed.content.root, record(3, vec![]).content_root);
    assert_eq!(s.parents(3).await.unwrap(), vec![0, 2]);
    assert_eq!(
        s.items(1).await.unwrap(),
        vec![br#"{"row":"a"}"#.to_vec(), br#"{"row":1}"#.to_vec()]
    );
    assert!(s.record(9).await.unwrap().is_none());

    let hashes = [leaf(&s, 2).await.leaf_hash, Hash::default()];
    assert_eq!(
        s.resolve_parents(&hashes).await.unwrap(),
        vec![Some(2), None]
    );

    let up = s.lineage(3, 10, 100).await.unwrap();
    let ancestors: Vec<(u64, u64, u32)> = up
        .ancestors
        .iter()
        .map(|e| (e.child, e.parent, e.depth))
        .collect();
    assert_eq!(ancestors, vec![(3, 0, 1), (3, 2, 1), (2, 1, 2), (1, 0, 3)]);
    let down = s.lineage(0, 1, 100).await.unwrap();
    assert_eq!(down.descendants.len(), 2);
    assert!(s
        .lineage(3, 1, 100)
        .await
        .unwrap()
        .ancestors
        .iter()
        .all(|e| e.depth == 1));

    let by_source = s
        .find_records(&provlog_store::RecordFilter {
            source: Some("source-0".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_source.iter().map(|r| r.index).collect::<Vec<_>>(),
        vec![0, 3]
    );
    let by_root = s
        .find_records(&provlog_store::RecordFilter {
            content_root: Some(record(2, vec![]).content_root),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_root.len(), 1);
    for (kind, n) in [("signal", 2), ("snapshot", 2), ("source", 0)] {
        let filter = provlog_store::RecordFilter {
            kind: Some(kind.into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(s.find_records(&filter).await.unwrap().len(), n, "{kind}");
    }
    let page = s
        .find_records(&provlog_store::RecordFilter {
            after: Some(1),
            limit: 1,
            since_ms: Some(1_764_000_000_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page[0].index, 2);
    assert_eq!(s.leaves(1, 2).await.unwrap().len(), 2);
}

async fn a_database_belongs_to_one_log(s: Store) {
    let s = store(s).await;
    s.init_log(ORIGIN).await.unwrap();
    assert!(matches!(
        s.init_log("other.example/log").await,
        Err(StoreError::WrongLog { .. })
    ));
}

/// Databases migrated before the SQLite backend existed recorded these versions and checksums
/// (SHA-384 of each file) in `_sqlx_migrations`, and sqlx refuses a database whose applied
/// migrations changed: the files moved to `migrations/postgres/` must stay byte for byte.
#[test]
fn postgres_migrations_are_the_ones_existing_databases_applied() {
    let applied: Vec<(i64, String)> = provlog_store::postgres::MIGRATOR
        .iter()
        .take(3)
        .map(|m| {
            let checksum = m.checksum.iter().map(|b| format!("{b:02x}")).collect();
            (m.version, checksum)
        })
        .collect();
    assert_eq!(
        applied,
        [
            (20261127000001, "f674f7c41ea4a5a7f7c0a6d0246eb2e7d345a3edf21b08f95c0913c063806afa0a486f93b053f5cf17656ec49271dbf0".to_string()),
            (20261127000002, "c27f753161717fa130eeb8ddc07541916965c5ae8b829f64d9441f871596ceb6597cb169c5b1ecb01d000e6a229f7a19".to_string()),
            (20261127000003, "6850f870c0813f2a8d05cf9813b5585721821bcbf1eae920409bb7483ca92c1dd92121759dc8214b075bbc01941f2e55".to_string()),
        ]
    );
}
