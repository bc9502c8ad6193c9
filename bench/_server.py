"""A real ``hotelvoice serve`` for the benchmarks that place whole calls (memory, soak).

:func:`running_server` starts it on a free loopback port in a temporary directory (its own
SQLite store, no stray ``.env``), with Twilio signatures on: ``PUBLIC_URL`` is a public-looking
``https://`` origin, ``TWILIO_AUTH_TOKEN`` is set, and callers sign their webhooks and upgrades
(:func:`place_call` for the softphone). Nothing leaves loopback: the Twilio REST origin
is a closed local port, and without ``model_url`` there is no ``OPENAI_API_KEY``, so the
embedded offline engine answers. The server's stdout and stderr (the log, INFO unless told,
and hypercorn's access log) go to one file, appended to.

:func:`figures` reads what a leak would show in ``/proc``: resident set, open descriptors,
threads, child processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import trio

from hotelvoice.softphone.client import CallOptions, CallRecord, SoftphoneCall
from hotelvoice.softphone.script import CallerLine

HOST = "127.0.0.1"
PUBLIC_URL = "https://hotel.example.com"
ACCOUNT_SID = "AC" + "0b5e7c41d2a3" + "9f" * 10
AUTH_TOKEN = "bench0auth0token0f00dfeed0c0ffee"
HEALTHY_TIMEOUT_S = 60.0
_PREFIXES = ("HOTELVOICE_", "TWILIO_", "OPENAI_", "HOTEL_", "PUBLIC_URL", "STRIPE_")


class BenchError(Exception):
    """A setup step failed (the server did not start, a helper died...)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def rss_mib(pid: int) -> float:
    """The process's resident set (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class Figures:
    """One process's resources at one moment, from /proc."""

    rss_mib: float
    fds: int
    threads: int
    children: int
    # What the descriptors are: "socket", "pipe", "anon_inode:[eventpoll]", or a file's path.
    fd_kinds: tuple[str, ...] = ()

    def fds_added(self, before: Figures) -> list[str]:
        """The kinds of descriptor this has more of than ``before``, with how many more."""
        now, then = Counter(self.fd_kinds), Counter(before.fd_kinds)
        return [
            f"{kind} +{now[kind] - then[kind]}" for kind in sorted(now) if now[kind] > then[kind]
        ]

    def __str__(self) -> str:
        return (
            f"RSS {self.rss_mib:6.1f} MiB, {self.fds:3d} fds, {self.threads:2d} threads, "
            f"{self.children} child processes"
        )


def figures(pid: int) -> Figures:
    """RSS (VmRSS), open file descriptors (/proc/PID/fd), threads and child processes.

    Raises:
        BenchError: the process is gone.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        raise BenchError(f"process {pid} is gone") from None
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    children = 0
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            children += len(text.split())
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        raise BenchError(f"process {pid} is gone") from None
    kinds = []
    for name in names:
        with contextlib.suppress(OSError):  # closed meanwhile
            target = os.readlink(f"/proc/{pid}/fd/{name}")
            kinds.append(target.split(":", 1)[0] if target[:7] in ("socket:", "pipe:[") else target)
    if "VmRSS" not in fields:  # a zombie: exited, not yet reaped
        raise BenchError(f"process {pid} has exited")
    return Figures(
        rss_mib=int(fields["VmRSS"].split()[0]) / 1024,
        fds=len(names),
        threads=int(fields["Threads"]),
        children=children,
        fd_kinds=tuple(sorted(kinds)),
    )


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "hotelvoice"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hotelvoice"]


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    url: str  # where it listens, http://127.0.0.1:PORT
    port: int
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None


@contextlib.contextmanager
def running_server(
    *,
    log: Path,
    model_url: str | None = None,
    model_key: str = "sk-bench",
    env: Mapping[str, str] | None = None,
    log_level: str | None = None,
) -> Iterator[Server]:
    """``hotelvoice serve`` on a free loopback port, signatures on; stopped (SIGTERM) after.

    ``model_url``: the OpenAI Realtime URL (with ``OPENAI_API_KEY`` = ``model_key``); without
    it the offline engine answers. ``env`` adds settings. Waits until ``/healthz`` answers.

    Raises:
        BenchError: the server exited or did not answer within a minute.
    """
    port = free_port()
    url = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory(prefix="hotelvoice-bench-") as work:
        server_env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
        server_env.update(
            PUBLIC_URL=PUBLIC_URL,
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_API_BASE=f"http://{HOST}:9",  # nothing leaves loopback
            HOTELVOICE_DB=str(Path(work) / "hotelvoice.db"),
        )
        if model_url is not None:
            server_env.update(OPENAI_API_KEY=model_key, OPENAI_REALTIME_URL=model_url)
        server_env.update(env or {})
        argv = [*server_command(), "serve", "--host", HOST, "--port", str(port)]
        if log_level is not None:
            argv += ["--log-level", log_level]
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv, cwd=work, env=server_env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_healthy(url, process)
            yield Server(process, url, port, log)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"hotelvoice serve exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
                answer.read()
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise BenchError(f"hotelvoice serve: /healthz not answering after {HEALTHY_TIMEOUT_S:.0f} s")


def calls_active(url: str) -> int:
    """``calls_active`` of ``/healthz`` (blocking; -1 when it does not answer with a count)."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:
            return int(json.loads(answer.read())["calls_active"] or 0)
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
        return -1


async def wait_idle(url: str, patience_s: float = 120.0) -> int:
    """Until the server has finished its calls (records saved, engine sessions closed), and a
    moment more for the heap trim that follows an engine session. Returns the calls still
    active when ``patience_s`` ran out (0 when idle)."""
    active = -1
    with trio.move_on_after(patience_s):
        while True:  # another process: nothing to wait on but its answers
            active = await trio.to_thread.run_sync(calls_active, url)
            if active == 0:
                break
            await trio.sleep(0.05)
    await trio.sleep(0.2)
    return active


async def place_call(
    server: Server, lines: list[CallerLine], speed: float, *, barge_in: bool = False
) -> CallRecord:
    """One softphone call, signed; returns its record (``.clean`` tells how it went).

    Raises:
        SoftphoneError: the call could not be placed (webhook or upgrade refused).
    """
    options = CallOptions(
        server=server.url,
        public_url=PUBLIC_URL,  # signed over the public URL, sent to where the server listens
        auth_token=AUTH_TOKEN,
        account_sid=ACCOUNT_SID,
        speed=speed,
        max_seconds=120,
        greeting_timeout_s=60,
        answer_timeout_s=60,
        barge_in=barge_in,
    )
    return await SoftphoneCall(options, lines).run()
