//! Reads on PostgreSQL.

use async_trait::async_trait;

use super::PgBackend;
use crate::convert::{from_db, to_db};
use crate::read::{
    checkpoint, edges, lineage_walk, record, CheckpointRow, RecordRow, RECORD_COLUMNS,
};
use crate::{Lineage, Reads, RecordFilter, Result, StoredCheckpoint, StoredRecord};

const CHECKPOINT_COLUMNS: &str =
    "size, root, note, (extract(epoch from created_at) * 1000)::bigint";

#[async_trait]
impl Reads for PgBackend {
    async fn record(&self, index: u64) -> Result<Option<StoredRecord>> {
        let row: Option<RecordRow> = sqlx::query_as(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE idx = $1"
        ))
        .bind(to_db(index)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map(record).transpose()
    }

    async fn find_records(&self, f: &RecordFilter) -> Result<Vec<StoredRecord>> {
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
        let row: Option<CheckpointRow> = sqlx::query_as(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size = $1"
        ))
        .bind(to_db(size)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map(checkpoint).transpose()
    }

    async fn checkpoints(&self, before: Option<u64>, limit: u32) -> Result<Vec<StoredCheckpoint>> {
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
