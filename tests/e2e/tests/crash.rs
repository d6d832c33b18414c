//! Crash test: `provlog serve` is killed with SIGKILL at random moments while several clients
//! ingest batches and single records, and restarted on the same database each time. Clients
//! retry every request under its idempotency key until it is acknowledged. Afterwards:
//!
//! - indexes are dense (`count = max + 1 = next_index`), everything is integrated, and the
//!   stored node hashes are exactly those of the tree;
//! - every acknowledged record is at its acknowledged index with its acknowledged leaf hash, and
//!   each stored leaf hashes to its stored leaf hash;
//! - each idempotency key has exactly its batch's records (no retry logged twice);
//! - every signed checkpoint verifies, is a prefix of the final tree, and is consistent with
//!   every earlier one (all pairs in memory; consecutive pairs through the API's proofs);
//! - sampled receipts (at the latest and at older checkpoints) verify with the core library.
//!
//! Every fifth round also stops the server gracefully (SIGTERM) under load: it must exit 0.
//!
//! `PROVLOG_CRASH_ROUNDS` (default 20) sets the number of kills; `PROVLOG_CRASH_RECEIPTS`
//! (default 2000) the receipt sample.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use provlog_client::{digest, signal, snapshot, Ack, Client, Submission};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::log::{stored_count, verify_consistency, MemoryLog};
use provlog_core::receipt::ReceiptVerifier;
use provlog_core::Hash;
use provlog_e2e::{wait_for, Fixture, Server, TestDb};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const ORIGIN: &str = "example.com/provlog/crash";
const CLIENTS: usize = 4;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An acknowledged request.
#[derive(Debug)]
struct Acked {
    key: String,
    acks: Vec<Ack>,
    /// The answer was a replay: an earlier attempt had landed but its answer was lost.
    replayed: bool,
}

#[derive(Default)]
struct Shared {
    /// A client of the server currently running (the last started one).
    client: RwLock<Option<Client>>,
    stop: AtomicBool,
    acked: Mutex<Vec<Acked>>,
    retries: AtomicU64,
}

/// Record `i` of request `key`, tagged so that the log itself says which request it came from.
fn record(key: &str, i: usize, rng: &mut impl Rng) -> Value {
    let mut r = match rng.gen_range(0..10) {
        0 | 1 => snapshot(
            "crash-grades",
            (0..rng.gen_range(1..4))
                .map(|row| json!({"row": row, "grade": rng.gen_range(0..100)}))
                .collect(),
        ),
        2 => digest(
            "crash-files",
            Hash::sha256(format!("{key}/{i}").as_bytes()),
            1,
        ),
        _ => signal(
            "crash-signals",
            json!({"grade": rng.gen_range(0..100), "i": i}),
        ),
    };
    r["metadata"] = json!({"idem": key, "i": i});
    r
}

/// One client: builds requests and submits each until it is acknowledged, across crashes.
async fn client_task(id: usize, shared: Arc<Shared>) -> Result<(), String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(id as u64);
    let mut seq = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        let key = format!("c{id}-r{seq}");
        seq += 1;
        let n = if rng.gen_bool(0.3) {
            1
        } else {
            rng.gen_range(2..=100)
        };
        let records: Vec<Value> = (0..n).map(|i| record(&key, i, &mut rng)).collect();
        let submission = if n == 1 {
            Submission::one(&records[0])
        } else {
            Submission::batch(&records)
        }
        .idempotency_key(key.clone());
        let mut attempts = 0;
        let resp = loop {
            attempts += 1;
            if attempts > 5_000 {
                return Err(format!("{key}: not acknowledged after {attempts} attempts"));
            }
            let client = shared.client.read().unwrap().clone();
            let Some(client) = client else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            match client.submit(&submission).await {
                Ok(resp) => break resp,
                Err(e) if e.is_transport() || e.is_unavailable() => {
                    shared.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = e
                        .retry_after()
                        .unwrap_or(Duration::from_millis(rng.gen_range(10..50)));
                    tokio::time::sleep(wait.min(Duration::from_millis(200))).await;
                }
                Err(e) => return Err(format!("{key} (attempt {attempts}): {e}")),
            }
        };
        if resp.records.len() != n {
            return Err(format!(
                "{key}: {n} records sent, {} acknowledged",
                resp.records.len()
            ));
        }
        shared.acked.lock().unwrap().push(Acked {
            key,
            acks: resp.records,
            replayed: resp.replayed,
        });
    }
    Ok(())
}

fn start(fx: &Fixture, db: &str) -> Server {
    Server::start(
        fx,
        db,
        &[
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200"),
            // A killed leader's lease blocks the next one until it expires.
            ("PROVLOG_LEASE_TTL_MS", "500"),
        ],
    )
}

