"""A scripted fake OpenAI Realtime server (GA protocol) on loopback.

Start it in a nursery, point the code under test at ``server.url``, then script the model from
the test through the ``FakeSession`` of each connection::

    server = await start_fake_realtime(nursery)
    ...  # the code under test connects to server.url with api key "sk-test"
    session = await server.next_session()
    await session.expect("session.update")          # answered with session.updated already
    await session.speak(b"\\xff" * 1600)            # a whole GA audio response
    server.assert_clean()

What it checks, like the real server or stricter:

* the upgrade: ``Authorization: Bearer <api_key>`` (else HTTP 401, whose body deliberately
  echoes the presented key so redaction gets tested), a ``model`` query parameter, the
  ``/v1/realtime`` path and no ``OpenAI-Beta`` header (answered like the real server:
  ``beta_api_shape_disabled`` then close 4000);
* every client event: JSON, valid against the ``openai`` package's GA client union with no
  unknown keys (``tests.fakes.openai_models``), base64 audio, no WebRTC-only events;
* every event it sends is validated against the GA server union first.

A client mistake is a *protocol violation*: it is answered with an ``error`` event like the real
server would, recorded in ``server.protocol_violations`` and, with ``fail_fast`` (the default),
raised as AssertionError inside the server's task, which fails the test that owns the nursery.
``server.assert_clean()`` raises for recorded violations too.

Beyond the scripted helpers it behaves like the real server where that is cheap: it answers
``session.update``, ``conversation.item.create``/``truncate``/``delete``/``retrieve``,
``input_audio_buffer.commit``/``clear`` and ``response.cancel``, refuses a second
``response.create`` while a response is active, cancels the active response on
``speech_started`` when the session's ``interrupt_response`` is on, and checks truncation
points and function-call ids.
"""

from __future__ import annotations

import binascii
import contextlib
import copy
import json
import logging
import random
import ssl
import string
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    serve_websocket,
)

from tests.fakes.openai_models import validate_client_event, validate_server_event

__all__ = [
    "DEFAULT_TRANSCRIPT",
    "FakeRealtimeServer",
    "FakeResponse",
    "FakeSession",
    "ResponseHook",
    "new_id",
    "start_fake_realtime",
]

logger = logging.getLogger(__name__)

ResponseHook = Callable[["FakeSession", dict[str, Any]], Awaitable[None]]
"""``auto_respond_to_response_create(session, event)``: run in its own task for each accepted
``response.create``, e.g. ``lambda s, e: s.speak(b"\\xff" * 800)``."""

DEFAULT_TRANSCRIPT = "Hello from the fake model."
_ALPHABET = string.ascii_letters + string.digits
_random = random.Random()


def new_id(prefix: str) -> str:
    """An id shaped like OpenAI's: ``resp_``/``item_``/``call_``/``event_`` + 21 characters."""
    return f"{prefix}_{''.join(_random.choices(_ALPHABET, k=21))}"


