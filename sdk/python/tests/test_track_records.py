from typing import Any

import pytest
from vectors import cases, load

from provlog.errors import VerificationError
from provlog.note import parse_verifier_key
from provlog.track_record import VerifiedTrackRecord, verify_track_record

KEY = parse_verifier_key(load("track-records.json")["log_vkey"])


def report(v: VerifiedTrackRecord) -> dict[str, Any]:
    """What the vectors' ``expect`` holds, from a verified bundle."""
    return {
        "count": v.count,
        "first_seq": v.first_seq,
        "span": list(v.span) if v.span else None,
        "complete_until": v.complete_until,
        "closed": v.closed,
        "gaps": v.gaps,
        "signed_by": [e.key.key_id if e.key else None for e in v.records],
        "commitments": [{"seq": c.seq, "leaf_index": c.leaf_index, "status": c.status} for c in v.commitments],
    }


@pytest.mark.parametrize("case", cases("track-records.json"))
def test_track_record(case: dict[str, Any]) -> None:
    if case["valid"]:
        assert report(verify_track_record(case["bundle"], [KEY])) == case["expect"]
    else:
        with pytest.raises(VerificationError) as e:
            verify_track_record(case["bundle"], [KEY])
        assert e.value.check == case["error"], str(e.value)
