"""Track records (``provlog-track-record/v1``, docs/formats.md "Track records" and
docs/track-records.md), checked as provlog-core's ``track_record::verify_track_record``: a
source's records over a window, with the records just before and after it, at one signed
checkpoint, whose v2 chain runs unbroken; commitments and reveals; the scoring declaration; and
the outcome source's records, verified as a bundle of their own. Failures raise
:class:`~provlog.errors.VerificationError` with the core's ``TrackRecordError::check`` names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .commitment import Commitment, ItemError, check_reveal, read_commitment, read_reveal
from .encoding import b64decode, b64encode
from .errors import StrictJsonError, VerificationError
from .evidence import VerifiedKey, verify_source_evidence
from .hash import leaf_hash
from .jcs import Json, lone_surrogate_path, parse_strict_json
from .checkpoint import Checkpoint
from .note import VerifierKey
from .receipt import Keys, VerifiedReceipt, read_anchor, read_receipt, trusted_keys, verify_receipt
from .record import SOURCE, Record, is_one_json_item, valid_time
from .registry import RegistryEventError, read_registry_event
from .score import ScoringSpec

TRACK_RECORD_FORMAT_V1 = "provlog-track-record/v1"
_U64 = 1 << 64

# A receipt failure, named by what it says about the bundle (the core's error_check).
_RECEIPT_CHECKS = {
    "checkpoint": "checkpoint_signature",
    "origin": "origin_mismatch",
    "inclusion": "inclusion",
    "record": "record",
    "signature": "record",
    "anchor": "anchor",
}


def _fail(check: str, message: str) -> NoReturn:
    raise VerificationError(check, message)


# ---------------------------------------------------------------------------------------------
# Reading the bundle as serde reads provlog-core's TrackRecord: every shape error is "parse".


@dataclass(frozen=True)
class Window:
    """Records received in ``[since, until)`` and numbered ``from_seq..=to_seq``."""

    since: str | None = None
    until: str | None = None
    from_seq: int | None = None
    to_seq: int | None = None

    def contains(self, seq: int, at: str) -> bool:
        """Whether a record received at ``at`` with number ``seq`` belongs to the window."""
        return ((self.since is None or at >= self.since) and (self.until is None or at < self.until)
                and (self.from_seq is None or seq >= self.from_seq)
                and (self.to_seq is None or seq <= self.to_seq))


@dataclass(frozen=True)
class Entry:
    """One record of a bundle, with its inclusion proof and (base64) item."""

    leaf_index: int
    record: str
    inclusion_proof: list[str]
    item: str | None


@dataclass
class Bundle:
    """A track-record bundle's fields."""

    format: str
    source: str
    window: Window
    checkpoint: str
    records: list[Entry]
    before: Entry | None
    after: Entry
    commitments: list[Entry]
    evidence: dict[str, Any]
    anchor: dict[str, Any] | None
    scoring: Entry | None
    outcomes: Bundle | None


def _parse_fail(message: str) -> NoReturn:
    _fail("parse", f"bundle is not valid JSON of the track-record format: {message}")


