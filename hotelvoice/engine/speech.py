"""The engine's speech resources, shared by every session of a process.

One espeak voice (espeak is process-global state; :class:`~hotelvoice.speech.tts.Speaker`
serialises it), and one JSGF grammar per property, built once. Detectors and recognisers are
per session (they hold a stream's state). Every method here blocks: call it from a worker
thread.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from hotelvoice.engine.grammar import hotel_grammar
from hotelvoice.properties.model import Property
from hotelvoice.speech.stt import Recognizer
from hotelvoice.speech.tts import Speaker
from hotelvoice.speech.vad import SpeechDetector

ASR_RATE = 16000
TELEPHONE_RATE = 8000
_SHARED: SpeechKit | None = None
_SHARED_LOCK = threading.Lock()


class SpeechKit:
    """Voice, ears and grammars for the offline engine."""

    def __init__(self, *, voice: str = "en-us+f2", wpm: int = 165) -> None:
        self.voice = voice
        self.wpm = wpm
        self._speaker: Speaker | None = None
        self._grammars: dict[str, str] = {}
        self._lock = threading.Lock()

    def speak(self, text: str, rate: int) -> npt.NDArray[np.int16]:
        """``text`` as speech at ``rate`` Hz."""
        with self._lock:
            if self._speaker is None:
                self._speaker = Speaker(self.voice, self.wpm)
            speaker = self._speaker
        return speaker.synthesize_at(text, rate)

    def grammar(self, prop: Property) -> str:
        key = repr(prop)  # the whole property: two hotels may share an id across tests
        with self._lock:
            grammar = self._grammars.get(key)
            if grammar is None:
                grammar = self._grammars[key] = hotel_grammar(prop)
            return grammar

    @classmethod
    def shared(cls) -> SpeechKit:
        """The process's kit: espeak and the grammars load once."""
        global _SHARED
        with _SHARED_LOCK:
            if _SHARED is None:
                _SHARED = cls()
            return _SHARED

    def recognizer(self, prop: Property) -> Recognizer:
        """A new recogniser for one session (about 0.1 s to load).

        It starts from pocketsphinx's own normalisation, not one adapted to the telephone
        band beforehand: the recogniser levels each utterance, which makes a call's first
        request come through as well as later ones, and a start adapted on the engine's own
        voice made the softphone's first line worse ("hi i'd like to book a room" heard as
        "friday five adults the fourth of june").
        """
        return Recognizer(self.grammar(prop), ASR_RATE)

    def detector(self) -> SpeechDetector:
        return SpeechDetector(ASR_RATE)

    def warm_up(self, prop: Property) -> None:
        """Load espeak, the property's grammar, the pronunciation dictionary and a recogniser
        now rather than on the first call."""
        self.speak("hello", TELEPHONE_RATE)
        self.recognizer(prop)
