//! Reads for proofs, receipts, lookups and lineage. Records and node hashes are immutable once
//! written, so every read here can be served from any replica.

use provlog_core::Hash;

use crate::convert::{from_db, hash, to_db};
use crate::{Result, Store};

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
}

type RecordRow = (i64, Vec<u8>, Vec<u8>, String, String, Vec<u8>, i64);

fn record(row: RecordRow) -> Result<StoredRecord> {
    let (idx, leaf_hash, leaf, source, kind, root, received_ms) = row;
    Ok(StoredRecord {
        index: from_db(idx)?,
        leaf_hash: hash(&leaf_hash)?,
        leaf,
        source,
        kind,
        content_root: hash(&root)?,
        received_ms,
    })
}

const RECORD_COLUMNS: &str = "idx, leaf_hash, leaf, source, kind, content_root, received_ms";

/// Lookup criteria; all given ones must match. Results are in index order after `after`.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub content_root: Option<Hash>,
    pub leaf_hash: Option<Hash>,
    pub source: Option<String>,
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

type CheckpointRow = (i64, Vec<u8>, String, i64);

fn checkpoint(row: CheckpointRow) -> Result<StoredCheckpoint> {
    let (size, root, note, created_ms) = row;
    Ok(StoredCheckpoint {
        size: from_db(size)?,
        root: hash(&root)?,
        note,
        created_ms,
    })
}

const CHECKPOINT_COLUMNS: &str =
    "size, root, note, (extract(epoch from created_at) * 1000)::bigint";

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

impl Store {
    pub async fn record(&self, index: u64) -> Result<Option<StoredRecord>> {
        let row: Option<RecordRow> = sqlx::query_as(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE idx = $1"
        ))
        .bind(to_db(index)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map(record).transpose()
    }

    pub async fn find_records(&self, f: &RecordFilter) -> Result<Vec<StoredRecord>> {
        let rows: Vec<RecordRow> = sqlx::query_as(&format!(
            "SELECT {RECORD_COLUMNS} FROM records
             WHERE ($1::bytea IS NULL OR content_root = $1)
               AND ($2::bytea IS NULL OR leaf_hash = $2)
               AND ($3::text IS NULL OR source = $3)
               AND ($4::bigint IS NULL OR received_ms >= $4)
               AND ($5::bigint IS NULL OR received_ms < $5)
               AND idx > $6
             ORDER BY idx LIMIT $7"
        ))
        .bind(f.content_root.map(|h| h.as_bytes().to_vec()))
        .bind(f.leaf_hash.map(|h| h.as_bytes().to_vec()))
        .bind(f.source.as_deref())
        .bind(f.since_ms)
        .bind(f.until_ms)
        .bind(f.after.map(to_db).transpose()?.unwrap_or(-1))
        .bind(i64::from(f.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(record).collect()
    }

    /// Parent indexes of a record, ascending (the record itself lists them in its own order).
    pub async fn parents(&self, index: u64) -> Result<Vec<u64>> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT parent FROM record_parents WHERE child = $1 ORDER BY parent",
        )
        .bind(to_db(index)?)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(from_db).collect()
    }

    /// Ancestors and descendants up to `depth` links away, at most `limit` edges each way.
    pub async fn lineage(&self, index: u64, depth: u32, limit: u32) -> Result<Lineage> {
        let walk = |up: bool| {
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
        };
        let mut out = Lineage::default();
        for up in [true, false] {
            let rows: Vec<(i64, i64, i32)> = sqlx::query_as(&walk(up))
                .bind(to_db(index)?)
                .bind(i32::try_from(depth).unwrap_or(i32::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
            let edges = rows
                .into_iter()
                .map(|(c, p, d)| {
                    Ok(LineageEdge {
                        child: from_db(c)?,
                        parent: from_db(p)?,
                        depth: u32::try_from(d).unwrap_or(0),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if up {
                out.ancestors = edges;
            } else {
                out.descendants = edges;
            }
        }
        Ok(out)
    }

    /// Leaf data of all items of a snapshot record, in order.
    pub async fn items(&self, record: u64) -> Result<Vec<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT data FROM snapshot_items WHERE record = $1 ORDER BY item")
                .bind(to_db(record)?)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Canonical bytes of records `[start, start + count)`, for tlog-tiles entry bundles.
    pub async fn leaves(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>> {
        Ok(
            sqlx::query_scalar(
                "SELECT leaf FROM records WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            )
            .bind(to_db(start)?)
            .bind(to_db(start.saturating_add(count))?)
            .fetch_all(&self.pool)
            .await?,
        )
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        let row: Option<CheckpointRow> = sqlx::query_as(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        row.map(checkpoint).transpose()
    }

    pub async fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        let row: Option<CheckpointRow> = sqlx::query_as(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size = $1"
        ))
        .bind(to_db(size)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map(checkpoint).transpose()
    }

    /// Checkpoints, newest first, with sizes below `before` when given.
    pub async fn checkpoints(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>> {
        let rows: Vec<CheckpointRow> = sqlx::query_as(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints
             WHERE ($1::bigint IS NULL OR size < $1) ORDER BY size DESC LIMIT $2"
        ))
        .bind(before.map(to_db).transpose()?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(checkpoint).collect()
    }
}
