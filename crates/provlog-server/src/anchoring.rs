//! The anchoring worker: puts the newest signed checkpoint on an EVM chain through the
//! `ProvenanceAnchor` contract, on the replica that holds the leader lease.
//!
//! One step at a time, each step decided from the database and the chain, never from memory, so
//! a restart, a failover or an RPC outage resumes where things stand:
//! - a **pending** transaction (at most one per log: the database refuses a second) is watched
//!   until it is `confirmations` deep in a block that is still canonical, then **confirmed**;
//!   one not mined after `anchor_stuck_after_ms` is **replaced** by the same call with the same
//!   nonce and higher fees; one the node forgot (a restart, a reorg) is rebroadcast from its
//!   stored bytes — the same hash, so never a second anchor;
//! - a confirmed transaction whose block left the canonical chain is **reorged** and its bytes
//!   become the pending transaction again;
//! - with nothing in flight, the newest checkpoint larger than everything anchored is verified,
//!   signed with the account's mined nonce, stored, and only then broadcast.
//!
//! The nonce is ours, not alloy's cached nonce manager's: it is read from the chain when nothing
//! is in flight and stored with the transaction hash and bytes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use provlog_chain::primitives::{Address, B256};
use provlog_chain::{AnchorCall, AnchorKey, Broadcast, Chain, ChainError, Fees, Reader, SignedTx};
use provlog_core::checkpoint::verify_checkpoint;
use provlog_core::receipt::AnchorRef;
use provlog_store::{AnchorRow, AnchorStatus, AnchorTarget, MinedBlock, NewAnchor, StoreError};
use tokio::sync::watch;

use crate::config::{Config, ConfigError, Secret};
use crate::{now_ms, AppState};

/// How many of the newest confirmed anchors are re-checked for reorgs on every step.
const REORG_RECHECK: u32 = 4;
/// Longest wait between attempts while the chain is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The anchoring configuration, resolved and checked.
#[derive(Debug, Clone)]
pub struct Anchoring {
    pub target: AnchorTarget,
    pub contract: Address,
    pub log_id: B256,
    key: AnchorKey,
    rpc_url: Secret,
    confirmations: u64,
    every: Duration,
    poll: Duration,
    stuck_after: Duration,
    bump_percent: u32,
    max_fee_per_gas: u128,
}

impl Anchoring {
    /// `None` when anchoring is off.
    pub fn from_config(config: &Config) -> Result<Option<Anchoring>, ConfigError> {
        if !config.anchoring() {
            return Ok(None);
        }
        let contract = config.anchor_contract_address()?;
        let key = config.anchor_key()?;
        let log_id = provlog_chain::log_id(&config.origin);
        Ok(Some(Anchoring {
            target: AnchorTarget {
                origin: config.origin.clone(),
                chain_id: config.anchor_chain_id,
                contract: contract.into_array(),
                log_id: log_id.0,
            },
            contract,
            log_id,
            key,
            rpc_url: config.anchor_rpc_url.clone(),
            confirmations: config.anchor_confirmations,
            every: Duration::from_millis(config.anchor_every_ms),
            poll: Duration::from_millis(config.anchor_poll_ms),
            stuck_after: Duration::from_millis(config.anchor_stuck_after_ms),
            bump_percent: config.anchor_fee_bump_percent,
            max_fee_per_gas: u128::from(config.anchor_max_fee_per_gas),
        }))
    }

    /// The anchorer's account.
    pub fn sender(&self) -> Address {
        self.key.address()
    }

    /// The endpoint's host, for logs: the full URL may carry an API key.
    pub fn rpc_host(&self) -> String {
        redact_url(self.rpc_url.expose())
    }

    /// `e` as text without the RPC URL's secret parts (user info, path and query): the HTTP
    /// client's errors name the URL they failed on, API key included.
    pub fn redact_error(&self, e: &dyn std::fmt::Display) -> String {
        let mut text = e.to_string();
        if let Some((_, rest)) = self.rpc_url.expose().split_once("://") {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let tail = &rest[authority.len()..];
            let userinfo = authority.rsplit_once('@').map(|(u, _)| u);
            for secret in [userinfo, Some(tail), Some(tail.trim_start_matches('/'))]
                .into_iter()
                .flatten()
            {
                if secret.len() > 1 {
                    text = text.replace(secret, "[redacted]");
                }
            }
        }
        text
    }

