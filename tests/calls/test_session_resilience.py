"""CallSession, sans-IO, when the model link fails: back-off within a budget, the cut-off
answer asked for again, the mid-call fallback, the session rollover, and per-call memory that
stays bounded however long the call."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from hotelvoice.calls.machine import EndReason, Trigger
from hotelvoice.calls.ports import ToolOutcome
from hotelvoice.calls.session import (
    FALLBACK_INSTRUCTIONS,
    MAX_REMEMBERED_IDS,
    MAX_REPLAYED_CHARS,
    MAX_REPLAYED_ITEMS,
    Action,
    CallSession,
    ReconnectModel,
    RunTool,
    SwitchModel,
)
from hotelvoice.config import Settings
from hotelvoice.metrics import Metrics
from hotelvoice.wire import realtime as rt
from hotelvoice.wire import twilio as tw
from tests.calls.test_session import SID, Clock, delta, marks, model_texts, ready, speak


def make(
    clock: Clock | None = None, *, fallback: bool = False, jitter: float = 1.0, **overrides: Any
) -> CallSession:
    return CallSession(
        call_sid="CA1",
        stream_sid=SID,
        settings=attrs.evolve(Settings(), **overrides),
        clock=clock or Clock(),
        metrics=Metrics(),
        fallback=fallback,
        jitter=lambda: jitter,
    )


def rollover_due(session: CallSession) -> bool:
    return session.machine.rollover_due


def delay_of(actions: list[Action]) -> float | None:
    found = [a for a in actions if isinstance(a, ReconnectModel)]
    return found[0].delay_s if found else None


def creates(actions: list[Action]) -> list[dict[str, Any]]:
    return [e for e in model_texts(actions) if e["type"] == "response.create"]


def test_reconnects_back_off_doubling_to_the_cap_within_a_budget_per_window() -> None:
    clock = Clock()
    session = make(clock, max_model_reconnects=6)
    ready(session)
    delays = []
    for _ in range(6):
        delays.append(delay_of(session.on_model_lost("closed (1006)")))
        clock.now += 0.1
        ready(session)
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert session.on_model_lost("closed (1006)") == []  # the seventh in the window
    assert session.ended and session.end_cause is EndReason.MODEL_UNAVAILABLE


def test_the_budget_is_a_sliding_window_and_jitter_takes_up_to_half() -> None:
    clock = Clock()
    session = make(clock, jitter=0.0)  # 3 reconnects per 60 s
    ready(session)
    for expected in (0.125, 0.25, 0.5):
        assert delay_of(session.on_model_lost("drop")) == expected
        ready(session)
    clock.now += 59.0
    assert session.on_model_lost("drop") == []
    assert session.ended

    session = make(clock, jitter=0.0)
    ready(session)
    for _ in range(3):
        session.on_model_lost("drop")
        ready(session)
    clock.now += 60.0  # the first drops have left the window: back to a short back-off
    assert delay_of(session.on_model_lost("drop")) == 0.125


def test_a_failed_reconnect_counts_against_the_budget_and_backs_off_further() -> None:
    session = make()
    ready(session)
    assert delay_of(session.on_model_lost("closed (1006)")) == 0.25
    assert session.state == "connecting"
    assert delay_of(session.on_model_lost("connect failed: refused")) == 0.5
    assert delay_of(session.on_model_lost("connect failed: refused")) == 1.0
    assert session.on_model_lost("connect failed: refused") == []
    assert session.ended and "model unavailable" in (session.end_reason or "")
    assert session.metrics.get("hotelvoice_model_reconnects_total") == 3


def test_a_drop_mid_answer_asks_for_the_answer_again_after_the_replay() -> None:
    session = make()
    ready(session)
    session.on_model(rt.InputTranscriptCompleted("u1", "Is breakfast included?"))
    speak(session, b"\x01" * 320)  # the answer is playing when the model drops
    assert delay_of(session.on_model_lost("closed (1006)")) is not None
    replay = model_texts(ready(session))
    assert replay[0] == rt.user_text_item("Is breakfast included?")
    assert replay[-1] == {"type": "response.create"}
    # Late audio of the lost answer is never played.
    assert session.on_model(delta(b"\x01" * 160, item="item_1")) == []


def test_a_committed_turn_not_yet_answered_is_answered_after_the_reconnect() -> None:
    session = make()
    ready(session)
    session.on_model(rt.SpeechStarted("u1", 0))
    session.on_model(rt.SpeechStopped("u1", 900))
    session.on_model_lost("closed (1006)")
    assert creates(ready(session)) == [{"type": "response.create"}]


@pytest.mark.parametrize("scenario", ["idle", "caller_talking_over", "answer_finished"])
def test_nothing_owed_means_no_response_after_the_reconnect(scenario: str) -> None:
    session = make()
    ready(session)
    if scenario == "caller_talking_over":
        speak(session, b"\x01" * 320)
        session.on_model(rt.SpeechStarted("u1", 0))  # the caller barges in; then the drop
    elif scenario == "answer_finished":
        speak(session, b"\x01" * 320)
        session.on_model(rt.ResponseDone("resp_1", "completed", None, (), None))
    session.on_model_lost("closed (1006)")
    assert creates(ready(session)) == []


def test_setup_deadline_falls_back_once_then_the_fallback_has_its_own_deadline() -> None:
    clock = Clock()
    session = make(clock, fallback=True)
    clock.now += 5.0
    assert session.on_deadline() == [SwitchModel(fallback=True)]
    assert session.state == "connecting" and not session.ended
    assert session.metrics.get("hotelvoice_model_fallbacks_total", reason="setup_timeout") == 1
    assert session.next_deadline() == clock.now + 5.0  # the fallback's own setup deadline
    clock.now += 5.0
    assert session.on_deadline() == []
    assert session.end_cause is EndReason.MODEL_SETUP_TIMEOUT


def test_the_fallback_as_the_first_session_greets_instead_of_apologising() -> None:
    session = make(fallback=True)
    assert session.on_model_lost("connect failed: refused") == [SwitchModel(fallback=True)]
    assert session.metrics.get("hotelvoice_model_fallbacks_total", reason="connect_failed") == 1
    assert creates(ready(session)) == [{"type": "response.create"}]


def test_drops_beyond_the_budget_fall_back_with_the_conversation_and_one_apology() -> None:
    session = make(fallback=True, max_model_reconnects=1)
    ready(session)
    session.on_model(rt.InputTranscriptCompleted("u1", "I need a late checkout."))
    speak(session, b"\x01" * 320)
    assert delay_of(session.on_model_lost("closed (1006)")) is not None
    ready(session)
    actions = session.on_model_lost("closed (1006)")
    assert SwitchModel(fallback=True) in actions
    assert session.state == "connecting"
    replay = model_texts(ready(session))
    assert replay[0] == rt.user_text_item("I need a late checkout.")
    assert [e for e in replay if e["type"] == "response.create"] == [
        rt.response_create(instructions=FALLBACK_INSTRUCTIONS)
    ]
    counted = session.metrics.get("hotelvoice_model_fallbacks_total", reason="reconnects_exhausted")
    assert counted == 1 and session.stats.fallbacks == 1
    # Only one fallback per call: the fallback's own budget spent, the call ends.
    session.on_model_lost("closed (1006)")
    ready(session)
    assert session.on_model_lost("closed (1006)") == []
    assert session.ended and session.stats.fallbacks == 1


def test_rollover_waits_for_a_quiet_moment_then_renews_the_session_without_speaking() -> None:
    clock = Clock()
    session = make(clock, silence_timeout_s=10_000.0, max_call_duration_s=10_000.0)
    ready(session)
    session.on_model(rt.InputTranscriptCompleted("u1", "What time is checkout?"))
    clock.now += 3299.0
    played = speak(session, b"\x01" * 800)
    assert session.next_deadline() == 100.0 + 3300.0
    clock.now += 1.0
    assert session.on_deadline() == []  # due, but the answer is still playing
    assert rollover_due(session) and session.state == "speaking"
    assert session.next_deadline() > clock.now  # no busy deadline while it waits
    actions: list[Action] = []
    played += session.on_model(rt.ResponseDone("resp_1", "completed", None, (), None))
    for name in marks(played):
        actions += session.on_twilio(tw.MarkEcho(2, SID, name))
    assert SwitchModel(fallback=False) in actions
    assert session.state == "connecting" and session.stats.rollovers == 1
    replay = ready(session)
    assert model_texts(replay)[0] == rt.user_text_item("What time is checkout?")
    assert creates(replay) == []  # nothing was owed: nobody speaks
    assert not rollover_due(session)
    assert session.next_deadline() == clock.now + 3300.0  # the new session's own rollover


def test_rollover_due_while_a_tool_runs_waits_for_its_answer() -> None:
    clock = Clock()
    session = make(clock, silence_timeout_s=10_000.0, max_call_duration_s=10_000.0)
    ready(session)
    clock.now += 3300.0
    session.on_model(rt.ResponseCreated("resp_t"))
    (run,) = session.on_model(
        rt.FunctionCallArgumentsDone("resp_t", "item_t", "call_1", "get_hotel_info", "{}")
    )
    assert isinstance(run, RunTool)
    assert session.on_deadline() == []
    assert session.machine.rollover_due
    session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    follow_up = session.on_tool_result("call_1", ToolOutcome('{"ok":true}'))
    assert creates(follow_up) and SwitchModel(fallback=False) not in follow_up
    session.on_model(rt.ResponseCreated("resp_2"))
    done = session.on_model(rt.ResponseDone("resp_2", "completed", None, (), None))
    assert SwitchModel(fallback=False) in done  # answered, nothing playing: quiet


def test_a_rollover_never_interrupts_our_goodbye() -> None:
    clock = Clock()
    session = make(clock, silence_timeout_s=10_000.0, max_call_duration_s=3300.0)
    ready(session)
    clock.now += 3300.0
    actions = session.on_deadline()  # the whole-call deadline comes first: the goodbye
    assert creates(actions)[0]["response"]["instructions"]
    assert session.on_deadline() == []
    assert SwitchModel(fallback=False) not in actions and session.stats.rollovers == 0


def test_history_is_bounded_by_items_and_characters_but_keeps_the_latest_turn() -> None:
    session = make()
    ready(session)
    for n in range(2000):
        session.on_model(rt.InputTranscriptCompleted(f"u{n}", f"question number {n}"))
    assert len(session.history) == MAX_REPLAYED_ITEMS
    assert session.history[-1] == rt.user_text_item("question number 1999")
    huge = "x" * (MAX_REPLAYED_CHARS // 3)
    for n in range(10):
        session.on_model(rt.OutputTranscriptDone(f"r{n}", f"a{n}", huge + str(n)))
    chars = sum(len(rt.dumps(item)) for item in session.history)
    assert chars <= MAX_REPLAYED_CHARS and len(session.history) == 2
    assert session.history[-1]["item"]["content"][0]["text"].endswith("9")
    session.on_model(rt.OutputTranscriptDone("r", "a", "y" * (2 * MAX_REPLAYED_CHARS)))
    assert len(session.history) == 1  # one oversized turn is still the latest turn


def test_a_replayed_tool_output_never_comes_without_its_call() -> None:
    session = make()
    ready(session)
    session.on_model(rt.ResponseCreated("resp_t"))
    session.on_model(
        rt.FunctionCallArgumentsDone("resp_t", "item_t", "call_1", "get_hotel_info", "{}")
    )
    session.on_tool_result("call_1", ToolOutcome('{"ok":true}'))
    session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    for n in range(MAX_REPLAYED_ITEMS - 1):  # pushes the call out, leaves its output
        session.on_model(rt.InputTranscriptCompleted(f"u{n}", f"turn {n}"))
    assert session.history[0]["item"]["type"] == "function_call_output"
    session.on_model_lost("drop")
    replay = model_texts(ready(session))
    assert all(e.get("item", {}).get("type") != "function_call_output" for e in replay)


def test_late_audio_ids_function_calls_and_problem_kinds_stay_bounded() -> None:
    session = make()
    ready(session)
    for n in range(1000):
        session.on_model(rt.ResponseCreated(f"resp_{n}"))
        session.on_model(delta(b"\x01" * 160, item=f"item_{n}", response=f"resp_{n}"))
        session.on_model(rt.SpeechStarted(f"u{n}", 0))  # a barge-in cuts each answer
        session.on_model(rt.ResponseDone(f"resp_{n}", "cancelled", None, (), None))
    assert len(session._cut_items) <= MAX_REMEMBERED_IDS
    assert session.on_model(delta(b"\x01" * 160, item="item_999", response="resp_999")) == []
    for n in range(1000):
        session.on_model(
            rt.OutputItemAdded("resp_f", {"type": "function_call", "call_id": f"c{n}", "name": "x"})
        )
        session.on_model(rt.FunctionCallArgumentsDone("resp_f", f"i{n}", f"c{n}", "x", "{}"))
    assert len(session._seen_calls) <= MAX_REMEMBERED_IDS
    assert len(session._function_names) <= MAX_REMEMBERED_IDS
    assert session.on_model(rt.FunctionCallArgumentsDone("resp_f", "i", "c999", "x", "{}")) == []
    for n in range(1000):
        session.on_model(rt.RealtimeError(f"made_up_{n}", "m", "invalid_request_error", None, None))
    assert len(session.stats.problems) < 10
    assert session.stats.problems["model_error:other"] == 1000
    assert json.dumps(session.summary())  # one short line, whatever the model sent
    assert len(session.summary()) < 600


def test_without_a_fallback_the_fallback_row_does_not_move() -> None:
    session = make(fallback=False)
    ready(session)
    assert session.machine.allows(Trigger.MODEL_FALLBACK)  # named, but its condition fails
    assert not session.machine.fire(Trigger.MODEL_FALLBACK)
    assert session.state == "listening"
    assert not session.machine.invalid_events
