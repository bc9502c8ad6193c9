"""Shared speech fixtures: the example hotels, an espeak voice, a hotel-grammar recogniser,
the Whisper transcriber and the Piper voice.

Creating a recogniser costs about 0.2 s and the two neural models about 0.5 s each, so one of
each serves the whole directory (sync fixtures of any scope are fine under pytest-trio).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from hotelvoice.engine.grammar import hotel_grammar
from hotelvoice.properties.book import load_properties
from hotelvoice.properties.model import Property
from hotelvoice.speech.asr import Transcriber
from hotelvoice.speech.stt import Recognizer
from hotelvoice.speech.tts import Speaker
from hotelvoice.speech.voice import NeuralVoice

EXAMPLE_PROPERTIES = Path(__file__).parents[2] / "docs" / "properties.example.toml"


def example_properties() -> tuple[Property, ...]:
    return load_properties(EXAMPLE_PROPERTIES).properties


def speech_span(pcm: npt.NDArray[np.int16], rate: int) -> tuple[float, float]:
    """Where the sound is, in ms: first and last sample above 2 % of the peak."""
    loud = np.nonzero(np.abs(pcm.astype(np.int32)) > 0.02 * np.abs(pcm.astype(np.int32)).max())
    first, last = loud[0][0], loud[0][-1]
    return first * 1000 / rate, (last + 1) * 1000 / rate


@pytest.fixture(scope="session")
def sunset_inn() -> Property:
    return example_properties()[0]


@pytest.fixture(scope="session")
def speaker() -> Speaker:
    return Speaker("en-us+f2")


@pytest.fixture(scope="session")
def hotel_recognizer(sunset_inn: Property) -> Recognizer:
    return Recognizer(hotel_grammar(sunset_inn))


@pytest.fixture(scope="session")
def transcriber() -> Transcriber:
    return Transcriber()


@pytest.fixture(scope="session")
def neural_voice() -> NeuralVoice:
    return NeuralVoice()
