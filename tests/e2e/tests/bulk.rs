//! Bulk CLI work through the real binary: `provlog submit` (NDJSON signals, CSV snapshots, a
//! digest that keeps the rows local), reruns that log nothing twice, `provlog receipt get`,
//! `provlog anchors`, and clear refusals of bad input.
#![allow(clippy::unwrap_used)]

use std::process::Output;

use provlog_core::record::snapshot_content_json;
use provlog_e2e::{provlog, Fixture, Server, TestDb};
use serde_json::{json, Value};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_signals_and_snapshots_then_fetch_and_verify_receipts() {
    let fx = Fixture::new("example.com/provlog/e2e-bulk");
    let db = TestDb::create("bulk").await;
    let server = Server::start(&fx, &db.url, &[("PROVLOG_CHECKPOINT_INTERVAL_MS", "100")]);
    let url = server.url();
    let token = fx.token_file.to_str().unwrap().to_string();
    // `provlog <command> --url … --token-file … <rest>`
    let run = |args: &[&str]| {
        let mut all = vec![
            args[0],
            "--url",
            url.as_str(),
            "--token-file",
            token.as_str(),
        ];
        all.extend_from_slice(&args[1..]);
        provlog(&all)
    };
    let submit = |args: &[&str]| {
        let mut all = vec![
            "submit",
            "--url",
            url.as_str(),
            "--token-file",
            token.as_str(),
        ];
        all.extend_from_slice(args);
        provlog(&all)
    };

    // 1,250 signals as NDJSON: three batches of 500.
    let signals = fx.path("signals.ndjson");
    let lines: String = (0..1250)
        .map(|i| {
            format!(
                "{}\n",
                json!({"token": format!("T{i}"), "signal": i % 3 - 1})
            )
        })
        .collect();
    std::fs::write(&signals, lines).unwrap();
    let file = signals.to_str().unwrap();
    let out = submit(&["signals", "--source", "bulk-signals", file, "--json"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let first: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(first["logged"], 1250);
    assert_eq!(first["replayed"], 0);
    let indexes: Vec<u64> = first["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..1250).collect::<Vec<_>>());
    // The same command again logs nothing new: every batch replays.
    let again = submit(&["signals", "--source", "bulk-signals", file, "--json"]);
    let again: Value = serde_json::from_str(text(&again).0.trim()).unwrap();
    assert_eq!(again["replayed"], 1250);
    assert_eq!(again["records"], first["records"]);

    // A CSV snapshot with a quoted comma: rows become JSON objects of strings.
    let csv = fx.path("grades.csv");
    std::fs::write(&csv, "token,grade\nBTC,88\n\"ETH, classic\",81\n").unwrap();
    let out = submit(&[
        "snapshot",
        "--source",
        "bulk-grades",
        csv.to_str().unwrap(),
        "--json",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let snap: Value = serde_json::from_str(stdout.trim()).unwrap();
    let rows = [
        json!({"token": "BTC", "grade": "88"}),
        json!({"token": "ETH, classic", "grade": "81"}),
    ];
    let (content, _) = snapshot_content_json(&rows).unwrap();
    assert_eq!(snap["records"][0]["content_root"], json!(content.root));
    let snapshot_id = snap["records"][0]["index"].as_u64().unwrap().to_string();

    // --digest-only: the same root, as a digest record; the rows stay here.
    let out = submit(&[
        "snapshot",
        "--source",
        "bulk-grades",
        csv.to_str().unwrap(),
        "--digest-only",
        "--json",
    ]);
    let digest: Value = serde_json::from_str(text(&out).0.trim()).unwrap();
    assert_eq!(digest["records"][0]["content_root"], json!(content.root));
    let digest_id = digest["records"][0]["index"].as_u64().unwrap();
    let view = provlog_client::Client::new(&url)
        .unwrap()
        .record(digest_id)
        .await
        .unwrap();
    assert_eq!(view.summary.kind, "digest", "only the root was sent");

    // receipt get: a snapshot row, once a checkpoint covers it.
    let row = fx.path("row.json");
    let mut fetched = false;
    for _ in 0..100 {
        let out = run(&[
            "receipt",
            "get",
            &snapshot_id,
            "--item",
            "1",
            "-o",
            row.to_str().unwrap(),
        ]);
        if out.status.success() {
            fetched = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(fetched, "the receipt became available");
    // This log does not anchor: waiting for an anchored receipt fails clearly.
    let out = run(&[
        "receipt",
        "get",
        &snapshot_id,
        "--item",
        "1",
        "--wait-anchored",
        "0",
        "-o",
        fx.path("anchored.json").to_str().unwrap(),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not anchored"), "{stderr}");
    let out = provlog(&[
        "verify",
        "receipt",
        row.to_str().unwrap(),
        "--key",
        fx.vkey_file.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("ETH, classic"), "{stdout}");

    let out = run(&["anchors"]);
    assert!(out.status.success());
    assert!(text(&out).0.contains("does not anchor"));

    // Bad input: a CSV where JSON is expected, a missing file, a missing key.
    let out = submit(&["signals", "--source", "bulk-signals", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("line 1: not JSON"),
        "{}",
        text(&out).1
    );
    let out = submit(&["signals", "--source", "bulk-signals", "/no/such/file"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("cannot read /no/such/file"));
    let out = provlog(&["submit", "--url", &url, "signals", "--source", "s", file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--token-file"), "{}", text(&out).1);
    let out = run(&["receipt", "get", "999999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("no record 999999"),
        "{}",
        text(&out).1
    );
    drop(server);
    db.drop_db().await;
}
