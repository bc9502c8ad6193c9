"""dBFS levels: full scale is 32768, silence is -inf."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hotelvoice.codec.levels import peak_dbfs, rms_dbfs

Level = Callable[[npt.NDArray[np.int16]], float]


def sine(amplitude: float, n: int = 8000, cycles: int = 100) -> npt.NDArray[np.int16]:
    t = np.arange(n) / n
    return np.rint(amplitude * np.sin(2 * np.pi * cycles * t)).astype(np.int16)


def test_full_scale_square_wave_is_0_dbfs() -> None:
    square = np.tile(np.array([-32768, -32768, 32767, 32767], np.int16), 1000)
    assert rms_dbfs(square) == pytest.approx(0.0, abs=1e-3)
    assert peak_dbfs(square) == 0.0


def test_constant_minus_full_scale_is_exactly_0_dbfs() -> None:
    # Squares and abs() of -32768 would overflow in int16; the result must not.
    pcm = np.full(1000, -32768, np.int16)
    assert rms_dbfs(pcm) == 0.0
    assert peak_dbfs(pcm) == 0.0


def test_full_scale_sine_is_about_minus_3_dbfs() -> None:
    pcm = sine(32767)
    assert rms_dbfs(pcm) == pytest.approx(-3.0103, abs=0.01)
    assert peak_dbfs(pcm) == pytest.approx(20 * math.log10(32767 / 32768))


def test_halving_the_amplitude_drops_6_db() -> None:
    assert rms_dbfs(sine(8192)) - rms_dbfs(sine(16384)) == pytest.approx(-6.0206, abs=0.01)
    assert peak_dbfs(sine(8192)) == pytest.approx(20 * math.log10(0.25), abs=1e-3)


def test_one_lsb() -> None:
    pcm = np.array([1, -1, 1, -1], np.int16)
    assert rms_dbfs(pcm) == pytest.approx(-90.309, abs=1e-3)  # 20·log10(1/32768)
    assert peak_dbfs(pcm) == pytest.approx(-90.309, abs=1e-3)


@pytest.mark.parametrize("func", [rms_dbfs, peak_dbfs])
def test_silence_and_empty_are_minus_infinity(func: Level) -> None:
    assert func(np.zeros(160, np.int16)) == -math.inf
    assert func(np.zeros(0, np.int16)) == -math.inf


@pytest.mark.parametrize("func", [rms_dbfs, peak_dbfs])
def test_rejects_other_dtypes(func: Level) -> None:
    with pytest.raises(TypeError, match="int16"):
        func(np.zeros(4, np.float32))


def test_works_on_2d_and_strided_arrays() -> None:
    stereo = np.stack([sine(16384), np.zeros(8000, np.int16)], axis=1)
    assert rms_dbfs(stereo[:, 0]) == pytest.approx(rms_dbfs(sine(16384)))
    assert rms_dbfs(stereo[:, 1]) == -math.inf
    # The whole array: the mean power over both channels, half the left channel's.
    assert rms_dbfs(stereo) == pytest.approx(rms_dbfs(sine(16384)) - 3.0103, abs=1e-3)
    assert peak_dbfs(stereo) == peak_dbfs(sine(16384))


@given(hnp.arrays(np.int16, st.integers(1, 300)))
def test_rms_never_exceeds_peak(pcm: npt.NDArray[np.int16]) -> None:
    rms, peak = rms_dbfs(pcm), peak_dbfs(pcm)
    assert rms <= peak + 1e-9
    assert peak <= 0.0
    assert isinstance(rms, float)
    assert isinstance(peak, float)
    assert (rms == -math.inf) == (peak == -math.inf) == (not pcm.any())
