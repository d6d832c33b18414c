//! The real `provlog` binary through a real socket: ingest 10,000 mixed records from several
//! concurrent clients, then check what a consumer would, with the real CLI and the core library
//! alone: receipts (`provlog verify receipt`), a consistency proof between a mid-ingest and the
//! final checkpoint (`provlog verify consistency`), and the signed root rebuilt from the C2SP
//! tiles. Ends with SIGTERM and a clean exit.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use provlog_client::paths::tiles_for;
use provlog_client::{digest, signal, snapshot, Ack, Client, RetryPolicy, Submission};
use provlog_core::checkpoint::{verify_checkpoint, VerifiedCheckpoint};
use provlog_core::log::{stored_index, MemoryLog};
use provlog_core::receipt::{verify_receipt, Receipt};
use provlog_core::Hash;
use provlog_e2e::{
    provlog, verify_receipt as cli_verify_receipt, wait_for, Fixture, Server, TestDb,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const ORIGIN: &str = "example.com/provlog/e2e";
const TOTAL: usize = 10_000;
const BATCH: usize = 500;
/// Records 0..BATCHED go in batches of BATCH; the rest one by one.
const BATCHED: usize = 19 * BATCH;
const CLIENTS: usize = 4;

/// Record number `n` of the test: signals, snapshots of a few JSON items, and digests.
fn record(n: usize) -> Value {
    let token = ["BTC", "ETH", "SOL", "ADA", "DOT"][n % 5];
    match n % 10 {
        0..=5 => signal(
            "e2e-signals",
            json!({"n": n, "token": token, "signal": (n % 3) as i64 - 1, "grade": (n * 7) % 100}),
        ),
        6 | 7 => snapshot("e2e-grades", snapshot_items(n)),
        _ => digest("e2e-files", Hash::sha256(format!("file {n}").as_bytes()), 1),
    }
}

fn snapshot_items(n: usize) -> Vec<Value> {
    (0..2 + n % 4)
        .map(|row| json!({"n": n, "row": row, "grade": (n + row * 13) % 100, "note": "ünïcode ✓"}))
        .collect()
}

/// One request of the ingest plan and the record numbers it carries.
struct Request {
    numbers: Vec<usize>,
    submission: Submission,
    /// Submitted twice: the second answer must replay the first.
    replay_check: bool,
}

fn plan(batches: std::ops::Range<usize>, singles: std::ops::Range<usize>) -> VecDeque<Request> {
    let mut requests = VecDeque::new();
    let mut singles = singles.peekable();
    for b in batches {
        let numbers: Vec<usize> = (b * BATCH..(b + 1) * BATCH).collect();
        let records: Vec<Value> = numbers.iter().map(|&n| record(n)).collect();
        requests.push_back(Request {
            submission: Submission::batch(&records).idempotency_key(format!("batch-{b}")),
            numbers,
            replay_check: b == 3,
        });
        // Interleave singles between the batches.
        for _ in 0..30 {
            if let Some(n) = singles.next() {
                requests.push_back(single(n));
            }
        }
    }
    requests.extend(singles.map(single));
    requests
}

fn single(n: usize) -> Request {
    let mut submission = Submission::one(&record(n));
    if n.is_multiple_of(50) {
        submission = submission.wait_for_receipts();
    }
    let keyed = n.is_multiple_of(25);
    if keyed {
        submission = submission.idempotency_key(format!("single-{n}"));
    }
    Request {
        numbers: vec![n],
        submission,
        replay_check: keyed,
    }
}

type Acks = Arc<Mutex<HashMap<usize, Ack>>>;

/// Submits the queue from `CLIENTS` concurrent tasks; returns receipts that came back with
/// `?wait=receipt`.
async fn ingest(client: &Client, queue: VecDeque<Request>, acks: &Acks) -> Vec<Receipt> {
    let queue = Arc::new(Mutex::new(queue));
    let mut tasks = vec![];
    for _ in 0..CLIENTS {
        let (client, queue, acks) = (client.clone(), queue.clone(), acks.clone());
        tasks.push(tokio::spawn(async move {
            let mut receipts = vec![];
            let policy = RetryPolicy::default();
            loop {
                let Some(req) = queue.lock().unwrap().pop_front() else {
                    return receipts;
                };
                let resp = client
                    .submit_with_retry(&req.submission, &policy)
                    .await
                    .unwrap_or_else(|e| panic!("submitting {:?}: {e}", req.numbers.first()));
                assert!(!resp.replayed);
                assert_eq!(resp.records.len(), req.numbers.len());
                // A batch is sequenced in one transaction: its indexes are consecutive.
                for (i, ack) in resp.records.iter().enumerate() {
                    assert_eq!(ack.index, resp.records[0].index + i as u64);
                    assert_eq!(ack.id, ack.index.to_string());
                }
                if req.replay_check {
                    let again = client.submit(&req.submission).await.unwrap();
                    assert!(again.replayed, "a retried idempotency key must replay");
                    assert_eq!(again.records, resp.records);
                }
                if req.submission.waits_for_receipts() {
                    assert_eq!(resp.receipt_status.as_deref(), Some("ready"), "{resp:?}");
                    receipts.extend(resp.receipts.clone().unwrap());
                }
                let mut acks = acks.lock().unwrap();
                for (&n, ack) in req.numbers.iter().zip(resp.records) {
                    assert!(
                        acks.insert(n, ack).is_none(),
                        "record {n} acknowledged twice"
                    );
                }
            }
        }));
    }
    let mut receipts = vec![];
    for t in tasks {
        receipts.extend(t.await.unwrap());
    }
    receipts
}

/// Waits for a signed checkpoint of at least `size` and verifies it.
async fn checkpoint_covering(
    client: &Client,
    fx: &Fixture,
    size: u64,
) -> (String, VerifiedCheckpoint) {
    let trusted = fx.trusted();
    wait_for(
        &format!("a checkpoint of size >= {size}"),
        Duration::from_secs(30),
        || async {
            let note = client.checkpoint().await.ok()?;
            let verified = verify_checkpoint(note.as_bytes(), &trusted, Some(ORIGIN)).unwrap();
            (verified.checkpoint.size >= size).then_some((note, verified))
        },
    )
    .await
}

/// Runs `provlog verify ARGS`; returns the exit code and standard error.
fn verify_cli(args: &[&str]) -> (i32, String) {
    exit_and_stderr(&provlog(args))
}

/// `provlog verify receipt FILE` with the log's key: the exit code and standard error.
fn verify_receipt_cli(fx: &Fixture, file: &Path) -> (i32, String) {
    exit_and_stderr(&cli_verify_receipt(fx, file, &[]))
}

fn exit_and_stderr(out: &std::process::Output) -> (i32, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What the two halves of the ingest left: every acknowledgement by record number, the
/// receipts that came back with `?wait=receipt`, and the checkpoints in the middle and at the end.
struct Ingested {
    acks: HashMap<usize, Ack>,
    waited: Vec<Receipt>,
    mid: (String, VerifiedCheckpoint),
    last: (String, VerifiedCheckpoint),
    /// Since `started`, when every record was acknowledged.
    ingest_done: Duration,
}

/// Ingest, half; a checkpoint in the middle; the other half.
async fn ingest_in_two_halves(client: &Client, fx: &Fixture, started: Instant) -> Ingested {
    let acks: Acks = Arc::default();
    let mut waited = ingest(client, plan(0..10, BATCHED..BATCHED + 250), &acks).await;
    let mid_size = acks
        .lock()
        .unwrap()
        .values()
        .map(|a| a.index + 1)
        .max()
        .unwrap();
    let mid = checkpoint_covering(client, fx, mid_size).await;
    waited.extend(ingest(client, plan(10..19, BATCHED + 250..TOTAL), &acks).await);
    let acks = Arc::try_unwrap(acks).unwrap().into_inner().unwrap();
    assert_eq!(acks.len(), TOTAL);
    let ingest_done = started.elapsed();
    let last = checkpoint_covering(client, fx, TOTAL as u64).await;
    Ingested {
        acks,
        waited,
        mid,
        last,
        ingest_done,
    }
}

/// A random sample of receipts (records, and rows of snapshots) at `size_b`, each through the
/// CLI. Returns how many, the first one, and the snapshots among the records.
async fn check_sampled_receipts(
    client: &Client,
    fx: &Fixture,
    acks: &HashMap<usize, Ack>,
    size_b: u64,
) -> (usize, Vec<u8>, Vec<usize>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut numbers: Vec<usize> = (0..TOTAL).collect();
    numbers.shuffle(&mut rng);
    let mut wanted: Vec<(usize, Option<u64>)> = numbers[..200].iter().map(|&n| (n, None)).collect();
    let snapshots: Vec<usize> = numbers
        .iter()
        .copied()
        .filter(|n| matches!(n % 10, 6 | 7))
        .take(50)
        .collect();
    wanted.extend(
        snapshots
            .iter()
            .map(|&n| (n, Some(rng.gen_range(0..2 + n % 4) as u64))),
    );
    let mut first_receipt = None;
    for (i, &(n, item)) in wanted.iter().enumerate() {
        let ack = &acks[&n];
        // Half at checkpoint B explicitly, half at the latest (also B).
        let size = (i % 2 == 0).then_some(size_b);
        let bytes = client.receipt_json(ack.index, item, size).await.unwrap();
        let receipt = Receipt::from_json(&bytes).unwrap();
        assert_eq!(
            (receipt.leaf_index, receipt.leaf_hash),
            (ack.index, ack.leaf_hash),
            "record {n}"
        );
        if let Some(row) = item {
            let got = &receipt.item.as_ref().unwrap().data;
            let data = base64::prelude::BASE64_STANDARD.decode(got).unwrap();
            let value: Value = serde_json::from_slice(&data).unwrap();
            assert_eq!(
                value,
                snapshot_items(n)[row as usize],
                "record {n} row {row}"
            );
        }
        let file = fx.path(&format!("receipt-{i}.json"));
        std::fs::write(&file, &bytes).unwrap();
        let (code, stderr) = verify_receipt_cli(fx, &file);
        assert_eq!(code, 0, "record {n} item {item:?}: {stderr}");
        first_receipt.get_or_insert(bytes);
    }
    (wanted.len(), first_receipt.unwrap(), snapshots)
}

/// Tampered receipts are refused with exit 1 (invalid), not 2 (unreadable).
fn check_tampered_receipts(fx: &Fixture, receipt: &[u8]) {
    let original: Value = serde_json::from_slice(receipt).unwrap();
    let mut moved = original.clone();
    moved["leaf_index"] = json!(moved["leaf_index"].as_u64().unwrap() + 1);
    let mut edited = original.clone();
    let text = edited["record"]
        .as_str()
        .unwrap()
        .replacen("e2e-", "e2f-", 1);
    edited["record"] = json!(text);
    for (name, tampered) in [("moved", moved), ("edited", edited)] {
        let file = fx.path(&format!("tampered-{name}.json"));
        std::fs::write(&file, tampered.to_string()).unwrap();
        let (code, stderr) = verify_receipt_cli(fx, &file);
        assert_eq!(code, 1, "{name}: {stderr}");
    }
}

/// Consistency between the mid-ingest and the final checkpoint, tied to the signed roots.
async fn check_consistency(client: &Client, fx: &Fixture, got: &Ingested) {
    let ((note_a, cp_a), (note_b, cp_b)) = (&got.mid, &got.last);
    let (size_a, size_b) = (cp_a.checkpoint.size, cp_b.checkpoint.size);
    let proof = client.consistency(size_a, size_b).await.unwrap();
    assert_eq!((proof.size1, proof.size2), (size_a, size_b));
    assert_eq!(
        (proof.root1, proof.root2),
        (cp_a.checkpoint.root, cp_b.checkpoint.root)
    );
    let file = fx.path("consistency.json");
    std::fs::write(&file, serde_json::to_vec(&proof).unwrap()).unwrap();
    let (code, stderr) = verify_cli(&["verify", "consistency", path_str(&file)]);
    assert_eq!(code, 0, "{stderr}");
    let mut forged = proof.clone();
    forged.root1 = Hash::sha256(b"another history");
    std::fs::write(&file, serde_json::to_vec(&forged).unwrap()).unwrap();
    assert_eq!(verify_cli(&["verify", "consistency", path_str(&file)]).0, 1);
    let listed = client.all_checkpoints().await.unwrap();
    for (size, note) in [(size_a, note_a), (size_b, note_b)] {
        let entry = listed.iter().find(|c| c.size == size).unwrap();
        assert_eq!(&entry.note, note);
    }
}

/// The signed root, rebuilt from the tiles alone; every acknowledged record is the tile entry
/// at its index.
async fn check_tiles(client: &Client, got: &Ingested) {
    let (cp_a, cp_b) = (&got.mid.1.checkpoint, &got.last.1.checkpoint);
    let size_b = cp_b.size;
    let mut log = MemoryLog::with_capacity(TOTAL);
    for (n, width) in tiles_for(size_b) {
        let entries = client.entries_tile(n, width).await.unwrap();
        assert_eq!(entries.len() as u64, width);
        for entry in entries {
            log.append(&entry);
        }
        let hashes = client.hash_tile(0, n, width).await.unwrap();
        for (k, h) in hashes.iter().enumerate() {
            assert_eq!(
                *h,
                log.stored_hashes()[stored_index(0, n * 256 + k as u64) as usize]
            );
        }
    }
    assert_eq!(log.size(), size_b);
    assert_eq!(log.root(), cp_b.root, "tiles rebuild the signed root");
    assert_eq!(log.root_at(cp_a.size).unwrap(), cp_a.root);
    let level1 = client.hash_tile(1, 0, size_b >> 8).await.unwrap();
    for (k, h) in level1.iter().enumerate() {
        assert_eq!(
            *h,
            log.stored_hashes()[stored_index(8, k as u64) as usize],
            "level-1 node {k}"
        );
    }
    let leaves: Vec<Hash> = (0..size_b)
        .map(|i| log.stored_hashes()[stored_index(0, i) as usize])
        .collect();
    for (n, ack) in &got.acks {
        assert_eq!(leaves[ack.index as usize], ack.leaf_hash, "record {n}");
    }
}

/// Lookups see the same records.
async fn check_lookups(client: &Client, snap: &Ack) {
    let view = client.record(snap.index).await.unwrap();
    assert_eq!(
        (view.summary.kind.as_str(), view.in_checkpoint),
        ("snapshot", true)
    );
    assert_eq!(view.summary.leaf_hash, snap.leaf_hash);
    let found = client
        .find(&provlog_client::FindQuery {
            content_root: Some(snap.content_root),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(found.records.iter().any(|r| r.index == snap.index));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ingest_verify_and_audit_through_a_socket() {
    let started = Instant::now();
    let fx = Fixture::new(ORIGIN);
    let db = TestDb::create("e2e").await;
    let server = Server::start(&fx, &db.url, &[("PROVLOG_CHECKPOINT_INTERVAL_MS", "200")]);
    let client = server.client(&fx);
    wait_for("readiness", Duration::from_secs(30), || async {
        client.ready().await.ok()?.then_some(())
    })
    .await;
    let info = client.log_info().await.unwrap();
    assert_eq!(
        (info.origin.as_str(), info.verifier_key.as_str()),
        (ORIGIN, fx.vkey.as_str())
    );

    let got = ingest_in_two_halves(&client, &fx, started).await;
    let (size_a, size_b) = (got.mid.1.checkpoint.size, got.last.1.checkpoint.size);
    assert_eq!(size_b, TOTAL as u64, "replayed keys must not add records");
    assert!(size_a < size_b, "checkpoint A ({size_a}) is mid-ingest");
    let info = client.log_info().await.unwrap();
    assert_eq!((info.size, info.integrated_size), (size_b, size_b));

    // Receipts that came back with ?wait=receipt verify in-process.
    assert_eq!(got.waited.len(), 10);
    for r in &got.waited {
        verify_receipt(r, &fx.trusted()).unwrap();
    }
    let (sampled, first_receipt, snapshots) =
        check_sampled_receipts(&client, &fx, &got.acks, size_b).await;
    check_tampered_receipts(&fx, &first_receipt);
    check_consistency(&client, &fx, &got).await;
    check_tiles(&client, &got).await;
    check_lookups(&client, &got.acks[&snapshots[0]]).await;

    let status = server.terminate(Duration::from_secs(15));
    assert!(
        status.success(),
        "provlog serve exited with {status:?} after SIGTERM"
    );
    db.drop_db().await;
    // Past the test harness's capture, so CI logs show the figures.
    let _ = writeln!(
        std::io::stderr(),
        "e2e: {TOTAL} records (ingest {:.1}s), checkpoints {size_a} -> {size_b}, {} receipts verified by the CLI, total {:.1}s",
        got.ingest_done.as_secs_f64(),
        sampled,
        started.elapsed().as_secs_f64()
    );
}
