"""The pieces the engine's voice says one after another."""

from __future__ import annotations

import pytest

from hotelvoice.engine.phrases import spoken_words
from hotelvoice.engine.speech import speech_pieces


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        (
            "Good news: the King Room is free from Friday, December 11th to Sunday, "
            "December 13th, 2 nights, $219 a night. Shall I reserve it?",
            [
                "Good news:",
                "the King Room is free from Friday, December eleventh to Sunday, December "
                "thirteenth,",
                "two nights,",
                "two hundred nineteen dollars a night.",
                "Shall I reserve it?",
            ],
        ),
        ("Certainly. Which dates would you like?", ["Certainly.", "Which dates would you like?"]),
        ("Of course, I'm sorry about that.", ["Of course, I'm sorry about that."]),
        ("It costs $189.00 a night.", ["It costs one hundred eighty nine dollars a night."]),
        ("Hello there", ["Hello there"]),
        ("", []),
    ],
)
def test_sentences_and_the_clauses_of_long_ones(text: str, pieces: list[str]) -> None:
    said = speech_pieces(spoken_words(text))
    assert said == pieces
    assert " ".join(said) == " ".join(spoken_words(text).split())
