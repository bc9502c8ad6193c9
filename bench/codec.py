"""Codec and resampler benchmark: cost, quality and latency of the per-frame audio path.

Run from the repository root (it prints figures; it is not a test and asserts nothing):

    .venv/bin/python -m bench.codec             # about two minutes
    .venv/bin/python -m bench.codec --quick     # smoke run, under 20 s

Needs the ``bench`` extra (soxr, scipy). The stdlib ``audioop`` (Python ≤ 3.12) is the G.711
reference; without it those columns read "n/a".

**G.711.** µs per call for one 20 ms frame (160 samples) and one second (8000 samples) of our
``hotelvoice.codec.g711`` functions (int16 ndarray in, bytes out, and back) against
``audioop.lin2ulaw``/``ulaw2lin``/``lin2alaw``/``alaw2lin`` (bytes in and out, width 2), timed
with ``bench._timing.microseconds_per_call`` (best of 5 loops of 100,000 calls; best of 1 with
``--quick``). "ratio" is ours / audioop; the goal is ≤ 3×. "bit-exact" compares encoding all
65,536 int16 inputs and decoding all 256 codes with audioop.

**Resamplers**, one table per direction, each engine fed 20 ms frames with its state carried:
ours (``StreamResampler``), ``soxr.ResampleStream`` at HQ and VHQ with int16 in and out (the fair
comparison, our API being int16), soxr HQ with float32 in and out (its native format, for
information only), the scipy streaming polyphase class from the reference notes (``PolyStream``:
``upfirdn``, Kaiser β = 8, 24 taps per phase) and ``scipy.signal.resample_poly`` called on each
frame alone (stateless, as it is often misused). Every int16 engine rounds and clips to int16
inside the timed call. Columns:

* ``µs/frame`` mean, ``p99`` and ``max`` of ``perf_counter_ns`` around each of 3000 calls (500
  with ``--quick``) after a warm-up (a few preempted calls on a shared machine can pull the
  mean above the p99); ``best`` the best mean of 5 uninstrumented loops over the same
  frames; ``µs/s`` = best × 50, the CPU per second of audio.
* ``1k dB`` gain of a 1 kHz tone; ``pass±`` the worst deviation from 0 dB over tones from
  100 Hz to 3.4 kHz.
* ``reject``: upsampling, the strongest image (k·fs_in ± f up to the output Nyquist) of tones
  in 0.1–3.4 kHz, relative to the tone at the output; downsampling, the strongest alias into
  0–3.4 kHz (at |f − k·fs_out|) of tones from 4.6 kHz up to the input Nyquist − 200 Hz,
  relative to the input tone. Lower is better; the worst tone of the sweep is shown.
* ``held``: input so far × ratio − output so far after each call, mean / max in ms (what the
  engine holds back, e.g. soxr's block buffering); ``empty`` calls that returned no samples.
* ``delay``: group delay in ms, measured on a click streamed through the engine: the phase
  slope over 0.1–3 kHz of its response on the output time line (output sample i at i / fs_out,
  against the click at its input index / fs_in). soxr compensates its filter's delay on that
  time line (it reads 0) and shows its latency as ``held`` instead. ``total`` = mean held +
  delay, the latency the engine adds to a paced 20 ms stream. For ours the ``delay_ms``
  property is printed under the table next to the measured figure.

Tones are −6 dBFS int16, streamed for 0.5 s + the analysis window + 0.3 s; the first 0.5 s of
output is skipped, the analysis window (2 s, 1 s with ``--quick``) gets a Kaiser β = 20 window
(leakage below −190 dB) and the level is read at the exact DFT bin of each frequency. Tones sit
37 Hz past each 100 Hz step and carry ±1 LSB TPDF dither (seeded per frequency, identical for
every engine): with a round, undithered tone the int16 rounding error is a periodic function of
the tone's phase, and its harmonics land on image bins (the image of 2 kHz at 6 kHz is its 3rd
harmonic) about 95–100 dB down, which would blame the filter for the rounding. With the dither
the rounding error spreads like noise, about −98 dB re full scale in total, one bin near −125 to
−130 dB re the tone. libsoxr also TPDF-dithers its int16 output (python-soxr has no switch for
it: silence in gives ±1 LSB out); ours rounds without dither, so silence stays silent and a
residue far below 1 LSB rounds to exact zeros. The float32 soxr row shows what soxr's filters
do without the int16 stage.

The "goals" section compares ours with soxr HQ int16 on each pair: CPU per frame (best, goal
≤ 5× soxr), total latency (goal ≤ 1/10 of soxr's) and rejection (goal: within 10 dB of soxr's).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import soxr
from scipy import signal

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: bench/ is sys.path[0], not the repository
    sys.path.insert(0, str(REPO))

from bench._timing import microseconds_per_call  # noqa: E402
from hotelvoice.codec.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode  # noqa: E402
from hotelvoice.codec.resample import StreamResampler  # noqa: E402

Int16Array = npt.NDArray[np.int16]
Frame = Callable[[np.ndarray], np.ndarray]

FRAMES_PER_SECOND = 50  # 20 ms frames
PAIRS = ((8000, 24000), (24000, 8000), (8000, 16000), (16000, 8000))
TONE_AMPLITUDE = 32768 * 10 ** (-6 / 20)  # −6 dBFS
TONE_OFFSET_HZ = 37
PASS_LOW_HZ, PASS_HIGH_HZ = 100, 3400
ALIAS_LOW_HZ = 4600
SKIP_SECONDS = 0.5
MARGIN_SECONDS = 0.3
WINDOW_BETA = 20.0
GOAL_G711_RATIO = 3.0
GOAL_CPU_RATIO = 5.0
GOAL_LATENCY_RATIO = 0.1
GOAL_REJECTION_DB = 10.0


@dataclass(frozen=True)
class Settings:
    timing_frames: int
    timing_loops: int
    g711_repeats: int
    tone_step_hz: int
    window_seconds: int


FULL = Settings(
    timing_frames=3000, timing_loops=5, g711_repeats=5, tone_step_hz=100, window_seconds=2
)
QUICK = Settings(
    timing_frames=500, timing_loops=3, g711_repeats=1, tone_step_hz=400, window_seconds=1
)


def load_audioop() -> ModuleType | None:
    """The stdlib audioop (deprecated in 3.11, gone in 3.13), or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return importlib.import_module("audioop")
        except ImportError:
            return None


