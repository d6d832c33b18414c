//! Bulk CLI work through the real binary: `provlog submit` (NDJSON signals, CSV snapshots, a
//! digest that keeps the rows local), reruns that log nothing twice, `provlog receipt get`,
//! `provlog anchors`, and clear refusals of bad input.
#![allow(clippy::unwrap_used)]

use std::process::Output;

use provlog_core::record::snapshot_content_json;
use provlog_e2e::{provlog, verify_receipt, Fixture, Server, TestDb};
use serde_json::{json, Value};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The CLI against one log with the bootstrap token.
struct Cli {
    url: String,
    token: String,
}

impl Cli {
    /// `provlog <command> --url … --token-file … <rest>`
    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec![
            args[0],
            "--url",
            self.url.as_str(),
            "--token-file",
            self.token.as_str(),
        ];
        all.extend_from_slice(&args[1..]);
        provlog(&all)
    }

    fn submit(&self, args: &[&str]) -> Output {
        self.run(&[&["submit"], args].concat())
    }
}

/// 1,250 signals as NDJSON: three batches of 500; the same command again logs nothing new.
/// Returns the file.
fn submit_signals(cli: &Cli, fx: &Fixture) -> String {
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
    let out = cli.submit(&["signals", "--source", "bulk-signals", file, "--json"]);
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
    // Every batch replays.
    let again = cli.submit(&["signals", "--source", "bulk-signals", file, "--json"]);
    let again: Value = serde_json::from_str(text(&again).0.trim()).unwrap();
    assert_eq!(again["replayed"], 1250);
    assert_eq!(again["records"], first["records"]);
    file.to_string()
}

/// A CSV snapshot with a quoted comma: rows become JSON objects of strings. With
/// --digest-only: the same root, as a digest record; the rows stay here. Returns the CSV file
/// and the snapshot's index.
async fn submit_snapshots(cli: &Cli, fx: &Fixture) -> (String, String) {
    let csv = fx.path("grades.csv");
    std::fs::write(&csv, "token,grade\nBTC,88\n\"ETH, classic\",81\n").unwrap();
    let csv = csv.to_str().unwrap().to_string();
    let snapshot = |extra: &[&str]| {
        cli.submit(
            &[
                &["snapshot", "--source", "bulk-grades", csv.as_str()],
                extra,
            ]
            .concat(),
        )
    };
    let out = snapshot(&["--json"]);
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

    let out = snapshot(&["--digest-only", "--json"]);
    let digest: Value = serde_json::from_str(text(&out).0.trim()).unwrap();
    assert_eq!(digest["records"][0]["content_root"], json!(content.root));
    let digest_id = digest["records"][0]["index"].as_u64().unwrap();
    let view = provlog_client::Client::new(&cli.url)
        .unwrap()
        .record(digest_id)
        .await
        .unwrap();
    assert_eq!(view.summary.kind, "digest", "only the root was sent");
    (csv, snapshot_id)
}

