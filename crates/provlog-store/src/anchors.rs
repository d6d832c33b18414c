//! Anchoring transactions (table `anchors`, see its migration for the status lifecycle).
//!
//! The database enforces what the anchoring worker relies on: at most one pending transaction
//! per (chain, contract, log), and each size confirmed at most once. Status changes are
//! compare-and-set (`WHERE status = …`), so two replicas racing after a failover cannot both win.

use std::fmt;
use std::str::FromStr;

use provlog_core::Hash;

use async_trait::async_trait;

use crate::convert::{from_db, hash, to_db};
use crate::{Result, StoreError};

/// Where a transaction stands; see the `anchors` migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnchorStatus {
    Pending,
    Confirmed,
    Replaced,
    Reorged,
    Failed,
}

impl AnchorStatus {
    pub const ALL: [AnchorStatus; 5] = [
        AnchorStatus::Pending,
        AnchorStatus::Confirmed,
        AnchorStatus::Replaced,
        AnchorStatus::Reorged,
        AnchorStatus::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AnchorStatus::Pending => "pending",
            AnchorStatus::Confirmed => "confirmed",
            AnchorStatus::Replaced => "replaced",
            AnchorStatus::Reorged => "reorged",
            AnchorStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for AnchorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AnchorStatus {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        AnchorStatus::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown anchor status {s:?} (pending, confirmed, replaced, reorged, failed)"
                )
            })
    }
}

/// The chain, contract and log an anchor belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorTarget {
    pub origin: String,
    pub chain_id: u64,
    pub contract: [u8; 20],
    pub log_id: [u8; 32],
}

/// A signed anchoring transaction about to be broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnchor {
    pub tree_size: u64,
    pub root: Hash,
    pub sender: [u8; 20],
    pub nonce: u64,
    pub tx_hash: [u8; 32],
    pub raw_tx: Vec<u8>,
    pub gas_limit: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

/// The block a transaction was mined in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinedBlock {
    pub number: u64,
    pub hash: [u8; 32],
    /// Unix seconds.
    pub timestamp: u64,
}

/// One row of `anchors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorRow {
    pub id: i64,
    pub target: AnchorTarget,
    pub tx: NewAnchor,
    pub status: AnchorStatus,
    pub block_number: Option<u64>,
    pub block_hash: Option<[u8; 32]>,
    /// Unix seconds of the confirmed block (absent for rows confirmed before it was recorded).
    pub block_timestamp: Option<u64>,
    pub sent_ms: i64,
    pub updated_ms: i64,
    pub confirmed_ms: Option<i64>,
}

pub(crate) const COLUMNS: &str =
    "id, origin, tree_size, root, chain_id, contract, log_id, sender, nonce, \
    tx_hash, raw_tx, gas_limit, max_fee_per_gas, max_priority_fee_per_gas, status, block_number, \
    block_hash, block_timestamp, sent_ms, updated_ms, confirmed_ms";

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    id: i64,
    origin: String,
    tree_size: i64,
    root: Vec<u8>,
    chain_id: i64,
    contract: Vec<u8>,
    log_id: Vec<u8>,
    sender: Vec<u8>,
    nonce: i64,
    tx_hash: Vec<u8>,
    raw_tx: Vec<u8>,
    gas_limit: i64,
    max_fee_per_gas: i64,
    max_priority_fee_per_gas: i64,
    status: String,
    block_number: Option<i64>,
    block_hash: Option<Vec<u8>>,
    block_timestamp: Option<i64>,
    sent_ms: i64,
    updated_ms: i64,
    confirmed_ms: Option<i64>,
}

fn fixed<const N: usize>(what: &str, bytes: Vec<u8>) -> Result<[u8; N]> {
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| StoreError::Corrupt(format!("{what} has {} bytes, not {N}", b.len())))
}

impl TryFrom<Row> for AnchorRow {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<AnchorRow> {
        Ok(AnchorRow {
            id: r.id,
            target: AnchorTarget {
                origin: r.origin,
                chain_id: from_db(r.chain_id)?,
                contract: fixed("contract", r.contract)?,
                log_id: fixed("log id", r.log_id)?,
            },
            tx: NewAnchor {
                tree_size: from_db(r.tree_size)?,
                root: hash(&r.root)?,
                sender: fixed("sender", r.sender)?,
                nonce: from_db(r.nonce)?,
                tx_hash: fixed("transaction hash", r.tx_hash)?,
                raw_tx: r.raw_tx,
                gas_limit: from_db(r.gas_limit)?,
                max_fee_per_gas: u128::from(from_db(r.max_fee_per_gas)?),
                max_priority_fee_per_gas: u128::from(from_db(r.max_priority_fee_per_gas)?),
            },
            status: r.status.parse().map_err(StoreError::Corrupt)?,
            block_number: r.block_number.map(from_db).transpose()?,
            block_hash: r.block_hash.map(|b| fixed("block hash", b)).transpose()?,
            block_timestamp: r.block_timestamp.map(from_db).transpose()?,
            sent_ms: r.sent_ms,
            updated_ms: r.updated_ms,
            confirmed_ms: r.confirmed_ms,
        })
    }
}

