//! Records and strict JSON, from arbitrary bytes. Checks that:
//! - `Record::from_canonical_bytes` accepts only canonical bytes: a parsed record's
//!   `to_canonical_bytes()` is exactly the input, its leaf hash is the input's, it validates
//!   under the default limits, the input is the JCS form of its own strict-JSON parse, and
//!   `verify_source_signature` does not panic;
//! - `parse_json` (default limits): a parsed value is within the depth limit and canonicalises
//!   (the parser already refuses what JCS cannot write), and canonicalisation is idempotent:
//!   the canonical bytes parse again, and canonicalise to identical bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_core::leaf_hash;
use provlog_core::record::json::parse_json_with_depth;
use provlog_core::record::{
    canonicalize, nesting_depth, parse_json, Limits, Record, DEPTH_CEILING,
};

fuzz_target!(|data: &[u8]| {
    check_record(data);
    check_json(data);
});

fn check_record(data: &[u8]) {
    let Ok(record) = Record::from_canonical_bytes(data) else {
        return;
    };
    assert_eq!(record.to_canonical_bytes().as_deref(), Ok(data));
    assert_eq!(record.leaf_hash(), Ok(leaf_hash(data)));
    assert_eq!(record.validate(&Limits::default()), Ok(()));
    let value = parse_json_with_depth(data, DEPTH_CEILING).expect("a record is strict JSON");
    assert_eq!(canonicalize(&value).as_deref(), Ok(data));
    let _ = record.verify_source_signature();
}

fn check_json(data: &[u8]) {
    let limits = Limits::default();
    let Ok(value) = parse_json(data, &limits) else {
        return;
    };
    assert!(nesting_depth(&value) <= limits.max_payload_depth);
    let canonical = match canonicalize(&value) {
        Ok(bytes) => bytes,
        Err(e) => panic!("parse_json accepted a value canonicalize refuses: {e}"),
    };
    let again = parse_json(&canonical, &limits).expect("canonical bytes parse");
    assert_eq!(
        canonicalize(&again).as_deref(),
        Ok(canonical.as_slice()),
        "canonicalisation is not idempotent"
    );
}
