"""One offline model session: the Realtime GA protocol, spoken by a local speech loop.

Client events come in as JSON text (exactly what the bridge or an ``openai`` client sends);
server events go out the same way, shaped as the GA API shapes them. Inside:

* **ears** (a task): the caller's audio (μ-law 8 kHz or PCM16 24 kHz, as the session asked)
  → 16 kHz through the codec's streaming resampler → the speech detector (speech start and
  end at their true stream times) → the utterance, transcribed free-form by Whisper once the
  detector says it ended; blocking work goes through ``trio.to_thread`` in batches;
* **brain**: :class:`~hotelvoice.engine.policy.ConciergePolicy` decides what to say or
  which tool to call;
* **voice** (a task per response): the Piper voice, a sentence at a time (the first goes out
  while the next is synthesised), resampled to the session's output format, streamed as
  ``response.output_audio.delta`` with its transcript; ``response.cancel`` and a
  caller barging in (``interrupt_response``) cut it short with ``status: cancelled``.

Tool calls use the real function-call protocol: a ``function_call`` item and
``response.function_call_arguments.done``, then the client's ``function_call_output`` and
``response.create``. Text conversations (``output_modalities: ["text"]``, user text items)
work too, for clients without audio.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import trio

from hotelvoice.calls.session import HAND_OVER_LINE
from hotelvoice.codec.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from hotelvoice.codec.resample import StreamResampler
from hotelvoice.engine.backlog import MAX_APPEND_MS, AudioBacklog, bytes_per_ms
from hotelvoice.engine.phrases import spoken_words
from hotelvoice.engine.policy import CallTool, ConciergePolicy, Say
from hotelvoice.engine.speech import SpeechKit
from hotelvoice.ids import new_id
from hotelvoice.logsafe import clip, safe
from hotelvoice.metrics import Metrics
from hotelvoice.properties.model import Property
from hotelvoice.speech.vad import SpeechAudio, SpeechEnded, SpeechStarted
from hotelvoice.wire.realtime import END_CALL_METADATA

log = logging.getLogger(__name__)

ASR_RATE = 16000
DELTA_MS = 100  # audio per output delta
TAKE_OVER_APOLOGY = "Sorry, one moment. I'm here now: how can I help?"
MAX_EAR_BATCH_BYTES = 48000  # at most ~1 s of caller audio per thread hop
# An utterance longer than this is heard up to here (the rest is dropped, never held): a
# minute of talk without a pause is not a request the concierge could act on anyway.
MAX_UTTERANCE_S = 60
# Quiet after speech before its words are decoded ahead of the end of the turn (three of the
# detector's 32 ms frames): the detector's end-of-turn window is 256 ms, so most of the decode
# (about 0.2 s) is done by the time it ends the utterance; a pause that turns out not to end
# it costs one wasted decode.
GUESS_AFTER_MS = 96
# Decodes of guessed words running at once: a caller pausing faster than the recogniser decodes
# waits for the end of the turn instead of piling up decodes (each holding its audio).
MAX_GUESSES_IN_FLIGHT = 2

# -- what one session keeps ----------------------------------------------------------------
#
# A long call's memory stays flat. The conversation's items are kept only as far back as a
# client can still refer to them (a truncate, a delete, a ``function_call_output`` names a recent
# one): the newest MAX_ITEMS, and no more than MAX_ITEMS_CHARS of them as JSON. The audio length
# of an item (what a truncate is checked against) goes with it, and so does a function call's
# call_id (the newest MAX_FUNCTION_CALLS). Text awaiting ``response.create`` is one value.
MAX_ITEMS = 256
MAX_ITEMS_CHARS = 2_000_000
MAX_FUNCTION_CALLS = 256
MAX_TEXT_CHARS = 4_000  # of a user's text or a tool's output handed to the policy

# Refused client events: each counted in ``hotelvoice_engine_bad_events_total{kind}`` (kinds from
# this set only), the first few of each kind per session logged.
BAD_EVENT_KINDS = frozenset(
    {
        "invalid_json",
        "invalid_event",
        "unknown_event_type",
        "binary_message",
        "bad_session_update",
        "bad_value",
        "item_not_found",
        "tool_call_not_found",
        "bad_truncate",
        "response_active",
        "no_active_response",
        "oversized_append",
    }
)
LOGGED_ERRORS_PER_KIND = 5


_SILENCE = np.zeros(0, np.int16)


def default_session(model: str) -> dict[str, Any]:
    """What ``session.created`` reports: the GA defaults (PCM 24 kHz, server VAD)."""
    pcm = {"type": "audio/pcm", "rate": 24000}
    return {
        "type": "realtime",
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "audio": {
            "input": {
                "format": dict(pcm),
                "noise_reduction": None,
                "transcription": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 300,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"format": dict(pcm), "voice": "marin", "speed": 1.0},
        },
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "include": None,
    }


# -- what a client may set ------------------------------------------------------------------
#
# ``session.update`` is checked whole before any of it is applied, as the Realtime API does:
# the first problem found is answered with an ``error`` event naming the field (``param``), and
# the session is left as it was. Only the fields below are taken, so a client cannot grow the
# session's configuration by sending new keys, and every value has a size.

MAX_INSTRUCTIONS_CHARS = 100_000
MAX_TOOLS = 128
MAX_TOOL_DESCRIPTION_CHARS = 8_000
MAX_TOOL_PARAMETERS_CHARS = 32_000  # one tool's JSON schema, as JSON
MAX_NAME_CHARS = 64  # a voice, a model, a transcription model or language, a tool's name
MAX_ID_CHARS = 64  # an item's id or a call_id a client chooses
MAX_EVENT_ID_CHARS = 128  # of a client's event_id, as an error event quotes it
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FORMAT_TYPES = ("audio/pcm", "audio/pcmu", "audio/pcma")
PCM_RATE = 24000  # the one rate the Realtime API takes for audio/pcm
_SESSION_KEYS = frozenset(
    {
        "type",
        "model",
        "output_modalities",
        "instructions",
        "audio",
        "tools",
        "tool_choice",
        "max_output_tokens",
        "tracing",
        "truncation",
        "prompt",
        "include",
    }
)
_SIDE_KEYS = {
    "input": frozenset({"format", "noise_reduction", "transcription", "turn_detection"}),
    "output": frozenset({"format", "voice", "speed"}),
}
_VAD_KEYS = {
    "server_vad": frozenset(
        {
            "type",
            "threshold",
            "prefix_padding_ms",
            "silence_duration_ms",
            "idle_timeout_ms",
            "create_response",
            "interrupt_response",
        }
    ),
    "semantic_vad": frozenset({"type", "eagerness", "create_response", "interrupt_response"}),
}


class ConfigProblem(Exception):
    """Why a ``session.update`` is refused: an ``invalid_request_error`` with ``code`` and
    the ``param`` it is about."""

    def __init__(self, param: str, message: str, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.param = param
        self.code = code
        self.message = message


def _shown(value: object) -> str:
    """A client's value as an error message quotes it: its repr, cut short."""
    return clip(repr(value), 64)


