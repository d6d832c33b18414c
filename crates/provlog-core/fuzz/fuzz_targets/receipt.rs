//! Receipts. Checks that:
//! - raw bytes (any first byte but 0): `Receipt::from_json` → `verify_receipt` never panics; a
//!   parsed receipt round-trips through `to_json` and through `to_tlog_proof` /
//!   `TlogProof::parse`; `ReceiptVerifier` gives the same result as `verify_receipt`;
//! - edits (first byte 0, the rest drives the edits): fuzzer-chosen byte edits of a valid fixture
//!   receipt's compact JSON verify only if the edited JSON parses to the same record bytes, leaf
//!   hash, leaf index, inclusion proof, checkpoint and item (an item may only disappear);
//! - whatever verifies (either way) proves a record of the fixture log: its checkpoint is the
//!   fixture's, its record bytes are those at its leaf index, its item data that of the item;
//! - `TlogProof::parse` on the bytes as text: a parsed proof renders back to exactly the input,
//!   and one that verifies proves the fixture's record at its index.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::prelude::{Engine as _, BASE64_STANDARD};
use libfuzzer_sys::fuzz_target;
use provlog_core::leaf_hash;
use provlog_core::receipt::{
    verify_receipt, verify_receipt_json, Receipt, ReceiptVerifier, TlogProof, VerifiedReceipt,
};
use provlog_core_fuzz::{base_receipts, fixture, trusted_label, with_trusted};

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0, edits)) => check_edited(edits),
        _ => check_raw(data),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_tlog_proof_text(text);
    }
});

fn check_raw(data: &[u8]) {
    let Ok(receipt) = Receipt::from_json(data) else {
        return;
    };
    assert_eq!(
        Receipt::from_json(&receipt.to_json()).as_ref(),
        Ok(&receipt)
    );
    let tlog = TlogProof::parse(&receipt.to_tlog_proof()).expect("own tlog-proof parses");
    let expected = TlogProof {
        extra: Some(receipt.record.as_bytes().to_vec()),
        index: receipt.leaf_index,
        proof: receipt.inclusion_proof.clone(),
        checkpoint: receipt.checkpoint.clone(),
    };
    assert_eq!(tlog, expected);

    let result = with_trusted(|t| verify_receipt(&receipt, t));
    let cached = ReceiptVerifier::new(fixture().trusted()).verify(&receipt);
    assert_eq!(cached, result);
    if let Ok(verified) = result {
        check_verified(&receipt, &verified);
        with_trusted(|t| tlog.verify(&verified.leaf_hash, t, None))
            .expect("the tlog-proof form of a verified receipt verifies");
    }
}

