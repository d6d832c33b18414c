"""Source-key evidence (docs/formats.md, "Source-key evidence (v1)"), checked as provlog-core's
``evidence::verify_source_evidence``: the receipts of the registry records that added (and
retired) a signed record's key, at the record's checkpoint, prove the key was the source's when
it signed. Failures raise :class:`~provlog.errors.VerificationError` with the core's check names
(``unsigned``, ``key_not_registered``, ``format``, ``receipt``, ``wrong_record``,
``wrong_event``, ``key_mismatch``, ``key_registered_later``, ``key_retired_before``,
``proof_of_possession``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from .errors import VerificationError
from .note import VerifierKey
from .receipt import VerifiedReceipt, verify_receipt
from .registry import RegistryEvent, RegistryEventError, Stated, read_registry_event, verify_possession

SOURCE_EVIDENCE_FORMAT_V1 = "provlog-source-evidence/v1"


@dataclass(frozen=True)
class VerifiedKey:
    """The source key a record was signed with, shown to be the source's when it signed."""

    key_id: str
    public_key: str
    added: Stated
    #: Added with a proof of possession (false only for backfilled keys).
    proven: bool
    retired: Stated | None


def _fail(check: str, message: str) -> NoReturn:
    raise VerificationError(check, message)


def _registry_event(
    which: str, receipt: Any, record: VerifiedReceipt, trusted: Sequence[VerifierKey]
) -> tuple[VerifiedReceipt, RegistryEvent]:
    try:
        verified = verify_receipt(receipt, trusted)
    except VerificationError as e:
        _fail("receipt", f"the {which} receipt: {e}")
    a, b = verified.checkpoint, record.checkpoint
    same = (a.origin, a.size, a.root, a.extensions) == (b.origin, b.size, b.root, b.extensions)
    event = None
    if verified.item is not None and verified.item.index == 0:
        try:
            event = read_registry_event(verified.item.data)
        except RegistryEventError:
            event = None
    r = verified.record
    if r.kind != "source" or r.source != record.record.source or r.origin != record.record.origin or not same or event is None:
        _fail("wrong_record", f"the {which} receipt is not of a registry record of source "
                              f'"{record.record.source}" at the record\'s checkpoint')
    return verified, event


def verify_source_evidence(
    record: VerifiedReceipt, evidence: Any, keys: Sequence[VerifierKey]
) -> VerifiedKey:
    """Verifies ``evidence`` (the ``source_evidence`` of ``GET /v1/records/{id}/evidence``)
    for a verified record receipt."""
    sig = record.record.signature
    if sig is None or record.signed_by is None:
        _fail("unsigned", "the record is not signed: there is no source key to establish")
    key_id = sig["key_id"]
    if evidence is None:
        _fail("key_not_registered", f'no evidence for the key "{key_id}": the log has no record registering it for the source')
    members = sorted(evidence) if isinstance(evidence, dict) else []
    if (not isinstance(evidence, dict) or evidence.get("format") != SOURCE_EVIDENCE_FORMAT_V1
            or members not in (["format", "key_added"], ["format", "key_added", "key_retired"])):
        found = evidence.get("format") if isinstance(evidence, dict) else None
        _fail("format", f"unsupported evidence format {found!r} (this verifier reads {SOURCE_EVIDENCE_FORMAT_V1})")

    def wrong_event(which: str, found: RegistryEvent) -> NoReturn:
        what = found["event"] + (f" {found['key_id']}" if "key_id" in found else "")
        _fail("wrong_event", f'the {which} registry record states {what}, not the {which} of key "{key_id}"')

    added, added_event = _registry_event("key-added", evidence["key_added"], record, keys)
    if added_event["event"] != "key-added" or added_event["key_id"] != key_id:
        wrong_event("key-added", added_event)
    if added_event["public_key"] != sig["public_key"]:
        _fail("key_mismatch", f'key "{key_id}" was registered for the source with another public key: '
                              "the record's signing key is not the source's")
    if added.leaf_index >= record.leaf_index:
        _fail("key_registered_later", f'key "{key_id}" was registered at leaf {added.leaf_index}, '
                                      f"after the record (leaf {record.leaf_index})")
    proof = added_event["proof"]
    if proof is not None and not verify_possession(
        record.record.origin, record.record.source, key_id, sig["public_key"], proof
    ):
        _fail("proof_of_possession", f'the proof of possession of key "{key_id}" does not verify')
    retired = None
    if "key_retired" in evidence:
        r, retired_event = _registry_event("key-retired", evidence["key_retired"], record, keys)
        if retired_event["event"] != "key-retired" or retired_event["key_id"] != key_id:
            wrong_event("key-retired", retired_event)
        if r.leaf_index <= record.leaf_index:
            _fail("key_retired_before", f'key "{key_id}" was retired at leaf {r.leaf_index}, '
                                        f"before the record (leaf {record.leaf_index})")
        retired = Stated(r.leaf_index, r.record.received_at)
    return VerifiedKey(key_id, sig["public_key"], Stated(added.leaf_index, added.record.received_at),
                       proof is not None, retired)
