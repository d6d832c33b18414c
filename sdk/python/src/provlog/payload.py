"""From the value a consumer received (a signal's payload, a JSON row of a snapshot) to the hash
its record must carry: SHA-256(0x00 || JCS(value)).

That is the content root of a signal with that payload, of a snapshot whose one JSON item it
is, and the leaf hash of a JSON row in any snapshot's content tree.
"""

from __future__ import annotations

from typing import Any

from .errors import StrictJsonError, VerificationError
from .hash import leaf_hash
from .jcs import Json, canonicalize, check_canonicalisable
from .receipt import Keys, VerifiedReceipt, verify_receipt


def payload_hash(value: Json) -> bytes:
    """SHA-256(0x00 || JCS(value)); raises :class:`~provlog.errors.StrictJsonError` for a value
    with no canonical form."""
    check_canonicalisable(value)
    return leaf_hash(canonicalize(value))


def content_root_of_payload(payload: Json) -> bytes:
    """The content root of a signal whose payload is ``payload``."""
    return payload_hash(payload)


def item_leaf_hash(row: Json) -> bytes:
    """The leaf hash of ``row`` as a JSON item of a snapshot's content tree."""
    return payload_hash(row)


def _is_json_media(media_type: str) -> bool:
    # MediaType::is_json.
    return media_type == "application/json"


def verify_payload_receipt(payload: Json, receipt: Any, keys: Keys) -> VerifiedReceipt:
    """Checks that ``receipt`` proves ``payload`` was logged: it verifies against ``keys`` and
    its record's content is exactly this one JSON value (a signal, or a one-item snapshot).

    Raises :class:`~provlog.errors.VerificationError`: the receipt's check, ``payload`` (no
    canonical form) or ``content_mismatch``.
    """
    expected, verified = _hash_and_verify(payload, receipt, keys)
    r = verified.record
    c = r.content
    one_value = (r.kind in ("signal", "snapshot") and c["alg"] == "rfc9162-sha256"
                 and c["items"] == 1 and _is_json_media(c["media_type"]))
    if not one_value or r.content_root != expected:
        raise VerificationError(
            "content_mismatch",
            f"the receipt's record has content root {r.content_root.hex()} over {c['items']} "
            f"item(s), the payload's hash is {expected.hex()}",
        )
    return verified


def verify_row_receipt(row: Json, receipt: Any, keys: Keys) -> VerifiedReceipt:
    """Checks that ``receipt`` proves ``row`` is an item of a logged snapshot (an item proof
    whose item is exactly this JSON row). Raises ``VerificationError`` (``item_mismatch``...)."""
    expected, verified = _hash_and_verify(row, receipt, keys)
    item = verified.item
    if item is not None and item.leaf_hash == expected and _is_json_media(verified.record.content["media_type"]):
        return verified
    found = (f"item {item.index} with leaf hash {item.leaf_hash.hex()}" if item is not None
             else "no item (the receipt has no item proof)")
    raise VerificationError("item_mismatch", f"the receipt proves {found}, the row's leaf hash is {expected.hex()}")


def _hash_and_verify(value: Json, receipt: Any, keys: Keys) -> tuple[bytes, VerifiedReceipt]:
    try:
        expected = payload_hash(value)
    except StrictJsonError as e:
        raise VerificationError("payload", str(e)) from None
    return expected, verify_receipt(receipt, keys)
