"""Records, formats v1 and v2 (docs/formats.md, "Records"), read as provlog-core's
``Record::from_canonical_bytes`` reads them: strict JSON, known fields only, the field rules,
and exactly the record's own RFC 8785 form. Also the message a source signs, and its check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

from .ed25519 import verify_strict
from .encoding import b64decode
from .errors import StrictJsonError
from .jcs import canonicalize, nesting_depth, parse_strict_json

KINDS = ("signal", "snapshot", "digest", "source", "close", "commitment", "reveal", "outcome")
V2_ONLY = ("close", "commitment", "reveal", "outcome")
MAX_METADATA_DEPTH = 8
MAX_PAYLOAD_DEPTH = 64
MAX_METADATA_BYTES = 4096
MAX_SAFE = 2**53 - 1
SIGNATURE_CONTEXT = b"provlog source signature v1\n"

_ORIGIN = re.compile(r"[\x21-\x2a\x2c-\x7e]{1,255}")
SOURCE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_MEDIA_PART = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_MEDIA = re.compile(f"{_MEDIA_PART}/{_MEDIA_PART}")
KEY_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class RecordInvalid(ValueError):
    """Record bytes that are not a valid record in canonical form."""


class BadSignature(ValueError):
    """A record's source signature that does not verify."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f'the source signature by key "{key_id}" does not verify')
        self.key_id = key_id


@dataclass(frozen=True)
class Record:
    """A parsed record. ``fields`` is the record as JSON; the properties read it."""

    fields: dict[str, Any]
    text: str

    @property
    def v(self) -> int:
        return int(self.fields["v"])

    @property
    def origin(self) -> str:
        return str(self.fields["origin"])

    @property
    def source(self) -> str:
        return str(self.fields["source"])

    @property
    def kind(self) -> str:
        return str(self.fields["kind"])

    @property
    def content(self) -> dict[str, Any]:
        return dict(self.fields["content"])

    @property
    def content_root(self) -> bytes:
        root = b64decode(self.fields["content"]["root"])
        assert root is not None
        return root

    @property
    def parents(self) -> list[str]:
        return list(self.fields["parents"])

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.fields["metadata"])

    @property
    def received_at(self) -> str:
        return str(self.fields["received_at"])

    @property
    def seq(self) -> int | None:
        return self.fields.get("seq")

    @property
    def prev(self) -> str | None:
        return self.fields.get("prev")

    @property
    def signature(self) -> dict[str, Any] | None:
        return self.fields.get("signature")


def is_one_json_item(kind: str) -> bool:
    """``Kind::is_one_json_item``: content that is one JSON value (item 0)."""
    return kind not in ("snapshot", "digest")


