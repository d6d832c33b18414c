//! What only the SQLite backend has to show: a real file shared by several handles, reopening,
//! the write lock and its timeout, the one-process rule, the schema's own refusals, and how
//! `Store::connect` reads URLs.
#![allow(clippy::unwrap_used)]

mod backends;

use std::fs::OpenOptions;
use std::io::Write as _;
use std::time::{Duration, Instant};

use provlog_core::log::{self, MemoryLog};
use provlog_core::{leaf_hash, Hash};
use provlog_store::{NewRecord, SequenceOutcome, Store, StoreError, LEADER_LEASE};
use sqlx::{Connection, SqliteConnection};

const ORIGIN: &str = "example.com/provlog/sqlite-test";

fn record(i: u64) -> NewRecord {
    provlog_store::testing::new_record(ORIGIN, "laptop", i, vec![], false)
}

fn indexes(outcome: SequenceOutcome) -> Vec<u64> {
    match outcome {
        SequenceOutcome::New(v) => v.into_iter().map(|s| s.index).collect(),
        SequenceOutcome::Replayed(_) => panic!("expected a new batch"),
    }
}

/// A raw connection to the file, beside the store: what another tool (or an attacker with
/// the file) would do.
async fn raw(db: &backends::TempSqlite) -> SqliteConnection {
    SqliteConnection::connect(&format!("sqlite://{}", db.path.display()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_file_sequence_densely() {
    let db = backends::sqlite().await;
    db.store.init_log(ORIGIN).await.unwrap();
    // A second handle with its own pool: its connections contend with the first's for the
    // file's write lock, as two sequencers would.
    let other = Store::connect(
        &format!("sqlite://{}", db.path.display()),
        4,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let mut tasks = vec![];
    for t in 0..8u64 {
        let s = if t % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let batch: Vec<NewRecord> = (0..25).map(|i| record(t * 100 + i)).collect();
            indexes(s.sequence(&batch, None).await.unwrap())
        }));
    }
    let mut all = vec![];
    for t in tasks {
        let got = t.await.unwrap();
        assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "{got:?}");
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..200).collect::<Vec<_>>());
    assert_eq!(other.sizes().await.unwrap().sequenced, 200);
    // Both handles see one log.
    assert_eq!(db.store.leaves(0, 200).await.unwrap().len(), 200);
}

#[tokio::test]
async fn a_reopened_file_keeps_its_log() {
    let backends::TempSqlite { store, path, dir } = backends::sqlite().await;
    // Only the handles below have the file open.
    drop(store);
    let url = format!("sqlite://{}", path.display());
    let mut mem = MemoryLog::new();
    {
        let s = Store::connect(&url, 2, Duration::from_secs(5))
            .await
            .unwrap();
        s.init_log(ORIGIN).await.unwrap();
        let batch: Vec<NewRecord> = (0..10).map(record).collect();
        s.sequence(&batch, Some(("first", Hash::sha256(b"first"))))
            .await
            .unwrap();
        for i in 0..10 {
            mem.append(&s.record(i).await.unwrap().unwrap().leaf);
        }
        assert!(s
            .acquire_lease(LEADER_LEASE, "a", Duration::from_secs(30))
            .await
            .unwrap());
        assert_eq!(s.integrate("a", 100).await.unwrap(), Some(10));
        s.store_checkpoint("a", 10, &mem.root(), "note 10")
            .await
            .unwrap();
        s.release_lease(LEADER_LEASE, "a").await.unwrap();
    }

    let s = Store::connect(
        &format!("sqlite:{}", path.display()),
        2,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    // Migrating again is a no-op; the file still belongs to its log.
    s.migrate().await.unwrap();
    s.init_log(ORIGIN).await.unwrap();
    assert!(matches!(
        s.init_log("other.example/log").await,
        Err(StoreError::WrongLog { .. })
    ));
    assert_eq!(
        s.latest_checkpoint().await.unwrap().unwrap().root,
        mem.root()
    );
    let mut first = vec![];
    for i in 0..10 {
        first.push(provlog_store::Sequenced {
            index: i,
            leaf_hash: s.record(i).await.unwrap().unwrap().leaf_hash,
            content_root: record(i).content_root,
        });
    }
    assert_eq!(
        s.sequence(
            &(0..10).map(record).collect::<Vec<_>>(),
            Some(("first", Hash::sha256(b"first")))
        )
        .await
        .unwrap(),
        SequenceOutcome::Replayed(first)
    );
    // The log goes on where it stopped, over the stored frontier.
    let more: Vec<NewRecord> = (10..13).map(record).collect();
    assert_eq!(
        indexes(s.sequence(&more, None).await.unwrap()),
        [10, 11, 12]
    );
    for i in 10..13 {
        mem.append(&s.record(i).await.unwrap().unwrap().leaf);
    }
    assert!(s
        .acquire_lease(LEADER_LEASE, "b", Duration::from_secs(30))
        .await
        .unwrap());
    assert_eq!(s.integrate("b", 100).await.unwrap(), Some(13));
    let plan = log::root_plan(13).unwrap();
    let fetched =
        log::FetchedNodes::new(plan.iter().copied().zip(s.read_nodes(&plan).await.unwrap()));
    assert_eq!(log::tree_root(13, &fetched).unwrap(), mem.root());
    drop(dir);
}

#[tokio::test]
async fn a_writer_waits_for_the_lock_and_gives_up_as_unavailable() {
    let db = backends::sqlite().await;
    db.store.init_log(ORIGIN).await.unwrap();
    let mut holder = raw(&db).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    // Released within the busy timeout: the sequencer waited, then went through.
    let started = Instant::now();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        holder
    });
    assert_eq!(
        indexes(db.store.sequence(&[record(0)], None).await.unwrap()),
        [0]
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    let mut holder = release.await.unwrap();

    // Held past the busy timeout: the error is "unavailable" (a 503 with Retry-After), and
    // the failed batch took no index.
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let err = db.store.sequence(&[record(1)], None).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    assert_eq!(
        indexes(db.store.sequence(&[record(1)], None).await.unwrap()),
        [1]
    );
}

