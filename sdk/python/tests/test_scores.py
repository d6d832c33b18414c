import json
import math
from typing import Any

import pytest
from vectors import cases, load

from provlog.note import parse_verifier_key
from provlog.score import score
from provlog.track_record import verify_track_record

KEY = parse_verifier_key(load("scores.json")["log_vkey"])


@pytest.mark.parametrize("case", cases("scores.json"))
def test_computed_exactly(case: dict[str, Any]) -> None:
    s = score(verify_track_record(case["bundle"], [KEY]))
    # Bit for bit: repr of a double round-trips, and -0.0 stays -0.0.
    assert json.dumps(s, sort_keys=True) == json.dumps(case["computed"], sort_keys=True)


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=0, abs_tol=1e-12)
    return bool(a == b)


@pytest.mark.parametrize("case", cases("scores.json"))
def test_expected_by_hand(case: dict[str, Any]) -> None:
    s = score(verify_track_record(case["bundle"], [KEY]))
    expect = case["expect"]
    for k, v in expect.items():
        if k in ("signals", "predictions"):
            for m, x in v.items():
                assert close(s[k][m], x), (k, m)
        elif k in ("returns", "errors"):
            field = "return" if k == "returns" else "error"
            got = [[x["seq"], x[field]] for x in s["scores"]]
            assert len(got) == len(v)
            assert all(g[0] == e[0] and close(g[1], e[1]) for g, e in zip(got, v))
        else:
            assert s[k] == v, k
