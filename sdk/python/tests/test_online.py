"""The online half against a fake server (httpx.MockTransport) serving golden data, and the
monitor against a log built here."""

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from vectors import load, vectors_dir

from provlog.client import Client, verify_payload
from provlog.errors import VerificationError
from provlog.hash import leaf_hash, node_hash
from provlog.monitor import Monitor, SplitView
from provlog.note import key_id, parse_verifier_key

# evidence.json's log: record 2 is a signal of {"signal": 2}, signed by k1, with its evidence.
EVIDENCE = load("evidence.json")
CASE = EVIDENCE["cases"][0]
KEY = parse_verifier_key(EVIDENCE["log_vkey"])
PAYLOAD = {"signal": 2}


def server(records: list[dict[str, Any]], evidence: dict[str, Any], status: int = 200) -> Client:
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/records":
            # A lying server lists the record for any payload; the verifier finds it out.
            assert len(request.url.params["content_root"]) == 64
            return httpx.Response(200, json={"records": records, "next": None})
        if path.startswith("/v1/records/") and path.endswith("/evidence"):
            return httpx.Response(status, json=evidence)
        return httpx.Response(404)

    return Client("http://log.test", http=httpx.Client(transport=httpx.MockTransport(handle)))


SUMMARY = {"index": 2, "source": "acme-signals"}


def test_verify_payload_online() -> None:
    answer = {"receipt": CASE["receipt"], "source_evidence": CASE["source_evidence"]}
    proven = verify_payload(PAYLOAD, server([SUMMARY], answer), [KEY], source="acme-signals")
    assert len(proven) == 1 and proven[0].key is not None and proven[0].key.key_id == "k1"


def test_verify_payload_refusals() -> None:
    answer = {"receipt": CASE["receipt"], "source_evidence": CASE["source_evidence"]}
    with pytest.raises(VerificationError) as e:
        verify_payload(PAYLOAD, server([], answer), [KEY])
    assert e.value.check == "not_found"
    with pytest.raises(VerificationError) as e:
        verify_payload(PAYLOAD, server([SUMMARY], answer), [KEY], source="other")
    assert e.value.check == "wrong_source"
    with pytest.raises(VerificationError) as e:  # the server's evidence omits the key's history
        verify_payload(PAYLOAD, server([SUMMARY], {"receipt": CASE["receipt"], "source_evidence": None}), [KEY])
    assert e.value.check == "key_not_registered"
    with pytest.raises(VerificationError) as e:  # another payload's receipt passed off
        verify_payload({"signal": 3}, server([SUMMARY], answer), [KEY])
    assert e.value.check == "content_mismatch"
    with pytest.raises(VerificationError) as e:
        verify_payload(PAYLOAD, server([SUMMARY], answer, status=409), [KEY])
    assert e.value.check == "not_yet_included"


# --- the monitor, over a log made here ---------------------------------------------------------


def mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    # RFC 9162 §2.1.4.1 SUBPROOF.
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


class Log:
    def __init__(self, origin: str = "example.com/mon") -> None:
        self.origin, self.sk = origin, Ed25519PrivateKey.generate()
        raw = b"\x01" + self.sk.public_key().public_bytes_raw()
        self.id = key_id(origin, raw)
        self.vkey = f"{origin}+{self.id:08x}+{base64.b64encode(raw).decode()}"

    def note(self, leaves: list[bytes]) -> str:
        body = f"{self.origin}\n{len(leaves)}\n{base64.b64encode(mth(leaves)).decode()}\n"
        sig = base64.b64encode(self.id.to_bytes(4, "big") + self.sk.sign(body.encode())).decode()
        return f"{body}\n\u2014 {self.origin} {sig}\n"


LEAVES = [leaf_hash(bytes([i])) for i in range(20)]


def test_monitor_follows_and_catches_a_split_view(tmp_path: Path) -> None:
    log = Log()
    m = Monitor(tmp_path / "cp", [log.vkey])
    assert m.advance(log.note(LEAVES[:5])).size == 5
    assert m.advance(log.note(LEAVES[:13]), subproof(5, LEAVES[:13], True)).size == 13
    assert m.last() is not None and m.last().size == 13  # type: ignore[union-attr]
    forked = LEAVES[:10] + [leaf_hash(b"rewritten")] + LEAVES[11:17]
    with pytest.raises(SplitView):
        m.advance(log.note(forked), subproof(13, forked, True))
    with pytest.raises(SplitView):  # a smaller tree
        m.advance(log.note(LEAVES[:7]))
    assert m.last().size == 13  # type: ignore[union-attr]


def test_monitor_polls_a_client(tmp_path: Path) -> None:
    log = Log()
    size = {"n": 4}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/checkpoint":
            return httpx.Response(200, text=log.note(LEAVES[: size["n"]]))
        p = request.url.params
        m, n = int(p["from"]), int(p["to"])
        proof = [base64.b64encode(h).decode() for h in subproof(m, LEAVES[:n], True)]
        return httpx.Response(200, json={"size1": m, "size2": n, "proof": proof})

    client = Client("http://log.test", http=httpx.Client(transport=httpx.MockTransport(handle)))
    mon = Monitor(tmp_path / "cp", [log.vkey])
    assert mon.poll(client).size == 4
    size["n"] = 19
    assert mon.poll(client).size == 19


def test_receipt_of_the_client_is_text() -> None:
    text = (vectors_dir() / "receipts" / "signal.json").read_text()
    client = Client("http://log.test", http=httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, text=text))))
    assert json.loads(client.receipt(0)) == json.loads(text)
