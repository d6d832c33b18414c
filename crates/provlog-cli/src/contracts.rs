//! `provlog contracts …`: the ProvenanceAnchor contract on an EVM chain.

use std::path::{Path, PathBuf};

use provlog_chain::primitives::Address;
use provlog_chain::{AnchorKey, Reader};

use crate::Failure;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Deploy ProvenanceAnchor (from the artifact built into this binary) and grant the
    /// anchorer role.
    #[command(
        after_help = "Example:\n  provlog keygen --anchorer --out anchorer.key\n  \
        provlog contracts deploy --rpc-url http://127.0.0.1:8545 --chain-id 31337 \\\n    \
        --key-file deployer.key --anchorer 0xAnchorerAddress --out deployment.json\n\n\
        The deployer's account becomes the contract's owner (it manages anchorers). Without\n\
        --anchorer the deployer itself is made an anchorer. The contract address is printed\n\
        on stdout; --out also writes the deployment as JSON. Then set PROVLOG_ANCHOR_CONTRACT,\n\
        or PROVLOG_ANCHOR_CONTRACT_FILE to the --out file.\n\n\
        With --reuse, an existing --out file is a deployment to keep: if the chain has code at\n\
        its address and every --anchorer holds the role there, that address is printed and\n\
        nothing is sent; otherwise the command fails without deploying. A one-shot deploy\n\
        (docker compose's `deploy` service) can so run on every start."
    )]
    Deploy(DeployArgs),
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "PROVLOG_ANCHOR_RPC_URL", hide_env_values = true)]
    rpc_url: String,
    /// The chain id the endpoint must serve (a guard against deploying on the wrong chain).
    #[arg(long, env = "PROVLOG_ANCHOR_CHAIN_ID")]
    chain_id: u64,
    /// File with the deployer's secp256k1 private key (hex); it pays for and owns the contract.
    #[arg(long, value_name = "FILE")]
    key_file: PathBuf,
    /// An account to grant the anchorer role (repeatable); default: the deployer.
    #[arg(long = "anchorer", value_name = "ADDRESS")]
    anchorers: Vec<String>,
    /// Also write the deployment (chain id, address, owner, block) to this JSON file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Keep the deployment already recorded in --out (after checking it on chain) instead of
    /// deploying again.
    #[arg(long, requires = "out")]
    reuse: bool,
}

pub fn run(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Deploy(args) => deploy(args),
    }
}

fn deploy(args: DeployArgs) -> Result<(), Failure> {
    let key = AnchorKey::from_file(&args.key_file).map_err(|e| Failure::Usage(e.to_string()))?;
    let mut anchorers = args
        .anchorers
        .iter()
        .map(|a| {
            a.parse::<Address>()
                .map_err(|_| Failure::Usage(format!("--anchorer {a:?} is not a 0x address")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if anchorers.is_empty() {
        anchorers.push(key.address());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))?;
    if let Some(dir) = args.out.as_deref().and_then(Path::parent) {
        // Checked first: a deployment whose record cannot be written would be deployed again.
        if !dir.as_os_str().is_empty() && !dir.is_dir() {
            return Err(Failure::Usage(format!(
                "--out: no directory {}",
                dir.display()
            )));
        }
    }
    if let Some(out) = args.out.as_deref().filter(|out| args.reuse && out.exists()) {
        let contract = runtime.block_on(recorded(out, &args.rpc_url, args.chain_id, &anchorers))?;
        println!("{contract}");
        return Ok(());
    }
    let deployment = runtime
        .block_on(provlog_chain::deploy(
            &args.rpc_url,
            args.chain_id,
            &key,
            &anchorers,
        ))
        .map_err(|e| Failure::Usage(format!("deploying: {e}")))?;
    let json = serde_json::json!({
        "chain_id": deployment.chain_id,
        "contract": deployment.contract.to_string(),
        "owner": deployment.owner.to_string(),
        "anchorers": anchorers.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "block_number": deployment.block_number,
    });
    if let Some(out) = &args.out {
        let text =
            serde_json::to_string_pretty(&json).map_err(|e| Failure::Usage(e.to_string()))?;
        write_atomically(out, &(text + "\n"))
            .map_err(|e| Failure::Usage(format!("writing {}: {e}", out.display())))?;
    }
    eprintln!(
        "deployed ProvenanceAnchor at block {} on chain {}, owner {}, anchorers {}",
        deployment.block_number, deployment.chain_id, deployment.owner, json["anchorers"]
    );
    println!("{}", deployment.contract);
    Ok(())
}

/// The contract recorded in `out`, after checking that it is on this chain: the same chain id,
/// code at the address, and the anchorer role for each of `anchorers`.
async fn recorded(
    out: &Path,
    rpc_url: &str,
    chain_id: u64,
    anchorers: &[Address],
) -> Result<Address, Failure> {
    let usage = |why: String| Failure::Usage(format!("{}: {why}", out.display()));
    let text = std::fs::read_to_string(out).map_err(|e| usage(e.to_string()))?;
    let record: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| usage(format!("not JSON: {e}")))?;
    let contract: Address = record["contract"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| usage("no \"contract\" address".into()))?;
    if record["chain_id"].as_u64() != Some(chain_id) {
        return Err(usage(format!(
            "records a deployment on chain {}, not on --chain-id {chain_id}",
            record["chain_id"]
        )));
    }
    let reader = Reader::new(rpc_url).map_err(|e| Failure::Usage(e.to_string()))?;
    reader
        .require_chain(chain_id)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    // No code: the chain was reset (a local node without its state) or this is another chain
    // with the same id. Deploying anew would leave a database whose anchors point elsewhere.
    reader.require_contract(contract).await.map_err(|e| {
        usage(format!(
            "{e}; the chain does not hold this deployment (reset chain?). Remove the file to \
             deploy anew, together with the log's database"
        ))
    })?;
    for anchorer in anchorers {
        let granted = reader
            .is_anchorer(contract, *anchorer)
            .await
            .map_err(|e| Failure::Usage(e.to_string()))?;
        if !granted {
            return Err(usage(format!(
                "{anchorer} is not an anchorer of the recorded contract {contract}"
            )));
        }
    }
    eprintln!(
        "reusing ProvenanceAnchor at {contract} on chain {chain_id}, recorded in {} \
         (deployed at block {})",
        out.display(),
        record["block_number"]
    );
    Ok(contract)
}

/// Writes `text` to `path` through a temporary file in the same directory, so a crash leaves
/// either the old file or the new one, never half a record that `--reuse` would refuse.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
