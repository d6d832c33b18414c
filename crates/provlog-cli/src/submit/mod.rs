//! Bulk work against a running log: `provlog submit` (signals from JSON or NDJSON, snapshots
//! from CSV or NDJSON, optionally as a bare digest).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::prelude::{Engine as _, BASE64_STANDARD};
use indicatif::{ProgressBar, ProgressStyle};
use provlog_client::{Ack, Client, ClientError, RetryPolicy, SourceSigner, Submission};
use provlog_core::record::snapshot_content_json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::admin::{runtime, Conn};
use crate::Failure;

mod commit;

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    what: SubmitCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SubmitCommand {
    /// Signals: a JSON object (one payload), a JSON array (one per element), or NDJSON (one
    /// per line; `-` reads standard input). Sent in batches, each under an idempotency key
    /// derived from the file, so running the same command again logs nothing twice.
    #[command(
        after_help = "Examples:\n  provlog submit --token-file acme.key signals --source acme-signals day.ndjson\n  \
        model | provlog submit --token-file acme.key signals --source acme-signals -\n  \
        provlog submit --token-file acme.key signals --source acme-signals day.ndjson \\\n    \
        --commit --reveal-by +24h\n\n\
        With --commit the log gets a hiding commitment to each signal (SHA-256 over a fresh\n\
        random 32-byte salt and the signal's RFC 8785 bytes) with its reveal window; the signals\n\
        and salts are appended to --salts (default FILE.salts.jsonl, mode 0600) before anything\n\
        is sent. Keep that file: `provlog submit reveal` discloses them later."
    )]
    Signals {
        #[arg(long)]
        source: String,
        file: PathBuf,
        /// Records per request.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        #[command(flatten)]
        commit: commit::CommitArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Reveal the committed signals kept in a salts file whose reveal window is open: each
    /// becomes a `reveal` record naming its commitment. Already revealed ones are skipped.
    #[command(
        after_help = "Example:\n  provlog submit --token-file acme.key reveal --source acme-signals \\\n    \
        --salts day.ndjson.salts.jsonl"
    )]
    Reveal {
        #[arg(long)]
        source: String,
        /// The salts file `submit signals --commit` wrote.
        #[arg(long, value_name = "FILE")]
        salts: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// One snapshot from a CSV file (header row; each row becomes a JSON object of strings) or
    /// NDJSON (one JSON item per line). The content tree is computed here and compared with
    /// the log's; with --digest-only only its root is sent and the rows never leave this machine.
    #[command(
        after_help = "Examples:\n  provlog submit --token-file acme.key snapshot --source acme-grades grades.csv\n  \
        provlog submit --token-file acme.key snapshot --source acme-grades grades.ndjson --digest-only"
    )]
    Snapshot {
        #[arg(long)]
        source: String,
        file: PathBuf,
        /// Send only the content root and item count (a `digest` record).
        #[arg(long)]
        digest_only: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, clap::Args)]
struct Common {
    /// The source's Ed25519 signing key (provlog sources keygen): sign every record and request.
    #[arg(long, value_name = "FILE", requires = "key_id")]
    signing_key: Option<PathBuf>,
    /// The key id registered for that key.
    #[arg(long, requires = "signing_key")]
    key_id: Option<String>,
    /// Print the summary and the records as JSON.
    #[arg(long)]
    json: bool,
}

pub const SUBMIT_HELP: &str = "Examples:\n  \
provlog submit --token-file acme.key signals --source acme-signals signals.ndjson\n  \
provlog submit --token-file acme.key signals --source acme-signals one-signal.json --json\n  \
provlog submit --token-file acme.key snapshot --source acme-grades grades-2026-11-27.csv\n  \
provlog submit --token-file acme.key snapshot --source acme-grades grades.csv --digest-only\n  \
provlog submit --token-file acme.key signals --source acme-signals day.ndjson --commit --reveal-by +24h\n  \
provlog submit --token-file acme.key reveal --source acme-signals --salts day.ndjson.salts.jsonl\n\n\
Requests the log answers with 503 (busy) are retried after its Retry-After, with backoff.\n\
Exit status: 0 all logged, 1 the log's content root differs from the local one, 2 usage,\n\
unreadable input or a refused request (the log's reason is printed).";

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    if path == Path::new("-") {
        let mut buf = vec![];
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| Failure::Usage(format!("reading standard input: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))
}

/// JSON values from a JSON document (an array is its elements) or NDJSON lines.
fn json_values(path: &Path, bytes: &[u8]) -> Result<Vec<Value>, Failure> {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        return Ok(match value {
            Value::Array(items) => items,
            other => vec![other],
        });
    }
    ndjson(path, bytes)
}

fn ndjson(path: &Path, bytes: &[u8]) -> Result<Vec<Value>, Failure> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Failure::Usage(format!("{}: not UTF-8: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                Failure::Usage(format!("{} line {}: not JSON: {e}", path.display(), i + 1))
            })
        })
        .collect()
}

