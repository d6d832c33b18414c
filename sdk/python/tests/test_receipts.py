import json
from typing import Any

import pytest
from vectors import cases, vectors_dir

from provlog.errors import VerificationError
from provlog.note import parse_verifier_key
from provlog.payload import content_root_of_payload, item_leaf_hash, verify_payload_receipt, verify_row_receipt
from provlog.receipt import verify_receipt

KEY = parse_verifier_key((vectors_dir() / "receipts" / "log.vkey").read_text())


@pytest.mark.parametrize("case", cases("receipts/cases.json"))
def test_receipt_case(case: dict[str, Any]) -> None:
    if case["valid"]:
        v = verify_receipt(case["receipt"], [KEY])
        assert v.checkpoint.signed_by == (KEY.label,)
    else:
        with pytest.raises(VerificationError) as e:
            verify_receipt(case["receipt"], [KEY])
        assert e.value.check == case["check"], str(e.value)


@pytest.mark.parametrize("name", ["signal.json", "snapshot-row.json", "digest.json"])
def test_receipt_files(name: str) -> None:
    text = (vectors_dir() / "receipts" / name).read_text()
    v = verify_receipt(text, [KEY.text])
    assert v.record.origin == "example.com/provlog/test"


# The fixture's payloads (provlog-core's testing::fixture): record 0 is a signal of this payload,
# record 1 a snapshot whose row 3 is this row.
SIGNAL_PAYLOAD = {"token": "ETH", "signal": -1, "trend": "up", "trader_grade": 61.5, "hour": 0}
ROW = {"token": "TOK3", "grade": 31}


def receipt_file(name: str) -> str:
    return (vectors_dir() / "receipts" / name).read_text()


def test_content_root_of_payload_matches_the_record() -> None:
    v = verify_payload_receipt(SIGNAL_PAYLOAD, receipt_file("signal.json"), [KEY])
    assert content_root_of_payload(SIGNAL_PAYLOAD) == v.record.content_root
    with pytest.raises(VerificationError) as e:
        verify_payload_receipt({**SIGNAL_PAYLOAD, "signal": 1}, receipt_file("signal.json"), [KEY])
    assert e.value.check == "content_mismatch"


def test_item_leaf_hash_matches_the_row() -> None:
    v = verify_row_receipt(ROW, receipt_file("snapshot-row.json"), [KEY])
    assert v.item is not None and v.item.leaf_hash == item_leaf_hash(ROW)
    with pytest.raises(VerificationError) as e:
        verify_row_receipt({**ROW, "grade": 32}, receipt_file("snapshot-row.json"), [KEY])
    assert e.value.check == "item_mismatch"
    with pytest.raises(VerificationError) as e:
        verify_row_receipt(ROW, receipt_file("signal.json"), [KEY])
    assert e.value.check == "item_mismatch"


def test_lone_surrogate_in_the_receipt_is_a_parse_error() -> None:
    r = json.loads(receipt_file("signal.json"))
    r["record"] = r["record"].replace("grader-v3", "\ud800")
    with pytest.raises(VerificationError) as e:
        verify_receipt(r, [KEY])
    assert e.value.check == "parse"
    with pytest.raises(VerificationError) as e:
        verify_receipt(json.dumps(r), [KEY])
    assert e.value.check == "parse"


def test_duplicate_receipt_member_is_a_parse_error() -> None:
    text = receipt_file("signal.json")
    dup = text.replace('"leaf_index": 0', '"leaf_index": 0, "leaf_index": 0')
    assert dup != text
    with pytest.raises(VerificationError) as e:
        verify_receipt(dup, [KEY])
    assert e.value.check == "parse"
