//! Source signatures: sign then verify, tampering with any signed field, and the encodings
//! `verify_strict` exists to refuse.

use base64::prelude::{Engine as _, BASE64_STANDARD};
use ed25519_dalek::SigningKey;
use serde_json::json;

use super::*;

pub(super) fn example_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

pub(super) fn signed(mut r: Record) -> Record {
    let sig = r
        .statement()
        .sign_statement(
            &example_key(),
            KeyId::new("acme-2025").unwrap(),
            Nonce::new("bm9uY2UtZXhhbXBsZS0x").unwrap(),
            1_741_944_412,
        )
        .unwrap();
    r.signature = Some(sig);
    r
}

#[test]
fn signature_field_rules() {
    let r = signed(signal());
    assert_eq!(Record::from_canonical_bytes(&bytes_of(&r)).unwrap(), r);
    let sig = serde_json::to_value(r.signature.as_ref().unwrap()).unwrap();
    let with_sig = |key: &'static str, value: Value| {
        let mut s = sig.clone();
        s[key] = value;
        edited(&r, |f| {
            f.insert("signature".into(), s);
        })
    };
    schema_error(with_sig("alg", json!("rsa")), "unknown variant `rsa`");
    schema_error(with_sig("key_id", json!("a b")), "key_id");
    schema_error(with_sig("nonce", json!("short")), "nonce");
    schema_error(
        with_sig("public_key", json!(BASE64_STANDARD.encode([1u8; 31]))),
        "32 bytes",
    );
    schema_error(
        with_sig("sig", json!(BASE64_STANDARD.encode([1u8; 63]))),
        "64 bytes",
    );
    schema_error(with_sig("sig", json!("!")), "base64");
    schema_error(with_sig("extra", json!(1)), "unknown field `extra`");
    schema_error(with_sig("created", json!(-1)), "invalid value");
    assert_eq!(
        with_sig("created", json!(9_007_199_254_740_992u64)),
        Err(RecordError::UnsafeInteger {
            path: "$.signature.created".into()
        })
    );
    let mut too_late = r.clone();
    too_late.signature.as_mut().unwrap().created = MAX_SAFE_INTEGER + 1;
    invalid_field(too_late.validate(&Limits::default()), "signature.created");
}

#[test]
fn signatures_verify() {
    let unsigned = signal();
    assert_eq!(unsigned.verify_source_signature(), Ok(None));
    let r = signed(unsigned);
    let verified = r.verify_source_signature().unwrap().unwrap();
    assert_eq!(verified.public_key, example_key().verifying_key());
    assert_eq!(verified.key_id.as_str(), "acme-2025");
    assert_eq!(verified.created, 1_741_944_412);

    // Server-side fields are not signed.
    let mut moved = r.clone();
    moved.received_at = ts("2030-01-01T00:00:00.000Z");
    moved.origin = LogOrigin::new("other.example/log").unwrap();
    moved.quality = vec![QualityCheck {
        check: "c".into(),
        passed: true,
        detail: None,
    }];
    assert!(moved.verify_source_signature().unwrap().is_some());

    let bad = |r: &Record| {
        assert!(
            matches!(
                r.verify_source_signature(),
                Err(RecordError::BadSignature { .. })
            ),
            "{r:?}"
        )
    };
    let tamper: [&dyn Fn(&mut Record); 10] = [
        &|r| r.source = SourceId::new("mallory").unwrap(),
        &|r| r.kind = Kind::Digest,
        &|r| r.content.root = leaf_hash(b"other"),
        &|r| r.content.media_type = MediaType::octet_stream(),
        &|r| r.parents.push(leaf_hash(b"p")),
        &|r| drop(r.metadata.insert("k".into(), json!("v"))),
        &|r| r.signature.as_mut().unwrap().key_id = KeyId::new("acme-2026").unwrap(),
        &|r| r.signature.as_mut().unwrap().nonce = Nonce::new("bm9uY2UtZXhhbXBsZS0y").unwrap(),
        &|r| r.signature.as_mut().unwrap().created += 1,
        &|r| {
            r.signature.as_mut().unwrap().public_key =
                SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes()
        },
    ];
    for t in tamper {
        let mut r2 = r.clone();
        t(&mut r2);
        bad(&r2);
    }
}

/// Ed25519 group order L, little-endian.
const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

#[test]
fn non_canonical_signatures_are_refused() {
    let r = signed(signal());
    // s + L: the same scalar mod L, a second encoding of a valid signature.
    let mut malleable = r.clone();
    let sig = &mut malleable.signature.as_mut().unwrap().sig;
    let mut carry = 0u16;
    for (b, l) in sig[32..].iter_mut().zip(ORDER_L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    assert!(matches!(
        malleable.verify_source_signature(),
        Err(RecordError::BadSignature { .. })
    ));

    // A small-order public key (the identity) with R = identity, s = 0 "signs" every message
    // under cofactorless `verify`; `verify_strict` refuses it.
    let mut weak = r.clone();
    let identity = {
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    };
    let s = weak.signature.as_mut().unwrap();
    s.public_key = identity;
    s.sig = [0; 64];
    s.sig[0] = 1;
    let s = s.clone();
    let message = weak
        .statement()
        .message(&s.key_id, &s.nonce, s.created)
        .unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
    use ed25519_dalek::Verifier as _;
    assert!(key
        .verify(&message, &ed25519_dalek::Signature::from_bytes(&s.sig))
        .is_ok());
    assert!(matches!(
        weak.verify_source_signature(),
        Err(RecordError::BadSignature { .. })
    ));

    // Bytes that are not a curve point.
    let mut not_a_point = r;
    not_a_point.signature.as_mut().unwrap().public_key = [0xff; 32];
    assert!(matches!(
        not_a_point.verify_source_signature(),
        Err(RecordError::BadSignature { .. })
    ));
}

#[test]
fn statement_bytes_have_exactly_the_signed_keys() {
    let r = signed(signal());
    let s = r.signature.as_ref().unwrap();
    let bytes = r
        .statement()
        .statement_bytes(&s.key_id, &s.nonce, s.created)
        .unwrap();
    let keys: Vec<String> = object(serde_json::from_slice(&bytes).unwrap())
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        ["content", "created", "key_id", "kind", "metadata", "nonce", "parents", "source"]
    );
    let message = r
        .statement()
        .message(&s.key_id, &s.nonce, s.created)
        .unwrap();
    assert_eq!(message, [SIGNATURE_CONTEXT, &bytes].concat());
    // Built with the builder, the statement is the same.
    let built = SignedStatement::new(r.source.clone(), r.kind, r.content.clone())
        .with_parents(r.parents.clone())
        .with_metadata(r.metadata.clone());
    assert_eq!(built, r.statement());
}
