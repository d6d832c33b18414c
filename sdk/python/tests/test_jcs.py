"""RFC 8785 canonicalisation (the RFC's own examples) and provlog's strict JSON reader."""

import json
import struct

import pytest

from provlog.errors import StrictJsonError
from provlog.jcs import canonicalize, parse_strict_json
from provlog.payload import content_root_of_payload, item_leaf_hash

# RFC 8785 §3.2.2.
RFC_INPUT = r'''{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}'''
RFC_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)

# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
NUMBERS = [
    ("0000000000000000", "0"), ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"), ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"), ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"), ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def test_rfc_example() -> None:
    assert canonicalize(json.loads(RFC_INPUT)).decode() == RFC_OUTPUT


def test_rfc_key_order() -> None:
    # RFC 8785 §3.2.3: keys sorted by UTF-16 code units.
    value = json.loads(
        r'{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",'
        r'"1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control",'
        r'"\u00f6":"Latin Small Letter O With Diaeresis"}'
    )
    keys = list(json.loads(canonicalize(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize("bits,text", NUMBERS)
def test_rfc_numbers(bits: str, text: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonicalize(value).decode() == text


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_no_canonical_form(value: float) -> None:
    with pytest.raises(StrictJsonError):
        canonicalize(value)


@pytest.mark.parametrize("text", [
    '{"a":1,"a":2}',            # duplicate key
    '{"a":{"b":1,"b":1}}',      # duplicate key, nested
    '{"\\u0061":1,"a":2}',      # duplicate after unescaping
    '\ufeff{}',                 # a BOM is not white space
    '[NaN]', '[Infinity]', '[-Infinity]',
    '[9007199254740992]', '[-9007199254740992]', '[1e20]', '[1e400]',
    '["\\ud800"]', '{"\\udc00":1}',
    '[1,]', '{"a":1', '',
])
def test_strict_refusals(text: str) -> None:
    with pytest.raises(StrictJsonError):
        parse_strict_json(text.encode("utf-8"))


def test_strict_accepts() -> None:
    assert parse_strict_json(b'{"a":[1,2.5,"x",null,true],"b":9007199254740991,"c":1e21}') == {
        "a": [1, 2.5, "x", None, True], "b": 9007199254740991, "c": 1e21,
    }


def test_invalid_utf8() -> None:
    with pytest.raises(StrictJsonError):
        parse_strict_json(b'["\xff"]')


def test_depth_limit() -> None:
    assert parse_strict_json(b"[" * 8 + b"]" * 8, 8) == [[[[[[[[]]]]]]]]
    with pytest.raises(StrictJsonError):
        parse_strict_json(b"[" * 9 + b"]" * 9, 8)
    with pytest.raises(StrictJsonError):  # the ceiling holds whatever is asked
        parse_strict_json(b"[" * 129 + b"]" * 129, 1000)
    with pytest.raises(StrictJsonError):  # no RecursionError on hostile input
        parse_strict_json(b"[" * 100000)
    assert parse_strict_json(b'["[[[[[[[[[["]', 2) == ["[[[[[[[[[["]


def test_payload_hashes() -> None:
    # SHA-256(0x00 || JCS(payload)), the same for a signal's content root and a row's leaf.
    assert content_root_of_payload({"b": 1, "a": [1.0]}) == item_leaf_hash({"a": [1], "b": 1})
    with pytest.raises(StrictJsonError):
        content_root_of_payload({"n": 2**53})
