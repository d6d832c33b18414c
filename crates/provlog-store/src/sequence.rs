//! The write path: one short transaction per batch assigns dense indexes and stores the exact
//! leaf bytes. Acknowledged means committed: callers answer only after `sequence` returns.

use async_trait::async_trait;
use provlog_core::Hash;

use crate::Result;

/// A record ready to be logged: its canonical bytes and what lookups need.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// The record's canonical bytes: the leaf data, stored byte for byte.
    pub leaf: Vec<u8>,
    pub leaf_hash: Hash,
    pub source: String,
    /// `signal`, `snapshot` or `digest`.
    pub kind: &'static str,
    pub content_root: Hash,
    pub received_ms: i64,
    /// Indexes of the records named as parents (resolved with [`Sequencing::resolve_parents`]).
    pub parents: Vec<u64>,
    /// Leaf data of a snapshot's items, in order; empty for other kinds.
    pub items: Vec<Vec<u8>>,
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequenced {
    pub index: u64,
    pub leaf_hash: Hash,
    pub content_root: Hash,
}

/// A new batch, or the result of an earlier request with the same idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceOutcome {
    New(Vec<Sequenced>),
    Replayed(Vec<Sequenced>),
}

/// Assigning indexes. Any replica may sequence; the backend serialises sequencers so that
/// indexes are dense and unique, and a failed batch gives its indexes back.
#[async_trait]
pub trait Sequencing {
    /// Sequences a batch atomically. With an idempotency key (and the hash of the request it
    /// came with), a retry of the same request returns the first result, also when the two
    /// race, and another request under the same key is [`crate::StoreError::IdempotencyConflict`].
    async fn sequence(
        &self,
        batch: &[NewRecord],
        idempotency: Option<(&str, Hash)>,
    ) -> Result<SequenceOutcome>;

    /// Index of the earliest record with each leaf hash, `None` where there is none.
    async fn resolve_parents(&self, leaf_hashes: &[Hash]) -> Result<Vec<Option<u64>>>;
}
