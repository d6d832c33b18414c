//! `provlog bench`: a load generator against a running `provlog serve` (through
//! `provlog-client`, like any other client), plus the PostgreSQL `COPY` baseline that batched
//! ingest is compared with. Figures and the commands behind them live in docs/BENCHMARKS.md.
//!
//! The generator runs on the same machine as the server and the database when measured there:
//! its own CPU time competes with theirs, so keep that next to every figure.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use provlog_client::{digest, signal, snapshot, Client, RetryPolicy, Submission};
use provlog_core::checkpoint::{TrustedKeys, VerifierKey};
use provlog_core::receipt::{Receipt, ReceiptVerifier};
use provlog_core::Hash;
use rand::rngs::StdRng as SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use crate::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the server.
    #[arg(
        long,
        env = "PROVLOG_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// File holding the bearer token the write modes need: an ingest API key (with
    /// `--source`), or the bootstrap token of a deployment that has no admin key yet.
    #[arg(
        long,
        value_name = "FILE",
        env = "PROVLOG_ADMIN_TOKEN_FILE",
        global = true
    )]
    token_file: Option<PathBuf>,
    /// Write every record for this source (an ingest key writes for its own source only);
    /// default: a mix of `signals`, `market-snapshots` and `dataset-digests`.
    #[arg(long, global = true)]
    source: Option<String>,
    /// Print one JSON object instead of the table.
    #[arg(long, global = true)]
    json: bool,
    /// Tokio worker threads of the generator (default: one per core).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// Batched durable ingest of mixed records (signals, small snapshots, digests).
    Ingest {
        #[arg(long, default_value_t = 100_000)]
        records: u64,
        /// Records per request (the server's `max_batch` defaults to 1,000).
        #[arg(long, default_value_t = 1_000)]
        batch: u64,
        #[arg(long, default_value_t = 4)]
        concurrency: u64,
    },
    /// Single-record ingest: one signal per request.
    Single {
        #[arg(long, default_value_t = 20_000)]
        requests: u64,
        #[arg(long, default_value_t = 64)]
        concurrency: u64,
    },
    /// Receipts of random records within the latest checkpoint.
    Receipts {
        #[arg(long, default_value_t = 20_000)]
        requests: u64,
        #[arg(long, default_value_t = 32)]
        concurrency: u64,
        /// Verify every Nth receipt with provlog-core after the timed run (0: none).
        #[arg(long, default_value_t = 100)]
        verify_every: u64,
        /// Trusted verifier key (name+hexid+base64); default: the one `/v1/log` announces.
        #[arg(long)]
        key: Option<String>,
    },
    /// Time from submitting one record until a signed checkpoint covers it.
    CheckpointLatency {
        #[arg(long, default_value_t = 100)]
        samples: u64,
        /// Use `?wait=receipt` (time the whole request) instead of polling `/v1/log`.
        #[arg(long)]
        wait: bool,
        /// Poll interval of `/v1/log`, milliseconds.
        #[arg(long, default_value_t = 5)]
        poll_ms: u64,
        /// Random pause before each sample, 0..=MS, so samples fall anywhere in the interval.
        #[arg(long, default_value_t = 1_000)]
        jitter_ms: u64,
    },
    /// PostgreSQL COPY (binary) of rows shaped like `records` into a scratch database: the
    /// baseline for batched ingest.
    CopyBaseline {
        /// A database URL on the server to test; a scratch database is created and dropped.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Rows per COPY statement (each is its own transaction).
        #[arg(long, default_value_t = 100_000)]
        chunk: u64,
        /// Copy into a table with the primary key only (no secondary indexes), to show what
        /// the four secondary indexes of `records` cost.
        #[arg(long)]
        pk_only: bool,
    },
}

