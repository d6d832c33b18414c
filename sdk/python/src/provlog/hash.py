"""RFC 9162 §2.1 hashing: leaf and interior-node hashes over SHA-256."""

from __future__ import annotations

import hashlib

HASH_LEN = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def sha256(data: bytes) -> bytes:
    """SHA-256 of ``data``."""
    return hashlib.sha256(data).digest()


def leaf_hash(data: bytes) -> bytes:
    """Leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()
