"""Soak and fuzz: the server stays flat over many calls and unmoved by malformed input.

Run from the repository root (it prints figures, each beside its goal and whether it was met;
it asserts nothing):

    .venv/bin/python -m bench.soak                                # the issue's full run
    .venv/bin/python -m bench.soak --calls 200 --concurrent 20    # a shorter soak
    .venv/bin/python -m bench.soak --quick                        # smoke run, a few minutes
    .venv/bin/python -m bench.soak --no-fuzz --backend fake       # one part alone

Both parts run a real ``hotelvoice serve`` (``bench/_server.py``): on 127.0.0.1, Twilio
signatures on (``PUBLIC_URL`` a public ``https://`` origin, ``TWILIO_AUTH_TOKEN`` set, every
webhook and upgrade signed as Twilio signs them), its default log level (INFO) to a file, a
fresh SQLite store, no pinning, no real-time priority, nothing else changed. The figures are
what a sceptic would take: ramp-up included, several runs where the figure is noisy (lateness),
the worst run decides.

Soak (``--backend fake``, ``offline`` or ``both``): per backend, ``--warmup`` calls, then the
server's figures once idle and ``--settle`` seconds later (longer than the 10 s trio keeps an
idle worker thread): RSS (VmRSS), open file descriptors (``/proc/PID/fd``), threads
(``/proc/PID/status``), child processes. Then ``--calls`` sequential calls (call time
``--speed`` times real time, like the softphone's ``--fast``) and ``--concurrent`` calls at
once in real time, started over ``--ramp`` seconds; once idle and settled, the same figures and
their change. Goal: at most +20 MB over the warmed-up server, descriptors and threads back where
they were, every call clean. Calls are the softphone (``hotelvoice.softphone``) saying one line
(espeak), half of them barging in on the greeting. ``fake``: the server talks to the scripted
fake Realtime model of ``tests/fakes/realtime_server.py``, served in this process: it greets,
hears the caller's speech in the audio (``speech_started``, cut short by a barge-in), then
``speech_stopped``, a transcript and a ``get_hotel_info`` call, and speaks the answer after
the tool's result. ``offline``: no OpenAI key, the embedded offline engine answers (Whisper,
Piper; on 2 cores 1,000 calls take about half an hour: ``--offline-calls`` and
``--offline-concurrent`` run fewer).

Fuzz: ``--fuzz`` malformed messages (``bench/_fuzz.py``: invalid JSON, wrong types, unknown
events, binary and oversized frames, hostile callSid and mark names, bad base64, media before
start, out-of-order stop, a second start, forged tokens, bad webhooks and ``/pay/`` tokens) over
``--fuzz-seconds``, from many sockets, some before and some after a genuine ``start``, while
``--idle-sockets`` upgraded sockets never send anything and ``--good-calls`` well-formed calls
run in real time beside them. The good calls are ``bench/calls.py``'s load generator and
scripted model (``bench/_calls/``): every 20-ms frame is tagged with its send time, so each
frame of the model's answers is timed from the model's send to the caller's receipt (how late
it reaches Twilio; the bridge sends each on at once). Goals: the server alive and ``/healthz``
answering 200 throughout (polled every 0.25 s), no HTTP 5xx, every good call completes with no
frame lost, no frame more than 20 ms late, log volume bounded (bytes per malformed message, the
longest line, no line forged by a newline in a value, no traceback; the log's bytes are counted
beyond those of the control run, the good calls' own). First a control run: the
same good calls with no malformed message, so the lateness this machine gives them alone is
known; then ``--fuzz-runs`` runs (lateness depends on the machine's other load: each run is
reported, and the goals hold only if they hold in every run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, ConnectionTimeout, HandshakeError

from bench import calls as callbench
from bench._calls.fake_model import EXPECTED_AUTH
from bench._calls.wire import TrioClock
from bench._fuzz import AFTER_START, BEFORE_START, FORGED_LINE, LARGE, OVERSIZED, Ids, http_request
from bench._server import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    HOST,
    PUBLIC_URL,
    BenchError,
    Figures,
    Server,
    figures,
    place_call,
    running_server,
    wait_idle,
)
from hotelvoice.softphone.errors import SoftphoneError
from hotelvoice.softphone.script import CallerLine, load_lines, parse_entry
from tests.fakes.realtime_server import FakeRealtimeServer, FakeSession, start_fake_realtime
from tests.fakes.twilio_media import FakeTwilioCall, new_sid
from tests.fakes.twilio_webhook import inbound_call_form, parse_stream_twiml, signed_webhook

GOAL_RSS_MB = 20.0  # MB of 10^6 bytes over the warmed-up server
GOAL_LATE_MS = 20.0
GOAL_LOG_BYTES_PER_MESSAGE = 100.0  # a few lines per socket of ~30 messages
GOAL_LONGEST_LINE = 1000  # characters
MODEL_KEY = EXPECTED_AUTH.removeprefix("Bearer ")  # what both fake models accept
LINE = "What time is check out?"
TRIO_THREAD_IDLE_S = 10.0  # trio ends an idle worker thread after this
FRAME = 160  # 20 ms of μ-law
AGENT_FRAME = bytes((0x10 + i * 7) % 0x70 for i in range(FRAME))  # loud μ-law, not silence
GREETING_S = 3.0
ANSWER_S = 1.0
MODEL_PACE = 0.5  # the model sends audio twice as fast as it plays, as OpenAI's does
QUIET_FRAMES = 20  # 0.4 s without speech ends the caller's turn
# μ-law byte → 1 when its magnitude says "speech", 0 for silence and faint noise.
LOUD = bytes(1 if ((~b) & 0x7F) > 16 else 0 for b in range(256))
HEALTH_EVERY_S = 0.25
FUZZ_WORKERS = 24
OVERSIZED_PER_RUN = 5
LARGE_SHARE = 0.02
HTTP_SHARE = 0.1
STARTED_SHARE = 0.5  # of the socket connections, those that start with a genuine token
_SID = re.compile(r"\b(?:CA|MZ|AC)[^ :;,]*|(.)\1{9,}")
# A traceback's first line, plain, as an escaped record's continuation ("| "), or a group's.
_TRACEBACK = re.compile(r"^(?:\| )?(?: {2}\+ )?(?:Exception Group )?Traceback \(most recent call")
_LOG_START = re.compile(r"^\[?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def goal_line(label: str, figure: str, goal: str, ok: bool) -> str:
    return f"    {label:40s} {figure:50s} goal {goal:24s} {met(ok)}"


# ----------------------------------------------------------------------------- soak


@dataclass
class Pace:
    """How fast call time runs (the fake model paces its audio to it)."""

    speed: float


async def start_soak_model(nursery: trio.Nursery, pace: Pace) -> FakeRealtimeServer:
    """The scripted fake Realtime model (tests/fakes/realtime_server.py) in ``nursery``."""

    async def respond(session: FakeSession, event: object) -> None:
        first = len(session.of_type("response.create")) <= 1
        audio = AGENT_FRAME * round((GREETING_S if first else ANSWER_S) / 0.02)
        with contextlib.suppress(ConnectionClosed):
            await session.speak(audio, pace_s=0.02 * MODEL_PACE / pace.speed)

    model = await start_fake_realtime(
        nursery,
        api_key=MODEL_KEY,
        validate=False,  # a load, not a conformance test (tests/ check the protocol)
        fail_fast=False,
        auto_respond_to_response_create=respond,
    )

    async def converse_with_each() -> None:
        async with trio.open_nursery() as sessions:
            while True:
                sessions.start_soon(converse, await model.next_session(), pace)

    nursery.start_soon(converse_with_each)
    return model


async def converse(session: FakeSession, pace: Pace) -> None:
    """The model's ears for one call: the caller's speech in the audio starts a turn (which
    cuts the greeting short on a barge-in); 0.4 s of quiet ends it with a transcript and a
    ``get_hotel_info`` call, whose result the bridge sends back with a ``response.create``."""
    at = 0
    speaking = False
    quiet = 0
    try:
        while not session.closed.is_set():
            await trio.sleep(0.02 / pace.speed)
            audio = session.audio_in
            while at + FRAME <= len(audio):
                loud = audio[at : at + FRAME].translate(LOUD).count(1) >= 16
                at += FRAME
                if loud:
                    quiet = 0
                    if not speaking:
                        speaking = True
                        await session.speech_started(audio_start_ms=at // 8, cancel_active=True)
                elif speaking:
                    quiet += 1
                    if quiet == QUIET_FRAMES:
                        speaking = False
                        item = await session.speech_stopped(audio_end_ms=at // 8)
                        await session.input_transcript(LINE, item_id=item)
                        await session.call_function("get_hotel_info", {"topic": "check_out"})
    except ConnectionClosed:
        pass
    finally:  # the fake keeps every session: keep them small
        session.audio_in.clear()
        session.received.clear()
        session.sent.clear()


@dataclass
class SoakResult:
    backend: str
    sequential: int
    concurrent: int
    start: Figures
    base: Figures
    after: Figures
    peak: Figures
    tally: Counter[str]
    seconds: float
    left_active: int

    @property
    def rss_delta(self) -> float:
        return self.after.rss_mib - self.base.rss_mib

    def verdict(self) -> tuple[list[str], bool]:
        goal_mib = GOAL_RSS_MB * 1e6 / 2**20
        base, after = self.base, self.after
        calls = self.sequential + self.concurrent
        clean = self.tally["clean"]
        rows = [
            (
                "RSS over the warmed-up server",
                f"{base.rss_mib:.1f} → {after.rss_mib:.1f} MiB: {self.rss_delta:+.1f} MiB "
                f"({self.rss_delta * 1024 / max(1, calls):+.1f} KiB/call)",
                f"≤ +{GOAL_RSS_MB:.0f} MB ({goal_mib:.1f} MiB)",
                self.rss_delta <= goal_mib,
            ),
            (
                "open file descriptors",
                f"{base.fds} → {after.fds}: {after.fds - base.fds:+d}"
                + (f" ({', '.join(after.fds_added(base))})" if after.fds > base.fds else ""),
                f"back to {base.fds}",
                after.fds <= base.fds,
            ),
            (
                "threads",
                f"{base.threads} → {after.threads}: {after.threads - base.threads:+d}",
                f"back to {base.threads}",
                after.threads <= base.threads,
            ),
            (
                "child processes",
                f"{base.children} → {after.children}",
                f"back to {base.children}",
                after.children <= base.children,
            ),
            ("calls clean", f"{clean} of {calls}", "all", clean == calls),
            (
                "calls still active after the run",
                str(self.left_active),
                "0",
                self.left_active == 0,
            ),
        ]
        lines = [goal_line(*row) for row in rows]
        problems = {k: v for k, v in self.tally.items() if k != "clean"}
        if problems:
            lines.append("    not clean: " + ", ".join(f"{k} ×{v}" for k, v in problems.items()))
        lines.append(f"    peak during the concurrent calls: {self.peak}; at start: {self.start}")
        return lines, all(row[3] for row in rows)


async def soak_call(
    server: Server, lines: list[CallerLine], pace: Pace, barge_in: bool, tally: Counter[str]
) -> None:
    try:
        record = await place_call(server, lines, pace.speed, barge_in=barge_in)
    except SoftphoneError as exc:
        tally[f"not placed: {exc}"[:100]] += 1
        return
    if record.clean:
        tally["clean"] += 1
    else:
        tally[f"{record.outcome}, {len(record.violations)} violations"] += 1


async def settled(server: Server, settle_s: float) -> tuple[Figures, int]:
    """The server's figures once it has no call and ``settle_s`` more seconds have passed."""
    left = await wait_idle(server.url)
    await trio.sleep(settle_s)
    return figures(server.process.pid), left