def _object(value: Any, param: str, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigProblem(param, f"Invalid type for '{param}': expected an object.")
    for key in value:
        if key not in allowed:
            name = f"{param}.{clip(str(key), 64)}"
            raise ConfigProblem(name, f"Unknown parameter: '{name}'.", "unknown_parameter")
    return value


def _string(value: Any, param: str, limit: int, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise ConfigProblem(param, f"Invalid type for '{param}': expected a string.")
    if len(value) > limit:
        raise ConfigProblem(
            param, f"'{param}' is {len(value)} characters long, over the limit of {limit}."
        )
    if not empty and not value:
        raise ConfigProblem(param, f"'{param}' must not be empty.")
    return value


def _number(value: Any, param: str, low: float, high: float, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if type(value) not in kinds or not low <= value <= high:
        wanted = "an integer" if integer else "a number"
        raise ConfigProblem(
            param,
            f"Invalid value for '{param}': {_shown(value)}; expected {wanted} "
            f"from {low:g} to {high:g}.",
        )


def _boolean(value: Any, param: str) -> None:
    if type(value) is not bool:
        raise ConfigProblem(param, f"Invalid type for '{param}': expected a boolean.")


def _one_of(value: Any, param: str, choices: tuple[Any, ...]) -> None:
    if not any(type(value) is type(choice) and value == choice for choice in choices):
        listed = ", ".join(repr(choice) for choice in choices)
        raise ConfigProblem(
            param, f"Invalid value for '{param}': {_shown(value)}; expected one of {listed}."
        )


def _check_format(value: Any, param: str) -> None:
    fmt = _object(value, param, frozenset({"type", "rate"}))
    _one_of(fmt.get("type"), f"{param}.type", _FORMAT_TYPES)
    if fmt["type"] == "audio/pcm":
        _one_of(fmt.get("rate", PCM_RATE), f"{param}.rate", (PCM_RATE,))
    elif "rate" in fmt:
        name = f"{param}.rate"
        raise ConfigProblem(name, f"Unknown parameter: '{name}'.", "unknown_parameter")


def _check_turn_detection(value: Any, param: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ConfigProblem(param, f"Invalid type for '{param}': expected an object or null.")
    kind = value.get("type", "server_vad")
    _one_of(kind, f"{param}.type", tuple(_VAD_KEYS))
    detection = _object(value, param, _VAD_KEYS[kind])
    for key in ("create_response", "interrupt_response"):
        if key in detection:
            _boolean(detection[key], f"{param}.{key}")
    if kind == "semantic_vad":
        if "eagerness" in detection:
            _one_of(detection["eagerness"], f"{param}.eagerness", ("low", "medium", "high", "auto"))
        return
    if "threshold" in detection:
        _number(detection["threshold"], f"{param}.threshold", 0.0, 1.0)
    for key in ("prefix_padding_ms", "silence_duration_ms"):
        if key in detection:
            _number(detection[key], f"{param}.{key}", 0, 10_000, integer=True)
    if detection.get("idle_timeout_ms") is not None:
        _number(
            detection["idle_timeout_ms"], f"{param}.idle_timeout_ms", 0, 3_600_000, integer=True
        )


def _check_audio(value: Any) -> None:
    audio = _object(value, "session.audio", frozenset(_SIDE_KEYS))
    for side, fields in audio.items():
        param = f"session.audio.{side}"
        fields = _object(fields, param, _SIDE_KEYS[side])
        if "format" in fields:
            _check_format(fields["format"], f"{param}.format")
        if "voice" in fields:
            _string(fields["voice"], f"{param}.voice", MAX_NAME_CHARS, empty=False)
        if "speed" in fields:
            _number(fields["speed"], f"{param}.speed", 0.25, 1.5)
        if "turn_detection" in fields:
            _check_turn_detection(fields["turn_detection"], f"{param}.turn_detection")
        if fields.get("noise_reduction") is not None:
            name = f"{param}.noise_reduction"
            reduction = _object(fields["noise_reduction"], name, frozenset({"type"}))
            _one_of(reduction.get("type"), f"{name}.type", ("near_field", "far_field"))
        if fields.get("transcription") is not None:
            name = f"{param}.transcription"
            keys = frozenset({"model", "language", "prompt"})
            transcription = _object(fields["transcription"], name, keys)
            for key in ("model", "language"):
                if transcription.get(key) is not None:
                    _string(transcription[key], f"{name}.{key}", MAX_NAME_CHARS)
            if transcription.get("prompt") is not None:
                _string(transcription["prompt"], f"{name}.prompt", MAX_TOOL_DESCRIPTION_CHARS)


def _check_tools(value: Any) -> None:
    if not isinstance(value, list):
        raise ConfigProblem("session.tools", "Invalid type for 'session.tools': expected an array.")
    if len(value) > MAX_TOOLS:
        raise ConfigProblem(
            "session.tools",
            f"'session.tools' has {len(value)} tools, over the limit of {MAX_TOOLS}.",
        )
    names: set[str] = set()
    for index, tool in enumerate(value):
        param = f"session.tools[{index}]"
        keys = frozenset({"type", "name", "description", "parameters"})
        tool = _object(tool, param, keys)
        _one_of(tool.get("type"), f"{param}.type", ("function",))
        name = _string(tool.get("name"), f"{param}.name", MAX_NAME_CHARS)
        if not _TOOL_NAME.fullmatch(name) or name in names:
            raise ConfigProblem(
                f"{param}.name",
                f"Invalid value for '{param}.name': {_shown(name)}; expected a unique name of "
                "letters, digits, '_' and '-'.",
            )
        names.add(name)
        if tool.get("description") is not None:
            _string(tool["description"], f"{param}.description", MAX_TOOL_DESCRIPTION_CHARS)
        if "parameters" in tool:
            schema = tool["parameters"]
            if not isinstance(schema, dict):
                raise ConfigProblem(
                    f"{param}.parameters",
                    f"Invalid type for '{param}.parameters': expected an object.",
                )
            if len(json.dumps(schema)) > MAX_TOOL_PARAMETERS_CHARS:
                raise ConfigProblem(
                    f"{param}.parameters",
                    f"'{param}.parameters' is over the limit of {MAX_TOOL_PARAMETERS_CHARS} "
                    "characters as JSON.",
                )


def check_session_update(session: Any) -> None:
    """Check a ``session.update``'s ``session`` whole, as the Realtime API would. Raises
    ConfigProblem for the first field it cannot take."""
    if not isinstance(session, dict):
        raise ConfigProblem("session", "Invalid type for 'session': expected an object.")
    if "type" not in session:
        raise ConfigProblem(
            "session.type",
            "Missing required parameter: 'session.type'.",
            "missing_required_parameter",
        )
    _object(session, "session", _SESSION_KEYS)
    _one_of(session["type"], "session.type", ("realtime",))
    if "model" in session:
        _string(session["model"], "session.model", MAX_NAME_CHARS)
    if "instructions" in session:
        _string(session["instructions"], "session.instructions", MAX_INSTRUCTIONS_CHARS)
    if "output_modalities" in session:
        _one_of(session["output_modalities"], "session.output_modalities", (["audio"], ["text"]))
    if "audio" in session:
        _check_audio(session["audio"])
    if "tools" in session:
        _check_tools(session["tools"])
    if "tool_choice" in session:
        choice = session["tool_choice"]
        if isinstance(choice, dict):
            keys = frozenset({"type", "name"})
            _one_of(
                _object(choice, "session.tool_choice", keys).get("type"),
                "session.tool_choice.type",
                ("function",),
            )
            _string(choice.get("name"), "session.tool_choice.name", MAX_NAME_CHARS, empty=False)
        else:
            _one_of(choice, "session.tool_choice", ("auto", "none", "required"))
    if "max_output_tokens" in session and session["max_output_tokens"] != "inf":
        _number(session["max_output_tokens"], "session.max_output_tokens", 1, 4096, integer=True)
    if "truncation" in session:
        truncation = session["truncation"]
        if isinstance(truncation, dict):
            keys = frozenset({"type", "retention_ratio"})
            _object(truncation, "session.truncation", keys)
            _one_of(truncation.get("type"), "session.truncation.type", ("retention_ratio",))
            ratio = truncation.get("retention_ratio", 0.8)
            _number(ratio, "session.truncation.retention_ratio", 0.0, 1.0)
        else:
            _one_of(truncation, "session.truncation", ("auto", "disabled"))
    if session.get("tracing") is not None:
        _one_of(session["tracing"], "session.tracing", ("auto",))
    if session.get("prompt") is not None:
        prompt = _object(session["prompt"], "session.prompt", frozenset({"id", "version"}))
        _string(prompt.get("id"), "session.prompt.id", MAX_NAME_CHARS, empty=False)
        if prompt.get("version") is not None:
            _string(prompt["version"], "session.prompt.version", MAX_NAME_CHARS)
    if session.get("include") is not None:
        include = session["include"]
        if (
            not isinstance(include, list)
            or any(entry != "item.input_audio_transcription.logprobs" for entry in include)
            or len(include) > 1
        ):
            raise ConfigProblem(
                "session.include",
                "Invalid value for 'session.include': expected "
                "['item.input_audio_transcription.logprobs'] or [].",
            )


def _apply(config: dict[str, Any], session: dict[str, Any]) -> None:
    """Apply a checked update: top-level fields and each side's fields are replaced whole,
    a ``turn_detection`` without a ``type`` changes only the fields it names."""
    for key, value in session.items():
        if key != "audio":
            config[key] = copy.deepcopy(value)
            continue
        for side, fields in value.items():
            target = config["audio"][side]
            for name, field in fields.items():
                current = target.get(name)
                if name == "turn_detection" and isinstance(field, dict) and "type" not in field:
                    base = current if isinstance(current, dict) else _default_detection()
                    target[name] = {**base, **copy.deepcopy(field)}
                else:
                    target[name] = copy.deepcopy(field)


def _default_detection() -> dict[str, Any]:
    detection: dict[str, Any] = default_session("")["audio"]["input"]["turn_detection"]
    return detection


@attrs.define(eq=False)
class _Guess:
    """The words decoded at one pause of the caller's (``done`` once they are known)."""

    pause: int
    text: str = ""
    done: trio.Event = attrs.Factory(trio.Event)


@attrs.define(eq=False)
class _Response:
    response_id: str
    modality: str  # "audio" or "text"
    end_call: bool = False  # the concierge's goodbye: the bridge hangs up once it has played
    item_id: str = ""
    cancel_reason: str | None = None
    done: bool = False
    sent_ms: int = 0

    def cancelled(self) -> bool:
        """Cancelled by the client or a barge-in (possibly while the voice was speaking)."""
        return self.cancel_reason is not None


class LocalSession:
    """The server side of one Realtime connection to the offline engine."""

    def __init__(
        self,
        *,
        kit: SpeechKit,
        prop: Property,
        today_fn: Callable[[], Any],
        emit: Callable[[dict[str, Any]], None],
        model: str = "hotelvoice-local",
        now_fn: Callable[[], dt.datetime] | None = None,
        wait_for_room: Callable[[], Awaitable[None]] = trio.lowlevel.checkpoint,
        metrics: Metrics | None = None,
    ) -> None:
        self.kit = kit
        self._wait_for_room = wait_for_room  # the voice waits here between deltas
        self._metrics = metrics
        self.property = prop
        self._emit_raw = emit
        self.config = default_session(model)
        self.conversation_id = new_id("conv")
        # The hotel's local time: callbacks ("tomorrow at 3 pm") are read in it.
        self.policy = ConciergePolicy(
            prop, today=today_fn(), tools=frozenset(), now=now_fn() if now_fn else None
        )
        # Bounded (MAX_ITEMS, MAX_ITEMS_CHARS): oldest first, each with its size as JSON.
        self.items: dict[str, dict[str, Any]] = {}
        self._item_chars: dict[str, int] = {}
        self._items_chars = 0
        self._last_item: str | None = None
        self._function_calls: dict[str, str] = {}  # call_id -> tool name (MAX_FUNCTION_CALLS)
        # The first tool output and the last user text since the last response.create: the
        # only ones it acts on.
        self._tool_result: tuple[str, str] | None = None
        self._user_text: str | None = None
        self._responses = 0
        self._active: _Response | None = None
        self._item_audio_ms: dict[str, int] = {}  # audio items still in self.items
        self._guesses_in_flight = 0
        self._errors_logged: Counter[str] = Counter()  # by kind: a fixed set
        self._nursery: trio.Nursery | None = None
        self.ears_backlog = AudioBacklog(metrics=metrics)  # bounded: engine/backlog.py
        # Audio position: ms of caller audio received, in the session's input format.
        self._input_resampler: StreamResampler | None = None
        self._input_format: tuple[str, int] | None = None
        self._detector = kit.detector()
        self._utterance: list[npt.NDArray[np.int16]] = []  # 16 kHz audio of the speech heard
        self._utterance_samples = 0
        self._listening = False  # the detector is in an utterance
        self._pauses = 0  # pauses so far: a guess belongs to one
        self._pause: int | None = None  # the pause the caller is in now, if any
        self._guess: _Guess | None = None  # the words decoded at the latest pause
        self.guesses_used = 0  # utterances whose words were decoded ahead
        self._speech_item: str | None = None

    # ------------------------------------------------------------------ lifecycle

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the session until cancelled. Waits for the recogniser and the voice to load
        first (at once when the server warmed them up)."""
        await trio.to_thread.run_sync(lambda: (self.kit.transcriber, self.kit.voice))
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._emit("session.created", session=copy.deepcopy(self.config))
                task_status.started()
                nursery.start_soon(self._ears)
        finally:
            # The utterance being heard (up to a minute of audio) goes with the call, whatever
            # still refers to the session.
            self._utterance = []
            self._nursery = None

    # ------------------------------------------------------------------ client events

    def handle(self, text: str | bytes) -> None:
        """One client event (JSON text). Never raises: problems become ``error`` events."""
        if not isinstance(text, str):
            self._error("invalid_value", "Binary messages are not events.", kind="binary_message")
            return
        try:
            event = json.loads(text)
        except ValueError:
            self._error("invalid_json", "The event is not valid JSON.", kind="invalid_json")
            return
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            message = "An event must be an object with a type."
            self._error("invalid_event", message, kind="invalid_event", param="type")
            return
        handler = _HANDLERS.get(event["type"])
        if handler is None:
            message = f"Invalid value: {_shown(event['type'])}. Unknown event type."
            self._error("invalid_value", message, event, kind="unknown_event_type", param="type")
            return
        try:
            handler(self, event)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            message = f"Malformed {event['type']}: {clip(str(exc), 100)}"
            self._error("invalid_value", message, event, kind="bad_value")

    def _on_session_update(self, event: dict[str, Any]) -> None:
        session = event.get("session")
        try:
            check_session_update(session)
        except ConfigProblem as problem:
            self._error(
                problem.code, problem.message, event, kind="bad_session_update", param=problem.param
            )
            return
        assert isinstance(session, dict)
        _apply(self.config, session)
        names = frozenset(tool["name"] for tool in self.config.get("tools") or [])
        self.policy.tools = names
        self._emit("session.updated", session=copy.deepcopy(self.config))

    def _on_append(self, event: dict[str, Any]) -> None:
        text = event["audio"]
        per_ms = bytes_per_ms(self.config["audio"]["input"]["format"])
        audio_ms = len(text) * 3 // 4 // per_ms  # measured before decoding it
        if audio_ms > MAX_APPEND_MS:
            message = f"input_audio_buffer.append carries {audio_ms} ms of audio, over the"
            self._error(
                "invalid_value",
                f"{message} {MAX_APPEND_MS} ms limit; dropped.",
                event,
                kind="oversized_append",
                param="audio",
            )
            return
        self.ears_backlog.put(base64.b64decode(text, validate=True), per_ms)

    def _on_commit(self, event: dict[str, Any]) -> None:
        item_id = new_id("item")
        self._commit_user_audio(item_id)

    def _commit_user_audio(self, item_id: str) -> None:
        self._emit(
            "input_audio_buffer.committed", item_id=item_id, previous_item_id=self._last_item
        )
        self._add_item(
            {
                "id": item_id,
                "type": "message",
                "role": "user",
                "status": "completed",
                "content": [{"type": "input_audio", "transcript": None}],
            }
        )

    def _on_clear(self, event: dict[str, Any]) -> None:
        self.ears_backlog.clear()  # the ears reset the detector in their own thread
        self._emit("input_audio_buffer.cleared")

    def _on_item_create(self, event: dict[str, Any]) -> None:
        item = dict(event["item"])
        kind = item["type"]
        if kind not in ("message", "function_call", "function_call_output"):
            message = f"Invalid value for 'item.type': {_shown(kind)}."
            self._error("invalid_value", message, event, kind="bad_value", param="item.type")
            return
        for key in ("id", "call_id"):
            if key in item and (not isinstance(item[key], str) or len(item[key]) > MAX_ID_CHARS):
                message = f"Invalid value for 'item.{key}': expected a string of at most"
                self._error(
                    "invalid_value",
                    f"{message} {MAX_ID_CHARS} characters.",
                    event,
                    kind="bad_value",
                    param=f"item.{key}",
                )
                return
        if kind == "function_call_output":
            name = self._function_calls.get(item["call_id"])
            if name is None:
                self._error(
                    "invalid_value",
                    f"Tool call ID '{item['call_id']}' not found in conversation.",
                    event,
                    kind="tool_call_not_found",
                    param="item.call_id",
                )
                return
            if self._tool_result is None:
                self._tool_result = (name, str(item["output"])[:MAX_TEXT_CHARS])
        elif kind == "function_call":
            self._remember_call(item["call_id"], str(item["name"])[:MAX_NAME_CHARS])
        elif kind == "message":
            text = " ".join(
                str(part.get("text") or "")
                for part in item.get("content") or []
                if isinstance(part, dict)
            ).strip()[:MAX_TEXT_CHARS]
            if item.get("role") == "system":
                self.policy.note(text)
            elif item.get("role") == "user" and text:
                self._user_text = text
        item.setdefault("id", new_id("item"))
        item["object"] = "realtime.item"
        item["status"] = "completed"
        self._add_item(item)

    def _on_truncate(self, event: dict[str, Any]) -> None:
        item_id, end_ms = event["item_id"], int(event["audio_end_ms"])
        have = self._item_audio_ms.get(item_id)
        if item_id not in self.items or have is None:
            message = f"Item with id {_shown(item_id)} not found."
            self._error("invalid_value", message, event, kind="item_not_found", param="item_id")
            return
        if not 0 <= end_ms <= have:
            self._error(
                "invalid_value",
                f"Audio content of {have}ms is already shorter than {end_ms}ms"
                if end_ms > have
                else "Invalid value for 'audio_end_ms': it must not be negative.",
                event,
                kind="bad_truncate",
                param="audio_end_ms",
            )
            return
        self._emit(
            "conversation.item.truncated",
            item_id=item_id,
            content_index=event.get("content_index", 0),
            audio_end_ms=end_ms,
        )

    def _on_item_delete(self, event: dict[str, Any]) -> None:
        item_id = event["item_id"]
        if not isinstance(item_id, str) or item_id not in self.items:
            message = f"Item with id {_shown(item_id)} not found."
            self._error("invalid_value", message, event, kind="item_not_found", param="item_id")
            return
        self._drop_item(item_id)
        self._emit("conversation.item.deleted", item_id=item_id)

    def _on_response_create(self, event: dict[str, Any]) -> None:
        if self._active is not None:
            self._error(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: "
                f"{self._active.response_id}.",
                event,
                kind="response_active",
            )
            return
        instructions = str((event.get("response") or {}).get("instructions") or "").lower()
        action: Say | CallTool
        if HAND_OVER_LINE.lower() in instructions:  # the service shuts down (calls/session)
            action = Say(HAND_OVER_LINE)
        elif self._tool_result is not None:
            name, output = self._tool_result
            self._tool_result = None
            action = self.policy.on_tool_result(name, output)
        elif "goodbye" in instructions or "call is ending" in instructions:
            action = self.policy.goodbye()
        elif "silent" in instructions or "still there" in instructions:
            action = self.policy.reprompt()
        elif "line was interrupted" in instructions:
            # Taking over a call mid-way (the bridge's fallback): the replayed turns are the
            # conversation so far, not a new request; one short apology, then the caller goes on.
            self._user_text = None
            action = Say(TAKE_OVER_APOLOGY)
        elif self._user_text is not None:
            text, self._user_text = self._user_text, None
            action = self.policy.on_caller(text)
        elif self._responses == 0:
            action = self.policy.greeting()
        else:
            action = Say("How else can I help you?")
        self._start_response(action)

    def _on_response_cancel(self, event: dict[str, Any]) -> None:
        if self._active is None:
            self._error(
                "response_cancel_not_active",
                "Cancellation failed: no active response found",
                event,
                kind="no_active_response",
            )
            return
        self._active.cancel_reason = "client_cancelled"

    # ------------------------------------------------------------------ ears

    async def _ears(self) -> None:
        """Turn caller audio into speech events and transcripts, batch by batch.

        After ``input_audio_buffer.clear`` the detector starts afresh. An utterance's words
        are decoded once the caller has paused for ``GUESS_AFTER_MS`` (in a task of its own,
        so the ears keep listening); when the detector then says the utterance ended with
        nothing more said, that guess is the transcript, and the decode has overlapped the
        end-of-turn wait instead of following it.
        """
        while True:
            clear, audio = await self.ears_backlog.take(MAX_EAR_BATCH_BYTES)
            if clear:
                await trio.to_thread.run_sync(self._forget)
                self._guess = None
            if audio:
                pcm = self._to_asr_rate(audio)
                events = await trio.to_thread.run_sync(self._hear, pcm)
                for kind, value in events:
                    if kind == "started":
                        self._caller_started(int(value))
                    elif kind == "paused":
                        self._guess_words(*value)
                    elif kind == "ended":
                        at_ms, pause, utterance = value
                        self._caller_stopped(at_ms, await self._words_of(pause, utterance))

    def _guess_words(self, pause: int, utterance: npt.NDArray[np.int16]) -> None:
        if self._guesses_in_flight >= MAX_GUESSES_IN_FLIGHT:
            return  # the end of the turn decodes instead
        guess = _Guess(pause)
        self._guess = guess
        self._guesses_in_flight += 1

        async def decode() -> None:
            try:
                guess.text = (await trio.to_thread.run_sync(self.kit.transcribe, utterance)).text
            finally:
                self._guesses_in_flight -= 1
                guess.done.set()

        assert self._nursery is not None
        self._nursery.start_soon(decode)

    async def _words_of(self, pause: int | None, utterance: npt.NDArray[np.int16]) -> str:
        """The transcript of an utterance that ended at pause ``pause``: the guess decoded at
        that pause if there is one, else a decode now."""
        guess, self._guess = self._guess, None
        if guess is not None and guess.pause == pause:
            await guess.done.wait()
            self.guesses_used += 1
            return guess.text
        return (await trio.to_thread.run_sync(self.kit.transcribe, utterance)).text

    def _to_asr_rate(self, audio: bytes) -> npt.NDArray[np.int16]:
        fmt = self.config["audio"]["input"]["format"] or {}
        kind = fmt.get("type", "audio/pcm")
        rate = 8000 if kind in ("audio/pcmu", "audio/pcma") else int(fmt.get("rate", 24000))
        if self._input_format != (kind, rate):
            self._input_format = (kind, rate)
            self._input_resampler = StreamResampler(rate, ASR_RATE)
        assert self._input_resampler is not None
        if kind == "audio/pcmu":
            samples = ulaw_decode(audio)
        elif kind == "audio/pcma":
            samples = alaw_decode(audio)
        else:
            samples = np.frombuffer(audio[: len(audio) & ~1], "<i2").astype(np.int16)
        return self._input_resampler.process(samples)

    def _hear(self, pcm: npt.NDArray[np.int16]) -> list[tuple[str, Any]]:
        """In a worker thread: the detector over one batch: speech started, the caller
        paused (with the utterance so far, to decode ahead), speech ended (with the pause it
        ended at and the whole utterance)."""
        out: list[tuple[str, Any]] = []
        detector = self._detector
        for event in detector.feed(pcm):
            if isinstance(event, SpeechStarted):
                self._utterance, self._utterance_samples = [], 0
                self._listening = True
                out.append(("started", event.at_ms))
            elif isinstance(event, SpeechAudio) and self._listening:
                room = MAX_UTTERANCE_S * ASR_RATE - self._utterance_samples
                if room > 0:
                    self._utterance.append(event.pcm[:room])
                    self._utterance_samples += min(room, len(event.pcm))
            elif isinstance(event, SpeechEnded) and self._listening:
                self._listening = False
                audio = np.concatenate(self._utterance) if self._utterance else _SILENCE
                self._utterance, self._utterance_samples = [], 0
                out.append(("ended", (event.at_ms, self._pause, audio)))
                self._pause = None
        # A pause begins when the quiet since the last speech frame reaches GUESS_AFTER_MS;
        # speech again ends it. Checked once per batch: in a call, a batch is a frame or two.
        if self._listening and detector.silence_ms >= GUESS_AFTER_MS:
            if self._pause is None:
                self._pauses += 1
                self._pause = self._pauses
                audio = np.concatenate(self._utterance) if self._utterance else _SILENCE
                out.append(("paused", (self._pause, audio)))
        elif self._listening:
            self._pause = None
        return out

    def _forget(self) -> None:
        """In a worker thread: ``input_audio_buffer.clear``: the detector starts afresh and
        an utterance being heard is dropped."""
        self._detector.reset()
        self._listening = False
        self._pause = None
        self._utterance, self._utterance_samples = [], 0

    def _caller_started(self, at_ms: int) -> None:
        self._speech_item = new_id("item")
        self._emit(
            "input_audio_buffer.speech_started", item_id=self._speech_item, audio_start_ms=at_ms
        )
        detection = self.config["audio"]["input"].get("turn_detection") or {}
        if detection.get("interrupt_response") and self._active is not None:
            self._active.cancel_reason = "turn_detected"

    def _caller_stopped(self, at_ms: int, text: str) -> None:
        item_id = self._speech_item or new_id("item")
        self._speech_item = None
        self._emit("input_audio_buffer.speech_stopped", item_id=item_id, audio_end_ms=at_ms)
        self._commit_user_audio(item_id)
        self._emit(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=text,
            usage={"type": "duration", "seconds": 0.0},
        )
        detection = self.config["audio"]["input"].get("turn_detection") or {}
        if detection.get("create_response", True) and self._active is None:
            self._start_response(self.policy.on_caller(text))

    # ------------------------------------------------------------------ voice

    def _start_response(self, action: Say | CallTool) -> None:
        modality = "text" if self.config.get("output_modalities") == ["text"] else "audio"
        end_call = isinstance(action, Say) and action.end_call
        response = _Response(new_id("resp"), modality, end_call=end_call)
        self._active = response
        self._responses += 1
        self._emit("response.created", response=self._response_object(response, "in_progress", []))
        if self._nursery is None:
            return
        if isinstance(action, CallTool):
            self._nursery.start_soon(self._call_tool, response, action)
        else:
            self._nursery.start_soon(self._say, response, action)

    async def _call_tool(self, response: _Response, action: CallTool) -> None:
        await trio.lowlevel.checkpoint()
        call_id = new_id("call")
        response.item_id = new_id("item")
        arguments = json.dumps(action.arguments, separators=(",", ":"))
        item = {
            "id": response.item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": action.name,
            "call_id": call_id,
            "arguments": "",
        }
        self._remember_call(call_id, action.name)
        ids = {"response_id": response.response_id, "item_id": response.item_id, "output_index": 0}
        self._output_item("added", response, item)
        self._add_item(item, emit_done=False)
        self._emit(
            "response.function_call_arguments.delta", call_id=call_id, delta=arguments, **ids
        )
        self._emit(
            "response.function_call_arguments.done",
            call_id=call_id,
            name=action.name,
            arguments=arguments,
            **ids,
        )
        final = dict(item, status="completed", arguments=arguments)
        self._replace_item(final)
        self._output_item("done", response, final)
        self._emit("conversation.item.done", item=copy.deepcopy(final))
        self._finish(response, "completed", [final])

    async def _say(self, response: _Response, action: Say) -> None:
        response.item_id = new_id("item")
        item = {
            "id": response.item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self._output_item("added", response, item)
        self._add_item(item, emit_done=False)
        ids = {
            "response_id": response.response_id,
            "item_id": response.item_id,
            "output_index": 0,
            "content_index": 0,
        }
        if response.modality == "text":
            self._emit("response.content_part.added", part={"type": "text", "text": ""}, **ids)
            self._emit("response.output_text.delta", delta=action.text, **ids)
            self._emit("response.output_text.done", text=action.text, **ids)
            part = {"type": "text", "text": action.text}
            self._emit("response.content_part.done", part=part, **ids)
            content = [{"type": "output_text", "text": action.text}]
            self._close_item(response, item, content, "completed")
            return
        self._emit("response.content_part.added", part={"type": "audio", "transcript": ""}, **ids)
        encode, bytes_per_ms, rate = self._output_codec()
        # The voice gets words ("one hundred eighty nine dollars", not "$189.00"); the
        # transcript keeps the text as written. A sentence goes out as soon as it is
        # synthesised: the caller hears the first while the next is being made.
        sentences = self.kit.sentences(spoken_words(action.text), rate)
        step = bytes_per_ms * DELTA_MS
        if response.item_id in self.items:  # (not already pushed out by newer items)
            self._item_audio_ms[response.item_id] = 0
        while not response.cancelled():
            pcm = await trio.to_thread.run_sync(next, sentences, None)
            if pcm is None:
                break
            audio = encode(pcm)
            for start in range(0, len(audio), step):
                if response.cancelled():
                    break
                chunk = audio[start : start + step]
                self._emit(
                    "response.output_audio.delta",
                    delta=base64.b64encode(chunk).decode("ascii"),
                    **ids,
                )
                if response.item_id in self._item_audio_ms:
                    self._item_audio_ms[response.item_id] += len(chunk) // bytes_per_ms
                await self._wait_for_room()  # a cancel or a barge-in gets in between deltas
        transcript = action.text
        self._emit("response.output_audio_transcript.delta", delta=transcript, **ids)
        self._emit("response.output_audio.done", **ids)
        self._emit("response.output_audio_transcript.done", transcript=transcript, **ids)
        part = {"type": "audio", "transcript": transcript}
        self._emit("response.content_part.done", part=part, **ids)
        status = "completed" if response.cancel_reason is None else "cancelled"
        content = [{"type": "output_audio", "transcript": transcript}]
        self._close_item(response, item, content, status)

    def _close_item(
        self,
        response: _Response,
        item: dict[str, Any],
        content: list[dict[str, Any]],
        status: str,
    ) -> None:
        final = dict(item, status="completed" if status == "completed" else "incomplete")
        final["content"] = content
        self._replace_item(final)
        self._output_item("done", response, final)
        self._emit("conversation.item.done", item=copy.deepcopy(final))
        self._finish(response, status, [final])

    def _output_codec(
        self,
    ) -> tuple[Callable[[npt.NDArray[np.int16]], bytes], int, int]:
        fmt = self.config["audio"]["output"]["format"] or {}
        if fmt.get("type") == "audio/pcmu":
            return ulaw_encode, 8, 8000
        if fmt.get("type") == "audio/pcma":
            return alaw_encode, 8, 8000
        rate = int(fmt.get("rate", 24000))
        return (lambda pcm: pcm.astype("<i2").tobytes()), rate * 2 // 1000, rate

    def _finish(self, response: _Response, status: str, output: list[dict[str, Any]]) -> None:
        response.done = True
        if self._active is response:
            self._active = None
        details: dict[str, Any] | None = None
        if status == "cancelled":
            details = {"type": "cancelled", "reason": response.cancel_reason or "client_cancelled"}
        self._emit(
            "response.done",
            response=self._response_object(response, status, output, details),
        )

    def _response_object(
        self,
        response: _Response,
        status: str,
        output: list[dict[str, Any]],
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        out_format = copy.deepcopy(self.config["audio"]["output"]["format"])
        return {
            "object": "realtime.response",
            "id": response.response_id,
            "status": status,
            "status_details": details,
            "output": copy.deepcopy(output),
            "conversation_id": self.conversation_id,
            "output_modalities": [response.modality],
            "max_output_tokens": "inf",
            "audio": {
                "output": {
                    "format": out_format,
                    "voice": self.config["audio"]["output"]["voice"],
                }
            },
            "usage": None,
            "metadata": {END_CALL_METADATA: "true"} if response.end_call else None,
        }

    # ------------------------------------------------------------------ plumbing

    def _output_item(self, stage: str, response: _Response, item: dict[str, Any]) -> None:
        self._emit(
            f"response.output_item.{stage}",
            response_id=response.response_id,
            output_index=0,
            item=copy.deepcopy(item),
        )

    def _add_item(self, item: dict[str, Any], *, emit_done: bool = True) -> None:
        item.setdefault("object", "realtime.item")
        self._drop_item(item["id"])  # an id used again: the item moves to the end
        self._keep_item(item)
        previous, self._last_item = self._last_item, item["id"]
        self._emit("conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item))
        if emit_done:
            self._emit("conversation.item.done", item=copy.deepcopy(item))

    def _keep_item(self, item: dict[str, Any]) -> None:
        """Keep ``item`` as the newest; the oldest go while over MAX_ITEMS or
        MAX_ITEMS_CHARS (never the newest)."""
        item_id = item["id"]
        chars = len(json.dumps(item, separators=(",", ":"), default=str))
        self.items[item_id] = item
        self._item_chars[item_id] = chars
        self._items_chars += chars
        while len(self.items) > 1 and (
            len(self.items) > MAX_ITEMS or self._items_chars > MAX_ITEMS_CHARS
        ):
            self._drop_item(next(iter(self.items)))

    def _replace_item(self, item: dict[str, Any]) -> None:
        """An item's final form, in its place, if it is still kept."""
        if item["id"] not in self.items:
            return
        chars = len(json.dumps(item, separators=(",", ":"), default=str))
        self._items_chars += chars - self._item_chars[item["id"]]
        self._item_chars[item["id"]] = chars
        self.items[item["id"]] = item

    def _drop_item(self, item_id: str) -> None:
        """Forget an item, and its audio length with it (it can no longer be truncated)."""
        if self.items.pop(item_id, None) is not None:
            self._items_chars -= self._item_chars.pop(item_id)
        self._item_audio_ms.pop(item_id, None)

    def _remember_call(self, call_id: str, name: str) -> None:
        """A function call's id, for its output to name; the newest MAX_FUNCTION_CALLS."""
        self._function_calls.pop(call_id, None)
        self._function_calls[call_id] = name
        while len(self._function_calls) > MAX_FUNCTION_CALLS:
            del self._function_calls[next(iter(self._function_calls))]

    def _emit(self, type: str, **fields: Any) -> None:
        self._emit_raw({"type": type, "event_id": new_id("event"), **fields})

    def _error(
        self,
        code: str,
        message: str,
        event: dict[str, Any] | None = None,
        *,
        kind: str,
        param: str | None = None,
    ) -> None:
        """Refuse a client event: an ``error`` event naming ``param`` and the client's
        ``event_id``, counted by ``kind`` (one of BAD_EVENT_KINDS, else "other"), logged for
        the first LOGGED_ERRORS_PER_KIND of each kind in this session."""
        kind = kind if kind in BAD_EVENT_KINDS else "other"
        event_id = (event or {}).get("event_id")
        error: dict[str, Any] = {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": param,
            "event_id": event_id[:MAX_EVENT_ID_CHARS] if isinstance(event_id, str) else None,
        }
        if self._metrics is not None:
            self._metrics.incr("hotelvoice_engine_bad_events_total", kind=kind)
        self._errors_logged[kind] += 1
        logged = self._errors_logged[kind]
        if logged <= LOGGED_ERRORS_PER_KIND:
            more = (
                " (the last logged: more are only counted)"
                if logged == LOGGED_ERRORS_PER_KIND
                else ""
            )
            log.info(
                "local engine: client event refused (%s): %s%s", kind, safe(message, 160), more
            )
        self._emit("error", error=error)


_HANDLERS: dict[str, Callable[[LocalSession, dict[str, Any]], None]] = {
    "session.update": LocalSession._on_session_update,
    "input_audio_buffer.append": LocalSession._on_append,
    "input_audio_buffer.commit": LocalSession._on_commit,
    "input_audio_buffer.clear": LocalSession._on_clear,
    "conversation.item.create": LocalSession._on_item_create,
    "conversation.item.truncate": LocalSession._on_truncate,
    "conversation.item.delete": LocalSession._on_item_delete,
    "response.create": LocalSession._on_response_create,
    "response.cancel": LocalSession._on_response_cancel,
}
