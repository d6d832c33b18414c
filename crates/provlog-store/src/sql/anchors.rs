//! Anchoring transactions, written once and compiled into each backend with its `dialect`: the
//! partial unique indexes enforce one pending transaction per target and one confirmation
//! per size, and multi-statement changes run in a write transaction.

use async_trait::async_trait;
use sqlx::QueryBuilder;

use super::dialect::{for_update, Backend, Db};
use crate::anchors::{check_new, rows, Row, COLUMNS};
use crate::convert::to_db;
use crate::{
    AnchorFilter, AnchorRow, AnchorStatus, AnchorTarget, Anchoring, MinedBlock, NewAnchor, Result,
};

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[async_trait]
impl Anchoring for Backend {
    async fn insert_pending_anchor(
        &self,
        target: &AnchorTarget,
        tx: &NewAnchor,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        check_new(target, tx)?;
        match Self::insert_anchor(&self.pool, target, tx, now_ms).await {
            Ok(id) => Ok(Some(id)),
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn replace_pending_anchor(
        &self,
        old: i64,
        target: &AnchorTarget,
        tx: &NewAnchor,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        check_new(target, tx)?;
        let mut db = self.write().await?;
        let changed = sqlx::query(
            "UPDATE anchors SET status = 'replaced', updated_ms = $2
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(old)
        .bind(now_ms)
        .execute(&mut *db)
        .await?
        .rows_affected();
        if changed != 1 {
            return Ok(None);
        }
        match Self::insert_anchor(&mut *db, target, tx, now_ms).await {
            Ok(id) => {
                db.commit().await?;
                Ok(Some(id))
            }
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn pending_anchor(&self, target: &AnchorTarget) -> Result<Option<AnchorRow>> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM anchors
             WHERE chain_id = $1 AND contract = $2 AND origin = $3 AND status = 'pending'"
        ))
        .bind(to_db(target.chain_id)?)
        .bind(target.contract.as_slice())
        .bind(&target.origin)
        .fetch_optional(&self.pool)
        .await?;
        row.map(AnchorRow::try_from).transpose()
    }

    async fn anchors_with_nonce(
        &self,
        chain_id: u64,
        sender: &[u8; 20],
        nonce: u64,
    ) -> Result<Vec<AnchorRow>> {
        let found: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM anchors WHERE chain_id = $1 AND sender = $2 AND nonce = $3
             ORDER BY id"
        ))
        .bind(to_db(chain_id)?)
        .bind(sender.as_slice())
        .bind(to_db(nonce)?)
        .fetch_all(&self.pool)
        .await?;
        rows(found)
    }

