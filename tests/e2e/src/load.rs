//! Concurrent ingest that survives faults, and an audit of the log it leaves behind.
//!
//! [`Load`] runs client tasks that submit batches and single records, each under its own
//! idempotency key, round-robin over a set of server slots ([`Load::set`] swaps a server in or
//! out as the test kills and restarts it). A request is retried, on the next slot, until it is
//! acknowledged: after a lost connection or a 503 (after its `Retry-After`). Every record
//! carries its request's key in its metadata, so the log itself says where each leaf came from.
//!
//! [`Load::with_track_readers`] adds readers that ask the same sources' track records while they
//! are written, so the log writes `close` records into their chains between the clients'
//! records (on whichever replica is asked), and verify the bundles they get.
//!
//! [`audit`] then reads the database directly and checks the log against what the clients were
//! told; [`verify_receipts`] fetches and verifies receipts of acknowledged records.
//! [`crate::source_chains`] checks the sources' chains.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use provlog_client::{digest, signal, snapshot, Ack, Client, ProblemKind, Submission};
use provlog_core::checkpoint::{verify_checkpoint, TrustedKeys};
use provlog_core::log::{stored_count, verify_consistency, MemoryLog};
use provlog_core::receipt::ReceiptVerifier;
use provlog_core::track_record::{verify_track_record, Window};
use provlog_core::Hash;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::PgConnection;

/// An acknowledged request.
#[derive(Debug, Clone)]
pub struct Acked {
    pub key: String,
    pub acks: Vec<Ack>,
    /// The answer was a replay: an earlier attempt had landed but its answer was lost.
    pub replayed: bool,
}

/// The sources the clients write, every client all of them (a batch mixes them).
pub const SOURCES: [&str; 3] = ["load-grades", "load-files", "load-signals"];

/// What the clients saw, for the summary line.
#[derive(Debug, Default, Clone)]
pub struct LoadStats {
    pub requests: usize,
    pub records: usize,
    pub replayed: usize,
    /// Attempts that failed with a lost connection.
    pub transport_errors: u64,
    /// Attempts answered 503 (all of them carried `Retry-After`, or the client failed).
    pub unavailable: u64,
    /// Acknowledged records by source, then by the server slot that acknowledged them.
    pub by_source: BTreeMap<String, BTreeMap<usize, usize>>,
    /// Track records asked for by the readers ([`Load::with_track_readers`]).
    pub track_reads: u64,
    /// Bundles the readers got and verified; those ending at a close record.
    pub track_verified: u64,
    pub track_closed: u64,
    /// Track-record reads that failed as a restart or a busy source may make them fail (lost
    /// connection, 503, not yet included).
    pub track_retried: u64,
}

#[derive(Debug, Default)]
struct TrackStats {
    reads: AtomicU64,
    verified: AtomicU64,
    closed: AtomicU64,
    retried: AtomicU64,
}

#[derive(Debug, Default)]
struct Shared {
    slots: RwLock<Vec<Option<Client>>>,
    next: AtomicUsize,
    stop: AtomicBool,
    acked: Mutex<Vec<Acked>>,
    by_source: Mutex<BTreeMap<String, BTreeMap<usize, usize>>>,
    /// Index of each source's latest acknowledged record.
    last_by_source: Mutex<HashMap<String, u64>>,
    transport_errors: AtomicU64,
    unavailable: AtomicU64,
    track: TrackStats,
}

/// Client tasks ingesting until [`Load::finish`].
#[derive(Debug)]
pub struct Load {
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), String>>>,
}

impl Load {
    /// Starts `clients` tasks over `slots` (a `None` slot is a server that is down).
    pub fn start(clients: usize, slots: Vec<Option<Client>>) -> Load {
        let shared = Arc::new(Shared {
            slots: RwLock::new(slots),
            ..Shared::default()
        });
        let tasks = (0..clients)
            .map(|id| tokio::spawn(client_task(id, shared.clone())))
            .collect();
        Load { shared, tasks }
    }

    /// Adds `readers` tasks that, until [`Load::finish`], ask track records of the sources being
    /// written (reader `i` of [`SOURCES`]`[i % 3]`) through the same slots and verify each bundle
    /// with `trusted`: windows over the last few records of the source's latest acknowledged
    /// record, half of them open (so the log writes a close record into the chain).
    /// Any failure but a restart's is fatal (a 500 among them: the server serves only bundles
    /// that verify, so a window the writers moved must be looked at again, not refused).
    pub fn with_track_readers(mut self, readers: usize, trusted: TrustedKeys) -> Load {
        let trusted = Arc::new(trusted);
        self.tasks.extend(
            (0..readers)
                .map(|id| tokio::spawn(track_reader(id, self.shared.clone(), trusted.clone()))),
        );
        self
    }

