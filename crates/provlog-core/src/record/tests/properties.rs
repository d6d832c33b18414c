//! Property tests: random valid records round-trip byte for byte; random and mutated bytes never
//! panic the parser, and whatever it accepts is canonical.

use ed25519_dalek::SigningKey;
use proptest::prelude::*;

use super::*;
use crate::record::json::tests::arb_json;

fn arb_metadata() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z_]{1,8}", arb_json(false), 0..4)
        .prop_map(|m| m.into_iter().collect())
}

fn arb_content() -> impl Strategy<Value = (Kind, Content)> {
    let hash = any::<[u8; 32]>().prop_map(Hash::from_bytes);
    let media = prop_oneof![
        Just(MediaType::json()),
        Just(MediaType::octet_stream()),
        "[a-z]{1,8}/[a-z0-9.+-]{1,12}".prop_filter_map("valid", |m| MediaType::new(m).ok()),
    ];
    let rfc = ContentAlg::Rfc9162Sha256;
    prop_oneof![
        hash.clone().prop_map(move |root| (
            Kind::Signal,
            Content {
                alg: rfc,
                root,
                items: 1,
                media_type: MediaType::json()
            }
        )),
        (hash.clone(), 1..=MAX_SAFE_INTEGER, media.clone()).prop_map(
            move |(root, items, media_type)| (
                Kind::Snapshot,
                Content {
                    alg: rfc,
                    root,
                    items,
                    media_type
                }
            )
        ),
        (hash.clone(), 1..1000u64, media.clone()).prop_map(move |(root, items, media_type)| (
            Kind::Digest,
            Content {
                alg: rfc,
                root,
                items,
                media_type
            }
        )),
        (hash, media).prop_map(|(root, media_type)| (
            Kind::Digest,
            Content {
                alg: ContentAlg::Sha256,
                root,
                items: 1,
                media_type
            }
        )),
    ]
}

fn arb_record() -> impl Strategy<Value = Record> {
    let quality = prop::collection::vec(
        ("[ -~]{1,20}", any::<bool>(), prop::option::of("\\PC{0,20}")).prop_map(
            |(check, passed, detail)| QualityCheck {
                check,
                passed,
                detail,
            },
        ),
        0..3,
    );
    let signer = prop::option::of((
        any::<[u8; 32]>(),
        "[A-Za-z0-9._:-]{1,64}",
        "[A-Za-z0-9_-]{16,40}",
        0..=MAX_SAFE_INTEGER,
    ));
    (
        "[!-*,-~]{1,40}",
        "[a-z0-9][a-z0-9._-]{0,63}",
        arb_content(),
        prop::collection::hash_set(any::<[u8; 32]>().prop_map(Hash::from_bytes), 0..4),
        arb_metadata(),
        Timestamp::MIN.unix_millis()..=Timestamp::MAX.unix_millis(),
        quality,
        signer,
    )
        .prop_map(
            |(origin, source, (kind, content), parents, metadata, millis, quality, signer)| {
                let mut r = Record {
                    content,
                    kind,
                    metadata,
                    origin: LogOrigin::new(origin).unwrap(),
                    parents: parents.into_iter().collect(),
                    quality,
                    received_at: Timestamp::from_unix_millis(millis).unwrap(),
                    signature: None,
                    source: SourceId::new(source).unwrap(),
                    seq: None,
                    prev: None,
                    v: FormatVersion::V1,
                };
                if let Some((seed, key_id, nonce, created)) = signer {
                    let sig = r.statement().sign_statement(
                        &SigningKey::from_bytes(&seed),
                        KeyId::new(key_id).unwrap(),
                        Nonce::new(nonce).unwrap(),
                        created,
                    );
                    r.signature = Some(sig.unwrap());
                }
                r
            },
        )
        .prop_filter("metadata within limits", |r| {
            r.validate(&Limits::default()).is_ok()
        })
}

proptest! {
    #[test]
    fn records_round_trip(r in arb_record()) {
        let bytes = r.to_canonical_bytes().unwrap();
        let back = Record::from_canonical_bytes(&bytes).unwrap();
        prop_assert_eq!(back.to_canonical_bytes().unwrap(), bytes);
        prop_assert_eq!(&back, &r);
        prop_assert_eq!(back.verify_source_signature().unwrap().is_some(), r.signature.is_some());
    }

    #[test]
    fn sealing_gives_the_canonical_bytes_of_the_v2_record(
        r in arb_record(),
        seq in 0u64..=MAX_SAFE_INTEGER,
        prev in any::<[u8; 32]>(),
        millis in 0i64..4_102_444_800_000,
    ) {
        let received_at = Timestamp::from_unix_millis(millis).unwrap();
        let prev = (seq > 0).then(|| Hash::from_bytes(prev));
        let sealed = r.unsealed().unwrap().seal(seq, prev, received_at);
        let v2 = Record { v: FormatVersion::V2, seq: Some(seq), prev, received_at, ..r.clone() };
        prop_assert_eq!(&sealed, &v2.to_canonical_bytes().unwrap());
        let back = Record::from_canonical_bytes(&sealed).unwrap();
        prop_assert_eq!(&back, &v2);
        prop_assert_eq!(back.verify_source_signature().unwrap().is_some(), r.signature.is_some());
    }

    #[test]
    fn record_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Record::from_canonical_bytes(&bytes);
    }

    #[test]
    fn mutated_records_never_panic_and_rarely_parse(
        r in arb_record(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = r.to_canonical_bytes().unwrap();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(back) = Record::from_canonical_bytes(&bytes) {
            // Whatever parses is canonical.
            prop_assert_eq!(back.to_canonical_bytes().unwrap(), bytes.clone());
        }
        bytes.truncate(cut.index(bytes.len()));
        prop_assert!(Record::from_canonical_bytes(&bytes).is_err());
    }
}
