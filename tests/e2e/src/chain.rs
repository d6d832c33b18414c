//! The anchoring contract on a local anvil chain, and the settings that make `provlog serve`
//! anchor to it: the setup the anchoring, crash, monitor and chain-fault tests share.
//!
//! Development account 0 deploys (its key in `deployer.key`), development account 1 anchors
//! (its key in `anchorer.key`, readable by its owner only, as `provlog serve` demands).

use std::path::PathBuf;

use provlog_chain::anvil::{dev_key, Anvil, CHAIN_ID};
use serde_json::json;

use crate::{provlog, provlog_ok, write_private, Fixture};

/// `deployer.key` in the fixture's directory: development account 0, written on first use.
pub fn deployer_key(fx: &Fixture) -> PathBuf {
    let path = fx.path("deployer.key");
    if !path.exists() {
        std::fs::write(&path, dev_key(0).to_hex().as_str()).expect("writing deployer.key");
    }
    path
}

/// `anchorer.key` in the fixture's directory: development account 1.
pub fn anchorer_key(fx: &Fixture) -> PathBuf {
    let path = fx.path("anchorer.key");
    write_private(&path, dev_key(1).to_hex().as_str());
    path
}

/// `provlog contracts deploy --rpc-url URL --chain-id 31337 --key-file deployer.key ARGS`,
/// which must succeed; the contract address it printed.
pub fn contracts_deploy(fx: &Fixture, rpc_url: &str, args: &[&str]) -> String {
    let key = deployer_key(fx);
    let chain_id = CHAIN_ID.to_string();
    let mut all = vec![
        "contracts",
        "deploy",
        "--rpc-url",
        rpc_url,
        "--chain-id",
        &chain_id,
        "--key-file",
        key.to_str().expect("a UTF-8 temp path"),
    ];
    all.extend_from_slice(args);
    let out = provlog(&all);
    assert!(
        out.status.success(),
        "provlog contracts deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `PROVLOG_ANCHOR_*` for `contract` on `rpc_url` (serving `chain_id`), anchored with the key
/// in `key_file` after one confirmation. Tests add the pacing they need.
pub fn anchor_env(
    rpc_url: &str,
    chain_id: &str,
    contract: &str,
    key_file: &std::path::Path,
) -> Vec<(&'static str, String)> {
    vec![
        ("PROVLOG_ANCHOR_RPC_URL", rpc_url.to_string()),
        ("PROVLOG_ANCHOR_CHAIN_ID", chain_id.to_string()),
        ("PROVLOG_ANCHOR_CONTRACT", contract.to_string()),
        (
            "PROVLOG_ANCHOR_KEY_FILE",
            key_file.to_str().expect("a UTF-8 temp path").to_string(),
        ),
        ("PROVLOG_ANCHOR_CONFIRMATIONS", "1".into()),
    ]
}

/// A fresh anchorer key from `provlog keygen --anchorer` in `anchorer.key`, funded with 10 ether
/// on `node`; the key file and the account's address.
pub async fn funded_anchorer(node: &Anvil, fx: &Fixture) -> (PathBuf, String) {
    let key = fx.path("anchorer.key");
    let address = provlog_ok(&[
        "keygen",
        "--anchorer",
        "--out",
        key.to_str().expect("a UTF-8 temp path"),
    ])
    .trim()
    .to_string();
    node.rpc("anvil_setBalance", json!([address, "0x8ac7230489e80000"]))
        .await
        .expect("funding the anchorer");
    (key, address)
}
