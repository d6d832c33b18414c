//! What the server parses of a submission, from arbitrary input: the body as strict JSON and
//! the content built from it, and the RFC 9421 / RFC 9530 headers of a signed request. Checks
//! that:
//! - `check_content_digest` never panics, and always accepts `content_digest(body)` for `body`;
//! - `ParsedSignature::parse` never panics; a parsed signature's `params_line` re-parses to the
//!   same components and line (its serialisation is canonical), `profile_params` and `verify`
//!   (the fixture key) never panic, and `verify` never accepts (nobody here holds the key);
//! - a request signed by `sign_request` (fuzzed target URI, body, times, nonce and key id)
//!   parses, passes `profile_params` with the same parameters when `expires > created`,
//!   verifies under its key, fails under another, and its `Content-Digest` matches the body;
//! - the body through `parse_json` (the server's limits): an accepted value always builds its
//!   content — `signal_content` for a payload, `snapshot_content_json` for an array of items —
//!   and the JSON items' root equals `snapshot_content_bytes` over their canonical bytes; each
//!   NDJSON line of the body (the snapshot route) parses or is refused without a panic.
#![no_main]

use arbitrary::Arbitrary;
use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use provlog_core::httpsig::{
    check_content_digest, content_digest, sign_request, ParsedSignature, SignatureParams,
};
use provlog_core::record::{
    parse_json, signal_content, snapshot_content_bytes, snapshot_content_json, Limits, MediaType,
};
use serde_json::Value;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    signature_input: &'a str,
    signature: &'a str,
    content_digest: &'a str,
    target_uri: &'a str,
    created: u64,
    expires: u64,
    nonce: &'a str,
    keyid: &'a str,
    body: &'a [u8],
}

/// Deterministic test keys (never real ones).
fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fuzz_target!(|input: Input<'_>| {
    check_digest(&input);
    check_parse(&input);
    check_round_trip(&input);
    check_body(input.body);
});

fn check_digest(input: &Input<'_>) {
    let _ = check_content_digest(input.content_digest, input.body);
    assert_eq!(
        check_content_digest(&content_digest(input.body), input.body),
        Ok(())
    );
}

fn check_parse(input: &Input<'_>) {
    let Ok(parsed) = ParsedSignature::parse(input.signature_input, input.signature) else {
        return;
    };
    let again = ParsedSignature::parse(
        &format!("{}={}", parsed.label, parsed.params_line),
        input.signature,
    )
    .expect("a parsed Signature-Input re-parses from its own serialisation");
    assert_eq!(again.components, parsed.components);
    assert_eq!(again.params_line, parsed.params_line);
    assert_eq!(again.signature, parsed.signature);
    let _ = parsed.profile_params();
    let values = [
        ("@method", "POST"),
        ("@target-uri", input.target_uri),
        ("content-digest", input.content_digest),
    ];
    assert!(
        parsed.verify(&values, &key(1).verifying_key()).is_err(),
        "a fuzzed signature verified under the fixture key"
    );
}

fn check_round_trip(input: &Input<'_>) {
    let params = SignatureParams {
        created: input.created,
        expires: input.expires,
        nonce: input.nonce.to_string(),
        keyid: input.keyid.to_string(),
    };
    let Ok(signed) = sign_request("POST", input.target_uri, input.body, &key(2), &params) else {
        return;
    };
    assert_eq!(
        check_content_digest(&signed.content_digest, input.body),
        Ok(())
    );
    let parsed = ParsedSignature::parse(&signed.signature_input, &signed.signature)
        .expect("sign_request's headers parse");
    if input.expires > input.created {
        assert_eq!(parsed.profile_params(), Ok(params));
    }
    let values = [
        ("@method", "POST"),
        ("@target-uri", input.target_uri),
        ("content-digest", signed.content_digest.as_str()),
    ];
    assert_eq!(parsed.verify(&values, &key(2).verifying_key()), Ok(()));
    assert!(parsed.verify(&values, &key(3).verifying_key()).is_err());
}

fn check_body(body: &[u8]) {
    let limits = Limits::default();
    if let Ok(value) = parse_json(body, &limits) {
        match &value {
            Value::Object(o) => {
                if let Some(payload) = o.get("payload") {
                    signal_content(payload).expect("an accepted payload builds its content");
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let (content, canonical) =
                    snapshot_content_json(items).expect("accepted items build their content");
                assert_eq!(content.items, items.len() as u64);
                let bytes = snapshot_content_bytes(&canonical, MediaType::json())
                    .expect("canonical JSON items are accepted as bytes");
                assert_eq!(bytes.root, content.root);
                assert_eq!(bytes.items, content.items);
            }
            _ => {}
        }
        let _ = signal_content(&value).expect("an accepted value canonicalises");
    }
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let _ = parse_json(line, &limits);
    }
}