/// One byte-level edit; positions wrap around the JSON's length.
#[derive(Arbitrary, Debug)]
enum Edit {
    Set {
        at: u16,
        byte: u8,
    },
    FlipBit {
        at: u16,
        bit: u8,
    },
    Insert {
        at: u16,
        byte: u8,
    },
    Delete {
        at: u16,
        len: u8,
    },
    /// Insert one of the four JSON whitespace bytes.
    Whitespace {
        at: u16,
        which: u8,
    },
    /// Replace an ASCII alphanumeric byte with its `\u00XX` escape.
    Escape {
        at: u16,
    },
    /// Copy a range over another place (e.g. one proof hash over another).
    Copy {
        from: u16,
        to: u16,
        len: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct Edits {
    base: u8,
    edits: Vec<Edit>,
}

const MAX_EDITS: usize = 16;

fn apply(json: &mut Vec<u8>, edit: &Edit) {
    let pos = |at: u16, len: usize| usize::from(at) % (len + 1);
    match *edit {
        Edit::Set { at, byte } if !json.is_empty() => {
            let i = pos(at, json.len() - 1);
            json[i] = byte;
        }
        Edit::FlipBit { at, bit } if !json.is_empty() => {
            let i = pos(at, json.len() - 1);
            json[i] ^= 1 << (bit % 8);
        }
        Edit::Insert { at, byte } => json.insert(pos(at, json.len()), byte),
        Edit::Delete { at, len } => {
            let i = pos(at, json.len());
            let end = (i + usize::from(len)).min(json.len());
            json.drain(i..end);
        }
        Edit::Whitespace { at, which } => {
            json.insert(pos(at, json.len()), b" \t\n\r"[usize::from(which % 4)])
        }
        Edit::Escape { at } if !json.is_empty() => {
            let i = pos(at, json.len() - 1);
            if json[i].is_ascii_alphanumeric() {
                let escaped = format!("\\u{:04x}", json[i]);
                json.splice(i..=i, escaped.into_bytes());
            }
        }
        Edit::Copy { from, to, len } if !json.is_empty() => {
            let from = pos(from, json.len() - 1);
            let to = pos(to, json.len() - 1);
            let len = usize::from(len).min(json.len() - from).min(json.len() - to);
            json.copy_within(from..from + len, to);
        }
        _ => {}
    }
}

fn check_edited(bytes: &[u8]) {
    let Ok(plan) = Edits::arbitrary_take_rest(Unstructured::new(bytes)) else {
        return;
    };
    let bases = base_receipts();
    let base = &bases[usize::from(plan.base) % bases.len()];
    let mut json = base.to_json();
    for edit in plan.edits.iter().take(MAX_EDITS) {
        apply(&mut json, edit);
    }
    let Ok(verified) = with_trusted(|t| verify_receipt_json(&json, t)) else {
        return;
    };
    let edited = Receipt::from_json(&json).expect("verified JSON parses");
    let shown = String::from_utf8_lossy(&json);
    assert_eq!(edited.format, base.format, "{shown}");
    assert_eq!(edited.record, base.record, "{shown}");
    assert_eq!(edited.leaf_hash, base.leaf_hash, "{shown}");
    assert_eq!(edited.leaf_index, base.leaf_index, "{shown}");
    assert_eq!(edited.inclusion_proof, base.inclusion_proof, "{shown}");
    assert_eq!(edited.checkpoint, base.checkpoint, "{shown}");
    if let Some(item) = &edited.item {
        assert_eq!(Some(item), base.item.as_ref(), "{shown}");
    }
    check_verified(&edited, &verified);
}

/// What any verified receipt must establish: the fixture's checkpoint, the record at its index.
fn check_verified(receipt: &Receipt, verified: &VerifiedReceipt) {
    let f = fixture();
    let record = receipt.record.as_bytes();
    assert_eq!(verified.record.to_canonical_bytes().as_deref(), Ok(record));
    assert_eq!(verified.leaf_hash, leaf_hash(record));
    assert_eq!(verified.leaf_hash, receipt.leaf_hash);
    assert_eq!(verified.leaf_index, receipt.leaf_index);
    assert_eq!(verified.checkpoint.signed_by, vec![trusted_label()]);
    assert_eq!(verified.checkpoint.checkpoint.root, f.log.root());
    assert_eq!(verified.checkpoint.checkpoint.size, f.log.size());
    let index = usize::try_from(verified.leaf_index).expect("index within the fixture");
    assert_eq!(Some(&record.to_vec()), f.records.get(index));
    assert_eq!(
        verified.record.origin.as_str(),
        verified.checkpoint.checkpoint.origin
    );
    if let Some(item) = &verified.item {
        let items = f.items[index].as_ref().expect("only snapshots have items");
        let i = usize::try_from(item.index).expect("item index within the snapshot");
        assert_eq!(Some(&item.data), items.get(i));
        assert_eq!(item.leaf_hash, leaf_hash(&item.data));
    }
}

fn check_tlog_proof_text(text: &str) {
    let Ok(proof) = TlogProof::parse(text) else {
        return;
    };
    let mut rendered = String::from("c2sp.org/tlog-proof@v1\n");
    if let Some(extra) = &proof.extra {
        rendered.push_str(&format!("extra {}\n", BASE64_STANDARD.encode(extra)));
    }
    rendered.push_str(&format!("index {}\n", proof.index));
    for hash in &proof.proof {
        rendered.push_str(&hash.to_base64());
        rendered.push('\n');
    }
    rendered.push('\n');
    rendered.push_str(&proof.checkpoint);
    assert_eq!(
        rendered, text,
        "TlogProof::parse accepted a non-canonical text"
    );

    if let Some(extra) = &proof.extra {
        if with_trusted(|t| proof.verify(&leaf_hash(extra), t, None)).is_ok() {
            let index = usize::try_from(proof.index).expect("index within the fixture");
            assert_eq!(Some(extra), fixture().records.get(index));
        }
    }
}
