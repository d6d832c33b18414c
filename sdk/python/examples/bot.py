"""A trading bot that acts only on signals it has verified in a provlog log.

Signals arrive one JSON object a line (from a file, or stdin, as a provider's API would give
them). Each is checked before acting:

* online, with ``--url``: the payload is looked up in the log and every record of it verified
  offline against the trusted key (``verify_payload``), by ``--source`` when given;
* offline, when the line carries its evidence (``{"payload": ..., "receipt": ...,
  "source_evidence": ...}``, as ``GET /v1/records/{id}/evidence`` returns it).

Unverified signals are refused with the reason (the failed check's name).

    python examples/bot.py --key "$(cat log.vkey)" --url http://127.0.0.1:8080 signals.ndjson
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from provlog import VerificationError, parse_verifier_key
from provlog.evidence import verify_source_evidence
from provlog.payload import verify_payload_receipt


def verify_line(signal: dict[str, Any], keys: list[Any], url: str | None, source: str | None) -> str:
    """Who logged the signal, and when; raises VerificationError when it is not proven."""
    payload = signal.get("payload", signal)
    if "receipt" in signal:
        v = verify_payload_receipt(payload, signal["receipt"], keys)
        if v.signed_by is not None:
            verify_source_evidence(v, signal.get("source_evidence"), keys)
        if source is not None and v.record.source != source:
            raise VerificationError("wrong_source", f"logged by {v.record.source}, not {source}")
        return f"{v.record.source} at {v.record.received_at} (leaf {v.leaf_index})"
    if url is None:
        raise VerificationError("evidence", "no receipt with the signal and no --url to look it up")
    from provlog.client import verify_payload  # needs the online extra (httpx)

    proven = verify_payload(payload, url, keys, source)
    r = proven[0].verified
    assert r is not None
    return f"{r.record.source} at {r.record.received_at} (leaf {r.leaf_index})"


def act(payload: Any) -> None:
    """Where a real bot would trade."""
    print(f"  -> acting on {json.dumps(payload, sort_keys=True)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file", nargs="?", help="signals, one JSON object a line (default: stdin)")
    p.add_argument("--key", action="append", required=True, help="trusted log key name+hexid+base64")
    p.add_argument("--url", help="the log, to look up signals that come without evidence")
    p.add_argument("--source", help="accept only signals logged by this source")
    args = p.parse_args(argv)
    keys = [parse_verifier_key(k) for k in args.key]
    lines = open(args.file, encoding="utf-8") if args.file else sys.stdin
    refused = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            signal = json.loads(line)
            who = verify_line(signal, keys, args.url, args.source)
        except VerificationError as e:
            refused += 1
            print(f"signal {n}: REFUSED ({e.check}): {e.message}")
            continue
        except ValueError as e:
            refused += 1
            print(f"signal {n}: REFUSED (parse): {e}")
            continue
        print(f"signal {n}: verified, logged by {who}")
        act(signal.get("payload", signal))
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
