//! Trust state on both backends (see `backends`): the nonce store, key rotation and
//! revocation, sources and their keys, and the audit trail written with each change.
#![allow(clippy::unwrap_used)]

mod backends;

use ed25519_dalek::SigningKey;
use provlog_core::record::{KeyId, LogOrigin, Record, SourceId};
use provlog_core::registry::{prove_possession, RegistryEvent, SourceHistory};
use provlog_store::{Change, NewApiKey, SourceChange, SourceSettings, Store, StoreError};
use sqlx::{Connection, Executor, SqliteConnection};

backends::on_both_backends!(
    nonces_are_used_once_and_purged_after_their_window,
    keys_rotate_and_revoke_with_their_audit_events,
    sources_keep_their_settings_and_keys,
);

const ORIGIN: &str = "example.com/provlog/trust-test";

fn key(id: &str, scope: &str, source: Option<&str>) -> NewApiKey {
    NewApiKey {
        id: id.into(),
        key_hash: [7; 32],
        scope: scope.into(),
        source: source.map(String::from),
        label: String::new(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn nonces_are_used_once_and_purged_after_their_window(store: Store) {
    let later = now_ms() + 300_000;
    assert!(store
        .use_nonce("acme", "k1", "nonce-0001", later)
        .await
        .unwrap());
    assert!(!store
        .use_nonce("acme", "k1", "nonce-0001", later)
        .await
        .unwrap());
    // Per source and key.
    assert!(store
        .use_nonce("acme", "k2", "nonce-0001", later)
        .await
        .unwrap());
    assert!(store
        .use_nonce("other", "k1", "nonce-0001", later)
        .await
        .unwrap());
    // An entry whose window has passed goes; the others stay (and still refuse replays).
    assert!(store
        .use_nonce("acme", "k1", "nonce-old", now_ms() - 1_000)
        .await
        .unwrap());
    assert_eq!(store.purge_nonces().await.unwrap(), 1);
    assert!(!store
        .use_nonce("acme", "k1", "nonce-0001", later)
        .await
        .unwrap());
}

async fn keys_rotate_and_revoke_with_their_audit_events(store: Store) {
    store.init_log(ORIGIN).await.unwrap();
    bootstrap_then_an_ingest_key(&store).await;
    rotate_then_revoke(&store).await;
    let events = store.audit_events(None, 100).await.unwrap();
    let trail: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            ("bootstrap", "key.created", "aaaaaaaaaaaa"),
            ("aaaaaaaaaaaa", "source.created", "acme"),
            ("aaaaaaaaaaaa", "key.created", "cccccccccccc"),
            ("aaaaaaaaaaaa", "key.rotated", "cccccccccccc"),
            ("aaaaaaaaaaaa", "key.rotated", "cccccccccccc"),
            ("aaaaaaaaaaaa", "key.revoked", "cccccccccccc"),
        ]
    );
    let page = store.audit_events(Some(events[1].id), 2).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.id).collect::<Vec<_>>(),
        [events[2].id, events[3].id]
    );
    // The schema comes back as the same JSON (each backend formats its text its own way).
    let source = store.source("acme").await.unwrap().unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(source.schema.as_deref().unwrap()).unwrap();
    assert_eq!(schema, serde_json::json!({"type": "object"}));
}

/// What a change came to, without what it returned.
fn outcome<T>(change: Result<Change<T>, StoreError>) -> &'static str {
    match change.unwrap() {
        Change::Done(_) => "done",
        Change::NotFound => "not found",
        Change::Conflict(_) => "conflict",
    }
}

const ADMIN: &str = "aaaaaaaaaaaa";

