//! Checkpoints and note keys, from arbitrary bytes. Checks that:
//! - `parse_signed_checkpoint` and `verify_checkpoint` (against the fixture's log key) never
//!   panic; a parsed body round-trips through `to_body` / `from_body`; a verified note parses to
//!   the same checkpoint, is signed by the trusted key, lists only signers present in the note,
//!   and verifies the same with its own origin expected (and fails with another);
//! - `Checkpoint::from_body` accepts only its own rendering;
//! - `VerifierKey::from_str`: a parsed key's Display re-parses to an equal key, and is the input
//!   (trimmed) with the key id in lower case;
//! - `NoteSigner::from_secret_text`: a parsed signer round-trips through `to_secret_text` (same
//!   normalisation), and checkpoints it signs verify under its verifier key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_core::checkpoint::{
    key_id, parse_signed_checkpoint, verify_checkpoint, Checkpoint, CheckpointError, NoteSigner,
    TrustedKeys, VerifierKey,
};
use provlog_core::Hash;
use provlog_core_fuzz::{trusted_label, with_trusted};

fuzz_target!(|data: &[u8]| {
    check_signed_note(data);
    check_body(data);
    if let Ok(text) = std::str::from_utf8(data) {
        check_verifier_key(text);
        check_secret_key(text);
    }
});

fn check_signed_note(data: &[u8]) {
    let parsed = parse_signed_checkpoint(data);
    if let Ok((cp, _)) = &parsed {
        assert_eq!(Checkpoint::from_body(&cp.to_body()).as_ref(), Ok(cp));
    }
    let Ok(verified) = with_trusted(|t| verify_checkpoint(data, t, None)) else {
        return;
    };
    let (cp, signers) = parsed.expect("a verified note parses");
    assert_eq!(verified.checkpoint, cp);
    assert_eq!(verified.signed_by, vec![trusted_label()]);
    for label in verified.signed_by.iter().chain(&verified.unknown_signers) {
        assert!(signers.contains(label), "{label} is not among {signers:?}");
    }
    let same = with_trusted(|t| verify_checkpoint(data, t, Some(&cp.origin)));
    assert_eq!(same.as_ref(), Ok(&verified));
    let other = format!("{}.other", cp.origin);
    let mismatch = with_trusted(|t| verify_checkpoint(data, t, Some(&other)));
    assert!(matches!(
        mismatch,
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

fn check_body(data: &[u8]) {
    if let Ok(cp) = Checkpoint::from_body(data) {
        assert_eq!(
            cp.to_body(),
            data,
            "from_body accepted a non-canonical body"
        );
        assert_eq!(Checkpoint::from_body(&cp.to_body()), Ok(cp));
    }
}

/// `name+id+rest` of a key text, trimmed, with the id in lower case: what Display prints back.
fn normalised(text: &str) -> Option<String> {
    let mut parts = text.trim().splitn(3, '+');
    let (name, id, rest) = (parts.next()?, parts.next()?, parts.next()?);
    Some(format!("{name}+{}+{rest}", id.to_ascii_lowercase()))
}

fn check_verifier_key(text: &str) {
    let Ok(key) = text.parse::<VerifierKey>() else {
        return;
    };
    let shown = key.to_string();
    assert_eq!(shown.parse::<VerifierKey>().as_ref(), Ok(&key));
    assert_eq!(Some(&shown), normalised(text).as_ref(), "input {text:?}");
    assert_eq!(key.id(), key_id(key.name(), key.verifying_key()));
}

fn check_secret_key(text: &str) {
    let Ok(signer) = NoteSigner::from_secret_text(text) else {
        return;
    };
    let secret = signer.to_secret_text();
    let again = NoteSigner::from_secret_text(&secret).expect("to_secret_text re-parses");
    assert_eq!(again.verifier_key(), signer.verifier_key());
    assert_eq!(
        again.signing_key().to_bytes(),
        signer.signing_key().to_bytes()
    );
    let rest = text.trim().strip_prefix("PRIVATE+KEY+").expect("parsed");
    assert_eq!(
        Some(secret.strip_prefix("PRIVATE+KEY+").expect("own format")),
        normalised(rest).as_deref(),
        "input {text:?}"
    );
    check_verifier_key(&signer.verifier_key().to_string());

    let cp = Checkpoint::new("fuzz.example/log", 3, Hash::from_bytes([0xab; 32]));
    let note = signer.sign_checkpoint(&cp).expect("valid checkpoints sign");
    let trusted = TrustedKeys::new([signer.verifier_key().clone()]);
    let verified = verify_checkpoint(&note, &trusted, Some(&cp.origin)).expect("own note verifies");
    assert_eq!(verified.checkpoint, cp);
}
