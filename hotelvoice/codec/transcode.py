"""Per-call streaming transcoders between Twilio's μ-law 8 kHz and a model's linear PCM16.

One instance per direction per call: each carries its resampler's filter state, so audio
converted frame by frame is continuous (no clicks at 20 ms boundaries). Bytes in, bytes out;
base64 stays with the caller (see :mod:`hotelvoice.codec.frames`).
"""

from __future__ import annotations

from hotelvoice.codec.frames import pcm16_from_bytes, pcm16_to_bytes
from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.codec.resample import StreamResampler, design_filter

TWILIO_RATE = 8000


def prepare(rate: int = 24000) -> None:
    """Design (and cache) both directions' filters now, a few ms each, rather than on the
    first call's audio path."""
    design_filter(TWILIO_RATE, rate)
    design_filter(rate, TWILIO_RATE)


class UlawToPcm16:
    """Caller audio (μ-law 8 kHz) → PCM16 little-endian at ``rate``."""

    def __init__(self, rate: int = 24000) -> None:
        self.rate = rate
        self._resampler = StreamResampler(TWILIO_RATE, rate)

    @property
    def delay_ms(self) -> float:
        return self._resampler.delay_ms

    def convert(self, ulaw: bytes) -> bytes:
        """The next piece of the caller's audio, converted (20 ms in → 20 ms out)."""
        return pcm16_to_bytes(self._resampler.process(ulaw_decode(ulaw)))

    def reset(self) -> None:
        self._resampler.reset()


class Pcm16ToUlaw:
    """Model audio (PCM16 little-endian at ``rate``) → μ-law 8 kHz for Twilio.

    A delta may end in the middle of a sample; the odd byte waits for the next one. ``flush``
    ends an item: it returns the filter's tail (``delay_ms`` of audio) and starts afresh, so
    the next item's first samples are not mixed with this one's last.
    """

    def __init__(self, rate: int = 24000) -> None:
        self.rate = rate
        self._resampler = StreamResampler(rate, TWILIO_RATE)
        self._odd = b""

    @property
    def delay_ms(self) -> float:
        return self._resampler.delay_ms

    def convert(self, pcm: bytes) -> bytes:
        """The μ-law for every sample now computable from the model's audio so far."""
        if self._odd:
            pcm = self._odd + pcm
        usable = len(pcm) & ~1
        self._odd = pcm[usable:]
        return ulaw_encode(self._resampler.process(pcm16_from_bytes(pcm[:usable])))

    def flush(self) -> bytes:
        """The end of an item: the filter's tail as μ-law; the next item starts a new stream."""
        self._odd = b""
        return ulaw_encode(self._resampler.flush())

    def reset(self) -> None:
        """Drop everything held (a barge-in cut the item)."""
        self._odd = b""
        self._resampler.reset()
