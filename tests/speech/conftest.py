"""Shared speech fixtures: an espeak voice, the Whisper transcriber and the Piper voice.

The two neural models load in about 0.5 s each, so one of each serves the whole directory
(sync fixtures of any scope are fine under pytest-trio).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from hotelvoice.speech.asr import Transcriber
from hotelvoice.speech.tts import Speaker
from hotelvoice.speech.voice import NeuralVoice


def speech_span(pcm: npt.NDArray[np.int16], rate: int) -> tuple[float, float]:
    """Where the sound is, in ms: first and last sample above 2 % of the peak."""
    loud = np.nonzero(np.abs(pcm.astype(np.int32)) > 0.02 * np.abs(pcm.astype(np.int32)).max())
    first, last = loud[0][0], loud[0][-1]
    return first * 1000 / rate, (last + 1) * 1000 / rate


@pytest.fixture(scope="session")
def speaker() -> Speaker:
    return Speaker("en-us+f2")


@pytest.fixture(scope="session")
def transcriber() -> Transcriber:
    return Transcriber()


@pytest.fixture(scope="session")
def neural_voice() -> NeuralVoice:
    return NeuralVoice()
