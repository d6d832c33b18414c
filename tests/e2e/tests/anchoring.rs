//! Chain anchoring through the real binaries: `provlog keygen --anchorer`, `provlog contracts
//! deploy`, `provlog serve` anchoring on a real anvil node, and `provlog verify receipt
//! --rpc-url` checking receipts against the contract.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use provlog_chain::anvil::{dev_key, Anvil, AnvilOptions, CHAIN_ID};
use provlog_client::{signal, Client, Submission};
use provlog_e2e::chain::{anchor_env, contracts_deploy, deployer_key, funded_anchorer};
use provlog_e2e::{env_refs, outcome, provlog, verify_receipt, wait_for, Fixture, Server, TestDb};
use serde_json::{json, Value};

const ORIGIN: &str = "example.com/provlog/e2e-anchoring";

/// `provlog verify receipt` with extra arguments: (exit code, stdout, stderr).
fn verify(fx: &Fixture, file: &Path, extra: &[&str]) -> (i32, String, String) {
    outcome(&verify_receipt(fx, file, extra))
}

/// A contract deployed by `provlog contracts deploy` for a fresh anchorer key.
struct Deployed {
    anchorer_key: PathBuf,
    /// What the key file holds.
    key_text: String,
    contract: String,
}

/// A fresh anchorer key; the deployer is a funded development account. Deploying against the
/// wrong chain id is refused before anything is sent.
async fn deploy_for_a_fresh_anchorer(node: &Anvil, fx: &Fixture) -> Deployed {
    let url = node.url();
    let (anchorer_key, anchorer) = funded_anchorer(node, fx).await;
    let key_text = std::fs::read_to_string(&anchorer_key).unwrap();
    assert!(
        !key_text.contains(&anchorer[2..]),
        "the file holds the key, not the address"
    );
    let deployment = fx.path("deployment.json");
    let contract = contracts_deploy(
        fx,
        &url,
        &[
            "--anchorer",
            &anchorer,
            "--out",
            deployment.to_str().unwrap(),
        ],
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&deployment).unwrap()).unwrap();
    assert_eq!(written["contract"], contract.as_str());
    assert_eq!(
        written["anchorers"][0].as_str().unwrap().to_lowercase(),
        anchorer.to_lowercase()
    );
    let out = provlog(&[
        "contracts",
        "deploy",
        "--rpc-url",
        &url,
        "--chain-id",
        "1",
        "--key-file",
        deployer_key(fx).to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chain id 31337"));
    Deployed {
        anchorer_key,
        key_text,
        contract,
    }
}

/// The server refuses an endpoint that serves another chain than the configured one; with the
/// right one it anchors. Returns it, once record 9 of 10 has an anchored receipt.
async fn serve_until_anchored(
    fx: &Fixture,
    db: &TestDb,
    url: &str,
    deployed: &Deployed,
) -> (Server, Client, Value) {
    let env = |chain: &str| {
        let mut env = anchor_env(url, chain, &deployed.contract, &deployed.anchorer_key);
        env.extend([
            ("PROVLOG_ANCHOR_EVERY_MS", "0".into()),
            ("PROVLOG_ANCHOR_POLL_MS", "100".into()),
            ("PROVLOG_CHECKPOINT_INTERVAL_MS", "200".into()),
        ]);
        env
    };
    let e = Server::try_start(fx, &db.url, &env_refs(&env("10"))).expect_err("wrong chain id");
    assert!(e.contains("chain id 31337") && e.contains("says 10"), "{e}");

    let server = Server::start(fx, &db.url, &env_refs(&env(&CHAIN_ID.to_string())));
    let client = server.client(fx);
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
    (server, client, receipt)
}

/// `provlog verify receipt` checks the anchor against the chain when given an RPC URL.
fn check_the_chain_check(fx: &Fixture, file: &Path, url: &str, contract: &str) {
    let (code, stdout, stderr) = verify(fx, file, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("chain check skipped"), "{stdout}");
    assert!(stdout.contains("operator's clock only"), "{stdout}");

    let (code, stdout, stderr) = verify(fx, file, &["--rpc-url", url, "--contract", contract]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("holds this root"), "{stdout}");
    assert!(stdout.contains("logged no later than"), "{stdout}");
    assert!(!stdout.contains("not pinned"), "{stdout}");

    let (code, stdout, _) = verify(fx, file, &["--rpc-url", url, "--json"]);
    assert_eq!(code, 0);
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["anchor"]["checked"], true);
    assert_eq!(summary["anchor"]["contract_pinned"], false);
    let receipt: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let stated = receipt["anchor"]["block_timestamp"]
        .as_u64()
        .expect("a block timestamp");
    assert_eq!(summary["anchor"]["block_timestamp"], stated);
    let not_after = summary["not_after"].as_str().expect("not_after");
    let ms = not_after
        .parse::<provlog_core::record::Timestamp>()
        .expect("RFC 3339")
        .unix_millis();
    assert_eq!(ms, i64::try_from(stated).unwrap() * 1000);
}

