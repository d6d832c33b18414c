"""examples/bot.py, offline: a verified signal is acted on, tampered ones are refused."""

import json
import runpy
import sys
from pathlib import Path

import pytest
from vectors import load

BOT = Path(__file__).parents[1] / "examples" / "bot.py"


def test_bot_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ev = load("evidence.json")
    case = ev["cases"][0]
    good = {"payload": {"signal": 2}, "receipt": case["receipt"], "source_evidence": case["source_evidence"]}
    lines = [good, {**good, "payload": {"signal": 3}}, {**good, "source_evidence": None}, {"signal": 1}]
    f = tmp_path / "signals.ndjson"
    f.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    monkeypatch.setattr(sys, "argv", ["bot.py", "--key", ev["log_vkey"], str(f)])
    with pytest.raises(SystemExit) as code:
        runpy.run_path(str(BOT), run_name="__main__")
    assert code.value.code == 1
    out = capsys.readouterr().out
    assert "signal 1: verified, logged by acme-signals" in out
    assert "acting on {\"signal\": 2}" in out
    assert "signal 2: REFUSED (content_mismatch)" in out
    assert "signal 3: REFUSED (key_not_registered)" in out
    assert "signal 4: REFUSED (evidence)" in out
    assert "signal 5: REFUSED (parse)" in out
