"""Offline speech benchmark: how well the espeak → phone line → pocketsphinx loop understands
hotel callers, and what each stage costs.

Run from the repository root (it prints figures; it is not a test and asserts nothing):

    .venv/bin/python -m bench.speech            # about two minutes on 2 cores
    .venv/bin/python -m bench.speech --quick    # 10 lines, 2 voices, under 30 s

**Accuracy.** A held set of caller lines (written for this benchmark, not used to tune the
grammar or the recogniser), each labelled with its intent and, where it states them, the stay
dates and the party, is spoken by several espeak voices and sent through a simulated call:
``Speaker.synthesize`` (22050 Hz) → ``resample`` to 8 kHz → G.711 μ-law encode and decode →
``StreamResampler`` to 16 kHz in 20 ms frames → ``SpeechDetector`` (defaults) → a
``Recognizer`` with the Sunset Inn grammar, started on ``SpeechStarted``, fed every
``SpeechAudio``, finished on ``SpeechEnded`` (the texts of several segments are joined).
Each line gets 0.6 s of silence before and 1 s after. Columns per voice:

* ``e2e intent``: ``classify_intent`` of the recognised text equals the label;
* ``e2e exact``: the recognised text is the line, word for word;
* ``no-roll intent``: as ``e2e intent`` but with the detector's pre-roll off
  (``pre_roll_ms=0``): the recogniser hears only the endpointer's own speech frames;
* ``direct intent``: the same telephone-band audio recognised whole (no detector), which
  separates the detector's losses from the recogniser's;
* ``dates`` / ``guests``: ``extract_date_range`` / ``extract_guests`` of the recognised text
  (today = Tuesday 2026-11-24) equal the label, over the lines that state them;
* ``segs``: speech segments the detector found (one per line is right).

Each voice is one "call": each way of listening keeps one recogniser for all its lines, as an
engine keeps one per call (its normalisation adapts from line to line).

The detector's timing is also scored against the truth of each line (the first and last
sample above 2 % of the line's peak): errors of ``SpeechStarted.at_ms`` and
``SpeechEnded.at_ms``.

**Cost.** CPU time (``time.thread_time``, one thread) per second of audio for each stage:
TTS, resampling down (22.05 → 8 kHz) and up (8 → 16 kHz), the μ-law round trip, the
detector, and the recogniser (per second of audio it was fed, its padding excluded); and the
recogniser's work left after ``SpeechEnded`` (``finish``), which the caller waits for.
Then the recogniser's creation time and memory, and the installed size of the two packages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from typing import TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.codec.resample import StreamResampler
from hotelvoice.engine.grammar import hotel_grammar
from hotelvoice.language.dates import DateRange, extract_date_range
from hotelvoice.language.intents import Intent, classify_intent
from hotelvoice.language.party import GuestCount, extract_guests
from hotelvoice.properties.book import load_properties
from hotelvoice.speech.grammar import words_of
from hotelvoice.speech.stt import Recognizer
from hotelvoice.speech.tts import VOICES, Speaker, resample, voices
from hotelvoice.speech.vad import (
    SpeechAudio,
    SpeechDetector,
    SpeechEvent,
    SpeechStarted,
)

T = TypeVar("T")
Int16Array = npt.NDArray[np.int16]

TODAY = date(2026, 11, 24)  # a Tuesday
PHONE_RATE = 8000
ASR_RATE = 16000
FRAME_MS = 20
LEAD_S = 0.6
TAIL_S = 1.0
PROPERTIES = Path(__file__).parents[1] / "docs" / "properties.example.toml"


@attrs.frozen
class Line:
    """A caller line and what it means (dates and guests only where it states them)."""

    text: str
    intent: Intent
    dates: DateRange | None = None
    guests: GuestCount | None = None


def _stay(check_in: tuple[int, int, int], check_out: tuple[int, int, int]) -> DateRange:
    return DateRange(date(*check_in), date(*check_out))


AV = Intent.BOOK
LINES = (
    Line("Hi, I'd like to book a room for two nights.", AV),
    Line("Do you have any rooms this weekend?", AV, _stay((2026, 11, 27), (2026, 11, 29))),
    Line(
        "I need a room from Friday to Sunday for two adults.",
        AV,
        _stay((2026, 11, 27), (2026, 11, 29)),
        GuestCount(2),
    ),
    Line(
        "Can I book a king room for the twenty fourth of December?",
        AV,
        _stay((2026, 12, 24), (2026, 12, 25)),
    ),
    Line(
        "We're looking for a room next weekend for a family of four.",
        AV,
        _stay((2026, 12, 4), (2026, 12, 6)),
        GuestCount(2, 2),
    ),
    Line("Is there a room available tonight?", AV, _stay((2026, 11, 24), (2026, 11, 25))),
    Line("Two adults and one child.", AV, guests=GuestCount(2, 1)),
    Line("From March the third to the sixth.", AV, _stay((2027, 3, 3), (2027, 3, 6))),
    Line("For three nights starting next Monday.", AV, _stay((2026, 11, 30), (2026, 12, 3))),
    Line("Just me.", AV, guests=GuestCount(1)),
    Line(
        "Could we reserve a double queen for tomorrow night for four people?",
        AV,
        _stay((2026, 11, 25), (2026, 11, 26)),
        GuestCount(4),
    ),
    Line(
        "Do you have anything available from the first to the fourth of January for two adults?",
        AV,
        _stay((2027, 1, 1), (2027, 1, 4)),
        GuestCount(2),
    ),
    Line(
        "I want to book a room for the fifteenth of July for one night.",
        AV,
        _stay((2027, 7, 15), (2027, 7, 16)),
    ),
    Line("How much is a king room per night?", Intent.PRICE),
    Line(
        "What's the rate for an ocean suite this weekend?",
        AV,
        _stay((2026, 11, 27), (2026, 11, 29)),
    ),
    Line("What are your rates?", Intent.PRICE),
    Line("How much does it cost for two nights?", Intent.PRICE),
    Line("Do you have free parking?", Intent.INFO),
    Line("Is there a swimming pool?", Intent.INFO),
    Line("Do you have wifi?", Intent.INFO),
    Line("Are dogs allowed?", Intent.INFO),
    Line("Can we bring our cat?", Intent.INFO),
    Line("What time is check in?", Intent.INFO),
    Line("What time do we have to check out?", Intent.INFO),
    Line("What's your address?", Intent.INFO),
    Line("Are you near the beach?", Intent.INFO),
    Line("Could I talk to a real person?", Intent.TRANSFER),
    Line("I'd like to speak with the manager.", Intent.TRANSFER),
    Line("Please transfer me to housekeeping.", Intent.TRANSFER),
    Line("The front desk, please.", Intent.TRANSFER),
    Line("Could you call me back this evening?", Intent.CALLBACK),
    Line("Could you text me the address?", Intent.SMS),
    Line("Can I pay with cash?", Intent.PAYMENT),
    Line("Yes, that's right.", Intent.YES),
    Line("Sounds good.", Intent.YES),
    Line("No thank you.", Intent.NO),
    Line("Not really.", Intent.NO),
    Line("That's all, thanks.", Intent.GOODBYE),
    Line("Goodbye.", Intent.GOODBYE),
    Line("Good afternoon.", Intent.GREETING),
)


class Clock:
    """CPU seconds per stage, and the seconds of audio each stage handled."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.audio: dict[str, float] = defaultdict(float)
        self.finish_ms: list[float] = []

    def run(self, stage: str, seconds_of_audio: float, work: Callable[[], T]) -> T:
        started = time.thread_time()
        result = work()
        self.cpu[stage] += time.thread_time() - started
        self.audio[stage] += seconds_of_audio
        return result


