//! `provlog dev`, the embedded default, through the real binary: SQLite, an anvil child, the
//! contract, demo data, and receipts written and verified; a second run over the same data
//! directory; Ctrl-C; a missing anvil.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use provlog_e2e::{provlog, provlog_bin};

/// `provlog dev --once` on free ports in `dir`, to be run.
fn dev_once_command(dir: &Path) -> Command {
    let mut cmd = Command::new(provlog_bin());
    cmd.args([
        "dev",
        "--once",
        "--listen",
        "127.0.0.1:0",
        "--chain-port",
        "0",
    ])
    .arg("--data-dir")
    .arg(dir);
    cmd
}

/// `provlog dev --once` on free ports in `dir`.
fn dev_once(dir: &Path) -> Output {
    dev_once_command(dir)
        .env_remove("PROVLOG_DEV_DATABASE_URL")
        .output()
        .expect("running provlog dev")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn receipts(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("receipts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn verify_offline(dir: &Path, receipt: &Path) -> Output {
    let key = dir.join("log.vkey");
    provlog(&[
        "verify",
        "receipt",
        receipt.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ])
}

#[test]
fn dev_proves_the_demo_and_a_second_run_reuses_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

    let first = dev_once(&dir);
    let (out, err) = (text(&first.stdout), text(&first.stderr));
    assert!(first.status.success(), "provlog dev failed:\n{out}\n{err}");
    assert!(out.contains("a new chain"), "{out}");
    // Both scored sources end with a verified track record and the score the server agrees on;
    // one committed signal was left unrevealed past its deadline.
    for source in ["demo.signals", "demo.predictions"] {
        assert!(out.contains(&format!("track record of {source}")), "{out}");
    }
    assert!(out.contains("expired unrevealed 1"), "{out}");
    assert!(
        out.contains("GET /v1/sources/demo.predictions/score"),
        "{out}"
    );
    assert!(out.contains("deployed the anchor contract"), "{out}");
    assert_eq!(out.matches("receipt valid").count(), 2, "{out}");
    assert_eq!(
        out.matches("holds this root for tree size").count(),
        2,
        "{out}"
    );
    assert!(
        out.contains("signature   source key demo-signals-1 signed this content"),
        "{out}"
    );
    assert!(
        out.contains("key         demo-signals-1 is demo.signals's: the log registered it at leaf 1 with a proof of possession"),
        "the signing key is proven from the registry records: {out}"
    );
    assert!(
        out.contains("item        row"),
        "a snapshot row is proven: {out}"
    );
    assert!(
        out.contains("verify receipt"),
        "next commands are printed: {out}"
    );
    assert!(
        dir.join("provlog.db").exists(),
        "the log is on SQLite by default"
    );

    // The receipts on disk verify with the CLI alone; a changed byte does not.
    let files = receipts(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let ok = verify_offline(&dir, file);
        assert!(ok.status.success(), "{}", text(&ok.stderr));
        let receipt: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        assert!(
            receipt["anchor"]["tx_hash"].is_string(),
            "anchored: {receipt}"
        );
        let tampered = tmp.path().join("tampered.json");
        let mut bad = receipt.clone();
        bad["record"] = receipt["record"]
            .as_str()
            .unwrap()
            .replacen("demo.", "dmeo.", 1)
            .into();
        std::fs::write(&tampered, bad.to_string()).unwrap();
        assert_eq!(verify_offline(&dir, &tampered).status.code(), Some(1));
        if receipt["item"].is_object() {
            let mut bad = receipt.clone();
            // {"token":"X"}: another row than the one the snapshot committed to.
            bad["item"]["data"] = "eyJ0b2tlbiI6IlgifQ==".into();
            std::fs::write(&tampered, bad.to_string()).unwrap();
            assert_eq!(verify_offline(&dir, &tampered).status.code(), Some(1));
        }
    }

    // Secrets stay in their 0600 files and out of the terminal.
    for name in [
        "log.key",
        "admin.token",
        "admin.key",
        "pepper",
        "anchorer.key",
        "demo.signals.key",
    ] {
        let path = dir.join(name);
        let secret = std::fs::read_to_string(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
        let secret = secret.trim();
        // PRIVATE+KEY+name+id+base64: the base64 (which may itself hold '+') is the secret.
        let needle = match secret.strip_prefix("PRIVATE+KEY+") {
            Some(rest) => rest.splitn(3, '+').nth(2).unwrap(),
            None => secret,
        };
        assert!(
            !out.contains(needle) && !err.contains(needle),
            "{name} was printed"
        );
    }

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("demo.json")).unwrap()).unwrap();
    let second = dev_once(&dir);
    let out2 = text(&second.stdout);
    assert!(
        second.status.success(),
        "second run:\n{out2}\n{}",
        text(&second.stderr)
    );
    assert!(out2.contains("state restored"), "{out2}");
    assert!(out2.contains("deployed by an earlier run"), "{out2}");
    assert!(out2.contains("not submitting them again"), "{out2}");
    assert!(out2.contains("consistent with the"), "{out2}");
    assert_eq!(out2.matches("receipt valid").count(), 2, "{out2}");
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("demo.json")).unwrap()).unwrap();
    assert_eq!(again["records"], manifest["records"]);
    assert_eq!(again["signal"], manifest["signal"]);
    for file in receipts(&dir) {
        assert!(verify_offline(&dir, &file).status.success());
    }
}

