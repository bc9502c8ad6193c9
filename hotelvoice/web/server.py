"""Run the app under Hypercorn's Trio worker, with graceful SIGINT/SIGTERM."""

from __future__ import annotations

import gc
import logging
import signal
from functools import partial
from typing import cast

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from hypercorn.typing import ASGIFramework

from hotelvoice.config import Settings
from hotelvoice.web.app import create_app


def hypercorn_config(host: str, port: int) -> Config:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.worker_class = "trio"  # the asyncio default would fail every request under QuartTrio
    # Our loggers, not "-": Hypercorn would give "-" handlers of its own, which the safe-log
    # filter (hotelvoice.logsafe.configure_logging) would never see.
    config.accesslog = logging.getLogger("hypercorn.access")
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5.0
    config.websocket_max_message_size = 1024 * 1024
    return config


async def _wait_for_shutdown_signal() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


def run_server(settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    app = create_app(settings)
    config = hypercorn_config(host, port)
    # Everything imported and built so far lives for the whole process: keep it out of the
    # collector's full passes, which otherwise stall every call for tens of milliseconds.
    gc.collect()
    gc.freeze()
    # The audio path allocates a few small objects per message; collecting the young
    # generation every 700 allocations (the default) costs several % of a core at 50 calls.
    # Collections are rare, then (one every few dozen offline calls): a call's objects must be
    # freed by reference counting, never left in a cycle (docs/architecture.md, Resources).
    gc.set_threshold(20_000, 20, 20)
    asgi = cast("ASGIFramework", app)  # a plain ASGI callable; hypercorn's TypedDicts are stricter
    trio.run(partial(serve, asgi, config, shutdown_trigger=_wait_for_shutdown_signal))