@attrs.frozen
class Heard:
    """What one listener made of a line: the joined text and the detector's segments."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


@attrs.frozen
class Outcome:
    plain: Heard  # detector with its defaults (a 300 ms pre-roll)
    bare: Heard  # detector with pre_roll_ms=0: only the endpointer's own frames
    direct: str  # the whole stream recognised at once, no detector
    true_start_ms: float
    true_end_ms: float


def channel(line: Line, speaker: Speaker, clock: Clock) -> tuple[list[Int16Array], Int16Array]:
    """The line as the far end of a call hears it: 20 ms frames at 16 kHz, and the TTS."""
    spoken = clock.run("tts", 0.0, lambda: speaker.synthesize(line.text))
    clock.audio["tts"] += len(spoken) / Speaker.rate
    narrow = clock.run(
        "resample 22.05k→8k",
        len(spoken) / Speaker.rate,
        lambda: resample(spoken, Speaker.rate, PHONE_RATE),
    )
    lead = np.zeros(round(LEAD_S * PHONE_RATE), np.int16)
    tail = np.zeros(round(TAIL_S * PHONE_RATE), np.int16)
    stream = np.concatenate([lead, narrow, tail])
    seconds = len(stream) / PHONE_RATE
    line_audio = clock.run("μ-law encode+decode", seconds, lambda: ulaw_decode(ulaw_encode(stream)))
    upsampler = StreamResampler(PHONE_RATE, ASR_RATE)
    step = PHONE_RATE * FRAME_MS // 1000
    frames = []
    for offset in range(0, len(line_audio), step):
        frame = line_audio[offset : offset + step]
        frames.append(
            clock.run(
                "resample 8k→16k (20 ms)",
                len(frame) / PHONE_RATE,
                partial(upsampler.process, frame),
            )
        )
    return frames, spoken


def listen(
    frames: list[Int16Array], detector: SpeechDetector, recognizer: Recognizer, clock: Clock | None
) -> Heard:
    """The frames through the detector, each segment through the recogniser (timed when a
    clock is given), as an engine would run them."""
    stopwatch = clock or Clock()
    texts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def handle(events: list[SpeechEvent]) -> None:
        for event in events:
            if isinstance(event, SpeechStarted):
                starts.append(event.at_ms)
                stopwatch.run("recogniser", 0.0, recognizer.start)
            elif isinstance(event, SpeechAudio):
                pcm = event.pcm
                seconds = len(pcm) / ASR_RATE
                stopwatch.run("recogniser", seconds, partial(recognizer.feed, pcm))
            else:
                ends.append(event.at_ms)
                before = stopwatch.cpu["recogniser"]
                heard = stopwatch.run("recogniser", 0.0, recognizer.finish)
                stopwatch.finish_ms.append((stopwatch.cpu["recogniser"] - before) * 1000)
                texts.append(heard.text)

    for frame in frames:
        handle(stopwatch.run("detector", len(frame) / ASR_RATE, partial(detector.feed, frame)))
    handle(detector.finish())
    return Heard(" ".join(t for t in texts if t), tuple(starts), tuple(ends))


@attrs.frozen
class Listeners:
    """One recogniser per way of listening: a call's worth of state each."""

    plain: Recognizer
    bare: Recognizer
    direct: Recognizer

    @classmethod
    def new(cls, grammar: str) -> Listeners:
        return cls(Recognizer(grammar), Recognizer(grammar), Recognizer(grammar))


