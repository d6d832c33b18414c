use ed25519_dalek::SigningKey;
use serde_json::json;

use super::*;

fn origin() -> LogOrigin {
    LogOrigin::new("log.example/registry").unwrap()
}

fn source() -> SourceId {
    SourceId::new("acme-signals").unwrap()
}

fn key_id(id: &str) -> KeyId {
    KeyId::new(id).unwrap()
}

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn registered() -> RegistryEvent {
    RegistryEvent::SourceRegistered {
        schema_sha256: Some(schema_sha256(&json!({"type": "object"})).unwrap()),
        schema_policy: SchemaPolicy::Reject,
        require_signature: true,
    }
}

fn key_added(seed: u8, id: &str) -> RegistryEvent {
    let key = signing_key(seed);
    RegistryEvent::KeyAdded {
        key_id: key_id(id),
        public_key: key.verifying_key().to_bytes(),
        proof: Some(prove_possession(&key, &origin(), &source(), &key_id(id)).unwrap()),
    }
}

/// Records for `events`, at leaf indexes 10, 20, 30, …, a second apart.
fn records(events: &[RegistryEvent]) -> Vec<(u64, Record, Vec<u8>)> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let at = Timestamp::from_unix_millis(1_780_000_000_000 + 1000 * i as i64).unwrap();
            let (record, item) = registry_record(origin(), source(), e, at).unwrap();
            (10 * (i as u64 + 1), record, item)
        })
        .collect()
}

fn fold(records: &[(u64, Record, Vec<u8>)]) -> Result<Option<SourceHistory>, RegistryError> {
    SourceHistory::fold(records.iter().map(|(i, r, b)| (*i, r, b.as_slice())))
}

