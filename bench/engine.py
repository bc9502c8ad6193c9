"""The offline engine on telephone speech: intents and slots, side effects, latency, CPU, RSS.

Caller lines are spoken by five voices, taken to 8 kHz μ-law, and streamed into real engine
sessions (``LocalConnector``, in-process, as the bridge drives them) as 20 ms appends with
silence between lines; each line's transcript is what the engine's own ears wrote. Voices:

* ``en-gb-x-rp`` and ``en-us+f2`` (espeak): used while choosing the softphone's voice and
  tuning the recogniser's thresholds;
* ``en-us+john`` and ``en-us+f5`` (espeak): never used before this benchmark;
* ``joe+8.8%``: the Piper voice (the agent's own model: the only Piper voice in a registry
  package) slowed by 9 % and played 8.8 % faster, i.e. about 1.5 semitones higher at its
  usual pace: a stand-in for a second neural voice, not a different speaker.

Scoring uses :mod:`bench.policy`'s: a caller line is right when
:func:`hotelvoice.language.intents.understand` gives the transcript the intent and slots the
line is labelled with (``bench/_lines.py``, written before the policy was tuned); a
distractor (chit-chat, out-of-domain questions, half sentences, noise words) is right when its
transcript causes no side effect (lead, hold, text, callback, transfer) in any of the call
states :data:`bench.policy.STATES` sets up, yes included. Noise, silence and a cough-like
burst are streamed too. The held set of the grammar days (``HELD_LINES``, labelled with the
intent their written text reads as) is scored on intent alone.

Also printed: the engine's latency from the caller's last speech frame to the first
``response.output_audio.delta`` (frames are streamed 4x faster than real time with 0.6 s of
silence before each line and 1.4 s after, so this is the end-of-speech wait in stream time
plus decoding and the first piece's synthesis); CPU seconds per
minute of caller audio; RSS per concurrent session. A benchmark, not a test: figures vary
with load.

    .venv/bin/python -m bench.engine [--quick] [--voices rp,f2,...]
"""

from __future__ import annotations

import argparse
import base64
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import mean

import numpy as np
import numpy.typing as npt
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._lines import (
    BENCH_HOTEL,
    CALLER_LINES,
    DISTRACTOR_LINES,
    FRESH_CALLER_LINES,
    FRESH_DISTRACTOR_LINES,
    NOW,
    TODAY,
    CallerLine,
)
from bench.policy import STATES, side_effects
from hotelvoice.codec.g711 import ulaw_encode
from hotelvoice.engine.connector import LocalConnector
from hotelvoice.engine.speech import SpeechKit
from hotelvoice.language.intents import understand
from hotelvoice.properties.book import PropertyBook
from hotelvoice.speech.tts import Speaker, resample
from hotelvoice.speech.voice import NeuralVoice

Int16Array = npt.NDArray[np.int16]

HELD_LINES = (
    "Hello, is this the Sunset Inn?",
    "I'd like to book a room for next weekend.",
    "Do you have any rooms available tomorrow night?",
    "We need a room for two adults and one child.",
    "How much is a king room?",
    "What's the rate for the suite?",
    "What time is check in?",
    "When is check out?",
    "Can I bring my dog?",
    "Do you allow pets?",
    "Where are you located?",
    "Is there free parking?",
    "Do you have a swimming pool?",
    "Is breakfast included?",
    "Can I speak to a person?",
    "Put me through to the front desk please.",
    "I'd like to talk to the manager.",
    "My air conditioning is not working.",
    "Can I get some extra towels?",
    "Can you call me back tomorrow?",
    "Could you text me the address?",
    "Yes please.",
    "No thank you.",
    "That's all, goodbye.",
    "Me and my wife.",
    "Two people.",
    "Next weekend.",
    "From Friday to Sunday.",
    "Tomorrow for two nights.",
    "My name is Mary Jones.",
    "I want to make a reservation.",
    "Do you have wifi?",
)
ESPEAK_VOICES = {
    "rp": ("en-gb-x-rp", 140),
    "f2": ("en-us+f2", 150),
    "john": ("en-us+john", 150),
    "f5": ("en-us+f5", 150),
}
ALL_VOICES = (*ESPEAK_VOICES, "joe+8.8%")
FRAME = 160
RATE = 8000
LEAD_S = 0.6  # silence before each line
TAIL_S = 1.4  # and after it: the answer starts in it
SPEED = 4.0  # how much faster than real time the caller's audio is streamed


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def speaker_for(name: str) -> Callable[[str], Int16Array]:
    """A function speaking text at 8 kHz in the voice ``name``."""
    if name in ESPEAK_VOICES:
        espeak = Speaker(*ESPEAK_VOICES[name])
        return lambda text: espeak.synthesize_at(text, RATE)
    joe = NeuralVoice(length_scale=1.09)

    def shifted(text: str) -> Int16Array:
        # Played as if recorded at 24 kHz rather than 22.05: 8.8 % higher and faster.
        return resample(joe.synthesize(text), 24000, RATE)

    return shifted