/// receipt get: a snapshot row, once a checkpoint covers it; it verifies. This log does not
/// anchor: waiting for an anchored receipt fails clearly, and `provlog anchors` says so.
fn fetch_and_verify_a_row(cli: &Cli, fx: &Fixture, snapshot_id: &str) {
    let get_row =
        |args: &[&str]| cli.run(&[&["receipt", "get", snapshot_id, "--item", "1"], args].concat());
    let row = fx.path("row.json");
    let mut fetched = false;
    for _ in 0..100 {
        let out = get_row(&["-o", row.to_str().unwrap()]);
        if out.status.success() {
            fetched = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(fetched, "the receipt became available");
    let anchored = fx.path("anchored.json");
    let out = get_row(&["--wait-anchored", "0", "-o", anchored.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not anchored"), "{stderr}");
    let out = verify_receipt(fx, &row, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("ETH, classic"), "{stdout}");

    let out = cli.run(&["anchors"]);
    assert!(out.status.success());
    assert!(text(&out).0.contains("does not anchor"));
}

/// Bad input: a CSV where JSON is expected, a missing file, a missing key.
fn refuse_bad_input(cli: &Cli, csv: &str, signals: &str) {
    let out = cli.submit(&["signals", "--source", "bulk-signals", csv]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("line 1: not JSON"),
        "{}",
        text(&out).1
    );
    let out = cli.submit(&["signals", "--source", "bulk-signals", "/no/such/file"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("cannot read /no/such/file"));
    let out = provlog(&[
        "submit", "--url", &cli.url, "signals", "--source", "s", signals,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--token-file"), "{}", text(&out).1);
    let out = cli.run(&["receipt", "get", "999999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("no record 999999"),
        "{}",
        text(&out).1
    );
}

/// Signals committed (the log sees digests only, the salts stay in a 0600 file), revealed
/// later, then shown in the source's verified track record; a second run reveals nothing twice
/// and a commitment not yet due waits.
async fn commit_and_reveal_signals(cli: &Cli, fx: &Fixture) {
    let signals = fx.path("committed.ndjson");
    std::fs::write(
        &signals,
        "{\"token\":\"BTC\",\"signal\":1}\n{\"token\":\"ETH\",\"signal\":-1}\n",
    )
    .unwrap();
    let file = signals.to_str().unwrap();
    let commit = [
        "signals",
        "--source",
        "bulk-commits",
        file,
        "--commit",
        "--reveal-by",
        "+1h",
    ];
    let out = cli.submit(&commit);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("logged 2 commitment record(s)"), "{stdout}");
    let salts = format!("{file}.salts.jsonl");
    let kept = std::fs::read_to_string(&salts).unwrap();
    assert_eq!(kept.lines().count(), 2);
    assert!(!kept.is_empty() && kept.contains("\"salt\""));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&salts).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the salts file is the provider's secret"
        );
    }
    // Not due yet: a second file, revealable only in half an hour.
    let later = fx.path("later.json");
    std::fs::write(&later, "{\"token\":\"SOL\",\"signal\":0}").unwrap();
    let later_salts = fx.path("later.salts.jsonl");
    let out = cli.submit(&[
        "signals",
        "--source",
        "bulk-commits",
        later.to_str().unwrap(),
        "--commit",
        "--reveal-after",
        "+30m",
        "--reveal-by",
        "+1h",
        "--salts",
        later_salts.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out).1);

    let reveal = |salts: &str| {
        let out = cli.submit(&[
            "reveal",
            "--source",
            "bulk-commits",
            "--salts",
            salts,
            "--json",
        ]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        serde_json::from_str::<Value>(stdout.trim()).unwrap()
    };
    let first = reveal(&salts);
    assert_eq!(first["revealed"].as_array().unwrap().len(), 2, "{first}");
    let again = reveal(&salts);
    assert_eq!(again["revealed"].as_array().unwrap().len(), 0);
    assert_eq!(again["already_revealed"], 2);
    let waiting = reveal(later_salts.to_str().unwrap());
    assert_eq!(waiting["not_yet"], 1, "{waiting}");

    let client = provlog_client::Client::new(&cli.url).unwrap();
    let bundle = client
        .track_record_json("bulk-commits", &Default::default())
        .await
        .unwrap();
    let path = fx.path("commits.track.json");
    std::fs::write(&path, &bundle).unwrap();
    let vkey = fx.vkey_file.to_str().unwrap();
    let out = provlog(&[
        "verify",
        "track-record",
        path.to_str().unwrap(),
        "--key",
        vkey,
        "--json",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["gaps"], 0);
    assert_eq!(v["commitments"]["revealed"], 2, "{v}");
    assert_eq!(v["commitments"]["pending"], 1, "{v}");
    let each = v["commitments"]["each"].as_array().unwrap();
    assert_eq!(each[0]["payload"], json!({"token": "BTC", "signal": 1}));
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_signals_and_snapshots_then_fetch_and_verify_receipts() {
    let fx = Fixture::new("example.com/provlog/e2e-bulk");
    let db = TestDb::create("bulk").await;
    let server = Server::start(&fx, &db.url, &[("PROVLOG_CHECKPOINT_INTERVAL_MS", "100")]);
    let cli = Cli {
        url: server.url(),
        token: fx.token_file.to_str().unwrap().to_string(),
    };
    let signals = submit_signals(&cli, &fx);
    let (csv, snapshot_id) = submit_snapshots(&cli, &fx).await;
    fetch_and_verify_a_row(&cli, &fx, &snapshot_id);
    refuse_bad_input(&cli, &csv, &signals);
    commit_and_reveal_signals(&cli, &fx).await;
    drop(server);
    db.drop_db().await;
}
