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

from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.codec.resample import StreamResampler
from hotelvoice.hotel.property import Property
from hotelvoice.speech.grammar import hotel_grammar
from hotelvoice.speech.stt import Recognizer
from hotelvoice.speech.tts import Speaker
from hotelvoice.speech.vad import SpeechDetector

ASR_RATE = 16000
TELEPHONE_RATE = 8000
WARM_UP_LINES = (
    "good morning i would like to book a room",
    "two adults and one child from the fourth to the sixth",
    "can i speak to someone at the front desk please",
)


_SHARED: SpeechKit | None = None
_SHARED_LOCK = threading.Lock()


class SpeechKit:
    """Voice, ears and grammars for the offline engine."""

    def __init__(self, *, voice: str = "en-us+f2", wpm: int = 165) -> None:
        self.voice = voice
        self.wpm = wpm
        self._speaker: Speaker | None = None
        self._grammars: dict[str, str] = {}
        self._cmn: str | None = None
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
        """The process's kit: espeak, grammars and the telephone adaptation load once."""
        global _SHARED
        with _SHARED_LOCK:
            if _SHARED is None:
                _SHARED = cls()
            return _SHARED

    def recognizer(self, prop: Property) -> Recognizer:
        """A new recogniser for one session (about 0.1 s to load), already adapted to the
        telephone band."""
        recognizer = Recognizer(self.grammar(prop), ASR_RATE)
        recognizer.start_normalisation(self._telephone_normalisation(prop))
        return recognizer

    def _telephone_normalisation(self, prop: Property) -> str:
        # pocketsphinx normalises features with a running cepstral mean that starts at the
        # wideband model's value; on telephone audio its first utterances are mostly lost.
        # Adapt once, on speech through the telephone channel, and start every session there.
        with self._lock:
            if self._cmn is not None:
                return self._cmn
        scratch = Recognizer(self.grammar(prop), ASR_RATE)
        for line in WARM_UP_LINES:
            # As a call delivers it: 8 kHz speech, μ-law, back up to 16 kHz.
            narrow = ulaw_decode(ulaw_encode(self.speak(line, TELEPHONE_RATE)))
            scratch.recognize(StreamResampler(TELEPHONE_RATE, ASR_RATE).process(narrow))
        with self._lock:
            self._cmn = scratch.normalisation
            return self._cmn

    def detector(self) -> SpeechDetector:
        return SpeechDetector(ASR_RATE)

    def warm_up(self, prop: Property) -> None:
        """Load espeak, the property's grammar and the telephone adaptation now rather than
        on the first call."""
        self.recognizer(prop)
