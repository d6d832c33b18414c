//! Reads, written once and compiled into each backend with its `dialect`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use provlog_core::Hash;
use sqlx::QueryBuilder;

use super::dialect::{ms, Backend, Db};
use crate::convert::{from_db, to_db};
use crate::read::{
    checkpoint, edges, lineage_walk, record, CheckpointRow, RecordRow, RECORD_COLUMNS,
};
use crate::{
    ChainQuery, ChainWindow, Lineage, Reads, RecordFilter, Result, StoredCheckpoint, StoredRecord,
};

const CHECKPOINT_COLUMNS: &str = concat!("size, root, note, ", ms!("created_at"));

#[async_trait]
impl Reads for Backend {
    async fn record(&self, index: u64) -> Result<Option<StoredRecord>> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE idx = $1");
        let row: Option<RecordRow> = self.row_at(&sql, index).await?;
        row.map(record).transpose()
    }

    async fn find_records(&self, f: &RecordFilter) -> Result<Vec<StoredRecord>> {
        // Only the criteria given go into the SQL: a plan for `($1 IS NULL OR col = $1)` has to
        // serve both cases, and SQLite's does without the index a plain `col = $1` uses.
        let mut q = QueryBuilder::<Db>::new(format!("SELECT {RECORD_COLUMNS} FROM records"));
        q.push(" WHERE idx > ")
            .push_bind(f.after.map(to_db).transpose()?.unwrap_or(-1));
        if let Some(root) = f.content_root {
            q.push(" AND content_root = ")
                .push_bind(root.as_bytes().to_vec());
        }
        if let Some(leaf) = f.leaf_hash {
            q.push(" AND leaf_hash = ")
                .push_bind(leaf.as_bytes().to_vec());
        }
        if let Some(source) = &f.source {
            q.push(" AND source = ").push_bind(source.as_str());
        }
        if let Some(kind) = &f.kind {
            q.push(" AND kind = ").push_bind(kind.as_str());
        }
        if let Some(since) = f.since_ms {
            q.push(" AND received_ms >= ").push_bind(since);
        }
        if let Some(until) = f.until_ms {
            q.push(" AND received_ms < ").push_bind(until);
        }
        q.push(" ORDER BY idx LIMIT ").push_bind(i64::from(f.limit));
        let rows: Vec<RecordRow> = q.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(record).collect()
    }

    async fn parents(&self, index: u64) -> Result<Vec<u64>> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT parent FROM record_parents WHERE child = $1 ORDER BY parent",
        )
        .bind(to_db(index)?)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(from_db).collect()
    }

    async fn lineage(&self, index: u64, depth: u32, limit: u32) -> Result<Lineage> {
        let mut out = Lineage::default();
        for up in [true, false] {
            let rows: Vec<(i64, i64, i32)> = sqlx::query_as(&lineage_walk(up))
                .bind(to_db(index)?)
                .bind(i32::try_from(depth).unwrap_or(i32::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
            if up {
                out.ancestors = edges(rows)?;
            } else {
                out.descendants = edges(rows)?;
            }
        }
        Ok(out)
    }

    async fn items(&self, record: u64) -> Result<Vec<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT data FROM snapshot_items WHERE record = $1 ORDER BY item")
                .bind(to_db(record)?)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn first_items(&self, records: &[u64]) -> Result<BTreeMap<u64, Vec<u8>>> {
        let mut out = BTreeMap::new();
        // Within SQLite's limit on bound parameters, and PostgreSQL's.
        for chunk in records.chunks(2_000) {
            let mut q = QueryBuilder::<Db>::new(
                "SELECT record, data FROM snapshot_items WHERE item = 0 AND record IN (",
            );
            let mut list = q.separated(", ");
            for &index in chunk {
                list.push_bind(to_db(index)?);
            }
            q.push(")");
            let rows: Vec<(i64, Vec<u8>)> = q.build_query_as().fetch_all(&self.pool).await?;
            for (record, data) in rows {
                out.insert(from_db(record)?, data);
            }
        }
        Ok(out)
    }

    async fn seq_at(&self, source: &str, index: u64) -> Result<u64> {
        let below: i64 =
            sqlx::query_scalar("SELECT count(*) FROM records WHERE source = $1 AND idx < $2")
                .bind(source)
                .bind(to_db(index)?)
                .fetch_one(&self.pool)
                .await?;
        from_db(below)
    }

    async fn items_with_leaf_hash(
        &self,
        leaf_hash: &Hash,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(u64, u64, String)>> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT i.record, i.item, r.source FROM snapshot_items i JOIN records r ON r.idx = i.record
             WHERE i.leaf_hash = $1 AND i.record > $2
             -- A signal's or outcome's one item is its payload, found by its content root.
             AND r.kind NOT IN ('signal', 'outcome')
             ORDER BY i.record, i.item LIMIT $3",
        )
        .bind(leaf_hash.as_bytes().as_slice())
        .bind(after.map(to_db).transpose()?.unwrap_or(-1))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(record, item, source)| Ok((from_db(record)?, from_db(item)?, source)))
            .collect()
    }

    async fn leaves(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>> {
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

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        let row: Option<CheckpointRow> = sqlx::query_as(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        row.map(checkpoint).transpose()
    }

    async fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size = $1");
        let row: Option<CheckpointRow> = self.row_at(&sql, size).await?;
        row.map(checkpoint).transpose()
    }

    async fn checkpoints(&self, before: Option<u64>, limit: u32) -> Result<Vec<StoredCheckpoint>> {
        let mut q =
            QueryBuilder::<Db>::new(format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints"));
        if let Some(before) = before {
            q.push(" WHERE size < ").push_bind(to_db(before)?);
        }
        q.push(" ORDER BY size DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<CheckpointRow> = q.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(checkpoint).collect()
    }

    async fn chain_window(&self, source: &str, w: &ChainQuery) -> Result<Option<ChainWindow>> {
        // Times never go back along a chain, and within a source log order is chain order: each
        // bound is the first row of one index scan, in time order when the window has a time
        // bound (records_source_time), else in sequence order (records_source_seq).
        let bound = |first: bool, by_time: bool| {
            let (cmp_time, cmp_seq, dir) = if first {
                (">=", ">=", "")
            } else {
                ("<", "<=", " DESC")
            };
            let order = if by_time {
                format!("received_ms{dir}, idx{dir}")
            } else {
                format!("source_seq{dir}")
            };
            format!(
                "SELECT source_seq FROM records WHERE source = $1 AND received_ms {cmp_time} $2
                 AND source_seq {cmp_seq} $3 ORDER BY {order} LIMIT 1"
            )
        };
        let seq_bound =
            |s: Option<u64>, default: i64| s.map(to_db).transpose().map(|s| s.unwrap_or(default));
        let start: Option<i64> = sqlx::query_scalar(&bound(true, w.since_ms.is_some()))
            .bind(source)
            .bind(w.since_ms.unwrap_or(i64::MIN))
            .bind(seq_bound(w.from_seq, 0)?)
            .fetch_optional(&self.pool)
            .await?;
        let end: Option<i64> = sqlx::query_scalar(&bound(false, w.until_ms.is_some()))
            .bind(source)
            .bind(w.until_ms.unwrap_or(i64::MAX))
            .bind(seq_bound(w.to_seq, i64::MAX)?)
            .fetch_optional(&self.pool)
            .await?;
        let first_chained: Option<i64> = sqlx::query_scalar(
            "SELECT source_seq FROM records WHERE source = $1 AND format = 2
             ORDER BY source_seq LIMIT 1",
        )
        .bind(source)
        .fetch_optional(&self.pool)
        .await?;
        // Read last: no record seen above is newer than the head.
        let head: Option<RecordRow> = sqlx::query_as(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE source = $1
             ORDER BY source_seq DESC LIMIT 1"
        ))
        .bind(source)
        .fetch_optional(&self.pool)
        .await?;
        let Some(head) = head.map(record).transpose()? else {
            return Ok(None);
        };
        let seq = |v: Option<i64>| v.map(from_db).transpose();
        Ok(Some(ChainWindow {
            head,
            first_chained: seq(first_chained)?,
            start: seq(start)?,
            end: seq(end)?,
        }))
    }

    async fn chain(&self, source: &str, from: u64, to: u64) -> Result<Vec<StoredRecord>> {
        let rows: Vec<RecordRow> = sqlx::query_as(&format!(
            "SELECT {RECORD_COLUMNS} FROM records
             WHERE source = $1 AND source_seq >= $2 AND source_seq <= $3 ORDER BY source_seq"
        ))
        .bind(source)
        .bind(to_db(from)?)
        .bind(to_db(to)?)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(record).collect()
    }
}

impl Backend {
    /// The row `sql` finds with `$1` bound to `key`, if any.
    async fn row_at<R>(&self, sql: &str, key: u64) -> Result<Option<R>>
    where
        R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    {
        Ok(sqlx::query_as(sql)
            .bind(to_db(key)?)
            .fetch_optional(&self.pool)
            .await?)
    }
}
