"""Ed25519 verification as strict as ed25519-dalek's ``verify_strict``.

The curve arithmetic is OpenSSL's, through ``cryptography``. OpenSSL refuses a signature whose
scalar S is not below the group order, but it takes small-order public keys and R points and
non-canonical point encodings. This module refuses all of these before OpenSSL sees them:

* S >= L (malleable copies of a signature), checked here too rather than trusted to OpenSSL;
* a public key A or a commitment R of small order (the eight torsion points, in any of their
  canonical or non-canonical encodings), which would let one signature verify for many
  messages or keys;
* an encoding of A or R whose y coordinate is not reduced (y >= p): verify_strict recomputes R
  and compares encodings, so a non-canonical R never verifies there; a non-canonical A is
  refused here as well, as one key must have one encoding.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493

# Small-order points' encodings without the sign bit: 0, 1, the two order-8 y values, and
# p-1, p, p+1 (the last two non-canonical encodings of 0 and 1).
_SMALL_ORDER = frozenset(
    [
        bytes(32),
        b"\x01" + bytes(31),
        bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    ]
    + [bytes([b]) + b"\xff" * 30 + b"\x7f" for b in (0xEC, 0xED, 0xEE)]
)


def _without_sign(point: bytes) -> bytes:
    return point[:31] + bytes([point[31] & 0x7F])


def is_small_order(point: bytes) -> bool:
    """Whether a 32-byte point encoding is one of a small-order point."""
    return _without_sign(point) in _SMALL_ORDER


def is_canonical_point(point: bytes) -> bool:
    """Whether a 32-byte point encoding has its y coordinate below p."""
    return int.from_bytes(_without_sign(point), "little") < P


def is_canonical_scalar(s: bytes) -> bool:
    """Whether a 32-byte little-endian scalar is below the group order L."""
    return int.from_bytes(s, "little") < L


def verify_strict(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``,
    refusing everything ``verify_strict`` refuses (see the module's docstring)."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    r, s = signature[:32], signature[32:]
    for point in (public_key, r):
        if is_small_order(point) or not is_canonical_point(point):
            return False
    if not is_canonical_scalar(s):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
