//! Rate limits: one key hammered from concurrent tasks stays within its token bucket, another
//! key is unaffected, and floods of failed authentication are answered and counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use provlog_client::signal;
use provlog_e2e::security::{env_or, full_run, record_count, Body, Http};
use provlog_e2e::{Fixture, Server, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    bootstrap, create_key, create_source, get, post_record, random_bytes, stop, summary,
    UNAUTHORIZED,
};

const RATE: u64 = 5;
const BURST: u64 = 10;

/// What hammering one key came to.
struct Hammered {
    accepted: u64,
    limited: u64,
    max_retry: u64,
    elapsed: f64,
    bystander_ok: i64,
}

/// Hammers `key` from `tasks_n` tasks for `secs` seconds; meanwhile `bystander`, another key,
/// writes three records and is not affected.
async fn hammer(http: &Http, key: &str, bystander: &str, secs: u64, tasks_n: u64) -> Hammered {
    let accepted = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let max_retry = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..tasks_n {
        let (http, key) = (http.clone(), key.to_string());
        let (accepted, limited, max_retry) = (accepted.clone(), limited.clone(), max_retry.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let r = post_record(&http, &key, signal("rate", json!({"task": t, "n": n}))).await;
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
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut bystander_ok = 0;
    for i in 0..3 {
        let r = post_record(http, bystander, signal("rate", json!({"bystander": i}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "the other key: {}", r.body);
        bystander_ok += 1;
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    Hammered {
        accepted: accepted.load(Ordering::Relaxed),
        limited: limited.load(Ordering::Relaxed),
        max_retry: max_retry.load(Ordering::Relaxed),
        elapsed: t0.elapsed().as_secs_f64(),
        bystander_ok,
    }
}

/// `flood_n` requests with guessed keys from 8 tasks, on a write route or the bootstrap route,
/// each refused as an unknown key. Returns the count per status and the seconds taken.
async fn flood(http: &Http, flood_n: u64) -> (BTreeMap<u16, u64>, f64) {
    let f0 = Instant::now();
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, u64>::new()));
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
    let statuses = statuses.lock().unwrap().clone();
    (statuses, f0.elapsed().as_secs_f64())
}

/// `provlog_auth_failures_total` from `/metrics`.
async fn auth_failures(http: &Http) -> f64 {
    let metrics = get(http, "/metrics", None).await;
    metrics
        .body
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.starts_with("provlog_auth_failures_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .expect("provlog_auth_failures_total")
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_hold_under_concurrent_load() {
    let started = Instant::now();
    let full = full_run();
    let secs = env_or("PROVLOG_SECURITY_HAMMER_SECS", if full { 15 } else { 3 });
    let tasks_n = env_or("PROVLOG_SECURITY_HAMMER_TASKS", if full { 16 } else { 4 });
    let flood_n = env_or("PROVLOG_SECURITY_FLOOD", if full { 20_000 } else { 400 });
    let fx = Fixture::new("example.com/provlog/e2e-security-rate");
    let db = TestDb::create("security_rate").await;
    let env = [
        ("PROVLOG_RATE_LIMIT_PER_SECOND", "5"),
        ("PROVLOG_RATE_LIMIT_BURST", "10"),
    ];
    let server = Server::start(&fx, &db.url, &env);
    let http = Http::new(&server.url());
    let admin = bootstrap(&http, &fx).await;
    create_source(&http, &admin, json!({"id": "rate", "display_name": "R"})).await;
    let (_, hammered) = create_key(&http, &admin, "ingest", Some("rate"), "hammered").await;
    let (_, bystander) = create_key(&http, &admin, "ingest", Some("rate"), "bystander").await;
    let records_before = record_count(&db).await;

    let Hammered {
        accepted,
        limited,
        max_retry,
        elapsed,
        bystander_ok,
    } = hammer(&http, &hammered, &bystander, secs, tasks_n).await;
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
    tokio::time::sleep(Duration::from_secs(max_retry)).await;
    let r = post_record(
        &http,
        &hammered,
        signal("rate", json!({"after": "waiting"})),
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
    let (statuses, flood_secs) = flood(&http, flood_n).await;
    assert_eq!(statuses.get(&401).copied(), Some(flood_n), "{statuses:?}");
    let failures = auth_failures(&http).await;
    assert!(failures >= flood_n as f64, "{failures}");
    let r = post_record(
        &http,
        &bystander,
        signal("rate", json!({"after": "the flood"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    stop(server, db).await;
    summary(format!(
        "security-rate: one key at {RATE}/s burst {BURST} hammered by {tasks_n} tasks for {elapsed:.1} s: {accepted} accepted \
         (bound {bound:.0}), {limited} refused 429 with Retry-After; another key unaffected; the key works again after \
         Retry-After; {flood_n} requests with guessed keys in {flood_secs:.1} s ({:.0}/s) all 401, none limited \
         (failed authentication has no rate limit); {:.1} s",
        flood_n as f64 / flood_secs,
        started.elapsed().as_secs_f64()
    ));
}
