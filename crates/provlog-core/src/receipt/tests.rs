use proptest::prelude::*;

use super::*;
use crate::checkpoint::{Checkpoint, NoteSigner};
use crate::record::Kind;
use crate::testing::fixture::{Fixture, ORIGIN, SNAPSHOT_ITEMS};

fn fixture() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| Fixture::new(40))
}

#[test]
fn every_record_and_snapshot_row_verifies() {
    let f = fixture();
    let trusted = f.trusted();
    for i in 0..f.records.len() as u64 {
        let v = verify_receipt(&f.receipt(i), &trusted).unwrap();
        assert_eq!(v.leaf_index, i);
        assert_eq!(v.checkpoint.checkpoint.size, 40);
        assert_eq!(v.checkpoint.checkpoint.origin, ORIGIN);
        assert_eq!(v.source_signature.is_some(), i % 4 == 0, "record {i}");
        assert_eq!(
            v.record.to_canonical_bytes().unwrap(),
            f.records[i as usize]
        );
        if v.record.kind == Kind::Snapshot {
            for item in 0..SNAPSHOT_ITEMS as u64 {
                let v = verify_receipt(&f.item_receipt(i, item), &trusted).unwrap();
                let proven = v.item.unwrap();
                assert_eq!(proven.index, item);
                assert_eq!(
                    proven.data,
                    f.items[i as usize].as_ref().unwrap()[item as usize]
                );
            }
        }
    }
}

#[test]
fn json_round_trip() {
    let f = fixture();
    let r = f.item_receipt(1, 2);
    assert_eq!(Receipt::from_json(&r.to_json()).unwrap(), r);
    assert_eq!(
        Receipt::from_json(r.to_json_pretty().as_bytes()).unwrap(),
        r
    );
}

/// Each broken receipt is refused by the check that owns the broken part.
#[test]
fn failures_name_their_check() {
    let f = fixture();
    let trusted = f.trusted();
    let check = |r: &Receipt| verify_receipt(r, &trusted).unwrap_err();

    let mut r = f.receipt(3);
    r.format = "provlog-receipt/v2".into();
    assert!(matches!(check(&r), ReceiptError::UnsupportedFormat { .. }));

    let mut r = f.receipt(3);
    r.record = r.record.replacen("acme-signals", "acme-signalz", 1);
    assert!(matches!(check(&r), ReceiptError::RecordHash { .. }));

    let mut r = f.receipt(3);
    r.record.insert(1, ' ');
    assert_eq!(check(&r), ReceiptError::Record(RecordError::NotCanonical));

    let mut r = f.receipt(3);
    r.leaf_hash = crate::testing::leaf(0);
    assert!(matches!(check(&r), ReceiptError::RecordHash { .. }));

    let other = NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[1; 32])).unwrap();
    let r = f.receipt(3);
    assert!(matches!(
        verify_receipt(&r, &TrustedKeys::new([other.verifier_key().clone()])).unwrap_err(),
        ReceiptError::Checkpoint(CheckpointError::NoTrustedSignature { .. })
    ));

    // A genuine checkpoint of another log, signed by a key the verifier also trusts.
    let elsewhere = NoteSigner::new("other.example/log", f.signer.signing_key().clone()).unwrap();
    let cp = Checkpoint::new("other.example/log", f.log.size(), f.log.root());
    let mut r = f.receipt(3);
    r.checkpoint = String::from_utf8(elsewhere.sign_checkpoint(&cp).unwrap()).unwrap();
    let both = TrustedKeys::new([
        f.signer.verifier_key().clone(),
        elsewhere.verifier_key().clone(),
    ]);
    assert!(matches!(
        verify_receipt(&r, &both).unwrap_err(),
        ReceiptError::OriginMismatch { .. }
    ));

    let mut r = f.receipt(3);
    r.leaf_index = 4;
    assert!(matches!(check(&r), ReceiptError::Inclusion(_)));

    let mut r = f.receipt(3);
    r.inclusion_proof.pop();
    assert!(matches!(
        check(&r),
        ReceiptError::Inclusion(ProofError::WrongLength { .. })
    ));

    let mut r = f.item_receipt(1, 2);
    r.item.as_mut().unwrap().data = BASE64_STANDARD.encode(b"{\"grade\":100,\"token\":\"TOK2\"}");
    assert!(matches!(check(&r), ReceiptError::ItemProof(_)));

    let mut r = f.item_receipt(1, 2);
    r.item.as_mut().unwrap().index = SNAPSHOT_ITEMS as u64;
    assert!(matches!(
        check(&r),
        ReceiptError::ItemProof(ProofError::IndexOutOfRange { .. })
    ));

    let mut r = f.receipt(0);
    r.item = f.item_receipt(1, 0).item;
    assert!(matches!(check(&r), ReceiptError::Item(_)));

    let mut r = f.receipt(3);
    r.anchor = Some(AnchorRef {
        chain_id: 31337,
        contract: format!("0x{}", "11".repeat(20)),
        log_id: format!("0x{}", "22".repeat(32)),
        tx_hash: format!("0x{}", "33".repeat(32)),
        block_number: 9,
        block_hash: format!("0x{}", "44".repeat(32)),
        block_timestamp: Some(1_764_633_600),
        tree_size: 39,
    });
    assert!(matches!(
        check(&r),
        ReceiptError::AnchorSize {
            anchor: 39,
            checkpoint: 40
        }
    ));
    r.anchor.as_mut().unwrap().tree_size = 40;
    // The log id must be keccak256 of the checkpoint's origin.
    assert!(matches!(check(&r), ReceiptError::Anchor(e) if e.contains("keccak256")));
    // Hex digits in either case.
    r.anchor.as_mut().unwrap().log_id = anchor_log_id(ORIGIN).to_uppercase().replace("0X", "0x");
    assert!(verify_receipt(&r, &trusted).unwrap().anchor.is_some());
    r.anchor.as_mut().unwrap().contract = "0x1234".into();
    assert!(matches!(check(&r), ReceiptError::Anchor(e) if e.contains("contract")));

    // Known answer: keccak256 of the empty string.
    assert_eq!(
        anchor_log_id(""),
        "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    );

    assert!(matches!(
        Receipt::from_json(b"{}"),
        Err(ReceiptError::Parse(_))
    ));
    let mut unknown: serde_json::Value = serde_json::from_slice(&f.receipt(0).to_json()).unwrap();
    unknown["extra"] = serde_json::json!(1);
    assert!(matches!(
        Receipt::from_json(unknown.to_string().as_bytes()),
        Err(ReceiptError::Parse(_))
    ));
}

