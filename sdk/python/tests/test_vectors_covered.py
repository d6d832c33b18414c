"""Every golden vector file is run by some test here: a file added on the Rust side fails
until this SDK reads it (new cases in a known file are picked up by the parametrised tests)."""

from vectors import vectors_dir

COVERED = {
    "consistency.json", "evidence.json", "inclusion.json", "registry.json", "scores.json",
    "track-records.json", "receipts/cases.json", "receipts/digest.json", "receipts/log.vkey",
    "receipts/signal.json", "receipts/snapshot-row.json",
}


def test_every_vector_file_is_covered() -> None:
    root = vectors_dir()
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert found == COVERED, f"vector files not read by the Python SDK: {sorted(found - COVERED)}"
