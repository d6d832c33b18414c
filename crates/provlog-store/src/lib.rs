//! # provlog-store
//!
//! Storage for the log, through sqlx: *sequence, then integrate*, on one of two backends that
//! keep the same invariants:
//!
//! - [`postgres`]: production; several replicas share one database.
//! - [`sqlite`]: one file, one process (`provlog dev`, laptops, demos).
//!
//! [`Store`] is the handle the service holds. It picks the backend from the database URL and
//! dereferences to [`Backend`], so callers write `store.sequence(..).await` whichever it is.
//! `Backend` is the sum of one trait per concern:
//!
//! - [`Sequencing`]: dense indexes and the exact leaf bytes in one short transaction per batch
//!   (the only thing on a client's write path);
//! - [`Integration`] (leader only): the stored node hashes over the committed records, and the
//!   signed checkpoints;
//! - [`Reads`]: what proofs, receipts, lookups and lineage need;
//! - [`Anchoring`]: anchoring transactions ([`AnchorRow`]), with the invariants the anchoring
//!   worker needs;
//! - [`Trust`]: sources, API key hashes, signature nonces, the audit trail;
//! - [`Coordination`]: the schema, the log a database belongs to, and leases.
//!
//! The proof arithmetic is `provlog_core::log`: this crate fetches the stored hashes a plan names
//! in one query and never computes a tree shape itself.

mod anchors;
mod convert;
mod integrate;
pub mod postgres;
mod read;
mod registry;
mod sequence;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod trust;

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use anchors::{
    AnchorFilter, AnchorRow, AnchorStatus, AnchorTarget, Anchoring, MinedBlock, NewAnchor,
};
pub use integrate::{Integration, Sizes};
pub use read::{
    ChainQuery, ChainWindow, Lineage, LineageEdge, Reads, RecordFilter, StoredCheckpoint,
    StoredRecord,
};
pub use registry::RegistryRow;
pub use sequence::{NewRecord, Revealing, SequenceOutcome, Sequenced, Sequencing};
pub use trust::{
    ApiKeyRow, AuditEvent, Change, NewApiKey, SourceChange, SourceKeyRow, SourceRow,
    SourceSettings, Trust,
};

/// Name of the lease held by the replica that integrates and checkpoints.
pub const LEADER_LEASE: &str = "leader";

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL ({0}): use a postgres://, postgresql:// or sqlite: URL")]
    UnsupportedUrl(String),
    #[error(
        "the SQLite database {path} is open in another process ({holder}); SQLite serves one \
         provlog process, run several replicas on PostgreSQL"
    )]
    SqliteInUse { path: String, holder: String },
    #[error("the SQLite database {path}: {source}")]
    SqliteFile {
        path: String,
        source: std::io::Error,
    },
    #[error("this database holds log {found:?}, not {expected:?}")]
    WrongLog { expected: String, found: String },
    #[error("idempotency key {key:?} was used with a different request")]
    IdempotencyConflict { key: String },
    #[error("the commitment {commitment} was revealed by record {reveal}")]
    AlreadyRevealed { commitment: u64, reveal: u64 },
    #[error("the reveal of commitment {commitment} would be logged at unix ms {at}, not before its reveal_by")]
    RevealTooLate { commitment: u64, at: i64 },
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
        match self {
            StoreError::Database(
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            StoreError::Database(sqlx::Error::Database(e)) => {
                sqlite::is_busy(e.as_ref()) || is_pg_unavailable(e.as_ref())
            }
            _ => false,
        }
    }
}

