"""The call state machine: every state a call can be in, and what moves it between them.

The tables below are the contract. A call is in one state of each of three regions:

* the conversation (:class:`CallState`): connecting, listening, speaking, ... ended;
* the ending (:class:`Closing`): open, or a goodbye playing before we hang up, or the hang-up
  requested;
* the transfer (:class:`TransferPhase`): none, or the transfer's goodbye playing, the REST
  transfer requested, the call handed over.

Tasks report events with :meth:`CallMachine.fire`; an event the tables do not name for the
current state is logged and counted, never raised. A row may name an :class:`Effect` (what the
call session must carry out: a reprompt, a goodbye, a hang-up, ...) and a trigger to pass on to
another region once it has moved. Each state may declare a deadline (``DEADLINES``, with the
trigger fired when it expires); :meth:`CallMachine.due` says which trigger an expired deadline
fires, and the rows decide what follows. The machine only decides; the call session carries
out the effects.

Built on ``transitions``' plain, synchronous ``Machine`` (its AsyncMachine needs asyncio).
"""

from __future__ import annotations

import enum
import logging
import math
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any, Final, cast

import attrs
from transitions import EventData, Machine, MachineError

from hotelvoice.config import Settings

log = logging.getLogger(__name__)


class CallState(enum.StrEnum):
    """The conversation's states (their values are the names in logs, metrics and diagrams)."""

    CONNECTING = "connecting"
    LISTENING = "listening"
    SPEAKING = "speaking"
    INTERRUPTED = "interrupted"
    CALLING_TOOL = "calling_tool"
    TRANSFERRING = "transferring"
    ENDED = "ended"


class Closing(enum.StrEnum):
    """How we are ending the call ourselves: the goodbye first, then the hang-up."""

    OPEN = "open"
    CLOSING = "closing"
    HANGING_UP = "hanging_up"


class TransferPhase(enum.StrEnum):
    """The phases of a transfer while the call is ``transferring``."""

    NONE = "none"
    PLAYBACK = "playback"
    REST = "rest"
    HANDED_OVER = "handed_over"


State = CallState | Closing | TransferPhase


class Trigger(enum.StrEnum):
    """Every event the tables know, each handled by one region."""

    SESSION_READY = "session_ready"
    MODEL_LOST = "model_lost"
    MODEL_AUDIO = "model_audio"
    PLAYBACK_DONE = "playback_done"
    BARGE_IN = "barge_in"
    CALLER_SPEECH = "caller_speech"
    CALLER_DONE = "caller_done"
    INTERRUPTION_TIMEOUT = "interruption_timeout"
    SILENCE_TIMEOUT = "silence_timeout"
    SETUP_TIMEOUT = "setup_timeout"
    TOOL_CALL = "tool_call"
    TOOLS_DONE = "tools_done"
    TRANSFER = "transfer"
    HANGUP = "hangup"
    FINISH = "finish"
    # the ending
    MAX_DURATION = "max_duration"
    CALLER_SILENT = "caller_silent"
    MODEL_GOODBYE = "model_goodbye"
    GOODBYE_PLAYED = "goodbye_played"
    GOODBYE_TIMEOUT = "goodbye_timeout"
    # the transfer
    TRANSFER_STARTED = "transfer_started"
    TRANSFER_GOODBYE_DONE = "transfer_goodbye_done"
    TRANSFER_GOODBYE_TIMEOUT = "transfer_goodbye_timeout"
    TRANSFER_MODEL_LOST = "transfer_model_lost"
    TRANSFER_ACCEPTED = "transfer_accepted"
    TRANSFER_TIMEOUT = "transfer_timeout"
    # shutting down (web/drain.py)
    DRAIN = "drain"
    SHUTDOWN = "shutdown"
    HAND_OVER_NOW = "hand_over_now"
    # the model link (beside the conversation's own rows)
    MODEL_FALLBACK = "model_fallback"
    ROLLOVER_DUE = "rollover_due"
    MODEL_ROLLOVER = "model_rollover"


