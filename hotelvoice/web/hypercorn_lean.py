"""Leaner per-message paths through Hypercorn 0.18's trio worker, for the media sockets.

Every Twilio media message (50 a second each way per call) goes socket → ``TCPServer._read_data``
→ h11/``WSStream`` → wsproto → a memory channel → the app, and back app → ``WSStream.app_send``
→ wsproto → ``TCPServer.protocol_send`` → socket. Hypercorn pays, per message, costs that only
its general case needs; these patches skip them where the general case cannot arise, and fall
back to Hypercorn's own code everywhere else:

* ``TCPServer._read_data``: a cancel scope (``trio.fail_after(read_timeout or inf)``) around every
  read, though no read timeout is configured (``Config.read_timeout`` is None, ours too). Without
  one the loop reads with no scope; with one, Hypercorn's loop runs unchanged.
* ``TCPServer.protocol_send``: the send lock was taken with ``async with`` (a checkpoint: one
  more trip through Trio's scheduler per message) before the socket's own send (another). When
  the lock is free it is now taken without waiting; when it is held, Hypercorn's path waits for
  it as before. A task already cancelled still gets ``Cancelled`` before anything is sent, the
  send itself is still shielded (no half-sent frame), and a send racing Hypercorn's own close
  ends the connection, not the server (see ``hypercorn_fix``).
* ``TaskGroup.spawn_app``: the app's queue (``Config.max_app_queue_size``, 10 messages) was fed
  with ``MemorySendChannel.send``, a checkpoint per message in the connection's reader. It is now
  fed without waiting while there is room; when the app falls behind and the queue is full, the
  reader waits for room as before (backpressure: it stops reading the socket).
* ``WSStream.app_send``: a text message was turned into a frame through wsproto's general
  ``Connection.send`` (an event object, extension hooks, four copies of the payload) and
  Hypercorn's event objects. A complete text message on an open connection with no extension
  negotiated (Twilio offers none) is framed here directly: a server's frame is two to ten header
  bytes and the UTF-8 payload, unmasked (RFC 6455 §5.2), byte for byte what wsproto writes (the
  tests compare them). Anything else (bytes, a close, a message sent while wsproto is inside
  a fragmented one, compression) goes through Hypercorn and wsproto unchanged.
* ``H11Protocol.handle``: bytes read on an upgraded connection went through h11's layer
  (a buffer, an event, a loop of isinstance checks) to reach the WebSocket stream; with nothing
  buffered there they are handed to it directly, as that loop would.
* ``WSStream.handle``: wsproto parses every frame in pure Python (a header object, a masker, an
  incremental UTF-8 decoder, a generator, an event). When it holds nothing of an earlier read,
  the whole, masked, unfragmented text frames at the start of the bytes (every Twilio message)
  are unmasked and decoded here (``client_text_frames``) and handed to the app; the first frame
  it does not take whole (incomplete, not text, fragmented, RSV bits, unmasked, a length not in
  its shortest form, not UTF-8, over the size limit) and all after it go to wsproto, which then
  refuses what it must, as before. wsproto's state is the same either way (a whole frame
  leaves none behind).
* ``H11Protocol.stream_send``: a WebSocket frame's bytes are checked for first (Hypercorn's chain
  of isinstance checks has four other kinds of event before them); the rest as Hypercorn does.
* ``WSStream._handle_events``: each complete text message was copied through a ``StringIO``
  buffer into a new dict; a message that arrives whole (every Twilio message) is handed on
  directly, with the same dict Hypercorn builds. Fragmented messages use Hypercorn's buffer, and
  a message larger than ``websocket_max_message_size`` still closes the socket with 1009.

``install`` applies them once per process, only on the versions they were written against
(Hypercorn 0.18.0 and wsproto 1.3): on any other, it logs a warning and leaves Hypercorn as it is.
``run_server`` installs it, and so do the tests' servers (tests/e2e/conftest.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Any

import trio
from hypercorn.events import Closed, Event, RawData
from hypercorn.protocol.events import Data, StreamClosed
from hypercorn.protocol.h11 import STREAM_ID, H11Protocol, H11WSConnection
from hypercorn.protocol.ws_stream import ASGIWebsocketState, FrameTooLargeError, WSStream
from hypercorn.trio.task_group import TaskGroup, _handle
from hypercorn.trio.tcp_server import MAX_RECV, TCPServer
from wsproto.connection import Connection, ConnectionState
from wsproto.events import CloseConnection, Message, Ping, TextMessage
from wsproto.frame_protocol import CloseReason

from hotelvoice.wire.wsframes import server_text_frame, whole_text_frames

__all__ = [
    "client_text_frames",
    "install",
    "installed",
    "server_text_frame",
    "supported",
    "uninstall",
]

log = logging.getLogger(__name__)

# Hypercorn's own methods, while the patches are installed: (class, name) → function.
_ORIGINALS: dict[tuple[type, str], Any] = {}
_VERSIONS = {"hypercorn": ("0.18.0",), "wsproto": ("1.3.",)}


def client_text_frames(data: bytes, max_length: int) -> tuple[list[str], int]:
    """The whole, masked, unfragmented text frames (a client's) at the start of ``data``, their
    text, and how many bytes they take (``wire.wsframes.whole_text_frames``)."""
    return whole_text_frames(data, max_length, masked=True)


def _parses_directly(stream: Any) -> bool:
    """True when wsproto holds nothing of an earlier read (no partial frame or message, no
    event) and would parse a whole text frame as ``client_text_frames`` does."""
    connection: Connection = stream.connection
    proto = connection._proto  # wsproto 1.3 internals, checked in tests
    decoder = proto._frame_decoder
    return (
        connection._state is ConnectionState.OPEN
        and not connection._events
        and not proto.client
        and not proto.extensions
        and decoder.header is None
        and not decoder.buffer.buffer
        and proto._message_decoder.opcode is None
        and stream.buffer.value is None
    )


def _frames_text_directly(connection: Connection) -> bool:
    """True when wsproto would write a complete text message as ``server_text_frame`` does:
    a server's open connection, no extension in use, no fragmented message under way."""
    proto = connection._proto  # wsproto 1.3 internals, checked in tests
    return (
        connection.state is ConnectionState.OPEN
        and not proto.client
        and not proto.extensions
        and proto._outbound_opcode is None
    )


def supported() -> bool:
    """True when the installed Hypercorn and wsproto are the versions these patches copy."""
    return all(version(package).startswith(prefixes) for package, prefixes in _VERSIONS.items())


def installed() -> bool:
    """True while the patches are in place."""
    return bool(_ORIGINALS)


def uninstall() -> None:
    """Put Hypercorn's own methods back (the tests run each scenario both ways)."""
    for (cls, name), function in _ORIGINALS.items():
        setattr(cls, name, function)
    _ORIGINALS.clear()


def install() -> None:
    """Patch Hypercorn's per-message paths (once per process; a no-op on other versions)."""
    if _ORIGINALS:
        return
    if not supported():
        log.warning(
            "hypercorn_lean: Hypercorn %s / wsproto %s are not the versions it was written "
            "for; Hypercorn is left unpatched",
            version("hypercorn"),
            version("wsproto"),
        )
        return

    original_read: Callable[[Any], Awaitable[None]] = TCPServer._read_data
    original_send: Callable[[Any, Event], Awaitable[None]] = TCPServer.protocol_send
    original_app_send: Callable[[Any, Any], Awaitable[None]] = WSStream.app_send

    async def _read_data(self: Any) -> None:
        """Read until EOF or a broken socket, passing each chunk to the protocol."""
        if self.config.read_timeout:
            await original_read(self)
            return
        receive_some = self.stream.receive_some
        handle = self.protocol.handle
        while True:
            try:
                data = await receive_some(MAX_RECV)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                break
            await handle(RawData(bytes(data)))
            if data == b"":
                break
        await handle(Closed())

    async def protocol_send(self: Any, event: Event) -> None:
        """Send raw bytes at once when nobody else is sending, else as Hypercorn does."""
        if type(event) is not RawData:
            await original_send(self, event)
            return
        lock: trio.Lock = self.send_lock
        try:
            lock.acquire_nowait()
        except trio.WouldBlock:
            await original_send(self, event)  # waits for the lock (hypercorn_fix's race too)
            return
        try:
            await trio.lowlevel.checkpoint_if_cancelled()  # as `async with lock` would
            try:
                with trio.CancelScope(shield=True):
                    await self.stream.send_all(event.data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, trio.BusyResourceError):
                # Busy: Hypercorn's _close() is shutting the socket in another task.
                await self.protocol.handle(Closed())
        finally:
            lock.release()

    async def spawn_app(self: Any, app: Any, config: Any, scope: Any, send: Any) -> Any:
        """Start the app; return how to queue a message for it (waits only when full)."""
        sender, receiver = trio.open_memory_channel[Any](config.max_app_queue_size)
        self._nursery.start_soon(
            _handle,
            app,
            config,
            scope,
            receiver.receive,
            send,
            trio.to_thread.run_sync,
            trio.from_thread.run,
        )
        send_nowait = sender.send_nowait

        async def put(message: Any) -> None:
            await trio.lowlevel.checkpoint_if_cancelled()  # as MemorySendChannel.send would
            try:
                send_nowait(message)
            except trio.WouldBlock:
                await sender.send(message)  # the app is behind: wait for room

        return put

    async def app_send(self: Any, message: Any) -> None:
        """A complete text message framed directly when wsproto would frame it the same."""
        if (
            message is not None
            and message["type"] == "websocket.send"
            and self.state is ASGIWebsocketState.CONNECTED
            and not self.closed
            and message.get("bytes") is None
            and type(message.get("text")) is str
            and _frames_text_directly(self.connection)
        ):
            frame = server_text_frame(message["text"].encode("utf-8"))
            await self.send(Data(stream_id=self.stream_id, data=frame))
            return
        await original_app_send(self, message)

    original_stream_send: Callable[[Any, Any], Awaitable[None]] = H11Protocol.stream_send

    async def stream_send(self: Any, event: Any) -> None:
        """WebSocket bytes first (Hypercorn checks four other kinds before them)."""
        if type(event) is Data:
            await self.send(RawData(data=event.data))
            return
        await original_stream_send(self, event)

    original_ws_handle: Callable[[Any, Any], Awaitable[None]] = WSStream.handle
    original_h11_handle: Callable[[Any, Event], Awaitable[None]] = H11Protocol.handle

    async def h11_handle(self: Any, event: Event) -> None:
        """Bytes on an upgraded connection go straight to its WebSocket stream."""
        connection = self.connection
        if (
            type(event) is RawData
            and type(connection) is H11WSConnection
            and not connection.buffer
            and event.data
            and self.stream is not None
        ):
            await self.stream.handle(Data(stream_id=STREAM_ID, data=event.data))
            return
        await original_h11_handle(self, event)

    async def ws_handle(self: Any, event: Any) -> None:
        """Whole text frames at the start of the bytes go to the app without wsproto's
        parser when it holds nothing of an earlier read; the rest through Hypercorn."""
        if (
            type(event) is Data
            and not self.closed
            and self.state is ASGIWebsocketState.CONNECTED
            and _parses_directly(self)
        ):
            data = event.data
            texts, used = client_text_frames(data, self.buffer.max_length)
            for text in texts:
                await self.app_put({"type": "websocket.receive", "bytes": None, "text": text})
            if used == len(data):
                return
            if used:
                event = Data(stream_id=event.stream_id, data=data[used:])
        await original_ws_handle(self, event)

    async def _handle_events(self: Any) -> None:
        """Hand each message the peer completed to the app (Hypercorn 0.18's loop, with whole
        text messages passed on without the buffer)."""
        buffer = self.buffer
        for event in self.connection.events():
            if isinstance(event, Message):
                if (
                    type(event) is TextMessage
                    and event.message_finished
                    and buffer.value is None
                    and len(event.data) <= buffer.max_length
                ):
                    await self.app_put(
                        {"type": "websocket.receive", "bytes": None, "text": event.data}
                    )
                    continue
                try:
                    buffer.extend(event)
                except FrameTooLargeError:
                    await self._send_wsproto_event(
                        CloseConnection(code=CloseReason.MESSAGE_TOO_BIG)
                    )
                    break
                if event.message_finished:
                    await self.app_put(buffer.to_message())
                    buffer.clear()
            elif isinstance(event, Ping):
                await self._send_wsproto_event(event.response())
            elif isinstance(event, CloseConnection):
                if self.connection.state == ConnectionState.REMOTE_CLOSING:
                    await self._send_wsproto_event(event.response())
                await self.send(StreamClosed(stream_id=self.stream_id))

    patches: dict[tuple[type, str], Any] = {
        (TCPServer, "_read_data"): _read_data,
        (TCPServer, "protocol_send"): protocol_send,
        (TaskGroup, "spawn_app"): spawn_app,
        (WSStream, "app_send"): app_send,
        (WSStream, "_handle_events"): _handle_events,
        (WSStream, "handle"): ws_handle,
        (H11Protocol, "handle"): h11_handle,
        (H11Protocol, "stream_send"): stream_send,
    }
    for (cls, name), function in patches.items():
        _ORIGINALS[cls, name] = getattr(cls, name)
        setattr(cls, name, function)
