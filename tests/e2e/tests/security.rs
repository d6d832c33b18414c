//! Security evidence against the real `provlog serve` over PostgreSQL (issue 8, item 6):
//!
//! - `every_guarded_operation_of_the_spec_refuses_bad_credentials`: every operation of
//!   `/openapi.json`, classified by its security requirement (an operation the sweep cannot
//!   classify, or has no plausible request for, fails it), is called with no credentials,
//!   malformed tokens, wrong-scope and wrong-source keys, revoked and rotated-away keys and the
//!   spent bootstrap token; each refusal is an exact 401 or 403 problem and changes nothing in the
//!   database. Reads are swept with `public_reads` off, then checked open with it on.
//! - `signed_submissions_cannot_be_replayed_or_moved`: replays, stale and future signatures, and
//!   signatures moved onto another body, URI or source.
//! - `no_secret_in_the_database_or_the_logs`: a full session (bootstrap, keys, rotation,
//!   revocation, signed ingest, anchoring on anvil, failed attempts with real secrets in the
//!   wrong places) at the most verbose log level, with a database role that has a password; then
//!   `pg_dump` and the logs are searched for every secret in every encoding.
//! - `rate_limits_hold_under_concurrent_load`: one key hammered from concurrent tasks stays within
//!   its token bucket; another key is unaffected; failed authentication floods are measured.
//!
//! `PROVLOG_SECURITY_FULL=1` runs the full size; `PROVLOG_SECURITY_*` variables (below) set each
//! figure on its own.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::SigningKey;
use provlog_client::{random_nonce, signal, SourceSigner};
use provlog_core::httpsig::SignatureParams;
use provlog_e2e::security::{
    env_or, fingerprint, full_run, record_count, Body, Http, Resp, Secret,
};
use provlog_e2e::{wait_for, Fixture, Server, TestDb};
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
    let r = http
        .bearer(
            &Method::POST,
            "/v1/admin/sources",
            Some(admin),
            &Body::Json(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn add_source_key(http: &Http, admin: &str, source: &str, key_id: &str, public: &str) {
    let r = http
        .bearer(
            &Method::POST,
            &format!("/v1/admin/sources/{source}/keys"),
            Some(admin),
            &Body::Json(json!({"key_id": key_id, "public_key": public})),
        )
        .await;
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
    token(
        &http
            .bearer(
                &Method::POST,
                "/v1/admin/keys",
                Some(admin),
                &Body::Json(body),
            )
            .await,
    )
}

async fn admin_post(http: &Http, admin: &str, path: &str, body: Body) -> Resp {
    http.bearer(&Method::POST, path, Some(admin), &body).await
}

// ---------------------------------------------------------------------------------------------
// 1. The route sweep.

/// Who may call an operation, as its security requirement in the spec says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// `[{}]`: anyone (health, metrics, the API description).
    Open,
    /// `[{}, {"bearer": ["read"]}]`: anyone while reads are public, else any API key.
    Read,
    /// `[{"bearer": ["ingest"]}]`.
    Write,
    /// `[{"bearer": ["admin"]}]`.
    Admin,
    /// `[{"bearer": ["bootstrap"]}]`: the bootstrap token itself.
    Bootstrap,
}

fn classify(op: &Value) -> Result<Class, String> {
    let security = op["security"].as_array().ok_or("no security requirement")?;
    let mut anonymous = false;
    let mut roles = vec![];
    for requirement in security {
        let map = requirement
            .as_object()
            .ok_or("a requirement is not an object")?;
        if map.is_empty() {
            anonymous = true;
            continue;
        }
        for (scheme, scopes) in map {
            if scheme != "bearer" {
                return Err(format!("unknown scheme {scheme}"));
            }
            match scopes.as_array().map(Vec::as_slice) {
                Some([Value::String(role)]) => roles.push(role.clone()),
                _ => return Err(format!("bearer roles {scopes}")),
            }
        }
    }
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    match (anonymous, roles.as_slice()) {
        (true, []) => Ok(Class::Open),
        (true, ["read"]) => Ok(Class::Read),
        (false, ["ingest"]) => Ok(Class::Write),
        (false, ["admin"]) => Ok(Class::Admin),
        (false, ["bootstrap"]) => Ok(Class::Bootstrap),
        other => Err(format!("unclassifiable security {other:?}")),
    }
}

const SRC_A: &str = "sweep-a";
const SRC_B: &str = "sweep-b";

/// Values the sweep fills path parameters and bodies with.
struct Ctx {
    rotate_victim: String,
    revoke_victim: String,
    receipt: Value,
    new_source_key: String,
}

/// A plausible request for each operation of the spec: the path with its parameters filled and
/// a body the route accepts with the right credentials. `None` for an operation this sweep does
/// not know: a new route must be added here (the sweep fails until it is).
fn plausible(method: &str, path: &str, cx: &Ctx) -> Option<(String, Body)> {
    let none = |p: &str| Some((p.to_string(), Body::None));
    match (method, path) {
        ("post", "/v1/records") => Some((
            path.into(),
            Body::Json(signal(SRC_A, json!({"sweep": "refused"}))),
        )),
        ("post", "/v1/records/snapshot") => Some((
            format!("{path}?source={SRC_A}"),
            Body::Ndjson("{\"item\":1}\n{\"item\":2}\n".into()),
        )),
        ("get", "/v1/records") => none("/v1/records?limit=5"),
        ("get", "/v1/records/{id}") => none("/v1/records/0"),
        ("get", "/v1/records/{id}/lineage") => none("/v1/records/1/lineage"),
        ("get", "/v1/records/{id}/receipt") => none("/v1/records/0/receipt"),
        ("get", "/v1/checkpoint") => none(path),
        ("get", "/v1/checkpoints") => none("/v1/checkpoints?limit=5"),
        ("get", "/v1/anchors") => none(path),
        ("get", "/v1/proofs/consistency") => none("/v1/proofs/consistency?from=1&to=2"),
        ("get", "/v1/log") => none(path),
        ("post", "/v1/verify") => Some((path.into(), Body::Json(cx.receipt.clone()))),
        ("get", "/checkpoint") => none(path),
        ("get", "/tile/{path}") => none("/tile/0/000.p/2"),
        ("get", "/healthz") | ("get", "/readyz") | ("get", "/metrics") => none(path),
        ("get", "/openapi.json") => none(path),
        ("post", "/v1/admin/bootstrap") => none(path),
        ("get", "/v1/admin/sources") => none(path),
        ("post", "/v1/admin/sources") => Some((
            path.into(),
            Body::Json(json!({"id": "sweep-new", "display_name": "Made by the sweep"})),
        )),
        ("get", "/v1/admin/sources/{id}") => none(&format!("/v1/admin/sources/{SRC_A}")),
        ("patch", "/v1/admin/sources/{id}") => Some((
            format!("/v1/admin/sources/{SRC_A}"),
            Body::Json(json!({"display_name": "Renamed by the sweep", "schema_policy": "flag"})),
        )),
        ("post", "/v1/admin/sources/{id}/keys") => Some((
            format!("/v1/admin/sources/{SRC_A}/keys"),
            Body::Json(json!({"key_id": "k2", "public_key": cx.new_source_key})),
        )),
        ("delete", "/v1/admin/sources/{id}/keys/{key_id}") => {
            none(&format!("/v1/admin/sources/{SRC_A}/keys/k1"))
        }
        ("get", "/v1/admin/keys") => none(path),
        ("post", "/v1/admin/keys") => Some((
            path.into(),
            Body::Json(json!({"scope": "admin", "label": "made by the sweep"})),
        )),
        ("post", "/v1/admin/keys/{id}/rotate") => Some((
            format!("/v1/admin/keys/{}/rotate", cx.rotate_victim),
            Body::Json(json!({"overlap_ms": 0})),
        )),
        ("post", "/v1/admin/keys/{id}/revoke") => {
            none(&format!("/v1/admin/keys/{}/revoke", cx.revoke_victim))
        }
        ("get", "/v1/admin/audit") => none("/v1/admin/audit?limit=5"),
        _ => None,
    }
}

struct Op {
    method: Method,
    template: String,
    class: Class,
    path: String,
    body: Body,
}

/// Every operation of the served spec, classified, with its plausible request.
fn operations(doc: &Value, cx: &Ctx) -> Vec<Op> {
    let mut ops = vec![];
    let mut problems = vec![];
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if ![
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            let class = match classify(op) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("{method} {template}: {e}"));
                    continue;
                }
            };
            let Some((path, body)) = plausible(method, template, cx) else {
                problems.push(format!(
                    "{method} {template}: no plausible request in this sweep; add one"
                ));
                continue;
            };
            ops.push(Op {
                method: method.to_uppercase().parse().unwrap(),
                template: template.clone(),
                class,
                path,
                body,
            });
        }
    }
    assert!(
        problems.is_empty(),
        "operations the sweep cannot cover: {problems:#?}"
    );
    ops
}

