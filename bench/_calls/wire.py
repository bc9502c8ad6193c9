"""What the harness processes share: a lean WebSocket codec, the I/O pump, audio tags, the clock.

Why not trio-websocket, nor a trio task per call, in the harness (measured at 50 calls, where the
bridge's own core is nearly full): a first version with a task per call over trio ``SocketStream``
spent ~46 % of the harness core, and its send lag crossed the 5 ms limit; every ``send_all`` and
every wake-up is a trip through trio's scheduler plus an ``epoll_ctl``. One trio task serving all
sockets through a private epoll still cost ~41 %. With that epoll in a dedicated thread (``Pump``)
it is ~25 % at 50 calls and ~50 % at 200, with a send lag p99 of ~1 ms (the epoll timeout
granularity). Trio still runs the setup (httpx webhook, the WebSocket upgrade) and hands each
socket over. The WebSocket framing is sans-IO (``WsCodec``) and speaks the subset of RFC 6455 the
bridge uses: (possibly fragmented) text/binary messages, ping/pong, close, no extensions. It is
a benchmark tool, not a general WebSocket implementation.

Audio tags: every 160-byte frame starts with 18 bytes ``magic(2) call(u32) index(u32) sent_ns(u64)``
(little-endian), so its first 24 base64 characters decode alone (18 is a multiple of 3) and the
rest of the frame is a constant filler encoded once.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import heapq
import itertools
import os
import select
import struct
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol

import trio

FRAME_BYTES = 160  # 20 ms of μ-law at 8 kHz
FRAME_S = 0.020
BYTES_PER_MS = 8
TAG = struct.Struct("<2sIIQ")  # magic, call index, frame/delta index, send time (monotonic ns)
TAG_B64_CHARS = 24  # base64 of the 18-byte tag
FRAME_B64_CHARS = 216  # base64 of 160 bytes
CALLER_MAGIC = b"TW"  # caller audio (load generator -> bridge -> model)
MODEL_MAGIC = b"MD"  # model audio (model -> bridge -> Twilio)
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

mono_ns = time.monotonic_ns  # CLOCK_MONOTONIC: one clock for every process on the machine


def filler_b64(magic: bytes) -> str:
    """Base64 of the 142 bytes after the tag (a fixed μ-law-looking pattern per direction)."""
    seed = 0x7F if magic == CALLER_MAGIC else 0xFF
    rest = bytes((seed - (i % 16)) & 0xFF for i in range(FRAME_BYTES - TAG.size))
    return base64.b64encode(rest).decode("ascii")


def tagged_payload(magic: bytes, call: int, index: int, sent_ns: int, filler: str) -> str:
    """The base64 payload of one tagged 160-byte frame."""
    return base64.b64encode(TAG.pack(magic, call, index, sent_ns)).decode("ascii") + filler


def read_tag(b64: bytes | str) -> tuple[bytes, int, int, int]:
    """Decode the tag from the first 24 base64 characters of a frame (ValueError if malformed)."""
    try:
        raw = binascii.a2b_base64(b64[:TAG_B64_CHARS])
    except binascii.Error as exc:
        raise ValueError(f"bad base64: {exc}") from None
    if len(raw) != TAG.size:
        raise ValueError("short frame")
    magic, call, index, sent_ns = TAG.unpack(raw)
    return magic, call, index, sent_ns


def read_tags(b64: bytes) -> list[tuple[bytes, int, int, int]]:
    """Tags of every 160-byte frame in a payload (the bridge may coalesce frames)."""
    if len(b64) == FRAME_B64_CHARS:
        return [read_tag(b64)]
    raw = binascii.a2b_base64(b64)
    return [TAG.unpack_from(raw, at) for at in range(0, len(raw) - TAG.size + 1, FRAME_BYTES)]


class TrioClock:
    """Converts CLOCK_MONOTONIC seconds (shared by all processes) to this process's trio clock.

    trio's clock is ``perf_counter()`` (CLOCK_MONOTONIC on Linux) plus a random offset.
    """

    def __init__(self) -> None:
        best = None
        for _ in range(5):
            before = time.monotonic()
            now = trio.current_time()
            after = time.monotonic()
            if best is None or after - before < best[0]:
                best = (after - before, now - (before + after) / 2)
        assert best is not None
        self.offset = best[1]

    def at(self, monotonic_s: float) -> float:
        return monotonic_s + self.offset


# --------------------------------------------------------------------------------- WebSocket


class WsClosed(Exception):
    """The WebSocket upgrade failed or the peer closed the stream during it."""


def accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key.strip() + _WS_GUID).digest())


def _unmask(data: bytes, key: bytes) -> bytes:
    n = len(data)
    if not n:
        return data
    mask = int.from_bytes((key * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ mask).to_bytes(n, "little")


def encode_frame(payload: bytes, *, opcode: int = 1, masked: bool) -> bytes:
    """One final frame. Client frames use the all-zero masking key (XOR is the identity):
    legal on the wire, and free; the server's unmasking cost is the same for any key."""
    n = len(payload)
    b0 = 0x80 | opcode
    bit = 0x80 if masked else 0
    if n < 126:
        head = bytes((b0, bit | n))
    elif n < 65536:
        head = struct.pack("!BBH", b0, bit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, bit | 127, n)
    return head + b"\0\0\0\0" + payload if masked else head + payload


