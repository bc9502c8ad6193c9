"""Voice to voice, as a caller hears it: the README's conversation in real time, several runs.

Starts ``hotelvoice serve`` on its embedded defaults (a fresh SQLite file, the offline engine)
on a free loopback port and calls it with ``hotelvoice call`` and the README's ``--say`` lines,
in real time (20 ms frames, 1x). The softphone measures, for each caller line, the time from
its last sample to the agent's first audible sample after it; printed per run and over all
runs, with the transcript of the first. A benchmark, not a test: figures vary with load.

    .venv/bin/python -m bench.conversation [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean

import httpx

ROOT = Path(__file__).resolve().parents[1]
LATENCY = re.compile(r"^\s+line (\d+)\s+([\d.]+) s\s+(.*)$", re.MULTILINE)


def readme_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    command = next(block for block in readme.split("```") if "hotelvoice call" in block)
    return re.findall(r'--say "([^"]+)"', command)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, server: subprocess.Popen[bytes], timeout_s: float = 120) -> float:
    """Seconds until ``url``/healthz answers; raises RuntimeError if the server dies."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return time.perf_counter() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lines = readme_lines()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PUBLIC_URL=url, HOTELVOICE_DB=str(Path(tmp) / "hotelvoice.db"))
        env.pop("OPENAI_API_KEY", None)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hotelvoice",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            print(f"server up in {wait_until_up(url, server):.1f} s (engine warmed up)")
            every: list[float] = []
            for run in range(args.runs):
                say = [arg for line in lines for arg in ("--say", line)]
                done = subprocess.run(
                    [sys.executable, "-m", "hotelvoice", "call", "--server", url, *say],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                found = [(int(n), float(s), label) for n, s, label in LATENCY.findall(done.stdout)]
                values = [seconds for _, seconds, _ in found]
                every += values
                figures = ", ".join(f"{s:.2f}" for s in values)
                average = f"{mean(values):.2f} s" if values else "n/a"
                print(
                    f"run {run + 1}: exit {done.returncode}; answered {len(values)} of "
                    f"{len(lines)} lines; mean {average} [{figures}]"
                )
                if run == 0:
                    transcript = done.stdout.split("transcript (seconds into the call):")[-1]
                    print(transcript.split("latency,")[0].rstrip())
            if every:
                ordered = sorted(every)
                print(
                    f"all runs: mean {mean(ordered):.2f} s, p50 {ordered[len(ordered) // 2]:.2f} s,"
                    f" max {ordered[-1]:.2f} s over {len(ordered)} answers"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
