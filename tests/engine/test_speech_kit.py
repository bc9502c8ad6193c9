"""What the engine's voice says first: a long first sentence is cut at its first clause."""

from __future__ import annotations

import pytest

from hotelvoice.engine.speech import first_clause


@pytest.mark.parametrize(
    ("text", "head"),
    [
        (
            "Good news: the King Room is free from Friday, December 11th. Shall I reserve it?",
            "Good news:",
        ),
        ("Certainly. Which dates would you like?", "Certainly. Which dates would you like?"),
        ("Of course, I'm sorry about that.", "Of course, I'm sorry about that."),
        (
            "So that's the King Room from Friday, December 11th to Sunday, December 13th, "
            "2 nights, for 2 adults, under the name Mary Jones.",
            "So that's the King Room from Friday, December 11th to Sunday, December 13th, "
            "2 nights,",
        ),
    ],
)
def test_the_first_piece_said(text: str, head: str) -> None:
    said, rest = first_clause(text)
    assert said == head
    assert f"{said} {rest}".strip() == text