class EndReason(enum.Enum):
    """Why a call ended (or began to end): a stable metric label and the text for people.

    Some reasons carry a detail (the model's error code, why a socket closed): ``describe``
    puts it into the text.
    """

    CALLER_HUNG_UP = ("hung_up", "caller hung up")
    TRANSFERRED = ("transferred", "transferred")
    GOODBYE_PLAYED = ("goodbye", "goodbye played")
    GOODBYE_TIMEOUT = ("goodbye", "goodbye did not finish in time")
    CALLER_SILENT = ("caller_silent", "caller silent")
    MAX_DURATION = ("max_duration", "maximum call duration reached")
    MAX_DURATION_TRANSFER = ("transfer", "maximum call duration during transfer")
    MODEL_SETUP_TIMEOUT = ("timed_out", "model setup timed out")
    MODEL_ERROR = ("model", "model error", "model error {}")
    MODEL_UNAVAILABLE = ("model", "model unavailable", "model unavailable: {}")
    TRANSFER_FAILED = ("transfer", "transfer failed; TwiML fallback takes over")
    TRANSFER_TIMEOUT = ("transfer", "transfer did not complete in time")
    MEDIA_SOCKET_CLOSED = ("closed", "media socket closed", "media socket closed ({})")
    DRAINED = ("drained", "handed over at shutdown", "handed over at shutdown ({})")
    SHUTDOWN = ("shutdown", "ended at shutdown", "ended at shutdown ({})")

    def __init__(self, label: str, text: str, detailed: str | None = None) -> None:
        self.label = label
        self.text = text
        self._detailed = detailed

    def describe(self, detail: str | None = None) -> str:
        """The text for records and logs, with ``detail`` when this reason carries one."""
        if detail is None or self._detailed is None:
            return self.text
        return self._detailed.format(detail)


class Effect(enum.StrEnum):
    """What the call session carries out after a row has moved the machine."""

    REPROMPT = "reprompt"
    SAY_GOODBYE = "say_goodbye"
    HANG_UP = "hang_up"
    FINISH = "finish"
    REQUEST_TRANSFER = "request_transfer"
    SAY_HAND_OVER = "say_hand_over"
    FALL_BACK = "fall_back"
    ROLL_OVER = "roll_over"


@attrs.frozen
class StateInfo:
    """What a state means: for the operators' page and the diagram (the one place it is said)."""

    meaning: str
    caller_hears: str
    what_ends_it: str


@attrs.frozen
class Deadline:
    """A state's deadline: the settings attribute holding the seconds, the trigger it fires."""

    setting: str
    trigger: Trigger

    def seconds(self, settings: Settings) -> float:
        value: float = getattr(settings, self.setting)
        return value


@attrs.frozen
class Row:
    """One transition. ``dest`` None: stays without re-entering; ``"="``: re-enters.

    ``when``/``unless`` name a :class:`CallMachine` predicate; ``effect`` (with ``reason``) is
    handed to the session; ``note`` names a :class:`CallMachine` method that updates the
    machine's own data; ``then`` is offered to another region once this row has moved.
    Rows are tried in order; a trigger may have several rows with conditions.
    """

    trigger: Trigger
    source: State | tuple[State, ...]
    dest: State | str | None
    when: str | None = None
    unless: str | None = None
    effect: Effect | None = None
    reason: EndReason | None = None
    note: str | None = None
    then: Trigger | None = None

    @property
    def sources(self) -> tuple[State, ...]:
        return self.source if isinstance(self.source, tuple) else (self.source,)


@attrs.frozen
class EffectCall:
    """An effect to carry out, with the reason its row names (if any)."""

    effect: Effect
    reason: EndReason | None = None


_C, _L, _S, _I, _T, _X, _E = (
    CallState.CONNECTING,
    CallState.LISTENING,
    CallState.SPEAKING,
    CallState.INTERRUPTED,
    CallState.CALLING_TOOL,
    CallState.TRANSFERRING,
    CallState.ENDED,
)
_OPEN: Final = Closing.OPEN
LIVE_STATES: Final = tuple(s for s in CallState if s is not _E)
_TALKING: Final = (_L, _S, _I, _T)

