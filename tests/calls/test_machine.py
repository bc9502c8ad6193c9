"""The call state machine's table: allowed moves, refused moves, and the time of entry."""

from __future__ import annotations

import logging

import pytest

from hotelvoice.calls.machine import (
    _MACHINE,
    CLOSING_TRANSITIONS,
    DEADLINES,
    LIVE_STATES,
    STATES,
    SUB_STATES,
    TRANSFER_TRANSITIONS,
    TRANSITIONS,
    TRIGGER_DESCRIPTIONS,
    CallMachine,
    CallState,
)
from hotelvoice.config import Settings


class Clock:
    """A settable time source (the service uses trio.current_time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock | None = None) -> CallMachine:
    return CallMachine("CA1", clock=clock or Clock())


def test_happy_path_and_entry_times() -> None:
    clock = Clock()
    machine = make(clock)
    assert machine.state == "connecting"
    clock.now = 1.5
    assert machine.fire("session_ready")
    assert machine.state == "listening" and machine.entered_at == 1.5
    clock.now = 2.0
    machine.fire("model_audio")
    assert machine.state == "speaking" and machine.entered_at == 2.0
    machine.fire("barge_in")
    assert machine.state == "interrupted"
    machine.fire("caller_done")
    assert machine.state == "listening"
    machine.fire("hangup")
    assert machine.ended
    assert [row[1] for row in machine.history] == [
        "session_ready",
        "model_audio",
        "barge_in",
        "caller_done",
        "hangup",
    ]


def test_invalid_events_are_counted_and_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine = make()
    with caplog.at_level(logging.WARNING):
        assert not machine.fire("playback_done")
        assert not machine.fire("no_such_trigger")
    assert machine.state == "connecting"
    assert machine.invalid_events["playback_done@connecting"] == 1
    assert machine.invalid_events["no_such_trigger@connecting"] == 1
    assert "not allowed in state 'connecting'" in caplog.text


def test_reflexive_transition_restarts_the_state_deadline_clock() -> None:
    clock = Clock()
    machine = make(clock)
    machine.fire("session_ready")
    clock.now = 12.0
    machine.fire("silence_timeout")
    assert machine.state == "listening" and machine.entered_at == 12.0


def test_internal_transition_keeps_entry_time() -> None:
    clock = Clock()
    machine = make(clock)
    machine.fire("session_ready")
    machine.fire("tool_call")
    entered = machine.entered_at
    clock.now = 3.0
    assert machine.fire("model_audio")
    assert machine.state == "calling_tool" and machine.entered_at == entered


def test_tools_done_goes_to_speaking_only_while_audio_is_outstanding() -> None:
    outstanding = [True]
    machine = CallMachine("CA1", clock=Clock(), audio_outstanding=lambda: outstanding[0])
    machine.fire("session_ready")
    machine.fire("tool_call")
    machine.fire("tools_done")
    assert machine.state == "speaking"
    machine.fire("tool_call")
    outstanding[0] = False
    machine.fire("tools_done")
    assert machine.state == "listening"


@pytest.mark.parametrize("state", LIVE_STATES)
@pytest.mark.parametrize("trigger", ["hangup", "finish"])
def test_every_live_state_can_end(state: str, trigger: str) -> None:
    machine = make()
    _MACHINE.set_state(str(state), model=machine)
    assert machine.fire(trigger)
    assert machine.ended


def test_nothing_leaves_ended() -> None:
    machine = make()
    machine.fire("hangup")
    for trigger in {row.trigger for row in (*TRANSITIONS, *CLOSING_TRANSITIONS)}:
        assert not machine.fire(trigger)
    assert machine.ended


def test_tables_are_complete() -> None:
    assert set(STATES) == set(CallState)
    rows = (*TRANSITIONS, *CLOSING_TRANSITIONS, *TRANSFER_TRANSITIONS)
    assert {row.trigger for row in rows} == set(TRIGGER_DESCRIPTIONS)
    settings = Settings()
    for state, deadline in DEADLINES.items():
        assert state in STATES or state in SUB_STATES
        assert deadline.seconds(settings) > 0
        assert deadline.trigger in TRIGGER_DESCRIPTIONS


def test_released_machines_leave_the_shared_table() -> None:
    before = len(_MACHINE.models)
    machine = make()
    assert len(_MACHINE.models) == before + 1
    machine.fire("hangup")
    machine.release()
    assert len(_MACHINE.models) == before
    assert not machine.fire("session_ready")
