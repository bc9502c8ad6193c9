"""The model socket: one WebSocket to the OpenAI Realtime API (GA), over trio-websocket.

``open_realtime`` does its own TCP/TLS connect and hands the stream to
``trio_websocket.wrap_client_stream``, because trio-websocket 0.12.2's own ``connect_timeout``
hangs forever when the peer accepts TCP and never answers the upgrade, and leaks the socket if
an outer deadline stops it. Here one deadline covers TCP, TLS and the upgrade, and the stream is
closed on every path.

Errors come out as plain exceptions, never exception groups: ``RealtimeConnectError`` before
the socket is open, ``RealtimeClosed`` after. The API key is sent in one header and appears in
no log line and no exception.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, NoReturn, TypeAlias, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    WebSocketConnection,
    wrap_client_stream,
)

from hotelvoice.wire.realtime import MAX_EVENT_SIZE

__all__ = [
    "CLOSE_TIMEOUT",
    "KEEPALIVE_INTERVAL",
    "KEEPALIVE_TIMEOUT",
    "MESSAGE_QUEUE_SIZE",
    "RealtimeClosed",
    "RealtimeConnectError",
    "RealtimeConnection",
    "open_realtime",
]

logger = logging.getLogger(__name__)

# trio-websocket's default of 1 makes its reader stop reading the socket whenever our reader is
# briefly busy; a burst of audio deltas must not stall the TCP window.
MESSAGE_QUEUE_SIZE = 64
# Bound on the closing handshake when leaving open_realtime. It is shielded, so a hung-up call
# still sends its close frame; but the task that would read the peer's reply can be cancelled
# meanwhile (Quart cancels the media handler when Twilio hangs up), so the wait stays short:
# the close frame goes out at once, the reply is a courtesy.
CLOSE_TIMEOUT = 0.25
# A link that stops answering (a stalled or black-holed peer: no close, no reset) is found by
# WebSocket pings: one every KEEPALIVE_INTERVAL seconds, and no pong within KEEPALIVE_TIMEOUT
# closes the socket, which the reader reports as a drop (code 1006).
KEEPALIVE_INTERVAL = 5.0
KEEPALIVE_TIMEOUT = 5.0


class RealtimeConnectError(Exception):
    """The socket could not be opened: TCP or TLS failure, the upgrade refused (``status_code``
    set) or no answer before the connect deadline."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RealtimeClosed(Exception):
    """The open socket is closed: by the server (``code``/``reason`` from its close frame),
    by us, or by the network (code 1006)."""

    def __init__(self, code: int | None, reason: str | None) -> None:
        super().__init__(f"realtime socket closed (code {code}, reason {reason!r})")
        self.code = code
        self.reason = reason


def _closed(exc: ConnectionClosed) -> RealtimeClosed:
    reason = exc.reason
    if reason is None:
        return RealtimeClosed(None, None)
    return RealtimeClosed(reason.code, reason.reason)


