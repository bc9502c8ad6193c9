"""Text to int16 PCM with espeak-ng, from the ``espeakng-loader`` wheel, through ctypes.

The wheel bundles ``libespeak-ng.so`` 1.52 and its data but no Python synthesis API, so this
binds the handful of C functions needed. espeak-ng keeps one voice, one set of parameters and
one output callback per process: the library is initialised once (on first use) and every
synthesis runs under one process-wide lock, so concurrent ``Speaker`` calls from several
threads take turns (an utterance takes a few milliseconds; espeak runs at about 1000× real
time). Output is mono int16 at 22050 Hz (``Speaker.rate``); ``synthesize_at`` resamples it
with our streaming polyphase filter, aligned so that sample 0 is the start of the utterance.

Not bit-for-bit repeatable: espeak's pitch flutter carries on from one utterance to the next,
so the same text twice differs slightly. Its noise is seeded per utterance, so a process that
synthesises the same sequence of texts gets the same audio every run.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt

from hotelvoice.codec.resample import StreamResampler
from hotelvoice.speech import SpeechError

__all__ = ["DEFAULT_VOICE", "VOICES", "Speaker", "resample", "voices"]

DEFAULT_VOICE: Final = "en-us+f2"  # the espeak voice the old grammar recogniser heard best
# Known-good English voices, the most intelligible first; `voices()` checks them.
VOICES: Final = ("en-us+f2", "en-us+m3", "en-us+klatt4", "en-gb-x-rp", "en-us")
MIN_WPM: Final = 80  # espeak-ng's own limits for espeakRATE
MAX_WPM: Final = 450

# espeak-ng's speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS: Final = 2
_INITIALIZE_DONT_EXIT: Final = 0x8000  # report errors instead of calling exit()
_CHARS_UTF8: Final = 1
_POS_CHARACTER: Final = 1
_PARAM_RATE: Final = 1
_EE_OK: Final = 0
_EE_NOT_FOUND: Final = 2
_EXPECTED_RATE: Final = 22050
_NOISE_SEED: Final = 1

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Espeak:
    """The process's one espeak-ng: the library, its data directory and the output sink."""

    def __init__(self) -> None:
        try:
            import espeakng_loader

            library = espeakng_loader.get_library_path()
            self.data_path: str = espeakng_loader.get_data_path()
            lib = ctypes.CDLL(library)
        except (ImportError, OSError, RuntimeError) as exc:
            raise SpeechError(f"cannot load espeak-ng from espeakng-loader: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_Callback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        # espeak-ng >= 1.52; None on older libraries (then the noise is seeded by the clock).
        self._seed = getattr(lib, "espeak_ng_SetRandSeed", None)
        if self._seed is not None:
            self._seed.argtypes = [ctypes.c_long]
            self._seed.restype = ctypes.c_int
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(), _INITIALIZE_DONT_EXIT
        )
        if rate != _EXPECTED_RATE:
            raise SpeechError(f"espeak-ng failed to initialise (returned {rate})")
        self.lib = lib
        self.lock = threading.Lock()
        self._chunks: list[npt.NDArray[np.int16]] = []
        # The C library holds only a raw pointer to the thunk: keep it alive with the engine.
        self._callback = _Callback(self._on_audio)
        lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        # Called from inside espeak_Synth, on the synthesising thread, with the lock held.
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).astype(np.int16))
        return 0  # 0: continue synthesis

    def variant_exists(self, variant: str) -> bool:
        return os.path.isfile(os.path.join(self.data_path, "voices", "!v", variant))

    def select(self, voice: str, wpm: int) -> None:
        """Make ``voice`` current (call with the lock held); raises SpeechError if unknown."""
        base, _, variant = voice.partition("+")
        # espeak silently ignores a variant it cannot find, so check the file ourselves.
        if variant and not self.variant_exists(variant):
            raise SpeechError(f"unknown espeak-ng voice variant {variant!r} in {voice!r}")
        result = self.lib.espeak_SetVoiceByName(voice.encode())
        if result == _EE_NOT_FOUND:
            raise SpeechError(f"unknown espeak-ng voice {base!r}")
        if result != _EE_OK:
            raise SpeechError(f"espeak-ng could not select voice {voice!r} (error {result})")
        result = self.lib.espeak_SetParameter(_PARAM_RATE, wpm, 0)
        if result != _EE_OK:
            raise SpeechError(f"espeak-ng refused rate {wpm} wpm (error {result})")

    def synthesize(self, text: str, voice: str, wpm: int) -> npt.NDArray[np.int16]:
        """``text`` spoken by ``voice``; blocks while another thread synthesises."""
        # A NUL would end the C string early.
        data = text.replace("\0", " ").encode("utf-8") + b"\0"
        with self.lock:
            self.select(voice, wpm)
            if self._seed is not None:
                # espeak seeds its breath and frication noise from the clock at start-up;
                # a fixed seed per utterance makes a run reproducible.
                self._seed(_NOISE_SEED)
            self._chunks = []
            try:
                result = self.lib.espeak_Synth(
                    data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
                )
                if result != _EE_OK:
                    raise SpeechError(f"espeak-ng synthesis failed (error {result})")
                self.lib.espeak_Synchronize()
                chunks = self._chunks
            finally:
                self._chunks = []
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


