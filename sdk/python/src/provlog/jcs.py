"""RFC 8785 canonical JSON (from the ``rfc8785`` package) and provlog's strict JSON reader.

The strict reader refuses what provlog-core's ``record::json`` refuses: invalid UTF-8 (a BOM
is not white space), duplicate keys, lone surrogates, ``NaN``/``Infinity``, numbers beyond a
double, integral numbers with 2^53 <= |x| < 10^21 (JCS would silently change them), and
containers nested deeper than a limit.
"""

from __future__ import annotations

import json
import math
from typing import Any

import rfc8785

from .errors import StrictJsonError

#: provlog-core's ``DEPTH_CEILING``: no JSON it reads nests deeper.
DEPTH_CEILING = 128
MAX_SAFE_INTEGER = 2**53 - 1

Json = Any
"""A JSON value as :func:`json.loads` gives it."""


def canonicalize(value: Json) -> bytes:
    """The RFC 8785 canonical bytes of ``value``."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as e:
        raise StrictJsonError(f"no canonical form: {e}") from None


def nesting_depth(value: Json) -> int:
    """Nesting depth as provlog-core counts it: a scalar is 0, a container 1 + its deepest."""
    if isinstance(value, dict):
        return 1 + max((nesting_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((nesting_depth(v) for v in value), default=0)
    return 0


def _text_depth(text: str) -> int:
    """The deepest container nesting of JSON text, found without parsing (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


class _Offence(Exception):
    pass


def _parse_int(s: str) -> int | float:
    n = int(s)
    if abs(n) <= MAX_SAFE_INTEGER:
        return n
    if abs(n) < 10**21:
        raise _Offence("integer")
    return _parse_float(s)


def _parse_float(s: str) -> float:
    f = float(s)
    if math.isinf(f):
        raise _Offence("double")
    if f.is_integer() and MAX_SAFE_INTEGER < abs(f) < 1e21:
        raise _Offence("integer")
    return f


def _no_constant(s: str) -> None:
    raise _Offence(f"constant {s}")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise StrictJsonError(f"duplicate key {json.dumps(k)} in an object")
        out[k] = v
    return out


def lone_surrogate_path(value: Json, path: str = "$") -> str | None:
    def bad(s: str) -> bool:
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False

    if isinstance(value, str):
        return path if bad(value) else None
    if isinstance(value, list):
        for i, v in enumerate(value):
            if (p := lone_surrogate_path(v, f"{path}[{i}]")) is not None:
                return p
    if isinstance(value, dict):
        for k, v in value.items():
            if bad(k):
                return path
            if (p := lone_surrogate_path(v, f"{path}.{k}")) is not None:
                return p
    return None


def _number_path(value: Json, path: str = "$") -> str:
    """The path of the first number strict input refuses (re-found after a refusal)."""
    if isinstance(value, list):
        for i, v in enumerate(value):
            if p := _number_path(v, f"{path}[{i}]"):
                return p
    elif isinstance(value, dict):
        for k, v in value.items():
            if p := _number_path(v, f"{path}.{k}"):
                return p
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and math.isinf(value):
            return path
        if float(value).is_integer() and MAX_SAFE_INTEGER < abs(value) < 1e21:
            return path
    return ""


def parse_strict_json(
    data: bytes | str, max_depth: int = DEPTH_CEILING, *, strict_numbers: bool = True
) -> Json:
    """Reads JSON as provlog-core's strict reader does; raises :class:`StrictJsonError`.

    With ``strict_numbers=False`` numbers are read as Python reads them (for formats whose
    integers are u64, such as receipts, rather than values to canonicalise).
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise StrictJsonError(f"invalid UTF-8 at byte {e.start}") from None
    else:
        text = data
    max_depth = min(max_depth, DEPTH_CEILING)
    if _text_depth(text) > max_depth:
        raise StrictJsonError(f"nested deeper than {max_depth}")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=_parse_int if strict_numbers else int,
            parse_float=_parse_float if strict_numbers else float,
            parse_constant=_no_constant,
        )
    except _Offence as e:
        if str(e).startswith("constant"):
            raise StrictJsonError(f"invalid JSON: {e}") from None
        loose = json.loads(text)
        raise StrictJsonError(
            f"the number at {_number_path(loose) or '$'} is an integer beyond ±(2^53-1), "
            "or canonicalises to one; send such values as strings"
            if str(e) == "integer"
            else f"the number at {_number_path(loose) or '$'} is beyond a double"
        ) from None
    except json.JSONDecodeError as e:
        raise StrictJsonError(f"invalid JSON at byte {e.pos}: {e.msg}") from None
    except RecursionError:
        raise StrictJsonError(f"nested deeper than {max_depth}") from None
    if (p := lone_surrogate_path(value)) is not None:
        raise StrictJsonError(f"invalid JSON at {p}: lone surrogate")
    return value


def check_canonicalisable(value: Json) -> None:
    """Refuses a value with no canonical form provlog accepts (numbers strict input refuses,
    lone surrogates); raises :class:`StrictJsonError`."""
    if p := _number_path(value):
        raise StrictJsonError(
            f"the number at {p} is an integer beyond ±(2^53-1), or canonicalises to one, "
            "or is beyond a double; send such values as strings"
        )
    if (where := lone_surrogate_path(value)) is not None:
        raise StrictJsonError(f"lone surrogate at {where}")