async def soak_backend(
    backend: str,
    sequential: int,
    concurrent: int,
    args: argparse.Namespace,
    log: Path,
    lines: list[CallerLine],
) -> SoakResult:
    pace = Pace(args.speed)
    async with trio.open_nursery() as nursery:
        model_url = None
        if backend == "fake":
            model_url = (await start_soak_model(nursery, pace)).url
        with running_server(log=log, model_url=model_url, model_key=MODEL_KEY) as server:
            pid = server.process.pid
            start = figures(pid)
            began = time.monotonic()
            tally: Counter[str] = Counter()
            for i in range(args.warmup):
                await soak_call(server, lines, pace, i % 2 == 1, tally)
            base, _ = await settled(server, args.settle)
            print(
                f"    after {args.warmup} warm-up calls ({dict(tally)}), settled: {base}",
                flush=True,
            )
            tally.clear()
            for i in range(1, sequential + 1):
                await soak_call(server, lines, pace, i % 2 == 1, tally)
                if i % args.every == 0 or i == sequential:
                    now = figures(pid)
                    print(
                        f"    {i:5d} sequential calls: {now} ({now.rss_mib - base.rss_mib:+.1f} "
                        f"MiB); {i - tally['clean']} not clean; {time.monotonic() - began:5.0f} s",
                        flush=True,
                    )
            pace.speed = 1.0
            peak = figures(pid)

            async def sample_peak() -> None:
                nonlocal peak
                while True:
                    now = figures(pid)
                    peak = Figures(
                        max(peak.rss_mib, now.rss_mib),
                        max(peak.fds, now.fds),
                        max(peak.threads, now.threads),
                        max(peak.children, now.children),
                    )
                    await trio.sleep(0.5)

            async def delayed_call(delay: float, barge_in: bool) -> None:
                await trio.sleep(delay)
                await soak_call(server, lines, pace, barge_in, tally)

            for number in range(1, args.waves + 1):
                async with trio.open_nursery() as sampler:
                    sampler.start_soon(sample_peak)
                    async with trio.open_nursery() as wave:
                        for i in range(concurrent):
                            wave.start_soon(delayed_call, i * args.ramp / concurrent, i % 2 == 1)
                    sampler.cancel_scope.cancel()
                await wait_idle(server.url)
                now = figures(pid)
                print(
                    f"    wave {number} of {concurrent} concurrent calls, once idle: {now} "
                    f"({now.rss_mib - base.rss_mib:+.1f} MiB); "
                    f"{sequential + number * concurrent - tally['clean']} not clean in all; "
                    f"{time.monotonic() - began:5.0f} s",
                    flush=True,
                )
            after, left = await settled(server, args.settle)
            seconds = time.monotonic() - began
        nursery.cancel_scope.cancel()
    return SoakResult(
        backend, sequential, concurrent * args.waves, start, base, after, peak, tally, seconds, left
    )