/// The admin key (once), the source `acme` and its ingest key `cccccccccccc`.
async fn bootstrap_then_an_ingest_key(store: &Store) {
    assert!(!store.has_admin_key().await.unwrap());
    let admin = key(ADMIN, "admin", None);
    assert_eq!(outcome(store.bootstrap_admin_key(&admin).await), "done");
    assert!(store.has_admin_key().await.unwrap());
    let second = key("bbbbbbbbbbbb", "admin", None);
    assert_eq!(
        outcome(store.bootstrap_admin_key(&second).await),
        "conflict"
    );
    // An ingest key needs a registered source.
    let ingest = key("cccccccccccc", "ingest", Some("acme"));
    assert_eq!(
        outcome(store.create_api_key(&ingest, ADMIN).await),
        "not found"
    );
    let settings = SourceSettings {
        display_name: "ACME".into(),
        schema: Some(r#"{"type":"object"}"#.into()),
        schema_policy: "flag".into(),
        require_signature: false,
    };
    let create = || store.change_source(SourceChange::Create("acme", &settings), ADMIN);
    assert_eq!(outcome(create().await), "done");
    assert_eq!(outcome(create().await), "conflict");
    assert_eq!(outcome(store.create_api_key(&ingest, ADMIN).await), "done");
}

/// Rotates `cccccccccccc` (twice), then revokes it.
async fn rotate_then_revoke(store: &Store) {
    let Change::Done(old) = store
        .rotate_api_key(
            "cccccccccccc",
            &key("dddddddddddd", "admin", None),
            60_000,
            ADMIN,
        )
        .await
        .unwrap()
    else {
        panic!("rotation refused")
    };
    let expires = old.expires_ms.unwrap();
    assert!(
        expires > now_ms() && expires <= now_ms() + 60_000,
        "{expires}"
    );
    // The successor inherits scope and source, whatever the request said.
    let new = store.api_key("dddddddddddd").await.unwrap().unwrap();
    assert_eq!(
        (
            new.scope.as_str(),
            new.source.as_deref(),
            new.replaces.as_deref()
        ),
        ("ingest", Some("acme"), Some("cccccccccccc"))
    );
    // A second rotation never extends the overlap.
    store
        .rotate_api_key(
            "cccccccccccc",
            &key("eeeeeeeeeeee", "ingest", None),
            3_600_000,
            ADMIN,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .api_key("cccccccccccc")
            .await
            .unwrap()
            .unwrap()
            .expires_ms,
        Some(expires)
    );
    let revoke = |id| store.revoke_api_key(id, ADMIN);
    assert_eq!(outcome(revoke("cccccccccccc").await), "done");
    assert_eq!(outcome(revoke("cccccccccccc").await), "conflict");
    let late = key("ffffffffffff", "ingest", None);
    let rotate_revoked = store.rotate_api_key("cccccccccccc", &late, 0, ADMIN).await;
    assert_eq!(outcome(rotate_revoked), "conflict");
    assert_eq!(outcome(revoke("nonexistent0").await), "not found");
}

async fn sources_keep_their_settings_and_keys(store: Store) {
    store.init_log(ORIGIN).await.unwrap();
    let flag = SourceSettings {
        display_name: "Zeta".into(),
        schema: Some(r#"{"type": "object", "required": ["token"]}"#.into()),
        schema_policy: "flag".into(),
        require_signature: true,
    };
    let plain = SourceSettings {
        display_name: "Alpha".into(),
        schema: None,
        schema_policy: "reject".into(),
        require_signature: false,
    };
    let change = |change| store.change_source(change, "admin");
    let add_key = |key_id, public_key, proof| {
        change(SourceChange::AddKey {
            source: "zeta",
            key_id,
            public_key,
            proof,
        })
    };
    let retire = SourceChange::RetireKey {
        source: "zeta",
        key_id: "k1",
    };
    for (id, settings) in [("zeta", &flag), ("alpha", &plain)] {
        assert_eq!(
            outcome(change(SourceChange::Create(id, settings)).await),
            "done"
        );
    }
    let nobody = SourceChange::AddKey {
        source: "nobody",
        key_id: "k1",
        public_key: &[1; 32],
        proof: &[0; 64],
    };
    assert_eq!(outcome(change(nobody).await), "not found");
    // Keys come back in the order they were added, whatever their ids.
    let keys = [("k2", 2), ("k1", 1), ("k3", 3)].map(|(key_id, seed)| {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let (origin, source) = (
            LogOrigin::new(ORIGIN).unwrap(),
            SourceId::new("zeta").unwrap(),
        );
        let proof = prove_possession(&key, &origin, &source, &KeyId::new(key_id).unwrap());
        (key_id, key.verifying_key().to_bytes(), proof.unwrap())
    });
    for (key_id, public_key, proof) in &keys {
        assert_eq!(outcome(add_key(key_id, public_key, proof).await), "done");
    }
    assert_eq!(outcome(add_key("k1", &[9; 32], &[9; 64]).await), "conflict");
    assert_eq!(outcome(change(retire).await), "done");
    assert_eq!(outcome(change(retire).await), "not found");

    let zeta = store.source("zeta").await.unwrap().unwrap();
    assert_eq!(
        zeta.keys
            .iter()
            .map(|k| (k.key_id.as_str(), k.public_key, k.revoked_ms.is_some()))
            .collect::<Vec<_>>(),
        [
            ("k2", keys[0].1, false),
            ("k1", keys[1].1, true),
            ("k3", keys[2].1, false)
        ]
    );
    assert!(zeta.require_signature);
    assert_eq!(zeta.schema_policy, "flag");
    assert!(zeta.updated_ms >= zeta.created_ms);
    let revoked = zeta.keys[1].revoked_ms.unwrap();
    assert!((revoked - now_ms()).abs() < 60_000, "{revoked}");

    let update = |id| change(SourceChange::Update(id, &plain));
    assert_eq!(outcome(update("zeta").await), "done");
    assert_eq!(outcome(update("nobody").await), "not found");
    let all = store.sources().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|s| (s.id.as_str(), s.display_name.as_str(), s.schema.is_none()))
            .collect::<Vec<_>>(),
        [("alpha", "Alpha", true), ("zeta", "Alpha", true)]
    );
    assert_eq!(all[1].keys.len(), 3, "changing settings keeps the keys");
    assert!(store.source("nobody").await.unwrap().is_none());

    // Each change that was done is one registry record, in the order of the changes; the
    // refused ones are none.
    let store = &store;
    let logged = |source| async move {
        let rows = store.registry(Some(source)).await.unwrap();
        rows.iter()
            .map(|r| {
                assert_eq!(r.source, source);
                let record = Record::from_canonical_bytes(&r.leaf).unwrap();
                (r.index, record, r.item.clone())
            })
            .collect::<Vec<_>>()
    };
    let zeta = logged("zeta").await;
    let events: Vec<String> = zeta
        .iter()
        .map(|(_, _, item)| RegistryEvent::from_item(item).unwrap().to_string())
        .collect();
    assert_eq!(
        events,
        [
            "source-registered",
            "key-added k2",
            "key-added k1",
            "key-added k3",
            "key-retired k1",
            "settings-changed"
        ]
    );
    let history = SourceHistory::fold(zeta.iter().map(|(i, r, b)| (*i, r, b.as_slice())))
        .unwrap()
        .unwrap();
    assert_eq!(history.origin.as_str(), ORIGIN);
    assert_eq!(
        history.keys[1].retired.unwrap().leaf_index,
        history.leaves[4]
    );
    assert_eq!(history.settings.schema_sha256, None);
    let alpha = logged("alpha").await;
    assert_eq!(alpha.len(), 1);
    assert_eq!(store.registry(None).await.unwrap().len(), 7);
    // The registry records are log records: dense indexes 0..7, as a batch would have had.
    let mut indexes: Vec<u64> = zeta.iter().chain(&alpha).map(|r| r.0).collect();
    indexes.sort();
    assert_eq!(indexes, (0..7).collect::<Vec<_>>());

    let events = store.audit_events(None, 100).await.unwrap();
    let added: Vec<serde_json::Value> = events
        .iter()
        .filter(|e| e.action == "source.key_added")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect();
    assert_eq!(
        added,
        [
            serde_json::json!({"key_id": "k2"}),
            serde_json::json!({"key_id": "k1"}),
            serde_json::json!({"key_id": "k3"})
        ]
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "source.key_revoked")
            .count(),
        1
    );
}