/// Every anchor field the contract's state does not name is checked against the chain:
/// altering one is exit 1, naming what differs.
fn check_the_transaction_and_block(fx: &Fixture, url: &str, receipt: &Value) {
    let anchor = &receipt["anchor"];
    let number = anchor["block_number"].as_u64().unwrap();
    let stated = anchor["block_timestamp"].as_u64().unwrap();
    let cases: [(&str, Value, &str); 5] = [
        (
            "tx_hash",
            json!(format!("0x{}", "ab".repeat(32))),
            "no mined transaction",
        ),
        (
            "block_hash",
            json!(format!("0x{}", "cd".repeat(32))),
            "the receipt names",
        ),
        ("block_number", json!(number + 1_000_000), "has no block"),
        ("block_number", json!(number - 1), "the receipt names"),
        ("block_timestamp", json!(stated + 1), "the receipt states"),
    ];
    let file = fx.path("tampered-anchor.json");
    for (field, value, reason) in cases {
        let mut tampered = receipt.clone();
        tampered["anchor"][field] = value.clone();
        std::fs::write(&file, serde_json::to_vec(&tampered).unwrap()).unwrap();
        let (code, _, stderr) = verify(fx, &file, &["--rpc-url", url]);
        assert_eq!(code, 1, "anchor.{field} = {value}: {stderr}");
        assert!(
            stderr.contains(reason),
            "anchor.{field} = {value}: {stderr}"
        );
    }
    // A receipt from before the log recorded block times still verifies on chain.
    let mut older = receipt.clone();
    older["anchor"]
        .as_object_mut()
        .unwrap()
        .remove("block_timestamp");
    std::fs::write(&file, serde_json::to_vec(&older).unwrap()).unwrap();
    let (code, stdout, stderr) = verify(fx, &file, &["--rpc-url", url]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("logged no later than"), "{stdout}");
}

