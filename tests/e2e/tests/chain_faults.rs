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
use provlog_chain::primitives::{Address, B256};
use provlog_chain::{deploy, log_id, Reader};
use provlog_client::{signal, AnchorEntry, Client, Submission};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::receipt::{verify_receipt, Receipt};
use provlog_e2e::chain::{anchor_env, anchorer_key};
use provlog_e2e::proxy::Proxy;
use provlog_e2e::{
    env_refs, verify_receipt as verify_receipt_cli, wait_for, Fixture, Server, TestDb,
};
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

/// The right chain behind the proxy, the wrong one beside it, and `provlog serve` anchoring
/// through the proxy while [`Ingest`] submits.
struct Rig {
    ingest: Ingest,
    http: reqwest::Client,
    client: Client,
    server: Server,
    db: TestDb,
    fx: Fixture,
    proxy: Proxy,
    right: Reader,
    wrong_reader: Reader,
    contract: Address,
    lid: B256,
    anchorer: Address,
    wrong: Anvil,
    node: Anvil,
    _state_dir: tempfile::TempDir,
}

/// What the RPC outage left for the summary.
struct Outage {
    /// Newest record acknowledged when the RPC went down.
    in_outage: u64,
    acked: u64,
    unreachable: usize,
    catch_up: Duration,
}

/// What the wrong chain left for the summary.
struct WrongChain {
    /// Newest record acknowledged when the wrong chain answered.
    in_wrong: u64,
    said: usize,
    acked: u64,
}

