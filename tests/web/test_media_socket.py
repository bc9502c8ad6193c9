"""The ASGI media socket's close: polite, even when cancelled, and never held by the peer."""

from __future__ import annotations

from typing import Any

import trio

from hotelvoice.web.app import CLOSE_TIMEOUT_S, AsgiMediaSocket


async def _never_received() -> dict[str, Any]:
    await trio.sleep_forever()
    raise AssertionError("unreachable")


async def _never_sent(_message: dict[str, Any]) -> None:
    await trio.sleep_forever()


async def test_close_gives_up_on_a_peer_that_stopped_reading(autojump_clock: object) -> None:
    socket = AsgiMediaSocket(_never_received, _never_sent)  # the close frame's send never completes
    start = trio.current_time()
    with trio.CancelScope() as scope:
        scope.cancel()  # a cancelled call still tries to close, within the bound
        await socket.close()
    assert socket.closed
    assert trio.current_time() - start == CLOSE_TIMEOUT_S


async def test_close_sends_1000_once() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    socket = AsgiMediaSocket(_never_received, send)
    await socket.close()
    await socket.close()
    assert sent == [{"type": "websocket.close", "code": 1000}]
