//! The PostgreSQL backend: production, and several replicas on one database. Sequencers are
//! ordered by the `log_state` row lock, the leader by a lease row (see
//! `migrations/postgres/`); lists travel as one array parameter (`= ANY($1)`, `UNNEST`).

mod batch;
mod dialect;
/// The SQL both backends share, compiled here with this backend's `dialect`.
#[allow(
    clippy::duplicate_mod,
    reason = "compiled once per backend, each with its dialect"
)]
#[path = "../sql/mod.rs"]
mod sql;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::Result;

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
