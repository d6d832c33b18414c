"""Receipts verified per second by this SDK, on the golden signal receipt (for BENCHMARKS.md).

    python examples/bench.py [seconds]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from provlog import parse_verifier_key, verify_receipt


def main() -> None:
    root = next(p for p in Path(__file__).resolve().parents if (p / "tests" / "vectors").is_dir())
    vectors = root / "tests" / "vectors" / "receipts"
    keys = [parse_verifier_key((vectors / "log.vkey").read_text())]
    receipt = (vectors / "signal.json").read_text()
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        verify_receipt(receipt, keys)
        n += 1
    elapsed = time.perf_counter() - start
    print(f"python sdk: {n / elapsed:.0f} receipts/s ({n} in {elapsed:.2f} s, signed signal receipt)")


if __name__ == "__main__":
    main()