STATES: Final[Mapping[CallState, StateInfo]] = {
    _C: StateInfo(
        "Opening the model session; the caller's audio is buffered (bounded).",
        "Nothing yet (well under a second normally), or a pause while a dropped model is "
        "reconnected. If the model cannot be reached in time, the offline engine takes over "
        "(with a short apology mid-call); without one, the fallback message plays and the "
        "call rings the front desk.",
        "session ready → listening; setup deadline → the offline engine, else the front desk",
    ),
    _L: StateInfo(
        "The caller has the floor; the concierge waits for speech.",
        "Silence while they speak; the concierge is listening.",
        "caller speaks or concierge answers; silence → one reprompt, then a goodbye and hang-up",
    ),
    _S: StateInfo(
        "The concierge's audio is playing to the caller.",
        "The concierge's voice.",
        "last audio mark echoed → listening; caller speaks → interrupted",
    ),
    _I: StateInfo(
        "The caller talked over the concierge: playback was cleared and cut.",
        "Their own voice: the concierge stopped mid-sentence when they spoke.",
        "caller stops → listening; new answer → speaking",
    ),
    _T: StateInfo(
        "A hotel tool is running (availability, transfer, ...); audio goes on.",
        "Usually a short 'let me check' from the concierge; the tool runs meanwhile.",
        "all results returned → speaking or listening; transfer requested → transferring",
    ),
    _X: StateInfo(
        "The goodbye plays out, then the call is handed to a human (the department the "
        "caller asked for, or the front desk when the service shuts down).",
        "The concierge's goodbye (at shutdown: 'I'm sorry, I have to pass you to a colleague "
        "now'), then Twilio's ringing to the department.",
        "goodbye played (or its deadline passed) → the REST transfer; accepted → Twilio stops "
        "the stream and rings the department; refused → the socket closes and the TwiML tail "
        "dials the front desk; no hand-over within the deadline → the socket closes",
    ),
    _E: StateInfo(
        "The call is over; every task of the call has stopped.",
        "Either the department's phone, the front desk fallback, or the end of the call.",
        "(final)",
    ),
}

SUB_STATES: Final[Mapping[Closing | TransferPhase, str]] = {
    Closing.OPEN: "The call goes on; nobody is ending it yet.",
    Closing.CLOSING: "We end the call: the goodbye plays, then we hang up.",
    Closing.HANGING_UP: "The hang-up is requested; the call ends when Twilio confirms it.",
    TransferPhase.NONE: "No transfer.",
    TransferPhase.PLAYBACK: "The transfer's goodbye plays out.",
    TransferPhase.REST: "Twilio is asked (REST) to dial the department.",
    TransferPhase.HANDED_OVER: "Twilio accepted; it stops the stream and rings the department.",
}

TRANSITIONS: Final[tuple[Row, ...]] = (
    Row(Trigger.SESSION_READY, _C, _L, note="note_session_opened"),
    Row(Trigger.MODEL_LOST, _TALKING, _C),
    Row(Trigger.MODEL_LOST, _X, None, then=Trigger.TRANSFER_MODEL_LOST),
    Row(Trigger.MODEL_AUDIO, (_L, _I), _S),
    Row(Trigger.MODEL_AUDIO, (_S, _T, _X), None),
    Row(Trigger.PLAYBACK_DONE, _S, _L, then=Trigger.GOODBYE_PLAYED),
    Row(Trigger.BARGE_IN, _S, _I),
    Row(Trigger.BARGE_IN, _T, None),
    Row(Trigger.CALLER_SPEECH, (_L, _I), "="),
    Row(Trigger.CALLER_DONE, _I, _L),
    Row(Trigger.CALLER_DONE, _L, "="),
    Row(Trigger.INTERRUPTION_TIMEOUT, _I, _L),
    Row(
        Trigger.SILENCE_TIMEOUT,
        _L,
        "=",
        unless="reprompted",
        note="note_reprompt",
        effect=Effect.REPROMPT,
    ),
    Row(Trigger.SILENCE_TIMEOUT, _L, "=", then=Trigger.CALLER_SILENT),
    Row(Trigger.SETUP_TIMEOUT, _C, None, when="fallback_available", then=Trigger.MODEL_FALLBACK),
    Row(
        Trigger.SETUP_TIMEOUT, _C, None, effect=Effect.FINISH, reason=EndReason.MODEL_SETUP_TIMEOUT
    ),
    Row(Trigger.TOOL_CALL, _TALKING, _T),
    Row(Trigger.TOOLS_DONE, _T, _S, when="audio_outstanding"),
    Row(Trigger.TOOLS_DONE, _T, _L),
    Row(Trigger.TRANSFER, _TALKING, _X, then=Trigger.TRANSFER_STARTED),
    Row(Trigger.HANGUP, LIVE_STATES, _E),
    Row(Trigger.FINISH, LIVE_STATES, _E),
    # Shutting down (web/drain.py): the concierge apologises, then the REST transfer puts the
    # caller through to the front desk; with no model to speak, the transfer comes at once.
    Row(
        Trigger.DRAIN,
        _TALKING,
        _X,
        unless="ending",
        note="note_drain",
        effect=Effect.SAY_HAND_OVER,
        then=Trigger.TRANSFER_STARTED,
    ),
    Row(Trigger.DRAIN, _C, _X, unless="ending", note="note_drain", then=Trigger.HAND_OVER_NOW),
    # Already ending or transferring: that goes on, and ends the call within its deadlines.
    Row(Trigger.DRAIN, LIVE_STATES, None),
)

