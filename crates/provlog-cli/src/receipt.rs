//! `provlog receipt get`: a record's receipt from a running log, optionally once it is anchored.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use provlog_core::receipt::Receipt;

use crate::admin::{runtime, Conn};
use crate::Failure;

#[derive(Debug, clap::Args)]
pub struct ReceiptArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: ReceiptCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ReceiptCommand {
    /// Fetch a record's receipt (a snapshot row's with --item) and write it to a file.
    #[command(after_help = "Examples:\n  provlog receipt get 42 -o receipt.json\n  \
        provlog receipt get 7 --item 120 --wait-anchored 120 -o row.json\n  \
        provlog verify receipt receipt.json --key log.vkey")]
    Get {
        /// Record id (its index).
        id: u64,
        /// A snapshot row.
        #[arg(long)]
        item: Option<u64>,
        /// At the checkpoint of this size (default: the smallest anchored one, else the latest).
        #[arg(long)]
        size: Option<u64>,
        /// Wait up to this many seconds for a receipt carrying an on-chain anchor.
        #[arg(long, value_name = "SECONDS")]
        wait_anchored: Option<u64>,
        /// Output file; - for standard output.
        #[arg(short = 'o', long, value_name = "FILE", default_value = "-")]
        out: PathBuf,
    },
}

pub fn receipt(args: ReceiptArgs) -> Result<(), Failure> {
    let client = args.conn.client(false)?;
    let ReceiptCommand::Get {
        id,
        item,
        size,
        wait_anchored,
        out,
    } = args.command;
    let deadline = wait_anchored.map(|s| Instant::now() + Duration::from_secs(s));
    let bytes = runtime()?.block_on(async {
        loop {
            let bytes = match client.receipt_json(id, item, size).await {
                Ok(bytes) => bytes,
                // Not in a checkpoint yet (409): worth waiting for when asked to wait.
                Err(e)
                    if e.status() == Some(409) && deadline.is_some_and(|d| Instant::now() < d) =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                Err(e) => {
                    return Err(Failure::Usage(format!(
                        "fetching the receipt of record {id}: {e}"
                    )))
                }
            };
            let anchored = Receipt::from_json(&bytes)
                .map_err(|e| Failure::Usage(format!("the log's receipt: {e}")))?
                .anchor
                .is_some();
            match deadline {
                Some(d) if !anchored && Instant::now() < d => {
                    tokio::time::sleep(Duration::from_millis(500)).await
                }
                Some(_) if !anchored => {
                    return Err(Failure::Usage(format!(
                        "record {id}'s receipt is not anchored yet (waited {} s); the log anchors \
                         every anchor_every_ms, see GET /v1/anchors",
                        wait_anchored.unwrap_or(0)
                    )))
                }
                _ => return Ok((bytes, anchored)),
            }
        }
    })?;
    let (bytes, anchored) = bytes;
    if out == Path::new("-") {
        println!("{}", String::from_utf8_lossy(&bytes));
    } else {
        std::fs::write(&out, &bytes)
            .map_err(|e| Failure::Usage(format!("writing {}: {e}", out.display())))?;
        eprintln!(
            "receipt of record {id}{} written to {} ({}); check it with: provlog verify receipt {} --key LOG.vkey",
            item.map(|i| format!(" item {i}")).unwrap_or_default(),
            out.display(),
            if anchored { "anchored on chain" } else { "not anchored yet" },
            out.display()
        );
    }
    Ok(())
}
