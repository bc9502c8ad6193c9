"""The call state machine's table: allowed moves, refused moves, and the time of entry."""

from __future__ import annotations

import logging
import math
from typing import cast

import pytest

from hotelvoice.calls.machine import (
    _MACHINE,
    _MACHINES,
    CALL_DEADLINE,
    CLOSING_TRANSITIONS,
    DEADLINES,
    LIVE_STATES,
    MODEL_LINK_TRANSITIONS,
    STATES,
    SUB_STATES,
    TRANSFER_TRANSITIONS,
    TRANSITIONS,
    TRIGGER_DESCRIPTIONS,
    CallMachine,
    CallState,
    Closing,
    Effect,
    EffectCall,
    EndReason,
    TransferPhase,
    Trigger,
)
from hotelvoice.config import Settings


class Clock:
    """A settable time source (the service uses trio.current_time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# Read through a call: mypy would otherwise keep an attribute narrowed by an earlier assert
# across the machine's moves.
def closing_of(machine: CallMachine) -> Closing:
    return machine.closing


def transfer_phase_of(machine: CallMachine) -> TransferPhase:
    return machine.transfer_phase


def make(clock: Clock | None = None) -> CallMachine:
    return CallMachine("CA1", clock=clock or Clock())


def test_happy_path_and_entry_times() -> None:
    clock = Clock()
    machine = make(clock)
    assert machine.state == "connecting"
    clock.now = 1.5
    assert machine.fire(Trigger.SESSION_READY)
    assert machine.state == "listening" and machine.entered_at == 1.5
    clock.now = 2.0
    machine.fire(Trigger.MODEL_AUDIO)
    assert machine.state == "speaking" and machine.entered_at == 2.0
    machine.fire(Trigger.BARGE_IN)
    assert machine.state == "interrupted"
    machine.fire(Trigger.CALLER_DONE)
    assert machine.state == "listening"
    machine.fire(Trigger.HANGUP)
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
        assert not machine.fire(Trigger.PLAYBACK_DONE)
        assert not machine.fire(cast("Trigger", "no_such_trigger"))  # a caller's bug
    assert machine.state == "connecting"
    assert machine.invalid_events["playback_done@connecting"] == 1
    assert machine.invalid_events["no_such_trigger@connecting"] == 1
    assert "not allowed in state 'connecting'" in caplog.text


def test_reflexive_transition_restarts_the_state_deadline_clock() -> None:
    clock = Clock()
    machine = make(clock)
    machine.fire(Trigger.SESSION_READY)
    clock.now = 12.0
    machine.fire(Trigger.SILENCE_TIMEOUT)
    assert machine.state == "listening" and machine.entered_at == 12.0


def test_internal_transition_keeps_entry_time() -> None:
    clock = Clock()
    machine = make(clock)
    machine.fire(Trigger.SESSION_READY)
    machine.fire(Trigger.TOOL_CALL)
    entered = machine.entered_at
    clock.now = 3.0
    assert machine.fire(Trigger.MODEL_AUDIO)
    assert machine.state == "calling_tool" and machine.entered_at == entered


def test_tools_done_goes_to_speaking_only_while_audio_is_outstanding() -> None:
    outstanding = [True]
    machine = CallMachine("CA1", clock=Clock(), audio_outstanding=lambda: outstanding[0])
    machine.fire(Trigger.SESSION_READY)
    machine.fire(Trigger.TOOL_CALL)
    machine.fire(Trigger.TOOLS_DONE)
    assert machine.state == "speaking"
    machine.fire(Trigger.TOOL_CALL)
    outstanding[0] = False
    machine.fire(Trigger.TOOLS_DONE)
    assert machine.state == "listening"


@pytest.mark.parametrize("state", LIVE_STATES)
@pytest.mark.parametrize("trigger", [Trigger.HANGUP, Trigger.FINISH])
def test_every_live_state_can_end(state: str, trigger: Trigger) -> None:
    machine = make()
    _MACHINE.set_state(str(state), model=machine)
    assert machine.fire(trigger)
    assert machine.ended


def test_nothing_leaves_ended() -> None:
    machine = make()
    machine.fire(Trigger.HANGUP)
    for trigger in {row.trigger for row in (*TRANSITIONS, *CLOSING_TRANSITIONS)}:
        assert not machine.fire(trigger)
    assert machine.ended


def test_tables_are_complete() -> None:
    assert set(STATES) == set(CallState)
    rows = (*TRANSITIONS, *MODEL_LINK_TRANSITIONS, *CLOSING_TRANSITIONS, *TRANSFER_TRANSITIONS)
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
    machine.fire(Trigger.HANGUP)
    machine.release()
    assert len(_MACHINE.models) == before
    assert not machine.fire(Trigger.SESSION_READY)


REGION_ROWS = {
    CallState: TRANSITIONS,
    Closing: CLOSING_TRANSITIONS,
    TransferPhase: TRANSFER_TRANSITIONS,
}


def in_state(machine: CallMachine, *states: CallState | Closing | TransferPhase) -> None:
    """Put ``machine`` in the given states (a test shortcut past the events that lead there)."""
    tables = {
        CallState: _MACHINE,
        Closing: _MACHINES["closing"],
        TransferPhase: _MACHINES["transfer"],
    }
    for state in states:
        tables[type(state)].set_state(str(state), model=machine)


def test_every_state_with_a_deadline_has_a_row_that_handles_its_timeout() -> None:
    deadlines = [*DEADLINES.items(), (Closing.OPEN, CALL_DEADLINE)]
    for state, deadline in deadlines:
        rows = REGION_ROWS[type(state)]
        assert any(deadline.trigger == row.trigger and state in row.sources for row in rows), (
            f"no row handles {deadline.trigger} in {state}"
        )
        # ... and the trigger moves or acts there: it is never a refused event.
        machine = make()
        in_state(machine, state)
        if isinstance(state, TransferPhase):
            in_state(machine, CallState.TRANSFERRING)
        elif not isinstance(state, CallState):
            in_state(machine, CallState.LISTENING)
        assert machine.fire(deadline.trigger) or machine.take_effects(), state
        assert not machine.invalid_events


def test_deadlines_name_only_states_and_triggers_of_their_own_region() -> None:
    for state, deadline in DEADLINES.items():
        region_triggers = {row.trigger for row in REGION_ROWS[type(state)]}
        assert deadline.trigger in region_triggers


def test_silence_reprompts_once_then_the_ending_begins() -> None:
    machine = make()
    machine.fire(Trigger.SESSION_READY)
    assert machine.fire(Trigger.SILENCE_TIMEOUT)
    assert machine.take_effects() == [EffectCall(Effect.REPROMPT)]
    assert machine.reprompted and machine.closing is Closing.OPEN
    machine.caller_heard()  # the caller spoke: the next silence earns a reprompt again
    machine.fire(Trigger.SILENCE_TIMEOUT)
    assert machine.take_effects() == [EffectCall(Effect.REPROMPT)]
    machine.fire(Trigger.SILENCE_TIMEOUT)
    assert machine.take_effects() == [EffectCall(Effect.SAY_GOODBYE, EndReason.CALLER_SILENT)]
    assert machine.state is CallState.LISTENING and closing_of(machine) is Closing.CLOSING
    assert [row[1] for row in machine.history][-2:] == ["silence_timeout", "caller_silent"]


def test_the_goodbye_played_to_its_end_asks_for_the_hang_up_once() -> None:
    clock = Clock()
    machine = make(clock)
    machine.fire(Trigger.SESSION_READY)
    in_state(machine, Closing.CLOSING)
    machine.fire(Trigger.MODEL_AUDIO)
    assert machine.fire(Trigger.PLAYBACK_DONE)
    assert machine.take_effects() == [EffectCall(Effect.HANG_UP, EndReason.GOODBYE_PLAYED)]
    assert machine.closing is Closing.HANGING_UP
    # Nothing more to do: no deadline, and a second played goodbye asks for nothing.
    assert machine.next_deadline(Settings(), started_at=0.0) == math.inf
    machine.fire(Trigger.MODEL_AUDIO)
    machine.fire(Trigger.PLAYBACK_DONE)
    assert machine.take_effects() == []


@pytest.mark.parametrize(
    ("state", "closing", "effect"),
    [
        (
            CallState.CONNECTING,
            Closing.HANGING_UP,
            EffectCall(Effect.HANG_UP, EndReason.MAX_DURATION),
        ),
        (
            CallState.SPEAKING,
            Closing.CLOSING,
            EffectCall(Effect.SAY_GOODBYE, EndReason.MAX_DURATION),
        ),
        (
            CallState.TRANSFERRING,
            Closing.OPEN,
            EffectCall(Effect.FINISH, EndReason.MAX_DURATION_TRANSFER),
        ),
    ],
)
def test_the_whole_call_deadline_depends_on_the_conversation(
    state: CallState, closing: Closing, effect: EffectCall
) -> None:
    machine = make()
    in_state(machine, state)
    machine.fire(Trigger.MAX_DURATION)
    assert machine.closing is closing
    assert machine.take_effects() == [effect]


def test_transfer_phases_goodbye_then_rest_then_hand_over() -> None:
    clock = Clock()
    machine = make(clock)
    machine.fire(Trigger.SESSION_READY)
    clock.now = 2.0
    machine.fire(Trigger.TRANSFER)
    assert (machine.state, machine.transfer_phase) == ("transferring", TransferPhase.PLAYBACK)
    assert machine.entered["transfer"] == 2.0
    # Played out before the goodbye response even began: not yet.
    assert not machine.offer(Trigger.TRANSFER_GOODBYE_DONE)
    machine.note_response("resp_bye")
    machine.note_response("resp_later")
    assert machine.transfer_goodbye == "resp_bye"
    clock.now = 5.0
    assert machine.offer(Trigger.TRANSFER_GOODBYE_DONE)
    assert machine.take_effects() == [EffectCall(Effect.REQUEST_TRANSFER)]
    assert machine.transfer_phase is TransferPhase.REST and machine.entered["transfer"] == 5.0
    machine.fire(Trigger.TRANSFER_ACCEPTED)
    assert transfer_phase_of(machine) is TransferPhase.HANDED_OVER
    assert not machine.offer(Trigger.TRANSFER_GOODBYE_DONE)  # only once
    assert machine.take_effects() == [] and not machine.invalid_events


def test_a_model_lost_during_the_transfers_goodbye_transfers_at_once() -> None:
    machine = make()
    machine.fire(Trigger.SESSION_READY)
    machine.fire(Trigger.TRANSFER)
    assert machine.fire(Trigger.MODEL_LOST)  # the conversation stays in transferring
    assert machine.state is CallState.TRANSFERRING
    assert machine.transfer_phase is TransferPhase.REST
    assert machine.take_effects() == [EffectCall(Effect.REQUEST_TRANSFER)]


def test_deadlines_come_from_the_table_and_the_ending_overrides_them() -> None:
    clock = Clock()
    settings = Settings()
    machine = make(clock)
    setup = settings.model_setup_timeout_s
    assert machine.next_deadline(settings, started_at=0.0) == setup
    assert machine.due(settings, 0.0, setup - 0.001) is None
    assert machine.due(settings, 0.0, setup) is Trigger.SETUP_TIMEOUT
    clock.now = 1.0
    machine.fire(Trigger.SESSION_READY)
    assert machine.next_deadline(settings, 0.0) == 1.0 + settings.silence_timeout_s
    # Past both the whole call's and the state's deadline: the whole call's comes first.
    late = settings.max_call_duration_s + 1
    assert machine.due(settings, 0.0, late) is Trigger.MAX_DURATION
    # Transferring: the phase's deadline, from when the phase began.
    clock.now = 3.0
    machine.fire(Trigger.TRANSFER)
    assert machine.next_deadline(settings, 0.0) == 3.0 + settings.transfer_timeout_s
    assert machine.due(settings, 0.0, 3.0 + settings.transfer_timeout_s) is (
        Trigger.TRANSFER_GOODBYE_TIMEOUT
    )
    # Ending: only the goodbye's deadline counts, even past the whole call's.
    in_state(machine, CallState.LISTENING, Closing.OPEN)
    clock.now = 4.0
    machine.fire(Trigger.MAX_DURATION)
    assert machine.next_deadline(settings, 0.0) == 4.0 + settings.goodbye_timeout_s
    assert machine.due(settings, 0.0, late) is Trigger.GOODBYE_TIMEOUT


def test_end_reasons_have_stable_labels_and_the_texts_records_use() -> None:
    assert {reason.label for reason in EndReason} == {
        "hung_up",
        "transferred",
        "goodbye",
        "caller_silent",
        "max_duration",
        "transfer",
        "timed_out",
        "model",
        "closed",
        "drained",
        "shutdown",
    }
    assert EndReason.CALLER_HUNG_UP.describe() == "caller hung up"
    assert EndReason.TRANSFERRED.text == "transferred"
    assert EndReason.MODEL_ERROR.describe("unknown_parameter") == "model error unknown_parameter"
    assert EndReason.MODEL_UNAVAILABLE.describe("closed (1006)") == (
        "model unavailable: closed (1006)"
    )
    assert EndReason.MEDIA_SOCKET_CLOSED.describe() == "media socket closed"
    assert EndReason.MEDIA_SOCKET_CLOSED.describe("OSError") == "media socket closed (OSError)"
    assert EndReason.TRANSFER_FAILED.describe("ignored") == (
        "transfer failed; TwiML fallback takes over"
    )
    assert EndReason.DRAINED.describe() == "handed over at shutdown"
    assert EndReason.SHUTDOWN.describe("second signal") == "ended at shutdown (second signal)"


def test_state_values_are_the_names_used_in_logs_metrics_and_diagrams() -> None:
    names = "connecting listening speaking interrupted calling_tool transferring ended"
    assert [str(state) for state in CallState] == names.split()
    machine = make()
    assert machine.state == "connecting" and isinstance(machine.state, CallState)


# --- shutting down (web/drain.py)


@pytest.mark.parametrize(
    "state",
    [CallState.LISTENING, CallState.SPEAKING, CallState.INTERRUPTED, CallState.CALLING_TOOL],
)
def test_drain_apologises_then_transfers_like_a_transfer_the_model_asked_for(
    state: CallState,
) -> None:
    clock = Clock()
    machine = make(clock)
    machine.fire(Trigger.SESSION_READY)
    in_state(machine, state)
    clock.now = 7.0
    assert machine.fire(Trigger.DRAIN)
    assert machine.take_effects() == [EffectCall(Effect.SAY_HAND_OVER)]
    assert (machine.state, machine.transfer_phase) == ("transferring", TransferPhase.PLAYBACK)
    assert machine.draining and machine.entered["transfer"] == 7.0
    # From here the transfer's own rows and deadlines: the apology, then the REST transfer.
    machine.note_response("resp_sorry")
    assert machine.offer(Trigger.TRANSFER_GOODBYE_DONE)
    assert machine.take_effects() == [EffectCall(Effect.REQUEST_TRANSFER)]
    assert not machine.invalid_events


def test_drain_while_the_model_connects_transfers_at_once() -> None:
    clock = Clock()
    machine = make(clock)
    clock.now = 1.0
    assert machine.fire(Trigger.DRAIN)
    assert machine.take_effects() == [EffectCall(Effect.REQUEST_TRANSFER)]
    assert (machine.state, machine.transfer_phase) == ("transferring", TransferPhase.REST)
    assert machine.draining
    settings = Settings()
    assert machine.next_deadline(settings, 0.0) == 1.0 + settings.transfer_timeout_s
    assert machine.due(settings, 0.0, 1.0 + settings.transfer_timeout_s) is (
        Trigger.TRANSFER_TIMEOUT
    )


@pytest.mark.parametrize(
    ("state", "closing"),
    [
        (CallState.TRANSFERRING, Closing.OPEN),  # a transfer under way goes on
        (CallState.LISTENING, Closing.CLOSING),  # a goodbye plays: the hang-up follows
        (CallState.SPEAKING, Closing.HANGING_UP),
        (CallState.CONNECTING, Closing.HANGING_UP),
    ],
)
def test_drain_leaves_a_call_that_is_already_ending_or_transferring(
    state: CallState, closing: Closing
) -> None:
    machine = make()
    in_state(machine, state, closing)
    if state is CallState.TRANSFERRING:
        in_state(machine, TransferPhase.REST)
    assert machine.fire(Trigger.DRAIN)
    assert machine.take_effects() == []
    assert (machine.state, machine.closing) == (state, closing)
    assert not machine.draining and not machine.invalid_events


@pytest.mark.parametrize(
    ("state", "closing", "effect"),
    [
        (
            CallState.CONNECTING,
            Closing.HANGING_UP,
            EffectCall(Effect.HANG_UP, EndReason.SHUTDOWN),
        ),
        (
            CallState.SPEAKING,
            Closing.CLOSING,
            EffectCall(Effect.SAY_GOODBYE, EndReason.SHUTDOWN),
        ),
        (CallState.TRANSFERRING, Closing.OPEN, None),
    ],
)
def test_shutdown_with_no_front_desk_says_goodbye_as_at_the_maximum_duration(
    state: CallState, closing: Closing, effect: EffectCall | None
) -> None:
    machine = make()
    in_state(machine, state)
    assert machine.fire(Trigger.SHUTDOWN)
    assert machine.take_effects() == ([] if effect is None else [effect])
    assert machine.closing is closing
    # Already ending: the shutdown asks nothing more of it.
    if closing is not Closing.OPEN:
        assert not machine.offer(Trigger.SHUTDOWN)