impl Rig {
    async fn start() -> Rig {
        let state_dir = tempfile::tempdir().unwrap();
        let node = Anvil::start(AnvilOptions {
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
        // Development account 0 deploys, account 1 anchors — on both chains, so the contract
        // even sits at the same address on the wrong one: only the chain id tells them apart.
        let anchorer = dev_key(1).address();
        let d = deploy(&node.url(), CHAIN_ID, &dev_key(0), &[anchorer])
            .await
            .unwrap();
        let dw = deploy(&wrong.url(), WRONG_CHAIN_ID, &dev_key(0), &[anchorer])
            .await
            .unwrap();
        assert_eq!(d.contract, dw.contract);
        let contract = d.contract;

        let proxy = Proxy::start(addr(&node)).await;
        let fx = Fixture::new(ORIGIN);
        let key_file = anchorer_key(&fx);
        let db = TestDb::create("chain_faults").await;
        let mut env = anchor_env(
            &proxy.url(),
            &CHAIN_ID.to_string(),
            &contract.to_string(),
            &key_file,
        );
        env.extend([
            ("PROVLOG_ANCHOR_EVERY_MS", "1000".into()),
            ("PROVLOG_ANCHOR_POLL_MS", "200".into()),
            ("PROVLOG_ANCHOR_STUCK_AFTER_MS", "2000".into()),
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "250".into()),
        ]);
        let server = Server::start(&fx, &db.url, &env_refs(&env));
        let client = server.client(&fx);
        Rig {
            ingest: Ingest::start(client.clone()),
            http: reqwest::Client::new(),
            client,
            server,
            db,
            fx,
            proxy,
            right: Reader::new(&node.url()).unwrap(),
            wrong_reader: Reader::new(&wrong.url()).unwrap(),
            contract,
            lid: log_id(ORIGIN),
            anchorer,
            wrong,
            node,
            _state_dir: state_dir,
        }
    }

    async fn wait_metric(&self, name: &str, want: f64, within: Duration) {
        wait_metric(&self.http, &self.server, name, want, within).await;
    }

    async fn counter(&self, name: &str) -> f64 {
        counter(&self.http, &self.server, name).await
    }

    async fn wait_anchored(&self, index: u64, within: Duration) -> Value {
        wait_anchored(&self.client, &self.server, index, within).await
    }

    /// Waits until the log lists an anchor that matches `want`; returns it.
    async fn wait_anchor(
        &self,
        what: &str,
        within: Duration,
        want: impl Fn(&AnchorEntry) -> bool,
    ) -> AnchorEntry {
        wait_for(what, within, || async {
            anchors(&self.client).await.into_iter().find(|a| want(a))
        })
        .await
    }

    /// Anchoring works before anything goes wrong.
    async fn warm_up(&self) {
        self.ingest.progressed("warm-up", 0).await;
        self.wait_anchored(self.ingest.last_index(), Duration::from_secs(30))
            .await;
        self.wait_metric("provlog_anchor_rpc_up", 1.0, Duration::from_secs(5))
            .await;
    }

    /// 1. The RPC is down for `outage`: anvil stopped (it saves its state), then restarted.
    async fn rpc_outage(&mut self, outage: Duration) -> Outage {
        let unreachable_before = log_lines(&self.fx, "unreachable");
        let acked_before = self.ingest.acked();
        self.node.stop();
        self.wait_metric("provlog_anchor_rpc_up", 0.0, Duration::from_secs(15))
            .await;
        let in_outage = self.ingest.last_index();
        let rest = outage.saturating_sub(Duration::from_secs(1));
        tokio::time::sleep(rest).await;
        let (_, anchored) = receipt(&self.client, in_outage, None).await;
        assert!(!anchored, "nothing can be anchored while the chain is down");
        assert_eq!(
            metric(&self.http, &self.server, "provlog_anchor_rpc_up").await,
            Some(0.0)
        );
        let acked = self.ingest.progressed("the RPC outage", acked_before).await;
        let unreachable = log_lines(&self.fx, "unreachable") - unreachable_before;
        assert!(
            (1..=3).contains(&unreachable),
            "a {outage:?} outage should be said once, not {unreachable} times:\n{}",
            self.server.logs()
        );
        self.node.restart().await.unwrap();
        let caught_up = Instant::now();
        self.wait_anchored(in_outage, Duration::from_secs(60)).await;
        let catch_up = caught_up.elapsed();
        self.wait_metric("provlog_anchor_rpc_up", 1.0, Duration::from_secs(10))
            .await;
        assert!(
            log_lines(&self.fx, "anchoring recovered") >= 1,
            "{}",
            self.server.logs()
        );
        Outage {
            in_outage,
            acked,
            unreachable,
            catch_up,
        }
    }

    /// 2. A reorg of depth 3 drops a confirmed anchor that had two blocks on top of it; returns
    ///    that anchor and the records acknowledged meanwhile.
    async fn reorg(&self) -> (AnchorEntry, u64) {
        let (node, right) = (&self.node, &self.right);
        let reorgs_before = self.counter("provlog_anchor_reorgs_total").await;
        let acked_before = self.ingest.acked();
        node.rpc("evm_setAutomine", json!([false])).await.unwrap();
        // The worker's next anchor waits in the pool; mine it, then two blocks on top.
        let pending_nonce = self.pool_nonce().await;
        node.rpc("evm_mine", json!([])).await.unwrap();
        let block = right.block_number().await.unwrap();
        node.rpc("evm_mine", json!([])).await.unwrap();
        node.rpc("evm_mine", json!([])).await.unwrap();
        assert_eq!(right.block_number().await.unwrap(), block + 2);
        let dropped = self
            .wait_anchor(
                "the anchor in the reorged block to be confirmed",
                Duration::from_secs(20),
                |a| {
                    a.status == "confirmed"
                        && a.block_number == Some(block)
                        && a.nonce == pending_nonce
                },
            )
            .await;
        let old_block_hash = dropped.block_hash.clone().unwrap();
        node.rpc("anvil_reorg", json!([3, []])).await.unwrap();
        assert_eq!(
            right
                .anchored(self.contract, self.lid, dropped.tree_size)
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
        let reanchored = self
            .wait_anchor(
                "the reorged size to be anchored again",
                Duration::from_secs(30),
                |a| {
                    a.status == "confirmed"
                        && a.tree_size == dropped.tree_size
                        && a.block_hash.as_deref() != Some(old_block_hash.as_str())
                },
            )
            .await;
        self.check_pinned_receipt_follows(&dropped, &reanchored)
            .await;
        let reorgs = self.counter("provlog_anchor_reorgs_total").await - reorgs_before;
        assert!(reorgs >= 1.0, "provlog_anchor_reorgs_total did not move");
        let reorg_acked = self.ingest.progressed("the reorg", acked_before).await;
        (dropped, reorg_acked)
    }

    /// The nonce of the anchoring transaction waiting in the pool.
    async fn pool_nonce(&self) -> u64 {
        wait_for(
            "an anchoring transaction in the pool",
            Duration::from_secs(20),
            || async {
                let latest = self.right.mined_nonce(self.anchorer).await.ok()?;
                let pending: String = self
                    .node
                    .rpc("eth_getTransactionCount", json!([self.anchorer, "pending"]))
                    .await
                    .ok()?
                    .as_str()?
                    .to_string();
                let pending = u64::from_str_radix(pending.trim_start_matches("0x"), 16).ok()?;
                (pending > latest).then_some(latest)
            },
        )
        .await
    }

    /// Receipts pinned to the reorged size follow the new block.
    async fn check_pinned_receipt_follows(&self, dropped: &AnchorEntry, reanchored: &AnchorEntry) {
        let (pinned, anchored) = receipt(&self.client, 0, Some(dropped.tree_size)).await;
        assert!(anchored);
        assert_eq!(
            pinned["anchor"]["block_hash"].as_str(),
            reanchored.block_hash.as_deref()
        );
        let new_block: B256 = reanchored.block_hash.as_deref().unwrap().parse().unwrap();
        assert_eq!(
            self.right
                .block_hash(reanchored.block_number.unwrap())
                .await
                .unwrap(),
            Some(new_block),
            "the receipt's block is canonical"
        );
    }

    /// 3. A stuck transaction: nothing is mined until the worker replaced it with higher fees;
    ///    returns the stuck anchor and the records acknowledged meanwhile.
    async fn stuck_transaction(&self) -> (AnchorEntry, u64) {
        let bumps_before = self.counter("provlog_anchor_fee_bumps_total").await;
        let replaced_before: Vec<i64> = anchors(&self.client)
            .await
            .into_iter()
            .filter(|a| a.status == "replaced")
            .map(|a| a.id)
            .collect();
        let acked_before = self.ingest.acked();
        self.node
            .rpc("evm_setAutomine", json!([false]))
            .await
            .unwrap();
        let stuck = self
            .wait_anchor(
                "a stuck anchoring transaction to be replaced",
                Duration::from_secs(30),
                |a| a.status == "replaced" && !replaced_before.contains(&a.id),
            )
            .await;
        // The worker stores the replacement, then broadcasts it and counts the bump: the status
        // can be read a moment before the counter moves.
        wait_for(
            "provlog_anchor_fee_bumps_total to move",
            Duration::from_secs(5),
            || async {
                let bumps = self.counter("provlog_anchor_fee_bumps_total").await - bumps_before;
                (bumps >= 1.0).then_some(())
            },
        )
        .await;
        self.node
            .rpc("evm_setAutomine", json!([true]))
            .await
            .unwrap();
        self.node.rpc("evm_mine", json!([])).await.unwrap();
        let landed = self
            .wait_anchor(
                "the replacement to be confirmed",
                Duration::from_secs(30),
                |a| a.status == "confirmed" && a.nonce == stuck.nonce,
            )
            .await;
        assert_ne!(landed.tx_hash, stuck.tx_hash);
        assert_eq!(landed.tree_size, stuck.tree_size);
        let fee = |a: &AnchorEntry| a.max_fee_per_gas.parse::<u128>().unwrap();
        assert!(fee(&landed) > fee(&stuck), "{landed:?} vs {stuck:?}");
        for a in anchors(&self.client).await {
            if a.nonce == stuck.nonce && a.status == "replaced" {
                assert_eq!(
                    self.right
                        .inclusion(a.tx_hash.parse().unwrap())
                        .await
                        .unwrap(),
                    None,
                    "a replaced transaction was mined: {a:?}"
                );
            }
        }
        let stuck_acked = self
            .ingest
            .progressed("the stuck transaction", acked_before)
            .await;
        (stuck, stuck_acked)
    }

    /// 4. The same URL answers for another chain for `wrong_for`.
    async fn wrong_chain(&self, wrong_for: Duration) -> WrongChain {
        let reorgs_before = self.counter("provlog_anchor_reorgs_total").await;
        let wrong_said_before = log_lines(&self.fx, "wrong chain");
        let mined_before = self.right.mined_nonce(self.anchorer).await.unwrap();
        let acked_before = self.ingest.acked();
        self.proxy.switch(addr(&self.wrong));
        self.wait_metric("provlog_anchor_wrong_chain", 1.0, Duration::from_secs(20))
            .await;
        let in_wrong = self.ingest.last_index();
        tokio::time::sleep(wrong_for).await;
        self.check_nothing_sent_to_the_wrong_chain(mined_before)
            .await;
        assert_eq!(
            self.counter("provlog_anchor_reorgs_total").await,
            reorgs_before,
            "another chain's blocks are not a reorg of ours"
        );
        let said = log_lines(&self.fx, "wrong chain") - wrong_said_before;
        let wrong_limit = 2 + wrong_for.as_secs() / 10;
        assert!(
            (1..=wrong_limit).contains(&(said as u64)),
            "the wrong chain should be said, rate-limited: {said} lines\n{}",
            self.server.logs()
        );
        let acked = self
            .ingest
            .progressed("the wrong chain", acked_before)
            .await;
        self.proxy.switch(addr(&self.node));
        self.wait_metric("provlog_anchor_wrong_chain", 0.0, Duration::from_secs(20))
            .await;
        self.wait_anchored(in_wrong, Duration::from_secs(30)).await;
        self.wait_metric("provlog_anchor_rpc_up", 1.0, Duration::from_secs(5))
            .await;
        WrongChain {
            in_wrong,
            said,
            acked,
        }
    }

    async fn check_nothing_sent_to_the_wrong_chain(&self, mined_before: u64) {
        assert_eq!(
            self.wrong_reader.mined_nonce(self.anchorer).await.unwrap(),
            0
        );
        let wrong_pending = self
            .wrong
            .rpc("eth_getTransactionCount", json!([self.anchorer, "pending"]))
            .await
            .unwrap();
        assert_eq!(
            wrong_pending,
            json!("0x0"),
            "a transaction reached the wrong chain's pool"
        );
        assert_eq!(
            self.wrong_reader
                .latest(self.contract, self.lid)
                .await
                .unwrap(),
            (0, B256::ZERO),
            "an anchor landed on the wrong chain"
        );
        assert_eq!(
            self.right.mined_nonce(self.anchorer).await.unwrap(),
            mined_before,
            "nothing was anchored while the URL served the wrong chain"
        );
    }

    /// The end: ingest stops, the last record gets anchored; returns its index.
    async fn stop_ingest(&mut self) -> u64 {
        self.ingest.stop.store(true, Ordering::Relaxed);
        (&mut self.ingest.task).await.unwrap();
        let failures = self.ingest.failures.lock().unwrap().clone();
        assert!(failures.is_empty(), "{failures:?}");
        let last = self.ingest.last_index();
        self.wait_anchored(last, Duration::from_secs(30)).await;
        last
    }

    /// No duplicates: the anchorer's mined transactions are exactly the confirmed anchors, in
    /// nonce order with growing sizes, and none failed. Returns the confirmed ones.
    async fn check_no_duplicates<'a>(&self, all: &'a [AnchorEntry]) -> Vec<&'a AnchorEntry> {
        assert!(
            all.iter()
                .all(|a| a.status != "failed" && a.status != "pending"),
            "{all:#?}"
        );
        let mut confirmed: Vec<&AnchorEntry> =
            all.iter().filter(|a| a.status == "confirmed").collect();
        confirmed.sort_by_key(|a| a.nonce);
        let mined = self.right.mined_nonce(self.anchorer).await.unwrap();
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
        confirmed
    }

