//! Trust and policy through the router, on both backends (see `common`): the bootstrap, scoped
//! API keys on every write and admin route, signed submissions (RFC 9421) with replay
//! protection, schema policies, rate limits and the audit trail.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{expect_problem, on_both_backends, problem, setup, HOST, ORIGIN, TOKEN as BOOTSTRAP};
use ed25519_dalek::SigningKey;
use provlog_client::SourceSigner;
use provlog_core::httpsig::SignatureParams;
use provlog_core::receipt::{verify_receipt, Receipt};
use provlog_server::api::ROUTES;
use provlog_server::config::Secret;
use provlog_store::Store;
use serde_json::{json, Value};
use sqlx::PgPool;

on_both_backends!(
    the_bootstrap_token_makes_one_admin_key_then_is_spent,
    every_write_and_admin_route_refuses_bad_keys,
    reads_can_be_made_private,
    signed_submissions_accept_the_valid_and_refuse_the_rest,
    signed_snapshots_over_ndjson,
    schema_policies_reject_or_flag,
    limits_answer_problems_with_retry_after,
);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn signal(source: &str, payload: Value) -> Value {
    json!({"kind": "signal", "source": source, "payload": payload})
}

async fn the_bootstrap_token_makes_one_admin_key_then_is_spent(store: Store) {
    let api = setup(store.clone(), |_| {}).await;
    // A fresh deployment: the bootstrap token writes for any source.
    let (s, v) = api.write(BOOTSTRAP, &signal("fresh", json!(1))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // It is not an admin key.
    expect_problem(
        api.send("GET", "/v1/admin/keys", Some(BOOTSTRAP), None)
            .await,
        StatusCode::FORBIDDEN,
        "wrong-scope",
    );

    expect_problem(
        api.send(
            "POST",
            "/v1/admin/bootstrap",
            Some("not-the-bootstrap-token"),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "unknown-key",
    );
    let admin = api.admin().await;
    assert!(admin.starts_with("plk_"), "{admin}");
    expect_problem(
        api.send("POST", "/v1/admin/bootstrap", Some(BOOTSTRAP), None)
            .await,
        StatusCode::CONFLICT,
        "conflict",
    );
    expect_problem(
        api.write(BOOTSTRAP, &signal("fresh", json!(2))).await,
        StatusCode::UNAUTHORIZED,
        "bootstrap-spent",
    );

    // Another replica (a new state on the same database) agrees.
    let other = setup(store, |_| {}).await;
    expect_problem(
        other.write(BOOTSTRAP, &signal("fresh", json!(3))).await,
        StatusCode::UNAUTHORIZED,
        "bootstrap-spent",
    );

    let (s, v) = api.send("GET", "/v1/admin/audit", Some(&admin), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["events"][0]["actor"], "bootstrap");
    assert_eq!(v["events"][0]["action"], "key.created");
    assert_eq!(v["events"][0]["detail"]["scope"], "admin");
}

/// The write and admin routes, with a concrete path and a body that would succeed.
fn guarded_requests(source: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let mut out = vec![];
    for &(method, path) in ROUTES {
        let method = match method {
            "get" => "GET",
            "post" => "POST",
            "patch" => "PATCH",
            "delete" => "DELETE",
            _ => continue,
        };
        let is_write = method == "POST" && path.starts_with("/v1/records");
        if !(is_write || path.starts_with("/v1/admin/")) || path == "/v1/admin/bootstrap" {
            continue;
        }
        let concrete = path.replace("{id}", source).replace("{key_id}", "k1");
        let (uri, body) = match (method, path) {
            ("POST", "/v1/records") => (concrete, Some(signal(source, json!({"x": 1})))),
            ("POST", "/v1/records/snapshot") => (format!("{concrete}?source={source}"), None),
            ("POST", "/v1/admin/sources") => (
                concrete,
                Some(json!({"id": "new-source", "display_name": "N"})),
            ),
            ("PATCH", _) => (concrete, Some(json!({"display_name": "Renamed"}))),
            ("POST", "/v1/admin/sources/{id}/keys") => {
                let k2 = SourceSigner::new(SigningKey::from_bytes(&[3; 32]), "k2").unwrap();
                let proof = k2.prove_possession(ORIGIN, source).unwrap();
                let key =
                    json!({"key_id": "k2", "public_key": k2.public_key_base64(), "proof": proof});
                (concrete, Some(key))
            }
            ("POST", "/v1/admin/keys") => (concrete, Some(json!({"scope": "read"}))),
            _ => (concrete, None),
        };
        out.push((method, uri, body));
    }
    assert_eq!(out.len(), 13, "{out:?}");
    out
}

async fn every_write_and_admin_route_refuses_bad_keys(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    api.source(&admin, json!({"id": "acme", "display_name": "ACME"}))
        .await;
    api.source(&admin, json!({"id": "other", "display_name": "Other"}))
        .await;
    let (_, ingest) = api.create_key(&admin, "ingest", Some("acme")).await;
    let (_, other_ingest) = api.create_key(&admin, "ingest", Some("other")).await;
    let (_, read) = api.create_key(&admin, "read", None).await;
    let (revoked_id, revoked) = api.create_key(&admin, "admin", None).await;
    let (s, v) = api.key_action(&admin, &revoked_id, "revoke", None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("revoked")));
    // Rotated with no overlap: refused at once. Rotated with an hour's overlap: still works.
    let (gone_id, gone) = api.create_key(&admin, "admin", None).await;
    let (s, v) = api
        .key_action(&admin, &gone_id, "rotate", Some(&json!({"overlap_ms": 0})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["key"]["replaces"], gone_id.as_str());
    let (overlap_id, overlapping) = api.create_key(&admin, "ingest", Some("acme")).await;
    let (s, v) = api
        .key_action(
            &admin,
            &overlap_id,
            "rotate",
            Some(&json!({"overlap_ms": 3_600_000})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let successor = v["token"].as_str().unwrap().to_string();
    // The registry records of the setup are all the log holds.
    let before = api.records().await;
    let mut wrong_secret = ingest.clone();
    wrong_secret.pop();
    wrong_secret.push(if ingest.ends_with('A') { 'B' } else { 'A' });

    for (method, uri, body) in guarded_requests("acme") {
        let write = uri.starts_with("/v1/records");
        let scoped_wrong = if write { &read } else { &ingest };
        let mut cases: Vec<(Option<&str>, StatusCode, &str)> = vec![
            (None, StatusCode::UNAUTHORIZED, "unauthorized"),
            (
                Some("plk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                StatusCode::UNAUTHORIZED,
                "unknown-key",
            ),
            (Some(&wrong_secret), StatusCode::UNAUTHORIZED, "unknown-key"),
            (
                Some("some-random-bearer-token"),
                StatusCode::UNAUTHORIZED,
                "unknown-key",
            ),
            (Some(scoped_wrong), StatusCode::FORBIDDEN, "wrong-scope"),
            (Some(&revoked), StatusCode::UNAUTHORIZED, "key-revoked"),
            (Some(&gone), StatusCode::UNAUTHORIZED, "key-expired"),
            (Some(BOOTSTRAP), StatusCode::UNAUTHORIZED, "bootstrap-spent"),
        ];
        if write {
            cases.push((Some(&other_ingest), StatusCode::FORBIDDEN, "wrong-source"));
            cases.push((Some(&admin), StatusCode::FORBIDDEN, "wrong-scope"));
        }
        for (token, status, slug) in cases {
            let (s, v) = api.send(method, &uri, token, body.as_ref()).await;
            assert_eq!(
                (s, problem(&v)),
                (status, slug),
                "{method} {uri} with {token:?}: {v}"
            );
        }
    }
    // Nothing was written by any of them.
    assert_eq!(api.records().await, before);
    // The keys that should work, work: the ingest key and both keys of the overlapping pair.
    for token in [&ingest, &overlapping, &successor] {
        let (s, v) = api.write(token, &signal("acme", json!({"x": 1}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    expect_problem(
        api.write(&ingest, &signal("unregistered", json!(1))).await,
        StatusCode::FORBIDDEN,
        "wrong-source",
    );
    expect_problem(
        api.send(
            "POST",
            "/v1/admin/keys",
            Some(&admin),
            Some(&json!({"scope": "ingest", "source": "nobody"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown-source",
    );
    expect_problem(
        api.send(
            "POST",
            "/v1/admin/keys",
            Some(&admin),
            Some(&json!({"scope": "read", "source": "acme"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );

    let (s, v) = api.send("GET", "/v1/admin/keys", Some(&admin), None).await;
    assert_eq!(s, StatusCode::OK);
    let listed = v.to_string();
    assert!(
        !listed.contains(&ingest) && !listed.contains("key_hash"),
        "{listed}"
    );
    let statuses: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"revoked")
            && statuses.contains(&"expired")
            && statuses.contains(&"expiring"),
        "{statuses:?}"
    );
}

async fn reads_can_be_made_private(store: Store) {
    let api = setup(store, |c| c.public_reads = false).await;
    let admin = api.admin().await;
    let (_, read) = api.create_key(&admin, "read", None).await;
    for uri in [
        "/v1/log",
        "/v1/checkpoint",
        "/v1/records?limit=1",
        "/checkpoint",
    ] {
        let (s, v) = api.send("GET", uri, None, None).await;
        assert_eq!(
            (s, problem(&v)),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{uri}"
        );
    }
    let (s, v) = api.send("GET", "/v1/log", Some(&read), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Operations stay open.
    assert_eq!(
        api.send("GET", "/healthz", None, None).await.0,
        StatusCode::OK
    );
}

/// A signed submission of one record: the record signed at `created`, the request signed with
/// `params` over `body_override` (or the real body).
struct Signed {
    body: Vec<u8>,
    headers: provlog_core::httpsig::SignedHeaders,
}

fn signed(signer: &SourceSigner, record: &mut Value, params: &SignatureParams) -> Signed {
    signer
        .sign_record_at(record, params.created, &provlog_client::random_nonce())
        .unwrap();
    let body = record.to_string().into_bytes();
    let headers = signer
        .sign_request_with("POST", &format!("http://{HOST}/v1/records"), &body, params)
        .unwrap();
    Signed { body, headers }
}

fn params(keyid: &str, created: u64) -> SignatureParams {
    SignatureParams {
        created,
        expires: created + 60,
        nonce: provlog_client::random_nonce(),
        keyid: keyid.into(),
    }
}

fn signed_request(token: &str, body: &[u8], digest: &str, input: &str, sig: &str) -> Request<Body> {
    Request::post("/v1/records")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .header("content-digest", digest)
        .header("signature-input", input)
        .header("signature", sig)
        .body(Body::from(body.to_vec()))
        .unwrap()
}

fn send_signed(token: &str, s: &Signed) -> Request<Body> {
    request_signed_with(token, &s.body, &s.headers)
}

fn request_signed_with(
    token: &str,
    body: &[u8],
    h: &provlog_core::httpsig::SignedHeaders,
) -> Request<Body> {
    signed_request(
        token,
        body,
        &h.content_digest,
        &h.signature_input,
        &h.signature,
    )
}

/// The request signature alone (no record signature) of `POST target` with `body`.
fn request_signature(
    signer: &SourceSigner,
    target: &str,
    body: &[u8],
    now: u64,
) -> provlog_core::httpsig::SignedHeaders {
    signer
        .sign_request_with(
            "POST",
            &format!("http://{HOST}{target}"),
            body,
            &params("oracle-1", now),
        )
        .unwrap()
}

async fn signed_submissions_accept_the_valid_and_refuse_the_rest(store: Store) {
    let api = setup(store.clone(), |_| {}).await;
    let admin = api.admin().await;
    api.source(
        &admin,
        json!({"id": "oracle", "display_name": "Oracle", "require_signature": true}),
    )
    .await;
    let signer = SourceSigner::new(SigningKey::from_bytes(&[21; 32]), "oracle-1").unwrap();
    api.add_source_key(&admin, "oracle", &signer).await;
    let (_, ingest) = api.create_key(&admin, "ingest", Some("oracle")).await;
    let now = unix_now();

    // Valid: accepted, with the record signature in the record.
    let ok = signed(&signer, &mut oracle_record(), &params("oracle-1", now));
    let (s, v, _) = api.call(send_signed(&ingest, &ok)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let record = format!("/v1/records/{}", v["records"][0]["id"].as_str().unwrap());
    let stored = api.records().await;
    let (s, view) = api.send("GET", &record, None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(view["provenance"]["source"], "oracle");
    assert_eq!(view["provenance"]["key_id"], "oracle-1");
    assert_eq!(view["provenance"]["signature"], "verified");
    assert_eq!(view["provenance"]["key_status"], "active");
    assert_eq!(view["record"]["signature"]["key_id"], "oracle-1");

    let mut refused = refused_for_time_or_key(&signer, &ingest, &ok, now);
    refused.extend(refused_for_content(&signer, &ingest, &ok, now));
    for (what, req, status, slug) in refused {
        let (s, v, _) = api.call(req).await;
        assert_eq!((s, problem(&v)), (status, slug), "{what}: {v}");
    }
    // None of them was stored.
    assert_eq!(api.records().await, stored);

    // The nonce store survives a restart: a new server on the same database refuses the replay.
    let restarted = setup(store, |_| {}).await;
    expect_problem(
        restarted.call(send_signed(&ingest, &ok)).await,
        StatusCode::UNAUTHORIZED,
        "replayed-nonce",
    );

    // A retired key signs no more.
    let (s, _) = api
        .send(
            "DELETE",
            "/v1/admin/sources/oracle/keys/oracle-1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let late = signed(&signer, &mut oracle_record(), &params("oracle-1", now));
    expect_problem(
        api.call(send_signed(&ingest, &late)).await,
        StatusCode::UNAUTHORIZED,
        "unknown-signing-key",
    );
    // The record it signed before stays verifiable, and says the key is retired now.
    let (_, view) = api.send("GET", &record, None, None).await;
    assert_eq!(view["provenance"]["signature"], "verified");
    assert_eq!(view["provenance"]["key_status"], "retired");

    // Offline: the receipt alone proves the source signed the content.
    api.settle().await;
    let (s, v) = api
        .send("GET", &format!("{record}/receipt"), None, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let receipt: Receipt = serde_json::from_value(v).unwrap();
    verify_receipt(&receipt, &api.state.trusted).unwrap();
    let record =
        provlog_core::record::Record::from_canonical_bytes(receipt.record.as_bytes()).unwrap();
    let verified = record.verify_source_signature().unwrap().unwrap();
    assert_eq!(verified.key_id.as_str(), "oracle-1");
    assert_eq!(
        verified.public_key,
        SigningKey::from_bytes(&[21; 32]).verifying_key()
    );
}

/// What a refused submission is, the request, and the status and problem it gets.
type Refusal = (&'static str, Request<Body>, StatusCode, &'static str);

fn oracle_record() -> Value {
    signal("oracle", json!({"price": 42}))
}

/// Submissions refused for when they were signed, or by whom; `ok` was accepted.
fn refused_for_time_or_key(
    signer: &SourceSigner,
    ingest: &str,
    ok: &Signed,
    now: u64,
) -> Vec<Refusal> {
    let mut refused: Vec<Refusal> = vec![];
    refused.push((
        "replayed nonce",
        send_signed(ingest, ok),
        StatusCode::UNAUTHORIZED,
        "replayed-nonce",
    ));
    let old = signed(
        signer,
        &mut oracle_record(),
        &params("oracle-1", now - 3_600),
    );
    refused.push((
        "expired",
        send_signed(ingest, &old),
        StatusCode::UNAUTHORIZED,
        "signature-expired",
    ));
    let mut past_expiry = params("oracle-1", now - 120);
    past_expiry.expires = now - 60;
    let lapsed = signed(signer, &mut oracle_record(), &past_expiry);
    refused.push((
        "past its expires",
        send_signed(ingest, &lapsed),
        StatusCode::UNAUTHORIZED,
        "signature-expired",
    ));
    let future = signed(
        signer,
        &mut oracle_record(),
        &params("oracle-1", now + 3_600),
    );
    refused.push((
        "future-dated",
        send_signed(ingest, &future),
        StatusCode::UNAUTHORIZED,
        "signature-from-future",
    ));
    let unknown = signed(signer, &mut oracle_record(), &params("oracle-9", now));
    refused.push((
        "wrong key id",
        send_signed(ingest, &unknown),
        StatusCode::UNAUTHORIZED,
        "unknown-signing-key",
    ));
    let impostor = SourceSigner::new(SigningKey::from_bytes(&[22; 32]), "oracle-1").unwrap();
    let forged = signed(&impostor, &mut oracle_record(), &params("oracle-1", now));
    refused.push((
        "another key under the id",
        send_signed(ingest, &forged),
        StatusCode::UNAUTHORIZED,
        "bad-signature",
    ));
    refused
}

/// Submissions refused for what was signed; `ok` was accepted.
fn refused_for_content(signer: &SourceSigner, ingest: &str, ok: &Signed, now: u64) -> Vec<Refusal> {
    let mut refused: Vec<Refusal> = vec![];
    // The body changed after signing, its Content-Digest recomputed: the signature covers the
    // old digest.
    let s1 = signed(signer, &mut oracle_record(), &params("oracle-1", now));
    let mut tampered = serde_json::from_slice::<Value>(&s1.body).unwrap();
    tampered["metadata"] = json!({"note": "added later"});
    let tampered = tampered.to_string().into_bytes();
    refused.push((
        "body changed after signing",
        signed_request(
            ingest,
            &tampered,
            &provlog_core::httpsig::content_digest(&tampered),
            &s1.headers.signature_input,
            &s1.headers.signature,
        ),
        StatusCode::UNAUTHORIZED,
        "bad-signature",
    ));
    // The body changed, the digest header left as signed.
    let s2 = signed(signer, &mut oracle_record(), &params("oracle-1", now));
    refused.push((
        "digest mismatch",
        signed_request(
            ingest,
            &tampered,
            &s2.headers.content_digest,
            &s2.headers.signature_input,
            &s2.headers.signature,
        ),
        StatusCode::BAD_REQUEST,
        "digest-mismatch",
    ));
    // Unsigned, with only an API key: a key alone cannot write for a source that signs.
    let mut plain = oracle_record();
    signer.sign_record(&mut plain).unwrap();
    refused.push((
        "unsigned request",
        Request::post("/v1/records")
            .header("host", HOST)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {ingest}"))
            .body(Body::from(plain.to_string()))
            .unwrap(),
        StatusCode::UNAUTHORIZED,
        "signature-required",
    ));
    // A signed request whose record carries no source signature.
    let body = oracle_record().to_string().into_bytes();
    let h = request_signature(signer, "/v1/records", &body, now);
    refused.push((
        "unsigned record",
        request_signed_with(ingest, &body, &h),
        StatusCode::UNAUTHORIZED,
        "signature-required",
    ));
    // A valid request signature with a record signed long ago.
    let mut stale = oracle_record();
    signer
        .sign_record_at(&mut stale, now - 3_600, &provlog_client::random_nonce())
        .unwrap();
    let body = stale.to_string().into_bytes();
    let h = request_signature(signer, "/v1/records", &body, now);
    refused.push((
        "stale record signature",
        request_signed_with(ingest, &body, &h),
        StatusCode::UNAUTHORIZED,
        "signature-expired",
    ));
    // Signed for another URI.
    let elsewhere = request_signature(signer, "/v1/records?wait=receipt", &ok.body, now);
    refused.push((
        "another target URI",
        request_signed_with(ingest, &ok.body, &elsewhere),
        StatusCode::UNAUTHORIZED,
        "bad-signature",
    ));
    refused
}

async fn signed_snapshots_over_ndjson(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    api.source(
        &admin,
        json!({"id": "grades", "display_name": "Grades", "require_signature": true}),
    )
    .await;
    let signer = SourceSigner::new(SigningKey::from_bytes(&[23; 32]), "g1").unwrap();
    api.add_source_key(&admin, "grades", &signer).await;
    let (_, ingest) = api.create_key(&admin, "ingest", Some("grades")).await;
    let items = vec![json!({"t": "BTC"}), json!({"t": "ETH"})];
    let mut record = json!({"kind": "snapshot", "source": "grades", "items": items});
    signer.sign_record(&mut record).unwrap();
    let ndjson = "{\"t\":\"BTC\"}\n{\"t\":\"ETH\"}\n";
    let uri = "/v1/records/snapshot?source=grades";
    let req = |sig: bool| {
        // A fresh request signature each time: a refused request has still spent its nonce.
        let h = signer
            .sign_request("POST", &format!("http://{HOST}{uri}"), ndjson.as_bytes())
            .unwrap();
        let mut r = Request::post(uri)
            .header("host", HOST)
            .header("content-type", "application/x-ndjson")
            .header("authorization", format!("Bearer {ingest}"))
            .header("content-digest", &h.content_digest)
            .header("signature-input", &h.signature_input)
            .header("signature", &h.signature);
        if sig {
            r = r.header("provlog-source-signature", record["signature"].to_string());
        }
        r.body(Body::from(ndjson)).unwrap()
    };
    expect_problem(
        api.call(req(false)).await,
        StatusCode::UNAUTHORIZED,
        "signature-required",
    );
    let (s, v, _) = api.call(req(true)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let record = format!("/v1/records/{}", v["records"][0]["id"].as_str().unwrap());
    let (_, view) = api.send("GET", &record, None, None).await;
    assert_eq!(view["provenance"]["signature"], "verified");
}

async fn schema_policies_reject_or_flag(store: Store) {
    let api = setup(store, |_| {}).await;
    let admin = api.admin().await;
    let schema = json!({"type": "object", "required": ["token"],
        "properties": {"token": {"type": "string"}, "grade": {"type": "integer", "minimum": 0}}});
    api.source(
        &admin,
        json!({"id": "strict", "display_name": "S", "schema": schema, "schema_policy": "reject"}),
    )
    .await;
    api.source(
        &admin,
        json!({"id": "lenient", "display_name": "L", "schema": schema, "schema_policy": "flag"}),
    )
    .await;
    let (_, strict) = api.create_key(&admin, "ingest", Some("strict")).await;
    let (_, lenient) = api.create_key(&admin, "ingest", Some("lenient")).await;

    // reject: 400 with the errors, nothing stored.
    let before = api.records().await;
    let bad = signal("strict", json!({"grade": -1}));
    let v = expect_problem(
        api.write(&strict, &bad).await,
        StatusCode::BAD_REQUEST,
        "schema-violation",
    );
    let errors: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("token")) && errors.iter().any(|e| e.contains("/grade")),
        "{errors:?}"
    );
    let snap = json!({"records": [signal("strict", json!({"token": "A"})),
        {"kind": "snapshot", "source": "strict", "items": [{"token": "A"}, {"token": 7}]}]});
    let v = expect_problem(
        api.write(&strict, &snap).await,
        StatusCode::BAD_REQUEST,
        "schema-violation",
    );
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("records[1]: item 1: /token"),
        "{v}"
    );
    assert_eq!(api.records().await, before);
    let (s, v) = api
        .write(&strict, &signal("strict", json!({"token": "A"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // flag: stored, the failed check in the record (and so in its receipt).
    let (s, v) = api
        .write(&lenient, &signal("lenient", json!({"grade": "high"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let flagged = v["records"][0]["id"].as_str().unwrap().to_string();
    let (s, v) = api
        .write(
            &lenient,
            &signal("lenient", json!({"token": "B", "grade": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let passed = v["records"][0]["id"].as_str().unwrap().to_string();

    let (_, view) = api
        .send("GET", &format!("/v1/records/{flagged}"), None, None)
        .await;
    let quality = &view["provenance"]["quality"][0];
    assert_eq!(
        (quality["check"].as_str(), quality["passed"].as_bool()),
        (Some("schema"), Some(false)),
        "{view}"
    );
    assert!(
        quality["detail"].as_str().unwrap().contains("/grade"),
        "{quality}"
    );
    assert_eq!(view["record"]["quality"], view["provenance"]["quality"]);
    let (_, view) = api
        .send("GET", &format!("/v1/records/{passed}"), None, None)
        .await;
    assert_eq!(
        view["record"]["quality"],
        json!([{"check": "schema", "passed": true}])
    );

    api.settle().await;
    let (s, v) = api
        .send("GET", &format!("/v1/records/{flagged}/receipt"), None, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let receipt: Receipt = serde_json::from_value(v).unwrap();
    verify_receipt(&receipt, &api.state.trusted).unwrap();
    let record =
        provlog_core::record::Record::from_canonical_bytes(receipt.record.as_bytes()).unwrap();
    assert_eq!(record.quality.len(), 1);
    assert!(!record.quality[0].passed);

    // A schema that does not compile is refused when the source is registered.
    expect_problem(
        api.send(
            "POST",
            "/v1/admin/sources",
            Some(&admin),
            Some(&json!({"id": "broken", "display_name": "B", "schema": {"type": "no-such-type"}})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    );
    // Changing the policy takes effect at once on this replica.
    let (s, _) = api
        .send(
            "PATCH",
            "/v1/admin/sources/lenient",
            Some(&admin),
            Some(&json!({"schema_policy": "reject"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    expect_problem(
        api.write(&lenient, &signal("lenient", json!({"grade": "high"})))
            .await,
        StatusCode::BAD_REQUEST,
        "schema-violation",
    );
}

async fn limits_answer_problems_with_retry_after(store: Store) {
    let api = setup(store, |c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 3;
        c.max_metadata_depth = 2;
        c.max_payload_depth = 3;
    })
    .await;
    let admin = api.admin().await;
    api.source(&admin, json!({"id": "acme", "display_name": "A"}))
        .await;
    let (_, ingest) = api.create_key(&admin, "ingest", Some("acme")).await;
    let deep_meta = json!({"kind": "signal", "source": "acme", "payload": 1, "metadata": {"a": {"b": {"c": 1}}}});
    expect_problem(
        api.write(&ingest, &deep_meta).await,
        StatusCode::BAD_REQUEST,
        "invalid-record",
    );
    let deep_payload = signal("acme", json!({"a": {"b": {"c": {"d": 1}}}}));
    let v = expect_problem(
        api.write(&ingest, &deep_payload).await,
        StatusCode::BAD_REQUEST,
        "invalid-record",
    );
    assert!(v["detail"].as_str().unwrap().contains("limit is 3"), "{v}");

    // The admin key's bucket is spent (burst 3, one token a second): ten more requests cannot
    // all pass unless seven seconds go by.
    let (_, fresh) = api.create_key(&admin, "ingest", Some("acme")).await;
    let mut limited = None;
    for _ in 0..10 {
        let req = Request::get("/v1/admin/keys")
            .header("authorization", format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let (s, v, headers) = api.call(req).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((v, headers));
            break;
        }
    }
    let (v, headers) = limited.expect("no request was rate limited");
    assert_eq!(problem(&v), "rate-limited");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    // Buckets are per key: another key still has tokens.
    let (s, v) = api.write(&fresh, &signal("acme", json!(1))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

// PostgreSQL only: it reads the tables with PostgreSQL's SQL (`TRUNCATE`); the store's
// tests/sqlite.rs checks SQLite's audit trail refuses UPDATE and DELETE.
#[sqlx::test(migrator = "provlog_store::postgres::MIGRATOR")]
async fn the_audit_trail_records_admin_actions_and_is_append_only(pool: PgPool) {
    let store = Store::postgres(pool.clone());
    let api = setup(store.clone(), |_| {}).await;
    let admin = api.admin().await;
    api.source(&admin, json!({"id": "acme", "display_name": "A"}))
        .await;
    api.send(
        "PATCH",
        "/v1/admin/sources/acme",
        Some(&admin),
        Some(&json!({"require_signature": true})),
    )
    .await;
    let signer = SourceSigner::new(SigningKey::from_bytes(&[4; 32]), "a1").unwrap();
    api.add_source_key(&admin, "acme", &signer).await;
    let (id, _) = api.create_key(&admin, "ingest", Some("acme")).await;
    api.key_action(&admin, &id, "rotate", None).await;
    api.key_action(&admin, &id, "revoke", None).await;
    let (s, v) = api
        .send("GET", "/v1/admin/audit?limit=3", Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["events"].as_array().unwrap().len(), 3);
    let next = v["next_after"].as_u64().unwrap();
    let (_, rest) = api
        .send(
            "GET",
            &format!("/v1/admin/audit?after={next}"),
            Some(&admin),
            None,
        )
        .await;
    let actions: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["events"].as_array().unwrap())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "key.created",
            "source.created",
            "source.changed",
            "source.key_added",
            "key.created",
            "key.rotated",
            "key.revoked"
        ]
    );
    let admin_id = &admin[4..16];
    assert!(
        rest["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == admin_id),
        "{rest}"
    );
    assert!(rest.get("next_after").is_none(), "{rest}");

    for sql in [
        "UPDATE audit_events SET actor = 'someone-else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let (s, _) = api
        .send("GET", "/v1/admin/audit", Some("plk_000000000000_x"), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, metrics) = api.send("GET", "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("provlog_audit_events_total{action=\"key.revoked\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("provlog_auth_failures_total{reason=\"unknown-key\"}"),
        "{metrics}"
    );
}

// PostgreSQL only: it dumps the tables with PostgreSQL's SQL (`t::text`).
#[sqlx::test(migrator = "provlog_store::postgres::MIGRATOR")]
async fn keys_are_not_recoverable_from_a_database_dump(pool: PgPool) {
    let store = Store::postgres(pool.clone());
    let api = setup(store.clone(), |c| {
        c.api_key_pepper = Secret::new("a-pepper-of-at-least-thirty-two-characters");
    })
    .await;
    let admin = api.admin().await;
    api.source(&admin, json!({"id": "acme", "display_name": "A"}))
        .await;
    let (id, ingest) = api.create_key(&admin, "ingest", Some("acme")).await;
    // plk_<12 hex digits>_<secret>; the secret's base64url may itself hold `_`.
    let secret = ingest[17..].to_string();
    assert_eq!(secret.len(), 43, "256 bits, base64url");

    // Everything the database holds, as text.
    let mut dump = String::new();
    for table in [
        "api_keys",
        "audit_events",
        "sources",
        "source_keys",
        "signature_nonces",
    ] {
        let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&pool)
            .await
            .unwrap();
        for (row,) in rows {
            dump.push_str(&row);
            dump.push('\n');
        }
    }
    assert!(dump.contains(&id), "the public id is stored");
    for token in [&ingest, &admin] {
        let secret = &token[17..];
        assert!(!dump.contains(secret), "a secret is in the dump");
    }
    assert!(!dump.contains(BOOTSTRAP));
    assert!(!dump.contains("a-pepper-of-at-least"));
    // The stored hash is keyed: without the pepper, hashing the token does not give it.
    let (stored,): (Vec<u8>,) = sqlx::query_as("SELECT key_hash FROM api_keys WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, api.state.trust.hash(&ingest));
    assert_ne!(
        stored,
        provlog_core::Hash::sha256(ingest.as_bytes())
            .as_bytes()
            .to_vec()
    );
    // Another pepper: the same token is an unknown key.
    let other = setup(store, |c| {
        c.api_key_pepper = Secret::new("another-pepper-of-at-least-32-characters");
    })
    .await;
    expect_problem(
        other.write(&ingest, &signal("acme", json!(1))).await,
        StatusCode::UNAUTHORIZED,
        "unknown-key",
    );
}