# ----------------------------------------------------------------------------- G.711


def speech_like(samples: int, seed: int = 1) -> Int16Array:
    """Reproducible Laplacian noise, about −18 dBFS RMS, with peaks that reach every segment."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.laplace(0, 3000, samples), -32768, 32767).astype(np.int16)


def g711_section(settings: Settings, audioop: ModuleType | None) -> list[tuple[str, float]]:
    """Prints the G.711 table; returns (case, ratio) for the goals section."""
    print("G.711 (µs per call; ours: int16 ndarray ⇄ bytes, audioop: bytes ⇄ bytes, width 2)")
    laws = {
        "μ-law": (ulaw_encode, ulaw_decode, "lin2ulaw", "ulaw2lin"),
        "A-law": (alaw_encode, alaw_decode, "lin2alaw", "alaw2lin"),
    }
    sizes = {"20 ms": 160, "1 s": 8000}
    header = f"{'':16s}" + "".join(
        f"{f'{size} ours':>12s}{f'{size} audioop':>15s}{'ratio':>8s}" for size in sizes
    )
    print(header)
    ratios: list[tuple[str, float]] = []
    for law, (encode, decode, audioop_encode, audioop_decode) in laws.items():
        for op in ("encode", "decode"):
            row = f"{law + ' ' + op:16s}"
            for size_name, samples in sizes.items():
                pcm = speech_like(samples)
                coded = encode(pcm)
                pcm_bytes = pcm.tobytes()
                call = partial(encode, pcm) if op == "encode" else partial(decode, coded)
                ours = microseconds_per_call(call, settings.g711_repeats)
                row += f"{ours:12.2f}"
                if audioop is None:
                    row += f"{'n/a':>15s}{'n/a':>8s}"
                    continue
                if op == "encode":
                    call = partial(getattr(audioop, audioop_encode), pcm_bytes, 2)
                else:
                    call = partial(getattr(audioop, audioop_decode), coded, 2)
                reference = microseconds_per_call(call, settings.g711_repeats)
                ratio = ours / reference
                ratios.append((f"{law} {op} {size_name}", ratio))
                row += f"{reference:15.2f}{ratio:7.1f}×"
            print(row)
    every_int16 = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)
    every_code = bytes(range(256))
    for law, (encode, decode, audioop_encode, audioop_decode) in laws.items():
        if audioop is None:
            print(f"{law} bit-exact: n/a (no audioop)")
            continue
        ours_codes = np.frombuffer(encode(every_int16), np.uint8)
        ref_codes = np.frombuffer(
            getattr(audioop, audioop_encode)(every_int16.tobytes(), 2), np.uint8
        )
        ours_pcm = np.asarray(decode(every_code), np.int16)
        ref_pcm = np.frombuffer(getattr(audioop, audioop_decode)(every_code, 2), np.int16)
        encode_diff = int(np.count_nonzero(ours_codes != ref_codes))
        decode_diff = int(np.count_nonzero(ours_pcm != ref_pcm))
        verdict = "yes" if encode_diff == decode_diff == 0 else "no"
        print(
            f"{law} bit-exact: {verdict} (encode: {encode_diff} of 65,536 int16 inputs differ, "
            f"decode: {decode_diff} of 256 codes differ)"
        )
    print()
    return ratios


# ----------------------------------------------------------------------------- resamplers


def to_int16(samples: npt.NDArray[np.float64]) -> Int16Array:
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


class PolyStream:
    """Exact streaming polyphase resampler with scipy's upfirdn (from the reference notes)."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        g = np.gcd(in_rate, out_rate)
        self.up, self.down = out_rate // g, in_rate // g
        most = max(self.up, self.down)
        taps = signal.firwin(24 * most + 1, 1.0 / most, window=("kaiser", 8.0)) * self.up
        self.taps = taps.astype(np.float32)
        self.history_length = int(np.ceil(len(self.taps) / self.up)) + 1
        self.history = np.zeros(self.history_length, np.float32)

    def __call__(self, frame: Int16Array) -> Int16Array:
        buffer = np.concatenate([self.history, frame.astype(np.float32)])
        out = signal.upfirdn(self.taps, buffer, self.up, self.down)
        start = (self.history_length * self.up) // self.down
        self.history = buffer[-self.history_length :]
        return to_int16(out[start : start + len(frame) * self.up // self.down])


def soxr_engine(quality: str, dtype: str) -> Callable[[int, int], Frame]:
    def make(in_rate: int, out_rate: int) -> Frame:
        stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype=dtype, quality=quality)
        resample: Frame = stream.resample_chunk  # soxr ships no types
        return resample

    return make


def resample_poly_engine(in_rate: int, out_rate: int) -> Frame:
    g = np.gcd(in_rate, out_rate)
    up, down = out_rate // g, in_rate // g
    return lambda frame: to_int16(signal.resample_poly(frame, up, down))


def ours_engine(in_rate: int, out_rate: int) -> Frame:
    return StreamResampler(in_rate, out_rate).process


@dataclass(frozen=True)
class Engine:
    name: str
    make: Callable[[int, int], Frame]
    float32: bool = False  # fed float32 in [−1, 1) and returns float32: soxr's native format


OURS = "ours"
SOXR_HQ = "soxr HQ int16"
ENGINES = (
    Engine(OURS, ours_engine),
    Engine(SOXR_HQ, soxr_engine("HQ", "int16")),
    Engine("soxr VHQ int16", soxr_engine("VHQ", "int16")),
    Engine("soxr HQ float32 (info)", soxr_engine("HQ", "float32"), float32=True),
    Engine("scipy PolyStream", PolyStream),
    Engine("resample_poly/frame", resample_poly_engine),
)


def tone(freq: int, rate: int, seconds: float) -> Int16Array:
    """A −6 dBFS int16 sine with ±1 LSB TPDF dither (seeded by the frequency, so every engine
    gets the same samples); integer phase arithmetic keeps it exact over long signals."""
    n = np.arange(round(rate * seconds), dtype=np.int64)
    rng = np.random.default_rng(freq)
    dither = rng.uniform(-0.5, 0.5, len(n)) + rng.uniform(-0.5, 0.5, len(n))
    return to_int16(TONE_AMPLITUDE * np.sin(2 * np.pi * ((freq * n) % rate) / rate) + dither)


@lru_cache(maxsize=8)
def analysis_window(length: int) -> npt.NDArray[np.float64]:
    return np.kaiser(length, WINDOW_BETA)


def spectrum_dbfs(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Amplitude spectrum in dB re full scale (a full-scale sine reads 0 dB at its bin)."""
    window = analysis_window(len(samples))
    amplitude = np.abs(np.fft.rfft(samples * window)) * 2 / window.sum()
    decibels: npt.NDArray[np.float64] = 20 * np.log10(np.maximum(amplitude, 1e-12) / 32768)
    return decibels


def level_at(spectrum: npt.NDArray[np.float64], window_seconds: int, freq: int) -> float:
    """The level at ``freq`` (an integer in Hz: exactly on a bin, bins being 1 / window Hz)."""
    return float(spectrum[freq * window_seconds])


def fold(freq: int, rate: int) -> int:
    """Where ``freq`` lands after sampling at ``rate``: |freq − k·rate| in [0, rate / 2]."""
    aliased = freq % rate
    return min(aliased, rate - aliased)


def frames_of(samples: np.ndarray, rate: int) -> list[np.ndarray]:
    size = rate // FRAMES_PER_SECOND
    return [samples[i : i + size] for i in range(0, len(samples) - size + 1, size)]


def engine_input(engine: Engine, samples: Int16Array) -> np.ndarray:
    return (samples / 32768).astype(np.float32) if engine.float32 else samples


def engine_output(engine: Engine, samples: np.ndarray) -> npt.NDArray[np.float64]:
    """Output in int16 units, as float64 (float32 output is scaled, not rounded)."""
    return samples.astype(np.float64) * (32768 if engine.float32 else 1)


def stream_through(engine: Engine, in_rate: int, out_rate: int, samples: Int16Array) -> np.ndarray:
    process = engine.make(in_rate, out_rate)
    pieces = [process(frame) for frame in frames_of(engine_input(engine, samples), in_rate)]
    return engine_output(engine, np.concatenate(pieces))


@dataclass
class Quality:
    gain_1k_db: float
    pass_deviation_db: float
    rejection_db: float
    rejection_at: str  # "tone → image/alias" of the worst case


def measure_quality(engine: Engine, in_rate: int, out_rate: int, settings: Settings) -> Quality:
    window = settings.window_seconds
    seconds = SKIP_SECONDS + window + MARGIN_SECONDS
    skip_in, skip_out = round(SKIP_SECONDS * in_rate), round(SKIP_SECONDS * out_rate)

    def analyse(freq: int) -> tuple[npt.NDArray[np.float64], float]:
        samples = tone(freq, in_rate, seconds)
        input_level = level_at(
            spectrum_dbfs(samples[skip_in : skip_in + window * in_rate].astype(np.float64)),
            window,
            freq,
        )
        out = stream_through(engine, in_rate, out_rate, samples)[skip_out:]
        if len(out) < window * out_rate:
            raise RuntimeError(f"{engine.name}: only {len(out)} samples after the skip")
        return spectrum_dbfs(out[: window * out_rate]), input_level

    step = settings.tone_step_hz
    pass_tones = [1000, *range(PASS_LOW_HZ + TONE_OFFSET_HZ, PASS_HIGH_HZ + 1, step)]
    gains: dict[int, float] = {}
    worst = (-np.inf, "")
    for freq in pass_tones:
        spectrum, input_level = analyse(freq)
        output_level = level_at(spectrum, window, freq)
        gains[freq] = output_level - input_level
        if out_rate > in_rate and freq != 1000:
            images = [
                image
                for k in range(1, out_rate // in_rate + 1)
                for image in (k * in_rate - freq, k * in_rate + freq)
                if image < out_rate / 2
            ]
            for image in images:
                relative = level_at(spectrum, window, image) - output_level
                if relative > worst[0]:
                    worst = (relative, f"{freq} → {image} Hz")
    if out_rate < in_rate:
        first = ALIAS_LOW_HZ + TONE_OFFSET_HZ
        for freq in range(first, in_rate // 2 - 200 + 1, step):
            alias = fold(freq, out_rate)
            if not 20 <= alias <= PASS_HIGH_HZ:
                continue
            spectrum, input_level = analyse(freq)
            relative = level_at(spectrum, window, alias) - input_level
            if relative > worst[0]:
                worst = (relative, f"{freq} → {alias} Hz")
    deviation = max(abs(gain) for freq, gain in gains.items() if freq != 1000)
    return Quality(gains[1000], deviation, float(worst[0]), worst[1])


@dataclass
class Timing:
    mean_us: float
    p99_us: float
    max_us: float
    best_us: float
    held_mean_ms: float
    held_max_ms: float
    empty_calls: int
    calls: int


def measure_timing(engine: Engine, in_rate: int, out_rate: int, settings: Settings) -> Timing:
    count = settings.timing_frames
    warmup = 100
    source = speech_like((count + warmup) * in_rate // FRAMES_PER_SECOND, seed=2)
    frames = frames_of(engine_input(engine, source), in_rate)
    ratio = out_rate / in_rate
    process = engine.make(in_rate, out_rate)
    total_in = total_out = 0  # counted from the start of the stream
    for frame in frames[:warmup]:
        total_in += len(frame)
        total_out += len(process(frame))
    durations = np.empty(count, np.int64)
    held = np.empty(count)
    empty = 0
    clock = time.perf_counter_ns
    measured = frames[warmup:]
    for i, frame in enumerate(measured):
        started = clock()
        out = process(frame)
        durations[i] = clock() - started
        total_in += len(frame)
        total_out += len(out)
        held[i] = (total_in * ratio - total_out) / out_rate * 1000
        if len(out) == 0:
            empty += 1
    best = np.inf
    for _ in range(settings.timing_loops):
        started = clock()
        for frame in measured:
            process(frame)
        best = min(best, (clock() - started) / len(measured))
    return Timing(
        mean_us=float(durations.mean()) / 1000,
        p99_us=float(np.percentile(durations, 99)) / 1000,
        max_us=float(durations.max()) / 1000,
        best_us=best / 1000,
        held_mean_ms=float(held.mean()),
        held_max_ms=float(held.max()),
        empty_calls=empty,
        calls=count,
    )


def measure_delay_ms(engine: Engine, in_rate: int, out_rate: int) -> float:
    """Group delay on the streamed time line, from the phase slope of a click's response.

    The click sits at input sample ``n0``; the response, read on the output time line
    (sample ``i`` at ``i / out_rate`` s), has phase −2πf·(n0 / in_rate + delay) at each
    frequency f of the passband. A least-squares fit over 100–3000 Hz gives the delay; it is
    immune to soxr's int16 dither, which would swamp a centre-of-mass estimate.
    """
    frame = in_rate // FRAMES_PER_SECOND
    samples = np.zeros(40 * frame, np.int16)
    click_at = 10 * frame + frame // 3
    samples[click_at] = 30000
    out = stream_through(engine, in_rate, out_rate, samples)
    peak = int(np.argmax(np.abs(out)))
    coarse = peak / out_rate - click_at / in_rate  # to within a sample, so the phase unwraps
    freqs = np.arange(100, 3001, 50)
    times = np.arange(len(out)) / out_rate - click_at / in_rate - coarse
    spectrum = np.exp(-2j * np.pi * np.outer(freqs, times)) @ out
    phase = np.unwrap(np.angle(spectrum))
    residual = -float(np.polyfit(2 * np.pi * freqs, phase, 1)[0])
    return (coarse + residual) * 1000


@dataclass
class Result:
    timing: Timing
    quality: Quality
    delay_ms: float

    @property
    def total_ms(self) -> float:
        return self.timing.held_mean_ms + self.delay_ms


def resampler_section(settings: Settings) -> dict[tuple[int, int], dict[str, Result]]:
    results: dict[tuple[int, int], dict[str, Result]] = {}
    columns = (
        f"{'engine':24s}{'µs/frame':>9s}{'p99':>7s}{'max':>7s}{'best':>7s}{'µs/s':>7s}"
        f"{'1k dB':>8s}{'pass±':>7s}{'reject':>8s}  {'(worst tone)':22s}"
        f"{'held ms':>12s}{'empty':>11s}{'delay':>7s}{'total':>7s}"
    )
    for in_rate, out_rate in PAIRS:
        frame_in = in_rate // FRAMES_PER_SECOND
        frame_out = out_rate // FRAMES_PER_SECOND
        kind = "images" if out_rate > in_rate else "aliases"
        print(
            f"Resampling {in_rate // 1000}k → {out_rate // 1000}k "
            f"(20 ms frames: {frame_in} → {frame_out} samples; reject = {kind}, dB)"
        )
        print(columns)
        rows: dict[str, Result] = {}
        for engine in ENGINES:
            result = Result(
                timing=measure_timing(engine, in_rate, out_rate, settings),
                quality=measure_quality(engine, in_rate, out_rate, settings),
                delay_ms=measure_delay_ms(engine, in_rate, out_rate),
            )
            rows[engine.name] = result
            t, q = result.timing, result.quality
            print(
                f"{engine.name:24s}{t.mean_us:9.1f}{t.p99_us:7.1f}{t.max_us:7.0f}{t.best_us:7.1f}"
                f"{t.best_us * FRAMES_PER_SECOND:7.0f}"
                f"{round(q.gain_1k_db, 3) + 0.0:8.3f}"  # + 0.0: no "-0.000"
                f"{q.pass_deviation_db:7.3f}{q.rejection_db:8.1f}"
                f"  {'(' + q.rejection_at + ')':22s}"
                f"{f'{t.held_mean_ms:.1f} / {t.held_max_ms:.1f}':>12s}"
                f"{f'{t.empty_calls}/{t.calls}':>11s}"
                f"{round(result.delay_ms, 2) + 0.0:7.2f}{round(result.total_ms, 1) + 0.0:7.1f}"
            )
        ours = StreamResampler(in_rate, out_rate)
        print(
            f"ours: delay_ms property {ours.delay_ms:.3f} ms, measured {rows[OURS].delay_ms:.3f} ms"
        )
        print()
        results[(in_rate, out_rate)] = rows
    return results


# ----------------------------------------------------------------------------- goals


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def goals_section(
    g711_ratios: list[tuple[str, float]],
    results: dict[tuple[int, int], dict[str, Result]],
) -> None:
    print("Goals")
    if g711_ratios:
        worst_case, worst_ratio = max(g711_ratios, key=lambda item: item[1])
        print(
            f"  G.711 within {GOAL_G711_RATIO:.0f}× of audioop: "
            f"{verdict(worst_ratio <= GOAL_G711_RATIO)} (worst {worst_ratio:.2f}×, {worst_case})"
        )
        for case, ratio in g711_ratios:
            if ratio > GOAL_G711_RATIO:
                print(f"    over: {case} {ratio:.2f}×")
    else:
        print("  G.711 within 3× of audioop: n/a (no audioop)")
    for (in_rate, out_rate), rows in results.items():
        ours, soxr_hq = rows[OURS], rows[SOXR_HQ]
        pair = f"{in_rate // 1000}k→{out_rate // 1000}k"
        cpu = ours.timing.best_us / soxr_hq.timing.best_us
        latency = ours.total_ms / soxr_hq.total_ms
        rejection = ours.quality.rejection_db - soxr_hq.quality.rejection_db
        print(
            f"  {pair:8s} CPU/frame {ours.timing.best_us:.1f} vs {soxr_hq.timing.best_us:.1f} µs "
            f"= {cpu:.1f}× (goal ≤ {GOAL_CPU_RATIO:.0f}×): {verdict(cpu <= GOAL_CPU_RATIO)}"
        )
        print(
            f"  {'':8s} latency {ours.total_ms:.1f} vs {soxr_hq.total_ms:.1f} ms = {latency:.3f} "
            f"(goal ≤ {GOAL_LATENCY_RATIO}): {verdict(latency <= GOAL_LATENCY_RATIO)}"
        )
        print(
            f"  {'':8s} rejection {ours.quality.rejection_db:.1f} vs "
            f"{soxr_hq.quality.rejection_db:.1f} dB = {rejection:+.1f} dB "
            f"(goal ≤ +{GOAL_REJECTION_DB:.0f}): {verdict(rejection <= GOAL_REJECTION_DB)}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="bench/codec.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer frames and tones (< 20 s)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    started = time.perf_counter()
    g711_ratios = g711_section(settings, load_audioop())
    results = resampler_section(settings)
    goals_section(g711_ratios, results)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
