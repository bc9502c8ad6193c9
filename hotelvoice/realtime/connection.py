"""The model socket: one WebSocket to the OpenAI Realtime API (GA), on wsproto over a raw socket.

There is no reader task and no channel: the task that calls ``receive`` (the call's pump) reads
the socket, feeds wsproto's frame parser and returns the next message; control frames (pings,
pongs, the server's close) are handled by whoever reads. Senders encode their frame
synchronously (masking key from a buffered random pool, TLS records from an ``ssl.SSLObject``)
and append it to one output buffer; the sender then tries a non-blocking ``send`` at once and
only waits when the kernel's buffer is full or another task is already waiting to flush. Frames
are appended whole and in call order, so senders in several tasks never interleave.

``open_realtime`` connects with ``trio.open_tcp_stream`` and takes the socket over; one deadline
covers TCP, TLS and the HTTP upgrade, and the socket is closed on every path. Errors come out
as plain exceptions, never exception groups: ``RealtimeConnectError`` before the socket is
open, ``RealtimeClosed`` after. The API key is sent in one header and appears in no log line
and no exception.

Checkpoints: ``send`` and ``receive`` are always cancel points (they raise Cancelled at entry
when their scope is cancelled). They are schedule points only when they wait (nothing to read,
the socket full) and at least once every ``_YIELD_EVERY`` calls that did not wait, so a task
looping over them cannot starve the others for long.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import socket
import ssl
import struct
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
import h11
import trio
from wsproto.frame_protocol import CloseReason, FrameProtocol, Opcode, ParseFailed
from wsproto.utilities import generate_accept_token

from hotelvoice.wire.realtime import MAX_EVENT_SIZE
from hotelvoice.wire.wsframes import whole_text_frames

__all__ = [
    "CLOSE_TIMEOUT",
    "IDLE_QUEUE",
    "IDLE_READ",
    "IDLE_READ_AGAIN",
    "KEEPALIVE_INTERVAL",
    "KEEPALIVE_TIMEOUT",
    "READ_SIZE",
    "RealtimeClosed",
    "RealtimeConnectError",
    "RealtimeConnection",
    "open_realtime",
]

logger = logging.getLogger(__name__)

# Bytes asked of the kernel per read. A burst of audio deltas (several KiB each) arrives in a
# few reads; what is not asked for stays in the kernel's buffer, so a slow reader stalls the
# TCP window instead of growing memory.
READ_SIZE = 65536
# Bound on the closing handshake when leaving open_realtime. It is shielded, so a hung-up call
# still sends its close frame; but the task that would read the peer's reply can be cancelled
# meanwhile (Quart cancels the media handler when Twilio hangs up), so the wait stays short:
# the close frame goes out at once, the reply is a courtesy.
CLOSE_TIMEOUT = 0.25
# A link that stops answering (a stalled or black-holed peer: no close, no reset) is found by
# WebSocket pings: one every KEEPALIVE_INTERVAL seconds, and no pong within KEEPALIVE_TIMEOUT
# closes the socket, which ``receive`` reports as a drop (code 1006).
KEEPALIVE_INTERVAL = 5.0
KEEPALIVE_TIMEOUT = 5.0
# Nobody reads the socket while the caller is not in ``receive`` (the bridge's pump nearly
# always is). The keepalive task looks at it this often then, so a server's close or ping left
# waiting is still answered.
IDLE_READ = 1.0
# ...and sooner again (IDLE_READ_AGAIN) while it finds input, until this many messages wait:
# then the socket is left unread, and TCP pushes back on the server.
IDLE_READ_AGAIN = 0.05
IDLE_QUEUE = 64
# send/receive calls that did not have to wait before one yields to the scheduler anyway.
_YIELD_EVERY = 16
# Masking keys are cut from this many random bytes at a time (1024 frames per getrandom).
_MASK_POOL_BYTES = 4096
# Body of a refused upgrade read for the error message (the excerpt shows 200 bytes).
_REFUSAL_BODY_LIMIT = 4096


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


# -- frames -----------------------------------------------------------------------------------


class _MaskKeys:
    """Masking keys (RFC 6455 5.3: fresh, unpredictable, per frame) cut 4 bytes at a time from
    a pool of ``os.urandom`` bytes, refilled when used up: one getrandom per 1024 frames instead
    of one per frame. wsproto draws ``os.urandom(4)`` inline in ``FrameProtocol._serialize_frame``
    with no hook, so client frames are encoded here (``_frame``) and wsproto only parses."""

    def __init__(self, size: int = _MASK_POOL_BYTES) -> None:
        self._size = size
        self._pool = b""
        self._at = 0

    def take(self) -> bytes:
        at = self._at
        if at >= len(self._pool):
            self._pool = os.urandom(self._size)
            at = 0
        self._at = at + 4
        return self._pool[at : at + 4]

    def forget(self) -> None:
        """Drop the pool (a forked child must not reuse its parent's keys)."""
        self._pool = b""
        self._at = 0


_mask_keys = _MaskKeys()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_mask_keys.forget)

