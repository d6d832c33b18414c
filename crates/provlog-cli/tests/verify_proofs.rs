//! `provlog verify inclusion|consistency` and `provlog keygen` through the real binary.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use provlog_core::Hash;
use serde_json::{json, Value};

fn provlog(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provlog"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn vectors(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors")
        .join(name);
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["cases"].as_array().unwrap().clone()
}

/// Golden vectors use 0x-hex for Solidity; the CLI reads base64 like transparency-dev's data.
fn b64(hex0x: &Value) -> String {
    Hash::from_hex(hex0x.as_str().unwrap().trim_start_matches("0x"))
        .unwrap()
        .to_base64()
}

fn b64s(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(b64).collect()
}

/// A golden case's exit code: 0 when it is valid, 1 when not.
fn assert_verdict(c: &Value, out: &Output) {
    let want = if c["valid"].as_bool().unwrap() { 0 } else { 1 };
    assert_eq!(
        code(out),
        want,
        "{}: {}",
        c["desc"],
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn inclusion_golden_vectors() {
    for c in vectors("inclusion.json") {
        let doc = json!({
            "leafIdx": c["leafIndex"], "treeSize": c["treeSize"], "root": b64(&c["root"]),
            "leafHash": b64(&c["leafHash"]), "proof": b64s(&c["proof"]), "desc": c["desc"],
        });
        let out = provlog(&["verify", "inclusion", "-"], doc.to_string().as_bytes());
        assert_verdict(&c, &out);
    }
}

#[test]
fn consistency_golden_vectors() {
    for c in vectors("consistency.json") {
        let doc = json!({
            "size1": c["size1"], "size2": c["size2"], "root1": b64(&c["root1"]),
            "root2": b64(&c["root2"]), "proof": b64s(&c["proof"]),
        });
        let out = provlog(&["verify", "consistency"], doc.to_string().as_bytes());
        assert_verdict(&c, &out);
    }
}

const LEAF0: &str = "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=";

#[test]
fn exit_codes_for_impossible_and_unreadable_requests() {
    let cases: &[(&str, i32)] = &[
        // Valid: single leaf, null or empty proof, extra fields ignored, full u64 range.
        (
            r#"{"leafIdx":0,"treeSize":1,"root":"ROOT","leafHash":"ROOT","proof":null}"#,
            0,
        ),
        (
            r#"{"leafIdx":0,"treeSize":1,"root":"ROOT","leafHash":"ROOT","proof":[],"x":1}"#,
            0,
        ),
        // Well-formed requests for impossible proofs: invalid.
        (
            r#"{"leafIdx":1,"treeSize":1,"root":"ROOT","leafHash":"ROOT","proof":[]}"#,
            1,
        ),
        (
            r#"{"leafIdx":0,"treeSize":0,"root":"ROOT","leafHash":"ROOT","proof":[]}"#,
            1,
        ),
        (
            r#"{"leafIdx":0,"treeSize":1,"root":"!!","leafHash":"ROOT","proof":[]}"#,
            1,
        ),
        (
            r#"{"leafIdx":0,"treeSize":1,"root":"AAAA","leafHash":"ROOT","proof":[]}"#,
            1,
        ),
        (
            r#"{"leafIdx":0,"treeSize":1,"root":"ROOT","leafHash":"ROOT","proof":[""]}"#,
            1,
        ),
        (
            r#"{"leafIdx":18446744073709551614,"treeSize":18446744073709551615,"root":"ROOT","leafHash":"ROOT","proof":[]}"#,
            1,
        ),
        // Documents that cannot be read as a request: usage error.
        (
            r#"{"leafIdx":0,"treeSize":1,"root":"ROOT","leafHash":"ROOT""#,
            2,
        ),
        (
            r#"{"treeSize":1,"root":"ROOT","leafHash":"ROOT","proof":[]}"#,
            2,
        ),
        (
            r#"{"leafIdx":-1,"treeSize":1,"root":"ROOT","leafHash":"ROOT","proof":[]}"#,
            2,
        ),
        (
            r#"{"leafIdx":0,"treeSize":18446744073709551616,"root":"ROOT","leafHash":"ROOT","proof":[]}"#,
            2,
        ),
        (
            r#"{"leafIdx":0,"treeSize":1,"root":7,"leafHash":"ROOT","proof":[]}"#,
            2,
        ),
        ("", 2),
    ];
    for (doc, want) in cases {
        let doc = doc.replace("ROOT", LEAF0);
        let out = provlog(&["verify", "inclusion"], doc.as_bytes());
        assert_eq!(code(&out), *want, "{doc}");
        if *want != 0 {
            assert!(!out.stderr.is_empty(), "a failure says why: {doc}");
        }
    }
    let consistency: &[(&str, i32)] = &[
        (
            r#"{"size1":1,"size2":1,"root1":"ROOT","root2":"ROOT","proof":null}"#,
            0,
        ),
        (
            r#"{"size1":0,"size2":9,"root1":"ROOT","root2":"ROOT","proof":[]}"#,
            0,
        ),
        (
            r#"{"size1":2,"size2":1,"root1":"ROOT","root2":"ROOT","proof":[]}"#,
            1,
        ),
        (
            r#"{"size1":1,"size2":2,"root1":"ROOT","root2":"ROOT","proof":["xx"]}"#,
            1,
        ),
        (r#"{"size1":1,"size2":2,"root1":"ROOT","root2":"ROOT"}"#, 1),
        (r#"{"size1":1,"root1":"ROOT","root2":"ROOT","proof":[]}"#, 2),
        ("[]", 2),
    ];
    for (doc, want) in consistency {
        let doc = doc.replace("ROOT", LEAF0);
        let out = provlog(&["verify", "consistency", "-"], doc.as_bytes());
        assert_eq!(code(&out), *want, "{doc}");
    }
    let missing = provlog(&["verify", "inclusion", "/nonexistent/proof.json"], b"");
    assert_eq!(code(&missing), 2);
    assert_eq!(code(&provlog(&["verify", "nonsense"], b"")), 2);
}

#[test]
fn keygen_writes_a_private_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.key");
    let p = path.to_str().unwrap();
    let out = provlog(&["keygen", "--name", "example.com/log", "--out", p], b"");
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let vkey = String::from_utf8(out.stdout).unwrap();
    let vkey: provlog_core::checkpoint::VerifierKey = vkey.trim().parse().unwrap();
    assert_eq!(vkey.name(), "example.com/log");
    let secret = std::fs::read_to_string(&path).unwrap();
    let signer = provlog_core::checkpoint::NoteSigner::from_secret_text(&secret).unwrap();
    assert_eq!(signer.verifier_key(), &vkey);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never overwrites, and the secret never reaches the terminal.
    let again = provlog(&["keygen", "--name", "example.com/log", "--out", p], b"");
    assert_eq!(code(&again), 2);
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), secret);
    let bad_name = provlog(
        &[
            "keygen",
            "--name",
            "bad name",
            "--out",
            dir.path().join("x").to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&bad_name), 2);
}
