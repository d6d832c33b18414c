"""The optional on-chain check of a receipt's anchor, over Ethereum JSON-RPC with ``httpx``
and no Ethereum library, as ``provlog verify --rpc-url`` does it: the endpoint serves the
anchor's chain, a contract is at its address, the contract's ``anchorRecord(logId, treeSize)``
holds the checkpoint's root, the receipt's block is the chain's (hash, and timestamp when
stated), its transaction is in that block and emitted ``CheckpointAnchored`` for this log, size
and root, and the anchor has enough confirmations.

Failures of the evidence raise :class:`~provlog.errors.VerificationError` with check ``chain``;
an endpoint that cannot be asked raises :class:`ChainUnreachable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from .errors import VerificationError
from .keccak import keccak256
from .receipt import VerifiedReceipt

ANCHOR_RECORD = keccak256(b"anchorRecord(bytes32,uint64)")[:4]
CHECKPOINT_ANCHORED = keccak256(b"CheckpointAnchored(bytes32,uint64,bytes32,address)")


class ChainUnreachable(Exception):
    """The JSON-RPC endpoint could not be asked (not a verdict on the receipt)."""


@dataclass(frozen=True)
class OnChain:
    """What the chain confirmed."""

    contract: str
    block_number: int
    block_timestamp: int
    confirmations: int


def _invalid(message: str) -> NoReturn:
    raise VerificationError("chain", message)


class _Rpc:
    def __init__(self, url: str, http: httpx.Client | None) -> None:
        self.url, self.http, self.id = url, http or httpx.Client(timeout=30.0), 0

    def __call__(self, method: str, *params: Any) -> Any:
        self.id += 1
        try:
            r = self.http.post(self.url, json={"jsonrpc": "2.0", "id": self.id, "method": method, "params": list(params)})
            body = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise ChainUnreachable(f"{method}: {e}") from None
        if "error" in body:
            raise ChainUnreachable(f"{method}: {body['error']}")
        return body.get("result")


def _word(n: int) -> str:
    return f"{n:064x}"


def _qty(v: str) -> int:
    return int(v, 16)


def check_on_chain(
    v: VerifiedReceipt, rpc_url: str, min_confirmations: int = 1,
    pinned: str | None = None, http: httpx.Client | None = None,
) -> OnChain:
    """Checks a verified receipt's anchor on the chain behind ``rpc_url``."""
    a = v.anchor
    if a is None:
        _invalid("the receipt carries no anchor, so the chain cannot confirm it")
    contract = a["contract"].lower()
    if pinned is not None and pinned.lower() != contract:
        _invalid(f"the receipt's anchor is in contract {contract}, not the pinned {pinned}")
    rpc = _Rpc(rpc_url, http)
    chain_id = _qty(rpc("eth_chainId"))
    if chain_id != a["chain_id"]:
        _invalid(f"the RPC endpoint serves chain {chain_id}, the anchor is on chain {a['chain_id']}")
    if rpc("eth_getCode", contract, "latest") in (None, "0x", "0x0"):
        _invalid(f"there is no contract at {contract} on chain {chain_id}")
    cp = v.checkpoint
    log_id = a["log_id"].lower()[2:]
    data = "0x" + ANCHOR_RECORD.hex() + log_id + _word(cp.size)
    out = bytes.fromhex(rpc("eth_call", {"to": contract, "data": data}, "latest")[2:])
    if len(out) < 96:
        _invalid(f"contract {contract}: anchorRecord returned {len(out)} bytes")
    root, held_block = out[:32], int.from_bytes(out[64:96], "big")
    if root == bytes(32):
        _invalid(f"contract {contract} on chain {chain_id} holds no anchor of tree size {cp.size} for this log")
    if root != cp.root:
        _invalid(f"contract {contract} holds root {root.hex()} for tree size {cp.size}, the receipt's checkpoint has {cp.root.hex()}")
    number = a["block_number"]
    block = rpc("eth_getBlockByNumber", hex(number), False)
    if block is None:
        _invalid(f"the chain has no block {number} yet")
    if block["hash"].lower() != a["block_hash"].lower():
        _invalid(f"block {number} on the chain is {block['hash']}, the receipt names {a['block_hash']}")
    timestamp = _qty(block["timestamp"])
    if a.get("block_timestamp") is not None and a["block_timestamp"] != timestamp:
        _invalid(f"block {number} has timestamp {timestamp}, the receipt states {a['block_timestamp']}")
    tx = rpc("eth_getTransactionReceipt", a["tx_hash"])
    if tx is None:
        _invalid(f"the chain has no mined transaction {a['tx_hash']}")
    if _qty(tx["blockNumber"]) != number or tx["blockHash"].lower() != a["block_hash"].lower():
        _invalid(f"transaction {a['tx_hash']} is in block {_qty(tx['blockNumber'])}, not the receipt's block {number}")
    topics = ["0x" + CHECKPOINT_ANCHORED.hex(), "0x" + log_id, "0x" + _word(cp.size)]
    anchored = any(
        log.get("address", "").lower() == contract
        and [t.lower() for t in log.get("topics", [])[:3]] == topics
        and log.get("data", "")[2:66].lower() == cp.root.hex()
        for log in tx.get("logs", [])
    )
    if tx.get("status") != "0x1" or not anchored:
        _invalid(f"transaction {a['tx_hash']} did not anchor this log's tree size {cp.size} in contract {contract} (no such CheckpointAnchored event)")
    head = _qty(rpc("eth_blockNumber"))
    confirmations = max(0, head + 1 - held_block)
    if confirmations < min_confirmations:
        _invalid(f"the anchor has {confirmations} confirmation(s), fewer than the required {min_confirmations}")
    return OnChain(contract, held_block, timestamp, confirmations)