# The model link's own rows: falling back to the offline engine mid-call, and renewing a model
# session before the provider's session limit. They move the conversation, so they are in its
# region, kept apart here for reading.
MODEL_LINK_TRANSITIONS: Final[tuple[Row, ...]] = (
    Row(
        Trigger.MODEL_FALLBACK,
        _TALKING,
        _C,
        when="fallback_available",
        note="note_fallback",
        effect=Effect.FALL_BACK,
    ),
    Row(
        Trigger.MODEL_FALLBACK,
        _C,
        "=",
        when="fallback_available",
        note="note_fallback",
        effect=Effect.FALL_BACK,
    ),
    Row(Trigger.ROLLOVER_DUE, _TALKING, None, note="note_rollover_due"),
    Row(Trigger.MODEL_ROLLOVER, _L, _C, when="rollover_is_due", effect=Effect.ROLL_OVER),
)

CLOSING_TRANSITIONS: Final[tuple[Row, ...]] = (
    Row(
        Trigger.MAX_DURATION,
        Closing.OPEN,
        None,
        when="transferring",
        effect=Effect.FINISH,
        reason=EndReason.MAX_DURATION_TRANSFER,
    ),
    Row(
        Trigger.MAX_DURATION,
        Closing.OPEN,
        Closing.HANGING_UP,
        when="connecting",
        effect=Effect.HANG_UP,
        reason=EndReason.MAX_DURATION,
    ),
    Row(
        Trigger.MAX_DURATION,
        Closing.OPEN,
        Closing.CLOSING,
        effect=Effect.SAY_GOODBYE,
        reason=EndReason.MAX_DURATION,
    ),
    Row(
        Trigger.CALLER_SILENT,
        Closing.OPEN,
        Closing.CLOSING,
        effect=Effect.SAY_GOODBYE,
        reason=EndReason.CALLER_SILENT,
    ),
    # The model said goodbye itself: it plays, then we hang up (as after our own goodbye).
    Row(Trigger.MODEL_GOODBYE, Closing.OPEN, Closing.CLOSING, unless="transferring"),
    Row(
        Trigger.GOODBYE_PLAYED,
        Closing.CLOSING,
        Closing.HANGING_UP,
        effect=Effect.HANG_UP,
        reason=EndReason.GOODBYE_PLAYED,
    ),
    Row(
        Trigger.GOODBYE_TIMEOUT,
        Closing.CLOSING,
        Closing.HANGING_UP,
        effect=Effect.HANG_UP,
        reason=EndReason.GOODBYE_TIMEOUT,
    ),
    # Shutting down with no front desk to take the caller: as at the maximum duration, a
    # goodbye and the hang-up; a transfer under way goes on.
    Row(Trigger.SHUTDOWN, Closing.OPEN, None, when="transferring"),
    Row(
        Trigger.SHUTDOWN,
        Closing.OPEN,
        Closing.HANGING_UP,
        when="connecting",
        effect=Effect.HANG_UP,
        reason=EndReason.SHUTDOWN,
    ),
    Row(
        Trigger.SHUTDOWN,
        Closing.OPEN,
        Closing.CLOSING,
        effect=Effect.SAY_GOODBYE,
        reason=EndReason.SHUTDOWN,
    ),
)