#[test]
fn an_event_is_canonical_json_with_its_name_and_exactly_its_fields() {
    let item = RegistryEvent::KeyRetired {
        key_id: key_id("k1"),
    }
    .to_item()
    .unwrap();
    assert_eq!(item, br#"{"event":"key-retired","key_id":"k1"}"#);
    let added = key_added(1, "k1");
    let item = added.to_item().unwrap();
    assert_eq!(RegistryEvent::from_item(&item).unwrap(), added);
    let text = String::from_utf8(item).unwrap();
    assert!(
        text.starts_with(r#"{"event":"key-added","key_id":"k1","proof":""#),
        "{text}"
    );

    for (bytes, why) in [
        (&br#"{"event":"key-retired","key_id":"k1","extra":1}"#[..], "unknown field"),
        (br#"{"event":"key-renamed","key_id":"k1"}"#, "unknown variant"),
        (br#"{"key_id":"k1","event":"key-retired"}"#, "not canonical"),
        (br#"{"event":"key-added","key_id":"k1","public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#, "missing field"),
    ] {
        let err = RegistryEvent::from_item(bytes).unwrap_err().to_string();
        let expected = if why == "not canonical" { "not canonical" } else { why };
        assert!(err.contains(expected), "{why}: {err}");
    }
}

#[test]
fn the_record_commits_to_the_event_and_reads_back_as_a_v1_record() {
    let (record, item) =
        registry_record(origin(), source(), &registered(), Timestamp::MIN).unwrap();
    assert_eq!(record.kind, Kind::Source);
    assert_eq!(record.content.root, leaf_hash(&item));
    let bytes = record.to_canonical_bytes().unwrap();
    assert_eq!(Record::from_canonical_bytes(&bytes).unwrap(), record);
    // A source record is one JSON item, like a signal.
    let mut two = record.clone();
    two.content.items = 2;
    assert!(two.validate(&Default::default()).is_err());
}

#[test]
fn a_proof_of_possession_binds_the_log_the_source_and_the_key_id() {
    let key = signing_key(7);
    let public = key.verifying_key().to_bytes();
    let proof = prove_possession(&key, &origin(), &source(), &key_id("k7")).unwrap();
    verify_possession(&origin(), &source(), &key_id("k7"), &public, &proof).unwrap();

    let other_origin = LogOrigin::new("log.example/other").unwrap();
    let other_source = SourceId::new("other").unwrap();
    let other_key = signing_key(8).verifying_key().to_bytes();
    for (o, s, k, p) in [
        (&other_origin, &source(), key_id("k7"), public),
        (&origin(), &other_source, key_id("k7"), public),
        (&origin(), &source(), key_id("k8"), public),
        (&origin(), &source(), key_id("k7"), other_key),
    ] {
        assert_eq!(
            verify_possession(o, s, &k, &p, &proof),
            Err(RegistryError::BadProofOfPossession {
                key_id: k.to_string()
            })
        );
    }
}

#[test]
fn a_history_folds_keys_and_settings_with_the_leaves_that_state_them() {
    let events = [
        registered(),
        key_added(1, "k1"),
        key_added(2, "k2"),
        RegistryEvent::KeyRetired {
            key_id: key_id("k1"),
        },
        RegistryEvent::SettingsChanged {
            schema_sha256: None,
            schema_policy: SchemaPolicy::Flag,
            require_signature: false,
        },
    ];
    let history = fold(&records(&events)).unwrap().unwrap();
    assert_eq!(history.registered.leaf_index, 10);
    assert_eq!(history.leaves, [10, 20, 30, 40, 50]);
    assert_eq!(history.keys.len(), 2);
    assert_eq!(history.keys[0].added.leaf_index, 20);
    assert_eq!(history.keys[0].retired.map(|s| s.leaf_index), Some(40));
    assert!(history.keys[1].retired.is_none() && history.keys[1].proven);
    assert_eq!(history.settings.schema_policy, SchemaPolicy::Flag);
    assert_eq!(history.settings.stated.leaf_index, 50);
    assert_eq!(fold(&[]).unwrap(), None);
}

#[test]
fn a_history_that_could_not_have_happened_is_refused() {
    let retire = |id: &str| RegistryEvent::KeyRetired { key_id: key_id(id) };
    let cases: Vec<(Vec<RegistryEvent>, &str)> = vec![
        (vec![key_added(1, "k1")], "is not its registration"),
        (vec![registered(), registered()], "a second time"),
        (
            vec![registered(), key_added(1, "k1"), key_added(2, "k1")],
            "already has",
        ),
        (vec![registered(), retire("k1")], "not got active"),
        (
            vec![registered(), key_added(1, "k1"), retire("k1"), retire("k1")],
            "not got active",
        ),
    ];
    for (events, why) in cases {
        let err = fold(&records(&events)).unwrap_err().to_string();
        assert!(err.contains(why), "{why}: {err}");
    }

    // A proof made for another key id, a record of another source, leaves out of order, and an
    // item the record does not commit to.
    let mut forged = key_added(1, "k1");
    if let RegistryEvent::KeyAdded { key_id: id, .. } = &mut forged {
        *id = key_id("k9");
    }
    let err = fold(&records(&[registered(), forged])).unwrap_err();
    assert!(
        matches!(err, RegistryError::BadProofOfPossession { .. }),
        "{err}"
    );

    let mut rs = records(&[registered(), key_added(1, "k1")]);
    rs[1].1.source = SourceId::new("other").unwrap();
    assert!(matches!(fold(&rs), Err(RegistryError::WrongSource { .. })));

    let mut rs = records(&[registered(), key_added(1, "k1")]);
    rs[1].0 = 5;
    assert!(matches!(fold(&rs), Err(RegistryError::OutOfOrder { .. })));

    let mut rs = records(&[registered(), key_added(1, "k1")]);
    rs[1].2 = key_added(2, "k1").to_item().unwrap();
    assert!(fold(&rs).unwrap_err().to_string().contains("content.root"));
}

/// The worked example of `docs/formats.md` ("Registry records") is what this code computes.
#[test]
fn the_documented_example_is_current() {
    use base64::prelude::{Engine as _, BASE64_STANDARD};
    let doc = include_str!("../../../../docs/formats.md");
    let origin = LogOrigin::new("example.com/provlog/test").unwrap();
    let source = SourceId::new("acme-signals").unwrap();
    let key = signing_key(1);
    let public = key.verifying_key().to_bytes();
    let proof = prove_possession(&key, &origin, &source, &key_id("k1")).unwrap();
    let event = RegistryEvent::KeyAdded {
        key_id: key_id("k1"),
        public_key: public,
        proof: Some(proof),
    };
    let item = String::from_utf8(event.to_item().unwrap()).unwrap();
    let message = possession_message(&origin, &source, &key_id("k1"), &public).unwrap();
    let statement = std::str::from_utf8(&message[POSSESSION_CONTEXT.len()..]).unwrap();
    let der_key = [
        &[
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ][..],
        &public,
    ]
    .concat();
    for expected in [
        format!("printf '%s' '{item}' > event.json"),
        format!("# {}", leaf_hash(item.as_bytes()).to_base64()),
        format!("printf '%s' '{statement}' >> possession.bin"),
        format!(
            "printf '%s' '{}' | base64 -d > key.der",
            BASE64_STANDARD.encode(der_key)
        ),
        format!(
            "printf '%s' '{}' | base64 -d > proof.bin",
            BASE64_STANDARD.encode(proof)
        ),
    ] {
        assert!(doc.contains(&expected), "docs/formats.md lacks: {expected}");
    }
}
