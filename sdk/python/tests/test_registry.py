import base64
from typing import Any

import pytest
from vectors import cases, load

from provlog.errors import VerificationError
from provlog.evidence import verify_source_evidence
from provlog.note import parse_verifier_key
from provlog.receipt import verify_receipt
from provlog.registry import SourceHistory, possession_message, verify_possession

EVIDENCE_KEY = parse_verifier_key(load("evidence.json")["log_vkey"])


@pytest.mark.parametrize("case", cases("evidence.json"))
def test_evidence(case: dict[str, Any]) -> None:
    record = verify_receipt(case["receipt"], [EVIDENCE_KEY])
    if case["valid"]:
        key = verify_source_evidence(record, case["source_evidence"], [EVIDENCE_KEY])
        assert key.added.leaf_index < record.leaf_index
    else:
        with pytest.raises(VerificationError) as e:
            verify_source_evidence(record, case["source_evidence"], [EVIDENCE_KEY])
        assert e.value.check == case["error"], str(e.value)


def fold(case: dict[str, Any]) -> SourceHistory | None:
    return SourceHistory.fold(
        (r["leaf_index"], r["record"], r["item"].encode()) for r in case["records"]
    )


@pytest.mark.parametrize("case", cases("registry.json"))
def test_registry_fold(case: dict[str, Any]) -> None:
    if case["valid"]:
        history = fold(case)
        assert history is not None and history.source == "acme-signals"
        assert history.leaves == [r["leaf_index"] for r in case["records"]]
    else:
        with pytest.raises(VerificationError) as e:
            fold(case)
        assert e.value.check == case["error"], str(e.value)


def test_possession_message() -> None:
    p = load("registry.json")["possession"]
    message = possession_message(p["origin"], p["source"], p["key_id"], p["public_key"])
    assert message == base64.b64decode(p["message_base64"])
    assert verify_possession(p["origin"], p["source"], p["key_id"], p["public_key"], p["proof"])
    assert not verify_possession(p["origin"], "other", p["key_id"], p["public_key"], p["proof"])