/// Whether a PostgreSQL error says the server went away or cannot serve now rather than that
/// the statement was wrong: class 08 (connection exception), `57P01` admin_shutdown (what
/// `pg_ctl stop -m fast` and `-m immediate` send the sessions they end), `57P02`
/// crash_shutdown, `57P03` cannot_connect_now (starting up, shutting down, in recovery), `53300`
/// too_many_connections. A statement in flight when the server stops fails with one of these,
/// and it is worth a 503 and a retry, not a 500.
fn is_pg_unavailable(e: &dyn sqlx::error::DatabaseError) -> bool {
    e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some_and(|pg| {
            let code = pg.code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
        })
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The schema, the log a database belongs to, and leases: what replicas coordinate through.
#[async_trait]
pub trait Coordination {
    /// Applies the backend's migrations that are not applied yet (sqlx's `_sqlx_migrations`
    /// table records them).
    async fn migrate(&self) -> Result<()>;

    /// Binds the database to a log origin on first use; refuses a database of another log.
    /// Then logs the registry of sources registered before registry records existed, once.
    async fn init_log(&self, origin: &str) -> Result<()>;

    /// Takes or renews a lease for `ttl`; true when `holder` holds it afterwards.
    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool>;

    /// Gives a lease up (graceful shutdown) so another replica need not wait for it to expire.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;

    /// Current holder of a lease that has not expired.
    async fn lease_holder(&self, name: &str) -> Result<Option<String>>;
}

/// Everything a storage backend provides; [`Store`] dereferences to it.
pub trait Backend:
    Coordination + Sequencing + Integration + Reads + Trust + Anchoring + fmt::Debug + Send + Sync
{
}

impl<T> Backend for T where
    T: Coordination
        + Sequencing
        + Integration
        + Reads
        + Trust
        + Anchoring
        + fmt::Debug
        + Send
        + Sync
{
}

/// Handle to the log's database. Cheap to clone (a shared backend holding a pool).
///
/// The backend is a trait object rather than a type parameter so that the server, its workers
/// and the CLI stay one non-generic program whichever database the configuration names.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

impl Store {
    /// Connects to the database the URL names: `postgres://…` or `postgresql://…` (PostgreSQL),
    /// `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:` (SQLite; the file is created when
    /// missing). The pool holds at most `max_connections`; waiting for a connection longer than
    /// `acquire_timeout` fails fast so the API can answer 503 instead of queueing without bound.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self> {
        match scheme(url).as_deref() {
            Some("postgres" | "postgresql") => Ok(Store::postgres(
                postgres::connect(url, max_connections, acquire_timeout).await?,
            )),
            Some("sqlite") => {
                let backend =
                    sqlite::SqliteBackend::connect(url, max_connections, acquire_timeout).await?;
                Ok(Store {
                    backend: Arc::new(backend),
                })
            }
            // Only the scheme: the rest may hold a password.
            Some(other) => Err(StoreError::UnsupportedUrl(format!("scheme {other:?}"))),
            None => Err(StoreError::UnsupportedUrl("no scheme".into())),
        }
    }

    /// A store on an existing PostgreSQL pool (tests, tools that manage their own pool).
    pub fn postgres(pool: sqlx::PgPool) -> Self {
        Store {
            backend: Arc::new(postgres::PgBackend::new(pool)),
        }
    }

    /// A store on the SQLite database file at `path`, created when missing; see
    /// [`sqlite::SqliteBackend::open`].
    pub async fn sqlite(
        path: impl AsRef<std::path::Path>,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self> {
        let backend =
            sqlite::SqliteBackend::open(path.as_ref(), max_connections, acquire_timeout).await?;
        Ok(Store {
            backend: Arc::new(backend),
        })
    }
}

/// The URL's scheme, lowercase, when it has one.
fn scheme(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::scheme;

    #[test]
    fn schemes_are_read_without_the_rest_of_the_url() {
        assert_eq!(scheme("postgres://u:p@h/db").as_deref(), Some("postgres"));
        assert_eq!(scheme("PostgreSQL://h/db").as_deref(), Some("postgresql"));
        assert_eq!(scheme("sqlite::memory:").as_deref(), Some("sqlite"));
        assert_eq!(scheme("sqlite:///tmp/x.db").as_deref(), Some("sqlite"));
        assert_eq!(scheme("/tmp/x.db"), None);
        assert_eq!(scheme("1x:y"), None);
    }
}
