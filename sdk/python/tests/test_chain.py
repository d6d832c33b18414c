"""The on-chain anchor check against a fake JSON-RPC endpoint (httpx.MockTransport), using the
anchored golden receipt. The selector and event topic are those of contracts/artifacts."""

import json
from typing import Any

import httpx
import pytest
from vectors import load, vectors_dir

from provlog.chain import ANCHOR_RECORD, CHECKPOINT_ANCHORED, check_on_chain
from provlog.errors import VerificationError
from provlog.note import parse_verifier_key
from provlog.receipt import verify_receipt

KEY = parse_verifier_key((vectors_dir() / "receipts" / "log.vkey").read_text())
RECEIPT = next(c["receipt"] for c in load("receipts/cases.json")["cases"]
               if c["desc"] == "signal, anchored with the block's timestamp")


def test_selector_and_topic() -> None:
    assert ANCHOR_RECORD.hex() == "836e20fe"
    assert CHECKPOINT_ANCHORED.hex() == "99ada6b8069d09851b644887c599a228762102b0a9466f86ec9b0a9159556333"


def fake_chain(v: Any, **change: Any) -> httpx.Client:
    a = v.anchor
    root = change.get("root", v.checkpoint.root).hex()
    state = {
        "eth_chainId": hex(change.get("chain_id", a["chain_id"])),
        "eth_getCode": "0x6080",
        "eth_call": "0x" + root + f"{1764633600:064x}" + f"{a['block_number']:064x}",
        "eth_getBlockByNumber": {"hash": change.get("block_hash", a["block_hash"]),
                                 "timestamp": hex(change.get("timestamp", a["block_timestamp"]))},
        "eth_getTransactionReceipt": {
            "blockNumber": hex(a["block_number"]), "blockHash": a["block_hash"], "status": "0x1",
            "logs": [{"address": a["contract"], "topics": [
                "0x" + CHECKPOINT_ANCHORED.hex(), a["log_id"], f"0x{v.checkpoint.size:064x}"],
                "data": "0x" + change.get("event_root", root) + "00" * 32}],
        },
        "eth_blockNumber": hex(change.get("head", a["block_number"] + 5)),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["method"] == "eth_call":
            assert body["params"][0]["data"].startswith("0x836e20fe" + a["log_id"][2:])
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": state[body["method"]]})

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_on_chain_confirms() -> None:
    v = verify_receipt(RECEIPT, [KEY])
    on = check_on_chain(v, "http://rpc.test", min_confirmations=3, http=fake_chain(v))
    assert on.confirmations == 6 and on.block_timestamp == 1764633600


@pytest.mark.parametrize("change", [
    {"chain_id": 1}, {"root": bytes(32)}, {"root": b"\x01" * 32}, {"block_hash": "0x" + "ef" * 32},
    {"timestamp": 1}, {"event_root": "11" * 32}, {"head": 3},
])
def test_on_chain_refusals(change: dict[str, Any]) -> None:
    v = verify_receipt(RECEIPT, [KEY])
    with pytest.raises(VerificationError) as e:
        check_on_chain(v, "http://rpc.test", min_confirmations=3, http=fake_chain(v, **change))
    assert e.value.check == "chain"


def test_pinned_contract() -> None:
    v = verify_receipt(RECEIPT, [KEY])
    with pytest.raises(VerificationError):
        check_on_chain(v, "http://rpc.test", pinned="0x" + "00" * 20, http=fake_chain(v))