async def soak(args: argparse.Namespace, log: Path) -> bool:
    lines = await trio.to_thread.run_sync(lambda: load_lines([parse_entry(LINE)]))
    backends = ["fake", "offline"] if args.backend == "both" else [args.backend]
    all_met = True
    for backend in backends:
        sequential = args.calls if backend == "fake" else args.offline_calls
        concurrent = args.concurrent if backend == "fake" else args.offline_concurrent
        name = "fake OpenAI Realtime model" if backend == "fake" else "offline engine"
        for run in range(1, args.runs + 1):
            print(
                f"\nSoak, {name}, run {run} of {args.runs}: {args.warmup} warm-up + "
                f"{sequential} sequential calls (call time ×{args.speed:g}) + {args.waves} × "
                f"{concurrent} concurrent (real time, started over {args.ramp:g} s); settle "
                f"{args.settle:g} s",
                flush=True,
            )
            result = await soak_backend(backend, sequential, concurrent, args, log, lines)
            lines_out, ok = result.verdict()
            all_met &= ok
            print(f"  {name}, run {run}: {result.seconds:.0f} s")
            for line in lines_out:
                print(line)
            print(f"  => {'every goal met' if ok else 'goal MISSED'}", flush=True)
    return all_met


# ----------------------------------------------------------------------------- fuzz