def call(line: Line, speaker: Speaker, listeners: Listeners, clock: Clock) -> Outcome:
    """One line through the simulated call, then heard three ways."""
    frames, spoken = channel(line, speaker, clock)
    plain = listen(frames, SpeechDetector(ASR_RATE), listeners.plain, clock)
    bare = listen(frames, SpeechDetector(ASR_RATE, pre_roll_ms=0), listeners.bare, None)
    direct = listeners.direct.recognize(np.concatenate(frames)).text
    # Where the speech really is in the stream.
    loud = np.nonzero(np.abs(spoken.astype(np.int32)) > 0.02 * np.abs(spoken).max())[0]
    return Outcome(
        plain,
        bare,
        direct,
        LEAD_S * 1000 + loud[0] * 1000 / Speaker.rate,
        LEAD_S * 1000 + (loud[-1] + 1) * 1000 / Speaker.rate,
    )


def percent(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.0f}%)" if total else "n/a"


COLUMNS = ("e2e intent", "e2e exact", "no-roll intent", "direct intent", "dates", "guests")


def accuracy_section(
    lines: tuple[Line, ...], voice_names: Sequence[str], grammar: str, clock: Clock
) -> None:
    print(f"Accuracy: {len(lines)} caller lines × {len(voice_names)} voices, telephone band")
    print(f"{'voice':14}" + "".join(f"{c:>15}" for c in COLUMNS) + f"{'segs':>6}")
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    start_errors: list[float] = []
    end_errors: list[float] = []
    misses: list[str] = []
    for voice in voice_names:
        speaker = Speaker(voice)
        listeners = Listeners.new(grammar)  # each voice is a new call
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        segments = 0
        for line in lines:
            outcome = call(line, speaker, listeners, clock)
            heard = outcome.plain
            segments += len(heard.starts)
            if heard.starts and heard.ends:
                start_errors.append(heard.starts[0] - outcome.true_start_ms)
                end_errors.append(heard.ends[-1] - outcome.true_end_ms)
            right = classify_intent(heard.text) is line.intent
            checks = {
                "e2e intent": right,
                "e2e exact": heard.text == " ".join(words_of(line.text)),
                "no-roll intent": classify_intent(outcome.bare.text) is line.intent,
                "direct intent": classify_intent(outcome.direct) is line.intent,
            }
            if line.dates is not None:
                checks["dates"] = extract_date_range(heard.text, TODAY) == line.dates
            if line.guests is not None:
                checks["guests"] = extract_guests(heard.text) == line.guests
            for name, ok in checks.items():
                for tally in (counts[name], totals[name]):
                    tally[0] += ok
                    tally[1] += 1
            if not right:
                misses.append(f"  {voice:14} {line.text!r} -> {heard.text!r}")
        print(
            f"{voice:14}"
            + "".join(f"{percent(*counts[c]):>15}" for c in COLUMNS)
            + f"{segments:>6}"
        )
    print(f"{'all':14}" + "".join(f"{percent(*totals[c]):>15}" for c in COLUMNS))
    print(
        "(dates, guests: of the lines that state them, from the e2e text; no-roll: the "
        "detector with pre_roll_ms=0)"
    )
    print("Wrong intents (e2e):")
    print("\n".join(misses) if misses else "  none")
    if start_errors:
        print(f"Detector timing against the envelope, ms ({len(start_errors)} lines):")
        for name, errors in (("SpeechStarted", start_errors), ("SpeechEnded", end_errors)):
            magnitudes = sorted(abs(e) for e in errors)
            within = sum(m <= 100 for m in magnitudes)
            print(
                f"  {name:13} mean {statistics.mean(errors):+.0f}, median "
                f"{statistics.median(errors):+.0f}, p90 |err| "
                f"{magnitudes[int(0.9 * (len(magnitudes) - 1))]:.0f}, max |err| "
                f"{magnitudes[-1]:.0f}, within 100 ms {percent(within, len(magnitudes))}"
            )
    print()


