//! The route sweep: every operation of the spec, with every bad credential, with reads private
//! and then public.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use provlog_client::signal;
use provlog_e2e::security::{record_count, Body, Http};
use provlog_e2e::{wait_for, Fixture, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::refusals::{sweep, Keys};
use crate::routes::{operations, Class, Ctx, Op, SRC_A, SRC_B};
use crate::{
    add_source_key, admin_post, bootstrap, create_key, create_source, get, post_record,
    random_signer, stop, summary, FORBIDDEN, UNAUTHORIZED,
};

const OVERLAP_MS: u64 = 2_000;

/// The server over `db`, with reads public or not.
fn start(fx: &Fixture, db: &TestDb, public_reads: bool) -> Server {
    let overlap = OVERLAP_MS.to_string();
    let env = [
        (
            "PROVLOG_PUBLIC_READS",
            if public_reads { "true" } else { "false" },
        ),
        ("PROVLOG_KEY_ROTATION_OVERLAP_MS", overlap.as_str()),
        ("PROVLOG_CHECKPOINT_INTERVAL_MS", "100"),
    ];
    Server::start(fx, &db.url, &env)
}

/// Before the bootstrap: the token writes for any source and makes the first admin key,
/// nothing else; admin routes refuse it (403: it authenticates, as no admin).
async fn only_the_token_bootstraps(http: &Http, fx: &Fixture) {
    let r = get(http, "/v1/admin/keys", Some(&fx.token)).await;
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
}

/// One revoked and one rotated-away key of each scope.
struct DeadKeys {
    revoked: BTreeMap<&'static str, String>,
    rotated: BTreeMap<&'static str, String>,
    rotated_ids: Vec<String>,
    rotated_at: Instant,
}

async fn dead_keys(http: &Http, admin: &str) -> DeadKeys {
    let mut dead = DeadKeys {
        revoked: BTreeMap::new(),
        rotated: BTreeMap::new(),
        rotated_ids: vec![],
        rotated_at: Instant::now(),
    };
    for scope in ["ingest", "read", "admin"] {
        let source = (scope == "ingest").then_some(SRC_A);
        let (id, t) = create_key(http, admin, scope, source, "revoked").await;
        let path = format!("/v1/admin/keys/{id}/revoke");
        let r = admin_post(http, admin, &path, Body::None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        dead.revoked.insert(scope, t);
        let (id, t) = create_key(http, admin, scope, source, "rotated").await;
        dead.rotated_at = Instant::now();
        // No overlap in the body: the configured PROVLOG_KEY_ROTATION_OVERLAP_MS applies.
        let path = format!("/v1/admin/keys/{id}/rotate");
        let r = admin_post(http, admin, &path, Body::None).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        dead.rotated.insert(scope, t);
        dead.rotated_ids.push(id);
    }
    // Within the overlap the old admin key still works (the setting is honoured, not 0) ...
    let r = get(http, "/v1/admin/keys", Some(&dead.rotated["admin"])).await;
    if dead.rotated_at.elapsed() < Duration::from_millis(OVERLAP_MS) {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    dead
}

/// ... and after it, the rotated-away keys are expired.
async fn assert_rotated_away(http: &Http, admin: &str, dead: &DeadKeys) {
    let wait = Duration::from_millis(OVERLAP_MS + 200).saturating_sub(dead.rotated_at.elapsed());
    tokio::time::sleep(wait).await;
    let listed = get(http, "/v1/admin/keys", Some(admin)).await;
    let statuses: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| dead.rotated_ids.iter().any(|id| k["id"] == id.as_str()))
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["expired"; 3], "{}", listed.body);
}

/// Two records (the second a child of the first) and a checkpoint over them, so that every
/// read has something to answer; returns the first record's receipt.
async fn seed_records(http: &Http, ingest: &str, read: &str) -> Value {
    let first = post_record(http, ingest, signal(SRC_A, json!({"n": 0}))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let leaf = first.body["records"][0]["leaf_hash"]
        .as_str()
        .unwrap()
        .to_string();
    let mut child = signal(SRC_A, json!({"n": 1}));
    child["parents"] = json!([leaf]);
    let second = post_record(http, ingest, child).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    wait_for(
        "a checkpoint of size 2",
        Duration::from_secs(20),
        || async {
            let r = get(http, "/v1/log", Some(read)).await;
            (r.body["checkpoint_size"].as_u64() >= Some(2)).then_some(())
        },
    )
    .await;
    let receipt = get(http, "/v1/records/0/receipt", Some(read)).await;
    assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);
    receipt.body
}

/// The bootstrap, two sources, the keys the sweep uses or refuses, and the values its requests
/// are filled with.
async fn setup(http: &Http, fx: &Fixture) -> (Keys, Ctx) {
    let admin = bootstrap(http, fx).await;
    for (id, name) in [(SRC_A, "Sweep A"), (SRC_B, "Sweep B")] {
        create_source(http, &admin, json!({"id": id, "display_name": name})).await;
    }
    let signer = random_signer("k1");
    add_source_key(http, &admin, SRC_A, &signer).await;
    let (_, ingest_a) = create_key(http, &admin, "ingest", Some(SRC_A), "a").await;
    let (_, ingest_b) = create_key(http, &admin, "ingest", Some(SRC_B), "b").await;
    // SRC_B declares a scoring spec and logs a signal after it: its score, bounded to seq
    // 0..=1 (routes.rs), has a declaration to score by and writes no close record.
    let spec = json!({"kind": "signals", "value": "/signal", "outcome": "/return",
        "horizon_s": 60});
    let path = format!("/v1/admin/sources/{SRC_B}/scoring");
    let declared = http
        .bearer(&Method::PUT, &path, Some(&admin), &Body::Json(spec))
        .await;
    assert_eq!(declared.status, StatusCode::CREATED, "{}", declared.body);
    let scored = post_record(http, &ingest_b, signal(SRC_B, json!({"signal": 1}))).await;
    assert_eq!(scored.status, StatusCode::CREATED, "{}", scored.body);
    let (_, read) = create_key(http, &admin, "read", None, "reader").await;
    let (rotate_victim, _) = create_key(http, &admin, "read", None, "to rotate").await;
    let (revoke_victim, _) = create_key(http, &admin, "read", None, "to revoke").await;
    let dead = dead_keys(http, &admin).await;
    let receipt = seed_records(http, &ingest_a, &read).await;
    assert_rotated_away(http, &admin, &dead).await;
    let k2 = random_signer("k2");
    let origin = get(http, "/v1/log", Some(&admin)).await.body["origin"].clone();
    let proof = k2
        .prove_possession(origin.as_str().unwrap(), SRC_A)
        .unwrap();
    let cx = Ctx {
        rotate_victim,
        revoke_victim,
        receipt,
        new_source_key: json!({"key_id": "k2", "public_key": k2.public_key_base64(), "proof": proof}),
    };
    let keys = Keys {
        admin,
        ingest_a,
        ingest_b,
        read,
        revoked: dead.revoked,
        rotated: dead.rotated,
        bootstrap: fx.token.clone(),
    };
    (keys, cx)
}

/// Operations per class, checked against what the server routes today (a new route changes
/// these counts on purpose).
fn count_classes(ops: &[Op]) -> BTreeMap<Class, usize> {
    let mut per_class: BTreeMap<Class, usize> = BTreeMap::new();
    for op in ops {
        *per_class.entry(op.class).or_default() += 1;
    }
    assert_eq!(per_class[&Class::Write], 2, "{per_class:?}");
    assert_eq!(per_class[&Class::Admin], 12, "{per_class:?}");
    assert_eq!(per_class[&Class::Bootstrap], 1, "{per_class:?}");
    assert!(per_class[&Class::Read] >= 12, "{per_class:?}");
    for op in ops {
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
    per_class
}

/// Asserts `op` with the token `t` (or none) succeeds.
async fn assert_accepted(http: &Http, op: &Op, t: Option<&str>) {
    let r = http.bearer(&op.method, &op.path, t, &op.body).await;
    let who = if t.is_some() {
        "with a key"
    } else {
        "anonymously"
    };
    assert!(
        r.status.is_success(),
        "{} {} {who}: {} {}",
        op.method,
        op.path,
        r.status,
        r.body
    );
}

/// With reads private: the open operations answer anyone; every read answers a read key (and an
/// ingest key), and refuses anyone. Returns the number of accepted calls.
async fn private_reads(http: &Http, ops: &[Op], keys: &Keys) -> usize {
    let mut accepted = 0;
    for op in ops {
        let tokens: &[Option<&str>] = match op.class {
            Class::Open => &[None],
            Class::Read => &[Some(&keys.read), Some(&keys.ingest_a)],
            _ => &[],
        };
        for t in tokens {
            assert_accepted(http, op, *t).await;
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
    accepted
}

/// The plausible requests are accepted with the right credentials: the refusals were the
/// credentials' doing, not the requests'. Returns the number of accepted calls.
async fn with_credentials(http: &Http, ops: &[Op], keys: &Keys) -> usize {
    let mut accepted = 0;
    for op in ops
        .iter()
        .filter(|o| matches!(o.class, Class::Write | Class::Admin))
    {
        let t = if op.class == Class::Write {
            &keys.ingest_a
        } else {
            &keys.admin
        };
        assert_accepted(http, op, Some(t)).await;
        accepted += 1;
    }
    accepted
}

#[tokio::test(flavor = "multi_thread")]
async fn every_guarded_operation_of_the_spec_refuses_bad_credentials() {
    let started = Instant::now();
    let fx = Fixture::new("example.com/provlog/e2e-security-sweep");
    let db = TestDb::create("security_sweep").await;
    let server = start(&fx, &db, false);
    let http = Http::new(&server.url());

    // The spec is open, and read anonymously.
    let doc = get(&http, "/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK, "{}", doc.body);
    only_the_token_bootstraps(&http, &fx).await;
    let (keys, cx) = setup(&http, &fx).await;
    let ops = operations(&doc.body, &cx);
    let per_class = count_classes(&ops);

    let mut tally = BTreeMap::new();
    let records_before = record_count(&db).await;
    // Reads are private: every class but the open one refuses.
    let all = [Class::Write, Class::Admin, Class::Bootstrap, Class::Read];
    let private_cases = sweep(&http, &db, &ops, &all, &keys, &mut tally).await;
    assert_eq!(record_count(&db).await, records_before);
    let mut accepted = private_reads(&http, &ops, &keys).await;
    assert!(server.terminate(Duration::from_secs(15)).success());

    // Public reads: the same database and keys; reads answer anyone, nothing else does.
    let server = start(&fx, &db, true);
    let http = Http::new(&server.url());
    for op in ops.iter().filter(|o| o.class == Class::Read) {
        assert_accepted(&http, op, None).await;
        accepted += 1;
    }
    let guarded = [Class::Write, Class::Admin, Class::Bootstrap];
    let public_cases = sweep(&http, &db, &ops, &guarded, &keys, &mut tally).await;
    accepted += with_credentials(&http, &ops, &keys).await;
    // The two writes, and a registry record for each of the five source changes (create,
    // change, add a key, retire a key, declare a scoring spec).
    assert_eq!(record_count(&db).await, records_before + 2 + 5);
    stop(server, db).await;
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
