"""What the offline concierge says: written replies as the words its voice is given."""

from __future__ import annotations

import pytest

from hotelvoice.engine.phrases import (
    number_words,
    ordinal_words,
    spoken_number,
    spoken_words,
    year_words,
)


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("$189.00 a night", "one hundred eighty nine dollars a night"),
        ("$1,250.50 in total", "one thousand two hundred fifty dollars and fifty cents in total"),
        ("$1.01", "one dollar and one cent"),
        ("Check-in is from 3 PM.", "Check in is from three p m."),
        ("until 11:05 AM", "until eleven oh five a m"),
        ("Friday, December 24th, 2027", "Friday, December twenty fourth, twenty twenty seven"),
        ("from the 1st to the 3rd, 2 nights", "from the first to the third, two nights"),
        ("12 Ocean Drive", "twelve Ocean Drive"),
        ("Bed & Breakfast", "Bed  and  Breakfast"),
    ],
)
def test_replies_are_given_to_the_voice_as_words(written: str, said: str) -> None:
    assert spoken_words(written) == said


def test_number_words() -> None:
    assert [number_words(n) for n in (0, 7, 40, 100, 219, 1000, 2305, 999_999)] == [
        "zero",
        "seven",
        "forty",
        "one hundred",
        "two hundred nineteen",
        "one thousand",
        "two thousand three hundred five",
        "nine hundred ninety nine thousand nine hundred ninety nine",
    ]
    assert [ordinal_words(n) for n in (1, 12, 20, 22, 30, 31)] == [
        "first",
        "twelfth",
        "twentieth",
        "twenty second",
        "thirtieth",
        "thirty first",
    ]
    assert [year_words(y) for y in (2000, 2005, 2026)] == [
        "two thousand",
        "twenty oh five",
        "twenty twenty six",
    ]
    with pytest.raises(ValueError, match="0–999,999"):
        number_words(1_000_000)


def test_numbers_under_a_hundred() -> None:
    assert [spoken_number(n) for n in (0, 7, 19, 20, 24, 99)] == [
        "zero", "seven", "nineteen", "twenty", "twenty four", "ninety nine",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="0–99"):
        spoken_number(100)
