//! Database faults under load, against the real `provlog serve`:
//!
//! 1. **PostgreSQL restarted under load.** A private PostgreSQL cluster (never the shared
//!    server of `DATABASE_URL`) is stopped several times while clients write batches and single
//!    records with idempotency keys, alternately with `pg_ctl stop -m fast` (sessions are
//!    terminated) and `-m immediate` (a crash: the next start recovers from the WAL), down for a
//!    few seconds each time. During each outage writes and reads answer 503 problem+json with
//!    `Retry-After` (never a 500, never a hang), `/readyz` says not ready and `/healthz` stays
//!    up; after each start the same `provlog serve` process (never restarted) takes writes and
//!    is ready again within [`RECOVERY_DEADLINE`]. Afterwards every acknowledged record is in the
//!    log at its acknowledged index with its leaf hash, indexes are dense, each idempotency key
//!    was logged once, every checkpoint verifies and is consistent with every other, receipts of
//!    acknowledged records verify; `/metrics` counted the unavailable database and no internal
//!    error.
//! 2. **Pool exhaustion.** `provlog serve` with a pool of 2 connections and a 500 ms acquire
//!    timeout; a side session takes `LOCK TABLE log_state IN ACCESS EXCLUSIVE MODE` and holds it
//!    for a few seconds. Everything that reads or sequences the log (writes, `/v1/log`, the size
//!    poller, the leader) needs `log_state`, so the first two such statements block holding the
//!    pool's two connections, and every later request waits for a connection until the acquire
//!    timeout: it must get 503 + `Retry-After`, within a bound, and everything works again once
//!    the lock is released.
//!
//! `PROVLOG_DBFAULT_RESTARTS` (default 3; full run 10) sets the number of PostgreSQL restarts,
//! `PROVLOG_DBFAULT_LOAD_MS` (default 1500) the load between two of them,
//! `PROVLOG_DBFAULT_DOWN_MS` (default 2000) each outage, `PROVLOG_DBFAULT_LOCK_MS` (default 3000)
//! how long the pool test holds its lock, `PROVLOG_DBFAULT_RECEIPTS` (default 300) the receipt
//! sample.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use provlog_client::{digest, signal, Client, ClientError, Submission};
use provlog_core::checkpoint::TrustedKeys;
use provlog_core::Hash;
use provlog_e2e::load::{audit_signed_log, verify_receipts, Acked};
use provlog_e2e::pg::{PrivatePostgres, StopMode};
use provlog_e2e::{wait_for, Fixture, Server, TestDb};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ORIGIN: &str = "example.com/provlog/db-faults";
const CLIENTS: usize = 4;
/// After PostgreSQL is back, the same `provlog serve` takes writes and is ready within this.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(30);
/// No request may take longer than this, outage or not.
const REQUEST_BOUND: Duration = Duration::from_secs(20);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every answer that was not a success, by kind.
#[derive(Default)]
struct Outcomes {
    /// Non-2xx statuses seen, with a count.
    statuses: Mutex<BTreeMap<u16, u64>>,
    /// 503 problem+json answers with a `Retry-After` header.
    unavailable_with_retry_after: AtomicU64,
    /// Anything else: 503 without `Retry-After` or not a problem document, a 5xx other than
    /// 503, an unexpected 4xx, a request past [`REQUEST_BOUND`]: each is a failure.
    bad: Mutex<Vec<String>>,
    /// No HTTP answer (the server never went away here, so these should not happen either,
    /// but they are retried like the crash test does).
    transport: AtomicU64,
}

