//! The PostgreSQL backend: production, and several replicas on one database. Sequencers are
//! ordered by the `log_state` row lock, the leader by a lease row (see
//! `migrations/postgres/`); arrays travel as one parameter (`= ANY($1)`, `UNNEST`).

mod dialect;
mod integrate;
mod sequence;
/// The SQL both backends share, compiled here with this backend's `dialect`.
#[allow(
    clippy::duplicate_mod,
    reason = "compiled once per backend, each with its dialect"
)]
#[path = "../sql/mod.rs"]
mod sql;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::{Coordination, Result, StoreError};

/// The PostgreSQL schema, from the workspace's `migrations/postgres/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Storage on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgBackend {
    pool: PgPool,
}

pub(crate) async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool> {
    let options: PgConnectOptions = url.parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_with(options)
        .await?)
}

impl PgBackend {
    pub fn new(pool: PgPool) -> Self {
        PgBackend { pool }
    }

    /// A write transaction; rows it must keep from changing it locks `FOR UPDATE`.
    async fn write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

#[async_trait]
impl Coordination for PgBackend {
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
        Ok(())
    }

    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let got: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires_at)
             VALUES ($1, $2, now() + $3 * interval '1 millisecond')
             ON CONFLICT (name) DO UPDATE
                SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now()
             RETURNING holder",
        )
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
        Ok(
            sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1 AND expires_at > now()")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