pub const AFTER_HELP: &str = "Examples (server from `provlog serve`, token in admin.token):\n  \
provlog bench --token-file admin.token ingest --records 1000000 --batch 1000 --concurrency 4\n  \
provlog bench --token-file admin.token single --requests 20000 --concurrency 64\n  \
provlog bench receipts --requests 20000 --concurrency 32\n  \
provlog bench --token-file admin.token checkpoint-latency --samples 100\n  \
provlog bench copy-baseline --database-url postgres://postgres@127.0.0.1:5432/postgres --rows 1000000\n\n\
--url defaults to http://127.0.0.1:8080 (PROVLOG_URL); add --json for machine-readable output.\n\
The generator shares the machine's cores with the server when run next to it: say so with the figures.";

/// What one mode measured.
#[derive(Debug, Default, serde::Serialize)]
struct Report {
    mode: &'static str,
    /// Operations (requests, receipts, rows) completed.
    ops: u64,
    /// Records written (ingest modes).
    records: u64,
    errors: u64,
    /// 503 answers that were retried (ingest modes).
    retried_503: u64,
    seconds: f64,
    ops_per_s: f64,
    records_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(e.to_string())
}

pub fn run(args: Args) -> Result<(), Failure> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build().map_err(usage)?;
    if let Some(source) = &args.source {
        let _ = SOURCE.set(source.clone());
    }
    let report = rt.block_on(run_mode(&args))?;
    if args.json {
        println!("{}", serde_json::to_string(&report).map_err(usage)?);
    } else {
        print_table(&report);
    }
    if report.errors > 0 {
        return Err(Failure::Invalid(format!(
            "{} operations failed",
            report.errors
        )));
    }
    Ok(())
}

fn client(args: &Args, needs_token: bool) -> Result<Client, Failure> {
    let client = Client::new(&args.url).map_err(usage)?;
    match &args.token_file {
        Some(path) => {
            let token = std::fs::read_to_string(path)
                .map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
            Ok(client.with_token(token.trim()))
        }
        None if needs_token => Err(usage("this mode writes: give --token-file")),
        None => Ok(client),
    }
}

async fn run_mode(args: &Args) -> Result<Report, Failure> {
    match args.mode {
        Mode::Ingest {
            records,
            batch,
            concurrency,
        } => {
            ingest(
                &client(args, true)?,
                records,
                batch.max(1),
                concurrency.max(1),
            )
            .await
        }
        Mode::Single {
            requests,
            concurrency,
        } => ingest_single(&client(args, true)?, requests, concurrency.max(1)).await,
        Mode::Receipts {
            requests,
            concurrency,
            verify_every,
            ref key,
        } => {
            receipts(
                &client(args, false)?,
                requests,
                concurrency.max(1),
                verify_every,
                key.as_deref(),
            )
            .await
        }
        Mode::CheckpointLatency {
            samples,
            wait,
            poll_ms,
            jitter_ms,
        } => {
            checkpoint_latency(
                &client(args, true)?,
                samples,
                wait,
                poll_ms.max(1),
                jitter_ms,
            )
            .await
        }
        Mode::CopyBaseline {
            ref database_url,
            rows,
            chunk,
            pk_only,
        } => copy_baseline(database_url, rows, chunk.max(1), pk_only).await,
    }
}

// ---- record generation -------------------------------------------------------------------

const TOKENS: [&str; 8] = ["BTC", "ETH", "SOL", "ARB", "OP", "AVAX", "LINK", "MATIC"];
const TRENDS: [&str; 3] = ["up", "down", "flat"];

/// `--source`: the one source every generated record names.
static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// One realistic record: 80% trading signals, 10% small snapshots, 10% client digests.
fn random_record(rng: &mut SmallRng, seq: u64) -> Value {
    let mut record = mixed_record(rng, seq);
    if let Some(source) = SOURCE.get() {
        record["source"] = json!(source);
    }
    record
}