async fn start_async(fx: &Arc<Fixture>, db: &str) -> Server {
    let (fx, db) = (fx.clone(), db.to_string());
    tokio::task::spawn_blocking(move || start(&fx, &db))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_records_survive_kill_9() {
    let rounds = env_or("PROVLOG_CRASH_ROUNDS", 20);
    let receipt_sample = env_or("PROVLOG_CRASH_RECEIPTS", 2_000);
    let started = Instant::now();
    let fx = Arc::new(Fixture::new(ORIGIN));
    let db = TestDb::create("crash").await;
    let trusted = fx.trusted();

    let shared = Arc::new(Shared::default());
    let mut server = start_async(&fx, &db.url).await;
    *shared.client.write().unwrap() = Some(server.client(&fx));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| tokio::spawn(client_task(id, shared.clone())))
        .collect();

    let mut rng = rand::rngs::StdRng::seed_from_u64(0xc0ffee);
    let mut graceful = 0;
    for round in 0..rounds {
        if round % 5 == 4 {
            // Now and then a graceful stop under load instead: in-flight requests finish and
            // the server exits 0.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1000))).await;
            let status =
                tokio::task::spawn_blocking(move || server.terminate(Duration::from_secs(30)))
                    .await
                    .unwrap();
            assert!(
                status.success(),
                "exit after SIGTERM under load: {status:?}"
            );
            graceful += 1;
            server = start_async(&fx, &db.url).await;
            *shared.client.write().unwrap() = Some(server.client(&fx));
        }
        // Mostly mid-ingest; sometimes right after start (lease, first integration).
        let up = if rng.gen_bool(0.2) {
            rng.gen_range(0..50)
        } else {
            rng.gen_range(200..2000)
        };
        tokio::time::sleep(Duration::from_millis(up)).await;
        tokio::task::spawn_blocking(move || server.kill9())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..150))).await;
        server = start_async(&fx, &db.url).await;
        *shared.client.write().unwrap() = Some(server.client(&fx));
    }
    let ingest_time = started.elapsed();
    // Clients finish their request in flight against the last server, then stop.
    shared.stop.store(true, Ordering::Relaxed);
    for c in clients {
        if let Err(e) = c.await.unwrap() {
            panic!("client failed: {e}\n{}", server.logs());
        }
    }
    let acked = std::mem::take(&mut *shared.acked.lock().unwrap());
    let acked_records: usize = acked.iter().map(|a| a.acks.len()).sum();
    let replayed = acked.iter().filter(|a| a.replayed).count();
    assert!(acked_records > 0, "nothing was acknowledged");

    // Let the last server integrate and sign everything.
    let client = server.client(&fx);
    let size = wait_for(
        "a checkpoint covering every record",
        Duration::from_secs(120),
        || async {
            let info = client.log_info().await.ok()?;
            (info.checkpoint_size == info.size && info.integrated_size == info.size)
                .then_some(info.size)
        },
    )
    .await;

    // Dense indexes, everything integrated, the exact set of node hashes.
    let mut conn = db.connect().await;
    let next_index: i64 = sqlx::query_scalar("SELECT next_index FROM log_state")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let integrated: i64 = sqlx::query_scalar("SELECT integrated_size FROM integration_state")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let (count, min, max): (i64, Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT count(*), min(idx), max(idx) FROM records")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(next_index as u64, size);
    assert_eq!(
        (count, min, max, integrated),
        (next_index, Some(0), Some(next_index - 1), next_index)
    );
    let nodes: i64 = sqlx::query_scalar("SELECT count(*) FROM nodes")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(nodes as u64, stored_count(size), "stored node hashes");

    // Every stored leaf hashes to its leaf hash; rebuild the tree; read each record's tag.
    let rows: Vec<(i64, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT idx, leaf_hash, leaf FROM records ORDER BY idx")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut log = MemoryLog::with_capacity(rows.len());
    let mut leaf_hashes = Vec::with_capacity(rows.len());
    let mut tags: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
    for (idx, stored_hash, leaf) in &rows {
        assert_eq!(*idx as u64, log.size());
        let h = Hash::from_slice(stored_hash).unwrap();
        assert_eq!(
            provlog_core::leaf_hash(leaf),
            h,
            "record {idx}: leaf and leaf hash differ"
        );
        log.append(leaf);
        leaf_hashes.push(h);
        let v: Value = serde_json::from_slice(leaf).unwrap();
        let key = v["metadata"]["idem"].as_str().unwrap().to_string();
        let i = v["metadata"]["i"].as_u64().unwrap();
        tags.entry(key).or_default().push((i, *idx as u64));
    }

    // Acknowledged records are where they were acknowledged; each key has its batch, once.
    let keys: Vec<(String, i64, i32)> =
        sqlx::query_as("SELECT key, first_index, count FROM idempotency_keys")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let keys: HashMap<String, (i64, i32)> = keys.into_iter().map(|(k, f, c)| (k, (f, c))).collect();
    for a in &acked {
        let first = a.acks[0].index;
        for (i, ack) in a.acks.iter().enumerate() {
            assert_eq!(
                ack.index,
                first + i as u64,
                "{}: batch indexes are consecutive",
                a.key
            );
            assert_eq!(
                leaf_hashes[ack.index as usize], ack.leaf_hash,
                "{} record {i}",
                a.key
            );
        }
        let mut tagged = tags.remove(&a.key).unwrap_or_default();
        tagged.sort_unstable();
        let want: Vec<(u64, u64)> = (0..a.acks.len() as u64).map(|i| (i, first + i)).collect();
        assert_eq!(tagged, want, "{}: records carrying this key", a.key);
        assert_eq!(
            keys.get(&a.key),
            Some(&(first as i64, a.acks.len() as i32)),
            "{}",
            a.key
        );
    }
    assert!(
        tags.is_empty(),
        "records of requests never acknowledged: {:?}",
        tags.keys().take(5).collect::<Vec<_>>()
    );
    assert_eq!(keys.len(), acked.len(), "idempotency keys");
    assert_eq!(acked_records as u64, size);

    // Every checkpoint verifies, is a prefix of the final tree, and is consistent with every
    // earlier one; consecutive pairs also through the server's proofs.
    let checkpoints: Vec<(i64, Vec<u8>, String)> =
        sqlx::query_as("SELECT size, root, note FROM checkpoints ORDER BY size")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut signed: Vec<(u64, Hash)> = vec![];
    for (cp_size, root, note) in &checkpoints {
        let v = verify_checkpoint(note.as_bytes(), &trusted, Some(ORIGIN)).unwrap();
        let root = Hash::from_slice(root).unwrap();
        assert_eq!(
            (v.checkpoint.size, v.checkpoint.root),
            (*cp_size as u64, root)
        );
        assert_eq!(
            log.root_at(*cp_size as u64).unwrap(),
            root,
            "checkpoint {cp_size}"
        );
        signed.push((*cp_size as u64, root));
    }
    assert_eq!(signed.last().map(|c| c.0), Some(size));
    let mut pairs = 0;
    for (i, &(s1, r1)) in signed.iter().enumerate() {
        for &(s2, r2) in &signed[i + 1..] {
            let proof = log.consistency_proof(s1, s2).unwrap();
            verify_consistency(s1, s2, &r1, &r2, &proof).unwrap();
            pairs += 1;
        }
    }
    for w in signed.windows(2) {
        let p = client.consistency(w[0].0, w[1].0).await.unwrap();
        assert_eq!((p.root1, p.root2), (w[0].1, w[1].1));
        verify_consistency(p.size1, p.size2, &p.root1, &p.root2, &p.proof).unwrap();
    }

    // Receipts of acknowledged records: at the latest checkpoint, and at a random older one
    // that covers the record.
    let mut all: Vec<&Ack> = acked.iter().flat_map(|a| &a.acks).collect();
    all.shuffle(&mut rng);
    let sample = &all[..receipt_sample.min(all.len())];
    let verifier = ReceiptVerifier::new(fx.trusted());
    for (k, ack) in sample.iter().enumerate() {
        let at = if k % 2 == 0 {
            None
        } else {
            let covering: Vec<u64> = signed
                .iter()
                .map(|c| c.0)
                .filter(|&s| s > ack.index)
                .collect();
            covering.choose(&mut rng).copied()
        };
        let receipt = client.receipt(ack.index, None, at).await.unwrap();
        let v = verifier.verify(&receipt).unwrap();
        assert_eq!((v.leaf_index, v.leaf_hash), (ack.index, ack.leaf_hash));
        if let Some(at) = at {
            assert_eq!(v.checkpoint.checkpoint.size, at);
        }
    }

    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    drop(conn);
    db.drop_db().await;
    let summary = format!(
        "crash: {rounds} kill -9 rounds and {graceful} SIGTERM restarts, {acked_records} acked records in {} requests ({} answered as replays, {} retries), {} checkpoints ({pairs} pairs consistent), {} receipts verified; ingest {:.1}s, total {:.1}s",
        acked.len(),
        replayed,
        shared.retries.load(Ordering::Relaxed),
        signed.len(),
        sample.len(),
        ingest_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    // Past the test harness's capture, so CI logs show the figures.
    let _ = writeln!(std::io::stderr(), "{summary}");
}
