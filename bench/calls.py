"""How many concurrent calls one core of hotelvoice carries: a sweep over N simulated calls.

Run from the repository root (it prints figures; it is not a test and asserts nothing):

    .venv/bin/python bench/calls.py                 # default sweep, about 3.5 minutes
    .venv/bin/python bench/calls.py --quick         # smoke run: N = 10, 50 for 8 s each
    .venv/bin/python bench/calls.py --calls 50 100 --seconds 30

For each N it starts a fresh ``hotelvoice serve`` pinned to one core (``taskset -c 0``), a scripted
fake OpenAI Realtime server and a load generator playing Twilio, both pinned to another core, so
the bridge has its core to itself. Calls ramp up over ``--ramp`` seconds; after ``--settle`` more
seconds the measured window of ``--seconds`` starts; then every call sends ``stop`` at once.

Each simulated call: signed webhook POST, signed WebSocket upgrade, ``connected``, ``start``,
then a 160-byte μ-law frame every 20 ms on an absolute schedule, marks echoed when a model of
Twilio's playout queue (8 bytes/ms) reaches them. The fake model answers with a 1-s response
(50 deltas of 160 bytes, 20 ms apart) every 2 s per call. Every frame in either direction is
tagged with its call, its index and its send time (CLOCK_MONOTONIC, shared by all processes):

* inbound latency: generator send → fake model receive; outbound: model send → generator receive;
* frames lost: frames sent in the window (up to 0.5 s before ``stop``) never seen at the far end;
* crosstalk: a frame arriving on a call other than the one it is tagged for (both directions);
* bridge CPU: utime+stime from /proc/PID/stat (with child processes) over the window, as % of
  one core; RSS: VmRSS at the end of the window; per-call figures against the smallest N;
* harness lag: actual send time minus scheduled time, in the generator and in the fake model.
  A row whose harness lag p99 exceeds 5 ms gets "harness saturated" instead of a verdict.

Columns: ``lost in/out`` caller frames / model deltas lost; ``xtalk`` frames on the wrong call;
``fail`` calls that did not run their course (webhook, upgrade, or closed by the bridge before
``stop``); ``per call`` the bridge's CPU divided by N (``≥`` once its core is full) and the RSS
added per call against the smallest N; ``setup p99`` webhook + upgrade + ``start`` during the
ramp; ``harness CPU`` the fake model and the generator(s) together, on their CPU.

On a shared machine other processes would add their scheduling delays to the bridge's latency;
by default everything runs at SCHED_FIFO 1 (``--priority``; needs root or CAP_SYS_NICE, else it
falls back to nice -10) and each row notes how much of our CPUs others used. The harness is
built to stay far below its core (one epoll thread per process, see ``bench/_calls/wire.py``).
``--speak-every 0`` measures the caller-to-model path alone; ``--profile DIR`` adds a py-spy
profile of the bridge per N.

``--compare-sample`` runs the same sweep, on the same pinning and with the same harness, against
Twilio's Python sample (twilio-samples/speech-assistant-openai-realtime-api-python: FastAPI,
uvicorn, websockets), and prints a side-by-side verdict measured in that run. The sample's main.py
is copied from a local mirror or ``--sample-dir`` into a temporary directory and patched there to
use the fake model (see ``bench/_calls/twilio_sample.py``); its dependencies are pip-installed
into this virtualenv on first use. The sample gets an unsigned webhook ``/incoming-call`` and
upgrade to ``/media-stream``; it never sends ``response.create``, so the fake model speaks from
the first caller frame on (as server VAD would answer a caller who keeps talking).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PUBLIC_URL = "https://hotel.example.com"
ACCOUNT_SID = "AC" + "0b5e7c41d2a3" + "9f" * 10
AUTH_TOKEN = "bench0auth0token0f00dfeed0c0ffee"
OPENAI_API_KEY = "sk-bench"
DEFAULT_CALLS = (10, 25, 50, 75, 100, 150, 200)
QUICK_CALLS = (10, 50)
GOAL_N = 100
GOAL_P99_MS = 20.0
GOAL_CPU_PER_CALL = 0.4  # % of one core
GOAL_MIB_PER_CALL = 0.1
SATURATED_LAG_MS = 5.0
FOREIGN_NOTE_PCT = 5.0  # other processes' use of our CPUs worth a note
BRIDGE_FULL_PCT = 90.0  # bridge CPU at or above this: its core is saturated
DRAIN_S = 15.0  # after the generators end, wait this long for the bridge to close its calls
LOSS_MARGIN_S = 0.5  # frames sent this close to `stop` may legitimately be dropped with the call
# Twilio's speech-assistant-openai-realtime-api-python on this kind of 2-core machine.
SAMPLE = {"holds": 50, "fails_from": 75, "cpu_per_call": 0.64, "mib_per_call": 0.08}
CLK_TCK = os.sysconf("SC_CLK_TCK")
QUIET = ("--log-level", "WARNING")
_children: list[subprocess.Popen[bytes]] = []


# ----------------------------------------------------------------------------- processes


class BenchError(Exception):
    """A setup step failed (the service did not start, a helper died...)."""


@dataclass
class Pinning:
    bridge_cpu: int | None
    harness_cpu: int | None
    taskset: str | None
    note: str

    def command(self, cpu: int | None, argv: list[str]) -> list[str]:
        if cpu is None or self.taskset is None:
            return argv
        return [self.taskset, "-c", str(cpu), *argv]

    def after_start(self, cpu: int | None, pid: int) -> None:
        if cpu is not None and self.taskset is None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(pid, {cpu})


def choose_pinning(bridge_cpu: int | None, harness_cpu: int | None) -> Pinning:
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = list(range(os.cpu_count() or 1))
    taskset = shutil.which("taskset")
    how = "taskset -c" if taskset else "os.sched_setaffinity (taskset not found)"
    if len(allowed) < 2:
        return Pinning(
            None,
            None,
            None,
            f"only {len(allowed)} CPU available: NOT pinned, bridge and harness "
            "share it, so figures are pessimistic for the bridge",
        )
    bridge = allowed[0] if bridge_cpu is None else bridge_cpu
    harness = next(c for c in allowed if c != bridge) if harness_cpu is None else harness_cpu
    if not hasattr(os, "sched_setaffinity") and taskset is None:
        return Pinning(None, None, None, "no taskset and no sched_setaffinity: NOT pinned")
    note = f"bridge on CPU {bridge}, fake model + load generator(s) on CPU {harness} ({how})"
    if len(allowed) > 2:
        note += f"; {len(allowed) - 2} more CPU(s) left idle"
    return Pinning(bridge, harness, taskset, note)


def raise_priority(how: str) -> str:
    """Give this process (and so every child: policy and niceness are inherited) priority over
    other work on the machine; says what it got. Other processes on our CPUs would otherwise
    add their scheduling delays to the bridge's latency and to the harness's lag."""
    if how == "realtime":
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except (OSError, AttributeError) as exc:
            got = raise_priority("nice")
            return f"{got} (SCHED_FIFO refused: {exc})"
        return (
            "SCHED_FIFO 1 for the bridge, the harness and this script (the kernel still keeps "
            "5 % of each CPU for other work)"
        )
    if how == "nice":
        try:
            os.setpriority(os.PRIO_PROCESS, 0, -10)
        except (OSError, AttributeError) as exc:
            return f"normal (could not set nice -10: {exc}); other load on our CPUs counts"
        return "nice -10 for the bridge, the harness and this script"
    return "normal (--priority normal): other load on our CPUs counts"


def _load_prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl() if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if this script dies, even by SIGKILL."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG; survives the exec of taskset and ours


def spawn(
    argv: list[str], *, env: dict[str, str], cwd: Path, stdout: Any
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is not subprocess.PIPE else None,
        cwd=cwd,
        env=env,
        start_new_session=True,  # Ctrl-C reaches only us; we end the children ourselves
        preexec_fn=_die_with_parent,
    )
    _children.append(process)
    return process


def stop_process(process: subprocess.Popen[bytes], *, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; only processes this script started."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(5)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    if process in _children:
        _children.remove(process)


def stop_all() -> None:
    for process in _children.copy():  # stop_process removes each from _children
        stop_process(process, grace=2.0)


def read_line(process: subprocess.Popen[bytes], timeout: float, what: str) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise BenchError(f"{what}: no answer within {timeout:.0f} s")
    line = process.stdout.readline().decode(errors="replace").strip()
    if not line:
        raise BenchError(f"{what} exited (code {process.wait(5)}) before it was ready")
    return line


def send_line(process: subprocess.Popen[bytes], line: str, *, close: bool = False) -> None:
    assert process.stdin is not None
    process.stdin.write(line.encode() + b"\n")
    process.stdin.flush()
    if close:
        process.stdin.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def helper_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def service_env(model_port: int) -> dict[str, str]:
    prefixes = ("HOTELVOICE_", "TWILIO_", "OPENAI_", "HOTEL_", "PUBLIC_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        PUBLIC_URL=PUBLIC_URL,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_BASE="http://127.0.0.1:9",  # nothing leaves loopback (no REST call is expected)
        OPENAI_API_KEY=OPENAI_API_KEY,
        OPENAI_REALTIME_URL=f"ws://{HOST}:{model_port}/v1/realtime",
        HOTELVOICE_SILENCE_TIMEOUT="3600",
    )
    return env


def service_command() -> list[str]:
    script = Path(sys.executable).parent / "hotelvoice"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "hotelvoice"]


def wait_healthy(
    port: int,
    service: subprocess.Popen[bytes],
    timeout: float,
    *,
    path: str = "/healthz",
    name: str = "hotelvoice serve",
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise BenchError(f"{name} exited with code {service.returncode}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=1) as answer:
                body: dict[str, Any] = json.loads(answer.read())
                return body
        except (OSError, ValueError, urllib.error.URLError):
            time.sleep(0.1)
    raise BenchError(f"{name}: {path} not answering after {timeout:.0f} s")


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start_profiler(
    pid: int, output: Path, seconds: float, pin: Pinning, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """py-spy on the harness CPU, sampling the bridge without pausing it (--nonblocking)."""
    binary = py_spy()
    assert binary is not None
    argv = [binary, "record", "--pid", str(pid), "--rate", "250", "--nonblocking"]
    argv += ["--duration", str(max(1, int(seconds))), "--format", "raw", "--output", str(output)]
    profiler = spawn(
        pin.command(pin.harness_cpu, argv), env=env, cwd=REPO, stdout=subprocess.DEVNULL
    )
    pin.after_start(pin.harness_cpu, profiler.pid)
    return profiler


# ----------------------------------------------------------------------------- /proc


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc/*/stat parent links)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def cpu_ticks(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total


def cpu_user_system_ticks(cpu: int | None) -> int:
    """user+nice+system ticks of one CPU from /proc/stat (0 when unknown)."""
    if cpu is None:
        return 0
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(f"cpu{cpu} "):
            user, nice, system = (int(v) for v in line.split()[1:4])
            return user + nice + system
    return 0


def rss_mib(pids: Sequence[int]) -> float:
    total_kib = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
    return total_kib / 1024


# ----------------------------------------------------------------------------- one point


@dataclass
class Row:
    n: int
    in_ms: tuple[float, float, float] | None = None
    out_ms: tuple[float, float, float] | None = None
    lost_in: int = 0
    lost_out: int = 0
    sent_in: int = 0
    sent_out: int = 0
    crosstalk: int = 0
    failed: int = 0
    cpu_pct: float = 0.0
    rss_idle: float = 0.0
    rss_mib: float = 0.0
    gen_lag: tuple[float, float] = (0.0, 0.0)
    model_lag: tuple[float, float] = (0.0, 0.0)
    harness_cpu: float = 0.0
    foreign_bridge_cpu: float = 0.0  # % of the bridge's CPU used by processes not ours
    foreign_harness_cpu: float = 0.0
    setup_p99_ms: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    profile: Path | None = None
    window_end_wall: float | None = None  # time.time() when the window closed
    expect_out: bool = True  # False when the fake model is silent (--speak-every 0)
    # (ms after the window opened, latency µs) of every frame, for --raw
    series: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def saturated(self) -> bool:
        return max(self.gen_lag[0], self.model_lag[0]) > SATURATED_LAG_MS

    @property
    def holds(self) -> bool:
        return (
            self.error is None
            and self.in_ms is not None
            and self.in_ms[1] <= GOAL_P99_MS
            and (self.out_ms[1] <= GOAL_P99_MS if self.out_ms else not self.expect_out)
            and self.lost_in == 0
            and self.lost_out == 0
            and self.crosstalk == 0
            and self.failed == 0
            and self.sent_in > 0
            and (self.sent_out > 0 or not self.expect_out)
        )

    def why_not(self) -> str:
        if self.error is not None:
            return self.error
        reasons = []
        if self.in_ms is None or self.in_ms[1] > GOAL_P99_MS:
            reasons.append("p99 in " + (f"{self.in_ms[1]:.1f} ms" if self.in_ms else "n/a"))
        if (self.out_ms is None and self.expect_out) or (
            self.out_ms is not None and self.out_ms[1] > GOAL_P99_MS
        ):
            reasons.append("p99 out " + (f"{self.out_ms[1]:.1f} ms" if self.out_ms else "n/a"))
        if self.lost_in or self.lost_out:
            reasons.append(f"lost {self.lost_in}/{self.lost_out}")
        if self.crosstalk:
            reasons.append(f"crosstalk {self.crosstalk}")
        if self.failed:
            reasons.append(f"{self.failed} calls failed")
        if not self.sent_in or (self.expect_out and not self.sent_out):
            reasons.append("no audio measured")
        return ", ".join(reasons)


@dataclass
class Config:
    seconds: float
    ramp: float
    settle: float
    generators: int
    pinning: Pinning
    keep_logs: bool = False
    profile_dir: Path | None = None
    raw_dir: Path | None = None
    speak_every: float = 2.0
    speak_seconds: float = 1.0
    realtime: bool = False
    sample: Any = None  # a twilio_sample.Sample: run Twilio's sample instead of hotelvoice


def percentiles_ms(samples_us: list[int]) -> tuple[float, float, float] | None:
    if not samples_us:
        return None
    ordered = sorted(samples_us)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))] / 1e3

    return rank(0.50), rank(0.99), ordered[-1] / 1e3


def sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def run_point(n: int, cfg: Config) -> Row:
    """One N: fresh model, fresh service, generators; returns the measured row."""
    row = Row(n, expect_out=cfg.speak_every > 0)
    with tempfile.TemporaryDirectory(prefix="hv-bench-") as tmp:
        work = Path(tmp)
        log_path = work / "service.log"
        try:
            _run_point(n, cfg, row, work, log_path)
        except BenchError as exc:
            row.error = str(exc)
        except (OSError, ValueError, KeyError) as exc:  # e.g. a helper's result file is unusable
            row.error = f"{type(exc).__name__}: {exc}"
        finally:
            stop_all()
        during, after = _service_problems(log_path, row.window_end_wall)
        if during:
            row.notes.append(f"service log until the window closed: {during}")
        if after:
            row.notes.append(f"service log after the window (teardown): {after}")
        if row.error is not None and log_path.exists():
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            row.notes.append("service log tail:\n      " + "\n      ".join(tail))
        if cfg.keep_logs and log_path.exists():
            kept = Path(tempfile.gettempdir()) / f"hv-bench-service-{n}.log"
            shutil.copy(log_path, kept)
            row.notes.append(f"service log kept at {kept}")
    return row


_LOG_TIME = re.compile(r"^\[?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def _service_problems(log_path: Path, window_end: float | None) -> tuple[str, str]:
    """Warnings/errors of the service log, split at the end of the measured window (wall time;
    lines without a timestamp, e.g. traceback lines, go with the line before them)."""
    if not log_path.exists():
        return "", ""
    cut = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(window_end))
        if window_end is not None
        else None
    )
    levels: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    first: tuple[dict[str, str], dict[str, str]] = ({}, {})
    late = False
    for line in log_path.read_text(errors="replace").splitlines():
        stamp = _LOG_TIME.match(line)
        if stamp is not None and cut is not None:
            late = stamp.group(1) > cut
        for level in ("WARNING", "ERROR", "CRITICAL", "Traceback"):
            if level in line:
                levels[late][level] += 1
                first[late].setdefault(level, line.strip()[:160])
    during, after = (
        "; ".join(
            f"{count} {level} (first: {first[i][level]})" for level, count in levels[i].items()
        )
        for i in (0, 1)
    )
    return during, after


def drain_calls(port: int, timeout: float) -> int:
    """Wait until the bridge reports no active call; returns how many are left."""
    deadline = time.monotonic() + timeout
    active = -1
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as answer:
                active = int(json.loads(answer.read()).get("calls_active") or 0)
        except (OSError, ValueError, urllib.error.URLError):
            active = -1
        if active == 0:
            return 0
        time.sleep(0.2)
    return active


def _run_point(n: int, cfg: Config, row: Row, work: Path, log_path: Path) -> None:
    pin = cfg.pinning
    env = helper_env()
    python = sys.executable
    speech = ["--speak-every", str(cfg.speak_every), "--speak-seconds", str(cfg.speak_seconds)]
    if cfg.sample is not None:
        speech.append("--speak-unprompted")
    model = spawn(
        pin.command(
            pin.harness_cpu,
            [python, "-m", "bench._calls.fake_model", "--host", HOST, *speech],
        ),
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
    )
    pin.after_start(pin.harness_cpu, model.pid)
    answer = read_line(model, 30, "fake model")
    if not answer.startswith("PORT "):
        raise BenchError(f"fake model said {answer!r}")
    model_port = int(answer.split()[1])

    port = free_port()
    name = "hotelvoice serve" if cfg.sample is None else "Twilio's sample (uvicorn)"
    if cfg.sample is None:
        argv = [*service_command(), "serve", "--host", HOST, "--port", str(port), *QUIET]
    else:
        argv = cfg.sample.command(python, HOST, port)
    with log_path.open("wb") as log:
        service = spawn(
            pin.command(pin.bridge_cpu, argv),
            env=service_env(model_port),
            cwd=work,  # no stray .env from the checkout
            stdout=log,
        )
    pin.after_start(pin.bridge_cpu, service.pid)
    if cfg.sample is None:
        health = wait_healthy(port, service, 60)
        if health.get("backend") in (None, "none"):
            row.notes.append(f"/healthz says backend {health.get('backend')!r}")
    else:
        wait_healthy(port, service, 60, path="/", name=name)

    generators = []
    results = []
    procs = max(1, min(cfg.generators, n))
    for proc in range(procs):
        result = work / f"loadgen{proc}.json"
        results.append(result)
        argv = [python, "-m", "bench._calls.loadgen", "--port", str(port), "--total", str(n)]
        argv += ["--proc", str(proc), "--procs", str(procs), "--public-url", PUBLIC_URL]
        argv += ["--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN, "--result", str(result)]
        if cfg.sample is not None:
            argv += ["--mode", "sample"]
        generator = spawn(
            pin.command(pin.harness_cpu, argv), env=env, cwd=REPO, stdout=subprocess.PIPE
        )
        pin.after_start(pin.harness_cpu, generator.pid)
        generators.append(generator)
    for generator in generators:
        if read_line(generator, 60, "load generator") != "READY":
            raise BenchError("load generator did not say READY")

    service_pids = process_tree(service.pid)
    time.sleep(0.5)
    row.rss_idle = rss_mib(service_pids)
    t0 = time.monotonic() + 0.2
    w0 = t0 + cfg.ramp + cfg.settle
    w1 = w0 + cfg.seconds
    cutoff = w1 - min(LOSS_MARGIN_S, cfg.seconds / 2)
    for generator in generators:
        send_line(generator, f"GO {t0:.9f} {cfg.ramp:.9f} {w0:.9f} {w1:.9f} {cutoff:.9f}")

    harness = [model.pid, *(g.pid for g in generators)]
    ours = [os.getpid(), *harness]

    def sample() -> tuple[float, int, int, int, int, int, int]:
        service_pids = process_tree(service.pid)
        return (
            time.monotonic(),
            cpu_ticks(service_pids),
            cpu_ticks(harness),
            cpu_ticks(ours),
            cpu_user_system_ticks(pin.bridge_cpu),
            cpu_user_system_ticks(pin.harness_cpu),
            cpu_ticks([model.pid]),
        )

    sleep_until(w0)
    start = sample()
    profiler = None
    if cfg.profile_dir is not None:
        profile_path = cfg.profile_dir / f"bridge-{n}.collapsed.txt"
        profiler = start_profiler(service.pid, profile_path, cfg.seconds, pin, env)
    sleep_until(w1)
    end = sample()
    row.window_end_wall = time.time()
    if profiler is not None:
        try:
            profiler.wait(30)
        except subprocess.TimeoutExpired:
            stop_process(profiler)
        row.profile = profile_path if profile_path.exists() else None
    row.rss_mib = rss_mib(process_tree(service.pid))
    elapsed = end[0] - start[0]
    delta = [(e - s) / CLK_TCK / elapsed * 100 for s, e in zip(start, end, strict=True)]
    row.cpu_pct, row.harness_cpu = delta[1], delta[2]
    row.notes.append(
        f"harness CPU: fake model {delta[6]:.0f} %, load generator(s) {delta[2] - delta[6]:.0f} %"
    )
    if pin.bridge_cpu is not None:
        row.foreign_bridge_cpu = max(0.0, delta[4] - delta[1])
        row.foreign_harness_cpu = max(0.0, delta[5] - delta[3])
        if row.foreign_bridge_cpu > FOREIGN_NOTE_PCT or row.foreign_harness_cpu > FOREIGN_NOTE_PCT:
            row.notes.append(
                f"other processes used {row.foreign_bridge_cpu:.0f} % of the bridge's CPU and "
                f"{row.foreign_harness_cpu:.0f} % of the harness CPU during the window"
                + (
                    " (real-time priority: they only had what ours left idle)"
                    if cfg.realtime
                    else ": MACHINE BUSY, latency figures are pessimistic"
                )
            )
    if service.poll() is not None:
        raise BenchError(f"{name} died during the run (code {service.returncode})")

    deadline = w1 + 30
    for generator in generators:
        try:
            generator.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise BenchError("a load generator did not finish within 30 s of stop") from None
        if generator.returncode != 0:
            raise BenchError(f"a load generator failed (exit code {generator.returncode})")
    # Twilio's sample has no call count to poll: give it a moment to close its model sockets.
    if cfg.sample is None:
        left = drain_calls(port, DRAIN_S)
    else:
        time.sleep(1.0)
        left = 0
    if left:
        row.notes.append(
            f"the bridge still had {left if left > 0 else 'an unknown number of'} calls "
            f"{DRAIN_S:.0f} s after the generators finished"
        )
    model_result = work / "model.json"
    send_line(model, f"DUMP {model_result} {w0:.9f} {w1:.9f} {cutoff:.9f}", close=True)
    try:
        model.wait(60)
    except subprocess.TimeoutExpired:
        raise BenchError("the fake model did not write its figures within 60 s") from None
    stop_process(service)
    gens = [json.loads(r.read_text()) for r in results]
    merge_results(row, gens, json.loads(model_result.read_text()))


def merge_results(row: Row, gens: list[dict[str, Any]], model: dict[str, Any]) -> None:
    """Fill ``row`` from the load generators' and the fake model's figures (their JSON)."""
    out_lat: list[int] = []
    out_at: list[int] = []
    gen_lag: list[int] = []
    setup: list[float] = []
    in_sent: dict[str, int] = {}
    out_seen: dict[str, int] = {}
    failures: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for gen in gens:
        out_lat += gen["out_lat_us"]
        out_at += gen["out_at_ms"]
        gen_lag += gen["gen_lag_us"]
        setup += gen["setup_ms"]
        in_sent.update(gen["in_sent"])
        out_seen.update(gen["out_seen"])
        failures.update(gen["failures"])
        counts.update(gen["counts"])
    model_counts: Counter[str] = Counter(model["counts"])
    row.in_ms = percentiles_ms(model["in_lat_us"])
    row.series = {
        "inbound": list(zip(model["in_at_ms"], model["in_lat_us"], strict=True)),
        "outbound": list(zip(out_at, out_lat, strict=True)),
    }
    row.out_ms = percentiles_ms(out_lat)
    in_seen: dict[str, int] = model["in_seen"]
    out_sent: dict[str, int] = model["out_sent"]
    row.sent_in = sum(in_sent.values())
    row.sent_out = sum(out_sent.values())
    row.lost_in = sum(max(0, sent - in_seen.get(call, 0)) for call, sent in in_sent.items())
    row.lost_out = sum(max(0, sent - out_seen.get(call, 0)) for call, sent in out_sent.items())
    row.crosstalk = counts["out_crosstalk"] + model_counts["in_crosstalk"]
    row.failed = sum(failures.values())
    gen_ms = percentiles_ms(gen_lag)
    model_ms = percentiles_ms(model["model_lag_us"])
    row.gen_lag = (gen_ms[1], gen_ms[2]) if gen_ms else (0.0, 0.0)
    row.model_lag = (model_ms[1], model_ms[2]) if model_ms else (0.0, 0.0)
    setup_ms = percentiles_ms([int(s * 1000) for s in setup])
    row.setup_p99_ms = setup_ms[1] if setup_ms else 0.0
    if failures:
        row.notes.append("call failures: " + ", ".join(f"{k} ×{v}" for k, v in failures.items()))
    odd = {
        k: v
        for k, v in (counts + model_counts).items()
        if "corrupt" in k or "duplicates" in k or "unexpected" in k or "bad" in k
    }
    odd.update({k: v for k, v in model_counts.items() if k in ("handshake_failed", "send_failed")})
    if model["in_duplicates"]:
        odd["inbound duplicates"] = model["in_duplicates"]
    if odd:
        row.notes.append("anomalies: " + ", ".join(f"{k}: {v}" for k, v in sorted(odd.items())))
    bound = model_counts["connections_bound"]
    if bound != row.n - row.failed:
        row.notes.append(f"model sessions carrying audio: {bound} of {row.n}")
    row.notes.append(
        f"traffic: {row.sent_in} caller frames and {row.sent_out} model deltas in the loss window; "
        f"marks {counts['marks received']} received / {counts['marks echoed']} echoed; "
        f"clears {counts['clears']}"
    )


# ----------------------------------------------------------------------------- report


def _fmt3(values: tuple[float, float, float] | None) -> str:
    if values is None:
        return f"{'n/a':>20}"
    return f"{values[0]:6.1f} {values[1]:6.1f} {values[2]:6.1f}"


HEADER = (
    "      |  inbound ms          |  outbound ms         | lost    |       |      "
    "| bridge (1 core)      | per call       | setup | harness lag p99/max ms   | harness\n"
    "    N |    p50    p99    max |    p50    p99    max | in/out  | xtalk | fail "
    "|  CPU%  RSS MiB (idle)| CPU%   MiB     | p99 ms| generator    fake model  |  CPU% | verdict"
)


def format_row(row: Row, base: Row | None) -> str:
    if row.error is not None and row.in_ms is None:
        return f"{row.n:5d} | error: {row.error}"
    per_call_cpu = f"{row.cpu_pct / row.n:5.2f}"
    if row.cpu_pct >= BRIDGE_FULL_PCT:  # the core is full: the per-call share is a lower bound
        per_call_cpu = f"≥{row.cpu_pct / row.n:4.2f}"
    if base is not None and base is not row and row.n > base.n:
        per_call_mib = f"{(row.rss_mib - base.rss_mib) / (row.n - base.n):6.3f}"
    else:
        per_call_mib = "   —  "
    if row.saturated:
        verdict = "harness saturated"
    elif row.holds:
        verdict = "holds"
    else:
        verdict = "fails: " + row.why_not()
    return (
        f"{row.n:5d} | {_fmt3(row.in_ms)} | {_fmt3(row.out_ms)} "
        f"| {row.lost_in:3d}/{row.lost_out:<3d} "
        f"| {row.crosstalk:5d} | {row.failed:4d} | {row.cpu_pct:5.1f} {row.rss_mib:6.1f} "
        f"({row.rss_idle:5.1f}) | {per_call_cpu} {per_call_mib} | {row.setup_p99_ms:5.0f} "
        f"| {row.gen_lag[0]:4.1f}/{row.gen_lag[1]:<6.1f} {row.model_lag[0]:4.1f}/"
        f"{row.model_lag[1]:<6.1f} | {row.harness_cpu:5.1f} | {verdict}"
    )


def verdict(rows: list[Row], sample_rows: list[Row] | None = None) -> list[str]:
    if sample_rows is not None:
        return compared_verdict(rows, sample_rows)
    lines = [
        "",
        f"Verdict against the goals at N = {GOAL_N} on one core, side by side with Twilio's "
        "Python sample (speech-assistant-openai-realtime-api-python) on the same kind of "
        "2-core machine:",
    ]
    measured = [r for r in rows if r.in_ms is not None]
    base = min(measured, key=lambda r: r.n) if measured else None
    goal = next((r for r in rows if r.n == GOAL_N), None)
    sample_p99 = f"holds {SAMPLE['holds']}, fails from {SAMPLE['fails_from']}"
    if goal is None:
        lines.append(f"  N = {GOAL_N} was not in this sweep: no verdict (add it to --calls).")
    elif goal.saturated:
        lines.append(
            f"  harness saturated at N = {GOAL_N} (lag p99 generator {goal.gen_lag[0]:.1f} ms, "
            f"fake model {goal.model_lag[0]:.1f} ms > {SATURATED_LAG_MS:.0f} ms): no verdict."
        )
    elif goal.in_ms is None:
        lines.append(f"  N = {GOAL_N} did not run: {goal.error}")
    else:
        checks: list[tuple[str, str, str, bool | None, str]] = []
        for name, values in (("p99 inbound", goal.in_ms), ("p99 outbound", goal.out_ms)):
            p99 = values[1] if values else None
            shown = f"{p99:.1f} ms" if p99 is not None else "n/a"
            ok = (p99 is not None and p99 <= GOAL_P99_MS) or (p99 is None and not goal.expect_out)
            checks.append((name, f"≤ {GOAL_P99_MS:.0f} ms", shown, ok, sample_p99))
        checks.append(
            (
                "frames lost in/out",
                "0",
                f"{goal.lost_in}/{goal.lost_out} of {goal.sent_in}/{goal.sent_out}",
                goal.lost_in == 0 and goal.lost_out == 0 and goal.sent_in > 0,
                "",
            )
        )
        checks.append(
            ("audio on the wrong call", "0", str(goal.crosstalk), goal.crosstalk == 0, "")
        )
        checks.append(("failed calls", "0", str(goal.failed), goal.failed == 0, ""))
        cpu = goal.cpu_pct / goal.n
        bound = "≥ " if goal.cpu_pct >= BRIDGE_FULL_PCT else ""
        checks.append(
            (
                "CPU per call",
                f"≤ {GOAL_CPU_PER_CALL} % of a core",
                f"{bound}{cpu:.2f} %",
                cpu <= GOAL_CPU_PER_CALL,
                f"{SAMPLE['cpu_per_call']} %",
            )
        )
        if base is not None and base.n < goal.n:
            mib = (goal.rss_mib - base.rss_mib) / (goal.n - base.n)
            checks.append(
                (
                    "RSS per added call",
                    f"≤ {GOAL_MIB_PER_CALL} MiB",
                    f"{mib:.3f} MiB (vs N = {base.n})",
                    mib <= GOAL_MIB_PER_CALL,
                    f"{SAMPLE['mib_per_call']} MiB",
                )
            )
        else:
            checks.append(
                ("RSS per added call", f"≤ {GOAL_MIB_PER_CALL} MiB", "needs a smaller N", None, "")
            )
        lines.append(
            f"  {'check':26s} {'goal':18s} {'hotelvoice':30s} {'':5s} "
            "Twilio sample (quoted, not measured: use --compare-sample)"
        )
        for name, target, value, passed, sample in checks:
            mark = "ok" if passed else ("n/a" if passed is None else "FAIL")
            lines.append(f"  {name:26s} {target:18s} {value:30s} {mark:5s} {sample}")
        met = all(passed is not False for _, _, _, passed, _ in checks)
        lines.append(f"  => N = {GOAL_N}: {'MEETS' if met else 'DOES NOT MEET'} the goals")

    usable = [r for r in rows if not r.saturated]
    holding = [r for r in usable if r.holds]
    prefix = (
        f"  largest N of the sweep holding p99 ≤ {GOAL_P99_MS:.0f} ms both ways, no loss, "
        "no crosstalk:"
    )
    if holding:
        best = max(holding, key=lambda r: r.n)
        text = f"{prefix} {best.n}"
        above = [r for r in rows if r.n > best.n]
        if above:
            nxt = min(above, key=lambda r: r.n)
            reason = "harness saturated" if nxt.saturated else nxt.why_not()
            text += f" (N = {nxt.n}: {reason})"
        lines.append(text)
        failing_below = [r.n for r in usable if r.n < best.n and not r.holds]
        if failing_below:
            lines.append(f"    (smaller N that did not hold: {failing_below})")
    else:
        lines.append(f"{prefix} none")
    lines.append(
        f"    Twilio sample (quoted from the issue; --compare-sample measures it): "
        f"{SAMPLE['holds']} (fails from {SAMPLE['fails_from']}); goal: ≥ {GOAL_N}"
    )
    saturated = [r.n for r in rows if r.saturated]
    if saturated:
        lines.append(f"  harness saturated (no verdict) at N = {saturated}")
    lines.extend(_cost_lines(rows))
    return lines


def _largest_holding(rows: list[Row]) -> tuple[str, str]:
    """(largest N of the sweep that holds, what happened at the next N)."""
    usable = [r for r in rows if not r.saturated]
    holding = [r for r in usable if r.holds]
    if not holding:
        first = min(rows, key=lambda r: r.n) if rows else None
        why = f"N = {first.n}: {first.why_not()}" if first is not None else ""
        return "none", why
    best = max(holding, key=lambda r: r.n)
    above = [r for r in rows if r.n > best.n]
    if not above:
        return str(best.n), "largest N of the sweep"
    nxt = min(above, key=lambda r: r.n)
    return str(best.n), f"N = {nxt.n}: " + ("harness saturated" if nxt.saturated else nxt.why_not())


def _cpu_cost(rows: list[Row]) -> str:
    usable = [r for r in rows if r.in_ms is not None and r.cpu_pct < BRIDGE_FULL_PCT]
    if not usable:
        full = [r for r in rows if r.in_ms is not None]
        if not full:
            return "n/a"
        low = min(full, key=lambda r: r.n)
        return f"≥ {low.cpu_pct / low.n:.2f} % (core full from N = {low.n})"
    top = max(usable, key=lambda r: r.n)
    return f"{top.cpu_pct / top.n:.2f} % (N = {top.n}, {top.cpu_pct:.0f} % CPU)"


def _rss_cost(rows: list[Row]) -> str:
    measured = [r for r in rows if r.in_ms is not None]
    if len(measured) < 2:
        return "needs two N"
    low = min(measured, key=lambda r: r.n)
    usable = [r for r in measured if r.cpu_pct < BRIDGE_FULL_PCT and r.n > low.n]
    top = max(usable or measured, key=lambda r: r.n)
    mib = (top.rss_mib - low.rss_mib) / (top.n - low.n)
    return f"{mib:.3f} MiB (N = {low.n} → {top.n})"


def _at_goal(row: Row | None, what: str) -> str:
    if row is None:
        return "not in sweep"
    if row.saturated:
        return "harness saturated"
    if row.in_ms is None:
        return f"did not run: {row.error}"
    if what == "in":
        return f"{row.in_ms[1]:.1f} ms"
    if what == "out":
        return f"{row.out_ms[1]:.1f} ms" if row.out_ms else "n/a"
    if what == "lost":
        return f"{row.lost_in}/{row.lost_out} of {row.sent_in}/{row.sent_out}"
    if what == "xtalk":
        return str(row.crosstalk)
    if what == "failed":
        return str(row.failed)
    bound = "≥ " if row.cpu_pct >= BRIDGE_FULL_PCT else ""
    return f"{bound}{row.cpu_pct / row.n:.2f} %"


def compared_verdict(rows: list[Row], sample_rows: list[Row]) -> list[str]:
    """Both servers, measured in this run on the same pinning with the same harness."""
    lines = [
        "",
        "Verdict, measured side by side in this run (same CPU pinning, same fake model and "
        "load generator) against Twilio's Python sample "
        "(speech-assistant-openai-realtime-api-python):",
    ]
    goal = next((r for r in rows if r.n == GOAL_N), None)
    sgoal = next((r for r in sample_rows if r.n == GOAL_N), None)
    lines.append(f"  {'at N = ' + str(GOAL_N):26s} {'goal':18s} {'hotelvoice':32s} Twilio sample")
    for label, target, what in (
        ("p99 inbound", f"≤ {GOAL_P99_MS:.0f} ms", "in"),
        ("p99 outbound", f"≤ {GOAL_P99_MS:.0f} ms", "out"),
        ("frames lost in/out", "0", "lost"),
        ("audio on the wrong call", "0", "xtalk"),
        ("failed calls", "0", "failed"),
        ("CPU per call", f"≤ {GOAL_CPU_PER_CALL} % of a core", "cpu"),
    ):
        lines.append(
            f"  {label:26s} {target:18s} {_at_goal(goal, what):32s} {_at_goal(sgoal, what)}"
        )
    for label, server in (("hotelvoice", goal), ("Twilio sample", sgoal)):
        if server is not None and server.in_ms is not None and not server.saturated:
            state = "holds" if server.holds else "fails: " + server.why_not()
            lines.append(f"  => {label} at N = {GOAL_N}: {state}")
    lines.append("")
    best, why = _largest_holding(rows)
    sbest, swhy = _largest_holding(sample_rows)
    lines.append(f"  {'side by side':44s} {'hotelvoice':32s} Twilio sample")
    lines.append(
        f"  {'largest N holding (p99 ≤ ' + f'{GOAL_P99_MS:.0f}' + ' ms, no loss)':44s} "
        f"{best:32s} {sbest}"
    )
    lines.append(
        f"  {'CPU per call (largest N below ' + f'{BRIDGE_FULL_PCT:.0f}' + ' % CPU)':44s} "
        f"{_cpu_cost(rows):32s} {_cpu_cost(sample_rows)}"
    )
    lines.append(f"  {'RSS per added call':44s} {_rss_cost(rows):32s} {_rss_cost(sample_rows)}")
    lines.append(f"  above the largest N holding: hotelvoice: {why}")
    lines.append(f"                               Twilio sample: {swhy}")
    lines.append(
        "  (hotelvoice logs at WARNING; the sample runs as shipped: uvicorn INFO logs and its "
        "print() per event, to a log file)"
    )
    ns = sorted({r.n for r in rows} | {r.n for r in sample_rows})
    lines.append("  verdict per N (hotelvoice | Twilio sample):")
    by_n = {r.n: r for r in rows}
    sby_n = {r.n: r for r in sample_rows}
    for n in ns:
        cells = []
        for table in (by_n, sby_n):
            r = table.get(n)
            if r is None:
                cells.append("—")
            elif r.saturated:
                cells.append("harness saturated")
            else:
                cells.append("holds" if r.holds else "fails: " + r.why_not())
        lines.append(f"    N = {n:<5d} {cells[0][:72]:72s} | {cells[1][:72]}")
    saturated = [r.n for r in rows + sample_rows if r.saturated]
    if saturated:
        lines.append(f"  harness saturated (no verdict) at N = {sorted(set(saturated))}")
    return lines


def _cost_lines(rows: list[Row]) -> list[str]:
    """CPU and memory per call from the rows where the bridge's core was not full."""
    usable = [r for r in rows if r.in_ms is not None and r.cpu_pct < BRIDGE_FULL_PCT]
    if not usable:
        return ["  every row saturated the bridge's core: no per-call cost estimate"]
    lines = []
    top = max(usable, key=lambda r: r.n)
    cpu = top.cpu_pct / top.n
    lines.append(
        f"  hotelvoice, largest N below {BRIDGE_FULL_PCT:.0f} % CPU (N = {top.n}): "
        f"{cpu:.2f} % of a core per call ({cpu / SAMPLE['cpu_per_call']:.1f}x the sample's "
        f"{SAMPLE['cpu_per_call']} %); a full core at about {100 / cpu:.0f} calls"
    )
    low = min(usable, key=lambda r: r.n)
    if top.n > low.n:
        slope = (top.cpu_pct - low.cpu_pct) / (top.n - low.n)
        mib = (top.rss_mib - low.rss_mib) / (top.n - low.n)
        lines.append(
            f"  marginal cost per added call (N = {low.n} → {top.n}): {slope:.2f} % of a core, "
            f"{mib:.3f} MiB RSS"
        )
    return lines