fn mixed_record(rng: &mut SmallRng, seq: u64) -> Value {
    let token = TOKENS[rng.gen_range(0..TOKENS.len())];
    match rng.gen_range(0..10) {
        0 => {
            let items = (0..rng.gen_range(2..6))
                .map(|i| json!({"row": i, "token": token, "price": rng.gen_range(0.01..70_000.0f64), "volume": rng.gen_range(0..1_000_000u64)}))
                .collect();
            snapshot("market-snapshots", items)
        }
        1 => {
            let root = Hash::sha256(&seq.to_be_bytes());
            digest("dataset-digests", root, 1)
        }
        _ => signal(
            "signals",
            json!({
                "token": token,
                "signal": rng.gen_range(-1..=1i8),
                "trend": TRENDS[rng.gen_range(0..TRENDS.len())],
                "trader_grade": rng.gen_range(0..=100u8),
                "seq": seq,
            }),
        ),
    }
}

// ---- shared measurement ------------------------------------------------------------------

/// Latencies and counters of one run's workers.
#[derive(Debug, Default)]
struct Tally {
    latencies: Vec<Duration>,
    ops: u64,
    records: u64,
    errors: u64,
    retried: u64,
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.ops += other.ops;
        self.records += other.records;
        self.errors += other.errors;
        self.retried += other.retried;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn fail(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }

    fn report(mut self, mode: &'static str, elapsed: Duration) -> Report {
        self.latencies.sort_unstable();
        let secs = elapsed.as_secs_f64().max(1e-9);
        let pct = |p: f64| {
            if self.latencies.is_empty() {
                return 0.0;
            }
            let i =
                ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
            self.latencies[i - 1].as_secs_f64() * 1e3
        };
        Report {
            mode,
            ops: self.ops,
            records: self.records,
            errors: self.errors,
            retried_503: self.retried,
            seconds: secs,
            ops_per_s: self.ops as f64 / secs,
            records_per_s: self.records as f64 / secs,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
            note: self.first_error.map(|e| format!("first error: {e}")),
            ..Report::default()
        }
    }
}

/// Runs `concurrency` workers that each take job numbers from a shared counter below `jobs`.
async fn drive<F, Fut>(jobs: u64, concurrency: u64, job: F) -> (Tally, Duration)
where
    F: Fn(u64, SmallRng) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (Tally, SmallRng)> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let job = Arc::new(job);
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (next, job) = (next.clone(), job.clone());
            tokio::spawn(async move {
                let mut rng = SmallRng::seed_from_u64(0x5eed ^ w);
                let mut tally = Tally::default();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= jobs {
                        return tally;
                    }
                    let (t, r) = job(n, rng).await;
                    rng = r;
                    tally.merge(t);
                }
            })
        })
        .collect();
    let mut total = Tally::default();
    for w in workers {
        match w.await {
            Ok(t) => total.merge(t),
            Err(e) => total.fail(e),
        }
    }
    (total, start.elapsed())
}

async fn timed_submit(client: &Client, sub: &Submission) -> Tally {
    let policy = RetryPolicy::default();
    let mut tally = Tally::default();
    let mut attempt: u32 = 1;
    let start = Instant::now();
    loop {
        match client.submit(sub).await {
            Ok(resp) => {
                tally.latencies.push(start.elapsed());
                tally.ops = 1;
                tally.records = resp.records.len() as u64;
                return tally;
            }
            Err(e) => match policy.delay(attempt, &e, false) {
                Some(wait) => {
                    tally.retried += 1;
                    tokio::time::sleep(wait).await;
                }
                None => {
                    tally.fail(e);
                    return tally;
                }
            },
        }
        attempt += 1;
    }
}

// ---- modes -------------------------------------------------------------------------------

