//! `provlog monitor` through the real binary: it follows a growing log, cosigns what it verified,
//! and raises the alarm (exit 1) on a split view, on an anchor that disagrees with the signed
//! history, and on a checkpoint left unanchored too long.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use provlog_chain::anvil::{dev_key, Anvil, AnvilOptions};
use provlog_client::{signal, Client, Submission};
use provlog_core::checkpoint::{verify_checkpoint, TrustedKeys};
use provlog_core::cosignature::CosignerKey;
use provlog_e2e::chain::contracts_deploy;
use provlog_e2e::{outcome, provlog, wait_for, workspace_root, Fixture, Server, TestDb};
use serde_json::json;

const ORIGIN: &str = "example.com/provlog/e2e-monitor";

async fn ingest(client: &Client, source: &str, n: usize) {
    let records: Vec<_> = (0..n)
        .map(|i| signal(source, json!({"token": "ETH", "n": i})))
        .collect();
    client.submit(&Submission::batch(&records)).await.unwrap();
}

/// Waits until the server's checkpoint covers `size` records.
async fn checkpointed(client: &Client, trusted: &TrustedKeys, size: u64) {
    wait_for("a checkpoint", Duration::from_secs(20), || async {
        let note = client.checkpoint().await.ok()?;
        let cp = verify_checkpoint(note.as_bytes(), trusted, None)
            .ok()?
            .checkpoint;
        (cp.size >= size).then_some(())
    })
    .await;
}