/// A receipt whose source signature no longer matches its record is refused: the record hash
/// and inclusion would still hold if the log itself had stored a forged signature.
#[test]
fn forged_source_signature_is_refused() {
    let f = Fixture::new(1);
    let mut record = crate::record::Record::from_canonical_bytes(&f.records[0]).unwrap();
    record.signature.as_mut().unwrap().sig[0] ^= 1;
    let bytes = record.to_canonical_bytes().unwrap();
    let mut log = crate::log::MemoryLog::new();
    log.append(&bytes);
    let cp = Checkpoint::new(ORIGIN, 1, log.root());
    let receipt = Receipt {
        record: String::from_utf8(bytes.clone()).unwrap(),
        leaf_hash: leaf_hash(&bytes),
        checkpoint: String::from_utf8(f.signer.sign_checkpoint(&cp).unwrap()).unwrap(),
        ..f.receipt(0)
    };
    assert!(matches!(
        verify_receipt(&receipt, &f.trusted()).unwrap_err(),
        ReceiptError::Record(RecordError::BadSignature { .. })
    ));
}

#[test]
fn tlog_proof_export() {
    let f = fixture();
    let r = f.receipt(17);
    let text = r.to_tlog_proof();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
    assert!(text.contains("\nindex 17\n"));
    let parsed = TlogProof::parse(&text).unwrap();
    assert_eq!(parsed.extra.as_deref(), Some(r.record.as_bytes()));
    assert_eq!(parsed.proof, r.inclusion_proof);
    let leaf = leaf_hash(parsed.extra.as_ref().unwrap());
    let cp = parsed.verify(&leaf, &f.trusted(), Some(ORIGIN)).unwrap();
    assert_eq!(cp.checkpoint.size, 40);
    assert!(parsed
        .verify(&crate::testing::leaf(1), &f.trusted(), None)
        .is_err());
    for bad in [
        text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
        text.replacen("\nindex 17\n", "\nindex 017\n", 1),
        text.replacen("\nindex 17\n", "\nindex -1\n", 1),
        text.replacen("\n\n", "\n", 1),
    ] {
        assert!(TlogProof::parse(&bad).is_err(), "{bad}");
    }
    let mut wrong_index = parsed.clone();
    wrong_index.index = 16;
    assert!(wrong_index.verify(&leaf, &f.trusted(), None).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Changing any single byte of a valid (compact JSON) receipt makes verification fail.
    #[test]
    fn any_single_byte_change_is_caught(
        record in 0u64..40, item in 0u64..SNAPSHOT_ITEMS as u64, pos in any::<prop::sample::Index>(), xor in 1u8..=255
    ) {
        let f = fixture();
        let receipt = if record % 3 == 1 { f.item_receipt(record, item) } else { f.receipt(record) };
        let mut bytes = receipt.to_json();
        let i = pos.index(bytes.len());
        bytes[i] ^= xor;
        prop_assert!(verify_receipt_json(&bytes, &f.trusted()).is_err(), "byte {} xor {:#x}", i, xor);
    }

    #[test]
    fn cached_verifier_agrees(record in 0u64..40, flip in any::<bool>(), pos in any::<prop::sample::Index>()) {
        let f = fixture();
        let mut receipt = f.receipt(record);
        if flip {
            let mut proof = receipt.inclusion_proof.clone();
            let j = pos.index(proof.len());
            proof[j] = crate::testing::leaf(j as u64);
            receipt.inclusion_proof = proof;
        }
        let cached = ReceiptVerifier::new(f.trusted());
        let _ = cached.verify(&f.receipt(0));
        prop_assert_eq!(cached.verify(&receipt), verify_receipt(&receipt, &f.trusted()));
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = verify_receipt_json(&bytes, &fixture().trusted());
        let _ = TlogProof::parse(&String::from_utf8_lossy(&bytes));
    }
}
