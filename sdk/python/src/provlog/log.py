"""RFC 9162 Merkle proofs: inclusion (§2.1.3.2) and consistency (§2.1.4.2).

Both check the proof's length against the sizes first, as provlog-core does, so a proof with
extra or missing hashes is refused with the lengths named.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ProofError
from .hash import node_hash

_U64 = 1 << 64


def _check_size(*sizes: int) -> None:
    for s in sizes:
        if not isinstance(s, int) or isinstance(s, bool) or not 0 <= s < _U64:
            raise ProofError(f"tree size {s!r} is not a u64")


def _trailing_ones(x: int) -> int:
    n = 0
    while x & 1:
        x >>= 1
        n += 1
    return n


def inclusion_proof_len(index: int, size: int) -> int:
    """Length of an inclusion proof of leaf ``index`` in a tree of ``size`` leaves."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def consistency_proof_len(size1: int, size2: int) -> int:
    """Length of a consistency proof between sizes ``0 < size1 < size2``."""
    first, last = size1 - 1, size2 - 1
    inner = (first ^ last).bit_length()
    shift = min(_trailing_ones(first), inner)
    border = bin((first >> shift) >> (inner - shift)).count("1")
    seed = 0 if size1 & (size1 - 1) == 0 else 1
    return inner - shift + border + seed


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Verifies that ``leaf`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Raises :class:`ProofError` naming what is wrong.
    """
    _check_size(index, size)
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    expected = inclusion_proof_len(index, size)
    if len(proof) != expected:
        raise ProofError(
            f"proof has {len(proof)} hashes, a proof for these sizes has {expected}"
        )
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof is longer than the path")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise ProofError("proof does not lead to the expected root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Verifies that the tree of ``size2`` leaves with ``root2`` extends the one of ``size1``.

    Raises :class:`ProofError` naming what is wrong.
    """
    _check_size(size1, size2)
    if size1 > size2:
        raise ProofError(f"size1 {size1} is larger than size2 {size2}")
    if size1 == size2 or size1 == 0:
        if proof:
            raise ProofError(f"proof has {len(proof)} hashes, a proof for these sizes has 0")
        if size1 == size2 and root1 != root2:
            raise ProofError("equal sizes with different roots")
        return
    expected = consistency_proof_len(size1, size2)
    if len(proof) != expected:
        raise ProofError(
            f"proof has {len(proof)} hashes, a proof for these sizes has {expected}"
        )
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof does not lead to the expected roots")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != root1 or sr != root2:
        raise ProofError("proof does not lead to the expected roots")
