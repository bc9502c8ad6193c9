"""A loopback TCP fault proxy: put it between a client and a server to break the link on demand.

Start it in a nursery towards any TCP target (a fake Realtime server, a fake Stripe, ...), point
the code under test at ``proxy.port`` instead of the target's, and switch its mode at any time::

    proxy = await start_fault_proxy(nursery, "127.0.0.1", target_port)
    ...                                  # the client connects to 127.0.0.1:proxy.port
    proxy.reset_all()                    # RST every open connection (both sides), keep the mode
    proxy.set_mode(Mode.STALL)           # accept and read, forward nothing
    proxy.set_mode(Mode.PASS)            # back to normal

Modes (a new mode applies to new connections and to open ones, at their next chunk of data):

* ``PASS``: forward both ways.
* ``RESET``: reset (RST, not FIN) each connection as it is accepted; open ones at their next
  chunk.
* ``STALL``: accept (and connect to the target), read from both sides, forward nothing: what
  was read is dropped and counted in ``stalled_bytes``. A peer sees an open, silent socket.
* ``BLACKHOLE``: accept and never read or answer (no connection to the target); open
  connections stop being read. The peer's writes fill the socket buffers.
* ``DROP_AFTER``: forward until the connection has carried ``after_bytes`` (both directions,
  counted from its start), then reset it.

Everything runs on 127.0.0.1 in the test's nursery, under any clock (the autojump clock
included): the proxy itself never sleeps. ``accepted_at`` (``trio.current_time()`` of each
accepted connection) lets a test check a client's reconnect timing.
"""

from __future__ import annotations

import contextlib
import enum
import socket
import struct
from functools import partial

import attrs
import trio

__all__ = ["FaultProxy", "Mode", "start_fault_proxy"]

_CHUNK = 65536


class Mode(enum.Enum):
    PASS = "pass"
    RESET = "reset"
    STALL = "stall"
    BLACKHOLE = "blackhole"
    DROP_AFTER = "drop_after"


def _linger_zero(stream: trio.abc.Stream | None) -> None:
    """Make closing ``stream`` send RST instead of FIN."""
    if isinstance(stream, trio.SocketStream):
        with contextlib.suppress(OSError):  # already closed
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@attrs.define(eq=False)
class Connection:
    """One proxied connection: its two streams and what it carried."""

    client: trio.SocketStream
    upstream: trio.SocketStream | None = None
    scope: trio.CancelScope = attrs.Factory(trio.CancelScope)
    bytes_up: int = 0  # client → target, forwarded
    bytes_down: int = 0  # target → client, forwarded
    reset: bool = False

    def abort(self) -> None:
        """Reset both sides (RST) and stop forwarding."""
        self.reset = True
        _linger_zero(self.client)
        _linger_zero(self.upstream)
        self.scope.cancel()


@attrs.define(eq=False)
class FaultProxy:
    """The listening proxy. Read ``port``; change behaviour with ``set_mode``/``reset_all``."""

    target_host: str
    target_port: int
    mode: Mode = Mode.PASS
    after_bytes: int = 0
    port: int = 0
    connections: list[Connection] = attrs.Factory(list)
    accepted_at: list[float] = attrs.Factory(list)
    stalled_bytes: int = 0
    _mode_changed: trio.Event = attrs.Factory(trio.Event)
    _scope: trio.CancelScope = attrs.Factory(trio.CancelScope)

    @property
    def open_connections(self) -> list[Connection]:
        return [c for c in self.connections if not c.reset and not c.scope.cancel_called]

    def set_mode(self, mode: Mode, *, after_bytes: int = 0) -> None:
        """Switch mode now (``after_bytes`` for ``DROP_AFTER``)."""
        self.mode = mode
        self.after_bytes = after_bytes
        self._mode_changed.set()
        self._mode_changed = trio.Event()
        if mode is Mode.RESET:
            self.reset_all()

    def reset_all(self) -> None:
        """Reset every open connection at once (both sides get RST); the mode stays."""
        for connection in self.connections:
            if not connection.scope.cancel_called:
                connection.abort()

    def stop(self) -> None:
        """Stop listening and drop every connection."""
        self.reset_all()
        self._scope.cancel()

    async def _serve(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with self._scope:
            async with trio.open_nursery() as nursery:
                listeners = await nursery.start(
                    partial(trio.serve_tcp, self._handle, 0, host="127.0.0.1")
                )
                self.port = listeners[0].socket.getsockname()[1]
                task_status.started()

    async def _handle(self, client: trio.SocketStream) -> None:
        connection = Connection(client)
        self.connections.append(connection)
        self.accepted_at.append(trio.current_time())
        try:
            with connection.scope:
                if self.mode is Mode.RESET:
                    connection.abort()
                    return
                if self.mode is Mode.BLACKHOLE:
                    await trio.sleep_forever()
                try:
                    connection.upstream = await trio.open_tcp_stream(
                        self.target_host, self.target_port
                    )
                except OSError:
                    connection.abort()
                    return
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._pump, connection, client, connection.upstream, True)
                    nursery.start_soon(self._pump, connection, connection.upstream, client, False)
        finally:
            # Closed synchronously: an awaited close would be cut short by a cancellation
            # (the test ending) and leave the second socket open.
            connection.scope.cancel()
            client.socket.close()
            if connection.upstream is not None:
                connection.upstream.socket.close()

    async def _pump(
        self, connection: Connection, source: trio.SocketStream, sink: trio.SocketStream, up: bool
    ) -> None:
        """Copy ``source`` to ``sink`` as the mode says; at EOF pass the EOF on."""
        while True:
            while self.mode is Mode.BLACKHOLE:
                await self._mode_changed.wait()
            try:
                data = await source.receive_some(_CHUNK)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                connection.abort()
                return
            if not data:
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await sink.send_eof()
                return
            mode = self.mode
            if mode is Mode.RESET:
                connection.abort()
                return
            if mode in (Mode.STALL, Mode.BLACKHOLE):  # (it may have changed while we read)
                self.stalled_bytes += len(data)
                continue
            cut = False
            if mode is Mode.DROP_AFTER:
                room = self.after_bytes - connection.bytes_up - connection.bytes_down
                if len(data) > room:
                    data, cut = data[: max(room, 0)], True
            if data:
                if up:
                    connection.bytes_up += len(data)
                else:
                    connection.bytes_down += len(data)
                try:
                    await sink.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    connection.abort()
                    return
            if cut:
                connection.abort()
                return


async def start_fault_proxy(
    nursery: trio.Nursery, target_host: str, target_port: int, *, mode: Mode = Mode.PASS
) -> FaultProxy:
    """Start a proxy on 127.0.0.1 (a free port) towards ``target_host:target_port``; returns
    once it listens."""
    proxy = FaultProxy(target_host, target_port, mode=mode)
    await nursery.start(proxy._serve)
    return proxy
