//! `provlog verify receipt` on the committed sample receipts (tests/vectors/receipts).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/receipts")
}

fn verify(receipt: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provlog"))
        .args(["verify", "receipt"])
        .arg(receipt)
        .args(extra)
        .output()
        .unwrap()
}

fn key_file() -> String {
    samples().join("log.vkey").to_str().unwrap().to_string()
}

#[test]
fn sample_receipts_verify_and_say_what_was_proven() {
    let key = key_file();
    for name in ["signal.json", "snapshot-row.json", "digest.json"] {
        let out = verify(&samples().join(name), &["--key", &key]);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("receipt valid\n"), "{stdout}");
        assert!(stdout.contains("at tree size 12"), "{stdout}");
    }
    let row = verify(&samples().join("snapshot-row.json"), &["--key", &key]);
    assert!(String::from_utf8(row.stdout)
        .unwrap()
        .contains("row 3 is in the content tree"));
    let signed = verify(&samples().join("signal.json"), &["--key", &key, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&signed.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["source_signature"]["key_id"], "k1");
    // The key may also be given inline.
    let inline = std::fs::read_to_string(key_file()).unwrap();
    assert_eq!(
        verify(&samples().join("digest.json"), &["--key", inline.trim()])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn refusals_name_the_failed_check() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(samples().join("snapshot-row.json")).unwrap();
    let mut receipt: serde_json::Value = serde_json::from_str(&original).unwrap();
    receipt["leaf_index"] = serde_json::json!(2);
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, receipt.to_string()).unwrap();
    let out = verify(&tampered, &["--key", &key_file()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inclusion proof"));

    // A key the log never used: the checkpoint has no trusted signature.
    let other = "example.com/provlog/test+00000000+AQ".to_string();
    let out = verify(&samples().join("digest.json"), &["--key", &other]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed key is a usage error"
    );
    let stranger = provlog_core::checkpoint::NoteSigner::new(
        "example.com/provlog/test",
        ed25519_dalek::SigningKey::from_bytes(&[42; 32]),
    )
    .unwrap();
    let out = verify(
        &samples().join("digest.json"),
        &["--key", &stranger.verifier_key().to_string()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no signature from a trusted key"));

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    assert_eq!(
        verify(&garbage, &["--key", &key_file()]).status.code(),
        Some(2)
    );
    assert_eq!(
        verify(&samples().join("digest.json"), &[]).status.code(),
        Some(2)
    );
}