TRANSFER_TRANSITIONS: Final[tuple[Row, ...]] = (
    # A REST result that came before any transfer was asked for (never in service) counts as
    # a hand-over, and a transfer after it still starts with its goodbye.
    Row(
        Trigger.TRANSFER_STARTED,
        (TransferPhase.NONE, TransferPhase.HANDED_OVER),
        TransferPhase.PLAYBACK,
        note="note_transfer",
    ),
    # The REST transfer waits for the goodbye that was asked for to have begun and played.
    Row(
        Trigger.TRANSFER_GOODBYE_DONE,
        TransferPhase.PLAYBACK,
        TransferPhase.REST,
        when="transfer_goodbye_started",
        effect=Effect.REQUEST_TRANSFER,
    ),
    Row(
        Trigger.TRANSFER_GOODBYE_TIMEOUT,
        TransferPhase.PLAYBACK,
        TransferPhase.REST,
        effect=Effect.REQUEST_TRANSFER,
    ),
    Row(
        Trigger.TRANSFER_MODEL_LOST,
        TransferPhase.PLAYBACK,
        TransferPhase.REST,
        effect=Effect.REQUEST_TRANSFER,
    ),
    Row(Trigger.TRANSFER_ACCEPTED, tuple(TransferPhase), TransferPhase.HANDED_OVER),
    Row(
        Trigger.TRANSFER_TIMEOUT,
        (TransferPhase.REST, TransferPhase.HANDED_OVER),
        None,
        effect=Effect.FINISH,
        reason=EndReason.TRANSFER_TIMEOUT,
    ),
    # A hand-over at shutdown with no model to apologise: no goodbye to wait for.
    Row(
        Trigger.HAND_OVER_NOW,
        (TransferPhase.NONE, TransferPhase.HANDED_OVER),
        TransferPhase.REST,
        note="note_transfer",
        effect=Effect.REQUEST_TRANSFER,
    ),
)

TRIGGER_DESCRIPTIONS: Final[Mapping[Trigger, str]] = {
    Trigger.SESSION_READY: "model answered session.update",
    Trigger.MODEL_LOST: "model socket dropped; reconnect (back-off, within a budget) with the "
    "conversation replayed and an interrupted answer asked for again",
    Trigger.MODEL_AUDIO: "first audio of a new assistant item",
    Trigger.PLAYBACK_DONE: "last mark echoed and the response finished",
    Trigger.BARGE_IN: "caller speech while audio is outstanding: clear + truncate",
    Trigger.CALLER_SPEECH: "caller speech with nothing playing",
    Trigger.CALLER_DONE: "caller stopped speaking",
    Trigger.INTERRUPTION_TIMEOUT: "no new turn after an interruption",
    Trigger.SILENCE_TIMEOUT: "caller silent: reprompt once, then goodbye and hang up",
    Trigger.SETUP_TIMEOUT: "the model session did not open in time: the offline engine takes "
    "over if there is one, else the TwiML fallback",
    Trigger.TOOL_CALL: "model called a function",
    Trigger.TOOLS_DONE: "every tool result returned to the model",
    Trigger.TRANSFER: "transfer_to_human: goodbye plays, then the REST transfer",
    Trigger.HANGUP: "Twilio stop or the media socket dropped",
    Trigger.FINISH: "we end the call: goodbye played, fatal error, transfer done, deadline",
    Trigger.MAX_DURATION: "the call reached its maximum duration",
    Trigger.CALLER_SILENT: "still silent after the reprompt",
    Trigger.MODEL_GOODBYE: "the model's response was its goodbye",
    Trigger.GOODBYE_PLAYED: "the goodbye has played to its end",
    Trigger.GOODBYE_TIMEOUT: "the goodbye did not finish in time",
    Trigger.TRANSFER_STARTED: "the call moved to transferring",
    Trigger.TRANSFER_GOODBYE_DONE: "the transfer's goodbye played",
    Trigger.TRANSFER_GOODBYE_TIMEOUT: "the transfer's goodbye did not finish in time",
    Trigger.TRANSFER_MODEL_LOST: "the model dropped during the transfer's goodbye",
    Trigger.TRANSFER_ACCEPTED: "Twilio accepted the REST transfer",
    Trigger.TRANSFER_TIMEOUT: "the transfer did not complete in time",
    Trigger.DRAIN: "shutting down: an apology, then the transfer to the front desk",
    Trigger.SHUTDOWN: "shutting down with no front desk: goodbye and hang up",
    Trigger.HAND_OVER_NOW: "shutting down while the model connects: the transfer at once",
    Trigger.MODEL_FALLBACK: "setup deadline passed or the reconnect budget spent: the offline "
    "engine takes over mid-call with the conversation replayed and a short apology",
    Trigger.ROLLOVER_DUE: "the model session is near the provider's session limit",
    Trigger.MODEL_ROLLOVER: "a quiet moment after the rollover became due: a fresh model session "
    "with the conversation replayed",
}

