"""Speech to text with pocketsphinx, constrained by a JSGF grammar, and a telephone channel.

The decoder is created grammar-only (``lm=None``): no 27 MB language model, about 0.1 s and
40 MiB to create, so create one per call off the event loop. It recognises only sentences
of its grammar (see :mod:`hotelvoice.speech.grammar`); when the audio does not reach the end
of any sentence it returns the best *partial* path ("can i speak to a"), which
``Recognition.complete`` flags. The acoustic model is wideband: give it 16 kHz audio. Phone
audio (8 kHz μ-law) must be upsampled first and is recognised worse (:func:`telephone_band`
simulates that channel for tests and benchmarks).

Two settings differ from pocketsphinx's defaults, both measured on espeak voices over 45
hotel sentences, clean and through the telephone band (``bench/speech.py`` has the figures):

* **Comfort noise.** White noise at ``noise_dbfs`` (−50 dBFS) is added to everything decoded,
  padding included. Digital silence (exact zeros, as in synthetic speech, padding and a
  μ-law line's quiet parts) drives the log filterbank to its floor and throws the cepstral
  mean normalisation off: without the noise 107/180 sentences were recognised exactly on
  clean audio and 97/180 on the telephone band; with it 170/180 and 138/180. A real line's
  own noise floor is about this level, so on live calls it changes little. The noise is
  seeded afresh for every utterance, so the same audio always gives the same text.
* **Language weight 1** (``lw``, default 6.5): the grammar's branch probabilities are an
  artefact of how it is written (a rule with 30 alternatives costs each of them 1/30), and
  weighting them heavily favours short sentences over long ones that fit the audio better.

The lattice pass that would give a posterior confidence is switched off: on these grammars
it takes 0.5–5 s per utterance (against about 0.1–0.3 s for the search), so
``Recognition.confidence`` is None.
"""

from __future__ import annotations

import threading
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt
from pocketsphinx import Decoder

from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.speech import SpeechError
from hotelvoice.speech.tts import resample

__all__ = ["PAD_S", "Recognition", "Recognizer", "telephone_band"]

PAD_S: Final = 0.3  # silence around an utterance: tight segments lose their last word
NOISE_DBFS: Final = -50.0  # comfort noise added to decoded audio (see the module docstring)
LANGUAGE_WEIGHT: Final = 1.0
_NOISE_SEED: Final = 20261124
_SEARCH: Final = "grammar"


@attrs.frozen
class Recognition:
    """What the recogniser heard: lower-case words separated by single spaces ("" for
    nothing), a confidence in 0–1 when the decoder computes one, and whether the words
    are a whole sentence of the grammar (False: a partial path, or nothing)."""

    text: str
    confidence: float | None = None
    complete: bool = False


class Recognizer:
    """A pocketsphinx decoder listening with ``grammar`` (JSGF text) to ``sample_rate`` audio.

    Thread-safe (one lock per instance), but one utterance at a time: use one per call.
    Construction blocks for about 0.1 s; raises SpeechError when the decoder cannot start or
    the grammar does not load (a syntax error, or a word missing from the dictionary).
    """

    def __init__(
        self,
        grammar: str,
        sample_rate: int = 16000,
        *,
        pad_s: float = PAD_S,
        noise_dbfs: float | None = NOISE_DBFS,
    ) -> None:
        if pad_s < 0:
            raise ValueError(f"pad_s must not be negative, got {pad_s}")
        self.sample_rate = sample_rate
        self._padding = np.zeros(round(pad_s * sample_rate), np.int16)
        self._noise_sigma = 0.0 if noise_dbfs is None else 32768 * 10 ** (noise_dbfs / 20)
        self._noise = np.random.default_rng(_NOISE_SEED)
        self._lock = threading.Lock()
        self._in_utterance = False
        try:
            # bestpath off: the lattice pass costs seconds on a large grammar (see above).
            self._decoder = Decoder(
                samprate=sample_rate,
                lm=None,
                lw=LANGUAGE_WEIGHT,
                bestpath=False,
                loglevel="FATAL",
            )
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(f"pocketsphinx cannot decode at {sample_rate} Hz: {exc}") from exc
        try:
            self._decoder.add_jsgf_string(_SEARCH, grammar)
            self._decoder.activate_search(_SEARCH)
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(
                f"pocketsphinx rejected the grammar ({exc}); check its syntax and that every "
                "word is in the dictionary (grammar.in_dictionary)"
            ) from exc
        self._grammar = self._decoder.get_fsg()

    def start(self) -> None:
        """Begin an utterance (abandoning one in progress), with ``pad_s`` of silence first."""
        with self._lock:
            if self._in_utterance:
                self._decoder.end_utt()
            self._decoder.start_utt()
            self._in_utterance = True
            self._noise = np.random.default_rng(_NOISE_SEED)
            self._process(self._padding)

    def feed(self, pcm: npt.NDArray[np.int16]) -> None:
        """Decode the utterance's next samples; raises SpeechError outside an utterance."""
        if pcm.dtype != np.int16 or pcm.ndim != 1:
            raise TypeError(f"Recognizer.feed expects 1-D int16 samples, got {pcm.dtype}")
        with self._lock:
            if not self._in_utterance:
                raise SpeechError("Recognizer.feed called outside an utterance (call start())")
            self._process(pcm)

    def finish(self) -> Recognition:
        """End the utterance (after ``pad_s`` of silence) and return what was heard.

        Blocks for the end of the search (a few ms); raises SpeechError outside an utterance.
        """
        with self._lock:
            if not self._in_utterance:
                raise SpeechError("Recognizer.finish called outside an utterance (call start())")
            self._process(self._padding)
            self._in_utterance = False
            try:
                self._decoder.end_utt()
            except RuntimeError as exc:
                raise SpeechError(f"pocketsphinx failed to end the utterance: {exc}") from exc
            hypothesis = self._decoder.hyp()
        if hypothesis is None:
            return Recognition("")
        text = " ".join(hypothesis.hypstr.lower().split())
        return Recognition(text, None, bool(text) and bool(self._grammar.accept(text)))

    def recognize(self, pcm: npt.NDArray[np.int16]) -> Recognition:
        """One whole utterance: ``start``, ``feed(pcm)``, ``finish``. Blocks for the decode
        (RTF about 0.05–0.1: 0.1–0.3 s for a sentence)."""
        self.start()
        self.feed(pcm)
        return self.finish()

    @property
    def normalisation(self) -> str:
        """The decoder's cepstral mean (comma-separated), as it has adapted so far."""
        with self._lock:
            return str(self._decoder.get_cmn(False))

    def start_normalisation(self, cmn: str) -> None:
        """Start from ``cmn`` instead of the model's wideband default: a recogniser warmed on
        telephone audio hears its first telephone utterance as well as its tenth."""
        with self._lock:
            self._decoder.set_cmn(cmn)

    def _process(self, pcm: npt.NDArray[np.int16]) -> None:
        if len(pcm) == 0:
            return
        if self._noise_sigma:
            noisy = pcm + self._noise.normal(0.0, self._noise_sigma, len(pcm))
            pcm = np.clip(np.rint(noisy), -32768, 32767).astype(np.int16)
        try:
            self._decoder.process_raw(pcm.tobytes(), False, False)
        except RuntimeError as exc:
            raise SpeechError(f"pocketsphinx failed to decode: {exc}") from exc


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
