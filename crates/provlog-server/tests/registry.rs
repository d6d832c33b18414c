//! The source registry as records of the log, through the router on both backends: each admin
//! change is one registry record, a new key needs its proof of possession, and the public
//! `GET /v1/sources` states what the records state, each provable with its receipt; and a
//! snapshot row (or a registry event) is found by its leaf hash (`GET /v1/items`).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{expect_problem, on_both_backends, setup, ORIGIN};
use ed25519_dalek::SigningKey;
use provlog_client::SourceSigner;
use provlog_core::evidence::{verify_source_evidence, SourceEvidence};
use provlog_core::leaf_hash;
use provlog_core::receipt::{verify_receipt, Receipt};
use provlog_core::record::{canonicalize, Kind};
use provlog_core::registry::{schema_sha256, RegistryEvent};
use provlog_store::Store;
use serde_json::{json, Value};

on_both_backends!(
    each_registry_change_is_a_record_the_public_registry_states,
    a_key_is_added_only_with_its_proof_of_possession,
    a_signed_records_evidence_proves_its_key_from_the_registry,
    rows_are_found_by_their_leaf_hash,
);

fn signer(seed: u8, key_id: &str) -> SourceSigner {
    SourceSigner::new(SigningKey::from_bytes(&[seed; 32]), key_id).unwrap()
}

