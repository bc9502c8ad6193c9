"""The caller's lines (script files, WAVs) and the turn-taking, driven by plain numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.codec.levels import rms_dbfs
from hotelvoice.codec.wav import write_wav
from hotelvoice.softphone.errors import SoftphoneError
from hotelvoice.softphone.playout import Playout
from hotelvoice.softphone.script import (
    CallerLine,
    LineTiming,
    ScriptEntry,
    TurnTaking,
    load_lines,
    parse_entry,
    parse_script,
    read_script,
    wav_to_mulaw,
)
from tests.approx import approx_float

FRAME_S = 0.02
SILENCE_FRAME = b"\xff" * 160


def test_script_files_skip_comments_and_resolve_wavs_next_to_them(tmp_path: Path) -> None:
    script = tmp_path / "calls" / "booking.txt"
    script.parent.mkdir()
    script.write_text(
        "# a booking\n\n  Hello, I'd like a room.  \nwav:clips/yes.wav\nWAV: /abs/no.wav\n"
        "dtmf: 1 2#\n# the end\n",
        encoding="utf-8",
    )
    assert read_script(script) == [
        ScriptEntry("say", "Hello, I'd like a room."),
        ScriptEntry("wav", str(script.parent / "clips" / "yes.wav")),
        ScriptEntry("wav", "/abs/no.wav"),
        ScriptEntry("dtmf", "12#"),
    ]
    assert parse_script("wav:a.wav") == [ScriptEntry("wav", "a.wav")]
    assert parse_entry("Note: a colon is fine") == ScriptEntry("say", "Note: a colon is fine")
    assert ScriptEntry("dtmf", "12").label == "dtmf:12"


def test_script_errors_are_one_line_softphone_errors(tmp_path: Path) -> None:
    with pytest.raises(SoftphoneError, match="cannot read the script"):
        read_script(tmp_path / "missing.txt")
    with pytest.raises(SoftphoneError, match="0-9"):
        parse_entry("dtmf:12x")
    with pytest.raises(SoftphoneError, match="cannot read"):
        load_lines([ScriptEntry("wav", str(tmp_path / "missing.wav"))])


def test_wav_lines_become_mulaw_8k(tmp_path: Path) -> None:
    t = np.arange(16000) / 16000
    tone16k = np.round(8000 * np.sin(2 * np.pi * 500 * t)).astype(np.int16)
    write_wav(tmp_path / "wide.wav", tone16k, 16000)
    narrow = wav_to_mulaw(tmp_path / "wide.wav")
    assert len(narrow) == 8000  # one second at 8 kHz
    level = rms_dbfs(ulaw_decode(narrow)[100:-100])
    assert level == pytest.approx(rms_dbfs(tone16k), abs=0.3)
    exact = tone16k[::2].copy()
    write_wav(tmp_path / "stereo.wav", np.stack([exact, exact], axis=1), 8000)
    assert wav_to_mulaw(tmp_path / "stereo.wav") == ulaw_encode(exact)  # no resampling at 8k
    (line,) = load_lines([parse_entry(f"wav:{tmp_path / 'stereo.wav'}")])
    assert line.audio == ulaw_encode(exact) and line.label.startswith("wav:")
    (keys,) = load_lines([parse_entry("dtmf:9")])
    assert keys == CallerLine("dtmf:9", digits="9")


# --------------------------------------------------------------------------------------------
# Turn-taking
# --------------------------------------------------------------------------------------------


def audio(ms: int) -> bytes:
    return b"\x10" * (ms * 8)


def run(
    turns: TurnTaking, playout: Playout, until: float, agent: dict[float, int | str]
) -> list[bytes]:
    """Tick every 20 ms up to ``until`` (or the end). ``agent`` maps times to what the server
    does then: send that many ms of audio, or "clear"."""
    frames = []
    for i in range(round(until / FRAME_S)):
        t = i * FRAME_S
        for at, what in agent.items():
            if abs(at - t) < 1e-9:
                if isinstance(what, str):
                    playout.clear(t)
                else:
                    playout.push_audio(audio(what), t)
        playout.advance(t)
        tick = turns.tick(t, playout)
        if tick.finished:
            break
        frames.append(tick.frame)
    return frames


def test_the_caller_waits_for_the_greeting_and_quiet_then_for_each_answer() -> None:
    lines = [CallerLine("one", audio=b"\x01" * 400), CallerLine("two", audio=b"\x02" * 160)]
    turns = TurnTaking(lines)
    playout = Playout()
    # Greeting 0.2-1.2 s; answer to line one 2.5-3.0 s; answer to line two 4.0-4.2 s.
    frames = run(turns, playout, 10.0, {0.2: 1000, 2.5: 500, 4.0: 200})
    assert turns.finished
    one, two = turns.timings
    assert one == LineTiming(0, "one", approx_float(1.9), approx_float(1.95))
    assert two == LineTiming(1, "two", approx_float(3.7), approx_float(3.72))
    # Silence frames between lines; each line's audio padded to whole frames.
    start = round(1.9 / FRAME_S)
    assert frames[:start] == [SILENCE_FRAME] * start
    assert frames[start : start + 3] == [b"\x01" * 160, b"\x01" * 160, b"\x01" * 80 + b"\xff" * 80]
    assert frames[start + 3] == SILENCE_FRAME
    assert frames[round(3.7 / FRAME_S)] == b"\x02" * 160
    # Finished 0.7 s after the last answer ended.
    assert len(frames) == round(4.9 / FRAME_S)
    assert turns.notes == []


def test_a_line_is_answered_only_by_audio_after_it() -> None:
    # The greeting is still playing, with no quiet yet, so the caller keeps waiting.
    turns = TurnTaking([CallerLine("x", audio=b"\x01" * 160)])
    playout = Playout()
    run(turns, playout, 1.5, {0.0: 1500})
    assert turns.timings == []
    frames = run(turns, playout, 3.0, {})
    assert turns.timings[0].start == pytest.approx(2.2)
    assert frames  # then it waits for the answer


def test_barge_in_starts_half_a_second_into_the_agents_audio() -> None:
    lines = [CallerLine("a", audio=b"\x01" * 800), CallerLine("b", audio=b"\x02" * 800)]
    turns = TurnTaking(lines, barge_in=True)
    playout = Playout()
    # The server clears the greeting at 0.8 s and answers at 1.4 s.
    run(turns, playout, 10.0, {0.1: 3000, 0.8: "clear", 1.4: 3000})
    first, second = turns.timings
    assert first.start == pytest.approx(0.6)  # 0.5 s into the greeting
    assert second.start == pytest.approx(1.9)  # 0.5 s into the answer after line a


def test_barge_in_waits_for_a_new_answer_not_the_audio_it_talked_over() -> None:
    turns = TurnTaking([CallerLine("a", audio=b"\x01" * 800)] * 2, barge_in=True)
    playout = Playout()
    # The server never stops the greeting: line b waits for quiet after it.
    run(turns, playout, 10.0, {0.1: 3000})
    assert [timing.start for timing in turns.timings] == pytest.approx([0.6, 3.8])


def test_timeouts_keep_the_script_going_and_say_so() -> None:
    turns = TurnTaking(
        [CallerLine("a", audio=b"\x01" * 160), CallerLine("keys", digits="12")],
        greeting_timeout_s=1.0,
        answer_timeout_s=0.5,
    )
    playout = Playout()
    frames = run(turns, playout, 10.0, {})
    a, keys = turns.timings
    assert a.start == pytest.approx(1.0)
    assert keys.start == pytest.approx(1.52)
    assert keys.end == pytest.approx(1.77)
    assert [text for _, text in turns.notes] == [
        "no greeting within 1 s; going on",
        "no answer to line 1 within 0.5 s; going on",
        "no answer to line 2 within 0.5 s; going on",
    ]
    assert turns.finished and len(frames) == round(2.28 / FRAME_S)


def test_dtmf_digits_go_one_per_interval_with_silence_frames() -> None:
    turns = TurnTaking([CallerLine("dtmf:123", digits="123")], greeting_timeout_s=0.0)
    playout = Playout()
    sent: list[tuple[float, str]] = []
    for i in range(40):
        tick = turns.tick(i * FRAME_S, playout)
        assert tick.frame == SILENCE_FRAME or tick.finished
        sent += [(i * FRAME_S, digit) for digit in tick.digits]
    assert sent == [(0.0, "1"), (pytest.approx(0.26), "2"), (pytest.approx(0.5), "3")]


def test_no_lines_means_listening_to_the_greeting_only() -> None:
    turns = TurnTaking([])
    frames = run(turns, Playout(), 10.0, {0.0: 500})
    assert turns.finished and len(frames) == round(1.2 / FRAME_S)
