//! The API through the router (no socket): every route, and every error with its status and
//! problem `type`. Each test runs twice: `postgres::<test>` on a fresh PostgreSQL database,
//! `sqlite::<test>` on a fresh SQLite file, so the whole service is known to work on both.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::{expect_problem, get, on_both_backends, problem, setup, Api, ORIGIN, TOKEN};
use provlog_core::receipt::{verify_receipt, Receipt};
use provlog_store::Store;
use serde_json::{json, Value};

on_both_backends!(
    ingest_checkpoint_receipt_round_trip,
    tiles_reproduce_the_checkpoint_root,
    every_write_error_has_its_problem_type,
    read_errors_and_idempotency,
    writes_are_closed_without_a_token_and_push_back_when_behind,
    ndjson_snapshots_and_wait_for_receipts,
    concurrent_single_writes_are_grouped_yet_each_gets_its_own,
    errors_outside_the_handlers_are_problems_too,
    media_types_are_matched_exactly,
    admin_bodies_are_json_too,
);

fn post(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(body))
        .unwrap()
}

fn signal(token: &str) -> Value {
    json!({"kind": "signal", "source": "acme-signals", "payload": {"token": token, "signal": 1, "trader_grade": 71.5}})
}

async fn ingest_checkpoint_receipt_round_trip(store: Store) {
    let api = setup(store, |_| {}).await;
    let (status, ack) = api.post("/v1/records", &signal("ETH")).await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    assert_eq!(ack["records"][0]["index"], 0);
    let snapshot = json!({"kind": "snapshot", "source": "acme-grades",
        "items": [{"token": "BTC", "grade": 88}, {"token": "ETH", "grade": 81}, {"token": "SOL", "grade": 64}]});
    let digest = json!({"kind": "digest", "source": "acme-files",
        "content": {"alg": "sha256", "root": provlog_core::Hash::sha256(b"file").to_base64()}});
    let (status, ack) = api
        .post("/v1/records", &json!({"records": [snapshot, digest]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    assert_eq!(ack["records"][1]["index"], 2);

    // Not in a checkpoint yet.
    expect_problem(
        api.get("/v1/records/1/receipt").await,
        StatusCode::CONFLICT,
        "not-yet-included",
    );

    api.settle().await;
    let trusted = &api.state.trusted;
    for uri in [
        "/v1/records/0/receipt",
        "/v1/records/1/receipt?item=2",
        "/v1/records/2/receipt",
    ] {
        let (status, v) = api.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {v}");
        let receipt: Receipt = serde_json::from_value(v).unwrap();
        let verified = verify_receipt(&receipt, trusted).unwrap();
        assert_eq!(verified.checkpoint.checkpoint.size, 3);
    }
    let (_, v) = api.get("/v1/records/1/receipt?item=2").await;
    let receipt: Receipt = serde_json::from_value(v).unwrap();
    let item = verify_receipt(&receipt, trusted).unwrap().item.unwrap();
    assert_eq!(item.data, br#"{"grade":64,"token":"SOL"}"#);

    // Lineage: a derived signal names the snapshot as parent.
    let snapshot_hash = ack["records"][0]["leaf_hash"].clone();
    let derived = json!({"kind": "signal", "source": "acme-signals", "payload": {"derived": true}, "parents": [snapshot_hash]});
    let (status, _) = api.post("/v1/records", &derived).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, lineage) = api.get("/v1/records/3/lineage").await;
    assert_eq!(lineage["ancestors"][0]["parent"], "1");
    let (_, lineage) = api.get("/v1/records/1/lineage?depth=1").await;
    assert_eq!(lineage["descendants"][0]["child"], "3");

    let (_, rec) = api.get("/v1/records/3").await;
    assert_eq!(rec["parents"], json!(["1"]));
    assert_eq!(rec["record"]["kind"], "signal");
    assert_eq!(rec["in_checkpoint"], false);

    // Lookups by source, content root and time.
    let (_, found) = api.get("/v1/records?source=acme-signals").await;
    assert_eq!(found["records"].as_array().unwrap().len(), 2);
    let root = ack["records"][0]["content_root"].as_str().unwrap();
    let hex = provlog_core::Hash::from_base64(root).unwrap().to_hex();
    let (_, found) = api.get(&format!("/v1/records?content_root={hex}")).await;
    assert_eq!(found["records"][0]["index"], 1);
    let (_, page) = api.get("/v1/records?limit=2").await;
    assert_eq!(page["next"], 1);
    let (_, page) = api.get("/v1/records?limit=2&after=1").await;
    assert_eq!(page["records"][0]["index"], 2);
    let (_, none) = api.get("/v1/records?since=2999-01-01T00:00:00.000Z").await;
    assert!(none["records"].as_array().unwrap().is_empty());

    // Checkpoints, consistency, log info.
    api.settle().await;
    let (status, note) = api.get("/v1/checkpoint").await;
    assert_eq!(status, StatusCode::OK);
    assert!(note
        .as_str()
        .unwrap()
        .starts_with(&format!("{ORIGIN}\n4\n")));
    let (_, list) = api.get("/v1/checkpoints").await;
    assert_eq!(list["checkpoints"][0]["size"], 4);
    assert_eq!(list["checkpoints"][1]["size"], 3);
    let (status, c) = api.get("/v1/proofs/consistency?from=3&to=4").await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let proof: Vec<provlog_core::Hash> = serde_json::from_value(c["proof"].clone()).unwrap();
    provlog_core::log::verify_consistency(
        3,
        4,
        &c["root1"].as_str().unwrap().parse().unwrap(),
        &c["root2"].as_str().unwrap().parse().unwrap(),
        &proof,
    )
    .unwrap();
    // Sizes that were never checkpointed work too, within the latest signed tree.
    let (status, c) = api.get("/v1/proofs/consistency?from=1&to=2").await;
    assert_eq!(status, StatusCode::OK, "{c}");
    expect_problem(
        api.get("/v1/proofs/consistency?from=1&to=5").await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let (_, info) = api.get("/v1/log").await;
    assert_eq!(info["size"], 4);
    assert_eq!(info["integrated_size"], 4);
    assert_eq!(
        info["verifier_key"],
        api.state.signer.verifier_key().to_string()
    );

    // Server-side verification for thin clients.
    let (_, v) = api.get("/v1/records/0/receipt").await;
    let (status, report) = api.post("/v1/verify", &v).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["valid"], true);
    let mut tampered = v.clone();
    tampered["leaf_index"] = json!(1);
    let (_, report) = api.post("/v1/verify", &tampered).await;
    assert_eq!(report["valid"], false);

    // Health and metrics.
    assert_eq!(api.get("/healthz").await.0, StatusCode::OK);
    assert_eq!(api.get("/readyz").await.0, StatusCode::OK);
    let (status, metrics) = api.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.as_str().unwrap().contains("provlog_log_size"));
}

async fn tiles_reproduce_the_checkpoint_root(store: Store) {
    let api = setup(store, |_| {}).await;
    let batch: Vec<Value> = (0..300).map(|i| signal(&format!("T{i}"))).collect();
    let (status, _) = api.post("/v1/records", &json!({"records": batch})).await;
    assert_eq!(status, StatusCode::CREATED);
    api.settle().await;
    // Entries tiles hold the exact leaves; hashing them rebuilds the signed root.
    let mut log = provlog_core::log::MemoryLog::new();
    for uri in ["/tile/entries/000", "/tile/entries/001.p/44"] {
        let (status, _, bytes) = api.call_raw(get(uri)).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            log.append(&rest[2..2 + len]);
            rest = &rest[2 + len..];
        }
    }
    assert_eq!(log.size(), 300);
    let cp = api.state.store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(log.root(), cp.root);
    // Hash tiles at level 0 hold the leaf hashes.
    let (_, headers, bytes) = api.call_raw(get("/tile/0/000")).await;
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(&bytes[..32], log.stored_hashes()[0].as_bytes());
    assert_eq!(bytes.len(), 256 * 32);
    for missing in [
        "/tile/0/002",
        "/tile/entries/001",
        "/tile/1/000",
        "/tile/0/x000",
        "/tile/nonsense",
    ] {
        let (status, v) = api.get(missing).await;
        assert_eq!(
            (status, problem(&v)),
            (StatusCode::NOT_FOUND, "not-found"),
            "{missing}"
        );
    }
}

async fn every_write_error_has_its_problem_type(store: Store) {
    let api = setup(store, |c| {
        c.max_batch = 3;
        c.max_body_bytes = 4096;
        c.max_metadata_bytes = 1024;
    })
    .await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (Request::post("/v1/records").header("content-type", "application/json").body(Body::from(signal("A").to_string())).unwrap(), StatusCode::UNAUTHORIZED, "unauthorized"),
        (Request::post("/v1/records").header("content-type", "application/json").header("authorization", "Bearer wrong-token-wrong-token").body(Body::from(signal("A").to_string())).unwrap(), StatusCode::UNAUTHORIZED, "unknown-key"),
        (Request::post("/v1/records").header("authorization", format!("Bearer {TOKEN}")).header("content-type", "text/plain").body(Body::from("x")).unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
        (post("/v1/records", "{not json".into()), StatusCode::BAD_REQUEST, "bad-request"),
        (post("/v1/records", "[1,2]".into()), StatusCode::BAD_REQUEST, "bad-request"),
        (post("/v1/records", r#"{"records": []}"#.into()), StatusCode::BAD_REQUEST, "bad-request"),
        (post("/v1/records", r#"{"kind":"signal","source":"a","payload":{"x":1,"x":2}}"#.into()), StatusCode::BAD_REQUEST, "bad-request"),
        (post("/v1/records", r#"{"kind":"signal","source":"a","payload":{"big":9007199254740993}}"#.into()), StatusCode::BAD_REQUEST, "bad-request"),
        (post("/v1/records", json!({"records": [signal("A"), signal("B"), signal("C"), signal("D")]}).to_string()), StatusCode::PAYLOAD_TOO_LARGE, "batch-too-large"),
        (post("/v1/records", json!({"kind": "signal", "source": "a", "payload": "x".repeat(5000)}).to_string()), StatusCode::PAYLOAD_TOO_LARGE, "body-too-large"),
        (post("/v1/records", json!({"kind": "signal", "source": "Bad Source", "payload": 1}).to_string()), StatusCode::BAD_REQUEST, "invalid-record"),
        (post("/v1/records", json!({"kind": "signal", "source": "a"}).to_string()), StatusCode::BAD_REQUEST, "invalid-record"),
        (post("/v1/records", json!({"kind": "snapshot", "source": "a", "items": []}).to_string()), StatusCode::BAD_REQUEST, "invalid-record"),
        (post("/v1/records", json!({"kind": "digest", "source": "a", "content": {"alg": "sha256", "root": "AAAA"}}).to_string()), StatusCode::BAD_REQUEST, "invalid-record"),
        (post("/v1/records", json!({"kind": "signal", "source": "a", "payload": 1, "surprise": true}).to_string()), StatusCode::BAD_REQUEST, "invalid-record"),
        (post("/v1/records", json!({"kind": "signal", "source": "a", "payload": 1, "metadata": {"m": "x".repeat(2000)}}).to_string()), StatusCode::BAD_REQUEST, "invalid-record"),
        (post("/v1/records", json!({"kind": "signal", "source": "a", "payload": 1, "metadata": {"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{}}}}}}}}}}).to_string()), StatusCode::BAD_REQUEST, "invalid-record"),
        (post("/v1/records", json!({"kind": "signal", "source": "a", "payload": 1, "parents": [provlog_core::Hash::sha256(b"nobody").to_base64()]}).to_string()), StatusCode::UNPROCESSABLE_ENTITY, "unknown-parent"),
        (post("/v1/records?wait=forever", signal("A").to_string()), StatusCode::BAD_REQUEST, "bad-request"),
    ];
    for (i, (req, status, kind)) in cases.into_iter().enumerate() {
        let (got, v, headers) = api.call(req).await;
        assert_eq!((got, problem(&v)), (status, kind), "case {i}: {v}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "case {i}"
        );
    }
    // Authentication comes before any other rule.
    let anonymous = Request::post("/v1/records/snapshot")
        .body(Body::empty())
        .unwrap();
    expect_problem(
        api.call(anonymous).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let huge = Request::post("/v1/verify")
        .body(Body::from(vec![b' '; 5 << 20]))
        .unwrap();
    expect_problem(
        api.call(huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
    );
    // Nothing above was stored.
    assert_eq!(api.state.store.sizes().await.unwrap().sequenced, 0);
}

async fn read_errors_and_idempotency(store: Store) {
    let api = setup(store, |_| {}).await;
    for (uri, status, kind) in [
        ("/v1/records/7", StatusCode::NOT_FOUND, "not-found"),
        ("/v1/records/07", StatusCode::NOT_FOUND, "not-found"),
        (
            "/v1/records/abc/receipt",
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        ("/v1/records/7/lineage", StatusCode::NOT_FOUND, "not-found"),
        ("/v1/checkpoint", StatusCode::NOT_FOUND, "not-found"),
        (
            "/v1/records?limit=x",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            "/v1/records?since=yesterday",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            "/v1/proofs/consistency?from=5&to=2",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            "/v1/proofs/consistency?from=1",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            "/v1/proofs/consistency?from=1&to=2",
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        ("/nowhere", StatusCode::NOT_FOUND, "not-found"),
    ] {
        let (got, v) = api.get(uri).await;
        assert_eq!((got, problem(&v)), (status, kind), "{uri}: {v}");
    }
    expect_problem(
        api.post("/v1/verify", &json!({"format": "nope"})).await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );

    // Same key, same body: the same records, once. Same key, other body: 409.
    let keyed = |body: &Value| {
        Request::post("/v1/records")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("idempotency-key", "retry-me")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (s1, first, _) = api.call(keyed(&signal("X"))).await;
    let (s2, again, _) = api.call(keyed(&signal("X"))).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(first["records"], again["records"]);
    assert_eq!(again["replayed"], true);
    expect_problem(
        api.call(keyed(&signal("Y"))).await,
        StatusCode::CONFLICT,
        "idempotency-conflict",
    );
    assert_eq!(api.state.store.sizes().await.unwrap().sequenced, 1);

    // Receipt for an item of a non-snapshot, and a missing item.
    api.settle().await;
    expect_problem(
        api.get("/v1/records/0/receipt?item=0").await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
    expect_problem(
        api.get("/v1/records/0/receipt?size=99").await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
}

async fn writes_are_closed_without_a_token_and_push_back_when_behind(store: Store) {
    let api = setup(store.clone(), |c| {
        c.admin_token = provlog_server::config::Secret::default()
    })
    .await;
    // Without a bootstrap token, a bearer that is not an API key is just an unknown key.
    expect_problem(
        api.post("/v1/records", &signal("A")).await,
        StatusCode::UNAUTHORIZED,
        "unknown-key",
    );

    let api = setup(store, |c| c.max_pending = 2).await;
    let batch = json!({"records": [signal("A"), signal("B"), signal("C")]});
    assert_eq!(api.post("/v1/records", &batch).await.0, StatusCode::CREATED);
    let (status, v, headers) = api.call(post("/v1/records", signal("D").to_string())).await;
    assert_eq!(
        (status, problem(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, "backpressure")
    );
    assert_eq!(headers["retry-after"], "1");
    api.settle().await;
    assert_eq!(
        api.post("/v1/records", &signal("D")).await.0,
        StatusCode::CREATED
    );
}

async fn ndjson_snapshots_and_wait_for_receipts(store: Store) {
    let api = setup(store, |c| c.wait_timeout_ms = 300).await;
    let ndjson = "{\"token\":\"BTC\",\"grade\":88}\n\n{\"token\":\"ETH\",\"grade\":81}\n";
    let req = Request::post("/v1/records/snapshot?source=acme-grades")
        .header("content-type", "application/x-ndjson")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(ndjson))
        .unwrap();
    let (status, ack, _) = api.call(req).await;
    assert_eq!(status, StatusCode::CREATED, "{ack}");
    let bad = Request::post("/v1/records/snapshot?source=acme-grades")
        .header("content-type", "application/x-ndjson")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from("{\"ok\":1}\n{broken\n"))
        .unwrap();
    let v = expect_problem(
        api.call(bad).await,
        StatusCode::BAD_REQUEST,
        "invalid-record",
    );
    assert!(v["detail"].as_str().unwrap().contains("line 2"));

    // No leader runs here: the wait times out, and the ack is still valid.
    let (status, v) = api.post("/v1/records?wait=receipt", &signal("W")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["receipt_status"], "timeout");
    assert_eq!(v["records"][0]["index"], 1);

    // With workers running, the receipt comes back with the ack.
    let (tx, rx) = tokio::sync::watch::channel(false);
    let workers = provlog_server::workers::spawn(api.state.clone(), rx);
    let api = Api::new(api.state.clone());
    let (status, v) = api.post("/v1/records?wait=receipt", &signal("R")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["receipt_status"], "ready", "{v}");
    let receipt: Receipt = serde_json::from_value(v["receipts"][0].clone()).unwrap();
    verify_receipt(&receipt, &api.state.trusted).unwrap();
    tx.send(true).unwrap();
    for w in workers {
        w.await.unwrap();
    }
}

/// Concurrent one-record writes share transactions (group commit) but each caller gets its
/// own record: distinct dense indexes, each with the leaf hash of what it sent.
async fn concurrent_single_writes_are_grouped_yet_each_gets_its_own(store: Store) {
    let api = Arc::new(setup(store, |_| {}).await);
    let mut tasks = vec![];
    for i in 0..64 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let (status, ack) = api.post("/v1/records", &signal(&format!("T{i}"))).await;
            assert_eq!(status, StatusCode::CREATED, "{ack}");
            (i, ack["records"][0].clone())
        }));
    }
    let mut indexes = vec![];
    for t in tasks {
        let (i, ack) = t.await.unwrap();
        let index = ack["index"].as_u64().unwrap();
        let (_, rec) = api.get(&format!("/v1/records/{index}")).await;
        assert_eq!(rec["record"]["content"]["root"], ack["content_root"]);
        assert_eq!(rec["leaf_hash"], ack["leaf_hash"]);
        let payload = json!({"token": format!("T{i}"), "signal": 1, "trader_grade": 71.5});
        let (content, _) = provlog_core::record::signal_content(&payload).unwrap();
        assert_eq!(
            ack["content_root"],
            json!(content.root),
            "request {i} got another's record"
        );
        indexes.push(index);
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..64).collect::<Vec<_>>());
}

/// Found by tests/e2e/tests/bad_input.rs: a wrong method got axum's bare 405, an undecodable
/// path segment its text/plain 400, `application/json; charset=latin1` (or `application/jsonx`)
/// was taken as JSON, the admin routes took any `Content-Type`, page sizes past 1000 were
/// silently cut; overlong targets and headers were served.
async fn errors_outside_the_handlers_are_problems_too(store: Store) {
    let api = setup(store, |_| {}).await;
    // But a handler's own documented JSON body for an error status stays as it is: /readyz's
    // 503 `Readiness` (no leader yet here) was once turned into a 500 problem.
    let (status, v, headers) = api.call(get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(v["ready"], false, "{v}");
    assert!(v["reason"].is_string(), "{v}");
    let (status, v, headers) = api
        .call(
            Request::put("/v1/records")
                .body(Body::from(signal("A").to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(
        (status, problem(&v)),
        (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")
    );
    is_problem(status, &v, &headers);
    assert!(
        headers["allow"].to_str().unwrap().contains("POST"),
        "{headers:?}"
    );

    for (uri, want, kind) in [
        ("/v1/records/%FF%FE", StatusCode::BAD_REQUEST, "bad-request"),
        // Found by bad_input.rs: the tile parser panicked on a partial width of 0, and the
        // connection dropped without an answer.
        ("/tile/0/000.p/0", StatusCode::NOT_FOUND, "not-found"),
        ("/tile/0/000.p/256", StatusCode::NOT_FOUND, "not-found"),
        (
            "/v1/records?limit=1001",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            "/v1/records?limit=0",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            "/v1/checkpoints?limit=5000",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            "/v1/anchors?limit=100000",
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
    ] {
        let (status, v, headers) = api.call(get(uri)).await;
        assert_eq!((status, problem(&v)), (want, kind), "{uri}: {v}");
        is_problem(status, &v, &headers);
    }
    let (status, _) = api.get("/v1/records?limit=1000").await;
    assert_eq!(status, StatusCode::OK);

    // Found by tests/reliability/schemathesis.sh: a cursor or size past i64::MAX was a 500.
    for uri in [
        "/v1/records?after=9223372036854775808",
        "/v1/checkpoints?before=9223372036854775808",
    ] {
        let (status, v, headers) = api.call(get(uri)).await;
        assert_eq!(
            (status, problem(&v)),
            (StatusCode::BAD_REQUEST, "bad-request"),
            "{uri}: {v}"
        );
        is_problem(status, &v, &headers);
    }

    let long = format!("/v1/records?source={}", "s".repeat(20_000));
    let (status, v, headers) = api.call(get(&long)).await;
    assert_eq!(
        (status, problem(&v)),
        (StatusCode::URI_TOO_LONG, "uri-too-long")
    );
    is_problem(status, &v, &headers);
    let (status, v, headers) = api
        .call(
            Request::get("/v1/log")
                .header("x-padding", "p".repeat(70_000))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (status, problem(&v)),
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large"
        )
    );
    is_problem(status, &v, &headers);
}

/// Found by bad_input.rs too: `application/json; charset=latin1` (or `application/jsonx`) was
/// taken as JSON.
async fn media_types_are_matched_exactly(store: Store) {
    let api = setup(store, |_| {}).await;
    for ct in [
        "application/json; charset=latin1",
        "application/jsonx",
        "text/plain",
        "application/x-ndjson",
    ] {
        let (status, v, _) = api
            .call(with_type("/v1/records", ct, signal("B").to_string()))
            .await;
        assert_eq!(
            (status, problem(&v)),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
            "{ct}: {v}"
        );
    }
    let (status, v, _) = api
        .call(with_type(
            "/v1/records/snapshot?source=acme-grades",
            "application/x-ndjson; charset=latin1",
            "{\"a\":1}\n".into(),
        ))
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert_eq!(api.state.store.sizes().await.unwrap().sequenced, 0);
    let (status, v, _) = api
        .call(with_type(
            "/v1/records",
            "Application/JSON; Charset=\"UTF-8\"",
            signal("C").to_string(),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    api.settle().await;
    expect_problem(
        api.get("/v1/records/0/receipt?size=9223372036854775808")
            .await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
}

/// Found by bad_input.rs too: the admin routes took any `Content-Type`.
async fn admin_bodies_are_json_too(store: Store) {
    let api = setup(store, |_| {}).await;
    let (status, boot, _) = api
        .call(with_type(
            "/v1/admin/bootstrap",
            "application/json",
            String::new(),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{boot}");
    let admin = boot["token"].as_str().unwrap();
    let source = json!({"id": "typed", "display_name": "Typed"}).to_string();
    let admin_post = |ct: Option<&str>| {
        let mut req =
            Request::post("/v1/admin/sources").header("authorization", format!("Bearer {admin}"));
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req.body(Body::from(source.clone())).unwrap()
    };
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let (status, v, _) = api.call(admin_post(ct)).await;
        assert_eq!(
            (status, problem(&v)),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
            "{ct:?}: {v}"
        );
    }
    let (status, v, _) = api.call(admin_post(Some("application/json"))).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    expect_problem(
        api.call(
            Request::get("/v1/admin/audit?after=9223372036854775808")
                .header("authorization", format!("Bearer {admin}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
    // Found by schemathesis: `"schema": false` was stored, and the source then answered
    // with a `schema` its documented type (object or null) does not allow.
    let patch = Request::patch("/v1/admin/sources/typed")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"schema": false}"#))
        .unwrap();
    expect_problem(
        api.call(patch).await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
}

fn is_problem(status: StatusCode, v: &Value, headers: &HeaderMap) {
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "{status}: {v}"
    );
    assert_eq!(v["status"], status.as_u16(), "{v}");
    assert!(v["title"].is_string(), "{v}");
}

fn with_type(uri: &str, ct: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("content-type", ct)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(body))
        .unwrap()
}