    async fn set_anchor_block(
        &self,
        id: i64,
        block: Option<(u64, [u8; 32])>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE anchors SET block_number = $2, block_hash = $3, updated_ms = $4
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(block.map(|(n, _)| to_db(n)).transpose()?)
        .bind(block.map(|(_, h)| h.to_vec()))
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn confirm_anchor(&self, id: i64, block: &MinedBlock, now_ms: i64) -> Result<bool> {
        let mut db = self.write().await?;
        let target: Option<(i64, Vec<u8>, String)> = sqlx::query_as(concat!(
            "SELECT chain_id, contract, origin FROM anchors
             WHERE id = $1 AND status IN ('pending', 'replaced')",
            for_update!()
        ))
        .bind(id)
        .fetch_optional(&mut *db)
        .await?;
        let Some((chain_id, contract, origin)) = target else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE anchors SET status = 'replaced', updated_ms = $5
             WHERE chain_id = $1 AND contract = $2 AND origin = $3 AND status = 'pending'
               AND id <> $4",
        )
        .bind(chain_id)
        .bind(&contract)
        .bind(&origin)
        .bind(id)
        .bind(now_ms)
        .execute(&mut *db)
        .await?;
        let done = sqlx::query(
            "UPDATE anchors SET status = 'confirmed', block_number = $2, block_hash = $3,
                 block_timestamp = $4, updated_ms = $5, confirmed_ms = $5
             WHERE id = $1",
        )
        .bind(id)
        .bind(to_db(block.number)?)
        .bind(block.hash.as_slice())
        .bind(to_db(block.timestamp)?)
        .bind(now_ms)
        .execute(&mut *db)
        .await;
        match done {
            Ok(_) => {
                db.commit().await?;
                Ok(true)
            }
            // The size is already confirmed by another row: leave everything as it was.
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn set_anchor_status(
        &self,
        id: i64,
        from: AnchorStatus,
        to: AnchorStatus,
        now_ms: i64,
    ) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE anchors SET status = $3, updated_ms = $4 WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn reorg_anchor(&self, id: i64, now_ms: i64) -> Result<Option<i64>> {
        let mut db = self.write().await?;
        let row: Option<Row> = sqlx::query_as(&format!(
            "UPDATE anchors SET status = 'reorged', updated_ms = $2
             WHERE id = $1 AND status = 'confirmed' RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(now_ms)
        .fetch_optional(&mut *db)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let row = AnchorRow::try_from(row)?;
        match Self::insert_anchor(&mut *db, &row.target, &row.tx, now_ms).await {
            Ok(new) => {
                db.commit().await?;
                Ok(Some(new))
            }
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn confirmed_anchors(&self, target: &AnchorTarget, limit: u32) -> Result<Vec<AnchorRow>> {
        let found: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM anchors
             WHERE chain_id = $1 AND contract = $2 AND origin = $3 AND status = 'confirmed'
             ORDER BY tree_size DESC LIMIT $4"
        ))
        .bind(to_db(target.chain_id)?)
        .bind(target.contract.as_slice())
        .bind(&target.origin)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows(found)
    }

    async fn anchor_covering(
        &self,
        target: &AnchorTarget,
        index: u64,
    ) -> Result<Option<AnchorRow>> {
        // The first confirmed root whose tree holds the record.
        self.confirmed_where(target, "tree_size > $4 ORDER BY tree_size LIMIT 1", index)
            .await
    }

    async fn confirmed_anchor_at(
        &self,
        target: &AnchorTarget,
        size: u64,
    ) -> Result<Option<AnchorRow>> {
        self.confirmed_where(target, "tree_size = $4", size).await
    }

    async fn anchors(&self, origin: &str, filter: &AnchorFilter) -> Result<Vec<AnchorRow>> {
        // Only the criteria given go into the SQL, as in `find_records`.
        let mut q =
            QueryBuilder::<Db>::new(format!("SELECT {COLUMNS} FROM anchors WHERE origin = "));
        q.push_bind(origin);
        if let Some(status) = filter.status {
            q.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(before) = filter.before {
            q.push(" AND id < ").push_bind(before);
        }
        q.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        let found: Vec<Row> = q.build_query_as().fetch_all(&self.pool).await?;
        rows(found)
    }
}

impl Backend {
    /// A confirmed anchor of `target` that `condition` (on `tree_size`, against `$4`) picks.
    async fn confirmed_where(
        &self,
        target: &AnchorTarget,
        condition: &str,
        size: u64,
    ) -> Result<Option<AnchorRow>> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM anchors
             WHERE chain_id = $1 AND contract = $2 AND origin = $3 AND status = 'confirmed'
               AND {condition}"
        ))
        .bind(to_db(target.chain_id)?)
        .bind(target.contract.as_slice())
        .bind(&target.origin)
        .bind(to_db(size)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map(AnchorRow::try_from).transpose()
    }

    async fn insert_anchor<'e, E>(
        executor: E,
        target: &AnchorTarget,
        tx: &NewAnchor,
        now_ms: i64,
    ) -> std::result::Result<i64, sqlx::Error>
    where
        E: sqlx::Executor<'e, Database = Db>,
    {
        // Conversions were checked by the caller (`check_new`).
        sqlx::query_scalar(
            "INSERT INTO anchors (origin, tree_size, root, chain_id, contract, log_id, sender,
                nonce, tx_hash, raw_tx, gas_limit, max_fee_per_gas, max_priority_fee_per_gas,
                status, sent_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', $14, $14)
             RETURNING id",
        )
        .bind(&target.origin)
        .bind(tx.tree_size as i64)
        .bind(tx.root.as_bytes().as_slice())
        .bind(target.chain_id as i64)
        .bind(target.contract.as_slice())
        .bind(target.log_id.as_slice())
        .bind(tx.sender.as_slice())
        .bind(tx.nonce as i64)
        .bind(tx.tx_hash.as_slice())
        .bind(&tx.raw_tx)
        .bind(tx.gas_limit as i64)
        .bind(tx.max_fee_per_gas as i64)
        .bind(tx.max_priority_fee_per_gas as i64)
        .bind(now_ms)
        .fetch_one(executor)
        .await
    }
}
