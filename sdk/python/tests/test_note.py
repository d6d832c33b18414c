"""Signed notes and checkpoints with several trusted keys, made here with fresh keys."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provlog.checkpoint import verify_checkpoint
from provlog.errors import CheckpointError
from provlog.note import key_id, parse_verifier_key, verify_note

BODY = "example.com/log\n5\n" + base64.b64encode(bytes(32)).decode() + "\n"


class Signer:
    def __init__(self, name: str) -> None:
        self.name, self.sk = name, Ed25519PrivateKey.generate()
        raw = b"\x01" + self.sk.public_key().public_bytes_raw()
        self.id = key_id(name, raw)
        self.vkey = f"{name}+{self.id:08x}+{base64.b64encode(raw).decode()}"

    def line(self, text: str) -> str:
        sig = self.id.to_bytes(4, "big") + self.sk.sign(text.encode())
        return f"\u2014 {self.name} {base64.b64encode(sig).decode()}\n"


def note(text: str, *lines: str) -> str:
    return text + "\n" + "".join(lines)


def test_several_keys_and_unknown_signatures() -> None:
    log, witness, stranger = Signer("example.com/log"), Signer("witness"), Signer("other")
    n = note(BODY, stranger.line(BODY), log.line(BODY), witness.line(BODY))
    keys = [parse_verifier_key(log.vkey), parse_verifier_key(witness.vkey)]
    cp = verify_checkpoint(n, keys)
    assert (cp.origin, cp.size, cp.root) == ("example.com/log", 5, bytes(32))
    assert cp.signed_by == (keys[0].label, keys[1].label)
    assert cp.unknown_signers == (f"other+{stranger.id:08x}",)
    # One trusted key is enough; the others' signatures are skipped.
    assert verify_checkpoint(n, keys[1:]).signed_by == (keys[1].label,)


def test_refusals() -> None:
    log, other = Signer("example.com/log"), Signer("other")
    key = parse_verifier_key(log.vkey)
    good = note(BODY, log.line(BODY))
    bad_sig = note(BODY, log.line(BODY.replace("5", "6")))
    for n in [
        BODY,                                   # no signature
        good.rstrip("\n"),                      # no final newline
        note(BODY, other.line(BODY)),           # only untrusted signers
        bad_sig,                                # a trusted key's signature does not verify
        note(BODY, "- example.com/log AAAA\n"),  # not an em dash
        good.replace("\n5\n", "\n5\t\n"),       # control character
        note(BODY, log.line(BODY)).replace(" ", "  ", 1),
    ]:
        with pytest.raises(CheckpointError):
            verify_checkpoint(n, [key])
    for body in ["example.com/log\n05\n" + BODY.split("\n")[2] + "\n", "example.com/log\n5\nAAAA\n",
                 "example.com/log\n5\n" + BODY.split("\n")[2] + "\n\n"]:
        with pytest.raises(CheckpointError):
            verify_checkpoint(note(body, log.line(body)), [key])


def test_unknown_signature_lines_are_not_verified() -> None:
    log = Signer("example.com/log")
    junk = "\u2014 witness " + base64.b64encode(b"\x00\x00\x00\x01garbage").decode() + "\n"
    verify_note(note(BODY, junk, log.line(BODY)), [parse_verifier_key(log.vkey)])


@pytest.mark.parametrize("text", [
    "name", "name+1234567+AQ==", "na me+00000000+AQ==", "name+zzzzzzzz+AQ==",
])
def test_bad_verifier_keys(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_verifier_key(text)


def test_verifier_key_id_checked() -> None:
    s = Signer("k")
    wrong = s.vkey.replace(f"+{s.id:08x}+", f"+{s.id ^ 1:08x}+")
    with pytest.raises(CheckpointError):
        parse_verifier_key(wrong)
    assert parse_verifier_key(s.vkey).id == s.id


def test_expected_origin() -> None:
    log = Signer("example.com/log")
    n = note(BODY, log.line(BODY))
    key = parse_verifier_key(log.vkey)
    assert verify_checkpoint(n, [key], "example.com/log").size == 5
    with pytest.raises(CheckpointError):
        verify_checkpoint(n, [key], "example.com/other")
