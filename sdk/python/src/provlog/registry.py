"""A source's registry (records of kind ``source``, docs/formats.md): the events they hold,
proofs of possession of keys, and the fold of a source's history (``SourceHistory::fold``).
Fold failures raise :class:`~provlog.errors.VerificationError` with provlog-core's
``RegistryError::check`` names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .ed25519 import verify_strict
from .encoding import b64decode
from .errors import StrictJsonError, VerificationError
from .hash import leaf_hash
from .jcs import canonicalize, parse_strict_json
from .record import KEY_ID, SOURCE, Record, RecordInvalid, parse_record
from .score import ScoringSpec, spec_problem

POSSESSION_CONTEXT = b"provlog source key possession v1\n"
MAX_EVENT_DEPTH = 4

RegistryEvent = dict[str, Any]
"""A registry event as JSON, exactly as provlog-core serialises it."""


class RegistryEventError(ValueError):
    """An item that is not a registry event."""


def _fail(reason: str) -> NoReturn:
    raise RegistryEventError(f"invalid registry event: {reason}")


def _members(v: Any, name: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(v, dict):
        _fail(f"{name} is not an object")
    for k in v:
        if k not in required and k not in optional:
            _fail(f"unknown field `{k}`")
    for k in required:
        if k not in v:
            _fail(f"missing field `{k}`")
    return v


def _text(v: Any, name: str, ok: bool = True) -> str:
    if not isinstance(v, str) or not ok:
        _fail(f"{name} is not what it must be")
    return v


def _b64_len(v: Any, n: int) -> bool:
    raw = b64decode(v) if isinstance(v, str) else None
    return raw is not None and len(raw) == n


def _read_spec(v: Any) -> ScoringSpec:
    f = _members(v, "spec", ("kind", "value", "outcome", "horizon_s"), ("baseline", "outcome_source"))
    kind = _text(f["kind"], "kind", f["kind"] in ("signals", "predictions"))
    h = f["horizon_s"]
    if not isinstance(h, int) or isinstance(h, bool) or h < 0:
        _fail("horizon_s is not an unsigned integer")
    spec: ScoringSpec = {"kind": kind, "value": _text(f["value"], "value"),
                         "outcome": _text(f["outcome"], "outcome")}
    if f.get("baseline") is not None:
        spec["baseline"] = _text(f["baseline"], "baseline")
    if f.get("outcome_source") is not None:
        spec["outcome_source"] = _text(f["outcome_source"], "outcome_source",
                                       isinstance(f["outcome_source"], str) and SOURCE.fullmatch(f["outcome_source"]) is not None)
    spec["horizon_s"] = h
    return spec


def read_registry_event(data: bytes) -> RegistryEvent:
    """Reads a registry record's item as ``RegistryEvent::from_item``: strict JSON at most 4
    deep, a known event with exactly its fields, and its own canonical form."""
    try:
        v = parse_strict_json(data, MAX_EVENT_DEPTH)
    except StrictJsonError as e:
        raise RegistryEventError(str(e)) from None
    if not isinstance(v, dict):
        _fail("a registry event is a JSON object")
    name = v.get("event")
    if name in ("source-registered", "settings-changed"):
        f = _members(v, name, ("event", "schema_sha256", "schema_policy", "require_signature"))
        if not isinstance(f["require_signature"], bool):
            _fail("require_signature is not a boolean")
        schema = f["schema_sha256"]
        if schema is not None:
            _text(schema, "schema_sha256", _b64_len(schema, 32))
        _text(f["schema_policy"], "schema_policy", f["schema_policy"] in ("reject", "flag"))
        event = dict(f)
    elif name == "key-added":
        f = _members(v, name, ("event", "key_id", "public_key", "proof"))
        _text(f["key_id"], "key_id", isinstance(f["key_id"], str) and KEY_ID.fullmatch(f["key_id"]) is not None)
        _text(f["public_key"], "public_key", _b64_len(f["public_key"], 32))
        if f["proof"] is not None:
            _text(f["proof"], "proof", _b64_len(f["proof"], 64))
        event = dict(f)
    elif name == "key-retired":
        f = _members(v, name, ("event", "key_id"))
        _text(f["key_id"], "key_id", isinstance(f["key_id"], str) and KEY_ID.fullmatch(f["key_id"]) is not None)
        event = dict(f)
    elif name == "scoring-declared":
        f = _members(v, name, ("event", "spec"))
        spec = _read_spec(f["spec"])
        if problem := spec_problem(spec):
            raise RegistryEventError(f"invalid scoring spec: {problem}")
        event = {"event": name, "spec": spec}
    else:
        _fail(f"unknown event {name!r}")
    if canonicalize(event) != data:
        raise RegistryEventError("the bytes are valid but not the canonical (RFC 8785) form of the event")
    return event


def possession_message(origin: str, source: str, key_id: str, public_key: str) -> bytes:
    """What a proof of possession signs: the context line, then the JCS statement."""
    statement = {"key_id": key_id, "origin": origin, "public_key": public_key, "source": source}
    return POSSESSION_CONTEXT + canonicalize(statement)


def verify_possession(origin: str, source: str, key_id: str, public_key: str, proof: str) -> bool:
    """Whether ``proof`` (base64) is the key's signature of its possession statement."""
    key, sig = b64decode(public_key), b64decode(proof)
    if key is None or sig is None:
        return False
    return verify_strict(key, possession_message(origin, source, key_id, public_key), sig)


