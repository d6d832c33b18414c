"""A small log monitor: keeps the last verified checkpoint in a file and accepts the next one
only with a consistency proof from it, so a log that shows two views (a split view, a rewritten
history) is caught. :class:`SplitView` is raised on such evidence.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .checkpoint import Checkpoint, verify_checkpoint
from .encoding import b64_hash
from .errors import CheckpointError, ProofError, VerificationError
from .log import verify_consistency
from .receipt import Keys, trusted_keys


class SplitView(VerificationError):
    """Two signed checkpoints that cannot both be views of one append-only log."""

    def __init__(self, message: str) -> None:
        super().__init__("consistency", message)


def check_consistent(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raises :class:`SplitView` unless ``new`` extends ``old`` by ``proof`` (RFC 9162)."""
    if old.origin != new.origin:
        raise VerificationError("origin", f'checkpoints of two logs: "{old.origin}" and "{new.origin}"')
    if new.size < old.size:
        raise SplitView(f"the log shrank from {old.size} to {new.size} leaves")
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except ProofError as e:
        raise SplitView(f"checkpoint {new.size} does not extend checkpoint {old.size}: {e}") from None


class Monitor:
    """Follows one log: ``state`` is the file holding the last verified checkpoint note."""

    def __init__(self, state: str | os.PathLike[str], keys: Keys) -> None:
        self.state = Path(state)
        self.keys = trusted_keys(keys)

    def last(self) -> Checkpoint | None:
        """The last verified checkpoint, re-verified, or None on the first run."""
        if not self.state.exists():
            return None
        return verify_checkpoint(self.state.read_text(encoding="utf-8"), self.keys)

    def advance(self, note: str, proof: Sequence[bytes] = ()) -> Checkpoint:
        """Verifies ``note`` and, if a checkpoint was kept, that ``proof`` shows ``note``
        extends it; then keeps ``note``. Raises :class:`SplitView` or ``VerificationError``."""
        try:
            new = verify_checkpoint(note, self.keys)
        except CheckpointError as e:
            raise VerificationError("checkpoint", str(e)) from None
        old = self.last()
        if old is not None:
            check_consistent(old, new, proof)
        if old is None or new.size > old.size:
            tmp = self.state.with_suffix(self.state.suffix + ".tmp")
            tmp.write_text(note, encoding="utf-8")
            os.replace(tmp, self.state)
        return new

    def poll(self, client: Any) -> Checkpoint:
        """Fetches the latest checkpoint and its consistency proof from ``client`` (a
        :class:`~provlog.client.Client`) and :meth:`advance`\\ s to it."""
        note = client.checkpoint()
        old = self.last()
        try:
            new = verify_checkpoint(note, self.keys)
        except CheckpointError as e:
            raise VerificationError("checkpoint", str(e)) from None
        proof: list[bytes] = []
        if old is not None and 0 < old.size < new.size:
            answer = client.consistency(old.size, new.size)
            hashes = [b64_hash(h) for h in answer.get("proof", [])]
            if any(h is None for h in hashes):
                raise VerificationError("parse", "the consistency proof holds a hash that is not base64 of 32 bytes")
            proof = [h for h in hashes if h is not None]
        return self.advance(note, proof)