/// The audit insert is refused (a trigger the test adds): the change is not stored either.
async fn an_admin_change_and_its_audit_event_commit_together(
    store: &Store,
    refuse_audit: &str,
    allow_audit: &str,
    run: impl AsyncFn(&str),
) {
    let settings = SourceSettings {
        display_name: "ACME".into(),
        schema: None,
        schema_policy: "flag".into(),
        require_signature: false,
    };
    store.init_log(ORIGIN).await.unwrap();
    let create = || store.change_source(SourceChange::Create("acme", &settings), "admin");
    run(refuse_audit).await;
    assert!(create().await.is_err());
    assert!(store.source("acme").await.unwrap().is_none());
    assert!(store.audit_events(None, 10).await.unwrap().is_empty());
    // Nor is its registry record, whose index goes back too.
    assert!(store.registry(None).await.unwrap().is_empty());
    run(allow_audit).await;
    // A schema that is not JSON is refused by the database too.
    let broken = SourceSettings {
        schema: Some("{\"type\":".into()),
        ..settings.clone()
    };
    let refused = store.change_source(SourceChange::Create("acme", &broken), "admin");
    assert!(refused.await.is_err());
    assert_eq!(outcome(create().await), "done");
    let logged = store.registry(None).await.unwrap();
    assert_eq!(logged.iter().map(|r| r.index).collect::<Vec<_>>(), [0]);
    let events = store.audit_events(None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&events[0].detail).unwrap(),
        serde_json::json!({
            "display_name": "ACME",
            "schema": false,
            "schema_policy": "flag",
            "require_signature": false,
        })
    );
}

