//! The local chain of `provlog dev`: anvil as a child process, the anchoring account, and the
//! anchor contract (reused from an earlier run when the chain still holds it for this log).

use std::path::Path;

use provlog_chain::anvil::{self, Anvil, AnvilOptions};
use provlog_chain::primitives::Address;
use provlog_chain::{AnchorKey, Reader};
use provlog_store::Store;
use serde_json::{json, Value};

use super::{ensure_secret, say, usage, Paths, ORIGIN};
use crate::Failure;

/// anvil's first development account: funded on every anvil chain, and known to everyone, so
/// it must never be used on a real chain.
pub(super) fn anchorer_key(paths: &Paths) -> Result<AnchorKey, Failure> {
    let path = ensure_secret(paths.file("anchorer.key"), || {
        Ok(anvil::dev_key(0).to_hex().to_string())
    })?;
    AnchorKey::from_file(&path).map_err(|e| Failure::Usage(e.to_string()))
}

pub(super) async fn start_chain(paths: &Paths, port: u16) -> Result<Anvil, Failure> {
    const INSTALL: &str = "In a provlog clone, `npm ci --prefix contracts` installs the pinned \
        anvil (@foundry-rs/anvil-linux-amd64); or install Foundry (https://getfoundry.sh) so \
        `anvil` is on PATH; or set PROVLOG_ANVIL to its path.";
    match anvil::binary() {
        None => {
            return Err(Failure::Usage(format!(
                "anvil (Foundry's local EVM node) is not installed. {INSTALL}"
            )))
        }
        Some(path) if !path.is_file() => {
            return Err(Failure::Usage(format!(
                "anvil is not at {} (from PROVLOG_ANVIL). {INSTALL}",
                path.display()
            )))
        }
        Some(_) => {}
    }
    if port != 0 && std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        return Err(Failure::Usage(format!(
            "port {port} is in use (an anvil left over from an earlier run? `pkill anvil`), \
             or pass --chain-port 0 for any free port"
        )));
    }
    let state = paths.file("anvil-state.json");
    let resumed = state.exists();
    let node = Anvil::start(AnvilOptions {
        state: Some(state),
        state_interval: Some(1),
        port: (port != 0).then_some(port),
        chain_id: Some(anvil::CHAIN_ID),
        block_time: None,
    })
    .await
    .map_err(|e| Failure::Usage(e.to_string()))?;
    say(format!(
        "chain   anvil at {} (chain id {}), {}",
        node.url(),
        anvil::CHAIN_ID,
        if resumed {
            "state restored from anvil-state.json"
        } else {
            "a new chain"
        }
    ));
    Ok(node)
}

/// The anchor contract: the recorded deployment when the chain still has it and it anchors this
/// log; otherwise a new deployment.
pub(super) async fn contract(
    paths: &Paths,
    chain: &Anvil,
    key: &AnchorKey,
    store: &Store,
) -> Result<Address, Failure> {
    let file = paths.file("deployment.json");
    let reader = Reader::new(&chain.url()).map_err(|e| Failure::Usage(e.to_string()))?;
    if let Some(recorded) = recorded_contract(&file)? {
        if let Some(reason) = stale(&reader, recorded, store).await? {
            say(format!("chain   not reusing contract {recorded}: {reason}"));
        } else {
            say(format!(
                "chain   anchor contract {recorded} (deployed by an earlier run)"
            ));
            return Ok(recorded);
        }
    }
    let deployment = provlog_chain::deploy(&chain.url(), anvil::CHAIN_ID, key, &[key.address()])
        .await
        .map_err(usage("deploying the anchor contract"))?;
    let text = serde_json::to_string_pretty(&json!({
        "chain_id": deployment.chain_id,
        "contract": deployment.contract.to_string(),
        "owner": deployment.owner.to_string(),
        "block_number": deployment.block_number,
    }))
    .map_err(|e| Failure::Usage(e.to_string()))?;
    std::fs::write(&file, text + "\n").map_err(usage("writing deployment.json"))?;
    say(format!(
        "chain   deployed the anchor contract at {} (block {})",
        deployment.contract, deployment.block_number
    ));
    Ok(deployment.contract)
}

fn recorded_contract(file: &Path) -> Result<Option<Address>, Failure> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(None);
    };
    let value: Value = serde_json::from_str(&text).map_err(usage("deployment.json"))?;
    value["contract"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .map(Some)
        .ok_or_else(|| Failure::Usage("deployment.json names no contract address".into()))
}

/// Why a recorded contract cannot serve this log, if it cannot.
async fn stale(
    reader: &Reader,
    contract: Address,
    store: &Store,
) -> Result<Option<String>, Failure> {
    if reader.require_contract(contract).await.is_err() {
        return Ok(Some(
            "the chain has no code there (its state was not saved)".into(),
        ));
    }
    let (size, root) = reader
        .latest(contract, provlog_chain::log_id(ORIGIN))
        .await
        .map_err(usage("reading the anchor contract"))?;
    if size == 0 {
        return Ok(None);
    }
    let ours = store
        .checkpoint(size)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(match ours {
        Some(cp) if cp.root.as_bytes() == &root.0 => None,
        _ => Some(format!(
            "it anchors tree size {size} of another copy of this log (the database was reset)"
        )),
    })
}