/// From the value a consumer received, against the running dev log and its chain: the demo
/// signal's payload (from demo.json), and the same with one value changed.
fn verify_the_demo_payload(dir: &Path, log: &str, chain: &str) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("demo.json")).unwrap()).unwrap();
    let payload = &manifest["signal"]["payload"];
    let file = dir.join("received.json");
    let key = dir.join("log.vkey");
    let run = |value: &serde_json::Value| {
        std::fs::write(&file, value.to_string()).unwrap();
        let args = ["verify", "payload", file.to_str().unwrap(), "--url", log];
        let rest = ["--key", key.to_str().unwrap(), "--rpc-url", chain, "--json"];
        provlog(&[&args[..], &rest].concat())
    };
    let out = run(payload);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["source"], "demo.signals", "{summary}");
    assert_eq!(
        summary["leaf_index"], manifest["signal"]["index"],
        "{summary}"
    );
    assert_eq!(
        summary["signature"]["key_id"], "demo-signals-1",
        "{summary}"
    );
    assert_eq!(summary["signature"]["registration_leaf"], 1, "{summary}");
    assert!(summary["not_after"].is_string(), "{summary}");
    let mut changed = payload.clone();
    changed["trader_grade"] = serde_json::json!(99.9);
    let out = run(&changed);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not in the log"));
}

#[test]
fn ctrl_c_stops_the_log_and_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut child = Command::new(provlog_bin())
        .args(["dev", "--listen", "127.0.0.1:0", "--chain-port", "0"])
        .arg("--data-dir")
        .arg(&dir)
        .env_remove("PROVLOG_DEV_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    let (mut chain_url, mut log_url) = (None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen += &line;
        seen.push('\n');
        if let Some(rest) = line.strip_prefix("chain   anvil at ") {
            chain_url = rest.split_whitespace().next().map(str::to_string);
        }
        if let Some(rest) = line.strip_prefix("The log is serving at ") {
            log_url = rest.split_whitespace().next().map(str::to_string);
        }
        if line.contains("Ctrl-C stops both") {
            break;
        }
    }
    assert!(seen.contains("Ctrl-C stops both"), "{seen}");
    let chain_url = chain_url.unwrap();
    let port: u16 = chain_url.rsplit(':').next().unwrap().parse().unwrap();
    verify_the_demo_payload(&dir, &log_url.unwrap(), &chain_url);

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "provlog dev did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(exit.success(), "exit {exit:?}: {}", rest.join("\n"));
    assert!(rest.iter().any(|l| l.contains("stopping")), "{rest:?}");
    // The chain went with it, and left its state for the next run.
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "anvil still listens on {port}"
    );
    let state = std::fs::metadata(dir.join("anvil-state.json")).unwrap();
    assert!(state.len() > 0);
}

#[test]
fn a_missing_anvil_is_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let out = dev_once_command(tmp.path())
        .env("PROVLOG_ANVIL", tmp.path().join("no-such-anvil"))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("npm ci --prefix contracts"), "{err}");
    assert!(err.contains("no-such-anvil"), "{err}");
}
