//! Chain faults against the real `provlog serve` (issue 8): the anchoring RPC down for a minute,
//! a reorg of depth 3, a stuck transaction, and the RPC URL suddenly answering for another chain
//! — with ingest running the whole time. Afterwards: every anchor caught up, no size anchored
//! twice, every anchored root is one of the log's signed checkpoints, and receipts verify
//! offline and on chain.
//!
//! The server reaches anvil through a TCP proxy (`provlog_e2e::proxy`), so its RPC URL never
//! changes while the node behind it stops, restarts or is swapped for a node of another chain.
//!
//! `PROVLOG_CHAIN_OUTAGE_S` (default 60, the figure) sets how long the RPC is down;
//! `PROVLOG_CHAIN_WRONG_S` (default 8) how long the wrong chain answers.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use provlog_chain::anvil::{dev_key, Anvil, AnvilOptions, CHAIN_ID};
use provlog_chain::primitives::B256;
use provlog_chain::{deploy, log_id, Reader};
use provlog_client::{signal, AnchorEntry, Client, Submission};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::receipt::{verify_receipt, Receipt};
use provlog_e2e::proxy::Proxy;
use provlog_e2e::{provlog, wait_for, Fixture, Server, TestDb};
use serde_json::{json, Value};

const ORIGIN: &str = "example.com/provlog/e2e-chain-faults";
/// The chain the wrong endpoint serves.
const WRONG_CHAIN_ID: u64 = 4242;

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default),
    )
}

/// Records submitted without pause by one task for the whole test.
struct Ingest {
    acked: Arc<AtomicU64>,
    /// 503/429 answers: the client retries them.
    retryable: Arc<AtomicU64>,
    /// Anything else that failed (must stay empty).
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    /// Index of the newest acknowledged record.
    last_index: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Ingest {
    fn start(client: Client) -> Ingest {
        let acked = Arc::new(AtomicU64::new(0));
        let retryable = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let last_index = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (acked, retryable, failures, last_index, stop) = (
                acked.clone(),
                retryable.clone(),
                failures.clone(),
                last_index.clone(),
                stop.clone(),
            );
            async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let records: Vec<Value> = (0..5)
                        .map(|i| {
                            signal(
                                "chain-faults",
                                json!({"token": "ETH", "signal": 1, "n": n * 5 + i}),
                            )
                        })
                        .collect();
                    n += 1;
                    match client.submit(&Submission::batch(&records)).await {
                        Ok(r) => {
                            acked.fetch_add(r.records.len() as u64, Ordering::Relaxed);
                            if let Some(max) = r.records.iter().map(|a| a.index).max() {
                                last_index.fetch_max(max, Ordering::Relaxed);
                            }
                        }
                        Err(e) if e.is_unavailable() || e.is_rate_limited() => {
                            retryable.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => failures.lock().unwrap().push(e.to_string()),
                    }
                    tokio::time::sleep(Duration::from_millis(40)).await;
                }
            }
        });
        Ingest {
            acked,
            retryable,
            failures,
            last_index,
            stop,
            task,
        }
    }

    fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    fn last_index(&self) -> u64 {
        self.last_index.load(Ordering::Relaxed)
    }

    /// Waits until ingest acknowledged more records than `since`; the phase's count.
    async fn progressed(&self, phase: &str, since: u64) -> u64 {
        wait_for(
            &format!("ingest to progress during {phase}"),
            Duration::from_secs(10),
            || async { (self.acked() > since).then_some(()) },
        )
        .await;
        let failures = self.failures.lock().unwrap().clone();
        assert!(
            failures.is_empty(),
            "ingest failed during {phase}: {failures:?}"
        );
        self.acked() - since
    }
}

/// The value of an unlabelled metric in `/metrics`.
async fn metric(http: &reqwest::Client, server: &Server, name: &str) -> Option<f64> {
    let text = http
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

/// The sum over labels of a counter (0 when not yet recorded).
async fn counter(http: &reqwest::Client, server: &Server, name: &str) -> f64 {
    let text = http
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let bare = key.split('{').next()?;
            (bare == name).then(|| value.trim().parse::<f64>().ok())?
        })
        .sum()
}

