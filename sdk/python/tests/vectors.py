"""Finds and reads the golden vectors the Rust tests write (tests/vectors at the repo root)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def vectors_dir() -> Path:
    """tests/vectors of the repository: $PROVLOG_VECTORS, or found by walking up from here."""
    env = os.environ.get("PROVLOG_VECTORS")
    if env:
        return Path(env)
    for d in Path(__file__).resolve().parents:
        if (d / "tests" / "vectors" / "inclusion.json").is_file():
            return d / "tests" / "vectors"
    raise FileNotFoundError("tests/vectors not found above " + __file__)


def load(name: str) -> dict[str, Any]:
    """One vector file, parsed."""
    return json.loads((vectors_dir() / name).read_text(encoding="utf-8"))


def cases(name: str) -> list[Any]:
    """The cases of a vector file, as pytest params with their descriptions as ids."""
    import pytest

    return [pytest.param(c, id=c["desc"]) for c in load(name)["cases"]]
