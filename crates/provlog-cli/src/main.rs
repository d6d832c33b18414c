//! `provlog`: the command line of the provenance log.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin;
mod anchors;
mod bench;
mod contracts;
mod demo;
mod dev;
mod healthcheck;
mod keygen;
mod monitor;
mod receipt;
mod serve;
mod submit;
mod track_record;
mod verify;

/// Verifiable provenance log for AI data.
#[derive(Debug, Parser)]
#[command(name = "provlog", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate an Ed25519 checkpoint signing key (C2SP signed-note format), or with
    /// --anchorer a secp256k1 key for the anchoring account.
    #[command(
        after_help = "Examples:\n  provlog keygen --name example.com/provlog --out log.key\n  \
        provlog keygen --anchorer --out anchorer.key\n\n\
        The secret key is written to FILE with mode 0600 and never printed; the verifier key\n\
        (name+keyid+base64), or the anchorer's 0x address, is printed on stdout."
    )]
    Keygen(keygen::Args),
    /// Everything on this machine: the log on SQLite, a local chain, demo data, verified receipts.
    #[command(
        after_help = "Examples:\n  provlog dev                      # serve until Ctrl-C; a second run reuses ./provlog-dev\n  \
        provlog dev --once               # stop after the demo\n  \
        provlog dev --data-dir /tmp/pl --listen 127.0.0.1:0 --chain-port 0\n\n\
        Needs anvil (Foundry's local EVM node): `npm ci --prefix contracts` in a provlog clone\n\
        installs the pinned one, or put anvil on PATH, or set PROVLOG_ANVIL. The data directory\n\
        holds development keys (the anchorer is anvil's public test account): never use them\n\
        on a real chain."
    )]
    Dev(dev::Args),
    /// Run the log service (runs migrations first).
    #[command(
        after_help = "Example:\n  PROVLOG_ORIGIN=example.com/provlog PROVLOG_SIGNING_KEY_FILE=log.key \\\n  \
        PROVLOG_ADMIN_TOKEN_FILE=admin.token PROVLOG_DATABASE_URL=postgres://… provlog serve\n\n\
        Configuration: a TOML file (--config) overridden by PROVLOG_* variables; see README."
    )]
    Serve(serve::Args),
    /// Apply database migrations and exit.
    #[command(
        after_help = "Example:\n  PROVLOG_ORIGIN=example.com/provlog PROVLOG_DATABASE_URL=postgres://… provlog migrate\n\n\
        Takes the same configuration as serve; serve also migrates on start."
    )]
    Migrate(serve::Args),
    /// Deploy the ProvenanceAnchor contract.
    #[command(subcommand)]
    Contracts(contracts::Command),
    /// Verify receipts and proofs (offline; a receipt's anchor also against the chain).
    #[command(subcommand)]
    Verify(verify::Command),
    /// API keys: bootstrap the first admin key, create, list, rotate, revoke.
    #[command(
        after_help = "Examples:\n  provlog keys --token-file admin.token bootstrap --token-out admin.key\n  \
        provlog keys --token-file admin.key create --scope ingest --source acme --token-out acme.key\n  \
        provlog keys --token-file admin.key rotate 3f9a0c11b2d4 --overlap-ms 3600000"
    )]
    Keys(admin::KeysArgs),
    /// Sources: register, change, list; their Ed25519 keys; a new source signing key.
    #[command(
        after_help = "Examples:\n  provlog sources --token-file admin.key create acme --name ACME --schema acme.schema.json --policy flag\n  \
        provlog sources keygen --out acme.sign   # prints the public key\n  \
        provlog sources --token-file admin.key add-key acme --key-id acme-1 --key-file acme.sign"
    )]
    Sources(admin::SourcesArgs),
    /// The audit trail of admin actions.
    #[command(after_help = "Example:\n  provlog audit --token-file admin.key")]
    Audit(admin::AuditArgs),
    /// Submit signals (JSON, NDJSON) or a snapshot (CSV, NDJSON; or only its digest) in bulk.
    #[command(after_help = submit::SUBMIT_HELP)]
    Submit(submit::SubmitArgs),
    /// Fetch receipts.
    Receipt(receipt::ReceiptArgs),
    /// A source's track record: fetch it; score it offline by the rules the source declared.
    #[command(name = "track-record", after_help = track_record::AFTER_HELP)]
    TrackRecord(track_record::Args),
    /// The log's anchoring transactions and their status.
    #[command(
        after_help = "Examples:\n  provlog anchors\n  provlog anchors --status pending --json"
    )]
    Anchors(anchors::AnchorsArgs),
    /// Follow a log's checkpoints: verify signatures and consistency, check anchors, cosign;
    /// alarm on a split view.
    #[command(after_help = monitor::AFTER_HELP)]
    Monitor(monitor::Args),
    /// Exit 0 when a server's /readyz answers 200 (container healthchecks).
    #[command(after_help = healthcheck::AFTER_HELP)]
    Healthcheck(healthcheck::Args),
    /// Load generator against a running server, and the PostgreSQL COPY baseline.
    #[command(after_help = bench::AFTER_HELP)]
    Bench(bench::Args),
}

/// How a command failed, and the exit code that tells scripts which it was.
#[derive(Debug)]
pub enum Failure {
    /// A well-formed input that does not verify: exit 1.
    Invalid(String),
    /// Bad usage, unreadable or unparseable input: exit 2.
    Usage(String),
}

impl Failure {
    fn exit(self) -> ExitCode {
        match self {
            Failure::Invalid(reason) => {
                eprintln!("invalid: {reason}");
                ExitCode::from(1)
            }
            Failure::Usage(reason) => {
                eprintln!("error: {reason}");
                ExitCode::from(2)
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(args),
        Command::Dev(args) => dev::run(args),
        Command::Serve(args) => serve::serve(args),
        Command::Migrate(args) => serve::migrate(args),
        Command::Contracts(cmd) => contracts::run(cmd),
        Command::Verify(cmd) => verify::run(cmd),
        Command::TrackRecord(args) => track_record::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Monitor(args) => monitor::run(args),
        Command::Submit(args) => submit::submit(args),
        Command::Receipt(args) => receipt::receipt(args),
        Command::Anchors(args) => anchors::anchors(args),
        Command::Keys(args) => admin::keys(args),
        Command::Sources(args) => admin::sources(args),
        Command::Audit(args) => admin::audit(args),
        Command::Healthcheck(args) => healthcheck::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit(),
    }
}
