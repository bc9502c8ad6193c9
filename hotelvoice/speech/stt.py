"""Speech to text with pocketsphinx, constrained by a JSGF grammar, and a telephone channel.

The decoder is created grammar-only (``lm=None``: no 27 MB language model) with a dictionary
of just the grammar's words: about 0.1 s and 25 MiB each, so create one per call, off the
event loop. It recognises only sentences of its grammar (see
:mod:`hotelvoice.speech.grammar`); when the audio does not reach the end of any sentence it
returns the best *partial* path ("can i speak to a"), which ``Recognition.complete`` flags.
The acoustic model is wideband: give it 16 kHz audio. Phone audio (8 kHz μ-law) must be
upsampled first and is recognised worse (:func:`telephone_band` simulates that channel for
tests and benchmarks).

What the decoder hears is conditioned first, because pocketsphinx is fragile in two ways
that synthetic speech and phone lines both trigger:

* **Level.** Its cepstral mean normalisation starts every decoder from a fixed prior (made
  for fairly quiet audio) and only adapts at the end of each utterance, so a new decoder's
  first utterance (in a phone call: the caller's first request) is recognised according to
  how close its loudness is to that prior. Each utterance is therefore scaled to
  ``speech_dbfs`` (−35 dBFS) of active speech level, measured on its first
  ``LEVEL_WINDOW_S`` (0.5 s) of sound, from the first 10 ms louder than ``SOUND_DBFS``
  (−60 dBFS): decoding waits for that much, then streams. An utterance with no sound at
  all is decoded as it is.
* **Digital silence.** Exact zeros (synthetic speech, the padding, a quiet μ-law line) drive
  the log filterbank to its floor. White noise at ``noise_dbfs`` (−62 dBFS, 27 dB under the
  speech) is added to everything decoded, padding included; it is seeded afresh for every
  utterance, so the same audio always gives the same text.

Measured on 45 hotel sentences in two espeak voices (en-us+f2, en-us+m3), each the first
utterance of a new decoder, scored by intent: without either, 68/90 on clean 16 kHz audio and
17/90 through the telephone band (64/90 and 37/90 for a caller 30 dB quieter); with the noise
alone (at −50 dBFS), 56/90 and 37/90 (5/90 and 3/90 quieter); with both, 89/90 and 80/90 at
0, −15 and −30 dB alike, about what a decoder already adapted to the voice scores (90/90 and
80–85/90). ``bench/speech.py`` has the end-to-end figures.

Also, the language weight is 1 (pocketsphinx's default is 6.5): a grammar's branch
probabilities are an artefact of how it is written (1/30 for each of 30 alternatives), and
weighting them less scored a little better (140 against 135 of 180 telephone-band intents).
The lattice pass that would give a posterior confidence is off: on these grammars it takes
0.5–5 s per utterance, against 0.1–0.3 s for the search, so ``Recognition.confidence`` is
None.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt
from pocketsphinx import Decoder

from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.speech import SpeechError
from hotelvoice.speech.grammar import dictionary_subset, grammar_words
from hotelvoice.speech.tts import resample

__all__ = [
    "LEVEL_WINDOW_S",
    "NOISE_DBFS",
    "PAD_S",
    "SOUND_DBFS",
    "SPEECH_DBFS",
    "Recognition",
    "Recognizer",
    "active_level_dbfs",
    "telephone_band",
]

PAD_S: Final = 0.3  # silence around an utterance: tight segments lose their last word
SPEECH_DBFS: Final = -35.0  # active speech level the decoder hears (see the docstring)
NOISE_DBFS: Final = -62.0  # comfort noise added to everything decoded
LEVEL_WINDOW_S: Final = 0.5  # how much of an utterance its level is measured on
LANGUAGE_WEIGHT: Final = 1.0
SOUND_DBFS: Final = -60.0  # quieter 10 ms frames before an utterance's sound are not its level
MAX_GAIN_DB: Final = 30.0  # never raise a faint "utterance" into loud noise
_NOISE_SEED: Final = 20261124
_LEVEL_FRAME_S: Final = 0.01
_ACTIVE_RANGE_DB: Final = 40.0  # frames this far under the loudest count as speech


@attrs.frozen
class Recognition:
    """What the recogniser heard: lower-case words separated by single spaces ("" for
    nothing), a confidence in 0–1 when the decoder computes one, and whether the words
    are a whole sentence of the grammar (False: a partial path, or nothing)."""

    text: str
    confidence: float | None = None
    complete: bool = False


def active_level_dbfs(pcm: npt.NDArray[np.int16], rate: int) -> float | None:
    """The RMS level of the speech in ``pcm``, in dBFS: over its 10 ms frames within 40 dB of
    the loudest (so pauses do not count). None when there is no sound at all."""
    size = max(1, round(rate * _LEVEL_FRAME_S))
    usable = len(pcm) // size * size
    if usable == 0:
        usable, size = len(pcm), max(len(pcm), 1)
    frames = pcm[:usable].astype(np.float64).reshape(-1, size)
    power = (frames**2).mean(axis=1)
    loudest = power.max(initial=0.0)
    if loudest == 0:
        return None
    active = power[power >= loudest * 10 ** (-_ACTIVE_RANGE_DB / 10)]
    return 10 * math.log10(active.mean() / 32768**2)


class Recognizer:
    """A pocketsphinx decoder listening with ``grammar`` (JSGF text) to ``sample_rate`` audio.

    ``speech_dbfs`` is the level each utterance is scaled to (None: as it comes) and
    ``noise_dbfs`` the comfort noise added (None: none); see the module docstring. With
    ``adapt`` (pocketsphinx's way) the feature normalisation carries on from each utterance
    to the next, learning the line; without it every utterance starts from the same
    normalisation, so the same audio always gives the same text (on 160 telephone-band lines
    the two scored 148 and 145 intents: no clear winner, so a call adapts). Thread-safe
    (one lock per instance), but one utterance at a time: use one per call. Construction
    blocks for about 0.1 s; raises SpeechError when the decoder cannot start or the grammar
    does not load (a syntax error, or a word missing from the dictionary).
    """

    def __init__(
        self,
        grammar: str,
        sample_rate: int = 16000,
        *,
        pad_s: float = PAD_S,
        speech_dbfs: float | None = SPEECH_DBFS,
        noise_dbfs: float | None = NOISE_DBFS,
        adapt: bool = True,
    ) -> None:
        if pad_s < 0:
            raise ValueError(f"pad_s must not be negative, got {pad_s}")
        self.sample_rate = sample_rate
        self.speech_dbfs = speech_dbfs
        self.adapt = adapt
        self._padding = np.zeros(round(pad_s * sample_rate), np.int16)
        self._noise_sigma = 0.0 if noise_dbfs is None else 32768 * 10 ** (noise_dbfs / 20)
        self._level_window = round(LEVEL_WINDOW_S * sample_rate)
        self._lock = threading.Lock()
        self._in_utterance = False
        self._held: list[npt.NDArray[np.int16]] = []  # audio waiting for its level
        self._held_samples = 0
        self._unscanned = np.zeros(0, np.int16)  # held audio not yet searched for sound
        self._onset: int | None = None  # where in the held audio the sound starts
        self._gain: float | None = None
        self._noise = np.random.default_rng(_NOISE_SEED)
        # Only the grammar's words from the 126,000-word dictionary: half the load time and
        # memory. Any word missing from it makes add_jsgf_string fail, as with the whole one.
        with tempfile.TemporaryDirectory(prefix="hotelvoice-dict-") as folder:
            words = os.path.join(folder, "grammar.dict")
            with open(words, "w", encoding="utf-8") as subset:
                subset.write(dictionary_subset(grammar_words(grammar)))
            try:
                self._decoder = Decoder(
                    samprate=sample_rate,
                    lm=None,
                    dict=words,
                    lw=LANGUAGE_WEIGHT,
                    bestpath=False,  # the lattice pass costs seconds on a large grammar
                    loglevel="FATAL",
                )
            except (RuntimeError, ValueError) as exc:
                raise SpeechError(f"pocketsphinx cannot decode at {sample_rate} Hz: {exc}") from exc
        try:
            self._decoder.add_jsgf_string("grammar", grammar)
            self._decoder.activate_search("grammar")
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(
                f"pocketsphinx rejected the grammar ({exc}); check its syntax and that every "
                "word is in the dictionary (grammar.in_dictionary)"
            ) from exc
        self._grammar = self._decoder.get_fsg()
        self._start_cmn: str = self._decoder.get_cmn()

    @property
    def normalisation(self) -> str:
        """The decoder's cepstral mean now (comma-separated numbers): where its feature
        normalisation has got to after the utterances so far. Pass it to another recogniser's
        ``start_normalisation`` to start that one adapted (say, to telephone speech)."""
        with self._lock:
            cmn: str = self._decoder.get_cmn()
        return cmn

    def start_normalisation(self, cmn: str) -> None:
        """Start from the cepstral mean ``cmn`` (another recogniser's ``normalisation``)
        instead of the model's prior. Levelling already makes a new decoder's first utterance
        about as good as an adapted one's (see the module docstring), so this is a small
        refinement. Raises SpeechError if the decoder refuses the value."""
        with self._lock:
            # pocketsphinx reads anything unparsable as zeros, silently.
            size = len(self._decoder.get_cmn().split(","))
            try:
                values = [float(v) for v in cmn.split(",")]
            except ValueError:
                values = []
            if len(values) != size or not all(math.isfinite(v) for v in values):
                raise SpeechError(f"not a cepstral mean of {size} numbers: {cmn!r}")
            self._start_cmn = ",".join(repr(v) for v in values)
            self._decoder.set_cmn(self._start_cmn)

    def start(self) -> None:
        """Begin an utterance (abandoning one in progress), with ``pad_s`` of silence first."""
        with self._lock:
            if self._in_utterance:
                self._decoder.end_utt()
            if not self.adapt:
                # Noise removal keeps its own running estimate too: start feature
                # extraction afresh, then restore the starting normalisation.
                self._decoder.reinit_feat()
                self._decoder.set_cmn(self._start_cmn)
            self._decoder.start_utt()
            self._in_utterance = True
            self._noise = np.random.default_rng(_NOISE_SEED)
            self._held = []
            self._held_samples = 0
            self._unscanned = np.zeros(0, np.int16)
            self._onset = None
            self._gain = None if self.speech_dbfs is not None else 1.0
            self._process(self._padding, 1.0)

    def feed(self, pcm: npt.NDArray[np.int16]) -> None:
        """Decode the utterance's next samples (the first ``LEVEL_WINDOW_S`` wait until there
        is that much, to set the level). Raises SpeechError outside an utterance."""
        if pcm.dtype != np.int16 or pcm.ndim != 1:
            raise TypeError(f"Recognizer.feed expects 1-D int16 samples, got {pcm.dtype}")
        with self._lock:
            if not self._in_utterance:
                raise SpeechError("Recognizer.feed called outside an utterance (call start())")
            if self._gain is not None:
                self._process(pcm, self._gain)
                return
            self._held.append(pcm.copy())
            if self._onset is None:
                self._find_onset(pcm)
            self._held_samples += len(pcm)
            if self._onset is not None and self._held_samples - self._onset >= self._level_window:
                self._release_held()

    def finish(self) -> Recognition:
        """End the utterance (after ``pad_s`` of silence) and return what was heard.

        Blocks for the rest of the search (a few ms, or the whole of an utterance shorter
        than ``LEVEL_WINDOW_S``); raises SpeechError outside an utterance.
        """
        with self._lock:
            if not self._in_utterance:
                raise SpeechError("Recognizer.finish called outside an utterance (call start())")
            if self._gain is None:
                self._release_held()
            self._process(self._padding, 1.0)
            self._in_utterance = False
            try:
                self._decoder.end_utt()
            except RuntimeError as exc:
                raise SpeechError(f"pocketsphinx failed to end the utterance: {exc}") from exc
            hypothesis = self._decoder.hyp()
        if hypothesis is None:
            return Recognition("")
        text = " ".join(hypothesis.hypstr.lower().split())
        return Recognition(text, None, self.in_grammar(text))

    def recognize(self, pcm: npt.NDArray[np.int16]) -> Recognition:
        """One whole utterance: ``start``, ``feed(pcm)``, ``finish``. Blocks for the decode:
        about 0.12 s of CPU per second of speech on the hotel grammar (0.01 on a closed set of
        a few sentences); streamed with ``feed``, all but 20–60 ms of it is done by the time
        the caller stops."""
        self.start()
        self.feed(pcm)
        return self.finish()

    def in_grammar(self, text: str) -> bool:
        """Whether ``text`` (lower-case words) is a whole sentence of the grammar."""
        words = " ".join(text.split())
        with self._lock:
            return bool(words) and bool(self._grammar.accept(words))

    def _find_onset(self, pcm: npt.NDArray[np.int16]) -> None:
        """Look for the utterance's first sound in ``pcm``, the newest held audio (which
        starts ``self._held_samples`` in), 10 ms at a time."""
        size = round(self.sample_rate * _LEVEL_FRAME_S)
        data = np.concatenate([self._unscanned, pcm])
        first = self._held_samples - len(self._unscanned)  # where `data` starts
        usable = len(data) // size * size
        self._unscanned = data[usable:].copy()
        onset = _sound_onset(data[:usable], self.sample_rate)
        if onset is not None:
            self._onset = first + onset

    def _release_held(self) -> None:
        """Set the utterance's gain from its first ``LEVEL_WINDOW_S`` of sound (all there is,
        when it ends sooner) and decode everything held."""
        held = np.concatenate(self._held) if self._held else np.zeros(0, np.int16)
        if self._onset is None and len(self._unscanned):
            # The last few ms of a short utterance: a frame shorter than 10 ms.
            tail = self._unscanned
            if float(np.mean(tail.astype(np.float64) ** 2)) > 32768**2 * 10 ** (SOUND_DBFS / 10):
                self._onset = len(held) - len(tail)
        self._held = []
        self._held_samples = 0
        assert self.speech_dbfs is not None  # a gain is only pending when levelling
        level = None
        if self._onset is not None:
            sound = held[self._onset : self._onset + self._level_window]
            level = active_level_dbfs(sound, self.sample_rate)
        gain_db = 0.0 if level is None else min(self.speech_dbfs - level, MAX_GAIN_DB)
        self._gain = 10 ** (gain_db / 20)
        self._process(held, self._gain)

    def _process(self, pcm: npt.NDArray[np.int16], gain: float) -> None:
        if len(pcm) == 0:
            return
        if gain != 1.0 or self._noise_sigma:
            samples = pcm * gain
            if self._noise_sigma:
                samples += self._noise.normal(0.0, self._noise_sigma, len(pcm))
            pcm = np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
        try:
            self._decoder.process_raw(pcm.tobytes(), False, False)
        except RuntimeError as exc:
            raise SpeechError(f"pocketsphinx failed to decode: {exc}") from exc


def _sound_onset(pcm: npt.NDArray[np.int16], rate: int) -> int | None:
    """Where the first 10 ms louder than ``SOUND_DBFS`` starts, or None."""
    size = max(1, round(rate * _LEVEL_FRAME_S))
    usable = len(pcm) // size * size
    if usable == 0:
        return None
    power = (pcm[:usable].astype(np.float64).reshape(-1, size) ** 2).mean(axis=1)
    loud = np.flatnonzero(power > 32768**2 * 10 ** (SOUND_DBFS / 10))
    return int(loud[0]) * size if len(loud) else None


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
