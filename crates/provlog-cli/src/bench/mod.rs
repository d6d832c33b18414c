//! `provlog bench`: a load generator against a running `provlog serve` (through
//! `provlog-client`, like any other client), plus the PostgreSQL `COPY` baseline that batched
//! ingest is compared with. Figures and the commands behind them live in docs/BENCHMARKS.md.
//!
//! The generator runs on the same machine as the server and the database when measured there:
//! its own CPU time competes with theirs, so keep that next to every figure.

mod copy;
mod load;
mod report;

use std::path::PathBuf;

use provlog_client::Client;

use crate::admin::ServerUrl;
use crate::Failure;
use copy::copy_baseline;
use load::{checkpoint_latency, ingest, ingest_single, receipts, SOURCE};
use report::{print_table, Report};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    server: ServerUrl,
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
    crate::admin::connect(
        &args.server.url,
        args.token_file.as_deref(),
        needs_token.then_some("this mode writes: give --token-file"),
    )
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