/// A refusal case: what is sent as `Authorization` (and other headers), and the exact answer.
struct Case {
    what: &'static str,
    authorization: Option<String>,
    headers: Vec<(&'static str, String)>,
    status: StatusCode,
    slug: &'static str,
}

fn case(
    what: &'static str,
    authorization: Option<String>,
    status: StatusCode,
    slug: &'static str,
) -> Case {
    Case {
        what,
        authorization,
        headers: vec![],
        status,
        slug,
    }
}

fn bearer(t: &str) -> Option<String> {
    Some(format!("Bearer {t}"))
}

/// The keys the sweep refuses or uses.
struct Keys {
    admin: String,
    ingest_a: String,
    ingest_b: String,
    read: String,
    revoked: BTreeMap<&'static str, String>,
    rotated: BTreeMap<&'static str, String>,
    bootstrap: String,
}

/// Cases that every guarded operation refuses the same way: no or malformed credentials.
fn credential_cases(k: &Keys) -> Vec<Case> {
    let wrong_secret = format!("{}{}", &k.ingest_a[..17], "A".repeat(43));
    let mut wrong_last = k.admin.clone();
    let last = wrong_last.pop().unwrap();
    wrong_last.push(if last == 'A' { 'B' } else { 'A' });
    let mut cases = vec![
        case("no credentials", None, UNAUTHORIZED, "unauthorized"),
        case(
            "a Basic credential",
            Some(format!(
                "Basic {}",
                BASE64_STANDARD.encode(format!("admin:{}", k.admin))
            )),
            UNAUTHORIZED,
            "unauthorized",
        ),
        case(
            "a lowercase bearer scheme",
            Some(format!("bearer {}", k.admin)),
            UNAUTHORIZED,
            "unauthorized",
        ),
        case(
            "a random bearer token",
            bearer("not-a-key-at-all-0123456789"),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "a key id that is not hex",
            bearer("plk_zzzzzzzzzzzz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "an unknown key id",
            bearer("plk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "a real id with another secret",
            bearer(&wrong_secret),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "the admin key with its last character changed",
            bearer(&wrong_last),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "a truncated key",
            bearer(&k.admin[..k.admin.len() - 1]),
            UNAUTHORIZED,
            "unknown-key",
        ),
        case(
            "the spent bootstrap token",
            bearer(&k.bootstrap),
            UNAUTHORIZED,
            "bootstrap-spent",
        ),
    ];
    cases.push(Case {
        what: "the admin key in X-Api-Key",
        authorization: None,
        headers: vec![("x-api-key", k.admin.clone())],
        status: UNAUTHORIZED,
        slug: "unauthorized",
    });
    cases
}

/// The cases of one class of operation.
fn cases_for(class: Class, k: &Keys) -> Vec<Case> {
    let mut cases = credential_cases(k);
    let revoked = |scope: &str| bearer(&k.revoked[scope]);
    let rotated = |scope: &str| bearer(&k.rotated[scope]);
    match class {
        Class::Write => {
            cases.push(case(
                "a read key",
                bearer(&k.read),
                FORBIDDEN,
                "wrong-scope",
            ));
            cases.push(case(
                "an admin key",
                bearer(&k.admin),
                FORBIDDEN,
                "wrong-scope",
            ));
            cases.push(case(
                "an ingest key of another source",
                bearer(&k.ingest_b),
                FORBIDDEN,
                "wrong-source",
            ));
            cases.push(case(
                "a revoked ingest key",
                revoked("ingest"),
                UNAUTHORIZED,
                "key-revoked",
            ));
            cases.push(case(
                "a rotated-away ingest key",
                rotated("ingest"),
                UNAUTHORIZED,
                "key-expired",
            ));
        }
        Class::Admin => {
            cases.push(case(
                "an ingest key",
                bearer(&k.ingest_a),
                FORBIDDEN,
                "wrong-scope",
            ));
            cases.push(case(
                "a read key",
                bearer(&k.read),
                FORBIDDEN,
                "wrong-scope",
            ));
            cases.push(case(
                "a revoked admin key",
                revoked("admin"),
                UNAUTHORIZED,
                "key-revoked",
            ));
            cases.push(case(
                "a rotated-away admin key",
                rotated("admin"),
                UNAUTHORIZED,
                "key-expired",
            ));
        }
        Class::Read => {
            // Any scope reads; only dead keys are refused.
            for scope in ["read", "ingest", "admin"] {
                cases.push(case(
                    "a revoked key",
                    revoked(scope),
                    UNAUTHORIZED,
                    "key-revoked",
                ));
                cases.push(case(
                    "a rotated-away key",
                    rotated(scope),
                    UNAUTHORIZED,
                    "key-expired",
                ));
            }
        }
        Class::Bootstrap => {
            // Only the bootstrap token itself counts here: every API key is an unknown token,
            // and the spent bootstrap token is answered 409 (it proves who calls; the answer
            // is that the one admin key it could make exists).
            cases.retain(|c| c.slug != "bootstrap-spent");
            for (what, t) in [
                ("the admin key", &k.admin),
                ("an ingest key", &k.ingest_a),
                ("a read key", &k.read),
            ] {
                cases.push(case(what, bearer(t), UNAUTHORIZED, "unknown-key"));
            }
            cases.push(case(
                "the spent bootstrap token",
                bearer(&k.bootstrap),
                StatusCode::CONFLICT,
                "conflict",
            ));
        }
        Class::Open => cases.clear(),
    }
    cases
}

/// Sends each case to each operation of `classes`; asserts the exact refusal and that the
/// database did not change. Returns the number of cases sent.
async fn sweep(
    http: &Http,
    db: &TestDb,
    ops: &[Op],
    classes: &[Class],
    keys: &Keys,
    tally: &mut BTreeMap<String, usize>,
) -> usize {
    let before = fingerprint(db).await;
    let mut sent = 0;
    for op in ops.iter().filter(|o| classes.contains(&o.class)) {
        for c in cases_for(op.class, keys) {
            let headers: Vec<(&str, &str)> =
                c.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = http
                .call(
                    &op.method,
                    &op.path,
                    c.authorization.as_deref(),
                    &headers,
                    &op.body,
                )
                .await;
            let what = format!("{} {} ({:?}) with {}", op.method, op.path, op.class, c.what);
            r.assert_problem(c.status, c.slug, &what);
            let after = fingerprint(db).await;
            assert_eq!(after, before, "{what} changed the database");
            sent += 1;
            *tally
                .entry(format!("{:?}", op.class).to_lowercase())
                .or_default() += 1;
        }
    }
    sent
}

#[tokio::test(flavor = "multi_thread")]
async fn every_guarded_operation_of_the_spec_refuses_bad_credentials() {
    let started = Instant::now();
    let fx = Fixture::new("example.com/provlog/e2e-security-sweep");
    let db = TestDb::create("security_sweep").await;
    const OVERLAP_MS: u64 = 2_000;
    let overlap = OVERLAP_MS.to_string();
    let env = |public: &'static str| {
        vec![
            ("PROVLOG_PUBLIC_READS", public.to_string()),
            ("PROVLOG_KEY_ROTATION_OVERLAP_MS", overlap.clone()),
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "100".to_string()),
        ]
    };
    let private = env("false");
    let private: Vec<(&str, &str)> = private.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&fx, &db.url, &private);
    let http = Http::new(&server.url());