impl Outcomes {
    /// Records `e`; true when it is worth a retry (503 with `Retry-After`, a transport error).
    fn note(&self, what: &str, e: &ClientError) -> bool {
        if let Some(status) = e.status() {
            *self.statuses.lock().unwrap().entry(status).or_default() += 1;
        }
        if e.is_transport() {
            self.transport.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if e.status() == Some(503) && e.problem().is_some() && e.retry_after().is_some() {
            self.unavailable_with_retry_after
                .fetch_add(1, Ordering::Relaxed);
            return true;
        }
        self.bad.lock().unwrap().push(format!("{what}: {e}"));
        false
    }

    fn hung(&self, what: &str) {
        self.bad
            .lock()
            .unwrap()
            .push(format!("{what}: no answer within {REQUEST_BOUND:?}"));
    }

    fn count(&self, status: u16) -> u64 {
        self.statuses
            .lock()
            .unwrap()
            .get(&status)
            .copied()
            .unwrap_or(0)
    }

    fn summary(&self) -> String {
        let statuses = self.statuses.lock().unwrap();
        statuses
            .iter()
            .map(|(s, n)| format!("{n}x{s}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    acked: Mutex<Vec<Acked>>,
    outcomes: Outcomes,
    retries: AtomicU64,
}

/// Record `i` of request `key`, tagged so that the log itself says which request it came from.
fn record(key: &str, i: usize, rng: &mut impl Rng) -> Value {
    let mut r = if rng.gen_bool(0.3) {
        digest(
            "dbfault-files",
            Hash::sha256(format!("{key}/{i}").as_bytes()),
            1,
        )
    } else {
        signal(
            "dbfault-signals",
            json!({"grade": rng.gen_range(0..100), "i": i}),
        )
    };
    r["metadata"] = json!({"idem": key, "i": i});
    r
}

fn submission(key: &str, n: usize, rng: &mut impl Rng) -> Submission {
    let records: Vec<Value> = (0..n).map(|i| record(key, i, rng)).collect();
    if n == 1 {
        Submission::one(&records[0])
    } else {
        Submission::batch(&records)
    }
    .idempotency_key(key.to_string())
}

/// Submits until acknowledged, retrying 503s after `Retry-After` and transport errors under the
/// same idempotency key; every answer is counted. `Err` on anything else.
async fn submit_until_acked(
    client: &Client,
    shared: &Shared,
    key: &str,
    s: &Submission,
    n: usize,
    give_up: Instant,
) -> Result<(), String> {
    let resp = loop {
        if Instant::now() > give_up {
            return Err(format!("{key}: not acknowledged in time"));
        }
        match tokio::time::timeout(REQUEST_BOUND, client.submit(s)).await {
            Err(_) => {
                shared.outcomes.hung(key);
                return Err(format!("{key}: submission hung"));
            }
            Ok(Ok(resp)) => break resp,
            Ok(Err(e)) => {
                if !shared.outcomes.note(key, &e) {
                    return Err(format!("{key}: {e}"));
                }
                shared.retries.fetch_add(1, Ordering::Relaxed);
                let wait = e.retry_after().unwrap_or(Duration::from_millis(50));
                tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
            }
        }
    };
    if resp.records.len() != n {
        return Err(format!(
            "{key}: {n} records sent, {} acknowledged",
            resp.records.len()
        ));
    }
    shared.acked.lock().unwrap().push(Acked {
        key: key.to_string(),
        acks: resp.records,
        replayed: resp.replayed,
    });
    Ok(())
}

/// One writer: batches and single records, each submitted until acknowledged.
async fn writer(id: usize, client: Client, shared: Arc<Shared>) -> Result<(), String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(id as u64);
    let mut seq = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        let key = format!("w{id}-r{seq}");
        seq += 1;
        let n = if rng.gen_bool(0.4) {
            1
        } else {
            rng.gen_range(2..=50)
        };
        let s = submission(&key, n, &mut rng);
        let give_up = Instant::now() + Duration::from_secs(300);
        submit_until_acked(&client, &shared, &key, &s, n, give_up).await?;
    }
    Ok(())
}

/// One reader: `/v1/log`, records and receipts of acknowledged records, all the time. A
/// receipt of a record no checkpoint covers yet is a 409 `not-yet-included`, which is fine;
/// every other failure but a 503 with `Retry-After` is counted as bad.
async fn reader(client: Client, shared: Arc<Shared>, reads: Arc<AtomicU64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    while !shared.stop.load(Ordering::Relaxed) {
        let pick = {
            let acked = shared.acked.lock().unwrap();
            acked
                .choose(&mut rng)
                .and_then(|a| a.acks.choose(&mut rng))
                .map(|a| a.index)
        };
        let kind = rng.gen_range(0..3);
        let result = tokio::time::timeout(REQUEST_BOUND, async {
            match (kind, pick) {
                (1, Some(index)) => client.record(index).await.map(|_| ()),
                (2, Some(index)) => client.receipt(index, None, None).await.map(|_| ()),
                _ => client.log_info().await.map(|_| ()),
            }
        })
        .await;
        reads.fetch_add(1, Ordering::Relaxed);
        let what = format!("read {kind} of {pick:?}");
        match result {
            Err(_) => shared.outcomes.hung(&what),
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.status() == Some(409) && kind == 2 => {
                *shared
                    .outcomes
                    .statuses
                    .lock()
                    .unwrap()
                    .entry(409)
                    .or_default() += 1;
            }
            Ok(Err(e)) => {
                shared.outcomes.note(&what, &e);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `GET path` over plain HTTP/1.0: status and body (for `/healthz` and `/metrics`, which the
/// client library does not expose).
async fn http_get(server: std::net::SocketAddr, path: &str) -> Option<(u16, String)> {
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(server).await.ok()?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: {server}\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await.ok()?;
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
        Some((status, body))
    };
    tokio::time::timeout(REQUEST_BOUND, fetch).await.ok()?
}

/// The value of a counter or gauge in a Prometheus text exposition, summed over its labels.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Health as seen by a poller: readiness answers, and whether liveness ever failed.
#[derive(Default)]
struct Health {
    not_ready: AtomicU64,
    ready: AtomicU64,
    liveness_failures: AtomicU64,
}

async fn watch_health(server: std::net::SocketAddr, health: Arc<Health>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match http_get(server, "/readyz").await {
            Some((200, _)) => health.ready.fetch_add(1, Ordering::Relaxed),
            Some((503, _)) => health.not_ready.fetch_add(1, Ordering::Relaxed),
            _ => health.liveness_failures.fetch_add(1, Ordering::Relaxed),
        };
        if !matches!(http_get(server, "/healthz").await, Some((200, _))) {
            health.liveness_failures.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What [`verify_log`] checked.
struct Verified {
    size: u64,
    records: usize,
    checkpoints: usize,
    pairs: usize,
    receipts: usize,
}

/// The crash test's checks of the log after the faults ([`audit_signed_log`]), and receipts of
/// a sample of acknowledged records.
async fn verify_log(
    conn: &mut PgConnection,
    client: &Client,
    trusted: TrustedKeys,
    acked: &[Acked],
    receipt_sample: usize,
) -> Verified {
    let audited = audit_signed_log(
        conn,
        client,
        acked,
        &trusted,
        ORIGIN,
        Duration::from_secs(120),
    )
    .await;
    let signed: Vec<u64> = audited.checkpoints.iter().map(|c| c.0).collect();
    let receipts = verify_receipts(client, trusted, acked, &signed, receipt_sample, 0xdb).await;
    Verified {
        size: audited.size,
        records: acked.iter().map(|a| a.acks.len()).sum(),
        checkpoints: audited.checkpoints.len(),
        pairs: audited.consistent_pairs,
        receipts,
    }
}

/// A failure message with the server's and PostgreSQL's logs.
fn failures(shared: &Shared) -> Vec<String> {
    shared.outcomes.bad.lock().unwrap().clone()
}

/// [`CLIENTS`] writers and 2 readers of one server, sharing what they saw.
struct Clients {
    shared: Arc<Shared>,
    reads: Arc<AtomicU64>,
    writers: Vec<tokio::task::JoinHandle<Result<(), String>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Clients {
    fn start(server: &Server, fx: &Fixture) -> Clients {
        let shared = Arc::new(Shared::default());
        let reads = Arc::new(AtomicU64::new(0));
        let writers = (0..CLIENTS)
            .map(|id| tokio::spawn(writer(id, server.client(fx), shared.clone())))
            .collect();
        let readers = (0..2)
            .map(|_| tokio::spawn(reader(server.client(fx), shared.clone(), reads.clone())))
            .collect();
        Clients {
            shared,
            reads,
            writers,
            readers,
        }
    }

    fn acked(&self) -> usize {
        self.shared.acked.lock().unwrap().len()
    }

    /// Stops the clients after their request in flight (a writer's failure panics with the
    /// server's logs and `more_logs`), and checks that every answer was a success, a 503 with
    /// `Retry-After` or a receipt's 409, and none a 500.
    async fn stop(self, server: &Server, more_logs: impl Fn() -> String) -> Arc<Shared> {
        let shared = self.shared;
        shared.stop.store(true, Ordering::Relaxed);
        for w in self.writers {
            if let Err(e) = w.await.unwrap() {
                panic!(
                    "writer failed: {e}\nother failures: {:?}\n{}\n{}",
                    failures(&shared),
                    server.logs(),
                    more_logs()
                );
            }
        }
        for r in self.readers {
            r.await.unwrap();
        }
        let bad = failures(&shared);
        assert!(
            bad.is_empty(),
            "answers other than success, 503 + Retry-After or a receipt's 409: {bad:#?}\n{}",
            server.logs()
        );
        let o = &shared.outcomes;
        assert_eq!(o.count(500), 0, "500s: {}", o.summary());
        shared
    }
}

/// Waits until `provlog serve` is ready.
async fn ready(client: &Client) {
    wait_for("readiness", Duration::from_secs(30), || async {
        client.ready().await.ok().filter(|r| *r)
    })
    .await;
}

/// The restarts so far, for the summary.
#[derive(Default)]
struct Restarts {
    /// From PostgreSQL's start to `provlog serve` ready and writing.
    recoveries: Vec<Duration>,
    /// From the stop to the start.
    outages: Vec<Duration>,
    /// Requests during outages, all answered 503.
    outage_503s: usize,
    /// Stops with `-m fast`, and with `-m immediate`.
    modes: (usize, usize),
}

/// The same process during and after one PostgreSQL outage.
struct Round<'a> {
    round: usize,
    client: &'a Client,
    server: &'a Server,
    shared: &'a Shared,
}

impl Round<'_> {
    /// While PostgreSQL is down: reads and writes answer 503 problem+json with Retry-After, the
    /// process is alive and says it is not ready. Returns the requests made.
    async fn probe_outage(&self, probe: &Submission, mode: StopMode) -> usize {
        let (client, server, round) = (self.client, self.server, self.round);
        let some_ack = self
            .shared
            .acked
            .lock()
            .unwrap()
            .first()
            .map(|a| a.acks[0].index);
        let mut probes = 0;
        for what in ["write", "log", "receipt"] {
            let answer = tokio::time::timeout(REQUEST_BOUND, async {
                match what {
                    "write" => client.submit(probe).await.map(|_| ()),
                    "log" => client.log_info().await.map(|_| ()),
                    _ => client
                        .receipt(some_ack.unwrap_or(0), None, None)
                        .await
                        .map(|_| ()),
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{what} during the outage hung\n{}", server.logs()));
            let e = answer.expect_err(&format!("{what} succeeded while PostgreSQL was down"));
            assert_eq!(
                (e.status(), e.retry_after().is_some(), e.problem().is_some()),
                (Some(503), true, true),
                "{what} during the outage (round {round}, {mode:?}): {e}\n{}",
                server.logs()
            );
            probes += 1;
        }
        assert!(
            !client.ready().await.unwrap(),
            "/readyz while PostgreSQL is down"
        );
        assert!(
            matches!(http_get(server.addr, "/healthz").await, Some((200, _))),
            "/healthz while PostgreSQL is down"
        );
        probes
    }

    /// The same process recovers by itself: ready, and it takes the probe write.
    async fn wait_recovered(&self, probe: &Submission) {
        let c = self.client;
        wait_for(
            "provlog serve to recover after PostgreSQL came back",
            RECOVERY_DEADLINE,
            || async move {
                if !c.ready().await.ok()? {
                    return None;
                }
                c.submit(probe).await.ok()
            },
        )
        .await;
    }

    /// The probe's record is logged: it is acknowledged like any other (a retry of its key
    /// answers with the same indexes). Writers get through again, too.
    async fn check_probe_logged_and_writers_back(
        &self,
        probe: &Submission,
        probe_key: String,
        acked_before: usize,
    ) {
        let resp = self.client.submit(probe).await.unwrap();
        assert!(resp.replayed, "the probe's retry is a replay");
        self.shared.acked.lock().unwrap().push(Acked {
            key: probe_key,
            acks: resp.records,
            replayed: true,
        });
        wait_for(
            "writers acknowledged after the restart",
            RECOVERY_DEADLINE,
            || async { (self.shared.acked.lock().unwrap().len() > acked_before + 1).then_some(()) },
        )
        .await;
    }
}

impl Restarts {
    /// Stops `pg` (`-m fast` in even rounds, `-m immediate` in odd ones) for about `down_ms`,
    /// probing the server meanwhile, and starts it again; returns it once the server recovered.
    async fn round(
        &mut self,
        r: Round<'_>,
        mut pg: PrivatePostgres,
        rng: &mut impl Rng,
        down_ms: u64,
    ) -> PrivatePostgres {
        let mode = if r.round.is_multiple_of(2) {
            self.modes.0 += 1;
            StopMode::Fast
        } else {
            self.modes.1 += 1;
            StopMode::Immediate
        };
        let acked_before = r.shared.acked.lock().unwrap().len();
        let down_since = Instant::now();
        pg = tokio::task::spawn_blocking(move || {
            pg.stop(mode);
            pg
        })
        .await
        .unwrap();
        let probe_key = format!("probe-{}", r.round);
        let probe = submission(&probe_key, 1, rng);
        self.outage_503s += r.probe_outage(&probe, mode).await;
        let down = Duration::from_millis(rng.gen_range(down_ms / 2..=down_ms));
        tokio::time::sleep(down.saturating_sub(down_since.elapsed())).await;

        pg = tokio::task::spawn_blocking(move || {
            pg.start_again();
            pg
        })
        .await
        .unwrap();
        let up_since = Instant::now();
        self.outages.push(down_since.elapsed());
        r.wait_recovered(&probe).await;
        self.recoveries.push(up_since.elapsed());
        r.check_probe_logged_and_writers_back(&probe, probe_key, acked_before)
            .await;
        pg
    }
}

/// Operators can tell: the metrics count the outages, and no internal error; so does the log.
async fn check_outages_reported(server: &Server, fx: &Fixture, restarts: usize) {
    let (status, metrics) = http_get(server.addr, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        metric(&metrics, "provlog_database_unavailable_total") > 0.0,
        "provlog_database_unavailable_total after {restarts} outages:\n{metrics}"
    );
    assert_eq!(metric(&metrics, "provlog_database_up"), 1.0, "{metrics}");
    assert_eq!(
        metric(&metrics, "provlog_internal_errors_total"),
        0.0,
        "{metrics}"
    );
    let log = std::fs::read_to_string(fx.path("server.log")).unwrap();
    assert!(
        log.contains("database unavailable"),
        "the server's log says the database was unavailable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarts_under_load_lose_nothing_acknowledged() {
    let restarts = env_or("PROVLOG_DBFAULT_RESTARTS", 3);
    let load_ms = env_or("PROVLOG_DBFAULT_LOAD_MS", 1_500) as u64;
    let down_ms = env_or("PROVLOG_DBFAULT_DOWN_MS", 2_000) as u64;
    let receipt_sample = env_or("PROVLOG_DBFAULT_RECEIPTS", 300);
    let started = Instant::now();

    let mut pg = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .unwrap();
    let fx = Fixture::new(ORIGIN);
    let server = Server::start(
        &fx,
        &pg.url(),
        &[
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200"),
            ("PROVLOG_LEASE_TTL_MS", "2000"),
            ("PROVLOG_DATABASE_MAX_CONNECTIONS", "8"),
            ("PROVLOG_DATABASE_ACQUIRE_TIMEOUT_MS", "1000"),
        ],
    );
    let pid = server.pid();
    let client = server.client(&fx);
    ready(&client).await;

    let clients = Clients::start(&server, &fx);
    let reads = clients.reads.clone();
    let health = Arc::new(Health::default());
    let health_stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch_health(
        server.addr,
        health.clone(),
        health_stop.clone(),
    ));

    let mut rng = rand::rngs::StdRng::seed_from_u64(0xdbfa);
    let mut done = Restarts::default();
    for round in 0..restarts {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(load_ms / 2..=load_ms))).await;
        let r = Round {
            round,
            client: &client,
            server: &server,
            shared: &clients.shared,
        };
        pg = done.round(r, pg, &mut rng, down_ms).await;
        assert_eq!(server.pid(), pid);
    }
    tokio::time::sleep(Duration::from_millis(load_ms / 2)).await;
    let ingest_time = started.elapsed();
    let shared = clients.stop(&server, || pg.log_tail()).await;
    health_stop.store(true, Ordering::Relaxed);
    watcher.await.unwrap();

    let o = &shared.outcomes;
    let unavailable = o.unavailable_with_retry_after.load(Ordering::Relaxed);
    assert!(
        unavailable > 0,
        "no client saw a 503 with Retry-After during {restarts} outages"
    );
    assert_eq!(
        health.liveness_failures.load(Ordering::Relaxed),
        0,
        "/healthz or /readyz failed to answer"
    );
    assert!(health.not_ready.load(Ordering::Relaxed) > 0);
    assert!(client.ready().await.unwrap(), "ready at the end");
    check_outages_reported(&server, &fx, restarts).await;

    let acked = std::mem::take(&mut *shared.acked.lock().unwrap());
    let replayed = acked.iter().filter(|a| a.replayed).count();
    let mut conn = PgConnection::connect(&pg.url()).await.unwrap();
    let v = verify_log(&mut conn, &client, fx.trusted(), &acked, receipt_sample).await;
    let _ = conn.close().await;
    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    let max_recovery = done.recoveries.iter().max().copied().unwrap_or_default();
    let min_outage = done.outages.iter().min().copied().unwrap_or_default();
    let max_outage = done.outages.iter().max().copied().unwrap_or_default();
    let outage_503s = done.outage_503s;
    let summary = format!(
        "db-faults: {restarts} PostgreSQL restarts under load ({} fast, {} immediate/crash; down {:.1}-{:.1}s each) on one provlog process; {} acked records in {} requests ({replayed} replays, {} retries), log size {}; non-2xx seen: {} ({unavailable} 503+Retry-After, {outage_503s} outage probes all 503, 0 x 500); {} reads; recovered within {:.1}s of PostgreSQL's start (max; deadline {}s); {} checkpoints ({} pairs consistent), {} receipts verified; ingest {:.1}s, total {:.1}s",
        done.modes.0,
        done.modes.1,
        min_outage.as_secs_f64(),
        max_outage.as_secs_f64(),
        v.records,
        acked.len(),
        shared.retries.load(Ordering::Relaxed),
        v.size,
        o.summary(),
        reads.load(Ordering::Relaxed),
        max_recovery.as_secs_f64(),
        RECOVERY_DEADLINE.as_secs(),
        v.checkpoints,
        v.pairs,
        v.receipts,
        ingest_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    drop(pg);
    let _ = writeln!(std::io::stderr(), "{summary}");
}

/// What the pool test saw while `log_state` was locked.
struct Locked {
    probes_503: usize,
    acked_during_lock: usize,
    released_at: Instant,
}

/// The pressure: a session holding an exclusive lock on the table every sequencing and
/// size-reading statement needs, for `lock_ms`. The first two of them block holding the pool's
/// two connections; everything else queues for a connection.
async fn lock_log_state(
    db: &TestDb,
    server: &Server,
    client: &Client,
    clients: &Clients,
    lock_ms: u64,
    acquire_timeout_ms: u64,
) -> Locked {
    let acked_before_lock = clients.acked();
    assert!(
        acked_before_lock > 0,
        "nothing acknowledged before the lock"
    );
    let mut side = db.connect().await;
    let mut tx = side.begin().await.unwrap();
    sqlx::query("LOCK TABLE log_state IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let locked_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(acquire_timeout_ms * 2)).await;
    let probes_503 = probe_exhausted_pool(server, client).await;
    assert!(
        !client.ready().await.unwrap(),
        "/readyz with the pool exhausted"
    );
    let remaining = Duration::from_millis(lock_ms).saturating_sub(locked_at.elapsed());
    tokio::time::sleep(remaining).await;
    let acked_during_lock = clients.acked() - acked_before_lock;
    tx.rollback().await.unwrap();
    let released_at = Instant::now();
    let _ = side.close().await;
    Locked {
        probes_503,
        acked_during_lock,
        released_at,
    }
}

/// Exhausted: a request answers 503 + Retry-After after about the acquire timeout. Returns the
/// requests made.
async fn probe_exhausted_pool(server: &Server, client: &Client) -> usize {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x9001);
    let mut probes_503 = 0;
    for i in 0..3 {
        let asked = Instant::now();
        let probe = submission(&format!("pool-probe-{i}"), 1, &mut rng);
        let e = tokio::time::timeout(REQUEST_BOUND, client.submit(&probe))
            .await
            .expect("a write with the pool exhausted hung")
            .expect_err("a write succeeded with log_state locked");
        assert_eq!(
            (e.status(), e.retry_after().is_some()),
            (Some(503), true),
            "a write with the pool exhausted: {e}\n{}",
            server.logs()
        );
        assert!(asked.elapsed() < REQUEST_BOUND);
        let e = tokio::time::timeout(REQUEST_BOUND, client.log_info())
            .await
            .expect("a read with the pool exhausted hung")
            .expect_err("/v1/log answered with log_state locked");
        assert_eq!(
            (e.status(), e.retry_after().is_some()),
            (Some(503), true),
            "/v1/log with the pool exhausted: {e}"
        );
        probes_503 += 2;
        // These probes were refused, never logged: retrying them later gets new indexes.
    }
    probes_503
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exhausted_pool_answers_503_and_recovers() {
    let lock_ms = env_or("PROVLOG_DBFAULT_LOCK_MS", 3_000) as u64;
    let receipt_sample = env_or("PROVLOG_DBFAULT_RECEIPTS", 300);
    let acquire_timeout_ms = 500u64;
    let started = Instant::now();
    let fx = Fixture::new(ORIGIN);
    let db = TestDb::create("dbfault_pool").await;
    let server = Server::start(
        &fx,
        &db.url,
        &[
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200"),
            ("PROVLOG_DATABASE_MAX_CONNECTIONS", "2"),
            (
                "PROVLOG_DATABASE_ACQUIRE_TIMEOUT_MS",
                &acquire_timeout_ms.to_string(),
            ),
        ],
    );
    let client = server.client(&fx);
    ready(&client).await;

    let clients = Clients::start(&server, &fx);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let Locked {
        probes_503,
        acked_during_lock,
        released_at,
    } = lock_log_state(&db, &server, &client, &clients, lock_ms, acquire_timeout_ms).await;

    // Without an operator: ready again, writes acknowledged again.
    let acked_at_release = clients.acked();
    wait_for("recovery after the lock", RECOVERY_DEADLINE, || async {
        (client.ready().await.ok()? && clients.acked() > acked_at_release + 4).then_some(())
    })
    .await;
    let recovered_in = released_at.elapsed();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let shared = clients.stop(&server, String::new).await;
    let o = &shared.outcomes;
    let unavailable = o.unavailable_with_retry_after.load(Ordering::Relaxed);
    assert!(
        unavailable > 0,
        "no client saw a 503 with the pool exhausted"
    );
    let (_, metrics) = http_get(server.addr, "/metrics").await.unwrap();
    assert!(metric(&metrics, "provlog_database_unavailable_total") > 0.0);
    assert_eq!(metric(&metrics, "provlog_internal_errors_total"), 0.0);

    let acked = std::mem::take(&mut *shared.acked.lock().unwrap());
    let mut conn = db.connect().await;
    let v = verify_log(&mut conn, &client, fx.trusted(), &acked, receipt_sample).await;
    drop(conn);
    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    db.drop_db().await;
    let _ = writeln!(
        std::io::stderr(),
        "db-faults-pool: pool of 2, acquire timeout {acquire_timeout_ms} ms, log_state locked {lock_ms} ms under {CLIENTS} writers and 2 readers; non-2xx seen: {} ({unavailable} 503+Retry-After, {probes_503} probes all 503, 0 x 500); {} requests acknowledged while locked; recovered {:.1}s after the release (deadline {}s); {} acked records, {} checkpoints, {} receipts verified; total {:.1}s",
        o.summary(),
        acked_during_lock,
        recovered_in.as_secs_f64(),
        RECOVERY_DEADLINE.as_secs(),
        v.records,
        v.checkpoints,
        v.receipts,
        started.elapsed().as_secs_f64(),
    );
}
