"""Caller audio waiting for the engine's ears, bounded.

The ears take audio in batches, off the event loop; while they work, more arrives. When they
are slower than real time (a loaded machine, a slow recogniser) the wait would grow without
end, and with it the memory and how late the engine answers. :class:`AudioBacklog` keeps at
most a given amount: when it is full the *oldest* audio goes (counted by the caller of
:meth:`AudioBacklog.put`), because what the caller is saying now is what the engine must catch
up with; the stream times the ears report then count only the audio they heard.
"""

from __future__ import annotations

from collections import deque

import trio

__all__ = ["AudioBacklog"]


class AudioBacklog:
    """Chunks of audio in arrival order, and whether the ears must start afresh first."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._bytes = 0
        self._restart = False
        self._arrived = trio.Event()

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def put(self, audio: bytes, limit_bytes: int) -> int:
        """Queue ``audio``; then drop the oldest chunks until at most ``limit_bytes`` wait.
        Returns how many bytes were dropped (0 almost always)."""
        if not audio:
            return 0
        self._chunks.append(audio)
        self._bytes += len(audio)
        dropped = 0
        while self._bytes > limit_bytes and self._chunks:
            oldest = self._chunks.popleft()
            self._bytes -= len(oldest)
            dropped += len(oldest)
        self._arrived.set()
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