_OP_TEXT = 0x1
_OP_CLOSE = 0x8
_OP_PING = 0x9
_OP_PONG = 0xA


def _frame(opcode: int, payload: bytes, key: bytes) -> bytes:
    """One final, masked client frame (RFC 6455 5.2) carrying ``payload``."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    if not n:
        return header + key
    # XOR with the key repeated, as one big-integer operation (C speed, no per-byte loop).
    stream = key * ((n >> 2) + 1)
    masked = int.from_bytes(payload, "little") ^ int.from_bytes(stream[:n], "little")
    return header + key + masked.to_bytes(n, "little")


def _close_payload(code: int | None, reason: str | None) -> bytes:
    if code is None or code == CloseReason.NO_STATUS_RCVD:
        return b""
    return struct.pack("!H", code) + (reason or "").encode("utf-8")[:120]


# -- the socket -------------------------------------------------------------------------------


class _Wire:
    """A connected non-blocking socket, with TLS done in memory when ``tls`` is set.

    ``encode``/``decode`` are synchronous (TLS records in and out); the async helpers are for
    the handshakes, before the connection exists.
    """

    def __init__(self, sock: socket.socket, tls: ssl.SSLObject | None = None) -> None:
        self.sock = sock
        self.tls = tls
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.closed = False

    @classmethod
    def over_tls(cls, sock: socket.socket, context: ssl.SSLContext, host: str) -> _Wire:
        wire = cls(sock)
        wire.tls = context.wrap_bio(wire._incoming, wire._outgoing, server_hostname=host)
        return wire

    def encode(self, data: bytes) -> bytes:
        """Bytes to put on the socket for ``data``."""
        if self.tls is None:
            return data
        self.tls.write(data)
        return self._outgoing.read()

    def tls_output(self) -> bytes:
        """TLS records produced by reading (post-handshake messages), to be sent."""
        return self._outgoing.read() if self.tls is not None and self._outgoing.pending else b""

    def decode(self, raw: bytes) -> tuple[bytes, bool]:
        """The plaintext in ``raw`` (b"" is end of file) and whether the peer has finished.
        Raises ssl.SSLError for a broken TLS stream."""
        if self.tls is None:
            return raw, not raw
        if raw:
            self._incoming.write(raw)
        else:
            self._incoming.write_eof()
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self.tls.read(READ_SIZE)
            except ssl.SSLWantReadError:
                return b"".join(chunks), False
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b"".join(chunks), True
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)

    async def send_all(self, data: bytes) -> None:
        """Write all of ``data`` (already encoded). Raises OSError."""
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(self.sock)
                continue
            view = view[sent:]

    async def receive_raw(self) -> bytes:
        """Wait for bytes from the socket; b"" at end of file. Raises OSError."""
        while True:
            try:
                return self.sock.recv(READ_SIZE)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(self.sock)

    async def tls_handshake(self) -> None:
        """Run the TLS handshake. Raises ssl.SSLError (a refused certificate, a peer that does
        not speak TLS) or OSError."""
        assert self.tls is not None
        while True:
            try:
                self.tls.do_handshake()
            except ssl.SSLWantReadError:
                await self.send_all(self._outgoing.read())
                raw = await self.receive_raw()
                if raw:
                    self._incoming.write(raw)
                else:
                    self._incoming.write_eof()
                continue
            await self.send_all(self._outgoing.read())
            return

    def close(self) -> None:
        """Close the socket now (no TLS close_notify: the WebSocket close frame says goodbye).
        Tasks waiting on it get trio.ClosedResourceError. Idempotent."""
        if not self.closed:
            self.closed = True
            trio.lowlevel.notify_closing(self.sock)
            self.sock.close()


# -- the connection ---------------------------------------------------------------------------


class RealtimeConnection:
    """An open Realtime socket: text frames in and out. Made by ``open_realtime``.

    Any number of tasks may send; one task at a time receives (a second one waits its turn).
    """

    def __init__(self, wire: _Wire, trailing: bytes = b"") -> None:
        self._wire = wire
        self._sock = wire.sock
        self._proto = FrameProtocol(client=True, extensions=[])
        self._messages: deque[str] = deque()
        self._parts: list[str | bytes] = []
        self._part_size = 0
        self._closed: RealtimeClosed | None = None
        self._close_sent: RealtimeClosed | None = None
        # Output: wire bytes appended whole by senders, drained from the head by whoever can.
        self._out = bytearray()
        self._queued = 0  # bytes ever appended to _out
        self._sent = 0  # bytes ever taken by the kernel
        self._flushing = False  # a task waits for the socket to be writable
        self._flush_lot = trio.lowlevel.ParkingLot()
        # Input: one task at a time reads the socket; others park until it has read something.
        self._reading = False
        self._read_lot = trio.lowlevel.ParkingLot()
        self._pong_awaited: bytes | None = None
        self._unyielded = 0
        if trailing:
            self._feed(trailing)

    # ---- public

    async def send(self, text: str) -> None:
        """Send one text frame (a client event's JSON). Returns once the kernel has taken it
        (at once unless the socket is full); frames from several tasks go out whole, in call
        order. If cancelled while waiting, the frame still goes out with the next write.

        Raises RealtimeClosed once the socket is closed (or closing).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._close_sent is not None or self._closed is not None:
            raise self._closure()
        self._queue(_frame(_OP_TEXT, text.encode("utf-8"), _mask_keys.take()))
        await self._flush()

    async def receive(self) -> str:
        """Wait for the next message and return its text. Reads the socket in this task.

        Messages sent before a close are still delivered; then RealtimeClosed is raised.
        Binary frames (the API sends none) are decoded as UTF-8 with replacement, so the
        parser reports them as malformed instead of this call failing. Cancelling it loses
        nothing: bytes are only taken from the kernel when they can be parsed at once.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        messages = self._messages
        while True:
            if messages:
                await self._maybe_yield()
                return messages.popleft()
            if self._closed is not None:
                raise self._closure()
            if self._reading:
                await self._read_lot.park()
                continue
            await self._read_once()

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the socket: send a close frame and wait (at most CLOSE_TIMEOUT) for the reply.

        Idempotent. Afterwards ``send``/``receive`` raise RealtimeClosed.
        """
        if self._wire.closed:
            return
        with trio.move_on_after(CLOSE_TIMEOUT):
            if self._close_sent is None and self._closed is None:
                self._close_sent = RealtimeClosed(code, reason)
                self._queue(_frame(_OP_CLOSE, _close_payload(code, reason), _mask_keys.take()))
                with suppress(RealtimeClosed):
                    await self._flush()
            while self._closed is None:  # the peer's close frame, or the end of the stream
                if self._reading:
                    await self._read_lot.park()
                else:
                    await self._read_once()
        if self._closed is None:
            self._closed = self._close_sent or RealtimeClosed(code, reason)
        self._shut()

    @property
    def closed(self) -> RealtimeClosed | None:
        """The closure, once the socket is closed (from either side); else None."""
        closed = self._closed
        return None if closed is None else RealtimeClosed(closed.code, closed.reason)

    # ---- checkpoints

    async def _maybe_yield(self) -> None:
        self._unyielded += 1
        if self._unyielded >= _YIELD_EVERY:
            self._unyielded = 0
            await trio.lowlevel.cancel_shielded_checkpoint()

    def _closure(self) -> RealtimeClosed:
        closed = self._closed or self._close_sent
        assert closed is not None
        return RealtimeClosed(closed.code, closed.reason)

    # ---- output

    def _queue(self, frame: bytes) -> None:
        data = self._wire.encode(frame)
        self._out += data
        self._queued += len(data)

    def _write_now(self) -> None:
        """Give the kernel as much of the output as it takes without blocking."""
        out = self._out
        if not out or self._wire.closed:
            return
        try:
            sent = self._sock.send(out)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(f"send failed: {exc}")
            return
        del out[:sent]
        self._sent += sent

    async def _flush(self) -> None:
        """Wait until everything queued so far is with the kernel. Raises RealtimeClosed."""
        target = self._queued
        self._write_now()
        if self._sent >= target:
            await self._maybe_yield()
            return
        while self._sent < target:
            if self._wire.closed:
                raise self._closure()
            if self._flushing:
                await self._flush_lot.park()
                continue
            self._flushing = True
            try:
                await trio.lowlevel.wait_writable(self._sock)
            except trio.ClosedResourceError:
                raise self._closure() from None
            finally:
                self._flushing = False
                self._flush_lot.unpark_all()
            self._unyielded = 0
            self._write_now()

    # ---- input

    async def _read_once(self) -> None:
        """Read what the socket has (waiting for it) and parse it. The caller checked that no
        other task is reading."""
        self._reading = True
        try:
            while not self._read_nowait():
                try:
                    await trio.lowlevel.wait_readable(self._sock)
                except trio.ClosedResourceError:
                    continue  # _read_nowait sees it
                self._unyielded = 0
        finally:
            self._reading = False
            if self._read_lot:
                self._read_lot.unpark_all()

    def _read_nowait(self) -> bool:
        """Take one read's worth from the socket, if it has any, and parse it. Returns False
        when the socket has nothing yet (would block)."""
        if self._wire.closed:
            if self._closed is None:
                self._closed = RealtimeClosed(1006, None)
            return True
        try:
            raw = self._sock.recv(READ_SIZE)
        except BlockingIOError:
            return False
        except OSError as exc:
            self._lost(f"receive failed: {exc}")
            return True
        try:
            data, eof = self._wire.decode(raw)
        except ssl.SSLError as exc:
            self._lost(f"TLS error: {exc}")
            return True
        if data:
            self._feed(data)
        tls_output = self._wire.tls_output()
        if tls_output:
            self._out += tls_output
            self._queued += len(tls_output)
            self._write_now()
        if eof:
            self._lost("end of stream")
        return True

    def _read_idle(self) -> bool:
        """With no task reading, take what has arrived (up to IDLE_QUEUE messages waiting):
        answers the server's pings and close while the caller is not in ``receive``. Returns
        whether anything was read."""
        got = False
        for _ in range(16):
            if self._reading or self._closed is not None or len(self._messages) >= IDLE_QUEUE:
                break
            if not self._read_nowait():
                break
            got = True
        return got

    def _feed(self, data: bytes) -> None:
        """Parse ``data``: messages to the queue, control frames answered."""
        proto = self._proto
        if self._closed is None and not self._parts and _holds_nothing(proto):
            # The common case, whole event frames, read without wsproto's parser; it gets
            # whatever is left from the first frame not taken whole (wire/wsframes.py).
            texts, used = whole_text_frames(data, MAX_EVENT_SIZE, masked=False)
            self._messages.extend(texts)
            if used == len(data):
                return
            data = data[used:]
        proto.receive_bytes(data)
        if self._closed is not None:
            return
        try:
            for frame in proto.received_frames():
                opcode = frame.opcode
                if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
                    payload = frame.payload
                    assert isinstance(payload, (str, bytes))
                    if frame.message_finished and not self._parts:
                        if len(payload) > MAX_EVENT_SIZE:
                            self._fail(CloseReason.MESSAGE_TOO_BIG, "message too big")
                            return
                        self._messages.append(_text(payload))
                        continue
                    self._parts.append(payload)
                    self._part_size += len(payload)
                    if self._part_size > MAX_EVENT_SIZE:
                        self._fail(CloseReason.MESSAGE_TOO_BIG, "message too big")
                        return
                    if frame.message_finished:
                        self._messages.append(_joined(self._parts))
                        self._parts = []
                        self._part_size = 0
                elif opcode is Opcode.PING:
                    if self._close_sent is None:
                        payload = frame.payload
                        assert isinstance(payload, bytes)
                        self._queue(_frame(_OP_PONG, payload, _mask_keys.take()))
                        self._write_now()
                elif opcode is Opcode.PONG:
                    if frame.payload == self._pong_awaited:
                        self._pong_awaited = None
                elif opcode is Opcode.CLOSE:
                    code, reason = frame.payload  # type: ignore[str-unpack]  # a tuple for CLOSE
                    self._remote_close(int(code), str(reason))
                    return
        except ParseFailed as exc:
            self._fail(exc.code, str(exc))

    def _remote_close(self, code: int, reason: str) -> None:
        if self._close_sent is None:  # answer it
            self._queue(_frame(_OP_CLOSE, _close_payload(code, None), _mask_keys.take()))
            self._write_now()
        self._closed = RealtimeClosed(code, reason or None)
        self._wire.close()

    def _fail(self, code: int, reason: str) -> None:
        """A protocol failure on the peer's side: close with ``code`` at once."""
        logger.warning("realtime socket: closing with %d: %s", code, reason)
        if self._close_sent is None:
            self._queue(_frame(_OP_CLOSE, _close_payload(code, reason), _mask_keys.take()))
            self._write_now()
        self._closed = RealtimeClosed(code, reason)
        self._wire.close()

    def _lost(self, why: str) -> None:
        """The stream is gone without a close frame: 1006."""
        if self._closed is None:
            logger.debug("realtime socket lost: %s", why)
            self._closed = RealtimeClosed(1006, None)
        self._wire.close()

    def _shut(self) -> None:
        if self._closed is None:
            self._closed = RealtimeClosed(1006, None)
        self._wire.close()
        self._read_lot.unpark_all()
        self._flush_lot.unpark_all()

    # ---- keepalive

    def _pong_pending(self) -> bool:
        return self._pong_awaited is not None

    async def _ping_and_wait(self, payload: bytes) -> bool:
        """Send a ping and wait for its pong, reading the socket here when no other task is.
        Returns False if the socket closed first. Raises nothing else."""
        if self._close_sent is not None or self._closed is not None:
            return False  # nothing may follow our close frame
        self._pong_awaited = payload
        self._queue(_frame(_OP_PING, payload, _mask_keys.take()))
        try:
            await self._flush()
        except RealtimeClosed:
            return False
        while self._pong_pending():
            if self.closed is not None:
                return False
            if self._reading:
                await self._read_lot.park()
            else:
                await self._read_once()
        return True


def _holds_nothing(proto: FrameProtocol) -> bool:
    """True when wsproto holds nothing of an earlier read (no partial frame or message), so
    the next bytes start a frame (wsproto 1.3 internals, as ``web/hypercorn_lean`` reads them;
    the link's tests compare both readers on bytes split at random)."""
    decoder = proto._frame_decoder
    return (
        decoder.header is None
        and not decoder.buffer.buffer
        and proto._message_decoder.opcode is None
    )


def _text(payload: str | bytes) -> str:
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="replace")
    return payload


