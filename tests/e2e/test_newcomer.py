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
from hotelvoice.softphone.client import CallOptions, SoftphoneCall
from hotelvoice.softphone.recording import build_report
from hotelvoice.softphone.script import load_lines, parse_entry
from hotelvoice.speech.scoring import spoken_words, word_errors
from tests.e2e.conftest import AUTH_TOKEN, FRONT_DESK, LOCAL_ACCOUNT_SID, LocalServer

README = Path(__file__).parents[2] / "README.md"


def readme_call_lines() -> list[str]:
    """The ``--say`` lines of the README's softphone command (the test runs exactly those)."""
    command = next(block for block in README.read_text().split("```") if "hotelvoice call" in block)
    return re.findall(r'--say "([^"]+)"', command)


async def test_the_readme_conversation_books_and_transfers(local_server: LocalServer) -> None:
    lines_said = readme_call_lines()
    assert len(lines_said) >= 3
    lines = await trio.to_thread.run_sync(
        lambda: load_lines([parse_entry(text) for text in lines_said])
    )
    options = CallOptions(
        server=local_server.url,
        public_url="http://127.0.0.1:8080",  # the server's PUBLIC_URL default
        auth_token=AUTH_TOKEN,
        account_sid=LOCAL_ACCOUNT_SID,
        speed=5.0,  # call time runs 5x: generous turn deadlines keep a busy machine in step
        max_seconds=300,
        greeting_timeout_s=60,
        answer_timeout_s=60,
        # A caller being put through waits for the hand-over rather than hanging up as the
        # goodbye ends: at 5x the default 0.7 s of quiet is 0.14 s, less than the engine may
        # take on a busy machine between its last sentence and the end of its response.
        quiet_s=5.0,
    )
    with trio.fail_after(180):
        record = await SoftphoneCall(options, lines).run()
    assert record.clean, record
    # The call's record is written once the server has seen the stream end.
    for _ in range(400):
        with Store.open(local_server.db) as store:
            leads = store.leads("default")
            call = store.call_record(record.call_sid)
        if call is not None and call.ended_at is not None:
            break
        await trio.sleep(0.05)
    assert call is not None
    heard = "\n".join(f"{turn.role}: {turn.text} {turn.tool_result or ''}" for turn in call.turns)
    assert len(leads) == 1, (
        f"{heard}\n{record.outcome} {record.duration} {record.notes} {record.timings}"
    )
    (lead,) = leads
    assert lead.name == "Mary Jones"
    assert lead.adults == 2
    assert lead.check_in is not None and lead.check_in.weekday() == 4  # next weekend's Friday
    transfer = [r for r in local_server.rest.requests if r.call_sid == record.call_sid]
    assert transfer and FRONT_DESK in transfer[0].form["Twiml"], (
        f"{heard}\n{record.outcome} {record.duration} {record.timings[-1]} "
        f"{[(round(p.start, 2), round(p.end, 2)) for p in record.playout.played][-60:]}"
    )
    assert call is not None
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
