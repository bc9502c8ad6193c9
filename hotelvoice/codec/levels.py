"""Signal levels of int16 audio in dBFS (full scale = 32768), for logs and silence checks.

Pure numpy; no I/O.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["FULL_SCALE", "peak_dbfs", "rms_dbfs"]

FULL_SCALE: Final = 32768.0


def _check(pcm: npt.NDArray[np.int16], caller: str) -> None:
    if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16:
        got = pcm.dtype if isinstance(pcm, np.ndarray) else type(pcm).__name__
        raise TypeError(f"{caller} expects a numpy int16 array, got {got}")


def rms_dbfs(pcm: npt.NDArray[np.int16]) -> float:
    """RMS level: 0.0 for a full-scale square wave, about -3.01 for a full-scale sine.

    ``-inf`` for silence or no samples.
    """
    _check(pcm, "rms_dbfs")
    if pcm.size == 0:
        return -math.inf
    # float64: int16 squares overflow, and even int32/int64 sums are no faster than a dot.
    x = pcm.astype(np.float64).ravel()
    mean_square = float(np.dot(x, x)) / x.size
    if mean_square == 0.0:
        return -math.inf
    return 10.0 * math.log10(mean_square / (FULL_SCALE * FULL_SCALE))


def peak_dbfs(pcm: npt.NDArray[np.int16]) -> float:
    """Peak level: 0.0 when a sample reaches -32768, ``-inf`` for silence or no samples."""
    _check(pcm, "peak_dbfs")
    if pcm.size == 0:
        return -math.inf
    # Python ints: abs(-32768) does not fit in int16.
    peak = max(int(pcm.max()), -int(pcm.min()))
    if peak == 0:
        return -math.inf
    return 20.0 * math.log10(peak / FULL_SCALE)
