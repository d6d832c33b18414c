//! Security evidence against the real `provlog serve` over PostgreSQL (issue 8, item 6):
//!
//! - `every_guarded_operation_of_the_spec_refuses_bad_credentials` (`sweep.rs`, over the
//!   operations of `routes.rs` and the cases of `refusals.rs`): every operation of
//!   `/openapi.json`, classified by its security requirement (an operation the sweep cannot
//!   classify, or has no plausible request for, fails it), is called with no credentials,
//!   malformed tokens, wrong-scope and wrong-source keys, revoked and rotated-away keys and the
//!   spent bootstrap token; each refusal is an exact 401 or 403 problem and changes nothing in the
//!   database. Reads are swept with `public_reads` off, then checked open with it on.
//! - `signed_submissions_cannot_be_replayed_or_moved` (`replay.rs`): replays, stale and future
//!   signatures, and signatures moved onto another body, URI or source.
//! - `no_secret_in_the_database_or_the_logs` (`secrets.rs`): a full session (bootstrap, keys,
//!   rotation, revocation, signed ingest, anchoring on anvil, failed attempts with real secrets in
//!   the wrong places) at the most verbose log level, with a database role that has a password;
//!   then `pg_dump` and the logs are searched for every secret in every encoding.
//! - `rate_limits_hold_under_concurrent_load` (`rate.rs`): one key hammered from concurrent tasks
//!   stays within its token bucket; another key is unaffected; failed authentication floods are
//!   measured.
//!
//! `PROVLOG_SECURITY_FULL=1` runs the full size; `PROVLOG_SECURITY_*` variables (in each module)
//! set each figure on its own.
#![allow(clippy::unwrap_used)]

mod rate;
mod refusals;
mod replay;
mod routes;
mod secrets;
mod sweep;

use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use provlog_client::SourceSigner;
use provlog_e2e::security::{Body, Http, Resp};
use provlog_e2e::{Fixture, Server, TestDb};
use rand::RngCore;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;

fn summary(line: String) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

/// A source signer with a new random key.
fn random_signer(key_id: &str) -> SourceSigner {
    SourceSigner::new(SigningKey::from_bytes(&random_bytes()), key_id).unwrap()
}

/// Stops `server` cleanly and drops its database.
async fn stop(server: Server, db: TestDb) {
    assert!(server.terminate(Duration::from_secs(15)).success());
    db.drop_db().await;
}

fn token(resp: &Resp) -> (String, String) {
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.body);
    (
        resp.body["key"]["id"].as_str().unwrap().to_string(),
        resp.body["token"].as_str().unwrap().to_string(),
    )
}

/// Bootstraps the first admin key with the fixture's token.
async fn bootstrap(http: &Http, fx: &Fixture) -> String {
    token(
        &http
            .bearer(
                &Method::POST,
                "/v1/admin/bootstrap",
                Some(&fx.token),
                &Body::None,
            )
            .await,
    )
    .1
}

async fn create_source(http: &Http, admin: &str, body: Value) {
    let r = admin_post(http, admin, "/v1/admin/sources", Body::Json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// Registers `signer`'s key (under its key id) for `source`, with its proof of possession for
/// the log's origin.
async fn add_source_key(http: &Http, admin: &str, source: &str, signer: &SourceSigner) {
    let log = get(http, "/v1/log", Some(admin)).await;
    let origin = log.body["origin"]
        .as_str()
        .expect("GET /v1/log names the origin");
    let proof = signer.prove_possession(origin, source).unwrap();
    let body = json!({"key_id": signer.key_id(), "public_key": signer.public_key_base64(),
        "proof": proof});
    let path = format!("/v1/admin/sources/{source}/keys");
    let r = admin_post(http, admin, &path, Body::Json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// A new API key: (id, token).
async fn create_key(
    http: &Http,
    admin: &str,
    scope: &str,
    source: Option<&str>,
    label: &str,
) -> (String, String) {
    let mut body = json!({"scope": scope, "label": label});
    if let Some(s) = source {
        body["source"] = json!(s);
    }
    token(&admin_post(http, admin, "/v1/admin/keys", Body::Json(body)).await)
}

async fn admin_post(http: &Http, admin: &str, path: &str, body: Body) -> Resp {
    http.bearer(&Method::POST, path, Some(admin), &body).await
}

/// `POST /v1/records` of `body` with the API key `key`, unsigned.
async fn post_record(http: &Http, key: &str, body: Value) -> Resp {
    http.bearer(&Method::POST, "/v1/records", Some(key), &Body::Json(body))
        .await
}

/// `GET path` with the API key `key` (or none).
async fn get(http: &Http, path: &str, key: Option<&str>) -> Resp {
    http.bearer(&Method::GET, path, key, &Body::None).await
}
