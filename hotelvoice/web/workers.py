"""``hotelvoice serve --workers N``: N worker processes, each the whole server, on one port.

The parent process, before any worker starts:

1. migrates and seeds the store and closes the calls a crash left open
   (``hotel.service.prepare_store``), which assumes no call is live;
2. makes a private run directory (mode 0700) holding the file the workers share
   (``shared.sqlite``: spent stream tokens, streamed CallSids, each worker's metrics);
3. binds and listens on the port once; every worker accepts on that same socket (the kernel
   wakes an idle one first), so a worker that drains loses no queued connection;
4. generates the stream tokens' signing key (and, without ``HOTELVOICE_SECRET_KEY``, the
   payment links' key) and hands them to each worker on its stdin, never in its arguments,
   its environment or a log line.

Each worker (``python -m hotelvoice.web.workers``) runs Trio and Hypercorn exactly as the
single process does (``web/server.py``), with :class:`SharedStreamTokens` (a webhook answered
by one worker, its stream redeemed by another; a replay refused on all) and
:class:`SharedMetrics` (``GET /metrics`` on any worker is the sum over all of them; each
publishes its own every second and at exit). ``/healthz`` is the answering worker's own.

Signals: SIGTERM or SIGINT to the parent is passed to every worker as a ``drain`` line on its
stdin, and it drains its own calls (``web/drain.py``); a second one is passed on as ``hurry``.
A signal sent to a worker directly only drains it (systemd signals every process of the
service at once: one stop must not count as two). Workers run in their own session, so a
terminal's Ctrl-C reaches them only through the parent. A worker whose parent dies (its
stdin closes) drains as on SIGTERM.

No worker is restarted. A worker that exits unasked (a crash, a kill) is logged at ERROR with
its status; the parent then drains the others and exits 1, so the supervisor (systemd,
Kubernetes) restarts the whole service, whose start closes the dead worker's calls in the
store. The parent exits 0 once every worker has drained after a signal and exited 0.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio

from hotelvoice.clock import utc_now
from hotelvoice.config import Settings, settings_from_env, signatures_for_bind
from hotelvoice.logsafe import FORMAT, configure_logging
from hotelvoice.metrics import Metrics, SharedMetrics, Snapshot
from hotelvoice.properties.book import load_property_book
from hotelvoice.telephony import shared_tokens
from hotelvoice.telephony.shared_tokens import SharedStreamTokens

if TYPE_CHECKING:  # the parent does not load the web stack
    from hotelvoice.web.server import StopKind

log = logging.getLogger(__name__)

SHARED_FILE = "shared.sqlite"
PUBLISH_INTERVAL_S = 1.0
BACKLOG = 1024
PARENT = "parent"  # the parent's row of metrics (calls it closed as interrupted)

_METRICS_SCHEMA = """
CREATE TABLE IF NOT EXISTS worker_metrics (
    worker TEXT PRIMARY KEY,
    snapshot TEXT NOT NULL,
    published_at REAL NOT NULL
) WITHOUT ROWID;
"""


class MetricsBoard:
    """Where the workers' metrics meet: one row per worker in the shared file."""

    def __init__(self, path: Path, worker: str) -> None:
        self.worker = worker
        self._reader = shared_tokens.connect(path)  # on the event loop: GET /metrics
        self._writer = shared_tokens.connect(path)  # in a thread: the publisher
        self._writer.executescript(_METRICS_SCHEMA)

    def publish(self, snapshot: Snapshot) -> None:
        """Replace this worker's row (blocks: call it in a thread, or at exit)."""
        self._writer.execute(
            "INSERT INTO worker_metrics VALUES (?, ?, ?) ON CONFLICT (worker) DO UPDATE "
            "SET snapshot = excluded.snapshot, published_at = excluded.published_at",
            (self.worker, json.dumps(snapshot, separators=(",", ":")), time.time()),
        )

    def peers(self) -> Iterable[Snapshot]:
        """The latest snapshot of every other worker (and the parent's). A store that
        cannot be read leaves them out, logged: the sum is then this worker's own."""
        try:
            rows = self._reader.execute(
                "SELECT snapshot FROM worker_metrics WHERE worker != ?", (self.worker,)
            ).fetchall()
        except sqlite3.Error as exc:
            log.error("metrics: the other workers' could not be read (%s)", exc)
            return []
        return [json.loads(snapshot) for (snapshot,) in rows]

    async def publish_every_second(self, metrics: Metrics) -> None:
        """Publish ``metrics`` every :data:`PUBLISH_INTERVAL_S` until cancelled."""
        while True:
            snapshot = metrics.snapshot()  # taken on the loop, written in a thread
            try:
                await trio.to_thread.run_sync(self.publish, snapshot)
            except sqlite3.Error as exc:
                log.warning("metrics: publishing failed (%s); retrying", exc)
            await trio.sleep(PUBLISH_INTERVAL_S)

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


