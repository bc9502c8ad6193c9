"""The offline engine on telephone speech: intent accuracy, response latency, CPU per call minute.

A held set of caller lines (not the grammar's own example sentences), each labelled with the
intent :func:`hotelvoice.language.intents.classify_intent` gives the written line, is spoken by
several espeak voices at 8 kHz, μ-law encoded, and streamed into a real engine session
(``LocalConnector``, in-process, as the bridge drives it) as 20 ms appends with silence between
lines. For every line the engine's transcript is classified and compared with the label.

Printed per voice and overall: intent accuracy; the engine's response latency from the last
frame of a line to the first ``response.output_audio.delta`` (frames are sent as fast as the
engine takes them, so this is the endpointer's end-of-speech window plus decoding and
synthesis: what a caller waits beyond their own pause); CPU seconds per minute of caller audio;
and the installed size of the speech packages. A benchmark, not a test: figures vary with load.

    .venv/bin/python -m bench.engine [--quick] [--fresh]

``--fresh`` speaks a second held set instead (``bench/held_lines.py``, written after the
grammar last grew and not used to tune it); ``HELD_LINES`` stays as it is so that figures
before and after a change compare.
"""

from __future__ import annotations

import argparse
import base64
import json
import resource
import sys
import time
from pathlib import Path
from statistics import mean

import numpy as np
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.held_lines import FRESH_LINES
from hotelvoice.codec.g711 import ulaw_encode
from hotelvoice.config import Settings
from hotelvoice.engine.connector import LocalConnector
from hotelvoice.engine.speech import SpeechKit
from hotelvoice.language.intents import classify_intent
from hotelvoice.properties.book import PropertyBook, property_from_settings
from hotelvoice.speech.tts import Speaker

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
VOICES = ("en-us+klatt4", "en-us+m3", "en-us+f2", "en-us")
FRAME = 160


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_voice(
    voice: str, lines: tuple[str, ...], connector: LocalConnector
) -> tuple[list[tuple[str, str, float | None]], float, float]:
    """Stream ``lines`` spoken by ``voice`` into one session: (line, heard, latency) each, the
    process's CPU seconds while the session ran (the caller's speech is synthesised before)
    and the seconds of caller audio streamed."""
    speaker = Speaker(voice, 160)
    silence = np.zeros(8000, np.int16)
    spoken = [await trio.to_thread.run_sync(speaker.synthesize_at, line, 8000) for line in lines]
    results: list[tuple[str, str, float | None]] = []
    streamed = 0
    cpu_before = cpu_seconds()
    async with connector.connect() as link:
        await link.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {
                        "type": "realtime",
                        "audio": {
                            "input": {"format": {"type": "audio/pcmu"}},
                            "output": {"format": {"type": "audio/pcmu"}},
                        },
                    },
                }
            )
        )
        for line, pcm in zip(lines, spoken, strict=True):
            audio = ulaw_encode(np.concatenate([silence, pcm, silence, silence]))
            streamed += len(audio)
            speech_end = len(ulaw_encode(np.concatenate([silence, pcm])))
            sent_end: float | None = None
            for start in range(0, len(audio), FRAME):
                chunk = base64.b64encode(audio[start : start + FRAME]).decode()
                await link.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
                if start + FRAME >= speech_end and sent_end is None:
                    sent_end = time.perf_counter()
            heard, latency = "", None
            with trio.move_on_after(20):
                while True:
                    event = json.loads(await link.receive())
                    kind = event["type"]
                    if kind == "conversation.item.input_audio_transcription.completed":
                        heard = event["transcript"]
                    elif kind == "response.output_audio.delta" and latency is None and sent_end:
                        latency = time.perf_counter() - sent_end
                    elif kind == "response.done":
                        break
            results.append((line, heard, latency))
    return results, cpu_seconds() - cpu_before, streamed / 8000


def installed_mb(package: str) -> float:
    module = __import__(package)
    root = Path(module.__file__ or "").parent
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 1e6


async def main_async(quick: bool, fresh: bool) -> None:
    prop = property_from_settings(Settings(hotel_name="Sunset Inn"))
    kit = SpeechKit.shared()
    started = time.perf_counter()
    await trio.to_thread.run_sync(kit.warm_up, prop)
    print(f"warm-up (espeak, grammar, a first recogniser): {time.perf_counter() - started:.2f} s")
    connector = LocalConnector(PropertyBook((prop,)), kit)
    held = FRESH_LINES if fresh else HELD_LINES
    lines = held[:10] if quick else held
    voices = VOICES[:2] if quick else VOICES
    total_right = total = 0
    latencies: list[float] = []
    audio_s = cpu = 0.0
    for voice in voices:
        results, voice_cpu, voice_audio_s = await run_voice(voice, lines, connector)
        cpu += voice_cpu
        audio_s += voice_audio_s
        right = 0
        for line, heard, latency in results:
            ok = classify_intent(heard) == classify_intent(line)
            right += ok
            if latency is not None:
                latencies.append(latency)
            if not ok:
                print(f"  {voice:13} {classify_intent(line).value:13} {line!r} -> {heard!r}")
        total_right += right
        total += len(results)
        print(f"{voice:13} intent {right}/{len(results)} ({100 * right / len(results):.0f} %)")
    print(f"overall intent accuracy: {total_right}/{total} ({100 * total_right / total:.0f} %)")
    if latencies:
        ordered = sorted(latencies)
        print(
            f"engine latency, last caller frame -> first agent audio: mean {mean(ordered):.2f} s,"
            f" p50 {ordered[len(ordered) // 2]:.2f} s, max {ordered[-1]:.2f} s ({len(ordered)})"
        )
    # The caller's audio stands for call time (each line with 1 s of silence before and 2 s
    # after); the CPU is the whole process's while sessions ran: the engine (listening,
    # deciding, speaking its answers) plus this client's framing, not the caller's synthesis.
    print(
        f"CPU: {cpu:.1f} s for {audio_s / 60:.1f} min of caller audio "
        f"= {cpu / (audio_s / 60):.1f} CPU s per call minute"
    )
    for package in ("pocketsphinx", "espeakng_loader", "numpy"):
        print(f"installed {package}: {installed_mb(package):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 lines, 2 voices")
    parser.add_argument(
        "--fresh", action="store_true", help="the second held set (bench/held_lines.py)"
    )
    args = parser.parse_args()
    trio.run(main_async, args.quick, args.fresh)


if __name__ == "__main__":
    main()
