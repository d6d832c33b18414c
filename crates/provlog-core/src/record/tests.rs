//! Records: canonical round trips, one failing case per validation rule, non-canonical encodings
//! and the content helpers. Submodules: source signatures, property tests, and the worked
//! examples of `docs/formats.md` (which must match the code).

use serde_json::json;

use super::*;
use crate::hash::node_hash;

mod examples;
mod properties;
mod signatures;

fn origin() -> LogOrigin {
    LogOrigin::new("log.example.com/ai-signals").unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn record(kind: Kind, content: Content) -> Record {
    Record {
        content,
        kind,
        metadata: Map::new(),
        origin: origin(),
        parents: vec![],
        quality: vec![],
        received_at: ts("2025-03-14T09:26:53.589Z"),
        signature: None,
        source: SourceId::new("acme.btc-momentum").unwrap(),
        seq: None,
        prev: None,
        v: FormatVersion::V1,
    }
}

fn signal() -> Record {
    let (content, _) = signal_content(&json!({"signal": "buy"})).unwrap();
    record(Kind::Signal, content)
}

fn bytes_of(r: &Record) -> Vec<u8> {
    r.to_canonical_bytes().unwrap()
}

fn parse_str(text: &str) -> Result<Record, RecordError> {
    Record::from_canonical_bytes(text.as_bytes())
}

/// Edits the canonical JSON text of a valid record, then parses it.
fn edited(r: &Record, edit: impl FnOnce(&mut Map<String, Value>)) -> Result<Record, RecordError> {
    let mut fields = object(serde_json::to_value(r).unwrap());
    edit(&mut fields);
    let bytes = serde_json_canonicalizer::to_vec(&fields).unwrap();
    Record::from_canonical_bytes(&bytes)
}

fn schema_error(result: Result<Record, RecordError>, needle: &str) {
    match result {
        Err(RecordError::Schema { message }) => assert!(message.contains(needle), "{message}"),
        other => panic!("expected a schema error mentioning {needle:?}, got {other:?}"),
    }
}

fn invalid_field(result: Result<impl fmt::Debug, RecordError>, expected: &str) {
    match result {
        Err(RecordError::InvalidField { field, .. }) => assert_eq!(field, expected),
        other => panic!("expected invalid {expected}, got {other:?}"),
    }
}

#[test]
fn canonical_bytes_parse_back() {
    let r = signal();
    let bytes = bytes_of(&r);
    assert_eq!(Record::from_canonical_bytes(&bytes).unwrap(), r);
    assert_eq!(r.leaf_hash().unwrap(), leaf_hash(&bytes));
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with(
        r#"{"content":{"alg":"rfc9162-sha256","items":1,"media_type":"application/json","root":""#
    ));
    assert!(text.ends_with(r#""metadata":{},"origin":"log.example.com/ai-signals","parents":[],"received_at":"2025-03-14T09:26:53.589Z","source":"acme.btc-momentum","v":1}"#));
}

#[test]
fn non_canonical_encodings_are_refused() {
    let mut r = signal();
    r.metadata = object(json!({"n": 1, "s": "A/"}));
    let canonical = String::from_utf8(bytes_of(&r)).unwrap();
    assert!(parse_str(&canonical).is_ok());
    let variants = [
        format!("{canonical}\n"),
        format!(" {canonical}"),
        canonical.replacen(r#""kind":"#, r#""kind": "#, 1),
        // Key order.
        canonical
            .replacen(r#","v":1}"#, "}", 1)
            .replacen('{', r#"{"v":1,"#, 1),
        // Numbers and strings in other spellings of the same value.
        canonical.replacen(r#""n":1"#, r#""n":1.0"#, 1),
        canonical.replacen(r#""n":1"#, r#""n":1e0"#, 1),
        canonical.replacen(r#""s":"A/""#, r#""s":"\u0041/""#, 1),
        canonical.replacen(r#""s":"A/""#, r#""s":"A\/""#, 1),
        // Empty optional fields are omitted, not written empty.
        canonical.replacen(r#""parents":[],"#, r#""parents":[],"quality":[],"#, 1),
        canonical.replacen(r#""received_at""#, r#""signature":null,"received_at""#, 1),
    ];
    for variant in variants {
        assert_ne!(variant, canonical);
        assert_eq!(
            parse_str(&variant),
            Err(RecordError::NotCanonical),
            "{variant}"
        );
    }
    // Pretty-printed.
    let pretty = serde_json::to_vec_pretty(&r).unwrap();
    assert_eq!(
        Record::from_canonical_bytes(&pretty),
        Err(RecordError::NotCanonical)
    );
}

#[test]
fn version() {
    let r = signal();
    for (v, found) in [
        (json!(3), "3"),
        (json!(0), "0"),
        (json!("1"), "\"1\""),
        (json!(1.5), "1.5"),
        (json!(null), "null"),
    ] {
        assert_eq!(
            edited(&r, |f| {
                f.insert("v".into(), v);
            }),
            Err(RecordError::UnsupportedVersion {
                found: found.into()
            })
        );
    }
    schema_error(edited(&r, |f| drop(f.remove("v"))), "`v`");
    assert!(serde_json::from_value::<FormatVersion>(json!(3)).is_err());
    // A v1 record under `"v": 2` lacks the chain.
    invalid_field(
        edited(&r, |f| {
            f.insert("v".into(), json!(2));
        }),
        "seq",
    );
}

#[test]
fn chain_rules() {
    let sealed = |seq, prev| {
        let bytes = signal()
            .unsealed()
            .unwrap()
            .seal(seq, prev, ts("2025-03-14T09:26:54.000Z"));
        Record::from_canonical_bytes(&bytes).unwrap()
    };
    let first = sealed(0, None);
    assert_eq!(
        (first.v, first.seq, first.prev),
        (FormatVersion::V2, Some(0), None)
    );
    let prev = first.leaf_hash().unwrap();
    assert_eq!(sealed(1, Some(prev)).prev, Some(prev));
    let r = sealed(1, Some(prev));
    invalid_field(edited(&r, |f| drop(f.remove("prev"))), "prev");
    invalid_field(
        edited(&first, |f| {
            f.insert("prev".into(), json!(prev.to_base64()));
        }),
        "prev",
    );
    invalid_field(edited(&r, |f| drop(f.remove("seq"))), "seq");
    assert!(matches!(
        edited(&r, |f| {
            f.insert("seq".into(), json!(MAX_SAFE_INTEGER + 1));
        }),
        Err(RecordError::UnsafeInteger { .. })
    ));
    // v1 has no chain.
    invalid_field(
        edited(&signal(), |f| {
            f.insert("seq".into(), json!(0));
        }),
        "seq",
    );
}

#[test]
fn schema_rules() {
    let r = signal();
    let set = |key: &'static str, value: Value| {
        let r = r.clone();
        move || {
            edited(&r, |f| {
                f.insert(key.into(), value);
            })
        }
    };
    schema_error(set("extra", json!(1))(), "unknown field `extra`");
    schema_error(
        edited(&r, |f| drop(f.remove("origin"))),
        "missing field `origin`",
    );
    schema_error(set("origin", json!("a b"))(), "origin");
    schema_error(set("origin", json!("a+b"))(), "origin");
    schema_error(set("source", json!("Acme"))(), "source");
    schema_error(set("kind", json!("model"))(), "unknown variant `model`");
    schema_error(
        set("received_at", json!("2025-03-14T09:26:53Z"))(),
        "received_at",
    );
    schema_error(
        set("received_at", json!(1741944413589u64))(),
        "invalid type",
    );
    schema_error(set("metadata", json!([]))(), "invalid type");
    schema_error(set("parents", json!(["AAAA"]))(), "32 bytes");
    schema_error(set("parents", json!("x"))(), "invalid type");
    schema_error(
        set(
            "quality",
            json!([{"check": "c", "passed": true, "extra": 1}]),
        )(),
        "unknown field `extra`",
    );
    schema_error(
        set("quality", json!([{"check": "c"}]))(),
        "missing field `passed`",
    );

    let content = serde_json::to_value(&r.content).unwrap();
    let with_content = |key: &'static str, value: Value| {
        let mut c = content.clone();
        c[key] = value;
        set("content", c)()
    };
    schema_error(
        with_content("alg", json!("sha512")),
        "unknown variant `sha512`",
    );
    schema_error(with_content("root", json!("not base64")), "base64");
    schema_error(with_content("media_type", json!("JSON")), "media_type");
    schema_error(with_content("items", json!(-1)), "invalid value");
    schema_error(with_content("extra", json!(1)), "unknown field `extra`");
    assert_eq!(
        with_content("items", json!("x"))
            .map(drop)
            .map_err(|e| matches!(e, RecordError::Schema { .. })),
        Err(true)
    );

    assert!(matches!(parse_str("[]"), Err(RecordError::Schema { .. })));
    assert!(matches!(parse_str("1"), Err(RecordError::Schema { .. })));
    assert!(matches!(parse_str("{"), Err(RecordError::Syntax { .. })));
    assert_eq!(
        Record::from_canonical_bytes(b"{\"v\":1,\"\xff\":1}"),
        Err(RecordError::InvalidUtf8 { offset: 8 })
    );
    let dup = String::from_utf8(bytes_of(&r))
        .unwrap()
        .replacen(r#""v":1"#, r#""v":1,"v":1"#, 1);
    assert_eq!(
        parse_str(&dup),
        Err(RecordError::DuplicateKey {
            path: "$".into(),
            key: "v".into()
        })
    );
}

#[test]
fn content_rules() {
    let root = leaf_hash(b"x");
    let content = |alg, items, media: &str| Content {
        alg,
        root,
        items,
        media_type: MediaType::new(media).unwrap(),
    };
    let rfc = ContentAlg::Rfc9162Sha256;
    let json = "application/json";
    for (kind, c, field) in [
        (
            Kind::Signal,
            content(ContentAlg::Sha256, 1, json),
            "content.alg",
        ),
        (Kind::Signal, content(rfc, 2, json), "content.items"),
        (Kind::Signal, content(rfc, 0, json), "content.items"),
        (
            Kind::Signal,
            content(rfc, 1, "text/plain"),
            "content.media_type",
        ),
        (
            Kind::Snapshot,
            content(ContentAlg::Sha256, 1, json),
            "content.alg",
        ),
        (Kind::Snapshot, content(rfc, 0, json), "content.items"),
        (
            Kind::Snapshot,
            content(rfc, MAX_SAFE_INTEGER + 1, json),
            "content.items",
        ),
        (
            Kind::Digest,
            content(ContentAlg::Sha256, 2, "text/csv"),
            "content.items",
        ),
        (Kind::Digest, content(rfc, 0, "text/csv"), "content.items"),
    ] {
        invalid_field(c.check_for(kind), field);
        let r = record(kind, c.clone());
        invalid_field(r.validate(&Limits::default()), field);
        if c.items <= MAX_SAFE_INTEGER {
            invalid_field(Record::from_canonical_bytes(&bytes_of(&r)), field);
        }
    }
    for (kind, c) in [
        (Kind::Signal, content(rfc, 1, json)),
        (
            Kind::Snapshot,
            content(rfc, MAX_SAFE_INTEGER, "application/octet-stream"),
        ),
        (Kind::Snapshot, content(rfc, 3, "text/csv")),
        (
            Kind::Digest,
            content(ContentAlg::Sha256, 1, "application/vnd.apache.parquet"),
        ),
        (Kind::Digest, content(rfc, 1000, "application/json")),
    ] {
        c.check_for(kind).unwrap();
        let r = record(kind, c);
        assert_eq!(Record::from_canonical_bytes(&bytes_of(&r)).unwrap(), r);
    }
    // A count beyond 2^53 − 1 cannot even be written.
    let r = record(Kind::Snapshot, content(rfc, MAX_SAFE_INTEGER + 1, json));
    assert_eq!(
        r.to_canonical_bytes(),
        Err(RecordError::UnsafeInteger {
            path: "$.content.items".into()
        })
    );
}

#[test]
fn parents_rules() {
    let mut r = signal();
    r.parents = (0..MAX_PARENTS as u64).map(crate::testing::leaf).collect();
    assert_eq!(Record::from_canonical_bytes(&bytes_of(&r)).unwrap(), r);
    r.parents.push(crate::testing::leaf(1000));
    invalid_field(Record::from_canonical_bytes(&bytes_of(&r)), "parents");
    r.parents = vec![
        crate::testing::leaf(1),
        crate::testing::leaf(2),
        crate::testing::leaf(1),
    ];
    invalid_field(r.validate(&Limits::default()), "parents");
    invalid_field(Record::from_canonical_bytes(&bytes_of(&r)), "parents");
    // Order is kept as given, not sorted.
    r.parents = vec![crate::testing::leaf(2), crate::testing::leaf(1)];
    assert_eq!(
        Record::from_canonical_bytes(&bytes_of(&r)).unwrap().parents,
        r.parents
    );
}

#[test]
fn metadata_limits() {
    let limits = Limits::default();
    let mut r = signal();
    // {"k":"xxx…"}: 8 bytes of syntax around the string.
    r.metadata = object(json!({"k": "x".repeat(MAX_METADATA_BYTES - 8)}));
    r.validate(&limits).unwrap();
    assert_eq!(Record::from_canonical_bytes(&bytes_of(&r)).unwrap(), r);
    r.metadata = object(json!({"k": "x".repeat(MAX_METADATA_BYTES - 7)}));
    let too_large = Err(RecordError::MetadataTooLarge {
        size: MAX_METADATA_BYTES + 1,
        limit: MAX_METADATA_BYTES,
    });
    assert_eq!(r.validate(&limits), too_large.clone().map(drop));
    assert_eq!(Record::from_canonical_bytes(&bytes_of(&r)), too_large);
    let roomy = Limits {
        max_metadata_bytes: 2 * MAX_METADATA_BYTES,
        ..limits
    };
    assert_eq!(
        Record::from_canonical_bytes_with(&bytes_of(&r), &roomy).unwrap(),
        r
    );

    let nested = |depth: usize| {
        let mut v = json!(1);
        for _ in 0..depth {
            v = json!({ "a": v });
        }
        object(v)
    };
    r.metadata = nested(MAX_METADATA_DEPTH);
    assert_eq!(Record::from_canonical_bytes(&bytes_of(&r)).unwrap(), r);
    r.metadata = nested(MAX_METADATA_DEPTH + 1);
    let too_deep = Err(RecordError::MetadataTooDeep {
        depth: MAX_METADATA_DEPTH + 1,
        limit: MAX_METADATA_DEPTH,
    });
    assert_eq!(Record::from_canonical_bytes(&bytes_of(&r)), too_deep);
    assert_eq!(r.validate(&limits), too_deep.map(drop));

    r.metadata = object(json!({"x": {"big": [9_007_199_254_740_992u64]}}));
    let unsafe_int = RecordError::UnsafeInteger {
        path: "$.metadata.x.big[0]".into(),
    };
    assert_eq!(r.validate(&limits), Err(unsafe_int.clone()));
    assert_eq!(r.to_canonical_bytes(), Err(unsafe_int.clone()));
    let text = r#"{"content":{"alg":"rfc9162-sha256","items":1,"media_type":"application/json","root":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},"kind":"signal","metadata":{"x":{"big":[9007199254740992]}},"origin":"o","parents":[],"received_at":"2025-03-14T09:26:53.589Z","source":"s","v":1}"#;
    assert_eq!(parse_str(text), Err(unsafe_int));
    assert!(parse_str(&text.replace("9007199254740992", "9007199254740991")).is_ok());
    assert!(parse_str(&text.replace("9007199254740992", "\"9007199254740992\"")).is_ok());
}

#[test]
fn quality_rules() {
    let mut r = signal();
    let check = |name: &str, detail: Option<String>| QualityCheck {
        check: name.into(),
        passed: false,
        detail,
    };
    r.quality = vec![
        check("schema:signal.v1", Some("confidence > 1".into())),
        check("fresh", None),
    ];
    assert_eq!(Record::from_canonical_bytes(&bytes_of(&r)).unwrap(), r);
    for (quality, field) in [
        (vec![check("", None)], "quality.check"),
        (vec![check("a\nb", None)], "quality.check"),
        (
            vec![check(&"c".repeat(MAX_QUALITY_CHECK_LEN + 1), None)],
            "quality.check",
        ),
        (
            vec![check("c", Some("d".repeat(MAX_QUALITY_DETAIL_LEN + 1)))],
            "quality.detail",
        ),
        (vec![check("c", None); MAX_QUALITY_CHECKS + 1], "quality"),
    ] {
        r.quality = quality;
        invalid_field(Record::from_canonical_bytes(&bytes_of(&r)), field);
    }
}

#[test]
fn content_helpers() {
    let payload = json!({"b": 1, "a": [1.0, "x"]});
    let (content, bytes) = signal_content(&payload).unwrap();
    assert_eq!(bytes, br#"{"a":[1,"x"],"b":1}"#);
    assert_eq!(content.root, leaf_hash(&bytes));
    content.check_for(Kind::Signal).unwrap();
    assert!(matches!(
        signal_content(&json!([u64::MAX])),
        Err(RecordError::UnsafeInteger { .. })
    ));

    let items = [json!({"n": 1}), json!({"n": 2}), json!("three")];
    let (content, canonical) = snapshot_content_json(&items).unwrap();
    assert_eq!(
        canonical,
        [&br#"{"n":1}"#[..], br#"{"n":2}"#, br#""three""#]
    );
    let expected = node_hash(
        &node_hash(&leaf_hash(&canonical[0]), &leaf_hash(&canonical[1])),
        &leaf_hash(&canonical[2]),
    );
    assert_eq!(content.root, expected);
    assert_eq!(content.items, 3);
    assert_eq!(
        crate::testing::naive::mth(&canonical.iter().map(|c| leaf_hash(c)).collect::<Vec<_>>()),
        expected
    );
    assert_eq!(
        snapshot_content_bytes(&canonical, MediaType::json()).unwrap(),
        content
    );
    invalid_field(snapshot_content_json(&[]), "content.items");

    assert_eq!(
        snapshot_content_bytes(&[&b"{\"n\":1}"[..], b"{\"n\": 2}"], MediaType::json()),
        Err(RecordError::ItemNotCanonical { index: 1 })
    );
    assert_eq!(
        snapshot_content_bytes(&[b"\xff"], MediaType::json()),
        Err(RecordError::ItemNotCanonical { index: 0 })
    );
    let raw = snapshot_content_bytes(&[&b"\xff"[..], b"row 2"], MediaType::octet_stream()).unwrap();
    assert_eq!(
        raw.root,
        node_hash(&leaf_hash(b"\xff"), &leaf_hash(b"row 2"))
    );
    assert_eq!(raw.media_type, MediaType::octet_stream());
    invalid_field(
        snapshot_content_bytes(&Vec::<Vec<u8>>::new(), MediaType::octet_stream()),
        "content.items",
    );

    let csv = MediaType::new("text/csv").unwrap();
    let file = Hash::sha256(b"a,b\n");
    let d = digest_content(ContentAlg::Sha256, file, 1, csv.clone()).unwrap();
    assert_eq!((d.alg, d.root, d.items), (ContentAlg::Sha256, file, 1));
    invalid_field(
        digest_content(ContentAlg::Sha256, file, 2, csv.clone()),
        "content.items",
    );
    invalid_field(
        digest_content(ContentAlg::Rfc9162Sha256, file, 0, csv.clone()),
        "content.items",
    );
    digest_content(ContentAlg::Rfc9162Sha256, file, 10, csv).unwrap();
}