    /// Puts a server into slot `i` (or takes it out with `None`).
    pub fn set(&self, i: usize, client: Option<Client>) {
        self.shared.slots.write().expect("slots lock")[i] = client;
    }

    /// Requests acknowledged so far.
    pub fn acked_requests(&self) -> usize {
        self.shared.acked.lock().expect("acked lock").len()
    }

    /// Stops the clients after their request in flight and returns what was acknowledged.
    pub async fn finish(self) -> Result<(Vec<Acked>, LoadStats), String> {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.map_err(|e| format!("client task: {e}"))??;
        }
        let acked = std::mem::take(&mut *self.shared.acked.lock().expect("acked lock"));
        let track = &self.shared.track;
        let stats = LoadStats {
            requests: acked.len(),
            records: acked.iter().map(|a| a.acks.len()).sum(),
            replayed: acked.iter().filter(|a| a.replayed).count(),
            transport_errors: self.shared.transport_errors.load(Ordering::Relaxed),
            unavailable: self.shared.unavailable.load(Ordering::Relaxed),
            by_source: std::mem::take(&mut *self.shared.by_source.lock().expect("by_source lock")),
            track_reads: track.reads.load(Ordering::Relaxed),
            track_verified: track.verified.load(Ordering::Relaxed),
            track_closed: track.closed.load(Ordering::Relaxed),
            track_retried: track.retried.load(Ordering::Relaxed),
        };
        Ok((acked, stats))
    }
}

impl Shared {
    /// The next server round-robin, skipping empty slots, and its slot.
    fn next_client(&self) -> Option<(usize, Client)> {
        let slots = self.slots.read().expect("slots lock");
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..slots.len())
            .map(|k| (start + k) % slots.len())
            .find_map(|i| Some((i, slots[i].clone()?)))
    }

    /// Index of the latest acknowledged record of `source`.
    fn last_acked_index(&self, source: &str) -> Option<u64> {
        let last = self.last_by_source.lock().expect("last_by_source lock");
        last.get(source).copied()
    }
}

