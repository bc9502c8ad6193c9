"""The newcomer's path: the server on its embedded defaults (SQLite, the offline engine), and
the README's softphone conversation held with it: availability asked and answered from the
store, a lead created, a transfer requested (and attempted against the fake Twilio REST).

Real speech both ways: an espeak caller, the Piper agent, Whisper listening on both sides, the
telephone channel between.
"""

from __future__ import annotations

import re
from pathlib import Path

import trio

from hotelvoice.hotel.store import Store
from hotelvoice.softphone.recording import build_report
from hotelvoice.speech.scoring import spoken_words, word_errors
from tests.e2e.conftest import FRONT_DESK, LocalServer, softphone_call, transcript

README = Path(__file__).parents[2] / "README.md"


def readme_call_lines() -> list[str]:
    """The ``--say`` lines of the README's softphone command (the test runs exactly those)."""
    command = next(block for block in README.read_text().split("```") if "hotelvoice call" in block)
    return re.findall(r'--say "([^"]+)"', command)


async def test_the_readme_conversation_books_and_transfers(local_server: LocalServer) -> None:
    lines_said = readme_call_lines()
    assert len(lines_said) >= 3
    record, call = await softphone_call(local_server, lines_said)
    with Store.open(local_server.db) as store:
        leads = store.leads("default")
    heard = transcript(call)
    assert len(leads) == 1, (
        f"{heard}\n{record.outcome} {record.duration} {record.notes} {record.timings}"
    )
    (lead,) = leads
    assert lead.name == "Mary Jones"
    assert lead.adults == 2
    assert lead.check_in is not None and lead.check_in.weekday() == 4  # next weekend's Friday
    transfer = [r for r in local_server.rest.requests if r.call_sid == record.call_sid]
    assert transfer and FRONT_DESK in transfer[0].form["Twiml"], heard
    tools = [turn.tool_name for turn in call.turns if turn.role == "tool"]
    assert tools == ["check_availability", "create_lead", "transfer_to_human"]
    assert "Transferred to front desk" in (call.summary or "")
    # The softphone's transcript of the agent, recognised free-form from the audio it played.
    report = await trio.to_thread.run_sync(build_report, record)
    agent = [
        " ".join(spoken_words(entry.text))
        for entry in report.transcript
        if entry.speaker == "agent"
    ]
    # Whisper tiny hears the hotel's name as "Sunset in" or "our hotel" at times: up to two of
    # the twelve words may be off.
    greeting = "Thank you for calling Sunset Inn. How can I help you today?"
    assert word_errors(greeting, agent[0]) <= 2, agent
    assert any(word_errors("May I have your name, please?", text) <= 1 for text in agent), agent
