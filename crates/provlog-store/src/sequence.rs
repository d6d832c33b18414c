//! The write path: one short transaction per batch assigns dense indexes and each source's next
//! sequence numbers, seals the records (format v2: `seq`, `prev`, `received_at`) and stores the
//! exact leaf bytes. Acknowledged means committed: callers answer only after `sequence` returns.

use async_trait::async_trait;
use provlog_core::record::{Record, RecordError, Unsealed};
use provlog_core::Hash;

use crate::Result;

/// A record ready to be logged: its canonical fields without the chain, and what lookups need.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Sealed into the leaf bytes (stored byte for byte) in the sequencing transaction.
    pub record: Unsealed,
    pub source: String,
    /// `signal`, `snapshot`, `digest`, `source` or `close`.
    pub kind: &'static str,
    pub content_root: Hash,
    /// Indexes of the records named as parents (resolved with [`Sequencing::resolve_parents`]).
    pub parents: Vec<u64>,
    /// Leaf data of a snapshot's items (or a statement's one item), in order.
    pub items: Vec<Vec<u8>>,
    /// For a reveal: the commitment it opens, revealed at most once, and before when.
    pub reveals: Option<Revealing>,
}

/// What the sequencer holds a reveal to: the commitment it opens (its index) is revealed once,
/// and the reveal's sealed time (which the sequencer may move later, keeping the source's times
/// in order) is before the commitment's `reveal_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revealing {
    pub commitment: u64,
    pub reveal_by_ms: i64,
}

impl NewRecord {
    /// `record` (validated by the caller) with its resolved parents and its items' leaf data.
    pub fn new(
        record: &Record,
        parents: Vec<u64>,
        items: Vec<Vec<u8>>,
    ) -> Result<NewRecord, RecordError> {
        Ok(NewRecord {
            record: record.unsealed()?,
            source: record.source.to_string(),
            kind: record.kind.as_str(),
            content_root: record.content.root,
            parents,
            items,
            reveals: None,
        })
    }
}

/// A record as sealed in its sequencing transaction.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    pub(crate) leaf: Vec<u8>,
    pub(crate) leaf_hash: Hash,
    pub(crate) seq: u64,
    pub(crate) received_ms: i64,
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
