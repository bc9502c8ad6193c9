"""Telephone audio, pure numpy: no I/O (but WAV files), no Trio, no clocks.

* ``g711``: μ-law and A-law, bit-exact with CPython's ``audioop``;
* ``resample``: ``StreamResampler``, a streaming polyphase FIR with a fixed 3 ms delay;
* ``transcode``: per-call μ-law 8 kHz ⇄ PCM16 converters for the bridge's ``pcm16`` mode;
* ``frames``: base64 payloads, PCM16 bytes ⇄ numpy, 20 ms framing;
* ``levels``: RMS and peak in dBFS; ``wav``: WAV files through the stdlib ``wave``.
"""

from __future__ import annotations