@dataclass
class Stated:
    """Where (leaf index) and when (record time) a registry record stated something."""

    leaf_index: int
    at: str


@dataclass
class KeyHistory:
    """A key of a source, as its registry records state it."""

    key_id: str
    public_key: str
    proven: bool
    added: Stated
    retired: Stated | None = None


@dataclass
class SourceHistory:
    """A source's registration, folded from its registry records in log order."""

    origin: str
    source: str
    registered: Stated
    settings: dict[str, Any]
    keys: list[KeyHistory] = field(default_factory=list)
    scoring: tuple[ScoringSpec, Stated] | None = None
    leaves: list[int] = field(default_factory=list)

    def apply(self, leaf_index: int, record: Record, event: RegistryEvent) -> None:
        """Folds in the next registry record of the source."""
        def fail(check: str, message: str) -> NoReturn:
            raise VerificationError(check, message)

        if record.kind != "source" or record.source != self.source or record.origin != self.origin:
            fail("wrong_source", f"leaf {leaf_index} is not a registry record of source {self.source!r}")
        previous = self.leaves[-1]
        if leaf_index <= previous:
            fail("out_of_order", f"leaf {leaf_index} comes before leaf {previous}: registry records are read in log order")
        stated = Stated(leaf_index, record.received_at)
        name = event["event"]
        if name == "source-registered":
            fail("registered_twice", f"leaf {leaf_index} registers the source again")
        elif name == "settings-changed":
            self.settings = {**event, "stated": stated}
        elif name == "key-added":
            if any(k.key_id == event["key_id"] for k in self.keys):
                fail("key_added_twice", f"leaf {leaf_index} adds key {event['key_id']!r} again")
            proof = event["proof"]
            if proof is not None and not verify_possession(
                self.origin, self.source, event["key_id"], event["public_key"], proof
            ):
                fail("proof_of_possession", f"the proof of possession of key {event['key_id']!r} does not verify")
            self.keys.append(KeyHistory(event["key_id"], event["public_key"], proof is not None, stated))
        elif name == "key-retired":
            key = next((k for k in self.keys if k.key_id == event["key_id"] and k.retired is None), None)
            if key is None:
                fail("no_active_key", f"leaf {leaf_index} retires key {event['key_id']!r}, which is not active")
            key.retired = stated
        elif name == "scoring-declared":
            if self.scoring is not None:
                fail("scoring_declared_twice", f"leaf {leaf_index} declares scoring again")
            self.scoring = (event["spec"], stated)
        self.leaves.append(leaf_index)

    @classmethod
    def fold(cls, records: Iterable[tuple[int, Record | str, bytes]]) -> SourceHistory | None:
        """Folds a source's registry records, given in log order as (leaf index, record, item)."""
        history: SourceHistory | None = None
        for leaf_index, rec, item in records:
            try:
                record = rec if isinstance(rec, Record) else parse_record(rec)
                event = read_registry_event(item)
            except (RecordInvalid, RegistryEventError) as e:
                raise VerificationError("record", str(e)) from None
            if leaf_hash(item) != record.content_root:
                raise VerificationError("record", "invalid content.root: is not the leaf hash of the registry event")
            if history is None:
                if event["event"] != "source-registered":
                    raise VerificationError("not_registered", f"leaf {leaf_index} is not the source's registration")
                if record.kind != "source":
                    raise VerificationError("wrong_source", f"leaf {leaf_index} is not a registry record")
                stated = Stated(leaf_index, record.received_at)
                history = cls(record.origin, record.source, stated, {**event, "stated": stated},
                              leaves=[leaf_index])
            else:
                history.apply(leaf_index, record, event)
        return history
