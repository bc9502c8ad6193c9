"""The recording, the agent's segments, the latency report: pure computation on a record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.codec.wav import read_wav
from hotelvoice.softphone.client import CallRecord
from hotelvoice.softphone.playout import Playout
from hotelvoice.softphone.protocol import StreamTwiml
from hotelvoice.softphone.recording import (
    agent_track,
    build_report,
    energy_segments,
    format_report,
    latencies,
    stereo,
    write_recording,
)
from hotelvoice.softphone.script import LineTiming

RATE = 8000


def tone(seconds: float, hz: float = 500) -> npt.NDArray[np.int16]:
    n = round(seconds * RATE)
    return np.round(6000 * np.sin(2 * np.pi * hz * np.arange(n) / RATE)).astype(np.int16)


def make_record() -> CallRecord:
    """A 3 s call: greeting 0.2-0.7 s; the caller's line 1.4-1.8 s; answer 2.3-2.6 s."""
    record = CallRecord("CA1", "AC1", "MZ1", StreamTwiml("wss://h/twilio/media", {}))
    playout = Playout()
    playout.push_audio(ulaw_encode(tone(0.5)), 0.2)
    playout.push_audio(ulaw_encode(tone(0.3, 700)), 2.3)
    playout.finish(3.0)
    record.playout = playout
    caller = np.zeros(3 * RATE, np.int16)
    caller[round(1.4 * RATE) : round(1.8 * RATE)] = tone(0.4, 300)
    record.caller_audio = bytearray(ulaw_encode(caller))
    record.timings = [LineTiming(0, "Hello there", 1.4, 1.8)]
    record.duration = 3.0
    return record


def test_the_recording_has_both_sides_on_one_timeline(tmp_path: Path) -> None:
    record = make_record()
    write_recording(tmp_path / "call.wav", record)
    pcm, rate = read_wav(tmp_path / "call.wav")
    assert rate == RATE and pcm.shape == (3 * RATE, 2)
    assert np.array_equal(pcm, stereo(record))
    caller, agent = pcm[:, 0], pcm[:, 1]
    assert np.array_equal(caller[11200:14400], ulaw_decode(ulaw_encode(tone(0.4, 300))))
    assert np.array_equal(agent[1600:5600], ulaw_decode(ulaw_encode(tone(0.5))))
    assert np.array_equal(agent[18400:20800], ulaw_decode(ulaw_encode(tone(0.3, 700))))
    assert not agent[5600:18400].any() and not caller[:11200].any()


def test_energy_segments_find_the_agents_speech() -> None:
    record = make_record()
    segments = energy_segments(agent_track(record.playout.played))
    assert [(s.start, s.end) for s in segments] == [
        pytest.approx((0.2, 0.7)),
        pytest.approx((2.3, 2.6)),
    ]
    # Gaps up to the hangover are bridged; clicks are dropped.
    pcm = np.concatenate([tone(0.2), np.zeros(1600, np.int16), tone(0.2)])
    pcm = np.concatenate([pcm, np.zeros(8000, np.int16), tone(0.04)])
    assert [(s.start, s.end) for s in energy_segments(pcm)] == [pytest.approx((0.0, 0.6))]


def test_latency_from_each_lines_end_to_the_agents_next_audio() -> None:
    agent = np.zeros(5 * RATE, np.int16)
    agent[round(1.3 * RATE) : round(1.5 * RATE)] = 1000  # answer to line 0
    agent[round(2.0 * RATE) : round(2.6 * RATE)] = 1000  # talks over line 1's end
    timings = [
        LineTiming(0, "a", 0.5, 1.0),
        LineTiming(1, "b", 1.9, 2.5),
        LineTiming(2, "c", 3.0, 3.5),  # never answered
    ]
    a, b, c = latencies(timings, agent, call_end=5.0)
    assert a.answer_at == pytest.approx(1.3) and a.latency == pytest.approx(0.3)
    assert b.overlapped and b.latency is None
    assert c.answer_at is None and c.latency is None and not c.overlapped


def test_the_report_without_speech_recognition() -> None:
    report = build_report(make_record(), speech=False)
    assert [(e.speaker, e.text) for e in report.transcript] == [
        ("agent", "[agent audio 0.5 s]"),
        ("caller", "Hello there"),
        ("agent", "[agent audio 0.3 s]"),
    ]
    (latency,) = report.latencies
    assert latency.answer_at == pytest.approx(2.3 + 1 / RATE)  # a sine starts at 0
    assert report.mean_latency == pytest.approx(0.5 + 1 / RATE)
    assert format_report(report).splitlines() == [
        "transcript (seconds into the call):",
        "     0.20 -    0.70  agent   [agent audio 0.5 s]",
        "     1.40 -    1.80  caller  Hello there",
        "     2.30 -    2.60  agent   [agent audio 0.3 s]",
        "latency, end of each caller line to the agent's next audio:",
        "  line 1        0.50 s  Hello there",
        "  mean          0.50 s  (over 1 of 1 lines)",
    ]


def test_an_empty_call_reports_nothing_said() -> None:
    record = CallRecord("CA1", "AC1", "MZ1", StreamTwiml("wss://h/twilio/media", {}))
    record.notes = [(10.0, "no greeting within 10 s; going on")]
    text = format_report(build_report(record))
    assert "(nothing was said)" in text
    assert "note: 10.00 s: no greeting within 10 s; going on" in text
