"""The playback ledger: what the caller actually heard, from Twilio's mark echoes.

Outbound audio is followed by uniquely named marks (one per chunk, at most every
``mark_interval`` of audio: see :meth:`PlaybackLedger.record_audio`). Twilio echoes a mark when
playback reaches it, and echoes every pending mark at once when we send ``clear``. So an echo
means "played" only if the mark was still outstanding; marks that were outstanding when we
cleared are *flushed*, and their late echoes must not count as heard audio.

Sans-IO: no sockets, no clock. Bytes are counted in the model's audio format, so the heard
milliseconds are in the model's own time base (8 bytes per ms for μ-law, 48 for PCM16 24 kHz).
"""

from __future__ import annotations

import enum

import attrs


class EchoOutcome(enum.Enum):
    HEARD = "heard"
    FLUSHED = "flushed"
    UNKNOWN = "unknown"


@attrs.frozen
class Truncation:
    """Where to cut an assistant item after a barge-in."""

    item_id: str
    audio_end_ms: int
    sent_ms: int


@attrs.define
class _ItemAudio:
    sent_bytes: int = 0
    heard_bytes: int = 0


MAX_FLUSHED_MARKS = 1024  # 100 s of cleared audio at the default mark interval


class PlaybackLedger:
    """Tracks audio sent to Twilio per assistant item and how much of it was heard."""

    def __init__(self, *, bytes_per_ms: int = 8, mark_prefix: str = "m") -> None:
        if bytes_per_ms <= 0:
            raise ValueError("bytes_per_ms must be positive")
        self.bytes_per_ms = bytes_per_ms
        self._prefix = mark_prefix
        self._seq = 0
        # mark name -> (item_id, bytes); insertion order is playback order (Twilio is FIFO). A
        # plain dict keeps that order too, in half an OrderedDict's memory.
        self._outstanding: dict[str, tuple[str, int]] = {}
        # Marks cleared from Twilio's buffer, until Twilio echoes them (the newest few only: an
        # echo that never comes must not keep its name for the rest of the call).
        self._flushed: dict[str, None] = {}
        self._items: dict[str, _ItemAudio] = {}
        self._unmarked_item = ""
        self._unmarked_bytes = 0

    def record_audio(self, item_id: str, nbytes: int) -> None:
        """Record audio sent for ``item_id`` that the next :meth:`mark` will cover."""
        if self._unmarked_bytes and item_id != self._unmarked_item:
            raise ValueError("mark the previous item's audio before sending another item's")
        self._unmarked_item = item_id
        self._unmarked_bytes += nbytes
        audio = self._items.get(item_id)
        if audio is None:
            audio = self._items[item_id] = _ItemAudio()
            self._forget_finished_items()
        audio.sent_bytes += nbytes

    def mark(self) -> str | None:
        """A new mark covering the audio recorded since the last one (None if there is none)."""
        if not self._unmarked_bytes:
            return None
        self._seq += 1
        name = f"{self._prefix}{self._seq}"
        self._outstanding[name] = (self._unmarked_item, self._unmarked_bytes)
        self._unmarked_bytes = 0
        return name

    @property
    def unmarked_bytes(self) -> int:
        return self._unmarked_bytes

    def _forget_finished_items(self) -> None:
        # Only items with audio still at Twilio can be truncated; keep the table small.
        if len(self._items) > 16:
            live = {item for item, _ in self._outstanding.values()} | {self._unmarked_item}
            for item in [i for i in self._items if i not in live][:-4]:
                del self._items[item]

    def on_echo(self, name: str) -> EchoOutcome:
        """Account for an echoed mark: heard if outstanding, flushed if cleared, else unknown."""
        entry = self._outstanding.pop(name, None)
        if entry is not None:
            item_id, nbytes = entry
            self._items[item_id].heard_bytes += nbytes
            return EchoOutcome.HEARD
        if name in self._flushed:
            del self._flushed[name]
            return EchoOutcome.FLUSHED
        return EchoOutcome.UNKNOWN

    @property
    def outstanding(self) -> bool:
        """True while Twilio may still hold audio we sent that has not been played."""
        return bool(self._outstanding) or self._unmarked_bytes > 0

    @property
    def outstanding_marks(self) -> int:
        return len(self._outstanding)

    def outstanding_items(self) -> list[str]:
        """Items with unplayed audio, in playback order, without repeats."""
        items = [item for item, _ in self._outstanding.values()]
        if self._unmarked_bytes:
            items.append(self._unmarked_item)
        return list(dict.fromkeys(items))

    def heard_ms(self, item_id: str) -> int:
        audio = self._items.get(item_id)
        return 0 if audio is None else audio.heard_bytes // self.bytes_per_ms

    def sent_ms(self, item_id: str) -> int:
        audio = self._items.get(item_id)
        return 0 if audio is None else audio.sent_bytes // self.bytes_per_ms

    def interrupt(self) -> tuple[list[str], Truncation | None]:
        """The caller barged in: flush everything outstanding.

        Returns the items whose audio was cut off (so their late deltas can be dropped) and the
        truncation for the item that was playing, or None when nothing was outstanding or
        nothing of it had been heard yet (the API rejects a truncate at 0 ms).
        """
        if not self.outstanding:
            return [], None
        cut_items = self.outstanding_items()
        playing = cut_items[0]
        flushed = self._flushed
        flushed.update(dict.fromkeys(self._outstanding))
        for name in list(flushed)[: max(0, len(flushed) - MAX_FLUSHED_MARKS)]:
            del flushed[name]
        self._outstanding.clear()
        self._unmarked_bytes = 0
        sent_ms = self.sent_ms(playing)
        heard_ms = min(self.heard_ms(playing), sent_ms)
        truncation = Truncation(playing, heard_ms, sent_ms) if heard_ms > 0 else None
        return cut_items, truncation
