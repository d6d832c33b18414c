//! Sequencing on either backend: one short write transaction per batch takes the next indexes
//! from the `log_state` row. On PostgreSQL the row lock orders sequencers across replicas until
//! commit; on SQLite the write lock of `BEGIN IMMEDIATE` does. Either way indexes are dense and a
//! failed batch gives its indexes back. How the batch's rows travel is the backend's
//! (`insert_records`).

use std::collections::HashMap;

use async_trait::async_trait;
use provlog_core::record::Timestamp;
use provlog_core::{leaf_hash, Hash};

use super::dialect::{hash_list, in_list, insert_records, Backend, Db};
use crate::convert::{from_db, hash, to_db};
use crate::sequence::{Revealing, Sealed};
use crate::{NewRecord, Result, SequenceOutcome, Sequenced, Sequencing, StoreError};

type Connection = <Db as sqlx::Database>::Connection;

#[async_trait]
impl Sequencing for Backend {
    async fn sequence(
        &self,
        batch: &[NewRecord],
        idempotency: Option<(&str, Hash)>,
    ) -> Result<SequenceOutcome> {
        match self.sequence_once(batch, idempotency).await {
            // Two requests with the same key raced on PostgreSQL (on SQLite the write lock keeps
            // them apart): the loser's transaction, and its indexes, rolled back; answer it like
            // a retry.
            Err(StoreError::Database(sqlx::Error::Database(e)))
                if e.constraint() == Some("idempotency_keys_pkey") =>
            {
                let (key, request) = idempotency.ok_or_else(|| {
                    StoreError::Corrupt("idempotency conflict without a key".into())
                })?;
                match replay(&mut *self.pool.acquire().await?, key, &request).await? {
                    Some(done) => Ok(SequenceOutcome::Replayed(done)),
                    None => Err(StoreError::Corrupt("idempotency key vanished".into())),
                }
            }
            other => other,
        }
    }

    async fn resolve_parents(&self, leaf_hashes: &[Hash]) -> Result<Vec<Option<u64>>> {
        let rows: Vec<(Vec<u8>, i64)> = sqlx::query_as(concat!(
            "SELECT leaf_hash, min(idx) FROM records WHERE leaf_hash ",
            in_list!(hashes "$1"),
            " GROUP BY leaf_hash"
        ))
        .bind(hash_list(leaf_hashes))
        .fetch_all(&self.pool)
        .await?;
        let found: std::collections::HashMap<Vec<u8>, i64> = rows.into_iter().collect();
        leaf_hashes
            .iter()
            .map(|h| {
                found
                    .get(h.as_bytes().as_slice())
                    .map(|&i| from_db(i))
                    .transpose()
            })
            .collect()
    }
}

impl Backend {
    async fn sequence_once(
        &self,
        batch: &[NewRecord],
        idempotency: Option<(&str, Hash)>,
    ) -> Result<SequenceOutcome> {
        let n = u64::try_from(batch.len()).map_err(|_| StoreError::OutOfRange(u64::MAX))?;
        let mut tx = self.write().await?;
        if let Some((key, request)) = idempotency {
            if let Some(done) = replay(&mut tx, key, &request).await? {
                return Ok(SequenceOutcome::Replayed(done));
            }
        }
        let (first, sealed) = append(&mut tx, batch).await?;
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
                .zip(sealed)
                .enumerate()
                .map(|(i, (r, s))| Sequenced {
                    index: first + i as u64,
                    leaf_hash: s.leaf_hash,
                    content_root: r.content_root,
                })
                .collect(),
        ))
    }
}

/// Takes the next indexes for `batch`, seals each record into its source's chain and writes it,
/// in the caller's write transaction (whose lock on `log_state` keeps indexes and sequence
/// numbers dense until it ends); the index of its first record, and the sealed records.
pub(super) async fn append(
    conn: &mut Connection,
    batch: &[NewRecord],
) -> Result<(u64, Vec<Sealed>)> {
    let n = u64::try_from(batch.len()).map_err(|_| StoreError::OutOfRange(u64::MAX))?;
    let first: i64 = sqlx::query_scalar(
        "UPDATE log_state SET next_index = next_index + $1 WHERE id = 1 RETURNING next_index - $1",
    )
    .bind(to_db(n)?)
    .fetch_one(&mut *conn)
    .await?;
    let first = from_db(first)?;
    for r in batch {
        if let Some(Revealing { commitment, .. }) = r.reveals {
            // Under the log_state lock: no reveal of it can commit meanwhile.
            let done: Option<i64> =
                sqlx::query_scalar("SELECT reveal FROM reveals WHERE commitment = $1")
                    .bind(to_db(commitment)?)
                    .fetch_optional(&mut *conn)
                    .await?;
            if let Some(reveal) = done {
                return Err(StoreError::AlreadyRevealed {
                    commitment,
                    reveal: from_db(reveal)?,
                });
            }
        }
    }
    let mut heads: HashMap<&str, Option<Head>> = HashMap::new();
    let mut sealed = Vec::with_capacity(batch.len());
    for r in batch {
        let head = match heads.get(r.source.as_str()) {
            Some(head) => *head,
            None => head(conn, &r.source).await?,
        };
        // A source's times never go back along its chain, so a window by time is a range of
        // sequence numbers (requests race to this lock in any order).
        let received = match head {
            Some(h) if h.received > r.record.received_at() => h.received,
            _ => r.record.received_at(),
        };
        if let Some(Revealing {
            commitment,
            reveal_by_ms,
        }) = r.reveals
        {
            if received.unix_millis() >= reveal_by_ms {
                return Err(StoreError::RevealTooLate {
                    commitment,
                    at: received.unix_millis(),
                });
            }
        }
        let seq = head.map_or(0, |h| h.seq + 1);
        let leaf = r.record.seal(seq, head.map(|h| h.leaf_hash), received);
        let leaf_hash = leaf_hash(&leaf);
        heads.insert(
            &r.source,
            Some(Head {
                seq,
                leaf_hash,
                received,
            }),
        );
        sealed.push(Sealed {
            leaf,
            leaf_hash,
            seq,
            received_ms: received.unix_millis(),
        });
    }
    insert_records(conn, first, batch, &sealed).await?;
    for (i, r) in batch.iter().enumerate() {
        if let Some(Revealing { commitment, .. }) = r.reveals {
            sqlx::query("INSERT INTO reveals (commitment, reveal) VALUES ($1, $2)")
                .bind(to_db(commitment)?)
                .bind(to_db(first + i as u64)?)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok((first, sealed))
}

/// The last record of a source's chain.
#[derive(Debug, Clone, Copy)]
struct Head {
    seq: u64,
    leaf_hash: Hash,
    received: Timestamp,
}

async fn head(conn: &mut Connection, source: &str) -> Result<Option<Head>> {
    let row: Option<(i64, Vec<u8>, i64)> = sqlx::query_as(
        "SELECT source_seq, leaf_hash, received_ms FROM records
         WHERE source = $1 ORDER BY source_seq DESC LIMIT 1",
    )
    .bind(source)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(seq, leaf, ms)| {
        Ok(Head {
            seq: from_db(seq)?,
            leaf_hash: hash(&leaf)?,
            received: Timestamp::from_unix_millis(ms)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        })
    })
    .transpose()
}

/// The result of the earlier request under `key`, if there was one; another request under the
/// same key is refused.
async fn replay(
    conn: &mut Connection,
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
