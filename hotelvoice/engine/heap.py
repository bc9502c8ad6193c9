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
from collections.abc import Callable

import trio

__all__ = ["release_free_heap", "release_free_heap_soon"]

log = logging.getLogger(__name__)


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