def _joined(parts: list[str | bytes]) -> str:
    if isinstance(parts[0], str):
        return "".join(p for p in parts if isinstance(p, str))
    return b"".join(p for p in parts if isinstance(p, bytes)).decode("utf-8", errors="replace")


async def _keepalive(
    connection: RealtimeConnection, where: str, interval: float, patience: float
) -> None:
    """Ping every ``interval`` seconds; without a pong within ``patience`` close the socket, so
    the receiver (and any blocked sender) sees the connection as lost. Between pings, every
    IDLE_READ (or IDLE_READ_AGAIN) seconds, read what arrived while no task was in
    ``receive`` (so a server's close or ping is answered even then). Returns once closed."""
    count = 0
    next_ping = trio.current_time() + interval
    idle_wait = IDLE_READ
    while True:
        await trio.sleep_until(min(next_ping, trio.current_time() + idle_wait))
        idle_wait = IDLE_READ_AGAIN if connection._read_idle() else IDLE_READ
        if connection._closed is not None:
            return
        if trio.current_time() < next_ping:
            continue
        count += 1
        answered = False
        with trio.move_on_after(patience) as waited:
            answered = await connection._ping_and_wait(count.to_bytes(8, "big"))
        if waited.cancelled_caught:
            logger.warning("%s: no pong within %.1f s; the connection is lost", where, patience)
            connection._lost("no pong")
            connection._shut()
            return
        if not answered:
            return
        next_ping = trio.current_time() + interval