@dataclass
class FuzzTally:
    """What the fuzzer did and saw."""

    sent: Counter[str] = field(default_factory=Counter)  # malformed messages sent, by kind
    family: Counter[str] = field(default_factory=Counter)
    http: Counter[str] = field(default_factory=Counter)  # "kind: status"
    server_errors: int = 0  # HTTP 5xx
    closed_after: Counter[str] = field(default_factory=Counter)  # socket closed by the server
    refused: Counter[str] = field(default_factory=Counter)  # upgrades refused
    streams_started: int = 0
    start_failed: Counter[str] = field(default_factory=Counter)
    oversized_left: int = OVERSIZED_PER_RUN
    idle_opened: int = 0
    idle_refused: int = 0
    idle_closed_s: list[float] = field(default_factory=list)
    health_polls: int = 0
    health_failures: Counter[str] = field(default_factory=Counter)
    health_max_ms: float = 0.0
    died: bool = False
    last_sent_at: float = 0.0  # trio time of the last malformed message

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def count(self, family: str, kind: str) -> None:
        self.sent[kind] += 1
        self.family[family] += 1
        self.last_sent_at = trio.current_time()


class Pacer:
    """Spreads the messages evenly over the window: slot ``n`` at ``start + n / rate``."""

    def __init__(self, start: float, rate: float) -> None:
        self.start = start
        self.rate = rate
        self.issued = 0

    async def take(self) -> None:
        at = self.start + self.issued / self.rate
        self.issued += 1
        await trio.sleep_until(at)


@dataclass
class Fuzzer:
    server: Server
    rng: random.Random
    tally: FuzzTally
    pacer: Pacer
    target: int
    deadline: float  # trio time

    @property
    def ws_base(self) -> str:
        return f"ws://{HOST}:{self.server.port}"

    def more(self) -> bool:
        tally = self.tally
        return tally.total < self.target and trio.current_time() < self.deadline and not tally.died

    async def work(self, http: httpx.AsyncClient) -> None:
        while self.more():
            draw = self.rng.random()
            if draw < HTTP_SHARE:
                for _ in range(self.rng.randint(5, 30)):  # as many as a socket's messages
                    if not self.more():
                        break
                    await self.pacer.take()
                    await self.request(http)
            else:
                started = draw < HTTP_SHARE + (1 - HTTP_SHARE) * STARTED_SHARE
                await self.socket(http, started)

    async def request(self, http: httpx.AsyncClient) -> None:
        kind, req = http_request(self.rng, inbound_call_form(account_sid=ACCOUNT_SID))
        headers = dict(req.headers or {})
        form = req.form
        if req.sign and form is not None:
            signed, form = signed_webhook(PUBLIC_URL, req.path, AUTH_TOKEN, form)
            headers.update(signed)
        try:
            if req.body is not None:
                response = await http.request(
                    req.method, req.path, content=req.body, headers=headers
                )
            else:
                response = await http.request(req.method, req.path, data=form, headers=headers)
            outcome = str(response.status_code)
            self.tally.server_errors += response.status_code >= 500
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        self.tally.count("HTTP request", kind)
        self.tally.http[f"{kind}: {outcome}"] += 1

    async def genuine_start(self, http: httpx.AsyncClient, ids: Ids) -> dict[str, str] | None:
        """A signed webhook for ``ids.call_sid``: the TwiML's parameters (the stream token)."""
        form = inbound_call_form(call_sid=ids.call_sid, account_sid=ACCOUNT_SID)
        headers, form = signed_webhook(PUBLIC_URL, "/twilio/voice", AUTH_TOKEN, form)
        try:
            response = await http.post("/twilio/voice", data=form, headers=headers)
        except httpx.HTTPError as exc:
            self.tally.start_failed[f"webhook {type(exc).__name__}"] += 1
            return None
        if response.status_code != 200:
            self.tally.start_failed[f"webhook HTTP {response.status_code}"] += 1
            self.tally.server_errors += response.status_code >= 500
            return None
        try:
            return parse_stream_twiml(response.text).parameters
        except AssertionError:
            self.tally.start_failed["TwiML without a stream"] += 1
            return None

    async def socket(self, http: httpx.AsyncClient, started: bool) -> None:
        rng, tally = self.rng, self.tally
        hostile = rng.random() < 0.2
        call_sid = ("CA\n" + FORGED_LINE) if hostile else new_sid("CA")
        ids = Ids(new_sid("MZ"), call_sid, ACCOUNT_SID)
        parameters = await self.genuine_start(http, ids) if started else None
        family = "socket after a genuine start" if parameters is not None else "socket before start"
        catalogue = AFTER_START if parameters is not None else BEFORE_START
        kind = "upgrade"
        try:
            async with FakeTwilioCall.connect(
                self.ws_base,
                public_url=PUBLIC_URL,
                auth_token=AUTH_TOKEN,
                account_sid=ACCOUNT_SID,
                call_sid=ids.call_sid,
                stream_sid=ids.stream_sid,
                parameters=parameters or {},
            ) as call:
                try:
                    if parameters is not None:
                        kind = "genuine start"
                        await call.start()
                        tally.streams_started += 1
                    for _ in range(rng.randint(5, 60)):
                        if not self.more():
                            break
                        await self.pacer.take()
                        if tally.oversized_left and rng.random() < 0.001:
                            tally.oversized_left -= 1
                            kind, make = OVERSIZED
                        elif rng.random() < LARGE_SHARE:
                            kind, make = LARGE
                        else:
                            kind, make = rng.choice(catalogue)
                        # straight to the socket: the fake's send_raw parses what it sends
                        await call.ws.send_message(make(rng, ids))
                        tally.count(family, kind)
                    if parameters is not None and rng.random() < 0.3 and self.more():
                        kind = "media after stop"
                        await call.send_stop()
                        await call.ws.send_message(BEFORE_START[4][1](rng, ids))
                        tally.count(family, kind)
                except ConnectionClosed:
                    tally.closed_after[kind] += 1
        except ConnectionRejected as exc:
            tally.refused[f"HTTP {exc.status_code}"] += 1
        except (HandshakeError, ConnectionTimeout) as exc:
            tally.refused[type(exc).__name__] += 1

    async def idle_socket(self, until: float) -> None:
        """An upgraded socket that never sends anything, held until ``until`` (trio time)."""
        try:
            async with FakeTwilioCall.connect(
                self.ws_base, public_url=PUBLIC_URL, auth_token=AUTH_TOKEN
            ) as call:
                self.tally.idle_opened += 1
                opened = trio.current_time()
                with trio.move_on_at(until):
                    await call.closed.wait()
                if call.closed.is_set() and call.closed_by_server:
                    self.tally.idle_closed_s.append(trio.current_time() - opened)
        except (ConnectionRejected, HandshakeError, ConnectionTimeout):
            self.tally.idle_refused += 1

    async def watch_health(self, until: float) -> None:
        tally = self.tally
        async with httpx.AsyncClient(base_url=self.server.url, timeout=2.0) as client:
            while trio.current_time() < until:
                began = trio.current_time()
                try:
                    response = await client.get("/healthz")
                    if response.status_code != 200:
                        tally.health_failures[f"HTTP {response.status_code}"] += 1
                except httpx.HTTPError as exc:
                    tally.health_failures[type(exc).__name__] += 1
                tally.health_polls += 1
                tally.health_max_ms = max(tally.health_max_ms, (trio.current_time() - began) * 1e3)
                if not self.server.alive():
                    tally.died = True
                    return
                await trio.sleep_until(began + HEALTH_EVERY_S)