async fn ingest(
    client: &Client,
    records: u64,
    batch: u64,
    concurrency: u64,
) -> Result<Report, Failure> {
    let requests = records.div_ceil(batch);
    let client = client.clone();
    let (tally, elapsed) = drive(requests, concurrency, move |n, mut rng| {
        let client = client.clone();
        async move {
            let len = batch.min(records - n * batch);
            let batch: Vec<Value> = (0..len)
                .map(|i| random_record(&mut rng, n * batch + i))
                .collect();
            let sub = Submission::batch(&batch);
            (timed_submit(&client, &sub).await, rng)
        }
    })
    .await;
    let mut report = tally.report("ingest", elapsed);
    report.note.get_or_insert_with(|| {
        format!("batch {batch}, concurrency {concurrency}; latency per request")
    });
    Ok(report)
}

async fn ingest_single(
    client: &Client,
    requests: u64,
    concurrency: u64,
) -> Result<Report, Failure> {
    let client = client.clone();
    let (tally, elapsed) = drive(requests, concurrency, move |n, mut rng| {
        let client = client.clone();
        async move {
            let record = random_record(&mut rng, n);
            let sub = Submission::one(&record);
            (timed_submit(&client, &sub).await, rng)
        }
    })
    .await;
    let mut report = tally.report("single", elapsed);
    report
        .note
        .get_or_insert_with(|| format!("concurrency {concurrency}"));
    Ok(report)
}

async fn receipts(
    client: &Client,
    requests: u64,
    concurrency: u64,
    verify_every: u64,
    key: Option<&str>,
) -> Result<Report, Failure> {
    let info = client.log_info().await.map_err(usage)?;
    let size = info.checkpoint_size;
    if size == 0 {
        return Err(usage("the log has no checkpoint yet: ingest first"));
    }
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(u64, Vec<u8>)>::new()));
    let (c, s) = (client.clone(), samples.clone());
    let (tally, elapsed) = drive(requests, concurrency, move |n, mut rng| {
        let (client, samples) = (c.clone(), s.clone());
        async move {
            let index = rng.gen_range(0..size);
            let mut tally = Tally::default();
            let start = Instant::now();
            match client.receipt_json(index, None, None).await {
                Ok(bytes) => {
                    tally.latencies.push(start.elapsed());
                    tally.ops = 1;
                    if verify_every > 0 && n % verify_every == 0 {
                        if let Ok(mut s) = samples.lock() {
                            s.push((index, bytes));
                        }
                    }
                }
                Err(e) => tally.fail(e),
            }
            (tally, rng)
        }
    })
    .await;
    let mut report = tally.report("receipts", elapsed);
    report.log_size = Some(size);
    // Verify the sample outside the timed run: the generator's CPU is the server's too.
    let key: VerifierKey = key
        .unwrap_or(&info.verifier_key)
        .parse()
        .map_err(|e| usage(format!("verifier key: {e}")))?;
    let verifier = ReceiptVerifier::new(TrustedKeys::new([key]));
    let sample = std::mem::take(&mut *samples.lock().map_err(|_| usage("sample lock poisoned"))?);
    let mut verified = 0;
    for (index, bytes) in sample {
        let ok = Receipt::from_json(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|r| verifier.verify(&r).map_err(|e| e.to_string()))
            .and_then(|v| {
                (v.leaf_index == index)
                    .then_some(())
                    .ok_or_else(|| format!("receipt is for {}, asked {index}", v.leaf_index))
            });
        match ok {
            Ok(()) => verified += 1,
            Err(e) => {
                report.errors += 1;
                report.note = Some(format!("receipt {index} does not verify: {e}"));
            }
        }
    }
    report.verified = Some(verified);
    Ok(report)
}