def close_frame(code: int = 1000, *, masked: bool) -> bytes:
    return encode_frame(struct.pack("!H", code), opcode=8, masked=masked)


class WsCodec:
    """Sans-IO WebSocket framing for one connection; ``client`` decides the masking direction.

    ``feed`` takes received bytes and returns the messages they complete; replies it owes the
    peer (pong, the close answer) collect in ``pending_control`` for the owner to send.
    """

    def __init__(self, *, client: bool, leftover: bytes = b"") -> None:
        self.client = client
        self._buf = bytearray(leftover)
        self._fragments: list[bytes] = []
        self.close_received = False
        self.close_sent = False
        self.pending_control: list[bytes] = []

    def frame(self, text: str | bytes, opcode: int = 1) -> bytes:
        data = text.encode() if isinstance(text, str) else text
        return encode_frame(data, opcode=opcode, masked=self.client)

    def frames(self, texts: Iterable[str]) -> bytes:
        masked = self.client
        return b"".join(encode_frame(t.encode(), masked=masked) for t in texts)

    def close(self, code: int = 1000) -> bytes:
        """The close frame to send (empty if one was sent already)."""
        if self.close_sent:
            return b""
        self.close_sent = True
        return close_frame(code, masked=self.client)

    def take_control(self) -> bytes:
        data = b"".join(self.pending_control)
        self.pending_control.clear()
        return data

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        if buf:
            buf += data
        else:
            buf = self._buf = bytearray(data)
        size = len(buf)
        pos = 0
        out: list[bytes] = []
        while size - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            n = b1 & 0x7F
            at = pos + 2
            if n == 126:
                if size - at < 2:
                    break
                n = (buf[at] << 8) | buf[at + 1]
                at += 2
            elif n == 127:
                if size - at < 8:
                    break
                n = int.from_bytes(buf[at : at + 8], "big")
                at += 8
            key = None
            if b1 & 0x80:
                if size - at < 4:
                    break
                key = bytes(buf[at : at + 4])
                at += 4
            if size - at < n:
                break
            payload = bytes(buf[at : at + n])
            pos = at + n
            if key is not None and key != b"\0\0\0\0":
                payload = _unmask(payload, key)
            opcode = b0 & 0x0F
            if opcode in (1, 2):
                if b0 & 0x80:
                    out.append(payload)
                else:
                    self._fragments = [payload]
            elif opcode == 0:
                self._fragments.append(payload)
                if b0 & 0x80:
                    out.append(b"".join(self._fragments))
                    self._fragments = []
            elif opcode == 9:
                self.pending_control.append(encode_frame(payload, opcode=10, masked=self.client))
            elif opcode == 8:
                self.close_received = True
                if not self.close_sent:
                    self.pending_control.append(self.close())
                pos = size  # nothing after a close frame counts
                break
        del buf[:pos]
        return out


# ----------------------------------------------------------------------------- the pump


class PumpConnection(Protocol):
    fd: int
    codec: WsCodec
    out: bytearray

    def on_messages(self, messages: list[bytes], now_ns: int) -> None: ...

    def on_closed(self) -> None: ...


