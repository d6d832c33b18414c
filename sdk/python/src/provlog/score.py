"""Scoring declarations (provlog-core's ``score::ScoringSpec``)."""

from __future__ import annotations

import base64
import json
import math
import re
from typing import TYPE_CHECKING, Any

from .hash import sha256
from .jcs import canonicalize, lone_surrogate_path

if TYPE_CHECKING:
    from .track_record import VerifiedTrackRecord

#: The longest horizon a scoring spec may state: ten years.
MAX_HORIZON_S = 10 * 366 * 24 * 3600

ScoringSpec = dict[str, Any]
"""A spec as provlog-core serialises it: ``kind``, ``value``, ``outcome``, optional
``baseline`` and ``outcome_source``, ``horizon_s``."""


def spec_problem(spec: ScoringSpec) -> str | None:
    """``ScoringSpec::check``: why no score could be computed with ``spec``, or None."""
    for field in ("value", "outcome", "baseline"):
        p = spec.get(field)
        if p is not None and p != "" and not p.startswith("/"):
            return f'{field}: "{p}" is not a JSON Pointer (RFC 6901)'
    if spec["kind"] == "signals" and "baseline" in spec:
        return "baseline: only predictions have one"
    h = spec["horizon_s"]
    if h == 0 or h > MAX_HORIZON_S:
        return f"horizon_s: from 1 to {MAX_HORIZON_S} seconds, got {h}"
    return None


# ---------------------------------------------------------------------------------------------
# Scores (provlog-score/v1) of verified track records, as provlog_core::score::score computes
# them: every sum runs in sequence order over doubles with the core's operations (+ - * /, abs,
# the correctly rounded square root), so the figures are the core's bit for bit. The result is
# the core's Score as serde writes it (a number that is not finite is None).

SCORE_FORMAT_V1 = "provlog-score/v1"
_SERDE_DEPTH = 128