@dataclass
class LogFigures:
    bytes: int
    lines: int
    longest: int
    forged: int  # lines starting with a record forged by a value (FORGED_LINE)
    untimed: int  # other lines not starting with a timestamp (traceback lines among them)
    tracebacks: int
    levels: Counter[str]
    sources: Counter[str]  # bytes by what wrote them (level, logger, first words)

    @classmethod
    def read(cls, text: str) -> LogFigures:
        """Figures of the server's log, the bench's own ``/healthz`` polls left out."""
        kept = [line for line in text.splitlines() if '"GET /healthz ' not in line]
        levels: Counter[str] = Counter()
        sources: Counter[str] = Counter()
        source = "?"
        for line in kept:
            for level in ("WARNING", "ERROR", "CRITICAL"):
                if f" {level} " in line[:40] and not line.startswith(FORGED_LINE):
                    levels[level] += 1
            if line.startswith("["):
                source = "hypercorn " + (line.split("] ", 3)[2].strip("[]") + " access/error")
            elif _LOG_START.match(line) and not line.startswith(FORGED_LINE):
                level_logger_message = line.split(" ", 2)[2]
                source = _SID.sub("<sid>", level_logger_message)[:60]
            sources[source] += len(line.encode()) + 1  # lines without a timestamp: the last's
        return cls(
            bytes=sum(len(line.encode()) + 1 for line in kept),
            lines=len(kept),
            longest=max((len(line) for line in kept), default=0),
            forged=sum(1 for line in kept if line.startswith(FORGED_LINE)),
            untimed=sum(
                1
                for line in kept
                if not _LOG_START.match(line) and not line.startswith(FORGED_LINE)
            ),
            tracebacks=sum(1 for line in kept if _TRACEBACK.match(line)),
            levels=levels,
            sources=sources,
        )