# -- connecting -------------------------------------------------------------------------------


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


async def _open_wire(target: _Target, ssl_context: ssl.SSLContext | None) -> _Wire:
    """Open TCP, and TLS for wss. Raises OSError or ssl.SSLError; on any failure
    (cancellation included) nothing is left open."""
    stream = await trio.open_tcp_stream(target.host, target.port)
    tsock = stream.socket  # TCP_NODELAY is already set
    sock = socket.socket(tsock.family, tsock.type, tsock.proto, fileno=tsock.detach())
    sock.setblocking(False)
    if not target.secure:
        return _Wire(sock)
    context = ssl_context if ssl_context is not None else ssl.create_default_context()
    wire = _Wire.over_tls(sock, context, target.host)
    try:
        await wire.tls_handshake()
    except BaseException:
        wire.close()
        raise
    return wire


class _Refused(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body


async def _upgrade(wire: _Wire, target: _Target, headers: list[tuple[bytes, bytes]]) -> bytes:
    """Send the HTTP upgrade and read the answer. Returns the bytes after the 101 response
    (the first frames). Raises _Refused, EOFError (closed during the upgrade), h11's
    ProtocolError or ValueError (not a valid WebSocket answer), OSError or ssl.SSLError."""
    nonce = base64.b64encode(os.urandom(16))
    http = h11.Connection(h11.CLIENT)
    request = h11.Request(
        method="GET",
        target=target.resource.encode("ascii"),
        headers=[
            (b"Host", target.host_header.encode("idna")),
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Key", nonce),
            (b"Sec-WebSocket-Version", b"13"),
            *headers,
        ],
    )
    await wire.send_all(wire.encode(http.send(request) or b""))
    refused: _Refused | None = None
    while True:
        event = http.next_event()
        if event is h11.NEED_DATA:
            data, eof = wire.decode(await wire.receive_raw())
            if eof:
                if refused is not None:
                    raise refused
                raise EOFError
            http.receive_data(data)
            continue
        if isinstance(event, h11.InformationalResponse):
            if event.status_code != 101:
                continue
            answer = {name.lower(): value for name, value in event.headers}
            if answer.get(b"upgrade", b"").lower() != b"websocket":
                raise ValueError("no 'Upgrade: websocket' in the answer")
            if answer.get(b"sec-websocket-accept") != generate_accept_token(nonce):
                raise ValueError("a wrong Sec-WebSocket-Accept in the answer")
            trailing: bytes = http.trailing_data[0]
            return trailing
        if isinstance(event, h11.Response):
            refused = _Refused(event.status_code, b"")
        elif isinstance(event, h11.Data) and refused is not None:
            refused.body += event.data
            if len(refused.body) >= _REFUSAL_BODY_LIMIT:
                raise refused
        elif refused is not None:  # EndOfMessage, ConnectionClosed, PAUSED
            raise refused
        else:
            raise ValueError(f"unexpected {type(event).__name__} in the answer")


def _raise_unwrapped(exc: BaseException) -> NoReturn:
    # Re-raise without making the group it came from its __context__: the group holds `exc`,
    # which would make a cycle and bury the real error under a group in tracebacks.
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
        del exc, context


def _pick(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a caller should see from our nursery's group."""
    if len(group.exceptions) == 1:
        return group.exceptions[0]
    not_cancelled = [e for e in group.exceptions if not isinstance(e, trio.Cancelled)]
    if len(not_cancelled) == 1:
        return not_cancelled[0]
    if not not_cancelled:
        return group.exceptions[0]
    return group


async def _connect(
    target: _Target,
    headers: list[tuple[bytes, bytes]],
    ssl_context: ssl.SSLContext | None,
    deadline: float,
    api_key: str,
    connect_timeout: float,
) -> RealtimeConnection:
    """TCP, TLS and the upgrade before ``deadline``. Raises RealtimeConnectError."""
    where = target.describe()
    with trio.move_on_at(deadline) as connect_scope:
        try:
            wire = await _open_wire(target, ssl_context)
        except (OSError, ssl.SSLError) as exc:
            # OSError: refused, unreachable, DNS; SSLError: certificate, not TLS.
            raise RealtimeConnectError(f"cannot connect to {where}: {exc}") from exc
    if connect_scope.cancelled_caught:
        raise RealtimeConnectError(f"no connection to {where} within {connect_timeout} s")

    upgraded = False
    try:
        with trio.move_on_at(deadline):
            trailing = await _upgrade(wire, target, headers)
            upgraded = True
        if not upgraded:
            raise RealtimeConnectError(f"no WebSocket upgrade from {where} before the deadline")
    except _Refused as refused:
        excerpt = _redact(refused.body[:200].decode("utf-8", errors="replace"), api_key).strip()
        message = f"WebSocket upgrade refused with HTTP {refused.status}"
        raise RealtimeConnectError(
            f"{message}: {excerpt}" if excerpt else message, status_code=refused.status
        ) from None
    except EOFError:
        raise RealtimeConnectError(f"{where} closed during the WebSocket upgrade") from None
    except (h11.ProtocolError, ValueError) as exc:
        raise RealtimeConnectError(f"bad WebSocket upgrade answer from {where}: {exc}") from None
    except (OSError, ssl.SSLError) as exc:
        raise RealtimeConnectError(f"{where} failed during the WebSocket upgrade: {exc}") from exc
    finally:
        if not upgraded:
            wire.close()
    connection = RealtimeConnection(wire, trailing)
    # Trio's convention for a completed operation: one schedule point, so tasks woken by the
    # same events (the server accepting us) run before our first send.
    await trio.lowlevel.cancel_shielded_checkpoint()
    return connection


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
    connection = await _connect(target, headers, ssl_context, deadline, api_key, connect_timeout)
    logger.debug("connected to %s", where)
    try:
        try:
            async with trio.open_nursery() as nursery:
                if keepalive_interval is not None:
                    nursery.start_soon(
                        _keepalive, connection, where, keepalive_interval, keepalive_timeout
                    )
                try:
                    yield connection
                finally:
                    with trio.CancelScope(shield=True):
                        await connection.aclose()
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            _raise_unwrapped(_pick(group))
    finally:
        connection._shut()
