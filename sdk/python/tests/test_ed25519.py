"""Ed25519 strictness: what verify_strict refuses and OpenSSL alone would take or is not
relied on for, shown on the golden signal record's signature and on crafted points."""

import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from vectors import vectors_dir

from provlog.ed25519 import L, P, is_canonical_point, is_small_order, verify_strict
from provlog.encoding import b64decode
from provlog.record import parse_record, signed_message

IDENTITY = b"\x01" + bytes(31)
# y = p + 1, a non-canonical encoding of the identity (y = 1).
IDENTITY_NON_CANONICAL = bytes([0xEE]) + b"\xff" * 30 + b"\x7f"


def golden() -> tuple[bytes, bytes, bytes]:
    receipt = json.loads((vectors_dir() / "receipts" / "signal.json").read_text())
    record = parse_record(receipt["record"])
    sig = record.signature
    assert sig is not None
    key, raw = b64decode(sig["public_key"]), b64decode(sig["sig"])
    assert key is not None and raw is not None
    return key, signed_message(record), raw


def openssl_accepts(key: bytes, msg: bytes, sig: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, msg)
    except (InvalidSignature, ValueError):
        return False
    return True


def test_golden_signature_verifies() -> None:
    assert verify_strict(*golden())


def test_golden_signature_other_message() -> None:
    key, msg, sig = golden()
    assert not verify_strict(key, msg + b" ", sig)


def test_non_canonical_s_refused() -> None:
    key, msg, sig = golden()
    s = int.from_bytes(sig[32:], "little")
    malleable = sig[:32] + (s + L).to_bytes(32, "little")
    assert not verify_strict(key, msg, malleable)
    # OpenSSL refuses it too; verify_strict checks S itself rather than rely on that.
    assert not openssl_accepts(key, msg, malleable)


def test_small_order_key_and_r_refused() -> None:
    # A = R = identity, S = 0: the cofactorless equation [S]B = R + [k]A holds for every
    # message, so any library without the small-order check accepts this "signature".
    forged = IDENTITY + bytes(32)
    assert openssl_accepts(IDENTITY, b"any message", forged)  # why the check is added
    assert not verify_strict(IDENTITY, b"any message", forged)


def test_non_canonical_encodings_refused() -> None:
    assert not is_canonical_point(IDENTITY_NON_CANONICAL)
    assert is_small_order(IDENTITY_NON_CANONICAL)
    assert not verify_strict(IDENTITY_NON_CANONICAL, b"m", IDENTITY_NON_CANONICAL + bytes(32))
    # y = p + 2 (non-canonical 2) is refused as a key even before its order is asked.
    key = (P + 2).to_bytes(32, "little")
    assert not is_canonical_point(key)
    assert not verify_strict(key, b"m", IDENTITY + bytes(32))
    k, msg, sig = golden()
    assert is_canonical_point(sig[:32]) and is_canonical_point(k)


@pytest.mark.parametrize("point", [
    bytes(32), IDENTITY,
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
], ids=bytes.hex)
def test_small_order_points(point: bytes) -> None:
    assert is_small_order(point)
    assert not verify_strict(point, b"m", IDENTITY + bytes(32))


def test_fresh_key() -> None:
    sk = Ed25519PrivateKey.generate()
    pk = sk.public_key().public_bytes_raw()
    sig = sk.sign(b"hello")
    assert verify_strict(pk, b"hello", sig)
    assert not verify_strict(pk, b"hellO", sig)
    assert not verify_strict(pk[:31], b"hello", sig)
    assert not verify_strict(pk, b"hello", sig[:63])
