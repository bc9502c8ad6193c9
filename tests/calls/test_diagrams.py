"""docs/state-diagrams/ must be exactly what the machine's tables render."""

from __future__ import annotations

from pathlib import Path

from hotelvoice.calls import diagrams
from hotelvoice.calls.machine import STATES, TRANSITIONS
from hotelvoice.web.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "state-diagrams"


def test_committed_diagrams_match_the_code() -> None:
    assert diagrams.check(DOCS) == [], "run `hotelvoice diagrams` and commit the result"


def test_diagram_names_every_state_and_trigger() -> None:
    text = diagrams.mermaid()
    assert text.splitlines()[3] == "stateDiagram-v2"
    for state in STATES:
        assert f" {state} " in text or f" {state}\n" in text or f">{state}" in text
    for row in TRANSITIONS:
        assert str(row.trigger) in text


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    assert main(["diagrams", "--dir", str(tmp_path)]) == 0
    assert main(["diagrams", "--check", "--dir", str(tmp_path)]) == 0
    (tmp_path / "call.mmd").write_text("stateDiagram-v2\n", encoding="utf-8")
    assert main(["diagrams", "--check", "--dir", str(tmp_path)]) == 1
