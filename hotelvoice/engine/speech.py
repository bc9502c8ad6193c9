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
# A sentence longer than this many words is said in pieces cut at its clause breaks, each at
# least MIN_PIECE_WORDS long (see speech_pieces).
LONG_SENTENCE_WORDS = 10
MIN_PIECE_WORDS = 2
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_BREAK = re.compile(r"[:;,](?=\s)")
_DATE_GOES_ON = re.compile(
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december)\b",
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
        piece's synthesis): see :func:`speech_pieces`."""
        for piece in speech_pieces(text):
            yield from self.voice.sentences(piece, rate)

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


def speech_pieces(text: str) -> list[str]:
    """``text`` in the pieces the voice says one after another: its sentences, a long one
    (over ``LONG_SENTENCE_WORDS``) cut at its clause breaks into pieces of at least
    ``MIN_PIECE_WORDS`` words ("Good news: | the King Room is free from Friday, December 11th
    to Sunday, December 13th, | 2 nights, | $219 a night, $438 in total.").

    Each piece is synthesised while the one before plays, so a caller hears no gap as long as
    a piece takes less time to make than the one before it takes to say: pieces of similar
    length keep it so, and a short first piece gets the first audio out soon.
    """
    pieces: list[str] = []
    for sentence in _SENTENCE_BREAK.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence.split()) <= LONG_SENTENCE_WORDS:
            pieces.append(sentence)
            continue
        begin = 0
        for brk in _CLAUSE_BREAK.finditer(sentence):
            head, rest = sentence[begin : brk.end()], sentence[brk.end() :].strip()
            # Not inside a date ("Friday, December 11th").
            if len(head.split()) >= MIN_PIECE_WORDS and not _DATE_GOES_ON.match(rest):
                pieces.append(head.strip())
                begin = brk.end()
        tail = sentence[begin:].strip()
        if tail and pieces and len(tail.split()) < MIN_PIECE_WORDS and begin:
            pieces[-1] = f"{pieces[-1]} {tail}"
        elif tail:
            pieces.append(tail)
    return pieces
