//! `provlog anchors`: the log's anchoring transactions and their status.

use serde_json::{json, Value};

use crate::admin::{runtime, Conn};
use crate::Failure;

#[derive(Debug, clap::Args)]
pub struct AnchorsArgs {
    #[command(flatten)]
    conn: Conn,
    /// Only this status: pending, confirmed, replaced, reorged or failed.
    #[arg(long)]
    status: Option<String>,
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// The page as JSON.
    #[arg(long)]
    json: bool,
}

pub fn anchors(args: AnchorsArgs) -> Result<(), Failure> {
    let client = args.conn.client(false)?;
    let page = runtime()?
        .block_on(client.anchors(args.status.as_deref(), None, Some(args.limit)))
        .map_err(|e| Failure::Usage(format!("listing anchors: {e}")))?;
    if args.json {
        let rows: Vec<Value> = page
            .anchors
            .iter()
            .map(|a| {
                json!({"id": a.id, "status": a.status, "tree_size": a.tree_size, "chain_id": a.chain_id,
                       "contract": a.contract, "tx_hash": a.tx_hash, "block_number": a.block_number,
                       "nonce": a.nonce, "sent_at": a.sent_at, "confirmed_at": a.confirmed_at})
            })
            .collect();
        println!("{}", json!({"enabled": page.enabled, "anchors": rows}));
        return Ok(());
    }
    if !page.enabled {
        println!("this log does not anchor its checkpoints (anchor_rpc_url is not set)");
        return Ok(());
    }
    println!(
        "{:>6}  {:<10} {:>10} {:>9}  tx",
        "id", "status", "size", "block"
    );
    for a in &page.anchors {
        println!(
            "{:>6}  {:<10} {:>10} {:>9}  {}",
            a.id,
            a.status,
            a.tree_size,
            a.block_number
                .map(|b| b.to_string())
                .unwrap_or_else(|| "-".into()),
            a.tx_hash
        );
    }
    if page.anchors.is_empty() {
        println!("(none yet)");
    }
    Ok(())
}
