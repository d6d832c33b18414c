"""The online half: a small HTTP client of a provlog server (``httpx``), and
:func:`verify_payload`, which mirrors ``provlog verify payload``.

The server is trusted for nothing: everything it sends is verified offline against the keys
the caller trusts. A record the server fails to list is missing from the answer; evidence that
does not prove the payload or the key is a failed verdict.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import StrictJsonError, VerificationError
from .evidence import VerifiedKey, verify_source_evidence
from .note import VerifierKey
from .payload import payload_hash, verify_payload_receipt, verify_row_receipt
from .receipt import Keys, VerifiedReceipt, trusted_keys
from .jcs import Json

PAGE = 1000


class ClientError(Exception):
    """The server could not be asked, or answered with an error status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PayloadRecord:
    """One record the server listed for a payload (or row), and what its evidence proved:
    ``verified`` and ``key`` when it did, ``error`` when it did not."""

    index: int
    item: int | None
    #: The source the server lists it under (the verified record says its own).
    source: str
    verified: VerifiedReceipt | None = None
    key: VerifiedKey | None = None
    error: VerificationError | None = None


class Client:
    """A provlog server at ``url`` (e.g. ``http://127.0.0.1:8080``)."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0,
                 http: httpx.Client | None = None) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.http = http or httpx.Client(timeout=timeout, headers=headers)

    def close(self) -> None:
        """Closes the HTTP connections."""
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        try:
            r = self.http.get(f"{self.url}/{path}", params=query)
        except httpx.HTTPError as e:
            raise ClientError(f"asking {self.url}/{path}: {e}") from None
        if r.status_code >= 400:
            raise ClientError(f"{self.url}/{path}: HTTP {r.status_code}: {r.text[:200]}", r.status_code)
        return r

    def _json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        r = self._get(path, params)
        try:
            return r.json()
        except ValueError as e:
            raise ClientError(f"{self.url}/{path}: not JSON: {e}") from None

    def checkpoint(self) -> str:
        """``GET /v1/checkpoint``: the latest signed checkpoint note (verify it!)."""
        return self._get("v1/checkpoint").text

    def consistency(self, size1: int, size2: int) -> dict[str, Any]:
        """``GET /v1/proofs/consistency``: ``size1``, ``size2``, ``root1``, ``root2``, ``proof``
        (base64 hashes)."""
        return dict(self._json("v1/proofs/consistency", {"from": size1, "to": size2}))

    def log_info(self) -> dict[str, Any]:
        """``GET /v1/log``: origin, verifier key (do not trust it blindly), size..."""
        return dict(self._json("v1/log"))

    def receipt(self, index: int, item: int | None = None, size: int | None = None) -> str:
        """``GET /v1/records/{index}/receipt``: the receipt's JSON text."""
        return self._get(f"v1/records/{index}/receipt", {"item": item, "size": size}).text

    def evidence(self, index: int, item: int | None = None, size: int | None = None) -> dict[str, Any]:
        """``GET /v1/records/{index}/evidence``: ``receipt`` and ``source_evidence``."""
        return dict(self._json(f"v1/records/{index}/evidence", {"item": item, "size": size}))

    def track_record(self, source: str, since: str | None = None, until: str | None = None,
                     from_seq: int | None = None, to_seq: int | None = None) -> str:
        """``GET /v1/sources/{source}/track-record``: the bundle's JSON text."""
        params = {"since": since, "until": until, "from_seq": from_seq, "to_seq": to_seq}
        return self._get(f"v1/sources/{source}/track-record", params).text

    def score(self, source: str, since: str | None = None, until: str | None = None,
              from_seq: int | None = None, to_seq: int | None = None) -> dict[str, Any]:
        """``GET /v1/sources/{source}/score``: the server's score (recompute it from the bundle)."""
        params = {"since": since, "until": until, "from_seq": from_seq, "to_seq": to_seq}
        return dict(self._json(f"v1/sources/{source}/score", params))

    def _pages(self, path: str, field: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        after = None
        while True:
            page = self._json(path, {**params, "after": after, "limit": PAGE})
            yield from page[field]
            after = page.get("next")
            if after is None:
                return

    def find_by_payload(self, payload: Json) -> list[dict[str, Any]]:
        """Every record (summary) whose content root is the payload's hash, oldest first."""
        root = payload_hash(payload).hex()
        return list(self._pages("v1/records", "records", {"content_root": root}))

    def find_items(self, row: Json) -> list[dict[str, Any]]:
        """Every item (``record``, ``item``, ``source``) whose leaf hash is the row's."""
        return list(self._pages("v1/items", "items", {"leaf_hash": payload_hash(row).hex()}))

    def _verdict(self, index: int, item: int | None, source: str, value: Json, keys: Sequence[VerifierKey]) -> PayloadRecord:
        try:
            answer = self.evidence(index, item)
        except ClientError as e:
            if e.status == 409:
                err = VerificationError("not_yet_included", f"record {index} is not in a signed checkpoint yet; retry shortly")
                return PayloadRecord(index, item, source, error=err)
            raise
        check = verify_row_receipt if item is not None else verify_payload_receipt
        try:
            verified = check(value, answer.get("receipt"), keys)
            key = None
            if verified.signed_by is not None:
                key = verify_source_evidence(verified, answer.get("source_evidence"), keys)
        except VerificationError as e:
            return PayloadRecord(index, item, source, error=e)
        return PayloadRecord(index, item, source, verified, key)

    def verify_payload(self, payload: Json, keys: Keys) -> list[PayloadRecord]:
        """Finds every record of ``payload`` (a signal of it, or a snapshot of it alone) and
        verifies each one's receipt and source-key evidence offline against ``keys``."""
        trusted = trusted_keys(keys)
        return [self._verdict(int(s["index"]), None, s["source"], payload, trusted)
                for s in self.find_by_payload(payload)]

    def verify_row(self, row: Json, keys: Keys) -> list[PayloadRecord]:
        """Finds every snapshot that holds ``row`` and verifies each item receipt offline."""
        trusted = trusted_keys(keys)
        return [self._verdict(int(i["record"]), int(i["item"]), i["source"], row, trusted)
                for i in self.find_items(row)]


def verify_payload(payload: Json, url: str | Client, keys: Keys, source: str | None = None,
                   *, row: bool = False) -> list[PayloadRecord]:
    """``provlog verify payload``: the payload (or, with ``row``, a snapshot row) was logged,
    by ``source`` when given, and every such record's evidence verifies offline.

    Returns the proven records; raises :class:`~provlog.errors.VerificationError` with check
    ``not_found``, ``wrong_source``, or the first failed record's own check.
    """
    try:
        payload_hash(payload)
    except StrictJsonError as e:
        raise VerificationError("payload", str(e)) from None
    client = url if isinstance(url, Client) else Client(url)
    try:
        found = client.verify_row(payload, keys) if row else client.verify_payload(payload, keys)
    finally:
        if not isinstance(url, Client):
            client.close()
    what = "row" if row else "payload"
    if not found:
        raise VerificationError("not_found", f"not in the log: no record holds this {what}")
    wanted = [r for r in found if source is None or r.source == source]
    if not wanted:
        by = ", ".join(sorted({r.source for r in found}))
        raise VerificationError("wrong_source", f"the {what} was logged by source {by}, not {source}")
    for r in wanted:
        if r.error is not None:
            raise VerificationError(r.error.check, f"record {r.index}: {r.error.message}")
        assert r.verified is not None
        if source is not None and r.verified.record.source != source:
            raise VerificationError("wrong_source", f"record {r.index} is of source {r.verified.record.source}, not {source}")
    return wanted
