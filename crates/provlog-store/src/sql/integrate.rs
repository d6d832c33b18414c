//! Integration and checkpoints on either backend. Each write transaction re-reads the lease:
//! on PostgreSQL `FOR SHARE`, so a takeover waits for the old leader's write to finish; on
//! SQLite under the write lock, so a takeover cannot interleave with it.

use async_trait::async_trait;
use provlog_core::log;
use provlog_core::Hash;

use super::dialect::{for_share, for_update, in_list, insert_nodes, list, now, Backend, Db};
use crate::convert::{from_db, to_db};
use crate::integrate::{in_order, new_nodes, node_rows};
use crate::{Integration, Result, Sizes, StoreError, LEADER_LEASE};

type Connection = <Db as sqlx::Database>::Connection;

const NODES_IN: &str = concat!("SELECT idx, hash FROM nodes WHERE idx ", in_list!("$1"));

#[async_trait]
impl Integration for Backend {
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
        let integrated: i64 = sqlx::query_scalar(concat!(
            "SELECT integrated_size FROM integration_state WHERE id = 1",
            for_update!()
        ))
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

        // Sequencers commit in index order (they serialise on one row or on the write lock), so
        // [from, to) is there.
        let leaves: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT leaf_hash FROM records WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(to_db(from)?)
        .bind(to_db(to)?)
        .fetch_all(&mut *tx)
        .await?;
        // The stored frontier, then every hash computed here: all that appending reads.
        let frontier = nodes_in(&mut tx, &log::root_plan(from)?).await?;
        insert_nodes(
            &mut tx,
            &new_nodes(from, to, &leaves, node_rows(frontier)?)?,
        )
        .await?;
        sqlx::query("UPDATE integration_state SET integrated_size = $1 WHERE id = 1")
            .bind(to_db(to)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(to))
    }

    async fn read_nodes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        let rows = nodes_in(&mut *self.pool.acquire().await?, indexes).await?;
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

async fn check_leader(conn: &mut Connection, holder: &str) -> Result<()> {
    let held: Option<String> = sqlx::query_scalar(concat!(
        "SELECT holder FROM leases WHERE name = $1 AND holder = $2 AND expires_at > ",
        now!(),
        for_share!()
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

/// The stored node rows at `indexes`, in any order, in one query.
async fn nodes_in(conn: &mut Connection, indexes: &[u64]) -> Result<Vec<(i64, Vec<u8>)>> {
    if indexes.is_empty() {
        return Ok(vec![]);
    }
    Ok(sqlx::query_as(NODES_IN)
        .bind(list(indexes)?)
        .fetch_all(&mut *conn)
        .await?)
}
