//! The leader's side: extend the stored node hashes over newly sequenced records, and keep the
//! signed checkpoints. Every write re-checks the lease inside its transaction, so a replica
//! that lost leadership (paused, partitioned) cannot write after another took over.

use async_trait::async_trait;
use provlog_core::Hash;

use crate::Result;

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
