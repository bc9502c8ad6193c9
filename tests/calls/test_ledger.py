"""The playback ledger, sans-IO: marks in, heard milliseconds and truncation points out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotelvoice.calls.ledger import MAX_FLUSHED_MARKS, EchoOutcome, PlaybackLedger, Truncation


def sent(ledger: PlaybackLedger, item_id: str, nbytes: int) -> str:
    """Send one chunk and its mark, as the session does when a chunk reaches a mark interval."""
    ledger.record_audio(item_id, nbytes)
    name = ledger.mark()
    assert name is not None
    return name


def test_mark_names_are_unique_and_echoes_add_heard_bytes() -> None:
    ledger = PlaybackLedger()
    names = [sent(ledger, "item_a", 160) for _ in range(3)]
    assert len(set(names)) == 3
    assert ledger.outstanding and ledger.outstanding_marks == 3
    assert ledger.on_echo(names[0]) is EchoOutcome.HEARD
    assert ledger.on_echo(names[1]) is EchoOutcome.HEARD
    assert ledger.heard_ms("item_a") == 40  # 320 bytes at 8 bytes per ms
    assert ledger.sent_ms("item_a") == 60
    assert ledger.outstanding_marks == 1


def test_barge_in_truncates_the_playing_item_at_heard_ms_and_flushes_the_rest() -> None:
    ledger = PlaybackLedger()
    first = sent(ledger, "item_a", 800)
    pending = [sent(ledger, "item_a", 800) for _ in range(2)]
    assert ledger.on_echo(first) is EchoOutcome.HEARD
    cut, truncation = ledger.interrupt()
    assert cut == ["item_a"]
    assert truncation == Truncation("item_a", audio_end_ms=100, sent_ms=300)
    assert not ledger.outstanding
    # Twilio echoes every pending mark after a clear: flushed, not heard.
    assert [ledger.on_echo(name) for name in pending] == [EchoOutcome.FLUSHED] * 2
    assert ledger.heard_ms("item_a") == 100
    # A repeated echo of a flushed mark is unknown, not flushed twice.
    assert ledger.on_echo(pending[0]) is EchoOutcome.UNKNOWN


def test_no_truncation_when_nothing_was_heard_or_nothing_is_outstanding() -> None:
    ledger = PlaybackLedger()
    assert ledger.interrupt() == ([], None)
    sent(ledger, "item_a", 160)
    cut, truncation = ledger.interrupt()
    assert cut == ["item_a"] and truncation is None  # 0 ms heard: the API would refuse it


def test_items_cut_in_playback_order_and_later_items_never_heard() -> None:
    ledger = PlaybackLedger()
    a = sent(ledger, "item_a", 160)
    sent(ledger, "item_a", 160)
    sent(ledger, "item_b", 160)
    ledger.on_echo(a)
    cut, truncation = ledger.interrupt()
    assert cut == ["item_a", "item_b"]
    assert truncation == Truncation("item_a", 20, 40)


def test_pcm16_bytes_per_ms() -> None:
    ledger = PlaybackLedger(bytes_per_ms=48)
    mark = sent(ledger, "item", 4800)
    ledger.on_echo(mark)
    assert ledger.heard_ms("item") == 100
    with pytest.raises(ValueError, match="positive"):
        PlaybackLedger(bytes_per_ms=0)


def test_unknown_mark() -> None:
    assert PlaybackLedger().on_echo("never-sent") is EchoOutcome.UNKNOWN


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=4000), min_size=1, max_size=30),
    heard=st.integers(min_value=0, max_value=30),
)
def test_truncation_never_exceeds_what_was_sent(sizes: list[int], heard: int) -> None:
    ledger = PlaybackLedger()
    names = [sent(ledger, "item", size) for size in sizes]
    for name in names[:heard]:
        ledger.on_echo(name)
    _, truncation = ledger.interrupt()
    heard_bytes = sum(sizes[:heard])
    if heard >= len(sizes):
        assert truncation is None  # everything played: nothing outstanding to interrupt
    elif heard_bytes // 8 == 0:
        assert truncation is None
    else:
        assert truncation is not None
        assert truncation.audio_end_ms == heard_bytes // 8
        assert truncation.audio_end_ms <= truncation.sent_ms == sum(sizes) // 8


def test_cleared_marks_twilio_never_echoes_are_forgotten_beyond_a_bound() -> None:
    ledger = PlaybackLedger()
    names = []
    for n in range(3 * MAX_FLUSHED_MARKS):
        names.append(sent(ledger, f"item_{n}", 160))
        ledger.interrupt()  # cleared; Twilio's echo of the mark never comes
    assert len(ledger._flushed) == MAX_FLUSHED_MARKS
    assert ledger.on_echo(names[-1]) is EchoOutcome.FLUSHED  # the recent ones still count
    assert ledger.on_echo(names[0]) is EchoOutcome.UNKNOWN
