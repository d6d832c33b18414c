"""Receipts (``provlog-receipt/v1``): the checks of provlog-core's ``verify_receipt``, in its
order (docs/formats.md, "Verification, in order"). The first failure raises a
:class:`~provlog.errors.VerificationError` whose ``check`` is the name the core and the golden
vectors give it: ``parse``, ``format``, ``record``, ``record_hash``, ``checkpoint``,
``origin``, ``inclusion``, ``item``, ``anchor``, ``signature``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from .checkpoint import Checkpoint, verify_checkpoint
from .encoding import b64decode, b64_hash
from .errors import CheckpointError, ProofError, StrictJsonError, VerificationError
from .hash import leaf_hash
from .jcs import lone_surrogate_path, parse_strict_json
from .keccak import keccak256
from .log import verify_inclusion
from .note import VerifierKey, parse_verifier_key
from .record import BadSignature, Record, RecordInvalid, parse_record, verify_source_signature

RECEIPT_FORMAT_V1 = "provlog-receipt/v1"
MAX_RECEIPT_BYTES = 4 << 20
_U64 = 1 << 64
_RECEIPT_FIELDS = ("format", "record", "leaf_hash", "leaf_index", "inclusion_proof", "checkpoint")
_ANCHOR_FIELDS = ("chain_id", "contract", "log_id", "tx_hash", "block_number", "block_hash", "tree_size")

Keys = Iterable["VerifierKey | str"]
"""Trusted checkpoint keys: parsed, or as ``name+hexid+base64`` text."""


@dataclass(frozen=True)
class Item:
    """A receipt's snapshot row (or registry event) with its content-tree proof."""

    index: int
    data: str
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class Receipt:
    """A receipt's fields, read as serde reads provlog-core's ``Receipt``."""

    format: str
    record: str
    leaf_hash: bytes
    leaf_index: int
    inclusion_proof: tuple[bytes, ...]
    checkpoint: str
    item: Item | None = None
    anchor: dict[str, Any] | None = None


@dataclass(frozen=True)
class VerifiedItem:
    """A row proven to be in the record's content root."""

    index: int
    data: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a receipt's verification established."""

    record: Record
    leaf_hash: bytes
    leaf_index: int
    checkpoint: Checkpoint
    item: VerifiedItem | None
    #: ``(key_id, public_key)`` of the source signature, when the record carries one (it
    #: verified; whether the key is the source's is source-key evidence's question).
    signed_by: tuple[str, bytes] | None
    #: Checked offline (names this checkpoint and log); whether the chain holds it needs the chain.
    anchor: dict[str, Any] | None


def _parse_fail(message: str) -> NoReturn:
    raise VerificationError("parse", message)


