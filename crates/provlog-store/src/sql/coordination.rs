//! The schema, the log a database belongs to, and leases, on either backend.

use std::time::Duration;

use async_trait::async_trait;
use provlog_core::leaf_hash;

use super::dialect::{now, now_plus_ms, Backend, MIGRATOR};
use super::trust::backfill_registry;
use crate::{Coordination, Result, StoreError};

/// Stores the leaf hash of items written before the column existed (on SQLite, which has no
/// SHA-256 for the migration to use), in batches; how many.
async fn backfill_item_hashes(backend: &Backend) -> Result<u64> {
    let mut hashed = 0;
    loop {
        let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT record, item, data FROM snapshot_items WHERE leaf_hash IS NULL LIMIT 1000",
        )
        .fetch_all(&backend.pool)
        .await?;
        if rows.is_empty() {
            return Ok(hashed);
        }
        let mut tx = backend.pool.begin().await?;
        for (record, item, data) in &rows {
            sqlx::query("UPDATE snapshot_items SET leaf_hash = $1 WHERE record = $2 AND item = $3")
                .bind(leaf_hash(data).as_bytes().as_slice())
                .bind(record)
                .bind(item)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        hashed += rows.len() as u64;
    }
}

#[async_trait]
impl Coordination for Backend {
    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn init_log(&self, origin: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO log_state (id, origin) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(origin)
        .execute(&self.pool)
        .await?;
        let found: String = sqlx::query_scalar("SELECT origin FROM log_state WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        if found != origin {
            return Err(StoreError::WrongLog {
                expected: origin.to_string(),
                found,
            });
        }
        let hashed = backfill_item_hashes(self).await?;
        if hashed > 0 {
            tracing::info!(
                items = hashed,
                "stored the leaf hashes of snapshot items stored before them"
            );
        }
        let logged = backfill_registry(self).await?;
        if logged > 0 {
            tracing::info!(
                sources = logged,
                "logged the registry of sources registered before it was"
            );
        }
        Ok(())
    }

    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let got: Option<String> = sqlx::query_scalar(concat!(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, ",
            now_plus_ms!("$3"),
            ")
             ON CONFLICT (name) DO UPDATE
                SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE leases.holder = excluded.holder OR leases.expires_at < ",
            now!(),
            "
             RETURNING holder"
        ))
        .bind(name)
        .bind(holder)
        .bind(ttl_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(got.is_some())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn lease_holder(&self, name: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(concat!(
            "SELECT holder FROM leases WHERE name = $1 AND expires_at > ",
            now!()
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }
}
