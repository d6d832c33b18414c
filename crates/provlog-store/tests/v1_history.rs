//! A log whose records predate source chains (format v1), migrated: the migration numbers each
//! source's records in log order, and the source's next record continues its chain from the
//! last v1 record. Run over real rows on both backends, before and after the migration.
#![allow(clippy::unwrap_used)]

use std::borrow::Cow;

use provlog_core::record::{
    signal_content, FormatVersion, Kind, LogOrigin, Record, SourceId, Timestamp,
};
use provlog_core::{leaf_hash, Hash};
use provlog_store::{ChainQuery, SequenceOutcome, Store};
use serde_json::json;
use sqlx::migrate::Migrator;

const ORIGIN: &str = "example.com/provlog/v1-history";
/// The migration that added source chains.
const CHAINS: i64 = 20261203000004;

fn before_chains(all: &Migrator) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version < CHAINS)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// A v1 signal of `source`, as the log wrote them before chains.
fn v1(source: &str, i: i64) -> (Vec<u8>, Hash) {
    let (content, _) = signal_content(&json!({"v1": i})).unwrap();
    let record = Record {
        content,
        kind: Kind::Signal,
        metadata: Default::default(),
        origin: LogOrigin::new(ORIGIN).unwrap(),
        parents: vec![],
        prev: None,
        quality: vec![],
        received_at: Timestamp::from_unix_millis(1_764_000_000_000 + i).unwrap(),
        seq: None,
        signature: None,
        source: SourceId::new(source).unwrap(),
        v: FormatVersion::V1,
    };
    let bytes = record.to_canonical_bytes().unwrap();
    let root = record.content.root;
    (bytes, root)
}

/// Rows of format v1: a, b, a (indexes 0..3), as the pre-chain schema held them.
const HISTORY: [&str; 3] = ["alpha", "beta", "alpha"];

/// Writes [`HISTORY`] into the pre-chain schema through `pool` (either backend's).
macro_rules! write_history {
    ($pool:expr) => {
        sqlx::query("INSERT INTO log_state (id, origin, next_index) VALUES (1, $1, 3)")
            .bind(ORIGIN)
            .execute(&$pool)
            .await
            .unwrap();
        for (i, source) in HISTORY.iter().enumerate() {
            let (leaf, root) = v1(source, i as i64);
            sqlx::query(
                "INSERT INTO records (idx, leaf_hash, leaf, source, kind, content_root, received_ms)
                 VALUES ($1, $2, $3, $4, 'signal', $5, $6)",
            )
            .bind(i as i64)
            .bind(leaf_hash(&leaf).as_bytes().to_vec())
            .bind(leaf.clone())
            .bind(*source)
            .bind(root.as_bytes().to_vec())
            .bind(1_764_000_000_000 + i as i64)
            .execute(&$pool)
            .await
            .unwrap();
        }
    };
}

async fn continue_the_chain(store: Store) {
    store.init_log(ORIGIN).await.unwrap();
    let alpha = store
        .chain_window("alpha", &ChainQuery::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (alpha.head.seq, alpha.first_chained),
        (1, None),
        "numbered, not chained"
    );
    let beta = store.chain("beta", 0, 0).await.unwrap();
    assert_eq!((beta.len(), beta[0].index), (1, 1));
    let last_v1 = store.record(2).await.unwrap().unwrap();

    let next = provlog_store::testing::new_record(ORIGIN, "alpha", 9, vec![], false);
    let SequenceOutcome::New(done) = store.sequence(&[next], None).await.unwrap() else {
        panic!("a new batch");
    };
    assert_eq!(done[0].index, 3);
    let stored = store.record(3).await.unwrap().unwrap();
    let r = Record::from_canonical_bytes(&stored.leaf).unwrap();
    assert_eq!(
        (r.v, r.seq, r.prev),
        (FormatVersion::V2, Some(2), Some(last_v1.leaf_hash))
    );
    assert_eq!(last_v1.leaf_hash, leaf_hash(&last_v1.leaf));
    let alpha = store
        .chain_window("alpha", &ChainQuery::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((alpha.head.seq, alpha.first_chained), (2, Some(2)));
}

#[sqlx::test(migrations = false)]
async fn postgres(pool: sqlx::PgPool) {
    before_chains(&provlog_store::postgres::MIGRATOR)
        .run(&pool)
        .await
        .unwrap();
    write_history!(pool);
    provlog_store::postgres::MIGRATOR.run(&pool).await.unwrap();
    continue_the_chain(Store::postgres(pool)).await;
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("v1.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    before_chains(&provlog_store::sqlite::MIGRATOR)
        .run(&pool)
        .await
        .unwrap();
    write_history!(pool);
    provlog_store::sqlite::MIGRATOR.run(&pool).await.unwrap();
    pool.close().await;
    let store = Store::connect(&url, 2, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    continue_the_chain(store).await;
}
