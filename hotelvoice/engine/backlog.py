"""Caller audio waiting for the engine's ears, bounded.

The ears take audio in batches, off the event loop; while they work, more arrives. When they
are slower than real time (a loaded machine, a slow recogniser) the wait would grow without
end, and with it the memory and how late the engine answers. :class:`AudioBacklog` keeps at
most ``limit_ms`` of audio: when it is full the *oldest* audio goes (counted, and logged at
most every ``DROP_LOG_INTERVAL_S``), because what the caller is saying now is what the engine
must catch up with; the stream times the ears report then count only the audio they heard.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from typing import Any

import trio

from hotelvoice.metrics import Metrics

__all__ = ["MAX_APPEND_MS", "MAX_BACKLOG_MS", "AudioBacklog", "bytes_per_ms"]

log = logging.getLogger(__name__)

# Ten seconds: a client streaming a recorded line faster than real time (the tests,
# bench/engine.py) hands over about five at once, and ears that keep up at all catch up within
# that.
MAX_BACKLOG_MS = 10_000
# One input_audio_buffer.append carries at most this much audio: half the backlog, so that one
# event never pushes out audio the ears have not heard. Bigger ones are refused.
MAX_APPEND_MS = 5_000
DROP_LOG_INTERVAL_S = 10.0


def bytes_per_ms(audio_format: Mapping[str, Any] | None) -> int:
    """Bytes per millisecond of a GA audio format (``{"type": "audio/pcm", "rate": 24000}``)."""
    audio_format = audio_format or {}
    if audio_format.get("type", "audio/pcm") in ("audio/pcmu", "audio/pcma"):
        return 8
    return max(1, int(audio_format.get("rate", 24000)) * 2 // 1000)


class AudioBacklog:
    """Chunks of audio in arrival order, and whether the ears must start afresh first."""

    def __init__(self, *, limit_ms: int = MAX_BACKLOG_MS, metrics: Metrics | None = None) -> None:
        self.limit_ms = limit_ms
        self.dropped_ms = 0  # audio dropped because the ears were behind
        self._metrics = metrics
        self._chunks: deque[bytes] = deque()
        self._bytes = 0
        self._restart = False
        self._arrived = trio.Event()
        self._next_log = -float("inf")

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def put(self, audio: bytes, per_ms: int) -> int:
        """Queue ``audio`` (``per_ms`` bytes a millisecond), then drop the oldest chunks until
        at most ``limit_ms`` wait. Returns how many bytes were dropped (0 almost always)."""
        if not audio:
            return 0
        self._chunks.append(audio)
        self._bytes += len(audio)
        dropped = 0
        while self._bytes > self.limit_ms * per_ms and self._chunks:
            oldest = self._chunks.popleft()
            self._bytes -= len(oldest)
            dropped += len(oldest)
        self._arrived.set()
        if dropped:
            self._dropped(dropped // per_ms)
        return dropped

    def clear(self) -> int:
        """``input_audio_buffer.clear``: drop what waits, and have the ears start afresh before
        the next audio. Returns the bytes dropped."""
        dropped = self._bytes
        self._chunks.clear()
        self._bytes = 0
        self._restart = True
        self._arrived.set()
        return dropped

    async def take(self, max_bytes: int) -> tuple[bool, bytes]:
        """Wait for audio or a clear; return (start afresh first, audio of at most
        ``max_bytes``, or one larger chunk, in order)."""
        while not self._chunks and not self._restart:
            self._arrived = trio.Event()
            await self._arrived.wait()
        restart, self._restart = self._restart, False
        batch: list[bytes] = []
        size = 0
        while self._chunks and (not batch or size + len(self._chunks[0]) <= max_bytes):
            chunk = self._chunks.popleft()
            batch.append(chunk)
            size += len(chunk)
        self._bytes -= size
        return restart, b"".join(batch)

    def _dropped(self, ms: int) -> None:
        self.dropped_ms += ms
        if self._metrics is not None:
            self._metrics.incr("hotelvoice_engine_audio_dropped_ms_total", ms)
        now = trio.current_time()
        if now >= self._next_log:
            self._next_log = now + DROP_LOG_INTERVAL_S
            log.warning(
                "local engine: the ears are over %d ms behind; oldest caller audio dropped "
                "(%d ms in this session so far)",
                self.limit_ms,
                self.dropped_ms,
            )
