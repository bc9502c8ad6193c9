"""Run the app under Hypercorn's Trio worker; SIGTERM or SIGINT drains the calls first
(web/drain.py), a second one hurries the drain, and the process exits 0."""

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
from hotelvoice.web import hypercorn_fix
from hotelvoice.web.app import HotelvoiceApp, create_app

log = logging.getLogger(__name__)


def hypercorn_config(host: str, port: int) -> Config:
    """Hypercorn's settings: the trio worker, logs on stdout, and the limits of the edge
    (bodies are capped by the routes themselves, see ``web/edge.py``)."""
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.worker_class = "trio"  # the asyncio default would fail every request under QuartTrio
    # Our loggers, not "-": Hypercorn would give "-" handlers of its own, which the safe-log
    # filter (hotelvoice.logsafe.configure_logging) would never see.
    config.accesslog = logging.getLogger("hypercorn.access")
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5.0
    # A Twilio message is under 1 KB, a Realtime client's append at most 5 s of audio.
    config.websocket_max_message_size = 1024 * 1024
    # A request line and headers (Twilio's are about 1 KB); beyond this Hypercorn answers 400.
    config.h11_max_incomplete_size = 16 * 1024
    return config


async def serve_until_drained(app: HotelvoiceApp, config: Config) -> None:
    """Serve until SIGINT or SIGTERM, then drain (``app.drain``) before Hypercorn stops.

    Hypercorn keeps listening during the drain (health checks get 503, webhooks the front
    desk); it stops once every call's record is saved. The signals stay caught until the end,
    so a second one hurries the drain and any later one is ignored: the exit is always clean.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def next_signal() -> int:
            async for signum in signals:
                return signum
            raise RuntimeError("the signal receiver closed")  # it never does while open

        async def drain_on_signal() -> None:
            signum = await next_signal()
            log.warning("%s received", signal.Signals(signum).name)
            try:
                await app.drain.run(hurry=next_signal)
            except Exception:  # a fault in the drain must not keep the server from stopping
                log.exception("the drain failed; stopping now")

        asgi = cast("ASGIFramework", app)  # a plain ASGI callable; hypercorn's TypedDicts differ
        await serve(asgi, config, shutdown_trigger=drain_on_signal)


def run_server(settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, drain the calls, and return."""
    hypercorn_fix.install()
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
    trio.run(partial(serve_until_drained, app, config))