/// `provlog monitor --once` with `args`: (exit code, stdout, stderr).
fn monitor(fx: &Fixture, state: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec![
        "monitor",
        "--once",
        "--key",
        fx.vkey_file.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    outcome(&provlog(&all))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_follows_a_growing_log_and_cosigns_it() {
    let fx = Fixture::new(ORIGIN);
    let db = TestDb::create("monitor_grow").await;
    let server = Server::start(&fx, &db.url, &[("PROVLOG_CHECKPOINT_INTERVAL_MS", "100")]);
    let client = server.client(&fx);
    let url = server.url();
    let state = fx.path("monitor.json");
    ingest(&client, "e2e-monitor", 5).await;
    checkpointed(&client, &fx.trusted(), 5).await;

    let witness_key = fx.path("witness.key");
    let out = provlog(&[
        "keygen",
        "--cosigner",
        "--name",
        "monitor.example/m1",
        "--out",
        witness_key.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let witness: CosignerKey = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cosigned = fx.path("cosigned.txt");
    let cosign = [
        "--cosign-key",
        witness_key.to_str().unwrap(),
        "--cosign-out",
        cosigned.to_str().unwrap(),
    ];
    let mut args = vec!["--url", url.as_str()];
    args.extend_from_slice(&cosign);

    let (code, out, err) = monitor(&fx, &state, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok: example.com/provlog/e2e-monitor at size 5"),
        "{out}"
    );
    let first = std::fs::read(&cosigned).unwrap();
    witness.verify(&first).unwrap();
    verify_checkpoint(&first, &fx.trusted(), Some(ORIGIN)).unwrap();

    ingest(&client, "e2e-monitor", 7).await;
    checkpointed(&client, &fx.trusted(), 12).await;
    let (code, out, err) = monitor(&fx, &state, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("grew to 12, consistent"), "{out}");
    let second = std::fs::read(&cosigned).unwrap();
    witness.verify(&second).unwrap();
    let cp = verify_checkpoint(&second, &fx.trusted(), None)
        .unwrap()
        .checkpoint;
    assert_eq!(
        cp.size, 12,
        "the cosignature covers the newest verified checkpoint"
    );

    // --json: one object per round.
    let (code, out, _) = monitor(&fx, &state, &["--url", &url, "--json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["size"], 12);

    // A log that answers nothing is not an alarm, but --once says so with exit 2.
    let (code, _, err) = monitor(&fx, &state, &["--url", "http://127.0.0.1:9"]);
    assert_eq!(code, 2, "{err}");
    drop(server);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_histories_signed_by_one_key_are_a_split_view() {
    // One key, two databases: the log shows two different histories, both validly signed.
    let fx = Fixture::new(ORIGIN);
    let (db_a, db_b) = (
        TestDb::create("monitor_split_a").await,
        TestDb::create("monitor_split_b").await,
    );
    let env = [("PROVLOG_CHECKPOINT_INTERVAL_MS", "100")];
    let (a, b) = (
        Server::start(&fx, &db_a.url, &env),
        Server::start(&fx, &db_b.url, &env),
    );
    let (ca, cb) = (a.client(&fx), b.client(&fx));
    ingest(&ca, "honest", 4).await;
    ingest(&cb, "forked", 4).await;
    checkpointed(&ca, &fx.trusted(), 4).await;
    checkpointed(&cb, &fx.trusted(), 4).await;
    let (ua, ub) = (a.url(), b.url());

    let state = fx.path("a.json");
    let (code, out, err) = monitor(&fx, &state, &["--url", &ua]);
    assert_eq!(code, 0, "{out}{err}");
    // Same size, another root: caught from the state alone.
    let (code, _, err) = monitor(&fx, &state, &["--url", &ub]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("ALARM: split view") && err.contains("size 4"),
        "{err}"
    );

    // A larger checkpoint that does not extend the one seen: no consistency proof holds.
    ingest(&cb, "forked", 3).await;
    checkpointed(&cb, &fx.trusted(), 7).await;
    let (code, _, err) = monitor(&fx, &state, &["--url", &ub]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("split view") && err.contains("not consistent"),
        "{err}"
    );

    // Two replicas compared in one round, from a fresh state.
    let both = fx.path("both.json");
    let (code, _, err) = monitor(&fx, &both, &["--url", &ua, "--url", &ub]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("split view"), "{err}");
    drop((a, b));
    db_a.drop_db().await;
    db_b.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn anchors_must_agree_with_the_signed_history_and_come_in_time() {
    let node = Anvil::start(AnvilOptions::default()).await.unwrap();
    let rpc = node.url();
    let fx = Fixture::new(ORIGIN);
    let contract = contracts_deploy(&fx, &rpc, &[]);

    // The log itself does not anchor here: the test plays a dishonest anchorer.
    let db = TestDb::create("monitor_anchor").await;
    let server = Server::start(&fx, &db.url, &[("PROVLOG_CHECKPOINT_INTERVAL_MS", "100")]);
    let client = server.client(&fx);
    ingest(&client, "e2e-monitor", 6).await;
    checkpointed(&client, &fx.trusted(), 6).await;
    let url = server.url();
    let state = fx.path("m.json");
    let chain = ["--rpc-url", rpc.as_str(), "--contract", contract.as_str()];
    let mut args = vec!["--url", url.as_str()];
    args.extend_from_slice(&chain);

    let (code, out, err) = monitor(&fx, &state, &args);
    assert_eq!(code, 0, "{out}{err}");
    // Nothing anchored: fine within the limit, an alarm once it has passed.
    let mut strict = args.clone();
    strict.extend_from_slice(&["--max-unanchored-secs", "0"]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (code, _, err) = monitor(&fx, &state, &strict);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not anchored"), "{err}");

    // An anchor whose root the log never signed for that size.
    let log_id = format!("0x{}", hex(provlog_chain::log_id(ORIGIN).0));
    let cast = workspace_root().join("contracts/node_modules/.bin/cast");
    let sent = std::process::Command::new(cast)
        .args([
            "send",
            "--rpc-url",
            &rpc,
            "--private-key",
            dev_key(0).to_hex().as_str(),
        ])
        .args([
            contract.as_str(),
            "anchor(bytes32,uint64,bytes32)",
            &log_id,
            "6",
        ])
        .arg(format!("0x{}", "11".repeat(32)))
        .output()
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let (code, _, err) = monitor(&fx, &state, &args);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("anchor of size 6") && err.contains("disagrees"),
        "{err}"
    );
    drop(server);
    db.drop_db().await;
}

fn hex(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
