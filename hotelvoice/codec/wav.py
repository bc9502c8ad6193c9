"""Reading and writing 16-bit PCM WAV files (mono or multi-channel) with the stdlib ``wave``.

Used for call recordings and test fixtures; anything but uncompressed 16-bit PCM is refused.
"""

from __future__ import annotations

import os
import wave

import numpy as np
import numpy.typing as npt

__all__ = ["interleave", "read_wav", "write_wav"]


def _check(pcm: npt.NDArray[np.int16], caller: str) -> None:
    if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16:
        got = pcm.dtype if isinstance(pcm, np.ndarray) else type(pcm).__name__
        raise TypeError(f"{caller} expects a numpy int16 array, got {got}")


def write_wav(path: str | os.PathLike[str], pcm: npt.NDArray[np.int16], rate: int) -> None:
    """Write int16 samples, shape ``(n,)`` for mono or ``(n, channels)``, as a PCM16 WAV."""
    _check(pcm, "write_wav")
    if pcm.ndim not in (1, 2) or (pcm.ndim == 2 and pcm.shape[1] == 0):
        raise ValueError(f"expected shape (n,) or (n, channels), got {pcm.shape}")
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    # WAV is little-endian and interleaved: exactly a C-ordered (n, channels) "<i2" array.
    data = pcm.astype("<i2", copy=False).tobytes()
    # os.fspath: wave.open treats anything but a str as an open file.
    with wave.open(os.fspath(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data)


def read_wav(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.int16], int]:
    """Samples and sample rate of a PCM16 WAV: shape ``(n,)`` if mono, else ``(n, channels)``.

    ``ValueError`` for anything but uncompressed 16-bit PCM, or a file that is not a WAV.
    """
    try:
        with wave.open(os.fspath(path), "rb") as src:
            channels = src.getnchannels()
            width = src.getsampwidth()
            rate = src.getframerate()
            # wave itself refuses non-PCM formats on open; this guards other ``wave`` versions.
            if src.getcomptype() != "NONE":
                raise ValueError(f"{path}: expected uncompressed PCM, got {src.getcompname()}")
            if width != 2:
                raise ValueError(f"{path}: expected 16-bit PCM, got {8 * width}-bit")
            data = src.readframes(src.getnframes())
    except (wave.Error, EOFError) as exc:
        # wave.Error covers non-PCM formats (e.g. "unknown format: 3" for float, 6 for A-law).
        raise ValueError(f"{path}: not a 16-bit PCM WAV file ({str(exc) or 'truncated'})") from exc
    frame = 2 * channels
    usable = len(data) - len(data) % frame  # a truncated file may end mid-frame
    # astype: native byte order, and a writable array the caller owns.
    pcm = np.frombuffer(data, "<i2", count=usable // 2).astype(np.int16)
    return (pcm if channels == 1 else pcm.reshape(-1, channels)), rate


def interleave(left: npt.NDArray[np.int16], right: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """Two mono legs as one ``(n, 2)`` stereo array, the shorter padded with trailing silence."""
    _check(left, "interleave")
    _check(right, "interleave")
    if left.ndim != 1 or right.ndim != 1:
        raise ValueError(f"expected two 1-D arrays, got shapes {left.shape} and {right.shape}")
    out = np.zeros((max(len(left), len(right)), 2), np.int16)
    out[: len(left), 0] = left
    out[: len(right), 1] = right
    return out