async fn checkpoint_latency(
    client: &Client,
    samples: u64,
    wait: bool,
    poll_ms: u64,
    jitter_ms: u64,
) -> Result<Report, Failure> {
    let mut rng = SmallRng::seed_from_u64(0xc4ec);
    let mut tally = Tally::default();
    let start_all = Instant::now();
    for n in 0..samples {
        if jitter_ms > 0 {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..=jitter_ms))).await;
        }
        let record = random_record(&mut rng, n);
        let mut sub = Submission::one(&record);
        if wait {
            sub = sub.wait_for_receipts();
        }
        let start = Instant::now();
        let resp = match client.submit(&sub).await {
            Ok(r) => r,
            Err(e) => {
                tally.fail(e);
                continue;
            }
        };
        let index = resp.records.first().map_or(0, |a| a.index);
        if wait {
            if resp.receipt_status.as_deref() == Some("ready") {
                tally.latencies.push(start.elapsed());
                tally.ops += 1;
            } else {
                tally.fail(format!(
                    "record {index}: receipt status {:?}",
                    resp.receipt_status
                ));
            }
            continue;
        }
        loop {
            match client.log_info().await {
                Ok(info) if info.checkpoint_size > index => {
                    tally.latencies.push(start.elapsed());
                    tally.ops += 1;
                    break;
                }
                Ok(_) if start.elapsed() > Duration::from_secs(30) => {
                    tally.fail(format!("record {index}: no checkpoint after 30 s"));
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(poll_ms)).await,
                Err(e) => {
                    tally.fail(e);
                    break;
                }
            }
        }
    }
    let mut report = tally.report("checkpoint-latency", start_all.elapsed());
    report.ops_per_s = 0.0;
    report.records_per_s = 0.0;
    report.note.get_or_insert_with(|| {
        if wait {
            "?wait=receipt, one sample at a time".into()
        } else {
            format!("polling /v1/log every {poll_ms} ms, one sample at a time")
        }
    });
    Ok(report)
}

// ---- COPY baseline -----------------------------------------------------------------------

/// Appends one `records` row in PostgreSQL's binary COPY format.
fn copy_row(out: &mut Vec<u8>, idx: i64, leaf: &[u8], source: &str, kind: &str, received_ms: i64) {
    let field = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    out.extend_from_slice(&7i16.to_be_bytes());
    field(out, &idx.to_be_bytes());
    field(out, Hash::sha256(leaf).as_bytes());
    field(out, leaf);
    field(out, source.as_bytes());
    field(out, kind.as_bytes());
    field(out, Hash::sha256(&idx.to_le_bytes()).as_bytes());
    field(out, &received_ms.to_be_bytes());
}

async fn copy_baseline(
    admin_url: &str,
    rows: u64,
    chunk: u64,
    pk_only: bool,
) -> Result<Report, Failure> {
    let db = format!("provlog_bench_copy_{}", std::process::id());
    let mut admin = PgConnection::connect(admin_url).await.map_err(usage)?;
    sqlx::query(&format!("CREATE DATABASE \"{db}\""))
        .execute(&mut admin)
        .await
        .map_err(usage)?;
    let url = with_database(admin_url, &db);
    let result = copy_into(&url, rows, chunk, pk_only).await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await;
    result
}

