"""A streaming rational-ratio resampler for telephone audio: polyphase FIR, fixed small delay.

The filter is designed here in numpy: a linear-phase low-pass whose transition band is
0.85–1.15 × the lower rate's Nyquist frequency (3.4–4.6 kHz when one side is 8 kHz). The whole
telephone band passes flat (±0.0003 dB), and whatever would land on top of it is attenuated
by about 116 dB (images, when upsampling) or 137 dB (aliases, when downsampling): a weighted
minimax design (Lawson's iteration; see ``_weighted_minimax`` for why the two differ). Its
length puts the group delay at 3 ms for 8 ⇄ 16/24 kHz. Ratios needing very long filters
(22.05 kHz ⇄ 16 kHz) use a Kaiser-windowed sinc (about 110 dB) instead.

Unlike block resamplers (soxr buffers 12–150 ms and answers many 20 ms calls with nothing),
``process`` returns every output sample as soon as its last input sample has arrived: a 20 ms
frame in gives exactly 20 ms out for integer ratios, and the total output after ``n`` inputs is
always ``ceil(n * out_rate / in_rate)``. State carries over between calls, so feeding a signal in
pieces of any size gives the same samples as feeding it whole (to within 1 LSB: float32
summation order may differ).

Pure numpy; no I/O, no clocks, not thread-safe (one instance per stream).
"""

from __future__ import annotations

import functools
import math
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

__all__ = ["StreamResampler", "design_filter"]

LENGTH_DB: Final = 110.0  # sizes the filter by Kaiser's estimate: 3 ms at 8 ⇄ 16/24 kHz
PASS_EDGE: Final = 0.85  # × the lower rate's Nyquist frequency: 3.4 kHz at 8 kHz
STOP_EDGE: Final = 1.15  # 4.6 kHz at 8 kHz: images and aliases start here
STOP_WEIGHT: Final = 100.0  # stopband error counts this much more than passband ripple
MAX_PHASES: Final = 1024  # beyond this the filter table grows past what a "small ratio" needs
MAX_MINIMAX_HALF_ORDER: Final = 400  # longer filters (odd ratios like 22.05k) stay Kaiser
LAWSON_ITERATIONS: Final = 30


@functools.lru_cache(maxsize=32)
def design_filter(in_rate: int, out_rate: int) -> tuple[npt.NDArray[np.float64], int, int]:
    """The prototype low-pass filter at ``up * in_rate`` and the ratio ``(up, down)``.

    Linear phase, odd length. The filter's DC gain is ``up`` (to within its passband
    ripple), so each polyphase branch has unity gain. Cached (a design takes a few
    milliseconds); the taps are read-only. Raises ``ValueError`` for non-positive rates or
    ratios too large to tabulate.
    """
    if in_rate <= 0 or out_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {in_rate} and {out_rate}")
    g = math.gcd(in_rate, out_rate)
    up, down = out_rate // g, in_rate // g
    if max(up, down) > MAX_PHASES:
        raise ValueError(f"{in_rate} → {out_rate} Hz is not a small ratio ({up}/{down})")
    if up == down == 1:
        identity = np.ones(1)
        identity.setflags(write=False)
        return identity, 1, 1
    working_rate = up * in_rate
    nyquist = min(in_rate, out_rate) / 2
    pass_edge = 2 * math.pi * PASS_EDGE * nyquist / working_rate  # radians per sample
    stop_edge = 2 * math.pi * STOP_EDGE * nyquist / working_rate
    # Kaiser's length estimate, rounded up to an even order so the delay is a whole sample.
    half_order = math.ceil((LENGTH_DB - 7.95) / (2.285 * (stop_edge - pass_edge)) / 2)
    if half_order <= MAX_MINIMAX_HALF_ORDER:
        # Upsampling cuts off at the input's Nyquist frequency, π/up: a Nyquist filter fits.
        band = up if up > down else 1
        taps = _weighted_minimax(half_order, pass_edge, stop_edge, band=band)
    else:
        taps = _kaiser_sinc(half_order, nyquist / working_rate)
    if not up > down:
        taps /= taps.sum()
    taps *= up
    taps.setflags(write=False)
    return taps, up, down


def _kaiser_sinc(half_order: int, cutoff: float) -> npt.NDArray[np.float64]:
    """Windowed sinc: ``cutoff`` in cycles per sample; stopband about ``LENGTH_DB``."""
    n = np.arange(2 * half_order + 1) - half_order
    beta = 0.1102 * (LENGTH_DB - 8.7)
    taps: npt.NDArray[np.float64] = (
        2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(2 * half_order + 1, beta)
    )
    return taps