/// Each way the chain can disagree is exit 1, with the reason.
fn check_the_disagreements(fx: &Fixture, file: &Path, url: &str, receipt: &Value) {
    let (code, _, stderr) = verify(fx, file, &["--rpc-url", url, "--confirmations", "1000"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("fewer than the required 1000"), "{stderr}");
    let other = dev_key(2).address().to_string();
    let (code, _, stderr) = verify(fx, file, &["--rpc-url", url, "--contract", &other]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not the pinned"), "{stderr}");
    // A second, empty contract: the receipt names it, the chain holds nothing there.
    let empty = contracts_deploy(fx, url, &[]);
    let mut moved = receipt.clone();
    moved["anchor"]["contract"] = json!(empty);
    let moved_file = fx.path("moved.json");
    std::fs::write(&moved_file, serde_json::to_vec(&moved).unwrap()).unwrap();
    let (code, _, stderr) = verify(fx, &moved_file, &["--rpc-url", url]);
    assert_eq!(code, 1);
    assert!(stderr.contains("holds no anchor"), "{stderr}");
    let mut nowhere = receipt.clone();
    nowhere["anchor"]["contract"] = json!(other);
    std::fs::write(&moved_file, serde_json::to_vec(&nowhere).unwrap()).unwrap();
    let (code, _, stderr) = verify(fx, &moved_file, &["--rpc-url", url]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no contract"), "{stderr}");
    // An unanchored receipt cannot pass the chain check.
    let mut bare = receipt.clone();
    bare.as_object_mut().unwrap().remove("anchor");
    std::fs::write(&moved_file, serde_json::to_vec(&bare).unwrap()).unwrap();
    let (code, _, stderr) = verify(fx, &moved_file, &["--rpc-url", url]);
    assert_eq!(code, 1);
    assert!(stderr.contains("carries no anchor"), "{stderr}");
}

/// `provlog verify payload FILE --url … --key …` with extra arguments.
fn verify_payload(fx: &Fixture, payload: &str, log: &str, extra: &[&str]) -> (i32, String, String) {
    let file = fx.path("payload.json");
    std::fs::write(&file, payload).unwrap();
    let vkey = fx.vkey_file.to_str().unwrap();
    let mut args = vec![
        "verify",
        "payload",
        file.to_str().unwrap(),
        "--url",
        log,
        "--key",
        vkey,
    ];
    args.extend_from_slice(extra);
    outcome(&provlog(&args))
}

/// From the value a consumer received: record 9's payload, spelled differently, is found and
/// proven, with the chain's time bound; a changed value, another source or a second record of
/// the same value are told apart.
async fn check_verify_payload(fx: &Fixture, client: &Client, log: &str, rpc: &str, contract: &str) {
    // Other key order and spacing than submitted: the hash is over the RFC 8785 form.
    let received = r#"{ "n": 9, "token": "BTC", "signal": 1 }"#;
    let chain = ["--rpc-url", rpc, "--contract", contract];
    let (code, stdout, stderr) = verify_payload(fx, received, log, &chain);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("payload logged: 1 record(s)"), "{stdout}");
    assert!(stdout.contains("from source e2e-chain"), "{stdout}");
    assert!(stdout.contains("logged no later than"), "{stdout}");
    let json_args = [&chain[..], &["--json", "--source", "e2e-chain"]].concat();
    let (code, stdout, stderr) = verify_payload(fx, received, log, &json_args);
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["source"], "e2e-chain");
    assert_eq!(summary["leaf_index"], 9);
    assert_eq!(summary["signature"], Value::Null);
    assert!(summary["not_after"].is_string(), "{summary}");
    assert!(summary["checkpoint_size"].as_u64().unwrap() >= 10);

    let (code, _, stderr) =
        verify_payload(fx, r#"{"n": 9, "token": "BTC", "signal": -1}"#, log, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not in the log"), "{stderr}");
    let (code, _, stderr) = verify_payload(fx, received, log, &["--source", "someone-else"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("logged by source e2e-chain, not someone-else"),
        "{stderr}"
    );
    let (code, _, stderr) = verify_payload(fx, "{not json", log, &[]);
    assert_eq!(code, 2, "{stderr}");

    // The same value logged again: both records are listed once a checkpoint covers the second.
    let again = json!({"token": "BTC", "signal": 1, "n": 9});
    client
        .submit(&Submission::one(&signal("e2e-chain", again)))
        .await
        .unwrap();
    let summary: Value = wait_for(
        "both records of the payload",
        Duration::from_secs(30),
        || {
            let (code, stdout, _) = verify_payload(fx, received, log, &["--json"]);
            async move { (code == 0).then(|| serde_json::from_str(&stdout).unwrap()) }
        },
    )
    .await;
    let leaves: Vec<u64> = summary["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["leaf_index"].as_u64().unwrap())
        .collect();
    assert_eq!(leaves, [9, 10]);

    // One row of a snapshot, as JSON or as the CSV line it came from: found by its leaf hash.
    let rows = json!([{"token": "ETH", "grade": "A"}, {"token": "SOL", "grade": "B"}]);
    let snapshot = json!({"kind": "snapshot", "source": "e2e-chain", "items": rows});
    let ack = client.submit(&Submission::one(&snapshot)).await.unwrap();
    let index = ack.records[0].index;
    let summary: Value = wait_for("the snapshot row", Duration::from_secs(30), || {
        let (code, stdout, _) = verify_payload(
            fx,
            r#"{"grade":"B","token":"SOL"}"#,
            log,
            &["--item", "--json"],
        );
        async move { (code == 0).then(|| serde_json::from_str(&stdout).unwrap()) }
    })
    .await;
    assert_eq!(
        (summary["leaf_index"].as_u64(), summary["item"].as_u64()),
        (Some(index), Some(1)),
        "{summary}"
    );
    let csv = fx.path("row.csv");
    std::fs::write(&csv, "token,grade\nSOL,B\n").unwrap();
    let vkey = fx.vkey_file.to_str().unwrap();
    let args = [
        "verify",
        "payload",
        csv.to_str().unwrap(),
        "--item",
        "--url",
        log,
        "--key",
        vkey,
    ];
    let (code, stdout, stderr) = outcome(&provlog(&args));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("row 1 of record {index}")),
        "{stdout}"
    );
    let (code, _, stderr) = verify_payload(fx, r#"{"grade":"C","token":"SOL"}"#, log, &["--item"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no item of"), "{stderr}");
    std::fs::write(&csv, "token,grade\nSOL,B\nETH,A\n").unwrap();
    let (code, _, stderr) = outcome(&provlog(&args));
    assert_eq!(code, 2, "{stderr}");
}

/// `provlog verify track-record FILE --key …` with extra arguments.
fn verify_track_record(fx: &Fixture, file: &Path, extra: &[&str]) -> (i32, String, String) {
    let vkey = fx.vkey_file.to_str().unwrap();
    let mut args = vec![
        "verify",
        "track-record",
        file.to_str().unwrap(),
        "--key",
        vkey,
    ];
    args.extend_from_slice(extra);
    outcome(&provlog(&args))
}

/// A source's track record from the running log: the whole history verifies with gaps 0, a
/// window whose end is anchored is checked on chain, and each way of cutting records out of a
/// bundle exits 1 naming its check.
async fn check_track_record(fx: &Fixture, client: &Client, rpc: &str, contract: &str) {
    use provlog_core::track_record::Window;
    let whole = client
        .track_record_json("e2e-chain", &Window::default())
        .await
        .unwrap();
    let file = fx.path("track-record.json");
    std::fs::write(&file, &whole).unwrap();
    let (code, stdout, stderr) = verify_track_record(fx, &file, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("track record valid: source e2e-chain"),
        "{stdout}"
    );
    assert!(stdout.contains("gaps 0"), "{stdout}");
    let bundle: Value = serde_json::from_slice(&whole).unwrap();
    let n = bundle["records"].as_array().unwrap().len();
    assert!(n >= 3, "{n} records");
    let (code, stdout, stderr) = verify_track_record(fx, &file, &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["count"], n);
    assert_eq!(summary["gaps"], 0);
    assert_eq!(summary["closed"], true);

    // Its first record only: the record after it is old enough to be anchored.
    let first = Window {
        to_seq: Some(0),
        ..Window::default()
    };
    let early = client.track_record_json("e2e-chain", &first).await.unwrap();
    let early_file = fx.path("track-record-early.json");
    std::fs::write(&early_file, &early).unwrap();
    let chain = ["--rpc-url", rpc, "--contract", contract];
    let (code, stdout, stderr) = verify_track_record(fx, &early_file, &chain);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("logged no later than"), "{stdout}");

    let tampered = fx.path("track-record-tampered.json");
    type Edit<'a> = &'a dyn Fn(&mut Value);
    let cases: [(&str, Edit); 4] = [
        ("seq_gap", &|b| {
            b["records"].as_array_mut().unwrap().remove(1);
        }),
        ("seq_gap", &|b| {
            b["records"].as_array_mut().unwrap().pop();
        }),
        ("seq_gap", &|b| {
            b["records"].as_array_mut().unwrap().swap(1, 2)
        }),
        ("window_cut_short", &|b| {
            let last = b["records"].as_array_mut().unwrap().pop().unwrap();
            b["after"] = last;
        }),
    ];
    for (check, edit) in cases {
        let mut b = bundle.clone();
        edit(&mut b);
        std::fs::write(&tampered, serde_json::to_vec(&b).unwrap()).unwrap();
        let (code, _, stderr) = verify_track_record(fx, &tampered, &[]);
        assert_eq!(code, 1, "{check}: {stderr}");
        assert!(stderr.contains(&format!("({check})")), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_anchor_and_verify_receipts_on_chain() {
    let node = Anvil::start(AnvilOptions::default())
        .await
        .expect("anvil starts (npm ci in contracts/ installs it)");
    let url = node.url();
    let fx = Fixture::new(ORIGIN);
    let deployed = deploy_for_a_fresh_anchorer(&node, &fx).await;
    let db = TestDb::create("anchoring").await;
    let (server, client, receipt) = serve_until_anchored(&fx, &db, &url, &deployed).await;
    let file = fx.path("receipt.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&receipt).unwrap()).unwrap();
    check_the_chain_check(&fx, &file, &url, &deployed.contract);
    check_the_disagreements(&fx, &file, &url, &receipt);
    check_the_transaction_and_block(&fx, &url, &receipt);
    let log_url = server.url();
    check_verify_payload(&fx, &client, &log_url, &url, &deployed.contract).await;
    check_track_record(&fx, &client, &url, &deployed.contract).await;

    // The log lists its anchors; secrets stay out of the server's logs.
    let anchors = client.anchors(Some("confirmed"), None, None).await.unwrap();
    assert!(anchors.enabled);
    assert!(!anchors.anchors.is_empty());
    assert!(anchors.anchors.iter().all(|a| a.status == "confirmed"
        && a.block_number.is_some()
        && a.block_timestamp.is_some()));
    let logs = server.logs();
    assert!(
        !logs.contains(deployed.key_text.trim().trim_start_matches("0x")),
        "anchor key in logs"
    );
    assert!(server.terminate(Duration::from_secs(10)).success());

    // With the chain gone, the chain check cannot be done: exit 2, not "invalid".
    drop(node);
    let (code, _, stderr) = verify(&fx, &file, &["--rpc-url", &url]);
    assert_eq!(code, 2, "{stderr}");
    // With the log gone too, a payload cannot be looked up: exit 2, not "not in the log".
    let (code, _, stderr) = verify_payload(&fx, "{}", &log_url, &[]);
    assert_eq!(code, 2, "{stderr}");
    db.drop_db().await;
}
