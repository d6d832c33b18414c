//! Sequencing on PostgreSQL: the `log_state` row lock orders sequencers across replicas.

use async_trait::async_trait;
use provlog_core::Hash;

use super::PgBackend;
use crate::convert::{from_db, hash, to_db};
use crate::{NewRecord, Result, SequenceOutcome, Sequenced, Sequencing, StoreError};

#[async_trait]
impl Sequencing for PgBackend {
    async fn sequence(
        &self,
        batch: &[NewRecord],
        idempotency: Option<(&str, Hash)>,
    ) -> Result<SequenceOutcome> {
        if let Some((key, request)) = idempotency {
            if let Some(done) = self.replay(key, &request).await? {
                return Ok(SequenceOutcome::Replayed(done));
            }
        }
        match self.sequence_once(batch, idempotency).await {
            // Two requests with the same key raced: the loser's transaction (and its indexes)
            // rolled back; answer it like a retry.
            Err(StoreError::Database(sqlx::Error::Database(e)))
                if e.constraint() == Some("idempotency_keys_pkey") =>
            {
                let (key, request) = idempotency.ok_or_else(|| {
                    StoreError::Corrupt("idempotency conflict without a key".into())
                })?;
                match self.replay(key, &request).await? {
                    Some(done) => Ok(SequenceOutcome::Replayed(done)),
                    None => Err(StoreError::Corrupt("idempotency key vanished".into())),
                }
            }
            other => other.map(SequenceOutcome::New),
        }
    }

    async fn resolve_parents(&self, leaf_hashes: &[Hash]) -> Result<Vec<Option<u64>>> {
        let keys: Vec<Vec<u8>> = leaf_hashes.iter().map(|h| h.as_bytes().to_vec()).collect();
        let rows: Vec<(Vec<u8>, i64)> = sqlx::query_as(
            "SELECT leaf_hash, min(idx) FROM records WHERE leaf_hash = ANY($1) GROUP BY leaf_hash",
        )
        .bind(&keys)
        .fetch_all(&self.pool)
        .await?;
        let found: std::collections::HashMap<Vec<u8>, i64> = rows.into_iter().collect();
        keys.iter()
            .map(|k| found.get(k).map(|&i| from_db(i)).transpose())
            .collect()
    }
}

impl PgBackend {
    async fn sequence_once(
        &self,
        batch: &[NewRecord],
        idempotency: Option<(&str, Hash)>,
    ) -> Result<Vec<Sequenced>> {
        let n = u64::try_from(batch.len()).map_err(|_| StoreError::OutOfRange(u64::MAX))?;
        let mut tx = self.pool.begin().await?;
        // The row lock on log_state serialises sequencers until commit: indexes are dense, and
        // a failed batch gives its indexes back.
        let first: i64 = sqlx::query_scalar(
            "UPDATE log_state SET next_index = next_index + $1 WHERE id = 1 RETURNING next_index - $1",
        )
        .bind(to_db(n)?)
        .fetch_one(&mut *tx)
        .await?;
        let first = from_db(first)?;

        let mut idx = Vec::with_capacity(batch.len());
        let (mut leaf_hashes, mut leaves, mut sources, mut kinds, mut roots, mut times) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let (mut children, mut parents) = (vec![], vec![]);
        let (mut item_records, mut item_indexes, mut item_data) = (vec![], vec![], vec![]);
        for (i, r) in batch.iter().enumerate() {
            let index = to_db(first + i as u64)?;
            idx.push(index);
            leaf_hashes.push(r.leaf_hash.as_bytes().to_vec());
            leaves.push(r.leaf.as_slice());
            sources.push(r.source.as_str());
            kinds.push(r.kind);
            roots.push(r.content_root.as_bytes().to_vec());
            times.push(r.received_ms);
            for &p in &r.parents {
                children.push(index);
                parents.push(to_db(p)?);
            }
            for (j, data) in r.items.iter().enumerate() {
                item_records.push(index);
                item_indexes.push(to_db(j as u64)?);
                item_data.push(data.as_slice());
            }
        }
        sqlx::query(
            "INSERT INTO records (idx, leaf_hash, leaf, source, kind, content_root, received_ms)
             SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::text[],
                                  $6::bytea[], $7::bigint[])",
        )
        .bind(&idx)
        .bind(&leaf_hashes)
        .bind(&leaves)
        .bind(&sources)
        .bind(&kinds)
        .bind(&roots)
        .bind(&times)
        .execute(&mut *tx)
        .await?;
        if !children.is_empty() {
            sqlx::query(
                "INSERT INTO record_parents (child, parent)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
            )
            .bind(&children)
            .bind(&parents)
            .execute(&mut *tx)
            .await?;
        }
        if !item_records.is_empty() {
            sqlx::query(
                "INSERT INTO snapshot_items (record, item, data)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bytea[])",
            )
            .bind(&item_records)
            .bind(&item_indexes)
            .bind(&item_data)
            .execute(&mut *tx)
            .await?;
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
        Ok(batch
            .iter()
            .enumerate()
            .map(|(i, r)| Sequenced {
                index: first + i as u64,
                leaf_hash: r.leaf_hash,
                content_root: r.content_root,
            })
            .collect())
    }

    async fn replay(&self, key: &str, request: &Hash) -> Result<Option<Vec<Sequenced>>> {
        let row: Option<(Vec<u8>, i64, i32)> = sqlx::query_as(
            "SELECT request_hash, first_index, count FROM idempotency_keys WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
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
}
