"""The simulated telephone channel: narrowband, time-aligned, the same length."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hotelvoice.speech.channel import telephone_band

RATE = 16000


def syllables(seconds: float, seed: int) -> npt.NDArray[np.int16]:
    """Noise over the whole 0–8 kHz band in bursts of 150 ms, at about -20 dBFS: what
    speech is to the channel, and the same samples every run (espeak's output is not: each
    synthesis moves its random state, which other tests' timings depend on)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.clip(np.sin(2 * np.pi * t / 0.3), 0, None)
    # Falling 6 dB an octave above 500 Hz, as speech does.
    white = np.fft.rfft(rng.normal(0, 1, len(t)))
    tilted = np.fft.irfft(white / (1 + np.fft.rfftfreq(len(t), 1 / RATE) / 500), len(t))
    noise = tilted / tilted.std() * 0.1 * 32768 * envelope
    pcm: npt.NDArray[np.int16] = np.clip(np.rint(noise), -32768, 32767).astype(np.int16)
    return pcm


def test_the_telephone_band_is_narrow_aligned_and_the_same_length() -> None:
    pcm = syllables(1.5, seed=7)
    line = telephone_band(pcm)
    assert len(line) == len(pcm)
    spectrum = np.abs(np.fft.rfft(line.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(line), 1 / RATE)
    assert spectrum[freqs > 4200].sum() < 1e-4 * spectrum.sum()
    assert spectrum[(freqs > 300) & (freqs < 3400)].sum() > 0.5 * spectrum.sum()
    lags = range(-10, 11)
    scores = [np.dot(pcm[50:-50].astype(float), np.roll(line, lag)[50:-50]) for lag in lags]
    assert lags[int(np.argmax(scores))] == 0
