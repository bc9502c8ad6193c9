"""Serve a fake's Quart app on loopback with Hypercorn, for the fakes' ``start_*`` helpers."""

from __future__ import annotations

from typing import Any, cast

import httpx
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from quart_trio import QuartTrio


async def serve_on_loopback(nursery: trio.Nursery, app: QuartTrio) -> str:
    """Serve ``app`` on 127.0.0.1 (ephemeral port) in ``nursery``; returns its base URL.

    Waits until the socket is listening; the server runs until ``nursery`` is cancelled.
    """
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None

    async def run(task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        await serve(app, config, task_status=task_status)

    binds: list[str] = await nursery.start(run)
    return binds[0]


def asgi_client(app: object) -> httpx.AsyncClient:
    """An httpx client of an ASGI ``app`` in process, no socket (``HotelvoiceApp`` serves the
    Twilio webhooks on ASGI directly, so Quart's test client does not reach them)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=cast("Any", app)), base_url="http://app"
    )
