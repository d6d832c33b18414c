//! Writes seed corpora for the fuzz targets into `corpus/<target>/` (gitignored):
//! `cargo +nightly run --example seeds` from `crates/provlog-core/fuzz`. With
//! `PROVLOG_FUZZ_CORPUS` set, into `$PROVLOG_FUZZ_CORPUS/<target>/` instead
//! (`tests/reliability/fuzz.sh` keeps its corpora outside the clone).

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use provlog_core::checkpoint::{Checkpoint, NoteSigner};
use provlog_core::testing::fixture::ORIGIN;
use provlog_core_fuzz::{base_receipts, fixture};

/// A deterministic test key (never a real one).
fn signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).expect("valid name")
}

fn corpus_root() -> PathBuf {
    std::env::var_os("PROVLOG_FUZZ_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"))
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = corpus_root().join(target);
    fs::create_dir_all(&dir).expect("create corpus dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let f = fixture();
    let signer0 = &f.signer;

    // checkpoint_note: signed notes, a bare body, key texts.
    write(
        "checkpoint_note",
        "fixture-checkpoint",
        f.checkpoint.as_bytes(),
    );
    let body = Checkpoint::new(ORIGIN, f.log.size(), f.log.root()).to_body();
    write("checkpoint_note", "body", &body);
    let mut extended = Checkpoint::new(ORIGIN, f.log.size(), f.log.root());
    extended.extensions.push("extension line".into());
    let note = signer0.sign_checkpoint(&extended).expect("signs");
    write("checkpoint_note", "with-extension", &note);
    let witness = signer("witness.example", 3);
    write(
        "checkpoint_note",
        "two-signatures",
        &cosigned(signer0, &witness, &body),
    );
    for (i, s) in [signer0.clone(), witness].iter().enumerate() {
        write(
            "checkpoint_note",
            &format!("verifier-key-{i}"),
            s.verifier_key().to_string().as_bytes(),
        );
        write(
            "checkpoint_note",
            &format!("secret-key-{i}"),
            s.to_secret_text().as_bytes(),
        );
    }

    // receipt: compact JSON of each base receipt, a pretty one, tlog-proofs, edit seeds.
    for (i, r) in base_receipts().iter().enumerate() {
        write("receipt", &format!("json-{i}"), &r.to_json());
        write("receipt", &format!("edits-{i}"), &[0, i as u8]);
    }
    let last = base_receipts().last().expect("receipts");
    write("receipt", "pretty", last.to_json_pretty().as_bytes());
    write(
        "receipt",
        "tlog-proof-0",
        base_receipts()[0].to_tlog_proof().as_bytes(),
    );
    write(
        "receipt",
        "tlog-proof-item",
        last.to_tlog_proof().as_bytes(),
    );

    // record_canonical: every fixture record, and JSON payloads.
    for (i, r) in f.records.iter().enumerate() {
        write("record_canonical", &format!("record-{i}"), r);
    }
    let payloads: [&str; 5] = [
        r#"{"token":"ETH","signal":-1,"grade":61.5,"hour":3}"#,
        r#"[1, 1.0, -0, 1e21, 1E-7, 0.1, 9007199254740991, -9007199254740991]"#,
        r#"{"b":"\u00e9\ud83d\ude00\n\"","a":[true,false,null,{}],"\u00e9":[]}"#,
        r#" { "nested" : [ [ [ { "x" : "y" } ] ] ] } "#,
        r#""plain string""#,
    ];
    for (i, p) in payloads.iter().enumerate() {
        write("record_canonical", &format!("json-{i}"), p.as_bytes());
    }
    println!("seeds written under {}", corpus_root().display());
}

/// The body signed by both keys: one signed note with two signature lines.
fn cosigned(a: &NoteSigner, b: &NoteSigner, body: &[u8]) -> Vec<u8> {
    let mut note = a.sign_note(body).expect("signs");
    let other = b.sign_note(body).expect("signs");
    note.extend_from_slice(&other[body.len() + 1..]);
    note
}
