//! Integration and checkpoints on PostgreSQL. The lease row is read `FOR SHARE` inside each
//! write transaction, so a takeover waits for the old leader's write to finish.

use async_trait::async_trait;
use provlog_core::log;
use provlog_core::Hash;
use sqlx::{Postgres, Transaction};

use super::PgBackend;
use crate::convert::{all_to_db, from_db, to_db};
use crate::integrate::{in_order, new_nodes, node_rows};
use crate::{Integration, Result, Sizes, StoreError, LEADER_LEASE};

#[async_trait]
impl Integration for PgBackend {
    async fn sizes(&self) -> Result<Sizes> {
        let (sequenced, integrated): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT next_index FROM log_state WHERE id = 1),
                    (SELECT integrated_size FROM integration_state WHERE id = 1)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Sizes {
            sequenced: from_db(sequenced)?,
            integrated: from_db(integrated)?,
        })
    }

    async fn integrate(&self, holder: &str, max: u64) -> Result<Option<u64>> {
        let mut tx = self.pool.begin().await?;
        Self::check_leader(&mut tx, holder).await?;
        let integrated: i64 = sqlx::query_scalar(
            "SELECT integrated_size FROM integration_state WHERE id = 1 FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await?;
        let sequenced: i64 = sqlx::query_scalar("SELECT next_index FROM log_state WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let (from, sequenced) = (from_db(integrated)?, from_db(sequenced)?);
        if sequenced <= from {
            return Ok(None);
        }
        let to = sequenced.min(from.saturating_add(max.max(1)));

        // Sequencers commit in index order (they serialise on one row), so [from, to) is there.
        let leaves: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT leaf_hash FROM records WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(to_db(from)?)
        .bind(to_db(to)?)
        .fetch_all(&mut *tx)
        .await?;
        let plan = log::root_plan(from)?;
        // The stored frontier, then every hash computed here: all that appending reads.
        let frontier = self.read_nodes_in(&mut tx, &plan).await?;
        let (mut idx, mut hashes) = (vec![], vec![]);
        for (at, h) in new_nodes(from, to, &leaves, frontier)? {
            idx.push(to_db(at)?);
            hashes.push(h.as_bytes().to_vec());
        }
        sqlx::query(
            "INSERT INTO nodes (idx, hash) SELECT * FROM UNNEST($1::bigint[], $2::bytea[])",
        )
        .bind(&idx)
        .bind(&hashes)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE integration_state SET integrated_size = $1 WHERE id = 1")
            .bind(to_db(to)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(to))
    }

    async fn read_nodes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        if indexes.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT idx, hash FROM nodes WHERE idx = ANY($1)")
                .bind(all_to_db(indexes)?)
                .fetch_all(&self.pool)
                .await?;
        in_order(indexes, rows)
    }

    async fn store_checkpoint(
        &self,
        holder: &str,
        size: u64,
        root: &Hash,
        note: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        Self::check_leader(&mut tx, holder).await?;
        let inserted = sqlx::query(
            "INSERT INTO checkpoints (size, root, note) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING",
        )
        .bind(to_db(size)?)
        .bind(root.as_bytes().as_slice())
        .bind(note)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let existing: Vec<u8> =
                sqlx::query_scalar("SELECT root FROM checkpoints WHERE size = $1")
                    .bind(to_db(size)?)
                    .fetch_one(&mut *tx)
                    .await?;
            if existing.as_slice() != root.as_bytes() {
                return Err(StoreError::CheckpointConflict { size });
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

impl PgBackend {
    async fn check_leader(tx: &mut Transaction<'_, Postgres>, holder: &str) -> Result<()> {
        let held: Option<String> = sqlx::query_scalar(
            "SELECT holder FROM leases WHERE name = $1 AND holder = $2 AND expires_at > now() FOR SHARE",
        )
        .bind(LEADER_LEASE)
        .bind(holder)
        .fetch_optional(&mut **tx)
        .await?;
        if held.is_none() {
            return Err(StoreError::NotLeader {
                holder: holder.to_string(),
            });
        }
        Ok(())
    }

    async fn read_nodes_in(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        indexes: &[u64],
    ) -> Result<Vec<(u64, Hash)>> {
        if indexes.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT idx, hash FROM nodes WHERE idx = ANY($1)")
                .bind(all_to_db(indexes)?)
                .fetch_all(&mut **tx)
                .await?;
        node_rows(rows)
    }
}