# --- the parent


@attrs.frozen
class _WorkerConfig:
    """What the parent hands a worker on its stdin (secrets included: never logged)."""

    index: int
    workers: int
    host: str
    listen_fd: int
    run_dir: str
    token_secret: str  # hex
    secret_key: str | None
    log_level: str

    def __repr__(self) -> str:
        return f"_WorkerConfig(index={self.index}, workers={self.workers})"


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts on. Raises OSError (e.g. the port in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def serve_workers(settings: Settings, *, host: str, port: int, log_level: str) -> int:
    """Run ``settings.workers`` workers on ``host:port`` until a signal has drained them all.
    Returns the exit status: 0 after a clean drain, 1 if a worker exited unasked."""
    book = load_property_book(settings)
    metrics = Metrics()
    from hotelvoice.hotel.service import prepare_store  # the hotel loads only to serve

    prepare_store(settings, book, metrics, utc_now())
    run_dir = Path(tempfile.mkdtemp(prefix="hotelvoice-run-"))  # mode 0700
    try:
        board = MetricsBoard(run_dir / SHARED_FILE, PARENT)
        board.publish(metrics.snapshot())
        board.close()
        with _listen(host, port) as listener:
            secret_key = settings.secret_key
            if not secret_key or len(secret_key.encode()) < 16:
                # One random key for every worker: a payment link made by one opens on all
                # (it still dies with the deployment, as with a single process).
                secret_key = secrets.token_hex(32)
            token_secret = secrets.token_hex(32)
            configs = [
                _WorkerConfig(
                    index=index,
                    workers=settings.workers,
                    host=host,
                    listen_fd=listener.fileno(),
                    run_dir=str(run_dir),
                    token_secret=token_secret,
                    secret_key=secret_key,
                    log_level=log_level,
                )
                for index in range(settings.workers)
            ]
            log.info(
                "starting %d workers on %s:%d (pid %d)", settings.workers, host, port, os.getpid()
            )
            return trio.run(_supervise, configs, listener.fileno())
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


@attrs.define
class _Worker:
    index: int
    process: trio.Process
    asked_to_stop: bool = False


async def _supervise(configs: list[_WorkerConfig], listen_fd: int) -> int:
    """Start the workers, forward signals, wait for them all. Returns the exit status."""
    status = 0
    stopping = False
    workers: list[_Worker] = []

    async def order_all(order: bytes) -> None:
        for worker in workers:
            if worker.process.returncode is None and worker.process.stdin is not None:
                worker.asked_to_stop = True
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await worker.process.stdin.send_all(order)

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            for config in configs:
                process = await trio.lowlevel.open_process(
                    [sys.executable, "-m", "hotelvoice.web.workers"],
                    stdin=subprocess.PIPE,
                    pass_fds=(listen_fd,),
                    start_new_session=True,  # Ctrl-C reaches them through the parent, once
                )
                assert process.stdin is not None
                line = json.dumps(attrs.asdict(config)).encode() + b"\n"
                await process.stdin.send_all(line)
                workers.append(_Worker(config.index, process))
                log.info("worker %d started (pid %d)", config.index, process.pid)

            async def forward_signals() -> None:
                nonlocal stopping
                received = 0
                async for signum in signals:
                    received += 1
                    name = signal.Signals(signum).name
                    if received > 2:
                        log.warning("%s received: the workers are already hurrying", name)
                        continue
                    order = DRAIN if received == 1 else HURRY
                    log.warning("%s received: the workers %s", name, order.decode().strip())
                    stopping = True
                    await order_all(order)

            async def watch(worker: _Worker) -> None:
                nonlocal status, stopping
                code = await worker.process.wait()
                if worker.process.stdin is not None:
                    await worker.process.stdin.aclose()
                if worker.asked_to_stop and code == 0:
                    log.info(
                        "worker %d (pid %d) drained and exited", worker.index, worker.process.pid
                    )
                    return
                status = 1
                how = f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"
                log.error(
                    "worker %d (pid %d) died (%s)%s: it is not restarted; the others drain "
                    "and the service exits 1 for its supervisor to restart it",
                    worker.index,
                    worker.process.pid,
                    how,
                    "" if worker.asked_to_stop else " unasked",
                )
                if not stopping:
                    stopping = True
                    await order_all(DRAIN)

            async with trio.open_nursery() as watchers:
                for worker in workers:
                    watchers.start_soon(watch, worker)
                nursery.start_soon(forward_signals)
            nursery.cancel_scope.cancel()
    log.info("all %d workers stopped; exit %d", len(workers), status)
    return status


# --- a worker


DRAIN = b"drain\n"
HURRY = b"hurry\n"


async def _parent_orders(order: Callable[[StopKind, str], None]) -> None:
    """Pass on the parent's orders, read from stdin: "stop" on its first signal or when it
    dies (its end of the pipe closes), "hurry" on its second. Returns at the pipe's end."""
    async with trio.lowlevel.FdStream(os.dup(0)) as stream:
        pending = b""
        while True:
            data = await stream.receive_some()
            if not data:
                order("stop", "the parent process has gone")
                return
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                if line + b"\n" == DRAIN:
                    order("stop", "the parent passed on a signal: draining")
                elif line + b"\n" == HURRY:
                    order("hurry", "the parent passed on a second signal: hurrying")


def _tag_logs(index: int) -> None:
    """Every log line of this worker says which worker wrote it."""
    tagged = logging.Formatter(FORMAT.replace("%(name)s", f"worker{index} %(name)s"))
    handlers = logging.getLogger().handlers + logging.getLogger("hypercorn.access").handlers
    for handler in handlers:
        handler.setFormatter(tagged)


def worker_main(config: _WorkerConfig) -> int:
    """One worker: the whole server on the parent's socket until drained. Returns 0."""
    from hotelvoice.web.server import WorkerParts, run_server  # the web stack, only here

    configure_logging(config.log_level)
    _tag_logs(config.index)
    settings = signatures_for_bind(settings_from_env(), config.host).settings
    settings = attrs.evolve(settings, secret_key=config.secret_key)
    shared = Path(config.run_dir) / SHARED_FILE
    name = f"worker{config.index}"
    board = MetricsBoard(shared, name)
    metrics = SharedMetrics(board.peers)
    tokens = SharedStreamTokens(
        shared, bytes.fromhex(config.token_secret), ttl_s=settings.stream_token_ttl_s
    )

    async def publish() -> None:
        await board.publish_every_second(metrics)

    try:
        run_server(
            settings,
            host=config.host,
            port=0,
            worker=WorkerParts(
                name=name,
                listen_fd=config.listen_fd,
                metrics=metrics,
                tokens=tokens,
                parent=_parent_orders,
                beside=publish,
            ),
        )
    finally:
        board.publish(metrics.snapshot())  # at exit: its final counts stay in the sum
        board.close()
        tokens.close()
    return 0


def _read_config(line: bytes) -> _WorkerConfig:
    fields: dict[str, Any] = json.loads(line)
    return _WorkerConfig(**fields)


if __name__ == "__main__":
    sys.exit(worker_main(_read_config(sys.stdin.buffer.readline())))