def _exact(o: Any, name: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(o, dict):
        _parse_fail(f"{name} is not an object")
    for k in o:
        if k not in required and k not in optional:
            _parse_fail(f"unknown field {k} in {name}")
    for k in required:
        if k not in o:
            _parse_fail(f"missing field {k} in {name}")
    return o


def _u64(v: Any, name: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < _U64:
        _parse_fail(f"{name} must be an integer 0..=2^64-1")
    return v


def _shape(read: Callable[[Any], Any], v: Any, name: str) -> Any:
    try:
        return read(v)
    except VerificationError as e:
        _parse_fail(f"{name}: {e}")


def _entry(v: Any, name: str) -> Entry:
    e = _exact(v, name, ("leaf_index", "record", "inclusion_proof"), ("item",))
    if not isinstance(e["record"], str):
        _parse_fail(f"{name}.record is not a string")
    leaf = _u64(e["leaf_index"], f"{name}.leaf_index")
    proof = e["inclusion_proof"]
    if not isinstance(proof, list):
        _parse_fail(f"{name}.inclusion_proof is not an array")
    for i, h in enumerate(proof):
        raw = b64decode(h) if isinstance(h, str) else None
        if raw is None or len(raw) != 32:
            _parse_fail(f"{name}.inclusion_proof[{i}] is not base64 of 32 bytes")
    item = e.get("item")
    if item is not None and not isinstance(item, str):
        _parse_fail(f"{name}.item is not a string")
    return Entry(leaf, e["record"], proof, item)


def _window(v: Any) -> Window:
    w = _exact(v, "window", (), ("since", "until", "from_seq", "to_seq"))
    times = {}
    for k in ("since", "until"):
        t = w.get(k)
        if t is not None and (not isinstance(t, str) or not valid_time(t)):
            _parse_fail(f"window.{k} must be YYYY-MM-DDTHH:MM:SS.sssZ, a real UTC time")
        times[k] = t
    seqs = {k: _u64(w[k], f"window.{k}") if w.get(k) is not None else None for k in ("from_seq", "to_seq")}
    return Window(times["since"], times["until"], seqs["from_seq"], seqs["to_seq"])


def _bundle(raw: Any, name: str) -> Bundle:
    b = _exact(raw, name, ("format", "source", "window", "checkpoint", "records", "after"),
               ("before", "commitments", "evidence", "anchor", "scoring", "outcomes"))
    if not isinstance(b["format"], str):
        _parse_fail("format is not a string")
    if not isinstance(b["source"], str) or not SOURCE.fullmatch(b["source"]):
        _parse_fail("source must be 1..=64 characters of [a-z0-9._-], starting with a letter or digit")
    if not isinstance(b["checkpoint"], str):
        _parse_fail("checkpoint is not a string")
    if not isinstance(b["records"], list):
        _parse_fail("records is not an array")
    commitments = b.get("commitments", [])
    if not isinstance(commitments, list):
        _parse_fail("commitments is not an array")
    evidence: dict[str, Any] = {}
    if "evidence" in b:
        if not isinstance(b["evidence"], dict):
            _parse_fail("evidence is not an object")
        for key_id, ev in b["evidence"].items():
            where = f"evidence[{key_id!r}]"
            f = _exact(ev, where, ("format", "key_added"), ("key_retired",))
            if not isinstance(f["format"], str):
                _parse_fail(f"{where}.format is not a string")
            _shape(read_receipt, f["key_added"], f"{where}.key_added")
            normal = {"format": f["format"], "key_added": f["key_added"]}
            if f.get("key_retired") is not None:
                _shape(read_receipt, f["key_retired"], f"{where}.key_retired")
                normal["key_retired"] = f["key_retired"]
            evidence[key_id] = normal
    return Bundle(
        format=b["format"], source=b["source"], window=_window(b["window"]),
        checkpoint=b["checkpoint"],
        records=[_entry(e, f"records[{i}]") for i, e in enumerate(b["records"])],
        before=_entry(b["before"], "before") if b.get("before") is not None else None,
        after=_entry(b["after"], "after"),
        commitments=[_entry(e, f"commitments[{i}]") for i, e in enumerate(commitments)],
        evidence=evidence,
        anchor=_shape(read_anchor, b["anchor"], "anchor") if b.get("anchor") is not None else None,
        scoring=_entry(b["scoring"], "scoring") if b.get("scoring") is not None else None,
        outcomes=_bundle(b["outcomes"], "outcomes") if b.get("outcomes") is not None else None,
    )


def read_bundle(data: str | bytes | dict[str, Any]) -> Bundle:
    """Reads a bundle from its JSON text or parsed JSON; raises at ``parse``."""
    raw: Any = data
    if isinstance(data, (str, bytes)):
        try:
            raw = parse_strict_json(data, strict_numbers=False)
        except StrictJsonError as e:
            _parse_fail(str(e))
    elif lone_surrogate_path(raw) is not None:
        _parse_fail("a lone surrogate")
    return _bundle(raw, "bundle")


# ---------------------------------------------------------------------------------------------
# Verification


@dataclass
class _Link:
    at: str
    receipt: VerifiedReceipt
    item: bytes | None


@dataclass(frozen=True)
class VerifiedEntry:
    """A record of the window, verified, with its item and its signing key's evidence."""

    leaf_index: int
    leaf_hash: bytes
    seq: int
    record: Record
    receipt: VerifiedReceipt
    item: bytes | None
    key: VerifiedKey | None


@dataclass(frozen=True)
class Declared:
    """The registry record that declared the bundle's scoring spec."""

    spec: ScoringSpec
    seq: int
    leaf_index: int
    at: str


@dataclass
class CommitmentState:
    """What became of a commitment of the window: ``revealed``, ``pending`` or
    ``expired_unrevealed``; for revealed ones, the reveal's seq, time and payload."""

    seq: int
    leaf_index: int
    commitment: Commitment
    status: str
    reveal: tuple[int, str, Json] | None = None


@dataclass(frozen=True)
class VerifiedTrackRecord:
    """What a bundle's verification established."""

    source: str
    window: Window
    checkpoint: Checkpoint
    records: list[VerifiedEntry]
    first_seq: int
    span: tuple[str, str] | None
    complete_until: str
    closed: bool
    commitments: list[CommitmentState]
    anchor: dict[str, Any] | None
    scoring: Declared | None
    outcomes: VerifiedTrackRecord | None
    #: Missing sequence numbers: 0 in every verified bundle, by construction.
    gaps: int = 0

    @property
    def count(self) -> int:
        """The number of records in the window."""
        return len(self.records)


def _describe_window(i: int) -> str:
    return f"record {i} of the window"


def _scoring_error(at: str) -> VerificationError:
    return VerificationError("scoring", f"{at}: not a scoring declaration of the source before the window's end, or a second one")


def _item_error(at: str, reason: str) -> VerificationError:
    return VerificationError("item", f"{at}: its item is missing or is not the record's content ({reason})")


def _item_of(at: str, record: Record, item: str | None) -> bytes | None:
    required = record.kind in ("commitment", "reveal", "source", "outcome")
    if item is None:
        if required:
            raise _item_error(at, "absent")
        return None
    if not is_one_json_item(record.kind):
        raise _item_error(at, "a bundle carries no items of snapshots and digests")
    data = b64decode(item)
    if data is None:
        raise _item_error(at, "not base64")
    if leaf_hash(data) != record.content_root:
        raise _item_error(at, "its leaf hash is not content.root")
    return data


class _Verifier:
    def __init__(self, bundle: Bundle, trusted: Sequence[VerifierKey]) -> None:
        self.bundle, self.trusted = bundle, trusted

    def link(self, at: str, entry: Entry) -> _Link:
        b = self.bundle
        receipt: dict[str, Any] = {
            "format": "provlog-receipt/v1",
            "record": entry.record,
            "leaf_hash": b64encode(leaf_hash(entry.record.encode("utf-8", "surrogatepass"))),
            "leaf_index": entry.leaf_index,
            "inclusion_proof": entry.inclusion_proof,
            "checkpoint": b.checkpoint,
        }
        if b.anchor is not None:
            receipt["anchor"] = b.anchor
        try:
            verified = verify_receipt(receipt, self.trusted)
        except VerificationError as e:
            _fail(_RECEIPT_CHECKS.get(e.check, "receipt"), f"{at}: {e}")
        if verified.record.source != b.source:
            _fail("wrong_source", f'{at} is of source "{verified.record.source}", not "{b.source}"')
        return _Link(at, verified, _item_of(at, verified.record, entry.item))


def _check_chain(before: _Link | None, links: list[_Link]) -> int | None:
    previous, first_seq = before, None
    for link in links:
        r = link.receipt.record
        at = link.at
        if r.v != 2 or r.seq is None:
            _fail("unchained", f"{at} is a format v1 record, without the source's chain")
        seq = r.seq
        if previous is None and (seq != 0 or r.prev is not None):
            _fail("missing_before", "the window does not start at the source's first record and the bundle has no record before it")
        p = previous.receipt if previous else None
        # A v1 record before the window: the link is its leaf hash alone.
        expected_seq = 0 if p is None else (p.record.seq + 1 if p.record.seq is not None else seq)
        if seq != expected_seq:
            _fail("seq_gap", f"{at} has sequence number {seq}; the chain needs {expected_seq}: a record is missing or out of order")
        expected_prev = b64encode(p.leaf_hash) if p else None
        if r.prev != expected_prev:
            _fail("prev_mismatch", f"{at} does not link to the record before it (prev {r.prev or 'none'}, "
                                   f"expected {expected_prev or 'none'}): a record was removed, replaced or reordered")
        if p is not None:
            if link.receipt.leaf_index <= p.leaf_index:
                _fail("leaf_order", f"{at} is at leaf {link.receipt.leaf_index}, not after leaf {p.leaf_index}")
            if r.received_at < p.record.received_at:
                _fail("time_order", f"{at} was received at {r.received_at}, before the record ahead of it in the chain ({p.record.received_at})")
        if first_seq is None:
            first_seq = seq
        previous = link
    return first_seq


def _check_window(window: Window, records: list[_Link], before: _Link | None, after: _Link) -> None:
    for link in records:
        r = link.receipt.record
        seq = r.seq or 0
        if not window.contains(seq, r.received_at):
            _fail("outside_window", f"{link.at} (seq {seq}, received {r.received_at}) is outside the window")
    open_ended = window.until is None and window.to_seq is None
    for boundary in ([before] if before else []) + [after]:
        r = boundary.receipt.record
        if r.seq is None:
            continue
        closes = open_ended and boundary is after and r.kind == "close"
        if window.contains(r.seq, r.received_at) and not closes:
            _fail("window_cut_short", f"{boundary.at} (seq {r.seq}, received {r.received_at}) belongs to the window: the window was cut short")


def _read_item(at: str, read: Callable[[bytes], Any], data: bytes) -> Any:
    try:
        return read(data)
    except ItemError as e:
        raise _item_error(at, str(e)) from None


def _commitment_states(v: _Verifier, records: list[_Link], complete_until: str) -> list[CommitmentState]:
    first = records[0].receipt.record.seq if records else None
    first_seq = first if first is not None else math.inf
    known: dict[bytes, list[Any]] = {}  # leaf hash -> [commitment, revealed]
    for index, entry in enumerate(v.bundle.commitments):
        at = f"commitment {index} of the bundle"
        link = v.link(at, entry)
        r = link.receipt.record
        earlier = r.seq is not None and r.seq < first_seq
        if link.item is None or r.kind != "commitment" or not earlier:
            _fail("not_a_commitment", f"{at} is not a commitment record of the source from before the window")
        known[link.receipt.leaf_hash] = [_read_item(at, read_commitment, link.item), False]
    states: list[CommitmentState] = []
    in_window: dict[bytes, int] = {}
    for link in records:
        r, item, at = link.receipt.record, link.item, link.at
        if item is None:
            continue
        if r.kind == "commitment":
            c = _read_item(at, read_commitment, item)
            in_window[link.receipt.leaf_hash] = len(states)
            known[link.receipt.leaf_hash] = [c, False]
            states.append(CommitmentState(r.seq or 0, link.receipt.leaf_index, c, "pending"))
        elif r.kind == "reveal":
            reveal = _read_item(at, read_reveal, item)
            parent = b64decode(r.parents[0])
            opened = known.get(parent) if parent is not None else None
            if opened is None:
                _fail("commitment_missing", f"{at} reveals a commitment that is neither in the window nor among the bundle's commitments")
            if opened[1]:
                _fail("second_reveal", f"{at} reveals a commitment revealed before")
            failure = check_reveal(opened[0], reveal, r.received_at)
            if failure:
                _fail(failure[0], f"{at}: {failure[1]}")
            opened[1] = True
            if parent is not None and (i := in_window.get(parent)) is not None:
                states[i].status = "revealed"
                states[i].reveal = (r.seq or 0, r.received_at, reveal.payload)
    for s in states:
        if s.status == "pending" and s.commitment.reveal_by <= complete_until:
            s.status = "expired_unrevealed"
    return states


def _scoring_event(link: _Link) -> ScoringSpec | None:
    if link.receipt.record.kind != "source":
        return None
    try:
        event = read_registry_event(link.item or b"")
    except RegistryEventError as e:
        raise _item_error(link.at, str(e)) from None
    return event["spec"] if event["event"] == "scoring-declared" else None


def _declaration(v: _Verifier, records: list[_Link], after: _Link) -> Declared | None:
    in_window = None
    for link in records:
        if _scoring_event(link) is not None:
            if in_window is not None:
                raise _scoring_error(link.at)
            in_window = link.receipt.leaf_index
    b = v.bundle
    if b.scoring is None:
        if in_window is not None or b.outcomes is not None:
            _fail("scoring_missing", "the window holds a scoring declaration the bundle does not name")
        return None
    at = "the scoring declaration"
    link = v.link(at, b.scoring)
    spec = _scoring_event(link)
    if spec is None:
        raise _scoring_error(at)
    r = link.receipt.record
    if r.seq is None:
        _fail("unchained", f"{at} is a format v1 record, without the source's chain")
    first = records[0].receipt.record.seq if records else None
    last = records[-1].receipt.record.seq if records else None
    other_in_window = in_window is not None and in_window != link.receipt.leaf_index
    inside = first is not None and last is not None and first <= r.seq <= last
    if link.receipt.leaf_index >= after.receipt.leaf_index or other_in_window or (inside and in_window is None):
        raise _scoring_error(at)
    return Declared(spec, r.seq, link.receipt.leaf_index, r.received_at)


def _outcomes(b: Bundle, trusted: Sequence[VerifierKey], declared: Declared | None,
              entries: list[VerifiedEntry]) -> VerifiedTrackRecord | None:
    if declared is None:
        return None
    first_scored = next((e for e in entries if e.record.kind in ("signal", "commitment") and e.seq > declared.seq), None)
    o = b.outcomes
    if o is None:
        if first_scored is not None:
            _fail("outcomes_missing", "the bundle has a scoring declaration but not its outcome source's records")
        return None
    expected = declared.spec.get("outcome_source", b.source)
    if o.source != expected:
        _fail("outcomes_source", f'the outcomes are of source "{o.source}", not "{expected}" as the spec declares')
    if o.checkpoint != b.checkpoint:
        _fail("outcomes_checkpoint", "the outcomes are not at the bundle's checkpoint")
    reaches_back = o.before.leaf_index < first_scored.leaf_index if o.before and first_scored else True
    if o.window.until is not None or o.window.to_seq is not None or not reaches_back:
        _fail("outcomes_cut_short", "the outcomes do not reach back to the first scored record or forward to the checkpoint: some could be missing")
    try:
        return _verify_bundle(o, trusted, scored=False)
    except VerificationError as e:
        raise VerificationError(e.check, f"the outcomes' bundle: {e.message}") from None


def _verify_bundle(b: Bundle, trusted: Sequence[VerifierKey], scored: bool) -> VerifiedTrackRecord:
    if b.format != TRACK_RECORD_FORMAT_V1:
        _fail("format", f'unsupported bundle format "{b.format}" (this verifier reads "{TRACK_RECORD_FORMAT_V1}")')
    v = _Verifier(b, trusted)
    before = v.link("the record before the window", b.before) if b.before else None
    records = [v.link(_describe_window(i), e) for i, e in enumerate(b.records)]
    after = v.link("the record after the window", b.after)
    first_seq = _check_chain(before, records + [after])
    _check_window(b.window, records, before, after)
    complete_until = after.receipt.record.received_at
    commitments = _commitment_states(v, records, complete_until)
    scoring = None
    if scored:
        scoring = _declaration(v, records, after)
    elif b.scoring is not None or b.outcomes is not None:
        raise _scoring_error("the scoring declaration")
    entries = []
    for link in records:
        receipt, key = link.receipt, None
        if receipt.signed_by is not None:
            key_id = receipt.signed_by[0]
            try:
                key = verify_source_evidence(receipt, b.evidence.get(key_id), trusted)
            except VerificationError as e:
                _fail("source_key_evidence", f'key "{key_id}" signed {link.at}: {e}')
        entries.append(VerifiedEntry(receipt.leaf_index, receipt.leaf_hash, receipt.record.seq or 0,
                                     receipt.record, receipt, link.item, key))
    outcomes = _outcomes(b, trusted, scoring, entries)
    span = (entries[0].record.received_at, entries[-1].record.received_at) if entries else None
    return VerifiedTrackRecord(
        source=b.source, window=b.window, checkpoint=after.receipt.checkpoint, records=entries,
        first_seq=first_seq or 0, span=span, complete_until=complete_until,
        closed=after.receipt.record.kind == "close", commitments=commitments,
        anchor=after.receipt.anchor, scoring=scoring, outcomes=outcomes,
    )


def verify_track_record(bundle: str | bytes | dict[str, Any], keys: Keys) -> VerifiedTrackRecord:
    """Verifies a track-record bundle offline against trusted checkpoint keys.

    Raises :class:`~provlog.errors.VerificationError` naming the first failed check.
    """
    return _verify_bundle(read_bundle(bundle), trusted_keys(keys), scored=True)
