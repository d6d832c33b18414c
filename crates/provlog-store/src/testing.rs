//! What the store's tests and the server's tests share (cargo feature `testing`): a fresh
//! SQLite database, and [`on_both_backends!`](crate::on_both_backends) to run one test on each
//! backend.

use std::path::PathBuf;
use std::time::Duration;

use provlog_core::record::{
    signal_content, snapshot_content_json, FormatVersion, Kind, LogOrigin, Record, SourceId,
    Timestamp,
};
use serde_json::json;

use crate::{NewRecord, Store};

/// Record `i` of `source` in the log `origin`: a signal, or a snapshot of two JSON items, named
/// by `i`, received at 1_764_000_000_000 + i ms, ready to sequence.
pub fn new_record(
    origin: &str,
    source: &str,
    i: u64,
    parents: Vec<u64>,
    snapshot: bool,
) -> NewRecord {
    let (kind, content, items) = if snapshot {
        let (content, items) =
            snapshot_content_json(&[json!({"row": "a"}), json!({"row": i})]).expect("a snapshot");
        (Kind::Snapshot, content, items)
    } else {
        // The log keeps a signal's payload as its one item, as ingest does.
        let (content, item) = signal_content(&json!({"signal": i})).expect("a signal");
        (Kind::Signal, content, vec![item])
    };
    let record = Record {
        content,
        kind,
        metadata: Default::default(),
        origin: LogOrigin::new(origin).expect("an origin"),
        parents: vec![],
        prev: None,
        quality: vec![],
        received_at: Timestamp::from_unix_millis(1_764_000_000_000 + i as i64).expect("a time"),
        seq: None,
        signature: None,
        source: SourceId::new(source).expect("a source id"),
        v: FormatVersion::V2,
    };
    NewRecord::new(&record, parents, items).expect("a valid record")
}

/// A migrated SQLite database in a directory that is deleted on drop.
#[derive(Debug)]
pub struct TempSqlite {
    pub store: Store,
    pub path: PathBuf,
    pub dir: tempfile::TempDir,
}

/// A fresh SQLite file in a temporary directory (a file, as in real use, not `:memory:`).
pub async fn sqlite() -> TempSqlite {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("provlog.db");
    let store = Store::sqlite(&path, 8, Duration::from_secs(10))
        .await
        .expect("the SQLite file opens");
    store.migrate().await.expect("the SQLite schema migrates");
    TempSqlite { store, path, dir }
}

/// `on_both_backends!(a, b)` turns each `async fn a(store: Store)` of the calling module into
/// the tests `postgres::a`, on a fresh PostgreSQL database (`#[sqlx::test]`; `DATABASE_URL`
/// names the server), and `sqlite::a`, on a fresh [`sqlite`](crate::testing::sqlite) file. The
/// calling crate needs `sqlx` (with `migrate`) and `tokio` (with `macros`) among its
/// dependencies.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[sqlx::test(migrator = "provlog_store::postgres::MIGRATOR")]
                async fn $name(pool: sqlx::PgPool) {
                    super::$name($crate::Store::postgres(pool)).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = $crate::testing::sqlite().await;
                    super::$name(db.store.clone()).await
                }
            )*
        }
    };
}
pub use crate::on_both_backends;