async fn wait_metric(
    http: &reqwest::Client,
    server: &Server,
    name: &str,
    want: f64,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let got = metric(http, server, name).await;
        if got == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} is {got:?}, not {want}, after {within:?}\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn anchors(client: &Client) -> Vec<AnchorEntry> {
    let mut all = vec![];
    let mut before = None;
    loop {
        let page = client.anchors(None, before, Some(1000)).await.unwrap();
        all.extend(page.anchors);
        match page.next {
            Some(next) => before = Some(next),
            None => return all,
        }
    }
}

/// The receipt of `index` as JSON, and whether it carries an anchor.
async fn receipt(client: &Client, index: u64, size: Option<u64>) -> (Value, bool) {
    let bytes = client.receipt_json(index, None, size).await.unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let anchored = v.get("anchor").is_some_and(|a| !a.is_null());
    (v, anchored)
}

/// Waits until the receipt of `index` carries an anchor; returns it.
async fn wait_anchored(client: &Client, server: &Server, index: u64, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        // 409 until a checkpoint covers the record.
        if let Ok(bytes) = client.receipt_json(index, None, None).await {
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            if v.get("anchor").is_some_and(|a| !a.is_null()) {
                return v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "record {index} not anchored within {within:?}: {:#?}\n{}",
            anchors(client).await.iter().take(5).collect::<Vec<_>>(),
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Lines of the server's JSON log whose message contains `needle`.
fn log_lines(fx: &Fixture, needle: &str) -> usize {
    std::fs::read_to_string(fx.path("server.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .and_then(|v| v["fields"]["message"].as_str().map(|m| m.contains(needle)))
                .unwrap_or(false)
        })
        .count()
}

/// Lines of the server's JSON log at WARN or ERROR from the anchoring worker.
fn anchoring_warnings(fx: &Fixture) -> usize {
    std::fs::read_to_string(fx.path("server.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            serde_json::from_str::<Value>(l).is_ok_and(|v| {
                matches!(v["level"].as_str(), Some("WARN" | "ERROR"))
                    && v["target"]
                        .as_str()
                        .is_some_and(|t| t.contains("anchoring"))
            })
        })
        .count()
}

fn addr(node: &Anvil) -> SocketAddr {
    format!("127.0.0.1:{}", node.port()).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anchoring_rides_out_chain_faults_while_ingest_continues() {
    let started = Instant::now();
    let outage = env_secs("PROVLOG_CHAIN_OUTAGE_S", 60);
    let wrong_for = env_secs("PROVLOG_CHAIN_WRONG_S", 8);
    let state_dir = tempfile::tempdir().unwrap();
    let mut node = Anvil::start(AnvilOptions {
        state: Some(state_dir.path().join("anvil.json")),
        ..AnvilOptions::default()
    })
    .await
    .expect("anvil starts (npm ci in contracts/ installs it)");
    let wrong = Anvil::start(AnvilOptions {
        chain_id: Some(WRONG_CHAIN_ID),
        ..AnvilOptions::default()
    })
    .await
    .unwrap();
    // Development account 0 deploys, account 1 anchors — on both chains, so the contract even
    // sits at the same address on the wrong one: only the chain id tells them apart.
    let anchorer = dev_key(1).address();
    let d = deploy(&node.url(), CHAIN_ID, &dev_key(0), &[anchorer])
        .await
        .unwrap();
    let dw = deploy(&wrong.url(), WRONG_CHAIN_ID, &dev_key(0), &[anchorer])
        .await
        .unwrap();
    assert_eq!(d.contract, dw.contract);
    let contract = d.contract;
    let lid = log_id(ORIGIN);
    let right = Reader::new(&node.url()).unwrap();
    let wrong_reader = Reader::new(&wrong.url()).unwrap();

    let proxy = Proxy::start(addr(&node)).await;
    let fx = Fixture::new(ORIGIN);
    let key_file = fx.path("anchorer.key");
    std::fs::write(&key_file, dev_key(1).to_hex().as_str()).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let db = TestDb::create("chain_faults").await;
    let env = [
        ("PROVLOG_ANCHOR_RPC_URL", proxy.url()),
        ("PROVLOG_ANCHOR_CHAIN_ID", CHAIN_ID.to_string()),
        ("PROVLOG_ANCHOR_CONTRACT", contract.to_string()),
        ("PROVLOG_ANCHOR_KEY_FILE", key_file.to_str().unwrap().into()),
        ("PROVLOG_ANCHOR_CONFIRMATIONS", "1".into()),
        ("PROVLOG_ANCHOR_EVERY_MS", "1000".into()),
        ("PROVLOG_ANCHOR_POLL_MS", "200".into()),
        ("PROVLOG_ANCHOR_STUCK_AFTER_MS", "2000".into()),
        ("PROVLOG_CHECKPOINT_INTERVAL_MS", "250".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&fx, &db.url, &env);
    let client = server.client(&fx);
    let http = reqwest::Client::new();
    let mut ingest = Ingest::start(client.clone());

    // Anchoring works before anything goes wrong.
    ingest.progressed("warm-up", 0).await;
    wait_anchored(
        &client,
        &server,
        ingest.last_index(),
        Duration::from_secs(30),
    )
    .await;
    wait_metric(
        &http,
        &server,
        "provlog_anchor_rpc_up",
        1.0,
        Duration::from_secs(5),
    )
    .await;

    // 1. The RPC is down for `outage`: anvil stopped (it saves its state), then restarted.
    let unreachable_before = log_lines(&fx, "unreachable");
    let acked_before = ingest.acked();
    node.stop();
    wait_metric(
        &http,
        &server,
        "provlog_anchor_rpc_up",
        0.0,
        Duration::from_secs(15),
    )
    .await;
    let in_outage = ingest.last_index();
    let rest = outage.saturating_sub(Duration::from_secs(1));
    tokio::time::sleep(rest).await;
    let (_, anchored) = receipt(&client, in_outage, None).await;
    assert!(!anchored, "nothing can be anchored while the chain is down");
    assert_eq!(
        metric(&http, &server, "provlog_anchor_rpc_up").await,
        Some(0.0)
    );
    let outage_acked = ingest.progressed("the RPC outage", acked_before).await;
    let unreachable = log_lines(&fx, "unreachable") - unreachable_before;
    assert!(
        (1..=3).contains(&unreachable),
        "a {outage:?} outage should be said once, not {unreachable} times:\n{}",
        server.logs()
    );
    node.restart().await.unwrap();
    let caught_up = Instant::now();
    wait_anchored(&client, &server, in_outage, Duration::from_secs(60)).await;
    let catch_up = caught_up.elapsed();
    wait_metric(
        &http,
        &server,
        "provlog_anchor_rpc_up",
        1.0,
        Duration::from_secs(10),
    )
    .await;
    assert!(
        log_lines(&fx, "anchoring recovered") >= 1,
        "{}",
        server.logs()
    );

    // 2. A reorg of depth 3 drops a confirmed anchor that had two blocks on top of it.
    let reorgs_before = counter(&http, &server, "provlog_anchor_reorgs_total").await;
    let acked_before = ingest.acked();
    node.rpc("evm_setAutomine", json!([false])).await.unwrap();
    // The worker's next anchor waits in the pool; mine it, then two blocks on top.
    let pending_nonce = wait_for(
        "an anchoring transaction in the pool",
        Duration::from_secs(20),
        || async {
            let latest = right.mined_nonce(anchorer).await.ok()?;
            let pending: String = node
                .rpc("eth_getTransactionCount", json!([anchorer, "pending"]))
                .await
                .ok()?
                .as_str()?
                .to_string();
            let pending = u64::from_str_radix(pending.trim_start_matches("0x"), 16).ok()?;
            (pending > latest).then_some(latest)
        },
    )
    .await;
    node.rpc("evm_mine", json!([])).await.unwrap();
    let block = right.block_number().await.unwrap();
    node.rpc("evm_mine", json!([])).await.unwrap();
    node.rpc("evm_mine", json!([])).await.unwrap();
    assert_eq!(right.block_number().await.unwrap(), block + 2);
    let dropped = wait_for(
        "the anchor in the reorged block to be confirmed",
        Duration::from_secs(20),
        || async {
            anchors(&client).await.into_iter().find(|a| {
                a.status == "confirmed" && a.block_number == Some(block) && a.nonce == pending_nonce
            })
        },
    )
    .await;
    let old_block_hash = dropped.block_hash.clone().unwrap();
    node.rpc("anvil_reorg", json!([3, []])).await.unwrap();
    assert_eq!(
        right
            .anchored(contract, lid, dropped.tree_size)
            .await
            .unwrap(),
        None,
        "the reorg dropped the anchor"
    );
    assert_ne!(
        right
            .block_hash(block)
            .await
            .unwrap()
            .map(|h| h.to_string()),
        Some(old_block_hash.clone())
    );
    node.rpc("evm_setAutomine", json!([true])).await.unwrap();
    node.rpc("evm_mine", json!([])).await.unwrap();
    let reanchored = wait_for(
        "the reorged size to be anchored again",
        Duration::from_secs(30),
        || async {
            anchors(&client).await.into_iter().find(|a| {
                a.status == "confirmed"
                    && a.tree_size == dropped.tree_size
                    && a.block_hash.as_deref() != Some(old_block_hash.as_str())
            })
        },
    )
    .await;
    // Receipts pinned to that size follow the new block.
    let (pinned, anchored) = receipt(&client, 0, Some(dropped.tree_size)).await;
    assert!(anchored);
    assert_eq!(
        pinned["anchor"]["block_hash"].as_str(),
        reanchored.block_hash.as_deref()
    );
    let new_block: B256 = reanchored.block_hash.as_deref().unwrap().parse().unwrap();
    assert_eq!(
        right
            .block_hash(reanchored.block_number.unwrap())
            .await
            .unwrap(),
        Some(new_block),
        "the receipt's block is canonical"
    );
    let reorgs = counter(&http, &server, "provlog_anchor_reorgs_total").await - reorgs_before;
    assert!(reorgs >= 1.0, "provlog_anchor_reorgs_total did not move");
    let reorg_acked = ingest.progressed("the reorg", acked_before).await;

    // 3. A stuck transaction: nothing is mined until the worker replaced it with higher fees.
    let bumps_before = counter(&http, &server, "provlog_anchor_fee_bumps_total").await;
    let replaced_before: Vec<i64> = anchors(&client)
        .await
        .into_iter()
        .filter(|a| a.status == "replaced")
        .map(|a| a.id)
        .collect();
    let acked_before = ingest.acked();
    node.rpc("evm_setAutomine", json!([false])).await.unwrap();
    let stuck = wait_for(
        "a stuck anchoring transaction to be replaced",
        Duration::from_secs(30),
        || async {
            anchors(&client)
                .await
                .into_iter()
                .find(|a| a.status == "replaced" && !replaced_before.contains(&a.id))
        },
    )
    .await;
    let bumps = counter(&http, &server, "provlog_anchor_fee_bumps_total").await - bumps_before;
    assert!(bumps >= 1.0, "provlog_anchor_fee_bumps_total did not move");
    node.rpc("evm_setAutomine", json!([true])).await.unwrap();
    node.rpc("evm_mine", json!([])).await.unwrap();
    let landed = wait_for(
        "the replacement to be confirmed",
        Duration::from_secs(30),
        || async {
            anchors(&client)
                .await
                .into_iter()
                .find(|a| a.status == "confirmed" && a.nonce == stuck.nonce)
        },
    )
    .await;
    assert_ne!(landed.tx_hash, stuck.tx_hash);
    assert_eq!(landed.tree_size, stuck.tree_size);
    let fee = |a: &AnchorEntry| a.max_fee_per_gas.parse::<u128>().unwrap();
    assert!(fee(&landed) > fee(&stuck), "{landed:?} vs {stuck:?}");
    for a in anchors(&client).await {
        if a.nonce == stuck.nonce && a.status == "replaced" {
            assert_eq!(
                right.inclusion(a.tx_hash.parse().unwrap()).await.unwrap(),
                None,
                "a replaced transaction was mined: {a:?}"
            );
        }
    }
    let stuck_acked = ingest
        .progressed("the stuck transaction", acked_before)
        .await;

    // 4. The same URL now answers for another chain.
    let reorgs_before = counter(&http, &server, "provlog_anchor_reorgs_total").await;
    let wrong_said_before = log_lines(&fx, "wrong chain");
    let mined_before = right.mined_nonce(anchorer).await.unwrap();
    let acked_before = ingest.acked();
    proxy.switch(addr(&wrong));
    wait_metric(
        &http,
        &server,
        "provlog_anchor_wrong_chain",
        1.0,
        Duration::from_secs(20),
    )
    .await;
    let in_wrong = ingest.last_index();
    tokio::time::sleep(wrong_for).await;
    assert_eq!(wrong_reader.mined_nonce(anchorer).await.unwrap(), 0);
    let wrong_pending = wrong
        .rpc("eth_getTransactionCount", json!([anchorer, "pending"]))
        .await
        .unwrap();
    assert_eq!(
        wrong_pending,
        json!("0x0"),
        "a transaction reached the wrong chain's pool"
    );
    assert_eq!(
        wrong_reader.latest(contract, lid).await.unwrap(),
        (0, B256::ZERO),
        "an anchor landed on the wrong chain"
    );
    assert_eq!(
        right.mined_nonce(anchorer).await.unwrap(),
        mined_before,
        "nothing was anchored while the URL served the wrong chain"
    );
    assert_eq!(
        counter(&http, &server, "provlog_anchor_reorgs_total").await,
        reorgs_before,
        "another chain's blocks are not a reorg of ours"
    );
    let wrong_said = log_lines(&fx, "wrong chain") - wrong_said_before;
    let wrong_limit = 2 + wrong_for.as_secs() / 10;
    assert!(
        (1..=wrong_limit).contains(&(wrong_said as u64)),
        "the wrong chain should be said, rate-limited: {wrong_said} lines\n{}",
        server.logs()
    );
    let wrong_acked = ingest.progressed("the wrong chain", acked_before).await;
    proxy.switch(addr(&node));
    wait_metric(
        &http,
        &server,
        "provlog_anchor_wrong_chain",
        0.0,
        Duration::from_secs(20),
    )
    .await;
    wait_anchored(&client, &server, in_wrong, Duration::from_secs(30)).await;
    wait_metric(
        &http,
        &server,
        "provlog_anchor_rpc_up",
        1.0,
        Duration::from_secs(5),
    )
    .await;

    // The end: ingest stops, the last record gets anchored.
    ingest.stop.store(true, Ordering::Relaxed);
    (&mut ingest.task).await.unwrap();
    let failures = ingest.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "{failures:?}");
    let last = ingest.last_index();
    wait_anchored(&client, &server, last, Duration::from_secs(30)).await;

    // No duplicates: the anchorer's mined transactions are exactly the confirmed anchors, in
    // nonce order with growing sizes, and none failed.
    let all = anchors(&client).await;
    assert!(
        all.iter()
            .all(|a| a.status != "failed" && a.status != "pending"),
        "{all:#?}"
    );
    let mut confirmed: Vec<&AnchorEntry> = all.iter().filter(|a| a.status == "confirmed").collect();
    confirmed.sort_by_key(|a| a.nonce);
    let mined = right.mined_nonce(anchorer).await.unwrap();
    assert_eq!(
        mined,
        confirmed.len() as u64,
        "the anchorer's mined transactions are exactly the confirmed anchors: {all:#?}"
    );
    for (i, pair) in confirmed.windows(2).enumerate() {
        assert!(
            pair[0].tree_size < pair[1].tree_size && pair[0].nonce + 1 == pair[1].nonce,
            "anchor {i}: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
    assert_eq!(confirmed[0].nonce, 0);
    // Every anchored root is a signed checkpoint of the log, and the contract holds it.
    let trusted = fx.trusted();
    let checkpoints = client.all_checkpoints().await.unwrap();
    for a in &confirmed {
        let cp = checkpoints
            .iter()
            .find(|c| c.size == a.tree_size)
            .unwrap_or_else(|| panic!("no signed checkpoint of size {}", a.tree_size));
        let verified = verify_checkpoint(cp.note.as_bytes(), &trusted, Some(ORIGIN)).unwrap();
        assert_eq!(verified.checkpoint.root, a.root);
        let held = right
            .anchored(contract, lid, a.tree_size)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("the contract lacks size {}", a.tree_size));
        assert_eq!(held.root.0, *a.root.as_bytes(), "size {}", a.tree_size);
        let tx = right
            .inclusion(a.tx_hash.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(Some(tx.block_number), a.block_number);
        assert_eq!(
            tx.block_hash.to_string(),
            a.block_hash.clone().unwrap(),
            "the stored block is canonical"
        );
    }
    // Sampled receipts, one from each phase, verify offline and against the chain.
    let samples = [
        0,
        in_outage,
        dropped.tree_size - 1,
        stuck.tree_size - 1,
        in_wrong,
        last,
    ];
    for index in samples {
        let (v, anchored) = receipt(&client, index, None).await;
        assert!(anchored, "receipt of {index} not anchored");
        let parsed: Receipt = serde_json::from_value(v.clone()).unwrap();
        let verified = verify_receipt(&parsed, &trusted).unwrap();
        assert_eq!(verified.leaf_index, index);
        let file = fx.path(&format!("receipt-{index}.json"));
        std::fs::write(&file, serde_json::to_vec(&v).unwrap()).unwrap();
        let out = provlog(&[
            "verify",
            "receipt",
            file.to_str().unwrap(),
            "--key",
            fx.vkey_file.to_str().unwrap(),
            "--rpc-url",
            &node.url(),
            "--contract",
            &contract.to_string(),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("holds this root"),
            "verify receipt {index}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let warnings = anchoring_warnings(&fx);
    assert!(
        warnings <= 40,
        "{warnings} warning lines from the anchoring worker: a flood\n{}",
        server.logs()
    );
    let confirmed_metric = counter(&http, &server, "provlog_anchors_confirmed_total").await;
    assert!(confirmed_metric >= 1.0);
    let replaced = all.iter().filter(|a| a.status == "replaced").count();
    let reorged = all.iter().filter(|a| a.status == "reorged").count();
    assert!(reorged >= 1, "{all:#?}");
    assert!(server.terminate(Duration::from_secs(10)).success());
    let _ = writeln!(
        std::io::stderr(),
        "chain-faults: {} records acked under faults ({} in a {}s RPC outage, {} in a depth-3 \
         reorg, {} with a stuck tx, {} during {}s on the wrong chain; {} retryable answers, 0 \
         failures); catch-up after the outage {:.1}s; {} anchors confirmed, {} replaced, {} \
         reorged, 0 duplicates, 0 txs on the wrong chain; {} 'unreachable' and {} 'wrong chain' \
         log lines, {} anchoring warnings in all; {:.0}s in all",
        ingest.acked(),
        outage_acked,
        outage.as_secs(),
        reorg_acked,
        stuck_acked,
        wrong_acked,
        wrong_for.as_secs(),
        ingest.retryable.load(Ordering::Relaxed),
        catch_up.as_secs_f64(),
        confirmed.len(),
        replaced,
        reorged,
        unreachable,
        wrong_said,
        warnings,
        started.elapsed().as_secs_f64(),
    );
    db.drop_db().await;
}