def cost_section(clock: Clock) -> None:
    print("CPU per second of audio (one thread)")
    for stage in (
        "tts",
        "resample 22.05k→8k",
        "μ-law encode+decode",
        "resample 8k→16k (20 ms)",
        "detector",
        "recogniser",
    ):
        seconds = clock.audio[stage]
        cpu = clock.cpu[stage]
        rate = cpu / seconds if seconds else float("nan")
        print(f"  {stage:26} {rate * 1000:8.2f} ms/s   ({cpu:6.2f} s CPU over {seconds:6.0f} s)")
    finish = sorted(clock.finish_ms)
    if finish:
        print(
            f"  recogniser after SpeechEnded (finish): median {statistics.median(finish):.0f} ms, "
            f"p90 {finish[int(0.9 * (len(finish) - 1))]:.0f} ms, max {finish[-1]:.0f} ms"
        )
    print()


_PROBE = """
import json, statistics, sys, time
def rss():
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(r.split()[1]) for r in status if r.startswith("VmRSS:")) / 1024
out = {"python": rss()}
import numpy
out["numpy"] = rss()
from hotelvoice.speech.tts import Speaker
started = time.perf_counter()
Speaker("en-us+f2").synthesize("hello")
out["espeak_s"] = time.perf_counter() - started
out["espeak"] = rss()
from hotelvoice.properties.book import load_properties
from hotelvoice.engine.grammar import hotel_grammar
from hotelvoice.speech.stt import Recognizer
started = time.perf_counter()
grammar = hotel_grammar(load_properties(sys.argv[1]).properties[0])
out["grammar_s"] = time.perf_counter() - started
out["before"] = rss()
times, keep = [], []
for _ in range(5):
    started = time.perf_counter()
    keep.append(Recognizer(grammar))
    times.append(time.perf_counter() - started)
    if len(keep) == 1:
        out["one"] = rss()
out["five"] = rss()
out["times"] = times
print(json.dumps(out))
"""


