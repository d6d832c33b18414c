//! `provlog contracts …`: the ProvenanceAnchor contract on an EVM chain.

use std::path::PathBuf;

use provlog_chain::primitives::Address;
use provlog_chain::AnchorKey;

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
        on stdout; --out also writes the deployment as JSON. Then set PROVLOG_ANCHOR_CONTRACT."
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
        std::fs::write(out, text + "\n")
            .map_err(|e| Failure::Usage(format!("writing {}: {e}", out.display())))?;
    }
    eprintln!(
        "deployed ProvenanceAnchor at block {} on chain {}, owner {}, anchorers {}",
        deployment.block_number, deployment.chain_id, deployment.owner, json["anchorers"]
    );
    println!("{}", deployment.contract);
    Ok(())
}
