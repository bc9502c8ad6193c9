"""Hypercorn's send that races its own close ends the connection, not the server."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from hypercorn.events import Closed, Event, RawData
from hypercorn.trio.tcp_server import TCPServer

from hotelvoice.web import hypercorn_fix


class _ClosingStream:
    """A socket stream whose sending side another task is shutting down (``send_eof``)."""

    async def send_all(self, data: bytes) -> None:
        raise trio.BusyResourceError("another task is currently sending data on this SocketStream")


class _Protocol:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def handle(self, event: Event) -> None:
        self.events.append(event)


def _server() -> Any:
    # Only what protocol_send touches: building a real one needs a whole worker context.
    server: Any = TCPServer.__new__(TCPServer)
    server.stream = _ClosingStream()
    server.send_lock = trio.Lock()
    server.protocol = _Protocol()
    return server


async def test_unpatched_hypercorn_lets_the_race_escape() -> None:
    # What the fix is for: the error leaves protocol_send, and with it the server's serve().
    original = TCPServer.protocol_send
    if getattr(original, "_hotelvoice_send_race_fixed", False):
        pytest.skip("already patched in this process")
    with pytest.raises(trio.BusyResourceError):
        await original(_server(), RawData(b"\x88\x02\x03\xe8"))


async def test_a_send_racing_the_close_is_taken_as_the_connection_closing() -> None:
    hypercorn_fix.install()
    hypercorn_fix.install()  # idempotent
    server = _server()
    await TCPServer.protocol_send(server, RawData(b"\x88\x02\x03\xe8"))
    assert server.protocol.events == [Closed()]