_engine: _Espeak | None = None
_engine_lock = threading.Lock()


def _espeak() -> _Espeak:
    """The process's espeak-ng, initialised on first use; raises SpeechError if it cannot load."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Espeak()
        return _engine


def voices() -> tuple[str, ...]:
    """The usable voices of :data:`VOICES` (each base voice and variant checked with espeak)."""
    engine = _espeak()
    usable = []
    with engine.lock:
        for voice in VOICES:
            try:
                engine.select(voice, 160)
            except SpeechError:
                continue
            usable.append(voice)
    return tuple(usable)


class Speaker:
    """One voice at one speaking rate. Thread-safe: calls are serialised process-wide.

    Raises SpeechError on construction for an unknown voice or a rate espeak does not accept.
    """

    rate: ClassVar[int] = _EXPECTED_RATE  # espeak-ng's output sample rate, Hz

    def __init__(self, voice: str = DEFAULT_VOICE, wpm: int = 160) -> None:
        if not MIN_WPM <= wpm <= MAX_WPM:
            raise SpeechError(f"wpm must be {MIN_WPM}–{MAX_WPM}, got {wpm}")
        self.voice = voice
        self.wpm = wpm
        self._engine = _espeak()
        with self._engine.lock:
            self._engine.select(voice, wpm)  # fail now, not on the first utterance

    def __repr__(self) -> str:
        return f"Speaker(voice={self.voice!r}, wpm={self.wpm})"

    def synthesize(self, text: str) -> npt.NDArray[np.int16]:
        """``text`` as mono int16 PCM at :attr:`rate` (empty for blank text).

        Blocks for the synthesis (and while another thread synthesises); raises SpeechError.
        """
        if not text.strip():
            return np.zeros(0, np.int16)
        return self._engine.synthesize(text, self.voice, self.wpm)

    def synthesize_at(self, text: str, rate: int) -> npt.NDArray[np.int16]:
        """``text`` as mono int16 PCM at ``rate`` Hz: ``ceil(n × rate / 22050)`` samples for
        ``n`` at 22050 Hz, aligned with the original (the filter's delay is removed).

        Raises ValueError for a rate the resampler cannot reach, SpeechError as ``synthesize``.
        """
        pcm = self.synthesize(text)
        if rate == self.rate:
            return pcm
        if len(pcm) == 0:
            return np.zeros(0, np.int16)
        return resample(pcm, self.rate, rate)


def resample(pcm: npt.NDArray[np.int16], in_rate: int, out_rate: int) -> npt.NDArray[np.int16]:
    """A whole utterance ``pcm`` at ``out_rate``: ``ceil(n × out_rate / in_rate)`` samples,
    output sample ``m`` at time ``m / out_rate`` exactly (for streams use StreamResampler).

    The filter delays its output by ``half_order / down`` output samples, a fraction for
    22050 Hz ratios (23.69 samples at 8 kHz); rounding that would shift the audio by up to
    half a sample (a phase error of 0.7 rad at 3 kHz when resampling to 8 kHz). A few zeros
    in front of the input (under ``down`` samples, < 20 ms) make the delay a whole number of
    output samples, which are then dropped with the zeros' output.

    Raises ValueError for rates the resampler cannot convert between.
    """
    if in_rate == out_rate or len(pcm) == 0:
        return pcm.copy()
    resampler = StreamResampler(in_rate, out_rate)
    up, down = resampler.up, resampler.down
    half_order = round(resampler.delay_samples * down)
    lead = min(range(down), key=lambda k: (half_order + k * up) % down)
    padded = np.concatenate([np.zeros(lead, np.int16), pcm])
    # flush() returns the tail the filter still holds, so nothing at the end is lost.
    full = np.concatenate([resampler.process(padded), resampler.flush()])
    start = (half_order + lead * up) // down
    return full[start : start + math.ceil(len(pcm) * out_rate / in_rate)]
