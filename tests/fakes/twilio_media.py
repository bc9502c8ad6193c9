"""A fake Twilio Media Streams client: it plays Twilio's role against hotelvoice's WebSocket.

Everything here is written from Twilio's documentation (see
``/work/shared/reference/twilio-media-streams.md``), never from hotelvoice's code: the fake speaks
raw JSON exactly as Twilio documents it, so an end-to-end test passing against it means
hotelvoice speaks Twilio's protocol, not merely its own idea of it.

What the fake sends (Twilio → app), with string counters as Twilio sends them::

    {"event":"connected","protocol":"Call","version":"1.0.0"}
    {"event":"start","sequenceNumber":"1","streamSid":"MZ…","start":{…}}
    {"event":"media","sequenceNumber":"2","streamSid":"MZ…",
     "media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"…"}}
    {"event":"dtmf","sequenceNumber":"3","streamSid":"MZ…","dtmf":{"track":"inbound_track","digit":"1"}}
    {"event":"mark","sequenceNumber":"4","streamSid":"MZ…","mark":{"name":"…"}}   (echoes)
    {"event":"stop","sequenceNumber":"5","streamSid":"MZ…","stop":{"accountSid":"AC…","callSid":"CA…"}}

What it accepts (app → Twilio), checked by :func:`validate_outbound`: ``media``, ``mark`` and
``clear`` text frames, nothing else.

Twilio's outbound playout queue is modelled so mark echoes come when Twilio would send them:
audio and marks are queued FIFO, audio plays at 8 bytes per millisecond, a mark is echoed when
playback reaches it (at once on an empty queue), and ``clear`` drops the queued audio and echoes
every pending mark at once. See :class:`FakeTwilioCall` for the three ``auto_mark`` modes.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, NoReturn
from urllib.parse import urlsplit

import trio
from trio_websocket import (
    CloseReason,
    ConnectionClosed,
    ConnectionTimeout,
    HandshakeError,
    WebSocketConnection,
    wrap_client_stream,
)
from twilio.request_validator import RequestValidator

__all__ = [
    "FRAME_BYTES",
    "MULAW_BYTES_PER_SECOND",
    "AutoMark",
    "FakeTwilioCall",
    "decode_payload",
    "new_sid",
    "stream_wss_url",
    "validate_outbound",
    "validate_outbound_frame",
]

#: μ-law 8 kHz mono: 1 byte per sample, 8 bytes per millisecond.
MULAW_BYTES_PER_SECOND = 8000
#: Twilio's inbound frame: 20 ms of μ-law.
FRAME_BYTES = 160

AutoMark = Literal["instant", "realtime", "manual"]

_AUTO_MARK_MODES: frozenset[str] = frozenset({"instant", "realtime", "manual"})
_FILE_HEADERS: tuple[bytes, ...] = (b"RIFF", b".snd")  # WAV, Sun/NeXT AU
_OUTBOUND_KEYS: dict[str, frozenset[str]] = {
    "media": frozenset({"event", "streamSid", "media"}),
    "mark": frozenset({"event", "streamSid", "mark"}),
    "clear": frozenset({"event", "streamSid"}),
}
_MEDIA_FORMAT: dict[str, Any] = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
_CONNECT_TIMEOUT_S = 10.0
_DISCONNECT_TIMEOUT_S = 10.0
_MESSAGE_QUEUE_SIZE = 1024


def new_sid(prefix: str) -> str:
    """Return a Twilio-style SID: a two-letter prefix ("CA", "AC", "MZ") plus 32 hex digits."""
    return prefix + secrets.token_hex(16)


def stream_wss_url(public_url: str, path: str = "/twilio/media") -> str:
    """Return the ``wss://`` URL Twilio signs for the stream: ``public_url`` with its scheme
    replaced by ``wss://``, plus ``path``.

    ``stream_wss_url("https://hotel.example.com", "/twilio/media")`` is
    ``"wss://hotel.example.com/twilio/media"``. A bare host ("hotel.example.com") also works.
    """
    rest = public_url.split("://", 1)[1] if "://" in public_url else public_url
    if not path.startswith("/"):
        path = "/" + path
    return f"wss://{rest.rstrip('/')}{path}"


# --------------------------------------------------------------------------------------------
# Validation of what hotelvoice sends to Twilio
# --------------------------------------------------------------------------------------------


def _short(obj: object, limit: int = 200) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decode_payload(payload: object) -> bytes:
    """Decode an outbound ``media.payload`` the way Twilio needs it, or raise AssertionError.

    It must be a non-empty string of strict, canonical base64 (standard alphabet, padded, no
    whitespace) of raw μ-law bytes: a WAV (``RIFF``) or AU (``.snd``) header is refused, since
    Twilio would play the header as noise.
    """
    if not isinstance(payload, str) or not payload:
        raise AssertionError(
            f"media.payload must be a non-empty base64 string, got {_short(payload)}"
        )
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AssertionError(
            f"media.payload is not valid base64 ({exc}): {_short(payload, 60)}"
        ) from None
    if base64.b64encode(raw).decode("ascii") != payload:
        raise AssertionError(
            f"media.payload is not canonical base64 (stray bits or padding): {_short(payload, 60)}"
        )
    if not raw:
        raise AssertionError("media.payload decodes to zero bytes")
    if raw.startswith(_FILE_HEADERS):
        raise AssertionError(
            f"media.payload starts with a {raw[:4]!r} file header: Twilio wants raw μ-law "
            "8 kHz mono with no WAV/AU header (the header would be played as noise)"
        )
    return raw


def validate_outbound(obj: Mapping[str, Any]) -> None:
    """Check one message hotelvoice sent to Twilio against Twilio's documented shapes.

    Accepted, with no other keys at any level::

        {"event": "media", "streamSid": S, "media": {"payload": B64}}
        {"event": "mark", "streamSid": S, "mark": {"name": N}}
        {"event": "clear", "streamSid": S}

    Raises:
        AssertionError: with a message saying what is wrong. (That the frame was text, and that
            ``streamSid`` is *this* stream's, is checked by :func:`validate_outbound_frame` and
            by :class:`FakeTwilioCall`.)
    """
    if not isinstance(obj, Mapping):
        raise AssertionError(f"outbound message must be a JSON object, got {_short(obj)}")
    event = obj.get("event")
    if not isinstance(event, str) or event not in _OUTBOUND_KEYS:
        raise AssertionError(
            f"outbound 'event' must be 'media', 'mark' or 'clear', got {event!r}: {_short(obj)}"
        )
    expected = _OUTBOUND_KEYS[event]
    keys = {str(key) for key in obj}
    if keys != expected:
        raise AssertionError(
            f"{event!r} message must have exactly the keys {sorted(expected)}; "
            f"missing {sorted(expected - keys)}, unexpected {sorted(keys - expected)}: "
            f"{_short(obj)}"
        )
    stream_sid = obj["streamSid"]
    if not isinstance(stream_sid, str) or not stream_sid:
        raise AssertionError(f"streamSid must be a non-empty string, got {_short(stream_sid)}")
    if event == "media":
        media = obj["media"]
        if not isinstance(media, Mapping) or set(media) != {"payload"}:
            raise AssertionError(
                "outbound 'media' must be exactly {'payload': <base64>} (no track/chunk/"
                f"timestamp), got {_short(media)}"
            )
        decode_payload(media["payload"])
    elif event == "mark":
        mark = obj["mark"]
        if not isinstance(mark, Mapping) or set(mark) != {"name"}:
            raise AssertionError(f"outbound 'mark' must be exactly {{'name': <str>}}, got {mark!r}")
        name = mark["name"]
        if not isinstance(name, str) or not name:
            raise AssertionError(f"mark.name must be a non-empty string, got {name!r}")


def validate_outbound_frame(frame: str | bytes) -> dict[str, Any]:
    """Check one raw WebSocket frame hotelvoice sent: a JSON text frame that passes
    :func:`validate_outbound`. Returns the parsed message.

    Raises:
        AssertionError: binary frame (Twilio cannot decode those: warning 31950), invalid JSON,
            not an object, or a shape :func:`validate_outbound` rejects.
    """
    if isinstance(frame, bytes):
        raise AssertionError(
            f"binary frame of {len(frame)} bytes: Twilio only accepts JSON text frames "
            "(warning 31950)"
        )
    try:
        obj = json.loads(frame)
    except ValueError as exc:
        raise AssertionError(f"frame is not valid JSON ({exc}): {_short(frame)}") from None
    if not isinstance(obj, dict):
        raise AssertionError(f"outbound message must be a JSON object, got {_short(obj)}")
    validate_outbound(obj)
    return obj


# --------------------------------------------------------------------------------------------
# The fake call
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _QueuedAudio:
    data: bytes
    queued_at: float


@dataclass(eq=False)
class _QueuedMark:
    name: str


def _check_options(auto_mark: str, playback_speed: float) -> None:
    if auto_mark not in _AUTO_MARK_MODES:
        raise ValueError(f"auto_mark must be one of {sorted(_AUTO_MARK_MODES)}: {auto_mark!r}")
    if not playback_speed > 0:
        raise ValueError(f"playback_speed must be > 0, got {playback_speed!r}")


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "wss" else 80
    host = parts.hostname or ""
    return host if parts.port in (None, default_port) else f"{host}:{parts.port}"


def _resource(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


async def _open_stream(url: str) -> trio.SocketStream | trio.SSLStream[trio.SocketStream]:
    """TCP (ws://) or TLS (wss://) stream to the URL's host, errors as trio-websocket's."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"expected a ws:// or wss:// URL, got {url!r}")
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    try:
        with trio.fail_after(_CONNECT_TIMEOUT_S):
            if parts.scheme == "wss":
                return await trio.open_ssl_over_tcp_stream(
                    parts.hostname,
                    port,
                    ssl_context=ssl.create_default_context(),
                    https_compatible=True,
                )
            return await trio.open_tcp_stream(parts.hostname, port)
    except trio.TooSlowError:
        raise ConnectionTimeout from None
    except OSError as exc:
        raise HandshakeError from exc


def _reraise(exc: BaseException) -> NoReturn:
    """Re-raise ``exc`` out of an ``except`` block without chaining the group it came in."""
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
        del exc, context


class FakeTwilioCall:
    """One Twilio Media Streams connection, as Twilio would run it.

    Open it with :meth:`connect` (an async context manager). A background reader receives every
    frame hotelvoice sends, validates it (:func:`validate_outbound`, text frames only, our
    ``streamSid``, nothing before ``start``) and records it; invalid messages are recorded in
    :attr:`violations` and otherwise ignored, like Twilio ignores them.

    Playout model and mark echoes (``auto_mark``):

    * ``"instant"``: audio counts as played the moment it arrives and each mark is echoed at
      once. ``clear`` then never has anything to flush.
    * ``"realtime"``: Twilio's queue is modelled with trio's clock (instant under
      ``autojump_clock``): queued audio plays at ``8000 * playback_speed`` bytes/s, a mark is
      echoed when playback reaches it, at once if nothing is queued. ``clear`` keeps what was
      already played (``played``), drops the rest (``flushed_bytes``) and echoes every pending
      mark at once (``marks_flushed``).
    * ``"manual"``: nothing is echoed by itself; the test calls :meth:`echo_marks`. ``clear``
      still flushes audio and echoes pending marks at once (as Twilio does) unless
      ``echo_on_clear=False``, which keeps those marks pending so a test can deliver the
      post-``clear`` echoes late with :meth:`echo_marks`.

    Recorded state (all public attributes):

    * ``media_out``: every decoded outbound payload, in order (flushed audio included).
    * ``played`` / ``flushed_bytes``: audio the caller actually heard / audio dropped by clear.
    * ``messages_out`` / ``message_times``: every parsed JSON object hotelvoice sent (valid or
      not) and the trio time it arrived; ``raw_out``: every raw frame.
    * ``marks_sent_to_us``: names of valid marks received; ``echoes``: ``(name, time)`` of each
      echo sent back; ``marks_flushed``: names of marks that were pending at a ``clear``.
    * ``clears``: number of valid ``clear`` messages.
    * ``sent``: every JSON message the fake sent (Twilio → app).
    * ``violations``: protocol violations by hotelvoice (see :meth:`assert_clean`).
    * ``closed`` (event), ``close_code``, ``close_reason``, ``closed_by_server``.
    """

    def __init__(
        self,
        ws: WebSocketConnection,
        *,
        call_sid: str,
        account_sid: str,
        stream_sid: str,
        parameters: Mapping[str, str],
        signed_url: str,
        auto_mark: AutoMark,
        playback_speed: float,
        echo_on_clear: bool,
    ) -> None:
        _check_options(auto_mark, playback_speed)
        self.ws = ws
        self.call_sid = call_sid
        self.account_sid = account_sid
        self.stream_sid = stream_sid
        self.parameters: dict[str, str] = dict(parameters)
        self.signed_url = signed_url
        self.auto_mark: AutoMark = auto_mark
        self.playback_speed = playback_speed
        self.echo_on_clear = echo_on_clear

        self.media_out = bytearray()
        self.messages_out: list[dict[str, Any]] = []
        self.message_times: list[float] = []
        self.raw_out: list[str | bytes] = []
        self.marks_sent_to_us: list[str] = []
        self.clears = 0
        self.played = bytearray()
        self.flushed_bytes = 0
        self.echoes: list[tuple[str, float]] = []
        self.marks_flushed: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.closed = trio.Event()
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed_by_server = False

        self._seq = 0
        self._chunk = 0
        self._inbound_audio_bytes = 0
        self._start_sent = False
        self._local_close = False
        self._changed = trio.Event()
        # Twilio's outbound queue (realtime/manual modes).
        self._queue: deque[_QueuedAudio | _QueuedMark] = deque()
        self._queue_event = trio.Event()
        self._current: _QueuedAudio | None = None
        self._current_start = 0.0
        self._current_scope: trio.CancelScope | None = None
        self._last_end = -math.inf

    # ---------------------------------------------------------------- opening and closing

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        base_ws_url: str,
        *,
        public_url: str,
        auth_token: str | None,
        call_sid: str | None = None,
        account_sid: str | None = None,
        stream_sid: str | None = None,
        parameters: Mapping[str, str] | None = None,
        sign: bool = True,
        bad_signature: bool = False,
        path: str = "/twilio/media",
        auto_mark: AutoMark = "instant",
        playback_speed: float = 1.0,
        echo_on_clear: bool = True,
    ) -> AsyncIterator[FakeTwilioCall]:
        """Open the Media Streams WebSocket the way Twilio does and yield the call.

        Connects to ``f"{base_ws_url}{path}"`` (e.g. ``"ws://127.0.0.1:8080/twilio/media"``)
        with ``X-Twilio-Signature`` computed over ``stream_wss_url(public_url, path)`` and no
        params, as Twilio signs the upgrade. ``bad_signature=True`` sends a wrong signature;
        ``sign=False`` (or ``auth_token=None`` without ``bad_signature``) sends none. SIDs
        default to fresh random ones. Nothing is sent after the upgrade: call :meth:`start`.

        Leaving the block closes the socket (code 1000) if still open and stops the reader.
        An exception raised in the block propagates as itself, not in an exception group.

        Raises:
            trio_websocket.ConnectionRejected: the server refused the upgrade (``.status_code``).
            trio_websocket.ConnectionTimeout: no TCP connection or no upgrade answer within 10 s.
            trio_websocket.HandshakeError: could not connect at all (its cause is the OSError).
        """
        _check_options(auto_mark, playback_speed)
        signed_url = stream_wss_url(public_url, path)
        headers: list[tuple[bytes, bytes]] = []
        if bad_signature:
            wrong_token = "not-" + (auth_token or "a-token")
            signature = RequestValidator(wrong_token).compute_signature(signed_url, {})
            headers.append((b"X-Twilio-Signature", signature.encode("ascii")))
        elif sign and auth_token is not None:
            signature = RequestValidator(auth_token).compute_signature(signed_url, {})
            headers.append((b"X-Twilio-Signature", signature.encode("ascii")))
        url = f"{base_ws_url.rstrip('/')}{path}"
        stream = await _open_stream(url)
        # We own the TCP stream (not open_websocket_url) because trio-websocket 0.12.2 leaks
        # the client socket when the upgrade is rejected, and its connect_timeout can hang.
        async with stream:
            try:
                async with trio.open_nursery() as nursery:
                    try:
                        with trio.fail_after(_CONNECT_TIMEOUT_S):
                            ws = await wrap_client_stream(
                                nursery,
                                stream,
                                _host_header(url),
                                _resource(url),
                                extra_headers=headers,
                                message_queue_size=_MESSAGE_QUEUE_SIZE,
                            )
                    except trio.TooSlowError:
                        raise ConnectionTimeout from None
                    call = cls(
                        ws,
                        call_sid=call_sid or new_sid("CA"),
                        account_sid=account_sid or new_sid("AC"),
                        stream_sid=stream_sid or new_sid("MZ"),
                        parameters=parameters or {},
                        signed_url=signed_url,
                        auto_mark=auto_mark,
                        playback_speed=playback_speed,
                        echo_on_clear=echo_on_clear,
                    )
                    nursery.start_soon(call._read_loop)
                    if auto_mark == "realtime":
                        nursery.start_soon(call._playout_loop)
                    try:
                        yield call
                    finally:
                        try:
                            await call.close()
                        finally:
                            # also stops trio-websocket's reader, which would otherwise wait
                            # for the server to drop TCP after the close handshake
                            nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                if len(group.exceptions) == 1:
                    _reraise(group.exceptions[0])
                raise

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the WebSocket cleanly (close frame ``code``), without sending ``stop``.

        Idempotent. Waits up to 10 s (trio time) for the server's close reply, then drops TCP.
        """
        self._local_close = True
        with trio.move_on_after(_DISCONNECT_TIMEOUT_S):
            await self.ws.aclose(code, reason)
        self._record_close(self.ws.closed)

    async def hang_up(self) -> None:
        """The caller hangs up: send ``stop``, then close the socket (as Twilio does)."""
        await self.send_stop()
        await self.close()

    async def drop(self) -> None:
        """Kill the TCP connection abruptly: no ``stop``, no close frame (a network drop)."""
        self._local_close = True
        # trio-websocket has no public abort; closing its stream makes it see code 1006.
        await self.ws._stream.aclose()
        self._record_close(CloseReason(1006, "dropped by fake Twilio"))

    async def wait_closed_by_server(self) -> int | None:
        """Wait until hotelvoice closes the socket; return its close code.

        Raises:
            AssertionError: the socket was closed by the fake (hang_up/drop/close) instead.
        """
        await self.closed.wait()
        if not self.closed_by_server:
            raise AssertionError(
                f"socket was closed by the fake Twilio (code {self.close_code}), not the server"
            )
        return self.close_code

    # ---------------------------------------------------------------- sending (Twilio → app)

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)

    async def _send_json(self, obj: dict[str, Any]) -> None:
        # No checkpoint between numbering and send_message(): trio-websocket serialises frames
        # in call order (FIFO lock), so sequenceNumbers reach the wire in order.
        self.sent.append(obj)
        await self.ws.send_message(json.dumps(obj, separators=(",", ":")))

    async def send_connected(self) -> None:
        """Send ``{"event":"connected","protocol":"Call","version":"1.0.0"}``."""
        await self._send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    async def send_start(self, custom_parameters: Mapping[str, str] | None = None) -> None:
        """Send ``start`` with ``customParameters`` = ``custom_parameters``, defaulting to the
        ``parameters`` given to :meth:`connect`."""
        params = self.parameters if custom_parameters is None else custom_parameters
        self._start_sent = True
        await self._send_json(
            {
                "event": "start",
                "sequenceNumber": self._next_seq(),
                "streamSid": self.stream_sid,
                "start": {
                    "streamSid": self.stream_sid,
                    "accountSid": self.account_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": dict(params),
                    "mediaFormat": dict(_MEDIA_FORMAT),
                },
            }
        )

    async def start(self, parameters: Mapping[str, str] | None = None) -> None:
        """Send ``connected`` then ``start`` (what Twilio does right after the upgrade)."""
        await self.send_connected()
        await self.send_start(parameters)

    async def send_media(self, payload: bytes) -> None:
        """Send one inbound ``media`` message carrying ``payload`` (raw μ-law bytes).

        ``chunk`` counts media messages from "1"; ``timestamp`` is the presentation time in ms
        of this chunk, i.e. the audio sent before it (``bytes // 8``).
        """
        self._chunk += 1
        timestamp = self._inbound_audio_bytes * 1000 // MULAW_BYTES_PER_SECOND
        self._inbound_audio_bytes += len(payload)
        await self._send_json(
            {
                "event": "media",
                "sequenceNumber": self._next_seq(),
                "streamSid": self.stream_sid,
                "media": {
                    "track": "inbound",
                    "chunk": str(self._chunk),
                    "timestamp": str(timestamp),
                    "payload": base64.b64encode(payload).decode("ascii"),
                },
            }
        )

    async def send_dtmf(self, digit: str) -> None:
        """Send a ``dtmf`` message (track ``inbound_track``, as Twilio spells it)."""
        await self._send_json(
            {
                "event": "dtmf",
                "sequenceNumber": self._next_seq(),
                "streamSid": self.stream_sid,
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    async def send_stop(self) -> None:
        """Send ``stop`` (the call ended or was redirected); does not close the socket."""
        await self._send_json(
            {
                "event": "stop",
                "sequenceNumber": self._next_seq(),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )

    async def send_raw(self, text: str | bytes) -> None:
        """Send an arbitrary frame (text or binary), for garbage/robustness tests.

        Counters are not touched. A JSON ``start`` sent this way counts as the stream start.
        """
        if isinstance(text, str):
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            if isinstance(obj, dict) and obj.get("event") == "start":
                self._start_sent = True
        await self.ws.send_message(text)

    async def stream_audio(
        self, data: bytes, *, frame_bytes: int = FRAME_BYTES, pace_s: float = 0.02
    ) -> None:
        """Send ``data`` as consecutive ``media`` frames of ``frame_bytes`` (the last may be
        shorter), frame ``i`` at ``t0 + i * pace_s`` on trio's clock (an absolute schedule, so
        no drift). ``pace_s=0`` sends them back to back. Returns after the last frame is sent.
        """
        if frame_bytes <= 0:
            raise ValueError(f"frame_bytes must be > 0, got {frame_bytes}")
        t0 = trio.current_time()
        for i, offset in enumerate(range(0, len(data), frame_bytes)):
            if pace_s > 0:
                await trio.sleep_until(t0 + i * pace_s)
            await self.send_media(data[offset : offset + frame_bytes])

    # ---------------------------------------------------------------- waiting

    def _pulse(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, predicate: Callable[[FakeTwilioCall], bool]) -> None:
        """Wait until ``predicate(self)`` is true; it is re-checked after every state change
        (message received, echo sent, audio played, close). Always checkpoints.

        Raises:
            AssertionError: the socket closed while the predicate was still false.
        """
        await trio.lowlevel.checkpoint()
        while not predicate(self):
            if self.closed.is_set():
                raise AssertionError(
                    f"Twilio stream closed (code {self.close_code}, by "
                    f"{'server' if self.closed_by_server else 'fake'}) while waiting for "
                    f"{predicate!r}; violations: {self.violations}"
                )
            await self._changed.wait()

    async def wait_for_media(self, nbytes: int) -> None:
        """Wait until at least ``nbytes`` of outbound audio arrived (``len(media_out)``)."""
        await self.wait_for(lambda call: len(call.media_out) >= nbytes)

    # ---------------------------------------------------------------- inspection

    @property
    def marks_echoed(self) -> list[str]:
        """Names of marks echoed back so far, in order."""
        return [name for name, _ in self.echoes]

    @property
    def pending_marks(self) -> list[str]:
        """Names of marks queued behind audio and not yet echoed."""
        return [item.name for item in self._queue if isinstance(item, _QueuedMark)]

    @property
    def queued_bytes(self) -> int:
        """Bytes of audio queued and not fully played (the segment playing counts whole)."""
        return sum(len(item.data) for item in self._queue if isinstance(item, _QueuedAudio))

    def assert_clean(self) -> None:
        """Raise AssertionError listing every protocol violation seen so far, if any."""
        if self.violations:
            listing = "\n  ".join(self.violations)
            raise AssertionError(
                f"{len(self.violations)} Twilio protocol violation(s):\n  {listing}"
            )

    # ---------------------------------------------------------------- mark echoes

    @property
    def _rate(self) -> float:
        return MULAW_BYTES_PER_SECOND * self.playback_speed

    async def _echo(self, name: str) -> None:
        try:
            await self._send_json(
                {
                    "event": "mark",
                    "sequenceNumber": self._next_seq(),
                    "streamSid": self.stream_sid,
                    "mark": {"name": name},
                }
            )
        except ConnectionClosed:
            return
        self.echoes.append((name, trio.current_time()))
        self._pulse()

    async def echo_marks(self, n: int | None = None) -> list[str]:
        """``"manual"`` mode: echo the next ``n`` pending marks (all if None), in order,
        counting the audio queued before each as played. Returns the names echoed.

        Raises:
            RuntimeError: not in manual mode.
            AssertionError: fewer than ``n`` marks are pending.
        """
        if self.auto_mark != "manual":
            raise RuntimeError(f"echo_marks() needs auto_mark='manual', not {self.auto_mark!r}")
        pending = self.pending_marks
        count = len(pending) if n is None else n
        if count > len(pending):
            raise AssertionError(f"asked to echo {count} marks but only {pending} are pending")
        echoed: list[str] = []
        await trio.lowlevel.checkpoint()
        while len(echoed) < count and self._queue:
            item = self._queue.popleft()
            if isinstance(item, _QueuedAudio):
                self.played += item.data
                self._pulse()
            else:
                await self._echo(item.name)
                echoed.append(item.name)
        return echoed

    def _enqueue(self, item: _QueuedAudio | _QueuedMark) -> None:
        self._queue.append(item)
        self._queue_event.set()

    async def _playout_loop(self) -> None:
        """``"realtime"`` mode: play the queue on trio's clock, echoing marks as reached."""
        while True:
            if not self._queue:
                self._queue_event = trio.Event()
                await self._queue_event.wait()
                continue
            item = self._queue[0]
            if isinstance(item, _QueuedMark):
                self._queue.popleft()
                await self._echo(item.name)
                continue
            # Continuous playback if it was queued while the previous audio played; otherwise
            # the (idle) player started it when it arrived.
            start = max(item.queued_at, self._last_end)
            end = start + len(item.data) / self._rate
            self._current, self._current_start = item, start
            with trio.CancelScope() as scope:
                self._current_scope = scope
                await trio.sleep_until(end)
            self._current_scope = None
            if self._current is item:  # else a clear already accounted for it
                self._current = None
                self._queue.popleft()
                self.played += item.data
                self._last_end = end
                self._pulse()

    async def _clear(self) -> None:
        """Twilio's ``clear``: stop playback now, drop queued audio, echo pending marks."""
        now = trio.current_time()
        current = self._current
        if current is not None:
            heard = math.floor((now - self._current_start) * self._rate + 1e-6)
            heard = min(len(current.data), max(0, heard))
            self.played += current.data[:heard]
            self.flushed_bytes += len(current.data) - heard
            self._current = None
            if self._current_scope is not None:
                self._current_scope.cancel()
        to_echo: list[str] = []
        kept: deque[_QueuedAudio | _QueuedMark] = deque()
        for item in self._queue:
            if item is current:
                continue
            if isinstance(item, _QueuedAudio):
                self.flushed_bytes += len(item.data)
                continue
            self.marks_flushed.append(item.name)
            if self.auto_mark == "manual" and not self.echo_on_clear:
                kept.append(item)
            else:
                to_echo.append(item.name)
        self._queue = kept
        self._last_end = now
        self._pulse()
        for name in to_echo:
            await self._echo(name)

    # ---------------------------------------------------------------- receiving (app → Twilio)

    def _record_close(self, reason: CloseReason | None) -> None:
        if self.closed.is_set():
            return
        self.closed_by_server = not self._local_close
        if reason is not None:
            self.close_code = reason.code
            self.close_reason = reason.reason
        self.closed.set()
        self._pulse()

    def _violation(self, problem: str, frame: str | bytes) -> None:
        self.violations.append(f"frame #{len(self.raw_out)}: {problem} -- {_short(frame)}")

    async def _read_loop(self) -> None:
        while True:
            try:
                frame = await self.ws.get_message()
            except ConnectionClosed as exc:
                self._record_close(exc.reason)
                return
            await self._on_frame(frame)
            self._pulse()

    async def _on_frame(self, frame: str | bytes) -> None:
        self.raw_out.append(frame)
        if isinstance(frame, bytes):
            self._violation(
                f"binary frame of {len(frame)} bytes: Twilio only accepts JSON text frames "
                "(warning 31950)",
                frame,
            )
            return
        try:
            obj = json.loads(frame)
        except ValueError as exc:
            self._violation(f"not valid JSON ({exc})", frame)
            return
        if not isinstance(obj, dict):
            self._violation("outbound message must be a JSON object", frame)
            return
        self.messages_out.append(obj)
        self.message_times.append(trio.current_time())
        problems: list[str] = []
        try:
            validate_outbound(obj)
        except AssertionError as exc:
            problems.append(str(exc))
        stream_sid = obj.get("streamSid")
        if isinstance(stream_sid, str) and stream_sid != self.stream_sid:
            problems.append(f"streamSid {stream_sid!r} is not this stream's {self.stream_sid!r}")
        if not self._start_sent:
            problems.append("sent before Twilio's 'start' (the streamSid is not known yet)")
        if problems:
            for problem in problems:
                self._violation(problem, frame)
            return
        event = obj["event"]
        if event == "media":
            raw = decode_payload(obj["media"]["payload"])
            self.media_out += raw
            if self.auto_mark == "instant":
                self.played += raw
            else:
                self._enqueue(_QueuedAudio(raw, trio.current_time()))
        elif event == "mark":
            name = obj["mark"]["name"]
            self.marks_sent_to_us.append(name)
            if self.auto_mark == "instant":
                await self._echo(name)
            else:
                self._enqueue(_QueuedMark(name))
        else:
            self.clears += 1
            await self._clear()
