"""Strict base64 (as provlog-core's engine reads it) and hex helpers."""

from __future__ import annotations

import base64
import binascii
import re

_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def b64decode(text: str) -> bytes | None:
    """Standard padded base64, refusing non-canonical text (bad padding or padding bits)."""
    if not isinstance(text, str) or len(text) % 4 or not _B64.fullmatch(text):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode() == text else None


def b64encode(data: bytes) -> str:
    """Standard padded base64."""
    return base64.b64encode(data).decode()


def b64_hash(text: object) -> bytes | None:
    """A base64 SHA-256 hash (32 bytes), or None."""
    raw = b64decode(text) if isinstance(text, str) else None
    return raw if raw is not None and len(raw) == 32 else None
