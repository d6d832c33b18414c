"""tlog-checkpoint bodies (origin, tree size, root hash, extensions) in signed notes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .encoding import b64_hash
from .errors import CheckpointError
from .note import VerifierKey, verify_note


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint whose note verified against the trusted keys."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]
    signed_by: tuple[str, ...]
    unknown_signers: tuple[str, ...]
    text: str


def verify_checkpoint(
    note: str | bytes, trusted: Sequence[VerifierKey], origin: str | None = None
) -> Checkpoint:
    """Verifies a checkpoint note and parses its body (of log ``origin`` when given); raises
    :class:`CheckpointError`."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("malformed signed note") from None
    signed = verify_note(note, trusted)
    lines = signed.text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("malformed checkpoint body")
    name, size_text, root_text, *extensions = lines
    root = b64_hash(root_text)
    if (
        not name
        or not re.fullmatch(r"0|[1-9][0-9]*", size_text)
        or int(size_text) >= 1 << 64
        or root is None
        or "" in extensions
    ):
        raise CheckpointError("malformed checkpoint body")
    if origin is not None and name != origin:
        raise CheckpointError(f'checkpoint is for log "{name}", expected "{origin}"')
    return Checkpoint(
        name, int(size_text), root, tuple(extensions), signed.signed_by,
        signed.unknown_signers, note,
    )
