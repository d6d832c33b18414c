//! Chain anchoring through the real binaries: `provlog keygen --anchorer`, `provlog contracts
//! deploy`, `provlog serve` anchoring on a real anvil node, and `provlog verify receipt
//! --rpc-url` checking receipts against the contract.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use provlog_chain::anvil::{dev_key, Anvil, AnvilOptions, CHAIN_ID};
use provlog_client::{signal, Submission};
use provlog_e2e::{provlog, wait_for, Fixture, Server, TestDb};
use serde_json::{json, Value};

const ORIGIN: &str = "example.com/provlog/e2e-anchoring";

fn run_ok(args: &[&str]) -> String {
    let out = provlog(args);
    assert!(
        out.status.success(),
        "provlog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `provlog verify receipt` with extra arguments: (exit code, stdout, stderr).
fn verify(fx: &Fixture, file: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "verify",
        "receipt",
        file.to_str().unwrap(),
        "--key",
        fx.vkey_file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = provlog(&args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_anchor_and_verify_receipts_on_chain() {
    let node = Anvil::start(AnvilOptions::default())
        .await
        .expect("anvil starts (npm ci in contracts/ installs it)");
    let url = node.url();
    let fx = Fixture::new(ORIGIN);

    // A fresh anchorer key; the deployer is a funded development account.
    let anchorer_key = fx.path("anchorer.key");
    let anchorer = run_ok(&[
        "keygen",
        "--anchorer",
        "--out",
        anchorer_key.to_str().unwrap(),
    ])
    .trim()
    .to_string();
    let key_text = std::fs::read_to_string(&anchorer_key).unwrap();
    assert!(
        !key_text.contains(&anchorer[2..]),
        "the file holds the key, not the address"
    );
    node.rpc("anvil_setBalance", json!([anchorer, "0x8ac7230489e80000"]))
        .await
        .unwrap();
    let deployer_key = fx.path("deployer.key");
    std::fs::write(&deployer_key, dev_key(0).to_hex().as_str()).unwrap();
    let deployment = fx.path("deployment.json");
    let contract = run_ok(&[
        "contracts",
        "deploy",
        "--rpc-url",
        &url,
        "--chain-id",
        &CHAIN_ID.to_string(),
        "--key-file",
        deployer_key.to_str().unwrap(),
        "--anchorer",
        &anchorer,
        "--out",
        deployment.to_str().unwrap(),
    ])
    .trim()
    .to_string();
    let written: Value = serde_json::from_slice(&std::fs::read(&deployment).unwrap()).unwrap();
    assert_eq!(written["contract"], contract.as_str());
    assert_eq!(
        written["anchorers"][0].as_str().unwrap().to_lowercase(),
        anchorer.to_lowercase()
    );
    // Deploying against the wrong chain id is refused before anything is sent.
    let out = provlog(&[
        "contracts",
        "deploy",
        "--rpc-url",
        &url,
        "--chain-id",
        "1",
        "--key-file",
        deployer_key.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chain id 31337"));

    let db = TestDb::create("anchoring").await;
    let chain_id = CHAIN_ID.to_string();
    let key_path = anchorer_key.to_str().unwrap().to_string();
    let env = |chain: &str| -> Vec<(&'static str, String)> {
        vec![
            ("PROVLOG_ANCHOR_RPC_URL", url.clone()),
            ("PROVLOG_ANCHOR_CHAIN_ID", chain.to_string()),
            ("PROVLOG_ANCHOR_CONTRACT", contract.clone()),
            ("PROVLOG_ANCHOR_KEY_FILE", key_path.clone()),
            ("PROVLOG_ANCHOR_CONFIRMATIONS", "1".into()),
            ("PROVLOG_ANCHOR_EVERY_MS", "0".into()),
            ("PROVLOG_ANCHOR_POLL_MS", "100".into()),
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200".into()),
        ]
    };
    // The server refuses an endpoint that serves another chain than the configured one.
    let wrong = env("10");
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let e = Server::try_start(&fx, &db.url, &wrong).expect_err("wrong chain id");
    assert!(e.contains("chain id 31337") && e.contains("says 10"), "{e}");

    let right = env(&chain_id);
    let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&fx, &db.url, &right);
    let client = server.client(&fx);
    for i in 0..10 {
        client
            .submit(&Submission::one(&signal(
                "e2e-chain",
                json!({"token": "BTC", "signal": 1, "n": i}),
            )))
            .await
            .unwrap();
    }
    let receipt: Value = wait_for(
        "an anchored receipt of record 9",
        Duration::from_secs(60),
        || {
            let client = client.clone();
            async move {
                let r = client.receipt_json(9, None, None).await.ok()?;
                let v: Value = serde_json::from_slice(&r).ok()?;
                v.get("anchor").is_some().then_some(v)
            }
        },
    )
    .await;
    let file = fx.path("receipt.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&receipt).unwrap()).unwrap();

    let (code, stdout, stderr) = verify(&fx, &file, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("chain check skipped"), "{stdout}");

    let (code, stdout, stderr) = verify(&fx, &file, &["--rpc-url", &url, "--contract", &contract]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("holds this root"), "{stdout}");
    assert!(!stdout.contains("not pinned"), "{stdout}");

    let (code, stdout, _) = verify(&fx, &file, &["--rpc-url", &url, "--json"]);
    assert_eq!(code, 0);
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["anchor"]["checked"], true);
    assert_eq!(summary["anchor"]["contract_pinned"], false);

    // Each way the chain can disagree is exit 1, with the reason.
    let (code, _, stderr) = verify(&fx, &file, &["--rpc-url", &url, "--confirmations", "1000"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("fewer than the required 1000"), "{stderr}");
    let other = dev_key(2).address().to_string();
    let (code, _, stderr) = verify(&fx, &file, &["--rpc-url", &url, "--contract", &other]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not the pinned"), "{stderr}");
    // A second, empty contract: the receipt names it, the chain holds nothing there.
    let empty = run_ok(&[
        "contracts",
        "deploy",
        "--rpc-url",
        &url,
        "--chain-id",
        &chain_id,
        "--key-file",
        deployer_key.to_str().unwrap(),
    ])
    .trim()
    .to_string();
    let mut moved = receipt.clone();
    moved["anchor"]["contract"] = json!(empty);
    let moved_file = fx.path("moved.json");
    std::fs::write(&moved_file, serde_json::to_vec(&moved).unwrap()).unwrap();
    let (code, _, stderr) = verify(&fx, &moved_file, &["--rpc-url", &url]);
    assert_eq!(code, 1);
    assert!(stderr.contains("holds no anchor"), "{stderr}");
    let mut nowhere = receipt.clone();
    nowhere["anchor"]["contract"] = json!(other);
    std::fs::write(&moved_file, serde_json::to_vec(&nowhere).unwrap()).unwrap();
    let (code, _, stderr) = verify(&fx, &moved_file, &["--rpc-url", &url]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no contract"), "{stderr}");
    // An unanchored receipt cannot pass the chain check.
    let mut bare = receipt.clone();
    bare.as_object_mut().unwrap().remove("anchor");
    std::fs::write(&moved_file, serde_json::to_vec(&bare).unwrap()).unwrap();
    let (code, _, stderr) = verify(&fx, &moved_file, &["--rpc-url", &url]);
    assert_eq!(code, 1);
    assert!(stderr.contains("carries no anchor"), "{stderr}");

    // The log lists its anchors; secrets stay out of the server's logs.
    let anchors = client.anchors(Some("confirmed"), None, None).await.unwrap();
    assert!(anchors.enabled);
    assert!(!anchors.anchors.is_empty());
    assert!(anchors
        .anchors
        .iter()
        .all(|a| a.status == "confirmed" && a.block_number.is_some()));
    let logs = server.logs();
    assert!(
        !logs.contains(key_text.trim().trim_start_matches("0x")),
        "anchor key in logs"
    );
    assert!(server.terminate(Duration::from_secs(10)).success());

    // With the chain gone, the chain check cannot be done: exit 2, not "invalid".
    drop(node);
    let (code, _, stderr) = verify(&fx, &file, &["--rpc-url", &url]);
    assert_eq!(code, 2, "{stderr}");
    db.drop_db().await;
}