def _bad(field: str, reason: str) -> NoReturn:
    raise RecordInvalid(f"invalid {field}: {reason}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _fields(v: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(v, dict):
        _bad(where, "must be an object")
    for k in required:
        if k not in v:
            _bad(where, f"missing field {k}")
    for k in v:
        if k not in required and k not in optional:
            _bad(where, f"unknown field {k}")
    return v


def _str(v: Any, field: str, ok: bool | None, reason: str) -> str:
    if not isinstance(v, str) or not ok:
        _bad(field, reason)
    return v


def _match(rx: re.Pattern[str], v: Any) -> bool:
    return isinstance(v, str) and rx.fullmatch(v) is not None


def _b64_of(n: int, v: Any) -> bool:
    raw = b64decode(v) if isinstance(v, str) else None
    return raw is not None and len(raw) == n


def _uint(v: Any, field: str, lo: int) -> int:
    if not _is_int(v) or not lo <= v <= MAX_SAFE:
        _bad(field, f"must be {lo}..=2^53-1")
    return int(v)


def valid_time(s: str) -> bool:
    """A record time ``YYYY-MM-DDTHH:MM:SS.sssZ`` that is a real UTC time."""
    m = _TIME.fullmatch(s)
    if not m:
        return False
    y, mo, d, h, mi, se = (int(g) for g in m.groups()[:6])
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    if not 1 <= mo <= 12:
        return False
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
    return 1 <= d <= days and h < 24 and mi < 60 and se < 60


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


def _check_chain(v: int, kind: str, seq: int | None, has_prev: bool) -> None:
    if v == 1:
        if seq is not None or has_prev:
            _bad("seq", "format v1 has no seq or prev (they are v2)")
        if kind in V2_ONLY:
            _bad("kind", f"{kind} records are format v2")
        return
    if seq is None:
        _bad("seq", "required in format v2")
    if seq == 0 and has_prev:
        _bad("prev", "a source's first record (seq 0) has no prev")
    if seq > 0 and not has_prev:
        _bad("prev", "required when seq > 0")


def _check_content(kind: str, content: Any) -> None:
    c = _fields(content, "content", ("alg", "root", "items", "media_type"))
    alg = _str(c["alg"], "content.alg", c["alg"] in ("rfc9162-sha256", "sha256"), "unknown algorithm")
    _str(c["root"], "content.root", _b64_of(32, c["root"]), "must be base64 of 32 bytes")
    items = _uint(c["items"], "content.items", 1)
    media = _str(c["media_type"], "content.media_type", _match(_MEDIA, c["media_type"]), "must be type/subtype in lower case")
    if kind != "digest" and alg == "sha256":
        _bad("content.alg", f"{kind} content uses rfc9162-sha256")
    if is_one_json_item(kind) and items != 1:
        _bad("content.items", f"a {kind} is exactly one item")
    if is_one_json_item(kind) and media != "application/json":
        _bad("content.media_type", f"a {kind} is application/json")
    if kind == "digest" and alg == "sha256" and items != 1:
        _bad("content.items", "a sha256 digest covers exactly one item")


def _check_parents(kind: str, parents: Any) -> None:
    if not isinstance(parents, list):
        _bad("parents", "must be an array")
    if len(parents) > 64:
        _bad("parents", "at most 64")
    if kind == "reveal" and len(parents) != 1:
        _bad("parents", "a reveal names exactly one parent: its commitment")
    if kind == "outcome" and len(parents) != 1:
        _bad("parents", "an outcome names exactly one parent: the record it is the outcome of")
    for p in parents:
        _str(p, "parents", _b64_of(32, p), "must be base64 leaf hashes")
    if len(set(parents)) != len(parents):
        _bad("parents", "a parent is listed twice")


def _check_metadata(metadata: Any) -> None:
    if not isinstance(metadata, dict):
        _bad("metadata", "must be an object")
    depth = nesting_depth(metadata)
    if depth > MAX_METADATA_DEPTH:
        raise RecordInvalid(f"metadata nests {depth} deep, the limit is {MAX_METADATA_DEPTH}")
    size = len(canonicalize(metadata))
    if size > MAX_METADATA_BYTES:
        raise RecordInvalid(
            f"metadata is {size} bytes in canonical form, the limit is {MAX_METADATA_BYTES}"
        )


def _check_quality(quality: Any) -> None:
    if not isinstance(quality, list) or not quality:
        _bad("quality", "omitted when empty")
    if len(quality) > 64:
        _bad("quality", "at most 64 checks")
    for q in quality:
        o = _fields(q, "quality", ("check", "passed"), ("detail",))
        check = o["check"]
        _str(check, "quality.check",
             isinstance(check, str) and 1 <= _utf8_len(check) <= 128 and not _CONTROL.search(check),
             "must be 1..=128 bytes without control characters")
        if not isinstance(o["passed"], bool):
            _bad("quality.passed", "must be a boolean")
        if "detail" in o:
            d = o["detail"]
            _str(d, "quality.detail", isinstance(d, str) and _utf8_len(d) <= 1024, "at most 1024 bytes")


def _check_signature(sig: Any) -> None:
    s = _fields(sig, "signature", ("alg", "key_id", "public_key", "nonce", "created", "sig"))
    _str(s["alg"], "signature.alg", s["alg"] == "ed25519", "only ed25519")
    _str(s["key_id"], "signature.key_id", _match(KEY_ID, s["key_id"]), "must be 1..=64 characters of [A-Za-z0-9._:-]")
    _str(s["public_key"], "signature.public_key", _b64_of(32, s["public_key"]), "must be base64 of 32 bytes")
    _str(s["nonce"], "signature.nonce", _match(_NONCE, s["nonce"]), "must be 16..=128 characters of [A-Za-z0-9_-]")
    _uint(s["created"], "signature.created", 0)
    _str(s["sig"], "signature.sig", _b64_of(64, s["sig"]), "must be base64 of 64 bytes")


def parse_record(data: str | bytes) -> Record:
    """Parses record bytes as ``Record::from_canonical_bytes``; raises :class:`RecordInvalid`."""
    text = data.decode("utf-8", "surrogatepass") if isinstance(data, bytes) else data
    try:
        value = parse_strict_json(data)
    except StrictJsonError as e:
        raise RecordInvalid(str(e)) from None
    if not isinstance(value, dict):
        raise RecordInvalid("a record is a JSON object")
    v = value.get("v")
    if not _is_int(v) or v not in (1, 2):
        raise RecordInvalid(f"unsupported record version {v!r}; this code reads versions 1 and 2")
    r = _fields(
        value, "record",
        ("v", "origin", "source", "kind", "content", "parents", "metadata", "received_at"),
        ("prev", "quality", "seq", "signature"),
    )
    _str(r["origin"], "origin", _match(_ORIGIN, r["origin"]), "must be 1..=255 bytes of printable ASCII without spaces or '+'")
    _str(r["source"], "source", _match(SOURCE, r["source"]), "must be 1..=64 characters of [a-z0-9._-], starting with a letter or digit")
    kind = _str(r["kind"], "kind", r["kind"] in KINDS, "unknown kind")
    _check_content(kind, r["content"])
    seq = _uint(r["seq"], "seq", 0) if "seq" in r else None
    if "prev" in r:
        _str(r["prev"], "prev", _b64_of(32, r["prev"]), "must be base64 of 32 bytes")
    _check_chain(v, kind, seq, "prev" in r)
    _check_parents(kind, r["parents"])
    _check_metadata(r["metadata"])
    _str(r["received_at"], "received_at", isinstance(r["received_at"], str) and valid_time(r["received_at"]),
         "must be YYYY-MM-DDTHH:MM:SS.sssZ, a real UTC time")
    if "quality" in r:
        _check_quality(r["quality"])
    if "signature" in r:
        _check_signature(r["signature"])
    try:
        canonical = canonicalize(r)
    except StrictJsonError as e:
        raise RecordInvalid(str(e)) from None
    if canonical != text.encode("utf-8", "surrogatepass"):
        raise RecordInvalid("the bytes are valid but not the canonical (RFC 8785) form of the record")
    return Record(r, text)


def signed_message(record: Record) -> bytes:
    """The message a source signs: the context line, then the JCS statement."""
    s = record.signature
    assert s is not None
    statement = {
        "content": record.fields["content"],
        "created": s["created"],
        "key_id": s["key_id"],
        "kind": record.kind,
        "metadata": record.fields["metadata"],
        "nonce": s["nonce"],
        "parents": record.fields["parents"],
        "source": record.source,
    }
    return SIGNATURE_CONTEXT + canonicalize(statement)


def verify_source_signature(record: Record) -> tuple[str, bytes] | None:
    """Checks the record's source signature, if any: ``(key_id, public_key)`` or None.

    Raises :class:`BadSignature` when it does not verify (whose key it is, is not checked).
    """
    s = record.signature
    if s is None:
        return None
    key = b64decode(s["public_key"])
    sig = b64decode(s["sig"])
    assert key is not None and sig is not None
    if not verify_strict(key, signed_message(record), sig):
        raise BadSignature(s["key_id"])
    return s["key_id"], key