/// One track-record reader ([`Load::with_track_readers`]).
async fn track_reader(
    id: usize,
    shared: Arc<Shared>,
    trusted: Arc<TrustedKeys>,
) -> Result<(), String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x7ac4 + id as u64);
    let retried = |e: &provlog_client::ClientError| {
        e.is_transport() || e.is_unavailable() || e.kind() == Some(&ProblemKind::NotYetIncluded)
    };
    let source = SOURCES[id % SOURCES.len()];
    let mut n: u64 = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(20..120))).await;
        let (Some(index), Some((_, client))) =
            (shared.last_acked_index(source), shared.next_client())
        else {
            continue;
        };
        // Where the source's chain is: that record's seq.
        let view = match client.record(index).await {
            Ok(v) => v,
            Err(e) if retried(&e) => continue,
            Err(e) => return Err(format!("track reader {id}: record {index}: {e}")),
        };
        let (Some(source), Some(seq)) = (
            view.record["source"].as_str().filter(|s| *s == source),
            view.record["seq"].as_u64(),
        ) else {
            return Err(format!(
                "track reader {id}: record {index} is not a record of {source} with a seq: {}",
                view.record
            ));
        };
        n += 1;
        // Open every other time: the log closes the window with a close record. Otherwise
        // ending before that record, so that the window stays bounded (past the head, the
        // server would open it).
        let to_seq = if n.is_multiple_of(2) {
            seq.checked_sub(1)
        } else {
            None
        };
        let window = Window {
            from_seq: Some(to_seq.unwrap_or(seq).saturating_sub(rng.gen_range(0..8))),
            to_seq,
            ..Window::default()
        };
        shared.track.reads.fetch_add(1, Ordering::Relaxed);
        let bundle = match client.track_record(source, &window).await {
            Ok(b) => b,
            Err(e) if retried(&e) => {
                shared.track.retried.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(e) => return Err(format!("track reader {id}: {source} {window:?}: {e}")),
        };
        let verified = verify_track_record(&bundle, &trusted).map_err(|e| {
            format!(
                "track reader {id}: the bundle of {source} {window:?} does not verify ({}): {e}\n{}",
                e.check(),
                bundle.to_json_pretty()
            )
        })?;
        shared.track.verified.fetch_add(1, Ordering::Relaxed);
        if verified.closed {
            shared.track.closed.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Record `i` of request `key`, tagged so that the log itself says which request it came from.
fn record(key: &str, i: usize, rng: &mut impl Rng) -> Value {
    let mut r = match rng.gen_range(0..10) {
        0 | 1 => snapshot(
            SOURCES[0],
            (0..rng.gen_range(1..4))
                .map(|row| json!({"row": row, "grade": rng.gen_range(0..100)}))
                .collect(),
        ),
        2 => digest(SOURCES[1], Hash::sha256(format!("{key}/{i}").as_bytes()), 1),
        _ => signal(SOURCES[2], json!({"grade": rng.gen_range(0..100), "i": i})),
    };
    r["metadata"] = json!({"idem": key, "i": i});
    r
}

/// One client: builds requests (30% single records, the rest batches of 2–100) and submits each
/// until it is acknowledged.
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
            let Some((slot, client)) = shared.next_client() else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            match client.submit(&submission).await {
                Ok(resp) => break (slot, resp),
                Err(e) if e.is_transport() => {
                    shared.transport_errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(rng.gen_range(10..50))).await;
                }
                Err(e) if e.is_unavailable() => {
                    shared.unavailable.fetch_add(1, Ordering::Relaxed);
                    let Some(wait) = e.retry_after() else {
                        return Err(format!("{key}: a 503 without Retry-After: {e}"));
                    };
                    tokio::time::sleep(wait.min(Duration::from_millis(200))).await;
                }
                Err(e) => return Err(format!("{key} (attempt {attempts}): {e}")),
            }
        };
        let (slot, resp) = resp;
        if resp.records.len() != n {
            return Err(format!(
                "{key}: {n} records sent, {} acknowledged",
                resp.records.len()
            ));
        }
        {
            let mut by_source = shared.by_source.lock().expect("by_source lock");
            let mut last = shared.last_by_source.lock().expect("last_by_source lock");
            for (r, ack) in records.iter().zip(&resp.records) {
                let source = r["source"].as_str().unwrap_or_default().to_string();
                let latest = last.entry(source.clone()).or_default();
                *latest = ack.index.max(*latest);
                *by_source
                    .entry(source)
                    .or_default()
                    .entry(slot)
                    .or_default() += 1;
            }
        }
        shared.acked.lock().expect("acked lock").push(Acked {
            key,
            acks: resp.records,
            replayed: resp.replayed,
        });
    }
    Ok(())
}

/// What [`audit`] checked.
#[derive(Debug)]
pub struct Audited {
    /// The log as rebuilt from the stored leaves.
    pub log: MemoryLog,
    pub size: u64,
    /// Every signed checkpoint, by size.
    pub checkpoints: Vec<(u64, Hash)>,
    /// Checkpoint pairs proven consistent.
    pub consistent_pairs: usize,
    /// Close records the log wrote itself (track-record reads; no request's).
    pub close_records: u64,
}