@dataclass
class FuzzResult:
    tally: FuzzTally
    row: callbench.Row
    late: int  # good-call frames more than GOAL_LATE_MS late
    frames: int
    log: LogFigures
    alive: bool
    before: Figures
    after: Figures | None  # None: the server is gone
    exit_code: int | None  # the server's, if it died
    good_calls: int
    asked: int  # malformed messages asked for
    fuzz_seconds: float  # from the first to the last malformed message
    window_s: float
    load: tuple[float, float, float]

    def good_calls_lines(self) -> list[str]:
        row = self.row
        lines = [
            "    inbound (Twilio → model) p50/p99/max: "
            + ("/".join(f"{v:.1f}" for v in row.in_ms) + " ms" if row.in_ms else "n/a")
            + f"; harness lag p99/max: load generator {row.gen_lag[0]:.1f}/{row.gen_lag[1]:.1f}"
            f" ms, fake model {row.model_lag[0]:.1f}/{row.model_lag[1]:.1f} ms",
        ]
        if row.saturated:
            lines.append(
                f"    HARNESS SATURATED (its own send lag p99 over {callbench.SATURATED_LAG_MS:g} "
                "ms: the machine is busy): the lateness figures are not the server's alone"
            )
        return lines + [f"    good calls: {note}" for note in row.notes]

    def control_lines(self) -> list[str]:
        """The control run's figures: the good calls alone (goals as for a fuzz run)."""
        row, out = self.row, self.row.out_ms
        completed = self.good_calls - row.failed
        return [
            f"    good calls completed {completed} of {self.good_calls}; frames lost "
            f"{row.lost_in}/{row.lost_out} of {row.sent_in}/{row.sent_out}",
            f"    frames > {GOAL_LATE_MS:.0f} ms late (model → Twilio): {self.late} of "
            f"{self.frames}"
            + (f"; p50 {out[0]:.1f}, p99 {out[1]:.1f}, max {out[2]:.1f} ms" if out else ""),
            f"    log: {self.log.bytes} B, {self.log.lines} lines (the good calls' own); "
            f"load average {self.load[0]:.2f}",
            *self.good_calls_lines(),
        ]

    def verdict(self, control_log_bytes: int | None = None) -> tuple[list[str], bool]:
        """Each figure with its goal; the log's bytes are counted beyond the control run's
        (the good calls' own lines) when there was one."""
        t, row, log = self.tally, self.row, self.log
        total = t.total
        extra = log.bytes - (control_log_bytes or 0)
        per_message = extra / total if total else float("inf")
        beyond = (
            f" beyond the control's {control_log_bytes} B" if control_log_bytes is not None else ""
        )
        out = row.out_ms
        completed = self.good_calls - row.failed
        health_bad = sum(t.health_failures.values())
        rows = [
            ("malformed messages sent", str(total), f"≥ {self.asked}", total >= self.asked),
            (
                "server process alive at the end",
                "yes" if self.alive else f"NO (exit code {self.exit_code}: see its log)",
                "yes",
                self.alive,
            ),
            (
                "/healthz answering 200 throughout",
                f"{t.health_polls - health_bad} of {t.health_polls} polls",
                "all",
                health_bad == 0 and not t.died,
            ),
            ("HTTP 5xx answers", str(t.server_errors), "0", t.server_errors == 0),
            (
                "good calls completed",
                f"{completed} of {self.good_calls}",
                "all",
                completed == self.good_calls,
            ),
            (
                "good calls' frames lost (in/out)",
                f"{row.lost_in}/{row.lost_out} of {row.sent_in}/{row.sent_out}",
                "0",
                row.lost_in == 0 and row.lost_out == 0 and row.sent_out > 0,
            ),
            (
                f"frames > {GOAL_LATE_MS:.0f} ms late (model → Twilio)",
                f"{self.late} of {self.frames}"
                + (f"; p50 {out[0]:.1f}, p99 {out[1]:.1f}, max {out[2]:.1f} ms" if out else ""),
                "0",
                self.late == 0 and self.frames > 0,
            ),
            (
                "log bytes per malformed message",
                f"{per_message:.1f} ({log.bytes} B, {log.lines} lines{beyond})",
                f"≤ {GOAL_LOG_BYTES_PER_MESSAGE:.0f}",
                per_message <= GOAL_LOG_BYTES_PER_MESSAGE,
            ),
            (
                "longest log line",
                f"{log.longest} characters",
                f"≤ {GOAL_LONGEST_LINE}",
                log.longest <= GOAL_LONGEST_LINE,
            ),
            ("log lines forged by a value", str(log.forged), "0", log.forged == 0),
            ("tracebacks in the log", str(log.tracebacks), "0", log.tracebacks == 0),
            (
                "other log lines without a timestamp",
                f"{log.untimed} (traceback lines included)",
                "0",
                log.untimed == 0,
            ),
        ]
        lines = [goal_line(*r) for r in rows]
        closed = sorted(t.idle_closed_s)
        lines.append(
            f"    idle sockets (never send start): {t.idle_opened} opened, {t.idle_refused} "
            f"refused, {len(closed)} closed by the server"
            + (
                f" after {closed[len(closed) // 2]:.1f} s (median), {closed[-1]:.1f} s (max)"
                if closed
                else ""
            )
        )
        lines.append(
            f"    by family: {dict(t.family)}; {t.streams_started} streams started with a genuine "
            f"token; start failed: {dict(t.start_failed) or 'never'}"
        )
        lines.append(
            f"    sockets closed by the server after: {dict(t.closed_after) or 'none'}; "
            f"upgrades refused: {dict(t.refused) or 'none'}"
        )
        lines.append(f"    kinds sent: {dict(sorted(t.sent.items()))}")
        lines.append(f"    HTTP answers: {dict(sorted(t.http.items()))}")
        lines.append(
            f"    log levels: {dict(log.levels)}; /healthz slowest {t.health_max_ms:.0f} ms"
        )
        lines.append(
            "    most log bytes: "
            + "; ".join(f"{k!r} {v // 1024} KiB" for k, v in log.sources.most_common(5))
        )
        lines.append(
            f"    malformed messages over {self.fuzz_seconds:.1f} s of the {self.window_s:.0f}-s "
            f"window; load average {self.load[0]:.2f}; server before {self.before}, "
            f"after (settled) {self.after or 'gone'}"
        )
        lines += self.good_calls_lines()
        return lines, all(r[3] for r in rows)


def start_harness_model() -> tuple[subprocess.Popen[bytes], int]:
    """``bench/_calls/fake_model.py`` in a subprocess (its port)."""
    model = callbench.spawn(
        [sys.executable, "-m", "bench._calls.fake_model", "--host", HOST],
        env=callbench.helper_env(),
        cwd=callbench.REPO,
        stdout=subprocess.PIPE,
    )
    answer = callbench.read_line(model, 30, "fake model")
    if not answer.startswith("PORT "):
        raise BenchError(f"fake model said {answer!r}")
    return model, int(answer.split()[1])