    /// Connects and checks the chain id and the contract.
    pub async fn connect(&self) -> Result<Chain, ChainError> {
        let chain = Chain::connect(
            self.rpc_url.expose(),
            self.target.chain_id,
            self.key.clone(),
        )
        .await?;
        let reader = chain.reader();
        reader.require_contract(self.contract).await?;
        if !reader.is_anchorer(self.contract, chain.address()).await? {
            tracing::error!(account = %chain.address(), contract = %self.contract,
                "the anchorer key's account lacks the anchorer role; the contract owner must addAnchorer it");
        }
        Ok(chain)
    }

    /// The contract call anchoring (`size`, `root`) for this log.
    pub fn call(&self, size: u64, root: &provlog_core::Hash) -> AnchorCall {
        AnchorCall {
            contract: self.contract,
            log_id: self.log_id,
            size,
            root: B256::from(*root.as_bytes()),
        }
    }

    /// The receipt field for a confirmed anchor.
    pub fn anchor_ref(&self, row: &AnchorRow) -> Option<AnchorRef> {
        Some(AnchorRef {
            chain_id: row.target.chain_id,
            contract: format!("{}", Address::from(row.target.contract)),
            log_id: format!("{}", B256::from(row.target.log_id)),
            tx_hash: format!("{}", B256::from(row.tx.tx_hash)),
            block_number: row.block_number?,
            block_hash: format!("{}", B256::from(row.block_hash?)),
            block_timestamp: row.block_timestamp,
            tree_size: row.tx.tree_size,
        })
    }
}

