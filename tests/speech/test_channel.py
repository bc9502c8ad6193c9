"""The simulated telephone channel: narrowband, time-aligned, the same length."""

from __future__ import annotations

import numpy as np

from hotelvoice.speech.channel import telephone_band
from hotelvoice.speech.tts import Speaker

RATE = 16000


def test_the_telephone_band_is_narrow_aligned_and_the_same_length(speaker: Speaker) -> None:
    pcm = speaker.synthesize_at("is breakfast included", RATE)
    line = telephone_band(pcm)
    assert len(line) == len(pcm)
    spectrum = np.abs(np.fft.rfft(line.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(line), 1 / RATE)
    assert spectrum[freqs > 4200].sum() < 1e-4 * spectrum.sum()
    lags = range(-10, 11)
    scores = [np.dot(pcm[50:-50].astype(float), np.roll(line, lag)[50:-50]) for lag in lags]
    assert lags[int(np.argmax(scores))] == 0
