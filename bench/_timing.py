"""Shared timing helper for the micro-benchmarks in bench/."""

from __future__ import annotations

import time
from collections.abc import Callable


def microseconds_per_call(function: Callable[[], object], repeats: int = 5) -> float:
    """Best of ``repeats`` timed loops, so a stray context switch does not skew the figure."""
    calls = 100_000
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6