def noises() -> list[tuple[str, Int16Array]]:
    """Non-speech the line may carry: hiss, hum, a cough-like burst, silence."""
    rng = np.random.default_rng(20261203)
    second = np.arange(RATE) / RATE
    hiss = rng.normal(0, 600, RATE * 2)
    hum = 2500 * np.sin(2 * np.pi * 60 * np.arange(RATE * 2) / RATE)
    burst = rng.normal(0, 6000, RATE // 4) * np.hanning(RATE // 4)
    cough = np.concatenate([burst, np.zeros(RATE // 10), burst])
    click = np.where(second * 50 % 1 < 0.02, 8000, 0)
    return [
        (name, np.clip(pcm, -32768, 32767).astype(np.int16))
        for name, pcm in (
            ("line hiss", hiss),
            ("mains hum", hum),
            ("cough", cough),
            ("clicks", click),
            ("silence", np.zeros(RATE * 2)),
        )
    ]


async def stream_lines(
    clips: Sequence[Int16Array], connector: LocalConnector, speed: float
) -> tuple[list[tuple[str, float | None]], float, float]:
    """Stream ``clips`` (8 kHz) into one session, ``speed`` times faster than real time, each
    with ``LEAD_S`` of silence before and ``TAIL_S`` after: (heard, latency) each, the
    process's CPU seconds while it ran and the seconds of caller audio streamed.

    A reader collects every event meanwhile. An utterance belongs to the clip its start
    (``audio_start_ms``) falls in; a clip's latency runs from when its last frame was sent to
    the first agent audio after it."""
    lead, tail = np.zeros(round(LEAD_S * RATE), np.int16), np.zeros(round(TAIL_S * RATE), np.int16)
    spans: list[tuple[int, int, float]] = []  # clip start ms, end ms, when its end was sent
    heard: dict[str, tuple[int, str]] = {}  # item id -> (start ms, transcript)
    starts: dict[str, int] = {}
    first_audio: list[float] = []  # perf_counter of each response's first delta
    responses: dict[str, bool] = {}
    cpu_before = cpu_seconds()
    async with connector.connect() as link, trio.open_nursery() as nursery:

        async def read() -> None:
            while True:
                event = json.loads(await link.receive())
                kind = event["type"]
                if kind == "input_audio_buffer.speech_started":
                    starts[event["item_id"]] = int(event["audio_start_ms"])
                elif kind == "conversation.item.input_audio_transcription.completed":
                    start = starts.get(event["item_id"], -1)
                    heard[event["item_id"]] = (start, event["transcript"])
                elif kind == "response.output_audio.delta" and not responses.get(
                    event["response_id"]
                ):
                    responses[event["response_id"]] = True
                    first_audio.append(time.perf_counter())

        nursery.start_soon(read)
        session = {
            "type": "realtime",
            "audio": {
                "input": {"format": {"type": "audio/pcmu"}},
                "output": {"format": {"type": "audio/pcmu"}},
            },
        }
        await link.send(json.dumps({"type": "session.update", "session": session}))
        position = 0  # samples streamed
        began = trio.current_time()
        for pcm in clips:
            audio = ulaw_encode(np.concatenate([lead, pcm, tail]))
            clip_start = position + len(lead)
            speech_end = clip_start + len(pcm)
            sent_end = 0.0
            for start in range(0, len(audio), FRAME):
                await trio.sleep_until(began + (position + FRAME) / RATE / speed)
                chunk = base64.b64encode(audio[start : start + FRAME]).decode()
                await link.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
                position += FRAME
                if position >= speech_end and not sent_end:
                    sent_end = time.perf_counter()
            spans.append((clip_start * 1000 // RATE, speech_end * 1000 // RATE, sent_end))
        await trio.sleep(3)  # the last answers
        nursery.cancel_scope.cancel()
    results: list[tuple[str, float | None]] = []
    for i, (clip_start, clip_end, sent_end) in enumerate(spans):
        # An utterance belongs to the clip whose stretch of the stream its start falls in,
        # the silences between clips split down the middle (a start is a frame early at
        # times, so the clip's own start is not a boundary).
        low = (spans[i - 1][1] + clip_start) // 2 if i else -1
        high = (clip_end + spans[i + 1][0]) // 2 if i + 1 < len(spans) else 1 << 60
        words = [
            text for start, text in sorted(heard.values()) if low <= start < high and text.strip()
        ]
        after = [t - sent_end for t in first_audio if t > sent_end]
        latency = after[0] if after and after[0] < 5 else None
        results.append((" ".join(words).strip(), latency))
    return results, cpu_seconds() - cpu_before, position / RATE


def caller_line_right(line: CallerLine, heard: str) -> bool:
    reading = understand(heard, today=TODAY, prop=BENCH_HOTEL)
    return reading.intent.value == line.intent and reading.slots(NOW) == dict(line.slots)


def held_line_right(line: str, heard: str) -> bool:
    want = understand(line, today=TODAY, prop=BENCH_HOTEL).intent
    return understand(heard, today=TODAY, prop=BENCH_HOTEL).intent is want


def distractor_effects(heard: str) -> list[str]:
    """Side effects ``heard`` causes in any call state."""
    found: list[str] = []
    for before in STATES.values():
        found += side_effects(before, [heard])
    return found


def percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "0/0"


async def measure_rss_per_session(connector: LocalConnector, sessions: int) -> float:
    """RSS added per open session, ``sessions`` open at once, each having heard a line."""
    before = rss_mib()
    async with trio.open_nursery() as nursery:
        opened = trio.Semaphore(0)
        done = trio.Event()

        async def hold_one() -> None:
            async with connector.connect() as link:
                update = {
                    "type": "realtime",
                    "audio": {"input": {"format": {"type": "audio/pcmu"}}},
                }
                await link.send(json.dumps({"type": "session.update", "session": update}))
                chunk = base64.b64encode(b"\xff" * FRAME).decode()
                for _ in range(100):
                    await link.send(
                        json.dumps({"type": "input_audio_buffer.append", "audio": chunk})
                    )
                opened.release()
                await done.wait()

        for _ in range(sessions):
            nursery.start_soon(hold_one)
        for _ in range(sessions):
            await opened.acquire()
        await trio.sleep(1)
        during = rss_mib()
        done.set()
    return (during - before) / sessions


async def main_async(quick: bool, voices: Sequence[str]) -> None:
    started = time.perf_counter()
    rss_start = rss_mib()
    kit = SpeechKit.shared()
    await trio.to_thread.run_sync(kit.warm_up)
    print(
        f"warm-up (recogniser, voice, detector): {time.perf_counter() - started:.2f} s, "
        f"RSS {rss_start:.0f} -> {rss_mib():.0f} MiB"
    )
    connector = LocalConnector(PropertyBook((BENCH_HOTEL,)), kit)
    caller = list(CALLER_LINES[:15] if quick else CALLER_LINES + FRESH_CALLER_LINES)
    distractors = list(
        DISTRACTOR_LINES[:10] if quick else DISTRACTOR_LINES + FRESH_DISTRACTOR_LINES
    )
    held = list(HELD_LINES[:8] if quick else HELD_LINES)
    tally: Counter[str] = Counter()
    latencies: list[float] = []
    audio_s = cpu = 0.0
    for name in voices:
        speak = speaker_for(name)
        texts = [line.text for line in caller] + distractors + held
        clips = [await trio.to_thread.run_sync(speak, text) for text in texts]
        clips += [pcm for _, pcm in noises()]
        results, voice_cpu, voice_audio = await stream_lines(clips, connector, SPEED)
        cpu += voice_cpu
        audio_s += voice_audio
        latencies += [latency for _, latency in results if latency is not None]
        heard = [text for text, _ in results]
        at = 0
        right = sum(
            caller_line_right(line, text)
            for line, text in zip(caller, heard[at : at + len(caller)], strict=True)
        )
        for line, text in zip(caller, heard[at : at + len(caller)], strict=True):
            if not caller_line_right(line, text):
                print(f"  {name:9} miss  {line.text!r} -> {text!r}")
        at += len(caller)
        effects: list[str] = []
        for text, said in zip(distractors, heard[at : at + len(distractors)], strict=True):
            found = distractor_effects(said)
            if found:
                print(f"  {name:9} EFFECT {found} {text!r} -> {said!r}")
            effects += found
        at += len(distractors)
        held_right = sum(
            held_line_right(line, text)
            for line, text in zip(held, heard[at : at + len(held)], strict=True)
        )
        at += len(held)
        noise_effects = sum(len(distractor_effects(text)) for text in heard[at:])
        noise_words = [text for text in heard[at:] if text]
        tally["caller"] += right
        tally["held"] += held_right
        tally["effects"] += len(effects) + noise_effects
        print(
            f"{name:9} reworded intent+slots {percent(right, len(caller))}; held intent "
            f"{percent(held_right, len(held))}; side effects from {len(distractors)} distractors "
            f"and {len(noises())} noises: {len(effects) + noise_effects}"
            + (f" (noise heard as {noise_words})" if noise_words else "")
        )
    n = len(voices)
    print(f"overall reworded intent+slots: {percent(tally['caller'], n * len(caller))}")
    print(f"overall held intent: {percent(tally['held'], n * len(held))}")
    print(
        f"overall side effects from distractors and noise: {tally['effects']} "
        f"(each transcript tried in {len(STATES)} call states)"
    )
    if latencies:
        ordered = sorted(latencies)
        print(
            f"engine latency, last caller frame -> first agent audio: mean {mean(ordered):.2f} s,"
            f" p50 {ordered[len(ordered) // 2]:.2f} s, p90 {ordered[len(ordered) * 9 // 10]:.2f} s,"
            f" max {ordered[-1]:.2f} s ({len(ordered)} answers)"
        )
    # The caller's audio stands for call time (each line with 1 s of silence before and 2 s
    # after); the CPU is the whole process's while sessions ran: the engine (listening,
    # deciding, speaking its answers) plus this client's framing, not the caller's synthesis.
    print(
        f"CPU: {cpu:.1f} s for {audio_s / 60:.1f} min of caller audio "
        f"= {cpu / (audio_s / 60):.1f} CPU s per call minute"
    )
    per_session = await measure_rss_per_session(connector, 20)
    print(
        f"RSS per concurrent session (20 open at once): {per_session:.1f} MiB; "
        f"now {rss_mib():.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer lines")
    parser.add_argument(
        "--voices", default=",".join(ALL_VOICES), help=f"comma-separated, of {ALL_VOICES}"
    )
    args = parser.parse_args()
    voices = [name for name in args.voices.split(",") if name]
    unknown = set(voices) - set(ALL_VOICES)
    if unknown:
        parser.error(f"unknown voices {sorted(unknown)}")
    trio.run(main_async, args.quick, voices)


if __name__ == "__main__":
    main()
