//! The leader's side: extend the stored node hashes over newly sequenced records, and keep the
//! signed checkpoints. Every write re-checks the lease inside its transaction, so a replica
//! that lost leadership (paused, partitioned) cannot write after another took over.

use std::collections::HashMap;

use async_trait::async_trait;
use provlog_core::log::{self, FetchedNodes};
use provlog_core::Hash;

use crate::convert::{from_db, hash};
use crate::{Result, StoreError};

/// Log sizes as the database sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Records sequenced and committed.
    pub sequenced: u64,
    /// Records whose node hashes are stored.
    pub integrated: u64,
}

/// Stored node hashes and checkpoints. Stored hashes are written once and never rewritten.
#[async_trait]
pub trait Integration {
    async fn sizes(&self) -> Result<Sizes>;

    /// Integrates up to `max` sequenced records as the lease holder `holder`; returns the new
    /// integrated size, or `None` when there was nothing to do.
    async fn integrate(&self, holder: &str, max: u64) -> Result<Option<u64>>;

    /// The stored node hashes at `indexes`, in that order, in one query.
    async fn read_nodes(&self, indexes: &[u64]) -> Result<Vec<Hash>>;

    /// Stores a signed checkpoint. Storing the same size twice is idempotent only for the same
    /// root: another root for a stored size is refused (it would be a fork).
    async fn store_checkpoint(
        &self,
        holder: &str,
        size: u64,
        root: &Hash,
        note: &str,
    ) -> Result<()>;
}

/// Stored node rows `(idx, hash)` as read from either backend.
pub(crate) fn node_rows(rows: Vec<(i64, Vec<u8>)>) -> Result<Vec<(u64, Hash)>> {
    rows.into_iter()
        .map(|(i, h)| Ok((from_db(i)?, hash(&h)?)))
        .collect()
}

/// `rows` (fetched in any order) put in the order of `indexes`; a missing one is corruption.
pub(crate) fn in_order(indexes: &[u64], rows: Vec<(i64, Vec<u8>)>) -> Result<Vec<Hash>> {
    let found: HashMap<u64, Hash> = node_rows(rows)?.into_iter().collect();
    indexes
        .iter()
        .map(|i| {
            found
                .get(i)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("node {i} is missing")))
        })
        .collect()
}

/// The node hashes (stored index, hash) that appending the records `from..from + leaves.len()`
/// adds, given the stored frontier `log::root_plan(from)` names. The same arithmetic on every
/// backend; only the reads and writes around it differ.
pub(crate) fn new_nodes(
    from: u64,
    to: u64,
    leaves: &[Vec<u8>],
    frontier: Vec<(u64, Hash)>,
) -> Result<Vec<(u64, Hash)>> {
    if leaves.len() as u64 != to - from {
        return Err(StoreError::Corrupt(format!(
            "expected {} records in [{from}, {to}), found {}",
            to - from,
            leaves.len()
        )));
    }
    let mut frontier = FetchedNodes::new(frontier);
    let mut out = vec![];
    for (n, leaf) in (from..to).zip(leaves) {
        let new = log::hashes_to_store(n, hash(leaf)?, &frontier)?;
        let start = log::stored_index(0, n);
        for (k, h) in new.into_iter().enumerate() {
            let at = start + k as u64;
            frontier.insert(at, h);
            out.push((at, h));
        }
    }
    Ok(out)
}
