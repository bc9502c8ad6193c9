"""How many concurrent calls one core of hotelvoice carries, side by side with Twilio's sample.

Run from the repository root (it prints figures; it is not a test and asserts nothing):

    .venv/bin/python bench/calls.py                 # default sweep, about 11–14 minutes
    .venv/bin/python bench/calls.py --quick         # smoke run, under a minute
    .venv/bin/python bench/calls.py --calls 50 100 --runs 1
    .venv/bin/python bench/calls.py --workers 1 2   # every core used (see "Workers" below)
    .venv/bin/python bench/calls.py --gentle        # the older method, for older notes

The method (the issue's "independent" one, the default). For each N, each run and each server, a
fresh ``hotelvoice serve`` (or Twilio's sample) pinned to one core (``taskset -c 0``), a scripted
fake OpenAI Realtime server and a load generator playing Twilio, both on another core; no
real-time priority unless ``--priority realtime`` (the output says which); the service at its
default log level (INFO). Calls start evenly over ``--ramp`` seconds and the measured window of
``--seconds`` (20) opens with the first of them, so calls start while others talk; the ramp and
the ``--settle`` second after it count as ramp-up, the rest as steady state (reported apart);
then every call sends ``stop`` at once. Three runs per N (``--runs``), hotelvoice and the sample
run by run (hv 1, sample 1, hv 2, ...) so both meet the same moment's load on a shared machine;
each run is printed, and the summary gives "k of 3 pass". Pass = p99 ≤ 20 ms both ways over
the whole window, no frame lost, no crosstalk, no failed call.

Each simulated call: signed webhook POST, signed WebSocket upgrade, ``connected``, ``start``,
then a 160-byte μ-law frame every 20 ms on an absolute schedule, marks echoed when a model of
Twilio's playout queue (8 bytes/ms) reaches them. The fake model answers with a 1-s response
(50 deltas of 160 bytes, 20 ms apart) every 2 s per call. Every frame in either direction is
tagged with its call, its index and its send time (CLOCK_MONOTONIC, shared by all processes):

* inbound latency: generator send → fake model receive; outbound: model send → generator receive;
* ramp-up lateness: for frames sent during the ramp-up, receive − max(send, the moment that
  call's model session was ready: the fake model's ``session.updated``), its worst per run
  (goal ≤ 20 ms), and how many frames a call sent before its session was ready;
* frames lost: frames sent in the window (up to 0.5 s before ``stop``) never seen at the far end;
* crosstalk: a frame arriving on a call other than the one it is tagged for (both directions);
* bridge CPU: utime+stime from /proc/PID/stat (with child processes) over the window, as % of
  one core; RSS: VmRSS of all the server's processes, at start (idle, before the first call) and
  at the end of the window; per call: CPU % / N and (RSS at end − RSS at start) / N, each with
  its ratio to the sample's run measured right after it;
* harness lag: actual send time minus scheduled time, in the generator and in the fake model.
  Above 5 ms p99 the run is flagged "pessimistic" (with ``--gentle``: no verdict at all).

Columns of a run's line: ``lost in/out`` caller frames / model deltas lost; ``xtalk`` frames on
the wrong call; ``fail`` calls that did not run their course (webhook, upgrade, or closed by the
bridge before ``stop``); ``per call`` the bridge's CPU divided by N (``≥`` once its core is
full) and MiB grown per call; ``setup p99`` webhook + upgrade + ``start``; ``harness CPU`` the
fake model and the generator(s) together, on their CPU. Each run also notes how much of our CPUs
other processes used: on a shared machine their scheduling delays add to the latencies, so
compare the ratios measured side by side rather than absolute figures. ``--priority realtime``
(SCHED_FIFO 1; needs root or CAP_SYS_NICE, else nice -10) keeps them out, at the price of not
being the independent method. ``--speak-every 0`` measures the caller-to-model path alone;
``--profile DIR`` adds a py-spy profile of the bridge per run; ``--raw DIR`` the per-frame
latencies.

Workers: ``--workers 1 2`` sweeps ``hotelvoice serve --workers W`` against the sample's
``uvicorn --workers W``. With one worker the bridge is pinned to one CPU and the harness has
the other to itself. With W > 1 the bridge may use every CPU, and so does the harness, which
has to run somewhere: on a 2-core machine it takes its CPU (printed per run, about 15–30 % of a
core at 50–100 calls) from the cores the workers use, so the W = 2 figures are pessimistic by
that much against W = 1 (where the harness's core was not the bridge's). ``--workers`` is
passed through (also for W = 1 once ``serve --help`` lists it); a server that refuses it is
skipped for that W with a message.

The sample: twilio-samples/speech-assistant-openai-realtime-api-python (FastAPI, uvicorn,
websockets; run as shipped, INFO logs and its print() per event, to a log file). Its main.py is
copied from a local mirror or ``--sample-dir`` into a temporary directory and patched there to
use the fake model (see ``bench/_calls/twilio_sample.py``); its dependencies are pip-installed
into this virtualenv on first use. It gets an unsigned webhook ``/incoming-call`` and upgrade to
``/media-stream``; it never sends ``response.create``, so the fake model speaks from the first
caller frame on (as server VAD would answer a caller who keeps talking). ``--no-sample`` runs
hotelvoice alone (no ratios).

``--gentle``, the older method, for figures comparable with older notes: SCHED_FIFO 1,
hotelvoice at ``--log-level WARNING``, the ramp (2 s) and settle (1 s) before the window, so
only the steady state is measured, one run per N, N = 10 … 200, the sample only with
``--compare-sample``, and its older verdict (quoted sample figures unless compared).
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
DEFAULT_CALLS = (50, 75, 100, 150)
GENTLE_CALLS = (10, 25, 50, 75, 100, 150, 200)  # the older method's sweep
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
QUIET = ("--log-level", "WARNING")  # the gentle method only
POINT_OVERHEAD_S = 8.0  # start, drain and dump around each run's window (measured: 5–15 s)
_children: list[subprocess.Popen[bytes]] = []


# ----------------------------------------------------------------------------- processes


class BenchError(Exception):
    """A setup step failed (the service did not start, a helper died...)."""


@dataclass
class Pinning:
    """Which CPUs the bridge and the harness (fake model, load generators, this script) get."""

    bridge: tuple[int, ...] | None  # None: not pinned
    harness: tuple[int, ...] | None
    taskset: str | None
    note: str

    @property
    def dedicated(self) -> bool:
        """The bridge has CPUs of its own (no harness process runs there)."""
        return (
            self.bridge is not None
            and self.harness is not None
            and not set(self.bridge) & set(self.harness)
        )

    def command(self, cpus: tuple[int, ...] | None, argv: list[str]) -> list[str]:
        if cpus is None or self.taskset is None:
            return argv
        return [self.taskset, "-c", ",".join(map(str, cpus)), *argv]

    def after_start(self, cpus: tuple[int, ...] | None, pid: int) -> None:
        if cpus is not None and self.taskset is None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(pid, set(cpus))


def allowed_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def choose_pinning(
    bridge_cpu: int | None,
    harness_cpu: int | None,
    workers: int = 1,
    allowed: list[int] | None = None,
) -> Pinning:
    """One worker: the bridge on one CPU, the harness on another. Several workers: the bridge
    gets every CPU, and so does the harness, which has to run somewhere (its CPU use is
    measured and reported beside the bridge's)."""
    allowed = allowed_cpus() if allowed is None else allowed
    taskset = shutil.which("taskset")
    how = "taskset -c" if taskset else "os.sched_setaffinity (taskset not found)"
    if not hasattr(os, "sched_setaffinity") and taskset is None:
        return Pinning(None, None, None, "no taskset and no sched_setaffinity: NOT pinned")
    everything = tuple(allowed)
    if workers > 1:
        return Pinning(
            everything,
            everything,
            taskset,
            f"{workers} workers: bridge AND harness share all {len(allowed)} CPUs "
            f"{list(allowed)} (not pinned apart): the harness's CPU, reported per run, is "
            "taken from the cores the workers use",
        )
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
    note = f"bridge on CPU {bridge}, fake model + load generator(s) on CPU {harness} ({how})"
    if len(allowed) > 2:
        note += f"; {len(allowed) - 2} more CPU(s) left idle"
    return Pinning((bridge,), (harness,), taskset, note)


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
    profiler = spawn(pin.command(pin.harness, argv), env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    pin.after_start(pin.harness, profiler.pid)
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


def cpu_user_system_ticks(cpus: tuple[int, ...] | None) -> int:
    """user+nice+system ticks of these CPUs from /proc/stat (0 when unknown)."""
    if cpus is None:
        return 0
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return 0
    total = 0
    wanted = {f"cpu{cpu}" for cpu in cpus}
    for line in lines:
        fields = line.split()
        if fields and fields[0] in wanted:
            user, nice, system = (int(v) for v in fields[1:4])
            total += user + nice + system
    return total


def realtime_strangers(ours: set[int]) -> list[str]:
    """Other processes running at a real-time policy (SCHED_FIFO/RR) now: they compete with ours
    even under --priority realtime (e.g. another run of this benchmark)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in ours:
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            policy = int(stat[stat.rfind(")") + 2 :].split()[38])  # field 41
            if policy not in (1, 2):  # SCHED_FIFO, SCHED_RR
                continue
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if not argv[0]:
            continue  # kernel threads
        found.append(f"{entry} " + " ".join(a.decode(errors="replace") for a in argv[:4])[:80])
    return found


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
    server: str = "hotelvoice"  # or "sample" (Twilio's)
    run: int = 1
    runs: int = 1
    workers: int = 1
    cores: int = 1  # CPUs the bridge may use (its CPU % is of one core, so up to 100 × cores)
    withhold: bool = True  # a lagging harness withholds the verdict (the gentle method)
    rejected: bool = False  # the server refused --workers
    steady_in_p99: float | None = None  # frames sent after ramp + settle
    steady_out_p99: float | None = None
    ramp: dict[str, int] = field(default_factory=dict)  # the fake model's ramp_figures
    gentle_words: bool = False  # say holds/fails as the old method's output did
    harness_shared: bool = False  # the harness ran on the bridge's CPUs (several workers)

    @property
    def harness_lagging(self) -> bool:
        return max(self.gen_lag[0], self.model_lag[0]) > SATURATED_LAG_MS

    @property
    def saturated(self) -> bool:
        return self.withhold and self.harness_lagging

    @property
    def core_full(self) -> bool:
        """The bridge's CPU(s) were full, by its own work or with other processes' (then its
        CPU per call is a lower bound, or a time slice: not its cost)."""
        busy = self.cpu_pct + self.foreign_bridge_cpu
        if self.harness_shared:
            busy += self.harness_cpu
        return busy >= BRIDGE_FULL_PCT * self.cores

    @property
    def cpu_per_call(self) -> float:
        return self.cpu_pct / self.n

    @property
    def mib_per_call(self) -> float:
        """RSS grown from start (idle, before the first call) to the end of the window, per call."""
        return (self.rss_mib - self.rss_idle) / self.n

    @property
    def ramp_late_ms(self) -> float | None:
        if not self.ramp.get("ramp_frames"):
            return None
        return self.ramp["ramp_late_max_us"] / 1000

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
    ramp_in_window: bool = True  # the independent method; False: steady window only (gentle)
    log_args: tuple[str, ...] = ()  # extra `hotelvoice serve` arguments (gentle: WARNING logs)
    workers: int = 1
    pass_workers: bool = False  # give `hotelvoice serve` --workers (when it has the option)
    runs: int = 1


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
    row.server = "hotelvoice" if cfg.sample is None else "sample"
    row.workers, row.runs = cfg.workers, cfg.runs
    row.cores = len(cfg.pinning.bridge) if cfg.pinning.bridge is not None else len(allowed_cpus())
    row.withhold = not cfg.ramp_in_window
    with tempfile.TemporaryDirectory(prefix="hv-bench-") as tmp:
        work = Path(tmp)
        log_path = work / "service.log"
        try:
            _run_point(n, cfg, row, work, log_path)
        except BenchError as exc:
            row.error = str(exc)
            if cfg.sample is None and cfg.pass_workers and log_path.exists():
                refused = _refused_workers(log_path.read_text(errors="replace"))
                if refused:
                    row.rejected = True
                    row.error = (
                        f"hotelvoice serve rejected --workers {cfg.workers} ({refused}): "
                        "skipped (needs the `workers` branch)"
                    )
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


def _refused_workers(log: str) -> str:
    """The argparse complaint about --workers in a service log, or ""."""
    for line in log.splitlines():
        if "--workers" in line and ("unrecognized" in line or "invalid" in line or "error" in line):
            return line.strip()[:120]
    return ""


_LOG_TIME = re.compile(r"^\[?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[,.]\d{3})?)")


def _service_problems(log_path: Path, window_end: float | None) -> tuple[str, str]:
    """Warnings/errors of the service log, split at the end of the measured window (wall time;
    lines without a timestamp, e.g. traceback lines, go with the line before them)."""
    if not log_path.exists():
        return "", ""
    cut = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(window_end))
        + f",{int(window_end % 1 * 1000):03d}"
        if window_end is not None
        else None
    )
    levels: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    first: tuple[dict[str, str], dict[str, str]] = ({}, {})
    late = False
    for line in log_path.read_text(errors="replace").splitlines():
        stamp = _LOG_TIME.match(line)
        if stamp is not None and cut is not None:
            late = stamp.group(1).replace(".", ",") > cut
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
            pin.harness,
            [python, "-m", "bench._calls.fake_model", "--host", HOST, *speech],
        ),
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
    )
    pin.after_start(pin.harness, model.pid)
    answer = read_line(model, 30, "fake model")
    if not answer.startswith("PORT "):
        raise BenchError(f"fake model said {answer!r}")
    model_port = int(answer.split()[1])

    port = free_port()
    name = "hotelvoice serve" if cfg.sample is None else "Twilio's sample (uvicorn)"
    if cfg.sample is None:
        argv = [*service_command(), "serve", "--host", HOST, "--port", str(port), *cfg.log_args]
        if cfg.pass_workers:
            argv += ["--workers", str(cfg.workers)]
    else:
        argv = cfg.sample.command(python, HOST, port, workers=cfg.workers)
    with log_path.open("wb") as log:
        service = spawn(
            pin.command(pin.bridge, argv),
            env=service_env(model_port),
            cwd=work,  # no stray .env from the checkout
            stdout=log,
        )
    pin.after_start(pin.bridge, service.pid)
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
        generator = spawn(pin.command(pin.harness, argv), env=env, cwd=REPO, stdout=subprocess.PIPE)
        pin.after_start(pin.harness, generator.pid)
        generators.append(generator)
    for generator in generators:
        if read_line(generator, 60, "load generator") != "READY":
            raise BenchError("load generator did not say READY")

    service_pids = process_tree(service.pid)
    time.sleep(0.5)
    row.rss_idle = rss_mib(service_pids)
    t0 = time.monotonic() + 0.2
    ramp_end = t0 + cfg.ramp + cfg.settle  # frames sent before this belong to the ramp-up
    w0 = t0 if cfg.ramp_in_window else ramp_end
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
            cpu_user_system_ticks(pin.bridge),
            cpu_user_system_ticks(pin.harness if pin.dedicated else None),
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
    strangers = realtime_strangers({os.getpid(), *harness, *process_tree(service.pid)})
    if strangers:
        row.notes.append(
            f"{len(strangers)} other real-time process(es) at the window's end, competing with "
            "ours at any priority: " + "; ".join(strangers[:3])
        )
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
    busy = (
        " (real-time priority: they only had what ours left idle, unless real-time too)"
        if cfg.realtime
        else ": MACHINE BUSY, latency figures are pessimistic"
    )
    if pin.dedicated:
        row.foreign_bridge_cpu = max(0.0, delta[4] - delta[1])
        row.foreign_harness_cpu = max(0.0, delta[5] - delta[3])
        if row.foreign_bridge_cpu > FOREIGN_NOTE_PCT or row.foreign_harness_cpu > FOREIGN_NOTE_PCT:
            row.notes.append(
                f"other processes used {row.foreign_bridge_cpu:.0f} % of the bridge's CPU and "
                f"{row.foreign_harness_cpu:.0f} % of the harness CPU during the window" + busy
            )
    elif pin.bridge is not None:  # bridge and harness share the CPUs
        row.harness_shared = True
        row.foreign_bridge_cpu = max(0.0, delta[4] - delta[1] - delta[3])
        row.notes.append(
            f"CPUs {list(pin.bridge)} shared: bridge {delta[1]:.0f} %, harness {delta[2]:.0f} % "
            f"(of one core each), other processes {row.foreign_bridge_cpu:.0f} %; the bridge "
            f"could have had at most {100 * len(pin.bridge) - delta[3]:.0f} %"
            + ("" if row.foreign_bridge_cpu <= FOREIGN_NOTE_PCT else busy)
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
    send_line(
        model, f"DUMP {model_result} {w0:.9f} {w1:.9f} {cutoff:.9f} {ramp_end:.9f}", close=True
    )
    try:
        model.wait(60)
    except subprocess.TimeoutExpired:
        raise BenchError("the fake model did not write its figures within 60 s") from None
    stop_process(service)
    gens = [json.loads(r.read_text()) for r in results]
    merge_results(row, gens, json.loads(model_result.read_text()), steady_ms=(ramp_end - w0) * 1e3)


def merge_results(
    row: Row, gens: list[dict[str, Any]], model: dict[str, Any], steady_ms: float = 0.0
) -> None:
    """Fill ``row`` from the load generators' and the fake model's figures (their JSON);
    frames sent ``steady_ms`` or more after the window opened are the steady state."""
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
    steady_in = percentiles_ms([lat for at, lat in row.series["inbound"] if at >= steady_ms])
    steady_out = percentiles_ms([lat for at, lat in row.series["outbound"] if at >= steady_ms])
    row.steady_in_p99 = steady_in[1] if steady_in else None
    row.steady_out_p99 = steady_out[1] if steady_out else None
    row.ramp = {k: v for k, v in model.items() if k.startswith("ramp_")}
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
    "           |      |  inbound ms          |  outbound ms         | lost    |       |      "
    "| bridge               | per call       | setup | harness lag p99/max ms   | harness\n"
    "run        |    N |    p50    p99    max |    p50    p99    max | in/out  | xtalk | fail "
    "|  CPU%  RSS MiB (idle)| CPU%   MiB     | p99 ms| generator    fake model  |  CPU% | verdict"
)


def run_label(row: Row) -> str:
    who = "hotelvoice" if row.server == "hotelvoice" else "sample"
    return f"{who:6.6s} {row.run}/{row.runs}"


def row_verdict(row: Row) -> str:
    if row.saturated:
        return "harness saturated"
    text = "pass" if row.holds else "fail: " + row.why_not()
    if row.gentle_words:
        text = "holds" if row.holds else "fails: " + row.why_not()
    if row.harness_lagging and not row.withhold:
        text += (
            f" (harness lag p99 {max(row.gen_lag[0], row.model_lag[0]):.1f} ms "
            f"> {SATURATED_LAG_MS:.0f}: pessimistic)"
        )
    return text


def format_row(row: Row, base: Row | None = None) -> str:
    """One run's line; MiB per call is the RSS grown since start divided by N."""
    if row.error is not None and row.in_ms is None:
        return f"{run_label(row):10s} | {row.n:4d} | error: {row.error}"
    per_call_cpu = f"{row.cpu_per_call:5.2f}"
    if row.core_full:  # the core is full: the per-call share is a lower bound
        per_call_cpu = f"≥{row.cpu_per_call:4.2f}"
    per_call_mib = f"{row.mib_per_call:6.3f}"
    return (
        f"{run_label(row):10s} | {row.n:4d} | {_fmt3(row.in_ms)} | {_fmt3(row.out_ms)} "
        f"| {row.lost_in:3d}/{row.lost_out:<3d} "
        f"| {row.crosstalk:5d} | {row.failed:4d} | {row.cpu_pct:5.1f} {row.rss_mib:6.1f} "
        f"({row.rss_idle:5.1f}) | {per_call_cpu} {per_call_mib} | {row.setup_p99_ms:5.0f} "
        f"| {row.gen_lag[0]:4.1f}/{row.gen_lag[1]:<6.1f} {row.model_lag[0]:4.1f}/"
        f"{row.model_lag[1]:<6.1f} | {row.harness_cpu:5.1f} | {row_verdict(row)}"
    )


def ramp_note(row: Row) -> str | None:
    """The ramp-up and the steady state apart, for one run."""
    if row.in_ms is None:
        return None
    parts = []
    late = row.ramp_late_ms
    if late is not None:
        r = row.ramp
        parts.append(
            f"ramp-up: worst inbound lateness beyond the model session's readiness {late:.1f} ms "
            f"(goal ≤ {GOAL_P99_MS:.0f}; p99 {r['ramp_late_p99_us'] / 1000:.1f}), raw latency "
            f"max {r['ramp_raw_max_us'] / 1000:.1f} ms, frames sent before readiness: up to "
            f"{r['ramp_held_max']} per call in {r['ramp_held_calls']} calls"
            + (
                f", {r['ramp_calls_never_ready']} calls never ready"
                if r.get("ramp_calls_never_ready")
                else ""
            )
        )

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}"

    parts.append(f"steady p99 in/out {ms(row.steady_in_p99)}/{ms(row.steady_out_p99)} ms")
    return "; ".join(parts)


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


# ----------------------------------------------------------------------------- independent report


def _span(values: Sequence[float], fmt: str = "{:.1f}") -> str:
    """``a–b`` over runs (one figure when they agree at that precision)."""
    if not values:
        return "n/a"
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return low if low == high else f"{low}–{high}"


def _cell(rows: list[Row]) -> str:
    """The issue's cell: p99 in/out ms, CPU %, k of R pass (ranges over the runs)."""
    if not rows:
        return "—"
    measured = [r for r in rows if r.in_ms is not None]
    if not measured:
        return "error: " + (rows[0].error or "no figures")[:70]
    ins = _span([r.in_ms[1] for r in measured if r.in_ms is not None])
    outs = _span([r.out_ms[1] for r in measured if r.out_ms is not None])
    cpu = _span([r.cpu_pct for r in measured], "{:.0f}")
    passed = sum(1 for r in rows if r.holds)
    text = f"{ins} / {outs}, {cpu} %, {passed} of {len(rows)} pass"
    failed = [r for r in rows if not r.holds]
    if failed:
        reasons = sorted({_short_reason(r) for r in failed})
        text += " (" + "; ".join(reasons) + ")"
    if any(r.harness_lagging for r in measured):
        text += " [harness lag > 5 ms]"
    return text


def _short_reason(row: Row) -> str:
    if row.error is not None:
        return "error"
    reasons = []
    if row.in_ms is None or row.in_ms[1] > GOAL_P99_MS:
        reasons.append("in")
    if (row.out_ms is None and row.expect_out) or (
        row.out_ms is not None and row.out_ms[1] > GOAL_P99_MS
    ):
        reasons.append("out")
    if row.lost_in or row.lost_out:
        reasons.append("loss")
    if row.crosstalk:
        reasons.append("crosstalk")
    if row.failed:
        reasons.append("failed calls")
    return "+".join(reasons) or "?"


def _pairs(hv: list[Row], sm: list[Row]) -> list[tuple[Row, Row]]:
    """Each hotelvoice run with the sample's run of the same number (measured right after it)."""
    by_run = {r.run: r for r in sm if r.in_ms is not None}
    return [(r, by_run[r.run]) for r in hv if r.in_ms is not None and r.run in by_run]


def _ratio(values: list[float]) -> str:
    return _span(values, "{:.2f}") + "×" if values else "n/a"


def _per_call_headline(ns: list[int], hv: dict[int, list[Row]], sm: dict[int, list[Row]]) -> str:
    """The issue's "per call" sentence, from the largest N where no run filled a CPU."""
    clean = [
        n
        for n in ns
        if (group := [r for r in hv[n] + sm[n] if r.in_ms is not None])
        and not any(r.core_full for r in group)
        and _pairs(hv[n], sm[n])
    ]
    if not any(_pairs(hv[n], sm[n]) for n in ns):
        return "per call: no N with both servers measured, so no ratio"
    if not clean:
        return (
            "per call: every N filled a CPU (by the server or with other processes) in some "
            "run, so no per-call cost is measured: the figures above are lower bounds or slices"
        )
    n = max(clean)
    pairs = _pairs(hv[n], sm[n])
    h = [a for a, _ in pairs]
    m = [b for _, b in pairs]
    cpu = _ratio([a.cpu_per_call / b.cpu_per_call for a, b in pairs])
    mib = _ratio([a.mib_per_call / b.mib_per_call for a, b in pairs if b.mib_per_call > 0])
    return (
        f"per call (N = {n}, the largest N where no CPU was full): "
        f"{_span([r.cpu_per_call for r in h], '{:.2f}')} % of a core against the sample's "
        f"{_span([r.cpu_per_call for r in m], '{:.2f}')} % ({cpu}), "
        f"{_span([r.mib_per_call for r in h], '{:.3f}')} MiB against "
        f"{_span([r.mib_per_call for r in m], '{:.3f}')} MiB ({mib})"
    )


def independent_report(rows: list[Row], *, realtime: bool, sample: bool) -> list[str]:
    """The issue's table, then per-call costs and their ratios, ramp-up, start RSS, workers."""
    lines: list[str] = []
    workers = sorted({r.workers for r in rows})
    for w in workers:
        at_w = [r for r in rows if r.workers == w]
        ns = sorted({r.n for r in at_w})
        runs = max((r.runs for r in at_w), default=1)
        hv = {n: [r for r in at_w if r.n == n and r.server == "hotelvoice"] for n in ns}
        sm = {n: [r for r in at_w if r.n == n and r.server == "sample"] for n in ns}
        lines += [
            "",
            f"workers = {w}: {runs} run(s) per N, figures as ranges over the runs; pass = p99 ≤ "
            f"{GOAL_P99_MS:.0f} ms both ways over the whole window (ramp-up included), no frame "
            "lost, no crosstalk, no failed call; CPU % of one core"
            + (
                f" (up to {100 * at_w[0].cores} % with {at_w[0].cores} CPUs)"
                if at_w[0].cores > 1
                else ""
            ),
            "",
            "| N | sample: p99 in/out ms, CPU %, verdict "
            "| hotelvoice: p99 in/out ms, CPU %, verdict |",
            "|---|---|---|",
        ]
        for n in ns:
            lines.append(f"| {n} | {_cell(sm[n]) if sample else 'not run'} | {_cell(hv[n])} |")
        lines += [
            "",
            "| N | CPU % of a core per call: sample / hotelvoice (ratio) "
            "| MiB per call: sample / hotelvoice (ratio) "
            "| ramp-up: worst inbound lateness beyond model readiness, ms "
            f"(goal ≤ {GOAL_P99_MS:.0f}): sample / hotelvoice "
            "| steady p99 in/out ms: sample / hotelvoice "
            "| harness CPU %: sample runs / hotelvoice runs |",
            "|---|---|---|---|---|---|",
        ]
        for n in ns:
            h = [r for r in hv[n] if r.in_ms is not None]
            m = [r for r in sm[n] if r.in_ms is not None]
            pairs = _pairs(h, m)
            full = any(r.core_full for r in h + m)

            def cpu(rs: list[Row]) -> str:
                return _span([r.cpu_per_call for r in rs], "{:.2f}")

            def mib(rs: list[Row]) -> str:
                return _span([r.mib_per_call for r in rs], "{:.3f}")

            def late(rs: list[Row]) -> str:
                return _span([x for r in rs if (x := r.ramp_late_ms) is not None])

            def steady(rs: list[Row]) -> str:
                ins = [r.steady_in_p99 for r in rs if r.steady_in_p99 is not None]
                outs = [r.steady_out_p99 for r in rs if r.steady_out_p99 is not None]
                return f"{_span(ins)}/{_span(outs)}"

            cpu_ratio = _ratio([a.cpu_per_call / b.cpu_per_call for a, b in pairs if b.cpu_pct > 0])
            mib_ratio = _ratio(
                [a.mib_per_call / b.mib_per_call for a, b in pairs if b.mib_per_call > 0]
            )
            lines.append(
                f"| {n} | {cpu(m)} / {cpu(h)} ({cpu_ratio}"
                f"{'; a CPU was full: not the cost' if full else ''}) "
                f"| {mib(m)} / {mib(h)} ({mib_ratio}) | {late(m)} / {late(h)} "
                f"| {steady(m)} / {steady(h)} "
                f"| {_span([r.harness_cpu for r in m], '{:.0f}')} / "
                f"{_span([r.harness_cpu for r in h], '{:.0f}')} |"
            )
        h_all = [r for r in at_w if r.server == "hotelvoice" and r.in_ms is not None]
        m_all = [r for r in at_w if r.server == "sample" and r.in_ms is not None]
        if h_all or m_all:
            hv_rss = [r.rss_idle for r in h_all]
            sm_rss = [r.rss_idle for r in m_all]
            ratio = (
                f" ({_ratio([a.rss_idle / b.rss_idle for a, b in _pairs(h_all, m_all)])})"
                if h_all and m_all
                else ""
            )
            lines.append("")
            lines.append(
                f"RSS at start (all the server's processes, before the first call): hotelvoice "
                f"{_span(hv_rss, '{:.0f}')} MiB, sample {_span(sm_rss, '{:.0f}')} MiB{ratio}; "
                "goal for hotelvoice with the OpenAI backend ≤ 60 MiB"
            )
            lines.append(_per_call_headline(ns, hv, sm) if sample else "")
            holding = {
                server: [
                    n
                    for n in ns
                    if (group := [r for r in at_w if r.n == n and r.server == server])
                    and all(r.holds for r in group)
                ]
                for server in ("sample", "hotelvoice")
            }
            lines.append(
                "largest N passing every run: "
                + ", ".join(
                    f"{server} {max(found) if found else 'none'}"
                    for server, found in holding.items()
                    if server == "hotelvoice" or sample
                )
            )
    if len(workers) > 1:
        lines += ["", "workers: largest N passing every run, and its ratio to workers = 1:"]
        for server in ("hotelvoice", "sample") if sample else ("hotelvoice",):
            best: dict[int, int | None] = {}
            for w in workers:
                group = [r for r in rows if r.workers == w and r.server == server]
                if any(r.rejected for r in group):
                    best[w] = None
                    continue
                ns = sorted({r.n for r in group})
                ok = [n for n in ns if all(r.holds for r in group if r.n == n)]
                best[w] = max(ok) if ok else 0
            base = best.get(1)
            cells = []
            for w, found in best.items():
                if found is None:
                    cells.append(f"workers {w}: skipped (--workers rejected)")
                    continue
                ratio = f" ({found / base:.2f}×)" if base and w != 1 else ""
                cells.append(f"workers {w}: {found or 'none'}{ratio}")
            lines.append(f"  {server}: " + ", ".join(cells))
        lines.append(
            "  goal: 2 workers ≥ 1.8× one worker's N. Bounded by the sweep's N. With one worker "
            "the harness had a CPU of its own; with more it shares the bridge's CPUs (its CPU % "
            "is in the table above), which skews the comparison against the workers by that much."
        )
    lines.append("")
    lines.append(
        "priority: "
        + (
            "SCHED_FIFO 1 (asked for with --priority realtime): other processes on the machine "
            "only had what ours left idle"
            if realtime
            else "normal (no real-time priority): other processes on this shared machine add "
            "their delays; compare the ratios, measured side by side, rather than the "
            "absolute figures"
        )
    )
    return lines


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
        "--seconds",
        type=float,
        help="measured seconds per run: from the first call's start (the ramp-up inside), or "
        "with --gentle after ramp + settle (default 20; --quick 6, 5 or 8 with --gentle)",
    )
    parser.add_argument(
        "--ramp", type=float, default=2.0, help="seconds to start all calls (default 2)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="seconds after the ramp that still count as ramp-up; the steady state starts "
        "after them (default 1)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="runs per N and server (default 3; 1 with --quick or --gentle)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        metavar="W",
        default=[1],
        help="worker processes to sweep (default 1); `hotelvoice serve --workers W` and the "
        "sample's `uvicorn --workers W`. One worker: the bridge pinned to one CPU, the harness "
        "on another. More: bridge and harness on all CPUs. If hotelvoice serve refuses "
        "--workers, its runs at that W are skipped with a message",
    )
    parser.add_argument(
        "--gentle",
        action="store_true",
        help="the older, gentler method, for comparison with older notes: SCHED_FIFO, "
        "hotelvoice at WARNING logs, the window after ramp + settle (steady state only), "
        "one run, the sample only with --compare-sample",
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
        help="smoke run, well under 2 minutes: N = 10 and 50, one run of 6 s each, both servers "
        "(with --gentle: 8 s, 5 s with --compare-sample) unless overridden",
    )
    parser.add_argument(
        "--priority",
        choices=("realtime", "nice", "normal"),
        help="scheduling of this script and all it starts, so that on a shared machine the "
        "bridge really has its CPU (and the harness its own): realtime = SCHED_FIFO 1, the "
        "lowest real-time priority (needs root or CAP_SYS_NICE; falls back to nice); "
        "nice = nice -10; normal = leave it (default normal; realtime with --gentle). The "
        "output states which was used",
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
        help="run the same sweep against Twilio's Python sample (speech-assistant-openai-"
        "realtime-api-python, FastAPI + uvicorn) on the same pinning and print both side by "
        "side (the default, except with --gentle; an error if the sample is not found); "
        "pip-installs fastapi, uvicorn, websockets into this virtualenv on first use",
    )
    parser.add_argument(
        "--no-sample", action="store_true", help="run hotelvoice only (no ratios to the sample)"
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
        args.calls = list(
            QUICK_CALLS if args.quick else GENTLE_CALLS if args.gentle else DEFAULT_CALLS
        )
    if args.seconds is None:
        if args.gentle:
            args.seconds = (5.0 if args.compare_sample else 8.0) if args.quick else 20.0
        else:
            args.seconds = 6.0 if args.quick else 20.0
    if args.runs is None:
        args.runs = 1 if args.quick or args.gentle else 3
    if args.priority is None:
        args.priority = "realtime" if args.gentle else "normal"
    if any(n < 1 for n in args.calls) or args.seconds <= 1 or args.ramp < 0 or args.settle < 0:
        parser.error("--calls must be ≥ 1, --seconds > 1, --ramp and --settle ≥ 0")
    if args.runs < 1 or any(w < 1 for w in args.workers):
        parser.error("--runs and --workers must be ≥ 1")
    if not args.gentle and args.seconds <= args.ramp + args.settle:
        parser.error("--seconds must exceed --ramp + --settle (the window holds the ramp-up)")
    if args.compare_sample and args.no_sample:
        parser.error("--compare-sample and --no-sample contradict each other")
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


def serve_has_workers() -> bool:
    """Whether `hotelvoice serve --help` lists --workers (the `workers` branch)."""
    try:
        done = subprocess.run(
            [*service_command(), "serve", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env=helper_env(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--workers" in done.stdout


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(argv)
    cpus = allowed_cpus()  # before this process pins itself to the harness CPU(s)
    priority = raise_priority(args.priority)
    cfg = Config(
        args.seconds,
        args.ramp,
        args.settle,
        args.generators,
        choose_pinning(args.bridge_cpu, args.harness_cpu, 1, cpus),
        args.keep_logs,
    )
    cfg.speak_every, cfg.speak_seconds = args.speak_every, args.speak_seconds
    cfg.ramp_in_window = not args.gentle
    cfg.log_args = QUIET if args.gentle else ()
    cfg.runs = args.runs
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
    workers = sorted(set(args.workers))
    want_sample = args.compare_sample or not (args.gentle or args.no_sample)
    sample_tmp = None
    sample = None
    if want_sample:
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        from bench._calls import twilio_sample

        sample_tmp = tempfile.TemporaryDirectory(prefix="hv-bench-sample-")
        try:
            sample = twilio_sample.prepare(args.sample_dir, Path(sample_tmp.name))
        except twilio_sample.SampleError as exc:
            sample_tmp.cleanup()
            sample_tmp = None
            if args.compare_sample:
                print(f"--compare-sample: {exc}", file=sys.stderr)
                return 2
            print(f"NOT comparing with Twilio's sample (no ratios): {exc}\n")
    servers = 2 if sample is not None else 1
    window = args.seconds if not args.gentle else args.seconds + args.ramp + args.settle
    per_point = window + 0.2 + POINT_OVERHEAD_S
    estimate = len(calls) * len(workers) * args.runs * servers * per_point
    has_workers = serve_has_workers()
    method = (
        "GENTLE (older method): hotelvoice at WARNING logs, calls ramp up before the window, "
        "steady state measured"
        if args.gentle
        else "independent: default log level (INFO), the ramp-up inside the measured window "
        "(calls starting while others talk)"
    )
    print("hotelvoice calls benchmark: concurrent simulated Twilio calls against the bridge")
    print(f"  method: {method}")
    print(f"  priority: {priority}")
    for w in workers:
        note = choose_pinning(args.bridge_cpu, args.harness_cpu, w, cpus).note
        print(f"  pinning, workers = {w}: {note}")
    if not has_workers:
        print(
            "  `hotelvoice serve --help` has no --workers yet: workers = 1 runs without the "
            "flag; workers > 1 passes it and is skipped if the server refuses it"
        )
    print(
        f"  sweep N = {calls}, workers {workers}, {args.runs} run(s) per N and server"
        + (", hotelvoice and Twilio's sample interleaved run by run" if servers == 2 else "")
        + f"; ramp {args.ramp:g} s + settle {args.settle:g} s"
        + (
            f" inside each {args.seconds:g} s window"
            if not args.gentle
            else f", then {args.seconds:g} s measured"
        )
        + f" (estimated {estimate / 60:.1f} min in all)"
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
    if sample is not None:
        print(f"  compared with Twilio's sample: {sample.source}")
        print(f"    copied to {sample.directory}/main.py and patched there (not in this repo):")
        for patch in sample.patched:
            print(f"      {patch}")
        print(
            "    served by: "
            + " ".join(sample.command("python", HOST, 0)).replace(" --port 0", " --port <free>")
            + " (as shipped: uvicorn INFO logs and its print() per event, to a log file)"
        )
    print()
    print(HEADER)
    rows: list[Row] = []
    with terminate_as_interrupt():
        try:
            for w in workers:
                pinning = choose_pinning(args.bridge_cpu, args.harness_cpu, w, cpus)
                if pinning.harness is not None:
                    with contextlib.suppress(OSError):
                        os.sched_setaffinity(0, set(pinning.harness))  # off the bridge's CPU
                wcfg = dataclasses.replace(
                    cfg, pinning=pinning, workers=w, pass_workers=has_workers or w > 1
                )
                sweep(calls, wcfg, rows, sample)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping every process this benchmark started", file=sys.stderr)
            return 130
        finally:
            stop_all()
            if sample_tmp is not None:
                sample_tmp.cleanup()
    if args.gentle:
        one = [r for r in rows if r.workers == workers[0]]
        hv_rows = [r for r in one if r.server == "hotelvoice"]
        sm_rows = [r for r in one if r.server == "sample"] if sample is not None else None
        for line in verdict(hv_rows, sm_rows):
            print(line)
    else:
        for line in independent_report(rows, realtime=cfg.realtime, sample=sample is not None):
            print(line)
    print(f"\ntotal run time: {(time.monotonic() - started) / 60:.1f} min")
    return 0


def sweep(calls: list[int], cfg: Config, rows: list[Row], sample: Any = None) -> None:
    """Every N, every run; hotelvoice then the sample, run by run, so that both see the same
    moment's load on a shared machine."""
    refused = False
    for n in calls:
        for run in range(1, cfg.runs + 1):
            servers = [cfg] if sample is None else [cfg, dataclasses.replace(cfg, sample=sample)]
            for server_cfg in servers:
                if refused and server_cfg.sample is None:
                    continue
                row = run_point(n, server_cfg)
                row.run = run
                row.gentle_words = not cfg.ramp_in_window
                rows.append(row)
                print(format_row(row), flush=True)
                if row.rejected:
                    refused = True
                    print(
                        f"      workers = {cfg.workers}: hotelvoice skipped for every N "
                        "(its serve has no --workers yet)",
                        flush=True,
                    )
                    continue
                note = ramp_note(row)
                if note is not None:
                    print(f"      {note}", flush=True)
                for line in row.notes:
                    print(f"      {line}", flush=True)
                if row.profile is not None:
                    print_profile(row)
                if cfg.raw_dir is not None and row.series:
                    print_raw(row, cfg.raw_dir)


if __name__ == "__main__":
    sys.exit(main())