    // The spec is open, and read anonymously.
    let doc = http
        .bearer(&Method::GET, "/openapi.json", None, &Body::None)
        .await;
    assert_eq!(doc.status, StatusCode::OK, "{}", doc.body);
    let doc = doc.body;

    // Before the bootstrap: the token writes for any source and makes the first admin key,
    // nothing else; admin routes refuse it (403: it authenticates, as no admin).
    let r = http
        .bearer(&Method::GET, "/v1/admin/keys", Some(&fx.token), &Body::None)
        .await;
    r.assert_problem(
        FORBIDDEN,
        "wrong-scope",
        "the bootstrap token on an admin route",
    );
    let r = http
        .bearer(&Method::POST, "/v1/admin/bootstrap", None, &Body::None)
        .await;
    r.assert_problem(UNAUTHORIZED, "unauthorized", "bootstrap without a token");
    let r = http
        .bearer(
            &Method::POST,
            "/v1/admin/bootstrap",
            Some("a-guess-at-the-bootstrap-token"),
            &Body::None,
        )
        .await;
    r.assert_problem(UNAUTHORIZED, "unknown-key", "bootstrap with a wrong token");
    let admin = bootstrap(&http, &fx).await;

    create_source(
        &http,
        &admin,
        json!({"id": SRC_A, "display_name": "Sweep A"}),
    )
    .await;
    create_source(
        &http,
        &admin,
        json!({"id": SRC_B, "display_name": "Sweep B"}),
    )
    .await;
    let source_key = SigningKey::from_bytes(&random_bytes());
    let signer = SourceSigner::new(source_key, "k1").unwrap();
    add_source_key(&http, &admin, SRC_A, "k1", &signer.public_key_base64()).await;
    let (_, ingest_a) = create_key(&http, &admin, "ingest", Some(SRC_A), "a").await;
    let (_, ingest_b) = create_key(&http, &admin, "ingest", Some(SRC_B), "b").await;
    let (_, read) = create_key(&http, &admin, "read", None, "reader").await;
    let (rotate_victim, _) = create_key(&http, &admin, "read", None, "to rotate").await;
    let (revoke_victim, _) = create_key(&http, &admin, "read", None, "to revoke").await;

    // One revoked and one rotated-away key of each scope.
    let mut revoked = BTreeMap::new();
    let mut rotated = BTreeMap::new();
    let mut rotated_ids = vec![];
    let mut rotated_at = Instant::now();
    for scope in ["ingest", "read", "admin"] {
        let source = (scope == "ingest").then_some(SRC_A);
        let (id, t) = create_key(&http, &admin, scope, source, "revoked").await;
        let r = admin_post(
            &http,
            &admin,
            &format!("/v1/admin/keys/{id}/revoke"),
            Body::None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        revoked.insert(scope, t);
        let (id, t) = create_key(&http, &admin, scope, source, "rotated").await;
        rotated_at = Instant::now();
        // No overlap in the body: the configured PROVLOG_KEY_ROTATION_OVERLAP_MS applies.
        let r = admin_post(
            &http,
            &admin,
            &format!("/v1/admin/keys/{id}/rotate"),
            Body::None,
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        rotated.insert(scope, t);
        rotated_ids.push(id);
    }
    // Within the overlap the old admin key still works (the setting is honoured, not 0) ...
    let r = http
        .bearer(
            &Method::GET,
            "/v1/admin/keys",
            Some(&rotated["admin"]),
            &Body::None,
        )
        .await;
    if rotated_at.elapsed() < Duration::from_millis(OVERLAP_MS) {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }

    // Two records (the second a child of the first) and a checkpoint over them, so that every
    // read has something to answer.
    let first = http
        .bearer(
            &Method::POST,
            "/v1/records",
            Some(&ingest_a),
            &Body::Json(signal(SRC_A, json!({"n": 0}))),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let leaf = first.body["records"][0]["leaf_hash"]
        .as_str()
        .unwrap()
        .to_string();
    let mut child = signal(SRC_A, json!({"n": 1}));
    child["parents"] = json!([leaf]);
    let second = http
        .bearer(
            &Method::POST,
            "/v1/records",
            Some(&ingest_a),
            &Body::Json(child),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    wait_for(
        "a checkpoint of size 2",
        Duration::from_secs(20),
        || async {
            let r = http
                .bearer(&Method::GET, "/v1/log", Some(&read), &Body::None)
                .await;
            (r.body["checkpoint_size"].as_u64() >= Some(2)).then_some(())
        },
    )
    .await;
    let receipt = http
        .bearer(
            &Method::GET,
            "/v1/records/0/receipt",
            Some(&read),
            &Body::None,
        )
        .await;
    assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);

    // ... and after it, the rotated-away keys are expired.
    let wait = Duration::from_millis(OVERLAP_MS + 200).saturating_sub(rotated_at.elapsed());
    tokio::time::sleep(wait).await;
    let listed = http
        .bearer(&Method::GET, "/v1/admin/keys", Some(&admin), &Body::None)
        .await;
    let statuses: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| rotated_ids.iter().any(|id| k["id"] == id.as_str()))
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["expired"; 3], "{}", listed.body);

    let cx = Ctx {
        rotate_victim,
        revoke_victim,
        receipt: receipt.body,
        new_source_key: SourceSigner::new(SigningKey::from_bytes(&random_bytes()), "k2")
            .unwrap()
            .public_key_base64(),
    };
    let ops = operations(&doc, &cx);
    let mut per_class: BTreeMap<Class, usize> = BTreeMap::new();
    for op in &ops {
        *per_class.entry(op.class).or_default() += 1;
    }
    // What the server routes today; a new route changes these counts on purpose.
    assert_eq!(per_class[&Class::Write], 2, "{per_class:?}");
    assert_eq!(per_class[&Class::Admin], 11, "{per_class:?}");
    assert_eq!(per_class[&Class::Bootstrap], 1, "{per_class:?}");
    assert!(per_class[&Class::Read] >= 12, "{per_class:?}");
    for op in &ops {
        let admin_path = op.template.starts_with("/v1/admin/");
        assert_eq!(
            admin_path,
            matches!(op.class, Class::Admin | Class::Bootstrap),
            "{} {}: {:?}",
            op.method,
            op.template,
            op.class
        );
    }

    let keys = Keys {
        admin: admin.clone(),
        ingest_a: ingest_a.clone(),
        ingest_b,
        read: read.clone(),
        revoked,
        rotated,
        bootstrap: fx.token.clone(),
    };
    let mut tally = BTreeMap::new();
    let records_before = record_count(&db).await;
    // Reads are private: every class but the open one refuses.
    let private_cases = sweep(
        &http,
        &db,
        &ops,
        &[Class::Write, Class::Admin, Class::Bootstrap, Class::Read],
        &keys,
        &mut tally,
    )
    .await;
    assert_eq!(record_count(&db).await, records_before);
    // The open operations answer anyone; every read answers a read key (and an ingest key).
    let mut accepted = 0;
    for op in &ops {
        let tokens: &[Option<&str>] = match op.class {
            Class::Open => &[None],
            Class::Read => &[Some(&read), Some(&ingest_a)],
            _ => &[],
        };
        for t in tokens {
            let r = http.bearer(&op.method, &op.path, *t, &op.body).await;
            assert!(
                r.status.is_success(),
                "{} {} with {t:?}: {} {}",
                op.method,
                op.path,
                r.status,
                r.body
            );
            accepted += 1;
        }
        if op.class == Class::Read {
            let r = http.bearer(&op.method, &op.path, None, &op.body).await;
            r.assert_problem(
                UNAUTHORIZED,
                "unauthorized",
                &format!("{} {} anonymously", op.method, op.path),
            );
        }
    }
    assert!(server.terminate(Duration::from_secs(15)).success());

    // Public reads: the same database and keys; reads answer anyone, nothing else does.
    let public = env("true");
    let public: Vec<(&str, &str)> = public.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&fx, &db.url, &public);
    let http = Http::new(&server.url());
    for op in ops.iter().filter(|o| o.class == Class::Read) {
        let r = http.bearer(&op.method, &op.path, None, &op.body).await;
        assert!(
            r.status.is_success(),
            "{} {} anonymously: {} {}",
            op.method,
            op.path,
            r.status,
            r.body
        );
        accepted += 1;
    }
    let public_cases = sweep(
        &http,
        &db,
        &ops,
        &[Class::Write, Class::Admin, Class::Bootstrap],
        &keys,
        &mut tally,
    )
    .await;
    // The plausible requests are accepted with the right credentials: the refusals above were
    // the credentials' doing, not the requests'.
    for op in ops
        .iter()
        .filter(|o| matches!(o.class, Class::Write | Class::Admin))
    {
        let t = if op.class == Class::Write {
            &ingest_a
        } else {
            &admin
        };
        let r = http.bearer(&op.method, &op.path, Some(t), &op.body).await;
        assert!(
            r.status.is_success(),
            "{} {}: {} {}",
            op.method,
            op.path,
            r.status,
            r.body
        );
        accepted += 1;
    }
    assert_eq!(record_count(&db).await, records_before + 2);
    assert!(server.terminate(Duration::from_secs(15)).success());
    db.drop_db().await;
    summary(format!(
        "security-sweep: {} operations from /openapi.json ({} read, {} write, {} admin, 1 bootstrap, {} open); \
         {} refusals checked with public_reads off and {} with it on ({}), each the exact 401/403 problem \
         and no database change; {} accepted calls with the right credentials; {:.1} s",
        ops.len(),
        per_class[&Class::Read],
        per_class[&Class::Write],
        per_class[&Class::Admin],
        per_class.get(&Class::Open).copied().unwrap_or(0),
        private_cases,
        public_cases,
        tally
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        accepted,
        started.elapsed().as_secs_f64()
    ));
}