/// CSV rows as JSON objects keyed by the header; values stay strings (nothing is guessed).
pub(crate) fn csv_rows(path: &Path, bytes: &[u8]) -> Result<Vec<Value>, Failure> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?
        .clone();
    reader
        .records()
        .map(|row| {
            let row = row.map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
            Ok(Value::Object(
                headers
                    .iter()
                    .zip(row.iter())
                    .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
                    .collect(),
            ))
        })
        .collect()
}

/// The source key of `--signing-key`/`--key-id`, if given, and `client` signing with it.
fn signing(client: Client, common: &Common) -> Result<(Client, Option<SourceSigner>), Failure> {
    let (Some(path), Some(key_id)) = (&common.signing_key, &common.key_id) else {
        return Ok((client, None));
    };
    let signer = crate::admin::read_source_signer(path, key_id)?;
    Ok((client.with_signer(signer.clone()), Some(signer)))
}

fn progress(total: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {what} ({{per_sec}}, eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn refused(e: ClientError) -> Failure {
    Failure::Usage(format!("the log refused the submission: {e}"))
}

pub fn submit(args: SubmitArgs) -> Result<(), Failure> {
    let client = args.conn.client(true)?;
    match args.what {
        SubmitCommand::Signals {
            source,
            file,
            batch,
            commit,
            common,
        } => signals(client, &source, &file, batch.max(1), &commit, &common),
        SubmitCommand::Reveal {
            source,
            salts,
            common,
        } => {
            let (client, _) = signing(client, &common)?;
            runtime()?.block_on(commit::reveal(&client, &source, &salts, common.json))
        }
        SubmitCommand::Snapshot {
            source,
            file,
            digest_only,
            common,
        } => snapshot(client, &source, &file, digest_only, &common),
    }
}

fn signals(
    client: Client,
    source: &str,
    file: &Path,
    batch: usize,
    commit: &commit::CommitArgs,
    common: &Common,
) -> Result<(), Failure> {
    let bytes = read(file)?;
    let payloads = json_values(file, &bytes)?;
    if payloads.is_empty() {
        return Err(Failure::Usage(format!(
            "{}: no signals in it",
            file.display()
        )));
    }
    // Committed: the records are commitments, each under its own salt, kept before sending.
    let salts = commit
        .commit
        .then(|| commit::salts_path(commit, file))
        .transpose()?;
    let committed = match &salts {
        Some(path) => Some(commit::commitments(source, &payloads, commit, path)?),
        None => None,
    };
    let (client, signer) = signing(client, common)?;
    // The same file and source give the same keys: a rerun after a failure resumes. Commitments
    // are new each run (fresh salts), so their keys are their own.
    let mut id = Sha256::new().chain_update(source).chain_update(&bytes);
    if let Some(c) = &committed {
        id.update(serde_json::to_vec(c).unwrap_or_default());
    }
    let file_id = hex::encode(&id.finalize()[..12]);
    let started = Instant::now();
    let bar = progress(payloads.len() as u64, "signals");
    let (mut acks, mut replayed) = (vec![], 0usize);
    runtime()?.block_on(async {
        for (n, chunk) in payloads.chunks(batch).enumerate() {
            let mut records = Vec::with_capacity(chunk.len());
            for (i, payload) in chunk.iter().enumerate() {
                let mut record = match &committed {
                    Some(c) => c[n * batch + i].clone(),
                    None => provlog_client::signal(source, payload.clone()),
                };
                if let Some(s) = &signer {
                    s.sign_record(&mut record)
                        .map_err(|e| Failure::Usage(e.to_string()))?;
                }
                records.push(record);
            }
            let submission =
                Submission::batch(&records).idempotency_key(format!("submit-{file_id}-{n}"));
            let response = client
                .submit_with_retry(&submission, &RetryPolicy::default())
                .await
                .map_err(refused)?;
            if response.replayed {
                replayed += response.records.len();
            }
            bar.inc(response.records.len() as u64);
            acks.extend(response.records);
        }
        Ok::<(), Failure>(())
    })?;
    bar.finish_and_clear();
    let note = salts.map(|p| {
        format!(
            "salts and signals kept in {} (keep it secret until the reveal; reveal with `provlog submit reveal --source {source} --salts {}`)",
            p.display(),
            p.display()
        )
    });
    let what = if committed.is_some() {
        "commitment"
    } else {
        "signal"
    };
    summary(&acks, replayed, started.elapsed(), what, common.json, note);
    Ok(())
}

fn snapshot(
    client: Client,
    source: &str,
    file: &Path,
    digest_only: bool,
    common: &Common,
) -> Result<(), Failure> {
    let bytes = read(file)?;
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let items = if is_csv {
        csv_rows(file, &bytes)?
    } else {
        ndjson(file, &bytes)?
    };
    let (content, canonical) = snapshot_content_json(&items)
        .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
    let (client, signer) = signing(client, common)?;
    let key = format!(
        "snapshot-{}",
        hex::encode(
            &Sha256::new()
                .chain_update(source)
                .chain_update(content.root.as_bytes())
                .chain_update([u8::from(digest_only)])
                .finalize()[..12]
        )
    );
    let started = Instant::now();
    let response = runtime()?.block_on(async {
        if digest_only || signer.is_some() {
            let mut record = if digest_only {
                json!({"kind": "digest", "source": source, "content": {
                    "alg": "rfc9162-sha256",
                    "root": content.root,
                    "items": content.items,
                    "media_type": "application/json",
                }})
            } else {
                provlog_client::snapshot(source, items.clone())
            };
            if let Some(s) = &signer {
                s.sign_record(&mut record)
                    .map_err(|e| Failure::Usage(e.to_string()))?;
            }
            client
                .submit_with_retry(
                    &Submission::one(&record).idempotency_key(key),
                    &RetryPolicy::default(),
                )
                .await
                .map_err(refused)
        } else {
            let mut body = Vec::with_capacity(bytes.len());
            for line in &canonical {
                body.extend_from_slice(line);
                body.push(b'\n');
            }
            client
                .submit_ndjson_snapshot(source, body, Some(&key))
                .await
                .map_err(refused)
        }
    })?;
    let ack = response
        .records
        .first()
        .ok_or_else(|| Failure::Usage("the log answered without a record".into()))?;
    if ack.content_root != content.root {
        return Err(Failure::Invalid(format!(
            "the log committed to content root {}, but the {} rows here hash to {}",
            ack.content_root, content.items, content.root
        )));
    }
    let replayed = if response.replayed { 1 } else { 0 };
    let what = if digest_only { "digest" } else { "snapshot" };
    let note = format!(
        "{} item(s), content root {} (computed here and matching the log's){}",
        content.items,
        BASE64_STANDARD.encode(content.root.as_bytes()),
        if digest_only {
            "; the rows were not sent"
        } else {
            ""
        }
    );
    summary(
        &response.records,
        replayed,
        started.elapsed(),
        what,
        common.json,
        Some(note),
    );
    Ok(())
}

fn summary(
    acks: &[Ack],
    replayed: usize,
    took: Duration,
    what: &str,
    json: bool,
    note: Option<String>,
) {
    let (first, last) = (acks.first().map(|a| a.index), acks.last().map(|a| a.index));
    if json {
        println!(
            "{}",
            json!({
                "records": acks,
                "logged": acks.len(),
                "replayed": replayed,
                "seconds": took.as_secs_f64(),
                "note": note,
            })
        );
        return;
    }
    let rate = acks.len() as f64 / took.as_secs_f64().max(1e-3);
    println!(
        "logged {} {what} record(s){} as records {}..={} in {:.2} s ({rate:.0}/s)",
        acks.len(),
        if replayed > 0 {
            format!(" ({replayed} already logged by an earlier run)")
        } else {
            String::new()
        },
        first.unwrap_or(0),
        last.unwrap_or(0),
        took.as_secs_f64(),
    );
    if let Some(note) = note {
        println!("{note}");
    }
    if let Some(first) = first {
        println!("next: provlog receipt get {first} -o receipt.json");
    }
}
