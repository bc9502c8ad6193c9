"""The softphone's Trio side: place a call on a running hotelvoice exactly as Twilio does.

:class:`SoftphoneCall` runs one call:

1. the signed incoming-call webhook, ``POST {server}/twilio/voice``, with the form Twilio
   sends (signed over ``public_url + "/twilio/voice"`` when an auth token is given);
2. the TwiML answer: its ``<Stream url>`` is the public ``wss://`` URL, so the socket goes to
   the server's real address with that path, the upgrade signed over the TwiML's URL;
3. :class:`StreamSession`: ``connected``, ``start`` (the TwiML's ``<Parameter>`` elements in
   ``customParameters``), then a 20 ms μ-law ``media`` frame every 20 ms on an absolute
   schedule (silence between lines, as a phone sends), DTMF key presses, and Twilio's
   playout queue (:class:`~hotelvoice.softphone.playout.Playout`) echoing marks when playback
   reaches them and honouring ``clear``; ``stop`` and a close at the end.

Time inside the call is *call time*: seconds since ``start``, as the caller experiences it. It
runs ``speed`` times faster than Trio's clock (``speed > 1`` is ``--fast``: frames still go
one by one on the schedule, and playback is just as much faster), so timings and latencies
read the same at any speed.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Literal, Protocol
from urllib.parse import urlsplit

import attrs
import httpx
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    HandshakeError,
    WebSocketConnection,
    wrap_client_stream,
)

from hotelvoice.ids import new_sid
from hotelvoice.softphone.errors import SoftphoneError
from hotelvoice.softphone.playout import Playout
from hotelvoice.softphone.protocol import (
    FORM_CONTENT_TYPE,
    FRAME_S,
    OutboundClear,
    OutboundMark,
    OutboundMedia,
    ServerProtocolError,
    StreamTwiml,
    TwilioStream,
    TwimlError,
    inbound_call_form,
    parse_outbound,
    parse_twiml,
    sign,
    socket_url,
)
from hotelvoice.softphone.script import CallerLine, LineTiming, TurnTaking

__all__ = [
    "FAST_SPEED",
    "CallClock",
    "CallOptions",
    "CallRecord",
    "MessageSocket",
    "Outcome",
    "SoftphoneCall",
    "StreamClosed",
    "StreamSession",
]

#: How much faster than real time ``--fast`` runs a call.
FAST_SPEED = 10.0
WEBHOOK_TIMEOUT_S = 15.0  # Twilio's budget for the webhook's answer
CONNECT_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0
MESSAGE_QUEUE_SIZE = 1024

Outcome = Literal["completed", "time_limit", "server_hung_up", "dropped"]
Progress = Callable[[str], None]


@attrs.frozen
class CallOptions:
    """Who calls whom, where, and how. ``public_url`` defaults to ``server``; without an
    ``auth_token`` nothing is signed; without an ``account_sid`` a random one is used (a server
    with ``TWILIO_ACCOUNT_SID`` set refuses streams that name another account)."""

    server: str = "http://127.0.0.1:8080"
    public_url: str | None = None
    auth_token: str | None = None
    account_sid: str | None = None
    from_: str = "+15551230001"
    to: str = "+15559870002"
    speed: float = 1.0
    max_seconds: float = 60.0
    barge_in: bool = False
    quiet_s: float = 0.7
    barge_in_after_s: float = 0.5
    greeting_timeout_s: float = 10.0
    answer_timeout_s: float = 15.0

    def __attrs_post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0, got {self.speed}")
        if not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0, got {self.max_seconds}")


class CallClock:
    """Call time (seconds since the stream started, ``speed`` times Trio's rate), sans-IO."""

    def __init__(self, origin: float, speed: float = 1.0) -> None:
        self.origin = origin
        self.speed = speed

    def call_time(self, trio_time: float) -> float:
        return (trio_time - self.origin) * self.speed

    def trio_time(self, call_time: float) -> float:
        """The Trio clock reading at which ``call_time`` comes."""
        return self.origin + call_time / self.speed

    def now(self) -> float:
        """The call time now (reads Trio's clock)."""
        return self.call_time(trio.current_time())


@attrs.define(eq=False)
class CallRecord:
    """Everything the call did, on the call-time axis.

    ``caller_audio``: every μ-law byte sent, frame ``i`` at ``i * 0.02`` s. ``playout``: what
    the caller heard (``played``), mark ``echoes`` and ``clears``. ``timings``: when each line
    was said. ``sent_events``: the event of every message sent, in order. ``violations``: what
    the server sent that Twilio would refuse. ``outcome``: ``completed`` (script done, we hung
    up), ``time_limit``, ``server_hung_up`` (closed with 1000) or ``dropped`` (any other end).
    """

    call_sid: str
    account_sid: str
    stream_sid: str
    twiml: StreamTwiml
    playout: Playout = attrs.Factory(Playout)
    caller_audio: bytearray = attrs.Factory(bytearray)
    timings: list[LineTiming] = attrs.Factory(list)
    notes: list[tuple[float, str]] = attrs.Factory(list)
    marks_received: list[str] = attrs.Factory(list)
    dtmf_sent: list[tuple[float, str]] = attrs.Factory(list)
    sent_events: list[str] = attrs.Factory(list)
    violations: list[str] = attrs.Factory(list)
    outcome: Outcome = "dropped"
    close_code: int | None = None
    duration: float = 0.0

    @property
    def clean(self) -> bool:
        """The call ran and ended in an orderly way, and the server kept to the protocol:
        the script finished, or the server hung up (close 1000) after the agent had spoken."""
        if self.violations:
            return False
        if self.outcome == "server_hung_up":
            return self.playout.first_audio_at is not None
        return self.outcome == "completed"


# --------------------------------------------------------------------------------------------
# The stream, over any message socket
# --------------------------------------------------------------------------------------------


class StreamClosed(Exception):
    """The media socket is closed; ``code`` is the close code (None if unknown)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"media socket closed (code {code})")
        self.code = code


class MessageSocket(Protocol):
    """One WebSocket's text messages, as the stream session needs them."""

    async def send(self, text: str) -> None:
        """Send one text message. Raises StreamClosed once the socket is closed."""
        ...

    async def receive(self) -> str | bytes:
        """Wait for the next message. Raises StreamClosed once the socket is closed."""
        ...

    async def close(self) -> None:
        """Close with 1000 and wait (bounded) for the peer's reply; idempotent."""
        ...


class _WebSocket:
    """A trio-websocket client connection as a :class:`MessageSocket`."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self._ws = ws

    async def send(self, text: str) -> None:
        try:
            await self._ws.send_message(text)
        except ConnectionClosed as exc:
            raise StreamClosed(exc.reason.code if exc.reason else None) from None

    async def receive(self) -> str | bytes:
        try:
            message: str | bytes = await self._ws.get_message()
        except ConnectionClosed as exc:
            raise StreamClosed(exc.reason.code if exc.reason else None) from None
        return message

    async def close(self) -> None:
        with trio.move_on_after(CLOSE_TIMEOUT_S):
            await self._ws.aclose(1000)


class StreamSession:
    """Twilio's side of one Media Streams connection, from ``connected`` to the hang-up.

    Three tasks share the call's state: the frame loop (one ``media`` frame per 20 ms of call
    time, the caller's lines as :class:`TurnTaking` decides, then ``stop``), the reader (the
    socket's only reader: queues the server's audio and marks, applies ``clear``) and the
    echo loop (sends each mark echo when playback reaches it). Sends are serialised by the
    socket; each message is numbered right before it is handed to the socket, so sequence
    numbers reach the wire in order.
    """

    def __init__(
        self,
        socket: MessageSocket,
        record: CallRecord,
        turns: TurnTaking,
        *,
        speed: float = 1.0,
        max_seconds: float = 60.0,
        progress: Progress | None = None,
    ) -> None:
        self.socket = socket
        self.record = record
        self.turns = turns
        self.speed = speed
        self.max_seconds = max_seconds
        self._progress = progress
        self._stream = TwilioStream(
            stream_sid=record.stream_sid, account_sid=record.account_sid, call_sid=record.call_sid
        )
        self.clock = CallClock(0.0, speed)
        self._changed = trio.Event()
        self._closed = trio.Event()
        self._close_code: int | None = None
        self._reported_burst: float | None = None
        self._overrun_noted = False  # the server ran over Playout.max_queued_s
        self._closing = False  # we hung up: the socket closing is no news

    def _say(self, t: float, text: str) -> None:
        if self._progress is not None:
            self._progress(f"[{t:7.2f}] {text}")

    def _pulse(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _send(self, text: str, event: str) -> None:
        # No checkpoint between numbering a message and handing it to the socket.
        self.record.sent_events.append(event)
        await self.socket.send(text)

    async def run(self) -> CallRecord:
        """Run the stream to its end and return the filled-in record.

        Waits for the script to finish, the ``max_seconds`` limit or the server to close the
        socket. Raises nothing for a server that misbehaves or goes away (see the record);
        StreamClosed only if the socket is already closed before ``start`` can be sent.
        """
        record = self.record
        await self._send(self._stream.connected(), "connected")
        await self._send(self._stream.start(record.twiml.parameters), "start")
        self.clock = CallClock(trio.current_time(), self.speed)
        self._say(0.0, f"call {record.call_sid} connected (stream {record.stream_sid})")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read_loop)
            nursery.start_soon(self._echo_loop)
            outcome = await self._frame_loop()
            now = self.clock.now()
            record.playout.finish(now)  # what is still queued is never heard
            if outcome in ("completed", "time_limit"):
                self._closing = True  # no mark echoes after `stop`
                try:
                    await self._send(self._stream.stop(), "stop")
                except StreamClosed:
                    pass
                else:
                    self._say(now, "hung up" if outcome == "completed" else "time limit: hung up")
                await self.socket.close()
            nursery.cancel_scope.cancel()
        record.outcome = outcome
        record.close_code = self._close_code
        record.duration = now
        record.timings = list(self.turns.timings)
        record.notes = list(self.turns.notes)
        return record

    def _ended_by_server(self) -> Outcome:
        return "server_hung_up" if self._close_code == 1000 else "dropped"

    async def _frame_loop(self) -> Outcome:
        record = self.record
        frame_index = 0
        while True:
            t = frame_index * FRAME_S
            await trio.sleep_until(self.clock.trio_time(t))
            if self._closed.is_set():
                return self._ended_by_server()
            if t >= self.max_seconds:
                return "time_limit"
            record.playout.advance(max(t, self.clock.now()))
            tick = self.turns.tick(t, record.playout)
            if tick.started is not None:
                self._say(t, f"caller: {self.turns.lines[tick.started].label}")
            try:
                for digit in tick.digits:
                    record.dtmf_sent.append((t, digit))
                    await self._send(self._stream.dtmf(digit), "dtmf")
                if tick.finished:
                    return "completed"
                await self._send(self._stream.media(tick.frame), "media")
            except StreamClosed as exc:
                self._on_closed(exc.code)
                return self._ended_by_server()
            record.caller_audio += tick.frame
            frame_index += 1

    def _on_closed(self, code: int | None) -> None:
        if not self._closed.is_set():
            self._close_code = code
            self._closed.set()
            self._pulse()

    async def _read_loop(self) -> None:
        record = self.record
        playout = record.playout
        while True:
            try:
                frame = await self.socket.receive()
            except StreamClosed as exc:
                self._on_closed(exc.code)
                if self._closing:
                    return
                if exc.code == 1000:
                    self._say(self.clock.now(), "the server closed the stream")
                else:
                    self._say(self.clock.now(), f"the stream dropped (close code {exc.code})")
                return
            now = self.clock.now()
            try:
                message = parse_outbound(frame, record.stream_sid)
            except ServerProtocolError as exc:
                record.violations.append(f"at {now:.2f} s: {exc}")
                continue
            if isinstance(message, OutboundMedia):
                if not playout.push_audio(message.audio, now) and not self._overrun_noted:
                    self._overrun_noted = True
                    record.violations.append(
                        f"at {now:.2f} s: the server queued over {playout.max_queued_s:.0f} s "
                        "of audio ahead of playback; the rest was refused"
                    )
                burst = playout.burst_start(now)
                if burst is not None and burst != self._reported_burst:
                    self._reported_burst = burst
                    self._say(burst, "agent talking")
            elif isinstance(message, OutboundMark):
                record.marks_received.append(message.name)
                playout.push_mark(message.name, now)
            elif isinstance(message, OutboundClear):
                playout.clear(now)
                self._say(now, "the server cleared playback (barge-in)")
            self._pulse()

    async def _echo_loop(self) -> None:
        playout = self.record.playout
        while True:
            changed = self._changed
            echoes = [] if self._closing else playout.take_echoes(self.clock.now())
            try:
                for echo in echoes:
                    await self._send(self._stream.mark(echo.name), "mark")
            except StreamClosed:
                return
            if echoes:
                continue
            due = playout.next_due()
            deadline = math.inf if due is None else self.clock.trio_time(due)
            with trio.move_on_at(deadline):
                await changed.wait()


# --------------------------------------------------------------------------------------------
# Placing the call
# --------------------------------------------------------------------------------------------


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "wss" else 80
    host = parts.hostname or ""
    return host if parts.port in (None, default_port) else f"{host}:{parts.port}"


async def _open_tcp(url: str) -> trio.SocketStream | trio.SSLStream[trio.SocketStream]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    host = parts.hostname or ""
    with trio.fail_after(CONNECT_TIMEOUT_S):
        if parts.scheme == "wss":
            return await trio.open_ssl_over_tcp_stream(
                host, port, ssl_context=ssl.create_default_context(), https_compatible=True
            )
        return await trio.open_tcp_stream(host, port)


class SoftphoneCall:
    """One call from the softphone to a running hotelvoice: webhook, stream, hang-up.

    ``lines`` are what the caller says (see :mod:`hotelvoice.softphone.script`); ``progress``
    is told what happens as it happens (one line of text each), e.g. ``print``.
    """

    def __init__(
        self,
        options: CallOptions,
        lines: Sequence[CallerLine] = (),
        *,
        progress: Progress | None = None,
    ) -> None:
        self.options = options
        self.lines = list(lines)
        self.progress = progress
        self.call_sid = new_sid("CA")
        self.account_sid = options.account_sid or new_sid("AC")

    @property
    def public_url(self) -> str:
        return (self.options.public_url or self.options.server).rstrip("/")

    async def ring(self) -> StreamTwiml:
        """POST the incoming-call webhook and read the TwiML answer.

        Waits up to 15 s (Twilio's budget).

        Raises:
            SoftphoneError: no server answers, it refuses the webhook (403: bad signature),
                answers another status, or its answer opens no media stream.
        """
        options = self.options
        url = options.server.rstrip("/") + "/twilio/voice"
        form = inbound_call_form(
            call_sid=self.call_sid, account_sid=self.account_sid, from_=options.from_, to=options.to
        )
        headers = {"Content-Type": FORM_CONTENT_TYPE}
        if options.auth_token:
            headers["X-Twilio-Signature"] = sign(
                self.public_url + "/twilio/voice", form, options.auth_token
            )
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S) as http:
                response = await http.post(url, data=form, headers=headers)
        except httpx.ConnectError as exc:
            raise SoftphoneError(
                f"no server answers at {options.server} ({exc or 'connection refused'}); "
                "is `hotelvoice serve` running there?"
            ) from None
        except httpx.TimeoutException:
            raise SoftphoneError(
                f"{url} did not answer within {WEBHOOK_TIMEOUT_S:g} s (Twilio gives up then)"
            ) from None
        except httpx.HTTPError as exc:
            raise SoftphoneError(f"the webhook POST to {url} failed: {exc}") from None
        if response.status_code == 403:
            how = (
                f"signed with the given auth token over {self.public_url}/twilio/voice"
                if options.auth_token
                else "unsigned: no auth token was given"
            )
            raise SoftphoneError(
                f"the server refused the webhook: HTTP 403 ({response.text.strip() or 'forbidden'};"
                f" the request was {how}); pass the server's TWILIO_AUTH_TOKEN (--auth-token or "
                "the TWILIO_AUTH_TOKEN variable) and its PUBLIC_URL (--public-url)"
            )
        if response.status_code != 200:
            raise SoftphoneError(
                f"the webhook answered HTTP {response.status_code}: {response.text.strip()[:200]}"
            )
        try:
            return parse_twiml(response.content)
        except TwimlError as exc:
            raise SoftphoneError(f"the webhook's answer is no media stream: {exc}") from None

    @asynccontextmanager
    async def connect(self, twiml: StreamTwiml) -> AsyncIterator[MessageSocket]:
        """Open the media WebSocket the TwiML asks for, at the server's real address.

        Waits up to 10 s for TCP and the upgrade. Leaving the block closes the socket.

        Raises:
            SoftphoneError: nothing listens there, or the server refused the upgrade (403:
                the signature over the ``wss://`` URL did not check out).
        """
        url = socket_url(twiml.stream_url, self.options.server)
        headers: list[tuple[bytes, bytes]] = []
        if self.options.auth_token:
            signature = sign(twiml.stream_url, {}, self.options.auth_token)
            headers.append((b"X-Twilio-Signature", signature.encode("ascii")))
        try:
            tcp = await _open_tcp(url)
        except (OSError, trio.TooSlowError) as exc:
            raise SoftphoneError(
                f"cannot reach the media stream at {url}: {exc or 'timed out'}"
            ) from None
        # We own the TCP stream (not open_websocket_url): trio-websocket 0.12.2 leaks the
        # client socket when the upgrade is refused.
        async with tcp:
            problem: SoftphoneError | None = None
            async with trio.open_nursery() as nursery:
                try:
                    with trio.fail_after(CONNECT_TIMEOUT_S):
                        ws = await wrap_client_stream(
                            nursery,
                            tcp,
                            _host_header(url),
                            urlsplit(url).path or "/",
                            extra_headers=headers,
                            message_queue_size=MESSAGE_QUEUE_SIZE,
                        )
                except ConnectionRejected as exc:
                    hint = (
                        " (the upgrade's signature over "
                        f"{twiml.stream_url} was refused: check the auth token)"
                        if exc.status_code == 403
                        else ""
                    )
                    problem = SoftphoneError(
                        f"the server refused the media stream upgrade: HTTP {exc.status_code}"
                        + hint
                    )
                except (HandshakeError, trio.TooSlowError) as exc:
                    problem = SoftphoneError(
                        f"the media stream upgrade at {url} failed: {exc or 'timed out'}"
                    )
                else:
                    socket = _WebSocket(ws)
                    try:
                        yield socket
                    finally:
                        await socket.close()
                nursery.cancel_scope.cancel()
            if problem is not None:
                raise problem

    async def run(self) -> CallRecord:
        """Place the call and run it to its end; see :class:`StreamSession` for what ends it.

        Raises:
            SoftphoneError: the call could not be placed (see :meth:`ring`, :meth:`connect`).
        """
        options = self.options
        twiml = await self.ring()
        record = CallRecord(
            call_sid=self.call_sid,
            account_sid=self.account_sid,
            stream_sid=new_sid("MZ"),
            twiml=twiml,
        )
        turns = TurnTaking(
            self.lines,
            barge_in=options.barge_in,
            quiet_s=options.quiet_s,
            barge_in_after_s=options.barge_in_after_s,
            greeting_timeout_s=options.greeting_timeout_s,
            answer_timeout_s=options.answer_timeout_s,
        )
        closed_at_once: StreamClosed | None = None
        async with self.connect(twiml) as socket:
            session = StreamSession(
                socket,
                record,
                turns,
                speed=options.speed,
                max_seconds=options.max_seconds,
                progress=self.progress,
            )
            try:
                await session.run()
            except StreamClosed as exc:  # raised outside the block: no exception group
                closed_at_once = exc
        if closed_at_once is not None:
            raise SoftphoneError(f"the server closed the stream at once: {closed_at_once}")
        return record
