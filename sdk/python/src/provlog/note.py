"""C2SP signed notes: verifier keys (``name+hexid+base64``) and signature lines.

Signatures by keys the verifier does not know are skipped (witnesses may cosign), as the
signed-note spec requires; at least one signature must be by a trusted key, and every
signature by a trusted key must verify.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .encoding import b64decode
from .errors import CheckpointError
from .hash import sha256
from .ed25519 import verify_strict

ALG_ED25519 = 0x01
MAX_NOTE_BYTES = 1_000_000
MAX_SIGNATURES = 100
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


@dataclass(frozen=True)
class VerifierKey:
    """A trusted note key: its name, 32-bit id and Ed25519 public key."""

    name: str
    id: int
    key: bytes
    text: str

    @property
    def label(self) -> str:
        """``name+hexid``, as errors and results name keys."""
        return label(self.name, self.id)


@dataclass(frozen=True)
class SignedNote:
    """A verified note: its text and the labels of the trusted and unknown signers."""

    text: str
    signed_by: tuple[str, ...]
    unknown_signers: tuple[str, ...]


def label(name: str, key_id: int) -> str:
    """``name+hexid`` of a key."""
    return f"{name}+{key_id:08x}"


def valid_key_name(name: str) -> bool:
    """A key name is non-empty, with no white space and no '+'."""
    return bool(name) and not any(c.isspace() or c == "+" for c in name)


def key_id(name: str, encoded_key: bytes) -> int:
    """The key id: the first four bytes of SHA-256(name || 0x0a || 0x01 || key)."""
    return int.from_bytes(sha256(name.encode() + b"\n" + encoded_key)[:4], "big")


def parse_verifier_key(text: str) -> VerifierKey:
    """Parses a verifier key ``name+hexid+base64(0x01 || key)``, checking its id."""
    t = text.strip()
    parts = t.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("malformed verifier key: expected name+id+key")
    name, id_hex, b64 = parts
    if not valid_key_name(name):
        raise CheckpointError(f"invalid key name {name!r}")
    if not re.fullmatch(r"[0-9a-fA-F]{8}", id_hex):
        raise CheckpointError("malformed verifier key: key id must be 8 hex digits")
    raw = b64decode(b64)
    if not raw:
        raise CheckpointError("malformed verifier key: key is not base64")
    if raw[0] != ALG_ED25519:
        raise CheckpointError(
            "malformed verifier key: unsupported algorithm (only Ed25519, 0x01)"
        )
    if len(raw) != 33:
        raise CheckpointError("malformed verifier key: Ed25519 keys are 32 bytes")
    kid = int(id_hex, 16)
    if key_id(name, raw) != kid:
        raise CheckpointError("malformed verifier key: key id does not match name and key")
    return VerifierKey(name, kid, raw[1:], t)


def _malformed() -> CheckpointError:
    return CheckpointError("malformed signed note")


def verify_note(note: str, trusted: Sequence[VerifierKey]) -> SignedNote:
    """Verifies a signed note against ``trusted`` keys; raises :class:`CheckpointError`."""
    try:
        data = note.encode("utf-8")
    except UnicodeEncodeError:
        raise _malformed() from None
    if len(data) > MAX_NOTE_BYTES or _CONTROL.search(note) or not note.endswith("\n"):
        raise _malformed()
    cut = note.rfind("\n\n")
    if cut < 0:
        raise _malformed()
    text = note[: cut + 1]
    lines = note[cut + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed()
    sigs = []
    for line in lines:
        if not line.startswith("\u2014 "):
            raise _malformed()
        name, sp, b64 = line[2:].partition(" ")
        raw = b64decode(b64) if sp else None
        if raw is None or len(raw) < 5 or not valid_key_name(name):
            raise _malformed()
        sigs.append((name, int.from_bytes(raw[:4], "big"), raw[4:], line))
    signed_by: list[str] = []
    unknown: list[str] = []
    seen_unknown: set[str] = set()
    message = text.encode()
    for name, kid, sig, line in sigs:
        matching = [k for k in trusted if k.name == name and k.id == kid]
        if len(matching) > 1:
            raise CheckpointError(f"more than one trusted key is named {label(name, kid)}")
        if not matching:
            if line not in seen_unknown:
                unknown.append(label(name, kid))
            seen_unknown.add(line)
            continue
        if label(name, kid) in signed_by:
            continue
        if not verify_strict(matching[0].key, message, sig):
            raise CheckpointError(
                f"signature by trusted key {label(name, kid)} does not verify"
            )
        signed_by.append(label(name, kid))
    if not signed_by:
        names = ", ".join(f'"{label(n, i)}"' for n, i, _, _ in sigs)
        raise CheckpointError(f"no signature from a trusted key (signed by: [{names}])")
    return SignedNote(text, tuple(signed_by), tuple(unknown))
