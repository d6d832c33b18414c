//! Reads for proofs, receipts, lookups and lineage. Records and node hashes are immutable once
//! written, so every read here can be served from any replica.

use std::collections::BTreeMap;

use async_trait::async_trait;
use provlog_core::Hash;

use crate::convert::{from_db, hash};
use crate::Result;

/// A logged record and what lookups index it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub index: u64,
    pub leaf_hash: Hash,
    /// The canonical bytes, exactly as hashed.
    pub leaf: Vec<u8>,
    pub source: String,
    pub kind: String,
    pub content_root: Hash,
    pub received_ms: i64,
    /// Its place in its source's chain (in the bytes of format v2 records; numbered by the
    /// store for the format v1 records before them).
    pub seq: u64,
}

pub(crate) type RecordRow = (i64, Vec<u8>, Vec<u8>, String, String, Vec<u8>, i64, i64);

pub(crate) fn record(row: RecordRow) -> Result<StoredRecord> {
    let (idx, leaf_hash, leaf, source, kind, root, received_ms, seq) = row;
    Ok(StoredRecord {
        index: from_db(idx)?,
        leaf_hash: hash(&leaf_hash)?,
        leaf,
        source,
        kind,
        content_root: hash(&root)?,
        received_ms,
        seq: from_db(seq)?,
    })
}

pub(crate) const RECORD_COLUMNS: &str =
    "idx, leaf_hash, leaf, source, kind, content_root, received_ms, source_seq";

/// Where a window falls in a source's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainWindow {
    /// The source's last record.
    pub head: StoredRecord,
    /// Sequence number of its first record of format v2 (with the chain in its bytes), if any.
    pub first_chained: Option<u64>,
    /// The first record not before the window (`received_ms >= since`, `seq >= from`), if any.
    pub start: Option<u64>,
    /// The last record not after the window (`received_ms < until`, `seq <= to`), if any.
    pub end: Option<u64>,
}

/// A window of a source's chain: each bound optional, as in a track-record bundle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainQuery {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub from_seq: Option<u64>,
    pub to_seq: Option<u64>,
}

/// Lookup criteria; all given ones must match. Results are in index order after `after`.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub content_root: Option<Hash>,
    pub leaf_hash: Option<Hash>,
    pub source: Option<String>,
    /// `signal`, `snapshot`, `digest` or `source`.
    pub kind: Option<String>,
    /// Inclusive lower bound on received time, unix ms.
    pub since_ms: Option<i64>,
    /// Exclusive upper bound on received time, unix ms.
    pub until_ms: Option<i64>,
    /// Pagination cursor: only records with a larger index.
    pub after: Option<u64>,
    pub limit: u32,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: String,
    pub created_ms: i64,
}

pub(crate) type CheckpointRow = (i64, Vec<u8>, String, i64);

pub(crate) fn checkpoint(row: CheckpointRow) -> Result<StoredCheckpoint> {
    let (size, root, note, created_ms) = row;
    Ok(StoredCheckpoint {
        size: from_db(size)?,
        root: hash(&root)?,
        note,
        created_ms,
    })
}

/// One lineage edge: `child` names `parent` among its parents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineageEdge {
    pub child: u64,
    pub parent: u64,
    /// Distance from the record the walk started at.
    pub depth: u32,
}

/// Ancestors and descendants of a record within a depth bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    pub ancestors: Vec<LineageEdge>,
    pub descendants: Vec<LineageEdge>,
}

/// Builds lineage edges from `(child, parent, depth)` rows.
pub(crate) fn edges(rows: Vec<(i64, i64, i32)>) -> Result<Vec<LineageEdge>> {
    rows.into_iter()
        .map(|(c, p, d)| {
            Ok(LineageEdge {
                child: from_db(c)?,
                parent: from_db(p)?,
                depth: u32::try_from(d).unwrap_or(0),
            })
        })
        .collect()
}

/// The recursive walk of `record_parents`, upwards (ancestors) or downwards; `$1` is the
/// record, `$2` the depth bound, `$3` the edge limit. The same SQL runs on both backends.
pub(crate) fn lineage_walk(up: bool) -> String {
    let (from, to) = if up {
        ("child", "parent")
    } else {
        ("parent", "child")
    };
    format!(
        "WITH RECURSIVE walk (child, parent, depth) AS (
            SELECT child, parent, 1 FROM record_parents WHERE {from} = $1
          UNION
            SELECT e.child, e.parent, w.depth + 1 FROM record_parents e
            JOIN walk w ON e.{from} = w.{to} WHERE w.depth < $2
         )
         SELECT child, parent, min(depth) FROM walk GROUP BY child, parent
         ORDER BY min(depth), child, parent LIMIT $3"
    )
}

/// Records, lineage, snapshot items and checkpoints.
#[async_trait]
pub trait Reads {
    async fn record(&self, index: u64) -> Result<Option<StoredRecord>>;

    async fn find_records(&self, filter: &RecordFilter) -> Result<Vec<StoredRecord>>;

    /// Parent indexes of a record, ascending (the record itself lists them in its own order).
    async fn parents(&self, index: u64) -> Result<Vec<u64>>;

    /// Ancestors and descendants up to `depth` links away, at most `limit` edges each way.
    async fn lineage(&self, index: u64, depth: u32, limit: u32) -> Result<Lineage>;

    /// Leaf data of all items of a snapshot record, in order.
    async fn items(&self, record: u64) -> Result<Vec<Vec<u8>>>;

    /// Item 0 of each of `records` that has items, by record index.
    async fn first_items(&self, records: &[u64]) -> Result<BTreeMap<u64, Vec<u8>>>;

    /// How many records of `source` are below leaf `index`: the sequence number of its first
    /// record from `index` on.
    async fn seq_at(&self, source: &str, index: u64) -> Result<u64>;

    /// `(record, item, the record's source)` of the items whose leaf hash is `leaf_hash`,
    /// oldest first, of records after `after`, at most `limit`.
    async fn items_with_leaf_hash(
        &self,
        leaf_hash: &Hash,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(u64, u64, String)>>;

    /// Canonical bytes of records `[start, start + count)`, for tlog-tiles entry bundles.
    async fn leaves(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>>;

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;

    async fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>>;

    /// Checkpoints, newest first, with sizes below `before` when given.
    async fn checkpoints(&self, before: Option<u64>, limit: u32) -> Result<Vec<StoredCheckpoint>>;

    /// Where `window` falls in `source`'s chain; `None` when the source has no records.
    async fn chain_window(&self, source: &str, window: &ChainQuery) -> Result<Option<ChainWindow>>;

    /// Records of `source` numbered `from..=to`, in sequence order.
    async fn chain(&self, source: &str, from: u64, to: u64) -> Result<Vec<StoredRecord>>;
}
