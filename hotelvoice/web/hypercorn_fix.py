"""A fix for a race in Hypercorn's trio worker (0.18) that ends the whole server process.

``TCPServer._close()`` shuts the socket's sending side (``send_eof``) without taking the
connection's send lock. When another task starts to send on that connection meanwhile (a
WebSocket close or pong answered while the app closes its socket), trio's ``send_all`` raises
``BusyResourceError``, which ``TCPServer.protocol_send`` does not catch (it catches only a
broken or closed stream): the error leaves ``TCPServer.run``, then Hypercorn's ``serve``, and
every call on the server ends with it. Seen once in ``bench/soak.py``'s fuzz run.

The connection is being closed by the other task either way, so the send that lost the race
is treated as the connection having closed, as Hypercorn treats a broken stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.events import Closed, Event
from hypercorn.trio.tcp_server import TCPServer

__all__ = ["install"]

_FIXED = "_hotelvoice_send_race_fixed"


def install() -> None:
    """Patch ``TCPServer.protocol_send`` (once per process)."""
    original: Callable[[Any, Event], Awaitable[None]] = TCPServer.protocol_send
    if getattr(original, _FIXED, False):
        return

    async def protocol_send(self: Any, event: Event) -> None:
        try:
            await original(self, event)
        except trio.BusyResourceError:
            # _close() is shutting this socket down in another task: the connection is over.
            await self.protocol.handle(Closed())

    setattr(protocol_send, _FIXED, True)
    TCPServer.protocol_send = protocol_send  # type: ignore[method-assign]