class ScoreError(ValueError):
    """Why a verified bundle cannot be scored: ``check`` is ``no_scoring_spec`` or
    ``payload_missing``."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _refuse(_: str) -> None:
    raise ValueError("not JSON")


def serde_value(data: bytes) -> Any:
    """An item as ``serde_json::from_slice::<Value>`` reads it, or None where that fails
    (invalid UTF-8, a BOM, a lone surrogate, a number beyond a double, 128 levels deep); a key
    given twice keeps its last value."""
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_refuse)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            if lone_surrogate_path(v) is not None:
                return None
        elif isinstance(v, float):
            if not math.isfinite(v):
                return None
        elif isinstance(v, (list, dict)):
            if depth + 1 >= _SERDE_DEPTH:
                return None
            if isinstance(v, dict) and lone_surrogate_path(list(v)) is not None:
                return None
            stack.extend((c, depth + 1) for c in (v if isinstance(v, list) else v.values()))
    return value


def pointer(value: Any, ptr: str) -> Any:
    """``Value::pointer`` (RFC 6901): the value at ``ptr``, or :data:`MISSING`."""
    if ptr == "":
        return value
    if not ptr.startswith("/"):
        return MISSING
    target = value
    for raw in ptr.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(target, list):
            if not re.fullmatch(r"0|[1-9][0-9]*", token) or int(token) >= len(target):
                return MISSING
            target = target[int(token)]
        elif isinstance(target, dict):
            if token not in target:
                return MISSING
            target = target[token]
        else:
            return MISSING
    return target


MISSING: Any = object()
"""What :func:`pointer` gives where there is no value."""


def number_at(value: Any, ptr: str) -> float | None:
    """The number at ``ptr`` as a double: a JSON number, nothing else."""
    v = pointer(value, ptr)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def unix_millis(at: str) -> int:
    """Unix milliseconds of a record time (``YYYY-MM-DDTHH:MM:SS.sssZ``)."""
    days = _days_from_civil(int(at[0:4]), int(at[5:7]), int(at[8:10]))
    secs = days * 86400 + int(at[11:13]) * 3600 + int(at[14:16]) * 60 + int(at[17:19])
    return secs * 1000 + int(at[20:23])


def _sign(x: float) -> int:
    return 1 if x > 0 else -1 if x < 0 else 0


def _signal_metrics(scores: list[dict[str, Any]]) -> dict[str, Any]:
    hits = misses = flat = 0
    growth, total = 1.0, 0.0
    for x in scores:
        r = x["return"]
        growth *= 1 + r
        if x["value"] == 0:
            flat += 1
            continue
        total += r
        if r > 0:
            hits += 1
        else:
            misses += 1
    positions = hits + misses
    return {
        "hits": hits, "misses": misses, "flat": flat,
        "hit_rate": _finite(hits / positions) if positions else None,
        "cumulative_return": _finite(growth - 1),
        "mean_return": _finite(total / positions) if positions else None,
    }


def _prediction_metrics(scores: list[dict[str, Any]], baselines: list[float]) -> dict[str, Any]:
    n = len(scores)
    if n == 0:
        return {"mae": None, "rmse": None, "directional_accuracy": None}
    absolute = squares = 0.0
    same = 0
    for x, b in zip(scores, baselines):
        e = x["error"]
        absolute += abs(e)
        squares += e * e
        if _sign(x["value"] - b) == _sign(x["outcome"] - b):
            same += 1
    return {"mae": _finite(absolute / n), "rmse": _finite(math.sqrt(squares / n)),
            "directional_accuracy": _finite(same / n)}


def score(bundle: VerifiedTrackRecord) -> dict[str, Any]:
    """Scores a verified bundle by its source's declared spec, as the core's ``Score`` JSON.

    Raises :class:`ScoreError`.
    """
    declared = bundle.scoring
    if declared is None:
        raise ScoreError("no_scoring_spec", "the source declared no scoring spec (as of the bundle's checkpoint)")
    spec = declared.spec
    w = bundle.window
    window = {k: getattr(w, k) for k in ("since", "until", "from_seq", "to_seq") if getattr(w, k) is not None}
    s: dict[str, Any] = {
        "format": SCORE_FORMAT_V1, "source": bundle.source, "window": window,
        "checkpoint_size": bundle.checkpoint.size,
        "checkpoint_root": base64.b64encode(bundle.checkpoint.root).decode(),
        "spec": spec,
        "spec_sha256": base64.b64encode(sha256(canonicalize(spec))).decode(),
        "declared_seq": declared.seq,
        "outcome_source": spec.get("outcome_source", bundle.source),
        "records": 0, "scored": 0, "unresolved": 0, "pending": 0, "expired_unrevealed": 0,
        "unscorable": 0, "before_declaration": 0,
    }
    by_seq = {r.seq: r.leaf_hash for r in bundle.records}
    commitments = {c.seq: c for c in bundle.commitments}
    units: list[tuple[int, str, Any, bytes]] = []  # seq, time, payload, parent leaf hash
    for entry in bundle.records:
        kind = entry.record.kind
        if kind not in ("signal", "commitment"):
            continue
        if entry.seq < declared.seq:
            s["before_declaration"] += 1
            continue
        s["records"] += 1
        at = entry.record.received_at
        if kind == "signal":
            if entry.item is None:
                raise ScoreError("payload_missing", f"record seq {entry.seq} carries no payload: the bundle cannot be scored")
            payload = serde_value(entry.item)
            if payload is None:
                s["unscorable"] += 1
            else:
                units.append((entry.seq, at, payload, entry.leaf_hash))
            continue
        state = commitments.get(entry.seq)
        if state is not None and state.status == "revealed" and state.reveal is not None:
            units.append((entry.seq, at, state.reveal[2], by_seq[state.reveal[0]]))
        elif state is not None and state.status == "expired_unrevealed":
            s["expired_unrevealed"] += 1
        else:
            s["pending"] += 1
    # Each parent's outcomes, in the outcome source's sequence order.
    outcomes: dict[bytes, list[tuple[int, str, Any]]] = {}
    for entry in bundle.outcomes.records if bundle.outcomes else []:
        if entry.record.kind != "outcome" or not entry.record.parents:
            continue
        parent = base64.b64decode(entry.record.parents[0])
        payload = serde_value(entry.item) if entry.item is not None else None
        outcomes.setdefault(parent, []).append((entry.seq, entry.record.received_at, payload))
    horizon_ms = spec["horizon_s"] * 1000
    scores: list[dict[str, Any]] = []
    baselines: list[float] = []
    for seq, at, payload, parent in units:
        value = number_at(payload, spec["value"])
        if value is not None and spec["kind"] == "signals" and value not in (-1.0, 0.0, 1.0):
            value = None
        base = number_at(payload, spec["baseline"]) if "baseline" in spec else 0.0
        if value is None or base is None:
            s["unscorable"] += 1
            continue
        # The first outcome from the horizon on counts; earlier ones could not have known it.
        due = unix_millis(at) + horizon_ms
        found = next((o for o in outcomes.get(parent, []) if unix_millis(o[1]) >= due), None)
        if found is None:
            s["unresolved"] += 1
            continue
        outcome = number_at(found[2], spec["outcome"]) if found[2] is not None else None
        if outcome is None:
            s["unscorable"] += 1
            continue
        x: dict[str, Any] = {"seq": seq, "at": at, "value": value, "outcome": outcome,
                             "outcome_seq": found[0], "outcome_at": found[1]}
        if spec["kind"] == "signals":
            x["return"] = value * outcome
        else:
            x["error"] = value - outcome
        scores.append(x)
        baselines.append(base)
    s["scored"] = len(scores)
    if spec["kind"] == "signals":
        s["signals"] = _signal_metrics(scores)
    else:
        s["predictions"] = _prediction_metrics(scores, baselines)
    for x in scores:
        for k in ("return", "error"):
            if k in x:
                x[k] = _finite(x[k])
    s["scores"] = scores
    return s
