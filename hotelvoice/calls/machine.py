"""The call state machine: which call states exist and which events may move between them.

The table below is the contract. Tasks report events with :meth:`CallMachine.fire`; an event the
table does not name for the current state is logged and counted, never raised. Each state may
declare a deadline (``STATE_TIMEOUTS``); the call's watchdog turns an expired deadline into that
state's timeout event. The machine only decides; the call session carries out what follows.

Built on ``transitions``' plain, synchronous ``Machine`` (its AsyncMachine needs asyncio).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Final

from transitions import Machine, MachineError

log = logging.getLogger(__name__)

CONNECTING: Final = "connecting"
LISTENING: Final = "listening"
SPEAKING: Final = "speaking"
INTERRUPTED: Final = "interrupted"
CALLING_TOOL: Final = "calling_tool"
TRANSFERRING: Final = "transferring"
ENDED: Final = "ended"

STATES: Final = (CONNECTING, LISTENING, SPEAKING, INTERRUPTED, CALLING_TOOL, TRANSFERRING, ENDED)
LIVE_STATES: Final = tuple(s for s in STATES if s != ENDED)

# What each state means to the caller, for the operators' page and the diagram.
STATE_DESCRIPTIONS: Final = {
    CONNECTING: "Opening the model session; the caller's audio is buffered (bounded).",
    LISTENING: "The caller has the floor; the concierge waits for speech.",
    SPEAKING: "The concierge's audio is playing to the caller.",
    INTERRUPTED: "The caller talked over the concierge: playback was cleared and cut.",
    CALLING_TOOL: "A hotel tool is running (availability, transfer, ...); audio goes on.",
    TRANSFERRING: "The goodbye plays out, then the call is handed to a human.",
    ENDED: "The call is over; every task of the call has stopped.",
}

# trigger, sources, destination (None: stay, re-entering resets nothing), condition or None.
# Rows are tried in order; a trigger may have several rows with conditions.
TRANSITIONS: Final[tuple[dict[str, Any], ...]] = (
    {"trigger": "session_ready", "source": CONNECTING, "dest": LISTENING},
    {
        "trigger": "model_lost",
        "source": [LISTENING, SPEAKING, INTERRUPTED, CALLING_TOOL],
        "dest": CONNECTING,
    },
    {"trigger": "model_audio", "source": [LISTENING, INTERRUPTED], "dest": SPEAKING},
    {"trigger": "model_audio", "source": [SPEAKING, CALLING_TOOL, TRANSFERRING], "dest": None},
    {"trigger": "playback_done", "source": SPEAKING, "dest": LISTENING},
    {"trigger": "barge_in", "source": SPEAKING, "dest": INTERRUPTED},
    {"trigger": "barge_in", "source": CALLING_TOOL, "dest": None},
    {"trigger": "caller_speech", "source": [LISTENING, INTERRUPTED], "dest": "="},
    {"trigger": "caller_done", "source": INTERRUPTED, "dest": LISTENING},
    {"trigger": "caller_done", "source": LISTENING, "dest": "="},
    {"trigger": "interruption_timeout", "source": INTERRUPTED, "dest": LISTENING},
    {"trigger": "silence_timeout", "source": LISTENING, "dest": "="},
    {
        "trigger": "tool_call",
        "source": [LISTENING, SPEAKING, INTERRUPTED, CALLING_TOOL],
        "dest": CALLING_TOOL,
    },
    {
        "trigger": "tools_done",
        "source": CALLING_TOOL,
        "dest": SPEAKING,
        "conditions": "audio_outstanding",
    },
    {"trigger": "tools_done", "source": CALLING_TOOL, "dest": LISTENING},
    {
        "trigger": "transfer",
        "source": [LISTENING, SPEAKING, INTERRUPTED, CALLING_TOOL],
        "dest": TRANSFERRING,
    },
    {"trigger": "hangup", "source": list(LIVE_STATES), "dest": ENDED},
    {"trigger": "finish", "source": list(LIVE_STATES), "dest": ENDED},
)

TRIGGER_DESCRIPTIONS: Final = {
    "session_ready": "model answered session.update",
    "model_lost": "model socket dropped; one reconnect with the conversation replayed",
    "model_audio": "first audio of a new assistant item",
    "playback_done": "last mark echoed and the response finished",
    "barge_in": "caller speech while audio is outstanding: clear + truncate",
    "caller_speech": "caller speech with nothing playing",
    "caller_done": "caller stopped speaking",
    "interruption_timeout": "no new turn after an interruption",
    "silence_timeout": "caller silent: reprompt once, then goodbye and hang up",
    "tool_call": "model called a function",
    "tools_done": "every tool result returned to the model",
    "transfer": "transfer_to_human: goodbye plays, then the REST transfer",
    "hangup": "Twilio stop or the media socket dropped",
    "finish": "we end the call: goodbye played, fatal error, transfer done, deadline",
}

# state -> (settings attribute holding the seconds, trigger fired when it expires)
STATE_TIMEOUTS: Final = {
    CONNECTING: ("model_setup_timeout_s", "finish"),
    LISTENING: ("silence_timeout_s", "silence_timeout"),
    INTERRUPTED: ("interruption_timeout_s", "interruption_timeout"),
    TRANSFERRING: ("transfer_timeout_s", "finish"),
}


# One transitions Machine holds the table for every call: building one per call costs ~1 ms
# and ~40 KiB, and each call only needs its own state (transitions supports many models).
_MACHINE: Final = Machine(
    model=None,
    # on_enter runs on real and reflexive moves, not on internal ("stays") ones.
    states=[{"name": state, "on_enter": "_note_change"} for state in STATES],
    transitions=[dict(row) for row in TRANSITIONS],
    initial=CONNECTING,
    auto_transitions=False,
    send_event=False,
)


class CallMachine:
    """The state of one call. Plain class: ``transitions`` attaches triggers to it.

    ``clock`` gives the current time (``trio.current_time`` in the service) so the time a state
    was entered is known without a wall clock.
    """

    state: str
    trigger: Callable[[str], bool]  # attached by transitions

    def __init__(
        self,
        call_id: str,
        *,
        clock: Callable[[], float],
        audio_outstanding: Callable[[], bool] = lambda: False,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.call_id = call_id
        self._clock = clock
        self._audio_outstanding = audio_outstanding
        self.on_change = on_change
        self.entered_at = clock()
        self.invalid_events: Counter[str] = Counter()
        self.history: deque[tuple[float, str, str, str]] = deque(maxlen=500)
        _MACHINE.add_model(self)

    def release(self) -> None:
        """Detach from the shared table once the call is over (the table holds its models)."""
        _MACHINE.remove_model(self)

    def audio_outstanding(self) -> bool:
        return self._audio_outstanding()

    def _note_change(self) -> None:
        self.entered_at = self._clock()
        if self.on_change is not None:
            self.on_change()

    def fire(self, trigger: str) -> bool:
        """Apply ``trigger``; False (logged and counted) when the table does not allow it."""
        before = self.state
        try:
            if before == ENDED:  # final, and possibly released from the shared table
                raise MachineError(f"{trigger} after the end")
            moved = bool(self.trigger(trigger))
        except (MachineError, AttributeError):  # not allowed here / no such trigger
            self.invalid_events[f"{trigger}@{before}"] += 1
            log.warning(
                "call %s: event %r is not allowed in state %r; ignored",
                self.call_id,
                trigger,
                before,
            )
            return False
        if moved:
            self.history.append((self.entered_at, trigger, before, self.state))
        return moved

    def allows(self, trigger: str) -> bool:
        """Whether the table names ``trigger`` for the current state (conditions aside)."""
        return trigger in _MACHINE.get_triggers(self.state)

    @property
    def ended(self) -> bool:
        return self.state == ENDED