/// `scheme://host[:port]`: what logs may show of an RPC URL.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = authority.rsplit('@').next().unwrap_or("");
            format!("{scheme}://{host}")
        }
        None => "(unparsable URL)".into(),
    }
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs while the server runs; works only while this replica leads.
pub async fn run(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let Some(anchoring) = state.anchoring.clone() else {
        return;
    };
    tracing::info!(rpc = %anchoring.rpc_host(), chain_id = anchoring.target.chain_id,
        contract = %anchoring.contract, account = %anchoring.sender(), "anchoring enabled");
    let mut chain: Option<Chain> = None;
    let mut backoff = anchoring.poll;
    // The kind of the ongoing failure, if any: each kind is said once per episode, not once
    // per retry.
    let mut failing: Option<&'static str> = None;
    loop {
        let wait = if !state.leading.load(Ordering::Relaxed) {
            anchoring.poll
        } else {
            let outcome = match &chain {
                Some(c) => step(&state, &anchoring, c).await,
                None => match anchoring.connect().await {
                    Ok(c) => {
                        tracing::info!(chain_id = c.chain_id(), "connected to the anchoring chain");
                        chain = Some(c);
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                },
            };
            match outcome {
                Ok(()) => {
                    if let Some(kind) = failing {
                        tracing::info!(after = kind, "anchoring recovered");
                    }
                    metrics::gauge!("provlog_anchor_rpc_up").set(1.0);
                    metrics::gauge!("provlog_anchor_wrong_chain").set(0.0);
                    failing = None;
                    backoff = anchoring.poll;
                    anchoring.poll
                }
                Err(e) => {
                    let transient = matches!(&e, StepError::Chain(c) if c.is_transient())
                        || matches!(&e, StepError::Store(s) if s.is_unavailable());
                    metrics::counter!("provlog_anchor_errors_total",
                        "kind" => if transient { "unavailable" } else { "refused" })
                    .increment(1);
                    let kind = match &e {
                        StepError::Chain(ChainError::WrongChain { .. }) => "wrong chain",
                        StepError::Chain(c) if c.is_transient() => "rpc unreachable",
                        StepError::Store(s) if s.is_unavailable() => "database unavailable",
                        _ => "refused",
                    };
                    if kind == "wrong chain" {
                        metrics::gauge!("provlog_anchor_wrong_chain").set(1.0);
                    }
                    // Transient failures and a wrong chain are said once per episode; other
                    // refusals on every (backed-off) attempt.
                    if failing != Some(kind) || kind == "refused" {
                        match kind {
                            "wrong chain" => {
                                tracing::error!(error = %anchoring.redact_error(&e), rpc = %anchoring.rpc_host(),
                                "anchoring paused: the RPC endpoint serves the wrong chain; \
                                 nothing is sent until it serves the configured chain id again")
                            }
                            "rpc unreachable" => {
                                tracing::warn!(error = %anchoring.redact_error(&e), rpc = %anchoring.rpc_host(),
                                "anchoring paused: the chain's RPC endpoint is unreachable; \
                                 retrying with backoff (said once per outage)")
                            }
                            _ => {
                                tracing::warn!(error = %anchoring.redact_error(&e), rpc = %anchoring.rpc_host(),
                                retry_in = ?backoff, "anchoring failed")
                            }
                        }
                    }
                    metrics::gauge!("provlog_anchor_rpc_up").set(0.0);
                    failing = Some(kind);
                    // Reconnect (and re-check the chain id) after any chain failure: the
                    // endpoint may have been restarted or repointed.
                    if matches!(e, StepError::Chain(_)) {
                        chain = None;
                    }
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn new_anchor(size: u64, root: provlog_core::Hash, sender: Address, tx: &SignedTx) -> NewAnchor {
    NewAnchor {
        tree_size: size,
        root,
        sender: sender.into_array(),
        nonce: tx.nonce,
        tx_hash: tx.hash.0,
        raw_tx: tx.raw.clone(),
        gas_limit: tx.gas_limit,
        max_fee_per_gas: tx.max_fee_per_gas,
        max_priority_fee_per_gas: tx.max_priority_fee_per_gas,
    }
}

/// One decision and its effects.
async fn step(state: &AppState, a: &Anchoring, chain: &Chain) -> Result<(), StepError> {
    let reader = chain.reader();
    // The endpoint may have been repointed since we connected (a load balancer, a DNS change):
    // another chain's blocks are no reorg of ours, and nothing may be sent there.
    reader.require_chain(a.target.chain_id).await?;
    if let Some(pending) = state.store.pending_anchor(&a.target).await? {
        return watch_pending(state, a, chain, &reader, pending).await;
    }
    if recheck_confirmed(state, a, &reader).await? {
        return Ok(());
    }
    anchor_newest(state, a, chain, &reader).await
}

async fn watch_pending(
    state: &AppState,
    a: &Anchoring,
    chain: &Chain,
    reader: &Reader,
    pending: AnchorRow,
) -> Result<(), StepError> {
    let now = now_ms();
    // The pending transaction or one it replaced may be the one mined: they share the nonce.
    let candidates = state
        .store
        .anchors_with_nonce(a.target.chain_id, &pending.tx.sender, pending.tx.nonce)
        .await?;
    for row in candidates.iter().filter(|r| {
        matches!(r.status, AnchorStatus::Pending | AnchorStatus::Replaced) && r.target == a.target
    }) {
        let Some(mined) = reader.inclusion(B256::from(row.tx.tx_hash)).await? else {
            continue;
        };
        if !mined.success {
            tracing::error!(size = row.tx.tree_size, tx = %B256::from(row.tx.tx_hash),
                "the anchoring transaction reverted");
            metrics::counter!("provlog_anchor_failed_total").increment(1);
            state
                .store
                .set_anchor_status(row.id, row.status, AnchorStatus::Failed, now)
                .await?;
            if row.id != pending.id {
                replaced(state, &pending, now).await?;
            }
            return Ok(());
        }
        let head = reader.block_number().await?;
        let depth = head.saturating_sub(mined.block_number) + 1;
        if head < mined.block_number || depth < a.confirmations {
            state
                .store
                .set_anchor_block(
                    pending.id,
                    Some((mined.block_number, mined.block_hash.0)),
                    now,
                )
                .await?;
            return Ok(());
        }
        let Some(block) = reader
            .block(mined.block_number)
            .await?
            .filter(|b| b.hash == mined.block_hash)
        else {
            // The node's receipt is from a block that is no longer canonical: ask again later.
            return Ok(());
        };
        // Invariant 4, from the other side: what the chain now holds is what we signed.
        match reader
            .anchored(a.contract, a.log_id, row.tx.tree_size)
            .await?
        {
            Some(onchain) if onchain.root.0 == *row.tx.root.as_bytes() => {}
            other => {
                metrics::counter!("provlog_anchor_mismatch_total").increment(1);
                tracing::error!(size = row.tx.tree_size, ours = %row.tx.root, chain = ?other,
                    "the contract does not hold our root for an anchored size");
                return Ok(());
            }
        }
        if state
            .store
            .confirm_anchor(
                row.id,
                &MinedBlock {
                    number: block.number,
                    hash: block.hash.0,
                    timestamp: block.timestamp,
                },
                now,
            )
            .await?
        {
            metrics::counter!("provlog_anchors_confirmed_total").increment(1);
            metrics::gauge!("provlog_anchored_size").set(row.tx.tree_size as f64);
            tracing::info!(size = row.tx.tree_size, tx = %B256::from(row.tx.tx_hash),
                block = mined.block_number, "checkpoint anchored");
        }
        return Ok(());
    }
    // Not mined. Did another transaction take the nonce?
    let mined_nonce = reader.mined_nonce(chain.address()).await?;
    if mined_nonce > pending.tx.nonce {
        // Ours may have been mined between the two reads: only give up when still unmined.
        for row in &candidates {
            if reader
                .inclusion(B256::from(row.tx.tx_hash))
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        tracing::warn!(
            nonce = pending.tx.nonce,
            size = pending.tx.tree_size,
            "another transaction used the anchoring nonce; anchoring again"
        );
        return replaced(state, &pending, now).await;
    }
    let age = Duration::from_millis(u64::try_from(now - pending.sent_ms).unwrap_or(0));
    if age >= a.stuck_after {
        return bump(state, a, chain, reader, &pending).await;
    }
    if !reader.knows(B256::from(pending.tx.tx_hash)).await? {
        let answer = reader.broadcast(&pending.tx.raw_tx).await?;
        tracing::info!(size = pending.tx.tree_size, tx = %B256::from(pending.tx.tx_hash), ?answer,
            "rebroadcast the pending anchoring transaction the node did not know");
        metrics::counter!("provlog_anchor_rebroadcasts_total").increment(1);
    }
    Ok(())
}

/// Gives the pending transaction up as `replaced`: the next step anchors the newest checkpoint.
async fn replaced(state: &AppState, pending: &AnchorRow, now: i64) -> Result<(), StepError> {
    let (from, to) = (AnchorStatus::Pending, AnchorStatus::Replaced);
    state
        .store
        .set_anchor_status(pending.id, from, to, now)
        .await?;
    Ok(())
}

/// Replaces a stuck transaction: same call, same nonce, fees raised.
async fn bump(
    state: &AppState,
    a: &Anchoring,
    chain: &Chain,
    reader: &Reader,
    pending: &AnchorRow,
) -> Result<(), StepError> {
    let old = Fees {
        max_fee_per_gas: pending.tx.max_fee_per_gas,
        max_priority_fee_per_gas: pending.tx.max_priority_fee_per_gas,
    };
    if old.max_fee_per_gas >= a.max_fee_per_gas {
        tracing::warn!(
            size = pending.tx.tree_size,
            max_fee_per_gas = old.max_fee_per_gas,
            "anchoring transaction stuck at the fee ceiling (anchor_max_fee_per_gas)"
        );
        return Ok(());
    }
    let fees = cap(
        old.bumped(a.bump_percent).max(&reader.fees().await?),
        a.max_fee_per_gas,
    );
    let call = a.call(pending.tx.tree_size, &pending.tx.root);
    let signed = chain.sign_anchor(&call, pending.tx.nonce, pending.tx.gas_limit, fees)?;
    let new = new_anchor(
        pending.tx.tree_size,
        pending.tx.root,
        chain.address(),
        &signed,
    );
    if state
        .store
        .replace_pending_anchor(pending.id, &a.target, &new, now_ms())
        .await?
        .is_none()
    {
        return Ok(());
    }
    let answer = reader.broadcast(&signed.raw).await?;
    metrics::counter!("provlog_anchor_fee_bumps_total").increment(1);
    tracing::warn!(size = pending.tx.tree_size, nonce = pending.tx.nonce,
        old_tx = %B256::from(pending.tx.tx_hash), new_tx = %signed.hash,
        max_fee_per_gas = fees.max_fee_per_gas, ?answer,
        "anchoring transaction stuck; replaced it with higher fees");
    Ok(())
}

fn cap(fees: Fees, max_fee_per_gas: u128) -> Fees {
    let max_fee = fees.max_fee_per_gas.min(max_fee_per_gas);
    Fees {
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: fees.max_priority_fee_per_gas.min(max_fee),
    }
}

/// Re-checks the newest confirmed anchors' blocks; true when one was reorged (and is pending
/// again).
async fn recheck_confirmed(
    state: &AppState,
    a: &Anchoring,
    reader: &Reader,
) -> Result<bool, StepError> {
    for row in state
        .store
        .confirmed_anchors(&a.target, REORG_RECHECK)
        .await?
    {
        let (Some(number), Some(hash)) = (row.block_number, row.block_hash) else {
            continue;
        };
        if reader.block_hash(number).await? == Some(B256::from(hash)) {
            continue;
        }
        // Still the same chain? (The endpoint may have switched since the step began.)
        reader.require_chain(a.target.chain_id).await?;
        metrics::counter!("provlog_anchor_reorgs_total").increment(1);
        tracing::warn!(size = row.tx.tree_size, block = number, tx = %B256::from(row.tx.tx_hash),
            "the block of a confirmed anchor left the canonical chain; anchoring it again");
        if state.store.reorg_anchor(row.id, now_ms()).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Anchors the newest checkpoint when it is larger than everything anchored.
async fn anchor_newest(
    state: &AppState,
    a: &Anchoring,
    chain: &Chain,
    reader: &Reader,
) -> Result<(), StepError> {
    let Some(checkpoint) = state.store.latest_checkpoint().await? else {
        return Ok(());
    };
    let last = state.store.confirmed_anchors(&a.target, 1).await?;
    if let Some(last) = last.first() {
        if checkpoint.size <= last.tx.tree_size {
            return Ok(());
        }
        let since = Duration::from_millis(u64::try_from(now_ms() - last.sent_ms).unwrap_or(0));
        if since < a.every {
            return Ok(());
        }
    }
    let (chain_size, _) = reader.latest(a.contract, a.log_id).await?;
    if chain_size >= checkpoint.size {
        // Anchored by someone else with our role (or a database restored from an old backup).
        // Anchors only grow, so this checkpoint can never be anchored; say whether it agrees.
        let agrees = match state.store.checkpoint(chain_size).await? {
            Some(ours) => reader
                .anchored(a.contract, a.log_id, chain_size)
                .await?
                .is_some_and(|c| c.root.0 == *ours.root.as_bytes()),
            None => false,
        };
        if !agrees {
            metrics::counter!("provlog_anchor_mismatch_total").increment(1);
        }
        tracing::warn!(
            chain_size,
            checkpoint = checkpoint.size,
            agrees,
            "the contract already holds an anchor at least as large as our newest checkpoint"
        );
        return Ok(());
    }
    // Invariant 4: anchor only what verifies.
    let verified = verify_checkpoint(
        checkpoint.note.as_bytes(),
        &state.trusted,
        Some(&state.config.origin),
    )
    .map_err(|e| StoreError::Corrupt(format!("stored checkpoint does not verify: {e}")))?
    .checkpoint;
    if verified.size != checkpoint.size || verified.root != checkpoint.root {
        return Err(StoreError::Corrupt("stored checkpoint differs from its note".into()).into());
    }
    let call = a.call(checkpoint.size, &checkpoint.root);
    // Nothing of ours is in flight (the database holds at most one pending transaction).
    let nonce = reader.mined_nonce(chain.address()).await?;
    let gas = chain.estimate_anchor_gas(&call).await?;
    let fees = cap(reader.fees().await?, a.max_fee_per_gas);
    let signed = chain.sign_anchor(&call, nonce, gas, fees)?;
    let new = new_anchor(checkpoint.size, checkpoint.root, chain.address(), &signed);
    if state
        .store
        .insert_pending_anchor(&a.target, &new, now_ms())
        .await?
        .is_none()
    {
        return Ok(());
    }
    let answer = reader.broadcast(&signed.raw).await?;
    metrics::counter!("provlog_anchors_sent_total").increment(1);
    match &answer {
        Broadcast::Accepted => {
            tracing::info!(size = checkpoint.size, nonce, tx = %signed.hash, "anchoring checkpoint")
        }
        other => {
            tracing::warn!(size = checkpoint.size, nonce, tx = %signed.hash, answer = ?other,
                "the node refused the anchoring transaction; it stays pending and is retried")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_paths_queries_and_credentials_in_logs() {
        assert_eq!(
            redact_url("https://arb-mainnet.example.com/v2/SECRETKEY?x=1"),
            "https://arb-mainnet.example.com"
        );
        assert_eq!(
            redact_url("https://user:pass@rpc.example.com:8545/"),
            "https://rpc.example.com:8545"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(redact_url("no scheme SECRET"), "(unparsable URL)");
    }

    #[test]
    fn fees_are_capped_with_the_tip_under_the_cap() {
        let f = cap(
            Fees {
                max_fee_per_gas: 900,
                max_priority_fee_per_gas: 800,
            },
            500,
        );
        assert_eq!(f.max_fee_per_gas, 500);
        assert_eq!(f.max_priority_fee_per_gas, 500);
        let b = Fees {
            max_fee_per_gas: 100,
            max_priority_fee_per_gas: 0,
        }
        .bumped(25);
        assert_eq!((b.max_fee_per_gas, b.max_priority_fee_per_gas), (125, 1));
    }
}
