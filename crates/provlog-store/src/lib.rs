//! # provlog-store
//!
//! PostgreSQL storage for the log, through sqlx: *sequence, then integrate*.
//!
//! - [`Store::sequence`] assigns dense indexes to a batch and stores the exact leaf bytes in one
//!   short transaction (the only thing on a client's write path);
//! - [`Store::integrate`] (leader only) extends the stored node hashes from the committed records;
//! - checkpoints, leases, and the reads that proofs and lookups need;
//! - anchoring transactions ([`AnchorRow`]), with the invariants the anchoring worker needs.
//! - trust state ([`trust`]): sources, API key hashes, signature nonces, the audit trail.
//!
//! The proof arithmetic is `provlog_core::log`: this crate fetches the stored hashes a plan names
//! in one query (`= ANY($1)`) and never computes a tree shape itself.

mod anchors;
mod convert;
mod integrate;
mod read;
mod sequence;
mod trust;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

pub use anchors::{AnchorFilter, AnchorRow, AnchorStatus, AnchorTarget, NewAnchor};
pub use integrate::Sizes;
pub use read::{Lineage, LineageEdge, RecordFilter, StoredCheckpoint, StoredRecord};
pub use sequence::{NewRecord, SequenceOutcome, Sequenced};
pub use trust::{
    ApiKeyRow, AuditEvent, Change, NewApiKey, SourceKeyRow, SourceRow, SourceSettings,
};

/// The schema, from the workspace's top-level `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Name of the lease held by the replica that integrates and checkpoints.
pub const LEADER_LEASE: &str = "leader";

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("this database holds log {found:?}, not {expected:?}")]
    WrongLog { expected: String, found: String },
    #[error("idempotency key {key:?} was used with a different request")]
    IdempotencyConflict { key: String },
    #[error("the leader lease is not held by {holder}")]
    NotLeader { holder: String },
    #[error("a checkpoint of size {size} with another root already exists")]
    CheckpointConflict { size: u64 },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Proof(#[from] provlog_core::log::ProofError),
    #[error("value {0} does not fit the database's BIGINT")]
    OutOfRange(u64),
}

impl StoreError {
    /// Whether the database could not be reached or was overloaded (worth a 503 and a retry),
    /// as opposed to a logic or data error.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            )
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Handle to the log's database. Cheap to clone (a pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects with a bounded pool; waiting for a connection longer than `acquire_timeout`
    /// fails fast so the API can answer 503 instead of queueing without bound.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Store { pool })
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Store { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Binds the database to a log origin on first use; refuses a database of another log.
    pub async fn init_log(&self, origin: &str) -> Result<()> {
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

    /// Takes or renews a lease for `ttl`; true when `holder` holds it afterwards.
    pub async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
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

    /// Gives a lease up (graceful shutdown) so another replica need not wait for it to expire.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Current holder of a lease that has not expired.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1 AND expires_at > now()")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
