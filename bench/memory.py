"""The server's memory: RSS at start per backend, and RSS over many sequential offline calls.

Run from the repository root (it prints figures; it is not a test and asserts nothing):

    .venv/bin/python -m bench.memory                  # 500 sequential offline calls
    .venv/bin/python -m bench.memory --calls 100 --every 25
    .venv/bin/python -m bench.memory --startup        # RSS at start, offline and OpenAI

Calls: a real ``hotelvoice serve`` on loopback with its embedded defaults (no ``OPENAI_API_KEY``:
the offline engine answers, with ``gc.freeze()`` and the GC thresholds of
``hotelvoice.web.server``), a temporary SQLite store, and the softphone (in this process)
placing one call after another: it waits for the greeting, says one short line, waits for the
answer and hangs up. Call time runs ``--speed`` times faster than real time (10 by default,
the softphone's ``--fast``). The server's RSS (VmRSS) is printed, once it has no call in
progress, after ``--warmup`` calls and after every ``--every`` calls; the goal of issue 12 is
at most +50 MB over the warmed-up server after 500 calls.

Startup (``--startup``): the server's RSS once ``/healthz`` answers and a second has passed,
with the offline backend and with an OpenAI key (the URL a closed loopback port, so nothing
is dialled until a call comes); then, on the OpenAI server, two calls whose OpenAI connection
is refused, so the offline engine answers as the fallback: the first loads the engine, and the
difference of the two calls' wait for the greeting is what that load costs the first caller.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Iterator, Sequence
from pathlib import Path

import trio

from hotelvoice.softphone.client import CallOptions, CallRecord, SoftphoneCall
from hotelvoice.softphone.script import CallerLine, load_lines, parse_entry

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LINE = "What time is check out?"
HEALTHY_TIMEOUT_S = 60.0


class BenchError(Exception):
    pass


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


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "hotelvoice"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hotelvoice"]


@contextlib.contextmanager
def running_server(*, openai: bool, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``hotelvoice serve`` on a free loopback port, in a temporary directory; stopped after."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory(prefix="hotelvoice-memory-") as work:
        prefixes = ("HOTELVOICE_", "TWILIO_", "OPENAI_", "HOTEL_", "PUBLIC_URL", "STRIPE_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
        env.update(PUBLIC_URL=url, HOTELVOICE_DB=str(Path(work) / "hotelvoice.db"))
        if openai:
            env.update(
                OPENAI_API_KEY="sk-bench-not-a-key",
                OPENAI_REALTIME_URL=f"ws://{HOST}:{free_port()}/v1/realtime",  # nobody listens
            )
        with log.open("ab") as out:
            server = subprocess.Popen(
                [*server_command(), "serve", "--host", HOST, "--port", str(port)],
                cwd=work,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_healthy(url, server)
            yield server, url
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)


def wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"hotelvoice serve exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
                answer.read()
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise BenchError(f"hotelvoice serve: /healthz not answering after {HEALTHY_TIMEOUT_S:.0f} s")


async def place_call(url: str, lines: list[CallerLine], speed: float) -> CallRecord:
    options = CallOptions(
        server=url,
        speed=speed,
        max_seconds=120,
        greeting_timeout_s=60,
        answer_timeout_s=60,
    )
    return await SoftphoneCall(options, lines).run()


async def wait_idle(url: str) -> None:
    """Until the server has finished its calls (records saved, engine sessions closed), and a
    moment more for the heap trim that follows an engine session."""

    def calls_active() -> int:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:
            return int(json.loads(answer.read())["calls_active"])

    while await trio.to_thread.run_sync(calls_active):  # noqa: ASYNC110 (another process)
        await trio.sleep(0.05)
    await trio.sleep(0.2)


def greeting_wait_s(record: CallRecord, speed: float) -> float | None:
    """Wall seconds from the stream's start to the greeting's first audio."""
    first = record.playout.first_audio_at
    return None if first is None else first / speed


async def calls(args: argparse.Namespace, log: Path) -> None:
    lines = await trio.to_thread.run_sync(lambda: load_lines([parse_entry(args.line)]))
    with running_server(openai=False, log=log) as (server, url):
        print(f"server ready (offline backend): RSS {rss_mib(server.pid):.1f} MiB", flush=True)
        failed = 0
        started = time.monotonic()
        for _ in range(args.warmup):
            failed += not (await place_call(url, lines, args.speed)).clean
        await wait_idle(url)
        base = rss_mib(server.pid)
        print(f"after {args.warmup} warm-up calls: RSS {base:.1f} MiB", flush=True)
        for n in range(1, args.calls + 1):
            failed += not (await place_call(url, lines, args.speed)).clean
            if n % args.every == 0 or n == args.calls:
                await wait_idle(url)
                rss = rss_mib(server.pid)
                print(
                    f"after {n:4d} calls: RSS {rss:7.1f} MiB ({rss - base:+6.1f} over the warmed-"
                    f"up server, {(rss - base) / n * 1024:6.1f} KiB per call); "
                    f"{failed} not clean; {time.monotonic() - started:5.0f} s",
                    flush=True,
                )


async def startup(args: argparse.Namespace, log: Path) -> None:
    for openai in (False, True):
        with running_server(openai=openai, log=log) as (server, url):
            await trio.sleep(1.0)
            name = "OpenAI (+ offline fallback)" if openai else "offline"
            print(f"RSS at start, {name} backend: {rss_mib(server.pid):.1f} MiB", flush=True)
            if not openai:
                continue
            lines = await trio.to_thread.run_sync(lambda: load_lines([parse_entry(args.line)]))
            waits = []
            for _ in range(2):
                record = await place_call(url, lines, args.speed)
                await wait_idle(url)
                waits.append(greeting_wait_s(record, args.speed))
                print(
                    f"  a call with OpenAI unreachable: {record.outcome}, greeting after "
                    f"{waits[-1] if waits[-1] is not None else float('nan'):.2f} s; "
                    f"RSS then {rss_mib(server.pid):.1f} MiB",
                    flush=True,
                )
            first, second = waits
            if first is not None and second is not None:
                print(f"  the first fallback's extra wait (engine load): {first - second:.2f} s")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="sequential calls (default 500)")
    parser.add_argument("--every", type=int, default=50, help="print RSS every N calls")
    parser.add_argument("--warmup", type=int, default=10, help="calls before the baseline")
    parser.add_argument("--speed", type=float, default=10.0, help="call time / real time")
    parser.add_argument("--line", default=LINE, help="what each caller says")
    parser.add_argument("--startup", action="store_true", help="RSS at start, per backend")
    parser.add_argument("--log", type=Path, help="the server's log (default: a temporary file)")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.every < 1 or args.warmup < 0 or not args.speed > 0:
        parser.error("--calls and --every must be ≥ 1, --warmup ≥ 0, --speed > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log = args.log or Path(tempfile.gettempdir()) / f"hotelvoice-memory-{os.getpid()}.log"
    print(f"server log: {log}", flush=True)
    try:
        trio.run(startup if args.startup else calls, args, log)
    except BenchError as exc:
        print(f"bench/memory.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
