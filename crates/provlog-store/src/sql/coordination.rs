//! The schema, the log a database belongs to, and leases, on either backend.

use std::time::Duration;

use async_trait::async_trait;

use super::dialect::{now, now_plus_ms, Backend, MIGRATOR};
use super::trust::backfill_registry;
use crate::{Coordination, Result, StoreError};

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
