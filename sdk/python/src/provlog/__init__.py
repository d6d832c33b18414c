"""Offline verification of provlog evidence, with no trust in the server.

Everything here is held to the golden vectors the Rust core writes (``tests/vectors``): RFC 9162
proofs, C2SP signed-note checkpoints, strict Ed25519, RFC 8785 canonical JSON, records and
receipts, source-key evidence, registry histories, track-record bundles and their scores.

>>> from provlog import parse_verifier_key, verify_receipt
>>> keys = [parse_verifier_key("example.com/log+0123abcd+AQ...")]  # doctest: +SKIP
>>> verified = verify_receipt(receipt_json, keys)                 # doctest: +SKIP
"""

from .checkpoint import Checkpoint, verify_checkpoint
from .errors import CheckpointError, ProofError, StrictJsonError, VerificationError
from .evidence import VerifiedKey, verify_source_evidence
from .hash import leaf_hash, node_hash
from .jcs import canonicalize, parse_strict_json
from .log import verify_consistency, verify_inclusion
from .note import VerifierKey, parse_verifier_key, verify_note
from .payload import content_root_of_payload, item_leaf_hash, payload_hash
from .receipt import Receipt, VerifiedReceipt, anchor_log_id, parse_receipt, verify_receipt
from .record import Record, parse_record
from .registry import SourceHistory, read_registry_event
from .score import ScoreError, score
from .track_record import VerifiedTrackRecord, verify_track_record

__version__ = "0.1.0"

__all__ = [
    "Checkpoint", "CheckpointError", "ProofError", "Receipt", "Record", "ScoreError",
    "SourceHistory", "StrictJsonError", "VerificationError", "VerifiedKey", "VerifiedReceipt",
    "VerifiedTrackRecord", "VerifierKey", "anchor_log_id", "canonicalize",
    "content_root_of_payload", "item_leaf_hash", "leaf_hash", "node_hash", "parse_receipt",
    "parse_record", "parse_strict_json", "parse_verifier_key", "payload_hash",
    "read_registry_event", "score", "verify_checkpoint", "verify_consistency",
    "verify_inclusion", "verify_note", "verify_receipt", "verify_source_evidence",
    "verify_track_record",
]
