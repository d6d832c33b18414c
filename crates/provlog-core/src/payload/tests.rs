use serde_json::json;

use super::*;
use crate::testing::fixture::Fixture;

/// Record 0 of the fixture is a signal with this payload; record 1 a snapshot whose row 3 is
/// `{"token": "TOK3", "grade": 31}`.
fn signal_payload() -> Value {
    json!({"token": "ETH", "signal": -1, "trend": "up", "trader_grade": 61.5, "hour": 0})
}

#[test]
fn a_payload_hashes_as_its_signal_content_root() {
    let f = Fixture::new(12);
    let verified = verify_payload_receipt(&signal_payload(), &f.receipt(0), &f.trusted()).unwrap();
    assert_eq!(verified.leaf_index, 0);
    // Key order and number spelling do not matter: the hash is over the canonical form.
    let respelled: Value = serde_json::from_str(
        r#"{"hour":0,"trader_grade":61.50,"trend":"up","signal":-1,"token":"ETH"}"#,
    )
    .unwrap();
    assert_eq!(
        payload_hash(&respelled).unwrap(),
        payload_hash(&signal_payload()).unwrap()
    );
}

#[test]
fn a_changed_value_or_another_record_is_a_content_mismatch() {
    let f = Fixture::new(12);
    let mut changed = signal_payload();
    changed["signal"] = json!(1);
    assert!(matches!(
        verify_payload_receipt(&changed, &f.receipt(0), &f.trusted()),
        Err(PayloadError::ContentMismatch { items: 1, .. })
    ));
    // A valid receipt of another record (a snapshot of many rows) proves nothing about it.
    assert!(matches!(
        verify_payload_receipt(&signal_payload(), &f.receipt(1), &f.trusted()),
        Err(PayloadError::ContentMismatch { .. })
    ));
}

#[test]
fn a_receipt_that_does_not_verify_fails_as_a_receipt() {
    let f = Fixture::new(12);
    let mut r = f.receipt(0);
    r.leaf_index = 1;
    assert!(matches!(
        verify_payload_receipt(&signal_payload(), &r, &f.trusted()),
        Err(PayloadError::Receipt(ReceiptError::RecordHash { .. }))
            | Err(PayloadError::Receipt(ReceiptError::Inclusion(_)))
    ));
}

#[test]
fn a_row_is_proven_by_its_item_receipt_only() {
    let f = Fixture::new(12);
    let row = json!({"token": "TOK3", "grade": 31});
    let receipt = f.item_receipt(1, 3);
    let verified = verify_row_receipt(&row, &receipt, &f.trusted()).unwrap();
    assert_eq!(verified.item.map(|i| i.index), Some(3));
    let other = json!({"token": "TOK3", "grade": 32});
    assert!(matches!(
        verify_row_receipt(&other, &receipt, &f.trusted()),
        Err(PayloadError::ItemMismatch { .. })
    ));
    assert!(matches!(
        verify_row_receipt(&row, &f.receipt(1), &f.trusted()),
        Err(PayloadError::ItemMismatch { .. })
    ));
}
