//! Runs each store test on both backends: `postgres::<test>` on a fresh PostgreSQL database
//! (`#[sqlx::test]`; `DATABASE_URL` names the server), `sqlite::<test>` on a fresh SQLite file
//! in a temporary directory (a file, as in real use, not `:memory:`).
// Each test crate uses a part of this module.
#![allow(dead_code, unused_macros, unused_imports)]

use std::path::PathBuf;
use std::time::Duration;

use provlog_store::Store;

/// A migrated SQLite database in a directory that is deleted on drop.
pub struct TempSqlite {
    pub store: Store,
    pub path: PathBuf,
    pub dir: tempfile::TempDir,
}

pub async fn sqlite() -> TempSqlite {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("provlog.db");
    let store = Store::sqlite(&path, 8, Duration::from_secs(10))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    TempSqlite { store, path, dir }
}

/// `on_both_backends!(a, b)` turns `async fn a(store: Store)` into the tests `postgres::a`
/// and `sqlite::a`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[sqlx::test(migrator = "provlog_store::postgres::MIGRATOR")]
                async fn $name(pool: sqlx::PgPool) {
                    super::$name(provlog_store::Store::postgres(pool)).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = super::backends::sqlite().await;
                    super::$name(db.store.clone()).await
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;
