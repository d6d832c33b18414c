"""Commitments and reveals (docs/formats.md, "Commitments and reveals"; provlog-core's
``commitment``): the items of ``commitment`` and ``reveal`` records, and whether a reveal
opens its commitment in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .encoding import b64decode, b64encode
from .errors import StrictJsonError
from .hash import sha256
from .jcs import Json, canonicalize, check_canonicalisable, parse_strict_json
from .record import MAX_PAYLOAD_DEPTH, valid_time

COMMITMENT_DOMAIN = b"provlog-commitment/v1\x00"
SALT_LEN = 32
#: Items are read nested at most the payload limit + 2 deep (the payload inside a reveal).
MAX_ITEM_DEPTH = MAX_PAYLOAD_DEPTH + 2


class ItemError(ValueError):
    """An item that is not what its record's kind needs."""


@dataclass(frozen=True)
class Commitment:
    """The one item of a ``commitment`` record."""

    digest: str
    reveal_by: str
    reveal_after: str | None = None

    def as_json(self) -> dict[str, Any]:
        """As provlog-core serialises it."""
        out: dict[str, Any] = {"digest": self.digest}
        if self.reveal_after is not None:
            out["reveal_after"] = self.reveal_after
        out["reveal_by"] = self.reveal_by
        return out


@dataclass(frozen=True)
class Reveal:
    """The one item of a ``reveal`` record: what opens its parent commitment."""

    payload: Json
    salt: str


def _strict_item(data: bytes) -> tuple[dict[str, Any], str]:
    try:
        value = parse_strict_json(data, MAX_ITEM_DEPTH)
    except StrictJsonError as e:
        raise ItemError(str(e)) from None
    if not isinstance(value, dict):
        raise ItemError("an item is a JSON object")
    return value, data.decode("utf-8")


def _fields(value: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    for k in value:
        if k not in required and k not in optional:
            raise ItemError(f"unknown field `{k}`")
    for k in required:
        if k not in value:
            raise ItemError(f"missing field `{k}`")


def _canonical(text: str, item: Json) -> None:
    if canonicalize(item).decode("utf-8") != text:
        raise ItemError("the bytes are valid but not the canonical (RFC 8785) form of the item")


def read_commitment(data: bytes) -> Commitment:
    """Reads a commitment record's item as ``Commitment::from_item``; raises :class:`ItemError`."""
    value, text = _strict_item(data)
    _fields(value, ("digest", "reveal_by"), ("reveal_after",))
    digest = value["digest"]
    raw = b64decode(digest) if isinstance(digest, str) else None
    if raw is None or len(raw) != 32:
        raise ItemError("digest is not base64 of 32 bytes")

    def time(v: Any, k: str) -> str:
        if not isinstance(v, str) or not valid_time(v):
            raise ItemError(f"{k} must be YYYY-MM-DDTHH:MM:SS.sssZ, a real UTC time")
        return v

    after = value.get("reveal_after")
    c = Commitment(digest, time(value["reveal_by"], "reveal_by"),
                   time(after, "reveal_after") if after is not None else None)
    _canonical(text, c.as_json())
    if c.reveal_after is not None and c.reveal_after >= c.reveal_by:
        raise ItemError("invalid commitment.reveal_after: must be before reveal_by")
    return c


def read_reveal(data: bytes) -> Reveal:
    """Reads a reveal record's item as ``Reveal::from_item``; raises :class:`ItemError`."""
    value, text = _strict_item(data)
    _fields(value, ("payload", "salt"))
    if not isinstance(value["salt"], str):
        raise ItemError("salt is not a string")
    _canonical(text, {"payload": value["payload"], "salt": value["salt"]})
    return Reveal(value["payload"], value["salt"])


def commitment_digest(salt: bytes, payload: Json) -> bytes:
    """SHA-256("provlog-commitment/v1" || 0x00 || salt || JCS(payload))."""
    check_canonicalisable(payload)
    return sha256(COMMITMENT_DOMAIN + salt + canonicalize(payload))


def check_reveal(commitment: Commitment, reveal: Reveal, at: str) -> tuple[str, str] | None:
    """Whether ``reveal``, received at ``at``, opens ``commitment`` in its window, in the order of
    ``Commitment::check_reveal``: None, or the failed check's name and a message."""
    salt = b64decode(reveal.salt)
    if salt is None or len(salt) != SALT_LEN:
        return "reveal_does_not_open", f"the salt is not base64 of {SALT_LEN} bytes"
    try:
        found = commitment_digest(salt, reveal.payload)
    except StrictJsonError as e:
        return "reveal_does_not_open", f"the payload: {e}"
    if found != b64decode(commitment.digest):
        return "reveal_does_not_open", (
            f"the payload and salt do not open the commitment (its digest is {commitment.digest}, "
            f"they hash to {b64encode(found)})"
        )
    if commitment.reveal_after is not None and at < commitment.reveal_after:
        return "reveal_outside_window", f"revealed at {at}, before the commitment's reveal_after {commitment.reveal_after}"
    if at >= commitment.reveal_by:
        return "reveal_outside_window", f"revealed at {at}, not before the commitment's reveal_by {commitment.reveal_by}"
    return None