async fn each_registry_change_is_a_record_the_public_registry_states(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    let schema = json!({"type": "object", "required": ["token"]});
    let body = json!({"id": "oracle", "display_name": "Oracle", "schema": schema,
        "schema_policy": "flag"});
    api.source(&admin, body).await;
    let (k1, k2) = (signer(31, "k1"), signer(32, "k2"));
    api.add_source_key(&admin, "oracle", &k1).await;
    api.add_source_key(&admin, "oracle", &k2).await;
    let (s, v) = api
        .send(
            "DELETE",
            "/v1/admin/sources/oracle/keys/k1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let change = json!({"require_signature": true});
    let (s, v) = api
        .send(
            "PATCH",
            "/v1/admin/sources/oracle",
            Some(&admin),
            Some(&change),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(api.records().await, 5, "one record per change");

    // Public: no token needed.
    let (s, all) = api.send("GET", "/v1/sources", None, None).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    let (s, oracle) = api.send("GET", "/v1/sources/oracle", None, None).await;
    assert_eq!(s, StatusCode::OK, "{oracle}");
    assert_eq!(all, json!([oracle.clone()]));
    let leaf = |v: &Value| v["leaf_index"].as_u64().unwrap();
    assert_eq!(leaf(&oracle["registered"]), 0);
    assert_eq!(oracle["require_signature"], true);
    assert_eq!(oracle["schema_policy"], "flag");
    assert_eq!(leaf(&oracle["settings_stated"]), 4);
    let schema_hash = schema_sha256(&schema).unwrap();
    assert_eq!(oracle["schema_sha256"], schema_hash.to_base64());
    let keys = oracle["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["key_id"], "k1");
    assert_eq!(keys[0]["public_key"], k1.public_key_base64());
    assert_eq!(keys[0]["proven"], true);
    assert_eq!((leaf(&keys[0]["added"]), leaf(&keys[0]["retired"])), (1, 3));
    assert_eq!(leaf(&keys[1]["added"]), 2);
    assert_eq!(keys[1]["retired"], Value::Null);

    // Each statement is a record of the log: its receipt verifies, it is of kind source, and its
    // content root commits to the event shown.
    api.settle().await;
    let records = oracle["records"].as_array().unwrap();
    let events: Vec<&str> = records
        .iter()
        .map(|r| r["event"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "source-registered",
            "key-added",
            "key-added",
            "key-retired",
            "settings-changed"
        ]
    );
    for entry in records {
        let uri = format!("/v1/records/{}/receipt", leaf(entry));
        let (s, v) = api.send("GET", &uri, None, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let receipt: Receipt = serde_json::from_value(v).unwrap();
        let verified = verify_receipt(&receipt, &api.state.trusted).unwrap();
        assert_eq!(verified.record.kind, Kind::Source);
        assert_eq!(verified.record.source.as_str(), "oracle");
        let item = canonicalize(&entry["event"]).unwrap();
        assert_eq!(verified.record.content.root, leaf_hash(&item));
        RegistryEvent::from_item(&item).unwrap();
    }

    expect_problem(
        api.send("GET", "/v1/sources/nobody", None, None).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    // Only the log writes registry records.
    api.source(&admin, json!({"id": "plain", "display_name": "Plain"}))
        .await;
    let (_, ingest) = api.create_key(&admin, "ingest", Some("plain")).await;
    let event = json!({"event": "key-added", "key_id": "k3", "public_key": k2.public_key_base64(),
        "proof": null});
    let forged = json!({"kind": "source", "source": "plain", "payload": event});
    let v = expect_problem(
        api.write(&ingest, &forged).await,
        StatusCode::BAD_REQUEST,
        "invalid-record",
    );
    assert!(
        v["detail"].as_str().unwrap().contains("written by the log"),
        "{v}"
    );
}

async fn a_key_is_added_only_with_its_proof_of_possession(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    api.source(&admin, json!({"id": "oracle", "display_name": "Oracle"}))
        .await;
    let (key, other) = (signer(41, "k1"), signer(42, "k1"));
    let body = |proof: Value| json!({"key_id": "k1", "public_key": key.public_key_base64(), "proof": proof});
    let proof_for = |s: &SourceSigner, origin: &str, source: &str| {
        json!(s.prove_possession(origin, source).unwrap())
    };
    let keyed = signer(41, "k9");
    let before = api.records().await;
    for (what, body) in [
        ("for another source", body(proof_for(&key, ORIGIN, "other"))),
        (
            "for another log",
            body(proof_for(&key, "example.com/other", "oracle")),
        ),
        (
            "for another key id",
            body(proof_for(&keyed, ORIGIN, "oracle")),
        ),
        ("by another key", body(proof_for(&other, ORIGIN, "oracle"))),
        ("not 64 bytes", body(json!("AAAA"))),
        (
            "missing",
            json!({"key_id": "k1", "public_key": key.public_key_base64()}),
        ),
    ] {
        let v = expect_problem(
            api.send(
                "POST",
                "/v1/admin/sources/oracle/keys",
                Some(&admin),
                Some(&body),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "bad-request",
        );
        assert!(
            v["detail"].as_str().unwrap().contains("proof"),
            "{what}: {v}"
        );
    }
    assert_eq!(
        api.records().await,
        before,
        "a refused key is logged nowhere"
    );
    api.add_source_key(&admin, "oracle", &key).await;
    assert_eq!(api.records().await, before + 1);
}

async fn a_signed_records_evidence_proves_its_key_from_the_registry(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    api.source(&admin, json!({"id": "oracle", "display_name": "Oracle"}))
        .await; // leaf 0
    let k1 = signer(51, "k1");
    api.add_source_key(&admin, "oracle", &k1).await; // leaf 1
    let (_, ingest) = api.create_key(&admin, "ingest", Some("oracle")).await;
    let mut signed = json!({"kind": "signal", "source": "oracle", "payload": {"p": 1}});
    k1.sign_record(&mut signed).unwrap();
    let (s, v) = api.write(&ingest, &signed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let signed_id = v["records"][0]["id"].as_str().unwrap().to_string(); // leaf 2
    let (s, v) = api
        .write(
            &ingest,
            &json!({"kind": "signal", "source": "oracle", "payload": {"p": 2}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let unsigned_id = v["records"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = api
        .send(
            "DELETE",
            "/v1/admin/sources/oracle/keys/k1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    api.settle().await;

    let fetch = |id: String| {
        let api = &api;
        async move {
            let (s, v) = api
                .send("GET", &format!("/v1/records/{id}/evidence"), None, None)
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
            let evidence: Option<SourceEvidence> =
                serde_json::from_value(v["source_evidence"].clone()).unwrap();
            (receipt, evidence)
        }
    };
    let (receipt, source_evidence) = fetch(signed_id).await;
    let verified = verify_receipt(&receipt, &api.state.trusted).unwrap();
    let evidence = source_evidence.expect("a signed record has evidence");
    let key = verify_source_evidence(&verified, Some(&evidence), &api.state.trusted).unwrap();
    assert_eq!((key.key_id.as_str(), key.added.leaf_index), ("k1", 1));
    assert!(key.proven);
    assert_eq!(
        key.retired.map(|r| r.leaf_index),
        Some(4),
        "retired after the record"
    );
    // Both evidence receipts are at the record's checkpoint.
    assert_eq!(evidence.key_added.checkpoint, receipt.checkpoint);

    let (_, none) = fetch(unsigned_id).await;
    assert_eq!(none, None);
    expect_problem(
        api.send("GET", "/v1/records/99/evidence", None, None).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
}

async fn rows_are_found_by_their_leaf_hash(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    api.source(&admin, json!({"id": "grades", "display_name": "Grades"}))
        .await;
    let (_, ingest) = api.create_key(&admin, "ingest", Some("grades")).await;
    let row = json!({"token": "SOL", "grade": "B"});
    let mut ids = vec![];
    for items in [
        json!([{"token": "ETH"}, row.clone(), row.clone()]),
        json!([row.clone()]),
    ] {
        let body = json!({"kind": "snapshot", "source": "grades", "items": items});
        let (s, v) = api.write(&ingest, &body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["records"][0]["id"].as_str().unwrap().to_string());
    }
    let hash = leaf_hash(&canonicalize(&row).unwrap()).to_hex();
    let (s, page) = api
        .send("GET", &format!("/v1/items?leaf_hash={hash}"), None, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let at = |v: &Value| -> Vec<(String, u64)> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["record"].as_str().unwrap().to_string(),
                    i["item"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        at(&page),
        [
            (ids[0].clone(), 1),
            (ids[0].clone(), 2),
            (ids[1].clone(), 0)
        ]
    );
    assert_eq!(page["items"][0]["source"], "grades");
    assert_eq!(page["next"], Value::Null);
    // Pages end at a record: two of three fit, the second record's item is on the next page.
    let (_, first) = api
        .send(
            "GET",
            &format!("/v1/items?leaf_hash={hash}&limit=2"),
            None,
            None,
        )
        .await;
    assert_eq!(at(&first).len(), 2, "{first}");
    let next = first["next"].as_u64().unwrap();
    let (_, second) = api
        .send(
            "GET",
            &format!("/v1/items?leaf_hash={hash}&limit=2&after={next}"),
            None,
            None,
        )
        .await;
    assert_eq!(at(&second), [(ids[1].clone(), 0)]);
    // The source's registration event is item 0 of its registry record.
    let (_, grades) = api.send("GET", "/v1/sources/grades", None, None).await;
    let event = canonicalize(&grades["records"][0]["event"]).unwrap();
    let (_, found) = api
        .send(
            "GET",
            &format!("/v1/items?leaf_hash={}", leaf_hash(&event).to_hex()),
            None,
            None,
        )
        .await;
    assert_eq!(at(&found), [("0".to_string(), 0)]);
    expect_problem(
        api.send("GET", "/v1/items?leaf_hash=nope", None, None)
            .await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
}