def start_load_generator(port: int, calls: int, result: Path) -> subprocess.Popen[bytes]:
    """``bench/_calls/loadgen.py`` for ``calls`` good calls, once it says READY."""
    argv = [sys.executable, "-m", "bench._calls.loadgen", "--port", str(port)]
    argv += ["--total", str(calls), "--public-url", PUBLIC_URL, "--account-sid", ACCOUNT_SID]
    argv += ["--auth-token", AUTH_TOKEN, "--result", str(result)]
    generator = callbench.spawn(
        argv, env=callbench.helper_env(), cwd=callbench.REPO, stdout=subprocess.PIPE
    )
    if callbench.read_line(generator, 60, "load generator") != "READY":
        raise BenchError("load generator did not say READY")
    return generator


def log_since(log: Path, offset: int) -> str:
    with log.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode(errors="replace")


async def fuzz_run(args: argparse.Namespace, log: Path, seed: int, attack: bool) -> FuzzResult:
    """One fuzz run on a fresh server (``attack`` False: the good calls alone, the control)."""
    with tempfile.TemporaryDirectory(prefix="hotelvoice-fuzz-") as tmp:
        work = Path(tmp)
        model, model_port = start_harness_model()
        generator = None
        try:
            with running_server(
                log=log,
                model_url=f"ws://{HOST}:{model_port}/v1/realtime",
                model_key=MODEL_KEY,
                env={"HOTELVOICE_SILENCE_TIMEOUT": "3600"},  # the good calls' caller is silent
            ) as server:
                generator = start_load_generator(server.port, args.good_calls, work / "gen.json")
                result = await fuzz_window(args, server, generator, model, work, seed, attack)
        finally:
            for process in (generator, model):
                if process is not None:
                    callbench.stop_process(process)
    return result


async def fuzz_window(
    args: argparse.Namespace,
    server: Server,
    generator: subprocess.Popen[bytes],
    model: subprocess.Popen[bytes],
    work: Path,
    seed: int,
    attack: bool,
) -> FuzzResult:
    before = figures(server.process.pid)
    offset = server.log.stat().st_size
    clock = TrioClock()
    t0 = time.monotonic() + 0.3
    w1 = t0 + args.fuzz_seconds
    cutoff = w1 - 0.5
    # Window from t0: the good calls' ramp-up and setup are measured too.
    callbench.send_line(generator, f"GO {t0:.9f} {args.ramp:.9f} {t0:.9f} {w1:.9f} {cutoff:.9f}")
    start, end = clock.at(t0), clock.at(w1)
    tally = FuzzTally()
    rate = args.fuzz / (0.85 * args.fuzz_seconds)
    fuzzer = Fuzzer(server, random.Random(seed), tally, Pacer(start, rate), args.fuzz, end)
    limits = httpx.Limits(max_connections=FUZZ_WORKERS, max_keepalive_connections=FUZZ_WORKERS)
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=10.0, limits=limits) as http,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(fuzzer.watch_health, end + 5.0)
        await trio.sleep_until(start)
        if attack:
            for _ in range(args.idle_sockets):
                nursery.start_soon(fuzzer.idle_socket, end)
            async with trio.open_nursery() as workers:
                for _ in range(FUZZ_WORKERS):
                    workers.start_soon(fuzzer.work, http)
        else:
            await trio.sleep_until(end)
        fuzz_seconds = max(0.0, tally.last_sent_at - start)
        await trio.to_thread.run_sync(generator.wait, max(5.0, w1 + 30 - time.monotonic()))
        left = await wait_idle(server.url, 30.0)
        text = await trio.to_thread.run_sync(log_since, server.log, offset)
    if generator.returncode != 0:
        raise BenchError(f"the load generator failed (exit code {generator.returncode})")
    await trio.sleep(args.settle)
    try:
        after: Figures | None = figures(server.process.pid)
    except BenchError:
        after = None
    alive = server.alive()
    model_result = work / "model.json"
    callbench.send_line(model, f"DUMP {model_result} {t0:.9f} {w1:.9f} {cutoff:.9f}", close=True)
    await trio.to_thread.run_sync(model.wait, 60)
    row = callbench.Row(args.good_calls)
    gen_figures = json.loads((work / "gen.json").read_text())
    callbench.merge_results(row, [gen_figures], json.loads(model_result.read_text()))
    if left > 0:
        row.notes.append(f"{left} calls still active 30 s after the good calls ended")
    elif left < 0:
        row.notes.append("/healthz did not answer after the good calls ended")
    outbound = [lat for _, lat in row.series["outbound"]]
    late = sum(1 for lat in outbound if lat > GOAL_LATE_MS * 1000)
    return FuzzResult(
        tally=tally,
        row=row,
        late=late,
        frames=len(outbound),
        log=LogFigures.read(text),
        alive=alive,
        before=before,
        after=after,
        exit_code=server.process.poll(),
        good_calls=args.good_calls,
        asked=args.fuzz,
        fuzz_seconds=fuzz_seconds,
        window_s=args.fuzz_seconds,
        load=os.getloadavg(),
    )


async def fuzz(args: argparse.Namespace, log: Path) -> bool:
    all_met = True
    control_log_bytes = None
    if args.control:
        print(
            f"\nFuzz control: the same {args.good_calls} good calls over {args.fuzz_seconds:g} s "
            "with no malformed message (what this machine gives them alone)",
            flush=True,
        )
        began = time.monotonic()
        control = await fuzz_run(args, log, args.seed, attack=False)
        print(f"  control: {time.monotonic() - began:.0f} s")
        for line in control.control_lines():
            print(line)
        control_log_bytes = control.log.bytes
    for run in range(1, args.fuzz_runs + 1):
        print(
            f"\nFuzz, run {run} of {args.fuzz_runs}: {args.fuzz} malformed messages over "
            f"{args.fuzz_seconds:g} s, {args.idle_sockets} idle sockets, beside "
            f"{args.good_calls} good calls in real time (started over {args.ramp:g} s; fake "
            f"model speaking 1 s every 2 s)",
            flush=True,
        )
        began = time.monotonic()
        result = await fuzz_run(args, log, args.seed + run, attack=True)
        lines, ok = result.verdict(control_log_bytes)
        all_met &= ok
        print(f"  run {run}: {time.monotonic() - began:.0f} s")
        for line in lines:
            print(line)
        print(f"  => {'every goal met' if ok else 'goal MISSED'}", flush=True)
    return all_met


