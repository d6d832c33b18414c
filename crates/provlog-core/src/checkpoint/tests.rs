use base64::prelude::{Engine as _, BASE64_STANDARD};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::*;
use crate::hash::leaf_hash;

const ORIGIN: &str = "example.com/provlog/test";

fn signer(seed: u8, name: &str) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn trusted(keys: &[&NoteSigner]) -> TrustedKeys {
    TrustedKeys::new(keys.iter().map(|s| s.verifier_key().clone()))
}

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint::new(ORIGIN, size, leaf_hash(&size.to_be_bytes()))
}

/// The example of Go's golang.org/x/mod/sumdb/note documentation.
#[test]
fn go_note_known_answer() {
    let vkey: VerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        .parse()
        .unwrap();
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let signer = NoteSigner::from_secret_text(skey).unwrap();
    assert_eq!(signer.verifier_key(), &vkey);
    assert_eq!(&*signer.to_secret_text(), skey);
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let signed = signer.sign_note(text.as_bytes()).unwrap();
    let expected = format!(
        "{text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    );
    assert_eq!(String::from_utf8(signed).unwrap(), expected);
}

#[test]
fn key_id_is_c2sp_formula() {
    let s = signer(7, ORIGIN);
    let mut input = ORIGIN.as_bytes().to_vec();
    input.push(0x0a);
    input.push(0x01);
    input.extend_from_slice(s.signing_key().verifying_key().as_bytes());
    let digest = Sha256::digest(&input);
    let expected = u32::from_be_bytes(digest[..4].try_into().unwrap());
    assert_eq!(s.verifier_key().id(), expected);
    let text = s.verifier_key().to_string();
    assert!(text.starts_with(&format!("{ORIGIN}+{expected:08x}+")));
    assert_eq!(text.parse::<VerifierKey>().unwrap(), *s.verifier_key());
}

#[test]
fn signed_checkpoint_round_trip() {
    let s = signer(1, ORIGIN);
    let cp = checkpoint(42);
    let note = s.sign_checkpoint(&cp).unwrap();
    let text = String::from_utf8(note.clone()).unwrap();
    assert!(text.starts_with(&format!(
        "{ORIGIN}\n42\n{}\n\n— {ORIGIN} ",
        cp.root.to_base64()
    )));
    let v = verify_checkpoint(&note, &trusted(&[&s]), Some(ORIGIN)).unwrap();
    assert_eq!(v.checkpoint, cp);
    assert_eq!(
        v.signed_by,
        vec![format!("{ORIGIN}+{:08x}", s.verifier_key().id())]
    );
    assert!(v.unknown_signers.is_empty());
    assert_eq!(parse_signed_checkpoint(&note).unwrap().0, cp);
}

#[test]
fn rotation_and_unknown_signers() {
    let (old, new, witness) = (
        signer(1, ORIGIN),
        signer(2, ORIGIN),
        signer(3, "witness.example"),
    );
    let cp = checkpoint(9);
    // Signed by the old key only: still valid while the verifier trusts both.
    let by_old = old.sign_checkpoint(&cp).unwrap();
    verify_checkpoint(&by_old, &trusted(&[&old, &new]), None).unwrap();
    // Cosigned by a key the verifier does not know: ignored, reported.
    let mut cosigned = new.sign_checkpoint(&cp).unwrap();
    let witness_note = witness.sign_checkpoint(&cp).unwrap();
    let witness_line = witness_note.split(|&b| b == b'\n').rev().nth(1).unwrap();
    cosigned.extend_from_slice(witness_line);
    cosigned.push(b'\n');
    let v = verify_checkpoint(&cosigned, &trusted(&[&new]), None).unwrap();
    assert_eq!(v.signed_by.len(), 1);
    assert_eq!(
        v.unknown_signers,
        vec![format!(
            "witness.example+{:08x}",
            witness.verifier_key().id()
        )]
    );
    // Only unknown keys signed: refused, naming who did sign.
    match verify_checkpoint(&by_old, &trusted(&[&new]), None) {
        Err(CheckpointError::NoTrustedSignature { signers }) => {
            assert_eq!(
                signers,
                vec![format!("{ORIGIN}+{:08x}", old.verifier_key().id())]
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tampering_is_caught() {
    let s = signer(1, ORIGIN);
    let keys = trusted(&[&s]);
    let note = s.sign_checkpoint(&checkpoint(100)).unwrap();
    // Change the size in the body.
    let forged = String::from_utf8(note.clone())
        .unwrap()
        .replacen("\n100\n", "\n101\n", 1);
    assert!(matches!(
        verify_checkpoint(forged.as_bytes(), &keys, None),
        Err(CheckpointError::BadSignature { .. })
    ));
    assert_eq!(
        verify_checkpoint(&note, &keys, Some("other.example/log")),
        Err(CheckpointError::OriginMismatch {
            expected: "other.example/log".into(),
            found: ORIGIN.into()
        })
    );
    // Every single-byte change of the note is refused one way or another.
    for i in 0..note.len() {
        let mut bad = note.clone();
        bad[i] ^= 0x01;
        assert!(
            verify_checkpoint(&bad, &keys, Some(ORIGIN)).is_err(),
            "byte {i}"
        );
    }
}

/// A small-order public key "signs" every message with R = identity, s = 0. The signed_note
/// crate's standard verifier (`verify`) accepts that; ours (`verify_strict`) must not.
#[test]
fn weak_keys_are_refused() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).unwrap();
    let vkey = VerifierKey::new(ORIGIN, weak).unwrap();
    let body = checkpoint(5).to_body();
    let mut sig = vec![];
    sig.extend_from_slice(&vkey.id().to_be_bytes());
    sig.extend_from_slice(&identity);
    sig.extend_from_slice(&[0u8; 32]);
    let mut note = body.clone();
    note.extend_from_slice(format!("\n— {ORIGIN} {}\n", BASE64_STANDARD.encode(&sig)).as_bytes());

    let standard = signed_note::StandardVerifier::new(&vkey.to_string()).unwrap();
    assert!(
        signed_note::Verifier::verify(&standard, &body, &sig[4..]),
        "the non-strict verifier accepts the forgery"
    );
    assert!(matches!(
        verify_checkpoint(&note, &TrustedKeys::new([vkey]), None),
        Err(CheckpointError::BadSignature { .. })
    ));
}

#[test]
fn malformed_inputs_are_errors() {
    for body in [
        "",
        "origin\n",
        "origin\n1\n",
        "origin\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n1\nAAAA\n",
        "origin\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    ] {
        assert!(Checkpoint::from_body(body.as_bytes()).is_err(), "{body:?}");
    }
    for key in [
        "",
        "name",
        "name+1234+AQ==",
        "na me+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
    ] {
        assert!(key.parse::<VerifierKey>().is_err(), "{key:?}");
    }
    assert!(NoteSigner::from_secret_text("PRIVATE+KEY+x+00000000+AQ==").is_err());
    assert!(NoteSigner::new("has space", SigningKey::from_bytes(&[1; 32])).is_err());
    // Found by the checkpoint_note fuzz target: signed-note allows a NUL in a key name, but a
    // note so signed never verifies, so such a name is refused up front.
    for name in ["nul\0name", "tab\tname", "bell\u{7}", "del\u{7f}"] {
        assert!(
            NoteSigner::new(name, SigningKey::from_bytes(&[1; 32])).is_err(),
            "{name:?}"
        );
        let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
        assert!(VerifierKey::new(name, key).is_err(), "{name:?}");
    }
    assert!(format!("{:?}", signer(1, ORIGIN)).contains("secret hidden"));
}

proptest! {
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let keys = trusted(&[&signer(1, ORIGIN)]);
        let _ = verify_checkpoint(&bytes, &keys, None);
        let _ = parse_signed_checkpoint(&bytes);
        let _ = Checkpoint::from_body(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = text.parse::<VerifierKey>();
        let _ = NoteSigner::from_secret_text(&text);
    }

    #[test]
    fn checkpoints_round_trip(size in any::<u64>(), root in any::<[u8; 32]>()) {
        let cp = Checkpoint::new(ORIGIN, size, Hash::from_bytes(root));
        prop_assert_eq!(Checkpoint::from_body(&cp.to_body()).unwrap(), cp);
    }
}