def print_raw(row: Row, directory: Path) -> None:
    """Save the per-frame latencies and say where in the window the worst of them were."""
    path = directory / f"latency-{row.n}.json"
    path.write_text(json.dumps(row.series))
    print(f"      per-frame latencies: {path}")
    for direction, points in row.series.items():
        if not points:
            continue
        buckets: dict[int, int] = {}
        for at_ms, lat_us in points:
            slot = at_ms // 100
            buckets[slot] = max(buckets.get(slot, 0), lat_us)
        worst = sorted(buckets.items(), key=lambda item: -item[1])[:5]
        shown = ", ".join(f"{slot / 10:.1f} s: {lat / 1000:.0f} ms" for slot, lat in worst)
        print(f"      {direction} worst 100-ms slots (time in window: max latency): {shown}")


def print_profile(row: Row) -> None:
    assert row.profile is not None
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from bench._calls.profile import summarize

    print(f"      py-spy profile of the bridge at N = {row.n} ({row.profile}):")
    for line in summarize(row.profile, root=str(REPO) + "/"):
        print(f"    {line}")


# ----------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/calls.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--calls",
        type=int,
        nargs="+",
        metavar="N",
        help=f"numbers of concurrent calls to sweep (default {' '.join(map(str, DEFAULT_CALLS))})",
    )
    parser.add_argument(
        "--seconds", type=float, help="measured steady-state seconds per N (default 20)"
    )
    parser.add_argument(
        "--ramp", type=float, default=2.0, help="seconds to start all calls (default 2)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="seconds after the ramp before measuring (default 1)",
    )
    parser.add_argument(
        "--generators",
        type=int,
        default=1,
        help="load-generator processes (all on the harness CPU; default 1)",
    )
    parser.add_argument(
        "--speak-every",
        type=float,
        default=2.0,
        metavar="S",
        help="the fake model starts a response every S seconds per call (default 2; 0: the "
        "model never speaks, to measure the inbound path alone)",
    )
    parser.add_argument(
        "--speak-seconds",
        type=float,
        default=1.0,
        metavar="S",
        help="length of each response (default 1 s = 50 deltas of 160 B)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: N = 10 and 50 for 8 s, 5 s with --compare-sample (unless overridden)",
    )
    parser.add_argument(
        "--priority",
        choices=("realtime", "nice", "normal"),
        default="realtime",
        help="scheduling of this script and all it starts, so that on a shared machine the "
        "bridge really has its CPU (and the harness its own): realtime = SCHED_FIFO 1, the "
        "lowest real-time priority (needs root or CAP_SYS_NICE; falls back to nice); "
        "nice = nice -10; normal = leave it (default realtime)",
    )
    parser.add_argument("--bridge-cpu", type=int, help="CPU for the bridge (default: the first)")
    parser.add_argument("--harness-cpu", type=int, help="CPU for the harness (default: the second)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record the bridge with py-spy during each window (raw stacks into DIR) and print "
        "its hottest functions; sampling perturbs the figures a little",
    )
    parser.add_argument(
        "--raw",
        type=Path,
        metavar="DIR",
        help="write each N's per-frame latencies to DIR/latency-N.json ({direction: [[ms after "
        "the window opened, latency µs], ...]}) and print the slowest 100 ms of each direction",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="copy each service log to the temp directory"
    )
    parser.add_argument(
        "--compare-sample",
        action="store_true",
        help="also run the same sweep against Twilio's Python sample (speech-assistant-openai-"
        "realtime-api-python, FastAPI + uvicorn) on the same pinning and print both side by "
        "side; pip-installs fastapi, uvicorn, websockets into this virtualenv on first use",
    )
    parser.add_argument(
        "--sample-dir",
        type=Path,
        metavar="DIR",
        help="where Twilio's sample is: a checkout holding main.py, or a bare git mirror "
        "(default: the mirror under /work/.mirror, if present)",
    )
    args = parser.parse_args(argv)
    if args.calls is None:
        args.calls = list(QUICK_CALLS if args.quick else DEFAULT_CALLS)
    if args.seconds is None:
        args.seconds = (5.0 if args.compare_sample else 8.0) if args.quick else 20.0
    if any(n < 1 for n in args.calls) or args.seconds <= 1 or args.ramp < 0 or args.settle < 0:
        parser.error("--calls must be ≥ 1, --seconds > 1, --ramp and --settle ≥ 0")
    if args.speak_every < 0 or args.speak_seconds < 0.02:
        parser.error("--speak-every must be ≥ 0 and --speak-seconds ≥ 0.02")
    if args.speak_every and args.speak_seconds > args.speak_every:
        parser.error("--speak-seconds must not exceed --speak-every")
    return args


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    pinning = choose_pinning(args.bridge_cpu, args.harness_cpu)
    priority = raise_priority(args.priority)
    if pinning.harness_cpu is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {pinning.harness_cpu})  # keep this process off the bridge's
    cfg = Config(args.seconds, args.ramp, args.settle, args.generators, pinning, args.keep_logs)
    cfg.speak_every, cfg.speak_seconds = args.speak_every, args.speak_seconds
    if args.raw is not None:
        args.raw.mkdir(parents=True, exist_ok=True)
        cfg.raw_dir = args.raw.resolve()
    cfg.realtime = priority.startswith("SCHED_FIFO")
    if args.profile is not None:
        if py_spy() is None:
            print("--profile needs py-spy (.venv/bin/pip install py-spy)", file=sys.stderr)
            return 2
        args.profile.mkdir(parents=True, exist_ok=True)
        cfg.profile_dir = args.profile.resolve()
    calls = sorted(set(args.calls))
    per_point = args.seconds + args.ramp + args.settle + 6
    sample_tmp = None
    if args.compare_sample:
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        from bench._calls import twilio_sample

        sample_tmp = tempfile.TemporaryDirectory(prefix="hv-bench-sample-")
        try:
            sample = twilio_sample.prepare(args.sample_dir, Path(sample_tmp.name))
        except twilio_sample.SampleError as exc:
            sample_tmp.cleanup()
            print(f"--compare-sample: {exc}", file=sys.stderr)
            return 2
        per_point *= 2
    print("hotelvoice calls benchmark: concurrent simulated Twilio calls against one bridge core")
    print(f"  pinning: {pinning.note}")
    print(f"  priority: {priority}")
    print(
        f"  sweep N = {calls}; ramp {args.ramp:g} s + settle {args.settle:g} s, then "
        f"{args.seconds:g} s measured per N (about {len(calls) * per_point / 60:.1f} min in all)"
    )
    speech = (
        f"the fake model speaks {args.speak_seconds:g} s (deltas of 160 B every 20 ms) every "
        f"{args.speak_every:g} s"
        if args.speak_every > 0
        else "the fake model never speaks"
    )
    print(
        f"  per call: 50 tagged caller frames/s in; {speech}; "
        f"{args.generators} load generator process(es)"
    )
    if sample_tmp is not None:
        print(f"  compared with Twilio's sample: {sample.source}")
        print(f"    copied to {sample.directory}/main.py and patched there (not in this repo):")
        for patch in sample.patched:
            print(f"      {patch}")
        print(
            "    served by: "
            + ("" if pinning.bridge_cpu is None else f"taskset -c {pinning.bridge_cpu} ")
            + " ".join(sample.command("python", HOST, 0)).replace(" --port 0", " --port <free>")
        )
    print()
    if sample_tmp is not None:
        print("hotelvoice:")
    print(HEADER)
    rows: list[Row] = []
    sample_rows: list[Row] | None = None
    with terminate_as_interrupt():
        try:
            sweep(calls, cfg, rows)
            if sample_tmp is not None:
                print()
                print(
                    "Twilio's sample (speech-assistant-openai-realtime-api-python, same harness):"
                )
                print(HEADER)
                sample_rows = []
                sample_cfg = dataclasses.replace(cfg, sample=sample)
                sweep(calls, sample_cfg, sample_rows)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping every process this benchmark started", file=sys.stderr)
            return 130
        finally:
            stop_all()
            if sample_tmp is not None:
                sample_tmp.cleanup()
    for line in verdict(rows, sample_rows):
        print(line)
    return 0


def sweep(calls: list[int], cfg: Config, rows: list[Row]) -> None:
    for n in calls:
        row = run_point(n, cfg)
        rows.append(row)
        base = min(rows, key=lambda r: r.n)
        print(format_row(row, base), flush=True)
        for note in row.notes:
            print(f"      {note}", flush=True)
        if row.profile is not None:
            print_profile(row)
        if cfg.raw_dir is not None and row.series:
            print_raw(row, cfg.raw_dir)


if __name__ == "__main__":
    sys.exit(main())