# The deadline of each state that has one; only the states named here have one.
DEADLINES: Final[Mapping[State, Deadline]] = {
    _C: Deadline("model_setup_timeout_s", Trigger.SETUP_TIMEOUT),
    _L: Deadline("silence_timeout_s", Trigger.SILENCE_TIMEOUT),
    _I: Deadline("interruption_timeout_s", Trigger.INTERRUPTION_TIMEOUT),
    Closing.CLOSING: Deadline("goodbye_timeout_s", Trigger.GOODBYE_TIMEOUT),
    TransferPhase.PLAYBACK: Deadline("transfer_timeout_s", Trigger.TRANSFER_GOODBYE_TIMEOUT),
    TransferPhase.REST: Deadline("transfer_timeout_s", Trigger.TRANSFER_TIMEOUT),
    TransferPhase.HANDED_OVER: Deadline("transfer_timeout_s", Trigger.TRANSFER_TIMEOUT),
}
# The whole call's deadline, counted from its start; it applies until we begin to end it.
CALL_DEADLINE: Final = Deadline("max_call_duration_s", Trigger.MAX_DURATION)
# A model session's age, counted from its session.updated, while the conversation is live and
# until the rollover is due (then the session waits for a quiet moment, not for the clock).
SESSION_DEADLINE: Final = Deadline("model_session_rollover_s", Trigger.ROLLOVER_DUE)


@attrs.frozen
class Region:
    """One region's table: its states, rows and initial state; its states' model attribute."""

    name: str
    states: tuple[State, ...]
    rows: tuple[Row, ...]
    initial: State
    attribute: str


REGIONS: Final = (
    Region("call", tuple(CallState), TRANSITIONS + MODEL_LINK_TRANSITIONS, _C, "_call"),
    Region("closing", tuple(Closing), CLOSING_TRANSITIONS, Closing.OPEN, "_closing"),
    Region("transfer", tuple(TransferPhase), TRANSFER_TRANSITIONS, TransferPhase.NONE, "_transfer"),
)
_REGION_OF: Final = {row.trigger: region for region in REGIONS for row in region.rows}
_VALUE: Final[dict[str, State]] = {
    state.value: state for region in REGIONS for state in region.states
}


# The triggers each state names, for ``allows`` (transitions' own lookup walks every event).
_TRIGGERS_IN: Final[Mapping[State, frozenset[Trigger]]] = {
    state: frozenset(row.trigger for row in region.rows if state in row.sources)
    for region in REGIONS
    for state in region.states
}


def _entered(region: str) -> Callable[[EventData], None]:
    def run(event: EventData) -> None:
        cast("CallMachine", event.model)._note_change(region)

    return run


def _after(row: Row) -> Callable[[EventData], None]:
    def run(event: EventData) -> None:
        cast("CallMachine", event.model)._moved(row)

    return run


class _SharedTable(Machine):
    """A ``transitions`` Machine that binds no convenience methods to its models: the call
    machine fires events through the table itself, so binding them would only cost time per
    call (and three regions would clash on ``trigger``)."""

    def _checked_assignment(self, model: object, name: str, func: object) -> None:
        pass


def _build(region: Region) -> Machine:
    transitions = []
    for row in region.rows:
        spec: dict[str, Any] = {
            "trigger": str(row.trigger),
            "source": [str(s) for s in row.sources],
            "dest": None if row.dest is None else str(row.dest),
        }
        if row.effect is not None or row.then is not None:
            spec["after"] = _after(row)
        if row.when:
            spec["conditions"] = row.when
        if row.unless:
            spec["unless"] = row.unless
        if row.note:
            spec["before"] = row.note
        transitions.append(spec)
    # One transitions Machine per region holds the table for every call: building one per call
    # costs ~1 ms and ~40 KiB, and each call only needs its own state (many models).
    return _SharedTable(
        model=None,
        # on_enter runs on real and reflexive moves, not on internal ("stays") ones.
        states=[{"name": str(s), "on_enter": _entered(region.name)} for s in region.states],
        transitions=transitions,
        initial=str(region.initial),
        auto_transitions=False,
        send_event=True,
        model_attribute=region.attribute,
    )


