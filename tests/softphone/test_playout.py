"""Twilio's outbound playout queue, driven by plain numbers (seconds of call time)."""

from __future__ import annotations

import pytest

from hotelvoice.softphone.playout import Echo, PlayedAudio, Playout
from tests.approx import approx_float


def audio(ms: int, tag: int = 1) -> bytes:
    """``ms`` milliseconds of μ-law (8 bytes per ms) whose bytes say where they came from."""
    return bytes((tag * 31 + i) % 256 for i in range(ms * 8))


def test_audio_on_an_idle_queue_plays_at_once_and_queued_audio_follows_without_a_gap() -> None:
    playout = Playout()
    playout.push_audio(audio(100, 1), 1.0)
    playout.push_audio(audio(50, 2), 1.02)  # arrives while the first plays: queued behind it
    assert playout.playing_at(1.1) and playout.last_audio_end == pytest.approx(1.15)
    playout.advance(1.2)
    assert playout.played == [PlayedAudio(1.0, audio(100, 1)), PlayedAudio(1.1, audio(50, 2))]
    assert playout.quiet_for(1.2) == pytest.approx(0.05)
    playout.push_audio(audio(20, 3), 2.0)  # after a gap: a new stretch of playback
    assert playout.burst_start(2.01) == 2.0
    assert playout.first_audio_at == 1.0 and playout.received_bytes == 170 * 8


def test_a_mark_is_echoed_when_playback_reaches_it() -> None:
    playout = Playout()
    playout.push_audio(audio(100), 0.0)
    playout.push_mark("a", 0.0)
    playout.push_audio(audio(100), 0.01)
    playout.push_mark("b", 0.01)
    assert playout.pending_marks == ["a", "b"]
    assert playout.next_due() == pytest.approx(0.1)
    assert playout.take_echoes(0.099) == []
    assert playout.take_echoes(0.1) == [Echo("a", approx_float(0.1))]
    assert playout.next_due() == pytest.approx(0.2)
    assert playout.take_echoes(0.5) == [Echo("b", approx_float(0.2))]  # stamped when due
    assert playout.take_echoes(0.6) == []  # each echo only once
    assert [echo.name for echo in playout.echoes] == ["a", "b"]


def test_a_mark_on_an_empty_queue_is_echoed_at_once() -> None:
    playout = Playout()
    playout.push_mark("first", 0.5)
    playout.push_audio(audio(10), 0.6)
    playout.advance(0.7)
    playout.push_mark("after", 0.7)  # everything played by now
    assert playout.take_echoes(0.7) == [Echo("first", 0.5), Echo("after", 0.7)]


def test_clear_keeps_what_was_heard_drops_the_rest_and_flushes_pending_marks_at_once() -> None:
    playout = Playout()
    playout.push_audio(audio(100, 1), 0.0)
    playout.push_mark("m1", 0.0)
    playout.push_audio(audio(100, 2), 0.0)
    playout.push_mark("m2", 0.0)
    assert playout.take_echoes(0.1) == [Echo("m1", approx_float(0.1))]
    playout.clear(0.125)  # 25 ms into the second piece
    assert playout.clears == [0.125]
    assert playout.played == [PlayedAudio(0.0, audio(100, 1)), PlayedAudio(0.1, audio(25, 2))]
    assert playout.flushed_bytes == 75 * 8
    assert playout.take_echoes(0.125) == [Echo("m2", 0.125, flushed=True)]
    assert not playout.playing_at(0.125) and playout.queued_bytes == 0
    assert playout.quiet_for(0.2) == pytest.approx(0.075)
    # Audio after a clear starts a new stretch at once.
    playout.push_audio(audio(10, 3), 0.2)
    assert playout.burst_start(0.2) == 0.2
    playout.advance(1.0)
    assert playout.played[-1] == PlayedAudio(0.2, audio(10, 3))


def test_clear_with_nothing_queued_changes_nothing_but_the_count() -> None:
    playout = Playout()
    playout.push_audio(audio(10), 0.0)
    playout.clear(1.0)
    assert playout.played == [PlayedAudio(0.0, audio(10))] and playout.flushed_bytes == 0
    assert playout.quiet_for(1.5) == pytest.approx(1.49)


def test_finish_cuts_the_audio_playing_and_never_echoes_pending_marks() -> None:
    playout = Playout()
    playout.push_audio(audio(100), 0.0)
    playout.push_mark("end", 0.0)
    playout.finish(0.05)
    assert playout.played == [PlayedAudio(0.0, audio(50))]
    assert playout.take_echoes(1.0) == []
    assert playout.flushed_bytes == 50 * 8


def test_times_a_hair_early_count_as_the_time_already_reached() -> None:
    playout = Playout()
    playout.push_audio(audio(20), 0.0)
    playout.push_mark("m", 0.0)
    # A due time converted to another clock and back can come out a little early.
    assert playout.take_echoes(0.02 - 1e-9) == [Echo("m", approx_float(0.02))]
    playout.advance(0.5)
    playout.advance(0.4)  # earlier than already reached: no error, no change
    assert playout.played == [PlayedAudio(0.0, audio(20))]


def test_audio_queued_beyond_the_cap_is_refused_and_counted() -> None:
    playout = Playout(max_queued_s=1.0)
    assert playout.push_audio(b"\xff" * 6000, 0.0)  # 0.75 s ahead
    assert not playout.push_audio(b"\xff" * 4000, 0.0)  # would be 1.25 s ahead
    assert playout.refused_bytes == 4000
    assert playout.queued_bytes == 6000
    assert playout.push_audio(b"\xff" * 4000, 0.5)  # half of it has played: 0.75 s ahead
    assert playout.last_audio_end == 1.25