# ----------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=("fake", "offline", "both"), default="both")
    parser.add_argument("--calls", type=int, default=1000, help="sequential calls (1000)")
    parser.add_argument("--concurrent", type=int, default=50, help="concurrent calls (50)")
    parser.add_argument("--offline-calls", type=int, help="sequential, offline (--calls)")
    parser.add_argument("--offline-concurrent", type=int, help="concurrent, offline (--concurrent)")
    parser.add_argument("--warmup", type=int, default=20, help="calls before the baseline (20)")
    parser.add_argument("--speed", type=float, default=10.0, help="sequential call time ×(10)")
    parser.add_argument("--ramp", type=float, default=5.0, help="s to start concurrent calls (5)")
    parser.add_argument(
        "--settle",
        type=float,
        default=TRIO_THREAD_IDLE_S + 2,
        help=f"s idle before figures are taken ({TRIO_THREAD_IDLE_S + 2:g}: trio ends idle "
        f"worker threads after {TRIO_THREAD_IDLE_S:g})",
    )
    parser.add_argument("--every", type=int, default=100, help="print figures every N calls")
    parser.add_argument(
        "--waves", type=int, default=1, help="rounds of --concurrent calls, one after another (1)"
    )
    parser.add_argument("--runs", type=int, default=1, help="soak runs per backend (1)")
    parser.add_argument("--fuzz", type=int, default=10_000, help="malformed messages (10000)")
    parser.add_argument("--fuzz-seconds", type=float, default=40.0, help="fuzz window (40 s)")
    parser.add_argument("--good-calls", type=int, default=20, help="calls beside the fuzz (20)")
    parser.add_argument("--idle-sockets", type=int, default=200, help="sockets never starting")
    parser.add_argument("--fuzz-runs", type=int, default=3, help="fuzz runs (3)")
    parser.add_argument("--seed", type=int, default=13, help="the fuzzer's random seed")
    parser.add_argument(
        "--no-control",
        dest="control",
        action="store_false",
        help="skip the control run (the good calls alone, before the fuzz runs)",
    )
    parser.add_argument("--no-soak", action="store_true", help="the fuzz alone")
    parser.add_argument("--no-fuzz", action="store_true", help="the soak alone")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 40 + 10 calls per backend, 2,000 messages over 15 s, one fuzz run",
    )
    parser.add_argument("--log", type=Path, help="the server's log (default: a temporary file)")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.concurrent, args.warmup, args.every = 40, 10, 5, 20
        args.fuzz, args.fuzz_seconds, args.fuzz_runs, args.idle_sockets = 2000, 15.0, 1, 50
        args.good_calls = 10
    if args.offline_calls is None:
        args.offline_calls = args.calls
    if args.offline_concurrent is None:
        args.offline_concurrent = args.concurrent
    counts = (args.calls, args.concurrent, args.offline_calls, args.offline_concurrent)
    if min(counts) < 0 or args.warmup < 0 or args.every < 1 or not args.speed > 0:
        parser.error("call counts and --warmup must be ≥ 0, --every ≥ 1, --speed > 0")
    if args.fuzz < 1 or args.fuzz_seconds < 5 or args.good_calls < 1 or args.idle_sockets < 0:
        parser.error("--fuzz and --good-calls ≥ 1, --fuzz-seconds ≥ 5, --idle-sockets ≥ 0")
    if args.runs < 1 or args.waves < 1 or args.fuzz_runs < 1 or args.ramp < 0 or args.settle < 0:
        parser.error("--runs and --fuzz-runs ≥ 1, --ramp and --settle ≥ 0")
    return args


async def amain(args: argparse.Namespace, log: Path) -> bool:
    ok = True
    if not args.no_soak:
        ok &= await soak(args, log)
    if not args.no_fuzz:
        ok &= await fuzz(args, log)
    return ok


def bench_error(exc: BaseException) -> BenchError | None:
    """The BenchError in ``exc``, also inside (nested) exception groups."""
    if isinstance(exc, BenchError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = bench_error(inner)
            if found is not None:
                return found
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log = args.log or Path(tempfile.gettempdir()) / f"hotelvoice-soak-{os.getpid()}.log"
    print("hotelvoice soak and fuzz benchmark")
    print(f"  server log: {log} (INFO, appended to by every server this run starts)")
    print(
        f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; no pinning, normal "
        "priority; signatures on (signed webhooks and upgrades); server on 127.0.0.1"
    )
    began = time.monotonic()
    try:
        ok = trio.run(amain, args, log)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BaseException as exc:
        error = bench_error(exc)
        if error is None:
            raise
        print(f"bench/soak.py: {error} (server log: {log})", file=sys.stderr)
        return 1
    finally:
        callbench.stop_all()
    print(
        f"\n{'Every goal met' if ok else 'Some goal MISSED'} ({time.monotonic() - began:.0f} s "
        "in all)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
