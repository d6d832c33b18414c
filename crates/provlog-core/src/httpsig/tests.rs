#![allow(clippy::unwrap_used)]

use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};

use super::*;

/// RFC 9421 Appendix B.1.4, `test-key-ed25519` (the JWK's `d` and `x`).
fn rfc_key() -> SigningKey {
    let d = BASE64_URL_SAFE_NO_PAD
        .decode("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU")
        .unwrap();
    SigningKey::from_bytes(&d.try_into().unwrap())
}

fn rfc_public() -> VerifyingKey {
    let x = BASE64_URL_SAFE_NO_PAD
        .decode("JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs")
        .unwrap();
    VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap()
}

const B26_INPUT: &str = "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \
     \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";
const B26_SIGNATURE: &str = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";
const B26_BASE: &str = "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
\"@method\": POST\n\
\"@path\": /foo\n\
\"@authority\": example.com\n\
\"content-type\": application/json\n\
\"content-length\": 18\n\
\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";

/// The component values of the RFC's test request (Appendix B.2).
const B26_VALUES: [(&str, &str); 6] = [
    ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
    ("@method", "POST"),
    ("@path", "/foo"),
    ("@authority", "example.com"),
    ("content-type", "application/json"),
    ("content-length", "18"),
];

#[test]
fn rfc_9421_b26_base_is_reproduced_byte_for_byte_and_its_signature_verifies() {
    let parsed = ParsedSignature::parse(B26_INPUT, B26_SIGNATURE).unwrap();
    assert_eq!(parsed.label, "sig-b26");
    let ordered: Vec<(&str, &str)> = parsed
        .components
        .iter()
        .map(|c| B26_VALUES.iter().find(|(n, _)| n == c).copied().unwrap())
        .collect();
    assert_eq!(
        signature_base(&ordered, &parsed.params_line).unwrap(),
        B26_BASE
    );
    assert_eq!(rfc_key().verifying_key(), rfc_public());
    parsed.verify(&B26_VALUES, &rfc_public()).unwrap();
    // Ed25519 is deterministic: signing the base reproduces the RFC's signature.
    let sig = rfc_key().sign(B26_BASE.as_bytes());
    assert_eq!(
        format!("sig-b26=:{}:", BASE64_STANDARD.encode(sig.to_bytes())),
        B26_SIGNATURE
    );
    // Any changed component value breaks it.
    let mut changed = B26_VALUES;
    changed[2] = ("@path", "/foo2");
    assert_eq!(
        parsed.verify(&changed, &rfc_public()),
        Err(HttpSigError::BadSignature)
    );
    // The RFC's example is not our profile (other components, no nonce or expiry).
    assert!(matches!(
        parsed.profile_params(),
        Err(HttpSigError::Profile { .. })
    ));
}

#[test]
fn rfc_9530_content_digest_example() {
    // RFC 9530 §2 / RFC 9421 B.2: the body {"hello": "world"}.
    let body = b"{\"hello\": \"world\"}";
    assert_eq!(
        content_digest(body),
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    );
    check_content_digest(
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        body,
    )
    .unwrap();
    assert_eq!(
        check_content_digest(&content_digest(b"other"), body),
        Err(HttpSigError::DigestMismatch)
    );
    assert!(matches!(
        check_content_digest("sha-512=:AAAA:", body),
        Err(HttpSigError::Malformed { .. })
    ));
    assert!(matches!(
        check_content_digest("not a dictionary ((", body),
        Err(HttpSigError::Malformed { .. })
    ));
}

fn params() -> SignatureParams {
    SignatureParams {
        created: 1_800_000_000,
        expires: 1_800_000_300,
        nonce: "n-0123456789abcdef".into(),
        keyid: "acme-2026".into(),
    }
}

fn values<'a>(uri: &'a str, digest: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("@method", "POST"),
        ("@target-uri", uri),
        ("content-digest", digest),
    ]
}

#[test]
fn profile_round_trip_and_what_breaks_it() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let uri = "https://log.example/v1/records?wait=receipt";
    let body = br#"{"kind":"signal"}"#;
    let h = sign_request("POST", uri, body, &key, &params()).unwrap();
    assert_eq!(
        h.signature_input,
        "provlog=(\"@method\" \"@target-uri\" \"content-digest\");created=1800000000;\
         expires=1800000300;nonce=\"n-0123456789abcdef\";keyid=\"acme-2026\";alg=\"ed25519\""
    );
    let parsed = ParsedSignature::parse(&h.signature_input, &h.signature).unwrap();
    assert_eq!(parsed.profile_params().unwrap(), params());
    check_content_digest(&h.content_digest, body).unwrap();
    parsed
        .verify(&values(uri, &h.content_digest), &key.verifying_key())
        .unwrap();

    let other_key = SigningKey::from_bytes(&[8; 32]).verifying_key();
    assert_eq!(
        parsed.verify(&values(uri, &h.content_digest), &other_key),
        Err(HttpSigError::BadSignature)
    );
    let elsewhere = "https://log.example/v1/records";
    assert_eq!(
        parsed.verify(&values(elsewhere, &h.content_digest), &key.verifying_key()),
        Err(HttpSigError::BadSignature)
    );
    // A body changed after signing, with its digest recomputed: the digest matches the new
    // body but the signature covers the old digest.
    let new_digest = content_digest(br#"{"kind":"digest"}"#);
    assert_eq!(
        parsed.verify(&values(uri, &new_digest), &key.verifying_key()),
        Err(HttpSigError::BadSignature)
    );
    assert_eq!(
        parsed.verify(
            &[
                ("@method", "PUT"),
                ("@target-uri", uri),
                ("content-digest", &h.content_digest)
            ],
            &key.verifying_key()
        ),
        Err(HttpSigError::BadSignature)
    );
    // A line break in a value cannot smuggle a line into the base.
    assert!(matches!(
        parsed.verify(
            &values("https://x/\n\"@method\": GET", &h.content_digest),
            &key.verifying_key()
        ),
        Err(HttpSigError::Profile { .. })
    ));
}

#[test]
fn profile_violations_are_refused() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let h = sign_request("POST", "https://x/", b"{}", &key, &params()).unwrap();
    let edit = |from: &str, to: &str| {
        ParsedSignature::parse(&h.signature_input.replace(from, to), &h.signature)
            .and_then(|p| p.profile_params())
    };
    for (from, to) in [
        (";nonce=\"n-0123456789abcdef\"", ""),
        (";expires=1800000300", ""),
        (";keyid=\"acme-2026\"", ""),
        ("created=1800000000", "created=1900000000"),
        ("alg=\"ed25519\"", "alg=\"rsa-pss-sha512\""),
        (" \"content-digest\"", ""),
        ("\"@target-uri\"", "\"@path\""),
        ("alg=\"ed25519\"", "alg=\"ed25519\";tag=\"x\""),
    ] {
        assert!(
            matches!(edit(from, to), Err(HttpSigError::Profile { .. })),
            "{from} -> {to}: {:?}",
            edit(from, to)
        );
    }
    assert!(matches!(
        edit("created=1800000000", "created=\"soon\""),
        Err(HttpSigError::Malformed { .. })
    ));
    assert!(matches!(
        ParsedSignature::parse(&h.signature_input, "other=:AAAA:"),
        Err(HttpSigError::Malformed { .. })
    ));
    assert!(matches!(
        ParsedSignature::parse("a=(\"@method\"), b=(\"@method\")", &h.signature),
        Err(HttpSigError::Malformed { .. })
    ));
}