// ---------------------------------------------------------------------------------------------
// 2. Replay.

/// A signed submission of one record, ready to send (or to tamper with).
#[derive(Clone)]
struct SignedReq {
    record: Value,
    headers: provlog_core::httpsig::SignedHeaders,
}

/// `record` signed by `signer` at `created` (record and request), for `POST {base}{path}`.
fn sign(
    signer: &SourceSigner,
    base: &str,
    path: &str,
    mut record: Value,
    created: u64,
) -> SignedReq {
    signer
        .sign_record_at(&mut record, created, &random_nonce())
        .unwrap();
    let body = record.to_string();
    let headers = signer
        .sign_request_with(
            "POST",
            &format!("{base}{path}"),
            body.as_bytes(),
            &SignatureParams {
                created,
                expires: created.max(unix_now()) + 60,
                nonce: random_nonce(),
                keyid: signer.key_id().to_string(),
            },
        )
        .unwrap();
    SignedReq { record, headers }
}

async fn send_signed(
    http: &Http,
    path: &str,
    token: &str,
    s: &SignedReq,
    body: Option<&Value>,
    extra: &[(&str, &str)],
) -> Resp {
    let mut headers = vec![
        ("content-digest", s.headers.content_digest.as_str()),
        ("signature-input", s.headers.signature_input.as_str()),
        ("signature", s.headers.signature.as_str()),
    ];
    headers.extend_from_slice(extra);
    let auth = format!("Bearer {token}");
    http.call(
        &Method::POST,
        path,
        Some(&auth),
        &headers,
        &Body::Json(body.unwrap_or(&s.record).clone()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_submissions_cannot_be_replayed_or_moved() {
    let started = Instant::now();
    let replays = env_or(
        "PROVLOG_SECURITY_REPLAYS",
        if full_run() { 1000 } else { 20 },
    ) as usize;
    const MAX_AGE: u64 = 120;
    const SKEW: u64 = 10;
    let fx = Fixture::new("example.com/provlog/e2e-security-replay");
    let db = TestDb::create("security_replay").await;
    let env = [
        ("PROVLOG_SIGNATURE_MAX_AGE_SECS", "120"),
        ("PROVLOG_SIGNATURE_MAX_SKEW_SECS", "10"),
    ];
    let server = Server::start(&fx, &db.url, &env);
    let base = server.url();
    let http = Http::new(&base);
    let admin = bootstrap(&http, &fx).await;
    for id in ["sig-a", "sig-b"] {
        create_source(
            &http,
            &admin,
            json!({"id": id, "display_name": id, "require_signature": true}),
        )
        .await;
    }
    let a = SourceSigner::new(SigningKey::from_bytes(&random_bytes()), "k1").unwrap();
    let a_only = SourceSigner::new(SigningKey::from_bytes(&random_bytes()), "a-only").unwrap();
    let b = SourceSigner::new(SigningKey::from_bytes(&random_bytes()), "k1").unwrap();
    add_source_key(&http, &admin, "sig-a", "k1", &a.public_key_base64()).await;
    add_source_key(
        &http,
        &admin,
        "sig-a",
        "a-only",
        &a_only.public_key_base64(),
    )
    .await;
    add_source_key(&http, &admin, "sig-b", "k1", &b.public_key_base64()).await;
    let (_, ingest_a) = create_key(&http, &admin, "ingest", Some("sig-a"), "a").await;
    let (_, ingest_b) = create_key(&http, &admin, "ingest", Some("sig-b"), "b").await;
    let rec = |source: &str, n: u64| signal(source, json!({"price": n}));
    let p = "/v1/records";
    let now = unix_now();

    let mut refusals = 0usize;
    // Each refusal: exact problem, and nothing changed (no record, no nonce burnt, nothing).
    macro_rules! refused {
        ($resp:expr, $status:expr, $slug:expr, $what:expr) => {{
            let before = fingerprint(&db).await;
            let r = $resp;
            r.assert_problem($status, $slug, $what);
            assert_eq!(
                fingerprint(&db).await,
                before,
                "{} changed the database",
                $what
            );
            refusals += 1;
        }};
    }

    // Accepted once; the same bytes again are refused (the design: "a signed request is
    // accepted once", docs/architecture.md), with or without an Idempotency-Key.
    let ok = sign(&a, &base, p, rec("sig-a", 1), now);
    let r = send_signed(&http, p, &ingest_a, &ok, None, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    refused!(
        send_signed(&http, p, &ingest_a, &ok, None, &[]).await,
        UNAUTHORIZED,
        "replayed-nonce",
        "a verbatim replay"
    );
    let keyed = sign(&a, &base, p, rec("sig-a", 2), now);
    let idem = [("idempotency-key", "replay-test-1")];
    let first = send_signed(&http, p, &ingest_a, &keyed, None, &idem).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    refused!(
        send_signed(&http, p, &ingest_a, &keyed, None, &idem).await,
        UNAUTHORIZED,
        "replayed-nonce",
        "a verbatim replay with its Idempotency-Key"
    );
    // A retry by the source itself signs the request afresh: the Idempotency-Key answers it
    // with the first record, and no second record is made.
    let records = record_count(&db).await;
    let mut retry = keyed.clone();
    retry.headers = a
        .sign_request_with(
            "POST",
            &format!("{base}{p}"),
            keyed.record.to_string().as_bytes(),
            &SignatureParams {
                created: unix_now(),
                expires: unix_now() + 60,
                nonce: random_nonce(),
                keyid: "k1".into(),
            },
        )
        .unwrap();
    let again = send_signed(&http, p, &ingest_a, &retry, None, &idem).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.body["records"], first.body["records"]);
    assert_eq!(record_count(&db).await, records);

    // The clock window: the configured max age and skew, on both sides of each bound.
    let stale = sign(&a, &base, p, rec("sig-a", 3), now - MAX_AGE - 30);
    refused!(
        send_signed(&http, p, &ingest_a, &stale, None, &[]).await,
        UNAUTHORIZED,
        "signature-expired",
        "a signature older than the max age"
    );
    let future = sign(&a, &base, p, rec("sig-a", 4), now + SKEW + 30);
    refused!(
        send_signed(&http, p, &ingest_a, &future, None, &[]).await,
        UNAUTHORIZED,
        "signature-from-future",
        "a signature further ahead than the skew"
    );
    for (what, created) in [
        ("old but within the max age", now - MAX_AGE + 20),
        ("ahead but within the skew", now + SKEW - 5),
    ] {
        let s = sign(&a, &base, p, rec("sig-a", created), created);
        let r = send_signed(&http, p, &ingest_a, &s, None, &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{what}: {}", r.body);
    }

    // Moved onto another body: with the signed digest, the digest is wrong (400); with the
    // digest recomputed, the signature is (401).
    let captured = sign(&a, &base, p, rec("sig-a", 5), unix_now());
    let mut other = captured.record.clone();
    other["payload"] = json!({"price": 999_999});
    refused!(
        send_signed(&http, p, &ingest_a, &captured, Some(&other), &[]).await,
        StatusCode::BAD_REQUEST,
        "digest-mismatch",
        "a signature moved onto another body"
    );
    let mut moved = captured.clone();
    moved.headers.content_digest =
        provlog_core::httpsig::content_digest(other.to_string().as_bytes());
    refused!(
        send_signed(&http, p, &ingest_a, &moved, Some(&other), &[]).await,
        UNAUTHORIZED,
        "bad-signature",
        "a signature moved onto another body, digest recomputed"
    );
    // Onto another URI (here: the same route asking for receipts).
    refused!(
        send_signed(
            &http,
            "/v1/records?wait=receipt",
            &ingest_a,
            &captured,
            None,
            &[]
        )
        .await,
        UNAUTHORIZED,
        "bad-signature",
        "a signature moved onto another URI"
    );
    // Onto another source: with that source's ingest key, A's request is for A (403); a record
    // for B signed by A's key under B's key id is a bad signature; under a key id only A has,
    // an unknown key; a request B signed around a record A signed carries A's record signature,
    // which B's registry does not hold.
    refused!(
        send_signed(&http, p, &ingest_b, &captured, None, &[]).await,
        FORBIDDEN,
        "wrong-source",
        "A's signed request with B's ingest key"
    );
    let a_for_b = sign(&a, &base, p, rec("sig-b", 6), unix_now());
    refused!(
        send_signed(&http, p, &ingest_b, &a_for_b, None, &[]).await,
        UNAUTHORIZED,
        "bad-signature",
        "A's key signing for B under B's key id"
    );
    let a_only_for_b = sign(&a_only, &base, p, rec("sig-b", 7), unix_now());
    refused!(
        send_signed(&http, p, &ingest_b, &a_only_for_b, None, &[]).await,
        UNAUTHORIZED,
        "unknown-signing-key",
        "a key id only A has, signing for B"
    );
    let mut record = rec("sig-b", 8);
    a.sign_record_at(&mut record, unix_now(), &random_nonce())
        .unwrap();
    let wrapped = SignedReq {
        headers: b
            .sign_request_with(
                "POST",
                &format!("{base}{p}"),
                record.to_string().as_bytes(),
                &SignatureParams {
                    created: unix_now(),
                    expires: unix_now() + 60,
                    nonce: random_nonce(),
                    keyid: "k1".into(),
                },
            )
            .unwrap(),
        record,
    };
    // Its request signature is B's own and valid, so its nonce is spent (docs/architecture.md:
    // nonces are recorded once the request signature verified); nothing else changes.
    let before = fingerprint(&db).await;
    send_signed(&http, p, &ingest_b, &wrapped, None, &[])
        .await
        .assert_problem(
            UNAUTHORIZED,
            "unknown-signing-key",
            "B's request around a record A signed",
        );
    let mut after = fingerprint(&db).await;
    assert_ne!(
        after.remove("signature_nonces"),
        before.get("signature_nonces").cloned()
    );
    let mut before = before;
    before.remove("signature_nonces");
    assert_eq!(after, before, "B's request around a record A signed");
    refusals += 1;
    // The captured request is still good where it belongs (the refusals burnt nothing).
    let r = send_signed(&http, p, &ingest_a, &captured, None, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Races: each of `replays` signed requests sent twice at once is accepted exactly once.
    let before = record_count(&db).await;
    let batch: Vec<SignedReq> = (0..replays)
        .map(|i| sign(&a, &base, p, rec("sig-a", 1_000 + i as u64), unix_now()))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(8));
    for s in batch.clone() {
        let (http, key, permits) = (http.clone(), ingest_a.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            let (x, y) = tokio::join!(
                send_signed(&http, p, &key, &s, None, &[]),
                send_signed(&http, p, &key, &s, None, &[])
            );
            [x, y]
        });
    }
    let (mut created, mut replayed) = (0, 0);
    while let Some(pair) = tasks.join_next().await {
        for r in pair.unwrap() {
            match r.status {
                StatusCode::CREATED => created += 1,
                _ => {
                    r.assert_problem(UNAUTHORIZED, "replayed-nonce", "a concurrent duplicate");
                    replayed += 1;
                }
            }
        }
    }
    assert_eq!((created, replayed), (replays, replays));
    assert_eq!(record_count(&db).await, before + replays as i64);

    // The nonces outlive the process: after a restart every one of them is still refused.
    assert!(server.terminate(Duration::from_secs(15)).success());
    let server = Server::start(&fx, &db.url, &env);
    let http = Http::new(&server.url());
    let base2 = server.url();
    // The signatures name the old address as @target-uri; the restarted server listens
    // elsewhere, so re-sign the same nonces for the new address to isolate the nonce check.
    let before = fingerprint(&db).await;
    let mut after_restart = 0;
    for s in batch.iter().take(replays.min(50)) {
        let params = provlog_core::httpsig::ParsedSignature::parse(
            &s.headers.signature_input,
            &s.headers.signature,
        )
        .unwrap()
        .profile_params()
        .unwrap();
        let mut again = s.clone();
        again.headers = a
            .sign_request_with(
                "POST",
                &format!("{base2}{p}"),
                s.record.to_string().as_bytes(),
                &params,
            )
            .unwrap();
        let r = send_signed(&http, p, &ingest_a, &again, None, &[]).await;
        r.assert_problem(UNAUTHORIZED, "replayed-nonce", "a replay after a restart");
        after_restart += 1;
    }
    assert_eq!(fingerprint(&db).await, before);
    refusals += after_restart;
    assert!(server.terminate(Duration::from_secs(15)).success());
    db.drop_db().await;
    summary(format!(
        "security-replay: {refusals} refused signed submissions (replays, clock window at max age {MAX_AGE} s / skew {SKEW} s, \
         moved body, URI and source), each exact and changing nothing; {replays} requests sent twice concurrently: \
         {created} accepted, {replayed} refused as replays; {after_restart} replays refused after a restart; \
         an Idempotency-Key retry re-signed by the source answered with the first record; {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}

// ---------------------------------------------------------------------------------------------
// 3 and 4. No secret in the database or the logs.

fn run_ok(args: &[&str]) -> String {
    let out = provlog_e2e::provlog(args);
    assert!(
        out.status.success(),
        "provlog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write_secret_file(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// A PostgreSQL role with a password, owning the test database (the shared server trusts
/// every connection, so the password is only there to be leaked or not).
struct PasswordRole {
    name: String,
    password: String,
    admin_url: String,
}

impl PasswordRole {
    async fn create(db: &TestDb) -> PasswordRole {
        use sqlx::Connection as _;
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!(
            "provlog_e2e_sec_{}_{}",
            std::process::id(),
            hex::encode(random_bytes::<4>())
        );
        let password = format!("dbpw-{}", hex::encode(random_bytes::<12>()));
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        for sql in [
            format!("CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'"),
            format!("ALTER DATABASE \"{}\" OWNER TO \"{name}\"", db.name),
        ] {
            sqlx::query(&sql).execute(&mut conn).await.unwrap();
        }
        let _ = conn.close().await;
        PasswordRole {
            name,
            password,
            admin_url,
        }
    }

    /// `db`'s URL as this role, with its password.
    fn url(&self, db: &TestDb) -> String {
        let rest = db.url.split_once("://").unwrap().1;
        let host_and_db = rest.split_once('@').map_or(rest, |(_, h)| h);
        format!("postgres://{}:{}@{host_and_db}", self.name, self.password)
    }

    async fn drop_role(self) {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        let _ = sqlx::query(&format!("DROP ROLE IF EXISTS \"{}\"", self.name))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

/// Which secrets appear in `text`: (secret, form found).
fn leaks<'a>(secrets: &'a [Secret], text: &str) -> Vec<(&'a str, &'a str)> {
    secrets
        .iter()
        .filter_map(|s| s.found_in(text).map(|f| (s.name.as_str(), f)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_the_database_or_the_logs() {
    use provlog_chain::anvil::{dev_key, Anvil, AnvilOptions, CHAIN_ID};
    let started = Instant::now();
    let signed_records = env_or(
        "PROVLOG_SECURITY_SIGNED_RECORDS",
        if full_run() { 500 } else { 10 },
    );
    let node = Anvil::start(AnvilOptions::default())
        .await
        .expect("anvil starts (npm ci in contracts/ installs it)");
    let fx = Fixture::new("example.com/provlog/e2e-security-secrets");
    let db = TestDb::create("security_secrets").await;
    let role = PasswordRole::create(&db).await;
    let db_url = role.url(&db);

    // Every secret of the session.
    let anchorer_key = fx.path("anchorer.key");
    let anchorer = run_ok(&[
        "keygen",
        "--anchorer",
        "--out",
        anchorer_key.to_str().unwrap(),
    ])
    .trim()
    .to_string();
    node.rpc("anvil_setBalance", json!([anchorer, "0x8ac7230489e80000"]))
        .await
        .unwrap();
    let deployer_key = fx.path("deployer.key");
    std::fs::write(&deployer_key, dev_key(0).to_hex().as_str()).unwrap();
    let contract = run_ok(&[
        "contracts",
        "deploy",
        "--rpc-url",
        &node.url(),
        "--chain-id",
        &CHAIN_ID.to_string(),
        "--key-file",
        deployer_key.to_str().unwrap(),
        "--anchorer",
        &anchorer,
    ])
    .trim()
    .to_string();
    let pepper = format!("pepper-{}", hex::encode(random_bytes::<24>()));
    let pepper_file = fx.path("pepper");
    write_secret_file(&pepper_file, &pepper);
    // Hosted RPC endpoints carry API keys in the URL: this one has a password and a query key.
    let rpc_password = format!("rpcpw-{}", hex::encode(random_bytes::<12>()));
    let rpc_query_key = format!("rpckey-{}", hex::encode(random_bytes::<12>()));
    let rpc_url = format!(
        "http://rpcuser:{rpc_password}@127.0.0.1:{}/?apikey={rpc_query_key}",
        node.port()
    );
    let chain_id = CHAIN_ID.to_string();
    let env = [
        ("PROVLOG_LOG", "trace"),
        ("PROVLOG_API_KEY_PEPPER_FILE", pepper_file.to_str().unwrap()),
        ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200"),
        ("PROVLOG_ANCHOR_RPC_URL", rpc_url.as_str()),
        ("PROVLOG_ANCHOR_CHAIN_ID", chain_id.as_str()),
        ("PROVLOG_ANCHOR_CONTRACT", contract.as_str()),
        ("PROVLOG_ANCHOR_KEY_FILE", anchorer_key.to_str().unwrap()),
        ("PROVLOG_ANCHOR_CONFIRMATIONS", "1"),
        ("PROVLOG_ANCHOR_EVERY_MS", "0"),
        ("PROVLOG_ANCHOR_POLL_MS", "100"),
    ];
    let server = Server::start(&fx, &db_url, &env);
    let base = server.url();
    let http = Http::new(&base);

    // The session: bootstrap, sources, keys, rotation, revocation, signed ingest.
    let admin = bootstrap(&http, &fx).await;
    create_source(
        &http,
        &admin,
        json!({"id": "secret-src", "display_name": "S", "require_signature": true}),
    )
    .await;
    let seed: [u8; 32] = random_bytes();
    let signer = SourceSigner::new(SigningKey::from_bytes(&seed), "sk1").unwrap();
    add_source_key(
        &http,
        &admin,
        "secret-src",
        "sk1",
        &signer.public_key_base64(),
    )
    .await;
    let (ingest_id, ingest) = create_key(&http, &admin, "ingest", Some("secret-src"), "i").await;
    let (_, read) = create_key(&http, &admin, "read", None, "r").await;
    let (admin2_id, admin2) = create_key(&http, &admin, "admin", None, "a2").await;
    let rotated = admin_post(
        &http,
        &admin,
        &format!("/v1/admin/keys/{ingest_id}/rotate"),
        Body::Json(json!({"overlap_ms": 60_000})),
    )
    .await;
    let (_, successor) = token(&rotated);
    let r = admin_post(
        &http,
        &admin2,
        &format!("/v1/admin/keys/{admin2_id}/revoke"),
        Body::None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for i in 0..signed_records {
        let key = if i % 2 == 0 { &ingest } else { &successor };
        let s = sign(
            &signer,
            &base,
            "/v1/records",
            signal("secret-src", json!({"i": i})),
            unix_now(),
        );
        let r = send_signed(&http, "/v1/records", key, &s, None, &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }

    // Failed attempts with real secrets in the wrong places.
    let guessed = format!(
        "{}{}",
        &admin[..17],
        BASE64_STANDARD
            .encode(random_bytes::<32>())
            .replace(['+', '/', '='], "x")
    );
    /// A request: method, path, headers, body.
    type Attempt<'a> = (Method, String, Vec<(&'a str, String)>, Body);
    let wrong_places: Vec<Attempt> = vec![
        (
            Method::GET,
            "/v1/admin/keys".into(),
            vec![("authorization", format!("Bearer {admin2}"))],
            Body::None,
        ),
        (
            Method::GET,
            "/v1/admin/keys".into(),
            vec![("authorization", format!("Bearer {}", fx.token))],
            Body::None,
        ),
        (
            Method::POST,
            "/v1/admin/bootstrap".into(),
            vec![("authorization", format!("Bearer {admin}"))],
            Body::None,
        ),
        (
            Method::GET,
            "/v1/admin/keys".into(),
            vec![("authorization", format!("Bearer {guessed}"))],
            Body::None,
        ),
        (
            Method::GET,
            "/v1/admin/keys".into(),
            vec![("x-api-key", admin.clone())],
            Body::None,
        ),
        (
            Method::GET,
            "/v1/admin/keys".into(),
            vec![(
                "authorization",
                format!("Basic {}", BASE64_STANDARD.encode(format!("u:{admin}"))),
            )],
            Body::None,
        ),
        (
            Method::GET,
            "/v1/admin/keys".into(),
            vec![("authorization", format!("Token {pepper}"))],
            Body::None,
        ),
        (
            Method::GET,
            format!("/v1/admin/keys?token={admin}"),
            vec![],
            Body::None,
        ),
        (
            Method::POST,
            format!("/v1/records?api_key={ingest}"),
            vec![],
            Body::Json(signal("secret-src", json!(1))),
        ),
        (
            Method::POST,
            "/v1/records".into(),
            vec![("authorization", format!("Bearer {read}"))],
            Body::Json(signal("secret-src", json!(1))),
        ),
        (
            Method::POST,
            "/v1/records".into(),
            vec![("authorization", format!("Bearer {ingest}"))],
            Body::Json(signal("secret-src", json!(2))),
        ),
    ];
    for (method, path, headers, body) in &wrong_places {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = http.call(method, path, None, &h, body).await;
        assert!(
            r.status.is_client_error(),
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
        assert_eq!(
            r.headers.get("content-type").unwrap(),
            "application/problem+json",
            "{method} {path}"
        );
    }

    // An anchor confirmed: the anchorer key was used.
    wait_for("a confirmed anchor", Duration::from_secs(60), || async {
        let r = http
            .bearer(
                &Method::GET,
                "/v1/anchors?status=confirmed",
                None,
                &Body::None,
            )
            .await;
        r.body["anchors"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
            .then_some(())
    })
    .await;
    let stderr_tail = server.logs();
    assert!(server.terminate(Duration::from_secs(15)).success());

    // Error messages: a database that does not exist, and a port nobody listens on, both with
    // the password in the URL; an RPC endpoint nobody listens on with its keys in the URL.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut errors = String::new();
    let no_db = db_url.replace(&db.name, "provlog_e2e_no_such_database");
    let no_port = db_url.replace(":5432/", &format!(":{closed}/"));
    let no_rpc = rpc_url.replace(&node.port().to_string(), &closed.to_string());
    let starts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            no_db.clone(),
            vec![("PROVLOG_DATABASE_ACQUIRE_TIMEOUT_MS", "1000")],
        ),
        (
            no_port.clone(),
            vec![("PROVLOG_DATABASE_ACQUIRE_TIMEOUT_MS", "1000")],
        ),
        (
            db_url.clone(),
            env.iter()
                .map(|&(k, v)| {
                    if k == "PROVLOG_ANCHOR_RPC_URL" {
                        (k, no_rpc.as_str())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        ),
    ];
    let mut failed_starts = 0;
    for (url, env) in &starts {
        match Server::try_start(&fx, url, env) {
            Err(e) => {
                failed_starts += 1;
                errors.push_str(&e);
            }
            Ok(s) => {
                // It may start and retry in the background: what it logs counts.
                tokio::time::sleep(Duration::from_secs(2)).await;
                errors.push_str(&s.logs());
                drop(s);
            }
        }
    }
    assert!(
        failed_starts >= 2,
        "the database URLs that cannot work were refused:\n{errors}"
    );
    assert!(errors.contains("database"), "{errors}");

    // The database, dumped whole.
    let dump = std::process::Command::new("pg_dump")
        .args(["--data-only", "--no-owner", "--dbname", &db.url])
        .output()
        .expect("running pg_dump");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8(dump.stdout).unwrap();

    let logs = std::fs::read_to_string(fx.path("server.log")).unwrap() + &stderr_tail + &errors;
    let signing_text = std::fs::read_to_string(&fx.key_file)
        .unwrap()
        .trim()
        .to_string();
    let signing_raw = BASE64_STANDARD
        .decode(signing_text.splitn(5, '+').nth(4).unwrap())
        .unwrap();
    let anchor_text = std::fs::read_to_string(&anchorer_key)
        .unwrap()
        .trim()
        .to_string();
    let anchor_raw = hex::decode(anchor_text.trim_start_matches("0x")).unwrap();
    assert_eq!(anchor_raw.len(), 32);
    let secrets = vec![
        Secret::text("the bootstrap token", &fx.token),
        Secret::api_key("the admin key", &admin),
        Secret::api_key("the revoked admin key", &admin2),
        Secret::api_key("the rotated ingest key", &ingest),
        Secret::api_key("its successor", &successor),
        Secret::api_key("the read key", &read),
        Secret::api_key("a guessed key", &guessed),
        Secret::text("the pepper", &pepper),
        Secret::text("the checkpoint signing key file", &signing_text),
        Secret::bytes(
            "the checkpoint signing key",
            &signing_raw[signing_raw.len() - 32..],
        ),
        Secret::bytes("the source signing key", &seed),
        Secret::text("the anchorer key file", &anchor_text),
        Secret::bytes("the anchorer key", &anchor_raw),
        Secret::text("the database password", &role.password),
        Secret::text("the RPC password", &rpc_password),
        Secret::text("the RPC API key", &rpc_query_key),
    ];
    // Controls: the searches find what is there (public ids, the source's public key as the
    // dump's bytea hex, the log level honoured).
    assert!(
        dump.contains(&ingest_id) && dump.contains(&admin2_id),
        "the dump holds the keys' rows"
    );
    let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    assert!(
        Secret::bytes("the source public key", &public)
            .found_in(&dump)
            .is_some(),
        "bytea is searched"
    );
    assert!(
        logs.contains("bootstrap admin key created"),
        "the log was captured"
    );
    assert!(
        logs.contains("\"level\":\"TRACE\""),
        "the log is at trace level"
    );
    let in_dump = leaks(&secrets, &dump);
    let in_logs = leaks(&secrets, &logs);
    assert!(
        in_dump.is_empty(),
        "secrets in the database dump: {in_dump:?}"
    );
    let context: Vec<&str> = in_logs
        .iter()
        .map(|(_, form)| {
            let at = logs.find(form).unwrap();
            let (mut from, mut to) = (at.saturating_sub(300), (at + 200).min(logs.len()));
            while !logs.is_char_boundary(from) {
                from -= 1;
            }
            while !logs.is_char_boundary(to) {
                to += 1;
            }
            &logs[from..to]
        })
        .collect();
    assert!(
        in_logs.is_empty(),
        "secrets in the server's logs or errors: {in_logs:?}\n{context:#?}"
    );
    let forms: usize = secrets.iter().map(|s| s.forms.len()).sum();

    db.drop_db().await;
    role.drop_role().await;
    summary(format!(
        "security-secrets: {} secrets in {forms} encodings (tokens, API keys, pepper, checkpoint, source and anchorer \
         keys, database and RPC passwords) absent from a {} KiB pg_dump and {} KiB of trace-level logs of a session \
         with {signed_records} signed records, rotation, revocation, anchoring and {} failed attempts with secrets in the \
         wrong places, and from the errors of {} refused starts; {:.1} s",
        secrets.len(),
        dump.len() / 1024,
        logs.len() / 1024,
        wrong_places.len(),
        failed_starts,
        started.elapsed().as_secs_f64()
    ));
}

// ---------------------------------------------------------------------------------------------
// 5. Rate limits.

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_hold_under_concurrent_load() {
    let started = Instant::now();
    let full = full_run();
    let secs = env_or("PROVLOG_SECURITY_HAMMER_SECS", if full { 15 } else { 3 });
    let tasks_n = env_or("PROVLOG_SECURITY_HAMMER_TASKS", if full { 16 } else { 4 });
    let flood_n = env_or("PROVLOG_SECURITY_FLOOD", if full { 20_000 } else { 400 });
    const RATE: u64 = 5;
    const BURST: u64 = 10;
    let fx = Fixture::new("example.com/provlog/e2e-security-rate");
    let db = TestDb::create("security_rate").await;
    let server = Server::start(
        &fx,
        &db.url,
        &[
            ("PROVLOG_RATE_LIMIT_PER_SECOND", "5"),
            ("PROVLOG_RATE_LIMIT_BURST", "10"),
        ],
    );
    let http = Http::new(&server.url());
    let admin = bootstrap(&http, &fx).await;
    create_source(&http, &admin, json!({"id": "rate", "display_name": "R"})).await;
    let (_, hammered) = create_key(&http, &admin, "ingest", Some("rate"), "hammered").await;
    let (_, bystander) = create_key(&http, &admin, "ingest", Some("rate"), "bystander").await;
    let records_before = record_count(&db).await;

    // Hammer one key from several tasks.
    let accepted = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let max_retry = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..tasks_n {
        let (http, key) = (http.clone(), hammered.clone());
        let (accepted, limited, max_retry) = (accepted.clone(), limited.clone(), max_retry.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let r = http
                    .bearer(
                        &Method::POST,
                        "/v1/records",
                        Some(&key),
                        &Body::Json(signal("rate", json!({"task": t, "n": n}))),
                    )
                    .await;
                if r.status == StatusCode::CREATED {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                r.assert_problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "a hammered key",
                );
                let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=60).contains(&retry), "Retry-After {retry}");
                max_retry.fetch_max(retry, Ordering::Relaxed);
                limited.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    // Meanwhile another key is not affected.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut bystander_ok = 0;
    for i in 0..3 {
        let r = http
            .bearer(
                &Method::POST,
                "/v1/records",
                Some(&bystander),
                &Body::Json(signal("rate", json!({"bystander": i}))),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "the other key: {}", r.body);
        bystander_ok += 1;
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let (accepted, limited) = (
        accepted.load(Ordering::Relaxed),
        limited.load(Ordering::Relaxed),
    );
    let bound = BURST as f64 + RATE as f64 * elapsed + 2.0;
    assert!(
        accepted as f64 <= bound,
        "{accepted} accepted in {elapsed:.2} s: more than burst {BURST} + {RATE}/s"
    );
    assert!(
        accepted >= BURST,
        "{accepted} accepted: the burst was not granted"
    );
    assert!(limited > 0, "nothing was limited");
    // Every accepted request is one record; none of the refused ones is.
    assert_eq!(
        record_count(&db).await,
        records_before + accepted as i64 + bystander_ok
    );
    // After waiting as told, the key works again.
    tokio::time::sleep(Duration::from_secs(max_retry.load(Ordering::Relaxed))).await;
    let r = http
        .bearer(
            &Method::POST,
            "/v1/records",
            Some(&hammered),
            &Body::Json(signal("rate", json!({"after": "waiting"}))),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "after Retry-After: {}",
        r.body
    );

    // Failed authentication under a flood: random keys on a write route, wrong tokens on the
    // bootstrap route. There is no limit on failed attempts (buckets belong to valid keys):
    // every one is answered 401, none 429, and the server keeps serving.
    let f0 = Instant::now();
    let statuses = Arc::new(std::sync::Mutex::new(BTreeMap::<u16, u64>::new()));
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, statuses, next) = (http.clone(), statuses.clone(), next.clone());
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < flood_n {
                let guess = format!(
                    "plk_{}_{}",
                    hex::encode(random_bytes::<6>()),
                    hex::encode(random_bytes::<16>())
                );
                let (path, body) = if rand::random::<bool>() {
                    ("/v1/records", Body::Json(signal("rate", json!(0))))
                } else {
                    ("/v1/admin/bootstrap", Body::None)
                };
                let r = http.bearer(&Method::POST, path, Some(&guess), &body).await;
                r.assert_problem(UNAUTHORIZED, "unknown-key", "a guessed key");
                *statuses
                    .lock()
                    .unwrap()
                    .entry(r.status.as_u16())
                    .or_default() += 1;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let flood_secs = f0.elapsed().as_secs_f64();
    let statuses = statuses.lock().unwrap().clone();
    assert_eq!(statuses.get(&401).copied(), Some(flood_n), "{statuses:?}");
    let metrics = http
        .bearer(&Method::GET, "/metrics", None, &Body::None)
        .await;
    let failures: f64 = metrics
        .body
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.starts_with("provlog_auth_failures_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .expect("provlog_auth_failures_total");
    assert!(failures >= flood_n as f64, "{failures}");
    let r = http
        .bearer(
            &Method::POST,
            "/v1/records",
            Some(&bystander),
            &Body::Json(signal("rate", json!({"after": "the flood"}))),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(server.terminate(Duration::from_secs(15)).success());
    db.drop_db().await;
    summary(format!(
        "security-rate: one key at {RATE}/s burst {BURST} hammered by {tasks_n} tasks for {elapsed:.1} s: {accepted} accepted \
         (bound {bound:.0}), {limited} refused 429 with Retry-After; another key unaffected; the key works again after \
         Retry-After; {flood_n} requests with guessed keys in {flood_secs:.1} s ({:.0}/s) all 401, none limited \
         (failed authentication has no rate limit); {:.1} s",
        flood_n as f64 / flood_secs,
        started.elapsed().as_secs_f64()
    ));
}