def _weighted_minimax(
    half_order: int, pass_edge: float, stop_edge: float, *, band: int
) -> npt.NDArray[np.float64]:
    """A linear-phase low-pass near the weighted minimax optimum (Lawson's iteration).

    With ``band`` > 1 (upsampling by ``band``) it is a Nyquist filter: the centre tap is
    1/band and every band-th tap from it is zero, so one output phase in ``band`` is the input
    sample itself. That matters after rounding to int16: a branch that is *almost* the
    identity has outputs within a hair of an integer, rounding strips that hair off, and the
    stripped part is a filtered copy of the signal whose images sit about 100 dB down; with
    the identity exact there is nothing to strip. The constraint caps the stopband at about
    −116 dB for this length. Downsampling (``band`` = 1) has no such constraint, so its
    passband ripple is traded for stopband depth instead: about −137 dB.
    """
    density = 8 * half_order
    stop_grid = np.linspace(stop_edge, math.pi, density)
    pass_points = max(16, round(density * pass_edge / (math.pi - stop_edge)))
    grid = np.concatenate([np.linspace(0.0, pass_edge, pass_points), stop_grid])
    desired = np.concatenate([np.ones(pass_points), np.zeros(density)])
    weight = np.concatenate([np.ones(pass_points), np.full(density, STOP_WEIGHT)])
    # Amplitude of a symmetric filter: h_0 + sum over n of 2 h_n cos(n w).
    offsets = np.arange(1, half_order + 1)
    centre = 1.0 / band
    if band > 1:
        offsets = offsets[offsets % band != 0]
        basis = 2 * np.cos(np.outer(grid, offsets))
        target = desired - centre
    else:
        basis = np.hstack([np.ones((len(grid), 1)), 2 * np.cos(np.outer(grid, offsets))])
        target = desired
    lawson = np.full(len(grid), 1.0 / len(grid))
    for _ in range(LAWSON_ITERATIONS):
        scale = np.sqrt(lawson) * weight
        rows = basis * scale[:, None]
        solution = np.linalg.solve(rows.T @ rows, rows.T @ (target * scale))
        lawson *= np.abs(basis @ solution - target) * weight
        lawson /= lawson.sum()
    taps = np.zeros(2 * half_order + 1)
    if band > 1:
        taps[half_order] = centre
        free = solution
    else:
        taps[half_order] = solution[0]
        free = solution[1:]
    taps[half_order + offsets] = free
    taps[half_order - offsets] = free
    return taps


class StreamResampler:
    """Resamples one stream of int16 PCM from ``in_rate`` to ``out_rate``, frame by frame."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        taps, up, down = design_filter(in_rate, out_rate)
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.up = up
        self.down = down
        self._order = len(taps) - 1
        width = -(-len(taps) // up)  # taps per polyphase branch
        padded = np.zeros(width * up)
        padded[: len(taps)] = taps
        # Branch p holds taps p, p + up, p + 2·up, …; reversed so a window of the input
        # (oldest sample first) dots straight into it.
        branches = padded.reshape(width, up).T[:, ::-1]
        self._branches: npt.NDArray[np.float32] = np.ascontiguousarray(branches, np.float32)
        self._branches_t: npt.NDArray[np.float32] = np.ascontiguousarray(branches.T)
        self._width = width
        self._history: npt.NDArray[np.float32] = np.zeros(width - 1, np.float32)
        self._inputs = 0  # samples consumed since the start of the stream
        self._outputs = 0  # samples produced since the start of the stream

    @property
    def delay_ms(self) -> float:
        """Group delay: how far the output lags the input (constant; linear phase)."""
        return self._order / 2 / (self.up * self.in_rate) * 1000

    @property
    def delay_samples(self) -> float:
        """Group delay in output samples."""
        return self._order / 2 / self.down

    def reset(self) -> None:
        """Forget the stream so far; the next call starts a new stream."""
        self._history[:] = 0
        self._inputs = 0
        self._outputs = 0

    def process(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """Resample the next piece of the stream; returns every output sample now computable.

        Raises ``TypeError`` unless ``pcm`` is int16, ``ValueError`` unless it is 1-D.
        """
        if pcm.dtype != np.int16:
            raise TypeError(f"StreamResampler.process expects int16 samples, got {pcm.dtype}")
        if pcm.ndim != 1:
            raise ValueError(f"StreamResampler.process expects a 1-D array, got shape {pcm.shape}")
        return _to_int16(self._process(pcm))

    def flush(self) -> npt.NDArray[np.int16]:
        """The tail still inside the filter (``delay_samples`` of output), then a reset."""
        if self._inputs == 0:
            return np.zeros(0, np.int16)
        wanted = self._outputs_for(self._inputs) + math.ceil(self.delay_samples) - self._outputs
        needed_inputs = -(-(self._outputs + wanted) * self.down // self.up) - self._inputs
        tail = self._process(np.zeros(max(needed_inputs, 0), np.int16))[:wanted]
        self.reset()
        return _to_int16(tail)

    def _outputs_for(self, inputs: int) -> int:
        # Output m needs input floor(m·down/up), so m < inputs·up/down.
        return -(-inputs * self.up // self.down)

    def _process(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
        n = len(pcm)
        if n == 0:
            return np.zeros(0, np.float32)
        history = self._history
        keep = len(history)
        buffer = np.empty(keep + n, np.float32)
        buffer[:keep] = history
        buffer[keep:] = pcm
        first_in = self._inputs
        first_out = self._outputs
        self._inputs += n
        self._outputs = self._outputs_for(self._inputs)
        if keep:
            history[:] = buffer[n:]
        count = self._outputs - first_out
        if count == 0:
            return np.zeros(0, np.float32)
        up, down, width = self.up, self.down, self._width
        step = buffer.itemsize
        # Row r of `windows` is the input window ending at stream sample first_in + r.
        if down == 1:
            windows = as_strided(buffer, (n, width), (step, step))
            # Copying the overlapping windows lets BLAS do the product (about 2× faster).
            return (np.array(windows) @ self._branches_t).ravel()
        first_row = first_out * down // up - first_in
        if up == 1:
            windows = as_strided(buffer[first_row:], (count, width), (down * step, step))
            sums: npt.NDArray[np.float32] = np.array(windows) @ self._branches[0]
            return sums
        positions = np.arange(first_out, first_out + count) * down
        rows = positions // up - first_in
        phases = positions % up
        windows = as_strided(buffer, (n, width), (step, step))
        mixed: npt.NDArray[np.float32] = np.einsum(
            "ij,ij->i", windows[rows], self._branches[phases]
        )
        return mixed


def _to_int16(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    # Ufuncs with out=, rather than np.clip: a third of the cost on a 20 ms frame.
    np.rint(samples, out=samples)
    np.minimum(samples, 32767, out=samples)
    np.maximum(samples, -32768, out=samples)
    return samples.astype(np.int16)