#[sqlx::test(migrator = "provlog_store::postgres::MIGRATOR")]
async fn postgres_an_admin_change_and_its_audit_event_commit_together(pool: sqlx::PgPool) {
    let store = Store::postgres(pool.clone());
    an_admin_change_and_its_audit_event_commit_together(
        &store,
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END; $$
             LANGUAGE plpgsql;
         CREATE TRIGGER refuse BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse()",
        "DROP TRIGGER refuse ON audit_events",
        async |sql| {
            pool.execute(sql).await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn sqlite_an_admin_change_and_its_audit_event_commit_together() {
    let db = backends::sqlite().await;
    let url = format!("sqlite://{}", db.path.display());
    an_admin_change_and_its_audit_event_commit_together(
        &db.store,
        "CREATE TRIGGER refuse BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'refused'); END",
        "DROP TRIGGER refuse",
        async |sql| {
            let mut conn = SqliteConnection::connect(&url).await.unwrap();
            conn.execute(sql).await.unwrap();
        },
    )
    .await;
}

/// Sources registered before registry records existed (written here straight into the tables)
/// get theirs when the log is bound, once, with their keys and retirements; a source that has
/// its records gets none.
async fn sources_registered_before_the_registry_was_logged_are_backfilled_once(
    store: &Store,
    insert_old_source: &str,
    run: impl AsyncFn(&str),
) {
    store.init_log(ORIGIN).await.unwrap();
    let settings = SourceSettings {
        display_name: "New".into(),
        schema: None,
        schema_policy: "reject".into(),
        require_signature: false,
    };
    let create = store.change_source(SourceChange::Create("new", &settings), "admin");
    assert_eq!(outcome(create.await), "done");
    run(insert_old_source).await;
    for _ in 0..2 {
        store.init_log(ORIGIN).await.unwrap();
    }
    let rows = store.registry(None).await.unwrap();
    let of = |source: &str| {
        rows.iter()
            .filter(|r| r.source == source)
            .map(|r| RegistryEvent::from_item(&r.item).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(of("new").len(), 1);
    let old = of("old");
    assert_eq!(
        old.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "source-registered",
            "key-added k1",
            "key-added k2",
            "key-retired k1"
        ]
    );
    assert!(matches!(
        &old[1],
        RegistryEvent::KeyAdded { public_key, proof: None, .. } if public_key == &[1; 32]
    ));
    assert!(matches!(
        &old[0],
        RegistryEvent::SourceRegistered {
            require_signature: true,
            ..
        }
    ));
    let events = store.audit_events(None, 10).await.unwrap();
    let backfilled: Vec<_> = events
        .iter()
        .filter(|e| e.action == "source.registry_logged")
        .map(|e| (e.actor.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(backfilled, [("migration", "old")]);
}

#[sqlx::test(migrator = "provlog_store::postgres::MIGRATOR")]
async fn postgres_sources_registered_before_the_registry_was_logged_are_backfilled_once(
    pool: sqlx::PgPool,
) {
    let store = Store::postgres(pool.clone());
    sources_registered_before_the_registry_was_logged_are_backfilled_once(
        &store,
        "INSERT INTO sources (id, display_name, schema_policy, require_signature)
             VALUES ('old', 'Old', 'flag', true);
         INSERT INTO source_keys (source, key_id, public_key, created_at, revoked_at) VALUES
             ('old', 'k1', decode(repeat('01', 32), 'hex'), now() - interval '2 days', now()),
             ('old', 'k2', decode(repeat('02', 32), 'hex'), now() - interval '1 day', NULL)",
        async |sql| {
            pool.execute(sql).await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn sqlite_sources_registered_before_the_registry_was_logged_are_backfilled_once() {
    let db = backends::sqlite().await;
    let url = format!("sqlite://{}", db.path.display());
    sources_registered_before_the_registry_was_logged_are_backfilled_once(
        &db.store,
        "INSERT INTO sources (id, display_name, schema_policy, require_signature)
             VALUES ('old', 'Old', 'flag', 1);
         INSERT INTO source_keys (source, key_id, public_key, created_at, revoked_at) VALUES
             ('old', 'k1', X'0101010101010101010101010101010101010101010101010101010101010101', 1000, 3000),
             ('old', 'k2', X'0202020202020202020202020202020202020202020202020202020202020202', 2000, NULL)",
        async |sql| {
            let mut conn = SqliteConnection::connect(&url).await.unwrap();
            conn.execute(sql).await.unwrap();
        },
    )
    .await;
}
