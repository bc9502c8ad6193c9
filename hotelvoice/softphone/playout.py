"""Twilio's outbound playout queue, sans-IO: what the caller hears, and when marks echo.

The server's ``media`` audio and ``mark`` messages join one FIFO queue. Audio plays at
8 bytes per millisecond of call time, continuously while the queue holds audio; audio that
arrives on an idle queue starts at once. A mark is echoed when playback reaches it, at once if
nothing is queued ahead of it. ``clear`` stops playback now, drops the queued audio and echoes
every pending mark at once (reference §3).

Times are seconds of *call time*, plain floats supplied by the caller of each method; the
object never reads a clock, so it is driven by numbers in tests and by the call's clock in the
softphone. Every method first brings the queue up to ``now``; times should not decrease.
"""

from __future__ import annotations

import math
from collections import deque

import attrs

from hotelvoice.softphone.protocol import MULAW_RATE

__all__ = ["Echo", "PlayedAudio", "Playout"]

# Audio queued ahead of playback beyond this is refused (Twilio documents no cap; a server that
# runs this far ahead is broken, and the softphone's memory must not follow it without end).
MAX_QUEUED_S = 120.0
# Times this close count as equal: a due time converted to the Trio clock and back may come
# out a hair early, and must not leave a mark waiting for a moment that has already come.
_TOLERANCE_S = 1e-6


@attrs.frozen
class PlayedAudio:
    """Audio the caller heard: μ-law ``data`` whose first sample played at ``start``."""

    start: float
    data: bytes

    @property
    def end(self) -> float:
        return self.start + len(self.data) / MULAW_RATE


@attrs.frozen
class Echo:
    """A mark echo: ``name``, the call time ``at`` which it is due, and whether a ``clear``
    flushed it (rather than playback reaching it)."""

    name: str
    at: float
    flushed: bool = False


@attrs.define(eq=False)
class _Audio:
    start: float
    data: bytes

    @property
    def end(self) -> float:
        return self.start + len(self.data) / MULAW_RATE


@attrs.define(eq=False)
class _Mark:
    name: str
    due: float


class Playout:
    """One call's outbound queue. Read :attr:`played`, :attr:`echoes`, :attr:`clears`."""

    def __init__(self, max_queued_s: float = MAX_QUEUED_S) -> None:
        self.max_queued_s = max_queued_s
        self.refused_bytes = 0  # audio beyond max_queued_s, never queued
        self._queue: deque[_Audio | _Mark] = deque()
        self._outbox: list[Echo] = []
        self._now = -math.inf
        self._tail_end = 0.0  # when everything queued so far has played
        self._burst_start: float | None = None  # start of the current stretch of playback
        self.played: list[PlayedAudio] = []
        self.echoes: list[Echo] = []  # every echo handed out by take_echoes, in order
        self.clears: list[float] = []  # call times of each clear
        self.flushed_bytes = 0
        self.received_bytes = 0
        self.first_audio_at: float | None = None

    # ------------------------------------------------------------------ the server's messages

    def push_audio(self, data: bytes, now: float) -> bool:
        """Queue ``data`` (μ-law) received at ``now``; it plays after what is queued. False
        (and counted in ``refused_bytes``) when it would queue over ``max_queued_s``."""
        now = self.advance(now)
        if not data:
            return True
        start = max(now, self._tail_end)
        if start + len(data) / MULAW_RATE - now > self.max_queued_s:
            self.refused_bytes += len(data)
            return False
        if self._tail_end < now or self._burst_start is None:  # idle: playback starts now
            self._burst_start = start
        audio = _Audio(start, data)
        self._queue.append(audio)
        self._tail_end = audio.end
        self.received_bytes += len(data)
        if self.first_audio_at is None:
            self.first_audio_at = start
        return True

    def push_mark(self, name: str, now: float) -> None:
        """Queue a mark received at ``now``; due when the audio ahead of it has played."""
        now = self.advance(now)
        if self._tail_end <= now:
            self._outbox.append(Echo(name, now))
        else:
            self._queue.append(_Mark(name, self._tail_end))

    def clear(self, now: float) -> None:
        """Twilio's ``clear`` at ``now``: keep what was heard, drop the rest, flush the marks."""
        now = self.advance(now)
        self.clears.append(now)
        for item in self._queue:
            if isinstance(item, _Mark):
                self._outbox.append(Echo(item.name, now, flushed=True))
                continue
            heard = max(0, math.floor((now - item.start) * MULAW_RATE + 1e-6))
            if heard:
                self.played.append(PlayedAudio(item.start, item.data[:heard]))
            self.flushed_bytes += len(item.data) - heard
        self._queue.clear()
        self._tail_end = min(self._tail_end, now)
        self._burst_start = None

    def finish(self, now: float) -> None:
        """The call ended at ``now``: audio playing then is cut there; the rest is never heard.

        Pending marks are not echoed (the socket is gone).
        """
        now = self.advance(now)
        for item in self._queue:
            if isinstance(item, _Audio):
                heard = max(0, math.floor((now - item.start) * MULAW_RATE + 1e-6))
                if heard:
                    self.played.append(PlayedAudio(item.start, item.data[:heard]))
                self.flushed_bytes += len(item.data) - heard
        self._queue.clear()
        self._tail_end = min(self._tail_end, now)
        self._burst_start = None

    # ------------------------------------------------------------------ time passing

    def advance(self, now: float) -> float:
        """Play the queue up to ``now``: finished audio moves to :attr:`played`, marks reached
        wait in the outbox for :meth:`take_echoes`. Returns ``now`` (see below).

        A ``now`` earlier than a time already given counts as that time (clocks converted
        between time bases may be off by rounding).
        """
        now = self._now = max(now, self._now)
        reached = now + _TOLERANCE_S
        queue = self._queue
        while queue:
            item = queue[0]
            if isinstance(item, _Mark):
                if item.due > reached:
                    break
                self._outbox.append(Echo(item.name, item.due))
            else:
                if item.end > reached:
                    break
                self.played.append(PlayedAudio(item.start, item.data))
            queue.popleft()
        return now

    def take_echoes(self, now: float) -> list[Echo]:
        """Advance to ``now`` and return the echoes due (oldest first), each only once."""
        self.advance(now)
        echoes, self._outbox = self._outbox, []
        self.echoes += echoes
        return echoes

    def next_due(self) -> float | None:
        """When the next queued mark is due (None if no mark is queued)."""
        for item in self._queue:
            if isinstance(item, _Mark):
                return item.due
        return None

    # ------------------------------------------------------------------ what the caller hears

    def playing_at(self, t: float) -> bool:
        """Whether audio is playing at ``t`` (no later than the last time given, or queued)."""
        return self._tail_end > t

    def quiet_for(self, t: float) -> float:
        """How long the line has been quiet at ``t``: 0 while audio plays, else the time since
        the last audio ended (since the start of the call if none ever played)."""
        return max(0.0, t - self._tail_end)

    @property
    def last_audio_end(self) -> float:
        """When the latest audio ends (or ended): in the future while audio is queued."""
        return self._tail_end

    def burst_start(self, t: float) -> float | None:
        """When the stretch of playback going on at ``t`` started; None if quiet at ``t``."""
        return self._burst_start if self.playing_at(t) else None

    @property
    def queued_bytes(self) -> int:
        """Audio bytes not yet fully played (the segment playing counts whole)."""
        return sum(len(item.data) for item in self._queue if isinstance(item, _Audio))

    @property
    def pending_marks(self) -> list[str]:
        """Names of queued marks not yet due."""
        return [item.name for item in self._queue if isinstance(item, _Mark)]