async fn copy_into(url: &str, rows: u64, chunk: u64, pk_only: bool) -> Result<Report, Failure> {
    // The real schema (the PostgreSQL migrations), then an empty copy of `records` with all
    // its indexes.
    let pool = sqlx::PgPool::connect(url).await.map_err(usage)?;
    provlog_store::postgres::MIGRATOR
        .run(&pool)
        .await
        .map_err(usage)?;
    pool.close().await;
    let mut conn = PgConnection::connect(url).await.map_err(usage)?;
    let create = if pk_only {
        "CREATE TABLE records_copy (LIKE records INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
                                    PRIMARY KEY (idx))"
    } else {
        "CREATE TABLE records_copy (LIKE records INCLUDING ALL)"
    };
    sqlx::query(create)
        .execute(&mut conn)
        .await
        .map_err(usage)?;

    // Rows shaped like the ingest mix's canonical records (prepared before the clock starts).
    let mut rng = SmallRng::seed_from_u64(0xc0);
    let now_ms = 1_795_000_000_000i64;
    let mut chunks = vec![];
    let mut at = 0u64;
    while at < rows {
        let n = chunk.min(rows - at);
        let mut buf = Vec::with_capacity(n as usize * 330);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        for i in at..at + n {
            let record = random_record(&mut rng, i);
            let kind = record["kind"].as_str().unwrap_or("signal").to_string();
            let source = record["source"].as_str().unwrap_or("signals").to_string();
            let leaf =
                json!({"v": 1, "received_at": now_ms + i as i64, "record": record}).to_string();
            let idx = i64::try_from(i).map_err(usage)?;
            copy_row(&mut buf, idx, leaf.as_bytes(), &source, &kind, now_ms + idx);
        }
        buf.extend_from_slice(&(-1i16).to_be_bytes());
        chunks.push((n, buf));
        at += n;
    }
    let bytes: usize = chunks.iter().map(|(_, b)| b.len()).sum();

    let mut tally = Tally::default();
    let start = Instant::now();
    for (n, buf) in chunks {
        let t = Instant::now();
        let mut copy = conn
            .copy_in_raw("COPY records_copy FROM STDIN (FORMAT binary)")
            .await
            .map_err(usage)?;
        copy.send(buf).await.map_err(usage)?;
        copy.finish().await.map_err(usage)?;
        tally.latencies.push(t.elapsed());
        tally.ops += n;
        tally.records += n;
    }
    let mut report = tally.report("copy-baseline", start.elapsed());
    report.note = Some(format!(
        "binary COPY into {}, {bytes} bytes, latency per COPY statement",
        if pk_only {
            "(LIKE records) with its primary key only"
        } else {
            "(LIKE records INCLUDING ALL)"
        }
    ));
    Ok(report)
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = base[after_scheme..]
        .find('/')
        .map_or(base, |s| &base[..after_scheme + s]);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn print_table(r: &Report) {
    println!("{:<22} {}", "mode", r.mode);
    println!("{:<22} {}", "operations", r.ops);
    if r.records > 0 && r.records != r.ops {
        println!("{:<22} {}", "records", r.records);
    }
    println!("{:<22} {:.2}", "seconds", r.seconds);
    if r.ops_per_s > 0.0 {
        println!("{:<22} {:.0}", "operations/s", r.ops_per_s);
    }
    if r.records > 0 && r.records != r.ops {
        println!("{:<22} {:.0}", "records/s", r.records_per_s);
    }
    println!(
        "{:<22} {:.2} / {:.2} / {:.2}",
        "p50 / p99 / max (ms)", r.p50_ms, r.p99_ms, r.max_ms
    );
    println!("{:<22} {}", "errors", r.errors);
    if r.retried_503 > 0 {
        println!("{:<22} {}", "503s retried", r.retried_503);
    }
    if let Some(size) = r.log_size {
        println!("{:<22} {size}", "checkpoint size");
    }
    if let Some(v) = r.verified {
        println!("{:<22} {v}", "verified (sample)");
    }
    if let Some(note) = &r.note {
        println!("{:<22} {note}", "note");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_records_have_every_kind() {
        let mut rng = SmallRng::seed_from_u64(1);
        let kinds: std::collections::HashSet<String> = (0..200)
            .map(|i| {
                random_record(&mut rng, i)["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let tally = Tally {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ops: 100,
            ..Tally::default()
        };
        let r = tally.report("x", Duration::from_secs(1));
        assert_eq!((r.p50_ms, r.p99_ms, r.max_ms), (50.0, 99.0, 100.0));
    }

    #[test]
    fn copy_rows_have_seven_fields() {
        let mut out = vec![];
        copy_row(&mut out, 7, b"{}", "s", "signal", 1);
        assert_eq!(&out[..2], &7i16.to_be_bytes());
        assert_eq!(out.len(), 2 + 7 * 4 + 8 + 32 + 2 + 1 + 6 + 32 + 8);
    }

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
    }
}
