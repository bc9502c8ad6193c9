"""Run the app under Hypercorn's Trio worker; SIGTERM or SIGINT drains the calls first
(web/drain.py), a second one hurries the drain, and the process exits 0."""

from __future__ import annotations

import gc
import logging
import math
import signal
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Literal, cast

import attrs
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from hypercorn.typing import ASGIFramework

from hotelvoice.config import Settings
from hotelvoice.metrics import Metrics
from hotelvoice.telephony.tokens import TokenBook
from hotelvoice.web import hypercorn_fix, hypercorn_lean
from hotelvoice.web.app import HotelvoiceApp, create_app

log = logging.getLogger(__name__)


def patch_hypercorn() -> None:
    """Hypercorn's fixes (``hypercorn_fix``: a send racing its close) and leaner per-message
    paths for the media sockets (``hypercorn_lean``); the tests' servers call this too."""
    hypercorn_fix.install()
    hypercorn_lean.install()


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


# What stops a server: "either" is a signal to a single process (the first drains, the next
# hurries); a worker of several drains on "stop" (a signal to it directly, its parent's word,
# its parent gone) and hurries only on its parent's "hurry" (web/workers.py).
StopKind = Literal["either", "stop", "hurry"]


async def serve_until_drained(
    app: HotelvoiceApp,
    config: Config,
    *,
    parent: Callable[[Callable[[StopKind, str], None]], Awaitable[object]] | None = None,
    beside: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then drain (``app.drain``) before Hypercorn stops.

    Hypercorn keeps listening during the drain (health checks get 503, webhooks the front
    desk); it stops once every call's record is saved. The signals stay caught until the end,
    so a second one hurries the drain and any later one is ignored: the exit is always clean.

    A worker of several runs ``parent``, which passes on its parent's orders: the parent's
    signals come as "stop" then "hurry". A signal sent to the worker itself (systemd
    signals every process of the service) only drains it: a stop signalled both to the parent
    and to its workers must not count twice. ``beside`` (the worker's metrics publisher) runs
    until Hypercorn stops.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        send_stop, stops = trio.open_memory_channel[tuple[StopKind, str]](math.inf)
        direct: StopKind = "either" if parent is None else "stop"

        async def relay_signals() -> None:
            async for signum in signals:
                send_stop.send_nowait((direct, f"{signal.Signals(signum).name} received"))

        def order(kind: StopKind, why: str) -> None:
            send_stop.send_nowait((kind, why))

        async def first_stop() -> None:
            _, why = await stops.receive()
            log.warning("%s", why)

        async def hurry() -> None:
            while True:
                kind, why = await stops.receive()
                if kind != "stop":
                    log.warning("%s", why)
                    return
                log.info("%s: already draining", why)

        async def drain_on_signal() -> None:
            await first_stop()
            try:
                await app.drain.run(hurry=hurry)
            except Exception:  # a fault in the drain must not keep the server from stopping
                log.exception("the drain failed; stopping now")

        asgi = cast("ASGIFramework", app)  # a plain ASGI callable; hypercorn's TypedDicts differ
        async with trio.open_nursery() as nursery:
            nursery.start_soon(relay_signals)
            if parent is not None:
                nursery.start_soon(parent, order)
            if beside is not None:
                nursery.start_soon(beside)
            await serve(asgi, config, shutdown_trigger=drain_on_signal)
            nursery.cancel_scope.cancel()


def run_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    worker: WorkerParts | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, drain the calls, and return. ``worker``: this process
    is one of several (``web/workers.py``) sharing a listening socket, tokens and metrics."""
    patch_hypercorn()
    if worker is None:
        app = create_app(settings)
    else:
        app = create_app(
            settings,
            metrics=worker.metrics,
            tokens=worker.tokens,
            store_prepared=True,
            worker=worker.name,
        )
    config = hypercorn_config(host, port)
    if worker is not None:
        config.bind = [f"fd://{worker.listen_fd}"]  # bound once, by the parent
    # Everything imported and built so far lives for the whole process: keep it out of the
    # collector's full passes, which otherwise stall every call for tens of milliseconds.
    gc.collect()
    gc.freeze()
    # The audio path allocates a few small objects per message; collecting the young
    # generation every 700 allocations (the default) costs several % of a core at 50 calls.
    # Collections are rare, then (one every few dozen offline calls): a call's objects must be
    # freed by reference counting, never left in a cycle (docs/architecture.md, Resources).
    gc.set_threshold(20_000, 20, 20)
    if worker is None:
        trio.run(partial(serve_until_drained, app, config))
    else:
        trio.run(
            partial(
                serve_until_drained,
                app,
                config,
                parent=worker.parent,
                beside=worker.beside,
            )
        )


@attrs.frozen
class WorkerParts:
    """What one worker of several shares with the others (built by ``web/workers.py``)."""

    name: str  # "worker0", "worker1"...: in its log lines and /healthz
    listen_fd: int
    metrics: Metrics
    tokens: TokenBook
    parent: Callable[[Callable[[StopKind, str], None]], Awaitable[object]]  # web/workers.py
    beside: Callable[[], Awaitable[object]]