    /// Every anchored root is a signed checkpoint of the log, and the contract holds it.
    async fn check_anchored_roots(&self, confirmed: &[&AnchorEntry]) {
        let trusted = self.fx.trusted();
        let checkpoints = self.client.all_checkpoints().await.unwrap();
        for a in confirmed {
            let cp = checkpoints
                .iter()
                .find(|c| c.size == a.tree_size)
                .unwrap_or_else(|| panic!("no signed checkpoint of size {}", a.tree_size));
            let verified = verify_checkpoint(cp.note.as_bytes(), &trusted, Some(ORIGIN)).unwrap();
            assert_eq!(verified.checkpoint.root, a.root);
            let held = self
                .right
                .anchored(self.contract, self.lid, a.tree_size)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("the contract lacks size {}", a.tree_size));
            assert_eq!(held.root.0, *a.root.as_bytes(), "size {}", a.tree_size);
            let tx = self
                .right
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
    }

    /// Sampled receipts verify offline and against the chain.
    async fn check_receipts(&self, samples: &[u64]) {
        let trusted = self.fx.trusted();
        for &index in samples {
            let (v, anchored) = receipt(&self.client, index, None).await;
            assert!(anchored, "receipt of {index} not anchored");
            let parsed: Receipt = serde_json::from_value(v.clone()).unwrap();
            let verified = verify_receipt(&parsed, &trusted).unwrap();
            assert_eq!(verified.leaf_index, index);
            let file = self.fx.path(&format!("receipt-{index}.json"));
            std::fs::write(&file, serde_json::to_vec(&v).unwrap()).unwrap();
            let out = verify_receipt_cli(
                &self.fx,
                &file,
                &[
                    "--rpc-url",
                    &self.node.url(),
                    "--contract",
                    &self.contract.to_string(),
                ],
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("holds this root"),
                "verify receipt {index}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anchoring_rides_out_chain_faults_while_ingest_continues() {
    let started = Instant::now();
    let outage = env_secs("PROVLOG_CHAIN_OUTAGE_S", 60);
    let wrong_for = env_secs("PROVLOG_CHAIN_WRONG_S", 8);
    let mut rig = Rig::start().await;
    rig.warm_up().await;
    let out = rig.rpc_outage(outage).await;
    let (dropped, reorg_acked) = rig.reorg().await;
    let (stuck, stuck_acked) = rig.stuck_transaction().await;
    let wrong = rig.wrong_chain(wrong_for).await;
    let last = rig.stop_ingest().await;

    let all = anchors(&rig.client).await;
    let confirmed = rig.check_no_duplicates(&all).await;
    rig.check_anchored_roots(&confirmed).await;
    // One receipt from each phase.
    rig.check_receipts(&[
        0,
        out.in_outage,
        dropped.tree_size - 1,
        stuck.tree_size - 1,
        wrong.in_wrong,
        last,
    ])
    .await;
    let warnings = anchoring_warnings(&rig.fx);
    assert!(
        warnings <= 40,
        "{warnings} warning lines from the anchoring worker: a flood\n{}",
        rig.server.logs()
    );
    let confirmed_metric = rig.counter("provlog_anchors_confirmed_total").await;
    assert!(confirmed_metric >= 1.0);
    let replaced = all.iter().filter(|a| a.status == "replaced").count();
    let reorged = all.iter().filter(|a| a.status == "reorged").count();
    assert!(reorged >= 1, "{all:#?}");
    let Rig {
        ingest, server, db, ..
    } = rig;
    assert!(server.terminate(Duration::from_secs(10)).success());
    let _ = writeln!(
        std::io::stderr(),
        "chain-faults: {} records acked under faults ({} in a {}s RPC outage, {} in a depth-3 \
         reorg, {} with a stuck tx, {} during {}s on the wrong chain; {} retryable answers, 0 \
         failures); catch-up after the outage {:.1}s; {} anchors confirmed, {} replaced, {} \
         reorged, 0 duplicates, 0 txs on the wrong chain; {} 'unreachable' and {} 'wrong chain' \
         log lines, {} anchoring warnings in all; {:.0}s in all",
        ingest.acked(),
        out.acked,
        outage.as_secs(),
        reorg_acked,
        stuck_acked,
        wrong.acked,
        wrong_for.as_secs(),
        ingest.retryable.load(Ordering::Relaxed),
        out.catch_up.as_secs_f64(),
        confirmed.len(),
        replaced,
        reorged,
        out.unreachable,
        wrong.said,
        warnings,
        started.elapsed().as_secs_f64(),
    );
    db.drop_db().await;
}
