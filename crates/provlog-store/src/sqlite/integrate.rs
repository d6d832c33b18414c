//! Integration and checkpoints on SQLite. The lease is checked inside the write transaction,
//! under the write lock, so a takeover cannot interleave with the old leader's write.

use async_trait::async_trait;
use provlog_core::log;
use provlog_core::Hash;
use sqlx::SqliteConnection;

use super::dialect::now;
use super::SqliteBackend;
use crate::convert::{from_db, to_db};
use crate::integrate::{in_order, new_nodes, node_rows};
use crate::{Integration, Result, Sizes, StoreError, LEADER_LEASE};

/// The stored hashes at `indexes`, in one query: the list travels as a JSON array.
const NODES_IN: &str = "SELECT idx, hash FROM nodes WHERE idx IN (SELECT value FROM json_each($1))";

fn json_list(indexes: &[u64]) -> Result<String> {
    let values = crate::convert::all_to_db(indexes)?;
    serde_json::to_string(&values).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl Integration for SqliteBackend {
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
        let mut tx = self.write().await?;
        check_leader(&mut tx, holder).await?;
        let integrated: i64 =
            sqlx::query_scalar("SELECT integrated_size FROM integration_state WHERE id = 1")
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

        let leaves: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT leaf_hash FROM records WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(to_db(from)?)
        .bind(to_db(to)?)
        .fetch_all(&mut *tx)
        .await?;
        let plan = log::root_plan(from)?;
        let stored: Vec<(i64, Vec<u8>)> = if plan.is_empty() {
            vec![]
        } else {
            sqlx::query_as(NODES_IN)
                .bind(json_list(&plan)?)
                .fetch_all(&mut *tx)
                .await?
        };
        for (at, h) in new_nodes(from, to, &leaves, node_rows(stored)?)? {
            // A plain INSERT: the primary key refuses to rewrite a stored hash.
            sqlx::query("INSERT INTO nodes (idx, hash) VALUES ($1, $2)")
                .bind(to_db(at)?)
                .bind(h.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
        }
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
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(NODES_IN)
            .bind(json_list(indexes)?)
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
        let mut tx = self.write().await?;
        check_leader(&mut tx, holder).await?;
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

async fn check_leader(conn: &mut SqliteConnection, holder: &str) -> Result<()> {
    let held: Option<String> = sqlx::query_scalar(concat!(
        "SELECT holder FROM leases WHERE name = $1 AND holder = $2 AND expires_at > ",
        now!()
    ))
    .bind(LEADER_LEASE)
    .bind(holder)
    .fetch_optional(&mut *conn)
    .await?;
    if held.is_none() {
        return Err(StoreError::NotLeader {
            holder: holder.to_string(),
        });
    }
    Ok(())
}
