"""Audio payload plumbing: base64 text, little-endian PCM16 bytes, and fixed-size frames.

Twilio Media Streams and the Realtime API both carry audio as base64 strings; PCM16 on the
wire is little-endian. Pure Python, and numpy for the PCM16 arrays (imported by the first call
of ``pcm16_from_bytes`` or ``pcm16_to_bytes``: a μ-law bridge passes base64 through and never
needs it); no I/O.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "FrameAssembler",
    "b64_to_bytes",
    "bytes_to_b64",
    "duration_ms",
    "frame_bytes",
    "join_frames",
    "pcm16_from_bytes",
    "pcm16_to_bytes",
    "split_frames",
]


def b64_to_bytes(payload: str) -> bytes:
    """Decode standard base64; ``ValueError`` on anything that is not exactly that."""
    try:
        # Strict: the lenient default skips stray characters, which would shift or shorten the
        # audio silently instead of reporting a corrupt payload.
        return binascii.a2b_base64(payload, strict_mode=True)
    except ValueError as exc:  # binascii.Error, or a non-ASCII str
        raise ValueError(f"invalid base64 audio payload: {exc}") from exc


def bytes_to_b64(data: bytes) -> str:
    """Encode as standard base64, without a trailing newline."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def pcm16_from_bytes(data: bytes | bytearray | memoryview) -> npt.NDArray[np.int16]:
    """Little-endian PCM16 bytes as int16 samples: a read-only view on little-endian hosts."""
    if len(data) % 2:
        raise ValueError(f"PCM16 needs an even number of bytes, got {len(data)}")
    import numpy as np  # only where the audio is PCM16 (see above)

    pcm = np.frombuffer(data, "<i2")
    # On a big-endian host, swap once here so the rest of the code sees native int16.
    return pcm if pcm.dtype == np.int16 else pcm.astype(np.int16)


def pcm16_to_bytes(pcm: npt.NDArray[np.int16]) -> bytes:
    """int16 samples as little-endian PCM16 bytes (C order for multi-dimensional input)."""
    import numpy as np  # only where the audio is PCM16 (see above)

    if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16:
        got = pcm.dtype if isinstance(pcm, np.ndarray) else type(pcm).__name__
        raise TypeError(f"pcm16_to_bytes expects a numpy int16 array, got {got}")
    return pcm.astype("<i2", copy=False).tobytes()


def frame_bytes(rate: int, ms: int = 20, sample_width: int = 2) -> int:
    """Bytes in one ``ms``-long mono frame: 160 for 8 kHz μ-law (width 1), 960 for 24 kHz PCM16."""
    if rate <= 0 or ms <= 0 or sample_width <= 0:
        raise ValueError(
            f"rate, ms and sample_width must be positive, got {rate}, {ms}, {sample_width}"
        )
    samples, leftover = divmod(rate * ms, 1000)
    if leftover:
        raise ValueError(f"{ms} ms at {rate} Hz is not a whole number of samples")
    return samples * sample_width


def duration_ms(nbytes: int, rate: int, sample_width: int) -> float:
    """Playing time of ``nbytes`` of mono audio, in milliseconds."""
    if rate <= 0 or sample_width <= 0:
        raise ValueError(f"rate and sample_width must be positive, got {rate}, {sample_width}")
    return nbytes * 1000 / (rate * sample_width)


def split_frames(data: bytes, size: int) -> tuple[list[bytes], bytes]:
    """Whole ``size``-byte frames of ``data``, and the remainder (shorter than ``size``)."""
    if size <= 0:
        raise ValueError(f"frame size must be positive, got {size}")
    whole = len(data) - len(data) % size
    return [data[i : i + size] for i in range(0, whole, size)], data[whole:]


def join_frames(frames: Iterable[bytes]) -> bytes:
    """Concatenate frames."""
    return b"".join(frames)


class FrameAssembler:
    """Re-chunks a byte stream arriving in arbitrary pieces into ``size``-byte frames."""

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError(f"frame size must be positive, got {size}")
        self._size = size
        self._buffer = bytearray()

    @property
    def size(self) -> int:
        """Frame size in bytes."""
        return self._size

    @property
    def pending(self) -> int:
        """Bytes held back: received but not yet a whole frame (always less than ``size``)."""
        return len(self._buffer)

    def push(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add ``data``; return the frames now complete (possibly none)."""
        buffer, size = self._buffer, self._size
        buffer += data
        whole = len(buffer) - len(buffer) % size
        if not whole:
            return []
        # One copy per frame via the memoryview; it must be released before the bytearray
        # is resized.
        with memoryview(buffer) as view:
            frames = [view[i : i + size].tobytes() for i in range(0, whole, size)]
        del buffer[:whole]
        return frames

    def flush(self) -> bytes:
        """The partial frame held back (possibly empty); the assembler is then empty."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest

    def clear(self) -> None:
        """Discard the partial frame held back (e.g. when the far end barges in)."""
        self._buffer.clear()