_MACHINES: Final = {region.name: _build(region) for region in REGIONS}
_MACHINE: Final = _MACHINES["call"]


class _RegionState:
    """The attribute ``transitions`` reads and writes a region's state name through; writing
    it also sets the model's ``public`` attribute to the Enum member, so reading the state on
    the audio path is a plain attribute read. (Both are ordinary attributes: no ``__dict__``
    access, which would cost every attribute read of the model its fast path.)"""

    def __init__(self, public: str) -> None:
        self.public = public
        self.raw = f"_{public}_name"

    def __get__(self, obj: object, owner: type | None = None) -> str:
        name: str = getattr(obj, self.raw)
        return name

    def __set__(self, obj: object, value: str) -> None:
        setattr(obj, self.raw, value)
        setattr(obj, self.public, _VALUE[value])


MAX_HISTORY = 100  # moves kept in CallMachine.history


class CallMachine:
    """The state of one call in each region. Plain class: ``transitions`` drives its regions.

    ``clock`` gives the current time (``trio.current_time`` in the service) so the time each
    region's state was entered is known without a wall clock. Besides the states, the machine
    owns two facts its conditions read: whether the caller was reprompted since they last spoke
    (``reprompted``), which response is the transfer's goodbye (``transfer_goodbye``), and
    whether the transfer is the hand-over at shutdown (``draining``).
    """

    state: CallState
    closing: Closing
    transfer_phase: TransferPhase
    _call = _RegionState("state")
    _closing = _RegionState("closing")
    _transfer = _RegionState("transfer_phase")

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
        now = clock()
        self.entered: dict[str, float] = {region.name: now for region in REGIONS}
        self.invalid_events: Counter[str] = Counter()
        # The last moves, for a look at a call in a debugger or a test: a long call's 500 moves
        # were 50 KB.
        self.history: deque[tuple[float, str, str, str]] = deque(maxlen=MAX_HISTORY)
        self.reprompted = False
        self.transfer_goodbye: str | None = None
        self.draining = False
        # The model link: whether a fallback backend is left to switch to (the session sets it),
        # when the current model session opened, and whether it is due to be renewed.
        self.fallback_available = False
        self.session_opened_at: float | None = None
        self.rollover_due = False
        self._effects: list[EffectCall] = []
        self._then: list[Trigger] = []
        for machine in _MACHINES.values():
            machine.add_model(self)

    def release(self) -> None:
        """Detach from the shared tables once the call is over (the tables hold their models)."""
        for machine in _MACHINES.values():
            machine.remove_model(self)

    @property
    def entered_at(self) -> float:
        """When the conversation's current state was entered."""
        return self.entered["call"]

    @property
    def ended(self) -> bool:
        return self.state is _E

    # ------------------------------------------------------------------ conditions and notes

    def audio_outstanding(self, event: EventData) -> bool:
        return self._audio_outstanding()

    def transferring(self, event: EventData) -> bool:
        return self.state is _X

    def connecting(self, event: EventData) -> bool:
        return self.state is _C

    def ending(self, event: EventData) -> bool:
        return self.closing is not _OPEN

    def transfer_goodbye_started(self, event: EventData) -> bool:
        return self.transfer_goodbye is not None

    def rollover_is_due(self, event: EventData) -> bool:
        return self.rollover_due

    def note_session_opened(self, event: EventData) -> None:
        self.session_opened_at = self._clock()
        self.rollover_due = False

    def note_fallback(self, event: EventData) -> None:
        self.fallback_available = False  # one fallback per call
        self.session_opened_at = None

    def note_rollover_due(self, event: EventData) -> None:
        self.rollover_due = True

    def note_reprompt(self, event: EventData) -> None:
        self.reprompted = True

    def note_transfer(self, event: EventData) -> None:
        self.transfer_goodbye = None

    def note_drain(self, event: EventData) -> None:
        self.draining = True

    def caller_heard(self) -> None:
        """The caller spoke: a later silence earns a reprompt again."""
        self.reprompted = False

    def note_response(self, response_id: str) -> None:
        """A response began; the first one once transferring is the transfer's goodbye."""
        if self.state is _X and self.transfer_goodbye is None:
            self.transfer_goodbye = response_id

    def _note_change(self, region: str) -> None:
        self.entered[region] = self._clock()
        if self.on_change is not None:
            self.on_change()

    def _moved(self, row: Row) -> None:
        if row.effect is not None:
            self._effects.append(EffectCall(row.effect, row.reason))
        if row.then is not None:
            self._then.append(row.then)

    # ------------------------------------------------------------------ events

    def fire(self, trigger: Trigger) -> bool:
        """Apply ``trigger``; False (logged and counted) when the tables do not allow it.

        Then offers the triggers the moving rows pass on; the effects of every row that moved
        wait in :meth:`take_effects` for the session.
        """
        region = _REGION_OF.get(trigger)
        before = self._call if region is None else getattr(self, region.attribute)
        try:
            if self.state is _E:  # final, and maybe released from the tables
                raise MachineError(f"{trigger} after the end")
            if region is None:
                raise MachineError(f"no such trigger {trigger}")
            moved = bool(_MACHINES[region.name].events[str(trigger)].trigger(self))
        except MachineError:  # not allowed here / no such trigger
            self.invalid_events[f"{trigger}@{before}"] += 1
            log.warning(
                "call %s: event %r is not allowed in state %r; ignored",
                self.call_id,
                str(trigger),
                before,
            )
            return False
        if moved:
            after = getattr(self, region.attribute)
            self.history.append((self.entered[region.name], str(trigger), before, after))
        while self._then:
            self.offer(self._then.pop(0))
        return moved

    def offer(self, trigger: Trigger) -> bool:
        """Fire ``trigger`` if its table names it for the current state; else do nothing."""
        return self.allows(trigger) and self.fire(trigger)

    def allows(self, trigger: Trigger) -> bool:
        """Whether the tables name ``trigger`` for the current state (conditions aside)."""
        region = _REGION_OF.get(trigger)
        if region is None or self.state is _E:
            return False
        return trigger in _TRIGGERS_IN[_VALUE[getattr(self, region.attribute)]]

    def take_effects(self) -> list[EffectCall]:
        """The effects of the rows that moved since the last call, in order."""
        effects, self._effects = self._effects, []
        return effects

    # ------------------------------------------------------------------ deadlines

    def _deadlines(self, settings: Settings, started_at: float) -> list[tuple[float, Trigger]]:
        """The deadlines in force, most urgent first when several have passed.

        While we end the call ourselves, only the ending's deadline counts; otherwise the whole
        call's, then that of the current state (a transfer's phase while transferring).
        """
        if self.state is _E:
            return []
        if self.closing is not _OPEN:
            deadline = DEADLINES.get(self.closing)
            if deadline is None:
                return []
            return [(self.entered["closing"] + deadline.seconds(settings), deadline.trigger)]
        found = [(started_at + CALL_DEADLINE.seconds(settings), CALL_DEADLINE.trigger)]
        state: State = self.state
        opened = self.session_opened_at
        if opened is not None and not self.rollover_due and state in _TALKING:
            found.append((opened + SESSION_DEADLINE.seconds(settings), SESSION_DEADLINE.trigger))
        entered = self.entered["call"]
        if state is _X:
            state, entered = self.transfer_phase, self.entered["transfer"]
        deadline = DEADLINES.get(state)
        if deadline is not None:
            found.append((entered + deadline.seconds(settings), deadline.trigger))
        return found

    def next_deadline(self, settings: Settings, started_at: float) -> float:
        """The earliest time at which :meth:`due` names a trigger (inf: none)."""
        return min((at for at, _ in self._deadlines(settings, started_at)), default=math.inf)

    def due(self, settings: Settings, started_at: float, now: float) -> Trigger | None:
        """The trigger of the most urgent deadline that has passed at ``now``, if any."""
        for at, trigger in self._deadlines(settings, started_at):
            if now >= at:
                return trigger
        return None
