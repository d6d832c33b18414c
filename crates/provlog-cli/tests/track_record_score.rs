//! `provlog track-record score` on the score vectors (tests/vectors/scores.json): the CLI's
//! numbers are provlog-core's, and a bundle that does not verify, or whose source declared no
//! spec, exits 1 naming why.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn vectors(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn score(bundle: &Path, key: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provlog"))
        .args(["track-record", "score"])
        .arg(bundle)
        .args(["--key", key])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn scores_are_the_cores_and_say_what_counted() {
    let v = vectors("scores.json");
    let key = v["log_vkey"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for case in v["cases"].as_array().unwrap() {
        let file = dir.path().join("bundle.json");
        std::fs::write(&file, case["bundle"].to_string()).unwrap();
        let out = score(&file, key, &["--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            case["desc"],
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, case["computed"], "{}", case["desc"]);

        let text = String::from_utf8(score(&file, key, &[]).stdout).unwrap();
        let scored = format!("scored {}", case["computed"]["scored"]);
        assert!(text.contains(&scored), "{text}");
    }
    let whole = &v["cases"][0];
    let file = dir.path().join("whole.json");
    std::fs::write(&file, whole["bundle"].to_string()).unwrap();
    let text = String::from_utf8(score(&file, key, &[]).stdout).unwrap();
    assert!(
        text.contains("hit rate    0.8000 (4 hits, 1 misses, 1 flat)"),
        "{text}"
    );
    assert!(text.contains("cumulative  +12.4756%"), "{text}");
    assert!(
        text.contains("1 commitment(s) passed their reveal deadline unrevealed"),
        "{text}"
    );
}

#[test]
fn a_bundle_that_does_not_verify_or_has_no_spec_is_not_scored() {
    let key = vectors("scores.json")["log_vkey"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let cases = vectors("track-records.json");
    let find = |desc: &str| {
        cases["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["desc"].as_str().unwrap().starts_with(desc))
            .unwrap()
            .clone()
    };
    for (desc, code, reason) in [
        ("drop an outcome", 1, "track record (seq_gap)"),
        ("drop the outcomes", 1, "track record (outcomes_missing)"),
        ("the whole history, closed", 1, "score (no_scoring_spec)"),
    ] {
        let file = dir.path().join("case.json");
        std::fs::write(&file, find(desc)["bundle"].to_string()).unwrap();
        let out = score(&file, &key, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{desc}: {stderr}");
        assert!(stderr.contains(reason), "{desc}: {stderr}");
    }
    let out = score(Path::new("/nonexistent/bundle.json"), &key, &[]);
    assert_eq!(out.status.code(), Some(2));
}
