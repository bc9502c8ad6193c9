"""Offline speech from pip packages alone: blocking, synchronous, no Trio, no network.

* ``tts``: ``Speaker``, espeak-ng (the ``espeakng-loader`` wheel) through ctypes;
* ``vad``: ``SpeechDetector``, pocketsphinx's WebRTC-derived endpointer, with stream times;
* ``stt``: ``Recognizer``, a pocketsphinx grammar-only decoder; ``telephone_band`` simulation;
* ``grammar``: the JSGF grammars the recogniser listens with (hotel callers, closed sets).

Every call here blocks the calling thread (tens of milliseconds for an utterance, about 0.1 s
to create a recogniser), so async code calls them through ``trio.to_thread``. Errors from the
native libraries surface as :class:`SpeechError`.
"""

from __future__ import annotations

__all__ = ["SpeechError"]


class SpeechError(Exception):
    """A speech library refused: unknown voice, grammar that does not load, synthesis failed."""
