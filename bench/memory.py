"""The server's memory: RSS at start per backend, and RSS over many sequential offline calls.

Run from the repository root (it prints figures; it is not a test and asserts nothing):

    .venv/bin/python -m bench.memory                  # 500 sequential offline calls
    .venv/bin/python -m bench.memory --calls 100 --every 25
    .venv/bin/python -m bench.memory --startup        # RSS at start, OpenAI and offline, 3 runs
    .venv/bin/python -m bench.memory --startup --runs 5 --no-fallback

Calls: a real ``hotelvoice serve`` on loopback with its embedded defaults and Twilio signatures
on (``bench/_server.py``; no ``OPENAI_API_KEY``: the offline engine answers, with
``gc.freeze()`` and the GC thresholds of ``hotelvoice.web.server``), a temporary SQLite store,
and the softphone (in this process) placing one call after another: it waits for the greeting,
says one short line, waits for the answer and hangs up. Call time runs ``--speed`` times faster
than real time (10 by default, the softphone's ``--fast``). The server's RSS (VmRSS) is
printed, once it has no call in progress, after ``--warmup`` calls and after every ``--every``
calls; the goal of issue 12 is at most +50 MB over the warmed-up server after 500 calls.

Startup (``--startup``): the server's RSS (VmRSS, and its anonymous and file-backed parts)
once ``/healthz`` answers and a second has passed, with an OpenAI key (the URL a closed
loopback port, so nothing is dialled until a call comes; the offline engine only its
fallback) and on the embedded defaults (the offline engine the backend, loaded at start),
``--runs`` times each, the two backends alternating, then each backend's median and range;
then, on the first OpenAI server, two calls whose OpenAI connection is refused, so the
offline engine answers as the fallback: the first loads the engine (and numpy), and the
difference of the two calls' wait for the greeting is what that load costs the first caller
(it must fit the model setup deadline, 5 s). ``--runs 1 --no-fallback`` is the quick look.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import trio

from bench._server import (
    HOST,
    BenchError,
    Server,
    free_port,
    place_call,
    rss_mib,
    running_server,
    wait_idle,
)
from hotelvoice.softphone.client import CallRecord
from hotelvoice.softphone.script import load_lines, parse_entry

LINE = "What time is check out?"


def greeting_wait_s(record: CallRecord, speed: float) -> float | None:
    """Wall seconds from the stream's start to the greeting's first audio."""
    first = record.playout.first_audio_at
    return None if first is None else first / speed


async def calls(args: argparse.Namespace, log: Path) -> None:
    lines = await trio.to_thread.run_sync(lambda: load_lines([parse_entry(args.line)]))
    with running_server(log=log) as server:
        pid = server.process.pid
        print(f"server ready (offline backend): RSS {rss_mib(pid):.1f} MiB", flush=True)
        failed = 0
        started = time.monotonic()
        for _ in range(args.warmup):
            failed += not (await place_call(server, lines, args.speed)).clean
        await wait_idle(server.url)
        base = rss_mib(pid)
        print(f"after {args.warmup} warm-up calls: RSS {base:.1f} MiB", flush=True)
        for n in range(1, args.calls + 1):
            failed += not (await place_call(server, lines, args.speed)).clean
            if n % args.every == 0 or n == args.calls:
                await wait_idle(server.url)
                rss = rss_mib(pid)
                print(
                    f"after {n:4d} calls: RSS {rss:7.1f} MiB ({rss - base:+6.1f} over the warmed-"
                    f"up server, {(rss - base) / n * 1024:6.1f} KiB per call); "
                    f"{failed} not clean; {time.monotonic() - started:5.0f} s",
                    flush=True,
                )


def rss_parts_mib(pid: int) -> tuple[float, float, float]:
    """The process's resident set (VmRSS) and its anonymous and file-backed parts, MiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    try:
        rss, anon, file = (
            int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "RssAnon", "RssFile")
        )
    except KeyError:
        raise BenchError(f"no VmRSS for process {pid}") from None
    return rss, anon, file


async def fallback_calls(server: Server, args: argparse.Namespace) -> None:
    """Two calls OpenAI cannot take: the first loads the offline engine, the second finds it."""
    lines = await trio.to_thread.run_sync(lambda: load_lines([parse_entry(args.line)]))
    waits = []
    for _ in range(2):
        record = await place_call(server, lines, args.speed)
        await wait_idle(server.url)
        waits.append(greeting_wait_s(record, args.speed))
        print(
            f"  a call with OpenAI unreachable: {record.outcome}, greeting after "
            f"{waits[-1] if waits[-1] is not None else float('nan'):.2f} s; "
            f"RSS then {rss_mib(server.process.pid):.1f} MiB",
            flush=True,
        )
    first, second = waits
    if first is not None and second is not None:
        print(f"  the first fallback's extra wait (engine load): {first - second:.2f} s")


async def startup(args: argparse.Namespace, log: Path) -> None:
    names = {True: "OpenAI (+ offline fallback)", False: "offline (embedded defaults)"}
    figures: dict[bool, list[float]] = {True: [], False: []}
    for run in range(1, args.runs + 1):
        for openai in (True, False):
            # OpenAI: a closed loopback port, so nothing is dialled until a call comes
            model_url = f"ws://{HOST}:{free_port()}/v1/realtime" if openai else None
            with running_server(log=log, model_url=model_url) as server:
                await trio.sleep(1.0)
                rss, anon, file = rss_parts_mib(server.process.pid)
                figures[openai].append(rss)
                print(
                    f"run {run}: RSS at start, {names[openai]} backend: {rss:.1f} MiB "
                    f"({anon:.1f} anonymous, {file:.1f} file-backed)",
                    flush=True,
                )
                if openai and run == 1 and args.fallback:
                    await fallback_calls(server, args)
    for openai in (True, False):
        values = figures[openai]
        print(
            f"RSS at start, {names[openai]}: median {statistics.median(values):.1f} MiB, "
            f"{min(values):.1f}–{max(values):.1f} over {len(values)} runs"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="sequential calls (default 500)")
    parser.add_argument("--every", type=int, default=50, help="print RSS every N calls")
    parser.add_argument("--warmup", type=int, default=10, help="calls before the baseline")
    parser.add_argument("--speed", type=float, default=10.0, help="call time / real time")
    parser.add_argument("--line", default=LINE, help="what each caller says")
    parser.add_argument("--startup", action="store_true", help="RSS at start, per backend")
    parser.add_argument("--runs", type=int, default=3, help="--startup: servers per backend")
    parser.add_argument(
        "--no-fallback",
        dest="fallback",
        action="store_false",
        help="--startup: skip the two calls that time the engine's load on the first fallback",
    )
    parser.add_argument("--log", type=Path, help="the server's log (default: a temporary file)")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.every < 1 or args.runs < 1 or args.warmup < 0 or not args.speed > 0:
        parser.error("--calls, --every and --runs must be ≥ 1, --warmup ≥ 0, --speed > 0")
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
