"""The streaming resampler: exact streaming, telephone-band quality, fixed small delay."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelvoice.codec.resample import MAX_MINIMAX_HALF_ORDER, StreamResampler, design_filter

PHONE_PAIRS = [(8000, 24000), (24000, 8000), (8000, 16000), (16000, 8000)]
OTHER_PAIRS = [(16000, 24000), (24000, 16000), (22050, 16000), (44100, 8000)]


def tone(
    freq: float, rate: int, seconds: float, amplitude: float = 16384.0
) -> npt.NDArray[np.int16]:
    t = np.arange(round(rate * seconds)) / rate
    return np.rint(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dithered_tone(freq: float, rate: int, seconds: float) -> npt.NDArray[np.int16]:
    """A −6 dBFS tone with ±1 LSB TPDF dither: int16 rounding then spreads as noise instead of
    piling up on harmonics of the tone, some of which land on image and alias bins."""
    rng = np.random.default_rng(round(freq))
    n = round(rate * seconds)
    dither = rng.uniform(-0.5, 0.5, n) + rng.uniform(-0.5, 0.5, n)
    t = np.arange(n) / rate
    return np.rint(16384.0 * np.sin(2 * np.pi * freq * t) + dither).astype(np.int16)


def streamed(
    resampler: StreamResampler, pcm: npt.NDArray[np.int16], frame: int
) -> npt.NDArray[np.int16]:
    pieces = [resampler.process(pcm[i : i + frame]) for i in range(0, len(pcm), frame)]
    return np.concatenate(pieces)


def level_db(spectrum: npt.NDArray[np.float64], rate: int, n: int, freq: float) -> float:
    """Peak magnitude (dB) within ±3 bins of ``freq``."""
    centre = round(freq * n / rate)
    lo, hi = max(centre - 3, 0), min(centre + 4, len(spectrum))
    return 20 * math.log10(max(float(spectrum[lo:hi].max()), 1e-30))


def spectrum_of(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    """Magnitude spectrum under a Kaiser β=20 window: leakage far below −150 dB."""
    samples = pcm.astype(np.float64)
    return np.abs(np.fft.rfft(samples * np.kaiser(len(samples), 20.0)))


def reference(pcm: npt.NDArray[np.int16], in_rate: int, out_rate: int) -> npt.NDArray[np.int64]:
    """The textbook definition: zero-stuff, filter, decimate; causal, same length rule."""
    taps, up, down = design_filter(in_rate, out_rate)
    stuffed = np.zeros(len(pcm) * up)
    stuffed[::up] = pcm
    size = len(stuffed) + len(taps) - 1  # linear convolution through the FFT: exact enough
    full = np.fft.irfft(np.fft.rfft(stuffed, size) * np.fft.rfft(taps, size), size)
    full = full[::down][: -(-len(pcm) * up // down)]
    return np.clip(np.rint(full), -32768, 32767).astype(np.int64)


@pytest.mark.parametrize(("in_rate", "out_rate"), PHONE_PAIRS + OTHER_PAIRS)
def test_filter_design_meets_its_own_response_spec(in_rate: int, out_rate: int) -> None:
    taps, up, _ = design_filter(in_rate, out_rate)
    size = 1 << 18
    response = np.abs(np.fft.rfft(taps, size)) / up
    freqs = np.arange(len(response)) * up * in_rate / size
    nyquist = min(in_rate, out_rate) / 2
    passband = 20 * np.log10(response[freqs <= 0.85 * nyquist])
    stopband = 20 * np.log10(response[freqs >= 1.15 * nyquist].max())
    assert np.abs(passband).max() <= 0.001
    kaiser = len(taps) > 2 * MAX_MINIMAX_HALF_ORDER + 1  # the long filters of 44.1/22.05 kHz
    assert stopband <= (-110.0 if kaiser else -115.0), stopband
    if up > 1 and in_rate < out_rate and not kaiser:
        # A Nyquist filter: one branch is exactly the identity, so its outputs are the inputs.
        centre = len(taps) // 2
        same_branch = np.arange(centre % up, len(taps), up)
        assert taps[centre] == 1.0
        assert not taps[same_branch[same_branch != centre]].any()


@pytest.mark.parametrize(("in_rate", "out_rate"), PHONE_PAIRS + OTHER_PAIRS)
def test_matches_the_direct_polyphase_definition(in_rate: int, out_rate: int) -> None:
    pcm = (np.random.default_rng(7).standard_normal(in_rate // 8) * 4000).astype(np.int16)
    ours = streamed(StreamResampler(in_rate, out_rate), pcm, in_rate // 50)
    expected = reference(pcm, in_rate, out_rate)
    assert len(ours) == len(expected)
    assert np.abs(ours.astype(np.int64) - expected).max() <= 1


@pytest.mark.parametrize(("in_rate", "out_rate"), PHONE_PAIRS + OTHER_PAIRS)
@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=40))
def test_any_split_gives_the_whole_signal_output(
    in_rate: int, out_rate: int, cuts: list[int]
) -> None:
    pcm = (np.random.default_rng(len(cuts)).standard_normal(sum(cuts) + 5) * 6000).astype(np.int16)
    whole = StreamResampler(in_rate, out_rate).process(pcm)
    resampler = StreamResampler(in_rate, out_rate)
    pieces, start = [], 0
    for size in [*cuts, 5]:
        pieces.append(resampler.process(pcm[start : start + size]))
        start += size
    chunked = np.concatenate(pieces)
    assert len(chunked) == len(whole) == math.ceil(len(pcm) * out_rate / in_rate)
    assert np.abs(chunked.astype(np.int32) - whole).max() <= 1


@pytest.mark.parametrize(("in_rate", "out_rate"), PHONE_PAIRS)
def test_every_20ms_frame_gives_20ms_out(in_rate: int, out_rate: int) -> None:
    resampler = StreamResampler(in_rate, out_rate)
    frame = np.zeros(in_rate // 50, np.int16)
    sizes = {len(resampler.process(frame)) for _ in range(200)}
    assert sizes == {out_rate // 50}


@pytest.mark.parametrize(("in_rate", "out_rate"), PHONE_PAIRS)
def test_passband_is_flat_within_a_tenth_of_a_db(in_rate: int, out_rate: int) -> None:
    gains = []
    for freq in range(100, 3401, 100):
        pcm = tone(freq, in_rate, 1.0)
        out = streamed(StreamResampler(in_rate, out_rate), pcm, in_rate // 50)
        steady_in = pcm[in_rate // 10 :].astype(np.float64)
        steady_out = out[out_rate // 10 :].astype(np.float64)
        gains.append(20 * math.log10(np.sqrt(np.mean(steady_out**2) / np.mean(steady_in**2))))
    assert max(abs(g) for g in gains) <= 0.1, gains


@pytest.mark.parametrize(("in_rate", "out_rate"), [(8000, 24000), (8000, 16000)])
def test_images_of_the_telephone_band_are_90_db_down(in_rate: int, out_rate: int) -> None:
    worst = -math.inf
    for freq in np.arange(200, 3401, 200) - 0.37:
        out = streamed(StreamResampler(in_rate, out_rate), dithered_tone(freq, in_rate, 1.5), 160)
        steady = out[out_rate // 2 :]
        spectrum = spectrum_of(steady)
        reference_db = level_db(spectrum, out_rate, len(steady), freq)
        images = [
            k * in_rate + sign * freq
            for k in range(1, out_rate // in_rate + 1)
            for sign in (-1, 1)
            if 0 < k * in_rate + sign * freq < out_rate / 2
        ]
        assert images
        for image in images:
            worst = max(worst, level_db(spectrum, out_rate, len(steady), image) - reference_db)
    assert worst <= -108.0, worst  # the goal is 90 dB; the design gives 113–116 here


@pytest.mark.parametrize(("in_rate", "out_rate"), [(24000, 8000), (16000, 8000)])
def test_nothing_aliases_into_the_telephone_band(in_rate: int, out_rate: int) -> None:
    worst = -math.inf
    in_level = 20 * math.log10(16384 * np.kaiser(out_rate, 20.0).sum() / 2)
    tested = 0
    for freq in np.arange(4600, in_rate // 2, 300) + 0.37:
        alias = abs(freq - round(freq / out_rate) * out_rate)
        if alias > 3400:
            continue  # lands between 3.4 and 4 kHz: outside the telephone band
        tested += 1
        pcm = dithered_tone(freq, in_rate, 1.5)
        out = streamed(StreamResampler(in_rate, out_rate), pcm, in_rate // 50)
        steady = out[out_rate // 2 :][:out_rate]
        spectrum = spectrum_of(steady)
        worst = max(worst, level_db(spectrum, out_rate, len(steady), alias) - in_level)
    assert tested >= 10
    assert worst <= -108.0, worst  # the goal is 90 dB; the design gives 113–116 here


@pytest.mark.parametrize(("in_rate", "out_rate"), PHONE_PAIRS)
def test_group_delay_is_at_most_3ms_and_as_reported(in_rate: int, out_rate: int) -> None:
    resampler = StreamResampler(in_rate, out_rate)
    assert resampler.delay_ms <= 3.0
    impulse = np.zeros(in_rate // 10, np.int16)
    at = in_rate // 50
    impulse[at] = 30000
    out = streamed(resampler, impulse, in_rate // 50).astype(np.float64)
    # The impulse response is symmetric: its centre of mass is the group delay.
    centre = float((np.arange(len(out)) * out).sum() / out.sum())
    measured_ms = (centre - at * out_rate / in_rate) / out_rate * 1000
    assert measured_ms == pytest.approx(resampler.delay_ms, abs=0.02)


@pytest.mark.parametrize(("in_rate", "out_rate"), PHONE_PAIRS)
def test_a_streamed_tone_is_the_delayed_tone_everywhere_so_no_clicks(
    in_rate: int, out_rate: int
) -> None:
    freq, amplitude = 1234.5, 20000.0
    pcm = tone(freq, in_rate, 1.0, amplitude)
    resampler = StreamResampler(in_rate, out_rate)
    out = streamed(resampler, pcm, in_rate // 50).astype(np.float64)
    m = np.arange(len(out))
    ideal = amplitude * np.sin(2 * np.pi * freq * (m - resampler.delay_samples) / out_rate)
    steady = slice(out_rate // 50, None)  # after the filter has filled
    error = np.abs(out[steady] - ideal[steady])
    # Input rounding (0.5 LSB) + output rounding (0.5) + passband ripple: never a click.
    assert error.max() <= 2.0, error.max()


@pytest.mark.parametrize(("in_rate", "out_rate"), PHONE_PAIRS + OTHER_PAIRS)
def test_flush_returns_the_tail_then_the_stream_starts_again(in_rate: int, out_rate: int) -> None:
    pcm = tone(440, in_rate, 0.2)
    resampler = StreamResampler(in_rate, out_rate)
    body = resampler.process(pcm)
    tail = resampler.flush()
    assert len(tail) == math.ceil(resampler.delay_samples)
    # The tail is what zero input would have pushed out next.
    fresh = StreamResampler(in_rate, out_rate)
    padded = fresh.process(np.concatenate([pcm, np.zeros(in_rate // 10, np.int16)]))
    assert np.abs(tail.astype(np.int32) - padded[len(body) : len(body) + len(tail)]).max() <= 1
    # After flush the resampler is fresh.
    again = resampler.process(pcm)
    assert np.array_equal(again, body)
    assert len(resampler.flush()) == len(tail)
    assert len(StreamResampler(in_rate, out_rate).flush()) == 0


def test_reset_forgets_the_previous_stream() -> None:
    resampler = StreamResampler(8000, 24000)
    resampler.process(tone(1000, 8000, 0.1))
    resampler.reset()
    pcm = tone(300, 8000, 0.1)
    assert np.array_equal(resampler.process(pcm), StreamResampler(8000, 24000).process(pcm))


def test_full_scale_input_is_clipped_not_wrapped() -> None:
    square = np.where(np.arange(8000) % 40 < 20, 32767, -32768).astype(np.int16)
    out = StreamResampler(8000, 24000).process(square)
    # Gibbs overshoot would exceed int16; it must saturate rather than wrap round.
    assert out.max() == 32767
    assert out.min() == -32768
    assert np.all(np.abs(np.diff(out.astype(np.int32))) < 40000)


def test_identity_ratio_is_a_pure_delay_within_the_band() -> None:
    pcm = tone(1000, 8000, 0.5)
    resampler = StreamResampler(8000, 8000)
    out = resampler.process(pcm)
    delay = round(resampler.delay_samples)
    assert np.abs(out[delay + 100 :].astype(np.int32) - pcm[100 : len(pcm) - delay]).max() <= 1


def test_empty_input_returns_nothing() -> None:
    resampler = StreamResampler(24000, 8000)
    assert len(resampler.process(np.zeros(0, np.int16))) == 0
    assert resampler.process(np.zeros(0, np.int16)).dtype == np.int16


def test_bad_input_is_refused_clearly() -> None:
    resampler = StreamResampler(8000, 16000)
    with pytest.raises(TypeError, match="int16"):
        resampler.process(np.zeros(160, np.float32))
    with pytest.raises(ValueError, match="1-D"):
        resampler.process(np.zeros((80, 2), np.int16))
    with pytest.raises(ValueError, match="positive"):
        StreamResampler(0, 8000)
    with pytest.raises(ValueError, match="small ratio"):
        StreamResampler(8000, 44101)
