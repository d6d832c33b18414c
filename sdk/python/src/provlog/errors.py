"""The errors of the verifier."""

from __future__ import annotations


class VerificationError(Exception):
    """Evidence failed a check.

    ``check`` names the failed check with the names provlog-core and the golden vectors use
    (``parse``, ``format``, ``record``, ``record_hash``, ``checkpoint``, ``origin``,
    ``inclusion``, ``item``, ``anchor``, ``signature``, and the source-key evidence checks).
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message


class ProofError(ValueError):
    """A Merkle proof (inclusion or consistency) does not verify."""


class StrictJsonError(ValueError):
    """Bytes that provlog's strict JSON reader refuses."""


class CheckpointError(ValueError):
    """A signed note or checkpoint that is malformed or not signed by a trusted key."""