def resources_section() -> None:
    """Creation time and memory, in a fresh interpreter (this one has freed decoders to reuse)."""
    import json
    import subprocess
    import sys

    print("Creation time and memory (fresh interpreter)")
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(PROPERTIES)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[1],
    )
    if result.returncode != 0:
        print(f"  probe failed: {result.stderr.strip()[-300:]}")
        print()
        return
    m = json.loads(result.stdout)
    times = m["times"]
    print(
        f"  espeak-ng load + first utterance: {m['espeak_s'] * 1000:.0f} ms, "
        f"+{m['espeak'] - m['numpy']:.0f} MiB RSS"
    )
    print(
        f"  hotel_grammar(prop) (first call, reads the dictionary): {m['grammar_s'] * 1000:.0f} ms"
    )
    print(
        f"  Recognizer(hotel grammar): first {times[0] * 1000:.0f} ms, then mean "
        f"{statistics.mean(times[1:]) * 1000:.0f} ms (best {min(times[1:]) * 1000:.0f} ms)"
    )
    print(
        f"  RSS: Python {m['python']:.0f} MiB, + numpy {m['numpy'] - m['python']:.0f}, "
        f"+ first recogniser {m['one'] - m['before']:.0f}, + each further "
        f"{(m['five'] - m['one']) / 4:.0f} MiB (5 recognisers: {m['five']:.0f} MiB)"
    )
    print()


def installed_size_section() -> None:
    print("Installed size (files under the package directory)")
    total = 0
    for package in ("pocketsphinx", "espeakng_loader"):
        spec = find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            print(f"  {package}: not installed")
            continue
        root = spec.submodule_search_locations[0]
        size = 0
        for folder, _, files in os.walk(root):
            for name in files:
                size += os.stat(os.path.join(folder, name)).st_blocks * 512
        total += size
        print(f"  {package:16} {size / 2**20:6.1f} MiB  ({root})")
    print(f"  {'together':16} {total / 2**20:6.1f} MiB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="bench/speech.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="10 lines, 2 voices")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    prop = load_properties(PROPERTIES).properties[0]
    grammar = hotel_grammar(prop)
    recognizer = Recognizer(grammar)  # to check the lines are in the grammar
    lines = LINES[::4] if args.quick else LINES
    usable = voices()
    print(f"Voices: {', '.join(usable)} (of {', '.join(VOICES)})")
    voice_names = [v for v in ("en-us+f2", "en-us+m3", "en-us+klatt4", "en-gb-x-rp") if v in usable]
    if args.quick:
        voice_names = voice_names[:2]
    outside = [
        line.text for line in lines if not recognizer.in_grammar(" ".join(words_of(line.text)))
    ]
    for text in outside:
        print(f"warning: not a sentence of the grammar: {text!r}")
    mislabelled = [
        line.text
        for line in lines
        if classify_intent(line.text) is not line.intent
        or (line.dates is not None and extract_date_range(line.text, TODAY) != line.dates)
        or (line.guests is not None and extract_guests(line.text) != line.guests)
    ]
    for text in mislabelled:
        print(f"warning: extraction disagrees with the label of {text!r}")
    print()
    clock = Clock()
    accuracy_section(lines, voice_names, grammar, clock)
    cost_section(clock)
    resources_section()
    installed_size_section()
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