def _dumps(event: Mapping[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Apply a partial session update: plain objects merge; tagged objects (with a ``type``,
    such as a format or turn detection), lists and null replace."""
    for key, value in update.items():
        if isinstance(value, Mapping) and "type" not in value and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _default_session(model: str) -> dict[str, Any]:
    """What the real server reports in ``session.created``: PCM 24 kHz, server VAD, alloy."""
    pcm = {"type": "audio/pcm", "rate": 24000}
    return {
        "type": "realtime",
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "You are a helpful, witty, and friendly AI.",
        "audio": {
            "input": {
                "format": dict(pcm),
                "noise_reduction": None,
                "transcription": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"format": dict(pcm), "voice": "alloy", "speed": 1.0},
        },
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "include": None,
    }


class _Signal:
    """Wakes every waiter each time it fires (an Event that re-arms itself)."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = trio.Event()

    async def wait(self) -> None:
        await self._event.wait()


@attrs.define(eq=False)
class FakeResponse:
    """One model response the fake is producing (see ``FakeSession.start_response``)."""

    response_id: str
    item_id: str
    output_index: int = 0
    audio_bytes: int = 0
    done: bool = False
    status: str | None = None


@attrs.define(eq=False)
class FakeSession:
    """One client connection. Everything the client sent is in ``received`` (validated, in
    order) and ``audio_in`` (decoded audio of every append)."""

    server: FakeRealtimeServer
    _ws: WebSocketConnection
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    model: str
    config: dict[str, Any]
    received: list[dict[str, Any]] = attrs.field(factory=list)
    sent: list[dict[str, Any]] = attrs.field(factory=list)
    audio_in: bytearray = attrs.field(factory=bytearray)
    closed: trio.Event = attrs.field(factory=trio.Event)
    close_code: int | None = None
    responses: dict[str, FakeResponse] = attrs.field(factory=dict)
    active_response: FakeResponse | None = None
    items: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    function_calls: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    truncations: list[tuple[str, int]] = attrs.field(factory=list)
    conversation_id: str = attrs.field(factory=lambda: new_id("conv"))
    _item_audio: dict[str, int] = attrs.field(factory=dict)
    _uncommitted: int = 0
    _last_item_id: str | None = None
    _cursors: dict[str, int] = attrs.field(factory=dict)
    _arrived: _Signal = attrs.field(factory=_Signal)
    _nursery: trio.Nursery | None = None

    # -- reading what the client sent ---------------------------------------------------------

    async def expect(self, type: str) -> dict[str, Any]:
        """Wait for the next client event of ``type`` not returned by an earlier ``expect``.

        Raises AssertionError if the client disconnects first.
        """
        while True:
            start = self._cursors.get(type, 0)
            for index in range(start, len(self.received)):
                if self.received[index]["type"] == type:
                    self._cursors[type] = index + 1
                    await trio.lowlevel.checkpoint()
                    return self.received[index]
            self._cursors[type] = len(self.received)
            if self.closed.is_set():
                raise AssertionError(f"client disconnected without sending {type!r}")
            await self._arrived.wait()

    def of_type(self, type: str) -> list[dict[str, Any]]:
        """All received client events of ``type`` so far."""
        return [event for event in self.received if event["type"] == type]

    @property
    def bytes_per_ms(self) -> int:
        """Audio bytes per millisecond of the session's output format (pcmu/pcma 8, pcm 48)."""
        fmt = self.config["audio"]["output"]["format"] or {}
        return 48 if fmt.get("type") == "audio/pcm" else 8

    # -- sending ------------------------------------------------------------------------------

    async def send(self, event: Mapping[str, Any]) -> None:
        """Validate a server event (adding an ``event_id`` if it has none) and send it.

        Raises AssertionError if it is not a valid GA server event. After the client has gone,
        sending does nothing.
        """
        event = dict(event)
        event.setdefault("event_id", new_id("event"))
        if self.server.validate:
            validate_server_event(event)
        self.sent.append(event)
        await self.send_raw(_dumps(event))

    async def send_raw(self, text: str) -> None:
        """Send any text frame, unvalidated (for garbage tests)."""
        with contextlib.suppress(ConnectionClosed):  # the client hung up: carry on harmlessly
            await self._ws.send_message(text)

    async def _emit(self, type: str, **fields: Any) -> dict[str, Any]:
        # `type` then `event_id` first: the key order OpenAI uses (and our parser's fast path).
        event = {"type": type, "event_id": new_id("event"), **fields}
        await self.send(event)
        return event

    async def error(
        self,
        code: str | None,
        message: str = "Fake error.",
        *,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        client_event_id: str | None = None,
    ) -> None:
        """Send an ``error`` event."""
        await self._emit(
            "error",
            error={
                "type": error_type,
                "code": code,
                "message": message,
                "param": param,
                "event_id": client_event_id,
            },
        )

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the socket from the server side with ``code``."""
        await self._ws.aclose(code, reason)

    # -- scripted model behaviour ---------------------------------------------------------------

    def _response_object(
        self,
        response_id: str,
        status: str,
        output: list[dict[str, Any]],
        status_details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "object": "realtime.response",
            "id": response_id,
            "status": status,
            "status_details": status_details,
            "output": output,
            "conversation_id": self.conversation_id,
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {
                "output": {
                    "format": copy.deepcopy(self.config["audio"]["output"]["format"]),
                    "voice": self.config["audio"]["output"]["voice"],
                }
            },
            "usage": None,
            "metadata": None,
        }

    async def _begin(self, response_id: str | None, item_id: str | None) -> FakeResponse:
        response = FakeResponse(response_id or new_id("resp"), item_id or new_id("item"))
        self.responses[response.response_id] = response
        self.active_response = response
        await self._emit(
            "response.created",
            response=self._response_object(response.response_id, "in_progress", []),
        )
        await self._emit(
            "rate_limits.updated",
            rate_limits=[
                {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
                {"name": "tokens", "limit": 40000, "remaining": 39000, "reset_seconds": 1.5},
            ],
        )
        return response

    async def _add_item(self, response: FakeResponse, item: dict[str, Any]) -> None:
        self.items[item["id"]] = item
        await self._emit(
            "response.output_item.added",
            response_id=response.response_id,
            output_index=response.output_index,
            item=copy.deepcopy(item),
        )
        await self._emit(
            "conversation.item.added",
            previous_item_id=self._last_item_id,
            item=copy.deepcopy(item),
        )
        self._last_item_id = item["id"]

    async def _finish_item(self, response: FakeResponse, item: dict[str, Any]) -> None:
        self.items[item["id"]] = item
        await self._emit(
            "response.output_item.done",
            response_id=response.response_id,
            output_index=response.output_index,
            item=copy.deepcopy(item),
        )
        await self._emit("conversation.item.done", item=copy.deepcopy(item))

    async def _done(
        self,
        response: FakeResponse,
        status: str,
        output: list[dict[str, Any]],
        status_details: dict[str, Any] | None,
    ) -> None:
        response.status = status
        await self._emit(
            "response.done",
            response=self._response_object(response.response_id, status, output, status_details),
        )

    async def start_response(
        self, *, response_id: str | None = None, item_id: str | None = None
    ) -> FakeResponse:
        """Begin an audio response: ``response.created``, ``rate_limits.updated``,
        ``response.output_item.added`` (+ ``conversation.item.added``) and
        ``response.content_part.added``. Continue with ``send_audio`` and ``finish_response``.
        """
        response = await self._begin(response_id, item_id)
        item = {
            "id": response.item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self._item_audio[response.item_id] = 0
        await self._add_item(response, item)
        await self._emit(
            "response.content_part.added",
            response_id=response.response_id,
            item_id=response.item_id,
            output_index=response.output_index,
            content_index=0,
            part={"type": "audio", "transcript": ""},
        )
        return response

    def _current(self, response: FakeResponse | None) -> FakeResponse:
        if response is not None:
            return response
        if self.active_response is None:
            raise AssertionError("no active response: call start_response() first")
        return self.active_response

    async def send_audio(
        self,
        audio: bytes,
        *,
        response: FakeResponse | None = None,
        chunk_bytes: int = 160,
        pace_s: float = 0.0,
    ) -> int:
        """Send ``audio`` as ``response.output_audio.delta`` events of ``chunk_bytes`` each,
        ``pace_s`` apart. Stops early once the response is finished (e.g. cancelled by a
        barge-in). Returns the number of bytes sent."""
        response = self._current(response)
        sent = 0
        for start in range(0, len(audio), chunk_bytes):
            if response.done:
                break
            chunk = audio[start : start + chunk_bytes]
            await self._emit(
                "response.output_audio.delta",
                response_id=response.response_id,
                item_id=response.item_id,
                output_index=response.output_index,
                content_index=0,
                delta=binascii.b2a_base64(chunk, newline=False).decode("ascii"),
            )
            sent += len(chunk)
            response.audio_bytes += len(chunk)
            self._item_audio[response.item_id] = response.audio_bytes
            if pace_s:
                await trio.sleep(pace_s)
        return sent

    async def finish_response(
        self,
        response: FakeResponse | None = None,
        *,
        status: str = "completed",
        reason: str | None = None,
        error_code: str | None = None,
        transcript: str = DEFAULT_TRANSCRIPT,
    ) -> None:
        """End an audio response: transcript, ``output_audio.done``, ``content_part.done``,
        ``output_item.done`` (+ ``conversation.item.done``) and ``response.done``.

        ``status`` is ``completed``, ``cancelled`` (``reason`` defaults to
        ``client_cancelled``; ``turn_detected`` for VAD), ``incomplete`` or ``failed``
        (``error_code``). Does nothing if the response is already finished.
        """
        response = self._current(response)
        if response.done:
            await trio.lowlevel.checkpoint()
            return
        response.done = True  # first, so a concurrent send_audio stops
        if self.active_response is response:
            self.active_response = None
        ids = {
            "response_id": response.response_id,
            "item_id": response.item_id,
            "output_index": response.output_index,
            "content_index": 0,
        }
        if transcript:
            await self._emit("response.output_audio_transcript.delta", delta=transcript, **ids)
        await self._emit("response.output_audio.done", **ids)
        await self._emit("response.output_audio_transcript.done", transcript=transcript, **ids)
        await self._emit(
            "response.content_part.done", part={"type": "audio", "transcript": transcript}, **ids
        )
        item = {
            "id": response.item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed" if status == "completed" else "incomplete",
            "role": "assistant",
            "content": [{"type": "output_audio", "transcript": transcript}],
        }
        await self._finish_item(response, item)
        await self._done(response, status, [item], _status_details(status, reason, error_code))

    async def speak(
        self,
        audio: bytes,
        *,
        chunk_bytes: int = 160,
        response_id: str | None = None,
        item_id: str | None = None,
        pace_s: float = 0.0,
        transcript: str = DEFAULT_TRANSCRIPT,
    ) -> tuple[str, str]:
        """A whole GA audio response (``start_response``, ``send_audio``, ``finish_response``).

        If the response is cancelled meanwhile (``response.cancel``, or ``speech_started``
        with interrupt on), the deltas stop and the cancellation's ``response.done`` stands.
        Returns ``(response_id, item_id)``.
        """
        response = await self.start_response(response_id=response_id, item_id=item_id)
        await self.send_audio(audio, response=response, chunk_bytes=chunk_bytes, pace_s=pace_s)
        await self.finish_response(response, transcript=transcript)
        return response.response_id, response.item_id

    async def call_function(
        self,
        name: str,
        arguments: Mapping[str, Any],
        *,
        call_id: str | None = None,
        response_id: str | None = None,
        item_id: str | None = None,
    ) -> str:
        """A whole GA function-call response: ``response.created``, ``output_item.added``
        (function_call), ``function_call_arguments.delta`` and ``.done`` (with ``name``),
        ``output_item.done``, ``response.done``. Returns the ``call_id``."""
        call_id = call_id or new_id("call")
        response = await self._begin(response_id, item_id)
        text = json.dumps(dict(arguments), separators=(",", ":"))
        item = {
            "id": response.item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": name,
            "call_id": call_id,
            "arguments": "",
        }
        await self._add_item(response, item)
        ids = {
            "response_id": response.response_id,
            "item_id": response.item_id,
            "output_index": response.output_index,
            "call_id": call_id,
        }
        await self._emit("response.function_call_arguments.delta", delta=text, **ids)
        await self._emit("response.function_call_arguments.done", name=name, arguments=text, **ids)
        final = dict(item, status="completed", arguments=text)
        self.function_calls[call_id] = final
        response.done = True
        if self.active_response is response:
            self.active_response = None
        await self._finish_item(response, final)
        await self._done(response, "completed", [final], None)
        return call_id

    async def speech_started(
        self,
        item_id: str | None = None,
        audio_start_ms: int = 0,
        *,
        cancel_active: bool | None = None,
    ) -> str:
        """Send ``input_audio_buffer.speech_started``. Like the real server's VAD with
        ``interrupt_response`` on, this then cancels an unfinished response (reason
        ``turn_detected``); ``cancel_active`` overrides the session setting. Returns the
        user item id."""
        item_id = item_id or new_id("item")
        await self._emit(
            "input_audio_buffer.speech_started", item_id=item_id, audio_start_ms=audio_start_ms
        )
        if cancel_active is None:
            detection = self.config["audio"]["input"].get("turn_detection") or {}
            cancel_active = bool(detection.get("interrupt_response"))
        if cancel_active and self.active_response is not None:
            await self.finish_response(
                self.active_response, status="cancelled", reason="turn_detected"
            )
        return item_id

    async def speech_stopped(
        self, item_id: str | None = None, audio_end_ms: int = 0, *, commit: bool = True
    ) -> str:
        """Send ``input_audio_buffer.speech_stopped`` and, with ``commit``, the
        ``input_audio_buffer.committed`` and user item that follow. Returns the item id."""
        item_id = item_id or new_id("item")
        await self._emit(
            "input_audio_buffer.speech_stopped", item_id=item_id, audio_end_ms=audio_end_ms
        )
        if commit:
            await self._commit(item_id)
        return item_id

    async def _commit(self, item_id: str) -> None:
        self._uncommitted = 0
        await self._emit(
            "input_audio_buffer.committed", item_id=item_id, previous_item_id=self._last_item_id
        )
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        await self._add_conversation_item(item)

    async def _add_conversation_item(self, item: dict[str, Any]) -> None:
        self.items[item["id"]] = item
        previous, self._last_item_id = self._last_item_id, item["id"]
        await self._emit(
            "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
        )
        await self._emit("conversation.item.done", item=copy.deepcopy(item))

    async def input_transcript(self, transcript: str, *, item_id: str | None = None) -> str:
        """Send ``conversation.item.input_audio_transcription.completed``. Returns the item
        id (by default the latest conversation item)."""
        item_id = item_id or self._last_item_id or new_id("item")
        await self._emit(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=transcript,
            usage={"type": "duration", "seconds": 1.0},
        )
        return item_id

    # -- the connection's reader ----------------------------------------------------------------

    async def _run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                try:
                    await self._emit("session.created", session=copy.deepcopy(self.config))
                    while True:
                        await self._handle(await self._ws.get_message())
                except ConnectionClosed as exc:
                    self.close_code = exc.reason.code if exc.reason is not None else None
                nursery.cancel_scope.cancel()  # scripted hooks end with the connection
        finally:
            self.closed.set()
            self._arrived.fire()

    async def _violation(self, text: str, event: Mapping[str, Any] | None) -> None:
        client_event_id = event.get("event_id") if event is not None else None
        await self.error(
            "invalid_value",
            f"Fake server: {text.splitlines()[0][:300]}",
            client_event_id=client_event_id if isinstance(client_event_id, str) else None,
        )
        self.server._record_violation(text)

    async def _handle(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            await self._violation("binary frame (the Realtime API takes JSON text)", None)
            return
        try:
            event = json.loads(message)
        except ValueError as exc:
            await self._violation(f"malformed JSON ({exc}): {message[:200]!r}", None)
            return
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            await self._violation(f"not an event object: {message[:200]!r}", None)
            return
        if self.server.validate:
            try:
                validate_client_event(event)
            except AssertionError as exc:
                await self._violation(str(exc), event)
                return
        self.received.append(event)
        self._arrived.fire()
        handler = _HANDLERS.get(event["type"])
        if handler is not None:
            await handler(self, event)

    async def _on_session_update(self, event: dict[str, Any]) -> None:
        problem = self.server.session_update_error
        if problem is not None:
            payload = dict(problem)
            if payload.get("type") != "error":
                payload = {"type": "error", "error": payload}
            payload["error"] = dict(payload["error"])
            payload["error"].setdefault("event_id", event.get("event_id"))
            await self.send(payload)
            return
        _merge(self.config, event["session"])
        await self._emit("session.updated", session=copy.deepcopy(self.config))

    async def _on_append(self, event: dict[str, Any]) -> None:
        try:
            audio = binascii.a2b_base64(event["audio"], strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            await self._violation(f"input_audio_buffer.append audio is not base64: {exc}", event)
            return
        self.audio_in += audio
        self._uncommitted += len(audio)

    async def _on_commit(self, event: dict[str, Any]) -> None:
        if self._uncommitted < 100 * self.bytes_per_ms:
            await self.error(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small.",
                client_event_id=event.get("event_id"),
            )
            return
        await self._commit(new_id("item"))

    async def _on_clear(self, event: dict[str, Any]) -> None:
        self._uncommitted = 0
        await self._emit("input_audio_buffer.cleared")

    async def _on_item_create(self, event: dict[str, Any]) -> None:
        item = dict(event["item"])
        if item["type"] == "function_call_output" and item["call_id"] not in self.function_calls:
            await self.error(
                None,
                f"Tool call ID '{item['call_id']}' not found in conversation.",
                param="item.call_id",
                client_event_id=event.get("event_id"),
            )
            return
        item.setdefault("id", new_id("item"))
        item.setdefault("object", "realtime.item")
        item["status"] = "completed"
        if item["type"] == "function_call":
            self.function_calls[item["call_id"]] = item
        await self._add_conversation_item(item)

    async def _on_truncate(self, event: dict[str, Any]) -> None:
        item_id, end_ms = event["item_id"], event["audio_end_ms"]
        audio_bytes = self._item_audio.get(item_id)
        problem: str | None = None
        if item_id not in self.items:
            problem = f"Item with id '{item_id}' not found."
        elif not audio_bytes:
            problem = "Only model output audio messages can be truncated"
        elif end_ms > audio_bytes // self.bytes_per_ms:
            have = audio_bytes // self.bytes_per_ms
            problem = f"Audio content of {have}ms is already shorter than {end_ms}ms"
        if problem is not None:
            # Real errors, not protocol violations: tests assert the bridge avoids them.
            await self.error("invalid_value", problem, client_event_id=event.get("event_id"))
            return
        self.truncations.append((item_id, end_ms))
        await self._emit(
            "conversation.item.truncated",
            item_id=item_id,
            content_index=event["content_index"],
            audio_end_ms=end_ms,
        )

    async def _on_item_delete(self, event: dict[str, Any]) -> None:
        if self.items.pop(event["item_id"], None) is None:
            await self.error(
                "invalid_value",
                f"Item with id '{event['item_id']}' not found.",
                client_event_id=event.get("event_id"),
            )
            return
        await self._emit("conversation.item.deleted", item_id=event["item_id"])

    async def _on_item_retrieve(self, event: dict[str, Any]) -> None:
        item = self.items.get(event["item_id"])
        if item is None:
            await self.error(
                "invalid_value",
                f"Item with id '{event['item_id']}' not found.",
                client_event_id=event.get("event_id"),
            )
            return
        await self._emit("conversation.item.retrieved", item=copy.deepcopy(item))

    async def _on_response_create(self, event: dict[str, Any]) -> None:
        if self.active_response is not None:
            await self.error(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress: "
                f"{self.active_response.response_id}. Wait until the response is finished "
                "before creating a new one.",
                client_event_id=event.get("event_id"),
            )
            return
        hook = self.server.auto_respond_to_response_create
        if hook is not None and self._nursery is not None:
            self._nursery.start_soon(hook, self, event)

    async def _on_response_cancel(self, event: dict[str, Any]) -> None:
        if self.active_response is None:
            await self.error(
                "response_cancel_not_active",
                "Cancellation failed: no active response found",
                client_event_id=event.get("event_id"),
            )
            return
        await self.finish_response(
            self.active_response, status="cancelled", reason="client_cancelled"
        )

    async def _on_output_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        await self._violation(
            "output_audio_buffer.clear is WebRTC/SIP only; over WebSocket clear Twilio and "
            "send conversation.item.truncate",
            event,
        )


def _status_details(
    status: str, reason: str | None, error_code: str | None
) -> dict[str, Any] | None:
    if status == "completed":
        return None
    if status == "cancelled":
        return {"type": "cancelled", "reason": reason or "client_cancelled"}
    if status == "incomplete":
        return {"type": "incomplete", "reason": reason or "max_output_tokens"}
    return {
        "type": "failed",
        "error": {"type": "server_error", "code": error_code, "message": "Fake failure."},
    }


_HANDLERS: dict[str, Callable[[FakeSession, dict[str, Any]], Awaitable[None]]] = {
    "session.update": FakeSession._on_session_update,
    "input_audio_buffer.append": FakeSession._on_append,
    "input_audio_buffer.commit": FakeSession._on_commit,
    "input_audio_buffer.clear": FakeSession._on_clear,
    "conversation.item.create": FakeSession._on_item_create,
    "conversation.item.truncate": FakeSession._on_truncate,
    "conversation.item.delete": FakeSession._on_item_delete,
    "conversation.item.retrieve": FakeSession._on_item_retrieve,
    "response.create": FakeSession._on_response_create,
    "response.cancel": FakeSession._on_response_cancel,
    "output_audio_buffer.clear": FakeSession._on_output_audio_buffer_clear,
}


@attrs.define(eq=False)
class FakeRealtimeServer:
    """The listening fake. The knobs are plain attributes: change them between connections."""

    api_key: str
    reject_status: int | None = None
    stall_handshake: bool = False
    session_update_error: Mapping[str, Any] | None = None
    validate: bool = True
    fail_fast: bool = True
    auto_respond_to_response_create: ResponseHook | None = None
    ssl_context: ssl.SSLContext | None = None
    url: str = ""
    port: int = 0
    sessions: list[FakeSession] = attrs.field(factory=list)
    protocol_violations: list[str] = attrs.field(factory=list)
    rejected: list[int] = attrs.field(factory=list)
    _cursor: int = 0
    _new_session: _Signal = attrs.field(factory=_Signal)
    _scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)

    async def next_session(self) -> FakeSession:
        """Wait for the next accepted connection not returned by an earlier call."""
        while self._cursor >= len(self.sessions):
            await self._new_session.wait()
        self._cursor += 1
        await trio.lowlevel.checkpoint()
        return self.sessions[self._cursor - 1]

    def assert_clean(self) -> None:
        """Raise AssertionError listing every protocol violation seen so far."""
        if self.protocol_violations:
            raise AssertionError(
                f"{len(self.protocol_violations)} protocol violation(s):\n"
                + "\n".join(f"- {text}" for text in self.protocol_violations)
            )

    def stop(self) -> None:
        """Stop listening and drop every connection abruptly (no close frames)."""
        self._scope.cancel()

    def _record_violation(self, text: str) -> None:
        self.protocol_violations.append(text)
        logger.error("fake realtime server: protocol violation: %s", text)
        if self.fail_fast:
            raise AssertionError(f"client broke the Realtime protocol: {text}")

    async def _serve(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with self._scope:
            async with trio.open_nursery() as nursery:
                listener = await nursery.start(
                    partial(
                        serve_websocket,
                        self._handle_request,
                        "127.0.0.1",
                        0,
                        self.ssl_context,
                        max_message_size=16 * 1024 * 1024,
                    )
                )
                self.port = listener.port
                scheme = "ws" if self.ssl_context is None else "wss"
                self.url = f"{scheme}://127.0.0.1:{self.port}/v1/realtime"
                task_status.started()

    async def _reject(self, request: WebSocketRequest, status: int, error: dict[str, Any]) -> None:
        self.rejected.append(status)
        body = json.dumps({"error": error}).encode()
        await request.reject(
            status, extra_headers=[(b"Content-Type", b"application/json")], body=body
        )

    async def _handle_request(self, request: WebSocketRequest) -> None:
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in request.headers
        }
        parts = urlsplit(request.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        if self.stall_handshake:
            await trio.sleep_forever()  # TCP accepted, the upgrade never answered
        if self.reject_status is not None:
            await self._reject(
                request,
                self.reject_status,
                {"type": "server_error", "code": None, "message": "Fake refusal."},
            )
            return
        presented = headers.get("authorization", "")
        if presented != f"Bearer {self.api_key}":
            # Echoes the presented credential on purpose: the client must redact it.
            await self._reject(
                request,
                401,
                {
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                    "message": f"Incorrect API key provided: {presented.removeprefix('Bearer ')}",
                },
            )
            return
        if parts.path.rstrip("/") != "/v1/realtime":
            await self._reject(request, 404, {"type": "invalid_request_error", "message": "nope"})
            self._record_violation(f"upgrade to {parts.path!r}, not /v1/realtime")
            return
        if not query.get("model"):
            await self._reject(
                request, 400, {"type": "invalid_request_error", "message": "model is required"}
            )
            self._record_violation(f"upgrade without a model query parameter: {request.path!r}")
            return
        ws = await request.accept()
        session = FakeSession(
            self,
            ws,
            path=request.path,
            query=query,
            headers=headers,
            model=query["model"],
            config=_default_session(query["model"]),
        )
        self.sessions.append(session)
        self._new_session.fire()
        if "openai-beta" in headers:
            # What the real server does since the beta shape was retired.
            await session.error(
                "beta_api_shape_disabled", "The beta Realtime API shape has been disabled."
            )
            with trio.move_on_after(5):
                await session.close(4000, "beta_api_shape_disabled")
            session.closed.set()
            self._record_violation(f"OpenAI-Beta header sent: {headers['openai-beta']!r}")
            return
        await session._run()


async def start_fake_realtime(
    nursery: trio.Nursery,
    *,
    api_key: str = "sk-test",
    reject_status: int | None = None,
    stall_handshake: bool = False,
    session_update_error: Mapping[str, Any] | None = None,
    validate: bool = True,
    fail_fast: bool = True,
    auto_respond_to_response_create: ResponseHook | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> FakeRealtimeServer:
    """Start the fake on 127.0.0.1 (a free port) in ``nursery``; returns once it listens.

    ``reject_status`` refuses every upgrade with that HTTP status; ``stall_handshake`` accepts
    TCP and never answers the upgrade; ``session_update_error`` (an ``error`` event, or just its
    ``error`` object) answers every ``session.update`` instead of ``session.updated``;
    ``validate`` checks events against the openai models; ``fail_fast`` raises on protocol
    violations (they are recorded either way); ``ssl_context`` serves wss://.
    """
    server = FakeRealtimeServer(
        api_key=api_key,
        reject_status=reject_status,
        stall_handshake=stall_handshake,
        session_update_error=session_update_error,
        validate=validate,
        fail_fast=fail_fast,
        auto_respond_to_response_create=auto_respond_to_response_create,
        ssl_context=ssl_context,
    )
    await nursery.start(server._serve)
    return server