class Pump:
    """All the media traffic of one process, in one dedicated thread.

    The connected sockets sit in a private level-triggered epoll and a heap of timers replaces a
    sleeping task per call; reads and writes are plain non-blocking syscalls on the sockets' fds
    (a write the kernel does not take whole waits in ``out`` for EPOLLOUT). The thread blocks in
    ``epoll.poll`` itself, so a wake-up costs one syscall instead of a pass through trio's
    scheduler (which, at thousands of wake-ups per second, was most of the harness's CPU).

    Setup (HTTP, the WebSocket upgrade) stays in trio tasks, which hand work over with
    ``submit`` (thread-safe); everything else here runs in the pump thread only. Results go back
    through ``notify`` (trio's ``run_sync_soon``).
    """

    def __init__(self, clock: TrioClock) -> None:
        self.clock = clock
        self._epoll = select.epoll()
        self._conns: dict[int, PumpConnection] = {}
        self._timers: list[tuple[int, int, Callable[[int], None]]] = []
        self._order = itertools.count()
        self._commands: deque[Callable[[], None]] = deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._running = True
        self._closed = False
        self._token = trio.lowlevel.current_trio_token()
        self.finished = trio.Event()
        self.wakeups = 0

    # -- any thread

    def submit(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` in the pump thread, soon (dropped once the pump has stopped)."""
        if self._closed:
            return
        self._commands.append(fn)
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"!")

    def notify(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` in the trio thread, soon (from the pump thread)."""
        self._token.run_sync_soon(fn)

    async def run(self) -> None:
        """Run the pump thread until ``stop`` (not before: cancelling this waits for it)."""
        try:
            await trio.to_thread.run_sync(self._loop)
        finally:
            self.finished.set()

    def stop(self) -> None:
        """Ask the pump thread to stop; ``finished`` is set once it has."""
        self.submit(self._stop)

    # -- pump thread only

    def _stop(self) -> None:
        self._running = False

    def add(self, conn: PumpConnection) -> None:
        self._conns[conn.fd] = conn
        self._epoll.register(conn.fd, select.EPOLLIN)

    def remove(self, conn: PumpConnection) -> None:
        if self._conns.pop(conn.fd, None) is not None:
            with contextlib.suppress(OSError):
                self._epoll.unregister(conn.fd)

    def call_at(self, due_ns: int, fn: Callable[[int], None]) -> None:
        """Run ``fn(due_ns)`` once CLOCK_MONOTONIC reaches ``due_ns``."""
        heapq.heappush(self._timers, (due_ns, next(self._order), fn))

    def send(self, conn: PumpConnection, data: bytes) -> None:
        if conn.codec.pending_control:
            data = conn.codec.take_control() + data
        if conn.fd not in self._conns or not data:
            return
        if conn.out:
            conn.out += data
            return
        try:
            sent = os.write(conn.fd, data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(conn)
            return
        if sent < len(data):
            conn.out += data[sent:]
            self._epoll.modify(conn.fd, select.EPOLLIN | select.EPOLLOUT)

    def _flush(self, conn: PumpConnection) -> None:
        try:
            sent = os.write(conn.fd, conn.out)
        except BlockingIOError:
            return
        except OSError:
            self._drop(conn)
            return
        del conn.out[:sent]
        if not conn.out:
            self._epoll.modify(conn.fd, select.EPOLLIN)

    def _drop(self, conn: PumpConnection) -> None:
        self.remove(conn)
        conn.on_closed()

    def _loop(self) -> None:
        timers = self._timers
        poll = self._epoll.poll
        conns = self._conns
        commands = self._commands
        wake_r = self._wake_r
        read = os.read
        readable = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR
        while self._running:
            now = mono_ns()
            while timers and timers[0][0] <= now:
                due, _, fn = heapq.heappop(timers)
                fn(due)
            # epoll rounds the timeout up to whole milliseconds: a timer fires at most ~1 ms late.
            timeout = max(0.0, (timers[0][0] - mono_ns()) / 1e9) if timers else 0.5
            events = poll(timeout)
            self.wakeups += 1
            for fd, mask in events:
                if fd == wake_r:
                    with contextlib.suppress(BlockingIOError):
                        read(wake_r, 4096)
                    while commands:
                        commands.popleft()()
                    continue
                conn = conns.get(fd)
                if conn is None:
                    continue
                if mask & select.EPOLLOUT:
                    self._flush(conn)
                if mask & readable:
                    try:
                        data = read(fd, 262144)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self._drop(conn)
                        continue
                    received = mono_ns()
                    messages = conn.codec.feed(data)
                    if messages:
                        conn.on_messages(messages, received)
                    if conn.codec.pending_control:
                        self.send(conn, b"")
                    if conn.codec.close_received and fd in conns:
                        self._drop(conn)
        self._closed = True
        for conn in list(conns.values()):
            self.remove(conn)
        self._epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


def _header_end(buf: bytearray) -> int:
    end = buf.find(b"\r\n\r\n")
    if end < 0 and len(buf) > 65536:
        raise WsClosed("HTTP head too long")
    return end


async def _read_head(stream: trio.SocketStream) -> tuple[bytes, bytes]:
    buf = bytearray()
    while (end := _header_end(buf)) < 0:
        data = await stream.receive_some(65536)
        if not data:
            raise WsClosed("EOF during the upgrade")
        buf += data
    return bytes(buf[:end]), bytes(buf[end + 4 :])


async def client_handshake(
    stream: trio.SocketStream, host: str, resource: str, headers: dict[str, str]
) -> WsCodec:
    """HTTP/1.1 upgrade as a client; raises WsClosed unless the server answers 101."""
    key = base64.b64encode(os.urandom(16))
    lines = [
        f"GET {resource} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key.decode()}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    head, rest = await _read_head(stream)
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status + b" ":
        raise WsClosed(f"upgrade refused: {status.decode('latin-1', 'replace')}")
    return WsCodec(client=True, leftover=rest)


async def server_handshake(stream: trio.SocketStream) -> tuple[WsCodec, str, dict[str, str]]:
    """Answer an HTTP/1.1 upgrade with 101 (no extensions, no subprotocol).

    Returns the socket, the request target and the request headers (names lower-cased).
    """
    head, rest = await _read_head(stream)
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    parts = request_line.split(" ")
    target = parts[1] if len(parts) > 1 else "/"
    key = headers.get("sec-websocket-key", "").encode("latin-1")
    answer = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept_key(key) + b"\r\n\r\n"
    )
    await stream.send_all(answer)
    return WsCodec(client=False, leftover=rest), target, headers


async def read_command_line() -> list[str]:
    """Wait for one line on standard input (the driver's command); [] at end of input."""
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    line = b""
    async with stdin:
        while b"\n" not in line:
            data = await stdin.receive_some(4096)
            if not data:
                break
            line += data
    return line.decode().split()