pub(crate) fn fee_to_db(v: u128) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::OutOfRange(u64::try_from(v).unwrap_or(u64::MAX)))
}

/// Checks that a new anchor's numbers fit BIGINT before anything is written.
pub(crate) fn check_new(target: &AnchorTarget, tx: &NewAnchor) -> Result<()> {
    to_db(tx.tree_size)?;
    to_db(target.chain_id)?;
    to_db(tx.nonce)?;
    to_db(tx.gas_limit)?;
    fee_to_db(tx.max_fee_per_gas)?;
    fee_to_db(tx.max_priority_fee_per_gas)?;
    Ok(())
}

pub(crate) fn rows(rows: Vec<Row>) -> Result<Vec<AnchorRow>> {
    rows.into_iter().map(AnchorRow::try_from).collect()
}

/// Filter of [`Anchoring::anchors`].
#[derive(Debug, Clone, Default)]
pub struct AnchorFilter {
    pub status: Option<AnchorStatus>,
    /// Only rows with ids below this (paging, newest first).
    pub before: Option<i64>,
    pub limit: u32,
}

/// The `anchors` table.
#[async_trait]
pub trait Anchoring {
    /// Stores a new pending transaction; `None` when another one is already pending for the
    /// target (nothing is stored then).
    async fn insert_pending_anchor(
        &self,
        target: &AnchorTarget,
        tx: &NewAnchor,
        now_ms: i64,
    ) -> Result<Option<i64>>;

    /// Atomically marks pending row `old` as `replaced` and stores `tx` as the new pending
    /// transaction; `None` (nothing changed) when `old` is no longer pending.
    async fn replace_pending_anchor(
        &self,
        old: i64,
        target: &AnchorTarget,
        tx: &NewAnchor,
        now_ms: i64,
    ) -> Result<Option<i64>>;

    /// The target's pending transaction, if any.
    async fn pending_anchor(&self, target: &AnchorTarget) -> Result<Option<AnchorRow>>;

    /// Every transaction of `sender` with `nonce` on the chain (a pending one and the ones it
    /// replaced: any of them may be the one that gets mined).
    async fn anchors_with_nonce(
        &self,
        chain_id: u64,
        sender: &[u8; 20],
        nonce: u64,
    ) -> Result<Vec<AnchorRow>>;

    /// Records where a pending transaction was mined (not yet deep enough to be confirmed).
    async fn set_anchor_block(
        &self,
        id: i64,
        block: Option<(u64, [u8; 32])>,
        now_ms: i64,
    ) -> Result<()>;

    /// Marks transaction `id` confirmed in `block`, and the target's pending transaction (a
    /// replacement that lost the race, when `id` is not it) replaced. One transaction.
    async fn confirm_anchor(&self, id: i64, block: &MinedBlock, now_ms: i64) -> Result<bool>;

    /// Compare-and-set of a row's status; true when it changed.
    async fn set_anchor_status(
        &self,
        id: i64,
        from: AnchorStatus,
        to: AnchorStatus,
        now_ms: i64,
    ) -> Result<bool>;

    /// A confirmed transaction's block left the canonical chain: marks it `reorged` and stores
    /// its bytes again as the pending transaction, to be rebroadcast. One transaction; `None`
    /// when the row was no longer confirmed or another transaction is pending.
    async fn reorg_anchor(&self, id: i64, now_ms: i64) -> Result<Option<i64>>;

    /// The target's confirmed transactions, newest (largest size) first.
    async fn confirmed_anchors(&self, target: &AnchorTarget, limit: u32) -> Result<Vec<AnchorRow>>;

    /// The smallest confirmed anchor of the target whose tree contains leaf `index`: receipts
    /// are built at its size, which stays the same as more anchors land.
    async fn anchor_covering(&self, target: &AnchorTarget, index: u64)
        -> Result<Option<AnchorRow>>;

    /// The target's confirmed anchor of exactly `size`, if any.
    async fn confirmed_anchor_at(
        &self,
        target: &AnchorTarget,
        size: u64,
    ) -> Result<Option<AnchorRow>>;

    /// Anchoring transactions of a log, newest first.
    async fn anchors(&self, origin: &str, filter: &AnchorFilter) -> Result<Vec<AnchorRow>>;
}