def _exact(o: Any, name: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(o, dict):
        _parse_fail(f"{name} is not an object")
    for k in o:
        if k not in required and k not in optional:
            _parse_fail(f"unknown field `{k}` in {name}")
    for k in required:
        if k not in o:
            _parse_fail(f"missing field `{k}` in {name}")
    return o


def _u64(v: Any, name: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < _U64:
        _parse_fail(f"{name} must be an integer 0..=2^64-1, got {v!r}")
    return v


def _hash(v: Any, name: str) -> bytes:
    h = b64_hash(v)
    if h is None:
        _parse_fail(f"{name} is not base64 of 32 bytes")
    return h


def _string(v: Any, name: str) -> str:
    if not isinstance(v, str):
        _parse_fail(f"{name} is not a string")
    return v


def _hashes(v: Any, name: str) -> tuple[bytes, ...]:
    if not isinstance(v, list):
        _parse_fail(f"{name} is not an array")
    return tuple(_hash(h, f"{name}[{i}]") for i, h in enumerate(v))


def read_anchor(raw: Any) -> dict[str, Any]:
    """Reads an anchor reference as serde reads ``AnchorRef``; raises at ``parse``."""
    a = _exact(raw, "anchor", _ANCHOR_FIELDS, ("block_timestamp",))
    for k in ("chain_id", "block_number", "tree_size"):
        _u64(a[k], f"anchor.{k}")
    if a.get("block_timestamp") is not None:
        _u64(a["block_timestamp"], "anchor.block_timestamp")
    for k in ("contract", "log_id", "tx_hash", "block_hash"):
        _string(a[k], f"anchor.{k}")
    return a


def read_receipt(raw: Any) -> Receipt:
    """Reads a parsed receipt (JSON object) as the core deserialises one; raises at ``parse``.

    Unknown fields are refused and an explicit ``null`` for an optional member is absent.
    """
    r = _exact(raw, "receipt", _RECEIPT_FIELDS, ("item", "anchor"))
    item = None
    if r.get("item") is not None:
        it = _exact(r["item"], "item", ("index", "data", "proof"))
        item = Item(_u64(it["index"], "item.index"), _string(it["data"], "item.data"),
                    _hashes(it["proof"], "item.proof"))
    if lone_surrogate_path(r["record"]) is not None:
        _parse_fail("record is not a string of Unicode scalar values (a lone surrogate)")
    return Receipt(
        format=_string(r["format"], "format"),
        record=_string(r["record"], "record"),
        leaf_hash=_hash(r["leaf_hash"], "leaf_hash"),
        leaf_index=_u64(r["leaf_index"], "leaf_index"),
        inclusion_proof=_hashes(r["inclusion_proof"], "inclusion_proof"),
        checkpoint=_string(r["checkpoint"], "checkpoint"),
        item=item,
        anchor=read_anchor(r["anchor"]) if r.get("anchor") is not None else None,
    )


def parse_receipt(receipt: str | bytes | dict[str, Any] | Receipt) -> Receipt:
    """A receipt from its JSON text, its parsed object, or as is; raises at ``parse``."""
    if isinstance(receipt, Receipt):
        return receipt
    if isinstance(receipt, (str, bytes)):
        size = len(receipt.encode("utf-8", "surrogatepass") if isinstance(receipt, str) else receipt)
        if size > MAX_RECEIPT_BYTES:
            _parse_fail(f"receipt is larger than {MAX_RECEIPT_BYTES} bytes")
        try:
            receipt = parse_strict_json(receipt, strict_numbers=False)
        except StrictJsonError as e:
            _parse_fail(str(e))
    return read_receipt(receipt)


def trusted_keys(keys: Keys) -> list[VerifierKey]:
    """Trusted keys, parsing any given as text."""
    return [k if isinstance(k, VerifierKey) else parse_verifier_key(k) for k in keys]


def anchor_log_id(origin: str) -> str:
    """``0x`` + hex keccak256(origin): the anchor contract's id of a log."""
    return "0x" + keccak256(origin.encode()).hex()


def _is_hex(s: str, digits: int) -> bool:
    return re.fullmatch(f"0x[0-9a-fA-F]{{{digits}}}", s) is not None


def check_anchor(anchor: dict[str, Any], cp: Checkpoint) -> None:
    """The offline checks of an anchor: it names this checkpoint's size and log, in
    well-formed fields; raises at ``anchor``."""
    def fail(message: str) -> NoReturn:
        raise VerificationError("anchor", message)

    if anchor["tree_size"] != cp.size:
        fail(f"receipt anchors tree size {anchor['tree_size']}, its checkpoint has size {cp.size}")
    expected = anchor_log_id(cp.origin)
    if anchor["log_id"].lower() != expected:
        fail(f"log_id {anchor['log_id']} is not keccak256 of the origin {cp.origin!r} ({expected})")
    for k, digits in (("contract", 40), ("tx_hash", 64), ("block_hash", 64)):
        if not _is_hex(anchor[k], digits):
            fail(f"{k} {anchor[k]!r} is not 0x and {digits} hex digits")
    if anchor["chain_id"] == 0:
        fail("chain_id 0")


def _verify_item(record: Record, item: Item) -> VerifiedItem:
    # A registry record's one item is its event, provable like a snapshot row.
    if record.kind not in ("snapshot", "source"):
        raise VerificationError(
            "item", f"only snapshot records have provable items, this one is a {record.kind}"
        )
    data = b64decode(item.data)
    if data is None:
        raise VerificationError("item", "data is not base64")
    leaf = leaf_hash(data)
    try:
        verify_inclusion(item.index, record.content["items"], leaf, item.proof, record.content_root)
    except ProofError as e:
        raise VerificationError("item", f"item proof: {e}") from None
    return VerifiedItem(item.index, data, leaf)


def verify_receipt(
    receipt: str | bytes | dict[str, Any] | Receipt, keys: Keys
) -> VerifiedReceipt:
    """Verifies a receipt against trusted checkpoint keys, offline.

    Raises :class:`~provlog.errors.VerificationError` naming the first check that fails.
    """
    trusted = trusted_keys(keys)
    r = parse_receipt(receipt)
    if r.format != RECEIPT_FORMAT_V1:
        raise VerificationError(
            "format",
            f'unsupported receipt format "{r.format}" (this verifier reads "{RECEIPT_FORMAT_V1}")',
        )
    try:
        record = parse_record(r.record)
    except RecordInvalid as e:
        raise VerificationError("record", str(e)) from None
    computed = leaf_hash(r.record.encode("utf-8", "surrogatepass"))
    if computed != r.leaf_hash:
        raise VerificationError(
            "record_hash",
            f"receipt says {r.leaf_hash.hex()}, the record hashes to {computed.hex()}",
        )
    try:
        cp = verify_checkpoint(r.checkpoint, trusted)
    except CheckpointError as e:
        raise VerificationError("checkpoint", str(e)) from None
    if cp.origin != record.origin:
        raise VerificationError(
            "origin",
            f'record is for log "{record.origin}", checkpoint for "{cp.origin}"',
        )
    try:
        verify_inclusion(r.leaf_index, cp.size, computed, r.inclusion_proof, cp.root)
    except ProofError as e:
        raise VerificationError("inclusion", str(e)) from None
    item = _verify_item(record, r.item) if r.item is not None else None
    if r.anchor is not None:
        check_anchor(r.anchor, cp)
    try:
        signed_by = verify_source_signature(record)
    except BadSignature as e:
        raise VerificationError("signature", str(e)) from None
    return VerifiedReceipt(record, computed, r.leaf_index, cp, item, signed_by, r.anchor)
