"""Handing the C heap's free memory back to the system when an engine session ends.

The speech libraries are native (CTranslate2, onnxruntime) and allocate from worker threads;
glibc keeps what they free in the threads' arenas, in pieces the next session rarely fits
exactly, so the server's RSS can climb call after call although nothing leaks (measured with
the per-call pocketsphinx recognisers this engine once had: 200 in new threads, 81 → 143 MiB,
and 76 MiB after ``malloc_trim``).
``malloc_trim(0)`` returns every arena's free pages; it takes a few milliseconds, so it runs in
a worker thread and nobody waits for it. Where the C library has no ``malloc_trim`` (musl,
macOS) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Callable

import trio

__all__ = ["MALLOC_ARENAS", "limit_malloc_arenas", "release_free_heap", "release_free_heap_soon"]

log = logging.getLogger(__name__)

# glibc's mallopt parameter for the most arenas the process may have (malloc.h).
_M_ARENA_MAX = -8
# Two arenas: the main one and one that every worker thread shares. glibc's default is eight
# per core, and each thread that allocates gets one of its own up to that: the speech
# libraries' large, short-lived buffers (a Piper sentence needs about 100 MiB at its peak)
# then sit in many arenas, in pieces that malloc_trim cannot hand back. Measured with 3 waves
# of 20 concurrent syntheses: 136 MiB before, 603–768 MiB after each wave and a trim with the
# default, 155–164 MiB with two arenas.
MALLOC_ARENAS = 2


def _find_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _find_malloc_trim()


def _find_mallopt() -> Callable[[int, int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


_MALLOPT = _find_mallopt() if _MALLOC_TRIM is not None else None  # glibc only


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let the C heap have at most ``arenas`` arenas (glibc's ``M_ARENA_MAX``), from now on:
    call it before the worker threads start (threads that already own an arena keep it).
    False where unsupported (not glibc) or refused. ``MALLOC_ARENA_MAX`` in the environment,
    when set, wins: the operator's choice."""
    if _MALLOPT is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(_MALLOPT(_M_ARENA_MAX, arenas))


def release_free_heap() -> bool:
    """Blocking: return the C heap's free pages to the system. False where unsupported."""
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True


def release_free_heap_soon() -> None:
    """Run :func:`release_free_heap` in a worker thread; returns at once (usable while the
    calling task is being cancelled, as when a call's nursery closes)."""

    def done(outcome: object) -> None:
        pass  # nothing to report: a trim that fails only leaves the RSS as it was

    trio.lowlevel.start_thread_soon(release_free_heap, done)
