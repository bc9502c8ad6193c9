"""The engine's speech resources, shared by every session of a process.

One Whisper recogniser (:class:`~hotelvoice.speech.asr.Transcriber`) and one Piper voice
(:class:`~hotelvoice.speech.voice.NeuralVoice`), each loaded once, on first use, and shared by
every call: a call adds only its detector's state and the audio of the utterance being heard.
Detectors are per session (they hold a stream's state). Every method here blocks: call it from
a worker thread.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from hotelvoice.speech.asr import Transcriber, Transcript
from hotelvoice.speech.vad import SpeechDetector
from hotelvoice.speech.voice import NeuralVoice

ASR_RATE = 16000
# A first sentence longer than this many words is cut at its first clause break: the caller
# waits for the first piece of audio, and the voice takes about 0.1 s per five words.
LONG_FIRST_SENTENCE_WORDS = 8
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_CLAUSE_BREAK = re.compile(r"[:;,](?=\s)")
_DATE_GOES_ON = re.compile(
    r"(?:\d|\$|(?:january|february|march|april|may|june|july|august|september|october"
    r"|november|december)\b)",
    re.IGNORECASE,
)
TELEPHONE_RATE = 8000
_SHARED: SpeechKit | None = None
_SHARED_LOCK = threading.Lock()


class SpeechKit:
    """Ears and voice for the offline engine.

    ``stt_model`` is a Whisper CTranslate2 directory ("" or None: the bundled tiny.en);
    ``stt_threads`` how many decodes may run at once (see :class:`Transcriber`).
    """

    def __init__(self, *, stt_model: str | None = None, stt_threads: int = 1) -> None:
        self.stt_model = stt_model or None
        self.stt_threads = stt_threads
        self._transcriber: Transcriber | None = None
        self._voice: NeuralVoice | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SpeechKit(stt_model={self.stt_model!r}, stt_threads={self.stt_threads})"

    @property
    def transcriber(self) -> Transcriber:
        """The recogniser, loaded on first use (about 0.5 s). Raises SpeechError."""
        with self._lock:
            if self._transcriber is None:
                self._transcriber = Transcriber(self.stt_model, threads=self.stt_threads)
            return self._transcriber

    @property
    def voice(self) -> NeuralVoice:
        """The agent's voice, loaded on first use (about 0.5 s). Raises SpeechError."""
        with self._lock:
            if self._voice is None:
                self._voice = NeuralVoice()
            return self._voice

    def transcribe(self, pcm: npt.NDArray[np.int16]) -> Transcript:
        """The words of one utterance of 16 kHz audio (waits for a free decoder)."""
        return self.transcriber.transcribe(pcm)

    def sentences(self, text: str, rate: int) -> Iterator[npt.NDArray[np.int16]]:
        """``text`` as speech at ``rate`` Hz, a sentence at a time (each ``next`` blocks for
        one sentence's synthesis); a long first sentence is cut at its first clause, which
        the caller hears while the rest is synthesised."""
        head, tail = first_clause(text)
        yield from self.voice.sentences(head, rate)
        if tail:
            yield from self.voice.sentences(tail, rate)

    def speak(self, text: str, rate: int) -> npt.NDArray[np.int16]:
        """``text`` as speech at ``rate`` Hz, whole."""
        return self.voice.synthesize_at(text, rate)

    def detector(self) -> SpeechDetector:
        return SpeechDetector(ASR_RATE)

    @classmethod
    def shared(cls, *, stt_model: str | None = None) -> SpeechKit:
        """The process's kit: the models load once. ``stt_model`` counts only for the first
        call (the server passes its setting before any session starts)."""
        global _SHARED
        with _SHARED_LOCK:
            if _SHARED is None:
                _SHARED = cls(stt_model=stt_model)
            return _SHARED

    def warm_up(self) -> None:
        """Load the recogniser, the voice and the detector's model now rather than on the
        first call, and run each once (the first inference of an ONNX or CTranslate2 model
        is several times slower than the next)."""
        speech = self.speak("Hello.", ASR_RATE)
        self.transcribe(speech)
        detector = self.detector()
        detector.feed(speech)


def first_clause(text: str) -> tuple[str, str]:
    """``text`` as (what to say first, the rest): its first clause when its first sentence is
    long ("Good news:" of "Good news: the King Room is free ..."), else all of it."""
    end = _SENTENCE_END.search(text)
    first = text[: end.end()] if end else text
    if len(first.split()) <= LONG_FIRST_SENTENCE_WORDS:
        return text, ""
    for brk in _CLAUSE_BREAK.finditer(first):
        rest = text[brk.end() :].strip()
        # Not inside a date or an amount ("Friday, December 11th", "December 13th, 2 nights").
        if len(first[: brk.start()].split()) >= 2 and not _DATE_GOES_ON.match(rest):
            return text[: brk.end()].strip(), rest
    return text, ""
