from typing import Any

import pytest
from vectors import cases

from provlog.errors import ProofError
from provlog.hash import leaf_hash, node_hash
from provlog.log import verify_consistency, verify_inclusion


def h(x: str) -> bytes:
    return bytes.fromhex(x.removeprefix("0x"))


def test_hashes() -> None:
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert node_hash(b"l", b"r") != node_hash(b"r", b"l")


@pytest.mark.parametrize("case", cases("inclusion.json"))
def test_inclusion(case: dict[str, Any]) -> None:
    args = (case["leafIndex"], case["treeSize"], h(case["leafHash"]),
            [h(p) for p in case["proof"]], h(case["root"]))
    if case["valid"]:
        verify_inclusion(*args)
    else:
        with pytest.raises(ProofError):
            verify_inclusion(*args)


@pytest.mark.parametrize("case", cases("consistency.json"))
def test_consistency(case: dict[str, Any]) -> None:
    args = (case["size1"], case["size2"], h(case["root1"]), h(case["root2"]),
            [h(p) for p in case["proof"]])
    if case["valid"]:
        verify_consistency(*args)
    else:
        with pytest.raises(ProofError):
            verify_consistency(*args)