/// Checks the log stored in the database once everything is integrated and signed at `size`:
///
/// - indexes are dense (`count = max + 1 = next_index = size`), everything is integrated, and
///   the stored node hashes are exactly those of the tree;
/// - each stored leaf hashes to its stored leaf hash;
/// - every acknowledged record is at its acknowledged index with its acknowledged leaf hash,
///   each idempotency key has exactly its request's records, and no record of a request that
///   was never acknowledged is in the log (nothing lost, nothing twice); the only other records
///   are close records the log wrote itself ([`Load::with_track_readers`]);
/// - every signed checkpoint verifies, is a prefix of the final tree, and is consistent with
///   every earlier one.
pub async fn audit(
    conn: &mut PgConnection,
    acked: &[Acked],
    trusted: &TrustedKeys,
    origin: &str,
    size: u64,
) -> Audited {
    let next_index: i64 = sqlx::query_scalar("SELECT next_index FROM log_state")
        .fetch_one(&mut *conn)
        .await
        .expect("log_state");
    let integrated: i64 = sqlx::query_scalar("SELECT integrated_size FROM integration_state")
        .fetch_one(&mut *conn)
        .await
        .expect("integration_state");
    let (count, min, max): (i64, Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT count(*), min(idx), max(idx) FROM records")
            .fetch_one(&mut *conn)
            .await
            .expect("records");
    assert_eq!(next_index as u64, size);
    assert_eq!(
        (count, min, max, integrated),
        (next_index, Some(0), Some(next_index - 1), next_index),
        "dense indexes, all integrated"
    );
    let nodes: i64 = sqlx::query_scalar("SELECT count(*) FROM nodes")
        .fetch_one(&mut *conn)
        .await
        .expect("nodes");
    assert_eq!(nodes as u64, stored_count(size), "stored node hashes");

    let rows: Vec<(i64, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT idx, leaf_hash, leaf FROM records ORDER BY idx")
            .fetch_all(&mut *conn)
            .await
            .expect("records");
    let mut log = MemoryLog::with_capacity(rows.len());
    for (idx, stored_hash, leaf) in &rows {
        assert_eq!(*idx as u64, log.size());
        let h = Hash::from_slice(stored_hash).expect("a 32-byte leaf hash");
        assert_eq!(
            provlog_core::leaf_hash(leaf),
            h,
            "record {idx}: leaf and leaf hash differ"
        );
        log.append(leaf);
    }
    let close_records = audit_acked(rows.iter().map(|r| r.2.as_slice()), acked);

    let keys: Vec<(String, i64, i32)> =
        sqlx::query_as("SELECT key, first_index, count FROM idempotency_keys")
            .fetch_all(&mut *conn)
            .await
            .expect("idempotency_keys");
    let keys: HashMap<String, (i64, i32)> = keys.into_iter().map(|(k, f, c)| (k, (f, c))).collect();
    for a in acked {
        assert_eq!(
            keys.get(&a.key),
            Some(&(a.acks[0].index as i64, a.acks.len() as i32)),
            "{}",
            a.key
        );
    }
    assert_eq!(keys.len(), acked.len(), "idempotency keys");
    assert_eq!(log.size(), size, "the log's size");

    let stored: Vec<(i64, Vec<u8>, String)> =
        sqlx::query_as("SELECT size, root, note FROM checkpoints ORDER BY size")
            .fetch_all(&mut *conn)
            .await
            .expect("checkpoints");
    let mut checkpoints: Vec<(u64, Hash)> = vec![];
    for (cp_size, root, note) in &stored {
        let v = verify_checkpoint(note.as_bytes(), trusted, Some(origin))
            .unwrap_or_else(|e| panic!("checkpoint {cp_size}: {e}"));
        let root = Hash::from_slice(root).expect("a 32-byte root");
        assert_eq!(
            (v.checkpoint.size, v.checkpoint.root),
            (*cp_size as u64, root)
        );
        assert_eq!(
            log.root_at(*cp_size as u64).expect("a size within the log"),
            root,
            "checkpoint {cp_size} is a prefix of the final tree"
        );
        checkpoints.push((*cp_size as u64, root));
    }
    assert_eq!(checkpoints.last().map(|c| c.0), Some(size));
    let mut consistent_pairs = 0;
    for (i, &(s1, r1)) in checkpoints.iter().enumerate() {
        for &(s2, r2) in &checkpoints[i + 1..] {
            let proof = log.consistency_proof(s1, s2).expect("a consistency proof");
            verify_consistency(s1, s2, &r1, &r2, &proof)
                .unwrap_or_else(|e| panic!("checkpoints {s1} → {s2}: {e}"));
            consistent_pairs += 1;
        }
    }
    Audited {
        log,
        size,
        checkpoints,
        consistent_pairs,
        close_records,
    }
}

/// The record checks of [`audit`], over the log's leaves in index order (as stored, or as a
/// server serves them): every acknowledged record is at its acknowledged index with its
/// acknowledged leaf hash, each request key is carried by exactly its request's records, and no
/// record of a request that was never acknowledged is in the log; the only other records are
/// close records the log wrote itself. Returns how many of those.
pub fn audit_acked<'a>(leaves: impl IntoIterator<Item = &'a [u8]>, acked: &[Acked]) -> u64 {
    let mut leaf_hashes = vec![];
    let mut tags: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
    let mut close_records = 0;
    for (idx, leaf) in leaves.into_iter().enumerate() {
        leaf_hashes.push(provlog_core::leaf_hash(leaf));
        let v: Value = serde_json::from_slice(leaf).expect("a JSON leaf");
        if v["kind"] == "close" {
            assert!(
                v["metadata"] == json!({}) && v.get("signature").is_none(),
                "record {idx}: a close record is the log's own: {v}"
            );
            close_records += 1;
            continue;
        }
        let key = v["metadata"]["idem"]
            .as_str()
            .unwrap_or_else(|| panic!("record {idx} carries no request key"))
            .to_string();
        let i = v["metadata"]["i"].as_u64().expect("a record number");
        tags.entry(key).or_default().push((i, idx as u64));
    }
    for a in acked {
        let first = a.acks[0].index;
        for (i, ack) in a.acks.iter().enumerate() {
            assert_eq!(
                ack.index,
                first + i as u64,
                "{}: batch indexes are consecutive",
                a.key
            );
            assert_eq!(
                leaf_hashes.get(ack.index as usize),
                Some(&ack.leaf_hash),
                "{} record {i}: acknowledged at {} with this leaf hash",
                a.key,
                ack.index
            );
        }
        let mut tagged = tags.remove(&a.key).unwrap_or_default();
        tagged.sort_unstable();
        let want: Vec<(u64, u64)> = (0..a.acks.len() as u64).map(|i| (i, first + i)).collect();
        assert_eq!(tagged, want, "{}: records carrying this key", a.key);
    }
    assert!(
        tags.is_empty(),
        "records of requests never acknowledged: {:?}",
        tags.keys().take(5).collect::<Vec<_>>()
    );
    let acked_records: usize = acked.iter().map(|a| a.acks.len()).sum();
    assert_eq!(
        acked_records as u64 + close_records,
        leaf_hashes.len() as u64,
        "acknowledged records and close records"
    );
    close_records
}

/// Waits up to `within` until a checkpoint covers every record and everything is integrated;
/// the log's size then.
pub async fn wait_all_signed(client: &Client, within: Duration) -> u64 {
    crate::wait_for("a checkpoint covering every record", within, || async {
        let info = client.log_info().await.ok()?;
        (info.checkpoint_size == info.size && info.integrated_size == info.size)
            .then_some(info.size)
    })
    .await
}

/// [`audit`] of the log once `client`'s server has signed all of it ([`wait_all_signed`]), with
/// consecutive checkpoints also proven consistent through the server's proofs.
pub async fn audit_signed_log(
    conn: &mut PgConnection,
    client: &Client,
    acked: &[Acked],
    trusted: &TrustedKeys,
    origin: &str,
    within: Duration,
) -> Audited {
    let size = wait_all_signed(client, within).await;
    let audited = audit(conn, acked, trusted, origin, size).await;
    for w in audited.checkpoints.windows(2) {
        let p = client
            .consistency(w[0].0, w[1].0)
            .await
            .expect("a consistency proof from the server");
        assert_eq!((p.root1, p.root2), (w[0].1, w[1].1));
        verify_consistency(p.size1, p.size2, &p.root1, &p.root2, &p.proof)
            .expect("the server's consistency proof verifies");
    }
    audited
}

/// Fetches receipts of up to `sample` acknowledged records (chosen at random) from `client`
/// with 8 concurrent requests and verifies each with the core library: half at the latest
/// checkpoint, half at a random older signed size that covers the record. Returns how many.
pub async fn verify_receipts(
    client: &Client,
    trusted: TrustedKeys,
    acked: &[Acked],
    signed_sizes: &[u64],
    sample: usize,
    seed: u64,
) -> usize {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut all: Vec<(u64, Hash)> = acked
        .iter()
        .flat_map(|a| &a.acks)
        .map(|a| (a.index, a.leaf_hash))
        .collect();
    all.shuffle(&mut rng);
    all.truncate(sample);
    let sizes: Arc<Vec<u64>> = Arc::new(signed_sizes.to_vec());
    let verifier = Arc::new(ReceiptVerifier::new(trusted));
    let mut tasks = tokio::task::JoinSet::new();
    for (t, chunk) in all.chunks(all.len().div_ceil(8).max(1)).enumerate() {
        let (chunk, client, sizes) = (chunk.to_vec(), client.clone(), sizes.clone());
        let verifier = verifier.clone();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed + 1 + t as u64);
        tasks.spawn(async move {
            for (k, (index, leaf_hash)) in chunk.into_iter().enumerate() {
                let at = if k % 2 == 0 {
                    None
                } else {
                    let first = sizes.partition_point(|&s| s <= index);
                    sizes[first..].choose(&mut rng).copied()
                };
                let receipt = client
                    .receipt(index, None, at)
                    .await
                    .unwrap_or_else(|e| panic!("receipt of {index} at {at:?}: {e}"));
                let v = verifier
                    .verify(&receipt)
                    .unwrap_or_else(|e| panic!("receipt of {index}: {e}"));
                assert_eq!((v.leaf_index, v.leaf_hash), (index, leaf_hash));
                if let Some(at) = at {
                    assert_eq!(v.checkpoint.checkpoint.size, at);
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a receipt task");
    }
    all.len()
}
