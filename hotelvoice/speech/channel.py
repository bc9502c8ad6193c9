"""The telephone channel, simulated: what wideband speech sounds like after a phone call.

Tests and benchmarks pass synthetic 16 kHz speech through :func:`telephone_band` so that the
recogniser and detector hear what they hear in a call: 8 kHz, G.711 μ-law, upsampled again.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.speech.tts import resample

__all__ = ["telephone_band"]


def telephone_band(pcm16k: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """``pcm16k`` as it arrives through a phone call: 16 kHz -> 8 kHz -> G.711 μ-law encode
    and decode -> 16 kHz, with our resampler and codec, same length and time-aligned."""
    narrow = resample(pcm16k, 16000, 8000)
    line = ulaw_decode(ulaw_encode(narrow))
    wide = resample(line, 8000, 16000)
    out = np.zeros(len(pcm16k), np.int16)
    n = min(len(out), len(wide))
    out[:n] = wide[:n]
    return out
