//! The SQLite backend: one database file, one process (`provlog dev`, laptops, demos). The
//! schema is `migrations/sqlite/`; its first file says how each PostgreSQL guarantee is kept.
//!
//! - Every write transaction is `BEGIN IMMEDIATE`: it takes the database's single write lock
//!   at once, which orders sequencers as the `log_state` row lock does in PostgreSQL and never
//!   fails half-way when a read transaction would have to become a write one.
//! - WAL journal: readers do not wait for the writer, and the writer waits for readers at most
//!   until a checkpoint; `synchronous = FULL`, so a commit is on disk when acknowledged.
//! - `busy_timeout`: a writer waits for the lock instead of failing at once.
//! - `foreign_keys = ON`, STRICT tables, the same CHECKs and partial unique indexes.
//! - Lists travel as one JSON parameter read with `json_each`, the counterpart of `= ANY($1)`.
//!
//! Several processes on one file are refused when they open it: `<database>.lock` beside the
//! database stays locked (an OS lock) while a process has it open.

mod batch;
mod dialect;
/// The SQL both backends share, compiled here with this backend's `dialect`.
#[allow(
    clippy::duplicate_mod,
    reason = "compiled once per backend, each with its dialect"
)]
#[path = "../sql/mod.rs"]
mod sql;

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Transaction;

use crate::{Result, StoreError};

/// The SQLite schema, from the workspace's `migrations/sqlite/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How long a writer waits for another one to commit. Write transactions last milliseconds;
/// past this the database is stuck, and the caller gets an unavailable error (503).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Storage on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    pool: SqlitePool,
    /// Held for as long as any handle on the file lives; `None` for an in-memory database.
    _lock: Option<Arc<ProcessLock>>,
}

/// Whether a database error is SQLite's "busy" or "locked": the write lock was not had within
/// the busy timeout (overload, worth a retry).
pub(crate) fn is_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    // Only SQLite's codes are numbers (extended codes: the primary one in the low byte).
    e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && e.code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
}

impl SqliteBackend {
    /// Opens the database a `sqlite:` URL names: `sqlite://PATH`, `sqlite:PATH` (with sqlx's
    /// query parameters) or `sqlite::memory:` (a private database that lives as long as the
    /// handle, on one connection).
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?;
        let in_memory = url
            .split_once('?')
            .map_or(url, |(path, _)| path)
            .ends_with(":memory:")
            || url.contains("mode=memory");
        if in_memory {
            // Each connection to a shared in-memory database would contend on table locks that
            // busy_timeout does not cover; one connection serialises everything instead, and
            // the database lives as long as that connection.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(acquire_timeout)
                .connect_with(settings(options))
                .await?;
            return Ok(SqliteBackend { pool, _lock: None });
        }
        let path = options.get_filename().to_path_buf();
        Self::open_with(&path, options, max_connections, acquire_timeout).await
    }

    /// Opens (creating it when missing) the database file at `path`. Refuses a file that
    /// another process has open ([`StoreError::SqliteInUse`]).
    pub async fn open(
        path: &Path,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self> {
        let options = SqliteConnectOptions::new().filename(path);
        Self::open_with(path, options, max_connections, acquire_timeout).await
    }

    async fn open_with(
        path: &Path,
        options: SqliteConnectOptions,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self> {
        let lock = ProcessLock::acquire(path)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect_with(settings(options))
            .await?;
        Ok(SqliteBackend {
            pool,
            _lock: Some(lock),
        })
    }

    /// A write transaction: the database's write lock is taken now, not at the first write.
    async fn write(&self) -> Result<Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn settings(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
}

/// An exclusive OS lock on `<database>.lock`, held while any handle of this process on the
/// database lives. Handles of one process share it (tests and `provlog dev` may open the file
/// more than once); another process is refused, because SQLite serves one provlog process: two
/// would both run workers on one file, and a second machine (a network file system) would
/// corrupt it. The lock file records the holder's pid, for the error message.
#[derive(Debug)]
pub(crate) struct ProcessLock {
    path: PathBuf,
    _file: File,
}

impl ProcessLock {
    fn acquire(database: &Path) -> Result<Arc<ProcessLock>> {
        let file_error = |source| StoreError::SqliteFile {
            path: database.display().to_string(),
            source,
        };
        let path = lock_path(database).map_err(file_error)?;
        static HELD: OnceLock<Mutex<HashMap<PathBuf, Weak<ProcessLock>>>> = OnceLock::new();
        let mut held = HELD
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(lock) = held.get(&path).and_then(Weak::upgrade) {
            return Ok(lock);
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(file_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Best effort: the pid is only for the message.
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "pid unknown".to_string(),
                    pid => format!("pid {pid}"),
                };
                return Err(StoreError::SqliteInUse {
                    path: database.display().to_string(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(file_error(e)),
        }
        file.set_len(0).map_err(file_error)?;
        file.rewind().map_err(file_error)?;
        write!(file, "{}", std::process::id()).map_err(file_error)?;
        let lock = Arc::new(ProcessLock { path, _file: file });
        held.retain(|_, weak| weak.strong_count() > 0);
        held.insert(lock.path.clone(), Arc::downgrade(&lock));
        Ok(lock)
    }
}

/// `<database>.lock`, with the directory made absolute so two spellings of one path share one
/// lock. The directory must exist; the database file need not yet.
fn lock_path(database: &Path) -> std::io::Result<PathBuf> {
    let name = database
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = match database.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.canonicalize()?,
        _ => std::env::current_dir()?,
    };
    let mut lock = name.to_os_string();
    lock.push(".lock");
    Ok(dir.join(lock))
}