class RealtimeConnection:
    """An open Realtime socket: text frames in and out. Made by ``open_realtime``."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self._ws = ws

    async def send(self, text: str) -> None:
        """Send one text frame (a client event's JSON). Waits for the socket to take it.

        Safe to call from several tasks (trio-websocket serialises writes). Raises
        RealtimeClosed once the socket is closed.
        """
        try:
            await self._ws.send_message(text)
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def receive(self) -> str:
        """Wait for the next message and return its text.

        Messages sent before a close are still delivered; then RealtimeClosed is raised.
        Binary frames (the API sends none) are decoded as UTF-8 with replacement, so the
        parser reports them as malformed instead of this call failing.
        """
        try:
            message = await self._ws.get_message()
        except ConnectionClosed as exc:
            raise _closed(exc) from None
        if isinstance(message, bytes):
            return message.decode("utf-8", errors="replace")
        return message

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the socket: send a close frame and wait (at most CLOSE_TIMEOUT) for the reply.

        Idempotent. Afterwards ``send``/``receive`` raise RealtimeClosed.
        """
        with trio.move_on_after(CLOSE_TIMEOUT):
            # On timeout trio-websocket's aclose still closes the stream in its `finally`.
            await self._ws.aclose(code, reason)

    @property
    def closed(self) -> RealtimeClosed | None:
        """The closure, once the socket is closed (from either side); else None."""
        reason = self._ws.closed
        return None if reason is None else RealtimeClosed(reason.code, reason.reason)


@attrs.frozen
class _Target:
    host: str  # for DNS and TLS server_hostname
    port: int
    host_header: str
    resource: str  # path and query, as sent in the request line
    secure: bool

    def describe(self) -> str:
        return f"{'wss' if self.secure else 'ws'}://{self.host_header}{self.resource}"


def _target(url: str, model: str) -> _Target:
    """Split ``url`` and add ``model`` to its query. Raises ValueError for a non-ws(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"realtime URL must be ws:// or wss://, not {parts.scheme!r}")
    host = parts.hostname
    if not host:
        raise ValueError("realtime URL has no host")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "model"]
    query.append(("model", model))
    host_header = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        host_header += f":{parts.port}"
    return _Target(host, port, host_header, f"{parts.path or '/'}?{urlencode(query)}", secure)


# Secret-looking tokens (OpenAI echoes a masked key in its 401 text) are cut from any server
# text we repeat.
_KEYLIKE = re.compile(r"\b(?:sk|ek|rk)-[A-Za-z0-9_\-.*]+")


def _redact(text: str, api_key: str) -> str:
    if api_key:
        text = text.replace(api_key, "[redacted]")
    return _KEYLIKE.sub("[redacted]", text)


_Stream: TypeAlias = trio.SocketStream | trio.SSLStream[trio.SocketStream]


async def _open_stream(target: _Target, ssl_context: ssl.SSLContext | None) -> _Stream:
    """Open TCP, and TLS for wss. Raises OSError or trio.BrokenResourceError; on any failure
    (cancellation included) nothing is left open."""
    tcp = await trio.open_tcp_stream(target.host, target.port)
    if not target.secure:
        return tcp
    context = ssl_context if ssl_context is not None else ssl.create_default_context()
    tls = trio.SSLStream(tcp, context, server_hostname=target.host)
    try:
        await tls.do_handshake()
    except BaseException:
        await trio.aclose_forcefully(tls)
        raise
    return tls


class _ReaderWatch:
    """Stands in for the nursery given to ``wrap_client_stream`` to learn when its reader task
    ends cleanly (the peer closed during the upgrade), which trio-websocket never reports: the
    handshake would just wait out the deadline."""

    def __init__(self, nursery: trio.Nursery, handshake_scope: trio.CancelScope) -> None:
        self._nursery = nursery
        self._handshake_scope = handshake_scope
        self.ended = False

    def start_soon(self, fn: Callable[[], Awaitable[object]], *args: Any) -> None:
        async def watched() -> None:
            await fn(*args)
            # An exception skips this and reaches the nursery, which cancels the handshake
            # itself. Cancelling an exited scope later is harmless.
            self.ended = True
            self._handshake_scope.cancel()

        self._nursery.start_soon(watched)


async def _handshake(
    nursery: trio.Nursery,
    stream: _Stream,
    target: _Target,
    headers: list[tuple[bytes, bytes]],
    deadline: float,
) -> WebSocketConnection:
    """Run the HTTP upgrade until ``deadline``. Raises RealtimeConnectError on timeout or an
    early close; a refusal surfaces from the reader task as ConnectionRejected."""
    with trio.move_on_at(deadline) as scope:
        watch = _ReaderWatch(nursery, scope)
        return await wrap_client_stream(
            cast("trio.Nursery", watch),
            stream,
            target.host_header,
            target.resource,
            extra_headers=headers,
            message_queue_size=MESSAGE_QUEUE_SIZE,
            max_message_size=MAX_EVENT_SIZE,
        )
    if watch.ended:
        raise RealtimeConnectError(f"{target.describe()} closed during the WebSocket upgrade")
    raise RealtimeConnectError(f"no WebSocket upgrade from {target.describe()} before the deadline")


async def _keepalive(
    ws: WebSocketConnection, stream: _Stream, where: str, interval: float, patience: float
) -> None:
    """Ping every ``interval`` seconds; without a pong within ``patience`` close the stream, so
    the reader (and any blocked sender) sees the connection as lost. Returns once closed."""
    while True:
        await trio.sleep(interval)
        with trio.move_on_after(patience) as waited:
            try:
                await ws.ping()
            except ConnectionClosed:
                return
        if waited.cancelled_caught:
            logger.warning("%s: no pong within %.1f s; the connection is lost", where, patience)
            await trio.aclose_forcefully(stream)
            return


def _raise_unwrapped(exc: BaseException) -> NoReturn:
    # Re-raise without making the group it came from its __context__: the group holds `exc`,
    # which would make a cycle and bury the real error under a group in tracebacks.
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
        del exc, context


def _translate(group: BaseExceptionGroup[BaseException], api_key: str) -> BaseException:
    """Pick the one exception a caller should see from our nursery's group."""
    rejected = [e for e in group.exceptions if isinstance(e, ConnectionRejected)]
    if rejected:
        status = rejected[0].status_code
        body = rejected[0].body or b""
        excerpt = _redact(body[:200].decode("utf-8", errors="replace"), api_key).strip()
        message = f"WebSocket upgrade refused with HTTP {status}"
        error = RealtimeConnectError(f"{message}: {excerpt}" if excerpt else message)
        error.status_code = status
        return error
    if len(group.exceptions) == 1:
        return group.exceptions[0]
    not_cancelled = [e for e in group.exceptions if not isinstance(e, trio.Cancelled)]
    if len(not_cancelled) == 1:
        return not_cancelled[0]
    if not not_cancelled:
        return group.exceptions[0]
    return group


@asynccontextmanager
async def open_realtime(
    url: str,
    *,
    model: str,
    api_key: str,
    connect_timeout: float,
    ssl_context: ssl.SSLContext | None = None,
    keepalive_interval: float | None = KEEPALIVE_INTERVAL,
    keepalive_timeout: float = KEEPALIVE_TIMEOUT,
) -> AsyncIterator[RealtimeConnection]:
    """Connect to ``url?model=<model>`` with ``Authorization: Bearer <api_key>``, yield the
    connection, and close it (politely, within CLOSE_TIMEOUT) on the way out.

    Waits at most ``connect_timeout`` seconds for TCP, TLS and the upgrade together. Raises
    RealtimeConnectError if that fails (``status_code`` set when the server refused the
    upgrade); ValueError for a URL that is not ws:// or wss://, or a key that is not printable
    ASCII. ``ssl_context`` replaces the default verifying context (for tests with their own CA).
    Once open, a ping every ``keepalive_interval`` seconds (None: none) unanswered within
    ``keepalive_timeout`` closes the socket: ``receive`` then raises RealtimeClosed (1006).
    """
    target = _target(url, model)
    if not (api_key.isascii() and api_key.isprintable()):
        # Checked here because an encoding error's repr would carry the whole key.
        raise ValueError("the API key must be printable ASCII")
    headers = [(b"Authorization", b"Bearer " + api_key.encode("ascii"))]
    deadline = trio.current_time() + connect_timeout
    where = target.describe()
    logger.debug("connecting to %s", where)

    with trio.move_on_at(deadline) as connect_scope:
        try:
            stream = await _open_stream(target, ssl_context)
        except (OSError, trio.BrokenResourceError) as exc:
            # OSError: refused, unreachable, DNS; BrokenResourceError: TLS (cause: SSLError).
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            raise RealtimeConnectError(f"cannot connect to {where}: {cause}") from exc
    if connect_scope.cancelled_caught:
        raise RealtimeConnectError(f"no connection to {where} within {connect_timeout} s")

    try:
        try:
            async with trio.open_nursery() as nursery:
                ws = await _handshake(nursery, stream, target, headers, deadline)
                logger.debug("connected to %s", where)
                if keepalive_interval is not None:
                    nursery.start_soon(
                        _keepalive, ws, stream, where, keepalive_interval, keepalive_timeout
                    )
                connection = RealtimeConnection(ws)
                try:
                    yield connection
                finally:
                    with trio.CancelScope(shield=True):
                        await connection.aclose()
                    # The reader ends once the stream is closed; this makes sure of it.
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            _raise_unwrapped(_translate(group, api_key))
    finally:
        await trio.aclose_forcefully(stream)
