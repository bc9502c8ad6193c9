"""One call's logic, sans-IO: Twilio messages and model events in, actions out.

``CallSession`` is the conductor of a call. The Trio glue (``bridge.py``) feeds it what arrives
on the two sockets, tool results and expired deadlines, and carries out the actions it returns.
It owns the :class:`CallMachine` (what state the call is in), the :class:`PlaybackLedger`
(what the caller heard), the outbound audio coalescer and the conversation history used to
replay a dropped model session. Nothing here touches a socket or a clock directly, so every
behaviour is testable with plain calls.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from hotelvoice.calls.ledger import EchoOutcome, PlaybackLedger
from hotelvoice.calls.machine import (
    CallMachine,
    CallState,
    Closing,
    Effect,
    EndReason,
    TransferPhase,
    Trigger,
)
from hotelvoice.calls.ports import ToolCall, ToolOutcome, TransferRequest
from hotelvoice.calls.stats import CallStats
from hotelvoice.codec.frames import b64_to_bytes, bytes_to_b64
from hotelvoice.config import Settings
from hotelvoice.metrics import Metrics
from hotelvoice.wire import realtime as rt
from hotelvoice.wire import twilio as tw

if TYPE_CHECKING:  # numpy: imported only with OPENAI_REALTIME_AUDIO=pcm16 (at start: web/app.py)
    from hotelvoice.codec.transcode import Pcm16ToUlaw, UlawToPcm16

log = logging.getLogger(__name__)

REPROMPT_INSTRUCTIONS = (
    "The caller has been silent for a while. Briefly and warmly ask whether they are still "
    "there and how you can help."
)
GOODBYE_INSTRUCTIONS = (
    "The call is ending now. Say a short, polite goodbye, mention they can call back any "
    "time, and do not ask any question."
)
# What the concierge says when the service shuts down and the call goes to the front desk.
HAND_OVER_LINE = "I'm sorry, I have to pass you to a colleague now."
HAND_OVER_INSTRUCTIONS = (
    f'The service is restarting and a colleague at the front desk will take over. Say exactly "'
    f'{HAND_OVER_LINE}" and nothing else: no question, no tool.'
)
FALLBACK_INSTRUCTIONS = (
    "The line was interrupted for a moment and you are taking over this call. Say one short "
    'apology, such as "Sorry, one moment.", then carry on from where the conversation '
    "stopped, answering the caller's last request if it was left unanswered."
)
MAX_CHUNK_FRAMES = 5  # at most 100 ms per Twilio media message, so marks stay fine-grained
# The caller's audio buffered while the model connected goes out in appends of at most 1 s.
MAX_BACKLOG_APPEND_FRAMES = 50
# The conversation kept to replay into a new model session (after a drop, a fallback or a
# rollover): the recent turns, within both bounds, beside the hotel's context items.
MAX_REPLAYED_ITEMS = 120
MAX_REPLAYED_CHARS = 24_000
# Item and call ids remembered to drop late audio and duplicate function calls: only recent
# ones can still arrive.
MAX_REMEMBERED_IDS = 256
TWILIO_BYTES_PER_S = 8000  # μ-law 8 kHz
# What a model's error codes and response statuses may be as labels and problem kinds; any
# other value is "other" (the log line still names it).
KNOWN_ERROR_CODES = (
    rt.BENIGN_ERROR_CODES
    | rt.FATAL_ERROR_CODES
    | frozenset(
        {
            "invalid_request_error",
            "server_error",
            "missing_required_parameter",
            "unknown_parameter",
            "invalid_value",
            "cannot_update_voice",
            "unsupported_content_type",
            "rate_limit_exceeded",
        }
    )
)
RESPONSE_STATUSES = frozenset({"completed", "cancelled", "failed", "incomplete"})


@attrs.frozen
class ToTwilio:
    text: str


@attrs.frozen
class ToModel:
    text: str


@attrs.frozen
class RunTool:
    call: ToolCall


@attrs.frozen
class TransferCall:
    request: TransferRequest


@attrs.frozen
class HangUp:
    reason: EndReason


@attrs.frozen
class ReconnectModel:
    """Open the model link again after ``delay_s`` (the back-off)."""

    delay_s: float = 0.0


@attrs.frozen
class SwitchModel:
    """Close the current model link (if any) and open a new one at once: on the fallback
    backend when ``fallback``, else a fresh session of the same backend (a rollover)."""

    fallback: bool


Action = ToTwilio | ToModel | RunTool | TransferCall | HangUp | ReconnectModel | SwitchModel


class RecentIds:
    """A set that keeps only the ``limit`` most recently added keys."""

    def __init__(self, limit: int = MAX_REMEMBERED_IDS) -> None:
        self._keys: dict[str, None] = {}
        self._limit = limit

    def add(self, key: str) -> None:
        keys = self._keys
        keys.pop(key, None)
        keys[key] = None
        if len(keys) > self._limit:
            del keys[next(iter(keys))]

    def update(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)


# Model error codes that name their own problem kind in a call's summary; any other code the
# model sends counts as "other", so the kinds are a fixed set.
CONNECTING, LISTENING, SPEAKING, INTERRUPTED, CALLING_TOOL, TRANSFERRING, ENDED = CallState
_CALLER_SPEECH_STATES = frozenset({LISTENING, INTERRUPTED})
_ASKED_FOR_TRANSFER = frozenset({TransferPhase.REST, TransferPhase.HANDED_OVER})
_LIVE_MODEL_STATES = frozenset({LISTENING, SPEAKING, INTERRUPTED, CALLING_TOOL})


class CallSession:
    """The state and decisions of one call between ``start`` and the end of the stream."""

    # Slots: a session's forty-odd attributes in a dict cost 1.5 KB a call.
    __slots__ = (
        "__weakref__",
        "_apologise",
        "_caller_speaking",
        "_clock",
        "_cut_items",
        "_fallback_reason",
        "_followup_needed",
        "_function_names",
        "_generating",
        "_hand_over_pending",
        "_history_chars",
        "_history_sizes",
        "_inbound_backlog",
        "_jitter",
        "_mark_bytes",
        "_model_bytes_per_twilio_byte",
        "_out_buffer",
        "_out_item",
        "_playback_lag_ms",
        "_reask",
        "_reconnect_times",
        "_response_id",
        "_seen_calls",
        "_sessions_opened",
        "_to_model",
        "_to_twilio",
        "_tool_responses_open",
        "_tools_pending",
        "_transfer",
        "_turn_unanswered",
        "_twilio",
        "call_sid",
        "context_items",
        "end_cause",
        "end_reason",
        "frame_bytes",
        "history",
        "ledger",
        "machine",
        "metrics",
        "settings",
        "stats",
        "stream_sid",
    )

    def __init__(
        self,
        *,
        call_sid: str,
        stream_sid: str,
        settings: Settings,
        clock: Callable[[], float],
        metrics: Metrics | None = None,
        frame_bytes: int = 160,
        context_items: Sequence[Mapping[str, Any]] = (),
        fallback: bool = False,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self.settings = settings
        self._clock = clock
        self.metrics = metrics if metrics is not None else Metrics()
        self.frame_bytes = frame_bytes
        self._twilio = tw.StreamEncoder(stream_sid)
        # In pcm16 mode both legs are transcoded with per-call filter state; the ledger then
        # counts the model's bytes (48 per ms), so heard ms stay in the model's time base.
        self._to_model: UlawToPcm16 | None = None
        self._to_twilio: Pcm16ToUlaw | None = None
        self._model_bytes_per_twilio_byte = 1
        self._playback_lag_ms = 0
        if settings.openai_audio == "pcm16":
            from hotelvoice.codec.transcode import Pcm16ToUlaw, UlawToPcm16

            rate = int(rt.PCM24K["rate"])
            self._to_model = UlawToPcm16(rate)
            self._to_twilio = Pcm16ToUlaw(rate)
            self._model_bytes_per_twilio_byte = rate * 2 // TWILIO_BYTES_PER_S
            # What Twilio plays lags the model's audio by the resampler's delay.
            self._playback_lag_ms = math.ceil(self._to_twilio.delay_ms)
        bytes_per_ms = TWILIO_BYTES_PER_S // 1000 * self._model_bytes_per_twilio_byte
        # A mark every mark_interval_ms of audio (whole frames), and at the end of each item;
        # counted in ledger bytes.
        self._mark_bytes = (
            max(1, settings.mark_interval_ms * TWILIO_BYTES_PER_S // 1000 // frame_bytes)
            * frame_bytes
            * self._model_bytes_per_twilio_byte
        )
        ledger = self.ledger = PlaybackLedger(bytes_per_ms=bytes_per_ms)
        # Closures and tables here never hold `self`: a session in a reference cycle (with its
        # call's buffers) would wait for the cycle collector, which runs rarely in the server.
        self.machine = CallMachine(
            call_sid, clock=clock, audio_outstanding=lambda: ledger.outstanding
        )
        self.stats = CallStats(started_at=clock())
        # Why the call ended, for people (with details, and "; " between reasons when we were
        # ending it and the caller hung up first), and the reason that gives its metric label.
        self.end_reason: str | None = None
        self.end_cause: EndReason | None = None
        # What the hotel tells the model before it speaks, and the conversation since (the
        # recent turns, bounded): both are replayed into a new model session.
        self.context_items: tuple[dict[str, Any], ...] = tuple(dict(i) for i in context_items)
        # Lists, not deques: an empty deque is 600 bytes, and these stay short (the history's
        # bounds, the reconnect budget, HOTELVOICE_INBOUND_BUFFER_FRAMES).
        self.history: list[dict[str, Any]] = []
        self._history_sizes: list[int] = []  # each item's JSON length
        self._history_chars = 0

        self._inbound_backlog: list[str] = []
        self._sessions_opened = 0
        # The model link: reconnects in the current window (their times), the jitter source,
        # whether the next session must answer again or apologise, why we fell back.
        self._reconnect_times: list[float] = []
        self._jitter = jitter
        self._reask = False
        self._apologise = False
        self._fallback_reason: str | None = None
        self.machine.fallback_available = fallback
        # The caller's turn: speaking now, or finished and not yet answered.
        self._caller_speaking = False
        self._turn_unanswered = False
        # Outbound audio.
        self._out_item: str | None = None
        self._out_buffer = bytearray()
        self._cut_items = RecentIds()
        self._generating = False
        self._response_id: str | None = None
        # Tools.
        self._function_names: dict[str, str] = {}
        self._seen_calls = RecentIds()
        self._tools_pending: dict[str, str] = {}  # call_id -> response_id
        self._tool_responses_open: set[str] = set()
        self._followup_needed = False
        self._transfer: TransferRequest | None = None
        self._hand_over_pending = False  # the apology waits for the answer being generated

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> CallState:
        return self.machine.state

    @property
    def ended(self) -> bool:
        return self.machine.ended

    @property
    def closing(self) -> bool:
        """We are ending the call ourselves (goodbye asked for, or the hang-up)."""
        return self.machine.closing is not Closing.OPEN

    def _fire(self, trigger: Trigger) -> list[Action]:
        """Fire ``trigger`` and carry out the effects of the rows that moved."""
        self.machine.fire(trigger)
        return self._carry_out()

    def _offer(self, trigger: Trigger) -> list[Action]:
        """Fire ``trigger`` if the current state names it; carry out what follows."""
        self.machine.offer(trigger)
        return self._carry_out()

    def _carry_out(self) -> list[Action]:
        actions: list[Action] = []
        for call in self.machine.take_effects():
            actions.extend(_EFFECTS[call.effect](self, call.reason))
        return actions

    # ------------------------------------------------------------------ Twilio side

    def on_twilio(self, message: tw.TwilioMessage) -> list[Action]:
        """A message from Twilio's media socket (after ``start``)."""
        if isinstance(message, tw.Media):
            return self._on_media(message)
        if isinstance(message, tw.Connected):
            return []
        if message.stream_sid != self.stream_sid:
            return self._wrong_stream(message.stream_sid)
        if isinstance(message, tw.MarkEcho):
            return self._on_mark(message)
        if isinstance(message, tw.Stop):
            phase = self.machine.transfer_phase
            # Twilio stops the stream when the transfer's TwiML takes the call over, which
            # may be before its REST answer reaches us: once asked, the stop is the transfer.
            if self.machine.draining and phase in _ASKED_FOR_TRANSFER:
                self.hang_up(EndReason.DRAINED)
            elif phase in _ASKED_FOR_TRANSFER:
                self.hang_up(EndReason.TRANSFERRED)
            else:
                self.hang_up(EndReason.CALLER_HUNG_UP)
            return []
        if isinstance(message, tw.Dtmf):
            if self.stats.problem("dtmf_ignored"):
                log.info(
                    "call %s: caller pressed %r (DTMF is not used)", self.call_sid, message.digit
                )
            return []
        if isinstance(message, tw.Start) and self.stats.problem("duplicate_start"):
            log.warning("call %s: a second start message; ignored", self.call_sid)
        return []

    def _wrong_stream(self, stream_sid: str) -> list[Action]:
        self.metrics.incr("hotelvoice_twilio_bad_messages_total", kind="wrong_stream_sid")
        if self.stats.problem("wrong_stream_sid"):
            log.warning("call %s: message for stream %r dropped", self.call_sid, stream_sid)
        return []

    def _on_media(self, media: tw.Media) -> list[Action]:
        stats = self.stats
        if media.stream_sid != self.stream_sid:
            return self._wrong_stream(media.stream_sid)
        stats.twilio_in += 1
        stats.audio_bytes_in += len(media.payload) * 3 // 4
        state = self.machine.state
        if state is CONNECTING:
            self._buffer_inbound(media.payload)
            return []
        if state is ENDED:
            return []
        payload = self._model_audio(media.payload)
        return [] if payload is None else [ToModel(rt.encode_audio_append(payload))]

    def _model_audio(self, payload: str) -> str | None:
        """Twilio's base64 μ-law as the model's audio (untouched in pcmu mode)."""
        if self._to_model is None:
            return payload
        ulaw = self._caller_audio(payload)
        return None if ulaw is None else bytes_to_b64(self._to_model.convert(ulaw))

    def _caller_audio(self, payload: str) -> bytes | None:
        """Twilio's base64 payload as bytes; None (counted, logged) if it is not base64."""
        try:
            return b64_to_bytes(payload)
        except ValueError:
            self.metrics.incr("hotelvoice_twilio_bad_messages_total", kind="bad_media_payload")
            if self.stats.problem("bad_media_payload"):
                log.warning("call %s: media payload is not base64; frame dropped", self.call_sid)
            return None

    def _buffer_inbound(self, payload: str) -> None:
        backlog = self._inbound_backlog
        if len(backlog) >= self.settings.inbound_buffer_frames:
            del backlog[0]  # keep the newest audio: it is what the caller is saying now
            self.stats.frames_dropped += 1
        backlog.append(payload)
        self.stats.frames_buffered += 1

    def _on_mark(self, mark: tw.MarkEcho) -> list[Action]:
        outcome = self.ledger.on_echo(mark.name)
        if outcome is EchoOutcome.HEARD:
            self.stats.marks_heard += 1
            return self._after_playback_progress()
        if outcome is EchoOutcome.FLUSHED:
            self.stats.marks_flushed += 1
        else:
            if self.stats.problem("unknown_mark"):
                log.warning("call %s: echo of unknown mark %r", self.call_sid, mark.name)
        return []

    # ------------------------------------------------------------------ model side

    def on_model(self, event: rt.ServerEvent) -> list[Action]:
        """An event from the model's socket."""
        if isinstance(event, rt.AudioDelta):
            return self._on_audio_delta(event)
        if self.machine.state is ENDED:
            return []
        if isinstance(event, rt.SpeechStarted):
            return self._on_speech_started()
        if isinstance(event, rt.SpeechStopped):
            self._caller_speaking = False
            self._turn_unanswered = True  # the server's VAD answers it next
            if self.machine.state in _CALLER_SPEECH_STATES:
                self.machine.fire(Trigger.CALLER_DONE)
            return []
        if isinstance(event, rt.AudioDone):
            return self._finish_item_audio() if event.item_id == self._out_item else []
        if isinstance(event, rt.ResponseCreated):
            self._generating = True
            self._turn_unanswered = False
            self._response_id = event.response_id
            self.machine.note_response(event.response_id)
            return []
        if isinstance(event, rt.ResponseDone):
            return self._on_response_done(event)
        if isinstance(event, rt.OutputItemAdded):
            if event.item.get("type") == "function_call":
                call_id, name = event.item.get("call_id"), event.item.get("name")
                if isinstance(call_id, str) and isinstance(name, str):
                    names = self._function_names
                    names[call_id] = name
                    if len(names) > MAX_REMEMBERED_IDS:
                        del names[next(iter(names))]
            return []
        if isinstance(event, rt.FunctionCallArgumentsDone):
            return self._on_function_call(event)
        if isinstance(event, rt.InputTranscriptCompleted):
            if event.transcript.strip():
                self._remember(rt.user_text_item(event.transcript))
            return []
        if isinstance(event, rt.OutputTranscriptDone):
            if event.transcript.strip():
                text = event.transcript
                if event.item_id in self._cut_items:
                    text += " [interrupted by the caller]"
                self._remember(rt.assistant_text_item(text))
            return []
        if isinstance(event, rt.SessionUpdated):
            return self._on_session_ready()
        if isinstance(event, rt.RealtimeError):
            return self._on_error(event)
        return []

    def _on_session_ready(self) -> list[Action]:
        if self.machine.state is not CONNECTING:
            return []  # a later session.updated (we never send one mid-call) changes nothing
        self.machine.fire(Trigger.SESSION_READY)
        self._sessions_opened += 1
        actions: list[Action] = []
        if self._sessions_opened == 1:
            actions.extend(ToModel(rt.dumps(item)) for item in self.context_items)
            actions.append(ToModel(rt.dumps(rt.response_create())))  # the model greets first
        else:
            actions.extend(ToModel(rt.dumps(item)) for item in self._replayable_history())
            if self.closing:
                instructions: str | None = GOODBYE_INSTRUCTIONS
            elif self._apologise:
                instructions = FALLBACK_INSTRUCTIONS
            else:
                instructions = None
            if instructions is not None or self._reask:
                # The goodbye, the fallback's apology, or the answer the drop cut off.
                create = rt.response_create(instructions=instructions)
                actions.append(ToModel(rt.dumps(create)))
        self._reask = self._apologise = False
        actions.extend(self._flush_inbound_backlog())
        return actions

    def _flush_inbound_backlog(self) -> list[Action]:
        """The caller's audio buffered while the model connected, all of it at once: one
        append per MAX_BACKLOG_APPEND_FRAMES frames, not one per frame (each send is a trip
        through the scheduler, so at 100 calls nine frames sent one by one reached the model
        up to 40 ms after the session was ready)."""
        backlog, self._inbound_backlog = self._inbound_backlog, []
        actions: list[Action] = []
        for first in range(0, len(backlog), MAX_BACKLOG_APPEND_FRAMES):
            audio = bytearray()
            for payload in backlog[first : first + MAX_BACKLOG_APPEND_FRAMES]:
                ulaw = self._caller_audio(payload)
                if ulaw is None:
                    continue
                audio += ulaw if self._to_model is None else self._to_model.convert(ulaw)
            if audio:
                actions.append(ToModel(rt.encode_audio_append(bytes_to_b64(bytes(audio)))))
        return actions

    def _remember(self, item: dict[str, Any]) -> None:
        """Keep a turn for replay; the oldest go once either bound is passed."""
        history, sizes = self.history, self._history_sizes
        chars = len(rt.dumps(item))
        history.append(item)
        sizes.append(chars)
        self._history_chars += chars
        drop = 0
        while len(history) - drop > MAX_REPLAYED_ITEMS or (
            self._history_chars > MAX_REPLAYED_CHARS and len(history) - drop > 1
        ):
            self._history_chars -= sizes[drop]
            drop += 1
        if drop:
            del history[:drop], sizes[:drop]

    def _replayable_history(self) -> list[dict[str, Any]]:
        """The hotel's context items and the recent conversation, without function calls
        whose result never came back (nor an output whose call was forgotten)."""
        answered = {
            item["item"]["call_id"]
            for item in self.history
            if item["item"]["type"] == "function_call_output"
        }
        called = {
            item["item"]["call_id"]
            for item in self.history
            if item["item"]["type"] == "function_call" and item["item"]["call_id"] in answered
        }
        recent = [
            item
            for item in self.history
            if item["item"]["type"] not in ("function_call", "function_call_output")
            or item["item"]["call_id"] in called
        ]
        return [*self.context_items, *recent]

    def _on_audio_delta(self, event: rt.AudioDelta) -> list[Action]:
        item_id = event.item_id
        if item_id in self._cut_items:
            self.stats.late_deltas_dropped += 1
            return []
        state = self.machine.state
        if state in (CONNECTING, ENDED):
            return []
        actions: list[Action] = []
        if item_id != self._out_item:
            actions.extend(self._finish_item_audio())
            self._out_item = item_id
            self.machine.fire(Trigger.MODEL_AUDIO)
        frame = self.frame_bytes
        transcoder = self._to_twilio
        if transcoder is None:
            nbytes = len(event.delta) // 4 * 3 - event.delta[-2:].count("=")
            if not self._out_buffer and nbytes % frame == 0 and nbytes <= frame * MAX_CHUNK_FRAMES:
                # Passthrough: the model's base64 goes to Twilio untouched.
                if nbytes:
                    self._send_chunk(actions, item_id, event.delta, nbytes)
                return actions
        try:
            audio = b64_to_bytes(event.delta)
        except ValueError:
            self.metrics.incr("hotelvoice_model_bad_events_total", kind="bad_audio_delta")
            if self.stats.problem("bad_audio_delta"):
                log.warning("call %s: model audio delta is not base64; dropped", self.call_sid)
            return actions
        buffer = self._out_buffer
        buffer += audio if transcoder is None else transcoder.convert(audio)
        while len(buffer) >= frame:
            size = min(len(buffer) // frame, MAX_CHUNK_FRAMES) * frame
            chunk = bytes(buffer[:size])
            del buffer[:size]
            self._send_chunk(actions, item_id, bytes_to_b64(chunk), size)
        return actions

    def _send_chunk(self, actions: list[Action], item_id: str, payload: str, nbytes: int) -> None:
        self.ledger.record_audio(item_id, nbytes * self._model_bytes_per_twilio_byte)
        actions.append(ToTwilio(self._twilio.media(payload)))
        self.stats.audio_bytes_out += nbytes
        if self.ledger.unmarked_bytes >= self._mark_bytes:
            self._append_mark(actions)

    def _append_mark(self, actions: list[Action]) -> None:
        name = self.ledger.mark()
        if name is not None:
            actions.append(ToTwilio(self._twilio.mark(name)))

    def _finish_item_audio(self) -> list[Action]:
        """Send the remainder (less than a frame) of the current item's audio, then a mark."""
        actions: list[Action] = []
        if self._to_twilio is not None and self._out_item is not None:
            self._out_buffer += self._to_twilio.flush()  # the filter's tail ends this item
        if self._out_buffer and self._out_item is not None:
            payload = bytes_to_b64(bytes(self._out_buffer))
            self._send_chunk(actions, self._out_item, payload, len(self._out_buffer))
            self._out_buffer.clear()
        self._append_mark(actions)
        return actions

    def _drop_pending_output(self) -> None:
        """Forget model audio not yet sent to Twilio (and the resampler's memory of it)."""
        self._out_buffer.clear()
        if self._to_twilio is not None:
            self._to_twilio.reset()

    def _on_speech_started(self) -> list[Action]:
        self.machine.caller_heard()
        state = self.machine.state
        if state in (TRANSFERRING, CONNECTING):
            return []
        actions: list[Action] = []
        self._caller_speaking = True
        if self._generating and self._out_item is not None:
            # With interrupt_response the server cancels this response; whatever of it still
            # arrives is stale and must not be played over the caller.
            self._cut_items.add(self._out_item)
        self._drop_pending_output()
        if self.ledger.outstanding:
            cut_items, truncation = self.ledger.interrupt()
            self._cut_items.update(cut_items)
            actions.append(ToTwilio(self._twilio.clear))
            self.stats.barge_ins += 1
            self.metrics.incr("hotelvoice_barge_ins_total")
            heard_ms = 0 if truncation is None else truncation.audio_end_ms - self._playback_lag_ms
            if truncation is not None and heard_ms > 0:
                actions.append(ToModel(rt.dumps(rt.item_truncate(truncation.item_id, heard_ms))))
                self.stats.truncations += 1
        if state in (SPEAKING, CALLING_TOOL):
            self.machine.fire(Trigger.BARGE_IN)
        else:
            self.machine.fire(Trigger.CALLER_SPEECH)
        return actions

    def _on_response_done(self, event: rt.ResponseDone) -> list[Action]:
        actions = self._finish_item_audio()
        if event.response_id == self._response_id:
            self._generating = False
        status = event.status if event.status in RESPONSE_STATUSES else "other"
        if event.error_code and self.stats.problem(f"response_{status}"):
            log.warning(
                "call %s: response %s %s (%s)",
                self.call_sid,
                event.response_id,
                event.status,
                event.error_code,
            )
        self._tool_responses_open.discard(event.response_id)
        if self._hand_over_pending and not self._generating:
            self._hand_over_pending = False
            if self.machine.transfer_phase is TransferPhase.PLAYBACK:  # not past its deadline
                apology = rt.response_create(instructions=HAND_OVER_INSTRUCTIONS)
                actions.append(ToModel(rt.dumps(apology)))
        actions.extend(self._maybe_follow_up_tools())
        if event.end_call and event.status == "completed":
            # The model's goodbye (heard whole): the call ends once it has played.
            actions.extend(self._offer(Trigger.MODEL_GOODBYE))
        actions.extend(self._after_playback_progress())
        return actions

    def _after_playback_progress(self) -> list[Action]:
        """Move on once the model has finished and Twilio has played everything."""
        if self.ledger.outstanding or self._generating:
            return []
        state = self.machine.state
        if state is SPEAKING:
            return [*self._fire(Trigger.PLAYBACK_DONE), *self._maybe_roll_over()]
        if state is TRANSFERRING:
            return self._offer(Trigger.TRANSFER_GOODBYE_DONE)
        return self._maybe_roll_over()

    # ------------------------------------------------------------------ tools

    def _on_function_call(self, event: rt.FunctionCallArgumentsDone) -> list[Action]:
        call_id = event.call_id
        if call_id in self._seen_calls:
            self._problem("duplicate_function_call")
            return []
        self._seen_calls.add(call_id)
        self.stats.function_calls += 1
        name = event.name or self._function_names.get(call_id, "")
        self._function_names.pop(call_id, None)
        self._remember(rt.function_call_item(call_id, name, event.arguments))
        self._tools_pending[call_id] = event.response_id
        self._tool_responses_open.add(event.response_id)
        if self.machine.state is not TRANSFERRING:
            self.machine.fire(Trigger.TOOL_CALL)
        return [RunTool(ToolCall(call_id=call_id, name=name, arguments=event.arguments))]

    def on_tool_result(self, call_id: str, outcome: ToolOutcome) -> list[Action]:
        """A tool finished (or failed, or timed out: the outcome then carries the error)."""
        if self.machine.state is ENDED or call_id not in self._tools_pending:
            return []
        del self._tools_pending[call_id]
        event = rt.function_call_output(call_id, outcome.output)
        self._remember(event)
        actions: list[Action] = [ToModel(rt.dumps(event))]
        if outcome.transfer is not None and self._transfer is None:
            self._transfer = outcome.transfer
        self._followup_needed = True
        actions.extend(self._maybe_follow_up_tools())
        return actions

    def _maybe_follow_up_tools(self) -> list[Action]:
        """One response.create once every result is in and the calling response is done."""
        if not self._followup_needed or self._tools_pending or self._tool_responses_open:
            return []
        if self.machine.draining:
            return []  # the results are the model's to know; the apology is its last words
        self._followup_needed = False
        if self.machine.state is CONNECTING:
            return []
        actions: list[Action] = [ToModel(rt.dumps(rt.response_create()))]
        if self._transfer is not None and self.machine.state is not TRANSFERRING:
            actions.extend(self._fire(Trigger.TRANSFER))
            self.metrics.incr("hotelvoice_transfers_total", outcome="requested")
        elif self.machine.state is CALLING_TOOL:
            self.machine.fire(Trigger.TOOLS_DONE)
        return actions

    def _request_transfer(self, reason: EndReason | None) -> list[Action]:
        assert self._transfer is not None
        return [TransferCall(self._transfer)]

    def on_transfer_result(self, ok: bool) -> list[Action]:
        """The REST transfer was accepted (Twilio will stop the stream) or failed."""
        if self.machine.state is ENDED:
            return []
        if ok:
            self.metrics.incr("hotelvoice_transfers_total", outcome="handed_over")
            return self._fire(Trigger.TRANSFER_ACCEPTED)
        self.metrics.incr("hotelvoice_transfers_total", outcome="failed")
        # Closing the media socket lets the TwiML tail dial the front desk.
        self.finish(EndReason.TRANSFER_FAILED)
        return []

    # ------------------------------------------------------------------ shutting down

    def hand_over(self, front_desk: str | None) -> list[Action]:
        """The service is shutting down: the caller is put through to ``front_desk``.

        The concierge says :data:`HAND_OVER_LINE` (once the answer it is generating is done),
        then the REST transfer follows, as for a transfer the model asked for; while the model
        is still connecting the transfer comes at once. With no front desk, a goodbye and the
        hang-up. A call already ending or transferring goes on as it was.
        """
        if self.machine.state is ENDED:
            return []
        if front_desk is None:
            return self._offer(Trigger.SHUTDOWN)
        already = self.machine.draining
        self.machine.fire(Trigger.DRAIN)
        if self.machine.draining and not already:
            log.info("call %s: shutting down: handing over to the front desk", self.call_sid)
            self.metrics.incr("hotelvoice_transfers_total", outcome="requested")
            if self._transfer is None:
                self._transfer = TransferRequest(
                    number=front_desk, department="front_desk", reason="the service is restarting"
                )
        return self._carry_out()

    # ------------------------------------------------------------------ errors and drops

    def _on_error(self, error: rt.RealtimeError) -> list[Action]:
        severity = rt.classify_error(error)
        code = error.code or error.error_type
        # The metric's label and the call's problem kinds from a fixed set; the log says it all.
        label = code if code in KNOWN_ERROR_CODES else "other"
        self.metrics.incr("hotelvoice_model_errors_total", code=label)
        if severity is rt.ErrorSeverity.BENIGN:
            self._problem(f"benign:{label}")
            log.debug("call %s: benign model error %s", self.call_sid, code)
            return []
        if code == "session_expired":
            log.info("call %s: model session expired", self.call_sid)
            return []  # the server closes the socket next; the drop handler reconnects
        logged = self.stats.problem(f"model_error:{label}")
        if self.machine.state is CONNECTING or severity is rt.ErrorSeverity.FATAL:
            log.error(
                "call %s: model error %s during %s: %s; ending the model leg",
                self.call_sid,
                code,
                self.machine.state,
                error.message,
            )
            self.finish(EndReason.MODEL_ERROR, code)
            return []
        if logged:
            log.warning("call %s: model error %s: %s", self.call_sid, code, error.message)
        return []

    def on_model_lost(self, reason: str) -> list[Action]:
        """The model socket closed or could not be (re)opened.

        Reconnects after a back-off while the budget lasts (the answer the drop cut off is
        asked for again once the new session is ready); then, or when the first connect fails,
        falls back to the offline engine if there is one; else the call ends.
        """
        state = self.machine.state
        if state is ENDED:
            return []
        if state is TRANSFERRING:
            return self._fire(Trigger.MODEL_LOST)  # the transfer goes ahead without a goodbye
        if self._answer_owed():
            self._reask = True
        self._forget_model_turn()
        actions: list[Action] = []
        self._append_mark(actions)  # so the audio already sent is still followed to its end
        opened_before = self._sessions_opened > 0
        if state in _LIVE_MODEL_STATES or (state is CONNECTING and opened_before):
            delay = self._reconnect_delay()
            if delay is not None:
                self.stats.reconnects += 1
                self.metrics.incr("hotelvoice_model_reconnects_total")
                log.warning(
                    "call %s: model connection lost (%s); reconnecting in %.2f s",
                    self.call_sid,
                    reason,
                    delay,
                )
                if state is not CONNECTING:
                    self.machine.fire(Trigger.MODEL_LOST)
                return [*actions, ReconnectModel(delay)]
        self._fallback_reason = "reconnects_exhausted" if opened_before else "connect_failed"
        fallback = self._offer(Trigger.MODEL_FALLBACK)
        if fallback:
            return [*actions, *fallback]
        log.error("call %s: model connection lost (%s); ending the stream", self.call_sid, reason)
        self.finish(EndReason.MODEL_UNAVAILABLE, reason)
        return []

    def _answer_owed(self) -> bool:
        """Whether the model owes the caller an answer: a response was under way (and not
        being talked over), the caller's turn was committed and not yet answered, or tools
        were running for one."""
        return (
            (self._generating and not self._caller_speaking)
            or self._turn_unanswered
            or bool(self._tools_pending)
            or self._followup_needed
        )

    def _forget_model_turn(self) -> None:
        """Forget what the lost model session was doing: its response, its audio not yet
        sent, its running tools (their results would name calls the next session lacks)."""
        self._generating = False
        self._turn_unanswered = False
        self._drop_pending_output()
        if self._out_item is not None:
            self._cut_items.add(self._out_item)
        self._tools_pending.clear()
        self._tool_responses_open.clear()
        self._followup_needed = False

    def _reconnect_delay(self) -> float | None:
        """The back-off before the next reconnect, or None when the budget is spent:
        ``max_model_reconnects`` within ``model_reconnect_window_s``, each waiting twice as
        long as the one before (from ``model_reconnect_backoff_s`` up to the maximum), half of
        it jittered so calls dropped together do not come back together."""
        settings = self.settings
        now = self._clock()
        times = self._reconnect_times
        while times and times[0] <= now - settings.model_reconnect_window_s:
            del times[0]
        if len(times) >= settings.max_model_reconnects:
            return None
        base = settings.model_reconnect_backoff_s * 2 ** len(times)
        delay: float = min(settings.model_reconnect_backoff_max_s, base)
        times.append(now)
        return delay / 2 + delay / 2 * self._jitter()

    def _switch_to_fallback(self, reason: EndReason | None) -> list[Action]:
        why = self._fallback_reason or "setup_timeout"
        self._fallback_reason = None
        log.warning("call %s: the fallback backend takes over the call (%s)", self.call_sid, why)
        self.metrics.incr("hotelvoice_model_fallbacks_total", reason=why)
        self.stats.fallbacks += 1
        if self._answer_owed():
            self._reask = True
        self._forget_model_turn()
        self._reconnect_times.clear()  # a fresh budget for the new backend
        # The caller heard the concierge already: the new voice apologises once, then goes on.
        self._apologise = self._sessions_opened > 0
        return [SwitchModel(fallback=True)]

    def _maybe_roll_over(self) -> list[Action]:
        """Renew the model session once it is due and the call is quiet: listening, nothing
        playing or being generated, no turn waiting for its answer, no tool running."""
        machine = self.machine
        if (
            not machine.rollover_due
            or machine.state is not LISTENING
            or machine.closing is not Closing.OPEN
            or self.ledger.outstanding
            or self._generating
            or self._caller_speaking
            or self._turn_unanswered
            or self._tools_pending
            or self._followup_needed
        ):
            return []
        return self._offer(Trigger.MODEL_ROLLOVER)

    def _roll_over(self, reason: EndReason | None) -> list[Action]:
        log.info("call %s: renewing the model session before its time limit", self.call_sid)
        self.metrics.incr("hotelvoice_model_rollovers_total")
        self.stats.rollovers += 1
        return [SwitchModel(fallback=False)]

    # ------------------------------------------------------------------ deadlines

    def next_deadline(self) -> float:
        """The earliest time at which :meth:`on_deadline` has something to do."""
        return self.machine.next_deadline(self.settings, self.stats.started_at)

    def on_deadline(self) -> list[Action]:
        """Called by the watchdog when :meth:`next_deadline` has passed: fires the trigger the
        machine's deadline table names; its rows decide what follows."""
        trigger = self.machine.due(self.settings, self.stats.started_at, self._clock())
        if trigger is None:
            return []
        return [*self._fire(trigger), *self._maybe_roll_over()]

    # ------------------------------------------------------------------ effects

    def _reprompt(self, reason: EndReason | None) -> list[Action]:
        return [ToModel(rt.dumps(rt.response_create(instructions=REPROMPT_INSTRUCTIONS)))]

    def _say_hand_over(self, reason: EndReason | None) -> list[Action]:
        if self._generating:
            self._hand_over_pending = True
            return []
        return [ToModel(rt.dumps(rt.response_create(instructions=HAND_OVER_INSTRUCTIONS)))]

    def _say_goodbye(self, reason: EndReason | None) -> list[Action]:
        assert reason is not None
        self._closing_because(reason)
        return [ToModel(rt.dumps(rt.response_create(instructions=GOODBYE_INSTRUCTIONS)))]

    def _request_hang_up(self, reason: EndReason | None) -> list[Action]:
        assert reason is not None
        if self.end_reason is None:  # no goodbye before (the model is not there to say it)
            self._closing_because(reason)
        return [HangUp(reason)]

    def _closing_because(self, reason: EndReason) -> None:
        log.info("call %s: ending politely (%s)", self.call_sid, reason.text)
        self.end_reason = reason.text
        self.end_cause = reason

    def _finish_effect(self, reason: EndReason | None) -> list[Action]:
        assert reason is not None
        if reason is EndReason.MODEL_SETUP_TIMEOUT:
            log.error("call %s: model setup timed out", self.call_sid)
        self.finish(reason)
        return []

    # ------------------------------------------------------------------ the end

    def hang_up(self, reason: EndReason, detail: str | None = None) -> None:
        """Twilio stopped the stream or the socket dropped."""
        self._end(Trigger.HANGUP, reason, detail)

    def finish(self, reason: EndReason, detail: str | None = None) -> None:
        """We end the call (the media socket closes; the TwiML tail runs if the call is up)."""
        self._end(Trigger.FINISH, reason, detail)

    def _end(self, trigger: Trigger, reason: EndReason, detail: str | None) -> None:
        if self.machine.state is ENDED:
            return
        if self.machine.draining and reason in _HAND_OVER_OUTCOMES:
            reason, detail = EndReason.DRAINED, reason.describe(detail)
        if self.end_reason is None or trigger is Trigger.HANGUP:
            text = reason.describe(detail)
            self.end_reason = text if self.end_reason is None else f"{self.end_reason}; {text}"
            self.end_cause = reason
        self.machine.fire(trigger)
        self.machine.release()
        self.stats.ended_at = self._clock()
        for key, count in self.machine.invalid_events.items():
            self.metrics.incr("hotelvoice_invalid_call_events_total", count, event=key)

    def _problem(self, kind: str) -> None:
        self.stats.problems[kind] += 1

    def summary(self) -> str:
        return self.stats.summary(self._clock())


# What each effect the machine names does: a class-wide table of plain functions, so no session
# holds bound methods of itself.
_EFFECTS: dict[Effect, Callable[[CallSession, EndReason | None], list[Action]]] = {
    Effect.REPROMPT: CallSession._reprompt,
    Effect.SAY_GOODBYE: CallSession._say_goodbye,
    Effect.HANG_UP: CallSession._request_hang_up,
    Effect.FINISH: CallSession._finish_effect,
    Effect.REQUEST_TRANSFER: CallSession._request_transfer,
    Effect.SAY_HAND_OVER: CallSession._say_hand_over,
    Effect.FALL_BACK: CallSession._switch_to_fallback,
    Effect.ROLL_OVER: CallSession._roll_over,
}
# How a hand-over at shutdown can end short of Twilio's stop: the record still says "drained".
_HAND_OVER_OUTCOMES = frozenset({EndReason.TRANSFER_FAILED, EndReason.TRANSFER_TIMEOUT})