#[tokio::test]
async fn the_audit_trail_refuses_update_and_delete() {
    let db = backends::sqlite().await;
    let settings = provlog_store::SourceSettings {
        display_name: "ACME".into(),
        schema: None,
        schema_policy: "flag".into(),
        require_signature: false,
    };
    db.store.init_log(ORIGIN).await.unwrap();
    let create = provlog_store::SourceChange::Create("acme", &settings);
    db.store.change_source(create, "admin").await.unwrap();
    let mut conn = raw(&db).await;
    for sql in [
        "UPDATE audit_events SET actor = 'someone-else'",
        "DELETE FROM audit_events WHERE id = 1",
        "DELETE FROM audit_events",
    ] {
        let err = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let events = db.store.audit_events(None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "admin");
}

#[tokio::test]
async fn the_schema_refuses_what_postgresql_refuses() {
    let db = backends::sqlite().await;
    db.store.init_log(ORIGIN).await.unwrap();
    indexes(db.store.sequence(&[record(0)], None).await.unwrap());
    assert!(db
        .store
        .acquire_lease(LEADER_LEASE, "a", Duration::from_secs(30))
        .await
        .unwrap());
    db.store.integrate("a", 10).await.unwrap();
    let mut conn = raw(&db).await;
    for sql in [
        // A stored hash is never rewritten.
        "INSERT INTO nodes (idx, hash) VALUES (0, zeroblob(32))",
        // STRICT: text in a BLOB column, like a hash given as hex.
        "INSERT INTO nodes (idx, hash) VALUES (5, 'ab')",
        // CHECKs.
        "INSERT INTO nodes (idx, hash) VALUES (6, zeroblob(31))",
        "INSERT INTO nodes (idx, hash) VALUES (-1, zeroblob(32))",
        "UPDATE log_state SET next_index = -1",
        "INSERT INTO log_state (id, origin) VALUES (2, 'x')",
        "INSERT INTO records
             (idx, leaf_hash, leaf, source, kind, content_root, received_ms, format, source_seq)
         VALUES (9, zeroblob(32), x'00', 's', 'poem', zeroblob(32), 0, 2, 0)",
        // A source's sequence numbers are unique.
        "INSERT INTO records
             (idx, leaf_hash, leaf, source, kind, content_root, received_ms, format, source_seq)
         VALUES (9, zeroblob(32), x'00', 'laptop', 'signal', zeroblob(32), 0, 2, 0)",
        "INSERT INTO api_keys (id, key_hash, scope) VALUES ('k', zeroblob(32), 'ingest')",
        "INSERT INTO sources (id, display_name, schema, schema_policy) VALUES ('s', 'S', '{', 'flag')",
        // Foreign keys are on.
        "INSERT INTO record_parents (child, parent) VALUES (0, 99)",
    ] {
        assert!(
            sqlx::query(sql).execute(&mut conn).await.is_err(),
            "accepted: {sql}"
        );
    }
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
}

#[tokio::test]
async fn another_process_on_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("provlog.db");
    // Another process holds the lock beside the database (here: a second open file
    // description, which an OS lock treats as another owner), and wrote its pid.
    let mut other = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(dir.path().join("provlog.db.lock"))
        .unwrap();
    other.try_lock().unwrap();
    write!(other, "4242").unwrap();
    let err = Store::sqlite(&path, 2, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SqliteInUse { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("pid 4242"), "{message}");
    assert!(message.contains("PostgreSQL"), "{message}");
    assert!(!path.exists(), "nothing was created");
    // Once it is gone, the file opens, and a second handle of this process shares the lock.
    drop(other);
    let first = Store::sqlite(&path, 2, Duration::from_secs(5))
        .await
        .unwrap();
    let url = format!("sqlite://{}", path.display());
    let second = Store::connect(&url, 2, Duration::from_secs(5))
        .await
        .unwrap();
    first.migrate().await.unwrap();
    second.init_log(ORIGIN).await.unwrap();
    let pid = std::fs::read_to_string(dir.path().join("provlog.db.lock")).unwrap();
    assert_eq!(pid, std::process::id().to_string());
    // While this process has it open, another one is refused.
    let probe = OpenOptions::new()
        .write(true)
        .open(dir.path().join("provlog.db.lock"))
        .unwrap();
    assert!(probe.try_lock().is_err());
    drop((first, second));
    assert!(
        probe.try_lock().is_ok(),
        "the lock goes with the last handle"
    );
}

#[tokio::test]
async fn urls_pick_the_backend_or_say_why_not() {
    for (url, expected) in [
        ("mysql://root:hunter2@db/provlog", "scheme \"mysql\""),
        ("/var/lib/provlog.db", "no scheme"),
        ("provlog.db", "no scheme"),
    ] {
        let err = Store::connect(url, 1, Duration::from_secs(1))
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, StoreError::UnsupportedUrl(_)),
            "{url}: {message}"
        );
        assert!(message.contains(expected), "{url}: {message}");
        assert!(message.contains("postgres://"), "{message}");
        assert!(!message.contains("hunter2"), "a password in {message}");
    }
    // A missing directory is named, not a bare SQLite error code.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere").join("provlog.db");
    let err = Store::connect(
        &format!("sqlite://{}", missing.display()),
        1,
        Duration::from_secs(1),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::SqliteFile { .. }), "{err}");
    assert!(err.to_string().contains("nowhere"), "{err}");

    // sqlite::memory: works, for one handle.
    let s = Store::connect("sqlite::memory:", 4, Duration::from_secs(1))
        .await
        .unwrap();
    s.migrate().await.unwrap();
    s.init_log(ORIGIN).await.unwrap();
    assert_eq!(
        indexes(s.sequence(&[record(0), record(1)], None).await.unwrap()),
        [0, 1]
    );
    let stored = s.record(1).await.unwrap().unwrap();
    assert_eq!(stored.leaf_hash, leaf_hash(&stored.leaf));
}

/// Items stored before their leaf hash was (SQLite's migration cannot compute SHA-256) get it
/// when the log is bound, and are then found by it.
#[tokio::test]
async fn items_stored_without_their_leaf_hash_get_it_when_the_log_is_bound() {
    let db = backends::sqlite().await;
    db.store.init_log(ORIGIN).await.unwrap();
    let mut snapshot = provlog_store::testing::new_record(ORIGIN, "laptop", 1, vec![], true);
    snapshot.items = vec![b"row a".to_vec(), b"row b".to_vec()];
    db.store.sequence(&[snapshot], None).await.unwrap();
    let mut conn = raw(&db).await;
    sqlx::query("UPDATE snapshot_items SET leaf_hash = NULL")
        .execute(&mut conn)
        .await
        .unwrap();
    let row_b = leaf_hash(b"row b");
    let find = || db.store.items_with_leaf_hash(&row_b, None, 10);
    assert!(find().await.unwrap().is_empty());
    db.store.init_log(ORIGIN).await.unwrap();
    let found = find().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].0, found[0].1), (0, 1));
}
