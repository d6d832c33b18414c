//! Trust state against a real PostgreSQL: the nonce store, key rotation and revocation, and the
//! audit trail written with each change.
#![allow(clippy::unwrap_used)]

use provlog_store::{Change, NewApiKey, SourceSettings, Store};
use sqlx::PgPool;

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

#[sqlx::test(migrator = "provlog_store::postgres::MIGRATOR")]
async fn nonces_are_used_once_and_purged_after_their_window(pool: PgPool) {
    let store = Store::postgres(pool);
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

#[sqlx::test(migrator = "provlog_store::postgres::MIGRATOR")]
async fn keys_rotate_and_revoke_with_their_audit_events(pool: PgPool) {
    let store = Store::postgres(pool);
    assert!(!store.has_admin_key().await.unwrap());
    assert_eq!(
        store
            .bootstrap_admin_key(&key("aaaaaaaaaaaa", "admin", None))
            .await
            .unwrap(),
        Change::Done(())
    );
    assert!(store.has_admin_key().await.unwrap());
    assert!(matches!(
        store
            .bootstrap_admin_key(&key("bbbbbbbbbbbb", "admin", None))
            .await
            .unwrap(),
        Change::Conflict(_)
    ));
    // An ingest key needs a registered source.
    assert_eq!(
        store
            .create_api_key(&key("cccccccccccc", "ingest", Some("acme")), "aaaaaaaaaaaa")
            .await
            .unwrap(),
        Change::NotFound
    );
    let settings = SourceSettings {
        display_name: "ACME".into(),
        schema: Some(r#"{"type":"object"}"#.into()),
        schema_policy: "flag".into(),
        require_signature: false,
    };
    assert_eq!(
        store
            .create_source("acme", &settings, "aaaaaaaaaaaa", "{}")
            .await
            .unwrap(),
        Change::Done(())
    );
    assert!(matches!(
        store
            .create_source("acme", &settings, "aaaaaaaaaaaa", "{}")
            .await
            .unwrap(),
        Change::Conflict(_)
    ));
    assert_eq!(
        store
            .create_api_key(&key("cccccccccccc", "ingest", Some("acme")), "aaaaaaaaaaaa")
            .await
            .unwrap(),
        Change::Done(())
    );
    let Change::Done(old) = store
        .rotate_api_key(
            "cccccccccccc",
            &key("dddddddddddd", "admin", None),
            60_000,
            "aaaaaaaaaaaa",
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
            "aaaaaaaaaaaa",
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
    assert!(matches!(
        store
            .revoke_api_key("cccccccccccc", "aaaaaaaaaaaa")
            .await
            .unwrap(),
        Change::Done(_)
    ));
    assert!(matches!(
        store
            .revoke_api_key("cccccccccccc", "aaaaaaaaaaaa")
            .await
            .unwrap(),
        Change::Conflict(_)
    ));
    assert!(matches!(
        store
            .rotate_api_key(
                "cccccccccccc",
                &key("ffffffffffff", "ingest", None),
                0,
                "aaaaaaaaaaaa"
            )
            .await
            .unwrap(),
        Change::Conflict(_)
    ));
    assert_eq!(
        store
            .revoke_api_key("nonexistent0", "aaaaaaaaaaaa")
            .await
            .unwrap(),
        Change::NotFound
    );

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
    let source = store.source("acme").await.unwrap().unwrap();
    assert_eq!(source.schema.as_deref(), Some(r#"{"type": "object"}"#));
}
