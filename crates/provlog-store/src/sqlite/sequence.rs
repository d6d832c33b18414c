//! Sequencing on SQLite: the write lock of `BEGIN IMMEDIATE` orders sequencers, and the
//! idempotency key is looked up under it, so two requests with one key cannot both insert.

use async_trait::async_trait;
use provlog_core::Hash;
use sqlx::SqliteConnection;

use super::SqliteBackend;
use crate::convert::{from_db, hash, to_db};
use crate::{NewRecord, Result, SequenceOutcome, Sequenced, Sequencing, StoreError};

#[async_trait]
impl Sequencing for SqliteBackend {
    async fn sequence(
        &self,
        batch: &[NewRecord],
        idempotency: Option<(&str, Hash)>,
    ) -> Result<SequenceOutcome> {
        let n = u64::try_from(batch.len()).map_err(|_| StoreError::OutOfRange(u64::MAX))?;
        let mut tx = self.write().await?;
        // Under the write lock a request with the same key has either committed (and is found
        // here) or not started: the race PostgreSQL settles with the primary key cannot happen.
        if let Some((key, request)) = idempotency {
            if let Some(done) = replay(&mut tx, key, &request).await? {
                return Ok(SequenceOutcome::Replayed(done));
            }
        }
        let first: i64 = sqlx::query_scalar(
            "UPDATE log_state SET next_index = next_index + $1 WHERE id = 1 RETURNING next_index - $1",
        )
        .bind(to_db(n)?)
        .fetch_one(&mut *tx)
        .await?;
        let first = from_db(first)?;
        // One prepared statement per table, run per row: SQLite runs in this process, so a
        // statement costs microseconds, not a round trip.
        for (i, r) in batch.iter().enumerate() {
            let index = to_db(first + i as u64)?;
            sqlx::query(
                "INSERT INTO records (idx, leaf_hash, leaf, source, kind, content_root, received_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(index)
            .bind(r.leaf_hash.as_bytes().as_slice())
            .bind(r.leaf.as_slice())
            .bind(r.source.as_str())
            .bind(r.kind)
            .bind(r.content_root.as_bytes().as_slice())
            .bind(r.received_ms)
            .execute(&mut *tx)
            .await?;
            for &p in &r.parents {
                sqlx::query(
                    "INSERT INTO record_parents (child, parent) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                )
                .bind(index)
                .bind(to_db(p)?)
                .execute(&mut *tx)
                .await?;
            }
            for (j, data) in r.items.iter().enumerate() {
                sqlx::query("INSERT INTO snapshot_items (record, item, data) VALUES ($1, $2, $3)")
                    .bind(index)
                    .bind(to_db(j as u64)?)
                    .bind(data.as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if let Some((key, request)) = idempotency {
            sqlx::query(
                "INSERT INTO idempotency_keys (key, request_hash, first_index, count)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(key)
            .bind(request.as_bytes().as_slice())
            .bind(to_db(first)?)
            .bind(i32::try_from(n).map_err(|_| StoreError::OutOfRange(n))?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(SequenceOutcome::New(
            batch
                .iter()
                .enumerate()
                .map(|(i, r)| Sequenced {
                    index: first + i as u64,
                    leaf_hash: r.leaf_hash,
                    content_root: r.content_root,
                })
                .collect(),
        ))
    }

    async fn resolve_parents(&self, leaf_hashes: &[Hash]) -> Result<Vec<Option<u64>>> {
        let keys: Vec<String> = leaf_hashes.iter().map(|h| h.to_hex()).collect();
        let rows: Vec<(Vec<u8>, i64)> = sqlx::query_as(
            "SELECT leaf_hash, min(idx) FROM records
             WHERE leaf_hash IN (SELECT unhex(value) FROM json_each($1)) GROUP BY leaf_hash",
        )
        .bind(serde_json::to_string(&keys).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .fetch_all(&self.pool)
        .await?;
        let found: std::collections::HashMap<Vec<u8>, i64> = rows.into_iter().collect();
        leaf_hashes
            .iter()
            .map(|k| {
                found
                    .get(k.as_bytes().as_slice())
                    .map(|&i| from_db(i))
                    .transpose()
            })
            .collect()
    }
}

async fn replay(
    conn: &mut SqliteConnection,
    key: &str,
    request: &Hash,
) -> Result<Option<Vec<Sequenced>>> {
    let row: Option<(Vec<u8>, i64, i32)> = sqlx::query_as(
        "SELECT request_hash, first_index, count FROM idempotency_keys WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((stored, first, count)) = row else {
        return Ok(None);
    };
    if stored.as_slice() != request.as_bytes() {
        return Err(StoreError::IdempotencyConflict {
            key: key.to_string(),
        });
    }
    let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT idx, leaf_hash, content_root FROM records
         WHERE idx >= $1 AND idx < $1 + $2 ORDER BY idx",
    )
    .bind(first)
    .bind(i64::from(count))
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(idx, leaf, root)| {
            Ok(Sequenced {
                index: from_db(idx)?,
                leaf_hash: hash(&leaf)?,
                content_root: hash(&root)?,
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
